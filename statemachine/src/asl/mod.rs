//! A small, exact Amazon States Language (JSONPath) interpreter for offline runs on a virtual clock.
//!
//! It implements what `statemachine/deployment.asl.json` uses, and nothing more:
//! - Task states on `arn:aws:states:::lambda:invoke`,
//!   `arn:aws:states:::lambda:invoke.waitForTaskToken` and `arn:aws:states:::events:putEvents`,
//!   with Parameters, ResultSelector,
//!   ResultPath, OutputPath, TimeoutSeconds or TimeoutSecondsPath, Retry (IntervalSeconds,
//!   MaxAttempts, BackoffRate, MaxDelaySeconds, JitterStrategy) and Catch (ResultPath);
//! - Pass (Parameters, ResultPath, OutputPath), Choice (`StringEquals` and `IsPresent` rules,
//!   `And`, Default, OutputPath), Succeed (OutputPath) and Fail (Error or ErrorPath, Cause or CausePath);
//! - the `States.Format` intrinsic; Reference Paths made of keys and indexes; the context
//!   object's `Execution`, `State`, `StateMachine` and `Task.Token`.
//!
//! Every other state type, field, resource, Choice operator, intrinsic and path syntax is
//! refused by name when the definition is parsed, so a local run can never silently differ from
//! AWS. The tests of each feature follow the examples of the Amazon States Language
//! specification (<https://states-language.net/spec.html>) and name the section they come from.
//!
//! The runner's cost per state does not grow with the states before it: the document moves from
//! state to state and is copied only where a payload takes it (`"Payload.$": "$"`), and with
//! [`History::WithoutData`] the events an execution keeps hold no documents, so memory stays
//! flat. What remains proportional to the document is the work a real execution does too:
//! each function decodes and encodes it.

mod choice;
mod definition;
mod history;
mod intrinsic;
mod path;
mod quota;
mod read;
mod retry;
mod run;

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

pub use definition::StateMachine;
pub use history::export_history;
pub use quota::{HISTORY_EVENT_LIMIT, HISTORY_LIMIT_CAUSE};
pub use run::STATE_MACHINE_ARN;

/// The error name AWS gives failures no Retry or Catch may handle.
pub const RUNTIME: &str = "States.Runtime";

/// Step Functions' quota on any state's input, output or task result: "262,144 bytes of data as
/// a UTF-8 encoded string" (<https://docs.aws.amazon.com/step-functions/latest/dg/limits.html>).
pub const PAYLOAD_LIMIT_BYTES: u64 = 262_144;

/// The error past [`PAYLOAD_LIMIT_BYTES`]: "a terminal error that can't be caught by the
/// States.ALL error type"
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// The runner's own marker of a stop inside a state (never an error any state sees).
const STOPPED: &str = "(stopped)";

/// A Task parked on `arn:aws:states:::lambda:invoke.waitForTaskToken`: its function took the
/// token and answered, and the execution waits for someone to answer `token`.
#[derive(Debug, Clone, PartialEq)]
pub struct Park {
    /// The Task's state name.
    pub state: String,
    /// The function invoked with the token (the watcher).
    pub function_name: String,
    /// The payload it was invoked with, as evaluated (`taskToken` inside).
    pub payload: Value,
    /// The task token (`$$.Task.Token`).
    pub token: String,
    /// Seconds until `States.Timeout`.
    pub timeout_seconds: u64,
}

