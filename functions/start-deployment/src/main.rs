//! Start Deployment Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shifter::aws::dynamodb::DynamoDbRegistry;
use shifter::aws::{CloudWatchAlarms, LambdaAdapter, StepFunctionsExecutions};
use shifter::ports::SystemClock;
use start_deployment::{Config, Ports, StartEvent, start_deployment};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let aws = shifter::aws::load_config().await;
    let lambda = LambdaAdapter::from_config(&aws);
    let alarms = CloudWatchAlarms::from_config(&aws);
    tokio::join!(lambda.warm(), alarms.warm());
    let config = Config::from_env();
    let table = std::env::var(shifter::aws::dynamodb::TABLE_ENV)
        .map_err(|_| "SHIFTER_REGISTRY_TABLE: not set (the registry table's name)")?;
    let deployments = DynamoDbRegistry::from_config(&aws, table);
    let executions = StepFunctionsExecutions::from_config(&aws);
    let ports = Ports {
        router: &lambda,
        registry: &lambda,
        alarms: &alarms,
        clock: &SystemClock,
        deployments: &deployments,
        executions: &executions,
        concurrency: &lambda,
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(|ev: LambdaEvent<StartEvent>| {
        let config = config.at(&ev.context.invoked_function_arn);
        async move { start_deployment(ports, &config, ev.payload).await }
    }))
    .await
}
