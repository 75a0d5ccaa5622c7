"""Start-up benchmark: every Rust function, and check-health and shift-traffic against their
boto3 twins.

Each run starts one function process under a local Lambda Runtime API (bench/standins.py) with
its AWS endpoints on local emulators and, for the functions with an event, hands it one event;
then it stops the process. Measured per run:

  cold start        process start (just before exec) -> its first GET /runtime/invocation/next:
                    runtime start, SDK configuration, client construction and the warm-up call
  RSS at ready      the process's peak resident memory (VmHWM) when it first asks for an event
                    (the Runtime API holds that request while the harness reads it)
  first invocation  event handed out -> response posted: decode, the AWS calls, decide, encode
  max RSS           the process's peak resident memory after its first response

Every function of functions/ is started; check-health and shift-traffic (and their twins) also
get an event. The others are measured to ready only: their first event needs services no local
emulator answers here (Step Functions task tokens, CodePipeline jobs, a hook to invoke) or a
deployment registry row, and their start-up does not depend on it.

Lambda (aliases) is moto server ($SHIFTER_MOTO_ENDPOINT, seeded with orders-api 1 -> 2, alias
live), as are DynamoDB and Step Functions for the functions that build those clients (none of
them calls either before its first event); CloudWatch is the RPCv2 CBOR stand-in (moto cannot
answer that protocol). Subjects run interleaved, after discarded warm-up runs (--warmup,
default 2) each, so drift hits all of them alike. Each function gets the environment
template.yaml gives it.

The events are bench/results/events/*.json: the exact payloads the shipped state machine sends
(statemachine/tests/engine/bench_events.rs keeps them so); the harness only patches moto's
RevisionId and the wall-clock step start into them.

Usage: startup.py --rust-bin DIR [--events DIR] [--runs N] [--warmup N] [--out FILE.json]
       (scripts/test runs it once, --runs 1 --warmup 0, on the debug builds: a smoke run)
"""

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standins import CloudWatchCbor, RuntimeApi  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ALARMS = ["bench-errors", "bench-latency"]
FUNCTION, ALIAS = "orders-api", "live"


def now_iso():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def patched(template, fields, **values):
    """A copy of `template` with `values` set inside its `fields` object (a path of keys).

    Only keys the event already has are set: the events are the exact payloads of the shipped
    state machine (checked by statemachine/tests/engine/bench_events.rs), and a key that went
    missing means the payload changed under the harness.
    """
    doc = copy.deepcopy(template)
    target = doc
    for key in fields:
        target = target[key]
    for key, value in values.items():
        if key not in target:
            raise KeyError(f"the event has no {'.'.join([*fields, key])}; regenerate bench/results/events")
        target[key] = value
    return doc


def check_health_event(template):
    # Mid-bake: the step started now, so the 30-minute bake has just begun.
    assert template["alarms"] == ALARMS and template["decision"] == "bake", template
    return patched(template, [], stepStartedAt=now_iso())


REGISTRY_TABLE = "bench-registry"


