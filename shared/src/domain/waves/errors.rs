//! The error names a wave plan ends with (docs/architecture.md#error-names).

/// A child of the running wave failed (its own error is in the cause).
pub const TARGET_FAILED: &str = "TargetFailed";
/// A child was stopped by someone else.
pub const TARGET_STOPPED: &str = "TargetStopped";
/// An alarm of a launched wave fired.
pub const ALARM_TRIGGERED: &str = "AlarmTriggered";
/// An operator aborted the plan.
pub const ABORTED: &str = "Aborted";
/// The entry gate refused a wave, or held it past its timeout.
pub const ENTRY_GATE: &str = "EntryGateClosed";
/// The window never opens again.
pub const WINDOW: &str = "WindowNeverOpens";
/// The plan's watch failed in a way it could not judge.
pub const WATCH_FAILED: &str = "WatchFailed";
