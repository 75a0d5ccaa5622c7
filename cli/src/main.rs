//! `shifter`: rehearse Lambda deployments offline and plan their schedules.

mod chaos;
mod chart;
mod plan;
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args).await,
        Command::Plan(args) => plan::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Why a command could not run at all (as opposed to a deployment that failed).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file or argument is not what it should be.
    #[error("{0}")]
    Usage(String),
    /// The local runner refused or failed.
    #[error("local runner: {0}")]
    Runner(String),
    /// The chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),
}
