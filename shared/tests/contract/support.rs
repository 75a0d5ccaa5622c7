//! What the services' contract tests share: the moto connection, fresh names, error bodies,
//! mock clients with fast retries, and the list of places where moto is not faithful to AWS.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_smithy_mocks::{Rule, RuleBuilder, RuleMode, mock_client};
use serde_json::json;
use shifter::ShifterError;
use shifter::aws::AwsClients;
use shifter::domain::Weight;

pub const ACCOUNT: &str = "123456789012";
/// Seeded by scripts/lib/seed_moto.py: moto refuses CreateFunction for a role it does not know.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/shifter-contract";
pub const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/shifter-contract-other";

// ---------------------------------------------------------------- moto

/// A test against moto server. Ignored by a plain `cargo test`, so it is reported as ignored
/// rather than passed when no emulator runs; `scripts/test` starts moto and runs these with
/// `--ignored`, and then a wrong answer fails the test (and so does a missing endpoint).
macro_rules! moto_test {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[tokio::test]
        #[ignore = "needs moto server: scripts/test runs these with --ignored"]
        async fn $name() $body
    };
}
pub(crate) use moto_test;

/// The moto server's URL, `SHIFTER_MOTO_ENDPOINT`; without one a moto test fails.
pub fn moto_endpoint() -> String {
    std::env::var("SHIFTER_MOTO_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "SHIFTER_MOTO_ENDPOINT is not set: run scripts/test, or `source \
                 scripts/lib/moto.sh && moto_start` first"
            )
        })
}

/// Clients on the moto server at `SHIFTER_MOTO_ENDPOINT`; without one a moto test fails.
pub async fn moto_clients() -> AwsClients {
    shifter::aws::load_for_emulator(&moto_endpoint()).await
}

/// The configuration for the moto server at `SHIFTER_MOTO_ENDPOINT`, for clients
/// [`moto_clients`] does not hold (EventBridge, SQS).
pub async fn moto_config() -> aws_config::SdkConfig {
    shifter::aws::emulator_config(&moto_endpoint()).await
}

/// A name no earlier run against the same server used.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------- assertions

pub fn weight(bp: u32) -> Weight {
    Weight::from_bp(bp).expect("valid weight")
}

pub fn assert_not_found(result: Result<impl std::fmt::Debug, ShifterError>, what: &str) {
    match result {
        Err(ShifterError::NotFound { what: got }) => assert_eq!(got, what),
        other => panic!("expected NotFound {{ what: {what:?} }}, got {other:?}"),
    }
}

// ---------------------------------------------------------------- aws-smithy-mocks

/// Attempts the SDK's standard retry mode makes before it gives up.
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>
pub const ATTEMPTS: usize = 3;

/// Standard retry (`ATTEMPTS` attempts) without the wait between them.
fn fast_retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(ATTEMPTS as u32)
        .with_initial_backoff(Duration::from_millis(1))
}

pub fn lambda_client(mode: RuleMode, rules: &[&Rule]) -> aws_sdk_lambda::Client {
    mock_client!(aws_sdk_lambda, mode, rules, |c| c
        .retry_config(fast_retry()))
}

pub fn cloudwatch_client(mode: RuleMode, rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
    mock_client!(aws_sdk_cloudwatch, mode, rules, |c| c
        .retry_config(fast_retry()))
}

pub fn sfn_client(mode: RuleMode, rules: &[&Rule]) -> aws_sdk_sfn::Client {
    mock_client!(aws_sdk_sfn, mode, rules, |c| c.retry_config(fast_retry()))
}

pub fn codepipeline_client(mode: RuleMode, rules: &[&Rule]) -> aws_sdk_codepipeline::Client {
    mock_client!(aws_sdk_codepipeline, mode, rules, |c| c
        .retry_config(fast_retry()))
}

pub fn eventbridge_client(mode: RuleMode, rules: &[&Rule]) -> aws_sdk_eventbridge::Client {
    mock_client!(aws_sdk_eventbridge, mode, rules, |c| c
        .retry_config(fast_retry()))
}

/// A JSON error body as Lambda (restJson1), Step Functions and CodePipeline (awsJson) send it:
/// the SDKs read the error code from `__type`.
pub fn error_body(code: &str, message: &str) -> Option<String> {
    Some(json!({"__type": code, "message": message}).to_string())
}

/// A rule answering the next `times` calls with HTTP `status` and `body`.
pub fn http_error<I, O, E>(
    rule: RuleBuilder<I, O, E>,
    status: u16,
    body: Option<String>,
    times: usize,
) -> Rule
where
    I: std::fmt::Debug + Send + Sync + 'static,
    O: std::fmt::Debug + Send + Sync + 'static,
    E: std::fmt::Debug + Send + Sync + std::error::Error + 'static,
{
    rule.sequence()
        .http_status(status, body)
        .times(times)
        .build()
}

/// A rule throttling every attempt of one call: 400 `ThrottlingException` (the awsJson services).
pub fn throttled<I, O, E>(rule: RuleBuilder<I, O, E>) -> Rule
where
    I: std::fmt::Debug + Send + Sync + 'static,
    O: std::fmt::Debug + Send + Sync + 'static,
    E: std::fmt::Debug + Send + Sync + std::error::Error + 'static,
{
    let body = error_body("ThrottlingException", "Rate exceeded");
    http_error(rule, 400, body, ATTEMPTS)
}

