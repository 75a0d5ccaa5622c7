//! A deployment's event sequence folded into its record, one scenario at a time.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::domain::alias::{AliasRoute, AliasState};
use crate::domain::lifecycle::{Ended, Held, Wait, at_end, at_park, started};
use crate::domain::request::DeploymentRequest;
use crate::domain::weight::Weight;

const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:shifter:d1";
const DAY: i64 = 86_400;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
}

fn input() -> Value {
    json!({"functionName":"arn:aws:lambda:eu-west-1:123456789012:function:orders","alias":"live",
        "targetVersion":"2","strategy":"Canary10Percent5Minutes","startedBy":"shifter deploy by ana"})
}

/// The document at `traffic` basis points on step `step`, that step begun at `step_at`.
fn deployment(traffic: u16, step: usize, step_at: i64) -> Deployment {
    let request = DeploymentRequest::from_json(&input()).unwrap();
    let alias = AliasState {
        route: AliasRoute::single("1"),
        revision_id: "r1".into(),
    };
    let mut d = Deployment::start("d1".into(), &request, &alias, "2".into(), at(1));
    d.progress.traffic = Weight::from_bp(u32::from(traffic)).unwrap();
    d.progress.step_index = step;
    d.progress.step_started_at = at(step_at);
    d
}

fn start_update() -> RecordUpdate {
    let event = started("d1", ARN, &input());
    let who = started_by("d1", &input());
    update_of(&event, Source::Input, at(0), (Some(at(0)), Some(who))).unwrap()
}

fn park_update(wait: Wait, d: &Deployment) -> RecordUpdate {
    let event = at_park(wait, None, d, ARN).remove(0);
    let when = park_time(event.status, d);
    update_of(&event, Source::Document, when, (None, None)).unwrap()
}

fn fold(updates: &[RecordUpdate]) -> DeploymentRecord {
    let mut record = DeploymentRecord::new("orders", "live", "d1");
    for u in updates {
        record.apply(u, 30 * DAY);
    }
    record
}

#[test]
fn a_success_leaves_who_from_to_each_weight_and_the_outcome() {
    let mut done = deployment(10_000, 1, 310);
    done.progress.post_promotion_bake_seconds = 0;
    let input = input();
    let ending = at_end(&Ended {
        deployment_id: "d1",
        execution_arn: ARN,
        status: "SUCCEEDED",
        input: Some(&input),
        output: Some(&done),
        held: Some(Held {
            target_version: "2".into(),
            start_version: Some("1".into()),
        }),
        ..Ended::default()
    });
    let mut updates = vec![
        start_update(),
        park_update(Wait::Bake, &deployment(1000, 0, 5)),
    ];
    for event in &ending {
        updates.push(update_of(event, Source::Document, at(312), (Some(at(0)), None)).unwrap());
    }
    let record = fold(&updates);
    assert_eq!(
        (record.function.as_str(), record.alias.as_str()),
        ("orders", "live")
    );
    assert_eq!(record.started_by.as_ref().unwrap().kind, StarterKind::Cli);
    assert_eq!(
        record.started_by.as_ref().unwrap().detail,
        "shifter deploy by ana"
    );
    assert_eq!(
        (record.from_version.as_deref(), record.to_version.as_deref()),
        (Some("1"), Some("2"))
    );
    assert_eq!(record.strategy.as_deref(), Some("Canary10Percent5Minutes"));
    assert_eq!(record.outcome, Some(Status::Succeeded));
    assert_eq!(record.duration(), Some(chrono::Duration::seconds(312)));
    assert_eq!(record.weights(), vec![(at(5), 10.0), (at(312), 100.0)]);
    let statuses: Vec<_> = record.timeline.iter().map(|m| m.status.name()).collect();
    assert_eq!(
        statuses,
        ["STARTED", "STEP_SHIFTED", "PROMOTED", "SUCCEEDED"]
    );
    assert_eq!(record.expires_at, at(312).timestamp() + 30 * DAY);
    assert_eq!(record.execution_arn.as_deref(), Some(ARN));
}

#[test]
fn a_repeated_delivery_never_appends_a_weight_twice() {
    let shifted = park_update(Wait::Bake, &deployment(1000, 0, 5));
    let mut record = fold(&[start_update(), shifted.clone()]);
    let before = record.clone();
    assert!(!record.apply(&shifted, 30 * DAY));
    assert!(!record.apply(&start_update(), 30 * DAY));
    assert_eq!(record, before);
    // The next step is a new moment.
    assert!(record.apply(&park_update(Wait::Bake, &deployment(5000, 1, 65)), 30 * DAY));
    assert_eq!(record.weights(), vec![(at(5), 10.0), (at(65), 50.0)]);
}

