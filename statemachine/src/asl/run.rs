//! Running one execution: state dispatch, the history and its quotas, and the virtual clock.
//! Input and output processing is in [`io`]; Task states (Retry, Catch, parks) in [`task`].
//!
//! The document moves from state to state: each event hands it to the observer and back, and a
//! copy is made only where a payload needs one (a `.$` path selecting it) or when the execution
//! keeps its [`History::Full`]. No step looks back at the states before it.

mod io;
mod task;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use shifter::fakes::ManualClock;
use shifter::ports::Clock;

use super::definition::{Kind, Resource, State, StateMachine, Then};
use super::path::Scope;
use super::retry;
use super::{
    DATA_LIMIT_EXCEEDED, EventKind, Execution, ExecutionStatus, Failure, HISTORY_EVENT_LIMIT,
    HISTORY_LIMIT_CAUSE, History, HistoryEvent, LambdaInvoker, PAYLOAD_LIMIT_BYTES, PayloadSize,
    RunError, STOPPED,
};
use io::{choose, fail_message, json_bytes, output, pass_result};

const STATE_MACHINE_NAME: &str = "local";
const ARN_PREFIX: &str = "arn:aws:states:local:000000000000";
/// The ARN of the state machine every local run belongs to (`$$.StateMachine.Id`); an
/// execution's is the same with `execution` for `stateMachine` and its name appended.
pub const STATE_MACHINE_ARN: &str = "arn:aws:states:local:000000000000:stateMachine:local";

/// What a state decided.
enum Step {
    Next(usize, Value),
    Succeed(Value),
    Fail(Option<String>, Option<String>),
}

impl From<Failure> for Step {
    fn from(failure: Failure) -> Self {
        Step::Fail(Some(failure.error), Some(failure.cause))
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

/// The context object at the start: the Execution and StateMachine parts never change.
fn context(name: &str, input: &Value, start: DateTime<Utc>) -> Value {
    json!({
        "Execution": {
            "Id": format!("{ARN_PREFIX}:execution:{STATE_MACHINE_NAME}:{name}"),
            "Input": input,
            "Name": name,
            "StartTime": timestamp(start),
        },
        "State": {},
        "StateMachine": {
            "Id": format!("{ARN_PREFIX}:stateMachine:{STATE_MACHINE_NAME}"),
            "Name": STATE_MACHINE_NAME,
        },
    })
}

/// One execution in progress.
struct Run<'r> {
    machine: &'r StateMachine,
    invoker: &'r dyn LambdaInvoker,
    clock: &'r ManualClock,
    name: &'r str,
    /// The context object (`$$`); its State and Task parts are rewritten per attempt.
    context: Value,
    observer: &'r mut (dyn FnMut(&HistoryEvent) + Send),
    events: Vec<HistoryEvent>,
    transitions: u64,
    retries: u64,
    /// Events of the AWS history so far, `ExecutionStarted` included.
    history_events: u64,
    largest_payload: PayloadSize,
    /// Index of the last state entered.
    final_state: usize,
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
            context: context(execution_name, &input, clock.now()),
            observer,
            events: Vec::new(),
            transitions: 0,
            retries: 0,
            history_events: 1,
            largest_payload: PayloadSize::default(),
            final_state: self.start_at,
            tokens: 0,
        };
        let step = run.drive(input).await?;
        let (status, output, error, cause) = match step {
            Step::Fail(Some(error), _) if error == STOPPED => {
                (ExecutionStatus::Aborted, None, None, None)
            }
            Step::Fail(error, cause) => (ExecutionStatus::Failed, None, error, cause),
            Step::Succeed(output) | Step::Next(_, output) => {
                (ExecutionStatus::Succeeded, Some(output), None, None)
            }
        };
        Ok(Execution {
            status,
            output,
            error,
            cause,
            final_state: self.states[run.final_state].name.clone(),
            transitions: run.transitions,
            retries: run.retries,
            history_events: run.history_events,
            largest_payload: run.largest_payload,
            events: run.events,
        })
    }
}

impl<'r> Run<'r> {
    /// Shows the event to the observer, keeps it as the machine's [`History`] says, and hands
    /// back the document it carried; counts the AWS history events it stands for.
    ///
    /// Only `ExecutionSucceeded` or `ExecutionFailed` may be the history's event 25,000: any
    /// other event that would reach it is a `States.Runtime` failure instead (written as far as
    /// it fits; the exporter cuts the history at 24,999 before the ExecutionFailed).
    fn emit(&mut self, kind: EventKind) -> Result<Value, Failure> {
        let ends = matches!(
            kind,
            EventKind::ExecutionSucceeded { .. }
                | EventKind::ExecutionFailed { .. }
                | EventKind::ExecutionAborted
        );
        let count = kind.aws_events();
        let last = HISTORY_EVENT_LIMIT - 1;
        if !ends && count > 0 && self.history_events + count > last {
            let fits = self.history_events < last;
            self.history_events = last;
            if fits {
                self.record(kind);
            }
            return Err(Failure::runtime(HISTORY_LIMIT_CAUSE));
        }
        self.history_events += count;
        Ok(self.record(kind))
    }

