//! `shifter approve|promote|abort`: answer the task token an execution is parked on.

use serde::Deserialize;

use shifter::ShifterError;
use shifter::domain::OperatorAnswer;
use shifter::ports::{Executions, HistoryEvent, TaskCallbacks, TokenAnswer};
use shifter::states::ParkKind;

use crate::error::CliError;

/// Arguments of `shifter approve` and `shifter promote`.
#[derive(clap::Args)]
pub struct AnswerArgs {
    /// The execution ARN.
    arn: String,
}

impl AnswerArgs {
    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
}

/// Arguments of `shifter abort`.
#[derive(clap::Args)]
pub struct AbortArgs {
    /// The execution ARN.
    arn: String,
    /// Why; the execution fails with error Aborted and this cause.
    #[arg(long, default_value = "aborted by an operator")]
    reason: String,
}

impl AbortArgs {
    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
    /// `--reason`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// What an operator tells a parked execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Pass the approval gate.
    Approve,
    /// Skip the remaining steps.
    Promote,
    /// Roll back and fail with error Aborted and this cause.
    Abort(String),
}

/// A task parked on `lambda:invoke.waitForTaskToken`, waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingTask {
    /// The state parked.
    pub state: String,
    /// The function it invoked with the token (Traffic Shifter's watch function for ours).
    pub function: String,
    /// The `park` of its payload when it is one of ours (`None` for any other value, or none).
    pub park: Option<ParkKind>,
    /// True when the payload carries a deployment document with its id (ours do).
    pub deployment: bool,
    /// A wave plan's Watch Waves park (docs/waves.md): only `shifter abort` answers it.
    pub plan: bool,
    /// The token that answers it.
    pub token: String,
}

/// The evaluated Parameters of a parked task: the Lambda invocation.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Invoke {
    #[serde(default)]
    function_name: String,
    payload: ParkPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParkPayload {
    task_token: String,
    /// Read as text: another team's task may carry any `park`, or none.
    #[serde(default)]
    park: Option<String>,
    #[serde(default)]
    deployment: Option<serde_json::Value>,
    /// A wave plan's park: `action` `watch` with the plan's `run`.
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    run: Option<serde_json::Value>,
}

/// The waiting task of the history: the latest TaskScheduled of a park (its parameters hold a
/// task token) with nothing after it but its start and submission.
pub fn waiting_task(history: &[HistoryEvent]) -> Option<WaitingTask> {
    let (index, scheduled) = history
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| e.kind == "TaskScheduled")?;
    let settled = history[index + 1..]
        .iter()
        .any(|e| !matches!(e.kind.as_str(), "TaskStarted" | "TaskSubmitted"));
    if settled {
        return None;
    }
    let parameters: Invoke = serde_json::from_str(scheduled.parameters.as_deref()?).ok()?;
    let payload = parameters.payload;
    let state = history[..index]
        .iter()
        .rev()
        .find_map(|e| e.state.clone())
        .unwrap_or_default();
    let deployment = payload.deployment.as_ref().is_some_and(|d| {
        d.get("deploymentId")
            .is_some_and(serde_json::Value::is_string)
    });
    let plan = state == WATCH_WAVES
        && payload.action.as_deref() == Some("watch")
        && payload
            .run
            .as_ref()
            .is_some_and(|r| r.get("planId").is_some_and(serde_json::Value::is_string));
    Some(WaitingTask {
        state,
        function: parameters.function_name,
        park: payload.park.as_deref().and_then(ParkKind::from_wire),
        deployment,
        plan,
        token: payload.task_token,
    })
}

/// True when `task` is one of Traffic Shifter's own parks: the state and the payload's park
/// kind are the definition's, and the payload carries a deployment document. Anything else
/// parked on a task token belongs to someone else and is not ours to answer.
pub fn is_ours(task: &WaitingTask) -> bool {
    task.plan || (task.park.is_some_and(|kind| kind.state() == task.state) && task.deployment)
}

/// The park of the waves definition (`statemachine/waves.asl.json`).
const WATCH_WAVES: &str = "Watch Waves";

