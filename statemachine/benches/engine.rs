//! Engine benchmarks (plain `harness = false`, no criterion): wall time of the local runner on
//! the shipped definition, of 1,000 deployments at once, and of the handlers' decisions.
//!
//! `cargo bench -p shifter-statemachine --bench engine` prints a table; with
//! `BENCH_JSON=path` it also writes the numbers as JSON (scripts/bench uses that for
//! BENCHMARKS.md). `BENCH_QUICK=1` runs fewer iterations (a smoke test, not a measurement).
//!
//! The `steps_*` figures run one deployment of 10, 100 and 1,000 steps (60 s bakes, an alarm
//! check at the end of each bake) through the shipped definition and the real handlers, and
//! record the peak heap of each run (a counting allocator wraps the system one). 1,000 steps
//! is more than an execution input may hold (32 KiB), so these runs start from a document whose
//! plan is set after Start Deployment; `simulate_steps_955` is the largest input
//! `shifter simulate` accepts, run the way the CLI runs it.
//!
//! The 1,000-deployment figures give every deployment its own `LocalAccount` (own virtual
//! clock), run one after another, as tokio tasks on a multi-thread runtime, and split across
//! one OS thread per core. Deployments on one account sharing a single virtual clock are not
//! measured here.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::TimeDelta;
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::{AliasRoute, Deployment, Plan, Step, Weight};
use shifter::fakes::{FakeAlarms, FakeLambda, ManualClock};
use shifter::ports::{AlarmState, Clock, alarm_report};
use shifter_statemachine::asl::{
    EventKind, ExecutionStatus, History, HistoryEvent, InvokeError, LambdaInvoker,
};
use shifter_statemachine::local::{self, LocalAccount, Outcome};

/// The system allocator, counting the bytes live and their peak (for the `steps_*` runs).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's pointer, layout and size.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result and the peak heap above what was live before, in bytes.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

const STRATEGY: &str = "Canary10Percent30Minutes";
const FLEET: usize = 1_000;

struct Stats {
    name: &'static str,
    what: &'static str,
    samples: Vec<Duration>,
    /// Work items per sample (1 unless the sample timed a batch).
    per_sample: u64,
    /// The largest peak heap of one sample, when measured.
    peak_bytes: Option<usize>,
}

impl Stats {
    fn sorted(&self) -> Vec<Duration> {
        let mut s = self.samples.clone();
        s.sort();
        s
    }

    fn quantile(&self, q: f64) -> Duration {
        let s = self.sorted();
        let i = ((s.len() - 1) as f64 * q).round() as usize;
        s[i] / u32::try_from(self.per_sample).unwrap_or(u32::MAX)
    }

    fn json(&self) -> Value {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        serde_json::json!({
            "name": self.name,
            "what": self.what,
            "runs": self.samples.len(),
            "perSample": self.per_sample,
            "medianMicros": us(self.quantile(0.5)),
            "p95Micros": us(self.quantile(0.95)),
            "minMicros": us(self.quantile(0.0)),
            "peakHeapBytes": self.peak_bytes,
        })
    }
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.2} µs")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// One simulated deployment of `demo` on its own account, from account setup to summary.
async fn one_deployment() -> Duration {
    let start = Instant::now();
    let account = LocalAccount::demo();
    let run = local::run(
        &account,
        LocalAccount::demo_input(STRATEGY),
        "bench",
        &mut |_| {},
    )
    .await
    .expect("the runner accepts the shipped definition");
    let took = start.elapsed();
    assert_eq!(run.summary.outcome, Outcome::Succeeded);
    assert_eq!(run.summary.simulated_seconds, 1800.0);
    took
}

fn bench_canary(runs: usize) -> Stats {
    let rt = runtime();
    rt.block_on(one_deployment()); // warm-up: page in the definition and allocator
    let samples = (0..runs).map(|_| rt.block_on(one_deployment())).collect();
    Stats {
        name: "canary30_one_deployment",
        what: "one simulated Canary10Percent30Minutes deployment (30 virtual minutes, hooks, 30 s checks)",
        samples,
        per_sample: 1,
        peak_bytes: None,
    }
}

fn bench_fleet_sequential(rounds: usize) -> Stats {
    let rt = runtime();
    let samples = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..FLEET {
                black_box(rt.block_on(one_deployment()));
            }
            start.elapsed()
        })
        .collect();
    Stats {
        name: "fleet_1000_sequential",
        what: "1,000 Canary10Percent30Minutes deployments, one after another, each on its own account",
        samples,
        per_sample: 1,
        peak_bytes: None,
    }
}