    fn record(&mut self, kind: EventKind) -> Value {
        let event = HistoryEvent {
            at_seconds: self.clock.elapsed_secs(),
            kind,
        };
        (self.observer)(&event);
        let kept = match self.machine.history {
            History::Full => event.clone(),
            History::WithoutData => HistoryEvent {
                at_seconds: event.at_seconds,
                kind: event.kind.without_data(),
            },
        };
        self.events.push(kept);
        event.kind.into_data()
    }

    /// Keeps the largest document seen; past 256 KB it is `States.DataLimitExceeded`.
    fn measure(&mut self, state: &str, what: &str, value: &Value) -> Result<(), Failure> {
        let bytes = json_bytes(value);
        if bytes > self.largest_payload.bytes {
            self.largest_payload = PayloadSize {
                state: state.to_owned(),
                bytes,
            };
        }
        if bytes > PAYLOAD_LIMIT_BYTES {
            return Err(Failure::new(
                DATA_LIMIT_EXCEEDED,
                format!(
                    "The {what} of state '{state}' has {bytes} bytes, more than the maximum \
                     number of bytes service limit ({PAYLOAD_LIMIT_BYTES})."
                ),
            ));
        }
        Ok(())
    }

    /// The state's raw input, checked and written to the history. Only the execution's input
    /// needs measuring: every later input is the output the previous state exited with.
    fn enter(&mut self, name: &str, input: Value) -> Result<Value, Failure> {
        if self.transitions == 1 {
            self.measure(name, "input", &input)?;
        }
        self.emit(EventKind::StateEntered {
            name: name.to_owned(),
            input,
        })
    }

    /// The state's output, checked and written to the history. Only a Pass state's output is
    /// measured here: a Choice's or Succeed's output is its input or a part of it (OutputPath);
    /// a Task measures its own where it can grow (see [`grows`]).
    fn exit(&mut self, state: &State, output: Value) -> Result<Value, Failure> {
        let name = &state.name;
        if matches!(state.kind, Kind::Pass { .. }) {
            self.measure(name, "output", &output)?;
        }
        self.emit(EventKind::StateExited {
            name: name.to_owned(),
            output,
        })
    }

    /// True once an operator's stop is due: no further state may run.
    fn stop_due(&self) -> bool {
        self.invoker
            .stop_at()
            .is_some_and(|at| self.clock.now() >= at)
    }

    /// Sleeps `millis` on the clock, or until a stop due sooner (then `Err`, at the stop).
    pub(super) async fn sleep_unless_stopped(&mut self, millis: i64) -> Result<(), Failure> {
        let wake = self.clock.now() + TimeDelta::milliseconds(millis.max(0));
        match self.invoker.stop_at() {
            Some(stop) if stop <= wake => {
                self.clock.sleep(stop - self.clock.now()).await;
                Err(Failure::stopped())
            }
            _ => {
                self.clock.sleep(wake - self.clock.now()).await;
                Ok(())
            }
        }
    }

    /// Ends the execution with `ExecutionFailed`, or `ExecutionAborted` after a stop.
    fn fail(&mut self, error: Option<String>, cause: Option<String>) -> Step {
        if error.as_deref() == Some(STOPPED) {
            let _ = self.emit(EventKind::ExecutionAborted);
            return Step::Fail(error, cause);
        }
        // ExecutionFailed always fits in the history.
        let _ = self.emit(EventKind::ExecutionFailed {
            error: error.clone(),
            cause: cause.clone(),
        });
        Step::Fail(error, cause)
    }

    /// `$$.State` for this attempt, and `$$.Task.Token` when the state parks.
    fn set_context(&mut self, state: &State, entered: &str, retry_count: u32) {
        self.context["State"] =
            json!({"EnteredTime": entered, "Name": state.name, "RetryCount": retry_count});
        let parks = matches!(&state.kind, Kind::Task(task)
            if task.resource == Resource::LambdaInvokeWaitForTaskToken);
        if parks {
            self.context["Task"] = json!({"Token": self.token()});
        } else if let Some(context) = self.context.as_object_mut() {
            context.remove("Task");
        }
    }

    /// The token the next park attempt gets: unique per execution, deterministic.
    fn token(&self) -> String {
        let seed = format!("{}/{}", self.name, self.tokens);
        let hash = retry::fraction(&seed, "token", 0).to_bits();
        format!("AQCEAAAAKgAAAA{hash:016x}{:08x}", self.tokens)
    }

