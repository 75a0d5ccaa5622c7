//! The two alias writes every deployment makes, for one alias or for each alias of a release
//! train: a step's conditional write (Shift Traffic, Promote) and the restore (Roll Back, and
//! Shift Traffic when a train stops on drift). Both are conditional on the RevisionId we saw
//! last (invariants 2 to 4 of docs/architecture.md#safety-invariants).

use crate::ShifterError;
use crate::domain::alias::Member;
use crate::domain::{AliasRoute, AliasState, Deployment, RestoreAction};
use crate::ports::AliasRouter;

/// Writes `route` to `member`'s alias, conditional on the RevisionId recorded for it. A retry
/// (`attempt` > 0) whose earlier attempt landed, its answer lost, sees its own write as a
/// conflict: the alias already routing exactly `route` is accepted then. On a first attempt a
/// conflict is read as someone else's change, even one identical to ours: `AliasDrift`. (A
/// re-send by the SDK's own retry within one invocation
/// (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/retries.html>) meets the same conflict;
/// telling it apart from someone else's identical change needs the retry in our hands — see
/// docs/decisions — since adopting a manual promotion as ours would let a rollback undo it.)
pub async fn write_step(
    router: &dyn AliasRouter,
    member: &Member,
    route: &AliasRoute,
    attempt: u32,
) -> Result<AliasState, ShifterError> {
    let (function, alias) = (&member.function_name, &member.alias);
    match router
        .update_alias(function, alias, route, &member.revision_id)
        .await
    {
        Ok(state) => Ok(state),
        Err(ShifterError::AliasDrift(conflict)) if attempt > 0 => {
            let current = router.get_alias(function, alias).await?;
            if current.route != *route {
                return Err(ShifterError::AliasDrift(format!(
                    "{conflict}; stopping without overwriting that change"
                )));
            }
            Ok(current)
        }
        Err(ShifterError::AliasDrift(conflict)) => Err(ShifterError::AliasDrift(format!(
            "{conflict}; stopping without overwriting that change"
        ))),
        Err(e) => Err(e),
    }
}

/// What became of one alias's restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// It was already on its snapshot.
    Already(AliasState),
    /// We wrote the snapshot.
    Wrote(AliasState),
    /// Someone else changed it; their change was left (the message says how).
    Left(String),
}

/// Puts `member`'s alias back on its original version with no routing, unless someone else
/// changed it ([`Deployment::restore_action_of`]). A failed write says where the alias was, so
/// a `RollbackFailed` cause is never stale.
pub async fn restore(
    router: &dyn AliasRouter,
    deployment: &Deployment,
    member: &Member,
) -> Result<Restored, ShifterError> {
    let (function, alias) = (&member.function_name, &member.alias);
    let current = router.get_alias(function, alias).await?;
    match deployment.restore_action_of(member, &current) {
        RestoreAction::AlreadyRestored => Ok(Restored::Already(current)),
        RestoreAction::Drifted(message) => Ok(Restored::Left(message)),
        RestoreAction::Restore { expected_revision } => {
            let snapshot = AliasRoute::single(&member.original_version);
            match router
                .update_alias(function, alias, &snapshot, &expected_revision)
                .await
            {
                // Our restore landed and the SDK's re-send met its new RevisionId (see
                // [`write_step`]): the alias is on the snapshot, restored by us.
                Err(ShifterError::AliasDrift(conflict)) => {
                    let now = router.get_alias(function, alias).await?;
                    if now.route == snapshot {
                        return Ok(Restored::Wrote(now));
                    }
                    Err(ShifterError::AliasDrift(conflict))
                }
                result => result,
            }
            .map(Restored::Wrote)
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
            })
        }
    }
}
