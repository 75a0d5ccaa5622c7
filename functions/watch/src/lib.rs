//! Watch: the one function behind every parked task and every alarm event.
//!
//! 1. A **park request** comes from the state machine's `lambda:invoke.waitForTaskToken` Tasks
//!    (Bake, Await Approval, Post-Promotion Bake): the token is recorded on the deployment's
//!    registry entry. An alarm noted while nothing was parked fails the task at once
//!    (SendTaskFailure `AlarmTriggered`). The deployment's first park also reads the watched
//!    alarms once: an alarm that fired between Start Deployment's read and its lock (when no
//!    watch item could route the event yet) is caught there; after that every event finds the
//!    lock, and one that arrives between two parks is noted for the next. Otherwise the task
//!    waits until its timeout (the end of the bake or the backstop read), an alarm event, or an
//!    operator. See <https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token>.
//! 2. A **CloudWatch Alarm State Change** event (EventBridge rule on `aws.cloudwatch`, into
//!    ALARM) fails the parked task of every deployment watching that alarm, or notes the alarm
//!    for the next park when none is parked. See
//!    <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html>.
//!
//! 3. A **Step Functions Execution Status Change** event (EventBridge rule on `aws.states`, the
//!    stack's state machine, any end: SUCCEEDED, FAILED, TIMED_OUT, ABORTED) releases the
//!    deployment's lock and watch entries, however the execution ended — also when stopped by
//!    hand. See <https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html>.
//!
//! A failure of the registry or of the alarm read during a park is logged and swallowed: the
//! park still ends at its timeout, where Check Health reads the alarms (the backstop).

use aws_lambda_events::cloudwatch_alarms::CloudWatchAlarmData;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shifter::ShifterError;
use shifter::aliases::{Undone, undo_stranded};
use shifter::domain::{Deployment, ErrorKind, Failure};
use shifter::ports::{
    AlarmReader, AliasRouter, DeploymentRecords, DeploymentRegistry, ParkedTask, RolledBackVersion,
    StatusEvents, TaskCallbacks, TokenAnswer, alarm_report,
};
use shifter::states::ParkKind;
use tracing::{info, warn};

mod alarm;
pub mod record;
pub mod tell;

pub use alarm::alarm_changed;

/// The `source` of CloudWatch's events.
pub const CLOUDWATCH_SOURCE: &str = "aws.cloudwatch";
/// The `detail-type` of an alarm's state change.
pub const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";
/// The `source` of Step Functions' events.
pub const STATES_SOURCE: &str = "aws.states";
/// The `detail-type` of an execution's status change.
pub const EXECUTION_STATUS_CHANGE: &str = "Step Functions Execution Status Change";
/// The statuses an execution ends in.
pub const ENDED: [&str; 4] = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];
/// How often a stale or superseded token is chased before giving up on one deployment.
const CHASES: usize = 3;

/// What the watch function reads and writes through.
pub struct Ports<'a> {
    /// The registry of active deployments.
    pub registry: &'a dyn DeploymentRegistry,
    /// Alarm states.
    pub alarms: &'a dyn AlarmReader,
    /// Answers to task tokens.
    pub tasks: &'a dyn TaskCallbacks,
    /// The aliases, for undoing what an execution that ended without Roll Back left on them.
    pub router: &'a dyn AliasRouter,
    /// The stack's event bus, for the lifecycle events.
    pub events: &'a dyn StatusEvents,
    /// The record each deployment leaves.
    pub records: &'a dyn DeploymentRecords,
}

/// A park request from a `lambda:invoke.waitForTaskToken` Task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkRequest {
    /// `$$.Task.Token`.
    pub task_token: String,
    /// Which wait it is; an unknown kind is refused naming `park` and the known kinds.
    pub park: ParkKind,
    /// The deployment document as the park state received it.
    pub deployment: Deployment,
}

/// A CloudWatch alarm state change as EventBridge delivers it.
pub type AlarmChange = EventBridgeEvent<CloudWatchAlarmData<Value, Value>>;

