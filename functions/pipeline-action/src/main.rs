//! Pipeline Action Lambda: wires the real adapters to the handler.

use aws_lambda_events::codepipeline_job::CodePipelineJobEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use pipeline_action::{Config, Ports, pipeline_action};
use shifter::aws::{CodePipelineJobs, StepFunctionsExecutions};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shifter::aws::init_logging();
    let config = Config {
        state_machine_arn: shifter::aws::env::required("STATE_MACHINE_ARN")?,
    };
    let aws_config = shifter::aws::load_lambda_config()?;
    let executions = StepFunctionsExecutions::from_config(&aws_config);
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
