//! Shift Traffic: moves the alias to the current step's weight (or promotes it), always
//! conditional on the RevisionId seen last (DESIGN.md invariants 2 and 3).

use shifter::ShifterError;
use shifter::domain::{Decision, Deployment};
use shifter::ports::{AliasRouter, Clock};
use tracing::info;

/// Applies the step `stepIndex` names and decides what follows.
pub async fn shift_traffic(
    router: &dyn AliasRouter,
    clock: &dyn Clock,
    deployment: Deployment,
) -> Result<Deployment, ShifterError> {
    if !matches!(deployment.decision, Decision::Shift | Decision::Promote) {
        return Err(ShifterError::invalid(
            "decision",
            format!(
                "Shift Traffic cannot follow decision {:?}",
                deployment.decision
            ),
        ));
    }
    let route = deployment.next_route()?;
    let (function, alias) = (&deployment.function_name, &deployment.alias);
    let written = match router
        .update_alias(function, alias, &route, &deployment.revision_id)
        .await
    {
        Ok(state) => state,
        Err(ShifterError::AliasDrift(conflict)) => {
            // A retried call whose first attempt landed sees its own write as a conflict.
            let current = router.get_alias(function, alias).await?;
            if current.route != route {
                return Err(ShifterError::AliasDrift(format!(
                    "{conflict}; stopping without overwriting that change"
                )));
            }
            current
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
    deployment.shifted(&written, clock.now())
}
