//! Scenario tests: the shipped `deployment.asl.json` through the local runner, with the real
//! handlers over the in-memory fakes. Every safety invariant of
//! docs/architecture.md#safety-invariants is asserted over the recorded alias history.

use serde_json::{Value, json};
use shifter::domain::cost::estimate;
use shifter::domain::{AliasRoute, DeploymentRequest, Weight};
use shifter::fakes::{AliasWrite, Fault, LambdaOp, Writer};
use shifter_statemachine::local::{self, HookBehaviour, LocalAccount, Outcome, Run};

async fn deploy(account: &LocalAccount, input: Value) -> Run {
    local::run(account, input, "test-deployment", &mut |_| {})
        .await
        .expect("the runner accepts the shipped definition")
}

fn demo(strategy: &str) -> (LocalAccount, Value) {
    (LocalAccount::demo(), LocalAccount::demo_input(strategy))
}

/// Writes made by the deployment after the account was set up.
fn deployment_writes(account: &LocalAccount) -> Vec<AliasWrite> {
    account
        .lambda
        .history()
        .into_iter()
        .filter(|w| w.by == Writer::Deployment)
        .collect()
}

fn alias(account: &LocalAccount) -> AliasRoute {
    account
        .lambda
        .alias("demo", "live")
        .expect("alias exists")
        .route
}

/// Invariants 2–5 of docs/architecture.md#safety-invariants over one run's alias history.
fn assert_invariants(account: &LocalAccount, run: &Run, original: &str, target: &str) {
    let history = account.lambda.history();
    let setup = history
        .iter()
        .position(|w| w.by == Writer::Deployment)
        .unwrap_or(history.len());
    let mut last_weight = Weight::ZERO;
    let mut rolled_back = false;
    let mut drifted = false;
    for w in &history[setup..] {
        if w.by == Writer::Other {
            // Invariant 2: after someone else's change, we never write again.
            drifted = true;
            continue;
        }
        assert!(
            !drifted,
            "wrote after someone else changed the alias: {w:?}"
        );
        let snapshot = AliasRoute::single(original);
        if w.route == snapshot {
            // Invariant 4: the rollback restores the snapshot exactly, and is the last write.
            assert!(!rolled_back, "restored twice: {history:?}");
            rolled_back = true;
            continue;
        }
        assert!(!rolled_back, "wrote after the rollback: {w:?}");
        // Invariant 3: only ever original ↔ target, with strictly increasing weight.
        let on_target = w.route.weight_on(target);
        let on_original = w.route.weight_on(original);
        assert_eq!(
            u32::from(on_target.bp()) + u32::from(on_original.bp()),
            10_000,
            "route involves a third version: {w:?}"
        );
        assert!(
            on_target > last_weight,
            "weight did not increase: {last_weight} then {w:?}"
        );
        // Invariant 5: the fraction that reaches the API is exact.
        if let Some(extra) = &w.route.additional {
            let text = serde_json::to_string(&extra.weight.as_fraction()).unwrap();
            assert!(text.len() <= 6, "float drift in {text}");
        }
        last_weight = on_target;
    }
    let end = alias(account);
    match run.summary.outcome {
        Outcome::Succeeded => assert_eq!(end, AliasRoute::single(target)),
        Outcome::RolledBack => assert_eq!(end, AliasRoute::single(original)),
        Outcome::Rejected | Outcome::AlreadyCurrent => {
            assert_eq!(
                setup,
                history.len(),
                "a rejected deployment wrote to the alias"
            )
        }
        Outcome::Stopped => {}
    }
}

#[tokio::test]
async fn default_canary_succeeds_with_hooks_and_alarm_checks() {
    let (account, input) = demo("Canary10Percent5Minutes");
    let run = deploy(&account, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, Outcome::Succeeded, "{s:?}");
    assert_eq!(s.error, None);
    assert_eq!(alias(&account), AliasRoute::single("2"));
    let weights: Vec<f64> = s.timeline.iter().map(|p| p.weight).collect();
    assert_eq!(weights, vec![0.0, 10.0, 100.0]);
    assert_eq!(s.timeline[1].seconds, 0.0);
    assert_eq!(s.timeline[2].seconds, 300.0);
    assert_eq!(
        s.alarm_checks.len(),
        1 + 2 + 10,
        "the pre-flight read, one after each hook (the first before any traffic moved), then \
         one every 30 s of a 5-minute bake"
    );
    assert_eq!(s.simulated_seconds, 300.0);
    assert_invariants(&account, &run, "1", "2");
}

