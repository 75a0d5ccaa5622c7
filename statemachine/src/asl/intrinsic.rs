//! Payload templates (`Parameters`, `ResultSelector`), the `.$` expressions inside them and the
//! intrinsic functions those may call.

use serde_json::{Map, Value};

use super::Failure;
use super::path::{Path, Scope};

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ExprError {
    /// A path outside the subset, or malformed.
    Path { path: String, reason: String },
    /// An intrinsic the runner does not implement.
    Unsupported(String),
    /// Anything else.
    Syntax(String),
}

/// An expression refused at `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldError {
    pub(super) field: String,
    pub(super) error: ExprError,
}

/// A `.$` value: a path or an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Path(Path),
    Call(Call),
}

/// A JSON template whose `.$` keys are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Template {
    Literal(Value),
    Expr { field: String, expr: Expr },
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Format,
    StringToJson,
    JsonToString,
    MathAdd,
    Array,
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    func: Func,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A quoted string: `raw` keeps the escapes States.Format needs to tell `\{}` from `{}`.
    Str {
        raw: String,
        text: String,
    },
    Value(Value),
    Path(Path),
    Call(Call),
}

fn path_error(path: &str, reason: String) -> ExprError {
    ExprError::Path {
        path: path.to_string(),
        reason,
    }
}

fn not_found(path: &Path, field: &str, scope: &Scope<'_>) -> Failure {
    Failure::runtime(format!(
        "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
        scope.root(path)
    ))
}

impl Expr {
    /// Parses a path (`$…`, `$$…`) or an intrinsic call (`States.…(…)`).
    pub(super) fn parse(text: &str) -> Result<Expr, ExprError> {
        let text = text.trim();
        if text.starts_with('$') {
            return Path::parse(text)
                .map(Expr::Path)
                .map_err(|reason| path_error(text, reason));
        }
        if !text.contains('(') {
            return Err(ExprError::Syntax(format!(
                "{text:?} is neither a path nor an intrinsic function"
            )));
        }
        let mut parser = Parser { text, pos: 0 };
        let call = parser.call()?;
        parser.skip_spaces();
        if parser.pos != text.len() {
            return Err(ExprError::Syntax(format!(
                "unexpected text after the intrinsic: {:?}",
                &text[parser.pos..]
            )));
        }
        Ok(Expr::Call(call))
    }

    /// Evaluates the expression; a path selecting nothing is a `States.Runtime` error.
    pub(super) fn eval(&self, scope: &Scope<'_>, field: &str) -> Result<Value, Failure> {
        match self {
            Expr::Path(path) => scope
                .select(path)
                .cloned()
                .ok_or_else(|| not_found(path, field, scope)),
            Expr::Call(call) => call.eval(scope, field),
        }
    }
}

impl Template {
    /// Compiles a template, parsing every `.$` value; `field` names its position for errors.
    pub(super) fn compile(value: &Value, field: &str) -> Result<Template, FieldError> {
        Ok(match value {
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let field = format!("{field}.{key}");
                    let entry = match key.strip_suffix(".$") {
                        Some(name) => {
                            let expr = value
                                .as_str()
                                .ok_or_else(|| ExprError::Syntax("must be a string".into()))
                                .and_then(Expr::parse)
                                .map_err(|error| FieldError {
                                    field: field.clone(),
                                    error,
                                })?;
                            (name.to_string(), Template::Expr { field, expr })
                        }
                        None => (key.clone(), Template::compile(value, &field)?),
                    };
                    entries.push(entry);
                }
                Template::Object(entries)
            }
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Template::compile(item, &format!("{field}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            other => Template::Literal(other.clone()),
        })
    }

