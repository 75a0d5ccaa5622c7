//! The wave plan input, read as strictly as today's execution input: unknown keys, `null`,
//! wrong types, repeated keys and bad values are refused, every error naming its field
//! ([docs/waves.md](../../../../docs/waves.md#the-plan)). Each target's child input is built and
//! accepted in [`super::targets`].

use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::field::FieldError;
use super::super::json::{InputDocument, deserialize_named, reject_nulls, required};
use super::targets::read_waves;
use super::{EntryGate, GatePolicy, WavePlan, Window};

/// Most waves in a plan: production as 3 waves of 2 regions is the AWS reference; 10 waves is
/// room for a canary, a few growing waves and the rest, while the parent's state document (every
/// target's input and outcome) stays well under Step Functions' 256 KiB payload limit
/// (https://docs.aws.amazon.com/step-functions/latest/dg/limits.html).
pub const MAX_WAVES: usize = 10;
/// Most targets in one wave: every target of a wave runs (and is rolled back) at the same time,
/// so a wave wider than this is better split; it also bounds one wave's part of the document.
pub const MAX_TARGETS_PER_WAVE: usize = 20;
/// Most targets in a plan (every region of one partition, twice over): bounds the parent's
/// state document, which carries each target's input and outcome, well under the 256 KiB payload
/// limit, and its history, which grows with each child started.
pub const MAX_TARGETS: usize = 40;
/// Largest plan input, in bytes: with the state document's own fields it stays under half the
/// 256 KiB payload limit (the execution input is itself a payload).
pub const MAX_PLAN_INPUT_BYTES: usize = 64 * 1024;
/// Largest sum of the targets' child inputs, in bytes: `deployment` is copied into every target,
/// so a plan of 64 KiB could otherwise expand to a megabyte in the parent's document.
pub const MAX_CHILD_INPUTS_BYTES: usize = 96 * 1024;
/// Longest `bakeBetweenWavesSeconds`: a day.
pub const MAX_BAKE_BETWEEN_WAVES_SECONDS: u64 = 86_400;
/// Longest `firstWaveBakeSeconds`: a week.
pub const MAX_FIRST_WAVE_BAKE_SECONDS: u64 = 7 * 86_400;
/// Default `entryGate.timeoutSeconds`: an hour.
pub const DEFAULT_GATE_TIMEOUT_SECONDS: u64 = 3600;
/// Default `entryGate.pollSeconds`: a minute.
pub const DEFAULT_GATE_POLL_SECONDS: u64 = 60;
/// Shortest `entryGate.pollSeconds`: each poll is one DescribeAlarms per target of the wave.
pub const MIN_GATE_POLL_SECONDS: u64 = 10;
/// Longest `entryGate.timeoutSeconds`: a day.
pub const MAX_GATE_TIMEOUT_SECONDS: u64 = 86_400;
/// Longest `comment`, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// The plan as written; required fields are options so a missing one is named by us.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPlan {
    comment: Option<String>,
    deployment: Option<Value>,
    strategy: Option<Value>,
    bake_between_waves_seconds: Option<u64>,
    first_wave_bake_seconds: Option<u64>,
    window: Option<Value>,
    entry_gate: Option<Value>,
    waves: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGate {
    policy: Option<GatePolicy>,
    timeout_seconds: Option<u64>,
    poll_seconds: Option<u64>,
}

impl WavePlan {
    /// Accepts a wave plan read by [`InputDocument`]: a repeated key or too-deep nesting is
    /// reported first, then everything [`WavePlan::parse`] checks.
    pub fn from_document(input: &InputDocument) -> Result<WavePlan, FieldError> {
        if let Some(problem) = &input.problem {
            return Err(problem.clone());
        }
        WavePlan::parse(&input.value)
    }

    /// Accepts a wave plan input: every field valid, the error names the first bad one.
    pub fn parse(input: &Value) -> Result<WavePlan, FieldError> {
        check_envelope(input)?;
        reject_nulls(input, "")?;
        let raw: RawPlan = deserialize_named(input, "")?;
        if let Some(comment) = &raw.comment {
            let chars = comment.chars().count();
            if chars > MAX_COMMENT_CHARS {
                return Err(FieldError::new(
                    "comment",
                    format!("must be at most {MAX_COMMENT_CHARS} characters (got {chars})"),
                ));
            }
        }
        let (bake_between_waves_seconds, first_wave_bake_seconds) =
            bakes(raw.bake_between_waves_seconds, raw.first_wave_bake_seconds)?;
        let entry_gate = match &raw.entry_gate {
            Some(gate) => parse_gate(gate)?,
            None => EntryGate {
                policy: GatePolicy::Wait,
                timeout_seconds: DEFAULT_GATE_TIMEOUT_SECONDS,
                poll_seconds: DEFAULT_GATE_POLL_SECONDS,
            },
        };
        let window = raw.window.as_ref().map(Window::parse).transpose()?;
        let defaults = match raw.deployment {
            Some(Value::Object(fields)) => fields,
            Some(other) => return Err(not_an_object("deployment", &other)),
            None => Map::new(),
        };
        let listed = required("waves", raw.waves)?;
        let waves = read_waves(&defaults, raw.strategy.as_ref(), &listed)?;
        Ok(WavePlan {
            waves,
            bake_between_waves_seconds,
            first_wave_bake_seconds,
            window,
            entry_gate,
        })
    }
}

