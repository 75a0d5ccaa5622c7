//! CloudWatch metrics (`VersionMetrics`): one suite of behaviours, run on `FakeMetrics` and on
//! `CloudWatchMetrics` over aws-smithy-mocks answering GetMetricData as CloudWatch does.
//!
//! Not on moto: aws-sdk-cloudwatch >= 1.100 speaks RPCv2 CBOR, which moto does not serve (gap
//! `cloudwatch-rpcv2-cbor`). GetMetricData:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>;
//! Lambda's per-version dimensions:
//! <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use shifter::aws::CloudWatchMetrics;
use shifter::domain::analysis::VersionFigures;
use shifter::fakes::{FakeMetrics, Traffic};
use shifter::ports::VersionMetrics;

fn start() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap()
}

// ---------------------------------------------------------------- worlds

/// One minute of alias traffic per version, with the port under test on top.
trait MetricsWorld {
    fn serve(&mut self, version: &str, calls: u64, errors: u64, p99: f64);
    fn metrics(&self) -> Arc<dyn VersionMetrics>;
}

struct FakeWorld(FakeMetrics);

impl MetricsWorld for FakeWorld {
    fn serve(&mut self, version: &str, calls: u64, errors: u64, p99: f64) {
        #[allow(clippy::cast_precision_loss)]
        let error_rate_percent = errors as f64 * 100.0 / calls as f64;
        let traffic = Traffic {
            calls_per_minute: calls,
            error_rate_percent,
            p99_millis: p99,
        };
        self.0.set("orders", "live", version, start(), traffic);
        // Nothing after the minute.
        let quiet = Traffic {
            calls_per_minute: 0,
            ..traffic
        };
        self.0.set(
            "orders",
            "live",
            version,
            start() + Duration::minutes(1),
            quiet,
        );
    }
    fn metrics(&self) -> Arc<dyn VersionMetrics> {
        Arc::new(self.0.clone())
    }
}

#[derive(Default)]
struct MockWorld {
    served: Vec<(String, u64, u64, f64)>,
}

impl MetricsWorld for MockWorld {
    fn serve(&mut self, version: &str, calls: u64, errors: u64, p99: f64) {
        self.served.push((version.to_owned(), calls, errors, p99));
    }
    fn metrics(&self) -> Arc<dyn VersionMetrics> {
        let rule = mocks::get_metric_data(self.served.clone());
        Arc::new(mocks::client(&[&rule]))
    }
}

// ---------------------------------------------------------------- the suite

mod suite {
    use super::*;

    async fn figures<W: MetricsWorld>(w: &W, versions: &[&str]) -> Vec<VersionFigures> {
        let versions: Vec<String> = versions.iter().map(|v| (*v).to_owned()).collect();
        let end = start() + Duration::minutes(1);
        w.metrics()
            .version_figures("orders", "live", &versions, start(), end)
            .await
            .expect("version_figures")
    }

    pub async fn each_version_in_the_order_asked<W: MetricsWorld>(mut w: W) {
        w.serve("1", 900, 9, 120.0);
        w.serve("2", 100, 5, 480.0);
        let got = figures(&w, &["2", "1"]).await;
        assert_eq!(
            got,
            vec![
                VersionFigures {
                    invocations: 100,
                    errors: 5,
                    p99_millis: Some(480.0)
                },
                VersionFigures {
                    invocations: 900,
                    errors: 9,
                    p99_millis: Some(120.0)
                },
            ]
        );
    }

    pub async fn a_version_without_calls_has_none<W: MetricsWorld>(mut w: W) {
        w.serve("1", 50, 0, 30.0);
        let got = figures(&w, &["3"]).await;
        assert_eq!(
            got,
            vec![VersionFigures {
                invocations: 0,
                errors: 0,
                p99_millis: None
            }]
        );
    }
}

