//! Lambda (`AliasRouter`, `FunctionRegistry`): one suite of behaviours, run on `FakeLambda`
//! and on `LambdaAdapter` over moto where moto answers as Lambda does; what moto cannot show
//! (see `EMULATOR_GAPS`) runs on `LambdaAdapter` over aws-smithy-mocks.
//!
//! Lambda's alias API: <https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html>,
//! <https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html>.

use std::sync::Arc;

use aws_sdk_lambda::primitives::Blob;
use shifter::aws::LambdaAdapter;
use shifter::domain::{AdditionalVersion, AliasRoute};
use shifter::fakes::{FakeLambda, Fault, LambdaOp, ManualClock};
use shifter::ports::{AliasRouter, FunctionRegistry, VersionInfo};

use crate::support::{
    ACCOUNT, OTHER_ROLE, ROLE, assert_not_found, moto_clients, moto_test, unique, weight,
};

// ---------------------------------------------------------------- worlds

/// An account the suite can seed, with the port under test on top.
trait LambdaWorld {
    type Port: AliasRouter + FunctionRegistry;
    fn port(&self) -> &Self::Port;
    /// Creates a function with only `$LATEST`, running as `role`.
    async fn create_function(&self, name: &str, role: &str);
    /// Publishes `$LATEST`; returns the version.
    async fn publish(&self, name: &str) -> String;
    /// Creates an alias on `version`.
    async fn create_alias(&self, name: &str, alias: &str, version: &str);
    /// A function name no test used before.
    fn name(&self, prefix: &str) -> String;
}

struct FakeWorld {
    lambda: FakeLambda,
}

impl FakeWorld {
    fn new() -> FakeWorld {
        FakeWorld {
            lambda: FakeLambda::new(Arc::new(ManualClock::at_epoch())),
        }
    }
}

impl LambdaWorld for FakeWorld {
    type Port = FakeLambda;
    fn port(&self) -> &FakeLambda {
        &self.lambda
    }
    async fn create_function(&self, name: &str, role: &str) {
        self.lambda.add_function(name, role);
    }
    async fn publish(&self, name: &str) -> String {
        self.lambda.publish(name).expect("function exists")
    }
    async fn create_alias(&self, name: &str, alias: &str, version: &str) {
        self.lambda
            .put_alias(name, alias, AliasRoute::single(version));
    }
    fn name(&self, prefix: &str) -> String {
        prefix.to_owned()
    }
}

struct MotoWorld {
    adapter: LambdaAdapter,
    raw: aws_sdk_lambda::Client,
}

impl MotoWorld {
    async fn new() -> MotoWorld {
        let clients = moto_clients().await;
        MotoWorld {
            adapter: LambdaAdapter::new(clients.lambda.clone()),
            raw: clients.lambda,
        }
    }
}

impl LambdaWorld for MotoWorld {
    type Port = LambdaAdapter;
    fn port(&self) -> &LambdaAdapter {
        &self.adapter
    }
    async fn create_function(&self, name: &str, role: &str) {
        // moto stores the zip without running it; Lambda would need a real bootstrap.
        let code = aws_sdk_lambda::types::FunctionCode::builder()
            .zip_file(Blob::new(
                b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec(),
            ))
            .build();
        self.raw
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .role(role)
            .handler("bootstrap")
            .code(code)
            .send()
            .await
            .expect("moto CreateFunction (is the seeded role there?)");
    }
    async fn publish(&self, name: &str) -> String {
        // Like Lambda, moto returns the existing version when nothing changed since it.
        self.raw
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(unique("code").into_bytes()))
            .send()
            .await
            .expect("moto UpdateFunctionCode");
        self.raw
            .publish_version()
            .function_name(name)
            .send()
            .await
            .expect("moto PublishVersion")
            .version()
            .expect("version")
            .to_owned()
    }
    async fn create_alias(&self, name: &str, alias: &str, version: &str) {
        self.raw
            .create_alias()
            .function_name(name)
            .name(alias)
            .function_version(version)
            .send()
            .await
            .expect("moto CreateAlias");
    }
    fn name(&self, prefix: &str) -> String {
        unique(prefix)
    }
}

/// A function with versions 1 and 2 and alias `live` on 1.
async fn two_versions<W: LambdaWorld>(w: &W, prefix: &str) -> String {
    let f = w.name(prefix);
    w.create_function(&f, ROLE).await;
    assert_eq!(w.publish(&f).await, "1");
    assert_eq!(w.publish(&f).await, "2");
    w.create_alias(&f, "live", "1").await;
    f
}

