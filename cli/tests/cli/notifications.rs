//! Notifications without code (docs/events.md#notifications): the rules template.yaml creates on
//! the stack's bus, tested offline. Each rule's event pattern is matched against the documented
//! example events (and a real rollback from the local runner), and each target's input
//! transformer is rendered as EventBridge renders it:
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html>
//!
//! - each `InputPathsMap` entry is a JSONPath in dot notation; a path that does not exist in the
//!   event creates no variable, and its placeholder renders as nothing;
//! - a placeholder in a JSON value position takes the value as JSON (a string quoted), one inside
//!   a JSON string takes its text;
//! - "EventBridge doesn't escape values extracted by Input Path": a quote in a value inside a
//!   string breaks the JSON, which is why the templates use only fields that hold none.
//!
//! Patterns: <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html>
//! and, for `exists` (leaf fields only), <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html>.
//! moto's TestEventPattern answers without judging, so the matcher here is the test's own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use serde_norway::Value as Yaml;
use shifter::domain::lifecycle::metrics::{METRIC_NAMES, NAMESPACE};
use shifter::domain::lifecycle::{DETAIL_TYPE, Status};
use shifter_statemachine::local::{self, LocalAccount};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ------------------------------------------------------------------ the template, resolved

/// template.yaml with its parameters set: `!Ref`, `!If`, `!Sub`, `!GetAtt` and the conditions
/// resolved as CloudFormation would (resources stand for themselves: `ref:Name`, `arn:Name`).
struct Template {
    yaml: Yaml,
    params: BTreeMap<String, Value>,
}

impl Template {
    fn with(overrides: &[(&str, &str)]) -> Template {
        let yaml: Yaml = serde_norway::from_str(&read("template.yaml")).unwrap();
        let mut params = BTreeMap::new();
        for (name, spec) in yaml["Parameters"].as_mapping().unwrap() {
            let name = name.as_str().unwrap().to_owned();
            let given = overrides.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let text = given
                .map(str::to_owned)
                .or_else(|| spec["Default"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let value = if spec["Type"].as_str() == Some("CommaDelimitedList") {
                json!(text.split(',').collect::<Vec<_>>())
            } else {
                json!(text)
            };
            params.insert(name, value);
        }
        Template { yaml, params }
    }

    fn condition(&self, name: &str) -> bool {
        let cond = self.resolve(&self.yaml["Conditions"][name]);
        cond.as_bool()
            .unwrap_or_else(|| panic!("condition {name}: {cond}"))
    }

    /// The resources created with these parameters: name → properties, resolved.
    fn resources(&self) -> BTreeMap<String, (String, Value)> {
        let mut out = BTreeMap::new();
        for (name, r) in self.yaml["Resources"].as_mapping().unwrap() {
            if r["Condition"].as_str().is_some_and(|c| !self.condition(c)) {
                continue;
            }
            let kind = r["Type"].as_str().unwrap().to_owned();
            let props = self.resolve(&r["Properties"]);
            out.insert(name.as_str().unwrap().to_owned(), (kind, props));
        }
        out
    }

    fn resolve(&self, v: &Yaml) -> Value {
        match v {
            Yaml::Tagged(t) => self.intrinsic(&t.tag.to_string(), &t.value),
            Yaml::Sequence(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.resolve(i))
                    .filter(|i| *i != json!("AWS::NoValue"))
                    .collect(),
            ),
            Yaml::Mapping(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_owned(), self.resolve(v)))
                    .filter(|(_, v)| *v != json!("AWS::NoValue"))
                    .collect(),
            ),
            other => serde_json::to_value(other).unwrap(),
        }
    }

    fn intrinsic(&self, tag: &str, arg: &Yaml) -> Value {
        let args = || arg.as_sequence().unwrap();
        match tag {
            "!Ref" => {
                let name = arg.as_str().unwrap();
                match self.params.get(name) {
                    Some(v) => v.clone(),
                    None if name == "AWS::NoValue" => json!("AWS::NoValue"),
                    None => json!(format!("ref:{name}")),
                }
            }
            "!GetAtt" => json!(format!("arn:{}", arg.as_str().unwrap())),
            "!If" => {
                let branch = if self.condition(args()[0].as_str().unwrap()) {
                    1
                } else {
                    2
                };
                self.resolve(&args()[branch])
            }
            "!Equals" => json!(self.resolve(&args()[0]) == self.resolve(&args()[1])),
            "!Not" => json!(!self.resolve(&args()[0]).as_bool().unwrap()),
            "!Or" => json!(args().iter().any(|a| self.resolve(a).as_bool().unwrap())),
            "!Condition" => json!(self.condition(arg.as_str().unwrap())),
            "!Sub" => {
                // `!Sub text` or `!Sub [text, {name: value}]`.
                let (text, vars) = match arg.as_sequence() {
                    Some(pair) => (pair[0].as_str().unwrap(), self.resolve(&pair[1])),
                    None => (arg.as_str().unwrap(), json!({})),
                };
                let mut text = text
                    .replace("${AWS::Region}", "eu-west-1")
                    .replace("${AWS::StackName}", "shifter");
                for (name, value) in vars.as_object().unwrap() {
                    let value = value.as_str().map_or(value.to_string(), str::to_owned);
                    text = text.replace(&format!("${{{name}}}"), &value);
                }
                json!(text)
            }
            other => json!(format!("{other} {}", serde_json::to_value(arg).unwrap())),
        }
    }
}

