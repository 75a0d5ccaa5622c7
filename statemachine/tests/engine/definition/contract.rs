//! The contract between the definition and the code that feeds it, checked both ways:
//!
//! - **Decisions.** Every Choice that tests `$.decision` gives each [`Decision`] exactly one
//!   *branch*: a rule that tests the decision and nothing else, so it is taken whatever else the
//!   document holds. Guarded rules (`And` of the decision and conditions on other fields, such
//!   as `$.gateAnnounced` `IsPresent`) refine a branch and must come before it; they are not a
//!   branch, because when their guard fails the decision falls through. A decision with only
//!   guarded rules, or none, would fall to the Choice's Default (Roll Back): a forgotten branch
//!   would silently roll deployments back, so the Default "handling" it does not count. A
//!   second branch, or a guarded rule after the branch, can never match; a rule naming a value
//!   no `Decision` has is a typo. Choice semantics:
//!   <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html> (rules are tried
//!   in order, the first that matches wins, Default when none does).
//! - **Park kinds.** Every Task that parks on the watch function names a `park` the watch
//!   function reads into [`ParkKind`], in the state [`ParkKind::state`] names, and every
//!   `ParkKind` is some park state's.
//! - **Comments.** Every `Comment` is one sentence; the reasoning lives in
//!   `docs/state-machine.md`, one section per state in the definition's order.
//!
//! Each check returns what it found wrong, so the tests below can show it fails: they mutate a
//! copy of the definition and assert the exact report.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};
use shifter::domain::Decision;
use shifter::states::{self, ParkKind};

use super::repo;

/// The field the functions set and What Next? branches on.
const DECISION: &str = "$.decision";

/// The longest Comment allowed, in characters.
const COMMENT_MAX_CHARS: usize = 160;

fn definition() -> Value {
    serde_json::from_str(shifter_statemachine::DEFINITION).unwrap()
}

