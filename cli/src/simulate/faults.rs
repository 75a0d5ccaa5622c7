//! `shifter simulate`'s scripted faults and operator answers: an alarm that fires, a hook that
//! fails, someone else's write, and what `shifter abort|promote|approve` would do, and when.

use std::time::Duration;

use serde_json::Value;
use shifter::domain::AliasRoute;
use shifter::domain::request::function_short_name;
use shifter::fakes::{Fault, LambdaOp};
use shifter_statemachine::local::{HookBehaviour, LambdaFault, LocalAccount};

use crate::error::CliError;
use crate::input;

/// Which hook to fail.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookPhase {
    /// The pre-traffic hook.
    Pre,
    /// The post-traffic hook.
    Post,
}

/// Scripted faults and operator answers of `shifter simulate`.
#[derive(clap::Args, Clone, Default)]
pub struct FaultArgs {
    /// The alarm goes to ALARM at this simulated time (e.g. 3m, 90s, 1h5m). Its state-change
    /// event reaches the watch function 1 s later and ends the parked step at once.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    alarm_at: Option<Duration>,
    /// Every CloudWatch alarm state-change event is lost on its way to the watch function: only
    /// the backstop reads (every checkIntervalSeconds while parked) see an alarm.
    #[arg(long)]
    drop_alarm_events: bool,
    /// With callback hooks (hooks.callbackTimeoutSeconds in the input): each hook answers its
    /// task token this long after it is invoked (default at once).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    hook_answer_after: Option<Duration>,
    /// With callback hooks: this hook never answers its task token (it times out).
    #[arg(long, value_enum)]
    silent_hook: Option<HookPhase>,
    /// Make a hook fail.
    #[arg(long, value_enum)]
    fail_hook: Option<HookPhase>,
    /// Someone else changes the alias just before the deployment's Nth alias write.
    #[arg(long, value_name = "N")]
    drift_at_step: Option<u64>,
    /// An operator aborts at this simulated time (what `shifter abort` does): the deployment
    /// rolls back at once and fails with error Aborted.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    abort_at: Option<Duration>,
    /// The reason given with --abort-at.
    #[arg(long, default_value = "aborted by an operator", requires = "abort_at")]
    reason: String,
    /// An operator approves each approval gate this long after it starts waiting.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    approve_after: Option<Duration>,
    /// An operator promotes at this simulated time, skipping the remaining steps.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    promote_at: Option<Duration>,
    /// The next N invocations of FUNCTION (ours: start-deployment, shift-traffic, check-health,
    /// roll-back, watch; or a hook) fail with a Lambda error as Step Functions names it:
    /// Lambda.Unknown (the handler crashed), Sandbox.Timedout (it ran past its 30 s timeout),
    /// Lambda.ClientExecutionTimeoutException or Lambda.ServiceException. Repeatable.
    #[arg(long, value_name = "FUNCTION=ERROR[xN]", value_parser = lambda_fault)]
    lambda_fault: Vec<(String, LambdaFault, u32)>,
}

/// `roll-back=Sandbox.Timedout` or `roll-back=Lambda.Unknownx3`.
fn lambda_fault(text: &str) -> Result<(String, LambdaFault, u32), String> {
    let (function, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: use FUNCTION=ERROR[xN]"))?;
    let (name, times) = match rest.rsplit_once('x') {
        Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (name, n.parse().map_err(|e| format!("{text:?}: {e}"))?)
        }
        _ => (rest, 1),
    };
    Ok((function.to_owned(), name.parse()?, times))
}

