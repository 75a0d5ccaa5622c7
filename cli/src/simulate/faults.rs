//! `shifter simulate`'s scripted faults and operator answers: an alarm that fires, a hook that
//! fails, someone else's write, and what `shifter abort|promote|approve` would do, and when.

use std::time::Duration;

use serde_json::Value;
use shifter::domain::AliasRoute;
use shifter::domain::alias::function_short_name;
use shifter::fakes::{Fault, LambdaOp};
use shifter_statemachine::local::{HookBehaviour, LambdaFault, LocalAccount};

use super::bounds;
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
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, allow_hyphen_values = true)]
    alarm_at: Option<Duration>,
    /// Every CloudWatch alarm state-change event is lost on its way to the watch function: only
    /// the backstop reads (every checkIntervalSeconds while parked) see an alarm.
    #[arg(long)]
    drop_alarm_events: bool,
    /// With callback hooks (hooks.callbackTimeoutSeconds in the input): each hook answers its
    /// task token this long after it is invoked (default at once).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, allow_hyphen_values = true)]
    hook_answer_after: Option<Duration>,
    /// With callback hooks: this hook never answers its task token (it times out).
    #[arg(long, value_enum, allow_hyphen_values = true)]
    silent_hook: Option<HookPhase>,
    /// Make a hook fail.
    #[arg(long, value_enum, allow_hyphen_values = true)]
    fail_hook: Option<HookPhase>,
    /// Someone else changes the alias just before the deployment's Nth alias write.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    drift_at_step: Option<u64>,
    /// An operator aborts at this simulated time (what `shifter abort` does): the deployment
    /// rolls back at once and fails with error Aborted.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, allow_hyphen_values = true)]
    abort_at: Option<Duration>,
    /// An operator stops the execution at this simulated time, as the console's Stop button
    /// does (StopExecution): no Roll Back runs; the watch function hears of the stop 1 s later
    /// and restores each alias still on this deployment's last write.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, allow_hyphen_values = true)]
    stop_at: Option<Duration>,
    /// The reason given with --abort-at.
    #[arg(long, default_value = "aborted by an operator", requires = "abort_at")]
    reason: String,
    /// An operator approves each approval gate this long after it starts waiting.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, allow_hyphen_values = true)]
    approve_after: Option<Duration>,
    /// An operator promotes at this simulated time, skipping the remaining steps.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, allow_hyphen_values = true)]
    promote_at: Option<Duration>,
    /// The next N invocations of FUNCTION (ours: start-deployment, shift-traffic, check-health,
    /// roll-back, watch; or a hook) fail with a Lambda error as Step Functions names it:
    /// Lambda.Unknown (the handler crashed), Sandbox.Timedout (it ran past its 30 s timeout),
    /// Lambda.ClientExecutionTimeoutException or Lambda.ServiceException. Repeatable.
    #[arg(long, value_name = "FUNCTION=ERROR[xN]", value_parser = lambda_fault)]
    lambda_fault: Vec<(String, LambdaFault, u32)>,
    /// Every alias write FUNCTION makes lands, but its answer is lost (a 5xx or a connection
    /// reset after Lambda committed it): shift-traffic (the steps and the promotion) or
    /// roll-back (the restore). The function reads the alias back and knows its own write.
    /// Repeatable.
    #[arg(long, value_name = "FUNCTION", value_parser = ["shift-traffic", "roll-back"])]
    lost_answer: Vec<String>,
    /// Every alias the deployment moves has provisioned concurrency (20 executions, in place of
    /// any the account file gives) that takes this many seconds to reallocate after each write.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    provisioned_concurrency: Option<u32>,
}

/// Longest reallocation `--provisioned-concurrency` takes: a day, far past the longest
/// `readyTimeoutSeconds`.
const MAX_REALLOCATION_SECONDS: u32 = 86_400;

/// Most failures one `--lambda-fault` queues: the state machine retries a Task a few times, so
/// more would only make the run longer, and a count in the billions would fill memory.
const MAX_FAULT_TIMES: u32 = 100;

/// `roll-back=Sandbox.Timedout` or `roll-back=Lambda.Unknownx3` (clap shows the text with the
/// error).
fn lambda_fault(text: &str) -> Result<(String, LambdaFault, u32), String> {
    let (function, rest) = text
        .split_once('=')
        .ok_or_else(|| "use FUNCTION=ERROR[xN]".to_owned())?;
    let (name, times) = match rest.rsplit_once('x') {
        Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            let n = shifter::domain::text::cut_chars(n, 40);
            let times: u32 = n
                .parse()
                .map_err(|_| format!("x{n} is too many; use x1 to x{MAX_FAULT_TIMES}"))?;
            if times == 0 || times > MAX_FAULT_TIMES {
                return Err(format!("x{n} cannot apply; use x1 to x{MAX_FAULT_TIMES}"));
            }
            (name, times)
        }
        _ => (rest, 1),
    };
    if function.is_empty() {
        return Err("no function before '='; use FUNCTION=ERROR[xN]".to_owned());
    }
    Ok((function.to_owned(), name.parse()?, times))
}