/// `seconds` in milliseconds, saturating: the virtual clock's unit for waits.
pub fn seconds_to_millis(seconds: u64) -> i64 {
    i64::try_from(seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

impl Park {
    /// Milliseconds until `States.Timeout`.
    pub fn timeout_millis(&self) -> i64 {
        seconds_to_millis(self.timeout_seconds)
    }
}

impl Parked {
    /// Nobody answered `park`: it times out.
    pub fn timed_out(park: &Park) -> Parked {
        Parked {
            after_millis: park.timeout_millis(),
            answer: Err(InvokeError::Timeout),
        }
    }
}

/// How a park ended: after how long, and with which answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Parked {
    /// Milliseconds of virtual time until the answer (at most the timeout); the runner sleeps
    /// them on the shared clock, so other executions run meanwhile.
    pub after_millis: i64,
    /// SendTaskSuccess's output, SendTaskFailure's error and cause ([`InvokeError::Callback`]),
    /// or [`InvokeError::Timeout`] when nobody answered.
    pub answer: Result<Value, InvokeError>,
}

/// Calls the Lambda functions behind `arn:aws:states:::lambda:invoke` Tasks, and answers (or
/// lets time out) the tokens of `lambda:invoke.waitForTaskToken` Tasks.
#[async_trait::async_trait]
pub trait LambdaInvoker: Send + Sync {
    /// Parks a `lambda:invoke.waitForTaskToken` Task once its function answered (called with
    /// the clock at the park's start; it may sleep on the clock itself, and `after_millis`
    /// still counts from the start). By default nobody ever answers: it times out.
    async fn park(&self, park: &Park) -> Parked {
        Parked::timed_out(park)
    }

    /// When an operator stops the execution (StopExecution, the console's Stop button), if
    /// ever. From then on no state runs; a function already invoked runs to its end, as on AWS
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>).
    fn stop_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        None
    }

    /// Invokes a function (the `FunctionName` and `Payload` of an `arn:aws:states:::lambda:invoke` Task). It may advance the clock itself to simulate duration.
    async fn invoke(
        &self,
        function_name: &str,
        payload: Value,
        timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError>;
}

/// Why an invocation produced no result.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvokeError {
    /// The function ran and returned an error: Step Functions error = error_type, Cause = JSON string {"errorMessage":..,"errorType":..,"trace":[]}.
    #[error("function failed with {error_type}: {error_message}")]
    Function {
        /// The function's error type, which Retry and Catch match on.
        error_type: String,
        /// The function's error message.
        error_message: String,
    },
    /// The Lambda service refused (e.g. error "Lambda.TooManyRequestsException"), passed through as error/cause.
    #[error("Lambda refused the invocation with {error}: {cause}")]
    Service {
        /// The Step Functions error name.
        error: String,
        /// The cause, verbatim.
        cause: String,
    },
    /// The task ran past TimeoutSeconds: error "States.Timeout".
    #[error("the task timed out")]
    Timeout,
    /// SendTaskFailure answered a task token: error and cause verbatim (e.g. `Aborted`).
    #[error("the task token was answered with {error}: {cause}")]
    Callback {
        /// The error name given to SendTaskFailure.
        error: String,
        /// The cause given to SendTaskFailure.
        cause: String,
    },
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExecutionStatus {
    /// It reached a Succeed state or an End.
    Succeeded,
    /// It reached a Fail state, an uncaught error, or a `States.Runtime` error.
    Failed,
    /// An operator stopped it (StopExecution): `ABORTED`, whatever state it was in.
    Aborted,
}

/// One finished execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    /// How it ended.
    pub status: ExecutionStatus,
    /// The final output, when it succeeded.
    pub output: Option<Value>,
    /// The error name, when it failed (a Fail state may omit it).
    pub error: Option<String>,
    /// The cause, when it failed (a Fail state may omit it).
    pub cause: Option<String>,
    /// The last state entered.
    pub final_state: String,
    /// States entered plus retry attempts, as Step Functions bills them.
    pub transitions: u64,
    /// Retry attempts across all states.
    pub retries: u64,
    /// The events Step Functions writes to the execution's history for this run (what
    /// GetExecutionHistory lists, ExecutionStarted included): see [`EventKind::aws_events`].
    pub history_events: u64,
    /// The largest state input, output, task parameters or task result, in UTF-8 bytes.
    pub largest_payload: PayloadSize,
    /// Everything that happened, in order.
    pub events: Vec<HistoryEvent>,
}

/// The size of a document one state handled, and where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadSize {
    /// The state that handled it.
    pub state: String,
    /// Its size as compact JSON text, UTF-8 encoded.
    pub bytes: u64,
}

