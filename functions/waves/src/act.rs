//! The state machine's actions after Start Waves: launch, watch, judge and abort.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::aliases::{Undone, undo_stranded};
use shifter::domain::waves::run::{STOPPED_LOOKS, worst_duration_seconds};
use shifter::domain::waves::{
    ChildSeen, TargetRun, TargetStatus, WavePlan, WavesDecision, WavesRun,
};
use shifter::domain::{AliasRoute, Deployment, DeploymentRequest, LastWrite};
use shifter::ports::{AlarmState, ExecutionStatus, TokenAnswer, WaveWatch, alarm_arn};
use tracing::{info, warn};

use super::{Ports, plan_of};

/// Longest execution name Step Functions accepts
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>).
const MAX_EXECUTION_NAME: usize = 80;

/// The child execution's name: the plan's, the wave's number, the region and the account, so a
/// retried Launch Wave finds the execution it started (StartExecution is idempotent on name
/// and input) and a person can tell which plan started it.
pub fn child_name(plan_id: &str, target: &TargetRun) -> String {
    let suffix = format!("-w{}-{}-{}", target.wave + 1, target.region, target.account);
    let room = MAX_EXECUTION_NAME.saturating_sub(suffix.len());
    let plan: String = plan_id.chars().take(room).collect();
    format!("{plan}{suffix}")
}

/// Launch Wave: reads each target's alias (its start version), then starts its child.
pub async fn launch(ports: &Ports<'_>, mut run: WavesRun) -> Result<WavesRun, ShifterError> {
    let plan = plan_of(&run)?;
    let wave = run.launched;
    let Some(spec) = plan.waves.get(wave) else {
        return Err(ShifterError::invalid(
            "launched",
            format!("no wave {}", wave + 1),
        ));
    };
    let now = ports.clock.now();
    for (i, target) in run.of_wave(wave).into_iter().zip(&spec.targets) {
        let t = &run.targets[i];
        let router = ports.targets.router(&t.region, &t.account).await?;
        let alias = router.get_alias(&t.function_name, &t.alias).await?;
        let mut input = target.input.clone();
        input["startedBy"] = json!(format!("waves plan {}", run.plan_id));
        let request = DeploymentRequest::from_json(&input).map_err(ShifterError::from)?;
        let executions = ports.targets.executions(&t.region, &t.account).await?;
        let machine = ports.targets.state_machine_arn(&t.region, &t.account);
        let arn = executions
            .start_execution(&machine, &child_name(&run.plan_id, t), &input)
            .await?;
        let worst = TimeDelta::seconds(
            i64::try_from(worst_duration_seconds(&request)).unwrap_or(i64::MAX / 4),
        );
        info!(plan = %run.plan_id, wave = wave + 1, region = %t.region, account = %t.account, execution = %arn, "child started");
        let t = &mut run.targets[i];
        t.start_version = Some(alias.route.version.clone());
        t.execution_arn = Some(arn);
        t.started = Some(now);
        t.deadline = Some(now + worst);
        t.status = TargetStatus::Running;
    }
    run.launched_wave(now);
    Ok(run)
}

/// Watch Waves: records the token with what answers it, then closes the race with a child that
/// ended before the watch was written: one that already ended answers the token at once.
pub async fn watch(ports: &Ports<'_>, token: &str, run: &WavesRun) -> Result<(), ShifterError> {
    let mut keys: Vec<String> = run
        .running()
        .iter()
        .filter_map(|i| run.targets[*i].execution_arn.clone())
        .collect();
    let plan = plan_of(run)?;
    keys.extend(finished_alarms(run, &plan));
    let now = ports.clock.now();
    let seconds = i64::try_from(run.wait_seconds).unwrap_or(i64::MAX / 4);
    let watch = WaveWatch {
        plan_id: run.plan_id.clone(),
        plan_arn: run.plan_arn.clone(),
        task_token: token.to_owned(),
        keys,
        expires_at: now + TimeDelta::seconds(seconds) + TimeDelta::hours(1),
    };
    ports.watches.watch(&watch).await?;
    for i in run.running() {
        let t = &run.targets[i];
        if let Some(seen) = child_seen(ports, t).await?
            && seen != ChildSeen::Running
        {
            let ended = json!({"ended": t.execution_arn});
            answer(
                ports,
                &watch,
                ports.tasks.send_task_success(token, &ended).await?,
            )
            .await?;
            break;
        }
    }
    Ok(())
}

