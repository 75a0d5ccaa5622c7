//! Shift Traffic over the shared fakes, one invocation at a time: after each call, the document
//! (or the error) and the fake alias are checked. Every write is conditional on the RevisionId
//! seen last, and the weight only goes up (invariants 2 and 3 of
//! docs/architecture.md#safety-invariants).

use std::sync::Arc;

use serde_json::json;
use shift_traffic::{ShiftEvent, shift_traffic};
use shifter::ShifterError;
use shifter::domain::{AlarmReport, AliasRoute, Decision, Deployment, DeploymentRequest, Weight};
use shifter::fakes::{FakeLambda, FakeRegistry, Fault, LambdaOp, ManualClock};
use shifter::ports::{ActiveDeployment, Clock, DeploymentRegistry};

const FUNCTION: &str = "orders-api";

/// `orders-api` with versions 1 to 3, alias `live` on 1, on a virtual clock.
struct World {
    clock: ManualClock,
    lambda: FakeLambda,
    registry: FakeRegistry,
}

impl World {
    fn new() -> World {
        let clock = ManualClock::at_epoch();
        let lambda = FakeLambda::with_function(Arc::new(clock.clone()), FUNCTION, 3, "live");
        let registry = FakeRegistry::new(Arc::new(clock.clone()));
        World {
            clock,
            lambda,
            registry,
        }
    }

    /// What Start Deployment returns for version 2 with `strategy`, from the alias as it is.
    fn planned(&self, strategy: &str) -> Deployment {
        let request = DeploymentRequest::from_json(&json!({"functionName": FUNCTION,
            "alias": "live", "targetVersion": "2", "strategy": strategy,
            "checkIntervalSeconds": 60}))
        .expect("a valid input");
        let alias = self.lambda.alias(FUNCTION, "live").expect("the alias");
        Deployment::start(
            "exec".into(),
            &request,
            &alias,
            "2".into(),
            self.clock.now(),
        )
    }

    async fn shift(
        &self,
        deployment: &Deployment,
        attempt: u32,
    ) -> Result<Deployment, ShifterError> {
        // Start Deployment took the lock of every alias (idempotent for the same deployment).
        for member in deployment.members.iter() {
            let active = ActiveDeployment {
                deployment_id: deployment.deployment_id.clone(),
                execution_arn: "arn:aws:states:us-east-1:1:execution:sm:exec".into(),
                function: member.function_name.clone(),
                alias: member.alias.clone(),
                target_version: member.target_version.clone(),
                alarms: Vec::new(),
                expires_at: self.clock.now().timestamp() + 86_400,
            };
            self.registry.acquire(&active).await.expect("locked");
        }
        let event = ShiftEvent {
            deployment: deployment.clone(),
            attempt,
        };
        shift_traffic(&self.lambda, &self.registry, &self.clock, event).await
    }

    fn route(&self) -> AliasRoute {
        self.lambda
            .alias(FUNCTION, "live")
            .expect("the alias")
            .route
    }

    fn revision(&self) -> String {
        self.lambda
            .alias(FUNCTION, "live")
            .expect("the alias")
            .revision_id
    }
}

fn split(percent: u32) -> AliasRoute {
    AliasRoute::split(
        "1",
        "2",
        Weight::from_percent(percent).expect("a percentage"),
    )
}

/// Check Health's part between two shifts: the bake ends, the next step is due.
fn baked(d: Deployment, clock: &ManualClock) -> Deployment {
    clock.advance_secs(i64::from(
        d.progress.plan[d.progress.step_index].bake_seconds,
    ));
    d.checked(clock.now(), Some(&AlarmReport::default()))
        .expect("a bake decision")
}

#[tokio::test]
async fn each_step_moves_the_weight_up_conditionally_then_promotes() {
    let w = World::new();
    let mut d = w.planned("Linear50PercentEvery1Minute");
    assert_eq!(d.decision, Decision::Shift);

    d = w.shift(&d, 0).await.expect("50%");
    assert_eq!(w.route(), split(50));
    assert_eq!(
        (d.decision, d.progress.traffic.bp(), d.progress.wait_seconds),
        (Decision::Bake, 5000, 60)
    );
    assert_eq!(
        d.lead().revision_id,
        w.revision(),
        "the next write is conditional on this one"
    );
    assert_eq!(d.progress.write_in_flight, "");

    d = baked(d, &w.clock);
    assert_eq!(d.decision, Decision::Promote);
    d = w.shift(&d, 0).await.expect("promoted");
    assert_eq!(w.route(), AliasRoute::single("2"));
    assert_eq!(
        (d.decision, d.progress.traffic),
        (Decision::Succeed, Weight::FULL)
    );
    assert_eq!(d.lead().revision_id, w.revision());
    assert_eq!(
        w.lambda.deployment_writes(),
        [split(50), AliasRoute::single("2")]
    );
}

