//! `shifter import --stack NAME`: what only the deployed stack knows — the physical names of
//! its resources (an alarm CloudFormation or a plugin named, a generated function name) and
//! `AWS::StackName` — read with ListStackResources and supplied as `--resolve` values would be.
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html>

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};

use super::found::Overrides;
use crate::error::CliError;

/// A CloudFormation client: the environment's account and region, or an emulator at `endpoint`
/// with the environment's region (else `us-east-1`) and, unless the environment has keys,
/// dummy credentials.
pub async fn client(endpoint: Option<&str>) -> aws_sdk_cloudformation::Client {
    let Some(endpoint) = endpoint else {
        let config = shifter::aws::load_config().await;
        return aws_sdk_cloudformation::Client::new(&config);
    };
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".to_owned());
    let mut config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region));
    // The environment's keys when it has them (a bare config builder reads none), else dummy
    // ones: an emulator checks neither.
    let credentials = match (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Ok(key), Ok(secret)) => {
            let token = std::env::var("AWS_SESSION_TOKEN").ok();
            Credentials::new(key, secret, token, None, "environment")
        }
        _ => Credentials::new("testing", "testing", None, None, "emulator"),
    };
    config = config.credentials_provider(credentials);
    aws_sdk_cloudformation::Client::from_conf(config.build())
}

/// Every resource of `stack` by logical ID, its physical ID as the value (for an alarm, its
/// name; for a function, its name), and `AWS::StackName`.
pub async fn resources(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack: &str,
    where_: &str,
) -> Result<Overrides, CliError> {
    let mut pairs = vec![("AWS::StackName".to_owned(), stack.to_owned())];
    let mut pages = cloudformation
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            CliError::Usage(format!(
                "--stack {stack}: {}",
                crate::error::remote_message(&e, where_)
            ))
        })?;
        for resource in page.stack_resource_summaries() {
            if let (Some(logical), Some(physical)) = (
                resource.logical_resource_id(),
                resource.physical_resource_id(),
            ) {
                pairs.push((logical.to_owned(), physical.to_owned()));
            }
        }
    }
    Ok(Overrides::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackResourceSummary};
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    #[tokio::test]
    async fn every_logical_id_of_the_stack_resolves_to_its_physical_name() {
        let summary = |logical: &str, physical: &str| {
            StackResourceSummary::builder()
                .logical_resource_id(logical)
                .physical_resource_id(physical)
                .resource_type("AWS::CloudWatch::Alarm")
                .resource_status(ResourceStatus::CreateComplete)
                .last_updated_timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
                .build()
        };
        let listed = mock!(aws_sdk_cloudformation::Client::list_stack_resources)
            .match_requests(|r| r.stack_name() == Some("orders-prod"))
            .then_output(move || {
                ListStackResourcesOutput::builder()
                    .stack_resource_summaries(summary(
                        "ApiCanaryErrorsAlarm",
                        "orders-prod-ApiCanaryErrorsAlarm-1X2Y3Z",
                    ))
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudformation, [&listed]);
        let found = resources(&client, "orders-prod", "AWS").await.unwrap();
        assert_eq!(
            found.get("ApiCanaryErrorsAlarm"),
            Some("orders-prod-ApiCanaryErrorsAlarm-1X2Y3Z")
        );
        assert_eq!(found.get("AWS::StackName"), Some("orders-prod"));
    }
}
