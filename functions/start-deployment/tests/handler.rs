//! Start Deployment over the shared fakes, one invocation at a time: after each call, the
//! document (or the error) and the fake account are checked. Nothing but `publish` may ever be
//! written here (invariant 1 of docs/architecture.md#safety-invariants).

use std::sync::Arc;

use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::{AliasRoute, Decision, Deployment, ManagedSet, Weight};
use shifter::fakes::{
    FakeAlarms, FakeExecutions, FakeLambda, FakeRegistry, Fault, LambdaOp, ManualClock,
};
use shifter::ports::{AlarmState, Clock, DeploymentRegistry, ExecutionStatus, Executions};
use start_deployment::{Config, Ports, StartEvent, start_deployment};

const FULL: &str = include_str!("../../../events/console-full.json");

const FUNCTION: &str = "orders-api";
/// The ARN Lambda invokes Start Deployment with: the stack's account and region (the sample's).
const START_DEPLOYMENT_ARN: &str =
    "arn:aws:lambda:eu-west-1:123456789012:function:start-deployment";
const HOOK_ROLE: &str = "arn:aws:iam::123456789012:role/orders-api-hooks";

/// `orders-api` with versions 1 and 2 (one role), alias `live` on 1; the sample's alarms
/// (quiet) and hooks exist; the stack, in eu-west-1 of 123456789012, manages `orders-api*`.
struct World {
    clock: ManualClock,
    lambda: FakeLambda,
    alarms: FakeAlarms,
    config: Config,
    deployments: FakeRegistry,
    executions: FakeExecutions,
}

/// The stack's state machine.
const STATE_MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:shifter";

impl World {
    fn new() -> World {
        let clock = ManualClock::at_epoch();
        let lambda = FakeLambda::with_function(Arc::new(clock.clone()), FUNCTION, 2, "live");
        for hook in ["orders-api-pre-traffic", "orders-api-post-traffic"] {
            lambda.add_function(hook, HOOK_ROLE);
        }
        let alarms = FakeAlarms::new(Arc::new(clock.clone()));
        for alarm in ["orders-api-errors", "orders-api-p99-latency"] {
            alarms.add(alarm, AlarmState::Ok);
        }
        let executions = FakeExecutions::new(Arc::new(clock.clone()));
        executions.add_state_machine(STATE_MACHINE);
        World {
            deployments: FakeRegistry::new(Arc::new(clock.clone())),
            executions,
            clock,
            lambda,
            alarms,
            config: Config {
                managed: ManagedSet::parse("orders-api*"),
            }
            .at(START_DEPLOYMENT_ARN),
        }
    }

    /// `events/console-full.json` (target `latest`, two alarms, both hooks).
    fn full() -> Value {
        serde_json::from_str(FULL).expect("events/console-full.json")
    }

    /// The sample with `field` replaced.
    fn full_with(field: &str, value: Value) -> Value {
        let mut input = World::full();
        input[field] = value;
        input
    }

    fn ports(&self) -> Ports<'_> {
        Ports {
            router: &self.lambda,
            registry: &self.lambda,
            alarms: &self.alarms,
            clock: &self.clock,
            deployments: &self.deployments,
            executions: &self.executions,
            concurrency: &self.lambda,
        }
    }

    async fn start(&self, request: Value) -> Result<Deployment, ShifterError> {
        self.start_as("orders-api-2", request).await
    }

    /// Starts execution `name` of the stack's state machine (running until told otherwise) and
    /// invokes Start Deployment as its first state.
    async fn start_as(&self, name: &str, request: Value) -> Result<Deployment, ShifterError> {
        // A name used again (with another input) keeps its first execution, as a retried
        // Start Deployment of that execution would.
        let _ = self
            .executions
            .start_execution(STATE_MACHINE, name, &request)
            .await;
        let execution_arn = format!(
            "{}:{name}",
            STATE_MACHINE.replace(":stateMachine:", ":execution:")
        );
        let event = StartEvent {
            request: request.into(),
            execution_name: name.to_owned(),
            execution_arn,
        };
        start_deployment(&self.ports(), &self.config, event).await
    }

    /// Nothing was written: no alias write since `writes_before`, no UpdateAlias, no publish.
    fn assert_untouched(&self, writes_before: usize, case: &str) {
        assert_eq!(
            self.lambda.history().len(),
            writes_before,
            "{case}: an alias was written"
        );
        assert_eq!(self.lambda.calls(LambdaOp::UpdateAlias), 0, "{case}");
        assert_eq!(
            self.lambda.calls(LambdaOp::PublishVersion),
            0,
            "{case}: published"
        );
    }
}

