//! The `Executions` port's adapter over Step Functions (start, describe and read the history
//! of state machine executions), and the one adapter of `TaskCallbacks` (answer task tokens).

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::errors::AwsFailure;
use crate::error::ShifterError;
pub use crate::ports::{Execution, ExecutionStatus, Executions, HistoryEvent};
use crate::ports::{TaskCallbacks, TokenAnswer};

/// The IAM actions of the Step Functions API calls this adapter makes, by the method that makes them
/// (see `lambda::OPERATIONS`); `Executions` serves both `pipeline-action` and the CLI,
/// `TaskCallbacks` the watch function and the CLI.
pub const OPERATIONS: &[(&str, &[&str])] = &[
    ("stop_execution", &["states:StopExecution"]),
    ("start_execution", &["states:StartExecution"]),
    ("describe_execution", &["states:DescribeExecution"]),
    ("execution_history", &["states:GetExecutionHistory"]),
    ("history_after", &["states:GetExecutionHistory"]),
    ("list_executions", &["states:ListExecutions"]),
    ("send_task_success", &["states:SendTaskSuccess"]),
    ("send_task_failure", &["states:SendTaskFailure"]),
];

/// Events per GetExecutionHistory page: the API's maximum (its default is 100).
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html>
pub const HISTORY_PAGE: i32 = 1000;

/// Executions per ListExecutions page: the API's maximum.
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html>
pub const LIST_PAGE: i32 = 1000;

/// `Executions` through `aws-sdk-sfn`.
#[derive(Debug, Clone)]
pub struct StepFunctionsExecutions {
    client: Client,
}

impl StepFunctionsExecutions {
    /// An adapter with its own client, from the shared configuration ([`super::load_lambda_config`] in a function).
    pub fn from_config(config: &aws_config::SdkConfig) -> StepFunctionsExecutions {
        StepFunctionsExecutions::new(Client::new(config))
    }

    /// Wraps an existing client (an emulator's, or a mock).
    pub fn new(client: Client) -> StepFunctionsExecutions {
        StepFunctionsExecutions { client }
    }
}

/// The ARN Step Functions gives the execution `name` of a (Standard) state machine.
fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

