//! Issue 21, item 2 for real executions: `shifter deploy --watch | head -1` goes on watching
//! after the reader has gone, to the execution's end, and exits with its outcome's status.
//! Step Functions is a small local server speaking its JSON protocol (awsJson1_0: the
//! operation in `X-Amz-Target`, timestamps as epoch seconds):
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/CommonParameters.html>

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::fake_aws::{Answer, Call, serve};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:deploy:watched";

/// The recorded aborted execution, as GetExecutionHistory returns it on the wire.
fn history() -> Value {
    let text = include_str!("../../../events/execution-history-aborted.json");
    let mut history: Value = serde_json::from_str(text).unwrap();
    for event in history["events"].as_array_mut().unwrap() {
        let at =
            chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().unwrap()).unwrap();
        event["timestamp"] = json!(at.timestamp_millis() as f64 / 1000.0);
    }
    history
}

fn answer(call: &Call, history: &Value) -> Answer {
    let started = history["events"][0]["timestamp"].clone();
    let body: Value = serde_json::from_str(&call.body).unwrap_or(Value::Null);
    let json = "application/x-amz-json-1.0";
    let reply = match call.target.as_str() {
        "AWSStepFunctions.StartExecution" => json!({"executionArn": ARN, "startDate": started}),
        "AWSStepFunctions.DescribeExecution" => json!({"executionArn": ARN,
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:deploy",
            "status": "FAILED", "startDate": started, "stopDate": started,
            "error": "Aborted", "cause": "error rate looks wrong to me"}),
        "AWSStepFunctions.GetExecutionHistory" => {
            let mut events = history["events"].as_array().unwrap().clone();
            if body["reverseOrder"] == true {
                events.reverse();
            }
            json!({ "events": events })
        }
        other => {
            let error = json!({"__type": "UnknownOperationException", "message": other});
            return (400, json, error.to_string());
        }
    };
    (200, json, reply.to_string())
}

#[test]
fn deploy_watch_through_head_1_watches_to_the_end_and_exits_with_the_outcome() {
    let history = history();
    let (endpoint, calls) = serve(move |call| answer(call, &history));
    let input =
        std::env::temp_dir().join(format!("shifter-watch-pipe-{}.json", std::process::id()));
    std::fs::write(
        &input,
        r#"{"functionName":"demo","alias":"live","targetVersion":"2","strategy":"Canary10Percent1Minute","alarms":["demo-errors"]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args([
            "deploy",
            "--input",
            input.to_str().unwrap(),
            "--watch",
            "--state-machine",
        ])
        .arg("arn:aws:states:us-east-1:123456789012:stateMachine:deploy")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shifter runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("Started "), "{first}");
    // The reader has gone (`head -1`).
    let out = child.wait_with_output().unwrap();
    std::fs::remove_file(input).ok();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failed execution's status: {stderr}"
    );
    let calls: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.target.clone())
        .collect();
    assert_eq!(
        calls.last().map(String::as_str),
        Some("AWSStepFunctions.GetExecutionHistory"),
        "the watch read the history after the execution ended: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c == "AWSStepFunctions.DescribeExecution"),
        "{calls:?}"
    );
}

/// Issue 21, item 3: `watch --endpoint` at a Step Functions that accepts the connection and
/// never answers says so within 10 seconds, in one plain line naming the endpoint.
#[test]
fn watch_says_within_ten_seconds_when_step_functions_never_answers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts every connection and holds it open, silent, until the test ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args(["watch", ARN, "--endpoint", &endpoint])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        waited < std::time::Duration::from_secs(10),
        "{waited:?}: {stderr}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot reach {endpoint}")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
