//! An account file read as strictly as an execution input (issue 21, item 3): the same reader
//! (repeated keys, nesting), unknown fields, then every name, version and number the simulated
//! account would otherwise take as given — each refused naming its field.

use std::collections::BTreeSet;

use shifter::domain::managed::{validate_alias, validate_function_name};
use shifter::domain::request::validate_alarms;
use shifter::domain::{DeploymentRequest, FieldError, ManagedSet, Weight};

use super::spec::{AccountSpec, AliasSpec, FunctionSpec, HookSpecBehaviour};

/// Most versions a simulated function publishes (each is held in memory).
pub const MAX_PUBLISHED_VERSIONS: u32 = 10_000;

/// The latest simulated second a scripted change can come: a Standard workflow runs at most a
/// year.
pub const MAX_AT_SECONDS: i64 = 365 * 24 * 3600;

/// Most provisioned concurrent executions on an alias (Lambda's regional concurrency quota can
/// be raised to tens of thousands, not more).
pub const MAX_EXECUTIONS: u32 = 100_000;

/// Most calls a minute a simulated version serves.
pub const MAX_CALLS_PER_MINUTE: u64 = 1_000_000_000;

/// Lambda runs a function for at most 15 minutes, so no p99 is longer.
pub const MAX_P99_MILLIS: f64 = 900_000.0;

/// Every check of `spec`, the first problem named by its JSON path.
pub fn check(spec: &AccountSpec) -> Result<(), FieldError> {
    let mut names = BTreeSet::new();
    for (i, f) in spec.functions.iter().enumerate() {
        let at = format!("functions[{i}]");
        if !names.insert(f.name.as_str()) {
            return Err(FieldError::new(
                format!("{at}.name"),
                format!("{:?} is listed twice; list each function once", f.name),
            ));
        }
        check_function(&at, f)?;
    }
    check_alarms(spec)?;
    check_hooks(spec)?;
    check_traffic(spec)?;
    if let Some(managed) = &spec.managed_functions
        && let Some(entry) = ManagedSet::parse(managed).ignored().first()
    {
        return Err(FieldError::new(
            "managedFunctions",
            format!("{entry:?} is neither a function name pattern nor a function ARN pattern"),
        ));
    }
    if let Some(input) = &spec.input {
        DeploymentRequest::from_json(input).map_err(|e| {
            let field = if e.field == "(input)" {
                "input".to_owned()
            } else {
                format!("input.{}", e.field)
            };
            FieldError::new(field, e.message)
        })?;
    }
    Ok(())
}

fn check_function(at: &str, f: &FunctionSpec) -> Result<(), FieldError> {
    validate_function_name(&format!("{at}.name"), &f.name)?;
    if f.published_versions > MAX_PUBLISHED_VERSIONS {
        return Err(FieldError::new(
            format!("{at}.publishedVersions"),
            format!(
                "{} versions cannot be simulated; use at most {MAX_PUBLISHED_VERSIONS}",
                f.published_versions
            ),
        ));
    }
    if f.role.trim().is_empty() {
        return Err(FieldError::new(
            format!("{at}.role"),
            "is empty; name the versions' execution role",
        ));
    }
    for (alias, route) in &f.aliases {
        let field = format!("{at}.aliases.{alias}");
        validate_alias(&field, alias)?;
        match route {
            AliasSpec::Version(v) => published(&field, f, v)?,
            AliasSpec::Routed { version, routing } => {
                published(&format!("{field}.version"), f, version)?;
                published(&format!("{field}.routing.version"), f, &routing.version)?;
                let weight = Weight::from_percent_f64(routing.weight).map_err(|e| {
                    FieldError::new(format!("{field}.routing.weight"), e.to_string())
                })?;
                if routing.version == *version || weight == Weight::ZERO || weight == Weight::FULL {
                    return Err(FieldError::new(
                        format!("{field}.routing"),
                        "routes to a second version with a weight between 0 and 100 (exclusive)",
                    ));
                }
            }
        }
    }
    for (alias, pc) in &f.provisioned_concurrency {
        let field = format!("{at}.provisionedConcurrency.{alias}");
        if !f.aliases.contains_key(alias) {
            return Err(FieldError::new(field, "no such alias"));
        }
        if pc.executions == 0 || pc.executions > MAX_EXECUTIONS {
            return Err(FieldError::new(
                format!("{field}.executions"),
                format!(
                    "must be 1 to {MAX_EXECUTIONS}, as Lambda allows (got {})",
                    pc.executions
                ),
            ));
        }
        seconds(
            &format!("{field}.allocationSeconds"),
            i64::from(pc.allocation_seconds),
        )?;
    }
    Ok(())
}

