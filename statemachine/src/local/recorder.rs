//! An alias router that passes every call through and records each write that answered, with
//! its virtual time: the timeline of a run whose aliases live behind a real adapter.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shifter::ShifterError;
use shifter::domain::{AliasRoute, AliasState};
use shifter::fakes::ManualClock;
use shifter::ports::{AliasRouter, Clock};

/// One alias write the recorder saw succeed.
struct RecordedWrite {
    at: DateTime<Utc>,
    function: String,
    alias: String,
    route: AliasRoute,
}

/// Passes alias calls through to `inner` and records the writes that answered.
pub struct RecordingRouter {
    inner: Arc<dyn AliasRouter>,
    clock: ManualClock,
    writes: Mutex<Vec<RecordedWrite>>,
}

impl RecordingRouter {
    /// Records the writes made through `inner`, stamped by `clock`.
    pub fn new(inner: Arc<dyn AliasRouter>, clock: ManualClock) -> Self {
        RecordingRouter {
            inner,
            clock,
            writes: Mutex::default(),
        }
    }

    /// Writes to `function`/`alias`, in order.
    pub fn writes_to(&self, function: &str, alias: &str) -> Vec<(DateTime<Utc>, AliasRoute)> {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|w| w.function == function && w.alias == alias)
            .map(|w| (w.at, w.route.clone()))
            .collect()
    }
}

#[async_trait]
impl AliasRouter for RecordingRouter {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError> {
        self.inner.get_alias(function, alias).await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError> {
        let written = self
            .inner
            .update_alias(function, alias, route, expected_revision)
            .await?;
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(RecordedWrite {
                at: self.clock.now(),
                function: function.to_owned(),
                alias: alias.to_owned(),
                route: route.clone(),
            });
        Ok(written)
    }
}
