//! Scale under quotas: 1,000 concurrent simulated deployments (each its own function and
//! alias in one account) against fakes that enforce the Lambda control plane's 15 requests/s
//! (one bucket for every call, stricter than Lambda's per-API quota) and DescribeAlarms'
//! 9 TPS, in virtual time. Retries absorb the throttling; every alias ends consistent.
//!
//! The strategy is Canary10Percent5Minutes at the default backstop (one alarm read per
//! 5 minutes while parked; alarm events do the watching): polling every 30 s, 1,000
//! deployments would need 33 DescribeAlarms/s, far above the quota, whatever the retries.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;
use shifter::domain::AliasRoute;
use shifter::fakes::clock::Chaos;
use shifter::ports::AlarmState;
use shifter_statemachine::asl::EventKind;
use shifter_statemachine::local::{self, LocalAccount};

use crate::support::{self, Ending, Target};

const DEPLOYMENTS: usize = 1_000;

/// Per deployment: how it ended, its retries, and whether its alias history was consistent.
type Outcome = (Ending, u64, Result<(), String>);

/// Starts `DEPLOYMENTS` deployments in bursts of `burst` every `every_ms`, all enrolled on one
/// clock from the start; returns their outcomes, simulated seconds, and the quota refusals.
fn run_fleet(burst: usize, every_ms: i64) -> (Vec<Outcome>, f64, u64, u64) {
    let account = LocalAccount::new();
    for i in 0..DEPLOYMENTS {
        let name = format!("fn-{i:04}");
        account
            .lambda
            .add_function(&name, "arn:aws:iam::000000000000:role/fleet");
        account.lambda.publish(&name);
        account.lambda.publish(&name);
        account
            .lambda
            .put_alias(&name, "live", AliasRoute::single("1"));
        account
            .alarms
            .add(&format!("{name}-errors"), AlarmState::Ok);
    }
    let quota = |per_second, seed| Chaos {
        seed,
        per_second: Some(per_second),
        ..Chaos::default()
    };
    account.lambda.set_chaos(quota(15, 1), &account.clock);
    account.alarms.set_chaos(quota(9, 2), &account.clock);
    let setup = account.lambda.history().len();

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let outcomes = rt.block_on(async {
        let guards: Vec<_> = (0..DEPLOYMENTS).map(|_| account.clock.enroll()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, guard) in guards.into_iter().enumerate() {
            let account = account.clone();
            tasks.spawn(async move {
                let name = format!("fn-{i:04}");
                let offset = every_ms * i64::try_from(i / burst).unwrap_or(0);
                account
                    .clock
                    .sleep(chrono::TimeDelta::milliseconds(offset))
                    .await;
                let input = json!({
                    "functionName": name, "alias": "live", "targetVersion": "2",
                    "strategy": "Canary10Percent5Minutes",
                    "alarms": [format!("{name}-errors")]
                });
                let run = local::run(&account, input, &format!("fleet-{i}"), &mut |_| {})
                    .await
                    .expect("runner accepts the definition");
                drop(guard);
                (i, run)
            });
        }
        let mut outcomes = BTreeMap::new();
        while let Some(done) = tasks.join_next().await {
            let (i, run) = done.expect("a deployment task");
            let name = format!("fn-{i:04}");
            let t = Target {
                function: &name,
                alias: "live",
                original: "1",
                target: "2",
            };
            let writes = support::writes_since(&account.lambda.history(), setup, &t);
            let now = account.lambda.alias(&name, "live").map(|a| a.route);
            let checked = support::check_history(&writes, &t)
                .and_then(|()| support::classify(&run, now.as_ref(), &writes, &t));
            let (ending, consistent) = match checked {
                Ok(ending) => (ending, Ok(())),
                Err(e) => (Ending::Rejected, Err(e)),
            };
            outcomes.insert(i, (ending, run.execution.retries, consistent));
        }
        outcomes.into_values().collect::<Vec<_>>()
    });
    (
        outcomes,
        account.clock.elapsed_secs(),
        account.lambda.chaos_stats().over_quota,
        account.alarms.chaos_stats().over_quota,
    )
}

