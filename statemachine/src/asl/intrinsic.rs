//! Payload templates (`Parameters`, `ResultSelector`), the `.$` expressions inside them and the
//! one intrinsic function the definition calls, `States.Format`.
//!
//! <https://states-language.net/spec.html#payload-template> and
//! <https://states-language.net/spec.html#appendix-b>.

use serde_json::{Map, Value};

use super::Failure;
use super::path::{Path, Scope};

/// The intrinsic the runner implements; every other `States.…` name is refused by name.
const FORMAT: &str = "States.Format";

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

/// A `.$` value: a path or a `States.Format` call.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Path(Path),
    Format(Format),
}

/// A JSON template whose `.$` keys are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Template {
    Literal(Value),
    Expr { field: String, expr: Expr },
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

/// A parsed `States.Format(template, args…)` call.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Format {
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
    Format(Format),
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
    /// Parses a path (`$…`, `$$…`) or a `States.Format(…)` call.
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
        Ok(Expr::Format(call))
    }

    /// Evaluates the expression; a path selecting nothing is a `States.Runtime` error.
    pub(super) fn eval(&self, scope: &Scope<'_>, field: &str) -> Result<Value, Failure> {
        match self {
            Expr::Path(path) => scope
                .select(path)
                .cloned()
                .ok_or_else(|| not_found(path, field, scope)),
            Expr::Format(call) => call.eval(scope, field).map(Value::String),
        }
    }
}

impl Template {
    /// Compiles a template, parsing every `.$` value; `field` names its position for errors.
    pub(super) fn compile(value: &Value, field: &str) -> Result<Template, FieldError> {
        Ok(match value {
            Value::Object(map) => Template::Object(
                map.iter()
                    .map(|(key, value)| Template::entry(key, value, format!("{field}.{key}")))
                    .collect::<Result<_, _>>()?,
            ),
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

    /// One field of an object template: `key.$` holds an expression, any other key a template.
    fn entry(key: &str, value: &Value, field: String) -> Result<(String, Template), FieldError> {
        let Some(name) = key.strip_suffix(".$") else {
            return Ok((key.to_string(), Template::compile(value, &field)?));
        };
        match value
            .as_str()
            .ok_or_else(|| ExprError::Syntax("must be a string".into()))
            .and_then(Expr::parse)
        {
            Ok(expr) => Ok((name.to_string(), Template::Expr { field, expr })),
            Err(error) => Err(FieldError { field, error }),
        }
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

    /// `States.Format(…)`; any other function name is refused by name.
    fn call(&mut self) -> Result<Format, ExprError> {
        let open = self
            .rest()
            .find('(')
            .ok_or_else(|| ExprError::Syntax("expected ( after the function name".into()))?;
        let name = self.rest()[..open].trim();
        if name != FORMAT {
            return Err(ExprError::Unsupported(name.to_string()));
        }
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
                        "{FORMAT}: expected , or ) at {:?}",
                        self.rest()
                    )));
                }
            }
        }
        let call = Format { args };
        call.check()?;
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
            return self.call().map(Arg::Format);
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

    /// A quoted string after its opening `'`; only the spec's four escapes are allowed.
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

/// Fills the template's `{}` in order; arrays and objects are refused, as the spec says.
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

impl Format {
    /// A literal template must have as many placeholders as there are other arguments.
    fn check(&self) -> Result<(), ExprError> {
        let fits = match self.args.first() {
            Some(Arg::Str { raw, .. }) => placeholders(raw) == self.args.len() - 1,
            Some(_) => true,
            None => false,
        };
        if fits {
            Ok(())
        } else {
            Err(ExprError::Syntax(format!(
                "{FORMAT} does not take these {} argument(s)",
                self.args.len()
            )))
        }
    }

