//! Functions and their published versions: PublishVersion publishes `$LATEST` only when it
//! changed (<https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html>).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{Account, FakeLambda, LambdaOp};
use crate::domain::AliasState;
use crate::domain::alias::function_short_name;
use crate::domain::managed::{FunctionArn, name_ok};
use crate::error::ShifterError;
use crate::ports::{FunctionRegistry, VersionInfo};

/// One function: its code state, configuration, versions and aliases.
#[derive(Debug, Default)]
pub(super) struct Function {
    /// $LATEST changed since the last published version.
    pub(super) latest_changed: bool,
    pub(super) role: String,
    pub(super) dead_letter_target: Option<String>,
    pub(super) versions: BTreeMap<u64, VersionInfo>,
    pub(super) aliases: BTreeMap<String, AliasState>,
}

impl FakeLambda {
    /// The name `function` (name or ARN) has in this account, as Lambda resolves it: once the
    /// account is [`located`](FakeLambda::locate), an ARN of another Region is refused as
    /// Lambda refuses it and one of another account is not found here.
    pub(super) fn resolve<'a>(
        account: &Account,
        function: &'a str,
    ) -> Result<&'a str, ShifterError> {
        let name = function_short_name(function);
        let Some(home) = &account.place else {
            return Ok(name);
        };
        if let Some(there) = home.unreachable(function) {
            return Err(ShifterError::not_found(format!(
                "function {function} (Functions from '{there}' are not reachable in this region \
                 ('{}'))",
                home.region
            )));
        }
        match FunctionArn::parse(function, name_ok) {
            Ok(arn) if arn.account != home.account => {
                Err(ShifterError::not_found(format!("function {function}")))
            }
            _ => Ok(name),
        }
    }

    /// The function `function` (name or ARN) names, or `NotFound` naming it, as Lambda answers.
    pub(super) fn existing_function<'a>(
        account: &'a Account,
        function: &str,
    ) -> Result<&'a Function, ShifterError> {
        let name = Self::resolve(account, function)?;
        account
            .functions
            .get(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))
    }

    /// Creates a function (only `$LATEST`) with an execution role.
    pub fn add_function(&self, name: &str, role: &str) {
        self.lock().functions.insert(
            name.to_owned(),
            Function {
                latest_changed: true,
                role: role.to_owned(),
                ..Function::default()
            },
        );
    }

    /// Sets the dead-letter target that versions published from now on carry.
    pub fn set_dead_letter_target(&self, name: &str, target: Option<&str>) {
        if let Some(f) = self.lock().functions.get_mut(name) {
            f.dead_letter_target = target.map(str::to_owned);
        }
    }

    /// Deploys new code to `$LATEST` and publishes it as the next version; `None` if the
    /// function does not exist.
    pub fn publish(&self, name: &str) -> Option<String> {
        self.update_code(name);
        let mut account = self.lock();
        Some(Self::publish_latest(account.functions.get_mut(name)?).version)
    }

    /// Deploys new code to `$LATEST` without publishing it.
    pub fn update_code(&self, name: &str) {
        if let Some(f) = self.lock().functions.get_mut(name) {
            f.latest_changed = true;
        }
    }

    /// Lambda's PublishVersion: a new version when `$LATEST` changed, else the latest one.
    fn publish_latest(f: &mut Function) -> VersionInfo {
        if !f.latest_changed
            && let Some(info) = f.versions.values().next_back()
        {
            return info.clone();
        }
        f.latest_changed = false;
        let next = f.versions.keys().next_back().map_or(1, |v| v + 1);
        let info = VersionInfo {
            version: next.to_string(),
            role: f.role.clone(),
            dead_letter_target: f.dead_letter_target.clone(),
        };
        f.versions.insert(next, info.clone());
        info
    }

    /// The highest published version.
    pub fn latest_published(&self, name: &str) -> Option<String> {
        self.lock()
            .functions
            .get(name)?
            .versions
            .keys()
            .next_back()
            .map(u64::to_string)
    }
}

#[async_trait]
impl FunctionRegistry for FakeLambda {
    async fn function_exists(&self, function: &str) -> Result<bool, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        self.admit(&mut account, LambdaOp::GetFunction)?;
        match Self::resolve(&account, function) {
            Ok(name) => Ok(account.functions.contains_key(name)),
            Err(ShifterError::NotFound { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn version(
        &self,
        function: &str,
        version: &str,
    ) -> Result<Option<VersionInfo>, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        self.admit(&mut account, LambdaOp::GetFunction)?;
        let f = Self::existing_function(&account, function)?;
        Ok(version
            .parse::<u64>()
            .ok()
            .and_then(|n| f.versions.get(&n))
            .cloned())
    }

    async fn latest_published_version(
        &self,
        function: &str,
    ) -> Result<Option<String>, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        self.admit(&mut account, LambdaOp::ListVersions)?;
        let f = Self::existing_function(&account, function)?;
        Ok(f.versions.keys().next_back().map(u64::to_string))
    }

    async fn publish_version(&self, function: &str) -> Result<VersionInfo, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        self.admit(&mut account, LambdaOp::PublishVersion)?;
        let name = Self::resolve(&account, function)?;
        let f = account
            .functions
            .get_mut(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))?;
        Ok(Self::publish_latest(f))
    }
}
