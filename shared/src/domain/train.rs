//! Release trains: one execution moves several aliases in lockstep. The deployment document
//! keeps its first alias in its own fields (every state reads them as before) and the others in
//! `train`; each step's weight is written to every alias before the bake starts, and a rollback
//! restores every alias that is still ours.

use serde::{Deserialize, Serialize};

use super::alias::{AliasRoute, AliasState};
use super::deployment::{Deployment, DocumentError, RestoreAction};
use super::provisioned::{AllocationStatus, ConcurrencyConfig, ReadyWait};
use super::request::{DeploymentRequest, TrainTarget};

/// One alias of a release train as the deployment document carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Function name or ARN, as the input gave it.
    pub function_name: String,
    /// The alias.
    pub alias: String,
    /// The version the alias routed all its traffic to before the train (the snapshot).
    pub original_version: String,
    /// The version the train moves it to.
    pub target_version: String,
    /// The RevisionId of our last write (or of the pre-flight read).
    pub revision_id: String,
    /// How the alias routed when we last saw it.
    pub alias_last_seen: String,
}

impl Member {
    /// A member about to join: the alias as pre-flight read it, and the version it moves to.
    pub fn new(target: &TrainTarget, alias: &AliasState, target_version: String) -> Member {
        Member {
            function_name: target.function_name.clone(),
            alias: target.alias.clone(),
            original_version: alias.route.version.clone(),
            target_version,
            revision_id: alias.revision_id.clone(),
            alias_last_seen: alias.route.to_string(),
        }
    }

    /// `function:alias`, for messages.
    pub fn label(&self) -> String {
        format!(
            "{}:{}",
            super::request::function_short_name(&self.function_name),
            self.alias
        )
    }

    /// The CLI command that puts this alias back by hand.
    pub fn restore_command(&self) -> String {
        format!(
            "aws lambda update-alias --function-name {} --name {} --function-version {} \
             --routing-config '{{\"AdditionalVersionWeights\":{{}}}}'",
            self.function_name, self.alias, self.original_version
        )
    }
}

impl DeploymentRequest {
    /// Every alias the input names, the first one first.
    pub fn targets(&self) -> Vec<TrainTarget> {
        let mut all = vec![TrainTarget {
            function_name: self.function_name.clone(),
            alias: self.alias.clone(),
            target: self.target.clone(),
        }];
        all.extend(self.train.iter().cloned());
        all
    }

    /// The same request for `target` alone: what each alias's pre-flight judges.
    pub fn for_target(&self, target: &TrainTarget) -> DeploymentRequest {
        DeploymentRequest {
            function_name: target.function_name.clone(),
            alias: target.alias.clone(),
            target: target.target.clone(),
            train: Vec::new(),
            ..self.clone()
        }
    }
}

impl Deployment {
    /// Every alias this deployment moves: its own first, then its train's.
    pub fn members(&self) -> Vec<Member> {
        let mut all = vec![Member {
            function_name: self.function_name.clone(),
            alias: self.alias.clone(),
            original_version: self.original_version.clone(),
            target_version: self.target_version.clone(),
            revision_id: self.revision_id.clone(),
            alias_last_seen: self.alias_last_seen.clone(),
        }];
        all.extend(self.train.iter().cloned());
        all
    }

    /// Adds a release train's other aliases (pre-flight passed for each).
    pub fn with_train(mut self, train: Vec<Member>) -> Deployment {
        for member in &train {
            self.restore_command =
                format!("{} && {}", self.restore_command, member.restore_command());
        }
        self.train = train;
        self
    }

