//! Alias writes that land while their answer is lost: a 5xx, a connection reset or a timeout
//! after Lambda committed the write. It happens on AWS ("the request may have been processed";
//! <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/retries.html>), and our adapter sends
//! UpdateAlias once with the SDK's retries off, so the handler sees exactly this: a `Transient`
//! error while the alias has moved. `shifter simulate --lost-answer FUNCTION` plays it for
//! every alias write FUNCTION makes.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use shifter::ShifterError;
use shifter::domain::{AliasRoute, AliasState};
use shifter::ports::AliasRouter;

/// Our functions whose alias writes lose their answer.
#[derive(Debug, Clone, Default)]
pub struct LostAnswers {
    functions: Arc<Mutex<BTreeSet<String>>>,
}

impl LostAnswers {
    /// Every alias write `function` makes from now on lands, and its answer is lost.
    pub fn lose_answers_of(&self, function: &str) {
        self.lock().insert(function.to_owned());
    }

    /// True when `function`'s writes lose their answer.
    pub fn covers(&self, function: &str) -> bool {
        self.lock().contains(function)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The alias port as a function whose write answers are lost sees it: reads pass through, a
/// write that lands answers `Transient`.
pub struct AnswerLost<'a>(pub &'a dyn AliasRouter);

#[async_trait]
impl AliasRouter for AnswerLost<'_> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError> {
        self.0.get_alias(function, alias).await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError> {
        self.0
            .update_alias(function, alias, route, expected_revision)
            .await?;
        Err(ShifterError::transient(
            "UpdateAlias",
            "connection reset after the request was sent (the write may have landed)",
        ))
    }
}
