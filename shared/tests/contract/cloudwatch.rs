//! CloudWatch (`AlarmReader`): one suite of behaviours, run on `FakeAlarms` and on
//! `CloudWatchAlarms` over aws-smithy-mocks answering DescribeAlarms as CloudWatch does.
//!
//! Not on moto: aws-sdk-cloudwatch >= 1.100 speaks RPCv2 CBOR, which moto does not serve (gap
//! `cloudwatch-rpcv2-cbor`), so the mocks below stand in for the service for every behaviour.
//! DescribeAlarms: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>.

use std::sync::Arc;

use shifter::aws::CloudWatchAlarms;
use shifter::fakes::{FakeAlarms, ManualClock};
use shifter::ports::{AlarmReader, AlarmState};

// ---------------------------------------------------------------- worlds

/// Alarms the suite can seed, with the port under test on top.
trait AlarmWorld {
    fn add(&mut self, name: &str, state: AlarmState, composite: bool);
    fn reader(&self) -> Arc<dyn AlarmReader>;
}

struct FakeAlarmWorld(FakeAlarms);

impl AlarmWorld for FakeAlarmWorld {
    fn add(&mut self, name: &str, state: AlarmState, _composite: bool) {
        self.0.add(name, state);
    }
    fn reader(&self) -> Arc<dyn AlarmReader> {
        Arc::new(self.0.clone())
    }
}

/// CloudWatch behind aws-smithy-mocks: answers DescribeAlarms from the seeded alarms for
/// exactly the names and alarm types asked, two alarms a page.
#[derive(Default)]
struct MockAlarmWorld {
    alarms: Vec<(String, AlarmState, bool)>,
}

impl AlarmWorld for MockAlarmWorld {
    fn add(&mut self, name: &str, state: AlarmState, composite: bool) {
        self.alarms.push((name.to_owned(), state, composite));
    }
    fn reader(&self) -> Arc<dyn AlarmReader> {
        let rule = mocks::describe_alarms(self.alarms.clone());
        Arc::new(mocks::client(&[&rule]))
    }
}

// ---------------------------------------------------------------- the suite

mod suite {
    use super::*;

    pub async fn reports_states_of_named_alarms_and_leaves_out_missing<W: AlarmWorld>(mut w: W) {
        w.add("errors", AlarmState::Ok, false);
        w.add("latency", AlarmState::Alarm, false);
        w.add("composite", AlarmState::InsufficientData, true);
        w.add("not-asked", AlarmState::Alarm, false);
        let names: Vec<String> = ["latency", "ghost", "errors", "composite"]
            .map(String::from)
            .to_vec();
        let states = w.reader().alarm_states(&names).await.expect("alarm_states");
        assert_eq!(
            states,
            vec![
                ("latency".to_owned(), AlarmState::Alarm),
                ("errors".to_owned(), AlarmState::Ok),
                ("composite".to_owned(), AlarmState::InsufficientData),
            ]
        );
    }

    pub async fn no_names_is_no_alarms<W: AlarmWorld>(mut w: W) {
        w.add("errors", AlarmState::Alarm, false);
        assert_eq!(
            w.reader().alarm_states(&[]).await.expect("alarm_states"),
            vec![]
        );
    }

    /// DescribeAlarms' AlarmNames takes at most 100 names.
    pub async fn more_than_100_names_is_invalid_input<W: AlarmWorld>(w: W) {
        let names: Vec<String> = (0..101).map(|i| format!("alarm-{i}")).collect();
        let err = w.reader().alarm_states(&names).await.unwrap_err();
        assert_eq!(err.kind(), "InvalidInput", "{err}");
        let hundred = &names[..100];
        assert_eq!(
            w.reader().alarm_states(hundred).await.expect("100 is fine"),
            vec![]
        );
    }

