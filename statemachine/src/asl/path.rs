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
        if rest.contains('\\') {
            return Err(unsupported("escaped characters (\\)"));
        }
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

    /// Whether the path is `$` (or `$$`) itself.
    pub(super) fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The value this path selects in `root`, moved out of it (no copy of the rest).
    pub(super) fn take(&self, mut root: Value) -> Option<Value> {
        let mut current = &mut root;
        for segment in &self.segments {
            current = match segment {
                Segment::Key(key) => current.as_object_mut()?.get_mut(key)?,
                Segment::Index(index) => current.as_array_mut()?.get_mut(*index)?,
            };
        }
        Some(current.take())
    }

    /// Writes `value` at this path inside `target`, creating missing objects on the way, as
    /// ResultPath does; when the structure does not allow it, `target` is left untouched.
    pub(super) fn write(&self, target: &mut Value, value: Value) -> Result<(), String> {
        self.check_writable(target)?;
        let Some((last, parents)) = self.segments.split_last() else {
            *target = value;
            return Ok(());
        };
        let mut current = target;
        for segment in parents {
            current = match (current, segment) {
                (Value::Object(map), Segment::Key(key)) => map
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new())),
                (Value::Array(items), Segment::Index(index)) => {
                    items.get_mut(*index).ok_or_else(|| self.cannot_write())?
                }
                _ => return Err(self.cannot_write()),
            };
        }
        match (current, last) {
            (Value::Object(map), Segment::Key(key)) => {
                map.insert(key.clone(), value);
            }
            (Value::Array(items), Segment::Index(index)) => {
                *items.get_mut(*index).ok_or_else(|| self.cannot_write())? = value;
            }
            _ => return Err(self.cannot_write()),
        }
        Ok(())
    }

    /// Walks the path read-only: every step must land in an existing object (or a missing key,
    /// after which only keys may follow) or an existing array element.
    fn check_writable(&self, target: &Value) -> Result<(), String> {
        let mut current = Some(target);
        for segment in &self.segments {
            current = match (current, segment) {
                (None, Segment::Key(_)) => None,
                (Some(Value::Object(map)), Segment::Key(key)) => map.get(key),
                (Some(Value::Array(items)), Segment::Index(index)) if *index < items.len() => {
                    items.get(*index)
                }
                _ => return Err(self.cannot_write()),
            };
        }
        Ok(())
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

    fn written(path: &str, mut target: Value, value: Value) -> Result<Value, String> {
        Path::parse(path).unwrap().write(&mut target, value)?;
        Ok(target)
    }

    #[test]
    fn writes_create_intermediate_objects() {
        let written_in = written("$.a.b.c", json!({"a": {"x": 1}}), json!(2));
        assert_eq!(written_in, Ok(json!({"a": {"x": 1, "b": {"c": 2}}})));
        assert_eq!(written("$", json!({"a": 1}), json!(3)), Ok(json!(3)));
        assert_eq!(
            written("$.list[1]", json!({"list": [0, 0]}), json!(9)),
            Ok(json!({"list": [0, 9]}))
        );
    }

    #[test]
    fn writes_into_scalars_fail_and_leave_the_target_untouched() {
        for (path, target) in [
            ("$.a.b", json!({"a": 1})),
            ("$.a.b", json!("text")),
            ("$.new[0]", json!({})),
            ("$.list[2]", json!({"list": [0]})),
        ] {
            let mut copy = target.clone();
            assert!(
                Path::parse(path)
                    .unwrap()
                    .write(&mut copy, json!(2))
                    .is_err(),
                "{path}"
            );
            assert_eq!(copy, target, "{path}");
        }
    }

    /// <https://states-language.net/spec.html#filters>: the ResultPath examples — an existing
    /// field is overwritten, missing ones are created as a chain of objects.
    #[test]
    fn spec_result_path_examples() {
        let raw = json!({"master": {"detail": [1, 2, 3]}});
        assert_eq!(
            written("$.master.detail", raw.clone(), json!(6)),
            Ok(json!({"master": {"detail": 6}}))
        );
        assert_eq!(
            written("$.master.result.sum", raw, json!(6)),
            Ok(json!({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}))
        );
        assert_eq!(
            written("$.b.greeting", json!({"a": 1}), json!("Hi!")),
            Ok(json!({"a": 1, "b": {"greeting": "Hi!"}}))
        );
        assert!(written("$.x", json!("foo"), json!(1)).is_err());
    }

    #[test]
    fn take_moves_the_selected_subtree_out() {
        let path = Path::parse("$.Payload").unwrap();
        assert_eq!(
            path.take(json!({"Payload": {"a": [1]}, "StatusCode": 200})),
            Some(json!({"a": [1]}))
        );
        assert_eq!(path.take(json!({"StatusCode": 200})), None);
        assert_eq!(Path::parse("$").unwrap().take(json!(5)), Some(json!(5)));
    }

    /// <https://states-language.net/spec.html#ref-paths>: the three selections the section
    /// shows for its example input.
    #[test]
    fn spec_reference_paths_example() {
        let input = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}});
        assert_eq!(select("$.foo", &input), Some(json!(123)));
        assert_eq!(select("$.bar", &input), Some(json!(["a", "b", "c"])));
        assert_eq!(select("$.car.cdr", &input), Some(json!(true)));
    }

    /// <https://states-language.net/spec.html#ref-paths>: of the section's list of acceptable
    /// Reference Paths, the runner reads the dotted, indexed and bracketed ones and refuses the
    /// ones with backslash escapes by name rather than misreading them.
    #[test]
    fn spec_acceptable_reference_paths() {
        let ledgers = json!({"ledgers": {"branch": [{"pending": {"count": 4}}]}});
        assert_eq!(
            select("$.ledgers.branch[0].pending.count", &ledgers),
            Some(json!(4))
        );
        assert_eq!(
            select("$.ledgers.branch[0]", &ledgers),
            Some(json!({"pending": {"count": 4}}))
        );
        let mut row = vec![Value::Null; 316];
        row[315] = json!({"foo": "x"});
        let mut grid = vec![json!([]); 23];
        grid[22] = Value::Array(row);
        let deep = json!({ "ledgers": [grid] });
        assert_eq!(select("$.ledgers[0][22][315].foo", &deep), Some(json!("x")));
        let store = json!({"store": {"book": {"title": "t"}}});
        assert_eq!(select("$.store.book.title", &store), Some(json!("t")));
        assert_eq!(
            select("$['store']['book']", &store),
            Some(json!({"title": "t"}))
        );
        assert_eq!(
            select("$['store'][0]['book']", &json!({"store": [{"book": 1}]})),
            Some(json!(1))
        );
        for escaped in [
            r"$.store\.book",
            r"$.\stor\e.boo\k",
            r"$.foo.\.bar",
            r"$.foo\@bar.baz\[\[.\?pretty",
            r"$.&Ж中.\uD800\uDF46",
        ] {
            let error = Path::parse(escaped).unwrap_err();
            assert!(error.contains("escaped characters"), "{escaped}: {error}");
        }
    }
}
