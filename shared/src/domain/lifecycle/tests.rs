//! Which events each moment makes, named one table row at a time.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::domain::alias::{AliasRoute, AliasState};
use crate::domain::request::DeploymentRequest;
use crate::domain::weight::Weight;

const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:shifter:d1";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
}

fn input() -> Value {
    json!({"functionName":"orders","alias":"live","targetVersion":"2",
        "strategy":"Canary10Percent5Minutes"})
}

fn deployment(traffic: u16, step: usize) -> Deployment {
    let request = DeploymentRequest::from_json(&input()).unwrap();
    let alias = AliasState {
        route: AliasRoute::single("1"),
        revision_id: "r1".into(),
    };
    let mut d = Deployment::start("d1".into(), &request, &alias, "2".into(), at(0));
    d.progress.traffic = Weight::from_bp(u32::from(traffic)).unwrap();
    d.progress.step_index = step;
    d
}

/// (name, wait, previous park, document, statuses put).
type ParkRow<'a> = (
    &'a str,
    Wait,
    Option<Previous>,
    &'a Deployment,
    Vec<&'a str>,
);
/// (name, status, error, cause, lock held, status/cause kind put).
type EndRow<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    bool,
    Option<&'a str>,
);

fn statuses(events: &[LifecycleEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.status.name()).collect()
}

#[test]
fn a_park_tells_only_what_is_new() {
    let shifted = deployment(1000, 0);
    let full = deployment(10_000, 1);
    let rows: [ParkRow; 8] = [
        (
            "first bake after a shift",
            Wait::Bake,
            None,
            &shifted,
            vec!["STEP_SHIFTED"],
        ),
        (
            "bake at a new weight",
            Wait::Bake,
            Some((Wait::Bake, 0.0)),
            &shifted,
            vec!["STEP_SHIFTED"],
        ),
        (
            "a later piece of the bake",
            Wait::Bake,
            Some((Wait::Bake, 10.0)),
            &shifted,
            vec![],
        ),
        (
            "bake after provisioned concurrency",
            Wait::Bake,
            Some((Wait::ProvisionedConcurrency, 10.0)),
            &shifted,
            vec![],
        ),
        (
            "gate opens",
            Wait::Approval,
            Some((Wait::Bake, 10.0)),
            &shifted,
            vec!["AWAITING_APPROVAL"],
        ),
        (
            "gate's next piece",
            Wait::Approval,
            Some((Wait::Approval, 10.0)),
            &shifted,
            vec![],
        ),
        (
            "post-promotion bake begins",
            Wait::PostPromotionBake,
            Some((Wait::Bake, 10.0)),
            &full,
            vec!["PROMOTED"],
        ),
        (
            "its next piece",
            Wait::PostPromotionBake,
            Some((Wait::PostPromotionBake, 100.0)),
            &full,
            vec![],
        ),
    ];
    for (name, wait, previous, d, want) in rows {
        assert_eq!(statuses(&at_park(wait, previous, d, ARN)), want, "{name}");
    }
    let event = &at_park(Wait::Bake, None, &shifted, ARN)[0];
    assert_eq!(event.event_id, "d1:STEP_SHIFTED:0");
    assert_eq!(event.weight, Some(10.0));
    assert_eq!((event.step, event.steps), (Some(0), Some(2)));
    assert_eq!(event.from_version.as_deref(), Some("1"));
    assert_eq!(event.to_version.as_deref(), Some("2"));
}

#[test]
fn the_event_json_is_schema_version_1_with_a_console_link() {
    let event = started("d1", ARN, &input());
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["version"], "1");
    assert_eq!(json["status"], "STARTED");
    assert_eq!(json["eventId"], "d1:STARTED");
    assert_eq!(json["deploymentId"], "d1");
    assert_eq!(json["function"], "orders");
    assert_eq!(json["toVersion"], "2");
    assert_eq!(json["strategy"], "Canary10Percent5Minutes");
    assert_eq!(
        json["consoleUrl"],
        format!(
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{ARN}"
        )
    );
    let back: LifecycleEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, event);
}

fn held() -> Option<Held> {
    Some(Held {
        target_version: "2".into(),
        start_version: Some("1".into()),
    })
}

