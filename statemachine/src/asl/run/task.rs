//! Task states: an attempt (Parameters, the resource, ResultSelector), then Retry, then Catch,
//! as the Amazon States Language orders them (<https://states-language.net/spec.html#errors>),
//! and the resources a Task can call: `lambda:invoke`, its `.waitForTaskToken` park and
//! `events:putEvents`.

use serde_json::{Map, Value, json};
use shifter::ports::Clock;

use super::super::definition::{Resource, State, Task};
use super::super::path::Scope;
use super::super::retry::{self, TIMEOUT};
use super::io::{grows, merge, output, timeout_seconds};
use super::{Run, Step, then};
use crate::asl::{EventKind, Failure, InvokeError, LambdaInvoker, Park, RunError};

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

/// What `lambda:invoke` returns: the function's answer inside the invocation envelope.
fn envelope(payload: Value) -> Value {
    let mut result = Map::new();
    result.insert("ExecutedVersion".into(), Value::from("$LATEST"));
    result.insert("Payload".into(), payload);
    result.insert("StatusCode".into(), Value::from(200));
    Value::Object(result)
}

/// Calls the function; the payload is moved to the invoker, not copied.
async fn invoke(
    invoker: &dyn LambdaInvoker,
    mut parameters: Value,
    timeout_seconds: Option<u64>,
) -> Result<Value, Failure> {
    let function = parameters
        .get("FunctionName")
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::runtime("FunctionName must be a string"))?
        .to_owned();
    let payload = parameters
        .get_mut("Payload")
        .map_or(Value::Null, Value::take);
    let returned = invoker.invoke(&function, payload, timeout_seconds).await?;
    Ok(envelope(returned))
}

impl<'r> Run<'r> {
    /// A Task: attempts, then retries, then catchers, in that order.
    pub(super) async fn task(
        &mut self,
        state: &'r State,
        task: &'r Task,
        mut raw: Value,
        entered: &str,
    ) -> Result<Step, RunError> {
        let mut used = vec![0u32; task.retry.len()];
        let mut retry_count = 0u32;
        loop {
            self.set_context(state, entered, retry_count);
            let failure = match self.attempt(state, task, &raw).await {
                Ok(result) => match merge(task.result_path.as_ref(), &mut raw, result) {
                    Ok(()) => {
                        let output = output(state.output_path.as_ref(), raw).and_then(|o| {
                            if grows(task.result_path.as_ref()) {
                                self.measure(&state.name, "output", &o)?;
                            }
                            Ok(o)
                        });
                        return Ok(output.map_or_else(Step::from, |o| then(task.then, o)));
                    }
                    Err(failure) => failure,
                },
                Err(failure) if failure.is_terminal() => return Ok(failure.into()),
                Err(failure) => failure,
            };
            let failed = self.emit(EventKind::TaskFailed {
                state: state.name.clone(),
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            });
            if let Err(limit) = failed {
                return Ok(limit.into());
            }
            let Some((retrier, attempt)) = retry::next(&task.retry, &mut used, &failure.error)
            else {
                return Ok(self.catch(state, task, raw, failure));
            };
            retry_count += 1;
            self.retries += 1;
            self.transitions += 1;
            let millis = retrier.delay_millis(attempt, self.name, &state.name);
            // A retry writes no history event of its own: this cannot reach the limit.
            let _ = self.emit(EventKind::Retrying {
                state: state.name.clone(),
                attempt,
                delay_seconds: millis as f64 / 1000.0,
            });
            if let Err(stopped) = self.sleep_unless_stopped(millis).await {
                return Ok(stopped.into());
            }
        }
    }

    /// After retries: the first matching catcher gets the Error Output, placed by its
    /// ResultPath; with none, the execution fails with the error.
    fn catch(&mut self, state: &State, task: &Task, mut raw: Value, failure: Failure) -> Step {
        let Some(catcher) = task
            .catch
            .iter()
            .find(|c| retry::matches(&c.errors, &failure.error))
        else {
            return failure.into();
        };
        let error_output = json!({"Error": failure.error, "Cause": failure.cause});
        if let Err(failure) = merge(catcher.result_path.as_ref(), &mut raw, error_output) {
            return failure.into();
        }
        if grows(catcher.result_path.as_ref())
            && let Err(failure) = self.measure(&state.name, "output", &raw)
        {
            return failure.into();
        }
        // A catch writes no history event of its own: this cannot reach the limit.
        let _ = self.emit(EventKind::Caught {
            state: state.name.clone(),
            error: failure.error,
            next: self.machine.states[catcher.next].name.clone(),
        });
        Step::Next(catcher.next, raw)
    }

