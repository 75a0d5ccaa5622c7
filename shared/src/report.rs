//! The summary of one deployment (`shifter simulate --json`, `shifter watch --json`), built the
//! same way whether the execution ran in the local runner or on Step Functions: one set of
//! types, one outcome classification, one builder.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{AliasRoute, Deployment};
use crate::states;

mod history;
mod marks;
pub use history::from_history;
pub use marks::{AlarmEvent, Wait, WaitKind, alarm_names};

/// How a deployment ended, in the words of `shifter simulate --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// All traffic on the target.
    Succeeded,
    /// The alias was already on the target; nothing was touched.
    AlreadyCurrent,
    /// Restored to the original version.
    RolledBack,
    /// Refused before anything changed.
    Rejected,
    /// Stopped without restoring: someone else changed the alias, or the rollback failed.
    Stopped,
}

impl Outcome {
    /// The outcome of an execution that succeeded (or not) after entering `final_state` last.
    pub fn classify(succeeded: bool, final_state: &str) -> Outcome {
        match (succeeded, final_state) {
            (true, states::ALREADY_CURRENT) => Outcome::AlreadyCurrent,
            (true, _) => Outcome::Succeeded,
            (false, states::DEPLOYMENT_REJECTED) => Outcome::Rejected,
            (false, states::DEPLOYMENT_ROLLED_BACK) => Outcome::RolledBack,
            (false, _) => Outcome::Stopped,
        }
    }

    /// True when the alias ends on the target (the commands exit 0 only then).
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Succeeded | Outcome::AlreadyCurrent)
    }
}

/// One change of the traffic on the target version.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimelinePoint {
    /// Seconds since the start.
    pub seconds: f64,
    /// Percent of traffic on the target version.
    pub weight: f64,
}

/// An alarm check made during the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmCheck {
    /// Seconds since the start.
    pub seconds: f64,
    /// What was in ALARM at that moment (alarm names; a real history only tells the cause).
    pub in_alarm: Vec<String>,
}

/// The alias at the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalAlias {
    /// `FunctionVersion`.
    pub version: String,
    /// `RoutingConfig.AdditionalVersionWeights` as Lambda would report it.
    pub additional_version_weights: BTreeMap<String, f64>,
}

impl From<&AliasRoute> for FinalAlias {
    fn from(route: &AliasRoute) -> Self {
        FinalAlias {
            version: route.version.clone(),
            additional_version_weights: route
                .additional
                .iter()
                .map(|a| (a.version.clone(), a.weight.as_fraction()))
                .collect(),
        }
    }
}

impl FinalAlias {
    /// Where `outcome` leaves the alias of `last`, the last state document: the target after a
    /// success, the snapshot after a rollback, unknown otherwise.
    pub fn implied(outcome: Outcome, last: &Deployment) -> Option<FinalAlias> {
        let lead = last.lead();
        FinalAlias::ended_on(outcome, &lead.original_version, &lead.target_version)
    }

    /// An alias moved from `original` to `target` as `outcome` leaves it: all traffic on the
    /// target after a success, on the snapshot after a rollback, unknown otherwise.
    fn ended_on(outcome: Outcome, original: &str, target: &str) -> Option<FinalAlias> {
        let version = match outcome {
            Outcome::Succeeded | Outcome::AlreadyCurrent => target,
            Outcome::RolledBack => original,
            Outcome::Rejected | Outcome::Stopped => return None,
        };
        Some(FinalAlias::from(&AliasRoute::single(version)))
    }

    /// `version 42 (no routing)`, `version 41 (routing {"42": 0.1})`.
    pub fn describe(&self) -> String {
        if self.additional_version_weights.is_empty() {
            format!("version {} (no routing)", self.version)
        } else {
            format!(
                "version {} (routing {:?})",
                self.version, self.additional_version_weights
            )
        }
    }
}

