//! AWS SDK errors mapped onto the stable error names (`Transient`, `AliasDrift`, `NotFound`,
//! `InvalidInput`), keeping the SDK error as the source.
//!
//! The SDK has already retried what its standard retry mode retries; what reaches here as
//! `Transient` is retried again by the state machine's Retry.

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use crate::domain::text::cut_chars;
use crate::error::{BoxError, ShifterError};

/// Error codes that mean "try again later": throttling, service faults, conflicting
/// concurrent updates.
pub const TRANSIENT_CODES: &[&str] = &[
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "ResourceConflictException",
    "ServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "EC2ThrottledException",
];

/// Error codes that name something missing.
pub const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "ResourceNotFound",
    "ExecutionDoesNotExist",
    "StateMachineDoesNotExist",
];

/// Error codes that mean the caller's IAM identity may not make the call.
pub const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "NotAuthorized",
];

/// Longest part of AWS's own words a message carries: one NotFound once carried 25,719
/// characters of them.
pub const MAX_AWS_MESSAGE_CHARS: usize = 300;

/// How a failed call is classified before it becomes a [`ShifterError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Throttling, 5xx, timeouts, dispatch failures, conflicts.
    Transient,
    /// `PreconditionFailedException`: the RevisionId no longer matches.
    Precondition,
    /// Something named in the request does not exist.
    NotFound,
    /// The request was refused as invalid (or any other 4xx: asking again gets the same answer).
    Invalid,
    /// IAM refused the call (`AccessDeniedException`, or a 403): a permission is missing.
    AccessDenied,
}

/// A failed AWS call: which operation, how it is classified, and AWS's own words.
#[derive(Debug)]
pub struct AwsFailure {
    /// API operation (`UpdateAlias`).
    pub operation: &'static str,
    /// Classification.
    pub kind: FailureKind,
    /// AWS error code, when the service sent one.
    pub code: Option<String>,
    /// AWS's message (or a description of the transport failure).
    pub message: String,
    source: BoxError,
}

impl AwsFailure {
    /// Classifies an SDK error of `operation`.
    pub fn new<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsFailure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (kind, code, message) = match &err {
            SdkError::TimeoutError(_) => (
                FailureKind::Transient,
                None,
                format!("{} did not answer in time", endpoint()),
            ),
            SdkError::DispatchFailure(_) => (
                FailureKind::Transient,
                None,
                format!("cannot reach {}: {}", endpoint(), innermost(&err)),
            ),
            SdkError::ConstructionFailure(_) => (
                FailureKind::Invalid,
                None,
                format!("request could not be built: {}", innermost(&err)),
            ),
            SdkError::ResponseError(r) => (
                classify(None, Some(r.raw().status().as_u16())),
                None,
                format!(
                    "unreadable response (HTTP {}): {}",
                    r.raw().status().as_u16(),
                    innermost(&err)
                ),
            ),
            SdkError::ServiceError(s) => {
                let code = err.code().map(str::to_owned);
                let status = s.raw().status().as_u16();
                let message = err
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP {status}"));
                (classify(code.as_deref(), Some(status)), code, message)
            }
            _ => (FailureKind::Transient, None, innermost(&err)),
        };
        AwsFailure {
            operation,
            kind,
            code,
            message: cut_chars(&message.replace(['\n', '\r'], " "), MAX_AWS_MESSAGE_CHARS),
            source: Box::new(err),
        }
    }

    /// `code: message`, or the message alone when there is no code.
    pub fn detail(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// The stable error of a call on a table of ours, named `table` ("records table NAME"): a
    /// missing table is `NotFound`, a refused condition or request `InvalidInput`, a denial
    /// names the table, the rest is `Transient`.
    pub fn on_table(self, table: &str) -> ShifterError {
        match self.kind {
            FailureKind::NotFound => ShifterError::not_found(table.to_owned()),
            FailureKind::Invalid | FailureKind::Precondition => {
                ShifterError::invalid(self.operation, format!("{table}: {}", self.detail()))
            }
            FailureKind::AccessDenied => {
                ShifterError::AccessDenied(format!("{} ({table})", self.denial()))
            }
            FailureKind::Transient => self.into_error(|_| String::new()),
        }
    }

    /// The stable error; `missing` names what does not exist, from AWS's message, for `NotFound`.
    pub fn into_error(self, missing: impl FnOnce(&str) -> String) -> ShifterError {
        match self.kind {
            FailureKind::Transient => ShifterError::Transient {
                operation: self.operation.to_owned(),
                message: self.detail(),
                source: Some(self.source),
            },
            FailureKind::Precondition => {
                ShifterError::AliasDrift(format!("{}: {}", self.operation, self.detail()))
            }
            FailureKind::NotFound => ShifterError::not_found(missing(&self.message)),
            FailureKind::Invalid => ShifterError::invalid(self.operation, self.detail()),
            FailureKind::AccessDenied => ShifterError::AccessDenied(self.denial()),
        }
    }

    /// `access denied: <who> lacks <action> on <resource>`, read from IAM's own message
    /// ("User: … is not authorized to perform: lambda:UpdateAlias on resource: …") when it
    /// says so, else naming the operation.
    pub fn denial(&self) -> String {
        let after = |marker: &str| {
            let start = self.message.find(marker)? + marker.len();
            let rest = &self.message[start..];
            Some(
                rest.split_whitespace()
                    .next()?
                    .trim_end_matches([',', '.'])
                    .to_owned(),
            )
        };
        let who = after("User: ").unwrap_or_else(|| "this function's role".to_owned());
        let action =
            after("perform: ").unwrap_or_else(|| format!("permission for {}", self.operation));
        let on = after("on resource: ")
            .map(|r| format!(" on {r}"))
            .unwrap_or_default();
        let line = format!(
            "access denied: {who} lacks {action}{on} ({}: {}); grant it in the role's policy",
            self.operation,
            self.code.as_deref().unwrap_or("HTTP 403")
        );
        cut_chars(&line, MAX_AWS_MESSAGE_CHARS + 100)
    }
}

