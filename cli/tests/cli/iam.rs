//! IAM coverage: every AWS operation a function's code can make is allowed by its own policy in
//! template.yaml, and nothing else is; the same for the state machine's role and the
//! integrations its definition uses. Data-driven: a new function (a `Binary:` in the template
//! and its crate under functions/), a new adapter module with `OPERATIONS`, or a new adapter
//! method slots in without editing this file beyond [`ADAPTERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// An adapter module's IAM actions by method (its `OPERATIONS`).
type Operations = &'static [(&'static str, &'static [&'static str])];

/// Every adapter module and its operations by method.
const ADAPTERS: &[(&str, Operations)] = &[
    ("lambda", shifter::aws::lambda::OPERATIONS),
    ("cloudwatch", shifter::aws::cloudwatch::OPERATIONS),
    ("metrics", shifter::aws::metrics::OPERATIONS),
    ("codepipeline", shifter::aws::codepipeline::OPERATIONS),
    ("sfn", shifter::aws::sfn::OPERATIONS),
    ("dynamodb", shifter::aws::dynamodb::OPERATIONS),
    ("events", shifter::aws::events::OPERATIONS),
    ("records", shifter::aws::records::OPERATIONS),
];

/// What the state machine role needs to deliver its logs to CloudWatch Logs
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy>).
const LOG_DELIVERY: [&str; 8] = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
];

/// What a state machine needs for active tracing
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/xray-iam.html>).
const XRAY: [&str; 4] = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `get_function_configuration` → `GetFunctionConfiguration`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The IAM action of an API operation: the same name, except Lambda's Invoke, which IAM calls
/// `lambda:InvokeFunction`
/// (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html>).
fn action_of(operation: &str) -> String {
    match operation {
        "Invoke" => "InvokeFunction".to_owned(),
        other => other.to_owned(),
    }
}

/// The identifier right after each `marker` in `text` (e.g. the method after `client.`, with
/// whitespace and newlines allowed around the dot).
fn idents_after(text: &str, marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices(marker) {
        let rest = text[i + marker.len()..].trim_start();
        let Some(rest) = rest.strip_prefix('.').map(str::trim_start) else {
            continue;
        };
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if rest[ident.len()..].starts_with('(') && !ident.is_empty() {
            found.push(ident);
        }
    }
    found
}

/// The SDK calls each `fn` of an adapter module makes: `client.<op>(` between its `fn name(`
/// and the next `fn`.
fn calls_by_method(source: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let starts: Vec<(usize, String)> = source
        .match_indices("fn ")
        .filter_map(|(i, _)| {
            let name: String = source[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some((i, name))
        })
        .collect();
    for (k, (start, name)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(source.len(), |(e, _)| *e);
        for op in idents_after(&source[*start..end], "client") {
            out.entry(name.clone())
                .or_default()
                .insert(action_of(&camel(&op)));
        }
    }
    out
}

#[test]
fn every_adapter_lists_exactly_the_calls_each_method_makes() {
    let dir = repo().join("shared/src/aws");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = read(&path);
        let module = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if source.contains("pub const OPERATIONS") {
            assert!(
                ADAPTERS.iter().any(|(m, _)| *m == module),
                "{module}.rs declares OPERATIONS: add it to ADAPTERS"
            );
        }
        let Some((_, operations)) = ADAPTERS.iter().find(|(m, _)| *m == module) else {
            assert!(
                !source.contains(".send()"),
                "{module}.rs calls AWS but declares no OPERATIONS"
            );
            continue;
        };
        let listed: BTreeMap<String, BTreeSet<String>> = operations
            .iter()
            .map(|(method, actions)| {
                let ops = actions
                    .iter()
                    .map(|a| a.split(':').nth(1).unwrap().to_owned());
                ((*method).to_owned(), ops.collect())
            })
            .collect();
        let code = source.split("#[cfg(test)]").next().unwrap();
        let called = calls_by_method(code);
        assert_eq!(
            called, listed,
            "{module}.rs: SDK calls by method vs OPERATIONS"
        );
    }
}

