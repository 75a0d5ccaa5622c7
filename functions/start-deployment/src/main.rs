//! Start Deployment Lambda: wires the real adapters to the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shifter::aws::dynamodb::{DynamoDbRegistry, TABLE_ENV};
use shifter::aws::env::{self, MissingVariable};
use shifter::aws::{CloudWatchAlarms, LambdaAdapter, StepFunctionsExecutions};
use shifter::domain::ManagedSet;
use shifter::ports::SystemClock;
use start_deployment::{Config, Ports, StartEvent, start_deployment};

/// What the function reads from its environment, once at start-up.
struct Environment {
    /// The registry table (`SHIFTER_REGISTRY_TABLE`).
    table: String,
    /// Functions this stack may deploy (`MANAGED_FUNCTIONS`; unset manages nothing).
    config: Config,
}

impl Environment {
    fn read() -> Result<Environment, MissingVariable> {
        Ok(Environment {
            table: env::required(TABLE_ENV)?,
            config: Config {
                managed: ManagedSet::parse(&env::optional("MANAGED_FUNCTIONS").unwrap_or_default()),
            },
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let Environment { table, config } = Environment::read()?;
    let aws = shifter::aws::load_lambda_config()?;
    let lambda = LambdaAdapter::from_config(&aws);
    let alarms = CloudWatchAlarms::from_config(&aws);
    tokio::join!(lambda.warm(), alarms.warm());
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
