//! What the handlers need from the outside world, grouped by capability.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::domain::VersionInfo;
use crate::domain::analysis::VersionFigures;
use crate::domain::provisioned::ConcurrencyConfig;
use crate::domain::record::{DeploymentRecord as Record, RecordUpdate};
use crate::domain::{AliasRoute, AliasState, LastWrite};
use crate::error::ShifterError;

mod executions;
mod waves;
pub use executions::{Execution, ExecutionStatus, Executions, HistoryEvent};
pub use waves::{TargetAccounts, WaveWatch, WaveWatches, alarm_arn};

/// What a [`DeploymentRecords`] read returns.
pub type Records<T> = Result<T, ShifterError>;
/// `--since`: the earliest start a listing keeps.
pub type Since = Option<DateTime<Utc>>;

/// Reads and conditionally writes a Lambda alias.
#[async_trait]
pub trait AliasRouter: Send + Sync {
    /// The alias's version, routing and RevisionId; `NotFound` when function or alias is missing.
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError>;

    /// Points the alias at `route`, only if its RevisionId is still `expected_revision`
    /// (`AliasDrift` otherwise). Returns the alias as written, with its new RevisionId.
    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError>;
}

/// Looks up functions and their published versions.
#[async_trait]
pub trait FunctionRegistry: Send + Sync {
    /// True when the function exists.
    async fn function_exists(&self, function: &str) -> Result<bool, ShifterError>;

    /// A published version's settings; `None` when it does not exist.
    async fn version(
        &self,
        function: &str,
        version: &str,
    ) -> Result<Option<VersionInfo>, ShifterError>;

    /// The highest published version; `None` when only `$LATEST` exists.
    async fn latest_published_version(
        &self,
        function: &str,
    ) -> Result<Option<String>, ShifterError>;

    /// Publishes `$LATEST` as it is now and returns the version. As in Lambda, publishing
    /// unchanged code and configuration returns the existing latest version.
    async fn publish_version(&self, function: &str) -> Result<VersionInfo, ShifterError>;
}

/// Reads an alias's provisioned-concurrency config.
#[async_trait]
pub trait ConcurrencyReader: Send + Sync {
    /// The config on `function:alias` (GetProvisionedConcurrencyConfig, the alias as
    /// qualifier); `None` when the alias has none; `NotFound` when function or alias is missing.
    async fn provisioned_concurrency(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ConcurrencyConfig>, ShifterError>;
}

/// State of one CloudWatch alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    /// Within threshold.
    Ok,
    /// Breaching: roll back.
    Alarm,
    /// Not enough data yet.
    InsufficientData,
}

/// Reads alarm states.
#[async_trait]
pub trait AlarmReader: Send + Sync {
    /// States of the named alarms in one call (at most 100 names); missing ones are absent.
    async fn alarm_states(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, AlarmState)>, ShifterError>;
}

/// Lambda's per-version metrics for calls through an alias (canary analysis).
#[async_trait]
pub trait VersionMetrics: Send + Sync {
    /// Each of `versions`' figures for calls through `function:alias` from `from` to `to`, in
    /// the order asked, in one GetMetricData call (a version without calls has zero figures).
    async fn version_figures(
        &self,
        function: &str,
        alias: &str,
        versions: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VersionFigures>, ShifterError>;
}

/// The current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Turns raw alarm states into the report decisions are made on.
pub fn alarm_report(
    names: &[String],
    states: &[(String, AlarmState)],
) -> crate::domain::AlarmReport {
    let in_alarm = states
        .iter()
        .filter(|(_, s)| *s == AlarmState::Alarm)
        .map(|(n, _)| n.clone())
        .collect();
    let missing = names
        .iter()
        .filter(|n| !states.iter().any(|(m, _)| m == *n))
        .cloned()
        .collect();
    crate::domain::AlarmReport { in_alarm, missing }
}

/// How CodePipeline classifies a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum JobFailureType {
    /// The action's configuration (its UserParameters) is wrong: fixing it, not retrying, helps.
    ConfigurationError,
    /// The work was attempted and failed.
    JobFailed,
}

/// The longest failure message CodePipeline accepts, in characters.
pub const MAX_JOB_FAILURE_MESSAGE_CHARS: usize = 5000;

