//! What a chart marks besides the traffic: the stretches a deployment spent waiting on something
//! other than its bake (an approval gate, a hook, provisioned concurrency), and the moments a
//! watched alarm went into ALARM.

use serde::Serialize;

use crate::states;

/// What a deployment waited on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WaitKind {
    /// An approval gate (`Await Approval`).
    Approval,
    /// The pre-traffic hook (`Run Pre-Traffic Hook`, or its callback `Await Pre-Traffic Hook`).
    PreTrafficHook,
    /// The post-traffic hook, synchronous or callback.
    PostTrafficHook,
    /// The alias's provisioned concurrency becoming READY (`Await Provisioned Concurrency`).
    ProvisionedConcurrency,
}

impl WaitKind {
    /// The wait state `state` is, if it is one.
    pub fn of_state(state: &str) -> Option<WaitKind> {
        match state {
            states::AWAIT_APPROVAL => Some(WaitKind::Approval),
            states::RUN_PRE_TRAFFIC_HOOK | states::AWAIT_PRE_TRAFFIC_HOOK => {
                Some(WaitKind::PreTrafficHook)
            }
            states::RUN_POST_TRAFFIC_HOOK | states::AWAIT_POST_TRAFFIC_HOOK => {
                Some(WaitKind::PostTrafficHook)
            }
            states::AWAIT_PROVISIONED_CONCURRENCY => Some(WaitKind::ProvisionedConcurrency),
            _ => None,
        }
    }

    /// How a chart labels it.
    pub fn label(self) -> &'static str {
        match self {
            WaitKind::Approval => "approval gate",
            WaitKind::PreTrafficHook => "pre-traffic hook",
            WaitKind::PostTrafficHook => "post-traffic hook",
            WaitKind::ProvisionedConcurrency => "provisioned concurrency",
        }
    }
}

/// A stretch of the deployment spent waiting: from entering the wait state to leaving it (or to
/// the end of what is known, while it still waits).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Wait {
    /// What it waited on.
    pub kind: WaitKind,
    /// Seconds since the start when it began.
    pub from: f64,
    /// Seconds since the start when it ended.
    pub to: f64,
}

/// A watched alarm went into ALARM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmEvent {
    /// Seconds since the start: when the alarm changed (known in the local runner), else the
    /// alarm check that found it in ALARM.
    pub seconds: f64,
    /// The alarm's name.
    pub alarm: String,
}

/// The alarm names in one `inAlarm` entry of an alarm check: a name as the local runner records
/// it, or a cause as a real history tells it (`alarm a, b in ALARM at …`, `alarm a went into
/// ALARM …`, written by the domain's `next` and the watch function).
pub fn alarm_names(entry: &str) -> Vec<String> {
    let Some(rest) = entry.strip_prefix("alarm ") else {
        return vec![entry.to_owned()];
    };
    let names = [" in ALARM", " went into ALARM"]
        .iter()
        .find_map(|end| rest.split_once(end).map(|(names, _)| names))
        .unwrap_or(rest);
    names.split(", ").map(str::to_owned).collect()
}

/// The first time each alarm was found in ALARM by the checks `(seconds, in_alarm)`.
pub fn first_alarms<'a>(checks: impl IntoIterator<Item = (f64, &'a [String])>) -> Vec<AlarmEvent> {
    let mut events: Vec<AlarmEvent> = Vec::new();
    for (seconds, in_alarm) in checks {
        for alarm in in_alarm.iter().flat_map(|entry| alarm_names(entry)) {
            if !events.iter().any(|e| e.alarm == alarm) {
                events.push(AlarmEvent { seconds, alarm });
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_names_come_from_names_and_causes() {
        assert_eq!(alarm_names("orders-errors"), ["orders-errors"]);
        assert_eq!(
            alarm_names("alarm a-errors, b-latency in ALARM at 10% on version 2"),
            ["a-errors", "b-latency"]
        );
        assert_eq!(
            alarm_names("alarm pay-errors went into ALARM (Threshold Crossed) at 10%"),
            ["pay-errors"]
        );
        let checks = [
            (30.0, vec![]),
            (60.0, vec!["a".to_owned()]),
            (90.0, vec!["a".to_owned(), "b".to_owned()]),
        ];
        let first = first_alarms(checks.iter().map(|(s, v)| (*s, v.as_slice())));
        let seen: Vec<(f64, &str)> = first
            .iter()
            .map(|e| (e.seconds, e.alarm.as_str()))
            .collect();
        assert_eq!(seen, [(60.0, "a"), (90.0, "b")]);
    }

    #[test]
    fn wait_states_are_known_by_name() {
        assert_eq!(
            WaitKind::of_state(states::AWAIT_APPROVAL),
            Some(WaitKind::Approval)
        );
        assert_eq!(
            WaitKind::of_state(states::AWAIT_POST_TRAFFIC_HOOK),
            Some(WaitKind::PostTrafficHook)
        );
        assert_eq!(WaitKind::of_state(states::BAKE), None);
    }
}