/// What is wrong with a Choice that branches on `$.decision`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ChoiceProblem {
    /// No rule takes the decision whatever else holds: it would fall to the Default.
    NoBranch { decision: &'static str },
    /// Rule `rule` is a second branch for the decision (or repeats a guarded rule): it can
    /// never match.
    TwoBranches { decision: &'static str, rule: usize },
    /// Rule `rule` is guarded but comes after the decision's branch: it can never match.
    Unreachable { decision: &'static str, rule: usize },
    /// Rule `rule` compares `$.decision` with a value no `Decision` has.
    UnknownDecision { rule: usize, value: String },
    /// Rule `rule` is not one `StringEquals` on `$.decision`, possibly `And` guards on other
    /// fields (an `Or`, a `Not`, another operator or no test of the decision at all).
    NotOnDecision { rule: usize },
    /// The Default is not where `rollback` goes.
    DefaultNotRollBack { default: Option<String> },
}

/// True when `rule` (or anything nested in it) reads `$.decision`.
fn mentions_decision(rule: &Value) -> bool {
    match rule {
        Value::Object(fields) => fields.iter().any(|(key, value)| {
            (key == "Variable" && value.as_str().is_some_and(is_decision_path))
                || mentions_decision(value)
        }),
        Value::Array(items) => items.iter().any(mentions_decision),
        _ => false,
    }
}

fn is_decision_path(path: &str) -> bool {
    path == DECISION
        || path
            .strip_prefix(DECISION)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
}

/// The conjuncts of a rule: nested `And`s flattened, `Next` and `Comment` left out.
fn conjuncts(rule: &Value, into: &mut Vec<Value>) {
    if let Some(items) = rule.get("And").and_then(Value::as_array) {
        for item in items {
            conjuncts(item, into);
        }
        return;
    }
    let mut test = rule.clone();
    if let Some(fields) = test.as_object_mut() {
        fields.remove("Next");
        fields.remove("Comment");
    }
    into.push(test);
}

/// The decision value a rule compares with, and its guards (sorted, to compare rules), or
/// `None` when the rule is not of the one readable shape.
fn read_rule(rule: &Value) -> Option<(String, Vec<Value>)> {
    let mut parts = Vec::new();
    conjuncts(rule, &mut parts);
    let (tests, mut guards): (Vec<Value>, Vec<Value>) =
        parts.into_iter().partition(mentions_decision);
    let [test] = tests.as_slice() else {
        return None;
    };
    let plain = test.as_object().is_some_and(|f| f.len() == 2) && test["Variable"] == DECISION;
    let value = test["StringEquals"].as_str().filter(|_| plain)?;
    guards.sort_by_key(Value::to_string);
    Some((value.to_owned(), guards))
}

/// Everything wrong with `choice`, a Choice state that tests `$.decision`.
fn choice_problems(choice: &Value) -> Vec<ChoiceProblem> {
    let mut problems = Vec::new();
    let mut branches: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut guarded: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let rules = choice["Choices"].as_array().cloned().unwrap_or_default();
    for (rule, body) in rules.iter().enumerate() {
        let Some((value, guards)) = read_rule(body) else {
            problems.push(ChoiceProblem::NotOnDecision { rule });
            continue;
        };
        let Some(decision) = Decision::ALL
            .iter()
            .map(|d| d.wire_name())
            .find(|name| *name == value)
        else {
            problems.push(ChoiceProblem::UnknownDecision { rule, value });
            continue;
        };
        if branches.contains_key(decision) {
            problems.push(if guards.is_empty() {
                ChoiceProblem::TwoBranches { decision, rule }
            } else {
                ChoiceProblem::Unreachable { decision, rule }
            });
        } else if guards.is_empty() {
            branches.insert(decision, rule);
        } else if guarded.contains(&(decision, guards.clone())) {
            problems.push(ChoiceProblem::TwoBranches { decision, rule });
        } else {
            guarded.push((decision, guards));
        }
    }
    for decision in Decision::ALL.map(Decision::wire_name) {
        if !branches.contains_key(decision) {
            problems.push(ChoiceProblem::NoBranch { decision });
        }
    }
    let rollback = branches
        .get(Decision::Rollback.wire_name())
        .map(|rule| &rules[*rule]["Next"]);
    if rollback.is_some_and(|next| choice.get("Default") != Some(next)) {
        let default = choice["Default"].as_str().map(str::to_owned);
        problems.push(ChoiceProblem::DefaultNotRollBack { default });
    }
    problems
}

/// The Choice states of `definition` that test `$.decision`, by name.
fn decision_choices(definition: &Value) -> Vec<(&str, &Value)> {
    definition["States"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, state)| state["Type"] == "Choice" && mentions_decision(&state["Choices"]))
        .map(|(name, state)| (name.as_str(), state))
        .collect()
}

#[test]
fn every_decision_has_exactly_one_branch_in_what_next() {
    let definition = definition();
    let choices = decision_choices(&definition);
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    assert!(names.contains(&"What Next?"), "{names:?}");
    for (name, choice) in choices {
        assert_eq!(choice_problems(choice), [], "{name}");
    }
}

/// The shipped What Next?, and the index of the rule for which `matches` holds.
fn what_next_and(matches: impl Fn(&Value) -> bool) -> (Value, usize) {
    let choice = definition()["States"]["What Next?"].clone();
    let rules = choice["Choices"].as_array().unwrap();
    let found: Vec<usize> = (0..rules.len()).filter(|i| matches(&rules[*i])).collect();
    assert_eq!(found.len(), 1, "one rule matches");
    (choice, found[0])
}

/// The plain rule (no guard) for `decision`.
fn branch_of(decision: &str) -> impl Fn(&Value) -> bool + '_ {
    move |rule| rule["Variable"] == DECISION && rule["StringEquals"] == decision
}

