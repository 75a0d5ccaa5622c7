//! `DynamoDbRecords` over moto's DynamoDB (which evaluates update and condition expressions,
//! `list_append`, `if_not_exists`, string-set `ADD`, local and global secondary indexes and
//! `ScanIndexForward`), against `FakeRecords`: one suite, the same answers.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, GlobalSecondaryIndex, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType,
};
use chrono::{DateTime, Duration, Utc};
use shifter::aws::AwsClients;
use shifter::aws::records::{
    BY_DEPLOYMENT, BY_START, DynamoDbRecords, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE,
};
use shifter::domain::lifecycle::{Cause, Status};
use shifter::domain::record::{Ending, Facts, Mark, RecordUpdate, StartedBy, StarterKind};
use shifter::fakes::FakeRecords;
use shifter::ports::DeploymentRecords;

use crate::support::{attribute, enable_ttl, key, moto_clients, moto_test, unique};

const RETENTION_DAYS: u32 = 30;

struct MotoRecords {
    clients: AwsClients,
    table: String,
    port: DynamoDbRecords,
}

impl MotoRecords {
    /// A table laid out as template.yaml's `DeploymentRecordsTable`.
    async fn new() -> MotoRecords {
        let clients = moto_clients().await;
        let table = unique("records");
        let by_start = LocalSecondaryIndex::builder()
            .index_name(BY_START)
            .key_schema(key(PARTITION_KEY, KeyType::Hash))
            .key_schema(key("startedAt", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("lsi");
        let by_deployment = GlobalSecondaryIndex::builder()
            .index_name(BY_DEPLOYMENT)
            .key_schema(key(SORT_KEY, KeyType::Hash))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()
            .expect("gsi");
        clients
            .dynamodb
            .create_table()
            .table_name(&table)
            .attribute_definitions(attribute(PARTITION_KEY, ScalarAttributeType::S))
            .attribute_definitions(attribute(SORT_KEY, ScalarAttributeType::S))
            .attribute_definitions(attribute("startedAt", ScalarAttributeType::N))
            .key_schema(key(PARTITION_KEY, KeyType::Hash))
            .key_schema(key(SORT_KEY, KeyType::Range))
            .local_secondary_indexes(by_start)
            .global_secondary_indexes(by_deployment)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("moto CreateTable");
        enable_ttl(&clients.dynamodb, &table, TTL_ATTRIBUTE).await;
        let port = DynamoDbRecords::new(clients.dynamodb.clone(), table.clone(), RETENTION_DAYS);
        MotoRecords {
            clients,
            table,
            port,
        }
    }

    /// The stored item of `pk`/`id`, as DynamoDB holds it.
    async fn item(&self, pk: &str, id: &str) -> HashMap<String, AttributeValue> {
        self.clients
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, AttributeValue::S(pk.into()))
            .key(SORT_KEY, AttributeValue::S(id.into()))
            .send()
            .await
            .expect("moto GetItem")
            .item()
            .cloned()
            .expect("the item")
    }
}

/// An hour before the first call plus `minutes`, in whole seconds (one base for the whole run).
fn at(minutes: i64) -> DateTime<Utc> {
    static BASE: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now") - Duration::hours(1)
    });
    *base + Duration::minutes(minutes)
}

/// STARTED of deployment `id` on `function`:`alias` at `start`, from its input (weak facts).
fn started(id: &str, function: &str, alias: &str, start: DateTime<Utc>) -> RecordUpdate {
    RecordUpdate {
        function: function.into(),
        alias: alias.into(),
        deployment_id: id.into(),
        firm: Facts {
            started_at: Some(start),
            ..Facts::default()
        },
        weak: Facts {
            execution_arn: Some(format!("arn:aws:states:us-east-1:1:execution:sm:{id}")),
            to_version: Some("2".into()),
            strategy: Some("Canary10Percent5Minutes".into()),
            started_by: Some(StartedBy {
                kind: StarterKind::Pipeline,
                detail: "CodePipeline job 4f0c".into(),
            }),
            ..Facts::default()
        },
        mark: Mark {
            key: format!("{id}:STARTED"),
            status: Status::Started,
            at: start,
            weight: None,
            step: None,
        },
        ending: None,
    }
}

/// STEP_SHIFTED to `weight` on step `step`, from a document (firm facts, a weak start).
fn shifted(id: &str, step: usize, weight: f64, when: DateTime<Utc>) -> RecordUpdate {
    RecordUpdate {
        firm: Facts {
            from_version: Some("1".into()),
            to_version: Some("2".into()),
            strategy: Some("Canary10Percent5Minutes".into()),
            ..Facts::default()
        },
        weak: Facts {
            started_at: Some(when),
            ..Facts::default()
        },
        mark: Mark {
            key: format!("{id}:STEP_SHIFTED:{step}"),
            status: Status::StepShifted,
            at: when,
            weight: Some(weight),
            step: Some(step),
        },
        ..started(id, "orders", "live", when)
    }
}

fn rolled_back(id: &str, when: DateTime<Utc>) -> RecordUpdate {
    let cause = Cause {
        kind: "alarm".into(),
        error: "AlarmTriggered".into(),
        message: "alarm orders-errors went into ALARM".into(),
    };
    RecordUpdate {
        mark: Mark {
            key: format!("{id}:ROLLED_BACK"),
            status: Status::RolledBack,
            at: when,
            weight: None,
            step: None,
        },
        ending: Some(Ending {
            outcome: Status::RolledBack,
            ended_at: when,
            cause: Some(cause),
            restore_command: None,
        }),
        ..started(id, "orders", "live", at(0))
    }
}

