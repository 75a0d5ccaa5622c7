//! DynamoDB (`DeploymentRegistry`): one suite of behaviours, run on `FakeRegistry` and on
//! `DynamoDbRegistry` over moto's DynamoDB (which evaluates condition expressions, returns the
//! item of a failed condition and serves UpdateTimeToLive); throttling, 5xx, refusals and
//! unprocessed batch writes run on the adapter over aws-smithy-mocks.
//!
//! Conditional writes: <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>,
//! <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html>.
//! TTL (expired items are deleted only eventually and still appear in reads until then):
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>.
//! Errors: <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{BillingMode, KeyType, ScalarAttributeType};
use shifter::aws::dynamodb::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use shifter::aws::{AwsClients, DynamoDbRegistry};
use shifter::fakes::{FakeRegistry, ManualClock};
use shifter::ports::{ActiveDeployment, DeploymentRegistry, Lock, ParkedTask};

use crate::support::{
    assert_not_found, attribute, enable_ttl, key, moto_clients, moto_test, unique,
};

// ---------------------------------------------------------------- worlds

/// A fresh, empty registry with the port under test on top.
trait RegistryWorld {
    type Port: DeploymentRegistry;
    fn port(&self) -> &Self::Port;
    /// Now, in epoch seconds, as the port judges expiry.
    fn now(&self) -> i64;
}

struct FakeRegistryWorld {
    registry: FakeRegistry,
    clock: ManualClock,
}

impl FakeRegistryWorld {
    fn new() -> FakeRegistryWorld {
        let clock = ManualClock::at_epoch();
        FakeRegistryWorld {
            registry: FakeRegistry::new(Arc::new(clock.clone())),
            clock,
        }
    }
}

impl RegistryWorld for FakeRegistryWorld {
    type Port = FakeRegistry;
    fn port(&self) -> &FakeRegistry {
        &self.registry
    }
    fn now(&self) -> i64 {
        use shifter::ports::Clock;
        self.clock.now().timestamp()
    }
}

struct MotoRegistryWorld {
    clients: AwsClients,
    table: String,
    port: DynamoDbRegistry,
}

