//! Reading a template (YAML or JSON) into JSON, with CloudFormation's short-form tags
//! (`!Ref X`, `!GetAtt X.Attr`, `!Sub "…"`) turned into their long form (`{"Ref": "X"}`, …), so
//! both ways of writing an intrinsic are read by the same code.
//!
//! Short forms: <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>

use serde_json::{Map, Value, json};
use serde_norway::Value as Yaml;

/// Why a template could not be read as YAML.
#[derive(Debug, thiserror::Error)]
#[error("not YAML: {0}")]
pub struct NotYaml(String);

/// The document in `text` as JSON; YAML merge keys (`<<: *anchor`) are applied.
pub fn parse(text: &str) -> Result<Value, NotYaml> {
    let mut yaml: Yaml = serde_norway::from_str(text).map_err(|e| NotYaml(e.to_string()))?;
    yaml.apply_merge().map_err(|e| NotYaml(e.to_string()))?;
    Ok(to_json(yaml))
}

fn to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                object.insert(key_text(key), to_json(value));
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            long_form(tag.trim_start_matches('!'), to_json(tagged.value))
        }
    }
}

fn number(n: &serde_norway::Number) -> Value {
    if let Some(u) = n.as_u64() {
        json!(u)
    } else if let Some(i) = n.as_i64() {
        json!(i)
    } else {
        n.as_f64().map_or(Value::Null, |f| json!(f))
    }
}

/// A mapping key as text (YAML allows numbers and booleans as keys).
fn key_text(key: Yaml) -> String {
    match key {
        Yaml::String(s) => s,
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        other => serde_norway::to_string(&other)
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_default(),
    }
}

/// `!Tag value` as CloudFormation's long form: `Ref` and `Condition` keep their name, every
/// other function gets the `Fn::` prefix; `!GetAtt A.B` becomes `["A", "B"]`.
fn long_form(tag: &str, value: Value) -> Value {
    let name = match tag {
        "Ref" | "Condition" => tag.to_owned(),
        other => format!("Fn::{other}"),
    };
    let value = match (tag, value) {
        ("GetAtt", Value::String(dotted)) => match dotted.split_once('.') {
            Some((resource, attribute)) => json!([resource, attribute]),
            None => Value::String(dotted),
        },
        (_, value) => value,
    };
    let mut object = Map::new();
    object.insert(name, value);
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudformation_short_form_tags_are_read_as_their_long_form() {
        let doc = parse(
            "a: !Ref OrdersErrorsAlarm\n\
             b: !GetAtt PreTrafficHook.Arn\n\
             c: !Sub '${AWS::StackName}-errors'\n\
             d: !Join ['-', [a, !Ref B]]\n\
             e: !If [IsProd, x, y]\n\
             f: {Ref: Long}\n",
        )
        .unwrap();
        assert_eq!(doc["a"], json!({"Ref": "OrdersErrorsAlarm"}));
        assert_eq!(doc["b"], json!({"Fn::GetAtt": ["PreTrafficHook", "Arn"]}));
        assert_eq!(doc["c"], json!({"Fn::Sub": "${AWS::StackName}-errors"}));
        assert_eq!(doc["d"], json!({"Fn::Join": ["-", ["a", {"Ref": "B"}]]}));
        assert_eq!(doc["e"], json!({"Fn::If": ["IsProd", "x", "y"]}));
        assert_eq!(doc["f"], json!({"Ref": "Long"}));
    }

    #[test]
    fn merge_keys_numbers_and_json_are_read() {
        let doc =
            parse("base: &b {type: AllAtOnce}\nfn:\n  <<: *b\n  alias: live\n  n: 3\n").unwrap();
        assert_eq!(
            doc["fn"],
            json!({"type": "AllAtOnce", "alias": "live", "n": 3})
        );
        let doc = parse(r#"{"Resources": {"A": {"Type": "T"}}}"#).unwrap();
        assert_eq!(doc["Resources"]["A"]["Type"], "T");
        assert!(parse("a: [unclosed").is_err());
    }
}
