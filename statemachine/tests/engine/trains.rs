//! Release trains through the shipped definition: three functions' aliases move in lockstep
//! (`events/accounts/release-train.json`), every step written to all of them before the bake;
//! one alarm rolls all of them back; drift on one stops the train and restores the others;
//! pre-flight refuses the whole train before touching any alias; and a train racing a
//! deployment of one of its aliases leaves exactly one of them moving and no lock behind.

use chrono::TimeDelta;
use serde_json::{Value, json};
use shifter::domain::{AliasRoute, Weight};
use shifter::fakes::Writer;
use shifter_statemachine::local::{self, AccountSpec, HookBehaviour, LocalAccount, Outcome, Run};

use crate::support::{Target, check_history, writes_since};

const SPEC: &str = include_str!("../../../events/accounts/release-train.json");

/// The three aliases of the sample train.
const TRAIN: [Target<'static>; 3] = [
    Target {
        function: "orders-api",
        alias: "live",
        original: "41",
        target: "42",
    },
    Target {
        function: "payments-api",
        alias: "live",
        original: "17",
        target: "18",
    },
    Target {
        function: "emails-worker",
        alias: "live",
        original: "5",
        target: "6",
    },
];

fn account() -> (LocalAccount, Value) {
    let spec = AccountSpec::from_json(SPEC).expect("the sample account file reads");
    let input = spec.input.clone().expect("the sample has an input");
    (spec.build().expect("the sample account builds"), input)
}

async fn deploy(account: &LocalAccount, input: Value) -> Run {
    local::run(account, input, "train", &mut |_| {})
        .await
        .expect("the runner accepts the shipped definition")
}

fn route(account: &LocalAccount, t: &Target<'_>) -> AliasRoute {
    account.lambda.alias(t.function, t.alias).unwrap().route
}

/// Invariants 2–5 of docs/architecture.md#safety-invariants over each alias's own writes.
fn assert_each_alias_safe(account: &LocalAccount) {
    let history = account.lambda.history();
    for t in &TRAIN {
        let writes = writes_since(&history, 0, t);
        let setup = writes
            .iter()
            .position(|w| w.by == Writer::Deployment)
            .unwrap_or(writes.len());
        check_history(&writes[setup..], t).unwrap_or_else(|e| panic!("{}: {e}", t.function));
    }
}

/// Every alias's lock went with the execution.
fn assert_no_lock_left(account: &LocalAccount) {
    for t in &TRAIN {
        assert!(
            account.deployments.entry(t.function, t.alias).is_none(),
            "{} still locked",
            t.function
        );
    }
    assert_eq!(account.deployments.watch_items(), 0);
}

#[tokio::test]
async fn a_three_function_train_writes_every_step_to_every_alias_before_its_bake() {
    let (account, input) = account();
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    for t in &TRAIN {
        assert_eq!(
            route(&account, t),
            AliasRoute::single(t.target),
            "{}",
            t.function
        );
    }
    // Lockstep: the deployment's writes come in rounds of three, one per alias, each round one
    // weight, strictly increasing; no alias gets a step before every alias has the one before.
    let writes: Vec<_> = account
        .lambda
        .history()
        .into_iter()
        .filter(|w| w.by == Writer::Deployment)
        .collect();
    assert_eq!(
        writes.len(),
        3 * 3,
        "three steps (10%, 50%, 100%) times three aliases"
    );
    for (round, expected) in [10.0, 50.0, 100.0].into_iter().enumerate() {
        let chunk = &writes[round * 3..round * 3 + 3];
        for (w, t) in chunk.iter().zip(&TRAIN) {
            assert_eq!(w.function, t.function);
            assert_eq!(
                w.route.weight_on(t.target),
                Weight::from_percent_f64(expected).unwrap()
            );
        }
        let first = chunk[0].at;
        assert!(
            chunk.iter().all(|w| w.at == first),
            "a round is one Shift Traffic: {chunk:?}"
        );
    }
    assert_eq!(
        writes[3].at - writes[0].at,
        chrono::TimeDelta::seconds(120),
        "the bake starts after the round"
    );
    let train = &run.summary.train;
    assert_eq!(train.len(), 3, "the summary shows every alias");
    assert!(
        train
            .iter()
            .all(|m| m.ended.as_ref().is_some_and(|a| a.version == m.to_version))
    );
    assert_each_alias_safe(&account);
    assert_eq!(account.deployments.watch_items(), 0, "every lock released");
}