/// The summary of one deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// How it ended.
    pub outcome: Outcome,
    /// The execution's error name, when it failed.
    pub error: Option<String>,
    /// The execution's cause, when it failed.
    pub cause: Option<String>,
    /// The alias at the end.
    pub alias: Option<FinalAlias>,
    /// States entered (plus retries, where the engine reports them).
    pub state_transitions: u64,
    /// Seconds from start to end.
    pub simulated_seconds: f64,
    /// Traffic on the target over time, one entry per change.
    pub timeline: Vec<TimelinePoint>,
    /// Every alarm check: locally every DescribeAlarms call (Start Deployment's pre-flight read
    /// included); from a real history, every check Check Health recorded.
    pub alarm_checks: Vec<AlarmCheck>,
    /// The state the execution ended in.
    pub final_state: String,
    /// Estimated Step Functions cost in USD.
    pub estimated_cost_usd: f64,
    /// Every canary analysis (absent without an `analysis` block).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<AnalysisPoint>,
    /// A release train's every alias, where it started and where it ended (absent for a
    /// deployment of one alias; `alias` and `timeline` are the first alias's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub train: Vec<TrainAlias>,
    /// What the watch function did with the aliases an execution that ended without its own
    /// Roll Back left behind (stopped by hand, timed out, failed outside a Catch).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undone: Vec<String>,
    /// The lifecycle events the deployment put on the stack's bus, in order (docs/events.md);
    /// absent when none was seen (a summary read from an execution history).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<BusEvent>,
    /// The stretches spent at an approval gate, in a hook or waiting for provisioned
    /// concurrency, in order (absent when there were none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits: Vec<Wait>,
    /// When each watched alarm went into ALARM (absent when none did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms_fired: Vec<AlarmEvent>,
    /// The record the deployment left (docs/history.md); absent when none was seen (a summary
    /// read from an execution history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<crate::domain::record::DeploymentRecord>,
}

/// One event put on the stack's bus, as `simulate --json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusEvent {
    /// Seconds from the start of the deployment.
    pub seconds: f64,
    /// The event's `DetailType`.
    pub detail_type: String,
    /// The event's `Detail`.
    pub detail: crate::domain::lifecycle::LifecycleEvent,
}

impl TrainAlias {
    /// A release train's aliases as `outcome` leaves them, from `last`, the last state
    /// document (empty for one alias).
    pub fn implied(outcome: Outcome, last: &Deployment) -> Vec<TrainAlias> {
        // One alias is the summary's own `alias`; a train lists every member.
        if !last.members.is_train() {
            return Vec::new();
        }
        last.members
            .iter()
            .cloned()
            .map(|m| {
                let ended = FinalAlias::ended_on(outcome, &m.original_version, &m.target_version);
                TrainAlias {
                    ended,
                    function: m.function_name,
                    alias: m.alias,
                    from_version: m.original_version,
                    to_version: m.target_version,
                }
            })
            .collect()
    }
}

/// One alias of a release train in a summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainAlias {
    /// Function name or ARN, as the input gave it.
    pub function: String,
    /// The alias.
    pub alias: String,
    /// The version it routed all traffic to before.
    pub from_version: String,
    /// The version the train moved it to.
    pub to_version: String,
    /// The alias at the end, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<FinalAlias>,
}

/// One canary analysis: both versions' figures over its window, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisPoint {
    /// Seconds since the start, at the end of the window.
    pub seconds: f64,
    /// The new version's figures.
    pub new: crate::domain::analysis::VersionFigures,
    /// The old version's figures.
    pub old: crate::domain::analysis::VersionFigures,
    /// `healthy`, `tooLittleTraffic` or `failed`.
    pub verdict: String,
}

/// How an execution ended, as its engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    /// It succeeded.
    pub succeeded: bool,
    /// The last state entered.
    pub final_state: String,
    /// The error name, when it failed.
    pub error: Option<String>,
    /// The cause, when it failed.
    pub cause: Option<String>,
    /// State transitions billed.
    pub transitions: u64,
    /// When it ended.
    pub at: DateTime<Utc>,
}

/// Collects a deployment's traffic changes and alarm checks as they are observed, then
/// classifies how it ended.
#[derive(Debug, Clone)]
pub struct SummaryBuilder {
    start: DateTime<Utc>,
    timeline: Vec<TimelinePoint>,
    alarm_checks: Vec<AlarmCheck>,
    analyses: Vec<AnalysisPoint>,
    waits: Vec<Wait>,
    /// The wait entered and not yet left, and when.
    waiting: Option<(WaitKind, f64)>,
    /// A state other than Check Health was entered since the last wait ended.
    moved_on: bool,
    alarms_fired: Vec<AlarmEvent>,
}

impl SummaryBuilder {
    /// A deployment that started at `start` with no traffic on the target.
    pub fn new(start: DateTime<Utc>) -> Self {
        SummaryBuilder {
            start,
            timeline: vec![TimelinePoint {
                seconds: 0.0,
                weight: 0.0,
            }],
            alarm_checks: Vec::new(),
            analyses: Vec::new(),
            waits: Vec::new(),
            waiting: None,
            moved_on: true,
            alarms_fired: Vec::new(),
        }
    }

