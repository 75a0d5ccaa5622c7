//! Contract tests: one suite of behaviours per port, written once (generic over the port) and
//! run against the in-memory fake and against the real adapter.
//!
//! The real adapter runs against moto server (`SHIFTER_MOTO_ENDPOINT`, started by
//! `scripts/test` through `scripts/lib/moto.sh`) where moto is faithful, and against
//! `aws-smithy-mocks` for what moto cannot do. Every place moto falls short is a named entry
//! of [`contract::EMULATOR_GAPS`], announced when hit and covered by a named mock test.
//!
//! Without `SHIFTER_MOTO_ENDPOINT` the moto side prints a loud skip line, except under `CI`,
//! where it fails. Run with `cargo test -p shifter --features aws --test contract`.

#[cfg(not(feature = "aws"))]
#[test]
fn contract_suite_needs_the_aws_feature() {
    assert!(
        std::env::var_os("CI").is_none(),
        "the contract suite only runs with `--features aws`; CI must run it"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "!!! SKIPPED: contract suite (no `aws` feature); run `cargo test -p shifter --features aws --test contract`"
    );
}

#[cfg(feature = "aws")]
mod contract {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use aws_sdk_lambda::config::retry::RetryConfig;
    use aws_sdk_lambda::primitives::Blob;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use serde_json::json;
    use shifter::ShifterError;
    use shifter::aws::{
        AwsClients, CloudWatchAlarms, CodePipelineJobs, ExecutionStatus, Executions, LambdaAdapter,
        StepFunctionsExecutions,
    };
    use shifter::domain::{AliasRoute, Weight};
    use shifter::fakes::{FakeAlarms, FakeExecutions, FakeLambda, FakePipelineJobs, ManualClock};
    use shifter::ports::{
        AlarmReader, AlarmState, AliasRouter, FunctionRegistry, JobFailureType, PipelineJobs,
        VersionInfo,
    };

    // ---------------------------------------------------------------- emulator gaps

    /// Where moto 5.2.5 is not faithful to AWS: (name, why, the mock test that covers it).
    pub const EMULATOR_GAPS: &[(&str, &str, &str)] = &[
        (
            "revision-id-never-changes",
            "moto assigns an alias one RevisionId at creation and never changes it on UpdateAlias",
            "mocks::lambda_update_returns_the_new_revision",
        ),
        (
            "stale-revision-accepted",
            "moto accepts UpdateAlias with any RevisionId instead of answering 412 \
             PreconditionFailedException",
            "mocks::lambda_stale_revision_is_alias_drift",
        ),
        (
            "routing-not-validated",
            "moto accepts weighted routing between versions with different roles or DLQs, to \
             the alias's own version, and out-of-range weights; Lambda answers 400 \
             InvalidParameterValueException",
            "mocks::lambda_invalid_parameter_is_invalid_input",
        ),
        (
            "dead-letter-config-dropped",
            "moto does not store DeadLetterConfig on UpdateFunctionConfiguration, so published \
             versions never report a DLQ",
            "mocks::lambda_version_reports_role_and_dlq",
        ),
        (
            "list-versions-not-paginated",
            "moto ignores MaxItems on ListVersionsByFunction and never returns NextMarker",
            "mocks::lambda_latest_version_follows_every_page",
        ),
        (
            "no-throttling-or-5xx",
            "moto never throttles or fails with 5xx/ResourceConflictException",
            "mocks::lambda_throttling_is_transient_after_sdk_retries",
        ),
        (
            "cloudwatch-rpcv2-cbor",
            "aws-sdk-cloudwatch >= 1.100 speaks the RPCv2 CBOR protocol, which moto does not \
             serve; every AlarmReader behaviour runs on mocks instead",
            "mocks::alarms_contract",
        ),
        (
            "executions-never-run",
            "moto's Step Functions keeps executions RUNNING (it does not interpret the \
             definition) and returns a canned history",
            "mocks::sfn_failed_execution_reports_error_and_cause",
        ),
        (
            "execution-history-not-paginated",
            "moto ignores maxResults on GetExecutionHistory and never returns nextToken",
            "mocks::sfn_history_follows_every_page",
        ),
        (
            "codepipeline-job-apis",
            "moto serves no CodePipeline job APIs (PutJobSuccessResult, PutJobFailureResult); \
             every PipelineJobs call runs on mocks instead",
            "mocks::codepipeline_success_sends_the_token_or_the_variables",
        ),
    ];

