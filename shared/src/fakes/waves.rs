//! [`WaveWatches`] in memory, with the table's semantics: one watch per plan, replaced by the
//! next, gone once past `expiresAt` (as the DynamoDB adapter filters on it).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::error::ShifterError;
use crate::ports::{Clock, WaveWatch, WaveWatches};

/// The plans' watches in memory.
#[derive(Clone)]
pub struct FakeWaveWatches {
    clock: Arc<dyn Clock>,
    watches: Arc<Mutex<BTreeMap<String, WaveWatch>>>,
}

impl FakeWaveWatches {
    /// No plan watches anything.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeWaveWatches {
            clock,
            watches: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, WaveWatch>> {
        self.watches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self, watch: &WaveWatch) -> bool {
        watch.expires_at > self.clock.now()
    }
}

#[async_trait]
impl WaveWatches for FakeWaveWatches {
    async fn watch(&self, watch: &WaveWatch) -> Result<(), ShifterError> {
        self.lock().insert(watch.plan_id.clone(), watch.clone());
        Ok(())
    }

    async fn watchers(&self, key: &str) -> Result<Vec<WaveWatch>, ShifterError> {
        Ok(self
            .lock()
            .values()
            .filter(|w| self.live(w) && w.keys.iter().any(|k| k == key))
            .cloned()
            .collect())
    }

    async fn watch_of(&self, plan_id: &str) -> Result<Option<WaveWatch>, ShifterError> {
        Ok(self.lock().get(plan_id).filter(|w| self.live(w)).cloned())
    }

    async fn forget(&self, plan_id: &str, token: &str) -> Result<(), ShifterError> {
        let mut watches = self.lock();
        if watches.get(plan_id).is_some_and(|w| w.task_token == token) {
            watches.remove(plan_id);
        }
        Ok(())
    }
}
