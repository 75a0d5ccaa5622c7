//! Alarms made by `serverless-plugin-aws-alerts`, which a `serverless.yml` names in
//! `deploymentSettings.alarms` by their CloudFormation logical ID. The plugin writes each alarm
//! into the compiled template as `<Function><Alarm>Alarm`: the function's key and the alarm's
//! name, each with `-` spelled `Dash`, `_` spelled `Underscore` and the first letter upper-cased
//! (`src/naming.js`, `getAlarmCloudFormationRef`, of
//! <https://github.com/ACloudGuru/serverless-plugin-aws-alerts>). A function's alarms are its
//! own `alarms` and those of `custom.alerts.alarms`, `global` and `function` (`src/index.js`,
//! `compileAlarms`). The plugin sets no `AlarmName` unless given a `nameTemplate`, so
//! CloudFormation generates the name when the stack is created: only the deployed stack knows
//! it (`--stack`).

use serde_json::Value;

/// The plugin's package name, as `plugins` lists it.
pub const PLUGIN: &str = "serverless-plugin-aws-alerts";

/// `-` → `Dash`, `_` → `Underscore`, first letter upper-cased: the plugin's `getNormalisedName`.
fn normalised(name: &str) -> String {
    let spelled = name.replace('-', "Dash").replace('_', "Underscore");
    let mut chars = spelled.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The logical ID the plugin gives function `key`'s alarm `alarm`.
pub fn logical_id(key: &str, alarm: &str) -> String {
    format!("{}{}Alarm", normalised(key), normalised(alarm))
}

/// Whether the service uses the plugin.
pub fn in_use(doc: &Value) -> bool {
    let plugins = doc.get("plugins");
    // `plugins` is a list, or `{modules: [...]}` in the framework's long form.
    let list = plugins
        .and_then(|p| p.get("modules"))
        .or(plugins)
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .any(|p| p.as_str() == Some(PLUGIN))
}

/// An alarm's name in an `alarms` list: a definition's name, or `{name: …}`.
fn alarm_name(item: &Value) -> Option<&str> {
    item.as_str()
        .or_else(|| item.get("name").and_then(Value::as_str))
}

/// Every alarm the plugin creates in the service: (logical ID, function key, alarm name).
pub fn created(doc: &Value) -> Vec<(String, String, String)> {
    let config = doc.get("custom").and_then(|c| c.get("alerts"));
    let shared: Vec<&str> = ["alarms", "global", "function"]
        .iter()
        .filter_map(|list| config?.get(list)?.as_array())
        .flatten()
        .filter_map(alarm_name)
        .collect();
    let functions = doc.get("functions").and_then(Value::as_object);
    let mut made = Vec::new();
    for (key, function) in functions.into_iter().flatten() {
        let own = function.get("alarms").and_then(Value::as_array);
        let names = shared
            .iter()
            .copied()
            .chain(own.into_iter().flatten().filter_map(alarm_name));
        for name in names {
            made.push((logical_id(key, name), key.clone(), name.to_owned()));
        }
    }
    made
}

/// Why `logical`, named in `deploymentSettings.alarms` but not in `resources.Resources`, cannot
/// be known offline, when the plugin is in use: which of its alarms it is and how to get the
/// name; or that it is none of them.
pub fn explain(doc: &Value, logical: &str) -> Option<String> {
    if !in_use(doc) {
        return None;
    }
    let made = created(doc);
    if let Some((_, key, name)) = made.iter().find(|(id, _, _)| id == logical) {
        return Some(format!(
            "{logical} is the alarm {PLUGIN} creates for function {key}'s alarm {name} \
             (CloudFormation logical ID {logical}); CloudFormation names it when the stack is \
             deployed, so pass --stack STACK to read its name from the deployed stack, or \
             --resolve {logical}=NAME"
        ));
    }
    let ids: Vec<&str> = made.iter().map(|(id, _, _)| id.as_str()).collect();
    let listed = if ids.is_empty() {
        "it creates none here".to_owned()
    } else {
        shifter::domain::text::cut_chars(&format!("it creates {}", ids.join(", ")), 400)
    };
    Some(format!(
        "resources.Resources has no {logical}, and it is not one of the alarms {PLUGIN} \
         creates ({listed}); pass --resolve {logical}=NAME"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-` and `_` are spelled out, each part's first letter upper-cased.
    #[test]
    fn logical_ids_follow_the_plugins_naming() {
        assert_eq!(logical_id("hello", "foo"), "HelloFooAlarm");
        assert_eq!(
            logical_id("FakeUser", "CanaryCheck"),
            "FakeUserCanaryCheckAlarm"
        );
        assert_eq!(
            logical_id("foo-bar_baz", "functionErrors"),
            "FooDashbarUnderscorebazFunctionErrorsAlarm"
        );
    }
}
