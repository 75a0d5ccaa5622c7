//! An in-memory Lambda account: functions, published versions and aliases with Lambda's rules.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::clock::{Chaos, ChaosState, ChaosStats, Drawn, ManualClock};
use crate::domain::provisioned::{AllocationStatus, ConcurrencyConfig};
use crate::domain::request::function_short_name;
use crate::domain::{AliasRoute, AliasState};
use crate::error::ShifterError;
use crate::ports::{AliasRouter, Clock, ConcurrencyReader, FunctionRegistry, VersionInfo};

/// Who wrote an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Writer {
    /// Through the `AliasRouter` port (the deployment).
    Deployment,
    /// Someone else (a person, another pipeline, an injected fault).
    Other,
}

/// One write to an alias, as recorded by the fake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasWrite {
    /// When.
    pub at: DateTime<Utc>,
    /// Function name.
    pub function: String,
    /// Alias name.
    pub alias: String,
    /// What it routes to afterwards.
    pub route: AliasRoute,
    /// Its new RevisionId.
    pub revision_id: String,
    /// Who wrote it.
    pub by: Writer,
}

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

#[derive(Debug, Default)]
struct Function {
    /// $LATEST changed since the last published version.
    latest_changed: bool,
    role: String,
    dead_letter_target: Option<String>,
    versions: BTreeMap<u64, VersionInfo>,
    aliases: BTreeMap<String, AliasState>,
}

#[derive(Debug, Default)]
struct Account {
    functions: BTreeMap<String, Function>,
    writes: u64,
    history: Vec<AliasWrite>,
    calls: BTreeMap<LambdaOp, u64>,
    faults: BTreeMap<(LambdaOp, u64), Fault>,
    /// Seeded random faults, quota and latency.
    chaos: Option<ChaosState>,
    /// Routes whose next writes fail with a 5xx, and how many more times.
    failing_writes: Vec<(AliasRoute, u32)>,
    /// Someone else's alias changes, applied at the first call at or after their time.
    scheduled: Vec<ScheduledChange>,
    /// Provisioned-concurrency configs, by function and alias.
    provisioned: BTreeMap<(String, String), Provisioned>,
}

/// A provisioned-concurrency config on an alias: every write that changes the alias's
/// routing starts a new allocation, IN_PROGRESS for `allocation_seconds`, then READY — or
/// FAILED when it is the scripted failing one.
#[derive(Debug, Clone)]
struct Provisioned {
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

/// An alias change by someone else, due at a virtual time.
#[derive(Debug, Clone)]
struct ScheduledChange {
    at: DateTime<Utc>,
    function: String,
    alias: String,
    route: AliasRoute,
}

/// A Lambda account in memory. RevisionId changes on every alias write and stale ones are
/// rejected; only published versions can be routed to; both routed versions must share role
/// and dead-letter config, as Lambda requires.
#[derive(Clone)]
pub struct FakeLambda {
    account: Arc<Mutex<Account>>,
    clock: Arc<dyn Clock>,
}

impl FakeLambda {
    /// An empty account on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeLambda {
            account: Arc::new(Mutex::new(Account::default())),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An account with one function: `versions` published versions sharing one execution
    /// role, and `alias` on version 1 — where most deployment tests start.
    pub fn with_function(clock: Arc<dyn Clock>, name: &str, versions: u32, alias: &str) -> Self {
        let lambda = FakeLambda::new(clock);
        lambda.add_function(name, &format!("arn:aws:iam::123456789012:role/{name}"));
        for _ in 0..versions {
            lambda.publish(name);
        }
        lambda.put_alias(name, alias, AliasRoute::single("1"));
        lambda
    }

    /// Creates a function (only `$LATEST`) with an execution role.
    pub fn add_function(&self, name: &str, role: &str) {
        self.lock().functions.insert(
            name.to_owned(),
            Function {
                latest_changed: true,
                role: role.to_owned(),
                ..Function::default()
            },
        );
    }

    /// Sets the dead-letter target that versions published from now on carry.
    pub fn set_dead_letter_target(&self, name: &str, target: Option<&str>) {
        if let Some(f) = self.lock().functions.get_mut(name) {
            f.dead_letter_target = target.map(str::to_owned);
        }
    }

    /// Deploys new code to `$LATEST` and publishes it as the next version; `None` if the
    /// function does not exist.
    pub fn publish(&self, name: &str) -> Option<String> {
        self.update_code(name);
        let mut account = self.lock();
        Some(Self::publish_latest(account.functions.get_mut(name)?).version)
    }

    /// Deploys new code to `$LATEST` without publishing it.
    pub fn update_code(&self, name: &str) {
        if let Some(f) = self.lock().functions.get_mut(name) {
            f.latest_changed = true;
        }
    }

    /// Lambda's PublishVersion: a new version when `$LATEST` changed, else the latest one.
    fn publish_latest(f: &mut Function) -> VersionInfo {
        if !f.latest_changed
            && let Some(info) = f.versions.values().next_back()
        {
            return info.clone();
        }
        f.latest_changed = false;
        let next = f.versions.keys().next_back().map_or(1, |v| v + 1);
        let info = VersionInfo {
            version: next.to_string(),
            role: f.role.clone(),
            dead_letter_target: f.dead_letter_target.clone(),
        };
        f.versions.insert(next, info.clone());
        info
    }