    /// Runs states until one ends the execution; the returned step is a Succeed or a Fail.
    async fn drive(&mut self, mut input: Value) -> Result<Step, RunError> {
        let machine = self.machine;
        let mut index = machine.start_at;
        loop {
            let state = &machine.states[index];
            if self.stop_due() {
                return Ok(self.fail(Some(STOPPED.to_owned()), None));
            }
            self.transitions += 1;
            self.final_state = index;
            let step = match self.enter(&state.name, input) {
                Ok(raw) => self.step(state, raw).await?,
                Err(failure) => failure.into(),
            };
            let (next, output) = match step {
                Step::Next(next, output) => (Some(next), output),
                Step::Succeed(output) => (None, output),
                Step::Fail(error, cause) => return Ok(self.fail(error, cause)),
            };
            input = match self.exit(state, output) {
                Ok(output) => output,
                Err(f) => return Ok(self.fail(Some(f.error), Some(f.cause))),
            };
            let Some(next) = next else {
                let output = self.emit(EventKind::ExecutionSucceeded { output: input });
                return Ok(Step::Succeed(output.unwrap_or_default()));
            };
            index = next;
        }
    }

    async fn step(&mut self, state: &'r State, raw: Value) -> Result<Step, RunError> {
        let entered = timestamp(self.clock.now());
        if let Kind::Task(task) = &state.kind {
            return self.task(state, task, raw, &entered).await;
        }
        self.set_context(state, &entered, 0);
        let scope = Scope {
            input: &raw,
            context: &self.context,
        };
        let output_path = state.output_path.as_ref();
        let step = match &state.kind {
            Kind::Task(_) => Err(Failure::runtime("a Task state is run by Run::task")),
            Kind::Pass {
                parameters,
                result_path,
                then: next,
            } => parameters
                .as_ref()
                .map(|parameters| parameters.eval(&scope))
                .transpose()
                .and_then(|result| pass_result(raw, result, result_path.as_ref()))
                .and_then(|placed| output(output_path, placed))
                .map(|output| then(*next, output)),
            Kind::Choice { choices, default } => choose(state, choices, *default, &scope)
                .and_then(|next| output(output_path, raw).map(|output| Step::Next(next, output))),
            Kind::Succeed => output(output_path, raw).map(Step::Succeed),
            Kind::Fail { error, cause } => fail_message(error.as_ref(), &scope, "ErrorPath")
                .and_then(|error| {
                    Ok(Step::Fail(
                        error,
                        fail_message(cause.as_ref(), &scope, "CausePath")?,
                    ))
                }),
        };
        Ok(step.unwrap_or_else(Step::from))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::asl::{HISTORY_LIMIT_CAUSE, InvokeError, Park};

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
            "Parameters": {"FunctionName": "shift-fn",
                "Payload": {"step.$": "$.deployment.step", "name.$": "$$.Execution.Name", "fixed": [1, {"k.$": "$.deployment.step"}]}},
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

    /// <https://states-language.net/spec.html#filters>: a `null` ResultPath discards the result
    /// and keeps the raw input; a `null` OutputPath yields `{}`.
    #[tokio::test]
    async fn spec_null_paths_keep_the_input_or_yield_empty_objects() {
        let invoker = echo();
        let states = json!({
            "A": lambda(json!({"ResultPath": null, "Next": "B"})),
            "B": {"Type": "Pass", "OutputPath": null, "End": true}
        });
        let (execution, _) = execute(states, &invoker, json!({"keep": true})).await;
        assert_eq!(invoker.calls.lock().unwrap()[0].1, json!({"keep": true}));
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
            "A": lambda(json!({"Next": "B", "ResultPath": null,
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5}]})),
            "B": {"Type": "Pass", "Parameters": {"ctx.$": "$$"}, "End": true}
        });
        let invoker = failing(&[function_error("Transient")]);
        let (execution, _) = execute(states, &invoker, json!({"in": 1})).await;
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

    /// <https://states-language.net/spec.html#pass-state>: the "No-op" example, with its fixed
    /// `Result` given as `Parameters` (the runner implements Parameters, which the definition
    /// uses, and refuses Result by name).
    #[tokio::test]
    async fn spec_pass_state_example() {
        let states = json!({"A": {"Type": "Pass",
            "Parameters": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
            "ResultPath": "$.coords", "End": true}});
        let (execution, _) = execute(states, &echo(), json!({"georefOf": "Home"})).await;
        assert_eq!(
            execution.output,
            Some(
                json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
            )
        );
        let copy = json!({"A": {"Type": "Pass", "End": true}});
        let (execution, _) = execute(copy, &echo(), json!({"georefOf": "Home"})).await;
        assert_eq!(execution.output, Some(json!({"georefOf": "Home"})));
        let nested = json!({"A": {"Type": "Pass", "ResultPath": "$.copy", "End": true}});
        let (execution, _) = execute(nested, &echo(), json!({"georefOf": "Home"})).await;
        assert_eq!(
            execution.output,
            Some(json!({"georefOf": "Home", "copy": {"georefOf": "Home"}}))
        );
    }

    /// <https://states-language.net/spec.html#retrying-after-error>: "2 retry attempts after
    /// waits of 3 and 6 seconds", and with MaxDelaySeconds 4 the second wait is 4 seconds.
    #[tokio::test]
    async fn spec_retrier_examples() {
        let timing_out = fake(|_, _, _| Err(InvokeError::Timeout));
        let retrier = json!({"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3,
            "MaxAttempts": 2, "BackoffRate": 2.0});
        let (execution, clock) = execute(
            json!({"A": lambda(json!({"Retry": [retrier.clone()]}))}),
            &timing_out,
            json!({}),
        )
        .await;
        assert_eq!(delays(&execution), vec![3.0, 6.0]);
        assert_eq!(clock.elapsed_secs(), 9.0);
        assert_eq!(execution.error.as_deref(), Some("States.Timeout"));
        let mut capped = retrier;
        capped["MaxDelaySeconds"] = json!(4);
        let (execution, _) = execute(
            json!({"A": lambda(json!({"Retry": [capped]}))}),
            &timing_out,
            json!({}),
        )
        .await;
        assert_eq!(delays(&execution), vec![3.0, 4.0]);
    }

    /// <https://states-language.net/spec.html#retrying-after-error>: "retry any error except for
    /// States.Timeout, using the default retry parameters" (1 s, backoff 2, 3 attempts).
    #[tokio::test]
    async fn spec_retry_everything_but_timeouts() {
        let retry = json!({"Retry": [
            {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0},
            {"ErrorEquals": ["States.ALL"]}
        ]});
        let (execution, _) = execute(
            json!({"A": lambda(retry.clone())}),
            &fake(|_, _, _| Err(InvokeError::Timeout)),
            json!({}),
        )
        .await;
        assert_eq!(
            (execution.retries, execution.error.as_deref()),
            (0, Some("States.Timeout"))
        );
        let (execution, _) = execute(
            json!({"A": lambda(retry)}),
            &fake(|_, _, _| Err(function_error("Boom"))),
            json!({}),
        )
        .await;
        assert_eq!(delays(&execution), vec![1.0, 2.0, 4.0]);
        assert_eq!(execution.error.as_deref(), Some("Boom"));
    }

    /// <https://states-language.net/spec.html#complex-retry-scenarios>: ErrorA, ErrorB, ErrorC,
    /// ErrorB wait 1, 2 and 5 seconds, then the first retrier is exhausted and Catch goes to Z.
    #[tokio::test]
    async fn spec_complex_retry_scenario() {
        let states = json!({
            "X": lambda(json!({"Next": "Y",
                "Retry": [
                    {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2},
                    {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]})),
            "Y": {"Type": "Succeed"},
            "Z": {"Type": "Succeed"}
        });
        let definition = json!({"StartAt": "X", "States": states});
        let machine = StateMachine::parse(&definition.to_string(), &BTreeMap::new()).unwrap();
        let errors: Vec<InvokeError> = ["ErrorA", "ErrorB", "ErrorC", "ErrorB"]
            .map(function_error)
            .to_vec();
        let clock = ManualClock::at_epoch();
        let execution = machine
            .run(&failing(&errors), &clock, json!({}), "spec", &mut |_| {})
            .await
            .unwrap();
        assert_eq!(delays(&execution), vec![1.0, 2.0, 5.0]);
        assert_eq!(clock.elapsed_secs(), 8.0);
        assert_eq!(execution.final_state, "Z");
    }

    /// <https://states-language.net/spec.html#choice-state>: the first matching rule wins, else
    /// Default; with neither, `States.NoChoiceMatched`.
    #[tokio::test]
    async fn spec_choice_routes_defaults_and_fails_without_a_match() {
        let states = |default: Option<&str>| {
            let mut choice = json!({"Type": "Choice", "OutputPath": "$.v", "Choices": [
                {"Variable": "$.v", "StringEquals": "big", "Next": "Big"},
                {"Variable": "$.v", "StringEquals": "zero", "Next": "Zero"},
                {"Variable": "$.v", "StringEquals": "big", "Next": "Zero"}
            ]});
            if let Some(default) = default {
                choice["Default"] = json!(default);
            }
            json!({"A": choice, "Big": {"Type": "Succeed"}, "Zero": {"Type": "Succeed"}, "Other": {"Type": "Succeed"}})
        };
        for (v, end) in [
            (json!("big"), "Big"),
            (json!("zero"), "Zero"),
            (json!(0), "Other"),
            (json!("else"), "Other"),
        ] {
            let (execution, _) = execute(states(Some("Other")), &echo(), json!({"v": v})).await;
            assert_eq!(execution.final_state, end, "{v}");
            assert_eq!(execution.output, Some(v));
        }
        let (execution, _) = execute(states(None), &echo(), json!({"v": "else"})).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.error.as_deref(), Some("States.NoChoiceMatched"));
        assert_eq!(execution.final_state, "A");
    }

    /// <https://states-language.net/spec.html#succeed-state>: the output is the input, possibly
    /// modified by OutputPath.
    #[tokio::test]
    async fn spec_succeed_applies_its_output_path() {
        let states = json!({"A": {"Type": "Succeed", "OutputPath": "$.a.b"}});
        let (execution, _) = execute(states, &echo(), json!({"a": {"b": 7}})).await;
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(execution.output, Some(json!(7)));
        assert_eq!(execution.transitions, 1);
        let missing = json!({"A": {"Type": "Succeed", "OutputPath": "$.x"}});
        let (execution, _) = execute(missing, &echo(), json!({})).await;
        assert_eq!(execution.error.as_deref(), Some("States.Runtime"));
    }

    /// <https://states-language.net/spec.html#fail-state>: both examples (literal, and from
    /// ErrorPath/CausePath), plus a CausePath that is an intrinsic, as the section allows.
    #[tokio::test]
    async fn spec_fail_state_examples() {
        let literal = json!({"A": {"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}});
        let (execution, _) = execute(literal, &echo(), json!({})).await;
        assert_eq!(
            (
                execution.status,
                execution.error.as_deref(),
                execution.cause.as_deref()
            ),
            (
                ExecutionStatus::Failed,
                Some("ErrorA"),
                Some("Kaiju attack")
            )
        );
        let paths = json!({"A": {"Type": "Fail", "Comment": "my error comment",
            "ErrorPath": "$.Error", "CausePath": "$.Cause"}});
        let (execution, _) =
            execute(paths, &echo(), json!({"Error": "Boom", "Cause": "why"})).await;
        assert_eq!(
            (execution.error.as_deref(), execution.cause.as_deref()),
            (Some("Boom"), Some("why"))
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
        let not_a_string = json!({"A": {"Type": "Fail", "ErrorPath": "$.e"}});
        let (execution, _) = execute(not_a_string, &echo(), json!({"e": 1})).await;
        assert_eq!(execution.error.as_deref(), Some("States.Runtime"));
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

    /// <https://states-language.net/spec.html#fallback-states>: the Catch example — the matching
    /// catcher injects the Error Output at `$.error-info`; any other error's output is the Error
    /// Output alone.
    #[tokio::test]
    async fn spec_catch_example() {
        let states = json!({
            "A": lambda(json!({"Next": "EndMachine", "Catch": [
                {"ErrorEquals": ["java.lang.Exception"], "ResultPath": "$.error-info", "Next": "RecoveryState"},
                {"ErrorEquals": ["States.ALL"], "Next": "EndMachine"}
            ]})),
            "RecoveryState": {"Type": "Succeed"},
            "EndMachine": {"Type": "Succeed"}
        });
        let java = [function_error("java.lang.Exception")];
        let (execution, _) = execute(states.clone(), &failing(&java), json!({"in": 1})).await;
        assert_eq!(execution.final_state, "RecoveryState");
        let output = execution.output.unwrap();
        assert_eq!(output["in"], 1);
        assert_eq!(output["error-info"]["Error"], "java.lang.Exception");
        let other = [function_error("Other")];
        let (execution, _) = execute(states, &failing(&other), json!({"in": 1})).await;
        assert_eq!(execution.final_state, "EndMachine");
        let output = execution.output.unwrap();
        assert_eq!(output.as_object().map(|o| o.len()), Some(2));
        assert_eq!(output["Error"], "Other");
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
            "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.caught", "Next": "Caught"}]}))});
        let (execution, _) = execute(states, &echo(), json!({"a": 1})).await;
        assert_eq!(execution.final_state, "Caught");
        let output = execution.output.unwrap();
        assert_eq!(output["caught"]["Error"], "States.ResultPathMatchFailure");
        assert_eq!(
            output["a"], 1,
            "the raw input is untouched by the failed write"
        );
    }

    /// <https://states-language.net/spec.html#runtime-errors>: input `"foo"` with ResultPath
    /// `$.x` fails the machine with `States.ResultPathMatchFailure`.
    #[tokio::test]
    async fn spec_result_path_match_failure() {
        let states = json!({"A": lambda(json!({"ResultPath": "$.x"}))});
        let (execution, _) = execute(states, &echo(), json!("foo")).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(
            execution.error.as_deref(),
            Some("States.ResultPathMatchFailure")
        );
    }

    /// The ResultSelector example of
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html#input-output-resultselector>,
    /// with the EMR result arriving as a `lambda:invoke` Payload.
    #[tokio::test]
    async fn aws_result_selector_example() {
        let result = json!({
            "resourceType": "elasticmapreduce",
            "resource": "createCluster.sync",
            "output": {
                "SdkHttpMetadata": {"HttpHeaders": {"Content-Length": "1112"}, "HttpStatusCode": 200},
                "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
                "ClusterId": "AKIAIOSFODNN7EXAMPLE"
            }
        });
        let invoker = fake(move |_, _, _| Ok(result.clone()));
        let states = json!({"A": lambda(json!({
            "ResultSelector": {
                "ClusterId.$": "$.Payload.output.ClusterId",
                "ResourceType.$": "$.Payload.resourceType"
            },
            "ResultPath": "$.EMROutput"
        }))});
        let (execution, _) = execute(states, &invoker, json!({"OtherDataFromInput": {}})).await;
        assert_eq!(
            execution.output,
            Some(json!({
                "OtherDataFromInput": {},
                "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}
            }))
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
    async fn counts_transitions() {
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
    async fn history_without_data_keeps_every_event_but_no_documents() {
        let states = json!({
            "A": lambda(json!({"Next": "B", "Retry": [{"ErrorEquals": ["States.ALL"]}]})),
            "B": {"Type": "Pass", "Parameters": {"n.$": "$.Payload.n"}, "End": true}
        });
        let run = |history: History| {
            let machine = machine(states.clone()).with_history(history);
            async move {
                let mut seen = Vec::new();
                let execution = machine
                    .run(
                        &failing(&[function_error("X")]),
                        &ManualClock::at_epoch(),
                        json!({"n": 1}),
                        "h",
                        &mut |event| seen.push(event.clone()),
                    )
                    .await
                    .unwrap();
                (execution, seen)
            }
        };
        let (full, full_seen) = run(History::Full).await;
        let (lean, lean_seen) = run(History::WithoutData).await;
        assert_eq!(full.events, full_seen);
        assert_eq!(
            lean_seen, full_seen,
            "the observer sees whole events either way"
        );
        assert_eq!(lean.output, full.output);
        assert_eq!(lean.events.len(), full.events.len());
        for (kept, whole) in lean.events.iter().zip(&full.events) {
            assert_eq!(kept.at_seconds, whole.at_seconds);
            assert_eq!(kept.kind, whole.kind.without_data());
            assert_eq!(kept.kind.clone().into_data(), Value::Null);
        }
        assert!(full.events.iter().any(|e| matches!(&e.kind,
            EventKind::TaskScheduled { parameters, .. } if parameters["Payload"] == json!({"n": 1}))));
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
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "watcher",
                "Payload": {"taskToken.$": "$$.Task.Token", "n.$": "$.n"}},
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
        async fn invoke(&self, name: &str, _: Value, _: Option<u64>) -> Result<Value, InvokeError> {
            match name {
                "watcher" => Ok(json!({"ignored": "the task waits for its token"})),
                _ => Err(function_error("NotHere")),
            }
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
        let token = parameters["Payload"]["taskToken"].as_str().unwrap();
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
            (park.function_name.as_str(), park.timeout_seconds),
            ("watcher", 30)
        );
        assert_eq!(park.payload["n"], 2);
        assert_eq!(park.payload["taskToken"], json!(park.token));

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

    /// <https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>: with
    /// `.waitForTaskToken` the function's answer is not the result (the task waits for the
    /// token), but a function error fails the task at once, before anything parks.
    #[tokio::test]
    async fn a_park_whose_function_fails_fails_without_parking() {
        let invoker = Answering {
            after: 10,
            answer: Ok(json!({"action": "promote"})),
            parks: Mutex::new(Vec::new()),
        };
        let failing = park_state(json!({"Parameters": {"FunctionName": "broken", "Payload": {}}}));
        let (execution, elapsed) =
            park_run(json!({"A": failing}), &invoker, json!({"t": 30})).await;
        assert_eq!(elapsed, 0.0);
        assert!(invoker.parks.lock().unwrap().is_empty());
        assert_eq!(execution.output.unwrap()["caught"]["Error"], "NotHere");
    }

    /// <https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html>: the
    /// request-response PutEvents integration returns PutEvents' answer.
    #[tokio::test]
    async fn put_events_returns_an_event_id_per_entry() {
        let state = json!({"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {"Entries": [{"Detail": {"n.$": "$.n"}, "DetailType": "d", "Source": "s"}]},
            "ResultPath": "$.put", "End": true});
        let (execution, _) = execute(json!({"A": state}), &echo(), json!({"n": 1})).await;
        let put = &execution.output.unwrap()["put"];
        assert_eq!(put["FailedEntryCount"], 0);
        assert_eq!(put["Entries"].as_array().unwrap().len(), 1);
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

    /// The events exported for `execution` (what GetExecutionHistory would list).
    fn exported(machine: &StateMachine, execution: &Execution) -> Vec<Value> {
        let history = export_history_of(machine, execution);
        history["events"].as_array().cloned().unwrap_or_default()
    }

    fn export_history_of(machine: &StateMachine, execution: &Execution) -> Value {
        crate::asl::export_history(machine, execution, chrono::DateTime::UNIX_EPOCH, &json!({}))
    }

    fn types(events: &[Value]) -> Vec<&str> {
        events.iter().filter_map(|e| e["type"].as_str()).collect()
    }

    async fn run_machine(machine: &StateMachine, invoker: &dyn LambdaInvoker) -> Execution {
        machine
            .run(
                invoker,
                &ManualClock::at_epoch(),
                json!({}),
                "h",
                &mut |_| {},
            )
            .await
            .unwrap()
    }

    /// Per state type, the events Step Functions writes
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>):
    /// a Task attempt Scheduled, Started and Succeeded/Failed (a retry schedules again), a park
    /// also Submitted and TimedOut, a Choice or Pass entered and exited, a Fail entered only.
    #[tokio::test]
    async fn history_events_per_state_type_match_the_exported_history() {
        let states = json!({
            "A": lambda(json!({"Next": "Park", "ResultPath": null, "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}]})),
            "Park": park_state(json!({"Next": "Choose",
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": null, "Next": "Choose"}]})),
            "Choose": {"Type": "Choice", "Choices": [{"Variable": "$.n", "StringEquals": "x", "Next": "Stop"}], "Default": "Stop"},
            "Stop": {"Type": "Fail", "Error": "E", "Cause": "c"}
        });
        let definition = json!({"StartAt": "A", "States": states});
        let machine = StateMachine::parse(&definition.to_string(), &BTreeMap::new()).unwrap();
        let invoker = failing(&[function_error("X")]);
        let execution = machine
            .run(
                &invoker,
                &ManualClock::at_epoch(),
                json!({"t": 5, "n": "y"}),
                "h",
                &mut |_| {},
            )
            .await
            .unwrap();
        let events = exported(&machine, &execution);
        assert_eq!(
            types(&events),
            vec![
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskFailed",
                "TaskScheduled",
                "TaskStarted",
                "TaskSucceeded",
                "TaskStateExited",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSubmitted",
                "TaskTimedOut",
                "TaskStateExited",
                "ChoiceStateEntered",
                "ChoiceStateExited",
                "FailStateEntered",
                "ExecutionFailed"
            ]
        );
        assert_eq!(execution.history_events, 19);
        assert_eq!(execution.history_events, events.len() as u64);
    }

    /// `passes` Pass states, then a Task and a Choice looping until the Task has run `loops`
    /// times, then a Succeed state: 1 + 2 × passes + 7 × loops + 2 + 1 events.
    async fn looping(passes: usize, loops: u64) -> (StateMachine, Execution) {
        let mut states = serde_json::Map::new();
        for i in 0..passes {
            states.insert(
                format!("P{i}"),
                json!({"Type": "Pass", "Next": format!("P{}", i + 1)}),
            );
        }
        states.insert(format!("P{passes}"), lambda(json!({"Next": "Again?"})));
        states.insert("Again?".into(), json!({"Type": "Choice", "Default": "Done",
            "Choices": [{"Variable": "$.Payload.again", "StringEquals": "yes", "Next": format!("P{passes}")}]}));
        states.insert("Done".into(), json!({"Type": "Succeed"}));
        let definition = json!({"StartAt": "P0", "States": states});
        let machine = StateMachine::parse(&definition.to_string(), &BTreeMap::new()).unwrap();
        let calls = std::sync::atomic::AtomicU64::new(0);
        let invoker = fake(move |_, _, _| {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            Ok(json!({"again": if n < loops { "yes" } else { "no" }}))
        });
        let execution = run_machine(&machine, &invoker).await;
        (machine, execution)
    }

    /// <https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>: event
    /// 25,000 may be ExecutionSucceeded; anything else there fails the execution.
    #[tokio::test]
    async fn event_25000_may_only_be_execution_succeeded() {
        let (machine, execution) = looping(3, 3570).await;
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(execution.history_events, 25_000);
        assert_eq!(exported(&machine, &execution).len(), 25_000);

        let (machine, execution) = looping(4, 3570).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.error.as_deref(), Some("States.Runtime"));
        assert_eq!(execution.cause.as_deref(), Some(HISTORY_LIMIT_CAUSE));
        assert_eq!(execution.final_state, "Done");
        let events = exported(&machine, &execution);
        assert_eq!((execution.history_events, events.len()), (25_000, 25_000));
        assert_eq!(events[24_998]["type"], "ChoiceStateExited");
        assert_eq!(events[24_999]["type"], "ExecutionFailed");
    }

    /// A retry loop whose every error is caught by `States.ALL` still ends at the history limit:
    /// `States.Runtime` reaches no Retry or Catch, and the exported history stops at 25,000
    /// even when the limit falls inside a Task attempt's events.
    #[tokio::test]
    async fn the_history_limit_is_uncatchable() {
        let states = json!({
            "A": lambda(json!({"Next": "B",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}]})),
            "B": {"Type": "Pass", "Next": "A"}
        });
        let machine = machine(states);
        let invoker = fake(|_, _, _| Err(function_error("Boom")));
        let execution = run_machine(&machine, &invoker).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(
            (execution.error.as_deref(), execution.cause.as_deref()),
            (Some("States.Runtime"), Some(HISTORY_LIMIT_CAUSE))
        );
        let events = exported(&machine, &execution);
        assert_eq!((execution.history_events, events.len()), (25_000, 25_000));
        assert_eq!(
            events.last().unwrap()["executionFailedEventDetails"]["cause"],
            HISTORY_LIMIT_CAUSE
        );
        // Each loop is A (entered, 3 attempts × 3, exited) and B (2): 13 events, 4 transitions.
        assert_eq!(execution.transitions, 25_000 / 13 * 4);
    }

    fn big(bytes: usize) -> Value {
        json!({"blob": "é".repeat(bytes / 2)})
    }

    /// <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>: a
    /// task result over 262,144 bytes is `States.DataLimitExceeded`, which `States.ALL` does
    /// not catch; the bytes are UTF-8 bytes, not characters.
    #[tokio::test]
    async fn a_result_over_256_kb_fails_the_execution_past_every_catch() {
        let states = json!({"A": lambda(json!({"Next": "Caught",
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}))});
        let invoker = fake(|_, _, _| Ok(big(262_144)));
        let (execution, _) = execute(states, &invoker, json!({})).await;
        assert_eq!(execution.status, ExecutionStatus::Failed);
        assert_eq!(execution.error.as_deref(), Some("States.DataLimitExceeded"));
        assert!(
            execution
                .cause
                .unwrap()
                .contains("task result of state 'A'")
        );
        assert_eq!(
            (execution.retries, execution.final_state.as_str()),
            (0, "A")
        );
        assert_eq!(execution.largest_payload.state, "A");
        assert!(execution.largest_payload.bytes > 262_144);
    }

    /// Inputs and outputs are measured as well: a Pass state's output built from its input
    /// doubles it past the limit; the same document alone stays within it.
    #[tokio::test]
    async fn state_inputs_and_outputs_are_limited_too() {
        let doc = big(200_000);
        let copy = json!({"A": {"Type": "Pass", "ResultPath": "$.copy", "End": true}});
        let (execution, _) = execute(copy, &echo(), doc.clone()).await;
        assert_eq!(execution.error.as_deref(), Some("States.DataLimitExceeded"));
        assert!(execution.cause.unwrap().contains("output of state 'A'"));

        let keep = json!({"A": {"Type": "Pass", "End": true}});
        let (execution, _) = execute(keep, &echo(), doc).await;
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        let bytes = execution.largest_payload.bytes;
        assert!((200_000..262_144).contains(&bytes), "{bytes}");

        let (execution, _) = execute(
            json!({"A": {"Type": "Pass", "End": true}}),
            &echo(),
            big(270_000),
        )
        .await;
        assert!(execution.cause.unwrap().contains("input of state 'A'"));
    }

    /// A Catch whose ResultPath writes the error into the input can push the document past the
    /// limit: that output is measured too.
    #[tokio::test]
    async fn a_catch_that_grows_the_document_past_256_kb_fails_the_execution() {
        let states = json!({"A": lambda(json!({"Next": "Caught",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}]}))});
        let invoker = fake(|_, _, _| {
            Err(InvokeError::Function {
                error_type: "Big".into(),
                error_message: "x".repeat(4_000),
            })
        });
        let (execution, _) = execute(states.clone(), &invoker, big(260_000)).await;
        assert_eq!(execution.error.as_deref(), Some("States.DataLimitExceeded"));
        assert!(execution.cause.unwrap().contains("output of state 'A'"));
        let (execution, _) = execute(states, &invoker, big(200_000)).await;
        assert_eq!(execution.final_state, "Caught");
    }
}
