//! Every "what comes next" rule of a deployment, in one place.
//!
//! The state machine's What Next? Choice branches on the document's `decision` only. Each
//! handler reads through its ports, calls one of the rules below, and returns the document with
//! the decision they set:
//!
//! | `decision` | set by | What Next? goes to | what happens there |
//! |---|---|---|---|
//! | `alreadyCurrent` | Start Deployment ([`Deployment::start`]) | Already Current | succeed, nothing touched |
//! | `preTrafficHook` | Start Deployment | Run (or Await) Pre-Traffic Hook | the user's hook runs before any traffic moves; Check Health judges its answer |
//! | `shift` | Start Deployment, Check Health (hook passed, step baked, gate approved) | Shift Traffic | every alias gets the step's weight, conditional on its RevisionId |
//! | `awaitApproval` | any rule that moves to a gated step ([`Deployment::move_to`]) | Announce Approval, then Await Approval | parked on the watch function until an operator answers, an alarm fires or the gate times out |
//! | `awaitProvisionedConcurrency` | Shift Traffic / Promote, when an alias has provisioned concurrency | Await Provisioned Concurrency | parked, alarms watched, until every config is READY, read every `pollSeconds` ([`crate::domain::provisioned::next_read`]) |
//! | `bake` | Shift Traffic ([`Deployment::shifted`]), Check Health (more bake to go) | Bake | parked on the watch function for the rest of the step, at most one backstop interval |
//! | `promote` | a rule moving to the last step (100 %) | Promote | every alias on its target, routing cleared |
//! | `postTrafficHook` | Promote | Run (or Await) Post-Traffic Hook | the user's hook runs after the promotion |
//! | `postPromotionBake` | Promote, Check Health (post-traffic hook passed) | Post-Promotion Bake | parked, alarms still watched |
//! | `succeed` | Promote or Check Health, when nothing is left | Deployment Succeeded | done |
//! | `rollback` | Check Health (alarm, analysis, hook, gate timeout, provisioned concurrency) | Roll Back | every alias still ours restored to its snapshot |
//!
//! A test (statemachine/tests/engine/definition.rs) fails when a decision has no branch, or two,
//! in What Next?: its Default is Roll Back, so a forgotten branch would roll deployments back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Deployment, DocumentError};
use crate::domain::alarm::AlarmReport;
use crate::domain::alias::{AliasRoute, AliasState};
use crate::domain::approval::{GateVerdict, OperatorAnswer, judge_gate};
use crate::domain::failure::{ErrorKind, Failure};
use crate::domain::hooks::{HookOutcome, Phase};
use crate::domain::strategy::Step;

/// What the state machine does next; its Choice state branches on this field only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    /// The alias is already on the target: succeed without touching anything.
    AlreadyCurrent,
    /// Invoke the pre-traffic hook.
    PreTrafficHook,
    /// Move to the weight of `stepIndex`.
    Shift,
    /// Wait `waitSeconds`, then check health again.
    Bake,
    /// Point the alias at the target with no routing.
    Promote,
    /// Invoke the post-traffic hook.
    PostTrafficHook,
    /// Wait `waitSeconds` after the promotion, alarms still watched.
    PostPromotionBake,
    /// Done.
    Succeed,
    /// Restore the alias and fail with `failure`.
    Rollback,
    /// Wait for an operator's approval before moving to `stepIndex` (an approval gate).
    AwaitApproval,
    /// Wait until the alias's provisioned concurrency is READY after a write, then bake.
    AwaitProvisionedConcurrency,
}

impl Decision {
    /// Every decision, for the check that the state machine's What Next? Choice branches on
    /// each exactly once.
    pub const ALL: [Decision; 11] = [
        Decision::AlreadyCurrent,
        Decision::PreTrafficHook,
        Decision::Shift,
        Decision::Bake,
        Decision::Promote,
        Decision::PostTrafficHook,
        Decision::PostPromotionBake,
        Decision::Succeed,
        Decision::Rollback,
        Decision::AwaitApproval,
        Decision::AwaitProvisionedConcurrency,
    ];

