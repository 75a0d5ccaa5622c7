//! A virtual clock that only moves when told to.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::Clock;

/// A clock shared by the local runner and the fakes; `advance` is the only way time passes.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    start: DateTime<Utc>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            start,
        }
    }

    /// A clock at 2026-01-01T00:00:00Z, the local runner's epoch.
    pub fn at_epoch() -> Self {
        ManualClock::new(DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default())
    }

    /// Moves time forward.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Moves time forward by whole seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.advance(TimeDelta::seconds(secs));
    }

    /// When this clock started.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Seconds since the start, with milliseconds.
    pub fn elapsed_secs(&self) -> f64 {
        (self.now() - self.start).num_milliseconds() as f64 / 1000.0
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
