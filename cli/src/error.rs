//! Why a command could not run at all (as opposed to a deployment that failed).

use shifter::ShifterError;

/// Why a command could not run at all; `shifter` exits 2 with it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file or argument is not what it should be.
    #[error("{0}")]
    Usage(String),
    /// A call to AWS (Step Functions, through the `Executions` port) failed; the stable error
    /// name is shown with the message.
    #[error("{0} ({kind})", kind = .0.kind())]
    Service(#[from] ShifterError),
    /// The local runner refused or failed.
    #[error("local runner: {0}")]
    Runner(String),
    /// The chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),
}

impl CliError {
    /// The message `shifter` prints: one line, at most [`MAX_MESSAGE`] characters; a call that
    /// could not reach AWS says where it was going and the innermost cause, not the SDK's
    /// internal structure.
    pub fn plain(&self) -> String {
        let text = match self {
            CliError::Service(e) => match unreachable(e) {
                Some(cause) => format!("cannot reach {}: {cause}", aws_endpoint()),
                None => self.to_string(),
            },
            other => other.to_string(),
        };
        let line = text.replace(['\n', '\r'], " ");
        shifter::domain::text::cut_chars(&line, MAX_MESSAGE)
    }

    /// `path` could not be read or written.
    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Longest remote message shown: a service's error text can be pages long.
pub const MAX_REMOTE_MESSAGE: usize = 300;

/// Longest message `shifter` prints for a command that could not run.
pub const MAX_MESSAGE: usize = 1000;

/// The endpoint a command's `--endpoint` named, for its messages.
static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names `url` as where this command's AWS calls go.
pub fn use_endpoint(url: &str) {
    let _ = ENDPOINT.set(shifter::domain::text::cut_chars(url, 200));
}

/// Where the AWS calls of `deploy`, `watch` and the answers go: `--endpoint` or
/// `AWS_ENDPOINT_URL` when set (an emulator), else AWS in the environment's region.
pub fn aws_endpoint() -> String {
    if let Some(url) = ENDPOINT.get() {
        return url.clone();
    }
    let region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION"));
    match (std::env::var("AWS_ENDPOINT_URL"), region) {
        (Ok(url), _) => url,
        (Err(_), Ok(region)) => format!("AWS ({region})"),
        (Err(_), Err(_)) => "AWS".to_owned(),
    }
}

/// The innermost cause when `error` is a request that never reached the service (a refused or
/// timed-out connection, DNS), found by its connector error anywhere in the source chain.
pub fn unreachable(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use aws_sdk_cloudformation::error::ConnectorError;
    let mut current = Some(error);
    let mut connector = false;
    let mut innermost = error;
    while let Some(e) = current {
        if let Some(c) = e.downcast_ref::<ConnectorError>() {
            connector |= c.is_io() || c.is_timeout();
        }
        innermost = e;
        current = e.source();
    }
    connector.then(|| innermost.to_string())
}

/// One plain line for a failed AWS call to `where_` (an endpoint or "AWS"): a connection that
/// could not be made says so with its innermost cause (`Connection refused`), a service's error
/// gives its code and message, cut to [`MAX_REMOTE_MESSAGE`] characters; never the SDK's
/// internal structure.
pub fn remote_message<E, R>(
    error: &aws_sdk_cloudformation::error::SdkError<E, R>,
    where_: &str,
) -> String
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_cloudformation::error::SdkError;
    let innermost = |mut e: &(dyn std::error::Error + 'static)| {
        while let Some(source) = e.source() {
            e = source;
        }
        e.to_string()
    };
    let line = match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            format!("cannot reach {where_}: {}", innermost(error))
        }
        SdkError::ServiceError(service) => {
            let e = service.err();
            format!(
                "{where_} answered {}: {}",
                e.code().unwrap_or("an error"),
                e.message().unwrap_or("no message")
            )
        }
        _ => format!("the call to {where_} failed: {}", innermost(error)),
    };
    shifter::domain::text::cut_chars(&line.replace(['\n', '\r'], " "), MAX_REMOTE_MESSAGE)
}