#[tokio::test]
async fn alarm_during_a_step_restores_the_alias_exactly() {
    let (account, input) = demo("Linear10PercentEvery1Minute");
    account.alarm_at("demo-errors", 150);
    let run = deploy(&account, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, Outcome::RolledBack);
    assert_eq!(s.error.as_deref(), Some("AlarmTriggered"));
    let cause = s.cause.as_deref().unwrap_or_default();
    assert!(
        cause.contains("demo-errors") && cause.contains("restored to version 1"),
        "{cause}"
    );
    assert_eq!(alias(&account), AliasRoute::single("1"));
    // Step 3 (30%) was live when the alarm fired; it is caught at the next 30 s check.
    let weights: Vec<f64> = s.timeline.iter().map(|p| p.weight).collect();
    assert_eq!(weights, vec![0.0, 10.0, 20.0, 30.0, 0.0]);
    assert_eq!(s.timeline.last().unwrap().seconds, 150.0);
    assert_invariants(&account, &run, "1", "2");
}

#[tokio::test]
async fn failing_pre_traffic_hook_never_shifts_traffic() {
    let (account, input) = demo("Canary10Percent5Minutes");
    account.set_hook("demo-pre-traffic", HookBehaviour::Status("Failed".into()));
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::RolledBack);
    assert_eq!(run.summary.error.as_deref(), Some("HookFailed"));
    assert!(
        deployment_writes(&account).is_empty(),
        "traffic moved before the pre-traffic hook passed"
    );
    assert_eq!(alias(&account), AliasRoute::single("1"));
    let cause = run.summary.cause.unwrap_or_default();
    assert!(
        cause.contains("pre-traffic hook demo-pre-traffic returned status \"Failed\""),
        "{cause}"
    );
}

#[tokio::test]
async fn erroring_or_timing_out_hooks_fail_the_deployment() {
    for behaviour in [HookBehaviour::Error("boom".into()), HookBehaviour::Timeout] {
        let (account, input) = demo("Canary10Percent5Minutes");
        account.set_hook("demo-pre-traffic", behaviour.clone());
        let run = deploy(&account, input).await;
        assert_eq!(
            run.summary.error.as_deref(),
            Some("HookFailed"),
            "{behaviour:?}"
        );
        assert!(deployment_writes(&account).is_empty());
    }
}

/// A hook's error reaches the execution's cause as its type and a short excerpt, cut on a
/// character boundary (multibyte text at the old byte-200 cut panicked Check Health), and the
/// alias is restored.
#[tokio::test]
async fn a_hook_error_enters_the_cause_bounded() {
    for phase in ["demo-pre-traffic", "demo-post-traffic"] {
        let (account, input) = demo("Canary10Percent5Minutes");
        account.set_hook(phase, HookBehaviour::Error("é".repeat(100_000)));
        let run = deploy(&account, input).await;
        assert_eq!(run.summary.outcome, Outcome::RolledBack, "{phase}");
        assert_eq!(run.summary.error.as_deref(), Some("HookFailed"));
        let cause = run.summary.cause.clone().unwrap_or_default();
        assert!(
            cause.contains(&format!("hook {phase} failed: Error: éé")),
            "{cause}"
        );
        assert!(
            cause.chars().count() < 600,
            "{} characters",
            cause.chars().count()
        );
        assert_eq!(alias(&account), AliasRoute::single("1"));
        assert_invariants(&account, &run, "1", "2");
    }
}

#[tokio::test]
async fn failing_post_traffic_hook_rolls_back_from_full_traffic() {
    let (account, input) = demo("Canary10Percent5Minutes");
    account.set_hook("demo-post-traffic", HookBehaviour::Status("Failed".into()));
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::RolledBack);
    assert_eq!(run.summary.error.as_deref(), Some("HookFailed"));
    let weights: Vec<f64> = run.summary.timeline.iter().map(|p| p.weight).collect();
    assert_eq!(weights, vec![0.0, 10.0, 100.0, 0.0]);
    assert_eq!(alias(&account), AliasRoute::single("1"));
    assert_invariants(&account, &run, "1", "2");
}

#[tokio::test]
async fn drift_stops_without_overwriting_the_other_change() {
    let (account, input) = demo("Linear10PercentEvery1Minute");
    let hotfix = account.lambda.publish("demo").unwrap();
    account.lambda.inject(
        LambdaOp::UpdateAlias,
        3,
        Fault::DriftTo(AliasRoute::single(&hotfix)),
    );
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Stopped);
    assert_eq!(run.summary.error.as_deref(), Some("AliasDrift"));
    assert_eq!(
        alias(&account),
        AliasRoute::single("3"),
        "their change was overwritten"
    );
    assert_eq!(
        deployment_writes(&account).len(),
        2,
        "only the two shifts before the drift"
    );
    assert_invariants(&account, &run, "1", "2");
}

