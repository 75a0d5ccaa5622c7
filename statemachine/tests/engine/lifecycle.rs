//! Lifecycle events (docs/events.md): the exact sequence each scenario puts on the stack's bus,
//! every id unique and derived from the deployment (stable across retries), and the state
//! transitions unchanged by them (the watch function puts them at moments it already runs).

use std::collections::BTreeSet;

use serde_json::Value;
use shifter::domain::AliasRoute;
use shifter::fakes::{Fault, LambdaOp};
use shifter_statemachine::local::{self, AccountSpec, HookBehaviour, LocalAccount, Run};

async fn deploy(account: &LocalAccount, input: Value) -> Run {
    local::run(account, input, "d1", &mut |_| {})
        .await
        .expect("the runner accepts the shipped definition")
}

/// The statuses put, in order, after checking every id is unique and names the deployment.
fn sequence(run: &Run) -> Vec<String> {
    let events = &run.summary.events;
    let ids: BTreeSet<&str> = events.iter().map(|e| e.detail.event_id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "ids are unique: {ids:?}");
    for e in events {
        assert!(
            e.detail.event_id.starts_with("d1:"),
            "{}",
            e.detail.event_id
        );
        assert_eq!(e.detail_type, "Traffic Shifter Deployment Status Change");
        assert_eq!(e.detail.version, "1");
    }
    events
        .iter()
        .map(|e| {
            let cause = e.detail.cause.as_ref().map(|c| format!("/{}", c.kind));
            format!("{}{}", e.detail.status.name(), cause.unwrap_or_default())
        })
        .collect()
}

fn demo() -> (LocalAccount, Value) {
    (
        LocalAccount::demo(),
        LocalAccount::demo_input("Linear50PercentEvery1Minute"),
    )
}

#[tokio::test]
async fn a_success_puts_started_each_step_promoted_and_succeeded() {
    let (account, input) = demo();
    let run = deploy(&account, input).await;
    assert_eq!(
        sequence(&run),
        ["STARTED", "STEP_SHIFTED", "PROMOTED", "SUCCEEDED"]
    );
    let shifted = &run.summary.events[1].detail;
    assert_eq!(
        (shifted.event_id.as_str(), shifted.weight),
        ("d1:STEP_SHIFTED:0", Some(50.0))
    );
    assert_eq!(
        account.events.calls(),
        3,
        "PROMOTED and SUCCEEDED go in one PutEvents call"
    );
}

#[tokio::test]
async fn an_alarm_puts_rolled_back_with_its_cause() {
    let (account, input) = demo();
    account.alarm_at("demo-errors", 30);
    let run = deploy(&account, input).await;
    assert_eq!(
        sequence(&run),
        ["STARTED", "STEP_SHIFTED", "ROLLED_BACK/alarm"]
    );
    let rolled = &run.summary.events[2].detail;
    assert_eq!(rolled.event_id, "d1:ROLLED_BACK");
    assert_eq!(rolled.cause.as_ref().unwrap().error, "AlarmTriggered");
}

#[tokio::test]
async fn a_failed_hook_and_an_operator_abort_name_their_cause() {
    let (account, input) = demo();
    account.set_hook("demo-pre-traffic", HookBehaviour::Status("Failed".into()));
    let run = deploy(&account, input).await;
    assert_eq!(sequence(&run), ["STARTED", "ROLLED_BACK/hook"]);

    let (account, input) = demo();
    account.abort_at(30.0, "not today");
    let run = deploy(&account, input).await;
    assert_eq!(
        sequence(&run),
        ["STARTED", "STEP_SHIFTED", "ROLLED_BACK/operator"]
    );
}

#[tokio::test]
async fn drift_and_a_stop_by_hand_end_without_rolled_back() {
    let (account, input) = demo();
    let hotfix = account.lambda.publish("demo").unwrap();
    account.lambda.inject(
        LambdaOp::UpdateAlias,
        2,
        Fault::DriftTo(AliasRoute::single(&hotfix)),
    );
    let run = deploy(&account, input).await;
    assert_eq!(sequence(&run), ["STARTED", "STEP_SHIFTED", "DRIFT/drift"]);

    let (account, input) = demo();
    account.stop_at(30.0);
    let run = deploy(&account, input).await;
    assert_eq!(
        sequence(&run),
        ["STARTED", "STEP_SHIFTED", "STOPPED/stoppedByHand"]
    );
    let stopped = &run.summary.events[2].detail;
    let said = &stopped.cause.as_ref().unwrap().message;
    assert!(
        said.contains("restored to version 1"),
        "what the watch undid: {said}"
    );
}

#[tokio::test]
async fn a_failed_rollback_carries_the_restore_command() {
    let (account, input) = demo();
    account.alarm_at("demo-errors", 30);
    for n in 2..=40 {
        account
            .lambda
            .inject(LambdaOp::UpdateAlias, n, Fault::ServerError);
    }
    let run = deploy(&account, input).await;
    assert_eq!(
        sequence(&run),
        ["STARTED", "STEP_SHIFTED", "ROLLBACK_FAILED/rollbackFailed"]
    );
    let failed = &run.summary.events[2].detail;
    let command = failed.restore_command.as_deref().unwrap();
    assert!(
        command.starts_with(
            "aws lambda update-alias --function-name demo --name live --function-version 1"
        ),
        "{command}"
    );
}

#[tokio::test]
async fn a_release_train_puts_one_sequence_naming_every_alias() {
    let spec = AccountSpec::from_json(include_str!("../../../events/accounts/release-train.json"))
        .expect("the sample account file reads");
    let input = spec.input.clone().expect("the sample has an input");
    let account = spec.build().expect("the sample account builds");
    let run = deploy(&account, input).await;
    assert_eq!(
        sequence(&run),
        [
            "STARTED",
            "STEP_SHIFTED",
            "STEP_SHIFTED",
            "PROMOTED",
            "SUCCEEDED"
        ]
    );
    let last = &run.summary.events.last().unwrap().detail;
    assert_eq!(last.members.len(), 3, "every alias of the train");
}

#[tokio::test]
async fn events_add_no_state_transitions_and_cost_a_dollar_per_million() {
    let (account, input) = demo();
    let run = deploy(&account, input).await;
    let puts = run.summary.events.len() as f64;
    let usd = puts * shifter::domain::lifecycle::USD_PER_EVENT;
    // The count the cost estimate (written before the events existed) gives for this plan.
    let plan = local::first_deployment(&run).unwrap().progress.plan;
    let estimate = shifter::domain::cost::estimate(&plan, 30, true, true, 0);
    assert_eq!(run.summary.state_transitions, estimate.transitions);
    assert_eq!(run.summary.state_transitions, 18);
    assert_eq!(
        shifter::domain::lifecycle::planned_puts(&plan, 0),
        run.summary.events.len() as u64
    );
    assert!((usd - 0.000_004).abs() < 1e-12, "{usd}");
}
