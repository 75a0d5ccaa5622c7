//! Provisioned concurrency on the alias being moved: read at pre-flight, and after every write
//! of the alias the deployment waits (parked, alarms watched) until Lambda reports the config
//! READY before the step's bake clock starts.
//!
//! Lambda keeps one provisioned-concurrency config per alias; while the alias routes between
//! two versions the executions are provisioned for both versions, so
//! `AllocatedProvisionedConcurrentExecutions` "fluctuates depending on the amount of
//! concurrency that is provisioned for the function versions" during linear and canary
//! deployments, and `Status` is `IN_PROGRESS | READY | FAILED` with a `StatusReason` for failed
//! allocations (<https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html>,
//! <https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedConcurrencyConfigListItem.html>).
//! Traffic routed to a version before its share is allocated spills over to on-demand (cold)
//! instances (<https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html>,
//! <https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html>): a bake that
//! counts from the shift would judge the new version on cold starts it will not have.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::field::FieldError;
use super::text::cut_chars;

/// The default of `provisionedConcurrency.readyTimeoutSeconds`: 15 minutes.
pub const DEFAULT_READY_TIMEOUT_SECONDS: u32 = 900;
/// The accepted `provisionedConcurrency.readyTimeoutSeconds`: one minute to one hour.
pub const READY_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 60..=3600;
/// The default of `provisionedConcurrency.pollSeconds`: a reallocation is usually over in
/// seconds, so the wait reads the config this often rather than once per backstop interval.
pub const DEFAULT_POLL_SECONDS: u32 = 10;
/// The accepted `provisionedConcurrency.pollSeconds`: the shortest backstop interval to the
/// longest (a poll at or over the backstop interval reads at every backstop read).
pub const POLL_RANGE: std::ops::RangeInclusive<u32> = 5..=3600;
/// Most characters of Lambda's `StatusReason` that enter a cause.
const MAX_REASON_CHARS: usize = 300;

/// Lambda's allocation status of a provisioned-concurrency config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AllocationStatus {
    /// Being allocated (after a config change or an alias write).
    InProgress,
    /// Every requested execution is allocated.
    Ready,
    /// Lambda could not allocate it; `StatusReason` says why.
    Failed,
}

impl AllocationStatus {
    /// Lambda's name for it (`IN_PROGRESS`, `READY`, `FAILED`).
    pub const fn name(self) -> &'static str {
        match self {
            AllocationStatus::InProgress => "IN_PROGRESS",
            AllocationStatus::Ready => "READY",
            AllocationStatus::Failed => "FAILED",
        }
    }
}

/// An alias's provisioned-concurrency config, as GetProvisionedConcurrencyConfig returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConcurrencyConfig {
    /// `RequestedProvisionedConcurrentExecutions`.
    pub requested: u32,
    /// `AvailableProvisionedConcurrentExecutions`.
    pub available: u32,
    /// `AllocatedProvisionedConcurrentExecutions`.
    pub allocated: u32,
    /// `Status`.
    pub status: AllocationStatus,
    /// `StatusReason` (for failed allocations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

impl ConcurrencyConfig {
    /// Lambda's reason, bounded, or a placeholder when it gave none.
    pub(crate) fn reason(&self) -> String {
        self.status_reason
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .map_or_else(
                || "no reason given".to_owned(),
                |r| cut_chars(r, MAX_REASON_CHARS),
            )
    }
}

/// The input's optional `provisionedConcurrency` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadyWait {
    /// Seconds one write may wait for READY before the deployment rolls back.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_seconds: u32,
    /// Seconds between reads of the config while waiting; absent: [`DEFAULT_POLL_SECONDS`], or
    /// the shortest longer poll that fits the history budget (resolved by the limits check at
    /// Start Deployment).
    #[serde(default)]
    pub poll_seconds: Option<u32>,
}

fn default_ready_timeout() -> u32 {
    DEFAULT_READY_TIMEOUT_SECONDS
}

impl Default for ReadyWait {
    fn default() -> Self {
        ReadyWait {
            ready_timeout_seconds: DEFAULT_READY_TIMEOUT_SECONDS,
            poll_seconds: None,
        }
    }
}

