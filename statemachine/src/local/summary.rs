//! The summary of a local run, from what really happened in the simulated account: every alias
//! write the deployment made (also those whose answer was lost) and every alarm read.

use serde::Deserialize;
use shifter::domain::Deployment;
use shifter::domain::deployment::AnalysisRecord;
use shifter::ports::{AlarmState, Clock};
use shifter::report::{BusEvent, Ending, FinalAlias, Summary, SummaryBuilder, TrainAlias};
use shifter::states::START_DEPLOYMENT;

use super::account::LocalAccount;
use crate::asl::{EventKind, Execution, ExecutionStatus, HistoryEvent};

/// The summary of `execution`, which deployed `function`'s `alias` in `account`.
pub async fn summarize(
    account: &LocalAccount,
    execution: &Execution,
    planned: Option<&Deployment>,
    analyses: &[AnalysisRecord],
    (function, alias): (&str, &str),
) -> Summary {
    let start = account.clock.start();
    let mut report = SummaryBuilder::new(start);
    for record in analyses {
        report.analysis(record);
    }
    if let Some(target) = target_version(execution, planned) {
        let writes = account.deployment_writes(function, alias);
        for (at, route) in writes.into_iter().filter(|(at, _)| *at >= start) {
            report.traffic(at, route.weight_on(&target).as_percent());
        }
    }
    waits_and_alarms(&mut report, account, execution, planned);
    for read in account.alarms.reads().into_iter().filter(|r| r.at >= start) {
        let in_alarm = read
            .states
            .into_iter()
            .filter(|(_, s)| *s == AlarmState::Alarm);
        report.alarm_check(read.at, in_alarm.map(|(name, _)| name).collect());
    }
    let final_alias = account
        .alias_state(function, alias)
        .await
        .map(|a| FinalAlias::from(&a.route));
    let train = train_aliases(account, planned).await;
    let ending = Ending {
        succeeded: execution.status == ExecutionStatus::Succeeded,
        final_state: execution.final_state.clone(),
        error: execution.error.clone(),
        cause: execution.cause.clone(),
        transitions: execution.transitions,
        at: account.clock.now(),
    };
    let mut summary = report.finish(ending, |_| final_alias);
    summary.train = train;
    summary.events = account
        .events
        .events()
        .into_iter()
        .filter(|e| e.at >= start)
        .map(|e| BusEvent {
            seconds: (e.at - start).as_seconds_f64(),
            detail_type: e.detail_type,
            detail: e.detail,
        })
        .collect();
    let short = shifter::domain::alias::function_short_name(function);
    summary.record = account.records.records().into_iter().find(|r| {
        r.function == short && r.alias == alias && r.started_at.is_some_and(|t| t >= start)
    });
    summary
}

/// The run's wait states entered and left, and the moments its watched alarms went into ALARM
/// (the account's scripted changes, as CloudWatch sends them to EventBridge).
fn waits_and_alarms(
    report: &mut SummaryBuilder,
    account: &LocalAccount,
    execution: &Execution,
    planned: Option<&Deployment>,
) {
    let start = account.clock.start();
    let at = |seconds: f64| start + chrono::TimeDelta::milliseconds((seconds * 1000.0) as i64);
    for event in &execution.events {
        match &event.kind {
            EventKind::StateEntered { name, .. } => report.state(at(event.at_seconds), name, true),
            EventKind::StateExited { name, .. } => report.state(at(event.at_seconds), name, false),
            _ => {}
        }
    }
    let watched = planned
        .map(|d| d.watch.alarms.as_slice())
        .unwrap_or_default();
    for (when, alarm) in account
        .alarms
        .changes_into_alarm(start, account.clock.now())
    {
        if watched.contains(&alarm) {
            report.alarm_changed(when, &alarm);
        }
    }
}

/// Every alias of a release train as the account has it now (empty for one alias, which the
/// summary's own `alias` shows).
async fn train_aliases(account: &LocalAccount, planned: Option<&Deployment>) -> Vec<TrainAlias> {
    let Some(planned) = planned.filter(|d| d.members.is_train()) else {
        return Vec::new();
    };
    let mut train = Vec::new();
    for member in planned.members.iter().cloned() {
        let ended = account
            .alias_state(&member.function_name, &member.alias)
            .await
            .map(|a| FinalAlias::from(&a.route));
        train.push(TrainAlias {
            function: member.function_name,
            alias: member.alias,
            from_version: member.original_version,
            to_version: member.target_version,
            ended,
        });
    }
    train
}

/// The version the deployment moved traffic to: from its final document, else as Start
/// Deployment first set it.
fn target_version(execution: &Execution, planned: Option<&Deployment>) -> Option<String> {
    let last = execution
        .output
        .as_ref()
        .and_then(|o| Deployment::deserialize(o).ok());
    last.or_else(|| planned.cloned())
        .map(|d| d.lead().target_version.clone())
}

/// The analysis Check Health recorded, when `event` is its exit and it made one.
pub(super) fn analysis(event: &HistoryEvent) -> Option<AnalysisRecord> {
    match &event.kind {
        EventKind::StateExited { name, output } if name == shifter::states::CHECK_HEALTH => {
            AnalysisRecord::deserialize(output.get("lastAnalysis")?).ok()
        }
        _ => None,
    }
}

/// The document Start Deployment produced, when `event` is its exit.
pub(super) fn planned(event: &HistoryEvent) -> Option<Deployment> {
    match &event.kind {
        EventKind::StateExited { name, output } if name == START_DEPLOYMENT => {
            Deployment::deserialize(output).ok()
        }
        _ => None,
    }
}
