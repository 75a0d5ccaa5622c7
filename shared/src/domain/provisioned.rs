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
}

fn default_ready_timeout() -> u32 {
    DEFAULT_READY_TIMEOUT_SECONDS
}

impl Default for ReadyWait {
    fn default() -> Self {
        ReadyWait {
            ready_timeout_seconds: DEFAULT_READY_TIMEOUT_SECONDS,
        }
    }
}

impl ReadyWait {
    /// Checks the bound, naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let t = self.ready_timeout_seconds;
        if READY_TIMEOUT_RANGE.contains(&t) {
            return Ok(());
        }
        Err(FieldError::new(
            "provisionedConcurrency.readyTimeoutSeconds",
            format!(
                "must be from {} to {} (got {t})",
                READY_TIMEOUT_RANGE.start(),
                READY_TIMEOUT_RANGE.end()
            ),
        ))
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