fn time(t: &aws_sdk_sfn::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn document(field: &str, text: Option<&str>) -> Result<Option<Value>, ShifterError> {
    text.map(|t| {
        serde_json::from_str(t).map_err(|e| ShifterError::invalid(field, format!("not JSON: {e}")))
    })
    .transpose()
}

fn status(s: &aws_sdk_sfn::types::ExecutionStatus) -> Result<ExecutionStatus, ShifterError> {
    use aws_sdk_sfn::types::ExecutionStatus as S;
    Ok(match s {
        S::Running => ExecutionStatus::Running,
        S::Succeeded => ExecutionStatus::Succeeded,
        S::Failed => ExecutionStatus::Failed,
        S::TimedOut => ExecutionStatus::TimedOut,
        S::Aborted => ExecutionStatus::Aborted,
        S::PendingRedrive => ExecutionStatus::PendingRedrive,
        other => {
            return Err(ShifterError::invalid(
                "status",
                format!("unknown execution status {}", other.as_str()),
            ));
        }
    })
}

fn event(e: &aws_sdk_sfn::types::HistoryEvent) -> HistoryEvent {
    let state = e
        .state_entered_event_details()
        .map(|d| d.name())
        .or_else(|| e.state_exited_event_details().map(|d| d.name()))
        .map(str::to_owned);
    let (error, cause) = if let Some(d) = e.execution_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.task_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.lambda_function_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.execution_aborted_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.execution_timed_out_event_details() {
        (d.error(), d.cause())
    } else {
        (None, None)
    };
    HistoryEvent {
        id: e.id(),
        kind: e.r#type().as_str().to_owned(),
        at: time(e.timestamp()),
        state,
        error: error.map(str::to_owned),
        cause: cause.map(str::to_owned),
        input: e
            .state_entered_event_details()
            .and_then(|d| d.input())
            .map(str::to_owned),
        output: e
            .state_exited_event_details()
            .and_then(|d| d.output())
            .or_else(|| e.task_succeeded_event_details().and_then(|d| d.output()))
            .or_else(|| {
                e.execution_succeeded_event_details()
                    .and_then(|d| d.output())
            })
            .map(str::to_owned),
        parameters: e
            .task_scheduled_event_details()
            .map(|d| d.parameters().to_owned()),
    }
}

#[async_trait]
impl Executions for StepFunctionsExecutions {
    async fn stop_execution(
        &self,
        execution_arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ShifterError> {
        self.client
            .stop_execution()
            .execution_arn(execution_arn)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsFailure::new("StopExecution", e)
                    .into_error(|_| format!("execution {execution_arn}"))
            })
    }

    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, ShifterError> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| AwsFailure::new("StartExecution", e));
        match out {
            Ok(out) => Ok(out.execution_arn().to_owned()),
            // Step Functions itself returns the running execution for the same name and input;
            // a finished one is answered with ExecutionAlreadyExists, which is still "started".
            Err(failure) if failure.code.as_deref() == Some("ExecutionAlreadyExists") => {
                let arn = execution_arn(state_machine_arn, name);
                match self.describe_execution(&arn).await {
                    Ok(existing) if existing.input.as_ref() == Some(input) => Ok(existing.arn),
                    Err(e @ ShifterError::Transient { .. }) => Err(e),
                    _ => Err(failure.into_error(|_| format!("execution {arn}"))),
                }
            }
            Err(failure) => {
                Err(failure.into_error(|_| format!("state machine {state_machine_arn}")))
            }
        }
    }

    async fn describe_execution(&self, execution_arn: &str) -> Result<Execution, ShifterError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| {
                AwsFailure::new("DescribeExecution", e)
                    .into_error(|_| format!("execution {execution_arn}"))
            })?;
        Ok(Execution {
            arn: out.execution_arn().to_owned(),
            name: out.name().map(str::to_owned),
            status: status(out.status())?,
            started: time(out.start_date()),
            stopped: out.stop_date().map(time),
            input: document("input", out.input())?,
            output: document("output", out.output())?,
            error: out.error().map(str::to_owned),
            cause: out.cause().map(str::to_owned),
        })
    }

    async fn execution_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<HistoryEvent>, ShifterError> {
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(HISTORY_PAGE)
            .into_paginator()
            .send();
        let mut events = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsFailure::new("GetExecutionHistory", e)
                    .into_error(|_| format!("execution {execution_arn}"))
            })?;
            events.extend(page.events().iter().map(event));
        }
        Ok(events)
    }

    async fn history_after(
        &self,
        execution_arn: &str,
        after_id: i64,
    ) -> Result<Vec<HistoryEvent>, ShifterError> {
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .reverse_order(true)
            .max_results(HISTORY_PAGE)
            .into_paginator()
            .send();
        let mut newest_first = Vec::new();
        'pages: while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsFailure::new("GetExecutionHistory", e)
                    .into_error(|_| format!("execution {execution_arn}"))
            })?;
            for e in page.events() {
                if e.id() <= after_id {
                    break 'pages;
                }
                newest_first.push(event(e));
            }
        }
        newest_first.reverse();
        Ok(newest_first)
    }

    async fn list_executions(
        &self,
        state_machine_arn: &str,
        max: usize,
    ) -> Result<Vec<Execution>, ShifterError> {
        let page = i32::try_from(max.clamp(1, LIST_PAGE as usize)).unwrap_or(LIST_PAGE);
        let mut pages = self
            .client
            .list_executions()
            .state_machine_arn(state_machine_arn)
            .max_results(page)
            .into_paginator()
            .send();
        let mut listed = Vec::new();
        while listed.len() < max
            && let Some(page) = pages.next().await
        {
            let page = page.map_err(|e| {
                AwsFailure::new("ListExecutions", e)
                    .into_error(|_| format!("state machine {state_machine_arn}"))
            })?;
            for item in page.executions() {
                listed.push(Execution {
                    arn: item.execution_arn().to_owned(),
                    name: Some(item.name().to_owned()),
                    status: status(item.status())?,
                    started: time(item.start_date()),
                    stopped: item.stop_date().map(time),
                    input: None,
                    output: None,
                    error: None,
                    cause: None,
                });
            }
        }
        listed.truncate(max);
        Ok(listed)
    }
}

/// The error codes SendTaskSuccess/SendTaskFailure give for a token that no longer waits:
/// answered already, timed out, or its execution ended
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html>).
const STALE_TOKEN_CODES: [&str; 3] = ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"];

/// `Stale` for a token that no longer waits, else the failure as the stable error.
fn token_answer(failure: AwsFailure) -> Result<TokenAnswer, ShifterError> {
    if failure
        .code
        .as_deref()
        .is_some_and(|c| STALE_TOKEN_CODES.contains(&c))
    {
        return Ok(TokenAnswer::Stale);
    }
    Err(failure.into_error(|_| "task token".to_owned()))
}

#[async_trait]
impl TaskCallbacks for StepFunctionsExecutions {
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &Value,
    ) -> Result<TokenAnswer, ShifterError> {
        match self
            .client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(TokenAnswer::Delivered),
            Err(e) => token_answer(AwsFailure::new("SendTaskSuccess", e)),
        }
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<TokenAnswer, ShifterError> {
        match self
            .client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
        {
            Ok(_) => Ok(TokenAnswer::Delivered),
            Err(e) => token_answer(AwsFailure::new("SendTaskFailure", e)),
        }
    }
}
