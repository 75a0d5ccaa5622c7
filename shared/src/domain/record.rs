//! The record: one item per deployment that outlives it (docs/history.md). Who or what started
//! it, the aliases, from → to, the strategy, start and end, the outcome and its cause, and the
//! timeline of weights. Pure: every moment the watch function already handles makes one
//! lifecycle event ([`super::lifecycle`]); [`update_of`] turns that event into one
//! [`RecordUpdate`], and [`DeploymentRecord::apply`] is what applying it means — the rule the
//! fake follows and the DynamoDB adapter's one conditional UpdateItem expresses.
//!
//! Idempotent across EventBridge's at-least-once delivery: each update carries its event id as
//! the key of its timeline mark, and an update whose key is already recorded changes nothing,
//! so a retried delivery never appends a weight twice. Updates may arrive out of order (a late
//! RUNNING status change after a park): a fact read from a deployment document or from the
//! alias's lock is *firm* and overwrites, a fact read from the execution input alone is *weak*
//! and only fills a gap, and the timeline is kept in time order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alias::function_short_name;
use super::deployment::Deployment;
use super::lifecycle::{Cause, EventMember, LifecycleEvent, Status};
use super::request::MAX_STARTED_BY_CHARS;

/// The execution-name prefix of the CodePipeline action's executions (`codepipeline-<job id>`).
pub const PIPELINE_PREFIX: &str = "codepipeline-";
/// The execution-name prefix of `shifter deploy`'s executions.
pub const CLI_PREFIX: &str = "shifter-";
/// Default days a record is kept after its last moment (`RecordRetentionDays`).
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

/// Who or what started a deployment, as far as the execution says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StarterKind {
    /// The CodePipeline action (the execution is named `codepipeline-<job id>`).
    Pipeline,
    /// A schedule (the input's `startedBy` begins with `schedule`).
    Schedule,
    /// `shifter deploy` (its `startedBy`, or an execution named `shifter-…`).
    Cli,
    /// The input's own `startedBy`, as written.
    Declared,
    /// Nothing says: the console or any API client. Step Functions' status-change event and
    /// DescribeExecution carry no principal; CloudTrail's StartExecution record does.
    ConsoleOrApi,
}

/// Who or what started a deployment: the kind and, for people, the detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedBy {
    /// The kind of starter.
    pub kind: StarterKind,
    /// The pipeline job, the schedule, the `startedBy` text, or where to look.
    pub detail: String,
}

/// Who started execution `deployment_id` with `input`: the CodePipeline action's name first
/// (it names the job exactly), then the input's `startedBy`, then `shifter deploy`'s name, else
/// the console or an API client.
pub fn started_by(deployment_id: &str, input: &Value) -> StartedBy {
    if let Some(job) = deployment_id.strip_prefix(PIPELINE_PREFIX) {
        return StartedBy {
            kind: StarterKind::Pipeline,
            detail: format!("CodePipeline job {job}"),
        };
    }
    let declared = input
        .get("startedBy")
        .and_then(Value::as_str)
        .map(|s| super::text::cut_chars(s.trim(), MAX_STARTED_BY_CHARS))
        .filter(|s| !s.is_empty());
    if let Some(text) = declared {
        let lower = text.to_ascii_lowercase();
        let kind = if lower.starts_with("schedule") {
            StarterKind::Schedule
        } else if lower.starts_with("shifter") {
            StarterKind::Cli
        } else {
            StarterKind::Declared
        };
        return StartedBy { kind, detail: text };
    }
    if deployment_id.starts_with(CLI_PREFIX) {
        return StartedBy {
            kind: StarterKind::Cli,
            detail: "shifter deploy".to_owned(),
        };
    }
    StartedBy {
        kind: StarterKind::ConsoleOrApi,
        detail: "console or API (CloudTrail's StartExecution record names the principal)"
            .to_owned(),
    }
}

/// One moment on a deployment's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    /// The lifecycle event's id: the same on every delivery of the same moment.
    pub key: String,
    /// What happened.
    pub status: Status,
    /// When.
    pub at: DateTime<Utc>,
    /// Percent of traffic on the target then, when the moment has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// The step (index into the plan, from 0), for a step or a gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
}