    /// Records the provisioned concurrency pre-flight read for each member (in
    /// [`Deployment::members`] order): after every write the deployment waits until every
    /// alias that has some is READY. One alias: exactly
    /// [`Deployment::with_provisioned_concurrency`].
    pub fn with_train_concurrency(
        self,
        configs: &[Option<ConcurrencyConfig>],
        wait: ReadyWait,
    ) -> Deployment {
        if self.train.is_empty() {
            let own = configs.first().and_then(Option::as_ref);
            return self.with_provisioned_concurrency(own, wait);
        }
        let members = self.members();
        let provisioned: Vec<(usize, String, ConcurrencyConfig)> = configs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, members.get(i)?.label(), c.clone()?)))
            .collect();
        if provisioned.is_empty() {
            return self;
        }
        let labelled: Vec<(String, ConcurrencyConfig)> = provisioned
            .iter()
            .map(|(_, label, c)| (label.clone(), c.clone()))
            .collect();
        let mut d = self.with_provisioned_concurrency(Some(&combined(&labelled)), wait);
        if let Some(pc) = d.provisioned_concurrency.as_mut() {
            pc.aliases = Some(provisioned.iter().map(|(i, ..)| *i).collect());
        }
        d
    }

    /// The members whose provisioned concurrency Check Health reads during a wait for READY.
    pub fn provisioned_members(&self) -> Vec<Member> {
        let members = self.members();
        match self
            .provisioned_concurrency
            .as_ref()
            .and_then(|pc| pc.aliases.as_ref())
        {
            Some(indices) => indices
                .iter()
                .filter_map(|i| members.get(*i).cloned())
                .collect(),
            None => members.into_iter().take(1).collect(),
        }
    }

    /// Records what a write (or a read) of member `index` (0: this deployment's own alias)
    /// returned.
    pub fn record(&mut self, index: usize, state: &AliasState) {
        if index == 0 {
            self.revision_id = state.revision_id.clone();
            self.alias_last_seen = state.route.to_string();
            self.write_in_flight.clear();
        } else if let Some(member) = self.train.get_mut(index - 1) {
            member.revision_id = state.revision_id.clone();
            member.alias_last_seen = state.route.to_string();
        }
    }

    /// The route Shift Traffic (or Promote) writes to `member`: the current step's weight on
    /// its target, the rest on its original version.
    pub fn route_of(&self, member: &Member) -> Result<AliasRoute, DocumentError> {
        let leader = self.route_to_write()?;
        let weight = leader.weight_on(&self.target_version);
        Ok(AliasRoute::split(
            &member.original_version,
            &member.target_version,
            weight,
        ))
    }

    /// Roll Back's decision for `member`, from its alias as it is now: restore it when the
    /// alias is as we left it (or as a write of ours whose answer was lost would have left it),
    /// leave it when someone else changed it.
    pub fn restore_action_of(&self, member: &Member, current: &AliasState) -> RestoreAction {
        let snapshot = AliasRoute::single(&member.original_version);
        if current.route == snapshot {
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
        self.caught.is_some() && self.route_of(member).is_ok_and(|r| r == current.route)
    }
}

