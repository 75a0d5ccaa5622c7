//! Roll Back over the shared fakes, one invocation at a time: after each call, the document (or
//! the error) and the fake alias are checked. The snapshot is restored exactly, idempotently,
//! and never over someone else's change (invariants 2 and 4 of
//! docs/architecture.md#safety-invariants).

use std::sync::Arc;

use serde_json::json;
use shifter::ShifterError;
use shifter::domain::{
    AliasRoute, Caught, Decision, Deployment, DeploymentRequest, ErrorKind, Failure, Weight,
};
use shifter::fakes::{FakeLambda, Fault, LambdaOp, ManualClock};
use shifter::ports::{AliasRouter, Clock};

const FUNCTION: &str = "orders-api";

/// `orders-api` with versions 1 to 3, alias `live` on 1.
struct World {
    clock: ManualClock,
    lambda: FakeLambda,
}

impl World {
    fn new() -> World {
        let clock = ManualClock::at_epoch();
        let lambda = FakeLambda::with_function(Arc::new(clock.clone()), FUNCTION, 3, "live");
        World { clock, lambda }
    }

    /// Version 1 → 2 in a canary, planned from the alias as it is (nothing moved yet).
    fn planned(&self) -> Deployment {
        let request = DeploymentRequest::from_json(&json!({"functionName": FUNCTION,
            "alias": "live", "targetVersion": "2", "strategy": "Canary10Percent5Minutes"}))
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

    /// The canary's 10% written through the port, then an alarm: Check Health's rollback.
    async fn rolling_back_at_ten_percent(&self) -> Deployment {
        let d = self.planned();
        let route = d.next_route().expect("a first step");
        let written = self
            .lambda
            .update_alias(FUNCTION, "live", &route, &d.lead().revision_id)
            .await
            .expect("10%");
        let mut d = d.shifted(&written, self.clock.now()).expect("shifted");
        d.decision = Decision::Rollback;
        d.ending.failure = Some(Failure::new(
            ErrorKind::AlarmTriggered,
            "alarm orders-api-errors in ALARM at 10% on version 2",
        ));
        d
    }

    async fn roll_back(&self, d: &Deployment) -> Result<Deployment, ShifterError> {
        roll_back::roll_back(&self.lambda, d.clone()).await
    }

    fn route(&self) -> AliasRoute {
        self.lambda
            .alias(FUNCTION, "live")
            .expect("the alias")
            .route
    }
}

fn ten_percent() -> AliasRoute {
    AliasRoute::split("1", "2", Weight::from_percent(10).expect("10%"))
}

#[tokio::test]
async fn restores_the_snapshot_exactly_and_says_so() {
    let w = World::new();
    let d = w.rolling_back_at_ten_percent().await;
    let r = w.roll_back(&d).await.expect("restored");
    assert_eq!(w.route(), AliasRoute::single("1"));
    assert_eq!(
        w.lambda.deployment_writes(),
        [ten_percent(), AliasRoute::single("1")]
    );
    let failure = r.ending.failure.clone().expect("why");
    assert_eq!(failure.error, ErrorKind::AlarmTriggered);
    assert_eq!(
        failure.cause,
        "alarm orders-api-errors in ALARM at 10% on version 2. Alias live restored to version 1 \
         (it was on version 1 with 10% on version 2)."
    );
    assert_eq!(
        (
            r.decision,
            r.ending.rolled_back_to.as_deref(),
            r.progress.traffic
        ),
        (Decision::Rollback, Some("1"), Weight::ZERO)
    );
    let alias = w.lambda.alias(FUNCTION, "live").expect("the alias");
    assert_eq!(r.lead().revision_id, alias.revision_id);
}

#[tokio::test]
async fn a_second_run_and_a_retry_after_a_lost_answer_write_nothing_more() {
    let w = World::new();
    let d = w.rolling_back_at_ten_percent().await;
    w.lambda
        .inject(LambdaOp::UpdateAlias, 2, Fault::CrashAfterWrite);
    // The answer was lost; the read right after shows the restore landed (decision 0011).
    let first = w.roll_back(&d).await.expect("known as restored");
    assert_eq!(first.ending.rolled_back_to.as_deref(), Some("1"));
    assert_eq!(w.route(), AliasRoute::single("1"), "the restore landed");

    // A second run, or a retry with the same document: already restored.
    for attempt in 1..=2 {
        let r = w.roll_back(&d).await.expect("idempotent");
        assert_eq!(
            r.ending.rolled_back_to.as_deref(),
            Some("1"),
            "attempt {attempt}"
        );
        assert!(
            r.ending
                .failure
                .expect("why")
                .cause
                .contains("restored to version 1"),
            "traffic had moved, so it says it was restored"
        );
        assert_eq!(
            w.lambda.deployment_writes(),
            [ten_percent(), AliasRoute::single("1")]
        );
    }
}

/// A restore that meets a conflict after which the alias is on its snapshot (what an SDK
/// re-send of our own landed restore sees, or someone restoring it by hand at the same moment)
/// is restored: the rollback ends as one, with nothing more written.
#[tokio::test]
async fn a_restore_that_meets_the_snapshot_in_a_conflict_is_restored() {
    let w = World::new();
    let d = w.rolling_back_at_ten_percent().await;
    w.lambda.inject(
        LambdaOp::UpdateAlias,
        2,
        Fault::DriftTo(AliasRoute::single("1")),
    );
    let r = w.roll_back(&d).await.expect("restored");
    assert_eq!(r.ending.rolled_back_to.as_deref(), Some("1"));
    let failure = r.ending.failure.clone().expect("why");
    assert_eq!(failure.error, ErrorKind::AlarmTriggered, "not drift");
    assert_eq!(w.route(), AliasRoute::single("1"));
    assert_eq!(
        w.lambda.deployment_writes(),
        [ten_percent()],
        "nothing more written"
    );
}

#[tokio::test]
async fn a_failed_restore_is_transient_says_where_the_alias_was_and_the_retry_restores() {
    let w = World::new();
    let d = w.rolling_back_at_ten_percent().await;
    w.lambda.fail_writes_of(AliasRoute::single("1"), 1);
    let err = w.roll_back(&d).await.expect_err("5xx");
    assert_eq!(err.kind(), "Transient", "{err}");
    assert!(
        err.to_string()
            .contains("before this attempt the alias routed version 1 with 10% on version 2"),
        "{err}"
    );
    assert_eq!(w.route(), ten_percent());

    w.roll_back(&d).await.expect("restored");
    assert_eq!(w.route(), AliasRoute::single("1"));
}

#[tokio::test]
async fn someone_elses_change_is_never_overwritten() {
    let w = World::new();
    let d = w.rolling_back_at_ten_percent().await;
    w.lambda
        .put_alias(FUNCTION, "live", AliasRoute::single("3"));
    let err = w.roll_back(&d).await.expect_err("drift");
    assert_eq!(err.kind(), "AliasDrift", "{err}");
    assert!(
        err.to_string().contains("their change was left as is"),
        "{err}"
    );
    assert_eq!(w.route(), AliasRoute::single("3"));
    assert_eq!(w.lambda.deployment_writes(), [ten_percent()]);
}

#[tokio::test]
async fn nothing_moved_means_nothing_written() {
    let w = World::new();
    let mut d = w.planned();
    d.decision = Decision::Rollback;
    d.ending.failure = Some(Failure::new(
        ErrorKind::HookFailed,
        "pre-traffic hook orders-api-pre returned status \"Failed\"",
    ));
    let r = w.roll_back(&d).await.expect("nothing to restore");
    assert!(w.lambda.deployment_writes().is_empty());
    assert_eq!(
        r.ending.failure.expect("why").cause,
        "pre-traffic hook orders-api-pre returned status \"Failed\". Alias live is on version 1 as \
         before; no traffic had reached version 2."
    );
}

#[tokio::test]
async fn a_shift_whose_lost_write_landed_is_restored_with_the_caught_error() {
    let w = World::new();
    let d = w.planned();
    let route = d.next_route().expect("a first step");
    // Shift Traffic's write landed, its answer was lost, and its retries ran out: the Catch
    // hands Roll Back the document as Shift Traffic got it, with the error caught.
    w.lambda
        .update_alias(FUNCTION, "live", &route, &d.lead().revision_id)
        .await
        .expect("written");
    let mut caught = d;
    caught.ending.caught = Some(Caught {
        error: ErrorKind::Transient.into(),
        cause: json!({"errorType": "Transient", "errorMessage": "UpdateAlias: connection reset"})
            .to_string(),
    });
    let r = w.roll_back(&caught).await.expect("restored");
    assert_eq!(w.route(), AliasRoute::single("1"));
    let failure = r.ending.failure.expect("why");
    assert_eq!(failure.error, ErrorKind::Transient);
    assert!(
        failure.cause.starts_with("UpdateAlias: connection reset."),
        "{}",
        failure.cause
    );
}

/// IAM refuses the restore (the role lacks lambda:UpdateAlias): not retried, and the cause says
/// so in words — where the alias is and the command that restores it — not as a Lambda error
/// envelope inside another message.
#[tokio::test]
async fn an_iam_denial_is_named_in_words_with_the_restore_command() {
    let w = World::new();
    let d = w.rolling_back_at_ten_percent().await;
    w.lambda
        .inject(LambdaOp::UpdateAlias, 2, Fault::AccessDenied);
    let r = w.roll_back(&d).await.expect("described, not thrown");
    let failure = r.ending.failure.expect("why");
    assert_eq!(failure.error.as_str(), "RollbackFailed");
    let cause = &failure.cause;
    assert!(
        cause.starts_with("Rolling back after AlarmTriggered: Could not restore alias live"),
        "{cause}"
    );
    assert!(
        cause.contains("access denied") && cause.contains("lambda:UpdateAlias"),
        "{cause}"
    );
    assert!(
        cause.contains("aws lambda update-alias --function-name orders-api"),
        "{cause}"
    );
    assert!(!cause.contains("errorMessage"), "no envelope: {cause}");
    assert_eq!(w.route(), ten_percent(), "nothing written");
}

/// Issue 22: a gate still open when the deployment rolls back (an alarm, an abort) was waiting
/// for people until then; Roll Back prints how long, once. A document without an open gate
/// prints nothing.
#[tokio::test]
async fn a_rollback_that_ends_an_open_gate_prints_how_long_it_waited() {
    let w = World::new();
    let mut d = w.rolling_back_at_ten_percent().await;
    let (_, lines) = roll_back::roll_back_told(&w.lambda, &w.clock, d.clone())
        .await
        .expect("restored");
    assert!(lines.is_empty(), "no gate was open: {lines:?}");
    d.gate.opened_at = Some(w.clock.now());
    w.clock.advance_secs(90);
    let (_, lines) = roll_back::roll_back_told(&w.lambda, &w.clock, d)
        .await
        .expect("restored");
    assert_eq!(w.route(), AliasRoute::single("1"));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(line["ApprovalWait"], 90.0);
}
