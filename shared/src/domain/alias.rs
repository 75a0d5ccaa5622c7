//! What an alias routes to, as the domain sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::weight::Weight;

/// Where an alias sends traffic: a primary version and at most one additional weighted version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasRoute {
    /// The alias's `FunctionVersion`.
    pub version: String,
    /// `RoutingConfig.AdditionalVersionWeights`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional: Option<AdditionalVersion>,
}

/// The weighted second version of an alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalVersion {
    /// The version receiving `weight`.
    pub version: String,
    /// Its share of traffic.
    pub weight: Weight,
}

/// An alias as read, with the RevisionId every write must be conditional on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasState {
    /// What it routes to.
    pub route: AliasRoute,
    /// Changes on every write.
    pub revision_id: String,
}

/// A published version's settings that weighted routing requires to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number.
    pub version: String,
    /// Execution role ARN.
    pub role: String,
    /// Dead-letter queue target ARN, if any.
    pub dead_letter_target: Option<String>,
}

impl VersionInfo {
    /// True when Lambda may route one alias between this version and `other`: both share
    /// execution role and dead-letter config.
    pub fn routable_with(&self, other: &VersionInfo) -> bool {
        self.role == other.role && self.dead_letter_target == other.dead_letter_target
    }
}

impl AliasRoute {
    /// All traffic on one version.
    pub fn single(version: impl Into<String>) -> Self {
        AliasRoute {
            version: version.into(),
            additional: None,
        }
    }

    /// `weight` on `target`, the rest on `stable`; a zero weight is no routing at all.
    pub fn split(stable: &str, target: &str, weight: Weight) -> Self {
        if weight.is_full() {
            return AliasRoute::single(target);
        }
        AliasRoute {
            version: stable.to_owned(),
            additional: (!weight.is_zero()).then(|| AdditionalVersion {
                version: target.to_owned(),
                weight,
            }),
        }
    }

    /// Share of traffic this route sends to `version`.
    pub fn weight_on(&self, version: &str) -> Weight {
        match &self.additional {
            Some(a) if a.version == version => a.weight,
            Some(a) if self.version == version => {
                Weight::from_bp(u32::from(Weight::FULL_BP - a.weight.bp())).unwrap_or(Weight::ZERO)
            }
            None if self.version == version => Weight::FULL,
            _ => Weight::ZERO,
        }
    }
}

impl fmt::Display for AliasRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.additional {
            None => write!(f, "version {} (no routing)", self.version),
            Some(a) => write!(
                f,
                "version {} with {} on version {}",
                self.version, a.weight, a.version
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_weights() {
        let w = Weight::from_bp(1000).unwrap();
        let r = AliasRoute::split("1", "2", w);
        assert_eq!(r.weight_on("2"), w);
        assert_eq!(r.weight_on("1").bp(), 9000);
        assert_eq!(r.weight_on("3"), Weight::ZERO);
        assert_eq!(
            AliasRoute::split("1", "2", Weight::FULL),
            AliasRoute::single("2")
        );
        assert_eq!(
            AliasRoute::split("1", "2", Weight::ZERO),
            AliasRoute::single("1")
        );
        assert_eq!(r.to_string(), "version 1 with 10% on version 2");
    }
}
