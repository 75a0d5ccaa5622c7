//! `shifter plan`: a strategy's schedule, duration, transitions and cost.

use std::process::ExitCode;

use serde::Serialize;
use serde_json::{Value, json};
use shifter::domain::DeploymentRequest;
use shifter::domain::cost::estimate;
use shifter::domain::lifecycle;
use shifter::domain::limits::{self, HISTORY_EVENT_BUDGET};
use shifter::domain::provisioned::{READY_TIMEOUT_RANGE, expected_wait};

use crate::error::CliError;
use crate::input;
use crate::output::{clock, print_json};

/// Arguments of `shifter plan`.
#[derive(clap::Args)]
pub struct Args {
    /// A CodeDeploy/SAM name, a generic form, or JSON `{"steps":[...]}`.
    #[arg(long, required_unless_present = "waves")]
    strategy: Option<String>,
    /// A wave plan (docs/waves.md): its duration, state transitions and cost if nothing fails,
    /// rehearsed wave by wave, and one lane per region.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["strategy", "targets", "pre_traffic_hook", "post_traffic_hook", "analysis_interval", "provisioned_concurrency"])]
    pub waves: Option<std::path::PathBuf>,
    /// With --waves: write the plan's timeline, `.svg` (one lane per region) or `.json`.
    #[arg(long, value_name = "FILE", requires = "waves")]
    pub timeline: Option<std::path::PathBuf>,
    /// Seconds between backstop reads of the alarms while parked (alarm events do the watching).
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
    /// Count a canary analysis every this many seconds (60–3600, whole minutes): parks end at
    /// least that often, each with one GetMetricData call per alias.
    #[arg(long, value_name = "SECONDS")]
    analysis_interval: Option<u32>,
    /// A release train's alias, `FUNCTION:ALIAS` (repeat for each, up to 20): every step is
    /// written to each before its bake.
    #[arg(long = "target", value_name = "FUNCTION:ALIAS")]
    targets: Vec<String>,
    /// The alias has provisioned concurrency that takes this many seconds to reallocate after
    /// each write: count the waits for READY.
    #[arg(long, value_name = "SECONDS")]
    provisioned_concurrency: Option<u32>,
    /// `provisionedConcurrency.readyTimeoutSeconds` (the worst case waits this long per write).
    #[arg(long, value_name = "SECONDS")]
    ready_timeout: Option<u32>,
    /// `provisionedConcurrency.pollSeconds`: READY is read this often while waiting (default
    /// 10, or the shortest longer poll that fits the history budget).
    #[arg(long, value_name = "SECONDS")]
    poll_seconds: Option<u32>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanStep {
    /// Percent: a whole number prints as one (`10`, not `10.0`).
    weight: serde_json::Value,
    bake_seconds: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanReport {
    strategy: String,
    steps: Vec<PlanStep>,
    total_seconds: u64,
    state_transitions: u64,
    /// Events in the history of a successful run, every approval gate answered at the end of
    /// its timeout, no retries (Step Functions allows 25,000).
    history_events: u64,
    /// The most any run writes without retries (a successful run, then a failed rollback).
    worst_case_history_events: u64,
    /// What Start Deployment accepts for `worstCaseHistoryEvents`; the rest of the 25,000 is
    /// kept for retries.
    history_event_budget: u64,
    /// True when the worst case is over the budget (Start Deployment refuses such an input, so
    /// a plan that validates never is).
    exceeds_history_limit: bool,
    alarm_checks: u64,
    estimated_cost_usd: f64,
    /// A release train's aliases (absent for one alias).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    /// UpdateAlias calls each step makes: one per alias.
    alias_writes_per_step: usize,
    /// GetMetricData calls of the canary analysis in a successful run (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis_reads: Option<u64>,
    /// With `--provisioned-concurrency`: the waits for READY.
    #[serde(skip_serializing_if = "Option::is_none")]
    provisioned_concurrency: Option<ReadyWaits>,
    /// The lifecycle events a successful run puts on the stack's bus (docs/events.md).
    events: PlannedEvents,
}

/// The lifecycle events of a successful run, put by the watch function at moments it already
/// runs (no state transition of their own).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlannedEvents {
    /// STARTED, one STEP_SHIFTED per partial step, one AWAITING_APPROVAL per gate, PROMOTED,
    /// SUCCEEDED.
    count: u64,
    /// PutEvents calls (PROMOTED and SUCCEEDED share one without a post-promotion bake).
    put_events_calls: u64,
    /// $1.00 per million custom events (<https://aws.amazon.com/eventbridge/pricing/>).
    cost_usd: f64,
}

/// The events a successful run of `request` puts ([`lifecycle::planned_puts`]).
fn planned_events(request: &DeploymentRequest) -> PlannedEvents {
    let steps = request.plan.steps();
    let gates = request.approval.steps.len() + usize::from(request.approval.before_promote);
    let count = lifecycle::planned_puts(steps, gates);
    PlannedEvents {
        count,
        put_events_calls: lifecycle::planned_put_calls(
            steps,
            gates,
            request.post_promotion_bake_seconds,
        ),
        cost_usd: count as f64 * lifecycle::USD_PER_EVENT,
    }
}

/// What the waits for READY add to a plan (already included in its totals).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadyWaits {
    /// Seconds each reallocation takes, as given.
    allocation_seconds: u32,
    /// Seconds between reads of the config while waiting (the poll, at most the park interval).
    poll_seconds: u32,
    /// `provisionedConcurrency.readyTimeoutSeconds`.
    ready_timeout_seconds: u32,
    /// True when the reallocation outlasts `readyTimeoutSeconds`: the first write's wait
    /// times out and the deployment rolls back with `ProvisionedConcurrencyFailed` (the counts
    /// are then those of every wait run to its timeout, which no run reaches).
    rolls_back: bool,
    /// Writes that wait (each shift and the promotion).
    waits: u64,
    /// Seconds each wait lasts: until the first read at or after the allocation's end.
    seconds_per_wait: u64,
    /// Parks (park, Check Health, What Next?) per wait.
    pieces_per_wait: u64,
    /// GetProvisionedConcurrencyConfig calls: one at pre-flight, one per piece.
    config_reads: u64,
    /// State transitions the waits add.
    state_transitions: u64,
}

