//! Dispatches the definition's `lambda:invoke` Tasks: our handlers run in-process over the
//! account's fakes, users' hooks behave as scripted, and parked tasks hear the watch function
//! (alarm events, delivered in time order) and the operator controls.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shifter::ShifterError;
use shifter::domain::alias::function_short_name;
use shifter::fakes::TaskAnswer;
use shifter::ports::{AliasRouter, Clock};
use start_deployment::{Ports, StartEvent};
use watch::WatchEvent;

use super::account::{HookBehaviour, LocalAccount};
use super::lost::AnswerLost;
use crate::asl::{InvokeError, LambdaInvoker, Park, Parked, seconds_to_millis};

/// ARN prefix of functions in the simulated account.
pub const LOCAL_ARN_PREFIX: &str = "arn:aws:lambda:local-1:000000000000:function:";

/// Deliveries of an execution's status change the runner attempts (EventBridge makes up to 185).
const EVENT_RETRIES: usize = 10;

/// Our functions, by the `DefinitionSubstitutions` key that names them in the definition.
pub const OUR_FUNCTIONS: [(&str, &str); 6] = [
    ("StartDeploymentFunctionArn", "start-deployment"),
    ("ShiftTrafficFunctionArn", "shift-traffic"),
    ("CheckHealthFunctionArn", "check-health"),
    ("RollBackFunctionArn", "roll-back"),
    ("WatchFunctionArn", "watch"),
    ("RunHookFunctionArn", "run-hook"),
];

/// Invokes functions of `account`.
pub struct LocalInvoker<'a> {
    /// Where the functions live.
    pub account: &'a LocalAccount,
}

