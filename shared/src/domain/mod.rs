//! Pure deployment domain: no AWS crate, no I/O. In layers, each importing only from the layers
//! below it (a test reads the `use` lines and fails on an upward import or a circle):
//!
//! 1. leaves: `weight`, `text`, `field`, `failure`, `alias`, `alarm`, `json`;
//! 2. concerns, each with a pure judgement: `strategy`, `analysis`, `provisioned`, `approval`,
//!    `hooks`, `managed`;
//! 3. input: `request` (parses the execution input);
//! 4. checks: `limits` (history budget), `cost`, `preflight`, `accept` (parses then budgets),
//!    `idle` (settings that would do nothing);
//! 5. the document: `deployment` (its groups, its JSON form, every "what comes next" rule);
//! 6. telling: `lifecycle` (the events a deployment puts at each moment);
//! 7. the record: `record` (the item each deployment leaves, folded from its events);
//! 8. waves: `waves` (a plan of deployments across regions and accounts, and its orchestration).

pub mod accept;
pub mod alarm;
pub mod alias;
pub mod analysis;
pub mod approval;
pub mod cost;
pub mod deployment;
pub mod failure;
pub mod field;
pub mod hooks;
pub mod idle;
pub mod json;
pub mod lifecycle;
pub mod limits;
pub mod managed;
pub mod preflight;
pub mod provisioned;
pub mod record;
pub mod request;
pub mod strategy;
pub mod text;
pub mod waves;
pub mod weight;

#[cfg(test)]
mod layers;

pub use alarm::AlarmReport;
pub use alias::{AdditionalVersion, AliasRoute, AliasState, LastWrite, Member, VersionInfo};
pub use approval::{Approval, ApprovalDefault, OperatorAnswer};
pub use deployment::{Decision, Deployment, DocumentError, Members, RestoreAction};
pub use failure::{Caught, ErrorKind, ErrorName, Failure};
pub use field::FieldError;
pub use hooks::{HookOutcome, Hooks};
pub use idle::{IdleSetting, idle_settings};
pub use json::InputDocument;
pub use managed::{Home, ManagedSet};
pub use preflight::{Facts, Rejection, ResolvedTarget, Verdict};
pub use request::{DeploymentRequest, TargetVersion, TrainTarget};
pub use strategy::{Plan, PlanError, Step, StepProblem, Strategy};
pub use weight::Weight;
