//! The ports of a wave plan: the plan's watch in its home region (who to tell when a child
//! ends or an alarm of a launched wave fires), and the target accounts it deploys into.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AlarmReader, AliasRouter, Executions};
use crate::error::ShifterError;

/// A plan's parked task and what answers it: its running children's execution ARNs and the
/// ARNs of every alarm of its launched waves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveWatch {
    /// The plan's execution name.
    pub plan_id: String,
    /// The plan's execution ARN.
    pub plan_arn: String,
    /// The parked Watch Waves task's token.
    pub task_token: String,
    /// What answers it: child execution ARNs (their end) and alarm ARNs (into ALARM).
    pub keys: Vec<String>,
    /// When the entry may be forgotten (the park's timeout).
    pub expires_at: DateTime<Utc>,
}

/// The ARN CloudWatch gives alarm `name` in `region` of `account`, the key its events carry in
/// `resources` (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html>).
pub fn alarm_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}

/// The home region's record of parked plans (a table of the home stack).
#[async_trait]
pub trait WaveWatches: Send + Sync {
    /// Records `watch`, replacing the plan's earlier one.
    async fn watch(&self, watch: &WaveWatch) -> Result<(), ShifterError>;
    /// The live watches answered by `key` (a child execution ARN or an alarm ARN).
    async fn watchers(&self, key: &str) -> Result<Vec<WaveWatch>, ShifterError>;
    /// The plan's live watch, if it is parked (`shifter abort` on the plan).
    async fn watch_of(&self, plan_id: &str) -> Result<Option<WaveWatch>, ShifterError>;
    /// Forgets the plan's watch; a no-op when there is none, or when its token is not `token`.
    async fn forget(&self, plan_id: &str, token: &str) -> Result<(), ShifterError>;
}

/// The target accounts: each (region, account) seen through the role the plan assumes there.
#[async_trait]
pub trait TargetAccounts: Send + Sync {
    /// The per-region deployment state machine's executions there.
    async fn executions(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn Executions>, ShifterError>;
    /// The aliases there.
    async fn router(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn AliasRouter>, ShifterError>;
    /// The alarms there.
    async fn alarms(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn AlarmReader>, ShifterError>;
    /// The ARN of the deployment state machine there.
    fn state_machine_arn(&self, region: &str, account: &str) -> String;
}
