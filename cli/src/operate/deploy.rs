//! `shifter deploy`: validate an execution input locally, then start it on Step Functions.

use std::path::PathBuf;

use chrono::Utc;
use shifter::domain::DeploymentRequest;
use shifter::ports::Executions;

use crate::error::CliError;
use crate::input;

/// Arguments of `shifter deploy`.
#[derive(clap::Args)]
pub struct DeployArgs {
    /// The execution input (JSON); validated locally before anything reaches AWS.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// The deployment state machine's ARN.
    #[arg(
        long,
        value_name = "ARN",
        required_unless_present = "stack",
        conflicts_with = "stack"
    )]
    state_machine: Option<String>,
    /// The Traffic Shifter stack: its `StateMachineArn` output names the state machine.
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// Follow the execution until it ends (as `shifter watch`).
    #[arg(long)]
    watch: bool,
}

impl DeployArgs {
    /// `--stack`, when the state machine is to be found from the stack's outputs.
    pub fn stack(&self) -> Option<&str> {
        self.stack.as_deref()
    }

    /// `--watch`.
    pub fn watch_requested(&self) -> bool {
        self.watch
    }
}

/// The `StateMachineArn` output of a Traffic Shifter stack, from DescribeStacks.
pub async fn state_machine_of_stack(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<String, CliError> {
    stack_output(cloudformation, stack, "StateMachineArn").await
}

/// The output `key` of a Traffic Shifter stack, from DescribeStacks; errors name `--stack`.
pub async fn stack_output(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack: &str,
    key: &str,
) -> Result<String, CliError> {
    let described = cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            CliError::Usage(format!(
                "--stack {stack}: {}",
                crate::error::remote_message(&e, &crate::error::aws_endpoint())
            ))
        })?;
    described
        .stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--stack {stack}: the stack has no {key} output; is it a Traffic Shifter stack?"
            ))
        })
}

/// Validates the input locally, starts the execution and prints where to follow it.
pub async fn deploy(
    executions: &dyn Executions,
    args: &DeployArgs,
    resolved_state_machine: Option<&str>,
) -> Result<String, CliError> {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok();
    let input = with_started_by(input::read_json(&args.input)?, user.as_deref());
    DeploymentRequest::from_json(&input)
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.input.display())))?;
    let state_machine = resolved_state_machine
        .or(args.state_machine.as_deref())
        .ok_or_else(|| CliError::Usage("give --state-machine ARN or --stack NAME".into()))?;
    let name = execution_name(Utc::now());
    let arn = executions
        .start_execution(state_machine, &name, &input)
        .await?;
    let region = arn.split(':').nth(3).unwrap_or("us-east-1");
    say!("Started {arn}");
    // After the start: a refusal stays one line; an accepted input's idle settings are named.
    crate::output::warn_idle(&input, &[]);
    say!(
        "Console: https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"
    );
    Ok(arn)
}

/// The input with `startedBy` (who started it, for its record: docs/history.md) set to
/// `shifter deploy by <user>` when the input does not say.
fn with_started_by(mut input: serde_json::Value, user: Option<&str>) -> serde_json::Value {
    if let Some(object) = input.as_object_mut()
        && !object.contains_key("startedBy")
    {
        let by = match user.map(str::trim).filter(|u| !u.is_empty()) {
            Some(user) => format!("shifter deploy by {user}"),
            None => "shifter deploy".to_owned(),
        };
        let max = shifter::domain::request::MAX_STARTED_BY_CHARS;
        let by = shifter::domain::text::cut_chars(&by, max);
        object.insert("startedBy".into(), serde_json::Value::String(by));
    }
    input
}

/// A name no other `deploy` picks, even in the same second: the time to the nanosecond, this
/// process's id and a per-process counter. Step Functions refuses a second execution with the
/// same name and a different input (`ExecutionAlreadyExists`); names are at most 80 characters of
/// letters, digits, `-` and `_`: <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>
fn execution_name(now: chrono::DateTime<Utc>) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "shifter-{}-{}-{n}",
        now.format("%Y%m%dT%H%M%S%9f"),
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_deploys_in_the_same_instant_get_different_valid_names() {
        let now = chrono::Utc::now();
        let (a, b) = (super::execution_name(now), super::execution_name(now));
        assert_ne!(a, b);
        for name in [a, b] {
            assert!(name.len() <= 80, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn deploy_says_who_started_it_unless_the_input_does() {
        use serde_json::json;
        let said = super::with_started_by(json!({"alias": "live"}), Some("ana"));
        assert_eq!(said["startedBy"], "shifter deploy by ana");
        let anonymous = super::with_started_by(json!({}), None);
        assert_eq!(anonymous["startedBy"], "shifter deploy");
        let own = super::with_started_by(json!({"startedBy": "release bot"}), Some("ana"));
        assert_eq!(own["startedBy"], "release bot");
        let long = super::with_started_by(json!({}), Some(&"x".repeat(500)));
        let text = long["startedBy"].as_str().unwrap();
        assert!(text.chars().count() <= 200, "{text}");
        // What deploy sends is still a valid input.
        let input = json!({"functionName": "f", "alias": "live", "targetVersion": "2",
            "strategy": "AllAtOnce"});
        let sent = super::with_started_by(input, Some(&"x".repeat(500)));
        assert!(shifter::domain::DeploymentRequest::from_json(&sent).is_ok());
    }

    use std::sync::Arc;

    use shifter::fakes::{FakeExecutions, ManualClock};

    use super::*;

    #[tokio::test]
    async fn deploy_refuses_bad_input_before_aws() {
        let dir = std::env::temp_dir().join(format!("shifter-deploy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"functionName":"f","alias":"live","targetVersion":"2","strategy":"AllAtOnce","approvalTimeoutSeconds":0}"#).unwrap();
        let fake = FakeExecutions::new(Arc::new(ManualClock::at_epoch()));
        let args = DeployArgs {
            input: bad,
            state_machine: Some("arn:aws:states:us-east-1:1:stateMachine:d".into()),
            stack: None,
            watch: false,
        };
        let error = deploy(&fake, &args, None).await.unwrap_err();
        assert!(
            error.to_string().contains("approvalTimeoutSeconds"),
            "{error}"
        );
        assert_eq!(fake.started(), 0);
    }

    #[tokio::test]
    async fn stack_outputs_name_the_state_machine() {
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
        use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
        use aws_smithy_mocks::{mock, mock_client};

        let stack = |outputs: Vec<Output>| {
            Stack::builder()
                .stack_name("traffic-shifter")
                .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
                .stack_status(StackStatus::CreateComplete)
                .set_outputs(Some(outputs))
                .build()
        };
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:deployment";
        let found = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("traffic-shifter"))
            .then_output(move || {
                DescribeStacksOutput::builder()
                    .stacks(stack(vec![
                        Output::builder()
                            .output_key("StartCommand")
                            .output_value("aws …")
                            .build(),
                        Output::builder()
                            .output_key("StateMachineArn")
                            .output_value(arn)
                            .build(),
                    ]))
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudformation, [&found]);
        assert_eq!(
            state_machine_of_stack(&client, "traffic-shifter")
                .await
                .unwrap(),
            arn
        );

        let other = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(move || {
            DescribeStacksOutput::builder()
                .stacks(stack(vec![]))
                .build()
        });
        let client = mock_client!(aws_sdk_cloudformation, [&other]);
        let error = state_machine_of_stack(&client, "web").await.unwrap_err();
        assert!(
            error.to_string().contains("no StateMachineArn output"),
            "{error}"
        );
    }
}
