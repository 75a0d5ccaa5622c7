//! Running one execution: state dispatch, I/O processing, Retry, Catch and the virtual clock.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use shifter::fakes::ManualClock;
use shifter::ports::Clock;

use super::definition::{
    Catcher, Kind, Message, Resource, Retrier, State, StateMachine, Task, Then, Timeout, WaitFor,
};
use super::path::{Path, Scope};
use super::{
    EventKind, Execution, ExecutionStatus, Failure, HistoryEvent, InvokeError, LambdaInvoker, Park,
    RunError,
};

/// Step Functions' history limit; a local run past it is a runaway loop.
const TRANSITION_LIMIT: u64 = 25_000;
const STATE_MACHINE_NAME: &str = "local";
const ARN_PREFIX: &str = "arn:aws:states:local:000000000000";
const ALL: &str = "States.ALL";
const TASK_FAILED: &str = "States.TaskFailed";
const TIMEOUT: &str = "States.Timeout";

/// What a state decided.
enum Step {
    Next(usize, Value),
    Succeed(Value),
    Fail(Option<String>, Option<String>),
}

/// How an execution ended.
enum Ending {
    Succeeded(Value),
    Failed(Option<String>, Option<String>),
}

impl From<Failure> for Step {
    fn from(failure: Failure) -> Self {
        Step::Fail(Some(failure.error), Some(failure.cause))
    }
}

impl From<InvokeError> for Failure {
    fn from(error: InvokeError) -> Self {
        match error {
            InvokeError::Function {
                error_type,
                error_message,
            } => {
                let cause =
                    json!({"errorMessage": error_message, "errorType": error_type, "trace": []});
                Failure::new(error_type, cause.to_string())
            }
            InvokeError::Service { error, cause } | InvokeError::Callback { error, cause } => {
                Failure::new(error, cause)
            }
            InvokeError::Timeout => Failure::new(TIMEOUT, "The task timed out."),
        }
    }
}

