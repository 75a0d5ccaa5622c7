//! The history events an execution can write, and the budget every accepted input fits.
//!
//! Step Functions fails a Standard execution at its 25,000th history event with
//! `States.Runtime`, which no Catch sees: the alias would stay split. So Start Deployment
//! refuses an input whose worst case does not fit [`HISTORY_EVENT_BUDGET`].

use super::analysis::LowTraffic;
use super::field::FieldError;
use super::provisioned::{POLL_RANGE, READY_TIMEOUT_RANGE, ReadyWait, expected_wait, next_read};
use super::request::{CHECK_INTERVAL_RANGE, DeploymentRequest};

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
/// A callback hook (a park on the hook itself), its Check Health and What Next?.
const CALLBACK_HOOK: u64 = PARK + TASK + CHOICE;
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
    // With a canary analysis a park also ends at each analysis interval, and a step held for
    // too little traffic bakes up to its own length (or one interval) again.
    let analysis = request.analysis.as_ref();
    let interval = analysis.map_or(interval, |a| interval.min(a.interval_seconds));
    let interval = u64::from(interval.max(1));
    let pieces = |seconds: u32| u64::from(seconds).div_ceil(interval);
    let held = |bake: u32| match analysis {
        Some(a) if a.on_low_traffic == LowTraffic::Hold => {
            PIECE * (pieces(bake.saturating_add(bake.max(a.interval_seconds))) - pieces(bake))
        }
        _ => 0,
    };
    let mut holds = held(request.post_promotion_bake_seconds);
    let each = if request.hooks.callback_timeout_seconds.is_some() {
        CALLBACK_HOOK
    } else {
        HOOK
    };
    let hook = |hook: &Option<String>| if hook.is_some() { each } else { 0 };
    let mut events = 1 + TASK + CHOICE + hook(&request.hooks.pre_traffic);
    events += gates(request) * (TASK + PIECE * pieces(timeout));
    for step in request.plan.steps() {
        events += if step.weight.is_full() {
            TASK + CHOICE
        } else {
            holds += held(step.bake_seconds);
            TASK + PIECE * pieces(step.bake_seconds)
        };
    }
    events +=
        hook(&request.hooks.post_traffic) + PIECE * pieces(request.post_promotion_bake_seconds);
    HistoryEstimate {
        succeeding: events + SUCCEEDED,
        worst_case: events + holds + ROLLBACK_FAILED,
    }
}

/// The history events the waits for READY add when the alias has provisioned concurrency:
/// after every write (each shift and the promotion) one piece per poll until READY —
/// `allocation_seconds` of allocation, at least one piece — or, with `None`, until
/// `provisionedConcurrency.readyTimeoutSeconds` runs out (the worst case). A piece is the park
/// (the first one in Bake, which Shift Traffic leads to; the rest in Await Provisioned
/// Concurrency, which What Next? routes to), Check Health and What Next?.
pub fn provisioned_concurrency_events(
    request: &DeploymentRequest,
    allocation_seconds: Option<u32>,
) -> u64 {
    request.plan.steps().len() as u64 * PIECE * ready_pieces(request, allocation_seconds)
}

/// The pieces one wait for READY takes: one per poll until the first read at or after
/// `allocation_seconds` (at least one), or until the timeout with `None`.
pub fn ready_pieces(request: &DeploymentRequest, allocation_seconds: Option<u32>) -> u64 {
    let wait = request.provisioned_concurrency;
    expected_wait(
        allocation_seconds,
        wait.ready_timeout_seconds,
        poll_every(request),
    )
    .reads
}

/// Seconds between reads of a wait for READY: `pollSeconds` (or its default), at most the park
/// interval (the backstop interval, or the analysis interval when shorter).
pub fn poll_every(request: &DeploymentRequest) -> u32 {
    let interval = request.check_interval_seconds;
    let park = request
        .analysis
        .as_ref()
        .map_or(interval, |a| interval.min(a.interval_seconds));
    let wait = request.provisioned_concurrency;
    next_read(Some(wait.poll()), park, wait.ready_timeout_seconds)
}

