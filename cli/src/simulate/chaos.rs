//! `shifter simulate` fault injection: seeded random throttling, 5xx errors, lost responses
//! after writes, latency, service quotas, a flapping alarm, someone else changing the alias,
//! and a Roll Back that keeps failing.

use serde_json::Value;
use shifter::domain::AliasRoute;
use shifter::domain::alias::function_short_name;
use shifter::fakes::clock::Chaos;
use shifter_statemachine::local::LocalAccount;

use crate::error::CliError;
use crate::input;

/// Fault injection for `shifter simulate` (the in-memory account; alarms also with --endpoint).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ChaosArgs {
    /// Seed of every random fault; the same seed replays the same run. Alone, it turns on a
    /// moderate mix: 10% throttling, 5% server errors, 10% lost write responses, 0–500 ms latency.
    #[arg(long, value_name = "SEED", allow_hyphen_values = true)]
    chaos: Option<u64>,
    /// Fraction (0–1) of Lambda and CloudWatch calls refused with throttling.
    #[arg(long, value_name = "RATE", value_parser = rate, allow_hyphen_values = true)]
    throttle: Option<f64>,
    /// Fraction (0–1) of Lambda and CloudWatch calls that fail with a 5xx.
    #[arg(long, value_name = "RATE", value_parser = rate, allow_hyphen_values = true)]
    server_errors: Option<f64>,
    /// Fraction (0–1, default 0.2) of alias writes that land but whose response is lost.
    #[arg(long, value_name = "RATE", value_parser = rate, num_args = 0..=1, default_missing_value = "0.2", allow_negative_numbers = true)]
    crash_after_write: Option<f64>,
    /// Every call takes up to this many (virtual) milliseconds.
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    latency: Option<u64>,
    /// Enforce the service quotas in virtual time: Lambda control plane 15 requests/s,
    /// DescribeAlarms 9 TPS.
    #[arg(long)]
    quotas: bool,
    /// The first alarm flaps (60 s OK, 30 s ALARM) from this simulated time for 10 minutes.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, num_args = 0..=1, default_missing_value = "1m")]
    flap_alarm: Option<std::time::Duration>,
    /// Someone else ships a hotfix (a new version, all traffic) at this simulated time.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, allow_hyphen_values = true)]
    drift_at: Option<std::time::Duration>,
    /// The restore of the snapshot fails this many times before it can succeed (Roll Back
    /// retries 10 times; 11 or more ends in RollbackFailed).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    rollback_failures: Option<u32>,
}

impl ChaosArgs {
    /// The first chaos flag set, if any.
    pub fn first_set(&self) -> Option<&'static str> {
        [
            ("--chaos", self.chaos.is_some()),
            ("--throttle", self.throttle.is_some()),
            ("--server-errors", self.server_errors.is_some()),
            ("--crash-after-write", self.crash_after_write.is_some()),
            ("--latency", self.latency.is_some()),
            ("--quotas", self.quotas),
            ("--flap-alarm", self.flap_alarm.is_some()),
            ("--drift-at", self.drift_at.is_some()),
            ("--rollback-failures", self.rollback_failures.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, set)| set.then_some(flag))
    }
}

fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a fraction between 0 and 1"))
    }
}

impl ChaosArgs {
    /// The faults the fakes draw from; `None` when no random fault was asked for.
    fn chaos(&self, seed_offset: u64) -> Option<Chaos> {
        let any = self.throttle.is_some()
            || self.server_errors.is_some()
            || self.crash_after_write.is_some()
            || self.latency.is_some();
        if self.chaos.is_none() && !any && !self.quotas {
            return None;
        }
        let moderate = self.chaos.is_some() && !any;
        let pick = |given: Option<f64>, default: f64| {
            given.unwrap_or(if moderate { default } else { 0.0 })
        };
        Some(Chaos {
            seed: self.chaos.unwrap_or(0).wrapping_add(seed_offset),
            throttle_rate: pick(self.throttle, 0.1),
            server_error_rate: pick(self.server_errors, 0.05),
            crash_after_write_rate: pick(self.crash_after_write, 0.1),
            per_second: None,
            latency_ms: (0, self.latency.unwrap_or(if moderate { 500 } else { 0 })),
        })
    }
}

