//! `DeploymentRecords` over one DynamoDB table (template.yaml's `DeploymentRecordsTable`).
//!
//! Layout: partition key `pk` = `<function>:<alias>` (the lead alias; a function ARN is
//! shortened to its name), sort key `deploymentId` (the execution name, unique per state
//! machine). Local secondary index `ByStart` (same partition key, sort key `startedAt`, epoch
//! milliseconds, all attributes): one alias's records newest first is one Query with
//! `ScanIndexForward = false`, and `--since` is its key condition `startedAt >= :since`
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html>,
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LSI.html>). Global
//! secondary index `ByDeployment` (`deploymentId`, keys only) finds one execution's record
//! whatever its alias; a GSI is written only when an item's key attributes change, so it costs
//! one write per deployment (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html>).
//! Every alias's records at once is a Scan (filtered on `startedAt`): the table holds only the
//! retention's worth of records, and a constant-key index would put every write in one partition.
//!
//! Each moment is one UpdateItem
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html>) that
//! creates the item if needed, appends the moment to `timeline` and adds its key to the string
//! set `marks`, conditional on the key not being in `marks` yet
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>):
//! a repeated delivery fails the condition and changes nothing. Firm facts are `SET`, weak ones
//! `if_not_exists`. `expiresAt` (epoch seconds) is the TTL attribute: the moment plus the
//! retention; TTL deletes expired items eventually, within days
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html>).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use super::errors::AwsFailure;
use crate::domain::alias::function_short_name;
use crate::domain::record::{DeploymentRecord, Facts, RecordUpdate, newest_first};
use crate::error::ShifterError;
use crate::ports::DeploymentRecords;

/// The variable naming the table in the watch function.
pub const TABLE_ENV: &str = "SHIFTER_RECORDS_TABLE";
/// The variable holding the retention in days (template parameter `RecordRetentionDays`).
pub const RETENTION_ENV: &str = "SHIFTER_RECORD_RETENTION_DAYS";
/// The partition key (string).
pub const PARTITION_KEY: &str = "pk";
/// The sort key (string): the deployment id.
pub const SORT_KEY: &str = "deploymentId";
/// The local secondary index on `startedAt`.
pub const BY_START: &str = "ByStart";
/// The global secondary index on `deploymentId`.
pub const BY_DEPLOYMENT: &str = "ByDeployment";
/// The TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// The IAM actions of the DynamoDB calls each port method makes (see `lambda::OPERATIONS`).
pub const OPERATIONS: &[(&str, &[&str])] = &[
    ("apply_record", &["dynamodb:UpdateItem"]),
    ("record_of", &["dynamodb:GetItem"]),
    ("records_of_alias", &["dynamodb:Query"]),
    ("all_records", &["dynamodb:Scan"]),
    ("find_record", &["dynamodb:Query", "dynamodb:GetItem"]),
];

type Item = HashMap<String, AttributeValue>;

/// The records table through `aws-sdk-dynamodb`.
#[derive(Debug, Clone)]
pub struct DynamoDbRecords {
    client: Client,
    table: String,
    retention_seconds: i64,
}

impl DynamoDbRecords {
    /// An adapter with its own client, from the shared configuration ([`super::load_lambda_config`] in a function).
    pub fn from_config(config: &aws_config::SdkConfig, table: String, retention_days: u32) -> Self {
        DynamoDbRecords::new(Client::new(config), table, retention_days)
    }

    /// Wraps an existing client (an emulator's, or a mock); records kept `retention_days`.
    pub fn new(client: Client, table: String, retention_days: u32) -> Self {
        DynamoDbRecords {
            client,
            table,
            retention_seconds: i64::from(retention_days) * 86_400,
        }
    }

    fn fail<E>(&self, operation: &'static str, err: SdkError<E, HttpResponse>) -> ShifterError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        AwsFailure::new(operation, err).on_table(&format!("records table {}", self.table))
    }
}

/// The partition key of `function`:`alias`.
pub fn partition(function: &str, alias: &str) -> String {
    format!("{}:{alias}", function_short_name(function))
}

