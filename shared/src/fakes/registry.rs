//! The registry of active deployments in memory, with the DynamoDB table's semantics: the lock
//! is a conditional put (`attribute_not_exists(pk)`, or an expired item, or the same deployment
//! id), updates are conditional on the deployment still holding the lock, and items past their
//! TTL attribute count as gone (DynamoDB deletes them only eventually, so the adapter checks
//! `expiresAt` itself; see
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html> and
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::domain::LastWrite;
use crate::error::ShifterError;
use crate::ports::{
    ActiveDeployment, Clock, DeploymentRegistry, Lock, Parked, ParkedTask, RolledBackVersion,
};

/// The lock item of one alias, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LockEntry {
    /// The deployment holding the lock.
    pub deployment: ActiveDeployment,
    /// Its parked task, if it parked one.
    pub parked: Option<ParkedTask>,
    /// An alarm that fired while nothing was parked (`pendingAlarm`).
    pub pending_alarm: Option<String>,
    /// The deployment's latest alias write, noted before it was sent (`lastWrite`).
    pub last_write: Option<LastWrite>,
}

#[derive(Debug, Default)]
struct Table {
    /// Lock items by (function, alias).
    locks: BTreeMap<(String, String), LockEntry>,
    /// Watch items by (alarm, deployment id) → (function, alias, expires_at).
    watches: BTreeMap<(String, String), (String, String, i64)>,
    /// Rolled-back versions by (function, alias, version).
    rolled_back: BTreeMap<(String, String, String), RolledBackVersion>,
    /// The next this many calls fail as throttled.
    fail_next: u32,
    /// The next this many `mark_rolled_back` calls fail as throttled.
    fail_marks: u32,
    /// Calls made (each one DynamoDB request or transaction).
    calls: u64,
}

/// [`DeploymentRegistry`] in memory, expiring entries against `clock`.
#[derive(Clone)]
pub struct FakeRegistry {
    table: Arc<Mutex<Table>>,
    clock: Arc<dyn Clock>,
}

impl FakeRegistry {
    /// An empty table on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeRegistry {
            table: Arc::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `n` calls fail with `Transient` (DynamoDB throttling).
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }

    /// The next `n` `mark_rolled_back` calls fail with `Transient`.
    pub fn fail_marks(&self, n: u32) {
        self.lock().fail_marks = n;
    }

    /// The lock item of `function:alias` as stored (expired or not), if any.
    pub fn entry(&self, function: &str, alias: &str) -> Option<LockEntry> {
        self.lock().locks.get(&alias_key(function, alias)).cloned()
    }

    /// How many watch items are stored (expired or not).
    pub fn watch_items(&self) -> usize {
        self.lock().watches.len()
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// Counts the call and draws an injected failure.
    fn begin(&self, operation: &str) -> Result<MutexGuard<'_, Table>, ShifterError> {
        let mut table = self.lock();
        table.calls += 1;
        if table.fail_next > 0 {
            table.fail_next -= 1;
            return Err(ShifterError::transient(
                operation,
                "ProvisionedThroughputExceededException: the request rate is too high",
            ));
        }
        Ok(table)
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

/// The table key of `function:alias`: the function's name whichever way it is spelled (name or
/// ARN), as the adapter's `ALIAS#<name>#<alias>`.
fn alias_key(function: &str, alias: &str) -> (String, String) {
    let name = crate::domain::alias::function_short_name(function);
    (name.to_owned(), alias.to_owned())
}

/// The lock item of `function:alias` when it is live and held by `deployment_id`.
fn held<'t>(
    table: &'t mut Table,
    now: i64,
    function: &str,
    alias: &str,
    deployment_id: &str,
) -> Option<&'t mut LockEntry> {
    table
        .locks
        .get_mut(&alias_key(function, alias))
        .filter(|e| e.deployment.deployment_id == deployment_id && e.deployment.expires_at >= now)
}

