//! Shift Traffic Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shift_traffic::{ShiftEvent, shift_traffic};
use shifter::aws::LambdaAdapter;
use shifter::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let aws = shifter::aws::load_config().await;
    let router = LambdaAdapter::from_config(&aws);
    router.warm().await;
    lambda_runtime::run(service_fn(|ev: LambdaEvent<ShiftEvent>| {
        shift_traffic(&router, &SystemClock, ev.payload)
    }))
    .await
}
