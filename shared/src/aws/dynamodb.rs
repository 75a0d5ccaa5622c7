//! The `DeploymentRegistry` port over one DynamoDB table (`pk`/`sk` strings, TTL on `expiresAt`).
//!
//! Layout (single table):
//! - lock item `pk = ALIAS#<function>#<alias>`, `sk = LOCK`: the deployment (`deploymentId`,
//!   `executionArn`, `functionName`, `alias`, `targetVersion`, `alarms`, `expiresAt`), the task
//!   parked now (`taskToken`, `parkKind`, `trafficPercent`) and `pendingAlarm`;
//! - one watch item per alarm, `pk = ALARM#<alarm>`, `sk = DEPLOYMENT#<deploymentId>`, holding
//!   the lock's `pk`, so an alarm event finds its deployments with one Query.
//!
//! Every write that decides something is conditional
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>):
//! the lock is put with `attribute_not_exists(pk) OR expiresAt < :now`, parks and notes are
//! updates conditional on `deploymentId`, and a failed condition returns the item as it is
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so nobody reads it twice.
//!
//! TTL deletes expired items only eventually, typically within a few days, and until then they
//! still appear in reads (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>):
//! every condition and read here compares `expiresAt` with now itself.
//!
//! No transactions: the lock and watch items are written and deleted with plain (batch) writes,
//! ordered so that a retry completes the job. Watch items are only pointers: the watcher
//! follows each to the lock and ignores one whose lock is gone, expired or held by another
//! deployment, so an orphaned watch item (a failed release, a taken-over expired lock) is
//! harmless until TTL removes it. TransactWriteItems would cost twice the write units and cap a
//! deployment at 99 alarms (100 actions per transaction), below the 100 the input allows.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ReturnValue, ReturnValuesOnConditionCheckFailure,
    WriteRequest,
};
use tracing::warn;

use super::errors::{AwsFailure, FailureKind};
use crate::error::ShifterError;
pub use crate::ports::{ActiveDeployment, DeploymentRegistry, Lock, ParkedTask, RolledBackVersion};
use crate::states::ParkKind;

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

const LOCK_SK: &str = "LOCK";

/// The table's partition key (a string), as template.yaml declares it.
pub const PARTITION_KEY: &str = "pk";
/// The table's sort key (a string), as template.yaml declares it.
pub const SORT_KEY: &str = "sk";
/// The table's TTL attribute (epoch seconds), as template.yaml declares it.
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// The IAM actions of the DynamoDB calls each port method makes (see `lambda::OPERATIONS`):
/// acquire gives the lock back with DeleteItem when the watch items cannot be written.
pub const OPERATIONS: &[(&str, &[&str])] = &[
    (
        "acquire",
        &[
            "dynamodb:PutItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
        ],
    ),
    ("park", &["dynamodb:UpdateItem"]),
    ("watching", &["dynamodb:Query", "dynamodb:GetItem"]),
    ("note_alarm", &["dynamodb:UpdateItem"]),
    (
        "release",
        &[
            "dynamodb:GetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
        ],
    ),
    ("holder", &["dynamodb:GetItem"]),
    ("mark_rolled_back", &["dynamodb:PutItem"]),
    ("rolled_back", &["dynamodb:GetItem"]),
    ("clear_rolled_back", &["dynamodb:DeleteItem"]),
];

/// The environment variable that names the table in the functions that use it.
pub const TABLE_ENV: &str = "SHIFTER_REGISTRY_TABLE";

/// The registry in DynamoDB through `aws-sdk-dynamodb`.
#[derive(Debug, Clone)]
pub struct DynamoDbRegistry {
    client: Client,
    table: String,
}

impl DynamoDbRegistry {
    /// An adapter with its own client, from the shared configuration ([`super::load_config`]).
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        DynamoDbRegistry::new(Client::new(config), table)
    }

    /// Wraps an existing client (an emulator's, or a mock) on the table named `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbRegistry {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// A failed call as a [`ShifterError`] naming the table: a missing table is `NotFound`,
    /// a refusal (AccessDenied, ValidationException) `InvalidInput` naming the operation,
    /// throttling and 5xx `Transient`.
    fn fail<E>(&self, operation: &'static str, err: SdkError<E, HttpResponse>) -> ShifterError
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
            FailureKind::Transient => failure.into_error(|_| String::new()),
        }
    }

    /// Writes `requests` in batches of 25 through `send` (one BatchWriteItem call each), again
    /// for what DynamoDB leaves unprocessed, with a short exponential backoff as the
    /// BatchWriteItem page asks. The caller makes the call, so its SDK operation is visible
    /// where it is used (see [`OPERATIONS`]).
    async fn write_batches<F, Fut>(
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
    fn undo_failed(
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

type Item = HashMap<String, AttributeValue>;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// One key per function whichever way it is spelled (name or ARN), so two deployments of the
/// same alias can never both hold a lock. (Same-named functions of other accounts or regions
/// share it: a stricter lock, never a looser one.)
fn lock_pk(function: &str, alias: &str) -> String {
    let function = crate::domain::request::function_short_name(function);
    format!("ALIAS#{function}#{alias}")
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(&pk)),
        (SORT_KEY.to_owned(), s(&sk)),
    ])
}

