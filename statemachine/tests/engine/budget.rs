//! Every input validation accepts finishes within Step Functions' history quota (issue 11): over
//! long bakes, many steps, long approval gates nobody answers, hooks and the shortest check
//! interval, a run through the shipped definition ends on its own terms (never `States.Runtime`),
//! writes no more history events than the domain's worst case, and that worst case is within
//! the budget Start Deployment enforces.
//!
//! `PROPTEST_CASES` overrides the case count.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use shifter::domain::DeploymentRequest;
use shifter::domain::approval::MAX_APPROVAL_TIMEOUT_SECONDS;
use shifter::domain::limits::{self, HISTORY_EVENT_BUDGET, HISTORY_EVENT_QUOTA};
use shifter::domain::strategy::MAX_BAKE_SECONDS;
use shifter_statemachine::asl::{HISTORY_EVENT_LIMIT, RUNTIME};
use shifter_statemachine::local::{self, LocalAccount, Outcome};

/// One step as generated: its bake and whether it waits for approval.
#[derive(Debug, Clone)]
struct GenStep {
    bake: u32,
    approval: bool,
}

/// A generated input, before it is brought within the budget.
#[derive(Debug, Clone)]
struct Case {
    steps: Vec<GenStep>,
    interval: u32,
    hooks: bool,
    post_bake: u32,
    before_promote: bool,
    timeout: u32,
    default_approve: bool,
}

fn bake() -> impl Strategy<Value = u32> {
    prop_oneof![
        2 => 1u32..=600,
        1 => Just(MAX_BAKE_SECONDS),
        1 => 1u32..=MAX_BAKE_SECONDS,
    ]
}

fn step() -> impl Strategy<Value = GenStep> {
    (bake(), prop::bool::weighted(0.2)).prop_map(|(bake, approval)| GenStep { bake, approval })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            prop::collection::vec(step(), 1..=3),
            prop::collection::vec(step(), 1..=40)
        ],
        prop_oneof![2 => Just(5u32), 1 => 5u32..=3600],
        any::<bool>(),
        prop_oneof![Just(0u32), 1u32..=MAX_BAKE_SECONDS],
        any::<bool>(),
        prop_oneof![
            Just(MAX_APPROVAL_TIMEOUT_SECONDS),
            1u32..=MAX_APPROVAL_TIMEOUT_SECONDS
        ],
        prop::bool::weighted(0.7),
    )
        .prop_map(
            |(steps, interval, hooks, post_bake, before_promote, timeout, default_approve)| Case {
                steps,
                interval,
                hooks,
                post_bake,
                before_promote,
                timeout,
                default_approve,
            },
        )
}

/// The demo input for `case`, with weights spread evenly below 100%.
fn input_of(case: &Case) -> Value {
    let count = u32::try_from(case.steps.len()).unwrap_or(u32::MAX);
    let steps: Vec<Value> = (1..=count)
        .zip(&case.steps)
        .map(|(i, s)| json!({"weight": i * 99 / count, "bakeSeconds": s.bake, "approval": s.approval}))
        .collect();
    let mut input = LocalAccount::demo_input("AllAtOnce");
    input["strategy"] = json!({ "steps": steps });
    input["checkIntervalSeconds"] = json!(case.interval);
    input["postPromotionBakeSeconds"] = json!(case.post_bake);
    input["approvalBeforePromote"] = json!(case.before_promote);
    input["approvalTimeoutSeconds"] = json!(case.timeout);
    let default = if case.default_approve {
        "approve"
    } else {
        "rollback"
    };
    input["approvalDefault"] = json!(default);
    if !case.hooks {
        input.as_object_mut().map(|o| o.remove("hooks"));
    }
    input
}

/// The number a refusal tells to use (`is 5: use 423 or more; …`).
fn suggested(message: &str) -> Option<u32> {
    let (_, after) = message.split_once("use ")?;
    after.split(' ').next()?.parse().ok()
}

/// `case` brought within the budget the way a user would follow the refusals: the interval or
/// the gate timeout each refusal names, and when it names the strategy, one step fewer. Each
/// suggested value is checked to be accepted (or refused for another field).
fn accepted(mut case: Case) -> Result<(Case, DeploymentRequest), TestCaseError> {
    loop {
        let e = match DeploymentRequest::from_json(&input_of(&case)) {
            Ok(request) => return Ok((case, request)),
            Err(e) => e,
        };
        match e.field.as_str() {
            "checkIntervalSeconds" => {
                let fits =
                    suggested(&e.message).ok_or_else(|| TestCaseError::fail(e.to_string()))?;
                prop_assert!(fits > case.interval, "{e}");
                case.interval = fits;
            }
            "approvalTimeoutSeconds" => {
                let fits =
                    suggested(&e.message).ok_or_else(|| TestCaseError::fail(e.to_string()))?;
                prop_assert!(fits < case.timeout, "{e}");
                (case.timeout, case.interval) = (fits, 3600);
            }
            "strategy" if case.steps.len() > 1 => {
                case.steps.pop();
            }
            _ => return Err(TestCaseError::fail(format!("refused: {e}"))),
        }
    }
}

