use super::super::targets;
use super::*;
use serde_json::json;

fn base() -> Value {
    json!({
        "deployment": {"functionName": "orders-api", "alias": "live", "targetVersion": "42",
            "alarms": ["orders-api-errors"]},
        "strategy": "Canary10Percent5Minutes",
        "waves": [
            {"name": "canary", "targets": [{"region": "eu-west-1", "account": "111111111111"}]},
            {"targets": [
                {"region": "us-east-1", "account": "111111111111"},
                {"region": "eu-west-1", "account": "222222222222"}
            ]}
        ]
    })
}

/// `base()` with the value at a JSON pointer set (`None`: removed).
fn with(pointer: &str, value: Option<Value>) -> Value {
    let mut plan = base();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = plan.pointer_mut(parent).unwrap();
    match (value, parent) {
        (Some(v), Value::Array(items)) => items[key.parse::<usize>().unwrap()] = v,
        (Some(v), parent) => parent[key] = v,
        (None, Value::Object(fields)) => {
            fields.remove(key);
        }
        (None, other) => panic!("cannot remove from {other}"),
    }
    plan
}

fn refused(plan: &Value) -> FieldError {
    WavePlan::parse(plan).unwrap_err()
}

#[test]
fn defaults_fill_what_a_plan_leaves_out() {
    let plan = WavePlan::parse(&base()).unwrap();
    assert_eq!(plan.waves[1].name, "wave-2");
    assert_eq!(
        (
            plan.bake_between_waves_seconds,
            plan.first_wave_bake_seconds
        ),
        (0, 0)
    );
    let gate = plan.entry_gate;
    assert_eq!(
        (gate.policy, gate.timeout_seconds, gate.poll_seconds),
        (GatePolicy::Wait, 3600, 60)
    );
    assert_eq!(plan.window, None);
    let plan = WavePlan::parse(&with("/bakeBetweenWavesSeconds", Some(json!(900)))).unwrap();
    assert_eq!(
        (
            plan.bake_between_waves_seconds,
            plan.first_wave_bake_seconds
        ),
        (900, 900)
    );
    let refuse = with("/entryGate", Some(json!({"policy": "refuse"})));
    assert_eq!(
        WavePlan::parse(&refuse).unwrap().entry_gate.policy,
        GatePolicy::Refuse
    );
}

#[test]
fn a_child_is_the_defaults_then_the_strategy_then_the_targets_own_keys() {
    let mut plan = base();
    plan["deployment"]["strategy"] = json!("AllAtOnce");
    plan["waves"][1]["strategy"] = json!("Linear10PercentEvery1Minute");
    plan["waves"][1]["targets"][1]["deployment"] =
        json!({"alias": "blue", "strategy": "Canary10Percent15Minutes", "alarms": []});
    let read = WavePlan::parse(&plan).unwrap();
    let inputs: Vec<&Value> = read
        .waves
        .iter()
        .flat_map(|w| &w.targets)
        .map(|t| &t.input)
        .collect();
    assert_eq!(
        inputs[0]["strategy"], "Canary10Percent5Minutes",
        "the plan's over deployment's"
    );
    assert_eq!(
        inputs[1]["strategy"], "Linear10PercentEvery1Minute",
        "the wave's over the plan's"
    );
    assert_eq!(
        inputs[2]["strategy"], "Canary10Percent15Minutes",
        "the target's over all"
    );
    let last = &read.waves[1].targets[1];
    assert_eq!((last.alias.as_str(), last.alarms.len()), ("blue", 0));
    assert_eq!(
        last.input["targetVersion"], "42",
        "keys the target leaves out stay"
    );
    // The strategy may come from deployment alone.
    plan.as_object_mut().unwrap().remove("strategy");
    plan["waves"][1].as_object_mut().unwrap().remove("strategy");
    let read = WavePlan::parse(&plan).unwrap();
    assert_eq!(read.waves[0].targets[0].input["strategy"], "AllAtOnce");
    // A release train per target: the lead alias is the first.
    let mut train = base();
    train["deployment"] = json!({"targetVersion": "1", "alarms": ["a"]});
    train["deployment"]
        .as_object_mut()
        .unwrap()
        .remove("targetVersion");
    train["deployment"]["targets"] = json!([
        {"functionName": "orders-api", "alias": "live", "targetVersion": "42"},
        {"functionName": "orders-worker", "alias": "live", "targetVersion": "7"}]);
    let read = WavePlan::parse(&train).unwrap();
    assert_eq!(read.waves[1].targets[0].function_name, "orders-api");
}