fn lock_key(function: &str, alias: &str) -> Item {
    key(lock_pk(function, alias), LOCK_SK.to_owned())
}

fn rolled_back_key(function: &str, alias: &str, version: &str) -> Item {
    key(lock_pk(function, alias), format!("ROLLEDBACK#{version}"))
}

fn rolled_back_item(r: &RolledBackVersion) -> Item {
    let mut item = rolled_back_key(&r.function, &r.alias, &r.version);
    item.extend([
        ("functionName".to_owned(), s(&r.function)),
        ("alias".to_owned(), s(&r.alias)),
        ("version".to_owned(), s(&r.version)),
        ("executionArn".to_owned(), s(&r.execution_arn)),
        ("error".to_owned(), s(&r.error)),
        ("at".to_owned(), n(r.at)),
        (TTL_ATTRIBUTE.to_owned(), n(r.expires_at)),
    ]);
    item
}

fn rolled_back_record(item: &Item) -> Result<RolledBackVersion, ShifterError> {
    Ok(RolledBackVersion {
        function: text(item, "functionName")?.to_owned(),
        alias: text(item, "alias")?.to_owned(),
        version: text(item, "version")?.to_owned(),
        execution_arn: text(item, "executionArn")?.to_owned(),
        error: text(item, "error")?.to_owned(),
        at: number(item, "at")?,
        expires_at: number(item, TTL_ATTRIBUTE)?,
    })
}

fn watch_key(alarm: &str, deployment_id: &str) -> Item {
    key(
        format!("ALARM#{alarm}"),
        format!("DEPLOYMENT#{deployment_id}"),
    )
}

fn lock_item(d: &ActiveDeployment) -> Item {
    let mut item = lock_key(&d.function, &d.alias);
    item.extend([
        ("deploymentId".to_owned(), s(&d.deployment_id)),
        ("executionArn".to_owned(), s(&d.execution_arn)),
        ("functionName".to_owned(), s(&d.function)),
        ("alias".to_owned(), s(&d.alias)),
        ("targetVersion".to_owned(), s(&d.target_version)),
        (
            "alarms".to_owned(),
            AttributeValue::L(d.alarms.iter().map(|a| s(a)).collect()),
        ),
        (TTL_ATTRIBUTE.to_owned(), n(d.expires_at)),
    ]);
    item
}

fn watch_item(d: &ActiveDeployment, alarm: &str) -> Item {
    let mut item = watch_key(alarm, &d.deployment_id);
    item.extend([
        ("deploymentId".to_owned(), s(&d.deployment_id)),
        ("lockPk".to_owned(), s(&lock_pk(&d.function, &d.alias))),
        (TTL_ATTRIBUTE.to_owned(), n(d.expires_at)),
    ]);
    item
}

fn put(item: Item) -> Result<WriteRequest, ShifterError> {
    let request = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| ShifterError::invalid("BatchWriteItem", e.to_string()))?;
    Ok(WriteRequest::builder().put_request(request).build())
}

fn delete(key: Item) -> Result<WriteRequest, ShifterError> {
    let request = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(|e| ShifterError::invalid("BatchWriteItem", e.to_string()))?;
    Ok(WriteRequest::builder().delete_request(request).build())
}

/// The item a failed condition returned (`ReturnValuesOnConditionCheckFailure = ALL_OLD`);
/// DynamoDB returns none when there was no item.
fn returned(item: Option<&Item>) -> Option<Item> {
    item.cloned()
}

/// A string attribute of a stored item; a missing or mistyped one names the attribute.
fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, ShifterError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(ShifterError::invalid(name, "registry item: not a string")),
        None => Err(ShifterError::invalid(name, "registry item: missing")),
    }
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, ShifterError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| ShifterError::invalid(name, format!("registry item: bad number {v}"))),
        Some(_) => Err(ShifterError::invalid(name, "registry item: not a number")),
        None => Err(ShifterError::invalid(name, "registry item: missing")),
    }
}