/// True when `request`'s worst case, every write waiting `readyTimeoutSeconds` for READY,
/// fits [`HISTORY_EVENT_BUDGET`].
fn fits_with_waits(request: &DeploymentRequest) -> bool {
    history_events(request).worst_case + provisioned_concurrency_events(request, None)
        <= HISTORY_EVENT_BUDGET
}

/// Start Deployment, once it found provisioned concurrency on the alias: the wait for READY to
/// run with, its worst case — every write waiting `readyTimeoutSeconds`, read every
/// `pollSeconds` — within [`HISTORY_EVENT_BUDGET`]. Without `pollSeconds`, the poll is
/// [`super::provisioned::DEFAULT_POLL_SECONDS`] or the shortest longer one that fits (at the park interval it
/// is the backstop read itself, so whatever fitted before polls existed still does). Refuses,
/// naming the field to change: `provisionedConcurrency.pollSeconds` (the shortest that fits),
/// `provisionedConcurrency.readyTimeoutSeconds` (the longest), `checkIntervalSeconds` or
/// `strategy`.
pub fn check_provisioned_concurrency_budget(
    request: &DeploymentRequest,
) -> Result<ReadyWait, FieldError> {
    let given = request.provisioned_concurrency;
    let at_poll = |poll: u32| {
        let mut other = request.clone();
        other.provisioned_concurrency.poll_seconds = Some(poll);
        other
    };
    let from = given.poll();
    if let Some(poll) = first_fitting(from..=*POLL_RANGE.end(), |p| fits_with_waits(&at_poll(p))) {
        if given.poll_seconds.is_none() || poll == from {
            return Ok(ReadyWait {
                poll_seconds: Some(poll),
                ..given
            });
        }
        let worst = worst_with_waits(request);
        return Err(FieldError::new(
            "provisionedConcurrency.pollSeconds",
            format!(
                "is {from}: use {poll} or more; {}",
                waits_why(request, worst)
            ),
        ));
    }
    let request = &at_poll(if given.poll_seconds.is_some() {
        from
    } else {
        *POLL_RANGE.end()
    });
    Err(wait_refusal(request))
}

/// The worst case of `request` with every write waiting `readyTimeoutSeconds` for READY.
fn worst_with_waits(request: &DeploymentRequest) -> u64 {
    history_events(request).worst_case + provisioned_concurrency_events(request, None)
}

/// Why waits for READY that do not fit are refused.
fn waits_why(request: &DeploymentRequest, worst: u64) -> String {
    format!(
        "the alias has provisioned concurrency, so every one of the {} writes may wait \
         readyTimeoutSeconds for READY, read every {}s, and the deployment could write {worst} \
         history events where at most {HISTORY_EVENT_BUDGET} of Step Functions' \
         {HISTORY_EVENT_QUOTA} are allowed",
        request.plan.steps().len(),
        poll_every(request)
    )
}

