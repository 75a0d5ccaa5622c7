//! The watch function over the shared fakes: park requests record the token and fail at once
//! on an alarm already firing; alarm events fail parked tasks, note the alarm for the next park
//! when nothing is parked, and ignore stale tokens and unwatched alarms.

use std::sync::Arc;

use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::{AliasRoute, AliasState, Deployment, DeploymentRequest};
use shifter::fakes::{
    FakeAlarms, FakeLambda, FakeRecords, FakeRegistry, FakeStatusEvents, FakeTasks, ManualClock,
    TaskAnswer,
};
use shifter::ports::{ActiveDeployment, AlarmState, Clock, DeploymentRegistry};
use shifter::states::ParkKind;
use watch::{Outcome, Ports, WatchEvent, handle};

const ALARM: &str = "orders-api-errors";

struct World {
    clock: ManualClock,
    alarms: FakeAlarms,
    registry: FakeRegistry,
    tasks: FakeTasks,
    lambda: FakeLambda,
    events: FakeStatusEvents,
    records: FakeRecords,
}

impl World {
    async fn new() -> World {
        let clock = ManualClock::at_epoch();
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let alarms = FakeAlarms::new(shared.clone());
        alarms.add(ALARM, AlarmState::Ok);
        let w = World {
            lambda: FakeLambda::with_function(shared.clone(), "orders-api", 3, "live"),
            registry: FakeRegistry::new(shared.clone()),
            events: FakeStatusEvents::new(shared),
            tasks: FakeTasks::new(),
            records: FakeRecords::new(30),
            alarms,
            clock,
        };
        let d = w.deployment();
        let active = ActiveDeployment {
            deployment_id: d.deployment_id.clone(),
            execution_arn: "arn:aws:states:us-east-1:1:execution:sm:exec".into(),
            function: d.lead().function_name.clone(),
            alias: d.lead().alias.clone(),
            target_version: d.lead().target_version.clone(),
            alarms: d.watch.alarms.clone(),
            expires_at: w.clock.now().timestamp() + 3600,
        };
        w.registry.acquire(&active).await.expect("acquired");
        w
    }

    fn deployment(&self) -> Deployment {
        let input = json!({"functionName": "orders-api", "alias": "live",
            "targetVersion": "2", "strategy": "Canary10Percent5Minutes", "alarms": [ALARM]});
        let request = DeploymentRequest::from_json(&input).expect("a valid input");
        let alias = AliasState {
            route: AliasRoute::single("1"),
            revision_id: "r1".into(),
        };
        let d = Deployment::start(
            "exec".into(),
            &request,
            &alias,
            "2".into(),
            self.clock.now(),
        );
        let written = AliasState {
            route: d.next_route().expect("a first step"),
            revision_id: "r2".into(),
        };
        d.shifted(&written, self.clock.now()).expect("shifted")
    }

    /// One delivery of `event`, as the handler answers it (an error fails the invocation, and
    /// EventBridge retries it).
    async fn deliver(&self, event: Value) -> Result<Outcome, ShifterError> {
        let ports = Ports {
            registry: &self.registry,
            alarms: &self.alarms,
            tasks: &self.tasks,
            router: &self.lambda,
            events: &self.events,
            records: &self.records,
        };
        let event = WatchEvent::from_json(event).expect("a known event");
        handle(&ports, event).await
    }

    async fn send(&self, event: Value) -> Outcome {
        self.deliver(event).await.expect("handled")
    }

    async fn park(&self, token: &str) -> Outcome {
        self.tasks.open(token);
        let request = json!({"taskToken": token, "park": "bake", "deployment": self.deployment()});
        self.send(request).await
    }
}

/// The event CloudWatch puts on the default bus, as in
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html>.
fn alarm_event(alarm: &str, state: &str) -> Value {
    json!({
        "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "123456789012", "time": "2026-01-01T00:03:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": state, "reason": "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
                "timestamp": "2026-01-01T00:03:00.000+0000"},
            "previousState": {"value": "OK", "reason": "quiet", "timestamp": "2026-01-01T00:00:00.000+0000"},
            "configuration": {"metrics": []}
        }
    })
}

