//! Roll Back Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use roll_back::roll_back_told;
use shifter::aws::LambdaAdapter;
use shifter::domain::Deployment;
use shifter::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let aws = shifter::aws::load_lambda_config()?;
    let router = LambdaAdapter::from_config(&aws);
    router.warm().await;
    lambda_runtime::run(service_fn(|ev: LambdaEvent<Deployment>| async {
        let (restored, lines) = roll_back_told(&router, &SystemClock, ev.payload).await?;
        // Embedded metric format: CloudWatch Logs turns each line into metrics.
        for line in &lines {
            println!("{line}");
        }
        Ok::<_, shifter::ShifterError>(restored)
    }))
    .await
}
