//! The JSONPath subset ASL reference paths need: `$`, `.key`, `['key']` and `[index]`.

use std::fmt;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed path; a context path (`$$…`) selects from the context object.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Path {
    text: String,
    pub(super) context: bool,
    segments: Vec<Segment>,
}

/// What `$` and `$$` mean while evaluating a path or intrinsic.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scope<'a> {
    /// The effective input.
    pub(super) input: &'a Value,
    /// The context object.
    pub(super) context: &'a Value,
}

impl Scope<'_> {
    /// The value the path selects, if any.
    pub(super) fn select(&self, path: &Path) -> Option<&Value> {
        path.select(if path.context {
            self.context
        } else {
            self.input
        })
    }

    /// The value `$` or `$$` means for this path, for error messages.
    pub(super) fn root(&self, path: &Path) -> &Value {
        if path.context {
            self.context
        } else {
            self.input
        }
    }
}

fn unsupported(feature: &str) -> String {
    format!("{feature} are not supported by the local runner")
}

impl Path {
    /// Parses a path, refusing JSONPath features outside the subset by name.
    pub(super) fn parse(text: &str) -> Result<Path, String> {
        let (context, mut rest) = match text.strip_prefix("$$") {
            Some(rest) => (true, rest),
            None => match text.strip_prefix('$') {
                Some(rest) => (false, rest),
                None => return Err("a path must start with $".into()),
            },
        };
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if rest.starts_with("..") {
                return Err(unsupported("recursive descents (..)"));
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return Err("empty key after .".into());
                } else if key == "*" {
                    return Err(unsupported("wildcards"));
                } else if key.contains('(') {
                    return Err(unsupported("path functions"));
                }
                segments.push(Segment::Key(key.to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let (segment, after) = bracket(after)?;
                segments.push(segment);
                rest = after;
            } else {
                return Err(format!("unexpected {rest:?}"));
            }
        }
        Ok(Path {
            text: text.to_string(),
            context,
            segments,
        })
    }

    /// Parses a path that must select from the effective input, never the context object.
    pub(super) fn parse_input(text: &str) -> Result<Path, String> {
        let path = Path::parse(text)?;
        if path.context {
            return Err("context paths ($$) are not allowed here".into());
        }
        Ok(path)
    }

    /// The value this path selects in `root`, if any.
    pub(super) fn select<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.segments
            .iter()
            .try_fold(root, |value, segment| match segment {
                Segment::Key(key) => value.as_object()?.get(key),
                Segment::Index(index) => value.as_array()?.get(*index),
            })
    }

    /// Writes `value` at this path inside `target`, creating missing objects on the way, as ResultPath does.
    pub(super) fn write(&self, mut target: Value, value: Value) -> Result<Value, String> {
        let Some((last, parents)) = self.segments.split_last() else {
            return Ok(value);
        };
        let mut current = &mut target;
        for segment in parents {
            current = match (current, segment) {
                (Value::Object(map), Segment::Key(key)) => map
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new())),
                (Value::Array(items), Segment::Index(index)) => items
                    .get_mut(*index)
                    .ok_or_else(|| format!("index {index} is out of range"))?,
                _ => return Err(self.cannot_write()),
            };
        }
        match (current, last) {
            (Value::Object(map), Segment::Key(key)) => {
                map.insert(key.clone(), value);
            }
            (Value::Array(items), Segment::Index(index)) => {
                *items
                    .get_mut(*index)
                    .ok_or_else(|| format!("index {index} is out of range"))? = value;
            }
            _ => return Err(self.cannot_write()),
        }
        Ok(target)
    }

    fn cannot_write(&self) -> String {
        format!(
            "Unable to apply ResultPath {:?}: the input does not have the structure it needs",
            self.text
        )
    }
}

fn bracket(after: &str) -> Result<(Segment, &str), String> {
    if let Some(quote) = after.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = &after[1..];
        let close = body.find(quote).ok_or("unterminated quoted key")?;
        let rest = body[close + 1..]
            .strip_prefix(']')
            .ok_or("expected ] after quoted key")?;
        return Ok((Segment::Key(body[..close].to_string()), rest));
    }
    let close = after.find(']').ok_or("unterminated [")?;
    let inner = after[..close].trim();
    let segment = if inner.starts_with('?') {
        return Err(unsupported("filter expressions"));
    } else if inner == "*" {
        return Err(unsupported("wildcards"));
    } else if inner.contains(':') {
        return Err(unsupported("slices"));
    } else if inner.contains(',') {
        return Err(unsupported("unions"));
    } else if inner.starts_with('-') {
        return Err(unsupported("negative indexes"));
    } else {
        Segment::Index(
            inner
                .parse()
                .map_err(|_| format!("{inner:?} is not an array index"))?,
        )
    };
    Ok((segment, &after[close + 1..]))
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn select(path: &str, root: &Value) -> Option<Value> {
        Path::parse(path).ok()?.select(root).cloned()
    }

    #[test]
    fn selects_keys_indexes_and_quoted_keys() {
        let root = json!({"a": {"b": [10, {"c d": true}]}});
        assert_eq!(select("$", &root), Some(root.clone()));
        assert_eq!(select("$.a.b[0]", &root), Some(json!(10)));
        assert_eq!(select("$.a.b[1]['c d']", &root), Some(json!(true)));
        assert_eq!(select("$['a'][\"b\"][0]", &root), Some(json!(10)));
        assert_eq!(select("$.a.x", &root), None);
        assert_eq!(select("$.a.b[5]", &root), None);
        assert_eq!(select("$.a.b.c", &root), None);
    }

    #[test]
    fn context_paths_are_marked() {
        let path = Path::parse("$$.Execution.Name").unwrap();
        assert!(path.context);
        assert_eq!(
            path.select(&json!({"Execution": {"Name": "n"}})),
            Some(&json!("n"))
        );
        assert!(Path::parse_input("$$.Execution").is_err());
    }

    #[test]
    fn refuses_features_outside_the_subset_by_name() {
        for (path, named) in [
            ("$.a[?(@.x > 1)]", "filter expressions"),
            ("$.a[*]", "wildcards"),
            ("$.*", "wildcards"),
            ("$..a", "recursive descents"),
            ("$.a[0:2]", "slices"),
            ("$.a[0,1]", "unions"),
            ("$.a[-1]", "negative indexes"),
            ("$.a.length()", "path functions"),
        ] {
            let error = Path::parse(path).unwrap_err();
            assert!(error.contains(named), "{path}: {error}");
        }
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.").is_err());
    }

    #[test]
    fn writes_create_intermediate_objects() {
        let path = Path::parse("$.a.b.c").unwrap();
        let written = path.write(json!({"a": {"x": 1}}), json!(2)).unwrap();
        assert_eq!(written, json!({"a": {"x": 1, "b": {"c": 2}}}));
        let root = Path::parse("$").unwrap();
        assert_eq!(root.write(json!({"a": 1}), json!(3)).unwrap(), json!(3));
        let index = Path::parse("$.list[1]").unwrap();
        assert_eq!(
            index.write(json!({"list": [0, 0]}), json!(9)).unwrap(),
            json!({"list": [0, 9]})
        );
    }

    #[test]
    fn writes_into_scalars_fail() {
        let path = Path::parse("$.a.b").unwrap();
        assert!(path.write(json!({"a": 1}), json!(2)).is_err());
        assert!(path.write(json!("text"), json!(2)).is_err());
    }
}
