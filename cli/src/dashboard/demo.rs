//! `shifter dashboard --demo`: three deployments through the shipped definition and our real
//! handlers in one simulated account, live. The runner's virtual clock is paced — a pacer
//! shares it (shared mode) and lets `speed` simulated seconds pass per wall second — so the
//! page sees each deployment move as it would on AWS. Parks listen for answers sent to their
//! task token while they wait ([`LocalAccount::listen_every`]): the page's buttons answer the
//! gate through the CLI's own `answer` over this account's executions and task tokens.
//! Each deployment is played again once it has ended and rested ([`REST_SECONDS`]), so a page
//! opened at any time has one live.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::AliasRoute;
use shifter::fakes::{FakeExecutions, Traffic};
use shifter::ports::{AlarmState, Clock, Execution, Executions, HistoryEvent};
use shifter_statemachine::asl::{self, ExecutionStatus};
use shifter_statemachine::local::{self, HookBehaviour, LocalAccount};

use super::view::Source;
use crate::operate::parse_history;

/// What a demo run has produced so far: its input and the events the runner emitted.
#[derive(Default)]
struct Live {
    input: Value,
    events: Vec<asl::HistoryEvent>,
}

type Runs = Arc<Mutex<BTreeMap<String, Live>>>;

fn lock(runs: &Runs) -> MutexGuard<'_, BTreeMap<String, Live>> {
    runs.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The account's executions, whose histories are the runs' events so far, exported as Step
/// Functions' GetExecutionHistory would return them.
struct LiveExecutions {
    account: LocalAccount,
    runs: Runs,
}

impl LiveExecutions {
    fn fake(&self) -> &FakeExecutions {
        &self.account.executions
    }

    fn history(&self, arn: &str) -> Option<Vec<HistoryEvent>> {
        let name = arn.rsplit(':').next()?;
        let runs = lock(&self.runs);
        let live = runs.get(name)?;
        let so_far = asl::Execution {
            status: ExecutionStatus::Succeeded,
            output: None,
            error: None,
            cause: None,
            final_state: String::new(),
            transitions: 0,
            retries: 0,
            history_events: 0,
            largest_payload: asl::PayloadSize::default(),
            events: live.events.clone(),
        };
        let exported = local::execution_history(&self.account, &so_far, &live.input).ok()?;
        Some(parse_history(&exported))
    }
}

