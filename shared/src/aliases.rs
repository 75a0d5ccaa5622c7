//! The two alias writes every deployment makes, for one alias or for each alias of a release
//! train: a step's conditional write (Shift Traffic, Promote) and the restore (Roll Back, and
//! Shift Traffic when a train stops on drift). Both are conditional on the RevisionId we saw
//! last (invariants 2 to 4 of docs/architecture.md#safety-invariants).

use crate::ShifterError;
use crate::domain::alias::{Member, Unanswered, function_short_name, judge_unanswered};
use crate::domain::alias::{Stranded, judge_stranded};
use crate::domain::{AliasRoute, AliasState, Deployment, LastWrite, RestoreAction};
use crate::ports::{AliasRouter, DeploymentRegistry};

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
///
/// Before it is sent, the write is noted on the deployment's registry lock ([`LastWrite`]), so
/// that an execution ending without its own Roll Back can be undone by the watch function
/// ([`undo_stranded`]); a deployment that no longer holds its lock writes nothing.
pub async fn write_step(
    router: &dyn AliasRouter,
    registry: &dyn DeploymentRegistry,
    deployment_id: &str,
    member: &Member,
    route: &AliasRoute,
    attempt: u32,
) -> Result<AliasState, ShifterError> {
    let (function, alias) = (&member.function_name, &member.alias);
    let noted = LastWrite {
        start_version: member.original_version.clone(),
        over_revision: member.revision_id.clone(),
        route: route.clone(),
    };
    registry
        .note_write(function, alias, deployment_id, &noted)
        .await?;
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

/// What the watch function did with one alias an execution left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undone {
    /// The alias was on its start version already.
    OnStart,
    /// We restored the start version (conditional on the RevisionId read); it routed `was`.
    Restored {
        /// What the alias routed before the restore.
        was: AliasRoute,
    },
    /// Someone else changed it; it routes `now` and was left as is.
    Left {
        /// What the alias routes.
        now: AliasRoute,
    },
}

/// How often [`undo_stranded`] re-reads after a conflict or a lost answer before it gives up
/// (the error then goes back to EventBridge, which retries the event).
const UNDO_ROUNDS: usize = 3;

/// Undoes what an execution that ended without its own Roll Back left on an alias: when the
/// alias is still on this deployment's last write (noted before it was sent, landed or not),
/// restores `last.start_version` conditional on the RevisionId read, exactly as Roll Back would;
/// leaves alone an alias someone else changed ([`judge_stranded`]). A conflict or a lost answer
/// is judged again from a fresh read: a write of ours still in flight as the execution ended
/// lands on either side of the restore, and is undone either way.
pub async fn undo_stranded(
    router: &dyn AliasRouter,
    function: &str,
    alias: &str,
    last: &LastWrite,
) -> Result<Undone, ShifterError> {
    let start = AliasRoute::single(&last.start_version);
    let mut was = None;
    let mut failure = None;
    for _ in 0..UNDO_ROUNDS {
        let current = router.get_alias(function, alias).await?;
        let expected_revision = match judge_stranded(last, &current) {
            Stranded::OnStart => {
                return Ok(match was {
                    Some(was) => Undone::Restored { was },
                    None => Undone::OnStart,
                });
            }
            Stranded::Changed => return Ok(Undone::Left { now: current.route }),
            Stranded::Ours { expected_revision } => expected_revision,
        };
        let seen = was.get_or_insert(current.route).clone();
        match router
            .update_alias(function, alias, &start, &expected_revision)
            .await
        {
            Ok(_) => return Ok(Undone::Restored { was: seen }),
            Err(e @ (ShifterError::AliasDrift(_) | ShifterError::Transient { .. })) => {
                failure = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(failure.unwrap_or_else(|| ShifterError::transient("UpdateAlias", "not restored")))
}
