//! The dashboard's HTTP side (axum): the page, its JSON, a server-sent event stream per
//! deployment, the chart, and the answer endpoints, guarded against other sites.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::view::Source;
use crate::error::CliError;
use crate::operate::{Answer, answer};

pub(super) const PAGE: &str = include_str!("page/index.html");
pub(super) const SCRIPT: &str = include_str!("page/app.js");
pub(super) const STYLE: &str = include_str!("page/style.css");

/// The header that carries the server's token on every answer.
pub const TOKEN_HEADER: &str = "x-shifter-token";

/// What every handler shares.
pub struct Dashboard {
    /// Where executions are read and answered.
    pub source: Source,
    /// The per-server secret the page carries and answers must send back.
    pub token: String,
    /// `host:port` names this server answers to (Host, and Origin's host).
    pub hosts: Vec<String>,
    /// How often a stream reads the deployment again.
    pub poll: Duration,
}

type Shared = Arc<Dashboard>;

/// A random token: 32 hex digits from the operating system's generator.
pub fn new_token() -> Result<String, CliError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| CliError::Usage(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The routes, over `dashboard`.
pub fn router(dashboard: Dashboard) -> Router {
    let shared: Shared = Arc::new(dashboard);
    Router::new()
        .route("/", get(page))
        .route(
            "/app.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT) }),
        )
        .route(
            "/style.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE) }),
        )
        .route("/api/deployments", get(list))
        .route("/api/deployments/{id}", get(one))
        .route("/api/deployments/{id}/chart.svg", get(chart))
        .route("/api/deployments/{id}/stream", get(stream))
        .route("/api/deployments/{id}/{action}", post(act))
        .layer(middleware::from_fn_with_state(shared.clone(), same_host))
        .with_state(shared)
}

fn failure(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn served(result: Result<Value, CliError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => failure(StatusCode::NOT_FOUND, &e.plain()),
    }
}

/// Requests must name this server in Host (a DNS-rebinding page names its own), and a
/// browser's Origin, when sent, must be this server's.
async fn same_host(State(d): State<Shared>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| d.hosts.iter().any(|ours| ours == h)) {
        return failure(StatusCode::FORBIDDEN, "Host is not this dashboard");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ours = origin.to_str().ok().and_then(|o| o.strip_prefix("http://"));
        if !ours.is_some_and(|o| d.hosts.iter().any(|h| h == o)) {
            return failure(StatusCode::FORBIDDEN, "cross-site request refused (Origin)");
        }
    }
    next.run(request).await
}

async fn page(State(d): State<Shared>) -> Response {
    let html = PAGE.replace("{{TOKEN}}", &d.token);
    let csp = "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; \
               frame-ancestors 'none'; form-action 'none'";
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (headers, html).into_response()
}

async fn list(State(d): State<Shared>) -> Response {
    served(d.source.list().await)
}

async fn one(State(d): State<Shared>, Path(id): Path<String>) -> Response {
    served(d.source.one(&id).await)
}

async fn chart(State(d): State<Shared>, Path(id): Path<String>) -> Response {
    let drawn = match d.source.summary(&id).await {
        Ok((summary, started, running)) => {
            crate::chart::render_as(&summary, (!d.source.simulated).then_some(started), running)
        }
        Err(e) => Err(e),
    };
    match drawn {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => failure(StatusCode::NOT_FOUND, &e.plain()),
    }
}

/// Server-sent events: the deployment's JSON each time it changes, until it has ended.
async fn stream(State(d): State<Shared>, Path(id): Path<String>) -> impl IntoResponse {
    let events = futures_util::stream::unfold(Some(String::new()), move |last| {
        let d = d.clone();
        let id = id.clone();
        async move {
            let last = last?;
            loop {
                let (text, ended) = match d.source.one(&id).await {
                    Ok(view) => (view.to_string(), view["status"] != "RUNNING"),
                    Err(e) => (json!({"error": e.plain()}).to_string(), true),
                };
                if text != last {
                    let event = Event::default().event("deployment").data(text.clone());
                    let next = (!ended).then_some(text);
                    return Some((Ok::<_, Infallible>(event), next));
                }
                tokio::time::sleep(d.poll).await;
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// `POST /api/deployments/{id}/approve|promote|abort`: the CLI's `answer`, once the token is
/// right. Abort takes `{"reason": "..."}`.
async fn act(
    State(d): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let sent = headers.get(TOKEN_HEADER).and_then(|t| t.to_str().ok());
    if !sent.is_some_and(|t| same_secret(t, &d.token)) {
        return failure(StatusCode::FORBIDDEN, "missing or wrong X-Shifter-Token");
    }
    let what = match action.as_str() {
        "approve" => Answer::Approve,
        "promote" => Answer::Promote,
        "abort" => {
            let reason = body.as_ref().and_then(|b| b["reason"].as_str());
            let reason = reason.map(str::trim).filter(|r| !r.is_empty());
            Answer::Abort(reason.unwrap_or("aborted from the dashboard").to_owned())
        }
        _ => return failure(StatusCode::NOT_FOUND, "no such action"),
    };
    let arn = d.source.arn(&id);
    match answer(
        d.source.executions.as_ref(),
        d.source.tasks.as_ref(),
        &arn,
        &what,
    )
    .await
    {
        Ok(state) => Json(json!({"answered": action, "state": state})).into_response(),
        Err(e) => failure(StatusCode::CONFLICT, &e.plain()),
    }
}

/// Compares without stopping at the first difference.
fn same_secret(sent: &str, token: &str) -> bool {
    sent.len() == token.len()
        && sent
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
