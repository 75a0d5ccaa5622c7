//! Choice rules: comparison operators, type tests and the And/Or/Not combinators.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::definition::{Names, Obj};
use super::path::{Path, Scope};
use super::{DefinitionError, Failure};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Null,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Compare(Family, Cmp),
    Matches,
    Is(Type),
    IsPresent,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    Value(Value),
    Path(Path),
}

/// One Choice rule, top-level or nested.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test {
        variable: Path,
        op: Op,
        operand: Operand,
    },
}

/// The operator a Choice rule key names, and whether it is a `…Path` variant.
fn parse_op(name: &str) -> Option<(Op, bool)> {
    let fixed = match name {
        "StringMatches" => Some(Op::Matches),
        "IsPresent" => Some(Op::IsPresent),
        "IsNull" => Some(Op::Is(Type::Null)),
        "IsNumeric" => Some(Op::Is(Type::Numeric)),
        "IsString" => Some(Op::Is(Type::String)),
        "IsBoolean" => Some(Op::Is(Type::Boolean)),
        "IsTimestamp" => Some(Op::Is(Type::Timestamp)),
        _ => None,
    };
    if let Some(op) = fixed {
        return Some((op, false));
    }
    let (base, is_path) = name
        .strip_suffix("Path")
        .map_or((name, false), |base| (base, true));
    [
        ("String", Family::String),
        ("Numeric", Family::Numeric),
        ("Boolean", Family::Boolean),
        ("Timestamp", Family::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, family)| {
        let cmp = match base.strip_prefix(prefix)? {
            "Equals" => Cmp::Eq,
            _ if family == Family::Boolean => return None,
            "LessThan" => Cmp::Lt,
            "GreaterThan" => Cmp::Gt,
            "LessThanEquals" => Cmp::Le,
            "GreaterThanEquals" => Cmp::Ge,
            _ => return None,
        };
        Some((Op::Compare(family, cmp), is_path))
    })
}

fn timestamp(value: &Value) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(value.as_str()?).ok()
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
            let next = obj
                .string("Next")?
                .ok_or_else(|| obj.invalid(format!("{} needs Next", obj.field(""))))?;
            Ok((rule, names.resolve(state.at, &obj.field("Next"), next)?))
        })
        .collect()
}

impl Rule {
    fn parse(obj: &Obj<'_>, top: bool) -> Result<Rule, DefinitionError> {
        let is_operator =
            |key: &str| matches!(key, "And" | "Or" | "Not") || parse_op(key).is_some();
        obj.allow(|key| {
            matches!(key, "Variable" | "Comment") || (top && key == "Next") || is_operator(key)
        })?;
        let operators: Vec<&str> = obj.keys().filter(|key| is_operator(key)).collect();
        let [operator] = operators.as_slice() else {
            return Err(obj.invalid(format!(
                "{} needs exactly one comparison operator or And/Or/Not",
                obj.field("")
            )));
        };
        let field = obj.field(operator);
        let combined = |value: Option<&Value>| -> Result<Vec<Rule>, DefinitionError> {
            match value {
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Rule::parse(&obj.child(format!("{field}[{i}]"), item)?, false))
                    .collect(),
                _ => Err(obj.invalid(format!("{field} must be a non-empty array of rules"))),
            }
        };
        let nested = matches!(*operator, "And" | "Or" | "Not");
        if nested && obj.get("Variable").is_some() {
            return Err(obj.invalid(format!(
                "{} cannot have both Variable and {operator}",
                obj.field("")
            )));
        }
        match *operator {
            "And" => return combined(obj.get("And")).map(Rule::And),
            "Or" => return combined(obj.get("Or")).map(Rule::Or),
            "Not" => {
                let inner = obj.child(field, obj.get("Not").unwrap_or(&Value::Null))?;
                return Ok(Rule::Not(Box::new(Rule::parse(&inner, false)?)));
            }
            _ => {}
        }
        let Some((op, is_path)) = parse_op(operator) else {
            return Err(obj.invalid(format!("{field} is not an operator")));
        };
        let variable = obj
            .path("Variable")?
            .ok_or_else(|| obj.invalid(format!("{} needs Variable", obj.field(""))))?;
        let value = obj.get(operator).unwrap_or(&Value::Null);
        let operand = if is_path {
            Operand::Path(
                obj.path(operator)?
                    .ok_or_else(|| obj.invalid(format!("{field} must be a path")))?,
            )
        } else {
            let fits = match op {
                Op::Compare(Family::String, _) | Op::Matches => value.is_string(),
                Op::Compare(Family::Numeric, _) => value.is_number(),
                Op::Compare(Family::Timestamp, _) => timestamp(value).is_some(),
                Op::Compare(Family::Boolean, _) | Op::Is(_) | Op::IsPresent => value.is_boolean(),
            };
            if !fits {
                return Err(obj.invalid(format!("{field} has a value of the wrong type")));
            }
            Operand::Value(value.clone())
        };
        Ok(Rule::Test {
            variable,
            op,
            operand,
        })
    }

    /// Whether the rule holds; a missing Variable (except for IsPresent) is a `States.Runtime` error.
    pub(super) fn eval(&self, scope: &Scope<'_>) -> Result<bool, Failure> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.eval(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.eval(scope)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.eval(scope)?),
            Rule::Test {
                variable,
                op,
                operand,
            } => {
                let selected = scope.select(variable);
                let missing = |path: &Path| {
                    Failure::runtime(format!(
                        "Invalid path '{path}': The choice state's condition path references an invalid value."
                    ))
                };
                let wanted = match operand {
                    Operand::Value(value) => value,
                    Operand::Path(path) => scope.select(path).ok_or_else(|| missing(path))?,
                };
                if *op == Op::IsPresent {
                    return Ok(selected.is_some() == (wanted == &Value::Bool(true)));
                }
                let value = selected.ok_or_else(|| missing(variable))?;
                Ok(match op {
                    Op::Is(kind) => {
                        let is = match kind {
                            Type::Null => value.is_null(),
                            Type::Numeric => value.is_number(),
                            Type::String => value.is_string(),
                            Type::Boolean => value.is_boolean(),
                            Type::Timestamp => timestamp(value).is_some(),
                        };
                        is == (wanted == &Value::Bool(true))
                    }
                    Op::Matches => match (value.as_str(), wanted.as_str()) {
                        (Some(text), Some(pattern)) => glob(pattern, text),
                        _ => false,
                    },
                    Op::Compare(family, cmp) => compare(*family, value, wanted)
                        .is_some_and(|ordering| holds(*cmp, ordering)),
                    Op::IsPresent => true,
                })
            }
        }
    }
}

