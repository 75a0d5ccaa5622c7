use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::*;
use crate::domain::waves::{EntryGate, GatePolicy, Target, Wave, WavePlan};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap()
}

fn target(region: &str) -> Target {
    Target {
        region: region.to_owned(),
        account: "111111111111".to_owned(),
        input: json!({}),
        function_name: "orders-api".to_owned(),
        alias: "live".to_owned(),
        alarms: vec!["orders-api-errors".to_owned()],
    }
}

fn plan(policy: GatePolicy) -> WavePlan {
    WavePlan {
        waves: vec![
            Wave {
                name: "one".into(),
                targets: vec![target("eu-west-1")],
            },
            Wave {
                name: "two".into(),
                targets: vec![target("eu-central-1"), target("us-east-1")],
            },
        ],
        bake_between_waves_seconds: 600,
        first_wave_bake_seconds: 1800,
        window: None,
        entry_gate: EntryGate {
            policy,
            timeout_seconds: 300,
            poll_seconds: 60,
        },
    }
}

fn run_of(plan: &WavePlan) -> WavesRun {
    WavesRun::new("p1", json!({}), plan, at(0))
}

fn launch(run: &mut WavesRun, now: DateTime<Utc>) {
    let wave = run.launched;
    for i in run.of_wave(wave) {
        run.targets[i].status = TargetStatus::Running;
        run.targets[i].deadline = Some(now + TimeDelta::seconds(300));
    }
    run.launched_wave(now);
}

#[test]
fn a_plan_launches_each_wave_after_its_bake_and_succeeds_after_the_last() {
    let plan = plan(GatePolicy::Wait);
    let mut run = run_of(&plan);
    run.judge(&plan, at(0), &[]);
    assert_eq!(run.decision, WavesDecision::Launch);
    launch(&mut run, at(0));
    assert_eq!(
        (run.decision, run.wait_seconds),
        (WavesDecision::Await, 300 + CHILD_SLACK_SECONDS)
    );
    run.see_child(0, &ChildSeen::Succeeded, at(300));
    run.judge(&plan, at(300), &[]);
    // The first wave bakes longer: 1,800 s, every launched alarm watched.
    assert_eq!(
        (run.decision, run.wait_seconds),
        (WavesDecision::Hold, 1800)
    );
    assert_eq!(run.hold.unwrap().reason, HoldReason::Bake);
    assert!(!run.wants_gate_read(&plan, at(1000)));
    assert!(run.wants_gate_read(&plan, at(2100)));
    run.judge(&plan, at(2100), &[]);
    assert_eq!(run.decision, WavesDecision::Launch);
    launch(&mut run, at(2100));
    run.see_child(1, &ChildSeen::Succeeded, at(2400));
    run.judge(&plan, at(2400), &[]);
    assert_eq!(
        run.decision,
        WavesDecision::Await,
        "one child of wave two still runs"
    );
    run.see_child(2, &ChildSeen::Succeeded, at(2410));
    run.judge(&plan, at(2410), &[]);
    assert_eq!(
        run.decision,
        WavesDecision::Succeed,
        "no bake after the last wave"
    );
}

#[test]
fn a_failed_child_aborts_the_plan_naming_where_and_restores_every_finished_target() {
    let plan = plan(GatePolicy::Wait);
    let mut run = run_of(&plan);
    launch(&mut run, at(0));
    run.see_child(0, &ChildSeen::Succeeded, at(300));
    run.judge(&plan, at(300), &[]);
    run.judge(&plan, at(2100), &[]);
    launch(&mut run, at(2100));
    run.see_child(2, &ChildSeen::Succeeded, at(2300));
    let alarm = ChildSeen::Failed(
        "AlarmTriggered".into(),
        "orders-api-errors went into ALARM".into(),
    );
    run.see_child(1, &alarm, at(2350));
    run.judge(&plan, at(2350), &[]);
    assert_eq!(run.decision, WavesDecision::Abort);
    let abort = run.abort.clone().unwrap();
    assert_eq!(
        (abort.error.as_str(), abort.wave),
        (errors::TARGET_FAILED, 1)
    );
    assert!(
        abort
            .cause
            .contains("eu-central-1 (111111111111) failed with AlarmTriggered"),
        "{}",
        abort.cause
    );
    // Wave one's target and wave two's finished one are restored; the failed one rolled back.
    assert_eq!(run.to_restore(), vec![0, 2]);
}