impl ReadyWait {
    /// Checks the bounds, naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let within = |field: &str, value: u32, range: std::ops::RangeInclusive<u32>| {
            if range.contains(&value) {
                return Ok(());
            }
            Err(FieldError::new(
                format!("provisionedConcurrency.{field}"),
                format!(
                    "must be from {} to {} (got {value})",
                    range.start(),
                    range.end()
                ),
            ))
        };
        within(
            "readyTimeoutSeconds",
            self.ready_timeout_seconds,
            READY_TIMEOUT_RANGE,
        )?;
        match self.poll_seconds {
            Some(poll) => within("pollSeconds", poll, POLL_RANGE),
            None => Ok(()),
        }
    }

    /// The seconds between reads: as given, else [`DEFAULT_POLL_SECONDS`].
    pub fn poll(&self) -> u32 {
        self.poll_seconds.unwrap_or(DEFAULT_POLL_SECONDS)
    }
}

/// Seconds to the next read of a wait for READY with `left` seconds before the timeout: every
/// `poll` seconds, but never past a backstop read (`park_interval`) nor the timeout, so the
/// last read comes exactly at `readyTimeoutSeconds`. A document written before the poll
/// existed (`None`) reads at every park interval, as it was accepted.
pub fn next_read(poll: Option<u32>, park_interval: u32, left: u32) -> u32 {
    poll.map_or(park_interval, |p| p.min(park_interval))
        .min(left)
        .max(1)
}

/// How one wait for READY is expected to go, for `plan` and the history budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedWait {
    /// Reads of the config (each the end of a park: park, Check Health, What Next?).
    pub reads: u64,
    /// Seconds from the write to the read that ends the wait.
    pub seconds: u64,
    /// True when the allocation outlasts `readyTimeoutSeconds`: the last read still finds it
    /// IN_PROGRESS and the deployment rolls back with `ProvisionedConcurrencyFailed`.
    pub rolls_back: bool,
}

/// The wait after one write whose reallocation takes `allocation` seconds (`None`: the worst
/// case, never READY), read every `every` seconds (at least 1) until `timeout`: READY is seen
/// at the first read at or after the allocation's end, and the last read is at the timeout.
pub fn expected_wait(allocation: Option<u32>, timeout: u32, every: u32) -> ExpectedWait {
    let every = u64::from(every.max(1));
    let timeout = u64::from(timeout);
    let until = allocation.map_or(timeout, |a| u64::from(a).min(timeout));
    let reads = until.div_ceil(every).max(1);
    ExpectedWait {
        reads,
        seconds: (reads * every).min(timeout.max(1)),
        rolls_back: allocation.is_none_or(|a| u64::from(a) > timeout),
    }
}

/// The alias's provisioned concurrency, in the deployment document (absent without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedConcurrency {
    /// Executions requested on the alias (split between both versions while it routes).
    pub requested: u32,
    /// Seconds one write may wait for READY.
    pub ready_timeout_seconds: u32,
    /// Seconds between reads of the config while waiting (`provisionedConcurrency.pollSeconds`,
    /// resolved at Start Deployment); absent in documents written before it existed, which read
    /// at every park interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_seconds: Option<u32>,
    /// When the current wait for READY began (the write); absent when not waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<DateTime<Utc>>,
    /// Seconds spent waiting for READY so far, over every write.
    #[serde(default)]
    pub waited_seconds: u64,
    /// The config as last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<ConcurrencyConfig>,
    /// In a release train, the aliases with provisioned concurrency, by position in
    /// [`Deployment::members`] (0: the deployment's own alias); every one must be READY. Absent:
    /// the deployment's own alias only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<usize>>,
}

/// Pre-flight's judgment of the alias's config: the cause to refuse with when it is FAILED
/// (nothing has moved yet; a deployment would wait on an allocation that cannot succeed).
pub fn preflight_refusal(
    function: &str,
    alias: &str,
    config: &ConcurrencyConfig,
) -> Option<String> {
    (config.status == AllocationStatus::Failed).then(|| {
        format!(
            "provisioned concurrency of alias {alias} of {function} is FAILED ({} of {} \
             executions allocated): {}; fix or remove the config before deploying",
            config.allocated,
            config.requested,
            config.reason()
        )
    })
}

/// A wait for READY, judged from the config as read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// READY (or the config was removed meanwhile: nothing left to wait for).
    Ready,
    /// Still allocating: park again, at most this many seconds (the rest of the timeout).
    Waiting {
        /// Seconds left before `readyTimeoutSeconds` runs out (at least 1).
        left_seconds: u32,
    },
    /// FAILED, or not READY in time: the cause to roll back with.
    Failed(String),
}

