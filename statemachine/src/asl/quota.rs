//! The history quota as the interpreter enforces it, derived from the one definition of the
//! quota, [`HISTORY_EVENT_QUOTA`].

use shifter::domain::limits::HISTORY_EVENT_QUOTA;

/// Step Functions' hard quota of events in one Standard execution's history: "When an execution
/// reaches 24,999 events, it waits for the next event to happen. If the event number 25,000 is
/// ExecutionSucceeded, the execution finishes successfully [...] If [it] isn't
/// ExecutionSucceeded, the ExecutionFailed event is logged" —
/// <https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/limits.html>.
pub const HISTORY_EVENT_LIMIT: u64 = HISTORY_EVENT_QUOTA;

/// The cause of the `States.Runtime` failure an execution ends with at the history limit, as
/// AWS reports it (recorded in <https://github.com/loads/ardere/issues/86>: `{"error":
/// "States.Runtime", "cause": "The execution reached the maximum number of history events
/// (25000)."}`). No Retry or Catch sees it.
pub const HISTORY_LIMIT_CAUSE: &str = match std::str::from_utf8(&CAUSE) {
    Ok(cause) => cause,
    Err(_) => panic!("the cause is ASCII"),
};

const CAUSE_PREFIX: &str = "The execution reached the maximum number of history events (";
const CAUSE_SUFFIX: &str = ").";
const LIMIT_DIGITS: usize = digits(HISTORY_EVENT_LIMIT);

/// [`HISTORY_LIMIT_CAUSE`]'s bytes: the prefix, the limit in decimal, the suffix.
const CAUSE: [u8; CAUSE_PREFIX.len() + LIMIT_DIGITS + CAUSE_SUFFIX.len()] = {
    let mut out = [0u8; CAUSE_PREFIX.len() + LIMIT_DIGITS + CAUSE_SUFFIX.len()];
    let prefix = CAUSE_PREFIX.as_bytes();
    let mut i = 0;
    while i < prefix.len() {
        out[i] = prefix[i];
        i += 1;
    }
    let mut rest = HISTORY_EVENT_LIMIT;
    let mut at = prefix.len() + LIMIT_DIGITS;
    while at > prefix.len() {
        at -= 1;
        out[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let suffix = CAUSE_SUFFIX.as_bytes();
    let mut k = 0;
    while k < suffix.len() {
        out[prefix.len() + LIMIT_DIGITS + k] = suffix[k];
        k += 1;
    }
    out
};

/// The number of decimal digits of `n`.
const fn digits(mut n: u64) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_the_one_aws_reports_for_the_quota() {
        assert_eq!(HISTORY_EVENT_LIMIT, 25_000);
        assert_eq!(
            HISTORY_LIMIT_CAUSE,
            "The execution reached the maximum number of history events (25000)."
        );
        assert_eq!(
            (digits(0), digits(9), digits(10), digits(25_000)),
            (1, 1, 2, 5)
        );
    }
}
