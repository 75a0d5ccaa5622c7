//! Serverless Framework services using `serverless-plugin-canary-deployments`: every function
//! with `deploymentSettings` (`type`, `alias`, `preTrafficHook`, `postTrafficHook`, `alarms`),
//! over the defaults in `custom.deploymentSettings` as the plugin merges them (the function's
//! keys win). An alarm written as text is the logical ID of an alarm in `resources.Resources`;
//! `{name: …}` is the alarm's name. A hook is another function of the service.
//!
//! Function names follow the framework's default `<service>-<stage>-<function key>` unless the
//! function sets `name`: <https://www.serverless.com/framework/docs/providers/aws/guide/functions>.
//! Variables: <https://www.serverless.com/framework/docs/providers/aws/guide/variables>; only
//! `${self:…}`, `${opt:stage}` and `${sls:stage}` are known offline.

use serde_json::{Map, Value, json};

use super::cfn::{Template, Unresolved, Want};
use super::found::{Found, Located, Overrides, Problem, Problems};
use super::{Imported, Reading};

/// Whether `doc` is a `serverless.yml`.
pub fn is_service(doc: &Value) -> bool {
    doc.get("functions").is_some_and(Value::is_object)
        && (doc.get("service").is_some() || doc.get("provider").is_some())
}

/// Nested variables followed at most this deep.
const MAX_DEPTH: usize = 8;

/// The file's variables, as far as they are known offline.
struct Variables<'a> {
    doc: &'a Value,
    /// `--stage`: what `${opt:stage}` is.
    option_stage: Option<&'a str>,
    overrides: &'a Overrides,
}

impl Variables<'_> {
    /// The text at `path`, its variables resolved.
    fn text(&self, value: &Value, path: &str) -> Result<String, Problem> {
        let resolved = match value {
            Value::String(s) => self.expand(s, 0),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(Unresolved::new("expected text", &[])),
        };
        resolved.map_err(|u| u.at(path, value))
    }

    fn expand(&self, text: &str, depth: usize) -> Result<String, Unresolved> {
        if depth > MAX_DEPTH {
            return Err(Unresolved::new("variables nest too deep (a cycle?)", &[]));
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = closing(&rest[start..]).ok_or_else(|| Unresolved::new("unclosed ${", &[]))?;
            out.push_str(&self.variable(&rest[start + 2..start + end], depth)?);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// One `${source:address, fallback}` (without the braces).
    fn variable(&self, inner: &str, depth: usize) -> Result<String, Unresolved> {
        let (primary, fallback) = match split_fallback(inner) {
            Some((primary, fallback)) => (primary.trim(), Some(fallback.trim())),
            None => (inner.trim(), None),
        };
        if let Some(value) = self.overrides.get(primary) {
            return Ok(value.to_owned());
        }
        match self.lookup(primary, depth) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => match fallback {
                Some(fallback) => self.fallback(fallback, depth),
                None => Err(absent(primary)),
            },
            Err(unresolved) => Err(unresolved),
        }
    }

    /// `Ok(None)` when the variable is known to be unset (so its fallback applies).
    fn lookup(&self, primary: &str, depth: usize) -> Result<Option<String>, Unresolved> {
        if let Some(address) = primary.strip_prefix("self:") {
            let found = address.split('.').try_fold(self.doc, |v, key| {
                v.get(key).or_else(|| v.get(key.parse::<usize>().ok()?))
            });
            return match found {
                Some(Value::String(s)) => self.expand(s, depth + 1).map(Some),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(Unresolved::new(format!("{primary} is not text"), &[])),
                None => Ok(None),
            };
        }
        match primary {
            "opt:stage" => Ok(self.option_stage.map(str::to_owned)),
            "sls:stage" => self.stage(depth).map(Some),
            _ => Err(Unresolved::new(
                format!("{primary} is resolved by the Serverless Framework at deploy time"),
                &[primary],
            )),
        }
    }

    fn fallback(&self, fallback: &str, depth: usize) -> Result<String, Unresolved> {
        let quoted = ['\'', '"']
            .iter()
            .find_map(|q| fallback.strip_prefix(*q).and_then(|f| f.strip_suffix(*q)));
        match quoted {
            Some(literal) => Ok(literal.to_owned()),
            None if fallback.starts_with("${") => self.expand(fallback, depth + 1),
            None => self.variable(fallback, depth + 1),
        }
    }

    /// The stage deployed to: `--stage`, else `provider.stage`, else the framework's `dev`.
    fn stage(&self, depth: usize) -> Result<String, Unresolved> {
        if let Some(stage) = self.option_stage {
            return Ok(stage.to_owned());
        }
        match self.doc.get("provider").and_then(|p| p.get("stage")) {
            Some(Value::String(stage)) => self.expand(stage, depth + 1),
            _ => Ok("dev".to_owned()),
        }
    }
}