/// The guarded rule for `decision`.
fn guarded_rule_of(decision: &str) -> impl Fn(&Value) -> bool + '_ {
    move |rule| rule["And"][0]["StringEquals"] == decision
}

fn rules(choice: &mut Value) -> &mut Vec<Value> {
    choice["Choices"].as_array_mut().unwrap()
}

/// Dropping any decision's branch is caught, even though the Default would take the decision.
#[test]
fn a_forgotten_branch_is_reported_for_every_decision() {
    for decision in Decision::ALL.map(Decision::wire_name) {
        let (mut choice, rule) = what_next_and(branch_of(decision));
        rules(&mut choice).remove(rule);
        assert_eq!(choice["Default"], "Roll Back", "the Default would take it");
        assert_eq!(
            choice_problems(&choice),
            [ChoiceProblem::NoBranch { decision }],
            "{decision}"
        );
    }
}

/// A guarded rule is not a branch: with only `gateAnnounced` present covered, a first
/// approval gate would roll back.
#[test]
fn a_guarded_rule_alone_is_not_a_branch() {
    let (mut choice, rule) = what_next_and(branch_of("awaitApproval"));
    rules(&mut choice).remove(rule);
    let (_, guarded) = what_next_and(guarded_rule_of("awaitApproval"));
    assert!(guarded < rule, "the guarded rule precedes the branch");
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::NoBranch {
            decision: "awaitApproval"
        }]
    );
}

#[test]
fn a_duplicated_branch_or_guarded_rule_is_reported() {
    let (mut choice, rule) = what_next_and(branch_of("bake"));
    let copy = choice["Choices"][rule].clone();
    rules(&mut choice).push(copy);
    let last = rules(&mut choice).len() - 1;
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::TwoBranches {
            decision: "bake",
            rule: last
        }]
    );

    // The same decision to another state is a second branch too.
    let (mut choice, rule) = what_next_and(branch_of("shift"));
    rules(&mut choice).insert(
        0,
        json!({"Variable": DECISION, "StringEquals": "shift", "Next": "Bake"}),
    );
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::TwoBranches {
            decision: "shift",
            rule: rule + 1
        }]
    );

    let (mut choice, rule) = what_next_and(guarded_rule_of("preTrafficHook"));
    let copy = choice["Choices"][rule].clone();
    rules(&mut choice).insert(rule + 1, copy);
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::TwoBranches {
            decision: "preTrafficHook",
            rule: rule + 1
        }]
    );
}

#[test]
fn a_misspelt_decision_is_reported_with_the_branch_it_leaves_out() {
    let (mut choice, rule) = what_next_and(branch_of("promote"));
    choice["Choices"][rule]["StringEquals"] = json!("promte");
    assert_eq!(
        choice_problems(&choice),
        [
            ChoiceProblem::UnknownDecision {
                rule,
                value: "promte".to_owned()
            },
            ChoiceProblem::NoBranch {
                decision: "promote"
            },
        ]
    );
    // Inside an And too (the branch itself is intact).
    let (mut choice, rule) = what_next_and(guarded_rule_of("postTrafficHook"));
    choice["Choices"][rule]["And"][0]["StringEquals"] = json!("postTraficHook");
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::UnknownDecision {
            rule,
            value: "postTraficHook".to_owned()
        }]
    );
}

#[test]
fn a_guarded_rule_after_its_branch_is_unreachable() {
    let (mut choice, guarded) = what_next_and(guarded_rule_of("awaitApproval"));
    let (_, branch) = what_next_and(branch_of("awaitApproval"));
    rules(&mut choice).swap(guarded, branch);
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::Unreachable {
            decision: "awaitApproval",
            rule: branch
        }]
    );
}

