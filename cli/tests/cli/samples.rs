//! Issue 21, item 7: every sample in `events/` rehearses with the command the README gives for
//! it, and ends as the README says. A new sample must be added here: with its command, or with
//! the reason it is not an execution input.

use std::path::Path;

use serde_json::Value;

/// (sample, the README's rehearsal command after `shifter`, the outcome it must end with).
const REHEARSED: &[(&str, &[&str], &str)] = &[
    // "Start by hand": both console inputs, against the account that has orders-api.
    (
        "console-minimal.json",
        &[
            "simulate",
            "--input",
            "events/console-minimal.json",
            "--account",
            "events/accounts/orders-canary.json",
        ],
        "Succeeded",
    ),
    (
        "console-full.json",
        &[
            "simulate",
            "--input",
            "events/console-full.json",
            "--account",
            "events/accounts/orders-canary.json",
        ],
        // orders-canary's p99 alarm fires 7 minutes in, inside console-full's 10 % step.
        "RolledBack",
    ),
    // "Promote on a schedule": the nightly input on the night nothing new was published.
    (
        "schedule-nightly.json",
        &[
            "simulate",
            "--input",
            "events/schedule-nightly.json",
            "--account",
            "events/accounts/nightly-noop.json",
        ],
        "AlreadyCurrent",
    ),
    // "Release trains".
    (
        "release-train.json",
        &[
            "simulate",
            "--input",
            "events/release-train.json",
            "--account",
            "events/accounts/release-train.json",
        ],
        "Succeeded",
    ),
    (
        "accounts/nightly-noop.json",
        &["simulate", "--account", "events/accounts/nightly-noop.json"],
        "AlreadyCurrent",
    ),
    (
        "accounts/orders-canary.json",
        &[
            "simulate",
            "--account",
            "events/accounts/orders-canary.json",
        ],
        "RolledBack",
    ),
    (
        "accounts/orders-provisioned.json",
        &[
            "simulate",
            "--account",
            "events/accounts/orders-provisioned.json",
        ],
        "Succeeded",
    ),
    (
        "accounts/orders-analysis.json",
        &[
            "simulate",
            "--account",
            "events/accounts/orders-analysis.json",
        ],
        "RolledBack",
    ),
    (
        "accounts/release-train.json",
        &[
            "simulate",
            "--account",
            "events/accounts/release-train.json",
        ],
        "Succeeded",
    ),
    // Waves (docs/waves.md): the sample plan, on the account file that rehearses it.
    (
        "accounts/waves.json",
        &["simulate", "--account", "events/accounts/waves.json"],
        "Succeeded",
    ),
    (
        "waves.json",
        &[
            "simulate",
            "--input",
            "events/waves.json",
            "--account",
            "events/accounts/waves.json",
        ],
        "Succeeded",
    ),
];

/// Samples that are not execution inputs, and where they are used instead.
const NOT_INPUTS: &[(&str, &str)] = &[
    (
        "codepipeline-first.json",
        "a CodePipeline job event: functions/pipeline-action/tests",
    ),
    (
        "codepipeline-continuation.json",
        "a CodePipeline job event: functions/pipeline-action/tests",
    ),
    (
        "execution-history-aborted.json",
        "a recorded history: `shifter watch` tests",
    ),
    (
        "execution-history-succeeded.json",
        "a recorded history: `shifter watch` tests",
    ),
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Every `.json` sample in `events/` and `events/accounts/`, relative to `events/`.
fn samples() -> Vec<String> {
    let mut found = Vec::new();
    for dir in ["", "accounts/"] {
        for entry in std::fs::read_dir(repo().join("events").join(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                found.push(format!("{dir}{name}"));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_sample_has_a_rehearsal_or_a_reason() {
    for sample in samples() {
        let known = REHEARSED.iter().any(|(s, _, _)| *s == sample)
            || NOT_INPUTS.iter().any(|(s, _)| *s == sample);
        assert!(
            known,
            "events/{sample}: add its README command to REHEARSED"
        );
    }
}

#[test]
fn every_sample_rehearses_with_its_readme_command() {
    let mut problems = Vec::new();
    for (sample, command, outcome) in REHEARSED {
        let mut args: Vec<&str> = command.to_vec();
        args.push("--json");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shifter"))
            .args(&args)
            .current_dir(repo())
            .output()
            .expect("shifter runs");
        let summary: Option<Value> = serde_json::from_slice(&out.stdout).ok();
        let ended = summary.as_ref().and_then(|s| s["outcome"].as_str());
        if ended != Some(*outcome) {
            problems.push(format!(
                "{sample}: `shifter {}` ended {ended:?}, expected {outcome}: {}",
                command.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The nightly account rehearses exactly the nightly sample, so the README's one command
/// rehearses both.
#[test]
fn the_nightly_account_runs_the_nightly_sample() {
    let account: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("events/accounts/nightly-noop.json")).unwrap(),
    )
    .unwrap();
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("events/schedule-nightly.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(account["input"], sample);
}
