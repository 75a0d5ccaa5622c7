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

use super::deployment::{AlarmReport, Decision, Deployment, DocumentError, Failure};
use super::failure::ErrorKind;
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

impl Deployment {
    /// Start Deployment: records the alias's provisioned concurrency, if it has any.
    pub fn with_provisioned_concurrency(
        mut self,
        config: Option<&ConcurrencyConfig>,
        wait: ReadyWait,
    ) -> Deployment {
        self.provisioned_concurrency = config.map(|c| ProvisionedConcurrency {
            requested: c.requested,
            ready_timeout_seconds: wait.ready_timeout_seconds,
            waiting_since: None,
            waited_seconds: 0,
            last_status: Some(c.clone()),
            aliases: None,
        });
        self
    }

    /// After a write of the alias: with provisioned concurrency, wait for READY first
    /// (decision `awaitProvisionedConcurrency`) and return true.
    pub(super) fn await_allocation(&mut self, now: DateTime<Utc>) -> bool {
        let interval = self.park_interval();
        let Some(pc) = self.provisioned_concurrency.as_mut() else {
            return false;
        };
        pc.waiting_since = Some(now);
        self.wait_seconds = interval.min(pc.ready_timeout_seconds);
        self.decision = Decision::AwaitProvisionedConcurrency;
        true
    }

    /// Check Health during a wait for READY: an alarm (read when watched) rolls back; READY
    /// starts the step's bake clock now; FAILED, or still IN_PROGRESS past
    /// `readyTimeoutSeconds`, rolls back with `ProvisionedConcurrencyFailed`; else park again.
    /// A config removed meanwhile leaves nothing to wait for. An operator's answer only wakes
    /// the wait early.
    pub fn allocation_checked(
        mut self,
        now: DateTime<Utc>,
        alarms: Option<&AlarmReport>,
        config: Option<&ConcurrencyConfig>,
    ) -> Result<Deployment, DocumentError> {
        if self.decision != Decision::AwaitProvisionedConcurrency {
            return Err(DocumentError::UnexpectedDecision {
                state: "Check Health (provisioned concurrency)",
                decision: self.decision,
            });
        }
        self.control = None;
        if let Some(failure) = self.watch(alarms) {
            return Ok(self.rolling_back(failure));
        }
        let interval = self.park_interval();
        // A release train's combined config names each alias in its reason.
        let (subject, at) = if self.train.is_empty() {
            let at = format!("{} on version {}", self.traffic, self.target_version);
            (format!("alias {}", self.alias), at)
        } else {
            let at = format!("{} on the new versions", self.traffic);
            ("the release train's aliases".to_owned(), at)
        };
        let Some(pc) = self.provisioned_concurrency.as_mut() else {
            return self.allocated(now);
        };
        pc.last_status = config.cloned();
        let since = *pc.waiting_since.get_or_insert(now);
        let waited = (now - since).num_seconds().max(0);
        let timeout = pc.ready_timeout_seconds;
        let Some(config) = config else {
            return self.allocated(now);
        };
        match config.status {
            AllocationStatus::Ready => self.allocated(now),
            AllocationStatus::Failed => {
                let cause = format!(
                    "provisioned concurrency of {subject} FAILED after the shift to {at} \
                     ({} of {} executions allocated): {}",
                    config.allocated,
                    config.requested,
                    config.reason()
                );
                let failure = Failure::new(ErrorKind::ProvisionedConcurrencyFailed, cause);
                Ok(self.rolling_back(failure))
            }
            AllocationStatus::InProgress if waited >= i64::from(timeout) => {
                let cause = format!(
                    "provisioned concurrency of {subject} was not READY {waited}s after the \
                     shift to {at} (still IN_PROGRESS, {} of {} executions allocated; \
                     provisionedConcurrency.readyTimeoutSeconds is {timeout})",
                    config.allocated, config.requested
                );
                let failure = Failure::new(ErrorKind::ProvisionedConcurrencyFailed, cause);
                Ok(self.rolling_back(failure))
            }
            AllocationStatus::InProgress => {
                let left = u32::try_from(i64::from(timeout) - waited)
                    .unwrap_or(1)
                    .max(1);
                self.wait_seconds = interval.min(left);
                Ok(self)
            }
        }
    }