/// Something that happened during an execution, stamped with the virtual time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// Seconds on the virtual clock since it started.
    pub at_seconds: f64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// A state was entered with its raw input.
    StateEntered {
        name: String,
        /// Its raw input.
        input: Value,
    },
    /// A state finished with this output.
    StateExited { name: String, output: Value },
    /// A Task attempt was scheduled on its resource with these evaluated parameters.
    TaskScheduled {
        state: String,
        /// The resource ARN.
        resource: String,
        /// The evaluated Parameters (for a park, they hold the task token).
        parameters: Value,
        /// The attempt's timeout, when it has one.
        timeout_seconds: Option<u64>,
    },
    /// A Task attempt's resource answered with this result (before ResultSelector/ResultPath).
    TaskSucceeded { state: String, output: Value },
    /// A Task attempt failed with a catchable error.
    TaskFailed {
        state: String,
        error: String,
        cause: String,
    },
    /// A retrier matched and the Task will run again after the delay.
    Retrying {
        state: String,
        /// This retrier's attempt number, from 1.
        attempt: u32,
        /// The delay before the attempt, after backoff, cap and jitter.
        delay_seconds: f64,
    },
    /// A catcher matched after retries were exhausted.
    Caught {
        state: String,
        error: String,
        next: String,
    },
    /// The execution succeeded.
    ExecutionSucceeded { output: Value },
    /// The execution failed.
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    /// The execution was stopped (StopExecution).
    ExecutionAborted,
}

/// What an execution keeps of its events in [`Execution::events`]; the observer passed to
/// [`StateMachine::run`] sees every event whole either way.
///
/// Modelled on GetExecutionHistory's `includeExecutionData`
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html>).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum History {
    /// Every event with its input, output and parameters.
    #[default]
    Full,
    /// Every event, with its input, output and parameters left `null`: the events stay small
    /// however large the document, so memory grows with the states passed, not with their data.
    WithoutData,
}

impl EventKind {
    /// How many events Step Functions writes to the history for this one
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>):
    /// a state's `…StateEntered` and `…StateExited` one each (a Fail state and a state that
    /// fails the execution write no exit); a Task attempt `TaskScheduled` and `TaskStarted`,
    /// plus `TaskSubmitted` on a `.waitForTaskToken` resource (the service call that hands out
    /// the token returned, and the state now waits: `TaskSubmittedEventDetails`,
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_TaskSubmittedEventDetails.html>),
    /// then one of `TaskSucceeded`, `TaskFailed` or `TaskTimedOut`; a retry writes nothing of its
    /// own (its attempt writes the Scheduled/Started/... again), nor does a Catch (the state's
    /// exit follows). `ExecutionStarted`, counted once per run, has no event here.
    pub fn aws_events(&self) -> u64 {
        match self {
            EventKind::StateEntered { .. }
            | EventKind::StateExited { .. }
            | EventKind::TaskSucceeded { .. }
            | EventKind::TaskFailed { .. }
            | EventKind::ExecutionSucceeded { .. }
            | EventKind::ExecutionFailed { .. }
            | EventKind::ExecutionAborted => 1,
            EventKind::TaskScheduled { resource, .. } => 2 + u64::from(submits(resource)),
            EventKind::Retrying { .. } | EventKind::Caught { .. } => 0,
        }
    }

    /// The document the event carries (input, output or parameters), moved out; `null` for
    /// events that carry none.
    fn into_data(self) -> Value {
        match self {
            EventKind::StateEntered { input: data, .. }
            | EventKind::StateExited { output: data, .. }
            | EventKind::TaskScheduled {
                parameters: data, ..
            }
            | EventKind::TaskSucceeded { output: data, .. }
            | EventKind::ExecutionSucceeded { output: data } => data,
            _ => Value::Null,
        }
    }

    /// A copy with the document left `null` (everything else kept), without copying it.
    fn without_data(&self) -> EventKind {
        match self {
            EventKind::StateEntered { name, .. } => EventKind::StateEntered {
                name: name.clone(),
                input: Value::Null,
            },
            EventKind::StateExited { name, .. } => EventKind::StateExited {
                name: name.clone(),
                output: Value::Null,
            },
            EventKind::TaskScheduled {
                state,
                resource,
                timeout_seconds,
                ..
            } => EventKind::TaskScheduled {
                state: state.clone(),
                resource: resource.clone(),
                parameters: Value::Null,
                timeout_seconds: *timeout_seconds,
            },
            EventKind::TaskSucceeded { state, .. } => EventKind::TaskSucceeded {
                state: state.clone(),
                output: Value::Null,
            },
            EventKind::ExecutionSucceeded { .. } => EventKind::ExecutionSucceeded {
                output: Value::Null,
            },
            other => other.clone(),
        }
    }
}

