//! The user's hook functions: what the input names, and the judgement of what a hook answered.

use serde::Deserialize;
use serde_json::{Value, json};

use super::field::FieldError;
use super::managed::{same_function, validate_function_name};
use super::text::cut_chars;

/// Pre- and post-traffic hook functions.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hooks {
    /// Runs before any traffic moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_traffic: Option<String>,
    /// Runs after the promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_traffic: Option<String>,
    /// Set for callback hooks: each hook receives a `taskToken` and answers with
    /// SendTaskSuccess/SendTaskFailure within this many seconds (1–3600); unset, hooks answer
    /// synchronously within Lambda's 15 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_timeout_seconds: Option<u32>,
}

/// The longest a callback hook may take to answer: an hour, as CodeDeploy gives its hooks.
pub const MAX_CALLBACK_HOOK_SECONDS: u32 = 3600;

/// The hooks of an input deploying `function_name`: bounded callback timeout, valid names, and
/// never the deployed function itself (the same name in another account or region is another
/// function; a bare name against an ARN is judged where the stack runs, by
/// `preflight::check_distinct`).
pub fn validate_hooks(hooks: &Hooks, function_name: &str) -> Result<(), FieldError> {
    if let Some(seconds) = hooks.callback_timeout_seconds {
        if !(1..=MAX_CALLBACK_HOOK_SECONDS).contains(&seconds) {
            return Err(FieldError::new(
                "hooks.callbackTimeoutSeconds",
                format!("must be between 1 and {MAX_CALLBACK_HOOK_SECONDS} (got {seconds})"),
            ));
        }
        if hooks.pre_traffic.is_none() && hooks.post_traffic.is_none() {
            return Err(FieldError::new(
                "hooks.callbackTimeoutSeconds",
                "needs hooks.preTraffic or hooks.postTraffic",
            ));
        }
    }
    for (field, hook) in hooks.named() {
        validate_function_name(field, hook)?;
        if same_function(hook, function_name, None) {
            return Err(FieldError::new(
                field,
                "a hook cannot be the function being deployed",
            ));
        }
    }
    Ok(())
}

/// Most characters of a hook's own words (its status, error message or answer) that enter a
/// cause: the document stays far below Step Functions' 256 KB state limit and a cause or a
/// CodePipeline message stays readable.
pub const MAX_HOOK_EXCERPT_CHARS: usize = 200;

/// Which hook ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before any traffic moves.
    PreTraffic,
    /// After the promotion.
    PostTraffic,
}

impl Phase {
    /// `pre-traffic` / `post-traffic`, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Phase::PreTraffic => "pre-traffic",
            Phase::PostTraffic => "post-traffic",
        }
    }
}

impl Hooks {
    /// Each hook the input names, with its field (`hooks.preTraffic`, then `hooks.postTraffic`).
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("hooks.preTraffic", &self.pre_traffic),
            ("hooks.postTraffic", &self.post_traffic),
        ]
        .into_iter()
        .filter_map(|(field, hook)| Some((field, hook.as_deref()?)))
    }

    /// The function that runs in `phase`, if any.
    pub fn of(&self, phase: Phase) -> Option<&str> {
        match phase {
            Phase::PreTraffic => self.pre_traffic.as_deref(),
            Phase::PostTraffic => self.post_traffic.as_deref(),
        }
    }
}

/// What a hook's Task left in the document (`$.hookResult`), read once into a verdict; every
/// text in it is bounded by [`MAX_HOOK_EXCERPT_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// It answered `{"status":"Succeeded"}`.
    Succeeded,
    /// It answered another status.
    Status(String),
    /// It answered something without a status (shown bounded; `nothing` when absent).
    Unrecognised(String),
    /// The Task failed: the error name and, when there is one, the message (never a trace).
    Failed {
        /// The error name (`Lambda.Unknown`, `States.Timeout`, the function's error type …).
        error: String,
        /// Lambda's `errorMessage`, or the raw cause.
        message: Option<String>,
    },
}

impl HookOutcome {
    /// Reads what the state machine wrote: either the hook's answer (`{"payload": …}`) or, when
    /// the Task failed, what its Catch caught (`{"Error": …, "Cause": …}`); for a function error
    /// the cause is Lambda's error payload `{"errorType","errorMessage","stackTrace"/"trace"}`
    /// (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html,
    /// https://docs.aws.amazon.com/lambda/latest/dg/rust-handler.html); only the type and a
    /// short message are kept, never the stack trace.
    pub fn read(result: Option<&Value>) -> HookOutcome {
        let excerpt = |text: &str| cut_chars(text, MAX_HOOK_EXCERPT_CHARS);
        if let Some(error) = result.and_then(|r| r.get("Error")) {
            let error = excerpt(error.as_str().unwrap_or("an unnamed error"));
            let raw_cause = result
                .and_then(|r| r.get("Cause"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let message = match serde_json::from_str::<Value>(raw_cause) {
                Ok(lambda_error) => lambda_error
                    .get("errorMessage")
                    .and_then(Value::as_str)
                    .map(excerpt),
                Err(_) => (!raw_cause.is_empty()).then(|| excerpt(raw_cause)),
            };
            return HookOutcome::Failed { error, message };
        }
        let payload = result.and_then(|r| r.get("payload"));
        match payload
            .and_then(|p| p.get("status"))
            .and_then(Value::as_str)
        {
            Some("Succeeded") => HookOutcome::Succeeded,
            Some(other) => HookOutcome::Status(excerpt(other)),
            None => HookOutcome::Unrecognised(
                payload.map_or_else(|| "nothing".to_owned(), |p| excerpt(&p.to_string())),
            ),
        }
    }

    /// The outcome as the state machine would have written it (reads back as itself).
    pub fn to_value(&self) -> Value {
        match self {
            HookOutcome::Succeeded => json!({"payload": {"status": "Succeeded"}}),
            HookOutcome::Status(status) => json!({"payload": {"status": status}}),
            HookOutcome::Unrecognised(shown) if shown == "nothing" => json!({}),
            HookOutcome::Unrecognised(shown) => json!({
                "payload": serde_json::from_str::<Value>(shown).unwrap_or_else(|_| json!(shown))
            }),
            HookOutcome::Failed { error, message } => {
                let cause = message
                    .as_ref()
                    .map_or_else(String::new, |m| json!({"errorMessage": m}).to_string());
                json!({"Error": error, "Cause": cause})
            }
        }
    }

    /// `None` when the hook passed, else what went wrong, for the cause.
    pub fn problem(&self) -> Option<String> {
        match self {
            HookOutcome::Succeeded => None,
            HookOutcome::Status(status) => Some(format!("returned status {status:?}")),
            HookOutcome::Unrecognised(shown) => Some(format!(
                "returned {shown} instead of {{\"status\":\"Succeeded\"}}"
            )),
            HookOutcome::Failed {
                error,
                message: Some(message),
            } => Some(format!("failed: {error}: {message}")),
            HookOutcome::Failed {
                error,
                message: None,
            } => Some(format!("failed: {error}")),
        }
    }
}