#[tokio::test]
async fn the_full_sample_is_accepted_with_a_snapshot_of_the_alias() {
    let w = World::new();
    let writes = w.lambda.history().len();
    let d = w.start(World::full()).await.expect("accepted");
    let alias = w.lambda.alias(FUNCTION, "live").expect("the alias");
    assert_eq!(
        (
            d.lead().original_version.as_str(),
            d.lead().target_version.as_str()
        ),
        ("1", "2")
    );
    assert_eq!(
        d.lead().revision_id,
        alias.revision_id,
        "every later write is conditional on it"
    );
    assert_eq!(d.decision, Decision::PreTrafficHook);
    assert_eq!(
        d.progress
            .plan
            .iter()
            .map(|s| s.weight.bp())
            .collect::<Vec<_>>(),
        [100, 1000, 5000, 10_000]
    );
    assert_eq!(d.progress.traffic, Weight::ZERO);
    assert_eq!(d.progress.started_at, w.clock.start());
    assert!(d.restore_command().contains("--function-version 1"));
    assert_eq!(alias.route, AliasRoute::single("1"));
    w.assert_untouched(writes, "accepted");
    assert_eq!(
        w.alarms.reads().len(),
        1,
        "both alarms in one DescribeAlarms call"
    );
}

#[tokio::test]
async fn every_rejection_class_names_its_cause_and_touches_nothing() {
    type Setup = fn(&World) -> Value;
    let cases: Vec<(&str, &str, &str, Setup)> = vec![
        ("bad input", "InvalidInput", "checkIntervalSeconds", |_| {
            World::full_with("checkIntervalSeconds", json!(1))
        }),
        ("unmanaged function", "InvalidInput", "functionName", |_| {
            World::full_with("functionName", json!("billing"))
        }),
        ("unknown alias", "NotFound", "alias staging", |_| {
            World::full_with("alias", json!("staging"))
        }),
        (
            "another deployment in progress",
            "DeploymentInProgress",
            "10% to version 2",
            |w| {
                let busy = AliasRoute::split("1", "2", Weight::from_percent(10).unwrap());
                w.lambda.put_alias(FUNCTION, "live", busy);
                World::full()
            },
        ),
        ("alias on $LATEST", "InvalidInput", "alias", |w| {
            w.lambda
                .put_alias(FUNCTION, "live", AliasRoute::single("$LATEST"));
            World::full()
        }),
        ("unknown target version", "NotFound", "version 9", |_| {
            World::full_with("targetVersion", json!("9"))
        }),
        ("missing alarm", "NotFound", "orders-api-p99-latency", |w| {
            w.alarms.delete("orders-api-p99-latency");
            World::full()
        }),
        (
            "alarm already firing",
            "AlarmTriggered",
            "orders-api-errors",
            |w| {
                w.alarms.add("orders-api-errors", AlarmState::Alarm);
                World::full()
            },
        ),
        ("missing hook", "NotFound", "post-traffic hook", |_| {
            World::full_with("hooks", json!({"postTraffic": "orders-api-gone"}))
        }),
        (
            "versions not routable together",
            "InvalidInput",
            "targetVersion",
            |w| {
                w.lambda.set_dead_letter_target(
                    FUNCTION,
                    Some("arn:aws:sqs:eu-west-1:123456789012:dlq"),
                );
                w.lambda.publish(FUNCTION);
                World::full()
            },
        ),
        (
            "publish, but an alarm is missing",
            "NotFound",
            "orders-api-errors",
            |w| {
                w.alarms.delete("orders-api-errors");
                w.lambda.update_code(FUNCTION);
                World::full_with("targetVersion", json!("publish"))
            },
        ),
    ];
    for (case, kind, names, setup) in cases {
        let w = World::new();
        let input = setup(&w);
        let (writes, alias) = (w.lambda.history().len(), w.lambda.alias(FUNCTION, "live"));
        let err = w.start(input).await.expect_err(case);
        assert_eq!(err.kind(), kind, "{case}: {err}");
        assert!(err.to_string().contains(names), "{case}: {err}");
        w.assert_untouched(writes, case);
        assert_eq!(w.lambda.alias(FUNCTION, "live"), alias, "{case}");
    }
}

