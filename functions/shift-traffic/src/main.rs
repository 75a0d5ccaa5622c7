//! Shift Traffic Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shift_traffic::{ShiftEvent, shift_traffic};
use shifter::aws::LambdaAdapter;
use shifter::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = shifter::aws::load().await;
    let router = LambdaAdapter::new(aws.lambda);
    router.warm().await;
    lambda_runtime::run(service_fn(|ev: LambdaEvent<ShiftEvent>| {
        shift_traffic(&router, &SystemClock, ev.payload)
    }))
    .await
}