/// Facts about a deployment one moment knows; `None` where it does not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The execution.
    pub execution_arn: Option<String>,
    /// A release train's every alias.
    pub members: Option<Vec<EventMember>>,
    /// The version the lead alias routed before.
    pub from_version: Option<String>,
    /// The version it moves to.
    pub to_version: Option<String>,
    /// The strategy as written.
    pub strategy: Option<String>,
    /// Who or what started it.
    pub started_by: Option<StartedBy>,
    /// When the execution started.
    pub started_at: Option<DateTime<Utc>>,
}

/// How a deployment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// The terminal status.
    pub outcome: Status,
    /// When the execution stopped.
    pub ended_at: DateTime<Utc>,
    /// Why, for endings other than success.
    pub cause: Option<Cause>,
    /// ROLLBACK_FAILED: the command(s) that restore the aliases by hand.
    pub restore_command: Option<String>,
}

/// What one moment adds to a deployment's record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpdate {
    /// The lead alias's function, by name (an ARN is shortened: one record whichever spelling).
    pub function: String,
    /// The lead alias.
    pub alias: String,
    /// The execution name.
    pub deployment_id: String,
    /// Facts that overwrite (read from a deployment document or the alias's lock).
    pub firm: Facts,
    /// Facts that only fill a gap (read from the execution input alone).
    pub weak: Facts,
    /// The moment, keyed by its event id.
    pub mark: Mark,
    /// The ending, when the moment is one.
    pub ending: Option<Ending>,
}

/// Where a moment's facts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The execution input only (STARTED, REJECTED, an ending whose lock was already gone).
    Input,
    /// The input, with the versions from the alias's lock (an ending without an output).
    InputAndLock,
    /// A deployment document (a park, a success's output).
    Document,
}

/// The update of one lifecycle event, happening `at`, the execution having started at
/// `started_at` (`Some` from the status change's `startDate`, which is exact: firm; else the
/// document's, which is seconds late: weak). `None` when the event names no alias (an input
/// too broken to say whose deployment it was).
pub fn update_of(
    event: &LifecycleEvent,
    source: Source,
    at: DateTime<Utc>,
    started: (Option<DateTime<Utc>>, Option<StartedBy>),
) -> Option<RecordUpdate> {
    if event.function.is_empty() || event.alias.is_empty() {
        return None;
    }
    let (started_at, started_by) = started;
    let versions = Facts {
        from_version: event.from_version.clone(),
        to_version: event.to_version.clone(),
        ..Facts::default()
    };
    let rest = Facts {
        execution_arn: Some(event.execution_arn.clone()).filter(|a| !a.is_empty()),
        members: Some(event.members.clone()).filter(|m| !m.is_empty()),
        strategy: event.strategy.clone(),
        ..Facts::default()
    };
    let all = Facts {
        from_version: versions.from_version.clone(),
        to_version: versions.to_version.clone(),
        ..rest.clone()
    };
    let (mut firm, mut weak) = match source {
        Source::Input => (Facts::default(), all),
        Source::InputAndLock => (versions, rest),
        Source::Document => (all, Facts::default()),
    };
    weak.started_by = started_by;
    match started_at {
        Some(t) => firm.started_at = Some(t),
        None => weak.started_at = Some(at),
    }
    let ending = event.status.is_terminal().then(|| Ending {
        outcome: event.status,
        ended_at: at,
        cause: event.cause.clone(),
        restore_command: event.restore_command.clone(),
    });
    let partial = matches!(event.status, Status::StepShifted | Status::AwaitingApproval);
    Some(RecordUpdate {
        function: function_short_name(&event.function).to_owned(),
        alias: event.alias.clone(),
        deployment_id: event.deployment_id.clone(),
        firm,
        weak,
        mark: Mark {
            key: event.event_id.clone(),
            status: event.status,
            at,
            weight: event.weight,
            step: event.step.filter(|_| partial),
        },
        ending,
    })
}

/// When a park's moment happened, from its document: a step's weight landed when its bake
/// began (the shift); a gate opened when it says; the promotion landed when its step began.
pub fn park_time(status: Status, d: &Deployment) -> DateTime<Utc> {
    match status {
        Status::AwaitingApproval => d.gate.opened_at.unwrap_or(d.progress.step_started_at),
        _ => d.progress.step_started_at,
    }
}

