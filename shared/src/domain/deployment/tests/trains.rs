//! Release trains: every member moves in lockstep and is restored unless someone else changed it.

use chrono::TimeZone;
use serde_json::json;

use super::super::*;
use crate::domain::alias::AliasRoute;
use crate::domain::failure::ErrorKind;

fn train() -> (DeploymentRequest, Deployment) {
    let request = DeploymentRequest::from_json(&json!({
        "targets": [
            {"functionName": "orders", "alias": "live", "targetVersion": "4"},
            {"functionName": "payments", "alias": "live", "targetVersion": "9"}
        ],
        "strategy": "Linear10PercentEvery1Minute"
    }))
    .unwrap();
    let now = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let orders = AliasState {
        route: AliasRoute::single("3"),
        revision_id: "r-orders".into(),
    };
    let payments = AliasState {
        route: AliasRoute::single("8"),
        revision_id: "r-payments".into(),
    };
    let d = Deployment::start("d".into(), &request, &orders, "4".into(), now).with_train(vec![
        Member::new(
            &request.train[0].function_name,
            &request.train[0].alias,
            &payments,
            "9".into(),
        ),
    ]);
    (request, d)
}

#[test]
fn every_member_gets_the_steps_weight_on_its_own_versions() {
    let (_, d) = train();
    let members = d.members.as_slice().to_vec();
    assert_eq!(members.len(), 2);
    assert_eq!(
        d.route_of(&members[1]).unwrap(),
        AliasRoute::split("8", "9", Weight::from_percent_f64(10.0).unwrap())
    );
    assert!(d.restore_command().contains("--function-name payments"));
}

#[test]
fn a_member_changed_by_someone_else_is_left_and_the_others_restored() {
    let (_, mut d) = train();
    let members = d.members.as_slice().to_vec();
    let moved = AliasState {
        route: d.route_of(&members[1]).unwrap(),
        revision_id: "r2".into(),
    };
    d.record(1, &moved);
    d.ending.failure = Some(Failure::new(ErrorKind::AlarmTriggered, "x"));
    d.decision = Decision::Rollback;
    let members = d.members.as_slice().to_vec();
    assert_eq!(
        d.restore_action_of(&members[1], &moved),
        RestoreAction::Restore {
            expected_revision: "r2".into()
        }
    );
    let theirs = AliasState {
        route: AliasRoute::single("10"),
        revision_id: "r3".into(),
    };
    assert!(matches!(
        d.restore_action_of(&members[1], &theirs),
        RestoreAction::Drifted(m) if m.contains("payments")
    ));
}

#[test]
fn a_lost_answer_of_our_own_write_is_ours_to_restore() {
    let (_, mut d) = train();
    let members = d.members.as_slice().to_vec();
    let landed = AliasState {
        route: d.route_of(&members[1]).unwrap(),
        revision_id: "unseen".into(),
    };
    d.ending.caught = Some(crate::domain::Caught {
        error: "States.Timeout".into(),
        cause: String::new(),
    });
    assert!(matches!(
        d.restore_action_of(&members[1], &landed),
        RestoreAction::Restore { .. }
    ));
    d.ending.caught = None;
    assert!(matches!(
        d.restore_action_of(&members[1], &landed),
        RestoreAction::Drifted(_)
    ));
}

#[test]
fn a_real_historys_summary_lists_where_each_alias_ended() {
    use crate::report::{Outcome, TrainAlias};
    let (_, d) = train();
    let ended = |outcome| -> Vec<Option<String>> {
        TrainAlias::implied(outcome, &d)
            .into_iter()
            .map(|m| m.ended.map(|a| a.version))
            .collect()
    };
    assert_eq!(
        ended(Outcome::Succeeded),
        [Some("4".into()), Some("9".into())]
    );
    assert_eq!(
        ended(Outcome::RolledBack),
        [Some("3".into()), Some("8".into())]
    );
    assert_eq!(ended(Outcome::Stopped), [None, None], "drift: unknown");
    let mut one = d.clone();
    one.members = Members::new(d.lead().clone(), Vec::new());
    assert!(TrainAlias::implied(Outcome::Succeeded, &one).is_empty());
}
