//! DynamoDB (`WaveWatches`): one suite of behaviours, run on `FakeWaveWatches` and on
//! `DynamoDbWaveWatches` over moto's DynamoDB (which evaluates condition expressions and key
//! conditions); throttling and a missing table run on the adapter over aws-smithy-mocks.
//!
//! TTL deletes expired items only eventually and they still appear in reads until then
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>), so
//! an expired watch is written and must not be found.
//! Conditional deletes: <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{BillingMode, KeyType, ScalarAttributeType};
use chrono::{DateTime, TimeDelta, Utc};
use shifter::aws::DynamoDbWaveWatches;
use shifter::aws::waves::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use shifter::fakes::{FakeWaveWatches, ManualClock};
use shifter::ports::{Clock, WaveWatch, WaveWatches, alarm_arn};

use crate::support::{attribute, enable_ttl, key, moto_clients, moto_test, unique};

// ---------------------------------------------------------------- worlds

/// A fresh, empty watches table with the port under test on top.
trait WatchesWorld {
    type Port: WaveWatches;
    fn port(&self) -> &Self::Port;
    /// Now, to the second, as the port judges expiry.
    fn now(&self) -> DateTime<Utc>;
}

struct FakeWatchesWorld {
    watches: FakeWaveWatches,
    clock: ManualClock,
}

impl WatchesWorld for FakeWatchesWorld {
    type Port = FakeWaveWatches;
    fn port(&self) -> &FakeWaveWatches {
        &self.watches
    }
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

fn fake() -> FakeWatchesWorld {
    let clock = ManualClock::at_epoch();
    FakeWatchesWorld {
        watches: FakeWaveWatches::new(Arc::new(clock.clone())),
        clock,
    }
}

struct MotoWatchesWorld {
    port: DynamoDbWaveWatches,
}

impl WatchesWorld for MotoWatchesWorld {
    type Port = DynamoDbWaveWatches;
    fn port(&self) -> &DynamoDbWaveWatches {
        &self.port
    }
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now().timestamp();
        DateTime::from_timestamp(now, 0).expect("now")
    }
}

/// A new table laid out as template.yaml's `WaveWatchesTable`: `pk`/`sk` strings, on demand,
/// TTL on `expiresAt`.
async fn moto() -> MotoWatchesWorld {
    let clients = moto_clients().await;
    let table = unique("wave-watches");
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
    MotoWatchesWorld {
        port: DynamoDbWaveWatches::new(clients.dynamodb.clone(), &table),
    }
}

// ---------------------------------------------------------------- the suite

const CHILD: &str = "arn:aws:states:eu-west-1:111111111111:execution:traffic-shifter-deployment";

/// Plan `plan`'s watch with `token`, answered by `keys`, expiring `in_secs` from now.
fn watch<W: WatchesWorld>(
    w: &W,
    plan: &str,
    token: &str,
    keys: &[String],
    in_secs: i64,
) -> WaveWatch {
    WaveWatch {
        plan_id: plan.to_owned(),
        plan_arn: format!("arn:aws:states:us-east-1:222222222222:execution:waves:{plan}"),
        task_token: token.to_owned(),
        keys: keys.to_vec(),
        expires_at: w.now() + TimeDelta::seconds(in_secs),
    }
}

fn child(name: &str) -> String {
    format!("{CHILD}:{name}")
}

fn alarm(region: &str, name: &str) -> String {
    alarm_arn(region, "111111111111", name)
}

async fn watchers<W: WatchesWorld>(w: &W, key: &str) -> Vec<WaveWatch> {
    let mut found = w.port().watchers(key).await.expect("watchers");
    found.sort_by(|a, b| a.plan_id.cmp(&b.plan_id));
    found
}

mod suite {
    use super::*;

    pub async fn watchers_finds_a_watch_by_child_and_by_alarm<W: WatchesWorld>(w: &W) {
        let keys = [child("p1-a"), alarm("eu-west-1", "errors")];
        let p1 = watch(w, "p1", "t1", &keys, 3600);
        w.port().watch(&p1).await.unwrap();
        assert_eq!(watchers(w, &child("p1-a")).await, vec![p1.clone()]);
        assert_eq!(
            watchers(w, &alarm("eu-west-1", "errors")).await,
            vec![p1.clone()]
        );
        assert!(watchers(w, &alarm("eu-west-2", "errors")).await.is_empty());
        assert!(watchers(w, &child("p1-b")).await.is_empty());
        assert_eq!(w.port().watch_of("p1").await.unwrap(), Some(p1));
        assert_eq!(w.port().watch_of("p2").await.unwrap(), None);
    }

