//! The state document that flows through the state machine, and the pure decisions made on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alias::{AliasRoute, AliasState};
use super::analysis::{Analysis, Judgement, LowTraffic, VersionFigures};
use super::failure::{ErrorKind, ErrorName};
use super::provisioned::ProvisionedConcurrency;
use super::request::{ApprovalDefault, DeploymentRequest, Hooks};
use super::strategy::Step;
use super::text::cut_chars;
use super::weight::Weight;

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

/// Why a deployment is being rolled back: an error name and a readable cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// One of the stable error kinds, or the name of a caught error that is not ours.
    pub error: ErrorName,
    /// What happened, for people.
    pub cause: String,
}

impl Failure {
    /// A failure of one of our kinds.
    pub fn new(kind: ErrorKind, cause: impl Into<String>) -> Failure {
        Failure {
            error: kind.into(),
            cause: cause.into(),
        }
    }
}

/// A deployment document a step cannot follow; it maps to `InvalidInput` naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// `stepIndex` points past the plan.
    #[error("{index} is past the last of {steps} steps")]
    NoSuchStep { index: usize, steps: usize },
    /// The step would not move traffic up.
    #[error("step {index} would move traffic from {from} to {to}; weights only ever increase")]
    WeightWouldNotIncrease {
        index: usize,
        from: Weight,
        to: Weight,
    },
    /// The state cannot follow the document's decision.
    #[error("{state} cannot follow decision {decision:?}")]
    UnexpectedDecision {
        state: &'static str,
        decision: Decision,
    },
}

impl DocumentError {
    /// The document field at fault (`stepIndex`, `decision`).
    pub fn field(&self) -> &'static str {
        match self {
            DocumentError::NoSuchStep { .. } | DocumentError::WeightWouldNotIncrease { .. } => {
                "stepIndex"
            }
            DocumentError::UnexpectedDecision { .. } => "decision",
        }
    }
}

/// An error caught by a Catch (`ResultPath: "$.caught"`), in Step Functions' own shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caught {
    /// Error name.
    #[serde(rename = "Error")]
    pub error: ErrorName,
    /// Cause; for a Lambda function error, JSON with `errorMessage`.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl Caught {
    /// The readable part of the cause (`errorMessage` of a Lambda error, else the raw text).
    pub fn message(&self) -> String {
        error_message(&self.cause)
    }
}

/// The `errorMessage` of a Lambda function error's cause (`{"errorMessage":…,"errorType":…}`),
/// or the cause itself when it is not one.
pub fn error_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| cause.to_owned())
}

/// States of the watched alarms, as one DescribeAlarms call returned them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmReport {
    /// Alarms in ALARM.
    pub in_alarm: Vec<String>,
    /// Alarms that no longer exist.
    pub missing: Vec<String>,
}

/// One deployment of one alias: created by Start Deployment, updated by every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The execution name.
    pub deployment_id: String,
    /// Function name or ARN.
    pub function_name: String,
    /// The alias being moved.
    pub alias: String,
    /// The version the alias was on (the snapshot restored on rollback).
    pub original_version: String,
    /// The version traffic moves to.
    pub target_version: String,
    /// The strategy as written.
    pub strategy: String,
    /// The schedule; the last step is the promotion.
    pub plan: Vec<Step>,
    /// Index into `plan` of the step being applied or baked.
    pub step_index: usize,
    /// Watched alarms.
    pub alarms: Vec<String>,
    /// Seconds between backstop reads of the alarms while parked (alarm events end a park
    /// sooner).
    pub check_interval_seconds: u32,
    /// Hook functions.
    #[serde(default)]
    pub hooks: Hooks,
    /// Seconds to watch alarms after the promotion.
    pub post_promotion_bake_seconds: u32,
    /// RevisionId of the alias as we last saw or wrote it.
    pub revision_id: String,
    /// Traffic on the target now, in basis points.
    pub traffic: Weight,
    /// The same, in percent, for hooks and people.
    pub traffic_percent: f64,
    /// When Start Deployment ran.
    pub started_at: DateTime<Utc>,
    /// When the current step (or the post-promotion bake) began.
    pub step_started_at: DateTime<Utc>,
    /// Seconds the next park lasts: the rest of the step, gate or post-promotion bake, at most
    /// one backstop interval.
    pub wait_seconds: u32,
    /// What happens next.
    pub decision: Decision,
    /// The alias as last seen, for people and for a failed rollback's message.
    pub alias_last_seen: String,
    /// When the next step writes the alias, the route it will write — so that a rollback that
    /// fails after that write was interrupted can say it may have landed. Empty otherwise.
    #[serde(default)]
    pub write_in_flight: String,
    /// The command that restores the snapshot by hand.
    pub restore_command: String,
    /// Alarm checks made so far.
    #[serde(default)]
    pub alarm_checks: u32,
    /// Why the deployment is rolling back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Set by Roll Back: the version the alias was restored to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_to: Option<String>,
    /// Written by the state machine: a hook's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_result: Option<Value>,
    /// Written by the state machine: the error a Catch caught.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caught: Option<Caught>,
    /// Indices into `plan` of steps that wait for approval before traffic moves to them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approval_steps: Vec<usize>,
    /// The promotion waits for approval.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approval_before_promote: bool,
    /// Seconds an approval gate waits (the Await Approval Task's TimeoutSecondsPath).
    #[serde(default = "default_approval_timeout")]
    pub approval_timeout_seconds: u32,
    /// What a gate does when nobody answers.
    #[serde(default)]
    pub approval_default: ApprovalDefault,
    /// When the open approval gate opened (it parks in backstop-sized pieces until
    /// `approval_timeout_seconds` after this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_opened_at: Option<DateTime<Utc>>,
    /// Written by the state machine (Announce Approval): the open gate was announced once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_announced: Option<Value>,
    /// The step whose gate was passed (approved, promoted, or defaulted to approve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_step: Option<usize>,
    /// The canary analysis, when the input has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// When the current analysis window began (the last shift, or the last analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_from: Option<DateTime<Utc>>,
    /// The latest analysis: when, both versions' figures, the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_analysis: Option<AnalysisRecord>,
    /// Written by the state machine: an operator's answer to a parked task token
    /// (`{"action":"approve"}` or `{"action":"promote"}`); Check Health consumes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<Value>,
    /// A release train's other aliases, moved in lockstep with this one (empty otherwise).
    /// Always written: the hooks' payload passes it on (`"train.$": "$.train"`).
    #[serde(default)]
    pub train: Vec<super::train::Member>,
    /// The alias's provisioned concurrency, when it has any (read by Start Deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_concurrency: Option<ProvisionedConcurrency>,
}