#[tokio::test]
async fn a_target_the_alias_is_on_is_already_current_and_touches_nothing() {
    let w = World::new();
    w.lambda
        .put_alias(FUNCTION, "live", AliasRoute::single("2"));
    let writes = w.lambda.history().len();
    // `latest` resolves to 2, where the alias already is (the nightly schedule's no-op).
    let d = w.start(World::full()).await.expect("already current");
    assert_eq!(d.decision, Decision::AlreadyCurrent);
    assert_eq!(
        (
            d.lead().original_version.as_str(),
            d.lead().target_version.as_str()
        ),
        ("2", "2")
    );
    w.assert_untouched(writes, "already current");
}

/// A no-op run still names a missing alarm or hook (a nightly schedule's typo surfaces at once).
#[tokio::test]
async fn already_current_still_needs_every_alarm_and_hook_to_exist() {
    for (field, value, missing) in [
        ("alarms", json!(["orders-api-errorz"]), "orders-api-errorz"),
        (
            "hooks",
            json!({"preTraffic": "orders-api-pre-trafic"}),
            "orders-api-pre-trafic",
        ),
    ] {
        let w = World::new();
        w.lambda
            .put_alias(FUNCTION, "live", AliasRoute::single("2"));
        let writes = w.lambda.history().len();
        let err = w
            .start(World::full_with(field, value))
            .await
            .expect_err("a missing alarm or hook");
        assert_eq!(err.kind(), "NotFound", "{field}: {err}");
        assert!(err.to_string().contains(missing), "{err}");
        w.assert_untouched(writes, field);
    }
}

/// The event exactly as Lambda hands it over (bytes read by serde_json): a repeated key in the
/// execution input is refused by name instead of the last one silently winning.
#[tokio::test]
async fn a_repeated_key_in_the_event_is_refused_by_name() {
    let w = World::new();
    let writes = w.lambda.history().len();
    let text = r#"{"executionName":"x","request":{"functionName":"orders-api-ghost",
        "functionName":"orders-api","alias":"live","targetVersion":"2","strategy":"AllAtOnce"}}"#;
    let text = text.replace(
        r#"{"executionName":"x","#,
        r#"{"executionName":"x","executionArn":"x","#,
    );
    let event: StartEvent = serde_json::from_str(&text).expect("the event reads");
    let err = start_deployment(&w.ports(), &w.config, event)
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), "InvalidInput");
    assert!(err.to_string().contains("functionName"), "{err}");
    w.assert_untouched(writes, "repeated key");
}

/// Bound to the account and region it runs in (from the ARN it was invoked with), a managed
/// name covers only that account's function of that name; a function of another Region is
/// refused first, because the stack's Lambda endpoint cannot reach it at all.
#[tokio::test]
async fn a_bare_managed_name_covers_only_this_account_and_region() {
    let w = World::new();
    for (function, refused) in [
        ("orders-api", None),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:orders-api",
            None,
        ),
        (
            "arn:aws:lambda:eu-west-1:999999999999:function:orders-api",
            Some("outside"),
        ),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:orders-api",
            Some("is in us-east-1, but this stack runs in eu-west-1"),
        ),
    ] {
        let result = w
            .start(World::full_with("functionName", json!(function)))
            .await;
        match (result, refused) {
            (Err(e), Some(why)) => {
                assert_eq!(e.kind(), "InvalidInput", "{function}: {e}");
                let text = e.to_string();
                assert!(text.contains(function) && text.contains(why), "{text}");
                assert!(
                    !text.contains("orders-api*"),
                    "the set is not listed: {text}"
                );
            }
            (Err(e), None) => {
                // Accepted by the managed set; the fake account resolves bare names only.
                assert_ne!(e.kind(), "InvalidInput", "{function}: {e}");
            }
            (Ok(_), refused) => assert!(refused.is_none(), "{function} was accepted"),
        }
    }
}

