//! The waves and targets of a plan: each target's child input is the plan's `deployment` with
//! the wave's (or the plan's) `strategy` set, then the target's own `deployment` keys, accepted
//! by `DeploymentRequest::from_json` as today's input is. A child's error names the field where
//! the bad key was written (`waves[i].targets[j].deployment.…`, `deployment.…`,
//! `waves[i].strategy…` or `strategy…`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::alias::function_short_name;
use super::super::field::FieldError;
use super::super::json::{deserialize_named, required};
use super::super::managed::{FunctionArn, Home, name_ok};
use super::super::request::DeploymentRequest;
use super::plan::{
    MAX_CHILD_INPUTS_BYTES, MAX_TARGETS, MAX_TARGETS_PER_WAVE, MAX_WAVES, not_an_object,
};
use super::{Target, Wave};

/// Longest wave name, in characters.
pub const MAX_WAVE_NAME_CHARS: usize = 64;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawWave {
    name: Option<String>,
    strategy: Option<Value>,
    targets: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTarget {
    region: Option<String>,
    account: Option<String>,
    deployment: Option<Value>,
}

/// Where a key of a child input was written.
#[derive(Clone, Copy)]
enum Source {
    /// The target's own `deployment`.
    Target,
    /// The wave's `strategy`.
    Wave,
    /// The plan's `strategy`.
    Plan,
    /// The plan's `deployment`.
    Defaults,
    /// Nowhere (a required key is missing).
    Missing,
}

/// Where target `j` of wave `i` sits, and the sources of its child's keys.
struct Place<'a> {
    i: usize,
    j: usize,
    own: &'a Map<String, Value>,
    wave_strategy: bool,
    plan_strategy: bool,
    defaults: &'a Map<String, Value>,
}

impl Place<'_> {
    fn target(&self) -> String {
        format!("waves[{}].targets[{}]", self.i, self.j)
    }

    fn source(&self, key: &str) -> Source {
        match key {
            _ if self.own.contains_key(key) => Source::Target,
            "strategy" if self.wave_strategy => Source::Wave,
            "strategy" if self.plan_strategy => Source::Plan,
            _ if self.defaults.contains_key(key) => Source::Defaults,
            _ => Source::Missing,
        }
    }

    /// A child's error, named where its key was written.
    fn rename(&self, e: FieldError) -> FieldError {
        let (i, target) = (self.i, self.target());
        if e.field == "(input)" {
            return FieldError::new(format!("{target}.deployment"), e.message);
        }
        let key = &e.field[..e.field.find(['.', '[']).unwrap_or(e.field.len())];
        match self.source(key) {
            Source::Target => {
                FieldError::new(format!("{target}.deployment.{}", e.field), e.message)
            }
            Source::Wave => FieldError::new(
                format!("waves[{i}].{}", e.field),
                format!("{} (for {target})", e.message),
            ),
            Source::Plan => FieldError::new(e.field, format!("{} (for {target})", e.message)),
            Source::Defaults => FieldError::new(
                format!("deployment.{}", e.field),
                format!("{} (for {target})", e.message),
            ),
            Source::Missing if key == "strategy" => FieldError::new(
                format!("waves[{i}].strategy"),
                format!(
                    "is required for {target}: give it in the wave, the plan (strategy) or deployment"
                ),
            ),
            Source::Missing => FieldError::new(
                format!("{target}.deployment.{}", e.field),
                format!("{} (in the plan's deployment or this target's)", e.message),
            ),
        }
    }
}

