//! Check Health over the shared fakes, one invocation per bake interval on a virtual clock:
//! after each call, the decision, the wait and the alarm reads are checked. An alarm in ALARM
//! is a decision (`rollback`), not an error.

use std::sync::Arc;

use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::provisioned::AllocationStatus;
use shifter::domain::{
    AliasRoute, AliasState, Decision, Deployment, DeploymentRequest, ErrorKind, Weight,
};
use shifter::fakes::{FakeAlarms, FakeLambda, LambdaOp, ManualClock};
use shifter::ports::{AlarmState, AliasRouter, Clock};

const ALARM: &str = "orders-api-errors";

/// One alarm (`orders-api-errors`, quiet) on a virtual clock.
struct World {
    clock: ManualClock,
    alarms: FakeAlarms,
    /// `orders-api` with versions 1 and 2, alias `live` on 1 (no provisioned concurrency).
    lambda: FakeLambda,
}

impl World {
    fn new() -> World {
        let clock = ManualClock::at_epoch();
        let alarms = FakeAlarms::new(Arc::new(clock.clone()));
        alarms.add(ALARM, AlarmState::Ok);
        let lambda = FakeLambda::with_function(Arc::new(clock.clone()), "orders-api", 2, "live");
        World {
            clock,
            alarms,
            lambda,
        }
    }

    /// Version 1 → 2 with `strategy` and `extra` input fields, as Start Deployment plans it.
    fn planned(&self, strategy: &str, extra: Value) -> Deployment {
        let mut input = json!({"functionName": "orders-api", "alias": "live",
            "targetVersion": "2", "strategy": strategy, "alarms": [ALARM],
            "checkIntervalSeconds": 60});
        for (key, value) in extra.as_object().into_iter().flatten() {
            input[key] = value.clone();
        }
        let request = DeploymentRequest::from_json(&input).expect("a valid input");
        let alias = AliasState {
            route: AliasRoute::single("1"),
            revision_id: "r1".into(),
        };
        Deployment::start(
            "exec".into(),
            &request,
            &alias,
            "2".into(),
            self.clock.now(),
        )
    }

    /// The document after Shift Traffic wrote its first step.
    fn baking(&self, strategy: &str, extra: Value) -> Deployment {
        let d = self.planned(strategy, extra);
        let written = AliasState {
            route: d.next_route().expect("a first step"),
            revision_id: "r2".into(),
        };
        d.shifted(&written, self.clock.now()).expect("shifted")
    }

    /// One tick, with the metric lines Check Health's main prints.
    async fn told_after(
        &self,
        secs: i64,
        d: &Deployment,
    ) -> Result<(Deployment, Vec<String>), ShifterError> {
        self.clock.advance_secs(secs);
        check_health::check_health_told(
            &self.alarms,
            &shifter::fakes::FakeMetrics::new(),
            &self.lambda,
            &self.clock,
            d.clone(),
        )
        .await
    }

    /// One tick: `secs` pass, then Check Health runs.
    async fn check_after(&self, secs: i64, d: &Deployment) -> Result<Deployment, ShifterError> {
        Ok(self.told_after(secs, d).await?.0)
    }
}

#[tokio::test]
async fn a_step_bakes_one_interval_at_a_time_reading_the_alarms_each_time() {
    let w = World::new();
    let mut d = w.baking("Canary10Percent5Minutes", json!({}));
    assert_eq!((d.decision, d.progress.wait_seconds), (Decision::Bake, 60));
    for tick in 1..=4 {
        d = w.check_after(60, &d).await.expect("quiet");
        assert_eq!(
            (d.decision, d.progress.wait_seconds),
            (Decision::Bake, 60),
            "tick {tick}"
        );
        assert_eq!(w.alarms.reads().len(), tick, "one DescribeAlarms per check");
        assert_eq!(d.progress.alarm_checks as usize, tick);
    }
    d = w.check_after(60, &d).await.expect("baked");
    assert_eq!((d.decision, d.progress.step_index), (Decision::Promote, 1));
    assert_eq!(w.alarms.reads().len(), 5);
}

#[tokio::test]
async fn the_last_wait_is_cut_to_the_end_of_the_bake() {
    let w = World::new();
    let d = w.baking("Canary10Percent5Minutes", json!({}));
    let d = w.check_after(270, &d).await.expect("quiet");
    assert_eq!((d.decision, d.progress.wait_seconds), (Decision::Bake, 30));
}

