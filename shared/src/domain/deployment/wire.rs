//! The document's JSON form: flat, field for field what the state machine's paths read
//! (`$.functionName`, `$.decision`, `$.waitSeconds`, `$.train`, …) and what recorded histories
//! hold. The lead alias's fields sit at the top, the train's other aliases in `train`; the
//! derived fields (`trafficPercent`, `restoreCommand`) are written from the typed document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    AnalysisRecord, AnalysisState, Decision, Deployment, Ending, Gate, Members, Progress, Watch,
};
use crate::domain::alias::Member;
use crate::domain::analysis::Analysis;
use crate::domain::approval::{ApprovalDefault, DEFAULT_APPROVAL_TIMEOUT_SECONDS, OperatorAnswer};
use crate::domain::failure::{Caught, Failure};
use crate::domain::hooks::{HookOutcome, Hooks};
use crate::domain::provisioned::ProvisionedConcurrency;
use crate::domain::strategy::Step;
use crate::domain::weight::Weight;

/// The flat JSON document, as read (the derived `trafficPercent` and `restoreCommand` are
/// written from the typed document, and ignored when read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Document {
    deployment_id: String,
    function_name: String,
    alias: String,
    original_version: String,
    target_version: String,
    strategy: String,
    plan: Vec<Step>,
    step_index: usize,
    alarms: Vec<String>,
    check_interval_seconds: u32,
    #[serde(default)]
    hooks: Hooks,
    post_promotion_bake_seconds: u32,
    revision_id: String,
    traffic: Weight,
    started_at: DateTime<Utc>,
    step_started_at: DateTime<Utc>,
    wait_seconds: u32,
    decision: Decision,
    alias_last_seen: String,
    #[serde(default)]
    write_in_flight: String,
    #[serde(default)]
    alarm_checks: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rolled_back_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hook_result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caught: Option<Caught>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    approval_steps: Vec<usize>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    approval_before_promote: bool,
    #[serde(default = "default_approval_timeout")]
    approval_timeout_seconds: u32,
    #[serde(default)]
    approval_default: ApprovalDefault,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gate_opened_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gate_announced: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approved_step: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    analysis: Option<Analysis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    analysis_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_analysis: Option<AnalysisRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    control: Option<Value>,
    /// Always written: the hooks' payload passes it on (`"train.$": "$.train"`).
    #[serde(default)]
    train: Vec<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provisioned_concurrency: Option<ProvisionedConcurrency>,
}

fn default_approval_timeout() -> u32 {
    DEFAULT_APPROVAL_TIMEOUT_SECONDS
}

impl From<Document> for Deployment {
    fn from(w: Document) -> Deployment {
        let lead = Member {
            function_name: w.function_name,
            alias: w.alias,
            original_version: w.original_version,
            target_version: w.target_version,
            revision_id: w.revision_id,
            alias_last_seen: w.alias_last_seen,
        };
        let members = Members::new(lead, w.train);
        Deployment {
            deployment_id: w.deployment_id,
            members,
            progress: Progress {
                strategy: w.strategy,
                plan: w.plan,
                step_index: w.step_index,
                traffic: w.traffic,
                post_promotion_bake_seconds: w.post_promotion_bake_seconds,
                started_at: w.started_at,
                step_started_at: w.step_started_at,
                wait_seconds: w.wait_seconds,
                alarm_checks: w.alarm_checks,
                write_in_flight: w.write_in_flight,
            },
            watch: Watch {
                alarms: w.alarms,
                check_interval_seconds: w.check_interval_seconds,
            },
            hooks: w.hooks,
            hook_result: w.hook_result.map(|r| HookOutcome::read(Some(&r))),
            gate: Gate {
                steps: w.approval_steps,
                before_promote: w.approval_before_promote,
                timeout_seconds: w.approval_timeout_seconds,
                default: w.approval_default,
                opened_at: w.gate_opened_at,
                announced: w.gate_announced,
                approved_step: w.approved_step,
            },
            analysis: w.analysis.map(|config| AnalysisState {
                config,
                window_from: w.analysis_from,
                last: w.last_analysis,
            }),
            provisioned_concurrency: w.provisioned_concurrency,
            ending: Ending {
                failure: w.failure,
                rolled_back_to: w.rolled_back_to,
                caught: w.caught,
            },
            control: w.control.map(|c| OperatorAnswer::read(&c)),
            decision: w.decision,
        }
    }
}

