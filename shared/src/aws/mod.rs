//! Real adapters of the ports over the AWS SDK for Rust (feature `aws`).
//!
//! Clients come from one configuration so every Lambda builds them once per cold start, with the
//! SDK's standard retry mode and the environment's region, credentials and `AWS_ENDPOINT_URL`:
//! the functions' is built from their environment alone ([`load_lambda_config`]), the `shifter`
//! command's by aws-config's default chains (profiles, SSO, …: [`load_config`]).

pub mod cloudwatch;
pub mod codepipeline;
pub mod dynamodb;
pub mod env;
pub mod errors;
pub mod events;
pub mod lambda;
pub mod lambda_config;
pub mod metrics;
pub mod records;
pub mod sfn;
pub mod waves;

pub use cloudwatch::CloudWatchAlarms;
pub use codepipeline::CodePipelineJobs;
pub use dynamodb::DynamoDbRegistry;
pub use events::EventBridgeEvents;
pub use lambda::LambdaAdapter;
pub use lambda_config::load_lambda_config;
pub use metrics::CloudWatchMetrics;
pub use records::DynamoDbRecords;
pub use sfn::{Execution, ExecutionStatus, Executions, HistoryEvent, StepFunctionsExecutions};
pub use waves::{AwsTargetAccounts, DynamoDbWaveWatches};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// One client per service, built from one shared configuration.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// Lambda: aliases, versions, functions.
    pub lambda: aws_sdk_lambda::Client,
    /// CloudWatch: alarm states.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Step Functions: executions.
    pub sfn: aws_sdk_sfn::Client,
    /// DynamoDB: the registry of active deployments.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl AwsClients {
    /// Clients for an already loaded configuration.
    pub fn from_config(config: &SdkConfig) -> AwsClients {
        AwsClients {
            lambda: aws_sdk_lambda::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
        }
    }
}

/// The configuration by aws-config's default chains (environment, profile files, web identity,
/// container and instance metadata): region, credentials and `AWS_ENDPOINT_URL`; standard retry.
/// For the `shifter` command on a workstation; the Lambda functions use [`load_lambda_config`],
/// which links none of those chains.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// How long a person waits for AWS to accept a connection, and then for its first byte.
pub const INTERACTIVE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The configuration of the `shifter` command: [`load_config`]'s, at `endpoint` when given,
/// with bounded waits ([`INTERACTIVE_WAIT`] to connect and to answer, two attempts), so an
/// endpoint that never answers is reported within seconds, not after the SDK's defaults.
pub async fn load_interactive_config(endpoint: Option<&str>) -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(INTERACTIVE_WAIT)
        .read_timeout(INTERACTIVE_WAIT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Structured logs for a Lambda: JSON when the function's log format is JSON, the level from
/// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO), no timestamps (CloudWatch adds them).
/// A level this build compiled out (the packaged functions keep INFO and above, their
/// `lean-logs` feature) is said once, as a warning, instead of silently logging less.
pub fn init_logging() {
    let level = env::optional("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| env::optional("RUST_LOG"))
        .and_then(|l| l.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    init_subscriber(level);
    if let Some(compiled) = compiled_out(level, tracing::level_filters::STATIC_MAX_LEVEL) {
        let kept = compiled.to_string().to_ascii_uppercase();
        tracing::warn!(
            requested = %level,
            kept = %kept,
            "this build logs {kept} and above: its lean-logs feature compiled out the rest; \
             `scripts/package --sdk-debug-logs` builds the functions with the SDK's DEBUG and \
             TRACE logs"
        );
    }
}

/// The most verbose level a build keeps, when `requested` asks for more than that.
fn compiled_out(
    requested: tracing::Level,
    compiled: tracing::level_filters::LevelFilter,
) -> Option<tracing::level_filters::LevelFilter> {
    (tracing::level_filters::LevelFilter::from_level(requested) > compiled).then_some(compiled)
}

fn init_subscriber(level: tracing::Level) {
    let logs = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .without_time();
    let json =
        env::optional("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        logs.json().with_current_span(false).init();
    } else {
        logs.init();
    }
}

/// Clients for a local AWS API emulator at `endpoint` ([`emulator_config`]).
pub async fn load_for_emulator(endpoint: &str) -> AwsClients {
    AwsClients::from_config(&emulator_config(endpoint).await)
}

/// The configuration for a local AWS API emulator at `endpoint`: the environment's region (else
/// `us-east-1`) and, unless the environment has keys, dummy credentials, so no real account
/// or instance metadata is ever consulted.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    let region = env::optional("AWS_REGION")
        .or_else(|| env::optional("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_owned());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region));
    if !env::is_set("AWS_ACCESS_KEY_ID") {
        loader = loader.credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "emulator",
        ));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing::level_filters::LevelFilter;

    use super::compiled_out;

    #[test]
    fn a_level_the_build_compiled_out_is_named_with_what_is_kept() {
        assert_eq!(
            compiled_out(Level::DEBUG, LevelFilter::INFO),
            Some(LevelFilter::INFO)
        );
        assert_eq!(
            compiled_out(Level::TRACE, LevelFilter::INFO),
            Some(LevelFilter::INFO)
        );
        assert_eq!(
            compiled_out(Level::TRACE, LevelFilter::DEBUG),
            Some(LevelFilter::DEBUG)
        );
    }

    #[test]
    fn a_level_the_build_keeps_says_nothing() {
        assert_eq!(compiled_out(Level::INFO, LevelFilter::INFO), None);
        assert_eq!(compiled_out(Level::ERROR, LevelFilter::INFO), None);
        assert_eq!(compiled_out(Level::TRACE, LevelFilter::TRACE), None);
    }
}