macro_rules! on_fake_and_mock {
    ($($name:ident),* $(,)?) => {
        mod on_fake {
            use super::*;
            $(#[tokio::test] async fn $name() { suite::$name(FakeWorld(FakeMetrics::new())).await; })*
        }
        mod on_mock {
            use super::*;
            $(#[tokio::test] async fn $name() { suite::$name(MockWorld::default()).await; })*
        }
    };
}

on_fake_and_mock!(
    each_version_in_the_order_asked,
    a_version_without_calls_has_none
);

// ---------------------------------------------------------------- the mocked service

mod mocks {
    use aws_sdk_cloudwatch::error::ErrorMetadata;
    use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
    use aws_sdk_cloudwatch::types::{MetricDataResult, StatusCode};
    use aws_smithy_mocks::{Rule, RuleMode, mock};

    use super::*;
    use crate::support::{ATTEMPTS, cloudwatch_client};

    pub fn client(rules: &[&Rule]) -> CloudWatchMetrics {
        CloudWatchMetrics::new(cloudwatch_client(RuleMode::MatchAny, rules))
    }

    /// GetMetricData over `served` (version, calls, errors, p99) for `orders:live`, one result a
    /// page (so the adapter must follow NextToken), checking each query's dimensions; a version
    /// without data gets a result with no values, as CloudWatch answers.
    pub fn get_metric_data(served: Vec<(String, u64, u64, f64)>) -> Rule {
        mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(move |req| {
            let queries = req.metric_data_queries();
            let start: usize = req
                .next_token()
                .map_or(0, |t| t.parse().expect("our token"));
            let query = &queries[start];
            let stat = query.metric_stat().expect("a metric, not an expression");
            let metric = stat.metric().expect("metric");
            assert_eq!(metric.namespace(), Some("AWS/Lambda"));
            let dim = |name: &str| {
                metric
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some(name))
                    .and_then(|d| d.value())
                    .map(str::to_owned)
            };
            assert_eq!(dim("FunctionName").as_deref(), Some("orders"));
            assert_eq!(dim("Resource").as_deref(), Some("orders:live"));
            assert_eq!(stat.period(), Some(60));
            let version = dim("ExecutedVersion").expect("ExecutedVersion");
            let row = served.iter().find(|(v, ..)| *v == version);
            let value = row.map(|(_, calls, errors, p99)| match metric.metric_name() {
                Some("Invocations") => *calls as f64,
                Some("Errors") => *errors as f64,
                Some("Duration") => *p99,
                other => panic!("unexpected metric {other:?}"),
            });
            let result = MetricDataResult::builder()
                .id(query.id().expect("id"))
                .status_code(StatusCode::Complete)
                .set_values(value.map(|v| vec![v]))
                .build();
            let mut out = GetMetricDataOutput::builder().metric_data_results(result);
            if start + 1 < queries.len() {
                out = out.next_token((start + 1).to_string());
            }
            out.build()
        })
    }

    #[tokio::test]
    async fn one_call_a_page_three_queries_a_version() {
        let rule = get_metric_data(vec![("1".to_owned(), 10, 1, 5.0)]);
        let metrics = client(&[&rule]);
        let end = start() + Duration::minutes(1);
        let versions = ["1".to_owned(), "2".to_owned()];
        let got = metrics
            .version_figures("orders", "live", &versions, start(), end)
            .await
            .unwrap();
        assert_eq!(got[0].invocations, 10);
        assert_eq!(rule.num_calls(), 6, "six queries, one a page");
    }

    #[tokio::test]
    async fn throttling_is_transient_after_the_sdk_retried() {
        // A modelled error: the mock's HTTP bodies are JSON, CloudWatch's protocol is CBOR.
        let throttled = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
            .sequence()
            .error(|| {
                GetMetricDataError::generic(
                    ErrorMetadata::builder()
                        .code("Throttling")
                        .message("Rate exceeded")
                        .build(),
                )
            })
            .times(ATTEMPTS)
            .build();
        let err = client(&[&throttled])
            .version_figures("orders", "live", &["1".to_owned()], start(), start())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(throttled.num_calls(), ATTEMPTS);
    }

    #[tokio::test]
    async fn an_internal_error_in_a_result_is_transient() {
        let broken = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(|| {
            let result = MetricDataResult::builder()
                .id("i0")
                .status_code(StatusCode::InternalError)
                .build();
            GetMetricDataOutput::builder()
                .metric_data_results(result)
                .build()
        });
        let err = client(&[&broken])
            .version_figures("orders", "live", &["1".to_owned()], start(), start())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
    }
}