#[async_trait]
impl DeploymentRegistry for FakeRegistry {
    async fn acquire(&self, deployment: &ActiveDeployment) -> Result<Lock, ShifterError> {
        let now = self.now();
        let mut table = self.begin("DynamoDB TransactWriteItems (acquire)")?;
        let key = alias_key(&deployment.function, &deployment.alias);
        if let Some(holder) = table.locks.get(&key).map(|e| &e.deployment)
            && holder.expires_at >= now
            && holder.deployment_id != deployment.deployment_id
        {
            return Ok(Lock::HeldBy(holder.clone()));
        }
        // A conditional PutItem replaces the whole item.
        table.locks.insert(
            key,
            LockEntry {
                deployment: deployment.clone(),
                parked: None,
                pending_alarm: None,
                last_write: None,
            },
        );
        for alarm in &deployment.alarms {
            table.watches.insert(
                (alarm.clone(), deployment.deployment_id.clone()),
                (
                    deployment.function.clone(),
                    deployment.alias.clone(),
                    deployment.expires_at,
                ),
            );
        }
        Ok(Lock::Acquired)
    }

    async fn park(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        task: &ParkedTask,
    ) -> Result<Parked, ShifterError> {
        let now = self.now();
        let mut table = self.begin("DynamoDB UpdateItem (park)")?;
        let entry = held(&mut table, now, function, alias, deployment_id).ok_or_else(|| {
            ShifterError::not_found(format!(
                "lock of deployment {deployment_id} on {function}:{alias}"
            ))
        })?;
        let previous = entry.parked.replace(task.clone());
        Ok(Parked {
            pending_alarm: entry.pending_alarm.take(),
            previous,
            execution_arn: entry.deployment.execution_arn.clone(),
        })
    }

    async fn watching(
        &self,
        alarm: &str,
    ) -> Result<Vec<(ActiveDeployment, Option<ParkedTask>)>, ShifterError> {
        let now = self.now();
        let table = self.begin("DynamoDB Query (watching)")?;
        let found = table
            .watches
            .range((alarm.to_owned(), String::new())..)
            .take_while(|((a, _), _)| a == alarm)
            .filter(|(_, (_, _, expires_at))| *expires_at >= now)
            .filter_map(|((_, id), (function, alias, _))| {
                let entry = table.locks.get(&(function.clone(), alias.clone()))?;
                let live =
                    entry.deployment.deployment_id == *id && entry.deployment.expires_at >= now;
                live.then(|| (entry.deployment.clone(), entry.parked.clone()))
            })
            .collect();
        Ok(found)
    }

    async fn note_alarm(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        alarm: &str,
        answered: Option<&str>,
    ) -> Result<Option<ParkedTask>, ShifterError> {
        let now = self.now();
        let mut table = self.begin("DynamoDB UpdateItem (note alarm)")?;
        let Some(entry) = held(&mut table, now, function, alias, deployment_id) else {
            return Ok(None);
        };
        if let Some(parked) = &entry.parked
            && Some(parked.task_token.as_str()) != answered
        {
            return Ok(Some(parked.clone()));
        }
        entry.pending_alarm = Some(alarm.to_owned());
        Ok(None)
    }

