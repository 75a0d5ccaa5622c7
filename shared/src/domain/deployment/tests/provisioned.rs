//! Provisioned concurrency as the document runs it, wait by wait.

use serde_json::{Value, json};

use super::super::*;
use crate::domain::alarm::AlarmReport;
use crate::domain::failure::ErrorKind;
use crate::domain::provisioned::*;
use crate::domain::{AliasRoute, AliasState, DeploymentRequest};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap()
}

fn config(status: AllocationStatus, allocated: u32, reason: Option<&str>) -> ConcurrencyConfig {
    ConcurrencyConfig {
        requested: 50,
        available: allocated,
        allocated,
        status,
        status_reason: reason.map(str::to_owned),
    }
}

fn deployment(strategy: &str, extra: Value) -> Deployment {
    let mut input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
        "strategy":strategy,"alarms":["errors"],"checkIntervalSeconds":30});
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let request = DeploymentRequest::from_json(&input).unwrap();
    let alias = AliasState {
        route: AliasRoute::single("1"),
        revision_id: "r1".into(),
    };
    let ready = config(AllocationStatus::Ready, 50, None);
    Deployment::start("exec".into(), &request, &alias, "2".into(), at(0))
        .with_provisioned_concurrency(&[Some(ready.clone())], request.provisioned_concurrency)
}

fn shifted(d: Deployment, secs: i64) -> Deployment {
    let route = d.route_to_write().unwrap();
    let written = AliasState {
        route,
        revision_id: format!("r{secs}"),
    };
    d.shifted(&written, at(secs)).unwrap()
}

#[test]
fn a_shift_waits_for_ready_and_the_bake_clock_starts_then() {
    let d = shifted(deployment("Canary10Percent5Minutes", json!({})), 0);
    assert_eq!(d.decision, Decision::AwaitProvisionedConcurrency);
    // READY is read every pollSeconds (default 10), not every backstop interval (30 here).
    assert_eq!(d.progress.wait_seconds, DEFAULT_POLL_SECONDS);
    let quiet = AlarmReport::default();
    let busy = config(AllocationStatus::InProgress, 20, None);
    let d = d
        .allocation_checked(at(10), Some(&quiet), Some(&busy))
        .unwrap();
    assert_eq!(
        (d.decision, d.progress.wait_seconds),
        (Decision::AwaitProvisionedConcurrency, 10)
    );
    let ready = config(AllocationStatus::Ready, 50, None);
    let d = d
        .allocation_checked(at(20), Some(&quiet), Some(&ready))
        .unwrap();
    assert_eq!((d.decision, d.progress.wait_seconds), (Decision::Bake, 30));
    assert_eq!(
        d.progress.step_started_at,
        at(20),
        "the bake counts from READY"
    );
    let pc = d.provisioned_concurrency.clone().unwrap();
    assert_eq!((pc.waiting_since, pc.waited_seconds), (None, 20));
    assert_eq!(d.progress.alarm_checks, 2);
    // 300 s after READY, not after the shift.
    let d = d.checked(at(290), Some(&quiet)).unwrap();
    assert_eq!((d.decision, d.progress.wait_seconds), (Decision::Bake, 30));
    let d = d.checked(at(320), Some(&quiet)).unwrap();
    assert_eq!(d.decision, Decision::Promote);
    // The promotion waits too, then the run succeeds.
    let d = shifted(d, 320);
    assert_eq!(d.decision, Decision::AwaitProvisionedConcurrency);
    assert_eq!(d.progress.wait_seconds, 10);
    let d = d
        .allocation_checked(at(330), Some(&quiet), Some(&ready))
        .unwrap();
    assert_eq!(d.decision, Decision::Succeed);
}

#[test]
fn the_poll_never_outlasts_a_backstop_read_and_old_documents_read_at_each_one() {
    // A poll longer than the backstop interval reads at each backstop read.
    let d = deployment(
        "Canary10Percent5Minutes",
        json!({"provisionedConcurrency": {"pollSeconds": 60}}),
    );
    assert_eq!(
        d.provisioned_concurrency.as_ref().unwrap().poll_seconds,
        Some(60)
    );
    assert_eq!(shifted(d, 0).progress.wait_seconds, 30);
    let d = deployment(
        "Canary10Percent5Minutes",
        json!({"provisionedConcurrency": {"pollSeconds": 5}}),
    );
    assert_eq!(shifted(d, 0).progress.wait_seconds, 5);
    // A document written before pollSeconds existed (a running execution while the stack
    // updates) keeps the wait it was budgeted for, and round-trips without the field.
    let mut old = deployment("Canary10Percent5Minutes", json!({}));
    old.provisioned_concurrency.as_mut().unwrap().poll_seconds = None;
    let json = serde_json::to_value(&old).unwrap();
    assert!(
        json["provisionedConcurrency"].get("pollSeconds").is_none(),
        "{json}"
    );
    let old: Deployment = serde_json::from_value(json).unwrap();
    let d = shifted(old, 0);
    assert_eq!(d.progress.wait_seconds, 30);
    let busy = config(AllocationStatus::InProgress, 20, None);
    let d = d
        .allocation_checked(at(30), Some(&AlarmReport::default()), Some(&busy))
        .unwrap();
    assert_eq!(d.progress.wait_seconds, 30);
}