/// `version` is one `f` publishes (1 to `publishedVersions`).
fn published(field: &str, f: &FunctionSpec, version: &str) -> Result<(), FieldError> {
    let number = version
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1 && !version.starts_with('0'));
    match number {
        Some(n) if n <= f.published_versions => Ok(()),
        Some(n) => Err(FieldError::new(
            field,
            format!(
                "version {n} is not published: {} has versions 1 to {}",
                f.name, f.published_versions
            ),
        )),
        None => Err(FieldError::new(
            field,
            format!("{version:?} is not a published version number"),
        )),
    }
}

/// A simulated time: from the start to a year.
fn seconds(field: &str, value: i64) -> Result<(), FieldError> {
    if (0..=MAX_AT_SECONDS).contains(&value) {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        format!("must be 0 to {MAX_AT_SECONDS} (a year, the longest execution), got {value}"),
    ))
}

fn check_alarms(spec: &AccountSpec) -> Result<(), FieldError> {
    let names: Vec<String> = spec.alarms.iter().map(|a| a.name.clone()).collect();
    validate_alarms(&names).map_err(|e| match e.field.strip_prefix("alarms") {
        Some(index) if index.starts_with('[') => {
            FieldError::new(format!("alarms{index}.name"), e.message)
        }
        _ => e,
    })?;
    for (i, alarm) in spec.alarms.iter().enumerate() {
        for (j, change) in alarm.changes.iter().enumerate() {
            seconds(
                &format!("alarms[{i}].changes[{j}].atSeconds"),
                change.at_seconds,
            )?;
        }
    }
    Ok(())
}

fn check_hooks(spec: &AccountSpec) -> Result<(), FieldError> {
    let mut names = BTreeSet::new();
    for (i, hook) in spec.hooks.iter().enumerate() {
        let at = format!("hooks[{i}]");
        validate_function_name(&format!("{at}.name"), &hook.name)?;
        if !names.insert(hook.name.as_str()) {
            return Err(FieldError::new(
                format!("{at}.name"),
                format!("{:?} is listed twice; list each hook once", hook.name),
            ));
        }
        if spec.functions.iter().any(|f| f.name == hook.name) {
            return Err(FieldError::new(
                format!("{at}.name"),
                format!(
                    "{:?} is also one of the functions; a hook is another function",
                    hook.name
                ),
            ));
        }
        if let Some(after) = hook.answer_after_seconds {
            let field = format!("{at}.answerAfterSeconds");
            if hook.behaviour != HookSpecBehaviour::Callback {
                return Err(FieldError::new(
                    field,
                    "would do nothing: only a hook whose behaviour is \"callback\" answers later",
                ));
            }
            seconds(&field, i64::try_from(after).unwrap_or(i64::MAX))?;
        }
    }
    Ok(())
}

fn check_traffic(spec: &AccountSpec) -> Result<(), FieldError> {
    for (i, t) in spec.traffic.iter().enumerate() {
        let at = format!("traffic[{i}]");
        seconds(&format!("{at}.atSeconds"), t.at_seconds)?;
        if t.calls_per_minute > MAX_CALLS_PER_MINUTE {
            return Err(FieldError::new(
                format!("{at}.callsPerMinute"),
                format!(
                    "must be at most {MAX_CALLS_PER_MINUTE} (got {})",
                    t.calls_per_minute
                ),
            ));
        }
        if !(0.0..=100.0).contains(&t.error_rate_percent) {
            return Err(FieldError::new(
                format!("{at}.errorRatePercent"),
                format!("is a percentage, 0 to 100 (got {})", t.error_rate_percent),
            ));
        }
        if !(0.0..=MAX_P99_MILLIS).contains(&t.p99_millis) {
            return Err(FieldError::new(
                format!("{at}.p99Millis"),
                format!(
                    "must be 0 to {MAX_P99_MILLIS} ms (Lambda's 15 minutes), got {}",
                    t.p99_millis
                ),
            ));
        }
        if spec.functions.is_empty() {
            continue;
        }
        let Some(f) = spec.functions.iter().find(|f| f.name == t.function) else {
            return Err(FieldError::new(
                format!("{at}.function"),
                format!("{:?} is not one of the account's functions", t.function),
            ));
        };
        if !f.aliases.contains_key(&t.alias) {
            return Err(FieldError::new(
                format!("{at}.alias"),
                format!("{} has no alias {:?}", f.name, t.alias),
            ));
        }
        published(&format!("{at}.version"), f, &t.version)?;
    }
    Ok(())
}
