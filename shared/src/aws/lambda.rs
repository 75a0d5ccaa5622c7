//! `AliasRouter` and `FunctionRegistry` over the Lambda API.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use tracing::warn;

use super::errors::{AwsFailure, FailureKind};
use crate::domain::alias::function_short_name;
use crate::domain::provisioned::{AllocationStatus, ConcurrencyConfig};
use crate::domain::{AdditionalVersion, AliasRoute, AliasState, Weight};
use crate::error::ShifterError;
use crate::ports::{
    AliasRouter, ConcurrencyReader, FunctionRegistry, HookAnswer, HookInvoker, VersionInfo,
};

/// The IAM actions of the Lambda API calls this adapter makes, by the method that makes them.
/// A test (cli/tests/cli/iam.rs) checks each method's `client.<operation>(` calls in this file
/// against this list, and each function's policy in template.yaml against the methods its code
/// calls on the adapters its `main.rs` builds.
pub const OPERATIONS: &[(&str, &[&str])] = &[
    ("warm", &["lambda:GetAccountSettings"]),
    ("get_alias", &["lambda:GetAlias"]),
    ("update_alias", &["lambda:UpdateAlias"]),
    ("function_exists", &["lambda:GetFunction"]),
    ("version", &["lambda:GetFunctionConfiguration"]),
    (
        "latest_published_version",
        &["lambda:ListVersionsByFunction"],
    ),
    (
        "publish_version",
        &["lambda:GetFunctionConfiguration", "lambda:PublishVersion"],
    ),
    ("invoke_hook", &["lambda:InvokeFunction"]),
    (
        "provisioned_concurrency",
        &["lambda:GetProvisionedConcurrencyConfig"],
    ),
];

/// Lambda aliases, versions and functions through `aws-sdk-lambda`. Every alias write carries
/// the RevisionId it expects and always sends a RoutingConfig (an empty map clears routing).
#[derive(Debug, Clone)]
pub struct LambdaAdapter {
    client: Client,
}

impl LambdaAdapter {
    /// An adapter with its own client, from the shared configuration ([`super::load_lambda_config`] in a function).
    pub fn from_config(config: &aws_config::SdkConfig) -> LambdaAdapter {
        LambdaAdapter::new(Client::new(config))
    }

    /// Wraps an existing client (an emulator's, or a mock).
    pub fn new(client: Client) -> LambdaAdapter {
        LambdaAdapter { client }
    }

    /// Opens the HTTPS connection during init with one cheap call; a failure is only logged.
    pub async fn warm(&self) {
        if let Err(e) = self.client.get_account_settings().send().await {
            let failure = AwsFailure::new("GetAccountSettings", e);
            warn!(error = %failure.detail(), "warming the Lambda connection failed");
        }
    }
}

/// What a `ResourceNotFoundException` is about, from the ARN in Lambda's message
/// (`Function not found: arn:aws:lambda:…:function:NAME[:QUALIFIER]`).
fn missing_from_message(message: &str, function: &str, alias: Option<&str>) -> String {
    let name = function_short_name(function);
    let qualifier = message
        .split_whitespace()
        .find(|w| w.starts_with("arn:"))
        .and_then(|arn| arn.split(':').nth(7))
        .map(|q| q.trim_end_matches(['.', ',']));
    let lower = message.to_ascii_lowercase();
    match (alias, qualifier) {
        (Some(a), _) if lower.contains("alias") => format!("alias {a} of function {name}"),
        (Some(a), Some(q)) if q == a => format!("alias {a} of function {name}"),
        (_, Some(q)) if q.bytes().all(|b| b.is_ascii_digit()) => {
            format!("version {q} of function {name}")
        }
        (_, Some(q)) if Some(q) != alias => format!("{q} of function {name}"),
        _ => format!("function {name}"),
    }
}

