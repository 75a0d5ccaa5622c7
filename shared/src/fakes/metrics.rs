//! In-memory per-version Lambda metrics: traffic, error rate and p99 per version, scripted over
//! (virtual) time, aggregated per minute as CloudWatch stores Lambda's metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::domain::analysis::VersionFigures;
use crate::error::ShifterError;
use crate::ports::VersionMetrics;

/// How a version behaves from some moment on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    /// Calls per minute routed to the version.
    pub calls_per_minute: u64,
    /// Percent of those calls that fail.
    pub error_rate_percent: f64,
    /// 99th percentile duration of those calls.
    pub p99_millis: f64,
}

type Key = (String, String, String);

#[derive(Debug, Default)]
struct Scripts {
    /// Per (function, alias, version): (from, traffic) in time order.
    versions: BTreeMap<Key, Vec<(DateTime<Utc>, Traffic)>>,
    /// Every call: (function, alias, from, to).
    reads: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)>,
}

/// Per-version metrics in memory. A version without a script has no calls.
#[derive(Debug, Clone, Default)]
pub struct FakeMetrics {
    scripts: Arc<Mutex<Scripts>>,
}

impl FakeMetrics {
    /// No traffic anywhere.
    pub fn new() -> Self {
        FakeMetrics::default()
    }

    fn lock(&self) -> MutexGuard<'_, Scripts> {
        self.scripts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From `at` on, `version` of `function:alias` serves `traffic`.
    pub fn set(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        at: DateTime<Utc>,
        traffic: Traffic,
    ) {
        let key = (function.to_owned(), alias.to_owned(), version.to_owned());
        let mut scripts = self.lock();
        let script = scripts.versions.entry(key).or_default();
        script.push((at, traffic));
        script.sort_by_key(|(from, _)| *from);
    }

    /// Number of GetMetricData calls made so far.
    pub fn reads(&self) -> usize {
        self.lock().reads.len()
    }

    fn traffic_at(script: &[(DateTime<Utc>, Traffic)], at: DateTime<Utc>) -> Option<Traffic> {
        script
            .iter()
            .rev()
            .find(|(from, _)| *from <= at)
            .map(|(_, t)| *t)
    }

    fn figures(
        script: &[(DateTime<Utc>, Traffic)],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> VersionFigures {
        let mut out = VersionFigures {
            invocations: 0,
            errors: 0,
            p99_millis: None,
        };
        let mut minute = from;
        while minute < to {
            if let Some(t) = Self::traffic_at(script, minute).filter(|t| t.calls_per_minute > 0) {
                out.invocations += t.calls_per_minute;
                // Whole calls: the rate's share of this minute's calls, rounded.
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss
                )]
                let errors =
                    (t.calls_per_minute as f64 * t.error_rate_percent / 100.0).round() as u64;
                out.errors += errors.min(t.calls_per_minute);
                out.p99_millis = Some(out.p99_millis.map_or(t.p99_millis, |p| p.max(t.p99_millis)));
            }
            minute += Duration::minutes(1);
        }
        out
    }
}

#[async_trait]
impl VersionMetrics for FakeMetrics {
    async fn version_figures(
        &self,
        function: &str,
        alias: &str,
        versions: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VersionFigures>, ShifterError> {
        let mut scripts = self.lock();
        scripts
            .reads
            .push((function.to_owned(), alias.to_owned(), from, to));
        let figures = versions
            .iter()
            .map(|v| {
                let key = (function.to_owned(), alias.to_owned(), v.clone());
                let script = scripts.versions.get(&key).map_or(&[][..], Vec::as_slice);
                Self::figures(script, from, to)
            })
            .collect();
        Ok(figures)
    }
}