#[test]
fn every_bad_plan_names_its_field() {
    let w0t0 = "/waves/0/targets/0";
    let cases: Vec<(Value, &str)> = vec![
        (with("/color", Some(json!(1))), "color"),
        (with("/comment", Some(Value::Null)), "comment"),
        (with("/comment", Some(json!(7))), "comment"),
        (with("/comment", Some(json!("x".repeat(1001)))), "comment"),
        (with("/waves", None), "waves"),
        (with("/waves", Some(json!([]))), "waves"),
        (with("/waves", Some(json!({"a": 1}))), "waves"),
        (with("/waves/0", Some(json!(["canary"]))), "waves[0]"),
        (with("/waves/0/color", Some(json!("red"))), "waves[0].color"),
        (
            with("/waves/0/targets", Some(json!([]))),
            "waves[0].targets",
        ),
        (with("/waves/0/targets", None), "waves[0].targets"),
        (
            with(&format!("{w0t0}/color"), Some(json!(1))),
            "waves[0].targets[0].color",
        ),
        (with(w0t0, Some(json!("eu-west-1"))), "waves[0].targets[0]"),
        (
            with(&format!("{w0t0}/region"), None),
            "waves[0].targets[0].region",
        ),
        (
            with(&format!("{w0t0}/account"), None),
            "waves[0].targets[0].account",
        ),
        (
            with(&format!("{w0t0}/account"), Some(json!(111_111_111_111_u64))),
            "waves[0].targets[0].account",
        ),
        (
            with(&format!("{w0t0}/deployment"), Some(json!([1]))),
            "waves[0].targets[0].deployment",
        ),
        (
            with(
                &format!("{w0t0}/deployment"),
                Some(json!({"targetVersion": "abc"})),
            ),
            "waves[0].targets[0].deployment.targetVersion",
        ),
        (
            with(
                &format!("{w0t0}/deployment"),
                Some(json!({"hooks": {"pre": "x"}})),
            ),
            "waves[0].targets[0].deployment.hooks.pre",
        ),
        (
            with("/deployment", Some(json!(["orders-api"]))),
            "deployment",
        ),
        (
            with("/deployment/alarms", Some(json!("orders-api-errors"))),
            "deployment.alarms",
        ),
        (
            with("/deployment/alarms", Some(json!(["a", "a"]))),
            "deployment.alarms[1]",
        ),
        (
            with("/deployment/colour", Some(json!("blue"))),
            "deployment.colour",
        ),
        (
            with("/deployment/functionName", None),
            "waves[0].targets[0].deployment.functionName",
        ),
        (with("/strategy", Some(json!("Fast"))), "strategy"),
        (with("/strategy", None), "waves[0].strategy"),
        (
            with(
                "/waves/1/strategy",
                Some(json!({"steps": [{"weight": 200, "bakeSeconds": 60}]})),
            ),
            "waves[1].strategy.steps[0].weight",
        ),
        (
            with("/waves/1/name", Some(json!("canary"))),
            "waves[1].name",
        ),
        (
            with("/waves/0/name", Some(json!("wave-2"))),
            "waves[1].name",
        ),
        (with("/waves/0/name", Some(json!(""))), "waves[0].name"),
        (
            with("/waves/0/name", Some(json!("can ary"))),
            "waves[0].name",
        ),
        (
            with("/waves/0/name", Some(json!("w".repeat(65)))),
            "waves[0].name",
        ),
        (
            with("/bakeBetweenWavesSeconds", Some(json!(86_401))),
            "bakeBetweenWavesSeconds",
        ),
        (
            with("/bakeBetweenWavesSeconds", Some(json!(-1))),
            "bakeBetweenWavesSeconds",
        ),
        (
            with("/bakeBetweenWavesSeconds", Some(json!("600"))),
            "bakeBetweenWavesSeconds",
        ),
        (
            with("/firstWaveBakeSeconds", Some(json!(604_801))),
            "firstWaveBakeSeconds",
        ),
        (
            with("/entryGate", Some(json!({"policy": "maybe"}))),
            "entryGate.policy",
        ),
        (
            with("/entryGate", Some(json!({"timeoutSeconds": 86_401}))),
            "entryGate.timeoutSeconds",
        ),
        (
            with("/entryGate", Some(json!({"timeoutSeconds": 30}))),
            "entryGate.timeoutSeconds",
        ),
        (
            with("/entryGate", Some(json!({"pollSeconds": 9}))),
            "entryGate.pollSeconds",
        ),
        (
            with("/entryGate", Some(json!({"pollSeconds": 3601}))),
            "entryGate.pollSeconds",
        ),
        (
            with("/entryGate", Some(json!({"poll": 60}))),
            "entryGate.poll",
        ),
        (with("/entryGate", Some(json!(["wait"]))), "entryGate"),
        (
            with(
                "/window",
                Some(
                    json!({"cron": "0 9 * * MON-FRI", "timeZone": "Mars/Olympus", "durationMinutes": 60}),
                ),
            ),
            "window.timeZone",
        ),
        (
            with(
                "/window",
                Some(json!({"cron": "0 9 * * MON-FRI", "timeZone": "UTC"})),
            ),
            "window.durationMinutes",
        ),
        (json!(["waves"]), "(input)"),
    ];
    for (plan, field) in cases {
        let e = refused(&plan);
        assert_eq!(e.field, field, "{e}");
    }
    let mut first_short = base();
    first_short["bakeBetweenWavesSeconds"] = json!(600);
    first_short["firstWaveBakeSeconds"] = json!(599);
    assert_eq!(refused(&first_short).field, "firstWaveBakeSeconds");
}