    /// Creates (or overwrites) an alias, as someone outside the deployment would.
    pub fn put_alias(&self, name: &str, alias: &str, route: AliasRoute) -> Option<String> {
        let mut account = self.lock();
        Self::write(
            &mut account,
            self.clock.now(),
            name,
            alias,
            route,
            Writer::Other,
        )
    }

    /// The alias as it is now.
    pub fn alias(&self, name: &str, alias: &str) -> Option<AliasState> {
        self.lock()
            .functions
            .get(function_short_name(name))?
            .aliases
            .get(alias)
            .cloned()
    }

    /// The highest published version.
    pub fn latest_published(&self, name: &str) -> Option<String> {
        self.lock()
            .functions
            .get(name)?
            .versions
            .keys()
            .next_back()
            .map(u64::to_string)
    }

    /// Every alias write so far, in order.
    pub fn history(&self) -> Vec<AliasWrite> {
        self.lock().history.clone()
    }

    /// The routes written through the port (by the deployment), in order.
    pub fn deployment_writes(&self) -> Vec<AliasRoute> {
        self.lock()
            .history
            .iter()
            .filter(|w| w.by == Writer::Deployment)
            .map(|w| w.route.clone())
            .collect()
    }

    /// How many times the port called `op`.
    pub fn calls(&self, op: LambdaOp) -> u64 {
        self.lock().calls.get(&op).copied().unwrap_or(0)
    }

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

    /// Injects `fault` into the `nth` (1-based) call of `op`.
    pub fn inject(&self, op: LambdaOp, nth: u64, fault: Fault) {
        self.lock().faults.insert((op, nth), fault);
    }

    fn write(
        account: &mut Account,
        at: DateTime<Utc>,
        name: &str,
        alias: &str,
        route: AliasRoute,
        by: Writer,
    ) -> Option<String> {
        account.writes += 1;
        let revision_id = format!(
            "{:08x}-rev{}",
            account.writes.wrapping_mul(0x9e37_79b9),
            account.writes
        );
        let f = account.functions.get_mut(name)?;
        let previous = f.aliases.insert(
            alias.to_owned(),
            AliasState {
                route: route.clone(),
                revision_id: revision_id.clone(),
            },
        );
        if previous.is_none_or(|p| p.route != route)
            && let Some(pc) = account
                .provisioned
                .get_mut(&(name.to_owned(), alias.to_owned()))
        {
            pc.since = Some(at);
            pc.allocations += 1;
        }
        account.history.push(AliasWrite {
            at,
            function: name.to_owned(),
            alias: alias.to_owned(),
            route,
            revision_id: revision_id.clone(),
            by,
        });
        Some(revision_id)
    }

    /// Counts the call and returns the fault planned for it, if any.
    fn begin(&self, account: &mut Account, op: LambdaOp) -> Option<Fault> {
        let now = self.clock.now();
        Self::apply_scheduled(account, now);
        let n = account.calls.entry(op).or_insert(0);
        *n += 1;
        let nth = *n;
        if let Some(fault) = account.faults.remove(&(op, nth)) {
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
    async fn latency(&self) {
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

    fn injected_error(op: LambdaOp, fault: &Fault) -> Option<ShifterError> {
        match fault {
            Fault::Throttle => Some(ShifterError::transient(
                format!("{op:?}"),
                "TooManyRequestsException: Rate exceeded",
            )),
            Fault::ServerError => Some(ShifterError::transient(
                format!("{op:?}"),
                "ServiceException: 500 Internal Server Error",
            )),
            _ => None,
        }
    }

    fn validate_route(
        f: &Function,
        function: &str,
        route: &AliasRoute,
    ) -> Result<(), ShifterError> {
        let published = |v: &str| v.parse::<u64>().ok().and_then(|n| f.versions.get(&n));
        let primary = match published(&route.version) {
            Some(info) => Some(info),
            None if route.version == "$LATEST" && route.additional.is_none() => None,
            None => {
                return Err(ShifterError::not_found(format!(
                    "version {} of function {function}",
                    route.version
                )));
            }
        };
        if let Some(extra) = &route.additional {
            let Some(primary) = primary else {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    "weighted routing is not allowed on an alias that points at $LATEST",
                ));
            };
            let Some(info) = published(&extra.version) else {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    format!(
                        "version {} is not a published version of {function}",
                        extra.version
                    ),
                ));
            };
            if extra.version == route.version {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    "the additional version must differ from the alias's version",
                ));
            }
            if !info.routable_with(primary) {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    format!(
                        "versions {} and {} of {function} differ in execution role or dead-letter \
                         config; Lambda only routes between versions that share both",
                        route.version, extra.version
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AliasRouter for FakeLambda {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        if let Some(err) = self
            .begin(&mut account, LambdaOp::GetAlias)
            .and_then(|f| Self::injected_error(LambdaOp::GetAlias, &f))
        {
            return Err(err);
        }
        Self::existing_alias(&account, function, alias).cloned()
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError> {
        self.latency().await;
        let now = self.clock.now();
        let mut account = self.lock();
        let fault = self.update_fault(&mut account, route);
        if let Some(err) = fault
            .as_ref()
            .and_then(|f| Self::injected_error(LambdaOp::UpdateAlias, f))
        {
            return Err(err);
        }
        let name = function_short_name(function);
        if let Some(Fault::DriftTo(theirs)) = &fault {
            Self::write(
                &mut account,
                now,
                name,
                alias,
                theirs.clone(),
                Writer::Other,
            );
        }
        let revision_id =
            Self::conditional_write(&mut account, now, name, alias, route, expected_revision)?;
        if fault == Some(Fault::CrashAfterWrite) {
            return Err(ShifterError::transient(
                "UpdateAlias",
                "connection reset after the request was sent (the write may have landed)",
            ));
        }
        Ok(AliasState {
            route: route.clone(),
            revision_id,
        })
    }
}

impl FakeLambda {
    /// The alias of `function` (name or ARN), or `NotFound` naming the function or the alias,
    /// as GetAlias answers.
    fn existing_alias<'a>(
        account: &'a Account,
        function: &str,
        alias: &str,
    ) -> Result<&'a AliasState, ShifterError> {
        let name = function_short_name(function);
        let f = account
            .functions
            .get(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))?;
        f.aliases
            .get(alias)
            .ok_or_else(|| ShifterError::not_found(format!("alias {alias} of function {name}")))
    }