async fn answer(
    ports: &Ports<'_>,
    watch: &WaveWatch,
    answer: TokenAnswer,
) -> Result<(), ShifterError> {
    if answer == TokenAnswer::Stale {
        warn!(plan = %watch.plan_id, "the plan's token was no longer waiting");
    }
    ports
        .watches
        .forget(&watch.plan_id, &watch.task_token)
        .await
}

/// The ARN of every alarm of every finished target: watched by the plan until it ends. A
/// running child watches its own alarms (and rolls itself back); the plan hears of that as the
/// child's failure.
fn finished_alarms(run: &WavesRun, plan: &WavePlan) -> Vec<String> {
    let specs = plan.waves.iter().flat_map(|w| w.targets.iter());
    run.targets
        .iter()
        .zip(specs)
        .filter(|(t, _)| t.status == TargetStatus::Succeeded)
        .flat_map(|(t, spec)| {
            spec.alarms
                .iter()
                .map(|a| alarm_arn(&t.region, &t.account, a))
        })
        .collect()
}

/// What target `t`'s child is doing (`None` before it started).
async fn child_seen(ports: &Ports<'_>, t: &TargetRun) -> Result<Option<ChildSeen>, ShifterError> {
    let Some(arn) = &t.execution_arn else {
        return Ok(None);
    };
    let execution = ports
        .targets
        .executions(&t.region, &t.account)
        .await?
        .describe_execution(arn)
        .await?;
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    Ok(Some(match execution.status {
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => ChildSeen::Running,
        ExecutionStatus::Succeeded => ChildSeen::Succeeded,
        ExecutionStatus::Aborted => ChildSeen::Stopped,
        ExecutionStatus::TimedOut => {
            ChildSeen::Failed("States.Timeout".to_owned(), text(&execution.cause))
        }
        ExecutionStatus::Failed => {
            ChildSeen::Failed(text(&execution.error), text(&execution.cause))
        }
    }))
}

/// Judge Waves: what ended the park, what each running child is doing, the next wave's gate.
pub async fn judge(ports: &Ports<'_>, mut run: WavesRun) -> Result<WavesRun, ShifterError> {
    let plan = plan_of(&run)?;
    let now = ports.clock.now();
    run.take_caught(now);
    see_running(ports, &mut run, now).await?;
    let firing = gate_firing(ports, &run, &plan, now).await?;
    run.judge(&plan, now, &firing);
    Ok(run)
}

async fn see_running(
    ports: &Ports<'_>,
    run: &mut WavesRun,
    now: DateTime<Utc>,
) -> Result<(), ShifterError> {
    for i in run.running() {
        if let Some(seen) = child_seen(ports, &run.targets[i]).await? {
            run.see_child(i, &seen, now);
        }
    }
    Ok(())
}

