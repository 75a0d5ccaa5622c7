//! The registry table's layout (single table, `pk`/`sk` strings, TTL on `expiresAt`), and the
//! items of each kind encoded and decoded:
//! - lock item `pk = ALIAS#<function>#<alias>`, `sk = LOCK`: the deployment (`deploymentId`,
//!   `executionArn`, `functionName`, `alias`, `targetVersion`, `alarms`, `expiresAt`), the task
//!   parked now (`taskToken`, `parkKind`, `trafficPercent`) and `pendingAlarm`;
//! - one watch item per alarm, `pk = ALARM#<alarm>`, `sk = DEPLOYMENT#<deploymentId>`, holding
//!   the lock's `pk`, so an alarm event finds its deployments with one Query.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

use super::{
    ActiveDeployment, PARTITION_KEY, ParkedTask, RolledBackVersion, SORT_KEY, TTL_ATTRIBUTE,
};
use crate::error::ShifterError;
use crate::states::ParkKind;

/// The sort key of a lock item.
pub(super) const LOCK_SK: &str = "LOCK";

/// A stored item: attribute name to value.
pub(super) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// A number attribute.
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// One key per function whichever way it is spelled (name or ARN), so two deployments of the
/// same alias can never both hold a lock. (Same-named functions of other accounts or regions
/// share it: a stricter lock, never a looser one.)
pub(super) fn lock_pk(function: &str, alias: &str) -> String {
    let function = crate::domain::alias::function_short_name(function);
    format!("ALIAS#{function}#{alias}")
}

pub(super) fn key(pk: String, sk: String) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(&pk)),
        (SORT_KEY.to_owned(), s(&sk)),
    ])
}

pub(super) fn lock_key(function: &str, alias: &str) -> Item {
    key(lock_pk(function, alias), LOCK_SK.to_owned())
}

pub(super) fn rolled_back_key(function: &str, alias: &str, version: &str) -> Item {
    key(lock_pk(function, alias), format!("ROLLEDBACK#{version}"))
}

pub(super) fn rolled_back_item(r: &RolledBackVersion) -> Item {
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

pub(super) fn rolled_back_record(item: &Item) -> Result<RolledBackVersion, ShifterError> {
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

pub(super) fn watch_key(alarm: &str, deployment_id: &str) -> Item {
    key(
        format!("ALARM#{alarm}"),
        format!("DEPLOYMENT#{deployment_id}"),
    )
}

pub(super) fn lock_item(d: &ActiveDeployment) -> Item {
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

pub(super) fn watch_item(d: &ActiveDeployment, alarm: &str) -> Item {
    let mut item = watch_key(alarm, &d.deployment_id);
    item.extend([
        ("deploymentId".to_owned(), s(&d.deployment_id)),
        ("lockPk".to_owned(), s(&lock_pk(&d.function, &d.alias))),
        (TTL_ATTRIBUTE.to_owned(), n(d.expires_at)),
    ]);
    item
}

pub(super) fn put(item: Item) -> Result<WriteRequest, ShifterError> {
    let request = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| ShifterError::invalid("BatchWriteItem", e.to_string()))?;
    Ok(WriteRequest::builder().put_request(request).build())
}

pub(super) fn delete(key: Item) -> Result<WriteRequest, ShifterError> {
    let request = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(|e| ShifterError::invalid("BatchWriteItem", e.to_string()))?;
    Ok(WriteRequest::builder().delete_request(request).build())
}

/// The item a failed condition returned (`ReturnValuesOnConditionCheckFailure = ALL_OLD`);
/// DynamoDB returns none when there was no item.
pub(super) fn returned(item: Option<&Item>) -> Option<Item> {
    item.cloned()
}

/// A string attribute of a stored item; a missing or mistyped one names the attribute.
pub(super) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, ShifterError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(ShifterError::invalid(name, "registry item: not a string")),
        None => Err(ShifterError::invalid(name, "registry item: missing")),
    }
}

pub(super) fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, ShifterError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| ShifterError::invalid(name, format!("registry item: bad number {v}"))),
        Some(_) => Err(ShifterError::invalid(name, "registry item: not a number")),
        None => Err(ShifterError::invalid(name, "registry item: missing")),
    }
}

/// The deployment a lock item describes.
pub(super) fn active(item: &Item) -> Result<ActiveDeployment, ShifterError> {
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
pub(super) fn parked(item: &Item) -> Result<Option<ParkedTask>, ShifterError> {
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
pub(super) fn held_by(item: &Item, deployment_id: &str, now: i64) -> bool {
    text(item, "deploymentId").is_ok_and(|id| id == deployment_id)
        && number::<i64>(item, TTL_ATTRIBUTE).is_ok_and(|at| at >= now)
}
