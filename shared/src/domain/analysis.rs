//! Version-scoped canary analysis: the new version judged from Lambda's own per-version metrics
//! against absolute limits and against the old version, with no alarm to create.
//!
//! Lambda publishes `Invocations`, `Errors` and `Duration` for alias invocations with the
//! dimensions `FunctionName`, `Resource` (`function:alias`) and `ExecutedVersion`
//! (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>), at one-minute
//! granularity; an analysis interval is therefore a whole number of minutes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::field::FieldError;

/// Shortest analysis interval: the metrics' own one-minute granularity.
pub const MIN_INTERVAL_SECONDS: u32 = 60;
/// Longest analysis interval.
pub const MAX_INTERVAL_SECONDS: u32 = 3600;
/// Default invocations of the new version needed before it is judged.
pub const DEFAULT_MIN_INVOCATIONS: u64 = 100;
/// Error-rate difference (percentage points) below which the ratio check does not fail: one
/// error in a thousand calls against none must not roll back a release.
pub const DEFAULT_ERROR_RATE_TOLERANCE_PERCENT: f64 = 0.1;

/// What a step does while the new version has had too few invocations to judge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LowTraffic {
    /// The step does not end until the new version has been judged (default).
    #[default]
    Hold,
    /// The step ends on time; too little traffic is reported, not held against the version.
    Pass,
}

/// The `analysis` block of the execution input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Analysis {
    /// Seconds of metrics judged at a time (60–3600, whole minutes).
    #[serde(default = "default_interval")]
    pub interval_seconds: u32,
    /// Invocations of the new version needed in an interval before it is judged.
    #[serde(default = "default_min_invocations")]
    pub min_invocations: u64,
    /// Highest error rate of the new version, in percent.
    #[serde(default)]
    pub max_error_rate_percent: Option<f64>,
    /// Highest error rate of the new version as a multiple of the old version's.
    #[serde(default)]
    pub max_error_rate_ratio: Option<f64>,
    /// Highest p99 duration of the new version, in milliseconds.
    #[serde(default)]
    pub max_p99_millis: Option<f64>,
    /// Highest p99 duration of the new version as a multiple of the old version's.
    #[serde(default)]
    pub max_p99_ratio: Option<f64>,
    /// Hold the step (default) or pass when there is too little traffic to judge.
    #[serde(default)]
    pub on_low_traffic: LowTraffic,
}

fn default_interval() -> u32 {
    MIN_INTERVAL_SECONDS
}

fn default_min_invocations() -> u64 {
    DEFAULT_MIN_INVOCATIONS
}

impl Analysis {
    /// Checks the bounds of every field; errors name the field under `analysis`.
    pub fn validate(&self) -> Result<(), FieldError> {
        let interval = self.interval_seconds;
        if !(MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&interval)
            || !interval.is_multiple_of(60)
        {
            return Err(FieldError::new(
                "analysis.intervalSeconds",
                format!(
                    "must be a whole number of minutes from {MIN_INTERVAL_SECONDS} to \
                     {MAX_INTERVAL_SECONDS} seconds (Lambda's metrics have one-minute \
                     granularity), got {interval}"
                ),
            ));
        }
        if self.min_invocations == 0 {
            return Err(FieldError::new(
                "analysis.minInvocations",
                "must be at least 1: a version is never judged on no calls",
            ));
        }
        let limits = [
            (
                "maxErrorRatePercent",
                self.max_error_rate_percent,
                0.0..=100.0,
            ),
            ("maxErrorRateRatio", self.max_error_rate_ratio, 1.0..=1000.0),
            ("maxP99Millis", self.max_p99_millis, 1.0..=900_000.0),
            ("maxP99Ratio", self.max_p99_ratio, 1.0..=1000.0),
        ];
        for (name, value, range) in &limits {
            if let &Some(v) = value
                && (!v.is_finite() || !range.contains(&v))
            {
                return Err(FieldError::new(
                    format!("analysis.{name}"),
                    format!("must be from {} to {}", range.start(), range.end()),
                ));
            }
        }
        if limits.iter().all(|(_, value, _)| value.is_none()) {
            return Err(FieldError::new(
                "analysis",
                "sets no limit: give at least one of maxErrorRatePercent, maxErrorRateRatio, \
                 maxP99Millis, maxP99Ratio",
            ));
        }
        Ok(())
    }
}

/// One version's figures over an analysis interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionFigures {
    /// Calls routed to the version through the alias.
    pub invocations: u64,
    /// Calls that ended in a function error.
    pub errors: u64,
    /// 99th percentile duration, when there were calls.
    pub p99_millis: Option<f64>,
}

