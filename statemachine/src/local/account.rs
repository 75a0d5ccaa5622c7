//! The simulated account the local runner deploys into: functions, versions and aliases (the
//! in-memory fake, or a real adapter against an emulator), alarms, scripted hooks, Start
//! Deployment's environment, operator controls, all on one virtual clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shifter::domain::alias::function_short_name;
use shifter::domain::{AliasRoute, AliasState, ManagedSet};
use shifter::fakes::{
    FakeAlarms, FakeExecutions, FakeLambda, FakeMetrics, FakeRecords, FakeRegistry,
    FakeStatusEvents, FakeTasks, ManualClock, Writer,
};
use shifter::ports::{AlarmState, AliasRouter, Clock, ConcurrencyReader, FunctionRegistry};
use start_deployment::Config;

use super::controls::OperatorControls;
use super::crashes::LambdaFaults;
use super::events::AlarmEvents;
use super::lost::LostAnswers;
use super::recorder::RecordingRouter;

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
    /// Returns `{"status":"Succeeded"}` with a report of this many bytes.
    Large(usize),
    /// A callback hook: returns at once, then answers its task token with `{"status": status}`
    /// (SendTaskSuccess) this many seconds later — or never, with `None`.
    Callback {
        /// Seconds until the answer; `None` never answers.
        after_seconds: Option<u64>,
        /// The answer's `status`.
        status: String,
    },
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
    pub(super) router: Arc<RecordingRouter>,
    /// What Start Deployment looks functions and versions up in.
    pub(super) registry: Arc<dyn FunctionRegistry>,
    /// What Start Deployment and Check Health read provisioned concurrency through.
    pub(super) concurrency: Arc<dyn ConcurrencyReader>,
    /// True when aliases live behind a real adapter rather than in `lambda`.
    remote: bool,
    /// Alarms.
    pub alarms: FakeAlarms,
    /// Hook functions and their behaviour.
    hooks: Arc<Mutex<BTreeMap<String, HookBehaviour>>>,
    /// Start Deployment's environment.
    pub config: Config,
    /// Operators' answers to parked tasks, scheduled on the virtual clock.
    pub(super) controls: OperatorControls,
    /// Invocations that fail before the function answers (`Lambda.Unknown`, `Sandbox.Timedout`…).
    pub lambda_faults: LambdaFaults,
    /// The registry of active deployments (the DynamoDB table): locks, watched alarms, tokens.
    pub deployments: FakeRegistry,
    /// Task tokens of parked tasks, answered by the watch function.
    pub tasks: FakeTasks,
    /// The runner's executions, as Start Deployment looks up a lock holder's.
    pub executions: FakeExecutions,
    /// CloudWatch's alarm state-change events on their way to the watch function.
    pub alarm_events: AlarmEvents,
    /// Lambda's per-version metrics, for the canary analysis.
    pub metrics: FakeMetrics,
    /// Our functions whose alias writes land with their answer lost.
    pub lost_answers: LostAnswers,
    /// The stack's event bus: the lifecycle events the watch function put.
    pub events: FakeStatusEvents,
    /// The records table: the record each deployment leaves (`shifter history`).
    pub records: FakeRecords,
}

impl LocalAccount {
    /// An empty account at the runner's epoch, managing every function.
    pub fn new() -> Self {
        LocalAccount::on_clock(ManualClock::at_epoch())
    }