/// The same document, as written: borrowed from the typed one field for field (no clone of the
/// document on every write), in the same order as [`Document`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentRef<'a> {
    deployment_id: &'a str,
    function_name: &'a str,
    alias: &'a str,
    original_version: &'a str,
    target_version: &'a str,
    strategy: &'a str,
    plan: &'a [Step],
    step_index: usize,
    alarms: &'a [String],
    check_interval_seconds: u32,
    hooks: &'a Hooks,
    post_promotion_bake_seconds: u32,
    revision_id: &'a str,
    traffic: Weight,
    traffic_percent: f64,
    started_at: DateTime<Utc>,
    step_started_at: DateTime<Utc>,
    wait_seconds: u32,
    decision: Decision,
    alias_last_seen: &'a str,
    write_in_flight: &'a str,
    restore_command: String,
    alarm_checks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rolled_back_to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hook_result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caught: Option<&'a Caught>,
    #[serde(skip_serializing_if = "<[usize]>::is_empty")]
    approval_steps: &'a [usize],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    approval_before_promote: bool,
    approval_timeout_seconds: u32,
    approval_default: ApprovalDefault,
    #[serde(skip_serializing_if = "Option::is_none")]
    gate_opened_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gate_announced: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_step: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<&'a Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis_from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_analysis: Option<&'a AnalysisRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    control: Option<Value>,
    train: &'a [Member],
    #[serde(skip_serializing_if = "Option::is_none")]
    provisioned_concurrency: Option<&'a ProvisionedConcurrency>,
}

impl Serialize for Deployment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (lead, train) = self.members.split();
        let (p, g) = (&self.progress, &self.gate);
        let analysis = self.analysis.as_ref();
        DocumentRef {
            deployment_id: &self.deployment_id,
            function_name: &lead.function_name,
            alias: &lead.alias,
            original_version: &lead.original_version,
            target_version: &lead.target_version,
            strategy: &p.strategy,
            plan: &p.plan,
            step_index: p.step_index,
            alarms: &self.watch.alarms,
            check_interval_seconds: self.watch.check_interval_seconds,
            hooks: &self.hooks,
            post_promotion_bake_seconds: p.post_promotion_bake_seconds,
            revision_id: &lead.revision_id,
            traffic: p.traffic,
            traffic_percent: p.traffic.as_percent(),
            started_at: p.started_at,
            step_started_at: p.step_started_at,
            wait_seconds: p.wait_seconds,
            decision: self.decision,
            alias_last_seen: &lead.alias_last_seen,
            write_in_flight: &p.write_in_flight,
            restore_command: self.restore_command(),
            alarm_checks: p.alarm_checks,
            failure: self.ending.failure.as_ref(),
            rolled_back_to: self.ending.rolled_back_to.as_deref(),
            hook_result: self.hook_result.as_ref().map(HookOutcome::to_value),
            caught: self.ending.caught.as_ref(),
            approval_steps: &g.steps,
            approval_before_promote: g.before_promote,
            approval_timeout_seconds: g.timeout_seconds,
            approval_default: g.default,
            gate_opened_at: g.opened_at,
            gate_announced: g.announced.as_ref(),
            approved_step: g.approved_step,
            analysis: analysis.map(|a| &a.config),
            analysis_from: analysis.and_then(|a| a.window_from),
            last_analysis: analysis.and_then(|a| a.last.as_ref()),
            control: self.control.map(OperatorAnswer::to_value),
            train,
            provisioned_concurrency: self.provisioned_concurrency.as_ref(),
        }
        .serialize(serializer)
    }
}