/// Whether a Task on `resource` writes `TaskSubmitted`: the callback pattern
/// (`.waitForTaskToken`) does, once the service call that hands out the token returned
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html>). The
/// `.sync` pattern does too, but the runner refuses `.sync` resources.
fn submits(resource: &str) -> bool {
    resource.ends_with(".waitForTaskToken")
}

/// Where in a definition a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// The top level.
    Machine,
    /// The named state.
    State(String),
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Where::Machine => write!(f, "state machine"),
            Where::State(name) => write!(f, "state {name:?}"),
        }
    }
}

/// Why a definition cannot be run locally.
#[derive(Debug, Error)]
pub enum DefinitionError {
    /// A `${Name}` had no substitution.
    #[error("definition substitution ${{{0}}} is not defined")]
    Unresolved(String),
    /// The text is not JSON.
    #[error("definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Only JSONPath definitions are interpreted.
    #[error("query language {0:?} is not supported by the local runner (only JSONPath)")]
    QueryLanguage(String),
    /// A state type the runner does not implement.
    #[error("{at}: type {kind:?} is not supported")]
    UnsupportedType { at: Where, kind: String },
    /// A field the runner does not implement (or ASL does not allow there).
    #[error("{at}: field {field:?} is not supported by the local runner")]
    UnsupportedField {
        at: Where,
        /// The field, with its position inside Retry, Catch, Choices or Parameters.
        field: String,
    },
    /// A Task resource other than `arn:aws:states:::lambda:invoke`,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken` and `arn:aws:states:::events:putEvents`.
    #[error("{at}: resource {resource:?} is not supported by the local runner")]
    UnsupportedResource { at: Where, resource: String },
    /// An intrinsic function the runner does not implement.
    #[error("{at}: field {field:?}: intrinsic {name} is not supported")]
    UnsupportedIntrinsic {
        at: Where,
        field: String,
        name: String,
    },
    /// A path outside the supported JSONPath subset, or malformed.
    #[error("{at}: field {field:?}: path {path:?}: {reason}")]
    Path {
        at: Where,
        field: String,
        path: String,
        reason: String,
    },
    /// A Next, Default or StartAt naming no state.
    #[error("{at}: {field} names state {target:?}, which does not exist")]
    UnknownState {
        at: Where,
        field: String,
        target: String,
    },
    /// Any other violation of the ASL rules.
    #[error("{at}: {message}")]
    Invalid { at: Where, message: String },
}

/// Why an execution could not be run to its end.
#[derive(Debug, Error)]
pub enum RunError {
    /// The definition could not be parsed, so nothing ran.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
}

/// A Step Functions error raised inside a state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    error: String,
    cause: String,
}

impl Failure {
    fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(RUNTIME, cause)
    }

    #[cfg(test)]
    fn is_runtime(&self) -> bool {
        self.error == RUNTIME
    }

    /// The execution was stopped while the state ran: nothing handles it, the execution ends
    /// `ABORTED`.
    fn stopped() -> Self {
        Failure::new(STOPPED, "stopped by StopExecution")
    }

    /// `States.Runtime`, `States.DataLimitExceeded` and a stop: no Retry or Catch handles
    /// them, the execution ends.
    fn is_terminal(&self) -> bool {
        self.error == RUNTIME || self.error == DATA_LIMIT_EXCEEDED || self.error == STOPPED
    }
}