#[tokio::test]
async fn someone_elses_change_stops_the_deployment_and_is_left_as_is() {
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    let hotfix = AliasRoute::single("3");
    w.lambda.put_alias(FUNCTION, "live", hotfix.clone());

    let err = w.shift(&d, 0).await.expect_err("drift");
    assert_eq!(err.kind(), "AliasDrift", "{err}");
    assert!(err.to_string().contains("without overwriting"), "{err}");
    assert_eq!(w.route(), hotfix);
    assert!(w.lambda.deployment_writes().is_empty());
}

#[tokio::test]
async fn a_first_attempt_conflict_is_drift_even_when_the_change_equals_ours() {
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    w.lambda.put_alias(FUNCTION, "live", split(10));

    let err = w.shift(&d, 0).await.expect_err("drift");
    assert_eq!(err.kind(), "AliasDrift", "{err}");
    assert_eq!(w.route(), split(10));
    assert!(
        w.lambda.deployment_writes().is_empty(),
        "their write, not ours"
    );
}

/// A write that lands while its answer is lost is judged from the read right after it: ours,
/// in the same invocation, without a second send (decision 0011).
#[tokio::test]
async fn a_lost_answer_is_known_as_ours_in_the_same_invocation() {
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    w.lambda
        .inject(LambdaOp::UpdateAlias, 1, Fault::CrashAfterWrite);
    let next = w.shift(&d, 0).await.expect("known as ours");
    assert_eq!(next.progress.traffic.bp(), 1000);
    assert_eq!(next.lead().revision_id, w.revision());
    assert_eq!(w.lambda.calls(LambdaOp::UpdateAlias), 1, "sent once");
    // The same lost answer after someone else moved the alias is their change.
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    w.lambda.inject(
        LambdaOp::UpdateAlias,
        1,
        Fault::DriftTo(AliasRoute::single("3")),
    );
    let err = w.shift(&d, 0).await.expect_err("drift");
    assert_eq!(err.kind(), "AliasDrift", "{err}");
    assert_eq!(w.route(), AliasRoute::single("3"));
}

/// The answer is lost and the read after it fails too: the state machine's Retry meets its own
/// landed write as a conflict and adopts it.
#[tokio::test]
async fn a_retry_whose_first_write_landed_adopts_it_without_writing_again() {
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    w.lambda
        .inject(LambdaOp::UpdateAlias, 1, Fault::CrashAfterWrite);
    w.lambda.inject(LambdaOp::GetAlias, 1, Fault::ServerError);

    let err = w.shift(&d, 0).await.expect_err("the answer was lost");
    assert_eq!(err.kind(), "Transient", "{err}");
    assert_eq!(w.route(), split(10), "the write landed");

    // The state machine retries with the same document.
    let next = w.shift(&d, 1).await.expect("adopted");
    assert_eq!(
        (next.decision, next.progress.traffic.bp()),
        (Decision::Bake, 1000)
    );
    assert_eq!(next.lead().revision_id, w.revision());
    assert_eq!(w.lambda.deployment_writes(), [split(10)], "written once");
    assert_eq!(w.lambda.calls(LambdaOp::UpdateAlias), 2);
}

#[tokio::test]
async fn a_retry_that_finds_another_route_is_still_drift() {
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    w.lambda
        .inject(LambdaOp::UpdateAlias, 1, Fault::CrashAfterWrite);
    w.lambda.inject(LambdaOp::GetAlias, 1, Fault::ServerError);
    w.shift(&d, 0).await.expect_err("the answer was lost");
    w.lambda
        .put_alias(FUNCTION, "live", AliasRoute::single("3"));

    let err = w.shift(&d, 1).await.expect_err("drift");
    assert_eq!(err.kind(), "AliasDrift", "{err}");
    assert_eq!(w.route(), AliasRoute::single("3"));
}

#[tokio::test]
async fn a_throttled_write_changes_nothing_and_the_retry_shifts() {
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    w.lambda.inject(LambdaOp::UpdateAlias, 1, Fault::Throttle);

    let err = w.shift(&d, 0).await.expect_err("throttled");
    assert_eq!(err.kind(), "Transient", "{err}");
    assert_eq!(w.route(), AliasRoute::single("1"));

    let next = w.shift(&d, 1).await.expect("shifted");
    assert_eq!(w.route(), split(10));
    assert_eq!(next.lead().revision_id, w.revision());
}

#[tokio::test]
async fn a_document_not_at_a_shift_or_going_down_is_refused_unwritten() {
    let w = World::new();
    let shifted = w
        .shift(&w.planned("Linear10PercentEvery1Minute"), 0)
        .await
        .expect("10%");
    assert_eq!(shifted.decision, Decision::Bake);
    let err = w.shift(&shifted, 0).await.expect_err("not at a shift");
    assert_eq!(
        err.to_string(),
        "decision: Shift Traffic cannot follow decision Bake"
    );

    let mut down = shifted.clone();
    down.decision = Decision::Shift;
    let err = w.shift(&down, 0).await.expect_err("same weight again");
    assert_eq!(err.kind(), "InvalidInput");
    assert!(err.to_string().starts_with("stepIndex: "), "{err}");
    assert_eq!(w.lambda.deployment_writes(), [split(10)]);
}

