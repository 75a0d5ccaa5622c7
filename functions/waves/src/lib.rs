//! Waves: the one function behind the waves state machine (`statemachine/waves.asl.json`) and
//! the events that answer its parks.
//!
//! The state machine invokes it with an `action`:
//! - `start`: accepts the plan (every error names its field) and decides the first step;
//! - `launch`: starts the next wave's children, one execution of the per-region deployment
//!   state machine per target, through the role the plan assumes in the target's account;
//! - `watch` (from `lambda:invoke.waitForTaskToken`): records the park's token with what answers
//!   it: the running children's end, any alarm of a launched wave;
//! - `judge`: reads the running children (DescribeExecution, the backstop for a lost event) and
//!   the next wave's alarms for its entry gate, and decides;
//! - `abort`: stops every running child, then returns every finished target to its start
//!   version, conditional on the RevisionId its child left.
//!
//! EventBridge hands it, on the home region's bus, the events each target region forwards
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html>): a child's
//! **Step Functions Execution Status Change** answers the plan's park with success (Judge Waves
//! reads what ended), and a **CloudWatch Alarm State Change** into ALARM of a watched alarm
//! fails it with `AlarmTriggered`. The parent's history grows by one park per child ending and
//! per hold, never with time: this is the "start a job, wait for its task token" pattern
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token>),
//! chosen over `states:startExecution.sync:2` because one park must wait for several children in
//! several regions and, at the same time, for the alarms of waves that already finished.

mod act;
pub mod event;

use serde::Deserialize;
use serde_json::Value;
use shifter::ShifterError;
use shifter::domain::waves::{WavePlan, WavesRun};
use shifter::ports::{Clock, TargetAccounts, TaskCallbacks, WaveWatches};

pub use act::{child_name, launch, restore_target};
pub use event::{abort_plan, on_event};

/// What the waves function reads and writes through.
pub struct Ports<'a> {
    /// The target accounts (through the assumed role).
    pub targets: &'a dyn TargetAccounts,
    /// The home region's watches.
    pub watches: &'a dyn WaveWatches,
    /// Answers to the plan's task tokens.
    pub tasks: &'a dyn TaskCallbacks,
    /// Time.
    pub clock: &'a dyn Clock,
}

/// What the state machine sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Request {
    /// Start Waves.
    #[serde(rename_all = "camelCase")]
    Start {
        /// The execution input: the plan.
        plan: Value,
        /// `$$.Execution.Name`.
        plan_id: String,
        /// `$$.Execution.Id`.
        plan_arn: String,
    },
    /// Launch Wave.
    Launch {
        /// The run.
        run: WavesRun,
    },
    /// Watch Waves (a park).
    #[serde(rename_all = "camelCase")]
    Watch {
        /// `$$.Task.Token`.
        task_token: String,
        /// The run.
        run: WavesRun,
    },
    /// Judge Waves.
    Judge {
        /// The run.
        run: WavesRun,
    },
    /// Abort Plan.
    Abort {
        /// The run.
        run: WavesRun,
    },
}

/// Handles one invocation by the state machine: the run as it goes on (for `watch`, `{}`).
pub async fn handle(ports: &Ports<'_>, request: Request) -> Result<Value, ShifterError> {
    let run = match request {
        Request::Start {
            plan,
            plan_id,
            plan_arn,
        } => start(ports, plan, &plan_id, &plan_arn).await?,
        Request::Launch { run } => launch(ports, run).await?,
        Request::Watch { task_token, run } => {
            act::watch(ports, &task_token, &run).await?;
            return Ok(Value::Object(serde_json::Map::new()));
        }
        Request::Judge { run } => act::judge(ports, run).await?,
        Request::Abort { run } => act::abort(ports, run).await?,
    };
    serde_json::to_value(&run).map_err(|e| ShifterError::invalid("run", e.to_string()))
}

/// The plan of a run, read again (it was accepted at the start; a change in between is refused).
pub fn plan_of(run: &WavesRun) -> Result<WavePlan, ShifterError> {
    WavePlan::parse(&run.plan).map_err(ShifterError::from)
}

async fn start(
    ports: &Ports<'_>,
    input: Value,
    plan_id: &str,
    plan_arn: &str,
) -> Result<WavesRun, ShifterError> {
    let plan = WavePlan::parse(&input).map_err(ShifterError::from)?;
    shifter::domain::waves::run::check_plan_budget(&plan)?;
    let now = ports.clock.now();
    let mut run = WavesRun::new(plan_id, input, &plan, now);
    run.plan_arn = plan_arn.to_owned();
    let firing = act::gate_firing(ports, &run, &plan, now).await?;
    run.judge(&plan, now, &firing);
    tracing::info!(
        plan = plan_id,
        waves = plan.waves.len(),
        decision = run.decision.as_str(),
        "plan accepted"
    );
    Ok(run)
}
