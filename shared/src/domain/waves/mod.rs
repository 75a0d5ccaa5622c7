//! Waves: one release across regions and accounts, in ordered waves, with a global abort
//! ([docs/waves.md](../../../../docs/waves.md)).
//!
//! - `plan`: the wave plan input, parsed and validated strictly (every error names its field);
//!   each target's child input is today's deployment input, accepted by [`super::accept`];
//! - `targets`: the rules across targets (one alias moves once per plan, an ARN in its own place);
//! - `window` and `cron`: deployment windows (a 5-field cron in a time zone, blocked dates): when
//!   a wave may start;
//! - `budget`: a child's longest run and the plan's worst-case history (refused past the budget);
//! - `run`: the orchestrator's state document (`WavesRun`) and its pure "what comes next"
//!   judgement, including the global abort.

pub mod budget;
pub mod cron;
pub mod errors;
pub mod plan;
pub mod run;
pub mod targets;
pub mod window;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use plan::{MAX_TARGETS, MAX_TARGETS_PER_WAVE, MAX_WAVES};
pub use run::{ChildSeen, HoldReason, TargetRun, TargetStatus, WavesDecision, WavesRun};
pub use window::{Window, WindowJudgement};

/// A wave plan: the targets in ordered waves, the bakes between them, the window and the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct WavePlan {
    /// The waves, in order; each has at least one target.
    pub waves: Vec<Wave>,
    /// Seconds to watch after every wave but the first (and the last) before the next starts.
    pub bake_between_waves_seconds: u64,
    /// Seconds to watch after the first wave before the second starts (longer: the first wave
    /// meets real traffic first).
    pub first_wave_bake_seconds: u64,
    /// When waves may start; `None`: at any time.
    pub window: Option<Window>,
    /// The entry gate: each wave's alarms must be OK before it starts.
    pub entry_gate: EntryGate,
}

/// One wave: the targets that deploy at the same time.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave {
    /// Its name (`waves[i].name`, default `wave-<i+1>`).
    pub name: String,
    /// Its targets, each a (region, account) pair with the deployment to run there.
    pub targets: Vec<Target>,
}

/// One target: today's per-region deployment, in one region of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The AWS Region, e.g. `eu-west-1`.
    pub region: String,
    /// The 12-digit account id.
    pub account: String,
    /// The execution input of the child deployment (plan defaults, the wave's strategy and the
    /// target's own fields merged), already accepted by `DeploymentRequest::from_json`.
    pub input: Value,
    /// The lead alias the child moves: function name and alias.
    pub function_name: String,
    /// The lead alias's name.
    pub alias: String,
    /// The alarms the child watches (its `alarms`): watched by the plan after the wave ends.
    pub alarms: Vec<String>,
}

/// What a wave whose alarms are not all OK does at its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GatePolicy {
    /// Wait (watching) until they are OK, at most `timeoutSeconds`, then abort the plan.
    Wait,
    /// Abort the plan at once.
    Refuse,
}

/// The entry gate of every wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryGate {
    /// Wait or refuse.
    pub policy: GatePolicy,
    /// How long `Wait` waits before the plan aborts.
    pub timeout_seconds: u64,
    /// How often a waiting gate reads the alarms again.
    pub poll_seconds: u64,
}
