//! Provisioned concurrency as the document runs it: after every write the deployment waits,
//! parked and watched, until every alias that has some is READY
//! ([`crate::domain::provisioned::judge_readiness`]), and only then does the step's bake count.

use chrono::{DateTime, Utc};

use super::{Decision, Deployment, DocumentError};
use crate::domain::alarm::AlarmReport;
use crate::domain::alias::Member;
use crate::domain::failure::{ErrorKind, Failure};
use crate::domain::provisioned::{
    ConcurrencyConfig, ProvisionedConcurrency, Readiness, ReadyWait, combined, judge_readiness,
    next_read,
};

impl Deployment {
    /// Start Deployment: records the provisioned concurrency pre-flight read for each member
    /// (in [`Deployment::members`] order). Several aliases with some are judged as one
    /// ([`combined`]): READY only when every one is.
    pub fn with_provisioned_concurrency(
        mut self,
        configs: &[Option<ConcurrencyConfig>],
        wait: ReadyWait,
    ) -> Deployment {
        let provisioned: Vec<(usize, &ConcurrencyConfig)> = configs
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, c.as_ref()?)))
            .filter(|(i, _)| *i < self.members.len())
            .collect();
        let labelled: Vec<(String, ConcurrencyConfig)> = provisioned
            .iter()
            .map(|(i, c)| (self.members[*i].label(), (*c).clone()))
            .collect();
        let aliases = (self.members.is_train())
            .then(|| provisioned.iter().map(|(i, _)| *i).collect::<Vec<usize>>());
        // A lone alias is the default of `aliases`.
        self.provisioned_concurrency =
            self.concurrency_to_judge(labelled)
                .map(|config| ProvisionedConcurrency {
                    requested: config.requested,
                    ready_timeout_seconds: wait.ready_timeout_seconds,
                    poll_seconds: Some(wait.poll()),
                    waiting_since: None,
                    waited_seconds: 0,
                    last_status: Some(config),
                    aliases,
                });
        self
    }

    /// The one config to judge from each provisioned member's (label, config): a lone alias's
    /// as it is, a release train's combined ([`combined`]: READY only when every one is).
    pub fn concurrency_to_judge(
        &self,
        mut read: Vec<(String, ConcurrencyConfig)>,
    ) -> Option<ConcurrencyConfig> {
        match read.len() {
            0 => None,
            1 if !self.members.is_train() => read.pop().map(|(_, c)| c),
            _ => Some(combined(&read)),
        }
    }

    /// The members whose provisioned concurrency Check Health reads during a wait for READY.
    pub fn provisioned_members(&self) -> Vec<Member> {
        match self
            .provisioned_concurrency
            .as_ref()
            .and_then(|pc| pc.aliases.as_ref())
        {
            Some(indices) => indices
                .iter()
                .filter_map(|i| self.members.get(*i).cloned())
                .collect(),
            None => vec![self.lead().clone()],
        }
    }

    /// After a write of the aliases: with provisioned concurrency, wait for READY first
    /// (decision `awaitProvisionedConcurrency`), reading it every `pollSeconds`, and return true.
    pub(super) fn await_allocation(&mut self, now: DateTime<Utc>) -> bool {
        let interval = self.park_interval();
        let Some(pc) = self.provisioned_concurrency.as_mut() else {
            return false;
        };
        pc.waiting_since = Some(now);
        self.progress.wait_seconds = next_read(pc.poll_seconds, interval, pc.ready_timeout_seconds);
        self.decision = Decision::AwaitProvisionedConcurrency;
        true
    }

    /// Check Health during a wait for READY: an alarm (read when watched) rolls back; READY
    /// starts the step's bake clock now; FAILED, or still IN_PROGRESS past
    /// `readyTimeoutSeconds`, rolls back with `ProvisionedConcurrencyFailed`; else park again
    /// until the next poll ([`next_read`]).
    /// A config removed meanwhile leaves nothing to wait for. An operator's answer only wakes
    /// the wait early.
    pub fn allocation_checked(
        mut self,
        now: DateTime<Utc>,
        alarms: Option<&AlarmReport>,
        config: Option<&ConcurrencyConfig>,
    ) -> Result<Deployment, DocumentError> {
        if self.decision != Decision::AwaitProvisionedConcurrency {
            return Err(DocumentError::UnexpectedDecision {
                state: "Check Health (provisioned concurrency)",
                decision: self.decision,
            });
        }
        self.control = None;
        if let Some(failure) = self.watched(alarms) {
            return Ok(self.rolling_back(failure));
        }
        let interval = self.park_interval();
        let (subject, at) = (self.subject(), self.traffic_at());
        let Some(pc) = self.provisioned_concurrency.as_mut() else {
            return self.allocated(now);
        };
        pc.last_status = config.cloned();
        let since = *pc.waiting_since.get_or_insert(now);
        let waited = (now - since).num_seconds().max(0);
        match judge_readiness(config, waited, pc.ready_timeout_seconds, &subject, &at) {
            Readiness::Ready => self.allocated(now),
            Readiness::Failed(cause) => {
                let failure = Failure::new(ErrorKind::ProvisionedConcurrencyFailed, cause);
                Ok(self.rolling_back(failure))
            }
            Readiness::Waiting { left_seconds } => {
                self.progress.wait_seconds = next_read(pc.poll_seconds, interval, left_seconds);
                Ok(self)
            }
        }
    }

    /// READY: the wait is over, the step's bake (and analysis window) starts now.
    fn allocated(mut self, now: DateTime<Utc>) -> Result<Deployment, DocumentError> {
        if let Some(pc) = self.provisioned_concurrency.as_mut()
            && let Some(since) = pc.waiting_since.take()
        {
            pc.waited_seconds += u64::try_from((now - since).num_seconds()).unwrap_or(0);
        }
        self.start_step_clock(now);
        let step = self.current_step()?;
        self.decide_after_write(step);
        Ok(self)
    }
}
