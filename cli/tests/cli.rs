//! The `shifter` binary as users run it: exit statuses, JSON summaries, timelines, plans.

use std::process::{Command, Output};

use serde_json::Value;

#[path = "cli/browser.rs"]
mod browser;
#[path = "cli/docs.rs"]
mod docs;
#[path = "cli/fake_aws.rs"]
mod fake_aws;
#[path = "cli/flags.rs"]
mod flags;
#[path = "cli/history.rs"]
mod history;
#[path = "cli/iam.rs"]
mod iam;
#[path = "cli/import_out.rs"]
mod import_out;
#[path = "cli/notifications.rs"]
mod notifications;
#[path = "cli/pipe.rs"]
mod pipe;
#[path = "cli/repo.rs"]
mod repo;
#[path = "cli/samples.rs"]
mod samples;
#[path = "cli/stack.rs"]
mod stack;
#[path = "cli/watch_pipe.rs"]
mod watch_pipe;
#[path = "cli/waves.rs"]
mod waves;

fn shifter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args(args)
        .output()
        .expect("shifter runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn simulate_without_arguments_succeeds_and_shows_the_steps() {
    let out = shifter(&["simulate"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "Start Deployment",
        "Run Pre-Traffic Hook",
        "10% of traffic on version 2",
        "100% on version 2, routing cleared",
        "Bake                   parked on the watch function for 5:00",
        "alarm OK · step done",
        "Outcome: Succeeded",
        "state transitions",
        "$0.025 per 1,000",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn simulate_json_summary_has_the_documented_shape() {
    let out = shifter(&["simulate", "--json"]);
    assert!(out.status.success());
    let s = json_of(&out);
    assert_eq!(s["outcome"], "Succeeded");
    assert_eq!(s["error"], Value::Null);
    assert_eq!(s["alias"]["version"], "2");
    assert_eq!(
        s["alias"]["additionalVersionWeights"],
        serde_json::json!({})
    );
    assert_eq!(s["simulatedSeconds"], 300.0);
    assert!(s["stateTransitions"].as_u64().unwrap() > 10);
    let weights: Vec<f64> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["weight"].as_f64().unwrap())
        .collect();
    assert_eq!(weights, vec![0.0, 10.0, 100.0]);
    let events = s["events"].as_array().unwrap();
    let statuses: Vec<&str> = events
        .iter()
        .map(|e| e["detail"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["STARTED", "STEP_SHIFTED", "PROMOTED", "SUCCEEDED"]
    );
    assert_eq!(events[1]["seconds"], 0.0);
    assert_eq!(
        events[1]["detailType"],
        "Traffic Shifter Deployment Status Change"
    );
    assert_eq!(events[1]["detail"]["version"], "1");
}

/// An alarm that fires while a callback pre-traffic hook runs (it answers two minutes later),
/// with its event delivered or lost, never lets traffic move: Check Health reads the alarms
/// after the hook, and the cause says no traffic had moved. (A synchronous hook takes no virtual
/// time here; its case is the check-health handler's test.)
#[test]
fn an_alarm_during_the_pre_traffic_hook_never_lets_traffic_move() {
    let dir = std::env::temp_dir().join(format!("shifter-hook-alarm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let callback = dir.join("callback.json");
    let input = serde_json::json!({"functionName": "demo", "alias": "live", "targetVersion": "2",
        "strategy": "Canary10Percent5Minutes", "alarms": ["demo-errors"],
        "hooks": {"preTraffic": "demo-pre-traffic", "postTraffic": "demo-post-traffic",
                  "callbackTimeoutSeconds": 600}});
    std::fs::write(&callback, input.to_string()).unwrap();
    let callback = callback.to_str().unwrap();
    let runs: [&[&str]; 2] = [
        &[
            "--input",
            callback,
            "--hook-answer-after",
            "2m",
            "--alarm-at",
            "1m",
        ],
        &[
            "--input",
            callback,
            "--hook-answer-after",
            "2m",
            "--alarm-at",
            "1m",
            "--drop-alarm-events",
        ],
    ];
    for flags in runs {
        let mut args = vec!["simulate", "--json"];
        args.extend_from_slice(flags);
        let out = shifter(&args);
        let s = json_of(&out);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {s}");
        assert_eq!(
            (s["outcome"].as_str(), s["error"].as_str()),
            (Some("RolledBack"), Some("AlarmTriggered")),
            "{flags:?}: {s}"
        );
        let most = s["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["weight"].as_f64().unwrap())
            .fold(0.0, f64::max);
        assert_eq!(most, 0.0, "{flags:?}: traffic moved: {s}");
        let cause = s["cause"].as_str().unwrap();
        assert!(
            cause.contains("before any traffic moved to version 2"),
            "{flags:?}: {cause}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The console's Stop button at 2:00 (issue 21, item 1): no Roll Back runs, and the watch
/// function puts the alias back on version 1 one second later (the modelled EventBridge
/// latency), saying so; the exit status is not success.
#[test]
fn a_stop_by_hand_is_undone_within_the_event_latency() {
    let out = shifter(&["simulate", "--json", "--stop-at", "2m"]);
    let s = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert_eq!(s["outcome"], "Stopped", "{s}");
    assert_eq!(s["alias"]["version"], "1", "{s}");
    assert_eq!(s["simulatedSeconds"].as_f64(), Some(121.0), "{s}");
    let undone = s["undone"][0].as_str().unwrap_or_default();
    assert!(
        undone.contains("ABORTED") && undone.contains("restored to version 1"),
        "{s}"
    );
    let text = shifter(&["simulate", "--stop-at", "2m"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("StopExecution"), "{text}");
}

/// A write that lands while its answer is lost is known as ours (decision 0011):
/// `--lost-answer shift-traffic` succeeds like a clean run, and a Roll Back whose restore loses
/// its answer still ends AlarmTriggered.
#[test]
fn lost_answers_are_known_as_ours() {
    let out = shifter(&["simulate", "--json", "--lost-answer", "shift-traffic"]);
    let s = json_of(&out);
    assert_eq!(
        (out.status.code(), s["outcome"].as_str()),
        (Some(0), Some("Succeeded")),
        "{s}"
    );
    let flags = [
        "simulate",
        "--json",
        "--alarm-at",
        "3m",
        "--lost-answer",
        "roll-back",
    ];
    let out = shifter(&flags);
    let s = json_of(&out);
    assert_eq!(
        (
            s["outcome"].as_str(),
            s["error"].as_str(),
            s["alias"]["version"].as_str()
        ),
        (Some("RolledBack"), Some("AlarmTriggered"), Some("1")),
        "{s}"
    );
}

/// After drift the story tells the truth: no line claims a shift or a promotion that did not
/// land.
#[test]
fn after_drift_no_line_claims_a_write_that_did_not_land() {
    for (step, refused) in [("1", "Shift Traffic"), ("2", "Promote")] {
        let out = shifter(&["simulate", "--drift-at-step", step]);
        let text = String::from_utf8_lossy(&out.stdout);
        let story = text.lines().filter(|l| l.starts_with("t+"));
        let lines: Vec<&str> = story.filter(|l| l.contains(refused)).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("AliasDrift → Stopped On Drift"), "{text}");
        assert!(!text.contains("routing cleared"), "{text}");
    }
}

#[test]
fn alarm_at_rolls_back_and_exits_non_zero() {
    let out = shifter(&["simulate", "--alarm-at", "3m", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let s = json_of(&out);
    assert_eq!(s["outcome"], "RolledBack");
    assert_eq!(s["error"], "AlarmTriggered");
    assert_eq!(s["alias"]["version"], "1");
    assert!(
        s["cause"]
            .as_str()
            .unwrap()
            .contains("restored to version 1")
    );
    // The alarm's state-change event reaches the watch function 1 s later and ends the bake.
    assert_eq!(s["simulatedSeconds"], 181.0);
    assert_eq!(s["alarmEvents"]["delivered"], 1);
}

/// With the events lost, the backstop read at the end of the parked piece (5:00 at the default
/// checkIntervalSeconds) catches the alarm instead.
#[test]
fn drop_alarm_events_leaves_the_alarm_to_the_backstop_read() {
    let out = shifter(&[
        "simulate",
        "--alarm-at",
        "3m",
        "--drop-alarm-events",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let s = json_of(&out);
    assert_eq!(s["error"], "AlarmTriggered");
    assert_eq!(s["simulatedSeconds"], 300.0);
    assert_eq!(s["alarmEvents"]["dropped"], 1);
    assert_eq!(s["alarmEvents"]["delivered"], 0);
}

#[test]
fn fault_options_reach_the_deployment() {
    let cases: [(&[&str], &str, &str); 4] = [
        (&["--fail-hook", "pre"], "RolledBack", "HookFailed"),
        (&["--fail-hook", "post"], "RolledBack", "HookFailed"),
        (&["--drift-at-step", "2"], "Stopped", "AliasDrift"),
        (
            &["--strategy", "Canary0Percent5Minutes"],
            "Rejected",
            "InvalidInput",
        ),
    ];
    for (extra, outcome, error) in cases {
        let mut args = vec!["simulate", "--json"];
        args.extend_from_slice(extra);
        let out = shifter(&args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        let s = json_of(&out);
        assert_eq!(
            (s["outcome"].as_str(), s["error"].as_str()),
            (Some(outcome), Some(error)),
            "{extra:?}: {s}"
        );
    }
}

#[test]
fn input_file_and_timelines() {
    let dir = std::env::temp_dir().join(format!("shifter-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.json");
    std::fs::write(
        &input,
        r#"{"functionName":"demo","alias":"live","targetVersion":"2","strategy":{"steps":[{"weight":5,"bakeSeconds":60},{"weight":50,"bakeSeconds":60}]},"alarms":["demo-errors"],"checkIntervalSeconds":20}"#,
    )
    .unwrap();
    let svg = dir.join("t.svg");
    let json = dir.join("t.json");
    for timeline in [&svg, &json] {
        let out = shifter(&[
            "simulate",
            "--input",
            input.to_str().unwrap(),
            "--alarm-at",
            "90s",
            "--timeline",
            timeline.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(
        chart.starts_with("<svg")
            && chart.contains("rollback (AlarmTriggered)")
            && chart.contains("alarm check: ALARM")
    );
    // Time as a clock, each step labelled, the rollback marked with its cause where it happened.
    for text in [
        "1:00",
        "5% from 0:00",
        "50% from 1:00",
        "rollback at 1:31: AlarmTriggered",
    ] {
        assert!(chart.contains(text), "{text} not in the chart");
    }
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let weights: Vec<f64> = data["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["weight"].as_f64().unwrap())
        .collect();
    assert_eq!(weights, vec![0.0, 5.0, 50.0, 0.0]);
    assert_eq!(
        data["timeline"][3]["seconds"], 91.0,
        "caught by its alarm event, the modelled 1 s after 90 s"
    );
    let bad = shifter(&[
        "simulate",
        "--timeline",
        dir.join("t.png").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".json or .svg"));
    std::fs::remove_dir_all(dir).ok();
}

/// A release train's plan names every alias and writes each step once per alias; the state
/// machine's transitions and history are those of one alias (the writes are one Task).
#[test]
fn plan_of_a_release_train_names_every_alias_at_the_cost_of_one() {
    let one = json_of(&shifter(&[
        "plan",
        "--strategy",
        "Canary10Percent5Minutes",
        "--json",
    ]));
    let mut args = vec!["plan", "--strategy", "Canary10Percent5Minutes", "--json"];
    for target in ["orders-api:live", "payments-api:live", "emails-worker:live"] {
        args.extend(["--target", target]);
    }
    let out = shifter(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let train = json_of(&out);
    assert_eq!(train["aliases"].as_array().unwrap().len(), 3);
    assert_eq!(train["aliasWritesPerStep"], 3);
    assert_eq!(one["aliasWritesPerStep"], 1);
    assert!(one.get("aliases").is_none());
    for field in ["stateTransitions", "historyEvents", "estimatedCostUsd"] {
        assert_eq!(train[field], one[field], "{field}");
    }
    let too_many: Vec<String> = (0..21).map(|i| format!("f{i}:live")).collect();
    let mut args = vec!["plan", "--strategy", "Canary10Percent5Minutes"];
    for target in &too_many {
        args.extend(["--target", target.as_str()]);
    }
    let out = shifter(&args);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--target: has 21 entries"));
}

#[test]
fn plan_prints_schedule_transitions_and_cost() {
    let out = shifter(&[
        "plan",
        "--strategy",
        "Linear10PercentEvery1Minute",
        "--check-interval",
        "15",
        "--json",
    ]);
    assert!(out.status.success());
    let p = json_of(&out);
    let steps = p["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 10);
    assert_eq!(
        steps[0],
        serde_json::json!({"weight": 10, "bakeSeconds": 60})
    );
    assert_eq!(
        steps[9],
        serde_json::json!({"weight": 100, "bakeSeconds": 0})
    );
    assert_eq!(p["totalSeconds"], 540);
    assert_eq!(p["stateTransitions"], 122);
    assert!(p["estimatedCostUsd"].as_f64().unwrap() <= 0.004);

    let text = shifter(&["plan", "--strategy", "Canary10Percent5Minutes"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("10% on the new version, bake 5:00") && text.contains("promote"),
        "{text}"
    );

    let bad = shifter(&["plan", "--strategy", "Linear10PercentEvery0Minutes"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--strategy"));

    // A day-long canary read every 30 s would outgrow the execution history: refused, naming
    // the smallest interval that fits.
    let long = [
        "plan",
        "--strategy",
        "Canary10Percent1440Minutes",
        "--check-interval",
        "30",
    ];
    let refused = shifter(&long);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--check-interval: is 30: use 71 or more"),
        "{stderr}"
    );
}

/// `simulate --endpoint`: the same local runner, with the handlers on the real Lambda adapter
/// against moto server (started by `scripts/test`, seeded with `orders-api` versions 1 and 2 and
/// alias `live`). Never skipped in CI.
#[test]
fn simulate_against_the_emulator_runs_a_full_canary() {
    let Ok(endpoint) = std::env::var("SHIFTER_MOTO_ENDPOINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SHIFTER_MOTO_ENDPOINT is not set: scripts/test starts moto server; CI must not skip this"
        );
        eprintln!(
            "SKIPPED simulate_against_the_emulator_runs_a_full_canary: no SHIFTER_MOTO_ENDPOINT (run scripts/test)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("shifter-emulator-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let deploy = |target: &str, downgrade: bool| {
        let input = dir.join(format!("to-{target}-{downgrade}.json"));
        std::fs::write(
            &input,
            format!(
                r#"{{"functionName":"orders-api","alias":"live","targetVersion":"{target}","strategy":"Linear50PercentEvery1Minute","alarms":["orders-api-errors"],"checkIntervalSeconds":20,"allowDowngrade":{downgrade}}}"#
            ),
        )
        .unwrap();
        let out = shifter(&[
            "simulate",
            "--endpoint",
            &endpoint,
            "--input",
            input.to_str().unwrap(),
            "--json",
        ]);
        (out.status.code(), json_of(&out))
    };
    // Forward to version 2 (already there if an earlier run on this server got that far) …
    let (code, first) = deploy("2", false);
    assert_eq!(code, Some(0), "{first}");
    assert!(
        first["outcome"] == "Succeeded" || first["outcome"] == "AlreadyCurrent",
        "{first}"
    );
    // … back to version 1 is a downgrade: refused unless the input allows it …
    let (code, refused) = deploy("1", false);
    assert_eq!(code, Some(1), "{refused}");
    assert_eq!(refused["error"], "InvalidInput");
    assert!(
        refused["cause"]
            .as_str()
            .unwrap()
            .contains("allowDowngrade")
    );
    // … then a full canary back to version 1, every write through the real adapter.
    let (code, back) = deploy("1", true);
    assert_eq!(code, Some(0), "{back}");
    assert_eq!(back["outcome"], "Succeeded");
    assert_eq!(back["alias"]["version"], "1", "read back from the emulator");
    assert_eq!(
        back["alias"]["additionalVersionWeights"],
        serde_json::json!({})
    );
    let weights: Vec<f64> = back["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["weight"].as_f64().unwrap())
        .collect();
    assert_eq!(weights, vec![0.0, 50.0, 100.0]);
    assert_eq!(back["simulatedSeconds"], 60.0);

    // Your own alarms and input against the emulator's functions: an account file without
    // functions; its alarm fires 30 s in and the canary back to version 2 rolls back.
    let account = dir.join("alarms-only.json");
    std::fs::write(
        &account,
        r#"{"alarms": [{"name": "orders-api-errors", "changes": [{"atSeconds": 30, "state": "ALARM"}]}],
            "input": {"functionName": "orders-api", "alias": "live", "targetVersion": "2",
                      "strategy": "Linear50PercentEvery1Minute", "alarms": ["orders-api-errors"]}}"#,
    )
    .unwrap();
    let out = shifter(&[
        "simulate",
        "--endpoint",
        &endpoint,
        "--account",
        account.to_str().unwrap(),
        "--json",
    ]);
    let rolled = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{rolled}");
    assert_eq!(rolled["error"], "AlarmTriggered", "{rolled}");
    assert_eq!(
        rolled["alias"]["version"], "1",
        "read back from the emulator"
    );

    // The in-memory-only fault is refused by name against an emulator.
    let out = shifter(&["simulate", "--endpoint", &endpoint, "--drift-at-step", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not available with --endpoint"));
    std::fs::remove_dir_all(dir).ok();
}

/// The sample release train: the text names every alias; `--json` lists where each ended;
/// `--drift-at-step 5` (payments-api's second write) stops the train with the others restored.
#[test]
fn simulate_shows_every_alias_of_a_release_train() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let train = repo.join("events/accounts/release-train.json");
    let train = train.to_str().unwrap();
    let out = shifter(&["simulate", "--account", train]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("release train of 3 aliases: orders-api:live 41 → 42, payments-api:live 17 → 18, emails-worker:live 5 → 6"), "{text}");
    assert!(
        text.contains("Train:   emails-worker:live 5 → 6: now version 6 (no routing)"),
        "{text}"
    );
    let out = shifter(&[
        "simulate",
        "--account",
        train,
        "--drift-at-step",
        "5",
        "--json",
    ]);
    let s = json_of(&out);
    assert_eq!(s["error"], "AliasDrift", "{s}");
    let ended: Vec<&str> = s["train"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ended"]["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        ended,
        ["41", "19", "5"],
        "payments-api keeps the hotfix, the others are restored"
    );
}

#[test]
fn account_files_rehearse_a_users_own_setup() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let nightly = repo.join("events/accounts/nightly-noop.json");
    let out = shifter(&["simulate", "--account", nightly.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let s = json_of(&out);
    assert_eq!(
        s["outcome"], "AlreadyCurrent",
        "a nightly run with nothing new is a no-op"
    );
    assert_eq!(s["alias"]["version"], "3");
    assert_eq!(
        s["timeline"].as_array().unwrap().len(),
        1,
        "nothing was written"
    );

    let canary = repo.join("events/accounts/orders-canary.json");
    let out = shifter(&["simulate", "--account", canary.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let s = json_of(&out);
    assert_eq!(
        (s["outcome"].as_str(), s["error"].as_str()),
        (Some("RolledBack"), Some("AlarmTriggered"))
    );
    assert_eq!(s["alias"]["version"], "41");
    assert_eq!(s["simulatedSeconds"], 420.0);

    // Canary analysis from the account's per-version traffic: no alarm needed.
    let analysis = repo.join("events/accounts/orders-analysis.json");
    let out = shifter(&[
        "simulate",
        "--account",
        analysis.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let s = json_of(&out);
    assert_eq!(s["error"], "AnalysisFailed");
    assert!(
        s["cause"]
            .as_str()
            .unwrap()
            .contains("old version 0.22% (2 of 900 calls)")
    );
    assert_eq!(s["alias"]["version"], "41");
    assert_eq!(s["simulatedSeconds"], 300.0);
    assert_eq!(s["analyses"].as_array().unwrap().len(), 5);
    assert_eq!(s["analyses"][4]["verdict"], "failed");
    let svg = std::env::temp_dir().join(format!("shifter-analysis-{}.svg", std::process::id()));
    let out = shifter(&[
        "simulate",
        "--account",
        analysis.to_str().unwrap(),
        "--timeline",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.contains("analysis: new version error rate %"));
    assert!(chart.contains("analysis: new version p99 ms (right axis)"));
    assert!(
        chart.contains("p99 duration, ms"),
        "the right-hand axis is drawn"
    );
    std::fs::remove_file(svg).ok();

    // Provisioned concurrency reallocated for 100 s after each of the three writes: every
    // bake counts from READY (polled every 10 s), 3 × 100 s of waiting on top of 600 s of bakes.
    let provisioned = repo.join("events/accounts/orders-provisioned.json");
    let out = shifter(&[
        "simulate",
        "--account",
        provisioned.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = json_of(&out);
    assert_eq!(s["outcome"], "Succeeded", "{s}");
    assert_eq!(s["alias"]["version"], "42");
    assert_eq!(s["simulatedSeconds"], 900.0);
    let weights: Vec<(f64, f64)> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["seconds"].as_f64().unwrap(),
                p["weight"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        vec![(0.0, 0.0), (0.0, 10.0), (400.0, 50.0), (800.0, 100.0)]
    );
    // The same account with the second shift's allocation failing.
    let mut failing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&provisioned).unwrap()).unwrap();
    failing["functions"][0]["provisionedConcurrency"]["live"]["failAtWrite"] = 2.into();
    let path = std::env::temp_dir().join(format!("shifter-pc-{}.json", std::process::id()));
    std::fs::write(&path, failing.to_string()).unwrap();
    let out = shifter(&["simulate", "--account", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let s = json_of(&out);
    assert_eq!(s["error"], "ProvisionedConcurrencyFailed", "{s}");
    assert!(
        s["cause"]
            .as_str()
            .unwrap()
            .contains("FAILED after the shift to 50% on version 42"),
        "{s}"
    );
    assert_eq!(s["alias"]["version"], "41");
    std::fs::remove_file(path).ok();

    let dir = std::env::temp_dir().join(format!("shifter-account-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"functions":[{"name":"f","publishedVersions":"two"}]}"#,
    )
    .unwrap();
    let out = shifter(&["simulate", "--account", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("functions[0].publishedVersions"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Issue 21, item 6: the demo's 5-minute canary at the default backstop interval (300 s) on
/// an alias whose provisioned concurrency reallocates in 10 s. Each wait for READY ends at the
/// 10 s poll after it, 5:20 in all — not a backstop interval later (15:00, as `plan` and a
/// poll of 300 s show); and `plan` says plainly when a reallocation outlasts
/// readyTimeoutSeconds.
#[test]
fn a_ten_second_reallocation_ends_a_five_minute_canary_at_five_minutes_twenty() {
    let out = shifter(&["simulate", "--provisioned-concurrency", "10", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = json_of(&out);
    assert_eq!(s["outcome"], "Succeeded", "{s}");
    assert_eq!(s["simulatedSeconds"], 320.0, "{s}");

    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", "--strategy", "Canary10Percent5Minutes"];
        args.extend_from_slice(extra);
        let out = shifter(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let polled = plan(&["--provisioned-concurrency", "10"]);
    assert!(polled.contains("Total 5:20"), "{polled}");
    assert!(polled.contains("read every 10s"), "{polled}");
    let backstop = plan(&["--provisioned-concurrency", "10", "--poll-seconds", "300"]);
    assert!(backstop.contains("Total 15:00"), "{backstop}");
    let late = plan(&["--provisioned-concurrency", "1200"]);
    assert!(late.contains("This deployment would roll back"), "{late}");
    assert!(late.contains("--ready-timeout 1200 or more"), "{late}");
    assert!(!polled.contains("roll back"), "{polled}");
}

#[test]
fn abort_at_restores_the_alias_at_once() {
    let out = shifter(&[
        "simulate",
        "--abort-at",
        "100s",
        "--reason",
        "p99 looks wrong",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let s = json_of(&out);
    assert_eq!(s["outcome"], "RolledBack");
    assert_eq!(s["error"], "Aborted");
    assert!(s["cause"].as_str().unwrap().starts_with("p99 looks wrong"));
    assert_eq!(s["alias"]["version"], "1");
    let last = s["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last, serde_json::json!({"seconds": 100.0, "weight": 0.0}));
}

#[test]
fn promote_at_skips_ahead_and_approve_after_passes_gates() {
    let out = shifter(&["simulate", "--promote-at", "45s", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let s = json_of(&out);
    assert_eq!(s["simulatedSeconds"], 45.0);
    assert_eq!(s["alias"]["version"], "2");

    let dir = std::env::temp_dir().join(format!("shifter-gates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("gated.json");
    std::fs::write(
        &input,
        r#"{"functionName":"demo","alias":"live","targetVersion":"2","alarms":["demo-errors"],
            "checkIntervalSeconds":30,"approvalBeforePromote":true,"approvalTimeoutSeconds":600,
            "strategy":{"steps":[{"weight":10,"bakeSeconds":60},{"weight":50,"bakeSeconds":60,"approval":true}]}}"#,
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let out = shifter(&[
        "simulate",
        "--input",
        input,
        "--approve-after",
        "30s",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["simulatedSeconds"], 180.0);
    let out = shifter(&["simulate", "--input", input, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["error"], "ApprovalTimedOut");
}

#[test]
fn deploy_refuses_bad_input_without_calling_aws() {
    let dir = std::env::temp_dir().join(format!("shifter-deploy-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("bad.json");
    std::fs::write(
        &input,
        r#"{"functionName":"f","alias":"live","targetVersion":"2","strategy":"AllAtOnce","approvalDefault":"maybe"}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args([
            "deploy",
            "--input",
            input.to_str().unwrap(),
            "--state-machine",
        ])
        .arg("arn:aws:states:us-east-1:123456789012:stateMachine:deploy")
        // Nothing may reach AWS: an unroutable endpoint would hang or fail differently.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("approvalDefault"), "{stderr}");
}

fn repo_file(path: &str) -> String {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    repo.join(path).to_str().unwrap().to_owned()
}

/// `examples/import/template.yaml`: OrdersApi resolves offline (alarms and hooks by `!Ref` and
/// `!GetAtt` to resources with literal names); PaymentsApi needs the stack name and a parameter.
#[test]
fn import_sam_example_reports_what_only_cloudformation_knows() {
    let template = repo_file("examples/import/template.yaml");
    let out = shifter(&["import", &template]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let inputs = json_of(&out);
    assert_eq!(
        inputs,
        serde_json::json!({"OrdersApi": {
            "functionName": "orders-api", "alias": "live", "targetVersion": "latest",
            "strategy": "Canary10Percent5Minutes",
            "alarms": ["orders-api-errors", "orders-api-p99-latency"],
            "hooks": {"preTraffic": "CodeDeployHook_orders-api-pre-traffic",
                      "postTraffic": "CodeDeployHook_orders-api-post-traffic",
                      "callbackTimeoutSeconds": 3600}}})
    );
    for expected in [
        "PaymentsApi: not imported",
        "Resources.PaymentsApi.Properties.FunctionName: !Sub \"${AWS::StackName}-payments\" cannot be resolved offline",
        "pass --resolve AWS::StackName=…",
        "Resources.PaymentsApi.Properties.DeploymentPreference.Alarms[0]: !Ref PaymentsErrorsAlarm cannot be resolved offline",
        "Stage is a template parameter",
        "--resolve PaymentsErrorsAlarm=… or --resolve Stage=…",
        "PutLifecycleEventHookExecutionStatus",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }

    let dir = std::env::temp_dir().join(format!("shifter-import-sam-{}", std::process::id()));
    let out = shifter(&[
        "import",
        &template,
        "--resolve",
        "AWS::StackName=shop-prod",
        "--resolve",
        "Stage=prod",
        "--target-version",
        "publish",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let payments: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("PaymentsApi.json")).unwrap())
            .unwrap();
    assert_eq!(
        payments,
        serde_json::json!({"functionName": "shop-prod-payments", "alias": "live",
            "targetVersion": "publish",
            "strategy": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
            "alarms": ["payments-prod-errors"]})
    );
    // What import writes is what deploy and simulate take.
    let orders = dir.join("OrdersApi.json");
    let out = shifter(&["simulate", "--input", orders.to_str().unwrap(), "--json"]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}

/// `examples/import/serverless.yml`: names from the framework's `<service>-<stage>-<key>`
/// convention and `${self:…}`/`${sls:stage}` variables; an `${ssm:…}` alarm is reported.
#[test]
fn import_serverless_example_resolves_variables_and_reports_ssm() {
    let service = repo_file("examples/import/serverless.yml");
    let out = shifter(&["import", &service, "--stage", "prod"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        json_of(&out),
        serde_json::json!({"api": {
            "functionName": "orders-prod-api", "alias": "live", "targetVersion": "latest",
            "strategy": "Linear10PercentEvery1Minute",
            "alarms": ["orders-prod-api-errors", "orders-prod-api-p99"],
            "hooks": {"preTraffic": "orders-prod-apiSmokeTest", "callbackTimeoutSeconds": 3600}}})
    );
    assert!(
        stderr.contains(
            "functions.worker.deploymentSettings.alarms[0].name: \"${ssm:/orders/worker-alarm-name}\" cannot be resolved offline"
        ) && stderr.contains("--resolve ssm:/orders/worker-alarm-name=…"),
        "{stderr}"
    );

    let out = shifter(&[
        "import",
        &service,
        "--stage",
        "prod",
        "--resolve",
        "ssm:/orders/worker-alarm-name=orders-worker-prod-age",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json_of(&out)["worker"],
        serde_json::json!({"functionName": "orders-worker-prod", "alias": "live",
            "targetVersion": "latest",
            "strategy": "CodeDeployDefault.LambdaCanary10Percent10Minutes",
            "alarms": ["orders-worker-prod-age"]})
    );

    // The plugin shifts nothing gradually on a stage its `stages` leave out (default `dev`).
    let out = shifter(&["import", &service]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not list stage dev"));
}

/// Callback hooks in a rehearsal: the hooks answer their task tokens `--hook-answer-after`
/// later; `--silent-hook` never answers and fails the deployment at the callback timeout.
#[test]
fn callback_hooks_answer_late_or_never() {
    let dir = std::env::temp_dir().join(format!("shifter-callback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("callback.json");
    std::fs::write(
        &input,
        r#"{"functionName":"demo","alias":"live","targetVersion":"2","strategy":"Canary10Percent5Minutes",
            "alarms":["demo-errors"],"hooks":{"preTraffic":"demo-pre-traffic",
            "postTraffic":"demo-post-traffic","callbackTimeoutSeconds":3600}}"#,
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let late = shifter(&[
        "simulate",
        "--input",
        input,
        "--hook-answer-after",
        "20m",
        "--json",
    ]);
    assert_eq!(late.status.code(), Some(0));
    assert_eq!(
        json_of(&late)["simulatedSeconds"],
        20.0 * 60.0 * 2.0 + 300.0
    );
    let silent = shifter(&[
        "simulate",
        "--input",
        input,
        "--silent-hook",
        "pre",
        "--json",
    ]);
    assert_eq!(silent.status.code(), Some(1));
    let s = json_of(&silent);
    assert_eq!(s["error"], "HookFailed");
    assert_eq!(s["simulatedSeconds"], 3600.0);
    assert_eq!(s["alias"]["version"], "1");
    // Only callback hooks answer later.
    let refused = shifter(&["simulate", "--hook-answer-after", "1m"]);
    assert_eq!(refused.status.code(), Some(2));
    std::fs::remove_dir_all(dir).ok();
}

/// Small things users noticed: whole weights print as integers, costs to the millionth of a
/// dollar, every field camelCase, and a drift after the last write is refused, not ignored.
#[test]
fn json_is_tidy_and_impossible_faults_are_refused() {
    let plan = shifter(&["plan", "--strategy", "Canary10Percent30Minutes", "--json"]);
    let p = json_of(&plan);
    assert_eq!(p["steps"][0]["weight"].to_string(), "10");
    assert_eq!(p["estimatedCostUsd"].to_string(), "0.0006");
    let out = shifter(&[
        "simulate",
        "--alarm-at",
        "3m",
        "--drop-alarm-events",
        "--json",
    ]);
    let s = json_of(&out);
    assert!(s["alarmChecks"][0].get("inAlarm").is_some(), "{s}");
    let drift = shifter(&["simulate", "--drift-at-step", "3"]);
    assert_eq!(drift.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&drift.stderr).contains("writes the alias 2 times"));
}

/// With --endpoint the functions are the emulator's: an account file that lists functions is
/// refused before anything is called, naming the field.
#[test]
fn an_account_with_functions_is_refused_against_an_emulator() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let account = repo.join("events/accounts/orders-canary.json");
    let out = shifter(&[
        "simulate",
        "--endpoint",
        "http://127.0.0.1:9",
        "--account",
        account.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("functions: with --endpoint"), "{err}");
}

/// `shifter simulate | head -1`: when the reader goes away the program ends quietly with status
/// 0, as Unix tools do, instead of panicking on the broken pipe.
#[test]
fn a_closed_pipe_ends_simulate_quietly() {
    use std::io::Read;
    // 350 steps print more than a pipe buffers (64 KiB on Linux), so writes go on after
    // the reader has gone.
    let steps: Vec<Value> = (1..=350)
        .map(|i| serde_json::json!({"weight": (f64::from(i) * 25.0).round() / 100.0, "bakeSeconds": 60}))
        .collect();
    let input = std::env::temp_dir().join(format!("shifter-pipe-{}.json", std::process::id()));
    let body = serde_json::json!({"functionName": "demo", "alias": "live", "targetVersion": "2",
        "strategy": {"steps": steps}, "alarms": ["demo-errors"], "checkIntervalSeconds": 60});
    std::fs::write(&input, body.to_string()).unwrap();
    let whole = shifter(&["simulate", "--input", input.to_str().unwrap()]);
    assert_eq!(
        whole.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&whole.stdout)
    );
    assert!(
        whole.stdout.len() > 72 * 1024,
        "{} bytes",
        whole.stdout.len()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args(["simulate", "--input", input.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("shifter runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    std::fs::remove_file(input).ok();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
