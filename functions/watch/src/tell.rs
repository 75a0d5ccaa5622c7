//! Telling subscribers: the lifecycle events (`shifter::domain::lifecycle` decides them) put on
//! the stack's bus at a park, a start and an ending, and the deployment metrics printed as
//! CloudWatch embedded metric format lines at the start and the ending
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//!
//! A failed put never changes a deployment: at a park it is logged (the park goes on); at a
//! start or an ending the invocation fails before the lock is released, so EventBridge's retry
//! of the status change puts it again under the same id.

use serde::Deserialize;
use serde_json::Value;
use shifter::ShifterError;
use shifter::domain::Deployment;
use shifter::domain::lifecycle::metrics::{Timing, event_lines};
use shifter::domain::lifecycle::{
    Ended, Held, LifecycleEvent, Previous, Wait, at_end, at_park, started,
};
use shifter::ports::{Parked, StatusEvents};
use shifter::states::ParkKind;
use tracing::{info, warn};

use crate::{ExecutionChange, Ports};

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
    let events = [event];
    put(ports.events, &events).await?;
    Ok(emf_lines(&events, change))
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
    Ok(emf_lines(&found, change))
}

fn timestamp_ms(change: &ExecutionChange) -> i64 {
    change.time.map_or(0, |t| t.timestamp_millis())
}

/// The EMF lines of `events` at a status change: counts, and at an ending the duration, the
/// change-failure flag and the time from the alarm to the restored alias ([`event_lines`]).
pub fn emf_lines(events: &[LifecycleEvent], change: &ExecutionChange) -> Vec<String> {
    let timing = Timing {
        timestamp_ms: timestamp_ms(change),
        start_ms: change.detail.start_date,
        stop_ms: change.detail.stop_date,
    };
    events.iter().flat_map(|e| event_lines(e, timing)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shifter::domain::lifecycle::{Cause, Status};

    fn change(start: i64, stop: i64) -> ExecutionChange {
        let time = chrono::DateTime::from_timestamp_millis(stop).unwrap();
        serde_json::from_value(json!({
            "version": "0", "id": "e1", "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states", "account": "1", "time": time.to_rfc3339(), "region": "r",
            "resources": [],
            "detail": {"executionArn": "arn:aws:states:r:1:execution:m:d1", "name": "d1",
                       "status": "FAILED", "startDate": start, "stopDate": stop}
        }))
        .unwrap()
    }

    #[test]
    fn an_emf_line_has_the_specifications_shape() {
        let input = json!({"functionName": "orders", "alias": "live", "targetVersion": "2"});
        let mut event = started("d1", "arn:aws:states:r:1:execution:m:d1", &input);
        let lines = emf_lines(std::slice::from_ref(&event), &change(0, 1_000));
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
        assert_eq!(line["DeploymentsStarted"], 1.0);
        event.status = Status::RolledBack;
        event.cause = Some(Cause {
            kind: "alarm".into(),
            error: "AlarmTriggered".into(),
            message: "alarm e went into ALARM at 10% on version 2 (during bake; in ALARM since \
                      1970-01-01T00:00:02Z). Alias live restored to version 1."
                .into(),
        });
        let lines = emf_lines(std::slice::from_ref(&event), &change(0, 5_000));
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["DeploymentsRolledBack"], 1.0);
        assert_eq!(line["ChangeFailure"], 1.0);
        assert_eq!(line["DeploymentDuration"], 5.0);
        assert_eq!(
            line["TimeToRestore"], 3.0,
            "from the alarm at 2 s to the end at 5 s"
        );
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "DeploymentsRolledBack",
                "ChangeFailure",
                "DeploymentDuration",
                "TimeToRestore"
            ]
        );
        event.status = Status::Rejected;
        assert!(emf_lines(&[event], &change(0, 1_000)).is_empty());
    }
}