/// The deployment a lock item describes.
fn active(item: &Item) -> Result<ActiveDeployment, ShifterError> {
    let alarms = match item.get("alarms") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(a) => Ok(a.clone()),
                _ => Err(ShifterError::invalid(
                    "alarms",
                    "registry item: not a string",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(ShifterError::invalid("alarms", "registry item: not a list")),
    };
    Ok(ActiveDeployment {
        deployment_id: text(item, "deploymentId")?.to_owned(),
        execution_arn: text(item, "executionArn")?.to_owned(),
        function: text(item, "functionName")?.to_owned(),
        alias: text(item, "alias")?.to_owned(),
        target_version: text(item, "targetVersion")?.to_owned(),
        alarms,
        expires_at: number(item, TTL_ATTRIBUTE)?,
    })
}

/// The task parked on a lock item, if any.
fn parked(item: &Item) -> Result<Option<ParkedTask>, ShifterError> {
    if !item.contains_key("taskToken") {
        return Ok(None);
    }
    Ok(Some(ParkedTask {
        task_token: text(item, "taskToken")?.to_owned(),
        kind: park_kind(text(item, "parkKind")?)?,
        traffic_percent: number(item, "trafficPercent")?,
    }))
}

/// The park kind a lock item records, refused by name when it is none of ours.
fn park_kind(name: &str) -> Result<ParkKind, ShifterError> {
    ParkKind::from_wire(name).ok_or_else(|| {
        ShifterError::invalid(
            "parkKind",
            format!("registry item: unknown park kind {name:?}"),
        )
    })
}

/// True when `item` is the live lock of `deployment_id`.
fn held_by(item: &Item, deployment_id: &str, now: i64) -> bool {
    text(item, "deploymentId").is_ok_and(|id| id == deployment_id)
        && number::<i64>(item, TTL_ATTRIBUTE).is_ok_and(|at| at >= now)
}

#[async_trait]
impl DeploymentRegistry for DynamoDbRegistry {
    async fn acquire(&self, deployment: &ActiveDeployment) -> Result<Lock, ShifterError> {
        let taken = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(lock_item(deployment)))
            .condition_expression("attribute_not_exists(pk) OR expiresAt < :now")
            .expression_attribute_values(":now", n(now()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        if let Err(e) = taken {
            let holder = match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => returned(c.item()),
                _ => return Err(self.fail("PutItem", e)),
            };
            // The condition only fails on an item that exists and has not expired.
            let holder = holder.ok_or_else(|| {
                ShifterError::transient("PutItem", "the lock's condition failed without its item")
            })?;
            let holder = active(&holder)?;
            if holder.deployment_id != deployment.deployment_id {
                return Ok(Lock::HeldBy(holder));
            }
        }
        let watches = deployment
            .alarms
            .iter()
            .map(|alarm| put(watch_item(deployment, alarm)))
            .collect::<Result<_, _>>()?;
        let batch = |items| {
            self.client
                .batch_write_item()
                .request_items(&self.table, items)
                .send()
        };
        if let Err(e) = self.write_batches(watches, batch).await {
            // Give the lock back, so a deployment that does not start leaves its alias free.
            let undo = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(lock_key(&deployment.function, &deployment.alias)))
                .condition_expression("deploymentId = :id")
                .expression_attribute_values(":id", s(&deployment.deployment_id))
                .send()
                .await;
            if let Err(undo) = undo {
                self.undo_failed(deployment, undo);
            }
            return Err(e);
        }
        Ok(Lock::Acquired)
    }

    async fn park(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        task: &ParkedTask,
    ) -> Result<Option<String>, ShifterError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(function, alias)))
            .update_expression(
                "SET taskToken = :token, parkKind = :kind, trafficPercent = :traffic \
                 REMOVE pendingAlarm",
            )
            .condition_expression("deploymentId = :id AND expiresAt >= :now")
            .expression_attribute_values(":token", s(&task.task_token))
            .expression_attribute_values(":kind", s(task.kind.wire_name()))
            .expression_attribute_values(":traffic", n(task.traffic_percent))
            .expression_attribute_values(":id", s(deployment_id))
            .expression_attribute_values(":now", n(now()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out
                .attributes()
                .and_then(|old| old.get("pendingAlarm"))
                .and_then(|v| v.as_s().ok())
                .cloned()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|svc| svc.is_conditional_check_failed_exception()) =>
            {
                Err(ShifterError::not_found(format!(
                    "lock of deployment {deployment_id} on {function}:{alias}"
                )))
            }
            Err(e) => Err(self.fail("UpdateItem", e)),
        }
    }

    async fn watching(
        &self,
        alarm: &str,
    ) -> Result<Vec<(ActiveDeployment, Option<ParkedTask>)>, ShifterError> {
        let now = now();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .filter_expression("expiresAt >= :now")
            .expression_attribute_values(":pk", s(&format!("ALARM#{alarm}")))
            .expression_attribute_values(":now", n(now))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut watches = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("Query", e))?;
            for item in page.items() {
                let id = text(item, "deploymentId")?.to_owned();
                let lock = text(item, "lockPk")?.to_owned();
                watches.push((id, lock));
            }
        }
        let mut found = Vec::new();
        for (deployment_id, pk) in watches {
            let lock = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(pk, LOCK_SK.to_owned())))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| self.fail("GetItem", e))?;
            match lock.item() {
                Some(item) if held_by(item, &deployment_id, now) => {
                    found.push((active(item)?, parked(item)?));
                }
                _ => {}
            }
        }
        Ok(found)
    }

    async fn note_alarm(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        alarm: &str,
        answered: Option<&str>,
    ) -> Result<Option<ParkedTask>, ShifterError> {
        let now = now();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(function, alias)))
            .update_expression("SET pendingAlarm = :alarm")
            .expression_attribute_values(":alarm", s(alarm))
            .expression_attribute_values(":id", s(deployment_id))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = match answered {
            None => update.condition_expression(
                "deploymentId = :id AND expiresAt >= :now AND attribute_not_exists(taskToken)",
            ),
            Some(token) => update
                .condition_expression(
                    "deploymentId = :id AND expiresAt >= :now AND \
                     (attribute_not_exists(taskToken) OR taskToken = :answered)",
                )
                .expression_attribute_values(":answered", s(token)),
        };
        let Err(e) = update.send().await else {
            return Ok(None);
        };
        let item = match e.as_service_error() {
            // No item: the lock is gone, nothing to note.
            Some(UpdateItemError::ConditionalCheckFailedException(c)) => returned(c.item()),
            _ => return Err(self.fail("UpdateItem", e)),
        };
        match item {
            Some(item) if held_by(&item, deployment_id, now) => parked(&item),
            _ => Ok(None),
        }
    }

    async fn release(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<ActiveDeployment>, ShifterError> {
        let lock = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(function, alias)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail("GetItem", e))?;
        let Some(lock) = lock.item() else {
            return Ok(None);
        };
        if text(lock, "deploymentId").ok() != Some(deployment_id) {
            return Ok(None);
        }
        // Watch items first, the lock last: a release that fails half-way is completed by its
        // retry, which still finds the lock.
        let holder = active(lock)?;
        let deletes = holder
            .alarms
            .iter()
            .map(|alarm| delete(watch_key(alarm, deployment_id)))
            .collect::<Result<_, _>>()?;
        let batch = |items| {
            self.client
                .batch_write_item()
                .request_items(&self.table, items)
                .send()
        };
        self.write_batches(deletes, batch).await?;
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(function, alias)))
            .condition_expression("deploymentId = :id")
            .expression_attribute_values(":id", s(deployment_id))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(Some(holder)),
            // Taken over (expired) in between: the lock is someone else's now.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|svc| svc.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.fail("DeleteItem", e)),
        }
    }

    async fn holder(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ActiveDeployment>, ShifterError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(function, alias)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail("GetItem", e))?;
        match out.item() {
            Some(item) => {
                let holder = active(item)?;
                Ok((holder.expires_at >= now()).then_some(holder))
            }
            None => Ok(None),
        }
    }

    async fn mark_rolled_back(&self, record: &RolledBackVersion) -> Result<(), ShifterError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(rolled_back_item(record)))
            .send()
            .await
            .map_err(|e| self.fail("PutItem", e))?;
        Ok(())
    }

    async fn rolled_back(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<Option<RolledBackVersion>, ShifterError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(rolled_back_key(function, alias, version)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail("GetItem", e))?;
        match out.item() {
            Some(item) => {
                let record = rolled_back_record(item)?;
                Ok((record.expires_at >= now()).then_some(record))
            }
            None => Ok(None),
        }
    }

    async fn clear_rolled_back(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<(), ShifterError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(rolled_back_key(function, alias, version)))
            .send()
            .await
            .map_err(|e| self.fail("DeleteItem", e))?;
        Ok(())
    }
}
