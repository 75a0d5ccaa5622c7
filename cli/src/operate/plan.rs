//! `shifter watch` on a wave plan's execution: its last document says where every wave and
//! region is (docs/waves.md).

use std::process::ExitCode;

use serde_json::json;
use shifter::domain::waves::WavesRun;
use shifter::ports::{ExecutionStatus, HistoryEvent};

use crate::error::CliError;

/// The plan's document as the last of its Tasks left it, when the history is a wave plan's.
pub fn last_document(history: &[HistoryEvent]) -> Option<WavesRun> {
    history.iter().rev().find_map(|e| {
        let state = e.state.as_deref()?;
        if e.kind != "TaskStateExited" || !crate::waves_text::DOCUMENT_STATES.contains(&state) {
            return None;
        }
        serde_json::from_str(e.output.as_deref()?).ok()
    })
}

/// How the plan ended, and every region: a block of text, or one JSON document.
pub fn print_end(run: &WavesRun, history: &[HistoryEvent], json_out: bool) -> Result<(), CliError> {
    let ended = history
        .iter()
        .rev()
        .find(|e| e.kind.starts_with("Execution") && e.kind != "ExecutionStarted");
    let (outcome, error, cause) = match ended.map(|e| e.kind.as_str()) {
        Some("ExecutionSucceeded") => ("Succeeded", None, None),
        Some("ExecutionAborted") => ("Stopped", None, None),
        _ => (
            "Failed",
            ended.and_then(|e| e.error.clone()),
            ended.and_then(|e| e.cause.clone()),
        ),
    };
    if json_out {
        return crate::output::print_json(&json!({
            "outcome": outcome, "error": error, "cause": cause,
            "planId": run.plan_id, "targets": run.targets,
        }));
    }
    say!();
    say!(
        "Outcome: {outcome}{}",
        error.as_ref().map_or(String::new(), |e| format!(" ({e})"))
    );
    if let Some(cause) = &cause {
        say!("Cause:   {cause}");
    }
    for line in crate::waves_text::regions(run) {
        say!("{line}");
    }
    Ok(())
}

/// 0 only when the plan succeeded.
pub fn exit_of(status: ExecutionStatus) -> ExitCode {
    if status == ExecutionStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use shifter_statemachine::asl::Execution;
    use shifter_statemachine::local::waves::{
        WavesSpec, WavesWorld, run_waves, waves_execution_history,
    };

    use super::*;
    use crate::operate::{describe, parse_history};

    /// `shifter watch` on a plan's history tells every step and ends with every region.
    #[tokio::test]
    async fn watch_tells_a_plans_waves_and_where_each_region_ended() {
        let text = include_str!("../../../events/accounts/waves.json");
        let spec = WavesSpec::from_json(text).unwrap();
        let world = WavesWorld::build(&spec).unwrap();
        assert!(world.region_alarm_at("eu-central-1", 2600));
        let input = spec.input.clone().unwrap();
        let mut events = Vec::new();
        let run = run_waves(&world, input.clone(), "watched", &mut |e| {
            events.push(e.clone())
        })
        .await
        .unwrap();
        let execution = Execution {
            events,
            ..run.execution
        };
        let history = parse_history(&waves_execution_history(&world, &execution, &input).unwrap());
        let start = history[0].at;
        let lines: Vec<String> = history.iter().filter_map(|e| describe(e, start)).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("wave canary started: eu-west-1")),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("abort: TargetFailed")),
            "{lines:#?}"
        );
        let last = last_document(&history).unwrap();
        let regions = crate::waves_text::regions(&last).join("\n");
        assert!(
            regions.contains("eu-west-1        111111111111  restored"),
            "{regions}"
        );
        assert!(
            regions.contains("us-west-2        111111111111  pending     never started"),
            "{regions}"
        );
    }
}