    /// The value the document's `decision` field holds (what the ASL's Choice compares).
    pub fn wire_name(self) -> &'static str {
        // Exhaustive: a new variant fails to compile until it is named here and in `ALL`.
        match self {
            Decision::AlreadyCurrent => "alreadyCurrent",
            Decision::PreTrafficHook => "preTrafficHook",
            Decision::Shift => "shift",
            Decision::Bake => "bake",
            Decision::Promote => "promote",
            Decision::PostTrafficHook => "postTrafficHook",
            Decision::PostPromotionBake => "postPromotionBake",
            Decision::Succeed => "succeed",
            Decision::Rollback => "rollback",
            Decision::AwaitApproval => "awaitApproval",
            Decision::AwaitProvisionedConcurrency => "awaitProvisionedConcurrency",
        }
    }
}

impl Deployment {
    /// Start Deployment's decision: nothing to do, the pre-traffic hook, or the first step.
    pub(super) fn first_decision(&mut self) -> Decision {
        let lead = self.lead();
        if lead.target_version == lead.original_version {
            Decision::AlreadyCurrent
        } else if self.hooks.pre_traffic.is_some() {
            Decision::PreTrafficHook
        } else {
            self.move_to(0)
        }
    }

    /// The write Shift Traffic (or Promote) makes to the lead alias: refuses a document not at
    /// a shift.
    pub fn route_to_write(&self) -> Result<AliasRoute, DocumentError> {
        if !matches!(self.decision, Decision::Shift | Decision::Promote) {
            return Err(DocumentError::UnexpectedDecision {
                state: "Shift Traffic",
                decision: self.decision,
            });
        }
        self.next_route()
    }

    /// The route the current step asks for; refuses anything but a strictly higher weight.
    pub fn next_route(&self) -> Result<AliasRoute, DocumentError> {
        let step = self.current_step()?;
        if step.weight <= self.progress.traffic {
            return Err(DocumentError::WeightWouldNotIncrease {
                index: self.progress.step_index,
                from: self.progress.traffic,
                to: step.weight,
            });
        }
        Ok(self.lead().route_at(step.weight))
    }

    /// Records a shift (or the promotion) that landed on the lead alias, and decides what
    /// follows.
    pub fn shifted(
        mut self,
        alias: &AliasState,
        now: DateTime<Utc>,
    ) -> Result<Deployment, DocumentError> {
        self.record(0, alias);
        self.landed(now)
    }

    /// The step's bake (and the analysis window) counts from `now`.
    pub(super) fn start_step_clock(&mut self, now: DateTime<Utc>) {
        self.progress.step_started_at = now;
        if let Some(analysis) = self.analysis.as_mut() {
            analysis.window_from = Some(now);
        }
    }

    /// What follows a write that landed (and, with provisioned concurrency, became READY):
    /// the step's bake, or after the promotion its hook, bake or the end.
    pub(super) fn decide_after_write(&mut self, step: Step) {
        if step.weight.is_full() {
            self.decision = if self.hooks.post_traffic.is_some() {
                Decision::PostTrafficHook
            } else {
                self.post_promotion()
            };
        } else {
            self.decision = Decision::Bake;
            self.progress.wait_seconds = self.park_interval().min(step.bake_seconds);
        }
    }

    /// True when Check Health must read the alarms before deciding: after every park, and
    /// after a hook — so that no shift follows a pre-traffic hook during which an alarm fired
    /// (with its event delivered or lost), and no gate is passed on a firing alarm.
    pub fn needs_alarm_check(&self) -> bool {
        !self.watch.alarms.is_empty()
            && matches!(
                self.decision,
                Decision::Bake
                    | Decision::PostPromotionBake
                    | Decision::AwaitApproval
                    | Decision::AwaitProvisionedConcurrency
                    | Decision::PreTrafficHook
                    | Decision::PostTrafficHook
            )
    }

    /// True when moving to step `index` must first wait for approval.
    fn gated(&self, index: usize) -> bool {
        if self.gate.approved_step == Some(index) {
            return false;
        }
        let promotion = self
            .progress
            .plan
            .get(index)
            .is_some_and(|s| s.weight.is_full());
        self.gate.steps.contains(&index) || (promotion && self.gate.before_promote)
    }

