//! What a wave plan may cost one execution: a child's longest run (the park's timeout while a
//! wave runs) and the plan's worst-case history, refused past the budget.

use super::super::field::FieldError;
use super::super::limits::{HISTORY_EVENT_BUDGET, HISTORY_EVENT_QUOTA};
use super::super::request::DeploymentRequest;
use super::WavePlan;

/// The longest a child deployment of `request` can keep traffic moving: every bake, the
/// post-promotion bake, every gate and callback hook timing out, every wait for READY.
pub fn worst_duration_seconds(request: &DeploymentRequest) -> u64 {
    let gates = request.approval.steps.len() + usize::from(request.approval.before_promote);
    let callbacks = request.hooks.callback_timeout_seconds.unwrap_or(900);
    let hooks = [&request.hooks.pre_traffic, &request.hooks.post_traffic]
        .iter()
        .filter(|h| h.is_some())
        .count();
    let steps = request.plan.steps().len() as u64;
    request.plan.total_bake_seconds()
        + u64::from(request.post_promotion_bake_seconds)
        + gates as u64 * u64::from(request.approval.timeout_seconds)
        + hooks as u64 * u64::from(callbacks)
        + steps * u64::from(request.provisioned_concurrency.ready_timeout_seconds)
}

/// The history events of a plan's worst case (retries left out), state by state as Step
/// Functions writes them: ExecutionStarted, Start Waves and What Next?; per wave, Launch Wave,
/// one park piece (Watch Waves, Judge Waves, What Next?) per child ending plus one backstop,
/// its bake, its window and every read of its entry gate; then the longest abort (a piece per
/// running child, the looks at stopped children, Abort Plan twice) and its Fail.
pub fn worst_history_events(plan: &WavePlan) -> u64 {
    const TASK: u64 = 5;
    const PARK: u64 = 6;
    const CHOICE: u64 = 2;
    const PIECE: u64 = PARK + TASK + CHOICE;
    let gate = plan.entry_gate;
    let gate_reads = gate.timeout_seconds.div_ceil(gate.poll_seconds.max(1)) + 1;
    let per_wave: u64 = plan
        .waves
        .iter()
        .map(|w| TASK + (w.targets.len() as u64 + 1) * PIECE + 2 * PIECE + gate_reads * PIECE)
        .sum();
    let widest = plan
        .waves
        .iter()
        .map(|w| w.targets.len() as u64)
        .max()
        .unwrap_or(0);
    let stopped_looks = STOPPED_LOOKS;
    let abort = 2 * (TASK + CHOICE) + (widest + stopped_looks) * PIECE + 2;
    1 + TASK + CHOICE + per_wave + abort
}

/// How many times the abort looks at a stopped child's alias before calling it not restored.
pub const STOPPED_LOOKS: u64 = 13;

/// Refuses a plan whose worst case would not fit the history budget of one execution
/// ([`HISTORY_EVENT_BUDGET`]), naming what to change: most often the entry gate's reads.
pub fn check_plan_budget(plan: &WavePlan) -> Result<(), FieldError> {
    let worst = worst_history_events(plan);
    if worst <= HISTORY_EVENT_BUDGET {
        return Ok(());
    }
    let gate = plan.entry_gate;
    Err(FieldError::new(
        "entryGate.pollSeconds",
        format!(
            "the plan could write {worst} history events where at most {HISTORY_EVENT_BUDGET} of \
             Step Functions' {HISTORY_EVENT_QUOTA} are allowed: each of its {} waves may read its \
             entry gate every {}s for {}s; read less often, wait less, or split the plan",
            plan.waves.len(),
            gate.poll_seconds,
            gate.timeout_seconds
        ),
    ))
}