// ------------------------------------------------------------------ EventBridge, modelled

/// True when `event` matches `pattern`: every key of the pattern is matched by the event's field
/// (nested objects recursively); a leaf list matches when any of its values equals the field
/// (or any element of an array field), or an `exists` test holds.
fn matches(pattern: &Value, event: Option<&Value>) -> bool {
    match pattern {
        Value::Object(keys) => keys
            .iter()
            .all(|(k, p)| matches(p, event.and_then(|e| e.get(k)))),
        Value::Array(allowed) => allowed.iter().any(|a| match (a, event) {
            (Value::Object(op), field) => match op.get("exists") {
                Some(Value::Bool(want)) if op.len() == 1 => {
                    field.is_some_and(|f| !f.is_object()) == *want
                }
                _ => panic!("pattern operator {a} is not modelled"),
            },
            (_, Some(Value::Array(items))) => items.contains(a),
            (_, Some(field)) => field == a,
            (_, None) => false,
        }),
        other => panic!("a pattern's leaves are lists, not {other}"),
    }
}

/// The value at a JSONPath in dot notation (`$.detail.cause.kind`), if the event has it.
fn at_path<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix("$").expect("a JSONPath starts with $");
    rest.split('.')
        .filter(|k| !k.is_empty())
        .try_fold(event, |v, k| v.get(k))
}

/// The input transformer applied to `event`, as EventBridge renders it (see the module docs).
fn render(transformer: &Value, event: &Value) -> String {
    let mut vars: BTreeMap<&str, &Value> = BTreeMap::new();
    for (name, path) in transformer["InputPathsMap"].as_object().unwrap() {
        if let Some(v) = at_path(event, path.as_str().unwrap()) {
            vars.insert(name, v);
        }
    }
    let template = transformer["InputTemplate"].as_str().unwrap();
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let rest = &template[i + c.len_utf8()..];
        let name = rest.split('>').next().unwrap_or_default();
        let placeholder = c == '<'
            && rest.contains('>')
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if placeholder {
            assert!(
                !name.starts_with("aws."),
                "predefined <{name}> not modelled"
            );
            match (vars.get(name), in_string) {
                (Some(Value::String(s)), true) => out.push_str(s),
                (Some(v), _) => out.push_str(&v.to_string()),
                (None, _) => {}
            }
            for _ in 0..=name.len() {
                chars.next();
            }
            continue;
        }
        out.push(c);
        match (c, escaped) {
            ('\\', false) if in_string => escaped = true,
            ('"', false) => in_string = !in_string,
            _ => escaped = false,
        }
    }
    out
}

