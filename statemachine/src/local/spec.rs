//! A simulated account described in JSON (`shifter simulate --account FILE`), so users can
//! rehearse their own setup: functions and published versions, aliases, alarms with scripted
//! states, hooks and how they behave.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use shifter::domain::{AliasRoute, FieldError, InputDocument, ManagedSet, Weight};
use shifter::ports::AlarmState;

use super::account::{HookBehaviour, LocalAccount};

/// The whole account file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountSpec {
    /// What this account rehearses, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Functions with their published versions and aliases (none with `--endpoint`, whose
    /// functions are the emulator's).
    #[serde(default)]
    pub functions: Vec<FunctionSpec>,
    /// CloudWatch alarms.
    #[serde(default)]
    pub alarms: Vec<AlarmSpec>,
    /// Hook functions.
    #[serde(default)]
    pub hooks: Vec<HookSpec>,
    /// Per-version traffic through an alias, for the canary analysis: from `atSeconds` on,
    /// the version serves this many calls a minute at this error rate and p99.
    #[serde(default)]
    pub traffic: Vec<TrafficSpec>,
    /// Start Deployment's `MANAGED_FUNCTIONS`; every function when absent.
    #[serde(default)]
    pub managed_functions: Option<String>,
    /// The execution input to run when `--input` is not given.
    #[serde(default)]
    pub input: Option<Value>,
}

/// How one version behaves through an alias from some moment on.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficSpec {
    /// Function name.
    pub function: String,
    /// Alias name.
    pub alias: String,
    /// Version.
    pub version: String,
    /// Seconds after the start (default 0).
    #[serde(default)]
    pub at_seconds: i64,
    /// Calls a minute.
    pub calls_per_minute: u64,
    /// Percent of the calls that fail (default 0).
    #[serde(default)]
    pub error_rate_percent: f64,
    /// 99th percentile duration in milliseconds.
    pub p99_millis: f64,
}

/// A function.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionSpec {
    /// Function name.
    pub name: String,
    /// Published versions, 1 to N (all with the function's role).
    pub published_versions: u32,
    /// Execution role of every version.
    #[serde(default = "default_role")]
    pub role: String,
    /// Aliases: name → version, or {"version", "routing": {"version", "weight"}}.
    #[serde(default)]
    pub aliases: BTreeMap<String, AliasSpec>,
    /// Provisioned concurrency by alias name.
    #[serde(default)]
    pub provisioned_concurrency: BTreeMap<String, ProvisionedSpec>,
}

/// Provisioned concurrency on an alias: allocated at the start; every write that changes the
/// alias's routing reallocates it (IN_PROGRESS for `allocationSeconds`, then READY), and the
/// allocation started by write number `failAtWrite` (1 = the first shift) ends FAILED.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisionedSpec {
    /// Provisioned concurrent executions requested on the alias.
    pub executions: u32,
    /// Seconds each reallocation takes (default 60).
    #[serde(default = "default_allocation_seconds")]
    pub allocation_seconds: u32,
    /// The write whose allocation fails (1 = the first); 0 fails the config in place, so
    /// Start Deployment refuses; absent, none fails.
    #[serde(default)]
    pub fail_at_write: Option<u32>,
    /// Lambda's `StatusReason` for the failed allocation.
    #[serde(default = "default_failure_reason")]
    pub failure_reason: String,
}

fn default_allocation_seconds() -> u32 {
    60
}

fn default_failure_reason() -> String {
    "FUNCTION_ERROR_INIT_FAILURE: the function failed to initialize".to_owned()
}

/// Where an alias points.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AliasSpec {
    /// All traffic on one version.
    Version(String),
    /// A version with a weighted second one.
    Routed {
        /// Primary version.
        version: String,
        /// The weighted version.
        routing: RoutingSpec,
    },
}

/// A weighted second version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSpec {
    /// Version number.
    pub version: String,
    /// Percent of traffic.
    pub weight: f64,
}

/// An alarm and the states it goes through.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmSpec {
    /// Alarm name.
    pub name: String,
    /// State at the start.
    #[serde(default = "ok")]
    pub state: AlarmState,
    /// Later changes.
    #[serde(default)]
    pub changes: Vec<AlarmChange>,
}

/// An alarm changing state at a simulated time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmChange {
    /// Seconds after the start.
    pub at_seconds: i64,
    /// The new state.
    pub state: AlarmState,
}

/// A hook function and how it behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookSpec {
    /// Function name.
    pub name: String,
    /// `pass` (default), `fail`, `error`, `timeout`, or for callback hooks `callback` (answers
    /// `{"status":"Succeeded"}` after `answerAfterSeconds`) and `silent` (never answers).
    #[serde(default)]
    pub behaviour: HookSpecBehaviour,
    /// For `callback`: seconds until the answer (default 60).
    #[serde(default)]
    pub answer_after_seconds: Option<u64>,
}

/// How a hook answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookSpecBehaviour {
    /// `{"status":"Succeeded"}`.
    #[default]
    Pass,
    /// `{"status":"Failed"}`.
    Fail,
    /// A function error.
    Error,
    /// Runs past its timeout.
    Timeout,
    /// A callback hook that answers `{"status":"Succeeded"}` after `answerAfterSeconds`.
    Callback,
    /// A callback hook that never answers its token.
    Silent,
}

fn default_role() -> String {
    "arn:aws:iam::000000000000:role/simulated".to_owned()
}

fn ok() -> AlarmState {
    AlarmState::Ok
}

