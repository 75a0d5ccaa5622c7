//! Checks shared by the property, race, scale and catalog tests: the invariants of
//! docs/architecture.md#safety-invariants over a recorded alias history, and the only ways a
//! deployment may end.

use shifter::domain::{AliasRoute, Weight};
use shifter::fakes::{AliasWrite, Writer};
use shifter::states;
use shifter_statemachine::asl::{EventKind, HistoryEvent};
use shifter_statemachine::local::{LocalAccount, Run};

/// The alias a deployment moves, and the versions it moves between.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// Function name.
    pub function: &'a str,
    /// Alias name.
    pub alias: &'a str,
    /// The snapshot's version.
    pub original: &'a str,
    /// The version traffic moves to.
    pub target: &'a str,
}

/// How a deployment ended; every run must end in exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ending {
    /// All traffic on the target.
    Succeeded,
    /// The alias is exactly the snapshot again.
    RolledBack,
    /// Someone else changed the alias; their change is intact.
    StoppedOnDrift,
    /// The restore failed; the cause says where the alias is and how to restore it.
    RollbackFailed,
    /// Refused before anything was written.
    Rejected,
    /// The alias was already on the target; nothing was written.
    AlreadyCurrent,
}

/// Writes to `t`'s alias made after the first `setup` entries of the history.
pub fn writes_since(history: &[AliasWrite], setup: usize, t: &Target<'_>) -> Vec<AliasWrite> {
    history
        .iter()
        .skip(setup)
        .filter(|w| w.function == t.function && w.alias == t.alias)
        .cloned()
        .collect()
}

/// Invariants 2–5 of docs/architecture.md#safety-invariants over the writes one deployment
/// (and any other party) made to its alias during a run.
pub fn check_history(writes: &[AliasWrite], t: &Target<'_>) -> Result<(), String> {
    let snapshot = AliasRoute::single(t.original);
    let mut last_weight = Weight::ZERO;
    let mut rolled_back = false;
    let mut drifted = false;
    for w in writes {
        if w.by == Writer::Other {
            drifted = true;
            continue;
        }
        // Invariant 2: after someone else's change, we never write again.
        if drifted {
            return Err(format!("wrote after someone else changed the alias: {w:?}"));
        }
        if w.route == snapshot {
            // Invariant 4: the restore is the snapshot exactly, once, and the last write.
            if rolled_back {
                return Err(format!("restored twice: {writes:?}"));
            }
            rolled_back = true;
            continue;
        }
        if rolled_back {
            return Err(format!("wrote after the rollback: {w:?}"));
        }
        // Invariant 3: only original ↔ target, with strictly increasing weight.
        let on_target = w.route.weight_on(t.target);
        let on_original = w.route.weight_on(t.original);
        if u32::from(on_target.bp()) + u32::from(on_original.bp()) != 10_000 {
            return Err(format!("route involves a third version: {w:?}"));
        }
        if on_target <= last_weight {
            return Err(format!(
                "weight did not increase: {last_weight} then {}",
                w.route
            ));
        }
        // Invariant 5: the fraction that reaches the API is exact.
        if let Some(extra) = &w.route.additional {
            let text = serde_json::to_string(&extra.weight.as_fraction()).unwrap_or_default();
            if text.len() > 6 {
                return Err(format!("float drift: {text} in {w:?}"));
            }
        }
        last_weight = on_target;
    }
    Ok(())
}