#[tokio::test]
async fn publish_happens_only_after_every_check_and_a_rerun_is_already_current() {
    let w = World::new();
    w.lambda.update_code(FUNCTION);
    let input = World::full_with("targetVersion", json!("publish"));

    let d = w.start(input.clone()).await.expect("published and planned");
    assert_eq!(w.lambda.calls(LambdaOp::PublishVersion), 1);
    assert_eq!(w.lambda.latest_published(FUNCTION).as_deref(), Some("3"));
    assert_eq!(
        (d.lead().target_version.as_str(), d.decision),
        ("3", Decision::PreTrafficHook)
    );
    assert_eq!(w.lambda.calls(LambdaOp::UpdateAlias), 0);

    // The deployment ran (the alias is on 3); unchanged code publishes nothing new.
    w.lambda
        .put_alias(FUNCTION, "live", AliasRoute::single("3"));
    let again = w.start(input).await.expect("already current");
    assert_eq!(w.lambda.calls(LambdaOp::PublishVersion), 2);
    assert_eq!(w.lambda.latest_published(FUNCTION).as_deref(), Some("3"));
    assert_eq!(
        (again.lead().target_version.as_str(), again.decision),
        ("3", Decision::AlreadyCurrent)
    );
}

#[tokio::test]
async fn a_throttled_read_is_transient_and_the_retry_starts() {
    let w = World::new();
    w.lambda.inject(LambdaOp::GetFunction, 1, Fault::Throttle);
    w.alarms.throttle_next(1);
    let writes = w.lambda.history().len();
    for tick in 1..=2 {
        let err = w.start(World::full()).await.expect_err("throttled");
        assert_eq!(err.kind(), "Transient", "tick {tick}: {err}");
        w.assert_untouched(writes, "throttled");
    }
    let d = w.start(World::full()).await.expect("the third attempt");
    assert_eq!(d.lead().target_version, "2");
    w.assert_untouched(writes, "retried");
}

/// One deployment per alias, as a hard lock in the registry: the start takes the lock and
/// registers every watched alarm; a second start while the first execution runs is refused
/// (`DeploymentInProgress` naming the holder), nothing touched; once the holder's execution has
/// ended (or was stopped by hand), its lock is taken over.
#[tokio::test]
async fn the_alias_lock_admits_one_running_deployment_and_outlives_no_execution() {
    let w = World::new();
    let first = w.start_as("first", World::full()).await.expect("accepted");
    let entry = w.deployments.entry(FUNCTION, "live").expect("the lock");
    assert_eq!(entry.deployment.deployment_id, "first");
    assert_eq!(entry.deployment.alarms, first.watch.alarms);
    assert_eq!(w.deployments.watch_items(), first.watch.alarms.len());
    let longest = i64::try_from(first.longest_run_seconds()).unwrap();
    assert!(entry.deployment.expires_at >= w.clock.now().timestamp() + longest);

    let writes = w.lambda.history().len();
    let refused = w
        .start_as("second", World::full())
        .await
        .expect_err("locked");
    assert_eq!(refused.kind(), "DeploymentInProgress");
    assert!(
        refused.to_string().contains(":execution:shifter:first"),
        "{refused}"
    );
    w.assert_untouched(writes, "second start");
    assert_eq!(
        w.deployments
            .entry(FUNCTION, "live")
            .unwrap()
            .deployment
            .deployment_id,
        "first"
    );

    // A retried Start Deployment of the holder itself keeps its lock.
    let again = w
        .start_as("first", World::full())
        .await
        .expect("idempotent");
    assert_eq!(again.deployment_id, "first");

    let first_arn = format!(
        "{}:first",
        STATE_MACHINE.replace(":stateMachine:", ":execution:")
    );
    w.executions
        .fail(&first_arn, ExecutionStatus::Aborted, "", "stopped by hand")
        .unwrap();
    w.start_as("third", World::full())
        .await
        .expect("taken over");
    let entry = w.deployments.entry(FUNCTION, "live").unwrap();
    assert_eq!(entry.deployment.deployment_id, "third");
}

