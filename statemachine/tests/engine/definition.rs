//! The definition, the SAM template, the function crates and the error enum agree.

use std::collections::BTreeSet;
use std::path::Path;

use shifter::ShifterError;

mod contract;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn template() -> String {
    std::fs::read_to_string(repo().join("template.yaml")).unwrap()
}

/// Keys of the YAML mapping under `key:` (one level deeper than `key`).
fn keys_under(text: &str, key: &str) -> BTreeSet<String> {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}:"));
    let header = lines.next().expect("key present");
    let indent = header.len() - header.trim_start().len();
    let mut keys = BTreeSet::new();
    let mut child = None;
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        let depth = line.len() - trimmed.len();
        if depth <= indent {
            break;
        }
        let child_depth = *child.get_or_insert(depth);
        if depth == child_depth
            && let Some((k, _)) = trimmed.split_once(':')
        {
            keys.insert(k.to_owned());
        }
    }
    keys
}

#[test]
fn every_substitution_in_the_definition_is_defined_by_the_template() {
    let asl = shifter_statemachine::DEFINITION;
    let used: BTreeSet<String> = asl
        .split("${")
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap().to_owned())
        .collect();
    let defined = keys_under(&template(), "DefinitionSubstitutions");
    assert!(!used.is_empty());
    assert_eq!(used, defined, "ASL placeholders vs DefinitionSubstitutions");
}

#[test]
fn every_function_in_the_template_is_a_crate_under_functions() {
    let binaries: Vec<String> = template()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Binary: ").map(str::to_owned))
        .collect();
    assert!(binaries.len() >= 4);
    for binary in &binaries {
        let manifest = repo().join("functions").join(binary).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|_| panic!("{binary} has no crate at {}", manifest.display()));
        assert!(
            text.contains(&format!("name = \"{binary}\"")),
            "{binary}: crate name differs"
        );
    }
    let crates: BTreeSet<String> = std::fs::read_dir(repo().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        crates,
        binaries.into_iter().collect(),
        "a crate under functions/ is not deployed"
    );
}

#[test]
fn every_error_the_definition_matches_exists() {
    let asl: serde_json::Value = serde_json::from_str(shifter_statemachine::DEFINITION).unwrap();
    let mut names = BTreeSet::new();
    for state in asl["States"].as_object().unwrap().values() {
        for list in ["Retry", "Catch"] {
            for rule in state[list].as_array().into_iter().flatten() {
                for name in rule["ErrorEquals"].as_array().unwrap() {
                    names.insert(name.as_str().unwrap().to_owned());
                }
            }
        }
        if let Some(error) = state["Error"].as_str() {
            names.insert(error.to_owned());
        }
    }
    for name in names {
        let known = ShifterError::NAMES.contains(&name.as_str())
            || name.starts_with("States.")
            || name.starts_with("Lambda.")
            || name.starts_with("Sandbox.");
        assert!(known, "the definition matches {name}, which no code raises");
    }
}

/// The Lambda failures every `lambda:invoke` Task retries (Roll Back at least 10 times): the
/// Lambda service errors of docs/architecture.md#retries-and-catches, plus what Step Functions
/// reports for a crashed handler, a handler past its timeout and an invoke call that timed out
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>).
const RETRIED_LAMBDA_ERRORS: [&str; 7] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
];

