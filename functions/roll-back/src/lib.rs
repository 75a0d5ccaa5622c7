//! Roll Back: restores the alias snapshot exactly, idempotently, and never over someone
//! else's change (DESIGN.md invariants 2 and 4).

use shifter::ShifterError;
use shifter::domain::{AliasRoute, Deployment, RestoreAction};
use shifter::ports::AliasRouter;
use tracing::{info, warn};

/// Puts the alias back on the original version with no routing.
pub async fn roll_back(
    router: &dyn AliasRouter,
    deployment: Deployment,
) -> Result<Deployment, ShifterError> {
    let (function, alias) = (deployment.function_name.clone(), deployment.alias.clone());
    let current = router.get_alias(&function, &alias).await?;
    let failure = deployment.failure_reason();
    match deployment.restore_action(&current) {
        RestoreAction::AlreadyRestored => {
            let moved = !deployment.traffic.is_zero();
            info!(%function, %alias, error = %failure.error, "alias already on the snapshot");
            Ok(deployment.rolled_back(&current, moved))
        }
        RestoreAction::Restore { expected_revision } => {
            let snapshot = AliasRoute::single(&deployment.original_version);
            // A failed restore says where the alias was, so RollbackFailed's cause is never stale.
            let restored = router
                .update_alias(&function, &alias, &snapshot, &expected_revision)
                .await
                .map_err(|e| match e {
                    ShifterError::Transient {
                        operation,
                        message,
                        source,
                    } => ShifterError::Transient {
                        message: format!(
                            "{message}; before this attempt the alias routed {}",
                            current.route
                        ),
                        operation,
                        source,
                    },
                    other => other,
                })?;
            info!(%function, %alias, version = %deployment.original_version, error = %failure.error, "alias restored");
            Ok(deployment.rolled_back(&restored, true))
        }
        RestoreAction::Drifted(message) => {
            warn!(%function, %alias, "alias changed by someone else; not restoring");
            Err(ShifterError::AliasDrift(message))
        }
    }
}