/// A registry that cannot be written means the deployment does not start: `Transient` (the
/// state machine retries it), alias untouched.
#[tokio::test]
async fn a_registry_that_cannot_be_written_stops_the_start_before_anything_moves() {
    let w = World::new();
    let writes = w.lambda.history().len();
    w.deployments.fail_next(1);
    let err = w.start(World::full()).await.expect_err("no lock, no start");
    assert_eq!(err.kind(), "Transient", "{err}");
    w.assert_untouched(writes, "registry down");
    assert!(w.deployments.entry(FUNCTION, "live").is_none());
}

/// Nothing to deploy, nothing to lock: an alias already on the target takes no lock.
#[tokio::test]
async fn an_alias_already_on_the_target_takes_no_lock() {
    let w = World::new();
    let d = w
        .start(World::full_with("targetVersion", json!("1")))
        .await
        .expect("accepted");
    assert_eq!(d.decision, Decision::AlreadyCurrent);
    assert!(w.deployments.entry(FUNCTION, "live").is_none());
}

/// Schedules that learn: `latest` resolving to a version rolled back on this alias ends
/// `VersionRolledBack`, naming the execution and how to deploy it anyway, touching nothing and
/// taking no lock; deploying it explicitly clears the record, so `latest` may pick it again.
#[tokio::test]
async fn latest_skips_a_rolled_back_version_until_it_is_deployed_explicitly() {
    let w = World::new();
    let record = shifter::ports::RolledBackVersion {
        function: FUNCTION.into(),
        alias: "live".into(),
        version: "2".into(),
        execution_arn: "arn:aws:states:eu-west-1:123456789012:execution:shifter:nightly-1".into(),
        error: "AlarmTriggered".into(),
        at: w.clock.now().timestamp(),
        expires_at: w.clock.now().timestamp() + 86_400,
    };
    w.deployments.mark_rolled_back(&record).await.unwrap();
    let writes = w.lambda.history().len();
    let skipped = w
        .start_as("nightly-2", World::full())
        .await
        .expect_err("version 2 was rolled back");
    assert_eq!(skipped.kind(), "VersionRolledBack");
    let message = skipped.to_string();
    for part in [
        "version 2 of arn:aws:lambda:eu-west-1:123456789012:function:orders-api",
        "nightly-1",
        "AlarmTriggered",
        r#"(targetVersion "2")"#,
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    w.assert_untouched(writes, "latest skips");
    assert!(w.deployments.entry(FUNCTION, "live").is_none());

    let explicit = w
        .start_as("by-hand", World::full_with("targetVersion", json!("2")))
        .await
        .expect("an explicit deployment");
    assert_eq!(explicit.lead().target_version, "2");
    assert_eq!(
        w.deployments
            .rolled_back(FUNCTION, "live", "2")
            .await
            .unwrap(),
        None
    );
}

/// Provisioned concurrency on the alias is read at pre-flight (GetProvisionedConcurrencyConfig
/// with the alias as qualifier,
/// https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html) and
/// recorded; an alias without any keeps the document as it was.
#[tokio::test]
async fn provisioned_concurrency_is_recorded_and_its_absence_changes_nothing() {
    let w = World::new();
    let plain = w.start(World::full()).await.expect("accepted");
    assert!(plain.provisioned_concurrency.is_none());
    let json = serde_json::to_value(&plain).expect("json");
    assert!(json.get("provisionedConcurrency").is_none(), "{json}");
    assert_eq!(w.lambda.calls(LambdaOp::GetProvisionedConcurrency), 1);

    let w = World::new();
    w.lambda
        .set_provisioned_concurrency(FUNCTION, "live", 25, 120);
    let input = World::full_with(
        "provisionedConcurrency",
        json!({"readyTimeoutSeconds": 600}),
    );
    let d = w.start(input).await.expect("accepted");
    let pc = d.provisioned_concurrency.expect("recorded");
    assert_eq!((pc.requested, pc.ready_timeout_seconds), (25, 600));
    assert_eq!(
        d.decision,
        Decision::PreTrafficHook,
        "nothing waits before a write"
    );
}

#[tokio::test]
async fn a_failed_config_or_waits_over_the_budget_refuse_before_anything_moves() {
    let w = World::new();
    w.lambda
        .set_provisioned_concurrency(FUNCTION, "live", 25, 120);
    w.lambda.fail_provisioned_concurrency(
        FUNCTION,
        "live",
        0,
        "Function concurrency limit exceeded",
    );
    let writes = w.lambda.history().len();
    let e = w.start(World::full()).await.expect_err("refused");
    assert_eq!(e.kind(), "ProvisionedConcurrencyFailed", "{e}");
    assert!(
        e.to_string()
            .contains("Function concurrency limit exceeded"),
        "{e}"
    );
    w.assert_untouched(writes, "failed config");
    assert!(
        w.deployments.entry(FUNCTION, "live").is_none(),
        "no lock taken"
    );
    // `publish` is refused before it publishes.
    let e = w
        .start(World::full_with("targetVersion", json!("publish")))
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), "ProvisionedConcurrencyFailed", "{e}");
    w.assert_untouched(writes, "publish with a failed config");

    let w = World::new();
    w.lambda
        .set_provisioned_concurrency(FUNCTION, "live", 25, 120);
    let steps: Vec<Value> = (1..=60)
        .map(|i| json!({"weight": i, "bakeSeconds": 60}))
        .collect();
    let mut long = World::full_with("strategy", json!({ "steps": steps }));
    long["checkIntervalSeconds"] = json!(30);
    long["provisionedConcurrency"] = json!({"readyTimeoutSeconds": 3600});
    let e = w.start(long).await.expect_err("over the budget");
    assert_eq!(e.kind(), "InvalidInput", "{e}");
    assert!(
        e.to_string()
            .starts_with("provisionedConcurrency.readyTimeoutSeconds: is 3600: use "),
        "{e}"
    );
    assert!(
        w.deployments.entry(FUNCTION, "live").is_none(),
        "no lock taken"
    );
}

