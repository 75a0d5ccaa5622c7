//! Run Hook over a scripted invoker: answers are bounded, failures keep their names.

use async_trait::async_trait;
use run_hook::{RunHookEvent, run_hook};
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::ports::{HookAnswer, HookInvoker};

struct Scripted(HookAnswer);

#[async_trait]
impl HookInvoker for Scripted {
    async fn invoke_hook(
        &self,
        function: &str,
        payload: &Value,
    ) -> Result<HookAnswer, ShifterError> {
        assert_eq!(function, "orders-api-pre");
        assert_eq!(payload["phase"], "PreTraffic");
        Ok(self.0.clone())
    }
}

async fn run(answer: HookAnswer) -> Result<Value, run_hook::HookFailure> {
    let event = RunHookEvent {
        hook: "orders-api-pre".into(),
        event: json!({"phase": "PreTraffic", "targetVersion": "42"}),
    };
    run_hook(&Scripted(answer), event).await
}

#[tokio::test]
async fn a_passing_hook_keeps_only_its_status() {
    let answer = json!({"status": "Succeeded", "report": "x".repeat(10_000)});
    let kept = run(HookAnswer::Returned(answer.to_string().into_bytes())).await;
    assert_eq!(kept, Ok(json!({"status": "Succeeded"})));
}

/// A 1 MB answer would be `States.DataLimitExceeded` (uncatchable) as a task result; here it is
/// a status that fails the hook.
#[tokio::test]
async fn a_one_megabyte_answer_is_a_failed_hook_not_an_overflow() {
    let big = json!({"status": "Succeeded", "report": "x".repeat(1 << 20)}).to_string();
    let kept = run(HookAnswer::Returned(big.into_bytes())).await.unwrap();
    let status = kept["status"].as_str().unwrap();
    assert!(status.starts_with("answer too large: 1048"), "{status}");
    assert!(kept.to_string().len() < 300);
}

/// Cut on a character boundary: multibyte text never panics and never splits a character.
#[tokio::test]
async fn long_multibyte_text_is_cut_on_a_character_boundary() {
    let status = "é".repeat(500);
    let kept = run(HookAnswer::Returned(
        json!({"status": status}).to_string().into_bytes(),
    ))
    .await
    .unwrap();
    assert_eq!(kept["status"].as_str().unwrap().chars().count(), 201);
    let failed = run(HookAnswer::Failed {
        error_type: "ValidationError".into(),
        message: "💥".repeat(300),
    })
    .await
    .unwrap_err();
    assert_eq!(failed.error_type, "ValidationError");
    assert_eq!(failed.message.chars().count(), 201);
}

#[tokio::test]
async fn answers_without_a_status_are_kept_as_a_short_excerpt() {
    let kept = run(HookAnswer::Returned(b"not json at all".to_vec()))
        .await
        .unwrap();
    assert_eq!(kept, json!({"excerpt": "not json at all"}));
    let kept = run(HookAnswer::Returned(br#"{"ok":true}"#.to_vec()))
        .await
        .unwrap();
    assert_eq!(kept, json!({"excerpt": "{\"ok\":true}"}));
}

/// A crashed or throttled hook keeps the name Step Functions' retriers match.
#[tokio::test]
async fn failures_keep_their_names() {
    for name in [
        "Lambda.Unknown",
        "Sandbox.Timedout",
        "Lambda.TooManyRequestsException",
    ] {
        let failed = run(HookAnswer::Failed {
            error_type: name.into(),
            message: "m".into(),
        })
        .await
        .unwrap_err();
        assert_eq!(failed.error_type, name);
    }
}