#[tokio::test]
async fn drift_during_bake_is_caught_by_rollback_and_left_alone() {
    // Someone moves the alias while step 1 bakes and an alarm then fires: Roll Back must see
    // the change and stop, not restore over it.
    let (account, input) = demo("Canary10Percent5Minutes");
    account.alarm_at("demo-errors", 60);
    let lambda = account.lambda.clone();
    let mut moved = false;
    let mut observer = move |e: &shifter_statemachine::asl::HistoryEvent| {
        if !moved && e.at_seconds >= 30.0 {
            moved = true;
            lambda.put_alias("demo", "live", AliasRoute::single("2"));
        }
    };
    let run = local::run(&account, input, "drift-in-bake", &mut observer)
        .await
        .unwrap();
    assert_eq!(run.summary.outcome, Outcome::Stopped);
    assert_eq!(run.summary.error.as_deref(), Some("AliasDrift"));
    assert_eq!(alias(&account), AliasRoute::single("2"));
}

#[tokio::test]
async fn invalid_input_is_rejected_naming_the_field_and_touches_nothing() {
    let (account, mut input) = demo("Canary10Percent5Minutes");
    input["strategy"] =
        json!({"steps": [{"weight": 20, "bakeSeconds": 60}, {"weight": 10, "bakeSeconds": 60}]});
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Rejected);
    assert_eq!(run.summary.error.as_deref(), Some("InvalidInput"));
    assert!(
        run.summary
            .cause
            .unwrap()
            .contains("strategy.steps[1].weight")
    );
    assert!(deployment_writes(&account).is_empty());
    assert_eq!(account.lambda.calls(LambdaOp::UpdateAlias), 0);
    assert_eq!(alias(&account), AliasRoute::single("1"));
}

#[tokio::test]
async fn missing_alarm_is_rejected_before_any_shift() {
    let (account, mut input) = demo("Canary10Percent5Minutes");
    input["alarms"] = json!(["demo-errors", "no-such-alarm"]);
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Rejected);
    assert_eq!(run.summary.error.as_deref(), Some("NotFound"));
    assert!(run.summary.cause.unwrap().contains("no-such-alarm"));
    assert_eq!(account.lambda.calls(LambdaOp::UpdateAlias), 0);
}

#[tokio::test]
async fn every_preflight_failure_touches_nothing() {
    type Setup = fn(&LocalAccount, &mut Value);
    let cases: Vec<(&str, &str, Setup)> = vec![
        ("alias already routing", "DeploymentInProgress", |a, _| {
            let mut route = AliasRoute::split("1", "2", Weight::from_bp(500).unwrap());
            route.additional.as_mut().unwrap().version = "2".into();
            a.lambda.put_alias("demo", "live", route);
        }),
        ("unknown function", "NotFound", |_, i| {
            i["functionName"] = json!("nope")
        }),
        ("unknown alias", "NotFound", |_, i| {
            i["alias"] = json!("staging")
        }),
        ("unknown target version", "NotFound", |_, i| {
            i["targetVersion"] = json!("9")
        }),
        ("unknown hook", "NotFound", |_, i| {
            i["hooks"]["postTraffic"] = json!("nope")
        }),
        ("alarm already firing", "AlarmTriggered", |a, _| {
            a.alarm_at("demo-errors", 0)
        }),
        ("unmanaged function", "InvalidInput", |a, _| {
            let _ = a;
        }),
        ("different dead-letter config", "InvalidInput", |a, _| {
            a.lambda
                .add_function("demo", "arn:aws:iam::000000000000:role/other");
            a.lambda.publish("demo");
            a.lambda.publish("demo");
            a.lambda.put_alias("demo", "live", AliasRoute::single("1"));
            a.lambda
                .set_dead_letter_target("demo", Some("arn:aws:sqs:local-1:000000000000:dlq"));
            a.lambda.publish("demo");
            // version 3 differs in DLQ config from version 1
        }),
        ("$LATEST alias", "InvalidInput", |a, _| {
            a.lambda
                .put_alias("demo", "live", AliasRoute::single("$LATEST"));
        }),
        ("publish, but an alarm is missing", "NotFound", |_, i| {
            i["targetVersion"] = json!("publish");
            i["alarms"] = json!(["demo-errors", "gone"]);
        }),
    ];
    for (name, error, setup) in cases {
        let (mut account, mut input) = demo("Canary10Percent5Minutes");
        setup(&account, &mut input);
        if name == "unmanaged function" {
            account.config.managed =
                shifter::domain::ManagedSet::parse("orders-*,demo-pre-traffic,demo-post-traffic");
        }
        if name == "different dead-letter config" {
            input["targetVersion"] = json!("3");
        }
        let before = account.lambda.history().len();
        let run = deploy(&account, input).await;
        assert_eq!(
            run.summary.outcome,
            Outcome::Rejected,
            "{name}: {:?}",
            run.summary
        );
        assert_eq!(
            run.summary.error.as_deref(),
            Some(error),
            "{name}: {:?}",
            run.summary.cause
        );
        assert_eq!(
            account.lambda.history().len(),
            before,
            "{name}: the alias was written"
        );
        assert_eq!(account.lambda.calls(LambdaOp::UpdateAlias), 0, "{name}");
        assert_eq!(
            account.lambda.calls(LambdaOp::PublishVersion),
            0,
            "{name}: published before every check passed"
        );
    }
}