/// Reports the result of a CodePipeline job back to CodePipeline.
#[async_trait]
pub trait PipelineJobs: Send + Sync {
    /// Success, or with `continuation_token` "still working, invoke me again with this token".
    /// `output_variables` only on a final success (CodePipeline refuses them with a token).
    async fn put_job_success(
        &self,
        job_id: &str,
        continuation_token: Option<&str>,
        output_variables: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), ShifterError>;

    /// Failure with a message of at most [`MAX_JOB_FAILURE_MESSAGE_CHARS`] characters.
    async fn put_job_failure(
        &self,
        job_id: &str,
        failure_type: JobFailureType,
        message: &str,
    ) -> Result<(), ShifterError>;
}

/// A deployment as the registry of active deployments knows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveDeployment {
    /// The deployment id (the execution input's `deploymentId`).
    pub deployment_id: String,
    /// The execution running it.
    pub execution_arn: String,
    /// Function name.
    pub function: String,
    /// Alias name.
    pub alias: String,
    /// The version traffic is shifted to.
    pub target_version: String,
    /// The CloudWatch alarms it watches.
    pub alarms: Vec<String>,
    /// Epoch seconds after which DynamoDB TTL may delete the entries; from then on every
    /// registry operation treats them as gone.
    pub expires_at: i64,
}

/// The task a deployment has parked right now, waiting for its token to be answered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedTask {
    /// The Step Functions task token.
    pub task_token: String,
    /// Which wait it is.
    pub kind: crate::states::ParkKind,
    /// The share of traffic on the target version while parked (0–100).
    pub traffic_percent: f64,
}

/// What a park found on the lock it wrote its task to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parked {
    /// An alarm noted while nothing was parked (`pendingAlarm`), now cleared.
    pub pending_alarm: Option<String>,
    /// The task parked before this one, if any (what the lifecycle events compare with).
    pub previous: Option<ParkedTask>,
    /// The execution holding the lock.
    pub execution_arn: String,
}

/// Outcome of trying to take the per-alias lock.
#[derive(Debug, Clone, PartialEq)]
pub enum Lock {
    /// The lock is ours (newly taken, or already held by the same deployment id).
    Acquired,
    /// Another deployment holds it.
    HeldBy(ActiveDeployment),
}

/// The registry of active deployments: the per-alias lock and, per watched alarm, who to tell
/// when it fires. Entries past their `expires_at` count as gone for every operation (DynamoDB
/// TTL deletes them only eventually: the adapter checks `expiresAt` in its conditions and
/// filters, see <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>).
#[async_trait]
pub trait DeploymentRegistry: Send + Sync {
    /// Takes the lock on `function:alias` (a conditional put: absent or expired) and records one
    /// watch entry per alarm. Held by the same deployment id → `Acquired` (idempotent retries);
    /// held by another live deployment → `HeldBy` it, nothing written.
    async fn acquire(&self, deployment: &ActiveDeployment) -> Result<Lock, ShifterError>;

    /// Records `task` as the deployment's parked task (replacing an earlier one) and returns the
    /// alarm noted while nothing was parked (`pendingAlarm`), clearing it, with the task parked
    /// before and the execution (from the same write's old item). `NotFound` when
    /// `deployment_id` does not hold the lock.
    async fn park(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        task: &ParkedTask,
    ) -> Result<Parked, ShifterError>;

    /// The live deployments watching `alarm`, each with its parked task if any.
    async fn watching(
        &self,
        alarm: &str,
    ) -> Result<Vec<(ActiveDeployment, Option<ParkedTask>)>, ShifterError>;

    /// Notes that `alarm` fired while `deployment_id` had no task parked that could be failed:
    /// none at all, or only `answered` (a token that turned out to be stale). Conditional: when
    /// another task is parked now, notes nothing and returns it (the caller fails that one);
    /// when the deployment no longer holds the lock, does nothing.
    async fn note_alarm(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        alarm: &str,
        answered: Option<&str>,
    ) -> Result<Option<ParkedTask>, ShifterError>;

