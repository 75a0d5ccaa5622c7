//! Check Health: reads every watched alarm in one call, judges hook results and the canary
//! analysis, and decides bake / shift / promote / rollback with the length of the next park.

use shifter::ShifterError;
use shifter::domain::{Decision, Deployment};
use shifter::ports::{AlarmReader, Clock, ConcurrencyReader, VersionMetrics, alarm_report};
use tracing::info;

/// Decides what the deployment does next. When a canary analysis is due, both versions'
/// figures are read in one GetMetricData call first; a broken limit rolls back without
/// reading the alarms. While the deployment waits for the alias's provisioned concurrency, the
/// alarms and then the config are read instead (see [`allocation_checked`]).
pub async fn check_health(
    alarms: &dyn AlarmReader,
    metrics: &dyn VersionMetrics,
    concurrency: &dyn ConcurrencyReader,
    clock: &dyn Clock,
    deployment: Deployment,
) -> Result<Deployment, ShifterError> {
    if deployment.decision == Decision::AwaitProvisionedConcurrency {
        return allocation_checked(alarms, concurrency, clock, deployment).await;
    }
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

/// During a wait for READY: reads the watched alarms (an alarm rolls back without reading the
/// config), then the alias's provisioned-concurrency config, and decides: park again, start
/// the bake (READY), or roll back (FAILED, or not READY in time).
async fn allocation_checked(
    alarms: &dyn AlarmReader,
    concurrency: &dyn ConcurrencyReader,
    clock: &dyn Clock,
    deployment: Deployment,
) -> Result<Deployment, ShifterError> {
    let report = if deployment.needs_alarm_check() {
        let states = alarms.alarm_states(&deployment.alarms).await?;
        Some(alarm_report(&deployment.alarms, &states))
    } else {
        None
    };
    let config = match report.as_ref().and_then(|r| deployment.alarm_problem(r)) {
        Some(_) => None,
        None => {
            concurrency
                .provisioned_concurrency(&deployment.function_name, &deployment.alias)
                .await?
        }
    };
    let next = deployment.allocation_checked(clock.now(), report.as_ref(), config.as_ref())?;
    info!(
        decision = ?next.decision,
        traffic = %next.traffic,
        status = ?config.as_ref().map(|c| c.status),
        wait = next.wait_seconds,
        "provisioned concurrency checked"
    );
    Ok(next)
}
