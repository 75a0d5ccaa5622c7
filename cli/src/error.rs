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
    /// `path` could not be read or written.
    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
