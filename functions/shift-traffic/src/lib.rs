//! Shift Traffic: moves the alias to the current step's weight (or promotes it), always
//! conditional on the RevisionId seen last (DESIGN.md invariants 2 and 3).

use serde::Deserialize;
use shifter::ShifterError;
use shifter::domain::Deployment;
use shifter::ports::{AliasRouter, Clock};
use tracing::info;

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

/// Applies the step `stepIndex` names and decides what follows.
pub async fn shift_traffic(
    router: &dyn AliasRouter,
    clock: &dyn Clock,
    event: ShiftEvent,
) -> Result<Deployment, ShifterError> {
    let ShiftEvent {
        deployment,
        attempt,
    } = event;
    let route = deployment.route_to_write()?;
    let (function, alias) = (&deployment.function_name, &deployment.alias);
    let written = match router
        .update_alias(function, alias, &route, &deployment.revision_id)
        .await
    {
        Ok(state) => state,
        Err(ShifterError::AliasDrift(conflict)) if attempt > 0 => {
            // A retry whose earlier attempt landed (its answer lost) sees its own write as a
            // conflict. On a first attempt a conflict can only be someone else's change, even
            // one identical to ours.
            let current = router.get_alias(function, alias).await?;
            if current.route != route {
                return Err(ShifterError::AliasDrift(format!(
                    "{conflict}; stopping without overwriting that change"
                )));
            }
            current
        }
        Err(ShifterError::AliasDrift(conflict)) => {
            return Err(ShifterError::AliasDrift(format!(
                "{conflict}; stopping without overwriting that change"
            )));
        }
        Err(e) => return Err(e),
    };
    info!(
        function = %function,
        alias = %alias,
        from = %deployment.traffic,
        to = %deployment.plan[deployment.step_index].weight,
        "traffic shifted"
    );
    Ok(deployment.shifted(&written, clock.now())?)
}