/// Orders two values of one family; values of another type never match, as in AWS.
fn compare(family: Family, a: &Value, b: &Value) -> Option<Ordering> {
    match family {
        Family::String => Some(a.as_str()?.cmp(b.as_str()?)),
        Family::Numeric => a.as_f64()?.partial_cmp(&b.as_f64()?),
        Family::Boolean => (a.as_bool()? == b.as_bool()?).then_some(Ordering::Equal),
        Family::Timestamp => Some(timestamp(a)?.cmp(&timestamp(b)?)),
    }
}

fn holds(cmp: Cmp, ordering: Ordering) -> bool {
    match cmp {
        Cmp::Eq => ordering.is_eq(),
        Cmp::Lt => ordering.is_lt(),
        Cmp::Gt => ordering.is_gt(),
        Cmp::Le => ordering.is_le(),
        Cmp::Ge => ordering.is_ge(),
    }
}

/// StringMatches: `*` matches any run of characters; `\*` and `\\` are literal.
fn glob(pattern: &str, text: &str) -> bool {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Some(chars.next().unwrap_or('\\')),
            '*' => None,
            c => Some(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut i, mut star, mut mark) = (0, 0, None, 0);
    while i < text.len() {
        match tokens.get(t) {
            Some(Some(c)) if *c == text[i] => {
                t += 1;
                i += 1;
            }
            Some(None) => {
                star = Some(t);
                mark = i;
                t += 1;
            }
            _ => match star {
                Some(s) => {
                    t = s + 1;
                    mark += 1;
                    i = mark;
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(Option::is_none)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::asl::Where;

    fn rule(value: Value) -> Result<Rule, DefinitionError> {
        let at = Where::State("Choose".into());
        Rule::parse(&Obj::new(&at, "Choices[0]", &value)?, false)
    }

    fn holds_for(value: Value, input: &Value) -> Result<bool, Failure> {
        let context = json!({});
        let scope = Scope {
            input,
            context: &context,
        };
        rule(value).unwrap().eval(&scope)
    }

    #[test]
    fn comparison_operators() {
        let input = json!({
            "s": "beta", "n": 5, "b": true, "t": "2026-01-01T00:00:10Z",
            "other": "beta", "five": 5.0, "later": "2026-01-01T00:01:00Z"
        });
        for (value, expected) in [
            (json!({"Variable": "$.s", "StringEquals": "beta"}), true),
            (
                json!({"Variable": "$.s", "StringEqualsPath": "$.other"}),
                true,
            ),
            (json!({"Variable": "$.s", "StringLessThan": "gamma"}), true),
            (
                json!({"Variable": "$.s", "StringGreaterThanEquals": "beta"}),
                true,
            ),
            (json!({"Variable": "$.s", "StringMatches": "b*a"}), true),
            (json!({"Variable": "$.s", "StringMatches": "a*"}), false),
            (json!({"Variable": "$.n", "NumericEquals": 5}), true),
            (
                json!({"Variable": "$.n", "NumericEqualsPath": "$.five"}),
                true,
            ),
            (json!({"Variable": "$.n", "NumericLessThan": 5}), false),
            (json!({"Variable": "$.n", "NumericLessThanEquals": 5}), true),
            (json!({"Variable": "$.n", "NumericGreaterThan": 4.5}), true),
            (
                json!({"Variable": "$.n", "NumericGreaterThanPath": "$.five"}),
                false,
            ),
            (json!({"Variable": "$.b", "BooleanEquals": true}), true),
            (
                json!({"Variable": "$.t", "TimestampLessThanPath": "$.later"}),
                true,
            ),
            (
                json!({"Variable": "$.t", "TimestampEquals": "2026-01-01T00:00:10+00:00"}),
                true,
            ),
            (json!({"Variable": "$.s", "NumericEquals": 5}), false),
            (json!({"Variable": "$.n", "StringEquals": "5"}), false),
        ] {
            assert_eq!(holds_for(value.clone(), &input), Ok(expected), "{value}");
        }
    }

    #[test]
    fn type_tests_and_presence() {
        let input =
            json!({"nothing": null, "n": 1, "s": "x", "b": false, "t": "2026-01-01T00:00:00Z"});
        for (value, expected) in [
            (json!({"Variable": "$.missing", "IsPresent": false}), true),
            (json!({"Variable": "$.nothing", "IsPresent": true}), true),
            (json!({"Variable": "$.nothing", "IsNull": true}), true),
            (json!({"Variable": "$.n", "IsNumeric": true}), true),
            (json!({"Variable": "$.n", "IsString": true}), false),
            (json!({"Variable": "$.s", "IsString": true}), true),
            (json!({"Variable": "$.b", "IsBoolean": true}), true),
            (json!({"Variable": "$.t", "IsTimestamp": true}), true),
            (json!({"Variable": "$.s", "IsTimestamp": false}), true),
        ] {
            assert_eq!(holds_for(value.clone(), &input), Ok(expected), "{value}");
        }
    }

    #[test]
    fn and_or_not_combine() {
        let input = json!({"a": 1, "b": "x"});
        let and = json!({"And": [
            {"Variable": "$.a", "NumericEquals": 1},
            {"Not": {"Variable": "$.b", "StringEquals": "y"}}
        ]});
        assert_eq!(holds_for(and, &input), Ok(true));
        let or = json!({"Or": [
            {"Variable": "$.a", "NumericEquals": 2},
            {"Variable": "$.b", "StringEquals": "y"}
        ]});
        assert_eq!(holds_for(or, &input), Ok(false));
    }

    #[test]
    fn missing_variable_is_a_runtime_error() {
        let error = holds_for(json!({"Variable": "$.x", "StringEquals": "a"}), &json!({}));
        assert!(error.unwrap_err().is_runtime());
        let error = holds_for(
            json!({"Variable": "$.a", "StringEqualsPath": "$.x"}),
            &json!({"a": "a"}),
        );
        assert!(error.unwrap_err().is_runtime());
    }

    #[test]
    fn refuses_unknown_operators_and_bad_rules() {
        let unknown = rule(json!({"Variable": "$.a", "StringEqualsIgnoreCase": "x"})).unwrap_err();
        assert!(
            unknown.to_string().contains("StringEqualsIgnoreCase"),
            "{unknown}"
        );
        for value in [
            json!({"Variable": "$.a"}),
            json!({"Variable": "$.a", "StringEquals": 1}),
            json!({"Variable": "$.a", "NumericEquals": 1, "StringEquals": "1"}),
            json!({"Variable": "$.a", "And": [{"Variable": "$.a", "IsNull": true}]}),
            json!({"And": []}),
            json!({"Variable": "$.a", "BooleanLessThan": true}),
            json!({"Variable": "$.a", "IsNull": true, "Next": "X"}),
        ] {
            assert!(rule(value.clone()).is_err(), "{value}");
        }
    }

    #[test]
    fn glob_handles_stars_and_escapes() {
        assert!(glob("*.log", "app.log"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b", "ab c"));
        assert!(glob(r"literal\*", "literal*"));
        assert!(!glob(r"literal\*", "literalX"));
        assert!(glob("*", ""));
        assert!(glob(r"back\\slash", r"back\slash"));
    }
}
