//! In-memory CloudWatch alarms whose states can be scripted over (virtual) time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::chaos::{Chaos, ChaosState, ChaosStats, Drawn};
use super::clock::ManualClock;
use crate::error::ShifterError;
use crate::ports::{AlarmReader, AlarmState, Clock};

/// One DescribeAlarms call, as recorded by the fake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlarmRead {
    /// When.
    pub at: DateTime<Utc>,
    /// What came back.
    pub states: Vec<(String, AlarmState)>,
}

#[derive(Debug, Default)]
struct Alarms {
    /// Per alarm: (from, state) changes in time order.
    scripts: BTreeMap<String, Vec<(DateTime<Utc>, AlarmState)>>,
    reads: Vec<AlarmRead>,
    throttle_next: u32,
    /// Seeded random faults, the DescribeAlarms quota and latency.
    chaos: Option<ChaosState<ManualClock>>,
    /// Alarms deleted from a virtual time on.
    deleted_from: BTreeMap<String, DateTime<Utc>>,
}

/// CloudWatch alarms in memory: a state per alarm that can change at scripted times; names
/// that do not exist are left out of the answer, as DescribeAlarms does.
#[derive(Clone)]
pub struct FakeAlarms {
    alarms: Arc<Mutex<Alarms>>,
    clock: Arc<dyn Clock>,
}

impl FakeAlarms {
    /// No alarms, on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeAlarms {
            alarms: Arc::new(Mutex::new(Alarms::default())),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Alarms> {
        self.alarms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates an alarm in `state` from the beginning of time.
    pub fn add(&self, name: &str, state: AlarmState) {
        self.lock()
            .scripts
            .insert(name.to_owned(), vec![(DateTime::<Utc>::MIN_UTC, state)]);
    }

    /// From `at` on, the alarm is in `state`.
    pub fn set_from(&self, name: &str, at: DateTime<Utc>, state: AlarmState) {
        let mut alarms = self.lock();
        let script = alarms.scripts.entry(name.to_owned()).or_default();
        script.push((at, state));
        script.sort_by_key(|(t, _)| *t);
    }

    /// Deletes an alarm.
    pub fn delete(&self, name: &str) {
        self.lock().scripts.remove(name);
    }

    /// Deletes an alarm at virtual time `at`.
    pub fn delete_at(&self, name: &str, at: DateTime<Utc>) {
        self.lock().deleted_from.insert(name.to_owned(), at);
    }

    /// The next `n` calls fail with throttling.
    pub fn throttle_next(&self, n: u32) {
        self.lock().throttle_next = n;
    }

    /// The alarm flaps: from `from` until `until` it spends `ok_secs` in OK, then
    /// `alarm_secs` in ALARM, and so on; after `until` it stays OK.
    pub fn flap(
        &self,
        name: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        ok_secs: u32,
        alarm_secs: u32,
    ) {
        let (ok, alarm) = (
            chrono::TimeDelta::seconds(i64::from(ok_secs.max(1))),
            chrono::TimeDelta::seconds(i64::from(alarm_secs.max(1))),
        );
        let mut at = from;
        while at < until {
            self.set_from(name, at, AlarmState::Ok);
            at += ok;
            if at >= until {
                break;
            }
            self.set_from(name, at, AlarmState::Alarm);
            at += alarm;
        }
        self.set_from(name, until.max(from), AlarmState::Ok);
    }

    /// Draws faults at random from `chaos` on every call from now on (its `per_second` is
    /// DescribeAlarms' TPS quota), sleeping latency on `clock`.
    pub fn set_chaos(&self, chaos: Chaos, clock: &ManualClock) {
        self.lock().chaos = Some(ChaosState::new(chaos, clock.clone()));
    }

    /// What chaos did so far (all zero without chaos).
    pub fn chaos_stats(&self) -> ChaosStats {
        self.lock()
            .chaos
            .as_ref()
            .map(|c| c.stats)
            .unwrap_or_default()
    }

    /// The state-change events CloudWatch sends to EventBridge for changes into ALARM, in time
    /// order: every scripted change from another state into ALARM at a time in `(after, until]`,
    /// while the alarm exists
    /// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html>).
    pub fn changes_into_alarm(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, String)> {
        let alarms = self.lock();
        let mut changes: Vec<(DateTime<Utc>, String)> = Vec::new();
        for (name, script) in &alarms.scripts {
            let deleted = alarms.deleted_from.get(name);
            let mut previous = None;
            for (at, state) in script {
                let entered = *state == AlarmState::Alarm && previous != Some(AlarmState::Alarm);
                previous = Some(*state);
                let exists = deleted.is_none_or(|from| at < from);
                if entered && exists && *at > after && *at <= until {
                    changes.push((*at, name.clone()));
                }
            }
        }
        changes.sort();
        changes
    }

    /// Every read so far.
    pub fn reads(&self) -> Vec<AlarmRead> {
        self.lock().reads.clone()
    }
}

#[async_trait]
impl AlarmReader for FakeAlarms {
    async fn alarm_states(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, AlarmState)>, ShifterError> {
        if names.len() > 100 {
            return Err(ShifterError::invalid(
                "AlarmNames",
                format!(
                    "DescribeAlarms takes at most 100 names, got {}",
                    names.len()
                ),
            ));
        }
        let delay = self.lock().chaos.as_mut().and_then(ChaosState::latency);
        if let Some((clock, by)) = delay {
            clock.sleep(by).await;
        }
        let now = self.clock.now();
        let mut alarms = self.lock();
        if alarms.throttle_next > 0 {
            alarms.throttle_next -= 1;
            return Err(ShifterError::transient(
                "DescribeAlarms",
                "Throttling: Rate exceeded",
            ));
        }
        match alarms.chaos.as_mut().map(|c| c.draw(now, false)) {
            Some(Drawn::OverQuota | Drawn::Throttle) => {
                return Err(ShifterError::transient(
                    "DescribeAlarms",
                    "Throttling: Rate exceeded",
                ));
            }
            Some(Drawn::ServerError) => {
                return Err(ShifterError::transient(
                    "DescribeAlarms",
                    "InternalServiceFault: 500 Internal Server Error",
                ));
            }
            _ => {}
        }
        let states: Vec<(String, AlarmState)> = names
            .iter()
            .filter_map(|name| {
                if alarms.deleted_from.get(name).is_some_and(|at| *at <= now) {
                    return None;
                }
                let script = alarms.scripts.get(name)?;
                let state = script
                    .iter()
                    .rev()
                    .find(|(from, _)| *from <= now)
                    .map_or(AlarmState::InsufficientData, |(_, s)| *s);
                Some((name.clone(), state))
            })
            .collect();
        alarms.reads.push(AlarmRead {
            at: now,
            states: states.clone(),
        });
        Ok(states)
    }
}
