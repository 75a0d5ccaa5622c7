//! The bad-input catalog (`events/bad-inputs/`): every malformed execution input is rejected
//! by Start Deployment with `InvalidInput` or `NotFound` and a message naming the field (or
//! what is missing), and the alias is untouched. The current version as the target is the
//! one by-design no-op: `AlreadyCurrent`, nothing touched. Inputs only JSON text can express
//! (repeated keys, deep nesting) are handed to Start Deployment as Lambda's event bytes.

use serde::Deserialize;
use serde_json::Value;
use shifter::domain::{AliasRoute, Home, ManagedSet};
use shifter::fakes::LambdaOp;
use shifter_statemachine::local::{self, LocalAccount, Outcome};
use start_deployment::{Config, Ports, StartEvent};

const CATALOG: &str = include_str!("../../../events/bad-inputs/catalog.json");
const OVERSIZED: &str = include_str!("../../../events/bad-inputs/oversized.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    cases: Vec<Case>,
    text_cases: Vec<TextCase>,
}

/// An input as JSON text, for what a parsed value cannot hold.
#[derive(Deserialize)]
struct TextCase {
    name: String,
    expect: String,
    names: String,
    text: String,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    /// `InvalidInput`, `NotFound` or `AlreadyCurrent`.
    expect: String,
    /// The field (InvalidInput) or the missing thing (NotFound) the message must name.
    names: Option<String>,
    /// MANAGED_FUNCTIONS, when not every function.
    managed: Option<String>,
    /// The ARN Start Deployment runs as (the stack's account and region).
    home: Option<String>,
    input: Value,
}

/// The demo account, managing what the case says.
fn account_for(managed: Option<&str>, home: Option<&str>) -> LocalAccount {
    let mut account = LocalAccount::demo();
    if let Some(managed) = managed {
        account.config = Config {
            managed: ManagedSet::parse(managed).at(home.and_then(Home::from_function_arn)),
        };
    }
    account
}

/// Nothing was written and the alias is where it was.
fn untouched(account: &LocalAccount, before: &[shifter::fakes::AliasWrite]) -> bool {
    account.lambda.history() == before
        && account.lambda.calls(LambdaOp::UpdateAlias) == 0
        && account.lambda.alias("demo", "live").map(|a| a.route) == Some(AliasRoute::single("1"))
}

fn catalog() -> Catalog {
    serde_json::from_str(CATALOG).expect("the catalog is JSON")
}

fn cases() -> Vec<Case> {
    let mut catalog = catalog();
    catalog.cases.push(Case {
        name: "oversized payload".to_owned(),
        expect: "InvalidInput".to_owned(),
        names: Some("(input)".to_owned()),
        managed: None,
        home: None,
        input: serde_json::from_str(OVERSIZED).expect("oversized.json is JSON"),
    });
    catalog.cases
}

#[test]
fn the_catalog_has_at_least_forty_malformed_inputs() {
    let cases = cases();
    let malformed = cases
        .iter()
        .filter(|c| c.expect != "AlreadyCurrent")
        .count();
    assert!(malformed >= 40, "{malformed}");
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
}

