//! The target accounts as the waves function sees them in a rehearsal: each region's simulated
//! account, its children run by the engine concurrently on the shared clock, and its events
//! forwarded to the home region.

use std::sync::{Arc, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::ports::{
    AlarmReader, AliasRouter, Execution, Executions, HistoryEvent, TargetAccounts, alarm_arn,
};
use tokio::task::JoinHandle;

use super::{Child, FORWARD_LATENCY, Region, WavesWorld};
use crate::asl::{ExecutionStatus, STATE_MACHINE_ARN};

/// [`TargetAccounts`] over the world's simulated accounts.
pub(super) struct LocalTargets {
    world: WavesWorld,
}

impl LocalTargets {
    pub(super) fn new(world: WavesWorld) -> Self {
        LocalTargets { world }
    }

    fn region(&self, region: &str, account: &str) -> Result<Region, ShifterError> {
        self.world.region(region, account).cloned().ok_or_else(|| {
            ShifterError::AccessDenied(format!(
                "sts:AssumeRole into account {account} in {region}: no such target in the rehearsal"
            ))
        })
    }

    /// One forwarder per target account: every change of its alarms into ALARM reaches the
    /// home region's waves function [`FORWARD_LATENCY`] later.
    pub(super) fn forward_alarms(&self) -> Vec<JoinHandle<()>> {
        self.world
            .regions
            .iter()
            .map(|region| {
                let (world, region) = (self.world.clone(), region.clone());
                let guard = world.clock.enroll();
                tokio::spawn(async move {
                    let _guard = guard;
                    forward(&world, &region).await;
                })
            })
            .collect()
    }
}

async fn forward(world: &WavesWorld, region: &Region) {
    let clock = &world.clock;
    let mut after = clock.start() - chrono::TimeDelta::seconds(1);
    let far = clock.start() + chrono::TimeDelta::days(400);
    loop {
        let changes = region.local.alarms.changes_into_alarm(after, far);
        let Some((at, name)) = changes.first().cloned() else {
            return;
        };
        after = at;
        let now = shifter::ports::Clock::now(clock);
        clock
            .sleep((at + FORWARD_LATENCY - now).max(chrono::TimeDelta::zero()))
            .await;
        let event = alarm_event(region, &name, at);
        let targets = LocalTargets::new(world.clone());
        let ports = waves::Ports {
            targets: &targets,
            watches: &world.watches,
            tasks: &world.tasks,
            clock,
        };
        if let Err(e) = waves::on_event(&ports, &event).await {
            tracing::warn!(error = %e, "alarm event not handled by the waves function");
        }
    }
}

/// CloudWatch's event for `name` of `region` going into ALARM at `at`.
fn alarm_event(region: &Region, name: &str, at: DateTime<Utc>) -> Value {
    let arn = alarm_arn(&region.region, &region.account, name);
    json!({
        "version": "0", "id": format!("local-{name}-{}", at.timestamp()),
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": region.account, "region": region.region, "resources": [arn],
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "detail": {"alarmName": name, "state": {"value": "ALARM",
            "reason": "Threshold Crossed (simulated)"}, "previousState": {"value": "OK"}}
    })
}

/// A child's status change, as the target region forwards it home.
fn status_event(child: &Child, status: &str, at: DateTime<Utc>) -> Value {
    json!({
        "version": "0", "id": format!("local-{}-{status}", child.name),
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "account": child.account, "region": child.region, "resources": [child.arn],
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "detail": {"executionArn": child.arn, "stateMachineArn": STATE_MACHINE_ARN,
            "name": child.name, "status": status}
    })
}

#[async_trait]
impl TargetAccounts for LocalTargets {
    async fn executions(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn Executions>, ShifterError> {
        Ok(Arc::new(ChildExecutions {
            world: self.world.clone(),
            region: self.region(region, account)?,
        }))
    }

    async fn router(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn AliasRouter>, ShifterError> {
        Ok(self.region(region, account)?.local.router.clone())
    }

    async fn alarms(
        &self,
        region: &str,
        account: &str,
    ) -> Result<Arc<dyn AlarmReader>, ShifterError> {
        Ok(Arc::new(self.region(region, account)?.local.alarms.clone()))
    }

    fn state_machine_arn(&self, _region: &str, _account: &str) -> String {
        STATE_MACHINE_ARN.to_owned()
    }
}

/// One region's executions: its fake, with StartExecution running the child.
struct ChildExecutions {
    world: WavesWorld,
    region: Region,
}

impl ChildExecutions {
    /// Runs the child on the engine, then forwards its end home.
    fn spawn(&self, child: Child, input: Value) {
        let (world, region) = (self.world.clone(), self.region.clone());
        let guard = world.clock.enroll();
        let running = world.running.clone();
        let handle = tokio::spawn(async move {
            let _guard = guard;
            let ran = super::super::run(&region.local, input, &child.name, &mut |_| {}).await;
            let status = match ran.as_ref().map(|r| r.execution.status) {
                Ok(ExecutionStatus::Succeeded) => "SUCCEEDED",
                Ok(ExecutionStatus::Aborted) => "ABORTED",
                Ok(ExecutionStatus::Failed) | Err(_) => "FAILED",
            };
            let ended = shifter::ports::Clock::now(&world.clock);
            if let Some(c) = world
                .children
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter_mut()
                .find(|c| c.arn == child.arn)
            {
                c.ended = Some((ended, status.to_owned()));
                c.transitions = ran.as_ref().map_or(0, |r| r.execution.transitions);
                c.timeline = ran
                    .as_ref()
                    .map(|r| r.summary.timeline.clone())
                    .unwrap_or_default();
            }
            world.clock.sleep(FORWARD_LATENCY).await;
            let targets = LocalTargets::new(world.clone());
            let ports = waves::Ports {
                targets: &targets,
                watches: &world.watches,
                tasks: &world.tasks,
                clock: &world.clock,
            };
            if let Err(e) = waves::on_event(&ports, &status_event(&child, status, ended)).await {
                tracing::warn!(error = %e, "a child's end not handled by the waves function");
            }
        });
        running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle);
    }
}

#[async_trait]
impl Executions for ChildExecutions {
    async fn start_execution(
        &self,
        machine: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, ShifterError> {
        let local = &self.region.local;
        let arn = local
            .executions
            .start_execution(machine, name, input)
            .await?;
        let child = {
            let mut children = self
                .world
                .children
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if children.iter().any(|c| c.arn == arn) {
                return Ok(arn);
            }
            let child = Child {
                region: self.region.region.clone(),
                account: self.region.account.clone(),
                name: name.to_owned(),
                arn: arn.clone(),
                ended: None,
                transitions: 0,
                timeline: Vec::new(),
            };
            children.push(child.clone());
            child
        };
        self.spawn(child, input.clone());
        Ok(arn)
    }

    async fn describe_execution(&self, arn: &str) -> Result<Execution, ShifterError> {
        self.region.local.executions.describe_execution(arn).await
    }

    async fn stop_execution(
        &self,
        arn: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ShifterError> {
        let local = &self.region.local;
        local.executions.stop_execution(arn, error, cause).await?;
        let since =
            (shifter::ports::Clock::now(&local.clock) - local.clock.start()).num_milliseconds();
        local.stop_at(since as f64 / 1000.0);
        Ok(())
    }

    async fn execution_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, ShifterError> {
        self.region.local.executions.execution_history(arn).await
    }

    async fn history_after(
        &self,
        arn: &str,
        after: i64,
    ) -> Result<Vec<HistoryEvent>, ShifterError> {
        self.region.local.executions.history_after(arn, after).await
    }

    async fn list_executions(
        &self,
        machine: &str,
        max: usize,
    ) -> Result<Vec<Execution>, ShifterError> {
        self.region
            .local
            .executions
            .list_executions(machine, max)
            .await
    }
}
