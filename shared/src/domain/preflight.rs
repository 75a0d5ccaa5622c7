//! Start Deployment's pre-flight judgment (docs/architecture.md, safety invariant 1): from the
//! request and what was read from the account, deploy, publish first, or reject — before
//! anything is changed.

use super::alarm::AlarmReport;
use super::alias::{AliasState, VersionInfo};
use super::failure::ErrorKind;
use super::field::FieldError;
use super::managed::{Home, ManagedSet, same_function};
use super::request::DeploymentRequest;

/// The version the request names, as resolved from the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedTarget {
    /// A version number (as given, or the highest published one for `latest`).
    Version(String),
    /// `latest`, but the function has no published version.
    NothingPublished,
    /// `publish`: known once `$LATEST` has been published.
    Publish,
}

/// Everything Start Deployment reads before it judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The alias, with the RevisionId every later write is conditional on.
    pub alias: AliasState,
    /// The version to deploy.
    pub target: ResolvedTarget,
    /// The settings of the version the alias is on; `None` when it is not published.
    pub original: Option<VersionInfo>,
    /// The settings of the target version; `None` when it does not exist or is not known yet.
    pub wanted: Option<VersionInfo>,
    /// The watched alarms as one read found them.
    pub alarms: AlarmReport,
    /// `(phase, function)` of every hook whose function does not exist.
    pub missing_hooks: Vec<(&'static str, String)>,
}

/// Why Start Deployment refuses to start; nothing has been touched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A field of the input is not acceptable (or the alias is in a state it cannot start from).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Something the input names does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The alias already routes traffic to a second version.
    #[error("{0}")]
    InProgress(String),
    /// A watched alarm is already in ALARM.
    #[error("{0}")]
    AlarmFiring(String),
}

impl Rejection {
    /// The stable error kind the execution fails with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Rejection::Invalid(_) => ErrorKind::InvalidInput,
            Rejection::NotFound(_) => ErrorKind::NotFound,
            Rejection::InProgress(_) => ErrorKind::DeploymentInProgress,
            Rejection::AlarmFiring(_) => ErrorKind::AlarmTriggered,
        }
    }
}

/// What the pre-flight checks decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed: deploy this version (already current when the alias is on it).
    Deploy(String),
    /// Every check passed: publish `$LATEST`, then judge its version with [`judge_published`].
    Publish,
}