fn read_route(
    version: Option<&str>,
    routing: Option<&AliasRoutingConfiguration>,
) -> Result<AliasRoute, ShifterError> {
    let version = version.ok_or_else(|| {
        ShifterError::invalid(
            "FunctionVersion",
            "Lambda returned an alias without a version",
        )
    })?;
    let weights = routing.and_then(|r| r.additional_version_weights());
    let additional = match weights.map(|w| w.iter().collect::<Vec<_>>()).as_deref() {
        None | Some([]) => None,
        Some([(v, w)]) => Some(AdditionalVersion {
            version: (*v).clone(),
            weight: Weight::from_fraction(**w).map_err(|e| {
                ShifterError::invalid("RoutingConfig", format!("weight {w} on version {v}: {e}"))
            })?,
        }),
        Some(many) => {
            return Err(ShifterError::invalid(
                "RoutingConfig",
                format!(
                    "alias routes to {} additional versions; Lambda allows one",
                    many.len()
                ),
            ));
        }
    };
    Ok(AliasRoute {
        version: version.to_owned(),
        additional,
    })
}

fn read_state(
    version: Option<&str>,
    routing: Option<&AliasRoutingConfiguration>,
    revision_id: Option<&str>,
) -> Result<AliasState, ShifterError> {
    let route = read_route(version, routing)?;
    let revision_id = revision_id.ok_or_else(|| {
        ShifterError::invalid(
            "RevisionId",
            "Lambda returned an alias without a RevisionId; writes must be conditional on one",
        )
    })?;
    Ok(AliasState {
        route,
        revision_id: revision_id.to_owned(),
    })
}

/// The routing config that makes the alias route exactly `route`: one weight, or an empty map.
fn routing_config(route: &AliasRoute) -> AliasRoutingConfiguration {
    let weights: HashMap<String, f64> = route
        .additional
        .iter()
        .map(|a| (a.version.clone(), a.weight.as_fraction()))
        .collect();
    AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some(weights))
        .build()
}

