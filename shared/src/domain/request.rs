//! The execution input (the public contract), validated once into domain types.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::alias::function_short_name;
use super::analysis::Analysis;
use super::approval::{
    Approval, ApprovalDefault, DEFAULT_APPROVAL_TIMEOUT_SECONDS, MAX_APPROVAL_TIMEOUT_SECONDS,
};
use super::field::FieldError;
use super::hooks::{Hooks, validate_hooks};
use super::json::{InputDocument, deserialize_named, reject_nulls, required};
use super::managed::{same_function, validate_alias, validate_function_name};
use super::provisioned::ReadyWait;
use super::strategy::{MAX_BAKE_SECONDS, Plan, parse_strategy};

/// Most alarms one DescribeAlarms call can read.
pub const MAX_ALARMS: usize = 100;
/// Largest execution input we accept (Step Functions' own limit is 256 KiB).
pub const MAX_INPUT_BYTES: usize = 32 * 1024;
/// Default seconds between backstop reads of the alarms while a deployment is parked (a bake,
/// an approval gate, the post-promotion bake). Alarm events end a park within seconds; the
/// backstop read only catches an event that was lost.
pub const DEFAULT_CHECK_INTERVAL_SECONDS: u32 = 300;
/// Bounds of `checkIntervalSeconds`.
pub const CHECK_INTERVAL_RANGE: std::ops::RangeInclusive<u32> = 5..=3600;

/// Which version to move the alias to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetVersion {
    /// A published version number.
    Version(u64),
    /// The highest published version.
    Latest,
    /// Publish `$LATEST` as a new version first.
    Publish,
}

/// A validated execution input.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentRequest {
    /// Function name or ARN, as given.
    pub function_name: String,
    /// Alias to move.
    pub alias: String,
    /// Version to move it to.
    pub target: TargetVersion,
    /// The strategy as written (name, or "custom steps").
    pub strategy_name: String,
    /// The schedule.
    pub plan: Plan,
    /// CloudWatch alarms watched while steps bake.
    pub alarms: Vec<String>,
    /// Seconds between alarm checks.
    pub check_interval_seconds: u32,
    /// Hook functions.
    pub hooks: Hooks,
    /// Seconds to keep watching alarms after the promotion.
    pub post_promotion_bake_seconds: u32,
    /// Manual gates.
    pub approval: Approval,
    /// A target version lower than the alias's current one is deployed only when this is set.
    pub allow_downgrade: bool,
    /// Version-scoped canary analysis from Lambda's own metrics.
    pub analysis: Option<Analysis>,
    /// A release train: the other aliases that move in lockstep with this one (`targets[1..]`
    /// of the input; `function_name`, `alias` and `target` are `targets[0]`). Empty for a
    /// deployment of one alias.
    pub train: Vec<TrainTarget>,
    /// The aliases came as a `targets` list (errors about one name `targets[i]`).
    pub listed: bool,
    /// How long a write may wait for the alias's provisioned concurrency to be READY (used
    /// only when Start Deployment finds the alias has some).
    pub provisioned_concurrency: ReadyWait,
}

/// One more alias of a release train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainTarget {
    /// Function name or ARN, as given.
    pub function_name: String,
    /// Alias to move.
    pub alias: String,
    /// Version to move it to.
    pub target: TargetVersion,
}

/// Longest `startedBy` (who or what starts the deployment, kept in its record), in characters.
pub const MAX_STARTED_BY_CHARS: usize = 200;

/// Most aliases one release train moves.
pub const MAX_TRAIN_TARGETS: usize = 20;

