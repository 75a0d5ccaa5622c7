//! Roll Back: restores the alias snapshot exactly, idempotently, and never over someone
//! else's change (invariants 2 and 4 of docs/architecture.md#safety-invariants). A release
//! train restores every alias that is still ours; when one was changed by someone else, it is
//! left as is and the execution stops on drift once the others are restored.

use shifter::ShifterError;
use shifter::aliases::{Restored, restore};
use shifter::domain::Deployment;
use shifter::domain::lifecycle::metrics::approval_lines;
use shifter::ports::{AliasRouter, Clock};
use tracing::{info, warn};

/// [`roll_back`], and the embedded metric format lines of an approval gate the rollback closed
/// (an alarm, an abort or a failed analysis while it was open: the seconds it waited for
/// people, [`approval_lines`]); main prints them. A gate Check Health closed (answered, timed
/// out) is no longer open here, so each gate is counted once.
pub async fn roll_back_told(
    router: &dyn AliasRouter,
    clock: &dyn Clock,
    deployment: Deployment,
) -> Result<(Deployment, Vec<String>), ShifterError> {
    let opened = deployment.gate.opened_at;
    let restored = roll_back(router, deployment).await?;
    let lines = approval_lines(&restored, opened, None, clock.now());
    Ok((restored, lines))
}

/// Puts every alias back on its original version with no routing.
pub async fn roll_back(
    router: &dyn AliasRouter,
    deployment: Deployment,
) -> Result<Deployment, ShifterError> {
    let failure = deployment.failure_reason();
    let mut states = Vec::new();
    let mut wrote = false;
    let mut left = Vec::new();
    let mut restored = Vec::new();
    let mut denied = Vec::new();
    for member in &deployment.members {
        let (function, alias) = (&member.function_name, &member.alias);
        let outcome = match restore(router, &deployment, member).await {
            // IAM's refusal will not change with a retry: said in words, not as an envelope.
            Err(ShifterError::AccessDenied(message)) => {
                warn!(%function, %alias, %message, "restore refused by IAM");
                denied.push((member.clone(), message));
                continue;
            }
            other => other?,
        };
        let state = match outcome {
            Restored::Already(state) => {
                info!(%function, %alias, error = %failure.error, "alias already on the snapshot");
                state
            }
            Restored::Wrote(state) => {
                info!(%function, %alias, version = %member.original_version, error = %failure.error, "alias restored");
                wrote = true;
                state
            }
            Restored::Left(message) => {
                warn!(%function, %alias, "alias changed by someone else; not restoring");
                left.push(message);
                continue;
            }
        };
        restored.push(format!("{} on {}", member.label(), member.original_version));
        states.push(state);
    }
    if !denied.is_empty() {
        return Ok(deployment.restore_denied(&denied));
    }
    if !left.is_empty() {
        let mut cause = left.join("; ");
        if !restored.is_empty() {
            cause = format!(
                "{cause}; restored {} ({})",
                restored.join(", "),
                failure.error
            );
        }
        return Err(ShifterError::AliasDrift(cause));
    }
    // Every alias was restored (none was left): `rolled_back` records each and says where the
    // lead was.
    let moved = wrote || !deployment.progress.traffic.is_zero();
    Ok(deployment.rolled_back(&states, moved))
}