#[test]
fn failed_allocation_and_timeout_roll_back_naming_the_reason() {
    let d = shifted(deployment("Linear10PercentEvery1Minute", json!({})), 0);
    let quiet = AlarmReport::default();
    let failed = config(
        AllocationStatus::Failed,
        5,
        Some("FUNCTION_ERROR_INIT_FAILURE: init crashed"),
    );
    let r = d
        .clone()
        .allocation_checked(at(30), Some(&quiet), Some(&failed))
        .unwrap();
    assert_eq!(r.decision, Decision::Rollback);
    let f = r.ending.failure.unwrap();
    assert_eq!(f.error, ErrorKind::ProvisionedConcurrencyFailed);
    assert!(
        f.cause
            .contains("FUNCTION_ERROR_INIT_FAILURE: init crashed"),
        "{}",
        f.cause
    );
    assert!(f.cause.contains("10% on version 2"), "{}", f.cause);

    let mut short = deployment(
        "Linear10PercentEvery1Minute",
        json!({"provisionedConcurrency": {"readyTimeoutSeconds": 60}}),
    );
    short = shifted(short, 0);
    let busy = config(AllocationStatus::InProgress, 20, None);
    let d = short
        .allocation_checked(at(30), Some(&quiet), Some(&busy))
        .unwrap();
    assert_eq!(
        (d.decision, d.progress.wait_seconds),
        (Decision::AwaitProvisionedConcurrency, 10)
    );
    let d = d
        .allocation_checked(at(59), Some(&quiet), Some(&busy))
        .unwrap();
    assert_eq!(
        d.progress.wait_seconds, 1,
        "the last wait is cut to the timeout"
    );
    let r = d
        .allocation_checked(at(60), Some(&quiet), Some(&busy))
        .unwrap();
    let f = r.ending.failure.unwrap();
    assert_eq!(f.error, ErrorKind::ProvisionedConcurrencyFailed);
    assert!(f.cause.contains("not READY 60s after"), "{}", f.cause);
}

#[test]
fn an_alarm_during_the_wait_rolls_back_and_no_config_means_no_wait() {
    let d = shifted(deployment("Canary10Percent5Minutes", json!({})), 0);
    let firing = AlarmReport {
        in_alarm: vec!["errors".into()],
        missing: vec![],
    };
    let busy = config(AllocationStatus::InProgress, 20, None);
    let r = d
        .clone()
        .allocation_checked(at(30), Some(&firing), Some(&busy))
        .unwrap();
    assert_eq!(r.ending.failure.unwrap().error, ErrorKind::AlarmTriggered);
    assert!(d.needs_alarm_check());
    let gone = d.allocation_checked(at(30), None, None).unwrap();
    assert_eq!(
        (gone.decision, gone.progress.step_started_at),
        (Decision::Bake, at(30))
    );

    let mut plain = deployment("Canary10Percent5Minutes", json!({}));
    plain = plain.with_provisioned_concurrency(&[None], ReadyWait::default());
    assert!(plain.provisioned_concurrency.is_none());
    let d = shifted(plain, 0);
    assert_eq!(d.decision, Decision::Bake);
    assert!(
        serde_json::to_value(&d)
            .unwrap()
            .get("provisionedConcurrency")
            .is_none()
    );
    assert!(d.allocation_checked(at(30), None, None).is_err());
}

#[test]
fn status_names_are_lambda_s() {
    for status in [
        AllocationStatus::InProgress,
        AllocationStatus::Ready,
        AllocationStatus::Failed,
    ] {
        assert_eq!(serde_json::to_value(status).unwrap(), json!(status.name()));
    }
}

#[test]
fn preflight_refuses_only_a_failed_config() {
    let failed = config(
        AllocationStatus::Failed,
        0,
        Some("account concurrency limit"),
    );
    let why = preflight_refusal("orders", "live", &failed).unwrap();
    assert!(
        why.contains("FAILED") && why.contains("account concurrency limit"),
        "{why}"
    );
    for status in [AllocationStatus::Ready, AllocationStatus::InProgress] {
        assert_eq!(
            preflight_refusal("orders", "live", &config(status, 1, None)),
            None
        );
    }
}

#[test]
fn the_ready_timeout_is_validated_by_field() {
    for bad in [json!(0), json!(59), json!(3601), json!("900"), json!(-1)] {
        let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
            "strategy":"AllAtOnce","provisionedConcurrency":{"readyTimeoutSeconds": bad}});
        let e = DeploymentRequest::from_json(&input).unwrap_err();
        assert_eq!(
            e.field, "provisionedConcurrency.readyTimeoutSeconds",
            "{bad}: {e}"
        );
    }
    let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
        "strategy":"AllAtOnce","provisionedConcurrency":{"readyTimeout": 60}});
    let e = DeploymentRequest::from_json(&input).unwrap_err();
    assert!(e.field.starts_with("provisionedConcurrency"), "{e}");
    let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
        "strategy":"AllAtOnce"});
    let r = DeploymentRequest::from_json(&input).unwrap();
    assert_eq!(r.provisioned_concurrency.ready_timeout_seconds, 900);
}

#[test]
fn the_poll_is_validated_by_field() {
    for bad in [
        json!(0),
        json!(4),
        json!(3601),
        json!("10"),
        json!(1.5),
        json!(-1),
    ] {
        let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
            "strategy":"AllAtOnce","provisionedConcurrency":{"pollSeconds": bad}});
        let e = DeploymentRequest::from_json(&input).unwrap_err();
        assert_eq!(e.field, "provisionedConcurrency.pollSeconds", "{bad}: {e}");
    }
    let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
        "strategy":"AllAtOnce","provisionedConcurrency":{"pollSeconds": 5}});
    let r = DeploymentRequest::from_json(&input).unwrap();
    assert_eq!(r.provisioned_concurrency.poll_seconds, Some(5));
    let input = json!({"functionName":"orders","alias":"live","targetVersion":"2",
        "strategy":"AllAtOnce"});
    let r = DeploymentRequest::from_json(&input).unwrap();
    assert_eq!(r.provisioned_concurrency.poll(), DEFAULT_POLL_SECONDS);
}
