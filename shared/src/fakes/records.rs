//! The records table in memory: one record per (alias, deployment id), each moment applied by
//! the domain's own rule ([`DeploymentRecord::apply`]), which is what the adapter's conditional
//! UpdateItem does; listings newest first by start, as the adapter's Query on the `ByStart`
//! index with `ScanIndexForward = false`
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html>). Like a
//! table, it keeps an expired record until TTL deletes it (eventually): readers see
//! `expiresAt`. It can refuse the next writes as DynamoDB does when it throttles.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::record::{DeploymentRecord, RecordUpdate, newest_first};
use crate::error::ShifterError;
use crate::ports::DeploymentRecords;

#[derive(Debug, Default)]
struct Table {
    /// By (`function:alias`, deployment id).
    records: BTreeMap<(String, String), DeploymentRecord>,
    writes: u64,
    fail_next: u32,
}

/// [`DeploymentRecords`] in memory, keeping each record `retention_days` after its last moment.
#[derive(Clone)]
pub struct FakeRecords {
    table: Arc<Mutex<Table>>,
    retention_seconds: i64,
}

impl FakeRecords {
    /// An empty table keeping records `retention_days`.
    pub fn new(retention_days: u32) -> Self {
        FakeRecords {
            table: Arc::default(),
            retention_seconds: i64::from(retention_days) * 86_400,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every record, newest first.
    pub fn records(&self) -> Vec<DeploymentRecord> {
        let mut all: Vec<_> = self.lock().records.values().cloned().collect();
        newest_first(&mut all);
        all
    }

    /// Write calls made so far (refused and repeated ones included).
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// The next `n` writes fail as throttled (nothing is written).
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }
}

fn started_since(r: &DeploymentRecord, since: Option<DateTime<Utc>>) -> bool {
    match since {
        // The index holds only records whose start is known; a key condition on it keeps those
        // at or after `since`.
        Some(since) => r.started_at.is_some_and(|t| t >= since),
        None => r.started_at.is_some(),
    }
}

#[async_trait]
impl DeploymentRecords for FakeRecords {
    async fn apply_record(&self, update: &RecordUpdate) -> Result<bool, ShifterError> {
        let mut table = self.lock();
        table.writes += 1;
        if table.fail_next > 0 {
            table.fail_next -= 1;
            return Err(ShifterError::transient(
                "UpdateItem",
                "ProvisionedThroughputExceededException: records table throttled",
            ));
        }
        let key = (
            format!("{}:{}", update.function, update.alias),
            update.deployment_id.clone(),
        );
        let record = table.records.entry(key).or_insert_with(|| {
            DeploymentRecord::new(&update.function, &update.alias, &update.deployment_id)
        });
        Ok(record.apply(update, self.retention_seconds))
    }

    async fn record_of(
        &self,
        function: &str,
        alias: &str,
        deployment_id: &str,
    ) -> Result<Option<DeploymentRecord>, ShifterError> {
        let function = crate::domain::alias::function_short_name(function);
        let key = (format!("{function}:{alias}"), deployment_id.to_owned());
        Ok(self.lock().records.get(&key).cloned())
    }

    async fn records_of_alias(
        &self,
        function: &str,
        alias: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<DeploymentRecord>, ShifterError> {
        let function = crate::domain::alias::function_short_name(function);
        let mut found: Vec<_> = self
            .lock()
            .records
            .values()
            .filter(|r| r.function == function && r.alias == alias && started_since(r, since))
            .cloned()
            .collect();
        newest_first(&mut found);
        Ok(found)
    }

    async fn all_records(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<DeploymentRecord>, ShifterError> {
        let mut found: Vec<_> = self
            .lock()
            .records
            .values()
            .filter(|r| since.is_none() || started_since(r, since))
            .cloned()
            .collect();
        newest_first(&mut found);
        Ok(found)
    }

    async fn find_record(
        &self,
        deployment_id: &str,
    ) -> Result<Option<DeploymentRecord>, ShifterError> {
        let mut found: Vec<_> = self
            .lock()
            .records
            .values()
            .filter(|r| r.deployment_id == deployment_id)
            .cloned()
            .collect();
        newest_first(&mut found);
        Ok(found.into_iter().next())
    }
}
