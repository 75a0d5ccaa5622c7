"""Seeds a fresh moto server with what the contract tests and the emulator-backed simulate need.

Usage: seed_moto.py ENDPOINT

- IAM roles `shifter-contract` and `shifter-contract-other` (moto refuses CreateFunction for a
  role it does not know; the contract tests create their own functions with these roles).
- Function `orders-api` with published versions 1 and 2 and alias `live` -> 1, for
  `shifter simulate --endpoint`.

Idempotent: running it twice against the same server leaves the same state.
"""

import io
import json
import sys
import zipfile

import boto3

ACCOUNT = "123456789012"
ROLES = ["shifter-contract", "shifter-contract-other"]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def code_zip(body):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", body)
    return buf.getvalue()


def main(endpoint):
    iam = client("iam", endpoint)
    for role in ROLES:
        try:
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
        except iam.exceptions.EntityAlreadyExistsException:
            pass

    lam = client("lambda", endpoint)
    try:
        lam.get_function(FunctionName="orders-api")
        return
    except lam.exceptions.ResourceNotFoundException:
        pass
    lam.create_function(
        FunctionName="orders-api",
        Runtime="provided.al2023",
        Role=f"arn:aws:iam::{ACCOUNT}:role/{ROLES[0]}",
        Handler="bootstrap",
        Code={"ZipFile": code_zip("v1")},
        Publish=True,
    )
    lam.update_function_code(FunctionName="orders-api", ZipFile=code_zip("v2"))
    lam.publish_version(FunctionName="orders-api")
    lam.create_alias(FunctionName="orders-api", Name="live", FunctionVersion="1")


if __name__ == "__main__":
    main(sys.argv[1])