fn bench_fleet_tasks(rounds: usize, workers: usize) -> Stats {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let samples = (0..rounds)
        .map(|_| {
            rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..FLEET).map(|_| tokio::spawn(one_deployment())).collect();
                for t in tasks {
                    black_box(t.await.expect("deployment task"));
                }
                start.elapsed()
            })
        })
        .collect();
    Stats {
        name: "fleet_1000_tokio_tasks",
        what: "1,000 deployments as concurrent tokio tasks (multi-thread runtime, one worker per core), each on its own account",
        samples,
        per_sample: 1,
        peak_bytes: None,
    }
}

fn bench_fleet_threads(rounds: usize, threads: usize) -> Stats {
    let samples = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for t in 0..threads {
                    let share = FLEET / threads + usize::from(t < FLEET % threads);
                    scope.spawn(move || {
                        let rt = runtime();
                        for _ in 0..share {
                            black_box(rt.block_on(one_deployment()));
                        }
                    });
                }
            });
            start.elapsed()
        })
        .collect();
    Stats {
        name: "fleet_1000_os_threads",
        what: "1,000 deployments split over one OS thread per core, each on its own account",
        samples,
        per_sample: 1,
        peak_bytes: None,
    }
}

/// `n` steps of 60 s below 100 % (evenly spaced weights), then the promotion.
fn long_plan(n: u32) -> Vec<Step> {
    let steps = (1..=n)
        .map(|i| Step {
            weight: Weight::from_bp(i * 9_900 / n).expect("below 100 %"),
            bake_seconds: 60,
        })
        .collect();
    Plan::new(steps).expect("a valid plan").steps().to_vec()
}

/// The real handlers over `account`'s fakes, with Start Deployment's plan replaced by `plan`
/// (an input with 1,000 steps is larger than validation accepts).
struct LongPlan {
    account: LocalAccount,
    plan: Vec<Step>,
}

impl LongPlan {
    async fn handle(&self, function: &str, payload: Value) -> Result<Value, ShifterError> {
        let a = &self.account;
        let out = match function {
            "start-deployment" => {
                let ports = start_deployment::Ports {
                    router: &a.lambda,
                    registry: &a.lambda,
                    alarms: &a.alarms,
                    clock: &a.clock,
                    deployments: &a.deployments,
                    executions: &a.executions,
                    concurrency: &a.lambda,
                };
                let mut d =
                    start_deployment::start_deployment(&ports, &a.config, decode(payload)?).await?;
                d.plan.clone_from(&self.plan);
                d
            }
            "shift-traffic" => {
                shift_traffic::shift_traffic(&a.lambda, &a.clock, decode(payload)?).await?
            }
            "check-health" => {
                check_health::check_health(
                    &a.alarms,
                    &a.metrics,
                    &a.lambda,
                    &a.clock,
                    decode(payload)?,
                )
                .await?
            }
            "watch" => {
                let ports = watch::Ports {
                    registry: &a.deployments,
                    alarms: &a.alarms,
                    tasks: &a.tasks,
                };
                let outcome = watch::handle(&ports, watch::WatchEvent::from_json(payload)?).await?;
                return serde_json::to_value(outcome)
                    .map_err(|e| ShifterError::invalid("(output)", e.to_string()));
            }
            _ => roll_back::roll_back(&a.lambda, decode(payload)?).await?,
        };
        serde_json::to_value(out).map_err(|e| ShifterError::invalid("(output)", e.to_string()))
    }
}

fn decode<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, ShifterError> {
    serde_json::from_value(payload).map_err(|e| ShifterError::invalid("(payload)", e.to_string()))
}

