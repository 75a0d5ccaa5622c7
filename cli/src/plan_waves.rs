//! `shifter plan --waves FILE`: a wave plan's duration, state transitions, cost and history if
//! nothing fails, from the plan rehearsed wave by wave on accounts made to fit it (each target's
//! aliases one version behind their target, its alarms OK, its hooks passing), and one lane per
//! region.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};
use shifter::domain::alias::function_short_name;
use shifter::domain::waves::WavePlan;
use shifter::domain::waves::run::{check_plan_budget, worst_history_events};
use shifter_statemachine::local::waves::{WavesSpec, WavesSummary, WavesWorld, run_waves};

use crate::error::CliError;
use crate::output::clock;

/// Width of a region's lane, in characters.
const LANE: usize = 60;

/// Rehearses the plan at `path` and reports.
pub async fn run(
    path: &Path,
    as_json: bool,
    timeline: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let input = crate::input::read_json(path)?;
    let at_file = |e: &dyn std::fmt::Display| CliError::Usage(format!("{}: {e}", path.display()));
    let plan = WavePlan::parse(&input).map_err(|e| at_file(&e))?;
    check_plan_budget(&plan).map_err(|e| at_file(&e))?;
    let spec = WavesSpec::from_json(&accounts_for(&plan).to_string()).map_err(|e| at_file(&e))?;
    let world = WavesWorld::build(&spec).map_err(|e| at_file(&e))?;
    let run = run_waves(&world, input, "planned", &mut |_| {})
        .await
        .map_err(|e| CliError::Runner(e.to_string()))?;
    let summary = &run.summary;
    if summary.outcome != "Succeeded" {
        return Err(CliError::Runner(format!(
            "the plan's rehearsal did not succeed ({}): {}",
            summary.outcome,
            summary.cause.as_deref().unwrap_or("")
        )));
    }
    let worst = worst_history_events(&plan);
    if let Some(file) = timeline {
        crate::output::write_waves_timeline(file, summary)?;
    }
    if as_json {
        let mut report = json!(summary);
        report["worstCaseHistoryEvents"] = json!(worst);
        crate::output::print_json(&report)?;
    } else {
        print_text(&plan, summary, worst);
    }
    Ok(ExitCode::SUCCESS)
}

/// One simulated account per target: each alias its child moves one version behind its target
/// (version 1 behind 2 for `latest`), its alarms OK, its hooks passing.
fn accounts_for(plan: &WavePlan) -> Value {
    let mut regions: Vec<Value> = Vec::new();
    for target in plan.waves.iter().flat_map(|w| &w.targets) {
        let input = &target.input;
        let members: Vec<&Value> = match input.get("targets").and_then(Value::as_array) {
            Some(listed) => listed.iter().collect(),
            None => vec![input],
        };
        let functions: Vec<Value> = members.iter().map(|m| function_of(m)).collect();
        let alarms: Vec<Value> = target
            .alarms
            .iter()
            .map(|a| json!({"name": a, "state": "OK"}))
            .collect();
        let hooks: Vec<Value> = ["preTraffic", "postTraffic"]
            .iter()
            .filter_map(|phase| input["hooks"][phase].as_str())
            .map(|hook| json!({"name": function_short_name(hook), "behaviour": "pass"}))
            .collect();
        let region = json!({"region": target.region, "account": target.account,
            "functions": functions, "alarms": alarms, "hooks": hooks});
        regions.push(region);
    }
    json!({"regions": regions})
}

fn function_of(member: &Value) -> Value {
    let name = function_short_name(member["functionName"].as_str().unwrap_or_default());
    let alias = member["alias"].as_str().unwrap_or("live");
    let target: u64 = member["targetVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
        .max(2);
    json!({"name": name, "publishedVersions": target, "aliases": {alias: (target - 1).to_string()}})
}

fn print_text(plan: &WavePlan, summary: &WavesSummary, worst: u64) {
    let end = summary.simulated_seconds.max(1.0);
    let targets: usize = plan.waves.iter().map(|w| w.targets.len()).sum();
    say!("Plan: {} waves, {targets} targets", plan.waves.len());
    for wave in &summary.waves {
        say!("Wave {}:", wave.name);
        for r in &wave.regions {
            let (from, to) = (r.started.unwrap_or(0.0), r.ended.unwrap_or(end));
            let lane = lane(from / end, to / end);
            say!(
                "  {:<16} {} |{lane}| t+{}–{}",
                r.region,
                r.account,
                clock(from as u64),
                clock(to as u64)
            );
        }
    }
    say!(
        "Duration: {} if nothing fails (bakes between waves included)",
        clock(summary.simulated_seconds as u64)
    );
    say!("Cost:     {}", crate::waves_text::cost(summary));
    say!(
        "History:  {} events if nothing fails; worst case {worst} of the 16,000 the plan may use (quota 25,000) · largest state document {} bytes of 262,144",
        summary.history_events,
        summary.largest_document_bytes
    );
}

/// A lane: `·` before and after, `█` while the region's deployment runs.
fn lane(from: f64, to: f64) -> String {
    let cell = |x: f64| ((x * LANE as f64).round() as usize).min(LANE);
    let (a, b) = (cell(from), cell(to).max(cell(from) + 1).min(LANE));
    format!(
        "{}{}{}",
        "·".repeat(a),
        "█".repeat(b - a),
        "·".repeat(LANE - b)
    )
}
