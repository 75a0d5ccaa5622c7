//! The record (docs/history.md): each scenario leaves one item, written by the real watch
//! function at the moments it already handles, with who started it, from → to, the outcome, its
//! cause and the timeline of weights; and writing it adds no state transition.

use serde_json::{Value, json};
use shifter::domain::lifecycle::Status;
use shifter::domain::record::{DeploymentRecord, StarterKind};
use shifter_statemachine::local::{self, LocalAccount, Run};

async fn deploy(account: &LocalAccount, input: Value) -> Run {
    local::run(account, input, "d1", &mut |_| {})
        .await
        .expect("the runner accepts the shipped definition")
}

/// The one record the account holds.
fn the_record(account: &LocalAccount) -> DeploymentRecord {
    let records = account.records.records();
    assert_eq!(records.len(), 1, "{records:#?}");
    records.into_iter().next().unwrap()
}

fn marks(r: &DeploymentRecord) -> Vec<&'static str> {
    r.timeline.iter().map(|m| m.status.name()).collect()
}

#[tokio::test]
async fn a_success_leaves_its_weights_and_outcome_and_no_extra_transition() {
    let account = LocalAccount::demo();
    let mut input = LocalAccount::demo_input("Linear50PercentEvery1Minute");
    input["startedBy"] = json!("shifter deploy by ana");
    let run = deploy(&account, input).await;
    let r = the_record(&account);
    assert_eq!((r.function.as_str(), r.alias.as_str()), ("demo", "live"));
    assert_eq!(r.outcome, Some(Status::Succeeded));
    assert_eq!(r.started_by.as_ref().unwrap().kind, StarterKind::Cli);
    assert_eq!(
        (r.from_version.as_deref(), r.to_version.as_deref()),
        (Some("1"), Some("2"))
    );
    assert_eq!(r.strategy.as_deref(), Some("Linear50PercentEvery1Minute"));
    assert_eq!(
        marks(&r),
        ["STARTED", "STEP_SHIFTED", "PROMOTED", "SUCCEEDED"]
    );
    let weights: Vec<f64> = r.weights().into_iter().map(|(_, w)| w).collect();
    assert_eq!(weights, [50.0, 100.0]);
    // One one-minute bake at 50%, then the promotion, on the virtual clock.
    assert_eq!(r.duration().unwrap().num_seconds(), 60);
    assert_eq!(
        run.summary.record.as_ref(),
        Some(&r),
        "simulate --json shows it"
    );
    // One write per lifecycle event put: the record rides the same moments, and the state
    // transitions are those of the definition alone (18, as before the record and the events:
    // lifecycle.rs::events_add_no_state_transitions_and_cost_a_dollar_per_million).
    assert_eq!(account.records.writes(), run.summary.events.len() as u64);
    assert_eq!(run.summary.state_transitions, 18);
}

#[tokio::test]
async fn an_alarm_leaves_a_rolled_back_record_naming_the_alarm() {
    let account = LocalAccount::demo();
    account.alarm_at("demo-errors", 30);
    deploy(
        &account,
        LocalAccount::demo_input("Linear50PercentEvery1Minute"),
    )
    .await;
    let r = the_record(&account);
    assert_eq!(r.outcome, Some(Status::RolledBack));
    let cause = r.cause.as_ref().unwrap();
    assert_eq!(
        (cause.kind.as_str(), cause.error.as_str()),
        ("alarm", "AlarmTriggered")
    );
    assert!(cause.message.contains("demo-errors"), "{}", cause.message);
    assert_eq!(marks(&r), ["STARTED", "STEP_SHIFTED", "ROLLED_BACK"]);
    assert_eq!(r.from_version.as_deref(), Some("1"));
    assert_eq!(
        r.started_by.as_ref().unwrap().kind,
        StarterKind::ConsoleOrApi
    );
}

#[tokio::test]
async fn a_stop_by_hand_leaves_a_stopped_record_with_what_was_undone() {
    let account = LocalAccount::demo();
    account.stop_at(30.0);
    deploy(
        &account,
        LocalAccount::demo_input("Linear50PercentEvery1Minute"),
    )
    .await;
    let r = the_record(&account);
    assert_eq!(r.outcome, Some(Status::Stopped));
    let cause = r.cause.as_ref().unwrap();
    assert_eq!(cause.kind, "stoppedByHand");
    assert!(
        cause.message.contains("restored to version 1"),
        "{}",
        cause.message
    );
    assert!(r.ended_at.is_some());
}
