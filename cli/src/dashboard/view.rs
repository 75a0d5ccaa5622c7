//! What the dashboard shows, as JSON: the list of executions, and one deployment read from its
//! history with the code `shifter watch` follows it with (the same summary, lines and progress).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shifter::domain::Deployment;
use shifter::ports::{Execution, ExecutionStatus, Executions, HistoryEvent, TaskCallbacks};
use shifter::report::{self, Summary, document};
use shifter::states::ParkKind;

use crate::error::CliError;
use crate::operate::{describe, progress, waiting_task};

/// Where the dashboard reads executions and answers their parked tasks: Step Functions, or the
/// demo's simulated account.
pub struct Source {
    /// Executions of the state machine.
    pub executions: Arc<dyn Executions>,
    /// What answers a parked task's token.
    pub tasks: Arc<dyn TaskCallbacks>,
    /// The state machine whose executions are listed.
    pub state_machine: String,
    /// True for `--demo`: times are on the simulated clock.
    pub simulated: bool,
}

/// Executions listed at most.
pub const LISTED: usize = 50;

impl Source {
    /// The ARN of execution `id` (its name) of the state machine.
    pub fn arn(&self, id: &str) -> String {
        let prefix = self
            .state_machine
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{prefix}:{id}")
    }

    /// `GET /api/deployments`: the state machine's executions, newest first.
    pub async fn list(&self) -> Result<Value, CliError> {
        let listed = self
            .executions
            .list_executions(&self.state_machine, LISTED)
            .await?;
        let deployments: Vec<Value> = listed.iter().map(listed_item).collect();
        Ok(json!({
            "stateMachine": self.state_machine,
            "simulated": self.simulated,
            "deployments": deployments,
        }))
    }

    /// `GET /api/deployments/{id}`: one deployment as far as its history goes.
    pub async fn one(&self, id: &str) -> Result<Value, CliError> {
        let arn = self.arn(id);
        let execution = self.executions.describe_execution(&arn).await?;
        let history = self.executions.execution_history(&arn).await?;
        Ok(deployment_view(id, &execution, &history))
    }

    /// The summary of execution `id`, when it started, and whether it is still running (its
    /// history has no ending yet), for the chart.
    pub async fn summary(&self, id: &str) -> Result<(Summary, DateTime<Utc>, bool), CliError> {
        let history = self.executions.execution_history(&self.arn(id)).await?;
        let started = history.first().map_or_else(Utc::now, |e| e.at);
        let ended = history.iter().any(|e| {
            matches!(
                e.kind.as_str(),
                "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut"
            )
        });
        Ok((report::from_history(&history), started, !ended))
    }
}

fn status_name(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Running => "RUNNING",
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::TimedOut => "TIMED_OUT",
        ExecutionStatus::Aborted => "ABORTED",
        ExecutionStatus::PendingRedrive => "PENDING_REDRIVE",
    }
}

fn listed_item(e: &Execution) -> Value {
    let id = e.arn.rsplit(':').next().unwrap_or_default();
    json!({
        "id": id,
        "arn": e.arn,
        "name": e.name,
        "status": status_name(e.status),
        "startedAt": e.started,
        "stoppedAt": e.stopped,
    })
}

/// The latest deployment document in the history (a state's input or output).
fn latest_document(history: &[HistoryEvent]) -> Option<Deployment> {
    history.iter().rev().find_map(|e| {
        let text = if e.kind.ends_with("StateExited") {
            e.output.as_deref()
        } else if e.kind.ends_with("StateEntered") {
            e.input.as_deref()
        } else {
            None
        };
        document(text)
    })
}

/// One deployment: what it is, where it is, what it did, and what an operator may answer.
pub fn deployment_view(id: &str, execution: &Execution, history: &[HistoryEvent]) -> Value {
    let start = history.first().map_or(execution.started, |e| e.at);
    let now = execution
        .stopped
        .unwrap_or_else(|| history.last().map_or(start, |e| e.at));
    let summary = report::from_history(history);
    let (observed, doing) = progress(history, now);
    let doc = latest_document(history);
    let running = execution.status == ExecutionStatus::Running;
    let waiting = waiting_task(history).filter(|_| running);
    let park = waiting.as_ref().and_then(|t| t.park);
    let events: Vec<Value> = history
        .iter()
        .filter_map(|e| {
            let line = describe(e, start)?;
            Some(json!({"id": e.id, "seconds": (e.at - start).num_milliseconds() as f64 / 1000.0, "line": line}))
        })
        .collect();
    json!({
        "id": id,
        "arn": execution.arn,
        "status": status_name(execution.status),
        "startedAt": execution.started,
        "stoppedAt": execution.stopped,
        "doing": if running { doing } else { format!("{:?}", summary.outcome) },
        "observedWeight": observed,
        "deployment": doc.as_ref().map(describe_document),
        "waiting": waiting.as_ref().map(|t| json!({"state": t.state, "park": t.park.map(ParkKind::wire_name)})),
        "actions": {
            "approve": park == Some(ParkKind::Approval),
            "promote": park.is_some(),
            "abort": park.is_some(),
        },
        "summary": summary,
        "events": events,
    })
}

/// The deployment document's parts the page shows: target, steps, gates, hooks, alarms,
/// analysis thresholds.
fn describe_document(d: &Deployment) -> Value {
    let lead = d.lead();
    let at = d.progress.step_index;
    let steps: Vec<Value> = d
        .progress
        .plan
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "weight": s.weight.as_percent(),
                "bakeSeconds": s.bake_seconds,
                "approval": d.gate.steps.contains(&i),
                "current": i == at,
                "done": i < at,
            })
        })
        .collect();
    json!({
        "function": lead.function_name,
        "alias": lead.alias,
        "targetVersion": lead.target_version,
        "strategy": d.progress.strategy,
        "configuredWeight": d.progress.plan.get(at).map(|s| s.weight.as_percent()),
        "steps": steps,
        "approvalBeforePromote": d.gate.before_promote,
        "gateOpenedAt": d.gate.opened_at,
        "alarms": d.watch.alarms,
        "checkIntervalSeconds": d.watch.check_interval_seconds,
        "hooks": d.hooks,
        "analysis": d.analysis.as_ref().map(|a| &a.config),
    })
}