    /// READY: the wait is over, the step's bake (and analysis window) starts now.
    fn allocated(mut self, now: DateTime<Utc>) -> Result<Deployment, DocumentError> {
        if let Some(pc) = self.provisioned_concurrency.as_mut()
            && let Some(since) = pc.waiting_since.take()
        {
            pc.waited_seconds += u64::try_from((now - since).num_seconds()).unwrap_or(0);
        }
        self.start_step_clock(now);
        let step = self.current_step()?;
        self.decide_after_write(step);
        Ok(self)
    }

    /// The longest the waits for READY can last: every write waiting its whole timeout.
    pub(super) fn longest_allocation_seconds(&self) -> u64 {
        self.provisioned_concurrency.as_ref().map_or(0, |pc| {
            self.plan.len() as u64 * u64::from(pc.ready_timeout_seconds)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::{AliasRoute, AliasState, DeploymentRequest};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
    }

    fn config(status: AllocationStatus, allocated: u32, reason: Option<&str>) -> ConcurrencyConfig {
        ConcurrencyConfig {
            requested: 50,
            available: allocated,
            allocated,
            status,
            status_reason: reason.map(str::to_owned),
        }
    }

    fn deployment(strategy: &str, extra: Value) -> Deployment {
        let mut input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
            "strategy":strategy,"alarms":["errors"],"checkIntervalSeconds":30});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let request = DeploymentRequest::from_json(&input).unwrap();
        let alias = AliasState {
            route: AliasRoute::single("1"),
            revision_id: "r1".into(),
        };
        let ready = config(AllocationStatus::Ready, 50, None);
        Deployment::start("exec".into(), &request, &alias, "2".into(), at(0))
            .with_provisioned_concurrency(Some(&ready), request.provisioned_concurrency)
    }

    fn shifted(d: Deployment, secs: i64) -> Deployment {
        let route = d.route_to_write().unwrap();
        let written = AliasState {
            route,
            revision_id: format!("r{secs}"),
        };
        d.shifted(&written, at(secs)).unwrap()
    }

    #[test]
    fn a_shift_waits_for_ready_and_the_bake_clock_starts_then() {
        let d = shifted(deployment("Canary10Percent5Minutes", json!({})), 0);
        assert_eq!(d.decision, Decision::AwaitProvisionedConcurrency);
        assert_eq!(d.wait_seconds, 30);
        let quiet = AlarmReport::default();
        let busy = config(AllocationStatus::InProgress, 20, None);
        let d = d
            .allocation_checked(at(30), Some(&quiet), Some(&busy))
            .unwrap();
        assert_eq!(
            (d.decision, d.wait_seconds),
            (Decision::AwaitProvisionedConcurrency, 30)
        );
        let ready = config(AllocationStatus::Ready, 50, None);
        let d = d
            .allocation_checked(at(60), Some(&quiet), Some(&ready))
            .unwrap();
        assert_eq!((d.decision, d.wait_seconds), (Decision::Bake, 30));
        assert_eq!(d.step_started_at, at(60), "the bake counts from READY");
        let pc = d.provisioned_concurrency.clone().unwrap();
        assert_eq!((pc.waiting_since, pc.waited_seconds), (None, 60));
        assert_eq!(d.alarm_checks, 2);
        // 300 s after READY, not after the shift.
        let d = d.checked(at(330), Some(&quiet)).unwrap();
        assert_eq!(d.decision, Decision::Bake);
        let d = d.checked(at(360), Some(&quiet)).unwrap();
        assert_eq!(d.decision, Decision::Promote);
        // The promotion waits too, then the run succeeds.
        let d = shifted(d, 360);
        assert_eq!(d.decision, Decision::AwaitProvisionedConcurrency);
        let d = d
            .allocation_checked(at(390), Some(&quiet), Some(&ready))
            .unwrap();
        assert_eq!(d.decision, Decision::Succeed);
    }