fn failed_with(tasks: &FakeTasks, token: &str) -> Option<(String, String)> {
    match tasks.answer(token)? {
        TaskAnswer::Failure { error, cause } => Some((error, cause)),
        TaskAnswer::Success(_) | TaskAnswer::Closed => None,
    }
}

#[tokio::test]
async fn a_quiet_park_records_the_token_and_waits() {
    let w = World::new().await;
    assert_eq!(w.park("t1").await, Outcome::default());
    assert_eq!(w.tasks.answer("t1"), None);
    let entry = w.registry.entry("orders-api", "live").expect("locked");
    assert_eq!(entry.parked.expect("parked").task_token, "t1");
}

#[tokio::test]
async fn a_park_fails_at_once_when_an_alarm_is_already_in_alarm() {
    let w = World::new().await;
    w.alarms.add(ALARM, AlarmState::Alarm);
    assert_eq!(w.park("t1").await.failed, 1);
    let (error, cause) = failed_with(&w.tasks, "t1").expect("failed");
    assert_eq!(error, "AlarmTriggered");
    assert!(
        cause.contains(ALARM) && cause.contains("version 2"),
        "{cause}"
    );
}

/// Only the deployment's first park reads the alarms (the gap between Start Deployment's read
/// and its lock); once Check Health has read them, a park costs no DescribeAlarms — an alarm
/// event reaches it, or a pending alarm noted between parks.
#[tokio::test]
async fn later_parks_leave_the_alarms_to_events_and_the_backstop() {
    let w = World::new().await;
    w.alarms.add(ALARM, AlarmState::Alarm);
    let mut checked = w.deployment();
    checked.progress.alarm_checks = 1;
    w.tasks.open("t2");
    let request = json!({"taskToken": "t2", "park": "bake", "deployment": checked});
    assert_eq!(w.send(request).await, Outcome::default());
    assert!(w.alarms.reads().is_empty(), "no DescribeAlarms");
    assert_eq!(w.tasks.answer("t2"), None, "the park waits");
    assert_eq!(w.send(alarm_event(ALARM, "ALARM")).await.failed, 1);
    assert_eq!(
        failed_with(&w.tasks, "t2").expect("failed").0,
        "AlarmTriggered"
    );
}

#[tokio::test]
async fn an_alarm_event_fails_the_parked_task_naming_alarm_reason_version_and_traffic() {
    let w = World::new().await;
    w.park("t1").await;
    let outcome = w.send(alarm_event(ALARM, "ALARM")).await;
    assert_eq!(outcome.failed, 1);
    let (error, cause) = failed_with(&w.tasks, "t1").expect("failed");
    assert_eq!(error, "AlarmTriggered");
    // The alarm's own time goes along, so the ending can tell the time to restore (issue 22).
    let since = "in ALARM since 2026-01-01T00:03:00Z";
    for part in [ALARM, "Threshold Crossed", "version 2", "10%", since] {
        assert!(cause.contains(part), "{part} missing from {cause}");
    }
}

#[tokio::test]
async fn an_alarm_while_nothing_is_parked_fails_the_next_park_at_once() {
    let w = World::new().await;
    let outcome = w.send(alarm_event(ALARM, "ALARM")).await;
    assert_eq!(outcome.noted, 1);
    // The alarm flapped back to OK before the next park read it: the note still counts.
    assert_eq!(w.park("t2").await.failed, 1);
    let (error, cause) = failed_with(&w.tasks, "t2").expect("failed");
    assert_eq!(error, "AlarmTriggered");
    assert!(cause.contains("while no task was parked"), "{cause}");
}

#[tokio::test]
async fn a_stale_token_is_not_an_error_and_the_alarm_waits_for_the_next_park() {
    let w = World::new().await;
    w.park("t1").await;
    // The bake ended (timed out) before the event arrived: the token no longer waits.
    use shifter::ports::TaskCallbacks;
    let timed_out = w
        .tasks
        .send_task_failure("t1", "States.Timeout", "bake over");
    timed_out.await.expect("answered");
    let outcome = w.send(alarm_event(ALARM, "ALARM")).await;
    assert_eq!((outcome.stale, outcome.noted, outcome.failed), (1, 1, 0));
    assert_eq!(w.park("t2").await.failed, 1);
}

