//! The step-by-step log `shifter simulate` prints as the run goes, in simulated time.

use serde_json::Value;
use shifter::domain::{Decision, Deployment};
use shifter::fakes::ManualClock;
use shifter::states;
use shifter_statemachine::asl::{EventKind, HistoryEvent};

use crate::output::clock;

/// Prints each step as it happens, in simulated time.
#[derive(Default)]
pub struct Printer {
    previous_task: String,
}

impl Printer {
    /// Prints the line `event` deserves, if any.
    pub fn print(&mut self, event: &HistoryEvent) {
        let t = format!("t+{:>7}", clock(event.at_seconds as u64));
        let (state, line) = match &event.kind {
            EventKind::StateExited { name, output } => {
                let previous = std::mem::replace(&mut self.previous_task, name.clone());
                let Some(line) = exited(name, output, &previous, event.at_seconds) else {
                    return;
                };
                (name, line)
            }
            EventKind::Retrying {
                state,
                attempt,
                delay_seconds,
            } => (state, format!("retry {attempt} in {delay_seconds:.1}s")),
            // A park's timeout is the normal end of a bake: not worth a line.
            EventKind::Caught { error, .. } if error == "States.Timeout" => return,
            EventKind::Caught { state, error, .. } if error == "AlarmTriggered" => (
                state,
                "alarm event: the watch function failed the parked task".to_owned(),
            ),
            EventKind::Caught { state, error, next } => (state, format!("{error} → {next}")),
            EventKind::TaskSucceeded { state, output } if output.get("action").is_some() => {
                (state, format!("operator answered {output}"))
            }
            EventKind::ExecutionAborted => {
                say!(
                    "{t}  {:<22} the execution was stopped (StopExecution): no Roll Back runs; the \
                     watch function hears of it through EventBridge",
                    "(stopped)"
                );
                return;
            }
            EventKind::StateEntered { name, .. } if name == states::AWAIT_APPROVAL => (
                name,
                "waiting for approval (shifter approve|promote|abort), alarms watched".to_owned(),
            ),
            EventKind::StateEntered { name, input } if states::is_bake(name) => {
                let wait = input.get("waitSeconds").and_then(Value::as_u64);
                let Some(wait) = wait else { return };
                (
                    name,
                    format!(
                        "parked on the watch function for {}: an alarm event ends it at once",
                        clock(wait)
                    ),
                )
            }
            _ => return,
        };
        say!("{t}  {state:<22} {line}");
    }
}

/// A release train's moves: `orders-api:live 41 → 42, payments-api:live 17 → 18`.
fn train_moves(d: &Deployment) -> String {
    let moves: Vec<String> = d
        .members
        .iter()
        .map(|m| {
            format!(
                "{} {} → {}",
                m.label(),
                m.original_version,
                m.target_version
            )
        })
        .collect();
    moves.join(", ")
}

/// What Shift Traffic or Promote did. A write that failed (drift, retries run out) exits
/// through its Catch with the error in `caught`: its failure line was already printed, and no
/// shift or promotion landed.
fn write_line(name: &str, d: &Deployment) -> Option<String> {
    if d.ending.caught.is_some() {
        return None;
    }
    Some(match name {
        states::SHIFT_TRAFFIC if d.members.is_train() => format!(
            "{} of traffic on the new version of all {} aliases",
            d.progress.traffic,
            d.members.len()
        ),
        states::SHIFT_TRAFFIC => {
            format!(
                "{} of traffic on version {}",
                d.progress.traffic,
                d.lead().target_version
            )
        }
        states::PROMOTE if d.members.is_train() => format!(
            "100% on the new version of all {} aliases, routing cleared",
            d.members.len()
        ),
        states::PROMOTE => format!(
            "100% on version {}, routing cleared",
            d.lead().target_version
        ),
        _ => return None,
    })
}

/// What a state that finished with `output` did, for people.
fn exited(name: &str, output: &Value, previous: &str, at_seconds: f64) -> Option<String> {
    if states::hook_of(name).is_some() {
        let answer = output
            .pointer("/hookResult/payload")
            .map_or_else(|| "nothing".to_owned(), Value::to_string);
        return Some(format!("returned {answer}"));
    }
    let d = serde_json::from_value::<Deployment>(output.clone()).ok()?;
    let line = match name {
        states::START_DEPLOYMENT if d.decision == Decision::AlreadyCurrent => format!(
            "alias {} of {} is already on version {}: nothing to do",
            d.lead().alias,
            d.lead().function_name,
            d.lead().target_version
        ),
        states::START_DEPLOYMENT if d.members.is_train() => format!(
            "release train of {} aliases: {}; {} ({} steps), pre-flight checks passed for each",
            d.members.len(),
            train_moves(&d),
            d.progress.strategy,
            d.progress.plan.len()
        ),
        states::START_DEPLOYMENT => format!(
            "alias {} of {}: version {} → {}, {} ({} steps), pre-flight checks passed",
            d.lead().alias,
            d.lead().function_name,
            d.lead().original_version,
            d.lead().target_version,
            d.progress.strategy,
            d.progress.plan.len()
        ),
        states::SHIFT_TRAFFIC | states::PROMOTE => return write_line(name, &d),
        states::CHECK_HEALTH => check_line(&d, previous, at_seconds),
        states::ROLL_BACK => d
            .ending
            .failure
            .as_ref()
            .map_or_else(String::new, |f| f.cause.clone()),
        _ => return None,
    };
    Some(line)
}

