//! Run Hook Lambda: wires the real Lambda adapter to the handler. A hook's failure keeps its
//! error name (the Lambda runtime's `errorType`), so Retry and Catch see the hook's own.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use run_hook::{RunHookEvent, run_hook};
use shifter::aws::LambdaAdapter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shifter::aws::init_logging();
    let aws = shifter::aws::load_lambda_config()?;
    let lambda = LambdaAdapter::from_config(&aws);
    lambda.warm().await;
    let lambda = &lambda;
    lambda_runtime::run(service_fn(|ev: LambdaEvent<RunHookEvent>| async move {
        run_hook(lambda, ev.payload).await.map_err(|f| Diagnostic {
            error_type: f.error_type,
            error_message: f.message,
        })
    }))
    .await
}
