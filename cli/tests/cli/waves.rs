//! `shifter simulate` with a wave plan's account file (docs/waves.md#rehearsal).

use std::path::PathBuf;

use serde_json::Value;

fn sample() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/accounts/waves.json")
        .display()
        .to_string()
}

fn regions(summary: &Value) -> Vec<&Value> {
    summary["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["regions"].as_array().unwrap())
        .collect()
}

#[test]
fn simulate_json_gives_every_wave_and_region_as_documented() {
    let out = super::shifter(&["simulate", "--account", &sample(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = super::json_of(&out);
    assert_eq!(summary["outcome"], "Succeeded");
    let waves = summary["waves"].as_array().unwrap();
    assert!(waves.len() >= 3);
    let all = regions(&summary);
    assert!(all.len() >= 4);
    for r in &all {
        for key in [
            "region",
            "account",
            "started",
            "startVersion",
            "outcome",
            "alias",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert_eq!(r["alias"]["version"], "42");
        assert_eq!(
            r["alias"]["additionalVersionWeights"],
            serde_json::json!({})
        );
        assert_eq!(r["startVersion"], "41");
    }
    let accounts: std::collections::BTreeSet<&str> =
        all.iter().map(|r| r["account"].as_str().unwrap()).collect();
    assert_eq!(accounts.len(), 2, "two accounts");
}

#[test]
fn a_region_alarm_in_wave_two_rolls_the_plan_back_and_exits_non_zero() {
    let out = super::shifter(&[
        "simulate",
        "--account",
        &sample(),
        "--json",
        "--region-alarm-at",
        "eu-central-1=37m",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = super::json_of(&out);
    assert_eq!(summary["outcome"], "RolledBack");
    let waves = summary["waves"].as_array().unwrap();
    for r in waves[0]["regions"]
        .as_array()
        .unwrap()
        .iter()
        .chain(waves[1]["regions"].as_array().unwrap())
    {
        assert_eq!(r["alias"]["version"], "41", "{r}");
    }
    for r in waves[2]["regions"].as_array().unwrap() {
        assert_eq!(r["started"], Value::Null, "wave three never started: {r}");
    }
}

#[test]
fn a_plan_refuses_single_deployment_flags_and_unknown_regions_by_name() {
    for (args, says) in [
        (
            vec!["--alarm-at", "3m"],
            "--alarm-at does not apply to a wave plan",
        ),
        (
            vec!["--stop-at", "3m"],
            "--stop-at does not apply to a wave plan",
        ),
        (
            vec!["--throttle", "0.5"],
            "--throttle does not apply to a wave plan",
        ),
        (
            vec!["--region-alarm-at", "mars-1=3m"],
            "no target account of",
        ),
        (
            vec!["--region-alarm-at", "eu-west-1"],
            "expected REGION=DURATION",
        ),
    ] {
        let sample = sample();
        let mut all = vec!["simulate", "--account", sample.as_str()];
        all.extend(args.iter().copied());
        let out = super::shifter(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = super::shifter(&["simulate", "--region-alarm-at", "eu-west-1=3m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("applies to a wave plan's account file"));
}