    async fn release(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<ActiveDeployment>, ShifterError> {
        let mut table = self.begin("DynamoDB TransactWriteItems (release)")?;
        let key = alias_key(function, alias);
        let Some(entry) = table
            .locks
            .get(&key)
            .filter(|e| e.deployment.deployment_id == deployment_id)
            .cloned()
        else {
            return Ok(None);
        };
        table.locks.remove(&key);
        for alarm in &entry.deployment.alarms {
            table
                .watches
                .remove(&(alarm.clone(), deployment_id.to_owned()));
        }
        Ok(Some(entry.deployment))
    }

    async fn note_write(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
        write: &LastWrite,
    ) -> Result<(), ShifterError> {
        let now = self.now();
        let mut table = self.begin("DynamoDB UpdateItem (note write)")?;
        let entry = held(&mut table, now, function, alias, deployment_id).ok_or_else(|| {
            ShifterError::not_found(format!(
                "registry lock of deployment {deployment_id} on {function}:{alias} (the \
                 execution ended or its lock expired); nothing written"
            ))
        })?;
        entry.last_write = Some(write.clone());
        Ok(())
    }

    async fn last_write(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<LastWrite>, ShifterError> {
        let now = self.now();
        let mut table = self.begin("DynamoDB GetItem (last write)")?;
        Ok(
            held(&mut table, now, function, alias, deployment_id)
                .and_then(|e| e.last_write.clone()),
        )
    }

    async fn holder(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ActiveDeployment>, ShifterError> {
        let now = self.now();
        let table = self.begin("DynamoDB GetItem (holder)")?;
        Ok(table
            .locks
            .get(&alias_key(function, alias))
            .map(|entry| entry.deployment.clone())
            .filter(|d| d.expires_at >= now))
    }

    async fn mark_rolled_back(&self, record: &RolledBackVersion) -> Result<(), ShifterError> {
        let mut table = self.begin("DynamoDB PutItem (rolled back)")?;
        if table.fail_marks > 0 {
            table.fail_marks -= 1;
            return Err(ShifterError::transient(
                "DynamoDB PutItem (rolled back)",
                "ProvisionedThroughputExceededException: the request rate is too high",
            ));
        }
        let (function, alias) = alias_key(&record.function, &record.alias);
        let key = (function, alias, record.version.clone());
        table.rolled_back.insert(key, record.clone());
        Ok(())
    }

    async fn rolled_back(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<Option<RolledBackVersion>, ShifterError> {
        let now = self.now();
        let table = self.begin("DynamoDB GetItem (rolled back)")?;
        let (function, alias) = alias_key(function, alias);
        let key = (function, alias, version.to_owned());
        Ok(table
            .rolled_back
            .get(&key)
            .filter(|r| r.expires_at >= now)
            .cloned())
    }

    async fn clear_rolled_back(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<(), ShifterError> {
        let mut table = self.begin("DynamoDB DeleteItem (rolled back)")?;
        let (function, alias) = alias_key(function, alias);
        let key = (function, alias, version.to_owned());
        table.rolled_back.remove(&key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::ManualClock;

    fn deployment(id: &str, alarms: &[&str], expires_at: i64) -> ActiveDeployment {
        ActiveDeployment {
            deployment_id: id.to_owned(),
            execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:sm:{id}"),
            function: "orders".to_owned(),
            alias: "live".to_owned(),
            target_version: "2".to_owned(),
            alarms: alarms.iter().map(|a| (*a).to_owned()).collect(),
            expires_at,
        }
    }

    fn parked(token: &str) -> ParkedTask {
        ParkedTask {
            task_token: token.to_owned(),
            kind: crate::states::ParkKind::Bake,
            traffic_percent: 10.0,
        }
    }

    async fn park(registry: &FakeRegistry, token: &str) -> Option<String> {
        registry
            .park("orders", "live", "d1", &parked(token))
            .await
            .unwrap()
            .pending_alarm
    }

    fn setup() -> (ManualClock, FakeRegistry, i64) {
        let clock = ManualClock::at_epoch();
        let registry = FakeRegistry::new(Arc::new(clock.clone()));
        let expires = clock.now().timestamp() + 3600;
        (clock, registry, expires)
    }

    #[tokio::test]
    async fn a_second_deployment_on_the_alias_is_held_by_the_first() {
        let (_, registry, expires) = setup();
        let first = deployment("d1", &["errors"], expires);
        assert_eq!(registry.acquire(&first).await.unwrap(), Lock::Acquired);
        let second = deployment("d2", &["errors"], expires);
        assert_eq!(
            registry.acquire(&second).await.unwrap(),
            Lock::HeldBy(first.clone())
        );
        assert_eq!(registry.entry("orders", "live").unwrap().deployment, first);
        assert_eq!(registry.watch_items(), 1, "the refused one wrote nothing");
    }

    #[tokio::test]
    async fn the_same_deployment_id_acquires_again() {
        let (_, registry, expires) = setup();
        let d = deployment("d1", &["errors"], expires);
        registry.acquire(&d).await.unwrap();
        assert_eq!(registry.acquire(&d).await.unwrap(), Lock::Acquired);
    }

    #[tokio::test]
    async fn another_alias_is_not_locked() {
        let (_, registry, expires) = setup();
        registry
            .acquire(&deployment("d1", &[], expires))
            .await
            .unwrap();
        let mut other = deployment("d2", &[], expires);
        other.alias = "beta".to_owned();
        assert_eq!(registry.acquire(&other).await.unwrap(), Lock::Acquired);
    }

    #[tokio::test]
    async fn an_expired_lock_is_free_and_its_watchers_are_gone() {
        let (clock, registry, expires) = setup();
        registry
            .acquire(&deployment("d1", &["errors"], expires))
            .await
            .unwrap();
        clock.advance_secs(3600);
        assert_eq!(registry.watching("errors").await.unwrap().len(), 1);
        clock.advance_secs(1);
        assert!(registry.watching("errors").await.unwrap().is_empty());
        let next = deployment("d2", &["latency"], expires + 7200);
        assert_eq!(registry.acquire(&next).await.unwrap(), Lock::Acquired);
        let err = registry
            .park("orders", "live", "d1", &parked("t1"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "NotFound");
    }

    #[tokio::test]
    async fn release_by_a_non_holder_is_a_no_op() {
        let (_, registry, expires) = setup();
        let d = deployment("d1", &["errors"], expires);
        registry.acquire(&d).await.unwrap();
        registry.release("orders", "live", "d2").await.unwrap();
        assert_eq!(registry.entry("orders", "live").unwrap().deployment, d);
        assert_eq!(registry.watching("errors").await.unwrap().len(), 1);
        registry.release("orders", "live", "d1").await.unwrap();
        assert!(registry.entry("orders", "live").is_none());
        assert!(registry.watching("errors").await.unwrap().is_empty());
        assert_eq!(registry.watch_items(), 0);
        registry.release("orders", "live", "d1").await.unwrap();
        assert_eq!(
            registry
                .acquire(&deployment("d2", &[], expires))
                .await
                .unwrap(),
            Lock::Acquired
        );
    }

    #[tokio::test]
    async fn watching_lists_the_parked_task() {
        let (_, registry, expires) = setup();
        registry
            .acquire(&deployment("d1", &["errors", "latency"], expires))
            .await
            .unwrap();
        let watchers = registry.watching("errors").await.unwrap();
        assert_eq!(watchers.len(), 1);
        assert_eq!(watchers[0].1, None);
        let pending = registry
            .park("orders", "live", "d1", &parked("t1"))
            .await
            .unwrap();
        assert_eq!(pending.pending_alarm, None);
        let watchers = registry.watching("latency").await.unwrap();
        assert_eq!(watchers[0].1, Some(parked("t1")));
        assert!(registry.watching("other").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_alarm_noted_while_unparked_is_handed_to_the_next_park_once() {
        let (_, registry, expires) = setup();
        registry
            .acquire(&deployment("d1", &["errors"], expires))
            .await
            .unwrap();
        let noted = registry
            .note_alarm("orders", "live", "d1", "errors", None)
            .await
            .unwrap();
        assert_eq!(noted, None);
        assert_eq!(park(&registry, "t1").await.as_deref(), Some("errors"));
        assert_eq!(
            park(&registry, "t2").await,
            None,
            "cleared by the first park"
        );
    }

    #[tokio::test]
    async fn note_alarm_hands_back_a_task_parked_meanwhile() {
        let (_, registry, expires) = setup();
        registry
            .acquire(&deployment("d1", &["errors"], expires))
            .await
            .unwrap();
        registry
            .park("orders", "live", "d1", &parked("t1"))
            .await
            .unwrap();
        let newer = registry
            .note_alarm("orders", "live", "d1", "errors", None)
            .await
            .unwrap();
        assert_eq!(newer, Some(parked("t1")));
        assert_eq!(
            registry.entry("orders", "live").unwrap().pending_alarm,
            None
        );
        // The token turned out stale: the alarm is noted for the next park.
        let noted = registry
            .note_alarm("orders", "live", "d1", "errors", Some("t1"))
            .await
            .unwrap();
        assert_eq!(noted, None);
        assert_eq!(park(&registry, "t2").await.as_deref(), Some("errors"));
    }

    #[tokio::test]
    async fn note_alarm_for_an_ended_deployment_does_nothing() {
        let (_, registry, expires) = setup();
        registry
            .acquire(&deployment("d1", &["errors"], expires))
            .await
            .unwrap();
        registry.release("orders", "live", "d1").await.unwrap();
        let noted = registry.note_alarm("orders", "live", "d1", "errors", None);
        assert_eq!(noted.await.unwrap(), None);
        assert!(registry.entry("orders", "live").is_none());
    }

    #[tokio::test]
    async fn injected_failures_are_transient_and_write_nothing() {
        let (_, registry, expires) = setup();
        registry.fail_next(1);
        let err = registry
            .acquire(&deployment("d1", &["errors"], expires))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient");
        assert!(registry.entry("orders", "live").is_none());
        assert_eq!(registry.calls(), 1);
        let d = deployment("d1", &["errors"], expires);
        assert_eq!(registry.acquire(&d).await.unwrap(), Lock::Acquired);
    }
}
