//! The history events an execution can write, and the budget every accepted input fits.
//!
//! Step Functions fails a Standard execution at its 25,000th history event with
//! `States.Runtime`, which no Catch sees: the alias would stay split. So Start Deployment
//! refuses an input whose worst case does not fit [`HISTORY_EVENT_BUDGET`].

use super::request::{CHECK_INTERVAL_RANGE, DeploymentRequest, FieldError};

/// Step Functions' quota of history events in one Standard execution
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>, "Maximum
/// execution history size").
pub const HISTORY_EVENT_QUOTA: u64 = 25_000;

/// The most history events an accepted input may write in its worst case, retries left out.
/// The rest of the quota is kept for retries, which the estimate cannot know in advance: a
/// retried Task adds TaskFailed, TaskScheduled and TaskStarted (3 events; a park also
/// TaskSubmitted, 4). A run is mostly park pieces of 13 events (park 6, Check Health 5, What
/// Next? 2) with two Tasks each, so retrying every Task once adds 7 events per 13: 16,000
/// events then come to 16,000 × 20 / 13 = 24,616, under
/// the 25,000 quota (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
pub const HISTORY_EVENT_BUDGET: u64 = 16_000;

/// A Task (`lambda:invoke`, `events:putEvents`): entered, scheduled, started, succeeded (or
/// failed), exited.
const TASK: u64 = 5;
/// A park (`lambda:invoke.waitForTaskToken`): a Task that is also submitted, and times out or
/// is answered.
const PARK: u64 = 6;
/// A Choice or Pass state, or the Succeed state: entered, exited.
const CHOICE: u64 = 2;
/// One piece of a bake, gate or post-promotion bake: the park, Check Health and What Next?.
const PIECE: u64 = PARK + TASK + CHOICE;
/// A hook, its Check Health and What Next?.
const HOOK: u64 = TASK + TASK + CHOICE;
/// How a successful run ends: Deployment Succeeded (entered, exited) and ExecutionSucceeded.
const SUCCEEDED: u64 = CHOICE + 1;
/// The longest way a run ends instead: Roll Back (a Task), Describe Rollback Failure (a Pass),
/// Rollback Failed (a Fail: entered only) and ExecutionFailed.
const ROLLBACK_FAILED: u64 = TASK + CHOICE + 1 + 1;

/// The history events of a deployment, without retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryEstimate {
    /// A run that succeeds, every approval gate answered only at the end of its timeout:
    /// exactly what Step Functions writes for a run without gates and without retries.
    pub succeeding: u64,
    /// The most any run writes: as `succeeding`, then its last alarm read fails it and the
    /// rollback fails too.
    pub worst_case: u64,
}

impl HistoryEstimate {
    /// True when the worst case fits [`HISTORY_EVENT_BUDGET`].
    pub fn fits(&self) -> bool {
        self.worst_case <= HISTORY_EVENT_BUDGET
    }
}

/// Counts, state by state as Step Functions writes them: ExecutionStarted; Start Deployment and
/// What Next?; each hook with its Check Health and What Next?; for every step, its approval
/// gate if it has one (Announce Approval, then one piece per `checkIntervalSeconds` of the
/// timeout), then Promote and What Next? (the 100% step) or Shift Traffic and one piece per
/// `checkIntervalSeconds` of the bake; the post-promotion bake's pieces; the end. A piece is
/// the park, Check Health and What Next?. Alarm events and answers only end a park sooner.
pub fn history_events(request: &DeploymentRequest) -> HistoryEstimate {
    estimate(
        request,
        request.check_interval_seconds,
        request.approval.timeout_seconds,
    )
}

