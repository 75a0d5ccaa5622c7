// Replays local runs of the shipped state machine through aws-local-stepfunctions, an
// independent Amazon States Language interpreter (https://github.com/nibble-4bits/aws-local-stepfunctions),
// and prints what it did, so the engine tests can compare it with our runner state by state.
//
// stdin:  {"cases": [{"name", "definition", "input", "context",
//                     "attempts": {"<Task state>": [{"output": …} | {"error", "cause"} | {"timeout": true, "cause"}]}}]}
// stdout: {"results": [{"name", "states": [{"name", "output"}], "retries": {"<state>": n},
//                       "status": "SUCCEEDED" | "FAILED", "error", "cause", "leftover": {…}}]}
//
// Task resources are replaced by the attempts our runner recorded, in order, so both
// interpreters see the same function answers; everything else (Parameters, ResultSelector,
// ResultPath, OutputPath, Retry, Catch, Choice, Pass, Fail, intrinsics) is theirs.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const alsDir = process.env.SHIFTER_ALS_DIR;
if (!alsDir) {
  console.error('SHIFTER_ALS_DIR must name the folder aws-local-stepfunctions is installed in');
  process.exit(2);
}
const require = createRequire(path.join(alsDir, 'package.json'));
const { StateMachine, ExecutionError } = require('aws-local-stepfunctions');

// Retry pauses and task timeouts are virtual in our runner; here every timer fires at once.
// A replayed attempt settles in a microtask, before any timer, so the task's own timeout never
// wins the race; a recorded timeout is replayed as the library's States.Timeout error.
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (fn, _ms, ...args) => realSetTimeout(fn, 0, ...args);

// The library's own States.Timeout error class (not exported): Retry and Catch treat it apart
// from other errors (States.TaskFailed does not match it). Taken from one real timeout.
async function timeoutErrorClass() {
  const probe = new StateMachine({
    StartAt: 'Probe',
    States: { Probe: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:probe', TimeoutSeconds: 1, End: true } },
  });
  const run = probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: () => new Promise(() => {}) } } });
  try {
    await run.result;
  } catch (e) {
    if (e.cause?.name === 'States.Timeout') return e.cause.constructor;
  }
  throw new Error('could not obtain the States.Timeout error class of aws-local-stepfunctions');
}
const TimeoutError = await timeoutErrorClass();

// The Cause Step Functions gives a States.Timeout is not documented
// (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html names the
// error only) and each interpreter words it its own way: a replayed timeout carries the cause
// our runner gave it, so that what the definition does with it can be compared.
function timeout(cause) {
  const error = new TimeoutError();
  error.message = cause;
  return error;
}

function replayer(queue, state) {
  return async () => {
    const next = queue.shift();
    if (next === undefined) {
      const error = new Error(`our runner recorded no further attempt of ${state}`);
      error.name = 'Differential.NoRecordedAttempt';
      throw error;
    }
    if ('output' in next) return next.output;
    if (next.timeout) throw timeout(next.cause);
    const error = new Error(next.cause);
    error.name = next.error;
    throw error;
  };
}

async function replay(c) {
  const queues = {};
  const handlers = {};
  for (const [state, attempts] of Object.entries(c.attempts)) {
    queues[state] = [...attempts];
    handlers[state] = replayer(queues[state], state);
  }
  // aws-local-stepfunctions resolves TimeoutSecondsPath against the effective input after
  // Parameters; AWS resolves it against the state input ("a timeout value dynamically from the
  // state input", https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html). Timers
  // are instant here and recorded timeouts are replayed as errors, so the replay gives those
  // states a constant timeout instead of the path.
  for (const state of Object.values(c.definition.States)) {
    if (state.TimeoutSecondsPath !== undefined) {
      delete state.TimeoutSecondsPath;
      state.TimeoutSeconds = 1;
    }
  }
  const retryIntervalOverrides = Object.fromEntries(Object.keys(c.definition.States).map((s) => [s, 0]));
  const machine = new StateMachine(c.definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(c.input, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
    context: c.context,
  });
  const states = [];
  const retries = {};
  const collect = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') states.push({ name: event.state.name });
      if (event.type === 'StateExited') states[states.length - 1].output = event.state.output;
      if (event.type === 'StateRetried') retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
    }
  })();
  const result = { name: c.name, states, retries };
  try {
    result.output = await execution.result;
    result.status = 'SUCCEEDED';
  } catch (e) {
    result.status = 'FAILED';
    const cause = e instanceof ExecutionError ? e.cause : e;
    result.error = cause?.name ?? String(e);
    result.cause = cause?.cause ?? cause?.message ?? '';
  }
  await collect;
  result.leftover = Object.fromEntries(Object.entries(queues).filter(([, q]) => q.length > 0));
  return result;
}

const { cases } = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const c of cases) results.push(await replay(c));
process.stdout.write(JSON.stringify({ results }));