    /// State `name` was entered (`entered`) or left at `at`: a wait state's stretch begins or
    /// ends. A gate or a provisioned-concurrency wait parks again after each alarm check (Check
    /// Health, then the same wait): re-entered before the deployment moved on, it is one wait.
    pub fn state(&mut self, at: DateTime<Utc>, name: &str, entered: bool) {
        let seconds = self.seconds(at);
        let Some(kind) = WaitKind::of_state(name) else {
            if entered && name != states::CHECK_HEALTH && states::ALL.contains(&name) {
                self.moved_on = true;
            }
            return;
        };
        match self.waiting.take() {
            Some((open, from)) if !entered && open == kind => {
                self.waits.push(Wait {
                    kind,
                    from,
                    to: seconds,
                });
            }
            _ if entered => {
                let again = !self.moved_on && self.waits.last().is_some_and(|w| w.kind == kind);
                let from = match self.waits.pop() {
                    Some(last) if again => last.from,
                    last => {
                        self.waits.extend(last);
                        seconds
                    }
                };
                self.waiting = Some((kind, from));
                self.moved_on = false;
            }
            other => self.waiting = other,
        }
    }

    /// Alarm `alarm` went into ALARM at `at` (when the runner knows the moment; otherwise the
    /// summary takes the first alarm check that found it).
    pub fn alarm_changed(&mut self, at: DateTime<Utc>, alarm: &str) {
        self.alarms_fired.push(AlarmEvent {
            seconds: self.seconds(at),
            alarm: alarm.to_owned(),
        });
    }

    /// A canary analysis Check Health recorded (counted once, however often the document that
    /// carries it is seen).
    pub fn analysis(&mut self, record: &crate::domain::deployment::AnalysisRecord) {
        let seconds = self.seconds(record.at);
        if self.analyses.last().is_some_and(|a| a.seconds >= seconds) {
            return;
        }
        let verdict = match record.judgement {
            crate::domain::analysis::Judgement::Healthy => "healthy",
            crate::domain::analysis::Judgement::TooLittleTraffic { .. } => "tooLittleTraffic",
            crate::domain::analysis::Judgement::Failed(_) => "failed",
        };
        self.analyses.push(AnalysisPoint {
            seconds,
            new: record.new,
            old: record.old,
            verdict: verdict.to_owned(),
        });
    }

    fn seconds(&self, at: DateTime<Utc>) -> f64 {
        (at - self.start).num_milliseconds() as f64 / 1000.0
    }

    /// The target carries `percent` of the traffic from `at` (kept only when it changed).
    pub fn traffic(&mut self, at: DateTime<Utc>, percent: f64) {
        if self.timeline.last().is_some_and(|p| p.weight == percent) {
            return;
        }
        self.timeline.push(TimelinePoint {
            seconds: self.seconds(at),
            weight: percent,
        });
    }

    /// The alarms were checked at `at`; `in_alarm` were in ALARM.
    pub fn alarm_check(&mut self, at: DateTime<Utc>, in_alarm: Vec<String>) {
        self.alarm_checks.push(AlarmCheck {
            seconds: self.seconds(at),
            in_alarm,
        });
    }

    /// The summary of the deployment that ended so; `alias` says where the alias ended up,
    /// given the outcome.
    pub fn finish(
        self,
        ending: Ending,
        alias: impl FnOnce(Outcome) -> Option<FinalAlias>,
    ) -> Summary {
        let outcome = Outcome::classify(ending.succeeded, &ending.final_state);
        let end = self.seconds(ending.at);
        let mut waits = self.waits;
        if let Some((kind, from)) = self.waiting {
            waits.push(Wait {
                kind,
                from,
                to: end,
            });
        }
        let mut alarms_fired = self.alarms_fired;
        if alarms_fired.is_empty() {
            let checks = self.alarm_checks.iter();
            alarms_fired = marks::first_alarms(checks.map(|c| (c.seconds, c.in_alarm.as_slice())));
        }
        Summary {
            outcome,
            simulated_seconds: end,
            alias: alias(outcome),
            error: ending.error,
            cause: ending.cause,
            state_transitions: ending.transitions,
            timeline: self.timeline,
            alarm_checks: self.alarm_checks,
            final_state: ending.final_state,
            estimated_cost_usd: crate::domain::cost::usd(ending.transitions),
            analyses: self.analyses,
            train: Vec::new(),
            undone: Vec::new(),
            events: Vec::new(),
            waits,
            alarms_fired,
            record: None,
        }
    }
}

