//! The set of functions a stack may deploy and invoke as hooks (the `MANAGED_FUNCTIONS` setting),
//! and the strict reading of Lambda function ARNs it relies on.

use super::field::FieldError;

/// Partitions a Lambda ARN can name (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
pub const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// An unqualified function ARN, `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`, read strictly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArn<'a> {
    /// `aws`, `aws-cn`, …
    pub partition: &'a str,
    /// `us-east-1`, …
    pub region: &'a str,
    /// Twelve digits.
    pub account: &'a str,
    /// The function's name (or, in a managed-set pattern, a name with `*`).
    pub name: &'a str,
}

impl<'a> FunctionArn<'a> {
    /// Reads `text`; the error says which part is wrong. `name_ok` judges the last part.
    pub fn parse(text: &'a str, name_ok: impl Fn(&str) -> bool) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let [arn, partition, service, region, account, kind, name] = parts[..] else {
            return Err(format!(
                "has {} ':'-separated parts; an unqualified function ARN has 7 \
                 (arn:aws:lambda:REGION:ACCOUNT:function:NAME, no version or alias)",
                parts.len()
            ));
        };
        if arn != "arn" || service != "lambda" || kind != "function" {
            return Err(
                "is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)".into(),
            );
        }
        if !PARTITIONS.contains(&partition) {
            return Err(format!(
                "partition {partition:?} is not one of {}",
                PARTITIONS.join(", ")
            ));
        }
        if !region_ok(region) {
            return Err(format!(
                "region {region:?} is not a region code such as us-east-1"
            ));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("account {account:?} is not a 12-digit account id"));
        }
        if !name_ok(name) {
            return Err(format!("function name {name:?} is not valid"));
        }
        Ok(FunctionArn {
            partition,
            region,
            account,
            name,
        })
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`, `eusc-de-east-1`: lowercase
/// words joined by `-`, ending in a number.
fn region_ok(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Where this stack runs: the partition, region and account a bare function name refers to
/// (Lambda resolves a bare name in the caller's own account and region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// `aws`, …
    pub partition: String,
    /// `eu-west-1`, …
    pub region: String,
    /// Twelve digits.
    pub account: String,
}

impl Home {
    /// From the ARN a function was invoked with (Lambda's `invoked_function_arn`, which may carry
    /// a version or alias qualifier).
    pub fn from_function_arn(arn: &str) -> Option<Home> {
        let unqualified = arn.splitn(8, ':').take(7).collect::<Vec<_>>().join(":");
        let parsed = FunctionArn::parse(&unqualified, |n| !n.is_empty()).ok()?;
        Some(Home {
            partition: parsed.partition.to_owned(),
            region: parsed.region.to_owned(),
            account: parsed.account.to_owned(),
        })
    }

    /// The home of a stack in `region` of `account`, its partition told by the Region's
    /// prefix: `cn-` aws-cn, `us-gov-` aws-us-gov, `us-isob-` aws-iso-b, `us-isof-` aws-iso-f,
    /// `us-iso-` aws-iso, `eu-isoe-` aws-iso-e, `eusc-` aws-eusc, any other aws.
    pub fn in_region(region: &str, account: &str) -> Home {
        const PREFIXES: [(&str, &str); 7] = [
            ("cn-", "aws-cn"),
            ("us-gov-", "aws-us-gov"),
            ("us-isob-", "aws-iso-b"),
            ("us-isof-", "aws-iso-f"),
            ("us-iso-", "aws-iso"),
            ("eu-isoe-", "aws-iso-e"),
            ("eusc-", "aws-eusc"),
        ];
        let partition = PREFIXES
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or("aws", |(_, partition)| partition);
        Home {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
        }
    }

    fn is(&self, arn: &FunctionArn<'_>) -> bool {
        self.partition == arn.partition && self.region == arn.region && self.account == arn.account
    }

    /// Where `function` (a name or an unqualified ARN) is, when the stack's own Lambda endpoint
    /// cannot serve it: `Some("us-west-2")` for an ARN of another Region (or `aws-cn:cn-north-1`
    /// for another partition). Lambda's endpoints are regional
    /// (<https://docs.aws.amazon.com/general/latest/gr/lambda-service.html>), and a request at
    /// one Region's endpoint for a function ARN of another is refused ("Functions from
    /// 'us-west-2' are not reachable in this region ('eu-west-1')"). A bare name is the stack's
    /// own Region; another account of the same Region is reachable, given its permission.
    pub fn unreachable(&self, function: &str) -> Option<String> {
        let arn = FunctionArn::parse(function, name_ok).ok()?;
        if arn.partition != self.partition {
            Some(format!("{}:{}", arn.partition, arn.region))
        } else if arn.region != self.region {
            Some(arn.region.to_owned())
        } else {
            None
        }
    }
}

/// One entry of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// A name, `*` as a wildcard: functions of this stack's own account and region.
    Name(String),
    /// An ARN (wildcards only in the name): functions of exactly that partition, region and account.
    Arn {
        partition: String,
        region: String,
        account: String,
        name: String,
    },
}

/// Function names or ARNs, `*` as a wildcard in names; an empty set manages nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedSet {
    patterns: Vec<Pattern>,
    /// Entries that are not a name or a valid ARN pattern: they match nothing.
    ignored: Vec<String>,
    home: Option<Home>,
    everything: bool,
}

impl ManagedSet {
    /// Parses a comma-separated list (`orders-*,arn:aws:lambda:eu-west-1:123456789012:function:billing`).
    /// Until [`ManagedSet::at`] says where the stack runs, a name matches only a bare name.
    pub fn parse(list: &str) -> ManagedSet {
        let mut set = ManagedSet {
            patterns: Vec::new(),
            ignored: Vec::new(),
            home: None,
            everything: false,
        };
        for entry in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match pattern(entry) {
                Some(p) => set.patterns.push(p),
                None => set.ignored.push(entry.to_owned()),
            }
        }
        set
    }

    /// Every function of every account, for local runs.
    pub fn everything() -> ManagedSet {
        ManagedSet {
            everything: true,
            ..ManagedSet::parse("")
        }
    }

    /// The same set for a stack running at `home`: bare names (in the set and in requests) then
    /// mean functions of that account and region only.
    #[must_use]
    pub fn at(mut self, home: Option<Home>) -> ManagedSet {
        self.home = home;
        self
    }

    /// Where the stack runs, when known.
    pub fn home(&self) -> Option<&Home> {
        self.home.as_ref()
    }

    /// Entries that match nothing because they are neither a name nor a valid ARN pattern.
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// True when `function` (a name or an unqualified ARN) is covered by a pattern.
    pub fn contains(&self, function: &str) -> bool {
        if self.everything {
            return true;
        }
        let arn = if function.starts_with("arn:") {
            match FunctionArn::parse(function, name_ok) {
                Ok(arn) => Some(arn),
                Err(_) => return false,
            }
        } else {
            None
        };
        self.patterns.iter().any(|pattern| match (pattern, &arn) {
            (Pattern::Name(glob_name), None) => glob(glob_name, function),
            (Pattern::Name(glob_name), Some(arn)) => {
                self.home.as_ref().is_some_and(|h| h.is(arn)) && glob(glob_name, arn.name)
            }
            (p @ Pattern::Arn { name, .. }, None) => {
                self.home.as_ref().is_some_and(|h| p.is_at(h)) && glob(name, function)
            }
            (Pattern::Arn { .. }, Some(arn)) => pattern.covers(arn),
        })
    }
}

impl Pattern {
    fn is_at(&self, home: &Home) -> bool {
        match self {
            Pattern::Name(_) => true,
            Pattern::Arn {
                partition,
                region,
                account,
                ..
            } => *partition == home.partition && *region == home.region && *account == home.account,
        }
    }

    fn covers(&self, arn: &FunctionArn<'_>) -> bool {
        match self {
            Pattern::Name(_) => false,
            Pattern::Arn {
                partition,
                region,
                account,
                name,
            } => {
                partition == arn.partition
                    && region == arn.region
                    && account == arn.account
                    && glob(name, arn.name)
            }
        }
    }
}

/// True when two function references (names or unqualified ARNs) are certainly one function:
/// the same name in the same partition, region and account. A bare name is in `home`; with no
/// home known, a bare name and an ARN are not judged the same (a hook `orders` in another
/// account is not the deployed `orders`).
pub fn same_function(a: &str, b: &str, home: Option<&Home>) -> bool {
    let place = |text: &str| -> Option<(Option<[String; 3]>, String)> {
        if text.starts_with("arn:") {
            let arn = FunctionArn::parse(text, name_ok).ok()?;
            let at = [arn.partition, arn.region, arn.account].map(str::to_owned);
            return Some((Some(at), arn.name.to_owned()));
        }
        let at = home.map(|h| [h.partition.clone(), h.region.clone(), h.account.clone()]);
        Some((at, text.to_owned()))
    };
    match (place(a), place(b)) {
        (Some((at_a, name_a)), Some((at_b, name_b))) => name_a == name_b && at_a == at_b,
        _ => a == b,
    }
}

/// A Lambda function name: 1 to 64 letters, digits, `-` or `_`.
pub fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A name with `*` wildcards.
fn name_pattern_ok(name: &str) -> bool {
    name_ok(&name.replace('*', "x"))
}

fn pattern(entry: &str) -> Option<Pattern> {
    if entry.starts_with("arn:") {
        let arn = FunctionArn::parse(entry, name_pattern_ok).ok()?;
        return Some(Pattern::Arn {
            partition: arn.partition.to_owned(),
            region: arn.region.to_owned(),
            account: arn.account.to_owned(),
            name: arn.name.to_owned(),
        });
    }
    name_pattern_ok(entry).then(|| Pattern::Name(entry.to_owned()))
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

pub fn validate_function_name(field: &str, value: &str) -> Result<(), FieldError> {
    if value.starts_with("arn:") {
        return FunctionArn::parse(value, name_ok)
            .map(|_| ())
            .map_err(|problem| {
                FieldError::new(
                    field,
                    format!(
                        "{value:?} {problem}; an unqualified Lambda function ARN is \
                     arn:aws:lambda:REGION:ACCOUNT:function:NAME, no version or alias"
                    ),
                )
            });
    }
    if name_ok(value) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "{value:?} is not a function name (1 to 64 letters, digits, '-' or '_') or ARN"
            ),
        ))
    }
}

pub fn validate_alias(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !value.bytes().all(|b| b.is_ascii_digit());
    if value == "$LATEST" || !ok {
        return Err(FieldError::new(
            field,
            format!(
                "{value:?} is not an alias name (1 to 128 letters, digits, '-' or '_', not all digits)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: &str = "arn:aws:lambda:eu-west-1:123456789012:function:start-deployment:live";

    #[test]
    fn a_region_tells_its_partition() {
        for (region, partition) in [
            ("eu-west-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            let home = Home::in_region(region, "123456789012");
            assert_eq!(home.partition, partition, "{region}");
            assert!(PARTITIONS.contains(&home.partition.as_str()), "{region}");
            let arn = format!("arn:{partition}:lambda:{region}:123456789012:function:f");
            assert_eq!(home.unreachable(&arn), None, "{region}");
            assert_eq!(home.unreachable("f"), None);
        }
        let home = Home::in_region("eu-west-1", "123456789012");
        let far = "arn:aws:lambda:us-west-2:999999999999:function:f";
        assert_eq!(home.unreachable(far).as_deref(), Some("us-west-2"));
    }

    fn home() -> Option<Home> {
        Home::from_function_arn(HOME)
    }

    fn arn(region: &str, account: &str, name: &str) -> String {
        format!("arn:aws:lambda:{region}:{account}:function:{name}")
    }

    /// Patterns × functions, for a stack in eu-west-1 of account 123456789012.
    #[test]
    fn patterns_times_functions_at_home() {
        let own = |name: &str| arn("eu-west-1", "123456789012", name);
        let cases: Vec<(&str, String, bool)> = vec![
            ("orders-api", "orders-api".into(), true),
            ("orders-api", own("orders-api"), true),
            (
                "orders-api",
                arn("eu-west-1", "999999999999", "orders-api"),
                false,
            ),
            (
                "orders-api",
                arn("us-east-1", "123456789012", "orders-api"),
                false,
            ),
            (
                "orders-api",
                "arn:aws-cn:lambda:eu-west-1:123456789012:function:orders-api".into(),
                false,
            ),
            ("orders-*", own("orders-web"), true),
            (
                "orders-*",
                arn("eu-west-1", "999999999999", "orders-web"),
                false,
            ),
            ("orders-*", "orders".into(), false),
            ("*", own("anything"), true),
            ("*", arn("eu-west-1", "999999999999", "anything"), false),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:pay*",
                "payments".into(),
                true,
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:pay*",
                "payments".into(),
                false,
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:pay*",
                arn("us-east-1", "123456789012", "payments"),
                true,
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:pay*",
                arn("us-east-1", "123456789013", "payments"),
                false,
            ),
            // Wildcards outside the name, bad partitions and regions: the entry matches nothing.
            (
                "arn:aws:lambda:*:123456789012:function:payments",
                arn("us-east-1", "123456789012", "payments"),
                false,
            ),
            (
                "arn:awsXYZ:lambda:us-east-1:123456789012:function:payments",
                "arn:awsXYZ:lambda:us-east-1:123456789012:function:payments".into(),
                false,
            ),
            (
                "arn:aws:lambda:eu west 1:123456789012:function:payments",
                "arn:aws:lambda:eu west 1:123456789012:function:payments".into(),
                false,
            ),
            ("billing", "billing-2".into(), false),
            ("", "billing".into(), false),
        ];
        for (patterns, function, expected) in cases {
            let set = ManagedSet::parse(patterns).at(home());
            assert_eq!(set.contains(&function), expected, "{patterns} × {function}");
        }
    }

    #[test]
    fn without_a_home_names_match_names_and_arns_match_arns() {
        let set = ManagedSet::parse("orders-*,arn:aws:lambda:eu-west-1:123456789012:function:pay*");
        assert!(set.contains("orders-api"));
        assert!(!set.contains(&arn("eu-west-1", "123456789012", "orders-api")));
        assert!(set.contains(&arn("eu-west-1", "123456789012", "payments")));
        assert!(!set.contains("payments"));
        assert!(ManagedSet::everything().contains(&arn("us-east-1", "999999999999", "x")));
        let bad = ManagedSet::parse("ok, arn:aws:lambda:*:1:function:x ,has space");
        assert_eq!(
            bad.ignored(),
            ["arn:aws:lambda:*:1:function:x", "has space"]
        );
    }

    #[test]
    fn arns_are_read_strictly() {
        let ok = [
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
            "arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:f",
            "arn:aws-eusc:lambda:eusc-de-east-1:123456789012:function:f",
            "arn:aws:lambda:ap-southeast-5:123456789012:function:f",
        ];
        for text in ok {
            assert!(FunctionArn::parse(text, name_ok).is_ok(), "{text}");
        }
        let bad = [
            (
                "arn:awsXYZ:lambda:us-east-1:123456789012:function:f",
                "partition",
            ),
            ("arn:aws:lambda:*:123456789012:function:f", "region"),
            ("arn:aws:lambda:eu west 1:123456789012:function:f", "region"),
            ("arn:aws:lambda:US-EAST-1:123456789012:function:f", "region"),
            ("arn:aws:lambda:useast1:123456789012:function:f", "region"),
            ("arn:aws:lambda:us-east-1:12345678901:function:f", "account"),
            (
                "arn:aws:lambda:us-east-1:12345678901x:function:f",
                "account",
            ),
            ("arn:aws:lambda:us-east-1:123456789012:function:f:live", "8"),
            (
                "arn:aws:sqs:us-east-1:123456789012:function:f",
                "not a Lambda",
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:a b",
                "function name",
            ),
        ];
        for (text, says) in bad {
            let e = FunctionArn::parse(text, name_ok).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert_eq!(
            Home::from_function_arn(HOME).unwrap().account,
            "123456789012"
        );
        assert_eq!(Home::from_function_arn("not-an-arn"), None);
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
