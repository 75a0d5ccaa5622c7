//! Reading an execution input strictly. `serde_json::Value` silently keeps the last of two equal
//! keys and turns nesting past its recursion limit (128) into a syntax error; this reader keeps
//! both facts and reports them by field, before any other check.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::field::FieldError;

/// Most objects and arrays a value may sit inside (a valid input needs four:
/// `strategy.steps[0].weight`). Deeper parts are skipped without recursion and reported.
pub const MAX_NESTING: usize = 32;

/// An execution input as read, with the first problem a plain `Value` would hide: a key given
/// twice in one object, or nesting deeper than [`MAX_NESTING`].
#[derive(Debug, Clone, PartialEq)]
pub struct InputDocument {
    /// The document (for a repeated key, the last value; a part nested too deep reads as null).
    pub value: Value,
    /// The first repeated key or too-deep part, naming its field.
    pub problem: Option<FieldError>,
}

impl InputDocument {
    /// Reads JSON text; text that is not JSON is an error naming `(input)`.
    pub fn parse(text: &str) -> Result<InputDocument, FieldError> {
        let mut reader = serde_json::Deserializer::from_str(text);
        let document = <InputDocument as serde::Deserialize>::deserialize(&mut reader)
            .and_then(|d| reader.end().map(|()| d))
            .map_err(|e| FieldError::new("(input)", format!("is not JSON: {e}")))?;
        Ok(document)
    }

    /// The document, or its problem.
    pub fn into_value(self) -> Result<Value, FieldError> {
        match self.problem {
            Some(problem) => Err(problem),
            None => Ok(self.value),
        }
    }
}

impl From<Value> for InputDocument {
    fn from(value: Value) -> Self {
        InputDocument {
            value,
            problem: None,
        }
    }
}

impl<'de> serde::Deserialize<'de> for InputDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut problem = None;
        let value = Node {
            path: String::new(),
            depth: 0,
            problem: &mut problem,
        }
        .deserialize(deserializer)?;
        Ok(InputDocument { value, problem })
    }
}

/// One value being read: where it is, how deep, and where to record the first problem.
struct Node<'p> {
    path: String,
    depth: usize,
    problem: &'p mut Option<FieldError>,
}

impl Node<'_> {
    fn child(&mut self, segment: &str) -> Node<'_> {
        let path = if self.path.is_empty() || segment.starts_with('[') {
            format!("{}{segment}", self.path)
        } else {
            format!("{}.{segment}", self.path)
        };
        Node {
            path,
            depth: self.depth + 1,
            problem: &mut *self.problem,
        }
    }

    fn record(&mut self, field: String, message: String) {
        if self.problem.is_none() {
            *self.problem = Some(FieldError::new(field, message));
        }
    }
}

/// The top-level field a path is under (`strategy.steps[0]` → `strategy`), or `(input)`.
fn top_field(path: &str) -> String {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    if end == 0 {
        "(input)".to_owned()
    } else {
        path[..end].to_owned()
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<Value, D::Error> {
        if self.depth > MAX_NESTING {
            // serde_json skips an ignored value with an explicit stack, not recursion, so any
            // depth is read to its end here.
            deserializer.deserialize_ignored_any(IgnoredAny)?;
            let field = top_field(&self.path);
            self.record(
                field,
                format!(
                    "is nested inside more than {MAX_NESTING} objects or arrays; \
                     an execution input needs at most 4"
                ),
            );
            return Ok(Value::Null);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        DeserializeSeed::deserialize(self, deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let index = format!("[{}]", items.len());
            match seq.next_element_seed(self.child(&index))? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self.child(&key))?;
            if object.insert(key.clone(), value).is_some() {
                let field = self.child(&key).path;
                self.record(
                    field,
                    "is given twice in the same object; JSON readers disagree on which one \
                     counts, so neither is used"
                        .to_owned(),
                );
            }
        }
        Ok(Value::Object(object))
    }
}

/// The null rule, one for every field: `null` is never a value. An optional field is left
/// out to get its default; a required one must be given. (Treating `null` as "absent" would let
/// a templating slip such as `"alarms": null` deploy with nothing watched.)
pub fn reject_nulls(value: &Value, path: &str) -> Result<(), FieldError> {
    let join = |segment: String| {
        if path.is_empty() || segment.starts_with('[') {
            format!("{path}{segment}")
        } else {
            format!("{path}.{segment}")
        }
    };
    match value {
        Value::Null => Err(FieldError::new(
            path,
            "is null; null is not accepted for any field: leave an optional field out to use \
             its default",
        )),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| reject_nulls(item, &join(format!("[{i}]")))),
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(key, item)| reject_nulls(item, &join(key.clone()))),
        _ => Ok(()),
    }
}

/// The value of a required field, or an error naming it.
pub fn required<T>(field: &str, value: Option<T>) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(field, "is required"))
}

/// Deserializes with the path of the failing field as the error's field
/// (`hooks.preTraffic: invalid type …`); serde's own message says what is wrong with it.
pub fn deserialize_named<T: serde::de::DeserializeOwned>(
    value: &Value,
    prefix: &str,
) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().iter().fold(prefix.to_owned(), |field, segment| {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => format!("{field}[{index}]"),
                Segment::Map { key } | Segment::Enum { variant: key } if field.is_empty() => {
                    key.clone()
                }
                Segment::Map { key } | Segment::Enum { variant: key } => format!("{field}.{key}"),
                Segment::Unknown => field,
            }
        });
        let field = if path.is_empty() {
            "(input)".to_owned()
        } else {
            path
        };
        FieldError::new(field, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<FieldError> {
        InputDocument::parse(text).unwrap().problem
    }

    #[test]
    fn a_repeated_key_is_named_by_its_path() {
        let e = problem(r#"{"functionName":"ghost","functionName":"demo"}"#).unwrap();
        assert_eq!(e.field, "functionName");
        let e =
            problem(r#"{"strategy":{"steps":[{"weight":1,"bakeSeconds":5,"weight":2}]}}"#).unwrap();
        assert_eq!(e.field, "strategy.steps[0].weight");
        assert_eq!(problem(r#"{"a":{"x":1},"b":{"x":2}}"#), None);
    }

    #[test]
    fn deep_nesting_is_reported_as_nesting_at_any_depth() {
        for depth in [MAX_NESTING + 2, 129, 10_000, 200_000] {
            let text = format!("{{\"alarms\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
            let e = problem(&text).unwrap();
            assert_eq!(e.field, "alarms", "depth {depth}");
            assert!(e.message.contains("nested inside more than 32"), "{e}");
        }
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(30), "]".repeat(30));
        assert_eq!(problem(&ok), None);
        let root = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(problem(&root).unwrap().field, "(input)");
    }

    #[test]
    fn not_json_names_the_input_and_values_read_back_unchanged() {
        assert_eq!(InputDocument::parse("{").unwrap_err().field, "(input)");
        assert_eq!(InputDocument::parse("{} {}").unwrap_err().field, "(input)");
        let text = r#"{"a":[1,-2,2.5,"x",true,null,{"b":{}}]}"#;
        let read = InputDocument::parse(text).unwrap();
        assert_eq!(
            read.value,
            serde_json::from_str::<Value>(text).unwrap(),
            "same as serde_json"
        );
        let from_value: InputDocument = serde_json::from_value(read.value.clone()).unwrap();
        assert_eq!(from_value, read);
    }
}