fn ids(records: &[shifter::domain::record::DeploymentRecord]) -> Vec<&str> {
    records.iter().map(|r| r.deployment_id.as_str()).collect()
}

mod suite {
    use super::*;

    pub async fn moments_are_applied_once_and_read_back(port: &dyn DeploymentRecords) {
        // A park's moment may come before the start's: the start's date replaces the park's.
        assert!(
            port.apply_record(&shifted("d1", 0, 10.0, at(2)))
                .await
                .unwrap()
        );
        assert!(
            port.apply_record(&started("d1", "orders", "live", at(0)))
                .await
                .unwrap()
        );
        assert!(
            !port
                .apply_record(&shifted("d1", 0, 10.0, at(2)))
                .await
                .unwrap(),
            "a repeated delivery changes nothing"
        );
        assert!(port.apply_record(&rolled_back("d1", at(5))).await.unwrap());
        assert!(!port.apply_record(&rolled_back("d1", at(5))).await.unwrap());
        let r = port
            .record_of("orders", "live", "d1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.started_at, Some(at(0)));
        assert_eq!(r.ended_at, Some(at(5)));
        assert_eq!(
            (r.from_version.as_deref(), r.to_version.as_deref()),
            (Some("1"), Some("2"))
        );
        assert_eq!(r.started_by.as_ref().unwrap().kind, StarterKind::Pipeline);
        assert_eq!(r.outcome, Some(Status::RolledBack));
        assert_eq!(r.cause.as_ref().unwrap().kind, "alarm");
        let marks: Vec<_> = r.timeline.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(marks.len(), 3, "{marks:?}");
        assert_eq!(r.weights(), vec![(at(2), 10.0)]);
        assert_eq!(
            r.expires_at,
            at(5).timestamp() + i64::from(RETENTION_DAYS) * 86_400
        );
        assert_eq!(port.record_of("orders", "live", "d2").await.unwrap(), None);
        // A function's ARN and its name are one record.
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders";
        assert!(port.record_of(arn, "live", "d1").await.unwrap().is_some());
    }

    pub async fn an_alias_lists_newest_first_and_since_is_a_key_condition(
        port: &dyn DeploymentRecords,
    ) {
        for (id, alias, minutes) in [("a", "live", 0), ("c", "live", 40), ("b", "live", 20)] {
            port.apply_record(&started(id, "orders", alias, at(minutes)))
                .await
                .unwrap();
        }
        port.apply_record(&started("x", "orders", "beta", at(30)))
            .await
            .unwrap();
        let live = port.records_of_alias("orders", "live", None).await.unwrap();
        assert_eq!(ids(&live), ["c", "b", "a"]);
        let recent = port
            .records_of_alias("orders", "live", Some(at(20)))
            .await
            .unwrap();
        assert_eq!(ids(&recent), ["c", "b"], "since is inclusive");
        let all = port.all_records(None).await.unwrap();
        assert_eq!(ids(&all), ["c", "x", "b", "a"]);
        let all_recent = port.all_records(Some(at(25))).await.unwrap();
        assert_eq!(ids(&all_recent), ["c", "x"]);
        assert!(
            port.records_of_alias("orders", "canary", None)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn one_execution_is_found_whatever_its_alias(port: &dyn DeploymentRecords) {
        port.apply_record(&started("p1", "orders", "beta", at(0)))
            .await
            .unwrap();
        port.apply_record(&started("p2", "orders", "live", at(1)))
            .await
            .unwrap();
        let found = port.find_record("p1").await.unwrap().unwrap();
        assert_eq!(
            (found.alias.as_str(), found.deployment_id.as_str()),
            ("beta", "p1")
        );
        assert_eq!(port.find_record("nope").await.unwrap(), None);
    }
}

macro_rules! on_fake_and_moto {
    ($behaviour:ident) => {
        mod $behaviour {
            use super::*;

            #[tokio::test]
            async fn fake() {
                suite::$behaviour(&FakeRecords::new(RETENTION_DAYS)).await;
            }

            moto_test! {
                async fn moto() {
                    suite::$behaviour(&MotoRecords::new().await.port).await;
                }
            }
        }
    };
}

on_fake_and_moto!(moments_are_applied_once_and_read_back);
on_fake_and_moto!(an_alias_lists_newest_first_and_since_is_a_key_condition);
on_fake_and_moto!(one_execution_is_found_whatever_its_alias);

moto_test! {
    /// The item is where the design puts it: `pk` the alias, sorted by the deployment id, the
    /// index attribute `startedAt` and the TTL attribute `expiresAt` numbers, the moments' keys
    /// a string set.
    async fn the_item_carries_its_index_and_ttl_attributes_on_moto() {
        let w = MotoRecords::new().await;
        w.port.apply_record(&started("d1", "orders", "live", at(0))).await.unwrap();
        w.port.apply_record(&shifted("d1", 0, 10.0, at(2))).await.unwrap();
        let item = w.item("orders:live", "d1").await;
        let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).cloned();
        assert_eq!(number("startedAt"), Some(at(0).timestamp_millis().to_string()));
        let ttl = at(2).timestamp() + i64::from(RETENTION_DAYS) * 86_400;
        assert_eq!(number(TTL_ATTRIBUTE), Some(ttl.to_string()));
        let marks = item.get("marks").and_then(|v| v.as_ss().ok()).cloned().unwrap();
        assert_eq!(marks.len(), 2);
        let timeline = item.get("timeline").and_then(|v| v.as_l().ok()).unwrap();
        assert_eq!(timeline.len(), 2);
    }
}
