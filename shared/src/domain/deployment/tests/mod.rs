//! The document's rules, table by table.

use serde_json::{Value, json};

use super::*;
use crate::domain::alarm::AlarmReport;
use crate::domain::alias::{AdditionalVersion, AliasRoute};
use crate::domain::failure::ErrorKind;
use crate::domain::{HookOutcome, OperatorAnswer};

#[test]
fn every_decision_is_listed_once_with_its_wire_name() {
    let names: std::collections::BTreeSet<&str> =
        Decision::ALL.iter().map(|d| d.wire_name()).collect();
    assert_eq!(names.len(), Decision::ALL.len());
    for d in Decision::ALL {
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::json!(d.wire_name())
        );
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
}

fn deployment(strategy: &str, extra: Value) -> Deployment {
    let mut input = json!({"functionName":"orders","alias":"live","targetVersion":"2","strategy":strategy,
        "alarms":["errors"],"checkIntervalSeconds":60});
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let request = DeploymentRequest::from_json(&input).unwrap();
    let alias = AliasState {
        route: AliasRoute::single("1"),
        revision_id: "r1".into(),
    };
    Deployment::start("exec".into(), &request, &alias, "2".into(), at(0))
}

fn written(route: AliasRoute, rev: &str) -> AliasState {
    AliasState {
        route,
        revision_id: rev.into(),
    }
}

/// Every Deployment document in the recorded histories reads and writes back unchanged: the
/// typed fields (error names included) keep the JSON the state machine and fixtures hold.
#[test]
fn recorded_documents_round_trip_unchanged() {
    let mut seen = 0;
    for history in [
        include_str!("../../../../../events/execution-history-aborted.json"),
        include_str!("../../../../../events/execution-history-succeeded.json"),
    ] {
        let history: Value = serde_json::from_str(history).unwrap();
        let texts = history["events"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e.as_object().unwrap().values())
            .flat_map(|details| ["input", "output"].map(|k| details.get(k)))
            .filter_map(|text| text.and_then(Value::as_str));
        for text in texts {
            let document: Value = serde_json::from_str(text).unwrap_or_default();
            if document.get("deploymentId").is_none() {
                continue;
            }
            let typed: Deployment = serde_json::from_value(document.clone()).unwrap();
            assert_eq!(serde_json::to_value(&typed).unwrap(), document);
            seen += 1;
        }
    }
    assert!(seen > 40, "{seen}");
}

#[test]
fn start_decides_the_first_move() {
    assert_eq!(
        deployment("Canary10Percent5Minutes", json!({})).decision,
        Decision::Shift
    );
    assert_eq!(
        deployment("AllAtOnce", json!({})).decision,
        Decision::Promote
    );
    let d = deployment("AllAtOnce", json!({"hooks":{"preTraffic":"pre"}}));
    assert_eq!(d.decision, Decision::PreTrafficHook);
    assert!(d.restore_command().contains("--function-version 1"));
}

#[test]
fn a_canary_bakes_one_interval_at_a_time_then_promotes() {
    let d = deployment("Canary10Percent5Minutes", json!({}));
    let route = d.next_route().unwrap();
    assert_eq!(
        route,
        AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap())
    );
    let d = d.shifted(&written(route, "r2"), at(0)).unwrap();
    assert_eq!(
        (d.decision, d.progress.wait_seconds, d.progress.traffic.bp()),
        (Decision::Bake, 60, 1000)
    );
    let quiet = AlarmReport::default();
    let d = d.checked(at(60), Some(&quiet)).unwrap();
    assert_eq!((d.decision, d.progress.wait_seconds), (Decision::Bake, 60));
    let d = d.checked(at(290), Some(&quiet)).unwrap();
    assert_eq!(
        (d.decision, d.progress.wait_seconds),
        (Decision::Bake, 10),
        "the last wait is cut to the bake's end"
    );
    let d = d.checked(at(300), Some(&quiet)).unwrap();
    assert_eq!((d.decision, d.progress.step_index), (Decision::Promote, 1));
    assert_eq!(d.progress.alarm_checks, 3);
    let d = d
        .shifted(&written(AliasRoute::single("2"), "r3"), at(300))
        .unwrap();
    assert_eq!(d.decision, Decision::Succeed);
    assert!(d.progress.traffic.is_full());
}

#[test]
fn alarms_and_missing_alarms_roll_back() {
    let d = deployment("Canary10Percent5Minutes", json!({}));
    let d = d
        .clone()
        .shifted(&written(d.next_route().unwrap(), "r2"), at(0))
        .unwrap();
    let firing = AlarmReport {
        in_alarm: vec!["errors".into()],
        missing: vec![],
    };
    let r = d.clone().checked(at(60), Some(&firing)).unwrap();
    assert_eq!(r.decision, Decision::Rollback);
    assert_eq!(
        r.ending.failure.as_ref().unwrap().error,
        ErrorKind::AlarmTriggered
    );
    assert!(
        r.ending
            .failure
            .unwrap()
            .cause
            .contains("errors in ALARM at 10% on version 2")
    );
    let gone = AlarmReport {
        in_alarm: vec![],
        missing: vec!["errors".into()],
    };
    assert_eq!(
        d.checked(at(60), Some(&gone))
            .unwrap()
            .ending
            .failure
            .unwrap()
            .error,
        ErrorKind::NotFound
    );
}

