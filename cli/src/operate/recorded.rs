//! Test fixtures: the recorded histories in `events/` (what `aws stepfunctions
//! get-execution-history` prints), read into the port's events, and executions that hold them.

use std::sync::Arc;

use serde_json::json;
use shifter::fakes::{FakeExecutions, ManualClock};
use shifter::ports::{ExecutionStatus, Executions, HistoryEvent};

pub use super::history::parse_history;

/// The recorded history `events/<name>`.
pub fn recorded(name: &str) -> Vec<HistoryEvent> {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_history(&serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// The recorded aborted history cut while the first Bake is parked.
pub fn parked() -> Vec<HistoryEvent> {
    let history = recorded("execution-history-aborted.json");
    let at = history
        .iter()
        .position(|e| e.kind == "TaskSubmitted")
        .unwrap();
    history[..=at].to_vec()
}

/// A running execution (in the fake) whose history so far is `history`.
pub async fn running(history: Vec<HistoryEvent>) -> (FakeExecutions, String) {
    let fake = FakeExecutions::new(Arc::new(ManualClock::at_epoch()));
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:deploy";
    fake.add_state_machine(machine);
    let arn = fake
        .start_execution(machine, "x", &json!({}))
        .await
        .unwrap();
    fake.set_history(&arn, ExecutionStatus::Running, history);
    (fake, arn)
}
