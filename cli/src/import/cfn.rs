//! Resolving CloudFormation values offline: literals, `Ref` and `Fn::GetAtt` to resources of
//! the same template whose names are literal, and `Fn::Sub` over those; everything else (a
//! pseudo parameter, a template parameter, a generated name, `Fn::If`, `Fn::ImportValue`, …) is
//! reported with the `--resolve KEY=VALUE` that would supply it.
//!
//! What `Ref` returns per resource type (the name for alarms and functions):
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html#aws-resource-cloudwatch-alarm-return-values>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html#aws-resource-lambda-function-return-values>,
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-resource-function-return-values>;
//! `Fn::Sub`: <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html>.

use serde_json::{Map, Value};

use super::found::{Overrides, Problem, short_form};

/// What a value must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A CloudWatch alarm (DescribeAlarms takes names).
    Alarm,
    /// A Lambda function (a name; Traffic Shifter also takes an ARN).
    Function,
    /// Plain text (an alias, a deployment configuration name).
    Text,
}

/// Why a value is not known offline, and the `--resolve` keys any one of which supplies it.
#[derive(Debug, Clone)]
pub struct Unresolved {
    why: String,
    keys: Vec<String>,
}

impl Unresolved {
    /// Not known offline because of `why`; any one of `keys` given to `--resolve` supplies it.
    pub fn new(why: impl Into<String>, keys: &[&str]) -> Unresolved {
        Unresolved {
            why: why.into(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        }
    }

    /// The problem as reported at `path` for the value written there.
    pub fn at(self, path: &str, written: &Value) -> Problem {
        let hint = match self.keys.as_slice() {
            [] => String::new(),
            keys => {
                let options: Vec<String> =
                    keys.iter().map(|k| format!("--resolve {k}=…")).collect();
                format!("; pass {}", options.join(" or "))
            }
        };
        Problem::at(
            path,
            format!(
                "{} cannot be resolved offline: {}{hint}",
                short_form(written),
                self.why
            ),
        )
    }
}

/// Nested references followed at most this deep (a cycle is reported, not followed forever).
const MAX_DEPTH: usize = 8;

/// A template's resources and parameters, with the user's `--resolve` values.
pub struct Template<'a> {
    resources: Map<String, Value>,
    parameters: Map<String, Value>,
    overrides: &'a Overrides,
}