    /// Writes straight to stderr, past the test harness's capture, so skips and gaps show.
    fn loud(line: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    /// Announces that a behaviour is not checked on moto, and why; panics on unknown names.
    fn emulator_gap(name: &str) {
        let Some((_, why, covered_by)) = EMULATOR_GAPS.iter().find(|(n, _, _)| *n == name) else {
            panic!("emulator gap {name} is not in EMULATOR_GAPS");
        };
        loud(&format!(
            "EMULATOR GAP [{name}]: {why}; covered by {covered_by}"
        ));
    }

    #[test]
    fn every_gap_names_a_mock_test_that_exists() {
        let source = include_str!("contract.rs");
        for (name, why, covered_by) in EMULATOR_GAPS {
            assert!(!why.is_empty(), "{name}");
            let test = covered_by.trim_start_matches("mocks::");
            assert!(
                source.contains(&format!("async fn {test}("))
                    || source.contains(&format!("fn {test}(")),
                "gap {name} names {covered_by}, which is not a test in this file"
            );
        }
    }

    // ---------------------------------------------------------------- moto

    const ACCOUNT: &str = "123456789012";
    const ROLE: &str = "arn:aws:iam::123456789012:role/shifter-contract";
    const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/shifter-contract-other";

    /// The moto endpoint, or `None` after a loud skip line; fails under `CI`.
    fn moto_endpoint(test: &str) -> Option<String> {
        match std::env::var("SHIFTER_MOTO_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{test}: SHIFTER_MOTO_ENDPOINT is not set; in CI the moto side must run \
                     (scripts/test starts moto through scripts/lib/moto.sh)"
                );
                loud(&format!(
                    "!!! SKIPPED (moto side): {test}: SHIFTER_MOTO_ENDPOINT is not set; run \
                     scripts/test, or source scripts/lib/moto.sh and call moto_start"
                ));
                None
            }
        }
    }

    async fn moto_clients(test: &str) -> Option<AwsClients> {
        let endpoint = moto_endpoint(test)?;
        Some(shifter::aws::load_for_emulator(&endpoint).await)
    }

    /// A name no earlier run against the same server used.
    fn unique(prefix: &str) -> String {
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

    // ---------------------------------------------------------------- Lambda suite

    /// An account the Lambda suite can seed, with the port under test on top.
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
        /// True when writes change the RevisionId and stale ones are refused.
        fn enforces_revision_ids(&self) -> bool;
        /// True when UpdateAlias refuses routing Lambda refuses.
        fn validates_routing(&self) -> bool;
        /// Makes the next GetAlias fail with throttling; false when the world cannot.
        fn throttle_next_get_alias(&self) -> bool;
        /// Announces an emulator gap when this world is the emulator.
        fn note_gap(&self, _name: &str) {}
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
        fn enforces_revision_ids(&self) -> bool {
            true
        }
        fn validates_routing(&self) -> bool {
            true
        }
        fn throttle_next_get_alias(&self) -> bool {
            let nth = self.lambda.calls(shifter::fakes::LambdaOp::GetAlias) + 1;
            self.lambda.inject(
                shifter::fakes::LambdaOp::GetAlias,
                nth,
                shifter::fakes::Fault::Throttle,
            );
            true
        }
    }

    struct MotoWorld {
        adapter: LambdaAdapter,
        raw: aws_sdk_lambda::Client,
    }

    impl MotoWorld {
        async fn new(test: &str) -> Option<MotoWorld> {
            let clients = moto_clients(test).await?;
            Some(MotoWorld {
                adapter: LambdaAdapter::new(clients.lambda.clone()),
                raw: clients.lambda,
            })
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
        fn enforces_revision_ids(&self) -> bool {
            false
        }
        fn validates_routing(&self) -> bool {
            false
        }
        fn throttle_next_get_alias(&self) -> bool {
            false
        }
        fn note_gap(&self, name: &str) {
            emulator_gap(name);
        }
    }

    fn weight(bp: u32) -> Weight {
        Weight::from_bp(bp).expect("valid weight")
    }

    fn assert_not_found(result: Result<impl std::fmt::Debug, ShifterError>, what: &str) {
        match result {
            Err(ShifterError::NotFound { what: got }) => assert_eq!(got, what),
            other => panic!("expected NotFound {{ what: {what:?} }}, got {other:?}"),
        }
    }

    /// A function `f` with versions 1 and 2 and alias `live` on 1.
    async fn two_versions<W: LambdaWorld>(w: &W, prefix: &str) -> String {
        let f = w.name(prefix);
        w.create_function(&f, ROLE).await;
        assert_eq!(w.publish(&f).await, "1");
        assert_eq!(w.publish(&f).await, "2");
        w.create_alias(&f, "live", "1").await;
        f
    }

    mod lambda_suite {
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
            if !w.enforces_revision_ids() {
                return emulator_gap("revision-id-never-changes");
            }
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
            if !w.enforces_revision_ids() {
                return emulator_gap("stale-revision-accepted");
            }
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
            if !w.validates_routing() {
                return emulator_gap("routing-not-validated");
            }
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
                additional: Some(shifter::domain::AdditionalVersion {
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
            assert_eq!(w.publish(&f).await, "2");
            assert_eq!(
                w.port().latest_published_version(&f).await.expect("latest"),
                Some("2".into())
            );
            w.note_gap("list-versions-not-paginated");
        }

        pub async fn throttling_is_transient_and_changes_nothing<W: LambdaWorld>(w: &W) {
            let f = two_versions(w, "throttle").await;
            if !w.throttle_next_get_alias() {
                return emulator_gap("no-throttling-or-5xx");
            }
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

    mod lambda_moto_roles {
        use super::*;

        /// Versions published after a role change report it (moto stores per-version roles).
        #[tokio::test]
        async fn moto_version_role_follows_the_published_config() {
            let Some(w) = MotoWorld::new("moto_version_role_follows_the_published_config").await
            else {
                return;
            };
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
            let v1 = w
                .adapter
                .version(&f, "1")
                .await
                .expect("v1")
                .expect("exists");
            let v2 = w
                .adapter
                .version(&f, "2")
                .await
                .expect("v2")
                .expect("exists");
            assert_eq!((v1.role.as_str(), v2.role.as_str()), (ROLE, OTHER_ROLE));
            emulator_gap("dead-letter-config-dropped");
        }
    }

    /// Runs a suite behaviour against the fake and against the adapter on moto.
    macro_rules! on_fake_and_moto {
        ($suite:ident :: $behaviour:ident) => {
            mod $behaviour {
                use super::*;

                #[tokio::test]
                async fn fake() {
                    $suite::$behaviour(&FakeWorld::new()).await;
                }

                #[tokio::test]
                async fn moto() {
                    if let Some(w) = MotoWorld::new(concat!(stringify!($behaviour), "::moto")).await
                    {
                        $suite::$behaviour(&w).await;
                    }
                }
            }
        };
    }

    on_fake_and_moto!(lambda_suite::get_alias_reads_version_routing_and_revision);
    on_fake_and_moto!(lambda_suite::missing_function_and_alias_are_named);
    on_fake_and_moto!(lambda_suite::weighted_routing_round_trips_exactly);
    on_fake_and_moto!(lambda_suite::promote_and_restore_clear_routing);
    on_fake_and_moto!(lambda_suite::every_write_changes_the_revision);
    on_fake_and_moto!(lambda_suite::stale_revision_is_alias_drift_and_writes_nothing);
    on_fake_and_moto!(lambda_suite::routing_lambda_refuses_is_invalid_input);
    on_fake_and_moto!(lambda_suite::registry_reports_functions_and_versions);
    on_fake_and_moto!(lambda_suite::throttling_is_transient_and_changes_nothing);

    // ---------------------------------------------------------------- AlarmReader suite

    /// Alarms the suite can seed, with the port under test on top.
    trait AlarmWorld {
        fn add(&mut self, name: &str, state: AlarmState, composite: bool);
        fn reader(&self) -> Arc<dyn AlarmReader>;
    }

    struct FakeAlarmWorld(FakeAlarms);

    impl AlarmWorld for FakeAlarmWorld {
        fn add(&mut self, name: &str, state: AlarmState, _composite: bool) {
            self.0.add(name, state);
        }
        fn reader(&self) -> Arc<dyn AlarmReader> {
            Arc::new(self.0.clone())
        }
    }

    /// CloudWatch behind `aws-smithy-mocks`: answers DescribeAlarms from the seeded alarms for
    /// exactly the names and alarm types asked, two alarms a page.
    #[derive(Default)]
    struct MockAlarmWorld {
        alarms: Vec<(String, AlarmState, bool)>,
    }

    impl AlarmWorld for MockAlarmWorld {
        fn add(&mut self, name: &str, state: AlarmState, composite: bool) {
            self.alarms.push((name.to_owned(), state, composite));
        }
        fn reader(&self) -> Arc<dyn AlarmReader> {
            let rule = mocks::describe_alarms_rule(self.alarms.clone());
            let client = mocks::cloudwatch_client(&[&rule]);
            Arc::new(CloudWatchAlarms::new(client))
        }
    }

    mod alarm_suite {
        use super::*;

        pub async fn reports_states_of_named_alarms_and_leaves_out_missing<W: AlarmWorld>(
            mut w: W,
        ) {
            w.add("errors", AlarmState::Ok, false);
            w.add("latency", AlarmState::Alarm, false);
            w.add("composite", AlarmState::InsufficientData, true);
            w.add("not-asked", AlarmState::Alarm, false);
            let names: Vec<String> = ["latency", "ghost", "errors", "composite"]
                .map(String::from)
                .to_vec();
            let states = w.reader().alarm_states(&names).await.expect("alarm_states");
            assert_eq!(
                states,
                vec![
                    ("latency".to_owned(), AlarmState::Alarm),
                    ("errors".to_owned(), AlarmState::Ok),
                    ("composite".to_owned(), AlarmState::InsufficientData),
                ]
            );
        }

        pub async fn no_names_is_no_alarms<W: AlarmWorld>(mut w: W) {
            w.add("errors", AlarmState::Alarm, false);
            assert_eq!(
                w.reader().alarm_states(&[]).await.expect("alarm_states"),
                vec![]
            );
        }

        pub async fn more_than_100_names_is_invalid_input<W: AlarmWorld>(w: W) {
            let names: Vec<String> = (0..101).map(|i| format!("alarm-{i}")).collect();
            let err = w.reader().alarm_states(&names).await.unwrap_err();
            assert_eq!(err.kind(), "InvalidInput", "{err}");
            let hundred = &names[..100];
            assert_eq!(
                w.reader().alarm_states(hundred).await.expect("100 is fine"),
                vec![]
            );
        }

        pub async fn many_alarms_across_pages<W: AlarmWorld>(mut w: W) {
            let names: Vec<String> = (0..7).map(|i| format!("alarm-{i}")).collect();
            for (i, n) in names.iter().enumerate() {
                let state = if i == 5 {
                    AlarmState::Alarm
                } else {
                    AlarmState::Ok
                };
                w.add(n, state, i % 3 == 0);
            }
            let states = w.reader().alarm_states(&names).await.expect("alarm_states");
            assert_eq!(states.len(), 7);
            assert_eq!(states[5], ("alarm-5".to_owned(), AlarmState::Alarm));
        }
    }

    macro_rules! on_fake_and_mocks {
        ($behaviour:ident) => {
            mod $behaviour {
                use super::*;

                #[tokio::test]
                async fn fake() {
                    let clock = Arc::new(ManualClock::at_epoch());
                    alarm_suite::$behaviour(FakeAlarmWorld(FakeAlarms::new(clock))).await;
                }

                #[tokio::test]
                async fn mocks() {
                    alarm_suite::$behaviour(MockAlarmWorld::default()).await;
                }

                #[tokio::test]
                async fn moto() {
                    emulator_gap("cloudwatch-rpcv2-cbor");
                }
            }
        };
    }

    on_fake_and_mocks!(reports_states_of_named_alarms_and_leaves_out_missing);
    on_fake_and_mocks!(no_names_is_no_alarms);
    on_fake_and_mocks!(more_than_100_names_is_invalid_input);
    on_fake_and_mocks!(many_alarms_across_pages);

    // ---------------------------------------------------------------- Executions on moto

    mod sfn_moto {
        use super::*;

        async fn state_machine(clients: &AwsClients) -> String {
            let definition =
                json!({"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}});
            clients
                .sfn
                .create_state_machine()
                .name(unique("contract"))
                .definition(definition.to_string())
                .role_arn(ROLE)
                .send()
                .await
                .expect("moto CreateStateMachine")
                .state_machine_arn()
                .to_owned()
        }

        #[tokio::test]
        async fn start_describe_and_read_history() {
            let Some(clients) = moto_clients("sfn_moto::start_describe_and_read_history").await
            else {
                return;
            };
            let executions = StepFunctionsExecutions::new(clients.sfn.clone());
            let sm = state_machine(&clients).await;
            let input =
                json!({"functionName": "orders-api", "alias": "live", "targetVersion": "2"});
            let arn = executions
                .start_execution(&sm, "deploy-1", &input)
                .await
                .expect("start");
            assert!(arn.ends_with(":deploy-1"), "{arn}");
            let e = executions.describe_execution(&arn).await.expect("describe");
            assert_eq!(e.arn, arn);
            assert_eq!(e.name.as_deref(), Some("deploy-1"));
            assert_eq!(e.input, Some(input));
            emulator_gap("executions-never-run");
            assert_eq!(e.status, ExecutionStatus::Running);
            let history = executions.execution_history(&arn).await.expect("history");
            assert!(!history.is_empty());
            assert_eq!(history[0].kind, "ExecutionStarted");
            assert!(
                history.windows(2).all(|p| p[0].id < p[1].id),
                "oldest first"
            );
            emulator_gap("execution-history-not-paginated");
        }

        #[tokio::test]
        async fn missing_execution_and_state_machine_are_named() {
            let Some(clients) =
                moto_clients("sfn_moto::missing_execution_and_state_machine_are_named").await
            else {
                return;
            };
            let executions = StepFunctionsExecutions::new(clients.sfn.clone());
            let ghost_sm = format!(
                "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
                unique("ghost")
            );
            assert_not_found(
                executions.start_execution(&ghost_sm, "x", &json!({})).await,
                &format!("state machine {ghost_sm}"),
            );
            let ghost = format!(
                "arn:aws:states:us-east-1:{ACCOUNT}:execution:nope:{}",
                unique("e")
            );
            assert_not_found(
                executions.describe_execution(&ghost).await,
                &format!("execution {ghost}"),
            );
        }
    }

    // ---------------------------------------------------------------- connection failures

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
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
            .build();
        let adapter = LambdaAdapter::new(aws_sdk_lambda::Client::from_conf(config));
        let err = adapter.get_alias("orders", "live").await.unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the SDK error is kept as the source"
        );
    }

    // ---------------------------------------------------------------- aws-smithy-mocks

    mod mocks {
        use super::*;
        use aws_sdk_cloudwatch::operation::describe_alarms::{
            DescribeAlarmsError, DescribeAlarmsOutput,
        };
        use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};
        use aws_sdk_lambda::error::ErrorMetadata;
        use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
        use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
        use aws_sdk_lambda::operation::list_versions_by_function::ListVersionsByFunctionOutput;
        use aws_sdk_lambda::operation::update_alias::UpdateAliasOutput;
        use aws_sdk_lambda::types::{
            AliasRoutingConfiguration, DeadLetterConfig, FunctionConfiguration,
        };
        use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
        use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
        use aws_sdk_sfn::types::{ExecutionFailedEventDetails, HistoryEvent, HistoryEventType};

        fn fast_retry() -> RetryConfig {
            RetryConfig::standard().with_initial_backoff(Duration::from_millis(1))
        }

        fn lambda_client(rules: &[&Rule]) -> aws_sdk_lambda::Client {
            mock_client!(aws_sdk_lambda, RuleMode::Sequential, rules, |c| c
                .retry_config(fast_retry()))
        }

        pub fn cloudwatch_client(rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
            mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, rules, |c| c
                .retry_config(
                    aws_sdk_cloudwatch::config::retry::RetryConfig::standard()
                        .with_initial_backoff(Duration::from_millis(1))
                ))
        }

        fn sfn_client(rules: &[&Rule]) -> aws_sdk_sfn::Client {
            mock_client!(aws_sdk_sfn, RuleMode::Sequential, rules, |c| c
                .retry_config(
                    aws_sdk_sfn::config::retry::RetryConfig::standard()
                        .with_initial_backoff(Duration::from_millis(1))
                ))
        }

        /// A Lambda (restJson1) error body as the service sends it.
        fn lambda_error(code: &str, message: &str) -> Option<String> {
            Some(json!({"__type": code, "Type": "User", "message": message}).to_string())
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

        // -- AlarmReader

        fn value(state: AlarmState) -> StateValue {
            match state {
                AlarmState::Ok => StateValue::Ok,
                AlarmState::Alarm => StateValue::Alarm,
                AlarmState::InsufficientData => StateValue::InsufficientData,
            }
        }

        pub fn describe_alarms_rule(alarms: Vec<(String, AlarmState, bool)>) -> Rule {
            mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_compute_output(move |req| {
                let types: Vec<&str> = req.alarm_types().iter().map(|t| t.as_str()).collect();
                assert_eq!(
                    types,
                    ["MetricAlarm", "CompositeAlarm"],
                    "asks for both kinds"
                );
                assert!(
                    !req.alarm_names().is_empty(),
                    "never asks for every alarm in the account"
                );
                assert!(req.alarm_names().len() <= 100);
                let matching: Vec<_> = alarms
                    .iter()
                    .filter(|(n, _, _)| req.alarm_names().contains(n))
                    .collect();
                let start: usize = req
                    .next_token()
                    .map_or(0, |t| t.parse().expect("our token"));
                let page = matching.iter().skip(start).take(2);
                let mut out = DescribeAlarmsOutput::builder();
                for (name, state, composite) in page {
                    if *composite {
                        out = out.composite_alarms(
                            CompositeAlarm::builder()
                                .alarm_name(name)
                                .state_value(value(*state))
                                .build(),
                        );
                    } else {
                        out = out.metric_alarms(
                            MetricAlarm::builder()
                                .alarm_name(name)
                                .state_value(value(*state))
                                .build(),
                        );
                    }
                }
                if start + 2 < matching.len() {
                    out = out.next_token((start + 2).to_string());
                }
                out.build()
            })
        }

        #[tokio::test]
        async fn alarms_contract() {
            // The AlarmReader suite runs on mocks through `on_fake_and_mocks!`; this checks the
            // mocked side really goes through the SDK (one call per page, none for no names).
            let rule = describe_alarms_rule(
                (0..5)
                    .map(|i| (format!("a{i}"), AlarmState::Ok, false))
                    .collect(),
            );
            let reader = CloudWatchAlarms::new(cloudwatch_client(&[&rule]));
            let names: Vec<String> = (0..5).map(|i| format!("a{i}")).collect();
            assert_eq!(reader.alarm_states(&names).await.expect("states").len(), 5);
            assert_eq!(rule.num_calls(), 3, "three pages of two");
            reader.alarm_states(&[]).await.expect("no names");
            assert_eq!(rule.num_calls(), 3, "no call for no names");
        }

        #[tokio::test]
        async fn alarms_throttling_and_5xx_are_transient() {
            let throttled = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
                .sequence()
                .error(|| {
                    DescribeAlarmsError::generic(
                        ErrorMetadata::builder()
                            .code("Throttling")
                            .message("Rate exceeded")
                            .build(),
                    )
                })
                .times(3)
                .build();
            let reader = CloudWatchAlarms::new(cloudwatch_client(&[&throttled]));
            let err = reader.alarm_states(&["a".to_owned()]).await.unwrap_err();
            assert_eq!(err.kind(), "Transient", "{err}");
            assert!(
                err.to_string().contains("Throttling: Rate exceeded"),
                "{err}"
            );
            assert_eq!(throttled.num_calls(), 3, "the SDK retried before giving up");

            let failing = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
                .sequence()
                .http_status(500, None)
                .times(3)
                .build();
            let reader = CloudWatchAlarms::new(cloudwatch_client(&[&failing]));
            let err = reader.alarm_states(&["a".to_owned()]).await.unwrap_err();
            assert_eq!(err.kind(), "Transient", "{err}");
        }

        // -- Lambda

        #[tokio::test]
        async fn lambda_update_returns_the_new_revision() {
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
            let adapter = LambdaAdapter::new(lambda_client(&[&update]));
            let route = AliasRoute::split("1", "2", weight(3000));
            let written = adapter
                .update_alias("f", "live", &route, "rev-1")
                .await
                .expect("update");
            assert_eq!(
                (written.route, written.revision_id.as_str()),
                (route, "rev-2")
            );
        }

        #[tokio::test]
        async fn lambda_promote_sends_an_empty_routing_map() {
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
            let adapter = LambdaAdapter::new(lambda_client(&[&update]));
            let written = adapter
                .update_alias("f", "live", &AliasRoute::single("2"), "rev-5")
                .await
                .expect("promote");
            assert_eq!(written.route, AliasRoute::single("2"));
            assert_eq!(update.num_calls(), 1);
        }

        #[tokio::test]
        async fn lambda_stale_revision_is_alias_drift() {
            let update = mock!(aws_sdk_lambda::Client::update_alias)
                .sequence()
                .http_status(
                    412,
                    lambda_error(
                        "PreconditionFailedException",
                        "The Revision Id provided does not match the latest Revision Id.",
                    ),
                )
                .build();
            let adapter = LambdaAdapter::new(lambda_client(&[&update]));
            let err = adapter
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

        #[tokio::test]
        async fn lambda_throttling_is_transient_after_sdk_retries() {
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
                let get = mock!(aws_sdk_lambda::Client::get_alias)
                    .sequence()
                    .http_status(status, lambda_error(code, message))
                    .times(3)
                    .build();
                let adapter = LambdaAdapter::new(lambda_client(&[&get]));
                let err = adapter.get_alias("f", "live").await.unwrap_err();
                assert_eq!(err.kind(), "Transient", "{code}: {err}");
                assert!(err.to_string().contains(message), "{err}");
                if status != 409 {
                    assert_eq!(
                        get.num_calls(),
                        3,
                        "{code}: the SDK's standard retry stays on"
                    );
                }
            }
        }

        #[tokio::test]
        async fn lambda_5xx_then_success_is_retried_by_the_sdk() {
            let get = mock!(aws_sdk_lambda::Client::get_alias)
                .sequence()
                .http_status(503, None)
                .times(2)
                .output(|| alias_output("1", &[], "rev-1"))
                .build();
            let adapter = LambdaAdapter::new(lambda_client(&[&get]));
            let state = adapter
                .get_alias("f", "live")
                .await
                .expect("third attempt succeeds");
            assert_eq!(state.route, AliasRoute::single("1"));
            assert_eq!(get.num_calls(), 3);
        }

        #[tokio::test]
        async fn lambda_not_found_names_what_is_missing() {
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
                let get = mock!(aws_sdk_lambda::Client::get_alias)
                    .sequence()
                    .http_status(404, lambda_error("ResourceNotFoundException", &message))
                    .build();
                let adapter = LambdaAdapter::new(lambda_client(&[&get]));
                assert_not_found(adapter.get_alias("orders", "live").await, what);
            }
        }

        #[tokio::test]
        async fn lambda_invalid_parameter_is_invalid_input() {
            let message = "RoutingConfig: versions 1 and 2 must have the same execution role";
            let update = mock!(aws_sdk_lambda::Client::update_alias)
                .sequence()
                .http_status(400, lambda_error("InvalidParameterValueException", message))
                .build();
            let adapter = LambdaAdapter::new(lambda_client(&[&update]));
            let err = adapter
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

        #[tokio::test]
        async fn lambda_reads_refuse_routing_the_domain_cannot_hold() {
            let two = mock!(aws_sdk_lambda::Client::get_alias)
                .then_output(|| alias_output("1", &[("2", 0.1), ("3", 0.1)], "r"));
            let adapter = LambdaAdapter::new(lambda_client(&[&two]));
            assert_eq!(
                adapter.get_alias("f", "live").await.unwrap_err().kind(),
                "InvalidInput"
            );
            let beyond = mock!(aws_sdk_lambda::Client::get_alias)
                .then_output(|| alias_output("1", &[("2", 1.5)], "r"));
            let adapter = LambdaAdapter::new(lambda_client(&[&beyond]));
            assert_eq!(
                adapter.get_alias("f", "live").await.unwrap_err().kind(),
                "InvalidInput"
            );
        }

        #[tokio::test]
        async fn lambda_version_reports_role_and_dlq() {
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
            let adapter = LambdaAdapter::new(lambda_client(&[&cfg]));
            assert_eq!(
                adapter.version("f", "7").await.expect("version"),
                Some(VersionInfo {
                    version: "7".into(),
                    role: ROLE.into(),
                    dead_letter_target: Some("arn:aws:sqs:us-east-1:1:dlq".into()),
                })
            );
        }

        #[tokio::test]
        async fn lambda_latest_version_follows_every_page() {
            let page = |versions: &[&str], next: Option<&str>| {
                let mut out = ListVersionsByFunctionOutput::builder();
                for v in versions {
                    out = out.versions(FunctionConfiguration::builder().version(*v).build());
                }
                out.set_next_marker(next.map(str::to_owned)).build()
            };
            let pages = [
                page(&["$LATEST", "1", "2", "9"], Some("m1")),
                page(&["10", "3"], Some("m2")),
                page(&["4"], None),
            ];
            let rules: Vec<Rule> = pages
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let marker = match i {
                        0 => None,
                        1 => Some("m1"),
                        _ => Some("m2"),
                    };
                    mock!(aws_sdk_lambda::Client::list_versions_by_function)
                        .match_requests(move |req| req.marker() == marker)
                        .then_output(move || p.clone())
                })
                .collect();
            let refs: Vec<&Rule> = rules.iter().collect();
            let adapter =
                LambdaAdapter::new(mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &refs));
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

        // -- Step Functions

        #[tokio::test]
        async fn sfn_failed_execution_reports_error_and_cause() {
            let describe = mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
                DescribeExecutionOutput::builder()
                    .execution_arn("arn:x")
                    .state_machine_arn("arn:sm")
                    .status(aws_sdk_sfn::types::ExecutionStatus::Failed)
                    .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_767_225_600))
                    .stop_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_767_225_660))
                    .input("{\"alias\":\"live\"}")
                    .error("AlarmTriggered")
                    .cause("orders-api-errors is in ALARM")
                    .build()
                    .expect("complete output")
            });
            let executions = StepFunctionsExecutions::new(sfn_client(&[&describe]));
            let e = executions
                .describe_execution("arn:x")
                .await
                .expect("describe");
            assert_eq!(e.status, ExecutionStatus::Failed);
            assert_eq!(e.error.as_deref(), Some("AlarmTriggered"));
            assert_eq!(e.cause.as_deref(), Some("orders-api-errors is in ALARM"));
            assert_eq!(e.input, Some(json!({"alias": "live"})));
            assert_eq!(e.stopped.map(|t| t.timestamp()), Some(1_767_225_660));
        }

        #[tokio::test]
        async fn sfn_history_follows_every_page() {
            let event = |id: i64, kind: HistoryEventType| {
                let mut e = HistoryEvent::builder()
                    .id(id)
                    .r#type(kind.clone())
                    .timestamp(aws_sdk_sfn::primitives::DateTime::from_secs(
                        1_767_225_600 + id,
                    ));
                if kind == HistoryEventType::ExecutionFailed {
                    e = e.execution_failed_event_details(
                        ExecutionFailedEventDetails::builder()
                            .error("AliasDrift")
                            .cause("moved")
                            .build(),
                    );
                }
                e.build().expect("complete event")
            };
            let first = mock!(aws_sdk_sfn::Client::get_execution_history)
                .match_requests(|req| req.next_token().is_none())
                .then_output(move || {
                    GetExecutionHistoryOutput::builder()
                        .events(event(1, HistoryEventType::ExecutionStarted))
                        .events(event(2, HistoryEventType::TaskStateEntered))
                        .next_token("t1")
                        .build()
                        .expect("output")
                });
            let second = mock!(aws_sdk_sfn::Client::get_execution_history)
                .match_requests(|req| req.next_token() == Some("t1"))
                .then_output(move || {
                    GetExecutionHistoryOutput::builder()
                        .events(event(3, HistoryEventType::ExecutionFailed))
                        .build()
                        .expect("output")
                });
            let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &[&first, &second]);
            let history = StepFunctionsExecutions::new(client)
                .execution_history("arn:x")
                .await
                .expect("history");
            assert_eq!(history.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3]);
            assert_eq!(history[2].kind, "ExecutionFailed");
            assert_eq!(history[2].error.as_deref(), Some("AliasDrift"));
        }

        #[tokio::test]
        async fn sfn_throttling_is_transient() {
            let start = mock!(aws_sdk_sfn::Client::start_execution)
                .sequence()
                .http_status(
                    400,
                    Some(
                        json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                            .to_string(),
                    ),
                )
                .times(3)
                .build();
            let executions = StepFunctionsExecutions::new(sfn_client(&[&start]));
            let err = executions
                .start_execution("arn:sm", "x", &json!({}))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "Transient", "{err}");
            assert_eq!(start.num_calls(), 3);
        }

        // -- CodePipeline

        fn codepipeline_client(rules: &[&Rule]) -> aws_sdk_codepipeline::Client {
            mock_client!(aws_sdk_codepipeline, RuleMode::Sequential, rules, |c| c
                .retry_config(
                    aws_sdk_codepipeline::config::retry::RetryConfig::standard()
                        .with_initial_backoff(Duration::from_millis(1))
                ))
        }

        /// A CodePipeline (awsJson1_1) error body as the service sends it.
        fn codepipeline_error(code: &str, message: &str) -> Option<String> {
            Some(json!({"__type": code, "message": message}).to_string())
        }

        #[tokio::test]
        async fn codepipeline_success_sends_the_token_or_the_variables() {
            use aws_sdk_codepipeline::operation::put_job_success_result::PutJobSuccessResultOutput;
            let continued = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
                .match_requests(|req| {
                    req.job_id() == Some("job-1")
                        && req.continuation_token() == Some("arn:execution")
                        && req.output_variables().is_none()
                })
                .then_output(|| PutJobSuccessResultOutput::builder().build());
            let succeeded = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
                .match_requests(|req| {
                    let variables = req.output_variables().cloned().unwrap_or_default();
                    req.job_id() == Some("job-1")
                        && req.continuation_token().is_none()
                        && variables.len() == 2
                        && variables.get("deployedVersion").map(String::as_str) == Some("42")
                        && variables.get("outcome").map(String::as_str) == Some("Succeeded")
                })
                .then_output(|| PutJobSuccessResultOutput::builder().build());
            let jobs = CodePipelineJobs::new(codepipeline_client(&[&continued, &succeeded]));
            jobs.put_job_success("job-1", Some("arn:execution"), &BTreeMap::new())
                .await
                .expect("continued");
            let variables = BTreeMap::from([
                ("deployedVersion".to_owned(), "42".to_owned()),
                ("outcome".to_owned(), "Succeeded".to_owned()),
            ]);
            jobs.put_job_success("job-1", None, &variables)
                .await
                .expect("succeeded");
            assert_eq!((continued.num_calls(), succeeded.num_calls()), (1, 1));
        }

        #[tokio::test]
        async fn codepipeline_failure_sends_the_type_and_the_message() {
            use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
            use aws_sdk_codepipeline::types::FailureType;
            let cases = [
                (
                    JobFailureType::ConfigurationError,
                    FailureType::ConfigurationError,
                ),
                (JobFailureType::JobFailed, FailureType::JobFailed),
            ];
            for (ours, theirs) in cases {
                let expected = theirs.clone();
                let failed = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
                    .match_requests(move |req| {
                        req.job_id() == Some("job-1")
                            && req.failure_details().is_some_and(|d| {
                                *d.r#type() == expected && d.message() == "alias: bad name"
                            })
                    })
                    .then_output(|| PutJobFailureResultOutput::builder().build());
                CodePipelineJobs::new(codepipeline_client(&[&failed]))
                    .put_job_failure("job-1", ours, "alias: bad name")
                    .await
                    .expect("reported");
                assert_eq!(failed.num_calls(), 1, "{theirs:?}");
            }
        }

        #[tokio::test]
        async fn codepipeline_refusals_are_named() {
            let ended = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
                .sequence()
                .http_status(
                    400,
                    codepipeline_error(
                        "InvalidJobStateException",
                        "The job is in an invalid state",
                    ),
                )
                .build();
            let missing = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
                .sequence()
                .http_status(
                    400,
                    codepipeline_error("JobNotFoundException", "The job was not found"),
                )
                .build();
            let jobs = CodePipelineJobs::new(codepipeline_client(&[&ended, &missing]));
            let err = jobs
                .put_job_success("job-1", None, &BTreeMap::new())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "InvalidInput", "{err}");
            assert!(
                err.to_string().contains("InvalidJobStateException"),
                "{err}"
            );
            assert_not_found(
                jobs.put_job_failure("job-1", JobFailureType::JobFailed, "x")
                    .await,
                "job job-1",
            );
        }

        #[tokio::test]
        async fn codepipeline_throttling_is_transient_after_sdk_retries() {
            let throttled = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
                .sequence()
                .http_status(
                    400,
                    codepipeline_error("ThrottlingException", "Rate exceeded"),
                )
                .times(3)
                .build();
            let err = CodePipelineJobs::new(codepipeline_client(&[&throttled]))
                .put_job_success("job-1", Some("arn:execution"), &BTreeMap::new())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "Transient", "{err}");
            assert_eq!(throttled.num_calls(), 3);
        }

        #[tokio::test]
        async fn sfn_already_exists_is_only_started_when_the_input_matches() {
            let already = || {
                mock!(aws_sdk_sfn::Client::start_execution)
                    .sequence()
                    .http_status(
                        400,
                        Some(
                            json!({"__type": "ExecutionAlreadyExists", "message": "Execution Already Exists"})
                                .to_string(),
                        ),
                    )
                    .build()
            };
            let describe = |input: &'static str| {
                mock!(aws_sdk_sfn::Client::describe_execution).then_output(move || {
                    DescribeExecutionOutput::builder()
                        .execution_arn("arn:aws:states:us-east-1:1:execution:sm:job-1")
                        .state_machine_arn("arn:aws:states:us-east-1:1:stateMachine:sm")
                        .status(aws_sdk_sfn::types::ExecutionStatus::Succeeded)
                        .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_767_225_600))
                        .input(input)
                        .build()
                        .expect("complete output")
                })
            };
            let sm = "arn:aws:states:us-east-1:1:stateMachine:sm";
            let (start, same) = (already(), describe("{\"alias\":\"live\"}"));
            let arn = StepFunctionsExecutions::new(sfn_client(&[&start, &same]))
                .start_execution(sm, "job-1", &json!({"alias": "live"}))
                .await
                .expect("the ended execution with the same input");
            assert_eq!(arn, "arn:aws:states:us-east-1:1:execution:sm:job-1");

            let (start, other) = (already(), describe("{\"alias\":\"other\"}"));
            let err = StepFunctionsExecutions::new(sfn_client(&[&start, &other]))
                .start_execution(sm, "job-1", &json!({"alias": "live"}))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "InvalidInput", "{err}");
            assert!(err.to_string().contains("ExecutionAlreadyExists"), "{err}");

            let throttled = mock!(aws_sdk_sfn::Client::describe_execution)
                .sequence()
                .http_status(
                    400,
                    Some(
                        json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                            .to_string(),
                    ),
                )
                .times(3)
                .build();
            let start = already();
            let err = StepFunctionsExecutions::new(sfn_client(&[&start, &throttled]))
                .start_execution(sm, "job-1", &json!({"alias": "live"}))
                .await
                .unwrap_err();
            assert_eq!(
                err.kind(),
                "Transient",
                "unreadable is retried, not refused: {err}"
            );
        }
    }

    #[tokio::test]
    async fn codepipeline_on_moto() {
        emulator_gap("codepipeline-job-apis");
    }

    // ---------------------------------------------------------------- Executions suite

    /// State machines the Executions suite can start on, with the port under test on top.
    trait ExecutionsWorld {
        type Port: Executions;
        fn port(&self) -> &Self::Port;
        /// A new state machine's ARN.
        async fn state_machine(&self) -> String;
        /// Stops a running execution (as a person would, from the console).
        async fn stop(&self, execution_arn: &str);
    }

    struct FakeExecutionsWorld(FakeExecutions);

    impl ExecutionsWorld for FakeExecutionsWorld {
        type Port = FakeExecutions;
        fn port(&self) -> &FakeExecutions {
            &self.0
        }
        async fn state_machine(&self) -> String {
            let arn = format!(
                "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
                unique("contract")
            );
            self.0.add_state_machine(&arn);
            arn
        }
        async fn stop(&self, execution_arn: &str) {
            self.0
                .fail(execution_arn, ExecutionStatus::Aborted, "", "")
                .expect("stop");
        }
    }

    struct MotoExecutionsWorld {
        clients: AwsClients,
        port: StepFunctionsExecutions,
    }

    impl ExecutionsWorld for MotoExecutionsWorld {
        type Port = StepFunctionsExecutions;
        fn port(&self) -> &StepFunctionsExecutions {
            &self.port
        }
        async fn state_machine(&self) -> String {
            let definition =
                json!({"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}});
            self.clients
                .sfn
                .create_state_machine()
                .name(unique("contract"))
                .definition(definition.to_string())
                .role_arn(ROLE)
                .send()
                .await
                .expect("moto CreateStateMachine")
                .state_machine_arn()
                .to_owned()
        }
        async fn stop(&self, execution_arn: &str) {
            self.clients
                .sfn
                .stop_execution()
                .execution_arn(execution_arn)
                .send()
                .await
                .expect("moto StopExecution");
        }
    }

    mod executions_suite {
        use super::*;

        fn input(target: &str) -> serde_json::Value {
            json!({"functionName": "orders-api", "alias": "live", "targetVersion": target})
        }

        pub async fn same_name_and_input_is_the_same_execution<W: ExecutionsWorld>(w: &W) {
            let sm = w.state_machine().await;
            let first = w
                .port()
                .start_execution(&sm, "codepipeline-job-1", &input("2"))
                .await
                .expect("start");
            let again = w
                .port()
                .start_execution(&sm, "codepipeline-job-1", &input("2"))
                .await
                .expect("start again");
            assert_eq!(first, again);
            assert!(first.ends_with(":codepipeline-job-1"), "{first}");
            let e = w.port().describe_execution(&first).await.expect("describe");
            assert_eq!(e.status, ExecutionStatus::Running);
            assert_eq!(e.input, Some(input("2")));
        }

        pub async fn same_name_and_input_after_it_ended_is_still_that_execution<
            W: ExecutionsWorld,
        >(
            w: &W,
        ) {
            let sm = w.state_machine().await;
            let arn = w
                .port()
                .start_execution(&sm, "codepipeline-job-2", &input("2"))
                .await
                .expect("start");
            w.stop(&arn).await;
            let again = w
                .port()
                .start_execution(&sm, "codepipeline-job-2", &input("2"))
                .await
                .expect("a retried start finds the ended execution");
            assert_eq!(again, arn);
            let e = w.port().describe_execution(&arn).await.expect("describe");
            assert_eq!(e.status, ExecutionStatus::Aborted);
        }

        pub async fn same_name_with_other_input_is_refused<W: ExecutionsWorld>(w: &W) {
            let sm = w.state_machine().await;
            let arn = w
                .port()
                .start_execution(&sm, "codepipeline-job-3", &input("2"))
                .await
                .expect("start");
            let err = w
                .port()
                .start_execution(&sm, "codepipeline-job-3", &input("3"))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "InvalidInput", "{err}");
            assert!(err.to_string().contains("ExecutionAlreadyExists"), "{err}");
            let e = w.port().describe_execution(&arn).await.expect("describe");
            assert_eq!(
                e.input,
                Some(input("2")),
                "the first execution is untouched"
            );
        }

        pub async fn names_step_functions_refuses_are_invalid_input<W: ExecutionsWorld>(w: &W) {
            let sm = w.state_machine().await;
            for name in ["has:colon", "has space", &"x".repeat(81)] {
                let err = w
                    .port()
                    .start_execution(&sm, name, &input("2"))
                    .await
                    .unwrap_err();
                assert_eq!(err.kind(), "InvalidInput", "{name}: {err}");
            }
            let fine = "codepipeline-11111111-abcd-1111-abcd-111111abcdef_retry.1";
            w.port()
                .start_execution(&sm, fine, &input("2"))
                .await
                .expect("a job-id name is fine");
        }

        pub async fn missing_state_machine_and_execution_are_named<W: ExecutionsWorld>(w: &W) {
            let ghost_sm = format!(
                "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
                unique("ghost")
            );
            assert_not_found(
                w.port().start_execution(&ghost_sm, "x", &json!({})).await,
                &format!("state machine {ghost_sm}"),
            );
            let sm = w.state_machine().await;
            let ghost = format!(
                "{}:{}",
                sm.replacen(":stateMachine:", ":execution:", 1),
                unique("e")
            );
            assert_not_found(
                w.port().describe_execution(&ghost).await,
                &format!("execution {ghost}"),
            );
        }
    }

    /// Runs an Executions behaviour against the fake and against the adapter on moto.
    macro_rules! executions_on_fake_and_moto {
        ($behaviour:ident) => {
            mod $behaviour {
                use super::*;

                #[tokio::test]
                async fn fake() {
                    let clock = Arc::new(ManualClock::at_epoch());
                    let w = FakeExecutionsWorld(FakeExecutions::new(clock));
                    executions_suite::$behaviour(&w).await;
                }

                #[tokio::test]
                async fn moto() {
                    let test = concat!(stringify!($behaviour), "::moto");
                    if let Some(clients) = moto_clients(test).await {
                        let port = StepFunctionsExecutions::new(clients.sfn.clone());
                        executions_suite::$behaviour(&MotoExecutionsWorld { clients, port }).await;
                    }
                }
            }
        };
    }

    executions_on_fake_and_moto!(same_name_and_input_is_the_same_execution);
    executions_on_fake_and_moto!(same_name_and_input_after_it_ended_is_still_that_execution);
    executions_on_fake_and_moto!(same_name_with_other_input_is_refused);
    executions_on_fake_and_moto!(names_step_functions_refuses_are_invalid_input);
    executions_on_fake_and_moto!(missing_state_machine_and_execution_are_named);

    // ---------------------------------------------------------------- PipelineJobs fake

    mod pipeline_fake {
        use super::*;

        #[tokio::test]
        async fn a_job_continues_any_number_of_times_then_ends_once() {
            let jobs = FakePipelineJobs::new();
            for _ in 0..2 {
                jobs.put_job_success("job-1", Some("arn:execution"), &BTreeMap::new())
                    .await
                    .expect("continued");
            }
            jobs.put_job_failure("job-1", JobFailureType::JobFailed, "AlarmTriggered")
                .await
                .expect("failed");
            let err = jobs
                .put_job_success("job-1", None, &BTreeMap::new())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "InvalidInput");
            assert!(
                err.to_string().contains("InvalidJobStateException"),
                "{err}"
            );
            assert_eq!(jobs.results("job-1").len(), 3);
            jobs.put_job_success("job-2", None, &BTreeMap::new())
                .await
                .expect("another job is another job");
        }

        #[tokio::test]
        async fn requests_codepipeline_refuses_are_refused() {
            let jobs = FakePipelineJobs::new();
            let variables = BTreeMap::from([("outcome".to_owned(), "Succeeded".to_owned())]);
            let err = jobs
                .put_job_success("job-1", Some("arn:execution"), &variables)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "InvalidInput", "variables with a token: {err}");
            for message in [String::new(), "x".repeat(5001)] {
                let err = jobs
                    .put_job_failure("job-1", JobFailureType::JobFailed, &message)
                    .await
                    .unwrap_err();
                assert_eq!(err.kind(), "InvalidInput", "{} chars", message.len());
            }
            assert!(jobs.results("job-1").is_empty());
            jobs.throttle_next(1);
            let err = jobs
                .put_job_failure("job-1", JobFailureType::JobFailed, "x")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "Transient");
            assert!(
                jobs.results("job-1").is_empty(),
                "a throttled call records nothing"
            );
        }
    }
}