/// [`history_events`] at another interval and gate timeout.
fn estimate(request: &DeploymentRequest, interval: u32, timeout: u32) -> HistoryEstimate {
    let interval = u64::from(interval.max(1));
    let pieces = |seconds: u32| u64::from(seconds).div_ceil(interval);
    let hook = |hook: &Option<String>| if hook.is_some() { HOOK } else { 0 };
    let mut events = 1 + TASK + CHOICE + hook(&request.hooks.pre_traffic);
    events += gates(request) * (TASK + PIECE * pieces(timeout));
    for step in request.plan.steps() {
        events += if step.weight.is_full() {
            TASK + CHOICE
        } else {
            TASK + PIECE * pieces(step.bake_seconds)
        };
    }
    events +=
        hook(&request.hooks.post_traffic) + PIECE * pieces(request.post_promotion_bake_seconds);
    HistoryEstimate {
        succeeding: events + SUCCEEDED,
        worst_case: events + ROLLBACK_FAILED,
    }
}

/// How many steps wait at an approval gate before traffic moves to them.
fn gates(request: &DeploymentRequest) -> u64 {
    let approval = &request.approval;
    let gated = request.plan.steps().iter().enumerate().filter(|(i, step)| {
        approval.steps.contains(i) || (step.weight.is_full() && approval.before_promote)
    });
    gated.count() as u64
}

/// Refuses a request whose worst case does not fit [`HISTORY_EVENT_BUDGET`], naming the field
/// to change: `checkIntervalSeconds` (with the smallest that fits) when a longer interval is
/// enough; else `approvalTimeoutSeconds` (with the longest that fits at the longest interval)
/// when shorter gates are enough; else `strategy`.
pub fn check_history_budget(request: &DeploymentRequest) -> Result<(), FieldError> {
    let estimate_at = |interval: u32, timeout: u32| estimate(request, interval, timeout);
    let (interval, timeout) = (
        request.check_interval_seconds,
        request.approval.timeout_seconds,
    );
    let worst = estimate_at(interval, timeout).worst_case;
    if worst <= HISTORY_EVENT_BUDGET {
        return Ok(());
    }
    let longest = *CHECK_INTERVAL_RANGE.end();
    let why = format!(
        "the deployment could write {worst} history events (every bake and approval gate run to \
         its end, one park, alarm read and choice per {interval}s piece); at most \
         {HISTORY_EVENT_BUDGET} are allowed (Step Functions fails an execution at \
         {HISTORY_EVENT_QUOTA}, outside any Catch, with traffic still split; the rest is kept for \
         retries)"
    );
    if let Some(fits) = first_fitting(interval..=longest, |i| estimate_at(i, timeout).fits()) {
        return Err(FieldError::new(
            "checkIntervalSeconds",
            format!("is {interval}: {why}: use {fits} or more"),
        ));
    }
    let gates = gates(request);
    let shortest_fits = |t: u32| estimate_at(longest, t).fits();
    if gates > 0 && shortest_fits(1) {
        // The longest timeout that fits: `timeout - k` for the smallest such k.
        let k = first_fitting(0..=timeout.saturating_sub(1), |k| {
            shortest_fits(timeout - k)
        })
        .unwrap_or(0);
        let fits = timeout - k;
        return Err(FieldError::new(
            "approvalTimeoutSeconds",
            format!(
                "is {timeout} for {gates} approval gate(s): {why}; even checkIntervalSeconds \
                 {longest} does not fit: use approvalTimeoutSeconds {fits} or less with \
                 checkIntervalSeconds {longest}, or fewer gates"
            ),
        ));
    }
    let at_longest = estimate_at(longest, 1).worst_case;
    Err(FieldError::new(
        "strategy",
        format!(
            "has {} steps baking {}s in all: {why}; even checkIntervalSeconds {longest} (and the \
             shortest approval timeout) leaves {at_longest}: use fewer or shorter steps",
            request.plan.steps().len(),
            request.plan.total_bake_seconds()
        ),
    ))
}

/// The first value of `range` for which `fits` holds, if any; `fits` holds from some value on.
fn first_fitting(range: std::ops::RangeInclusive<u32>, fits: impl Fn(u32) -> bool) -> Option<u32> {
    let (mut low, mut high) = range.into_inner();
    if low > high || !fits(high) {
        return None;
    }
    while low < high {
        let mid = low + (high - low) / 2;
        if fits(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Some(low)
}