#[test]
fn rules_that_do_not_test_one_decision_plainly_are_reported() {
    let odd = [
        json!({"Variable": "$.caught", "IsPresent": true, "Next": "Roll Back"}),
        json!({"Or": [{"Variable": DECISION, "StringEquals": "bake"},
                      {"Variable": DECISION, "StringEquals": "shift"}], "Next": "Bake"}),
        json!({"Not": {"Variable": DECISION, "StringEquals": "bake"}, "Next": "Bake"}),
        json!({"Variable": DECISION, "StringMatches": "ba*", "Next": "Bake"}),
        json!({"And": [{"Variable": DECISION, "StringEquals": "bake"},
                       {"Variable": DECISION, "StringEquals": "shift"}], "Next": "Bake"}),
    ];
    for rule in odd {
        let mut choice = definition()["States"]["What Next?"].clone();
        rules(&mut choice).insert(0, rule.clone());
        assert_eq!(
            choice_problems(&choice),
            [ChoiceProblem::NotOnDecision { rule: 0 }],
            "{rule}"
        );
    }
}

#[test]
fn a_default_other_than_roll_back_is_reported() {
    let mut choice = definition()["States"]["What Next?"].clone();
    choice["Default"] = json!("Deployment Succeeded");
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::DefaultNotRollBack {
            default: Some("Deployment Succeeded".to_owned())
        }]
    );
    choice.as_object_mut().unwrap().remove("Default");
    assert_eq!(
        choice_problems(&choice),
        [ChoiceProblem::DefaultNotRollBack { default: None }]
    );
}

/// Another Choice on `$.decision` is held to the same rules.
#[test]
fn every_choice_on_the_decision_is_checked() {
    let mut definition = definition();
    let mut partial = definition["States"]["What Next?"].clone();
    rules(&mut partial).truncate(3);
    definition["States"]["Second Thoughts?"] = partial;
    let choices = decision_choices(&definition);
    let mut names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    assert_eq!(names, ["Second Thoughts?", "What Next?"]);
    let partial = choices.iter().find(|(name, _)| *name == "Second Thoughts?");
    assert!(!choice_problems(partial.unwrap().1).is_empty());
}

/// What is wrong with the parks of a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ParkProblem {
    /// A park state's `park` is not a kind the watch function reads.
    Unknown { state: String, value: Value },
    /// A park state sends no `park` value.
    Missing { state: String },
    /// A kind is used in a state other than the one [`ParkKind::state`] names.
    Misplaced { state: String, kind: ParkKind },
    /// No park state uses the kind.
    Unused { kind: ParkKind },
}

/// How the watch function reads `value` as the `park` of a park request: its own decoding of
/// [`watch::ParkRequest`], `park` first. The null deployment after it is refused too, but an
/// error there means `park` was read.
fn watch_reads(value: &Value) -> Option<ParkKind> {
    let text = format!(r#"{{"taskToken":"t","park":{value},"deployment":null}}"#);
    let mut json = serde_json::Deserializer::from_str(&text);
    match serde_path_to_error::deserialize::<_, watch::ParkRequest>(&mut json) {
        Ok(request) => Some(request.park),
        Err(e) if e.path().to_string() == "park" => None,
        Err(_) => ParkKind::deserialize(value).ok(),
    }
}

/// The Tasks that park on the watch function, by name.
fn park_states(definition: &Value) -> Vec<(&str, &Value)> {
    definition["States"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, state)| {
            state["Resource"] == states::PARK_RESOURCE
                && state["Parameters"]["FunctionName"] == "${WatchFunctionArn}"
        })
        .map(|(name, state)| (name.as_str(), state))
        .collect()
}