/// `orders-api:live` and `billing:live` (versions 1 to 3, both on 1) moving to 2 as one train.
fn train(world: &World) -> Deployment {
    world
        .lambda
        .add_function("billing", "arn:aws:iam::1:role/billing");
    for _ in 0..3 {
        world.lambda.publish("billing");
    }
    world
        .lambda
        .put_alias("billing", "live", AliasRoute::single("1"));
    let request = DeploymentRequest::from_json(&json!({"targets": [
            {"functionName": FUNCTION, "alias": "live", "targetVersion": "2"},
            {"functionName": "billing", "alias": "live", "targetVersion": "2"}],
        "strategy": "Linear10PercentEvery1Minute"}))
    .expect("a valid train");
    let own = world.lambda.alias(FUNCTION, "live").unwrap();
    let billing = world.lambda.alias("billing", "live").unwrap();
    Deployment::start("exec".into(), &request, &own, "2".into(), world.clock.now()).with_train(
        vec![shifter::domain::Member::new(
            &request.train[0].function_name,
            &request.train[0].alias,
            &billing,
            "2".into(),
        )],
    )
}

#[tokio::test]
async fn a_train_retried_after_a_half_done_round_finishes_it_without_a_second_write() {
    let world = World::new();
    let d = train(&world);
    let ten = AliasRoute::split("1", "2", Weight::from_percent_f64(10.0).unwrap());
    // The first attempt moves orders-api, then billing's write is throttled.
    let calls = world.lambda.calls(LambdaOp::UpdateAlias);
    world
        .lambda
        .inject(LambdaOp::UpdateAlias, calls + 2, Fault::Throttle);
    let err = world.shift(&d, 0).await.unwrap_err();
    assert_eq!(err.error_kind().name(), "Transient", "{err}");
    assert_eq!(world.route(), ten, "orders-api moved");
    assert_eq!(
        world.lambda.alias("billing", "live").unwrap().route,
        AliasRoute::single("1")
    );
    // The state's retry gets the same document: orders-api's conflict is its own write.
    let next = world.shift(&d, 1).await.unwrap();
    assert_eq!(world.route(), ten);
    assert_eq!(world.lambda.alias("billing", "live").unwrap().route, ten);
    assert_eq!(next.decision, Decision::Bake);
    assert_eq!(next.lead().revision_id, world.revision());
    assert_eq!(
        next.members[1].revision_id,
        world.lambda.alias("billing", "live").unwrap().revision_id,
        "the train's RevisionIds are the ones written"
    );
    let ours = world
        .lambda
        .history()
        .into_iter()
        .filter(|w| w.by == shifter::fakes::Writer::Deployment)
        .count();
    assert_eq!(ours, 2, "one write per alias");
}

#[tokio::test]
async fn a_train_member_changed_by_someone_else_stops_the_train_and_restores_the_others() {
    let world = World::new();
    let d = train(&world);
    world
        .lambda
        .put_alias("billing", "live", AliasRoute::single("3"));
    let err = world.shift(&d, 0).await.unwrap_err();
    assert_eq!(err.error_kind().name(), "AliasDrift", "{err}");
    let message = err.to_string();
    assert!(message.contains("alias live of billing"), "{message}");
    assert!(
        message.contains("restored orders-api:live on 1"),
        "{message}"
    );
    assert_eq!(
        world.route(),
        AliasRoute::single("1"),
        "orders-api restored"
    );
    assert_eq!(
        world.lambda.alias("billing", "live").unwrap().route,
        AliasRoute::single("3"),
        "their change is intact"
    );
}

/// Each write is noted on the deployment's lock before it is sent (what the watch function
/// undoes after a stop); a deployment that no longer holds its lock writes nothing.
#[tokio::test]
async fn each_write_is_noted_first_and_nothing_is_written_without_the_lock() {
    let w = World::new();
    let d = w.planned("Canary10Percent5Minutes");
    w.shift(&d, 0).await.expect("shifted");
    let noted = w
        .registry
        .last_write(FUNCTION, "live", "exec")
        .await
        .unwrap();
    let noted = noted.expect("noted");
    assert_eq!(
        (noted.start_version.as_str(), &noted.route),
        ("1", &split(10))
    );
    w.registry.release(FUNCTION, "live", "exec").await.unwrap();
    let event = ShiftEvent {
        deployment: w.planned("Canary10Percent5Minutes"),
        attempt: 0,
    };
    let before = w.route();
    let err = shift_traffic(&w.lambda, &w.registry, &w.clock, event)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "NotFound", "{err}");
    assert_eq!(w.route(), before, "nothing written");
}
