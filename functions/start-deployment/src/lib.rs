//! Start Deployment: validates the execution input and runs every pre-flight check before
//! anything is changed (invariant 1 of docs/architecture.md#safety-invariants).

use serde::Deserialize;
use shifter::ShifterError;
use shifter::domain::limits::check_provisioned_concurrency_budget;
use shifter::domain::preflight::{self, Facts, Rejection, ResolvedTarget, Verdict};
use shifter::domain::provisioned::{ConcurrencyConfig, ReadyWait, preflight_refusal};
use shifter::domain::{
    AlarmReport, Decision, Deployment, DeploymentRequest, ErrorKind, FieldError, Home,
    InputDocument, ManagedSet, Member, Members, TargetVersion,
};
use shifter::ports::{
    ActiveDeployment, AlarmReader, AliasRouter, Clock, ConcurrencyReader, DeploymentRegistry,
    ExecutionStatus, Executions, FunctionRegistry, Lock, alarm_report,
};
use tracing::info;

/// Infrastructure facts from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Functions this stack may deploy and invoke as hooks (`MANAGED_FUNCTIONS`).
    pub managed: ManagedSet,
}

impl Config {
    /// The same configuration for a Start Deployment invoked as `invoked_function_arn`: a bare
    /// name then means a function of this stack's own account and region.
    pub fn at(&self, invoked_function_arn: &str) -> Config {
        Config {
            managed: self
                .managed
                .clone()
                .at(Home::from_function_arn(invoked_function_arn)),
        }
    }
}

/// What the state machine passes in: the raw execution input and the execution's name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartEvent {
    /// The execution input, validated here; read strictly, so a repeated key or deep nesting
    /// is reported by field rather than resolved silently.
    pub request: InputDocument,
    /// Names the deployment.
    pub execution_name: String,
    /// The execution's ARN (`$$.Execution.Id`): recorded with the per-alias lock.
    pub execution_arn: String,
}

/// How long the registry keeps a deployment's entries past its longest possible run: DynamoDB
/// TTL is only the garbage collector of entries nobody released (a lock whose execution
/// ended is taken over at the next start, see [`lock`]).
pub const REGISTRY_GRACE_SECONDS: i64 = 3600;

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
    /// The registry of active deployments: the per-alias lock and the watched alarms.
    pub deployments: &'a dyn DeploymentRegistry,
    /// Executions, to tell a live lock holder from one whose execution ended.
    pub executions: &'a dyn Executions,
    /// The alias's provisioned-concurrency config.
    pub concurrency: &'a dyn ConcurrencyReader,
}

/// Validates the input, reads the account, judges (pure), and only then publishes if asked;
/// returns the deployment document or the reason it was rejected. Publishing `$LATEST` is the
/// one change it can make, and only once every other check has passed — for a release train,
/// every check of every alias.
pub async fn start_deployment(
    ports: &Ports<'_>,
    config: &Config,
    event: StartEvent,
) -> Result<Deployment, ShifterError> {
    let request = DeploymentRequest::from_document(&event.request)?;
    for idle in shifter::domain::idle_settings(&event.request.value, &request) {
        tracing::warn!(field = idle.field, "setting does nothing: {}", idle.message);
    }
    for entry in config.managed.ignored() {
        tracing::warn!(%entry, "MANAGED_FUNCTIONS entry is not a name or a valid function ARN; it matches nothing");
    }
    preflight::check_reachable(&request, config.managed.home())?;
    preflight::check_distinct(&request, config.managed.home())?;
    let judged = judge_each(ports, config, &request, request.listed).await?;
    let resolved = resolve(ports, judged).await?;
    let wait = ready_wait(&request, &resolved)?;
    let deployment = assemble(event.execution_name, resolved, wait, ports.clock.now())?;
    if deployment.decision != Decision::AlreadyCurrent {
        lock_all(ports, &deployment, &event.execution_arn).await?;
        for target in request.targets() {
            if let TargetVersion::Version(v) = target.target {
                // Deployed explicitly: "latest" may pick this version again from now on.
                let version = v.to_string();
                ports
                    .deployments
                    .clear_rolled_back(&target.function_name, &target.alias, &version)
                    .await?;
            }
        }
    }
    info!(
        function = %deployment.lead().function_name,
        alias = %deployment.lead().alias,
        from = %deployment.lead().original_version,
        to = %deployment.lead().target_version,
        aliases = deployment.members.len(),
        steps = deployment.progress.plan.len(),
        decision = ?deployment.decision,
        "deployment planned"
    );
    Ok(deployment)
}

