//! `shifter approve|promote|abort`: answer the task token an execution is parked on.

use serde::Deserialize;
use serde_json::json;
use shifter::ports::{Executions, HistoryEvent};
use shifter::states::{
    APPROVAL_DETAIL_TYPE, AWAIT_APPROVAL, BAKE, BAKE_DETAIL_TYPE, EVENT_SOURCE, POST_PROMOTION_BAKE,
};

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

/// A task parked on `events:putEvents.waitForTaskToken`, waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingTask {
    /// The state parked.
    pub state: String,
    /// The `DetailType` of the event it put (a bake or an approval gate).
    pub detail_type: String,
    /// The `Source` of that event (`traffic-shifter` for ours).
    pub source: String,
    /// The token that answers it.
    pub token: String,
}

/// The evaluated Parameters of a parked task: the PutEvents request.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEvents {
    entries: Vec<PutEventsEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEventsEntry {
    #[serde(default)]
    detail_type: String,
    #[serde(default)]
    source: String,
    detail: TokenDetail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenDetail {
    task_token: String,
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
    let parameters: PutEvents = serde_json::from_str(scheduled.parameters.as_deref()?).ok()?;
    let entry = parameters.entries.into_iter().next()?;
    let state = history[..index]
        .iter()
        .rev()
        .find_map(|e| e.state.clone())
        .unwrap_or_default();
    Some(WaitingTask {
        state,
        detail_type: entry.detail_type,
        source: entry.source,
        token: entry.detail.task_token,
    })
}

/// True when `task` is one of Traffic Shifter's own parks: its state, its event's source and
/// detail type are the definition's. Anything else parked on a PutEvents task token belongs to
/// someone else and is not ours to answer.
pub fn is_ours(task: &WaitingTask) -> bool {
    [BAKE, AWAIT_APPROVAL, POST_PROMOTION_BAKE].contains(&task.state.as_str())
        && task.source == EVENT_SOURCE
        && [BAKE_DETAIL_TYPE, APPROVAL_DETAIL_TYPE].contains(&task.detail_type.as_str())
}

/// Answers the waiting task of execution `arn`; returns the state it was parked in.
pub async fn answer(
    executions: &dyn Executions,
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
            "{arn} is not a Traffic Shifter deployment: it waits in {:?} on an event from {:?} \
             ({:?}); its task token is not ours to answer",
            task.state, task.source, task.detail_type
        )));
    }
    let token = &task.token;
    match answer {
        Answer::Approve if task.detail_type != APPROVAL_DETAIL_TYPE => {
            return Err(CliError::Usage(format!(
                "{arn} is in {:?}, not at an approval gate; `shifter promote` skips ahead",
                task.state
            )));
        }
        Answer::Approve => {
            let approve = json!({"action": "approve"});
            executions.send_task_success(token, &approve).await?;
        }
        Answer::Promote => {
            let promote = json!({"action": "promote"});
            executions.send_task_success(token, &promote).await?;
        }
        Answer::Abort(reason) => {
            executions
                .send_task_failure(token, "Aborted", reason)
                .await?
        }
    }
    Ok(task.state)
}

#[cfg(test)]
mod tests {
    use shifter::fakes::FakeExecutions;
    use shifter::states::{BAKE, BAKE_DETAIL_TYPE};

    use super::*;
    use crate::operate::recorded::{parked, recorded, running};

    #[tokio::test]
    async fn abort_and_promote_answer_the_parked_token() {
        let history = parked();
        let task = waiting_task(&history).unwrap();
        assert_eq!(
            (task.state.as_str(), task.detail_type.as_str()),
            (BAKE, BAKE_DETAIL_TYPE)
        );
        let token = task.token;
        let (fake, arn) = running(history).await;
        answer(&fake, &arn, &Answer::Abort("stop".into()))
            .await
            .unwrap();
        assert_eq!(
            fake.answers(),
            vec![(
                token.clone(),
                Err(("Aborted".to_owned(), "stop".to_owned()))
            )]
        );
        // A token answers once.
        assert!(answer(&fake, &arn, &Answer::Promote).await.is_err());

        let (fake, arn) = running(parked()).await;
        answer(&fake, &arn, &Answer::Promote).await.unwrap();
        assert_eq!(
            fake.answers(),
            vec![(token, Ok(json!({"action": "promote"})))]
        );
    }

    #[tokio::test]
    async fn approve_needs_a_gate_and_nothing_answers_a_settled_task() {
        let (fake, arn) = running(parked()).await;
        let refused = answer(&fake, &arn, &Answer::Approve).await.unwrap_err();
        assert!(
            refused.to_string().contains("not at an approval gate"),
            "{refused}"
        );
        let (fake, arn): (FakeExecutions, String) =
            running(recorded("execution-history-succeeded.json")).await;
        assert!(
            answer(&fake, &arn, &Answer::Abort("x".into()))
                .await
                .is_err()
        );
        assert!(fake.answers().is_empty());
    }

    /// Another team's state machine parked on a PutEvents task token looks alike; its token is
    /// not ours to answer.
    #[tokio::test]
    async fn executions_that_are_not_ours_are_refused_and_left_alone() {
        let foreign_source = |mut history: Vec<HistoryEvent>| {
            for e in &mut history {
                if let Some(p) = &mut e.parameters {
                    *p = p.replace("\"Source\":\"traffic-shifter\"", "\"Source\":\"billing\"");
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
        for history in [foreign_source(parked()), renamed(parked())] {
            assert!(!is_ours(&waiting_task(&history).unwrap()));
            let (fake, arn) = running(history).await;
            for what in [Answer::Promote, Answer::Abort("x".into())] {
                let refused = answer(&fake, &arn, &what).await.unwrap_err();
                assert!(
                    refused
                        .to_string()
                        .contains("not a Traffic Shifter deployment"),
                    "{refused}"
                );
            }
            assert!(fake.answers().is_empty());
        }
        assert!(is_ours(&waiting_task(&parked()).unwrap()));
    }
}
