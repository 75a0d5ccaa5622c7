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
use crate::domain::managed::Home;
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
    /// Where this account is, once [`FakeLambda::locate`]d: an ARN of another Region or
    /// account is then refused as Lambda refuses it.
    place: Option<Home>,
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

    /// Places the account at `home` (its partition, Region and account). Lambda's endpoints
    /// are regional (<https://docs.aws.amazon.com/general/latest/gr/lambda-service.html>): a
    /// call naming a function by an ARN of another Region is refused ("Functions from
    /// 'us-west-2' are not reachable in this region ('eu-west-1')"), and one of another account
    /// names a function this account does not hold. Until placed, a function is judged by its
    /// name alone.
    pub fn locate(&self, home: Home) {
        self.lock().place = Some(home);
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

#[cfg(test)]
mod tests {
    use super::FakeLambda;
    use crate::domain::AliasRoute;
    use crate::domain::managed::Home;
    use crate::error::ShifterError;
    use crate::fakes::ManualClock;
    use crate::ports::{AliasRouter, FunctionRegistry};
    use std::sync::Arc;

    fn arn(region: &str, account: &str) -> String {
        format!("arn:aws:lambda:{region}:{account}:function:orders")
    }

    /// Lambda answers for a function only at its own Region's endpoint, and an account holds
    /// only its own functions: a located fake refuses the rest as Lambda does, by every path
    /// (read, publish, alias write); an unlocated one judges by the name.
    #[tokio::test]
    async fn a_located_account_refuses_arns_of_another_region_or_account() {
        let lambda =
            FakeLambda::with_function(Arc::new(ManualClock::at_epoch()), "orders", 2, "live");
        let far = arn("us-west-2", "111111111111");
        assert!(
            lambda.get_alias(&far, "live").await.is_ok(),
            "unlocated: by name"
        );
        lambda.locate(Home::in_region("eu-west-1", "111111111111"));
        assert!(lambda.get_alias("orders", "live").await.is_ok());
        assert!(
            lambda
                .get_alias(&arn("eu-west-1", "111111111111"), "live")
                .await
                .is_ok()
        );
        let refused = lambda.get_alias(&far, "live").await.unwrap_err();
        assert!(
            matches!(refused, ShifterError::NotFound { .. }),
            "{refused}"
        );
        assert!(
            refused.to_string().contains(
                "Functions from 'us-west-2' are not reachable in this region ('eu-west-1')"
            ),
            "{refused}"
        );
        let other_account = arn("eu-west-1", "222222222222");
        assert!(matches!(
            lambda.get_alias(&other_account, "live").await,
            Err(ShifterError::NotFound { .. })
        ));
        assert!(!lambda.function_exists(&far).await.unwrap());
        assert!(!lambda.function_exists(&other_account).await.unwrap());
        assert!(lambda.function_exists("orders").await.unwrap());
        assert!(lambda.publish_version(&far).await.is_err());
        let revision = lambda
            .get_alias("orders", "live")
            .await
            .unwrap()
            .revision_id;
        let written = lambda
            .update_alias(&far, "live", &AliasRoute::single("2"), &revision)
            .await;
        assert!(
            matches!(written, Err(ShifterError::NotFound { .. })),
            "{written:?}"
        );
        assert_eq!(
            lambda.alias("orders", "live").unwrap().route,
            AliasRoute::single("1")
        );
    }
}
