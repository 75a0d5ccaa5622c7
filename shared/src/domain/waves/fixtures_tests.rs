//! The plan's fixtures: the sample `events/waves.json`, the bad-plan catalog
//! `events/bad-inputs/waves/`, and the sample in docs/waves.md.

use super::super::{Target, WindowJudgement};
use super::*;
use crate::domain::request::DeploymentRequest;

const SAMPLE: &str = include_str!("../../../../events/waves.json");

#[test]
fn the_sample_plan_parses() {
    let plan = WavePlan::from_document(&InputDocument::parse(SAMPLE).unwrap()).unwrap();
    let names: Vec<&str> = plan.waves.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["canary", "early", "rest"]);
    let sizes: Vec<usize> = plan.waves.iter().map(|w| w.targets.len()).collect();
    assert_eq!(sizes, [1, 2, 3]);
    let targets: Vec<&Target> = plan.waves.iter().flat_map(|w| &w.targets).collect();
    let mut regions: Vec<&str> = targets.iter().map(|t| t.region.as_str()).collect();
    regions.sort_unstable();
    regions.dedup();
    assert!(regions.len() >= 4, "{regions:?}");
    let mut accounts: Vec<&str> = targets.iter().map(|t| t.account.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    assert_eq!(accounts, ["111111111111", "222222222222"]);
    for t in &targets {
        assert_eq!(
            (t.function_name.as_str(), t.alias.as_str()),
            ("orders-api", "live")
        );
        assert_eq!(t.alarms, ["orders-api-errors", "orders-api-latency-p99"]);
        assert_eq!(t.input["targetVersion"], "42");
        assert!(DeploymentRequest::from_json(&t.input).is_ok());
    }
    assert_eq!(targets[0].input["strategy"], "Canary10Percent10Minutes");
    assert_eq!(targets[1].input["strategy"]["steps"][1]["weight"], 50);
    assert_eq!(
        (
            plan.bake_between_waves_seconds,
            plan.first_wave_bake_seconds
        ),
        (600, 1800)
    );
    let gate = (
        plan.entry_gate.policy,
        plan.entry_gate.timeout_seconds,
        plan.entry_gate.poll_seconds,
    );
    assert_eq!(gate, (GatePolicy::Wait, 1800, 60));
    let window = plan.window.unwrap();
    let monday = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap();
    assert_eq!(window.judge(monday.to_utc()), WindowJudgement::Open);
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    cases: Vec<CatalogCase>,
    #[serde(default)]
    text_cases: Vec<TextCase>,
}

#[derive(serde::Deserialize)]
struct CatalogCase {
    name: String,
    names: String,
    input: Value,
}

#[derive(serde::Deserialize)]
struct TextCase {
    name: String,
    names: String,
    text: String,
}

/// `events/bad-inputs/waves/*.json`: every plan there is refused, the error naming the field
/// its case says (`names: …`).
#[test]
fn every_bad_plan_in_the_catalog_is_refused_naming_its_field() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/bad-inputs/waves");
    let (mut checked, mut problems) = (0, Vec::new());
    for entry in std::fs::read_dir(&dir).expect("events/bad-inputs/waves") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let catalog: Catalog = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let plans = catalog
            .cases
            .into_iter()
            .map(|c| (c.name, c.names, InputDocument::from(c.input)));
        let texts = catalog.text_cases.into_iter().map(|c| {
            let read = InputDocument::parse(&c.text).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            (c.name, c.names, read)
        });
        for (name, names, document) in plans.chain(texts) {
            checked += 1;
            match WavePlan::from_document(&document) {
                Err(e) if e.to_string().starts_with(&format!("{names}: ")) => {}
                other => problems.push(format!("{name}: expected {names}: …, got {other:?}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 70, "{checked}");
}

#[test]
fn the_plan_in_the_docs_parses() {
    let docs = include_str!("../../../../docs/waves.md");
    let start = docs.find("```json\n").expect("a JSON sample") + "```json\n".len();
    let end = start + docs[start..].find("```").expect("its end");
    let plan = WavePlan::from_document(&InputDocument::parse(&docs[start..end]).unwrap()).unwrap();
    assert_eq!(plan.waves[1].targets[1].alarms, ["orders-api-errors-eu"]);
    assert_eq!(plan.waves[1].name, "wave-2");
}
