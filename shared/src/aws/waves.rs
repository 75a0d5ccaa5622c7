//! The waves function's adapters: the plans' watches in a DynamoDB table of the home stack
//! ([`DynamoDbWaveWatches`]) and the target accounts through an assumed role
//! ([`AwsTargetAccounts`]).
//!
//! **Its own table** (template.yaml's `WaveWatchesTable`, `pk`/`sk` strings, TTL on
//! `expiresAt`), not items in the registry table: the waves function then holds no right on the
//! deployments' locks (IAM would need `dynamodb:LeadingKeys` conditions to keep it off them), and
//! the table exists only in the stack that enables waves.
//!
//! Layout: one item per plan, `pk` = `PLAN#<plan id>`, `sk` = `WATCH` (the watch: token, plan
//! ARN, keys); one pointer per key, `pk` = `KEY#<child execution ARN or alarm ARN>`, `sk` = the
//! plan id. `watchers(key)` is one Query on the key's partition and one GetItem per plan it
//! names; a pointer whose plan's watch is gone, expired or no longer holds the key (a replaced
//! watch) is ignored, so pointers are never deleted one by one: TTL removes them. Pointers are
//! written before the plan's item, so a watch that can be read is always findable by its keys.
//!
//! TTL deletes expired items only eventually, typically within a few days, and until then they
//! still appear in reads (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>):
//! every read here compares `expiresAt` (epoch seconds, so a watch's expiry is kept to the
//! second) with now itself. `forget` deletes the plan's item conditional on its token
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_sfn::config::SharedCredentialsProvider;
use chrono::{DateTime, Utc};

use super::errors::AwsFailure;
use super::{CloudWatchAlarms, LambdaAdapter, StepFunctionsExecutions};
use crate::error::ShifterError;
use crate::ports::{AlarmReader, AliasRouter, Executions, TargetAccounts, WaveWatch, WaveWatches};

/// The variable naming the watches table.
pub const TABLE_ENV: &str = "WAVES_WATCHES_TABLE";
/// The variable naming the role the plan assumes in every target account.
pub const ROLE_NAME_ENV: &str = "WAVES_TARGET_ROLE_NAME";
/// The variable naming the per-region deployment state machine in every target.
pub const STATE_MACHINE_NAME_ENV: &str = "WAVES_TARGET_STATE_MACHINE_NAME";
/// The session name of the assumed role, as the target accounts' CloudTrail shows it.
pub const SESSION_NAME: &str = "traffic-shifter-waves";
/// The partition key (a string), as template.yaml declares it.
pub const PARTITION_KEY: &str = "pk";
/// The sort key (a string), as template.yaml declares it.
pub const SORT_KEY: &str = "sk";
/// The TTL attribute (epoch seconds), as template.yaml declares it.
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// The action behind every target's credentials ([`AwsTargetAccounts`]): the SDK's
/// `AssumeRoleProvider` calls it, not code of this module.
pub const ASSUMES: &str = "sts:AssumeRole";
/// The IAM actions of the DynamoDB calls each port method makes (see `lambda::OPERATIONS`).
pub const OPERATIONS: &[(&str, &[&str])] = &[
    ("watch", &["dynamodb:BatchWriteItem", "dynamodb:PutItem"]),
    ("watchers", &["dynamodb:Query", "dynamodb:GetItem"]),
    ("watch_of", &["dynamodb:GetItem"]),
    ("forget", &["dynamodb:DeleteItem"]),
];

/// BatchWriteItem takes at most 25 requests per call:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>.
const BATCH_SIZE: usize = 25;
/// Calls a batch gets to write what DynamoDB left unprocessed before the write is `Transient`.
const BATCH_ATTEMPTS: u32 = 5;
const WATCH_SK: &str = "WATCH";

type Item = HashMap<String, AttributeValue>;

/// The plans' watches in DynamoDB through `aws-sdk-dynamodb`.
#[derive(Debug, Clone)]
pub struct DynamoDbWaveWatches {
    client: Client,
    table: String,
}

impl DynamoDbWaveWatches {
    /// An adapter with its own client, from the shared configuration ([`super::load_config`]).
    pub fn from_config(config: &SdkConfig, table: impl Into<String>) -> Self {
        DynamoDbWaveWatches::new(Client::new(config), table)
    }

