//! Check Health Lambda: wires the real adapters to the handler.

use check_health::check_health_told;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shifter::aws::{CloudWatchAlarms, CloudWatchMetrics, LambdaAdapter};
use shifter::domain::Deployment;
use shifter::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let aws = shifter::aws::load_lambda_config()?;
    let alarms = CloudWatchAlarms::from_config(&aws);
    let lambda = LambdaAdapter::from_config(&aws);
    tokio::join!(alarms.warm(), lambda.warm());
    let metrics = CloudWatchMetrics::from_config(&aws);
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Deployment>| async {
        let (next, lines) =
            check_health_told(&alarms, &metrics, &lambda, &SystemClock, ev.payload).await?;
        // Embedded metric format: CloudWatch Logs turns each line into metrics.
        for line in &lines {
            println!("{line}");
        }
        Ok::<_, shifter::ShifterError>(next)
    }))
    .await
}
