//! `shifter import`: execution inputs from the CodeDeploy settings a project already has — a
//! SAM template's `DeploymentPreference` or a `serverless.yml` using
//! `serverless-plugin-canary-deployments` — one per function, each validated by the same code
//! as Start Deployment. What cannot be known offline is reported by its path in the file, with
//! the `--resolve KEY=VALUE` that supplies it; nothing is dropped silently.

mod alerts;
mod cfn;
mod found;
mod sam;
mod serverless;
mod stack;
mod yaml;

use std::path::PathBuf;
use std::process::ExitCode;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::CliError;
use found::{Found, Input, Overrides, Problem};

/// Arguments of `shifter import`.
#[derive(clap::Args)]
pub struct Args {
    /// A SAM template (`AutoPublishAlias` + `DeploymentPreference`) or a `serverless.yml`
    /// (`deploymentSettings` of serverless-plugin-canary-deployments); YAML or JSON.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Write one `<function>.json` per function into DIR instead of printing them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The `targetVersion` of every input: a version number, `latest` or `publish`.
    #[arg(long, value_name = "VERSION", default_value = "latest")]
    target_version: String,
    /// Supply what cannot be known offline: a logical ID's name (`OrdersErrorsAlarm=orders-errors`),
    /// a pseudo parameter or template parameter (`AWS::StackName=orders-prod`), an attribute
    /// (`Hook.Arn=…`), or a Serverless variable (`env:ALARM=…`). Repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    resolve: Vec<String>,
    /// The Serverless stage (`${opt:stage}`); default `provider.stage`, else `dev`.
    #[arg(long)]
    stage: Option<String>,
    /// The deployed CloudFormation stack: every logical ID resolves to its resource's physical
    /// name (an alarm a plugin or CloudFormation named, a generated function name), and
    /// `AWS::StackName` to NAME; `--resolve` values win.
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// With --stack: the CloudFormation API of an emulator at URL instead of AWS.
    #[arg(long, value_name = "URL", requires = "stack")]
    endpoint: Option<String>,
}

/// What was read from the file.
#[derive(Debug, Default)]
pub struct Reading {
    /// Every function with deployment settings, in file order.
    pub functions: Vec<Imported>,
    /// Things the user should know that are not failures (a function skipped on purpose).
    pub notes: Vec<String>,
}

/// One function: what was found, or every reason it could not be.
#[derive(Debug)]
pub struct Imported {
    /// The function's key in the file.
    pub key: String,
    /// The settings, or the problems by path.
    pub result: Result<Found, Vec<Problem>>,
}

