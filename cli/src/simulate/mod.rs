//! `shifter simulate`: the shipped state machine, run offline against a simulated account.

mod bounds;
mod chaos;
mod faults;
mod log;
mod waves;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use shifter::aws::LambdaAdapter;
use shifter::ports::AlarmState;
use shifter_statemachine::asl::{self, Execution, HistoryEvent};
use shifter_statemachine::local::{self, AccountSpec, HookBehaviour, LocalAccount};

use crate::error::CliError;
use crate::{input, output};

/// Arguments of `shifter simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// A full execution input (JSON), as given to Step Functions in production.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// A simulated account (JSON: functions, versions, aliases, alarms, hooks, and optionally
    /// the input to run); the embedded demo account when absent. With --endpoint, its alarms,
    /// hooks, managed set and input (the functions are the emulator's).
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// Use the real Lambda adapter against an AWS API emulator at URL (e.g. moto server);
    /// alarms and hooks stay simulated in memory.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Override the strategy (a CodeDeploy/SAM name, a generic form, or JSON {"steps":[...]}).
    #[arg(long)]
    strategy: Option<String>,
    #[command(flatten)]
    faults: faults::FaultArgs,
    /// Write the timeline: .json (data) or .svg (chart).
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Print one JSON summary on stdout instead of the step-by-step log.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    chaos: Box<chaos::ChaosArgs>,
    /// With a wave plan's account file: every alarm of REGION goes into ALARM at this simulated
    /// time (e.g. eu-central-1=40m); its event reaches the deployment there and, forwarded, the
    /// plan. Repeatable.
    #[arg(long, value_name = "REGION=DURATION", value_parser = waves::region_alarm)]
    region_alarm_at: Vec<(String, std::time::Duration)>,
}

/// Runs the rehearsal; exit status 0 only when the deployment succeeded.
pub async fn run(args: Args) -> Result<ExitCode, CliError> {
    if let Some(path) = &args.account {
        let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
        if waves::is_waves(&text) {
            return waves::run(&args, path, &text).await;
        }
    }
    if !args.region_alarm_at.is_empty() {
        return Err(CliError::Usage(
            "--region-alarm-at applies to a wave plan's account file (one that lists \"regions\", \
             e.g. events/accounts/waves.json)"
                .into(),
        ));
    }
    let (account, input) = arrange(&args).await?;
    output::warn_idle(&input, &[]);
    let wall = Instant::now();
    let mut printer = log::Printer::default();
    let mut observer = |event: &HistoryEvent| {
        if !args.json {
            printer.print(event);
        }
    };
    let run = local::run(&account, input, "simulated-deployment", &mut observer)
        .await
        .map_err(|e| CliError::Runner(e.to_string()))?;
    let wall_ms = wall.elapsed().as_secs_f64() * 1000.0;
    let execution = &run.execution;
    let summary = &run.summary;
    if let Some(path) = &args.timeline {
        output::write_timeline(path, summary)?;
    }
    let events = account.alarm_events.stats();
    if args.json {
        let mut json = with_limits(summary, execution)?;
        json["alarmEvents"] = json!(events);
        output::print_json(&json)?;
    } else {
        output::print_summary(summary, wall_ms, args.timeline.as_deref());
        print_limits(execution);
        if events.delivered + events.dropped > 0 {
            say!(
                "Alarm events: {} delivered to the watch function, {} lost",
                events.delivered,
                events.dropped
            );
        }
    }
    Ok(output::exit_code(summary.outcome))
}

/// The summary's JSON plus what the run used of Step Functions' per-execution limits:
/// `historyEvents` (of 25,000) and `largestState` {`state`, `bytes`} (of 262,144).
fn with_limits(summary: &local::Summary, execution: &Execution) -> Result<Value, CliError> {
    let mut json = serde_json::to_value(summary).map_err(|e| CliError::Usage(e.to_string()))?;
    json["historyEvents"] = json!(execution.history_events);
    json["largestState"] = json!(execution.largest_payload);
    Ok(json)
}

