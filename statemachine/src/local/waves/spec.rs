//! The account file of a wave plan's rehearsal: one account file per target (functions,
//! alarms, hooks, as for one region) and the plan as its `input`.

use serde_json::Value;
use shifter::domain::{FieldError, InputDocument};

use super::super::{AccountError, AccountSpec};

/// A wave plan's account file:
/// `{"description", "regions": [{"region", "account", ...one account file}], "input": plan}`.
#[derive(Debug, Clone)]
pub struct WavesSpec {
    /// What it rehearses.
    pub description: Option<String>,
    /// Each target account: region, account id, and what is in it.
    pub regions: Vec<(String, String, AccountSpec)>,
    /// The plan to run when `--input` is not given.
    pub input: Option<Value>,
}

fn json_error(field: &str, message: impl Into<String>) -> AccountError {
    AccountError::Json {
        path: field.to_owned(),
        message: message.into(),
    }
}

impl WavesSpec {
    /// Whether `text` is a wave plan's account file (it lists `regions`).
    pub fn is_waves(text: &str) -> bool {
        serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("regions").is_some())
    }

    /// Reads a wave plan's account file as strictly as any account file; errors name the field.
    pub fn from_json(text: &str) -> Result<WavesSpec, AccountError> {
        let named = |e: FieldError| json_error(&e.field, e.message);
        let value = InputDocument::parse(text)
            .and_then(InputDocument::into_value)
            .map_err(named)?;
        let Value::Object(mut top) = value else {
            return Err(json_error("", "must be an object"));
        };
        let description = match top.remove("description") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(json_error("description", "must be a string")),
        };
        let input = top.remove("input");
        let Some(Value::Array(listed)) = top.remove("regions") else {
            return Err(json_error("regions", "must be a list of target accounts"));
        };
        if let Some(key) = top.keys().next() {
            return Err(json_error(
                key,
                "unknown field: expected description, regions, input",
            ));
        }
        let mut regions = Vec::new();
        for (i, entry) in listed.into_iter().enumerate() {
            regions.push(region(i, entry)?);
        }
        if regions.is_empty() {
            return Err(json_error(
                "regions",
                "must list at least one target account",
            ));
        }
        Ok(WavesSpec {
            description,
            regions,
            input,
        })
    }
}

fn region(i: usize, entry: Value) -> Result<(String, String, AccountSpec), AccountError> {
    let field = |key: &str| format!("regions[{i}].{key}");
    let Value::Object(mut map) = entry else {
        return Err(json_error(&format!("regions[{i}]"), "must be an object"));
    };
    let mut text = |key: &str| match map.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(json_error(&field(key), "is required: a non-empty string")),
    };
    let (name, account) = (text("region")?, text("account")?);
    if map.contains_key("input") {
        return Err(json_error(
            &field("input"),
            "the plan is the file's own `input`",
        ));
    }
    let spec = AccountSpec::from_json(&Value::Object(map).to_string()).map_err(|e| match e {
        AccountError::Json { path, message } => json_error(&field(&path), message),
        other => other,
    })?;
    Ok((name, account, spec))
}
