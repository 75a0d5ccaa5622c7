//! The bad-input catalog (`events/bad-inputs/`): every malformed execution input is rejected
//! by Start Deployment with `InvalidInput` or `NotFound` and a message naming the field (or
//! what is missing), and the alias is untouched. The current version as the target is the
//! one by-design no-op: `AlreadyCurrent`, nothing touched.

use serde::Deserialize;
use serde_json::Value;
use shifter::domain::AliasRoute;
use shifter::fakes::LambdaOp;
use shifter_statemachine::local::{self, LocalAccount, Outcome};

const CATALOG: &str = include_str!("../../../events/bad-inputs/catalog.json");
const OVERSIZED: &str = include_str!("../../../events/bad-inputs/oversized.json");

#[derive(Deserialize)]
struct Catalog {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    /// `InvalidInput`, `NotFound` or `AlreadyCurrent`.
    expect: String,
    /// The field (InvalidInput) or the missing thing (NotFound) the message must name.
    names: Option<String>,
    input: Value,
}

fn cases() -> Vec<Case> {
    let mut catalog: Catalog = serde_json::from_str(CATALOG).expect("the catalog is JSON");
    catalog.cases.push(Case {
        name: "oversized payload".to_owned(),
        expect: "InvalidInput".to_owned(),
        names: Some("(input)".to_owned()),
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
        let account = LocalAccount::demo();
        let before = account.lambda.history();
        let run = local::run(&account, case.input.clone(), "catalog", &mut |_| {})
            .await
            .expect("the runner accepts the definition");
        let s = &run.summary;
        let message =
            shifter::domain::deployment::error_message(s.cause.as_deref().unwrap_or_default());
        let untouched = account.lambda.history() == before
            && account.lambda.calls(LambdaOp::UpdateAlias) == 0
            && account.lambda.alias("demo", "live").map(|a| a.route)
                == Some(AliasRoute::single("1"));
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
