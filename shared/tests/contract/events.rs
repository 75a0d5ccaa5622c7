//! EventBridge (`StatusEvents`): lifecycle events on `FakeStatusEvents` and on
//! `EventBridgeEvents` over aws-smithy-mocks (PutEvents: entries accepted, entries refused in a
//! 200 answer, throttling, denial).
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>

use std::sync::Arc;

use shifter::aws::EventBridgeEvents;
use shifter::domain::lifecycle::{LifecycleEvent, started};
use shifter::fakes::{FakeStatusEvents, ManualClock};
use shifter::ports::StatusEvents;

fn event(id: &str) -> LifecycleEvent {
    let input =
        serde_json::json!({"functionName": "orders", "alias": "live", "targetVersion": "2"});
    started(
        id,
        &format!("arn:aws:states:eu-west-1:1:execution:m:{id}"),
        &input,
    )
}

/// The behaviours both sides share: one call puts every event; a refused call is `Transient`.
async fn puts_every_event_in_one_call(port: &dyn StatusEvents) {
    port.put_events(&[event("d1"), event("d2")])
        .await
        .expect("put");
    port.put_events(&[]).await.expect("nothing to put is fine");
}

#[tokio::test]
async fn fake_puts_and_can_refuse() {
    let bus = FakeStatusEvents::new(Arc::new(ManualClock::at_epoch()));
    puts_every_event_in_one_call(&bus).await;
    assert_eq!(bus.events().len(), 2);
    bus.fail_next(1);
    let err = bus.put_events(&[event("d3")]).await.unwrap_err();
    assert_eq!(err.kind(), "Transient");
    assert_eq!(bus.events().len(), 2, "a refused call puts nothing");
}

mod mocks {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{Rule, RuleMode, mock};

    use super::*;
    use crate::support::{ATTEMPTS, error_body, eventbridge_client, http_error, throttled};

    fn client(rules: &[&Rule]) -> EventBridgeEvents {
        EventBridgeEvents::new(
            eventbridge_client(RuleMode::Sequential, rules),
            "shifter-bus".into(),
        )
    }

    #[tokio::test]
    async fn every_entry_goes_to_the_stacks_bus_with_the_lifecycle_detail_type() {
        let put = mock!(aws_sdk_eventbridge::Client::put_events)
            .match_requests(|req| {
                let entries = req.entries();
                entries.len() == 2
                    && entries.iter().all(|e| {
                        let detail: serde_json::Value =
                            serde_json::from_str(e.detail().unwrap_or("{}")).unwrap();
                        e.event_bus_name() == Some("shifter-bus")
                            && e.source() == Some("traffic-shifter")
                            && e.detail_type() == Some("Traffic Shifter Deployment Status Change")
                            && detail["version"] == "1"
                            && e.resources().len() == 1
                    })
            })
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
        puts_every_event_in_one_call(&client(&[&put])).await;
        assert_eq!(put.num_calls(), 1, "an empty put makes no call");
    }

    #[tokio::test]
    async fn an_entry_refused_in_a_200_answer_is_transient() {
        let refused = mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(PutEventsResultEntry::builder().event_id("e1").build())
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code("InternalFailure")
                        .error_message("try again")
                        .build(),
                )
                .build()
        });
        let err = client(&[&refused])
            .put_events(&[event("d1"), event("d2")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert!(err.to_string().contains("1 of 2 events"), "{err}");
        assert!(err.to_string().contains("InternalFailure"), "{err}");
    }

    #[tokio::test]
    async fn throttling_is_transient_after_sdk_retries_and_a_denial_is_named() {
        let rule = throttled(mock!(aws_sdk_eventbridge::Client::put_events));
        let err = client(&[&rule])
            .put_events(&[event("d1")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(rule.num_calls(), ATTEMPTS);
        let denied = http_error(
            mock!(aws_sdk_eventbridge::Client::put_events),
            400,
            error_body(
                "AccessDeniedException",
                "not authorized to perform events:PutEvents",
            ),
            1,
        );
        let err = client(&[&denied])
            .put_events(&[event("d1")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "AccessDenied", "{err}");
    }
}
