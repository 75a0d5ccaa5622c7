//! Task tokens in memory with Step Functions' answer semantics: a token waits until it is
//! answered once; answering it again, or a token that never waited, is `TaskTimedOut` /
//! `InvalidToken`, i.e. stale
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html>).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::error::ShifterError;
use crate::ports::{TaskCallbacks, TokenAnswer};

/// How a token was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAnswer {
    /// SendTaskSuccess with this output.
    Success(serde_json::Value),
    /// SendTaskFailure with this error and cause.
    Failure { error: String, cause: String },
    /// No answer: the task stopped waiting (timed out, or answered by an operator elsewhere).
    Closed,
}

/// [`TaskCallbacks`] in memory: `open` a token, then the first answer lands.
#[derive(Debug, Clone, Default)]
pub struct FakeTasks {
    tokens: Arc<Mutex<BTreeMap<String, Option<TaskAnswer>>>>,
}

impl FakeTasks {
    /// No token waits.
    pub fn new() -> Self {
        FakeTasks::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Option<TaskAnswer>>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `token` starts waiting (a task parked).
    pub fn open(&self, token: &str) {
        self.lock().insert(token.to_owned(), None);
    }

    /// `token` stops waiting without an answer (its task timed out or took another answer):
    /// from now on answers to it are stale.
    pub fn close(&self, token: &str) {
        if let Some(slot @ None) = self.lock().get_mut(token) {
            *slot = Some(TaskAnswer::Closed);
        }
    }

    /// The answer `token` got, if any.
    pub fn answer(&self, token: &str) -> Option<TaskAnswer> {
        self.lock().get(token).cloned().flatten()
    }

    /// Every token answered (or closed) so far, by token.
    pub fn answers(&self) -> Vec<(String, TaskAnswer)> {
        self.lock()
            .iter()
            .filter_map(|(token, answer)| Some((token.clone(), answer.clone()?)))
            .collect()
    }

    fn deliver(&self, token: &str, answer: TaskAnswer) -> TokenAnswer {
        match self.lock().get_mut(token) {
            Some(slot @ None) => {
                *slot = Some(answer);
                TokenAnswer::Delivered
            }
            _ => TokenAnswer::Stale,
        }
    }
}

#[async_trait]
impl TaskCallbacks for FakeTasks {
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<TokenAnswer, ShifterError> {
        Ok(self.deliver(task_token, TaskAnswer::Success(output.clone())))
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<TokenAnswer, ShifterError> {
        let answer = TaskAnswer::Failure {
            error: error.to_owned(),
            cause: cause.to_owned(),
        };
        Ok(self.deliver(task_token, answer))
    }
}
