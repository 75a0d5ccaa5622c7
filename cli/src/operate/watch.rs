//! Operating real executions through the `Executions` port: `deploy`, `watch`, `approve`,
//! `promote`, `abort` and `timeline`, all read from (or answered through) the execution history.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shifter::domain::DeploymentRequest;
use shifter::ports::{ExecutionStatus, Executions, HistoryEvent};
use shifter_statemachine::local::{AlarmCheck, Outcome, Summary, TimelinePoint};

use crate::CliError;

/// Arguments of `shifter deploy`.
#[derive(clap::Args)]
pub struct DeployArgs {
    /// The execution input (JSON); validated locally before anything reaches AWS.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// The deployment state machine's ARN.
    #[arg(
        long,
        value_name = "ARN",
        required_unless_present = "stack",
        conflicts_with = "stack"
    )]
    state_machine: Option<String>,
    /// The Traffic Shifter stack: its `StateMachineArn` output names the state machine.
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// Follow the execution until it ends (as `shifter watch`).
    #[arg(long)]
    watch: bool,
}

impl DeployArgs {
    /// `--stack`, when the state machine is to be found from the stack's outputs.
    pub fn stack(&self) -> Option<&str> {
        self.stack.as_deref()
    }

    /// `--watch`.
    pub fn watch_requested(&self) -> bool {
        self.watch
    }
}

impl WatchArgs {
    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
    /// `--json`.
    pub fn json(&self) -> bool {
        self.json
    }
}

impl AnswerArgs {
    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
}

impl AbortArgs {
    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
    /// `--reason`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Arguments of `shifter watch`.
#[derive(clap::Args)]
pub struct WatchArgs {
    /// The execution ARN.
    arn: String,
    /// Print one JSON summary (the shape of `simulate --json`) instead of the log.
    #[arg(long)]
    json: bool,
}

/// Arguments of `shifter approve` and `shifter promote`.
#[derive(clap::Args)]
pub struct AnswerArgs {
    /// The execution ARN.
    arn: String,
}

/// Arguments of `shifter abort`.
#[derive(clap::Args)]
pub struct AbortArgs {
    /// The execution ARN.
    arn: String,
    /// Why; the execution fails with error Aborted and this cause.
    #[arg(long, default_value = "aborted by an operator")]
    reason: String,
}

/// Arguments of `shifter timeline`.
#[derive(clap::Args)]
pub struct TimelineArgs {
    /// The execution ARN.
    arn: String,
    /// Where to write the chart (.svg) or data (.json).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// What an operator tells a parked execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Pass the approval gate.
    Approve,
    /// Skip the remaining steps.
    Promote,
    /// Roll back and fail with error Aborted and this cause.
    Abort(String),
}

fn port(e: shifter::ShifterError) -> CliError {
    CliError::Usage(format!("{} ({})", e, e.kind()))
}

/// The waiting task of the history: the latest TaskScheduled of a park (its parameters hold a
/// task token) with nothing after it but its start and submission. Returns (state, token).
pub fn waiting_task(history: &[HistoryEvent]) -> Option<(String, String, String)> {
    let (index, scheduled) = history
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| e.kind == "TaskScheduled")?;
    let settled = history[index + 1..]
        .iter()
        .any(|e| !matches!(e.kind.as_str(), "TaskStarted" | "TaskSubmitted"));
    if settled {
        return None;
    }
    let parameters: Value = serde_json::from_str(scheduled.parameters.as_deref()?).ok()?;
    let entry = &parameters["Entries"][0];
    let token = entry["Detail"]["taskToken"].as_str()?.to_owned();
    let detail_type = entry["DetailType"].as_str().unwrap_or_default().to_owned();
    let state = history[..index]
        .iter()
        .rev()
        .find_map(|e| e.state.clone())
        .unwrap_or_default();
    Some((state, detail_type, token))
}