impl LocalInvoker<'_> {
    /// Runs our handler `name` on `payload`, exactly as its Lambda would.
    async fn ours(&self, name: &str, payload: Value) -> Result<Value, ShifterError> {
        let a = self.account;
        let lost = AnswerLost(a.router.as_ref());
        let router: &dyn AliasRouter = if a.lost_answers.covers(name) {
            &lost
        } else {
            a.router.as_ref()
        };
        let out = match name {
            "start-deployment" => {
                let event: StartEvent = decode(payload)?;
                let ports = Ports {
                    router,
                    registry: a.registry.as_ref(),
                    alarms: &a.alarms,
                    clock: &a.clock,
                    deployments: &a.deployments,
                    executions: &a.executions,
                    concurrency: a.concurrency.as_ref(),
                };
                start_deployment::start_deployment(&ports, &a.config, event).await?
            }
            "shift-traffic" => {
                shift_traffic::shift_traffic(router, &a.deployments, &a.clock, decode(payload)?)
                    .await?
            }
            "check-health" => {
                check_health::check_health(
                    &a.alarms,
                    &a.metrics,
                    a.concurrency.as_ref(),
                    &a.clock,
                    decode(payload)?,
                )
                .await?
            }
            "roll-back" => roll_back::roll_back(router, decode(payload)?).await?,
            "watch" => return self.watch(payload).await,
            other => return Err(ShifterError::not_found(format!("function {other}"))),
        };
        serde_json::to_value(out).map_err(|e| ShifterError::invalid("(output)", e.to_string()))
    }

    /// The watch function on one event; a park request's token starts waiting first (Step
    /// Functions hands it out before invoking).
    async fn watch(&self, payload: Value) -> Result<Value, ShifterError> {
        let a = self.account;
        let event = WatchEvent::from_json(payload)?;
        if let WatchEvent::Park(request) = &event {
            a.tasks.open(&request.task_token);
        }
        let ports = watch::Ports {
            registry: &a.deployments,
            alarms: &a.alarms,
            tasks: &a.tasks,
            router: a.router.as_ref(),
            events: &a.events,
            records: &a.records,
        };
        let outcome = watch::handle(&ports, event).await?;
        serde_json::to_value(outcome).map_err(|e| ShifterError::invalid("(output)", e.to_string()))
    }

    /// What EventBridge hands the watch function when execution `name` ends as `ending` says
    /// (`SUCCEEDED` or `FAILED` here): its registry entries are released.
    pub(super) async fn execution_ended(
        &self,
        arn: &str,
        name: &str,
        ending: Ending<'_>,
        input: &str,
    ) -> Vec<String> {
        let event = self.status_change(arn, name, &ending, input);
        // EventBridge retries a failed delivery with exponential backoff, for up to 24 hours and
        // 185 attempts (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html>);
        // the runner gives it EVENT_RETRIES, from 1 s doubling.
        let mut delay = chrono::TimeDelta::seconds(1);
        for _ in 0..EVENT_RETRIES {
            match self.watch(event.clone()).await {
                Ok(outcome) => {
                    let lines = outcome.get("undone").and_then(Value::as_array);
                    let text = lines.into_iter().flatten().filter_map(Value::as_str);
                    return text.map(str::to_owned).collect();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "execution end not handled; EventBridge retries");
                    self.account.clock.sleep(delay).await;
                    delay = delay * 2;
                }
            }
        }
        Vec::new()
    }

    /// What EventBridge hands the watch function when execution `name` starts (RUNNING): it
    /// puts STARTED. Retried as an ending is.
    pub(super) async fn execution_started(&self, arn: &str, name: &str, input: &str) {
        let running = Ending {
            status: "RUNNING",
            ..Ending::default()
        };
        let event = self.status_change(arn, name, &running, input);
        for _ in 0..EVENT_RETRIES {
            match self.watch(event.clone()).await {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "execution start not handled; EventBridge retries")
                }
            }
        }
    }

    /// A Step Functions Execution Status Change event, as EventBridge delivers it
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html>).
    fn status_change(&self, arn: &str, name: &str, ending: &Ending<'_>, input: &str) -> Value {
        let clock = &self.account.clock;
        let time = clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (start, now) = (
            clock.start().timestamp_millis(),
            clock.now().timestamp_millis(),
        );
        let stop = (ending.status != "RUNNING").then_some(now);
        json!({
            "version": "0", "id": format!("local-{name}-{}", ending.status),
            "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
            "account": "000000000000", "region": "local-1", "resources": [arn], "time": time,
            "detail": {"executionArn": arn, "stateMachineArn": crate::asl::STATE_MACHINE_ARN,
                "name": name, "status": ending.status, "input": input, "error": ending.error,
                "cause": ending.cause, "output": ending.output, "startDate": start,
                "stopDate": stop}
        })
    }

    /// Hands the watch function every alarm event due by now, in time order (an error is
    /// Lambda's to retry on AWS; here the next backstop read covers it).
    async fn deliver_alarm_events(&self) {
        let a = self.account;
        for event in a.alarm_events.due(&a.alarms, a.clock.now()) {
            if let Err(e) = self.watch(event).await {
                tracing::warn!(error = %e, "alarm event not handled");
            }
        }
    }

    /// Runs the scripted hook `short` (`function_name` as invoked), within `timeout_seconds`.
    async fn hook(
        &self,
        short: &str,
        function_name: &str,
        timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError> {
        let passed = || Ok(json!({"status": "Succeeded"}));
        match self.account.hook(short) {
            Some(HookBehaviour::Pass) => passed(),
            Some(HookBehaviour::Status(s)) => Ok(json!({ "status": s })),
            Some(HookBehaviour::Error(message)) => Err(InvokeError::Function {
                error_type: "Error".to_owned(),
                error_message: message,
            }),
            Some(HookBehaviour::Timeout) => Err(InvokeError::Timeout),
            Some(HookBehaviour::Flaky(0)) => passed(),
            Some(HookBehaviour::Flaky(left)) => {
                self.account.set_hook(short, HookBehaviour::Flaky(left - 1));
                Err(InvokeError::Service {
                    error: "Lambda.TooManyRequestsException".to_owned(),
                    cause: "Rate exceeded".to_owned(),
                })
            }
            Some(HookBehaviour::Slow(seconds)) => self.slow(seconds, timeout_seconds).await,
            Some(HookBehaviour::Large(bytes)) => {
                Ok(json!({"status": "Succeeded", "report": "x".repeat(bytes)}))
            }
            // It returns; its answer comes through its task token (see `hook_answer`).
            Some(HookBehaviour::Callback { .. }) => Ok(Value::Null),
            None => Err(InvokeError::Service {
                error: "Lambda.ResourceNotFoundException".to_owned(),
                cause: format!("Function not found: {function_name}"),
            }),
        }
    }

    /// The Run Hook function: the scripted hook (with its injected Lambda faults), its answer
    /// bounded and its error's message cut as the real function does.
    async fn run_hook(
        &self,
        payload: Value,
        timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError> {
        let event: run_hook::RunHookEvent = decode(payload).map_err(|e| InvokeError::Function {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        })?;
        let short = function_short_name(&event.hook);
        if let Some(fault) = self.injected_fault(&event.hook).await {
            return Err(fault);
        }
        match self.hook(short, &event.hook, timeout_seconds).await {
            Ok(answer) => {
                let bytes = serde_json::to_vec(&answer).unwrap_or_default();
                Ok(run_hook::bounded_answer(&bytes))
            }
            Err(InvokeError::Function {
                error_type,
                error_message,
            }) => {
                let failure = run_hook::bounded_failure(&error_type, &error_message);
                Err(InvokeError::Function {
                    error_type: failure.error_type,
                    error_message: failure.message,
                })
            }
            Err(other) => Err(other),
        }
    }

    /// The Lambda failure injected for `function_name`'s next invocation, if any, after the
    /// virtual time the failed invocation takes.
    async fn injected_fault(&self, function_name: &str) -> Option<InvokeError> {
        let fault = self
            .account
            .lambda_faults
            .take(function_short_name(function_name))?;
        let ran = chrono::TimeDelta::seconds(fault.seconds());
        self.account.clock.sleep(ran).await;
        Some(fault.error(function_name))
    }

    /// A callback hook's answer to its token: as scripted, or none (a hook that never calls
    /// back, e.g. one still written for CodeDeploy) — the task times out.
    fn hook_answer(&self, park: &Park) -> Parked {
        match self.account.hook(&park.function_name) {
            Some(HookBehaviour::Callback {
                after_seconds: Some(after),
                status,
            }) => Parked {
                after_millis: seconds_to_millis(after),
                answer: Ok(json!({ "status": status })),
            },
            _ => Parked::timed_out(park),
        }
    }

    /// A hook that runs `seconds` of virtual time: it passes, or times out past the limit.
    async fn slow(&self, seconds: u64, timeout_seconds: Option<u64>) -> Result<Value, InvokeError> {
        let limit = timeout_seconds.unwrap_or(u64::MAX);
        let ran = seconds.min(limit);
        let by = chrono::TimeDelta::seconds(i64::try_from(ran).unwrap_or(i64::MAX));
        self.account.clock.sleep(by).await;
        if seconds > limit {
            Err(InvokeError::Timeout)
        } else {
            Ok(json!({"status": "Succeeded"}))
        }
    }
}

/// A handler's payload, refused as its Lambda runtime would refuse it.
/// The alarms the parked deployment watches.
fn watched_alarms(park: &Park) -> Vec<String> {
    park.payload["deployment"]["alarms"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, ShifterError> {
    serde_json::from_value(payload).map_err(|e| ShifterError::invalid("(payload)", e.to_string()))
}

#[async_trait]
impl LambdaInvoker for LocalInvoker<'_> {
    /// Waits, in virtual time, for whichever answers the token first: the watch function
    /// (its park read, a pending alarm, or an alarm event delivered meanwhile), an operator, or
    /// nobody (the timeout).
    async fn park(&self, park: &Park) -> Parked {
        if function_short_name(&park.function_name) != "watch" {
            return self.hook_answer(park);
        }
        let a = self.account;
        let start = a.clock.now();
        let deadline = start + chrono::TimeDelta::milliseconds(park.timeout_millis());
        let watched = watched_alarms(park);
        let since = |at: DateTime<Utc>| (at - start).num_milliseconds();
        loop {
            self.deliver_alarm_events().await;
            let now = a.clock.now();
            if let Some(answer) = a.tasks.answer(&park.token) {
                let answer = match answer {
                    TaskAnswer::Success(output) => Ok(output),
                    TaskAnswer::Failure { error, cause } => {
                        Err(InvokeError::Callback { error, cause })
                    }
                    TaskAnswer::Closed => Err(InvokeError::Timeout),
                };
                return Parked {
                    after_millis: since(now),
                    answer,
                };
            }
            // A stop ends the wait at its time: the engine ends the execution there.
            let stop = a.controls.stop_time().filter(|at| *at < deadline);
            let operator = a
                .controls
                .next(park, stop.unwrap_or(deadline))
                .filter(|(at, _)| stop.is_none_or(|stop| *at < stop));
            let horizon = operator.map_or(stop.unwrap_or(deadline), |(at, _)| at);
            if let Some(at) = a.alarm_events.next_for(&a.alarms, &watched, now, horizon) {
                a.clock.sleep(at - now).await;
                continue;
            }
            // Answers sent at run time reach the token at the next look (see `listen_every`).
            if let Some(every) = a.controls.listening()
                && now + every < horizon
            {
                a.clock.sleep(every).await;
                continue;
            }
            a.tasks.close(&park.token);
            if let (None, Some(stop)) = (operator, stop) {
                return Parked {
                    after_millis: since(stop.max(now)),
                    answer: Err(InvokeError::Timeout),
                };
            }
            return match operator {
                Some((at, control)) => Parked {
                    after_millis: since(at),
                    answer: a.controls.take(control),
                },
                None => Parked::timed_out(park),
            };
        }
    }

    fn stop_at(&self) -> Option<DateTime<Utc>> {
        self.account.controls.stop_time()
    }

    async fn invoke(
        &self,
        function_name: &str,
        payload: Value,
        timeout_seconds: Option<u64>,
    ) -> Result<Value, InvokeError> {
        self.deliver_alarm_events().await;
        let short = function_short_name(function_name);
        if let Some(fault) = self.injected_fault(function_name).await {
            return Err(fault);
        }
        if short == "run-hook" {
            return self.run_hook(payload, timeout_seconds).await;
        }
        if !OUR_FUNCTIONS.iter().any(|(_, n)| *n == short) {
            return self.hook(short, function_name, timeout_seconds).await;
        }
        self.ours(short, payload)
            .await
            .map_err(|e| InvokeError::Function {
                error_type: e.kind().to_owned(),
                error_message: e.to_string(),
            })
    }
}

/// How an execution ended, as its status change carries it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ending<'a> {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` (or `RUNNING` at the start).
    pub status: &'a str,
    /// Its error, once failed.
    pub error: Option<&'a str>,
    /// Its cause, once failed.
    pub cause: Option<&'a str>,
    /// Its output as text, once succeeded.
    pub output: Option<&'a str>,
}
