//! What a rehearsed plan shows: its outcome, cost, and each wave's regions (`simulate --json`'s
//! `waves`).

use serde::Serialize;
use shifter::domain::cost::usd;
use shifter::domain::waves::{TargetStatus, WavePlan, WavesRun};
use shifter::report::FinalAlias;

use super::WavesWorld;
use crate::asl::{EventKind, Execution, ExecutionStatus, HistoryEvent};

/// A rehearsed plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WavesSummary {
    /// `Succeeded`, `RolledBack`, `Rejected` or `Failed`.
    pub outcome: String,
    /// The plan's error, when it did not succeed.
    pub error: Option<String>,
    /// Its cause.
    pub cause: Option<String>,
    /// Simulated seconds from the start to the plan's end.
    pub simulated_seconds: f64,
    /// The plan's own state transitions.
    pub state_transitions: u64,
    /// Its children's, together.
    pub child_state_transitions: u64,
    /// Both at the Standard workflow price.
    pub estimated_cost_usd: f64,
    /// The plan's history events (of 25,000).
    pub history_events: u64,
    /// Its largest state document, in bytes (of 262,144), and the state.
    pub largest_document_bytes: u64,
    /// Which state.
    pub largest_document_state: String,
    /// One entry per wave.
    pub waves: Vec<WaveReport>,
}

/// One wave.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveReport {
    /// Its name.
    pub name: String,
    /// Its targets.
    pub regions: Vec<RegionReport>,
}

/// One target at the plan's end.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionReport {
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// Seconds after the plan's start its child started (`null`: never started).
    pub started: Option<f64>,
    /// The alias's version when its child started.
    pub start_version: Option<String>,
    /// `pending`, `succeeded`, `failed`, `stopped`, `restored`, `left`, `notRestored`.
    pub outcome: String,
    /// The child's error, or what the abort did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The lead alias at the plan's end.
    pub alias: Option<FinalAlias>,
    /// Seconds after the plan's start it was last changed by the plan (restored, or ended).
    pub ended: Option<f64>,
    /// Traffic on the target version over time, seconds since the plan's start (its child's
    /// timeline; empty for a target that never started).
    pub timeline: Vec<shifter::report::TimelinePoint>,
}

/// The run document a state left, if it is one of the waves function's Tasks.
pub(super) fn run_document(event: &HistoryEvent) -> Option<WavesRun> {
    match &event.kind {
        EventKind::StateExited { name, output }
            if ["Start Waves", "Launch Wave", "Judge Waves", "Abort Plan"]
                .contains(&name.as_str()) =>
        {
            serde_json::from_value(output.clone()).ok()
        }
        _ => None,
    }
}

/// The summary of a finished plan.
pub(super) async fn summarize(
    world: &WavesWorld,
    execution: &Execution,
    last: Option<&WavesRun>,
) -> WavesSummary {
    let outcome = match (execution.status, execution.final_state.as_str()) {
        (ExecutionStatus::Succeeded, _) => "Succeeded",
        (_, "Plan Rolled Back") => "RolledBack",
        (_, "Plan Rejected") => "Rejected",
        (ExecutionStatus::Aborted, _) => "Stopped",
        _ => "Failed",
    };
    let children: u64 = world.children().iter().map(|c| c.transitions).sum();
    let transitions = execution.transitions;
    WavesSummary {
        outcome: outcome.to_owned(),
        error: execution.error.clone(),
        cause: execution.cause.clone(),
        simulated_seconds: world.clock.elapsed_secs(),
        state_transitions: transitions,
        child_state_transitions: children,
        estimated_cost_usd: usd(transitions + children),
        history_events: execution.history_events,
        largest_document_bytes: execution.largest_payload.bytes,
        largest_document_state: execution.largest_payload.state.clone(),
        waves: match last {
            Some(run) => waves_of(world, run).await,
            None => Vec::new(),
        },
    }
}

async fn waves_of(world: &WavesWorld, run: &WavesRun) -> Vec<WaveReport> {
    let names: Vec<String> = WavePlan::parse(&run.plan)
        .map(|p| p.waves.into_iter().map(|w| w.name).collect())
        .unwrap_or_default();
    let start = world.clock.start();
    let seconds =
        |at: chrono::DateTime<chrono::Utc>| (at - start).num_milliseconds() as f64 / 1000.0;
    let mut waves: Vec<WaveReport> = names
        .into_iter()
        .map(|name| WaveReport {
            name,
            regions: Vec::new(),
        })
        .collect();
    for t in &run.targets {
        let alias = match world.region(&t.region, &t.account) {
            Some(r) => r.local.alias_state(&t.function_name, &t.alias).await,
            None => None,
        };
        let report = RegionReport {
            region: t.region.clone(),
            account: t.account.clone(),
            started: t.started.map(seconds),
            start_version: t.start_version.clone(),
            outcome: status_name(t.status).to_owned(),
            cause: t.error.as_ref().map_or(t.cause.clone(), |e| {
                Some(format!("{e}: {}", t.cause.as_deref().unwrap_or("")))
            }),
            alias: alias.map(|a| FinalAlias::from(&a.route)),
            ended: t.ended.map(seconds),
            timeline: timeline_of(world, t),
        };
        if let Some(wave) = waves.get_mut(t.wave) {
            wave.regions.push(report);
        }
    }
    waves
}

/// Traffic on `t`'s target over its child's run, then what the plan's abort did to it.
fn timeline_of(
    world: &WavesWorld,
    t: &shifter::domain::waves::TargetRun,
) -> Vec<shifter::report::TimelinePoint> {
    let Some(arn) = &t.execution_arn else {
        return Vec::new();
    };
    let mut points = world
        .children()
        .into_iter()
        .find(|c| &c.arn == arn)
        .map(|c| c.timeline)
        .unwrap_or_default();
    if let (TargetStatus::Restored, Some(ended)) = (t.status, t.ended) {
        let at = (ended - world.clock.start()).num_milliseconds() as f64 / 1000.0;
        if points
            .last()
            .is_some_and(|p| p.weight > 0.0 && p.seconds <= at)
        {
            points.push(shifter::report::TimelinePoint {
                seconds: at,
                weight: 0.0,
            });
        }
    }
    points
}

/// A target status's name in reports.
pub fn status_name(status: TargetStatus) -> &'static str {
    match status {
        TargetStatus::Pending => "pending",
        TargetStatus::Running => "running",
        TargetStatus::Succeeded => "succeeded",
        TargetStatus::Failed => "failed",
        TargetStatus::Stopped => "stopped",
        TargetStatus::Restored => "restored",
        TargetStatus::Left => "left",
        TargetStatus::NotRestored => "notRestored",
    }
}