    fn eval(&self, scope: &Scope<'_>, field: &str) -> Result<String, Failure> {
        let fail = |why: &str| {
            Failure::runtime(format!(
                "The intrinsic function {FORMAT} in field '{field}' failed: {why}"
            ))
        };
        let template = match self.args.first() {
            Some(Arg::Str { raw, .. }) => raw.clone(),
            Some(arg) => match arg.eval(scope, field)? {
                Value::String(s) => s,
                _ => return Err(fail("the template must be a string")),
            },
            None => return Err(fail("a template is required")),
        };
        let args = self
            .args
            .iter()
            .skip(1)
            .map(|arg| arg.eval(scope, field))
            .collect::<Result<Vec<_>, _>>()?;
        format(&template, &args).map_err(|why| fail(&why))
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
            Arg::Format(call) => call.eval(scope, field).map(Value::String),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval_with(expr: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
        let scope = Scope { input, context };
        Expr::parse(expr).unwrap().eval(&scope, "x.$")
    }

    fn eval(expr: &str, input: Value) -> Result<Value, Failure> {
        eval_with(expr, &input, &json!({"Execution": {"Name": "exec-1"}}))
    }

    fn payload(template: &Value, input: &Value, context: &Value) -> Result<Value, Failure> {
        let template = Template::compile(template, "Parameters").unwrap();
        template.eval(&Scope { input, context })
    }

    /// <https://states-language.net/spec.html#appendix-b>, States.Format: the example payload.
    #[test]
    fn spec_states_format_example() {
        let out = payload(
            &json!({"foo.$": "States.Format('Your name is {}, we are in the year {}', $.name, 2020)"}),
            &json!({"name": "Foo", "zebra": "stripe"}),
            &json!({}),
        );
        assert_eq!(
            out,
            Ok(json!({"foo": "Your name is Foo, we are in the year 2020"}))
        );
    }

    /// <https://states-language.net/spec.html#intrinsic-functions>: the playlist example, with
    /// its escaped apostrophe.
    #[test]
    fn spec_intrinsic_functions_example() {
        let out = payload(
            &json!({"greeting.$": r"States.Format('Welcome to {} {}\'s playlist.', $.firstName, $.lastName)"}),
            &json!({"firstName": "Quinn", "lastName": "Hunter"}),
            &json!({}),
        );
        assert_eq!(
            out,
            Ok(json!({"greeting": "Welcome to Quinn Hunter's playlist."}))
        );
    }

    /// <https://states-language.net/spec.html#payload-template>: the section's example, whose
    /// slice (`$.vals[-3:]`) is outside the runner's Reference Path subset and refused by name.
    #[test]
    fn spec_payload_template_example() {
        let template = json!({
            "flagged": true,
            "parts": {"first.$": "$.vals[0]"},
            "weekday.$": "$$.DayOfWeek",
            "formattedOutput.$": "States.Format('Today is {}', $$.DayOfWeek)"
        });
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        let context = json!({"DayOfWeek": "TUESDAY"});
        assert_eq!(
            payload(&template, &input, &context),
            Ok(json!({
                "flagged": true,
                "parts": {"first": 0},
                "weekday": "TUESDAY",
                "formattedOutput": "Today is TUESDAY"
            }))
        );
        let slice = Template::compile(&json!({"last3.$": "$.vals[-3:]"}), "Parameters");
        assert!(
            matches!(slice, Err(FieldError { error: ExprError::Path { reason, .. }, .. }) if reason.contains("slices"))
        );
    }

    /// <https://states-language.net/spec.html#intrinsic-functions>: `\'`, `\{`, `\}` and `\\`
    /// stand for the reserved characters; an escaped `{}` is not a placeholder.
    #[test]
    fn spec_reserved_characters_are_escaped() {
        let out = eval(
            r"States.Format('it\'s \{literal\} {} \\ done', $.v)",
            json!({"v": true}),
        );
        assert_eq!(out, Ok(json!(r"it's {literal} true \ done")));
    }

    /// <https://states-language.net/spec.html#intrinsic-functions>: arguments may be nested
    /// intrinsic functions, and the template itself may come from a path.
    #[test]
    fn spec_nested_calls_and_a_template_from_a_path() {
        let out = eval(
            "States.Format('{} ({})', States.Format('{} shifted', $.fn), $$.Execution.Name)",
            json!({"fn": "api"}),
        );
        assert_eq!(out, Ok(json!("api shifted (exec-1)")));
        let out = eval("States.Format($.t, 10, null)", json!({"t": "{}% {}"}));
        assert_eq!(out, Ok(json!("10% null")));
    }

    /// <https://states-language.net/spec.html#appendix-b>: a path argument MUST NOT yield a
    /// JSON array or object.
    #[test]
    fn spec_format_refuses_arrays_and_objects() {
        for value in [json!([1]), json!({"a": 1})] {
            let error = eval("States.Format('{}', $.v)", json!({ "v": value })).unwrap_err();
            assert!(error.is_runtime(), "{error:?}");
        }
    }

    #[test]
    fn missing_paths_are_runtime_errors() {
        let error = eval("States.Format('{}', $.missing)", json!({})).unwrap_err();
        assert!(error.is_runtime());
        assert!(error.cause.contains("$.missing"), "{}", error.cause);
        let error = eval("$.missing", json!({})).unwrap_err();
        assert!(error.is_runtime());
    }

    /// Appendix B's other functions are not used by the definition: refused by name.
    #[test]
    fn refuses_other_intrinsics_by_name() {
        for (expr, name) in [
            ("States.UUID()", "States.UUID"),
            ("States.StringToJson($.s)", "States.StringToJson"),
            ("States.JsonToString($.o)", "States.JsonToString"),
            ("States.MathAdd(1, 2)", "States.MathAdd"),
            ("States.Array(1)", "States.Array"),
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

    /// <https://states-language.net/spec.html#intrinsic-functions>: an open escape backslash is
    /// an error; so are wrong argument counts and unterminated strings.
    #[test]
    fn refuses_malformed_calls() {
        for expr in [
            "States.Format('{} {}', $.a)",
            "States.Format()",
            "States.Format('unterminated)",
            "States.Format('x') extra",
            "States.Format('{}' 2)",
            r"States.Format('\n')",
            "plain text",
        ] {
            assert!(
                matches!(Expr::parse(expr), Err(ExprError::Syntax(_))),
                "{expr}"
            );
        }
        assert!(matches!(
            Expr::parse("States.Format('{}', $.a[*])"),
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
