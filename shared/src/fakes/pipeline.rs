//! In-memory CodePipeline job results: a job can be continued any number of times, then gets
//! exactly one final result; anything after that is refused as CodePipeline refuses it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::error::ShifterError;
use crate::ports::{JobFailureType, MAX_JOB_FAILURE_MESSAGE_CHARS, PipelineJobs};

/// What a job was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// PutJobSuccessResult with a continuation token: invoke the action again.
    Continued {
        /// The token the next invocation gets.
        token: String,
    },
    /// PutJobSuccessResult without a token: the action succeeded.
    Succeeded {
        /// Variables for downstream actions.
        output_variables: BTreeMap<String, String>,
    },
    /// PutJobFailureResult: the action failed.
    Failed {
        /// How it failed.
        failure_type: JobFailureType,
        /// Why, for people.
        message: String,
    },
}

impl JobResult {
    /// True for a success without a token or a failure: the job is over.
    pub fn is_final(&self) -> bool {
        !matches!(self, JobResult::Continued { .. })
    }
}

#[derive(Debug, Default)]
struct Jobs {
    results: Vec<(String, JobResult)>,
    fail_next: u32,
}

/// CodePipeline's job-result API in memory; records every accepted result.
#[derive(Debug, Clone, Default)]
pub struct FakePipelineJobs {
    jobs: Arc<Mutex<Jobs>>,
}

impl FakePipelineJobs {
    /// No results yet.
    pub fn new() -> Self {
        FakePipelineJobs::default()
    }

    fn lock(&self) -> MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `n` calls fail with throttling and record nothing.
    pub fn throttle_next(&self, n: u32) {
        self.lock().fail_next = n;
    }

    /// Every accepted result for `job_id`, in order.
    pub fn results(&self, job_id: &str) -> Vec<JobResult> {
        self.lock()
            .results
            .iter()
            .filter(|(id, _)| id == job_id)
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// The latest accepted result for `job_id`.
    pub fn last(&self, job_id: &str) -> Option<JobResult> {
        self.results(job_id).pop()
    }

    fn record(&self, operation: &str, job_id: &str, result: JobResult) -> Result<(), ShifterError> {
        let mut jobs = self.lock();
        if jobs.fail_next > 0 {
            jobs.fail_next -= 1;
            return Err(ShifterError::transient(
                operation,
                "ThrottlingException: Rate exceeded",
            ));
        }
        if jobs
            .results
            .iter()
            .any(|(id, r)| id == job_id && r.is_final())
        {
            return Err(ShifterError::invalid(
                operation,
                format!("InvalidJobStateException: job {job_id} already has a final result"),
            ));
        }
        jobs.results.push((job_id.to_owned(), result));
        Ok(())
    }
}

#[async_trait]
impl PipelineJobs for FakePipelineJobs {
    async fn put_job_success(
        &self,
        job_id: &str,
        continuation_token: Option<&str>,
        output_variables: &BTreeMap<String, String>,
    ) -> Result<(), ShifterError> {
        let result = match continuation_token {
            Some(_) if !output_variables.is_empty() => {
                return Err(ShifterError::invalid(
                    "PutJobSuccessResult",
                    "ValidationException: outputVariables can be included only when there is \
                     no continuation token",
                ));
            }
            Some(token) => JobResult::Continued {
                token: token.to_owned(),
            },
            None => JobResult::Succeeded {
                output_variables: output_variables.clone(),
            },
        };
        self.record("PutJobSuccessResult", job_id, result)
    }

    async fn put_job_failure(
        &self,
        job_id: &str,
        failure_type: JobFailureType,
        message: &str,
    ) -> Result<(), ShifterError> {
        let chars = message.chars().count();
        if chars == 0 || chars > MAX_JOB_FAILURE_MESSAGE_CHARS {
            return Err(ShifterError::invalid(
                "PutJobFailureResult",
                format!(
                    "ValidationException: failureDetails.message has {chars} characters; it must \
                     have 1 to {MAX_JOB_FAILURE_MESSAGE_CHARS}"
                ),
            ));
        }
        self.record(
            "PutJobFailureResult",
            job_id,
            JobResult::Failed {
                failure_type,
                message: message.to_owned(),
            },
        )
    }
}
