//! What an import found for one function, each value with the place in the file it came from,
//! and the problems that kept a value from being known offline.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use shifter::domain::hooks::MAX_CALLBACK_HOOK_SECONDS;
use shifter::domain::{DeploymentRequest, FieldError};

/// A value read from the file, with its path there (`Resources.OrdersApi.Properties.…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The resolved value.
    pub value: String,
    /// Where it was written.
    pub path: String,
}

/// Why a value could not be read, at its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file.
    pub path: String,
    /// What is wrong and how to supply it.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Problem {
    /// A problem at `path`.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// `--resolve KEY=VALUE`: values the user supplies for what cannot be known offline (a logical
/// ID, `AWS::StackName`, `Logical.Attribute`, a template parameter, a `${…}` variable).
#[derive(Debug, Clone, Default)]
pub struct Overrides(BTreeMap<String, String>);

impl Overrides {
    /// Parses the `--resolve` arguments.
    pub fn parse(pairs: &[String]) -> Result<Overrides, String> {
        let mut map = BTreeMap::new();
        for pair in pairs {
            let (key, value) = pair
                .split_once('=')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .ok_or_else(|| format!("--resolve {pair}: expected KEY=VALUE"))?;
            map.insert(key.to_owned(), value.to_owned());
        }
        Ok(Overrides(map))
    }

    /// Values from elsewhere (a deployed stack's resources), by key.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Overrides {
        Overrides(pairs.into_iter().collect())
    }

    /// These values, and `fallback`'s for keys these do not give (what the user wrote wins).
    pub fn or(mut self, fallback: Overrides) -> Overrides {
        for (key, value) in fallback.0 {
            self.0.entry(key).or_insert(value);
        }
        self
    }

    /// The value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// Collects the problems met while reading one function, so that all of them are reported.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// The value, or `None` with its problem kept.
    pub fn keep<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        result.map_err(|p| self.0.push(p)).ok()
    }
}

/// Everything read for one function.
#[derive(Debug, Clone)]
pub struct Found {
    /// Deployed function name.
    pub function: Located,
    /// The alias CodeDeploy moved.
    pub alias: Located,
    /// CodeDeploy's deployment configuration name.
    pub strategy: Located,
    /// Alarm names.
    pub alarms: Vec<Located>,
    /// Where the alarm list itself was written (for errors about the list).
    pub alarms_path: String,
    /// Pre-traffic hook function name.
    pub pre_traffic: Option<Located>,
    /// Post-traffic hook function name.
    pub post_traffic: Option<Located>,
}

/// An execution input as import writes it: the fields in the order of docs/input.md's reference.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    function_name: String,
    alias: String,
    target_version: String,
    strategy: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alarms: Vec<String>,
    #[serde(skip_serializing_if = "Hooks::is_empty")]
    hooks: Hooks,
}

/// The input's `hooks`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Hooks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pre_traffic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_traffic: Option<String>,
    /// CodeDeploy hooks report later, within an hour: imported as callback hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_timeout_seconds: Option<u32>,
}

impl Hooks {
    fn is_empty(&self) -> bool {
        self.pre_traffic.is_none() && self.post_traffic.is_none()
    }
}

impl Input {
    /// Whether the input names a hook.
    pub fn has_hooks(&self) -> bool {
        !self.hooks.is_empty()
    }
}

impl Found {
    /// The execution input, validated by the same code as Start Deployment; a refusal names
    /// the place in the file the bad value came from.
    pub fn input(&self, target_version: &str) -> Result<Input, Problem> {
        let value = |l: &Option<Located>| l.as_ref().map(|l| l.value.clone());
        let input = Input {
            function_name: self.function.value.clone(),
            alias: self.alias.value.clone(),
            target_version: target_version.to_owned(),
            strategy: self.strategy.value.clone(),
            alarms: self.alarms.iter().map(|a| a.value.clone()).collect(),
            hooks: Hooks {
                pre_traffic: value(&self.pre_traffic),
                post_traffic: value(&self.post_traffic),
                callback_timeout_seconds: (self.pre_traffic.is_some()
                    || self.post_traffic.is_some())
                .then_some(MAX_CALLBACK_HOOK_SECONDS),
            },
        };
        let json = serde_json::to_value(&input).map_err(|e| Problem::at("", e.to_string()))?;
        DeploymentRequest::from_json(&json).map_err(|e| self.refusal(&e))?;
        Ok(input)
    }

    fn refusal(&self, e: &FieldError) -> Problem {
        let field = e.field.as_str();
        let path = if field == "functionName" {
            self.function.path.clone()
        } else if field == "alias" {
            self.alias.path.clone()
        } else if field.starts_with("strategy") {
            self.strategy.path.clone()
        } else if field == "targetVersion" {
            "--target-version".to_owned()
        } else if field == "hooks.preTraffic" {
            self.pre_traffic
                .as_ref()
                .map_or(String::new(), |h| h.path.clone())
        } else if field == "hooks.postTraffic" {
            self.post_traffic
                .as_ref()
                .map_or(String::new(), |h| h.path.clone())
        } else {
            alarm_index(field)
                .and_then(|i| self.alarms.get(i))
                .map_or_else(|| self.alarms_path.clone(), |a| a.path.clone())
        };
        Problem::at(path, format!("refused as the execution input's {e}"))
    }
}

/// `alarms[3]` → 3.
fn alarm_index(field: &str) -> Option<usize> {
    field
        .strip_prefix("alarms[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// An intrinsic function as it is usually written in YAML (`!Ref X`, `!GetAtt X.Arn`), for
/// messages.
pub fn short_form(value: &Value) -> String {
    let Some((name, argument)) = value.as_object().and_then(|o| o.iter().next()) else {
        return value.to_string();
    };
    let function = name.strip_prefix("Fn::").unwrap_or(name);
    match argument {
        Value::String(s) if function == "Sub" => format!("!Sub {s:?}"),
        Value::String(s) => format!("!{function} {s}"),
        Value::Array(parts) if function == "GetAtt" => {
            let parts: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
            format!("!GetAtt {}", parts.join("."))
        }
        other => format!("!{function} {other}"),
    }
}
