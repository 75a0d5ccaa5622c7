//! The orchestrator's state document, [`WavesRun`], and every "what comes next" rule of a wave
//! plan: launch the next wave, wait for a wave's children, hold (the bake between waves, a
//! closed window, an entry gate), abort, succeed. The waves function applies what it decides.
//!
//! The global abort: a failure in any target of the wave running last (its child failed, was
//! stopped or timed out), an alarm of any wave launched so far, or an operator's abort ends the
//! plan the same way. Every child still running is stopped (its own watch function restores its
//! aliases, invariant 13), then every target that finished is returned to its start version,
//! conditional on the RevisionId its child left (never over someone else's change), and no
//! later wave starts.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::budget::{
    STOPPED_LOOKS, check_plan_budget, worst_duration_seconds, worst_history_events,
};
use super::{GatePolicy, WavePlan, WindowJudgement};

/// What the waves state machine does next (`$.decision`, the only field its Choice reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WavesDecision {
    /// Launch Wave: start the children of the next wave.
    Launch,
    /// Watch Waves: park until a child of the running wave ends, an alarm of a launched wave
    /// fires, an operator aborts, or `waitSeconds` pass.
    Await,
    /// Watch Waves as well, for a hold (bake between waves, window, entry gate).
    Hold,
    /// Abort Plan: stop the running children, then restore the finished ones.
    Abort,
    /// Plan Succeeded.
    Succeed,
    /// Plan Rolled Back: every launched target is back on its start version (or was left,
    /// changed by someone else, as the run says).
    RolledBack,
}

impl WavesDecision {
    /// Every variant, for the check that the Choice branches on each exactly once.
    pub const ALL: [WavesDecision; 6] = [
        WavesDecision::Launch,
        WavesDecision::Await,
        WavesDecision::Hold,
        WavesDecision::Abort,
        WavesDecision::Succeed,
        WavesDecision::RolledBack,
    ];

    /// Its value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            WavesDecision::Launch => "launch",
            WavesDecision::Await => "await",
            WavesDecision::Hold => "hold",
            WavesDecision::Abort => "abort",
            WavesDecision::Succeed => "succeed",
            WavesDecision::RolledBack => "rolledBack",
        }
    }
}

/// Where one target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetStatus {
    /// Its wave has not started.
    Pending,
    /// Its child execution runs.
    Running,
    /// Its child succeeded: the alias is on the target version.
    Succeeded,
    /// Its child failed (it rolled back, stopped on drift, or could not roll back: `error`).
    Failed,
    /// Its child was stopped (by the abort or by hand): its watch function restored the alias.
    Stopped,
    /// The abort returned it to its start version.
    Restored,
    /// The abort found it changed by someone else and left it (`cause` says how).
    Left,
    /// The abort could not restore it (`cause` says where it is).
    NotRestored,
}

/// One target of the plan as the run knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRun {
    /// Its wave's index.
    pub wave: usize,
    /// Region.
    pub region: String,
    /// Account id.
    pub account: String,
    /// The lead alias's function.
    pub function_name: String,
    /// The lead alias.
    pub alias: String,
    /// Where it is.
    pub status: TargetStatus,
    /// Its child execution, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// When its child started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    /// When its child ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<DateTime<Utc>>,
    /// The version the lead alias was on when the child started (read by Launch Wave).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_version: Option<String>,
    /// The latest moment its child's traffic can end (its worst case), for the park's timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// The child's error name, once failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why: the child's cause, or what the restore did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl TargetRun {
    /// `region/account`, the target's name in messages.
    pub fn place(&self) -> String {
        format!("{} ({})", self.region, self.account)
    }
}

/// Why the plan holds before its next wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HoldReason {
    /// The bake after a wave (longer after the first), every launched alarm watched.
    Bake,
    /// The window is closed.
    Window,
    /// The next wave's alarms are not all OK.
    EntryGate,
}

