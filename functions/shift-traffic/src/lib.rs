//! Shift Traffic: moves the alias to the current step's weight (or promotes it), always
//! conditional on the RevisionId seen last (invariants 2 and 3 of
//! docs/architecture.md#safety-invariants). A release train's aliases are written one after
//! another, all before the bake starts; when one of them was changed by someone else the train
//! stops: the others are restored and the changed one is left.

use serde::Deserialize;
use shifter::ShifterError;
use shifter::aliases::{Restored, restore, write_step};
use shifter::domain::Deployment;
use shifter::ports::{AliasRouter, Clock, DeploymentRegistry};
use tracing::{info, warn};

/// What the state machine passes in: the deployment and which attempt of this state this is.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftEvent {
    /// The deployment document.
    pub deployment: Deployment,
    /// `$$.State.RetryCount`: 0 on the first attempt.
    #[serde(default)]
    pub attempt: u32,
}

/// Applies the step `stepIndex` names to every alias and decides what follows.
pub async fn shift_traffic(
    router: &dyn AliasRouter,
    registry: &dyn DeploymentRegistry,
    clock: &dyn Clock,
    event: ShiftEvent,
) -> Result<Deployment, ShifterError> {
    let ShiftEvent {
        mut deployment,
        attempt,
    } = event;
    let members = deployment.members.clone();
    for (index, member) in members.iter().enumerate() {
        let route = deployment.route_of(member)?;
        let written = match write_step(
            router,
            registry,
            &deployment.deployment_id,
            member,
            &route,
            attempt,
        )
        .await
        {
            Ok(state) => state,
            Err(ShifterError::AliasDrift(message)) => {
                return Err(stop_others(router, &deployment, index, message).await);
            }
            Err(e) => return Err(e),
        };
        info!(
            function = %member.function_name,
            alias = %member.alias,
            from = %deployment.progress.traffic,
            to = %deployment.progress.plan[deployment.progress.step_index].weight,
            "traffic shifted"
        );
        deployment.record(index, &written);
    }
    Ok(deployment.landed(clock.now())?)
}

/// Alias `drifted` was changed by someone else: every other alias of the deployment (a release
/// train's) is restored (those changed too are left), and the error says which were. A restore
/// that fails is returned as is, so the state is retried and, once retries run out, Roll Back
/// takes over. With no other alias, the drift is the whole story.
async fn stop_others(
    router: &dyn AliasRouter,
    deployment: &Deployment,
    drifted: usize,
    message: String,
) -> ShifterError {
    if !deployment.members.is_train() {
        return ShifterError::AliasDrift(message);
    }
    let mut restored = Vec::new();
    let mut left = Vec::new();
    for (index, member) in deployment.members.iter().enumerate() {
        if index == drifted {
            continue;
        }
        match restore(router, deployment, member).await {
            Ok(Restored::Already(_) | Restored::Wrote(_)) => {
                restored.push(format!("{} on {}", member.label(), member.original_version));
            }
            Ok(Restored::Left(why)) => left.push(why),
            Err(e) => return e,
        }
    }
    warn!(
        drifted,
        restored = restored.len(),
        left = left.len(),
        "release train stopped on drift"
    );
    let mut cause = format!(
        "{message}; the release train stopped: restored {}",
        if restored.is_empty() {
            "no other alias".to_owned()
        } else {
            restored.join(", ")
        }
    );
    for why in left {
        cause.push_str("; also ");
        cause.push_str(&why);
    }
    ShifterError::AliasDrift(cause)
}
