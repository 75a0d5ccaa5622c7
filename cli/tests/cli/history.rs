//! `shifter history` as users run it: flags refused by name before any AWS call, and one
//! alias's records read with one Query on the `ByStart` index, newest first (`ScanIndexForward`
//! false, `--since` as the key condition), from a local server that answers as DynamoDB does
//! (its JSON protocol: <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html>).
//! The adapter itself runs against moto in shared/tests/contract/records.rs.

use std::process::{Command, Output};

use super::fake_aws::serve;

fn history(args: &[&str], endpoint: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shifter"));
    command
        .arg("history")
        .args(args)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    if let Some(url) = endpoint {
        command.args(["--endpoint", url]);
    }
    command.output().expect("shifter runs")
}

#[test]
fn history_refuses_bad_flags_by_name_before_any_call() {
    let (endpoint, calls) = serve(|_| (500, "application/json", "{}".into()));
    for (args, said) in [
        (vec!["--since", "7x", "--table", "t"], "error: --since 7x: "),
        (
            vec!["orders:", "--table", "t"],
            "error: FUNCTION[:ALIAS] orders::",
        ),
        (
            vec!["--execution", "d1", "--table", "t"],
            "error: --execution d1: not an execution ARN",
        ),
        (
            vec!["orders:live"],
            "error: give --table NAME or --stack NAME",
        ),
    ] {
        let out = history(&args, Some(&endpoint));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(said), "{args:?}: {stderr}");
    }
    assert!(calls.lock().unwrap().is_empty(), "nothing reached AWS");
}

/// One stored record in DynamoDB's JSON, as the adapter writes it.
fn item(id: &str, started_ms: i64, outcome: Option<&str>) -> serde_json::Value {
    let mut item = serde_json::json!({
        "pk": {"S": "orders:live"}, "deploymentId": {"S": id},
        "function": {"S": "orders"}, "alias": {"S": "live"},
        "fromVersion": {"S": "1"}, "toVersion": {"S": "2"},
        "strategy": {"S": "Canary10Percent5Minutes"},
        "startedBy": {"M": {"kind": {"S": "pipeline"}, "detail": {"S": "CodePipeline job 4f0c"}}},
        "startedAt": {"N": started_ms.to_string()},
        "expiresAt": {"N": "1799000000"},
        "marks": {"SS": [format!("{id}:STARTED")]},
        "timeline": {"L": [{"M": {"key": {"S": format!("{id}:STARTED")}, "status": {"S": "STARTED"},
            "at": {"S": "2026-01-01T00:00:00Z"}}}]}
    });
    if let Some(outcome) = outcome {
        item["outcome"] = serde_json::json!({"S": outcome});
        item["endedAt"] = serde_json::json!({"N": (started_ms + 95_000).to_string()});
        item["cause"] = serde_json::json!({"M": {"kind": {"S": "alarm"},
            "error": {"S": "AlarmTriggered"}, "message": {"S": "alarm orders-errors went into ALARM"}}});
    }
    item
}

#[test]
fn history_lists_one_alias_newest_first_from_one_query() {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let newer = item("d2", now_ms - 3_600_000, None);
    let older = item("d1", now_ms - 2 * 86_400_000, Some("ROLLED_BACK"));
    let body =
        serde_json::json!({"Items": [newer, older], "Count": 2, "ScannedCount": 2}).to_string();
    let (endpoint, calls) = serve(move |call| {
        if call.target == "DynamoDB_20120810.Query" {
            (200, "application/x-amz-json-1.0", body.clone())
        } else {
            (400, "application/x-amz-json-1.0", r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"unexpected"}"#.into())
        }
    });
    let out = history(
        &["orders:live", "--since", "7d", "--table", "records"],
        Some(&endpoint),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[1].contains("RUNNING"), "{stdout}");
    for part in [
        "orders:live",
        "1 → 2",
        "ROLLED_BACK",
        "1m 35s",
        "CodePipeline job 4f0c",
        "alarm: alarm orders-errors",
    ] {
        assert!(lines[2].contains(part), "{part:?} in {stdout}");
    }
    let sent = {
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 1, "one Query");
        calls[0].body.clone()
    };
    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(sent["TableName"], "records");
    assert_eq!(sent["IndexName"], "ByStart");
    assert_eq!(sent["ScanIndexForward"], false);
    assert_eq!(
        sent["KeyConditionExpression"],
        "pk = :pk AND startedAt >= :since"
    );
    assert_eq!(sent["ExpressionAttributeValues"][":pk"]["S"], "orders:live");
    let since: i64 = sent["ExpressionAttributeValues"][":since"]["N"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let week = 7 * 86_400_000;
    assert!(
        (now_ms - since - week).abs() < 60_000,
        "since is a week back: {since}"
    );

    let json = history(
        &["orders:live", "--table", "records", "--json"],
        Some(&endpoint),
    );
    let listed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(listed[0]["deploymentId"], "d2");
    assert_eq!(listed[1]["outcome"], "ROLLED_BACK");
    assert_eq!(listed[1]["startedBy"]["kind"], "pipeline");
}