    pub async fn many_alarms_across_pages<W: AlarmWorld>(mut w: W) {
        let names: Vec<String> = (0..7).map(|i| format!("alarm-{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            let state = if i == 5 {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            w.add(n, state, i % 3 == 0);
        }
        let states = w.reader().alarm_states(&names).await.expect("alarm_states");
        assert_eq!(states.len(), 7);
        assert_eq!(states[5], ("alarm-5".to_owned(), AlarmState::Alarm));
    }
}

/// Runs an AlarmReader behaviour on the fake and on the adapter over mocks.
macro_rules! on_fake_and_mocks {
    ($behaviour:ident) => {
        mod $behaviour {
            use super::*;

            #[tokio::test]
            async fn fake() {
                let clock = Arc::new(ManualClock::at_epoch());
                suite::$behaviour(FakeAlarmWorld(FakeAlarms::new(clock))).await;
            }

            #[tokio::test]
            async fn mocks() {
                suite::$behaviour(MockAlarmWorld::default()).await;
            }
        }
    };
}

on_fake_and_mocks!(reports_states_of_named_alarms_and_leaves_out_missing);
on_fake_and_mocks!(no_names_is_no_alarms);
on_fake_and_mocks!(more_than_100_names_is_invalid_input);
on_fake_and_mocks!(many_alarms_across_pages);

// ---------------------------------------------------------------- aws-smithy-mocks

mod mocks {
    use aws_sdk_cloudwatch::error::ErrorMetadata;
    use aws_sdk_cloudwatch::operation::describe_alarms::{
        DescribeAlarmsError, DescribeAlarmsOutput,
    };
    use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};
    use aws_smithy_mocks::{Rule, RuleMode, mock};

    use super::*;
    use crate::support::{ATTEMPTS, cloudwatch_client, http_error};

    pub fn client(rules: &[&Rule]) -> CloudWatchAlarms {
        CloudWatchAlarms::new(cloudwatch_client(RuleMode::MatchAny, rules))
    }

    fn value(state: AlarmState) -> StateValue {
        match state {
            AlarmState::Ok => StateValue::Ok,
            AlarmState::Alarm => StateValue::Alarm,
            AlarmState::InsufficientData => StateValue::InsufficientData,
        }
    }

    /// DescribeAlarms over `alarms` (name, state, composite), two a page, checking the request.
    pub fn describe_alarms(alarms: Vec<(String, AlarmState, bool)>) -> Rule {
        mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_compute_output(move |req| {
            let types: Vec<&str> = req.alarm_types().iter().map(|t| t.as_str()).collect();
            assert_eq!(
                types,
                ["MetricAlarm", "CompositeAlarm"],
                "asks for both kinds"
            );
            assert!(
                !req.alarm_names().is_empty(),
                "never asks for every alarm in the account"
            );
            assert!(req.alarm_names().len() <= 100);
            let matching: Vec<_> = alarms
                .iter()
                .filter(|(n, _, _)| req.alarm_names().contains(n))
                .collect();
            let start: usize = req
                .next_token()
                .map_or(0, |t| t.parse().expect("our token"));
            let mut out = DescribeAlarmsOutput::builder();
            for (name, state, composite) in matching.iter().skip(start).take(2) {
                if *composite {
                    out = out.composite_alarms(
                        CompositeAlarm::builder()
                            .alarm_name(name)
                            .state_value(value(*state))
                            .build(),
                    );
                } else {
                    out = out.metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name(name)
                            .state_value(value(*state))
                            .build(),
                    );
                }
            }
            if start + 2 < matching.len() {
                out = out.next_token((start + 2).to_string());
            }
            out.build()
        })
    }

    #[tokio::test]
    async fn pages_through_the_sdk() {
        // The suite's mocked side really goes through the SDK: one call per page, none for no
        // names.
        let rule = describe_alarms(
            (0..5)
                .map(|i| (format!("a{i}"), AlarmState::Ok, false))
                .collect(),
        );
        let reader = client(&[&rule]);
        let names: Vec<String> = (0..5).map(|i| format!("a{i}")).collect();
        assert_eq!(reader.alarm_states(&names).await.expect("states").len(), 5);
        assert_eq!(rule.num_calls(), 3, "three pages of two");
        reader.alarm_states(&[]).await.expect("no names");
        assert_eq!(rule.num_calls(), 3, "no call for no names");
    }

    #[tokio::test]
    async fn throttling_and_5xx_are_transient() {
        // A modelled error: the mock's HTTP bodies are JSON, CloudWatch's protocol is CBOR.
        let throttled = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
            .sequence()
            .error(|| {
                DescribeAlarmsError::generic(
                    ErrorMetadata::builder()
                        .code("Throttling")
                        .message("Rate exceeded")
                        .build(),
                )
            })
            .times(ATTEMPTS)
            .build();
        let err = client(&[&throttled])
            .alarm_states(&["a".to_owned()])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert!(
            err.to_string().contains("Throttling: Rate exceeded"),
            "{err}"
        );
        assert_eq!(
            throttled.num_calls(),
            ATTEMPTS,
            "the SDK retried before giving up"
        );

        let failing = http_error(
            mock!(aws_sdk_cloudwatch::Client::describe_alarms),
            500,
            None,
            ATTEMPTS,
        );
        let err = client(&[&failing])
            .alarm_states(&["a".to_owned()])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
    }
}