/// The state document in a history event's JSON text (a state's input or output), when it is one.
pub fn document(text: Option<&str>) -> Option<Deployment> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::{AliasState, DeploymentRequest};
    use crate::ports::HistoryEvent;

    #[test]
    fn outcomes_by_status_and_final_state() {
        let cases = [
            (true, states::DEPLOYMENT_SUCCEEDED, Outcome::Succeeded),
            (true, states::ALREADY_CURRENT, Outcome::AlreadyCurrent),
            (false, states::DEPLOYMENT_REJECTED, Outcome::Rejected),
            (false, states::DEPLOYMENT_ROLLED_BACK, Outcome::RolledBack),
            (false, states::STOPPED_ON_DRIFT, Outcome::Stopped),
            (false, states::ROLLBACK_FAILED, Outcome::Stopped),
            // Aborted by StopExecution while baking: nothing restored the alias.
            (false, states::BAKE, Outcome::Stopped),
        ];
        for (succeeded, state, outcome) in cases {
            assert_eq!(Outcome::classify(succeeded, state), outcome, "{state}");
            assert_eq!(outcome.is_success(), succeeded, "{state}");
        }
    }

    fn points(summary: &Summary) -> Vec<(f64, f64)> {
        let timeline = summary.timeline.iter();
        timeline.map(|p| (p.seconds, p.weight)).collect()
    }

    #[test]
    fn the_timeline_keeps_changes_only_and_counts_from_the_start() {
        let start = DateTime::UNIX_EPOCH;
        let mut report = SummaryBuilder::new(start);
        let at = |s: i64| start + TimeDelta::milliseconds(s);
        report.traffic(at(0), 0.0);
        report.traffic(at(1500), 10.0);
        report.traffic(at(2000), 10.0);
        report.traffic(at(60_000), 100.0);
        report.alarm_check(at(30_000), vec![]);
        let ending = Ending {
            succeeded: true,
            final_state: states::DEPLOYMENT_SUCCEEDED.to_owned(),
            error: None,
            cause: None,
            transitions: 40,
            at: at(90_000),
        };
        let summary = report.finish(ending, |_| None);
        assert_eq!(
            points(&summary),
            vec![(0.0, 0.0), (1.5, 10.0), (60.0, 100.0)]
        );
        assert_eq!(summary.simulated_seconds, 90.0);
        assert_eq!(summary.alarm_checks.len(), 1);
        assert_eq!(summary.estimated_cost_usd, 0.001);
    }

    #[test]
    fn final_alias_reports_lambda_s_fractions() {
        let route = AliasRoute::split("1", "2", crate::domain::Weight::from_bp(1000).unwrap());
        let alias = FinalAlias::from(&route);
        assert_eq!(alias.version, "1");
        assert_eq!(alias.additional_version_weights["2"], 0.1);
        assert!(
            FinalAlias::from(&AliasRoute::single("2"))
                .additional_version_weights
                .is_empty()
        );
    }

    /// A state document at 10% with `patch` applied (as JSON, the shape the history holds).
    fn document_text(patch: Value) -> String {
        let input = json!({"functionName": "f", "alias": "live", "targetVersion": "2",
                           "strategy": "Canary10Percent5Minutes", "alarms": ["f-errors"]});
        let request = DeploymentRequest::from_json(&input).unwrap();
        let alias = AliasState {
            route: AliasRoute::single("1"),
            revision_id: "r1".into(),
        };
        let d = Deployment::start(
            "x".into(),
            &request,
            &alias,
            "2".into(),
            DateTime::UNIX_EPOCH,
        );
        let mut value = serde_json::to_value(d).unwrap();
        for (k, v) in patch.as_object().unwrap() {
            value[k] = v.clone();
        }
        value.to_string()
    }

    fn event(id: i64, kind: &str, state: Option<&str>, output: Option<String>) -> HistoryEvent {
        HistoryEvent {
            id,
            kind: kind.to_owned(),
            at: DateTime::UNIX_EPOCH + TimeDelta::seconds(id * 10),
            state: state.map(str::to_owned),
            output,
            ..HistoryEvent::default()
        }
    }

    #[test]
    fn a_real_history_rolled_back_by_an_alarm() {
        let shifted = document_text(json!({"traffic": 1000, "trafficPercent": 10.0}));
        let alarm = json!({"traffic": 1000, "trafficPercent": 10.0, "alarmChecks": 1,
            "decision": "rollback",
            "failure": {"error": "AlarmTriggered", "cause": "alarm f-errors in ALARM"}});
        let restored = json!({"traffic": 0, "trafficPercent": 0.0, "alarmChecks": 1});
        let history = vec![
            event(1, "ExecutionStarted", None, None),
            event(2, "TaskStateEntered", Some(states::SHIFT_TRAFFIC), None),
            event(
                3,
                "TaskStateExited",
                Some(states::SHIFT_TRAFFIC),
                Some(shifted),
            ),
            event(4, "TaskStateEntered", Some(states::CHECK_HEALTH), None),
            event(
                5,
                "TaskStateExited",
                Some(states::CHECK_HEALTH),
                Some(document_text(alarm)),
            ),
            event(6, "TaskStateEntered", Some(states::ROLL_BACK), None),
            event(
                7,
                "TaskStateExited",
                Some(states::ROLL_BACK),
                Some(document_text(restored)),
            ),
            event(
                8,
                "FailStateEntered",
                Some(states::DEPLOYMENT_ROLLED_BACK),
                None,
            ),
            HistoryEvent {
                error: Some("AlarmTriggered".into()),
                cause: Some("restored".into()),
                ..event(9, "ExecutionFailed", None, None)
            },
        ];
        let summary = from_history(&history);
        assert_eq!(summary.outcome, Outcome::RolledBack);
        assert_eq!(summary.error.as_deref(), Some("AlarmTriggered"));
        assert_eq!(summary.state_transitions, 4);
        assert_eq!(summary.final_state, states::DEPLOYMENT_ROLLED_BACK);
        assert_eq!(summary.simulated_seconds, 80.0);
        assert_eq!(
            points(&summary),
            vec![(0.0, 0.0), (20.0, 10.0), (60.0, 0.0)]
        );
        assert_eq!(
            summary.alarm_checks,
            vec![AlarmCheck {
                seconds: 40.0,
                in_alarm: vec!["alarm f-errors in ALARM".into()]
            }]
        );
        assert_eq!(summary.alias.map(|a| a.version).as_deref(), Some("1"));
        assert_eq!(
            summary.alarms_fired,
            vec![AlarmEvent {
                seconds: 40.0,
                alarm: "f-errors".into()
            }]
        );
    }

    /// A hook's stretch, and a gate parked again after each alarm check counted as one wait
    /// until the deployment moves on; a wait still open ends where the history does.
    #[test]
    fn waits_span_from_entering_to_leaving_and_a_gate_re_parked_is_one() {
        let e = |id, kind, state| event(id, kind, Some(state), None);
        let history = vec![
            event(1, "ExecutionStarted", None, None),
            e(2, "TaskStateEntered", states::RUN_PRE_TRAFFIC_HOOK),
            e(3, "TaskStateExited", states::RUN_PRE_TRAFFIC_HOOK),
            e(4, "TaskStateEntered", states::ANNOUNCE_APPROVAL),
            e(5, "TaskStateEntered", states::AWAIT_APPROVAL),
            e(6, "TaskStateExited", states::AWAIT_APPROVAL),
            e(7, "TaskStateEntered", states::CHECK_HEALTH),
            e(8, "ChoiceStateEntered", "What Next?"),
            e(9, "TaskStateEntered", states::AWAIT_APPROVAL),
            e(10, "TaskStateExited", states::AWAIT_APPROVAL),
            e(11, "TaskStateEntered", states::SHIFT_TRAFFIC),
            e(12, "TaskStateEntered", states::AWAIT_APPROVAL),
        ];
        let waits: Vec<(WaitKind, f64, f64)> = from_history(&history)
            .waits
            .iter()
            .map(|w| (w.kind, w.from, w.to))
            .collect();
        assert_eq!(
            waits,
            [
                (WaitKind::PreTrafficHook, 10.0, 20.0),
                (WaitKind::Approval, 40.0, 90.0),
                (WaitKind::Approval, 110.0, 110.0)
            ]
        );
    }

    #[test]
    fn an_empty_or_unreadable_history_is_a_stop_with_nothing_known() {
        let summary = from_history(&[]);
        assert_eq!(summary.outcome, Outcome::Stopped);
        assert_eq!(summary.alias, None);
        let garbage = event(
            1,
            "TaskStateExited",
            Some(states::SHIFT_TRAFFIC),
            Some("{}".into()),
        );
        let summary = from_history(&[garbage]);
        assert_eq!(summary.timeline.len(), 1);
    }
}
