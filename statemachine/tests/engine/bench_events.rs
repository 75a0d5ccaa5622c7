//! The start-up benchmark's events (bench/results/events/) are the exact payloads our
//! functions receive from the shipped definition, so `scripts/bench` and the smoke run in
//! `scripts/test` cannot drift from what Step Functions sends.
//!
//! The run mirrors the world bench/startup.py builds on moto: `orders-api` with versions 1
//! and 2, alias `live` on 1, alarms `bench-errors` and `bench-latency`, no hooks. The harness
//! patches only what exists at run time: moto's RevisionId and the wall-clock step start.
//!
//! After a deliberate change of a payload, regenerate the files with
//! `BLESS_BENCH_EVENTS=1 cargo test -p shifter-statemachine --test engine bench_events`.

use std::path::PathBuf;

use serde_json::{Value, json};
use shifter::domain::AliasRoute;
use shifter::ports::AlarmState;
use shifter_statemachine::asl::EventKind;
use shifter_statemachine::local::{self, LocalAccount};

const FUNCTION: &str = "orders-api";
const ALARMS: [&str; 2] = ["bench-errors", "bench-latency"];

/// The Lambda payloads (the evaluated `Payload` of each `lambda:invoke` Task) of one run, in
/// order, with the state that sent each and when.
async fn payloads() -> Vec<(String, f64, Value)> {
    let account = LocalAccount::new();
    account
        .lambda
        .add_function(FUNCTION, "arn:aws:iam::123456789012:role/bench");
    account.lambda.publish(FUNCTION);
    account.lambda.publish(FUNCTION);
    account
        .lambda
        .put_alias(FUNCTION, "live", AliasRoute::single("1"));
    for alarm in ALARMS {
        account.alarms.add(alarm, AlarmState::Ok);
    }
    let input = json!({
        "functionName": FUNCTION,
        "alias": "live",
        "targetVersion": "2",
        "strategy": "Canary10Percent30Minutes",
        "alarms": ALARMS,
        "checkIntervalSeconds": 30,
    });
    // The runner keeps events without their documents; the observer sees them whole.
    let mut events = Vec::new();
    local::run(&account, input, "bench", &mut |e| events.push(e.clone()))
        .await
        .expect("the runner accepts the shipped definition");
    events
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::TaskScheduled {
                state,
                resource,
                mut parameters,
                ..
            } if resource == "arn:aws:states:::lambda:invoke" => {
                Some((state, e.at_seconds, parameters["Payload"].take()))
            }
            _ => None,
        })
        .collect()
}

/// Compares `payload` with the checked-in event `file`, or rewrites it under BLESS_BENCH_EVENTS.
fn matches_the_file(file: &str, payload: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../bench/results/events")
        .join(file);
    if std::env::var_os("BLESS_BENCH_EVENTS").is_some() {
        let text = serde_json::to_string_pretty(payload).expect("encodes") + "\n";
        std::fs::write(&path, text).expect("writes the event");
        return;
    }
    let text = std::fs::read_to_string(&path).expect("the event file exists");
    let stored: Value = serde_json::from_str(&text).expect("the event file is JSON");
    assert_eq!(
        &stored,
        payload,
        "{} is not what the state machine sends; if the payload changed on purpose, run \
         BLESS_BENCH_EVENTS=1 cargo test -p shifter-statemachine --test engine bench_events \
         and check what bench/startup.py patches",
        path.display()
    );
}

#[tokio::test]
async fn check_health_event_is_what_check_health_receives_mid_bake() {
    let all = payloads().await;
    let (_, _, payload) = all
        .iter()
        .find(|(state, at, _)| state == "Check Health" && *at > 0.0)
        .expect("Check Health ran during the first bake");
    assert_eq!(payload["traffic"], 1000, "10% on version 2: {payload}");
    matches_the_file("check-health.json", payload);
}

#[tokio::test]
async fn shift_traffic_event_is_what_shift_traffic_receives_first() {
    let all = payloads().await;
    let (_, _, payload) = all
        .iter()
        .find(|(state, _, _)| state == "Shift Traffic")
        .expect("Shift Traffic ran");
    assert_eq!(payload["attempt"], 0, "{payload}");
    matches_the_file("shift-traffic.json", payload);
}
