//! The stack's event bus in memory: records what was put, when, and can refuse the next puts
//! as PutEvents does when it throttles or fails entries
//! (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::lifecycle::{DETAIL_TYPE, LifecycleEvent};
use crate::error::ShifterError;
use crate::ports::{Clock, StatusEvents};

/// PutEvents accepts at most this many entries in one call.
pub const MAX_ENTRIES: usize = 10;

/// One event on the bus, as put.
#[derive(Debug, Clone, PartialEq)]
pub struct PutEvent {
    /// When it was put (the clock's time).
    pub at: DateTime<Utc>,
    /// Its `DetailType`.
    pub detail_type: String,
    /// Its `Detail`.
    pub detail: LifecycleEvent,
}

#[derive(Debug, Default)]
struct Bus {
    put: Vec<PutEvent>,
    calls: u64,
    fail_next: u32,
}

/// [`StatusEvents`] in memory, stamped with `clock`'s time.
#[derive(Clone)]
pub struct FakeStatusEvents {
    bus: Arc<Mutex<Bus>>,
    clock: Arc<dyn Clock>,
}

impl FakeStatusEvents {
    /// An empty bus on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeStatusEvents {
            bus: Arc::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Bus> {
        self.bus.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every event put so far, in order.
    pub fn events(&self) -> Vec<PutEvent> {
        self.lock().put.clone()
    }

    /// PutEvents calls made so far (refused ones included).
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// The next `n` calls fail as throttled (nothing is put).
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }
}

#[async_trait]
impl StatusEvents for FakeStatusEvents {
    async fn put_events(&self, events: &[LifecycleEvent]) -> Result<(), ShifterError> {
        if events.len() > MAX_ENTRIES {
            return Err(ShifterError::invalid(
                "Entries",
                format!(
                    "PutEvents takes at most {MAX_ENTRIES} entries, got {}",
                    events.len()
                ),
            ));
        }
        let at = self.clock.now();
        let mut bus = self.lock();
        bus.calls += 1;
        if bus.fail_next > 0 {
            bus.fail_next -= 1;
            return Err(ShifterError::transient(
                "EventBridge PutEvents",
                "ThrottlingException: rate exceeded",
            ));
        }
        bus.put.extend(events.iter().map(|e| PutEvent {
            at,
            detail_type: DETAIL_TYPE.to_owned(),
            detail: e.clone(),
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::started;
    use crate::fakes::ManualClock;

    #[tokio::test]
    async fn records_what_was_put_and_refuses_when_told() {
        let clock = ManualClock::at_epoch();
        let bus = FakeStatusEvents::new(Arc::new(clock.clone()));
        let event = started(
            "d1",
            "arn:aws:states:r:1:execution:m:d1",
            &serde_json::json!({}),
        );
        bus.fail_next(1);
        assert!(bus.put_events(std::slice::from_ref(&event)).await.is_err());
        bus.put_events(std::slice::from_ref(&event)).await.unwrap();
        assert_eq!(bus.calls(), 2);
        assert_eq!(bus.events().len(), 1);
        assert_eq!(bus.events()[0].detail, event);
        let eleven = vec![event; 11];
        assert!(bus.put_events(&eleven).await.is_err());
    }
}
