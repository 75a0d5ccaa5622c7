//! The simulated account the local runner deploys into: our four handlers in-process over the
//! in-memory fakes, users' hooks as scripted functions, and a virtual clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::{AliasRoute, AliasState, Deployment};
use shifter::fakes::{FakeAlarms, FakeLambda, ManualClock, Writer};
use shifter::ports::{AlarmState, AliasRouter, Clock, FunctionRegistry};
use start_deployment::{Config, Ports, StartEvent};

use crate::asl::{
    Execution, ExecutionStatus, HistoryEvent, InvokeError, LambdaInvoker, Park, Parked, RunError,
    StateMachine,
};

/// ARN prefix of functions in the simulated account.
pub const LOCAL_ARN_PREFIX: &str = "arn:aws:lambda:local-1:000000000000:function:";

/// Our functions, by the `DefinitionSubstitutions` key that names them in the definition.
pub const OUR_FUNCTIONS: [(&str, &str); 4] = [
    ("StartDeploymentFunctionArn", "start-deployment"),
    ("ShiftTrafficFunctionArn", "shift-traffic"),
    ("CheckHealthFunctionArn", "check-health"),
    ("RollBackFunctionArn", "roll-back"),
];

/// How a simulated hook function behaves when invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookBehaviour {
    /// Returns `{"status":"Succeeded"}`.
    Pass,
    /// Returns `{"status": <status>}`.
    Status(String),
    /// Raises a function error.
    Error(String),
    /// Runs past the task's timeout.
    Timeout,
    /// Refused by the Lambda service (`Lambda.TooManyRequestsException`) this many more
    /// times, then passes.
    Flaky(u32),
    /// Runs this many virtual seconds, then passes (or times out past the task's timeout).
    Slow(u64),
}

/// Everything a simulated deployment touches.
#[derive(Clone)]
pub struct LocalAccount {
    /// Virtual time, shared with the fakes.
    pub clock: ManualClock,
    /// Functions, versions, aliases (the in-memory account).
    pub lambda: FakeLambda,
    /// What the handlers read and write aliases through: the fake, or a real adapter
    /// against an emulator; every write is recorded for the timeline.
    router: Arc<RecordingRouter>,
    /// What Start Deployment looks functions and versions up in.
    registry: Arc<dyn FunctionRegistry>,
    /// True when aliases live behind a real adapter rather than in `lambda`.
    remote: bool,
    /// Alarms.
    pub alarms: FakeAlarms,
    /// Hook functions and their behaviour.
    hooks: Arc<Mutex<BTreeMap<String, HookBehaviour>>>,
    /// Start Deployment's environment.
    pub config: Config,
    /// Operators' answers to parked tasks, scheduled on the virtual clock.
    controls: Arc<Mutex<Controls>>,
}

/// Operators' scheduled answers: what `shifter abort|promote|approve` would do, and when.
#[derive(Debug, Clone, Default)]
struct Controls {
    /// SendTaskFailure(error "Aborted", cause) to whatever is parked at that time (once).
    abort: Option<(DateTime<Utc>, String)>,
    /// `{"action":"promote"}` to whatever is parked at that time (once).
    promote: Option<DateTime<Utc>>,
    /// `{"action":"approve"}` this long after each approval gate starts waiting.
    approve_after: Option<chrono::TimeDelta>,
}

/// The DetailType of an approval gate's event.
pub const APPROVAL_DETAIL_TYPE: &str = "Traffic Shifter Approval";

impl LocalAccount {
    /// An empty account at the runner's epoch, managing every function.
    pub fn new() -> Self {
        let clock = ManualClock::at_epoch();
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let lambda = FakeLambda::new(shared.clone());
        LocalAccount {
            router: Arc::new(RecordingRouter::new(
                Arc::new(lambda.clone()),
                clock.clone(),
            )),
            registry: Arc::new(lambda.clone()),
            remote: false,
            lambda,
            alarms: FakeAlarms::new(shared),
            clock,
            hooks: Arc::default(),
            config: Config {
                managed: shifter::domain::ManagedSet::everything(),
            },
            controls: Arc::default(),
        }
    }

    /// An operator aborts `seconds` after the start with `reason` (`shifter abort`).
    pub fn abort_at(&self, seconds: f64, reason: &str) {
        let at = self.clock.start() + chrono::TimeDelta::milliseconds((seconds * 1000.0) as i64);
        self.lock_controls().abort = Some((at, reason.to_owned()));
    }

