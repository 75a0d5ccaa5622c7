//! The CodePipeline action over the in-memory executions and job results, one invocation at a
//! time, starting from the shipped sample events.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::codepipeline_job::CodePipelineJobEvent;
use pipeline_action::{Config, JobReport, Ports, pipeline_action};
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::fakes::{FakeExecutions, FakePipelineJobs, JobResult, ManualClock};
use shifter::ports::{ExecutionStatus, JobFailureType};

const FIRST: &str = include_str!("../../../events/codepipeline-first.json");
const CONTINUATION: &str = include_str!("../../../events/codepipeline-continuation.json");

const STATE_MACHINE: &str =
    "arn:aws:states:eu-west-1:123456789012:stateMachine:traffic-shifter-deployment";
const JOB: &str = "11111111-abcd-1111-abcd-111111abcdef";
const EXECUTION: &str = "arn:aws:states:eu-west-1:123456789012:execution:traffic-shifter-deployment:codepipeline-11111111-abcd-1111-abcd-111111abcdef";

struct World {
    executions: FakeExecutions,
    jobs: FakePipelineJobs,
    config: Config,
}

impl World {
    fn new() -> World {
        let executions = FakeExecutions::new(Arc::new(ManualClock::at_epoch()));
        executions.add_state_machine(STATE_MACHINE);
        World {
            executions,
            jobs: FakePipelineJobs::new(),
            config: Config {
                state_machine_arn: STATE_MACHINE.to_owned(),
            },
        }
    }

    async fn invoke(&self, event: CodePipelineJobEvent) -> Result<JobReport, ShifterError> {
        let ports = Ports {
            executions: &self.executions,
            jobs: &self.jobs,
        };
        pipeline_action(&ports, &self.config, event).await
    }

    /// The first-call sample, with its UserParameters as written.
    fn first() -> CodePipelineJobEvent {
        serde_json::from_str(FIRST).expect("events/codepipeline-first.json")
    }

    /// The first-call sample with other UserParameters.
    fn first_with(user_parameters: &str) -> CodePipelineJobEvent {
        let mut event = World::first();
        event
            .code_pipeline_job
            .data
            .action_configuration
            .configuration
            .user_parameters = Some(user_parameters.to_owned());
        event
    }

    /// The continuation sample; its token is the execution the first call starts.
    fn continuation() -> CodePipelineJobEvent {
        serde_json::from_str(CONTINUATION).expect("events/codepipeline-continuation.json")
    }

    /// The Deployment document a succeeded execution returns (the fields the action reads).
    fn output(decision: &str, original: &str, target: &str) -> Value {
        json!({
            "deploymentId": "codepipeline-11111111-abcd-1111-abcd-111111abcdef",
            "functionName": "orders-api",
            "alias": "live",
            "originalVersion": original,
            "targetVersion": target,
            "decision": decision,
        })
    }