/// A release train's rejection names the entry: `targets[2].targetVersion`, not
/// `targetVersion`.
fn in_train(train: bool, index: usize, rejection: Rejection) -> Rejection {
    match rejection {
        Rejection::Invalid(e)
            if train && matches!(e.field.as_str(), "functionName" | "alias" | "targetVersion") =>
        {
            FieldError::new(format!("targets[{index}].{}", e.field), e.message).into()
        }
        other => other,
    }
}

/// Pre-flight of every alias the request names (reads and judgment only; for a release train,
/// a rejection names `targets[i]`), with its verdict and provisioned concurrency.
async fn judge_each(
    ports: &Ports<'_>,
    config: &Config,
    request: &DeploymentRequest,
    train: bool,
) -> Result<Vec<(DeploymentRequest, Facts, Verdict, Option<ConcurrencyConfig>)>, ShifterError> {
    let mut judged = Vec::new();
    for (index, target) in request.targets().iter().enumerate() {
        let one = request.for_target(target);
        let named = |rejection| in_train(train, index, rejection);
        preflight::check_managed(&one, &config.managed).map_err(named)?;
        let facts = read_facts(ports, &one).await?;
        let concurrency = ports
            .concurrency
            .provisioned_concurrency(&one.function_name, &one.alias)
            .await?;
        let verdict = preflight::judge(&one, &facts).map_err(named)?;
        if let (TargetVersion::Latest, Verdict::Deploy(version)) = (&one.target, &verdict)
            && *version != facts.alias.route.version
        {
            skip_rolled_back(ports, &one, version).await?;
        }
        judged.push((one, facts, verdict, concurrency));
    }
    Ok(judged)
}

/// Once every alias has passed: the versions to deploy, publishing where asked (each alias's
/// provisioned concurrency judged first), and each moving alias's provisioned concurrency judged.
async fn resolve(
    ports: &Ports<'_>,
    judged: Vec<(DeploymentRequest, Facts, Verdict, Option<ConcurrencyConfig>)>,
) -> Result<Vec<Judged>, ShifterError> {
    for (one, _, verdict, concurrency) in &judged {
        if *verdict == Verdict::Publish {
            judge_concurrency(one, concurrency.as_ref())?;
        }
    }
    let mut resolved = Vec::new();
    for (one, facts, verdict, concurrency) in judged {
        let version = match verdict {
            Verdict::Deploy(version) => version,
            Verdict::Publish => publish(ports, &one, &facts).await?,
        };
        if version != facts.alias.route.version {
            judge_concurrency(&one, concurrency.as_ref())?;
        }
        resolved.push(Judged {
            request: one,
            facts,
            version,
            concurrency,
        });
    }
    Ok(resolved)
}

/// The wait for READY the deployment runs with: when a moving alias has provisioned
/// concurrency, the input's with its poll resolved within the history budget (an input that
/// cannot fit was already refused, naming the field, by [`judge_concurrency`]).
fn ready_wait(request: &DeploymentRequest, resolved: &[Judged]) -> Result<ReadyWait, ShifterError> {
    let waits = resolved
        .iter()
        .any(|j| j.concurrency.is_some() && j.version != j.facts.alias.route.version);
    if waits {
        return Ok(check_provisioned_concurrency_budget(request)?);
    }
    Ok(request.provisioned_concurrency)
}

/// One alias that passed pre-flight: its request, what was read, the version it moves to and
/// its provisioned concurrency.
struct Judged {
    request: DeploymentRequest,
    facts: Facts,
    version: String,
    concurrency: Option<ConcurrencyConfig>,
}