#[tokio::test]
async fn one_alarm_rolls_every_alias_of_the_train_back() {
    let (account, input) = account();
    account.alarm_at("checkout-errors", 180);
    let run = deploy(&account, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, Outcome::RolledBack, "{s:?}");
    assert_eq!(s.error.as_deref(), Some("AlarmTriggered"));
    let cause = s.cause.as_deref().unwrap_or_default();
    for t in &TRAIN {
        assert_eq!(
            route(&account, t),
            AliasRoute::single(t.original),
            "{}",
            t.function
        );
        assert!(
            cause.contains(&format!("{}:{} on {}", t.function, t.alias, t.original)),
            "{cause}"
        );
    }
    assert_each_alias_safe(&account);
    assert_no_lock_left(&account);
}

#[tokio::test]
async fn drift_on_one_alias_stops_the_train_and_restores_the_others() {
    let (account, input) = account();
    let hotfix = account.lambda.publish("payments-api").unwrap();
    let lambda = account.lambda.clone();
    let theirs = AliasRoute::single(&hotfix);
    let mut moved = false;
    let mut observer = {
        let theirs = theirs.clone();
        move |e: &shifter_statemachine::asl::HistoryEvent| {
            if !moved && e.at_seconds >= 60.0 {
                moved = true;
                lambda.put_alias("payments-api", "live", theirs.clone());
            }
        }
    };
    let run = local::run(&account, input, "train-drift", &mut observer)
        .await
        .unwrap();
    assert_eq!(run.summary.outcome, Outcome::Stopped, "{:?}", run.summary);
    assert_eq!(run.summary.error.as_deref(), Some("AliasDrift"));
    let cause = run.summary.cause.as_deref().unwrap_or_default();
    assert!(cause.contains("payments-api"), "{cause}");
    assert!(
        cause.contains("restored orders-api:live on 41, emails-worker:live on 5"),
        "{cause}"
    );
    assert_eq!(
        route(&account, &TRAIN[1]),
        theirs,
        "their change was overwritten"
    );
    assert_eq!(route(&account, &TRAIN[0]), AliasRoute::single("41"));
    assert_eq!(route(&account, &TRAIN[2]), AliasRoute::single("5"));
    assert_each_alias_safe(&account);
}

#[tokio::test]
async fn drift_found_by_the_rollback_leaves_that_alias_and_restores_the_others() {
    // Someone moves emails-worker while the 10% step bakes, then the alarm fires: Roll Back
    // restores orders and payments and stops on drift without touching emails-worker.
    let (account, input) = account();
    account.alarm_at("checkout-errors", 90);
    let lambda = account.lambda.clone();
    let mut moved = false;
    let mut observer = move |e: &shifter_statemachine::asl::HistoryEvent| {
        if !moved && e.at_seconds >= 30.0 {
            moved = true;
            lambda.put_alias("emails-worker", "live", AliasRoute::single("6"));
        }
    };
    let run = local::run(&account, input, "train-drift-bake", &mut observer)
        .await
        .unwrap();
    assert_eq!(run.summary.outcome, Outcome::Stopped, "{:?}", run.summary);
    let cause = run.summary.cause.as_deref().unwrap_or_default();
    assert!(
        cause.contains("alias live of emails-worker was changed by someone else"),
        "{cause}"
    );
    assert!(
        cause.contains("restored orders-api:live on 41, payments-api:live on 17"),
        "{cause}"
    );
    assert_eq!(route(&account, &TRAIN[2]), AliasRoute::single("6"));
    assert_eq!(route(&account, &TRAIN[0]), AliasRoute::single("41"));
    assert_eq!(route(&account, &TRAIN[1]), AliasRoute::single("17"));
    assert_each_alias_safe(&account);
}

#[tokio::test]
async fn pre_flight_refuses_the_whole_train_before_touching_any_alias() {
    for (field, value, error) in [
        ("/targets/2/targetVersion", json!("99"), "NotFound"),
        ("/targets/1/functionName", json!("nobody"), "NotFound"),
    ] {
        let (account, mut input) = account();
        *input.pointer_mut(field).unwrap() = value;
        let run = deploy(&account, input).await;
        assert_eq!(run.summary.outcome, Outcome::Rejected, "{field}");
        assert_eq!(run.summary.error.as_deref(), Some(error), "{field}");
        assert!(
            account
                .lambda
                .history()
                .iter()
                .all(|w| w.by != Writer::Deployment),
            "{field}: a refused train wrote"
        );
        assert_eq!(account.deployments.watch_items(), 0);
        assert!(account.deployments.entry("orders-api", "live").is_none());
    }
}

