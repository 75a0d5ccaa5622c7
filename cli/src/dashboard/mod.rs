//! `shifter dashboard`: a local web page of running and recent deployments, one followed live,
//! with the CLI's own Approve / Promote / Abort. See docs/dashboard.md.

mod demo;
mod server;
#[cfg(test)]
mod tests;
mod view;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub use server::{Dashboard, new_token, router};
pub use view::Source;

use crate::error::CliError;

/// Arguments of `shifter dashboard`.
#[derive(clap::Args)]
pub struct Args {
    /// Port to listen on (0: any free port; the address is printed on start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on; anything but loopback lets other machines answer your deployments.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Play three deployments on the embedded simulated account (no AWS account needed).
    #[arg(long, conflicts_with_all = ["state_machine", "stack"])]
    demo: bool,
    /// With --demo: simulated seconds per wall second.
    #[arg(long, default_value_t = 10.0, value_name = "N")]
    speed: f64,
    /// The state machine whose executions are listed.
    #[arg(long, value_name = "ARN", conflicts_with = "stack")]
    state_machine: Option<String>,
    /// The Traffic Shifter stack: its `StateMachineArn` output names the state machine.
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// Step Functions at URL (an emulator) instead of AWS_ENDPOINT_URL or AWS.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
}

/// The source the arguments name: the demo, or Step Functions.
async fn source(args: &Args) -> Result<Source, CliError> {
    if args.demo {
        if !(args.speed > 0.0 && args.speed.is_finite()) {
            return Err(CliError::Usage("--speed must be a positive number".into()));
        }
        return Ok(demo::start(args.speed).await);
    }
    let endpoint = args.endpoint.as_deref();
    let sfn = crate::executions(endpoint).await;
    let state_machine = match (&args.state_machine, &args.stack) {
        (Some(arn), _) => arn.clone(),
        (None, Some(stack)) => {
            let config = shifter::aws::load_interactive_config(endpoint).await;
            let cloudformation = aws_sdk_cloudformation::Client::new(&config);
            crate::operate::state_machine_of_stack(&cloudformation, stack).await?
        }
        (None, None) => {
            return Err(CliError::Usage(
                "name the state machine: --stack NAME or --state-machine ARN (or try --demo)"
                    .into(),
            ));
        }
    };
    let sfn = Arc::new(sfn);
    Ok(Source {
        executions: sfn.clone(),
        tasks: sfn,
        state_machine,
        simulated: false,
    })
}

/// The `host:port` names a browser may use for `address`.
pub fn hosts(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    let mut hosts = vec![address.to_string()];
    if address.ip().is_loopback() {
        hosts.push(format!("localhost:{port}"));
    }
    hosts
}

/// Serves the dashboard until interrupted.
pub async fn run(args: &Args) -> Result<ExitCode, CliError> {
    let source = source(args).await?;
    let wanted = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {wanted}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let poll = if source.simulated { 250 } else { 3000 };
    let dashboard = Dashboard {
        source,
        token: new_token()?,
        hosts: hosts(address),
        poll: Duration::from_millis(poll),
    };
    say!("shifter dashboard: http://{address}/ (Ctrl-C stops it)");
    axum::serve(listener, router(dashboard))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| CliError::Usage(format!("dashboard: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
