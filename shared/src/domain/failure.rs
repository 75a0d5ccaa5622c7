//! The names a deployment fails with: our stable error kinds, and any other name a Catch caught.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The stable error names (docs/architecture.md "Error names") the state machine's Retry and Catch match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The execution input (or a document derived from it) is not acceptable.
    InvalidInput,
    /// A function, version, alias, alarm or hook does not exist.
    NotFound,
    /// The alias already routes traffic to a second version.
    DeploymentInProgress,
    /// Someone else changed the alias since we last read it.
    AliasDrift,
    /// A pre- or post-traffic hook did not pass.
    HookFailed,
    /// A watched alarm is in ALARM.
    AlarmTriggered,
    /// Throttling, a 5xx, a timeout or a conflict: try again.
    Transient,
    /// The alias could not be restored.
    RollbackFailed,
    /// An operator aborted the deployment.
    Aborted,
    /// Nobody answered an approval gate in time and its default is to roll back.
    ApprovalTimedOut,
    /// `targetVersion: "latest"` resolved to a version that was rolled back on this alias and
    /// not deployed explicitly since.
    VersionRolledBack,
    /// The canary analysis judged the new version worse than the input allows (or could not
    /// judge it: too little traffic after holding the step).
    AnalysisFailed,
    /// The alias's provisioned concurrency did not become READY after a shift: its allocation
    /// FAILED, or it was still IN_PROGRESS after `provisionedConcurrency.readyTimeoutSeconds`.
    ProvisionedConcurrencyFailed,
    /// IAM refused a call: the role lacks a permission (named), so retrying cannot help.
    AccessDenied,
}

impl ErrorKind {
    /// Every kind, in the order docs/architecture.md "Error names" lists them.
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::DeploymentInProgress,
        ErrorKind::AliasDrift,
        ErrorKind::HookFailed,
        ErrorKind::AlarmTriggered,
        ErrorKind::Transient,
        ErrorKind::RollbackFailed,
        ErrorKind::Aborted,
        ErrorKind::ApprovalTimedOut,
        ErrorKind::VersionRolledBack,
        ErrorKind::AnalysisFailed,
        ErrorKind::ProvisionedConcurrencyFailed,
        ErrorKind::AccessDenied,
    ];

    /// The stable name (`InvalidInput`, `AliasDrift`, …).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::DeploymentInProgress => "DeploymentInProgress",
            ErrorKind::AliasDrift => "AliasDrift",
            ErrorKind::HookFailed => "HookFailed",
            ErrorKind::AlarmTriggered => "AlarmTriggered",
            ErrorKind::Transient => "Transient",
            ErrorKind::RollbackFailed => "RollbackFailed",
            ErrorKind::Aborted => "Aborted",
            ErrorKind::ApprovalTimedOut => "ApprovalTimedOut",
            ErrorKind::VersionRolledBack => "VersionRolledBack",
            ErrorKind::AnalysisFailed => "AnalysisFailed",
            ErrorKind::ProvisionedConcurrencyFailed => "ProvisionedConcurrencyFailed",
            ErrorKind::AccessDenied => "AccessDenied",
        }
    }

    /// The kind with this stable name, if it is one.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error's name as Step Functions reports it: one of our kinds, or a name raised elsewhere
/// that a Catch caught (`States.Timeout`, `Lambda.Unknown`), kept as it was. Serialized as the
/// bare name, so the document and the state machine's `ErrorPath` read it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorName {
    /// One of our stable kinds.
    Ours(ErrorKind),
    /// Any other name.
    Other(String),
}

impl ErrorName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorName::Ours(kind) => kind.name(),
            ErrorName::Other(name) => name,
        }
    }

    /// Our kind, when the name is one of ours.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            ErrorName::Ours(kind) => Some(*kind),
            ErrorName::Other(_) => None,
        }
    }
}

impl From<ErrorKind> for ErrorName {
    fn from(kind: ErrorKind) -> Self {
        ErrorName::Ours(kind)
    }
}

impl From<&str> for ErrorName {
    fn from(name: &str) -> Self {
        ErrorKind::from_name(name)
            .map_or_else(|| ErrorName::Other(name.to_owned()), ErrorName::Ours)
    }
}

impl PartialEq<ErrorKind> for ErrorName {
    fn eq(&self, other: &ErrorKind) -> bool {
        *self == ErrorName::Ours(*other)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(ErrorName::from(name.as_str()))
    }
}

/// Why a deployment is being rolled back: an error name and a readable cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// One of the stable error kinds, or the name of a caught error that is not ours.
    pub error: ErrorName,
    /// What happened, for people.
    pub cause: String,
}

impl Failure {
    /// A failure of one of our kinds.
    pub fn new(kind: ErrorKind, cause: impl Into<String>) -> Failure {
        Failure {
            error: kind.into(),
            cause: cause.into(),
        }
    }
}

/// An error caught by a Catch (`ResultPath: "$.caught"`), in Step Functions' own shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caught {
    /// Error name.
    #[serde(rename = "Error")]
    pub error: ErrorName,
    /// Cause; for a Lambda function error, JSON with `errorMessage`.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl Caught {
    /// The readable part of the cause (`errorMessage` of a Lambda error, else the raw text).
    pub fn message(&self) -> String {
        error_message(&self.cause)
    }
}

/// The `errorMessage` of a Lambda function error's cause (`{"errorMessage":…,"errorType":…}`),
/// or the cause itself when it is not one.
pub fn error_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| cause.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_bare_strings() {
        for kind in ErrorKind::ALL {
            let name = ErrorName::from(kind);
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<ErrorName>(&json).unwrap(), kind);
            assert_eq!(ErrorKind::from_name(kind.name()), Some(kind));
        }
        let foreign: ErrorName = serde_json::from_str("\"States.Timeout\"").unwrap();
        assert_eq!(foreign, ErrorName::Other("States.Timeout".to_owned()));
        assert_eq!(foreign.kind(), None);
        assert_eq!(
            serde_json::to_string(&foreign).unwrap(),
            "\"States.Timeout\""
        );
    }
}