/// Answers the waiting task of execution `arn`.
pub async fn answer(
    executions: &dyn Executions,
    arn: &str,
    answer: &Answer,
) -> Result<String, CliError> {
    let history = executions.execution_history(arn).await.map_err(port)?;
    let (state, detail_type, token) = waiting_task(&history).ok_or_else(|| {
        CliError::Usage(format!(
            "{arn} is not waiting in a bake or an approval gate right now (it may be between \
             states or finished); try again in a moment"
        ))
    })?;
    match answer {
        Answer::Approve if detail_type != "Traffic Shifter Approval" => {
            return Err(CliError::Usage(format!(
                "{arn} is in {state:?}, not at an approval gate; `shifter promote` skips ahead"
            )));
        }
        Answer::Approve => executions
            .send_task_success(&token, &json!({"action": "approve"}))
            .await
            .map_err(port)?,
        Answer::Promote => executions
            .send_task_success(&token, &json!({"action": "promote"}))
            .await
            .map_err(port)?,
        Answer::Abort(reason) => executions
            .send_task_failure(&token, "Aborted", reason)
            .await
            .map_err(port)?,
    }
    Ok(state)
}

fn document(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// The summary `simulate --json` prints, rebuilt from a real execution's history.
pub fn summarize(history: &[HistoryEvent]) -> Summary {
    let start: DateTime<Utc> = history.first().map_or_else(Utc::now, |e| e.at);
    let secs = |at: DateTime<Utc>| (at - start).num_milliseconds() as f64 / 1000.0;
    let mut timeline = vec![TimelinePoint {
        seconds: 0.0,
        weight: 0.0,
    }];
    let mut alarm_checks = Vec::new();
    let mut checks = 0;
    let mut transitions = 0;
    let mut final_state = String::new();
    let mut last_doc: Option<Value> = None;
    let (mut error, mut cause, mut succeeded) = (None, None, false);
    for e in history {
        if e.kind.ends_with("StateEntered") {
            transitions += 1;
            final_state = e.state.clone().unwrap_or_default();
        }
        if e.kind.ends_with("StateExited")
            && let Some(doc) = document(e.output.as_deref())
        {
            let state = e.state.as_deref().unwrap_or_default();
            if matches!(state, "Shift Traffic" | "Promote" | "Roll Back")
                && let Some(weight) = doc["trafficPercent"].as_f64()
                && timeline.last().is_some_and(|p| p.weight != weight)
            {
                timeline.push(TimelinePoint {
                    seconds: secs(e.at),
                    weight,
                });
            }
            if state == "Check Health"
                && let Some(n) = doc["alarmChecks"].as_u64()
                && n > checks
            {
                checks = n;
                let failure = &doc["failure"];
                let in_alarm = if failure["error"] == "AlarmTriggered" {
                    vec![failure["cause"].as_str().unwrap_or_default().to_owned()]
                } else {
                    Vec::new()
                };
                alarm_checks.push(AlarmCheck {
                    seconds: secs(e.at),
                    in_alarm,
                });
            }
            last_doc = Some(doc);
        }
        match e.kind.as_str() {
            "ExecutionSucceeded" => succeeded = true,
            "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut" => {
                error.clone_from(&e.error);
                cause.clone_from(&e.cause);
            }
            _ => {}
        }
    }
    let outcome = match (succeeded, final_state.as_str()) {
        (true, "Already Current") => Outcome::AlreadyCurrent,
        (true, _) => Outcome::Succeeded,
        (_, "Deployment Rejected") => Outcome::Rejected,
        (_, "Deployment Rolled Back") => Outcome::RolledBack,
        _ => Outcome::Stopped,
    };
    let alias = last_doc.as_ref().and_then(|d| {
        let version = match outcome {
            Outcome::Succeeded | Outcome::AlreadyCurrent => d["targetVersion"].as_str(),
            Outcome::RolledBack => d["originalVersion"].as_str(),
            _ => None,
        }?;
        Some(shifter_statemachine::local::FinalAlias {
            version: version.to_owned(),
            additional_version_weights: Default::default(),
        })
    });
    let end = history.last().map_or(0.0, |e| secs(e.at));
    Summary {
        outcome,
        error,
        cause,
        alias,
        state_transitions: transitions,
        simulated_seconds: end,
        timeline,
        alarm_checks,
        final_state,
        estimated_cost_usd: transitions as f64 * shifter::domain::cost::USD_PER_TRANSITION,
    }
}

/// One line for a history event worth showing, if any.
pub fn describe(event: &HistoryEvent, start: DateTime<Utc>) -> Option<String> {
    let t = (event.at - start).num_seconds();
    let at = format!("[{:>2}m{:02}s]", t / 60, t % 60);
    let state = event.state.as_deref().unwrap_or_default();
    let doc = document(event.output.as_deref());
    let line = match (event.kind.as_str(), doc) {
        ("TaskStateExited", Some(d)) if matches!(state, "Shift Traffic" | "Promote") => format!(
            "{at} traffic on version {}: {}%",
            d["targetVersion"].as_str().unwrap_or("?"),
            d["trafficPercent"]
        ),
        ("TaskStateExited", Some(d)) if state == "Check Health" => format!(
            "{at} health checked: {} alarm check(s), next {} (wait {}s)",
            d["alarmChecks"], d["decision"], d["waitSeconds"]
        ),
        ("TaskStateExited", Some(d)) if state.starts_with("Run ") => {
            format!("{at} {state}: {}", d["hookResult"]["payload"])
        }
        ("TaskStateEntered", _) if matches!(state, "Bake" | "Post-Promotion Bake") => {
            let d = document(event.input.as_deref()).unwrap_or_default();
            format!("{at} {state}: next alarm check in {}s", d["waitSeconds"])
        }
        ("TaskStateEntered", _) if state == "Await Approval" => {
            format!("{at} waiting for approval: `shifter approve|promote|abort ARN`")
        }
        ("ExecutionSucceeded", _) => format!("{at} deployment succeeded"),
        ("ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut", _) => format!(
            "{at} deployment failed: {} — {}",
            event.error.as_deref().unwrap_or("?"),
            event.cause.as_deref().unwrap_or("")
        ),
        _ => return None,
    };
    Some(line)
}

/// The progress bar's state from the history so far: traffic on the new version (percent),
/// and what the execution is doing (step, bake countdown, gate).
pub fn progress(history: &[HistoryEvent], now: DateTime<Utc>) -> (u64, String) {
    let mut weight = 0.0;
    let mut doing = "starting".to_owned();
    for e in history {
        let state = e.state.as_deref().unwrap_or_default();
        if e.kind == "TaskStateExited"
            && let Some(d) = document(e.output.as_deref())
            && let Some(w) = d["trafficPercent"].as_f64()
        {
            weight = w;
        }
        if e.kind.ends_with("StateEntered") {
            let d = document(e.input.as_deref()).unwrap_or_default();
            let step = d["stepIndex"].as_u64().unwrap_or_default() + 1;
            let steps = d["plan"].as_array().map_or(0, Vec::len);
            doing = match state {
                "Bake" | "Post-Promotion Bake" => {
                    let wait = d["waitSeconds"].as_i64().unwrap_or_default();
                    let left = (wait - (now - e.at).num_seconds()).max(0);
                    format!("step {step}/{steps} · {state} · next alarm check in {left}s")
                }
                "Await Approval" => format!("step {step}/{steps} · waiting for approval"),
                other => format!("step {step}/{steps} · {other}"),
            };
        }
    }
    (weight.round() as u64, doing)
}

/// Follows `arn` until it ends, printing as it goes; exit 0 only on success.
pub async fn watch(
    executions: &dyn Executions,
    arn: &str,
    json_out: bool,
    poll: Duration,
) -> Result<ExitCode, CliError> {
    let bar = if json_out {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(100)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos:>3}% on the new version · {msg}")
            .map_err(|e| CliError::Usage(e.to_string()))?,
    );
    let mut shown = 0;
    loop {
        let history = executions.execution_history(arn).await.map_err(port)?;
        let start = history.first().map_or_else(Utc::now, |e| e.at);
        if !json_out {
            for event in history.iter().skip(shown) {
                if let Some(line) = describe(event, start) {
                    bar.println(line);
                }
            }
        }
        shown = history.len();
        let (weight, doing) = progress(&history, Utc::now());
        bar.set_position(weight);
        bar.set_message(doing);
        let status = executions
            .describe_execution(arn)
            .await
            .map_err(port)?
            .status;
        if status != ExecutionStatus::Running {
            bar.finish_and_clear();
            let summary = summarize(&history);
            if json_out {
                let text = serde_json::to_string_pretty(&summary)
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                println!("{text}");
            } else if let Some(alias) = &summary.alias {
                println!(
                    "Outcome: {:?}; alias on version {}",
                    summary.outcome, alias.version
                );
            } else {
                println!("Outcome: {:?}", summary.outcome);
            }
            return Ok(if status == ExecutionStatus::Succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// The `StateMachineArn` output of a Traffic Shifter stack, from DescribeStacks.
pub async fn state_machine_of_stack(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<String, CliError> {
    let described = cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            CliError::Usage(format!(
                "--stack {stack}: {}",
                aws_sdk_cloudformation::error::DisplayErrorContext(&e)
            ))
        })?;
    described
        .stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some("StateMachineArn"))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--stack {stack}: the stack has no StateMachineArn output; is it a Traffic Shifter stack?"
            ))
        })
}

