//! `AlarmReader` over CloudWatch DescribeAlarms.

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use tracing::warn;

use super::errors::AwsFailure;
use crate::error::ShifterError;
use crate::ports::{AlarmReader, AlarmState};

/// DescribeAlarms accepts at most this many names in one call.
pub const MAX_ALARM_NAMES: usize = 100;

/// The IAM actions of the CloudWatch API calls this adapter makes, by the method that makes them
/// (see `lambda::OPERATIONS`).
pub const OPERATIONS: &[(&str, &[&str])] = &[
    ("warm", &["cloudwatch:DescribeAlarms"]),
    ("alarm_states", &["cloudwatch:DescribeAlarms"]),
];

/// Alarm states through `aws-sdk-cloudwatch`: metric and composite alarms, every page of one
/// DescribeAlarms call for up to 100 names.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: Client,
}

impl CloudWatchAlarms {
    /// An adapter with its own client, from the shared configuration ([`super::load_lambda_config`] in a function).
    pub fn from_config(config: &aws_config::SdkConfig) -> CloudWatchAlarms {
        CloudWatchAlarms::new(Client::new(config))
    }

    /// Wraps an existing client (an emulator's, or a mock).
    pub fn new(client: Client) -> CloudWatchAlarms {
        CloudWatchAlarms { client }
    }

    /// Opens the HTTPS connection during init with one cheap call; a failure is only logged.
    pub async fn warm(&self) {
        if let Err(e) = self.client.describe_alarms().max_records(1).send().await {
            let failure = AwsFailure::new("DescribeAlarms", e);
            warn!(error = %failure.detail(), "warming the CloudWatch connection failed");
        }
    }
}

fn state(name: &str, value: Option<&StateValue>) -> AlarmState {
    match value {
        Some(StateValue::Ok) => AlarmState::Ok,
        Some(StateValue::Alarm) => AlarmState::Alarm,
        Some(StateValue::InsufficientData) => AlarmState::InsufficientData,
        other => {
            warn!(alarm = %name, state = ?other, "unknown alarm state, treated as INSUFFICIENT_DATA");
            AlarmState::InsufficientData
        }
    }
}

#[async_trait]
impl AlarmReader for CloudWatchAlarms {
    async fn alarm_states(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, AlarmState)>, ShifterError> {
        if names.len() > MAX_ALARM_NAMES {
            return Err(ShifterError::invalid(
                "AlarmNames",
                format!(
                    "DescribeAlarms takes at most {MAX_ALARM_NAMES} names, got {}",
                    names.len()
                ),
            ));
        }
        // No names would describe every alarm in the account.
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut pages = self
            .client
            .describe_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .into_paginator()
            .send();
        let mut found: Vec<(String, AlarmState)> = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsFailure::new("DescribeAlarms", e).into_error(|m| format!("alarms ({m})"))
            })?;
            let metric = page
                .metric_alarms()
                .iter()
                .filter_map(|a| Some((a.alarm_name()?, a.state_value())));
            let composite = page
                .composite_alarms()
                .iter()
                .filter_map(|a| Some((a.alarm_name()?, a.state_value())));
            for (name, value) in metric.chain(composite) {
                found.push((name.to_owned(), state(name, value)));
            }
        }
        // In the order asked, each once, and only what was asked.
        let mut states = Vec::with_capacity(found.len());
        for name in names {
            if states.iter().any(|(n, _): &(String, AlarmState)| n == name) {
                continue;
            }
            if let Some(hit) = found.iter().find(|(n, _)| n == name) {
                states.push(hit.clone());
            }
        }
        Ok(states)
    }
}
