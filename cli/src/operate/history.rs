//! Step Functions `GetExecutionHistory` JSON (what `aws stepfunctions get-execution-history`
//! prints, and what the local runner exports) read into the port's events.

use chrono::{DateTime, Utc};
use serde_json::Value;
use shifter::ports::HistoryEvent;

/// Parses `get-execution-history` JSON into the port's events, as the Step Functions adapter
/// reads them from the SDK.
pub fn parse_history(value: &Value) -> Vec<HistoryEvent> {
    let events = value["events"].as_array().cloned().unwrap_or_default();
    events.iter().map(event).collect()
}

fn event(e: &Value) -> HistoryEvent {
    let details = e
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let text = |k: &str| details[k].as_str().map(str::to_owned);
    let at = match &e["timestamp"] {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default(),
        Value::Number(n) => {
            DateTime::from_timestamp_millis((n.as_f64().unwrap_or_default() * 1000.0) as i64)
                .unwrap_or_default()
        }
        _ => DateTime::default(),
    };
    let kind = e["type"].as_str().unwrap_or_default().to_owned();
    let state = if kind.ends_with("StateEntered") || kind.ends_with("StateExited") {
        text("name")
    } else {
        None
    };
    HistoryEvent {
        id: e["id"].as_i64().unwrap_or_default(),
        kind,
        at,
        state,
        error: text("error"),
        cause: text("cause"),
        input: text("input"),
        output: text("output"),
        parameters: text("parameters"),
    }
}