/// A deployment's record, as stored and as `shifter history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// The execution name.
    pub deployment_id: String,
    /// The lead alias's function, by name.
    pub function: String,
    /// The lead alias.
    pub alias: String,
    /// The execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// A release train's every alias (empty for one alias).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<EventMember>,
    /// The version the lead alias routed before (absent when nothing was written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<String>,
    /// The version it moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<String>,
    /// The strategy as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Who or what started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<StartedBy>,
    /// When the execution started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended (absent while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Its terminal status (absent while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Status>,
    /// Why it ended so, for endings other than success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// ROLLBACK_FAILED: the command(s) that restore the aliases by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_command: Option<String>,
    /// Its moments, in time order.
    #[serde(default)]
    pub timeline: Vec<Mark>,
    /// When the store may delete it (epoch seconds): the last moment plus the retention.
    pub expires_at: i64,
}

impl DeploymentRecord {
    /// An empty record of deployment `deployment_id` of `function`:`alias`.
    pub fn new(function: &str, alias: &str, deployment_id: &str) -> Self {
        DeploymentRecord {
            deployment_id: deployment_id.to_owned(),
            function: function_short_name(function).to_owned(),
            alias: alias.to_owned(),
            execution_arn: None,
            members: Vec::new(),
            from_version: None,
            to_version: None,
            strategy: None,
            started_by: None,
            started_at: None,
            ended_at: None,
            outcome: None,
            cause: None,
            restore_command: None,
            timeline: Vec::new(),
            expires_at: 0,
        }
    }

    /// Applies `u`, kept `retention_seconds` after its moment; false (and nothing changed) when
    /// its moment is already recorded.
    pub fn apply(&mut self, u: &RecordUpdate, retention_seconds: i64) -> bool {
        if self.timeline.iter().any(|m| m.key == u.mark.key) {
            return false;
        }
        self.take(&u.weak, false);
        self.take(&u.firm, true);
        if let Some(end) = &u.ending {
            self.outcome = Some(end.outcome);
            self.ended_at = Some(end.ended_at);
            set(&mut self.cause, end.cause.clone(), true);
            set(&mut self.restore_command, end.restore_command.clone(), true);
        }
        let at = self.timeline.partition_point(|m| m.at <= u.mark.at);
        self.timeline.insert(at, u.mark.clone());
        self.expires_at = u.mark.at.timestamp() + retention_seconds;
        true
    }

    fn take(&mut self, f: &Facts, firm: bool) {
        set(&mut self.execution_arn, f.execution_arn.clone(), firm);
        if let Some(members) = &f.members
            && (firm || self.members.is_empty())
        {
            self.members.clone_from(members);
        }
        set(&mut self.from_version, f.from_version.clone(), firm);
        set(&mut self.to_version, f.to_version.clone(), firm);
        set(&mut self.strategy, f.strategy.clone(), firm);
        set(&mut self.started_by, f.started_by.clone(), firm);
        set(&mut self.started_at, f.started_at, firm);
    }

    /// How long it ran, once ended.
    pub fn duration(&self) -> Option<chrono::Duration> {
        Some(self.ended_at? - self.started_at?)
    }

    /// The traffic on the target at each moment that moved it, in time order (percent).
    pub fn weights(&self) -> Vec<(DateTime<Utc>, f64)> {
        self.timeline
            .iter()
            .filter(|m| matches!(m.status, Status::StepShifted | Status::Promoted))
            .filter_map(|m| {
                let full = (m.status == Status::Promoted).then_some(100.0);
                Some((m.at, m.weight.or(full)?))
            })
            .collect()
    }
}

/// A firm value overwrites; a weak one only fills a gap.
fn set<T>(slot: &mut Option<T>, value: Option<T>, firm: bool) {
    if let Some(v) = value
        && (firm || slot.is_none())
    {
        *slot = Some(v);
    }
}

/// The records of `records` newest first (by start; one not yet known to have started last).
pub fn newest_first(records: &mut [DeploymentRecord]) {
    records.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| b.deployment_id.cmp(&a.deployment_id))
    });
}

#[cfg(test)]
mod tests;