    /// An operator promotes `seconds` after the start (`shifter promote`).
    pub fn promote_at(&self, seconds: f64) {
        let at = self.clock.start() + chrono::TimeDelta::milliseconds((seconds * 1000.0) as i64);
        self.lock_controls().promote = Some(at);
    }

    /// An operator approves every gate `seconds` after it starts waiting (`shifter approve`).
    pub fn approve_after(&self, seconds: f64) {
        self.lock_controls().approve_after =
            Some(chrono::TimeDelta::milliseconds((seconds * 1000.0) as i64));
    }

    fn lock_controls(&self) -> std::sync::MutexGuard<'_, Controls> {
        self.controls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first scheduled answer for a task parked now for `timeout_seconds`: an answer
    /// scheduled earlier that nobody received yet arrives at once; one-shot answers are used up.
    fn answer_park(&self, park: &Park) -> Parked {
        let now = self.clock.now();
        let timeout = chrono::TimeDelta::seconds(
            i64::try_from(park.timeout_seconds).unwrap_or(i64::MAX / 1000),
        );
        let deadline = now + timeout;
        let mut controls = self.lock_controls();
        let mut best: Option<(DateTime<Utc>, u8)> = None;
        let mut consider = |at: DateTime<Utc>, which: u8| {
            let at = at.max(now);
            if at < deadline && best.is_none_or(|(b, _)| at < b) {
                best = Some((at, which));
            }
        };
        if let Some((at, _)) = &controls.abort {
            consider(*at, 0);
        }
        if let Some(at) = controls.promote {
            consider(at, 1);
        }
        if park.detail_type == APPROVAL_DETAIL_TYPE
            && let Some(after) = controls.approve_after
        {
            consider(now + after, 2);
        }
        let Some((at, which)) = best else {
            return Parked {
                after_millis: timeout.num_milliseconds(),
                answer: Err(InvokeError::Timeout),
            };
        };
        let answer = match which {
            0 => {
                let reason = controls.abort.take().map(|(_, r)| r).unwrap_or_default();
                Err(InvokeError::Callback {
                    error: "Aborted".to_owned(),
                    cause: reason,
                })
            }
            1 => {
                controls.promote = None;
                Ok(json!({"action": "promote"}))
            }
            _ => Ok(json!({"action": "approve"})),
        };
        Parked {
            after_millis: (at - now).num_milliseconds(),
            answer,
        }
    }

    /// An account whose functions, versions and aliases live behind `lambda` (e.g. the real
    /// adapter against an AWS API emulator); alarms and hooks stay simulated.
    pub fn with_lambda<L>(lambda: Arc<L>) -> Self
    where
        L: AliasRouter + FunctionRegistry + 'static,
    {
        let mut account = LocalAccount::new();
        account.router = Arc::new(RecordingRouter::new(lambda.clone(), account.clock.clone()));
        account.registry = lambda;
        account.remote = true;
        account
    }

    /// The deployment's alias writes, in order: the in-memory account's own history (which
    /// also holds writes whose answer was lost), or what the recorder saw answer.
    fn deployment_writes(&self, function: &str, alias: &str) -> Vec<(DateTime<Utc>, AliasRoute)> {
        if self.remote {
            return self.router.writes_to(function, alias);
        }
        let short = shifter::domain::request::function_short_name(function);
        self.lambda
            .history()
            .into_iter()
            .filter(|w| w.by == Writer::Deployment && w.function == short && w.alias == alias)
            .map(|w| (w.at, w.route))
            .collect()
    }

    /// The alias as it is now (read from the in-memory account without counting as a call).
    pub async fn alias_state(&self, function: &str, alias: &str) -> Option<AliasState> {
        if self.remote {
            self.router.get_alias(function, alias).await.ok()
        } else {
            self.lambda.alias(function, alias)
        }
    }

    /// The default rehearsal: function `demo` with versions 1 and 2, alias `live` on 1, alarm
    /// `demo-errors` (OK), hooks `demo-pre-traffic` and `demo-post-traffic` that pass.
    pub fn demo() -> Self {
        let account = LocalAccount::new();
        let role = "arn:aws:iam::000000000000:role/demo";
        account.lambda.add_function("demo", role);
        account.lambda.publish("demo");
        account.lambda.publish("demo");
        account
            .lambda
            .put_alias("demo", "live", AliasRoute::single("1"));
        account.alarms.add("demo-errors", AlarmState::Ok);
        account.add_hook("demo-pre-traffic", HookBehaviour::Pass);
        account.add_hook("demo-post-traffic", HookBehaviour::Pass);
        account
    }