fn absent(primary: &str) -> Unresolved {
    if primary == "opt:stage" {
        return Unresolved::new(
            "no --stage was given and it has no fallback",
            &["opt:stage"],
        );
    }
    Unresolved::new(format!("{primary} is not set in the file"), &[primary])
}

/// The index of the `}` closing the `${` at the start of `text`.
fn closing(text: &str) -> Option<usize> {
    let mut open = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => open += 1,
            '}' => {
                open -= 1;
                if open == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `primary, fallback` split at the first comma outside nested `${…}`.
fn split_fallback(inner: &str) -> Option<(&str, &str)> {
    let mut open = 0usize;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => open += 1,
            '}' => open = open.saturating_sub(1),
            ',' if open == 0 => return Some((&inner[..i], &inner[i + 1..])),
            _ => {}
        }
    }
    None
}

/// Every function with `deploymentSettings`.
pub fn read(doc: &Value, stage: Option<&str>, overrides: &Overrides) -> Result<Reading, String> {
    let variables = Variables {
        doc,
        option_stage: stage,
        overrides,
    };
    let mut reading = Reading::default();
    let defaults = doc
        .get("custom")
        .and_then(|c| c.get("deploymentSettings"))
        .and_then(Value::as_object);
    if let Some(skipped) = disabled_stage(&variables, defaults) {
        return Err(skipped);
    }
    let functions = doc.get("functions").and_then(Value::as_object);
    for (key, function) in functions.into_iter().flatten() {
        let Some(own) = function
            .get("deploymentSettings")
            .and_then(Value::as_object)
        else {
            continue;
        };
        let settings = merged(key, own, defaults);
        let result = one_function(&variables, key, &settings);
        reading.functions.push(Imported {
            key: key.clone(),
            result,
        });
    }
    Ok(reading)
}

/// An error when `custom.deploymentSettings.stages` leaves out the stage deployed to: the plugin
/// shifts nothing gradually there, so there is nothing to import.
fn disabled_stage(variables: &Variables, defaults: Option<&Map<String, Value>>) -> Option<String> {
    let stages = defaults?.get("stages")?.as_array()?;
    let stage = variables.stage(0).ok()?;
    let listed = stages.iter().any(|s| s.as_str() == Some(stage.as_str()));
    (!stages.is_empty() && !listed).then(|| {
        format!(
            "custom.deploymentSettings.stages does not list stage {stage}: the plugin deploys every \
             function at once there, so there is nothing to import (choose the stage with --stage)"
        )
    })
}

/// The plugin's settings for one function: the defaults, overridden key by key, each value
/// with the path it was read at.
fn merged(
    key: &str,
    own: &Map<String, Value>,
    defaults: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut settings = Map::new();
    for (name, value) in defaults.into_iter().flatten() {
        settings.insert(
            name.clone(),
            json!([value, format!("custom.deploymentSettings.{name}")]),
        );
    }
    for (name, value) in own {
        let path = format!("functions.{key}.deploymentSettings.{name}");
        settings.insert(name.clone(), json!([value, path]));
    }
    settings
}

fn setting<'s>(settings: &'s Map<String, Value>, name: &str) -> Option<(&'s Value, String)> {
    let pair = settings.get(name)?.as_array()?;
    Some((pair.first()?, pair.get(1)?.as_str()?.to_owned()))
}