/// One analysis of the new version against the old one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRecord {
    /// When it was made (the end of its window).
    pub at: DateTime<Utc>,
    /// The window's length in seconds.
    pub window_seconds: i64,
    /// The new version's figures.
    pub new: VersionFigures,
    /// The old version's figures.
    pub old: VersionFigures,
    /// The verdict.
    pub judgement: Judgement,
}

fn default_approval_timeout() -> u32 {
    super::request::DEFAULT_APPROVAL_TIMEOUT_SECONDS
}

/// What Roll Back must do, decided from the alias as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreAction {
    /// The alias already equals the snapshot (nothing moved, or an earlier attempt landed).
    AlreadyRestored,
    /// Write the snapshot, conditional on this RevisionId.
    Restore { expected_revision: String },
    /// Someone else changed the alias: leave their change.
    Drifted(String),
}

impl Deployment {
    /// The document Start Deployment returns once every pre-flight check has passed.
    pub fn start(
        deployment_id: String,
        request: &DeploymentRequest,
        alias: &AliasState,
        target_version: String,
        now: DateTime<Utc>,
    ) -> Deployment {
        let original = alias.route.version.clone();
        let restore_command = format!(
            "aws lambda update-alias --function-name {} --name {} --function-version {} \
             --routing-config '{{\"AdditionalVersionWeights\":{{}}}}'",
            request.function_name, request.alias, original
        );
        let mut d = Deployment {
            deployment_id,
            function_name: request.function_name.clone(),
            alias: request.alias.clone(),
            original_version: original,
            target_version,
            strategy: request.strategy_name.clone(),
            plan: request.plan.steps().to_vec(),
            step_index: 0,
            alarms: request.alarms.clone(),
            check_interval_seconds: request.check_interval_seconds,
            hooks: request.hooks.clone(),
            post_promotion_bake_seconds: request.post_promotion_bake_seconds,
            revision_id: alias.revision_id.clone(),
            traffic: Weight::ZERO,
            traffic_percent: 0.0,
            started_at: now,
            step_started_at: now,
            wait_seconds: 0,
            decision: Decision::Shift,
            alias_last_seen: alias.route.to_string(),
            write_in_flight: String::new(),
            restore_command,
            alarm_checks: 0,
            failure: None,
            rolled_back_to: None,
            hook_result: None,
            caught: None,
            approval_steps: request.approval.steps.clone(),
            approval_before_promote: request.approval.before_promote,
            approval_timeout_seconds: request.approval.timeout_seconds,
            approval_default: request.approval.default,
            gate_opened_at: None,
            gate_announced: None,
            analysis: request.analysis.clone(),
            analysis_from: None,
            last_analysis: None,
            approved_step: None,
            control: None,
            train: Vec::new(),
            provisioned_concurrency: None,
        };
        d.decision = if d.target_version == d.original_version {
            Decision::AlreadyCurrent
        } else if d.hooks.pre_traffic.is_some() {
            Decision::PreTrafficHook
        } else {
            d.move_to(0)
        };
        d.arm_gate(now);
        d
    }

