//! The events of an execution's ending, from what its status change carries (status, error,
//! cause, input, and on success the final document) and what the registry held.

use serde_json::Value;

use super::{Cause, LifecycleEvent, Status, bare, from_document, from_input};
use crate::domain::alias::restore_command;
use crate::domain::deployment::{Decision, Deployment, is_rolled_back_cause};
use crate::domain::failure::{ErrorKind, error_message};
use crate::domain::strategy::Step;

/// What the lead alias's lock said at the ending, when this deployment still held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The version the deployment moved traffic to.
    pub target_version: String,
    /// The version the alias routed when the deployment took it (from its noted write; absent
    /// when nothing was written).
    pub start_version: Option<String>,
}

/// An execution's ending as the watch function sees it.
#[derive(Debug, Clone, Default)]
pub struct Ended<'a> {
    /// The execution name.
    pub deployment_id: &'a str,
    /// The execution.
    pub execution_arn: &'a str,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: &'a str,
    /// The execution's error, once failed.
    pub error: Option<&'a str>,
    /// The execution's cause, once failed.
    pub cause: Option<&'a str>,
    /// The execution input (absent when Step Functions left it out).
    pub input: Option<&'a Value>,
    /// The final document (SUCCEEDED only, absent when too large).
    pub output: Option<&'a Deployment>,
    /// The lead alias's lock, when this deployment held it at the ending.
    pub held: Option<Held>,
    /// What the watch function undid on the aliases, for people.
    pub undone: &'a [String],
}

/// The events of an ending: zero on a repeated delivery (the lock is released by then), else
/// the terminal status — preceded by PROMOTED on a success with no post-promotion bake (no park
/// saw the promotion). REJECTED and ALREADY_CURRENT never take the lock: they are put on every
/// delivery, under the same id.
pub fn at_end(e: &Ended) -> Vec<LifecycleEvent> {
    let Some((status, cause)) = classify(e) else {
        return Vec::new();
    };
    let mut event = match (e.output, e.input) {
        (Some(d), _) => from_document(status, d, e.execution_arn),
        (None, Some(input)) => from_input(status, e.deployment_id, e.execution_arn, input),
        (None, None) => bare(status, None, e.deployment_id, e.execution_arn, ("", "")),
    };
    if let (None, Some(held)) = (e.output, &e.held) {
        event.to_version = Some(held.target_version.clone());
        event.from_version = held.start_version.clone();
    }
    if status == Status::RollbackFailed {
        event.restore_command = restore_commands(e, &event);
    }
    event.cause = cause;
    let promoted_unseen = e
        .output
        .is_none_or(|d| d.progress.post_promotion_bake_seconds == 0);
    if status == Status::Succeeded && promoted_unseen {
        let mut promoted = event.clone();
        promoted.status = Status::Promoted;
        promoted.event_id = format!("{}:{}", e.deployment_id, Status::Promoted.name());
        return vec![promoted, event];
    }
    vec![event]
}

/// The terminal status and its cause; `None` for a delivery that finds the lock released (a
/// repeat) when the status needs one.
fn classify(e: &Ended) -> Option<(Status, Option<Cause>)> {
    let held = e.held.is_some();
    let error = e.error.unwrap_or_default();
    let message = e.cause.map(error_message).unwrap_or_default();
    let cause = |kind: &str, message: String| {
        Some(Cause {
            kind: kind.to_owned(),
            error: error.to_owned(),
            message,
        })
    };
    let undone = if e.undone.is_empty() {
        message.clone()
    } else {
        e.undone.join(" ")
    };
    match e.status {
        "SUCCEEDED" => match e.output {
            Some(d) if d.decision == Decision::AlreadyCurrent => {
                Some((Status::AlreadyCurrent, None))
            }
            _ => held.then_some((Status::Succeeded, None)),
        },
        "ABORTED" => held.then(|| (Status::Stopped, cause("stoppedByHand", undone))),
        "TIMED_OUT" => held.then(|| (Status::Stopped, cause("timedOut", undone))),
        _ if error == ErrorKind::AliasDrift.name() => {
            held.then(|| (Status::Drift, cause("drift", message)))
        }
        _ if error == ErrorKind::RollbackFailed.name() => {
            held.then(|| (Status::RollbackFailed, cause("rollbackFailed", message)))
        }
        _ if is_rolled_back_cause(&message) || only_after_start(error) => {
            held.then(|| (Status::RolledBack, cause(rolled_back_kind(error), message)))
        }
        _ if held => Some((Status::Stopped, cause("failedOutsideCatch", undone))),
        _ => Some((Status::Rejected, cause("rejected", message))),
    }
}

/// The cause kind of a rollback for `error`: `error` for a caught error that is not ours.
fn rolled_back_kind(error: &str) -> &'static str {
    match ErrorKind::from_name(error) {
        Some(ErrorKind::AlarmTriggered) => "alarm",
        Some(ErrorKind::AnalysisFailed) => "analysis",
        Some(ErrorKind::HookFailed) => "hook",
        Some(ErrorKind::Aborted) => "operator",
        Some(ErrorKind::ApprovalTimedOut) => "approvalTimeout",
        Some(ErrorKind::ProvisionedConcurrencyFailed) => "provisionedConcurrency",
        _ => "error",
    }
}

/// True for the errors only a deployment past Start Deployment ends with (so a delivery that
/// finds no lock is a repeat, not a rejection).
fn only_after_start(error: &str) -> bool {
    matches!(
        ErrorKind::from_name(error),
        Some(
            ErrorKind::AlarmTriggered
                | ErrorKind::AnalysisFailed
                | ErrorKind::HookFailed
                | ErrorKind::Aborted
                | ErrorKind::ApprovalTimedOut
        )
    )
}

/// The restore command(s) Describe Rollback Failure wrote into the cause; else the lead's, from
/// the version its lock noted.
fn restore_commands(e: &Ended, event: &LifecycleEvent) -> Option<String> {
    const START: &str = "aws lambda update-alias";
    const END: &str = "{}}'";
    let cause = e.cause.unwrap_or_default();
    let mut found = Vec::new();
    let mut rest = cause;
    while let Some(at) = rest.find(START) {
        let tail = &rest[at..];
        let Some(end) = tail.find(END) else { break };
        found.push(&tail[..end + END.len()]);
        rest = &tail[end + END.len()..];
    }
    if !found.is_empty() {
        return Some(found.join(" && "));
    }
    let start = e.held.as_ref()?.start_version.as_deref()?;
    Some(restore_command(&event.function, &event.alias, start))
}

/// How many lifecycle events a deployment that succeeds puts: STARTED, one STEP_SHIFTED per
/// partial step, one AWAITING_APPROVAL per gate, PROMOTED and SUCCEEDED.
pub fn planned_puts(plan: &[Step], gates: usize) -> u64 {
    let shifts = plan.iter().filter(|s| !s.weight.is_full()).count();
    (3 + shifts + gates) as u64
}

/// How many PutEvents calls those events take: one per event, but PROMOTED and SUCCEEDED go in
/// one call at the ending when no post-promotion bake parks in between.
pub fn planned_put_calls(plan: &[Step], gates: usize, post_promotion_bake_seconds: u32) -> u64 {
    let shared = u64::from(post_promotion_bake_seconds == 0);
    planned_puts(plan, gates) - shared
}
