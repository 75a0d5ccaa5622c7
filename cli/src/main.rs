//! `shifter`: rehearse Lambda deployments offline and plan their schedules.

/// `println!` for the CLI's output: a closed pipe (`shifter simulate | head`) stops the printing
/// quietly, never the run, and never panics ([`output::line`]).
macro_rules! say {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

mod chart;
mod dashboard;
mod error;
mod import;
mod input;
mod operate;
mod output;
mod plan;
mod plan_waves;
mod record;
mod simulate;
mod waves_text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Traffic Shifter: progressive delivery for AWS Lambda aliases.
#[derive(Parser)]
#[command(name = "shifter", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a deployment through the shipped state machine, offline, on a virtual clock.
    Simulate(simulate::Args),
    /// Show a strategy's schedule, duration, state transitions and cost without running it.
    Plan(plan::Args),
    /// Validate an execution input locally, then start it on Step Functions.
    Deploy(operate::DeployArgs),
    /// Follow a real execution from its history; exit 0 only on success.
    Watch(operate::WatchArgs),
    /// Pass the approval gate an execution is waiting at.
    Approve(operate::AnswerArgs),
    /// Skip the remaining steps: promote now (post-traffic hook and post-promotion bake still run).
    Promote(operate::AnswerArgs),
    /// Roll back now through the execution's own Roll Back; it fails with error Aborted.
    Abort(operate::AbortArgs),
    /// Draw the traffic chart of a real execution.
    Timeline(operate::TimelineArgs),
    /// List past deployments from the stack's records, newest first (`--execution ARN`: one,
    /// with its timeline of weights).
    History(record::Args),
    /// Serve a local web page of running and recent deployments, one followed live, with
    /// Approve / Promote / Abort (`--demo`: no AWS account needed).
    Dashboard(dashboard::Args),
    /// Turn a SAM template's DeploymentPreference or a serverless.yml's deploymentSettings into
    /// validated execution inputs, one per function (exit 1: some could not be; 2: unusable file).
    Import(import::Args),
}

/// Step Functions for the operating commands, at `endpoint` when given; waits are bounded so an
/// endpoint that never answers is one plain line within seconds.
async fn executions(endpoint: Option<&str>) -> shifter::aws::StepFunctionsExecutions {
    if let Some(url) = endpoint {
        crate::error::use_endpoint(url);
    }
    let config = shifter::aws::load_interactive_config(endpoint).await;
    shifter::aws::StepFunctionsExecutions::from_config(&config)
}

async fn operate(command: Command) -> Result<ExitCode, CliError> {
    let endpoint = match &command {
        Command::Watch(args) => args.endpoint().map(str::to_owned),
        _ => None,
    };
    let sfn = executions(endpoint.as_deref()).await;
    let poll = std::time::Duration::from_secs(5);
    match command {
        Command::Deploy(args) => {
            let resolved = match args.stack() {
                Some(stack) => {
                    let config = shifter::aws::load_interactive_config(None).await;
                    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
                    Some(operate::state_machine_of_stack(&cloudformation, stack).await?)
                }
                None => None,
            };
            let arn = operate::deploy(&sfn, &args, resolved.as_deref()).await?;
            if args.watch_requested() {
                return operate::watch(&sfn, &arn, false, poll).await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch(args) => operate::watch(&sfn, args.arn(), args.json(), poll).await,
        Command::Approve(args) => {
            let state = operate::answer(&sfn, &sfn, args.arn(), &operate::Answer::Approve).await?;
            say!("Approved ({state}).");
            Ok(ExitCode::SUCCESS)
        }
        Command::Promote(args) => {
            let state = operate::answer(&sfn, &sfn, args.arn(), &operate::Answer::Promote).await?;
            say!("Promotion requested ({state}).");
            Ok(ExitCode::SUCCESS)
        }
        Command::Abort(args) => {
            let answer = operate::Answer::Abort(args.reason().to_owned());
            let state = operate::answer(&sfn, &sfn, args.arn(), &answer).await?;
            say!("Abort sent ({state}): the execution rolls back and fails with Aborted.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Timeline(args) => {
            operate::timeline(&sfn, &args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate(_)
        | Command::Plan(_)
        | Command::Import(_)
        | Command::Dashboard(_)
        | Command::History(_) => Err(CliError::Usage("not an AWS command".into())),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args).await,
        Command::Plan(args) => match &args.waves {
            Some(file) => plan_waves::run(file, args.json(), args.timeline.as_deref()).await,
            None => plan::run(&args),
        },
        Command::Import(args) => import::run(&args).await,
        Command::Dashboard(args) => dashboard::run(&args).await,
        Command::History(args) => record::run(&args).await,
        other => operate(other).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.plain());
            ExitCode::from(2)
        }
    }
}
