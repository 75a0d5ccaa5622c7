//! The `PipelineJobs` port's adapter over CodePipeline (PutJobSuccessResult and
//! PutJobFailureResult for a Lambda "Invoke" action).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{FailureDetails, FailureType};

use super::errors::{AwsFailure, FailureKind};
use crate::error::ShifterError;
use crate::ports::{JobFailureType, PipelineJobs};

/// The IAM actions of the CodePipeline API calls this adapter makes, by the method that makes them
/// (see `lambda::OPERATIONS`).
pub const OPERATIONS: &[(&str, &[&str])] = &[
    ("put_job_success", &["codepipeline:PutJobSuccessResult"]),
    ("put_job_failure", &["codepipeline:PutJobFailureResult"]),
];

/// `PipelineJobs` through `aws-sdk-codepipeline`.
#[derive(Debug, Clone)]
pub struct CodePipelineJobs {
    client: Client,
}

impl CodePipelineJobs {
    /// Wraps a client (from a loaded configuration, an emulator, or a mock).
    pub fn new(client: Client) -> CodePipelineJobs {
        CodePipelineJobs { client }
    }

    /// A client for an already loaded configuration (the one [`super::AwsClients`] came from).
    pub fn from_config(config: &SdkConfig) -> CodePipelineJobs {
        CodePipelineJobs::new(Client::new(config))
    }
}

/// `JobNotFoundException` names a missing job; everything else follows the shared rules.
fn failure<E>(
    operation: &'static str,
    job_id: &str,
    err: aws_sdk_codepipeline::error::SdkError<E, aws_sdk_codepipeline::config::http::HttpResponse>,
) -> ShifterError
where
    E: aws_sdk_codepipeline::error::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let mut failure = AwsFailure::new(operation, err);
    if failure.code.as_deref() == Some("JobNotFoundException") {
        failure.kind = FailureKind::NotFound;
    }
    failure.into_error(|_| format!("job {job_id}"))
}

fn failure_type(t: JobFailureType) -> FailureType {
    match t {
        JobFailureType::ConfigurationError => FailureType::ConfigurationError,
        JobFailureType::JobFailed => FailureType::JobFailed,
    }
}

#[async_trait]
impl PipelineJobs for CodePipelineJobs {
    async fn put_job_success(
        &self,
        job_id: &str,
        continuation_token: Option<&str>,
        output_variables: &BTreeMap<String, String>,
    ) -> Result<(), ShifterError> {
        let mut request = self
            .client
            .put_job_success_result()
            .job_id(job_id)
            .set_continuation_token(continuation_token.map(str::to_owned));
        for (name, value) in output_variables {
            request = request.output_variables(name, value);
        }
        request
            .send()
            .await
            .map_err(|e| failure("PutJobSuccessResult", job_id, e))?;
        Ok(())
    }

    async fn put_job_failure(
        &self,
        job_id: &str,
        failure_type: JobFailureType,
        message: &str,
    ) -> Result<(), ShifterError> {
        let details = FailureDetails::builder()
            .r#type(self::failure_type(failure_type))
            .message(message)
            .build()
            .map_err(|e| ShifterError::invalid("failureDetails", e.to_string()))?;
        self.client
            .put_job_failure_result()
            .job_id(job_id)
            .failure_details(details)
            .send()
            .await
            .map_err(|e| failure("PutJobFailureResult", job_id, e))?;
        Ok(())
    }
}