/// The part of a Step Functions execution status change the watcher reads
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html>).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    /// The execution's ARN.
    pub execution_arn: String,
    /// The execution's name: the deployment id.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// The execution input as text (`null` when too large to include).
    #[serde(default)]
    pub input: Option<String>,
    /// The error it failed with, once failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The cause it failed with, once failed.
    #[serde(default)]
    pub cause: Option<String>,
    /// The output as text, once succeeded (`null` when too large).
    #[serde(default)]
    pub output: Option<String>,
    /// When it started, in milliseconds since the epoch.
    #[serde(default)]
    pub start_date: Option<i64>,
    /// When it ended, in milliseconds since the epoch.
    #[serde(default)]
    pub stop_date: Option<i64>,
}

/// The errors of a deployment that rolled its target back: that version is remembered, and
/// `targetVersion: "latest"` skips it until someone deploys it explicitly.
pub const ROLLED_BACK_ERRORS: [ErrorKind; 7] = [
    ErrorKind::AlarmTriggered,
    ErrorKind::HookFailed,
    ErrorKind::Aborted,
    ErrorKind::ApprovalTimedOut,
    ErrorKind::RollbackFailed,
    ErrorKind::AnalysisFailed,
    ErrorKind::ProvisionedConcurrencyFailed,
];

/// How long a rolled-back version is remembered (180 days), unless deployed explicitly sooner.
pub const ROLLED_BACK_MEMORY_SECONDS: i64 = 180 * 86_400;

/// An execution's status change as EventBridge delivers it.
pub type ExecutionChange = EventBridgeEvent<ExecutionStatusChange>;

/// The three events the function handles.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// From the state machine.
    Park(Box<ParkRequest>),
    /// From the alarm rule.
    AlarmChange(Box<AlarmChange>),
    /// From the execution rule.
    ExecutionChange(Box<ExecutionChange>),
}

impl WatchEvent {
    /// Tells the two shapes apart (an EventBridge event has `detail-type`) and decodes one,
    /// naming the field that does not fit.
    pub fn from_json(event: Value) -> Result<WatchEvent, ShifterError> {
        fn decode<T: serde::de::DeserializeOwned>(event: Value) -> Result<T, ShifterError> {
            serde_path_to_error::deserialize(event).map_err(|e| {
                let field = e.path().to_string();
                ShifterError::invalid(field, e.into_inner().to_string())
            })
        }
        if event.get("source").and_then(Value::as_str) == Some(STATES_SOURCE) {
            return Ok(WatchEvent::ExecutionChange(Box::new(decode(event)?)));
        }
        if event.get("detail-type").is_some() {
            return Ok(WatchEvent::AlarmChange(Box::new(decode(event)?)));
        }
        Ok(WatchEvent::Park(Box::new(decode(event)?)))
    }
}

/// What one invocation did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Tasks failed with `AlarmTriggered` (or `NotFound` for a deleted alarm).
    pub failed: usize,
    /// Alarms noted for a deployment's next park.
    pub noted: usize,
    /// Tokens that were no longer waiting.
    pub stale: usize,
    /// Deployments whose registry entries were released.
    pub released: usize,
    /// Target versions remembered as rolled back.
    pub remembered: usize,
    /// Aliases an execution left on its own write, restored to their start version.
    pub restored: usize,
    /// Aliases an execution left that someone else had changed: left as is.
    pub left: usize,
    /// What was done with each alias an execution left behind, for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undone: Vec<String>,
    /// True when the event was not one to act on (another source, not into ALARM).
    pub ignored: bool,
    /// CloudWatch embedded metric format lines to print (main prints them to stdout).
    #[serde(skip)]
    pub metrics: Vec<String>,
}

/// Handles either event.
pub async fn handle(ports: &Ports<'_>, event: WatchEvent) -> Result<Outcome, ShifterError> {
    match event {
        WatchEvent::Park(request) => park(ports, *request).await,
        WatchEvent::AlarmChange(change) => alarm_changed(ports, *change).await,
        WatchEvent::ExecutionChange(change) => execution_changed(ports, *change).await,
    }
}

