//! Shift Traffic Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shift_traffic::{ShiftEvent, shift_traffic};
use shifter::aws::LambdaAdapter;
use shifter::aws::dynamodb::{DynamoDbRegistry, TABLE_ENV};
use shifter::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    // The one variable the function reads, at start-up: the registry table, where each write
    // is noted before it is sent.
    let table = shifter::aws::env::required(TABLE_ENV)?;
    let aws = shifter::aws::load_lambda_config()?;
    let router = LambdaAdapter::from_config(&aws);
    router.warm().await;
    let registry = DynamoDbRegistry::from_config(&aws, table);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<ShiftEvent>| {
        shift_traffic(&router, &registry, &SystemClock, ev.payload)
    }))
    .await
}
