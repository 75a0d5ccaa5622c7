//! The dashboard's handlers over the demo: JSON shapes, the guard, and an approval through the
//! page's endpoint moving the gated deployment on.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

const HOST: &str = "127.0.0.1:8080";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// The demo at 600 simulated seconds per wall second, behind the router.
async fn demo_router() -> Router {
    demo_router_at(600.0).await
}

/// The demo paced at `speed` simulated seconds per wall second.
async fn demo_router_at(speed: f64) -> Router {
    let address: SocketAddr = HOST.parse().unwrap();
    router(Dashboard {
        source: demo::start(speed).await,
        token: TOKEN.to_owned(),
        hosts: hosts(address),
        poll: Duration::from_millis(10),
    })
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if !headers.iter().any(|(name, _)| *name == "host") {
        request = request.header("host", HOST);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = if method == "POST" {
        Body::from(json!({"reason": "test"}).to_string())
    } else {
        Body::empty()
    };
    let request = request
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 10_000_000)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Reads deployment `id` until `until` holds (at most 10 s of wall time).
async fn wait_for(app: &Router, id: &str, until: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..1000 {
        let (status, view) = call(app, "GET", &format!("/api/deployments/{id}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        if until(&view) {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{id} never got there");
}

#[tokio::test]
async fn the_list_names_every_demo_deployment_newest_first() {
    let app = demo_router().await;
    let (status, list) = call(&app, "GET", "/api/deployments", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["simulated"], json!(true));
    let ids: Vec<&str> = list["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    // The first three runs are the oldest (a replay may already have started after them).
    assert!(
        ids.ends_with(&["orders-v2", "payments-v2", "checkout-v2"]),
        "{ids:?}"
    );
    for d in list["deployments"].as_array().unwrap() {
        assert!(
            d["arn"]
                .as_str()
                .unwrap()
                .ends_with(d["id"].as_str().unwrap())
        );
        assert!(d["status"].is_string() && d["startedAt"].is_string());
    }
}

#[tokio::test]
async fn one_deployment_has_its_steps_summary_and_events_and_the_alarm_rolls_one_back() {
    let app = demo_router().await;
    let payments = wait_for(&app, "payments-v2", |v| v["status"] != "RUNNING").await;
    assert_eq!(payments["status"], "FAILED");
    assert_eq!(payments["summary"]["outcome"], "RolledBack");
    assert_eq!(payments["summary"]["error"], "AlarmTriggered");
    let doc = &payments["deployment"];
    assert_eq!(
        (doc["function"].as_str(), doc["targetVersion"].as_str()),
        (Some("payments"), Some("2"))
    );
    assert_eq!(doc["steps"][0]["weight"], json!(10.0));
    assert_eq!(doc["alarms"], json!(["payments-errors"]));
    assert!(doc["analysis"]["maxErrorRatePercent"].is_number());
    let lines: Vec<&str> = payments["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_str().unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("traffic on version 2: 10.0%")),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("deployment failed: AlarmTriggered")
    );
    assert_eq!(
        payments["actions"],
        json!({"approve": false, "promote": false, "abort": false})
    );
    let (status, missing) = call(&app, "GET", "/api/deployments/nobody", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
}

#[tokio::test]
async fn answers_are_refused_without_the_token_from_another_site_or_by_get() {
    let app = demo_router().await;
    let gate = "/api/deployments/orders-v2/approve";
    wait_for(&app, "orders-v2", |v| v["actions"]["approve"] == true).await;
    let (status, _) = call(&app, "POST", gate, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token");
    let (status, _) = call(&app, "POST", gate, &[("x-shifter-token", "0123")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "wrong token");
    let foreign = [
        ("x-shifter-token", TOKEN),
        ("origin", "http://evil.example"),
    ];
    let (status, _) = call(&app, "POST", gate, &foreign).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "foreign Origin");
    let (status, _) = call(&app, "GET", gate, &[("x-shifter-token", TOKEN)]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = call(&app, "GET", "/api/deployments", &[("host", "evil.example")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a rebound name");
    let still = wait_for(&app, "orders-v2", |_| true).await;
    assert_eq!(still["waiting"]["park"], "approval", "nothing was answered");
    // The page itself carries the token, and scripts only from this server.
    let page = app
        .clone()
        .oneshot(
            Request::get("/")
                .header("host", HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = axum::body::to_bytes(page.into_body(), 1_000_000)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&html).contains(TOKEN));
}

#[tokio::test]
async fn the_token_approves_the_gated_demo_deployment_which_moves_on() {
    // At 60× a gate's 30 s pieces last half a second of wall time, long enough that a token read
    // is still the parked one when the answer reaches it on a loaded machine (at 600× a piece is
    // 50 ms, and ten tries in a row could all find their token stale).
    let app = demo_router_at(60.0).await;
    let gated = wait_for(&app, "orders-v2", |v| v["actions"]["approve"] == true).await;
    assert_eq!(gated["observedWeight"], 10);
    let allowed = [
        ("x-shifter-token", TOKEN),
        ("origin", "http://127.0.0.1:8080"),
    ];
    // A gate re-parks with a new token at the end of each piece: a token read just before its
    // piece ends is stale, which the answer says; try again, as `shifter approve` tells a person
    // to.
    let mut tries = 0;
    let (status, answered) = loop {
        let (status, answered) =
            call(&app, "POST", "/api/deployments/orders-v2/approve", &allowed).await;
        tries += 1;
        let stale = answered["error"]
            .as_str()
            .is_some_and(|e| e.contains("not waiting"));
        if !(stale && tries < 20) {
            break (status, answered);
        }
    };
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["state"], "Await Approval");
    let done = wait_for(&app, "orders-v2", |v| v["status"] != "RUNNING").await;
    assert_eq!(done["status"], "SUCCEEDED", "{}", done["summary"]);
    let weights: Vec<f64> = done["summary"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["weight"].as_f64().unwrap())
        .collect();
    assert_eq!(weights, [0.0, 10.0, 50.0, 100.0]);
    // A second approval has nothing to answer.
    let (status, refused) =
        call(&app, "POST", "/api/deployments/orders-v2/approve", &allowed).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
}

/// A page opened later still sees something live: each demo deployment is played again once it
/// has ended and rested, its service put back as it was, so run 2 of `payments` rolls back on
/// its alarm as run 1 did, and run 2 of `checkout` moves traffic from version 1 again.
#[tokio::test]
async fn ended_demo_deployments_are_played_again() {
    let app = demo_router().await;
    for _ in 0..1000 {
        let (_, list) = call(&app, "GET", "/api/deployments", &[]).await;
        let listed = list["deployments"].as_array().unwrap();
        let ids: Vec<&str> = listed.iter().filter_map(|d| d["id"].as_str()).collect();
        if ids.contains(&"payments-v2-2") && ids.contains(&"checkout-v2-2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let again = wait_for(&app, "payments-v2-2", |v| v["status"] != "RUNNING").await;
    assert_eq!(
        again["summary"]["outcome"], "RolledBack",
        "{}",
        again["summary"]
    );
    assert_eq!(again["summary"]["error"], "AlarmTriggered");
    let checkout = wait_for(&app, "checkout-v2-2", |v| v["observedWeight"] == 10).await;
    assert_eq!(checkout["deployment"]["function"], "checkout");
}

/// The page needs no CDN: its HTML, script and style name nothing on another host (no absolute
/// or protocol-relative URL, no CSS `url()` or `@import`). The browser test checks what it
/// really loads (`cli/tests/cli/browser.rs`).
#[test]
fn the_page_names_nothing_outside_the_dashboard() {
    for (file, text) in [
        ("index.html", server::PAGE),
        ("app.js", server::SCRIPT),
        ("style.css", server::STYLE),
    ] {
        for outside in [
            "http:",
            "https:",
            "src=\"//",
            "href=\"//",
            "url(",
            "@import",
        ] {
            assert!(!text.contains(outside), "{file} names {outside}");
        }
    }
}