/// Several aliases' provisioned concurrency as one: READY only when every one is, FAILED when
/// any is (its reason named by alias), otherwise IN_PROGRESS; the counts are the sums.
pub fn combined(configs: &[(String, ConcurrencyConfig)]) -> ConcurrencyConfig {
    let worst = |status| configs.iter().any(|(_, c)| c.status == status);
    let status = if worst(AllocationStatus::Failed) {
        AllocationStatus::Failed
    } else if worst(AllocationStatus::InProgress) {
        AllocationStatus::InProgress
    } else {
        AllocationStatus::Ready
    };
    let reasons: Vec<String> = configs
        .iter()
        .filter(|(_, c)| c.status != AllocationStatus::Ready)
        .map(|(label, c)| {
            format!(
                "{label} {} ({} of {} allocated): {}",
                c.status.name(),
                c.allocated,
                c.requested,
                c.reason()
            )
        })
        .collect();
    let sum = |f: fn(&ConcurrencyConfig) -> u32| configs.iter().map(|(_, c)| f(c)).sum();
    ConcurrencyConfig {
        requested: sum(|c| c.requested),
        available: sum(|c| c.available),
        allocated: sum(|c| c.allocated),
        status,
        status_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Decision, ErrorKind, Failure, Weight};
    use chrono::TimeZone;
    use serde_json::json;

    fn train() -> (DeploymentRequest, Deployment) {
        let request = DeploymentRequest::from_json(&json!({
            "targets": [
                {"functionName": "orders", "alias": "live", "targetVersion": "4"},
                {"functionName": "payments", "alias": "live", "targetVersion": "9"}
            ],
            "strategy": "Linear10PercentEvery1Minute"
        }))
        .unwrap();
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let orders = AliasState {
            route: AliasRoute::single("3"),
            revision_id: "r-orders".into(),
        };
        let payments = AliasState {
            route: AliasRoute::single("8"),
            revision_id: "r-payments".into(),
        };
        let d = Deployment::start("d".into(), &request, &orders, "4".into(), now)
            .with_train(vec![Member::new(&request.train[0], &payments, "9".into())]);
        (request, d)
    }

    #[test]
    fn every_member_gets_the_steps_weight_on_its_own_versions() {
        let (_, d) = train();
        let members = d.members();
        assert_eq!(members.len(), 2);
        assert_eq!(
            d.route_of(&members[1]).unwrap(),
            AliasRoute::split("8", "9", Weight::from_percent_f64(10.0).unwrap())
        );
        assert!(d.restore_command.contains("--function-name payments"));
    }

    #[test]
    fn a_member_changed_by_someone_else_is_left_and_the_others_restored() {
        let (_, mut d) = train();
        let members = d.members();
        let moved = AliasState {
            route: d.route_of(&members[1]).unwrap(),
            revision_id: "r2".into(),
        };
        d.record(1, &moved);
        d.failure = Some(Failure::new(ErrorKind::AlarmTriggered, "x"));
        d.decision = Decision::Rollback;
        let members = d.members();
        assert_eq!(
            d.restore_action_of(&members[1], &moved),
            RestoreAction::Restore {
                expected_revision: "r2".into()
            }
        );
        let theirs = AliasState {
            route: AliasRoute::single("10"),
            revision_id: "r3".into(),
        };
        assert!(matches!(
            d.restore_action_of(&members[1], &theirs),
            RestoreAction::Drifted(m) if m.contains("payments")
        ));
    }

    #[test]
    fn a_lost_answer_of_our_own_write_is_ours_to_restore() {
        let (_, mut d) = train();
        let members = d.members();
        let landed = AliasState {
            route: d.route_of(&members[1]).unwrap(),
            revision_id: "unseen".into(),
        };
        d.caught = Some(crate::domain::Caught {
            error: "States.Timeout".into(),
            cause: String::new(),
        });
        assert!(matches!(
            d.restore_action_of(&members[1], &landed),
            RestoreAction::Restore { .. }
        ));
        d.caught = None;
        assert!(matches!(
            d.restore_action_of(&members[1], &landed),
            RestoreAction::Drifted(_)
        ));
    }

    #[test]
    fn a_real_historys_summary_lists_where_each_alias_ended() {
        use crate::report::{Outcome, TrainAlias};
        let (_, d) = train();
        let ended = |outcome| -> Vec<Option<String>> {
            TrainAlias::implied(outcome, &d)
                .into_iter()
                .map(|m| m.ended.map(|a| a.version))
                .collect()
        };
        assert_eq!(
            ended(Outcome::Succeeded),
            [Some("4".into()), Some("9".into())]
        );
        assert_eq!(
            ended(Outcome::RolledBack),
            [Some("3".into()), Some("8".into())]
        );
        assert_eq!(ended(Outcome::Stopped), [None, None], "drift: unknown");
        let mut one = d.clone();
        one.train.clear();
        assert!(TrainAlias::implied(Outcome::Succeeded, &one).is_empty());
    }
}
