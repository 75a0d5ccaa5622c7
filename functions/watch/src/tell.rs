//! Telling subscribers: the lifecycle events (`shifter::domain::lifecycle` decides them) put on
//! the stack's bus at a park, a start and an ending, and the deployment metrics printed as
//! CloudWatch embedded metric format lines at the start and the ending
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//!
//! A failed put never changes a deployment: at a park it is logged (the park goes on); at a
//! start or an ending the invocation fails before the lock is released, so EventBridge's retry
//! of the status change puts it again under the same id.

use serde::Deserialize;
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::Deployment;
use shifter::domain::lifecycle::{
    Ended, Held, LifecycleEvent, Previous, Status, Wait, at_end, at_park, started,
};
use shifter::ports::{Parked, StatusEvents};
use shifter::states::ParkKind;
use tracing::{info, warn};

use crate::{ExecutionChange, Ports};

/// The metrics' namespace.
pub const NAMESPACE: &str = "TrafficShifter";

/// A park kind as the lifecycle events see it.
pub fn wait_of(kind: ParkKind) -> Wait {
    match kind {
        ParkKind::Bake => Wait::Bake,
        ParkKind::Approval => Wait::Approval,
        ParkKind::PostPromotionBake => Wait::PostPromotionBake,
        ParkKind::ProvisionedConcurrency => Wait::ProvisionedConcurrency,
    }
}

/// Puts the events of a park, and returns them (for the record); a failure is logged, never
/// passed on (the park must go on).
pub async fn at_parked(
    events: &dyn StatusEvents,
    kind: ParkKind,
    parked: Option<&Parked>,
    d: &Deployment,
) -> Vec<LifecycleEvent> {
    let previous: Option<Previous> = parked
        .and_then(|p| p.previous.as_ref())
        .map(|p| (wait_of(p.kind), p.traffic_percent));
    let arn = parked.map_or("", |p| p.execution_arn.as_str());
    let found = at_park(wait_of(kind), previous, d, arn);
    if let Err(e) = put(events, &found).await {
        warn!(deployment = %d.deployment_id, error = %e, "lifecycle event not put; the deployment goes on");
    }
    found
}

/// Puts `found`, logging each by status and id.
pub async fn put(events: &dyn StatusEvents, found: &[LifecycleEvent]) -> Result<(), ShifterError> {
    if found.is_empty() {
        return Ok(());
    }
    events.put_events(found).await?;
    for e in found {
        info!(status = e.status.name(), event_id = %e.event_id, "lifecycle event put");
    }
    Ok(())
}

/// STARTED, on the RUNNING status change: put (a failure fails the invocation, which
/// EventBridge retries), and its EMF lines.
pub async fn at_started(
    ports: &Ports<'_>,
    change: &ExecutionChange,
) -> Result<Vec<String>, ShifterError> {
    let detail = &change.detail;
    let input: Value = detail
        .input
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let event = started(&detail.name, &detail.execution_arn, &input);
    put(ports.events, std::slice::from_ref(&event)).await?;
    Ok(emf_lines(&event, timestamp_ms(change), None))
}

/// The events of an ending, put before the release (the lock guards a terminal status against
/// a repeated delivery; a failed put fails the invocation so EventBridge retries it with the lock
/// still held), and their EMF lines. `lead` is the first alias of the input.
pub async fn at_ended(
    ports: &Ports<'_>,
    change: &ExecutionChange,
    (function, alias): (&str, &str),
    undone: &[String],
) -> Result<Vec<String>, ShifterError> {
    let detail = &change.detail;
    let holder = ports.registry.holder(function, alias).await?;
    let held = match holder.filter(|h| h.deployment_id == detail.name) {
        Some(h) => {
            let last = ports
                .registry
                .last_write(function, alias, &detail.name)
                .await?;
            Some(Held {
                target_version: h.target_version,
                start_version: last.map(|l| l.start_version),
            })
        }
        None => None,
    };
    let parse = |text: Option<&str>| text.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let input = parse(detail.input.as_deref());
    let output = parse(detail.output.as_deref()).and_then(|v| Deployment::deserialize(v).ok());
    let source = crate::record::source_of(output.is_some(), held.is_some());
    let found = at_end(&Ended {
        deployment_id: &detail.name,
        execution_arn: &detail.execution_arn,
        status: &detail.status,
        error: detail.error.as_deref(),
        cause: detail.cause.as_deref(),
        input: input.as_ref(),
        output: output.as_ref(),
        held,
        undone,
    });
    // The record first: a failed write is retried by EventBridge before anything is put.
    crate::record::at_ended(ports, change, &found, source).await?;
    put(ports.events, &found).await?;
    let duration = detail
        .start_date
        .zip(detail.stop_date)
        .map(|(from, to)| (to - from) as f64 / 1000.0);
    let ms = timestamp_ms(change);
    Ok(found
        .iter()
        .flat_map(|e| emf_lines(e, ms, duration))
        .collect())
}

