//! `shifter history`: flags checked before any AWS call (errors name the flag), and the two
//! views rendered from records the fake store folded from real moments.

use chrono::{DateTime, Utc};
use serde_json::json;
use shifter::domain::lifecycle::{Cause, Status, started};
use shifter::domain::record::{Ending, Mark, Source, started_by, update_of};
use shifter::fakes::FakeRecords;

use super::*;

const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:shifter:d1";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
}

fn args(target: Option<&str>, since: Option<&str>, execution: Option<&str>) -> Args {
    Args {
        target: target.map(str::to_owned),
        since: since.map(str::to_owned),
        execution: execution.map(str::to_owned),
        json: false,
        table: Some("records".into()),
        stack: None,
        endpoint: None,
    }
}

#[test]
fn flags_are_checked_before_aws_and_errors_name_the_flag() {
    let now = at(7 * 86_400);
    let q = args(Some("orders:live"), Some("7d"), None)
        .query(now)
        .unwrap();
    assert_eq!(
        q,
        Query::Alias {
            function: "orders".into(),
            alias: "live".into(),
            since: Some(at(0)),
        }
    );
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live";
    assert_eq!(
        args(Some(arn), None, None).query(now).unwrap(),
        Query::Alias {
            function: "orders".into(),
            alias: "live".into(),
            since: None,
        }
    );
    assert_eq!(
        args(Some("orders"), None, None).query(now).unwrap(),
        Query::All {
            function: Some("orders".into()),
            since: None,
        }
    );
    assert_eq!(
        args(None, None, Some(ARN)).query(now).unwrap(),
        Query::Execution("d1".into())
    );
    let refused = |a: Args, flag: &str| {
        let error = a.query(now).unwrap_err().to_string();
        assert!(error.starts_with(flag), "{error}");
    };
    refused(args(None, Some("7x"), None), "--since 7x:");
    refused(args(None, None, Some("d1")), "--execution d1:");
    refused(
        args(Some("orders:"), None, None),
        "FUNCTION[:ALIAS] orders::",
    );
    refused(
        args(Some("arn:aws:lambda:x"), None, None),
        "FUNCTION[:ALIAS] arn:",
    );
}

/// A rolled-back deployment and a running one, as the watch function would have left them.
async fn two_records() -> FakeRecords {
    let store = FakeRecords::new(30);
    let input = json!({"functionName": "orders", "alias": "live", "targetVersion": "2",
        "strategy": "Canary10Percent5Minutes"});
    let start = started("codepipeline-4f0c", ARN, &input);
    let who = started_by("codepipeline-4f0c", &input);
    let mut updates =
        vec![update_of(&start, Source::Input, at(0), (Some(at(0)), Some(who))).unwrap()];
    let mut shifted = updates[0].clone();
    shifted.mark = Mark {
        key: "codepipeline-4f0c:STEP_SHIFTED:0".into(),
        status: Status::StepShifted,
        at: at(5),
        weight: Some(10.0),
        step: Some(0),
    };
    shifted.firm.from_version = Some("1".into());
    updates.push(shifted);
    let mut ended = updates[0].clone();
    ended.mark = Mark {
        key: "codepipeline-4f0c:ROLLED_BACK".into(),
        status: Status::RolledBack,
        at: at(95),
        weight: None,
        step: None,
    };
    ended.ending = Some(Ending {
        outcome: Status::RolledBack,
        ended_at: at(95),
        cause: Some(Cause {
            kind: "alarm".into(),
            error: "AlarmTriggered".into(),
            message: "alarm orders-errors went into ALARM".into(),
        }),
        restore_command: None,
    });
    updates.push(ended);
    let mut running = update_of(
        &started("d2", ARN, &input),
        Source::Input,
        at(600),
        (Some(at(600)), None),
    )
    .unwrap();
    running.alias = "beta".into();
    updates.push(running);
    for u in &updates {
        store.apply_record(u).await.unwrap();
    }
    store
}

#[tokio::test]
async fn the_listing_is_newest_first_with_from_to_outcome_duration_and_cause() {
    let store = two_records().await;
    let all = store.all_records(None).await.unwrap();
    let lines = listing(&all);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].starts_with("STARTED (UTC)"), "{}", lines[0]);
    assert!(
        lines[1].contains("orders:beta") && lines[1].contains("RUNNING"),
        "{}",
        lines[1]
    );
    let done = &lines[2];
    for part in [
        "2026-01-01 00:00:00",
        "orders:live",
        "1 → 2",
        "Canary10Percent5Minutes",
        "ROLLED_BACK",
        "1m 35s",
        "CodePipeline job 4f0c",
        "alarm: alarm orders-errors went into ALARM",
    ] {
        assert!(done.contains(part), "{part:?} in {done}");
    }
    assert_eq!(listing(&[]), ["No deployments recorded."]);
}

#[tokio::test]
async fn one_record_shows_its_timeline_of_weights() {
    let store = two_records().await;
    let record = store
        .find_record("codepipeline-4f0c")
        .await
        .unwrap()
        .unwrap();
    let lines = detail(&record);
    let text = lines.join("\n");
    assert!(text.contains("started by  CodePipeline job 4f0c"), "{text}");
    assert!(
        text.contains("cause       alarm (AlarmTriggered)"),
        "{text}"
    );
    let timeline: Vec<&str> = lines
        .iter()
        .skip_while(|l| *l != "Timeline:")
        .skip(1)
        .map(String::as_str)
        .collect();
    assert_eq!(timeline.len(), 3, "{timeline:#?}");
    assert!(timeline[0].contains("+0s") && timeline[0].contains("STARTED"));
    assert!(timeline[1].contains("+5s") && timeline[1].contains("step 0  10% on the target"));
    assert!(timeline[2].contains("+95s") && timeline[2].contains("ROLLED_BACK"));
}
