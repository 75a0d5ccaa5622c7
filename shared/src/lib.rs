//! Traffic Shifter core: the pure deployment domain, the ports the handlers use, the stable
//! error names, and (behind `test-util`) in-memory fakes with the real services' semantics.

pub mod aliases;
pub mod domain;
pub mod error;
pub mod ports;
pub mod report;
pub mod states;

#[cfg(feature = "aws")]
pub mod aws;

#[cfg(feature = "test-util")]
pub mod fakes;

pub use error::ShifterError;
