//! The wave plan input: parsed and validated (a placeholder reader until the strict one lands).

use serde_json::Value;

use super::super::field::FieldError;
use super::super::request::DeploymentRequest;
use super::{EntryGate, GatePolicy, Target, Wave, WavePlan};

impl WavePlan {
    /// Accepts a wave plan input: every field valid, the error names the first bad one.
    pub fn parse(input: &Value) -> Result<WavePlan, FieldError> {
        let defaults = input.get("deployment").cloned().unwrap_or(Value::Null);
        let strategy = input.get("strategy").cloned();
        let mut waves = Vec::new();
        let listed = input
            .get("waves")
            .and_then(Value::as_array)
            .ok_or_else(|| FieldError::new("waves", "is required: a list of waves"))?;
        for (i, wave) in listed.iter().enumerate() {
            let name = wave
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("wave-{}", i + 1), str::to_owned);
            let mut targets = Vec::new();
            for (j, target) in wave
                .get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let field = format!("waves[{i}].targets[{j}]");
                let text = |key: &str| {
                    target
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| FieldError::new(format!("{field}.{key}"), "is required"))
                };
                let mut child = defaults.clone();
                if let Some(strategy) = wave.get("strategy").or(strategy.as_ref()) {
                    child["strategy"] = strategy.clone();
                }
                if let Some(Value::Object(own)) = target.get("deployment") {
                    for (key, value) in own {
                        child[key] = value.clone();
                    }
                }
                let request = DeploymentRequest::from_json(&child).map_err(|e| {
                    FieldError::new(format!("{field}.deployment.{}", e.field), e.message)
                })?;
                targets.push(Target {
                    region: text("region")?,
                    account: text("account")?,
                    function_name: request.function_name.clone(),
                    alias: request.alias.clone(),
                    alarms: request.alarms.clone(),
                    input: child,
                });
            }
            waves.push(Wave { name, targets });
        }
        let seconds =
            |key: &str, default: u64| input.get(key).and_then(Value::as_u64).unwrap_or(default);
        Ok(WavePlan {
            waves,
            bake_between_waves_seconds: seconds("bakeBetweenWavesSeconds", 0),
            first_wave_bake_seconds: seconds("firstWaveBakeSeconds", 0),
            window: None,
            entry_gate: EntryGate {
                policy: GatePolicy::Wait,
                timeout_seconds: 3600,
                poll_seconds: 60,
            },
        })
    }
}
