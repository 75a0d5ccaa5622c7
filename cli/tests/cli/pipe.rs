//! Issue 21, item 2: a reader that goes away early (`shifter simulate … | head -1`, `| grep -m1`)
//! stops the printing, never the deployment; the exit status is still the outcome's.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

/// An input of 350 one-minute steps: its log is longer than a pipe buffers (64 KiB on Linux),
/// so the run keeps writing long after the reader has gone.
fn long_input(name: &str) -> std::path::PathBuf {
    let steps: Vec<Value> = (1..=350)
        .map(|i| serde_json::json!({"weight": (f64::from(i) * 25.0).round() / 100.0, "bakeSeconds": 60}))
        .collect();
    let input = std::env::temp_dir().join(format!("shifter-{name}-{}.json", std::process::id()));
    let body = serde_json::json!({"functionName": "demo", "alias": "live", "targetVersion": "2",
        "strategy": {"steps": steps}, "alarms": ["demo-errors"], "checkIntervalSeconds": 60});
    std::fs::write(&input, body.to_string()).unwrap();
    input
}

/// Runs `shifter ARGS` with a reader that takes one line and closes the pipe, as `head -1` does;
/// the exit code and standard error.
fn with_head_1(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shifter runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty(), "one line was read");
    // The reader is dropped here: the pipe is closed.
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A deployment that rolls back 5 hours in, watched through `head -1`: the run still reaches
/// its end (the timeline, written after the last step, is there and ends at 0 %) and the exit
/// status is the rollback's 1, not 0.
#[test]
fn a_closed_pipe_stops_the_printing_not_the_deployment() {
    let input = long_input("pipe-rollback");
    let timeline = input.with_extension("timeline.json");
    let (code, stderr) = with_head_1(&[
        "simulate",
        "--input",
        input.to_str().unwrap(),
        "--alarm-at",
        "300m30s",
        "--timeline",
        timeline.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(&timeline);
    std::fs::remove_file(&input).ok();
    std::fs::remove_file(&timeline).ok();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("cannot write"),
        "a closed pipe is not an error: {stderr}"
    );
    assert_eq!(code, Some(1), "the outcome's status: {stderr}");
    let data: Value = serde_json::from_str(&written.expect("the run reached its end")).unwrap();
    assert_eq!(data["outcome"], "RolledBack");
    let last = data["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["weight"], 0.0, "{last}");
    assert_eq!(
        last["seconds"],
        300.0 * 60.0 + 31.0,
        "caught by its alarm event 1 s later"
    );
}

/// The same for a successful run and for `--json` (one long write, cut short): 0 and 1 as the
/// outcomes say.
#[test]
fn a_closed_pipe_keeps_each_outcomes_status() {
    let input = long_input("pipe-status");
    let path = input.to_str().unwrap();
    let (ok, stderr) = with_head_1(&["simulate", "--input", path]);
    assert_eq!(ok, Some(0), "{stderr}");
    let (rolled, stderr) =
        with_head_1(&["simulate", "--input", path, "--alarm-at", "2m", "--json"]);
    assert_eq!(rolled, Some(1), "{stderr}");
    std::fs::remove_file(input).ok();
}
