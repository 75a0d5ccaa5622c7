//! The events that answer a plan's park, forwarded to the home region's bus by each target
//! region's rules (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html>):
//! a child's end answers it with success, an alarm of a launched wave into ALARM fails it.

use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::text::cut_chars;
use shifter::ports::{TokenAnswer, alarm_arn};
use tracing::{info, warn};

use super::Ports;

/// The `detail-type` of an execution's status change
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html>).
pub const EXECUTION_STATUS_CHANGE: &str = "Step Functions Execution Status Change";
/// The `detail-type` of an alarm's state change
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html>).
pub const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";
/// The statuses an execution ends in.
const ENDED: [&str; 4] = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// What one event did: the plans it answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Answered {
    /// The plans whose park took the answer.
    pub plans: Vec<String>,
}

/// Handles one forwarded event; anything else (a RUNNING status, an alarm back to OK, an event
/// nobody watches) answers nothing.
pub async fn on_event(ports: &Ports<'_>, event: &Value) -> Result<Answered, ShifterError> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let detail = &event["detail"];
    match event["detail-type"].as_str() {
        Some(EXECUTION_STATUS_CHANGE) => {
            let status = text(&detail["status"]);
            if !ENDED.contains(&status.as_str()) {
                return Ok(Answered::default());
            }
            let arn = text(&detail["executionArn"]);
            let output = json!({"ended": arn, "status": status});
            tell(ports, &arn, Ok(output)).await
        }
        Some(ALARM_STATE_CHANGE) => {
            if detail["state"]["value"].as_str() != Some("ALARM") {
                return Ok(Answered::default());
            }
            let name = text(&detail["alarmName"]);
            let (region, account) = (text(&event["region"]), text(&event["account"]));
            let arn = event["resources"][0]
                .as_str()
                .map_or_else(|| alarm_arn(&region, &account, &name), str::to_owned);
            let reason = cut_chars(detail["state"]["reason"].as_str().unwrap_or(""), 300);
            let at = text(&event["time"]);
            let cause =
                format!("alarm {name} in {region} ({account}) went into ALARM at {at}: {reason}");
            tell(ports, &arn, Err(cause)).await
        }
        _ => Ok(Answered::default()),
    }
}

/// Answers every plan watching `key`, then forgets its watch.
async fn tell(
    ports: &Ports<'_>,
    key: &str,
    answer: Result<Value, String>,
) -> Result<Answered, ShifterError> {
    let mut answered = Answered::default();
    for watch in ports.watches.watchers(key).await? {
        let sent = match &answer {
            Ok(output) => {
                ports
                    .tasks
                    .send_task_success(&watch.task_token, output)
                    .await?
            }
            Err(cause) => {
                ports
                    .tasks
                    .send_task_failure(&watch.task_token, "AlarmTriggered", cause)
                    .await?
            }
        };
        ports
            .watches
            .forget(&watch.plan_id, &watch.task_token)
            .await?;
        match sent {
            TokenAnswer::Delivered => {
                info!(plan = %watch.plan_id, key, "plan told");
                answered.plans.push(watch.plan_id);
            }
            TokenAnswer::Stale => {
                warn!(plan = %watch.plan_id, key, "the plan's token was no longer waiting")
            }
        }
    }
    Ok(answered)
}

/// An operator aborts plan `plan_id` (`shifter abort` on its execution): its parked task fails
/// with `Aborted`, which Judge Waves turns into the global abort. False when the plan is not
/// parked right now (its tasks take milliseconds: try again).
pub async fn abort_plan(
    ports: &Ports<'_>,
    plan_id: &str,
    reason: &str,
) -> Result<bool, ShifterError> {
    let Some(watch) = ports.watches.watch_of(plan_id).await? else {
        return Ok(false);
    };
    let cause = format!("aborted by an operator: {reason}");
    let sent = ports
        .tasks
        .send_task_failure(&watch.task_token, "Aborted", &cause)
        .await?;
    ports
        .watches
        .forget(&watch.plan_id, &watch.task_token)
        .await?;
    Ok(sent == TokenAnswer::Delivered)
}