fn one_function(
    variables: &Variables,
    key: &str,
    settings: &Map<String, Value>,
) -> Result<Found, Vec<Problem>> {
    let mut problems = Problems::default();
    let function = problems.keep(deployed_name(variables, key, &format!("functions.{key}")));
    let mut required = |name: &str| {
        let Some((value, path)) = setting(settings, name) else {
            let path = format!("functions.{key}.deploymentSettings.{name}");
            return problems.keep(Err(Problem::at(path, "missing: the plugin requires it")));
        };
        problems.keep(
            variables
                .text(value, &path)
                .map(|value| Located { value, path }),
        )
    };
    let (alias, strategy) = (required("alias"), required("type"));
    let alarms_path = setting(settings, "alarms").map_or_else(
        || format!("functions.{key}.deploymentSettings.alarms"),
        |(_, path)| path,
    );
    let alarms = alarms(variables, settings, &mut problems);
    let mut hook = |name: &str| {
        let (value, path) = setting(settings, name)?;
        problems.keep(hook_name(variables, value, &path).map(|value| Located { value, path }))
    };
    let (pre_traffic, post_traffic) = (hook("preTrafficHook"), hook("postTrafficHook"));
    match (function, alias, strategy) {
        (Some(function), Some(alias), Some(strategy)) if problems.0.is_empty() => Ok(Found {
            function,
            alias,
            strategy,
            alarms,
            alarms_path,
            pre_traffic,
            post_traffic,
        }),
        _ => Err(problems.0),
    }
}

/// The deployed name of the service's function `key`.
fn deployed_name(variables: &Variables, key: &str, path: &str) -> Result<Located, Problem> {
    let function = variables.doc.get("functions").and_then(|f| f.get(key));
    if let Some(name) = function.and_then(|f| f.get("name")) {
        let path = format!("{path}.name");
        return variables
            .text(name, &path)
            .map(|value| Located { value, path });
    }
    let service = match variables.doc.get("service") {
        Some(Value::Object(o)) => o.get("name").cloned().unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let service = variables.text(&service, "service")?;
    let stage = variables
        .stage(0)
        .map_err(|u| u.at("provider.stage", &json!("${sls:stage}")))?;
    Ok(Located {
        value: format!("{service}-{stage}-{key}"),
        path: path.to_owned(),
    })
}

/// A hook: another function of the service (by key), or a function ARN.
fn hook_name(variables: &Variables, value: &Value, path: &str) -> Result<String, Problem> {
    let written = variables.text(value, path)?;
    if written.starts_with("arn:") {
        return Ok(written);
    }
    let known = variables.doc.get("functions").and_then(|f| f.get(&written));
    if known.is_none() {
        return Err(Problem::at(
            path,
            format!("{written} is not a function of this service (functions.{written})"),
        ));
    }
    deployed_name(variables, &written, &format!("functions.{written}")).map(|l| l.value)
}

/// The alarm names: a logical ID in `resources.Resources`, or `{name: …}`.
fn alarms(
    variables: &Variables,
    settings: &Map<String, Value>,
    problems: &mut Problems,
) -> Vec<Located> {
    let Some((list, list_path)) = setting(settings, "alarms") else {
        return Vec::new();
    };
    let Some(items) = list.as_array() else {
        problems
            .0
            .push(Problem::at(list_path, "expected a list of alarms"));
        return Vec::new();
    };
    let resources = variables
        .doc
        .get("resources")
        .cloned()
        .unwrap_or(Value::Null);
    let template = Template::new(&resources, variables.overrides);
    let mut found = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{list_path}[{i}]");
        let resolved = match item {
            Value::String(logical) if plugin_alarm(variables, &resources, logical) => {
                Err(Problem::at(
                    &path,
                    super::alerts::explain(variables.doc, logical).unwrap_or_default(),
                ))
            }
            Value::String(logical) => template
                .resolve(&json!({"Ref": logical}), &path, Want::Alarm)
                .and_then(|name| variables.text(&Value::String(name), &path))
                .map(|name| (name, path)),
            Value::Object(o) if o.contains_key("name") => {
                let path = format!("{path}.name");
                variables.text(&o["name"], &path).map(|name| (name, path))
            }
            _ => Err(Problem::at(
                &path,
                "expected an alarm's logical ID or {name: …}",
            )),
        };
        if let Some((value, path)) = problems.keep(resolved) {
            found.push(Located { value, path });
        }
    }
    found
}

/// Whether `logical` is left to serverless-plugin-aws-alerts: not a resource of the file, not
/// supplied (`--resolve`, `--stack`), and the service uses the plugin.
fn plugin_alarm(variables: &Variables, resources: &Value, logical: &str) -> bool {
    variables.overrides.get(logical).is_none()
        && resources
            .get("Resources")
            .and_then(|r| r.get(logical))
            .is_none()
        && super::alerts::in_use(variables.doc)
}
