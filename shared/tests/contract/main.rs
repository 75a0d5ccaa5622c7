//! Contract tests: one suite of behaviours per port, written once (generic over the port) and
//! run on the in-memory fake and on the real adapter, one module per AWS service.
//!
//! The real adapter runs against moto server where moto answers as AWS does, and against
//! `aws-smithy-mocks` where it does not; every such place is a named entry of
//! [`support::EMULATOR_GAPS`] that names the mock test covering the AWS behaviour.
//!
//! Tests against moto are `#[ignore]`d (see [`support::moto_test`]): `cargo test` reports them
//! as ignored, never as passed. `scripts/test` starts moto (scripts/lib/moto.sh, which sets
//! `SHIFTER_MOTO_ENDPOINT`) and runs them with `--ignored`; there they fail on a wrong answer,
//! and fail when the endpoint is missing. By hand:
//!
//! ```sh
//! cargo test -p shifter --features aws --test contract                # fakes and mocks
//! source scripts/lib/moto.sh && moto_start
//! cargo test -p shifter --features aws --test contract -- --ignored   # moto
//! ```

#![cfg(feature = "aws")]

mod support;

mod cloudwatch;
mod codepipeline;
mod dynamodb;
mod events;
mod lambda;
mod lambda_config;
mod metrics;
mod records;
mod sfn;
mod waves;