fn key(pk: &str, deployment_id: &str) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), AttributeValue::S(pk.to_owned())),
        (
            SORT_KEY.to_owned(),
            AttributeValue::S(deployment_id.to_owned()),
        ),
    ])
}

fn millis(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp_millis().to_string())
}

/// A JSON value as a DynamoDB attribute (no nulls: the record skips absent fields).
pub fn to_attribute(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), to_attribute(v)))
                .collect(),
        ),
    }
}

/// A DynamoDB attribute as JSON (a string set as a list).
pub fn to_json(a: &AttributeValue) -> Value {
    match a {
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or(Value::Null),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::Ss(set) => set.iter().cloned().map(Value::String).collect(),
        AttributeValue::L(items) => items.iter().map(to_json).collect(),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        _ => Value::Null,
    }
}

/// A stored item as a record: the millisecond dates become timestamps again.
fn record(item: &Item) -> Result<DeploymentRecord, ShifterError> {
    let mut object = Map::new();
    for (name, value) in item {
        if matches!(name.as_str(), "pk" | "marks") {
            continue;
        }
        let json = match (name.as_str(), value) {
            ("startedAt" | "endedAt", AttributeValue::N(ms)) => ms
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
                .map_or(Value::Null, |t| Value::String(t.to_rfc3339())),
            _ => to_json(value),
        };
        object.insert(name.clone(), json);
    }
    let mut found: DeploymentRecord = serde_json::from_value(Value::Object(object))
        .map_err(|e| ShifterError::invalid("records item", e.to_string()))?;
    // Moments are appended as they arrive, which may be out of order.
    found.timeline.sort_by_key(|m| m.at);
    Ok(found)
}

/// An UpdateItem's expression, names and values, built one attribute at a time.
#[derive(Default)]
struct Update {
    sets: Vec<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Update {
    fn name(&mut self, attribute: &str) -> String {
        let alias = format!("#{attribute}");
        self.names.insert(alias.clone(), attribute.to_owned());
        alias
    }

    fn value(&mut self, attribute: &str, value: AttributeValue) -> String {
        let alias = format!(":{attribute}");
        self.values.insert(alias.clone(), value);
        alias
    }

    /// `SET` (firm) or `SET … if_not_exists` (weak), once per attribute: the first one set
    /// wins (firm facts are set first).
    fn set(&mut self, attribute: &str, value: Option<AttributeValue>, firm: bool) {
        let Some(value) = value else { return };
        if self.names.contains_key(&format!("#{attribute}")) {
            return;
        }
        let name = self.name(attribute);
        let v = self.value(attribute, value);
        self.sets.push(if firm {
            format!("{name} = {v}")
        } else {
            format!("{name} = if_not_exists({name}, {v})")
        });
    }

    fn facts(&mut self, f: &Facts, firm: bool) {
        let text = |v: &Option<String>| v.clone().map(AttributeValue::S);
        let json = |v: Option<Value>| v.as_ref().map(to_attribute);
        self.set("executionArn", text(&f.execution_arn), firm);
        let members = f
            .members
            .as_ref()
            .and_then(|m| serde_json::to_value(m).ok());
        self.set("members", json(members), firm);
        self.set("fromVersion", text(&f.from_version), firm);
        self.set("toVersion", text(&f.to_version), firm);
        self.set("strategy", text(&f.strategy), firm);
        let by = f
            .started_by
            .as_ref()
            .and_then(|b| serde_json::to_value(b).ok());
        self.set("startedBy", json(by), firm);
        self.set("startedAt", f.started_at.map(millis), firm);
    }
}

/// The UpdateItem of `u`: everything but the call (firm facts first, so a weak fact of the same
/// attribute is dropped).
fn update_of(u: &RecordUpdate, retention_seconds: i64) -> Result<Update, ShifterError> {
    let mut e = Update::default();
    let s = |v: &str| Some(AttributeValue::S(v.to_owned()));
    e.set("function", s(&u.function), true);
    e.set("alias", s(&u.alias), true);
    e.facts(&u.firm, true);
    e.facts(&u.weak, false);
    if let Some(end) = &u.ending {
        e.set("outcome", s(end.outcome.name()), true);
        e.set("endedAt", Some(millis(end.ended_at)), true);
        let cause = end
            .cause
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok());
        e.set("cause", cause.as_ref().map(to_attribute), true);
        e.set(
            "restoreCommand",
            end.restore_command.clone().map(AttributeValue::S),
            true,
        );
    }
    let expires = u.mark.at.timestamp() + retention_seconds;
    e.set(
        TTL_ATTRIBUTE,
        Some(AttributeValue::N(expires.to_string())),
        true,
    );
    let mark = serde_json::to_value(&u.mark)
        .map_err(|err| ShifterError::invalid("timeline", err.to_string()))?;
    let timeline = e.name("timeline");
    let empty = e.value("empty", AttributeValue::L(Vec::new()));
    let mark = e.value("mark", AttributeValue::L(vec![to_attribute(&mark)]));
    e.sets.push(format!(
        "{timeline} = list_append(if_not_exists({timeline}, {empty}), {mark})"
    ));
    e.value("key", AttributeValue::S(u.mark.key.clone()));
    e.value("keys", AttributeValue::Ss(vec![u.mark.key.clone()]));
    e.name("marks");
    Ok(e)
}

