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
//! plan is set after Start Deployment; `simulate_steps_886` is the largest input
//! `shifter simulate` accepts, run the way the CLI runs it.
//!
//! The 1,000-deployment figures give every deployment its own `LocalAccount` (own virtual
//! clock), run one after another, as tokio tasks on a multi-thread runtime, and split across
//! one OS thread per core. Deployments on one account sharing a single virtual clock are not
//! measured here.

mod decisions;
mod fleet;
mod heap;
mod stats;
mod steps;

use stats::{Stats, fmt};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing else we use.
    let quick = std::env::var_os("BENCH_QUICK").is_some()
        || std::env::args().any(|a| a == "--test" || a == "--quick");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (runs, rounds, samples) = if quick { (5, 1, 3) } else { (300, 5, 30) };

    let mut all = vec![fleet::bench_canary(runs)];
    all.extend(steps::bench_steps(quick));
    all.extend(decisions::bench_decisions(samples));
    all.push(fleet::bench_fleet_sequential(rounds));
    all.push(fleet::bench_fleet_tasks(rounds, cores));
    all.push(fleet::bench_fleet_threads(rounds, cores));

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
