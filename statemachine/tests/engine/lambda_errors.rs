//! Lambda failures as Step Functions names them — a handler that crashes (`Lambda.Unknown`),
//! runs past its timeout (`Sandbox.Timedout`), or a Lambda service failure — are retried by
//! every Task of the shipped definition, Roll Back above all
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>).

use shifter::domain::AliasRoute;
use shifter_statemachine::asl::{EventKind, HistoryEvent};
use shifter_statemachine::local::{self, LambdaFault, LocalAccount, OUR_FUNCTIONS, Outcome, Run};

async fn deploy(account: &LocalAccount, strategy: &str) -> (Run, Vec<String>) {
    let mut failed = Vec::new();
    let mut observer = |event: &HistoryEvent| {
        // A bake's timeout is its normal end, not a failure.
        match &event.kind {
            EventKind::TaskFailed { error, .. } if error == "States.Timeout" => {}
            EventKind::TaskFailed { state, error, .. } => failed.push(format!("{state}: {error}")),
            _ => {}
        }
    };
    let input = LocalAccount::demo_input(strategy);
    let run = local::run(account, input, "lambda-errors", &mut observer)
        .await
        .expect("the runner accepts the shipped definition");
    (run, failed)
}

fn alias(account: &LocalAccount) -> AliasRoute {
    account.lambda.alias("demo", "live").unwrap().route
}

#[tokio::test]
async fn a_roll_back_that_times_out_once_is_retried_and_restores_the_alias() {
    let account = LocalAccount::demo();
    account.alarm_at("demo-errors", 60);
    account
        .lambda_faults
        .push("roll-back", LambdaFault::Timeout, 1);
    let (run, failed) = deploy(&account, "Canary10Percent5Minutes").await;
    assert_eq!(run.summary.outcome, Outcome::RolledBack, "{failed:?}");
    assert_eq!(run.summary.error.as_deref(), Some("AlarmTriggered"));
    assert_eq!(alias(&account), AliasRoute::single("1"));
    assert_eq!(failed, vec!["Roll Back: Sandbox.Timedout"]);
    assert!(run.execution.retries >= 1);
}

#[tokio::test]
async fn roll_back_survives_crashes_and_timeouts_in_a_row() {
    let account = LocalAccount::demo();
    account.alarm_at("demo-errors", 60);
    let faults = &account.lambda_faults;
    faults.push("roll-back", LambdaFault::Crash, 3);
    faults.push("roll-back", LambdaFault::Timeout, 3);
    faults.push("roll-back", LambdaFault::ClientTimeout, 2);
    let (run, failed) = deploy(&account, "Canary10Percent5Minutes").await;
    assert_eq!(run.summary.outcome, Outcome::RolledBack, "{failed:?}");
    assert_eq!(alias(&account), AliasRoute::single("1"));
    assert_eq!(failed.len(), 8, "{failed:?}");
}

/// Each of our functions meets each failure once and the deployment still succeeds.
#[tokio::test]
async fn every_function_retries_every_lambda_failure() {
    for (_, function) in OUR_FUNCTIONS {
        if function == "roll-back" {
            continue;
        }
        for fault in LambdaFault::ALL {
            let account = LocalAccount::demo();
            account.lambda_faults.push(function, fault, 1);
            let (run, failed) = deploy(&account, "Canary10Percent5Minutes").await;
            let case = format!("{function} {}: {failed:?}", fault.error_name());
            assert_eq!(run.summary.outcome, Outcome::Succeeded, "{case}");
            assert_eq!(alias(&account), AliasRoute::single("2"), "{case}");
            assert_eq!(failed.len(), 1, "{case}");
            assert!(failed[0].ends_with(fault.error_name()), "{case}");
        }
    }
}

/// A hook that crashes is retried too; one that keeps crashing fails the deployment as
/// HookFailed and the alias is restored.
#[tokio::test]
async fn a_crashing_hook_is_retried_then_fails_the_deployment() {
    let account = LocalAccount::demo();
    account
        .lambda_faults
        .push("demo-pre-traffic", LambdaFault::Crash, 1);
    let (run, _) = deploy(&account, "Canary10Percent5Minutes").await;
    assert_eq!(run.summary.outcome, Outcome::Succeeded);

    let account = LocalAccount::demo();
    account
        .lambda_faults
        .push("demo-pre-traffic", LambdaFault::Crash, 10);
    let (run, failed) = deploy(&account, "Canary10Percent5Minutes").await;
    assert_eq!(run.summary.outcome, Outcome::RolledBack, "{failed:?}");
    assert_eq!(run.summary.error.as_deref(), Some("HookFailed"));
    assert!(run.summary.cause.unwrap().contains("Lambda.Unknown"));
    assert_eq!(alias(&account), AliasRoute::single("1"));
}
