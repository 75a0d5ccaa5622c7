//! Pure deployment domain: no AWS crate, no I/O.

pub mod alias;
pub mod cost;
pub mod deployment;
pub mod managed;
pub mod request;
pub mod strategy;
pub mod weight;

pub use alias::{AdditionalVersion, AliasRoute, AliasState};
pub use deployment::{AlarmReport, Caught, Decision, Deployment, Failure, RestoreAction};
pub use managed::ManagedSet;
pub use request::{Approval, ApprovalDefault, DeploymentRequest, FieldError, Hooks, TargetVersion};
pub use strategy::{Plan, PlanError, Step, Strategy};
pub use weight::Weight;
