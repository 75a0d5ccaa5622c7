//! "The write lands, its answer is lost" (issue 21, 0b): for every alias write of every scenario
//! in turn, Lambda commits the write and the handler hears only a `Transient` error (our adapter
//! sends UpdateAlias once, the SDK's retries off). The deployment must end exactly as without the
//! fault — same error, every alias where the clean run left it, a rolled-back version remembered —
//! and without a Retry of the Task: the handler knows its own write from the read right after.

use serde_json::Value;
use shifter::domain::AliasRoute;
use shifter::fakes::{Fault, LambdaOp};
use shifter::ports::DeploymentRegistry;
use shifter_statemachine::local::{self, AccountSpec, HookBehaviour, LocalAccount, Run};

const TRAIN: &str = include_str!("../../../events/accounts/release-train.json");

/// Errors after which the watch function remembers the target version as rolled back.
const ROLLED_BACK: [&str; 3] = ["AlarmTriggered", "HookFailed", "Aborted"];

type Arrange = fn() -> (LocalAccount, Value);

fn scenarios() -> Vec<(&'static str, Arrange)> {
    vec![
        ("canary", || {
            (
                LocalAccount::demo(),
                LocalAccount::demo_input("Canary10Percent5Minutes"),
            )
        }),
        ("linear", || {
            (
                LocalAccount::demo(),
                LocalAccount::demo_input("Linear10PercentEvery1Minute"),
            )
        }),
        ("alarm at 3:00", || {
            let account = LocalAccount::demo();
            account.alarm_at("demo-errors", 180);
            (
                account,
                LocalAccount::demo_input("Linear10PercentEvery1Minute"),
            )
        }),
        ("post-traffic hook fails", || {
            let account = LocalAccount::demo();
            account.set_hook("demo-post-traffic", HookBehaviour::Status("Failed".into()));
            (account, LocalAccount::demo_input("Canary10Percent5Minutes"))
        }),
        ("operator abort at 2:00", || {
            let account = LocalAccount::demo();
            account.abort_at(120.0, "rehearsal");
            (
                account,
                LocalAccount::demo_input("Linear10PercentEvery1Minute"),
            )
        }),
        ("release train", train),
        ("release train, alarm at 3:00", || {
            let (account, input) = train();
            account.alarm_at("checkout-errors", 180);
            (account, input)
        }),
    ]
}

fn train() -> (LocalAccount, Value) {
    let spec = AccountSpec::from_json(TRAIN).expect("the sample account file reads");
    let input = spec.input.clone().expect("the sample has an input");
    (spec.build().expect("the sample builds"), input)
}

/// How a run ended, as far as the fault must not change it.
#[derive(Debug, PartialEq)]
struct End {
    error: Option<String>,
    aliases: Vec<(String, Option<AliasRoute>)>,
    transitions: u64,
}

async fn play(account: &LocalAccount, input: Value) -> (Run, End) {
    let run = local::run(account, input, "lost", &mut |_| {})
        .await
        .expect("the runner accepts the shipped definition");
    let members = local::first_deployment(&run)
        .map(|d| d.members.iter().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    let aliases = members
        .iter()
        .map(|m| {
            let route = account
                .lambda
                .alias(&m.function_name, &m.alias)
                .map(|a| a.route);
            (m.label(), route)
        })
        .collect();
    let end = End {
        error: run.execution.error.clone(),
        aliases,
        transitions: run.summary.state_transitions,
    };
    (run, end)
}

#[tokio::test]
async fn every_lost_answer_is_known_as_ours() {
    let mut checked = 0;
    for (name, arrange) in scenarios() {
        let (account, input) = arrange();
        let (_, clean) = play(&account, input).await;
        let writes = account.lambda.calls(LambdaOp::UpdateAlias);
        assert!(writes > 0, "{name}: the scenario writes an alias");
        for nth in 1..=writes {
            let (account, input) = arrange();
            account
                .lambda
                .inject(LambdaOp::UpdateAlias, nth, Fault::CrashAfterWrite);
            let (run, end) = play(&account, input).await;
            assert_eq!(end, clean, "{name}: the answer of write {nth} lost");
            let error = end.error.as_deref().unwrap_or_default();
            if ROLLED_BACK.contains(&error) {
                let d = local::first_deployment(&run).expect("started");
                let lead = d.lead();
                let remembered = account
                    .deployments
                    .rolled_back(&lead.function_name, &lead.alias, &lead.target_version)
                    .await
                    .expect("registry");
                assert!(
                    remembered.is_some(),
                    "{name}, write {nth}: {error} not remembered"
                );
            }
            checked += 1;
        }
    }
    println!("{checked} lost answers rehearsed");
    assert!(checked >= 40, "only {checked} lost answers rehearsed");
}