#[tokio::test]
async fn unwatched_alarms_and_changes_out_of_alarm_are_ignored() {
    let w = World::new().await;
    w.park("t1").await;
    assert_eq!(
        w.send(alarm_event("someone-elses", "ALARM")).await,
        Outcome::default()
    );
    assert!(w.send(alarm_event(ALARM, "OK")).await.ignored);
    assert_eq!(w.tasks.answer("t1"), None);
}

#[tokio::test]
async fn a_registry_failure_at_park_leaves_the_task_to_the_backstop() {
    let w = World::new().await;
    w.registry.fail_next(1);
    assert_eq!(w.park("t1").await, Outcome::default());
    assert_eq!(w.tasks.answer("t1"), None);
}

#[tokio::test]
async fn an_unknown_park_kind_is_refused_by_name() {
    let w = World::new().await;
    let err = WatchEvent::from_json(json!({"taskToken": "t", "park": "nap",
        "deployment": w.deployment()}))
    .unwrap_err();
    assert_eq!(err.kind(), "InvalidInput");
    assert_eq!(
        err.to_string(),
        "park: unknown variant `nap`, expected one of `bake`, `approval`, \
         `postPromotionBake`, `provisionedConcurrency`"
    );
}

/// The event Step Functions puts on the default bus when an execution changes status, as in
/// <https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html>.
fn execution_event(status: &str, input: Option<&str>) -> Value {
    json!({
        "version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "account": "123456789012", "time": "2026-01-01T00:10:00Z", "region": "us-east-1",
        "resources": ["arn:aws:states:us-east-1:1:execution:sm:exec"],
        "detail": {
            "executionArn": "arn:aws:states:us-east-1:1:execution:sm:exec",
            "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:sm",
            "name": "exec", "status": status,
            "startDate": 1_767_225_600_000_i64, "stopDate": 1_767_226_200_000_i64,
            "input": input, "inputDetails": {"included": input.is_some()},
            "output": null, "outputDetails": null
        }
    })
}

/// However an execution ends — also stopped by hand — its lock and watch entries go; a run
/// still going, or an event without the input, releases nothing.
#[tokio::test]
async fn an_ended_execution_releases_its_lock_and_watch_entries() {
    let input = r#"{"functionName":"orders-api","alias":"live","targetVersion":"2"}"#;
    let w = World::new().await;
    let running = w.send(execution_event("RUNNING", Some(input))).await;
    assert_eq!(running.released, 0, "a run still going only puts STARTED");
    assert!(w.send(execution_event("ABORTED", None)).await.ignored);
    assert!(w.registry.entry("orders-api", "live").is_some());
    assert_eq!(
        w.send(execution_event("ABORTED", Some(input)))
            .await
            .released,
        1
    );
    assert!(w.registry.entry("orders-api", "live").is_none());
    assert_eq!(w.registry.watch_items(), 0);
    // A duplicate is harmless, and releases nothing (nothing is held any more).
    assert_eq!(
        w.send(execution_event("ABORTED", Some(input)))
            .await
            .released,
        0
    );
}

/// A deployment that failed rolling back (AlarmTriggered, HookFailed, Aborted, …) leaves its
/// target version remembered for the alias; other failures (refused, drift) and stops by hand
/// remember nothing.
#[tokio::test]
async fn a_rolled_back_target_is_remembered_other_endings_are_not() {
    let input = r#"{"functionName":"orders-api","alias":"live","targetVersion":"latest"}"#;
    for (status, error, remembered) in [
        ("FAILED", Some("AlarmTriggered"), true),
        ("FAILED", Some("HookFailed"), true),
        ("FAILED", Some("AliasDrift"), false),
        ("FAILED", Some("States.Runtime"), false),
        ("ABORTED", None, false),
        ("SUCCEEDED", None, false),
    ] {
        let w = World::new().await;
        let mut event = execution_event(status, Some(input));
        event["detail"]["error"] = json!(error);
        let outcome = w.send(event).await;
        assert_eq!(
            outcome.remembered,
            usize::from(remembered),
            "{status} {error:?}"
        );
        let record = w
            .registry
            .rolled_back("orders-api", "live", "2")
            .await
            .unwrap();
        assert_eq!(record.is_some(), remembered, "{status} {error:?}");
        if let Some(record) = record {
            assert_eq!(record.error, error.unwrap());
            assert!(record.execution_arn.ends_with(":exec"));
        }
    }
}

