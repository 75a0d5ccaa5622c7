//! The Lambda functions' own configuration ([`shifter::aws::lambda_config`]): what an SDK
//! client built from it sends (endpoint, region, signature), recorded just before the request
//! would be transmitted; and against moto, that its clients reach each service where the
//! endpoint variables say (a service's own `AWS_ENDPOINT_URL_<SERVICE>` over
//! `AWS_ENDPOINT_URL`), signed with the environment's keys.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_sdk_lambda::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_lambda::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_lambda::error::{BoxError, DisplayErrorContext};
use shifter::aws::lambda_config::{AwsEnvironment, lambda_config};

use crate::support::{moto_endpoint, moto_test};

/// The Lambda runtime's variables (keys of the execution role, region), plus `extra`.
fn role_env(extra: &[(&str, &str)]) -> AwsEnvironment {
    let runtime = [
        ("AWS_ACCESS_KEY_ID", "AKIDLAMBDAROLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "session-token"),
        ("AWS_REGION", "eu-west-1"),
    ];
    runtime.iter().chain(extra).copied().collect()
}

/// What a request carried when it was about to go out: its URI and `Authorization` header.
#[derive(Debug, Clone, Default)]
struct Sent(Arc<Mutex<Option<(String, String)>>>);

impl Intercept for Sent {
    fn name(&self) -> &'static str {
        "Sent"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let auth = request.headers().get("authorization").unwrap_or_default();
        *self.0.lock().unwrap() = Some((request.uri().to_owned(), auth.to_owned()));
        Err("recorded, not sent".into())
    }
}

impl Sent {
    fn taken(&self) -> (String, String) {
        let sent = self.0.lock().unwrap().clone();
        sent.expect("the request reached transmit")
    }
}

/// The URI and signature of a Lambda GetAccountSettings made with `config`.
async fn lambda_request(config: &SdkConfig) -> (String, String) {
    let sent = Sent::default();
    let conf = aws_sdk_lambda::config::Builder::from(config)
        .interceptor(sent.clone())
        .build();
    let client = aws_sdk_lambda::Client::from_conf(conf);
    let result = client.get_account_settings().send().await;
    assert!(result.is_err(), "the recorder stops every request");
    sent.taken()
}

/// The URI of a CloudWatch DescribeAlarms made with `config`.
async fn cloudwatch_uri(config: &SdkConfig) -> String {
    let sent = Sent::default();
    let conf = aws_sdk_cloudwatch::config::Builder::from(config)
        .interceptor(sent.clone())
        .build();
    let client = aws_sdk_cloudwatch::Client::from_conf(conf);
    let result = client.describe_alarms().send().await;
    assert!(result.is_err(), "the recorder stops every request");
    sent.taken().0
}

#[tokio::test]
async fn a_service_endpoint_overrides_the_global_one_and_requests_are_signed_for_the_region() {
    let env = role_env(&[
        ("AWS_ENDPOINT_URL", "http://global.test:4566"),
        ("AWS_ENDPOINT_URL_LAMBDA", "http://lambda.test:5000"),
    ]);
    let config = lambda_config(&env).unwrap();
    let (uri, auth) = lambda_request(&config).await;
    assert!(uri.starts_with("http://lambda.test:5000/"), "{uri}");
    assert!(
        auth.contains("Credential=AKIDLAMBDAROLE/")
            && auth.contains("/eu-west-1/lambda/aws4_request"),
        "{auth}"
    );
    let uri = cloudwatch_uri(&config).await;
    assert!(uri.starts_with("http://global.test:4566"), "{uri}");
}

#[tokio::test]
async fn without_endpoint_variables_requests_go_to_the_regional_endpoint() {
    let config = lambda_config(&role_env(&[])).unwrap();
    let (uri, _) = lambda_request(&config).await;
    assert!(
        uri.starts_with("https://lambda.eu-west-1.amazonaws.com/"),
        "{uri}"
    );
    let fips = lambda_config(&role_env(&[("AWS_USE_FIPS_ENDPOINT", "TRUE")])).unwrap();
    let (uri, _) = lambda_request(&fips).await;
    assert!(
        uri.starts_with("https://lambda-fips.eu-west-1.amazonaws.com/"),
        "{uri}"
    );
    let ignored = role_env(&[
        ("AWS_ENDPOINT_URL_LAMBDA", "http://lambda.test:5000"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
    ]);
    let (uri, _) = lambda_request(&lambda_config(&ignored).unwrap()).await;
    assert!(
        uri.starts_with("https://lambda.eu-west-1.amazonaws.com/"),
        "{uri}"
    );
}

#[tokio::test]
async fn without_keys_in_the_environment_a_request_fails_naming_them() {
    let keyless: AwsEnvironment = [("AWS_REGION", "eu-west-1")].into_iter().collect();
    let config = lambda_config(&keyless).unwrap();
    let client = aws_sdk_lambda::Client::new(&config);
    let error = client.get_account_settings().send().await.unwrap_err();
    let message = DisplayErrorContext(&error).to_string();
    assert!(
        message.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
        "{message}"
    );
}

/// The runtime's variables (as bench/startup.py sets them) with `endpoints`; one attempt, so a
/// refused connection fails at once.
fn moto_env(endpoints: &[(&str, &str)]) -> AwsEnvironment {
    let runtime = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];
    runtime.iter().chain(endpoints).copied().collect()
}

moto_test! {
    async fn the_lambda_configuration_reaches_moto_through_aws_endpoint_url() {
        let moto = moto_endpoint();
        let config = lambda_config(&moto_env(&[("AWS_ENDPOINT_URL", &moto)])).unwrap();
        aws_sdk_lambda::Client::new(&config).list_functions().send().await.unwrap();
        aws_sdk_sfn::Client::new(&config).list_state_machines().send().await.unwrap();
        aws_sdk_dynamodb::Client::new(&config).list_tables().send().await.unwrap();
    }
}

moto_test! {
    async fn on_moto_a_service_endpoint_variable_wins_over_aws_endpoint_url() {
        let moto = moto_endpoint();
        // Nothing listens on port 9 (discard) of the loopback: the global endpoint is refused.
        let env = moto_env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ENDPOINT_URL_LAMBDA", &moto),
            ("AWS_ENDPOINT_URL_DYNAMODB", &moto),
        ]);
        let config = lambda_config(&env).unwrap();
        aws_sdk_lambda::Client::new(&config).list_functions().send().await.unwrap();
        aws_sdk_dynamodb::Client::new(&config).list_tables().send().await.unwrap();
        let refused = aws_sdk_sfn::Client::new(&config).list_state_machines().send().await;
        let error = refused.expect_err("Step Functions goes to AWS_ENDPOINT_URL, where nothing listens");
        assert!(
            matches!(error, aws_sdk_sfn::error::SdkError::DispatchFailure(_)),
            "{error:?}"
        );
    }
}