fn timestamp_ms(change: &ExecutionChange) -> i64 {
    change.time.map_or(0, |t| t.timestamp_millis())
}

/// The metric an event counts, if any.
fn counted(status: Status) -> Option<&'static str> {
    match status {
        Status::Started => Some("DeploymentsStarted"),
        Status::Succeeded => Some("DeploymentsSucceeded"),
        Status::RolledBack => Some("DeploymentsRolledBack"),
        Status::RollbackFailed | Status::Drift | Status::Stopped => Some("DeploymentsFailed"),
        _ => None,
    }
}

/// One EMF line per alias for `event` at `timestamp_ms` (none for a status no metric counts):
/// its count and, at an ending, the deployment's duration in seconds.
pub fn emf_lines(
    event: &LifecycleEvent,
    timestamp_ms: i64,
    duration_seconds: Option<f64>,
) -> Vec<String> {
    let Some(name) = counted(event.status) else {
        return Vec::new();
    };
    let mut aliases: Vec<(&str, &str)> = event
        .members
        .iter()
        .map(|m| (m.function.as_str(), m.alias.as_str()))
        .collect();
    if aliases.is_empty() {
        aliases.push((&event.function, &event.alias));
    }
    let duration = duration_seconds.filter(|_| event.status != Status::Started);
    aliases
        .into_iter()
        .map(|(function, alias)| {
            let mut metrics = vec![json!({"Name": name, "Unit": "Count"})];
            let mut line = json!({
                "function": function, "alias": alias, name: 1,
                "deploymentId": event.deployment_id,
            });
            if let Some(seconds) = duration {
                metrics.push(json!({"Name": "DeploymentDuration", "Unit": "Seconds"}));
                line["DeploymentDuration"] = json!(seconds);
            }
            line["_aws"] = json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["function", "alias"]],
                    "Metrics": metrics,
                }],
            });
            Value::to_string(&line)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shifter::domain::lifecycle::started;

    #[test]
    fn an_emf_line_has_the_specifications_shape() {
        let input = json!({"functionName": "orders", "alias": "live", "targetVersion": "2"});
        let mut event = started("d1", "arn:aws:states:r:1:execution:m:d1", &input);
        let lines = emf_lines(&event, 1_000, Some(5.0));
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_000);
        assert_eq!(directive["Namespace"], "TrafficShifter");
        assert_eq!(directive["Dimensions"], json!([["function", "alias"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "DeploymentsStarted", "Unit": "Count"}])
        );
        // Every dimension and metric named in the directive is a member of the root object.
        assert_eq!(
            (&line["function"], &line["alias"]),
            (&json!("orders"), &json!("live"))
        );
        assert_eq!(line["DeploymentsStarted"], 1);
        event.status = Status::RolledBack;
        let line: Value = serde_json::from_str(&emf_lines(&event, 1_000, Some(5.0))[0]).unwrap();
        assert_eq!(line["DeploymentsRolledBack"], 1);
        assert_eq!(line["DeploymentDuration"], 5.0);
        event.status = Status::Rejected;
        assert!(emf_lines(&event, 1_000, None).is_empty());
    }
}