/// Validates the input locally, starts the execution and prints where to follow it.
pub async fn deploy(
    executions: &dyn Executions,
    args: &DeployArgs,
    resolved_state_machine: Option<&str>,
) -> Result<String, CliError> {
    let text = std::fs::read_to_string(&args.input).map_err(|source| CliError::Io {
        path: args.input.display().to_string(),
        source,
    })?;
    let input: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", args.input.display())))?;
    DeploymentRequest::from_json(&input)
        .map_err(|e| CliError::Usage(format!("{}: {e}", args.input.display())))?;
    let state_machine = resolved_state_machine
        .or(args.state_machine.as_deref())
        .ok_or_else(|| CliError::Usage("give --state-machine ARN or --stack NAME".into()))?;
    let name = format!("shifter-{}", Utc::now().format("%Y%m%dT%H%M%S"));
    let arn = executions
        .start_execution(state_machine, &name, &input)
        .await
        .map_err(port)?;
    let region = arn.split(':').nth(3).unwrap_or("us-east-1");
    println!("Started {arn}");
    println!(
        "Console: https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"
    );
    Ok(arn)
}

#[cfg(test)]
/// Parses `aws stepfunctions get-execution-history` JSON (e.g. `events/execution-history-*.json`).
pub fn parse_history(value: &Value) -> Vec<HistoryEvent> {
    let events = value["events"].as_array().cloned().unwrap_or_default();
    events
        .iter()
        .map(|e| {
            let details = e
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.ends_with("EventDetails")))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let text = |k: &str| details[k].as_str().map(str::to_owned);
            let at = match &e["timestamp"] {
                Value::String(s) => DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
                Value::Number(n) => DateTime::from_timestamp_millis(
                    (n.as_f64().unwrap_or_default() * 1000.0) as i64,
                )
                .unwrap_or_default(),
                _ => DateTime::default(),
            };
            let kind = e["type"].as_str().unwrap_or_default().to_owned();
            let state = if kind.ends_with("StateEntered") || kind.ends_with("StateExited") {
                text("name")
            } else {
                None
            };
            HistoryEvent {
                id: e["id"].as_i64().unwrap_or_default(),
                kind,
                at,
                state,
                error: text("error"),
                cause: text("cause"),
                input: text("input"),
                output: text("output"),
                parameters: text("parameters"),
            }
        })
        .collect()
}

