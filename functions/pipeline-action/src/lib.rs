//! Pipeline Action: the target of a CodePipeline "Invoke" action (provider Lambda). The first
//! invocation starts a deployment and hands CodePipeline the execution ARN as continuation
//! token; each later invocation reports how the execution stands, until it has ended.
//!
//! The job always gets a result: configuration and execution problems become a job failure;
//! only a failure to report is returned as an error, so Lambda retries the invocation.

use std::collections::BTreeMap;

use aws_lambda_events::codepipeline_job::{CodePipelineData, CodePipelineJobEvent};
use serde::Serialize;
use serde_json::Value;
use shifter::ShifterError;
use shifter::domain::failure::error_message;
use shifter::domain::text::cut_chars;
use shifter::domain::{DeploymentRequest, InputDocument};
use shifter::ports::{
    Execution, ExecutionStatus, Executions, JobFailureType, MAX_JOB_FAILURE_MESSAGE_CHARS,
    PipelineJobs,
};
use tracing::{error, info, warn};

/// Prefix of the execution names this action starts.
pub const EXECUTION_NAME_PREFIX: &str = "codepipeline-";

/// Step Functions' limit on an execution name, in characters.
const MAX_EXECUTION_NAME_CHARS: usize = 80;

/// Infrastructure facts from the environment (read once at start-up by `main`).
#[derive(Debug, Clone)]
pub struct Config {
    /// The deployment state machine (`STATE_MACHINE_ARN`).
    pub state_machine_arn: String,
}

/// The ports the action works through.
pub struct Ports<'a> {
    /// Step Functions executions.
    pub executions: &'a dyn Executions,
    /// CodePipeline job results.
    pub jobs: &'a dyn PipelineJobs,
}

/// The result reported to CodePipeline for one invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum JobReport {
    /// Still deploying: invoke again with `token` (the execution ARN).
    #[serde(rename_all = "camelCase")]
    Continue {
        /// The continuation token.
        token: String,
    },
    /// Deployed; the variables are available to downstream actions.
    #[serde(rename_all = "camelCase")]
    Succeed {
        /// `deployedVersion`, `previousVersion`, `executionArn`, `outcome`.
        output_variables: BTreeMap<String, String>,
    },
    /// Not deployed, and why.
    #[serde(rename_all = "camelCase")]
    Fail {
        /// `ConfigurationError` for bad UserParameters, `JobFailed` otherwise.
        failure_type: JobFailureType,
        /// At most 5000 characters.
        message: String,
    },
}

impl JobReport {
    fn fail(failure_type: JobFailureType, message: impl Into<String>) -> JobReport {
        JobReport::Fail {
            failure_type,
            message: truncate(&message.into(), MAX_JOB_FAILURE_MESSAGE_CHARS),
        }
    }
}

/// What an invocation has to do before it can report.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// First invocation with valid UserParameters: start (or find) the execution.
    Start {
        /// Derived from the job id, so a retried invocation finds the same execution.
        name: String,
        /// UserParameters as JSON: the execution input.
        input: Value,
    },
    /// A continuation: see how the execution in the token stands.
    Follow {
        /// The token, which is the execution ARN.
        execution_arn: String,
    },
    /// Nothing to start: report this at once.
    Report(JobReport),
}

