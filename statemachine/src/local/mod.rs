//! The local runner: the shipped definition executed offline against a simulated account, on a
//! virtual clock, with our handlers in-process.

mod account;
mod controls;
mod invoker;
mod recorder;
mod spec;
mod summary;

use std::collections::BTreeMap;

use serde_json::Value;

pub use account::{HookBehaviour, LocalAccount};
pub use invoker::{LOCAL_ARN_PREFIX, OUR_FUNCTIONS};
pub use shifter::report::{AlarmCheck, FinalAlias, Outcome, Summary, TimelinePoint};
pub use spec::{AccountError, AccountSpec};
pub use summary::first_deployment;

use crate::asl::{DefinitionError, Execution, HistoryEvent, RunError, StateMachine};
use invoker::LocalInvoker;

/// The shipped definition, with our functions' local ARNs substituted.
pub fn shipped_state_machine() -> Result<StateMachine, DefinitionError> {
    let substitutions: BTreeMap<String, String> = OUR_FUNCTIONS
        .iter()
        .map(|(key, name)| ((*key).to_owned(), format!("{LOCAL_ARN_PREFIX}{name}")))
        .collect();
    StateMachine::parse(crate::DEFINITION, &substitutions)
}

/// A finished simulated run: the execution as the runner saw it, and its summary.
pub struct Run {
    /// The execution.
    pub execution: Execution,
    /// The summary.
    pub summary: Summary,
}

/// Runs the shipped definition against `account` with `input`.
pub async fn run(
    account: &LocalAccount,
    input: Value,
    execution_name: &str,
    observer: &mut (dyn FnMut(&HistoryEvent) + Send),
) -> Result<Run, RunError> {
    let machine = shipped_state_machine()?;
    let text = |field: &str| {
        input
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (function, alias) = (text("functionName"), text("alias"));
    let invoker = LocalInvoker { account };
    let execution = machine
        .run(&invoker, &account.clock, input, execution_name, observer)
        .await?;
    let summary = summary::summarize(account, &execution, &function, &alias).await;
    Ok(Run { execution, summary })
}

/// A finished run as Step Functions `GetExecutionHistory` JSON (what `aws stepfunctions
/// get-execution-history` prints): the recorded histories in `events/` that the CLI's `watch`
/// and `timeline` tests read.
pub fn execution_history(
    account: &LocalAccount,
    execution: &Execution,
    input: &Value,
) -> Result<Value, DefinitionError> {
    let machine = shipped_state_machine()?;
    Ok(crate::asl::export_history(
        &machine,
        execution,
        account.clock.start(),
        input,
    ))
}