/// Refuses a function or hook outside the stack's managed set, before anything is read (IAM
/// would refuse the reads anyway; this says why).
pub fn check_managed(request: &DeploymentRequest, managed: &ManagedSet) -> Result<(), Rejection> {
    let candidates = std::iter::once(("functionName", request.function_name.as_str()))
        .chain(request.hooks.named());
    for (field, name) in candidates {
        if !managed.contains(name) {
            return Err(FieldError::new(
                field,
                format!(
                    "function {name} is outside the set of functions this stack manages \
                     (its ManagedFunctions parameter); redeploy the stack with it added"
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// Refuses a function or hook ARN of another Region or partition than the stack's
/// ([`Home::unreachable`]): the stack's Lambda client could neither move that alias nor invoke
/// that hook, so the deployment would fail at its first call there, or its hook at the bake.
/// One stack serves one Region; a wave plan moves the same alias in many (docs/waves.md).
pub fn check_reachable(request: &DeploymentRequest, home: Option<&Home>) -> Result<(), Rejection> {
    let Some(home) = home else { return Ok(()) };
    let targets = request.targets();
    let functions = (targets.iter().enumerate())
        .map(|(k, t)| (request.function_field(k), t.function_name.as_str()));
    let hooks = (request.hooks.named()).map(|(field, hook)| (field.to_owned(), hook));
    for (field, function) in functions.chain(hooks) {
        if let Some(there) = home.unreachable(function) {
            return Err(FieldError::new(
                field,
                format!(
                    "{function} is in {there}, but this stack runs in {}: Lambda answers for a \
                     function only at its own Region's endpoint; deploy the stack in {there} \
                     too, or move both Regions with a wave plan (docs/waves.md)",
                    home.region
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// Where the stack runs (`home`) is known only here: a bare name against an ARN of the same
/// function (`orders` and `arn:…:111111111111:function:orders` run from that account) is one
/// function, so a hook cannot be it and a release train cannot move its alias twice. A name in
/// another account or region is another function.
pub fn check_distinct(request: &DeploymentRequest, home: Option<&Home>) -> Result<(), Rejection> {
    let targets = request.targets();
    for (i, target) in targets.iter().enumerate() {
        for (field, hook) in request.hooks.named() {
            if same_function(hook, &target.function_name, home) {
                return Err(
                    FieldError::new(field, "a hook cannot be the function being deployed").into(),
                );
            }
        }
        if let Some(j) = targets[..i].iter().position(|t| {
            t.alias == target.alias && same_function(&t.function_name, &target.function_name, home)
        }) {
            return Err(FieldError::new(
                format!("targets[{i}].alias"),
                format!(
                    "alias {} of {} is already targets[{j}]; each alias moves once",
                    target.alias, target.function_name
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// The pre-flight judgment: the alias must be free and on a published version, the target must
/// exist, every alarm and hook named must exist (even when the alias is already on the target:
/// a typo in a nightly schedule's input surfaces on its first run, not on the first real
/// deployment), then every alarm must be quiet and both versions must be routable.
pub fn judge(request: &DeploymentRequest, facts: &Facts) -> Result<Verdict, Rejection> {
    check_alias(request, &facts.alias)?;
    let function = &request.function_name;
    let target = match &facts.target {
        ResolvedTarget::NothingPublished => {
            return Err(Rejection::NotFound(format!(
                "a published version of function {function}"
            )));
        }
        ResolvedTarget::Version(v) if *v == facts.alias.route.version => {
            // Nothing will move, so an alarm already in ALARM does not stop this no-op.
            check_named_things_exist(facts)?;
            return Ok(Verdict::Deploy(v.clone()));
        }
        ResolvedTarget::Version(v) => {
            check_not_a_downgrade(request, v, &facts.alias.route.version)?;
            Some(v)
        }
        ResolvedTarget::Publish => None,
    };
    let original = existing(
        facts.original.as_ref(),
        &facts.alias.route.version,
        function,
    )?;
    let wanted = match target {
        Some(v) => Some(existing(facts.wanted.as_ref(), v, function)?),
        None => None,
    };
    check_named_things_exist(facts)?;
    check_alarms(&facts.alarms)?;
    match wanted {
        Some(wanted) => Ok(Verdict::Deploy(routable(original, wanted)?)),
        None => Ok(Verdict::Publish),
    }
}

/// After a [`Verdict::Publish`]: the version Lambda published (the existing one when `$LATEST`
/// was unchanged, which may be the alias's own: already current) must be routable.
pub fn judge_published(
    request: &DeploymentRequest,
    facts: &Facts,
    published: &VersionInfo,
) -> Result<String, Rejection> {
    if published.version == facts.alias.route.version {
        return Ok(published.version.clone());
    }
    let original = existing(
        facts.original.as_ref(),
        &facts.alias.route.version,
        &request.function_name,
    )?;
    routable(original, published)
}

/// A target lower than the version the alias is on moves it backwards — e.g. a retried start
/// that resolved its target before someone shipped a hotfix by hand: refused unless the input
/// says `"allowDowngrade": true`.
fn check_not_a_downgrade(
    request: &DeploymentRequest,
    target: &str,
    current: &str,
) -> Result<(), Rejection> {
    let (Ok(target_number), Ok(current_number)) = (target.parse::<u64>(), current.parse::<u64>())
    else {
        return Ok(());
    };
    if target_number >= current_number || request.allow_downgrade {
        return Ok(());
    }
    Err(Rejection::Invalid(FieldError::new(
        "targetVersion",
        format!(
            "version {target} is older than version {current}, which alias {} of {} is on now: \
             deploying it would move the alias backwards; set \"allowDowngrade\": true if that \
             is what you want",
            request.alias, request.function_name
        ),
    )))
}

fn check_alias(request: &DeploymentRequest, alias: &AliasState) -> Result<(), Rejection> {
    if let Some(extra) = &alias.route.additional {
        return Err(Rejection::InProgress(format!(
            "alias {} of {} already routes {} to version {}: another deployment is in \
             progress, or one was left half-done; finish or roll it back first",
            request.alias, request.function_name, extra.weight, extra.version
        )));
    }
    if alias.route.version == "$LATEST" {
        return Err(FieldError::new(
            "alias",
            format!(
                "{} points at $LATEST; weighted routing needs the alias on a published version",
                request.alias
            ),
        )
        .into());
    }
    Ok(())
}

/// Every alarm and hook the request names exists.
fn check_named_things_exist(facts: &Facts) -> Result<(), Rejection> {
    if !facts.alarms.missing.is_empty() {
        return Err(Rejection::NotFound(format!(
            "alarm {}",
            facts.alarms.missing.join(", ")
        )));
    }
    if let Some((phase, hook)) = facts.missing_hooks.first() {
        return Err(Rejection::NotFound(format!("{phase} hook function {hook}")));
    }
    Ok(())
}

fn check_alarms(report: &AlarmReport) -> Result<(), Rejection> {
    if !report.in_alarm.is_empty() {
        return Err(Rejection::AlarmFiring(format!(
            "alarm {} is already in ALARM; not starting a deployment into it",
            report.in_alarm.join(", ")
        )));
    }
    Ok(())
}

fn existing<'a>(
    info: Option<&'a VersionInfo>,
    version: &str,
    function: &str,
) -> Result<&'a VersionInfo, Rejection> {
    info.ok_or_else(|| Rejection::NotFound(format!("version {version} of function {function}")))
}

/// Lambda only routes one alias between versions that share role and dead-letter config.
fn routable(original: &VersionInfo, wanted: &VersionInfo) -> Result<String, Rejection> {
    if !original.routable_with(wanted) {
        return Err(FieldError::new(
            "targetVersion",
            format!(
                "version {} differs from version {} in execution role or dead-letter config; \
                 Lambda only routes traffic between versions that share both",
                wanted.version, original.version
            ),
        )
        .into());
    }
    Ok(wanted.version.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AliasRoute, Weight};
    use serde_json::json;

    fn request(target: &str) -> DeploymentRequest {
        DeploymentRequest::from_json(&json!({"functionName":"orders","alias":"live",
            "targetVersion":target,"strategy":"AllAtOnce","alarms":["errors"],
            "hooks":{"preTraffic":"orders-pre"}}))
        .unwrap()
    }

    /// Issue 21, item 7: a hook in another account with the deployed function's short name,
    /// and one function name in two regions of a release train, are other functions; a bare
    /// name and the ARN of the same function where the stack runs are one.
    #[test]
    fn same_names_in_other_accounts_or_regions_are_other_functions() {
        let home = Home::from_function_arn(
            "arn:aws:lambda:us-east-1:111111111111:function:start-deployment",
        );
        let arn = |region: &str, account: &str| {
            format!("arn:aws:lambda:{region}:{account}:function:orders")
        };
        let hooked = |hook: &str| {
            DeploymentRequest::from_json(&json!({"functionName":"orders","alias":"live",
                "targetVersion":"2","strategy":"AllAtOnce","hooks":{"preTraffic":hook}}))
        };
        let other_account = hooked(&arn("us-east-1", "222222222222")).unwrap();
        assert_eq!(check_distinct(&other_account, home.as_ref()), Ok(()));
        let same = hooked(&arn("us-east-1", "111111111111")).unwrap();
        let refused = check_distinct(&same, home.as_ref()).unwrap_err();
        assert!(
            refused.to_string().starts_with("hooks.preTraffic: "),
            "{refused}"
        );
        assert_eq!(hooked("orders").unwrap_err().field, "hooks.preTraffic");
        let train = |second: &str| {
            DeploymentRequest::from_json(&json!({"strategy":"AllAtOnce","targets":[
                {"functionName":arn("us-east-1","111111111111"),"alias":"live","targetVersion":"2"},
                {"functionName":second,"alias":"live","targetVersion":"2"}]}))
        };
        let two_regions = train(&arn("eu-west-1", "111111111111")).unwrap();
        assert_eq!(check_distinct(&two_regions, home.as_ref()), Ok(()));
        let bare_at_home = train("orders").unwrap();
        let refused = check_distinct(&bare_at_home, home.as_ref()).unwrap_err();
        assert!(
            refused.to_string().starts_with("targets[1].alias: "),
            "{refused}"
        );
        assert_eq!(
            train(&arn("us-east-1", "111111111111")).unwrap_err().field,
            "targets[1].alias"
        );
        assert!(!same_function(
            "orders",
            &arn("us-east-1", "111111111111"),
            None
        ));
        assert!(same_function("orders", "orders", None));
    }

    /// A stack's Lambda client serves its own Region only: an ARN of another Region or
    /// partition is refused naming its field; another account of the same Region, a bare name
    /// and an unknown home pass.
    #[test]
    fn functions_and_hooks_of_another_region_are_refused_naming_the_field() {
        let home = Home::from_function_arn(
            "arn:aws:lambda:eu-west-1:111111111111:function:start-deployment",
        );
        let arn = |partition: &str, region: &str, account: &str, name: &str| {
            format!("arn:{partition}:lambda:{region}:{account}:function:{name}")
        };
        let field_of = |input: serde_json::Value| {
            let request = DeploymentRequest::from_json(&input).unwrap();
            match check_reachable(&request, home.as_ref()) {
                Ok(()) => None,
                Err(Rejection::Invalid(e)) => Some((e.field, e.message)),
                Err(other) => panic!("{other}"),
            }
        };
        let single = |function: &str, hook: &str| {
            json!({"functionName":function,"alias":"live","targetVersion":"2",
                "strategy":"AllAtOnce","hooks":{"postTraffic":hook}})
        };
        let (field, message) = field_of(single(
            &arn("aws", "us-west-2", "111111111111", "orders"),
            "orders-check",
        ))
        .unwrap();
        assert_eq!(field, "functionName");
        assert!(
            message.contains("is in us-west-2, but this stack runs in eu-west-1"),
            "{message}"
        );
        let (field, _) = field_of(single(
            "orders",
            &arn("aws", "us-east-1", "111111111111", "orders-check"),
        ))
        .unwrap();
        assert_eq!(field, "hooks.postTraffic");
        let (field, message) = field_of(single(
            &arn("aws-cn", "eu-west-1", "111111111111", "orders"),
            "orders-check",
        ))
        .unwrap();
        assert_eq!(field, "functionName");
        assert!(message.contains("is in aws-cn:eu-west-1"), "{message}");
        let train = json!({"strategy":"AllAtOnce","targets":[
            {"functionName":"orders","alias":"live","targetVersion":"2"},
            {"functionName":arn("aws","us-east-1","111111111111","orders"),"alias":"live",
                "targetVersion":"2"}]});
        assert_eq!(field_of(train).unwrap().0, "targets[1].functionName");
        let elsewhere_same_region = single(
            &arn("aws", "eu-west-1", "222222222222", "orders"),
            &arn("aws", "eu-west-1", "333333333333", "orders-check"),
        );
        assert_eq!(field_of(elsewhere_same_region), None);
        assert_eq!(field_of(single("orders", "orders-check")), None);
        let far = DeploymentRequest::from_json(&single(
            &arn("aws", "us-west-2", "111111111111", "orders"),
            "orders-check",
        ))
        .unwrap();
        assert_eq!(check_reachable(&far, None), Ok(()));
    }

    fn version(v: &str, role: &str) -> VersionInfo {
        VersionInfo {
            version: v.into(),
            role: role.into(),
            dead_letter_target: None,
        }
    }

    /// The alias on version 1, version 2 as the target, everything present and quiet.
    fn facts() -> Facts {
        Facts {
            alias: AliasState {
                route: AliasRoute::single("1"),
                revision_id: "r1".into(),
            },
            target: ResolvedTarget::Version("2".into()),
            original: Some(version("1", "role")),
            wanted: Some(version("2", "role")),
            alarms: AlarmReport::default(),
            missing_hooks: vec![],
        }
    }

    #[test]
    fn every_check_in_order() {
        type Change = fn(&mut Facts);
        let cases: Vec<(&str, Change, Result<Verdict, ErrorKind>)> = vec![
            ("all good", |_| {}, Ok(Verdict::Deploy("2".into()))),
            (
                "publish",
                |f| f.target = ResolvedTarget::Publish,
                Ok(Verdict::Publish),
            ),
            (
                "in progress",
                |f| {
                    f.alias.route = AliasRoute::split("1", "3", Weight::from_bp(100).unwrap());
                },
                Err(ErrorKind::DeploymentInProgress),
            ),
            (
                "alias on $LATEST",
                |f| f.alias.route = AliasRoute::single("$LATEST"),
                Err(ErrorKind::InvalidInput),
            ),
            (
                "nothing published",
                |f| f.target = ResolvedTarget::NothingPublished,
                Err(ErrorKind::NotFound),
            ),
            (
                "already current, even with an alarm firing",
                |f| {
                    f.target = ResolvedTarget::Version("1".into());
                    f.alarms.in_alarm = vec!["errors".into()];
                },
                Ok(Verdict::Deploy("1".into())),
            ),
            (
                "already current, but an alarm is missing",
                |f| {
                    f.target = ResolvedTarget::Version("1".into());
                    f.alarms.missing = vec!["errors".into()];
                },
                Err(ErrorKind::NotFound),
            ),
            (
                "already current, but a hook is missing",
                |f| {
                    f.target = ResolvedTarget::Version("1".into());
                    f.missing_hooks = vec![("pre-traffic", "orders-pre".into())];
                },
                Err(ErrorKind::NotFound),
            ),
            (
                "original unpublished",
                |f| f.original = None,
                Err(ErrorKind::NotFound),
            ),
            (
                "no such target",
                |f| f.wanted = None,
                Err(ErrorKind::NotFound),
            ),
            (
                "missing alarm",
                |f| f.alarms.missing = vec!["errors".into()],
                Err(ErrorKind::NotFound),
            ),
            (
                "alarm firing",
                |f| f.alarms.in_alarm = vec!["errors".into()],
                Err(ErrorKind::AlarmTriggered),
            ),
            (
                "missing hook",
                |f| f.missing_hooks = vec![("pre-traffic", "orders-pre".into())],
                Err(ErrorKind::NotFound),
            ),
            (
                "other role",
                |f| f.wanted = Some(version("2", "other")),
                Err(ErrorKind::InvalidInput),
            ),
        ];
        for (name, change, expected) in cases {
            let mut f = facts();
            change(&mut f);
            let got = judge(&request("2"), &f).map_err(|r| r.kind());
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn messages_name_what_is_wrong() {
        let mut f = facts();
        f.missing_hooks = vec![("pre-traffic", "orders-pre".into())];
        let e = judge(&request("2"), &f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pre-traffic hook function orders-pre does not exist"
        );
        let mut f = facts();
        f.wanted = Some(version("2", "other"));
        match judge(&request("2"), &f) {
            Err(Rejection::Invalid(e)) => assert_eq!(e.field, "targetVersion"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_published_version_is_judged_like_a_named_one() {
        let f = Facts {
            target: ResolvedTarget::Publish,
            wanted: None,
            ..facts()
        };
        let r = request("publish");
        assert_eq!(judge(&r, &f), Ok(Verdict::Publish));
        assert_eq!(
            judge_published(&r, &f, &version("1", "other")),
            Ok("1".into())
        );
        assert_eq!(
            judge_published(&r, &f, &version("3", "role")),
            Ok("3".into())
        );
        assert_eq!(
            judge_published(&r, &f, &version("3", "other")).map_err(|e| e.kind()),
            Err(ErrorKind::InvalidInput)
        );
    }

    #[test]
    fn only_managed_functions_and_hooks_pass() {
        let r = request("2");
        assert_eq!(
            check_managed(&r, &ManagedSet::parse("orders,orders-*")),
            Ok(())
        );
        let field = |managed: &str| match check_managed(&r, &ManagedSet::parse(managed)) {
            Err(Rejection::Invalid(e)) => e.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field("orders"), "hooks.preTraffic");
        assert_eq!(field("orders-*"), "functionName");
        // The message names the function and says why, without listing the set (it holds
        // other teams' functions and account ids).
        let set = "arn:aws:lambda:eu-west-1:123456789012:function:secret-*,orders";
        let message = check_managed(&r, &ManagedSet::parse(set))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("hooks.preTraffic: function orders-pre is outside"),
            "{message}"
        );
        assert!(
            !message.contains("123456789012") && !message.contains("secret"),
            "{message}"
        );
    }

    /// A target older than the alias's version (a hotfix by hand landed meanwhile) is refused
    /// naming targetVersion, unless the input allows the downgrade.
    #[test]
    fn a_downgrade_needs_allow_downgrade() {
        let mut f = facts();
        f.alias.route = AliasRoute::single("3");
        f.original = Some(version("3", "role"));
        let refused = judge(&request("2"), &f).unwrap_err();
        let Rejection::Invalid(field) = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(field.field, "targetVersion");
        assert!(
            field.message.contains("older than version 3"),
            "{}",
            field.message
        );
        assert!(
            field.message.contains("allowDowngrade"),
            "{}",
            field.message
        );
        let mut allowed = request("2");
        allowed.allow_downgrade = true;
        assert_eq!(judge(&allowed, &f), Ok(Verdict::Deploy("2".into())));
        // Numbers, not text: 10 is newer than 9.
        f.alias.route = AliasRoute::single("9");
        f.original = Some(version("9", "role"));
        f.wanted = Some(version("10", "role"));
        f.target = ResolvedTarget::Version("10".into());
        assert_eq!(judge(&request("10"), &f), Ok(Verdict::Deploy("10".into())));
    }
}