/// Issue 21, item 6: the document carries the poll its waits for READY run at — 10 s, or the
/// shortest longer poll whose worst case fits the history budget — and a given poll that does
/// not fit is refused naming `provisionedConcurrency.pollSeconds`, before anything moves.
#[tokio::test]
async fn the_poll_is_recorded_lengthened_to_fit_or_refused_naming_it() {
    let w = World::new();
    w.lambda
        .set_provisioned_concurrency(FUNCTION, "live", 25, 120);
    let d = w.start(World::full()).await.expect("accepted");
    assert_eq!(
        d.provisioned_concurrency.expect("recorded").poll_seconds,
        Some(10)
    );

    let w = World::new();
    w.lambda
        .set_provisioned_concurrency(FUNCTION, "live", 25, 120);
    let steps: Vec<Value> = (1..=15)
        .map(|i| json!({"weight": 5 * i, "bakeSeconds": 60}))
        .collect();
    let mut many = World::full_with("strategy", json!({ "steps": steps }));
    many["checkIntervalSeconds"] = json!(300);
    let d = w.start(many.clone()).await.expect("accepted");
    let poll = d
        .provisioned_concurrency
        .expect("recorded")
        .poll_seconds
        .expect("a poll");
    assert!(poll > 10, "16 writes at 10 s polls do not fit: {poll}");

    let w = World::new();
    w.lambda
        .set_provisioned_concurrency(FUNCTION, "live", 25, 120);
    many["provisionedConcurrency"] = json!({"pollSeconds": 10});
    let e = w.start(many).await.expect_err("over the budget");
    assert_eq!(e.kind(), "InvalidInput", "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "provisionedConcurrency.pollSeconds: is 10: use {poll} or more"
        )),
        "{e}"
    );
    assert!(
        w.deployments.entry(FUNCTION, "live").is_none(),
        "no lock taken"
    );
}

