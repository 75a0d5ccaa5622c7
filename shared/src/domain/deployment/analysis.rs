//! The canary analysis as the document runs it: when a window is due, and what a judgement
//! ([`crate::domain::analysis::judge`]) does to the deployment.

use chrono::{DateTime, Utc};

use super::{AnalysisRecord, Decision, Deployment};
use crate::domain::alias::Member;
use crate::domain::analysis::{Judgement, LowTraffic, VersionFigures, judge};
use crate::domain::failure::{ErrorKind, Failure};

impl Deployment {
    /// The window to analyse now, if one is due: while traffic bakes on the new version, a
    /// whole analysis interval since the window began, or the bake's end.
    pub fn analysis_due(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let analysis = self.analysis.as_ref()?;
        let bake = match self.decision {
            Decision::Bake => self.current_step().ok()?.bake_seconds,
            Decision::PostPromotionBake => self.progress.post_promotion_bake_seconds,
            _ => return None,
        };
        let started = self.progress.step_started_at;
        let from = analysis.window_from.unwrap_or(started);
        let window = (now - from).num_seconds();
        let bake_over = (now - started).num_seconds() >= i64::from(bake);
        (window >= i64::from(analysis.config.interval_seconds) || (bake_over && window > 0))
            .then_some((from, now))
    }

    /// Records an analysis of the window ending `now`: a broken limit rolls back
    /// (`AnalysisFailed`, both versions' figures in the cause); the next window starts now.
    /// `member` names the alias whose figures these are (in a release train, the worst of the
    /// train's); its version is the one the cause names.
    pub fn analysed(
        mut self,
        now: DateTime<Utc>,
        member: &Member,
        new: VersionFigures,
        old: VersionFigures,
    ) -> Deployment {
        let started = self.progress.step_started_at;
        let Some(analysis) = self.analysis.as_mut() else {
            return self;
        };
        let from = analysis.window_from.unwrap_or(started);
        let judgement = judge(&analysis.config, new, old);
        analysis.window_from = Some(now);
        analysis.last = Some(AnalysisRecord {
            at: now,
            window_seconds: (now - from).num_seconds(),
            new,
            old,
            judgement: judgement.clone(),
        });
        match judgement {
            Judgement::Failed(breach) => {
                let version = self.new_version_of(member);
                let cause = format!(
                    "canary analysis at {} on {version}: {breach}",
                    self.progress.traffic
                );
                self.rolling_back(Failure::new(ErrorKind::AnalysisFailed, cause))
            }
            Judgement::Healthy | Judgement::TooLittleTraffic { .. } => self,
        }
    }

    /// When the bake is over `over` seconds ago but the last analysis had too little traffic to
    /// judge and the input holds the step: `Ok` to park another interval — for at most the
    /// bake's own length (or one interval) — then the `AnalysisFailed` to roll back for.
    /// `None` when nothing holds.
    pub(super) fn held(&self, over: i64, bake: u32) -> Option<Result<(), Failure>> {
        let analysis = self.analysis.as_ref()?;
        if analysis.config.on_low_traffic != LowTraffic::Hold {
            return None;
        }
        let Some(AnalysisRecord {
            judgement:
                Judgement::TooLittleTraffic {
                    invocations,
                    needed,
                },
            ..
        }) = analysis.last
        else {
            return None;
        };
        let hold_limit = i64::from(bake.max(analysis.config.interval_seconds));
        if over < hold_limit {
            return Some(Ok(()));
        }
        let cause = format!(
            "canary analysis could not judge version {} at {}: {invocations} calls in the last \
             window, {needed} needed; the step was held {over}s past its bake",
            self.lead().target_version,
            self.progress.traffic
        );
        Some(Err(Failure::new(ErrorKind::AnalysisFailed, cause)))
    }
}