// ---------------------------------------------------------------- the suite

mod suite {
    use super::*;

    pub async fn get_alias_reads_version_routing_and_revision<W: LambdaWorld>(w: &W) {
        let f = two_versions(w, "read").await;
        let state = w.port().get_alias(&f, "live").await.expect("get_alias");
        assert_eq!(state.route, AliasRoute::single("1"));
        assert!(
            !state.revision_id.is_empty(),
            "a RevisionId to condition writes on"
        );
        let arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{f}");
        assert_eq!(
            w.port()
                .get_alias(&arn, "live")
                .await
                .expect("by ARN")
                .route,
            state.route
        );
    }

    pub async fn missing_function_and_alias_are_named<W: LambdaWorld>(w: &W) {
        let f = two_versions(w, "missing").await;
        let ghost = w.name("ghost");
        assert_not_found(
            w.port().get_alias(&ghost, "live").await,
            &format!("function {ghost}"),
        );
        assert_not_found(
            w.port().get_alias(&f, "nope").await,
            &format!("alias nope of function {f}"),
        );
        let state = w.port().get_alias(&f, "live").await.expect("get_alias");
        assert_not_found(
            w.port()
                .update_alias(&f, "live", &AliasRoute::single("99"), &state.revision_id)
                .await,
            &format!("version 99 of function {f}"),
        );
    }

    pub async fn weighted_routing_round_trips_exactly<W: LambdaWorld>(w: &W) {
        let f = two_versions(w, "weights").await;
        let mut revision = w
            .port()
            .get_alias(&f, "live")
            .await
            .expect("get_alias")
            .revision_id;
        // 0.1 + 0.2 must reach the API as 0.3, and come back as 3000 basis points.
        for bp in [1, 1000, 3000, 3333, 9999] {
            let route = AliasRoute::split("1", "2", weight(bp));
            let written = w
                .port()
                .update_alias(&f, "live", &route, &revision)
                .await
                .expect("update");
            assert_eq!(written.route, route, "as written at {bp} bp");
            let read = w.port().get_alias(&f, "live").await.expect("get_alias");
            assert_eq!(read.route, route, "as read back at {bp} bp");
            assert_eq!(read.revision_id, written.revision_id);
            revision = read.revision_id;
        }
    }

    pub async fn promote_and_restore_clear_routing<W: LambdaWorld>(w: &W) {
        let f = two_versions(w, "promote").await;
        let start = w.port().get_alias(&f, "live").await.expect("get_alias");
        let split = AliasRoute::split("1", "2", weight(1000));
        let s = w
            .port()
            .update_alias(&f, "live", &split, &start.revision_id)
            .await
            .expect("split");
        let promoted = w
            .port()
            .update_alias(&f, "live", &AliasRoute::single("2"), &s.revision_id)
            .await
            .expect("promote");
        assert_eq!(promoted.route, AliasRoute::single("2"));
        assert_eq!(
            w.port().get_alias(&f, "live").await.expect("read").route,
            AliasRoute::single("2")
        );
        let restored = w
            .port()
            .update_alias(&f, "live", &AliasRoute::single("1"), &promoted.revision_id)
            .await
            .expect("restore");
        assert_eq!(restored.route, AliasRoute::single("1"));
        let read = w.port().get_alias(&f, "live").await.expect("read");
        assert_eq!(read.route.additional, None, "no routing left behind");
    }

    pub async fn every_write_changes_the_revision<W: LambdaWorld>(w: &W) {
        let f = two_versions(w, "revisions").await;
        let a = w.port().get_alias(&f, "live").await.expect("get_alias");
        let split = AliasRoute::split("1", "2", weight(500));
        let b = w
            .port()
            .update_alias(&f, "live", &split, &a.revision_id)
            .await
            .expect("update");
        assert_ne!(a.revision_id, b.revision_id);
    }