/// Releases the lock and watch entries of a deployment whose execution ended (a no-op when it
/// no longer holds them), and remembers its target version when it failed rolling back
/// ([`ROLLED_BACK_ERRORS`]). An execution whose input the event leaves out is left to the next
/// start's takeover and to TTL.
pub async fn execution_changed(
    ports: &Ports<'_>,
    change: ExecutionChange,
) -> Result<Outcome, ShifterError> {
    let detail = &change.detail;
    let ignored = Outcome {
        ignored: true,
        ..Outcome::default()
    };
    if change.detail_type == EXECUTION_STATUS_CHANGE && detail.status == "RUNNING" {
        let metrics = tell::at_started(ports, &change).await?;
        record::at_started(ports, &change).await?;
        return Ok(Outcome {
            metrics,
            ..Outcome::default()
        });
    }
    if change.detail_type != EXECUTION_STATUS_CHANGE || !ENDED.contains(&detail.status.as_str()) {
        return Ok(ignored);
    }
    let input: Option<Value> = detail
        .input
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    let aliases = input.as_ref().map(input_aliases).unwrap_or_default();
    if aliases.is_empty() {
        info!(execution = %detail.execution_arn, "ended without a readable input; left to takeover and TTL");
        return Ok(ignored);
    }
    let mut rolled_back = detail.status == "FAILED"
        && detail
            .error
            .as_deref()
            .and_then(ErrorKind::from_name)
            .is_some_and(|kind| ROLLED_BACK_ERRORS.contains(&kind));
    let mut outcome = Outcome::default();
    // Undone first, for every alias, then remembered and released: a failure is retried by
    // EventBridge and finds the locks (and the writes they note) still there.
    // Stopped On Drift (`AliasDrift`) leaves the aliases to whoever changed them, by design.
    if detail.status != "SUCCEEDED" && detail.error.as_deref() != Some(ErrorKind::AliasDrift.name())
    {
        for (function, alias) in &aliases {
            rolled_back |= undo(ports, detail, function, alias, &mut outcome).await?;
        }
    }
    let lead = (aliases[0].0.as_str(), aliases[0].1.as_str());
    outcome.metrics = tell::at_ended(ports, &change, lead, &outcome.undone).await?;
    for (function, alias) in aliases {
        if rolled_back {
            remember(ports, &change, &function, &alias, &mut outcome).await?;
        }
        // Only what this deployment held is released: a duplicate event, or an execution that
        // never took the lock (refused, already current), releases nothing and says so.
        let held = ports
            .registry
            .release(&function, &alias, &detail.name)
            .await?;
        if held.is_some() {
            info!(execution = %detail.execution_arn, status = %detail.status, %function, %alias, "registry entries released");
            outcome.released += 1;
        } else {
            info!(execution = %detail.execution_arn, status = %detail.status, %function, %alias, "nothing held in the registry; nothing released");
        }
    }
    Ok(outcome)
}

/// Remembers the target version of the deployment that ended on `change` as rolled back on one
/// alias, when that deployment still holds its lock (before the release: a failed write is
/// retried by EventBridge and finds the lock, and the version it names, still there).
async fn remember(
    ports: &Ports<'_>,
    change: &ExecutionChange,
    function: &str,
    alias: &str,
    outcome: &mut Outcome,
) -> Result<(), ShifterError> {
    let detail = &change.detail;
    let Some(holder) = ports.registry.holder(function, alias).await? else {
        return Ok(());
    };
    if holder.deployment_id != detail.name {
        return Ok(());
    }
    let at = change.time.unwrap_or_default().timestamp();
    let record = RolledBackVersion {
        function: function.to_owned(),
        alias: alias.to_owned(),
        version: holder.target_version,
        execution_arn: detail.execution_arn.clone(),
        error: detail
            .error
            .clone()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| detail.status.clone()),
        at,
        expires_at: at + ROLLED_BACK_MEMORY_SECONDS,
    };
    ports.registry.mark_rolled_back(&record).await?;
    info!(version = %record.version, error = %record.error, "rolled-back version remembered");
    outcome.remembered += 1;
    Ok(())
}

