//! What one read of the watched alarms found.

/// States of the watched alarms, as one DescribeAlarms call returned them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmReport {
    /// Alarms in ALARM.
    pub in_alarm: Vec<String>,
    /// Alarms that no longer exist.
    pub missing: Vec<String>,
}
