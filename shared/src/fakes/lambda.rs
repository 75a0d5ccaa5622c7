//! An in-memory Lambda account: functions, published versions and aliases with Lambda's rules.
//!
//! Four concerns, one module each: [`functions`] (functions and published versions),
//! [`aliases`] (alias reads and conditional writes), [`provisioned`] (provisioned-concurrency
//! allocations) and [`faults`] (call counting, scripted and seeded faults, someone else's
//! changes). They share one lock because Lambda's semantics span them: an alias write starts a
//! provisioned allocation, and a call is counted, faulted and applied as one step.

mod aliases;
mod faults;
mod functions;
mod provisioned;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::domain::AliasRoute;
use crate::ports::Clock;

pub use aliases::{AliasWrite, Writer};
pub use faults::{Fault, LambdaOp};

use faults::ScheduledChange;
use functions::Function;
use provisioned::Provisioned;

#[derive(Debug, Default)]
struct Account {
    functions: BTreeMap<String, Function>,
    writes: u64,
    history: Vec<AliasWrite>,
    calls: BTreeMap<LambdaOp, u64>,
    faults: BTreeMap<(LambdaOp, u64), Fault>,
    /// Seeded random faults, quota and latency.
    chaos: Option<super::clock::ChaosState>,
    /// Routes whose next writes fail with a 5xx, and how many more times.
    failing_writes: Vec<(AliasRoute, u32)>,
    /// Someone else's alias changes, applied at the first call at or after their time.
    scheduled: Vec<ScheduledChange>,
    /// Provisioned-concurrency configs, by function and alias.
    provisioned: BTreeMap<(String, String), Provisioned>,
}

/// A Lambda account in memory. RevisionId changes on every alias write and stale ones are
/// rejected; only published versions can be routed to; both routed versions must share role
/// and dead-letter config, as Lambda requires.
#[derive(Clone)]
pub struct FakeLambda {
    account: Arc<Mutex<Account>>,
    clock: Arc<dyn Clock>,
}

impl FakeLambda {
    /// An empty account on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FakeLambda {
            account: Arc::new(Mutex::new(Account::default())),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Account> {
        self.account.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An account with one function: `versions` published versions sharing one execution
    /// role, and `alias` on version 1 — where most deployment tests start.
    pub fn with_function(clock: Arc<dyn Clock>, name: &str, versions: u32, alias: &str) -> Self {
        let lambda = FakeLambda::new(clock);
        lambda.add_function(name, &format!("arn:aws:iam::123456789012:role/{name}"));
        for _ in 0..versions {
            lambda.publish(name);
        }
        lambda.put_alias(name, alias, AliasRoute::single("1"));
        lambda
    }
}
