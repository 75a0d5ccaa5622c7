//! The deployment document: what flows through the state machine, grouped by concern, and every
//! decision made on it. Its JSON form is [`wire`]'s (flat, byte for byte what the state machine
//! reads); every "what comes next" rule is in [`next`].

mod analysis;
mod ending;
mod members;
pub mod next;
mod provisioned;
mod wire;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alias::{AliasState, Member};
use super::analysis::{Analysis, Judgement, VersionFigures};
use super::approval::{ApprovalDefault, OperatorAnswer};
use super::failure::{Caught, Failure};
use super::hooks::{HookOutcome, Hooks};
use super::provisioned::ProvisionedConcurrency;
use super::request::DeploymentRequest;
use super::strategy::Step;
use super::weight::Weight;

pub use ending::{RestoreAction, is_rolled_back_cause};
pub use members::Members;
pub use next::Decision;

/// One deployment of one alias or of a release train's aliases: created by Start Deployment,
/// updated by every step.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "wire::Document")]
pub struct Deployment {
    /// The execution name.
    pub deployment_id: String,
    /// The aliases moved, in lockstep; the first leads (its hooks, its name in messages). Never
    /// empty.
    pub members: Members,
    /// Where the deployment is in its plan.
    pub progress: Progress,
    /// The alarms watched and how often they are read as a backstop.
    pub watch: Watch,
    /// Hook functions.
    pub hooks: Hooks,
    /// Written by the state machine: what the hook that just ran answered, read once.
    pub hook_result: Option<HookOutcome>,
    /// Approval gates.
    pub gate: Gate,
    /// The canary analysis, when the input has one.
    pub analysis: Option<AnalysisState>,
    /// The aliases' provisioned concurrency, when they have any (read by Start Deployment).
    pub provisioned_concurrency: Option<ProvisionedConcurrency>,
    /// How the deployment is ending, once it is.
    pub ending: Ending,
    /// Written by the state machine: an operator's answer to a parked task; Check Health
    /// consumes it.
    pub control: Option<OperatorAnswer>,
    /// What happens next.
    pub decision: Decision,
}

/// Where a deployment is in its plan, and its clocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The strategy as written.
    pub strategy: String,
    /// The schedule; the last step is the promotion.
    pub plan: Vec<Step>,
    /// Index into `plan` of the step being applied or baked.
    pub step_index: usize,
    /// Traffic on the target now, in basis points.
    pub traffic: Weight,
    /// Seconds to watch alarms after the promotion.
    pub post_promotion_bake_seconds: u32,
    /// When Start Deployment ran.
    pub started_at: DateTime<Utc>,
    /// When the current step (or the post-promotion bake) began.
    pub step_started_at: DateTime<Utc>,
    /// Seconds the next park lasts: the rest of the step, gate or post-promotion bake, at most
    /// one backstop interval.
    pub wait_seconds: u32,
    /// Alarm reads made so far.
    pub alarm_checks: u32,
    /// When the next step writes the alias, a sentence naming the route it will write — so
    /// that a rollback that fails after that write was interrupted can say it may have landed.
    /// Empty otherwise.
    pub write_in_flight: String,
}

/// The watched alarms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// CloudWatch alarm names.
    pub alarms: Vec<String>,
    /// Seconds between backstop reads of the alarms while parked (alarm events end a park
    /// sooner).
    pub check_interval_seconds: u32,
}

/// Approval gates: the configuration, and the open gate's marks.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Indices into the plan of steps that wait for approval before traffic moves to them.
    pub steps: Vec<usize>,
    /// The promotion waits for approval.
    pub before_promote: bool,
    /// Seconds a gate waits (the Await Approval Task's TimeoutSecondsPath).
    pub timeout_seconds: u32,
    /// What a gate does when nobody answers.
    pub default: ApprovalDefault,
    /// When the open gate opened (it parks in backstop-sized pieces until `timeout_seconds`
    /// after this).
    pub opened_at: Option<DateTime<Utc>>,
    /// Written by the state machine (Announce Approval): the open gate was announced once.
    pub announced: Option<Value>,
    /// The step whose gate was passed (approved, promoted, or defaulted to approve).
    pub approved_step: Option<usize>,
}

/// The canary analysis: its configuration and what it has found.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisState {
    /// The input's `analysis` block.
    pub config: Analysis,
    /// When the current window began (the last shift, or the last analysis).
    pub window_from: Option<DateTime<Utc>>,
    /// The latest analysis.
    pub last: Option<AnalysisRecord>,
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

/// How a deployment ends, once it does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ending {
    /// Why the deployment is rolling back.
    pub failure: Option<Failure>,
    /// Set by Roll Back: the version the lead alias was restored to.
    pub rolled_back_to: Option<String>,
    /// Written by the state machine: the error a Catch caught.
    pub caught: Option<Caught>,
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

