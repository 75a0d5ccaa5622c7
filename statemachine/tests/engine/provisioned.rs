//! Provisioned-concurrency-aware shifting through the shipped definition: after every write of
//! an alias with provisioned concurrency the deployment parks, alarms watched, until
//! GetProvisionedConcurrencyConfig reports READY, and only then does the step's bake count
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html>:
//! `Status` IN_PROGRESS | READY | FAILED, `StatusReason` for failed allocations).

use serde_json::{Value, json};
use shifter::domain::limits::{history_events, provisioned_concurrency_events};
use shifter::domain::{DeploymentRequest, ErrorKind};
use shifter::fakes::LambdaOp;
use shifter::states::{AWAIT_PROVISIONED_CONCURRENCY, BAKE, CHECK_HEALTH, PROMOTE, SHIFT_TRAFFIC};
use shifter_statemachine::asl::{EventKind, HistoryEvent};
use shifter_statemachine::local::{self, LocalAccount, Outcome, Run};

use crate::support::{alias_is_snapshot, entered};

/// The demo account with 20 provisioned executions on `live`, reallocated for
/// `allocation_seconds` after every change of its routing.
fn account(allocation_seconds: u32) -> LocalAccount {
    let account = LocalAccount::demo();
    account
        .lambda
        .set_provisioned_concurrency("demo", "live", 20, allocation_seconds);
    account
}

/// Runs `input`, keeping every event whole (documents included).
async fn deploy(account: &LocalAccount, input: Value) -> (Run, Vec<HistoryEvent>) {
    let mut events = Vec::new();
    let run = local::run(account, input, "provisioned", &mut |e| {
        events.push(e.clone())
    })
    .await
    .unwrap();
    (run, events)
}

/// Seconds at which `state` was entered (or exited), in order.
fn times(events: &[HistoryEvent], state: &str, exited: bool) -> Vec<f64> {
    events
        .iter()
        .filter(|e| match &e.kind {
            EventKind::StateEntered { name, .. } => !exited && name == state,
            EventKind::StateExited { name, .. } => exited && name == state,
            _ => false,
        })
        .map(|e| e.at_seconds)
        .collect()
}

