//! Check Health: reads every watched alarm in one call, judges hook results and the canary
//! analysis (every alias of a release train, the worst one judged), and decides bake / shift / promote / rollback with the length of the next park.

use chrono::{DateTime, Utc};
use shifter::ShifterError;
use shifter::domain::analysis::{Judgement, VersionFigures, judge};
use shifter::domain::lifecycle::metrics::approval_lines;
use shifter::domain::provisioned::ConcurrencyConfig;
use shifter::domain::{AlarmReport, Decision, Deployment, Member};
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
        let (member, new, old) = worst_figures(metrics, &deployment, from, to).await?;
        deployment = deployment.analysed(now, &member, new, old);
        if deployment.decision == Decision::Rollback {
            info!(alias = %member.label(), new = ?new, old = ?old, "canary analysis failed");
            return Ok(deployment);
        }
    }
    let report = read_alarms(alarms, &deployment).await?;
    let next = deployment.checked(now, report.as_ref())?;
    info!(decision = ?next.decision, traffic = %next.progress.traffic, wait = next.progress.wait_seconds, "health checked");
    Ok(next)
}

/// [`check_health`], and the embedded metric format lines of an approval gate it closed (answered
/// or timed out: the seconds it waited for people, [`approval_lines`]); main prints them.
pub async fn check_health_told(
    alarms: &dyn AlarmReader,
    metrics: &dyn VersionMetrics,
    concurrency: &dyn ConcurrencyReader,
    clock: &dyn Clock,
    deployment: Deployment,
) -> Result<(Deployment, Vec<String>), ShifterError> {
    let opened = deployment.gate.opened_at;
    let next = check_health(alarms, metrics, concurrency, clock, deployment).await?;
    let lines = approval_lines(&next, opened, next.gate.opened_at, clock.now());
    Ok((next, lines))
}

/// Every watched alarm in one DescribeAlarms call, when this decision reads them.
async fn read_alarms(
    alarms: &dyn AlarmReader,
    deployment: &Deployment,
) -> Result<Option<AlarmReport>, ShifterError> {
    if !deployment.needs_alarm_check() {
        return Ok(None);
    }
    let states = alarms.alarm_states(&deployment.watch.alarms).await?;
    Ok(Some(alarm_report(&deployment.watch.alarms, &states)))
}

/// Each alias's figures (both versions in one GetMetricData call per alias), and the alias
/// judged worst: a failure before too little traffic before healthy, the lead on a tie.
async fn worst_figures(
    metrics: &dyn VersionMetrics,
    deployment: &Deployment,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Member, VersionFigures, VersionFigures), ShifterError> {
    let (lead, others) = deployment.members.split();
    let mut worst = ranked(metrics, deployment, lead, from, to).await?;
    for member in others {
        let figures = ranked(metrics, deployment, member, from, to).await?;
        if figures.0 > worst.0 {
            worst = figures;
        }
    }
    let (_, member, new, old) = worst;
    Ok((member, new, old))
}

/// One alias's figures, ranked by how bad their judgement is (2 failed, 1 too little traffic).
async fn ranked(
    metrics: &dyn VersionMetrics,
    deployment: &Deployment,
    member: &Member,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(u8, Member, VersionFigures, VersionFigures), ShifterError> {
    let versions = [
        member.target_version.clone(),
        member.original_version.clone(),
    ];
    let figures = metrics
        .version_figures(&member.function_name, &member.alias, &versions, from, to)
        .await?;
    let (new, old) = (figures[0], figures[1]);
    let rank = match deployment
        .analysis
        .as_ref()
        .map(|a| judge(&a.config, new, old))
    {
        Some(Judgement::Failed(_)) => 2,
        Some(Judgement::TooLittleTraffic { .. }) => 1,
        Some(Judgement::Healthy) | None => 0,
    };
    Ok((rank, member.clone(), new, old))
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
    let report = read_alarms(alarms, &deployment).await?;
    let config = match report.as_ref().and_then(|r| deployment.alarm_problem(r)) {
        Some(_) => None,
        None => read_concurrency(concurrency, &deployment).await?,
    };
    let next = deployment.allocation_checked(clock.now(), report.as_ref(), config.as_ref())?;
    info!(
        decision = ?next.decision,
        traffic = %next.progress.traffic,
        status = ?config.as_ref().map(|c| c.status),
        wait = next.progress.wait_seconds,
        "provisioned concurrency checked"
    );
    Ok(next)
}

/// The provisioned concurrency to judge ([`Deployment::concurrency_to_judge`]). An alias whose
/// config is gone has nothing left to wait for.
async fn read_concurrency(
    concurrency: &dyn ConcurrencyReader,
    deployment: &Deployment,
) -> Result<Option<ConcurrencyConfig>, ShifterError> {
    let mut read = Vec::new();
    for member in deployment.provisioned_members() {
        if let Some(config) = concurrency
            .provisioned_concurrency(&member.function_name, &member.alias)
            .await?
        {
            read.push((member.label(), config));
        }
    }
    Ok(deployment.concurrency_to_judge(read))
}