fn park_problems(definition: &Value) -> Vec<ParkProblem> {
    let mut problems = Vec::new();
    let mut used = Vec::new();
    for (name, state) in park_states(definition) {
        let state_name = name.to_owned();
        let Some(value) = state["Parameters"]["Payload"].get("park") else {
            problems.push(ParkProblem::Missing { state: state_name });
            continue;
        };
        match watch_reads(value) {
            Some(kind) if kind.state() != name => {
                problems.push(ParkProblem::Misplaced {
                    state: state_name,
                    kind,
                });
                used.push(kind);
            }
            Some(kind) => used.push(kind),
            None => problems.push(ParkProblem::Unknown {
                state: state_name,
                value: value.clone(),
            }),
        }
    }
    for kind in ParkKind::ALL {
        if !used.contains(&kind) {
            problems.push(ParkProblem::Unused { kind });
        }
    }
    problems
}

#[test]
fn every_park_kind_in_the_definition_is_the_watch_functions_and_every_kind_is_used() {
    let definition = definition();
    assert_eq!(park_problems(&definition), []);
    assert_eq!(park_states(&definition).len(), ParkKind::ALL.len());
    for kind in ParkKind::ALL {
        assert_eq!(watch_reads(&json!(kind.wire_name())), Some(kind));
    }
    for unknown in [json!("bak"), json!("Bake"), json!(1), Value::Null] {
        assert_eq!(watch_reads(&unknown), None, "{unknown}");
    }
}

#[test]
fn a_park_kind_the_watch_function_does_not_know_is_reported() {
    let mut definition = definition();
    definition["States"][states::BAKE]["Parameters"]["Payload"]["park"] = json!("bak");
    assert_eq!(
        park_problems(&definition),
        [
            ParkProblem::Unknown {
                state: states::BAKE.to_owned(),
                value: json!("bak")
            },
            ParkProblem::Unused {
                kind: ParkKind::Bake
            },
        ]
    );
    let approval = &mut definition["States"][states::AWAIT_APPROVAL]["Parameters"]["Payload"];
    approval.as_object_mut().unwrap().remove("park");
    assert!(park_problems(&definition).contains(&ParkProblem::Missing {
        state: states::AWAIT_APPROVAL.to_owned()
    }));
}

#[test]
fn a_kind_no_park_state_uses_is_reported() {
    let mut definition = definition();
    definition["States"][states::AWAIT_PROVISIONED_CONCURRENCY]["Parameters"]["Payload"]["park"] =
        json!("bake");
    assert_eq!(
        park_problems(&definition),
        [
            ParkProblem::Misplaced {
                state: states::AWAIT_PROVISIONED_CONCURRENCY.to_owned(),
                kind: ParkKind::Bake
            },
            ParkProblem::Unused {
                kind: ParkKind::ProvisionedConcurrency
            },
        ]
    );
    let mut definition = self::definition();
    definition["States"]
        .as_object_mut()
        .unwrap()
        .remove(states::POST_PROMOTION_BAKE);
    assert_eq!(
        park_problems(&definition),
        [ParkProblem::Unused {
            kind: ParkKind::PostPromotionBake
        }]
    );
}

/// Every `Comment` in `value`, with where it is (`States.Bake`, `States.What Next?.Choices[2]`).
fn comments(value: &Value, at: &str, into: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                match (key.as_str(), child) {
                    ("Comment", Value::String(text)) => into.push((at.to_owned(), text.clone())),
                    _ => comments(child, &join(at, key), into),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                comments(item, &format!("{at}[{i}]"), into);
            }
        }
        _ => {}
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// Why `comment` is not one short sentence, if it is not: a sentence break is `.`, `!` or `?`
/// followed by a space or the end; one sentence has at most one.
fn not_one_sentence(comment: &str) -> Option<String> {
    let chars: Vec<char> = comment.chars().collect();
    let breaks = (0..chars.len())
        .filter(|&i| {
            matches!(chars[i], '.' | '!' | '?')
                && chars.get(i + 1).is_none_or(|c| c.is_whitespace())
        })
        .count();
    if comment.trim().is_empty() {
        Some("empty".to_owned())
    } else if breaks > 1 {
        Some(format!("{breaks} sentence breaks"))
    } else if chars.len() > COMMENT_MAX_CHARS {
        Some(format!(
            "{} characters, over {COMMENT_MAX_CHARS}",
            chars.len()
        ))
    } else {
        None
    }
}

