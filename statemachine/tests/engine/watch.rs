//! Event-driven watch through the shipped definition: parks hand their task token to the real
//! watch function, the simulated account's alarms emit CloudWatch state-change events that
//! reach it `ALARM_EVENT_LATENCY` later, and backstop reads catch what events miss. Cost and
//! history grow per step, not per check.

use crate::support::{alias_is_snapshot, entered};
use chrono::TimeDelta;
use serde_json::{Value, json};
use shifter::domain::AliasRoute;
use shifter::domain::request::DEFAULT_CHECK_INTERVAL_SECONDS;
use shifter::ports::{AlarmState, Clock};
use shifter::states;
use shifter_statemachine::local::{self, ALARM_EVENT_LATENCY, LocalAccount, Outcome, Run};

const ALARM: &str = "demo-errors";

async fn deploy(account: &LocalAccount, input: Value) -> Run {
    local::run(account, input, "watch", &mut |_| {})
        .await
        .unwrap()
}

/// The demo deployment at the default backstop, without hooks (the baseline counts).
fn input(strategy: &str) -> Value {
    let mut input = LocalAccount::demo_input(strategy);
    let object = input.as_object_mut().unwrap();
    object.remove("checkIntervalSeconds");
    object.remove("hooks");
    input
}

/// Seconds into the run when the alias was put back on version 1.
fn restored_at(run: &Run) -> f64 {
    assert_eq!(
        run.summary.outcome,
        Outcome::RolledBack,
        "{:?}",
        run.summary
    );
    let last = run.summary.timeline.last().expect("a timeline");
    assert_eq!(last.weight, 0.0, "{:?}", run.summary.timeline);
    last.seconds
}

/// An alarm at 2:30 of a 1-minute linear deployment rolls back within 3 s of the change
/// (event latency, then the watcher's SendTaskFailure, Roll Back's UpdateAlias), not at the
/// next backstop read 5 minutes on.
#[tokio::test]
async fn an_alarm_event_restores_the_alias_within_three_seconds() {
    let account = LocalAccount::demo();
    account.alarm_at(ALARM, 150);
    let run = deploy(&account, input("Linear10PercentEvery1Minute")).await;
    let at = restored_at(&run);
    assert!((150.0..=153.0).contains(&at), "restored at {at} s");
    assert_eq!(
        at,
        150.0 + ALARM_EVENT_LATENCY.as_seconds_f64(),
        "modelled latency, then nothing waits"
    );
    assert_eq!(run.execution.error.as_deref(), Some("AlarmTriggered"));
    let cause = run.execution.cause.clone().unwrap();
    assert!(
        cause.contains(ALARM) && cause.contains("version 2"),
        "{cause}"
    );
    assert_eq!(account.alarm_events.stats().delivered, 1);
    alias_is_snapshot(&account).await;
}

/// With every alarm event lost, the backstop read catches the alarm at the end of the park it
/// fired in (5 minutes at most); nothing is left to events.
#[tokio::test]
async fn dropped_alarm_events_are_caught_by_the_backstop_read() {
    let account = LocalAccount::demo();
    account.alarm_events.drop_all();
    account.alarm_at(ALARM, 150);
    let run = deploy(&account, input("Canary10Percent30Minutes")).await;
    let at = restored_at(&run);
    assert_eq!(
        at,
        f64::from(DEFAULT_CHECK_INTERVAL_SECONDS),
        "the first backstop read"
    );
    assert_eq!(account.alarm_events.stats().dropped, 1);
    assert_eq!(account.alarm_events.stats().delivered, 0);
    alias_is_snapshot(&account).await;
}

/// A 5-second ALARM between two backstop reads is caught by its event (polling would only see
/// it if a read fell inside those 5 seconds); with the events dropped it is missed, which is
/// what the backstop interval trades.
#[tokio::test]
async fn a_five_second_alarm_between_backstop_reads_is_caught() {
    let flap = |account: &LocalAccount| {
        let start = account.clock.start();
        account
            .alarms
            .set_from(ALARM, start + TimeDelta::seconds(400), AlarmState::Alarm);
        account
            .alarms
            .set_from(ALARM, start + TimeDelta::seconds(405), AlarmState::Ok);
    };
    let account = LocalAccount::demo();
    flap(&account);
    let run = deploy(&account, input("Canary10Percent30Minutes")).await;
    assert_eq!(restored_at(&run), 401.0);
    alias_is_snapshot(&account).await;

    let blind = LocalAccount::demo();
    blind.alarm_events.drop_all();
    flap(&blind);
    let run = deploy(&blind, input("Canary10Percent30Minutes")).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
}

/// An ALARM while an approval gate waits rolls back at once, not when the gate times out.
#[tokio::test]
async fn an_alarm_during_an_approval_gate_rolls_back_at_once() {
    let account = LocalAccount::demo();
    account.alarm_at(ALARM, 200);
    let mut gated = input("Canary10Percent5Minutes");
    gated["strategy"] = json!({"steps": [
        {"weight": 10, "bakeSeconds": 60},
        {"weight": 50, "bakeSeconds": 60, "approval": true}
    ]});
    gated["approvalTimeoutSeconds"] = json!(86_400);
    let run = deploy(&account, gated).await;
    assert_eq!(restored_at(&run), 201.0);
    assert_eq!(run.execution.error.as_deref(), Some("AlarmTriggered"));
    assert_eq!(entered(&run, states::ANNOUNCE_APPROVAL), 1);
    alias_is_snapshot(&account).await;
}