#[test]
fn the_renderer_follows_the_documented_examples() {
    // The examples of the AWS page (an EC2 event, "Simple JSON", "JSON with strings and
    // variables"), then a missing path and an unescaped quote.
    let event = json!({"detail": {"instance-id": "i-0123456789", "state": "RUNNING"}});
    let t = |template: &str| {
        json!({"InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state",
                                 "gone": "$.detail.nothing"},
               "InputTemplate": template})
    };
    assert_eq!(
        render(&t(r#"{"instance" : <instance>, "state": <state>}"#), &event),
        r#"{"instance" : "i-0123456789", "state": "RUNNING"}"#
    );
    assert_eq!(
        render(
            &t(r#"{"s": "instance \"<instance>\" is in <state>"}"#),
            &event
        ),
        r#"{"s": "instance \"i-0123456789\" is in RUNNING"}"#
    );
    assert_eq!(render(&t(r#""<gone>!""#), &event), r#""!""#);
    let quoted = json!({"detail": {"instance-id": "say \"hi\"", "state": "x"}});
    let out = render(&t(r#"{"s": "<instance>"}"#), &quoted);
    assert!(
        serde_json::from_str::<Value>(&out).is_err(),
        "a quote inside a string value is not escaped: {out}"
    );
}

// ------------------------------------------------------------------ the events

/// The documented examples of docs/events.md, `"…":"…"` standing for the identity fields of
/// the first one.
fn documented_examples() -> Vec<Value> {
    let doc = read("docs/events.md");
    let block = doc
        .split("## Examples")
        .nth(1)
        .and_then(|s| s.split("```json\n").nth(1))
        .and_then(|s| s.split("```").next())
        .unwrap();
    let lines: Vec<Value> = block
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let identity = [
        "deploymentId",
        "executionArn",
        "consoleUrl",
        "function",
        "alias",
    ];
    lines
        .iter()
        .map(|l| {
            let mut detail = l.clone();
            let fields = detail.as_object_mut().unwrap();
            if fields.remove("…").is_some() {
                for k in identity {
                    fields.insert(k.into(), lines[0][k].clone());
                }
            }
            detail
        })
        .collect()
}

/// `detail` in the envelope EventBridge delivers (source, detail-type, the execution as resource).
fn envelope(detail: &Value) -> Value {
    json!({"version": "0", "id": "6f87d04b-9f74-4f04-a780-0ad6d8d6e2d1",
           "detail-type": DETAIL_TYPE, "source": "traffic-shifter", "account": "123456789012",
           "time": "2026-12-07T14:03:12Z", "region": "eu-west-1",
           "resources": [detail["executionArn"]], "detail": detail})
}

/// The notification rules created with these parameters, each with its targets' transformers.
fn notification_rules(template: &Template) -> Vec<(String, Value)> {
    template
        .resources()
        .into_iter()
        .filter(|(_, (kind, props))| {
            kind == "AWS::Events::Rule"
                && props["Targets"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t.get("InputTransformer").is_some()))
        })
        .map(|(name, (_, props))| {
            assert_eq!(props["EventBusName"], "ref:ShifterEventBus", "{name}");
            (name, props)
        })
        .collect()
}

const EMAIL: (&str, &str) = ("NotificationEmail", "ops@example.com");
const SLACK: (&str, &str) = ("ChatWebhookUrl", "https://hooks.slack.com/services/T0/B0/x");

#[test]
fn nothing_is_created_when_the_parameters_are_empty() {
    let none = Template::with(&[]);
    let created = none.resources();
    for name in [
        "NotificationRule",
        "NotificationWithCauseRule",
        "NotificationTopic",
        "NotificationTopicPolicy",
        "ChatConnection",
        "ChatDestination",
        "ChatRole",
        "DeploymentDashboard",
    ] {
        assert!(!created.contains_key(name), "{name} exists by default");
    }
    let email_only = Template::with(&[EMAIL]);
    for (name, rule) in notification_rules(&email_only) {
        let ids: Vec<&str> = rule["Targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["Id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["email"], "{name}");
    }
    assert!(!email_only.resources().contains_key("ChatDestination"));
    let (_, policy) = &Template::with(&[EMAIL]).resources()["NotificationTopicPolicy"];
    let statement = &policy["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement["Action"], "sns:Publish");
    assert_eq!(
        statement["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!([
            "arn:NotificationRule.Arn",
            "arn:NotificationWithCauseRule.Arn"
        ])
    );
}

/// The statuses a default stack notifies of.
fn notified(template: &Template) -> Vec<String> {
    serde_json::from_value(template.params["NotifyStatuses"].clone()).unwrap()
}

#[test]
fn each_notified_example_matches_exactly_one_rule_and_nothing_else_matches() {
    let template = Template::with(&[EMAIL, SLACK]);
    let rules = notification_rules(&template);
    assert_eq!(rules.len(), 2);
    let notified = notified(&template);
    let examples = documented_examples();
    assert_eq!(examples.len(), Status::ALL.len(), "one example per status");
    for detail in &examples {
        let event = envelope(detail);
        let hits: Vec<&str> = rules
            .iter()
            .filter(|(_, r)| matches(&r["EventPattern"], Some(&event)))
            .map(|(n, _)| n.as_str())
            .collect();
        let status = detail["status"].as_str().unwrap();
        let want: &[&str] = match (notified.iter().any(|s| s == status), detail.get("cause")) {
            (false, _) => &[],
            (true, Some(_)) => &["NotificationWithCauseRule"],
            (true, None) => &["NotificationRule"],
        };
        assert_eq!(hits, want, "{status}");
    }
    // Other events on the bus: the approval announcement, and a lifecycle event from elsewhere.
    let rolled_back = examples
        .iter()
        .find(|d| d["status"] == "ROLLED_BACK")
        .unwrap();
    let mut announcement = envelope(rolled_back);
    announcement["detail-type"] = json!("Traffic Shifter Approval");
    let mut foreign = envelope(rolled_back);
    foreign["source"] = json!("someone-else");
    for other in [announcement, foreign] {
        assert!(
            rules
                .iter()
                .all(|(_, r)| !matches(&r["EventPattern"], Some(&other)))
        );
    }
}

/// Every target's message for `detail`: (rule, target id, rendered).
fn messages(template: &Template, detail: &Value) -> Vec<(String, String, String)> {
    let event = envelope(detail);
    let mut out = Vec::new();
    for (name, rule) in notification_rules(template) {
        if !matches(&rule["EventPattern"], Some(&event)) {
            continue;
        }
        for target in rule["Targets"].as_array().unwrap() {
            let id = target["Id"].as_str().unwrap().to_owned();
            out.push((
                name.clone(),
                id,
                render(&target["InputTransformer"], &event),
            ));
        }
    }
    out
}

/// The readable line of a rendered message: Slack's `text`, the Adaptive Card's text block, or
/// the e-mail's string.
fn words(id: &str, teams: bool, message: &Value) -> String {
    match (id, teams) {
        ("email", _) => message.as_str().unwrap().to_owned(),
        (_, false) => message["text"].as_str().unwrap().to_owned(),
        (_, true) => {
            let card = &message["attachments"][0]["content"];
            let url = card["actions"][0]["url"].as_str().unwrap();
            format!("{} {url}", card["body"][0]["text"].as_str().unwrap())
        }
    }
}

#[test]
fn every_message_is_json_and_names_function_alias_versions_status_cause_and_link() {
    for format in ["slack", "teams"] {
        let template = Template::with(&[EMAIL, SLACK, ("ChatWebhookFormat", format)]);
        for detail in documented_examples() {
            let status = detail["status"].as_str().unwrap();
            for (rule, id, rendered) in messages(&template, &detail) {
                let message: Value = serde_json::from_str(&rendered).unwrap_or_else(|e| {
                    panic!("{rule}/{id} for {status} is not JSON ({e}): {rendered}")
                });
                let said = words(&id, format == "teams", &message);
                let mut expected = vec![
                    "orders:live".to_owned(),
                    status.to_owned(),
                    detail["consoleUrl"].as_str().unwrap().to_owned(),
                ];
                if let Some(from) = detail["fromVersion"].as_str() {
                    expected.push(format!(
                        "version {from} → {}",
                        detail["toVersion"].as_str().unwrap()
                    ));
                }
                if let Some(cause) = detail.get("cause") {
                    let (kind, error) = (
                        cause["kind"].as_str().unwrap(),
                        cause["error"].as_str().unwrap(),
                    );
                    expected.push(format!("cause {kind} ({error})"));
                }
                for words in &expected {
                    assert!(
                        said.contains(words.as_str()),
                        "{rule}/{id} ({format}) for {status}: {said:?} lacks {words:?}"
                    );
                }
            }
        }
    }
}

/// A real rollback: the local runner's ROLLED_BACK event after an alarm, rendered as the Slack
/// webhook receives it (docs/events.md quotes this output: `cargo test -p shifter-cli --test
/// cli slack_message -- --nocapture`).
#[tokio::test]
async fn a_real_rollback_renders_as_a_slack_message() {
    let account = LocalAccount::demo();
    account.alarm_at("demo-errors", 30);
    let input = LocalAccount::demo_input("Canary10Percent5Minutes");
    let run = local::run(&account, input, "d1", &mut |_| {})
        .await
        .unwrap();
    let rolled_back = run
        .summary
        .events
        .iter()
        .find(|e| e.detail.status == Status::RolledBack)
        .expect("a ROLLED_BACK event");
    let detail = serde_json::to_value(&rolled_back.detail).unwrap();
    let template = Template::with(&[SLACK]);
    let found = messages(&template, &detail);
    assert_eq!(found.len(), 1, "{found:?}");
    let (rule, _, rendered) = &found[0];
    assert_eq!(rule, "NotificationWithCauseRule");
    let message: Value = serde_json::from_str(rendered).unwrap();
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Traffic Shifter: demo:live ROLLED_BACK, version 1 → 2, cause alarm (AlarmTriggered). \
             Execution: https://"
        ),
        "{text}"
    );
    println!("slack_message: {rendered}");
}

#[test]
fn the_dashboard_reads_the_metrics_the_functions_print() {
    let template = Template::with(&[("EnableDashboard", "true")]);
    let (_, dashboard) = &template.resources()["DeploymentDashboard"];
    let body: Value = serde_json::from_str(dashboard["DashboardBody"].as_str().unwrap()).unwrap();
    let mut read = Vec::new();
    for widget in body["widgets"].as_array().unwrap() {
        assert_eq!(widget["properties"]["region"], "eu-west-1");
        for line in widget["properties"]["metrics"].as_array().unwrap() {
            let expression = line[0]["expression"].as_str().unwrap();
            let schema = format!("SEARCH('{{{NAMESPACE},alias,function}} MetricName=\"");
            let name = expression
                .strip_prefix(schema.as_str())
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("{expression}"));
            assert!(
                METRIC_NAMES.contains(&name),
                "{name} is printed by no function"
            );
            read.push(name.to_owned());
        }
    }
    for needed in [
        "ChangeFailure",
        "DeploymentDuration",
        "TimeToRestore",
        "ApprovalWait",
    ] {
        assert!(
            read.iter().any(|r| r == needed),
            "the dashboard shows {needed}"
        );
    }
}