fn print_limits(execution: &Execution) {
    say!(
        "History: {} events of {} · largest state document {} bytes ({}) of {}",
        execution.history_events,
        asl::HISTORY_EVENT_LIMIT,
        execution.largest_payload.bytes,
        execution.largest_payload.state,
        asl::PAYLOAD_LIMIT_BYTES
    );
}

/// The account with every fault and answer `args` asks for, and the input to run.
async fn arrange(args: &Args) -> Result<(LocalAccount, Value), CliError> {
    let (account, default_input) = account_for(args).await?;
    let mut input = match &args.input {
        Some(path) => input::read_json(path)?,
        None => default_input.ok_or_else(|| {
            CliError::Usage("give --input FILE, or an \"input\" in the --account file".into())
        })?,
    };
    let remote = args.endpoint.is_some();
    if remote && args.account.is_none() {
        simulate_alarms_and_hooks_of(&account, &input);
        if !args.json {
            say!(
                "Aliases and versions: the emulator, through the real Lambda adapter. Alarms and hooks: \
                 simulated in memory (the emulator cannot serve CloudWatch's RPCv2 CBOR protocol or run \
                 function code).\n"
            );
        }
    }
    if let Some(strategy) = &args.strategy {
        input["strategy"] = input::strategy(strategy)?;
    }
    faults::apply(&args.faults, &account, &input, remote)?;
    let latest = bounds::latest_of(&input, args.faults.injected());
    chaos::apply(&args.chaos, &account, &input, latest)?;
    if let Some(url) = &args.endpoint {
        reachable(url).await?;
    }
    Ok((account, input))
}

/// One cheap call once every flag is accepted: an emulator that is not there is one plain line
/// now, not a deployment rejected minutes later with the SDK's connection error in its cause.
async fn reachable(url: &str) -> Result<(), CliError> {
    let clients = shifter::aws::load_for_emulator(url).await;
    if let Err(e) = clients.lambda.list_functions().max_items(1).send().await
        && let Some(cause) = crate::error::unreachable(&e)
    {
        return Err(CliError::Usage(format!(
            "--endpoint {}: cannot reach it: {cause}",
            shifter::domain::text::cut_chars(url, 200)
        )));
    }
    Ok(())
}

/// The account to deploy into, and the input it suggests.
async fn account_for(args: &Args) -> Result<(LocalAccount, Option<Value>), CliError> {
    if let Some(url) = &args.endpoint {
        let clients = shifter::aws::load_for_emulator(url).await;
        let adapter = Arc::new(LambdaAdapter::new(clients.lambda));
        let mut input = json!({
            "functionName": "orders-api", "alias": "live", "targetVersion": "2",
            "strategy": "Canary10Percent5Minutes", "alarms": ["orders-api-errors"]
        });
        let mut account = LocalAccount::with_lambda(adapter);
        if let Some(path) = &args.account {
            let spec = account_spec(path)?;
            let invalid = |e| CliError::Usage(format!("{}: {e}", path.display()));
            spec.apply_to(&mut account).map_err(invalid)?;
            if let Some(own) = spec.input {
                input = own;
            }
        }
        return Ok((account, Some(input)));
    }
    if let Some(path) = &args.account {
        let spec = account_spec(path)?;
        let account = spec
            .build()
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        return Ok((account, spec.input));
    }
    // The demo input at the default backstop interval: alarm events do the watching.
    let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
    if let Some(fields) = input.as_object_mut() {
        fields.remove("checkIntervalSeconds");
    }
    Ok((LocalAccount::demo(), Some(input)))
}

/// The account file at `path`, read and parsed; errors name the file and the field.
fn account_spec(path: &std::path::Path) -> Result<AccountSpec, CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    AccountSpec::from_json(&text).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// Against an emulator, the input's alarms exist in memory, quiet unless `--alarm-at` says
/// otherwise, and its hooks pass unless `--fail-hook` says otherwise.
fn simulate_alarms_and_hooks_of(account: &LocalAccount, input: &Value) {
    for alarm in input::alarms(input) {
        account.alarms.add(alarm, AlarmState::Ok);
    }
    for phase in ["preTraffic", "postTraffic"] {
        if let Some(hook) = input::hook(input, phase) {
            account.set_hook(hook, HookBehaviour::Pass);
        }
    }
}