    pub async fn a_watch_replaces_the_plans_earlier_one<W: WatchesWorld>(w: &W) {
        let first = watch(
            w,
            "p1",
            "t1",
            &[child("p1-a"), alarm("eu-west-1", "x")],
            3600,
        );
        w.port().watch(&first).await.unwrap();
        let second = watch(
            w,
            "p1",
            "t2",
            &[child("p1-b"), alarm("eu-west-1", "x")],
            3600,
        );
        w.port().watch(&second).await.unwrap();
        assert_eq!(w.port().watch_of("p1").await.unwrap(), Some(second.clone()));
        assert!(
            watchers(w, &child("p1-a")).await.is_empty(),
            "a key of the replaced watch answers nothing"
        );
        assert_eq!(watchers(w, &child("p1-b")).await, vec![second.clone()]);
        assert_eq!(watchers(w, &alarm("eu-west-1", "x")).await, [second]);
    }

    pub async fn every_plan_watching_a_key_is_found<W: WatchesWorld>(w: &W) {
        let shared = alarm("us-east-1", "shared");
        let p1 = watch(w, "p1", "t1", std::slice::from_ref(&shared), 3600);
        let p2 = watch(w, "p2", "t2", &[shared.clone(), child("p2-a")], 3600);
        w.port().watch(&p1).await.unwrap();
        w.port().watch(&p2).await.unwrap();
        assert_eq!(watchers(w, &shared).await, [p1, p2]);
    }

    pub async fn an_expired_watch_is_not_found<W: WatchesWorld>(w: &W) {
        let gone = watch(w, "p1", "t1", &[child("p1-a")], -60);
        w.port().watch(&gone).await.unwrap();
        assert!(watchers(w, &child("p1-a")).await.is_empty());
        assert_eq!(w.port().watch_of("p1").await.unwrap(), None);
    }

    pub async fn forget_needs_the_watchs_token<W: WatchesWorld>(w: &W) {
        let p1 = watch(w, "p1", "t1", &[child("p1-a")], 3600);
        w.port().watch(&p1).await.unwrap();
        w.port().forget("p1", "t0").await.unwrap();
        assert_eq!(
            w.port().watch_of("p1").await.unwrap(),
            Some(p1.clone()),
            "another park's token forgets nothing"
        );
        assert_eq!(watchers(w, &child("p1-a")).await, [p1]);
        w.port().forget("p1", "t1").await.unwrap();
        assert_eq!(w.port().watch_of("p1").await.unwrap(), None);
        assert!(watchers(w, &child("p1-a")).await.is_empty());
        w.port()
            .forget("p1", "t1")
            .await
            .expect("forgetting twice is a no-op");
        w.port()
            .forget("p9", "t9")
            .await
            .expect("no watch: a no-op");
    }

    /// More keys than one BatchWriteItem takes (25): every one answers.
    pub async fn every_key_of_a_large_plan_answers<W: WatchesWorld>(w: &W) {
        let keys: Vec<String> = (0..60)
            .map(|i| alarm("eu-west-1", &format!("a{i}")))
            .collect();
        let p1 = watch(w, "p1", "t1", &keys, 3600);
        w.port().watch(&p1).await.unwrap();
        for key in [&keys[0], &keys[25], &keys[59]] {
            assert_eq!(watchers(w, key).await, vec![p1.clone()], "{key}");
        }
    }
}

/// Runs a watches behaviour on the fake and on the adapter over moto.
macro_rules! on_fake_and_moto {
    ($behaviour:ident) => {
        mod $behaviour {
            use super::*;

            #[tokio::test]
            async fn fake() {
                suite::$behaviour(&super::fake()).await;
            }

            moto_test! {
                async fn moto() {
                    suite::$behaviour(&super::moto().await).await;
                }
            }
        }
    };
}

on_fake_and_moto!(watchers_finds_a_watch_by_child_and_by_alarm);
on_fake_and_moto!(a_watch_replaces_the_plans_earlier_one);
on_fake_and_moto!(every_plan_watching_a_key_is_found);
on_fake_and_moto!(an_expired_watch_is_not_found);
on_fake_and_moto!(forget_needs_the_watchs_token);
on_fake_and_moto!(every_key_of_a_large_plan_answers);