/// Why an account file cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not the expected JSON.
    #[error("{path}: {message}")]
    Json { path: String, message: String },
    /// Consistent JSON, impossible account.
    #[error("{0}")]
    Invalid(String),
}

impl AccountSpec {
    /// Parses an account file as strictly as an execution input, with the same reader (a
    /// repeated key or too-deep nesting is refused by field), then checks it whole (names,
    /// published versions, numbers, its `input`); errors name the JSON path of the bad field.
    pub fn from_json(text: &str) -> Result<AccountSpec, AccountError> {
        let named = |e: FieldError| AccountError::Json {
            path: e.field,
            message: e.message,
        };
        let value = InputDocument::parse(text)
            .and_then(InputDocument::into_value)
            .map_err(named)?;
        let spec: AccountSpec = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            named(FieldError::new(path, e.into_inner().to_string()))
        })?;
        super::strict::check(&spec).map_err(named)?;
        Ok(spec)
    }

    /// Builds the simulated account.
    pub fn build(&self) -> Result<LocalAccount, AccountError> {
        self.build_on(shifter::fakes::ManualClock::at_epoch())
    }

    /// Builds the simulated account on `clock` (one region of a wave plan's rehearsal).
    pub fn build_on(
        &self,
        clock: shifter::fakes::ManualClock,
    ) -> Result<LocalAccount, AccountError> {
        let mut account = LocalAccount::on_clock(clock);
        if let Some(managed) = &self.managed_functions {
            account.config.managed = ManagedSet::parse(managed);
        }
        for f in &self.functions {
            account.lambda.add_function(&f.name, &f.role);
            for _ in 0..f.published_versions {
                account.lambda.publish(&f.name);
            }
            for (alias, spec) in &f.aliases {
                let route = match spec {
                    AliasSpec::Version(v) => AliasRoute::single(v),
                    AliasSpec::Routed { version, routing } => {
                        let weight = Weight::from_percent_f64(routing.weight).map_err(|e| {
                            AccountError::Invalid(format!(
                                "functions.{}.aliases.{alias}.routing.weight: {e}",
                                f.name
                            ))
                        })?;
                        AliasRoute::split(version, &routing.version, weight)
                    }
                };
                account.lambda.put_alias(&f.name, alias, route);
            }
            for (alias, pc) in &f.provisioned_concurrency {
                if pc.executions == 0 {
                    return Err(AccountError::Invalid(format!(
                        "functions.{}.provisionedConcurrency.{alias}.executions: must be at \
                         least 1, as Lambda requires",
                        f.name
                    )));
                }
                if !f.aliases.contains_key(alias) {
                    return Err(AccountError::Invalid(format!(
                        "functions.{}.provisionedConcurrency.{alias}: no such alias",
                        f.name
                    )));
                }
                let lambda = &account.lambda;
                lambda.set_provisioned_concurrency(
                    &f.name,
                    alias,
                    pc.executions,
                    pc.allocation_seconds,
                );
                if let Some(nth) = pc.fail_at_write {
                    lambda.fail_provisioned_concurrency(&f.name, alias, nth, &pc.failure_reason);
                }
            }
        }
        self.simulated(&account);
        Ok(account)
    }

    /// The file's simulated parts — alarms, hooks, the managed set — on `account`, whose
    /// functions, versions and aliases live elsewhere (an AWS API emulator). A file that lists
    /// functions is refused: they would not be created there.
    pub fn apply_to(&self, account: &mut LocalAccount) -> Result<(), AccountError> {
        if !self.functions.is_empty() {
            return Err(AccountError::Invalid(
                "functions: with --endpoint the functions, versions and aliases are the \
                 emulator's; leave \"functions\" out of the account file (alarms, hooks, \
                 managedFunctions and input apply)"
                    .to_owned(),
            ));
        }
        if let Some(managed) = &self.managed_functions {
            account.config.managed = ManagedSet::parse(managed);
        }
        self.simulated(account);
        Ok(())
    }

    /// Alarms with their scripted changes, and hooks with their behaviour.
    fn simulated(&self, account: &LocalAccount) {
        for t in &self.traffic {
            let at = account.clock.start() + chrono::TimeDelta::seconds(t.at_seconds);
            let traffic = shifter::fakes::Traffic {
                calls_per_minute: t.calls_per_minute,
                error_rate_percent: t.error_rate_percent,
                p99_millis: t.p99_millis,
            };
            account
                .metrics
                .set(&t.function, &t.alias, &t.version, at, traffic);
        }
        for alarm in &self.alarms {
            account.alarms.add(&alarm.name, alarm.state);
            for change in &alarm.changes {
                let at = account.clock.start() + chrono::TimeDelta::seconds(change.at_seconds);
                account.alarms.set_from(&alarm.name, at, change.state);
            }
        }
        for hook in &self.hooks {
            let behaviour = match hook.behaviour {
                HookSpecBehaviour::Pass => HookBehaviour::Pass,
                HookSpecBehaviour::Fail => HookBehaviour::Status("Failed".to_owned()),
                HookSpecBehaviour::Error => {
                    HookBehaviour::Error(format!("{} raised an error", hook.name))
                }
                HookSpecBehaviour::Timeout => HookBehaviour::Timeout,
                HookSpecBehaviour::Callback => HookBehaviour::Callback {
                    after_seconds: Some(hook.answer_after_seconds.unwrap_or(60)),
                    status: "Succeeded".to_owned(),
                },
                HookSpecBehaviour::Silent => HookBehaviour::Callback {
                    after_seconds: None,
                    status: String::new(),
                },
            };
            account.add_hook(&hook.name, behaviour);
        }
    }
}
