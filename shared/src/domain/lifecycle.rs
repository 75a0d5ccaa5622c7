//! Lifecycle events: what a deployment tells its subscribers, on the stack's own bus, at each
//! moment the watch function sees (a park, the execution's status change). Pure: the watch
//! function gathers the facts, this module decides which events they make (zero or more), and
//! each event's id is derived from the deployment and the moment, so a retried delivery puts
//! the same id (see docs/events.md).

mod ending;
pub mod metrics;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::deployment::Deployment;

pub use ending::{Ended, Held, at_end, planned_put_calls, planned_puts};

/// The `DetailType` of every lifecycle event.
pub const DETAIL_TYPE: &str = "Traffic Shifter Deployment Status Change";
/// The schema version every event carries (`detail.version`).
pub const SCHEMA_VERSION: &str = "1";
/// EventBridge custom events: USD 1.00 per million (<https://aws.amazon.com/eventbridge/pricing/>).
pub const USD_PER_EVENT: f64 = 1.0 / 1_000_000.0;

/// Where a deployment is, as its subscribers are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The execution started (its input is all that is known yet).
    Started,
    /// A step's weight reached every alias.
    StepShifted,
    /// An approval gate opened.
    AwaitingApproval,
    /// Every alias points at its target with no routing.
    Promoted,
    /// The deployment succeeded.
    Succeeded,
    /// The alias was already on its target; nothing was touched.
    AlreadyCurrent,
    /// Start Deployment refused the input or a pre-flight check; nothing was touched.
    Rejected,
    /// Every alias is back on its original version; the cause says why.
    RolledBack,
    /// An alias could not be restored; the restore command says how to do it by hand.
    RollbackFailed,
    /// Someone else changed an alias; their change was left as is.
    Drift,
    /// The execution ended without its own Roll Back (stopped by hand, timed out, failed
    /// outside a Catch); what the watch function undid is in the cause.
    Stopped,
}

impl Status {
    /// Every status, in the order a deployment can meet them.
    pub const ALL: [Status; 11] = [
        Status::Started,
        Status::StepShifted,
        Status::AwaitingApproval,
        Status::Promoted,
        Status::Succeeded,
        Status::AlreadyCurrent,
        Status::Rejected,
        Status::RolledBack,
        Status::RollbackFailed,
        Status::Drift,
        Status::Stopped,
    ];

    /// The wire name (`STEP_SHIFTED`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Started => "STARTED",
            Status::StepShifted => "STEP_SHIFTED",
            Status::AwaitingApproval => "AWAITING_APPROVAL",
            Status::Promoted => "PROMOTED",
            Status::Succeeded => "SUCCEEDED",
            Status::AlreadyCurrent => "ALREADY_CURRENT",
            Status::Rejected => "REJECTED",
            Status::RolledBack => "ROLLED_BACK",
            Status::RollbackFailed => "ROLLBACK_FAILED",
            Status::Drift => "DRIFT",
            Status::Stopped => "STOPPED",
        }
    }

    /// True for the statuses an execution ends with (each put at most once per deployment).
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            Status::Started | Status::StepShifted | Status::AwaitingApproval | Status::Promoted
        )
    }
}

/// Why a deployment ended as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// `alarm`, `analysis`, `hook`, `operator`, `approvalTimeout`, `provisionedConcurrency`,
    /// `error` (a caught error), `drift`, `rollbackFailed`, `rejected`, `stoppedByHand`,
    /// `timedOut` or `failedOutsideCatch`.
    pub kind: String,
    /// The execution's error name (empty when it has none, as a stop by hand).
    pub error: String,
    /// The execution's cause in words, or what the watch function undid.
    pub message: String,
}

/// One alias of a release train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMember {
    /// Function name or ARN, as the input gave it.
    pub function: String,
    /// The alias.
    pub alias: String,
    /// The version it routed before (absent when not known at that moment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<String>,
    /// The version it moves to (absent when not known: `latest` before Start Deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<String>,
}

/// The `detail` of one lifecycle event (schema version 1, docs/events.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    /// Always [`SCHEMA_VERSION`].
    pub version: String,
    /// `{deploymentId}:{status}`, with `:{step}` for a step or a gate: the same on a retry.
    pub event_id: String,
    /// Where the deployment is.
    pub status: Status,
    /// The execution name.
    pub deployment_id: String,
    /// The execution.
    pub execution_arn: String,
    /// The execution in the Step Functions console.
    pub console_url: String,
    /// The lead alias's function.
    pub function: String,
    /// The lead alias.
    pub alias: String,
    /// The version the lead alias routed before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<String>,
    /// The version the lead alias moves to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<String>,
    /// A release train's every alias (absent for one alias).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<EventMember>,
    /// The strategy as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Percent of traffic on the target now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// The step (index into the plan, from 0; the last is the promotion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// How many steps the plan has, the promotion included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Why it ended as it did (endings other than success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// ROLLBACK_FAILED: the command(s) that restore the aliases by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_command: Option<String>,
}

/// The execution in the Step Functions console (its region read from the ARN).
pub fn console_url(execution_arn: &str) -> String {
    let region = execution_arn.split(':').nth(3).unwrap_or_default();
    format!(
        "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
    )
}

