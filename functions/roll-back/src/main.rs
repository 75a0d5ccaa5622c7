//! Roll Back Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use roll_back::roll_back;
use shifter::aws::LambdaAdapter;
use shifter::domain::Deployment;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let aws = shifter::aws::load_config().await;
    let router = LambdaAdapter::from_config(&aws);
    router.warm().await;
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Deployment>| {
        roll_back(&router, ev.payload)
    }))
    .await
}
