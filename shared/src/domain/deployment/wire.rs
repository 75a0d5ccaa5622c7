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

/// The flat JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    traffic_percent: f64,
    started_at: DateTime<Utc>,
    step_started_at: DateTime<Utc>,
    wait_seconds: u32,
    decision: Decision,
    alias_last_seen: String,
    #[serde(default)]
    write_in_flight: String,
    restore_command: String,
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

impl From<Deployment> for Document {
    fn from(d: Deployment) -> Document {
        let restore_command = d.restore_command();
        let (lead, train) = {
            let (lead, others) = d.members.split();
            (lead.clone(), others.to_vec())
        };
        let (analysis, analysis_from, last_analysis) = match d.analysis {
            Some(a) => (Some(a.config), a.window_from, a.last),
            None => (None, None, None),
        };
        Document {
            deployment_id: d.deployment_id,
            function_name: lead.function_name,
            alias: lead.alias,
            original_version: lead.original_version,
            target_version: lead.target_version,
            strategy: d.progress.strategy,
            plan: d.progress.plan,
            step_index: d.progress.step_index,
            alarms: d.watch.alarms,
            check_interval_seconds: d.watch.check_interval_seconds,
            hooks: d.hooks,
            post_promotion_bake_seconds: d.progress.post_promotion_bake_seconds,
            revision_id: lead.revision_id,
            traffic: d.progress.traffic,
            traffic_percent: d.progress.traffic.as_percent(),
            started_at: d.progress.started_at,
            step_started_at: d.progress.step_started_at,
            wait_seconds: d.progress.wait_seconds,
            decision: d.decision,
            alias_last_seen: lead.alias_last_seen,
            write_in_flight: d.progress.write_in_flight,
            restore_command,
            alarm_checks: d.progress.alarm_checks,
            failure: d.ending.failure,
            rolled_back_to: d.ending.rolled_back_to,
            hook_result: d.hook_result.map(|h| h.to_value()),
            caught: d.ending.caught,
            approval_steps: d.gate.steps,
            approval_before_promote: d.gate.before_promote,
            approval_timeout_seconds: d.gate.timeout_seconds,
            approval_default: d.gate.default,
            gate_opened_at: d.gate.opened_at,
            gate_announced: d.gate.announced,
            approved_step: d.gate.approved_step,
            analysis,
            analysis_from,
            last_analysis,
            control: d.control.map(OperatorAnswer::to_value),
            train,
            provisioned_concurrency: d.provisioned_concurrency,
        }
    }
}
