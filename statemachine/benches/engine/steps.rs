//! Long deployments: 10, 100 and 1,000 steps through the shipped definition and the real
//! handlers, with the peak heap of each run, and the largest input `shifter simulate` accepts.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::{AliasRoute, Plan, Step, Weight};
use shifter_statemachine::asl::{ExecutionStatus, History, InvokeError, LambdaInvoker};
use shifter_statemachine::local::{self, LocalAccount, Outcome};

use crate::heap::peak_heap;
use crate::runtime;
use crate::stats::Stats;

/// `n` steps of 60 s below 100 % (evenly spaced weights), then the promotion.
pub(crate) fn long_plan(n: u32) -> Vec<Step> {
    let steps = (1..=n)
        .map(|i| Step {
            weight: Weight::from_bp(i * 9_900 / n).expect("below 100 %"),
            bake_seconds: 60,
        })
        .collect();
    Plan::new(steps).expect("a valid plan").steps().to_vec()
}

/// The real handlers over `account`'s fakes, with Start Deployment's plan replaced by `plan`
/// (an input with 1,000 steps is larger than validation accepts).
struct LongPlan {
    account: LocalAccount,
    plan: Vec<Step>,
}

impl LongPlan {
    async fn handle(&self, function: &str, payload: Value) -> Result<Value, ShifterError> {
        let a = &self.account;
        let out = match function {
            "start-deployment" => {
                let ports = start_deployment::Ports {
                    router: &a.lambda,
                    registry: &a.lambda,
                    alarms: &a.alarms,
                    clock: &a.clock,
                    deployments: &a.deployments,
                    executions: &a.executions,
                    concurrency: &a.lambda,
                };
                let mut d =
                    start_deployment::start_deployment(&ports, &a.config, decode(payload)?).await?;
                d.progress.plan.clone_from(&self.plan);
                d
            }
            "shift-traffic" => {
                shift_traffic::shift_traffic(&a.lambda, &a.deployments, &a.clock, decode(payload)?)
                    .await?
            }
            "check-health" => {
                check_health::check_health(
                    &a.alarms,
                    &a.metrics,
                    &a.lambda,
                    &a.clock,
                    decode(payload)?,
                )
                .await?
            }
            "watch" => {
                let ports = watch::Ports {
                    registry: &a.deployments,
                    alarms: &a.alarms,
                    tasks: &a.tasks,
                    router: &a.lambda,
                    events: &a.events,
                    records: &a.records,
                };
                let outcome = watch::handle(&ports, watch::WatchEvent::from_json(payload)?).await?;
                return serde_json::to_value(outcome)
                    .map_err(|e| ShifterError::invalid("(output)", e.to_string()));
            }
            _ => roll_back::roll_back(&a.lambda, decode(payload)?).await?,
        };
        serde_json::to_value(out).map_err(|e| ShifterError::invalid("(output)", e.to_string()))
    }
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, ShifterError> {
    serde_json::from_value(payload).map_err(|e| ShifterError::invalid("(payload)", e.to_string()))
}

#[async_trait]
impl LambdaInvoker for LongPlan {
    async fn invoke(
        &self,
        function_name: &str,
        payload: Value,
        _timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError> {
        let short = function_name.rsplit(':').next().unwrap_or(function_name);
        self.handle(short, payload)
            .await
            .map_err(|e| InvokeError::Function {
                error_type: e.kind().to_owned(),
                error_message: e.to_string(),
            })
    }
}

/// One deployment of `n` steps through the shipped definition, as `local::run` runs it
/// (events kept without documents); returns the wall time.
pub(crate) fn steps_run(rt: &tokio::runtime::Runtime, n: u32) -> Duration {
    let account = LocalAccount::demo();
    let input = json!({
        "functionName": "demo", "alias": "live", "targetVersion": "2",
        "strategy": {"steps": [{"weight": 50, "bakeSeconds": 60}]},
        "alarms": ["demo-errors"], "checkIntervalSeconds": 60
    });
    let machine = local::shipped_state_machine()
        .expect("the shipped definition parses")
        .with_history(History::WithoutData);
    let start = Instant::now();
    let invoker = LongPlan {
        plan: long_plan(n),
        account,
    };
    let execution = rt
        .block_on(machine.run(
            &invoker,
            &invoker.account.clock,
            input,
            "steps",
            &mut |_| {},
        ))
        .expect("runs");
    let took = start.elapsed();
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    let alias = invoker.account.lambda.alias("demo", "live").expect("alias");
    assert_eq!(alias.route, AliasRoute::single("2"));
    took
}

/// `steps_*`: deployments of 10, 100 and 1,000 steps; `simulate_steps_886`: the largest input
/// `shifter simulate` accepts.
pub(crate) fn bench_steps(quick: bool) -> Vec<Stats> {
    let rt = runtime();
    let runs = |n: u32| match (quick, n) {
        (true, _) => 2,
        (false, 1000) => 5,
        (false, _) => 20,
    };
    let mut all: Vec<Stats> = [
        (
            10,
            "steps_10",
            "one deployment of 10 steps (60 s bakes, a check per bake)",
        ),
        (
            100,
            "steps_100",
            "one deployment of 100 steps (60 s bakes, a check per bake)",
        ),
        (
            1000,
            "steps_1000",
            "one deployment of 1,000 steps (60 s bakes, a check per bake)",
        ),
    ]
    .into_iter()
    .map(|(n, name, what)| {
        let mut peak = 0;
        let samples = (0..runs(n))
            .map(|_| {
                let (took, bytes) = peak_heap(|| steps_run(&rt, n));
                peak = peak.max(bytes);
                took
            })
            .collect();
        Stats {
            name,
            what,
            samples,
            per_sample: 1,
            peak_bytes: Some(peak),
        }
    })
    .collect();
    let mut peak = 0;
    let samples = (0..runs(1000))
        .map(|_| {
            let ((took, outcome), bytes) = peak_heap(|| rt.block_on(simulate_886()));
            assert_eq!(outcome, Outcome::Succeeded);
            peak = peak.max(bytes);
            took
        })
        .collect();
    all.push(Stats {
        name: "simulate_steps_886",
        what: "local::run (what shifter simulate runs) on the largest accepted input: 886 steps, 60 s bakes and checks",
        samples,
        per_sample: 1,
        peak_bytes: Some(peak),
    });
    all
}

/// The largest custom strategy an input may hold (32 KiB), on the demo account.
pub(crate) async fn simulate_886() -> (Duration, Outcome) {
    let steps: Vec<Value> = (1..=886u32)
        .map(|i| json!({"weight": f64::from(i * 9_900 / 886) / 100.0, "bakeSeconds": 60}))
        .collect();
    let mut input = LocalAccount::demo_input("AllAtOnce");
    input["strategy"] = json!({ "steps": steps });
    input["checkIntervalSeconds"] = json!(60);
    let account = LocalAccount::demo();
    let start = Instant::now();
    let run = local::run(&account, input, "simulate", &mut |_| {})
        .await
        .expect("runs");
    (start.elapsed(), run.summary.outcome)
}