#[test]
fn a_child_error_says_which_target_it_is_for() {
    let e = refused(&with("/strategy", Some(json!("Fast"))));
    assert!(e.message.contains("(for waves[0].targets[0])"), "{e}");
    let e = refused(&with("/strategy", None));
    assert!(
        e.message.contains("is required for waves[0].targets[0]"),
        "{e}"
    );
    let mut second = base();
    second["waves"][1]["targets"][1]["deployment"] = json!({"alias": "$LATEST"});
    assert_eq!(
        refused(&second).field,
        "waves[1].targets[1].deployment.alias"
    );
}

#[test]
fn regions_and_accounts_are_strict() {
    for region in [
        "eu-west-1",
        "us-gov-west-1",
        "cn-north-1",
        "us-isob-east-1",
        "ap-southeast-10",
        "eusc-de-east-1",
    ] {
        assert!(targets::region_shaped(region), "{region}");
    }
    for region in [
        "EU-west-1",
        "eu-west-1a",
        "euwest1",
        "eu-west",
        "",
        "eu--west-1",
        "e-west-1",
        "eu-west-123",
        "eu_west_1",
        " eu-west-1",
    ] {
        assert!(!targets::region_shaped(region), "{region}");
        let e = refused(&with("/waves/0/targets/0/region", Some(json!(region))));
        assert_eq!(e.field, "waves[0].targets[0].region", "{region}");
    }
    for account in [
        "11111111111",
        "1111111111111",
        "11111111111a",
        "",
        "１１１１１１１１１１１１",
    ] {
        let e = refused(&with("/waves/0/targets/0/account", Some(json!(account))));
        assert_eq!(e.field, "waves[0].targets[0].account", "{account}");
    }
}

