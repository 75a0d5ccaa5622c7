//! How a deployment ends when it rolls back: what to restore, and the cause it ends with.

use super::{Decision, Deployment};
use crate::domain::alias::{AliasState, Member};
use crate::domain::failure::{ErrorKind, Failure};
use crate::domain::weight::Weight;

/// The sentences [`Deployment::rolled_back`] ends a cause with, one of which every
/// `Deployment Rolled Back` cause carries.
const ROLLED_BACK_SENTENCES: [&str; 3] = [
    "Every alias of the train is back on its version: ",
    " restored to version ",
    " as before; no traffic had reached version ",
];

/// True when `cause` is one [`Deployment::rolled_back`] wrote: the execution ended in Deployment
/// Rolled Back (its error may be any caught error's name).
pub fn is_rolled_back_cause(cause: &str) -> bool {
    ROLLED_BACK_SENTENCES.iter().any(|s| cause.contains(s))
}

/// What Roll Back must do for one alias, decided from the alias as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreAction {
    /// The alias already equals the snapshot (nothing moved, or an earlier attempt landed).
    AlreadyRestored,
    /// Write the snapshot, conditional on this RevisionId.
    Restore { expected_revision: String },
    /// Someone else changed the alias: leave their change.
    Drifted(String),
}

impl Deployment {
    /// Roll Back's decision for the lead alias ([`Deployment::restore_action_of`]).
    pub fn restore_action(&self, current: &AliasState) -> RestoreAction {
        self.restore_action_of(self.lead(), current)
    }

    /// Roll Back's decision for `member`, from its alias as it is now: restore it when the
    /// alias is as we left it (or as a write of ours whose answer was lost would have left it),
    /// leave it when someone else changed it.
    pub fn restore_action_of(&self, member: &Member, current: &AliasState) -> RestoreAction {
        if current.route == member.snapshot() {
            return RestoreAction::AlreadyRestored;
        }
        if current.revision_id == member.revision_id || self.member_write_landed(member, current) {
            return RestoreAction::Restore {
                expected_revision: current.revision_id.clone(),
            };
        }
        RestoreAction::Drifted(format!(
            "alias {} of {} was changed by someone else: it now routes {} (we last left it on {}); \
             their change was left as is",
            member.alias, member.function_name, current.route, member.alias_last_seen
        ))
    }

    /// True when a shift whose answer was lost (its error caught) would have left `member`'s
    /// alias as it is now.
    fn member_write_landed(&self, member: &Member, current: &AliasState) -> bool {
        // `route_of` is only `Ok` at a shift or the promotion.
        self.ending.caught.is_some() && self.route_of(member).is_ok_and(|r| r == current.route)
    }

    /// The failure being rolled back for: set by Check Health, or derived from a caught error.
    pub fn failure_reason(&self) -> Failure {
        if let Some(f) = &self.ending.failure {
            return f.clone();
        }
        match &self.ending.caught {
            Some(c) => Failure {
                error: c.error.clone(),
                cause: c.message(),
            },
            None => Failure::new(
                ErrorKind::InvalidInput,
                format!(
                    "unexpected decision {:?} in the deployment document",
                    self.decision
                ),
            ),
        }
    }

    /// Decides to roll back for `failure`.
    pub(super) fn rolling_back(mut self, failure: Failure) -> Deployment {
        self.ending.failure = Some(failure);
        self.decision = Decision::Rollback;
        self
    }

    /// Roll Back was refused by IAM for `denied` (each member with the refusal's message): the
    /// execution ends `RollbackFailed` with a cause in words — why it was rolling back, where
    /// each refused alias was last seen, the command that restores it by hand — instead of the
    /// Lambda error envelope a caught error would carry. (Not retried: a denial stays one.)
    pub fn restore_denied(mut self, denied: &[(Member, String)]) -> Deployment {
        let why = self.failure_reason().error;
        let each: Vec<String> = denied
            .iter()
            .map(|(m, message)| {
                format!(
                    "Could not restore alias {} of {} to version {} ({message}). Our last \
                     confirmed write left it on {}. Restore it by hand: {}",
                    m.alias,
                    m.function_name,
                    m.original_version,
                    m.alias_last_seen,
                    m.restore_command()
                )
            })
            .collect();
        let cause = format!("Rolling back after {why}: {}", each.join(" "));
        self.ending.failure = Some(Failure::new(ErrorKind::RollbackFailed, cause));
        self
    }

    /// Records a finished restore of every alias and the final cause: `restored` holds each
    /// member's alias as the restore left it (in [`Deployment::members`] order), `wrote`
    /// whether traffic had moved (a restore wrote, or the document says traffic was on the
    /// target).
    pub fn rolled_back(mut self, restored: &[AliasState], wrote: bool) -> Deployment {
        let mut failure = self.failure_reason();
        let lead = self.lead();
        let how = if self.members.is_train() {
            let aliases: Vec<String> = self
                .members
                .iter()
                .map(|m| format!("{} on {}", m.label(), m.original_version))
                .collect();
            format!(
                "Every alias of the train is back on its version: {}.",
                aliases.join(", ")
            )
        } else if wrote {
            format!(
                "Alias {} restored to version {} (it was on {}).",
                lead.alias, lead.original_version, lead.alias_last_seen
            )
        } else {
            format!(
                "Alias {} is on version {} as before; no traffic had reached version {}.",
                lead.alias, lead.original_version, lead.target_version
            )
        };
        failure.cause = format!("{}. {how}", failure.cause.trim_end_matches('.'));
        self.ending.rolled_back_to = Some(lead.original_version.clone());
        self.ending.failure = Some(failure);
        for (index, state) in restored.iter().enumerate().take(self.members.len()) {
            self.members[index].saw(state);
        }
        self.set_traffic(Weight::ZERO);
        self.decision = Decision::Rollback;
        self
    }
}