    pub async fn stale_revision_is_alias_drift_and_writes_nothing<W: LambdaWorld>(w: &W) {
        let f = two_versions(w, "stale").await;
        let before = w.port().get_alias(&f, "live").await.expect("get_alias");
        let split = AliasRoute::split("1", "2", weight(1000));
        let err = w
            .port()
            .update_alias(&f, "live", &split, "stale-revision")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "AliasDrift", "{err}");
        assert_eq!(w.port().get_alias(&f, "live").await.expect("read"), before);
    }

    pub async fn routing_lambda_refuses_is_invalid_input<W: LambdaWorld>(w: &W) {
        let f = w.name("invalid");
        w.create_function(&f, ROLE).await;
        w.publish(&f).await;
        w.create_alias(&f, "live", "1").await;
        let rev = w
            .port()
            .get_alias(&f, "live")
            .await
            .expect("get_alias")
            .revision_id;
        let to_itself = AliasRoute {
            version: "1".into(),
            additional: Some(AdditionalVersion {
                version: "1".into(),
                weight: weight(100),
            }),
        };
        let err = w
            .port()
            .update_alias(&f, "live", &to_itself, &rev)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "InvalidInput", "{err}");
    }

    pub async fn registry_reports_functions_and_versions<W: LambdaWorld>(w: &W) {
        let f = w.name("registry");
        w.create_function(&f, ROLE).await;
        assert!(w.port().function_exists(&f).await.expect("exists"));
        let ghost = w.name("ghost");
        assert!(!w.port().function_exists(&ghost).await.expect("exists"));
        assert_eq!(
            w.port().latest_published_version(&f).await.expect("latest"),
            None
        );
        assert_eq!(w.publish(&f).await, "1");
        assert_eq!(
            w.port().version(&f, "1").await.expect("version"),
            Some(VersionInfo {
                version: "1".into(),
                role: ROLE.into(),
                dead_letter_target: None
            })
        );
        assert_eq!(w.port().version(&f, "2").await.expect("version"), None);
        assert_eq!(
            w.port().version(&f, "$LATEST").await.expect("version"),
            None
        );
        assert_not_found(
            w.port().version(&ghost, "1").await,
            &format!("function {ghost}"),
        );
        assert_not_found(
            w.port().latest_published_version(&ghost).await,
            &format!("function {ghost}"),
        );
        // One page only on moto (gap list-versions-not-paginated); paging is a mock test.
        assert_eq!(w.publish(&f).await, "2");
        assert_eq!(
            w.port().latest_published_version(&f).await.expect("latest"),
            Some("2".into())
        );
    }

    /// Fake only: the fault is injected into the fake, which moto cannot do.
    pub async fn throttling_is_transient_and_changes_nothing(w: &FakeWorld) {
        let f = two_versions(w, "throttle").await;
        let nth = w.lambda.calls(LambdaOp::GetAlias) + 1;
        w.lambda.inject(LambdaOp::GetAlias, nth, Fault::Throttle);
        let err = w.port().get_alias(&f, "live").await.unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(
            w.port()
                .get_alias(&f, "live")
                .await
                .expect("then fine")
                .route,
            AliasRoute::single("1")
        );
    }
}

/// A behaviour moto serves as Lambda does: checked on the fake and on the adapter over moto.
macro_rules! on_fake_and_moto {
    ($behaviour:ident) => {
        mod $behaviour {
            use super::*;

            #[tokio::test]
            async fn fake() {
                suite::$behaviour(&FakeWorld::new()).await;
            }

            moto_test! {
                async fn moto() {
                    suite::$behaviour(&MotoWorld::new().await).await;
                }
            }
        }
    };
}

/// A behaviour moto does not serve: checked on the fake; the comment at each use names the
/// mock test that checks the adapter against Lambda's answer.
macro_rules! on_fake {
    ($behaviour:ident) => {
        mod $behaviour {
            use super::*;

            #[tokio::test]
            async fn fake() {
                suite::$behaviour(&FakeWorld::new()).await;
            }
        }
    };
}

on_fake_and_moto!(get_alias_reads_version_routing_and_revision);
on_fake_and_moto!(missing_function_and_alias_are_named);
on_fake_and_moto!(weighted_routing_round_trips_exactly);
on_fake_and_moto!(promote_and_restore_clear_routing);
on_fake_and_moto!(registry_reports_functions_and_versions);
// moto keeps an alias's first RevisionId forever: mocks::update_returns_the_new_revision.
on_fake!(every_write_changes_the_revision);
// moto accepts a stale RevisionId; Lambda answers 412: mocks::stale_revision_is_alias_drift.
on_fake!(stale_revision_is_alias_drift_and_writes_nothing);
// moto accepts routing Lambda answers 400 to: mocks::invalid_parameter_is_invalid_input.
on_fake!(routing_lambda_refuses_is_invalid_input);
// moto never throttles: mocks::throttling_is_transient_after_sdk_retries.
on_fake!(throttling_is_transient_and_changes_nothing);

