//! Operators' answers to parked tasks (`shifter abort|promote|approve`), scheduled on the
//! virtual clock: what a parked Bake or approval gate hears, and when.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use shifter::fakes::ManualClock;
use shifter::ports::Clock;
use shifter::states::APPROVAL_DETAIL_TYPE;

use crate::asl::{InvokeError, Park, Parked};

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
}

/// Which scheduled answer reaches a park first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
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

    /// The first scheduled answer for `park`, parked now: an answer scheduled earlier that
    /// nobody received yet arrives at once; one-shot answers are used up; none before the
    /// park's timeout is a timeout.
    pub fn answer(&self, park: &Park) -> Parked {
        let now = self.clock.now();
        let timeout =
            TimeDelta::seconds(i64::try_from(park.timeout_seconds).unwrap_or(i64::MAX / 1000));
        let mut schedule = self.schedule();
        let Some((at, control)) = schedule.first(now, now + timeout, park) else {
            return Parked {
                after_millis: timeout.num_milliseconds(),
                answer: Err(InvokeError::Timeout),
            };
        };
        Parked {
            after_millis: (at - now).num_milliseconds(),
            answer: schedule.take(control),
        }
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
        let approve = self
            .approve_after
            .filter(|_| park.detail_type == APPROVAL_DETAIL_TYPE)
            .map(|after| (now + after, Control::Approve));
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