/// Handles one invocation: decides, starts or describes the execution, reports the result.
pub async fn pipeline_action(
    ports: &Ports<'_>,
    config: &Config,
    event: CodePipelineJobEvent,
) -> Result<JobReport, ShifterError> {
    let job = event.code_pipeline_job;
    let Some(job_id) = job.id.filter(|id| !id.is_empty()) else {
        error!("CodePipeline job without an id; no result can be reported");
        return Err(ShifterError::invalid(
            "CodePipeline.job.id",
            "is missing; the job's result cannot be reported",
        ));
    };
    let report = match plan(&job_id, &job.data) {
        Plan::Report(report) => report,
        Plan::Start { name, input } => match ports
            .executions
            .start_execution(&config.state_machine_arn, &name, &input)
            .await
        {
            Ok(execution_arn) => {
                info!(%job_id, %execution_arn, "deployment started");
                JobReport::Continue {
                    token: execution_arn,
                }
            }
            Err(e) => {
                warn!(%job_id, error = e.kind(), "deployment could not be started");
                JobReport::fail(
                    JobFailureType::JobFailed,
                    format!("the deployment could not be started: {}: {e}", e.kind()),
                )
            }
        },
        Plan::Follow { execution_arn } => {
            match ports.executions.describe_execution(&execution_arn).await {
                Ok(execution) => report_for(&execution_arn, &execution),
                Err(e) => {
                    warn!(%job_id, %execution_arn, error = e.kind(), "execution could not be read");
                    JobReport::fail(
                        JobFailureType::JobFailed,
                        format!(
                            "the deployment {execution_arn} could not be read: {}: {e}",
                            e.kind()
                        ),
                    )
                }
            }
        }
    };
    report_result(ports.jobs, &job_id, &report).await?;
    Ok(report)
}

/// Decides what the invocation does from the job alone; UserParameters are validated here,
/// before anything is started.
pub fn plan(job_id: &str, data: &CodePipelineData) -> Plan {
    if let Some(token) = data.continuation_token.as_deref().filter(|t| !t.is_empty()) {
        return Plan::Follow {
            execution_arn: token.to_owned(),
        };
    }
    let configuration_error = |message: String| {
        Plan::Report(JobReport::fail(JobFailureType::ConfigurationError, message))
    };
    let text = data
        .action_configuration
        .configuration
        .user_parameters
        .as_deref()
        .unwrap_or_default();
    if text.trim().is_empty() {
        return configuration_error(
            "UserParameters is empty: set it to the execution input (JSON), e.g. \
             {\"functionName\": \"orders-api\", \"alias\": \"live\", \"targetVersion\": \"latest\"}"
                .to_owned(),
        );
    }
    let document = match InputDocument::parse(text) {
        Ok(document) => document,
        Err(e) => return configuration_error(format!("UserParameters {}", e.message)),
    };
    if let Err(e) = DeploymentRequest::from_document(&document) {
        return configuration_error(format!(
            "UserParameters is not a valid execution input: {}: {}",
            e.field, e.message
        ));
    }
    Plan::Start {
        name: execution_name(job_id),
        input: document.value,
    }
}

/// `codepipeline-<job id>`, with any character Step Functions refuses replaced by `-` and cut
/// to its 80-character limit.
pub fn execution_name(job_id: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    EXECUTION_NAME_PREFIX
        .chars()
        .chain(job_id.chars().map(|c| if allowed(c) { c } else { '-' }))
        .take(MAX_EXECUTION_NAME_CHARS)
        .collect()
}

/// What to tell CodePipeline about an execution: continue while it runs, succeed with output
/// variables, or fail with its error and cause.
pub fn report_for(token: &str, execution: &Execution) -> JobReport {
    match execution.status {
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => JobReport::Continue {
            token: token.to_owned(),
        },
        ExecutionStatus::Succeeded => JobReport::Succeed {
            output_variables: output_variables(execution),
        },
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {
            let status = match execution.status {
                ExecutionStatus::TimedOut => "timed out",
                ExecutionStatus::Aborted => "was aborted",
                _ => "failed",
            };
            let error = execution.error.as_deref().unwrap_or("(no error name)");
            // A cause that is a Lambda error payload (a rejection by Start Deployment) reads as
            // its errorMessage alone: no errorType repeat, no stack trace
            // (https://docs.aws.amazon.com/lambda/latest/dg/rust-handler.html).
            let cause = execution
                .cause
                .as_deref()
                .map_or_else(|| "(no cause given)".to_owned(), error_message);
            JobReport::fail(
                JobFailureType::JobFailed,
                format!(
                    "deployment {status}: {error}: {cause} (execution {})",
                    execution.arn
                ),
            )
        }
    }
}