/// Writes the chart (.svg) or data (.json) of a real execution.
pub async fn timeline(executions: &dyn Executions, args: &TimelineArgs) -> Result<(), CliError> {
    let history = executions
        .execution_history(&args.arn)
        .await
        .map_err(port)?;
    crate::simulate::write_timeline(&args.out, &summarize(&history))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use shifter::fakes::{FakeExecutions, ManualClock};

    use super::*;

    fn recorded(name: &str) -> Vec<HistoryEvent> {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        parse_history(&serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
    }

    fn points(summary: &Summary) -> Vec<(f64, f64)> {
        summary
            .timeline
            .iter()
            .map(|p| (p.seconds, p.weight))
            .collect()
    }

    #[test]
    fn summaries_from_recorded_histories() {
        let aborted = summarize(&recorded("execution-history-aborted.json"));
        assert_eq!(aborted.outcome, Outcome::RolledBack);
        assert_eq!(aborted.error.as_deref(), Some("Aborted"));
        assert!(
            aborted
                .cause
                .clone()
                .unwrap()
                .starts_with("error rate looks wrong to me")
        );
        assert_eq!(points(&aborted), vec![(0.0, 0.0), (0.0, 10.0), (45.0, 0.0)]);
        assert_eq!(aborted.alias.unwrap().version, "1");

        let succeeded = summarize(&recorded("execution-history-succeeded.json"));
        assert_eq!(succeeded.outcome, Outcome::Succeeded);
        assert_eq!(
            points(&succeeded),
            vec![(0.0, 0.0), (0.0, 10.0), (60.0, 100.0)]
        );
        assert_eq!(succeeded.alarm_checks.len(), 2);
        assert_eq!(succeeded.alias.clone().unwrap().version, "2");
        let svg = crate::chart::render(&succeeded).unwrap();
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn watch_lines_show_traffic_bakes_checks_and_the_outcome() {
        let history = recorded("execution-history-aborted.json");
        let start = history[0].at;
        let lines: Vec<String> = history.iter().filter_map(|e| describe(e, start)).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("traffic on version 2: 10.0%")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Bake: next alarm check in 30s"))
        );
        assert!(lines.iter().any(|l| l.contains("health checked")));
        assert!(lines.last().unwrap().contains("deployment failed: Aborted"));
    }

    /// The recorded history cut while the first Bake is parked.
    fn parked() -> Vec<HistoryEvent> {
        let history = recorded("execution-history-aborted.json");
        let at = history
            .iter()
            .position(|e| e.kind == "TaskSubmitted")
            .unwrap();
        history[..=at].to_vec()
    }

    async fn running(history: Vec<HistoryEvent>) -> (FakeExecutions, String) {
        let fake = FakeExecutions::new(Arc::new(ManualClock::at_epoch()));
        let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:deploy";
        fake.add_state_machine(machine);
        let arn = fake
            .start_execution(machine, "x", &json!({}))
            .await
            .unwrap();
        fake.set_history(&arn, ExecutionStatus::Running, history);
        (fake, arn)
    }

    #[tokio::test]
    async fn abort_and_promote_answer_the_parked_token() {
        let history = parked();
        let (state, kind, token) = waiting_task(&history).unwrap();
        assert_eq!(
            (state.as_str(), kind.as_str()),
            ("Bake", "Traffic Shifter Bake")
        );
        let (fake, arn) = running(history).await;
        answer(&fake, &arn, &Answer::Abort("stop".into()))
            .await
            .unwrap();
        assert_eq!(
            fake.answers(),
            vec![(
                token.clone(),
                Err(("Aborted".to_owned(), "stop".to_owned()))
            )]
        );
        // A token answers once.
        assert!(answer(&fake, &arn, &Answer::Promote).await.is_err());

        let (fake, arn) = running(parked()).await;
        answer(&fake, &arn, &Answer::Promote).await.unwrap();
        assert_eq!(
            fake.answers(),
            vec![(token, Ok(json!({"action": "promote"})))]
        );
    }

    #[tokio::test]
    async fn approve_needs_a_gate_and_nothing_answers_a_settled_task() {
        let (fake, arn) = running(parked()).await;
        let refused = answer(&fake, &arn, &Answer::Approve).await.unwrap_err();
        assert!(
            refused.to_string().contains("not at an approval gate"),
            "{refused}"
        );
        let (fake, arn) = running(recorded("execution-history-succeeded.json")).await;
        assert!(
            answer(&fake, &arn, &Answer::Abort("x".into()))
                .await
                .is_err()
        );
        assert!(fake.answers().is_empty());
    }

    #[test]
    fn progress_shows_traffic_step_and_countdown() {
        let history = parked();
        let entered = history
            .iter()
            .rev()
            .find(|e| e.kind == "TaskStateEntered")
            .unwrap();
        let (weight, doing) = progress(&history, entered.at + chrono::TimeDelta::seconds(10));
        assert_eq!(weight, 10);
        assert_eq!(doing, "step 1/2 · Bake · next alarm check in 20s");
    }

    #[tokio::test]
    async fn watch_exits_zero_only_on_success() {
        let (fake, arn) = running(recorded("execution-history-succeeded.json")).await;
        fake.succeed(&arn, json!({})).unwrap();
        let code = watch(&fake, &arn, true, Duration::ZERO).await.unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let (fake, arn) = running(recorded("execution-history-aborted.json")).await;
        fake.fail(&arn, ExecutionStatus::Failed, "Aborted", "stop")
            .unwrap();
        let code = watch(&fake, &arn, true, Duration::ZERO).await.unwrap();
        assert_eq!(code, ExitCode::FAILURE);
    }

    #[tokio::test]
    async fn deploy_refuses_bad_input_before_aws() {
        let dir = std::env::temp_dir().join(format!("shifter-deploy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"functionName":"f","alias":"live","targetVersion":"2","strategy":"AllAtOnce","approvalTimeoutSeconds":0}"#).unwrap();
        let fake = FakeExecutions::new(Arc::new(ManualClock::at_epoch()));
        let args = DeployArgs {
            input: bad,
            state_machine: Some("arn:aws:states:us-east-1:1:stateMachine:d".into()),
            stack: None,
            watch: false,
        };
        let error = deploy(&fake, &args, None).await.unwrap_err();
        assert!(
            error.to_string().contains("approvalTimeoutSeconds"),
            "{error}"
        );
        assert_eq!(fake.started(), 0);
    }

    #[tokio::test]
    async fn stack_outputs_name_the_state_machine() {
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
        use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
        use aws_smithy_mocks::{mock, mock_client};

        let stack = |outputs: Vec<Output>| {
            Stack::builder()
                .stack_name("traffic-shifter")
                .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
                .stack_status(StackStatus::CreateComplete)
                .set_outputs(Some(outputs))
                .build()
        };
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:deployment";
        let found = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("traffic-shifter"))
            .then_output(move || {
                DescribeStacksOutput::builder()
                    .stacks(stack(vec![
                        Output::builder()
                            .output_key("StartCommand")
                            .output_value("aws …")
                            .build(),
                        Output::builder()
                            .output_key("StateMachineArn")
                            .output_value(arn)
                            .build(),
                    ]))
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudformation, [&found]);
        assert_eq!(
            state_machine_of_stack(&client, "traffic-shifter")
                .await
                .unwrap(),
            arn
        );

        let other = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(move || {
            DescribeStacksOutput::builder()
                .stacks(stack(vec![]))
                .build()
        });
        let client = mock_client!(aws_sdk_cloudformation, [&other]);
        let error = state_machine_of_stack(&client, "web").await.unwrap_err();
        assert!(
            error.to_string().contains("no StateMachineArn output"),
            "{error}"
        );
    }
}
