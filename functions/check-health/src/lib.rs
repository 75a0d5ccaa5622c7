//! Check Health: reads every watched alarm in one call, judges hook results and the canary
//! analysis, and decides bake / shift / promote / rollback with the length of the next park.

use shifter::ShifterError;
use shifter::domain::{Decision, Deployment};
use shifter::ports::{AlarmReader, Clock, VersionMetrics, alarm_report};
use tracing::info;

/// Decides what the deployment does next. When a canary analysis is due, both versions'
/// figures are read in one GetMetricData call first; a broken limit rolls back without
/// reading the alarms.
pub async fn check_health(
    alarms: &dyn AlarmReader,
    metrics: &dyn VersionMetrics,
    clock: &dyn Clock,
    deployment: Deployment,
) -> Result<Deployment, ShifterError> {
    let now = clock.now();
    let mut deployment = deployment;
    if let Some((from, to)) = deployment.analysis_due(now) {
        let versions = [
            deployment.target_version.clone(),
            deployment.original_version.clone(),
        ];
        let figures = metrics
            .version_figures(
                &deployment.function_name,
                &deployment.alias,
                &versions,
                from,
                to,
            )
            .await?;
        let (new, old) = (figures[0], figures[1]);
        deployment = deployment.analysed(now, new, old);
        if deployment.decision == Decision::Rollback {
            info!(new = ?new, old = ?old, "canary analysis failed");
            return Ok(deployment);
        }
    }
    let report = if deployment.needs_alarm_check() {
        let states = alarms.alarm_states(&deployment.alarms).await?;
        Some(alarm_report(&deployment.alarms, &states))
    } else {
        None
    };
    let next = deployment.checked(now, report.as_ref())?;
    info!(decision = ?next.decision, traffic = %next.traffic, wait = next.wait_seconds, "health checked");
    Ok(next)
}