/// A JSON object within [`MAX_PLAN_INPUT_BYTES`].
fn check_envelope(input: &Value) -> Result<(), FieldError> {
    let size = serde_json::to_vec(input).map_or(usize::MAX, |v| v.len());
    if size > MAX_PLAN_INPUT_BYTES {
        return Err(FieldError::new(
            "(input)",
            format!("is {size} bytes; the limit for a wave plan is {MAX_PLAN_INPUT_BYTES}"),
        ));
    }
    if !input.is_object() {
        return Err(FieldError::new("(input)", "must be a JSON object"));
    }
    Ok(())
}

/// The refusal of a value that must be an object (serde would read an array positionally).
pub(super) fn not_an_object(field: &str, value: &Value) -> FieldError {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    FieldError::new(field, format!("must be a JSON object {{…}} (got {kind})"))
}

/// `bakeBetweenWavesSeconds` (default 0) and `firstWaveBakeSeconds` (default the former, never
/// shorter).
fn bakes(between: Option<u64>, first: Option<u64>) -> Result<(u64, u64), FieldError> {
    let between = between.unwrap_or(0);
    if between > MAX_BAKE_BETWEEN_WAVES_SECONDS {
        return Err(FieldError::new(
            "bakeBetweenWavesSeconds",
            format!("must be at most {MAX_BAKE_BETWEEN_WAVES_SECONDS} (a day) (got {between})"),
        ));
    }
    let first = first.unwrap_or(between);
    if first > MAX_FIRST_WAVE_BAKE_SECONDS {
        return Err(FieldError::new(
            "firstWaveBakeSeconds",
            format!("must be at most {MAX_FIRST_WAVE_BAKE_SECONDS} (a week) (got {first})"),
        ));
    }
    if first < between {
        return Err(FieldError::new(
            "firstWaveBakeSeconds",
            format!(
                "must be at least bakeBetweenWavesSeconds ({between}): the first wave meets real \
                 traffic first and bakes at least as long (got {first})"
            ),
        ));
    }
    Ok((between, first))
}

/// `entryGate`: policy (default wait), timeout and poll, the poll within the timeout.
fn parse_gate(value: &Value) -> Result<EntryGate, FieldError> {
    if !value.is_object() {
        return Err(not_an_object("entryGate", value));
    }
    let raw: RawGate = deserialize_named(value, "entryGate")?;
    let timeout_seconds = raw.timeout_seconds.unwrap_or(DEFAULT_GATE_TIMEOUT_SECONDS);
    if !(MIN_GATE_POLL_SECONDS..=MAX_GATE_TIMEOUT_SECONDS).contains(&timeout_seconds) {
        return Err(FieldError::new(
            "entryGate.timeoutSeconds",
            format!(
                "must be between {MIN_GATE_POLL_SECONDS} and {MAX_GATE_TIMEOUT_SECONDS} (a day) \
                 (got {timeout_seconds})"
            ),
        ));
    }
    let poll_seconds = raw.poll_seconds.unwrap_or(DEFAULT_GATE_POLL_SECONDS);
    if !(MIN_GATE_POLL_SECONDS..=timeout_seconds).contains(&poll_seconds) {
        // Name the field the user wrote: the poll, or the timeout that is shorter than the
        // default poll.
        let field = if raw.poll_seconds.is_some() {
            "entryGate.pollSeconds"
        } else {
            "entryGate.timeoutSeconds"
        };
        return Err(FieldError::new(
            field,
            format!(
                "the poll ({poll_seconds} s) must be at least {MIN_GATE_POLL_SECONDS} s and at \
                 most the timeout ({timeout_seconds} s)"
            ),
        ));
    }
    Ok(EntryGate {
        policy: raw.policy.unwrap_or(GatePolicy::Wait),
        timeout_seconds,
        poll_seconds,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "fixtures_tests.rs"]
mod fixtures_tests;