/// The next wave's alarms that are not OK (missing ones too), named with their place; read only
/// when the entry gate is what decides.
pub async fn gate_firing(
    ports: &Ports<'_>,
    run: &WavesRun,
    plan: &WavePlan,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ShifterError> {
    if !run.wants_gate_read(plan, now) {
        return Ok(Vec::new());
    }
    let mut firing = Vec::new();
    for target in &plan.waves[run.launched].targets {
        if target.alarms.is_empty() {
            continue;
        }
        let reader = ports
            .targets
            .alarms(&target.region, &target.account)
            .await?;
        let states = reader.alarm_states(&target.alarms).await?;
        for name in &target.alarms {
            let state = states.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
            if state != Some(AlarmState::Ok) {
                let how = state.map_or("missing".to_owned(), |s| format!("{s:?}"));
                firing.push(format!(
                    "{name} in {} ({}) is {how}",
                    target.region, target.account
                ));
            }
        }
    }
    Ok(firing)
}

/// Abort Plan: stops every running child; once none runs, restores every finished target.
pub async fn abort(ports: &Ports<'_>, mut run: WavesRun) -> Result<WavesRun, ShifterError> {
    let now = ports.clock.now();
    run.take_caught(now);
    if run.abort.is_none() {
        run.begin_abort(
            shifter::domain::waves::run::errors::WATCH_FAILED,
            "the plan could not go on".to_owned(),
            now,
        );
    }
    let cause = run
        .abort
        .as_ref()
        .map(|a| format!("wave plan {} aborted: {}", run.plan_id, a.error))
        .unwrap_or_default();
    for i in run.running() {
        let t = &run.targets[i];
        if let Some(arn) = &t.execution_arn {
            let executions = ports.targets.executions(&t.region, &t.account).await?;
            executions
                .stop_execution(arn, "PlanAborted", &cause)
                .await?;
            info!(plan = %run.plan_id, region = %t.region, account = %t.account, execution = %arn, "child stopped");
        }
    }
    see_running(ports, &mut run, now).await?;
    // The finished targets first: nothing else restores them, and every second counts.
    for i in run.to_restore() {
        restore_target(ports, &mut run.targets[i], now).await?;
    }
    let stopped_pending = check_stopped(ports, &mut run, now).await?;
    if !run.running().is_empty() || stopped_pending {
        run.decision = WavesDecision::Await;
        run.wait_seconds = STOPPED_LOOK_SECONDS;
        return Ok(run);
    }
    run.decision = WavesDecision::RolledBack;
    Ok(run)
}

/// How often the abort looks again at a stopped child's alias, and how long it waits for the
/// child's own watch function to restore it (invariant 13: about a second after the stop).
const STOPPED_LOOK_SECONDS: u64 = 10;
const STOPPED_GRACE_SECONDS: i64 = (STOPPED_LOOKS - 1) as i64 * STOPPED_LOOK_SECONDS as i64;

/// A stopped child's aliases are restored by its own watch function on the status change; the
/// abort checks that the lead alias is back on its start version with no routing. True while
/// one is not yet, within the grace; past it, the target is `NotRestored`, saying where it is.
async fn check_stopped(
    ports: &Ports<'_>,
    run: &mut WavesRun,
    now: DateTime<Utc>,
) -> Result<bool, ShifterError> {
    let since = run.abort.as_ref().map_or(now, |a| a.at);
    let mut pending = false;
    for t in run
        .targets
        .iter_mut()
        .filter(|t| t.status == TargetStatus::Stopped)
    {
        let Some(start) = t.start_version.clone() else {
            continue;
        };
        let router = ports.targets.router(&t.region, &t.account).await?;
        let alias = router.get_alias(&t.function_name, &t.alias).await?;
        if alias.route == AliasRoute::single(&start) {
            t.status = TargetStatus::Restored;
            t.cause = Some("stopped; its watch function restored it".to_owned());
            t.ended = Some(now);
        } else if (now - since).num_seconds() < STOPPED_GRACE_SECONDS {
            pending = true;
        } else {
            t.status = TargetStatus::NotRestored;
            t.cause = Some(format!(
                "stopped, and alias {} of {} still routes {}",
                t.alias, t.function_name, alias.route
            ));
        }
    }
    Ok(pending)
}

/// Returns one finished target's aliases to their start version: each alias of its child's
/// final document, conditional on the RevisionId the child left ([`undo_stranded`]: never over
/// someone else's change).
pub async fn restore_target(
    ports: &Ports<'_>,
    t: &mut TargetRun,
    now: DateTime<Utc>,
) -> Result<(), ShifterError> {
    let Some(arn) = t.execution_arn.clone() else {
        return Ok(());
    };
    let executions = ports.targets.executions(&t.region, &t.account).await?;
    let output = executions
        .describe_execution(&arn)
        .await?
        .output
        .unwrap_or(Value::Null);
    let deployment: Deployment = serde_json::from_value(output)
        .map_err(|e| ShifterError::invalid("output", format!("execution {arn}: {e}")))?;
    let router = ports.targets.router(&t.region, &t.account).await?;
    let mut left = Vec::new();
    for member in deployment.members.iter() {
        let last = LastWrite {
            start_version: member.original_version.clone(),
            over_revision: member.revision_id.clone(),
            route: AliasRoute::single(&member.target_version),
        };
        match undo_stranded(router.as_ref(), &member.function_name, &member.alias, &last).await? {
            Undone::Left { now } => left.push(format!(
                "alias {} of {} routes {now}: changed by someone else, left as is",
                member.alias, member.function_name
            )),
            Undone::OnStart | Undone::Restored { .. } => {}
        }
    }
    t.ended = Some(now);
    if left.is_empty() {
        t.status = TargetStatus::Restored;
    } else {
        t.status = TargetStatus::Left;
        t.cause = Some(left.join("; "));
    }
    info!(region = %t.region, account = %t.account, status = ?t.status, "finished target restored");
    Ok(())
}
