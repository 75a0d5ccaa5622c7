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

/// Faults a fake draws at random (seeded) on every call, its request quota in virtual time,
/// and its latency. The default injects nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chaos {
    /// Seed of the fake's random draws; the same seed replays the same faults.
    pub seed: u64,
    /// Fraction (0–1) of calls refused with throttling before anything happens.
    pub throttle_rate: f64,
    /// Fraction (0–1) of calls that fail with a 5xx before anything happens.
    pub server_error_rate: f64,
    /// Fraction (0–1) of writes that take effect but whose response is lost.
    pub crash_after_write_rate: f64,
    /// Requests per second (over any 1-second window of virtual time) before calls are
    /// throttled, as the service's quota does; `None` for no quota.
    pub per_second: Option<u32>,
    /// Each call takes between these many virtual milliseconds (drawn per call).
    pub latency_ms: (u64, u64),
}

/// What a fake's chaos did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosStats {
    /// Calls seen.
    pub calls: u64,
    /// Calls refused because the quota was used up.
    pub over_quota: u64,
    /// Calls refused by random throttling.
    pub throttled: u64,
    /// Calls failed with a random 5xx (or a scripted failing write).
    pub server_errors: u64,
    /// Writes that landed but answered with an error.
    pub crashed_after_write: u64,
    /// Virtual milliseconds spent in latency.
    pub latency_ms: u64,
}

/// The fault a call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawn {
    /// No fault.
    Pass,
    /// Refused: the quota is used up.
    OverQuota,
    /// Refused: random throttling.
    Throttle,
    /// Refused: a 5xx.
    ServerError,
    /// The write lands, the response is lost.
    CrashAfterWrite,
}

/// A fake's chaos in progress: the configuration, the random stream, the quota window.
#[derive(Debug)]
pub struct ChaosState {
    chaos: Chaos,
    rng: u64,
    window: std::collections::VecDeque<DateTime<Utc>>,
    clock: ManualClock,
    /// What happened so far.
    pub stats: ChaosStats,
}

impl ChaosState {
    /// Starts `chaos` on `clock` (the clock latency sleeps on).
    pub fn new(chaos: Chaos, clock: ManualClock) -> Self {
        ChaosState {
            rng: chaos.seed ^ 0x5851_f42d_4c95_7f2d,
            chaos,
            window: std::collections::VecDeque::new(),
            clock,
            stats: ChaosStats::default(),
        }
    }

    /// The configuration.
    pub fn chaos(&self) -> &Chaos {
        &self.chaos
    }

    /// The next number of the seeded stream (splitmix64).
    pub fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Decides the fault of one call made at `now`; `write` calls may crash after writing.
    pub fn draw(&mut self, now: DateTime<Utc>, write: bool) -> Drawn {
        self.stats.calls += 1;
        if let Some(limit) = self.chaos.per_second {
            let horizon = now - TimeDelta::seconds(1);
            while self.window.front().is_some_and(|t| *t <= horizon) {
                self.window.pop_front();
            }
            if self.window.len() >= limit as usize {
                self.stats.over_quota += 1;
                return Drawn::OverQuota;
            }
        }
        let roll = self.unit();
        if roll < self.chaos.throttle_rate {
            self.stats.throttled += 1;
            return Drawn::Throttle;
        }
        if roll < self.chaos.throttle_rate + self.chaos.server_error_rate {
            self.stats.server_errors += 1;
            return Drawn::ServerError;
        }
        if self.chaos.per_second.is_some() {
            self.window.push_back(now);
        }
        if write
            && self.chaos.crash_after_write_rate > 0.0
            && self.unit() < self.chaos.crash_after_write_rate
        {
            self.stats.crashed_after_write += 1;
            return Drawn::CrashAfterWrite;
        }
        Drawn::Pass
    }

    /// The latency of one call, and the clock to sleep it on; `None` without latency.
    pub fn latency(&mut self) -> Option<(ManualClock, TimeDelta)> {
        let (low, high) = self.chaos.latency_ms;
        if high == 0 {
            return None;
        }
        let span = high.saturating_sub(low);
        let ms = low
            + if span == 0 {
                0
            } else {
                self.next_u64() % (span + 1)
            };
        self.stats.latency_ms += ms;
        Some((
            self.clock.clone(),
            TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)),
        ))
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
