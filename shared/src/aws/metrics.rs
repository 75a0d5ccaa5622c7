//! `VersionMetrics` over CloudWatch GetMetricData: Lambda's per-version `Invocations`, `Errors`
//! and p99 `Duration` for calls through an alias, every version in one call.
//!
//! Dimensions `FunctionName`, `Resource` (`function:alias`) and `ExecutedVersion`:
//! <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>.
//! GetMetricData: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StatusCode};
use chrono::{DateTime, Utc};

use super::errors::AwsFailure;
use crate::domain::analysis::VersionFigures;
use crate::error::ShifterError;
use crate::ports::VersionMetrics;

/// IAM actions by adapter method (see `lambda::OPERATIONS`).
pub const OPERATIONS: &[(&str, &[&str])] = &[("version_figures", &["cloudwatch:GetMetricData"])];

/// GetMetricData takes at most 500 queries; three per version.
pub const MAX_VERSIONS: usize = 500 / 3;

/// Per-version figures through `aws-sdk-cloudwatch`.
#[derive(Debug, Clone)]
pub struct CloudWatchMetrics {
    client: Client,
}

impl CloudWatchMetrics {
    /// An adapter with its own client, from the shared configuration ([`super::load_lambda_config`] in a function).
    pub fn from_config(config: &aws_config::SdkConfig) -> CloudWatchMetrics {
        CloudWatchMetrics::new(Client::new(config))
    }

    /// Wraps an existing client (an emulator's, or a mock).
    pub fn new(client: Client) -> CloudWatchMetrics {
        CloudWatchMetrics { client }
    }
}

/// The three queries of version number `index`: ids `i<n>`, `e<n>`, `d<n>`.
fn queries(
    function: &str,
    alias: &str,
    version: &str,
    index: usize,
    period: i32,
) -> Vec<MetricDataQuery> {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let dimensions = vec![
        dimension("FunctionName", function),
        dimension("Resource", &format!("{function}:{alias}")),
        dimension("ExecutedVersion", version),
    ];
    [
        ("i", "Invocations", "Sum"),
        ("e", "Errors", "Sum"),
        ("d", "Duration", "p99"),
    ]
    .into_iter()
    .map(|(prefix, metric, stat)| {
        let metric = Metric::builder()
            .namespace("AWS/Lambda")
            .metric_name(metric)
            .set_dimensions(Some(dimensions.clone()))
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(period)
            .stat(stat)
            .build();
        MetricDataQuery::builder()
            .id(format!("{prefix}{index}"))
            .metric_stat(stat)
            .return_data(true)
            .build()
    })
    .collect()
}

/// The window as one period, in whole minutes (the metrics' granularity), at least one.
fn period_seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
    let seconds = (to - from).num_seconds().max(60);
    let minutes = (seconds + 59) / 60;
    i32::try_from(minutes * 60).unwrap_or(i32::MAX)
}

/// Figures from the values returned per query id: counts summed over the datapoints, the
/// highest p99 of them (a conservative reading when the window spans several periods).
fn figures(values: &BTreeMap<String, Vec<f64>>, index: usize) -> VersionFigures {
    let sum = |prefix: &str| {
        let total: f64 = values
            .get(&format!("{prefix}{index}"))
            .map_or(0.0, |v| v.iter().sum());
        // Counts of calls: whole, non-negative and far below 2^53.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let count = total.max(0.0).round() as u64;
        count
    };
    let p99 = values
        .get(&format!("d{index}"))
        .and_then(|v| v.iter().copied().reduce(f64::max));
    VersionFigures {
        invocations: sum("i"),
        errors: sum("e"),
        p99_millis: p99,
    }
}

#[async_trait]
impl VersionMetrics for CloudWatchMetrics {
    async fn version_figures(
        &self,
        function: &str,
        alias: &str,
        versions: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VersionFigures>, ShifterError> {
        if versions.len() > MAX_VERSIONS {
            let message = format!(
                "at most {MAX_VERSIONS} versions in one call, got {}",
                versions.len()
            );
            return Err(ShifterError::invalid("MetricDataQueries", message));
        }
        let period = period_seconds(from, to);
        let all: Vec<MetricDataQuery> = versions
            .iter()
            .enumerate()
            .flat_map(|(i, v)| queries(function, alias, v, i, period))
            .collect();
        let mut pages = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(all))
            .start_time(AwsDateTime::from_secs(from.timestamp()))
            .end_time(AwsDateTime::from_secs(to.timestamp()))
            .into_paginator()
            .send();
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsFailure::new("GetMetricData", e).into_error(|m| format!("metrics ({m})"))
            })?;
            for result in page.metric_data_results() {
                if matches!(result.status_code(), Some(StatusCode::InternalError)) {
                    return Err(ShifterError::Transient {
                        operation: "GetMetricData".to_owned(),
                        message: format!("{}: InternalError", result.id().unwrap_or("?")),
                        source: None,
                    });
                }
                let id = result.id().unwrap_or_default().to_owned();
                values
                    .entry(id)
                    .or_default()
                    .extend_from_slice(result.values());
            }
        }
        Ok((0..versions.len()).map(|i| figures(&values, i)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_one_period_of_whole_minutes() {
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + s, 0).unwrap();
        assert_eq!(period_seconds(at(0), at(60)), 60);
        assert_eq!(period_seconds(at(0), at(61)), 120);
        assert_eq!(period_seconds(at(0), at(10)), 60);
        assert_eq!(period_seconds(at(0), at(300)), 300);
    }

    #[test]
    fn three_queries_a_version_with_the_alias_dimensions() {
        let q = queries("orders", "live", "7", 1, 60);
        let ids: Vec<_> = q.iter().map(|q| q.id().unwrap()).collect();
        assert_eq!(ids, ["i1", "e1", "d1"]);
        let stat = q[2].metric_stat().unwrap();
        assert_eq!(stat.stat(), Some("p99"));
        let dims: Vec<_> = stat
            .metric()
            .unwrap()
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(
            dims,
            [
                ("FunctionName", "orders"),
                ("Resource", "orders:live"),
                ("ExecutedVersion", "7")
            ]
        );
    }
}