impl<'a> Template<'a> {
    /// The template `doc` (its `Resources` and `Parameters`).
    pub fn new(doc: &Value, overrides: &'a Overrides) -> Template<'a> {
        let section = |name: &str| {
            doc.get(name)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        Template {
            resources: section("Resources"),
            parameters: section("Parameters"),
            overrides,
        }
    }

    /// The name CloudFormation generates for `logical` (no name property written): only the
    /// user can supply it.
    pub fn generated_name(&self, logical: &str, path: &str) -> Result<String, Problem> {
        self.overrides.get(logical).map(str::to_owned).ok_or_else(|| {
            Problem::at(
                path,
                format!(
                    "not set, so CloudFormation generates the name when the stack is created and it \
                     cannot be known offline; pass --resolve {logical}=…"
                ),
            )
        })
    }

    /// The value at `path` as text naming what `want` says, or why it cannot be known offline.
    pub fn resolve(&self, value: &Value, path: &str, want: Want) -> Result<String, Problem> {
        self.value(value, want, 0).map_err(|u| u.at(path, value))
    }

    fn value(&self, value: &Value, want: Want, depth: usize) -> Result<String, Unresolved> {
        if depth > MAX_DEPTH {
            return Err(Unresolved::new("references nest too deep (a cycle?)", &[]));
        }
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Object(o) if o.len() == 1 => {
                let (name, argument) = o.iter().next().expect("one entry");
                match (name.as_str(), argument) {
                    ("Ref", Value::String(logical)) => self.reference(logical, want, depth),
                    ("Fn::GetAtt", _) => self.attribute(argument, want, depth),
                    ("Fn::Sub", _) => self.sub(argument, depth),
                    (function, _) => Err(Unresolved::new(
                        format!("{function} is evaluated by CloudFormation at deploy time"),
                        &[],
                    )),
                }
            }
            other => Err(Unresolved::new(
                format!("expected text, found {}", kind(other)),
                &[],
            )),
        }
    }

    /// `Ref logical`: the user's value, or the literal name of an alarm or function resource.
    fn reference(&self, logical: &str, want: Want, depth: usize) -> Result<String, Unresolved> {
        if let Some(value) = self.overrides.get(logical) {
            return Ok(value.to_owned());
        }
        if let Some(resource) = self.resources.get(logical) {
            return self.name_of(logical, resource, want, depth);
        }
        if let Some(parameter) = self.parameters.get(logical) {
            let default = parameter.get("Default").map_or(String::new(), |d| {
                format!(" (its Default {d} may be overridden at deploy time)")
            });
            return Err(Unresolved::new(
                format!("{logical} is a template parameter{default}"),
                &[logical],
            ));
        }
        if logical.starts_with("AWS::") {
            return Err(Unresolved::new(
                format!("the pseudo parameter {logical} is known only at deploy time"),
                &[logical],
            ));
        }
        Err(Unresolved::new(
            format!("the template has no resource or parameter {logical}"),
            &[logical],
        ))
    }

    /// The physical name of a resource, when the template writes it.
    fn name_of(
        &self,
        logical: &str,
        resource: &Value,
        want: Want,
        depth: usize,
    ) -> Result<String, Unresolved> {
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("a resource");
        let name_property = match kind {
            "AWS::CloudWatch::Alarm" | "AWS::CloudWatch::CompositeAlarm"
                if want != Want::Function =>
            {
                "AlarmName"
            }
            "AWS::Lambda::Function" | "AWS::Serverless::Function" if want != Want::Alarm => {
                "FunctionName"
            }
            _ => {
                return Err(match want {
                    Want::Alarm => {
                        Unresolved::new(format!("{logical} is a {kind}, not an alarm"), &[])
                    }
                    Want::Function => {
                        Unresolved::new(format!("{logical} is a {kind}, not a function"), &[])
                    }
                    Want::Text => Unresolved::new(
                        format!("{logical} is a {kind}, whose Ref is known only at deploy time"),
                        &[logical],
                    ),
                });
            }
        };
        let Some(name) = resource
            .get("Properties")
            .and_then(|p| p.get(name_property))
        else {
            return Err(Unresolved::new(
                format!(
                    "{logical} has no {name_property}: CloudFormation generates the name when the stack is created"
                ),
                &[logical],
            ));
        };
        self.value(name, Want::Text, depth + 1)
            .map_err(|inner| Unresolved {
                why: format!("its {name_property} {}: {}", short_form(name), inner.why),
                keys: std::iter::once(logical.to_owned())
                    .chain(inner.keys)
                    .collect(),
            })
    }

    /// `Fn::GetAtt [logical, attribute]`: a function's `Arn` stands for the function (a name
    /// is as good as an ARN to Traffic Shifter); other attributes only through `--resolve`.
    fn attribute(&self, argument: &Value, want: Want, depth: usize) -> Result<String, Unresolved> {
        let parts: Vec<&str> = match argument {
            Value::String(dotted) => dotted.splitn(2, '.').collect(),
            Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let [logical, attribute] = parts.as_slice() else {
            return Err(Unresolved::new("malformed Fn::GetAtt", &[]));
        };
        let key = format!("{logical}.{attribute}");
        if let Some(value) = self.overrides.get(&key) {
            return Ok(value.to_owned());
        }
        if *attribute == "Arn" && want == Want::Function {
            return self.reference(logical, want, depth);
        }
        Err(Unresolved::new(
            format!("{key} is known only after the stack is deployed"),
            &[&key],
        ))
    }

    /// `Fn::Sub "text"` or `Fn::Sub ["text", {variables}]`.
    fn sub(&self, argument: &Value, depth: usize) -> Result<String, Unresolved> {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), None),
            Value::Array(parts) => match (parts.first().and_then(Value::as_str), parts.get(1)) {
                (Some(text), Some(Value::Object(vars))) => (text, Some(vars)),
                _ => return Err(Unresolved::new("malformed Fn::Sub", &[])),
            },
            _ => return Err(Unresolved::new("malformed Fn::Sub", &[])),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Unresolved::new("unclosed ${ in Fn::Sub", &[]))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.and_then(|v| v.get(name)) {
                out.push_str(&self.value(value, Want::Text, depth + 1)?);
            } else if let Some((logical, attribute)) = name.split_once('.') {
                let getatt = Value::Array(vec![logical.into(), attribute.into()]);
                out.push_str(&self.attribute(&getatt, Want::Text, depth + 1)?);
            } else {
                out.push_str(&self.reference(name, Want::Text, depth + 1)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `Fn::Sub` in both forms, with its own variables, `${!Literal}`, and references.
    #[test]
    fn sub_resolves_its_variables_and_references() {
        let doc = json!({"Resources": {"Errors": {"Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": "orders-errors"}}}});
        let overrides = Overrides::parse(&["AWS::Region=eu-west-1".to_owned()]).unwrap();
        let template = Template::new(&doc, &overrides);
        let resolve = |v: Value| template.resolve(&v, "p", Want::Text);
        assert_eq!(
            resolve(json!({"Fn::Sub": ["${Prefix}-${Errors}-${!Keep}", {"Prefix": {"Ref": "AWS::Region"}}]})).unwrap(),
            "eu-west-1-orders-errors-${Keep}"
        );
        assert_eq!(
            resolve(json!({"Fn::Sub": "${AWS::Region}"})).unwrap(),
            "eu-west-1"
        );
        let problem = resolve(json!({"Fn::Sub": "${AWS::AccountId}-x"})).unwrap_err();
        assert!(
            problem.message.ends_with("pass --resolve AWS::AccountId=…"),
            "{problem}"
        );
    }
}
