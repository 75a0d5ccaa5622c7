//! Every way an execution can end without its own Roll Back (issue 21, item 1): an operator
//! stops it (StopExecution, the console's Stop button) at every moment of several scenarios —
//! mid-bake, during a release train's lockstep rounds, while provisioned concurrency
//! reallocates, during Roll Back's own retries. Whenever it stops, every alias ends on its start
//! version or (once promoted) its target, the watch function does it within the modelled event
//! latency, and no lock is left behind.

use serde_json::Value;
use shifter::domain::AliasRoute;
use shifter::fakes::{Fault, LambdaOp};
use shifter::ports::DeploymentRegistry;
use shifter_statemachine::asl::ExecutionStatus;
use shifter_statemachine::local::{self, ALARM_EVENT_LATENCY, AccountSpec, LocalAccount};

type Arrange = fn() -> (LocalAccount, Value);

fn sample(text: &str) -> (LocalAccount, Value) {
    let spec = AccountSpec::from_json(text).expect("the sample account file reads");
    let input = spec.input.clone().expect("the sample has an input");
    (spec.build().expect("the sample builds"), input)
}

fn scenarios() -> Vec<(&'static str, Arrange)> {
    vec![
        ("canary", || {
            (
                LocalAccount::demo(),
                LocalAccount::demo_input("Canary10Percent5Minutes"),
            )
        }),
        ("linear with a post-promotion bake", || {
            let mut input = LocalAccount::demo_input("Linear10PercentEvery1Minute");
            input["postPromotionBakeSeconds"] = 120.into();
            (LocalAccount::demo(), input)
        }),
        ("release train", || {
            sample(include_str!("../../../events/accounts/release-train.json"))
        }),
        ("a train's second round half-written, then retried", || {
            let (account, input) =
                sample(include_str!("../../../events/accounts/release-train.json"));
            // Round two writes calls 4, 5 and 6: the second alias's write fails with a 5xx
            // after the first landed, and the Task's Retry waits its backoff.
            account
                .lambda
                .inject(LambdaOp::UpdateAlias, 5, Fault::ServerError);
            (account, input)
        }),
        ("provisioned concurrency reallocating", || {
            sample(include_str!(
                "../../../events/accounts/orders-provisioned.json"
            ))
        }),
        (
            "an alarm, and a Roll Back that fails five times first",
            || {
                let account = LocalAccount::demo();
                account.alarm_at("demo-errors", 90);
                account.lambda.fail_writes_of(AliasRoute::single("1"), 5);
                (account, LocalAccount::demo_input("Canary10Percent5Minutes"))
            },
        ),
    ]
}

#[tokio::test]
async fn every_stop_leaves_each_alias_on_its_start_or_its_target() {
    let mut stops = 0;
    for (name, arrange) in scenarios() {
        let (account, input) = arrange();
        let clean = local::run(&account, input, "clean", &mut |_| {})
            .await
            .expect("runs");
        let end = clean.summary.simulated_seconds.ceil() as u64;
        let members = local::first_deployment(&clean)
            .expect("started")
            .members
            .iter()
            .cloned()
            .collect::<Vec<_>>();
        // Every 7 s from the start to the end, and every second of Roll Back's retries and of the
        // train's second round (at 120 s).
        let mut times: Vec<u64> = (0..=end).step_by(7).collect();
        times.extend(90..=130);
        for at in times {
            let (account, input) = arrange();
            account.stop_at(at as f64);
            let run = local::run(&account, input, "stopped", &mut |_| {})
                .await
                .expect("runs");
            for m in &members {
                let route = account.alias_state(&m.function_name, &m.alias).await;
                let route = route.expect("the alias").route;
                let start = AliasRoute::single(&m.original_version);
                let target = AliasRoute::single(&m.target_version);
                assert!(
                    route == start || route == target,
                    "{name}, stopped at {at} s: {} routes {route}",
                    m.label()
                );
                let lock = account.deployments.holder(&m.function_name, &m.alias).await;
                assert_eq!(lock.expect("registry"), None, "{name}, {at} s: lock left");
            }
            // A failing restore is retried with EventBridge's backoff: it settles later.
            if run.execution.status == ExecutionStatus::Aborted && !name.contains("fails") {
                let latency = ALARM_EVENT_LATENCY.num_seconds() as f64;
                assert!(
                    run.summary.simulated_seconds <= at as f64 + latency,
                    "{name}, {at} s: settled at {}",
                    run.summary.simulated_seconds
                );
            }
            stops += usize::from(run.execution.status == ExecutionStatus::Aborted);
        }
    }
    println!("{stops} stops landed mid-run");
    assert!(stops >= 100, "only {stops} stops landed mid-run");
}