// moto 5.2.5 serves neither PutProvisionedConcurrencyConfig nor GetProvisionedConcurrencyConfig
// (no route: a 404 without an error code), so there is no moto test: the adapter's reading of
// Lambda's answers is mocks::provisioned_concurrency_*, the fake's allocation model is below.
/// After a write that changes the alias's routing Lambda reallocates its provisioned
/// concurrency: IN_PROGRESS, then READY (or FAILED with a reason); an alias without a config
/// reads as none
/// (https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html).
#[tokio::test]
async fn fake_provisioned_concurrency_reallocates_after_each_routing_change() {
    use shifter::domain::provisioned::AllocationStatus::{Failed, InProgress, Ready};
    use shifter::ports::ConcurrencyReader;
    let clock = ManualClock::at_epoch();
    let lambda = FakeLambda::with_function(Arc::new(clock.clone()), "orders", 2, "live");
    let read = || async {
        lambda
            .provisioned_concurrency("orders", "live")
            .await
            .unwrap()
    };
    assert_eq!(read().await, None, "no config");
    lambda.set_provisioned_concurrency("orders", "live", 40, 60);
    assert_eq!(
        read().await.unwrap().status,
        Ready,
        "allocated before the run"
    );
    let rev = lambda.alias("orders", "live").unwrap().revision_id;
    let split = AliasRoute::split("1", "2", weight(1000));
    let written = lambda
        .update_alias("orders", "live", &split, &rev)
        .await
        .unwrap();
    clock.advance_secs(30);
    let config = read().await.unwrap();
    assert_eq!(
        (config.status, config.allocated, config.requested),
        (InProgress, 20, 40)
    );
    clock.advance_secs(30);
    assert_eq!(read().await.unwrap().status, Ready);
    // The same routing written again starts no allocation; a new one does, and fails.
    let same = lambda
        .update_alias("orders", "live", &split, &written.revision_id)
        .await
        .unwrap();
    assert_eq!(read().await.unwrap().status, Ready);
    lambda.fail_provisioned_concurrency("orders", "live", 1, "FUNCTION_ERROR_INIT_FAILURE");
    let promoted = AliasRoute::single("2");
    lambda
        .update_alias("orders", "live", &promoted, &same.revision_id)
        .await
        .unwrap();
    assert_eq!(read().await.unwrap().status, InProgress);
    clock.advance_secs(60);
    let config = read().await.unwrap();
    assert_eq!(config.status, Failed);
    assert_eq!(
        config.status_reason.as_deref(),
        Some("FUNCTION_ERROR_INIT_FAILURE")
    );
    assert_not_found(
        lambda.provisioned_concurrency("orders", "gone").await,
        "alias gone of function orders",
    );
    assert_eq!(lambda.calls(LambdaOp::GetProvisionedConcurrency), 8);
}

moto_test! {
    /// Versions published after a role change report it (moto stores per-version roles; it
    /// drops DeadLetterConfig, so the DLQ is mocks::version_reports_role_and_dlq).
    async fn version_role_follows_the_published_config_on_moto() {
        let w = MotoWorld::new().await;
        let f = w.name("roles");
        w.create_function(&f, ROLE).await;
        w.publish(&f).await;
        w.raw
            .update_function_configuration()
            .function_name(&f)
            .role(OTHER_ROLE)
            .send()
            .await
            .expect("moto UpdateFunctionConfiguration");
        w.publish(&f).await;
        let v1 = w.adapter.version(&f, "1").await.expect("v1").expect("exists");
        let v2 = w.adapter.version(&f, "2").await.expect("v2").expect("exists");
        assert_eq!((v1.role.as_str(), v2.role.as_str()), (ROLE, OTHER_ROLE));
    }
}

#[tokio::test]
async fn unreachable_endpoint_is_transient() {
    // Nothing listens on port 9 of localhost: a dispatch failure, retried by the SDK first.
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "t", "t", None, None, "test",
        ))
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(
            aws_sdk_lambda::config::retry::RetryConfig::standard()
                .with_initial_backoff(std::time::Duration::from_millis(1)),
        )
        .build();
    let adapter = LambdaAdapter::new(aws_sdk_lambda::Client::from_conf(config));
    let err = adapter.get_alias("orders", "live").await.unwrap_err();
    assert_eq!(err.kind(), "Transient", "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the SDK error is kept as the source"
    );
    // One plain line naming where the call went, not the SDK's internal structure.
    let text = err.to_string();
    assert!(text.contains("cannot reach "), "{text}");
    assert!(
        !text.contains("DispatchFailure") && !text.contains('\n'),
        "{text}"
    );
}

// ---------------------------------------------------------------- aws-smithy-mocks

mod mocks {
    use std::collections::HashMap;

