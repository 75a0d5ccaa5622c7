//! How far a rehearsal can run, so that a scheduled flag (`--alarm-at`, `--drift-at`, …) that
//! could never happen is refused by name instead of rehearsing something else, and a huge value
//! never reaches the clock arithmetic.

use std::time::Duration;

use shifter::domain::DeploymentRequest;
use shifter_statemachine::local::FUNCTION_TIMEOUT_SECONDS;

use crate::error::CliError;
use crate::output::clock;

/// A Standard workflow runs at most one year, so no simulated time beyond it can be reached:
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-state-machine-executions>
pub const MAX_EXECUTION_SECONDS: u64 = 365 * 24 * 3600;

/// Lambda runs a synchronous hook for at most 15 minutes:
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html>
const MAX_SYNC_HOOK_SECONDS: u64 = 900;

/// Time the retries of the state machine's Tasks can add to a run (a few attempts with
/// backoff), beyond which nothing the rehearsal scripts can still happen.
const RETRY_MARGIN_SECONDS: u64 = 600;

/// The latest simulated second a run of `request` can reach: every bake, every gate waiting its
/// whole timeout, every hook its whole time, every write waiting `readyTimeoutSeconds`, the
/// post-promotion bake, and a margin for retries and `faults` injected Lambda failures.
pub fn latest_end(request: &DeploymentRequest, injected_faults: u64) -> u64 {
    let approval = &request.approval;
    let gates = approval.steps.len() as u64 + u64::from(approval.before_promote);
    let hooks = [&request.hooks.pre_traffic, &request.hooks.post_traffic]
        .iter()
        .filter(|h| h.is_some())
        .count() as u64;
    let per_hook = request
        .hooks
        .callback_timeout_seconds
        .map_or(MAX_SYNC_HOOK_SECONDS, u64::from);
    let writes = request.plan.steps().len() as u64;
    let ready = u64::from(request.provisioned_concurrency.ready_timeout_seconds);
    let faults = injected_faults.saturating_mul(FUNCTION_TIMEOUT_SECONDS.unsigned_abs() + 60);
    request
        .plan
        .total_bake_seconds()
        .saturating_add(u64::from(request.post_promotion_bake_seconds))
        .saturating_add(gates.saturating_mul(u64::from(approval.timeout_seconds)))
        .saturating_add(hooks.saturating_mul(per_hook))
        .saturating_add(writes.saturating_mul(ready))
        .saturating_add(RETRY_MARGIN_SECONDS)
        .saturating_add(faults)
}

/// [`latest_end`] of `input`, when it is a valid input (an invalid one is rejected at Start
/// Deployment, at 0 s).
pub fn latest_of(input: &serde_json::Value, injected_faults: u64) -> Option<u64> {
    let request = DeploymentRequest::from_json(input).ok()?;
    Some(latest_end(&request, injected_faults))
}

/// A simulated time given to `flag`, in seconds: refused past `latest` (when the input is valid
/// and so the run's length known) and past a year in any case.
pub fn scheduled(flag: &str, at: Duration, latest: Option<u64>) -> Result<u64, CliError> {
    let seconds = at.as_secs();
    let shown = if seconds > MAX_EXECUTION_SECONDS {
        format!("{seconds}s")
    } else {
        humantime::format_duration(at).to_string()
    };
    if seconds > MAX_EXECUTION_SECONDS {
        return Err(CliError::Usage(format!(
            "{flag} {shown}: an execution runs at most a year ({MAX_EXECUTION_SECONDS} s), so \
             it never comes"
        )));
    }
    match latest {
        Some(latest) if seconds > latest => Err(CliError::Usage(format!(
            "{flag} {shown}: a run of this input ends by {} at the latest (every bake, gate, \
             hook and wait for provisioned concurrency at its longest, with retries), so it \
             never comes; use a time up to that",
            clock(latest)
        ))),
        _ => Ok(seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(input: serde_json::Value) -> DeploymentRequest {
        DeploymentRequest::from_json(&input).expect("valid input")
    }

    #[test]
    fn the_latest_end_counts_bakes_gates_hooks_and_a_margin() {
        let canary = request(serde_json::json!({"functionName": "f", "alias": "live",
            "targetVersion": "2", "strategy": "Canary10Percent5Minutes"}));
        let ready = u64::from(shifter::domain::provisioned::DEFAULT_READY_TIMEOUT_SECONDS);
        assert_eq!(
            latest_end(&canary, 0),
            300 + RETRY_MARGIN_SECONDS + 2 * ready
        );
        let gated = request(serde_json::json!({"functionName": "f", "alias": "live",
            "targetVersion": "2", "strategy": "Canary10Percent5Minutes",
            "hooks": {"preTraffic": "pre", "callbackTimeoutSeconds": 60},
            "approvalBeforePromote": true, "approvalTimeoutSeconds": 120}));
        assert_eq!(
            latest_end(&gated, 1),
            latest_end(&canary, 0) + 60 + 120 + 30 + 60
        );
        assert!(scheduled("--alarm-at", Duration::from_secs(301), Some(300)).is_err());
        assert_eq!(
            scheduled("--alarm-at", Duration::from_secs(300), Some(300)).unwrap(),
            300
        );
        let huge = scheduled("--alarm-at", Duration::from_secs(u64::MAX), None).unwrap_err();
        assert!(huge.to_string().starts_with("--alarm-at "), "{huge}");
    }
}
