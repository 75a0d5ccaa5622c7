//! Check Health: reads every watched alarm in one call, judges hook results, and decides
//! bake / shift / promote / rollback with the length of the next Wait.

use shifter::ShifterError;
use shifter::domain::Deployment;
use shifter::ports::{AlarmReader, Clock, alarm_report};
use tracing::info;

/// Decides what the deployment does next.
pub async fn check_health(
    alarms: &dyn AlarmReader,
    clock: &dyn Clock,
    deployment: Deployment,
) -> Result<Deployment, ShifterError> {
    let report = if deployment.needs_alarm_check() {
        let states = alarms.alarm_states(&deployment.alarms).await?;
        Some(alarm_report(&deployment.alarms, &states))
    } else {
        None
    };
    let next = deployment.checked(clock.now(), report.as_ref())?;
    info!(decision = ?next.decision, traffic = %next.traffic, wait = next.wait_seconds, "health checked");
    Ok(next)
}