    /// The execution input that deploys version 2 of `demo` with `strategy`.
    pub fn demo_input(strategy: &str) -> Value {
        json!({
            "functionName": "demo",
            "alias": "live",
            "targetVersion": "2",
            "strategy": strategy,
            "alarms": ["demo-errors"],
            "checkIntervalSeconds": 30,
            "hooks": {"preTraffic": "demo-pre-traffic", "postTraffic": "demo-post-traffic"}
        })
    }

    /// Creates a hook function that behaves as told.
    pub fn add_hook(&self, name: &str, behaviour: HookBehaviour) {
        self.lambda
            .add_function(name, "arn:aws:iam::000000000000:role/hooks");
        self.set_hook(name, behaviour);
    }

    /// Changes how an existing hook behaves.
    pub fn set_hook(&self, name: &str, behaviour: HookBehaviour) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), behaviour);
    }

    /// The alarm goes to ALARM `seconds` after the start of the run.
    pub fn alarm_at(&self, alarm: &str, seconds: i64) {
        let at = self.clock.start() + chrono::TimeDelta::seconds(seconds);
        self.alarms.set_from(alarm, at, AlarmState::Alarm);
    }

    fn hook(&self, name: &str) -> Option<HookBehaviour> {
        let short = shifter::domain::request::function_short_name(name);
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(short)
            .cloned()
    }
}

impl Default for LocalAccount {
    fn default() -> Self {
        LocalAccount::new()
    }
}

/// One alias write the recorder saw succeed.
struct RecordedWrite {
    at: DateTime<Utc>,
    function: String,
    alias: String,
    route: AliasRoute,
}

/// Passes alias calls through and records every write that answered, with its virtual time
/// (for the timeline when the aliases live behind a real adapter).
struct RecordingRouter {
    inner: Arc<dyn AliasRouter>,
    clock: ManualClock,
    writes: Mutex<Vec<RecordedWrite>>,
}

impl RecordingRouter {
    fn new(inner: Arc<dyn AliasRouter>, clock: ManualClock) -> Self {
        RecordingRouter {
            inner,
            clock,
            writes: Mutex::default(),
        }
    }

    /// Writes to `function`/`alias`, in order.
    fn writes_to(&self, function: &str, alias: &str) -> Vec<(DateTime<Utc>, AliasRoute)> {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|w| w.function == function && w.alias == alias)
            .map(|w| (w.at, w.route.clone()))
            .collect()
    }
}

#[async_trait]
impl AliasRouter for RecordingRouter {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError> {
        self.inner.get_alias(function, alias).await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError> {
        let written = self
            .inner
            .update_alias(function, alias, route, expected_revision)
            .await?;
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(RecordedWrite {
                at: self.clock.now(),
                function: function.to_owned(),
                alias: alias.to_owned(),
                route: route.clone(),
            });
        Ok(written)
    }
}

/// Dispatches `lambda:invoke` tasks to our handlers in-process, or to simulated hooks.
struct LocalInvoker<'a> {
    account: &'a LocalAccount,
}

impl LocalInvoker<'_> {
    async fn ours(&self, name: &str, payload: Value) -> Result<Value, ShifterError> {
        let a = self.account;
        let out = match name {
            "start-deployment" => {
                let event: StartEvent = decode(payload)?;
                let ports = Ports {
                    router: a.router.as_ref(),
                    registry: a.registry.as_ref(),
                    alarms: &a.alarms,
                    clock: &a.clock,
                };
                start_deployment::start_deployment(&ports, &a.config, event).await?
            }
            "shift-traffic" => {
                shift_traffic::shift_traffic(a.router.as_ref(), &a.clock, decode(payload)?).await?
            }
            "check-health" => {
                check_health::check_health(&a.alarms, &a.clock, decode(payload)?).await?
            }
            "roll-back" => roll_back::roll_back(a.router.as_ref(), decode(payload)?).await?,
            other => return Err(ShifterError::not_found(format!("function {other}"))),
        };
        serde_json::to_value(out).map_err(|e| ShifterError::invalid("(output)", e.to_string()))
    }
}