moto_test! {
    /// A table that does not exist is named (a stack deployed without it, a wrong variable).
    async fn a_missing_table_is_named_on_moto() {
        let clients = moto_clients().await;
        let port = DynamoDbWaveWatches::new(clients.dynamodb.clone(), "no-such-table");
        crate::support::assert_not_found(
            port.watch_of("p1").await,
            "wave watches table no-such-table",
        );
    }
}

mod mocks {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use shifter::ShifterError;
    use shifter::aws::DynamoDbWaveWatches;
    use shifter::ports::WaveWatches;

    use crate::support::{ATTEMPTS, throttled};

    fn client(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_dynamodb::Client {
        mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |c| c
            .retry_config(
                aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                    .with_max_attempts(ATTEMPTS as u32)
                    .with_initial_backoff(std::time::Duration::from_millis(1))
            ))
    }

    #[tokio::test]
    async fn throttling_is_transient_after_sdk_retries() {
        let get = throttled(mock!(aws_sdk_dynamodb::Client::get_item));
        let err = DynamoDbWaveWatches::new(client(&[&get]), "watches")
            .watch_of("p1")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err:?}");
        assert_eq!(get.num_calls(), ATTEMPTS);
    }

    #[tokio::test]
    async fn an_unreadable_item_is_invalid_not_a_missing_watch() {
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item(
                    "expiresAt",
                    aws_sdk_dynamodb::types::AttributeValue::N("99999999999".into()),
                )
                .build()
        });
        let err = DynamoDbWaveWatches::new(client(&[&get]), "watches")
            .watch_of("p1")
            .await
            .unwrap_err();
        assert!(matches!(err, ShifterError::InvalidInput { .. }), "{err:?}");
    }
}

// ---------------------------------------------------------------- target accounts

mod targets {
    use aws_config::{BehaviorVersion, Region};
    use shifter::aws::AwsTargetAccounts;
    use shifter::aws::waves::SESSION_NAME;
    use shifter::ports::TargetAccounts;

    use crate::support::{moto_config, moto_test};

    const ROLE: &str = "traffic-shifter-waves-target";
    const MACHINE: &str = "traffic-shifter-deployment";

    #[tokio::test]
    async fn a_target_is_its_region_and_its_accounts_role() {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        let targets = AwsTargetAccounts::from_config(&base, ROLE, MACHINE);
        assert_eq!(
            targets.state_machine_arn("eu-west-1", "222222222222"),
            "arn:aws:states:eu-west-1:222222222222:stateMachine:traffic-shifter-deployment"
        );
        assert_eq!(
            targets.role_arn("222222222222"),
            "arn:aws:iam::222222222222:role/traffic-shifter-waves-target"
        );
        let config = targets.target_config("eu-west-1", "222222222222").await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(base.region().map(|r| r.as_ref()), Some("us-east-1"));
    }

    moto_test! {
        /// The target's clients sign with the role assumed in its account (moto answers
        /// AssumeRole and GetCallerIdentity as STS does:
        /// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>).
        async fn a_targets_calls_are_the_assumed_roles_on_moto() {
            let base = moto_config().await;
            let targets = AwsTargetAccounts::from_config(&base, ROLE, MACHINE);
            for account in ["222222222222", "333333333333"] {
                let config = targets.target_config("us-east-1", account).await;
                let me = aws_sdk_sts::Client::new(&config)
                    .get_caller_identity()
                    .send()
                    .await
                    .expect("moto GetCallerIdentity");
                assert_eq!(me.account(), Some(account));
                assert_eq!(
                    me.arn(),
                    Some(format!("arn:aws:sts::{account}:assumed-role/{ROLE}/{SESSION_NAME}").as_str())
                );
            }
        }
    }

    moto_test! {
        /// The handed-out ports work through the assumed role: a child that does not exist in
        /// the target's account is `NotFound`, not an error of the credentials.
        async fn the_handed_out_executions_answer_through_the_role_on_moto() {
            let base = moto_config().await;
            let targets = AwsTargetAccounts::from_config(&base, ROLE, MACHINE);
            let executions = targets.executions("us-east-1", "222222222222").await.unwrap();
            let missing = format!(
                "arn:aws:states:us-east-1:222222222222:execution:{MACHINE}:nobody"
            );
            let err = executions.describe_execution(&missing).await.unwrap_err();
            assert_eq!(err.kind(), "NotFound", "{err:?}");
        }
    }
}