def registry_table(ddb):
    """The registry table as template.yaml declares it (pk/sk strings), once per emulator."""
    try:
        ddb.create_table(
            TableName=REGISTRY_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ddb.exceptions.ResourceInUseException:
        pass


def shift_traffic_event(template, lam, ddb):
    # Start Deployment's lock, on which Shift Traffic notes each write before sending it.
    deployment = template["deployment"]
    ddb.put_item(TableName=REGISTRY_TABLE, Item={
        "pk": {"S": f"ALIAS#{FUNCTION}#{ALIAS}"}, "sk": {"S": "LOCK"},
        "deploymentId": {"S": deployment["deploymentId"]},
        "executionArn": {"S": "arn:aws:states:us-east-1:123456789012:execution:bench:bench"},
        "functionName": {"S": FUNCTION}, "alias": {"S": ALIAS},
        "targetVersion": {"S": deployment["targetVersion"]}, "alarms": {"L": []},
        "expiresAt": {"N": str(int(time.time()) + 86400)},
    })
    # Put the alias back on version 1 with no routing; the event carries its RevisionId.
    assert (deployment["functionName"], deployment["alias"]) == (FUNCTION, ALIAS), deployment
    alias = lam.update_alias(
        FunctionName=FUNCTION,
        Name=ALIAS,
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    return patched(template, ["deployment"], revisionId=alias["RevisionId"])


def run_once(api, subject, event, env, log):
    """One process: started, measured at ready, given `event` (if not None), stopped."""
    inv = api.begin(event)
    start = time.perf_counter_ns()
    proc = subprocess.Popen(subject["cmd"], env=env, cwd=subject.get("cwd"), stdout=log, stderr=log)
    try:
        ready = wait_ready(inv, proc, 60)
        # The first poll is held until `go`: nothing else of the process runs meanwhile.
        ready_kb = peak_rss_kb(proc.pid) if ready else 0
        inv.go.set()
        if event is not None:
            finished = inv.finished.wait(60)
            # Wait for its next poll, so no request of this process can reach the next run.
            inv.idle.wait(10)
            peak_kb = peak_rss_kb(proc.pid)
        else:
            finished, peak_kb = ready, ready_kb
    finally:
        api.end(inv)
        proc.terminate()
        proc.wait()
    if not finished or inv.init_error or inv.error or inv.ready_ns is None:
        raise RuntimeError(
            f"{subject['name']}: {'no response' if event is not None else 'never ready'} "
            f"(init error {inv.init_error!r}, error {inv.error!r}); see {log.name}"
        )
    cold = (inv.ready_ns - start) / 1e6
    result = {"cold_start_ms": cold, "ready_rss_mb": ready_kb / 1024, "max_rss_mb": peak_kb / 1024}
    if event is not None:
        first = (inv.done_ns - inv.handed_ns) / 1e6
        # Not done - start: the harness's memory read at ready is no part of the function's time.
        result.update(first_invocation_ms=first, total_ms=cold + first, response=json.loads(inv.response))
    return result


def wait_ready(inv, proc, timeout):
    """Whether the process asked for an event within `timeout` seconds (False once it exits)."""
    deadline = time.monotonic() + timeout
    while not inv.ready.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            return inv.ready.is_set()
    return True


def peak_rss_kb(pid):
    """The process's own peak RSS (wait4's ru_maxrss would include the forked harness)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def functions():
    """Every function of the project: the directories of functions/ with a Cargo.toml."""
    root = os.path.join(HERE, "..", "functions")
    return sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "Cargo.toml")))


# What template.yaml's Environment gives each function (infrastructure facts, as deployed).
FUNCTION_ENV = {
    "start-deployment": {"MANAGED_FUNCTIONS": FUNCTION, "SHIFTER_REGISTRY_TABLE": "bench-registry"},
    "pipeline-action": {"STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench"},
    "shift-traffic": {"SHIFTER_REGISTRY_TABLE": "bench-registry"},
    "watch": {"SHIFTER_REGISTRY_TABLE": "bench-registry", "SHIFTER_RECORDS_TABLE": "bench-records",
              "SHIFTER_RECORD_RETENTION_DAYS": "90", "SHIFTER_EVENT_BUS": "bench-bus"},
    "waves": {"WAVES_WATCHES_TABLE": "bench-waves", "WAVES_TARGET_ROLE_NAME": "traffic-shifter-waves-target",
              "WAVES_TARGET_STATE_MACHINE_NAME": "bench"},
}

# The functions the harness also hands an event, and their boto3 twins (bench/twins).
INVOKED = ("check-health", "shift-traffic")
TWINS = {"check-health": "check_health", "shift-traffic": "shift_traffic"}


def subjects_for(rust_bin):
    py = sys.executable
    subjects = []
    for fn in functions():
        subjects.append(
            {"name": f"{fn} (Rust)", "function": fn, "lang": "rust", "cmd": [os.path.join(rust_bin, fn)],
             "env": dict(FUNCTION_ENV.get(fn, {}), AWS_LAMBDA_FUNCTION_NAME=fn, _HANDLER="bootstrap")}
        )
        if fn in TWINS:
            module = TWINS[fn]
            subjects.append(
                {"name": f"{fn} (Python/boto3)", "function": fn, "lang": "python",
                 "cmd": [py, "-m", "awslambdaric", f"{module}.handler"], "cwd": os.path.join(HERE, "twins"),
                 "env": {**FUNCTION_ENV.get(fn, {}), "AWS_LAMBDA_FUNCTION_NAME": fn,
                         "_HANDLER": f"{module}.handler",
                         "LAMBDA_TASK_ROOT": os.path.join(HERE, "twins"),
                         "PYTHONPATH": os.path.join(HERE, "twins")}}
            )
    missing = [fn for fn in INVOKED if not any(s["function"] == fn for s in subjects)]
    if missing:
        raise SystemExit(f"startup.py: functions/ has no {', '.join(missing)}")
    return subjects


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rust-bin", required=True, help="directory with every function's binary")
    p.add_argument("--events", default=os.path.join(HERE, "results", "events"),
                   help="directory with check-health.json and shift-traffic.json")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2, help="discarded runs per subject before --runs")
    p.add_argument("--out")
    p.add_argument("--logs", default=os.path.join(HERE, "..", "target", "bench"))
    args = p.parse_args()

    moto = os.environ["SHIFTER_MOTO_ENDPOINT"]
    cloudwatch = CloudWatchCbor(ALARMS)
    api = RuntimeApi()
    lam = boto3.client("lambda", endpoint_url=moto, region_name="us-east-1")
    ddb = boto3.client("dynamodb", endpoint_url=moto, region_name="us-east-1")
    registry_table(ddb)
    templates = {}
    for name in INVOKED:
        with open(os.path.join(args.events, f"{name}.json")) as f:
            templates[name] = json.load(f)

    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": moto,
        "AWS_ENDPOINT_URL_CLOUDWATCH": cloudwatch.endpoint,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
    }
    subjects = subjects_for(args.rust_bin)

    os.makedirs(args.logs, exist_ok=True)
    results = {s["name"]: [] for s in subjects}
    for i in range(args.runs + args.warmup):
        for s in subjects:
            event = None
            if s["function"] == "check-health":
                event = check_health_event(templates["check-health"])
            elif s["function"] == "shift-traffic":
                event = shift_traffic_event(templates["shift-traffic"], lam, ddb)
            env = dict(base_env, **s["env"])
            with open(os.path.join(args.logs, f"startup-{s['function']}-{s['lang']}.log"), "a") as log:
                r = run_once(api, s, event, env, log)
            if s["function"] == "shift-traffic":
                alias = lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)
                weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
                assert weights == {"2": 0.1}, f"{s['name']}: alias after the shift: {alias}"
            elif s["function"] == "check-health":
                assert r["response"]["decision"] == "bake", f"{s['name']}: {r['response']}"
            if i >= args.warmup:
                results[s["name"]].append(r)

    summary = [summarize(s, results[s["name"]]) for s in subjects]
    print_table(summary)
    ratios = {}
    for fn in TWINS:
        rust = next(r for r in summary if r["function"] == fn and r["lang"] == "rust")
        python = next(r for r in summary if r["function"] == fn and r["lang"] == "python")
        ratios[fn] = {
            "coldStart": python["coldStartMs"] / rust["coldStartMs"],
            "firstInvocation": python["firstInvocationMs"] / rust["firstInvocationMs"],
            "total": python["totalMs"] / rust["totalMs"],
            "maxRss": python["maxRssMb"] / rust["maxRssMb"],
        }
        print(f"{fn}: Python/Rust cold start {ratios[fn]['coldStart']:.1f}x, first invocation "
              f"{ratios[fn]['firstInvocation']:.1f}x, start to first response {ratios[fn]['total']:.1f}x, "
              f"max RSS {ratios[fn]['maxRss']:.1f}x")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"runs": args.runs, "subjects": summary, "ratios": ratios}, f, indent=2)
    api.close()
    cloudwatch.close()


def summarize(subject, rs):
    """Medians of one subject's runs (None for what a start-up-only run does not measure)."""
    def med(key):
        values = [x[key] for x in rs if key in x]
        return statistics.median(values) if values else None

    cold = [x["cold_start_ms"] for x in rs]
    return {
        "name": subject["name"], "function": subject["function"], "lang": subject["lang"], "runs": len(rs),
        "coldStartMs": med("cold_start_ms"), "readyRssMb": med("ready_rss_mb"),
        "firstInvocationMs": med("first_invocation_ms"), "totalMs": med("total_ms"), "maxRssMb": med("max_rss_mb"),
        "coldStartP90Ms": statistics.quantiles(cold, n=10)[-1] if len(cold) > 1 else None,
    }


def print_table(summary):
    def ms(v):
        return f"{v:>8.1f} ms" if v is not None else f"{'-':>11}"

    def mb(v):
        return f"{v:>6.1f} MB" if v is not None else f"{'-':>9}"

    print(f"{'function':<30} {'runs':>4} {'cold start':>11} {'RSS ready':>9} {'1st invoke':>11} "
          f"{'total':>11} {'max RSS':>9}")
    for row in summary:
        print(f"{row['name']:<30} {row['runs']:>4} {ms(row['coldStartMs'])} {mb(row['readyRssMb'])} "
              f"{ms(row['firstInvocationMs'])} {ms(row['totalMs'])} {mb(row['maxRssMb'])}")


if __name__ == "__main__":
    main()
