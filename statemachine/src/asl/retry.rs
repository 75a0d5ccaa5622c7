//! Which Retrier or Catcher handles an error, and how long a retry waits (backoff, cap, jitter).
//!
//! <https://states-language.net/spec.html#retrying-after-error> and
//! <https://states-language.net/spec.html#fallback-states>.

use super::definition::Retrier;
use super::{DATA_LIMIT_EXCEEDED, RUNTIME};

const ALL: &str = "States.ALL";
const TASK_FAILED: &str = "States.TaskFailed";
/// The error a task that ran past its timeout (or a token nobody answered) fails with.
pub(super) const TIMEOUT: &str = "States.Timeout";

/// Whether an ErrorEquals list matches; nothing matches `States.Runtime` or the terminal
/// `States.DataLimitExceeded`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>), and
/// `States.TaskFailed` matches every error but `States.Timeout`.
pub(super) fn matches(names: &[String], error: &str) -> bool {
    error != RUNTIME
        && error != DATA_LIMIT_EXCEEDED
        && names
            .iter()
            .any(|name| name == error || name == ALL || (name == TASK_FAILED && error != TIMEOUT))
}

/// The first retrier whose ErrorEquals matches `error`, with the number of this retry, counted
/// in `used`; `None` when none matches or the first match is exhausted (later ones never apply).
pub(super) fn next<'t>(
    retriers: &'t [Retrier],
    used: &mut [u32],
    error: &str,
) -> Option<(&'t Retrier, u32)> {
    let (retrier, count) = retriers
        .iter()
        .zip(used.iter_mut())
        .find(|(retrier, _)| matches(&retrier.errors, error))?;
    if *count >= retrier.max_attempts {
        return None;
    }
    *count += 1;
    Some((retrier, *count))
}

/// A deterministic fraction in [0, 1), so FULL jitter and task tokens are reproducible.
pub(super) fn fraction(execution: &str, state: &str, attempt: u32) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = execution.bytes().chain([0]).chain(state.bytes()).chain([0]);
    for byte in bytes.chain(attempt.to_le_bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64 finaliser: FNV alone leaves the high bits poorly mixed for short inputs.
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

impl Retrier {
    /// The delay before this retrier's `attempt` (from 1), in milliseconds.
    pub(super) fn delay_millis(&self, attempt: u32, execution: &str, state: &str) -> i64 {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let mut delay = self.interval_seconds as f64 * self.backoff_rate.powi(exponent);
        if let Some(cap) = self.max_delay_seconds {
            delay = delay.min(cap as f64);
        }
        if self.full_jitter {
            delay *= fraction(execution, state, attempt);
        }
        (delay * 1000.0).round() as i64
    }
}
