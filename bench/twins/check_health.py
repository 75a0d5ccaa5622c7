"""Python twin of the check-health function, for the start-up benchmark only (bench/startup.py).

What the Rust function does at init and per event, with boto3: one CloudWatch client built at
import, one DescribeAlarms(MaxRecords=1) to open the connection, then per event one
DescribeAlarms for the watched alarms (metric and composite) while a step bakes, and the
decision. The decision is reduced to its shape (rollback on ALARM, else bake / shift / promote
by elapsed time); the benchmark is about start-up and call cost, not the domain rules.
"""

import datetime

import boto3

cloudwatch = boto3.client("cloudwatch")
try:
    cloudwatch.describe_alarms(MaxRecords=1)
except Exception as e:  # warming is best effort, as in Rust
    print(f"warming the CloudWatch connection failed: {e}")


def _states(names):
    states = {}
    paginator = cloudwatch.get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            states[alarm["AlarmName"]] = alarm["StateValue"]
    return states


def handler(event, context):
    deployment = dict(event)
    if deployment.get("alarms") and deployment.get("decision") in ("bake", "postPromotionBake"):
        states = _states(deployment["alarms"])
        deployment["alarmChecks"] = deployment.get("alarmChecks", 0) + 1
        if any(states.get(n) == "ALARM" for n in deployment["alarms"]):
            deployment["decision"] = "rollback"
            return deployment
    now = datetime.datetime.now(datetime.timezone.utc)
    started = datetime.datetime.fromisoformat(deployment["stepStartedAt"].replace("Z", "+00:00"))
    step = deployment["plan"][deployment["stepIndex"]]
    baked = (now - started).total_seconds()
    remaining = step["bakeSeconds"] - baked
    if remaining > 0:
        deployment["decision"] = "bake"
        deployment["waitSeconds"] = int(min(remaining, deployment["checkIntervalSeconds"]))
    elif deployment["stepIndex"] + 2 < len(deployment["plan"]):
        deployment["decision"] = "shift"
        deployment["stepIndex"] += 1
    else:
        deployment["decision"] = "promote"
        deployment["stepIndex"] = len(deployment["plan"]) - 1
    return deployment