/// What a park waits for, as far as events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A step's bake (right after a shift, or a later piece of it).
    Bake,
    /// An approval gate.
    Approval,
    /// The bake after the promotion.
    PostPromotionBake,
    /// The wait for provisioned concurrency: no event.
    ProvisionedConcurrency,
}

/// The task parked before this one, as the registry had it: its wait and its traffic (percent).
pub type Previous = (Wait, f64);

/// The events of a park: a Bake at a new weight is STEP_SHIFTED, the first piece of a gate is
/// AWAITING_APPROVAL, the first piece of the post-promotion bake is PROMOTED. `previous` is the
/// park before it (`None` when the registry did not say: the event is put, under the same id).
pub fn at_park(
    wait: Wait,
    previous: Option<Previous>,
    d: &Deployment,
    execution_arn: &str,
) -> Vec<LifecycleEvent> {
    let traffic = d.progress.traffic.as_percent();
    let moved = |p: &Previous| (p.1 - traffic).abs() > 1e-9;
    let status = match wait {
        Wait::Bake if traffic > 0.0 && previous.is_none_or(|p| moved(&p)) => Status::StepShifted,
        Wait::Approval if previous.is_none_or(|p| p.0 != Wait::Approval || moved(&p)) => {
            Status::AwaitingApproval
        }
        Wait::PostPromotionBake if previous.is_none_or(|p| p.0 != Wait::PostPromotionBake) => {
            Status::Promoted
        }
        _ => return Vec::new(),
    };
    vec![from_document(status, d, execution_arn)]
}

/// An event about `d` as a park (or a successful ending's output) carries it.
pub fn from_document(status: Status, d: &Deployment, execution_arn: &str) -> LifecycleEvent {
    let lead = d.lead();
    let step = matches!(status, Status::StepShifted | Status::AwaitingApproval)
        .then_some(d.progress.step_index);
    let members = if d.members.is_train() {
        d.members
            .iter()
            .map(|m| EventMember {
                function: m.function_name.clone(),
                alias: m.alias.clone(),
                from_version: Some(m.original_version.clone()),
                to_version: Some(m.target_version.clone()),
            })
            .collect()
    } else {
        Vec::new()
    };
    LifecycleEvent {
        members,
        from_version: Some(lead.original_version.clone()),
        to_version: Some(lead.target_version.clone()),
        strategy: Some(d.progress.strategy.clone()),
        weight: Some(d.progress.traffic.as_percent()),
        step: Some(d.progress.step_index),
        steps: Some(d.progress.plan.len()),
        ..bare(
            status,
            step,
            &d.deployment_id,
            execution_arn,
            (&lead.function_name, &lead.alias),
        )
    }
}

/// An event with its identity only.
fn bare(
    status: Status,
    step: Option<usize>,
    deployment_id: &str,
    execution_arn: &str,
    (function, alias): (&str, &str),
) -> LifecycleEvent {
    let event_id = match step {
        Some(step) => format!("{deployment_id}:{}:{step}", status.name()),
        None => format!("{deployment_id}:{}", status.name()),
    };
    LifecycleEvent {
        version: SCHEMA_VERSION.to_owned(),
        event_id,
        status,
        deployment_id: deployment_id.to_owned(),
        execution_arn: execution_arn.to_owned(),
        console_url: console_url(execution_arn),
        function: function.to_owned(),
        alias: alias.to_owned(),
        from_version: None,
        to_version: None,
        members: Vec::new(),
        strategy: None,
        weight: None,
        step: None,
        steps: None,
        cause: None,
        restore_command: None,
    }
}

/// The aliases an execution input names (`functionName`/`alias`, or each of a train's
/// `targets`), each with its `targetVersion` when it names a version (not `latest`).
pub fn input_members(input: &Value) -> Vec<EventMember> {
    let member = |v: &Value| {
        let text = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(EventMember {
            function: text("functionName")?,
            alias: text("alias")?,
            from_version: None,
            to_version: text("targetVersion").filter(|t| t != "latest"),
        })
    };
    match input.get("targets").and_then(Value::as_array) {
        Some(targets) => targets.iter().filter_map(member).collect(),
        None => member(input).into_iter().collect(),
    }
}

/// An event read from the execution input alone (STARTED, and endings without an output).
fn from_input(
    status: Status,
    deployment_id: &str,
    execution_arn: &str,
    input: &Value,
) -> LifecycleEvent {
    let mut members = input_members(input);
    let lead = members.first().cloned().unwrap_or(EventMember {
        function: String::new(),
        alias: String::new(),
        from_version: None,
        to_version: None,
    });
    if members.len() < 2 {
        members.clear();
    }
    let strategy = input.get("strategy").and_then(Value::as_str);
    let steps = input.get("steps").and_then(Value::as_array);
    LifecycleEvent {
        to_version: lead.to_version.clone(),
        members,
        strategy: strategy
            .map(str::to_owned)
            .or_else(|| steps.map(|_| "explicit steps".to_owned())),
        ..bare(
            status,
            None,
            deployment_id,
            execution_arn,
            (&lead.function, &lead.alias),
        )
    }
}

/// STARTED, from the RUNNING status change: what the input says (Start Deployment has not
/// read the alias yet, so no `fromVersion`).
pub fn started(deployment_id: &str, execution_arn: &str, input: &Value) -> LifecycleEvent {
    from_input(Status::Started, deployment_id, execution_arn, input)
}

#[cfg(test)]
mod tests;