/// A release train of `orders-api:live` and `orders-api-billing:live` (both on 1, to 2).
fn train_world() -> (World, Value) {
    let world = World::new();
    world.lambda.add_function(
        "orders-api-billing",
        "arn:aws:iam::123456789012:role/billing",
    );
    world.lambda.publish("orders-api-billing");
    world.lambda.publish("orders-api-billing");
    world
        .lambda
        .put_alias("orders-api-billing", "live", AliasRoute::single("1"));
    let input = json!({
        "targets": [
            {"functionName": FUNCTION, "alias": "live", "targetVersion": "2"},
            {"functionName": "orders-api-billing", "alias": "live", "targetVersion": "2"}
        ],
        "strategy": "Canary10Percent5Minutes",
        "alarms": ["orders-api-errors"]
    });
    (world, input)
}

#[tokio::test]
async fn a_train_locks_every_alias_and_only_the_first_watches_the_alarms() {
    let (world, input) = train_world();
    let d = world.start(input).await.unwrap();
    assert_eq!(d.members.len(), 2);
    assert_eq!(d.members[1].original_version, "1");
    assert!(
        d.restore_command()
            .contains("--function-name orders-api-billing")
    );
    let first = world.deployments.entry(FUNCTION, "live").expect("locked");
    let second = world
        .deployments
        .entry("orders-api-billing", "live")
        .expect("locked");
    assert_eq!(
        first.deployment.alarms,
        vec!["orders-api-errors".to_owned()]
    );
    assert!(
        second.deployment.alarms.is_empty(),
        "an alarm event must find the train once"
    );
    assert_eq!(
        second.deployment.deployment_id,
        first.deployment.deployment_id
    );
    assert_eq!(world.deployments.watch_items(), 1);
}

#[tokio::test]
async fn a_train_that_meets_a_held_lock_lets_go_of_the_locks_it_took() {
    let (world, input) = train_world();
    let lone = json!({"functionName": "orders-api-billing", "alias": "live", "targetVersion": "2",
        "strategy": "Canary10Percent5Minutes"});
    world.start_as("billing-first", lone).await.unwrap();
    let err = world.start_as("train", input).await.unwrap_err();
    assert_eq!(err.error_kind().name(), "DeploymentInProgress", "{err}");
    assert!(err.to_string().contains("billing-first"), "{err}");
    assert!(
        world.deployments.entry(FUNCTION, "live").is_none(),
        "the lock of orders-api:live, taken first, was kept"
    );
    assert_eq!(
        world
            .deployments
            .entry("orders-api-billing", "live")
            .unwrap()
            .deployment
            .deployment_id,
        "billing-first"
    );
}

#[tokio::test]
async fn a_train_whose_every_alias_is_on_its_target_is_already_current() {
    let (world, mut input) = train_world();
    input["targets"][0]["targetVersion"] = json!("1");
    let d = world.start(input.clone()).await.unwrap();
    assert_eq!(d.decision, Decision::Shift, "billing still moves");
    assert_eq!(
        d.lead().function_name,
        "orders-api-billing",
        "the first alias that moves leads"
    );
    assert!(
        d.members.len() == 1,
        "an alias on its target is left out of the train"
    );
    input["targets"][1]["targetVersion"] = json!("1");
    let d = world.start_as("again", input).await.unwrap();
    assert_eq!(d.decision, Decision::AlreadyCurrent);
}