#[test]
fn an_arn_must_name_the_targets_own_region_and_account() {
    let arn = |region: &str, account: &str| {
        format!("arn:aws:lambda:{region}:{account}:function:orders-api")
    };
    let mut own = base();
    own["waves"][0]["targets"][0]["deployment"] =
        json!({"functionName": arn("eu-west-1", "111111111111")});
    assert!(WavePlan::parse(&own).is_ok());
    // From the plan's defaults, the field is deployment's.
    let e = refused(&with(
        "/deployment/functionName",
        Some(json!(arn("eu-west-1", "111111111111"))),
    ));
    assert_eq!(e.field, "deployment.functionName", "{e}");
    assert!(e.message.contains("waves[1].targets[0]"), "{e}");
    for other in [
        arn("eu-west-2", "111111111111"),
        arn("eu-west-1", "333333333333"),
    ] {
        let mut plan = base();
        plan["waves"][0]["targets"][0]["deployment"] = json!({"functionName": other});
        let e = refused(&plan);
        assert_eq!(
            e.field, "waves[0].targets[0].deployment.functionName",
            "{e}"
        );
    }
    let mut train = base();
    train["waves"][0]["targets"][0]["deployment"] = json!({"targets": [
        {"functionName": "orders-api", "alias": "live", "targetVersion": "42"},
        {"functionName": arn("us-east-1", "111111111111"), "alias": "live", "targetVersion": "7"}]});
    for key in ["functionName", "targetVersion", "alias"] {
        train["deployment"].as_object_mut().unwrap().remove(key);
    }
    let e = refused(&train);
    assert_eq!(
        e.field, "waves[0].targets[0].deployment.targets[1].functionName",
        "{e}"
    );
}

#[test]
fn an_alias_moves_once_per_region_and_account() {
    let mut twice = base();
    twice["waves"][1]["targets"][1] = json!({"region": "eu-west-1", "account": "111111111111"});
    let e = refused(&twice);
    assert_eq!(e.field, "waves[1].targets[1]");
    assert!(e.message.contains("waves[0].targets[0]"), "{e}");
    // By ARN or by name, the same alias of the same function.
    twice["waves"][1]["targets"][1]["deployment"] =
        json!({"functionName": "arn:aws:lambda:eu-west-1:111111111111:function:orders-api"});
    assert_eq!(refused(&twice).field, "waves[1].targets[1]");
    // Another alias, or another function, in the same place is another target.
    twice["waves"][1]["targets"][1]["deployment"] = json!({"alias": "blue"});
    assert!(WavePlan::parse(&twice).is_ok());
    // A train member counts too.
    let mut train = base();
    for key in ["functionName", "targetVersion", "alias"] {
        train["deployment"].as_object_mut().unwrap().remove(key);
    }
    let one = |function: &str, alias: &str| json!({"functionName": function, "alias": alias, "targetVersion": "42"});
    train["waves"][0]["targets"][0]["deployment"] =
        json!({"targets": [one("orders-worker", "live"), one("orders-api", "blue")]});
    train["waves"][1]["targets"][0]["deployment"] = one("orders-api", "live");
    train["waves"][1]["targets"][1] = json!({"region": "eu-west-1", "account": "111111111111",
        "deployment": one("orders-api", "blue")});
    let e = refused(&train);
    assert_eq!(e.field, "waves[1].targets[1]", "{e}");
    assert!(e.message.contains("blue of orders-api"), "{e}");
}

#[test]
fn a_repeated_key_is_refused_by_its_path() {
    let text = r#"{"deployment": {"functionName": "orders-api", "alias": "live", "targetVersion": "42"},
        "strategy": "AllAtOnce",
        "waves": [{"targets": [{"region": "eu-west-1", "region": "us-east-1", "account": "111111111111"}]}]}"#;
    let e = WavePlan::from_document(&InputDocument::parse(text).unwrap()).unwrap_err();
    assert_eq!(e.field, "waves[0].targets[0].region");
    assert!(e.message.contains("twice"), "{e}");
}