#[test]
fn hooks_pass_only_on_succeeded() {
    let d = deployment(
        "Canary10Percent5Minutes",
        json!({"hooks":{"preTraffic":"pre"}}),
    );
    for (payload, passes) in [
        (json!({"status":"Succeeded"}), true),
        (json!({"status":"Failed"}), false),
        (json!("Succeeded"), false),
        (Value::Null, false),
    ] {
        let mut d = d.clone();
        d.hook_result = Some(HookOutcome::read(Some(&json!({ "payload": payload }))));
        let next = d.checked(at(5), None).unwrap();
        assert_eq!(next.decision == Decision::Shift, passes, "{payload}");
        assert!(next.hook_result.is_none());
    }
}

/// What enters the cause from a hook is bounded and cut on character boundaries (multibyte
/// text at the cut used to panic), and a failed hook's stack trace never enters it.
#[test]
fn hook_answers_enter_the_cause_bounded_and_without_traces() {
    let d = deployment("AllAtOnce", json!({"hooks":{"preTraffic":"pre"}}));
    let crash = json!({"errorType":"RuntimeError","errorMessage":"é".repeat(5000),
        "stackTrace":["  at handler (/var/task/index.js:3:9)"],"trace":["frame 1"]});
    let results = [
        json!({"payload": {"status": "Failed", "detail": "x".repeat(1_000_000)}}),
        json!({"payload": {"status": "é".repeat(300)}}),
        json!({"payload": {"message": "€".repeat(300)}}),
        json!({"payload": "a".repeat(199) + "é"}),
        json!({"Error": "RuntimeError", "Cause": crash.to_string()}),
        json!({"Error": "States.Timeout", "Cause": ""}),
        json!({"Error": "Lambda.Unknown", "Cause": "ü".repeat(10_000)}),
    ];
    for result in results {
        let mut d = d.clone();
        d.hook_result = Some(HookOutcome::read(Some(&result.clone())));
        let next = d.checked(at(5), None).unwrap();
        assert_eq!(next.decision, Decision::Rollback);
        assert!(next.hook_result.is_none());
        let failure = next.ending.failure.clone().unwrap();
        assert_eq!(failure.error, ErrorKind::HookFailed);
        assert!(
            failure.cause.starts_with("pre-traffic hook pre "),
            "{}",
            failure.cause
        );
        assert!(failure.cause.chars().count() < 300, "{}", failure.cause);
        assert!(!failure.cause.contains("index.js") && !failure.cause.contains("frame"));
        let size = serde_json::to_vec(&next).unwrap().len();
        assert!(size < 8 * 1024, "document of {size} bytes");
    }
    let mut crashed = d.clone();
    crashed.hook_result = Some(HookOutcome::read(Some(
        &json!({"Error": "RuntimeError", "Cause": crash.to_string()}),
    )));
    let cause = crashed
        .checked(at(5), None)
        .unwrap()
        .ending
        .failure
        .unwrap()
        .cause;
    assert!(
        cause.starts_with("pre-traffic hook pre failed: RuntimeError: éé"),
        "{cause}"
    );
    let mut timed_out = d;
    timed_out.hook_result = Some(HookOutcome::read(Some(&json!({"Error": "States.Timeout"}))));
    let cause = timed_out
        .checked(at(5), None)
        .unwrap()
        .ending
        .failure
        .unwrap()
        .cause;
    assert_eq!(cause, "pre-traffic hook pre failed: States.Timeout");
}

#[test]
fn weights_never_go_down() {
    let mut d = deployment("Linear10PercentEvery1Minute", json!({}));
    d.progress.traffic = Weight::from_bp(2000).unwrap();
    d.progress.step_index = 0;
    assert!(matches!(
        d.next_route(),
        Err(DocumentError::WeightWouldNotIncrease { .. })
    ));
    d.progress.step_index = 99;
    assert!(d.next_route().is_err());
}

