//! Waves Lambda: wires the real adapters to the handlers. It takes two payloads: a request of
//! the waves state machine (it has an `action`) and an event the home bus forwards (it has a
//! `detail-type`).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shifter::ShifterError;
use shifter::aws::waves::{ROLE_NAME_ENV, STATE_MACHINE_NAME_ENV, TABLE_ENV};
use shifter::aws::{AwsTargetAccounts, DynamoDbWaveWatches, StepFunctionsExecutions};
use shifter::ports::SystemClock;
use waves::{Ports, Request, handle, on_event};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    // The variables the function reads, at start-up: the watches table, the role it assumes in
    // every target account and the name of the deployment state machine there.
    let table = shifter::aws::env::required(TABLE_ENV)?;
    let role = shifter::aws::env::required(ROLE_NAME_ENV)?;
    let machine = shifter::aws::env::required(STATE_MACHINE_NAME_ENV)?;
    let aws = shifter::aws::load_lambda_config()?;
    let watches = DynamoDbWaveWatches::from_config(&aws, table);
    let targets = AwsTargetAccounts::from_config(&aws, role, machine);
    let tasks = StepFunctionsExecutions::from_config(&aws);
    let ports = Ports {
        targets: &targets,
        watches: &watches,
        tasks: &tasks,
        clock: &SystemClock,
    };
    let ports = &ports;
    // The closure answers with a `ShifterError`, so the state machine's Retry and Catch match its
    // stable name (`errorType`).
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Value>| async move {
        let payload = ev.payload;
        if payload.get("action").is_some() {
            let request: Request = serde_json::from_value(payload)
                .map_err(|e| ShifterError::invalid("action", e.to_string()))?;
            handle(ports, request).await
        } else if payload.get("detail-type").is_some() {
            let answered = on_event(ports, &payload).await?;
            serde_json::to_value(answered)
                .map_err(|e| ShifterError::invalid("event", e.to_string()))
        } else {
            Err(ShifterError::invalid(
                "payload",
                "neither a waves request (`action`) nor an EventBridge event (`detail-type`)",
            ))
        }
    }))
    .await
}