#[tokio::test]
async fn an_alarm_that_fires_rolls_back_at_the_next_check() {
    let w = World::new();
    let d = w.baking("Canary10Percent5Minutes", json!({}));
    let d = w.check_after(60, &d).await.expect("still quiet");
    assert_eq!(d.decision, Decision::Bake);
    w.alarms.set_from(ALARM, w.clock.now(), AlarmState::Alarm);

    let d = w
        .check_after(60, &d)
        .await
        .expect("a decision, not an error");
    assert_eq!(d.decision, Decision::Rollback);
    let failure = d.ending.failure.expect("why");
    assert_eq!(failure.error, ErrorKind::AlarmTriggered);
    assert_eq!(
        failure.cause,
        "alarm orders-api-errors in ALARM at 10% on version 2"
    );
    assert_eq!(d.progress.alarm_checks, 2);
}

#[tokio::test]
async fn a_deleted_alarm_rolls_back_as_not_found() {
    let w = World::new();
    let d = w.baking("Canary10Percent5Minutes", json!({}));
    w.alarms.delete(ALARM);
    let d = w.check_after(60, &d).await.expect("a decision");
    assert_eq!(d.decision, Decision::Rollback);
    assert_eq!(d.ending.failure.expect("why").error, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_throttled_read_is_transient_and_decides_nothing() {
    let w = World::new();
    let d = w.baking("Canary10Percent5Minutes", json!({}));
    w.alarms.throttle_next(1);
    let err = w.check_after(60, &d).await.expect_err("throttled");
    assert_eq!(err.kind(), "Transient", "{err}");
    // The state machine retries with the same document.
    let next = w.check_after(1, &d).await.expect("read");
    assert_eq!(
        (next.decision, next.progress.alarm_checks),
        (Decision::Bake, 1)
    );
}

#[tokio::test]
async fn hooks_pass_only_on_succeeded_and_the_alarms_are_read_before_traffic_moves() {
    let hooks = json!({"hooks": {"preTraffic": "orders-api-pre"}});
    for (payload, next) in [
        (json!({"status": "Succeeded"}), Decision::Shift),
        (json!({"status": "Failed"}), Decision::Rollback),
        (json!("Succeeded"), Decision::Rollback),
        (Value::Null, Decision::Rollback),
    ] {
        let w = World::new();
        let mut d = w.planned("Canary10Percent5Minutes", hooks.clone());
        assert_eq!(d.decision, Decision::PreTrafficHook);
        d.hook_result = Some(shifter::domain::HookOutcome::read(Some(
            &json!({ "payload": payload }),
        )));
        let d = w.check_after(5, &d).await.expect("a decision");
        assert_eq!(d.decision, next, "{payload}");
        assert!(d.hook_result.is_none(), "the result is consumed");
        assert_eq!(w.alarms.reads().len(), 1, "one read before any shift");
        if next == Decision::Rollback {
            let failure = d.ending.failure.expect("why");
            assert_eq!(failure.error, ErrorKind::HookFailed);
            assert!(
                failure.cause.starts_with("pre-traffic hook orders-api-pre"),
                "{}",
                failure.cause
            );
        }
    }
}

/// An alarm that went into ALARM while the pre-traffic hook ran (its event delivered or lost)
/// refuses the first shift: nothing moves, and the cause says so.
#[tokio::test]
async fn an_alarm_during_the_pre_traffic_hook_refuses_the_first_shift() {
    let hooks = json!({"hooks": {"preTraffic": "orders-api-pre"}});
    let w = World::new();
    let mut d = w.planned("Canary10Percent5Minutes", hooks);
    w.alarms.set_from(ALARM, w.clock.now(), AlarmState::Alarm);
    d.hook_result = Some(shifter::domain::HookOutcome::read(Some(
        &json!({"payload": {"status": "Succeeded"}}),
    )));
    let d = w.check_after(5, &d).await.expect("a decision");
    assert_eq!(d.decision, Decision::Rollback);
    let failure = d.ending.failure.expect("why");
    assert_eq!(failure.error, ErrorKind::AlarmTriggered);
    assert!(
        failure
            .cause
            .ends_with("in ALARM before any traffic moved to version 2"),
        "{}",
        failure.cause
    );
    assert!(w.lambda.deployment_writes().is_empty(), "nothing moved");
}

#[tokio::test]
async fn a_gate_waits_watching_alarms_then_follows_the_answer_or_the_default() {
    let gated = json!({"approvalBeforePromote": true, "approvalTimeoutSeconds": 600});
    let w = World::new();
    let waiting = w
        .check_after(300, &w.baking("Canary10Percent5Minutes", gated.clone()))
        .await
        .expect("baked");
    assert_eq!(
        (waiting.decision, waiting.progress.step_index),
        (Decision::AwaitApproval, 1)
    );

    let mut approved = waiting.clone();
    approved.control = Some(shifter::domain::OperatorAnswer::read(
        &json!({"action": "approve"}),
    ));
    let d = w.check_after(10, &approved).await.expect("approved");
    assert_eq!(
        (d.decision, d.gate.approved_step),
        (Decision::Promote, Some(1))
    );
    assert_eq!(
        w.alarms.reads().len(),
        2,
        "the gate's answer is checked against the alarms"
    );

    let d = w.check_after(600, &waiting).await.expect("timed out");
    assert_eq!(d.decision, Decision::Rollback);
    assert_eq!(
        d.ending.failure.expect("why").error,
        ErrorKind::ApprovalTimedOut
    );

    w.alarms.add(ALARM, AlarmState::Alarm);
    let d = w.check_after(10, &approved).await.expect("a decision");
    assert_eq!(
        d.ending.failure.expect("why").error,
        ErrorKind::AlarmTriggered
    );
}

/// Issue 22: the seconds a gate waited for people are printed once, when Check Health closes it
/// (an answer or the timeout), never while it stays open.
#[tokio::test]
async fn a_closed_gate_prints_how_long_it_waited_for_people() {
    let gated = json!({"approvalBeforePromote": true, "approvalTimeoutSeconds": 600});
    let w = World::new();
    let (waiting, lines) = w
        .told_after(300, &w.baking("Canary10Percent5Minutes", gated))
        .await
        .expect("baked");
    assert_eq!(waiting.decision, Decision::AwaitApproval);
    assert!(lines.is_empty(), "opening a gate prints nothing");
    let (still, lines) = w.told_after(120, &waiting).await.expect("still waiting");
    assert_eq!(still.decision, Decision::AwaitApproval);
    assert!(lines.is_empty(), "a gate still open prints nothing");
    let mut approved = still.clone();
    approved.control = Some(shifter::domain::OperatorAnswer::read(
        &json!({"action": "approve"}),
    ));
    let (d, lines) = w.told_after(45, &approved).await.expect("approved");
    assert_eq!(d.decision, Decision::Promote);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        line["ApprovalWait"], 165.0,
        "opened at 300 s, answered at 465 s"
    );
    assert_eq!(
        (&line["function"], &line["alias"]),
        (&json!("orders-api"), &json!("live"))
    );
}

#[tokio::test]
async fn promote_during_a_bake_skips_the_remaining_steps() {
    let w = World::new();
    let mut d = w.baking("Linear10PercentEvery1Minute", json!({}));
    d.control = Some(shifter::domain::OperatorAnswer::read(
        &json!({"action": "promote"}),
    ));
    let d = w.check_after(20, &d).await.expect("promote");
    assert_eq!(d.decision, Decision::Promote);
    assert_eq!(d.progress.step_index, d.progress.plan.len() - 1);
    assert!(d.control.is_none(), "the answer is consumed");
}

#[tokio::test]
async fn the_post_promotion_bake_watches_then_succeeds() {
    let w = World::new();
    let d = w.planned("AllAtOnce", json!({"postPromotionBakeSeconds": 90}));
    let written = AliasState {
        route: AliasRoute::single("2"),
        revision_id: "r2".into(),
    };
    let d = d.shifted(&written, w.clock.now()).expect("promoted");
    assert_eq!(
        (d.decision, d.progress.wait_seconds),
        (Decision::PostPromotionBake, 60)
    );
    assert_eq!(d.progress.traffic, Weight::FULL);
    let d = w.check_after(60, &d).await.expect("quiet");
    assert_eq!(
        (d.decision, d.progress.wait_seconds),
        (Decision::PostPromotionBake, 30)
    );
    let d = w.check_after(30, &d).await.expect("done");
    assert_eq!(d.decision, Decision::Succeed);
    assert_eq!(w.alarms.reads().len(), 2);
}

#[tokio::test]
async fn no_alarms_means_no_reads_and_a_document_it_cannot_follow_is_refused() {
    let w = World::new();
    let mut d = w.baking("Canary10Percent5Minutes", json!({}));
    d.watch.alarms.clear();
    let next = w.check_after(60, &d).await.expect("quiet");
    assert_eq!(next.decision, Decision::Bake);
    assert!(
        w.alarms.reads().is_empty(),
        "an empty list would describe every alarm"
    );

    d.decision = Decision::Shift;
    let err = w.check_after(0, &d).await.expect_err("not a check");
    assert_eq!(
        err.to_string(),
        "decision: Check Health cannot follow decision Shift"
    );
}

/// The alias with 40 provisioned executions, reallocated over 90 s after each write.
fn with_provisioned_concurrency() -> World {
    let w = World::new();
    w.lambda
        .set_provisioned_concurrency("orders-api", "live", 40, 90);
    w
}

/// The first step written through the fake, so the allocation starts with it.
async fn provisioned(w: &World, strategy: &str) -> Deployment {
    let config =
        shifter::ports::ConcurrencyReader::provisioned_concurrency(&w.lambda, "orders-api", "live")
            .await
            .expect("read");
    let mut d = w
        .planned(strategy, json!({}))
        .with_provisioned_concurrency(std::slice::from_ref(&config), Default::default());
    d.members[0].revision_id = w
        .lambda
        .alias("orders-api", "live")
        .expect("alias")
        .revision_id;
    let route = d.route_to_write().expect("a first step");
    let written = w
        .lambda
        .update_alias("orders-api", "live", &route, &d.lead().revision_id)
        .await
        .expect("written");
    d.shifted(&written, w.clock.now()).expect("shifted")
}

/// https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html:
/// IN_PROGRESS after the alias's routing changed, READY once allocated.
#[tokio::test]
async fn provisioned_concurrency_is_polled_until_ready_then_the_bake_starts() {
    let w = with_provisioned_concurrency();
    let d = provisioned(&w, "Canary10Percent5Minutes").await;
    // Read every pollSeconds (default 10), not every backstop interval (60 here).
    assert_eq!(
        (d.decision, d.progress.wait_seconds),
        (Decision::AwaitProvisionedConcurrency, 10)
    );
    let d = w.check_after(60, &d).await.expect("in progress");
    assert_eq!(
        (d.decision, d.progress.wait_seconds),
        (Decision::AwaitProvisionedConcurrency, 10)
    );
    let status = d
        .provisioned_concurrency
        .as_ref()
        .and_then(|p| p.last_status.clone());
    assert_eq!(status.map(|s| s.status), Some(AllocationStatus::InProgress));
    let d = w.check_after(60, &d).await.expect("ready");
    assert_eq!((d.decision, d.progress.wait_seconds), (Decision::Bake, 60));
    assert_eq!(
        d.progress.step_started_at,
        w.clock.now(),
        "the bake counts from READY"
    );
    assert_eq!(w.lambda.calls(LambdaOp::GetProvisionedConcurrency), 3);
    assert_eq!(
        w.alarms.reads().len(),
        2,
        "alarms are watched while waiting"
    );
}

#[tokio::test]
async fn a_failed_allocation_rolls_back_and_an_alarm_wins_without_reading_the_config() {
    let w = with_provisioned_concurrency();
    w.lambda.fail_provisioned_concurrency(
        "orders-api",
        "live",
        1,
        "FUNCTION_ERROR_INIT_FAILURE: the new version failed to initialize",
    );
    let d = provisioned(&w, "Canary10Percent5Minutes").await;
    let d = w.check_after(90, &d).await.expect("failed");
    assert_eq!(d.decision, Decision::Rollback);
    let failure = d.ending.failure.expect("why");
    assert_eq!(failure.error, ErrorKind::ProvisionedConcurrencyFailed);
    assert!(
        failure.cause.contains("FUNCTION_ERROR_INIT_FAILURE"),
        "{}",
        failure.cause
    );

    let w = with_provisioned_concurrency();
    let d = provisioned(&w, "Canary10Percent5Minutes").await;
    let reads = w.lambda.calls(LambdaOp::GetProvisionedConcurrency);
    w.alarms.add(ALARM, AlarmState::Alarm);
    let d = w.check_after(30, &d).await.expect("alarm");
    assert_eq!(
        d.ending.failure.expect("why").error,
        ErrorKind::AlarmTriggered
    );
    assert_eq!(w.lambda.calls(LambdaOp::GetProvisionedConcurrency), reads);
}