    /// Deletes the lock and watch entries of `deployment_id` and returns what the lock held; a
    /// no-op (`None`) when already gone or held by another deployment.
    async fn release(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<ActiveDeployment>, ShifterError>;

    /// Notes `write` on `deployment_id`'s lock of `function:alias` before the write is sent
    /// (replacing the earlier note), so that an execution ending without its own Roll Back can
    /// be undone. `NotFound` when `deployment_id` no longer holds the lock: nothing may be
    /// written then.
    async fn note_write(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        write: &LastWrite,
    ) -> Result<(), ShifterError>;

    /// The write `deployment_id` noted last on `function:alias` (a consistent read); `None`
    /// when it noted none or does not hold the lock.
    async fn last_write(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<LastWrite>, ShifterError>;

    /// The live holder of `function:alias`'s lock, if any (a consistent read).
    async fn holder(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ActiveDeployment>, ShifterError>;

    /// Remembers that `record.version` was rolled back on its alias (replacing an earlier
    /// record of the same version).
    async fn mark_rolled_back(&self, record: &RolledBackVersion) -> Result<(), ShifterError>;

    /// The record of `version` having been rolled back on `function:alias`, unless it expired
    /// or was cleared.
    async fn rolled_back(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<Option<RolledBackVersion>, ShifterError>;

    /// Forgets that `version` was rolled back on `function:alias` (someone deploys it
    /// explicitly); a no-op when there is no record.
    async fn clear_rolled_back(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<(), ShifterError>;
}

/// A version rolled back on an alias: `targetVersion: "latest"` skips it (error
/// `VersionRolledBack`) until someone deploys it explicitly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolledBackVersion {
    /// Function name or ARN, as the deployment's input gave it.
    pub function: String,
    /// Alias name.
    pub alias: String,
    /// The version that was rolled back.
    pub version: String,
    /// The execution that rolled it back.
    pub execution_arn: String,
    /// Why (`AlarmTriggered`, `HookFailed`, …).
    pub error: String,
    /// Epoch seconds when it was recorded.
    pub at: i64,
    /// Epoch seconds after which the record is forgotten (DynamoDB TTL).
    pub expires_at: i64,
}

/// What became of an answer to a task token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAnswer {
    /// The parked task took the answer.
    Delivered,
    /// The token was no longer waiting (`TaskTimedOut`, `InvalidToken`: already answered, timed
    /// out, or its execution ended).
    Stale,
}

/// Answers parked task tokens (SendTaskSuccess / SendTaskFailure): the one port for it, used by
/// the watch function and the CLI's approve, promote and abort.
/// Puts a deployment's lifecycle events on the stack's own event bus.
#[async_trait]
pub trait StatusEvents: Send + Sync {
    /// Puts `events` (at most 10, one PutEvents call), each with the lifecycle detail-type and
    /// source. `Transient` when any entry was not accepted.
    async fn put_events(
        &self,
        events: &[crate::domain::lifecycle::LifecycleEvent],
    ) -> Result<(), ShifterError>;
}

/// The record every deployment leaves (docs/history.md): one item per deployment.
#[async_trait]
pub trait DeploymentRecords: Send + Sync {
    /// Applies one moment ([`Record::apply`]); false when it was already recorded.
    async fn apply_record(&self, update: &RecordUpdate) -> Result<bool, ShifterError>;
    /// The record of deployment `id` of `function`:`alias`.
    async fn record_of(&self, function: &str, alias: &str, id: &str) -> Records<Option<Record>>;
    /// The records of `function`:`alias` started at `since` or later, newest first.
    async fn records_of_alias(
        &self,
        function: &str,
        alias: &str,
        since: Since,
    ) -> Records<Vec<Record>>;
    /// Every record started at `since` or later, newest first.
    async fn all_records(&self, since: Since) -> Records<Vec<Record>>;
    /// The record of the execution named `id`, whatever its alias.
    async fn find_record(&self, id: &str) -> Records<Option<Record>>;
}

#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    /// Completes the parked task with `output` (e.g. `{"action":"approve"}`).
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<TokenAnswer, ShifterError>;

    /// Fails the parked task with `error` (the name the state machine's Catch matches) and
    /// `cause`.
    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<TokenAnswer, ShifterError>;
}

/// What a hook function did when invoked synchronously.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAnswer {
    /// It returned this (the raw response payload).
    Returned(Vec<u8>),
    /// It failed, or Lambda refused to run it: the error name as Step Functions would report it
    /// (the function's `errorType`, `Lambda.Unknown`, `Sandbox.Timedout`,
    /// `Lambda.TooManyRequestsException`, …) and the message.
    Failed {
        /// The error name.
        error_type: String,
        /// The message.
        message: String,
    },
}

/// Invokes users' hook functions synchronously (Lambda Invoke, RequestResponse).
#[async_trait]
pub trait HookInvoker: Send + Sync {
    /// Invokes `function` with `payload` and waits for its answer.
    async fn invoke_hook(
        &self,
        function: &str,
        payload: &serde_json::Value,
    ) -> Result<HookAnswer, ShifterError>;
}