    /// Wraps an existing client (an emulator's, or a mock) on the table named `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDbWaveWatches {
            client,
            table: table.into(),
        }
    }

    /// 50 ms, 100 ms, 200 ms, … on the client's own sleep implementation, before sending again
    /// what DynamoDB left unprocessed, as the BatchWriteItem page asks.
    async fn pause(&self, attempt: u32) {
        if let Some(sleep) = Client::config(&self.client).sleep_impl() {
            sleep
                .sleep(std::time::Duration::from_millis(25 << attempt.min(7)))
                .await;
        }
    }

    fn fail<E>(&self, operation: &'static str, err: SdkError<E, HttpResponse>) -> ShifterError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        AwsFailure::new(operation, err).on_table(&format!("wave watches table {}", self.table))
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn now() -> i64 {
    Utc::now().timestamp()
}

fn plan_key(plan_id: &str) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(&format!("PLAN#{plan_id}"))),
        (SORT_KEY.to_owned(), s(WATCH_SK)),
    ])
}

fn watch_item(watch: &WaveWatch) -> Item {
    let mut item = plan_key(&watch.plan_id);
    let keys = watch.keys.iter().map(|k| s(k)).collect();
    item.extend([
        ("planId".to_owned(), s(&watch.plan_id)),
        ("planArn".to_owned(), s(&watch.plan_arn)),
        ("taskToken".to_owned(), s(&watch.task_token)),
        ("keys".to_owned(), AttributeValue::L(keys)),
        (
            TTL_ATTRIBUTE.to_owned(),
            AttributeValue::N(watch.expires_at.timestamp().to_string()),
        ),
    ]);
    item
}

fn pointer(watch: &WaveWatch, key: &str) -> Result<WriteRequest, ShifterError> {
    let item = HashMap::from([
        (PARTITION_KEY.to_owned(), s(&format!("KEY#{key}"))),
        (SORT_KEY.to_owned(), s(&watch.plan_id)),
        (
            TTL_ATTRIBUTE.to_owned(),
            AttributeValue::N(watch.expires_at.timestamp().to_string()),
        ),
    ]);
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| ShifterError::invalid("BatchWriteItem", e.to_string()))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// The watch in `item`, if it has not expired by `now` (epoch seconds).
fn live_watch(item: &Item, now: i64) -> Result<Option<WaveWatch>, ShifterError> {
    let bad = |name: &str| ShifterError::invalid(name, "missing or malformed in a wave watch");
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| bad(name))
    };
    let expires: i64 = item
        .get(TTL_ATTRIBUTE)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad(TTL_ATTRIBUTE))?;
    if expires <= now {
        return Ok(None);
    }
    let keys = item
        .get("keys")
        .and_then(|v| v.as_l().ok())
        .ok_or_else(|| bad("keys"))?
        .iter()
        .map(|k| k.as_s().cloned().map_err(|_| bad("keys")))
        .collect::<Result<_, _>>()?;
    Ok(Some(WaveWatch {
        plan_id: text("planId")?,
        plan_arn: text("planArn")?,
        task_token: text("taskToken")?,
        keys,
        expires_at: DateTime::from_timestamp(expires, 0).ok_or_else(|| bad(TTL_ATTRIBUTE))?,
    }))
}

#[async_trait]
impl WaveWatches for DynamoDbWaveWatches {
    async fn watch(&self, watch: &WaveWatch) -> Result<(), ShifterError> {
        let mut pointers = watch
            .keys
            .iter()
            .map(|k| pointer(watch, k))
            .collect::<Result<Vec<_>, _>>()?;
        while !pointers.is_empty() {
            let rest = pointers.split_off(pointers.len().min(BATCH_SIZE));
            let mut batch = std::mem::replace(&mut pointers, rest);
            let mut attempt = 0;
            while !batch.is_empty() {
                attempt += 1;
                if attempt > BATCH_ATTEMPTS {
                    return Err(ShifterError::transient(
                        "BatchWriteItem",
                        format!("wave watches table {}: items left unprocessed", self.table),
                    ));
                }
                if attempt > 1 {
                    self.pause(attempt).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .send()
                    .await
                    .map_err(|e| self.fail("BatchWriteItem", e))?;
                batch = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(watch_item(watch)))
            .send()
            .await
            .map_err(|e| self.fail("PutItem", e))?;
        Ok(())
    }

    async fn watchers(&self, key: &str) -> Result<Vec<WaveWatch>, ShifterError> {
        let now = now();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .filter_expression("expiresAt > :now")
            .expression_attribute_values(":pk", s(&format!("KEY#{key}")))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut plans = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("Query", e))?;
            for item in page.items() {
                if let Some(plan) = item.get(SORT_KEY).and_then(|v| v.as_s().ok()) {
                    plans.push(plan.clone());
                }
            }
        }
        let mut found = Vec::new();
        for plan in plans {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(plan_key(&plan)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| self.fail("GetItem", e))?;
            let Some(item) = out.item() else { continue };
            if let Some(watch) = live_watch(item, now)?
                && watch.keys.iter().any(|k| k == key)
            {
                found.push(watch);
            }
        }
        Ok(found)
    }