/// The variables downstream actions read, from the Deployment document the execution returned.
fn output_variables(execution: &Execution) -> BTreeMap<String, String> {
    let field = |name: &str| {
        execution
            .output
            .as_ref()
            .and_then(|o| o.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let outcome = match field("decision").as_deref() {
        Some("alreadyCurrent") => "AlreadyCurrent",
        _ => "Succeeded",
    };
    let mut variables = BTreeMap::from([
        ("executionArn".to_owned(), execution.arn.clone()),
        ("outcome".to_owned(), outcome.to_owned()),
    ]);
    for (variable, document_field) in [
        ("deployedVersion", "targetVersion"),
        ("previousVersion", "originalVersion"),
    ] {
        match field(document_field) {
            Some(value) => {
                variables.insert(variable.to_owned(), value);
            }
            None => warn!(
                execution_arn = %execution.arn,
                field = document_field,
                "execution output has no such field; output variable left out"
            ),
        }
    }
    variables
}

/// Sends the report; a failure here is logged and returned so Lambda retries the invocation.
async fn report_result(
    jobs: &dyn PipelineJobs,
    job_id: &str,
    report: &JobReport,
) -> Result<(), ShifterError> {
    let sent = match report {
        JobReport::Continue { token } => {
            jobs.put_job_success(job_id, Some(token), &BTreeMap::new())
                .await
        }
        JobReport::Succeed { output_variables } => {
            jobs.put_job_success(job_id, None, output_variables).await
        }
        JobReport::Fail {
            failure_type,
            message,
        } => jobs.put_job_failure(job_id, *failure_type, message).await,
    };
    match &sent {
        Ok(()) => match report {
            JobReport::Continue { .. } => info!(%job_id, "job continued"),
            JobReport::Succeed { output_variables } => info!(
                %job_id,
                outcome = output_variables.get("outcome").map(String::as_str),
                deployed_version = output_variables.get("deployedVersion").map(String::as_str),
                "job succeeded"
            ),
            JobReport::Fail { failure_type, .. } => {
                info!(%job_id, failure_type = ?failure_type, "job failed")
            }
        },
        Err(e) => {
            error!(%job_id, error = e.kind(), message = %e, "job result could not be reported")
        }
    }
    sent
}

/// `text` cut to at most `max` characters by [`cut_chars`], its `…` widened to ` … (truncated)`
/// so a pipeline's reader sees the message was cut.
pub fn truncate(text: &str, max: usize) -> String {
    const MARK: &str = " … (truncated)";
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(MARK.chars().count());
    let cut = cut_chars(text, keep + 1);
    format!("{}{MARK}", cut.strip_suffix('…').unwrap_or(&cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_are_valid_step_functions_names() {
        let cases = [
            (
                "uuid job id",
                "11111111-abcd-1111-abcd-111111abcdef",
                "codepipeline-11111111-abcd-1111-abcd-111111abcdef",
            ),
            ("refused characters", "a b/c:d*e", "codepipeline-a-b-c-d-e"),
        ];
        for (name, job_id, expected) in cases {
            assert_eq!(execution_name(job_id), expected, "{name}");
        }
        let long = execution_name(&"x".repeat(200));
        assert_eq!(long.chars().count(), 80);
        assert!(long.starts_with(EXECUTION_NAME_PREFIX));
    }

    #[test]
    fn truncation_keeps_whole_characters_and_the_limit() {
        assert_eq!(truncate("short", 10), "short");
        let exactly = "é".repeat(5000);
        assert_eq!(truncate(&exactly, 5000), exactly);
        let long = "é".repeat(6000);
        let cut = truncate(&long, 5000);
        assert_eq!(cut.chars().count(), 5000);
        assert!(cut.ends_with(" … (truncated)"));
        assert!(cut.starts_with("ééé"));
    }
}
