//! The errors a step returns, with the stable names the state machine matches on; the domain's
//! own errors are mapped here, at the edge.

use crate::domain::{DocumentError, ErrorKind, FieldError, Rejection};

/// Boxed cause of a transient failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every way a deployment step can fail; [`ShifterError::kind`] is the name ASL matches on.
#[derive(Debug, thiserror::Error)]
pub enum ShifterError {
    /// The execution input (or a document derived from it) is not acceptable.
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    /// A function, version, alias, alarm or hook does not exist.
    #[error("{what} does not exist")]
    NotFound { what: String },
    /// The alias already routes traffic to a second version.
    #[error("{0}")]
    DeploymentInProgress(String),
    /// Someone else changed the alias since we last read it.
    #[error("{0}")]
    AliasDrift(String),
    /// A pre- or post-traffic hook did not pass.
    #[error("{0}")]
    HookFailed(String),
    /// A watched alarm is in ALARM.
    #[error("{0}")]
    AlarmTriggered(String),
    /// Throttling, a 5xx, a timeout or a conflict: try again.
    #[error("{operation}: {message}")]
    Transient {
        operation: String,
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The alias could not be restored.
    #[error("{0}")]
    RollbackFailed(String),
    /// An operator aborted the deployment (`shifter abort`): it rolls back and fails with this.
    #[error("{0}")]
    Aborted(String),
    /// Nobody answered an approval gate in time and its default action is to roll back.
    #[error("{0}")]
    ApprovalTimedOut(String),
    /// `targetVersion: "latest"` resolved to a version rolled back on this alias before.
    #[error("{0}")]
    VersionRolledBack(String),
    /// The canary analysis failed the new version.
    #[error("{0}")]
    AnalysisFailed(String),
    /// The alias's provisioned concurrency is (or became) FAILED, or never became READY.
    #[error("{0}")]
    ProvisionedConcurrencyFailed(String),
    /// IAM refused a call: `access denied: <who> lacks <action> on <resource> (…)`.
    #[error("{0}")]
    AccessDenied(String),
}

impl ShifterError {
    /// The stable kind.
    pub fn error_kind(&self) -> ErrorKind {
        match self {
            ShifterError::InvalidInput { .. } => ErrorKind::InvalidInput,
            ShifterError::NotFound { .. } => ErrorKind::NotFound,
            ShifterError::DeploymentInProgress(_) => ErrorKind::DeploymentInProgress,
            ShifterError::AliasDrift(_) => ErrorKind::AliasDrift,
            ShifterError::HookFailed(_) => ErrorKind::HookFailed,
            ShifterError::AlarmTriggered(_) => ErrorKind::AlarmTriggered,
            ShifterError::Transient { .. } => ErrorKind::Transient,
            ShifterError::RollbackFailed(_) => ErrorKind::RollbackFailed,
            ShifterError::Aborted(_) => ErrorKind::Aborted,
            ShifterError::ApprovalTimedOut(_) => ErrorKind::ApprovalTimedOut,
            ShifterError::VersionRolledBack(_) => ErrorKind::VersionRolledBack,
            ShifterError::AnalysisFailed(_) => ErrorKind::AnalysisFailed,
            ShifterError::ProvisionedConcurrencyFailed(_) => {
                ErrorKind::ProvisionedConcurrencyFailed
            }
            ShifterError::AccessDenied(_) => ErrorKind::AccessDenied,
        }
    }

    /// The stable name (`InvalidInput`, `AliasDrift`, …).
    pub fn kind(&self) -> &'static str {
        self.error_kind().name()
    }

    /// Every stable name, for checks against the state machine definition.
    pub const NAMES: [&'static str; ErrorKind::ALL.len()] = {
        let mut names = [""; ErrorKind::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = ErrorKind::ALL[i].name();
            i += 1;
        }
        names
    };

    /// An `InvalidInput` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ShifterError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A `NotFound` naming what is missing.
    pub fn not_found(what: impl Into<String>) -> Self {
        ShifterError::NotFound { what: what.into() }
    }

    /// A `Transient` failure of `operation`.
    pub fn transient(operation: impl Into<String>, message: impl Into<String>) -> Self {
        ShifterError::Transient {
            operation: operation.into(),
            message: message.into(),
            source: None,
        }
    }
}