/// The input as written. Required fields are options here so that a missing one is reported
/// by name from the typed value, not from serde's message.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRequest {
    function_name: Option<String>,
    alias: Option<String>,
    target_version: Option<Value>,
    strategy: Option<Value>,
    #[serde(default)]
    alarms: Vec<String>,
    check_interval_seconds: Option<u32>,
    #[serde(default)]
    hooks: Hooks,
    #[serde(default)]
    post_promotion_bake_seconds: u32,
    #[serde(default)]
    approval_before_promote: bool,
    approval_timeout_seconds: Option<u32>,
    approval_default: Option<Value>,
    #[serde(default)]
    allow_downgrade: bool,
    analysis: Option<Value>,
    targets: Option<Vec<Value>>,
    provisioned_concurrency: Option<Value>,
    /// Who or what starts the deployment, for its record (`shifter deploy` sets it).
    started_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTarget {
    function_name: Option<String>,
    alias: Option<String>,
    target_version: Option<Value>,
}

impl DeploymentRequest {
    /// Parses an input as read by [`InputDocument`]: a repeated key or too-deep nesting is
    /// reported first, then everything [`DeploymentRequest::parse_json`] checks.
    pub fn parse_document(input: &InputDocument) -> Result<DeploymentRequest, FieldError> {
        if let Some(problem) = &input.problem {
            return Err(problem.clone());
        }
        DeploymentRequest::parse_json(&input.value)
    }

    /// Parses an execution input; the error names the first bad field. The history budget is
    /// checked after parsing, by [`DeploymentRequest::from_json`] (`accept`).
    pub fn parse_json(input: &Value) -> Result<DeploymentRequest, FieldError> {
        check_envelope(input)?;
        reject_nulls(input, "")?;
        objects_where_objects(input)?;
        let mut raw: RawRequest = deserialize_named(input, "")?;
        let listed = raw.targets.is_some();
        let mut targets = match raw.targets.take() {
            Some(targets) => parse_train(&mut raw, &targets)?,
            None => vec![parse_one_target(&mut raw)?],
        };
        let train = targets.split_off(1);
        let TrainTarget {
            function_name,
            alias,
            target,
        } = targets.remove(0);
        let (strategy_name, plan, gated_steps) =
            parse_strategy(&required("strategy", raw.strategy.take())?)?;
        validate_alarms(&raw.alarms)?;
        validate_started_by(raw.started_by.as_deref())?;
        let check_interval_seconds = check_interval(raw.check_interval_seconds)?;
        if raw.post_promotion_bake_seconds > MAX_BAKE_SECONDS {
            return Err(FieldError::new(
                "postPromotionBakeSeconds",
                format!(
                    "must be at most {MAX_BAKE_SECONDS} (got {})",
                    raw.post_promotion_bake_seconds
                ),
            ));
        }
        validate_hooks(&raw.hooks, &function_name)?;
        for member in &train {
            validate_hooks(&raw.hooks, &member.function_name)?;
        }
        let approval = parse_approval(&raw, gated_steps)?;
        let request = DeploymentRequest {
            approval,
            function_name,
            alias,
            target,
            strategy_name,
            plan,
            alarms: raw.alarms,
            check_interval_seconds,
            hooks: raw.hooks,
            post_promotion_bake_seconds: raw.post_promotion_bake_seconds,
            allow_downgrade: raw.allow_downgrade,
            analysis: parse_analysis(raw.analysis.take())?,
            train,
            listed,
            provisioned_concurrency: parse_ready_wait(raw.provisioned_concurrency.take())?,
        };
        Ok(request)
    }
}

impl DeploymentRequest {
    /// Every alias the input names, the first one first.
    pub fn targets(&self) -> Vec<TrainTarget> {
        let mut all = vec![TrainTarget {
            function_name: self.function_name.clone(),
            alias: self.alias.clone(),
            target: self.target.clone(),
        }];
        all.extend(self.train.iter().cloned());
        all
    }

    /// The field naming the function of alias `k` of [`targets`](Self::targets):
    /// `targets[k].functionName` when the aliases came as a list, else `functionName`.
    pub fn function_field(&self, k: usize) -> String {
        if self.listed {
            format!("targets[{k}].functionName")
        } else {
            "functionName".to_owned()
        }
    }