    fn failure(&self) -> (JobFailureType, String) {
        match self.jobs.last(JOB) {
            Some(JobResult::Failed {
                failure_type,
                message,
            }) => (failure_type, message),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}

#[test]
fn sample_events_are_one_job_and_the_token_is_the_execution_it_starts() {
    let first = World::first().code_pipeline_job;
    let next = World::continuation().code_pipeline_job;
    assert_eq!(first.id.as_deref(), Some(JOB));
    assert_eq!(next.id.as_deref(), Some(JOB));
    assert_eq!(first.data.continuation_token, None);
    assert_eq!(next.data.continuation_token.as_deref(), Some(EXECUTION));
    assert_eq!(
        first
            .data
            .action_configuration
            .configuration
            .user_parameters,
        next.data.action_configuration.configuration.user_parameters
    );
}

#[tokio::test]
async fn first_invocation_starts_the_execution_and_continues_with_its_arn() {
    let w = World::new();
    let report = w.invoke(World::first()).await.expect("reported");
    assert_eq!(
        report,
        JobReport::Continue {
            token: EXECUTION.to_owned()
        }
    );
    assert_eq!(w.executions.started(), 1);
    let execution = &w.executions.executions()[0];
    assert_eq!(execution.arn, EXECUTION);
    let user_parameters: Value = serde_json::from_str(
        World::first()
            .code_pipeline_job
            .data
            .action_configuration
            .configuration
            .user_parameters
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        execution.input.as_ref(),
        Some(&user_parameters),
        "the execution input is UserParameters, as a console run would take it"
    );
    assert_eq!(
        w.jobs.results(JOB),
        [JobResult::Continued {
            token: EXECUTION.to_owned()
        }]
    );
}

#[tokio::test]
async fn continuation_while_running_continues_with_the_same_token() {
    let w = World::new();
    w.invoke(World::first()).await.expect("started");
    for _ in 0..3 {
        let report = w.invoke(World::continuation()).await.expect("reported");
        assert_eq!(
            report,
            JobReport::Continue {
                token: EXECUTION.to_owned()
            }
        );
    }
    assert_eq!(w.jobs.results(JOB).len(), 4);
    assert!(w.jobs.results(JOB).iter().all(|r| !r.is_final()));
    assert_eq!(w.executions.started(), 1, "a continuation starts nothing");
}

#[tokio::test]
async fn succeeded_execution_succeeds_the_job_with_output_variables() {
    let cases = [
        ("deployed", "succeed", "41", "42", "Succeeded"),
        (
            "already current",
            "alreadyCurrent",
            "42",
            "42",
            "AlreadyCurrent",
        ),
    ];
    for (name, decision, original, target, outcome) in cases {
        let w = World::new();
        w.invoke(World::first()).await.expect("started");
        w.executions
            .succeed(EXECUTION, World::output(decision, original, target))
            .expect("scripted");
        let report = w.invoke(World::continuation()).await.expect("reported");
        let expected = BTreeMap::from(
            [
                ("deployedVersion", target),
                ("previousVersion", original),
                ("executionArn", EXECUTION),
                ("outcome", outcome),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert_eq!(
            report,
            JobReport::Succeed {
                output_variables: expected.clone()
            },
            "{name}"
        );
        assert_eq!(
            w.jobs.last(JOB),
            Some(JobResult::Succeeded {
                output_variables: expected
            }),
            "{name}"
        );
    }
}

#[tokio::test]
async fn ended_execution_fails_the_job_with_its_error_and_cause() {
    let cases = [
        (
            ExecutionStatus::Failed,
            "AlarmTriggered",
            "orders-api-errors is in ALARM; rolled back to 41",
            "deployment failed",
        ),
        (
            ExecutionStatus::TimedOut,
            "States.Timeout",
            "the execution ran past its timeout",
            "deployment timed out",
        ),
        (
            ExecutionStatus::Aborted,
            "Stopped",
            "stopped by alice from the console",
            "deployment was aborted",
        ),
    ];
    for (status, error, cause, says) in cases {
        let w = World::new();
        w.invoke(World::first()).await.expect("started");
        w.executions
            .fail(EXECUTION, status, error, cause)
            .expect("scripted");
        let report = w.invoke(World::continuation()).await.expect("reported");
        let (failure_type, message) = w.failure();
        assert_eq!(failure_type, JobFailureType::JobFailed, "{status:?}");
        assert!(message.contains(says), "{status:?}: {message}");
        assert!(message.contains(error), "{status:?}: {message}");
        assert!(message.contains(cause), "{status:?}: {message}");
        assert!(message.contains(EXECUTION), "{status:?}: {message}");
        assert!(matches!(report, JobReport::Fail { .. }), "{status:?}");
    }
}

/// A rejection's cause is Start Deployment's Lambda error payload: the job's message carries
/// its errorMessage, not the JSON with its trace.
#[tokio::test]
async fn a_lambda_error_cause_reads_as_its_message_without_the_trace() {
    let w = World::new();
    w.invoke(World::first()).await.expect("started");
    let cause = r#"{"errorType":"InvalidInput","errorMessage":"alias: x y is not an alias name","trace":["at start_deployment::handler"]}"#;
    w.executions
        .fail(EXECUTION, ExecutionStatus::Failed, "InvalidInput", cause)
        .expect("scripted");
    w.invoke(World::continuation()).await.expect("reported");
    let (_, message) = w.failure();
    assert!(
        message.starts_with("deployment failed: InvalidInput: alias: x y is not an alias name"),
        "{message}"
    );
    assert!(!message.contains("trace") && !message.contains("start_deployment::handler"));
}

#[tokio::test]
async fn a_long_cause_is_cut_to_codepipelines_limit() {
    let w = World::new();
    w.invoke(World::first()).await.expect("started");
    let cause = "Hook orders-api-pre said: ".to_owned() + &"ünïcödé ".repeat(1000);
    w.executions
        .fail(EXECUTION, ExecutionStatus::Failed, "HookFailed", &cause)
        .expect("scripted");
    w.invoke(World::continuation())
        .await
        .expect("reported: the fake refuses a message over 5000 characters");
    let (_, message) = w.failure();
    assert_eq!(message.chars().count(), 5000);
    assert!(message.starts_with("deployment failed: HookFailed: Hook orders-api-pre said"));
    assert!(message.ends_with("(truncated)"), "{message}");
}

#[tokio::test]
async fn bad_user_parameters_fail_the_job_at_once_naming_the_field() {
    let cases = [
        ("not JSON", "functionName=orders-api", "not JSON"),
        ("empty", "  ", "UserParameters is empty"),
        ("not an object", "[1, 2]", "(input)"),
        (
            "missing field",
            r#"{"alias": "live", "targetVersion": "2"}"#,
            "functionName",
        ),
        (
            "invalid strategy",
            r#"{"functionName": "orders-api", "alias": "live", "targetVersion": "2", "strategy": "Canary200Percent5Minutes"}"#,
            "strategy",
        ),
        (
            "unknown field",
            r#"{"functionName": "orders-api", "alias": "live", "targetVersion": "2", "aliass": "x"}"#,
            "aliass",
        ),
        (
            "repeated key",
            r#"{"functionName": "ghost", "functionName": "orders-api", "alias": "live", "targetVersion": "2", "strategy": "AllAtOnce"}"#,
            "functionName: is given twice",
        ),
        (
            "null field",
            r#"{"functionName": "orders-api", "alias": "live", "targetVersion": "2", "strategy": "AllAtOnce", "alarms": null}"#,
            "alarms: is null",
        ),
    ];
    for (name, user_parameters, names) in cases {
        let w = World::new();
        let report = w
            .invoke(World::first_with(user_parameters))
            .await
            .expect("reported");
        let (failure_type, message) = w.failure();
        assert_eq!(failure_type, JobFailureType::ConfigurationError, "{name}");
        assert!(message.contains(names), "{name}: {message}");
        assert!(matches!(report, JobReport::Fail { .. }), "{name}");
        assert_eq!(w.executions.started(), 0, "{name}: nothing started");
    }
}

#[tokio::test]
async fn missing_user_parameters_fail_the_job() {
    let w = World::new();
    let mut event = World::first();
    event
        .code_pipeline_job
        .data
        .action_configuration
        .configuration
        .user_parameters = None;
    w.invoke(event).await.expect("reported");
    let (failure_type, message) = w.failure();
    assert_eq!(failure_type, JobFailureType::ConfigurationError);
    assert!(message.contains("UserParameters"), "{message}");
    assert_eq!(w.executions.started(), 0);
}

#[tokio::test]
async fn retried_first_invocation_does_not_start_a_second_deployment() {
    let w = World::new();
    w.jobs.throttle_next(1);
    let err = w.invoke(World::first()).await.unwrap_err();
    assert_eq!(err.kind(), "Transient", "the report failed: {err}");
    assert_eq!(
        w.executions.started(),
        1,
        "started before the report failed"
    );

    // Lambda retries the same event.
    let report = w.invoke(World::first()).await.expect("reported");
    assert_eq!(
        report,
        JobReport::Continue {
            token: EXECUTION.to_owned()
        }
    );
    assert_eq!(
        w.executions.started(),
        1,
        "the retry found the same execution"
    );
    assert_eq!(w.executions.executions().len(), 1);
}

#[tokio::test]
async fn retried_first_invocation_after_the_execution_ended_still_reports_it() {
    let w = World::new();
    w.jobs.throttle_next(1);
    w.invoke(World::first()).await.unwrap_err();
    w.executions
        .succeed(EXECUTION, World::output("alreadyCurrent", "42", "42"))
        .expect("scripted");

    w.invoke(World::first()).await.expect("continued");
    let report = w.invoke(World::continuation()).await.expect("reported");
    assert!(
        matches!(&report, JobReport::Succeed { output_variables } if output_variables["outcome"] == "AlreadyCurrent"),
        "{report:?}"
    );
    assert_eq!(w.executions.started(), 1);
}

#[tokio::test]
async fn a_different_deployment_under_the_same_job_name_is_refused() {
    let w = World::new();
    w.jobs.throttle_next(1);
    w.invoke(World::first()).await.unwrap_err();
    let other = r#"{"functionName": "orders-api", "alias": "live", "targetVersion": "7", "strategy": "AllAtOnce"}"#;
    w.invoke(World::first_with(other)).await.expect("reported");
    let (failure_type, message) = w.failure();
    assert_eq!(failure_type, JobFailureType::JobFailed);
    assert!(message.contains("ExecutionAlreadyExists"), "{message}");
    assert_eq!(w.executions.started(), 1);
}

#[tokio::test]
async fn failure_to_start_or_describe_fails_the_job_with_the_reason() {
    let w = World::new();
    w.executions.throttle_next(1);
    w.invoke(World::first()).await.expect("reported");
    let (failure_type, message) = w.failure();
    assert_eq!(failure_type, JobFailureType::JobFailed);
    assert!(message.contains("could not be started"), "{message}");
    assert!(message.contains("Transient"), "{message}");
    assert!(message.contains("ThrottlingException"), "{message}");
    assert_eq!(w.executions.started(), 0);

    let w = World::new();
    w.invoke(World::first()).await.expect("started");
    w.executions.throttle_next(1);
    w.invoke(World::continuation()).await.expect("reported");
    let (failure_type, message) = w.failure();
    assert_eq!(failure_type, JobFailureType::JobFailed);
    assert!(message.contains("could not be read"), "{message}");
    assert!(message.contains(EXECUTION), "{message}");

    let w = World::new();
    w.invoke(World::continuation()).await.expect("reported");
    let (_, message) = w.failure();
    assert!(
        message.contains("does not exist"),
        "a token for an unknown execution: {message}"
    );
}

#[tokio::test]
async fn failure_to_report_is_returned_so_lambda_retries() {
    let w = World::new();
    w.invoke(World::first()).await.expect("started");
    w.executions
        .succeed(EXECUTION, World::output("succeed", "41", "42"))
        .expect("scripted");
    w.jobs.throttle_next(1);
    let err = w.invoke(World::continuation()).await.unwrap_err();
    assert_eq!(err.kind(), "Transient", "{err}");
    assert!(!w.jobs.last(JOB).is_some_and(|r| r.is_final()));

    // The retry reports; a job with a final result takes no other.
    w.invoke(World::continuation()).await.expect("reported");
    assert!(matches!(
        w.jobs.last(JOB),
        Some(JobResult::Succeeded { .. })
    ));
    let err = w.invoke(World::continuation()).await.unwrap_err();
    assert_eq!(err.kind(), "InvalidInput");
    assert!(
        err.to_string().contains("InvalidJobStateException"),
        "{err}"
    );
}

#[tokio::test]
async fn a_job_without_an_id_is_an_error_and_reports_nothing() {
    let w = World::new();
    let mut event = World::first();
    event.code_pipeline_job.id = None;
    let err = w.invoke(event).await.unwrap_err();
    assert_eq!(err.kind(), "InvalidInput");
    assert_eq!(w.executions.started(), 0);
}