/// Arranges what `args` asks for in `account`, for a run of `input`; `remote` when the aliases
/// live behind an emulator (the in-memory faults are refused then). A flag that cannot apply to
/// this input (a time after its end, a hook or gate it does not have, a function it never
/// invokes) is refused by name.
pub fn apply(
    args: &FaultArgs,
    account: &LocalAccount,
    input: &Value,
    remote: bool,
) -> Result<(), CliError> {
    let request = shifter::domain::DeploymentRequest::from_json(input).ok();
    let latest = bounds::latest_of(input, args.injected());
    if let Some(at) = args.alarm_at {
        let alarm = input::first_alarm(input, "--alarm-at")?;
        let seconds = bounds::scheduled("--alarm-at", at, latest)?;
        account.alarm_at(alarm, i64::try_from(seconds).unwrap_or(i64::MAX));
    }
    if args.drop_alarm_events {
        account.alarm_events.drop_all();
    }
    if let Some(phase) = args.fail_hook {
        let hook = hook_of(input, phase, "--fail-hook")?;
        account.set_hook(hook, HookBehaviour::Status("Failed".into()));
    }
    if let Some(n) = args.drift_at_step {
        drift_at_step(account, input, n, remote)?;
    }
    for (function, fault, times) in &args.lambda_fault {
        invoked(input, function)?;
        account.lambda_faults.push(function, *fault, *times);
    }
    for function in &args.lost_answer {
        account.lost_answers.lose_answers_of(function);
    }
    callback_hooks(args, account, input, latest)?;
    if let Some(seconds) = args.provisioned_concurrency {
        provisioned_concurrency(account, request.as_ref(), seconds, remote)?;
    }
    operators(args, account, request.as_ref(), latest)
}

/// `--provisioned-concurrency`: 20 executions on every alias the deployment moves, reallocated
/// in `seconds` after each write.
fn provisioned_concurrency(
    account: &LocalAccount,
    request: Option<&shifter::domain::DeploymentRequest>,
    seconds: u32,
    remote: bool,
) -> Result<(), CliError> {
    if remote {
        return Err(CliError::Usage(
            "--provisioned-concurrency configures the in-memory account; it is not available \
             with --endpoint (the emulator serves no provisioned concurrency)"
                .into(),
        ));
    }
    if seconds > MAX_REALLOCATION_SECONDS {
        return Err(CliError::Usage(format!(
            "--provisioned-concurrency {seconds}: use at most {MAX_REALLOCATION_SECONDS} seconds \
             (provisionedConcurrency.readyTimeoutSeconds is at most 3600)"
        )));
    }
    for target in request.map(|r| r.targets()).unwrap_or_default() {
        let function = function_short_name(&target.function_name);
        account
            .lambda
            .set_provisioned_concurrency(function, &target.alias, 20, seconds);
    }
    Ok(())
}

impl FaultArgs {
    /// Lambda failures injected in all: each makes the run longer.
    /// The first flag set other than `--abort-at` and `--reason` (a wave plan takes only those).
    pub fn first_set_but_abort(&self) -> Option<&'static str> {
        [
            ("--alarm-at", self.alarm_at.is_some()),
            ("--drop-alarm-events", self.drop_alarm_events),
            ("--hook-answer-after", self.hook_answer_after.is_some()),
            ("--silent-hook", self.silent_hook.is_some()),
            ("--fail-hook", self.fail_hook.is_some()),
            ("--drift-at-step", self.drift_at_step.is_some()),
            ("--stop-at", self.stop_at.is_some()),
            ("--approve-after", self.approve_after.is_some()),
            ("--promote-at", self.promote_at.is_some()),
            ("--lambda-fault", !self.lambda_fault.is_empty()),
            ("--lost-answer", !self.lost_answer.is_empty()),
            (
                "--provisioned-concurrency",
                self.provisioned_concurrency.is_some(),
            ),
        ]
        .into_iter()
        .find_map(|(flag, set)| set.then_some(flag))
    }

    /// `--abort-at`.
    pub fn abort_at(&self) -> Option<Duration> {
        self.abort_at
    }

    /// `--reason`.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn injected(&self) -> u64 {
        self.lambda_fault
            .iter()
            .map(|(_, _, n)| u64::from(*n))
            .sum()
    }
}