/// Top-level resources of template.yaml: name → its block of text.
fn resources(template: &str) -> BTreeMap<String, String> {
    let body = template.split("\nResources:\n").nth(1).unwrap();
    let body = body.split("\nOutputs:").next().unwrap();
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in body.lines() {
        let top = line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':');
        if top {
            current = Some(line.trim().trim_end_matches(':').to_owned());
        } else if let Some(name) = &current {
            let block: &mut String = out.entry(name.clone()).or_default();
            block.push_str(line);
            block.push('\n');
        }
    }
    out
}

/// The IAM actions a resource's policies allow (`Action: x:Y` and `- x:Y` list items; SAM's
/// `LambdaInvokePolicy` template is `lambda:InvokeFunction`).
fn granted(block: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in block.lines() {
        let item = line.trim();
        let item = item
            .strip_prefix("Action:")
            .or_else(|| item.strip_prefix("- "))
            .map(str::trim);
        if let Some((service, op)) = item.and_then(|i| i.split_once(':')) {
            let action = service
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && op.chars().all(|c| c.is_ascii_alphanumeric());
            if action {
                out.insert(format!("{service}:{op}"));
            }
        }
        if line.trim() == "- LambdaInvokePolicy:" {
            out.insert("lambda:InvokeFunction".into());
        }
    }
    out
}

fn field(block: &str, key: &str) -> Option<String> {
    block
        .lines()
        .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_owned()))
}

/// The sources of a function crate, as one text.
fn crate_source(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text += &crate_source(&path);
        } else if path.extension().is_some_and(|e| e == "rs") {
            text += &read(&path);
        }
    }
    text
}

