//! Watch Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shifter::aws::dynamodb::{DynamoDbRegistry, TABLE_ENV};
use shifter::aws::events::BUS_ENV;
use shifter::aws::records::{RETENTION_ENV, TABLE_ENV as RECORDS_ENV};
use shifter::aws::{
    CloudWatchAlarms, DynamoDbRecords, EventBridgeEvents, LambdaAdapter, StepFunctionsExecutions,
};
use watch::{Ports, WatchEvent, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    // The variables the function reads, at start-up: the registry table, the event bus, the
    // records table and how long it keeps a record.
    let table = shifter::aws::env::required(TABLE_ENV)?;
    let records_table = shifter::aws::env::required(RECORDS_ENV)?;
    let retention: u32 = shifter::aws::env::required(RETENTION_ENV)?
        .parse()
        .map_err(|e| format!("{RETENTION_ENV}: not a number of days: {e}"))?;
    let aws = shifter::aws::load_lambda_config()?;
    let registry = DynamoDbRegistry::from_config(&aws, table);
    let alarms = CloudWatchAlarms::from_config(&aws);
    alarms.warm().await;
    let tasks = StepFunctionsExecutions::from_config(&aws);
    let router = LambdaAdapter::from_config(&aws);
    router.warm().await;
    let events = EventBridgeEvents::from_config(&aws, shifter::aws::env::required(BUS_ENV)?);
    let records = DynamoDbRecords::from_config(&aws, records_table, retention);
    let ports = Ports {
        registry: &registry,
        alarms: &alarms,
        tasks: &tasks,
        router: &router,
        events: &events,
        records: &records,
    };
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Value>| async {
        let outcome = handle(&ports, WatchEvent::from_json(ev.payload)?).await?;
        // Embedded metric format: CloudWatch Logs turns each line into metrics.
        for line in &outcome.metrics {
            println!("{line}");
        }
        Ok::<_, Error>(outcome)
    }))
    .await
}
