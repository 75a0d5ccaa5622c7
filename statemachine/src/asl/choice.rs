//! Choice rules: the data tests the definition branches with — `StringEquals` and `IsPresent`
//! on a path, and `And` of them.
//!
//! <https://states-language.net/spec.html#choice-state>. The other Boolean expressions (Or, Not)
//! and every other comparison operator are refused by name.

use serde_json::Value;

use super::path::{Path, Scope};
use super::read::{Names, Obj};
use super::{DefinitionError, Failure};

/// A Choice rule: a data test on `Variable`, or `And` of nested rules (which have no `Next`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Rule {
    /// `Variable` equals the string, character by character.
    StringEquals { variable: Path, equals: String },
    /// `Variable` selects something (`true`) or nothing (`false`).
    IsPresent { variable: Path, present: bool },
    /// Every nested rule holds.
    And(Vec<Rule>),
}

/// Parses the `Choices` array into rules and the state index each one goes to.
pub(super) fn parse_choices(
    state: &Obj<'_>,
    names: &Names<'_>,
) -> Result<Vec<(Rule, usize)>, DefinitionError> {
    let items = match state.get("Choices") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return Err(state.invalid("Choices must be a non-empty array")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let obj = state.child(format!("Choices[{i}]"), item)?;
            let rule = Rule::parse(&obj, true)?;
            let next = obj.required("Next")?;
            Ok((rule, names.resolve(state.at, &obj.field("Next"), next)?))
        })
        .collect()
}