fn check(case: Case) -> Result<(), TestCaseError> {
    let (case, request) = accepted(case)?;
    let estimate = limits::history_events(&request);
    prop_assert!(estimate.worst_case <= HISTORY_EVENT_BUDGET, "{estimate:?}");
    let account = LocalAccount::demo();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let run = rt
        .block_on(local::run(&account, input_of(&case), "budget", &mut |_| {}))
        .map_err(|e| TestCaseError::fail(format!("runner: {e}")))?;
    let execution = &run.execution;
    prop_assert_ne!(
        execution.error.as_deref(),
        Some(RUNTIME),
        "{:?}",
        execution.cause
    );
    let gated = request.approval.before_promote || !request.approval.steps.is_empty();
    let expected = if gated && !case.default_approve {
        Outcome::RolledBack
    } else {
        Outcome::Succeeded
    };
    prop_assert_eq!(run.summary.outcome, expected, "{:?}", execution.cause);
    prop_assert!(
        execution.history_events <= estimate.worst_case,
        "{} events, estimated at most {estimate:?}",
        execution.history_events
    );
    if expected == Outcome::Succeeded {
        // Nobody answers: every gate waits its whole timeout, which is what the count assumes.
        prop_assert_eq!(execution.history_events, estimate.succeeding);
    }
    Ok(())
}

/// `case` on an alias with provisioned concurrency reallocated in `allocation` seconds after
/// every write, each write allowed `timeout` seconds for READY: brought within the budget the
/// way a user would follow Start Deployment's refusals (the timeout or the interval each names;
/// when it names the strategy, one step fewer), then run.
fn check_provisioned(case: Case, allocation: u32, timeout: u32) -> Result<(), TestCaseError> {
    let (mut case, mut timeout) = (case, timeout);
    let request = loop {
        let (now, mut request) = accepted(case.clone())?;
        case = now;
        request.provisioned_concurrency.ready_timeout_seconds = timeout;
        // The default poll is resolved to the shortest that fits, as Start Deployment does.
        let e = match limits::check_provisioned_concurrency_budget(&request) {
            Ok(wait) => {
                request.provisioned_concurrency = wait;
                break request;
            }
            Err(e) => e,
        };
        let fits = suggested(&e.message);
        match (e.field.as_str(), fits) {
            ("provisionedConcurrency.readyTimeoutSeconds", Some(fits)) => {
                prop_assert!(fits < timeout, "{e}");
                timeout = fits;
            }
            // Never named here: the test leaves pollSeconds to its default.
            ("provisionedConcurrency.pollSeconds", _) => {
                return Err(TestCaseError::fail(format!("a default poll refused: {e}")));
            }
            ("checkIntervalSeconds", Some(fits)) => {
                prop_assert!(fits > case.interval, "{e}");
                case.interval = fits;
            }
            ("strategy", _) if case.steps.len() > 1 => {
                case.steps.pop();
            }
            _ => return Err(TestCaseError::fail(format!("refused: {e}"))),
        }
    };
    let worst = limits::history_events(&request).worst_case
        + limits::provisioned_concurrency_events(&request, None);
    prop_assert!(worst <= HISTORY_EVENT_BUDGET, "{worst}");
    let account = LocalAccount::demo();
    account
        .lambda
        .set_provisioned_concurrency("demo", "live", 10, allocation);
    let mut input = input_of(&case);
    input["provisionedConcurrency"] = json!({ "readyTimeoutSeconds": timeout });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let run = rt
        .block_on(local::run(&account, input, "budget-pc", &mut |_| {}))
        .map_err(|e| TestCaseError::fail(format!("runner: {e}")))?;
    let execution = &run.execution;
    prop_assert_ne!(execution.error.as_deref(), Some(RUNTIME));
    prop_assert!(
        execution.history_events <= worst,
        "{} events, estimated at most {worst}",
        execution.history_events
    );
    let gated = request.approval.before_promote || !request.approval.steps.is_empty();
    if (!gated || case.default_approve) && allocation <= timeout {
        prop_assert_eq!(
            run.summary.outcome,
            Outcome::Succeeded,
            "{:?}",
            execution.cause
        );
        let expected = limits::history_events(&request).succeeding
            + limits::provisioned_concurrency_events(&request, Some(allocation));
        prop_assert_eq!(execution.history_events, expected);
    } else {
        prop_assert_eq!(
            run.summary.outcome,
            Outcome::RolledBack,
            "{:?}",
            execution.cause
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

#[test]
fn the_budget_is_below_the_quota_the_runner_enforces() {
    assert_eq!(HISTORY_EVENT_QUOTA, HISTORY_EVENT_LIMIT);
    const { assert!(HISTORY_EVENT_BUDGET < HISTORY_EVENT_QUOTA) };
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x00b0_d6e7),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Accepted inputs end on their own terms within the estimate, and the estimate is within
    /// the budget.
    #[test]
    fn every_accepted_input_finishes_within_its_estimate_and_the_budget(case in case()) {
        check(case)?;
    }

    /// The same on an alias with provisioned concurrency: Start Deployment's count of the
    /// waits for READY bounds what a run writes, and is exact for a run that succeeds.
    #[test]
    fn every_accepted_input_on_a_provisioned_alias_finishes_within_its_estimate(
        case in case(),
        allocation in prop_oneof![0u32..=120, 0u32..=4000],
        timeout in prop_oneof![Just(900u32), 60u32..=3600],
    ) {
        check_provisioned(case, allocation, timeout)?;
    }
}
