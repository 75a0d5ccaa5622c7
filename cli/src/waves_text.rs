//! A wave plan in words: what each of its steps did, and where each region ended, as
//! `simulate` and `watch` print them (docs/waves.md).

use shifter::domain::waves::{HoldReason, WavePlan, WavesDecision, WavesRun};
use shifter_statemachine::local::waves::WavesSummary;

use crate::output::clock;

/// The waves definition's Tasks whose output is the plan's document.
pub const DOCUMENT_STATES: [&str; 4] = ["Start Waves", "Launch Wave", "Judge Waves", "Abort Plan"];

/// What a waves Task that left `run` did, for people (`simulate` and `watch` alike).
pub fn describe(state: &str, run: &WavesRun) -> Option<String> {
    let names: Vec<String> = WavePlan::parse(&run.plan)
        .map(|p| p.waves.into_iter().map(|w| w.name).collect())
        .unwrap_or_default();
    let name = |wave: usize| {
        names
            .get(wave)
            .cloned()
            .unwrap_or_else(|| format!("{}", wave + 1))
    };
    let places = |wave: usize| {
        let places: Vec<String> = run
            .targets
            .iter()
            .filter(|t| t.wave == wave)
            .map(|t| t.place())
            .collect();
        places.join(", ")
    };
    Some(match (state, run.decision) {
        ("Launch Wave", _) => {
            let wave = run.launched - 1;
            format!("wave {} started: {}", name(wave), places(wave))
        }
        (_, WavesDecision::Hold) => {
            let why = match run.hold?.reason {
                HoldReason::Bake => {
                    format!("bake after wave {}", name(run.launched.saturating_sub(1)))
                }
                HoldReason::Window => format!("wave {} waits for its window", name(run.launched)),
                HoldReason::EntryGate => format!(
                    "wave {}'s entry gate: an alarm is not OK",
                    name(run.launched)
                ),
            };
            format!(
                "{why}, {}; every finished region's alarms watched",
                clock(run.wait_seconds)
            )
        }
        (_, WavesDecision::Abort) => {
            let abort = run.abort.as_ref()?;
            format!("abort: {}: {}", abort.error, abort.cause)
        }
        ("Abort Plan", WavesDecision::RolledBack) => {
            "every launched region back on its start version".to_owned()
        }
        (_, WavesDecision::Succeed) => "every wave done".to_owned(),
        ("Judge Waves", WavesDecision::Launch) => format!("wave {} may start", name(run.launched)),
        _ => return None,
    })
}

/// Where each target is, wave by wave, as the plan's document says.
pub fn regions(run: &WavesRun) -> Vec<String> {
    let names: Vec<String> = WavePlan::parse(&run.plan)
        .map(|p| p.waves.into_iter().map(|w| w.name).collect())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for (i, name) in names.iter().enumerate() {
        lines.push(format!("Wave {name}:"));
        for t in run.targets.iter().filter(|t| t.wave == i) {
            let status = serde_json::to_value(t.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let version = match t.start_version.as_deref() {
                Some(v) => format!("from version {v}"),
                None => "never started".to_owned(),
            };
            let cause = t
                .cause
                .as_deref()
                .map_or(String::new(), |c| format!(" ({c})"));
            lines.push(format!(
                "  {:<16} {}  {status:<11} {version}{cause}",
                t.region, t.account
            ));
        }
    }
    lines
}

/// What a plan's state transitions cost: its own and its children's, at the Standard price.
pub fn cost(summary: &WavesSummary) -> String {
    format!(
        "{} plan + {} child state transitions ≈ ${:.6} (Step Functions Standard, $0.025 per 1,000)",
        summary.state_transitions, summary.child_state_transitions, summary.estimated_cost_usd
    )
}
