//! A finished local run as Step Functions `GetExecutionHistory` would return it (the JSON the
//! AWS CLI prints), so tools that read real histories can be tested on recorded local runs.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::definition::{Kind, StateMachine};
use super::{EventKind, Execution};

/// `{"events": [...]}` for `execution`, which started at `start` with `input`.
pub fn export_history(
    machine: &StateMachine,
    execution: &Execution,
    start: DateTime<Utc>,
    input: &Value,
) -> Value {
    let mut out = Exporter {
        events: Vec::new(),
        start,
        entered: 0,
    };
    out.push(
        0.0,
        "ExecutionStarted",
        "executionStartedEventDetails",
        json!({"input": input.to_string(), "inputDetails": {"truncated": false},
               "roleArn": "arn:aws:iam::000000000000:role/local-state-machine"}),
    );
    let type_of = |name: &str| {
        machine
            .states
            .iter()
            .find(|s| s.name == name)
            .map_or("Task", |s| match &s.kind {
                Kind::Task(_) => "Task",
                Kind::Pass { .. } => "Pass",
                Kind::Choice { .. } => "Choice",
                Kind::Succeed => "Succeed",
                Kind::Fail { .. } => "Fail",
            })
    };
    let mut resource = (String::new(), String::new());
    for event in &execution.events {
        let at = event.at_seconds;
        match &event.kind {
            EventKind::StateEntered { name, input } => {
                let kind = format!("{}StateEntered", type_of(name));
                out.entered = out.events.len() as i64 + 1;
                out.push(
                    at,
                    &kind,
                    "stateEnteredEventDetails",
                    json!({"name": name, "input": input.to_string(), "inputDetails": {"truncated": false}}),
                );
            }
            EventKind::StateExited { name, output } => {
                let kind = format!("{}StateExited", type_of(name));
                out.push(
                    at,
                    &kind,
                    "stateExitedEventDetails",
                    json!({"name": name, "output": output.to_string(), "outputDetails": {"truncated": false}}),
                );
            }
            EventKind::TaskScheduled {
                resource: arn,
                parameters,
                timeout_seconds,
                ..
            } => {
                let tail = arn.trim_start_matches("arn:aws:states:::");
                let (kind, name) = tail.split_once(':').unwrap_or((tail, ""));
                resource = (kind.to_owned(), name.to_owned());
                let mut details = json!({"resourceType": kind, "resource": name,
                    "region": "us-east-1", "parameters": parameters.to_string()});
                if let Some(t) = timeout_seconds {
                    details["timeoutInSeconds"] = json!(t);
                }
                out.push(at, "TaskScheduled", "taskScheduledEventDetails", details);
                let base = json!({"resourceType": kind, "resource": name});
                out.push(at, "TaskStarted", "taskStartedEventDetails", base.clone());
                if name.ends_with(".waitForTaskToken") {
                    let mut submitted = base;
                    submitted["output"] = json!(
                        json!({"Entries": [{"EventId": "local"}], "FailedEntryCount": 0})
                            .to_string()
                    );
                    out.push(at, "TaskSubmitted", "taskSubmittedEventDetails", submitted);
                }
            }
            EventKind::TaskSucceeded { output, .. } => out.push(
                at,
                "TaskSucceeded",
                "taskSucceededEventDetails",
                json!({"resourceType": resource.0, "resource": resource.1,
                       "output": output.to_string(), "outputDetails": {"truncated": false}}),
            ),
            EventKind::TaskFailed { error, cause, .. } => {
                let (kind, field) = if error == "States.Timeout" {
                    ("TaskTimedOut", "taskTimedOutEventDetails")
                } else {
                    ("TaskFailed", "taskFailedEventDetails")
                };
                out.push(
                    at,
                    kind,
                    field,
                    json!({"resourceType": resource.0, "resource": resource.1, "error": error, "cause": cause}),
                );
            }
            EventKind::ExecutionSucceeded { output } => out.push(
                at,
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                json!({"output": output.to_string(), "outputDetails": {"truncated": false}}),
            ),
            EventKind::ExecutionFailed { error, cause } => out.push(
                at,
                "ExecutionFailed",
                "executionFailedEventDetails",
                json!({"error": error, "cause": cause}),
            ),
            EventKind::Retrying { .. } | EventKind::Caught { .. } => {}
        }
    }
    json!({ "events": out.events })
}

struct Exporter {
    events: Vec<Value>,
    start: DateTime<Utc>,
    entered: i64,
}

impl Exporter {
    fn push(&mut self, at_seconds: f64, kind: &str, field: &str, details: Value) {
        let id = self.events.len() as i64 + 1;
        let at = self.start + TimeDelta::milliseconds((at_seconds * 1000.0).round() as i64);
        let previous = if kind.ends_with("StateEntered") {
            id - 1
        } else {
            self.entered.max(id - 1)
        };
        let mut event = json!({
            "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "type": kind,
            "id": id,
            "previousEventId": previous,
        });
        event[field] = details;
        self.events.push(event);
    }
}