/// Reads every wave: 1 to [`MAX_WAVES`], named uniquely, [`MAX_TARGETS`] targets in all, no
/// alias of a function in a region and account deployed twice, the children's inputs within
/// [`MAX_CHILD_INPUTS_BYTES`].
pub(super) fn read_waves(
    defaults: &Map<String, Value>,
    strategy: Option<&Value>,
    listed: &[Value],
) -> Result<Vec<Wave>, FieldError> {
    if listed.is_empty() || listed.len() > MAX_WAVES {
        return Err(FieldError::new(
            "waves",
            format!("has {} waves; a plan has 1 to {MAX_WAVES}", listed.len()),
        ));
    }
    let mut waves: Vec<Wave> = Vec::with_capacity(listed.len());
    let (mut count, mut bytes) = (0, 0);
    let mut deployed = BTreeMap::new();
    for (i, value) in listed.iter().enumerate() {
        let at = format!("waves[{i}]");
        if !value.is_object() {
            return Err(not_an_object(&at, value));
        }
        let raw: RawWave = deserialize_named(value, &at)?;
        let name = wave_name(i, raw.name, &waves)?;
        let targets = required(&format!("{at}.targets"), raw.targets)?;
        if targets.is_empty() || targets.len() > MAX_TARGETS_PER_WAVE {
            return Err(FieldError::new(
                format!("{at}.targets"),
                format!(
                    "has {} targets; a wave has 1 to {MAX_TARGETS_PER_WAVE}",
                    targets.len()
                ),
            ));
        }
        count += targets.len();
        if count > MAX_TARGETS {
            return Err(FieldError::new(
                format!("{at}.targets"),
                format!("brings the plan to {count} targets; a plan has at most {MAX_TARGETS}"),
            ));
        }
        let strategy = raw
            .strategy
            .as_ref()
            .map(|s| (s, true))
            .or(strategy.map(|s| (s, false)));
        let mut read = Vec::with_capacity(targets.len());
        for (j, value) in targets.iter().enumerate() {
            let (target, aliases) = read_target(i, j, value, defaults, strategy)?;
            bytes += serde_json::to_vec(&target.input).map_or(usize::MAX, |v| v.len());
            if bytes > MAX_CHILD_INPUTS_BYTES {
                return Err(FieldError::new(
                    format!("waves[{i}].targets[{j}]"),
                    format!(
                        "brings the targets' inputs (deployment merged with each target's own \
                         fields) to {bytes} bytes; at most {MAX_CHILD_INPUTS_BYTES} in a plan"
                    ),
                ));
            }
            once_per_plan(&mut deployed, i, j, &target, aliases)?;
            read.push(target);
        }
        waves.push(Wave {
            name,
            targets: read,
        });
    }
    Ok(waves)
}

/// `waves[i].name`: default `wave-<i+1>`; 1 to [`MAX_WAVE_NAME_CHARS`] letters, digits, `-` or
/// `_`, not the name of an earlier wave.
fn wave_name(i: usize, given: Option<String>, earlier: &[Wave]) -> Result<String, FieldError> {
    let field = format!("waves[{i}].name");
    let name = given.unwrap_or_else(|| format!("wave-{}", i + 1));
    let shaped = !name.is_empty()
        && name.chars().count() <= MAX_WAVE_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !shaped {
        return Err(FieldError::new(
            field,
            format!(
                "{name:?} is not a wave name (1 to {MAX_WAVE_NAME_CHARS} letters, digits, '-' or '_')"
            ),
        ));
    }
    if let Some(k) = earlier.iter().position(|w| w.name == name) {
        return Err(FieldError::new(
            field,
            format!("{name:?} is already the name of waves[{k}]"),
        ));
    }
    Ok(name)
}

