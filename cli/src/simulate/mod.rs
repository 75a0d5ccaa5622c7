//! `shifter simulate`: the shipped state machine, run offline against a simulated account.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use std::sync::Arc;

use serde_json::{Value, json};
use shifter::aws::LambdaAdapter;
use shifter::domain::{AliasRoute, Decision, Deployment};
use shifter::fakes::{Fault, LambdaOp, ManualClock};
use shifter::ports::AlarmState;
use shifter_statemachine::account::AccountSpec;
use shifter_statemachine::asl::{EventKind, HistoryEvent};
use shifter_statemachine::local::{self, HookBehaviour, LocalAccount, Outcome, Summary};

use crate::CliError;
use crate::plan::clock;

/// Which hook to fail.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookPhase {
    /// The pre-traffic hook.
    Pre,
    /// The post-traffic hook.
    Post,
}

/// Arguments of `shifter simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// A full execution input (JSON), as given to Step Functions in production.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// A simulated account (JSON: functions, versions, aliases, alarms, hooks, and optionally
    /// the input to run); the embedded demo account when absent.
    #[arg(long, value_name = "FILE", conflicts_with = "endpoint")]
    account: Option<PathBuf>,
    /// Use the real Lambda adapter against an AWS API emulator at URL (e.g. moto server);
    /// alarms and hooks stay simulated in memory.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Override the strategy (a CodeDeploy/SAM name, a generic form, or JSON {"steps":[...]}).
    #[arg(long)]
    strategy: Option<String>,
    /// The alarm goes to ALARM at this simulated time (e.g. 3m, 90s, 1h5m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    alarm_at: Option<std::time::Duration>,
    /// Make a hook fail.
    #[arg(long, value_enum)]
    fail_hook: Option<HookPhase>,
    /// Someone else changes the alias just before the deployment's Nth alias write.
    #[arg(long, value_name = "N")]
    drift_at_step: Option<u64>,
    /// An operator aborts at this simulated time (what `shifter abort` does): the deployment
    /// rolls back at once and fails with error Aborted.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    abort_at: Option<std::time::Duration>,
    /// The reason given with --abort-at.
    #[arg(long, default_value = "aborted by an operator", requires = "abort_at")]
    reason: String,
    /// An operator approves each approval gate this long after it starts waiting.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    approve_after: Option<std::time::Duration>,
    /// An operator promotes at this simulated time, skipping the remaining steps.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    promote_at: Option<std::time::Duration>,
    /// Write the timeline: .json (data) or .svg (chart).
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Print one JSON summary on stdout instead of the step-by-step log.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    chaos: Box<crate::chaos::ChaosArgs>,
}

/// Runs the rehearsal; exit status 0 only when the deployment succeeded.
pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    let (account, default_input) = account_for(&args).await?;
    let mut input = match &args.input {
        Some(path) => read_json(path)?,
        None => default_input.ok_or_else(|| {
            CliError::Usage("give --input FILE, or an \"input\" in the --account file".into())
        })?,
    };
    if args.endpoint.is_some() {
        simulate_alarms_of(&account, &input);
        if !args.json {
            println!(
                "Aliases and versions: the emulator, through the real Lambda adapter. Alarms and hooks: \
                 simulated in memory (the emulator cannot serve CloudWatch's RPCv2 CBOR protocol or run \
                 function code).\n"
            );
        }
    }
    if let Some(strategy) = &args.strategy {
        let value = if strategy.trim_start().starts_with('{') {
            serde_json::from_str(strategy)
                .map_err(|e| CliError::Usage(format!("--strategy is not valid JSON: {e}")))?
        } else {
            Value::String(strategy.clone())
        };
        input["strategy"] = value;
    }
    arrange_faults(&account, &args, &input)?;
    if let Some(at) = args.abort_at {
        account.abort_at(at.as_secs_f64(), &args.reason);
    }
    if let Some(at) = args.promote_at {
        account.promote_at(at.as_secs_f64());
    }
    if let Some(after) = args.approve_after {
        account.approve_after(after.as_secs_f64());
    }
    crate::chaos::apply(&args.chaos, &account, &input)?;

    let wall = Instant::now();
    let quiet = args.json;
    let mut printer = Printer::default();
    let mut observer = |event: &HistoryEvent| {
        if !quiet {
            printer.print(event);
        }
    };
    let run = local::run(&account, input, "simulated-deployment", &mut observer)
        .await
        .map_err(|e| CliError::Runner(e.to_string()))?;
    let wall_ms = wall.elapsed().as_secs_f64() * 1000.0;
    let summary = run.summary;

    if let Some(path) = &args.timeline {
        write_timeline(path, &summary)?;
    }
    if args.json {
        let text =
            serde_json::to_string_pretty(&summary).map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
    } else {
        print_summary(&summary, wall_ms, args.timeline.as_deref());
    }
    Ok(match summary.outcome {
        Outcome::Succeeded | Outcome::AlreadyCurrent => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

/// The account to deploy into, and the input it suggests.
async fn account_for(args: &Args) -> Result<(LocalAccount, Option<Value>), CliError> {
    if let Some(url) = &args.endpoint {
        let clients = shifter::aws::load_for_emulator(url).await;
        let adapter = Arc::new(LambdaAdapter::new(clients.lambda));
        let input = json!({
            "functionName": "orders-api", "alias": "live", "targetVersion": "2",
            "strategy": "Canary10Percent5Minutes", "alarms": ["orders-api-errors"],
            "checkIntervalSeconds": 30
        });
        return Ok((LocalAccount::with_lambda(adapter), Some(input)));
    }
    if let Some(path) = &args.account {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let spec = AccountSpec::from_json(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        let account = spec
            .build()
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        return Ok((account, spec.input));
    }
    Ok((
        LocalAccount::demo(),
        Some(LocalAccount::demo_input("Canary10Percent5Minutes")),
    ))
}

/// Against an emulator, the input's alarms exist in memory, quiet unless `--alarm-at` says otherwise.
fn simulate_alarms_of(account: &LocalAccount, input: &Value) {
    for alarm in input
        .get("alarms")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = alarm.as_str() {
            account.alarms.add(name, AlarmState::Ok);
        }
    }
    for field in ["preTraffic", "postTraffic"] {
        if let Some(hook) = input
            .pointer(&format!("/hooks/{field}"))
            .and_then(Value::as_str)
        {
            account.set_hook(hook, HookBehaviour::Pass);
        }
    }
}

fn read_json(path: &std::path::Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str::<Value>(&text)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", path.display())))
}

/// The first alarm the input watches, which `flag` acts on.
pub(crate) fn first_alarm<'a>(input: &'a Value, flag: &str) -> Result<&'a str, CliError> {
    input
        .get("alarms")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::Usage(format!("{flag} needs an alarm in the input's \"alarms\"")))
}