    /// One attempt: Parameters → resource → ResultSelector (ResultPath and OutputPath follow).
    async fn attempt(&mut self, state: &State, task: &Task, raw: &Value) -> Result<Value, Failure> {
        let parameters = task.parameters.eval(&Scope {
            input: raw,
            context: &self.context,
        })?;
        let timeout_seconds = timeout_seconds(&task.timeout, raw)?;
        self.measure(&state.name, "input after Parameters", &parameters)?;
        let parameters = self.emit(EventKind::TaskScheduled {
            state: state.name.clone(),
            resource: task.resource.arn().to_owned(),
            parameters,
            timeout_seconds,
        })?;
        let result = match task.resource {
            Resource::LambdaInvoke => {
                let result = invoke(self.invoker, parameters, timeout_seconds).await;
                // A function invoked before the stop runs to its end; its answer is dropped.
                if self.stop_due() {
                    return Err(Failure::stopped());
                }
                result?
            }
            Resource::LambdaInvokeWaitForTaskToken => {
                // The token `$$.Task.Token` held for this attempt; the next attempt gets another.
                let token = self.token();
                self.tokens += 1;
                self.park(state, parameters, token, timeout_seconds).await?
            }
            Resource::PutEvents => put_events(&parameters)?,
        };
        self.measure(&state.name, "task result", &result)?;
        let result = self.emit(EventKind::TaskSucceeded {
            state: state.name.clone(),
            output: result,
        })?;
        match &task.result_selector {
            Some(selector) => selector.eval(&Scope {
                input: &result,
                context: &self.context,
            }),
            None => Ok(result),
        }
    }

    /// Invokes the function with the token, then waits on the shared clock for the invoker's
    /// answer to the token. A function error fails the task like a plain invoke; its answer is
    /// not the task's result (only SendTaskSuccess gives one).
    async fn park(
        &mut self,
        state: &State,
        parameters: Value,
        token: String,
        timeout_seconds: Option<u64>,
    ) -> Result<Value, Failure> {
        let timeout_seconds = timeout_seconds.ok_or_else(|| {
            Failure::runtime(
                "a waitForTaskToken Task needs TimeoutSeconds or TimeoutSecondsPath locally",
            )
        })?;
        let began = self.clock.now();
        let function_name = parameters
            .get("FunctionName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let payload = parameters.get("Payload").cloned().unwrap_or_default();
        invoke(self.invoker, parameters, Some(timeout_seconds)).await?;
        let park = Park {
            state: state.name.clone(),
            function_name,
            payload,
            token,
            timeout_seconds,
        };
        let parked = self.invoker.park(&park).await;
        let limit = park.timeout_millis();
        let (millis, answer) = if parked.after_millis >= limit {
            (limit, Err(InvokeError::Timeout))
        } else {
            (parked.after_millis.max(0), parked.answer)
        };
        // The invoker may have slept already (waiting for an event): only the rest is slept.
        let spent = (self.clock.now() - began).num_milliseconds();
        self.sleep_unless_stopped(millis - spent).await?;
        Ok(answer?)
    }
}

/// PutEvents' answer to `parameters` (one event id per entry, none failed), put in spirit.
fn put_events(parameters: &Value) -> Result<Value, Failure> {
    let entries = parameters
        .get("Entries")
        .and_then(Value::as_array)
        .ok_or_else(|| Failure::runtime("Entries must be an array"))?;
    let ids: Vec<Value> = (0..entries.len())
        .map(|i| json!({"EventId": format!("local-event-{i}")}))
        .collect();
    Ok(json!({"Entries": ids, "FailedEntryCount": 0}))
}
