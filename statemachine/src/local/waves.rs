//! Wave plans rehearsed offline: the shipped waves definition (`statemachine/waves.asl.json`)
//! with the real waves function in-process, over one simulated account per (region, account)
//! target, all on one virtual clock. Each target's child is the shipped deployment definition
//! run by [`super::run`] with the real handlers, concurrently with the others.
//!
//! What AWS does between regions is modelled where the plan depends on it:
//! - a child's end reaches the home region's waves function as its **Step Functions Execution
//!   Status Change** event, forwarded by the target region's rule to the home bus
//!   (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html>), one
//!   second ([`FORWARD_LATENCY`]) after it ends;
//! - every alarm of a target going into ALARM reaches it the same way, whoever watches it;
//! - StopExecution ends a child `ABORTED` at once
//!   (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>);
//!   its engine stops at its next look (parks look every second) and its own watch function
//!   restores its aliases on the status change, as on AWS (invariant 13).

mod report;
mod spec;
mod targets;

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use shifter::domain::managed::Home;
use shifter::fakes::{FakeTasks, FakeWaveWatches, ManualClock, TaskAnswer};
use shifter::ports::Clock;
use tokio::task::JoinHandle;

use super::LocalAccount;
use crate::asl::{
    DefinitionError, Execution, History, HistoryEvent, InvokeError, LambdaInvoker, Park, Parked,
    RunError, StateMachine,
};
pub use report::{RegionReport, WaveReport, WavesSummary};
pub use spec::WavesSpec;
use targets::LocalTargets;

/// From an event in a target region to the home region's waves function (the rule's forward
/// and the invocation). AWS documents no bound; one second is the modelled figure, as for the
/// alarm events of one region.
pub const FORWARD_LATENCY: TimeDelta = TimeDelta::seconds(1);
/// How often the plan's park looks for its answer (virtual time).
const LOOK_EVERY: TimeDelta = TimeDelta::seconds(1);
/// The waves function's local ARN.
pub const WAVES_FUNCTION_ARN: &str = "arn:aws:lambda:local:000000000000:function:waves";

/// One target account of the rehearsal.
#[derive(Clone)]
pub struct Region {
    /// Region name.
    pub region: String,
    /// Account id.
    pub account: String,
    /// Its simulated account.
    pub local: LocalAccount,
    /// Its alarms' names (for `--region-alarm-at`).
    pub alarms: Vec<String>,
}

/// Every simulated account of a plan, its home side (the watches and the plan's tokens) and
/// the children started so far.
#[derive(Clone)]
pub struct WavesWorld {
    /// The one clock.
    pub clock: ManualClock,
    /// The target accounts.
    pub regions: Vec<Region>,
    /// The home region's watches table.
    pub watches: FakeWaveWatches,
    /// The plan's task tokens.
    pub tasks: FakeTasks,
    /// An operator aborts the plan (`shifter abort` on it) at this time, with this reason.
    abort: Arc<Mutex<Option<Scheduled>>>,
    /// The children started, by name: where, their ARN and (once ended) their outcome.
    children: Arc<Mutex<Vec<Child>>>,
    /// The children's tasks on the runtime.
    running: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// An operator's abort: when, and why.
type Scheduled = (DateTime<Utc>, String);

/// One child execution.
#[derive(Debug, Clone)]
pub struct Child {
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// Execution name.
    pub name: String,
    /// Execution ARN.
    pub arn: String,
    /// When it ended and how (the engine's status), once it has.
    pub ended: Option<(DateTime<Utc>, String)>,
    /// Its state transitions, once ended.
    pub transitions: u64,
    /// Traffic on its target over time (seconds since the plan's start), once ended.
    pub timeline: Vec<shifter::report::TimelinePoint>,
}

impl WavesWorld {
    /// The world of `spec`, every account on one clock.
    pub fn build(spec: &WavesSpec) -> Result<WavesWorld, super::AccountError> {
        let clock = ManualClock::at_epoch();
        let mut regions = Vec::new();
        for (region, account, account_spec) in &spec.regions {
            let mut local = account_spec.build_on(clock.clone())?;
            // Each region's account is where AWS puts it: its Lambda answers only for its own
            // functions, and its stack's pre-flight knows its Region.
            let home = Home::in_region(region, account);
            local.lambda.locate(home.clone());
            local.config.managed = local.config.managed.clone().at(Some(home));
            // Parks hear a StopExecution within a second, as the engine hears it on AWS.
            local.listen_every(1.0);
            let alarms = account_spec.alarms.iter().map(|a| a.name.clone()).collect();
            regions.push(Region {
                region: region.clone(),
                account: account.clone(),
                local,
                alarms,
            });
        }
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        Ok(WavesWorld {
            watches: FakeWaveWatches::new(shared),
            tasks: FakeTasks::new(),
            clock,
            regions,
            abort: Arc::default(),
            children: Arc::default(),
            running: Arc::default(),
        })
    }

    /// The target account `region`/`account`.
    pub fn region(&self, region: &str, account: &str) -> Option<&Region> {
        self.regions
            .iter()
            .find(|r| r.region == region && r.account == account)
    }

    /// Every alarm of every account in `region` goes into ALARM `seconds` after the start
    /// (`--region-alarm-at REGION=DURATION`); false when no target is in that region.
    pub fn region_alarm_at(&self, region: &str, seconds: i64) -> bool {
        let mut found = false;
        for r in self.regions.iter().filter(|r| r.region == region) {
            found = true;
            for alarm in &r.alarms {
                r.local.alarm_at(alarm, seconds);
            }
        }
        found
    }

    /// An operator aborts the plan `seconds` after the start.
    pub fn abort_at(&self, seconds: i64, reason: &str) {
        let at = self.clock.start() + TimeDelta::seconds(seconds);
        *self.abort.lock().unwrap_or_else(PoisonError::into_inner) = Some((at, reason.to_owned()));
    }