/// A plan of `waves` waves of `per_wave` targets, each a distinct account, with long names.
fn wide(waves: usize, per_wave: usize) -> Value {
    let waves: Vec<Value> = (0..waves)
        .map(|i| {
            let targets: Vec<Value> = (0..per_wave)
                .map(|j| json!({"region": "ap-southeast-10", "account": format!("{:012}", i * 100 + j)}))
                .collect();
            json!({"name": format!("{i}{}", "w".repeat(63)), "targets": targets})
        })
        .collect();
    json!({"deployment": {"functionName": "f".repeat(64), "alias": "a".repeat(128), "targetVersion": "4294967295"},
        "strategy": "Linear10PercentEvery10Minutes", "waves": waves})
}

#[test]
fn the_wave_and_target_limits_hold() {
    assert!(WavePlan::parse(&wide(MAX_WAVES, MAX_TARGETS / MAX_WAVES)).is_ok());
    assert_eq!(refused(&wide(MAX_WAVES + 1, 1)).field, "waves");
    assert!(WavePlan::parse(&wide(2, MAX_TARGETS_PER_WAVE)).is_ok());
    assert_eq!(
        refused(&wide(1, MAX_TARGETS_PER_WAVE + 1)).field,
        "waves[0].targets"
    );
    let e = refused(&wide(3, 14));
    assert_eq!(e.field, "waves[2].targets");
    assert!(e.message.contains("42 targets"), "{e}");
}

/// Grows `grow` alarms of 255 characters in the largest plan until it is refused: the last plan
/// accepted, and the refusal.
fn largest(grow: impl Fn(&mut Value, Vec<String>)) -> (Value, WavePlan, FieldError) {
    let mut last = None;
    for n in 1..=100 {
        let alarms: Vec<String> = (0..n)
            .map(|k| format!("{k:03}{}", "x".repeat(252)))
            .collect();
        let mut plan = wide(MAX_WAVES, MAX_TARGETS / MAX_WAVES);
        grow(&mut plan, alarms);
        match (WavePlan::parse(&plan), last) {
            (Ok(read), _) => last = Some((plan, read)),
            (Err(e), Some((plan, read))) => return (plan, read, e),
            (Err(e), None) => panic!("the smallest plan is refused: {e}"),
        }
    }
    panic!("no limit was reached")
}

#[test]
fn the_largest_accepted_plan_stays_under_half_the_payload_limit() {
    // Each target's own alarms: the plan's size binds.
    let (plan, read, e) = largest(|plan, alarms| {
        for wave in plan["waves"].as_array_mut().unwrap() {
            for target in wave["targets"].as_array_mut().unwrap() {
                target["deployment"] = json!({"alarms": alarms});
            }
        }
    });
    assert_eq!((e.field.as_str(), read.waves.len()), ("(input)", MAX_WAVES));
    let bytes = serde_json::to_string(&plan).unwrap().len();
    assert!(
        bytes <= MAX_PLAN_INPUT_BYTES && bytes * 2 < 262_144,
        "{bytes}"
    );
    eprintln!("largest plan by its own size: {bytes} bytes");
    // The same alarms for all, in deployment: the children's sum binds.
    let (plan, read, e) = largest(|plan, alarms| plan["deployment"]["alarms"] = json!(alarms));
    assert!(e.message.contains("targets' inputs"), "{e}");
    let children: usize = read
        .waves
        .iter()
        .flat_map(|w| &w.targets)
        .map(|t| serde_json::to_string(&t.input).unwrap().len())
        .sum();
    assert!(
        children <= MAX_CHILD_INPUTS_BYTES && children * 2 < 262_144,
        "{children}"
    );
    let bytes = serde_json::to_string(&plan).unwrap().len();
    assert!(bytes * 2 < 262_144, "{bytes}");
    eprintln!("largest plan by its children: {bytes} bytes, children {children} bytes");
}