#[test]
fn a_late_start_fills_gaps_and_never_overwrites_what_a_document_said() {
    let mut explicit = input();
    explicit.as_object_mut().unwrap().remove("strategy");
    explicit["steps"] = json!([{"weight": 10, "bakeSeconds": 60}]);
    let late_start = update_of(
        &started("d1", ARN, &explicit),
        Source::Input,
        at(0),
        (Some(at(0)), Some(started_by("d1", &explicit))),
    )
    .unwrap();
    let park = park_update(Wait::Bake, &deployment(1000, 0, 5));
    let record = fold(&[park, late_start]);
    // The park's document named the strategy; the input's "explicit steps" did not replace it.
    assert_eq!(record.strategy.as_deref(), Some("Canary10Percent5Minutes"));
    // The park only knew Start Deployment's clock (1 s late); the start's own date replaced it.
    assert_eq!(record.started_at, Some(at(0)));
    assert_eq!(record.started_by.unwrap().kind, StarterKind::Cli);
    let statuses: Vec<_> = record.timeline.iter().map(|m| m.status.name()).collect();
    assert_eq!(statuses, ["STARTED", "STEP_SHIFTED"], "kept in time order");
}

#[test]
fn a_rollback_records_its_cause_and_its_versions_from_the_lock() {
    let input = input();
    let cause =
        r#"{"errorMessage":"alarm orders-errors went into ALARM","errorType":"AlarmTriggered"}"#;
    let event = at_end(&Ended {
        deployment_id: "d1",
        execution_arn: ARN,
        status: "FAILED",
        error: Some("AlarmTriggered"),
        cause: Some(cause),
        input: Some(&input),
        held: Some(Held {
            target_version: "2".into(),
            start_version: Some("1".into()),
        }),
        ..Ended::default()
    })
    .remove(0);
    let end = update_of(
        &event,
        Source::InputAndLock,
        at(90),
        (Some(at(0)), Some(started_by("d1", &input))),
    )
    .unwrap();
    assert_eq!(end.firm.from_version.as_deref(), Some("1"));
    let record = fold(&[park_update(Wait::Bake, &deployment(1000, 0, 5)), end]);
    assert_eq!(record.outcome, Some(Status::RolledBack));
    let cause = record.cause.clone().unwrap();
    assert_eq!(
        (cause.kind.as_str(), cause.error.as_str()),
        ("alarm", "AlarmTriggered")
    );
    assert_eq!(record.ended_at, Some(at(90)));
    assert_eq!(record.weights(), vec![(at(5), 10.0)]);
}

#[test]
fn an_input_that_names_no_alias_makes_no_record() {
    let event = started("d1", ARN, &json!({"strategy": "AllAtOnce"}));
    assert_eq!(update_of(&event, Source::Input, at(0), (None, None)), None);
}

#[test]
fn who_started_it_comes_from_the_name_then_the_input_else_console_or_api() {
    let with = |by: &str| json!({"startedBy": by});
    let rows: [(&str, Value, StarterKind, &str); 6] = [
        (
            "codepipeline-4f0c",
            with("shifter deploy"),
            StarterKind::Pipeline,
            "CodePipeline job 4f0c",
        ),
        (
            "nightly-1",
            with("schedule nightly-orders"),
            StarterKind::Schedule,
            "schedule nightly-orders",
        ),
        (
            "x",
            with("shifter deploy by ana@laptop"),
            StarterKind::Cli,
            "shifter deploy by ana@laptop",
        ),
        (
            "x",
            with("release bot #42"),
            StarterKind::Declared,
            "release bot #42",
        ),
        (
            "shifter-20260101T000000-1-0",
            json!({}),
            StarterKind::Cli,
            "shifter deploy",
        ),
        (
            "3b1e-uuid",
            json!({}),
            StarterKind::ConsoleOrApi,
            "console or API (CloudTrail's StartExecution record names the principal)",
        ),
    ];
    for (name, input, kind, detail) in rows {
        let who = started_by(name, &input);
        assert_eq!((who.kind, who.detail.as_str()), (kind, detail), "{name}");
    }
}

#[test]
fn records_sort_newest_first() {
    let mut records: Vec<DeploymentRecord> = [("a", 10), ("b", 30), ("c", 20)]
        .into_iter()
        .map(|(id, t)| {
            let mut r = DeploymentRecord::new("orders", "live", id);
            r.started_at = Some(at(t));
            r
        })
        .collect();
    newest_first(&mut records);
    let ids: Vec<_> = records.iter().map(|r| r.deployment_id.as_str()).collect();
    assert_eq!(ids, ["b", "c", "a"]);
}
