//! Run Hook: invokes a user's synchronous hook and hands Step Functions a bounded answer.
//!
//! Step Functions fails an execution whose task result is over 256 KB with
//! `States.DataLimitExceeded`, which no Catch handles
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TaskSucceededEventDetails.html>):
//! a hook invoked directly that answered a large report after the promotion would leave all
//! traffic on the new version with nothing rolling back. Through this function the state only
//! ever holds the hook's `status` (or a short excerpt), and an answer over the limit is a failed
//! hook (`HookFailed`, rolled back). A hook's error keeps its name, so the state machine
//! retries and catches exactly as it would the hook itself; its message is cut short.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shifter::domain::text::cut_chars;
use shifter::ports::{HookAnswer, HookInvoker};

/// The most a hook may answer: what Step Functions itself would accept as a task result.
pub const MAX_HOOK_ANSWER_BYTES: usize = 256 * 1024;
/// The most characters of a hook's status, message or unexpected answer that are kept.
pub const EXCERPT_CHARS: usize = 200;

/// What the state machine sends: the hook and the event it receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHookEvent {
    /// The hook function (name or ARN).
    pub hook: String,
    /// The event the hook receives (`deploymentId`, `phase`, versions, traffic).
    pub event: Value,
}

/// A hook that failed: the error name Step Functions sees, and a short message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFailure {
    /// The hook's `errorType` (or the Lambda error name).
    pub error_type: String,
    /// At most [`EXCERPT_CHARS`] characters of its message.
    pub message: String,
}

/// `text` cut to [`EXCERPT_CHARS`] characters and a `…`, on a character boundary.
fn excerpt(text: &str) -> String {
    cut_chars(text, EXCERPT_CHARS + 1)
}

/// The answer as the state keeps it: `{"status": …}` (cut short), an excerpt of an answer
/// without a status, or — over [`MAX_HOOK_ANSWER_BYTES`] — a status naming the size, which
/// fails the hook.
pub fn bounded_answer(bytes: &[u8]) -> Value {
    if bytes.len() > MAX_HOOK_ANSWER_BYTES {
        return json!({"status": format!(
            "answer too large: {} bytes (a hook answers {{\"status\":\"Succeeded\"}}, at most {MAX_HOOK_ANSWER_BYTES} bytes)",
            bytes.len()
        )});
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(answer) => match answer.get("status").and_then(Value::as_str) {
            Some(status) => json!({ "status": excerpt(status) }),
            None => json!({ "excerpt": excerpt(&answer.to_string()) }),
        },
        Err(_) => json!({ "excerpt": excerpt(&String::from_utf8_lossy(bytes)) }),
    }
}

/// A hook's failure with its name kept and its message cut short.
pub fn bounded_failure(error_type: &str, message: &str) -> HookFailure {
    HookFailure {
        error_type: excerpt(error_type),
        message: excerpt(message),
    }
}

/// Invokes the hook and bounds what comes back.
pub async fn run_hook(
    invoker: &dyn HookInvoker,
    event: RunHookEvent,
) -> Result<Value, HookFailure> {
    match invoker.invoke_hook(&event.hook, &event.event).await {
        Ok(HookAnswer::Returned(bytes)) => Ok(bounded_answer(&bytes)),
        Ok(HookAnswer::Failed {
            error_type,
            message,
        }) => Err(bounded_failure(&error_type, &message)),
        Err(e) => Err(bounded_failure(e.kind(), &e.to_string())),
    }
}