    /// An empty account on `clock` (shared with other accounts: the regions of a wave plan).
    pub fn on_clock(clock: ManualClock) -> Self {
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let lambda = FakeLambda::new(shared.clone());
        LocalAccount {
            router: Arc::new(RecordingRouter::new(
                Arc::new(lambda.clone()),
                clock.clone(),
            )),
            registry: Arc::new(lambda.clone()),
            concurrency: Arc::new(lambda.clone()),
            remote: false,
            lambda,
            alarms: FakeAlarms::new(shared.clone()),
            controls: OperatorControls::new(clock.clone()),
            clock,
            hooks: Arc::default(),
            lambda_faults: LambdaFaults::default(),
            deployments: FakeRegistry::new(shared.clone()),
            tasks: FakeTasks::new(),
            executions: {
                let executions = FakeExecutions::new(shared.clone());
                executions.add_state_machine(crate::asl::STATE_MACHINE_ARN);
                executions
            },
            alarm_events: AlarmEvents::default(),
            metrics: FakeMetrics::new(),
            lost_answers: LostAnswers::default(),
            events: FakeStatusEvents::new(shared.clone()),
            records: FakeRecords::new(shifter::domain::record::DEFAULT_RETENTION_DAYS),
            config: Config {
                managed: ManagedSet::everything(),
            },
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
        account.concurrency = Arc::new(NoProvisionedConcurrency);
        account.registry = lambda;
        account.remote = true;
        account
    }

    /// The default rehearsal: function `demo` with versions 1 and 2, alias `live` on 1, alarm
    /// `demo-errors` (OK), hooks `demo-pre-traffic` and `demo-post-traffic` that pass; through
    /// `live`, version 1 serves 1,000 calls a minute and version 2 (once routed to) 200, both
    /// at 0.2 % errors and a p99 around 100 ms (what a canary analysis reads).
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
        let start = account.clock.start();
        for (version, calls, p99) in [("1", 1000, 100.0), ("2", 200, 105.0)] {
            let traffic = shifter::fakes::Traffic {
                calls_per_minute: calls,
                error_rate_percent: 0.2,
                p99_millis: p99,
            };
            account.metrics.set("demo", "live", version, start, traffic);
        }
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

    /// An operator aborts `seconds` after the start with `reason` (`shifter abort`).
    pub fn abort_at(&self, seconds: f64, reason: &str) {
        self.controls.abort_at(seconds, reason);
    }

    /// An operator stops the execution `seconds` after the start, as the console's Stop button
    /// does (StopExecution): it ends `ABORTED` without its own Roll Back, and the watch function
    /// hears of it through EventBridge.
    pub fn stop_at(&self, seconds: f64) {
        self.controls.stop_at(seconds);
    }

    /// An operator promotes `seconds` after the start (`shifter promote`).
    pub fn promote_at(&self, seconds: f64) {
        self.controls.promote_at(seconds);
    }

    /// An operator approves every gate `seconds` after it starts waiting (`shifter approve`).
    pub fn approve_after(&self, seconds: f64) {
        self.controls.approve_after(seconds);
    }

    /// Parks hear answers sent to their task token at run time, looking every `seconds` of
    /// virtual time ([`OperatorControls::listen_every`]).
    pub fn listen_every(&self, seconds: f64) {
        self.controls.listen_every(seconds);
    }

    /// The alarm goes to ALARM `seconds` after the start of the run.
    pub fn alarm_at(&self, alarm: &str, seconds: i64) {
        let at = self.clock.start() + chrono::TimeDelta::seconds(seconds);
        self.alarms.set_from(alarm, at, AlarmState::Alarm);
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

    /// How the hook `name` (or ARN) behaves, if it exists.
    pub fn hook(&self, name: &str) -> Option<HookBehaviour> {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(function_short_name(name))
            .cloned()
    }

    /// The alias as it is now (read from the in-memory account without counting as a call).
    pub async fn alias_state(&self, function: &str, alias: &str) -> Option<AliasState> {
        if self.remote {
            self.router.get_alias(function, alias).await.ok()
        } else {
            self.lambda.alias(function, alias)
        }
    }

    /// The deployment's alias writes, in order: the in-memory account's own history (which
    /// also holds writes whose answer was lost), or what the recorder saw answer.
    pub(super) fn deployment_writes(
        &self,
        function: &str,
        alias: &str,
    ) -> Vec<(DateTime<Utc>, AliasRoute)> {
        if self.remote {
            return self.router.writes_to(function, alias);
        }
        let short = function_short_name(function);
        self.lambda
            .history()
            .into_iter()
            .filter(|w| w.by == Writer::Deployment && w.function == short && w.alias == alias)
            .map(|w| (w.at, w.route))
            .collect()
    }
}

/// The emulator's aliases have no provisioned concurrency: moto 5.2.5 serves neither
/// PutProvisionedConcurrencyConfig nor GetProvisionedConcurrencyConfig (no route; it answers
/// 404 without an error code), so none can be configured there and every read finds none.
struct NoProvisionedConcurrency;

#[async_trait::async_trait]
impl ConcurrencyReader for NoProvisionedConcurrency {
    async fn provisioned_concurrency(
        &self,
        _function: &str,
        _alias: &str,
    ) -> Result<Option<shifter::domain::provisioned::ConcurrencyConfig>, shifter::ShifterError>
    {
        Ok(None)
    }
}

impl Default for LocalAccount {
    fn default() -> Self {
        LocalAccount::new()
    }
}
