//! The set of functions a stack may deploy and invoke as hooks (the `MANAGED_FUNCTIONS` setting).

use super::request::function_short_name;

/// Function names or ARNs, `*` as a wildcard; an empty set manages nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedSet {
    patterns: Vec<String>,
}

impl ManagedSet {
    /// Parses a comma-separated list (`orders-*,arn:aws:lambda:eu-west-1:123456789012:function:billing`).
    pub fn parse(list: &str) -> ManagedSet {
        ManagedSet {
            patterns: list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Every function (`*`), for local runs.
    pub fn everything() -> ManagedSet {
        ManagedSet::parse("*")
    }

    /// True when `function` (a name or an ARN) is covered by a pattern.
    pub fn contains(&self, function: &str) -> bool {
        self.patterns.iter().any(|pattern| {
            if pattern.starts_with("arn:") && function.starts_with("arn:") {
                glob(pattern, function)
            } else {
                glob(function_short_name(pattern), function_short_name(function))
            }
        })
    }

    /// The patterns, for messages.
    pub fn describe(&self) -> String {
        if self.patterns.is_empty() {
            "(none)".to_owned()
        } else {
            self.patterns.join(", ")
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_and_arns() {
        let set = ManagedSet::parse(
            "orders-*, billing ,arn:aws:lambda:eu-west-1:123456789012:function:pay*",
        );
        assert!(set.contains("orders-api"));
        assert!(set.contains("arn:aws:lambda:eu-west-1:123456789012:function:orders-api"));
        assert!(set.contains("billing"));
        assert!(!set.contains("billing-2"));
        assert!(set.contains("payments"));
        assert!(set.contains("arn:aws:lambda:eu-west-1:123456789012:function:payments"));
        assert!(!set.contains("arn:aws:lambda:us-east-1:123456789012:function:payments"));
        assert!(!set.contains("shipping"));
        assert!(!ManagedSet::parse("").contains("orders"));
        assert!(ManagedSet::everything().contains("anything"));
    }

    #[test]
    fn glob_edges() {
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("*", ""));
        assert!(!glob("ab", "abc"));
        assert!(glob("a*a", "aa"));
        assert!(!glob("a*a", "a"));
    }
}
