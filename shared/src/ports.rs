//! What the handlers need from the outside world, grouped by capability.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{AliasRoute, AliasState};
use crate::error::ShifterError;

/// Reads and conditionally writes a Lambda alias.
#[async_trait]
pub trait AliasRouter: Send + Sync {
    /// The alias's version, routing and RevisionId; `NotFound` when function or alias is missing.
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError>;

    /// Points the alias at `route`, only if its RevisionId is still `expected_revision`
    /// (`AliasDrift` otherwise). Returns the alias as written, with its new RevisionId.
    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError>;
}

/// A published version's settings that weighted routing requires to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number.
    pub version: String,
    /// Execution role ARN.
    pub role: String,
    /// Dead-letter queue target ARN, if any.
    pub dead_letter_target: Option<String>,
}

/// Looks up functions and their published versions.
#[async_trait]
pub trait FunctionRegistry: Send + Sync {
    /// True when the function exists.
    async fn function_exists(&self, function: &str) -> Result<bool, ShifterError>;

    /// A published version's settings; `None` when it does not exist.
    async fn version(
        &self,
        function: &str,
        version: &str,
    ) -> Result<Option<VersionInfo>, ShifterError>;

    /// The highest published version; `None` when only `$LATEST` exists.
    async fn latest_published_version(
        &self,
        function: &str,
    ) -> Result<Option<String>, ShifterError>;
}

/// State of one CloudWatch alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    /// Within threshold.
    Ok,
    /// Breaching: roll back.
    Alarm,
    /// Not enough data yet.
    InsufficientData,
}

/// Reads alarm states.
#[async_trait]
pub trait AlarmReader: Send + Sync {
    /// States of the named alarms in one call (at most 100 names); missing ones are absent.
    async fn alarm_states(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, AlarmState)>, ShifterError>;
}

/// The current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Turns raw alarm states into the report decisions are made on.
pub fn alarm_report(
    names: &[String],
    states: &[(String, AlarmState)],
) -> crate::domain::AlarmReport {
    let in_alarm = states
        .iter()
        .filter(|(_, s)| *s == AlarmState::Alarm)
        .map(|(n, _)| n.clone())
        .collect();
    let missing = names
        .iter()
        .filter(|n| !states.iter().any(|(m, _)| m == *n))
        .cloned()
        .collect();
    crate::domain::AlarmReport { in_alarm, missing }
}
