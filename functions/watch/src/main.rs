//! Watch Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shifter::aws::dynamodb::DynamoDbRegistry;
use shifter::aws::{CloudWatchAlarms, StepFunctionsExecutions};
use watch::{Ports, WatchEvent, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let aws = shifter::aws::load_config().await;
    let table = std::env::var("SHIFTER_REGISTRY_TABLE")
        .map_err(|_| "SHIFTER_REGISTRY_TABLE: not set (the registry table's name)")?;
    let registry = DynamoDbRegistry::from_config(&aws, table);
    let alarms = CloudWatchAlarms::from_config(&aws);
    alarms.warm().await;
    let tasks = StepFunctionsExecutions::from_config(&aws);
    let ports = Ports {
        registry: &registry,
        alarms: &alarms,
        tasks: &tasks,
    };
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Value>| async {
        handle(&ports, WatchEvent::from_json(ev.payload)?).await
    }))
    .await
}