/// Every park kind is accepted — the wait for provisioned concurrency included — and read as
/// that kind; anything else is refused naming `park` and every known kind. (That each kind is
/// the `park` of a state in the definition, and each state's `park` a kind, is checked in
/// `shifter-statemachine`'s engine tests.)
#[tokio::test]
async fn park_kinds_are_the_definitions_parks() {
    let w = World::new().await;
    for kind in ParkKind::ALL {
        let request =
            json!({"taskToken": "t", "park": kind.wire_name(), "deployment": w.deployment()});
        match WatchEvent::from_json(request) {
            Ok(WatchEvent::Park(park)) => assert_eq!(park.park, kind),
            other => panic!("{kind}: {other:?}"),
        }
    }
    for unknown in [
        json!("warmup"),
        json!("Bake"),
        json!(""),
        json!(1),
        Value::Null,
    ] {
        let request = json!({"taskToken": "t", "park": unknown, "deployment": w.deployment()});
        match WatchEvent::from_json(request) {
            Err(e) => {
                assert_eq!(e.kind(), "InvalidInput", "{unknown}");
                assert!(e.to_string().starts_with("park: "), "{unknown}: {e}");
            }
            Ok(_) => panic!("park kind {unknown} was accepted"),
        }
    }
    let missing = json!({"taskToken": "t", "deployment": w.deployment()});
    assert!(
        WatchEvent::from_json(missing).is_err(),
        "a park without a kind"
    );
}

/// A release train's execution ends: every alias its input's `targets` name is released, and
/// after a rollback each alias remembers its own target version.
#[tokio::test]
async fn an_ended_train_releases_and_remembers_every_alias() {
    let w = World::new().await;
    let billing = ActiveDeployment {
        deployment_id: "exec".into(),
        execution_arn: "arn:aws:states:us-east-1:1:execution:sm:exec".into(),
        function: "billing".into(),
        alias: "live".into(),
        target_version: "7".into(),
        alarms: Vec::new(),
        expires_at: w.clock.now().timestamp() + 3600,
    };
    w.registry.acquire(&billing).await.unwrap();
    let input = json!({"targets": [
        {"functionName": "orders-api", "alias": "live", "targetVersion": "latest"},
        {"functionName": "billing", "alias": "live", "targetVersion": "latest"}
    ]})
    .to_string();
    let mut event = execution_event("FAILED", Some(&input));
    event["detail"]["error"] = json!("AlarmTriggered");
    let outcome = w.send(event).await;
    assert_eq!((outcome.released, outcome.remembered), (2, 2));
    assert!(w.registry.entry("orders-api", "live").is_none());
    assert!(w.registry.entry("billing", "live").is_none());
    for (function, version) in [("orders-api", "2"), ("billing", "7")] {
        let record = w
            .registry
            .rolled_back(function, "live", version)
            .await
            .unwrap();
        assert!(record.is_some(), "{function} {version} not remembered");
    }
}

/// A rolled-back version is remembered before the lock goes: when that write fails, the lock
/// is still there for EventBridge's retry, which remembers it then.
#[tokio::test]
async fn a_failed_memory_write_is_retried_with_the_lock_still_held() {
    let input = r#"{"functionName":"orders-api","alias":"live","targetVersion":"latest"}"#;
    let w = World::new().await;
    w.registry.fail_marks(1);
    let mut event = execution_event("FAILED", Some(input));
    event["detail"]["error"] = json!("AlarmTriggered");
    let first = w.deliver(event.clone()).await;
    assert!(first.is_err(), "the failed write fails the delivery");
    assert!(
        w.registry.entry("orders-api", "live").is_some(),
        "the lock is kept"
    );
    let retried = w.send(event).await;
    assert_eq!((retried.released, retried.remembered), (1, 1));
    assert!(
        w.registry
            .rolled_back("orders-api", "live", "2")
            .await
            .unwrap()
            .is_some()
    );
    assert!(w.registry.entry("orders-api", "live").is_none());
}