#[async_trait]
impl AliasRouter for LambdaAdapter {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError> {
        let out = self
            .client
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .map_err(|e| {
                AwsFailure::new("GetAlias", e)
                    .into_error(|m| missing_from_message(m, function, Some(alias)))
            })?;
        read_state(
            out.function_version(),
            out.routing_config(),
            out.revision_id(),
        )
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError> {
        let out = self
            .client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(&route.version)
            .routing_config(routing_config(route))
            .revision_id(expected_revision)
            // Sent once: a re-send of a write that landed, its answer lost, would meet the
            // RevisionId it changed and read as drift. `aliases::write_step` judges a lost
            // answer from a read instead (docs/decisions/0011;
            // <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/peroperation.html>).
            .customize()
            .config_override(
                aws_sdk_lambda::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| {
                let failure = AwsFailure::new("UpdateAlias", e);
                if failure.kind == FailureKind::Precondition {
                    return ShifterError::AliasDrift(format!(
                        "alias {alias} of {} is no longer at RevisionId {expected_revision}: someone \
                         else changed it ({})",
                        function_short_name(function),
                        failure.detail()
                    ));
                }
                failure.into_error(|m| missing_from_message(m, function, Some(alias)))
            })?;
        read_state(
            out.function_version(),
            out.routing_config(),
            out.revision_id(),
        )
    }
}

#[async_trait]
impl FunctionRegistry for LambdaAdapter {
    async fn function_exists(&self, function: &str) -> Result<bool, ShifterError> {
        match self
            .client
            .get_function()
            .function_name(function)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let failure = AwsFailure::new("GetFunction", e);
                match failure.kind {
                    FailureKind::NotFound => Ok(false),
                    _ => Err(failure.into_error(|m| missing_from_message(m, function, None))),
                }
            }
        }
    }

    async fn version(
        &self,
        function: &str,
        version: &str,
    ) -> Result<Option<VersionInfo>, ShifterError> {
        let published = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
        if !published {
            // `$LATEST`, aliases and garbage are not published versions.
            return if self.function_exists(function).await? {
                Ok(None)
            } else {
                Err(ShifterError::not_found(format!(
                    "function {}",
                    function_short_name(function)
                )))
            };
        }
        let out = match self
            .client
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let failure = AwsFailure::new("GetFunctionConfiguration", e);
                if failure.kind != FailureKind::NotFound {
                    return Err(failure.into_error(|m| missing_from_message(m, function, None)));
                }
                // Lambda says "Function not found" for a missing version too: ask which.
                return if self.function_exists(function).await? {
                    Ok(None)
                } else {
                    Err(ShifterError::not_found(format!(
                        "function {}",
                        function_short_name(function)
                    )))
                };
            }
        };
        let role = out.role().ok_or_else(|| {
            ShifterError::invalid("Role", format!("version {version} has no execution role"))
        })?;
        Ok(Some(VersionInfo {
            version: out.version().unwrap_or(version).to_owned(),
            role: role.to_owned(),
            dead_letter_target: out
                .dead_letter_config()
                .and_then(|d| d.target_arn())
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        }))
    }

    async fn latest_published_version(
        &self,
        function: &str,
    ) -> Result<Option<String>, ShifterError> {
        let mut pages = self
            .client
            .list_versions_by_function()
            .function_name(function)
            .into_paginator()
            .send();
        let mut latest: Option<u64> = None;
        let mut listed = 0usize;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsFailure::new("ListVersionsByFunction", e)
                    .into_error(|m| missing_from_message(m, function, None))
            })?;
            listed += page.versions().len();
            for v in page.versions() {
                if let Some(n) = v.version().and_then(|v| v.parse::<u64>().ok()) {
                    latest = latest.max(Some(n));
                }
            }
        }
        if listed == 0 {
            // Every existing function lists at least `$LATEST`; moto answers a missing one so.
            return Err(ShifterError::not_found(format!(
                "function {}",
                function_short_name(function)
            )));
        }
        Ok(latest.map(|n| n.to_string()))
    }

    async fn publish_version(&self, function: &str) -> Result<VersionInfo, ShifterError> {
        let missing = |m: &str| missing_from_message(m, function, None);
        // Pin what is published to the code and configuration read here: a concurrent update
        // of $LATEST makes Lambda refuse (412), and Step Functions retries from a fresh read.
        let latest = self
            .client
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| AwsFailure::new("GetFunctionConfiguration", e).into_error(missing))?;
        let published = self
            .client
            .publish_version()
            .function_name(function)
            .set_code_sha256(latest.code_sha256().map(str::to_owned))
            .set_revision_id(latest.revision_id().map(str::to_owned))
            .description("published by Traffic Shifter")
            .send()
            .await
            .map_err(|e| {
                let failure = AwsFailure::new("PublishVersion", e);
                if failure.kind == FailureKind::Precondition {
                    ShifterError::transient(
                        "PublishVersion",
                        format!("$LATEST changed while publishing ({})", failure.detail()),
                    )
                } else {
                    failure.into_error(missing)
                }
            })?;
        let version = published.version().unwrap_or_default().to_owned();
        Ok(VersionInfo {
            version,
            role: published.role().unwrap_or_default().to_owned(),
            dead_letter_target: published
                .dead_letter_config()
                .and_then(|d| d.target_arn())
                .map(str::to_owned),
        })
    }
}

