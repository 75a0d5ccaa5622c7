//! Check Health Lambda: wires the real adapters to the handler.

use check_health::check_health;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shifter::aws::CloudWatchAlarms;
use shifter::domain::Deployment;
use shifter::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = shifter::aws::load().await;
    let alarms = CloudWatchAlarms::new(aws.cloudwatch);
    alarms.warm().await;
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Deployment>| {
        check_health(&alarms, &SystemClock, ev.payload)
    }))
    .await
}