#[tokio::test]
async fn a_train_racing_a_deployment_of_one_of_its_aliases_leaves_one_moving_and_no_lock() {
    for train_first in [true, false] {
        let (account, mut train) = account();
        // Both pre-traffic hooks run ten minutes: whoever starts first holds its locks without
        // having moved an alias, so the other, started 10 s later, passes pre-flight and meets
        // the lock.
        train["hooks"] = json!({"preTraffic": "emails-pre"});
        account.add_hook("emails-pre", HookBehaviour::Slow(600));
        let single = json!({
            "functionName": "emails-worker", "alias": "live", "targetVersion": "6",
            "strategy": "Canary10Percent5Minutes", "hooks": {"preTraffic": "emails-pre"}
        });
        let (ga, gb) = (account.clock.enroll(), account.clock.enroll());
        let (train_delay, single_delay) = if train_first { (0, 10) } else { (10, 0) };
        let clock = account.clock.clone();
        let first = async {
            clock.sleep(TimeDelta::seconds(train_delay)).await;
            let run = local::run(&account, train, "train-a", &mut |_| {}).await;
            drop(ga);
            run.unwrap()
        };
        let second = async {
            account.clock.sleep(TimeDelta::seconds(single_delay)).await;
            let run = local::run(&account, single, "single-b", &mut |_| {}).await;
            drop(gb);
            run.unwrap()
        };
        let (a, b) = tokio::join!(first, second);
        let (winner, loser) = if train_first { (&a, &b) } else { (&b, &a) };
        assert_eq!(
            winner.summary.outcome,
            Outcome::Succeeded,
            "{:?}",
            winner.summary
        );
        assert_eq!(loser.summary.outcome, Outcome::Rejected);
        assert_eq!(loser.summary.error.as_deref(), Some("DeploymentInProgress"));
        let cause = loser.summary.cause.clone().unwrap_or_default();
        assert!(
            cause.contains("is being deployed by execution"),
            "the lock refused it: {cause}"
        );
        if !train_first {
            // The train took orders and payments before emails-worker's lock refused it: it
            // let both go, and neither alias moved.
            assert_eq!(route(&account, &TRAIN[0]), AliasRoute::single("41"));
            assert_eq!(route(&account, &TRAIN[1]), AliasRoute::single("17"));
        }
        assert_eq!(route(&account, &TRAIN[2]), AliasRoute::single("6"));
        assert_no_lock_left(&account);
    }
}

#[tokio::test]
async fn a_train_is_validated_by_field() {
    let (account, input) = account();
    let mut too_many = input.clone();
    too_many["targets"] = Value::Array(
        (0..21)
            .map(
                |i| json!({"functionName": format!("f{i}"), "alias": "live", "targetVersion": "2"}),
            )
            .collect(),
    );
    let mut both = input.clone();
    both["functionName"] = json!("orders-api");
    let mut twice = input.clone();
    twice["targets"][2] =
        json!({"functionName": "orders-api", "alias": "live", "targetVersion": "40"});
    for (bad, field) in [
        (too_many, "targets"),
        (both, "functionName"),
        (twice, "targets[2].alias"),
    ] {
        let run = deploy(&account, bad).await;
        assert_eq!(run.summary.error.as_deref(), Some("InvalidInput"));
        let cause = run.summary.cause.unwrap_or_default();
        assert!(cause.contains(&format!("{field}:")), "{field}: {cause}");
    }
}

#[tokio::test]
async fn the_canary_analysis_judges_every_alias_and_one_failure_rolls_all_back() {
    let mut spec: Value = serde_json::from_str(SPEC).unwrap();
    let mut traffic = Vec::new();
    for t in &TRAIN {
        for version in [t.original, t.target] {
            traffic.push(
                json!({"function": t.function, "alias": "live", "version": version,
                "callsPerMinute": 600, "errorRatePercent": 0.1, "p99Millis": 120}),
            );
        }
    }
    // payments-api's new version starts failing 4 % of its calls three minutes in (50 % step).
    traffic.push(
        json!({"function": "payments-api", "alias": "live", "version": "18",
        "atSeconds": 180, "callsPerMinute": 600, "errorRatePercent": 4.0, "p99Millis": 120}),
    );
    spec["traffic"] = Value::Array(traffic);
    spec["input"]["analysis"] = json!({"intervalSeconds": 60, "minInvocations": 50,
        "maxErrorRatePercent": 1.0});
    let spec = AccountSpec::from_json(&spec.to_string()).unwrap();
    let account = spec.build().unwrap();
    let run = deploy(&account, spec.input.clone().unwrap()).await;
    let s = &run.summary;
    assert_eq!(s.outcome, Outcome::RolledBack, "{s:?}");
    assert_eq!(s.error.as_deref(), Some("AnalysisFailed"));
    let cause = s.cause.as_deref().unwrap_or_default();
    assert!(cause.contains("version 18 of payments-api:live"), "{cause}");
    for t in &TRAIN {
        assert_eq!(
            route(&account, t),
            AliasRoute::single(t.original),
            "{}",
            t.function
        );
    }
    assert!(
        s.simulated_seconds >= 180.0 && s.simulated_seconds <= 241.0,
        "caught by the first analysis after the errors began: {}",
        s.simulated_seconds
    );
    assert_each_alias_safe(&account);
}

