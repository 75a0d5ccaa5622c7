//! Pure deployment domain: no AWS crate, no I/O.

pub mod alias;
pub mod analysis;
pub mod cost;
pub mod deployment;
pub mod failure;
pub mod field;
pub mod json;
pub mod limits;
pub mod managed;
pub mod preflight;
pub mod provisioned;
pub mod request;
pub mod strategy;
pub mod text;
pub mod train;
pub mod weight;

pub use alias::{AdditionalVersion, AliasRoute, AliasState, VersionInfo};
pub use deployment::{
    AlarmReport, Caught, Decision, Deployment, DocumentError, Failure, RestoreAction,
};
pub use failure::{ErrorKind, ErrorName};
pub use field::FieldError;
pub use json::InputDocument;
pub use managed::{Home, ManagedSet};
pub use preflight::{Facts, Rejection, ResolvedTarget, Verdict};
pub use request::{
    Approval, ApprovalDefault, DeploymentRequest, Hooks, TargetVersion, TrainTarget,
};
pub use strategy::{Plan, PlanError, Step, StepProblem, Strategy};
pub use weight::Weight;
