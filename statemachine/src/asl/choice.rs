//! Choice rules: the one data test the definition branches with, `StringEquals` on a path.
//!
//! <https://states-language.net/spec.html#choice-state>. Boolean expressions (And, Or, Not) and
//! every other comparison operator are refused by name.

use serde_json::Value;

use super::path::{Path, Scope};
use super::read::{Names, Obj};
use super::{DefinitionError, Failure};

/// The fields a top-level Choice rule may have.
const RULE_FIELDS: [&str; 4] = ["Variable", "StringEquals", "Next", "Comment"];

/// One top-level Choice rule: `Variable` equals the string, character by character.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rule {
    variable: Path,
    equals: String,
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
            let rule = Rule::parse(&obj)?;
            let next = obj.required("Next")?;
            Ok((rule, names.resolve(state.at, &obj.field("Next"), next)?))
        })
        .collect()
}

impl Rule {
    fn parse(obj: &Obj<'_>) -> Result<Rule, DefinitionError> {
        obj.allow_only(&RULE_FIELDS)?;
        let variable = obj
            .path("Variable")?
            .ok_or_else(|| obj.invalid(format!("{} is required", obj.field("Variable"))))?;
        Ok(Rule {
            variable,
            equals: obj.required("StringEquals")?.to_string(),
        })
    }

    /// Whether the rule holds; a Variable that selects nothing is a `States.Runtime` error, a
    /// value that is not a string never matches (the spec's "not both of the appropriate type").
    pub(super) fn holds(&self, scope: &Scope<'_>) -> Result<bool, Failure> {
        let value = scope.select(&self.variable).ok_or_else(|| {
            Failure::runtime(format!(
                "Invalid path '{}': The choice state's condition path references an invalid value.",
                self.variable
            ))
        })?;
        Ok(value.as_str() == Some(self.equals.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::asl::Where;

    fn rule(value: &Value) -> Result<Rule, DefinitionError> {
        let at = Where::State("Choose".into());
        Rule::parse(&Obj::new(&at, "Choices[0]", value)?)
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

    #[test]
    fn missing_variable_is_a_runtime_error() {
        let test = json!({"Variable": "$.x", "StringEquals": "a", "Next": "Public"});
        let error = holds_for(test, &json!({})).unwrap_err();
        assert!(error.is_runtime());
        assert!(error.cause.contains("$.x"), "{}", error.cause);
    }

    /// <https://states-language.net/spec.html#choice-state>: the section's own example uses Not,
    /// And, IsPresent, IsNumeric and numeric comparisons, none of which the definition needs;
    /// the runner refuses it, naming the first field it lacks.
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
            "And",
            "Or",
            "StringEqualsPath",
            "StringLessThan",
            "StringMatches",
            "NumericEquals",
            "BooleanEquals",
            "TimestampEquals",
            "IsNull",
            "IsPresent",
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