/// `10` for 10 %, `12.5` for 12.5 %.
fn percent(weight: f64) -> serde_json::Value {
    if weight.fract() == 0.0 {
        serde_json::json!(weight as u64)
    } else {
        serde_json::json!(weight)
    }
}

impl Args {
    /// `--json`.
    pub fn json(&self) -> bool {
        self.json
    }
}

/// Validates the strategy exactly as Start Deployment would, then reports.
pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let request = request_of(args)?;
    // A plan names no alarms: only the strategy's own settings are judged.
    let unwatched = ["alarms", "checkIntervalSeconds", "postPromotionBakeSeconds"];
    crate::output::warn_idle(&input_of(args)?, &unwatched);
    let request = with_ready_wait(request, args)?;
    let report = report_of(&request, args);
    if args.json {
        print_json(&report)?;
    } else {
        print_text(&report, &request);
    }
    Ok(ExitCode::SUCCESS)
}

/// The execution input the flags describe, for a placeholder function.
fn input_of(args: &Args) -> Result<Value, CliError> {
    let mut input = json!({
        "strategy": input::strategy(args.strategy.as_deref().unwrap_or_default())?,
        "checkIntervalSeconds": args.check_interval,
        "postPromotionBakeSeconds": args.post_promotion_bake,
    });
    if args.targets.is_empty() {
        input["functionName"] = json!("plan");
        input["alias"] = json!("live");
        input["targetVersion"] = json!("2");
    } else {
        let mut targets = Vec::new();
        for target in &args.targets {
            let (function, alias) = target_of(target)?;
            targets.push(json!({"functionName": function, "alias": alias, "targetVersion": "2"}));
        }
        input["targets"] = targets.into();
    }
    if let Some(seconds) = args.analysis_interval {
        // The limits only need to be valid: they change nothing in the count.
        input["analysis"] = json!({"intervalSeconds": seconds, "maxErrorRatePercent": 5});
    }
    let mut hooks = serde_json::Map::new();
    if args.pre_traffic_hook {
        hooks.insert("preTraffic".into(), json!("pre-hook"));
    }
    if args.post_traffic_hook {
        hooks.insert("postTraffic".into(), json!("post-hook"));
    }
    if !hooks.is_empty() {
        input["hooks"] = hooks.into();
    }
    let mut wait = serde_json::Map::new();
    if let Some(timeout) = args.ready_timeout {
        wait.insert("readyTimeoutSeconds".into(), json!(timeout));
    }
    if let Some(poll) = args.poll_seconds {
        wait.insert("pollSeconds".into(), json!(poll));
    }
    if !wait.is_empty() {
        input["provisionedConcurrency"] = wait.into();
    }
    Ok(input)
}

