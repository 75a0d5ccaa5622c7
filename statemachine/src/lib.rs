//! The deployment state machine that ships (`deployment.asl.json`) and a local runner that
//! executes that very file offline, on a virtual clock.

pub mod account;
pub mod asl;
pub mod local;

/// The definition that ships, exactly as deployed.
pub const DEFINITION: &str = include_str!("../deployment.asl.json");
