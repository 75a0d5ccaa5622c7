//! The deployment state machine that ships (`deployment.asl.json`) and a local runner that
//! executes that very file offline, on a virtual clock.

pub mod asl;
pub mod local;

/// The definition that ships, exactly as deployed.
pub const DEFINITION: &str = include_str!("../deployment.asl.json");

/// The waves orchestrator that ships (`waves.asl.json`): one release across regions and
/// accounts, each target a child execution of [`DEFINITION`] (docs/waves.md).
pub const WAVES_DEFINITION: &str = include_str!("../waves.asl.json");

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use shifter::states::{self, ParkKind};

    /// The names the CLI and the runner match on are the definition's own: renaming a state, a
    /// park kind or the approval event's DetailType in the definition fails here, not silently
    /// in `shifter watch`.
    #[test]
    fn shared_state_names_and_detail_types_are_the_definition_s() {
        let definition: Value = serde_json::from_str(super::DEFINITION).unwrap();
        let defined = definition["States"].as_object().unwrap();
        for name in states::ALL {
            assert!(
                defined.contains_key(name),
                "no state {name:?} in the definition"
            );
        }
        let mut hooks: Vec<&str> = defined
            .keys()
            .map(String::as_str)
            .filter(|n| n.starts_with(states::HOOK_STATE_PREFIX))
            .collect();
        hooks.sort_unstable();
        assert_eq!(
            hooks,
            [states::RUN_POST_TRAFFIC_HOOK, states::RUN_PRE_TRAFFIC_HOOK]
        );
        for (run, wait) in [
            (states::RUN_PRE_TRAFFIC_HOOK, states::AWAIT_PRE_TRAFFIC_HOOK),
            (
                states::RUN_POST_TRAFFIC_HOOK,
                states::AWAIT_POST_TRAFFIC_HOOK,
            ),
        ] {
            assert_eq!(states::hook_of(run), states::hook_of(wait));
            assert_eq!(defined[wait]["Resource"], states::PARK_RESOURCE);
            // The same hook: the callback state invokes it directly, the synchronous one
            // through Run Hook.
            assert_eq!(
                defined[wait]["Parameters"]["FunctionName.$"],
                defined[run]["Parameters"]["Payload"]["hook.$"]
            );
            assert_eq!(
                defined[run]["Parameters"]["FunctionName"],
                "${RunHookFunctionArn}"
            );
        }
        let park = |state: &str| defined[state]["Parameters"]["Payload"]["park"].as_str();
        for kind in ParkKind::ALL {
            let state = kind.state();
            assert_eq!(
                states::is_bake(state),
                state == states::BAKE || state == states::POST_PROMOTION_BAKE
            );
            assert_eq!(park(state), Some(kind.wire_name()), "{state}");
            assert_eq!(
                defined[state]["Resource"],
                states::PARK_RESOURCE,
                "{state} parks on the watch function"
            );
        }
        let announce = &defined[states::ANNOUNCE_APPROVAL]["Parameters"]["Entries"][0];
        assert_eq!(announce["DetailType"], states::APPROVAL_DETAIL_TYPE);
        assert_eq!(announce["Source"], states::EVENT_SOURCE);
    }
}