/// `--target FUNCTION:ALIAS` or `--target ARN:ALIAS` (an unqualified function ARN, as the
/// execution input's `functionName` takes it, then the alias): the function and the alias.
fn target_of(target: &str) -> Result<(&str, &str), CliError> {
    let usage = |why: String| {
        CliError::Usage(format!(
            "--target {}: {why}; write FUNCTION:ALIAS (orders-api:live) or \
             arn:aws:lambda:REGION:ACCOUNT:function:NAME:ALIAS",
            shifter::domain::text::cut_chars(target, 200)
        ))
    };
    if target.starts_with("arn:") {
        let (arn, alias) = target
            .rsplit_once(':')
            .ok_or_else(|| usage("no alias".into()))?;
        // The domain's own reading of a function ARN: the alias is the only qualifier allowed.
        shifter::domain::managed::FunctionArn::parse(arn, shifter::domain::managed::name_ok)
            .map_err(|why| usage(format!("the function ARN {why}")))?;
        return Ok((arn, alias));
    }
    match target.split_once(':') {
        Some((function, alias)) => Ok((function, alias)),
        None => Err(usage("no alias".into())),
    }
}

/// The request Start Deployment would validate; its errors name the flag, not the field.
fn request_of(args: &Args) -> Result<DeploymentRequest, CliError> {
    DeploymentRequest::from_json(&input_of(args)?).map_err(flag_error)
}

/// With `--provisioned-concurrency`: the request with the wait for READY Start Deployment
/// would run (the poll resolved), or its refusal when the waits cannot fit the history budget.
fn with_ready_wait(
    mut request: DeploymentRequest,
    args: &Args,
) -> Result<DeploymentRequest, CliError> {
    if args.provisioned_concurrency.is_some() {
        request.provisioned_concurrency =
            limits::check_provisioned_concurrency_budget(&request).map_err(flag_error)?;
    }
    Ok(request)
}

/// An input field's error, naming the flag that sets it.
fn flag_error(e: shifter::domain::FieldError) -> CliError {
    let flag = match e.field.as_str() {
        "checkIntervalSeconds" => "--check-interval".to_owned(),
        "postPromotionBakeSeconds" => "--post-promotion-bake".to_owned(),
        f if f.starts_with("targets") => "--target".to_owned(),
        f if f.starts_with("analysis") => "--analysis-interval".to_owned(),
        "provisionedConcurrency.readyTimeoutSeconds" => "--ready-timeout".to_owned(),
        "provisionedConcurrency.pollSeconds" => "--poll-seconds".to_owned(),
        f => format!("--{f}").replace("--strategy.", "--strategy: "),
    };
    CliError::Usage(format!("{flag}: {}", e.message))
}

fn report_of(request: &DeploymentRequest, args: &Args) -> PlanReport {
    let steps = request.plan.steps();
    let (interval, bake) = (
        request.check_interval_seconds,
        request.post_promotion_bake_seconds,
    );
    let (pre, post) = (args.pre_traffic_hook, args.post_traffic_hook);
    // Parks end at every analysis interval too (the shorter of the two).
    let analysed = request.analysis.as_ref().map(|a| a.interval_seconds);
    let park = analysed.map_or(interval, |a| a.min(interval));
    let est = estimate(steps, park, pre, post, bake);
    let aliases = 1 + request.train.len() as u64;
    let history = limits::history_events(request);
    let waits = args
        .provisioned_concurrency
        .map(|allocation| ready_waits(request, allocation));
    let mut report = PlanReport {
        strategy: request.strategy_name.clone(),
        steps: steps
            .iter()
            .map(|s| PlanStep {
                weight: percent(s.weight.as_percent()),
                bake_seconds: s.bake_seconds,
            })
            .collect(),
        total_seconds: request.plan.total_bake_seconds()
            + u64::from(request.post_promotion_bake_seconds),
        state_transitions: est.transitions,
        history_events: history.succeeding,
        worst_case_history_events: history.worst_case,
        history_event_budget: HISTORY_EVENT_BUDGET,
        exceeds_history_limit: !history.fits(),
        alarm_checks: est.alarm_checks,
        estimated_cost_usd: est.cost_usd(),
        aliases: if request.train.is_empty() {
            Vec::new()
        } else {
            args.targets.clone()
        },
        alias_writes_per_step: 1 + request.train.len(),
        analysis_reads: analysed.map(|_| est.alarm_checks * aliases),
        provisioned_concurrency: None,
        events: planned_events(request),
    };
    if let Some(waits) = waits {
        add_ready_waits(&mut report, request, waits);
    }
    report
}

