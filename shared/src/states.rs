//! The names the shipped state machine (`statemachine/deployment.asl.json`) and the tools that
//! read its executions agree on: state names and the `DetailType` of parked tasks' events.
//! A test in `shifter-statemachine` checks every name here against the definition.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Validates the input and snapshots the alias.
pub const START_DEPLOYMENT: &str = "Start Deployment";
/// Fail state: the input was refused before anything changed.
pub const DEPLOYMENT_REJECTED: &str = "Deployment Rejected";
/// Invokes the user's pre-traffic hook.
pub const RUN_PRE_TRAFFIC_HOOK: &str = "Run Pre-Traffic Hook";
/// Moves the alias to the next step's weight.
pub const SHIFT_TRAFFIC: &str = "Shift Traffic";
/// Parks on the watch function until the step ends, an alarm event, an operator's answer or
/// the next backstop read.
pub const BAKE: &str = "Bake";
/// Reads the alarms and decides what happens next.
pub const CHECK_HEALTH: &str = "Check Health";
/// Announces an approval gate once (an event on the stack's bus, without a token).
pub const ANNOUNCE_APPROVAL: &str = "Announce Approval";
/// Parks at an approval gate until an operator answers, an alarm fires or the gate times out.
pub const AWAIT_APPROVAL: &str = "Await Approval";
/// Pass state: an operator aborted; the deployment rolls back.
pub const ABORT_REQUESTED: &str = "Abort Requested";
/// Points the alias at the target with no routing.
pub const PROMOTE: &str = "Promote";
/// Invokes the user's post-traffic hook.
pub const RUN_POST_TRAFFIC_HOOK: &str = "Run Post-Traffic Hook";
/// Invokes a callback pre-traffic hook with a task token and waits for its answer.
pub const AWAIT_PRE_TRAFFIC_HOOK: &str = "Await Pre-Traffic Hook";
/// Invokes a callback post-traffic hook with a task token and waits for its answer.
pub const AWAIT_POST_TRAFFIC_HOOK: &str = "Await Post-Traffic Hook";
/// Parks after the promotion, alarms still watched.
pub const POST_PROMOTION_BAKE: &str = "Post-Promotion Bake";
/// Parks after a shift (or the promotion) until the alias's provisioned concurrency is READY,
/// alarms still watched; the bake clock starts once it is.
pub const AWAIT_PROVISIONED_CONCURRENCY: &str = "Await Provisioned Concurrency";
/// Succeed state: all traffic on the target.
pub const DEPLOYMENT_SUCCEEDED: &str = "Deployment Succeeded";
/// Succeed state: the alias was already on the target; nothing was touched.
pub const ALREADY_CURRENT: &str = "Already Current";
/// Restores the alias snapshot.
pub const ROLL_BACK: &str = "Roll Back";
/// Fail state: the alias was restored.
pub const DEPLOYMENT_ROLLED_BACK: &str = "Deployment Rolled Back";
/// Fail state: someone else changed the alias; their change was left alone.
pub const STOPPED_ON_DRIFT: &str = "Stopped On Drift";
/// Fail state: the restore itself failed.
pub const ROLLBACK_FAILED: &str = "Rollback Failed";

/// The states named above, for the check against the definition.
pub const ALL: [&str; 21] = [
    START_DEPLOYMENT,
    DEPLOYMENT_REJECTED,
    RUN_PRE_TRAFFIC_HOOK,
    SHIFT_TRAFFIC,
    BAKE,
    CHECK_HEALTH,
    ANNOUNCE_APPROVAL,
    AWAIT_APPROVAL,
    ABORT_REQUESTED,
    PROMOTE,
    RUN_POST_TRAFFIC_HOOK,
    AWAIT_PRE_TRAFFIC_HOOK,
    AWAIT_POST_TRAFFIC_HOOK,
    POST_PROMOTION_BAKE,
    AWAIT_PROVISIONED_CONCURRENCY,
    DEPLOYMENT_SUCCEEDED,
    ALREADY_CURRENT,
    ROLL_BACK,
    DEPLOYMENT_ROLLED_BACK,
    STOPPED_ON_DRIFT,
    ROLLBACK_FAILED,
];

/// What the names of the synchronous hook-invoking states start with.
pub const HOOK_STATE_PREFIX: &str = "Run ";