impl Deployment {
    /// The document Start Deployment returns once every pre-flight check has passed: `members`
    /// are the aliases as pre-flight read them (the first leads), each with its target.
    pub fn start_with(
        deployment_id: String,
        request: &DeploymentRequest,
        members: Members,
        now: DateTime<Utc>,
    ) -> Deployment {
        let mut d = Deployment {
            deployment_id,
            members,
            progress: Progress {
                strategy: request.strategy_name.clone(),
                plan: request.plan.steps().to_vec(),
                step_index: 0,
                traffic: Weight::ZERO,
                post_promotion_bake_seconds: request.post_promotion_bake_seconds,
                started_at: now,
                step_started_at: now,
                wait_seconds: 0,
                alarm_checks: 0,
                write_in_flight: String::new(),
            },
            watch: Watch {
                alarms: request.alarms.clone(),
                check_interval_seconds: request.check_interval_seconds,
            },
            hooks: request.hooks.clone(),
            hook_result: None,
            gate: Gate {
                steps: request.approval.steps.clone(),
                before_promote: request.approval.before_promote,
                timeout_seconds: request.approval.timeout_seconds,
                default: request.approval.default,
                opened_at: None,
                announced: None,
                approved_step: None,
            },
            analysis: request.analysis.clone().map(|config| AnalysisState {
                config,
                window_from: None,
                last: None,
            }),
            provisioned_concurrency: None,
            ending: Ending::default(),
            control: None,
            decision: Decision::Shift,
        };
        d.decision = d.first_decision();
        d.arm_gate(now);
        d
    }

    /// The same for one alias (a release train adds the others with
    /// [`Deployment::with_train`]): `alias` as pre-flight read it, moving to `target_version`.
    pub fn start(
        deployment_id: String,
        request: &DeploymentRequest,
        alias: &AliasState,
        target_version: String,
        now: DateTime<Utc>,
    ) -> Deployment {
        let lead = Member::new(
            &request.function_name,
            &request.alias,
            alias,
            target_version,
        );
        Deployment::start_with(deployment_id, request, Members::new(lead, Vec::new()), now)
    }

    /// The alias that leads (the only one, outside a release train).
    pub fn lead(&self) -> &Member {
        self.members.lead()
    }

    /// The step at `step_index`.
    pub fn current_step(&self) -> Result<Step, DocumentError> {
        let p = &self.progress;
        p.plan
            .get(p.step_index)
            .copied()
            .ok_or(DocumentError::NoSuchStep {
                index: p.step_index,
                steps: p.plan.len(),
            })
    }

    /// The commands that put every alias back by hand.
    pub fn restore_command(&self) -> String {
        let commands: Vec<String> = self.members.iter().map(Member::restore_command).collect();
        commands.join(" && ")
    }

    /// When something happened, by where traffic was: `at 10% on version 2`, or before the
    /// first shift `before any traffic moved to version 2`.
    pub fn moment(&self) -> String {
        if !self.progress.traffic.is_zero() {
            return format!("at {}", self.traffic_at());
        }
        match self.members.as_slice() {
            [only] => format!(
                "before any traffic moved to version {}",
                only.target_version
            ),
            _ => "before any traffic moved to the release train's new versions".to_owned(),
        }
    }

    /// Where traffic is now, in the one wording every cause uses: `10% on version 2`, or for a
    /// release train `10% on the new versions of the release train`.
    pub fn traffic_at(&self) -> String {
        match self.members.as_slice() {
            [only] => format!(
                "{} on version {}",
                self.progress.traffic, only.target_version
            ),
            _ => format!(
                "{} on the new versions of the release train",
                self.progress.traffic
            ),
        }
    }

    /// `member`'s new version, for causes: `version 2`, or in a release train
    /// `version 2 of orders-api:live`.
    pub fn new_version_of(&self, member: &Member) -> String {
        if self.members.is_train() {
            format!("version {} of {}", member.target_version, member.label())
        } else {
            format!("version {}", member.target_version)
        }
    }

    /// What the deployment moves, for causes: `alias live`, or `the release train's aliases`.
    pub fn subject(&self) -> String {
        match self.members.as_slice() {
            [only] => format!("alias {}", only.alias),
            _ => "the release train's aliases".to_owned(),
        }
    }

    /// The longest this deployment can run, in seconds: every bake, every approval gate waiting
    /// its whole timeout, the post-promotion bake, both hooks at Lambda's 15-minute maximum (or
    /// their callback timeout), every wait for provisioned concurrency, and an hour for retries
    /// and backstop reads. What the registry keeps its entries for.
    pub fn longest_run_seconds(&self) -> u64 {
        const LAMBDA_MAX_SECONDS: u64 = 900;
        const RETRIES_SECONDS: u64 = 3600;
        let hook = self
            .hooks
            .callback_timeout_seconds
            .map_or(LAMBDA_MAX_SECONDS, |s| LAMBDA_MAX_SECONDS.max(u64::from(s)));
        let plan = &self.progress.plan;
        let bakes: u64 = plan.iter().map(|s| u64::from(s.bake_seconds)).sum();
        let gates = self.gate.steps.len() as u64 + u64::from(self.gate.before_promote);
        let allocation = self.provisioned_concurrency.as_ref().map_or(0, |pc| {
            plan.len() as u64 * u64::from(pc.ready_timeout_seconds)
        });
        bakes
            + gates * u64::from(self.gate.timeout_seconds)
            + u64::from(self.progress.post_promotion_bake_seconds)
            + 2 * hook
            + allocation
            + RETRIES_SECONDS
    }

    fn set_traffic(&mut self, weight: Weight) {
        self.progress.traffic = weight;
    }
}

#[cfg(test)]
mod tests;