#[async_trait]
impl LambdaInvoker for LongPlan {
    async fn invoke(
        &self,
        function_name: &str,
        payload: Value,
        _timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError> {
        let short = function_name.rsplit(':').next().unwrap_or(function_name);
        self.handle(short, payload)
            .await
            .map_err(|e| InvokeError::Function {
                error_type: e.kind().to_owned(),
                error_message: e.to_string(),
            })
    }
}

/// One deployment of `n` steps through the shipped definition, as `local::run` runs it
/// (events kept without documents); returns the wall time.
fn steps_run(rt: &tokio::runtime::Runtime, n: u32) -> Duration {
    let account = LocalAccount::demo();
    let input = json!({
        "functionName": "demo", "alias": "live", "targetVersion": "2",
        "strategy": {"steps": [{"weight": 50, "bakeSeconds": 60}]},
        "alarms": ["demo-errors"], "checkIntervalSeconds": 60
    });
    let machine = local::shipped_state_machine()
        .expect("the shipped definition parses")
        .with_history(History::WithoutData);
    let start = Instant::now();
    let invoker = LongPlan {
        plan: long_plan(n),
        account,
    };
    let execution = rt
        .block_on(machine.run(
            &invoker,
            &invoker.account.clock,
            input,
            "steps",
            &mut |_| {},
        ))
        .expect("runs");
    let took = start.elapsed();
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    let alias = invoker.account.lambda.alias("demo", "live").expect("alias");
    assert_eq!(alias.route, AliasRoute::single("2"));
    took
}

/// `steps_*`: deployments of 10, 100 and 1,000 steps; `simulate_steps_955`: the largest input
/// `shifter simulate` accepts.
fn bench_steps(quick: bool) -> Vec<Stats> {
    let rt = runtime();
    let runs = |n: u32| match (quick, n) {
        (true, _) => 2,
        (false, 1000) => 5,
        (false, _) => 20,
    };
    let mut all: Vec<Stats> = [
        (
            10,
            "steps_10",
            "one deployment of 10 steps (60 s bakes, a check per bake)",
        ),
        (
            100,
            "steps_100",
            "one deployment of 100 steps (60 s bakes, a check per bake)",
        ),
        (
            1000,
            "steps_1000",
            "one deployment of 1,000 steps (60 s bakes, a check per bake)",
        ),
    ]
    .into_iter()
    .map(|(n, name, what)| {
        let mut peak = 0;
        let samples = (0..runs(n))
            .map(|_| {
                let (took, bytes) = peak_heap(|| steps_run(&rt, n));
                peak = peak.max(bytes);
                took
            })
            .collect();
        Stats {
            name,
            what,
            samples,
            per_sample: 1,
            peak_bytes: Some(peak),
        }
    })
    .collect();
    let mut peak = 0;
    let samples = (0..runs(1000))
        .map(|_| {
            let ((took, outcome), bytes) = peak_heap(|| rt.block_on(simulate_955()));
            assert_eq!(outcome, Outcome::Succeeded);
            peak = peak.max(bytes);
            took
        })
        .collect();
    all.push(Stats {
        name: "simulate_steps_955",
        what: "local::run (what shifter simulate runs) on the largest accepted input: 955 steps, 60 s bakes and checks",
        samples,
        per_sample: 1,
        peak_bytes: Some(peak),
    });
    all
}

/// The largest custom strategy an input may hold (32 KiB), on the demo account.
async fn simulate_955() -> (Duration, Outcome) {
    let steps: Vec<Value> = (1..=955u32)
        .map(|i| json!({"weight": f64::from(i * 9_900 / 955) / 100.0, "bakeSeconds": 60}))
        .collect();
    let mut input = LocalAccount::demo_input("AllAtOnce");
    input["strategy"] = json!({ "steps": steps });
    input["checkIntervalSeconds"] = json!(60);
    let account = LocalAccount::demo();
    let start = Instant::now();
    let run = local::run(&account, input, "simulate", &mut |_| {})
        .await
        .expect("runs");
    (start.elapsed(), run.summary.outcome)
}

/// The deployment documents as Check Health receives one mid-bake and as Shift Traffic
/// receives the first step, from a real run of the shipped definition.
fn documents() -> (Deployment, Value) {
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
fn batched(samples: usize, batch: u64, mut f: impl FnMut()) -> Vec<Duration> {
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

fn bench_decisions(samples: usize) -> Vec<Stats> {
    const BATCH: u64 = 10_000;
    let (doc, shift_input) = documents();
    let names = doc.alarms.clone();
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

    // Shift Traffic: decode, one UpdateAlias on the in-memory account, encode.
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
        d.revision_id = revision;
        let event = shift_traffic::ShiftEvent {
            deployment: d,
            attempt: 0,
        };
        let out = rt.block_on(shift_traffic::shift_traffic(&lambda, &clock, event));
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

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing else we use.
    let quick = std::env::var_os("BENCH_QUICK").is_some()
        || std::env::args().any(|a| a == "--test" || a == "--quick");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (runs, rounds, samples) = if quick { (5, 1, 3) } else { (300, 5, 30) };

    let mut all = vec![bench_canary(runs)];
    all.extend(bench_steps(quick));
    all.extend(bench_decisions(samples));
    all.push(bench_fleet_sequential(rounds));
    all.push(bench_fleet_tasks(rounds, cores));
    all.push(bench_fleet_threads(rounds, cores));

    println!(
        "{:<26} {:>6} {:>11} {:>11} {:>11} {:>10}  what",
        "benchmark", "runs", "median", "p95", "min", "peak heap"
    );
    for s in &all {
        let peak = s
            .peak_bytes
            .map_or_else(String::new, |b| format!("{:.1} MB", b as f64 / 1e6));
        println!(
            "{:<26} {:>6} {:>11} {:>11} {:>11} {:>10}  {}",
            s.name,
            s.samples.len(),
            fmt(s.quantile(0.5)),
            fmt(s.quantile(0.95)),
            fmt(s.quantile(0.0)),
            peak,
            s.what
        );
    }
    if let Some(path) = std::env::var_os("BENCH_JSON") {
        let doc = serde_json::json!({
            "cores": cores,
            "quick": quick,
            "benchmarks": all.iter().map(Stats::json).collect::<Vec<_>>(),
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("encodes"))
            .expect("writes BENCH_JSON");
    }
}
