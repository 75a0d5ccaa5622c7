//! How results reach people and scripts: JSON on stdout, the summary block, timeline files.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use shifter::report::{BusEvent, FinalAlias, Outcome, Summary};

use crate::error::CliError;

/// `m:ss` or `h:mm:ss`.
pub fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Pretty JSON of `value`.
pub fn json_text(value: &impl Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))
}

/// Prints `value` as one pretty JSON document on stdout.
pub fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    say!("{}", json_text(value)?);
    Ok(())
}

/// 0 only when the deployment left the alias on the target.
pub fn exit_code(outcome: Outcome) -> ExitCode {
    if outcome.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The block `shifter simulate` ends with: outcome, error, alias, time and cost.
pub fn print_summary(summary: &Summary, wall_ms: f64, timeline: Option<&Path>) {
    say!();
    say!(
        "Outcome: {:?} (ended in \"{}\")",
        summary.outcome,
        summary.final_state
    );
    if let (Some(error), Some(cause)) = (&summary.error, &summary.cause) {
        say!(
            "Error:   {error}: {}",
            shifter::domain::failure::error_message(cause)
        );
    }
    if let Some(alias) = &summary.alias {
        say!("Alias:   {}", alias.describe());
    }
    for line in &summary.undone {
        say!("Watch:   {line}");
    }
    print_events(&summary.events);
    for member in &summary.train {
        let ended = member
            .ended
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), FinalAlias::describe);
        say!(
            "Train:   {}:{} {} → {}: now {ended}",
            shifter::domain::alias::function_short_name(&member.function),
            member.alias,
            member.from_version,
            member.to_version
        );
    }
    say!(
        "Time:    {} simulated in {wall_ms:.1} ms of wall time",
        clock(summary.simulated_seconds as u64)
    );
    say!(
        "Cost:    {} state transitions ≈ ${:.6} (Step Functions Standard, $0.025 per 1,000)",
        summary.state_transitions,
        summary.estimated_cost_usd
    );
    if let Some(path) = timeline {
        say!("Timeline written to {}", path.display());
    }
}

/// The lifecycle events a run put, one line each, and what they cost.
fn print_events(events: &[BusEvent]) {
    for event in events {
        let d = &event.detail;
        let weight = d.weight.map(|w| format!(" at {w}%")).unwrap_or_default();
        let cause = d
            .cause
            .as_ref()
            .map(|c| format!(" ({})", c.kind))
            .unwrap_or_default();
        say!(
            "Event:   t+{} {}{weight}{cause} (id {})",
            clock(event.seconds as u64),
            d.status.name(),
            d.event_id
        );
    }
    if !events.is_empty() {
        let n = events.len() as f64;
        say!(
            "Events:  {} lifecycle events put ≈ ${:.6} (EventBridge custom events, $1.00 per million)",
            events.len(),
            n * shifter::domain::lifecycle::USD_PER_EVENT
        );
    }
}

/// The line `shifter watch` ends with.
pub fn print_outcome(summary: &Summary) {
    match &summary.alias {
        Some(alias) => say!(
            "Outcome: {:?}; alias on version {}",
            summary.outcome,
            alias.version
        ),
        None => say!("Outcome: {:?}", summary.outcome),
    }
}

/// The timeline's data in a `.json` file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimelineFile<'a> {
    timeline: &'a [shifter::report::TimelinePoint],
    alarm_checks: &'a [shifter::report::AlarmCheck],
    outcome: Outcome,
    simulated_seconds: f64,
    /// When the real execution started (absent for a simulation).
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Writes the timeline of `summary`: data (`.json`) or chart (`.svg`).
pub fn write_timeline(path: &Path, summary: &Summary) -> Result<(), CliError> {
    write_timeline_since(path, summary, None)
}

/// The same for a real execution that started at `started`: the chart's time axis says so,
/// and the data carries `startedAt`.
pub fn write_timeline_since(
    path: &Path,
    summary: &Summary,
    started: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), CliError> {
    let text = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => json_text(&TimelineFile {
            timeline: &summary.timeline,
            alarm_checks: &summary.alarm_checks,
            outcome: summary.outcome,
            simulated_seconds: summary.simulated_seconds,
            started_at: started,
        })?,
        Some("svg") => crate::chart::render(summary, started)?,
        _ => {
            return Err(CliError::Usage(format!(
                "--timeline {}: use a .json or .svg file name",
                path.display()
            )));
        }
    };
    std::fs::write(path, text).map_err(CliError::io(path))
}

/// A wave plan's timeline: `.json` (the summary, each region's traffic over time) or `.svg`
/// (one lane per region).
pub fn write_waves_timeline(
    path: &Path,
    summary: &shifter_statemachine::local::waves::WavesSummary,
) -> Result<(), CliError> {
    let text = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => json_text(summary)?,
        Some("svg") => crate::chart::render_waves(summary)?,
        _ => {
            return Err(CliError::Usage(format!(
                "--timeline {}: use a .json or .svg file name",
                path.display()
            )));
        }
    };
    std::fs::write(path, text).map_err(CliError::io(path))
}

/// Set once standard output cannot be written: every later line is dropped.
static STDOUT_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes one line to standard output. When the reader has gone (`shifter simulate | head -1`,
/// `| grep -m1`) only the printing stops: the deployment goes on to its end and the exit status
/// is still its outcome's, because ending here would abandon a real deployment half-way (an
/// alias left at 10 % behind `--endpoint`, a `deploy --watch` that stops watching). Any other
/// write error is reported once on standard error, and printing stops the same way.
pub fn line(args: std::fmt::Arguments<'_>) {
    use std::sync::atomic::Ordering;
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    if let Err(problem) = write_line(&mut std::io::stdout().lock(), args) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if let Some(problem) = problem {
            eprintln!(
                "error: cannot write to standard output ({problem}); the run goes on to its end"
            );
        }
    }
}

/// Writes and flushes one line; `Err(None)` when the reader has gone (a broken pipe), which is
/// no error worth a message, `Err(Some(…))` for any other failure.
fn write_line(
    out: &mut impl std::io::Write,
    args: std::fmt::Arguments<'_>,
) -> Result<(), Option<std::io::Error>> {
    writeln!(out, "{args}")
        .and_then(|()| out.flush())
        .map_err(|e| (e.kind() != std::io::ErrorKind::BrokenPipe).then_some(e))
}

/// Prints on stderr, one `warning: field: why` line each, the settings of `input` that would do
/// nothing (`shifter::domain::idle_settings`), except those on `skip` fields; an input that is
/// not valid prints none (its refusal says why).
pub fn warn_idle(input: &serde_json::Value, skip: &[&str]) {
    let Ok(request) = shifter::domain::DeploymentRequest::from_json(input) else {
        return;
    };
    for idle in shifter::domain::idle_settings(input, &request) {
        if !skip.contains(&idle.field) {
            eprintln!("warning: {idle}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind, Write};

    use super::write_line;

    /// A writer that fails every write with `kind`.
    struct Failing(ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(Error::from(self.0))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_quiet_and_other_write_errors_are_named() {
        let mut buffer = Vec::new();
        assert!(write_line(&mut buffer, format_args!("t+ 0:00 {}", 1)).is_ok());
        assert_eq!(buffer, b"t+ 0:00 1\n");
        let gone = write_line(&mut Failing(ErrorKind::BrokenPipe), format_args!("x"));
        assert!(matches!(gone, Err(None)));
        let full = write_line(&mut Failing(ErrorKind::StorageFull), format_args!("x"));
        assert_eq!(
            full.unwrap_err().map(|e| e.kind()),
            Some(ErrorKind::StorageFull)
        );
    }
}