/// Where the calls go: `AWS_ENDPOINT_URL` when set (an emulator), else AWS in the region.
fn endpoint() -> String {
    let region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION"));
    match (std::env::var("AWS_ENDPOINT_URL"), region) {
        (Ok(url), _) => cut_chars(&url, 200),
        (Err(_), Ok(region)) => format!("AWS ({})", cut_chars(&region, 40)),
        (Err(_), Err(_)) => "AWS".to_owned(),
    }
}

/// The innermost cause of `err` (`Connection refused (os error 111)`), not the SDK's structure.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut e = err;
    while let Some(source) = e.source() {
        e = source;
    }
    e.to_string()
}

/// Classification by error code first, HTTP status second.
pub fn classify(code: Option<&str>, status: Option<u16>) -> FailureKind {
    match code {
        Some("PreconditionFailedException") => return FailureKind::Precondition,
        Some(c) if TRANSIENT_CODES.contains(&c) => return FailureKind::Transient,
        Some(c) if NOT_FOUND_CODES.contains(&c) => return FailureKind::NotFound,
        Some(c) if ACCESS_DENIED_CODES.contains(&c) => return FailureKind::AccessDenied,
        _ => {}
    }
    match status {
        Some(s) if s >= 500 || s == 429 => FailureKind::Transient,
        Some(412) => FailureKind::Precondition,
        Some(404) if code.is_none() => FailureKind::NotFound,
        Some(403) => FailureKind::AccessDenied,
        Some(s) if (400..500).contains(&s) => FailureKind::Invalid,
        // No status, or a non-error status with a modeled error: assume the service hiccupped.
        _ => FailureKind::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_classify() {
        let cases = [
            (
                Some("TooManyRequestsException"),
                Some(429),
                FailureKind::Transient,
            ),
            (
                Some("ThrottlingException"),
                Some(400),
                FailureKind::Transient,
            ),
            (Some("Throttling"), Some(400), FailureKind::Transient),
            (
                Some("ResourceConflictException"),
                Some(409),
                FailureKind::Transient,
            ),
            (Some("ServiceException"), Some(500), FailureKind::Transient),
            (None, Some(503), FailureKind::Transient),
            (None, None, FailureKind::Transient),
            (
                Some("PreconditionFailedException"),
                Some(412),
                FailureKind::Precondition,
            ),
            (
                Some("ResourceNotFoundException"),
                Some(404),
                FailureKind::NotFound,
            ),
            (
                Some("ExecutionDoesNotExist"),
                Some(400),
                FailureKind::NotFound,
            ),
            (
                Some("InvalidParameterValueException"),
                Some(400),
                FailureKind::Invalid,
            ),
            (Some("ValidationException"), Some(400), FailureKind::Invalid),
            (
                Some("AccessDeniedException"),
                Some(403),
                FailureKind::AccessDenied,
            ),
            (None, Some(403), FailureKind::AccessDenied),
        ];
        for (code, status, kind) in cases {
            assert_eq!(classify(code, status), kind, "{code:?} {status:?}");
        }
    }
}
