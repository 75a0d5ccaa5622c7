//! SAM templates: every `AWS::Serverless::Function` with a `DeploymentPreference` (and its
//! `AutoPublishAlias`), `Globals.Function` merged in as SAM does — maps merged, lists added,
//! the resource's own values winning.
//!
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/automating-updates-to-serverless-apps.html>,
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-deploymentpreference.html>,
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html>

use serde_json::Value;

use super::cfn::{Template, Want};
use super::found::{Found, Located, Overrides, Problem, Problems};
use super::{Imported, Reading};

/// Whether `doc` is a CloudFormation/SAM template.
pub fn is_template(doc: &Value) -> bool {
    doc.get("Resources").is_some_and(Value::is_object)
}

/// Where a property can come from: the resource first, then `Globals.Function`.
struct Sources<'v> {
    layers: Vec<(&'v Value, String)>,
}

impl<'v> Sources<'v> {
    /// The first layer that sets `key`, with the path it was read at.
    fn pick(&self, key: &str) -> Option<(&'v Value, String)> {
        self.layers
            .iter()
            .find_map(|(layer, path)| layer.get(key).map(|v| (v, format!("{path}.{key}"))))
    }

    /// The same lookup one mapping deeper (`DeploymentPreference`, then `Hooks`).
    fn within(&self, key: &str) -> Sources<'v> {
        Sources {
            layers: self
                .layers
                .iter()
                .filter_map(|(layer, path)| layer.get(key).map(|v| (v, format!("{path}.{key}"))))
                .collect(),
        }
    }
}

/// Every function with a `DeploymentPreference`.
pub fn read(doc: &Value, overrides: &Overrides) -> Reading {
    let template = Template::new(doc, overrides);
    let globals = doc.get("Globals").and_then(|g| g.get("Function"));
    let mut reading = Reading::default();
    let resources = doc.get("Resources").and_then(Value::as_object);
    for (logical, resource) in resources.into_iter().flatten() {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let empty = Value::Null;
        let properties = resource.get("Properties").unwrap_or(&empty);
        let mut layers = vec![(properties, format!("Resources.{logical}.Properties"))];
        if let Some(globals) = globals {
            layers.push((globals, "Globals.Function".to_owned()));
        }
        let sources = Sources { layers };
        let preference = sources.within("DeploymentPreference");
        if preference.layers.is_empty() {
            continue;
        }
        if let Some((Value::Bool(false), path)) = preference.pick("Enabled") {
            reading.notes.push(format!(
                "{logical}: skipped, {path} is false (CodeDeploy does not manage it)"
            ));
            continue;
        }
        let result = function(&template, logical, properties, &sources);
        reading.functions.push(Imported {
            key: logical.clone(),
            result,
        });
    }
    reading
}

fn function(
    template: &Template,
    logical: &str,
    properties: &Value,
    sources: &Sources,
) -> Result<Found, Vec<Problem>> {
    let mut problems = Problems::default();
    let name_path = format!("Resources.{logical}.Properties.FunctionName");
    let written_name = properties.get("FunctionName").cloned();
    let function = problems.keep(match written_name {
        Some(name) => template.resolve(&name, &name_path, Want::Function),
        None => template.generated_name(logical, &name_path),
    });
    let alias = problems.keep(required(template, sources, "AutoPublishAlias", logical));
    let preference = sources.within("DeploymentPreference");
    let strategy = problems.keep(required(template, &preference, "Type", logical));
    let mut alarms = Vec::new();
    for (list, list_path) in preference.within("Alarms").layers.iter().rev() {
        let Some(items) = list.as_array() else {
            problems
                .0
                .push(Problem::at(list_path, "expected a list of alarms"));
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("{list_path}[{i}]");
            if let Some(value) = problems.keep(template.resolve(item, &path, Want::Alarm)) {
                alarms.push(Located { value, path });
            }
        }
    }
    let hooks = preference.within("Hooks");
    let mut hook = |phase: &str| {
        let (value, path) = hooks.pick(phase)?;
        let resolved = template.resolve(value, &path, Want::Function);
        problems.keep(resolved).map(|value| Located { value, path })
    };
    let (pre_traffic, post_traffic) = (hook("PreTraffic"), hook("PostTraffic"));
    match (function, alias, strategy) {
        (Some(function), Some(alias), Some(strategy)) if problems.0.is_empty() => Ok(Found {
            function: Located {
                value: function,
                path: name_path,
            },
            alias,
            strategy,
            alarms,
            alarms_path: format!("Resources.{logical}.Properties.DeploymentPreference.Alarms"),
            pre_traffic,
            post_traffic,
        }),
        _ => Err(problems.0),
    }
}

/// A property that must be there.
fn required(
    template: &Template,
    sources: &Sources,
    key: &str,
    logical: &str,
) -> Result<Located, Problem> {
    let Some((value, path)) = sources.pick(key) else {
        let where_ = sources.layers.first().map_or_else(
            || format!("Resources.{logical}.Properties"),
            |(_, path)| path.clone(),
        );
        return Err(Problem::at(
            format!("{where_}.{key}"),
            "missing: CodeDeploy needs it for a DeploymentPreference",
        ));
    };
    let value = template.resolve(value, &path, Want::Text)?;
    Ok(Located { value, path })
}
