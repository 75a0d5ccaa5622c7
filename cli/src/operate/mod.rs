//! Operating real executions through the `Executions` port: `deploy`, `watch`, `approve`,
//! `promote`, `abort` and `timeline`, all read from (or answered through) the execution history.

mod answer;
mod deploy;
mod history;
mod plan;
#[cfg(test)]
mod recorded;
mod watch;

pub use answer::{AbortArgs, Answer, AnswerArgs, answer, waiting_task};
pub use deploy::{DeployArgs, deploy, stack_output, state_machine_of_stack};
pub use history::parse_history;
pub use watch::{TimelineArgs, WatchArgs, describe, progress, timeline, watch};