#[test]
fn every_task_retries_service_errors_and_catches() {
    let asl: serde_json::Value = serde_json::from_str(shifter_statemachine::DEFINITION).unwrap();
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        let retried: BTreeSet<&str> = state["Retry"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                r["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
            })
            .collect();
        if state["Resource"] == shifter::states::PARK_RESOURCE {
            // A park retries the watcher's invocation like any of our functions, but nothing
            // that answers its token: States.TaskFailed would match AlarmTriggered and Aborted
            // too (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
            assert!(!retried.contains("States.TaskFailed"), "{name}");
            assert!(!retried.contains("States.ALL"), "{name}");
            for answer in ["Aborted", "AlarmTriggered"] {
                assert!(!retried.contains(answer), "{name} retries {answer}");
            }
            let caught: Vec<&str> = state["Catch"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["ErrorEquals"][0].as_str().unwrap())
                .collect();
            // A callback hook's every failure (its SendTaskFailure, its timeout) goes to Check
            // Health, like a synchronous hook's; the watcher's parks tell the three apart.
            let expected: &[&str] = if shifter::states::hook_of(name).is_some() {
                &["States.ALL"]
            } else {
                &["States.Timeout", "Aborted", "States.ALL"]
            };
            assert_eq!(caught, expected, "{name}");
        }
        if state["Resource"] == "arn:aws:states:::events:putEvents" {
            // A notification that cannot be put must not stop the deployment.
            let caught = &state["Catch"][0];
            assert_eq!(
                caught["ErrorEquals"],
                serde_json::json!(["States.ALL"]),
                "{name}"
            );
            assert_eq!(caught["Next"], "Await Approval", "{name}");
            continue;
        }
        for required in RETRIED_LAMBDA_ERRORS {
            let retrier = state["Retry"].as_array().unwrap().iter().find(|r| {
                r["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e == required || e == "States.ALL" || e == "States.TaskFailed")
            });
            let attempts = retrier.map_or(0, |r| r["MaxAttempts"].as_u64().unwrap_or(3));
            let least = if name == "Roll Back" { 10 } else { 1 };
            assert!(
                attempts >= least,
                "{name} retries {required} {attempts} times, fewer than {least}"
            );
        }
        // Run Hook is ours, but it passes the hook's own errors on: it is retried like a hook.
        let ours = state["Parameters"]["FunctionName"]
            .as_str()
            .is_some_and(|f| f.starts_with("${") && f != "${RunHookFunctionArn}");
        assert_eq!(
            retried.contains("Transient"),
            ours,
            "{name}: Transient is retried on our functions only"
        );
        assert!(
            state["Catch"].as_array().is_some_and(|c| !c.is_empty()),
            "{name} has no Catch"
        );
    }
}

#[test]
fn every_sample_execution_input_in_events_is_valid() {
    for name in [
        "console-minimal.json",
        "console-full.json",
        "schedule-nightly.json",
        "release-train.json",
    ] {
        let text = std::fs::read_to_string(repo().join("events").join(name)).unwrap();
        let input: serde_json::Value = serde_json::from_str(&text).unwrap();
        let request = shifter::domain::DeploymentRequest::from_json(&input)
            .unwrap_or_else(|e| panic!("events/{name}: {e}"));
        if name.starts_with("schedule") {
            assert_eq!(
                request.target,
                shifter::domain::TargetVersion::Latest,
                "a schedule promotes the newest published version"
            );
        }
        if name.starts_with("release-train") {
            assert_eq!(request.train.len(), 2, "three aliases in lockstep");
        }
    }
}

/// Task tokens are never broadcast (issue 13): every park hands its token only to the stack's
/// watch function (`lambda:invoke.waitForTaskToken`), and the one event the state machine puts
/// (the approval announcement) carries no token and goes to the stack's own bus, never the
/// default one (entries without `EventBusName` go there:
/// <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html>).
#[test]
fn task_tokens_go_only_to_the_stacks_watch_function() {
    let definition: serde_json::Value =
        serde_json::from_str(shifter_statemachine::DEFINITION).unwrap();
    let mut parks = 0;
    for (name, state) in definition["States"].as_object().unwrap() {
        let text = state.to_string();
        let resource = state["Resource"].as_str().unwrap_or_default();
        if resource == shifter::states::PARK_RESOURCE && shifter::states::hook_of(name).is_some() {
            // A callback hook gets its own task's token: the user's hook function (in the
            // managed set) answers it.
            let function = state["Parameters"]["FunctionName.$"].as_str().unwrap();
            assert!(function.starts_with("$.hooks."), "{name}: {function}");
            continue;
        }
        if resource == shifter::states::PARK_RESOURCE {
            parks += 1;
            assert_eq!(
                state["Parameters"]["FunctionName"], "${WatchFunctionArn}",
                "{name} hands its token to another function"
            );
            assert_eq!(
                state["Parameters"]["Payload"]["taskToken.$"],
                "$$.Task.Token"
            );
            continue;
        }
        assert!(
            !text.contains("$$.Task.Token"),
            "{name} passes a task token on"
        );
        if resource.starts_with("arn:aws:states:::events:putEvents") {
            for entry in state["Parameters"]["Entries"].as_array().unwrap() {
                assert_eq!(
                    entry["EventBusName"], "${ShifterEventBusName}",
                    "{name} puts its event on another bus"
                );
                assert_eq!(entry["Source"], shifter::states::EVENT_SOURCE, "{name}");
            }
        }
    }
    assert_eq!(
        parks, 4,
        "Bake, Await Approval, Post-Promotion Bake and Await Provisioned Concurrency"
    );
    let template = template();
    assert!(template.contains("WatchFunctionArn: !GetAtt WatchFunction.Arn"));
    assert!(template.contains("ShifterEventBusName: !Ref ShifterEventBus"));
    assert!(template.contains("Resource: !GetAtt ShifterEventBus.Arn"));
    assert!(
        !template.contains("event-bus/default"),
        "nothing is granted on the default bus"
    );
}