/// The slowest a simulated call may be: a minute, past any SDK timeout the functions use.
const MAX_LATENCY_MS: u64 = 60_000;

/// Arranges the faults `args` asks for in `account`, for a run of `input` that ends by `latest`
/// (when known); a time or latency that could never apply is refused by flag.
pub fn apply(
    args: &ChaosArgs,
    account: &LocalAccount,
    input: &Value,
    latest: Option<u64>,
) -> Result<(), CliError> {
    if let Some(ms) = args.latency.filter(|ms| *ms > MAX_LATENCY_MS) {
        return Err(CliError::Usage(format!(
            "--latency {ms}: at most {MAX_LATENCY_MS} ms (a minute) per call"
        )));
    }
    if let Some(mut lambda) = args.chaos(0) {
        let mut alarms = args.chaos(1).unwrap_or_default();
        alarms.crash_after_write_rate = 0.0;
        if args.quotas {
            lambda.per_second = Some(15);
            alarms.per_second = Some(9);
        }
        account.lambda.set_chaos(lambda, &account.clock);
        account.alarms.set_chaos(alarms, &account.clock);
    }
    let function = function_short_name(input::text(input, "functionName"));
    let alias = input::text(input, "alias");
    // Bounded by a year (bounds::scheduled), so the clock arithmetic cannot overflow.
    let at = |flag: &str, d: std::time::Duration| -> Result<_, CliError> {
        let seconds = super::bounds::scheduled(flag, d, latest)?;
        Ok(account.clock.start() + chrono::TimeDelta::seconds(seconds.cast_signed()))
    };
    if let Some(from) = args.flap_alarm {
        let alarm = input::first_alarm(input, "--flap-alarm")?;
        let start = at("--flap-alarm", from)?;
        account
            .alarms
            .flap(alarm, start, start + chrono::TimeDelta::minutes(10), 60, 30);
    }
    if let Some(when) = args.drift_at {
        let when = at("--drift-at", when)?;
        let hotfix = account.lambda.publish(function).ok_or_else(|| {
            CliError::Usage(format!(
                "--drift-at: no function {function:?} in the account"
            ))
        })?;
        account
            .lambda
            .change_alias_at(when, function, alias, AliasRoute::single(hotfix));
    }
    if let Some(n) = args.rollback_failures {
        let current = account.lambda.alias(function, alias).ok_or_else(|| {
            CliError::Usage(format!(
                "--rollback-failures: no alias {alias:?} of {function:?} in the account"
            ))
        })?;
        account
            .lambda
            .fail_writes_of(AliasRoute::single(current.route.version), n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        chaos: ChaosArgs,
    }

    fn parse(args: &[&str]) -> ChaosArgs {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .expect("valid arguments")
            .chaos
    }

    #[test]
    fn a_seed_alone_turns_on_a_moderate_mix() {
        let c = parse(&["--chaos", "7"]).chaos(0).expect("chaos");
        assert_eq!((c.seed, c.throttle_rate, c.latency_ms), (7, 0.1, (0, 500)));
        let c = parse(&["--chaos", "7", "--throttle", "0.5"])
            .chaos(0)
            .expect("chaos");
        assert_eq!((c.throttle_rate, c.server_error_rate), (0.5, 0.0));
        assert!(parse(&[]).chaos(0).is_none());
        assert_eq!(
            parse(&["--crash-after-write"])
                .chaos(0)
                .map(|c| c.crash_after_write_rate),
            Some(0.2)
        );
        assert!(Cli::try_parse_from(["t", "--throttle", "1.5"]).is_err());
    }

    #[tokio::test]
    async fn rollback_failures_and_quotas_reach_the_fakes() {
        let account = LocalAccount::demo();
        let input = LocalAccount::demo_input("Canary10Percent5Minutes");
        let args = parse(&[
            "--quotas",
            "--rollback-failures",
            "20",
            "--flap-alarm",
            "2m",
        ]);
        apply(&args, &account, &input, None).expect("applies");
        account.alarm_at("demo-errors", 60);
        let run = shifter_statemachine::local::run(&account, input, "chaos", &mut |_| {})
            .await
            .expect("runs");
        assert_eq!(run.summary.error.as_deref(), Some("RollbackFailed"));
    }
}
