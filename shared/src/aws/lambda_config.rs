//! The SDK configuration of the Lambda functions, built from the process environment alone.
//!
//! `aws_config::defaults(..).load()` runs the SDK's whole default chains: credentials from the
//! environment, then profile files, SSO, web identity through STS, the ECS container endpoint
//! and IMDS; the region likewise. Every function links what it references, so those chains (and
//! the STS client they carry) cost each zip bytes that a Lambda never runs: the Lambda runtime
//! sets the execution role's credentials and the region as environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`;
//! <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>).
//! [`lambda_config`] builds the same [`SdkConfig`] from those variables, with aws-config's
//! defaults for the rest (BENCHMARKS.md: what it saved per zip).
//!
//! Read, as the SDK's environment providers read them:
//! - region: `AWS_REGION`, else `AWS_DEFAULT_REGION`;
//! - credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (else `SECRET_ACCESS_KEY`),
//!   optional `AWS_SESSION_TOKEN` and `AWS_ACCOUNT_ID`
//!   (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-static-credentials.html>); without
//!   the two keys every request fails naming them, as the default chain's would;
//! - endpoints: `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_CLOUDWATCH`) over
//!   `AWS_ENDPOINT_URL`, both ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`
//!   (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>);
//! - retries: standard mode, 3 attempts, `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS` when set
//!   (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>);
//! - `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`
//!   (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-endpoints.html>).
//!
//! Fixed as aws-config's loader fixes them: the latest behavior version, a 3.1 s connect timeout,
//! the lazy identity cache; the SDK's defaults for the HTTP client, sleep, time source and
//! stalled-stream protection. Not read (the template sets none of them): shared config and
//! credentials files, `AWS_PROFILE`, SSO, web identity, the container and instance metadata
//! endpoints, `AWS_SDK_UA_APP_ID`, request compression, checksum, account-ID endpoint mode and
//! auth scheme preference settings. The `shifter` command, which runs where profiles and SSO
//! are the norm, keeps the default chains ([`super::load_config`]).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::attributes::AccountId;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use thiserror::Error;

/// The connect timeout aws-config's loader sets (`SDK_DEFAULT_CONNECT_TIMEOUT` in its
/// `default_provider::timeout_config`, aws-config 1.13).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// The global endpoint variable; a service's own is this, `_`, and its service ID in capitals.
const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// A variable the configuration reads is set to a value the SDK refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{name}: {value:?} is not {expected}")]
pub struct InvalidSetting {
    /// The variable's name.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What it must be.
    pub expected: &'static str,
}

/// The environment the configuration is read from: its `AWS_*` variables (and
/// `SECRET_ACCESS_KEY`); a variable set to an empty or blank value counts as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsEnvironment {
    vars: BTreeMap<String, String>,
}

impl AwsEnvironment {
    /// The process's environment (variables whose name or value is not Unicode are skipped).
    pub fn from_process() -> AwsEnvironment {
        std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect()
    }

    /// The value of `name`, unless unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The `true`/`false` (any case) value of `name`; anything else is ignored with a warning,
    /// as aws-config ignores it.
    fn flag(&self, name: &str) -> Option<bool> {
        let value = self.get(name)?;
        if value.eq_ignore_ascii_case("true") {
            Some(true)
        } else if value.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            tracing::warn!(variable = name, value, "not true or false: ignored");
            None
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for AwsEnvironment {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> AwsEnvironment {
        let vars = iter
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, _)| k.starts_with("AWS_") || k == "SECRET_ACCESS_KEY")
            .collect();
        AwsEnvironment { vars }
    }
}

/// The configuration of a Lambda function, from its own environment ([`lambda_config`]).
pub fn load_lambda_config() -> Result<SdkConfig, InvalidSetting> {
    lambda_config(&AwsEnvironment::from_process())
}

/// The SDK configuration `env` describes (see the module's documentation for what is read).
pub fn lambda_config(env: &AwsEnvironment) -> Result<SdkConfig, InvalidSetting> {
    let region = env
        .get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .map(|r| Region::new(r.to_owned()));
    let ignore_endpoints = env
        .flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .unwrap_or(false);
    let endpoint_url = if ignore_endpoints {
        None
    } else {
        env.get(ENDPOINT_URL).map(str::to_owned)
    };
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(retry_config(env)?)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        )
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentCredentials::read(env),
        ))
        .service_config(ServiceEndpoints {
            env: env.clone(),
            ignore: ignore_endpoints,
        });
    builder.set_region(region);
    builder.set_endpoint_url(endpoint_url);
    builder.set_use_fips(env.flag("AWS_USE_FIPS_ENDPOINT"));
    builder.set_use_dual_stack(env.flag("AWS_USE_DUALSTACK_ENDPOINT"));
    Ok(builder.build())
}