/// The hook a hook state runs (`Pre-Traffic Hook`), synchronous or callback; `None` for any
/// other state.
pub fn hook_of(state: &str) -> Option<&str> {
    match state {
        RUN_PRE_TRAFFIC_HOOK | RUN_POST_TRAFFIC_HOOK => state.strip_prefix(HOOK_STATE_PREFIX),
        AWAIT_PRE_TRAFFIC_HOOK | AWAIT_POST_TRAFFIC_HOOK => state.strip_prefix("Await "),
        _ => None,
    }
}

/// `Source` of the events the state machine puts (approval announcements).
pub const EVENT_SOURCE: &str = "traffic-shifter";

/// The `DetailType` of the event that announces an approval gate.
pub const APPROVAL_DETAIL_TYPE: &str = "Traffic Shifter Approval";

/// The Task resource every park uses: the watch function, invoked with the task token
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token>).
pub const PARK_RESOURCE: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";

/// The `park` field of a parked task's payload to the watch function: which wait it is. The
/// wire names are the definition's `park` values; a test in `shifter-statemachine` checks every
/// park state's value deserializes into one of these and every kind is used by a park state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ParkKind {
    /// A step's bake (`bake`).
    Bake,
    /// An approval gate (`approval`).
    Approval,
    /// The bake after the promotion (`postPromotionBake`).
    PostPromotionBake,
    /// The wait for the alias's provisioned concurrency after a write (`provisionedConcurrency`).
    ProvisionedConcurrency,
}

impl ParkKind {
    /// Every park kind, for the checks against the definition.
    pub const ALL: [ParkKind; 4] = [
        ParkKind::Bake,
        ParkKind::Approval,
        ParkKind::PostPromotionBake,
        ParkKind::ProvisionedConcurrency,
    ];

    /// The value of the payload's `park` field (what serde writes and reads).
    pub fn wire_name(self) -> &'static str {
        match self {
            ParkKind::Bake => "bake",
            ParkKind::Approval => "approval",
            ParkKind::PostPromotionBake => "postPromotionBake",
            ParkKind::ProvisionedConcurrency => "provisionedConcurrency",
        }
    }

    /// The kind whose wire name is `name`, if any.
    pub fn from_wire(name: &str) -> Option<ParkKind> {
        ParkKind::ALL
            .into_iter()
            .find(|kind| kind.wire_name() == name)
    }

    /// The state of the definition that parks with this kind.
    pub fn state(self) -> &'static str {
        match self {
            ParkKind::Bake => BAKE,
            ParkKind::Approval => AWAIT_APPROVAL,
            ParkKind::PostPromotionBake => POST_PROMOTION_BAKE,
            ParkKind::ProvisionedConcurrency => AWAIT_PROVISIONED_CONCURRENCY,
        }
    }
}

impl fmt::Display for ParkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// True for the states that park on a task token while traffic bakes.
pub fn is_bake(state: &str) -> bool {
    state == BAKE || state == POST_PROMOTION_BAKE
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde's names are `wire_name`'s, both ways, and each kind names its own state.
    #[test]
    fn park_kinds_read_and_write_their_wire_names() {
        for kind in ParkKind::ALL {
            let wire = serde_json::to_value(kind).unwrap();
            assert_eq!(wire, kind.wire_name(), "{kind:?}");
            assert_eq!(serde_json::from_value::<ParkKind>(wire).unwrap(), kind);
            assert_eq!(ParkKind::from_wire(kind.wire_name()), Some(kind));
            assert_eq!(kind.to_string(), kind.wire_name());
        }
        let states: std::collections::BTreeSet<&str> =
            ParkKind::ALL.iter().map(|k| k.state()).collect();
        assert_eq!(states.len(), ParkKind::ALL.len(), "one state per kind");
        assert_eq!(ParkKind::from_wire("Bake"), None, "case matters");
        // serde lists every variant it knows: `ALL` leaves none out.
        let refused = serde_json::from_value::<ParkKind>("nap".into()).unwrap_err();
        let known: Vec<String> = ParkKind::ALL.iter().map(|k| format!("`{k}`")).collect();
        assert_eq!(
            refused.to_string(),
            format!(
                "unknown variant `nap`, expected one of {}",
                known.join(", ")
            )
        );
    }
}
