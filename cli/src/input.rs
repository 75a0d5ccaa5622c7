//! Reading execution inputs and the flags that edit or act on them.

use std::path::Path;

use serde_json::Value;

use crate::error::CliError;

/// The JSON document in `path`, read strictly: a repeated key or nesting too deep is refused by
/// field, as Start Deployment and the pipeline action refuse it.
pub fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    shifter::domain::InputDocument::parse(&text)
        .and_then(shifter::domain::InputDocument::into_value)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// A `--strategy` argument as the input's `strategy`: JSON `{"steps":[…]}`, or a name.
pub fn strategy(text: &str) -> Result<Value, CliError> {
    if text.trim_start().starts_with('{') {
        shifter::domain::InputDocument::parse(text)
            .and_then(shifter::domain::InputDocument::into_value)
            .map_err(|e| CliError::Usage(format!("--strategy: {e}")))
    } else {
        Ok(Value::String(text.to_owned()))
    }
}

/// A text field of the input (`functionName`, `alias`), empty when absent; a release train's
/// first target's.
pub fn text<'a>(input: &'a Value, field: &str) -> &'a str {
    input
        .get(field)
        .or_else(|| input.pointer(&format!("/targets/0/{field}")))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The functions of the input's aliases: `functionName`, or each of a release train's targets.
pub fn functions(input: &Value) -> Vec<&str> {
    match input.get("targets").and_then(Value::as_array) {
        Some(targets) => targets
            .iter()
            .filter_map(|t| t.get("functionName").and_then(Value::as_str))
            .collect(),
        None => vec![text(input, "functionName")],
    }
}

/// The hook function the input names for `phase` (`preTraffic`, `postTraffic`).
pub fn hook<'a>(input: &'a Value, phase: &str) -> Option<&'a str> {
    input.get("hooks")?.get(phase)?.as_str()
}

/// The alarms the input watches.
pub fn alarms(input: &Value) -> impl Iterator<Item = &str> {
    let listed = input.get("alarms").and_then(Value::as_array);
    listed.into_iter().flatten().filter_map(Value::as_str)
}

/// The first alarm the input watches, which `flag` acts on.
pub fn first_alarm<'a>(input: &'a Value, flag: &str) -> Result<&'a str, CliError> {
    alarms(input)
        .next()
        .ok_or_else(|| CliError::Usage(format!("{flag} needs an alarm in the input's \"alarms\"")))
}
