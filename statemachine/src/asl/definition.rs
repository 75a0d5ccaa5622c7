//! Parsing and validating a definition into the model the runner executes.

use std::collections::BTreeMap;

use serde_json::Value;
use shifter::domain::text::cut_chars;

use super::choice::{Rule, parse_choices};
use super::intrinsic::{Expr, FieldError, Template};
use super::path::Path;
use super::read::{Names, Obj};
use super::{DefinitionError, History, Where};

const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
const LAMBDA_INVOKE_WAIT: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";
const PUT_EVENTS: &str = "arn:aws:states:::events:putEvents";
const ALL: &str = "States.ALL";
/// The largest MaxAttempts Step Functions accepts.
const MAX_ATTEMPTS: u64 = 99_999_999;

/// The fields each state type may have: those the shipped definition uses, nothing more.
const TASK_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "Resource",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Retry",
    "Catch",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "Next",
    "End",
];
const PASS_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "Parameters",
    "ResultPath",
    "OutputPath",
    "Next",
    "End",
];
const CHOICE_FIELDS: &[&str] = &["Type", "Comment", "Choices", "Default", "OutputPath"];
const SUCCEED_FIELDS: &[&str] = &["Type", "Comment", "OutputPath"];
const FAIL_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
];
const RETRIER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];
const CATCHER_FIELDS: &[&str] = &["ErrorEquals", "Next", "ResultPath", "Comment"];

/// A parsed, validated state machine, ready to run locally.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub(super) start_at: usize,
    pub(super) states: Vec<State>,
    pub(super) history: History,
}

/// One state; `None` for OutputPath means `null`, which yields `{}`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct State {
    pub(super) name: String,
    pub(super) output_path: Option<Path>,
    pub(super) kind: Kind,
}

/// Where a non-terminal state goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    Next(usize),
    End,
}

/// What a state does; `None` for a ResultPath means `null`, which discards the result.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    Task(Box<Task>),
    Pass {
        parameters: Option<Template>,
        result_path: Option<Path>,
        then: Then,
    },
    Choice {
        choices: Vec<(Rule, usize)>,
        default: Option<usize>,
    },
    Succeed,
    Fail {
        error: Option<Message>,
        cause: Option<Message>,
    },
}

/// A Fail state's Error or Cause: literal, or from ErrorPath/CausePath.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Message {
    Literal(String),
    Expr(Expr),
}