    /// An operator asked to promote now: skip the remaining steps (hooks and the
    /// post-promotion bake still run).
    fn promote_now(&mut self, now: DateTime<Utc>) -> Decision {
        let last = self.progress.plan.len().saturating_sub(1);
        self.gate.approved_step = Some(last);
        self.progress.step_started_at = now;
        self.move_to(last)
    }

    /// Check Health's decision: judge an approval gate, a hook's result, or the alarms and the
    /// bake clock.
    pub fn checked(
        mut self,
        now: DateTime<Utc>,
        alarms: Option<&AlarmReport>,
    ) -> Result<Deployment, DocumentError> {
        let answer = self.control.take();
        let mut next = self.judged(now, alarms, answer)?;
        next.arm_gate(now);
        Ok(next)
    }

    /// [`Deployment::checked`]'s three decisions.
    fn judged(
        mut self,
        now: DateTime<Utc>,
        alarms: Option<&AlarmReport>,
        answer: Option<OperatorAnswer>,
    ) -> Result<Deployment, DocumentError> {
        match self.decision {
            Decision::AwaitApproval => {
                if let Some(failure) = self.watched(alarms) {
                    return Ok(self.rolling_back(failure));
                }
                self.judge_gate(now, answer)
            }
            Decision::PreTrafficHook | Decision::PostTrafficHook => {
                if let Some(failure) = self.watched(alarms) {
                    self.hook_result = None;
                    return Ok(self.rolling_back(failure));
                }
                let phase = if self.decision == Decision::PreTrafficHook {
                    Phase::PreTraffic
                } else {
                    Phase::PostTraffic
                };
                Ok(self.judge_hook(phase, now))
            }
            Decision::Bake | Decision::PostPromotionBake => {
                if let Some(failure) = self.watched(alarms) {
                    return Ok(self.rolling_back(failure));
                }
                self.judge_bake(now, answer)
            }
            other => Err(DocumentError::UnexpectedDecision {
                state: "Check Health",
                decision: other,
            }),
        }
    }

    /// Counts an alarm read, if one was made; the failure to roll back for when it found an
    /// alarm in ALARM or gone.
    pub(super) fn watched(&mut self, alarms: Option<&AlarmReport>) -> Option<Failure> {
        let report = alarms?;
        self.progress.alarm_checks += 1;
        self.alarm_problem(report)
    }

    /// At a gate ([`judge_gate`]): an approval (or no answer with `approvalDefault` approve)
    /// moves on, a promote skips to the promotion, no answer with `approvalDefault` rollback
    /// rolls back.
    fn judge_gate(
        mut self,
        now: DateTime<Utc>,
        answer: Option<OperatorAnswer>,
    ) -> Result<Deployment, DocumentError> {
        let open_for = self
            .gate
            .opened_at
            .map_or(i64::MAX, |opened| (now - opened).num_seconds().max(0));
        match judge_gate(
            answer,
            open_for,
            self.gate.timeout_seconds,
            self.gate.default,
        ) {
            GateVerdict::Wait => Ok(self),
            GateVerdict::TimedOut => {
                let cause = format!(
                    "nobody approved step {} ({} on version {}) within {}s; \
                     approvalDefault is rollback",
                    self.progress.step_index,
                    self.current_step()?.weight,
                    self.lead().target_version,
                    self.gate.timeout_seconds
                );
                Ok(self.rolling_back(Failure::new(ErrorKind::ApprovalTimedOut, cause)))
            }
            GateVerdict::Approve => {
                self.gate.approved_step = Some(self.progress.step_index);
                self.decision = self.move_to(self.progress.step_index);
                Ok(self)
            }
            GateVerdict::PromoteNow => {
                self.decision = self.promote_now(now);
                Ok(self)
            }
        }
    }

    /// After a hook ran: roll back unless it answered `{"status":"Succeeded"}`.
    fn judge_hook(mut self, phase: Phase, now: DateTime<Utc>) -> Deployment {
        let outcome = self
            .hook_result
            .take()
            .unwrap_or_else(|| HookOutcome::read(None));
        if let Some(problem) = outcome.problem() {
            let hook = self.hooks.of(phase).unwrap_or_default();
            let cause = format!("{} hook {hook} {problem}", phase.label());
            return self.rolling_back(Failure::new(ErrorKind::HookFailed, cause));
        }
        self.progress.step_started_at = now;
        self.decision = match phase {
            Phase::PreTraffic => self.move_to(0),
            Phase::PostTraffic => self.post_promotion(),
        };
        self
    }

