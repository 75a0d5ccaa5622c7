//! What an alias routes to, as the domain sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::weight::Weight;

/// Where an alias sends traffic: a primary version and at most one additional weighted version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasRoute {
    /// The alias's `FunctionVersion`.
    pub version: String,
    /// `RoutingConfig.AdditionalVersionWeights`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional: Option<AdditionalVersion>,
}

/// The weighted second version of an alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalVersion {
    /// The version receiving `weight`.
    pub version: String,
    /// Its share of traffic.
    pub weight: Weight,
}

/// An alias as read, with the RevisionId every write must be conditional on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasState {
    /// What it routes to.
    pub route: AliasRoute,
    /// Changes on every write.
    pub revision_id: String,
}

/// A published version's settings that weighted routing requires to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number.
    pub version: String,
    /// Execution role ARN.
    pub role: String,
    /// Dead-letter queue target ARN, if any.
    pub dead_letter_target: Option<String>,
}

impl VersionInfo {
    /// True when Lambda may route one alias between this version and `other`: both share
    /// execution role and dead-letter config.
    pub fn routable_with(&self, other: &VersionInfo) -> bool {
        self.role == other.role && self.dead_letter_target == other.dead_letter_target
    }
}

impl AliasRoute {
    /// All traffic on one version.
    pub fn single(version: impl Into<String>) -> Self {
        AliasRoute {
            version: version.into(),
            additional: None,
        }
    }

    /// `weight` on `target`, the rest on `stable`; a zero weight is no routing at all.
    pub fn split(stable: &str, target: &str, weight: Weight) -> Self {
        if weight.is_full() {
            return AliasRoute::single(target);
        }
        AliasRoute {
            version: stable.to_owned(),
            additional: (!weight.is_zero()).then(|| AdditionalVersion {
                version: target.to_owned(),
                weight,
            }),
        }
    }

    /// Share of traffic this route sends to `version`.
    pub fn weight_on(&self, version: &str) -> Weight {
        match &self.additional {
            Some(a) if a.version == version => a.weight,
            Some(a) if self.version == version => {
                Weight::from_bp(u32::from(Weight::FULL_BP - a.weight.bp())).unwrap_or(Weight::ZERO)
            }
            None if self.version == version => Weight::FULL,
            _ => Weight::ZERO,
        }
    }
}

impl fmt::Display for AliasRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.additional {
            None => write!(f, "version {} (no routing)", self.version),
            Some(a) => write!(
                f,
                "version {} with {} on version {}",
                self.version, a.weight, a.version
            ),
        }
    }
}

/// The function name of a name or an ARN (`arn:aws:lambda:…:function:orders` → `orders`).
pub fn function_short_name(name_or_arn: &str) -> &str {
    name_or_arn
        .rsplit_once(":function:")
        .map_or(name_or_arn, |(_, name)| name)
}

/// One alias a deployment moves (a release train moves several; the first leads), as the
/// deployment document carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Function name or ARN, as the input gave it.
    pub function_name: String,
    /// The alias.
    pub alias: String,
    /// The version the alias routed all its traffic to before the deployment (the snapshot).
    pub original_version: String,
    /// The version the deployment moves it to.
    pub target_version: String,
    /// The RevisionId of our last write (or of the pre-flight read).
    pub revision_id: String,
    /// How the alias routed when we last saw it.
    pub alias_last_seen: String,
}

impl Member {
    /// A member about to move: the alias as pre-flight read it, and the version it moves to.
    pub fn new(
        function_name: &str,
        alias: &str,
        read: &AliasState,
        target_version: String,
    ) -> Member {
        Member {
            function_name: function_name.to_owned(),
            alias: alias.to_owned(),
            original_version: read.route.version.clone(),
            target_version,
            revision_id: read.revision_id.clone(),
            alias_last_seen: read.route.to_string(),
        }
    }

    /// `function:alias`, for messages.
    pub fn label(&self) -> String {
        format!(
            "{}:{}",
            function_short_name(&self.function_name),
            self.alias
        )
    }

    /// The CLI command that puts this alias back by hand.
    pub fn restore_command(&self) -> String {
        restore_command(&self.function_name, &self.alias, &self.original_version)
    }

    /// The snapshot a rollback restores: all traffic on the original version.
    pub fn snapshot(&self) -> AliasRoute {
        AliasRoute::single(&self.original_version)
    }

    /// The route that puts `weight` on the target, the rest on the original version.
    pub fn route_at(&self, weight: Weight) -> AliasRoute {
        AliasRoute::split(&self.original_version, &self.target_version, weight)
    }

    /// Records what a write (or a read) of this alias returned.
    pub fn saw(&mut self, state: &AliasState) {
        self.revision_id = state.revision_id.clone();
        self.alias_last_seen = state.route.to_string();
    }
}

/// What became of a conditional write whose answer never came (a 5xx, a reset, a timeout after
/// the request was sent: it may or may not have landed), judged from the alias read right after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unanswered {
    /// The alias is still at the RevisionId the write was conditional on: it did not land.
    NotLanded,
    /// The RevisionId moved and the alias routes exactly what we wrote: our write landed.
    Landed,
    /// The RevisionId moved to something else: someone else changed the alias.
    Changed,
}