fn arrange_faults(account: &LocalAccount, args: &Args, input: &Value) -> Result<(), CliError> {
    if let Some(at) = args.alarm_at {
        let alarm = first_alarm(input, "--alarm-at")?;
        let seconds = i64::try_from(at.as_secs())
            .map_err(|_| CliError::Usage("--alarm-at is too far away".into()))?;
        account.alarm_at(alarm, seconds);
    }
    if let Some(phase) = args.fail_hook {
        let field = if phase == HookPhase::Pre {
            "preTraffic"
        } else {
            "postTraffic"
        };
        let hook = input
            .pointer(&format!("/hooks/{field}"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                CliError::Usage(format!("--fail-hook needs hooks.{field} in the input"))
            })?;
        account.set_hook(hook, HookBehaviour::Status("Failed".into()));
    }
    if let Some(n) = args.drift_at_step {
        if n == 0 {
            return Err(CliError::Usage("--drift-at-step counts from 1".into()));
        }
        if args.endpoint.is_some() {
            return Err(CliError::Usage(
                "--drift-at-step injects faults into the in-memory account; it is not available with --endpoint".into(),
            ));
        }
        // Someone ships a hotfix by hand: a new version, all traffic, no routing.
        let function = input
            .get("functionName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let hotfix = account
            .lambda
            .publish(shifter::domain::request::function_short_name(function))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "--drift-at-step: no function {function:?} in the account"
                ))
            })?;
        account.lambda.inject(
            LambdaOp::UpdateAlias,
            n,
            Fault::DriftTo(AliasRoute::single(hotfix)),
        );
    }
    Ok(())
}

/// Prints each step as it happens, in simulated time.
#[derive(Default)]
struct Printer {
    previous_task: String,
}

impl Printer {
    fn print(&mut self, event: &HistoryEvent) {
        let t = format!("t+{:>7}", clock(event.at_seconds as u64));
        match &event.kind {
            EventKind::StateExited { name, output } => {
                let previous = std::mem::replace(&mut self.previous_task, name.clone());
                if name.starts_with("Run ") {
                    let answer = output
                        .pointer("/hookResult/payload")
                        .map_or_else(|| "nothing".to_owned(), Value::to_string);
                    println!("{t}  {name:<22} returned {answer}");
                    return;
                }
                let Ok(d) = serde_json::from_value::<Deployment>(output.clone()) else {
                    return;
                };
                let line = match name.as_str() {
                    "Start Deployment" if d.decision == Decision::AlreadyCurrent => format!(
                        "alias {} of {} is already on version {}: nothing to do",
                        d.alias, d.function_name, d.target_version
                    ),
                    "Start Deployment" => format!(
                        "alias {} of {}: version {} → {}, {} ({} steps), pre-flight checks passed",
                        d.alias,
                        d.function_name,
                        d.original_version,
                        d.target_version,
                        d.strategy,
                        d.plan.len()
                    ),
                    "Shift Traffic" => {
                        format!("{} of traffic on version {}", d.traffic, d.target_version)
                    }
                    "Promote" => format!("100% on version {}, routing cleared", d.target_version),
                    "Check Health" => check_line(&d, &previous, event.at_seconds),
                    "Roll Back" => d
                        .failure
                        .as_ref()
                        .map_or_else(String::new, |f| f.cause.clone()),
                    _ => return,
                };
                println!("{t}  {name:<22} {line}");
            }
            EventKind::Retrying {
                state,
                attempt,
                delay_seconds,
            } => {
                println!("{t}  {state:<22} retry {attempt} in {delay_seconds:.1}s");
            }
            // A park's timeout is the normal end of a bake: not worth a line.
            EventKind::Caught { error, .. } if error == "States.Timeout" => {}
            EventKind::Caught { state, error, next } => {
                println!("{t}  {state:<22} {error} → {next}");
            }
            EventKind::TaskSucceeded { state, output } if output.get("action").is_some() => {
                println!("{t}  {state:<22} operator answered {output}");
            }
            EventKind::StateEntered { name, .. } if name == "Await Approval" => {
                println!("{t}  {name:<22} waiting for approval (shifter approve|promote|abort)");
            }
            _ => {}
        }
    }
}