    #[test]
    fn failed_allocation_and_timeout_roll_back_naming_the_reason() {
        let d = shifted(deployment("Linear10PercentEvery1Minute", json!({})), 0);
        let quiet = AlarmReport::default();
        let failed = config(
            AllocationStatus::Failed,
            5,
            Some("FUNCTION_ERROR_INIT_FAILURE: init crashed"),
        );
        let r = d
            .clone()
            .allocation_checked(at(30), Some(&quiet), Some(&failed))
            .unwrap();
        assert_eq!(r.decision, Decision::Rollback);
        let f = r.failure.unwrap();
        assert_eq!(f.error, ErrorKind::ProvisionedConcurrencyFailed);
        assert!(
            f.cause
                .contains("FUNCTION_ERROR_INIT_FAILURE: init crashed"),
            "{}",
            f.cause
        );
        assert!(f.cause.contains("10% on version 2"), "{}", f.cause);

        let mut short = deployment(
            "Linear10PercentEvery1Minute",
            json!({"provisionedConcurrency": {"readyTimeoutSeconds": 60}}),
        );
        short = shifted(short, 0);
        let busy = config(AllocationStatus::InProgress, 20, None);
        let d = short
            .allocation_checked(at(30), Some(&quiet), Some(&busy))
            .unwrap();
        assert_eq!(
            (d.decision, d.wait_seconds),
            (Decision::AwaitProvisionedConcurrency, 30)
        );
        let d = d
            .allocation_checked(at(59), Some(&quiet), Some(&busy))
            .unwrap();
        assert_eq!(d.wait_seconds, 1, "the last wait is cut to the timeout");
        let r = d
            .allocation_checked(at(60), Some(&quiet), Some(&busy))
            .unwrap();
        let f = r.failure.unwrap();
        assert_eq!(f.error, ErrorKind::ProvisionedConcurrencyFailed);
        assert!(f.cause.contains("not READY 60s after"), "{}", f.cause);
    }

    #[test]
    fn an_alarm_during_the_wait_rolls_back_and_no_config_means_no_wait() {
        let d = shifted(deployment("Canary10Percent5Minutes", json!({})), 0);
        let firing = AlarmReport {
            in_alarm: vec!["errors".into()],
            missing: vec![],
        };
        let busy = config(AllocationStatus::InProgress, 20, None);
        let r = d
            .clone()
            .allocation_checked(at(30), Some(&firing), Some(&busy))
            .unwrap();
        assert_eq!(r.failure.unwrap().error, ErrorKind::AlarmTriggered);
        assert!(d.needs_alarm_check());
        let gone = d.allocation_checked(at(30), None, None).unwrap();
        assert_eq!(
            (gone.decision, gone.step_started_at),
            (Decision::Bake, at(30))
        );

        let mut plain = deployment("Canary10Percent5Minutes", json!({}));
        plain = plain.with_provisioned_concurrency(None, ReadyWait::default());
        assert!(plain.provisioned_concurrency.is_none());
        let d = shifted(plain, 0);
        assert_eq!(d.decision, Decision::Bake);
        assert!(
            serde_json::to_value(&d)
                .unwrap()
                .get("provisionedConcurrency")
                .is_none()
        );
        assert!(d.allocation_checked(at(30), None, None).is_err());
    }

    #[test]
    fn status_names_are_lambda_s() {
        for status in [
            AllocationStatus::InProgress,
            AllocationStatus::Ready,
            AllocationStatus::Failed,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), json!(status.name()));
        }
    }

    #[test]
    fn preflight_refuses_only_a_failed_config() {
        let failed = config(
            AllocationStatus::Failed,
            0,
            Some("account concurrency limit"),
        );
        let why = preflight_refusal("orders", "live", &failed).unwrap();
        assert!(
            why.contains("FAILED") && why.contains("account concurrency limit"),
            "{why}"
        );
        for status in [AllocationStatus::Ready, AllocationStatus::InProgress] {
            assert_eq!(
                preflight_refusal("orders", "live", &config(status, 1, None)),
                None
            );
        }
    }

    #[test]
    fn the_ready_timeout_is_validated_by_field() {
        for bad in [json!(0), json!(59), json!(3601), json!("900"), json!(-1)] {
            let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
                "strategy":"AllAtOnce","provisionedConcurrency":{"readyTimeoutSeconds": bad}});
            let e = DeploymentRequest::from_json(&input).unwrap_err();
            assert_eq!(
                e.field, "provisionedConcurrency.readyTimeoutSeconds",
                "{bad}: {e}"
            );
        }
        let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
            "strategy":"AllAtOnce","provisionedConcurrency":{"readyTimeout": 60}});
        let e = DeploymentRequest::from_json(&input).unwrap_err();
        assert!(e.field.starts_with("provisionedConcurrency"), "{e}");
        let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
            "strategy":"AllAtOnce"});
        let r = DeploymentRequest::from_json(&input).unwrap();
        assert_eq!(r.provisioned_concurrency.ready_timeout_seconds, 900);
    }
}