impl VersionFigures {
    /// Errors per hundred calls; 0 without calls.
    pub fn error_rate_percent(&self) -> f64 {
        if self.invocations == 0 {
            return 0.0;
        }
        // Counts far below 2^52: exact as f64.
        #[allow(clippy::cast_precision_loss)]
        let rate = self.errors as f64 * 100.0 / self.invocations as f64;
        rate
    }
}

/// Which limit the new version broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Limit {
    /// `maxErrorRatePercent`.
    ErrorRate,
    /// `maxErrorRateRatio`.
    ErrorRateRatio,
    /// `maxP99Millis`.
    P99,
    /// `maxP99Ratio`.
    P99Ratio,
}

/// The verdict on one analysis interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "verdict")]
pub enum Judgement {
    /// Every limit held.
    Healthy,
    /// The new version had fewer calls than `minInvocations`.
    TooLittleTraffic {
        /// Calls seen.
        invocations: u64,
        /// Calls needed.
        needed: u64,
    },
    /// A limit was broken.
    Failed(Breach),
}

/// A broken limit, with both versions' figures for the cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breach {
    /// Which limit.
    pub limit: Limit,
    /// The new version's figures.
    pub new: VersionFigures,
    /// The old version's figures.
    pub old: VersionFigures,
    /// The highest value allowed, in the limit's unit (percent or milliseconds).
    pub allowed: f64,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (new_rate, old_rate) = (self.new.error_rate_percent(), self.old.error_rate_percent());
        let p99 = |v: &VersionFigures| {
            v.p99_millis
                .map_or("n/a".to_owned(), |p| format!("{p:.0} ms"))
        };
        match self.limit {
            Limit::ErrorRate | Limit::ErrorRateRatio => write!(
                f,
                "error rate of the new version {new_rate:.2}% ({} of {} calls) above the {:.2}% \
                 allowed; old version {old_rate:.2}% ({} of {} calls)",
                self.new.errors,
                self.new.invocations,
                self.allowed,
                self.old.errors,
                self.old.invocations
            ),
            Limit::P99 | Limit::P99Ratio => write!(
                f,
                "p99 duration of the new version {} above the {:.0} ms allowed ({} calls); old \
                 version {} ({} calls)",
                p99(&self.new),
                self.allowed,
                self.new.invocations,
                p99(&self.old),
                self.old.invocations
            ),
        }
    }
}