/// The judgement of a wait for READY that has lasted `waited` seconds of `timeout`: `subject`
/// names the alias (or the train's aliases) and `at` where traffic is, for the cause.
pub fn judge_readiness(
    config: Option<&ConcurrencyConfig>,
    waited: i64,
    timeout: u32,
    subject: &str,
    at: &str,
) -> Readiness {
    let Some(config) = config else {
        return Readiness::Ready;
    };
    match config.status {
        AllocationStatus::Ready => Readiness::Ready,
        AllocationStatus::Failed => Readiness::Failed(format!(
            "provisioned concurrency of {subject} FAILED after the shift to {at} \
             ({} of {} executions allocated): {}",
            config.allocated,
            config.requested,
            config.reason()
        )),
        AllocationStatus::InProgress if waited >= i64::from(timeout) => Readiness::Failed(format!(
            "provisioned concurrency of {subject} was not READY {waited}s after the \
             shift to {at} (still IN_PROGRESS, {} of {} executions allocated; \
             provisionedConcurrency.readyTimeoutSeconds is {timeout})",
            config.allocated, config.requested
        )),
        AllocationStatus::InProgress => Readiness::Waiting {
            left_seconds: u32::try_from(i64::from(timeout) - waited)
                .unwrap_or(1)
                .max(1),
        },
    }
}

/// Several aliases' provisioned concurrency as one: READY only when every one is, FAILED when
/// any is (its reason named by alias), otherwise IN_PROGRESS; the counts are the sums.
pub fn combined(configs: &[(String, ConcurrencyConfig)]) -> ConcurrencyConfig {
    let worst = |status| configs.iter().any(|(_, c)| c.status == status);
    let status = if worst(AllocationStatus::Failed) {
        AllocationStatus::Failed
    } else if worst(AllocationStatus::InProgress) {
        AllocationStatus::InProgress
    } else {
        AllocationStatus::Ready
    };
    let reasons: Vec<String> = configs
        .iter()
        .filter(|(_, c)| c.status != AllocationStatus::Ready)
        .map(|(label, c)| {
            format!(
                "{label} {} ({} of {} allocated): {}",
                c.status.name(),
                c.allocated,
                c.requested,
                c.reason()
            )
        })
        .collect();
    let sum = |f: fn(&ConcurrencyConfig) -> u32| configs.iter().map(|(_, c)| f(c)).sum();
    ConcurrencyConfig {
        requested: sum(|c| c.requested),
        available: sum(|c| c.available),
        allocated: sum(|c| c.allocated),
        status,
        status_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_read_is_a_poll_away_never_past_a_backstop_read_or_the_timeout() {
        // (poll, park interval, seconds left) → seconds to the next read.
        for (poll, park, left, next) in [
            (Some(10), 300, 900, 10),
            (Some(60), 30, 900, 30),
            (Some(10), 300, 7, 7),
            (Some(10), 300, 0, 1),
            // A document from before the poll: every park interval, as it was budgeted.
            (None, 300, 900, 300),
            (None, 300, 120, 120),
        ] {
            assert_eq!(next_read(poll, park, left), next, "{poll:?} {park} {left}");
        }
    }

    #[test]
    fn a_reallocation_is_seen_at_the_first_poll_after_it_ends_or_rolls_back_at_the_timeout() {
        let wait = |allocation, timeout, every| expected_wait(allocation, timeout, every);
        // 10 s reallocation, read every 10 s: READY at the first read.
        assert_eq!(
            wait(Some(10), 900, 10),
            ExpectedWait {
                reads: 1,
                seconds: 10,
                rolls_back: false
            }
        );
        // The same at the default backstop interval: a whole interval (before the poll).
        assert_eq!(wait(Some(10), 900, 300).seconds, 300);
        // 75 s read every 10 s: the read at 80 s.
        assert_eq!(
            (
                wait(Some(75), 900, 10).reads,
                wait(Some(75), 900, 10).seconds
            ),
            (8, 80)
        );
        // Already READY still costs one read.
        assert_eq!(wait(Some(0), 900, 10).reads, 1);
        // Exactly the timeout is READY at the last read; one second more rolls back there.
        assert!(!wait(Some(900), 900, 10).rolls_back);
        let late = wait(Some(901), 900, 7);
        assert_eq!(
            (late.reads, late.seconds, late.rolls_back),
            (129, 900, true)
        );
        // The worst case: never READY.
        assert_eq!(
            wait(None, 900, 10),
            ExpectedWait {
                reads: 90,
                seconds: 900,
                rolls_back: true
            }
        );
    }
}
