//! CloudWatch's alarm state-change events in the simulated account: every change of an alarm
//! into ALARM reaches the watch function [`ALARM_EVENT_LATENCY`] later through the EventBridge
//! rule, as on AWS
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html>),
//! unless a fault drops them (then only the backstop reads see the alarm).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use shifter::fakes::FakeAlarms;

/// From an alarm's change into ALARM to the watch function's invocation: CloudWatch evaluates
/// and publishes the change, EventBridge matches the rule and invokes the target. AWS documents
/// no bound; one second is the modelled figure (EventBridge delivers "in near real time",
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-what-is.html>).
pub const ALARM_EVENT_LATENCY: TimeDelta = TimeDelta::seconds(1);

/// The events of the simulated account, delivered in time order, each once.
#[derive(Debug, Clone, Default)]
pub struct AlarmEvents {
    pump: Arc<Mutex<Pump>>,
}

#[derive(Debug, Default)]
struct Pump {
    /// Events reaching the watcher up to this time were delivered (or dropped).
    delivered_until: Option<DateTime<Utc>>,
    /// Every event is lost on the way (the `--drop-alarm-events` fault).
    drop_all: bool,
    delivered: u64,
    dropped: u64,
}

/// How many alarm events reached the watcher, and how many were lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlarmEventStats {
    /// Delivered to the watch function.
    pub delivered: u64,
    /// Lost on the way.
    pub dropped: u64,
}

impl AlarmEvents {
    fn pump(&self) -> MutexGuard<'_, Pump> {
        self.pump.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on every alarm event is lost: nothing reaches the watch function.
    pub fn drop_all(&self) {
        self.pump().drop_all = true;
    }

    /// Delivered and dropped so far.
    pub fn stats(&self) -> AlarmEventStats {
        let pump = self.pump();
        AlarmEventStats {
            delivered: pump.delivered,
            dropped: pump.dropped,
        }
    }

    /// The events that reach the watcher by `now` and were not handed out yet, as EventBridge
    /// delivers them; dropped ones are counted and left out.
    pub(super) fn due(&self, alarms: &FakeAlarms, now: DateTime<Utc>) -> Vec<Value> {
        let mut pump = self.pump();
        let after = pump.delivered_until.unwrap_or(DateTime::<Utc>::MIN_UTC);
        if now <= after {
            return Vec::new();
        }
        pump.delivered_until = Some(now);
        let changes = alarms.changes_into_alarm(
            after
                .checked_sub_signed(ALARM_EVENT_LATENCY)
                .unwrap_or(after),
            now - ALARM_EVENT_LATENCY,
        );
        if pump.drop_all {
            pump.dropped += changes.len() as u64;
            return Vec::new();
        }
        pump.delivered += changes.len() as u64;
        changes
            .into_iter()
            .map(|(at, alarm)| state_change(&alarm, at))
            .collect()
    }

    /// When the next event about one of `alarms` reaches the watcher after `now` and before
    /// `before`, if one does.
    pub(super) fn next_for(
        &self,
        fake: &FakeAlarms,
        alarms: &[String],
        now: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self.pump().drop_all || alarms.is_empty() || before <= now {
            return None;
        }
        fake.changes_into_alarm(now - ALARM_EVENT_LATENCY, before - ALARM_EVENT_LATENCY)
            .into_iter()
            .find(|(_, alarm)| alarms.contains(alarm))
            .map(|(at, _)| at + ALARM_EVENT_LATENCY)
            .filter(|at| *at < before)
    }
}

/// The `CloudWatch Alarm State Change` event for `alarm` going into ALARM at `at`.
fn state_change(alarm: &str, at: DateTime<Utc>) -> Value {
    let time = at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let stamp = at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    json!({
        "version": "0", "id": format!("local-{alarm}-{}", at.timestamp_millis()),
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "000000000000", "time": time, "region": "local-1",
        "resources": [format!("arn:aws:cloudwatch:local-1:000000000000:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "Threshold Crossed (simulated)", "timestamp": stamp},
            "previousState": {"value": "OK", "reason": "(simulated)", "timestamp": stamp},
            "configuration": {"metrics": []}
        }
    })
}