// ---------------------------------------------------------------- emulator gaps

/// Where moto 5.2.5 is not faithful to AWS: (name, why, the mock test that covers the AWS
/// behaviour instead, as `module::mocks::test`). Suite behaviours hit by a gap run on the fake
/// only; their moto variant was removed rather than kept as a test that cannot fail.
pub const EMULATOR_GAPS: &[(&str, &str, &str)] = &[
    (
        "revision-id-never-changes",
        "moto assigns an alias one RevisionId at creation and never changes it on UpdateAlias",
        "lambda::mocks::update_returns_the_new_revision",
    ),
    (
        "stale-revision-accepted",
        "moto accepts UpdateAlias with any RevisionId instead of answering 412 \
         PreconditionFailedException",
        "lambda::mocks::stale_revision_is_alias_drift",
    ),
    (
        "routing-not-validated",
        "moto accepts weighted routing between versions with different roles or DLQs, to the \
         alias's own version, and out-of-range weights; Lambda answers 400 \
         InvalidParameterValueException",
        "lambda::mocks::invalid_parameter_is_invalid_input",
    ),
    (
        "dead-letter-config-dropped",
        "moto does not store DeadLetterConfig on UpdateFunctionConfiguration, so published \
         versions never report a DLQ",
        "lambda::mocks::version_reports_role_and_dlq",
    ),
    (
        "list-versions-not-paginated",
        "moto ignores MaxItems on ListVersionsByFunction and never returns NextMarker",
        "lambda::mocks::latest_version_follows_every_page",
    ),
    (
        "provisioned-concurrency-not-served",
        "moto 5.2.5 has no route for PutProvisionedConcurrencyConfig or \
         GetProvisionedConcurrencyConfig (a 404 without an error code)",
        "lambda::mocks::provisioned_concurrency_reads_status_counts_and_reason",
    ),
    (
        "no-throttling-or-5xx",
        "moto never throttles or fails with 5xx/ResourceConflictException",
        "lambda::mocks::throttling_is_transient_after_sdk_retries",
    ),
    (
        "cloudwatch-rpcv2-cbor",
        "aws-sdk-cloudwatch >= 1.100 speaks the RPCv2 CBOR protocol, which moto does not \
         serve; every AlarmReader behaviour runs on the fake and on mocks instead",
        "cloudwatch::mocks::pages_through_the_sdk",
    ),
    (
        "executions-never-run",
        "moto's Step Functions keeps executions RUNNING (it does not interpret the definition) \
         and returns a canned history",
        "sfn::mocks::failed_execution_reports_error_and_cause",
    ),
    (
        "execution-history-not-paginated",
        "moto ignores maxResults on GetExecutionHistory and never returns nextToken",
        "sfn::mocks::history_follows_every_page",
    ),
    (
        "codepipeline-job-apis",
        "moto serves no CodePipeline job APIs (PutJobSuccessResult, PutJobFailureResult); \
         every PipelineJobs call runs on the fake and on mocks instead",
        "codepipeline::mocks::success_sends_the_token_or_the_variables",
    ),
];

#[test]
fn every_gap_names_a_mock_test_that_exists() {
    let sources = [
        ("lambda", include_str!("lambda.rs")),
        ("cloudwatch", include_str!("cloudwatch.rs")),
        ("sfn", include_str!("sfn.rs")),
        ("codepipeline", include_str!("codepipeline.rs")),
    ];
    for (name, why, covered_by) in EMULATOR_GAPS {
        assert!(!why.is_empty(), "{name}");
        let [module, "mocks", test] = covered_by.split("::").collect::<Vec<_>>()[..] else {
            panic!("gap {name}: {covered_by} is not module::mocks::test");
        };
        let (_, source) = sources
            .iter()
            .find(|(m, _)| *m == module)
            .unwrap_or_else(|| panic!("gap {name}: no module {module}"));
        let mocks = source
            .split_once("mod mocks {")
            .unwrap_or_else(|| panic!("gap {name}: {module} has no mocks module"))
            .1;
        assert!(
            mocks.contains(&format!("async fn {test}()")),
            "gap {name} names {covered_by}, which is not a test"
        );
    }
}

/// One attribute of a DynamoDB key, for CreateTable.
pub fn attribute(
    name: &str,
    kind: aws_sdk_dynamodb::types::ScalarAttributeType,
) -> aws_sdk_dynamodb::types::AttributeDefinition {
    aws_sdk_dynamodb::types::AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("attribute")
}

/// One element of a DynamoDB key schema, for CreateTable.
pub fn key(
    name: &str,
    kind: aws_sdk_dynamodb::types::KeyType,
) -> aws_sdk_dynamodb::types::KeySchemaElement {
    aws_sdk_dynamodb::types::KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key")
}

/// Turns TTL on for `table`, on `attribute`, as template.yaml's tables declare it.
pub async fn enable_ttl(client: &aws_sdk_dynamodb::Client, table: &str, attribute: &str) {
    let ttl = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .expect("ttl");
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .expect("moto UpdateTimeToLive");
}