/// Judges a conditional write of `route` over `expected_revision` whose answer was lost, from
/// `current`, the alias as read after it. Only one write can follow `expected_revision`: when it
/// routes what we sent, it is ours.
pub fn judge_unanswered(
    expected_revision: &str,
    route: &AliasRoute,
    current: &AliasState,
) -> Unanswered {
    if current.revision_id == expected_revision {
        Unanswered::NotLanded
    } else if current.route == *route {
        Unanswered::Landed
    } else {
        Unanswered::Changed
    }
}

/// The one command that puts `alias` of `function` back on `version` with no routing.
pub fn restore_command(function: &str, alias: &str, version: &str) -> String {
    format!(
        "aws lambda update-alias --function-name {function} --name {alias} --function-version \
         {version} --routing-config '{{\"AdditionalVersionWeights\":{{}}}}'"
    )
}

/// A deployment's latest alias write, noted on its registry lock *before* it is sent: what an
/// execution that ended without its own Roll Back (stopped by hand, timed out, failed outside a
/// Catch) left on the alias can then be told apart from someone else's change, even when the
/// write was still in flight as the execution ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastWrite {
    /// The version the alias routed, unsplit, when the deployment took it (its snapshot).
    pub start_version: String,
    /// The RevisionId the write is conditional on: the deployment's previous write (or the
    /// snapshot's).
    pub over_revision: String,
    /// What the write routes.
    pub route: AliasRoute,
}

/// What an execution's ending left on one alias, judged against its [`LastWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stranded {
    /// On its start version with no routing: nothing to undo.
    OnStart,
    /// On this deployment's previous or latest write: restore the start version, conditional on
    /// `expected_revision`.
    Ours {
        /// The RevisionId read, which the restore is conditional on.
        expected_revision: String,
    },
    /// Someone else changed it: left as is.
    Changed,
}

/// Judges the alias `current` after an ending: on the start version, on one of our two last
/// writes (the noted one landed or not), or changed by someone else.
pub fn judge_stranded(last: &LastWrite, current: &AliasState) -> Stranded {
    if current.route == AliasRoute::single(&last.start_version) {
        Stranded::OnStart
    } else if current.revision_id == last.over_revision || current.route == last.route {
        Stranded::Ours {
            expected_revision: current.revision_id.clone(),
        }
    } else {
        Stranded::Changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_weights() {
        let w = Weight::from_bp(1000).unwrap();
        let r = AliasRoute::split("1", "2", w);
        assert_eq!(r.weight_on("2"), w);
        assert_eq!(r.weight_on("1").bp(), 9000);
        assert_eq!(r.weight_on("3"), Weight::ZERO);
        assert_eq!(
            AliasRoute::split("1", "2", Weight::FULL),
            AliasRoute::single("2")
        );
        assert_eq!(
            AliasRoute::split("1", "2", Weight::ZERO),
            AliasRoute::single("1")
        );
        assert_eq!(r.to_string(), "version 1 with 10% on version 2");
    }

    #[test]
    fn an_unanswered_write_is_judged_by_the_revision_then_the_route() {
        let route = AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap());
        let at = |route: &AliasRoute, revision: &str| AliasState {
            route: route.clone(),
            revision_id: revision.to_owned(),
        };
        let before = AliasRoute::single("1");
        assert_eq!(
            judge_unanswered("r1", &route, &at(&before, "r1")),
            Unanswered::NotLanded
        );
        assert_eq!(
            judge_unanswered("r1", &route, &at(&route, "r2")),
            Unanswered::Landed
        );
        assert_eq!(
            judge_unanswered("r1", &route, &at(&AliasRoute::single("3"), "r2")),
            Unanswered::Changed
        );
    }

    #[test]
    fn an_ending_restores_only_what_is_ours() {
        let last = LastWrite {
            start_version: "1".into(),
            over_revision: "r2".into(),
            route: AliasRoute::split("1", "2", Weight::from_bp(5000).unwrap()),
        };
        let at = |route: AliasRoute, revision: &str| AliasState {
            route,
            revision_id: revision.to_owned(),
        };
        let ten = AliasRoute::split("1", "2", Weight::from_bp(1000).unwrap());
        assert_eq!(
            judge_stranded(&last, &at(AliasRoute::single("1"), "r9")),
            Stranded::OnStart
        );
        // The noted write never landed: the alias is on our previous write.
        assert_eq!(
            judge_stranded(&last, &at(ten.clone(), "r2")),
            Stranded::Ours {
                expected_revision: "r2".into()
            }
        );
        // It landed.
        assert_eq!(
            judge_stranded(&last, &at(last.route.clone(), "r3")),
            Stranded::Ours {
                expected_revision: "r3".into()
            }
        );
        // Someone else moved it, even to a route we wrote earlier.
        assert_eq!(judge_stranded(&last, &at(ten, "r7")), Stranded::Changed);
        assert_eq!(
            judge_stranded(&last, &at(AliasRoute::single("3"), "r7")),
            Stranded::Changed
        );
    }
}
