//! `shifter simulate --account FILE` when FILE is a wave plan's account file: the shipped
//! waves definition over one simulated account per region, each target's child through the
//! shipped deployment definition (docs/waves.md#rehearsal).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use shifter::domain::waves::WavesRun;
use shifter_statemachine::asl::{self, EventKind, HistoryEvent};
use shifter_statemachine::local::waves::{WavesSpec, WavesSummary, WavesWorld, run_waves};

use super::Args;
use crate::error::CliError;
use crate::input;
use crate::output::clock;

/// `REGION=DURATION` of `--region-alarm-at`.
pub fn region_alarm(text: &str) -> Result<(String, Duration), String> {
    let (region, at) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected REGION=DURATION, e.g. eu-central-1=40m"))?;
    if region.is_empty() {
        return Err(format!("{text:?}: the region is empty"));
    }
    let at = humantime::parse_duration(at).map_err(|e| format!("{at:?}: {e}"))?;
    Ok((region.to_owned(), at))
}

/// Runs a wave plan's rehearsal; exit status 0 only when the plan succeeded.
pub async fn run(args: &Args, path: &Path, text: &str) -> Result<ExitCode, CliError> {
    refuse_single_flags(args)?;
    let at_file = |e: &dyn std::fmt::Display| CliError::Usage(format!("{}: {e}", path.display()));
    let spec = WavesSpec::from_json(text).map_err(|e| at_file(&e))?;
    let world = WavesWorld::build(&spec).map_err(|e| at_file(&e))?;
    let plan = match &args.input {
        Some(file) => input::read_json(file)?,
        None => spec.input.clone().ok_or_else(|| {
            CliError::Usage(format!(
                "{}: no \"input\" (the plan); give --input FILE",
                path.display()
            ))
        })?,
    };
    for (region, at) in &args.region_alarm_at {
        if !world.region_alarm_at(region, at.as_secs() as i64) {
            let known: Vec<&str> = spec.regions.iter().map(|(r, _, _)| r.as_str()).collect();
            return Err(CliError::Usage(format!(
                "--region-alarm-at {region}: no target account of {} is in {region} (it has {})",
                path.display(),
                known.join(", ")
            )));
        }
    }
    if let Some(at) = args.faults.abort_at() {
        world.abort_at(at.as_secs() as i64, args.faults.reason());
    }
    let wall = Instant::now();
    let json = args.json;
    let mut observer = |event: &HistoryEvent| {
        if !json {
            print_event(event);
        }
    };
    let run = run_waves(&world, plan, "simulated-plan", &mut observer)
        .await
        .map_err(|e| CliError::Runner(e.to_string()))?;
    let summary = &run.summary;
    if let Some(path) = &args.timeline {
        crate::output::write_waves_timeline(path, summary)?;
    }
    if json {
        crate::output::print_json(summary)?;
    } else {
        print_summary(summary, wall.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(if summary.outcome == "Succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The flags of a single deployment's rehearsal do nothing to a plan: refused, by name.
fn refuse_single_flags(args: &Args) -> Result<(), CliError> {
    let set = [
        ("--endpoint", args.endpoint.is_some()),
        ("--strategy", args.strategy.is_some()),
    ];
    let flag = set
        .iter()
        .find(|(_, on)| *on)
        .map(|(flag, _)| (*flag).to_owned())
        .or_else(|| args.faults.first_set_but_abort().map(str::to_owned))
        .or_else(|| args.chaos.first_set().map(str::to_owned));
    match flag {
        Some(flag) => Err(CliError::Usage(format!(
            "{flag} does not apply to a wave plan's rehearsal (it applies to one deployment); \
             a plan takes --region-alarm-at REGION=DURATION, --abort-at, --reason, --input, --timeline and --json"
        ))),
        None => Ok(()),
    }
}

/// One line per step of the plan.
fn print_event(event: &HistoryEvent) {
    let t = format!("t+{:>7}", clock(event.at_seconds as u64));
    match &event.kind {
        EventKind::StateExited { name, output }
            if crate::waves_text::DOCUMENT_STATES.contains(&name.as_str()) =>
        {
            let Ok(run) = serde_json::from_value::<WavesRun>(output.clone()) else {
                return;
            };
            if let Some(line) = crate::waves_text::describe(name, &run) {
                say!("{t}  {name:<12} {line}");
            }
        }
        EventKind::Caught { state, error, .. } if error != "States.Timeout" => {
            say!(
                "{t}  {state:<12} {error}: the plan's park was failed (an alarm of a finished wave, or an operator)"
            );
        }
        _ => {}
    }
}

fn print_summary(summary: &WavesSummary, wall_ms: f64) {
    say!();
    say!(
        "Outcome: {}{}",
        summary.outcome,
        summary
            .error
            .as_ref()
            .map_or(String::new(), |e| format!(" ({e})"))
    );
    if let Some(cause) = &summary.cause {
        say!("Cause:   {cause}");
    }
    for wave in &summary.waves {
        say!("Wave {}:", wave.name);
        for r in &wave.regions {
            let alias = r
                .alias
                .as_ref()
                .map_or("?".to_owned(), |a| format!("version {}", a.version));
            let started = r.started.map_or("never started".to_owned(), |s| {
                format!("started t+{}", clock(s as u64))
            });
            say!(
                "  {:<16} {}  {started:<16} {:<11} alias {alias}",
                r.region,
                r.account,
                r.outcome
            );
        }
    }
    say!(
        "Time:    {} simulated in {wall_ms:.1} ms of wall time",
        clock(summary.simulated_seconds as u64)
    );
    say!("Cost:    {}", crate::waves_text::cost(summary));
    say!(
        "History: {} events of {} · largest state document {} bytes ({}) of {}",
        summary.history_events,
        asl::HISTORY_EVENT_LIMIT,
        summary.largest_document_bytes,
        summary.largest_document_state,
        asl::PAYLOAD_LIMIT_BYTES
    );
}

/// Whether the file at `path` is a wave plan's account file.
pub fn is_waves(text: &str) -> bool {
    WavesSpec::is_waves(text)
}
