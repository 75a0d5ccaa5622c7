//! What a deployment costs, counted rather than timed: Step Functions transitions against the
//! published budget, and the AWS API calls each state makes (one UpdateAlias per step, GetAlias
//! only where Start Deployment snapshots the alias or after a conflict, one DescribeAlarms per
//! alarm check). `scenarios.rs` already checks transitions == `cost::estimate` for every
//! predefined strategy; these tests pin the budgets and attribute every call to its state.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use shifter::domain::DeploymentRequest;
use shifter::domain::cost::{USD_PER_TRANSITION, estimate};
use shifter::domain::strategy::PREDEFINED;
use shifter::fakes::{Fault, LambdaOp, Writer};
use shifter_statemachine::asl::{EventKind, HistoryEvent};
use shifter_statemachine::local::{self, LocalAccount, Outcome, Run};

/// API calls made while one state ran, by state name.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Calls {
    get_alias: u64,
    update_alias: u64,
    describe_alarms: u64,
}

/// One run with every Lambda and CloudWatch call attributed to the state that made it.
struct Counted {
    run: Run,
    by_state: BTreeMap<String, Calls>,
    /// How often each state was entered.
    entered: BTreeMap<String, u64>,
}

fn totals(account: &LocalAccount) -> Calls {
    Calls {
        get_alias: account.lambda.calls(LambdaOp::GetAlias),
        update_alias: account.lambda.calls(LambdaOp::UpdateAlias),
        describe_alarms: account.alarms.reads().len() as u64,
    }
}

async fn counted(account: &LocalAccount, input: Value) -> Counted {
    let mut by_state: BTreeMap<String, Calls> = BTreeMap::new();
    let mut entered: BTreeMap<String, u64> = BTreeMap::new();
    let mut current = String::from("(before start)");
    let mut seen = totals(account);
    let observer_account = account.clone();
    let mut observer = |event: &HistoryEvent| {
        // Calls made since the previous event belong to the state that was running.
        let now = totals(&observer_account);
        let slot = by_state.entry(current.clone()).or_default();
        slot.get_alias += now.get_alias - seen.get_alias;
        slot.update_alias += now.update_alias - seen.update_alias;
        slot.describe_alarms += now.describe_alarms - seen.describe_alarms;
        seen = now;
        if let EventKind::StateEntered { name, .. } = &event.kind {
            current = name.clone();
            *entered.entry(name.clone()).or_default() += 1;
        }
    };
    let run = local::run(account, input, "costs", &mut observer)
        .await
        .expect("the runner accepts the shipped definition");
    // Anything after the last event (there should be nothing) still counts.
    let now = totals(account);
    let slot = by_state.entry(current).or_default();
    slot.get_alias += now.get_alias - seen.get_alias;
    slot.update_alias += now.update_alias - seen.update_alias;
    slot.describe_alarms += now.describe_alarms - seen.describe_alarms;
    by_state.retain(|_, c| *c != Calls::default());
    Counted {
        run,
        by_state,
        entered,
    }
}

fn demo(strategy: &str, interval: u32) -> (LocalAccount, Value) {
    let account = LocalAccount::demo();
    let mut input = LocalAccount::demo_input(strategy);
    input["checkIntervalSeconds"] = json!(interval);
    (account, input)
}

fn calls_in(c: &Counted, state: &str) -> Calls {
    c.by_state.get(state).copied().unwrap_or_default()
}

#[tokio::test]
async fn linear_every_minute_with_15s_checks_stays_within_150_transitions_and_0_004_usd() {
    for hooks in [true, false] {
        for post_bake in [0, 60] {
            let (account, mut input) = demo("Linear10PercentEvery1Minute", 15);
            input["postPromotionBakeSeconds"] = json!(post_bake);
            if !hooks {
                input.as_object_mut().unwrap().remove("hooks");
            }
            let request = DeploymentRequest::from_json(&input).unwrap();
            let plan = estimate(request.plan.steps(), 15, hooks, hooks, post_bake);
            let c = counted(&account, input).await;
            let s = &c.run.summary;
            let case = format!("hooks {hooks}, post-promotion bake {post_bake}s");
            assert_eq!(s.outcome, Outcome::Succeeded, "{case}: {s:?}");
            // What `shifter plan` prints is what the run cost.
            assert_eq!(s.state_transitions, plan.transitions, "{case}");
            assert!(
                (s.estimated_cost_usd - plan.cost_usd()).abs() < 1e-12,
                "{case}"
            );
            assert!(
                s.state_transitions <= 150,
                "{case}: {} transitions, budget 150",
                s.state_transitions
            );
            assert!(
                s.estimated_cost_usd <= 0.004,
                "{case}: ${} per deployment, budget $0.004",
                s.estimated_cost_usd
            );
        }
    }
    // The two budgets agree: 150 transitions at $0.000025 is $0.00375.
    const { assert!(150.0 * USD_PER_TRANSITION <= 0.004) };
}

