//! Operating a running deployment through its parked tasks: abort at any moment, promote
//! early, approval gates with their timeout and default — and the recorded histories in
//! `events/` that the CLI's `watch` and `timeline` tests read.

use crate::support::{alias_is_snapshot, entered};
use serde_json::{Value, json};
use shifter::domain::AliasRoute;
use shifter::states;
use shifter_statemachine::asl::{Execution, ExecutionStatus};
use shifter_statemachine::local::{self, LocalAccount, Outcome, Run};

async fn deploy(account: &LocalAccount, input: Value) -> Run {
    local::run(account, input, "operate", &mut |_| {})
        .await
        .unwrap()
}

fn weights(run: &Run) -> Vec<(f64, f64)> {
    run.summary
        .timeline
        .iter()
        .map(|p| (p.seconds, p.weight))
        .collect()
}

fn gated_input() -> Value {
    let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
    input["strategy"] = json!({"steps": [
        {"weight": 10, "bakeSeconds": 60},
        {"weight": 50, "bakeSeconds": 60, "approval": true}
    ]});
    input["approvalBeforePromote"] = json!(true);
    input["approvalTimeoutSeconds"] = json!(600);
    input
}

#[tokio::test]
async fn abort_mid_bake_restores_the_alias_at_once_and_fails_aborted() {
    let account = LocalAccount::demo();
    account.abort_at(100.0, "error rate looks wrong to me");
    let run = deploy(
        &account,
        LocalAccount::demo_input("Canary10Percent5Minutes"),
    )
    .await;
    assert_eq!(run.execution.status, ExecutionStatus::Failed);
    assert_eq!(run.summary.outcome, Outcome::RolledBack);
    assert_eq!(run.execution.error.as_deref(), Some("Aborted"));
    let cause = run.execution.cause.clone().unwrap();
    assert!(cause.starts_with("error rate looks wrong to me"), "{cause}");
    assert!(cause.contains("restored to version 1"), "{cause}");
    // Restored at the abort itself: well within one check interval (30 s).
    assert_eq!(weights(&run), vec![(0.0, 0.0), (0.0, 10.0), (100.0, 0.0)]);
    assert_eq!(run.summary.simulated_seconds, 100.0);
    alias_is_snapshot(&account).await;
    assert_eq!(entered(&run, states::ABORT_REQUESTED), 1);
}

#[tokio::test]
async fn abort_during_the_post_promotion_bake_still_restores() {
    let account = LocalAccount::demo();
    account.abort_at(320.0, "late regression");
    let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
    input["postPromotionBakeSeconds"] = json!(120);
    let run = deploy(&account, input).await;
    assert_eq!(run.execution.error.as_deref(), Some("Aborted"));
    assert_eq!(
        weights(&run),
        vec![(0.0, 0.0), (0.0, 10.0), (300.0, 100.0), (320.0, 0.0)]
    );
    alias_is_snapshot(&account).await;
}

#[tokio::test]
async fn promote_skips_the_remaining_steps_but_not_the_hook_or_post_bake() {
    let account = LocalAccount::demo();
    account.promote_at(45.0);
    let mut input = LocalAccount::demo_input("Linear10PercentEvery1Minute");
    input["postPromotionBakeSeconds"] = json!(60);
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
    assert_eq!(weights(&run), vec![(0.0, 0.0), (0.0, 10.0), (45.0, 100.0)]);
    assert_eq!(entered(&run, states::RUN_POST_TRAFFIC_HOOK), 1);
    assert_eq!(
        run.summary.simulated_seconds, 105.0,
        "post-promotion bake ran"
    );
    let alias = account.alias_state("demo", "live").await.unwrap();
    assert_eq!(alias.route, AliasRoute::single("2"));
}

#[tokio::test]
async fn gates_wait_for_approval_before_their_step_and_the_promotion() {
    let account = LocalAccount::demo();
    account.approve_after(30.0);
    let run = deploy(&account, gated_input()).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    assert_eq!(
        weights(&run),
        vec![(0.0, 0.0), (0.0, 10.0), (90.0, 50.0), (180.0, 100.0)]
    );
    // Each gate parks in backstop-sized pieces (30 s here): the approval at 30 s comes with
    // the first piece's end, so each gate parks twice, and is announced once.
    assert_eq!(entered(&run, states::AWAIT_APPROVAL), 4);
    assert_eq!(entered(&run, states::ANNOUNCE_APPROVAL), 2);
}

#[tokio::test]
async fn promote_answers_a_gate_too() {
    let account = LocalAccount::demo();
    account.promote_at(70.0);
    let run = deploy(&account, gated_input()).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
    assert_eq!(weights(&run), vec![(0.0, 0.0), (0.0, 10.0), (70.0, 100.0)]);
}

