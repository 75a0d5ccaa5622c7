//! A virtual clock that only moves when told to, and can share its time between many
//! concurrent simulated executions.
//!
//! Solo mode (nobody enrolled): [`ManualClock::sleep`] simply advances the clock, exactly like
//! [`ManualClock::advance`]. Shared mode: every concurrent execution holds an [`Enrolled`]
//! guard; a sleeping execution parks until every enrolled execution is asleep, then the clock
//! jumps to the earliest deadline and wakes that one sleeper (ties in the order they went to
//! sleep). Only one execution runs at a time, so runs are deterministic on any executor.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::Clock;

// Chaos lived here before it had its own module; these keep `fakes::clock::Chaos` and the
// fakes' imports working. chaos.rs does not import this module, so there is no cycle.
pub use super::chaos::{Chaos, ChaosStats, Drawn};
/// A fake's chaos, sleeping its latency on the virtual clock.
pub type ChaosState = super::chaos::ChaosState<ManualClock>;

/// A clock shared by the local runner and the fakes; `advance` and `sleep` are the only ways
/// time passes.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    start: DateTime<Utc>,
    timeline: Arc<Mutex<Timeline>>,
}

/// One parked sleeper: set `done` and wake it to let it go.
#[derive(Debug, Default)]
struct Parked {
    done: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Timeline {
    /// Executions enrolled in shared mode.
    enrolled: usize,
    /// Enrolled executions that are not asleep.
    running: usize,
    /// Sleepers by (deadline, arrival order).
    sleepers: BTreeMap<(DateTime<Utc>, u64), Arc<Mutex<Parked>>>,
    arrivals: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            start,
            timeline: Arc::default(),
        }
    }

    /// A clock at 2026-01-01T00:00:00Z, the local runner's epoch.
    pub fn at_epoch() -> Self {
        ManualClock::new(DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default())
    }

    /// Moves time forward.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = lock(&self.now);
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

    /// Enrols one concurrent execution in shared mode until the guard is dropped. Enrol every
    /// execution before any of them starts, so none sees time move before the others begin.
    pub fn enroll(&self) -> Enrolled {
        let mut t = lock(&self.timeline);
        t.enrolled += 1;
        t.running += 1;
        Enrolled {
            clock: self.clone(),
        }
    }

    /// Executions enrolled right now.
    pub fn enrolled(&self) -> usize {
        lock(&self.timeline).enrolled
    }

    /// Lets `by` pass for the caller: at once in solo mode, in turn with the others in shared mode.
    pub fn sleep(&self, by: TimeDelta) -> Sleep {
        let by = by.max(TimeDelta::zero());
        let mut t = lock(&self.timeline);
        if t.enrolled == 0 {
            drop(t);
            self.advance(by);
            return Sleep {
                clock: self.clone(),
                parked: None,
            };
        }
        let parked = Arc::new(Mutex::new(Parked::default()));
        let deadline = self.now() + by;
        t.arrivals += 1;
        let key = (deadline, t.arrivals);
        t.sleepers.insert(key, parked.clone());
        t.running = t.running.saturating_sub(1);
        self.wake_next(&mut t);
        Sleep {
            clock: self.clone(),
            parked: Some(parked),
        }
    }

    /// When nobody runs, jumps to the earliest deadline and lets that sleeper go.
    fn wake_next(&self, t: &mut Timeline) {
        if t.running > 0 {
            return;
        }
        let Some(((deadline, _), parked)) = t.sleepers.pop_first() else {
            return;
        };
        {
            let mut now = lock(&self.now);
            if *now < deadline {
                *now = deadline;
            }
        }
        t.running += 1;
        let mut p = lock(&parked);
        p.done = true;
        if let Some(waker) = p.waker.take() {
            waker.wake();
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

/// One execution's place in shared mode; dropping it withdraws the execution.
#[derive(Debug)]
pub struct Enrolled {
    clock: ManualClock,
}

impl Drop for Enrolled {
    fn drop(&mut self) {
        let mut t = lock(&self.clock.timeline);
        t.enrolled = t.enrolled.saturating_sub(1);
        t.running = t.running.saturating_sub(1);
        self.clock.wake_next(&mut t);
    }
}

/// The future of [`ManualClock::sleep`].
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    clock: ManualClock,
    parked: Option<Arc<Mutex<Parked>>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(parked) = &self.parked else {
            return Poll::Ready(());
        };
        let mut p = lock(parked);
        if p.done {
            return Poll::Ready(());
        }
        p.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let Some(parked) = self.parked.take() else {
            return;
        };
        if lock(&parked).done {
            return;
        }
        // Cancelled while parked: it no longer sleeps, so it counts as running again.
        let mut t = lock(&self.clock.timeline);
        t.sleepers.retain(|_, p| !Arc::ptr_eq(p, &parked));
        t.running += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solo_sleep_advances_at_once() {
        let clock = ManualClock::at_epoch();
        drop(clock.sleep(TimeDelta::seconds(5)));
        assert_eq!(clock.elapsed_secs(), 5.0);
    }

    #[test]
    fn shared_sleepers_wake_in_deadline_order() {
        let clock = ManualClock::at_epoch();
        let a = clock.enroll();
        let b = clock.enroll();
        let mut long = Box::pin(clock.sleep(TimeDelta::seconds(10)));
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(long.as_mut().poll(&mut cx).is_pending());
        assert_eq!(clock.elapsed_secs(), 0.0, "b still runs");
        let mut short = Box::pin(clock.sleep(TimeDelta::seconds(3)));
        assert_eq!(clock.elapsed_secs(), 3.0);
        assert!(short.as_mut().poll(&mut cx).is_ready());
        assert!(long.as_mut().poll(&mut cx).is_pending());
        drop(b);
        assert_eq!(clock.elapsed_secs(), 10.0);
        assert!(long.as_mut().poll(&mut cx).is_ready());
        drop(a);
        assert_eq!(clock.enrolled(), 0);
    }
}