/// Answers the waiting task of execution `arn` (found in its history) through `tasks`; returns
/// the state it was parked in. A token that no longer waits is an error naming it.
pub async fn answer(
    executions: &dyn Executions,
    tasks: &dyn TaskCallbacks,
    arn: &str,
    answer: &Answer,
) -> Result<String, CliError> {
    let history = executions.execution_history(arn).await?;
    let task = waiting_task(&history).ok_or_else(|| {
        CliError::Usage(format!(
            "{arn} is not waiting in a bake or an approval gate right now (it may be between \
             states or finished); try again in a moment"
        ))
    })?;
    if !is_ours(&task) {
        return Err(CliError::Usage(format!(
            "{arn} is not a Traffic Shifter deployment: it waits in {:?} on function {:?} \
             (park {}); its task token is not ours to answer",
            task.state,
            task.function,
            task.park.map_or("none of ours", ParkKind::wire_name)
        )));
    }
    let token = &task.token;
    if task.plan && !matches!(answer, Answer::Abort(_)) {
        return Err(CliError::Usage(format!(
            "{arn} is a wave plan: it takes only `shifter abort` (each region's deployment takes \
             approve and promote on its own execution)"
        )));
    }
    let sent = match answer {
        Answer::Approve if task.park != Some(ParkKind::Approval) => {
            return Err(CliError::Usage(format!(
                "{arn} is in {:?}, not at an approval gate; `shifter promote` skips ahead",
                task.state
            )));
        }
        Answer::Approve => {
            let approve = OperatorAnswer::Approve.to_value();
            tasks.send_task_success(token, &approve).await?
        }
        Answer::Promote => {
            let promote = OperatorAnswer::Promote.to_value();
            tasks.send_task_success(token, &promote).await?
        }
        Answer::Abort(reason) => tasks.send_task_failure(token, "Aborted", reason).await?,
    };
    match sent {
        TokenAnswer::Delivered => Ok(task.state),
        TokenAnswer::Stale => Err(ShifterError::invalid(
            "taskToken",
            format!("TaskTimedOut: task token {token:?} of {arn} is not waiting"),
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use shifter::fakes::{FakeExecutions, FakeTasks, TaskAnswer};
    use shifter::states::BAKE;

    use super::*;
    use crate::operate::recorded::{parked, recorded, running};
    use serde_json::json;

    /// Task tokens as Step Functions holds them for `history`: its parked task's token waits.
    fn tokens(history: &[HistoryEvent]) -> FakeTasks {
        let tasks = FakeTasks::new();
        if let Some(task) = waiting_task(history) {
            tasks.open(&task.token);
        }
        tasks
    }

    /// A wave plan parked in Watch Waves, as GetExecutionHistory lists it.
    fn plan_parked() -> Vec<HistoryEvent> {
        let event = |id: i64, kind: &str| HistoryEvent {
            id,
            kind: kind.to_owned(),
            at: chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            ..HistoryEvent::default()
        };
        let entered = HistoryEvent {
            state: Some(WATCH_WAVES.to_owned()),
            ..event(1, "TaskStateEntered")
        };
        let payload = json!({"FunctionName": "arn:aws:lambda:eu-west-1:1:function:waves",
            "Payload": {"action": "watch", "taskToken": "plan-token", "run": {"planId": "p1"}}});
        let scheduled = HistoryEvent {
            parameters: Some(payload.to_string()),
            ..event(2, "TaskScheduled")
        };
        vec![
            entered,
            scheduled,
            event(3, "TaskStarted"),
            event(4, "TaskSubmitted"),
        ]
    }

    #[tokio::test]
    async fn a_wave_plan_takes_abort_on_its_park_and_refuses_approve_and_promote() {
        let history = plan_parked();
        let task = waiting_task(&history).unwrap();
        assert!(task.plan && is_ours(&task), "{task:?}");
        for refused in [Answer::Approve, Answer::Promote] {
            let tasks = tokens(&history);
            let (fake, arn) = running(history.clone()).await;
            let err = answer(&fake, &tasks, &arn, &refused).await.unwrap_err();
            assert!(
                err.to_string().contains("takes only `shifter abort`"),
                "{err}"
            );
            assert!(tasks.answers().is_empty());
        }
        let tasks = tokens(&history);
        let (fake, arn) = running(history).await;
        answer(&fake, &tasks, &arn, &Answer::Abort("bad release".into()))
            .await
            .unwrap();
        assert_eq!(
            tasks.answers(),
            vec![(
                "plan-token".to_owned(),
                TaskAnswer::Failure {
                    error: "Aborted".into(),
                    cause: "bad release".into()
                }
            )]
        );
    }

    #[tokio::test]
    async fn abort_and_promote_answer_the_parked_token() {
        let history = parked();
        let task = waiting_task(&history).unwrap();
        assert_eq!(
            (task.state.as_str(), task.park),
            (BAKE, Some(ParkKind::Bake))
        );
        let token = task.token;
        let tasks = tokens(&history);
        let (fake, arn) = running(history).await;
        answer(&fake, &tasks, &arn, &Answer::Abort("stop".into()))
            .await
            .unwrap();
        assert_eq!(
            tasks.answers(),
            vec![(
                token.clone(),
                TaskAnswer::Failure {
                    error: "Aborted".to_owned(),
                    cause: "stop".to_owned()
                }
            )]
        );
        // A token answers once.
        let again = answer(&fake, &tasks, &arn, &Answer::Promote).await;
        assert!(again.unwrap_err().to_string().contains("TaskTimedOut"));

        let tasks = tokens(&parked());
        let (fake, arn) = running(parked()).await;
        answer(&fake, &tasks, &arn, &Answer::Promote).await.unwrap();
        assert_eq!(
            tasks.answers(),
            vec![(token, TaskAnswer::Success(json!({"action": "promote"})))]
        );
    }

    #[tokio::test]
    async fn approve_needs_a_gate_and_nothing_answers_a_settled_task() {
        let tasks = tokens(&parked());
        let (fake, arn) = running(parked()).await;
        let refused = answer(&fake, &tasks, &arn, &Answer::Approve)
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("not at an approval gate"),
            "{refused}"
        );
        assert!(tasks.answers().is_empty());
        let settled = recorded("execution-history-succeeded.json");
        let tasks = tokens(&settled);
        let (fake, arn): (FakeExecutions, String) = running(settled).await;
        assert!(
            answer(&fake, &tasks, &arn, &Answer::Abort("x".into()))
                .await
                .is_err()
        );
        assert!(tasks.answers().is_empty());
    }

    /// Another team's state machine parked on a Lambda task token looks alike; its token is not
    /// ours to answer.
    #[tokio::test]
    async fn executions_that_are_not_ours_are_refused_and_left_alone() {
        let foreign_source = |mut history: Vec<HistoryEvent>| {
            for e in &mut history {
                if let Some(p) = &mut e.parameters {
                    *p = p.replace("\"park\":\"bake\"", "\"park\":\"batch\"");
                }
            }
            history
        };
        let renamed = |mut history: Vec<HistoryEvent>| {
            for e in &mut history {
                if e.state.as_deref() == Some(BAKE) {
                    e.state = Some("Wait For Batch".to_owned());
                }
            }
            history
        };
        assert_eq!(waiting_task(&foreign_source(parked())).unwrap().park, None);
        for history in [foreign_source(parked()), renamed(parked())] {
            assert!(!is_ours(&waiting_task(&history).unwrap()));
            let tasks = tokens(&history);
            let (fake, arn) = running(history).await;
            for what in [Answer::Promote, Answer::Abort("x".into())] {
                let refused = answer(&fake, &tasks, &arn, &what).await.unwrap_err();
                assert!(
                    refused
                        .to_string()
                        .contains("not a Traffic Shifter deployment"),
                    "{refused}"
                );
            }
            assert!(tasks.answers().is_empty());
        }
        assert!(is_ours(&waiting_task(&parked()).unwrap()));
    }
}
