//! `shifter watch` and `shifter timeline`: follow a real execution from its history and report
//! it with the same summary a local run gets.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shifter::domain::{Decision, Deployment, ErrorKind, HookOutcome};
use shifter::ports::{ExecutionStatus, Executions, HistoryEvent};
use shifter::report::{self, document};
use shifter::states;

use crate::error::CliError;
use crate::output;

/// Arguments of `shifter watch`.
#[derive(clap::Args)]
pub struct WatchArgs {
    /// The execution ARN.
    arn: String,
    /// Print one JSON summary (the shape of `simulate --json`) instead of the log.
    #[arg(long)]
    json: bool,
    /// Step Functions at URL (an emulator) instead of AWS_ENDPOINT_URL or AWS.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
}

impl WatchArgs {
    /// `--endpoint`.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
    /// `--json`.
    pub fn json(&self) -> bool {
        self.json
    }
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

/// A decision as the state document spells it (`"shift"`).
fn spelled(decision: Decision) -> String {
    serde_json::to_string(&decision).unwrap_or_default()
}

/// One line for a history event worth showing, if any.
pub fn describe(event: &HistoryEvent, start: DateTime<Utc>) -> Option<String> {
    let t = (event.at - start).num_seconds();
    let at = format!("[{:>2}m{:02}s]", t / 60, t % 60);
    let state = event.state.as_deref().unwrap_or_default();
    let line = match event.kind.as_str() {
        "TaskStateExited" if crate::waves_text::DOCUMENT_STATES.contains(&state) => {
            let run = serde_json::from_str(event.output.as_deref()?).ok()?;
            crate::waves_text::describe(state, &run)?
        }
        "TaskStateExited" => exited(state, &document(event.output.as_deref())?)?,
        "TaskStateEntered" if states::is_bake(state) => {
            let wait = document(event.input.as_deref()).map(|d| d.progress.wait_seconds);
            let wait = wait.map_or_else(|| "?".to_owned(), |w| w.to_string());
            format!("{state}: parked, watched by alarm events; backstop read in {wait}s")
        }
        "TaskStateEntered" if state == states::AWAIT_APPROVAL => {
            "waiting for approval: `shifter approve|promote|abort ARN`".to_owned()
        }
        "ExecutionSucceeded" => "deployment succeeded".to_owned(),
        "ExecutionAborted" | "ExecutionTimedOut" => format!(
            "deployment {}: no Roll Back ran; the watch function restores each alias still on \
             this deployment's last write within seconds and logs what it did (invariant 13)",
            if event.kind == "ExecutionAborted" {
                "stopped by hand (ABORTED)"
            } else {
                "timed out (TIMED_OUT)"
            }
        ),
        "ExecutionFailed" => format!(
            "deployment failed: {} — {}",
            event.error.as_deref().unwrap_or("?"),
            event.cause.as_deref().unwrap_or("")
        ),
        _ => return None,
    };
    Some(format!("{at} {line}"))
}

/// What a Task state that finished with document `d` did, for people.
fn exited(state: &str, d: &Deployment) -> Option<String> {
    let line = match state {
        // A write that failed exits through its Catch with the error in `caught`: nothing
        // landed, and the execution's failure says why.
        states::SHIFT_TRAFFIC | states::PROMOTE if d.ending.caught.is_some() => return None,
        states::SHIFT_TRAFFIC | states::PROMOTE => format!(
            "traffic on version {}: {:?}%",
            d.lead().target_version,
            d.progress.traffic.as_percent()
        ),
        states::CHECK_HEALTH => format!(
            "health checked: {} alarm check(s), next {} (wait {}s)",
            d.progress.alarm_checks,
            spelled(d.decision),
            d.progress.wait_seconds
        ),
        hook if states::hook_of(hook).is_some() => {
            let answer = d.hook_result.as_ref().map(HookOutcome::to_value);
            let payload = answer.as_ref().and_then(|r| r.get("payload"));
            format!("{hook}: {}", payload.cloned().unwrap_or_default())
        }
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
        {
            weight = d.progress.traffic.as_percent();
        }
        if e.kind.ends_with("StateEntered") {
            doing = match document(e.input.as_deref()) {
                Some(d) => doing_in(state, &d, (now - e.at).num_seconds()),
                // Start Deployment's input is the execution input, not yet a deployment.
                None => state.to_owned(),
            };
        }
    }
    (weight.round() as u64, doing)
}

/// What the execution does in `state`, entered `since` seconds ago with document `d`.
fn doing_in(state: &str, d: &Deployment, since: i64) -> String {
    let step = format!(
        "step {}/{}",
        d.progress.step_index + 1,
        d.progress.plan.len()
    );
    if states::is_bake(state) {
        let left = (i64::from(d.progress.wait_seconds) - since).max(0);
        format!("{step} · {state} · backstop read in {left}s")
    } else if state == states::AWAIT_APPROVAL {
        format!("{step} · waiting for approval")
    } else {
        format!("{step} · {state}")
    }
}

/// Follows `arn` until it ends, printing as it goes; exit 0 only on success.
pub async fn watch(
    executions: &dyn Executions,
    arn: &str,
    json_out: bool,
    poll: Duration,
) -> Result<ExitCode, CliError> {
    let bar = progress_bar(json_out)?;
    let mut history: Vec<HistoryEvent> = Vec::new();
    let mut throttled = 0u32;
    loop {
        // Only what is new since the last poll, read newest first: one call a poll, however
        // long the history has grown.
        let last = history.last().map_or(0, |e| e.id);
        let new = match executions.history_after(arn, last).await {
            Ok(new) => {
                throttled = 0;
                new
            }
            // Nothing answers (after the SDK's own retries): say so now rather than poll on
            // in silence.
            Err(e) if crate::error::unreachable(&e).is_some() => return Err(e.into()),
            // Throttled (after the SDK's own retries): poll less often, then try again.
            Err(e) if e.error_kind() == ErrorKind::Transient && throttled < MAX_THROTTLED_POLLS => {
                throttled += 1;
                let pause = backoff(poll, throttled);
                bar.set_message(format!("{e}; polling again in {}s", pause.as_secs()));
                tokio::time::sleep(pause).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let start = history
            .first()
            .or(new.first())
            .map_or_else(Utc::now, |e| e.at);
        if !json_out {
            new.iter()
                .filter_map(|e| describe(e, start))
                .for_each(|line| bar.println(line));
        }
        history.extend(new);
        let (weight, doing) = progress(&history, Utc::now());
        bar.set_position(weight);
        bar.set_message(doing);
        let status = executions.describe_execution(arn).await?.status;
        if status != ExecutionStatus::Running {
            // Events written between the read above and the status.
            let last = history.last().map_or(0, |e| e.id);
            history.extend(executions.history_after(arn, last).await?);
            bar.finish_and_clear();
            if let Some(run) = super::plan::last_document(&history) {
                super::plan::print_end(&run, &history, json_out)?;
                return Ok(super::plan::exit_of(status));
            }
            let summary = report::from_history(&history);
            if json_out {
                output::print_json(&summary)?;
            } else {
                output::print_outcome(&summary);
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

/// Throttled polls in a row before `watch` gives up.
const MAX_THROTTLED_POLLS: u32 = 8;

/// The pause after the `n`th throttled poll in a row: the poll interval doubled each time, at
/// most a minute.
fn backoff(poll: Duration, n: u32) -> Duration {
    poll.saturating_mul(1 << n.min(16))
        .min(Duration::from_secs(60))
}

fn progress_bar(hidden: bool) -> Result<indicatif::ProgressBar, CliError> {
    let bar = if hidden {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(100)
    };
    let style =
        indicatif::ProgressStyle::with_template("{bar:30} {pos:>3}% on the new version · {msg}")
            .map_err(|e| CliError::Usage(e.to_string()))?;
    bar.set_style(style);
    Ok(bar)
}

/// Writes the chart (.svg) or data (.json) of a real execution.
pub async fn timeline(executions: &dyn Executions, args: &TimelineArgs) -> Result<(), CliError> {
    let history = executions.execution_history(&args.arn).await?;
    let started = history.first().map(|e| e.at);
    output::write_timeline_since(&args.out, &report::from_history(&history), started)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::report::{Outcome, Summary};
    use shifter_statemachine::asl::Execution;
    use shifter_statemachine::local::{self, LocalAccount};

    use super::*;
    use crate::operate::recorded::{parked, parse_history, recorded, running};

    /// A stop by hand is told as one, with what happens next, not as a failure.
    #[tokio::test]
    async fn a_stop_by_hand_is_told_as_such() {
        let account = LocalAccount::demo();
        account.stop_at(120.0);
        let input = LocalAccount::demo_input("Canary10Percent5Minutes");
        let run = local::run(&account, input.clone(), "stopped", &mut |_| {})
            .await
            .unwrap();
        let history = local::execution_history(&account, &run.execution, &input).unwrap();
        let events = parse_history(&history);
        let start = events[0].at;
        let last = events.iter().rev().find_map(|e| describe(e, start));
        let last = last.unwrap_or_default();
        assert!(
            last.starts_with("[ 2m00s] deployment stopped by hand (ABORTED)")
                && last.contains("the watch function restores"),
            "{last}"
        );
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
        let aborted = report::from_history(&recorded("execution-history-aborted.json"));
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

        let succeeded = report::from_history(&recorded("execution-history-succeeded.json"));
        assert_eq!(succeeded.outcome, Outcome::Succeeded);
        assert_eq!(
            points(&succeeded),
            vec![(0.0, 0.0), (0.0, 10.0), (60.0, 100.0)]
        );
        // After each hook, then the two backstop reads of the 60 s bake.
        assert_eq!(succeeded.alarm_checks.len(), 4);
        assert_eq!(succeeded.alias.clone().unwrap().version, "2");
        let svg = crate::chart::render(&succeeded, None).unwrap();
        assert!(svg.contains("<svg") && svg.contains("simulated time (m:ss"));
    }

    /// `shifter timeline` of a real execution: the chart's time axis counts from the
    /// execution's start in UTC, and the data says when that was.
    #[tokio::test]
    async fn a_real_timeline_is_labelled_in_real_time() {
        let history = recorded("execution-history-succeeded.json");
        let started = history[0].at;
        let (fake, arn) = running(history).await;
        let dir = std::env::temp_dir().join(format!("shifter-timeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["t.svg", "t.json"] {
            let args = TimelineArgs {
                arn: arn.clone(),
                out: dir.join(file),
            };
            timeline(&fake, &args).await.unwrap();
        }
        let svg = std::fs::read_to_string(dir.join("t.svg")).unwrap();
        let label = format!("time since {} UTC", started.format("%Y-%m-%d %H:%M:%S"));
        assert!(svg.contains(&label) && !svg.contains("simulated time"));
        let data: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("t.json")).unwrap()).unwrap();
        assert_eq!(data["startedAt"], json!(started));
        std::fs::remove_dir_all(dir).ok();
    }

    /// The same deployment reported from the runner's own record and from its history as Step
    /// Functions would return it: one classification, so the two agree.
    #[tokio::test]
    async fn watch_and_simulate_report_the_same_run_alike() {
        for (abort, alarm) in [(None, None), (Some(45.0), None), (None, Some(90))] {
            let account = LocalAccount::demo();
            if let Some(at) = abort {
                account.abort_at(at, "stop");
            }
            if let Some(at) = alarm {
                account.alarm_at("demo-errors", at);
            }
            let mut input = LocalAccount::demo_input("Canary10Percent5Minutes");
            input["strategy"] = json!("Canary10Percent1Minute");
            // The runner keeps events without their documents; the observer sees them whole.
            let mut events = Vec::new();
            let run = local::run(&account, input.clone(), "same", &mut |e| {
                events.push(e.clone())
            })
            .await
            .unwrap();
            let execution = Execution {
                events,
                ..run.execution
            };
            let exported = local::execution_history(&account, &execution, &input).unwrap();
            let watched = report::from_history(&parse_history(&exported));
            let simulated = run.summary;
            let case = format!("abort {abort:?}, alarm {alarm:?}");
            assert_eq!(watched.outcome, simulated.outcome, "{case}");
            assert_eq!(
                (&watched.error, &watched.cause),
                (&simulated.error, &simulated.cause)
            );
            assert_eq!(watched.final_state, simulated.final_state, "{case}");
            assert_eq!(points(&watched), points(&simulated), "{case}");
            assert_eq!(watched.simulated_seconds, simulated.simulated_seconds);
            assert_eq!(watched.state_transitions, simulated.state_transitions);
            // The runner also records Start Deployment's pre-flight read (and the first park's
            // when no Check Health read came before it), all at 0 s; a history shows the checks
            // Check Health made (here the first after the pre-traffic hook). Each finds what
            // the other does.
            let checks = |s: &Summary, skip: usize| -> Vec<(f64, bool)> {
                let made = s.alarm_checks.iter().skip(skip);
                made.map(|c| (c.seconds, c.in_alarm.is_empty())).collect()
            };
            let extra = simulated.alarm_checks.len() - watched.alarm_checks.len();
            assert_eq!(extra, 1, "the pre-flight read: {case}");
            assert_eq!(simulated.alarm_checks[0].seconds, 0.0);
            assert_eq!(watched.alarm_checks[0].seconds, 0.0, "after the hook");
            assert_eq!(checks(&watched, 0), checks(&simulated, extra), "{case}");
            assert_eq!(watched.alias, simulated.alias, "{case}");
        }
    }

    #[test]
    fn watch_lines_show_traffic_bakes_checks_and_the_outcome() {
        let history = recorded("execution-history-aborted.json");
        let start = history[0].at;
        let lines: Vec<String> = history.iter().filter_map(|e| describe(e, start)).collect();
        for expected in [
            "traffic on version 2: 10.0%",
            "Bake: parked, watched by alarm events; backstop read in 30s",
            "health checked: 1 alarm check(s), next \"shift\" (wait 0s)",
            "Run Pre-Traffic Hook: {\"status\":\"Succeeded\"}",
        ] {
            assert!(
                lines.iter().any(|l| l.contains(expected)),
                "no {expected:?} in {lines:#?}"
            );
        }
        assert!(lines.last().unwrap().contains("deployment failed: Aborted"));
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
        assert_eq!(doing, "step 1/2 · Bake · backstop read in 20s");
        let (weight, doing) = progress(&history[..3], entered.at);
        assert_eq!((weight, doing.as_str()), (0, states::START_DEPLOYMENT));
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

    /// A long rollout is followed with one history read a poll of only the new events: every
    /// event is downloaded once, not once a poll (issue 14).
    #[tokio::test]
    async fn watch_downloads_each_event_once() {
        let full = recorded("execution-history-aborted.json");
        let (fake, arn) = running(parked()).await;
        let finish = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            fake.set_history(&arn, ExecutionStatus::Failed, full.clone());
        };
        let (code, ()) = tokio::join!(watch(&fake, &arn, true, Duration::from_millis(1)), finish);
        assert_eq!(code.unwrap(), ExitCode::FAILURE);
        assert_eq!(fake.history_events_served(), full.len());
    }

    /// A 10,000-event history is read once, in one call, however many polls follow; throttled
    /// polls back off and try again instead of failing the watch.
    #[tokio::test]
    async fn a_ten_thousand_event_history_costs_one_read_and_throttling_backs_off() {
        let template = recorded("execution-history-aborted.json");
        let mut long = Vec::new();
        for i in 0..10_000 {
            let mut event = template[i % (template.len() - 1)].clone();
            event.id = i64::try_from(i + 1).unwrap();
            long.push(event);
        }
        let (fake, arn) = running(long.clone()).await;
        let before = fake.calls();
        fake.throttle_next(3);
        let finish = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            fake.set_history(&arn, ExecutionStatus::Failed, long.clone());
        };
        // Throttled three times, the watch waits 20 + 40 + 80 ms: the execution has ended by
        // its first read.
        let (code, ()) = tokio::join!(watch(&fake, &arn, true, Duration::from_millis(10)), finish);
        assert_eq!(code.unwrap(), ExitCode::FAILURE);
        assert_eq!(
            fake.history_events_served(),
            10_000,
            "every event read once"
        );
        // 3 throttled reads, 1 read of the whole history, DescribeExecution, the final read.
        assert_eq!(fake.calls() - before, 3 + 1 + 1 + 1);
        assert_eq!(backoff(Duration::from_secs(5), 1), Duration::from_secs(10));
        assert_eq!(backoff(Duration::from_secs(5), 8), Duration::from_secs(60));
    }
}