/// The documents Check Health returned, with the time it returned them.
fn checks(events: &[HistoryEvent]) -> Vec<(f64, Value)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StateExited { name, output } if name == CHECK_HEALTH => {
                Some((e.at_seconds, output.clone()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_provisioned_alias_waits_for_ready_before_each_bake_counts() {
    let account = account(75);
    let input = LocalAccount::demo_input("Canary10Percent5Minutes");
    let (run, events) = deploy(&account, input.clone()).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);

    // 10% is written, then eight 10 s polls until READY (the first parked in Bake, where
    // Shift Traffic leads); the promotion's eight all in Await Provisioned Concurrency.
    let shifted = times(&events, SHIFT_TRAFFIC, true)[0];
    let bakes = times(&events, BAKE, false);
    assert_eq!(bakes[0], shifted, "the first wait is parked in Bake");
    assert_eq!(entered(&run, AWAIT_PROVISIONED_CONCURRENCY), 7 + 8);
    // READY was read 80 s after the shift (allocation 75 s, polled every 10 s): the bake clock
    // starts there, so the promotion comes 80 + 300 s after the shift, not 300 s.
    let ready = checks(&events)
        .into_iter()
        .find(|(_, d)| d["decision"] == "bake")
        .expect("READY, then the bake");
    assert_eq!(ready.0, shifted + 80.0);
    let started = ready.1["stepStartedAt"].as_str().unwrap();
    let start = chrono::DateTime::parse_from_rfc3339(started).unwrap();
    assert_eq!(
        (start.timestamp() - account.clock.start().timestamp()) as f64,
        shifted + 80.0,
        "stepStartedAt is the READY read"
    );
    assert_eq!(ready.1["provisionedConcurrency"]["waitedSeconds"], 80);
    assert_eq!(bakes[1], shifted + 80.0, "the bake proper starts at READY");
    let promoted = times(&events, PROMOTE, false)[0];
    assert_eq!(promoted, shifted + 80.0 + 300.0);

    // Two writes; the config read at pre-flight and at every poll.
    assert_eq!(account.lambda.deployment_writes().len(), 2);
    assert_eq!(
        account.lambda.calls(LambdaOp::GetProvisionedConcurrency),
        1 + 8 + 8
    );
    // The history count the budget uses is exactly what the run wrote.
    let request = DeploymentRequest::from_json(&input).unwrap();
    assert_eq!(
        run.execution.history_events,
        history_events(&request).succeeding + provisioned_concurrency_events(&request, Some(75))
    );
}

/// Issue 21, item 6: at the default backstop interval (300 s) a 10 s reallocation held each
/// write's wait for a whole interval, so a 5-minute canary took 15:00; polled every
/// `pollSeconds` (default 10) it ends at the first poll after READY: 5:20.
#[tokio::test]
async fn a_ten_second_reallocation_ends_the_wait_at_the_next_poll_not_the_next_backstop_read() {
    let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
    input
        .as_object_mut()
        .unwrap()
        .remove("checkIntervalSeconds");
    // (pollSeconds, seconds each of the two writes waits for READY).
    for (poll, wait) in [(None, 10.0), (Some(300), 300.0)] {
        let account = account(10);
        let mut input = input.clone();
        if let Some(poll) = poll {
            // A poll as long as the backstop interval: the wait as it was before the poll.
            input["provisionedConcurrency"] = json!({ "pollSeconds": poll });
        }
        let (run, events) = deploy(&account, input.clone()).await;
        let s = &run.summary;
        assert_eq!(s.outcome, Outcome::Succeeded, "{s:?}");
        // The 5-minute bake and two waits: 5:20 polled, 15:00 at the backstop interval.
        assert_eq!(s.simulated_seconds, 300.0 + 2.0 * wait, "poll {poll:?}");
        let shifted = times(&events, SHIFT_TRAFFIC, true)[0];
        let promoted = times(&events, PROMOTE, false)[0];
        assert_eq!(promoted - shifted, wait + 300.0, "poll {poll:?}");
        let request = DeploymentRequest::from_json(&input).unwrap();
        assert_eq!(
            run.execution.history_events,
            history_events(&request).succeeding
                + provisioned_concurrency_events(&request, Some(10)),
            "poll {poll:?}"
        );
    }
}

#[tokio::test]
async fn an_allocation_that_fails_rolls_back_and_restores_the_alias() {
    let account = account(75);
    account.lambda.fail_provisioned_concurrency(
        "demo",
        "live",
        1,
        "FUNCTION_ERROR_INIT_FAILURE: version 2 failed to initialize",
    );
    let input = LocalAccount::demo_input("Canary10Percent5Minutes");
    let (run, _) = deploy(&account, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, Outcome::RolledBack, "{s:?}");
    assert_eq!(
        s.error.as_deref(),
        Some(ErrorKind::ProvisionedConcurrencyFailed.name())
    );
    let cause = s.cause.as_deref().unwrap_or_default();
    assert!(
        cause.contains("FUNCTION_ERROR_INIT_FAILURE: version 2 failed to initialize")
            && cause.contains("restored to version 1"),
        "{cause}"
    );
    alias_is_snapshot(&account).await;
    assert_eq!(entered(&run, PROMOTE), 0);
    // FAILED shows once the allocation ends (75 s, read at the 80 s poll); the bake never
    // started.
    assert_eq!(s.simulated_seconds, 80.0, "{s:?}");
}

#[tokio::test]
async fn an_alarm_during_the_wait_rolls_back_at_once() {
    let account = account(600);
    account.alarm_at("demo-errors", 100);
    let input = LocalAccount::demo_input("Canary10Percent5Minutes");
    let (run, events) = deploy(&account, input).await;
    let s = &run.summary;
    assert_eq!(s.error.as_deref(), Some("AlarmTriggered"), "{s:?}");
    alias_is_snapshot(&account).await;
    // The alarm event ended the parked wait: Roll Back ran within a second or two of the
    // alarm, not at the next backstop read (120 s).
    let roll_back = times(&events, "Roll Back", false);
    assert_eq!(roll_back.len(), 1);
    assert!((100.0..102.0).contains(&roll_back[0]), "{roll_back:?}");
    assert!(entered(&run, AWAIT_PROVISIONED_CONCURRENCY) > 0);
    assert_eq!(times(&events, BAKE, false).len(), 1, "no bake proper began");
}

#[tokio::test]
async fn an_allocation_still_in_progress_after_the_timeout_rolls_back() {
    let account = account(3600);
    let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
    input["provisionedConcurrency"] = json!({"readyTimeoutSeconds": 120});
    let (run, _) = deploy(&account, input).await;
    let s = &run.summary;
    assert_eq!(s.error.as_deref(), Some("ProvisionedConcurrencyFailed"));
    let cause = s.cause.as_deref().unwrap_or_default();
    assert!(
        cause.contains("not READY 120s after the shift to 10% on version 2"),
        "{cause}"
    );
    assert_eq!(s.simulated_seconds, 120.0);
    alias_is_snapshot(&account).await;
}
