//! The deployment state machine that ships (`deployment.asl.json`) and a local runner that
//! executes that very file offline, on a virtual clock.

pub mod asl;
pub mod local;

/// The definition that ships, exactly as deployed.
pub const DEFINITION: &str = include_str!("../deployment.asl.json");

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use shifter::states;

    /// The names the CLI and the runner match on are the definition's own: renaming a state or
    /// an event's DetailType in the definition fails here, not silently in `shifter watch`.
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
        let detail_type = |state: &str| {
            defined[state]["Parameters"]["Entries"][0]["DetailType"]
                .as_str()
                .map(str::to_owned)
        };
        for bake in [states::BAKE, states::POST_PROMOTION_BAKE] {
            assert!(states::is_bake(bake));
            assert_eq!(detail_type(bake).as_deref(), Some(states::BAKE_DETAIL_TYPE));
        }
        assert_eq!(
            detail_type(states::AWAIT_APPROVAL).as_deref(),
            Some(states::APPROVAL_DETAIL_TYPE)
        );
    }
}