    async fn watch_of(&self, plan_id: &str) -> Result<Option<WaveWatch>, ShifterError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(plan_key(plan_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail("GetItem", e))?;
        match out.item() {
            Some(item) => live_watch(item, now()),
            None => Ok(None),
        }
    }

    async fn forget(&self, plan_id: &str, token: &str) -> Result<(), ShifterError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(plan_key(plan_id)))
            .condition_expression("taskToken = :token")
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // No item, or another park's: not this token's to forget.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|svc| svc.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.fail("DeleteItem", e)),
        }
    }
}

/// One target's clients, under the credentials of the role assumed there.
struct Target {
    executions: Arc<StepFunctionsExecutions>,
    router: Arc<LambdaAdapter>,
    alarms: Arc<CloudWatchAlarms>,
}

/// The target accounts through `arn:aws:iam::<account>:role/<role name>`, assumed with the SDK's
/// `AssumeRoleProvider` (session `traffic-shifter-waves`), one set of clients per (region,
/// account), built on first use and kept for the life of the function instance. The clients
/// share the base configuration's identity cache, so each target's credentials are assumed once
/// and refreshed before they expire.
///
/// No external ID: it answers the confused-deputy problem of a third party that assumes roles
/// in many customers' accounts
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html>);
/// here the trusted principal is the customer's own waves function role, named exactly in the
/// target role's trust policy (`aws:PrincipalArn`, templates/waves-target.yaml), and only it
/// calls AssumeRole.
pub struct AwsTargetAccounts {
    base: SdkConfig,
    role_name: String,
    state_machine_name: String,
    targets: Mutex<HashMap<(String, String), Arc<Target>>>,
}

impl AwsTargetAccounts {
    /// Targets seen from the home configuration `base` (its credentials assume the role, in its
    /// region), through role `role_name`, running state machine `state_machine_name`.
    pub fn from_config(
        base: &SdkConfig,
        role_name: impl Into<String>,
        state_machine_name: impl Into<String>,
    ) -> Self {
        AwsTargetAccounts {
            base: base.clone(),
            role_name: role_name.into(),
            state_machine_name: state_machine_name.into(),
            targets: Mutex::default(),
        }
    }

    /// The role assumed in `account`.
    pub fn role_arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:role/{}", self.role_name)
    }

    /// The configuration of one target: the base one in `region`, with the assumed role's
    /// credentials (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/credproviders.html>).
    pub async fn target_config(&self, region: &str, account: &str) -> SdkConfig {
        let provider = AssumeRoleProvider::builder(self.role_arn(account))
            .configure(&self.base)
            .session_name(SESSION_NAME)
            .build()
            .await;
        self.base
            .to_builder()
            .region(Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build()
    }

    async fn target(&self, region: &str, account: &str) -> Arc<Target> {
        let id = (region.to_owned(), account.to_owned());
        let cached = self
            .targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned();
        if let Some(target) = cached {
            return target;
        }
        let config = self.target_config(region, account).await;
        let target = Arc::new(Target {
            executions: Arc::new(StepFunctionsExecutions::from_config(&config)),
            router: Arc::new(LambdaAdapter::from_config(&config)),
            alarms: Arc::new(CloudWatchAlarms::from_config(&config)),
        });
        // Two first uses at once build twice; the first one kept wins.
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        targets.entry(id).or_insert(target).clone()
    }
}

#[async_trait]
impl TargetAccounts for AwsTargetAccounts {
    async fn executions(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn Executions>, ShifterError> {
        Ok(self.target(region, account).await.executions.clone())
    }

    async fn router(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn AliasRouter>, ShifterError> {
        Ok(self.target(region, account).await.router.clone())
    }

    async fn alarms(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn AlarmReader>, ShifterError> {
        Ok(self.target(region, account).await.alarms.clone())
    }

    fn state_machine_arn(&self, region: &str, account: &str) -> String {
        format!(
            "arn:aws:states:{region}:{account}:stateMachine:{}",
            self.state_machine_name
        )
    }
}
