//! `StatusEvents` over EventBridge PutEvents, on the stack's own bus.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::errors::AwsFailure;
use crate::domain::lifecycle::{DETAIL_TYPE, LifecycleEvent};
use crate::error::ShifterError;
use crate::ports::StatusEvents;
use crate::states::EVENT_SOURCE;

/// The variable holding the bus's name (template.yaml's `ShifterEventBus`).
pub const BUS_ENV: &str = "SHIFTER_EVENT_BUS";

/// The IAM actions of the EventBridge API calls this adapter makes, by the method that makes
/// them (see `lambda::OPERATIONS`).
pub const OPERATIONS: &[(&str, &[&str])] = &[("put_events", &["events:PutEvents"])];

/// Lifecycle events through `aws-sdk-eventbridge`, on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgeEvents {
    client: Client,
    bus: String,
}

impl EventBridgeEvents {
    /// An adapter with its own client, from the shared configuration ([`super::load_lambda_config`] in a function).
    pub fn from_config(config: &aws_config::SdkConfig, bus: String) -> EventBridgeEvents {
        EventBridgeEvents::new(Client::new(config), bus)
    }

    /// Wraps an existing client (an emulator's, or a mock).
    pub fn new(client: Client, bus: String) -> EventBridgeEvents {
        EventBridgeEvents { client, bus }
    }

    fn entry(&self, event: &LifecycleEvent) -> Result<PutEventsRequestEntry, ShifterError> {
        let detail = serde_json::to_string(event)
            .map_err(|e| ShifterError::invalid("Detail", e.to_string()))?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(DETAIL_TYPE)
            .resources(&event.execution_arn)
            .detail(detail)
            .build())
    }
}

#[async_trait]
impl StatusEvents for EventBridgeEvents {
    async fn put_events(&self, events: &[LifecycleEvent]) -> Result<(), ShifterError> {
        if events.is_empty() {
            return Ok(());
        }
        let entries = events
            .iter()
            .map(|e| self.entry(e))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                AwsFailure::new("PutEvents", e)
                    .into_error(|m| format!("event bus {} ({m})", self.bus))
            })?;
        // PutEvents answers 200 with the entries it refused counted and named per entry.
        if out.failed_entry_count() > 0 {
            let first = out
                .entries()
                .iter()
                .find(|e| e.error_code().is_some())
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.error_code().unwrap_or_default(),
                        e.error_message().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            return Err(ShifterError::transient(
                "EventBridge PutEvents",
                format!(
                    "{} of {} events not accepted by bus {} ({first})",
                    out.failed_entry_count(),
                    events.len(),
                    self.bus
                ),
            ));
        }
        Ok(())
    }
}
