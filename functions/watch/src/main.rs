//! Watch Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shifter::aws::dynamodb::{DynamoDbRegistry, TABLE_ENV};
use shifter::aws::{CloudWatchAlarms, LambdaAdapter, StepFunctionsExecutions};
use watch::{Ports, WatchEvent, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    // The one variable the function reads, at start-up: the registry table.
    let table = shifter::aws::env::required(TABLE_ENV)?;
    let aws = shifter::aws::load_config().await;
    let registry = DynamoDbRegistry::from_config(&aws, table);
    let alarms = CloudWatchAlarms::from_config(&aws);
    alarms.warm().await;
    let tasks = StepFunctionsExecutions::from_config(&aws);
    let router = LambdaAdapter::from_config(&aws);
    router.warm().await;
    let ports = Ports {
        registry: &registry,
        alarms: &alarms,
        tasks: &tasks,
        router: &router,
    };
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Value>| async {
        handle(&ports, WatchEvent::from_json(ev.payload)?).await
    }))
    .await
}