#[test]
fn each_ending_is_one_terminal_status_and_a_repeat_is_none() {
    let input = input();
    let rolled =
        "alarm errors went into ALARM. Alias live restored to version 1 (it was on 1@90%+2@10%).";
    let failed = "Could not restore alias live of orders to version 1 (denied). Restore it by hand: \
        aws lambda update-alias --function-name orders --name live --function-version 1 \
        --routing-config '{\"AdditionalVersionWeights\":{}}'";
    let caught = "Lambda.Unknown. Alias live restored to version 1 (it was on 1@90%+2@10%).";
    let rows: [EndRow; 12] = [
        (
            "rolled back for an alarm",
            "FAILED",
            Some("AlarmTriggered"),
            rolled,
            true,
            Some("ROLLED_BACK/alarm"),
        ),
        (
            "rolled back for a caught error",
            "FAILED",
            Some("Lambda.Unknown"),
            caught,
            true,
            Some("ROLLED_BACK/error"),
        ),
        (
            "its repeat",
            "FAILED",
            Some("Lambda.Unknown"),
            caught,
            false,
            None,
        ),
        (
            "a hook's repeat",
            "FAILED",
            Some("HookFailed"),
            "hook said no",
            false,
            None,
        ),
        (
            "rollback failed",
            "FAILED",
            Some("RollbackFailed"),
            failed,
            true,
            Some("ROLLBACK_FAILED/rollbackFailed"),
        ),
        (
            "drift",
            "FAILED",
            Some("AliasDrift"),
            "changed",
            true,
            Some("DRIFT/drift"),
        ),
        (
            "rejected",
            "FAILED",
            Some("InvalidInput"),
            "{\"errorMessage\":\"bad\"}",
            false,
            Some("REJECTED/rejected"),
        ),
        (
            "held but not rolled back",
            "FAILED",
            Some("States.DataLimitExceeded"),
            "too big",
            true,
            Some("STOPPED/failedOutsideCatch"),
        ),
        (
            "stopped by hand",
            "ABORTED",
            None,
            "",
            true,
            Some("STOPPED/stoppedByHand"),
        ),
        ("its repeat", "ABORTED", None, "", false, None),
        (
            "timed out",
            "TIMED_OUT",
            Some("States.Timeout"),
            "",
            true,
            Some("STOPPED/timedOut"),
        ),
        ("succeeded, repeat", "SUCCEEDED", None, "", false, None),
    ];
    for (name, status, error, cause, is_held, want) in rows {
        let ended = Ended {
            deployment_id: "d1",
            execution_arn: ARN,
            status,
            error,
            cause: Some(cause),
            input: Some(&input),
            held: if is_held { held() } else { None },
            ..Ended::default()
        };
        let got: Vec<String> = at_end(&ended)
            .iter()
            .map(|e| format!("{}/{}", e.status.name(), e.cause.as_ref().unwrap().kind))
            .collect();
        assert_eq!(
            got,
            want.into_iter().map(str::to_owned).collect::<Vec<_>>(),
            "{name}"
        );
    }
    let failed_end = Ended {
        deployment_id: "d1",
        execution_arn: ARN,
        status: "FAILED",
        error: Some("RollbackFailed"),
        cause: Some(failed),
        input: Some(&input),
        held: held(),
        ..Ended::default()
    };
    let event = &at_end(&failed_end)[0];
    assert_eq!(event.event_id, "d1:ROLLBACK_FAILED");
    assert_eq!(
        event.restore_command.as_deref(),
        Some(
            "aws lambda update-alias --function-name orders --name live --function-version 1 --routing-config '{\"AdditionalVersionWeights\":{}}'"
        )
    );
    assert_eq!(event.from_version.as_deref(), Some("1"));
}

#[test]
fn a_success_without_a_post_promotion_bake_tells_the_promotion_too() {
    let end = |post_bake: u32, decision: crate::domain::Decision, is_held: bool| {
        let mut d = deployment(10_000, 1);
        d.decision = decision;
        d.progress.post_promotion_bake_seconds = post_bake;
        let ended = Ended {
            deployment_id: "d1",
            execution_arn: ARN,
            status: "SUCCEEDED",
            output: Some(&d),
            held: if is_held { held() } else { None },
            ..Ended::default()
        };
        at_end(&ended)
    };
    use crate::domain::Decision::{AlreadyCurrent, Succeed};
    let events = end(0, Succeed, true);
    assert_eq!(statuses(&events), ["PROMOTED", "SUCCEEDED"]);
    assert_eq!(events[0].event_id, "d1:PROMOTED");
    assert_eq!(statuses(&end(60, Succeed, true)), ["SUCCEEDED"]);
    assert_eq!(
        statuses(&end(0, AlreadyCurrent, false)),
        ["ALREADY_CURRENT"]
    );
}

#[test]
fn every_status_has_its_wire_name() {
    for status in Status::ALL {
        assert_eq!(serde_json::to_value(status).unwrap(), json!(status.name()));
    }
    let terminal = Status::ALL.iter().filter(|s| s.is_terminal()).count();
    assert_eq!(terminal, 7);
}