/// One target: its region and account, its child input built and accepted; with every alias
/// it moves (function name, alias: more than one for a release train).
fn read_target(
    i: usize,
    j: usize,
    value: &Value,
    defaults: &Map<String, Value>,
    strategy: Option<(&Value, bool)>,
) -> Result<(Target, Vec<[String; 2]>), FieldError> {
    let at = format!("waves[{i}].targets[{j}]");
    if !value.is_object() {
        return Err(not_an_object(&at, value));
    }
    let raw: RawTarget = deserialize_named(value, &at)?;
    let (region, account) = region_and_account(&at, raw.region, raw.account)?;
    let own = match raw.deployment {
        Some(Value::Object(own)) => own,
        Some(other) => return Err(not_an_object(&format!("{at}.deployment"), &other)),
        None => Map::new(),
    };
    let mut child = defaults.clone();
    if let Some((strategy, _)) = strategy {
        child.insert("strategy".to_owned(), strategy.clone());
    }
    child.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    let place = Place {
        i,
        j,
        own: &own,
        wave_strategy: strategy.is_some_and(|(_, wave)| wave),
        plan_strategy: strategy.is_some_and(|(_, wave)| !wave),
        defaults,
    };
    let input = Value::Object(child);
    let request = DeploymentRequest::from_json(&input).map_err(|e| place.rename(e))?;
    let members = request.targets();
    for (k, member) in members.iter().enumerate() {
        same_place(&member.function_name, &region, &account)
            .map_err(|message| place.rename(FieldError::new(request.function_field(k), message)))?;
    }
    let home = Home::in_region(&region, &account);
    for (field, hook) in request.hooks.named() {
        if let Some(there) = home.unreachable(hook) {
            let message = format!(
                "{hook:?} is in {there}, but this target is {region}: a target's hooks run in \
                 its own region (give the hook of that region)"
            );
            return Err(place.rename(FieldError::new(field, message)));
        }
    }
    let aliases = members
        .into_iter()
        .map(|m| [function_short_name(&m.function_name).to_owned(), m.alias])
        .collect();
    let target = Target {
        region,
        account,
        function_name: request.function_name,
        alias: request.alias,
        alarms: request.alarms,
        input,
    };
    Ok((target, aliases))
}

/// `region` (a Region code) and `account` (12 digits), both required.
fn region_and_account(
    at: &str,
    region: Option<String>,
    account: Option<String>,
) -> Result<(String, String), FieldError> {
    let region = required(&format!("{at}.region"), region)?;
    if !region_shaped(&region) {
        return Err(FieldError::new(
            format!("{at}.region"),
            format!("{region:?} is not an AWS Region code such as eu-west-1 or us-gov-west-1"),
        ));
    }
    let account = required(&format!("{at}.account"), account)?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            format!("{at}.account"),
            format!("{account:?} is not a 12-digit AWS account id"),
        ));
    }
    Ok((region, account))
}

/// A region code: lowercase words joined by `-`, ending in a number (`eu-west-1`,
/// `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`); an Availability Zone (`eu-west-1a`) is not.
pub fn region_shaped(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    (2..=4).contains(&words.len())
        && (2..=4).contains(&words[0].len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// A function ARN must name the target's own region and account: the child runs there and
/// moves that region's alias.
fn same_place(function: &str, region: &str, account: &str) -> Result<(), String> {
    match FunctionArn::parse(function, name_ok) {
        Ok(arn) if arn.region != region || arn.account != account => Err(format!(
            "{function:?} is in {} account {}, but this target is {region} account {account}: a \
             target deploys the function of its own region and account (give its bare name)",
            arn.region, arn.account
        )),
        _ => Ok(()),
    }
}

/// No alias of a function moves twice in one region and account of a plan.
fn once_per_plan(
    deployed: &mut BTreeMap<[String; 4], (usize, usize)>,
    i: usize,
    j: usize,
    target: &Target,
    aliases: Vec<[String; 2]>,
) -> Result<(), FieldError> {
    for [function, alias] in aliases {
        let key = [
            target.region.clone(),
            target.account.clone(),
            function,
            alias,
        ];
        if let Some((a, b)) = deployed.get(&key) {
            return Err(FieldError::new(
                format!("waves[{i}].targets[{j}]"),
                format!(
                    "moves alias {} of {} in {} account {}, as waves[{a}].targets[{b}] does; \
                     a plan moves each alias once",
                    key[3], key[2], key[0], key[1]
                ),
            ));
        }
        deployed.insert(key, (i, j));
    }
    Ok(())
}