/// The refusal of a request whose waits for READY fit at no poll: a shorter
/// `readyTimeoutSeconds`, else a longer `checkIntervalSeconds`, else fewer steps.
fn wait_refusal(request: &DeploymentRequest) -> FieldError {
    let timeout = request.provisioned_concurrency.ready_timeout_seconds;
    let (interval, longest) = (request.check_interval_seconds, *CHECK_INTERVAL_RANGE.end());
    let fits = |t: u32, i: u32| {
        let mut other = request.clone();
        other.provisioned_concurrency.ready_timeout_seconds = t;
        other.check_interval_seconds = i;
        fits_with_waits(&other)
    };
    let why = waits_why(request, worst_with_waits(request));
    let (shortest, _) = READY_TIMEOUT_RANGE.into_inner();
    if fits(shortest, interval) {
        let k = first_fitting(0..=timeout - shortest, |k| fits(timeout - k, interval));
        let fits = timeout - k.unwrap_or(0);
        return FieldError::new(
            "provisionedConcurrency.readyTimeoutSeconds",
            format!("is {timeout}: use {fits} or less; {why}"),
        );
    }
    if let Some(fits) = first_fitting(interval..=longest, |i| fits(timeout, i)) {
        return FieldError::new(
            "checkIntervalSeconds",
            format!("is {interval}: use {fits} or more; {why}"),
        );
    }
    FieldError::new(
        "strategy",
        format!(
            "has {} steps: use fewer or shorter steps (even readyTimeoutSeconds {shortest} \
             with checkIntervalSeconds {longest} does not fit); {why}",
            request.plan.steps().len()
        ),
    )
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
        "the deployment could write {worst} history events (every bake and gate run to its end, \
         13 a piece of {interval}s) and at most {HISTORY_EVENT_BUDGET} of Step Functions' \
         {HISTORY_EVENT_QUOTA} are allowed (the quota fails an execution outside any Catch, \
         traffic split; the rest is kept for retries)"
    );
    if let Some(fits) = first_fitting(interval..=longest, |i| estimate_at(i, timeout).fits()) {
        return Err(FieldError::new(
            "checkIntervalSeconds",
            format!("is {interval}: use {fits} or more; {why}"),
        ));
    }
    let gates = gates(request);
    let shortest_fits = |t: u32| estimate_at(longest, t).fits();
    if gates > 0 && shortest_fits(1) {
        // The longest timeout that fits: `timeout - k` for the smallest such k.
        let k = first_fitting(0..=timeout.saturating_sub(1), |k| {
            shortest_fits(timeout - k)
        });
        let fits = timeout - k.unwrap_or(0);
        return Err(FieldError::new(
            "approvalTimeoutSeconds",
            format!(
                "is {timeout} for {gates} gate(s): use {fits} or less with checkIntervalSeconds \
                 {longest}, or fewer gates; {why}"
            ),
        ));
    }
    let at_longest = estimate_at(longest, 1).worst_case;
    Err(FieldError::new(
        "strategy",
        format!(
            "has {} steps baking {}s: use fewer or shorter steps (even checkIntervalSeconds \
             {longest} leaves {at_longest}); {why}",
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::approval::MAX_APPROVAL_TIMEOUT_SECONDS;
    use crate::domain::strategy::{MAX_BAKE_SECONDS, PREDEFINED};

    fn input(strategy: Value, interval: u32) -> Value {
        json!({"functionName": "orders", "alias": "live", "targetVersion": "2",
            "strategy": strategy, "checkIntervalSeconds": interval})
    }

    fn events(input: &Value) -> HistoryEstimate {
        history_events(&DeploymentRequest::from_json(input).unwrap())
    }

    /// `count` steps of 10%, 20%, … baking `bake` seconds, the gated ones waiting for approval.
    fn steps(count: u32, bake: u32, gated: impl Fn(u32) -> bool) -> Value {
        let steps: Vec<Value> = (1..=count)
            .map(|i| json!({"weight": i * 99 / count, "bakeSeconds": bake, "approval": gated(i)}))
            .collect();
        json!({ "steps": steps })
    }

    /// The number a refusal tells to use.
    fn suggested(e: &FieldError) -> u32 {
        let after = e.message.split_once("use ").map_or("", |(_, rest)| rest);
        after.split(' ').next().unwrap_or_default().parse().unwrap()
    }

    #[test]
    fn counts_every_state_as_step_functions_writes_it() {
        let all_at_once = events(&input(json!("AllAtOnce"), 30));
        // Started; Start Deployment, What Next?; Promote, What Next?; Succeeded, ExecutionSucceeded.
        assert_eq!(all_at_once.succeeding, 1 + 7 + 7 + 3);
        assert_eq!(all_at_once.worst_case, 1 + 7 + 7 + 9);
        // Ten pieces of the 5-minute bake at 30s: park, Check Health, What Next? each.
        let canary = events(&input(json!("Canary10Percent5Minutes"), 30));
        assert_eq!(canary.succeeding, 1 + 7 + 5 + 10 * 13 + 7 + 3);
        let mut hooked = input(json!("Canary10Percent5Minutes"), 30);
        hooked["hooks"] = json!({"preTraffic": "orders-pre", "postTraffic": "orders-post"});
        hooked["postPromotionBakeSeconds"] = json!(61);
        assert_eq!(
            events(&hooked).succeeding,
            canary.succeeding + 2 * 12 + 3 * 13
        );
        // A gate: Announce Approval, then one piece per interval of its timeout (rounded up).
        let mut gated = input(json!("Canary10Percent5Minutes"), 30);
        gated["approvalBeforePromote"] = json!(true);
        gated["approvalTimeoutSeconds"] = json!(95);
        assert_eq!(events(&gated).succeeding, canary.succeeding + 5 + 4 * 13);
        // Approval on the 100% step and before the promotion is one gate.
        let mut both = input(
            json!({"steps": [{"weight": 10, "bakeSeconds": 300}, {"weight": 100, "bakeSeconds": 0, "approval": true}]}),
            30,
        );
        both["approvalBeforePromote"] = json!(true);
        both["approvalTimeoutSeconds"] = json!(95);
        assert_eq!(events(&both), events(&gated));
    }

    #[test]
    fn the_budget_leaves_room_to_retry_every_task_once() {
        // Per 13-event piece: the park retried (4 events) and Check Health retried (3).
        const { assert!(HISTORY_EVENT_BUDGET * (13 + 7) / 13 <= HISTORY_EVENT_QUOTA) };
    }

    /// Nothing a predefined name could do before is refused: every one fits at every interval
    /// with both hooks.
    #[test]
    fn every_predefined_strategy_fits_at_every_interval() {
        for name in PREDEFINED {
            for interval in [5, 6, 7, 15, 30, 300, 3600] {
                let mut input = input(json!(name), interval);
                input["hooks"] = json!({"preTraffic": "orders-pre", "postTraffic": "orders-post"});
                assert!(events(&input).fits(), "{name} at {interval}s");
            }
        }
    }

    #[test]
    fn a_longer_interval_fixes_long_bakes_and_the_message_says_the_smallest() {
        let long = input(steps(3, MAX_BAKE_SECONDS, |_| false), 5);
        let e = DeploymentRequest::from_json(&long).unwrap_err();
        assert_eq!(e.field, "checkIntervalSeconds", "{e}");
        assert!(e.message.contains("16000"), "{e}");
        assert!(e.message.contains("25000"), "{e}");
        let smallest = suggested(&e);
        assert!(
            DeploymentRequest::from_json(&input(steps(3, MAX_BAKE_SECONDS, |_| false), smallest))
                .is_ok()
        );
        let e = DeploymentRequest::from_json(&input(
            steps(3, MAX_BAKE_SECONDS, |_| false),
            smallest - 1,
        ))
        .unwrap_err();
        assert_eq!(e.field, "checkIntervalSeconds", "{e}");
        assert!(
            e.message
                .starts_with(&format!("is {}: use {smallest} or more; ", smallest - 1)),
            "{e}"
        );
    }

    #[test]
    fn long_gates_name_the_timeout_and_too_many_steps_the_strategy() {
        let mut gates = input(steps(60, 60, |_| true), 3600);
        gates["approvalTimeoutSeconds"] = json!(MAX_APPROVAL_TIMEOUT_SECONDS);
        let e = DeploymentRequest::from_json(&gates).unwrap_err();
        assert_eq!(e.field, "approvalTimeoutSeconds", "{e}");
        assert!(
            e.message.starts_with("is 86400 for 60 gate(s): use "),
            "{e}"
        );
        let longest = suggested(&e);
        gates["approvalTimeoutSeconds"] = json!(longest);
        assert!(DeploymentRequest::from_json(&gates).is_ok());
        gates["approvalTimeoutSeconds"] = json!(longest + 1);
        assert!(DeploymentRequest::from_json(&gates).is_err());
        // At a short interval, a longer one is the first thing to try.
        gates["approvalTimeoutSeconds"] = json!(longest);
        gates["checkIntervalSeconds"] = json!(5);
        let e = DeploymentRequest::from_json(&gates).unwrap_err();
        assert_eq!(
            (e.field.as_str(), suggested(&e)),
            ("checkIntervalSeconds", 3600)
        );

        let e = DeploymentRequest::from_json(&input(steps(30, MAX_BAKE_SECONDS, |_| false), 5))
            .unwrap_err();
        assert_eq!(e.field, "strategy", "{e}");
        assert!(e.message.contains("31 steps"), "{e}");
        assert!(e.message.contains("use fewer or shorter steps"), "{e}");
    }

    #[test]
    fn provisioned_concurrency_adds_a_piece_per_poll_of_each_wait() {
        let request =
            DeploymentRequest::from_json(&input(json!("Linear10PercentEvery1Minute"), 30)).unwrap();
        // Ten writes (nine shifts and the promotion); polled every 10 s, a 45 s allocation is
        // read READY at the fifth read.
        assert_eq!(
            provisioned_concurrency_events(&request, Some(45)),
            10 * 5 * 13
        );
        assert_eq!(provisioned_concurrency_events(&request, Some(0)), 10 * 13);
        // The worst case waits the default 900 s: 90 polls per write.
        assert_eq!(provisioned_concurrency_events(&request, None), 10 * 90 * 13);
        let wait = check_provisioned_concurrency_budget(&request).unwrap();
        assert_eq!(wait.poll_seconds, Some(10));
        // A poll longer than the backstop interval reads at each backstop read.
        let mut slow = request.clone();
        slow.provisioned_concurrency.poll_seconds = Some(45);
        assert_eq!(provisioned_concurrency_events(&slow, Some(45)), 10 * 2 * 13);
    }

    #[test]
    fn the_default_poll_lengthens_to_fit_and_a_given_one_is_refused_with_the_shortest_that_fits() {
        // 16 writes of 60 s: at 10 s polls, 16 × 90 pieces do not fit.
        let mut many = input(steps(15, 60, |_| false), 300);
        let request = DeploymentRequest::from_json(&many).unwrap();
        let wait = check_provisioned_concurrency_budget(&request).unwrap();
        let poll = wait.poll_seconds.unwrap();
        assert!(poll > 10, "{poll}");
        let at = |p: u32| {
            let mut r = request.clone();
            r.provisioned_concurrency.poll_seconds = Some(p);
            r
        };
        let worst = |r: &DeploymentRequest| {
            history_events(r).worst_case + provisioned_concurrency_events(r, None)
        };
        assert!(worst(&at(poll)) <= HISTORY_EVENT_BUDGET);
        assert!(worst(&at(poll - 1)) > HISTORY_EVENT_BUDGET);
        // Given explicitly, the same poll 10 is refused naming it, with the shortest that fits.
        many["provisionedConcurrency"] = json!({"pollSeconds": 10});
        let request = DeploymentRequest::from_json(&many).unwrap();
        let e = check_provisioned_concurrency_budget(&request).unwrap_err();
        assert_eq!(e.field, "provisionedConcurrency.pollSeconds", "{e}");
        assert_eq!(suggested(&e), poll, "{e}");
        assert!(e.message.contains("read every 10s"), "{e}");
        many["provisionedConcurrency"] = json!({"pollSeconds": poll});
        let request = DeploymentRequest::from_json(&many).unwrap();
        assert_eq!(
            check_provisioned_concurrency_budget(&request)
                .unwrap()
                .poll_seconds,
            Some(poll)
        );
    }

    #[test]
    fn a_ready_timeout_that_does_not_fit_is_refused_with_the_longest_that_does() {
        let mut long = input(steps(60, 60, |_| false), 30);
        long["provisionedConcurrency"] = json!({"readyTimeoutSeconds": 3600});
        let request = DeploymentRequest::from_json(&long).unwrap();
        let e = check_provisioned_concurrency_budget(&request).unwrap_err();
        assert_eq!(e.field, "provisionedConcurrency.readyTimeoutSeconds", "{e}");
        let longest = suggested(&e);
        let at = |t: u32| {
            let mut r = request.clone();
            r.provisioned_concurrency.ready_timeout_seconds = t;
            check_provisioned_concurrency_budget(&r)
        };
        assert!(at(longest).is_ok(), "{longest}");
        assert!(at(longest + 1).is_err(), "{longest}");
        // Without provisioned concurrency the same input fits: only Start Deployment refuses it.
        assert!(history_events(&request).fits());
    }

    #[test]
    fn the_search_finds_the_first_fitting_value() {
        assert_eq!(first_fitting(5..=3600, |i| i >= 42), Some(42));
        assert_eq!(first_fitting(5..=3600, |_| true), Some(5));
        assert_eq!(first_fitting(5..=3600, |i| i > 3600), None);
        assert_eq!(first_fitting(7..=7, |_| true), Some(7));
    }
}