#[tokio::test]
async fn every_bad_input_is_rejected_naming_the_field_and_touches_nothing() {
    let mut problems = Vec::new();
    for case in cases() {
        let account = account_for(case.managed.as_deref(), case.home.as_deref());
        let before = account.lambda.history();
        let run = local::run(&account, case.input.clone(), "catalog", &mut |_| {})
            .await
            .expect("the runner accepts the definition");
        let s = &run.summary;
        let message =
            shifter::domain::failure::error_message(s.cause.as_deref().unwrap_or_default());
        let untouched = untouched(&account, &before);
        let ok = match case.expect.as_str() {
            "AlreadyCurrent" => s.outcome == Outcome::AlreadyCurrent,
            "InvalidInput" => {
                let field = case.names.as_deref().unwrap_or_default();
                s.outcome == Outcome::Rejected
                    && s.error.as_deref() == Some("InvalidInput")
                    && message.starts_with(&format!("{field}: "))
            }
            expected => {
                let what = case.names.as_deref().unwrap_or_default();
                s.outcome == Outcome::Rejected
                    && s.error.as_deref() == Some(expected)
                    && message.contains(what)
            }
        };
        if !ok || !untouched {
            problems.push(format!(
                "{}: expected {} naming {:?}, got {:?} {:?}: {message:?} (untouched: {untouched})",
                case.name, case.expect, case.names, s.outcome, s.error
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Repeated keys and deep nesting, as Lambda hands Start Deployment its event: bytes read by
/// serde_json into the handler's event type. Refused by field (InvalidInput, never "not JSON"),
/// nothing touched.
#[tokio::test]
async fn inputs_only_text_can_express_are_refused_by_field_and_touch_nothing() {
    let mut problems = Vec::new();
    for case in catalog().text_cases {
        let account = LocalAccount::demo();
        let before = account.lambda.history();
        let event = format!(
            r#"{{"executionName":"catalog","executionArn":"arn:aws:states:local:000000000000:execution:local:catalog","request":{}}}"#,
            case.text
        );
        let event: StartEvent = serde_json::from_str(&event).expect("the event is read whole");
        let ports = Ports {
            router: &account.lambda,
            registry: &account.lambda,
            alarms: &account.alarms,
            clock: &account.clock,
            deployments: &account.deployments,
            executions: &account.executions,
            concurrency: &account.lambda,
        };
        let result = start_deployment::start_deployment(&ports, &account.config, event).await;
        let ok = match &result {
            Err(e) => {
                e.kind() == case.expect && e.to_string().starts_with(&format!("{}: ", case.names))
            }
            Ok(_) => false,
        };
        if !ok || !untouched(&account, &before) {
            let got = result.map(|d| d.decision).map_err(|e| e.to_string());
            problems.push(format!(
                "{}: expected {} naming {}, got {got:?}",
                case.name, case.expect, case.names
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

const ACCOUNTS: &str = include_str!("../../../events/bad-inputs/accounts.json");

/// `events/bad-inputs/accounts.json`: account files (`shifter simulate --account`) and the
/// input inside them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountCatalog {
    cases: Vec<AccountCase>,
    text_cases: Vec<TextAccountCase>,
}

#[derive(Deserialize)]
struct AccountCase {
    name: String,
    /// The JSON path the refusal starts with.
    names: String,
    account: Value,
}

#[derive(Deserialize)]
struct TextAccountCase {
    name: String,
    names: String,
    text: String,
}

/// Issue 21, item 3: an account file, and the input inside it, are read as strictly as
/// `--input` (the same reader): each bad one is refused naming its field, bounded, without a
/// panic; every sample account in `events/accounts/` reads and builds.
#[test]
fn every_bad_account_file_is_refused_naming_the_field() {
    use shifter_statemachine::local::AccountSpec;
    let catalog: AccountCatalog = serde_json::from_str(ACCOUNTS).expect("accounts.json is JSON");
    let texts = catalog
        .cases
        .iter()
        .map(|c| (&c.name, &c.names, c.account.to_string()));
    let texts =
        texts.chain((catalog.text_cases.iter()).map(|c| (&c.name, &c.names, c.text.clone())));
    let (mut refused, mut panics, mut problems) = (0, 0, Vec::new());
    for (name, names, text) in texts {
        let read = std::panic::catch_unwind(|| {
            AccountSpec::from_json(&text).and_then(|spec| spec.build().map(|_| ()))
        });
        match read {
            Err(_) => panics += 1,
            Ok(Err(e))
                if e.to_string().starts_with(&format!("{names}: "))
                    && e.to_string().chars().count() <= 2 * 400 + 2 =>
            {
                refused += 1;
            }
            Ok(other) => problems.push(format!("{name}: expected {names}: …, got {other:?}")),
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/accounts");
    let mut accepted = 0;
    for entry in std::fs::read_dir(dir).expect("events/accounts") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // A wave plan's account file lists `regions`, each one account file (docs/waves.md).
        use shifter_statemachine::local::waves::{WavesSpec, WavesWorld};
        let read = if WavesSpec::is_waves(&text) {
            WavesSpec::from_json(&text).and_then(|spec| WavesWorld::build(&spec).map(|_| ()))
        } else {
            AccountSpec::from_json(&text).and_then(|spec| spec.build().map(|_| ()))
        };
        match read {
            Ok(()) => accepted += 1,
            Err(e) => problems.push(format!("{}: a sample is refused: {e}", path.display())),
        }
    }
    eprintln!(
        "account catalog: {refused} refused by field, {accepted} samples accepted, {panics} panics"
    );
    assert_eq!(panics, 0);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(refused >= 60, "{refused}");
}
