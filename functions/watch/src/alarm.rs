//! An alarm that went into ALARM: the parked task of every deployment watching it fails, or the
//! alarm is noted for the deployment's next park. See
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html>.

use aws_lambda_events::cloudwatch_alarms::CloudWatchAlarmStateValue;
use shifter::ShifterError;
use shifter::domain::ErrorKind;
use shifter::ports::{ActiveDeployment, ParkedTask, TokenAnswer};
use tracing::{info, warn};

use crate::{ALARM_STATE_CHANGE, AlarmChange, CHASES, CLOUDWATCH_SOURCE, Outcome, Ports};

/// Fails the parked task of every deployment watching the alarm, or notes the alarm for its
/// next park. An error reaching one deployment does not stop the others; the first is returned
/// so Lambda retries the event (a retry finds answered tokens stale and is harmless).
pub async fn alarm_changed(
    ports: &Ports<'_>,
    change: AlarmChange,
) -> Result<Outcome, ShifterError> {
    let detail = &change.detail;
    let into_alarm = detail
        .state
        .as_ref()
        .is_some_and(|s| s.value == CloudWatchAlarmStateValue::Alarm);
    if change.source != CLOUDWATCH_SOURCE || change.detail_type != ALARM_STATE_CHANGE || !into_alarm
    {
        return Ok(Outcome {
            ignored: true,
            ..Outcome::default()
        });
    }
    let alarm = &detail.alarm_name;
    let reason = detail.state.as_ref().map_or("", |s| s.reason.as_str());
    let since = detail.state.as_ref().map(|s| s.timestamp);
    let mut outcome = Outcome::default();
    let mut first_error = None;
    for (deployment, parked) in ports.registry.watching(alarm).await? {
        let fired = Fired {
            alarm,
            reason,
            since,
            deployment: &deployment,
        };
        if let Err(e) = fired.reach(ports, parked, &mut outcome).await {
            warn!(deployment = %deployment.deployment_id, error = %e, "alarm not passed on");
            first_error.get_or_insert(e);
        }
    }
    info!(%alarm, ?outcome, "alarm event handled");
    first_error.map_or(Ok(outcome), Err)
}

/// One alarm that fired, for one deployment watching it.
struct Fired<'a> {
    alarm: &'a str,
    reason: &'a str,
    /// When the alarm went into ALARM (the state's timestamp): written into the cause, so the
    /// ending can tell the time from the alarm to the restored alias.
    since: Option<chrono::DateTime<chrono::Utc>>,
    deployment: &'a ActiveDeployment,
}

impl Fired<'_> {
    fn cause(&self, task: &ParkedTask) -> String {
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.reason)
        };
        let since = self.since.map_or(String::new(), |at| {
            format!(
                "; {}{}",
                shifter::domain::lifecycle::metrics::ALARM_SINCE,
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        });
        format!(
            "alarm {} went into ALARM{reason} at {}% on version {} (during {}{since})",
            self.alarm, task.traffic_percent, self.deployment.target_version, task.kind
        )
    }

    /// Fails the parked task; when none is parked or its token is stale, notes the alarm — and
    /// when a newer task got parked meanwhile, fails that one instead.
    async fn reach(
        &self,
        ports: &Ports<'_>,
        parked: Option<ParkedTask>,
        outcome: &mut Outcome,
    ) -> Result<(), ShifterError> {
        let d = self.deployment;
        let (mut current, mut answered) = (parked, None::<String>);
        for _ in 0..CHASES {
            if let Some(task) = current.take() {
                let error = ErrorKind::AlarmTriggered.name();
                match ports
                    .tasks
                    .send_task_failure(&task.task_token, error, &self.cause(&task))
                    .await?
                {
                    TokenAnswer::Delivered => {
                        outcome.failed += 1;
                        return Ok(());
                    }
                    TokenAnswer::Stale => {
                        outcome.stale += 1;
                        answered = Some(task.task_token);
                    }
                }
            }
            let newer = ports
                .registry
                .note_alarm(
                    &d.function,
                    &d.alias,
                    &d.deployment_id,
                    self.alarm,
                    answered.as_deref(),
                )
                .await?;
            match newer {
                None => {
                    outcome.noted += 1;
                    return Ok(());
                }
                Some(task) => current = Some(task),
            }
        }
        Ok(())
    }
}
