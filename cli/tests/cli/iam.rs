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
    ("waves", shifter::aws::waves::OPERATIONS),
];

/// The ports `TargetAccounts` hands out (`Arc<dyn Port>`), by the adapter module that serves
/// each in a target account under the assumed role (`AwsTargetAccounts`).
const TARGET_PORTS: &[(&str, &str)] = &[
    ("Executions", "sfn"),
    ("AliasRouter", "lambda"),
    ("AlarmReader", "cloudwatch"),
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

/// A function's sources: its main.rs, and all its code with the library helpers it calls.
fn function_code(binary: &str) -> (String, String) {
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
    (main, code)
}

/// The methods of port trait `name` (declared in shared/src/ports/).
fn trait_methods(name: &str) -> BTreeSet<String> {
    let dir = repo().join("shared/src/ports");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let source = read(&entry.unwrap().path());
        let Some((_, body)) = source.split_once(&format!("pub trait {name}:")) else {
            continue;
        };
        let body = body.split("\n}\n").next().unwrap();
        return body
            .match_indices("fn ")
            .map(|(i, _)| {
                body[i + 3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect();
    }
    panic!("no port trait {name} in shared/src/ports");
}

/// Whether the function reaches target accounts (its main builds `AwsTargetAccounts`).
fn reaches_targets(main: &str) -> bool {
    main.contains("AwsTargetAccounts::from_config")
}

/// What the function built from `binary` can call with its own role: for every adapter its
/// main.rs builds (`Type::from_config`), the operations of the adapter methods its code calls;
/// for a function that reaches target accounts, the role it assumes there, and not the calls
/// it makes through the ports the targets hand out (those are the target role's, see
/// [`target_needs`]).
fn needed(binary: &str) -> BTreeSet<String> {
    let (main, code) = function_code(binary);
    let mut through_targets = BTreeSet::new();
    let mut out = BTreeSet::new();
    if reaches_targets(&main) {
        for (port, _) in TARGET_PORTS {
            through_targets.extend(trait_methods(port));
        }
        out.insert(shifter::aws::waves::ASSUMES.to_owned());
    }
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
            if code.contains(&format!(".{method}(")) && !through_targets.contains(*method) {
                out.extend(actions.iter().map(|a| (*a).to_owned()));
            }
        }
    }
    out
}

/// What the function built from `binary` calls in the target accounts, through the ports
/// `TargetAccounts` hands out: the operations of the methods of those ports its code calls.
fn target_needs(binary: &str) -> BTreeSet<String> {
    let (_, code) = function_code(binary);
    let mut out = BTreeSet::new();
    for (port, module) in TARGET_PORTS {
        let operations = ADAPTERS.iter().find(|(m, _)| m == module).unwrap().1;
        for method in trait_methods(port) {
            if !code.contains(&format!(".{method}(")) {
                continue;
            }
            let (_, actions) = operations
                .iter()
                .find(|(m, _)| *m == method)
                .unwrap_or_else(|| panic!("{module}::OPERATIONS lacks {method}"));
            out.extend(actions.iter().map(|a| (*a).to_owned()));
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

/// The IAM actions the Task states of definition `asl` call (`lambda:invoke…` →
/// lambda:InvokeFunction, `events:putEvents…` → events:PutEvents, `states:startExecution…` →
/// states:StartExecution).
fn integrations(asl: &str) -> BTreeSet<String> {
    let definition: serde_json::Value = serde_json::from_str(asl).unwrap();
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
    need
}

/// Each state machine's role (the deployment one, the waves one): what its Task resources
/// call, log delivery, and X-Ray when tracing can be enabled.
#[test]
fn the_state_machine_role_allows_its_integrations_logs_and_xray() {
    let template = read(&repo().join("template.yaml"));
    let mut checked = Vec::new();
    for (name, block) in resources(&template) {
        if field(&block, "Type:").as_deref() != Some("AWS::Serverless::StateMachine") {
            continue;
        }
        let uri = field(&block, "DefinitionUri:").expect("a DefinitionUri");
        let mut need = integrations(&read(&repo().join(&uri)));
        need.extend(LOG_DELIVERY.map(String::from));
        if block.contains("Tracing:") {
            need.extend(XRAY.map(String::from));
            assert!(
                block.contains("[XRayEnabled"),
                "{name}: X-Ray permissions only when EnableXRay=true"
            );
        }
        let have = granted(&block);
        let missing: Vec<_> = need.difference(&have).collect();
        let unused: Vec<_> = have.difference(&need).collect();
        assert!(missing.is_empty(), "{name}'s role lacks {missing:?}");
        assert!(
            unused.is_empty(),
            "{name}'s role is granted {unused:?}, never used"
        );
        checked.push(uri);
    }
    assert_eq!(
        checked,
        [
            "statemachine/deployment.asl.json",
            "statemachine/waves.asl.json"
        ]
    );
}

/// The waves state machine may invoke the waves function and nothing else, and its definition's
/// `${…}` are exactly its DefinitionSubstitutions.
#[test]
fn the_waves_state_machine_invokes_only_the_waves_function() {
    let template = read(&repo().join("template.yaml"));
    let block = &resources(&template)["WavesStateMachine"];
    let invokes: Vec<&str> = block
        .split("- LambdaInvokePolicy:")
        .skip(1)
        .map(|s| s.lines().nth(1).unwrap().trim())
        .collect();
    assert_eq!(invokes, ["FunctionName: !Ref WavesFunction"]);
    assert!(!block.contains("Action: lambda:InvokeFunction"));
    let asl = read(&repo().join("statemachine/waves.asl.json"));
    let used: BTreeSet<String> = asl
        .split("${")
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap().to_owned())
        .collect();
    let substitutions = block.split("DefinitionSubstitutions:\n").nth(1).unwrap();
    let defined: BTreeSet<String> = substitutions
        .lines()
        .take_while(|l| l.starts_with("        "))
        .map(|l| l.trim().split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        used, defined,
        "waves.asl.json placeholders vs DefinitionSubstitutions"
    );
}

/// `TARGET_PORTS` is what `TargetAccounts` hands out, and `AwsTargetAccounts` serves each with
/// the adapter of the module named there.
#[test]
fn the_target_ports_are_what_the_target_accounts_hand_out() {
    let ports = read(&repo().join("shared/src/ports/waves.rs"));
    let body = ports.split("pub trait TargetAccounts:").nth(1).unwrap();
    let body = body.split("\n}\n").next().unwrap();
    let handed: BTreeSet<&str> = body
        .split("Arc<dyn ")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap())
        .collect();
    let listed: BTreeSet<&str> = TARGET_PORTS.iter().map(|(port, _)| *port).collect();
    assert_eq!(handed, listed);
    let adapter = read(&repo().join("shared/src/aws/waves.rs"));
    for (port, module) in TARGET_PORTS {
        let source = read(&repo().join(format!("shared/src/aws/{module}.rs")));
        let serves = source
            .match_indices("pub struct ")
            .map(|(i, _)| {
                source[i + 11..]
                    .split(|c: char| !c.is_alphanumeric())
                    .next()
                    .unwrap()
            })
            .any(|ty| {
                adapter.contains(&format!("{ty}::from_config"))
                    && source.contains(&format!("impl {port} for {ty}"))
            });
        assert!(
            serves,
            "AwsTargetAccounts serves {port} with no adapter of {module}.rs"
        );
    }
}

/// templates/waves-target.yaml: the role the waves function assumes there is allowed exactly
/// what the function calls through the target ports, trusts only the home function's role, and
/// the forwarding rules put events only on the home bus.
#[test]
fn the_waves_target_role_is_allowed_what_the_waves_function_calls_there_and_nothing_more() {
    let template = read(&repo().join("templates/waves-target.yaml"));
    let all = resources(&template);
    let role = &all["WavesTargetRole"];
    let (trust, policies) = role
        .split_once("      Policies:")
        .expect("a trust and policies");
    let (need, have) = (target_needs("waves"), granted(policies));
    assert!(need.contains("states:StartExecution"), "{need:?}");
    let missing: Vec<_> = need.difference(&have).collect();
    let unused: Vec<_> = have.difference(&need).collect();
    assert!(missing.is_empty(), "the target role lacks {missing:?}");
    assert!(
        unused.is_empty(),
        "the target role is granted {unused:?}, never called"
    );
    assert_eq!(
        granted(trust),
        BTreeSet::from(["sts:AssumeRole".to_owned()])
    );
    assert_eq!(
        field(trust, "aws:PrincipalArn:").as_deref(),
        Some("!Ref HomeWavesRoleArn")
    );
    assert_eq!(
        field(role, "RoleName:").as_deref(),
        Some("!Ref TargetRoleName")
    );

    let forward = &all["ForwardRole"];
    let (_, policies) = forward.split_once("      Policies:").unwrap();
    assert_eq!(
        granted(policies),
        BTreeSet::from(["events:PutEvents".to_owned()])
    );
    assert_eq!(
        field(policies, "Resource:").as_deref(),
        Some("!Ref HomeEventBusArn")
    );
    let rules: Vec<_> = all
        .iter()
        .filter(|(_, b)| field(b, "Type:").as_deref() == Some("AWS::Events::Rule"))
        .collect();
    assert_eq!(rules.len(), 2);
    for (name, block) in rules {
        assert_eq!(
            field(block, "Arn:").as_deref(),
            Some("!Ref HomeEventBusArn"),
            "{name}"
        );
        assert_eq!(
            field(block, "RoleArn:").as_deref(),
            Some("!GetAtt ForwardRole.Arn"),
            "{name}"
        );
    }
}

/// The home stack: the waves function assumes only the target role, by the name it is told,
/// and every waves resource exists only when EnableWaves=true, so a stack without waves is
/// the same as before.
#[test]
fn the_waves_resources_exist_only_when_enabled() {
    let template = read(&repo().join("template.yaml"));
    let all = resources(&template);
    let function = &all["WavesFunction"];
    let assume = function
        .split("- Sid: ")
        .find(|s| s.contains("sts:AssumeRole"))
        .unwrap();
    assert_eq!(
        field(assume, "Resource:").as_deref(),
        Some("!Sub arn:${AWS::Partition}:iam::*:role/${WavesTargetRoleName}")
    );
    assert_eq!(
        field(function, "WAVES_TARGET_ROLE_NAME:").as_deref(),
        Some("!Ref WavesTargetRoleName")
    );
    let mut waves = 0;
    for (name, block) in &all {
        let refers = [
            "WavesFunction",
            "WaveWatchesTable",
            "WavesEventBus",
            "WavesStateMachine",
        ]
        .iter()
        .any(|r| block.contains(r));
        if name.starts_with("Wave") || refers {
            let condition = field(block, "Condition:").unwrap_or_default();
            assert!(
                condition.starts_with("Waves"),
                "{name} exists without waves"
            );
            waves += 1;
        }
    }
    assert!(waves >= 10, "only {waves} waves resources");
}