fn decode<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, ShifterError> {
    serde_json::from_value(payload).map_err(|e| ShifterError::invalid("(payload)", e.to_string()))
}

#[async_trait]
impl LambdaInvoker for LocalInvoker<'_> {
    async fn park(&self, park: &Park) -> Parked {
        self.account.answer_park(park)
    }

    async fn invoke(
        &self,
        function_name: &str,
        payload: Value,
        timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError> {
        let short = shifter::domain::request::function_short_name(function_name);
        if OUR_FUNCTIONS.iter().any(|(_, n)| *n == short) {
            return self
                .ours(short, payload)
                .await
                .map_err(|e| InvokeError::Function {
                    error_type: e.kind().to_owned(),
                    error_message: e.to_string(),
                });
        }
        match self.account.hook(short) {
            Some(HookBehaviour::Pass) => Ok(json!({"status": "Succeeded"})),
            Some(HookBehaviour::Status(s)) => Ok(json!({ "status": s })),
            Some(HookBehaviour::Error(message)) => Err(InvokeError::Function {
                error_type: "Error".to_owned(),
                error_message: message,
            }),
            Some(HookBehaviour::Timeout) => Err(InvokeError::Timeout),
            Some(HookBehaviour::Flaky(left)) => {
                if left == 0 {
                    return Ok(json!({"status": "Succeeded"}));
                }
                self.account.set_hook(short, HookBehaviour::Flaky(left - 1));
                Err(InvokeError::Service {
                    error: "Lambda.TooManyRequestsException".to_owned(),
                    cause: "Rate exceeded".to_owned(),
                })
            }
            Some(HookBehaviour::Slow(seconds)) => {
                let limit = timeout_seconds.unwrap_or(u64::MAX);
                let ran = seconds.min(limit);
                let by = chrono::TimeDelta::seconds(i64::try_from(ran).unwrap_or(i64::MAX));
                self.account.clock.sleep(by).await;
                if seconds > limit {
                    Err(InvokeError::Timeout)
                } else {
                    Ok(json!({"status": "Succeeded"}))
                }
            }
            None => Err(InvokeError::Service {
                error: "Lambda.ResourceNotFoundException".to_owned(),
                cause: format!("Function not found: {function_name}"),
            }),
        }
    }
}

/// The shipped definition, with our functions' local ARNs substituted.
pub fn shipped_state_machine() -> Result<StateMachine, crate::asl::DefinitionError> {
    let substitutions: BTreeMap<String, String> = OUR_FUNCTIONS
        .iter()
        .map(|(key, name)| ((*key).to_owned(), format!("{LOCAL_ARN_PREFIX}{name}")))
        .collect();
    StateMachine::parse(crate::DEFINITION, &substitutions)
}

/// How a deployment ended, in the words of `shifter simulate --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// All traffic on the target.
    Succeeded,
    /// The alias was already on the target; nothing was touched.
    AlreadyCurrent,
    /// Restored to the original version.
    RolledBack,
    /// Refused before anything changed.
    Rejected,
    /// Stopped without restoring: someone else changed the alias, or the rollback failed.
    Stopped,
}

/// One change of the traffic on the target version.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimelinePoint {
    /// Simulated seconds since the start.
    pub seconds: f64,
    /// Percent of traffic on the target version.
    pub weight: f64,
}

/// An alarm check made during the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmCheck {
    /// Simulated seconds since the start.
    pub seconds: f64,
    /// Names in ALARM at that moment.
    pub in_alarm: Vec<String>,
}

/// The alias at the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalAlias {
    /// `FunctionVersion`.
    pub version: String,
    /// `RoutingConfig.AdditionalVersionWeights` as Lambda would report it.
    pub additional_version_weights: BTreeMap<String, f64>,
}

/// The summary of one simulated deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// How it ended.
    pub outcome: Outcome,
    /// The execution's error name, when it failed.
    pub error: Option<String>,
    /// The execution's cause, when it failed.
    pub cause: Option<String>,
    /// The alias at the end.
    pub alias: Option<FinalAlias>,
    /// States entered, plus retries.
    pub state_transitions: u64,
    /// Simulated seconds from start to end.
    pub simulated_seconds: f64,
    /// Traffic on the target over time, one entry per change.
    pub timeline: Vec<TimelinePoint>,
    /// Every alarm check.
    pub alarm_checks: Vec<AlarmCheck>,
    /// The state the execution ended in.
    pub final_state: String,
    /// Estimated Step Functions cost in USD.
    pub estimated_cost_usd: f64,
}