/// Judges the new version's figures against the limits and against the old version's. The
/// ratio limits apply only when the old version itself had `minInvocations` calls (otherwise
/// there is no baseline to compare with).
pub fn judge(analysis: &Analysis, new: VersionFigures, old: VersionFigures) -> Judgement {
    if new.invocations < analysis.min_invocations {
        return Judgement::TooLittleTraffic {
            invocations: new.invocations,
            needed: analysis.min_invocations,
        };
    }
    let baseline = old.invocations >= analysis.min_invocations;
    let breach = |limit, allowed| {
        Judgement::Failed(Breach {
            limit,
            new,
            old,
            allowed,
        })
    };
    let rate = new.error_rate_percent();
    if let Some(max) = analysis.max_error_rate_percent
        && rate > max
    {
        return breach(Limit::ErrorRate, max);
    }
    if let Some(ratio) = analysis.max_error_rate_ratio
        && baseline
    {
        let allowed = (old.error_rate_percent() * ratio)
            .max(old.error_rate_percent() + DEFAULT_ERROR_RATE_TOLERANCE_PERCENT);
        if rate > allowed {
            return breach(Limit::ErrorRateRatio, allowed);
        }
    }
    let Some(p99) = new.p99_millis else {
        return Judgement::Healthy;
    };
    if let Some(max) = analysis.max_p99_millis
        && p99 > max
    {
        return breach(Limit::P99, max);
    }
    if let (Some(ratio), Some(old_p99), true) = (analysis.max_p99_ratio, old.p99_millis, baseline)
        && p99 > old_p99 * ratio
    {
        return breach(Limit::P99Ratio, old_p99 * ratio);
    }
    Judgement::Healthy
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn figures(invocations: u64, errors: u64, p99: f64) -> VersionFigures {
        VersionFigures {
            invocations,
            errors,
            p99_millis: Some(p99),
        }
    }

    fn analysis(block: serde_json::Value) -> Analysis {
        let a: Analysis = serde_json::from_value(block).unwrap();
        a.validate().unwrap();
        a
    }

    #[test]
    fn defaults_are_one_minute_and_a_hundred_calls_held() {
        let a = analysis(json!({"maxErrorRatePercent": 1}));
        assert_eq!(a.interval_seconds, 60);
        assert_eq!(a.min_invocations, 100);
        assert_eq!(a.on_low_traffic, LowTraffic::Hold);
    }

    #[test]
    fn bad_blocks_name_their_field() {
        let cases = [
            (
                json!({"intervalSeconds": 30, "maxP99Millis": 100}),
                "analysis.intervalSeconds",
            ),
            (
                json!({"intervalSeconds": 90, "maxP99Millis": 100}),
                "analysis.intervalSeconds",
            ),
            (
                json!({"minInvocations": 0, "maxP99Millis": 100}),
                "analysis.minInvocations",
            ),
            (
                json!({"maxErrorRatePercent": 101}),
                "analysis.maxErrorRatePercent",
            ),
            (
                json!({"maxErrorRateRatio": 0.5}),
                "analysis.maxErrorRateRatio",
            ),
            (json!({"maxP99Ratio": 0}), "analysis.maxP99Ratio"),
            (json!({}), "analysis"),
        ];
        for (block, field) in cases {
            let a: Analysis = serde_json::from_value(block.clone()).unwrap();
            assert_eq!(a.validate().unwrap_err().field, field, "{block}");
        }
        let unknown = serde_json::from_value::<Analysis>(json!({"maxErrors": 1}));
        assert!(unknown.unwrap_err().to_string().contains("maxErrors"));
    }

    #[test]
    fn too_few_calls_are_not_judged() {
        let a = analysis(json!({"maxErrorRatePercent": 1}));
        let verdict = judge(&a, figures(99, 99, 10.0), figures(1000, 0, 10.0));
        assert_eq!(
            verdict,
            Judgement::TooLittleTraffic {
                invocations: 99,
                needed: 100
            }
        );
    }

    #[test]
    fn an_absolute_error_rate_above_the_limit_fails_with_both_figures() {
        let a = analysis(json!({"maxErrorRatePercent": 1}));
        let verdict = judge(&a, figures(200, 3, 10.0), figures(1800, 1, 10.0));
        let Judgement::Failed(breach) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(breach.limit, Limit::ErrorRate);
        let cause = breach.to_string();
        assert!(cause.contains("1.50% (3 of 200 calls)"), "{cause}");
        assert!(
            cause.contains("old version 0.06% (1 of 1800 calls)"),
            "{cause}"
        );
        assert_eq!(
            judge(&a, figures(200, 2, 10.0), figures(1800, 1, 10.0)),
            Judgement::Healthy
        );
    }

    #[test]
    fn the_ratio_compares_with_the_old_version_beyond_a_small_tolerance() {
        let a = analysis(json!({"maxErrorRateRatio": 2}));
        // 1% against 0.4%: more than twice.
        let worse = judge(&a, figures(1000, 10, 10.0), figures(1000, 4, 10.0));
        assert!(matches!(
            worse,
            Judgement::Failed(Breach {
                limit: Limit::ErrorRateRatio,
                ..
            })
        ));
        // 0.8% against 0.4%: exactly twice is allowed.
        assert_eq!(
            judge(&a, figures(1000, 8, 10.0), figures(1000, 4, 10.0)),
            Judgement::Healthy
        );
        // One error in a thousand against none is within the tolerance.
        assert_eq!(
            judge(&a, figures(1000, 1, 10.0), figures(1000, 0, 10.0)),
            Judgement::Healthy
        );
        // No baseline: the old version had too few calls to compare with.
        assert_eq!(
            judge(&a, figures(1000, 50, 10.0), figures(10, 0, 10.0)),
            Judgement::Healthy
        );
    }

    #[test]
    fn latency_limits_absolute_and_relative() {
        let a = analysis(json!({"maxP99Millis": 500, "maxP99Ratio": 1.5}));
        let slow = judge(&a, figures(500, 0, 600.0), figures(500, 0, 550.0));
        assert!(matches!(
            slow,
            Judgement::Failed(Breach {
                limit: Limit::P99,
                ..
            })
        ));
        let relative = judge(&a, figures(500, 0, 400.0), figures(500, 0, 200.0));
        let Judgement::Failed(breach) = relative else {
            panic!("{relative:?}")
        };
        assert_eq!((breach.limit, breach.allowed), (Limit::P99Ratio, 300.0));
        assert!(
            breach
                .to_string()
                .contains("400 ms above the 300 ms allowed")
        );
        assert_eq!(
            judge(&a, figures(500, 0, 290.0), figures(500, 0, 200.0)),
            Judgement::Healthy
        );
    }
}
