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

/// Against moto: moto delivers PutEvents to the SQS targets of the rules whose pattern matches
/// (checked by hand with moto 5.2.5 before this test was written), so a subscriber can be played
/// by a queue. (moto leaves an input transformer's placeholder for a missing path in place,
/// where AWS leaves it out: the templates' transformers are rendered offline instead, in
/// cli/tests/cli/notifications.rs.)
mod moto {
    use aws_sdk_sqs::types::QueueAttributeName;
    use serde_json::Value;
    use shifter::domain::lifecycle::{Cause, DETAIL_TYPE, Status};

    use super::*;
    use crate::support::{moto_config, moto_test, unique};

    /// The pattern docs/events.md tells subscribers to use.
    fn documented_pattern() -> String {
        let doc = include_str!("../../../docs/events.md");
        let block = doc
            .split("## Subscribing")
            .nth(1)
            .and_then(|s| s.split("```json\n").nth(1))
            .and_then(|s| s.split("```").next())
            .expect("docs/events.md shows the pattern");
        let pattern: Value = serde_json::from_str(block).expect("the pattern is JSON");
        pattern.to_string()
    }

    moto_test! {
        /// A rule with the documented pattern on a new bus, targeting a queue: of the events put
        /// through `EventBridgeEvents`, the ROLLED_BACK one arrives whole (source, detail-type, the
        /// execution as resource, the detail as put) and the STARTED one not at all.
        async fn a_put_event_reaches_a_subscriber_of_the_documented_pattern() {
            let config = moto_config().await;
            let eventbridge = aws_sdk_eventbridge::Client::new(&config);
            let sqs = aws_sdk_sqs::Client::new(&config);
            let bus = unique("shifter-bus");
            eventbridge.create_event_bus().name(&bus).send().await.expect("bus");
            let queue = sqs
                .create_queue()
                .queue_name(unique("subscriber"))
                .send()
                .await
                .expect("queue")
                .queue_url
                .expect("queue url");
            let attributes = sqs
                .get_queue_attributes()
                .queue_url(&queue)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue arn");
            let queue_arn = attributes.attributes().expect("attributes")[&QueueAttributeName::QueueArn].clone();
            let rule = unique("rollbacks");
            eventbridge
                .put_rule()
                .name(&rule)
                .event_bus_name(&bus)
                .event_pattern(documented_pattern())
                .send()
                .await
                .expect("rule");
            eventbridge
                .put_targets()
                .rule(&rule)
                .event_bus_name(&bus)
                .targets(aws_sdk_eventbridge::types::Target::builder().id("queue").arn(&queue_arn).build().unwrap())
                .send()
                .await
                .expect("target");

            let started = event("d1");
            let mut rolled_back = event("d1");
            rolled_back.status = Status::RolledBack;
            rolled_back.event_id = "d1:ROLLED_BACK".into();
            rolled_back.from_version = Some("1".into());
            rolled_back.cause = Some(Cause {
                kind: "alarm".into(),
                error: "AlarmTriggered".into(),
                message: "alarm orders-errors went into ALARM. Alias live restored to version 1.".into(),
            });
            EventBridgeEvents::new(eventbridge, bus)
                .put_events(&[started, rolled_back.clone()])
                .await
                .expect("put");

            let received = sqs
                .receive_message()
                .queue_url(&queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            let bodies: Vec<Value> = received
                .messages()
                .iter()
                .map(|m| serde_json::from_str(m.body().unwrap_or_default()).expect("an event"))
                .collect();
            assert_eq!(bodies.len(), 1, "only the ROLLED_BACK event matches: {bodies:?}");
            let delivered = &bodies[0];
            assert_eq!(delivered["source"], "traffic-shifter");
            assert_eq!(delivered["detail-type"], DETAIL_TYPE);
            assert_eq!(delivered["resources"], serde_json::json!([rolled_back.execution_arn]));
            let detail: LifecycleEvent = serde_json::from_value(delivered["detail"].clone()).expect("the schema");
            assert_eq!(detail, rolled_back);
        }
    }
}