    /// The children started so far.
    pub fn children(&self) -> Vec<Child> {
        self.children
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn take_abort_due(&self, now: DateTime<Utc>) -> Option<String> {
        let mut abort = self.abort.lock().unwrap_or_else(PoisonError::into_inner);
        match abort.as_ref() {
            Some((at, _)) if *at <= now => abort.take().map(|(_, reason)| reason),
            _ => None,
        }
    }
}

/// The shipped waves definition, with the local waves function's ARN.
pub fn waves_state_machine() -> Result<StateMachine, DefinitionError> {
    let substitutions = [("WavesFunctionArn".to_owned(), WAVES_FUNCTION_ARN.to_owned())].into();
    StateMachine::parse(crate::WAVES_DEFINITION, &substitutions)
}

/// A finished plan: its execution as the runner saw it, and its summary.
pub struct WavesRun {
    /// The plan's execution.
    pub execution: Execution,
    /// The summary.
    pub summary: WavesSummary,
}

/// Runs the shipped waves definition over `world` with the plan `input`.
pub async fn run_waves(
    world: &WavesWorld,
    input: Value,
    name: &str,
    observer: &mut (dyn FnMut(&HistoryEvent) + Send),
) -> Result<WavesRun, RunError> {
    let machine = waves_state_machine()?.with_history(History::WithoutData);
    let targets = LocalTargets::new(world.clone());
    let guard = world.clock.enroll();
    let forwarders = targets.forward_alarms();
    let invoker = WavesInvoker {
        world,
        targets: &targets,
    };
    let mut last = None;
    let slot = &mut last;
    let mut watch = |event: &HistoryEvent| {
        if let Some(document) = report::run_document(event) {
            *slot = Some(document);
        }
        observer(event);
    };
    let execution = machine
        .run(&invoker, &world.clock, input, name, &mut watch)
        .await;
    let ended = world.clock.now();
    // Forwarders sleep until their next alarm, perhaps long after the plan: cancelled (and
    // gone) before this execution leaves the clock, so time never jumps to them.
    for forwarder in forwarders {
        forwarder.abort();
        let _ = forwarder.await;
    }
    drop(guard);
    // A stopped child ends a moment after the plan (its engine's last look, its watch
    // function's restore): the summary reads every alias after every child ended.
    let children: Vec<JoinHandle<()>> =
        std::mem::take(&mut world.running.lock().unwrap_or_else(PoisonError::into_inner));
    for child in children {
        let _ = child.await;
    }
    let execution = execution?;
    let mut summary = report::summarize(world, &execution, last.as_ref()).await;
    summary.simulated_seconds = (ended - world.clock.start()).num_milliseconds() as f64 / 1000.0;
    Ok(WavesRun { execution, summary })
}

/// The waves function in-process, and the plan's park answered by the events it hears.
struct WavesInvoker<'a> {
    world: &'a WavesWorld,
    targets: &'a LocalTargets,
}

impl WavesInvoker<'_> {
    fn ports(&self) -> waves::Ports<'_> {
        waves::Ports {
            targets: self.targets,
            watches: &self.world.watches,
            tasks: &self.world.tasks,
            clock: &self.world.clock,
        }
    }
}

#[async_trait::async_trait]
impl LambdaInvoker for WavesInvoker<'_> {
    async fn invoke(
        &self,
        _function_name: &str,
        payload: Value,
        _timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError> {
        if let Some(token) = payload.get("taskToken").and_then(Value::as_str) {
            self.world.tasks.open(token);
        }
        let failed = |error_type: &str, message: String| InvokeError::Function {
            error_type: error_type.to_owned(),
            error_message: message,
        };
        let request: waves::Request = serde_json::from_value(payload)
            .map_err(|e| failed("InvalidInput", format!("the waves function's payload: {e}")))?;
        waves::handle(&self.ports(), request)
            .await
            .map_err(|e| failed(e.kind(), e.to_string()))
    }

    async fn park(&self, park: &Park) -> Parked {
        let clock = &self.world.clock;
        let start = clock.now();
        let deadline = start + TimeDelta::milliseconds(park.timeout_millis());
        loop {
            let now = clock.now();
            if let Some(reason) = self.world.take_abort_due(now) {
                let ports = self.ports();
                let plan = plan_id_of(park);
                if !matches!(waves::abort_plan(&ports, &plan, &reason).await, Ok(true)) {
                    self.world
                        .abort_at((now - clock.start()).num_seconds() + 1, &reason);
                }
            }
            if let Some(answer) = self.world.tasks.answer(&park.token) {
                let answer = match answer {
                    TaskAnswer::Success(output) => Ok(output),
                    TaskAnswer::Failure { error, cause } => {
                        Err(InvokeError::Callback { error, cause })
                    }
                    TaskAnswer::Closed => Err(InvokeError::Timeout),
                };
                return Parked {
                    after_millis: (now - start).num_milliseconds(),
                    answer,
                };
            }
            if now >= deadline {
                self.world.tasks.close(&park.token);
                return Parked::timed_out(park);
            }
            clock.sleep(LOOK_EVERY.min(deadline - now)).await;
        }
    }
}

/// The plan's id from a park's payload (`run.planId`).
fn plan_id_of(park: &Park) -> String {
    park.payload["run"]["planId"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A finished plan as Step Functions `GetExecutionHistory` JSON, what `shifter watch` reads.
pub fn waves_execution_history(
    world: &WavesWorld,
    execution: &Execution,
    input: &Value,
) -> Result<Value, DefinitionError> {
    Ok(crate::asl::export_history(
        &waves_state_machine()?,
        execution,
        world.clock.start(),
        input,
    ))
}