#[test]
fn an_alarm_or_an_operator_during_a_bake_aborts_and_the_park_timeout_does_not() {
    let plan = plan(GatePolicy::Wait);
    for (error, aborts) in [
        ("States.Timeout", false),
        ("AlarmTriggered", true),
        ("Aborted", true),
        ("States.TaskFailed", true),
    ] {
        let mut run = run_of(&plan);
        launch(&mut run, at(0));
        run.see_child(0, &ChildSeen::Succeeded, at(300));
        run.judge(&plan, at(300), &[]);
        run.caught = Some(json!({"Error": error, "Cause": "orders-api-errors in eu-west-1"}));
        run.take_caught(at(900));
        run.judge(&plan, at(900), &[]);
        assert_eq!(run.decision == WavesDecision::Abort, aborts, "{error}");
        assert!(run.caught.is_none(), "read once");
    }
}

#[test]
fn the_entry_gate_refuses_or_waits_until_its_timeout() {
    let firing = ["orders-api-errors in eu-central-1".to_owned()];
    let refuse = plan(GatePolicy::Refuse);
    let mut run = run_of(&refuse);
    run.judge(&refuse, at(0), &firing);
    assert_eq!(run.abort.unwrap().error, errors::ENTRY_GATE);

    let wait = plan(GatePolicy::Wait);
    let mut run = run_of(&wait);
    run.judge(&wait, at(0), &firing);
    assert_eq!((run.decision, run.wait_seconds), (WavesDecision::Hold, 60));
    assert_eq!(run.hold.unwrap().reason, HoldReason::EntryGate);
    run.judge(&wait, at(60), &[]);
    assert_eq!(
        run.decision,
        WavesDecision::Launch,
        "OK again: the wave starts"
    );
    let mut run = run_of(&wait);
    run.judge(&wait, at(0), &firing);
    run.judge(&wait, at(280), &firing);
    assert_eq!(run.wait_seconds, 20, "the last poll ends at the timeout");
    run.judge(&wait, at(300), &firing);
    let abort = run.abort.unwrap();
    assert_eq!(abort.error, errors::ENTRY_GATE);
    assert!(abort.cause.contains("held it 300s"), "{}", abort.cause);
}

#[test]
fn the_decisions_wire_names_are_distinct() {
    let names: std::collections::BTreeSet<_> =
        WavesDecision::ALL.iter().map(|d| d.as_str()).collect();
    assert_eq!(names.len(), WavesDecision::ALL.len());
    for d in WavesDecision::ALL {
        assert_eq!(serde_json::to_value(d).unwrap(), json!(d.as_str()));
    }
}

#[test]
fn a_plan_whose_gate_reads_would_overflow_the_history_is_refused_naming_the_poll() {
    let mut plan = plan(GatePolicy::Wait);
    assert!(check_plan_budget(&plan).is_ok());
    let waves: Vec<Wave> = (0..10)
        .map(|i| Wave {
            name: format!("w{i}"),
            targets: vec![target("eu-west-1")],
        })
        .collect();
    plan.waves = waves;
    plan.entry_gate = EntryGate {
        policy: GatePolicy::Wait,
        timeout_seconds: 3600,
        poll_seconds: 10,
    };
    let refused = check_plan_budget(&plan).unwrap_err();
    assert_eq!(refused.field, "entryGate.pollSeconds");
    assert!(
        refused.message.contains("every 10s for 3600s"),
        "{}",
        refused.message
    );
    plan.entry_gate.poll_seconds = 60;
    assert!(
        check_plan_budget(&plan).is_ok(),
        "{}",
        worst_history_events(&plan)
    );
}
