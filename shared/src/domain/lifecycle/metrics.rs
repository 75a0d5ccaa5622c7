//! The deployment metrics, as CloudWatch embedded metric format lines (namespace
//! `TrafficShifter`, dimensions `function` and `alias`): counts at the start and the ending,
//! the ending's duration and change-failure flag, the time from an alarm to the restored alias,
//! and the time a gate waited for people. Pure: the functions print what this returns; no SDK
//! call (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{LifecycleEvent, Status};

/// The metrics' namespace.
pub const NAMESPACE: &str = "TrafficShifter";

/// Every metric name a function prints (the dashboard in template.yaml reads these).
pub const METRIC_NAMES: [&str; 8] = [
    "DeploymentsStarted",
    "DeploymentsSucceeded",
    "DeploymentsRolledBack",
    "DeploymentsFailed",
    CHANGE_FAILURE,
    DURATION,
    TIME_TO_RESTORE,
    APPROVAL_WAIT,
];

/// 1 for an ending that rolled back or failed, 0 for a success: its average is the
/// change-failure rate.
pub const CHANGE_FAILURE: &str = "ChangeFailure";
/// Seconds from the execution's start to its end.
pub const DURATION: &str = "DeploymentDuration";
/// Seconds from the alarm going into ALARM to the end of the execution that restored the alias.
pub const TIME_TO_RESTORE: &str = "TimeToRestore";
/// Seconds an approval gate stayed open (until an answer, its timeout, or a rollback).
pub const APPROVAL_WAIT: &str = "ApprovalWait";

/// Words the alarm event's cause carries before the time the alarm went into ALARM.
pub const ALARM_SINCE: &str = "in ALARM since ";

/// One metric's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The name (one of [`METRIC_NAMES`]).
    pub name: &'static str,
    /// `Count` or `Seconds`.
    pub unit: &'static str,
    /// The value.
    pub value: f64,
}

impl Metric {
    fn count(name: &'static str, value: f64) -> Metric {
        Metric {
            name,
            unit: "Count",
            value,
        }
    }

    fn seconds(name: &'static str, value: f64) -> Metric {
        Metric {
            name,
            unit: "Seconds",
            value,
        }
    }
}

/// One EMF line for one alias: every metric named in the directive is a member of the root.
pub fn emf_line(
    (function, alias): (&str, &str),
    deployment_id: &str,
    timestamp_ms: i64,
    metrics: &[Metric],
) -> String {
    let mut line = json!({"function": function, "alias": alias, "deploymentId": deployment_id});
    for m in metrics {
        line[m.name] = json!(m.value);
    }
    line["_aws"] = json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [["function", "alias"]],
            "Metrics": metrics.iter().map(|m| json!({"Name": m.name, "Unit": m.unit})).collect::<Vec<_>>(),
        }],
    });
    Value::to_string(&line)
}

/// The aliases an event names: a train's every member, else the lead.
fn aliases(event: &LifecycleEvent) -> Vec<(&str, &str)> {
    let mut all: Vec<(&str, &str)> = event
        .members
        .iter()
        .map(|m| (m.function.as_str(), m.alias.as_str()))
        .collect();
    if all.is_empty() {
        all.push((&event.function, &event.alias));
    }
    all
}

/// The count an event adds, and whether it is a failed change (`None` for neither).
fn counted(status: Status) -> Option<(&'static str, Option<f64>)> {
    match status {
        Status::Started => Some(("DeploymentsStarted", None)),
        Status::Succeeded => Some(("DeploymentsSucceeded", Some(0.0))),
        Status::RolledBack => Some(("DeploymentsRolledBack", Some(1.0))),
        Status::RollbackFailed | Status::Drift | Status::Stopped => {
            Some(("DeploymentsFailed", Some(1.0)))
        }
        _ => None,
    }
}

/// What an execution's status change tells the metrics, besides the event.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// When the status change happened (milliseconds since the epoch).
    pub timestamp_ms: i64,
    /// The execution's start (`startDate`), once it ended.
    pub start_ms: Option<i64>,
    /// The execution's end (`stopDate`), once it ended.
    pub stop_ms: Option<i64>,
}

/// The EMF lines of one lifecycle event (one per alias; none for a status no metric counts):
/// its count; at an ending, the duration, the change-failure flag and, for a rollback an alarm
/// event caused, the time from the alarm to the restored alias ([`time_to_restore`]).
pub fn event_lines(event: &LifecycleEvent, timing: Timing) -> Vec<String> {
    let Some((name, failed)) = counted(event.status) else {
        return Vec::new();
    };
    let mut metrics = vec![Metric::count(name, 1.0)];
    if event.status != Status::Started {
        if let Some(failed) = failed {
            metrics.push(Metric::count(CHANGE_FAILURE, failed));
        }
        if let Some((start, stop)) = timing.start_ms.zip(timing.stop_ms) {
            metrics.push(Metric::seconds(DURATION, (stop - start) as f64 / 1000.0));
        }
        if let Some(seconds) = timing.stop_ms.and_then(|stop| time_to_restore(event, stop)) {
            metrics.push(Metric::seconds(TIME_TO_RESTORE, seconds));
        }
    }
    aliases(event)
        .into_iter()
        .map(|a| emf_line(a, &event.deployment_id, timing.timestamp_ms, &metrics))
        .collect()
}