    /// The keys of the top-level object, after removing `.$`.
    pub(super) fn keys(&self) -> Vec<&str> {
        match self {
            Template::Object(entries) => entries.iter().map(|(key, _)| key.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Evaluates the template against the scope.
    pub(super) fn eval(&self, scope: &Scope<'_>) -> Result<Value, Failure> {
        Ok(match self {
            Template::Literal(value) => value.clone(),
            Template::Expr { field, expr } => expr.eval(scope, field)?,
            Template::Object(entries) => {
                let mut map = Map::new();
                for (key, template) in entries {
                    map.insert(key.clone(), template.eval(scope)?);
                }
                Value::Object(map)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.eval(scope))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Parser<'t> {
    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.rest().starts_with(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    fn call(&mut self) -> Result<Call, ExprError> {
        let open = self
            .rest()
            .find('(')
            .ok_or_else(|| ExprError::Syntax("expected ( after the function name".into()))?;
        let name = self.rest()[..open].trim();
        let func = match name {
            "States.Format" => Func::Format,
            "States.StringToJson" => Func::StringToJson,
            "States.JsonToString" => Func::JsonToString,
            "States.MathAdd" => Func::MathAdd,
            "States.Array" => Func::Array,
            other => return Err(ExprError::Unsupported(other.to_string())),
        };
        self.pos += open + 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if !self.eat(')') {
            loop {
                args.push(self.arg()?);
                self.skip_spaces();
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(ExprError::Syntax(format!(
                        "{name}: expected , or ) at {:?}",
                        self.rest()
                    )));
                }
            }
        }
        let call = Call { func, args };
        call.check(name)?;
        Ok(call)
    }

    fn arg(&mut self) -> Result<Arg, ExprError> {
        self.skip_spaces();
        let rest = self.rest();
        if rest.starts_with('\'') {
            self.pos += 1;
            return self.string();
        }
        if rest.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        let end = arg_end(rest);
        let token = rest[..end].trim();
        self.pos += end;
        if token.starts_with('$') {
            return Path::parse(token)
                .map(Arg::Path)
                .map_err(|reason| path_error(token, reason));
        }
        match serde_json::from_str::<Value>(token) {
            Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(Arg::Value(value)),
            _ => Err(ExprError::Syntax(format!(
                "{token:?} is not a valid intrinsic argument"
            ))),
        }
    }

    fn string(&mut self) -> Result<Arg, ExprError> {
        let (mut raw, mut text) = (String::new(), String::new());
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.pos += i + 1;
                    return Ok(Arg::Str { raw, text });
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('\'' | '{' | '}' | '\\'))) => {
                        raw.push('\\');
                        raw.push(escaped);
                        text.push(escaped);
                    }
                    _ => {
                        return Err(ExprError::Syntax(
                            "only \\' \\{ \\} and \\\\ may be escaped in a string".into(),
                        ));
                    }
                },
                c => {
                    raw.push(c);
                    text.push(c);
                }
            }
        }
        Err(ExprError::Syntax("unterminated string".into()))
    }
}

/// Where an unquoted argument ends: the first `,` or `)` outside brackets and quotes.
fn arg_end(rest: &str) -> usize {
    let (mut depth, mut quote) = (0usize, None);
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, ',' | ')') if depth == 0 => return i,
            _ => {}
        }
    }
    rest.len()
}

/// Counts `{}` placeholders in a States.Format template, honouring `\` escapes.
fn placeholders(template: &str) -> usize {
    let mut count = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == '{' && chars.peek() == Some(&'}') {
            chars.next();
            count += 1;
        }
    }
    count
}

fn format(template: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut values = args.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                match values.next() {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        out.push_str(&value.to_string());
                    }
                    Some(_) => {
                        return Err("arguments must be strings, numbers, booleans or null".into());
                    }
                    None => return Err("there are more placeholders than arguments".into()),
                }
            }
            c => out.push(c),
        }
    }
    if values.next().is_some() {
        return Err("there are more arguments than placeholders".into());
    }
    Ok(out)
}