// ---------------------------------------------------------------- endings without Roll Back

const INPUT: &str = r#"{"functionName":"orders-api","alias":"live","targetVersion":"2",
    "strategy":"Canary10Percent5Minutes"}"#;

impl World {
    /// Shift Traffic's first step as it writes it: noted on the lock, then sent.
    async fn shift_to_ten_percent(&self) -> AliasState {
        let d = self.started();
        let route = d.next_route().expect("a first step");
        shifter::aliases::write_step(&self.lambda, &self.registry, "exec", d.lead(), &route, 0)
            .await
            .expect("written")
    }

    /// The document as Start Deployment leaves it, from the fake alias as it is.
    fn started(&self) -> Deployment {
        let input: Value = serde_json::from_str(INPUT).unwrap();
        let request = DeploymentRequest::from_json(&input).expect("a valid input");
        let alias = self.lambda.alias("orders-api", "live").expect("the alias");
        Deployment::start(
            "exec".into(),
            &request,
            &alias,
            "2".into(),
            self.clock.now(),
        )
    }

    fn route(&self) -> AliasRoute {
        self.lambda
            .alias("orders-api", "live")
            .expect("the alias")
            .route
    }
}

/// Stopped by hand mid-bake (the console's Stop button), timed out, or failed outside a Catch:
/// the alias still on our write goes back to its start version, the version is remembered, and
/// the lock goes — in that order. A SUCCEEDED execution is never undone.
#[tokio::test]
async fn an_execution_that_ended_without_roll_back_is_undone() {
    for status in ["ABORTED", "TIMED_OUT", "FAILED"] {
        let w = World::new().await;
        w.shift_to_ten_percent().await;
        let outcome = w.send(execution_event(status, Some(INPUT))).await;
        assert_eq!(w.route(), AliasRoute::single("1"), "{status}");
        assert_eq!(
            (
                outcome.restored,
                outcome.left,
                outcome.remembered,
                outcome.released
            ),
            (1, 0, 1, 1),
            "{status}: {outcome:?}"
        );
        assert!(
            outcome.undone[0].contains("restored to version 1"),
            "{:?}",
            outcome.undone
        );
        let remembered = w
            .registry
            .rolled_back("orders-api", "live", "2")
            .await
            .unwrap();
        assert_eq!(remembered.map(|r| r.error), Some(status.to_owned()));
    }
    let w = World::new().await;
    let written = w.shift_to_ten_percent().await;
    let promoted = shifter::aliases::write_step(
        &w.lambda,
        &w.registry,
        "exec",
        &{
            let mut lead = w.started().lead().clone();
            lead.saw(&written);
            lead
        },
        &AliasRoute::single("2"),
        0,
    )
    .await
    .expect("promoted");
    let outcome = w.send(execution_event("SUCCEEDED", Some(INPUT))).await;
    assert_eq!(w.route(), promoted.route);
    assert_eq!((outcome.restored, outcome.released), (0, 1));
}

/// A write noted but still in flight when the execution was stopped: the watch function restores
/// the alias from our previous write, and the late write then meets a stale RevisionId — the
/// alias stays on its start version.
#[tokio::test]
async fn a_write_in_flight_as_the_execution_stops_is_undone_either_way() {
    let w = World::new().await;
    let ten = w.shift_to_ten_percent().await;
    let mut lead = w.started().lead().clone();
    lead.saw(&ten);
    let fifty = AliasRoute::split("1", "2", shifter::domain::Weight::from_percent(50).unwrap());
    let noted = shifter::domain::LastWrite {
        start_version: "1".into(),
        over_revision: ten.revision_id.clone(),
        route: fifty.clone(),
    };
    w.registry
        .note_write("orders-api", "live", "exec", &noted)
        .await
        .unwrap();
    let outcome = w.send(execution_event("ABORTED", Some(INPUT))).await;
    assert_eq!((outcome.restored, w.route()), (1, AliasRoute::single("1")));
    let late = shifter::aliases::write_step(&w.lambda, &w.registry, "exec", &lead, &fifty, 0).await;
    assert!(
        late.is_err(),
        "the lock is gone and the RevisionId stale: {late:?}"
    );
    assert_eq!(w.route(), AliasRoute::single("1"));
}

