//! State transitions and Step Functions cost of a plan, without running it.

use super::strategy::Step;

/// Standard workflows: USD 0.025 per 1,000 state transitions.
pub const USD_PER_TRANSITION: f64 = 0.025 / 1000.0;

/// What a deployment costs in state transitions, if nothing fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionEstimate {
    /// States entered, from Start Deployment to Deployment Succeeded.
    pub transitions: u64,
    /// Backstop reads of the alarms Check Health makes on the way: one per backstop interval of
    /// every bake.
    pub alarm_checks: u64,
    /// Alarm reads Check Health makes after the hooks (one per hook: before any traffic moves,
    /// and at 100 % before the post-promotion bake).
    pub hook_reads: u64,
    /// 1 when the watch function's first park reads the alarms too: a park comes before any
    /// Check Health read (no pre-traffic hook, or none before the first park).
    pub first_park_reads: u64,
}

impl TransitionEstimate {
    /// USD at the Standard workflow price.
    pub fn cost_usd(&self) -> f64 {
        usd(self.transitions)
    }
}

/// USD for `transitions` at the Standard workflow price, to the millionth of a dollar (what
/// the text output shows): `0.0006`, not `0.0006000000000000001`.
pub fn usd(transitions: u64) -> f64 {
    (transitions as f64 * USD_PER_TRANSITION * 1e6).round() / 1e6
}

/// Counts the states a successful run enters: Start Deployment and What Next?, each hook with its
/// Check Health and What Next?, each partial step's Shift Traffic plus one Bake, Check Health and
/// What Next? per check interval, Promote and What Next?, the post-promotion checks, and the final
/// Succeed state.
pub fn estimate(
    plan: &[Step],
    check_interval_seconds: u32,
    pre_traffic_hook: bool,
    post_traffic_hook: bool,
    post_promotion_bake_seconds: u32,
) -> TransitionEstimate {
    let interval = u64::from(check_interval_seconds.max(1));
    let checks = |bake: u32| u64::from(bake).div_ceil(interval);
    let hook = |present: bool| if present { 3 } else { 0 };
    let mut transitions = 2 + hook(pre_traffic_hook);
    let mut alarm_checks = 0;
    let bakes_first = plan
        .iter()
        .any(|s| !s.weight.is_full() && checks(s.bake_seconds) > 0);
    let first_park_reads = !pre_traffic_hook
        && (bakes_first || (!post_traffic_hook && checks(post_promotion_bake_seconds) > 0));
    for step in plan {
        if step.weight.is_full() {
            transitions += 2;
        } else {
            transitions += 1 + 3 * checks(step.bake_seconds);
            alarm_checks += checks(step.bake_seconds);
        }
    }
    transitions += hook(post_traffic_hook) + 3 * checks(post_promotion_bake_seconds) + 1;
    alarm_checks += checks(post_promotion_bake_seconds);
    TransitionEstimate {
        transitions,
        alarm_checks,
        hook_reads: u64::from(pre_traffic_hook) + u64::from(post_traffic_hook),
        first_park_reads: u64::from(first_park_reads),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::strategy::Strategy;

    fn count(name: &str, interval: u32) -> u64 {
        let plan = Strategy::from_name(name).unwrap().plan();
        estimate(plan.steps(), interval, false, false, 0).transitions
    }

    #[test]
    fn known_counts() {
        assert_eq!(count("AllAtOnce", 30), 5);
        assert_eq!(count("Canary10Percent5Minutes", 30), 36);
        assert_eq!(count("Linear10PercentEvery1Minute", 15), 122);
        let plan = Strategy::from_name("Canary10Percent5Minutes")
            .unwrap()
            .plan();
        let e = estimate(plan.steps(), 30, true, true, 60);
        assert_eq!(e.transitions, 36 + 3 + 3 + 6);
        assert_eq!(
            (e.alarm_checks, e.hook_reads, e.first_park_reads),
            (12, 2, 0)
        );
        assert!((e.cost_usd() - 48.0 * 0.000025).abs() < 1e-12);
    }
}
