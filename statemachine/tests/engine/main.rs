//! The engine's integration tests, one test binary: scenarios through the local runner on the
//! shipped definition, and the checks that keep definition, template and code in step.

mod analysis;
mod bench_events;
mod budget;
mod callbacks;
mod costs;
mod definition;
mod lambda_errors;
mod lifecycle;
mod lost_answers;
mod operate;
mod provisioned;
mod record;
mod scenarios;
mod stops;
mod trains;
mod watch;
mod waves;

mod catalog;
mod differential;
mod properties;
mod races;
mod scale;
mod support;
