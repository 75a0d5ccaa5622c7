//! In-memory Step Functions executions: names are unique per state machine, starts are
//! idempotent for the same input, and how each execution ends is scripted by the test.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::ShifterError;
use crate::ports::{Clock, Execution, ExecutionStatus, Executions, HistoryEvent};

/// Characters Step Functions refuses in an execution name (besides control characters).
const INVALID_NAME_CHARS: &[char] = &[
    ' ', '{', '}', '[', ']', '<', '>', '?', '*', '"', '#', '%', '\\', '^', '|', '~', '`', '$', '&',
    ',', ';', ':', '/',
];

#[derive(Debug, Default)]
struct State {
    state_machines: Vec<String>,
    executions: Vec<(Execution, Vec<HistoryEvent>)>,
    starts: u64,
    throttle_next: u32,
    /// History events returned so far, by every history call.
    history_events_served: usize,
    /// API calls made so far (throttled ones included).
    calls: u64,
}

/// Step Functions executions in memory, for the CLI's and the CodePipeline action's tests.
#[derive(Clone)]
pub struct FakeExecutions {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
}

impl FakeExecutions {
    /// No state machines, on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeExecutions {
            state: Arc::new(Mutex::new(State::default())),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates a state machine executions can be started on.
    pub fn add_state_machine(&self, arn: &str) {
        self.lock().state_machines.push(arn.to_owned());
    }

    /// Replaces an execution's history (e.g. with a recorded one) and its status.
    pub fn set_history(&self, arn: &str, status: ExecutionStatus, history: Vec<HistoryEvent>) {
        let mut state = self.lock();
        if let Some((execution, h)) = state.executions.iter_mut().find(|(e, _)| e.arn == arn) {
            execution.status = status;
            *h = history;
        }
    }

    /// History events every GetExecutionHistory read returned so far (what a follower downloaded).
    pub fn history_events_served(&self) -> usize {
        self.lock().history_events_served
    }

    /// API calls made so far, throttled ones included.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// The next `n` calls fail with throttling.
    pub fn throttle_next(&self, n: u32) {
        self.lock().throttle_next = n;
    }

    /// How many StartExecution calls created a new execution.
    pub fn started(&self) -> u64 {
        self.lock().starts
    }

