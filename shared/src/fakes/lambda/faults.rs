//! Call counting and faults: scripted faults by call, seeded chaos, failing writes of a route,
//! and someone else's alias changes due at a virtual time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Account, FakeLambda, Writer};
use crate::domain::AliasRoute;
use crate::error::ShifterError;
use crate::fakes::clock::{Chaos, ChaosState, ChaosStats, Drawn, ManualClock};

/// A fault the fake injects into a call of the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `TooManyRequestsException`, before anything happens.
    Throttle,
    /// A 5xx, before anything happens.
    ServerError,
    /// The write takes effect, then the response is lost (a timeout the caller sees as transient).
    CrashAfterWrite,
    /// Someone else writes this route to the alias just before the call runs.
    DriftTo(AliasRoute),
    /// IAM refuses the call (403 `AccessDeniedException`): the caller's role lacks the action
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html>).
    AccessDenied,
}

/// Port operations the fake counts and can inject faults into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LambdaOp {
    /// GetAlias.
    GetAlias,
    /// UpdateAlias.
    UpdateAlias,
    /// GetFunction / GetFunctionConfiguration.
    GetFunction,
    /// ListVersionsByFunction.
    ListVersions,
    /// PublishVersion.
    PublishVersion,
    /// GetProvisionedConcurrencyConfig.
    GetProvisionedConcurrency,
}

/// An alias change by someone else, due at a virtual time.
#[derive(Debug, Clone)]
pub(super) struct ScheduledChange {
    at: DateTime<Utc>,
    function: String,
    alias: String,
    route: AliasRoute,
}

impl FakeLambda {
    /// How many times the port called `op`.
    pub fn calls(&self, op: LambdaOp) -> u64 {
        self.lock().calls.get(&op).copied().unwrap_or(0)
    }

    /// Injects `fault` into the `nth` (1-based) call of `op`.
    pub fn inject(&self, op: LambdaOp, nth: u64, fault: Fault) {
        self.lock().faults.insert((op, nth), fault);
    }

    /// Counts the call and returns the fault planned for it, if any.
    pub(super) fn begin(&self, account: &mut Account, op: LambdaOp) -> Option<Fault> {
        let now = self.clock.now();
        if let Some(fault) = Self::scripted(account, now, op) {
            return Some(fault);
        }
        match account
            .chaos
            .as_mut()?
            .draw(now, op == LambdaOp::UpdateAlias)
        {
            Drawn::Pass => None,
            Drawn::OverQuota | Drawn::Throttle => Some(Fault::Throttle),
            Drawn::ServerError => Some(Fault::ServerError),
            Drawn::CrashAfterWrite => Some(Fault::CrashAfterWrite),
        }
    }

    /// Applies someone else's changes due at `now`, counts the call and returns the fault
    /// scripted for it, if any (seeded chaos does not draw here).
    pub(super) fn scripted(
        account: &mut Account,
        now: DateTime<Utc>,
        op: LambdaOp,
    ) -> Option<Fault> {
        Self::apply_scheduled(account, now);
        let n = account.calls.entry(op).or_insert(0);
        *n += 1;
        let nth = *n;
        account.faults.remove(&(op, nth))
    }

    /// Applies someone else's changes that are due.
    fn apply_scheduled(account: &mut Account, now: DateTime<Utc>) {
        if account.scheduled.is_empty() {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut account.scheduled)
            .into_iter()
            .partition(|c| c.at <= now);
        account.scheduled = later;
        for c in due {
            Self::write(account, now, &c.function, &c.alias, c.route, Writer::Other);
        }
    }

    /// Sleeps the call's latency, if chaos asks for one.
    pub(super) async fn latency(&self) {
        let delay = self.lock().chaos.as_mut().and_then(ChaosState::latency);
        if let Some((clock, by)) = delay {
            clock.sleep(by).await;
        }
    }

    /// Draws faults at random from `chaos` on every call from now on, sleeping latency on `clock`.
    pub fn set_chaos(&self, chaos: Chaos, clock: &ManualClock) {
        self.lock().chaos = Some(ChaosState::new(chaos, clock.clone()));
    }

    /// What chaos did so far (all zero without chaos).
    pub fn chaos_stats(&self) -> ChaosStats {
        self.lock()
            .chaos
            .as_ref()
            .map(|c| c.stats)
            .unwrap_or_default()
    }

    /// The next `times` UpdateAlias calls that would write exactly `route` fail with a 5xx
    /// before anything happens (e.g. the restore of a snapshot: a Roll Back that keeps failing).
    pub fn fail_writes_of(&self, route: AliasRoute, times: u32) {
        self.lock().failing_writes.push((route, times));
    }

    /// Someone else points the alias at `route` at virtual time `at` (seen by the first call
    /// made at or after it).
    pub fn change_alias_at(
        &self,
        at: DateTime<Utc>,
        function: &str,
        alias: &str,
        route: AliasRoute,
    ) {
        self.lock().scheduled.push(ScheduledChange {
            at,
            function: function.to_owned(),
            alias: alias.to_owned(),
            route,
        });
    }

    /// Counts a call of `op` and fails it with its planned or drawn throttle or 5xx, if any.
    pub(super) fn admit(&self, account: &mut Account, op: LambdaOp) -> Result<(), ShifterError> {
        match self
            .begin(account, op)
            .and_then(|f| Self::injected_error(op, &f))
        {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    pub(super) fn injected_error(op: LambdaOp, fault: &Fault) -> Option<ShifterError> {
        match fault {
            Fault::Throttle => Some(ShifterError::transient(
                format!("{op:?}"),
                "TooManyRequestsException: Rate exceeded",
            )),
            Fault::ServerError => Some(ShifterError::transient(
                format!("{op:?}"),
                "ServiceException: 500 Internal Server Error",
            )),
            Fault::AccessDenied => Some(ShifterError::AccessDenied(format!(
                "access denied: the function's role lacks lambda:{op:?} ({op:?}: \
                 AccessDeniedException)"
            ))),
            _ => None,
        }
    }

    /// The fault of one UpdateAlias call: a scripted failing write of `route` wins over what
    /// [`FakeLambda::begin`] planned or drew (which still counts the call).
    pub(super) fn update_fault(&self, account: &mut Account, route: &AliasRoute) -> Option<Fault> {
        let planned = self.begin(account, LambdaOp::UpdateAlias);
        let Some((_, left)) = account
            .failing_writes
            .iter_mut()
            .find(|(r, left)| r == route && *left > 0)
        else {
            return planned;
        };
        *left -= 1;
        if let Some(c) = account.chaos.as_mut() {
            c.stats.server_errors += 1;
        }
        Some(Fault::ServerError)
    }
}