/// The three Task resources the runner implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resource {
    /// `arn:aws:states:::lambda:invoke`: the invoker runs the function.
    LambdaInvoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`: the invoker runs the function (its
    /// payload carries `$$.Task.Token`); when it answers without an error the execution parks
    /// until the token is answered or the timeout passes, and the invoker decides which. See
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>.
    LambdaInvokeWaitForTaskToken,
    /// `arn:aws:states:::events:putEvents` (request-response): the event is put in spirit;
    /// the result is PutEvents' answer (`Entries`, `FailedEntryCount`). See
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html>.
    PutEvents,
}

impl Resource {
    /// The ARN as written in the definition.
    pub(super) fn arn(self) -> &'static str {
        match self {
            Resource::LambdaInvoke => LAMBDA_INVOKE,
            Resource::LambdaInvokeWaitForTaskToken => LAMBDA_INVOKE_WAIT,
            Resource::PutEvents => PUT_EVENTS,
        }
    }

    /// The Parameters fields the resource takes (all of them required).
    fn parameters(self) -> &'static [&'static str] {
        match self {
            Resource::LambdaInvoke | Resource::LambdaInvokeWaitForTaskToken => {
                &["FunctionName", "Payload"]
            }
            Resource::PutEvents => &["Entries"],
        }
    }
}

/// A Task's timeout: none, fixed, or read from the input (`TimeoutSecondsPath`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Timeout {
    None,
    Seconds(u64),
    Path(Path),
}

/// A Task on one of the supported resources.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Task {
    pub(super) resource: Resource,
    pub(super) parameters: Template,
    pub(super) result_selector: Option<Template>,
    pub(super) result_path: Option<Path>,
    pub(super) retry: Vec<Retrier>,
    pub(super) catch: Vec<Catcher>,
    pub(super) timeout: Timeout,
    pub(super) then: Then,
}

/// One Retry entry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Retrier {
    pub(super) errors: Vec<String>,
    pub(super) interval_seconds: u64,
    pub(super) max_attempts: u32,
    pub(super) backoff_rate: f64,
    pub(super) max_delay_seconds: Option<u64>,
    pub(super) full_jitter: bool,
}

/// One Catch entry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Catcher {
    pub(super) errors: Vec<String>,
    pub(super) next: usize,
    pub(super) result_path: Option<Path>,
}

/// Replaces every `${Name}`, as CloudFormation's DefinitionSubstitutions do.
fn substitute(
    text: &str,
    substitutions: &BTreeMap<String, String>,
) -> Result<String, DefinitionError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| DefinitionError::Unresolved(cut_chars(after, 40)))?;
        let name = &after[..end];
        let value = substitutions
            .get(name)
            .ok_or_else(|| DefinitionError::Unresolved(name.to_string()))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The top level: JSONPath only, Version 1.0, and nothing but the fields the definition uses.
fn check_top(top: &Obj<'_>) -> Result<(), DefinitionError> {
    if let Some(language) = top.get("QueryLanguage")
        && language != "JSONPath"
    {
        let name = language
            .as_str()
            .map_or_else(|| language.to_string(), str::to_string);
        return Err(DefinitionError::QueryLanguage(name));
    }
    top.allow_only(&["Comment", "StartAt", "States", "Version", "QueryLanguage"])?;
    if let Some(version) = top.string("Version")?
        && version != "1.0"
    {
        return Err(top.invalid(format!("Version {version:?} is not 1.0")));
    }
    Ok(())
}

impl StateMachine {
    /// Replaces every `${Name}` in the raw text from `substitutions` (an unresolved `${...}` is an error naming it), parses, validates (StartAt and every Next/Default/Catch Next exist; every non-terminal state has Next or End; unknown fields/types refused by name).
    pub fn parse(
        definition: &str,
        substitutions: &BTreeMap<String, String>,
    ) -> Result<StateMachine, DefinitionError> {
        let root: Value = serde_json::from_str(&substitute(definition, substitutions)?)?;
        let at = Where::Machine;
        let top = Obj::new(&at, "", &root)?;
        check_top(&top)?;
        let states = match top.get("States") {
            Some(Value::Object(states)) if !states.is_empty() => states,
            _ => return Err(top.invalid("States must be a non-empty object")),
        };
        let names = Names(states.keys().map(String::as_str).collect());
        Ok(StateMachine {
            start_at: names.resolve(&at, "StartAt", top.required("StartAt")?)?,
            states: states
                .iter()
                .map(|(name, value)| State::parse(name, value, &names))
                .collect::<Result<_, _>>()?,
            history: History::default(),
        })
    }

    /// The same machine, keeping `history` of each execution in [`super::Execution::events`].
    #[must_use]
    pub fn with_history(mut self, history: History) -> StateMachine {
        self.history = history;
        self
    }

    /// The state names, in the order the definition's JSON object yields them.
    pub fn state_names(&self) -> Vec<&str> {
        self.states
            .iter()
            .map(|state| state.name.as_str())
            .collect()
    }
}

/// The fields a state type may have, or `None` for a type the runner does not implement.
fn fields_of(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Task" => TASK_FIELDS,
        "Pass" => PASS_FIELDS,
        "Choice" => CHOICE_FIELDS,
        "Succeed" => SUCCEED_FIELDS,
        "Fail" => FAIL_FIELDS,
        _ => return None,
    })
}

impl State {
    fn parse(name: &str, value: &Value, names: &Names<'_>) -> Result<State, DefinitionError> {
        let at = Where::State(name.to_string());
        let obj = Obj::new(&at, "", value)?;
        let kind = obj.required("Type")?;
        let fields = fields_of(kind).ok_or_else(|| DefinitionError::UnsupportedType {
            at: at.clone(),
            kind: kind.to_string(),
        })?;
        obj.allow_only(fields)?;
        let kind = match kind {
            "Task" => Kind::Task(Box::new(parse_task(&obj, names)?)),
            "Pass" => parse_pass(&obj, names)?,
            "Choice" => parse_choice(&obj, names)?,
            "Succeed" => Kind::Succeed,
            _ => parse_fail(&obj)?,
        };
        Ok(State {
            name: name.to_string(),
            output_path: obj.io_path("OutputPath")?,
            kind,
        })
    }
}

fn then(obj: &Obj<'_>, names: &Names<'_>) -> Result<Then, DefinitionError> {
    match (obj.string("Next")?, obj.get("End")) {
        (Some(_), Some(_)) => Err(obj.invalid("cannot have both Next and End")),
        (Some(next), None) => Ok(Then::Next(names.resolve(obj.at, "Next", next)?)),
        (None, Some(Value::Bool(true))) => Ok(Then::End),
        _ => Err(obj.invalid("needs Next or \"End\": true")),
    }
}

fn parse_pass(obj: &Obj<'_>, names: &Names<'_>) -> Result<Kind, DefinitionError> {
    Ok(Kind::Pass {
        parameters: obj.template("Parameters")?,
        result_path: obj.io_path("ResultPath")?,
        then: then(obj, names)?,
    })
}

fn parse_choice(obj: &Obj<'_>, names: &Names<'_>) -> Result<Kind, DefinitionError> {
    Ok(Kind::Choice {
        choices: parse_choices(obj, names)?,
        default: obj
            .string("Default")?
            .map(|target| names.resolve(obj.at, "Default", target))
            .transpose()?,
    })
}

fn parse_fail(obj: &Obj<'_>) -> Result<Kind, DefinitionError> {
    Ok(Kind::Fail {
        error: message(obj, "Error", "ErrorPath")?,
        cause: message(obj, "Cause", "CausePath")?,
    })
}

fn parse_task(obj: &Obj<'_>, names: &Names<'_>) -> Result<Task, DefinitionError> {
    let resource = match obj.required("Resource")? {
        LAMBDA_INVOKE => Resource::LambdaInvoke,
        LAMBDA_INVOKE_WAIT => Resource::LambdaInvokeWaitForTaskToken,
        PUT_EVENTS => Resource::PutEvents,
        other => {
            return Err(DefinitionError::UnsupportedResource {
                at: obj.at.clone(),
                resource: other.to_string(),
            });
        }
    };
    Ok(Task {
        parameters: task_parameters(obj, resource)?,
        result_selector: obj.template("ResultSelector")?,
        result_path: obj.io_path("ResultPath")?,
        retry: retriers(obj)?,
        catch: catchers(obj, names)?,
        timeout: timeout(obj)?,
        resource,
        then: then(obj, names)?,
    })
}

/// Parameters are required and hold exactly the fields the resource takes.
fn task_parameters(obj: &Obj<'_>, resource: Resource) -> Result<Template, DefinitionError> {
    let wanted = resource.parameters();
    let needed = || {
        obj.invalid(format!(
            "Parameters with {} are required",
            wanted.join(" and ")
        ))
    };
    let parameters = obj.template("Parameters")?.ok_or_else(needed)?;
    let keys = parameters.keys();
    if let Some(other) = keys.iter().find(|key| !wanted.contains(key)) {
        return Err(DefinitionError::UnsupportedField {
            at: obj.at.clone(),
            field: format!("Parameters.{other}"),
        });
    }
    if !wanted.iter().all(|key| keys.contains(key)) {
        return Err(needed());
    }
    Ok(parameters)
}

fn timeout(obj: &Obj<'_>) -> Result<Timeout, DefinitionError> {
    match (
        obj.uint("TimeoutSeconds", 1, MAX_ATTEMPTS)?,
        obj.path("TimeoutSecondsPath")?,
    ) {
        (Some(_), Some(_)) => {
            Err(obj.invalid("cannot have both TimeoutSeconds and TimeoutSecondsPath"))
        }
        (Some(seconds), None) => Ok(Timeout::Seconds(seconds)),
        (None, Some(path)) => Ok(Timeout::Path(path)),
        (None, None) => Ok(Timeout::None),
    }
}

fn list<'a>(obj: &Obj<'a>, key: &str) -> Result<&'a [Value], DefinitionError> {
    match obj.get(key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(obj.invalid(format!("{key} must be an array"))),
    }
}

fn retriers(obj: &Obj<'_>) -> Result<Vec<Retrier>, DefinitionError> {
    let items = list(obj, "Retry")?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse_retrier(
                &obj.child(format!("Retry[{i}]"), item)?,
                i + 1 == items.len(),
            )
        })
        .collect()
}

fn catchers(obj: &Obj<'_>, names: &Names<'_>) -> Result<Vec<Catcher>, DefinitionError> {
    let items = list(obj, "Catch")?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let catcher = obj.child(format!("Catch[{i}]"), item)?;
            catcher.allow_only(CATCHER_FIELDS)?;
            Ok(Catcher {
                errors: error_equals(&catcher, i + 1 == items.len())?,
                next: names.resolve(obj.at, &catcher.field("Next"), catcher.required("Next")?)?,
                result_path: catcher.io_path("ResultPath")?,
            })
        })
        .collect()
}

fn parse_retrier(obj: &Obj<'_>, last: bool) -> Result<Retrier, DefinitionError> {
    obj.allow_only(RETRIER_FIELDS)?;
    let backoff_rate = match obj.get("BackoffRate") {
        None => 2.0,
        Some(value) => value.as_f64().filter(|rate| *rate >= 1.0).ok_or_else(|| {
            obj.invalid(format!(
                "{} must be a number >= 1.0",
                obj.field("BackoffRate")
            ))
        })?,
    };
    let full_jitter = match obj.string("JitterStrategy")? {
        None | Some("NONE") => false,
        Some("FULL") => true,
        Some(other) => {
            return Err(obj.invalid(format!(
                "{} {other:?} is not FULL or NONE",
                obj.field("JitterStrategy")
            )));
        }
    };
    Ok(Retrier {
        errors: error_equals(obj, last)?,
        interval_seconds: obj.uint("IntervalSeconds", 1, MAX_ATTEMPTS)?.unwrap_or(1),
        max_attempts: obj
            .uint("MaxAttempts", 0, MAX_ATTEMPTS)?
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(3),
        backoff_rate,
        max_delay_seconds: obj.uint("MaxDelaySeconds", 1, 31_622_400)?,
        full_jitter,
    })
}

/// ErrorEquals, with `States.ALL` alone and only in the last retrier or catcher.
fn error_equals(obj: &Obj<'_>, last: bool) -> Result<Vec<String>, DefinitionError> {
    let field = obj.field("ErrorEquals");
    let errors: Vec<String> = match obj.get("ErrorEquals") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| obj.invalid(format!("{field} must hold only strings")))?,
        _ => return Err(obj.invalid(format!("{field} must be a non-empty array"))),
    };
    if errors.iter().any(|error| error == ALL) && (errors.len() > 1 || !last) {
        return Err(obj.invalid(format!(
            "{field}: States.ALL must appear alone, in the last entry"
        )));
    }
    Ok(errors)
}

fn message(obj: &Obj<'_>, literal: &str, path: &str) -> Result<Option<Message>, DefinitionError> {
    match (obj.string(literal)?, obj.string(path)?) {
        (Some(_), Some(_)) => Err(obj.invalid(format!("cannot have both {literal} and {path}"))),
        (Some(text), None) => Ok(Some(Message::Literal(text.to_string()))),
        (None, Some(text)) => Expr::parse(text)
            .map(|expr| Some(Message::Expr(expr)))
            .map_err(|error| {
                obj.expr_error(FieldError {
                    field: path.to_string(),
                    error,
                })
            }),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(definition: &Value) -> Result<StateMachine, DefinitionError> {
        StateMachine::parse(&definition.to_string(), &BTreeMap::new())
    }

    fn one_state(state: Value) -> Value {
        json!({"StartAt": "Roll Back", "States": {"Roll Back": state, "Done": {"Type": "Succeed"}}})
    }

    fn lambda(extra: Value) -> Value {
        let mut state = json!({
            "Type": "Task", "Resource": LAMBDA_INVOKE, "Next": "Done",
            "Parameters": {"FunctionName": "fn", "Payload.$": "$"}
        });
        if let (Value::Object(state), Value::Object(extra)) = (&mut state, extra) {
            state.extend(extra);
        }
        state
    }

    fn refusal(definition: Value) -> String {
        parse(&definition).unwrap_err().to_string()
    }

    #[test]
    fn accepts_every_supported_state_type() {
        let machine = parse(&json!({
            "Comment": "all types", "Version": "1.0", "QueryLanguage": "JSONPath", "StartAt": "Task",
            "States": {
                "Task": lambda(json!({"Next": "Pass", "TimeoutSeconds": 30,
                    "Retry": [{"ErrorEquals": ["A"], "JitterStrategy": "FULL", "MaxDelaySeconds": 5},
                              {"ErrorEquals": ["States.ALL"]}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fail", "ResultPath": "$.error"}]})),
                "Pass": {"Type": "Pass", "Parameters": {"a": 1}, "ResultPath": null, "OutputPath": "$", "Next": "Choice"},
                "Choice": {"Type": "Choice", "Default": "Done", "OutputPath": null,
                    "Choices": [{"Variable": "$.x", "StringEquals": "y", "Next": "Fail", "Comment": "why"}]},
                "Fail": {"Type": "Fail", "ErrorPath": "$.error.Error", "Cause": "because"},
                "Done": {"Type": "Succeed"}
            }
        }))
        .unwrap();
        let mut names = machine.state_names();
        names.sort_unstable();
        assert_eq!(names, vec!["Choice", "Done", "Fail", "Pass", "Task"]);
    }

    #[test]
    fn refuses_unknown_fields_by_name() {
        let heartbeat = one_state(lambda(json!({"HeartbeatSeconds": 10})));
        assert_eq!(
            refusal(heartbeat),
            r#"state "Roll Back": field "HeartbeatSeconds" is not supported by the local runner"#
        );
        for (definition, field) in [
            (
                one_state(lambda(
                    json!({"Retry": [{"ErrorEquals": ["A"], "MaxAttempt": 1}]}),
                )),
                "Retry[0].MaxAttempt",
            ),
            (
                one_state(lambda(
                    json!({"Parameters": {"FunctionName": "f", "Payload": {}, "Qualifier": "1"}}),
                )),
                "Parameters.Qualifier",
            ),
            (
                one_state(json!({"Type": "Pass", "Next": "Done", "Retry": []})),
                "Retry",
            ),
            (
                one_state(json!({"Type": "Succeed", "Next": "Done"})),
                "Next",
            ),
            (one_state(lambda(json!({"Arguments": {}}))), "Arguments"),
            (one_state(lambda(json!({"InputPath": "$.a"}))), "InputPath"),
            (
                one_state(json!({"Type": "Pass", "Result": 1, "Next": "Done"})),
                "Result",
            ),
            (
                one_state(
                    json!({"Type": "Choice", "InputPath": "$", "Default": "Done",
                    "Choices": [{"Variable": "$.a", "StringEquals": "b", "Next": "Done"}]}),
                ),
                "InputPath",
            ),
            (
                one_state(json!({"Type": "Fail", "OutputPath": "$"})),
                "OutputPath",
            ),
            (
                json!({"StartAt": "A", "TimeoutSeconds": 60, "States": {"A": {"Type": "Succeed"}}}),
                "TimeoutSeconds",
            ),
        ] {
            let message = refusal(definition);
            assert!(
                message.contains(&format!("field {field:?} is not supported")),
                "{message}"
            );
        }
    }

    #[test]
    fn refuses_unknown_types_resources_and_intrinsics_by_name() {
        for kind in ["Map", "Parallel", "Wait", "Loop"] {
            assert_eq!(
                refusal(one_state(json!({"Type": kind, "Next": "Done"}))),
                format!(r#"state "Roll Back": type "{kind}" is not supported"#)
            );
        }
        let sns = one_state(lambda(json!({"Resource": "arn:aws:states:::sns:publish"})));
        assert!(
            refusal(sns).contains(r#"resource "arn:aws:states:::sns:publish" is not supported"#)
        );
        let uuid = one_state(lambda(
            json!({"Parameters": {"FunctionName": "f", "Payload": {"id.$": "States.UUID()"}}}),
        ));
        let message = refusal(uuid);
        assert!(
            message.contains("intrinsic States.UUID is not supported"),
            "{message}"
        );
        assert!(message.contains("Parameters.Payload.id.$"), "{message}");
        let filter =
            one_state(json!({"Type": "Pass", "OutputPath": "$.a[?(@.b)]", "Next": "Done"}));
        assert!(refusal(filter).contains("filter expressions are not supported"));
    }

    #[test]
    fn refuses_jsonata() {
        let definition = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}});
        assert!(
            matches!(parse(&definition), Err(DefinitionError::QueryLanguage(l)) if l == "JSONata")
        );
    }

    #[test]
    fn substitutes_and_refuses_unresolved_names() {
        let text = r#"{"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "${Name}", "Cause": "${Other}"}}}"#;
        let mut substitutions = BTreeMap::from([("Name".to_string(), "Boom".to_string())]);
        let error = StateMachine::parse(text, &substitutions).unwrap_err();
        assert_eq!(
            error.to_string(),
            "definition substitution ${Other} is not defined"
        );
        substitutions.insert("Other".into(), "why".into());
        let machine = StateMachine::parse(text, &substitutions).unwrap();
        assert!(matches!(
            &machine.states[0].kind,
            Kind::Fail { error: Some(Message::Literal(e)), .. } if e == "Boom"
        ));
    }

    #[test]
    fn refuses_missing_transition_targets() {
        for (definition, field) in [
            (
                json!({"StartAt": "Nowhere", "States": {"A": {"Type": "Succeed"}}}),
                "StartAt",
            ),
            (
                one_state(json!({"Type": "Pass", "Next": "Nowhere"})),
                "Next",
            ),
            (
                one_state(json!({"Type": "Choice", "Default": "Nowhere",
                "Choices": [{"Variable": "$.a", "StringEquals": "b", "Next": "Done"}]})),
                "Default",
            ),
            (
                one_state(json!({"Type": "Choice",
                "Choices": [{"Variable": "$.a", "StringEquals": "b", "Next": "Nowhere"}]})),
                "Choices[0].Next",
            ),
            (
                one_state(lambda(
                    json!({"Catch": [{"ErrorEquals": ["A"], "Next": "Nowhere"}]}),
                )),
                "Catch[0].Next",
            ),
        ] {
            assert_eq!(
                refusal(definition).split(": ").nth(1),
                Some(format!(r#"{field} names state "Nowhere", which does not exist"#).as_str())
            );
        }
    }

    #[test]
    fn refuses_invalid_structure() {
        for definition in [
            one_state(json!({"Type": "Pass"})),
            one_state(json!({"Type": "Pass", "End": false})),
            one_state(json!({"Type": "Pass", "Next": "Done", "End": true})),
            one_state(json!({"Type": "Choice", "Choices": []})),
            one_state(json!({"Type": "Task", "Next": "Done"})),
            one_state(lambda(json!({"TimeoutSeconds": 0}))),
            one_state(json!({"Type": "Fail", "Error": "A", "ErrorPath": "$.e"})),
            one_state(lambda(json!({"Parameters": {"FunctionName": "f"}}))),
            one_state(lambda(
                json!({"Retry": [{"ErrorEquals": ["States.ALL", "A"]}]}),
            )),
            one_state(lambda(
                json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["A"]}]}),
            )),
            one_state(lambda(
                json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"},
                {"ErrorEquals": ["A"], "Next": "Done"}]}),
            )),
            one_state(lambda(
                json!({"Retry": [{"ErrorEquals": ["A"], "BackoffRate": 0.5}]}),
            )),
            one_state(lambda(
                json!({"Retry": [{"ErrorEquals": ["A"], "JitterStrategy": "HALF"}]}),
            )),
            one_state(lambda(json!({"Retry": [{"ErrorEquals": []}]}))),
            json!({"StartAt": "A", "Version": "2.0", "States": {"A": {"Type": "Succeed"}}}),
            json!({"StartAt": "A", "States": {}}),
        ] {
            assert!(
                matches!(parse(&definition), Err(DefinitionError::Invalid { .. })),
                "{definition}"
            );
        }
    }

    #[test]
    fn parks_need_a_function_and_one_timeout_and_other_resources_are_refused() {
        let park = |extra: Value| {
            let mut state = json!({"Type": "Task", "Resource": LAMBDA_INVOKE_WAIT, "Next": "Done",
                "Parameters": {"FunctionName": "w", "Payload": {"taskToken.$": "$$.Task.Token"}},
                "TimeoutSecondsPath": "$.t"});
            if let (Value::Object(state), Value::Object(extra)) = (&mut state, extra) {
                state.extend(extra);
            }
            one_state(state)
        };
        assert!(parse(&park(json!({}))).is_ok());
        assert!(
            refusal(park(json!({"TimeoutSeconds": 5})))
                .contains("cannot have both TimeoutSeconds and TimeoutSecondsPath")
        );
        assert!(
            refusal(park(
                json!({"Parameters": {"FunctionName": "w", "Payload": {}, "Extra": 1}})
            ))
            .contains(r#"field "Parameters.Extra""#)
        );
        assert!(
            refusal(park(
                json!({"Resource": "arn:aws:states:::events:putEvents.waitForTaskToken"})
            ))
            .contains(
                r#"resource "arn:aws:states:::events:putEvents.waitForTaskToken" is not supported"#
            )
        );
        assert!(
            refusal(park(json!({"TimeoutSecondsPath": "$$.Execution.Input"})))
                .contains("TimeoutSecondsPath")
        );
    }
}
