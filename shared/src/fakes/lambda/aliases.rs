//! Aliases: reads, and writes with Lambda's rules: RevisionId changes on every write, a stale
//! one is refused, and only published versions sharing role and dead-letter config can be
//! routed to (<https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html>).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::functions::Function;
use super::{Account, FakeLambda, Fault, LambdaOp};
use crate::domain::alias::function_short_name;
use crate::domain::{AliasRoute, AliasState};
use crate::error::ShifterError;
use crate::ports::AliasRouter;

/// Who wrote an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Writer {
    /// Through the `AliasRouter` port (the deployment).
    Deployment,
    /// Someone else (a person, another pipeline, an injected fault).
    Other,
}

/// One write to an alias, as recorded by the fake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasWrite {
    /// When.
    pub at: DateTime<Utc>,
    /// Function name.
    pub function: String,
    /// Alias name.
    pub alias: String,
    /// What it routes to afterwards.
    pub route: AliasRoute,
    /// Its new RevisionId.
    pub revision_id: String,
    /// Who wrote it.
    pub by: Writer,
}

impl FakeLambda {
    /// Creates (or overwrites) an alias, as someone outside the deployment would.
    pub fn put_alias(&self, name: &str, alias: &str, route: AliasRoute) -> Option<String> {
        let mut account = self.lock();
        Self::write(
            &mut account,
            self.clock.now(),
            name,
            alias,
            route,
            Writer::Other,
        )
    }

    /// The alias as it is now.
    pub fn alias(&self, name: &str, alias: &str) -> Option<AliasState> {
        self.lock()
            .functions
            .get(function_short_name(name))?
            .aliases
            .get(alias)
            .cloned()
    }

    /// Every alias write so far, in order.
    pub fn history(&self) -> Vec<AliasWrite> {
        self.lock().history.clone()
    }

    /// The routes written through the port (by the deployment), in order.
    pub fn deployment_writes(&self) -> Vec<AliasRoute> {
        self.lock()
            .history
            .iter()
            .filter(|w| w.by == Writer::Deployment)
            .map(|w| w.route.clone())
            .collect()
    }

    /// Writes the alias (a new RevisionId, a routing change reallocates provisioned
    /// concurrency) and records who wrote it; `None` if the function does not exist.
    pub(super) fn write(
        account: &mut Account,
        at: DateTime<Utc>,
        name: &str,
        alias: &str,
        route: AliasRoute,
        by: Writer,
    ) -> Option<String> {
        account.writes += 1;
        let revision_id = format!(
            "{:08x}-rev{}",
            account.writes.wrapping_mul(0x9e37_79b9),
            account.writes
        );
        let f = account.functions.get_mut(name)?;
        let previous = f.aliases.insert(
            alias.to_owned(),
            AliasState {
                route: route.clone(),
                revision_id: revision_id.clone(),
            },
        );
        if previous.is_none_or(|p| p.route != route) {
            account.reallocate(name, alias, at);
        }
        account.history.push(AliasWrite {
            at,
            function: name.to_owned(),
            alias: alias.to_owned(),
            route,
            revision_id: revision_id.clone(),
            by,
        });
        Some(revision_id)
    }

    fn validate_route(
        f: &Function,
        function: &str,
        route: &AliasRoute,
    ) -> Result<(), ShifterError> {
        let published = |v: &str| v.parse::<u64>().ok().and_then(|n| f.versions.get(&n));
        let primary = match published(&route.version) {
            Some(info) => Some(info),
            None if route.version == "$LATEST" && route.additional.is_none() => None,
            None => {
                return Err(ShifterError::not_found(format!(
                    "version {} of function {function}",
                    route.version
                )));
            }
        };
        if let Some(extra) = &route.additional {
            let Some(primary) = primary else {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    "weighted routing is not allowed on an alias that points at $LATEST",
                ));
            };
            let Some(info) = published(&extra.version) else {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    format!(
                        "version {} is not a published version of {function}",
                        extra.version
                    ),
                ));
            };
            if extra.version == route.version {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    "the additional version must differ from the alias's version",
                ));
            }
            if !info.routable_with(primary) {
                return Err(ShifterError::invalid(
                    "RoutingConfig",
                    format!(
                        "versions {} and {} of {function} differ in execution role or dead-letter \
                         config; Lambda only routes between versions that share both",
                        route.version, extra.version
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AliasRouter for FakeLambda {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<AliasState, ShifterError> {
        self.latency().await;
        let mut account = self.lock();
        self.admit(&mut account, LambdaOp::GetAlias)?;
        Self::existing_alias(&account, function, alias).cloned()
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<AliasState, ShifterError> {
        self.latency().await;
        let now = self.clock.now();
        let mut account = self.lock();
        let fault = self.update_fault(&mut account, route);
        if let Some(err) = fault
            .as_ref()
            .and_then(|f| Self::injected_error(LambdaOp::UpdateAlias, f))
        {
            return Err(err);
        }
        let name = Self::resolve(&account, function)?;
        if let Some(Fault::DriftTo(theirs)) = &fault {
            Self::write(
                &mut account,
                now,
                name,
                alias,
                theirs.clone(),
                Writer::Other,
            );
        }
        let revision_id =
            Self::conditional_write(&mut account, now, name, alias, route, expected_revision)?;
        if fault == Some(Fault::CrashAfterWrite) {
            return Err(ShifterError::transient(
                "UpdateAlias",
                "connection reset after the request was sent (the write may have landed)",
            ));
        }
        Ok(AliasState {
            route: route.clone(),
            revision_id,
        })
    }
}

impl FakeLambda {
    /// The alias of `function` (name or ARN), or `NotFound` naming the function or the alias,
    /// as GetAlias answers.
    pub(super) fn existing_alias<'a>(
        account: &'a Account,
        function: &str,
        alias: &str,
    ) -> Result<&'a AliasState, ShifterError> {
        let f = Self::existing_function(account, function)?;
        f.aliases.get(alias).ok_or_else(|| {
            let name = function_short_name(function);
            ShifterError::not_found(format!("alias {alias} of function {name}"))
        })
    }

    /// UpdateAlias with a RevisionId: `AliasDrift` when it is stale, then Lambda's routing
    /// rules, then the write; returns the new RevisionId.
    /// https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html
    fn conditional_write(
        account: &mut Account,
        now: DateTime<Utc>,
        name: &str,
        alias: &str,
        route: &AliasRoute,
        expected_revision: &str,
    ) -> Result<String, ShifterError> {
        let f = account
            .functions
            .get(name)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))?;
        let current = f
            .aliases
            .get(alias)
            .ok_or_else(|| ShifterError::not_found(format!("alias {alias} of function {name}")))?;
        if current.revision_id != expected_revision {
            return Err(ShifterError::AliasDrift(format!(
                "alias {alias} of {name} has RevisionId {} but the update expected {expected_revision}; \
                 it now routes {}",
                current.revision_id, current.route
            )));
        }
        Self::validate_route(f, name, route)?;
        Self::write(account, now, name, alias, route.clone(), Writer::Deployment)
            .ok_or_else(|| ShifterError::not_found(format!("function {name}")))
    }
}