fn comment_problems(definition: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    comments(definition, "", &mut found);
    let mut problems: Vec<(String, String)> = found
        .into_iter()
        .filter_map(|(at, text)| not_one_sentence(&text).map(|why| (at, why)))
        .collect();
    for (name, state) in definition["States"].as_object().unwrap() {
        if state.get("Comment").is_none() {
            problems.push((format!("States.{name}"), "no Comment".to_owned()));
        }
    }
    problems
}

#[test]
fn every_comment_is_one_sentence() {
    let definition = definition();
    let mut found = Vec::new();
    comments(&definition, "", &mut found);
    assert!(
        found.len() > states::ALL.len(),
        "the machine's and every state's"
    );
    assert_eq!(
        comment_problems(&definition),
        Vec::<(String, String)>::new()
    );
}

#[test]
fn a_long_or_many_sentence_comment_is_reported() {
    for (comment, why) in [
        ("Parks. Then wakes.", Some("2 sentence breaks")),
        (
            "Parks; wakes on an alarm (e.g. errors) or at 2.5 minutes.",
            Some("2 sentence breaks"),
        ),
        (
            "Parks until {\"action\":\"promote\"} or 2.5 minutes pass",
            None,
        ),
        ("", Some("empty")),
    ] {
        assert_eq!(not_one_sentence(comment).as_deref(), why, "{comment:?}");
    }
    let mut definition = definition();
    definition["States"][states::BAKE]["Comment"] = json!("Parks. Then wakes.");
    definition["States"][states::PROMOTE]["Comment"] = json!("x".repeat(COMMENT_MAX_CHARS + 1));
    definition["States"][states::SHIFT_TRAFFIC]
        .as_object_mut()
        .unwrap()
        .remove("Comment");
    definition["States"]["What Next?"]["Choices"][0]["Comment"] = json!("One. Two. Three.");
    // serde_json keeps the definition's key order or sorts keys, depending on its features.
    let mut problems = comment_problems(&definition);
    problems.sort();
    assert_eq!(
        problems,
        [
            ("States.Bake".to_owned(), "2 sentence breaks".to_owned()),
            (
                "States.Promote".to_owned(),
                format!(
                    "{} characters, over {COMMENT_MAX_CHARS}",
                    COMMENT_MAX_CHARS + 1
                )
            ),
            ("States.Shift Traffic".to_owned(), "no Comment".to_owned()),
            (
                "States.What Next?.Choices[0]".to_owned(),
                "3 sentence breaks".to_owned()
            ),
        ]
    );
}

/// The state names in the order the definition's text lists them (`serde_json::Value` sorts
/// its keys).
fn states_in_order(definition: &str) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'de> Deserialize<'de> for Names {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
            struct Keys;
            impl<'de> Visitor<'de> for Keys {
                type Value = Names;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("the States object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Names, A::Error> {
                    let mut names = Vec::new();
                    while let Some((name, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                        names.push(name);
                    }
                    Ok(Names(names))
                }
            }
            d.deserialize_map(Keys)
        }
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Top {
        states: Names,
    }
    serde_json::from_str::<Top>(definition).unwrap().states.0
}

/// `docs/state-machine.md` explains every state, one `## ` section each, in the definition's
/// order, and no state that is not there.
#[test]
fn the_docs_have_one_section_per_state_in_order() {
    let docs = std::fs::read_to_string(repo().join("docs/state-machine.md")).unwrap();
    let sections: Vec<&str> = docs
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .collect();
    let names = states_in_order(shifter_statemachine::DEFINITION);
    assert_eq!(
        names.len(),
        definition()["States"].as_object().unwrap().len()
    );
    assert_eq!(names[0], states::START_DEPLOYMENT);
    assert_eq!(sections, names);
}