    /// During a bake (alarms quiet): promote on request, bake on until the step's time is up,
    /// then move to the next step (or, after the post-promotion bake, succeed).
    fn judge_bake(
        mut self,
        now: DateTime<Utc>,
        answer: Option<OperatorAnswer>,
    ) -> Result<Deployment, DocumentError> {
        let stepping = self.decision == Decision::Bake;
        if stepping && answer == Some(OperatorAnswer::Promote) {
            self.decision = self.promote_now(now);
            return Ok(self);
        }
        let elapsed = (now - self.progress.step_started_at).num_seconds().max(0);
        let bake = if stepping {
            self.current_step()?.bake_seconds
        } else {
            self.progress.post_promotion_bake_seconds
        };
        let remaining = i64::from(bake) - elapsed;
        if remaining > 0 {
            self.progress.wait_seconds = self
                .park_interval()
                .min(u32::try_from(remaining).unwrap_or(u32::MAX));
        } else if let Some(held) = self.held(-remaining, bake) {
            match held {
                Ok(()) => self.progress.wait_seconds = self.park_interval(),
                Err(failure) => return Ok(self.rolling_back(failure)),
            }
        } else if stepping {
            self.decision = self.move_to(self.progress.step_index + 1);
        } else {
            self.decision = Decision::Succeed;
        }
        Ok(self)
    }

    /// Moves to step `index`: its gate first when it has one, else its shift (or the
    /// promotion), noting the write about to be made.
    pub(super) fn move_to(&mut self, index: usize) -> Decision {
        self.progress.step_index = index;
        if self.gated(index) {
            return Decision::AwaitApproval;
        }
        let next = self.progress.plan.get(index).copied();
        if let Some(step) = next {
            let route = self.lead().route_at(step.weight);
            self.progress.write_in_flight =
                format!(" A write moving it to {route} may also have landed.");
        }
        match next {
            Some(step) if step.weight.is_full() => Decision::Promote,
            _ => Decision::Shift,
        }
    }

    /// The longest a park lasts: the backstop interval, or the analysis interval when shorter.
    pub(super) fn park_interval(&self) -> u32 {
        let backstop = self.watch.check_interval_seconds;
        self.analysis
            .as_ref()
            .map_or(backstop, |a| backstop.min(a.config.interval_seconds))
    }

    /// At an open approval gate, how long the next park lasts (the rest of the gate, at most
    /// one backstop interval); anywhere else, the gate's marks are cleared.
    pub(super) fn arm_gate(&mut self, now: DateTime<Utc>) {
        if self.decision != Decision::AwaitApproval {
            self.gate.opened_at = None;
            self.gate.announced = None;
            return;
        }
        let opened = *self.gate.opened_at.get_or_insert(now);
        let open_for = (now - opened).num_seconds().max(0);
        let left = (i64::from(self.gate.timeout_seconds) - open_for).max(1);
        self.progress.wait_seconds = self
            .park_interval()
            .min(u32::try_from(left).unwrap_or(u32::MAX));
    }

    fn post_promotion(&mut self) -> Decision {
        let bake = self.progress.post_promotion_bake_seconds;
        if bake > 0 {
            self.progress.wait_seconds = self.park_interval().min(bake);
            Decision::PostPromotionBake
        } else {
            Decision::Succeed
        }
    }

    /// The failure to roll back for when `report` found a watched alarm in ALARM or gone.
    pub fn alarm_problem(&self, report: &AlarmReport) -> Option<Failure> {
        let at = self.moment();
        if !report.in_alarm.is_empty() {
            let cause = format!("alarm {} in ALARM {at}", report.in_alarm.join(", "));
            return Some(Failure::new(ErrorKind::AlarmTriggered, cause));
        }
        if !report.missing.is_empty() {
            let cause = format!(
                "alarm {} no longer exists (deleted during the deployment, {at})",
                report.missing.join(", ")
            );
            return Some(Failure::new(ErrorKind::NotFound, cause));
        }
        None
    }
}
