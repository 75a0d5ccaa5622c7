//! Reading a definition's JSON: typed field access that names the field in every error, and
//! state names resolved to indexes. Shared by the state parsers and the Choice rule parser.

use serde_json::{Map, Value};

use super::intrinsic::{ExprError, FieldError, Template};
use super::path::Path;
use super::{DefinitionError, Where};

/// The state names, for resolving Next, Default and StartAt to indexes.
pub(super) struct Names<'d>(pub(super) Vec<&'d str>);

impl Names<'_> {
    /// The index of `target`, or an error naming the field that named it.
    pub(super) fn resolve(
        &self,
        at: &Where,
        field: &str,
        target: &str,
    ) -> Result<usize, DefinitionError> {
        self.0
            .iter()
            .position(|name| *name == target)
            .ok_or_else(|| DefinitionError::UnknownState {
                at: at.clone(),
                field: field.to_string(),
                target: target.to_string(),
            })
    }
}

/// A JSON object being parsed, with its position for error messages.
pub(super) struct Obj<'a> {
    pub(super) at: &'a Where,
    prefix: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// Wraps `value`, which must be an object.
    pub(super) fn new(
        at: &'a Where,
        prefix: impl Into<String>,
        value: &'a Value,
    ) -> Result<Self, DefinitionError> {
        let prefix = prefix.into();
        match value {
            Value::Object(map) => Ok(Obj { at, prefix, map }),
            _ => Err(DefinitionError::Invalid {
                at: at.clone(),
                message: format!(
                    "{} must be an object",
                    if prefix.is_empty() { "it" } else { &prefix }
                ),
            }),
        }
    }

    /// Wraps a nested object at `prefix`.
    pub(super) fn child(
        &self,
        prefix: impl Into<String>,
        value: &'a Value,
    ) -> Result<Obj<'a>, DefinitionError> {
        Obj::new(self.at, prefix, value)
    }

    /// The field's full name, e.g. `Retry[0].MaxAttempts`.
    pub(super) fn field(&self, key: &str) -> String {
        match (self.prefix.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{key}", self.prefix),
        }
    }

    /// Refuses, by name, the first key not in `known`.
    pub(super) fn allow_only(&self, known: &[&str]) -> Result<(), DefinitionError> {
        match self.map.keys().find(|key| !known.contains(&key.as_str())) {
            Some(key) => Err(DefinitionError::UnsupportedField {
                at: self.at.clone(),
                field: self.field(key),
            }),
            None => Ok(()),
        }
    }

    /// The raw value of a key.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// An ASL violation here.
    pub(super) fn invalid(&self, message: impl Into<String>) -> DefinitionError {
        DefinitionError::Invalid {
            at: self.at.clone(),
            message: message.into(),
        }
    }

    /// A string field, if present.
    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(format!("{} must be a string", self.field(key)))),
        }
    }

    /// A string field that must be present.
    pub(super) fn required(&self, key: &str) -> Result<&'a str, DefinitionError> {
        self.string(key)?
            .ok_or_else(|| self.invalid(format!("{} is required", self.field(key))))
    }

    /// An integer field within `min..=max`, if present.
    pub(super) fn uint(
        &self,
        key: &str,
        min: u64,
        max: u64,
    ) -> Result<Option<u64>, DefinitionError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => match value.as_u64().filter(|n| (min..=max).contains(n)) {
                Some(n) => Ok(Some(n)),
                None => Err(self.invalid(format!(
                    "{} must be an integer from {min} to {max}",
                    self.field(key)
                ))),
            },
        }
    }

    /// A path over the effective input (never `$$`), if present.
    pub(super) fn path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        Path::parse_input(text)
            .map(Some)
            .map_err(|reason| DefinitionError::Path {
                at: self.at.clone(),
                field: self.field(key),
                path: text.to_string(),
                reason,
            })
    }

    /// OutputPath or ResultPath: `$` when absent, `None` when `null`.
    pub(super) fn io_path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        match self.get(key) {
            None => Path::parse("$")
                .map(Some)
                .map_err(|reason| self.invalid(reason)),
            Some(Value::Null) => Ok(None),
            Some(_) => self.path(key),
        }
    }

    /// A payload template (Parameters, ResultSelector), if present.
    pub(super) fn template(&self, key: &str) -> Result<Option<Template>, DefinitionError> {
        self.get(key)
            .map(|value| Template::compile(value, key))
            .transpose()
            .map_err(|error| self.expr_error(error))
    }

    /// An expression refused inside this object, as the definition error that names its field.
    pub(super) fn expr_error(&self, FieldError { field, error }: FieldError) -> DefinitionError {
        let at = self.at.clone();
        let field = self.field(&field);
        match error {
            ExprError::Path { path, reason } => DefinitionError::Path {
                at,
                field,
                path,
                reason,
            },
            ExprError::Unsupported(name) => {
                DefinitionError::UnsupportedIntrinsic { at, field, name }
            }
            ExprError::Syntax(message) => DefinitionError::Invalid {
                at,
                message: format!("field {field:?}: {message}"),
            },
        }
    }
}