/// Seconds from the alarm to the end of a ROLLED_BACK execution an alarm event caused: the
/// watch function writes the alarm's time into the cause ([`ALARM_SINCE`]); Roll Back's restore
/// is the execution's last step. `None` for any other ending, or a cause without the time (an
/// alarm found by a backstop read, or noted while nothing was parked).
pub fn time_to_restore(event: &LifecycleEvent, stop_ms: i64) -> Option<f64> {
    let cause = event.cause.as_ref()?;
    if event.status != Status::RolledBack || cause.kind != "alarm" {
        return None;
    }
    let since = alarm_since(&cause.message)?;
    let seconds = (stop_ms - since.timestamp_millis()) as f64 / 1000.0;
    (seconds >= 0.0).then_some(seconds)
}

/// The time after [`ALARM_SINCE`] in a cause (RFC 3339, up to `)`, `;` or a space).
pub fn alarm_since(cause: &str) -> Option<DateTime<Utc>> {
    let at = cause.find(ALARM_SINCE)? + ALARM_SINCE.len();
    let text = &cause[at..];
    let end = text.find([')', ';', ' ']).unwrap_or(text.len());
    DateTime::parse_from_rfc3339(&text[..end])
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Seconds a gate waited for people, when it closed between `before` (when it opened, as the
/// document came in) and `after` (as it goes out: `None` once closed — Check Health clears it
/// when the gate is answered or times out; a Roll Back closes it too).
pub fn approval_wait(
    before: Option<DateTime<Utc>>,
    after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<f64> {
    let opened = before.filter(|_| after.is_none())?;
    Some(((now - opened).num_milliseconds().max(0)) as f64 / 1000.0)
}

/// The EMF lines of a gate that closed ([`approval_wait`]): one per alias of the deployment.
pub fn approval_lines(
    d: &crate::domain::deployment::Deployment,
    before: Option<DateTime<Utc>>,
    after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let Some(seconds) = approval_wait(before, after, now) else {
        return Vec::new();
    };
    let metrics = [Metric::seconds(APPROVAL_WAIT, seconds)];
    d.members
        .iter()
        .map(|m| {
            emf_line(
                (&m.function_name, &m.alias),
                &d.deployment_id,
                now.timestamp_millis(),
                &metrics,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::{Cause, started};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn a_gate_is_counted_once_when_it_closes() {
        // Opening, staying open, closing; a document that never had a gate.
        assert_eq!(approval_wait(None, Some(at(10)), at(10)), None);
        assert_eq!(approval_wait(Some(at(10)), Some(at(10)), at(70)), None);
        assert_eq!(approval_wait(Some(at(10)), None, at(95)), Some(85.0));
        assert_eq!(approval_wait(None, None, at(95)), None);
    }

    #[test]
    fn time_to_restore_is_read_from_an_alarm_rollbacks_cause_only() {
        let input = json!({"functionName": "orders", "alias": "live", "targetVersion": "2"});
        let mut event = started("d1", "arn:aws:states:r:1:execution:m:d1", &input);
        let cause = |kind: &str, message: &str| Cause {
            kind: kind.into(),
            error: "AlarmTriggered".into(),
            message: message.into(),
        };
        let said = "alarm e went into ALARM (x) at 10% on version 2 (during bake; in ALARM since \
                    2026-12-07T14:03:12Z). Alias live restored to version 1.";
        assert_eq!(
            alarm_since(said),
            Some(
                DateTime::parse_from_rfc3339("2026-12-07T14:03:12Z")
                    .unwrap()
                    .into()
            )
        );
        let stop = alarm_since(said).unwrap().timestamp_millis() + 2_500;
        event.status = Status::RolledBack;
        event.cause = Some(cause("alarm", said));
        assert_eq!(time_to_restore(&event, stop), Some(2.5));
        // A backstop read carries no time; another cause or status tells nothing.
        event.cause = Some(cause("alarm", "alarm e in ALARM at 10% on version 2"));
        assert_eq!(time_to_restore(&event, stop), None);
        event.cause = Some(cause("operator", said));
        assert_eq!(time_to_restore(&event, stop), None);
        event.cause = Some(cause("alarm", said));
        event.status = Status::RollbackFailed;
        assert_eq!(time_to_restore(&event, stop), None);
        assert_eq!(alarm_since("in ALARM since yesterday)"), None);
    }

    #[test]
    fn every_line_names_its_metrics_at_the_root() {
        let line: Value = serde_json::from_str(&emf_line(
            ("orders", "live"),
            "d1",
            5,
            &[Metric::seconds(APPROVAL_WAIT, 85.0)],
        ))
        .unwrap();
        assert_eq!(line["ApprovalWait"], 85.0);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "ApprovalWait", "Unit": "Seconds"}])
        );
        assert!(METRIC_NAMES.contains(&APPROVAL_WAIT));
    }
}
