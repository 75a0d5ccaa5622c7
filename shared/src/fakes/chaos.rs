//! Faults the fakes draw at random from a seeded stream: throttling, 5xx, writes whose
//! response is lost, a request quota in virtual time, and latency. The same seed replays the
//! same faults, so a failing run can be repeated exactly.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

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
pub struct ChaosState<C> {
    chaos: Chaos,
    rng: u64,
    window: VecDeque<DateTime<Utc>>,
    /// The clock latency is slept on (the fakes use the virtual one).
    clock: C,
    /// What happened so far.
    pub stats: ChaosStats,
}

impl<C: Clone> ChaosState<C> {
    /// Starts `chaos` on `clock` (the clock latency sleeps on).
    pub fn new(chaos: Chaos, clock: C) -> Self {
        ChaosState {
            rng: chaos.seed ^ 0x5851_f42d_4c95_7f2d,
            chaos,
            window: VecDeque::new(),
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
    pub fn latency(&mut self) -> Option<(C, TimeDelta)> {
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

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn the_same_seed_replays_the_same_faults() {
        let chaos = Chaos {
            seed: 7,
            throttle_rate: 0.3,
            server_error_rate: 0.2,
            crash_after_write_rate: 0.5,
            ..Chaos::default()
        };
        let draws = |c: &Chaos| {
            let mut state = ChaosState::new(c.clone(), ());
            (0..64).map(|i| state.draw(at(i), true)).collect::<Vec<_>>()
        };
        assert_eq!(draws(&chaos), draws(&chaos));
        assert_ne!(
            draws(&chaos),
            draws(&Chaos {
                seed: 8,
                ..chaos.clone()
            })
        );
        assert!(draws(&chaos).contains(&Drawn::Throttle));
    }

    #[test]
    fn the_quota_refuses_calls_beyond_it_within_one_second() {
        let mut state = ChaosState::new(
            Chaos {
                per_second: Some(2),
                ..Chaos::default()
            },
            (),
        );
        let drawn: Vec<Drawn> = [0, 0, 0, 1, 1].map(|s| state.draw(at(s), false)).to_vec();
        assert_eq!(
            drawn,
            [
                Drawn::Pass,
                Drawn::Pass,
                Drawn::OverQuota,
                Drawn::Pass,
                Drawn::Pass
            ]
        );
        assert_eq!(state.stats.over_quota, 1);
    }

    #[test]
    fn no_chaos_draws_no_fault_and_no_latency() {
        let mut state = ChaosState::new(Chaos::default(), ());
        assert!((0..100).all(|i| state.draw(at(i), true) == Drawn::Pass));
        assert_eq!(state.latency(), None);
    }
}
