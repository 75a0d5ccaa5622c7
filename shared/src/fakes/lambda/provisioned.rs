//! Provisioned concurrency on aliases: every write that changes an alias's routing starts a
//! new allocation, as Lambda reallocates on a routing change
//! (<https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html>).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Account, FakeLambda, LambdaOp};
use crate::domain::alias::function_short_name;
use crate::domain::provisioned::{AllocationStatus, ConcurrencyConfig};
use crate::error::ShifterError;
use crate::ports::ConcurrencyReader;

/// A provisioned-concurrency config on an alias: every write that changes the alias's
/// routing starts a new allocation, IN_PROGRESS for `allocation_seconds`, then READY — or
/// FAILED when it is the scripted failing one.
#[derive(Debug, Clone)]
pub(super) struct Provisioned {
    requested: u32,
    allocation_seconds: i64,
    /// When the current allocation began; `None`: allocated before the run.
    since: Option<DateTime<Utc>>,
    /// Allocations started by alias writes so far.
    allocations: u32,
    /// The allocation (counted as `allocations`; 0 = the one in place) that fails, and why.
    failing: Option<(u32, String)>,
}

impl Provisioned {
    /// The config at `now`, as GetProvisionedConcurrencyConfig answers.
    fn status(&self, now: DateTime<Utc>) -> ConcurrencyConfig {
        let elapsed = self
            .since
            .map_or(i64::MAX, |s| (now - s).num_seconds().max(0));
        let done = elapsed >= self.allocation_seconds;
        let share = if done || self.allocation_seconds == 0 {
            self.requested
        } else {
            let part = i64::from(self.requested) * elapsed / self.allocation_seconds;
            u32::try_from(part).unwrap_or(self.requested)
        };
        let failed = match &self.failing {
            Some((n, reason)) if *n == self.allocations && done => Some(reason.clone()),
            _ => None,
        };
        let status = match (&failed, done) {
            (Some(_), _) => AllocationStatus::Failed,
            (None, true) => AllocationStatus::Ready,
            (None, false) => AllocationStatus::InProgress,
        };
        // Lambda documents only the status and reason of a failed allocation; the fake reports
        // none of it allocated.
        let allocated = if failed.is_some() { 0 } else { share };
        ConcurrencyConfig {
            requested: self.requested,
            available: allocated,
            allocated,
            status,
            status_reason: failed,
        }
    }
}

impl Account {
    /// A routing change of the alias starts a new allocation of its config, if it has one.
    pub(super) fn reallocate(&mut self, function: &str, alias: &str, at: DateTime<Utc>) {
        if let Some(pc) = self
            .provisioned
            .get_mut(&(function.to_owned(), alias.to_owned()))
        {
            pc.since = Some(at);
            pc.allocations += 1;
        }
    }
}

impl FakeLambda {
    /// Gives the alias `requested` provisioned concurrency, allocated already; every later
    /// write that changes its routing reallocates it for `allocation_seconds`.
    pub fn set_provisioned_concurrency(
        &self,
        function: &str,
        alias: &str,
        requested: u32,
        allocation_seconds: u32,
    ) {
        self.lock().provisioned.insert(
            (function.to_owned(), alias.to_owned()),
            Provisioned {
                requested,
                allocation_seconds: i64::from(allocation_seconds),
                since: None,
                allocations: 0,
                failing: None,
            },
        );
    }

    /// The allocation started by the alias's `nth` routing change from now on (0: the one in
    /// place) ends FAILED with `reason`.
    pub fn fail_provisioned_concurrency(
        &self,
        function: &str,
        alias: &str,
        nth: u32,
        reason: &str,
    ) {
        let mut account = self.lock();
        if let Some(pc) = account
            .provisioned
            .get_mut(&(function.to_owned(), alias.to_owned()))
        {
            pc.failing = Some((pc.allocations + nth, reason.to_owned()));
        }
    }
}

/// GetProvisionedConcurrencyConfig with the alias as qualifier: `None` when the alias has no
/// config (Lambda's `ProvisionedConcurrencyConfigNotFoundException`),
/// <https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html>.
/// Scripted faults apply; seeded chaos does not draw on this call.
#[async_trait]
impl ConcurrencyReader for FakeLambda {
    async fn provisioned_concurrency(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ConcurrencyConfig>, ShifterError> {
        let now = self.clock.now();
        let mut account = self.lock();
        let op = LambdaOp::GetProvisionedConcurrency;
        if let Some(err) =
            Self::scripted(&mut account, now, op).and_then(|f| Self::injected_error(op, &f))
        {
            return Err(err);
        }
        Self::existing_alias(&account, function, alias)?;
        let name = function_short_name(function);
        Ok(account
            .provisioned
            .get(&(name.to_owned(), alias.to_owned()))
            .map(|pc| pc.status(now)))
    }
}
