//! The aliases a deployment moves: each step's weight is written to every member before the
//! bake starts (a release train moves several in lockstep, the first leading).

use std::ops::{Index, IndexMut};

use chrono::{DateTime, Utc};

use super::{Deployment, DocumentError};
use crate::domain::alias::{AliasRoute, AliasState, Member};

/// The aliases a deployment moves: never empty, the first leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members(Vec<Member>);

impl Members {
    /// The lead, then the others (a release train's).
    pub fn new(lead: Member, others: Vec<Member>) -> Members {
        let mut all = Vec::with_capacity(1 + others.len());
        all.push(lead);
        all.extend(others);
        Members(all)
    }

    /// The alias that leads (the only one, outside a release train).
    pub fn lead(&self) -> &Member {
        &self.0[0]
    }

    /// The lead and the others.
    pub fn split(&self) -> (&Member, &[Member]) {
        (&self.0[0], &self.0[1..])
    }

    /// Every member, the lead first.
    pub fn iter(&self) -> std::slice::Iter<'_, Member> {
        self.0.iter()
    }

    /// True for a release train: more than one alias moves. The one place that tells a train
    /// from a single alias (for wording, and for judging several configs as one).
    pub fn is_train(&self) -> bool {
        self.0.len() > 1
    }

    /// How many aliases move (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true; for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Member `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&Member> {
        self.0.get(index)
    }

    /// The members as a slice.
    pub fn as_slice(&self) -> &[Member] {
        &self.0
    }
}

impl Index<usize> for Members {
    type Output = Member;
    fn index(&self, index: usize) -> &Member {
        &self.0[index]
    }
}

impl IndexMut<usize> for Members {
    fn index_mut(&mut self, index: usize) -> &mut Member {
        &mut self.0[index]
    }
}

impl<'a> IntoIterator for &'a Members {
    type Item = &'a Member;
    type IntoIter = std::slice::Iter<'a, Member>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Members {
    type Item = Member;
    type IntoIter = std::vec::IntoIter<Member>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Deployment {
    /// Adds a release train's other aliases (pre-flight passed for each).
    pub fn with_train(mut self, others: Vec<Member>) -> Deployment {
        self.members.0.extend(others);
        self
    }

    /// Records what a write (or a read) of member `index` (0: the lead) returned; a write of
    /// the lead is the one a failed rollback's message no longer needs to call "in flight".
    pub fn record(&mut self, index: usize, state: &AliasState) {
        if let Some(member) = self.members.0.get_mut(index) {
            member.saw(state);
        }
        if index == 0 {
            self.progress.write_in_flight.clear();
        }
    }

    /// Records that the writes of the current step landed on every member (each recorded with
    /// [`Deployment::record`]), and decides what follows.
    pub fn landed(mut self, now: DateTime<Utc>) -> Result<Deployment, DocumentError> {
        let step = self.current_step()?;
        self.set_traffic(step.weight);
        self.start_step_clock(now);
        if !self.await_allocation(now) {
            self.decide_after_write(step);
        }
        Ok(self)
    }

    /// The route Shift Traffic (or Promote) writes to `member`: the current step's weight on
    /// its target, the rest on its original version.
    pub fn route_of(&self, member: &Member) -> Result<AliasRoute, DocumentError> {
        let lead = self.route_to_write()?;
        Ok(member.route_at(lead.weight_on(&self.lead().target_version)))
    }
}