/// Standard retries (3 attempts), with `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS` when set.
fn retry_config(env: &AwsEnvironment) -> Result<RetryConfig, InvalidSetting> {
    let mut retry = RetryConfig::standard();
    if let Some(value) = env.get("AWS_MAX_ATTEMPTS") {
        let attempts = value.trim().parse::<u32>().ok().filter(|&n| n > 0);
        let attempts = attempts.ok_or_else(|| InvalidSetting {
            name: "AWS_MAX_ATTEMPTS",
            value: value.to_owned(),
            expected: "a whole number greater than 0",
        })?;
        retry = retry.with_max_attempts(attempts);
    }
    if let Some(value) = env.get("AWS_RETRY_MODE") {
        let mode = value.parse::<RetryMode>().map_err(|_| InvalidSetting {
            name: "AWS_RETRY_MODE",
            value: value.to_owned(),
            expected: "standard or adaptive",
        })?;
        retry = retry.with_retry_mode(mode);
    }
    Ok(retry)
}

/// The service-specific settings each SDK client asks for when it is built (today its endpoint
/// URL): `<KEY>_<SERVICE ID>` (the ID in capitals, spaces as `_`), else `<KEY>`.
#[derive(Debug)]
struct ServiceEndpoints {
    env: AwsEnvironment,
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`: no endpoint URL from the environment.
    ignore: bool,
}

impl LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if self.ignore && key.env() == ENDPOINT_URL {
            return None;
        }
        let service = key.service_id().to_uppercase().replace(' ', "_");
        let specific = format!("{}_{service}", key.env());
        self.env
            .get(&specific)
            .or_else(|| self.env.get(key.env()))
            .map(str::to_owned)
    }
}

/// The credentials in the environment, read once (the Lambda runtime sets them before the
/// process starts and never changes them).
#[derive(Debug)]
struct EnvironmentCredentials(Option<Credentials>);

impl EnvironmentCredentials {
    fn read(env: &AwsEnvironment) -> EnvironmentCredentials {
        let access_key = env.get("AWS_ACCESS_KEY_ID");
        let secret = env
            .get("AWS_SECRET_ACCESS_KEY")
            .or_else(|| env.get("SECRET_ACCESS_KEY"));
        let (Some(access_key), Some(secret)) = (access_key, secret) else {
            return EnvironmentCredentials(None);
        };
        let mut builder = Credentials::builder()
            .access_key_id(access_key)
            .secret_access_key(secret)
            .provider_name("EnvironmentVariable");
        builder.set_session_token(env.get("AWS_SESSION_TOKEN").map(|t| t.trim().to_owned()));
        builder.set_account_id(env.get("AWS_ACCOUNT_ID").map(|a| AccountId::from(a.trim())));
        let mut credentials = builder.build();
        credentials
            .get_property_mut_or_default::<Vec<AwsCredentialFeature>>()
            .push(AwsCredentialFeature::CredentialsEnvVars);
        EnvironmentCredentials(Some(credentials))
    }
}

impl ProvideCredentials for EnvironmentCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(self.0.clone().ok_or_else(|| {
            CredentialsError::not_loaded(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (the Lambda runtime sets them)",
            )
        }))
    }
}

#[cfg(test)]
/// The configuration read from a given environment; what an SDK client built from it sends is
/// checked in the contract tests (`shared/tests/contract/lambda_config.rs`).
mod tests {
    use super::*;

    /// The Lambda runtime's variables (keys of the execution role, region), plus `extra`.
    fn lambda_env(extra: &[(&str, &str)]) -> AwsEnvironment {
        let runtime = [
            ("AWS_ACCESS_KEY_ID", "AKIDLAMBDAROLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session-token"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("PATH", "/usr/bin"),
        ];
        runtime.iter().chain(extra).map(|&(k, v)| (k, v)).collect()
    }

    /// The endpoint URL the client of the service `service_id` reads from the configuration:
    /// the key a generated SDK client's `From<&SdkConfig>` asks for, else the global URL.
    fn endpoint(config: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env(ENDPOINT_URL)
            .profile("endpoint_url")
            .build()
            .unwrap();
        let service = config.service_config().expect("a service config");
        service
            .load_config(key)
            .or_else(|| config.endpoint_url().map(str::to_owned))
    }

    #[test]
    fn a_service_endpoint_variable_wins_over_aws_endpoint_url() {
        let env = lambda_env(&[
            ("AWS_ENDPOINT_URL", "http://global.test:4566"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://lambda.test:5000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb.test:8000"),
        ]);
        let config = lambda_config(&env).unwrap();
        assert_eq!(config.endpoint_url(), Some("http://global.test:4566"));
        let at = |service| endpoint(&config, service);
        assert_eq!(at("Lambda").as_deref(), Some("http://lambda.test:5000"));
        assert_eq!(at("DynamoDB").as_deref(), Some("http://dynamodb.test:8000"));
        assert_eq!(at("CloudWatch").as_deref(), Some("http://global.test:4566"));
        // A service ID with a space: its variable has `_` in its place.
        let spaced = lambda_env(&[("AWS_ENDPOINT_URL_API_GATEWAY", "http://apigw.test")]);
        let config = lambda_config(&spaced).unwrap();
        assert_eq!(
            endpoint(&config, "API Gateway").as_deref(),
            Some("http://apigw.test")
        );
        assert_eq!(endpoint(&config, "Lambda"), None);
    }

    #[test]
    fn ignoring_configured_endpoints_ignores_every_endpoint_variable() {
        let env = lambda_env(&[
            ("AWS_ENDPOINT_URL", "http://global.test:4566"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://lambda.test:5000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        let config = lambda_config(&env).unwrap();
        assert_eq!(config.endpoint_url(), None);
        assert_eq!(endpoint(&config, "Lambda"), None);
        assert_eq!(endpoint(&config, "CloudWatch"), None);
    }

    #[test]
    fn the_region_is_aws_region_else_aws_default_region() {
        let both = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-2"),
        ];
        let region = |vars: &[(&str, &str)]| {
            let env: AwsEnvironment = vars.iter().copied().collect();
            lambda_config(&env)
                .unwrap()
                .region()
                .map(|r| r.as_ref().to_owned())
        };
        assert_eq!(region(&both).as_deref(), Some("eu-west-1"));
        assert_eq!(region(&both[1..]).as_deref(), Some("us-east-2"));
        assert_eq!(
            region(&[("AWS_REGION", " "), both[1]]).as_deref(),
            Some("us-east-2")
        );
        assert_eq!(region(&[]), None);
    }

    #[tokio::test]
    async fn credentials_come_from_the_environment_or_fail_naming_the_variables() {
        let config = lambda_config(&lambda_env(&[("AWS_ACCOUNT_ID", "123456789012")])).unwrap();
        let provider = config.credentials_provider().expect("a provider");
        let credentials = provider.provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key_id(), "AKIDLAMBDAROLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("session-token"));
        assert_eq!(
            credentials.account_id().map(AccountId::as_str),
            Some("123456789012")
        );
        assert_eq!(credentials.expiry(), None);

        let fallback: AwsEnvironment = [("AWS_ACCESS_KEY_ID", "AKID"), ("SECRET_ACCESS_KEY", "s")]
            .into_iter()
            .collect();
        let provider = lambda_config(&fallback)
            .unwrap()
            .credentials_provider()
            .unwrap();
        assert_eq!(
            provider
                .provide_credentials()
                .await
                .unwrap()
                .secret_access_key(),
            "s"
        );

        let keyless: AwsEnvironment = [("AWS_REGION", "eu-west-1")].into_iter().collect();
        let provider = lambda_config(&keyless)
            .unwrap()
            .credentials_provider()
            .unwrap();
        let error = provider.provide_credentials().await.unwrap_err();
        assert!(
            matches!(error, CredentialsError::CredentialsNotLoaded(_)),
            "{error:?}"
        );
        let message = format!("{error:?}");
        assert!(
            message.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
            "{message}"
        );
    }

    #[test]
    fn retries_and_timeouts_are_the_sdk_defaults_unless_the_environment_sets_them() {
        let config = lambda_config(&lambda_env(&[])).unwrap();
        assert_eq!(config.retry_config(), Some(&RetryConfig::standard()));
        assert_eq!(config.retry_config().unwrap().max_attempts(), 3);
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(
            timeouts.connect_timeout(),
            Some(Duration::from_millis(3100))
        );
        assert_eq!(timeouts.read_timeout(), None);
        assert_eq!(config.behavior_version(), Some(BehaviorVersion::latest()));
        assert!(config.identity_cache().is_some());
        assert!(
            config.stalled_stream_protection().is_none(),
            "the SDK's default applies"
        );

        let env = lambda_env(&[("AWS_MAX_ATTEMPTS", "5"), ("AWS_RETRY_MODE", "Adaptive")]);
        let retry = lambda_config(&env)
            .unwrap()
            .retry_config()
            .cloned()
            .unwrap();
        assert_eq!(
            (retry.max_attempts(), retry.mode()),
            (5, RetryMode::Adaptive)
        );

        for (name, value) in [
            ("AWS_MAX_ATTEMPTS", "0"),
            ("AWS_MAX_ATTEMPTS", "three"),
            ("AWS_RETRY_MODE", "legacy"),
        ] {
            let error = lambda_config(&lambda_env(&[(name, value)])).unwrap_err();
            assert_eq!((error.name, error.value.as_str()), (name, value));
        }
    }

    #[test]
    fn only_aws_variables_are_kept_and_blank_ones_count_as_unset() {
        let env = lambda_env(&[
            ("AWS_ENDPOINT_URL", ""),
            ("AWS_USE_DUALSTACK_ENDPOINT", "yes"),
        ]);
        assert_eq!(env.get("PATH"), None);
        assert_eq!(env.get("AWS_ENDPOINT_URL"), None);
        let config = lambda_config(&env).unwrap();
        assert_eq!(config.endpoint_url(), None);
        assert_eq!(
            config.use_dual_stack(),
            None,
            "not true or false: ignored, as aws-config does"
        );
        assert_eq!(config.use_fips(), None);
    }
}