impl From<FieldError> for ShifterError {
    fn from(e: FieldError) -> Self {
        ShifterError::InvalidInput {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<DocumentError> for ShifterError {
    fn from(e: DocumentError) -> Self {
        ShifterError::invalid(e.field(), e.to_string())
    }
}

impl From<Rejection> for ShifterError {
    fn from(e: Rejection) -> Self {
        match e {
            Rejection::Invalid(field) => field.into(),
            Rejection::NotFound(what) => ShifterError::NotFound { what },
            Rejection::InProgress(message) => ShifterError::DeploymentInProgress(message),
            Rejection::AlarmFiring(message) => ShifterError::AlarmTriggered(message),
        }
    }
}

/// What a Lambda function error reports: the stable name as `errorType`, which the state
/// machine's Retry and Catch match on.
#[cfg(feature = "lambda")]
impl From<ShifterError> for lambda_runtime::Diagnostic {
    fn from(e: ShifterError) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_stable_name() {
        let cases = [
            (
                ShifterError::invalid("alias", "bad"),
                "InvalidInput",
                "alias: bad",
            ),
            (
                ShifterError::not_found("alarm x"),
                "NotFound",
                "alarm x does not exist",
            ),
            (
                ShifterError::DeploymentInProgress("busy".into()),
                "DeploymentInProgress",
                "busy",
            ),
            (
                ShifterError::AliasDrift("moved".into()),
                "AliasDrift",
                "moved",
            ),
            (ShifterError::HookFailed("h".into()), "HookFailed", "h"),
            (
                ShifterError::AlarmTriggered("a".into()),
                "AlarmTriggered",
                "a",
            ),
            (
                ShifterError::transient("UpdateAlias", "throttled"),
                "Transient",
                "UpdateAlias: throttled",
            ),
            (
                ShifterError::RollbackFailed("r".into()),
                "RollbackFailed",
                "r",
            ),
            (ShifterError::Aborted("stop".into()), "Aborted", "stop"),
            (
                ShifterError::ApprovalTimedOut("late".into()),
                "ApprovalTimedOut",
                "late",
            ),
            (
                ShifterError::VersionRolledBack("v7".into()),
                "VersionRolledBack",
                "v7",
            ),
            (
                ShifterError::AnalysisFailed("p99".into()),
                "AnalysisFailed",
                "p99",
            ),
            (
                ShifterError::ProvisionedConcurrencyFailed("FAILED".into()),
                "ProvisionedConcurrencyFailed",
                "FAILED",
            ),
            (
                ShifterError::AccessDenied("access denied: x".into()),
                "AccessDenied",
                "access denied: x",
            ),
        ];
        let mut names = vec![];
        for (err, name, message) in cases {
            names.push(err.kind());
            assert_eq!((err.kind(), err.to_string().as_str()), (name, message));
            #[cfg(feature = "lambda")]
            {
                let d = lambda_runtime::Diagnostic::from(err);
                assert_eq!(d.error_type, name);
                assert_eq!(d.error_message, message);
            }
        }
        assert_eq!(names, ShifterError::NAMES);
    }

    #[test]
    fn domain_errors_keep_their_kind_and_name_the_field() {
        let e = ShifterError::from(DocumentError::NoSuchStep { index: 5, steps: 2 });
        assert_eq!(e.kind(), "InvalidInput");
        assert_eq!(e.to_string(), "stepIndex: 5 is past the last of 2 steps");
        let e = ShifterError::from(FieldError::new("alias", "bad"));
        assert_eq!(e.to_string(), "alias: bad");
        for rejection in [
            Rejection::Invalid(FieldError::new("targetVersion", "differs")),
            Rejection::NotFound("alarm x".into()),
            Rejection::InProgress("busy".into()),
            Rejection::AlarmFiring("firing".into()),
        ] {
            let (kind, text) = (rejection.kind(), rejection.to_string());
            let e = ShifterError::from(rejection);
            assert_eq!(e.error_kind(), kind);
            assert!(e.to_string().ends_with(&text), "{e} / {text}");
        }
    }
}