/// Classifies how a run ended and checks that the alias is where that ending says it is.
pub fn classify(
    run: &Run,
    now: Option<&AliasRoute>,
    writes: &[AliasWrite],
    t: &Target<'_>,
) -> Result<Ending, String> {
    let e = &run.execution;
    let ours = writes.iter().filter(|w| w.by == Writer::Deployment).count();
    let error = e.error.as_deref().unwrap_or_default();
    let cause = e.cause.as_deref().unwrap_or_default();
    let explain = |what: &str| {
        format!(
            "{what}: ended in {:?} with {error} ({cause}); alias {now:?}; writes {writes:?}",
            e.final_state
        )
    };
    let ending = match e.final_state.as_str() {
        states::DEPLOYMENT_SUCCEEDED => {
            if now != Some(&AliasRoute::single(t.target)) {
                return Err(explain(
                    "succeeded but the alias is not fully on the target",
                ));
            }
            Ending::Succeeded
        }
        states::DEPLOYMENT_ROLLED_BACK => {
            if now != Some(&AliasRoute::single(t.original)) {
                return Err(explain("rolled back but the alias is not the snapshot"));
            }
            Ending::RolledBack
        }
        states::STOPPED_ON_DRIFT => {
            let Some(theirs) = writes.iter().rev().find(|w| w.by == Writer::Other) else {
                return Err(explain("stopped on drift but nobody else wrote"));
            };
            if now != Some(&theirs.route) || writes.last().map(|w| w.by) != Some(Writer::Other) {
                return Err(explain("stopped on drift but their change is not intact"));
            }
            if error != "AliasDrift" {
                return Err(explain("stopped on drift with another error"));
            }
            Ending::StoppedOnDrift
        }
        states::ROLLBACK_FAILED => {
            let command = format!(
                "aws lambda update-alias --function-name {} --name {} --function-version {}",
                t.function, t.alias, t.original
            );
            if error != "RollbackFailed" || !cause.contains(&command) {
                return Err(explain("rollback failed without the restore command"));
            }
            let Some(seen) = cause
                .split("Our last confirmed write left it on ")
                .nth(1)
                .and_then(|rest| rest.split(". ").next())
            else {
                return Err(explain(
                    "rollback failed without the alias's last known state",
                ));
            };
            // The cause names where the alias is: as the deployment last confirmed it, as the
            // write in flight when Shift Traffic or Promote failed, or as Roll Back found it.
            let here = now.map(ToString::to_string).unwrap_or_default();
            let named = seen == here
                || cause.contains(&format!("A write moving it to {here} may also have landed"))
                || cause.contains(&format!("the alias routed {here}"));
            if !named && now != Some(&AliasRoute::single(t.original)) {
                return Err(explain(&format!("the cause says {seen:?}")));
            }
            Ending::RollbackFailed
        }
        states::DEPLOYMENT_REJECTED => {
            if ours > 0 {
                return Err(explain("rejected after writing"));
            }
            Ending::Rejected
        }
        states::ALREADY_CURRENT => {
            if ours > 0 {
                return Err(explain("already current but wrote"));
            }
            Ending::AlreadyCurrent
        }
        _ => return Err(explain("ended in an unexpected state")),
    };
    if ending != Ending::Succeeded && ending != Ending::AlreadyCurrent && e.error.is_none() {
        return Err(explain("failed without an error name"));
    }
    if matches!(ending, Ending::Rejected | Ending::AlreadyCurrent) && ours > 0 {
        return Err(explain("wrote without a deployment"));
    }
    Ok(ending)
}

/// An observer that records, at the moment Start Deployment finishes, how many alias writes
/// the account had seen (invariant 1: nothing changed before the pre-flight checks passed).
pub fn preflight_probe(
    account: &LocalAccount,
) -> (
    std::sync::Arc<std::sync::Mutex<Option<usize>>>,
    impl FnMut(&HistoryEvent) + Send + use<>,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (lambda, out) = (account.lambda.clone(), seen.clone());
    let observer = move |e: &HistoryEvent| {
        let exited = matches!(&e.kind, EventKind::StateExited { name, .. } if name == states::START_DEPLOYMENT);
        let failed =
            matches!(&e.kind, EventKind::Caught { state, .. } if state == states::START_DEPLOYMENT);
        if exited || failed {
            let mut slot = out
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            slot.get_or_insert(lambda.history().len());
        }
    };
    (seen, observer)
}

/// The target version Start Deployment resolved, if it got that far.
pub fn first_target(run: &Run) -> String {
    shifter_statemachine::local::first_deployment(run)
        .map(|d| d.lead().target_version.clone())
        .unwrap_or_default()
}

/// The number of steps (alias writes on success) Start Deployment planned.
pub fn plan_len(run: &Run) -> usize {
    shifter_statemachine::local::first_deployment(run).map_or(0, |d| d.progress.plan.len())
}

/// The demo alias is back on its snapshot, version 1 with no routing.
pub async fn alias_is_snapshot(account: &LocalAccount) {
    let alias = account.alias_state("demo", "live").await.unwrap();
    assert_eq!(alias.route, AliasRoute::single("1"));
}

/// How many times the run entered `state`.
pub fn entered(run: &Run, state: &str) -> usize {
    run.execution
        .events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::StateEntered { name, .. } if name == state))
        .count()
}
