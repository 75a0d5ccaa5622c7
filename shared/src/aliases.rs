//! The two alias writes every deployment makes, for one alias or for each alias of a release
//! train: a step's conditional write (Shift Traffic, Promote) and the restore (Roll Back, and
//! Shift Traffic when a train stops on drift). Both are conditional on the RevisionId we saw
//! last (invariants 2 to 4 of docs/architecture.md#safety-invariants).

use crate::ShifterError;
use crate::domain::alias::{Member, Unanswered, function_short_name, judge_unanswered};
use crate::domain::{AliasRoute, AliasState, Deployment, RestoreAction};
use crate::ports::AliasRouter;

/// Writes `route` to `member`'s alias, conditional on the RevisionId recorded for it.
///
/// The adapter sends UpdateAlias once, with the SDK's own retries off (a re-send inside one
/// invocation would meet the RevisionId its lost first send changed and read as drift: see
/// docs/decisions/0011). A write whose answer was lost (`Transient`) is judged from the alias
/// read right after ([`judge_unanswered`]): landed is ours, not landed is left to the state
/// machine's Retry, moved elsewhere is someone else's (`AliasDrift`). A Retry of the Task
/// (`attempt` > 0) whose earlier attempt landed, its answer lost and its read failing too, meets
/// its own write as a conflict: the alias routing exactly `route` is accepted then. On a first
/// attempt a conflict is someone else's change, even one identical to ours: adopting a manual
/// promotion as ours would let a later rollback undo it.
pub async fn write_step(
    router: &dyn AliasRouter,
    member: &Member,
    route: &AliasRoute,
    attempt: u32,
) -> Result<AliasState, ShifterError> {
    let (function, alias) = (&member.function_name, &member.alias);
    let drift = |conflict: String| {
        ShifterError::AliasDrift(format!(
            "{conflict}; stopping without overwriting that change"
        ))
    };
    match router
        .update_alias(function, alias, route, &member.revision_id)
        .await
    {
        Ok(state) => Ok(state),
        Err(ShifterError::AliasDrift(conflict)) if attempt > 0 => {
            let current = router.get_alias(function, alias).await?;
            if current.route != *route {
                return Err(drift(conflict));
            }
            Ok(current)
        }
        Err(ShifterError::AliasDrift(conflict)) => Err(drift(conflict)),
        Err(lost @ ShifterError::Transient { .. }) => {
            let Ok(current) = router.get_alias(function, alias).await else {
                return Err(lost);
            };
            match judge_unanswered(&member.revision_id, route, &current) {
                Unanswered::Landed => Ok(current),
                Unanswered::NotLanded => Err(lost),
                Unanswered::Changed => Err(drift(format!(
                    "alias {alias} of {} moved from RevisionId {} to {} while our write of {route} \
                     went unanswered, and routes {}: someone else changed it",
                    function_short_name(function),
                    member.revision_id,
                    current.revision_id,
                    current.route
                ))),
            }
        }
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
                // A conflict after which the alias is on the snapshot (a Retry of ours whose
                // earlier attempt landed) or a lost answer whose write landed: restored by us.
                // Nothing further is written, so nothing can be overwritten.
                Err(ShifterError::AliasDrift(conflict)) => {
                    let now = router.get_alias(function, alias).await?;
                    if now.route == snapshot {
                        return Ok(Restored::Wrote(now));
                    }
                    Err(ShifterError::AliasDrift(conflict))
                }
                Err(lost @ ShifterError::Transient { .. }) => {
                    match router.get_alias(function, alias).await {
                        Ok(now) if now.route == snapshot => return Ok(Restored::Wrote(now)),
                        _ => Err(lost),
                    }
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
