//! `shifter import`: execution inputs from the CodeDeploy settings a project already has — a
//! SAM template's `DeploymentPreference` or a `serverless.yml` using
//! `serverless-plugin-canary-deployments` — one per function, each validated by the same code
//! as Start Deployment. What cannot be known offline is reported by its path in the file, with
//! the `--resolve KEY=VALUE` that supplies it; nothing is dropped silently.

mod cfn;
mod found;
mod sam;
mod serverless;
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
pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let overrides = Overrides::parse(&args.resolve).map_err(CliError::Usage)?;
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
            "note: a CodeDeploy hook reports through PutLifecycleEventHookExecutionStatus; Traffic \
             Shifter reads the hook's answer instead: make it return {{\"status\":\"Succeeded\"}} (README, \"Hooks\")"
        );
    }
    output(&inputs, args.out.as_deref())?;
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
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
                eprintln!("{}: not imported:", imported.key);
                for problem in problems {
                    eprintln!("  {problem}");
                }
            }
        }
    }
    (inputs, failed)
}

/// One JSON object keyed by function on stdout, or one file per function in `out`.
fn output(inputs: &Inputs, out: Option<&std::path::Path>) -> Result<(), CliError> {
    let Some(dir) = out else {
        if !inputs.0.is_empty() {
            crate::output::print_json(inputs)?;
        }
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
    for (key, input) in &inputs.0 {
        let path = dir.join(format!("{key}.json"));
        let text = serde_json::to_string_pretty(input)
            .map_err(|e| CliError::Usage(format!("{key}: {e}")))?;
        std::fs::write(&path, text + "\n").map_err(CliError::io(&path))?;
        println!("{}", path.display());
    }
    Ok(())
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
