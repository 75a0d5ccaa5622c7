//! Whole deployments: one Canary10Percent30Minutes deployment, and 1,000 of them one after
//! another, as tokio tasks and across OS threads.

use std::hint::black_box;
use std::time::{Duration, Instant};

use shifter_statemachine::local::{self, LocalAccount, Outcome};

use crate::runtime;
use crate::stats::Stats;

pub(crate) const STRATEGY: &str = "Canary10Percent30Minutes";
pub(crate) const FLEET: usize = 1_000;

/// One simulated deployment of `demo` on its own account, from account setup to summary.
pub(crate) async fn one_deployment() -> Duration {
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

pub(crate) fn bench_canary(runs: usize) -> Stats {
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

pub(crate) fn bench_fleet_sequential(rounds: usize) -> Stats {
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

pub(crate) fn bench_fleet_tasks(rounds: usize, workers: usize) -> Stats {
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

pub(crate) fn bench_fleet_threads(rounds: usize, threads: usize) -> Stats {
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