#[tokio::test]
async fn the_hooks_learn_every_alias_of_the_train() {
    let (account, mut input) = account();
    account.add_hook(
        "checkout-smoke-test",
        HookBehaviour::Status("Succeeded".into()),
    );
    input["hooks"] = json!({"preTraffic": "checkout-smoke-test"});
    let mut trains = Vec::new();
    let mut observer = |e: &shifter_statemachine::asl::HistoryEvent| {
        if let shifter_statemachine::asl::EventKind::TaskScheduled {
            state, parameters, ..
        } = &e.kind
            && state == "Run Pre-Traffic Hook"
        {
            trains.push(parameters["Payload"]["event"]["train"].clone());
        }
    };
    let run = local::run(&account, input, "train-hooks", &mut observer)
        .await
        .unwrap();
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    assert_eq!(trains.len(), 1);
    let functions: Vec<&str> = trains[0]
        .as_array()
        .expect("the hook's event carries the train")
        .iter()
        .map(|m| m["functionName"].as_str().unwrap())
        .collect();
    assert_eq!(functions, ["payments-api", "emails-worker"]);
}

/// A train in which payments-api keeps provisioned concurrency (90 s to reallocate after each
/// write): every step's bake counts from READY; a failed allocation on it rolls all three back.
fn provisioned_train(fail_at_write: Option<u32>) -> (LocalAccount, Value) {
    let mut spec: Value = serde_json::from_str(SPEC).unwrap();
    let mut pc = json!({"executions": 10, "allocationSeconds": 90});
    if let Some(write) = fail_at_write {
        pc["failAtWrite"] = json!(write);
        pc["failureReason"] = json!("Function concurrency limit exceeded");
    }
    spec["functions"][1]["provisionedConcurrency"] = json!({ "live": pc });
    spec["input"]["checkIntervalSeconds"] = json!(30);
    let spec = AccountSpec::from_json(&spec.to_string()).unwrap();
    (spec.build().unwrap(), spec.input.clone().unwrap())
}

#[tokio::test]
async fn a_train_waits_for_every_provisioned_alias_before_each_bake() {
    let (account, input) = provisioned_train(None);
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    let writes: Vec<_> = account
        .lambda
        .history()
        .into_iter()
        .filter(|w| w.by == Writer::Deployment)
        .collect();
    // 10 % at 0, READY read at 90 s, bake 120 s: 50 % at 210 s; then 90 + 120 again: 420 s.
    let rounds: Vec<i64> = writes
        .chunks(3)
        .map(|round| (round[0].at - writes[0].at).num_seconds())
        .collect();
    assert_eq!(rounds, [0, 210, 420], "each bake counts from READY");
    let planned = local::first_deployment(&run).unwrap();
    let pc = planned.provisioned_concurrency.as_ref().expect("recorded");
    assert_eq!(pc.aliases.as_deref(), Some(&[1][..]), "payments-api only");
    assert_each_alias_safe(&account);
}

#[tokio::test]
async fn a_failed_allocation_on_one_alias_rolls_the_whole_train_back() {
    let (account, input) = provisioned_train(Some(2));
    let run = deploy(&account, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, Outcome::RolledBack, "{s:?}");
    assert_eq!(s.error.as_deref(), Some("ProvisionedConcurrencyFailed"));
    let cause = s.cause.as_deref().unwrap_or_default();
    assert!(cause.contains("payments-api:live FAILED"), "{cause}");
    assert!(
        cause.contains("provisioned concurrency of the release train's aliases FAILED"),
        "the cause names the train, not its first alias: {cause}"
    );
    assert!(
        cause.contains("Function concurrency limit exceeded"),
        "{cause}"
    );
    for t in &TRAIN {
        assert_eq!(
            route(&account, t),
            AliasRoute::single(t.original),
            "{}",
            t.function
        );
    }
    assert_each_alias_safe(&account);
}