/// What a Check Health decided, for people.
fn check_line(d: &Deployment, previous: &str, at_seconds: f64) -> String {
    if d.decision == Decision::Rollback {
        return d
            .ending
            .failure
            .as_ref()
            .map_or_else(String::new, |f| format!("{}: {}", f.error, f.cause));
    }
    if let Some(hook) = states::hook_of(previous) {
        return format!("{} passed", hook.to_lowercase());
    }
    let alarms = match d.watch.alarms.len() {
        0 => "no alarms watched".to_owned(),
        1 => "alarm OK".to_owned(),
        n => format!("{n} alarms OK"),
    };
    let started =
        (d.progress.step_started_at - ManualClock::at_epoch().start()).num_seconds() as f64;
    let baked = clock((at_seconds - started).max(0.0) as u64);
    let next = match d.decision {
        Decision::Bake => {
            let bake = d
                .progress
                .plan
                .get(d.progress.step_index)
                .map_or(0, |s| u64::from(s.bake_seconds));
            format!("{} baked {baked} of {}", d.progress.traffic, clock(bake))
        }
        Decision::PostPromotionBake => format!(
            "post-promotion bake {baked} of {}",
            clock(u64::from(d.progress.post_promotion_bake_seconds))
        ),
        Decision::AwaitApproval => {
            let weight = d
                .progress
                .plan
                .get(d.progress.step_index)
                .map(|s| s.weight.to_string());
            format!(
                "{} needs approval (timeout {}, default {:?})",
                weight.unwrap_or_default(),
                clock(u64::from(d.gate.timeout_seconds)),
                d.gate.default
            )
        }
        Decision::AwaitProvisionedConcurrency => allocation_line(d, at_seconds),
        Decision::Shift | Decision::Promote if previous == states::AWAIT_APPROVAL => {
            "gate passed".to_owned()
        }
        Decision::Shift | Decision::Promote => "step done".to_owned(),
        Decision::Succeed => "done".to_owned(),
        other => format!("next: {other:?}"),
    };
    format!("{alarms} · {next}{}", analysis_line(d, at_seconds))
}

/// A wait for the alias's provisioned concurrency: its status and how long it has waited.
fn allocation_line(d: &Deployment, at_seconds: f64) -> String {
    let Some(pc) = &d.provisioned_concurrency else {
        return "waiting for provisioned concurrency".to_owned();
    };
    let since = pc.waiting_since.map_or(at_seconds, |s| {
        (s - ManualClock::at_epoch().start()).num_seconds() as f64
    });
    let waited = clock((at_seconds - since).max(0.0) as u64);
    let status = pc.last_status.as_ref().map_or_else(
        || "not read yet".to_owned(),
        |c| {
            format!(
                "{}, {} of {} allocated",
                c.status.name(),
                c.allocated,
                c.requested
            )
        },
    );
    format!(
        "{} waiting for provisioned concurrency ({status}) {waited} of at most {}",
        d.progress.traffic,
        clock(u64::from(pc.ready_timeout_seconds))
    )
}

/// The canary analysis Check Health made at `at_seconds`, if it made one: both versions'
/// figures.
fn analysis_line(d: &Deployment, at_seconds: f64) -> String {
    let started = ManualClock::at_epoch().start();
    d.analysis
        .as_ref()
        .and_then(|a| a.last.as_ref())
        .filter(|a| ((a.at - started).num_seconds() as f64 - at_seconds).abs() < 1.0)
        .map(|a| {
            let figures = |f: &shifter::domain::analysis::VersionFigures| {
                let p99 = f
                    .p99_millis
                    .map_or("n/a".to_owned(), |p| format!("{p:.0} ms"));
                format!(
                    "{:.2}% errors, p99 {p99}, {} calls",
                    f.error_rate_percent(),
                    f.invocations
                )
            };
            format!(
                " · analysis: new {} / old {}",
                figures(&a.new),
                figures(&a.old)
            )
        })
        .unwrap_or_default()
}