    /// The same request for `target` alone: what each alias's pre-flight judges.
    pub fn for_target(&self, target: &TrainTarget) -> DeploymentRequest {
        DeploymentRequest {
            function_name: target.function_name.clone(),
            alias: target.alias.clone(),
            target: target.target.clone(),
            train: Vec::new(),
            ..self.clone()
        }
    }
}

/// `startedBy`: free text for the deployment's record, at most [`MAX_STARTED_BY_CHARS`].
fn validate_started_by(by: Option<&str>) -> Result<(), FieldError> {
    match by {
        Some(by) if by.chars().count() > MAX_STARTED_BY_CHARS => Err(FieldError::new(
            "startedBy",
            format!(
                "must be at most {MAX_STARTED_BY_CHARS} characters (got {})",
                by.chars().count()
            ),
        )),
        _ => Ok(()),
    }
}

/// The object-shaped fields, refused naming the field when given as anything else: serde reads
/// a JSON array into a struct positionally, so `"hooks": ["pre", "post"]` would otherwise deploy
/// with `preTraffic: "pre"`.
fn objects_where_objects(input: &Value) -> Result<(), FieldError> {
    let object = |field: &str, value: Option<&Value>| match value {
        Some(v) if !v.is_object() => Err(FieldError::new(
            field,
            format!("must be a JSON object {{…}} (got {})", json_kind(v)),
        )),
        _ => Ok(()),
    };
    for field in ["hooks", "analysis", "provisionedConcurrency"] {
        object(field, input.get(field))?;
    }
    if let Some(Value::Array(targets)) = input.get("targets") {
        for (i, target) in targets.iter().enumerate() {
            object(&format!("targets[{i}]"), Some(target))?;
        }
    }
    match input.get("strategy") {
        Some(Value::Object(strategy)) => match strategy.get("steps") {
            Some(Value::Array(steps)) => steps
                .iter()
                .enumerate()
                .try_for_each(|(i, step)| object(&format!("strategy.steps[{i}]"), Some(step))),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// What kind of JSON value `v` is, for messages.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object within the size limit.
fn check_envelope(input: &Value) -> Result<(), FieldError> {
    let size = serde_json::to_vec(input)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_INPUT_BYTES {
        return Err(FieldError::new(
            "(input)",
            format!("is {size} bytes; the limit is {MAX_INPUT_BYTES}"),
        ));
    }
    if !input.is_object() {
        return Err(FieldError::new("(input)", "must be a JSON object"));
    }
    Ok(())
}

/// Up to [`MAX_ALARMS`] distinct CloudWatch alarm names, each named `alarms[i]` when refused.
pub fn validate_alarms(alarms: &[String]) -> Result<(), FieldError> {
    if alarms.len() > MAX_ALARMS {
        return Err(FieldError::new(
            "alarms",
            format!(
                "has {} names; at most {MAX_ALARMS} can be watched",
                alarms.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, alarm) in alarms.iter().enumerate() {
        let field = format!("alarms[{i}]");
        if alarm.is_empty() || alarm.chars().count() > 255 {
            return Err(FieldError::new(
                field,
                "an alarm name has 1 to 255 characters",
            ));
        }
        if alarm.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "an alarm name cannot contain control characters",
            ));
        }
        if !seen.insert(alarm) {
            return Err(FieldError::new(field, format!("{alarm:?} is listed twice")));
        }
    }
    Ok(())
}

fn check_interval(given: Option<u32>) -> Result<u32, FieldError> {
    let seconds = given.unwrap_or(DEFAULT_CHECK_INTERVAL_SECONDS);
    if !CHECK_INTERVAL_RANGE.contains(&seconds) {
        return Err(FieldError::new(
            "checkIntervalSeconds",
            format!(
                "must be between {} and {} (got {seconds})",
                CHECK_INTERVAL_RANGE.start(),
                CHECK_INTERVAL_RANGE.end()
            ),
        ));
    }
    Ok(seconds)
}

/// The `analysis` block: fields named under `analysis.`, then every bound checked.
fn parse_analysis(raw: Option<Value>) -> Result<Option<Analysis>, FieldError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let analysis: Analysis = deserialize_named(&raw, "analysis")?;
    analysis.validate()?;
    Ok(Some(analysis))
}

/// The `provisionedConcurrency` block: fields named under `provisionedConcurrency.`.
fn parse_ready_wait(raw: Option<Value>) -> Result<ReadyWait, FieldError> {
    let Some(raw) = raw else {
        return Ok(ReadyWait::default());
    };
    let wait: ReadyWait = deserialize_named(&raw, "provisionedConcurrency")?;
    wait.validate()?;
    Ok(wait)
}

/// `functionName`, `alias` and `targetVersion` of a deployment of one alias.
fn parse_one_target(raw: &mut RawRequest) -> Result<TrainTarget, FieldError> {
    let function_name = required("functionName", raw.function_name.take())?;
    validate_function_name("functionName", &function_name)?;
    let alias = required("alias", raw.alias.take())?;
    validate_alias("alias", &alias)?;
    let target = parse_target(
        "targetVersion",
        &required("targetVersion", raw.target_version.take())?,
    )?;
    Ok(TrainTarget {
        function_name,
        alias,
        target,
    })
}

/// `targets` of a release train: 1 to [`MAX_TRAIN_TARGETS`] distinct aliases, each validated
/// as the top-level fields of a deployment of one alias are, named `targets[i].…`.
fn parse_train(raw: &mut RawRequest, targets: &[Value]) -> Result<Vec<TrainTarget>, FieldError> {
    for (field, given) in [
        ("functionName", raw.function_name.is_some()),
        ("alias", raw.alias.is_some()),
        ("targetVersion", raw.target_version.is_some()),
    ] {
        if given {
            return Err(FieldError::new(
                field,
                "cannot be given with targets: a release train names each alias in targets",
            ));
        }
    }
    if targets.is_empty() || targets.len() > MAX_TRAIN_TARGETS {
        return Err(FieldError::new(
            "targets",
            format!(
                "has {} entries; a release train moves 1 to {MAX_TRAIN_TARGETS} aliases",
                targets.len()
            ),
        ));
    }
    let mut parsed: Vec<TrainTarget> = Vec::with_capacity(targets.len());
    for (i, value) in targets.iter().enumerate() {
        let at = format!("targets[{i}]");
        let mut one: RawTarget = deserialize_named(value, &at)?;
        let field = |name: &str| format!("{at}.{name}");
        let function_name = required(&field("functionName"), one.function_name.take())?;
        validate_function_name(&field("functionName"), &function_name)?;
        let alias = required(&field("alias"), one.alias.take())?;
        validate_alias(&field("alias"), &alias)?;
        let version = required(&field("targetVersion"), one.target_version.take())?;
        let target = parse_target(&field("targetVersion"), &version)?;
        let short = function_short_name(&function_name);
        if let Some(j) = parsed
            .iter()
            .position(|t| same_function(&t.function_name, &function_name, None) && t.alias == alias)
        {
            return Err(FieldError::new(
                field("alias"),
                format!("alias {alias} of {short} is already targets[{j}]; each alias moves once"),
            ));
        }
        parsed.push(TrainTarget {
            function_name,
            alias,
            target,
        });
    }
    Ok(parsed)
}

fn parse_target(field: &str, value: &Value) -> Result<TargetVersion, FieldError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(FieldError::new(
                field,
                format!("must be a version number, \"latest\" or \"publish\" (got {other})"),
            ));
        }
    };
    match text.as_str() {
        "latest" => Ok(TargetVersion::Latest),
        "publish" => Ok(TargetVersion::Publish),
        "$LATEST" => Err(FieldError::new(
            field,
            "$LATEST cannot receive weighted traffic; name a published version, \"latest\" or \"publish\"",
        )),
        t if t.len() > 1 && t.starts_with('0') && t.bytes().all(|b| b.is_ascii_digit()) => {
            Err(FieldError::new(
                field,
                format!(
                    "{t:?} has a leading zero; a version is written without one (\"{}\")",
                    t.trim_start_matches('0')
                ),
            ))
        }
        t if !t.is_empty() && t.len() <= 10 && t.bytes().all(|b| b.is_ascii_digit()) => {
            match t.parse::<u64>() {
                Ok(0) | Err(_) => Err(FieldError::new(
                    field,
                    format!("{t:?} is not a published version number"),
                )),
                Ok(v) => Ok(TargetVersion::Version(v)),
            }
        }
        t => Err(FieldError::new(
            field,
            format!("{t:?} is not a version number, \"latest\" or \"publish\""),
        )),
    }
}