fn integer(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

impl Call {
    fn check(&self, name: &str) -> Result<(), ExprError> {
        let n = self.args.len();
        let ok = match self.func {
            Func::Format => match self.args.first() {
                Some(Arg::Str { raw, .. }) => placeholders(raw) == n - 1,
                Some(_) => true,
                None => false,
            },
            Func::StringToJson | Func::JsonToString => n == 1,
            Func::MathAdd => n == 2,
            Func::Array => true,
        };
        if ok {
            Ok(())
        } else {
            Err(ExprError::Syntax(format!(
                "{name} does not take these {n} argument(s)"
            )))
        }
    }

    fn eval(&self, scope: &Scope<'_>, field: &str) -> Result<Value, Failure> {
        let name = match self.func {
            Func::Format => "States.Format",
            Func::StringToJson => "States.StringToJson",
            Func::JsonToString => "States.JsonToString",
            Func::MathAdd => "States.MathAdd",
            Func::Array => "States.Array",
        };
        let fail = |why: &str| {
            Failure::runtime(format!(
                "The intrinsic function {name} in field '{field}' failed: {why}"
            ))
        };
        let args = |from: usize| -> Result<Vec<Value>, Failure> {
            self.args
                .iter()
                .skip(from)
                .map(|arg| arg.eval(scope, field))
                .collect()
        };
        match self.func {
            Func::Format => {
                let template = match self.args.first() {
                    Some(Arg::Str { raw, .. }) => raw.clone(),
                    Some(arg) => match arg.eval(scope, field)? {
                        Value::String(s) => s,
                        _ => return Err(fail("the template must be a string")),
                    },
                    None => return Err(fail("a template is required")),
                };
                format(&template, &args(1)?)
                    .map(Value::String)
                    .map_err(|why| fail(&why))
            }
            Func::StringToJson => match args(0)?.as_slice() {
                [Value::String(s)] => serde_json::from_str(s).map_err(|e| fail(&e.to_string())),
                _ => Err(fail("the argument must be a string")),
            },
            Func::JsonToString => match args(0)?.as_slice() {
                [value] => Ok(Value::String(value.to_string())),
                _ => Err(fail("it takes one argument")),
            },
            Func::MathAdd => match args(0)?.as_slice() {
                [a, b] => match (integer(a), integer(b)) {
                    (Some(a), Some(b)) => a
                        .checked_add(b)
                        .map(Value::from)
                        .ok_or_else(|| fail("the sum overflows")),
                    _ => Err(fail("both arguments must be integers")),
                },
                _ => Err(fail("it takes two arguments")),
            },
            Func::Array => args(0).map(Value::Array),
        }
    }
}

impl Arg {
    fn eval(&self, scope: &Scope<'_>, field: &str) -> Result<Value, Failure> {
        match self {
            Arg::Str { text, .. } => Ok(Value::String(text.clone())),
            Arg::Value(value) => Ok(value.clone()),
            Arg::Path(path) => scope
                .select(path)
                .cloned()
                .ok_or_else(|| not_found(path, field, scope)),
            Arg::Call(call) => call.eval(scope, field),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(expr: &str, input: Value) -> Result<Value, Failure> {
        let context = json!({"Execution": {"Name": "exec-1"}});
        let scope = Scope {
            input: &input,
            context: &context,
        };
        Expr::parse(expr).unwrap().eval(&scope, "x.$")
    }

    #[test]
    fn format_fills_placeholders_from_strings_paths_and_numbers() {
        let out = eval(
            "States.Format('{} shifted {} to {}%', $.fn, $$.Execution.Name, 10)",
            json!({"fn": "api"}),
        );
        assert_eq!(out, Ok(json!("api shifted exec-1 to 10%")));
    }

    #[test]
    fn format_honours_escapes() {
        let out = eval(
            r"States.Format('it\'s \{literal\} {} \\ done', $.v)",
            json!({"v": true}),
        );
        assert_eq!(out, Ok(json!(r"it's {literal} true \ done")));
    }

    #[test]
    fn nested_calls_evaluate_inside_out() {
        let out = eval(
            "States.Format('sum={} json={}', States.MathAdd($.a, -1), States.JsonToString(States.Array(1, 'x', null)))",
            json!({"a": 5}),
        );
        assert_eq!(out, Ok(json!(r#"sum=4 json=[1,"x",null]"#)));
    }

    #[test]
    fn string_to_json_and_back() {
        assert_eq!(
            eval("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})),
            Ok(json!({"a": [1, 2]}))
        );
        assert_eq!(
            eval("States.JsonToString($.o)", json!({"o": {"b": 1}})),
            Ok(json!("{\"b\":1}"))
        );
        let bad = eval("States.StringToJson($.s)", json!({"s": "{"})).unwrap_err();
        assert!(bad.is_runtime());
    }

    #[test]
    fn math_add_requires_integers() {
        assert_eq!(eval("States.MathAdd(111, -1)", json!({})), Ok(json!(110)));
        assert!(
            eval("States.MathAdd(1.5, 1)", json!({}))
                .unwrap_err()
                .is_runtime()
        );
    }

    #[test]
    fn array_collects_its_arguments() {
        assert_eq!(
            eval(
                "States.Array($.a, 'b', $['c'][0], true)",
                json!({"a": {"x": 1}, "c": [2]})
            ),
            Ok(json!([{"x": 1}, "b", 2, true]))
        );
        assert_eq!(eval("States.Array()", json!({})), Ok(json!([])));
    }

    #[test]
    fn missing_paths_are_runtime_errors() {
        let error = eval("States.Format('{}', $.missing)", json!({})).unwrap_err();
        assert!(error.is_runtime());
        assert!(error.cause.contains("$.missing"), "{}", error.cause);
    }

    #[test]
    fn refuses_unknown_intrinsics_by_name() {
        for (expr, name) in [
            ("States.UUID()", "States.UUID"),
            (
                "States.Format('{}', States.Hash($.a, 'SHA-1'))",
                "States.Hash",
            ),
        ] {
            assert_eq!(
                Expr::parse(expr),
                Err(ExprError::Unsupported(name.to_string()))
            );
        }
    }

    #[test]
    fn refuses_malformed_calls() {
        for expr in [
            "States.Format('{} {}', $.a)",
            "States.MathAdd(1)",
            "States.Format('unterminated)",
            "States.Array(1) extra",
            "States.Array(1 2)",
            r"States.Format('\n')",
            "plain text",
        ] {
            assert!(
                matches!(Expr::parse(expr), Err(ExprError::Syntax(_))),
                "{expr}"
            );
        }
        assert!(matches!(
            Expr::parse("States.Array($.a[*])"),
            Err(ExprError::Path { .. })
        ));
    }

    #[test]
    fn templates_evaluate_nested_objects_and_arrays() {
        let template = Template::compile(
            &json!({"a.$": "$.x", "b": [{"c.$": "$$.Execution.Name"}, 1], "d": {"e": "lit.$"}}),
            "Parameters",
        )
        .unwrap();
        assert_eq!(template.keys(), vec!["a", "b", "d"]);
        let context = json!({"Execution": {"Name": "n"}});
        let input = json!({"x": 7});
        let scope = Scope {
            input: &input,
            context: &context,
        };
        assert_eq!(
            template.eval(&scope),
            Ok(json!({"a": 7, "b": [{"c": "n"}, 1], "d": {"e": "lit.$"}}))
        );
    }

    #[test]
    fn template_errors_name_the_field() {
        let error = Template::compile(&json!({"p": [{"q.$": 3}]}), "Parameters").unwrap_err();
        assert_eq!(error.field, "Parameters.p[0].q.$");
    }
}