/// What the function built from `binary` can call: for every adapter its main.rs builds
/// (`Type::from_config`), the operations of the adapter methods its code calls.
fn needed(binary: &str) -> BTreeSet<String> {
    let src = repo().join("functions").join(binary).join("src");
    let main = read(&src.join("main.rs"));
    let mut code = crate_source(&src);
    // The library's port-level helpers a function calls (`shifter::aliases::restore`) make
    // their adapter calls on the function's behalf.
    for helper in ["aliases"] {
        if code.contains(&format!("shifter::{helper}::")) {
            code += &read(&repo().join(format!("shared/src/{helper}.rs")));
        }
    }
    let mut out = BTreeSet::new();
    for (module, operations) in ADAPTERS {
        let adapter = read(&repo().join(format!("shared/src/aws/{module}.rs")));
        let built = adapter
            .match_indices("pub struct ")
            .map(|(i, _)| {
                adapter[i + 11..]
                    .split(|c: char| !c.is_alphanumeric())
                    .next()
                    .unwrap()
            })
            .any(|ty| main.contains(&format!("{ty}::from_config")));
        if !built {
            continue;
        }
        for (method, actions) in *operations {
            if code.contains(&format!(".{method}(")) {
                out.extend(actions.iter().map(|a| (*a).to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_function_is_allowed_what_its_code_calls_and_nothing_more() {
    let template = read(&repo().join("template.yaml"));
    let mut checked = 0;
    for (name, block) in resources(&template) {
        if field(&block, "Type:").as_deref() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = field(&block, "Binary:").expect("every function names its Binary");
        let (need, have) = (needed(&binary), granted(&block));
        let missing: Vec<_> = need.difference(&have).collect();
        let unused: Vec<_> = have.difference(&need).collect();
        assert!(missing.is_empty(), "{name} ({binary}) lacks {missing:?}");
        assert!(
            unused.is_empty(),
            "{name} ({binary}) is granted {unused:?}, never called"
        );
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} functions found in template.yaml"
    );
}

/// The lifecycle events: only the watch function may put them, and only on the stack's own bus.
#[test]
fn only_the_watch_function_puts_events_and_only_on_the_stacks_bus() {
    let template = read(&repo().join("template.yaml"));
    let mut putting = Vec::new();
    for (name, block) in resources(&template) {
        if field(&block, "Type:").as_deref() != Some("AWS::Serverless::Function")
            || !granted(&block).contains("events:PutEvents")
        {
            continue;
        }
        putting.push(field(&block, "Binary:").unwrap_or_default());
        let statement = block
            .split("- Sid: ")
            .find(|s| s.contains("events:PutEvents"))
            .expect("a statement");
        assert_eq!(
            field(statement, "Resource:").as_deref(),
            Some("!GetAtt ShifterEventBus.Arn"),
            "{name} may put events only on the stack's bus"
        );
        assert!(
            field(&block, "SHIFTER_EVENT_BUS:").is_some(),
            "{name} is told the bus"
        );
    }
    assert_eq!(putting, ["watch"]);
}

/// The records table (docs/history.md): only the watch function may touch it, with UpdateItem
/// only, and it is told the table and the retention.
#[test]
fn only_the_watch_function_writes_records_and_only_with_update_item() {
    let template = read(&repo().join("template.yaml"));
    let mut writing = Vec::new();
    for (name, block) in resources(&template) {
        if field(&block, "Type:").as_deref() != Some("AWS::Serverless::Function")
            || !block.contains("DeploymentRecordsTable")
        {
            continue;
        }
        writing.push(field(&block, "Binary:").unwrap_or_default());
        let statements: Vec<&str> = block
            .split("- Sid: ")
            .filter(|s| s.contains("DeploymentRecordsTable.Arn"))
            .collect();
        assert_eq!(statements.len(), 1, "{name}: one statement on the table");
        assert_eq!(
            granted(statements[0]),
            BTreeSet::from(["dynamodb:UpdateItem".to_owned()]),
            "{name} may only update records"
        );
        assert_eq!(
            field(statements[0], "Resource:").as_deref(),
            Some("!GetAtt DeploymentRecordsTable.Arn")
        );
        assert!(
            field(&block, "SHIFTER_RECORDS_TABLE:").is_some(),
            "{name} is told the table"
        );
        assert_eq!(
            field(&block, "SHIFTER_RECORD_RETENTION_DAYS:").as_deref(),
            Some("!Ref RecordRetentionDays")
        );
    }
    assert_eq!(writing, ["watch"]);
    let table = &resources(&template)["DeploymentRecordsTable"];
    assert!(
        table.contains("AttributeName: expiresAt"),
        "TTL on expiresAt"
    );
}

/// The state machine's role: what its Task resources call (`lambda:invoke…` →
/// lambda:InvokeFunction, `events:putEvents…` → events:PutEvents, `states:startExecution…` →
/// states:StartExecution), log delivery, and X-Ray when tracing can be enabled.
#[test]
fn the_state_machine_role_allows_its_integrations_logs_and_xray() {
    let template = read(&repo().join("template.yaml"));
    let definition: serde_json::Value =
        serde_json::from_str(&read(&repo().join("statemachine/deployment.asl.json"))).unwrap();
    let mut need: BTreeSet<String> = BTreeSet::new();
    for state in definition["States"].as_object().unwrap().values() {
        let Some(resource) = state["Resource"].as_str() else {
            continue;
        };
        let integration = resource.trim_start_matches("arn:aws:states:::");
        let (service, api) = integration.split_once(':').unwrap();
        let api = api.split('.').next().unwrap();
        let mut op = api.to_owned();
        op[..1].make_ascii_uppercase();
        let op = if (service, api) == ("lambda", "invoke") {
            "InvokeFunction".into()
        } else {
            op
        };
        need.insert(format!("{service}:{op}"));
    }
    let (_, block) = resources(&template)
        .into_iter()
        .find(|(_, b)| field(b, "Type:").as_deref() == Some("AWS::Serverless::StateMachine"))
        .unwrap();
    need.extend(LOG_DELIVERY.map(String::from));
    if block.contains("Tracing:") {
        need.extend(XRAY.map(String::from));
        assert!(
            block.contains("[XRayEnabled"),
            "X-Ray permissions only when EnableXRay=true"
        );
    }
    let have = granted(&block);
    let missing: Vec<_> = need.difference(&have).collect();
    let unused: Vec<_> = have.difference(&need).collect();
    assert!(
        missing.is_empty(),
        "the state machine role lacks {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "the state machine role is granted {unused:?}, never used"
    );
}
