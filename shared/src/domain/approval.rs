//! Approval gates: which moves wait for an operator, what a gate does when nobody answers, and
//! the judgement of an operator's answer.

use serde::Deserialize;
use serde_json::Value;

/// The default approval timeout, in seconds.
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u32 = 3600;
/// The longest approval timeout: one day.
pub const MAX_APPROVAL_TIMEOUT_SECONDS: u32 = 86_400;

/// What an approval gate does when nobody answers in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalDefault {
    /// Go ahead as if approved.
    Approve,
    /// Roll back (error `ApprovalTimedOut`).
    #[default]
    Rollback,
}

/// Manual gates: steps that wait for `shifter approve` before their shift, and the promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Indices into the plan of steps that need approval before traffic moves to them.
    pub steps: Vec<usize>,
    /// The promotion needs approval.
    pub before_promote: bool,
    /// Seconds a gate waits for an answer.
    pub timeout_seconds: u32,
    /// What happens when nobody answers.
    pub default: ApprovalDefault,
}

impl Default for Approval {
    fn default() -> Self {
        Approval {
            steps: Vec::new(),
            before_promote: false,
            timeout_seconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
            default: ApprovalDefault::Rollback,
        }
    }
}

/// An operator's answer to a parked task (`shifter approve` / `shifter promote`), as the state
/// machine writes it to `$.control`: `{"action":"approve"}` or `{"action":"promote"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAnswer {
    /// Move on past the open gate.
    Approve,
    /// Skip the remaining steps: promote now (hooks and the post-promotion bake still run).
    Promote,
    /// Anything else: not an answer we know (a gate keeps waiting).
    Unrecognised,
}

impl OperatorAnswer {
    /// The `action` value on the wire.
    pub const APPROVE: &'static str = "approve";
    /// The same, for a promotion.
    pub const PROMOTE: &'static str = "promote";

    /// Reads the `action` of an answer (any JSON is accepted; an unknown one is
    /// [`OperatorAnswer::Unrecognised`]).
    pub fn read(control: &Value) -> OperatorAnswer {
        match control.get("action").and_then(Value::as_str) {
            Some(OperatorAnswer::APPROVE) => OperatorAnswer::Approve,
            Some(OperatorAnswer::PROMOTE) => OperatorAnswer::Promote,
            _ => OperatorAnswer::Unrecognised,
        }
    }

    /// The answer as an operator sends it (the task's output).
    pub fn to_value(self) -> Value {
        match self {
            OperatorAnswer::Approve => serde_json::json!({"action": OperatorAnswer::APPROVE}),
            OperatorAnswer::Promote => serde_json::json!({"action": OperatorAnswer::PROMOTE}),
            OperatorAnswer::Unrecognised => serde_json::json!({"action": null}),
        }
    }
}

/// What an open gate does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
    /// Keep waiting (no answer yet, or one we do not know).
    Wait,
    /// Move to the gated step.
    Approve,
    /// Skip to the promotion.
    PromoteNow,
    /// Nobody answered in time and the default is to roll back.
    TimedOut,
}

/// The gate's judgement: an answer decides; without one, the gate waits until it has been open
/// `timeout_seconds`, then follows its default.
pub fn judge_gate(
    answer: Option<OperatorAnswer>,
    open_for_seconds: i64,
    timeout_seconds: u32,
    default: ApprovalDefault,
) -> GateVerdict {
    match answer {
        Some(OperatorAnswer::Approve) => GateVerdict::Approve,
        Some(OperatorAnswer::Promote) => GateVerdict::PromoteNow,
        Some(OperatorAnswer::Unrecognised) => GateVerdict::Wait,
        None if open_for_seconds < i64::from(timeout_seconds) => GateVerdict::Wait,
        None if default == ApprovalDefault::Rollback => GateVerdict::TimedOut,
        None => GateVerdict::Approve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_read_strictly_and_gates_follow_them_or_their_default() {
        assert_eq!(
            OperatorAnswer::read(&json!({"action": "approve"})),
            OperatorAnswer::Approve
        );
        assert_eq!(
            OperatorAnswer::read(&json!({"action": "promote"})),
            OperatorAnswer::Promote
        );
        for odd in [
            json!({"action": "APPROVE"}),
            json!("approve"),
            json!({}),
            json!(null),
        ] {
            assert_eq!(
                OperatorAnswer::read(&odd),
                OperatorAnswer::Unrecognised,
                "{odd}"
            );
        }
        for answer in [OperatorAnswer::Approve, OperatorAnswer::Promote] {
            assert_eq!(OperatorAnswer::read(&answer.to_value()), answer);
        }
        let rollback = ApprovalDefault::Rollback;
        assert_eq!(judge_gate(None, 10, 60, rollback), GateVerdict::Wait);
        assert_eq!(judge_gate(None, 60, 60, rollback), GateVerdict::TimedOut);
        assert_eq!(
            judge_gate(None, 60, 60, ApprovalDefault::Approve),
            GateVerdict::Approve
        );
        let unknown = Some(OperatorAnswer::Unrecognised);
        assert_eq!(judge_gate(unknown, 99, 60, rollback), GateVerdict::Wait);
        let promote = Some(OperatorAnswer::Promote);
        assert_eq!(
            judge_gate(promote, 0, 60, rollback),
            GateVerdict::PromoteNow
        );
    }
}