/// A finished simulated run: the execution as the runner saw it, and its summary.
pub struct Run {
    /// The execution.
    pub execution: Execution,
    /// The summary.
    pub summary: Summary,
}

/// Runs the shipped definition against `account` with `input`.
pub async fn run(
    account: &LocalAccount,
    input: Value,
    execution_name: &str,
    observer: &mut (dyn FnMut(&HistoryEvent) + Send),
) -> Result<Run, RunError> {
    let machine = shipped_state_machine().map_err(RunError::from)?;
    let invoker = LocalInvoker { account };
    let (function, alias) = (
        input
            .get("functionName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        input
            .get("alias")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    );
    let execution = machine
        .run(&invoker, &account.clock, input, execution_name, observer)
        .await?;
    let summary = summarize(account, &execution, &function, &alias).await;
    Ok(Run { execution, summary })
}

async fn summarize(
    account: &LocalAccount,
    execution: &Execution,
    function: &str,
    alias: &str,
) -> Summary {
    let start = account.clock.start();
    let secs = |t: DateTime<Utc>| (t - start).num_milliseconds() as f64 / 1000.0;
    let deployment = execution
        .output
        .as_ref()
        .and_then(|o| serde_json::from_value::<Deployment>(o.clone()).ok());
    let target = deployment
        .as_ref()
        .map(|d| d.target_version.clone())
        .or_else(|| first_deployment(execution).map(|d| d.target_version));

    let mut timeline = vec![TimelinePoint {
        seconds: 0.0,
        weight: 0.0,
    }];
    if let Some(target) = &target {
        for (at, route) in account.deployment_writes(function, alias) {
            if at < start {
                continue;
            }
            let weight = route.weight_on(target).as_percent();
            if timeline.last().is_some_and(|p| p.weight == weight) {
                continue;
            }
            timeline.push(TimelinePoint {
                seconds: secs(at),
                weight,
            });
        }
    }
    let alarm_checks = account
        .alarms
        .reads()
        .into_iter()
        .filter(|r| r.at >= start)
        .map(|r| AlarmCheck {
            seconds: secs(r.at),
            in_alarm: r
                .states
                .iter()
                .filter(|(_, s)| *s == AlarmState::Alarm)
                .map(|(n, _)| n.clone())
                .collect(),
        })
        .collect();
    let outcome = match (execution.status, execution.final_state.as_str()) {
        (ExecutionStatus::Succeeded, "Already Current") => Outcome::AlreadyCurrent,
        (ExecutionStatus::Succeeded, _) => Outcome::Succeeded,
        (_, "Deployment Rejected") => Outcome::Rejected,
        (_, "Deployment Rolled Back") => Outcome::RolledBack,
        _ => Outcome::Stopped,
    };
    let final_alias = account
        .alias_state(function, alias)
        .await
        .map(|a| FinalAlias {
            additional_version_weights: a
                .route
                .additional
                .iter()
                .map(|x| (x.version.clone(), x.weight.as_fraction()))
                .collect(),
            version: a.route.version,
        });
    Summary {
        outcome,
        error: execution.error.clone(),
        cause: execution.cause.clone(),
        alias: final_alias,
        state_transitions: execution.transitions,
        simulated_seconds: account.clock.elapsed_secs(),
        timeline,
        alarm_checks,
        final_state: execution.final_state.clone(),
        estimated_cost_usd: execution.transitions as f64
            * shifter::domain::cost::USD_PER_TRANSITION,
    }
}

/// The deployment document as Start Deployment first produced it, if it got that far.
pub fn first_deployment(execution: &Execution) -> Option<Deployment> {
    execution.events.iter().find_map(|e| match &e.kind {
        crate::asl::EventKind::StateExited { name, output } if name == "Start Deployment" => {
            serde_json::from_value(output.clone()).ok()
        }
        _ => None,
    })
}

/// A finished run as Step Functions `GetExecutionHistory` JSON (what `aws stepfunctions
/// get-execution-history` prints), for fixtures of the CLI's `watch` and `timeline`.
pub fn execution_history(
    account: &LocalAccount,
    execution: &Execution,
    input: &Value,
) -> Result<Value, crate::asl::DefinitionError> {
    let machine = shipped_state_machine()?;
    Ok(crate::asl::export_history(
        &machine,
        execution,
        account.clock.start(),
        input,
    ))
}