/// Reads the file, prints (or writes) one input per function; exit 0 when every function was
/// imported, 1 when some could not be (each problem is printed; the others are still output),
/// 2 when the file itself cannot be used.
pub async fn run(args: &Args) -> Result<ExitCode, CliError> {
    let mut overrides = Overrides::parse(&args.resolve).map_err(CliError::Usage)?;
    if let Some(name) = &args.stack {
        let where_ = args.endpoint.as_deref().unwrap_or("AWS CloudFormation");
        let cloudformation = stack::client(args.endpoint.as_deref()).await;
        overrides = overrides.or(stack::resources(&cloudformation, name, where_).await?);
    }
    let text = std::fs::read_to_string(&args.file).map_err(CliError::io(&args.file))?;
    let shown = args.file.display();
    let doc = yaml::parse(&text).map_err(|e| CliError::Usage(format!("{shown}: {e}")))?;
    let reading = if sam::is_template(&doc) {
        sam::read(&doc, &overrides)
    } else if serverless::is_service(&doc) {
        serverless::read(&doc, args.stage.as_deref(), &overrides)
            .map_err(|e| CliError::Usage(format!("{shown}: {e}")))?
    } else {
        return Err(CliError::Usage(format!(
            "{shown}: neither a SAM template (no Resources) nor a serverless.yml (no service and functions)"
        )));
    };
    for note in &reading.notes {
        eprintln!("note: {note}");
    }
    if reading.functions.is_empty() {
        return Err(CliError::Usage(format!(
            "{shown}: no function has CodeDeploy deployment settings (SAM DeploymentPreference, or \
             deploymentSettings of serverless-plugin-canary-deployments)"
        )));
    }
    let (inputs, failed) = validated(&reading, &args.target_version);
    if inputs.0.iter().any(|(_, input)| input.has_hooks()) {
        eprintln!(
            "note: the hooks are imported as callback hooks (hooks.callbackTimeoutSeconds 3600, \
             CodeDeploy's hour): change each hook's PutLifecycleEventHookExecutionStatus call to \
             SendTaskSuccess(taskToken = event.taskToken, output = {{\"status\":\"Succeeded\"}}) \
             (docs/hooks.md, \"From a CodeDeploy hook: one call changes\")"
        );
    }
    let unwritten = output(&inputs, args.out.as_deref())?;
    Ok(if failed || unwritten {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The inputs of the functions that could be imported, and whether any could not (their
/// problems are printed on stderr).
fn validated(reading: &Reading, target_version: &str) -> (Inputs, bool) {
    let mut inputs = Inputs(Vec::new());
    let mut failed = false;
    for imported in &reading.functions {
        let result = match &imported.result {
            Ok(found) => found.input(target_version).map_err(|p| vec![p]),
            Err(problems) => Err(problems.clone()),
        };
        match result {
            Ok(input) => {
                inputs.0.push((imported.key.clone(), input));
            }
            Err(problems) => {
                failed = true;
                eprintln!("{}: not imported:", shown_key(&imported.key));
                for problem in problems {
                    eprintln!("  {problem}");
                }
            }
        }
    }
    (inputs, failed)
}

/// One JSON object keyed by function on stdout, or one file per function in `out`; `true`
/// when some function's key could not be a file name there (each is named on stderr).
fn output(inputs: &Inputs, out: Option<&std::path::Path>) -> Result<bool, CliError> {
    let Some(dir) = out else {
        if !inputs.0.is_empty() {
            crate::output::print_json(inputs)?;
        }
        return Ok(false);
    };
    std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
    let mut refused = false;
    for (key, input) in &inputs.0 {
        let path = match file_name(key).and_then(|name| not_a_link(dir, &name)) {
            Ok(path) => path,
            Err(why) => {
                refused = true;
                eprintln!("{}: not written: {why}", shown_key(key));
                continue;
            }
        };
        let text = serde_json::to_string_pretty(input)
            .map_err(|e| CliError::Usage(format!("{}: {e}", shown_key(key))))?;
        std::fs::write(&path, text + "\n").map_err(CliError::io(&path))?;
        say!("{}", path.display());
    }
    Ok(refused)
}

/// A function key as messages show it: as written when it is a plain name, else quoted and
/// escaped (a NUL or a newline cannot garble the terminal), at most 80 characters.
fn shown_key(key: &str) -> String {
    if file_name(key).is_ok() {
        key.to_owned()
    } else {
        shifter::domain::text::cut_chars(&format!("{key:?}"), 80)
    }
}

/// Longest file name written: most file systems allow 255 bytes, and `.json` follows.
const MAX_FILE_STEM: usize = 200;

/// The file `--out` writes for function `key`: `<key>.json` when the key is a plain name
/// (letters, digits, `-`, `_`, `.`, not starting with `.`), so that whatever a template or
/// serverless.yml says, the file lands in DIR itself. Anything else (`../x`, `/etc/x`, `a/b`,
/// `a\\b`, `C:x`, `..`, empty, NUL, control characters) is refused with the reason.
fn file_name(key: &str) -> Result<String, String> {
    let why = if key.is_empty() {
        "an empty key names no file".to_owned()
    } else if key == "." || key == ".." {
        format!("{key} names a directory, not a file in --out")
    } else if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        let what = match c {
            '/' | '\\' => "a path separator",
            ':' => "':' (a Windows drive letter or stream)",
            '\0' => "a NUL character",
            c if c.is_control() => "a control character",
            _ => "a character outside letters, digits, '-', '_' and '.'",
        };
        format!("contains {what} ({c:?}), so it cannot be a file name in --out")
    } else if key.starts_with('.') {
        "a key starting with '.' would be a hidden file".to_owned()
    } else if key.len() > MAX_FILE_STEM {
        format!("longer than {MAX_FILE_STEM} bytes, too long for a file name")
    } else {
        return Ok(format!("{key}.json"));
    };
    Err(why)
}

/// `dir/name`, unless it is a symbolic link (which could point outside `dir`).
fn not_a_link(dir: &std::path::Path, name: &str) -> Result<std::path::PathBuf, String> {
    let path = dir.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(format!(
            "{} is a symbolic link; refusing to write through it",
            path.display()
        )),
        _ => Ok(path),
    }
}

/// The imported inputs by function key, in file order.
struct Inputs(Vec<(String, Input)>);

impl Serialize for Inputs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, input) in &self.0 {
            map.serialize_entry(key, input)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn import_sam(text: &str, resolve: &[&str]) -> Vec<(String, Result<Value, Vec<String>>)> {
        let resolve: Vec<String> = resolve.iter().map(|s| (*s).to_owned()).collect();
        let reading = sam::read(
            &yaml::parse(text).unwrap(),
            &Overrides::parse(&resolve).unwrap(),
        );
        outcomes(reading)
    }

    fn import_serverless(
        text: &str,
        stage: Option<&str>,
    ) -> Vec<(String, Result<Value, Vec<String>>)> {
        let doc = yaml::parse(text).unwrap();
        outcomes(serverless::read(&doc, stage, &Overrides::default()).unwrap())
    }

    fn outcomes(reading: Reading) -> Vec<(String, Result<Value, Vec<String>>)> {
        let strings = |ps: Vec<Problem>| ps.iter().map(ToString::to_string).collect();
        reading
            .functions
            .into_iter()
            .map(|f| {
                let result = f
                    .result
                    .and_then(|found| found.input("7").map_err(|p| vec![p]))
                    .map(|input| serde_json::to_value(input).unwrap())
                    .map_err(strings);
                (f.key, result)
            })
            .collect()
    }

    const SAM_GLOBALS: &str = "
Globals:
  Function:
    AutoPublishAlias: live
    DeploymentPreference:
      Type: AllAtOnce
      Alarms: [shared-5xx]
      Hooks: {PreTraffic: shared-pre}
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: a
      DeploymentPreference:
        Type: CodeDeployDefault.LambdaCanary10Percent15Minutes
        Alarms: [a-errors]
        Hooks: {PostTraffic: a-post}
  B:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: b
      DeploymentPreference: {Enabled: false}
  NotAFunction:
    Type: AWS::SNS::Topic
";

    /// SAM merges Globals: maps merged, lists added, the resource's own values winning.
    /// <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html>
    #[test]
    fn sam_globals_merge_as_sam_does_and_disabled_preferences_are_skipped() {
        let doc = yaml::parse(SAM_GLOBALS).unwrap();
        let reading = sam::read(&doc, &Overrides::default());
        assert_eq!(reading.notes.len(), 1, "{:?}", reading.notes);
        assert!(reading.notes[0].contains("B: skipped"));
        let imported = outcomes(reading);
        assert_eq!(imported.len(), 1);
        assert_eq!(
            imported[0].1.as_ref().unwrap(),
            &serde_json::json!({"functionName": "a", "alias": "live", "targetVersion": "7",
                "strategy": "CodeDeployDefault.LambdaCanary10Percent15Minutes",
                "alarms": ["shared-5xx", "a-errors"],
                "hooks": {"preTraffic": "shared-pre", "postTraffic": "a-post",
                    "callbackTimeoutSeconds": 3600}})
        );
    }

    #[test]
    fn sam_references_that_need_the_deployed_stack_are_reported_by_path() {
        let template = "
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      AutoPublishAlias: !If [IsProd, live, staging]
      DeploymentPreference:
        Type: Canary10Percent5Minutes
        Alarms:
          - !GetAtt Errors.Arn
          - !Ref Missing
          - !Ref Topic
          - !Ref Generated
          - !ImportValue shared-alarm
          - {Fn::Sub: ['${Prefix}-errors', {Prefix: !Ref Errors}]}
  Errors: {Type: AWS::CloudWatch::Alarm, Properties: {AlarmName: fn-errors}}
  Generated: {Type: AWS::CloudWatch::Alarm, Properties: {Namespace: X}}
  Topic: {Type: AWS::SNS::Topic}
";
        let imported = import_sam(template, &[]);
        let problems = imported[0].1.as_ref().unwrap_err();
        let base = "Resources.Fn.Properties";
        let expected = [
            format!("{base}.FunctionName: not set, so CloudFormation generates the name"),
            format!(
                "{base}.AutoPublishAlias: !If [\"IsProd\",\"live\",\"staging\"] cannot be resolved offline: Fn::If is evaluated"
            ),
            format!(
                "{base}.DeploymentPreference.Alarms[0]: !GetAtt Errors.Arn cannot be resolved offline: Errors.Arn is known only after"
            ),
            format!(
                "{base}.DeploymentPreference.Alarms[1]: !Ref Missing cannot be resolved offline: the template has no resource or parameter Missing"
            ),
            format!(
                "{base}.DeploymentPreference.Alarms[2]: !Ref Topic cannot be resolved offline: Topic is a AWS::SNS::Topic, not an alarm"
            ),
            format!(
                "{base}.DeploymentPreference.Alarms[3]: !Ref Generated cannot be resolved offline: Generated has no AlarmName"
            ),
            format!(
                "{base}.DeploymentPreference.Alarms[4]: !ImportValue shared-alarm cannot be resolved offline"
            ),
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (problem, expected) in problems.iter().zip(&expected) {
            assert!(
                problem.starts_with(expected),
                "{problem}\n  expected {expected}"
            );
        }
        // Supplied by the user, everything resolves; Fn::Sub with its own variables too.
        let imported = import_sam(
            template,
            &[
                "Fn=fn",
                "Errors.Arn=fn-errors",
                "Missing=m",
                "Topic=t",
                "Generated=g",
            ],
        );
        let problems = imported[0].1.as_ref().unwrap_err();
        assert_eq!(
            problems.len(),
            2,
            "AutoPublishAlias and ImportValue stay: {problems:#?}"
        );
    }

    #[test]
    fn a_value_start_deployment_would_refuse_is_reported_at_its_place_in_the_file() {
        let template = "
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: fn
      AutoPublishAlias: live
      DeploymentPreference: {Type: MyCompany.Lambda.Canary3Percent1Hour}
";
        let imported = import_sam(template, &[]);
        let problem = &imported[0].1.as_ref().unwrap_err()[0];
        assert!(
            problem.starts_with("Resources.Fn.Properties.DeploymentPreference.Type: refused as the execution input's strategy:"),
            "{problem}"
        );
    }

    #[test]
    fn serverless_defaults_fallbacks_and_hooks() {
        let service = "
service: {name: shop}
provider: {name: aws, stage: \"${opt:stage, 'qa'}\"}
custom:
  deploymentSettings: {alias: Live, type: AllAtOnce, alarms: [{name: global}]}
  prefix: ${self:service.name}-${sls:stage}
functions:
  a:
    handler: h
    deploymentSettings:
      alarms: [{name: '${self:custom.prefix}-a'}]
      preTrafficHook: arn:aws:lambda:eu-west-1:123456789012:function:pre
      postTrafficHook: post
  b:
    handler: h
    deploymentSettings: {type: '${env:TYPE}', postTrafficHook: nowhere, alarms: [NoSuchAlarm]}
  post: {handler: h, name: shop-post}
";
        let imported = import_serverless(service, None);
        assert_eq!(
            imported[0].1.as_ref().unwrap(),
            &serde_json::json!({"functionName": "shop-qa-a", "alias": "Live", "targetVersion": "7",
                "strategy": "AllAtOnce", "alarms": ["shop-qa-a"],
                "hooks": {"preTraffic": "arn:aws:lambda:eu-west-1:123456789012:function:pre",
                          "postTraffic": "shop-post", "callbackTimeoutSeconds": 3600}})
        );
        let problems = imported[1].1.as_ref().unwrap_err();
        let expected = [
            "functions.b.deploymentSettings.type: \"${env:TYPE}\" cannot be resolved offline: env:TYPE is resolved by the Serverless Framework",
            "functions.b.deploymentSettings.alarms[0]: !Ref NoSuchAlarm cannot be resolved offline: the template has no resource or parameter NoSuchAlarm; pass --resolve NoSuchAlarm=…",
            "functions.b.deploymentSettings.postTrafficHook: nowhere is not a function of this service",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (problem, expected) in problems.iter().zip(expected) {
            assert!(
                problem.starts_with(expected),
                "{problem}\n  expected {expected}"
            );
        }
        let imported = import_serverless(service, Some("prod"));
        assert_eq!(
            imported[0].1.as_ref().unwrap()["functionName"],
            "shop-prod-a"
        );
    }
}