impl Rule {
    /// A rule at `obj`; `top` rules carry `Next` (and may have a `Comment`), nested ones do not.
    fn parse(obj: &Obj<'_>, top: bool) -> Result<Rule, DefinitionError> {
        let mut known = vec!["Variable", "StringEquals", "IsPresent", "And"];
        if top {
            known.extend(["Next", "Comment"]);
        }
        obj.allow_only(&known)?;
        if let Some(items) = obj.get("And") {
            if obj.get("Variable").is_some() {
                return Err(obj.invalid(format!(
                    "{} cannot be combined with Variable",
                    obj.field("And")
                )));
            }
            let items = match items {
                Value::Array(items) if !items.is_empty() => items,
                _ => {
                    return Err(
                        obj.invalid(format!("{} must be a non-empty array", obj.field("And")))
                    );
                }
            };
            let rules = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    Rule::parse(&obj.child(obj.field(&format!("And[{i}]")), item)?, false)
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Rule::And(rules));
        }
        let variable = obj
            .path("Variable")?
            .ok_or_else(|| obj.invalid(format!("{} is required", obj.field("Variable"))))?;
        match (obj.get("StringEquals"), obj.get("IsPresent")) {
            (Some(_), None) => Ok(Rule::StringEquals {
                variable,
                equals: obj.required("StringEquals")?.to_string(),
            }),
            (None, Some(Value::Bool(present))) => Ok(Rule::IsPresent {
                variable,
                present: *present,
            }),
            (None, Some(_)) => {
                Err(obj.invalid(format!("{} must be a boolean", obj.field("IsPresent"))))
            }
            _ => Err(obj.invalid(format!(
                "{} needs exactly one of StringEquals and IsPresent",
                obj.field("")
            ))),
        }
    }

    /// Whether the rule holds. For `StringEquals`, a Variable that selects nothing is a
    /// `States.Runtime` error and a value that is not a string never matches (the spec's "not
    /// both of the appropriate type"); `IsPresent` never fails.
    pub(super) fn holds(&self, scope: &Scope<'_>) -> Result<bool, Failure> {
        match self {
            Rule::StringEquals { variable, equals } => {
                let value = scope.select(variable).ok_or_else(|| {
                    Failure::runtime(format!(
                        "Invalid path '{variable}': The choice state's condition path references an invalid value."
                    ))
                })?;
                Ok(value.as_str() == Some(equals.as_str()))
            }
            Rule::IsPresent { variable, present } => {
                Ok(scope.select(variable).is_some() == *present)
            }
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.holds(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::asl::Where;

    fn rule(value: &Value) -> Result<Rule, DefinitionError> {
        let at = Where::State("Choose".into());
        Rule::parse(&Obj::new(&at, "Choices[0]", value)?, true)
    }

    fn holds_for(rule_json: Value, input: &Value) -> Result<bool, Failure> {
        let context = json!({});
        let scope = Scope {
            input,
            context: &context,
        };
        rule(&rule_json).unwrap().holds(&scope)
    }

    fn choices(items: Value) -> Result<Vec<(Rule, usize)>, DefinitionError> {
        let at = Where::State("Choose".into());
        let state = json!({ "Choices": items });
        let names = Names(vec!["Public", "Private"]);
        parse_choices(&Obj::new(&at, "", &state)?, &names)
    }

    /// <https://states-language.net/spec.html#choice-state>: the data test inside the example's
    /// `Not`, on the example's input.
    #[test]
    fn spec_string_equals_from_the_choice_example() {
        let input = json!({"type": "Private", "value": 22});
        let test = json!({"Variable": "$.type", "StringEquals": "Private", "Next": "Private"});
        assert_eq!(holds_for(test, &input), Ok(true));
        let test = json!({"Variable": "$.type", "StringEquals": "Public", "Next": "Public"});
        assert_eq!(holds_for(test, &input), Ok(false));
        let parsed = choices(json!([
            {"Variable": "$.type", "StringEquals": "Public", "Next": "Public"},
            {"Variable": "$.type", "StringEquals": "Private", "Next": "Private"}
        ]))
        .unwrap();
        assert_eq!(
            parsed.iter().map(|(_, next)| *next).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }

    /// <https://states-language.net/spec.html#choice-state>: "if the values are not both of the
    /// appropriate type … the comparison will return false".
    #[test]
    fn spec_values_of_another_type_never_match() {
        for value in [
            json!(5),
            json!(true),
            json!(null),
            json!(["5"]),
            json!({"s": "5"}),
        ] {
            let input = json!({ "v": value });
            let test = json!({"Variable": "$.v", "StringEquals": "5", "Next": "Public"});
            assert_eq!(holds_for(test, &input), Ok(false), "{value}");
        }
    }

    /// <https://states-language.net/spec.html#choice-state>: strings compare character by
    /// character, with no case-folding, white-space collapsing or Unicode normalization.
    #[test]
    fn spec_strings_compare_character_by_character() {
        for text in ["private", "Private ", "PRIVATE"] {
            let test = json!({"Variable": "$.v", "StringEquals": "Private", "Next": "Public"});
            assert_eq!(holds_for(test, &json!({ "v": text })), Ok(false), "{text}");
        }
        let composed = json!({"Variable": "$.v", "StringEquals": "caf\u{e9}", "Next": "Public"});
        assert_eq!(holds_for(composed, &json!({"v": "cafe\u{301}"})), Ok(false));
    }

    /// <https://states-language.net/spec.html#choice-state>: `IsPresent` tests whether the
    /// field exists (a missing one is no error), and `And` holds when every nested rule does —
    /// the gate announcement's test in the definition. (The definition uses only `IsPresent:
    /// true`: aws-local-stepfunctions 3.0 never matches `IsPresent: false`.)
    #[test]
    fn spec_and_of_string_equals_and_is_present() {
        let rule = json!({"And": [
            {"Variable": "$.decision", "StringEquals": "awaitApproval"},
            {"Variable": "$.gateAnnounced", "IsPresent": true}
        ], "Next": "Public"});
        let fresh = json!({"decision": "awaitApproval"});
        assert_eq!(holds_for(rule.clone(), &fresh), Ok(false));
        let announced = json!({"decision": "awaitApproval", "gateAnnounced": {}});
        assert_eq!(holds_for(rule.clone(), &announced), Ok(true));
        let absent = json!({"Variable": "$.gateAnnounced", "IsPresent": false, "Next": "Public"});
        assert_eq!(holds_for(absent, &fresh), Ok(true));
        assert_eq!(holds_for(rule, &json!({"decision": "bake"})), Ok(false));
        let present = json!({"Variable": "$.a.b", "IsPresent": true, "Next": "Public"});
        assert_eq!(
            holds_for(present.clone(), &json!({"a": {"b": null}})),
            Ok(true)
        );
        assert_eq!(holds_for(present, &json!({"a": 1})), Ok(false));
    }

    #[test]
    fn missing_variable_is_a_runtime_error() {
        let test = json!({"Variable": "$.x", "StringEquals": "a", "Next": "Public"});
        let error = holds_for(test, &json!({})).unwrap_err();
        assert!(error.is_runtime());
        assert!(error.cause.contains("$.x"), "{}", error.cause);
    }

    /// <https://states-language.net/spec.html#choice-state>: the section's own example uses Not,
    /// IsNumeric and numeric comparisons, which the definition does not need; the runner refuses
    /// it, naming the first field it lacks.
    #[test]
    fn spec_choice_example_is_refused_by_name() {
        let example = json!([
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"And": [
                {"Variable": "$.value", "IsPresent": true},
                {"Variable": "$.value", "IsNumeric": true},
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30}
            ], "Next": "Private"},
            {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold", "Next": "Public"}
        ]);
        let error = choices(example).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"state "Choose": field "Choices[0].Not" is not supported by the local runner"#
        );
    }

    #[test]
    fn refuses_other_operators_by_name() {
        for operator in [
            "Or",
            "StringEqualsPath",
            "StringLessThan",
            "StringMatches",
            "NumericEquals",
            "BooleanEquals",
            "TimestampEquals",
            "IsNull",
        ] {
            let mut test = json!({"Variable": "$.a", "Next": "Public"});
            test[operator] = json!("x");
            let error = rule(&test).unwrap_err();
            assert!(
                matches!(&error, DefinitionError::UnsupportedField { field, .. } if *field == format!("Choices[0].{operator}")),
                "{operator}: {error}"
            );
        }
    }

    #[test]
    fn refuses_malformed_rules() {
        for (value, named) in [
            (json!({"StringEquals": "a", "Next": "Public"}), "Variable"),
            (json!({"Variable": "$.a", "Next": "Public"}), "StringEquals"),
            (
                json!({"Variable": "$.a", "IsPresent": "yes", "Next": "Public"}),
                "IsPresent",
            ),
            (
                json!({"Variable": "$.a", "IsPresent": true, "StringEquals": "a"}),
                "exactly one",
            ),
            (json!({"And": [], "Next": "Public"}), "And"),
            (
                json!({"And": [{"Variable": "$.a", "StringEquals": "a", "Next": "Public"}]}),
                "And[0].Next",
            ),
            (
                json!({"Variable": "$.a", "StringEquals": 1, "Next": "Public"}),
                "StringEquals",
            ),
            (
                json!({"Variable": "$$.Execution.Name", "StringEquals": "a"}),
                "Variable",
            ),
        ] {
            let error = rule(&value).unwrap_err().to_string();
            assert!(error.contains(named), "{value}: {error}");
        }
        let no_next = choices(json!([{"Variable": "$.a", "StringEquals": "a"}])).unwrap_err();
        assert!(
            no_next.to_string().contains("Choices[0].Next is required"),
            "{no_next}"
        );
    }
}