#[tokio::test]
async fn publish_deploys_new_code_and_a_rerun_is_a_no_op() {
    let (account, mut input) = demo("Canary10Percent5Minutes");
    input["targetVersion"] = json!("publish");
    account.lambda.update_code("demo");
    let run = deploy(&account, input.clone()).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    assert_eq!(
        alias(&account),
        AliasRoute::single("3"),
        "the new code was published as version 3"
    );
    assert_invariants(&account, &run, "1", "3");

    // Nothing changed since: Lambda hands back version 3, the alias is on it, nothing moves.
    let writes = deployment_writes(&account).len();
    let again = deploy(&account, input).await;
    assert_eq!(again.summary.outcome, Outcome::AlreadyCurrent);
    assert_eq!(deployment_writes(&account).len(), writes);
    assert_eq!(account.lambda.calls(LambdaOp::PublishVersion), 2);
    assert_eq!(
        account.lambda.latest_published("demo").as_deref(),
        Some("3")
    );
}

#[tokio::test]
async fn target_equal_to_current_version_is_already_current() {
    let (account, mut input) = demo("Canary10Percent5Minutes");
    input["targetVersion"] = json!("1");
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::AlreadyCurrent);
    assert_eq!(account.lambda.calls(LambdaOp::UpdateAlias), 0);
    let (account, mut input) = demo("Canary10Percent5Minutes");
    account
        .lambda
        .put_alias("demo", "live", AliasRoute::single("2"));
    input["targetVersion"] = json!("latest");
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::AlreadyCurrent);
    assert_eq!(account.lambda.calls(LambdaOp::UpdateAlias), 0);
}

#[tokio::test]
async fn throttled_and_lost_writes_are_retried_idempotently() {
    let (account, input) = demo("Canary10Percent5Minutes");
    account
        .lambda
        .inject(LambdaOp::UpdateAlias, 1, Fault::CrashAfterWrite);
    account
        .lambda
        .inject(LambdaOp::UpdateAlias, 2, Fault::Throttle);
    account.alarms.throttle_next(1);
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    // The throttled DescribeAlarms and the throttled UpdateAlias; the lost answer needs none.
    assert_eq!(
        run.execution.retries, 2,
        "retries: {}",
        run.execution.retries
    );
    assert_eq!(
        deployment_writes(&account).len(),
        2,
        "the lost write was not repeated"
    );
    // The throttled DescribeAlarms made Start Deployment run twice (two GetAlias); the lost write
    // and the throttled one cost one GetAlias each (the read that judges them), and no second
    // write.
    assert_eq!(account.lambda.calls(LambdaOp::GetAlias), 4);
    assert_invariants(&account, &run, "1", "2");
}

/// IAM refuses Roll Back's restore: the execution ends RollbackFailed at once (a denial is not
/// retried) with the denial in words and the command that restores the alias — no Lambda error
/// envelope inside the cause (issue 21, item 3).
#[tokio::test]
async fn an_iam_denied_rollback_ends_rollback_failed_in_words() {
    let (account, input) = demo("Canary10Percent5Minutes");
    account.alarm_at("demo-errors", 60);
    account
        .lambda
        .inject(LambdaOp::UpdateAlias, 2, Fault::AccessDenied);
    let run = deploy(&account, input).await;
    assert_eq!(run.execution.error.as_deref(), Some("RollbackFailed"));
    let cause = run.execution.cause.unwrap_or_default();
    assert!(cause.contains("lacks lambda:UpdateAlias"), "{cause}");
    assert!(
        cause.contains("Restore it by hand: aws lambda update-alias"),
        "{cause}"
    );
    assert!(!cause.contains("errorMessage"), "{cause}");
    assert_eq!(run.execution.retries, 0, "a denial is not retried");
}