/// GetProvisionedConcurrencyConfig with the alias as qualifier
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_GetProvisionedConcurrencyConfig.html>):
/// `ProvisionedConcurrencyConfigNotFoundException` means the alias has none; a missing function
/// or alias is `NotFound`; an unknown status is refused rather than guessed.
#[async_trait]
impl ConcurrencyReader for LambdaAdapter {
    async fn provisioned_concurrency(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<ConcurrencyConfig>, ShifterError> {
        use aws_sdk_lambda::operation::get_provisioned_concurrency_config::GetProvisionedConcurrencyConfigError as E;
        use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum as S;
        let out = match self
            .client
            .get_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(alias)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                if let Some(E::ProvisionedConcurrencyConfigNotFoundException(_)) =
                    e.as_service_error()
                {
                    return Ok(None);
                }
                return Err(AwsFailure::new("GetProvisionedConcurrencyConfig", e)
                    .into_error(|m| missing_from_message(m, function, Some(alias))));
            }
        };
        let status = match out.status() {
            Some(S::InProgress) => AllocationStatus::InProgress,
            Some(S::Ready) => AllocationStatus::Ready,
            Some(S::Failed) => AllocationStatus::Failed,
            other => {
                return Err(ShifterError::invalid(
                    "Status",
                    format!("GetProvisionedConcurrencyConfig returned status {other:?}"),
                ));
            }
        };
        let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        Ok(Some(ConcurrencyConfig {
            requested: count(out.requested_provisioned_concurrent_executions()),
            available: count(out.available_provisioned_concurrent_executions()),
            allocated: count(out.allocated_provisioned_concurrent_executions()),
            status,
            status_reason: out.status_reason().map(str::to_owned),
        }))
    }
}

/// A hook invoked as Step Functions' `lambda:invoke` would: a function error keeps its
/// `errorType` (`Lambda.Unknown` when it has none, `Sandbox.Timedout` when it ran out of
/// time); Lambda's own refusals are named `Lambda.<code>` as Step Functions names them
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>).
#[async_trait]
impl HookInvoker for LambdaAdapter {
    async fn invoke_hook(
        &self,
        function: &str,
        payload: &serde_json::Value,
    ) -> Result<HookAnswer, ShifterError> {
        let body = serde_json::to_vec(payload)
            .map_err(|e| ShifterError::invalid("payload", e.to_string()))?;
        let out = self
            .client
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(body))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let failure = AwsFailure::new("Invoke", e);
                let code = failure
                    .code
                    .clone()
                    .unwrap_or_else(|| "SdkClientException".into());
                return Ok(HookAnswer::Failed {
                    error_type: format!("Lambda.{code}"),
                    message: failure.message,
                });
            }
        };
        let bytes = out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        if out.function_error().is_none() {
            return Ok(HookAnswer::Returned(bytes));
        }
        let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let message = error["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let error_type = match error["errorType"].as_str() {
            Some(t) if !t.is_empty() => t.to_owned(),
            _ if message.contains("Task timed out") => "Sandbox.Timedout".to_owned(),
            _ => "Lambda.Unknown".to_owned(),
        };
        Ok(HookAnswer::Failed {
            error_type,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_what_is_missing() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function";
        let cases = [
            (
                format!("Function not found: {arn}:orders"),
                None,
                "function orders",
            ),
            (
                format!("Function not found: {arn}:orders:7"),
                None,
                "version 7 of function orders",
            ),
            (
                format!("Function not found: {arn}:orders:live"),
                Some("live"),
                "alias live of function orders",
            ),
            (
                format!("Alias not found: {arn}:orders:live"),
                Some("live"),
                "alias live of function orders",
            ),
            (
                "Cannot find alias arn: x".to_owned(),
                Some("live"),
                "alias live of function orders",
            ),
            (
                "Function not found".to_owned(),
                Some("live"),
                "function orders",
            ),
        ];
        for (message, alias, what) in cases {
            assert_eq!(
                missing_from_message(&message, "orders", alias),
                what,
                "{message}"
            );
        }
    }

    #[test]
    fn routing_is_one_weight_or_an_empty_map() {
        let w = Weight::from_bp(3000).unwrap_or(Weight::ZERO);
        let split = routing_config(&AliasRoute::split("1", "2", w));
        let weights = split
            .additional_version_weights()
            .cloned()
            .unwrap_or_default();
        assert_eq!(weights.get("2").copied(), Some(0.3));
        let single = routing_config(&AliasRoute::single("2"));
        assert_eq!(single.additional_version_weights(), Some(&HashMap::new()));
    }
}
