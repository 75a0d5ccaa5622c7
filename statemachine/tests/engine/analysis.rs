//! Version-scoped canary analysis through the shipped definition: Check Health reads both
//! versions' Lambda metrics (one GetMetricData per analysis interval) and judges the new
//! version against the input's limits and against the old version — no alarm needed.

use chrono::TimeDelta;
use serde_json::{Value, json};
use shifter::domain::AliasRoute;
use shifter::domain::DeploymentRequest;
use shifter::domain::limits::history_events;
use shifter::fakes::Traffic;
use shifter_statemachine::local::{self, LocalAccount, Outcome, Run};

fn input(analysis: Value) -> Value {
    let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
    let fields = input.as_object_mut().unwrap();
    fields.remove("hooks");
    fields.remove("checkIntervalSeconds");
    fields.insert("alarms".into(), json!([]));
    fields.insert("analysis".into(), analysis);
    input
}

fn limits() -> Value {
    json!({"intervalSeconds": 60, "maxErrorRatePercent": 1.0, "maxP99Ratio": 1.5})
}

fn traffic(calls_per_minute: u64, error_rate_percent: f64, p99_millis: f64) -> Traffic {
    Traffic {
        calls_per_minute,
        error_rate_percent,
        p99_millis,
    }
}

/// The old version (1) serves 1,000 calls a minute at 0.2 % errors and 100 ms p99 throughout;
/// the new one (2) behaves as `new` says from the given seconds on.
fn account(new: &[(i64, Traffic)]) -> LocalAccount {
    let account = LocalAccount::demo();
    let start = account.clock.start();
    account
        .metrics
        .set("demo", "live", "1", start, traffic(1000, 0.2, 100.0));
    for (at, t) in new {
        account
            .metrics
            .set("demo", "live", "2", start + TimeDelta::seconds(*at), *t);
    }
    account
}

async fn deploy(account: &LocalAccount, input: Value) -> Run {
    local::run(account, input, "analysis", &mut |_| {})
        .await
        .unwrap()
}

fn restored(account: &LocalAccount) -> bool {
    account.lambda.alias("demo", "live").map(|a| a.route) == Some(AliasRoute::single("1"))
}

#[tokio::test]
async fn a_healthy_canary_is_judged_every_minute_and_promoted() {
    let account = account(&[(0, traffic(200, 0.3, 110.0))]);
    let input = input(limits());
    let run = deploy(&account, input.clone()).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    assert_eq!(
        account.metrics.reads(),
        5,
        "one GetMetricData per minute of the bake"
    );
    assert_eq!(run.summary.simulated_seconds, 300.0);
    let request = DeploymentRequest::from_json(&input).unwrap();
    assert_eq!(
        run.execution.history_events,
        history_events(&request).succeeding
    );
    // The summary lists every analysis with both versions' figures, for simulate --json and
    // the timeline chart.
    let analyses = &run.summary.analyses;
    assert_eq!(analyses.len(), 5);
    assert_eq!(analyses[0].seconds, 60.0);
    assert_eq!(
        (analyses[0].new.invocations, analyses[0].old.invocations),
        (200, 1000)
    );
    assert!(analyses.iter().all(|a| a.verdict == "healthy"));
}

/// A real execution's history yields the same analyses as the runner's own record (what
/// `shifter watch --json` and `shifter timeline` read).
#[tokio::test]
async fn the_history_reports_the_same_analyses() {
    let account = account(&[
        (0, traffic(200, 0.3, 110.0)),
        (120, traffic(200, 5.0, 110.0)),
    ]);
    let input = input(limits());
    let mut events = Vec::new();
    let run = local::run(&account, input.clone(), "analysis", &mut |e| {
        events.push(e.clone())
    })
    .await
    .unwrap();
    let execution = shifter_statemachine::asl::Execution {
        events,
        ..run.execution
    };
    let exported = local::execution_history(&account, &execution, &input).unwrap();
    let history: Vec<shifter::ports::HistoryEvent> = exported["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let details = e
                .as_object()
                .unwrap()
                .iter()
                .find(|(k, _)| k.ends_with("EventDetails"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let kind = e["type"].as_str().unwrap().to_owned();
            let named = kind.ends_with("StateEntered") || kind.ends_with("StateExited");
            shifter::ports::HistoryEvent {
                id: e["id"].as_i64().unwrap(),
                at: chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&chrono::Utc),
                state: named.then(|| details["name"].as_str().unwrap().to_owned()),
                output: details["output"].as_str().map(str::to_owned),
                input: details["input"].as_str().map(str::to_owned),
                kind,
                ..Default::default()
            }
        })
        .collect();
    let watched = shifter::report::from_history(&history);
    assert_eq!(watched.analyses, run.summary.analyses);
    assert_eq!(watched.analyses.last().unwrap().verdict, "failed");
}

