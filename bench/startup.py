"""Start-up benchmark: our Rust check-health and shift-traffic against their boto3 twins.

Each run starts one function process under a local Lambda Runtime API (bench/standins.py) with
its AWS endpoint on local emulators, hands it one event and stops it. Measured per run:

  cold start        process start (just before exec) -> its first GET /runtime/invocation/next:
                    runtime start, SDK configuration, client construction and the warm-up call
  first invocation  event handed out -> response posted: decode, the AWS calls, decide, encode
  max RSS           the process's peak resident memory (VmHWM) after its first response

Lambda (aliases) is moto server ($SHIFTER_MOTO_ENDPOINT, seeded with orders-api 1 -> 2, alias
live); CloudWatch is the RPCv2 CBOR stand-in (moto cannot answer that protocol). Subjects run
interleaved, after discarded warm-up runs (--warmup, default 2) each, so drift hits all of them alike.

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


def shift_traffic_event(template, lam):
    # Put the alias back on version 1 with no routing; the event carries its RevisionId.
    deployment = template["deployment"]
    assert (deployment["functionName"], deployment["alias"]) == (FUNCTION, ALIAS), deployment
    alias = lam.update_alias(
        FunctionName=FUNCTION,
        Name=ALIAS,
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    return patched(template, ["deployment"], revisionId=alias["RevisionId"])


def run_once(api, subject, event, env, log):
    inv = api.begin(event)
    start = time.perf_counter_ns()
    proc = subprocess.Popen(subject["cmd"], env=env, cwd=subject.get("cwd"), stdout=log, stderr=log)
    finished = inv.finished.wait(60)
    # Wait for its next poll, so no request of this process can reach the next run.
    inv.idle.wait(10)
    peak_kb = 0
    try:  # the process's own peak RSS (wait4's ru_maxrss would include the forked harness)
        with open(f"/proc/{proc.pid}/status") as f:
            peak_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    api.end(inv)
    proc.terminate()
    proc.wait()
    if not finished or inv.init_error or inv.error or inv.ready_ns is None:
        raise RuntimeError(
            f"{subject['name']}: no response (init error {inv.init_error!r}, error {inv.error!r}); see {log.name}"
        )
    return {
        "cold_start_ms": (inv.ready_ns - start) / 1e6,
        "first_invocation_ms": (inv.done_ns - inv.handed_ns) / 1e6,
        "total_ms": (inv.done_ns - start) / 1e6,
        "max_rss_mb": peak_kb / 1024,
        "response": json.loads(inv.response),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rust-bin", required=True, help="directory with check-health and shift-traffic")
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
    templates = {
        name: json.load(open(os.path.join(args.events, f"{name}.json")))
        for name in ("check-health", "shift-traffic")
    }

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
    py = sys.executable
    subjects = []
    for fn, module in (("check-health", "check_health"), ("shift-traffic", "shift_traffic")):
        subjects.append(
            {"name": f"{fn} (Rust)", "function": fn, "lang": "rust", "cmd": [os.path.join(args.rust_bin, fn)],
             "env": {"AWS_LAMBDA_FUNCTION_NAME": fn, "_HANDLER": "bootstrap"}}
        )
        subjects.append(
            {"name": f"{fn} (Python/boto3)", "function": fn, "lang": "python",
             "cmd": [py, "-m", "awslambdaric", f"{module}.handler"], "cwd": os.path.join(HERE, "twins"),
             "env": {"AWS_LAMBDA_FUNCTION_NAME": fn, "_HANDLER": f"{module}.handler",
                     "LAMBDA_TASK_ROOT": os.path.join(HERE, "twins"),
                     "PYTHONPATH": os.path.join(HERE, "twins")}}
        )

    os.makedirs(args.logs, exist_ok=True)
    results = {s["name"]: [] for s in subjects}
    for i in range(args.runs + args.warmup):
        for s in subjects:
            event = (check_health_event(templates["check-health"]) if s["function"] == "check-health"
                     else shift_traffic_event(templates["shift-traffic"], lam))
            env = dict(base_env, **s["env"])
            with open(os.path.join(args.logs, f"startup-{s['function']}-{s['lang']}.log"), "a") as log:
                r = run_once(api, s, event, env, log)
            if s["function"] == "shift-traffic":
                alias = lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)
                weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
                assert weights == {"2": 0.1}, f"{s['name']}: alias after the shift: {alias}"
            else:
                assert r["response"]["decision"] == "bake", f"{s['name']}: {r['response']}"
            if i >= args.warmup:
                results[s["name"]].append(r)

    med = lambda rs, k: statistics.median(x[k] for x in rs)  # noqa: E731
    summary = []
    print(f"{'function':<30} {'runs':>4} {'cold start':>11} {'1st invoke':>11} {'total':>9} {'max RSS':>9}")
    for s in subjects:
        rs = results[s["name"]]
        row = {
            "name": s["name"], "function": s["function"], "lang": s["lang"], "runs": len(rs),
            "coldStartMs": med(rs, "cold_start_ms"), "firstInvocationMs": med(rs, "first_invocation_ms"),
            "totalMs": med(rs, "total_ms"), "maxRssMb": med(rs, "max_rss_mb"),
            "coldStartP90Ms": statistics.quantiles([x["cold_start_ms"] for x in rs], n=10)[-1] if len(rs) > 1 else None,
        }
        summary.append(row)
        print(f"{s['name']:<30} {len(rs):>4} {row['coldStartMs']:>8.1f} ms {row['firstInvocationMs']:>8.1f} ms "
              f"{row['totalMs']:>6.1f} ms {row['maxRssMb']:>6.1f} MB")
    ratios = {}
    for fn in ("check-health", "shift-traffic"):
        rust = next(r for r in summary if r["function"] == fn and r["lang"] == "rust")
        python = next(r for r in summary if r["function"] == fn and r["lang"] == "python")
        ratios[fn] = {
            "coldStart": python["coldStartMs"] / rust["coldStartMs"],
            "firstInvocation": python["firstInvocationMs"] / rust["firstInvocationMs"],
            "total": python["totalMs"] / rust["totalMs"],
        }
        print(f"{fn}: Python/Rust cold start {ratios[fn]['coldStart']:.1f}x, first invocation "
              f"{ratios[fn]['firstInvocation']:.1f}x, start to first response {ratios[fn]['total']:.1f}x")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"runs": args.runs, "subjects": summary, "ratios": ratios}, f, indent=2)
    api.close()
    cloudwatch.close()


if __name__ == "__main__":
    main()
