//! Invocations that fail before the function answers, with the error names Step Functions gives
//! them: a handler that crashes (`Lambda.Unknown`), one that runs past its function timeout
//! (`Sandbox.Timedout`), and the Lambda service's own failures
//! (`Lambda.ClientExecutionTimeoutException`, `Lambda.ServiceException`).
//!
//! <https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>:
//! "Unhandled errors in Lambda are reported as Lambda.Unknown in the error output. These include
//! out-of-memory errors and function timeouts"; a function that runs out of its own timeout
//! reports `Sandbox.Timedout`
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>).

use std::collections::{BTreeMap, VecDeque};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::asl::InvokeError;

/// Virtual seconds a timed-out function ran: the `Timeout` of our functions in template.yaml.
pub const FUNCTION_TIMEOUT_SECONDS: i64 = 30;

/// How one invocation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaFault {
    /// The handler crashed without an error type (e.g. out of memory): `Lambda.Unknown`.
    Crash,
    /// The handler ran past its function timeout: `Sandbox.Timedout`, after that long.
    Timeout,
    /// The invoke call to Lambda timed out: `Lambda.ClientExecutionTimeoutException`.
    ClientTimeout,
    /// Lambda answered with a 500: `Lambda.ServiceException`.
    ServiceError,
}

impl LambdaFault {
    /// Every fault, by the error name Step Functions reports.
    pub const ALL: [LambdaFault; 4] = [
        LambdaFault::Crash,
        LambdaFault::Timeout,
        LambdaFault::ClientTimeout,
        LambdaFault::ServiceError,
    ];

    /// The Step Functions error name.
    pub fn error_name(self) -> &'static str {
        match self {
            LambdaFault::Crash => "Lambda.Unknown",
            LambdaFault::Timeout => "Sandbox.Timedout",
            LambdaFault::ClientTimeout => "Lambda.ClientExecutionTimeoutException",
            LambdaFault::ServiceError => "Lambda.ServiceException",
        }
    }

    /// Virtual seconds the failed invocation takes.
    pub fn seconds(self) -> i64 {
        match self {
            LambdaFault::Timeout => FUNCTION_TIMEOUT_SECONDS,
            _ => 0,
        }
    }

    /// The task failure Step Functions records for `function`.
    pub fn error(self, function: &str) -> InvokeError {
        let cause = match self {
            LambdaFault::Crash => format!(
                "The cause could not be determined because Lambda did not return an error type. \
                 Returned payload: {{\"errorMessage\":\"RequestId: local Error: Runtime exited \
                 with error: signal: killed\"}} ({function})"
            ),
            LambdaFault::Timeout => format!(
                "{{\"errorMessage\":\"RequestId: local Error: Task timed out after \
                 {FUNCTION_TIMEOUT_SECONDS}.00 seconds\",\"errorType\":\"Sandbox.Timedout\"}} \
                 ({function})"
            ),
            LambdaFault::ClientTimeout => {
                "Client execution did not complete before the specified timeout configuration."
                    .to_owned()
            }
            LambdaFault::ServiceError => "Service error (Service: Lambda, Status Code: 500)".into(),
        };
        InvokeError::Service {
            error: self.error_name().to_owned(),
            cause,
        }
    }
}

impl FromStr for LambdaFault {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.error_name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.error_name()).collect();
                format!(
                    "unknown Lambda error {name:?}: use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The faults waiting for each function's next invocations, by short function name.
#[derive(Debug, Clone, Default)]
pub struct LambdaFaults(Arc<Mutex<BTreeMap<String, VecDeque<LambdaFault>>>>);

impl LambdaFaults {
    /// The next `times` invocations of `function` fail with `fault` (after those already queued).
    pub fn push(&self, function: &str, fault: LambdaFault, times: u32) {
        let mut queues = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queues.entry(function.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(fault, times as usize));
    }

    /// The fault this invocation of `function` meets, if any.
    pub(super) fn take(&self, function: &str) -> Option<LambdaFault> {
        let mut queues = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        queues.get_mut(function).and_then(VecDeque::pop_front)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_queues_drain_in_order() {
        for fault in LambdaFault::ALL {
            assert_eq!(fault.error_name().parse::<LambdaFault>(), Ok(fault));
        }
        assert!("Lambda.Nope".parse::<LambdaFault>().is_err());
        let faults = LambdaFaults::default();
        faults.push("roll-back", LambdaFault::Timeout, 2);
        faults.push("roll-back", LambdaFault::Crash, 1);
        let taken: Vec<_> = std::iter::from_fn(|| faults.take("roll-back")).collect();
        use LambdaFault::{Crash, Timeout};
        assert_eq!(taken, vec![Timeout, Timeout, Crash]);
        assert_eq!(faults.take("check-health"), None);
    }
}