#[tokio::test]
async fn an_error_rate_over_the_limit_rolls_back_with_both_versions_figures() {
    let account = account(&[
        (0, traffic(200, 0.3, 110.0)),
        (120, traffic(200, 5.0, 110.0)),
    ]);
    let run = deploy(&account, input(limits())).await;
    assert_eq!(run.execution.error.as_deref(), Some("AnalysisFailed"));
    let cause = run.execution.cause.clone().unwrap();
    assert!(
        cause.contains("error rate of the new version 5.00% (10 of 200 calls)"),
        "{cause}"
    );
    assert!(
        cause.contains("old version 0.20% (2 of 1000 calls)"),
        "{cause}"
    );
    assert_eq!(run.summary.simulated_seconds, 180.0, "the window 2:00–3:00");
    assert!(restored(&account));
}

#[tokio::test]
async fn a_p99_over_one_and_a_half_times_the_old_one_rolls_back() {
    let account = account(&[(0, traffic(200, 0.3, 400.0))]);
    let run = deploy(&account, input(limits())).await;
    assert_eq!(run.execution.error.as_deref(), Some("AnalysisFailed"));
    let cause = run.execution.cause.clone().unwrap();
    assert!(
        cause.contains("p99 duration of the new version 400 ms"),
        "{cause}"
    );
    assert!(cause.contains("old version 100 ms"), "{cause}");
    assert_eq!(run.summary.simulated_seconds, 60.0);
    assert!(restored(&account));
}

/// Too little traffic to judge holds the step (default): once enough calls arrive the canary is
/// judged and promoted; with none it fails after holding a bake's length. `"onLowTraffic":
/// "pass"` promotes on time instead.
#[tokio::test]
async fn too_little_traffic_holds_the_step_then_judges_or_fails() {
    let quiet = traffic(10, 0.0, 100.0);
    let account_late = account(&[(0, quiet), (360, traffic(200, 0.3, 110.0))]);
    let run = deploy(&account_late, input(limits())).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded, "{:?}", run.summary);
    assert_eq!(
        run.summary.timeline.last().unwrap().seconds,
        420.0,
        "held until 7:00"
    );

    let never = account(&[(0, quiet)]);
    let run = deploy(&never, input(limits())).await;
    assert_eq!(run.execution.error.as_deref(), Some("AnalysisFailed"));
    let cause = run.execution.cause.clone().unwrap();
    assert!(cause.contains("could not judge version 2"), "{cause}");
    assert!(
        cause.contains("10 calls in the last window, 100 needed"),
        "{cause}"
    );
    assert_eq!(run.summary.simulated_seconds, 600.0);
    assert!(restored(&never));

    let mut passing = limits();
    passing["onLowTraffic"] = json!("pass");
    let lenient = account(&[(0, quiet)]);
    let run = deploy(&lenient, input(passing)).await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
    assert_eq!(run.summary.simulated_seconds, 300.0);
}

#[test]
fn the_analysis_block_is_validated_by_field() {
    let refused = |analysis: Value| {
        DeploymentRequest::from_json(&input(analysis))
            .unwrap_err()
            .to_string()
    };
    assert!(
        refused(json!({"intervalSeconds": 90, "maxErrorRatePercent": 1}))
            .starts_with("analysis.intervalSeconds")
    );
    assert!(refused(json!({})).starts_with("analysis: sets no limit"));
    assert!(
        refused(json!({"maxErrorRatePercent": 1, "typo": 1})).starts_with("analysis.typo")
            || refused(json!({"maxErrorRatePercent": 1, "typo": 1})).contains("typo")
    );
}