/// The Step Functions adapter's task-token calls (`shifter approve|promote|abort`) and the
/// history details the CLI reads the token from, against `aws-smithy-mocks`.
#[cfg(feature = "aws")]
mod sfn_callbacks {
    use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
    use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput;
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput;
    use aws_sdk_sfn::types::{
        HistoryEvent, HistoryEventType, StateEnteredEventDetails, TaskScheduledEventDetails,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;
    use shifter::aws::StepFunctionsExecutions;
    use shifter::ports::Executions;

    #[tokio::test]
    async fn success_and_failure_answer_the_token_verbatim() {
        let success = mock!(aws_sdk_sfn::Client::send_task_success)
            .match_requests(|req| {
                req.task_token() == Some("tok-1") && req.output() == Some(r#"{"action":"promote"}"#)
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        let failure = mock!(aws_sdk_sfn::Client::send_task_failure)
            .match_requests(|req| {
                req.task_token() == Some("tok-2")
                    && req.error() == Some("Aborted")
                    && req.cause() == Some("p99 looks wrong")
            })
            .then_output(|| SendTaskFailureOutput::builder().build());
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &[&success, &failure]);
        let executions = StepFunctionsExecutions::new(client);
        executions
            .send_task_success("tok-1", &json!({"action": "promote"}))
            .await
            .unwrap();
        executions
            .send_task_failure("tok-2", "Aborted", "p99 looks wrong")
            .await
            .unwrap();
        assert_eq!((success.num_calls(), failure.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn an_answered_token_is_named_in_the_error() {
        let gone = mock!(aws_sdk_sfn::Client::send_task_success)
            .sequence()
            .http_status(
                400,
                Some(json!({"__type": "TaskTimedOut", "message": "Task Timed Out"}).to_string()),
            )
            .build();
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &[&gone]);
        let err = StepFunctionsExecutions::new(client)
            .send_task_success("tok", &json!({"action": "approve"}))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("TaskTimedOut"), "{err}");
    }

    #[tokio::test]
    async fn history_carries_parameters_and_inputs() {
        let parameters = json!({"Entries": [{"DetailType": "Traffic Shifter Bake",
            "Detail": {"taskToken": "tok-9"}}]})
        .to_string();
        let p = parameters.clone();
        let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(move || {
            let at = aws_sdk_sfn::primitives::DateTime::from_secs(1_767_225_600);
            GetExecutionHistoryOutput::builder()
                .events(
                    HistoryEvent::builder()
                        .id(1)
                        .r#type(HistoryEventType::TaskStateEntered)
                        .timestamp(at)
                        .state_entered_event_details(
                            StateEnteredEventDetails::builder()
                                .name("Bake")
                                .input(r#"{"waitSeconds":30}"#)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .events(
                    HistoryEvent::builder()
                        .id(2)
                        .r#type(HistoryEventType::TaskScheduled)
                        .timestamp(at)
                        .task_scheduled_event_details(
                            TaskScheduledEventDetails::builder()
                                .resource_type("events")
                                .resource("putEvents.waitForTaskToken")
                                .region("us-east-1")
                                .parameters(p.clone())
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, &[&history]);
        let events = StepFunctionsExecutions::new(client)
            .execution_history("arn:x")
            .await
            .unwrap();
        assert_eq!(events[0].state.as_deref(), Some("Bake"));
        assert_eq!(events[0].input.as_deref(), Some(r#"{"waitSeconds":30}"#));
        assert_eq!(events[1].kind, "TaskScheduled");
        assert_eq!(events[1].parameters.as_deref(), Some(parameters.as_str()));
    }
}
