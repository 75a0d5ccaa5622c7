//! The local runner: the shipped definition executed offline against a simulated account, on a
//! virtual clock, with our handlers in-process.

mod account;
mod controls;
mod crashes;
mod events;
mod invoker;
mod lost;
mod recorder;
mod spec;
mod strict;
mod summary;
pub mod waves;

use std::collections::BTreeMap;

use serde_json::Value;

pub use account::{HookBehaviour, LocalAccount};
pub use crashes::{FUNCTION_TIMEOUT_SECONDS, LambdaFault, LambdaFaults};
pub use events::{ALARM_EVENT_LATENCY, AlarmEventStats, AlarmEvents};
pub use invoker::{LOCAL_ARN_PREFIX, OUR_FUNCTIONS};
pub use lost::LostAnswers;
pub use shifter::report::{AlarmCheck, FinalAlias, Outcome, Summary, TimelinePoint};
pub use spec::{AccountError, AccountSpec};
pub use strict::{MAX_AT_SECONDS, MAX_PUBLISHED_VERSIONS};

use crate::asl::{
    DefinitionError, Execution, ExecutionStatus, History, HistoryEvent, RunError, StateMachine,
};
use invoker::LocalInvoker;
use shifter::domain::Deployment;
use shifter::ports::{ExecutionStatus as Status, Executions};

/// The event bus of the simulated stack (template.yaml's `ShifterEventBus`).
pub const LOCAL_EVENT_BUS: &str = "traffic-shifter-local";

/// The definition's substitutions in the simulated account: our functions' local ARNs and the
/// stack's own event bus, as template.yaml's `DefinitionSubstitutions` gives them on AWS.
pub fn substitutions() -> BTreeMap<String, String> {
    let mut substitutions: BTreeMap<String, String> = OUR_FUNCTIONS
        .iter()
        .map(|(key, name)| ((*key).to_owned(), format!("{LOCAL_ARN_PREFIX}{name}")))
        .collect();
    substitutions.insert("ShifterEventBusName".to_owned(), LOCAL_EVENT_BUS.to_owned());
    substitutions
}

/// The shipped definition, with [`substitutions`] applied.
pub fn shipped_state_machine() -> Result<StateMachine, DefinitionError> {
    StateMachine::parse(crate::DEFINITION, &substitutions())
}

/// A finished simulated run: the execution as the runner saw it, and its summary.
pub struct Run {
    /// The execution; its events carry no documents (the observer saw them whole).
    pub execution: Execution,
    /// The summary.
    pub summary: Summary,
    /// The deployment document as Start Deployment first produced it.
    deployment: Option<Deployment>,
}

/// The deployment document as Start Deployment first produced it, if it got that far.
pub fn first_deployment(run: &Run) -> Option<Deployment> {
    run.deployment.clone()
}

/// Runs the shipped definition against `account` with `input`.
pub async fn run(
    account: &LocalAccount,
    input: Value,
    execution_name: &str,
    observer: &mut (dyn FnMut(&HistoryEvent) + Send),
) -> Result<Run, RunError> {
    // Events without documents keep a long run linear in time and memory.
    let machine = shipped_state_machine()?.with_history(History::WithoutData);
    let text = |field: &str| {
        input
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (function, alias) = (text("functionName"), text("alias"));
    let invoker = LocalInvoker { account };
    let mut deployment = None;
    let mut analyses = Vec::new();
    let slot = &mut deployment;
    let records = &mut analyses;
    let mut watch = move |event: &HistoryEvent| {
        if slot.is_none() {
            *slot = summary::planned(event);
        }
        records.extend(summary::analysis(event));
        observer(event);
    };
    // Start Deployment looks a lock holder's execution up: the account knows its runs.
    let executions = &account.executions;
    let input_text = input.to_string();
    let arn = executions
        .start_execution(crate::asl::STATE_MACHINE_ARN, execution_name, &input)
        .await
        .ok();
    if let Some(arn) = &arn {
        invoker
            .execution_started(arn, execution_name, &input_text)
            .await;
    }
    let execution = machine
        .run(&invoker, &account.clock, input, execution_name, &mut watch)
        .await?;
    let undone = match arn {
        Some(arn) => ended(&invoker, &arn, execution_name, &execution, &input_text).await,
        None => Vec::new(),
    };
    let planned = deployment.as_ref();
    // A release train's input names its aliases in `targets`: the first one that moves leads.
    let (function, alias) = planned.map_or((function, alias), |d| {
        (d.lead().function_name.clone(), d.lead().alias.clone())
    });
    let mut summary =
        summary::summarize(account, &execution, planned, &analyses, (&function, &alias)).await;
    summary.undone = undone;
    Ok(Run {
        execution,
        summary,
        deployment,
    })
}

/// What the account learns when execution `name` ends: EventBridge hands the watch function
/// its status change (the registry entries go), and DescribeExecution reports how it ended.
async fn ended(
    invoker: &LocalInvoker<'_>,
    arn: &str,
    name: &str,
    execution: &Execution,
    input: &str,
) -> Vec<String> {
    let status = match execution.status {
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::Aborted => "ABORTED",
    };
    if execution.status == ExecutionStatus::Aborted {
        // The status change reaches the watch function through EventBridge, like an alarm's.
        invoker.account.clock.sleep(ALARM_EVENT_LATENCY).await;
    }
    let error = execution.error.as_deref();
    let output = execution.output.as_ref().map(Value::to_string);
    let ending = invoker::Ending {
        status,
        error,
        cause: execution.cause.as_deref(),
        output: output.as_deref(),
    };
    let undone = invoker.execution_ended(arn, name, ending, input).await;
    let executions = &invoker.account.executions;
    let _ = match execution.status {
        ExecutionStatus::Succeeded => {
            executions.succeed(arn, execution.output.clone().unwrap_or_default())
        }
        ExecutionStatus::Aborted => executions.fail(arn, Status::Aborted, "", ""),
        ExecutionStatus::Failed => executions.fail(
            arn,
            Status::Failed,
            error.unwrap_or_default(),
            execution.cause.as_deref().unwrap_or_default(),
        ),
    };
    undone
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
