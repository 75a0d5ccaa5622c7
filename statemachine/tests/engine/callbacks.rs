//! Callback hooks (`hooks.callbackTimeoutSeconds`): the hook is invoked with a task token and
//! answers later with SendTaskSuccess/SendTaskFailure, within up to an hour — CodeDeploy's
//! lifecycle hooks, with one call changed. Synchronous hooks are unchanged (scenarios.rs).

use serde_json::{Value, json};
use shifter::domain::AliasRoute;
use shifter::domain::DeploymentRequest;
use shifter::domain::limits::history_events;
use shifter::states;
use shifter_statemachine::asl::EventKind;
use shifter_statemachine::local::{self, HookBehaviour, LocalAccount, Outcome, Run};

fn input(timeout: u32) -> Value {
    let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
    input["hooks"]["callbackTimeoutSeconds"] = json!(timeout);
    input
}

async fn deploy(account: &LocalAccount, input: Value) -> (Run, Vec<Value>) {
    let mut scheduled = Vec::new();
    let run = local::run(account, input, "callbacks", &mut |e| {
        if let EventKind::TaskScheduled { parameters, .. } = &e.kind {
            scheduled.push(parameters.clone());
        }
    })
    .await
    .unwrap();
    (run, scheduled)
}

fn answers_after(account: &LocalAccount, hook: &str, seconds: Option<u64>, status: &str) {
    account.set_hook(
        hook,
        HookBehaviour::Callback {
            after_seconds: seconds,
            status: status.to_owned(),
        },
    );
}

/// A pre-traffic hook that runs a 20-minute test suite and then calls SendTaskSuccess: traffic
/// moves at 20:00, the rest as usual; the hook got a task token; the history is the estimate.
#[tokio::test]
async fn a_hook_that_answers_after_twenty_minutes_passes() {
    let account = LocalAccount::demo();
    answers_after(&account, "demo-pre-traffic", Some(1200), "Succeeded");
    answers_after(&account, "demo-post-traffic", Some(30), "Succeeded");
    let input = input(3600);
    let (run, scheduled) = deploy(&account, input.clone()).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    assert_eq!(
        run.summary.timeline[1].seconds, 1200.0,
        "traffic moves after the answer"
    );
    assert_eq!(run.summary.simulated_seconds, 1200.0 + 300.0 + 30.0);
    let hook_call = scheduled
        .iter()
        .find(|p| p["FunctionName"] == "demo-pre-traffic")
        .expect("the hook was invoked");
    assert!(
        hook_call["Payload"]["taskToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{hook_call}"
    );
    assert_eq!(hook_call["Payload"]["phase"], "PreTraffic");
    let request = DeploymentRequest::from_json(&input).unwrap();
    assert_eq!(
        run.execution.history_events,
        history_events(&request).succeeding
    );
    let entered = |state: &str| {
        run.execution
            .events
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::StateEntered { name, .. } if name == state))
            .count()
    };
    assert_eq!(entered(states::AWAIT_PRE_TRAFFIC_HOOK), 1);
    assert_eq!(entered(states::RUN_PRE_TRAFFIC_HOOK), 0);
}

/// A hook that never answers (one still written for CodeDeploy, which calls
/// PutLifecycleEventHookExecutionStatus instead): HookFailed at its timeout, alias untouched.
#[tokio::test]
async fn a_hook_that_never_answers_fails_at_its_timeout_touching_nothing() {
    let account = LocalAccount::demo();
    answers_after(&account, "demo-pre-traffic", None, "");
    let (run, _) = deploy(&account, input(1800)).await;
    assert_eq!(
        run.summary.outcome,
        Outcome::RolledBack,
        "{:?}",
        run.summary
    );
    assert_eq!(run.execution.error.as_deref(), Some("HookFailed"));
    let cause = run.execution.cause.clone().unwrap();
    assert!(cause.contains("demo-pre-traffic"), "{cause}");
    assert_eq!(run.summary.simulated_seconds, 1800.0);
    let alias = account.alias_state("demo", "live").await.unwrap();
    assert_eq!(alias.route, AliasRoute::single("1"));
}

/// A post-traffic hook answering `{"status":"Failed"}` after ten minutes rolls the promotion
/// back.
#[tokio::test]
async fn a_post_traffic_hook_answering_failed_rolls_back() {
    let account = LocalAccount::demo();
    answers_after(&account, "demo-pre-traffic", Some(0), "Succeeded");
    answers_after(&account, "demo-post-traffic", Some(600), "Failed");
    let (run, _) = deploy(&account, input(3600)).await;
    assert_eq!(run.execution.error.as_deref(), Some("HookFailed"));
    assert_eq!(run.summary.simulated_seconds, 300.0 + 600.0);
    let alias = account.alias_state("demo", "live").await.unwrap();
    assert_eq!(alias.route, AliasRoute::single("1"));
}

/// Up to an hour, and only with a hook to call back.
#[test]
fn the_callback_timeout_is_validated() {
    let refused = |input: Value| {
        DeploymentRequest::from_json(&input)
            .unwrap_err()
            .to_string()
    };
    assert!(
        refused(input(3601))
            .starts_with("hooks.callbackTimeoutSeconds: must be between 1 and 3600")
    );
    assert!(refused(input(0)).starts_with("hooks.callbackTimeoutSeconds"));
    let mut no_hooks = input(60);
    no_hooks["hooks"] = json!({"callbackTimeoutSeconds": 60});
    assert!(refused(no_hooks).contains("needs hooks.preTraffic or hooks.postTraffic"));
}

/// A synchronous hook answering 1 MB would be `States.DataLimitExceeded` as a task result —
/// uncatchable, and after the promotion all traffic would stay on the new version. Through Run
/// Hook it is a failed hook: rolled back, alias restored, the document small.
#[tokio::test]
async fn a_one_megabyte_hook_answer_fails_the_hook_and_restores_the_alias() {
    let account = LocalAccount::demo();
    account.set_hook("demo-post-traffic", HookBehaviour::Large(1 << 20));
    let input = LocalAccount::demo_input("Canary10Percent5Minutes");
    let (run, _) = deploy(&account, input).await;
    assert_eq!(
        run.summary.outcome,
        Outcome::RolledBack,
        "{:?}",
        run.summary
    );
    assert_eq!(run.execution.error.as_deref(), Some("HookFailed"));
    let cause = run.execution.cause.clone().unwrap();
    assert!(cause.contains("answer too large: 1048"), "{cause}");
    let alias = account.alias_state("demo", "live").await.unwrap();
    assert_eq!(alias.route, AliasRoute::single("1"));
    assert!(
        run.execution.largest_payload.bytes < 8 * 1024,
        "{:?}",
        run.execution.largest_payload
    );
}