    /// Every execution so far, oldest first.
    pub fn executions(&self) -> Vec<Execution> {
        self.lock()
            .executions
            .iter()
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// Ends a running execution successfully with `output`.
    pub fn succeed(&self, arn: &str, output: Value) -> Result<(), ShifterError> {
        self.end(arn, ExecutionStatus::Succeeded, Some(output), None, None)
    }

    /// Ends a running execution as `status` (`Failed`, `TimedOut` or `Aborted`) with an error
    /// name and cause.
    pub fn fail(
        &self,
        arn: &str,
        status: ExecutionStatus,
        error: &str,
        cause: &str,
    ) -> Result<(), ShifterError> {
        if !matches!(
            status,
            ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted
        ) {
            return Err(ShifterError::invalid(
                "status",
                format!("{status:?} is not how an execution fails"),
            ));
        }
        self.end(
            arn,
            status,
            None,
            Some(error.to_owned()),
            Some(cause.to_owned()),
        )
    }

    fn end(
        &self,
        arn: &str,
        status: ExecutionStatus,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), ShifterError> {
        let now = self.clock.now();
        let mut state = self.lock();
        let Some((execution, history)) = state.executions.iter_mut().find(|(e, _)| e.arn == arn)
        else {
            return Err(ShifterError::not_found(format!("execution {arn}")));
        };
        if execution.status != ExecutionStatus::Running {
            return Err(ShifterError::invalid(
                "status",
                format!("execution {arn} already ended {:?}", execution.status),
            ));
        }
        let kind = match status {
            ExecutionStatus::Succeeded => "ExecutionSucceeded",
            ExecutionStatus::TimedOut => "ExecutionTimedOut",
            ExecutionStatus::Aborted => "ExecutionAborted",
            _ => "ExecutionFailed",
        };
        history.push(HistoryEvent {
            id: history.len() as i64 + 1,
            kind: kind.to_owned(),
            at: now,
            state: None,
            error: error.clone(),
            cause: cause.clone(),
            ..HistoryEvent::default()
        });
        execution.status = status;
        execution.stopped = Some(now);
        execution.output = output;
        execution.error = error;
        execution.cause = cause;
        Ok(())
    }

    fn begin(&self, state: &mut State, operation: &str) -> Result<(), ShifterError> {
        state.calls += 1;
        if state.throttle_next > 0 {
            state.throttle_next -= 1;
            return Err(ShifterError::transient(
                operation,
                "ThrottlingException: Rate exceeded",
            ));
        }
        Ok(())
    }
}

fn validate_name(name: &str) -> Result<(), ShifterError> {
    let invalid = name.is_empty()
        || name.chars().count() > 80
        || name
            .chars()
            .any(|c| c.is_control() || INVALID_NAME_CHARS.contains(&c));
    if invalid {
        return Err(ShifterError::invalid(
            "StartExecution",
            format!("InvalidName: Invalid Name: '{name}'"),
        ));
    }
    Ok(())
}

#[async_trait]
impl Executions for FakeExecutions {
    async fn stop_execution(
        &self,
        arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ShifterError> {
        {
            let mut state = self.lock();
            self.begin(&mut state, "StopExecution")?;
        }
        let running = self
            .executions()
            .iter()
            .find(|e| e.arn == arn)
            .map(|e| e.status == ExecutionStatus::Running);
        match running {
            None => Err(ShifterError::not_found(format!("execution {arn}"))),
            Some(false) => Ok(()),
            Some(true) => self.end(
                arn,
                ExecutionStatus::Aborted,
                None,
                Some(error.to_owned()),
                Some(cause.to_owned()),
            ),
        }
    }

    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, ShifterError> {
        let now = self.clock.now();
        let mut state = self.lock();
        self.begin(&mut state, "StartExecution")?;
        validate_name(name)?;
        if !state.state_machines.iter().any(|s| s == state_machine_arn) {
            return Err(ShifterError::not_found(format!(
                "state machine {state_machine_arn}"
            )));
        }
        let arn = format!(
            "{}:{name}",
            state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
        );
        if let Some((existing, _)) = state.executions.iter().find(|(e, _)| e.arn == arn) {
            return if existing.input.as_ref() == Some(input) {
                Ok(arn)
            } else {
                Err(ShifterError::invalid(
                    "StartExecution",
                    format!("ExecutionAlreadyExists: Execution Already Exists: '{arn}'"),
                ))
            };
        }
        state.starts += 1;
        let started = HistoryEvent {
            id: 1,
            kind: "ExecutionStarted".to_owned(),
            at: now,
            ..HistoryEvent::default()
        };
        state.executions.push((
            Execution {
                arn: arn.clone(),
                name: Some(name.to_owned()),
                status: ExecutionStatus::Running,
                started: now,
                stopped: None,
                input: Some(input.clone()),
                output: None,
                error: None,
                cause: None,
            },
            vec![started],
        ));
        Ok(arn)
    }

    async fn describe_execution(&self, execution_arn: &str) -> Result<Execution, ShifterError> {
        let mut state = self.lock();
        self.begin(&mut state, "DescribeExecution")?;
        state
            .executions
            .iter()
            .find(|(e, _)| e.arn == execution_arn)
            .map(|(e, _)| e.clone())
            .ok_or_else(|| ShifterError::not_found(format!("execution {execution_arn}")))
    }

    async fn execution_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<HistoryEvent>, ShifterError> {
        // Event ids start at 1: everything after 0 is the whole history.
        self.history_after(execution_arn, 0).await
    }

    async fn history_after(
        &self,
        execution_arn: &str,
        after_id: i64,
    ) -> Result<Vec<HistoryEvent>, ShifterError> {
        let mut state = self.lock();
        self.begin(&mut state, "GetExecutionHistory")?;
        let history = state
            .executions
            .iter()
            .find(|(e, _)| e.arn == execution_arn)
            .map(|(_, h)| h.clone())
            .ok_or_else(|| ShifterError::not_found(format!("execution {execution_arn}")))?;
        let newer: Vec<HistoryEvent> = history.into_iter().filter(|e| e.id > after_id).collect();
        state.history_events_served += newer.len();
        Ok(newer)
    }

    async fn list_executions(
        &self,
        state_machine_arn: &str,
        max: usize,
    ) -> Result<Vec<Execution>, ShifterError> {
        let mut state = self.lock();
        self.begin(&mut state, "ListExecutions")?;
        if !state.state_machines.iter().any(|s| s == state_machine_arn) {
            return Err(ShifterError::not_found(format!(
                "state machine {state_machine_arn}"
            )));
        }
        let prefix = format!(
            "{}:",
            state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
        );
        let mut listed: Vec<Execution> = state
            .executions
            .iter()
            .filter(|(e, _)| e.arn.starts_with(&prefix))
            .map(|(e, _)| Execution {
                input: None,
                output: None,
                error: None,
                cause: None,
                ..e.clone()
            })
            .collect();
        // Newest first; among equal start times the later start is newer.
        listed.reverse();
        listed.sort_by_key(|e| std::cmp::Reverse(e.started));
        listed.truncate(max);
        Ok(listed)
    }
}