fn report(
    label: &str,
    wall: f64,
    fleet: &(Vec<Outcome>, f64, u64, u64),
) -> BTreeMap<Ending, usize> {
    let (outcomes, simulated, lambda_refused, alarms_refused) = fleet;
    let mut endings = BTreeMap::new();
    for (ending, _, _) in outcomes {
        *endings.entry(*ending).or_insert(0) += 1;
    }
    let retries: u64 = outcomes.iter().map(|(_, r, _)| r).sum();
    let most = outcomes.iter().map(|(_, r, _)| *r).max().unwrap_or(0);
    eprintln!(
        "{label}: {DEPLOYMENTS} deployments, {simulated:.0} s simulated in {wall:.1} s wall; \
         endings {endings:?}; Step Functions retries {retries} (at most {most} in one execution); \
         refused by quota: Lambda {lambda_refused}, DescribeAlarms {alarms_refused}"
    );
    for (i, (_, _, consistent)) in outcomes.iter().enumerate() {
        if let Err(e) = consistent {
            panic!("fn-{i:04}: {e}");
        }
    }
    endings
}

/// Arrivals in bursts of 15 every 10 s (pipeline fan-outs; about 450 deployments in flight
/// at once during the 5-minute bakes): each burst overruns the control-plane quota (45 calls
/// against 15/s) and retries absorb it — every deployment succeeds. The sustained demand
/// (7.5 requests/s) is half the quota; near the quota, retries run out (see below).
#[test]
fn a_thousand_concurrent_deployments_under_quotas_all_succeed() {
    let wall = Instant::now();
    let fleet = run_fleet(15, 10_000);
    let endings = report("spread starts", wall.elapsed().as_secs_f64(), &fleet);
    assert_eq!(
        endings.get(&Ending::Succeeded),
        Some(&DEPLOYMENTS),
        "{endings:?}"
    );
    assert!(fleet.2 > 0, "the quota was never reached");
}

/// All 1,000 started in the same instant (about 5,000 pre-flight reads against 15 requests/s,
/// over five minutes of the quota): Start Deployment, which only reads, retries up to 24 times
/// (≤ 60 s apart, full jitter) and the tasks that write or read the alias or the alarms 16
/// times, so every deployment gets through — none rejected, none rolled back for throttling
/// (with 16 and 10 attempts, 970 of 1,000 did). Every alias history is checked consistent.
#[test]
fn a_thousand_simultaneous_starts_under_quotas_all_complete() {
    let wall = Instant::now();
    let fleet = run_fleet(DEPLOYMENTS, 0);
    let endings = report("simultaneous starts", wall.elapsed().as_secs_f64(), &fleet);
    assert_eq!(
        endings.get(&Ending::Succeeded),
        Some(&DEPLOYMENTS),
        "{endings:?}"
    );
}

/// Long deployments stay linear in memory: `local::run` (what `shifter simulate` runs) keeps
/// every event of a 300-step deployment, but none of the documents, which the observer saw
/// whole. (Time and peak heap for 10 to 1,000 steps: `steps_*` in benches/engine/steps.rs.)
#[test]
fn a_long_deployment_keeps_its_events_without_their_documents() {
    let steps: Vec<_> = (1..=300u32)
        .map(|i| json!({"weight": f64::from(i * 9_900 / 300) / 100.0, "bakeSeconds": 60}))
        .collect();
    let mut input = LocalAccount::demo_input("AllAtOnce");
    input["strategy"] = json!({ "steps": steps });
    input["checkIntervalSeconds"] = json!(60);
    let account = LocalAccount::demo();
    let mut documents = 0usize;
    let run = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(local::run(&account, input, "long", &mut |e| {
            if let EventKind::StateEntered { input, .. } = &e.kind {
                documents += usize::from(input.get("plan").is_some());
            }
        }))
        .unwrap();
    assert_eq!(run.summary.outcome, local::Outcome::Succeeded);
    assert_eq!(
        local::first_deployment(&run).map(|d| d.progress.plan.len()),
        Some(301)
    );
    assert!(documents > 600, "the observer saw {documents} documents");
    let kept = &run.execution.events;
    assert!(kept.len() > 2_000, "{} events", kept.len());
    for event in kept {
        let fields = serde_json::to_value(&event.kind).unwrap();
        for key in ["input", "output", "parameters"] {
            assert!(
                fields.get(key).is_none_or(serde_json::Value::is_null),
                "{event:?}"
            );
        }
    }
}