/// Someone else changed the alias after our last write: their change is left, and said so.
#[tokio::test]
async fn someone_elses_change_is_left_after_a_stop() {
    let w = World::new().await;
    w.shift_to_ten_percent().await;
    w.lambda
        .put_alias("orders-api", "live", AliasRoute::single("3"));
    let outcome = w.send(execution_event("ABORTED", Some(INPUT))).await;
    assert_eq!(w.route(), AliasRoute::single("3"));
    assert_eq!(
        (outcome.restored, outcome.left, outcome.remembered),
        (0, 1, 0)
    );
    assert!(
        outcome.undone[0].contains("someone else"),
        "{:?}",
        outcome.undone
    );
}

fn statuses(events: &FakeStatusEvents) -> Vec<String> {
    let put = events.events();
    put.iter().map(|e| e.detail.event_id.clone()).collect()
}

/// A Bake park right after a shift puts STEP_SHIFTED; the next piece of the same bake (the
/// registry still holds the task parked at that weight) puts nothing.
#[tokio::test]
async fn a_park_at_a_new_weight_puts_step_shifted_once() {
    let w = World::new().await;
    w.park("t1").await;
    w.park("t2").await;
    assert_eq!(statuses(&w.events), ["exec:STEP_SHIFTED:0"]);
    let put = &w.events.events()[0];
    assert_eq!(put.detail_type, "Traffic Shifter Deployment Status Change");
    assert_eq!(
        put.detail.execution_arn,
        "arn:aws:states:us-east-1:1:execution:sm:exec"
    );
    assert_eq!(put.detail.weight, Some(10.0));
}

/// An ending puts its terminal status before the release, so a repeated delivery (the lock gone)
/// puts nothing more; its EMF lines count it.
#[tokio::test]
async fn an_ending_puts_its_terminal_status_once_however_often_delivered() {
    let input = r#"{"functionName":"orders-api","alias":"live","targetVersion":"2"}"#;
    let w = World::new().await;
    let started = w.send(execution_event("RUNNING", Some(input))).await;
    assert!(started.metrics[0].contains("DeploymentsStarted"));
    let mut event = execution_event("FAILED", Some(input));
    event["detail"]["error"] = json!("AlarmTriggered");
    event["detail"]["cause"] =
        json!("alarm x went into ALARM. Alias live restored to version 1 (it was on 1@90%+2@10%).");
    let first = w.send(event.clone()).await;
    let again = w.send(event).await;
    assert_eq!(statuses(&w.events), ["exec:STARTED", "exec:ROLLED_BACK"]);
    let rolled = &w.events.events()[1].detail;
    assert_eq!(rolled.cause.as_ref().unwrap().kind, "alarm");
    assert_eq!(rolled.to_version.as_deref(), Some("2"));
    assert!(
        first.metrics[0].contains("DeploymentsRolledBack"),
        "{:?}",
        first.metrics
    );
    assert!(
        first.metrics[0].contains("\"DeploymentDuration\":600.0"),
        "{:?}",
        first.metrics
    );
    assert!(again.metrics.is_empty(), "a repeat counts nothing");
}