impl MotoRegistryWorld {
    /// A new table laid out as template.yaml declares it: `pk`/`sk` strings, on demand, TTL on
    /// `expiresAt`.
    async fn new() -> MotoRegistryWorld {
        let clients = moto_clients().await;
        let table = unique("registry");
        clients
            .dynamodb
            .create_table()
            .table_name(&table)
            .attribute_definitions(attribute(PARTITION_KEY, ScalarAttributeType::S))
            .attribute_definitions(attribute(SORT_KEY, ScalarAttributeType::S))
            .key_schema(key(PARTITION_KEY, KeyType::Hash))
            .key_schema(key(SORT_KEY, KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("moto CreateTable");
        enable_ttl(&clients.dynamodb, &table, TTL_ATTRIBUTE).await;
        let port = DynamoDbRegistry::new(clients.dynamodb.clone(), &table);
        MotoRegistryWorld {
            clients,
            table,
            port,
        }
    }

    /// Every item in the table, as (pk, sk).
    async fn keys(&self) -> Vec<(String, String)> {
        let out = self
            .clients
            .dynamodb
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .send()
            .await
            .expect("moto Scan");
        let text = |item: &std::collections::HashMap<_, _>, k: &str| {
            item.get(k)
                .and_then(|v: &aws_sdk_dynamodb::types::AttributeValue| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let mut keys: Vec<_> = out
            .items()
            .iter()
            .map(|i| (text(i, PARTITION_KEY), text(i, SORT_KEY)))
            .collect();
        keys.sort();
        keys
    }
}

impl RegistryWorld for MotoRegistryWorld {
    type Port = DynamoDbRegistry;
    fn port(&self) -> &DynamoDbRegistry {
        &self.port
    }
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

// ---------------------------------------------------------------- the suite

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:shifter";

/// Deployment `id` of `orders:<alias>` watching `alarms`, expiring in an hour.
fn deployment<W: RegistryWorld>(w: &W, id: &str, alias: &str, alarms: &[&str]) -> ActiveDeployment {
    ActiveDeployment {
        deployment_id: id.to_owned(),
        execution_arn: format!("{ARN}:{id}"),
        function: "orders".to_owned(),
        alias: alias.to_owned(),
        target_version: "7".to_owned(),
        alarms: alarms.iter().map(|a| (*a).to_owned()).collect(),
        expires_at: w.now() + 3600,
    }
}

fn task(token: &str, kind: &str, traffic: f64) -> ParkedTask {
    ParkedTask {
        task_token: token.to_owned(),
        kind: shifter::states::ParkKind::from_wire(kind).expect("a park kind"),
        traffic_percent: traffic,
    }
}

/// Deployment ids watching `alarm`, with their parked tokens.
async fn watchers<W: RegistryWorld>(w: &W, alarm: &str) -> Vec<(String, Option<String>)> {
    let mut found: Vec<_> = w
        .port()
        .watching(alarm)
        .await
        .expect("watching")
        .into_iter()
        .map(|(d, t)| (d.deployment_id, t.map(|t| t.task_token)))
        .collect();
    found.sort();
    found
}

fn ids(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(id, t)| ((*id).to_owned(), t.map(str::to_owned)))
        .collect()
}

mod suite {
    use super::*;

    pub async fn the_lock_is_taken_once_and_names_its_holder<W: RegistryWorld>(w: &W) {
        let first = deployment(w, "d1", "live", &["errors"]);
        assert_eq!(w.port().acquire(&first).await.unwrap(), Lock::Acquired);
        let second = deployment(w, "d2", "live", &["errors", "latency"]);
        assert_eq!(
            w.port().acquire(&second).await.unwrap(),
            Lock::HeldBy(first.clone()),
            "a second deployment is told who holds the alias"
        );
        assert_eq!(watchers(w, "errors").await, ids(&[("d1", None)]));
        assert!(
            watchers(w, "latency").await.is_empty(),
            "the refused deployment wrote no watch item"
        );
    }

    pub async fn the_same_deployment_id_acquires_again<W: RegistryWorld>(w: &W) {
        let d = deployment(w, "d1", "live", &["errors"]);
        assert_eq!(w.port().acquire(&d).await.unwrap(), Lock::Acquired);
        assert_eq!(
            w.port().acquire(&d).await.unwrap(),
            Lock::Acquired,
            "a retried Start Deployment keeps its lock"
        );
        assert_eq!(watchers(w, "errors").await, ids(&[("d1", None)]));
    }

    pub async fn another_alias_is_another_lock<W: RegistryWorld>(w: &W) {
        let live = deployment(w, "d1", "live", &["errors"]);
        let beta = deployment(w, "d2", "beta", &["errors"]);
        assert_eq!(w.port().acquire(&live).await.unwrap(), Lock::Acquired);
        assert_eq!(w.port().acquire(&beta).await.unwrap(), Lock::Acquired);
        assert_eq!(
            watchers(w, "errors").await,
            ids(&[("d1", None), ("d2", None)])
        );
    }

    pub async fn park_hands_over_the_pending_alarm_once<W: RegistryWorld>(w: &W) {
        w.port()
            .acquire(&deployment(w, "d1", "live", &["errors"]))
            .await
            .unwrap();
        let noted = w
            .port()
            .note_alarm("orders", "live", "d1", "errors", None)
            .await
            .unwrap();
        assert_eq!(noted, None, "nothing parked: the alarm is noted");
        let bake = task("t1", "bake", 10.0);
        let parked = w.port().park("orders", "live", "d1", &bake).await.unwrap();
        assert_eq!(parked.pending_alarm.as_deref(), Some("errors"));
        assert_eq!(parked.previous, None, "nothing was parked before");
        assert!(!parked.execution_arn.is_empty(), "the holder's execution");
        let gate = task("t2", "approval", 50.0);
        let parked = w.port().park("orders", "live", "d1", &gate).await.unwrap();
        assert_eq!(parked.pending_alarm, None, "the first park cleared it");
        assert_eq!(
            parked.previous,
            Some(bake),
            "the task parked before comes back"
        );
    }

    pub async fn watching_finds_deployments_by_alarm_with_their_parked_task<W: RegistryWorld>(
        w: &W,
    ) {
        let live = deployment(w, "d1", "live", &["errors", "latency"]);
        w.port().acquire(&live).await.unwrap();
        w.port()
            .acquire(&deployment(w, "d2", "beta", &["latency"]))
            .await
            .unwrap();
        let bake = task("token-1", "bake", 12.5);
        w.port().park("orders", "live", "d1", &bake).await.unwrap();
        let found = w.port().watching("errors").await.unwrap();
        assert_eq!(found, vec![(live, Some(bake))]);
        assert_eq!(
            watchers(w, "latency").await,
            ids(&[("d1", Some("token-1")), ("d2", None)])
        );
        assert!(watchers(w, "nobody-watches-this").await.is_empty());
    }

    pub async fn note_alarm_hands_back_a_task_parked_meanwhile<W: RegistryWorld>(w: &W) {
        w.port()
            .acquire(&deployment(w, "d1", "live", &["errors"]))
            .await
            .unwrap();
        let bake = task("t1", "bake", 10.0);
        w.port().park("orders", "live", "d1", &bake).await.unwrap();
        let parked = w
            .port()
            .note_alarm("orders", "live", "d1", "errors", None)
            .await
            .unwrap();
        assert_eq!(parked, Some(bake.clone()), "fail this one instead");
        let other = w
            .port()
            .note_alarm("orders", "live", "d1", "errors", Some("t0"))
            .await
            .unwrap();
        assert_eq!(other, Some(bake), "t1 is parked, not the answered t0");
        // t1 turned out stale: the alarm is noted for the next park.
        let noted = w
            .port()
            .note_alarm("orders", "live", "d1", "errors", Some("t1"))
            .await
            .unwrap();
        assert_eq!(noted, None);
        let next = task("t2", "bake", 20.0);
        let parked = w.port().park("orders", "live", "d1", &next).await.unwrap();
        assert_eq!(parked.pending_alarm.as_deref(), Some("errors"));
    }

    pub async fn release_by_a_non_holder_leaves_everything<W: RegistryWorld>(w: &W) {
        let d1 = deployment(w, "d1", "live", &["errors"]);
        w.port().acquire(&d1).await.unwrap();
        w.port()
            .park("orders", "live", "d1", &task("t1", "bake", 10.0))
            .await
            .unwrap();
        w.port().release("orders", "live", "d2").await.unwrap();
        assert_eq!(watchers(w, "errors").await, ids(&[("d1", Some("t1"))]));
        let d2 = deployment(w, "d2", "live", &["errors"]);
        assert_eq!(
            w.port().acquire(&d2).await.unwrap(),
            Lock::HeldBy(d1.clone())
        );

        assert_eq!(
            w.port().release("orders", "live", "d1").await.unwrap(),
            Some(d1.clone()),
            "the release hands back what the lock held"
        );
        assert!(watchers(w, "errors").await.is_empty());
        assert_eq!(
            w.port()
                .release("orders", "live", "d1")
                .await
                .expect("releasing again is a no-op"),
            None
        );
        assert_eq!(w.port().acquire(&d2).await.unwrap(), Lock::Acquired);
    }

    /// A rolled-back version is remembered per alias until cleared or expired; another alias
    /// or version knows nothing of it.
    pub async fn rolled_back_versions_are_remembered_per_alias<W: RegistryWorld>(w: &W) {
        let record = shifter::ports::RolledBackVersion {
            function: "orders".into(),
            alias: "live".into(),
            version: "7".into(),
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:sm:d1".into(),
            error: "AlarmTriggered".into(),
            at: w.now(),
            expires_at: w.now() + 3600,
        };
        let port = w.port();
        assert_eq!(port.rolled_back("orders", "live", "7").await.unwrap(), None);
        port.mark_rolled_back(&record).await.unwrap();
        assert_eq!(
            port.rolled_back("orders", "live", "7").await.unwrap(),
            Some(record.clone())
        );
        assert_eq!(port.rolled_back("orders", "beta", "7").await.unwrap(), None);
        assert_eq!(port.rolled_back("orders", "live", "8").await.unwrap(), None);
        // The lock of the same alias is another item.
        let d1 = deployment(w, "d1", "live", &[]);
        assert_eq!(port.acquire(&d1).await.unwrap(), Lock::Acquired);
        port.clear_rolled_back("orders", "live", "7").await.unwrap();
        assert_eq!(port.rolled_back("orders", "live", "7").await.unwrap(), None);
        port.clear_rolled_back("orders", "live", "7")
            .await
            .expect("clearing again is a no-op");
        let expired = shifter::ports::RolledBackVersion {
            expires_at: w.now() - 1,
            ..record
        };
        port.mark_rolled_back(&expired).await.unwrap();
        assert_eq!(port.rolled_back("orders", "live", "7").await.unwrap(), None);
    }

    pub async fn park_and_notes_need_the_lock<W: RegistryWorld>(w: &W) {
        assert_not_found(
            w.port()
                .park("orders", "live", "d1", &task("t1", "bake", 10.0))
                .await,
            "lock of deployment d1 on orders:live",
        );
        let noted = w
            .port()
            .note_alarm("orders", "live", "d1", "errors", None)
            .await
            .unwrap();
        assert_eq!(
            noted, None,
            "a late event for an ended deployment is ignored"
        );
        w.port()
            .acquire(&deployment(w, "d2", "live", &["errors"]))
            .await
            .unwrap();
        assert_not_found(
            w.port()
                .park("orders", "live", "d1", &task("t1", "bake", 10.0))
                .await,
            "lock of deployment d1 on orders:live",
        );
        let noted = w
            .port()
            .note_alarm("orders", "live", "d1", "errors", None)
            .await
            .unwrap();
        assert_eq!(noted, None);
        let pending = w
            .port()
            .park("orders", "live", "d2", &task("t2", "bake", 10.0))
            .await
            .unwrap();
        assert_eq!(
            pending.pending_alarm, None,
            "d1's note did not land on d2's lock"
        );
    }

    pub async fn an_expired_lock_is_free_and_no_longer_watched<W: RegistryWorld>(w: &W) {
        let mut stale = deployment(w, "d1", "live", &["errors"]);
        stale.expires_at = w.now() - 60;
        w.port().acquire(&stale).await.unwrap();
        assert!(
            watchers(w, "errors").await.is_empty(),
            "expired entries count as gone before TTL deletes them"
        );
        let next = deployment(w, "d2", "live", &["errors"]);
        assert_eq!(w.port().acquire(&next).await.unwrap(), Lock::Acquired);
        assert_eq!(watchers(w, "errors").await, ids(&[("d2", None)]));
        assert_not_found(
            w.port()
                .park("orders", "live", "d1", &task("t1", "bake", 10.0))
                .await,
            "lock of deployment d1 on orders:live",
        );
    }

    /// The holder read: the live lock's deployment, none once released or expired.
    pub async fn holder_names_the_live_lock_only<W: RegistryWorld>(w: &W) {
        let port = w.port();
        assert_eq!(port.holder("orders", "live").await.unwrap(), None);
        let d = deployment(w, "d1", "live", &["errors"]);
        port.acquire(&d).await.unwrap();
        assert_eq!(port.holder("orders", "live").await.unwrap(), Some(d));
        assert_eq!(port.holder("orders", "beta").await.unwrap(), None);
        port.release("orders", "live", "d1").await.unwrap();
        assert_eq!(port.holder("orders", "live").await.unwrap(), None);
        let mut stale = deployment(w, "d2", "live", &[]);
        stale.expires_at = w.now() - 60;
        port.acquire(&stale).await.unwrap();
        assert_eq!(
            port.holder("orders", "live").await.unwrap(),
            None,
            "an expired lock has no holder before TTL deletes it"
        );
    }

    /// A write noted on the lock before it is sent is read back by its holder only; a note by a
    /// deployment that does not hold the lock is refused, and nothing is left after release.
    pub async fn a_noted_write_is_read_back_by_its_holder_only<W: RegistryWorld>(w: &W) {
        use shifter::domain::{AliasRoute, LastWrite, Weight};
        let port = w.port();
        let d = deployment(w, "d1", "live", &[]);
        port.acquire(&d).await.unwrap();
        assert_eq!(port.last_write("orders", "live", "d1").await.unwrap(), None);
        let noted = LastWrite {
            start_version: "6".into(),
            over_revision: "rev-1".into(),
            route: AliasRoute::split("6", "7", Weight::from_bp(1000).unwrap()),
        };
        port.note_write("orders", "live", "d1", &noted)
            .await
            .unwrap();
        assert_eq!(
            port.last_write("orders", "live", "d1").await.unwrap(),
            Some(noted.clone())
        );
        assert_eq!(port.last_write("orders", "live", "d2").await.unwrap(), None);
        assert_not_found(
            port.note_write("orders", "live", "d2", &noted).await,
            "registry lock of deployment d2 on orders:live (the execution ended or its lock \
             expired); nothing written",
        );
        port.release("orders", "live", "d1").await.unwrap();
        assert_eq!(port.last_write("orders", "live", "d1").await.unwrap(), None);
        assert!(
            port.note_write("orders", "live", "d1", &noted)
                .await
                .is_err()
        );
    }

    /// More alarms than one BatchWriteItem call takes (25).
    pub async fn every_alarm_of_many_is_watched_and_released<W: RegistryWorld>(w: &W) {
        let names: Vec<String> = (0..60).map(|i| format!("alarm-{i:02}")).collect();
        let alarms: Vec<&str> = names.iter().map(String::as_str).collect();
        let d = deployment(w, "d1", "live", &alarms);
        assert_eq!(w.port().acquire(&d).await.unwrap(), Lock::Acquired);
        for alarm in [alarms[0], alarms[25], alarms[59]] {
            assert_eq!(watchers(w, alarm).await, ids(&[("d1", None)]), "{alarm}");
        }
        w.port().release("orders", "live", "d1").await.unwrap();
        for alarm in [alarms[0], alarms[25], alarms[59]] {
            assert!(watchers(w, alarm).await.is_empty(), "{alarm}");
        }
    }
}

/// Runs a registry behaviour on the fake and on the adapter over moto.
macro_rules! on_fake_and_moto {
    ($behaviour:ident) => {
        mod $behaviour {
            use super::*;

            #[tokio::test]
            async fn fake() {
                suite::$behaviour(&FakeRegistryWorld::new()).await;
            }

            moto_test! {
                async fn moto() {
                    suite::$behaviour(&MotoRegistryWorld::new().await).await;
                }
            }
        }
    };
}

on_fake_and_moto!(the_lock_is_taken_once_and_names_its_holder);
on_fake_and_moto!(the_same_deployment_id_acquires_again);
on_fake_and_moto!(another_alias_is_another_lock);
on_fake_and_moto!(park_hands_over_the_pending_alarm_once);
on_fake_and_moto!(watching_finds_deployments_by_alarm_with_their_parked_task);
on_fake_and_moto!(note_alarm_hands_back_a_task_parked_meanwhile);
on_fake_and_moto!(release_by_a_non_holder_leaves_everything);
on_fake_and_moto!(park_and_notes_need_the_lock);
on_fake_and_moto!(an_expired_lock_is_free_and_no_longer_watched);
on_fake_and_moto!(every_alarm_of_many_is_watched_and_released);
on_fake_and_moto!(rolled_back_versions_are_remembered_per_alias);
on_fake_and_moto!(holder_names_the_live_lock_only);
on_fake_and_moto!(a_noted_write_is_read_back_by_its_holder_only);

moto_test! {
    /// The items are where the design puts them (a lock per alias, a watch item per alarm), and
    /// a release deletes them all rather than leaving them to TTL.
    async fn items_follow_the_single_table_layout_on_moto() {
        let w = MotoRegistryWorld::new().await;
        w.port
            .acquire(&deployment(&w, "d1", "live", &["errors", "latency"]))
            .await
            .unwrap();
        let keys = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(p, s)| ((*p).to_owned(), (*s).to_owned())).collect()
        };
        assert_eq!(
            w.keys().await,
            keys(&[
                ("ALARM#errors", "DEPLOYMENT#d1"),
                ("ALARM#latency", "DEPLOYMENT#d1"),
                ("ALIAS#orders#live", "LOCK"),
            ])
        );
        w.port.release("orders", "live", "d1").await.unwrap();
        assert_eq!(w.keys().await, keys(&[]));
    }
}

moto_test! {
    /// TTL is on `expiresAt`, the attribute every entry carries.
    async fn ttl_is_enabled_on_expires_at_on_moto() {
        let w = MotoRegistryWorld::new().await;
        let out = w
            .clients
            .dynamodb
            .describe_time_to_live()
            .table_name(&w.table)
            .send()
            .await
            .expect("DescribeTimeToLive");
        let ttl = out.time_to_live_description().expect("a TTL description");
        assert_eq!(ttl.attribute_name(), Some(TTL_ATTRIBUTE));
        assert_eq!(
            ttl.time_to_live_status().map(|s| s.as_str()),
            Some("ENABLED")
        );
    }
}

moto_test! {
    /// A table that does not exist is named (a stack deployed without it, a wrong variable).
    async fn a_missing_table_is_named_on_moto() {
        let clients = moto_clients().await;
        let table = unique("no-such-table");
        let registry = DynamoDbRegistry::new(clients.dynamodb.clone(), &table);
        assert_not_found(
            registry.watching("errors").await,
            &format!("registry table {table}"),
        );
        let w = FakeRegistryWorld::new();
        assert_not_found(
            registry.acquire(&deployment(&w, "d1", "live", &[])).await,
            &format!("registry table {table}"),
        );
    }
}

/// The table template.yaml declares is the one the adapter expects.
#[test]
fn the_template_declares_the_table_the_adapter_expects() {
    let template = include_str!("../../../template.yaml");
    let table = template
        .split_once("\n  RegistryTable:\n")
        .expect("template.yaml declares RegistryTable")
        .1;
    let table = &table[..table.find("\n\n").unwrap_or(table.len())];
    for expected in [
        "Type: AWS::DynamoDB::Table",
        "BillingMode: PAY_PER_REQUEST",
        &format!("- AttributeName: {PARTITION_KEY}\n          AttributeType: S"),
        &format!("- AttributeName: {SORT_KEY}\n          AttributeType: S"),
        &format!("- AttributeName: {PARTITION_KEY}\n          KeyType: HASH"),
        &format!("- AttributeName: {SORT_KEY}\n          KeyType: RANGE"),
        &format!(
            "TimeToLiveSpecification:\n        AttributeName: {TTL_ATTRIBUTE}\n        Enabled: true"
        ),
    ] {
        assert!(
            table.contains(expected),
            "RegistryTable lacks {expected:?}:\n{table}"
        );
    }
}

// ---------------------------------------------------------------- aws-smithy-mocks

mod mocks {
    use std::collections::HashMap;
    use std::time::Duration;

    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use serde_json::json;

    use super::*;
    use crate::support::{ATTEMPTS, error_body, http_error, throttled};

    const TABLE: &str = "shifter-registry";

    fn client(mode: RuleMode, rules: &[&Rule]) -> DynamoDbRegistry {
        let client = mock_client!(aws_sdk_dynamodb, mode, rules, |c| c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(ATTEMPTS as u32)
                .with_initial_backoff(Duration::from_millis(1))
        ));
        DynamoDbRegistry::new(client, TABLE)
    }

    fn d1() -> ActiveDeployment {
        deployment(&FakeRegistryWorld::new(), "d1", "live", &["errors"])
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    /// The lock item DynamoDB would hold for `id` on orders:live, watching `alarms`.
    fn lock_item(id: &str, alarms: &[&str]) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), s("ALIAS#orders#live")),
            ("sk".to_owned(), s("LOCK")),
            ("deploymentId".to_owned(), s(id)),
            ("executionArn".to_owned(), s(&format!("{ARN}:{id}"))),
            ("functionName".to_owned(), s("orders")),
            ("alias".to_owned(), s("live")),
            ("targetVersion".to_owned(), s("7")),
            (
                "alarms".to_owned(),
                AttributeValue::L(alarms.iter().map(|a| s(a)).collect()),
            ),
            (
                "expiresAt".to_owned(),
                AttributeValue::N((chrono::Utc::now().timestamp() + 3600).to_string()),
            ),
        ])
    }

    #[tokio::test]
    async fn throttling_is_transient_after_sdk_retries() {
        let put = throttled(mock!(aws_sdk_dynamodb::Client::put_item));
        let err = client(RuleMode::Sequential, &[&put])
            .acquire(&d1())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(put.num_calls(), ATTEMPTS);
    }

    #[tokio::test]
    async fn provisioned_throughput_and_server_errors_are_transient() {
        let exceeded = error_body(
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        );
        let query = http_error(
            mock!(aws_sdk_dynamodb::Client::query),
            400,
            exceeded,
            ATTEMPTS,
        );
        let err = client(RuleMode::Sequential, &[&query])
            .watching("errors")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert!(
            err.to_string().contains("ProvisionedThroughputExceeded"),
            "{err}"
        );

        let internal = error_body("InternalServerError", "Internal server error");
        let update = http_error(
            mock!(aws_sdk_dynamodb::Client::update_item),
            500,
            internal,
            ATTEMPTS,
        );
        let err = client(RuleMode::Sequential, &[&update])
            .park("orders", "live", "d1", &task("t", "bake", 10.0))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
    }

    #[tokio::test]
    async fn access_denied_names_the_operation_and_the_table() {
        let denied = error_body(
            "AccessDeniedException",
            "User is not authorized to perform: dynamodb:PutItem",
        );
        let put = http_error(mock!(aws_sdk_dynamodb::Client::put_item), 400, denied, 1);
        let err = client(RuleMode::Sequential, &[&put])
            .acquire(&d1())
            .await
            .unwrap_err();
        // Issue 21, item 3: named as a denial, with the missing action and the table.
        assert_eq!(err.kind(), "AccessDenied", "{err}");
        let message = err.to_string();
        assert!(message.starts_with("access denied: "), "{message}");
        assert!(message.contains("lacks dynamodb:PutItem"), "{message}");
        assert!(message.contains(TABLE), "{message}");
        assert_eq!(put.num_calls(), 1, "a refusal is not retried");
    }

    #[tokio::test]
    async fn a_missing_table_is_not_found() {
        let missing = error_body("ResourceNotFoundException", "Requested resource not found");
        let get = http_error(mock!(aws_sdk_dynamodb::Client::get_item), 400, missing, 1);
        assert_not_found(
            client(RuleMode::Sequential, &[&get])
                .release("orders", "live", "d1")
                .await,
            &format!("registry table {TABLE}"),
        );
    }

    #[tokio::test]
    async fn a_failed_condition_returns_the_holder_without_a_second_read() {
        let body = json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed",
            "Item": {
                "pk": {"S": "ALIAS#orders#live"}, "sk": {"S": "LOCK"},
                "deploymentId": {"S": "d0"}, "executionArn": {"S": "arn:x:d0"},
                "functionName": {"S": "orders"}, "alias": {"S": "live"},
                "targetVersion": {"S": "6"}, "alarms": {"L": [{"S": "errors"}]},
                "expiresAt": {"N": "1999999999"}
            }
        });
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(|req| {
                req.condition_expression() == Some("attribute_not_exists(pk) OR expiresAt < :now")
                    && req
                        .return_values_on_condition_check_failure()
                        .map(|r| r.as_str())
                        == Some("ALL_OLD")
            })
            .sequence()
            .http_status(400, Some(body.to_string()))
            .build();
        let lock = client(RuleMode::Sequential, &[&put])
            .acquire(&d1())
            .await
            .expect("an answer");
        let Lock::HeldBy(holder) = lock else {
            panic!("expected HeldBy, got {lock:?}");
        };
        assert_eq!(holder.deployment_id, "d0");
        assert_eq!(holder.execution_arn, "arn:x:d0");
        assert_eq!(holder.target_version, "6");
        assert_eq!(holder.alarms, ["errors"]);
        assert_eq!(holder.expires_at, 1_999_999_999);
    }

    #[tokio::test]
    async fn unprocessed_watch_items_are_written_again() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .then_output(|| PutItemOutput::builder().build());
        let partial = mock!(aws_sdk_dynamodb::Client::batch_write_item)
            .match_requests(|req| {
                req.request_items()
                    .and_then(|r| r.get(TABLE))
                    .is_some_and(|w| w.len() == 2)
            })
            .then_output(|| {
                let left = aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(
                        aws_sdk_dynamodb::types::PutRequest::builder()
                            .item("pk", s("ALARM#latency"))
                            .item("sk", s("DEPLOYMENT#d1"))
                            .build()
                            .expect("put"),
                    )
                    .build();
                BatchWriteItemOutput::builder()
                    .unprocessed_items(TABLE, vec![left])
                    .build()
            });
        let rest = mock!(aws_sdk_dynamodb::Client::batch_write_item)
            .match_requests(|req| {
                req.request_items()
                    .and_then(|r| r.get(TABLE))
                    .is_some_and(|w| w.len() == 1)
            })
            .then_output(|| BatchWriteItemOutput::builder().build());
        let mut d = d1();
        d.alarms = vec!["errors".to_owned(), "latency".to_owned()];
        let lock = client(RuleMode::MatchAny, &[&put, &partial, &rest])
            .acquire(&d)
            .await
            .expect("acquired");
        assert_eq!(lock, Lock::Acquired);
        assert_eq!((partial.num_calls(), rest.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn watch_items_never_written_give_the_lock_back() {
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .then_output(|| PutItemOutput::builder().build());
        let stuck = mock!(aws_sdk_dynamodb::Client::batch_write_item).then_output(|| {
            let left = aws_sdk_dynamodb::types::WriteRequest::builder()
                .put_request(
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .item("pk", s("ALARM#errors"))
                        .item("sk", s("DEPLOYMENT#d1"))
                        .build()
                        .expect("put"),
                )
                .build();
            BatchWriteItemOutput::builder()
                .unprocessed_items(TABLE, vec![left])
                .build()
        });
        let undo = mock!(aws_sdk_dynamodb::Client::delete_item)
            .match_requests(|req| {
                req.condition_expression() == Some("deploymentId = :id")
                    && req.expression_attribute_values().and_then(|v| v.get(":id"))
                        == Some(&s("d1"))
            })
            .then_output(|| DeleteItemOutput::builder().build());
        let err = client(RuleMode::MatchAny, &[&put, &stuck, &undo])
            .acquire(&d1())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(stuck.num_calls(), 5, "BATCH_ATTEMPTS calls");
        assert_eq!(undo.num_calls(), 1, "the lock is given back");
    }

    #[tokio::test]
    async fn watching_follows_every_page_and_skips_stale_watch_items() {
        let watch = |id: &str| {
            HashMap::from([
                ("pk".to_owned(), s("ALARM#errors")),
                ("sk".to_owned(), s(&format!("DEPLOYMENT#{id}"))),
                ("deploymentId".to_owned(), s(id)),
                ("lockPk".to_owned(), s("ALIAS#orders#live")),
            ])
        };
        let first = mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(|req| req.exclusive_start_key().is_none())
            .then_output(move || {
                QueryOutput::builder()
                    .items(watch("d0"))
                    .last_evaluated_key("pk", s("ALARM#errors"))
                    .last_evaluated_key("sk", s("DEPLOYMENT#d0"))
                    .build()
            });
        let second = mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(|req| req.exclusive_start_key().is_some())
            .then_output(move || QueryOutput::builder().items(watch("d1")).build());
        // The lock now belongs to d1: d0's watch item is an orphan of an earlier deployment.
        let lock = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(lock_item("d1", &["errors"])))
                .build()
        });
        let found = client(RuleMode::MatchAny, &[&first, &second, &lock])
            .watching("errors")
            .await
            .expect("watching");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.deployment_id, "d1");
        assert_eq!(found[0].1, None);
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
        assert_eq!(lock.num_calls(), 2, "one lock read per watch item");
    }
}