/// The deployment document of the judged aliases: the first one that moves leads, the other
/// moving ones ride in its train, and an alias already on its target is left out of the train
/// (all of them on their targets: `AlreadyCurrent`, nothing touched).
fn assemble(
    deployment_id: String,
    resolved: Vec<Judged>,
    wait: ReadyWait,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Deployment, ShifterError> {
    let (moving, current): (Vec<_>, Vec<_>) = resolved
        .into_iter()
        .partition(|j| j.version != j.facts.alias.route.version);
    for j in &current {
        let (one, version) = (&j.request, &j.version);
        info!(function = %one.function_name, alias = %one.alias, %version, "already on its target; left out of the train");
    }
    let mut moving = moving.into_iter();
    let Some(lead) = moving.next().or_else(|| current.into_iter().next()) else {
        let message = "names no alias to deploy".to_owned();
        return Err(ShifterError::InvalidInput {
            field: "targets".to_owned(),
            message,
        });
    };
    let mut concurrency = vec![lead.concurrency];
    let mut others = Vec::new();
    for j in moving {
        let (function, alias) = (&j.request.function_name, &j.request.alias);
        others.push(Member::new(function, alias, &j.facts.alias, j.version));
        concurrency.push(j.concurrency);
    }
    let lead_member = Member::new(
        &lead.request.function_name,
        &lead.request.alias,
        &lead.facts.alias,
        lead.version,
    );
    let members = Members::new(lead_member, others);
    Ok(
        Deployment::start_with(deployment_id, &lead.request, members, now)
            .with_provisioned_concurrency(&concurrency, wait),
    )
}

/// Everything the judgment needs, read in one pass (reads only). Every read is made even when
/// an earlier one already settles the outcome (an alias already on the target, or mid-way
/// through another deployment): one judgment over all the facts, for a few more cheap reads.
async fn read_facts(ports: &Ports<'_>, request: &DeploymentRequest) -> Result<Facts, ShifterError> {
    let function = request.function_name.as_str();
    let alias = ports.router.get_alias(function, &request.alias).await?;
    let target = match request.target {
        TargetVersion::Version(v) => ResolvedTarget::Version(v.to_string()),
        TargetVersion::Latest => match ports.registry.latest_published_version(function).await? {
            Some(v) => ResolvedTarget::Version(v),
            None => ResolvedTarget::NothingPublished,
        },
        TargetVersion::Publish => ResolvedTarget::Publish,
    };
    let original = ports
        .registry
        .version(function, &alias.route.version)
        .await?;
    let wanted = match &target {
        ResolvedTarget::Version(v) => ports.registry.version(function, v).await?,
        ResolvedTarget::NothingPublished | ResolvedTarget::Publish => None,
    };
    let alarms = if request.alarms.is_empty() {
        // An empty name list would make DescribeAlarms describe every alarm in the account.
        AlarmReport::default()
    } else {
        let states = ports.alarms.alarm_states(&request.alarms).await?;
        alarm_report(&request.alarms, &states)
    };
    let mut missing_hooks = Vec::new();
    for (phase, hook) in [
        ("pre-traffic", &request.hooks.pre_traffic),
        ("post-traffic", &request.hooks.post_traffic),
    ] {
        if let Some(hook) = hook
            && !ports.registry.function_exists(hook).await?
        {
            missing_hooks.push((phase, hook.clone()));
        }
    }
    Ok(Facts {
        alias,
        target,
        original,
        wanted,
        alarms,
        missing_hooks,
    })
}

/// With provisioned concurrency on the alias: refuses a FAILED config
/// (`ProvisionedConcurrencyFailed`) and a request whose waits for READY would not fit the
/// history budget (`InvalidInput` naming the field to change: `provisionedConcurrency.pollSeconds`
/// or `.readyTimeoutSeconds`, `checkIntervalSeconds` or `strategy`).
fn judge_concurrency(
    request: &DeploymentRequest,
    config: Option<&ConcurrencyConfig>,
) -> Result<(), ShifterError> {
    let Some(config) = config else {
        return Ok(());
    };
    if let Some(why) = preflight_refusal(&request.function_name, &request.alias, config) {
        return Err(ShifterError::ProvisionedConcurrencyFailed(why));
    }
    check_provisioned_concurrency_budget(request)?;
    info!(requested = config.requested, status = ?config.status, "alias has provisioned concurrency");
    Ok(())
}

/// Publishes `$LATEST` (Lambda hands back the existing version when nothing changed, so a
/// re-run publishes nothing new) and judges the version it gives.
async fn publish(
    ports: &Ports<'_>,
    request: &DeploymentRequest,
    facts: &Facts,
) -> Result<String, ShifterError> {
    let published = ports
        .registry
        .publish_version(&request.function_name)
        .await?;
    info!(function = %request.function_name, version = %published.version, "published $LATEST");
    Ok(preflight::judge_published(request, facts, &published)?)
}

/// `targetVersion: "latest"` never deploys a version that was rolled back on this alias since
/// it was last deployed explicitly: the nightly schedule that would re-deploy last night's bad
/// version every night ends `VersionRolledBack` instead, touching nothing.
async fn skip_rolled_back(
    ports: &Ports<'_>,
    request: &DeploymentRequest,
    version: &str,
) -> Result<(), ShifterError> {
    let (function, alias) = (&request.function_name, &request.alias);
    let Some(record) = ports
        .deployments
        .rolled_back(function, alias, version)
        .await?
    else {
        return Ok(());
    };
    let when = chrono::DateTime::from_timestamp(record.at, 0).unwrap_or_default();
    Err(ShifterError::VersionRolledBack(format!(
        "version {version} of {function} was rolled back on alias {alias} by execution {} \
         ({}, {}); targetVersion \"latest\" skips it until it is deployed explicitly \
         (targetVersion \"{version}\")",
        record.execution_arn,
        record.error,
        when.format("%Y-%m-%d %H:%M UTC")
    )))
}

/// Takes every alias's lock ([`lock`]); when one is held, releases the ones taken and refuses.
/// Only the first alias's entry watches the alarms: an alarm event finds the deployment once.
async fn lock_all(
    ports: &Ports<'_>,
    deployment: &Deployment,
    execution_arn: &str,
) -> Result<(), ShifterError> {
    let now = ports.clock.now();
    let longest = i64::try_from(deployment.longest_run_seconds()).unwrap_or(i64::MAX / 2);
    let mut taken: Vec<Member> = Vec::new();
    for (index, member) in deployment.members.iter().cloned().enumerate() {
        let active = ActiveDeployment {
            deployment_id: deployment.deployment_id.clone(),
            execution_arn: execution_arn.to_owned(),
            function: member.function_name.clone(),
            alias: member.alias.clone(),
            target_version: member.target_version.clone(),
            alarms: if index == 0 {
                deployment.watch.alarms.clone()
            } else {
                Vec::new()
            },
            expires_at: now.timestamp() + longest + REGISTRY_GRACE_SECONDS,
        };
        if let Err(e) = lock(ports, &active).await {
            for held in &taken {
                ports
                    .deployments
                    .release(&held.function_name, &held.alias, &deployment.deployment_id)
                    .await?;
            }
            return Err(e);
        }
        taken.push(member);
    }
    Ok(())
}

/// Takes the per-alias lock and registers the watched alarms: the hard "one deployment per
/// alias" rule, and what lets alarm events find this deployment. A lock held by an execution
/// that is no longer running (it ended without releasing, or was stopped by hand) is taken
/// over; one held by a running execution refuses the start (`DeploymentInProgress`). A
/// registry that cannot be written fails the start (the adapter's `Transient`, retried by the
/// state machine) before anything moved.
async fn lock(ports: &Ports<'_>, active: &ActiveDeployment) -> Result<(), ShifterError> {
    let registry = ports.deployments;
    let Lock::HeldBy(holder) = registry.acquire(active).await? else {
        return Ok(());
    };
    let running = match ports
        .executions
        .describe_execution(&holder.execution_arn)
        .await
    {
        Ok(execution) => execution.status == ExecutionStatus::Running,
        Err(e) if e.error_kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    if !running {
        info!(holder = %holder.execution_arn, "taking over the lock of an execution that ended");
        registry
            .release(&holder.function, &holder.alias, &holder.deployment_id)
            .await?;
        if let Lock::HeldBy(next) = registry.acquire(active).await? {
            return Err(in_progress(active, &next));
        }
        return Ok(());
    }
    Err(in_progress(active, &holder))
}

fn in_progress(wanted: &ActiveDeployment, holder: &ActiveDeployment) -> ShifterError {
    ShifterError::DeploymentInProgress(format!(
        "alias {} of {} is being deployed by execution {} (to version {}); one deployment per \
         alias at a time",
        wanted.alias, wanted.function, holder.execution_arn, holder.target_version
    ))
}
