//! Start Deployment: validates the execution input and runs every pre-flight check before
//! anything is changed (DESIGN.md invariant 1).

use serde::Deserialize;
use serde_json::Value;
use shifter::ShifterError;
use shifter::domain::{Deployment, DeploymentRequest, ManagedSet, TargetVersion};
use shifter::ports::{AlarmReader, AliasRouter, Clock, FunctionRegistry};
use tracing::info;

/// Infrastructure facts from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Functions this stack may deploy and invoke as hooks (`MANAGED_FUNCTIONS`).
    pub managed: ManagedSet,
}

impl Config {
    /// Reads `MANAGED_FUNCTIONS` (comma-separated names or ARNs, `*` wildcards; unset manages nothing).
    pub fn from_env() -> Config {
        Config {
            managed: ManagedSet::parse(&std::env::var("MANAGED_FUNCTIONS").unwrap_or_default()),
        }
    }
}

/// What the state machine passes in: the raw execution input and the execution's name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartEvent {
    /// The execution input, validated here.
    pub request: Value,
    /// Names the deployment.
    pub execution_name: String,
}

/// The ports Start Deployment reads through.
pub struct Ports<'a> {
    /// Aliases.
    pub router: &'a dyn AliasRouter,
    /// Functions and versions.
    pub registry: &'a dyn FunctionRegistry,
    /// Alarms.
    pub alarms: &'a dyn AlarmReader,
    /// Time.
    pub clock: &'a dyn Clock,
}

/// Validates the input and checks the account; returns the deployment document or the reason
/// it was rejected. Reads only: nothing is written here.
pub async fn start_deployment(
    ports: &Ports<'_>,
    config: &Config,
    event: StartEvent,
) -> Result<Deployment, ShifterError> {
    let request = DeploymentRequest::from_json(&event.request)?;
    check_managed(config, &request)?;

    let function = request.function_name.as_str();
    let alias = ports.router.get_alias(function, &request.alias).await?;
    if let Some(extra) = &alias.route.additional {
        return Err(ShifterError::DeploymentInProgress(format!(
            "alias {} of {function} already routes {} to version {}: another deployment is in \
             progress, or one was left half-done; finish or roll it back first",
            request.alias, extra.weight, extra.version
        )));
    }
    if alias.route.version == "$LATEST" {
        return Err(ShifterError::invalid(
            "alias",
            format!(
                "{} points at $LATEST; weighted routing needs the alias on a published version",
                request.alias
            ),
        ));
    }

    let target = match request.target {
        TargetVersion::Version(v) => Some(v.to_string()),
        TargetVersion::Latest => Some(
            ports
                .registry
                .latest_published_version(function)
                .await?
                .ok_or_else(|| {
                    ShifterError::not_found(format!("a published version of function {function}"))
                })?,
        ),
        // Publishing is the one change Start Deployment makes; it waits for every other check.
        TargetVersion::Publish => None,
    };
    let deployment_id = event.execution_name;
    if target.as_deref() == Some(alias.route.version.as_str()) {
        info!(function, alias = %request.alias, version = %alias.route.version, "alias already on target");
        let current = alias.route.version.clone();
        return Ok(Deployment::start(
            deployment_id,
            &request,
            &alias,
            current,
            ports.clock.now(),
        ));
    }

    let original = required_version(ports, function, &alias.route.version).await?;
    let wanted = match &target {
        Some(version) => Some(required_version(ports, function, version).await?),
        None => None,
    };
    check_alarms(ports, &request).await?;
    check_hooks(ports, &request).await?;

    let wanted = match wanted {
        Some(info) => info,
        None => {
            // Lambda returns the existing latest version when $LATEST is unchanged, so a re-run
            // publishes nothing new and, if the alias is already there, ends AlreadyCurrent.
            let published = ports.registry.publish_version(function).await?;
            info!(function, version = %published.version, "published $LATEST");
            if published.version == alias.route.version {
                return Ok(Deployment::start(
                    deployment_id,
                    &request,
                    &alias,
                    published.version,
                    ports.clock.now(),
                ));
            }
            published
        }
    };
    if original.role != wanted.role || original.dead_letter_target != wanted.dead_letter_target {
        return Err(ShifterError::invalid(
            "targetVersion",
            format!(
                "version {} differs from version {} in execution role or dead-letter config; \
                 Lambda only routes traffic between versions that share both",
                wanted.version, original.version
            ),
        ));
    }

    let deployment = Deployment::start(
        deployment_id,
        &request,
        &alias,
        wanted.version,
        ports.clock.now(),
    );
    info!(
        function,
        alias = %deployment.alias,
        from = %deployment.original_version,
        to = %deployment.target_version,
        steps = deployment.plan.len(),
        "deployment planned"
    );
    Ok(deployment)
}

async fn check_alarms(ports: &Ports<'_>, request: &DeploymentRequest) -> Result<(), ShifterError> {
    if request.alarms.is_empty() {
        return Ok(());
    }
    let states = ports.alarms.alarm_states(&request.alarms).await?;
    let report = shifter::ports::alarm_report(&request.alarms, &states);
    if !report.missing.is_empty() {
        return Err(ShifterError::not_found(format!(
            "alarm {}",
            report.missing.join(", ")
        )));
    }
    if !report.in_alarm.is_empty() {
        return Err(ShifterError::AlarmTriggered(format!(
            "alarm {} is already in ALARM; not starting a deployment into it",
            report.in_alarm.join(", ")
        )));
    }
    Ok(())
}

async fn check_hooks(ports: &Ports<'_>, request: &DeploymentRequest) -> Result<(), ShifterError> {
    for (phase, hook) in [
        ("pre-traffic", &request.hooks.pre_traffic),
        ("post-traffic", &request.hooks.post_traffic),
    ] {
        if let Some(hook) = hook
            && !ports.registry.function_exists(hook).await?
        {
            return Err(ShifterError::not_found(format!(
                "{phase} hook function {hook}"
            )));
        }
    }
    Ok(())
}

fn check_managed(config: &Config, request: &DeploymentRequest) -> Result<(), ShifterError> {
    let hooks = [
        ("hooks.preTraffic", &request.hooks.pre_traffic),
        ("hooks.postTraffic", &request.hooks.post_traffic),
    ];
    let candidates = std::iter::once(("functionName", Some(&request.function_name)))
        .chain(hooks.iter().map(|(f, h)| (*f, h.as_ref())));
    for (field, name) in candidates {
        if let Some(name) = name
            && !config.managed.contains(name)
        {
            return Err(ShifterError::invalid(
                field,
                format!(
                    "{name} is not managed by this stack (MANAGED_FUNCTIONS: {}); \
                     redeploy the stack with it added",
                    config.managed.describe()
                ),
            ));
        }
    }
    Ok(())
}

async fn required_version(
    ports: &Ports<'_>,
    function: &str,
    version: &str,
) -> Result<shifter::ports::VersionInfo, ShifterError> {
    ports
        .registry
        .version(function, version)
        .await?
        .ok_or_else(|| ShifterError::not_found(format!("version {version} of function {function}")))
}