/// The targets: Linear10PercentEvery1Minute within 50 state transitions (68 when
/// polling every 30 s), Canary10Percent30Minutes within 25 (186), and a longer bake adds only
/// its backstop reads (3 transitions each: the park, Check Health, What Next?).
#[tokio::test]
async fn transitions_grow_per_step_and_per_backstop_read_only() {
    let transitions = |strategy: &'static str| async move {
        let account = LocalAccount::demo();
        let run = deploy(&account, input(strategy)).await;
        assert_eq!(run.summary.outcome, Outcome::Succeeded, "{strategy}");
        run.summary.state_transitions
    };
    let linear = transitions("Linear10PercentEvery1Minute").await;
    assert!(linear <= 50, "{linear}");
    let canary30 = transitions("Canary10Percent30Minutes").await;
    assert!(canary30 <= 25, "{canary30}");
    let canary15 = transitions("Canary10Percent15Minutes").await;
    let reads = |minutes: u64| minutes * 60 / u64::from(DEFAULT_CHECK_INTERVAL_SECONDS);
    assert_eq!(canary30 - canary15, 3 * (reads(30) - reads(15)));
}

/// Late and duplicate events are ignored cheaply: an alarm that fires after the deployment
/// ended reaches a lock whose token is stale, and nothing happens to the alias.
#[tokio::test]
async fn an_alarm_after_the_deployment_ended_changes_nothing() {
    let account = LocalAccount::demo();
    let run = deploy(&account, input("Canary10Percent5Minutes")).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
    account.alarm_at(ALARM, 400);
    // The next deployment on another alias delivers the late event on its way.
    account
        .lambda
        .put_alias("demo", "beta", AliasRoute::single("1"));
    let writes = account.lambda.history().len();
    let mut other = input("AllAtOnce");
    other["alias"] = json!("beta");
    other["alarms"] = json!([]);
    account.clock.advance_secs(500);
    let next = local::run(&account, other, "later", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(next.summary.outcome, Outcome::Succeeded);
    assert_eq!(account.alarm_events.stats().delivered, 1);
    let alias = account.alias_state("demo", "live").await.unwrap();
    assert_eq!(
        alias.route,
        AliasRoute::single("2"),
        "the finished deployment stays"
    );
    assert_eq!(
        account.lambda.history().len(),
        writes + 1,
        "only beta's write"
    );
}

/// Entries are removed when a deployment ends: the execution's status-change event reaches the
/// watch function, which releases the lock and the watch items, whatever the ending.
#[tokio::test]
async fn the_registry_is_empty_once_a_deployment_ended() {
    for alarm_at in [None, Some(100)] {
        let account = LocalAccount::demo();
        if let Some(at) = alarm_at {
            account.alarm_at(ALARM, at);
        }
        let run = deploy(&account, input("Canary10Percent5Minutes")).await;
        assert_ne!(run.summary.outcome, Outcome::Rejected);
        assert!(
            account.deployments.entry("demo", "live").is_none(),
            "{alarm_at:?}"
        );
        assert_eq!(account.deployments.watch_items(), 0, "{alarm_at:?}");
    }
}

/// The nightly `latest` schedule that learns: the night version 2 rolls back, it is
/// remembered; the next night ends `VersionRolledBack` touching nothing (not a second
/// rollback); someone deploys 2 explicitly, and from then on `latest` finds it current.
#[tokio::test]
async fn a_nightly_latest_schedule_does_not_redeploy_what_rolled_back() {
    let account = LocalAccount::demo();
    let mut nightly = input("Canary10Percent5Minutes");
    nightly["targetVersion"] = json!("latest");
    account.alarm_at(ALARM, 60);
    let night1 = local::run(&account, nightly.clone(), "night-1", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(night1.summary.outcome, Outcome::RolledBack);
    account
        .alarms
        .set_from(ALARM, account.clock.now(), AlarmState::Ok);
    let writes = account.lambda.history().len();
    let night2 = local::run(&account, nightly.clone(), "night-2", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(night2.summary.outcome, Outcome::Rejected);
    assert_eq!(night2.execution.error.as_deref(), Some("VersionRolledBack"));
    assert!(night2.execution.cause.clone().unwrap().contains("night-1"));
    assert_eq!(account.lambda.history().len(), writes, "nothing touched");

    let mut by_hand = input("AllAtOnce");
    by_hand["targetVersion"] = json!("2");
    let fixed = local::run(&account, by_hand, "by-hand", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(fixed.summary.outcome, Outcome::Succeeded);
    let night3 = local::run(&account, nightly, "night-3", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(night3.summary.outcome, Outcome::AlreadyCurrent);
}