fn parse_approval(raw: &RawRequest, steps: Vec<usize>) -> Result<Approval, FieldError> {
    let timeout_seconds = raw
        .approval_timeout_seconds
        .unwrap_or(DEFAULT_APPROVAL_TIMEOUT_SECONDS);
    if !(1..=MAX_APPROVAL_TIMEOUT_SECONDS).contains(&timeout_seconds) {
        return Err(FieldError::new(
            "approvalTimeoutSeconds",
            format!(
                "must be between 1 and {MAX_APPROVAL_TIMEOUT_SECONDS} (one day) (got {timeout_seconds})"
            ),
        ));
    }
    let default = match raw.approval_default.as_ref() {
        None => ApprovalDefault::Rollback,
        Some(Value::String(s)) if s == "approve" => ApprovalDefault::Approve,
        Some(Value::String(s)) if s == "rollback" => ApprovalDefault::Rollback,
        Some(other) => {
            return Err(FieldError::new(
                "approvalDefault",
                format!("must be \"approve\" or \"rollback\" (got {other})"),
            ));
        }
    };
    Ok(Approval {
        steps,
        before_promote: raw.approval_before_promote,
        timeout_seconds,
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::field::MAX_MESSAGE_CHARS;
    use crate::domain::text::{MAX_SHOWN_DIGITS, cut_chars, shorten_numbers};
    use serde_json::json;

    fn minimal() -> Value {
        json!({"functionName":"orders-api","alias":"live","targetVersion":"42","strategy":"Canary10Percent5Minutes"})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = minimal();
        v[key] = value;
        v
    }

    fn field_of(input: Value) -> String {
        DeploymentRequest::from_json(&input).unwrap_err().field
    }

    #[test]
    fn minimal_and_full_inputs() {
        let r = DeploymentRequest::from_json(&minimal()).unwrap();
        assert_eq!(r.target, TargetVersion::Version(42));
        assert_eq!(r.check_interval_seconds, DEFAULT_CHECK_INTERVAL_SECONDS);
        let full = json!({
            "functionName": "arn:aws:lambda:eu-west-1:123456789012:function:orders-api",
            "alias": "live", "targetVersion": "latest",
            "strategy": {"steps":[{"weight":1,"bakeSeconds":60},{"weight":50,"bakeSeconds":600}]},
            "alarms": ["orders-api-errors"], "checkIntervalSeconds": 15,
            "hooks": {"preTraffic":"orders-api-pre","postTraffic":"orders-api-post"},
            "postPromotionBakeSeconds": 300
        });
        let r = DeploymentRequest::from_json(&full).unwrap();
        assert_eq!(r.target, TargetVersion::Latest);
        assert_eq!(r.plan.steps().len(), 3);
        assert_eq!(r.hooks.pre_traffic.as_deref(), Some("orders-api-pre"));
    }

    #[test]
    fn every_error_names_its_field() {
        let cases: Vec<(Value, &str)> = vec![
            (with("color", json!("blue")), "color"),
            (with("alias", json!(7)), "alias"),
            (with("alias", json!("123")), "alias"),
            (with("alias", json!("$LATEST")), "alias"),
            (with("functionName", json!("has space")), "functionName"),
            (
                with(
                    "functionName",
                    json!("arn:aws:lambda:eu-west-1:123456789012:function:f:live"),
                ),
                "functionName",
            ),
            (with("targetVersion", json!("$LATEST")), "targetVersion"),
            (with("targetVersion", json!("v2")), "targetVersion"),
            (with("targetVersion", json!(true)), "targetVersion"),
            (with("targetVersion", json!("0")), "targetVersion"),
            (with("strategy", json!("Canary10Percent")), "strategy"),
            (with("strategy", json!(5)), "strategy"),
            (
                with(
                    "strategy",
                    json!({"steps":[{"weight":10,"bakeSeconds":60},{"weight":5,"bakeSeconds":60}]}),
                ),
                "strategy.steps[1].weight",
            ),
            (
                with(
                    "strategy",
                    json!({"steps":[{"weight":-1,"bakeSeconds":60}]}),
                ),
                "strategy.steps[0].weight",
            ),
            (
                with(
                    "strategy",
                    json!({"steps":[{"weight":101,"bakeSeconds":60}]}),
                ),
                "strategy.steps[0].weight",
            ),
            (
                with("strategy", json!({"steps":[{"weight":10,"bakeSeconds":0}]})),
                "strategy.steps[0].bakeSeconds",
            ),
            (
                with(
                    "strategy",
                    json!({"steps":[{"weight":10,"bakeSeconds":-5}]}),
                ),
                "strategy.steps[0].bakeSeconds",
            ),
            (
                with("strategy", json!({"steps":[{"weight":10}]})),
                "strategy.steps[0].bakeSeconds",
            ),
            (
                with(
                    "strategy",
                    json!({"steps":[{"weight":10,"bakeSeconds":60,"extra":1}]}),
                ),
                "strategy.steps[0].extra",
            ),
            (with("strategy", json!({"stepz":[]})), "strategy.stepz"),
            (with("strategy", json!({"steps":[]})), "strategy.steps"),
            (with("alarms", json!("one")), "alarms"),
            (with("alarms", json!(["a", "a"])), "alarms[1]"),
            (with("alarms", json!([""])), "alarms[0]"),
            (
                with(
                    "alarms",
                    json!((0..101).map(|i| format!("a{i}")).collect::<Vec<_>>()),
                ),
                "alarms",
            ),
            (
                with("checkIntervalSeconds", json!(1)),
                "checkIntervalSeconds",
            ),
            (
                with("checkIntervalSeconds", json!("15")),
                "checkIntervalSeconds",
            ),
            (with("hooks", json!({"preTrafic":"x"})), "hooks.preTrafic"),
            (with("hooks", json!({"preTraffic":5})), "hooks.preTraffic"),
            (
                with("hooks", json!({"postTraffic":"orders-api"})),
                "hooks.postTraffic",
            ),
            (
                with("postPromotionBakeSeconds", json!(MAX_BAKE_SECONDS + 1)),
                "postPromotionBakeSeconds",
            ),
            (
                json!({"alias":"live","targetVersion":"1","strategy":"AllAtOnce"}),
                "functionName",
            ),
            (
                json!({"functionName":"f","alias":"live","strategy":"AllAtOnce"}),
                "targetVersion",
            ),
            (json!([1, 2]), "(input)"),
            (with("alarms", json!(["x".repeat(40_000)])), "(input)"),
        ];
        for (input, field) in cases {
            let err = DeploymentRequest::from_json(&input).unwrap_err();
            assert_eq!(err.field, field, "input {input} gave {err}");
            assert!(!err.message.is_empty());
        }
    }

    /// One null rule for every field, required or optional, at any depth.
    #[test]
    fn null_is_refused_for_every_field() {
        let mut full = json!({"functionName":"orders","alias":"live","targetVersion":"2",
            "strategy":{"steps":[{"weight":10,"bakeSeconds":60,"approval":true}]},
            "alarms":["a"],"checkIntervalSeconds":15,
            "hooks":{"preTraffic":"orders-pre","postTraffic":"orders-post"},
            "postPromotionBakeSeconds":60,"approvalBeforePromote":true,
            "approvalTimeoutSeconds":60,"approvalDefault":"approve"});
        assert!(DeploymentRequest::from_json(&full).is_ok());
        let paths = [
            "/functionName",
            "/alias",
            "/targetVersion",
            "/strategy",
            "/alarms",
            "/alarms/0",
            "/checkIntervalSeconds",
            "/hooks",
            "/hooks/preTraffic",
            "/hooks/postTraffic",
            "/postPromotionBakeSeconds",
            "/approvalBeforePromote",
            "/approvalTimeoutSeconds",
            "/approvalDefault",
            "/strategy/steps",
            "/strategy/steps/0/weight",
            "/strategy/steps/0/approval",
        ];
        for pointer in paths {
            let saved = full.pointer(pointer).unwrap().clone();
            *full.pointer_mut(pointer).unwrap() = Value::Null;
            let e = DeploymentRequest::from_json(&full).unwrap_err();
            let field = pointer[1..]
                .replace("/0/", "[0].")
                .replace("/0", "[0]")
                .replace('/', ".");
            assert_eq!(e.field, field, "{pointer}: {e}");
            assert!(e.message.contains("null is not accepted"), "{e}");
            *full.pointer_mut(pointer).unwrap() = saved;
        }
    }

    #[test]
    fn versions_are_canonical_and_weights_have_two_decimals() {
        for bad in ["02", "007", "00"] {
            let e = DeploymentRequest::from_json(&with("targetVersion", json!(bad))).unwrap_err();
            assert_eq!(e.field, "targetVersion", "{bad}");
            assert!(e.message.contains("leading zero"), "{e}");
        }
        assert_eq!(field_of(with("targetVersion", json!(2.0))), "targetVersion");
        let steps = |w: Value| with("strategy", json!({"steps":[{"weight":w,"bakeSeconds":60}]}));
        for bad in [
            json!(10.000_000_000_1),
            json!(10.001),
            json!(0.000_000_1),
            json!(33.333),
        ] {
            let e = DeploymentRequest::from_json(&steps(bad.clone())).unwrap_err();
            assert_eq!(e.field, "strategy.steps[0].weight", "{bad}");
            assert!(e.message.contains("more than two decimals"), "{bad}: {e}");
        }
        for good in [
            json!(10),
            json!(0.01),
            json!(12.5),
            json!(99.99),
            json!(0.29),
        ] {
            assert!(
                DeploymentRequest::from_json(&steps(good.clone())).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn long_numbers_and_long_values_are_shortened_in_messages() {
        let cases = [
            with(
                "strategy",
                json!({"steps":[{"weight":1e308,"bakeSeconds":60}]}),
            ),
            with("checkIntervalSeconds", json!(1e308)),
            with("postPromotionBakeSeconds", json!(-1e300)),
            with("targetVersion", json!(1e308)),
            with("functionName", json!("x".repeat(5000))),
        ];
        for input in cases {
            let e = DeploymentRequest::from_json(&input).unwrap_err();
            assert!(e.message.chars().count() <= MAX_MESSAGE_CHARS, "{e}");
            assert!(
                !e.message.contains(&"0".repeat(MAX_SHOWN_DIGITS + 1)),
                "{}",
                e.message
            );
        }
        assert_eq!(
            shorten_numbers(&format!("got {}.0", "1".repeat(40))),
            "got 111111111111…(40 digits).0"
        );
        assert_eq!(cut_chars("ééé", 2), "é…");
        assert_eq!(cut_chars("ééé", 3), "ééé");
    }

    #[test]
    fn a_document_read_from_text_reports_repeats_and_depth_first() {
        let text = r#"{"functionName":"ghost","functionName":"orders","alias":"live",
            "targetVersion":"2","strategy":"AllAtOnce"}"#;
        let e = DeploymentRequest::from_document(&InputDocument::parse(text).unwrap()).unwrap_err();
        assert_eq!(e.field, "functionName");
        assert!(e.message.contains("given twice"), "{e}");
        let deep = format!(
            r#"{{"functionName":"orders","alias":"live","targetVersion":"2","strategy":"AllAtOnce","alarms":{}"a"{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let e =
            DeploymentRequest::from_document(&InputDocument::parse(&deep).unwrap()).unwrap_err();
        assert_eq!(e.field, "alarms");
        assert!(e.message.contains("nested"), "{e}");
    }

    #[test]
    fn strict_function_arns() {
        for bad in [
            "arn:aws:lambda:*:123456789012:function:orders",
            "arn:aws:lambda:eu west 1:123456789012:function:orders",
            "arn:awsXYZ:lambda:eu-west-1:123456789012:function:orders",
            "arn:aws:lambda:eu-west-1:1234567890123:function:orders",
        ] {
            assert_eq!(
                field_of(with("functionName", json!(bad))),
                "functionName",
                "{bad}"
            );
            let hooks = with("hooks", json!({"preTraffic": bad}));
            assert_eq!(field_of(hooks), "hooks.preTraffic", "{bad}");
        }
    }

    #[test]
    fn numeric_target_is_accepted() {
        assert_eq!(
            DeploymentRequest::from_json(&with("targetVersion", json!(7)))
                .unwrap()
                .target,
            TargetVersion::Version(7)
        );
        assert_eq!(field_of(with("targetVersion", json!(-7))), "targetVersion");
    }

    #[test]
    fn approval_gates_are_validated_by_field() {
        let base = json!({"functionName":"orders","alias":"live","targetVersion":"2",
            "strategy":{"steps":[{"weight":10,"bakeSeconds":60},{"weight":50,"bakeSeconds":60,"approval":true}]}});
        let r = DeploymentRequest::from_json(&base).unwrap();
        assert_eq!(r.approval.steps, vec![1]);
        assert!(!r.approval.before_promote);
        assert_eq!(r.approval.timeout_seconds, 3600);
        assert_eq!(r.approval.default, ApprovalDefault::Rollback);
        for (field, value, named) in [
            ("approvalTimeoutSeconds", json!(0), "approvalTimeoutSeconds"),
            (
                "approvalTimeoutSeconds",
                json!(86_401),
                "approvalTimeoutSeconds",
            ),
            ("approvalDefault", json!("maybe"), "approvalDefault"),
            (
                "approvalBeforePromote",
                json!("yes"),
                "approvalBeforePromote",
            ),
            ("approvalx", json!(true), "approvalx"),
        ] {
            let mut input = base.clone();
            input[field] = value;
            let e = DeploymentRequest::from_json(&input).unwrap_err();
            assert!(e.to_string().contains(named), "{field}: {e}");
        }
        let mut input = base.clone();
        input["strategy"]["steps"][0]["approve"] = json!(true);
        let e = DeploymentRequest::from_json(&input).unwrap_err();
        assert!(e.to_string().contains("approve"), "{e}");
        let mut input = base;
        input["approvalDefault"] = json!("approve");
        input["approvalTimeoutSeconds"] = json!(86_400);
        input["approvalBeforePromote"] = json!(true);
        let r = DeploymentRequest::from_json(&input).unwrap();
        assert_eq!(
            (
                r.approval.default,
                r.approval.timeout_seconds,
                r.approval.before_promote
            ),
            (ApprovalDefault::Approve, 86_400, true)
        );
    }
}
