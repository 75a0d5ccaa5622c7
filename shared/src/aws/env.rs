//! The environment, read in one place: each Lambda reads its variables once at start-up into
//! its configuration, and a variable it misses is named in the error.

use thiserror::Error;

/// A variable a function needs is unset, empty or not Unicode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{name}: not set (template.yaml sets it in the function's environment)")]
pub struct MissingVariable {
    /// The variable's name.
    pub name: &'static str,
}

/// The value of `name`; unset, empty or not Unicode is a [`MissingVariable`] naming it.
pub fn required(name: &'static str) -> Result<String, MissingVariable> {
    optional(name)
        .filter(|value| !value.is_empty())
        .ok_or(MissingVariable { name })
}

/// The value of `name`, if it is set (and Unicode).
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// True when `name` is set at all, whatever its value.
pub fn is_set(name: &str) -> bool {
    std::env::var_os(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        // A name no environment sets, so the test needs no `set_var` (unsafe since 2024).
        let name = "SHIFTER_TEST_VARIABLE_NEVER_SET";
        assert_eq!(optional(name), None);
        assert!(!is_set(name));
        let error = required(name).unwrap_err();
        assert_eq!(error, MissingVariable { name });
        assert!(
            error
                .to_string()
                .starts_with("SHIFTER_TEST_VARIABLE_NEVER_SET: not set")
        );
        let path = required("PATH").expect("PATH is set where tests run");
        assert!(!path.is_empty());
    }
}