/// The waits for READY after each write of an alias whose provisioned concurrency takes
/// `allocation` seconds to reallocate: one piece per poll until READY is read
/// ([`expected_wait`]), or until the timeout when the reallocation outlasts it.
fn ready_waits(request: &DeploymentRequest, allocation: u32) -> ReadyWaits {
    let waits = request.plan.steps().len() as u64;
    let timeout = request.provisioned_concurrency.ready_timeout_seconds;
    let every = limits::poll_every(request);
    let wait = expected_wait(Some(allocation), timeout, every);
    ReadyWaits {
        allocation_seconds: allocation,
        poll_seconds: every,
        ready_timeout_seconds: timeout,
        rolls_back: wait.rolls_back,
        waits,
        seconds_per_wait: wait.seconds,
        pieces_per_wait: wait.reads,
        config_reads: 1 + waits * wait.reads,
        state_transitions: waits * wait.reads * 3,
    }
}

/// Adds the waits to the plan's totals: time, transitions, alarm reads (each piece reads the
/// alarms), history events (the worst case waits `readyTimeoutSeconds` per write) and cost.
fn add_ready_waits(report: &mut PlanReport, request: &DeploymentRequest, waits: ReadyWaits) {
    report.total_seconds += waits.waits * waits.seconds_per_wait;
    report.state_transitions += waits.state_transitions;
    report.alarm_checks += waits.waits * waits.pieces_per_wait;
    report.history_events +=
        limits::provisioned_concurrency_events(request, Some(waits.allocation_seconds));
    report.worst_case_history_events += limits::provisioned_concurrency_events(request, None);
    report.exceeds_history_limit = report.worst_case_history_events > HISTORY_EVENT_BUDGET;
    report.estimated_cost_usd = shifter::domain::cost::usd(report.state_transitions);
    report.provisioned_concurrency = Some(waits);
}

fn print_text(report: &PlanReport, request: &DeploymentRequest) {
    say!(
        "Strategy {} (alarms watched by events; backstop read every {}s)",
        report.strategy,
        request.check_interval_seconds
    );
    if !report.aliases.is_empty() {
        say!(
            "Release train of {} aliases in lockstep: {}; each step is written to every one \
             before its bake, one alarm or failed analysis rolls all of them back",
            report.aliases.len(),
            report.aliases.join(", ")
        );
    }
    print_steps(request);
    if let Some(w) = report
        .provisioned_concurrency
        .as_ref()
        .filter(|w| !w.rolls_back)
    {
        say!(
            "  each of the {} writes first waits {} for provisioned concurrency to be READY \
             ({} reallocation, read every {}s: {} GetProvisionedConcurrencyConfig calls in all)",
            w.waits,
            clock(w.seconds_per_wait),
            clock(u64::from(w.allocation_seconds)),
            w.poll_seconds,
            w.config_reads
        );
    }
    say!(
        "Total {} · {} state transitions · {} history events (worst case {} of the {HISTORY_EVENT_BUDGET} allowed) · {} backstop reads · ≈ ${:.6} per deployment (Standard workflow, $0.025 per 1,000 transitions)",
        clock(report.total_seconds),
        report.state_transitions,
        report.history_events,
        report.worst_case_history_events,
        report.alarm_checks,
        report.estimated_cost_usd
    );
    say!(
        "Lifecycle events: {} put in {} PutEvents calls (≈ ${:.6}, $1.00 per million; no state transitions of their own)",
        report.events.count,
        report.events.put_events_calls,
        report.events.cost_usd
    );
    if let Some(w) = report
        .provisioned_concurrency
        .as_ref()
        .filter(|w| w.rolls_back)
    {
        say!("{}", rollback_warning(w));
    }
}

