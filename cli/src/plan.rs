//! `shifter plan`: a strategy's schedule, duration, transitions and cost.

use std::process::ExitCode;

use serde::Serialize;
use serde_json::json;
use shifter::domain::DeploymentRequest;
use shifter::domain::cost::estimate;

use crate::CliError;

/// Arguments of `shifter plan`.
#[derive(clap::Args)]
pub struct Args {
    /// A CodeDeploy/SAM name, a generic form, or JSON `{"steps":[...]}`.
    #[arg(long)]
    strategy: String,
    /// Seconds between alarm checks while a step bakes.
    #[arg(long, default_value_t = shifter::domain::request::DEFAULT_CHECK_INTERVAL_SECONDS)]
    check_interval: u32,
    /// Seconds alarms stay watched after the promotion.
    #[arg(long, default_value_t = 0)]
    post_promotion_bake: u32,
    /// Count a pre-traffic hook.
    #[arg(long)]
    pre_traffic_hook: bool,
    /// Count a post-traffic hook.
    #[arg(long)]
    post_traffic_hook: bool,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanStep {
    weight: f64,
    bake_seconds: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanReport {
    strategy: String,
    steps: Vec<PlanStep>,
    total_seconds: u64,
    state_transitions: u64,
    alarm_checks: u64,
    estimated_cost_usd: f64,
}

/// Validates the strategy exactly as Start Deployment would, then reports.
pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let strategy = if args.strategy.trim_start().starts_with('{') {
        serde_json::from_str(&args.strategy)
            .map_err(|e| CliError::Usage(format!("--strategy is not valid JSON: {e}")))?
    } else {
        json!(args.strategy)
    };
    let mut input = json!({
        "functionName": "plan", "alias": "live", "targetVersion": "2",
        "strategy": strategy, "checkIntervalSeconds": args.check_interval,
        "postPromotionBakeSeconds": args.post_promotion_bake,
    });
    if args.pre_traffic_hook || args.post_traffic_hook {
        let mut hooks = serde_json::Map::new();
        if args.pre_traffic_hook {
            hooks.insert("preTraffic".into(), json!("pre-hook"));
        }
        if args.post_traffic_hook {
            hooks.insert("postTraffic".into(), json!("post-hook"));
        }
        input["hooks"] = hooks.into();
    }
    let request = DeploymentRequest::from_json(&input).map_err(|e| {
        let field = match e.field.as_str() {
            "checkIntervalSeconds" => "--check-interval".to_owned(),
            "postPromotionBakeSeconds" => "--post-promotion-bake".to_owned(),
            f => format!("--{f}").replace("--strategy.", "--strategy: "),
        };
        CliError::Usage(format!("{field}: {}", e.message))
    })?;
    let steps = request.plan.steps();
    let est = estimate(
        steps,
        request.check_interval_seconds,
        args.pre_traffic_hook,
        args.post_traffic_hook,
        request.post_promotion_bake_seconds,
    );
    let report = PlanReport {
        strategy: request.strategy_name.clone(),
        steps: steps
            .iter()
            .map(|s| PlanStep {
                weight: s.weight.as_percent(),
                bake_seconds: s.bake_seconds,
            })
            .collect(),
        total_seconds: request.plan.total_bake_seconds()
            + u64::from(request.post_promotion_bake_seconds),
        state_transitions: est.transitions,
        alarm_checks: est.alarm_checks,
        estimated_cost_usd: est.cost_usd(),
    };
    if args.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Strategy {} (alarm checks every {}s)",
        report.strategy, request.check_interval_seconds
    );
    let mut at = 0u64;
    for (i, step) in steps.iter().enumerate() {
        let what = if step.weight.is_full() {
            "promote: 100% on the new version".to_owned()
        } else {
            format!(
                "{} on the new version, bake {}",
                step.weight,
                clock(u64::from(step.bake_seconds))
            )
        };
        println!("  step {:>2}  t+{:<8} {what}", i + 1, clock(at));
        at += u64::from(step.bake_seconds);
    }
    if request.post_promotion_bake_seconds > 0 {
        println!(
            "  then      t+{:<8} watch alarms for {} after promotion",
            clock(at),
            clock(u64::from(request.post_promotion_bake_seconds))
        );
    }
    println!(
        "Total {} · {} state transitions · {} alarm checks · ≈ ${:.6} per deployment (Standard workflow, $0.025 per 1,000 transitions)",
        clock(report.total_seconds),
        report.state_transitions,
        report.alarm_checks,
        report.estimated_cost_usd
    );
    Ok(ExitCode::SUCCESS)
}

/// `m:ss` or `h:mm:ss`.
pub fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}
