//! Issue 21, item 7: right, not only strict. `plan --target` takes a function ARN; a
//! serverless.yml whose alarm serverless-plugin-aws-alerts makes imports in one command, the
//! alarm's name read from the deployed stack (`--stack`, `--endpoint` for an emulator); a
//! network failure is one plain line naming the endpoint.

use super::fake_aws::serve;
use super::{json_of, shifter};

fn fixture() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    dir.join("serverless-alerts.yml")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn plan_target_takes_a_function_arn() {
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api";
    let target = format!("{arn}:live");
    let out = shifter(&[
        "plan",
        "--strategy",
        "Canary10Percent5Minutes",
        "--target",
        &target,
        "--target",
        "payments-api:live",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = json_of(&out);
    assert_eq!(plan["aliases"][0], target.as_str());
    assert_eq!(plan["aliasWritesPerStep"], 2);
}

#[test]
fn an_alarm_of_serverless_plugin_aws_alerts_is_named_with_its_logical_id() {
    let out = shifter(&["import", &fixture(), "--stage", "prod"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "functions.api.deploymentSettings.alarms[0]: ApiCanaryErrorsAlarm is the alarm \
         serverless-plugin-aws-alerts creates for function api's alarm canaryErrors \
         (CloudFormation logical ID ApiCanaryErrorsAlarm)",
        "pass --stack STACK",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("has no resource"), "{stderr}");
    let out = shifter(&[
        "import",
        &fixture(),
        "--stage",
        "prod",
        "--resolve",
        "ApiCanaryErrorsAlarm=orders-prod-ApiCanaryErrorsAlarm-1ABC",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json_of(&out)["api"]["alarms"],
        serde_json::json!(["orders-prod-ApiCanaryErrorsAlarm-1ABC"])
    );
}

/// Nothing listens on port 9: one line naming the endpoint, no SDK internals.
#[test]
fn an_unreachable_endpoint_is_one_plain_line() {
    let out = shifter(&[
        "import",
        &fixture(),
        "--stack",
        "orders-prod",
        "--endpoint",
        "http://127.0.0.1:9",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: --stack orders-prod: cannot reach http://127.0.0.1:9"),
        "{stderr}"
    );
    for internal in ["DispatchFailure", "ConnectorError", "source:", "Some("] {
        assert!(!stderr.contains(internal), "{stderr}");
    }
}

/// A stack whose alarm has no AlarmName, as the plugin writes it: CloudFormation named it
/// `<stack>-<logical ID>-<random>`. `--stack` reads that name with ListStackResources (moto's
/// CloudFormation does not create CloudWatch alarms, so a local server answers as CloudFormation
/// does, in its query protocol's XML):
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html>
#[test]
fn import_reads_the_alarms_name_from_the_deployed_stack() {
    const GENERATED: &str = "orders-prod-ApiCanaryErrorsAlarm-1X2Y3Z4W5V6U";
    let (endpoint, calls) = serve(|call| {
        let listed = format!(
            "<ListStackResourcesResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
             <ListStackResourcesResult><StackResourceSummaries>\
             <member><LogicalResourceId>ApiCanaryErrorsAlarm</LogicalResourceId>\
             <PhysicalResourceId>{GENERATED}</PhysicalResourceId>\
             <ResourceType>AWS::CloudWatch::Alarm</ResourceType>\
             <LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp>\
             <ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>\
             <member><LogicalResourceId>ApiLambdaFunction</LogicalResourceId>\
             <PhysicalResourceId>orders-prod-api</PhysicalResourceId>\
             <ResourceType>AWS::Lambda::Function</ResourceType>\
             <LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp>\
             <ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>\
             </StackResourceSummaries></ListStackResourcesResult>\
             <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\
             </ListStackResourcesResponse>"
        );
        if call.body.contains("Action=ListStackResources")
            && call.body.contains("StackName=orders-prod")
        {
            (200, "text/xml", listed)
        } else {
            (400, "text/xml", "<ErrorResponse><Error><Code>ValidationError</Code><Message>Stack does not exist</Message></Error></ErrorResponse>".to_owned())
        }
    });
    let out = shifter(&[
        "import",
        &fixture(),
        "--stage",
        "prod",
        "--stack",
        "orders-prod",
        "--endpoint",
        &endpoint,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json_of(&out)["api"]["alarms"],
        serde_json::json!([GENERATED])
    );
    assert_eq!(calls.lock().unwrap().len(), 1, "one ListStackResources");

    // A stack that does not exist: the service's message, on one line, naming the stack.
    let out = shifter(&[
        "import",
        &fixture(),
        "--stack",
        "nope",
        "--endpoint",
        &endpoint,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("error: --stack nope: {endpoint} answered ValidationError: Stack does not exist")
    );
}