#[test]
fn restore_decides_from_the_alias_as_it_is() {
    let mut d = deployment("Linear10PercentEvery1Minute", json!({}));
    d.progress.step_index = 1;
    d.progress.traffic = Weight::from_bp(1000).unwrap();
    d.members[0].revision_id = "r2".into();
    d.decision = Decision::Bake;
    let ours = AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap());
    let next = AliasRoute::split("1", "2", Weight::from_bp(2000).unwrap());
    assert_eq!(
        d.restore_action(&written(AliasRoute::single("1"), "r9")),
        RestoreAction::AlreadyRestored
    );
    assert_eq!(
        d.restore_action(&written(ours.clone(), "r2")),
        RestoreAction::Restore {
            expected_revision: "r2".into()
        }
    );
    // The same route under another RevisionId, with no write of ours in flight: someone else's.
    assert!(matches!(
        d.restore_action(&written(next.clone(), "r3")),
        RestoreAction::Drifted(_)
    ));
    // Shift Traffic failed while writing 20%: that write may have landed, its answer lost.
    d.decision = Decision::Shift;
    d.ending.caught = Some(Caught {
        error: "Transient".into(),
        cause: "{}".into(),
    });
    assert_eq!(
        d.restore_action(&written(next, "r3")),
        RestoreAction::Restore {
            expected_revision: "r3".into()
        }
    );
    // Anything else is someone else's.
    let theirs = [
        AliasRoute::single("3"),
        AliasRoute::single("2"),
        AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap()),
        AliasRoute::split("1", "2", Weight::from_bp(5000).unwrap()),
        AliasRoute {
            version: "1".into(),
            additional: Some(AdditionalVersion {
                version: "3".into(),
                weight: Weight::from_bp(1000).unwrap(),
            }),
        },
    ];
    for route in theirs {
        assert!(
            matches!(
                d.restore_action(&written(route.clone(), "r7")),
                RestoreAction::Drifted(_)
            ),
            "{route}"
        );
    }
}

#[test]
fn rolled_back_cause_says_where_the_alias_is() {
    let mut d = deployment("Canary10Percent5Minutes", json!({}));
    d.ending.failure = Some(Failure {
        error: "AlarmTriggered".into(),
        cause: "alarm errors in ALARM.".into(),
    });
    d.members[0].alias_last_seen = "version 1 with 10% on version 2".into();
    let r = d.rolled_back(&[written(AliasRoute::single("1"), "r5")], true);
    let f = r.ending.failure.unwrap();
    assert_eq!(
        f.cause,
        "alarm errors in ALARM. Alias live restored to version 1 (it was on version 1 with 10% on version 2)."
    );
    assert_eq!(r.ending.rolled_back_to.as_deref(), Some("1"));
}

#[test]
fn failure_reason_reads_lambda_error_causes() {
    let mut d = deployment("Canary10Percent5Minutes", json!({}));
    d.ending.caught = Some(Caught {
        error: "Transient".into(),
        cause: json!({"errorType":"Transient","errorMessage":"UpdateAlias: throttled"}).to_string(),
    });
    assert_eq!(
        d.failure_reason(),
        Failure {
            error: "Transient".into(),
            cause: "UpdateAlias: throttled".into()
        }
    );
}

#[test]
fn promote_during_a_bake_skips_to_the_promotion_unless_an_alarm_fires() {
    let d = deployment("Linear10PercentEvery1Minute", json!({}));
    let d = d
        .clone()
        .shifted(&written(d.next_route().unwrap(), "r2"), at(0))
        .unwrap();
    let mut asked = d.clone();
    asked.control = Some(OperatorAnswer::read(&json!({"action": "promote"})));
    let quiet = AlarmReport::default();
    let next = asked.clone().checked(at(20), Some(&quiet)).unwrap();
    assert_eq!(next.decision, Decision::Promote);
    assert_eq!(next.progress.step_index, next.progress.plan.len() - 1);
    assert!(next.control.is_none(), "the answer is consumed");
    let firing = AlarmReport {
        in_alarm: vec!["errors".into()],
        missing: vec![],
    };
    assert_eq!(
        asked.checked(at(20), Some(&firing)).unwrap().decision,
        Decision::Rollback
    );
    // Anything else wakes the bake early and it carries on.
    let mut other = d;
    other.control = Some(OperatorAnswer::read(&json!({"action": "approve"})));
    let next = other.checked(at(20), Some(&quiet)).unwrap();
    assert_eq!(
        (next.decision, next.progress.wait_seconds),
        (Decision::Bake, 40)
    );
}

#[test]
fn gates_wait_then_follow_the_answer_or_the_default() {
    let gated = json!({"approvalBeforePromote": true, "approvalTimeoutSeconds": 600});
    let d = deployment("Canary10Percent5Minutes", gated.clone());
    let d = d
        .clone()
        .shifted(&written(d.next_route().unwrap(), "r2"), at(0))
        .unwrap();
    let quiet = AlarmReport::default();
    let waiting = d.checked(at(300), Some(&quiet)).unwrap();
    assert_eq!(waiting.decision, Decision::AwaitApproval);
    assert_eq!(waiting.gate.timeout_seconds, 600);

    let mut approved = waiting.clone();
    approved.control = Some(OperatorAnswer::read(&json!({"action": "approve"})));
    let next = approved.checked(at(310), Some(&quiet)).unwrap();
    assert_eq!(
        (next.decision, next.gate.approved_step),
        (Decision::Promote, Some(1))
    );

    let timed_out = waiting.clone().checked(at(900), Some(&quiet)).unwrap();
    assert_eq!(timed_out.decision, Decision::Rollback);
    assert_eq!(
        timed_out.ending.failure.unwrap().error,
        ErrorKind::ApprovalTimedOut
    );

    let mut lenient = waiting;
    lenient.gate.default = ApprovalDefault::Approve;
    assert_eq!(
        lenient.checked(at(900), Some(&quiet)).unwrap().decision,
        Decision::Promote
    );
}

mod provisioned;
mod trains;
