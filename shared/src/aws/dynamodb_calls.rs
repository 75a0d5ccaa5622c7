//! How the registry's calls fail and retry: DynamoDB's errors as [`ShifterError`]s naming the
//! table, and batch writes completed across what DynamoDB leaves unprocessed.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::WriteRequest;
use tracing::warn;

use super::super::errors::{AwsFailure, FailureKind};
use super::{ActiveDeployment, DynamoDbRegistry};
use crate::error::ShifterError;

/// DynamoDB error codes that are worth retrying besides the shared throttling and 5xx codes:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>.
const TRANSIENT_CODES: &[&str] = &[
    "TransactionConflictException",
    "ReplicatedWriteConflictException",
    "LimitExceededException",
];

/// BatchWriteItem takes at most 25 requests per call:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>.
const BATCH_SIZE: usize = 25;

/// Calls a batch gets to write what DynamoDB left unprocessed before the write is `Transient`.
const BATCH_ATTEMPTS: u32 = 5;

impl DynamoDbRegistry {
    /// A failed call as a [`ShifterError`] naming the table: a missing table is `NotFound`,
    /// a refusal (AccessDenied, ValidationException) `InvalidInput` naming the operation,
    /// throttling and 5xx `Transient`.
    pub(super) fn fail<E>(
        &self,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> ShifterError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut failure = AwsFailure::new(operation, err);
        if failure
            .code
            .as_deref()
            .is_some_and(|c| TRANSIENT_CODES.contains(&c))
        {
            failure.kind = FailureKind::Transient;
        }
        match failure.kind {
            FailureKind::NotFound => {
                ShifterError::not_found(format!("registry table {}", self.table))
            }
            FailureKind::Invalid | FailureKind::Precondition => ShifterError::invalid(
                operation,
                format!("registry table {}: {}", self.table, failure.detail()),
            ),
            FailureKind::AccessDenied => ShifterError::AccessDenied(format!(
                "{} (registry table {})",
                failure.denial(),
                self.table
            )),
            FailureKind::Transient => failure.into_error(|_| String::new()),
        }
    }

    /// Writes `requests` in batches of 25 through `send` (one BatchWriteItem call each), again
    /// for what DynamoDB leaves unprocessed, with a short exponential backoff as the
    /// BatchWriteItem page asks. The caller makes the call, so its SDK operation is visible
    /// where it is used (see [`OPERATIONS`]).
    pub(super) async fn write_batches<F, Fut>(
        &self,
        requests: Vec<WriteRequest>,
        send: F,
    ) -> Result<(), ShifterError>
    where
        F: Fn(Vec<WriteRequest>) -> Fut,
        Fut: Future<
            Output = Result<BatchWriteItemOutput, SdkError<BatchWriteItemError, HttpResponse>>,
        >,
    {
        for chunk in requests.chunks(BATCH_SIZE) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt == BATCH_ATTEMPTS {
                    return Err(ShifterError::transient(
                        "BatchWriteItem",
                        format!(
                            "registry table {}: {} writes still unprocessed after {attempt} calls",
                            self.table,
                            pending.len()
                        ),
                    ));
                }
                if attempt > 0 {
                    self.pause(attempt).await;
                }
                attempt += 1;
                let out = send(pending)
                    .await
                    .map_err(|e| self.fail("BatchWriteItem", e))?;
                pending = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    /// 50 ms, 100 ms, 200 ms, … on the client's own sleep implementation.
    async fn pause(&self, attempt: u32) {
        if let Some(sleep) = Client::config(&self.client).sleep_impl() {
            sleep
                .sleep(Duration::from_millis(50 << attempt.min(6)))
                .await;
        }
    }

    /// Logs a failed undo of a lock whose watch items could not be written: the lock then
    /// expires with its TTL.
    pub(super) fn undo_failed(
        &self,
        deployment: &ActiveDeployment,
        err: SdkError<DeleteItemError, HttpResponse>,
    ) {
        let failure = AwsFailure::new("DeleteItem", err);
        warn!(
            deployment = %deployment.deployment_id,
            table = %self.table,
            error = %failure.detail(),
            "could not give the lock back after a failed acquire; it expires with its TTL"
        );
    }
}