/// A hold in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    /// Why.
    pub reason: HoldReason,
    /// Until when (at most: a gate reads again every `pollSeconds`).
    pub until: DateTime<Utc>,
}

/// Why the plan is being aborted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanAbort {
    /// The wave running last when it began.
    pub wave: usize,
    /// The error the plan fails with (`AlarmTriggered`, `Aborted`, `TargetFailed`, …).
    pub error: String,
    /// What happened, where.
    pub cause: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The error names a plan ends with.
pub use super::errors;

/// The orchestrator's state document: the plan as given, and where each target is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WavesRun {
    /// The plan's execution name.
    pub plan_id: String,
    /// The plan's execution ARN.
    #[serde(default)]
    pub plan_arn: String,
    /// The plan as given (each function reads it again: parsing is pure and cheap).
    pub plan: Value,
    /// When the plan started.
    pub started_at: DateTime<Utc>,
    /// Waves launched so far; the one running last is `launched - 1`.
    pub launched: usize,
    /// Every target, in plan order.
    pub targets: Vec<TargetRun>,
    /// What comes next.
    pub decision: WavesDecision,
    /// The next park's length.
    pub wait_seconds: u64,
    /// The hold in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    /// When the running wave's children had all succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave_done_at: Option<DateTime<Utc>>,
    /// When the entry gate first held the next wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_since: Option<DateTime<Utc>>,
    /// The abort, once begun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<PlanAbort>,
    /// Written by the state machine: what ended the last park early (an alarm, an operator), or
    /// `States.Timeout`; read once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caught: Option<Value>,
    /// Written by the state machine: the watch's answer when a child ended; read once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
}

/// The longest a park may wait: Step Functions' largest Task `TimeoutSeconds`, 99,999,999
/// seconds (<https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html>). A hold or a
/// wave's children are one park each, however long: events end it, not a clock.
pub const LONGEST_PARK_SECONDS: u64 = 99_999_999;
/// Slack added to a child's worst case before the plan reads it again anyway.
pub const CHILD_SLACK_SECONDS: u64 = 600;

/// What the watch saw, read by Judge Waves before it decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildSeen {
    /// Still running.
    Running,
    /// Succeeded.
    Succeeded,
    /// Failed, timed out: its error and cause.
    Failed(String, String),
    /// Stopped.
    Stopped,
}

impl WavesRun {
    /// A new run of `plan` (accepted) named `plan_id`, started at `now`: nothing launched yet.
    pub fn new(plan_id: &str, input: Value, plan: &WavePlan, now: DateTime<Utc>) -> WavesRun {
        let targets = plan
            .waves
            .iter()
            .enumerate()
            .flat_map(|(wave, w)| {
                w.targets.iter().map(move |t| TargetRun {
                    wave,
                    region: t.region.clone(),
                    account: t.account.clone(),
                    function_name: t.function_name.clone(),
                    alias: t.alias.clone(),
                    status: TargetStatus::Pending,
                    execution_arn: None,
                    started: None,
                    ended: None,
                    start_version: None,
                    deadline: None,
                    error: None,
                    cause: None,
                })
            })
            .collect();
        WavesRun {
            plan_id: plan_id.to_owned(),
            plan_arn: String::new(),
            plan: input,
            started_at: now,
            launched: 0,
            targets,
            decision: WavesDecision::Launch,
            wait_seconds: 0,
            hold: None,
            wave_done_at: None,
            gate_since: None,
            abort: None,
            caught: None,
            answer: None,
        }
    }