#[async_trait]
impl Executions for LiveExecutions {
    async fn stop_execution(
        &self,
        arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ShifterError> {
        self.fake().stop_execution(arn, error, cause).await
    }

    async fn start_execution(
        &self,
        sm: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, ShifterError> {
        self.fake().start_execution(sm, name, input).await
    }

    async fn describe_execution(&self, arn: &str) -> Result<Execution, ShifterError> {
        self.fake().describe_execution(arn).await
    }

    async fn execution_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, ShifterError> {
        match self.history(arn) {
            Some(history) => Ok(history),
            None => self.fake().execution_history(arn).await,
        }
    }

    async fn history_after(
        &self,
        arn: &str,
        after: i64,
    ) -> Result<Vec<HistoryEvent>, ShifterError> {
        let all = self.execution_history(arn).await?;
        Ok(all.into_iter().filter(|e| e.id > after).collect())
    }

    async fn list_executions(&self, sm: &str, max: usize) -> Result<Vec<Execution>, ShifterError> {
        self.fake().list_executions(sm, max).await
    }
}

/// A service of the demo: function `name` with versions 1 and 2, alias `live` on 1, alarm
/// `<name>-errors` (OK), passing hooks, and traffic for the canary analysis to read.
fn add_service(account: &LocalAccount, name: &str, new_error_rate: f64) {
    account
        .lambda
        .add_function(name, "arn:aws:iam::000000000000:role/demo");
    account.lambda.publish(name);
    account.lambda.publish(name);
    account
        .lambda
        .put_alias(name, "live", AliasRoute::single("1"));
    account
        .alarms
        .add(&format!("{name}-errors"), AlarmState::Ok);
    account.add_hook(&format!("{name}-pre-traffic"), HookBehaviour::Pass);
    account.add_hook(&format!("{name}-post-traffic"), HookBehaviour::Pass);
    let start = account.clock.start();
    for (version, calls, errors, p99) in [("1", 900, 0.2, 180.0), ("2", 100, new_error_rate, 175.0)]
    {
        let traffic = Traffic {
            calls_per_minute: calls,
            error_rate_percent: errors,
            p99_millis: p99,
        };
        account.metrics.set(name, "live", version, start, traffic);
    }
}

fn input(name: &str, strategy: Value) -> Value {
    json!({
        "functionName": name,
        "alias": "live",
        "targetVersion": "2",
        "strategy": strategy,
        "alarms": [format!("{name}-errors")],
        "checkIntervalSeconds": 30,
        "hooks": {"preTraffic": format!("{name}-pre-traffic"), "postTraffic": format!("{name}-post-traffic")},
        "analysis": {"intervalSeconds": 60, "minInvocations": 50, "maxErrorRatePercent": 1.0, "maxP99Ratio": 1.5},
    })
}

/// The demo's deployments: execution name and input. `checkout` succeeds; `payments`' alarm
/// fires 2½ minutes in and it rolls back; `orders` waits at an approval gate (4 hours, then
/// rolls back) until someone approves it.
pub fn deployments() -> Vec<(&'static str, Value)> {
    let mut gated = input(
        "orders",
        json!({"steps": [
            {"weight": 10, "bakeSeconds": 120},
            {"weight": 50, "bakeSeconds": 120, "approval": true}
        ]}),
    );
    gated["approvalTimeoutSeconds"] = json!(14_400);
    vec![
        (
            "checkout-v2",
            input("checkout", json!("Linear10PercentEvery1Minute")),
        ),
        (
            "payments-v2",
            input("payments", json!("Canary10Percent5Minutes")),
        ),
        ("orders-v2", gated),
    ]
}

/// When a service's alarm goes to ALARM, in simulated seconds into each of its runs.
fn alarm_after(service: &str) -> Option<i64> {
    (service == "payments").then_some(150)
}

/// Simulated seconds a deployment rests, ended, before it is played again.
pub const REST_SECONDS: i64 = 300;

/// The demo account, with the three services.
pub fn account() -> LocalAccount {
    let account = LocalAccount::new();
    for (name, errors) in [("checkout", 0.2), ("payments", 0.2), ("orders", 0.3)] {
        add_service(&account, name, errors);
        if let Some(seconds) = alarm_after(name) {
            account.alarm_at(&format!("{name}-errors"), seconds);
        }
    }
    // A parked gate looks for the page's answer every simulated second.
    account.listen_every(1.0);
    account
}

/// Starts the demo's runs (paced at `speed` simulated seconds per wall second) and returns the
/// source the dashboard reads.
pub async fn start(speed: f64) -> Source {
    let account = account();
    let runs: Runs = Arc::default();
    let clock = account.clock.clone();
    // Everyone enrols before anyone starts (see ManualClock::enroll).
    let pacer = clock.enroll();
    let guards: Vec<_> = deployments().iter().map(|_| clock.enroll()).collect();
    for ((name, input), guard) in deployments().into_iter().zip(guards) {
        let player = Player {
            account: account.clone(),
            runs: runs.clone(),
            name,
            input,
        };
        tokio::spawn(player.replay(guard));
    }
    tokio::spawn(pace(clock, pacer, speed));
    // Listed from the first request on: each run starts its execution before its first state.
    let planned = deployments().len();
    while account.executions.executions().len() < planned {
        tokio::task::yield_now().await;
    }
    let tasks = Arc::new(account.tasks.clone());
    Source {
        executions: Arc::new(LiveExecutions { account, runs }),
        tasks,
        state_machine: asl::STATE_MACHINE_ARN.to_owned(),
        simulated: true,
    }
}

/// Plays one demo deployment again and again, so a page opened at any time has one live.
struct Player {
    account: LocalAccount,
    runs: Runs,
    name: &'static str,
    input: Value,
}

impl Player {
    /// Run 1 is `name`; once a run has ended and rested [`REST_SECONDS`], the service is put
    /// back as it was and run n starts as `name-n`. `enrolled` keeps the shared clock waiting
    /// for this player while it is between runs.
    async fn replay(self, enrolled: shifter::fakes::clock::Enrolled) {
        for round in 1u32.. {
            let execution = if round == 1 {
                self.name.to_owned()
            } else {
                self.rewind();
                format!("{}-{round}", self.name)
            };
            let live = Live {
                input: self.input.clone(),
                events: Vec::new(),
            };
            lock(&self.runs).insert(execution.clone(), live);
            let runs = &self.runs;
            let mut observe = |e: &asl::HistoryEvent| {
                if let Some(live) = lock(runs).get_mut(&execution) {
                    live.events.push(e.clone());
                }
            };
            // A run that cannot start is shown as it failed (its history says why).
            let _ = local::run(&self.account, self.input.clone(), &execution, &mut observe).await;
            let rest = chrono::TimeDelta::seconds(REST_SECONDS);
            self.account.clock.sleep(rest).await;
        }
        drop(enrolled);
    }

    /// The service as it was before its first run: alias `live` on version 1, its alarm OK
    /// (and, for `payments`, going to ALARM as far into this run as into the first).
    fn rewind(&self) {
        let service = self.input["functionName"].as_str().unwrap_or_default();
        let account = &self.account;
        account
            .lambda
            .put_alias(service, "live", AliasRoute::single("1"));
        let alarm = format!("{service}-errors");
        let now = account.clock.now();
        account.alarms.set_from(&alarm, now, AlarmState::Ok);
        if let Some(seconds) = alarm_after(service) {
            let at = now + chrono::TimeDelta::seconds(seconds);
            account.alarms.set_from(&alarm, at, AlarmState::Alarm);
        }
    }
}

/// Lets `speed` simulated seconds pass per wall second, in ticks of 100 ms: while the pacer
/// sleeps on the wall clock it counts as running, so the shared clock cannot jump past it.
async fn pace(
    clock: shifter::fakes::ManualClock,
    _enrolled: shifter::fakes::clock::Enrolled,
    speed: f64,
) {
    let tick = Duration::from_millis(100);
    let step = chrono::TimeDelta::milliseconds((100.0 * speed.max(0.001)) as i64);
    loop {
        clock.sleep(step).await;
        tokio::time::sleep(tick).await;
    }
}