/// Undoes what execution `detail` (ended without success) left on one alias it still holds:
/// restored to its start version when still on the deployment's noted write, left when someone
/// else changed it ([`undo_stranded`]). True when the alias was restored.
async fn undo(
    ports: &Ports<'_>,
    detail: &ExecutionStatusChange,
    function: &str,
    alias: &str,
    outcome: &mut Outcome,
) -> Result<bool, ShifterError> {
    let Some(last) = ports
        .registry
        .last_write(function, alias, &detail.name)
        .await?
    else {
        return Ok(false);
    };
    let (execution, status) = (&detail.execution_arn, &detail.status);
    let undone = undo_stranded(ports.router, function, alias, &last).await;
    let undone = undone.inspect_err(|e| {
        let restore = shifter::domain::alias::restore_command(function, alias, &last.start_version);
        warn!(%execution, %status, %function, %alias, error = %e, %restore,
            "the execution ended without rolling back and the alias could not be restored yet; EventBridge retries");
    })?;
    match undone {
        Undone::OnStart => Ok(false),
        Undone::Restored { was } => {
            outcome.undone.push(format!(
                "execution {status}: alias {alias} of {function} restored to version {} (it \
                 routed {was})",
                last.start_version
            ));
            warn!(%execution, %status, %function, %alias, %was, start = %last.start_version,
                "the execution ended without rolling back; alias restored to its start version");
            outcome.restored += 1;
            Ok(true)
        }
        Undone::Left { now } => {
            outcome.undone.push(format!(
                "execution {status}: alias {alias} of {function} left as is: someone else \
                 changed it (it routes {now})"
            ));
            warn!(%execution, %status, %function, %alias, %now,
                "the execution ended without rolling back; someone else changed the alias, left as is");
            outcome.left += 1;
            Ok(false)
        }
    }
}

/// The aliases an execution input names: `functionName` and `alias`, or each of a release
/// train's `targets`.
fn input_aliases(input: &Value) -> Vec<(String, String)> {
    let pair = |v: &Value| {
        let text = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        text("functionName").zip(text("alias"))
    };
    match input.get("targets").and_then(Value::as_array) {
        Some(targets) => targets.iter().filter_map(pair).collect(),
        None => pair(input).into_iter().collect(),
    }
}

/// Records the parked task, then fails it at once when an alarm already fired.
pub async fn park(ports: &Ports<'_>, request: ParkRequest) -> Result<Outcome, ShifterError> {
    let d = &request.deployment;
    let task = ParkedTask {
        task_token: request.task_token.clone(),
        kind: request.park,
        traffic_percent: d.progress.traffic.as_percent(),
    };
    let parked = ports
        .registry
        .park(&d.lead().function_name, &d.lead().alias, &d.deployment_id, &task)
        .await
        .inspect_err(|e| {
            warn!(error = %e, "parked task not recorded; alarm events will not reach it, the backstop read will");
        })
        .ok();
    let told = tell::at_parked(ports.events, request.park, parked.as_ref(), d).await;
    record::at_parked(ports, d, &told).await;
    let pending = parked.and_then(|p| p.pending_alarm);
    let failure = match pending {
        Some(alarm) => Some(Failure::new(
            ErrorKind::AlarmTriggered,
            format!(
                "alarm {alarm} went into ALARM while no task was parked, at {} on version {}",
                d.progress.traffic,
                d.lead().target_version
            ),
        )),
        // Check Health has read the alarms since the lock was taken: nothing left to close.
        None if d.progress.alarm_checks > 0 => None,
        None => read_alarms(ports, d).await,
    };
    let Some(failure) = failure else {
        info!(deployment = %d.deployment_id, park = %request.park, "parked");
        return Ok(Outcome::default());
    };
    let answer = ports
        .tasks
        .send_task_failure(&request.task_token, failure.error.as_str(), &failure.cause)
        .await?;
    info!(deployment = %d.deployment_id, cause = %failure.cause, ?answer, "park failed at once");
    Ok(match answer {
        TokenAnswer::Delivered => Outcome {
            failed: 1,
            ..Outcome::default()
        },
        TokenAnswer::Stale => Outcome {
            stale: 1,
            ..Outcome::default()
        },
    })
}

/// The watched alarms read once: the failure when one is in ALARM or gone. A failed read is
/// left to the backstop.
async fn read_alarms(ports: &Ports<'_>, d: &Deployment) -> Option<Failure> {
    if d.watch.alarms.is_empty() {
        return None;
    }
    match ports.alarms.alarm_states(&d.watch.alarms).await {
        Ok(states) => d.alarm_problem(&alarm_report(&d.watch.alarms, &states)),
        Err(e) => {
            warn!(error = %e, "alarms not read at park; the backstop read will");
            None
        }
    }
}
