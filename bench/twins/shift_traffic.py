"""Python twin of the shift-traffic function, for the start-up benchmark only (bench/startup.py).

What the Rust function does at init and per event, with boto3: one Lambda client and one
DynamoDB client built at import, one GetAccountSettings to open the connection, then per event
one UpdateItem noting the write on the deployment's lock, one UpdateAlias to the step's weight
conditional on the RevisionId, and GetAlias only after a conflict.
"""

import json
import os
import time

import boto3

lambda_client = boto3.client("lambda")
dynamodb = boto3.client("dynamodb")
TABLE = os.environ["SHIFTER_REGISTRY_TABLE"]
try:
    lambda_client.get_account_settings()
except Exception as e:  # warming is best effort, as in Rust
    print(f"warming the Lambda connection failed: {e}")


def handler(event, context):
    # The state machine sends {"deployment": <state document>, "attempt": <retry count>}.
    deployment = dict(event["deployment"])
    step = deployment["plan"][deployment["stepIndex"]]
    weight_bp = int(step["weight"])  # basis points, as the Rust document carries them
    kwargs = dict(
        FunctionName=deployment["functionName"],
        Name=deployment["alias"],
        FunctionVersion=deployment["originalVersion"],
        RevisionId=deployment["revisionId"],
    )
    if weight_bp >= 10000:
        kwargs["FunctionVersion"] = deployment["targetVersion"]
        kwargs["RoutingConfig"] = {"AdditionalVersionWeights": {}}
    else:
        kwargs["RoutingConfig"] = {
            "AdditionalVersionWeights": {deployment["targetVersion"]: weight_bp / 10000}
        }
    route = {"version": kwargs["FunctionVersion"]}
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"ALIAS#{deployment['functionName']}#{deployment['alias']}"}, "sk": {"S": "LOCK"}},
        UpdateExpression="SET lastWrite = :write",
        ConditionExpression="deploymentId = :id AND expiresAt >= :now",
        ExpressionAttributeValues={
            ":write": {"S": json.dumps({"startVersion": deployment["originalVersion"],
                                        "overRevision": deployment["revisionId"], "route": route})},
            ":id": {"S": deployment["deploymentId"]},
            ":now": {"N": str(int(time.time()))},
        },
    )
    try:
        written = lambda_client.update_alias(**kwargs)
    except lambda_client.exceptions.PreconditionFailedException:
        written = lambda_client.get_alias(FunctionName=deployment["functionName"], Name=deployment["alias"])
    deployment["revisionId"] = written["RevisionId"]
    deployment["traffic"] = weight_bp
    deployment["trafficPercent"] = weight_bp / 100
    deployment["decision"] = "bake"
    return deployment