#[tokio::test]
async fn rollback_is_retried_and_its_failure_is_never_silent() {
    // The alarm fires during step 1; every restore attempt then fails with a 5xx.
    let (account, input) = demo("Canary10Percent5Minutes");
    account.alarm_at("demo-errors", 60);
    for n in 2..=40 {
        account
            .lambda
            .inject(LambdaOp::UpdateAlias, n, Fault::ServerError);
    }
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Stopped);
    assert_eq!(run.summary.error.as_deref(), Some("RollbackFailed"));
    let cause = run.summary.cause.unwrap();
    assert!(cause.contains("version 1 with 10% on version 2"), "{cause}");
    assert!(
        cause.contains(
            "aws lambda update-alias --function-name demo --name live --function-version 1"
        ),
        "{cause}"
    );
    assert!(
        account.lambda.calls(LambdaOp::UpdateAlias) >= 10,
        "Roll Back was retried"
    );

    // Once the API recovers, the rollback lands (a retry after a few failures).
    let (account, input) = demo("Canary10Percent5Minutes");
    account.alarm_at("demo-errors", 60);
    for n in 2..=4 {
        account
            .lambda
            .inject(LambdaOp::UpdateAlias, n, Fault::ServerError);
    }
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::RolledBack);
    assert_eq!(alias(&account), AliasRoute::single("1"));
}

#[tokio::test]
async fn state_transitions_match_the_plan_estimate_for_every_predefined_strategy() {
    for name in shifter::domain::strategy::PREDEFINED {
        for (interval, hooks, post_bake) in [(30, true, 0), (15, false, 0), (60, true, 120)] {
            let (account, mut input) = demo(name);
            input["checkIntervalSeconds"] = json!(interval);
            input["postPromotionBakeSeconds"] = json!(post_bake);
            if !hooks {
                input.as_object_mut().unwrap().remove("hooks");
            }
            let request = DeploymentRequest::from_json(&input).unwrap();
            let expected = estimate(request.plan.steps(), interval, hooks, hooks, post_bake);
            let run = deploy(&account, input).await;
            assert_eq!(run.summary.outcome, Outcome::Succeeded, "{name}");
            assert_eq!(
                run.summary.state_transitions, expected.transitions,
                "{name} every {interval}s, hooks {hooks}"
            );
            // Start Deployment's pre-flight read, the first park's when no hook's read came
            // before it, the reads after the hooks, then the backstop reads.
            assert_eq!(
                run.summary.alarm_checks.len() as u64,
                1 + expected.first_park_reads + expected.hook_reads + expected.alarm_checks,
                "{name}"
            );
            // One control-plane write per step, no more.
            assert_eq!(
                deployment_writes(&account).len(),
                request.plan.steps().len(),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn explicit_fractional_weights_reach_the_api_exactly() {
    let (account, mut input) = demo("AllAtOnce");
    input["strategy"] = json!({"steps": [{"weight": 0.1, "bakeSeconds": 30}, {"weight": 30, "bakeSeconds": 30}, {"weight": 33.33, "bakeSeconds": 30}]});
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
    let fractions: Vec<String> = deployment_writes(&account)
        .iter()
        .filter_map(|w| w.route.additional.as_ref())
        .map(|a| serde_json::to_string(&a.weight.as_fraction()).unwrap())
        .collect();
    assert_eq!(fractions, vec!["0.001", "0.3", "0.3333"]);
    assert_invariants(&account, &run, "1", "2");
}

#[tokio::test]
async fn alarm_after_promotion_still_rolls_back() {
    let (account, mut input) = demo("Canary10Percent5Minutes");
    input["postPromotionBakeSeconds"] = json!(300);
    account.alarm_at("demo-errors", 400);
    let run = deploy(&account, input).await;
    assert_eq!(run.summary.outcome, Outcome::RolledBack);
    assert_eq!(run.summary.error.as_deref(), Some("AlarmTriggered"));
    assert_eq!(alias(&account), AliasRoute::single("1"));
    assert_invariants(&account, &run, "1", "2");
}
