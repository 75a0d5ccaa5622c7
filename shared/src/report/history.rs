//! A real execution's summary, read from its Step Functions history (`GetExecutionHistory`).

use chrono::{DateTime, Utc};

use super::*;
use crate::domain::{ErrorKind, Failure};
use crate::ports::HistoryEvent;

/// The summary of a real execution from its history, oldest event first.
pub fn from_history(history: &[HistoryEvent]) -> Summary {
    let start = history.first().map_or(DateTime::UNIX_EPOCH, |e| e.at);
    let mut reader = HistoryReader::new(start);
    for event in history {
        reader.read(event);
    }
    reader.finish(history.last().map_or(start, |e| e.at))
}

/// What [`from_history`] has learnt so far.
struct HistoryReader {
    report: SummaryBuilder,
    transitions: u64,
    final_state: String,
    /// `alarmChecks` of the last Check Health seen: a check counts once.
    checks: u32,
    last: Option<Deployment>,
    succeeded: bool,
    error: Option<String>,
    cause: Option<String>,
}

impl HistoryReader {
    fn new(start: DateTime<Utc>) -> Self {
        HistoryReader {
            report: SummaryBuilder::new(start),
            transitions: 0,
            final_state: String::new(),
            checks: 0,
            last: None,
            succeeded: false,
            error: None,
            cause: None,
        }
    }

    fn read(&mut self, e: &HistoryEvent) {
        let state = e.state.as_deref().unwrap_or_default();
        if e.kind.ends_with("StateEntered") {
            self.transitions += 1;
            state.clone_into(&mut self.final_state);
            self.report.state(e.at, state, true);
        }
        if e.kind.ends_with("StateExited") {
            self.report.state(e.at, state, false);
        }
        if e.kind.ends_with("StateExited")
            && let Some(d) = document(e.output.as_deref())
        {
            self.exited(state, e.at, &d);
            self.last = Some(d);
        }
        match e.kind.as_str() {
            "ExecutionSucceeded" => self.succeeded = true,
            "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut" => {
                self.error.clone_from(&e.error);
                self.cause.clone_from(&e.cause);
            }
            _ => {}
        }
    }

    fn exited(&mut self, state: &str, at: DateTime<Utc>, d: &Deployment) {
        if matches!(
            state,
            states::SHIFT_TRAFFIC | states::PROMOTE | states::ROLL_BACK
        ) {
            self.report.traffic(at, d.progress.traffic.as_percent());
        }
        if state == states::CHECK_HEALTH
            && let Some(record) = d.analysis.as_ref().and_then(|a| a.last.as_ref())
        {
            self.report.analysis(record);
        }
        if state == states::CHECK_HEALTH && d.progress.alarm_checks > self.checks {
            self.checks = d.progress.alarm_checks;
            let in_alarm = d.ending.failure.iter().filter(|f| alarm_fired(f));
            let in_alarm = in_alarm.map(|f| f.cause.clone()).collect();
            self.report.alarm_check(at, in_alarm);
        }
    }

    fn finish(self, end: DateTime<Utc>) -> Summary {
        let ending = Ending {
            succeeded: self.succeeded,
            final_state: self.final_state,
            error: self.error,
            cause: self.cause,
            transitions: self.transitions,
            at: end,
        };
        let last = self.last;
        let mut outcome_seen = None;
        let mut summary = self.report.finish(ending, |outcome| {
            outcome_seen = Some(outcome);
            last.as_ref().and_then(|d| FinalAlias::implied(outcome, d))
        });
        if let (Some(d), Some(outcome)) = (&last, outcome_seen) {
            summary.train = TrainAlias::implied(outcome, d);
        }
        summary
    }
}

/// True when a Check Health rolled back because an alarm fired.
fn alarm_fired(failure: &Failure) -> bool {
    failure.error == ErrorKind::AlarmTriggered
}
