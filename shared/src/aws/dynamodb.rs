//! The `DeploymentRegistry` port over one DynamoDB table (`pk`/`sk` strings, TTL on `expiresAt`).
//!
//! The items and their layout are in `dynamodb_items.rs`; how calls fail and batches retry in
//! `dynamodb_calls.rs`.
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

#[path = "dynamodb_calls.rs"]
mod calls;
#[path = "dynamodb_items.rs"]
mod items;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::domain::LastWrite;
use crate::error::ShifterError;
pub use crate::ports::{
    ActiveDeployment, DeploymentRegistry, Lock, Parked, ParkedTask, RolledBackVersion,
};
use items::{
    LOCK_SK, active, delete, held_by, key, lock_item, lock_key, n, parked, put, returned,
    rolled_back_item, rolled_back_key, rolled_back_record, s, text, watch_item, watch_key,
};

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
    ("note_write", &["dynamodb:UpdateItem"]),
    ("last_write", &["dynamodb:GetItem"]),
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
    /// An adapter with its own client, from the shared configuration ([`super::load_lambda_config`] in a function).
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
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
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
    ) -> Result<Parked, ShifterError> {
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
            Ok(out) => {
                let old = out.attributes().cloned().unwrap_or_default();
                let text = |name: &str| old.get(name).and_then(|v| v.as_s().ok()).cloned();
                Ok(Parked {
                    pending_alarm: text("pendingAlarm"),
                    // Only the lifecycle events read it: an unreadable one counts as none.
                    previous: parked(&old).ok().flatten(),
                    execution_arn: text("executionArn").unwrap_or_default(),
                })
            }
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

    async fn note_write(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        write: &LastWrite,
    ) -> Result<(), ShifterError> {
        let noted = serde_json::to_string(write)
            .map_err(|e| ShifterError::invalid("lastWrite", e.to_string()))?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(function, alias)))
            .update_expression("SET lastWrite = :write")
            .condition_expression("deploymentId = :id AND expiresAt >= :now")
            .expression_attribute_values(":write", s(&noted))
            .expression_attribute_values(":id", s(deployment_id))
            .expression_attribute_values(":now", n(now()))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|svc| svc.is_conditional_check_failed_exception()) =>
            {
                Err(ShifterError::not_found(format!(
                    "registry lock of deployment {deployment_id} on {function}:{alias} (the \
                     execution ended or its lock expired); nothing written"
                )))
            }
            Err(e) => Err(self.fail("UpdateItem", e)),
        }
    }

    async fn last_write(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<LastWrite>, ShifterError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lock_key(function, alias)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail("GetItem", e))?;
        let Some(item) = out.item().filter(|i| held_by(i, deployment_id, now())) else {
            return Ok(None);
        };
        match item.get("lastWrite").and_then(|v| v.as_s().ok()) {
            Some(noted) => serde_json::from_str(noted)
                .map(Some)
                .map_err(|e| ShifterError::invalid("lastWrite", format!("registry item: {e}"))),
            None => Ok(None),
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