/// The steps, each with its start and bake, and the post-promotion bake.
fn print_steps(request: &DeploymentRequest) {
    let mut at = 0u64;
    for (i, step) in request.plan.steps().iter().enumerate() {
        let what = if step.weight.is_full() {
            "promote: 100% on the new version".to_owned()
        } else {
            format!(
                "{} on the new version, bake {}",
                step.weight,
                clock(u64::from(step.bake_seconds))
            )
        };
        say!("  step {:>2}  t+{:<8} {what}", i + 1, clock(at));
        at += u64::from(step.bake_seconds);
    }
    if request.post_promotion_bake_seconds > 0 {
        say!(
            "  then      t+{:<8} watch alarms for {} after promotion",
            clock(at),
            clock(u64::from(request.post_promotion_bake_seconds))
        );
    }
}

/// Plainly: a reallocation longer than `readyTimeoutSeconds` rolls the deployment back.
fn rollback_warning(w: &ReadyWaits) -> String {
    let (allocation, timeout) = (w.allocation_seconds, w.ready_timeout_seconds);
    let fix = if READY_TIMEOUT_RANGE.contains(&allocation) {
        format!(
            "give --ready-timeout {allocation} or more (provisionedConcurrency.readyTimeoutSeconds)"
        )
    } else {
        format!(
            "readyTimeoutSeconds is at most {}: the reallocation has to be faster",
            READY_TIMEOUT_RANGE.end()
        )
    };
    format!(
        "This deployment would roll back: a {} reallocation is longer than readyTimeoutSeconds \
         ({}), so the first write's wait for READY (read every {}s) still finds it IN_PROGRESS \
         {} after the write and rolls back with ProvisionedConcurrencyFailed (the totals above \
         count every wait to its timeout, which no run reaches); {fix}",
        clock(u64::from(allocation)),
        clock(u64::from(timeout)),
        w.poll_seconds,
        clock(u64::from(timeout)),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter_statemachine::local::{self, LocalAccount, Outcome};

    use super::*;

    /// The count agrees with the local runner's, which counts events as Step Functions writes
    /// them, for every predefined strategy with and without hooks and a post-promotion bake.
    #[tokio::test]
    async fn history_events_match_the_runner_for_every_predefined_strategy() {
        for name in shifter::domain::strategy::PREDEFINED {
            for (interval, hooks, post_bake) in [(30, true, 0), (15, false, 0), (60, true, 120)] {
                let account = LocalAccount::demo();
                let mut input = LocalAccount::demo_input(name);
                input["checkIntervalSeconds"] = json!(interval);
                input["postPromotionBakeSeconds"] = json!(post_bake);
                if !hooks {
                    input.as_object_mut().unwrap().remove("hooks");
                }
                let request = DeploymentRequest::from_json(&input).unwrap();
                let planned = limits::history_events(&request).succeeding;
                let run = local::run(&account, input, "plan", &mut |_| {})
                    .await
                    .unwrap();
                assert_eq!(run.summary.outcome, Outcome::Succeeded, "{name}");
                let case = format!("{name} every {interval}s, hooks {hooks}, bake {post_bake}");
                assert_eq!(run.execution.history_events, planned, "{case}");
            }
        }
    }

    /// With a canary analysis, parks end at every analysis interval: the plan's transitions and
    /// GetMetricData calls are what the runner makes on the demo account (healthy traffic).
    #[tokio::test]
    async fn an_analysis_is_counted_as_the_runner_runs_it() {
        for (strategy, interval) in [
            ("Canary10Percent5Minutes", 60),
            ("Linear10PercentEvery2Minutes", 120),
        ] {
            let args = Args {
                strategy: Some(strategy.into()),
                waves: None,
                timeline: None,
                check_interval: 300,
                post_promotion_bake: 0,
                pre_traffic_hook: false,
                post_traffic_hook: false,
                analysis_interval: Some(interval),
                targets: Vec::new(),
                provisioned_concurrency: None,
                ready_timeout: None,
                poll_seconds: None,
                json: true,
            };
            let request = request_of(&args).unwrap();
            let report = report_of(&request, &args);
            let account = LocalAccount::demo();
            let mut input = LocalAccount::demo_input(strategy);
            input["checkIntervalSeconds"] = json!(300);
            input.as_object_mut().unwrap().remove("hooks");
            input["analysis"] = json!({"intervalSeconds": interval, "maxErrorRatePercent": 5});
            let run = local::run(&account, input, "plan", &mut |_| {})
                .await
                .unwrap();
            assert_eq!(run.summary.outcome, Outcome::Succeeded, "{strategy}");
            assert_eq!(
                run.execution.transitions, report.state_transitions,
                "{strategy}"
            );
            assert_eq!(
                Some(run.summary.analyses.len() as u64),
                report.analysis_reads,
                "{strategy}"
            );
        }
    }

    /// With provisioned concurrency the plan's counts (time, transitions, history events) are
    /// what the runner does on an alias whose config takes that long to reallocate.
    #[tokio::test]
    async fn provisioned_concurrency_waits_match_the_runner() {
        for (strategy, allocation) in [("Canary10Percent5Minutes", 75), ("AllAtOnce", 10)] {
            let account = LocalAccount::demo();
            account
                .lambda
                .set_provisioned_concurrency("demo", "live", 20, allocation);
            let mut input = LocalAccount::demo_input(strategy);
            input.as_object_mut().unwrap().remove("hooks");
            let request = DeploymentRequest::from_json(&input).unwrap();
            let args = Args {
                strategy: Some(strategy.to_owned()),
                waves: None,
                timeline: None,
                check_interval: 30,
                post_promotion_bake: 0,
                pre_traffic_hook: false,
                post_traffic_hook: false,
                analysis_interval: None,
                targets: Vec::new(),
                provisioned_concurrency: Some(allocation),
                ready_timeout: None,
                poll_seconds: None,
                json: true,
            };
            let report = report_of(&request, &args);
            let run = local::run(&account, input, "plan", &mut |_| {})
                .await
                .unwrap();
            assert_eq!(run.summary.outcome, Outcome::Succeeded, "{strategy}");
            assert_eq!(
                run.execution.history_events, report.history_events,
                "{strategy}"
            );
            assert_eq!(
                run.execution.transitions, report.state_transitions,
                "{strategy}"
            );
            assert_eq!(
                run.summary.simulated_seconds, report.total_seconds as f64,
                "{strategy}"
            );
            let waits = report.provisioned_concurrency.unwrap();
            assert_eq!(
                account
                    .lambda
                    .calls(shifter::fakes::LambdaOp::GetProvisionedConcurrency),
                waits.config_reads,
                "{strategy}"
            );
        }
    }

    /// Issue 22: the lifecycle events and PutEvents calls the plan counts are what the runner
    /// puts, for predefined strategies, explicit steps with gates (approved by default), and
    /// with and without a post-promotion bake (which parks between PROMOTED and SUCCEEDED).
    #[tokio::test]
    async fn planned_events_and_put_calls_match_what_the_runner_puts() {
        let gated = json!({"steps": [
            {"weight": 10, "bakeSeconds": 60, "approval": true},
            {"weight": 50, "bakeSeconds": 60},
            {"weight": 100, "bakeSeconds": 0}
        ]})
        .to_string();
        let cases = [
            ("Canary10Percent5Minutes", 0, 4, 3),
            ("Linear10PercentEvery1Minute", 0, 12, 11),
            ("AllAtOnce", 0, 3, 2),
            ("Canary10Percent5Minutes", 120, 4, 4),
            (gated.as_str(), 0, 6, 5),
        ];
        for (strategy, post_bake, events, calls) in cases {
            let account = LocalAccount::demo();
            let mut input = LocalAccount::demo_input("AllAtOnce");
            input["strategy"] = crate::input::strategy(strategy).unwrap();
            input["postPromotionBakeSeconds"] = json!(post_bake);
            input["approvalDefault"] = json!("approve");
            input["approvalTimeoutSeconds"] = json!(60);
            let request = DeploymentRequest::from_json(&input).unwrap();
            let planned = planned_events(&request);
            let run = local::run(&account, input, "plan", &mut |_| {})
                .await
                .unwrap();
            let case = format!("{strategy}, post-promotion bake {post_bake}");
            assert_eq!(run.summary.outcome, Outcome::Succeeded, "{case}");
            assert_eq!(run.summary.events.len() as u64, planned.count, "{case}");
            assert_eq!(account.events.calls(), planned.put_events_calls, "{case}");
            assert_eq!(
                (planned.count, planned.put_events_calls),
                (events, calls),
                "{case}"
            );
            assert!(
                (planned.cost_usd - events as f64 / 1e6).abs() < 1e-12,
                "{case}"
            );
        }
    }

    fn provisioned_args(strategy: &str, allocation: u32, poll: Option<u32>) -> Args {
        Args {
            strategy: Some(strategy.to_owned()),
            waves: None,
            timeline: None,
            check_interval: shifter::domain::request::DEFAULT_CHECK_INTERVAL_SECONDS,
            post_promotion_bake: 0,
            pre_traffic_hook: false,
            post_traffic_hook: false,
            analysis_interval: None,
            targets: Vec::new(),
            provisioned_concurrency: Some(allocation),
            ready_timeout: None,
            poll_seconds: poll,
            json: true,
        }
    }

    /// Issue 21, item 6: `plan` says plainly that a reallocation longer than
    /// readyTimeoutSeconds rolls back, and the runner does roll back at the timeout.
    #[tokio::test]
    async fn a_reallocation_longer_than_the_ready_timeout_is_said_to_roll_back_as_it_does() {
        let args = provisioned_args("Canary10Percent5Minutes", 1200, None);
        let request = with_ready_wait(request_of(&args).unwrap(), &args).unwrap();
        let report = report_of(&request, &args);
        let waits = report.provisioned_concurrency.as_ref().unwrap();
        assert!(waits.rolls_back);
        let said = rollback_warning(waits);
        for words in [
            "would roll back",
            "20:00 reallocation is longer than readyTimeoutSeconds (15:00)",
            "ProvisionedConcurrencyFailed",
            "--ready-timeout 1200 or more",
        ] {
            assert!(said.contains(words), "{said}");
        }
        // Within the timeout: no warning, the wait ends at the first poll after READY.
        let args = provisioned_args("Canary10Percent5Minutes", 10, None);
        let report = report_of(
            &with_ready_wait(request_of(&args).unwrap(), &args).unwrap(),
            &args,
        );
        let waits = report.provisioned_concurrency.unwrap();
        assert!(!waits.rolls_back);
        assert_eq!((waits.poll_seconds, waits.seconds_per_wait), (10, 10));
        assert_eq!(report.total_seconds, 320);

        let account = LocalAccount::demo();
        account
            .lambda
            .set_provisioned_concurrency("demo", "live", 20, 1200);
        let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
        input
            .as_object_mut()
            .unwrap()
            .remove("checkIntervalSeconds");
        let run = local::run(&account, input, "plan", &mut |_| {})
            .await
            .unwrap();
        assert_eq!(run.summary.outcome, Outcome::RolledBack);
        assert_eq!(
            run.summary.error.as_deref(),
            Some("ProvisionedConcurrencyFailed")
        );
        assert_eq!(run.summary.simulated_seconds, 900.0);
    }

    /// The polls are budgeted as Start Deployment budgets them: a given poll that does not fit
    /// is refused naming its flag, the default one lengthens to the shortest that fits.
    #[test]
    fn a_poll_that_does_not_fit_the_history_budget_is_refused_naming_its_flag() {
        let steps: Vec<_> = (1..=15)
            .map(|k| json!({"weight": 5 * k, "bakeSeconds": 60}))
            .collect();
        let strategy = json!({ "steps": steps }).to_string();
        let args = provisioned_args(&strategy, 10, Some(10));
        let Err(CliError::Usage(e)) = with_ready_wait(request_of(&args).unwrap(), &args) else {
            panic!("a poll of 10 s for 16 writes fits");
        };
        assert!(e.starts_with("--poll-seconds: is 10: use "), "{e}");
        let args = provisioned_args(&strategy, 10, None);
        let request = with_ready_wait(request_of(&args).unwrap(), &args).unwrap();
        let report = report_of(&request, &args);
        assert!(
            !report.exceeds_history_limit,
            "{}",
            report.worst_case_history_events
        );
        assert!(report.provisioned_concurrency.unwrap().poll_seconds > 10);
    }
}