    use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
    use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
    use aws_sdk_lambda::operation::list_versions_by_function::ListVersionsByFunctionOutput;
    use aws_sdk_lambda::operation::update_alias::UpdateAliasOutput;
    use aws_sdk_lambda::types::{
        AliasRoutingConfiguration, DeadLetterConfig, FunctionConfiguration,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock};
    use shifter::ShifterError;

    use super::*;
    use crate::support::{ATTEMPTS, error_body, http_error, lambda_client};

    fn client(rules: &[&Rule]) -> LambdaAdapter {
        LambdaAdapter::new(lambda_client(RuleMode::Sequential, rules))
    }

    fn alias_output(version: &str, weights: &[(&str, f64)], revision: &str) -> GetAliasOutput {
        let mut routing = AliasRoutingConfiguration::builder();
        for (v, w) in weights {
            routing = routing.additional_version_weights(*v, *w);
        }
        GetAliasOutput::builder()
            .name("live")
            .function_version(version)
            .routing_config(routing.build())
            .revision_id(revision)
            .build()
    }

    #[tokio::test]
    async fn update_returns_the_new_revision() {
        let update = mock!(aws_sdk_lambda::Client::update_alias)
            .match_requests(|req| {
                req.revision_id() == Some("rev-1")
                    && req.function_version() == Some("1")
                    && req
                        .routing_config()
                        .and_then(|r| r.additional_version_weights())
                        == Some(&HashMap::from([("2".to_owned(), 0.3)]))
            })
            .then_output(|| {
                let mut routing = AliasRoutingConfiguration::builder();
                routing = routing.additional_version_weights("2", 0.3);
                UpdateAliasOutput::builder()
                    .function_version("1")
                    .routing_config(routing.build())
                    .revision_id("rev-2")
                    .build()
            });
        let route = AliasRoute::split("1", "2", weight(3000));
        let written = client(&[&update])
            .update_alias("f", "live", &route, "rev-1")
            .await
            .expect("update");
        assert_eq!(
            (written.route, written.revision_id.as_str()),
            (route, "rev-2")
        );
    }

    #[tokio::test]
    async fn promote_sends_an_empty_routing_map() {
        let update = mock!(aws_sdk_lambda::Client::update_alias)
            .match_requests(|req| {
                req.revision_id() == Some("rev-5")
                    && req.function_version() == Some("2")
                    && req
                        .routing_config()
                        .and_then(|r| r.additional_version_weights())
                        == Some(&HashMap::new())
            })
            .then_output(|| {
                UpdateAliasOutput::builder()
                    .function_version("2")
                    .revision_id("rev-6")
                    .build()
            });
        let written = client(&[&update])
            .update_alias("f", "live", &AliasRoute::single("2"), "rev-5")
            .await
            .expect("promote");
        assert_eq!(written.route, AliasRoute::single("2"));
        assert_eq!(update.num_calls(), 1);
    }

