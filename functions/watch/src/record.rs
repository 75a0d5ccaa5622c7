//! The record each deployment leaves (`shifter::domain::record` decides what a moment adds):
//! written at the moments the watch function already handles — the start, each park that makes
//! a lifecycle event, the ending — one UpdateItem per lifecycle event, idempotent across
//! EventBridge's repeated deliveries (the event id keys the moment).
//!
//! A park's write that fails is logged (the park goes on, as with its event). A start's or an
//! ending's fails the invocation, which EventBridge retries; an ending's is written *before* its
//! events are put and its lock released, so the retry finds the lock and writes it again.

use chrono::{DateTime, Utc};
use serde_json::Value;
use shifter::ShifterError;
use shifter::domain::Deployment;
use shifter::domain::lifecycle::{LifecycleEvent, started};
use shifter::domain::record::{Source, park_time, started_by, update_of};
use tracing::{info, warn};

use crate::{ExecutionChange, Ports};

/// Where an ending's facts come from: its final document, else its input and its lock.
pub fn source_of(output: bool, held: bool) -> Source {
    match (output, held) {
        (true, _) => Source::Document,
        (false, true) => Source::InputAndLock,
        (false, false) => Source::Input,
    }
}

fn input_of(change: &ExecutionChange) -> Value {
    change
        .detail
        .input
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null)
}

fn date(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

/// STARTED, from the RUNNING status change: the input's facts and who started it, at the
/// execution's own start date.
pub async fn at_started(ports: &Ports<'_>, change: &ExecutionChange) -> Result<(), ShifterError> {
    let detail = &change.detail;
    let input = input_of(change);
    let event = started(&detail.name, &detail.execution_arn, &input);
    let at = date(detail.start_date).or(change.time).unwrap_or_default();
    let who = started_by(&detail.name, &input);
    apply(
        ports,
        &[event],
        Source::Input,
        |_| at,
        (Some(at), Some(who)),
    )
    .await
}

/// The events of a park: each moment at the time its document gives. A failure is logged,
/// never passed on.
pub async fn at_parked(ports: &Ports<'_>, d: &Deployment, found: &[LifecycleEvent]) {
    let time = |e: &LifecycleEvent| park_time(e.status, d);
    if let Err(e) = apply(ports, found, Source::Document, time, (None, None)).await {
        warn!(deployment = %d.deployment_id, error = %e, "record not updated; the deployment goes on");
    }
}

/// The events of an ending, at its stop date, before they are put.
pub async fn at_ended(
    ports: &Ports<'_>,
    change: &ExecutionChange,
    found: &[LifecycleEvent],
    source: Source,
) -> Result<(), ShifterError> {
    let detail = &change.detail;
    let input = input_of(change);
    let at = date(detail.stop_date).or(change.time).unwrap_or_default();
    let who = started_by(&detail.name, &input);
    let started = date(detail.start_date);
    apply(ports, found, source, |_| at, (started, Some(who))).await
}

async fn apply(
    ports: &Ports<'_>,
    found: &[LifecycleEvent],
    source: Source,
    time: impl Fn(&LifecycleEvent) -> DateTime<Utc>,
    started: (
        Option<DateTime<Utc>>,
        Option<shifter::domain::record::StartedBy>,
    ),
) -> Result<(), ShifterError> {
    for event in found {
        let Some(update) = update_of(event, source, time(event), started.clone()) else {
            info!(event_id = %event.event_id, "no alias named; no record");
            continue;
        };
        let new = ports.records.apply_record(&update).await?;
        info!(event_id = %event.event_id, new, "record updated");
    }
    Ok(())
}
