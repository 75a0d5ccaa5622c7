//! The handlers' decisions alone: Check Health's pure decision, a document clone, and one
//! Check Health and Shift Traffic invocation on the in-memory fakes.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use serde_json::Value;
use shifter::domain::Deployment;
use shifter::fakes::{FakeAlarms, FakeLambda, ManualClock};
use shifter::ports::{AlarmState, Clock, alarm_report};
use shifter_statemachine::asl::{EventKind, HistoryEvent};
use shifter_statemachine::local::{self, LocalAccount};

use crate::fleet::STRATEGY;
use crate::runtime;
use crate::stats::Stats;

/// The deployment documents as Check Health receives one mid-bake and as Shift Traffic
/// receives the first step, from a real run of the shipped definition.
pub(crate) fn documents() -> (Deployment, Value) {
    let rt = runtime();
    let account = LocalAccount::demo();
    let mut check: Option<Value> = None;
    let mut shift: Option<Value> = None;
    let mut observer = |e: &HistoryEvent| {
        if let EventKind::StateEntered { name, input } = &e.kind {
            if name == "Check Health" && e.at_seconds > 0.0 && check.is_none() {
                check = Some(input.clone());
            }
            if name == "Shift Traffic" && shift.is_none() {
                shift = Some(input.clone());
            }
        }
    };
    rt.block_on(local::run(
        &account,
        LocalAccount::demo_input(STRATEGY),
        "doc",
        &mut observer,
    ))
    .expect("runs");
    let (check, shift) = (
        check.expect("Check Health ran during a bake"),
        shift.expect("Shift Traffic ran"),
    );
    let doc = serde_json::from_value(check).expect("Check Health's input is a Deployment");
    (doc, shift)
}

/// Times `batch` calls of `f` per sample.
pub(crate) fn batched(samples: usize, batch: u64, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..batch {
        f();
    }
    (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed()
        })
        .collect()
}

pub(crate) fn bench_decisions(samples: usize) -> Vec<Stats> {
    const BATCH: u64 = 10_000;
    let (doc, shift_input) = documents();
    let names = doc.watch.alarms.clone();
    let states: Vec<(String, AlarmState)> =
        names.iter().map(|n| (n.clone(), AlarmState::Ok)).collect();
    let clock = ManualClock::at_epoch();
    clock.advance(TimeDelta::seconds(30));
    let now = clock.now();

    let checked = batched(samples, BATCH, || {
        let report = alarm_report(&names, &states);
        let next = black_box(doc.clone()).checked(now, Some(&report));
        black_box(next.expect("a decision"));
    });
    let clone_only = batched(samples, BATCH, || {
        black_box(black_box(&doc).clone());
    });

    // What one Check Health invocation costs in our code: decode the payload, read the alarms
    // (in-memory fake), decide, encode the result. Network and runtime excluded.
    let payload = serde_json::to_vec(&doc).expect("encodes");
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let alarms = FakeAlarms::new(shared.clone());
    let lambda = shifter::fakes::FakeLambda::new(shared.clone());
    for n in &names {
        alarms.add(n, AlarmState::Ok);
    }
    let rt = runtime();
    let invocation = batched(samples, BATCH / 10, || {
        let d: Deployment = serde_json::from_slice(black_box(&payload)).expect("decodes");
        let out = rt
            .block_on(check_health::check_health(
                &alarms,
                &shifter::fakes::FakeMetrics::new(),
                &lambda,
                &clock,
                d,
            ))
            .expect("decides");
        black_box(serde_json::to_vec(&out).expect("encodes"));
    });

    // Shift Traffic: decode, the note on the lock, one UpdateAlias on the in-memory account, encode.
    let shift_payload = serde_json::to_vec(&shift_input).expect("encodes");
    let shift = batched(samples, BATCH / 10, || {
        let lambda = FakeLambda::new(shared.clone());
        lambda.add_function("demo", "arn:aws:iam::000000000000:role/demo");
        lambda.publish("demo");
        lambda.publish("demo");
        let revision = lambda
            .put_alias("demo", "live", shifter::domain::AliasRoute::single("1"))
            .expect("alias");
        let mut d: Deployment = serde_json::from_slice(black_box(&shift_payload)).expect("decodes");
        d.members[0].revision_id = revision;
        // Start Deployment's lock, on which Shift Traffic notes its write first.
        let registry = shifter::fakes::FakeRegistry::new(shared.clone());
        let lock = shifter::ports::ActiveDeployment {
            deployment_id: d.deployment_id.clone(),
            execution_arn: "arn:aws:states:local-1:000000000000:execution:bench".into(),
            function: "demo".into(),
            alias: "live".into(),
            target_version: "2".into(),
            alarms: Vec::new(),
            expires_at: i64::MAX,
        };
        rt.block_on(shifter::ports::DeploymentRegistry::acquire(
            &registry, &lock,
        ))
        .expect("locked");
        let event = shift_traffic::ShiftEvent {
            deployment: d,
            attempt: 0,
        };
        let out = rt.block_on(shift_traffic::shift_traffic(
            &lambda, &registry, &clock, event,
        ));
        black_box(serde_json::to_vec(&out.ok()).expect("encodes"));
    });

    vec![
        Stats {
            name: "decision_checked",
            what: "Deployment::checked: Check Health's pure decision (incl. one document clone and the alarm report)",
            samples: checked,
            per_sample: BATCH,
            peak_bytes: None,
        },
        Stats {
            name: "decision_document_clone",
            what: "cloning the deployment document alone (part of the line above)",
            samples: clone_only,
            per_sample: BATCH,
            peak_bytes: None,
        },
        Stats {
            name: "handler_check_health",
            what: "check-health handler: JSON in, DescribeAlarms on the in-memory fake, decide, JSON out",
            samples: invocation,
            per_sample: BATCH / 10,
            peak_bytes: None,
        },
        Stats {
            name: "handler_shift_traffic",
            what: "shift-traffic handler: account set-up, JSON in, UpdateAlias on the in-memory fake, JSON out",
            samples: shift,
            per_sample: BATCH / 10,
            peak_bytes: None,
        },
    ]
}