    /// The fault of one UpdateAlias call: a scripted failing write of `route` wins over what
    /// [`FakeLambda::begin`] planned or drew (which still counts the call).
    fn update_fault(&self, account: &mut Account, route: &AliasRoute) -> Option<Fault> {
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

    /// UpdateAlias with a RevisionId: `AliasDrift` when it is stale, then Lambda's routing
    /// rules, then the write; returns the new RevisionId.
    /// https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html
    fn conditional_write(
        account: &mut Account,
        now: DateTime<Utc>,
        name: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<String, ShifterError> {
        let f = account
            .functions
            .get(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))?;
        let current = f
            .aliases
            .get(alias)
            .ok_or_else(|| ShifterError::not_found(format!("alias {alias} of function {name}")))?;
        if current.revision_id != expected_revision {
            return Err(ShifterError::AliasDrift(format!(
                "alias {alias} of {name} has RevisionId {} but the update expected {expected_revision}; \
                 it now routes {}",
                current.revision_id, current.route
            )));
        }
        Self::validate_route(f, name, route)?;
        Self::write(account, now, name, alias, route.clone(), Writer::Deployment)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))
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
        Self::apply_scheduled(&mut account, now);
        let op = LambdaOp::GetProvisionedConcurrency;
        let n = account.calls.entry(op).or_insert(0);
        *n += 1;
        let nth = *n;
        if let Some(err) = account
            .faults
            .remove(&(op, nth))
            .and_then(|f| Self::injected_error(op, &f))
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

#[async_trait]
impl FunctionRegistry for FakeLambda {
    async fn function_exists(&self, function: &str) -> Result<bool, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        if let Some(err) = self
            .begin(&mut account, LambdaOp::GetFunction)
            .and_then(|f| Self::injected_error(LambdaOp::GetFunction, &f))
        {
            return Err(err);
        }
        Ok(account
            .functions
            .contains_key(function_short_name(function)))
    }

    async fn version(
        &self,
        function: &str,
        version: &str,
    ) -> Result<Option<VersionInfo>, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        if let Some(err) = self
            .begin(&mut account, LambdaOp::GetFunction)
            .and_then(|f| Self::injected_error(LambdaOp::GetFunction, &f))
        {
            return Err(err);
        }
        let name = function_short_name(function);
        let f = account
            .functions
            .get(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))?;
        Ok(version
            .parse::<u64>()
            .ok()
            .and_then(|n| f.versions.get(&n))
            .cloned())
    }

    async fn latest_published_version(
        &self,
        function: &str,
    ) -> Result<Option<String>, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        if let Some(err) = self
            .begin(&mut account, LambdaOp::ListVersions)
            .and_then(|f| Self::injected_error(LambdaOp::ListVersions, &f))
        {
            return Err(err);
        }
        let name = function_short_name(function);
        let f = account
            .functions
            .get(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))?;
        Ok(f.versions.keys().next_back().map(u64::to_string))
    }

    async fn publish_version(&self, function: &str) -> Result<VersionInfo, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        if let Some(err) = self
            .begin(&mut account, LambdaOp::PublishVersion)
            .and_then(|f| Self::injected_error(LambdaOp::PublishVersion, &f))
        {
            return Err(err);
        }
        let name = function_short_name(function);
        let f = account
            .functions
            .get_mut(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))?;
        Ok(Self::publish_latest(f))
    }
}