/// The function the input names for `phase`'s hook, or a refusal of `flag` naming the field.
fn hook_of<'a>(input: &'a Value, phase: HookPhase, flag: &str) -> Result<&'a str, CliError> {
    let field = if phase == HookPhase::Pre {
        "preTraffic"
    } else {
        "postTraffic"
    };
    input::hook(input, field)
        .ok_or_else(|| CliError::Usage(format!("{flag} needs hooks.{field} in the input")))
}

/// Refuses a `--lambda-fault` for a function the deployment never invokes: ours (by the short
/// names the flag documents) or one of the input's hooks.
fn invoked(input: &Value, function: &str) -> Result<(), CliError> {
    let ours = shifter_statemachine::local::OUR_FUNCTIONS.map(|(_, name)| name);
    let hooks = ["preTraffic", "postTraffic"].map(|phase| input::hook(input, phase));
    let hooks: Vec<&str> = hooks.into_iter().flatten().collect();
    let short = function_short_name(function);
    if ours.contains(&function) || hooks.iter().any(|h| function_short_name(h) == short) {
        return Ok(());
    }
    let mut known: Vec<&str> = ours.to_vec();
    known.extend(hooks.iter().map(|h| function_short_name(h)));
    Err(CliError::Usage(format!(
        "--lambda-fault {}: the deployment never invokes that function; use one of {}",
        shifter::domain::text::cut_chars(function, 80),
        known.join(", ")
    )))
}

/// When the input's hooks are callback hooks, the simulated hooks answer through their task
/// token: what a synchronous hook would have returned, `--hook-answer-after` after being
/// invoked; `--silent-hook` never answers.
fn callback_hooks(
    args: &FaultArgs,
    account: &LocalAccount,
    input: &Value,
    latest: Option<u64>,
) -> Result<(), CliError> {
    let timeout = input
        .pointer("/hooks/callbackTimeoutSeconds")
        .and_then(Value::as_u64);
    let Some(timeout) = timeout else {
        if args.hook_answer_after.is_some() || args.silent_hook.is_some() {
            return Err(CliError::Usage(
                "--hook-answer-after and --silent-hook need callback hooks (hooks.callbackTimeoutSeconds in the input)".into(),
            ));
        }
        return Ok(());
    };
    if let Some(phase) = args.silent_hook {
        hook_of(input, phase, "--silent-hook")?;
    }
    let after = match args.hook_answer_after {
        Some(after) => bounds::scheduled("--hook-answer-after", after, latest)?,
        None => 0,
    };
    if after > timeout {
        return Err(CliError::Usage(format!(
            "--hook-answer-after {}: later than hooks.callbackTimeoutSeconds ({timeout} s), so \
             the answer never lands; use --silent-hook for a hook that times out",
            humantime::format_duration(Duration::from_secs(after))
        )));
    }
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

/// The operators' scheduled answers; an approval needs a gate to answer, and comes before the
/// gate's timeout.
fn operators(
    args: &FaultArgs,
    account: &LocalAccount,
    request: Option<&shifter::domain::DeploymentRequest>,
    latest: Option<u64>,
) -> Result<(), CliError> {
    if let Some(at) = args.abort_at {
        let seconds = bounds::scheduled("--abort-at", at, latest)?;
        account.abort_at(seconds as f64, &args.reason);
    }
    if let Some(at) = args.stop_at {
        let seconds = bounds::scheduled("--stop-at", at, latest)?;
        account.stop_at(seconds as f64);
    }
    if let Some(at) = args.promote_at {
        let seconds = bounds::scheduled("--promote-at", at, latest)?;
        account.promote_at(seconds as f64);
    }
    if let Some(after) = args.approve_after {
        let seconds = bounds::scheduled("--approve-after", after, latest)?;
        if let Some(approval) = request.map(|r| &r.approval) {
            if approval.steps.is_empty() && !approval.before_promote {
                return Err(CliError::Usage(
                    "--approve-after: the input has no approval gate (a step's \"approval\": \
                     true, or approvalBeforePromote), so there is nothing to approve"
                        .into(),
                ));
            }
            if seconds > u64::from(approval.timeout_seconds) {
                return Err(CliError::Usage(format!(
                    "--approve-after {}: later than approvalTimeoutSeconds ({} s), so the gate \
                     has timed out before; use a shorter time",
                    humantime::format_duration(after),
                    approval.timeout_seconds
                )));
            }
        }
        account.approve_after(seconds as f64);
    }
    Ok(())
}
