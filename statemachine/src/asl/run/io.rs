//! Input and output processing: ResultPath, OutputPath, a Pass state's result, Choice rules,
//! a Fail state's messages, a Task's timeout, and the size checks of the payload quota
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>).

use serde_json::{Value, json};

use super::super::choice::Rule;
use super::super::definition::{Message, State, Timeout};
use super::super::path::{Path, Scope};
use crate::asl::Failure;

/// OutputPath: `null` yields `{}`; a path selecting nothing is `States.Runtime`. The selection
/// is moved out of `value`, not copied.
pub(super) fn output(path: Option<&Path>, value: Value) -> Result<Value, Failure> {
    let Some(path) = path else {
        return Ok(json!({}));
    };
    if path.select(&value).is_none() {
        return Err(Failure::runtime(format!(
            "Invalid path '{path}' : The OutputPath could not be found in the input '{value}'"
        )));
    }
    Ok(path.take(value).unwrap_or_default())
}

/// ResultPath: `null` keeps the raw input; otherwise the result is written into it. When the
/// input does not have the structure the path needs, it is left as it was.
pub(super) fn merge(path: Option<&Path>, raw: &mut Value, result: Value) -> Result<(), Failure> {
    match path {
        None => Ok(()),
        Some(path) => path
            .write(raw, result)
            .map_err(|cause| Failure::new("States.ResultPathMatchFailure", cause)),
    }
}

/// A Pass state's result (its Parameters payload, or else its input) placed in its input by
/// ResultPath; the input is copied only when it is placed inside itself.
pub(super) fn pass_result(
    mut raw: Value,
    result: Option<Value>,
    path: Option<&Path>,
) -> Result<Value, Failure> {
    if result.is_none() && path.is_none_or(Path::is_root) {
        return Ok(raw);
    }
    let result = result.unwrap_or_else(|| raw.clone());
    merge(path, &mut raw, result)?;
    Ok(raw)
}

/// The first Choice rule that holds, or the Default; neither is `States.NoChoiceMatched`.
pub(super) fn choose(
    state: &State,
    choices: &[(Rule, usize)],
    default: Option<usize>,
    scope: &Scope<'_>,
) -> Result<usize, Failure> {
    for (rule, next) in choices {
        if rule.holds(scope)? {
            return Ok(*next);
        }
    }
    default.ok_or_else(|| {
        Failure::new(
            "States.NoChoiceMatched",
            format!(
                "No Choice rule matched and there is no Default in state '{}'",
                state.name
            ),
        )
    })
}

pub(super) fn fail_message(
    message: Option<&Message>,
    scope: &Scope<'_>,
    field: &str,
) -> Result<Option<String>, Failure> {
    match message {
        None => Ok(None),
        Some(Message::Literal(text)) => Ok(Some(text.clone())),
        Some(Message::Expr(expr)) => match expr.eval(scope, field)? {
            Value::String(text) => Ok(Some(text)),
            other => Err(Failure::runtime(format!(
                "The {field} must select a string, not {other}"
            ))),
        },
    }
}

/// A Task's timeout for this attempt, read from its input when given by TimeoutSecondsPath.
pub(super) fn timeout_seconds(timeout: &Timeout, input: &Value) -> Result<Option<u64>, Failure> {
    let path = match timeout {
        Timeout::None => return Ok(None),
        Timeout::Seconds(seconds) => return Ok(Some(*seconds)),
        Timeout::Path(path) => path,
    };
    let value = path.select(input).ok_or_else(|| {
        Failure::runtime(format!(
            "The TimeoutSecondsPath '{path}' could not be found in the input"
        ))
    })?;
    match value.as_u64().filter(|n| *n > 0) {
        Some(seconds) => Ok(Some(seconds)),
        None => Err(Failure::runtime(format!(
            "The TimeoutSecondsPath '{path}' must select a positive integer, not {value}"
        ))),
    }
}

/// The size of `value` as compact JSON text in UTF-8. (Serializing into one buffer is several
/// times faster in a debug build than counting through a `Write` adapter, call by call.)
pub(super) fn json_bytes(value: &Value) -> u64 {
    serde_json::to_vec(value).map_or(0, |text| text.len() as u64)
}

/// Whether a ResultPath can make a Task's output larger than both its input and its result
/// (both measured already): only one that writes into the input. With `$` the output is (a part
/// of) the result, with `null` (a part of) the input.
pub(super) fn grows(result_path: Option<&Path>) -> bool {
    result_path.is_some_and(|path| !path.is_root())
}