fn then(then: Then, output: Value) -> Step {
    match then {
        Then::Next(next) => Step::Next(next, output),
        Then::End => Step::Succeed(output),
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// InputPath or OutputPath: `null` yields `{}`; a path selecting nothing is `States.Runtime`.
fn select(path: Option<&Path>, value: &Value, field: &str) -> Result<Value, Failure> {
    match path {
        None => Ok(json!({})),
        Some(path) => path.select(value).cloned().ok_or_else(|| {
            Failure::runtime(format!(
                "Invalid path '{path}' : The {field} could not be found in the input '{value}'"
            ))
        }),
    }
}

/// ResultPath: `null` keeps the raw input; otherwise the result is written into it.
fn merge(path: Option<&Path>, raw: &Value, result: Value) -> Result<Value, Failure> {
    match path {
        None => Ok(raw.clone()),
        Some(path) => path
            .write(raw.clone(), result)
            .map_err(|cause| Failure::new("States.ResultPathMatchFailure", cause)),
    }
}

/// Whether an ErrorEquals list matches; nothing matches `States.Runtime`.
fn matches(names: &[String], error: &str) -> bool {
    error != super::RUNTIME
        && names
            .iter()
            .any(|name| name == error || name == ALL || (name == TASK_FAILED && error != TIMEOUT))
}

/// A deterministic fraction in [0, 1) so FULL jitter is reproducible across runs.
fn jitter_fraction(execution: &str, state: &str, attempt: u32) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = execution.bytes().chain([0]).chain(state.bytes()).chain([0]);
    for byte in bytes.chain(attempt.to_le_bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64 finaliser: FNV alone leaves the high bits poorly mixed for short inputs.
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

impl Retrier {
    /// The delay before this retrier's `attempt` (from 1), in milliseconds.
    fn delay_millis(&self, attempt: u32, execution: &str, state: &str) -> i64 {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let mut delay = self.interval_seconds as f64 * self.backoff_rate.powi(exponent);
        if let Some(cap) = self.max_delay_seconds {
            delay = delay.min(cap as f64);
        }
        if self.full_jitter {
            delay *= jitter_fraction(execution, state, attempt);
        }
        (delay * 1000.0).round() as i64
    }
}

/// One execution in progress.
struct Run<'r> {
    machine: &'r StateMachine,
    invoker: &'r dyn LambdaInvoker,
    clock: &'r ManualClock,
    name: &'r str,
    input: Value,
    start_time: String,
    observer: &'r mut (dyn FnMut(&HistoryEvent) + Send),
    events: Vec<HistoryEvent>,
    transitions: u64,
    retries: u64,
    final_state: String,
    /// Milliseconds a Wait state asked for, slept once the state is done.
    pending_wait: Option<i64>,
    /// Task tokens handed out so far.
    tokens: u64,
}

impl StateMachine {
    /// Runs one execution to its end.
    pub async fn run(
        &self,
        invoker: &dyn LambdaInvoker,
        clock: &ManualClock,
        input: Value,
        execution_name: &str,
        observer: &mut (dyn FnMut(&HistoryEvent) + Send),
    ) -> Result<Execution, RunError> {
        let mut run = Run {
            machine: self,
            invoker,
            clock,
            name: execution_name,
            input,
            start_time: timestamp(clock.now()),
            observer,
            events: Vec::new(),
            transitions: 0,
            retries: 0,
            final_state: String::new(),
            pending_wait: None,
            tokens: 0,
        };
        let (status, output, error, cause) = match run.drive().await? {
            Ending::Succeeded(output) => (ExecutionStatus::Succeeded, Some(output), None, None),
            Ending::Failed(error, cause) => (ExecutionStatus::Failed, None, error, cause),
        };
        Ok(Execution {
            status,
            output,
            error,
            cause,
            final_state: run.final_state,
            transitions: run.transitions,
            retries: run.retries,
            events: run.events,
        })
    }
}

impl<'r> Run<'r> {
    fn emit(&mut self, kind: EventKind) {
        let event = HistoryEvent {
            at_seconds: self.clock.elapsed_secs(),
            kind,
        };
        (self.observer)(&event);
        self.events.push(event);
    }

    fn count_transition(&mut self, state: &str) -> Result<(), RunError> {
        self.transitions += 1;
        if self.transitions > TRANSITION_LIMIT {
            return Err(RunError::TransitionLimit {
                execution: self.name.to_string(),
                limit: TRANSITION_LIMIT,
                state: state.to_string(),
            });
        }
        Ok(())
    }

    fn context(&self, state: &State, entered: DateTime<Utc>, retry_count: u32) -> Value {
        let mut context = self.base_context(state, entered, retry_count);
        if let Kind::Task(task) = &state.kind
            && task.resource == Resource::PutEventsWaitForTaskToken
        {
            context["Task"] = json!({"Token": self.token()});
        }
        context
    }

    /// The token the next park attempt gets: unique per execution, deterministic.
    fn token(&self) -> String {
        let seed = format!("{}/{}", self.name, self.tokens);
        let hash = jitter_fraction(&seed, "token", 0).to_bits();
        format!("AQCEAAAAKgAAAA{hash:016x}{:08x}", self.tokens)
    }

    fn base_context(&self, state: &State, entered: DateTime<Utc>, retry_count: u32) -> Value {
        json!({
            "Execution": {
                "Id": format!("{ARN_PREFIX}:execution:{STATE_MACHINE_NAME}:{}", self.name),
                "Input": self.input,
                "Name": self.name,
                "StartTime": self.start_time,
            },
            "State": {
                "EnteredTime": timestamp(entered),
                "Name": state.name,
                "RetryCount": retry_count,
            },
            "StateMachine": {
                "Id": format!("{ARN_PREFIX}:stateMachine:{STATE_MACHINE_NAME}"),
                "Name": STATE_MACHINE_NAME,
            },
        })
    }

    async fn drive(&mut self) -> Result<Ending, RunError> {
        let machine = self.machine;
        let mut index = machine.start_at;
        let mut input = self.input.clone();
        loop {
            let state = &machine.states[index];
            self.count_transition(&state.name)?;
            self.final_state.clone_from(&state.name);
            self.emit(EventKind::StateEntered {
                name: state.name.clone(),
                input: input.clone(),
            });
            let step = self.step(state, input).await?;
            match &step {
                Step::Next(_, output) | Step::Succeed(output) => {
                    self.emit(EventKind::StateExited {
                        name: state.name.clone(),
                        output: output.clone(),
                    })
                }
                Step::Fail(..) => {}
            }
            match step {
                Step::Next(next, output) => {
                    index = next;
                    input = output;
                }
                Step::Succeed(output) => {
                    self.emit(EventKind::ExecutionSucceeded {
                        output: output.clone(),
                    });
                    return Ok(Ending::Succeeded(output));
                }
                Step::Fail(error, cause) => {
                    self.emit(EventKind::ExecutionFailed {
                        error: error.clone(),
                        cause: cause.clone(),
                    });
                    return Ok(Ending::Failed(error, cause));
                }
            }
        }
    }

    async fn step(&mut self, state: &'r State, raw: Value) -> Result<Step, RunError> {
        let entered = self.clock.now();
        if let Kind::Task(task) = &state.kind {
            return self.task(state, task, raw, entered).await;
        }
        let context = self.context(state, entered, 0);
        let step = self
            .local_step(state, &raw, &context)
            .unwrap_or_else(Step::from);
        if let Some(millis) = self.pending_wait.take() {
            // Other executions sharing the clock run while this one waits.
            self.clock.sleep(TimeDelta::milliseconds(millis)).await;
        }
        Ok(step)
    }

    /// Every state but Task: none of them can retry or catch.
    fn local_step(&mut self, state: &State, raw: &Value, context: &Value) -> Result<Step, Failure> {
        let output_path = state.output_path.as_ref();
        if let Kind::Fail { error, cause } = &state.kind {
            let scope = Scope {
                input: raw,
                context,
            };
            return Ok(Step::Fail(
                fail_message(error.as_ref(), &scope, "ErrorPath")?,
                fail_message(cause.as_ref(), &scope, "CausePath")?,
            ));
        }
        let effective = select(state.input_path.as_ref(), raw, "InputPath")?;
        let scope = Scope {
            input: &effective,
            context,
        };
        Ok(match &state.kind {
            Kind::Pass {
                parameters,
                result,
                result_path,
                then: next,
            } => {
                let effective = match parameters {
                    Some(template) => template.eval(&scope)?,
                    None => effective.clone(),
                };
                let result = result.clone().unwrap_or(effective);
                let merged = merge(result_path.as_ref(), raw, result)?;
                then(*next, select(output_path, &merged, "OutputPath")?)
            }
            Kind::Wait { wait, then: next } => {
                let millis = self.wait_millis(wait, &scope)?;
                self.emit(EventKind::Waiting {
                    state: state.name.clone(),
                    seconds: millis as f64 / 1000.0,
                });
                self.pending_wait = Some(millis);
                then(*next, select(output_path, &effective, "OutputPath")?)
            }
            Kind::Choice { choices, default } => {
                let mut chosen = *default;
                for (rule, next) in choices {
                    if rule.eval(&scope)? {
                        chosen = Some(*next);
                        break;
                    }
                }
                let next = chosen.ok_or_else(|| {
                    Failure::new(
                        "States.NoChoiceMatched",
                        format!(
                            "No Choice rule matched and there is no Default in state '{}'",
                            state.name
                        ),
                    )
                })?;
                Step::Next(next, select(output_path, &effective, "OutputPath")?)
            }
            Kind::Succeed => Step::Succeed(select(output_path, &effective, "OutputPath")?),
            Kind::Task(_) | Kind::Fail { .. } => Step::Fail(None, None),
        })
    }

    fn wait_millis(&self, wait: &WaitFor, scope: &Scope<'_>) -> Result<i64, Failure> {
        let found = |path: &Path| {
            scope.select(path).ok_or_else(|| {
                Failure::runtime(format!(
                    "The Wait path '{path}' could not be found in the input"
                ))
            })
        };
        let until = |at: DateTime<Utc>| (at - self.clock.now()).num_milliseconds().max(0);
        match wait {
            WaitFor::Seconds(seconds) => Ok(*seconds as i64 * 1000),
            WaitFor::Timestamp(at) => Ok(until(*at)),
            WaitFor::SecondsPath(path) => {
                let value = found(path)?;
                value
                    .as_u64()
                    .or_else(|| value.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
                    .and_then(|seconds| i64::try_from(seconds).ok()?.checked_mul(1000))
                    .ok_or_else(|| {
                        Failure::runtime(format!(
                            "The SecondsPath '{path}' must select a non-negative integer, not {value}"
                        ))
                    })
            }
            WaitFor::TimestampPath(path) => {
                let value = found(path)?;
                value
                    .as_str()
                    .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                    .map(|at| until(at.with_timezone(&Utc)))
                    .ok_or_else(|| {
                        Failure::runtime(format!(
                            "The TimestampPath '{path}' must select an RFC3339 timestamp, not {value}"
                        ))
                    })
            }
        }
    }

    /// A Task: attempts, then retries, then catchers, in that order.
    async fn task(
        &mut self,
        state: &'r State,
        task: &'r Task,
        raw: Value,
        entered: DateTime<Utc>,
    ) -> Result<Step, RunError> {
        let mut attempts = vec![0u32; task.retry.len()];
        let mut retry_count = 0u32;
        loop {
            let context = self.context(state, entered, retry_count);
            let failure = match self.attempt(state, task, &raw, &context).await {
                Ok(output) => return Ok(then(task.then, output)),
                Err(failure) if failure.is_runtime() => return Ok(failure.into()),
                Err(failure) => failure,
            };
            self.emit(EventKind::TaskFailed {
                state: state.name.clone(),
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            });
            // Only the first matching retrier applies, even when it is exhausted.
            if let Some((retrier, used)) = task
                .retry
                .iter()
                .zip(attempts.iter_mut())
                .find(|(retrier, _)| matches(&retrier.errors, &failure.error))
                && *used < retrier.max_attempts
            {
                *used += 1;
                retry_count += 1;
                self.retries += 1;
                self.count_transition(&state.name)?;
                let millis = retrier.delay_millis(*used, self.name, &state.name);
                self.emit(EventKind::Retrying {
                    state: state.name.clone(),
                    attempt: *used,
                    delay_seconds: millis as f64 / 1000.0,
                });
                self.clock.sleep(TimeDelta::milliseconds(millis)).await;
                continue;
            }
            return Ok(
                match task
                    .catch
                    .iter()
                    .find(|c| matches(&c.errors, &failure.error))
                {
                    Some(catcher) => self.catch(state, catcher, &raw, failure),
                    None => failure.into(),
                },
            );
        }
    }

    fn catch(&mut self, state: &State, catcher: &Catcher, raw: &Value, failure: Failure) -> Step {
        let error_output = json!({"Error": failure.error, "Cause": failure.cause});
        match merge(catcher.result_path.as_ref(), raw, error_output) {
            Ok(output) => {
                self.emit(EventKind::Caught {
                    state: state.name.clone(),
                    error: failure.error,
                    next: self.machine.states[catcher.next].name.clone(),
                });
                Step::Next(catcher.next, output)
            }
            Err(failure) => failure.into(),
        }
    }

    /// One attempt: InputPath → Parameters → invoke → ResultSelector → ResultPath → OutputPath.
    async fn attempt(
        &mut self,
        state: &State,
        task: &Task,
        raw: &Value,
        context: &Value,
    ) -> Result<Value, Failure> {
        let effective = select(state.input_path.as_ref(), raw, "InputPath")?;
        let parameters = task.parameters.eval(&Scope {
            input: &effective,
            context,
        })?;
        let timeout_seconds = match &task.timeout {
            Timeout::None => None,
            Timeout::Seconds(seconds) => Some(*seconds),
            Timeout::Path(path) => {
                let value = path.select(&effective).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The TimeoutSecondsPath '{path}' could not be found in the input"
                    ))
                })?;
                Some(value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The TimeoutSecondsPath '{path}' must select a positive integer, not {value}"
                    ))
                })?)
            }
        };
        self.emit(EventKind::TaskScheduled {
            state: state.name.clone(),
            resource: task.resource.arn().to_owned(),
            parameters: parameters.clone(),
            timeout_seconds,
        });
        let result = match task.resource {
            Resource::LambdaInvoke => {
                let function = parameters
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Failure::runtime("FunctionName must be a string"))?;
                let payload = parameters.get("Payload").cloned().unwrap_or(Value::Null);
                let returned = self
                    .invoker
                    .invoke(function, payload, timeout_seconds)
                    .await?;
                json!({"ExecutedVersion": "$LATEST", "Payload": returned, "StatusCode": 200})
            }
            Resource::PutEventsWaitForTaskToken => {
                let token = context["Task"]["Token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                self.tokens += 1;
                self.park(state, &parameters, token, timeout_seconds)
                    .await?
            }
        };
        self.emit(EventKind::TaskSucceeded {
            state: state.name.clone(),
            output: result.clone(),
        });
        let result = match &task.result_selector {
            Some(selector) => selector.eval(&Scope {
                input: &result,
                context,
            })?,
            None => result,
        };
        let merged = merge(task.result_path.as_ref(), raw, result)?;
        select(state.output_path.as_ref(), &merged, "OutputPath")
    }
}

