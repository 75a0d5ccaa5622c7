//! A finished local run as Step Functions `GetExecutionHistory` would return it (the JSON the
//! AWS CLI prints): the recorded histories in `events/` that the CLI's tests of the AWS path read.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::definition::{Kind, StateMachine};
use super::{EventKind, Execution, HISTORY_EVENT_LIMIT, HISTORY_LIMIT_CAUSE, RUNTIME};

/// `{"events": [...]}` for `execution`, which started at `start` with `input`.
pub fn export_history(
    machine: &StateMachine,
    execution: &Execution,
    start: DateTime<Utc>,
    input: &Value,
) -> Value {
    let mut out = Exporter {
        machine,
        events: Vec::new(),
        start,
        entered: 0,
        resource: Resource::default(),
    };
    out.push(
        0.0,
        "ExecutionStarted",
        "executionStartedEventDetails",
        json!({"input": input.to_string(), "inputDetails": {"truncated": false},
               "roleArn": "arn:aws:iam::000000000000:role/local-state-machine"}),
    );
    for event in &execution.events {
        out.event(event.at_seconds, &event.kind);
    }
    json!({ "events": out.events })
}

/// The `resourceType` and `resource` of the Task running now (`lambda`, `invoke`).
#[derive(Default)]
struct Resource {
    kind: String,
    name: String,
}

struct Exporter<'a> {
    machine: &'a StateMachine,
    events: Vec<Value>,
    start: DateTime<Utc>,
    /// Id of the last StateEntered event: what later events of the state point back to.
    entered: i64,
    resource: Resource,
}

impl Exporter<'_> {
    fn event(&mut self, at: f64, kind: &EventKind) {
        match kind {
            EventKind::StateEntered { name, input } => {
                let kind = format!("{}StateEntered", self.state_type(name));
                self.entered = self.events.len() as i64 + 1;
                let details = json!({"name": name, "input": input.to_string(),
                                     "inputDetails": {"truncated": false}});
                self.push(at, &kind, "stateEnteredEventDetails", details);
            }
            EventKind::StateExited { name, output } => {
                let kind = format!("{}StateExited", self.state_type(name));
                let details = json!({"name": name, "output": output.to_string(),
                                     "outputDetails": {"truncated": false}});
                self.push(at, &kind, "stateExitedEventDetails", details);
            }
            EventKind::TaskScheduled {
                resource,
                parameters,
                timeout_seconds,
                ..
            } => self.scheduled(at, resource, parameters, *timeout_seconds),
            EventKind::TaskSucceeded { output, .. } => self.task_succeeded(at, output),
            EventKind::TaskFailed { error, cause, .. } => self.task_failed(at, error, cause),
            EventKind::ExecutionSucceeded { output } => self.push(
                at,
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                json!({"output": output.to_string(), "outputDetails": {"truncated": false}}),
            ),
            EventKind::ExecutionFailed { error, cause } => {
                self.execution_failed(at, error.as_deref(), cause.as_deref());
            }
            EventKind::ExecutionAborted => self.push(
                at,
                "ExecutionAborted",
                "executionAbortedEventDetails",
                json!({}),
            ),
            // Step Functions writes no event of its own for these.
            EventKind::Retrying { .. } | EventKind::Caught { .. } => {}
        }
    }

    /// ExecutionFailed; at the history limit it is event 25,000, whatever the last state was
    /// writing (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>).
    fn execution_failed(&mut self, at: f64, error: Option<&str>, cause: Option<&str>) {
        if error == Some(RUNTIME) && cause == Some(HISTORY_LIMIT_CAUSE) {
            let last = usize::try_from(HISTORY_EVENT_LIMIT - 1).unwrap_or(usize::MAX);
            self.events.truncate(last);
        }
        self.push(
            at,
            "ExecutionFailed",
            "executionFailedEventDetails",
            json!({"error": error, "cause": cause}),
        );
    }

    /// The state type that prefixes its events' names (`TaskStateEntered`, `ChoiceStateExited`).
    fn state_type(&self, name: &str) -> &'static str {
        let state = self.machine.states.iter().find(|s| s.name == name);
        state.map_or("Task", |s| match &s.kind {
            Kind::Task(_) => "Task",
            Kind::Pass { .. } => "Pass",
            Kind::Choice { .. } => "Choice",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
        })
    }

    /// TaskScheduled, TaskStarted and, for a parked task, TaskSubmitted.
    fn scheduled(&mut self, at: f64, arn: &str, parameters: &Value, timeout: Option<u64>) {
        let tail = arn.trim_start_matches("arn:aws:states:::");
        let (kind, name) = tail.split_once(':').unwrap_or((tail, ""));
        self.resource = Resource {
            kind: kind.to_owned(),
            name: name.to_owned(),
        };
        let mut details = json!({"resourceType": kind, "resource": name,
            "region": "us-east-1", "parameters": parameters.to_string()});
        if let Some(t) = timeout {
            details["timeoutInSeconds"] = json!(t);
        }
        self.push(at, "TaskScheduled", "taskScheduledEventDetails", details);
        let base = json!({"resourceType": kind, "resource": name});
        self.push(at, "TaskStarted", "taskStartedEventDetails", base.clone());
        if name.ends_with(".waitForTaskToken") {
            let mut submitted = base;
            let put = json!({"Entries": [{"EventId": "local"}], "FailedEntryCount": 0});
            submitted["output"] = json!(put.to_string());
            self.push(at, "TaskSubmitted", "taskSubmittedEventDetails", submitted);
        }
    }

    fn task_succeeded(&mut self, at: f64, output: &Value) {
        let details = json!({"resourceType": self.resource.kind, "resource": self.resource.name,
                             "output": output.to_string(), "outputDetails": {"truncated": false}});
        self.push(at, "TaskSucceeded", "taskSucceededEventDetails", details);
    }

    fn task_failed(&mut self, at: f64, error: &str, cause: &str) {
        let (kind, field) = if error == "States.Timeout" {
            ("TaskTimedOut", "taskTimedOutEventDetails")
        } else {
            ("TaskFailed", "taskFailedEventDetails")
        };
        let details = json!({"resourceType": self.resource.kind, "resource": self.resource.name,
                             "error": error, "cause": cause});
        self.push(at, kind, field, details);
    }

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