#[tokio::test]
async fn an_unanswered_gate_applies_its_default() {
    let account = LocalAccount::demo();
    let run = deploy(&account, gated_input()).await;
    assert_eq!(run.execution.error.as_deref(), Some("ApprovalTimedOut"));
    assert_eq!(weights(&run), vec![(0.0, 0.0), (0.0, 10.0), (660.0, 0.0)]);
    alias_is_snapshot(&account).await;

    let account = LocalAccount::demo();
    let mut input = gated_input();
    input["approvalDefault"] = json!("approve");
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
    assert_eq!(
        weights(&run),
        vec![(0.0, 0.0), (0.0, 10.0), (660.0, 50.0), (1320.0, 100.0)]
    );
}

#[tokio::test]
async fn abort_at_a_gate_rolls_back() {
    let account = LocalAccount::demo();
    account.abort_at(75.0, "not today");
    let run = deploy(&account, gated_input()).await;
    assert_eq!(run.execution.error.as_deref(), Some("Aborted"));
    assert_eq!(weights(&run), vec![(0.0, 0.0), (0.0, 10.0), (75.0, 0.0)]);
    alias_is_snapshot(&account).await;
}

/// The recorded histories in `events/` are exactly what the runner exports for these runs;
/// `SHIFTER_UPDATE_FIXTURES=1` rewrites them.
#[tokio::test]
async fn recorded_histories_match_the_runner() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let cases: [(&str, Option<f64>); 2] = [
        ("execution-history-succeeded.json", None),
        ("execution-history-aborted.json", Some(45.0)),
    ];
    for (file, abort) in cases {
        let account = LocalAccount::demo();
        if let Some(at) = abort {
            account.abort_at(at, "error rate looks wrong to me");
        }
        let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
        input["strategy"] = json!("Canary10Percent1Minute");
        // The runner keeps events without their documents; the observer sees them whole.
        let mut events = Vec::new();
        let run = local::run(&account, input.clone(), "operate", &mut |e| {
            events.push(e.clone());
        })
        .await
        .unwrap();
        let execution = Execution {
            events,
            ..run.execution
        };
        let history = local::execution_history(&account, &execution, &input).unwrap();
        let text = serde_json::to_string_pretty(&history).unwrap() + "\n";
        let path = root.join(file);
        if std::env::var_os("SHIFTER_UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        // Compared as JSON, with embedded JSON text parsed: key order depends on serde_json's
        // features in the build (`preserve_order` when the whole workspace is built).
        let recorded: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            normalized(recorded) == normalized(history),
            "{file} is stale: rerun with SHIFTER_UPDATE_FIXTURES=1"
        );
    }
}

/// `value` with every string that holds a JSON object or array parsed, recursively.
fn normalized(value: Value) -> Value {
    match value {
        Value::String(text) if text.starts_with('{') || text.starts_with('[') => {
            match serde_json::from_str::<Value>(&text) {
                Ok(inner) => normalized(inner),
                Err(_) => Value::String(text),
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, normalized(value)))
                .collect(),
        ),
        other => other,
    }
}

/// `shifter dashboard --demo`'s Approve button: with `listen_every`, a gate hears an approval
/// sent to its token while it waits (here by an operator sharing the virtual clock, 10 s after
/// each gate opens), not only the answers scheduled before the run.
#[tokio::test]
async fn a_gate_hears_an_approval_sent_while_it_waits() {
    use shifter::ports::{TaskCallbacks, TokenAnswer};
    use shifter_statemachine::asl::EventKind;
    use std::sync::{Arc, Mutex};

    let account = LocalAccount::demo();
    account.listen_every(1.0);
    let clock = account.clock.clone();
    let (running, operating) = (clock.enroll(), clock.enroll());
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = tokens.clone();
    let run = async {
        let run = local::run(&account, gated_input(), "live-approval", &mut |e| {
            if let EventKind::TaskScheduled {
                state, parameters, ..
            } = &e.kind
                && state == states::AWAIT_APPROVAL
                && let Some(token) = parameters["Payload"]["taskToken"].as_str()
            {
                seen.lock().unwrap().push(token.to_owned());
            }
        })
        .await;
        drop(running);
        run.unwrap()
    };
    let operator = async {
        let mut answered = 0;
        for _ in 0..200 {
            clock.sleep(chrono::TimeDelta::seconds(5)).await;
            let token = tokens.lock().unwrap().get(answered).cloned();
            if let Some(token) = token {
                clock.sleep(chrono::TimeDelta::seconds(10)).await;
                let approve = json!({"action": "approve"});
                let sent = account.tasks.send_task_success(&token, &approve).await;
                assert_eq!(sent.unwrap(), TokenAnswer::Delivered);
                answered += 1;
            }
            if answered == 2 {
                break;
            }
        }
        drop(operating);
        answered
    };
    let (run, answered) = tokio::join!(run, operator);
    assert_eq!(answered, 2);
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    // Each gate is answered within its first piece: entered once each, not timed out.
    assert_eq!(entered(&run, states::AWAIT_APPROVAL), 2);
    let points = weights(&run);
    let fifty = points.iter().find(|(_, w)| *w == 50.0).unwrap().0;
    assert!((70.0..=80.0).contains(&fifty), "{points:?}");
    assert_eq!(points.last().unwrap().1, 100.0);
}
