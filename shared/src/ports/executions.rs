//! Step Functions executions: start, describe, stop, follow (the CLI, the CodePipeline action
//! and a wave plan's children).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::ShifterError;

/// Where an execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Still going.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Ran past its timeout.
    TimedOut,
    /// Stopped by someone.
    Aborted,
    /// Failed and being redriven.
    PendingRedrive,
}

/// One execution as described.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Execution ARN.
    pub arn: String,
    /// Execution name.
    pub name: Option<String>,
    /// Status.
    pub status: ExecutionStatus,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it stopped, once it has.
    pub stopped: Option<DateTime<Utc>>,
    /// Its input document.
    pub input: Option<serde_json::Value>,
    /// Its output document, once succeeded.
    pub output: Option<serde_json::Value>,
    /// Error name, once failed.
    pub error: Option<String>,
    /// Error cause, once failed.
    pub cause: Option<String>,
}

/// One event of an execution's history.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// Event id (1-based, in order).
    pub id: i64,
    /// Event type (`TaskStateEntered`, `ExecutionFailed`, …).
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The state entered or exited, for state events.
    pub state: Option<String>,
    /// Error name, for failure events.
    pub error: Option<String>,
    /// Error cause, for failure events.
    pub cause: Option<String>,
    /// The state's raw input (JSON text), for state-entered events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The output (JSON text), for state-exited, task-succeeded and execution-succeeded events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The task's evaluated parameters (JSON text; a parked task's hold its token), for
    /// TaskScheduled events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
}

/// Starts and follows state machine executions (for the CLI and the CodePipeline action).
#[async_trait]
pub trait Executions: Send + Sync {
    /// Starts an execution named `name` with `input`; returns its ARN. Idempotent: when an
    /// execution of that name already exists with the same input (running or not), returns its
    /// ARN; with a different input, `InvalidInput` naming `ExecutionAlreadyExists`.
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String, ShifterError>;

    /// The execution's status, input and (once finished) output or error.
    async fn describe_execution(&self, execution_arn: &str) -> Result<Execution, ShifterError>;

    /// Every event of the execution's history, oldest first, across all pages.
    async fn execution_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<HistoryEvent>, ShifterError>;

    /// The events of the history newer than event `after_id`, oldest first: what a follower
    /// has not seen yet, read newest first so a poll costs one call, not the whole history.
    async fn history_after(
        &self,
        execution_arn: &str,
        after_id: i64,
    ) -> Result<Vec<HistoryEvent>, ShifterError>;

    /// Stops a running execution (StopExecution): it ends `ABORTED` at once, whatever state it is
    /// in; a function it invoked runs to its end
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>).
    /// Stopping one that already ended changes nothing.
    async fn stop_execution(
        &self,
        execution_arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ShifterError>;

    /// The state machine's executions, newest first, at most `max` of them: ARN, name, status
    /// and times (ListExecutions gives no input, output or error; describe one for those).
    async fn list_executions(
        &self,
        state_machine_arn: &str,
        max: usize,
    ) -> Result<Vec<Execution>, ShifterError>;
}