/// A failed put never fails a park; at an ending it fails the delivery before the release, and
/// EventBridge's retry puts it with the lock still held.
#[tokio::test]
async fn a_failed_put_never_fails_a_park_and_an_ending_is_put_on_the_retry() {
    let input = r#"{"functionName":"orders-api","alias":"live","targetVersion":"2"}"#;
    let w = World::new().await;
    w.events.fail_next(1);
    assert_eq!(w.park("t1").await, Outcome::default());
    assert!(w.events.events().is_empty());
    w.events.fail_next(1);
    let event = execution_event("ABORTED", Some(input));
    let first = w.deliver(event.clone()).await;
    assert!(first.is_err(), "the failed put fails the delivery");
    assert!(
        w.registry.entry("orders-api", "live").is_some(),
        "the lock is kept"
    );
    assert_eq!(w.send(event).await.released, 1);
    assert_eq!(statuses(&w.events), ["exec:STOPPED"]);
}

/// The record: every moment the watch function handles updates one item per deployment, and a
/// repeated delivery of any of them changes nothing (no weight appended twice).
#[tokio::test]
async fn a_deployment_leaves_one_record_however_often_each_moment_is_delivered() {
    use shifter::domain::lifecycle::Status;
    use shifter::domain::record::StarterKind;
    let input = r#"{"functionName":"orders-api","alias":"live","targetVersion":"2","strategy":"Canary10Percent5Minutes","startedBy":"shifter deploy by ana"}"#;
    let w = World::new().await;
    for _ in 0..2 {
        w.send(execution_event("RUNNING", Some(input))).await;
    }
    w.park("t1").await;
    w.park("t2").await;
    let mut failed = execution_event("FAILED", Some(input));
    failed["detail"]["error"] = json!("AlarmTriggered");
    failed["detail"]["cause"] =
        json!("alarm orders-api-errors went into ALARM at 10% on version 2");
    w.send(failed.clone()).await;
    w.send(failed).await;
    let records = w.records.records();
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(
        (r.function.as_str(), r.alias.as_str()),
        ("orders-api", "live")
    );
    assert_eq!(r.deployment_id, "exec");
    assert_eq!(r.started_by.as_ref().unwrap().kind, StarterKind::Cli);
    assert_eq!(
        (r.from_version.as_deref(), r.to_version.as_deref()),
        (Some("1"), Some("2"))
    );
    assert_eq!(r.strategy.as_deref(), Some("Canary10Percent5Minutes"));
    assert_eq!(r.outcome, Some(Status::RolledBack));
    assert_eq!(r.cause.as_ref().unwrap().kind, "alarm");
    let marks: Vec<_> = r.timeline.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        marks,
        ["exec:STARTED", "exec:STEP_SHIFTED:0", "exec:ROLLED_BACK"]
    );
    assert_eq!(r.weights().len(), 1, "one weight, once");
    assert_eq!(r.duration().map(|d| d.num_seconds()), Some(600));
    // From the status change's own dates: 2026-01-01T00:00:00Z to 00:10:00Z, kept 30 days.
    assert_eq!(r.expires_at, 1_767_226_200 + 30 * 86_400);
}

/// An ending's record is written before its events are put and its lock released: a failed
/// write fails the delivery, and EventBridge's retry records and puts it once. A park's failed
/// write never fails the park.
#[tokio::test]
async fn a_failed_record_write_fails_the_ending_before_anything_is_put() {
    let input = r#"{"functionName":"orders-api","alias":"live","targetVersion":"2"}"#;
    let w = World::new().await;
    w.records.fail_next(1);
    assert_eq!(w.park("t1").await, Outcome::default());
    assert!(w.records.records().is_empty());
    w.records.fail_next(1);
    let event = execution_event("ABORTED", Some(input));
    let first = w.deliver(event.clone()).await;
    assert!(first.is_err(), "the failed write fails the delivery");
    assert!(statuses(&w.events).iter().all(|s| !s.ends_with("STOPPED")));
    assert!(
        w.registry.entry("orders-api", "live").is_some(),
        "the lock is kept"
    );
    assert_eq!(w.send(event).await.released, 1);
    assert_eq!(statuses(&w.events), ["exec:STEP_SHIFTED:0", "exec:STOPPED"]);
    let record = &w.records.records()[0];
    assert_eq!(
        record.outcome,
        Some(shifter::domain::lifecycle::Status::Stopped)
    );
}