    /// The write Shift Traffic (or Promote) makes: refuses a document not at a shift.
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
        if step.weight <= self.traffic {
            return Err(DocumentError::WeightWouldNotIncrease {
                index: self.step_index,
                from: self.traffic,
                to: step.weight,
            });
        }
        Ok(AliasRoute::split(
            &self.original_version,
            &self.target_version,
            step.weight,
        ))
    }

    /// Records a shift (or the promotion) that landed, and decides what follows.
    pub fn shifted(
        mut self,
        alias: &AliasState,
        now: DateTime<Utc>,
    ) -> Result<Deployment, DocumentError> {
        let step = self.current_step()?;
        self.set_traffic(step.weight);
        self.record(0, alias);
        self.start_step_clock(now);
        if !self.await_allocation(now) {
            self.decide_after_write(step);
        }
        Ok(self)
    }

    /// The step's bake (and the analysis window) counts from `now`.
    pub(super) fn start_step_clock(&mut self, now: DateTime<Utc>) {
        self.step_started_at = now;
        self.analysis_from = self.analysis.as_ref().map(|_| now);
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
            self.wait_seconds = self.park_interval().min(step.bake_seconds);
        }
    }

    /// True when Check Health must read the alarms before deciding (also when a gate is
    /// answered: traffic sat on the previous step while it waited).
    pub fn needs_alarm_check(&self) -> bool {
        !self.alarms.is_empty()
            && matches!(
                self.decision,
                Decision::Bake
                    | Decision::PostPromotionBake
                    | Decision::AwaitApproval
                    | Decision::AwaitProvisionedConcurrency
            )
    }

    /// True when moving to step `index` must first wait for approval.
    fn gated(&self, index: usize) -> bool {
        if self.approved_step == Some(index) {
            return false;
        }
        let promotion = self.plan.get(index).is_some_and(|s| s.weight.is_full());
        self.approval_steps.contains(&index) || (promotion && self.approval_before_promote)
    }

    /// An operator asked to promote now: skip the remaining steps (hooks and the
    /// post-promotion bake still run).
    fn promote_now(&mut self, now: DateTime<Utc>) -> Decision {
        let last = self.plan.len().saturating_sub(1);
        self.approved_step = Some(last);
        self.step_started_at = now;
        self.move_to(last)
    }

    /// The `action` of an operator's answer, if any.
    fn control_action(control: Option<&Value>) -> Option<&str> {
        control
            .and_then(|c| c.get("action"))
            .and_then(Value::as_str)
    }

    /// Check Health's decision: judge an approval gate, a hook's result, or the alarms and the
    /// bake clock.
    pub fn checked(
        mut self,
        now: DateTime<Utc>,
        alarms: Option<&AlarmReport>,
    ) -> Result<Deployment, DocumentError> {
        let control = self.control.take();
        let action = Deployment::control_action(control.as_ref());
        let mut next = self.judged(now, alarms, control.is_some(), action)?;
        next.arm_gate(now);
        Ok(next)
    }

    /// [`Deployment::checked`]'s three decisions.
    fn judged(
        mut self,
        now: DateTime<Utc>,
        alarms: Option<&AlarmReport>,
        answered: bool,
        action: Option<&str>,
    ) -> Result<Deployment, DocumentError> {
        match self.decision {
            Decision::AwaitApproval => {
                if let Some(failure) = self.watch(alarms) {
                    return Ok(self.rolling_back(failure));
                }
                self.judge_gate(now, answered, action)
            }
            Decision::PreTrafficHook | Decision::PostTrafficHook => Ok(self.judge_hook(now)),
            Decision::Bake | Decision::PostPromotionBake => {
                if let Some(failure) = self.watch(alarms) {
                    return Ok(self.rolling_back(failure));
                }
                self.judge_bake(now, action)
            }
            other => Err(DocumentError::UnexpectedDecision {
                state: "Check Health",
                decision: other,
            }),
        }
    }

    /// Counts an alarm read, if one was made; the failure to roll back for when it found an
    /// alarm in ALARM or gone.
    pub(super) fn watch(&mut self, alarms: Option<&AlarmReport>) -> Option<Failure> {
        let report = alarms?;
        self.alarm_checks += 1;
        self.alarm_problem(report)
    }

    /// At a gate: an approval (or no answer with `approvalDefault` approve) moves on, a promote
    /// skips to the promotion, no answer with `approvalDefault` rollback rolls back.
    fn judge_gate(
        mut self,
        now: DateTime<Utc>,
        answered: bool,
        action: Option<&str>,
    ) -> Result<Deployment, DocumentError> {
        let open_for = self
            .gate_opened_at
            .map_or(i64::MAX, |opened| (now - opened).num_seconds().max(0));
        if !answered && open_for < i64::from(self.approval_timeout_seconds) {
            // A backstop read found the alarms quiet: the gate parks again.
            return Ok(self);
        }
        let approve = match (answered, action) {
            (false, _) if self.approval_default == ApprovalDefault::Rollback => {
                let cause = format!(
                    "nobody approved step {} ({} on version {}) within {}s; \
                     approvalDefault is rollback",
                    self.step_index,
                    self.current_step()?.weight,
                    self.target_version,
                    self.approval_timeout_seconds
                );
                return Ok(self.rolling_back(Failure::new(ErrorKind::ApprovalTimedOut, cause)));
            }
            (false, _) | (true, Some("approve")) => true,
            (true, Some("promote")) => false,
            // Not an answer we know: keep waiting at the gate.
            (true, _) => return Ok(self),
        };
        self.decision = if approve {
            self.approved_step = Some(self.step_index);
            self.move_to(self.step_index)
        } else {
            self.promote_now(now)
        };
        Ok(self)
    }

    /// After a hook ran: roll back unless it answered `{"status":"Succeeded"}`.
    fn judge_hook(mut self, now: DateTime<Utc>) -> Deployment {
        let pre = self.decision == Decision::PreTrafficHook;
        let hook = if pre {
            self.hooks.pre_traffic.clone()
        } else {
            self.hooks.post_traffic.clone()
        }
        .unwrap_or_default();
        let result = self.hook_result.take();
        if let Some(problem) = hook_problem(result.as_ref()) {
            let phase = if pre { "pre-traffic" } else { "post-traffic" };
            let cause = format!("{phase} hook {hook} {problem}");
            return self.rolling_back(Failure::new(ErrorKind::HookFailed, cause));
        }
        self.step_started_at = now;
        self.decision = if pre {
            self.move_to(0)
        } else {
            self.post_promotion()
        };
        self
    }

    /// During a bake (alarms quiet): promote on request, bake on until the step's time is up,
    /// then move to the next step (or, after the post-promotion bake, succeed).
    fn judge_bake(
        mut self,
        now: DateTime<Utc>,
        action: Option<&str>,
    ) -> Result<Deployment, DocumentError> {
        let stepping = self.decision == Decision::Bake;
        if stepping && action == Some("promote") {
            self.decision = self.promote_now(now);
            return Ok(self);
        }
        let elapsed = (now - self.step_started_at).num_seconds().max(0);
        let bake = if stepping {
            self.current_step()?.bake_seconds
        } else {
            self.post_promotion_bake_seconds
        };
        let remaining = i64::from(bake) - elapsed;
        if remaining > 0 {
            self.wait_seconds = self
                .park_interval()
                .min(u32::try_from(remaining).unwrap_or(u32::MAX));
        } else if let Some(held) = self.held(-remaining, bake) {
            match held {
                Ok(()) => self.wait_seconds = self.park_interval(),
                Err(failure) => return Ok(self.rolling_back(failure)),
            }
        } else if stepping {
            self.decision = self.move_to(self.step_index + 1);
        } else {
            self.decision = Decision::Succeed;
        }
        Ok(self)
    }

    /// Roll Back's decision for this deployment's own alias, from the alias as it is now
    /// ([`Deployment::restore_action_of`]).
    pub fn restore_action(&self, current: &AliasState) -> RestoreAction {
        let own = self.members().swap_remove(0);
        self.restore_action_of(&own, current)
    }

    /// The failure being rolled back for: set by Check Health, or derived from a caught error.
    pub fn failure_reason(&self) -> Failure {
        if let Some(f) = &self.failure {
            return f.clone();
        }
        match &self.caught {
            Some(c) => Failure {
                error: c.error.clone(),
                cause: c.message(),
            },
            None => Failure::new(
                ErrorKind::InvalidInput,
                format!(
                    "unexpected decision {:?} in the deployment document",
                    self.decision
                ),
            ),
        }
    }

    /// Records a finished restore and the final cause.
    pub fn rolled_back(mut self, restored: &AliasState, wrote: bool) -> Deployment {
        let mut failure = self.failure_reason();
        let how = if !self.train.is_empty() {
            let aliases: Vec<String> = self
                .members()
                .iter()
                .map(|m| format!("{} on {}", m.label(), m.original_version))
                .collect();
            format!(
                "Every alias of the train is back on its version: {}.",
                aliases.join(", ")
            )
        } else if wrote {
            format!(
                "Alias {} restored to version {} (it was on {}).",
                self.alias, self.original_version, self.alias_last_seen
            )
        } else {
            format!(
                "Alias {} is on version {} as before; no traffic had reached version {}.",
                self.alias, self.original_version, self.target_version
            )
        };
        failure.cause = format!("{}. {how}", failure.cause.trim_end_matches('.'));
        self.failure = Some(failure);
        self.rolled_back_to = Some(self.original_version.clone());
        self.revision_id = restored.revision_id.clone();
        self.alias_last_seen = restored.route.to_string();
        self.set_traffic(Weight::ZERO);
        self.decision = Decision::Rollback;
        self
    }

    /// The longest this deployment can run, in seconds: every bake, every approval gate waiting
    /// its whole timeout, the post-promotion bake, both hooks at Lambda's 15-minute maximum (or
    /// their callback timeout),
    /// and an hour for retries and backstop reads. What the registry keeps its entries for.
    pub fn longest_run_seconds(&self) -> u64 {
        const LAMBDA_MAX_SECONDS: u64 = 900;
        const RETRIES_SECONDS: u64 = 3600;
        let hook = self
            .hooks
            .callback_timeout_seconds
            .map_or(LAMBDA_MAX_SECONDS, |s| LAMBDA_MAX_SECONDS.max(u64::from(s)));
        let bakes: u64 = self.plan.iter().map(|s| u64::from(s.bake_seconds)).sum();
        let gates = self.approval_steps.len() as u64 + u64::from(self.approval_before_promote);
        bakes
            + gates * u64::from(self.approval_timeout_seconds)
            + u64::from(self.post_promotion_bake_seconds)
            + 2 * hook
            + self.longest_allocation_seconds()
            + RETRIES_SECONDS
    }

    /// The step at `step_index`.
    pub fn current_step(&self) -> Result<Step, DocumentError> {
        self.plan
            .get(self.step_index)
            .copied()
            .ok_or(DocumentError::NoSuchStep {
                index: self.step_index,
                steps: self.plan.len(),
            })
    }

    fn move_to(&mut self, index: usize) -> Decision {
        if self.gated(index) {
            self.step_index = index;
            return Decision::AwaitApproval;
        }
        self.step_index = index;
        let next = self.plan.get(index).copied();
        if let Some(step) = next {
            let route =
                AliasRoute::split(&self.original_version, &self.target_version, step.weight);
            self.write_in_flight = format!(" A write moving it to {route} may also have landed.");
        }
        match next {
            Some(step) if step.weight.is_full() => Decision::Promote,
            _ => Decision::Shift,
        }
    }

    /// The longest a park lasts: the backstop interval, or the analysis interval when shorter.
    pub(super) fn park_interval(&self) -> u32 {
        self.analysis
            .as_ref()
            .map_or(self.check_interval_seconds, |a| {
                self.check_interval_seconds.min(a.interval_seconds)
            })
    }

    /// The window to analyse now, if one is due: while traffic bakes on the new version, a
    /// whole analysis interval since the window began, or the bake's end.
    pub fn analysis_due(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let analysis = self.analysis.as_ref()?;
        if !matches!(self.decision, Decision::Bake | Decision::PostPromotionBake) {
            return None;
        }
        let from = self.analysis_from.unwrap_or(self.step_started_at);
        let window = (now - from).num_seconds();
        let bake = match self.decision {
            Decision::Bake => self.current_step().ok()?.bake_seconds,
            _ => self.post_promotion_bake_seconds,
        };
        let bake_over = (now - self.step_started_at).num_seconds() >= i64::from(bake);
        (window >= i64::from(analysis.interval_seconds) || (bake_over && window > 0))
            .then_some((from, now))
    }

    /// Records an analysis of the window ending `now`: a broken limit rolls back
    /// (`AnalysisFailed`, both versions' figures in the cause); the next window starts now.
    /// In a release train, `member` names the alias whose figures these are (the worst of the
    /// train's); its version is the one the cause names.
    pub fn analysed(
        mut self,
        now: DateTime<Utc>,
        member: &super::train::Member,
        new: VersionFigures,
        old: VersionFigures,
    ) -> Deployment {
        let Some(analysis) = self.analysis.clone() else {
            return self;
        };
        let from = self.analysis_from.unwrap_or(self.step_started_at);
        let judgement = super::analysis::judge(&analysis, new, old);
        self.analysis_from = Some(now);
        self.last_analysis = Some(AnalysisRecord {
            at: now,
            window_seconds: (now - from).num_seconds(),
            new,
            old,
            judgement: judgement.clone(),
        });
        match judgement {
            Judgement::Failed(breach) => {
                let version = if self.train.is_empty() {
                    format!("version {}", self.target_version)
                } else {
                    format!("version {} of {}", member.target_version, member.label())
                };
                let cause = format!("canary analysis at {} on {version}: {breach}", self.traffic);
                self.rolling_back(Failure::new(ErrorKind::AnalysisFailed, cause))
            }
            Judgement::Healthy | Judgement::TooLittleTraffic { .. } => self,
        }
    }

    /// When the bake is over `over` seconds ago but the last analysis had too little traffic to
    /// judge and the input holds the step: `Ok` to park another interval — for at most the
    /// bake's own length (or one interval) — then the `AnalysisFailed` to roll back for.
    /// `None` when nothing holds.
    fn held(&self, over: i64, bake: u32) -> Option<Result<(), Failure>> {
        let analysis = self.analysis.as_ref()?;
        if analysis.on_low_traffic != LowTraffic::Hold {
            return None;
        }
        let Some(AnalysisRecord {
            judgement:
                Judgement::TooLittleTraffic {
                    invocations,
                    needed,
                },
            ..
        }) = self.last_analysis
        else {
            return None;
        };
        let hold_limit = i64::from(bake.max(analysis.interval_seconds));
        if over < hold_limit {
            return Some(Ok(()));
        }
        let cause = format!(
            "canary analysis could not judge version {} at {}: {invocations} calls in the last \
             window, {needed} needed; the step was held {over}s past its bake",
            self.target_version, self.traffic
        );
        Some(Err(Failure::new(ErrorKind::AnalysisFailed, cause)))
    }

    /// At an open approval gate, how long the next park lasts (the rest of the gate, at most
    /// one backstop interval); anywhere else, the gate's marks are cleared.
    fn arm_gate(&mut self, now: DateTime<Utc>) {
        if self.decision != Decision::AwaitApproval {
            self.gate_opened_at = None;
            self.gate_announced = None;
            return;
        }
        let opened = *self.gate_opened_at.get_or_insert(now);
        let open_for = (now - opened).num_seconds().max(0);
        let left = (i64::from(self.approval_timeout_seconds) - open_for).max(1);
        self.wait_seconds = self
            .park_interval()
            .min(u32::try_from(left).unwrap_or(u32::MAX));
    }

    fn post_promotion(&mut self) -> Decision {
        if self.post_promotion_bake_seconds > 0 {
            self.wait_seconds = self.park_interval().min(self.post_promotion_bake_seconds);
            Decision::PostPromotionBake
        } else {
            Decision::Succeed
        }
    }

    fn set_traffic(&mut self, weight: Weight) {
        self.traffic = weight;
        self.traffic_percent = weight.as_percent();
    }

    pub(super) fn rolling_back(mut self, failure: Failure) -> Deployment {
        self.failure = Some(failure);
        self.decision = Decision::Rollback;
        self
    }

    /// The failure to roll back for when `report` found a watched alarm in ALARM or gone.
    pub fn alarm_problem(&self, report: &AlarmReport) -> Option<Failure> {
        let at = if self.train.is_empty() {
            format!("{} on version {}", self.traffic, self.target_version)
        } else {
            format!("{} on the new versions of the release train", self.traffic)
        };
        if !report.in_alarm.is_empty() {
            let cause = format!("alarm {} in ALARM at {at}", report.in_alarm.join(", "));
            return Some(Failure::new(ErrorKind::AlarmTriggered, cause));
        }
        if !report.missing.is_empty() {
            let cause = format!(
                "alarm {} no longer exists (deleted during the deployment, at {at})",
                report.missing.join(", ")
            );
            return Some(Failure::new(ErrorKind::NotFound, cause));
        }
        None
    }
}