#[async_trait]
impl DeploymentRecords for DynamoDbRecords {
    async fn apply_record(&self, u: &RecordUpdate) -> Result<bool, ShifterError> {
        let e = update_of(u, self.retention_seconds)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                &partition(&u.function, &u.alias),
                &u.deployment_id,
            )))
            .update_expression(format!("SET {} ADD #marks :keys", e.sets.join(", ")))
            .condition_expression("attribute_not_exists(#marks) OR NOT contains(#marks, :key)")
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(self.fail("UpdateItem", err)),
            },
        }
    }

    async fn record_of(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<DeploymentRecord>, ShifterError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&partition(function, alias), deployment_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail("GetItem", e))?;
        out.item().map(record).transpose()
    }

    async fn records_of_alias(
        &self,
        function: &str,
        alias: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<DeploymentRecord>, ShifterError> {
        let condition = match since {
            Some(_) => "pk = :pk AND startedAt >= :since",
            None => "pk = :pk",
        };
        let (mut found, mut start) = (Vec::new(), None);
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_START)
                .key_condition_expression(condition)
                .expression_attribute_values(":pk", AttributeValue::S(partition(function, alias)))
                .set_exclusive_start_key(start)
                .scan_index_forward(false)
                .consistent_read(true);
            if let Some(since) = since {
                query = query.expression_attribute_values(":since", millis(since));
            }
            let out = query.send().await;
            let out = out.map_err(|e| self.fail("Query", e))?;
            for item in out.items() {
                found.push(record(item)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn all_records(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<DeploymentRecord>, ShifterError> {
        let (mut found, mut start) = (Vec::new(), None);
        loop {
            let mut scan = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start);
            if let Some(since) = since {
                scan = scan
                    .filter_expression("startedAt >= :since")
                    .expression_attribute_values(":since", millis(since));
            }
            let out = scan.send().await.map_err(|e| self.fail("Scan", e))?;
            for item in out.items() {
                found.push(record(item)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        newest_first(&mut found);
        Ok(found)
    }

    async fn find_record(
        &self,
        deployment_id: &str,
    ) -> Result<Option<DeploymentRecord>, ShifterError> {
        let keys = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_DEPLOYMENT)
            .key_condition_expression("deploymentId = :id")
            .expression_attribute_values(":id", AttributeValue::S(deployment_id.to_owned()))
            .send()
            .await
            .map_err(|e| self.fail("Query", e))?;
        let mut found = Vec::new();
        for k in keys.items() {
            let pk = k.get(PARTITION_KEY).and_then(|v| v.as_s().ok());
            let Some(pk) = pk else { continue };
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key(pk, deployment_id)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| self.fail("GetItem", e))?;
            if let Some(item) = out.item() {
                found.push(record(item)?);
            }
        }
        newest_first(&mut found);
        Ok(found.into_iter().next())
    }
}