/// Arranges what `args` asks for in `account`, for a run of `input`; `remote` when the aliases
/// live behind an emulator (the in-memory faults are refused then).
pub fn apply(
    args: &FaultArgs,
    account: &LocalAccount,
    input: &Value,
    remote: bool,
) -> Result<(), CliError> {
    if let Some(at) = args.alarm_at {
        let alarm = input::first_alarm(input, "--alarm-at")?;
        let seconds = i64::try_from(at.as_secs())
            .map_err(|_| CliError::Usage("--alarm-at is too far away".into()))?;
        account.alarm_at(alarm, seconds);
    }
    if args.drop_alarm_events {
        account.alarm_events.drop_all();
    }
    if let Some(phase) = args.fail_hook {
        let field = if phase == HookPhase::Pre {
            "preTraffic"
        } else {
            "postTraffic"
        };
        let hook = input::hook(input, field).ok_or_else(|| {
            CliError::Usage(format!("--fail-hook needs hooks.{field} in the input"))
        })?;
        account.set_hook(hook, HookBehaviour::Status("Failed".into()));
    }
    if let Some(n) = args.drift_at_step {
        drift_at_step(account, input, n, remote)?;
    }
    for (function, fault, times) in &args.lambda_fault {
        account.lambda_faults.push(function, *fault, *times);
    }
    callback_hooks(args, account, input)?;
    operators(args, account);
    Ok(())
}

/// When the input's hooks are callback hooks, the simulated hooks answer through their task
/// token: what a synchronous hook would have returned, `--hook-answer-after` after being
/// invoked; `--silent-hook` never answers.
fn callback_hooks(args: &FaultArgs, account: &LocalAccount, input: &Value) -> Result<(), CliError> {
    let callback = input.pointer("/hooks/callbackTimeoutSeconds").is_some();
    if !callback {
        if args.hook_answer_after.is_some() || args.silent_hook.is_some() {
            return Err(CliError::Usage(
                "--hook-answer-after and --silent-hook need callback hooks (hooks.callbackTimeoutSeconds in the input)".into(),
            ));
        }
        return Ok(());
    }
    let after = args.hook_answer_after.map_or(0, |d| d.as_secs());
    for (phase, field) in [
        (HookPhase::Pre, "preTraffic"),
        (HookPhase::Post, "postTraffic"),
    ] {
        let Some(hook) = input::hook(input, field) else {
            continue;
        };
        let status = match account.hook(hook) {
            Some(HookBehaviour::Pass) => "Succeeded".to_owned(),
            Some(HookBehaviour::Status(status)) => status,
            // Errors, timeouts and scripted callbacks stay as they are.
            _ => continue,
        };
        let after_seconds = (args.silent_hook != Some(phase)).then_some(after);
        account.set_hook(
            hook,
            HookBehaviour::Callback {
                after_seconds,
                status,
            },
        );
    }
    Ok(())
}

/// Someone ships a hotfix by hand (a new version, all traffic, no routing) just before the
/// deployment's `n`th alias write.
fn drift_at_step(
    account: &LocalAccount,
    input: &Value,
    n: u64,
    remote: bool,
) -> Result<(), CliError> {
    if n == 0 {
        return Err(CliError::Usage("--drift-at-step counts from 1".into()));
    }
    // One alias write per step and alias (the shifts and the promotion; a release train writes
    // its aliases in order): a later one never comes.
    let functions = input::functions(input);
    if let Ok(request) = shifter::domain::DeploymentRequest::from_json(input) {
        let writes = (request.plan.steps().len() * functions.len()) as u64;
        if n > writes {
            return Err(CliError::Usage(format!(
                "--drift-at-step {n}: the deployment writes the alias {writes} times ({}); \
                 use 1 to {writes}",
                request.strategy_name
            )));
        }
    }
    if remote {
        return Err(CliError::Usage(
            "--drift-at-step injects faults into the in-memory account; it is not available with --endpoint".into(),
        ));
    }
    let written = usize::try_from(n - 1).unwrap_or(usize::MAX) % functions.len().max(1);
    let function = functions.get(written).copied().unwrap_or_default();
    let hotfix = account
        .lambda
        .publish(function_short_name(function))
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
    Ok(())
}

/// The operators' scheduled answers.
fn operators(args: &FaultArgs, account: &LocalAccount) {
    if let Some(at) = args.abort_at {
        account.abort_at(at.as_secs_f64(), &args.reason);
    }
    if let Some(at) = args.promote_at {
        account.promote_at(at.as_secs_f64());
    }
    if let Some(after) = args.approve_after {
        account.approve_after(after.as_secs_f64());
    }
}
