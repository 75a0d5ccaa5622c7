//! Settings that would do nothing (issue 21, item 3): each is named in a warning the user
//! cannot miss — the CLI prints them on stderr, Start Deployment logs them — rather than
//! accepted in silence. The input stays valid: a schedule or a pipeline that carries a spare
//! setting keeps working.

use serde_json::Value;

use super::request::DeploymentRequest;

/// A field of an accepted input that has no effect, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleSetting {
    /// JSON path of the field (`approvalTimeoutSeconds`).
    pub field: &'static str,
    /// Why it does nothing.
    pub message: &'static str,
}

impl std::fmt::Display for IdleSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The settings of `input` (accepted as `request`) that would do nothing, in input order.
pub fn idle_settings(input: &Value, request: &DeploymentRequest) -> Vec<IdleSetting> {
    let given = |field: &str| input.get(field).is_some();
    let gated = !request.approval.steps.is_empty() || request.approval.before_promote;
    let watched = !request.alarms.is_empty();
    let partial_steps = request.plan.steps().iter().any(|s| !s.weight.is_full());
    let mut idle = Vec::new();
    let mut note = |on: bool, field, message| {
        if on {
            idle.push(IdleSetting { field, message });
        }
    };
    note(
        !watched && request.analysis.is_none(),
        "alarms",
        "none given and no analysis: nothing is watched, so nothing can roll the deployment \
         back; each step only waits out its bake",
    );
    note(
        given("checkIntervalSeconds") && !watched && !gated,
        "checkIntervalSeconds",
        "does nothing: there are no alarms to read and no approval gate to wait at",
    );
    note(
        request.post_promotion_bake_seconds > 0 && !watched,
        "postPromotionBakeSeconds",
        "watches nothing: after the promotion only alarms are read, and the input has none",
    );
    for field in ["approvalTimeoutSeconds", "approvalDefault"] {
        note(
            given(field) && !gated,
            field,
            "does nothing: the input has no approval gate (a step's \"approval\": true, or \
             approvalBeforePromote)",
        );
    }
    note(
        request.analysis.is_some() && !partial_steps,
        "analysis",
        "does nothing: the strategy moves all traffic at once, so no step runs both versions \
         side by side to compare",
    );
    idle
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn idle(input: Value) -> Vec<&'static str> {
        let request = DeploymentRequest::from_json(&input).expect("valid input");
        idle_settings(&input, &request)
            .iter()
            .map(|s| s.field)
            .collect()
    }

    /// Each setting that would do nothing is named; a complete input names none.
    #[test]
    fn settings_that_would_do_nothing_are_named() {
        let base = json!({"functionName": "orders", "alias": "live", "targetVersion": "2",
            "strategy": "Canary10Percent5Minutes", "alarms": ["errors"]});
        assert!(idle(base.clone()).is_empty());
        let with = |field: &str, value: Value| {
            let mut input = base.clone();
            input[field] = value;
            input
        };
        assert_eq!(
            idle(with("approvalTimeoutSeconds", json!(600))),
            ["approvalTimeoutSeconds"]
        );
        assert_eq!(
            idle(with("approvalDefault", json!("approve"))),
            ["approvalDefault"]
        );
        let gated = with("approvalBeforePromote", json!(true));
        let mut timed = gated.clone();
        timed["approvalTimeoutSeconds"] = json!(600);
        assert!(idle(timed).is_empty());
        let mut all_at_once = with("strategy", json!("AllAtOnce"));
        all_at_once["analysis"] = json!({"maxErrorRatePercent": 1});
        assert_eq!(idle(all_at_once), ["analysis"]);
        let mut unwatched = with("alarms", json!([]));
        unwatched["checkIntervalSeconds"] = json!(30);
        unwatched["postPromotionBakeSeconds"] = json!(600);
        assert_eq!(
            idle(unwatched),
            ["alarms", "checkIntervalSeconds", "postPromotionBakeSeconds"]
        );
    }
}