/// Most characters of a hook's own words (its status, error message or answer) that enter a
/// cause: the document stays far below Step Functions' 256 KB state limit and a cause or a
/// CodePipeline message stays readable.
pub const MAX_HOOK_EXCERPT_CHARS: usize = 200;

/// `None` when a hook passed (`{"payload":{"status":"Succeeded"}}`), else what went wrong, bounded.
/// The state machine writes either the hook's answer (`{"payload": …}`) or, when the Task failed,
/// what its Catch caught (`{"Error": …, "Cause": …}`): for a function error the cause is Lambda's
/// error payload `{"errorType","errorMessage","stackTrace"/"trace"}`
/// (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html,
/// https://docs.aws.amazon.com/lambda/latest/dg/rust-handler.html); only the type and a short
/// message are kept, never the stack trace.
fn hook_problem(result: Option<&Value>) -> Option<String> {
    let excerpt = |text: &str| cut_chars(text, MAX_HOOK_EXCERPT_CHARS);
    if let Some(error) = result.and_then(|r| r.get("Error")) {
        let error = excerpt(error.as_str().unwrap_or("an unnamed error"));
        let cause = result
            .and_then(|r| r.get("Cause"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let cause: Option<Value> = serde_json::from_str(cause).ok();
        let message = match &cause {
            Some(lambda_error) => lambda_error
                .get("errorMessage")
                .and_then(Value::as_str)
                .map(excerpt),
            None => result
                .and_then(|r| r.get("Cause"))
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(excerpt),
        };
        return Some(match message {
            Some(message) => format!("failed: {error}: {message}"),
            None => format!("failed: {error}"),
        });
    }
    let payload = result.and_then(|r| r.get("payload"));
    match payload
        .and_then(|p| p.get("status"))
        .and_then(Value::as_str)
    {
        Some("Succeeded") => None,
        Some(other) => Some(format!("returned status {:?}", excerpt(other))),
        None => {
            let shown = payload.map_or_else(|| "nothing".to_owned(), |p| excerpt(&p.to_string()));
            Some(format!(
                "returned {shown} instead of {{\"status\":\"Succeeded\"}}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_is_listed_once_with_its_wire_name() {
        let names: std::collections::BTreeSet<&str> =
            Decision::ALL.iter().map(|d| d.wire_name()).collect();
        assert_eq!(names.len(), Decision::ALL.len());
        for d in Decision::ALL {
            assert_eq!(
                serde_json::to_value(d).unwrap(),
                serde_json::json!(d.wire_name())
            );
        }
    }
    use crate::domain::alias::AdditionalVersion;
    use serde_json::json;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
    }

    fn deployment(strategy: &str, extra: Value) -> Deployment {
        let mut input = json!({"functionName":"orders","alias":"live","targetVersion":"2","strategy":strategy,
            "alarms":["errors"],"checkIntervalSeconds":60});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let request = DeploymentRequest::from_json(&input).unwrap();
        let alias = AliasState {
            route: AliasRoute::single("1"),
            revision_id: "r1".into(),
        };
        Deployment::start("exec".into(), &request, &alias, "2".into(), at(0))
    }

    fn written(route: AliasRoute, rev: &str) -> AliasState {
        AliasState {
            route,
            revision_id: rev.into(),
        }
    }

    /// Every Deployment document in the recorded histories reads and writes back unchanged: the
    /// typed fields (error names included) keep the JSON the state machine and fixtures hold.
    #[test]
    fn recorded_documents_round_trip_unchanged() {
        let mut seen = 0;
        for history in [
            include_str!("../../../events/execution-history-aborted.json"),
            include_str!("../../../events/execution-history-succeeded.json"),
        ] {
            let history: Value = serde_json::from_str(history).unwrap();
            let texts = history["events"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| e.as_object().unwrap().values())
                .flat_map(|details| ["input", "output"].map(|k| details.get(k)))
                .filter_map(|text| text.and_then(Value::as_str));
            for text in texts {
                let document: Value = serde_json::from_str(text).unwrap_or_default();
                if document.get("deploymentId").is_none() {
                    continue;
                }
                let typed: Deployment = serde_json::from_value(document.clone()).unwrap();
                assert_eq!(serde_json::to_value(&typed).unwrap(), document);
                seen += 1;
            }
        }
        assert!(seen > 40, "{seen}");
    }

    #[test]
    fn start_decides_the_first_move() {
        assert_eq!(
            deployment("Canary10Percent5Minutes", json!({})).decision,
            Decision::Shift
        );
        assert_eq!(
            deployment("AllAtOnce", json!({})).decision,
            Decision::Promote
        );
        let d = deployment("AllAtOnce", json!({"hooks":{"preTraffic":"pre"}}));
        assert_eq!(d.decision, Decision::PreTrafficHook);
        assert!(d.restore_command.contains("--function-version 1"));
    }

    #[test]
    fn a_canary_bakes_one_interval_at_a_time_then_promotes() {
        let d = deployment("Canary10Percent5Minutes", json!({}));
        let route = d.next_route().unwrap();
        assert_eq!(
            route,
            AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap())
        );
        let d = d.shifted(&written(route, "r2"), at(0)).unwrap();
        assert_eq!(
            (d.decision, d.wait_seconds, d.traffic.bp()),
            (Decision::Bake, 60, 1000)
        );
        let quiet = AlarmReport::default();
        let d = d.checked(at(60), Some(&quiet)).unwrap();
        assert_eq!((d.decision, d.wait_seconds), (Decision::Bake, 60));
        let d = d.checked(at(290), Some(&quiet)).unwrap();
        assert_eq!(
            (d.decision, d.wait_seconds),
            (Decision::Bake, 10),
            "the last wait is cut to the bake's end"
        );
        let d = d.checked(at(300), Some(&quiet)).unwrap();
        assert_eq!((d.decision, d.step_index), (Decision::Promote, 1));
        assert_eq!(d.alarm_checks, 3);
        let d = d
            .shifted(&written(AliasRoute::single("2"), "r3"), at(300))
            .unwrap();
        assert_eq!(d.decision, Decision::Succeed);
        assert!(d.traffic.is_full());
    }

    #[test]
    fn alarms_and_missing_alarms_roll_back() {
        let d = deployment("Canary10Percent5Minutes", json!({}));
        let d = d
            .clone()
            .shifted(&written(d.next_route().unwrap(), "r2"), at(0))
            .unwrap();
        let firing = AlarmReport {
            in_alarm: vec!["errors".into()],
            missing: vec![],
        };
        let r = d.clone().checked(at(60), Some(&firing)).unwrap();
        assert_eq!(r.decision, Decision::Rollback);
        assert_eq!(r.failure.as_ref().unwrap().error, ErrorKind::AlarmTriggered);
        assert!(
            r.failure
                .unwrap()
                .cause
                .contains("errors in ALARM at 10% on version 2")
        );
        let gone = AlarmReport {
            in_alarm: vec![],
            missing: vec!["errors".into()],
        };
        assert_eq!(
            d.checked(at(60), Some(&gone))
                .unwrap()
                .failure
                .unwrap()
                .error,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn hooks_pass_only_on_succeeded() {
        let d = deployment(
            "Canary10Percent5Minutes",
            json!({"hooks":{"preTraffic":"pre"}}),
        );
        for (payload, passes) in [
            (json!({"status":"Succeeded"}), true),
            (json!({"status":"Failed"}), false),
            (json!("Succeeded"), false),
            (Value::Null, false),
        ] {
            let mut d = d.clone();
            d.hook_result = Some(json!({ "payload": payload }));
            let next = d.checked(at(5), None).unwrap();
            assert_eq!(next.decision == Decision::Shift, passes, "{payload}");
            assert!(next.hook_result.is_none());
        }
    }

    /// What enters the cause from a hook is bounded and cut on character boundaries (multibyte
    /// text at the cut used to panic), and a failed hook's stack trace never enters it.
    #[test]
    fn hook_answers_enter_the_cause_bounded_and_without_traces() {
        let d = deployment("AllAtOnce", json!({"hooks":{"preTraffic":"pre"}}));
        let crash = json!({"errorType":"RuntimeError","errorMessage":"é".repeat(5000),
            "stackTrace":["  at handler (/var/task/index.js:3:9)"],"trace":["frame 1"]});
        let results = [
            json!({"payload": {"status": "Failed", "detail": "x".repeat(1_000_000)}}),
            json!({"payload": {"status": "é".repeat(300)}}),
            json!({"payload": {"message": "€".repeat(300)}}),
            json!({"payload": "a".repeat(199) + "é"}),
            json!({"Error": "RuntimeError", "Cause": crash.to_string()}),
            json!({"Error": "States.Timeout", "Cause": ""}),
            json!({"Error": "Lambda.Unknown", "Cause": "ü".repeat(10_000)}),
        ];
        for result in results {
            let mut d = d.clone();
            d.hook_result = Some(result.clone());
            let next = d.checked(at(5), None).unwrap();
            assert_eq!(next.decision, Decision::Rollback);
            assert!(next.hook_result.is_none());
            let failure = next.failure.clone().unwrap();
            assert_eq!(failure.error, ErrorKind::HookFailed);
            assert!(
                failure.cause.starts_with("pre-traffic hook pre "),
                "{}",
                failure.cause
            );
            assert!(failure.cause.chars().count() < 300, "{}", failure.cause);
            assert!(!failure.cause.contains("index.js") && !failure.cause.contains("frame"));
            let size = serde_json::to_vec(&next).unwrap().len();
            assert!(size < 8 * 1024, "document of {size} bytes");
        }
        let mut crashed = d.clone();
        crashed.hook_result = Some(json!({"Error": "RuntimeError", "Cause": crash.to_string()}));
        let cause = crashed.checked(at(5), None).unwrap().failure.unwrap().cause;
        assert!(
            cause.starts_with("pre-traffic hook pre failed: RuntimeError: éé"),
            "{cause}"
        );
        let mut timed_out = d;
        timed_out.hook_result = Some(json!({"Error": "States.Timeout"}));
        let cause = timed_out
            .checked(at(5), None)
            .unwrap()
            .failure
            .unwrap()
            .cause;
        assert_eq!(cause, "pre-traffic hook pre failed: States.Timeout");
    }

    #[test]
    fn weights_never_go_down() {
        let mut d = deployment("Linear10PercentEvery1Minute", json!({}));
        d.traffic = Weight::from_bp(2000).unwrap();
        d.step_index = 0;
        assert!(matches!(
            d.next_route(),
            Err(DocumentError::WeightWouldNotIncrease { .. })
        ));
        d.step_index = 99;
        assert!(d.next_route().is_err());
    }

    #[test]
    fn restore_decides_from_the_alias_as_it_is() {
        let mut d = deployment("Linear10PercentEvery1Minute", json!({}));
        d.step_index = 1;
        d.traffic = Weight::from_bp(1000).unwrap();
        d.revision_id = "r2".into();
        d.decision = Decision::Bake;
        let ours = AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap());
        let next = AliasRoute::split("1", "2", Weight::from_bp(2000).unwrap());
        assert_eq!(
            d.restore_action(&written(AliasRoute::single("1"), "r9")),
            RestoreAction::AlreadyRestored
        );
        assert_eq!(
            d.restore_action(&written(ours.clone(), "r2")),
            RestoreAction::Restore {
                expected_revision: "r2".into()
            }
        );
        // The same route under another RevisionId, with no write of ours in flight: someone else's.
        assert!(matches!(
            d.restore_action(&written(next.clone(), "r3")),
            RestoreAction::Drifted(_)
        ));
        // Shift Traffic failed while writing 20%: that write may have landed, its answer lost.
        d.decision = Decision::Shift;
        d.caught = Some(Caught {
            error: "Transient".into(),
            cause: "{}".into(),
        });
        assert_eq!(
            d.restore_action(&written(next, "r3")),
            RestoreAction::Restore {
                expected_revision: "r3".into()
            }
        );
        // Anything else is someone else's.
        let theirs = [
            AliasRoute::single("3"),
            AliasRoute::single("2"),
            AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap()),
            AliasRoute::split("1", "2", Weight::from_bp(5000).unwrap()),
            AliasRoute {
                version: "1".into(),
                additional: Some(AdditionalVersion {
                    version: "3".into(),
                    weight: Weight::from_bp(1000).unwrap(),
                }),
            },
        ];
        for route in theirs {
            assert!(
                matches!(
                    d.restore_action(&written(route.clone(), "r7")),
                    RestoreAction::Drifted(_)
                ),
                "{route}"
            );
        }
    }

    #[test]
    fn rolled_back_cause_says_where_the_alias_is() {
        let mut d = deployment("Canary10Percent5Minutes", json!({}));
        d.failure = Some(Failure {
            error: "AlarmTriggered".into(),
            cause: "alarm errors in ALARM.".into(),
        });
        d.alias_last_seen = "version 1 with 10% on version 2".into();
        let r = d.rolled_back(&written(AliasRoute::single("1"), "r5"), true);
        let f = r.failure.unwrap();
        assert_eq!(
            f.cause,
            "alarm errors in ALARM. Alias live restored to version 1 (it was on version 1 with 10% on version 2)."
        );
        assert_eq!(r.rolled_back_to.as_deref(), Some("1"));
    }

    #[test]
    fn failure_reason_reads_lambda_error_causes() {
        let mut d = deployment("Canary10Percent5Minutes", json!({}));
        d.caught = Some(Caught {
            error: "Transient".into(),
            cause: json!({"errorType":"Transient","errorMessage":"UpdateAlias: throttled"})
                .to_string(),
        });
        assert_eq!(
            d.failure_reason(),
            Failure {
                error: "Transient".into(),
                cause: "UpdateAlias: throttled".into()
            }
        );
    }

    #[test]
    fn promote_during_a_bake_skips_to_the_promotion_unless_an_alarm_fires() {
        let d = deployment("Linear10PercentEvery1Minute", json!({}));
        let d = d
            .clone()
            .shifted(&written(d.next_route().unwrap(), "r2"), at(0))
            .unwrap();
        let mut asked = d.clone();
        asked.control = Some(json!({"action": "promote"}));
        let quiet = AlarmReport::default();
        let next = asked.clone().checked(at(20), Some(&quiet)).unwrap();
        assert_eq!(next.decision, Decision::Promote);
        assert_eq!(next.step_index, next.plan.len() - 1);
        assert!(next.control.is_none(), "the answer is consumed");
        let firing = AlarmReport {
            in_alarm: vec!["errors".into()],
            missing: vec![],
        };
        assert_eq!(
            asked.checked(at(20), Some(&firing)).unwrap().decision,
            Decision::Rollback
        );
        // Anything else wakes the bake early and it carries on.
        let mut other = d;
        other.control = Some(json!({"action": "approve"}));
        let next = other.checked(at(20), Some(&quiet)).unwrap();
        assert_eq!((next.decision, next.wait_seconds), (Decision::Bake, 40));
    }

    #[test]
    fn gates_wait_then_follow_the_answer_or_the_default() {
        let gated = json!({"approvalBeforePromote": true, "approvalTimeoutSeconds": 600});
        let d = deployment("Canary10Percent5Minutes", gated.clone());
        let d = d
            .clone()
            .shifted(&written(d.next_route().unwrap(), "r2"), at(0))
            .unwrap();
        let quiet = AlarmReport::default();
        let waiting = d.checked(at(300), Some(&quiet)).unwrap();
        assert_eq!(waiting.decision, Decision::AwaitApproval);
        assert_eq!(waiting.approval_timeout_seconds, 600);

        let mut approved = waiting.clone();
        approved.control = Some(json!({"action": "approve"}));
        let next = approved.checked(at(310), Some(&quiet)).unwrap();
        assert_eq!(
            (next.decision, next.approved_step),
            (Decision::Promote, Some(1))
        );

        let timed_out = waiting.clone().checked(at(900), Some(&quiet)).unwrap();
        assert_eq!(timed_out.decision, Decision::Rollback);
        assert_eq!(
            timed_out.failure.unwrap().error,
            ErrorKind::ApprovalTimedOut
        );

        let mut lenient = waiting;
        lenient.approval_default = ApprovalDefault::Approve;
        assert_eq!(
            lenient.checked(at(900), Some(&quiet)).unwrap().decision,
            Decision::Promote
        );
    }
}
