//! Operators' answers to parked tasks (`shifter abort|promote|approve`), scheduled on the
//! virtual clock: what a parked Bake or approval gate hears, and when.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use shifter::fakes::ManualClock;
use shifter::ports::Clock;
use shifter::states::ParkKind;

use crate::asl::{InvokeError, Park};

/// The scheduled answers, shared by every clone of the account.
#[derive(Clone)]
pub struct OperatorControls {
    clock: ManualClock,
    schedule: Arc<Mutex<Schedule>>,
}

/// What is scheduled.
#[derive(Debug, Clone, Default)]
struct Schedule {
    /// SendTaskFailure(error "Aborted", cause) to whatever is parked at that time (once).
    abort: Option<(DateTime<Utc>, String)>,
    /// `{"action":"promote"}` to whatever is parked at that time (once).
    promote: Option<DateTime<Utc>>,
    /// `{"action":"approve"}` this long after each approval gate starts waiting.
    approve_after: Option<TimeDelta>,
    /// StopExecution (the console's Stop button): the execution ends `ABORTED` then.
    stop: Option<DateTime<Utc>>,
    /// Parks listen for answers sent to their token while they wait, every this long.
    listen: Option<TimeDelta>,
}

/// Which scheduled answer reaches a park first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    Abort,
    Promote,
    Approve,
}

fn millis(seconds: f64) -> TimeDelta {
    TimeDelta::milliseconds((seconds * 1000.0) as i64)
}

impl OperatorControls {
    /// Nothing scheduled, on `clock`.
    pub fn new(clock: ManualClock) -> Self {
        OperatorControls {
            clock,
            schedule: Arc::default(),
        }
    }

    fn schedule(&self) -> MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An operator aborts `seconds` after the start with `reason`.
    pub fn abort_at(&self, seconds: f64, reason: &str) {
        let at = self.clock.start() + millis(seconds);
        self.schedule().abort = Some((at, reason.to_owned()));
    }

    /// An operator promotes `seconds` after the start.
    pub fn promote_at(&self, seconds: f64) {
        self.schedule().promote = Some(self.clock.start() + millis(seconds));
    }

    /// An operator approves every gate `seconds` after it starts waiting.
    pub fn approve_after(&self, seconds: f64) {
        self.schedule().approve_after = Some(millis(seconds));
    }

    /// An operator stops the execution `seconds` after the start (StopExecution).
    pub fn stop_at(&self, seconds: f64) {
        self.schedule().stop = Some(self.clock.start() + millis(seconds));
    }

    /// Parks also hear answers sent to their task token while they wait (SendTaskSuccess or
    /// SendTaskFailure through the account's `tasks`, e.g. by `shifter dashboard --demo`'s
    /// buttons), looking every `seconds` of virtual time; without it a park's outcome is
    /// decided when it starts, from the schedule.
    pub fn listen_every(&self, seconds: f64) {
        self.schedule().listen = Some(millis(seconds).max(TimeDelta::milliseconds(1)));
    }

    /// How often parks look for answers sent at run time, if they do.
    pub(super) fn listening(&self) -> Option<TimeDelta> {
        self.schedule().listen
    }

    /// When the execution is stopped, if it is.
    pub fn stop_time(&self) -> Option<DateTime<Utc>> {
        self.schedule().stop
    }

    /// The first scheduled answer for `park` before `deadline`, and when it arrives (not
    /// before now): an answer scheduled earlier that nobody received yet arrives at once.
    pub(super) fn next(
        &self,
        park: &Park,
        deadline: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, Control)> {
        self.schedule().first(self.clock.now(), deadline, park)
    }

    /// The answer `control` gives, used up when it is a one-shot.
    pub(super) fn take(&self, control: Control) -> Result<serde_json::Value, InvokeError> {
        self.schedule().take(control)
    }
}

impl Schedule {
    /// The earliest answer due before `deadline`, and when it arrives (not before `now`).
    fn first(
        &self,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
        park: &Park,
    ) -> Option<(DateTime<Utc>, Control)> {
        // An approval comes this long after the gate opened (it parks in backstop-sized pieces).
        let deployment = &park.payload["deployment"];
        let opened = deployment["gateOpenedAt"]
            .as_str()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map_or(now, |at| at.with_timezone(&Utc));
        let approve = self
            .approve_after
            .filter(|_| {
                let kind = park.payload["park"].as_str().and_then(ParkKind::from_wire);
                kind == Some(ParkKind::Approval)
            })
            .map(|after| (opened + after, Control::Approve));
        let candidates = [
            self.abort.as_ref().map(|(at, _)| (*at, Control::Abort)),
            self.promote.map(|at| (at, Control::Promote)),
            approve,
        ];
        // The first of equal times wins: abort, then promote, then approve.
        candidates
            .into_iter()
            .flatten()
            .map(|(at, control)| (at.max(now), control))
            .filter(|(at, _)| *at < deadline)
            .reduce(|best, next| if next.0 < best.0 { next } else { best })
    }

    /// The answer `control` gives, used up when it is a one-shot.
    fn take(&mut self, control: Control) -> Result<serde_json::Value, InvokeError> {
        match control {
            Control::Abort => Err(InvokeError::Callback {
                error: "Aborted".to_owned(),
                cause: self.abort.take().map(|(_, r)| r).unwrap_or_default(),
            }),
            Control::Promote => {
                self.promote = None;
                Ok(json!({"action": "promote"}))
            }
            Control::Approve => Ok(json!({"action": "approve"})),
        }
    }
}