#[tokio::test]
async fn each_step_costs_exactly_one_update_alias_and_get_alias_only_at_start() {
    for name in PREDEFINED {
        for interval in [15, 30] {
            let (account, input) = demo(name, interval);
            let steps = DeploymentRequest::from_json(&input)
                .unwrap()
                .plan
                .steps()
                .len() as u64;
            let c = counted(&account, input).await;
            let case = format!("{name} every {interval}s");
            assert_eq!(c.run.summary.outcome, Outcome::Succeeded, "{case}");
            assert_eq!(c.run.execution.retries, 0, "{case}: nothing was retried");

            // One control-plane write per step: Shift Traffic for partial steps, Promote for 100%.
            let total = totals(&account);
            assert_eq!(total.update_alias, steps, "{case}: UpdateAlias calls");
            let shifts = c.entered.get("Shift Traffic").copied().unwrap_or(0);
            assert_eq!(
                calls_in(&c, "Shift Traffic").update_alias,
                shifts,
                "{case}: one UpdateAlias per Shift Traffic"
            );
            assert_eq!(calls_in(&c, "Promote").update_alias, 1, "{case}");
            assert_eq!(shifts + 1, steps, "{case}");

            // The alias is read once, for the snapshot; the writes carry the RevisionId forward.
            assert_eq!(total.get_alias, 1, "{case}: GetAlias calls");
            assert_eq!(
                calls_in(&c, "Start Deployment").get_alias,
                1,
                "{case}: {:?}",
                c.by_state
            );
        }
    }
}

#[tokio::test]
async fn a_lost_write_costs_one_get_alias_and_no_second_write() {
    // The second UpdateAlias lands but its response is lost; Shift Traffic reads the alias once,
    // recognises its own write (decision 0011) and moves on, in the same invocation.
    let (account, input) = demo("Linear10PercentEvery1Minute", 30);
    account
        .lambda
        .inject(LambdaOp::UpdateAlias, 2, Fault::CrashAfterWrite);
    let c = counted(&account, input).await;
    assert_eq!(
        c.run.summary.outcome,
        Outcome::Succeeded,
        "{:?}",
        c.run.summary
    );
    let total = totals(&account);
    assert_eq!(total.get_alias, 2, "{:?}", c.by_state);
    assert_eq!(calls_in(&c, "Start Deployment").get_alias, 1);
    assert_eq!(
        calls_in(&c, "Shift Traffic").get_alias,
        1,
        "after the lost answer"
    );
    // Ten steps, no call repeated: ten UpdateAlias calls, ten writes landed.
    assert_eq!(total.update_alias, 10);
    assert_eq!(c.run.execution.retries, 0, "no Retry of the Task");
    let landed = account
        .lambda
        .history()
        .iter()
        .filter(|w| w.by == Writer::Deployment)
        .count();
    assert_eq!(landed, 10);
}

#[tokio::test]
async fn describe_alarms_calls_equal_alarm_checks() {
    for name in PREDEFINED {
        for (interval, post_bake) in [(15, 0), (30, 120), (60, 0)] {
            let (account, mut input) = demo(name, interval);
            input["postPromotionBakeSeconds"] = json!(post_bake);
            let request = DeploymentRequest::from_json(&input).unwrap();
            let plan = estimate(request.plan.steps(), interval, true, true, post_bake);
            let c = counted(&account, input).await;
            let case = format!("{name} every {interval}s, post-promotion bake {post_bake}s");
            assert_eq!(c.run.summary.outcome, Outcome::Succeeded, "{case}");
            let total = totals(&account);
            // Start Deployment's pre-flight read, the first park's when no Check Health read
            // came before it (the watcher closing the gap before the lock), one after each hook
            // (before traffic moves), then exactly one call per planned backstop read.
            let parked = plan.first_park_reads;
            assert_eq!(
                total.describe_alarms,
                1 + parked + plan.hook_reads + plan.alarm_checks,
                "{case}: {:?}",
                c.by_state
            );
            assert_eq!(
                calls_in(&c, "Start Deployment").describe_alarms,
                1,
                "{case}"
            );
            assert_eq!(
                calls_in(&c, "Check Health").describe_alarms,
                plan.hook_reads + plan.alarm_checks,
                "{case}"
            );
            // Only those two states and the first park ever read alarms, and each bake is
            // followed by one read.
            let elsewhere: u64 = c
                .by_state
                .iter()
                .filter(|(s, _)| !matches!(s.as_str(), "Start Deployment" | "Check Health"))
                .map(|(_, calls)| calls.describe_alarms)
                .sum();
            assert_eq!(elsewhere, parked, "{case}: {:?}", c.by_state);
            let waits = c.entered.get("Bake").copied().unwrap_or(0)
                + c.entered.get("Post-Promotion Bake").copied().unwrap_or(0);
            assert_eq!(
                waits, plan.alarm_checks,
                "{case}: one read per bake interval"
            );
            assert_eq!(
                c.run.summary.alarm_checks.len() as u64,
                total.describe_alarms,
                "{case}: the summary reports every call"
            );
        }
    }
}

#[tokio::test]
async fn no_alarms_means_no_describe_alarms_calls() {
    let (account, mut input) = demo("Canary10Percent5Minutes", 30);
    input["alarms"] = json!([]);
    let c = counted(&account, input).await;
    assert_eq!(c.run.summary.outcome, Outcome::Succeeded);
    assert_eq!(
        totals(&account).describe_alarms,
        0,
        "an empty list would describe every alarm in the account: {:?}",
        c.by_state
    );
}