    /// <https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html#API_UpdateAlias_Errors>
    #[tokio::test]
    async fn stale_revision_is_alias_drift() {
        let message = "The Revision Id provided does not match the latest Revision Id.";
        let body = error_body("PreconditionFailedException", message);
        let update = http_error(mock!(aws_sdk_lambda::Client::update_alias), 412, body, 1);
        let err = client(&[&update])
            .update_alias("f", "live", &AliasRoute::single("2"), "old")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "AliasDrift", "{err}");
        assert!(err.to_string().contains("RevisionId old"), "{err}");
        assert_eq!(
            update.num_calls(),
            1,
            "a conflict is not retried by the SDK"
        );
    }

    /// A write whose answer is lost is sent once, never re-sent by the SDK: the re-send would
    /// meet the RevisionId the first send changed and read as drift (issue 21, 0b;
    /// <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/retries.html>).
    #[tokio::test]
    async fn an_update_whose_answer_is_lost_is_sent_once() {
        for (status, code) in [(500, "ServiceException"), (429, "TooManyRequestsException")] {
            let update = mock!(aws_sdk_lambda::Client::update_alias)
                .sequence()
                .http_status(status, error_body(code, "lost"))
                .http_status(
                    412,
                    error_body(
                        "PreconditionFailedException",
                        "The Revision Id provided does not match",
                    ),
                )
                .build();
            let err = client(&[&update])
                .update_alias("f", "live", &AliasRoute::single("2"), "rev-1")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "Transient", "{code}: {err}");
            assert_eq!(
                update.num_calls(),
                1,
                "{code}: UpdateAlias is not re-sent by the SDK"
            );
        }
    }

    #[tokio::test]
    async fn throttling_is_transient_after_sdk_retries() {
        let cases = [
            (429, "TooManyRequestsException", "Rate exceeded"),
            (500, "ServiceException", "internal error"),
            (503, "ServiceUnavailableException", "unavailable"),
            (
                409,
                "ResourceConflictException",
                "The operation cannot be performed at this time.",
            ),
        ];
        for (status, code, message) in cases {
            let body = error_body(code, message);
            let get = http_error(
                mock!(aws_sdk_lambda::Client::get_alias),
                status,
                body,
                ATTEMPTS,
            );
            let err = client(&[&get]).get_alias("f", "live").await.unwrap_err();
            assert_eq!(err.kind(), "Transient", "{code}: {err}");
            assert!(err.to_string().contains(message), "{err}");
            if status != 409 {
                assert_eq!(
                    get.num_calls(),
                    ATTEMPTS,
                    "{code}: the SDK's standard retry stays on"
                );
            }
        }
    }

    #[tokio::test]
    async fn server_error_then_success_is_retried_by_the_sdk() {
        let get = mock!(aws_sdk_lambda::Client::get_alias)
            .sequence()
            .http_status(503, None)
            .times(2)
            .output(|| alias_output("1", &[], "rev-1"))
            .build();
        let state = client(&[&get])
            .get_alias("f", "live")
            .await
            .expect("third attempt succeeds");
        assert_eq!(state.route, AliasRoute::single("1"));
        assert_eq!(get.num_calls(), 3);
    }

    #[tokio::test]
    async fn not_found_names_what_is_missing() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function";
        let cases = [
            (
                format!("Function not found: {arn}:orders"),
                "function orders",
            ),
            (
                format!("Alias not found: {arn}:orders:live"),
                "alias live of function orders",
            ),
        ];
        for (message, what) in cases {
            let body = error_body("ResourceNotFoundException", &message);
            let get = http_error(mock!(aws_sdk_lambda::Client::get_alias), 404, body, 1);
            assert_not_found(client(&[&get]).get_alias("orders", "live").await, what);
        }
    }

    #[tokio::test]
    async fn invalid_parameter_is_invalid_input() {
        let message = "RoutingConfig: versions 1 and 2 must have the same execution role";
        let body = error_body("InvalidParameterValueException", message);
        let update = http_error(mock!(aws_sdk_lambda::Client::update_alias), 400, body, 1);
        let err = client(&[&update])
            .update_alias("f", "live", &AliasRoute::split("1", "2", weight(100)), "r")
            .await
            .unwrap_err();
        match &err {
            ShifterError::InvalidInput { field, message: m } => {
                assert_eq!(field, "UpdateAlias");
                assert!(m.contains(message), "AWS's message is kept: {m}");
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    /// Issue 21, item 3: IAM's refusal of the roll-back role is named as one (`AccessDenied`,
    /// the missing action and the resource), not `InvalidInput` with AWS's envelope.
    #[tokio::test]
    async fn access_denied_is_named_with_the_missing_permission() {
        let message = "User: arn:aws:sts::123456789012:assumed-role/shifter-roll-back/roll-back \
            is not authorized to perform: lambda:UpdateAlias on resource: \
            arn:aws:lambda:us-east-1:123456789012:function:orders:live because no \
            identity-based policy allows the lambda:UpdateAlias action";
        let body = error_body("AccessDeniedException", message);
        let update = http_error(mock!(aws_sdk_lambda::Client::update_alias), 403, body, 1);
        let err = client(&[&update])
            .update_alias("orders", "live", &AliasRoute::single("1"), "r")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "AccessDenied", "{err}");
        assert!(
            err.to_string().starts_with(
                "access denied: arn:aws:sts::123456789012:assumed-role/shifter-roll-back/roll-back \
                 lacks lambda:UpdateAlias on arn:aws:lambda:us-east-1:123456789012:function:orders:live"
            ),
            "{err}"
        );
        let bare = http_error(mock!(aws_sdk_lambda::Client::get_alias), 403, None, 1);
        let err = client(&[&bare])
            .get_alias("orders", "live")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "AccessDenied", "{err}");
        assert!(
            err.to_string().contains("lacks permission for GetAlias"),
            "{err}"
        );
    }

    /// Issue 21, item 3: one NotFound once carried 25,719 characters of AWS's words; every
    /// message is cut (`cut_chars`) and stays one line.
    #[tokio::test]
    async fn long_aws_messages_are_cut_to_one_bounded_line() {
        let long = format!(
            "Function not found: {}\n{}",
            "x".repeat(25_000),
            "y".repeat(700)
        );
        let cases = [
            ("ResourceNotFoundException", 404, "NotFound"),
            ("InvalidParameterValueException", 400, "InvalidInput"),
            ("AccessDeniedException", 403, "AccessDenied"),
        ];
        for (code, status, kind) in cases {
            let get = http_error(
                mock!(aws_sdk_lambda::Client::get_alias),
                status,
                error_body(code, &long),
                1,
            );
            let err = client(&[&get])
                .get_alias("orders", "live")
                .await
                .unwrap_err();
            let text = err.to_string();
            assert_eq!(err.kind(), kind, "{text}");
            assert!(
                text.chars().count() <= 600,
                "{code}: {} chars",
                text.chars().count()
            );
            assert!(!text.contains('\n'), "{code}: one line");
        }
    }

    #[tokio::test]
    async fn reads_refuse_routing_the_domain_cannot_hold() {
        for weights in [&[("2", 0.1), ("3", 0.1)][..], &[("2", 1.5)]] {
            let get = mock!(aws_sdk_lambda::Client::get_alias)
                .then_output(move || alias_output("1", weights, "r"));
            let err = client(&[&get]).get_alias("f", "live").await.unwrap_err();
            assert_eq!(err.kind(), "InvalidInput", "{weights:?}: {err}");
        }
    }

    #[tokio::test]
    async fn version_reports_role_and_dlq() {
        let cfg = mock!(aws_sdk_lambda::Client::get_function_configuration)
            .match_requests(|req| req.qualifier() == Some("7"))
            .then_output(|| {
                GetFunctionConfigurationOutput::builder()
                    .version("7")
                    .role(ROLE)
                    .dead_letter_config(
                        DeadLetterConfig::builder()
                            .target_arn("arn:aws:sqs:us-east-1:1:dlq")
                            .build(),
                    )
                    .build()
            });
        assert_eq!(
            client(&[&cfg]).version("f", "7").await.expect("version"),
            Some(VersionInfo {
                version: "7".into(),
                role: ROLE.into(),
                dead_letter_target: Some("arn:aws:sqs:us-east-1:1:dlq".into()),
            })
        );
    }

    #[tokio::test]
    async fn latest_version_follows_every_page() {
        let page = |versions: &[&str], next: Option<&str>| {
            let mut out = ListVersionsByFunctionOutput::builder();
            for v in versions {
                out = out.versions(FunctionConfiguration::builder().version(*v).build());
            }
            out.set_next_marker(next.map(str::to_owned)).build()
        };
        let pages = [
            (None, page(&["$LATEST", "1", "2", "9"], Some("m1"))),
            (Some("m1"), page(&["10", "3"], Some("m2"))),
            (Some("m2"), page(&["4"], None)),
        ];
        let rules: Vec<Rule> = pages
            .into_iter()
            .map(|(marker, p)| {
                mock!(aws_sdk_lambda::Client::list_versions_by_function)
                    .match_requests(move |req| req.marker() == marker)
                    .then_output(move || p.clone())
            })
            .collect();
        let refs: Vec<&Rule> = rules.iter().collect();
        let adapter = LambdaAdapter::new(lambda_client(RuleMode::MatchAny, &refs));
        assert_eq!(
            adapter.latest_published_version("f").await.expect("latest"),
            Some("10".into()),
            "numeric, not lexicographic, across every page"
        );
        assert!(
            rules.iter().all(|r| r.num_calls() == 1),
            "each page read once"
        );
    }

    /// Invoke as Step Functions' lambda:invoke reports it: the answer's bytes; a function error
    /// with its errorType (Lambda.Unknown without one, Sandbox.Timedout for a timeout).
    #[tokio::test]
    async fn a_hook_answer_or_its_error_keeps_step_functions_names() {
        use aws_sdk_lambda::operation::invoke::InvokeOutput;
        use aws_sdk_lambda::primitives::Blob;
        use shifter::ports::{HookAnswer, HookInvoker};
        let cases: [(Option<&str>, &str, HookAnswer); 4] = [
            (
                None,
                r#"{"status":"Succeeded"}"#,
                HookAnswer::Returned(br#"{"status":"Succeeded"}"#.to_vec()),
            ),
            (
                Some("Unhandled"),
                r#"{"errorType":"ValueError","errorMessage":"bad"}"#,
                HookAnswer::Failed {
                    error_type: "ValueError".into(),
                    message: "bad".into(),
                },
            ),
            (
                Some("Unhandled"),
                r#"{"errorMessage":"2026-12-01T00:00:00Z 1a2b Task timed out after 3.00 seconds"}"#,
                HookAnswer::Failed {
                    error_type: "Sandbox.Timedout".into(),
                    message: "2026-12-01T00:00:00Z 1a2b Task timed out after 3.00 seconds".into(),
                },
            ),
            (
                Some("Unhandled"),
                r#"{"errorMessage":"Runtime exited with error: signal: killed"}"#,
                HookAnswer::Failed {
                    error_type: "Lambda.Unknown".into(),
                    message: "Runtime exited with error: signal: killed".into(),
                },
            ),
        ];
        for (function_error, body, expected) in cases {
            let invoke = mock!(aws_sdk_lambda::Client::invoke)
                .match_requests(|req| {
                    req.function_name() == Some("orders-pre")
                        && req.payload().map(|p| p.as_ref())
                            == Some(br#"{"phase":"PreTraffic"}"#.as_slice())
                })
                .then_output(move || {
                    let mut out = InvokeOutput::builder()
                        .status_code(200)
                        .payload(Blob::new(body.as_bytes().to_vec()));
                    if let Some(e) = function_error {
                        out = out.function_error(e);
                    }
                    out.build()
                });
            let answer = client(&[&invoke])
                .invoke_hook("orders-pre", &serde_json::json!({"phase": "PreTraffic"}))
                .await
                .expect("an answer");
            assert_eq!(answer, expected, "{body}");
        }
    }

    /// GetProvisionedConcurrencyConfig with the alias as qualifier, each field read as Lambda
    /// names it (https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html).
    #[tokio::test]
    async fn provisioned_concurrency_reads_status_counts_and_reason() {
        use aws_sdk_lambda::operation::get_provisioned_concurrency_config::GetProvisionedConcurrencyConfigOutput as Out;
        use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum as S;
        use shifter::domain::provisioned::AllocationStatus;
        use shifter::ports::ConcurrencyReader;
        let cases = [
            (S::InProgress, 12, None, AllocationStatus::InProgress),
            (S::Ready, 50, None, AllocationStatus::Ready),
            (
                S::Failed,
                0,
                Some("FUNCTION_ERROR_INIT_FAILURE: init crashed"),
                AllocationStatus::Failed,
            ),
        ];
        for (status, allocated, reason, expected) in cases {
            let get = mock!(aws_sdk_lambda::Client::get_provisioned_concurrency_config)
                .match_requests(|req| {
                    req.function_name() == Some("orders") && req.qualifier() == Some("live")
                })
                .then_output(move || {
                    Out::builder()
                        .requested_provisioned_concurrent_executions(50)
                        .available_provisioned_concurrent_executions(allocated)
                        .allocated_provisioned_concurrent_executions(allocated)
                        .status(status.clone())
                        .set_status_reason(reason.map(str::to_owned))
                        .build()
                });
            let config = client(&[&get])
                .provisioned_concurrency("orders", "live")
                .await
                .expect("read")
                .expect("configured");
            assert_eq!(config.status, expected);
            assert_eq!((config.requested, config.allocated), (50, allocated as u32));
            assert_eq!(config.status_reason.as_deref(), reason);
        }
    }

    /// No config on the alias is `ProvisionedConcurrencyConfigNotFoundException` (404): none;
    /// a missing alias is `ResourceNotFoundException`: `NotFound` naming it; throttling is
    /// `Transient` after the SDK's own retries.
    #[tokio::test]
    async fn provisioned_concurrency_errors_map_to_none_not_found_and_transient() {
        use shifter::ports::ConcurrencyReader;
        let body = error_body(
            "ProvisionedConcurrencyConfigNotFoundException",
            "No Provisioned Concurrency Config found for this function",
        );
        let none = http_error(
            mock!(aws_sdk_lambda::Client::get_provisioned_concurrency_config),
            404,
            body,
            1,
        );
        let config = client(&[&none])
            .provisioned_concurrency("orders", "live")
            .await
            .expect("not an error");
        assert_eq!(config, None);

        let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:live";
        let body = error_body(
            "ResourceNotFoundException",
            &format!("Function not found: {arn}"),
        );
        let missing = http_error(
            mock!(aws_sdk_lambda::Client::get_provisioned_concurrency_config),
            404,
            body,
            1,
        );
        assert_not_found(
            client(&[&missing])
                .provisioned_concurrency("orders", "live")
                .await,
            "alias live of function orders",
        );

        let body = error_body("TooManyRequestsException", "Rate exceeded");
        let throttled = http_error(
            mock!(aws_sdk_lambda::Client::get_provisioned_concurrency_config),
            429,
            body,
            ATTEMPTS,
        );
        let err = client(&[&throttled])
            .provisioned_concurrency("orders", "live")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(throttled.num_calls(), ATTEMPTS);
    }
}
