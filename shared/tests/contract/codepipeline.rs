//! CodePipeline (`PipelineJobs`): the job-result calls on `FakePipelineJobs` and on
//! `CodePipelineJobs` over aws-smithy-mocks.
//!
//! Not on moto: moto serves no CodePipeline job APIs (gap `codepipeline-job-apis`), so the
//! mocks below stand in for the service.
//! <https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PutJobSuccessResult.html>,
//! <https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PutJobFailureResult.html>.

use std::collections::BTreeMap;

use shifter::aws::CodePipelineJobs;
use shifter::fakes::FakePipelineJobs;
use shifter::ports::{JobFailureType, PipelineJobs};

use crate::support::assert_not_found;

// ---------------------------------------------------------------- the fake

#[tokio::test]
async fn fake_job_continues_any_number_of_times_then_ends_once() {
    let jobs = FakePipelineJobs::new();
    for _ in 0..2 {
        jobs.put_job_success("job-1", Some("arn:execution"), &BTreeMap::new())
            .await
            .expect("continued");
    }
    jobs.put_job_failure("job-1", JobFailureType::JobFailed, "AlarmTriggered")
        .await
        .expect("failed");
    let err = jobs
        .put_job_success("job-1", None, &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "InvalidInput");
    assert!(
        err.to_string().contains("InvalidJobStateException"),
        "{err}"
    );
    assert_eq!(jobs.results("job-1").len(), 3);
    jobs.put_job_success("job-2", None, &BTreeMap::new())
        .await
        .expect("another job is another job");
}

#[tokio::test]
async fn fake_refuses_requests_codepipeline_refuses() {
    let jobs = FakePipelineJobs::new();
    let variables = BTreeMap::from([("outcome".to_owned(), "Succeeded".to_owned())]);
    let err = jobs
        .put_job_success("job-1", Some("arn:execution"), &variables)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "InvalidInput", "variables with a token: {err}");
    for message in [String::new(), "x".repeat(5001)] {
        let err = jobs
            .put_job_failure("job-1", JobFailureType::JobFailed, &message)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "InvalidInput", "{} chars", message.len());
    }
    assert!(jobs.results("job-1").is_empty());
    jobs.throttle_next(1);
    let err = jobs
        .put_job_failure("job-1", JobFailureType::JobFailed, "x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Transient");
    assert!(
        jobs.results("job-1").is_empty(),
        "a throttled call records nothing"
    );
}

// ---------------------------------------------------------------- aws-smithy-mocks

mod mocks {
    use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
    use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultOutput;
    use aws_sdk_codepipeline::types::FailureType;
    use aws_smithy_mocks::{Rule, RuleMode, mock};

    use super::*;
    use crate::support::{ATTEMPTS, codepipeline_client, error_body, http_error, throttled};

    fn client(rules: &[&Rule]) -> CodePipelineJobs {
        CodePipelineJobs::new(codepipeline_client(RuleMode::Sequential, rules))
    }

    #[tokio::test]
    async fn success_sends_the_token_or_the_variables() {
        let continued = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
            .match_requests(|req| {
                req.job_id() == Some("job-1")
                    && req.continuation_token() == Some("arn:execution")
                    && req.output_variables().is_none()
            })
            .then_output(|| PutJobSuccessResultOutput::builder().build());
        let succeeded = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
            .match_requests(|req| {
                let variables = req.output_variables().cloned().unwrap_or_default();
                req.job_id() == Some("job-1")
                    && req.continuation_token().is_none()
                    && variables.len() == 2
                    && variables.get("deployedVersion").map(String::as_str) == Some("42")
                    && variables.get("outcome").map(String::as_str) == Some("Succeeded")
            })
            .then_output(|| PutJobSuccessResultOutput::builder().build());
        let jobs = client(&[&continued, &succeeded]);
        jobs.put_job_success("job-1", Some("arn:execution"), &BTreeMap::new())
            .await
            .expect("continued");
        let variables = BTreeMap::from([
            ("deployedVersion".to_owned(), "42".to_owned()),
            ("outcome".to_owned(), "Succeeded".to_owned()),
        ]);
        jobs.put_job_success("job-1", None, &variables)
            .await
            .expect("succeeded");
        assert_eq!((continued.num_calls(), succeeded.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn failure_sends_the_type_and_the_message() {
        let cases = [
            (
                JobFailureType::ConfigurationError,
                FailureType::ConfigurationError,
            ),
            (JobFailureType::JobFailed, FailureType::JobFailed),
        ];
        for (ours, theirs) in cases {
            let expected = theirs.clone();
            let failed = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
                .match_requests(move |req| {
                    req.job_id() == Some("job-1")
                        && req.failure_details().is_some_and(|d| {
                            *d.r#type() == expected && d.message() == "alias: bad name"
                        })
                })
                .then_output(|| PutJobFailureResultOutput::builder().build());
            client(&[&failed])
                .put_job_failure("job-1", ours, "alias: bad name")
                .await
                .expect("reported");
            assert_eq!(failed.num_calls(), 1, "{theirs:?}");
        }
    }

    #[tokio::test]
    async fn refusals_are_named() {
        let ended = http_error(
            mock!(aws_sdk_codepipeline::Client::put_job_success_result),
            400,
            error_body("InvalidJobStateException", "The job is in an invalid state"),
            1,
        );
        let missing = http_error(
            mock!(aws_sdk_codepipeline::Client::put_job_failure_result),
            400,
            error_body("JobNotFoundException", "The job was not found"),
            1,
        );
        let jobs = client(&[&ended, &missing]);
        let err = jobs
            .put_job_success("job-1", None, &BTreeMap::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "InvalidInput", "{err}");
        assert!(
            err.to_string().contains("InvalidJobStateException"),
            "{err}"
        );
        assert_not_found(
            jobs.put_job_failure("job-1", JobFailureType::JobFailed, "x")
                .await,
            "job job-1",
        );
    }

    #[tokio::test]
    async fn throttling_is_transient_after_sdk_retries() {
        let rule = throttled(mock!(aws_sdk_codepipeline::Client::put_job_success_result));
        let err = client(&[&rule])
            .put_job_success("job-1", Some("arn:execution"), &BTreeMap::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(rule.num_calls(), ATTEMPTS);
    }
}