impl Run<'_> {
    /// Puts the event (in spirit) and waits on the shared clock for the invoker's answer.
    async fn park(
        &mut self,
        state: &State,
        parameters: &Value,
        token: String,
        timeout_seconds: Option<u64>,
    ) -> Result<Value, Failure> {
        let entry = &parameters["Entries"][0];
        let timeout_seconds = timeout_seconds.ok_or_else(|| {
            Failure::runtime(
                "a waitForTaskToken Task needs TimeoutSeconds or TimeoutSecondsPath locally",
            )
        })?;
        let park = Park {
            state: state.name.clone(),
            detail_type: entry["DetailType"].as_str().unwrap_or_default().to_owned(),
            detail: entry["Detail"].clone(),
            token,
            timeout_seconds,
        };
        let parked = self.invoker.park(&park).await;
        let limit = i64::try_from(timeout_seconds)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let (millis, answer) = if parked.after_millis >= limit {
            (limit, Err(InvokeError::Timeout))
        } else {
            (parked.after_millis.max(0), parked.answer)
        };
        self.clock.sleep(TimeDelta::milliseconds(millis)).await;
        Ok(answer?)
    }
}

fn fail_message(
    message: Option<&Message>,
    scope: &Scope<'_>,
    field: &str,
) -> Result<Option<String>, Failure> {
    match message {
        None => Ok(None),
        Some(Message::Literal(text)) => Ok(Some(text.clone())),
        Some(Message::Expr(expr)) => match expr.eval(scope, field)? {
            Value::String(text) => Ok(Some(text)),
            other => Err(Failure::runtime(format!(
                "The {field} must select a string, not {other}"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    type Handler = dyn Fn(&str, Value, Option<u64>) -> Result<Value, InvokeError> + Send + Sync;

    /// A closure-backed invoker that records every call.
    struct Fake {
        handler: Box<Handler>,
        calls: Mutex<Vec<(String, Value)>>,
    }

    #[async_trait::async_trait]
    impl LambdaInvoker for Fake {
        async fn invoke(
            &self,
            function_name: &str,
            payload: Value,
            timeout_seconds: Option<u64>,
        ) -> Result<Value, InvokeError> {
            let call = (function_name.to_string(), payload.clone());
            self.calls.lock().unwrap().push(call);
            (self.handler)(function_name, payload, timeout_seconds)
        }
    }

    fn fake(
        handler: impl Fn(&str, Value, Option<u64>) -> Result<Value, InvokeError> + Send + Sync + 'static,
    ) -> Fake {
        Fake {
            handler: Box::new(handler),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn echo() -> Fake {
        fake(|_, payload, _| Ok(payload))
    }

    /// Fails with each error in turn, then echoes.
    fn failing(errors: &[InvokeError]) -> Fake {
        let queue = Mutex::new(errors.to_vec());
        fake(move |_, payload, _| {
            let mut queue = queue.lock().unwrap();
            if queue.is_empty() {
                Ok(payload)
            } else {
                Err(queue.remove(0))
            }
        })
    }

    fn function_error(error_type: &str) -> InvokeError {
        InvokeError::Function {
            error_type: error_type.into(),
            error_message: "boom".into(),
        }
    }

    fn lambda(extra: Value) -> Value {
        let mut state = json!({
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
            "Parameters": {"FunctionName": "fn", "Payload.$": "$"}
        });
        if let (Value::Object(state), Value::Object(extra)) = (&mut state, extra) {
            if extra.contains_key("Next") {
                state.remove("End");
            }
            state.extend(extra);
        }
        state
    }

    /// A machine starting at "A" with a "Caught" Pass state to catch into.
    fn machine(states: Value) -> StateMachine {
        let mut states = states;
        if let Value::Object(map) = &mut states {
            map.entry("Caught")
                .or_insert(json!({"Type": "Pass", "End": true}));
        }
        let definition = json!({"StartAt": "A", "States": states});
        StateMachine::parse(&definition.to_string(), &BTreeMap::new()).unwrap()
    }

    async fn execute(states: Value, invoker: &Fake, input: Value) -> (Execution, ManualClock) {
        let clock = ManualClock::at_epoch();
        let execution = machine(states)
            .run(invoker, &clock, input, "exec-1", &mut |_| {})
            .await
            .unwrap();
        (execution, clock)
    }

    fn delays(execution: &Execution) -> Vec<f64> {
        execution
            .events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Retrying { delay_seconds, .. } => Some(*delay_seconds),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn task_processes_io_in_aws_order() {
        let invoker = fake(|name, payload, _| {
            assert_eq!(name, "shift-fn");
            Ok(json!({"weight": payload["step"].as_i64().unwrap_or(0) * 10}))
        });
        let states = json!({"A": lambda(json!({
            "InputPath": "$.deployment",
            "Parameters": {"FunctionName": "shift-fn",
                "Payload": {"step.$": "$.step", "name.$": "$$.Execution.Name", "fixed": [1, {"k.$": "$.step"}]}},
            "ResultSelector": {"weight.$": "$.Payload.weight", "status.$": "$.StatusCode"},
            "ResultPath": "$.deployment.result",
            "OutputPath": "$.deployment"
        }))});
        let input = json!({"deployment": {"step": 2}, "other": 1});
        let (execution, _) = execute(states, &invoker, input).await;
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(
            execution.output,
            Some(json!({"step": 2, "result": {"weight": 20, "status": 200}}))
        );
        let calls = invoker.calls.lock().unwrap();
        assert_eq!(
            calls[0].1,
            json!({"step": 2, "name": "exec-1", "fixed": [1, {"k": 2}]})
        );
    }

    #[tokio::test]
    async fn task_result_is_the_lambda_invoke_envelope() {
        let (execution, _) =
            execute(json!({"A": lambda(json!({}))}), &echo(), json!({"x": 1})).await;
        assert_eq!(
            execution.output,
            Some(json!({"ExecutedVersion": "$LATEST", "Payload": {"x": 1}, "StatusCode": 200}))
        );
    }

    #[tokio::test]
    async fn null_paths_yield_empty_objects_or_keep_the_input() {
        let invoker = echo();
        let states = json!({
            "A": lambda(json!({"InputPath": null, "ResultPath": null, "Next": "B"})),
            "B": {"Type": "Pass", "OutputPath": null, "End": true}
        });
        let (execution, _) = execute(states, &invoker, json!({"keep": true})).await;
        assert_eq!(invoker.calls.lock().unwrap()[0].1, json!({}));
        let exited: Vec<&Value> = execution
            .events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::StateExited { output, .. } => Some(output),
                _ => None,
            })
            .collect();
        assert_eq!(exited, vec![&json!({"keep": true}), &json!({})]);
    }

    #[tokio::test]
    async fn context_object_reflects_the_virtual_clock() {
        let states = json!({
            "A": {"Type": "Wait", "Seconds": 5, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"ctx.$": "$$"}, "End": true}
        });
        let (execution, _) = execute(states, &echo(), json!({"in": 1})).await;
        assert_eq!(
            execution.output,
            Some(json!({"ctx": {
                "Execution": {
                    "Id": "arn:aws:states:local:000000000000:execution:local:exec-1",
                    "Input": {"in": 1}, "Name": "exec-1", "StartTime": "2026-01-01T00:00:00.000Z"
                },
                "State": {"EnteredTime": "2026-01-01T00:00:05.000Z", "Name": "B", "RetryCount": 0},
                "StateMachine": {"Id": "arn:aws:states:local:000000000000:stateMachine:local", "Name": "local"}
            }}))
        );
    }

    #[tokio::test]
    async fn pass_applies_result_parameters_and_result_path() {
        let states = json!({
            "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$.r", "Parameters": {"y.$": "$.x", "n.$": "States.MathAdd($.x, 1)"},
                  "ResultPath": "$.p", "End": true}
        });
        let (execution, _) = execute(states, &echo(), json!({"a": 0})).await;
        assert_eq!(
            execution.output,
            Some(json!({"a": 0, "r": {"x": 1}, "p": {"y": 1, "n": 2}}))
        );
    }

    #[tokio::test]
    async fn waits_advance_the_virtual_clock() {
        let states = json!({
            "A": {"Type": "Wait", "Seconds": 10, "Next": "B"},
            "B": {"Type": "Wait", "SecondsPath": "$.s", "Next": "C"},
            "C": {"Type": "Wait", "Timestamp": "2026-01-01T00:01:00Z", "Next": "D"},
            "D": {"Type": "Wait", "TimestampPath": "$.past", "End": true}
        });
        let input = json!({"s": 5, "past": "2025-12-31T23:00:00Z"});
        let (execution, clock) = execute(states, &echo(), input.clone()).await;
        let waits: Vec<(f64, f64)> = execution
            .events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Waiting { seconds, .. } => Some((event.at_seconds, *seconds)),
                _ => None,
            })
            .collect();
        assert_eq!(
            waits,
            vec![(0.0, 10.0), (10.0, 5.0), (15.0, 45.0), (60.0, 0.0)]
        );
        assert_eq!(clock.elapsed_secs(), 60.0);
        assert_eq!(execution.output, Some(input));
    }

    #[tokio::test]
    async fn bad_seconds_path_is_a_runtime_error() {
        for seconds in [json!(-1), json!(1.5), json!("5")] {
            let states = json!({"A": {"Type": "Wait", "SecondsPath": "$.s", "End": true}});
            let (execution, _) = execute(states, &echo(), json!({"s": seconds})).await;
            assert_eq!(
                execution.error.as_deref(),
                Some("States.Runtime"),
                "{seconds}"
            );
        }
    }

    #[tokio::test]
    async fn choice_routes_defaults_and_fails_without_a_match() {
        let states = |default: Option<&str>| {
            let mut choice = json!({"Type": "Choice", "OutputPath": "$.v", "Choices": [
                {"And": [{"Variable": "$.v", "NumericGreaterThan": 1}, {"Not": {"Variable": "$.v", "NumericEquals": 3}}], "Next": "Big"},
                {"Or": [{"Variable": "$.v", "NumericEquals": 0}, {"Variable": "$.v", "IsNull": true}], "Next": "Zero"}
            ]});
            if let Some(default) = default {
                choice["Default"] = json!(default);
            }
            json!({"A": choice, "Big": {"Type": "Succeed"}, "Zero": {"Type": "Succeed"}, "Other": {"Type": "Succeed"}})
        };
        for (v, end) in [
            (json!(2), "Big"),
            (json!(0), "Zero"),
            (json!(null), "Zero"),
            (json!(3), "Other"),
        ] {
            let (execution, _) = execute(states(Some("Other")), &echo(), json!({"v": v})).await;
            assert_eq!(execution.final_state, end, "{v}");
            assert_eq!(execution.output, Some(v));
        }
        let (execution, _) = execute(states(None), &echo(), json!({"v": 3})).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.error.as_deref(), Some("States.NoChoiceMatched"));
        assert_eq!(execution.final_state, "A");
    }

    #[tokio::test]
    async fn succeed_applies_its_paths() {
        let states = json!({"A": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}});
        let (execution, _) = execute(states, &echo(), json!({"a": {"b": 7}})).await;
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(execution.output, Some(json!(7)));
        assert_eq!(execution.transitions, 1);
    }

    #[tokio::test]
    async fn fail_states_give_literal_path_or_intrinsic_messages() {
        let literal = json!({"A": {"Type": "Fail", "Error": "Rollback.Failed", "Cause": "alarm"}});
        let (execution, _) = execute(literal, &echo(), json!({})).await;
        assert_eq!(
            (
                execution.status,
                execution.error.as_deref(),
                execution.cause.as_deref()
            ),
            (
                ExecutionStatus::Failed,
                Some("Rollback.Failed"),
                Some("alarm")
            )
        );
        let computed = json!({"A": {"Type": "Fail", "ErrorPath": "$.e",
            "CausePath": "States.Format('alarm {} fired at {}%', $.alarm, $.weight)"}});
        let input = json!({"e": "Alarm", "alarm": "p99", "weight": 10});
        let (execution, _) = execute(computed, &echo(), input).await;
        assert_eq!(execution.error.as_deref(), Some("Alarm"));
        assert_eq!(execution.cause.as_deref(), Some("alarm p99 fired at 10%"));
        let bare = json!({"A": {"Type": "Fail"}});
        let (execution, _) = execute(bare, &echo(), json!({})).await;
        assert_eq!((execution.error, execution.cause), (None, None));
    }

    #[tokio::test]
    async fn retry_backs_off_on_the_virtual_clock() {
        let invoker = fake(|_, _, _| Err(function_error("Transient")));
        let states = json!({"A": lambda(json!({"Parameters": {"FunctionName": "fn", "Payload": {"retry.$": "$$.State.RetryCount"}},
            "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3}]}))});
        let (execution, clock) = execute(states, &invoker, json!({})).await;
        assert_eq!(delays(&execution), vec![2.0, 4.0, 8.0]);
        assert_eq!(clock.elapsed_secs(), 14.0);
        assert_eq!((execution.transitions, execution.retries), (4, 3));
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.error.as_deref(), Some("Transient"));
        assert_eq!(
            execution.cause.as_deref(),
            Some(r#"{"errorMessage":"boom","errorType":"Transient","trace":[]}"#)
        );
        let counts: Vec<Value> = invoker
            .calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, p)| p["retry"].clone())
            .collect();
        assert_eq!(counts, vec![json!(0), json!(1), json!(2), json!(3)]);
    }

    #[tokio::test]
    async fn max_delay_caps_the_backoff() {
        let invoker = fake(|_, _, _| Err(function_error("Transient")));
        let states = json!({"A": lambda(json!({"Retry": [{"ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 10, "BackoffRate": 3, "MaxAttempts": 4, "MaxDelaySeconds": 50}]}))});
        let (execution, clock) = execute(states, &invoker, json!({})).await;
        assert_eq!(delays(&execution), vec![10.0, 30.0, 50.0, 50.0]);
        assert_eq!(clock.elapsed_secs(), 140.0);
    }

    #[tokio::test]
    async fn full_jitter_is_bounded_and_reproducible() {
        let states = json!({"A": lambda(json!({"Retry": [{"ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 10, "MaxAttempts": 5, "JitterStrategy": "FULL"}]}))});
        let invoker = fake(|_, _, _| Err(function_error("Transient")));
        let (first, _) = execute(states.clone(), &invoker, json!({})).await;
        let (second, _) = execute(states, &invoker, json!({})).await;
        assert_eq!(delays(&first), delays(&second));
        for (i, delay) in delays(&first).into_iter().enumerate() {
            assert!(
                (0.0..=10.0 * 2f64.powi(i as i32)).contains(&delay),
                "{delay}"
            );
        }
        assert_ne!(delays(&first), vec![10.0, 20.0, 40.0, 80.0, 160.0]);
    }

    #[tokio::test]
    async fn retriers_apply_in_order_with_their_own_counters() {
        let retry = json!({"Retry": [
            {"ErrorEquals": ["A"], "MaxAttempts": 1, "IntervalSeconds": 1},
            {"ErrorEquals": ["B"], "MaxAttempts": 3, "IntervalSeconds": 10, "BackoffRate": 1}
        ]});
        let errors: Vec<InvokeError> = ["A", "B", "B", "B"].map(function_error).to_vec();
        let (execution, clock) = execute(
            json!({"A": lambda(retry.clone())}),
            &failing(&errors),
            json!({}),
        )
        .await;
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(delays(&execution), vec![1.0, 10.0, 10.0, 10.0]);
        assert_eq!(
            (
                execution.transitions,
                execution.retries,
                clock.elapsed_secs()
            ),
            (5, 4, 31.0)
        );

        // A second "A" finds its retrier exhausted and does not fall through to later ones.
        let mut retry = retry;
        retry["Retry"][1]["ErrorEquals"] = json!(["States.ALL"]);
        let errors: Vec<InvokeError> = ["A", "A"].map(function_error).to_vec();
        let (execution, _) =
            execute(json!({"A": lambda(retry)}), &failing(&errors), json!({})).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.error.as_deref(), Some("A"));
        assert_eq!(execution.retries, 1);
    }

    #[tokio::test]
    async fn catch_replaces_or_merges_the_error_output() {
        let errors = [function_error("Boom")];
        let replace = json!({"A": lambda(json!({"Next": "Caught",
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}],
            "Catch": [{"ErrorEquals": ["Other"], "Next": "A"}, {"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]}))});
        let (execution, clock) = execute(replace, &failing(&errors), json!({"in": 1})).await;
        let error_output = json!({"Error": "Boom", "Cause": r#"{"errorMessage":"boom","errorType":"Boom","trace":[]}"#});
        assert_eq!(execution.output, Some(error_output.clone()));
        assert_eq!((execution.retries, clock.elapsed_secs()), (0, 0.0));
        assert!(execution.events.iter().any(|event| event.kind
            == EventKind::Caught {
                state: "A".into(),
                error: "Boom".into(),
                next: "Caught".into()
            }));

        let merge = json!({"A": lambda(json!({"Next": "Caught",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught", "ResultPath": "$.error"}]}))});
        let (execution, _) = execute(merge, &failing(&errors), json!({"in": 1})).await;
        assert_eq!(
            execution.output,
            Some(json!({"in": 1, "error": error_output}))
        );
        assert_eq!(execution.final_state, "Caught");
    }

    #[tokio::test]
    async fn runtime_errors_escape_retry_and_catch_all() {
        let invoker = echo();
        let states = json!({"A": lambda(json!({"Next": "Caught",
            "Parameters": {"FunctionName": "fn", "Payload.$": "$.missing"},
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}))});
        let (execution, _) = execute(states, &invoker, json!({})).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.error.as_deref(), Some("States.Runtime"));
        assert!(execution.cause.unwrap_or_default().contains("$.missing"));
        assert_eq!((execution.transitions, execution.retries), (1, 0));
        assert!(invoker.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn result_path_failures_are_catchable() {
        let states = json!({"A": lambda(json!({"Next": "Caught", "ResultPath": "$.a.b",
            "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "Caught"}]}))});
        let (execution, _) = execute(states, &echo(), json!({"a": 1})).await;
        assert_eq!(execution.final_state, "Caught");
        assert_eq!(
            execution.output.unwrap()["Error"],
            "States.ResultPathMatchFailure"
        );
    }

    #[tokio::test]
    async fn timeouts_are_states_timeout_and_not_task_failed() {
        let invoker = fake(|_, _, timeout| {
            assert_eq!(timeout, Some(30));
            Err(InvokeError::Timeout)
        });
        let states = json!({"A": lambda(json!({"Next": "Caught", "TimeoutSeconds": 30,
            "Retry": [{"ErrorEquals": ["States.TaskFailed"]}],
            "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Caught"}]}))});
        let (execution, _) = execute(states, &invoker, json!({})).await;
        assert_eq!(execution.retries, 0);
        assert_eq!(execution.final_state, "Caught");
        assert_eq!(execution.output.unwrap()["Error"], "States.Timeout");
    }

    #[tokio::test]
    async fn service_errors_pass_through_and_task_failed_retries_them() {
        let throttled = InvokeError::Service {
            error: "Lambda.TooManyRequestsException".into(),
            cause: "Rate exceeded".into(),
        };
        let states = json!({"A": lambda(json!({"Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}]}))});
        let (execution, _) =
            execute(states, &failing(&[throttled.clone(), throttled]), json!({})).await;
        assert_eq!(
            execution.error.as_deref(),
            Some("Lambda.TooManyRequestsException")
        );
        assert_eq!(execution.cause.as_deref(), Some("Rate exceeded"));
        assert_eq!(execution.retries, 1);
    }

    #[tokio::test]
    async fn counts_transitions_and_stops_runaway_loops() {
        let states = json!({
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Succeed"}
        });
        let (execution, _) = execute(states, &echo(), json!({})).await;
        assert_eq!(
            (execution.transitions, execution.final_state.as_str()),
            (3, "C")
        );

        let looping = machine(
            json!({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}),
        );
        let error = looping
            .run(
                &echo(),
                &ManualClock::at_epoch(),
                json!({}),
                "loop",
                &mut |_| {},
            )
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            RunError::TransitionLimit { execution, limit: 25_000, state }
                if execution == "loop" && state == "A"
        ));
    }

    #[tokio::test]
    async fn observer_sees_every_event_in_order() {
        let mut seen = Vec::new();
        let states = json!({"A": lambda(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}]}))});
        let execution = machine(states)
            .run(
                &failing(&[function_error("X")]),
                &ManualClock::at_epoch(),
                json!({}),
                "obs",
                &mut |event| {
                    seen.push(event.clone());
                },
            )
            .await
            .unwrap();
        assert_eq!(seen, execution.events);
        let kinds: Vec<&str> = seen
            .iter()
            .map(|event| match event.kind {
                EventKind::StateEntered { .. } => "entered",
                EventKind::TaskScheduled { .. } => "scheduled",
                EventKind::TaskSucceeded { .. } => "answered",
                EventKind::TaskFailed { .. } => "failed",
                EventKind::Retrying { .. } => "retrying",
                EventKind::StateExited { .. } => "exited",
                EventKind::ExecutionSucceeded { .. } => "succeeded",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "entered",
                "scheduled",
                "failed",
                "retrying",
                "scheduled",
                "answered",
                "exited",
                "succeeded"
            ]
        );
        assert_eq!(seen[7].at_seconds, 1.0);
    }

    #[tokio::test]
    async fn substituted_function_names_reach_the_invoker() {
        let text = r#"{"StartAt": "Shift", "States": {"Shift": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "End": true,
            "Parameters": {"FunctionName": "${ShiftTrafficArn}", "Payload.$": "$"}}}}"#;
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:shift-traffic";
        let substitutions = BTreeMap::from([("ShiftTrafficArn".to_string(), arn.to_string())]);
        let invoker = echo();
        StateMachine::parse(text, &substitutions)
            .unwrap()
            .run(
                &invoker,
                &ManualClock::at_epoch(),
                json!({}),
                "sub",
                &mut |_| {},
            )
            .await
            .unwrap();
        assert_eq!(invoker.calls.lock().unwrap()[0].0, arn);
    }

    fn park_state(extra: Value) -> Value {
        let mut state = json!({
            "Type": "Task", "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
            "Parameters": {"Entries": [{"DetailType": "Gate", "Source": "s", "EventBusName": "default",
                "Detail": {"taskToken.$": "$$.Task.Token", "n.$": "$.n"}}]},
            "TimeoutSecondsPath": "$.t", "ResultPath": "$.control", "Next": "Caught",
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": null, "Next": "Caught"},
                      {"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}]
        });
        if let (Value::Object(state), Value::Object(extra)) = (&mut state, extra) {
            state.extend(extra);
        }
        state
    }

    /// Answers every park with `answer` after `after` seconds.
    struct Answering {
        after: i64,
        answer: Result<Value, InvokeError>,
        parks: Mutex<Vec<Park>>,
    }

    #[async_trait::async_trait]
    impl LambdaInvoker for Answering {
        async fn invoke(&self, _: &str, _: Value, _: Option<u64>) -> Result<Value, InvokeError> {
            Err(function_error("NotHere"))
        }

        async fn park(&self, park: &Park) -> super::super::Parked {
            self.parks.lock().unwrap().push(park.clone());
            super::super::Parked {
                after_millis: self.after * 1000,
                answer: self.answer.clone(),
            }
        }
    }

    async fn park_run(states: Value, invoker: &Answering, input: Value) -> (Execution, f64) {
        let clock = ManualClock::at_epoch();
        let execution = machine(states)
            .run(invoker, &clock, input, "exec-1", &mut |_| {})
            .await
            .unwrap();
        (execution, clock.elapsed_secs())
    }

    #[tokio::test]
    async fn an_unanswered_park_times_out_after_its_timeout_path() {
        let (execution, clock) = execute(
            json!({"A": park_state(json!({}))}),
            &echo(),
            json!({"t": 45, "n": 1}),
        )
        .await;
        assert_eq!(clock.elapsed_secs(), 45.0);
        assert_eq!(execution.final_state, "Caught");
        assert_eq!(execution.output, Some(json!({"t": 45, "n": 1})));
        let scheduled = execution.events.iter().find_map(|e| match &e.kind {
            EventKind::TaskScheduled {
                parameters,
                timeout_seconds,
                ..
            } => Some((parameters.clone(), *timeout_seconds)),
            _ => None,
        });
        let (parameters, timeout) = scheduled.unwrap();
        assert_eq!(timeout, Some(45));
        let token = parameters["Entries"][0]["Detail"]["taskToken"]
            .as_str()
            .unwrap();
        assert!(token.starts_with("AQCE"), "{token}");
    }

    #[tokio::test]
    async fn answers_arrive_at_their_time_as_output_or_error() {
        let answering = |after, answer| Answering {
            after,
            answer,
            parks: Mutex::new(Vec::new()),
        };
        let invoker = answering(10, Ok(json!({"action": "promote"})));
        let (execution, elapsed) = park_run(
            json!({"A": park_state(json!({}))}),
            &invoker,
            json!({"t": 30, "n": 2}),
        )
        .await;
        assert_eq!(elapsed, 10.0);
        assert_eq!(
            execution.output.unwrap()["control"],
            json!({"action": "promote"})
        );
        let park = invoker.parks.lock().unwrap()[0].clone();
        assert_eq!(
            (park.detail_type.as_str(), park.timeout_seconds),
            ("Gate", 30)
        );
        assert_eq!(park.detail["n"], 2);
        assert_eq!(park.detail["taskToken"], json!(park.token));

        let aborted = InvokeError::Callback {
            error: "Aborted".into(),
            cause: "stop".into(),
        };
        let (execution, elapsed) = park_run(
            json!({"A": park_state(json!({}))}),
            &answering(5, Err(aborted)),
            json!({"t": 30, "n": 2}),
        )
        .await;
        assert_eq!(elapsed, 5.0);
        assert_eq!(
            execution.output.unwrap()["caught"],
            json!({"Error": "Aborted", "Cause": "stop"})
        );

        // An answer at or after the timeout loses to it.
        let (execution, elapsed) = park_run(
            json!({"A": park_state(json!({}))}),
            &answering(30, Ok(json!({}))),
            json!({"t": 30, "n": 2}),
        )
        .await;
        assert_eq!(elapsed, 30.0);
        assert!(execution.output.unwrap().get("control").is_none());
    }

    #[tokio::test]
    async fn a_bad_timeout_path_is_a_runtime_error() {
        for t in [json!(0), json!("30"), json!(null)] {
            let (execution, _) = execute(
                json!({"A": park_state(json!({}))}),
                &echo(),
                json!({"t": t, "n": 1}),
            )
            .await;
            assert_eq!(execution.error.as_deref(), Some("States.Runtime"), "{t}");
        }
    }
}