/// What a Check Health decided, for people.
fn check_line(d: &Deployment, previous: &str, at_seconds: f64) -> String {
    if d.decision == Decision::Rollback {
        return d
            .failure
            .as_ref()
            .map_or_else(String::new, |f| format!("{}: {}", f.error, f.cause));
    }
    if previous.starts_with("Run ") {
        return format!(
            "{} passed",
            previous.trim_start_matches("Run ").to_lowercase()
        );
    }
    let alarms = match d.alarms.len() {
        0 => "no alarms watched".to_owned(),
        1 => "alarm OK".to_owned(),
        n => format!("{n} alarms OK"),
    };
    let started = (d.step_started_at - ManualClock::at_epoch().start()).num_seconds() as f64;
    let baked = clock((at_seconds - started).max(0.0) as u64);
    match d.decision {
        Decision::Bake => {
            let bake = d
                .plan
                .get(d.step_index)
                .map_or(0, |s| u64::from(s.bake_seconds));
            format!("{alarms} · {} baked {baked} of {}", d.traffic, clock(bake))
        }
        Decision::PostPromotionBake => format!(
            "{alarms} · post-promotion bake {baked} of {}",
            clock(u64::from(d.post_promotion_bake_seconds))
        ),
        Decision::AwaitApproval => {
            let weight = d.plan.get(d.step_index).map(|s| s.weight.to_string());
            format!(
                "{alarms} · {} needs approval (timeout {}, default {:?})",
                weight.unwrap_or_default(),
                clock(u64::from(d.approval_timeout_seconds)),
                d.approval_default
            )
        }
        Decision::Shift | Decision::Promote if previous == "Await Approval" => {
            format!("{alarms} · gate passed")
        }
        Decision::Shift | Decision::Promote => format!("{alarms} · step done"),
        Decision::Succeed => format!("{alarms} · done"),
        other => format!("{alarms} · next: {other:?}"),
    }
}

fn print_summary(summary: &Summary, wall_ms: f64, timeline: Option<&std::path::Path>) {
    println!();
    println!(
        "Outcome: {:?} (ended in \"{}\")",
        summary.outcome, summary.final_state
    );
    if let (Some(error), Some(cause)) = (&summary.error, &summary.cause) {
        println!(
            "Error:   {error}: {}",
            shifter::domain::deployment::error_message(cause)
        );
    }
    if let Some(alias) = &summary.alias {
        let routing = if alias.additional_version_weights.is_empty() {
            "no routing".to_owned()
        } else {
            format!("routing {:?}", alias.additional_version_weights)
        };
        println!("Alias:   version {} ({routing})", alias.version);
    }
    println!(
        "Time:    {} simulated in {wall_ms:.1} ms of wall time",
        clock(summary.simulated_seconds as u64)
    );
    println!(
        "Cost:    {} state transitions ≈ ${:.6} (Step Functions Standard, $0.025 per 1,000)",
        summary.state_transitions, summary.estimated_cost_usd
    );
    if let Some(path) = timeline {
        println!("Timeline written to {}", path.display());
    }
}

pub(crate) fn write_timeline(path: &std::path::Path, summary: &Summary) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        path: path.display().to_string(),
        source,
    };
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => {
            let text = serde_json::to_string_pretty(&serde_json::json!({
                "timeline": summary.timeline,
                "alarmChecks": summary.alarm_checks,
                "outcome": summary.outcome,
                "simulatedSeconds": summary.simulated_seconds,
            }))
            .map_err(|e| CliError::Usage(e.to_string()))?;
            std::fs::write(path, text).map_err(io)
        }
        Some("svg") => {
            let svg = crate::chart::render(summary)?;
            std::fs::write(path, svg).map_err(io)
        }
        _ => Err(CliError::Usage(format!(
            "--timeline {}: use a .json or .svg file name",
            path.display()
        ))),
    }
}
