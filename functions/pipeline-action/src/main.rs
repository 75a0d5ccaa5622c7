//! Pipeline Action Lambda: wires the real adapters to the handler.

use aws_config::BehaviorVersion;
use aws_lambda_events::codepipeline_job::CodePipelineJobEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use pipeline_action::{Config, Ports, pipeline_action};
use shifter::aws::{AwsClients, CodePipelineJobs, StepFunctionsExecutions};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let aws_config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let executions = StepFunctionsExecutions::new(AwsClients::from_config(&aws_config).sfn);
    let jobs = CodePipelineJobs::from_config(&aws_config);
    let ports = Ports {
        executions: &executions,
        jobs: &jobs,
    };
    lambda_runtime::run(service_fn(|ev: LambdaEvent<CodePipelineJobEvent>| {
        pipeline_action(&ports, &config, ev.payload)
    }))
    .await
}