    /// The indexes of the targets of wave `wave`.
    pub fn of_wave(&self, wave: usize) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|i| self.targets[*i].wave == wave)
            .collect()
    }

    /// The targets whose child is running.
    pub fn running(&self) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|i| self.targets[*i].status == TargetStatus::Running)
            .collect()
    }

    /// Begins the abort (the first reason wins).
    pub fn begin_abort(&mut self, error: &str, cause: String, now: DateTime<Utc>) {
        if self.abort.is_none() {
            self.abort = Some(PlanAbort {
                wave: self.launched.saturating_sub(1),
                error: error.to_owned(),
                cause,
                at: now,
            });
        }
        self.hold = None;
        self.decision = WavesDecision::Abort;
        self.wait_seconds = 0;
    }

    /// Notes what the child of target `i` is doing now.
    pub fn see_child(&mut self, i: usize, seen: &ChildSeen, now: DateTime<Utc>) {
        let target = &mut self.targets[i];
        if target.status != TargetStatus::Running {
            return;
        }
        let (status, error) = match seen {
            ChildSeen::Running => return,
            ChildSeen::Succeeded => (TargetStatus::Succeeded, None),
            ChildSeen::Failed(error, cause) => {
                target.cause = Some(super::super::text::cut_chars(cause, 400));
                (TargetStatus::Failed, Some(error.clone()))
            }
            ChildSeen::Stopped => (TargetStatus::Stopped, None),
        };
        target.status = status;
        target.error = error;
        target.ended = Some(now);
    }

    /// Consumes what ended the last park: an alarm or an operator begins the abort; the park's
    /// own timeout is nothing to judge; anything else cannot be judged and aborts too.
    pub fn take_caught(&mut self, now: DateTime<Utc>) {
        self.answer = None;
        let Some(caught) = self.caught.take() else {
            return;
        };
        let error = caught.get("Error").and_then(Value::as_str).unwrap_or("");
        let cause = caught.get("Cause").and_then(Value::as_str).unwrap_or("");
        match error {
            "States.Timeout" => {}
            errors::ALARM_TRIGGERED | errors::ABORTED => {
                self.begin_abort(error, cause.to_owned(), now);
            }
            other => self.begin_abort(
                errors::WATCH_FAILED,
                format!("the plan's watch failed with {other}: {cause}"),
                now,
            ),
        }
    }

    /// The next step after Judge Waves read the children: every rule of a plan that is not
    /// aborting. `gate_firing` is the next wave's alarms not OK (read only when asked:
    /// [`WavesRun::wants_gate_read`]).
    pub fn judge(&mut self, plan: &WavePlan, now: DateTime<Utc>, gate_firing: &[String]) {
        if self.abort.is_some() {
            self.decision = WavesDecision::Abort;
            return;
        }
        if let Some(failed) = self.first_failure() {
            let t = &self.targets[failed];
            let (error, cause) = match t.status {
                TargetStatus::Stopped => (
                    errors::TARGET_STOPPED,
                    format!("the deployment in {} was stopped", t.place()),
                ),
                _ => (
                    errors::TARGET_FAILED,
                    format!(
                        "the deployment in {} failed with {}: {}",
                        t.place(),
                        t.error.as_deref().unwrap_or("an error"),
                        t.cause.as_deref().unwrap_or("")
                    ),
                ),
            };
            self.begin_abort(error, cause, now);
            return;
        }
        if !self.running().is_empty() {
            self.await_children(now);
            return;
        }
        if self.launched == plan.waves.len() {
            self.decision = WavesDecision::Succeed;
            self.hold = None;
            self.wait_seconds = 0;
            return;
        }
        self.before_next_wave(plan, now, gate_firing);
    }

    /// Whether [`WavesRun::judge`] needs the next wave's alarms read for its entry gate.
    pub fn wants_gate_read(&self, plan: &WavePlan, now: DateTime<Utc>) -> bool {
        self.abort.is_none()
            && self.first_failure().is_none()
            && self.running().is_empty()
            && self.launched < plan.waves.len()
            && self.bake_left(plan, now).is_none()
            && plan
                .window
                .as_ref()
                .is_none_or(|w| w.judge(now) == WindowJudgement::Open)
    }

    fn first_failure(&self) -> Option<usize> {
        (0..self.targets.len()).find(|i| {
            matches!(
                self.targets[*i].status,
                TargetStatus::Failed | TargetStatus::Stopped
            )
        })
    }

    fn await_children(&mut self, now: DateTime<Utc>) {
        let latest = self
            .running()
            .iter()
            .filter_map(|i| self.targets[*i].deadline)
            .max()
            .unwrap_or(now);
        let until = (latest - now).num_seconds().max(0) as u64 + CHILD_SLACK_SECONDS;
        self.decision = WavesDecision::Await;
        self.hold = None;
        self.wait_seconds = until.min(LONGEST_PARK_SECONDS);
    }

    /// Seconds of the bake after the wave running last still to wait, if any.
    fn bake_left(&self, plan: &WavePlan, now: DateTime<Utc>) -> Option<u64> {
        if self.launched == 0 {
            return None;
        }
        let bake = if self.launched == 1 {
            plan.first_wave_bake_seconds
        } else {
            plan.bake_between_waves_seconds
        };
        let done = self.wave_done_at.unwrap_or(now);
        let end = done + TimeDelta::seconds(i64::try_from(bake).unwrap_or(i64::MAX / 2));
        (end > now).then(|| (end - now).num_seconds().max(1) as u64)
    }

    fn before_next_wave(&mut self, plan: &WavePlan, now: DateTime<Utc>, firing: &[String]) {
        if self.launched > 0 && self.wave_done_at.is_none() {
            self.wave_done_at = Some(now);
        }
        if let Some(left) = self.bake_left(plan, now) {
            return self.hold_for(HoldReason::Bake, left, now);
        }
        match plan.window.as_ref().map(|w| w.judge(now)) {
            Some(WindowJudgement::OpensAt(at)) => {
                let left = (at - now).num_seconds().max(1) as u64;
                return self.hold_for(HoldReason::Window, left, now);
            }
            Some(WindowJudgement::Never) => {
                let cause = format!(
                    "wave {} cannot start: the window never opens again",
                    plan.waves[self.launched].name
                );
                return self.begin_abort(errors::WINDOW, cause, now);
            }
            Some(WindowJudgement::Open) | None => {}
        }
        if firing.is_empty() {
            self.gate_since = None;
            self.hold = None;
            self.decision = WavesDecision::Launch;
            self.wait_seconds = 0;
            return;
        }
        self.gate(plan, now, firing);
    }

    fn gate(&mut self, plan: &WavePlan, now: DateTime<Utc>, firing: &[String]) {
        let gate = plan.entry_gate;
        let since = *self.gate_since.get_or_insert(now);
        let waited = (now - since).num_seconds().max(0) as u64;
        let name = &plan.waves[self.launched].name;
        let firing = firing.join(", ");
        if gate.policy == GatePolicy::Refuse || waited >= gate.timeout_seconds {
            let how = if gate.policy == GatePolicy::Refuse {
                "the entry gate refuses it".to_owned()
            } else {
                format!("the entry gate held it {waited}s, its timeout")
            };
            let cause = format!("wave {name} cannot start: {firing} not OK; {how}");
            return self.begin_abort(errors::ENTRY_GATE, cause, now);
        }
        let left = gate.poll_seconds.min(gate.timeout_seconds - waited).max(1);
        self.hold_for(HoldReason::EntryGate, left, now);
    }

    fn hold_for(&mut self, reason: HoldReason, seconds: u64, now: DateTime<Utc>) {
        let seconds = seconds.min(LONGEST_PARK_SECONDS);
        self.hold = Some(Hold {
            reason,
            until: now + TimeDelta::seconds(seconds as i64),
        });
        self.decision = WavesDecision::Hold;
        self.wait_seconds = seconds;
    }

    /// After Launch Wave started wave `launched`: the wave runs.
    pub fn launched_wave(&mut self, now: DateTime<Utc>) {
        self.launched += 1;
        self.wave_done_at = None;
        self.gate_since = None;
        self.hold = None;
        self.await_children(now);
    }

    /// The targets Abort Plan returns to their start version once nothing runs: every target
    /// whose child succeeded.
    pub fn to_restore(&self) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|i| self.targets[*i].status == TargetStatus::Succeeded)
            .collect()
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
