//! Step Functions (`Executions`): one suite of behaviours, run on `FakeExecutions` and on
//! `StepFunctionsExecutions` over moto; what moto cannot show (executions that run, paged
//! history, throttling, task tokens) runs on the adapter over aws-smithy-mocks.
//!
//! StartExecution's idempotency: <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>.

use std::sync::Arc;

use serde_json::json;
use shifter::aws::{AwsClients, ExecutionStatus, Executions, StepFunctionsExecutions};
use shifter::fakes::{FakeExecutions, ManualClock};

use crate::support::{ACCOUNT, ROLE, assert_not_found, moto_clients, moto_test, unique};

// ---------------------------------------------------------------- worlds

/// State machines the suite can start on, with the port under test on top.
trait ExecutionsWorld {
    type Port: Executions;
    fn port(&self) -> &Self::Port;
    /// A new state machine's ARN.
    async fn state_machine(&self) -> String;
    /// Stops a running execution (as a person would, from the console).
    async fn stop(&self, execution_arn: &str);
}

struct FakeExecutionsWorld(FakeExecutions);

impl ExecutionsWorld for FakeExecutionsWorld {
    type Port = FakeExecutions;
    fn port(&self) -> &FakeExecutions {
        &self.0
    }
    async fn state_machine(&self) -> String {
        let arn = format!(
            "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
            unique("contract")
        );
        self.0.add_state_machine(&arn);
        arn
    }
    async fn stop(&self, execution_arn: &str) {
        self.0
            .fail(execution_arn, ExecutionStatus::Aborted, "", "")
            .expect("stop");
    }
}

struct MotoExecutionsWorld {
    clients: AwsClients,
    port: StepFunctionsExecutions,
}

impl MotoExecutionsWorld {
    async fn new() -> MotoExecutionsWorld {
        let clients = moto_clients().await;
        let port = StepFunctionsExecutions::new(clients.sfn.clone());
        MotoExecutionsWorld { clients, port }
    }
}

impl ExecutionsWorld for MotoExecutionsWorld {
    type Port = StepFunctionsExecutions;
    fn port(&self) -> &StepFunctionsExecutions {
        &self.port
    }
    async fn state_machine(&self) -> String {
        let definition =
            json!({"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}});
        self.clients
            .sfn
            .create_state_machine()
            .name(unique("contract"))
            .definition(definition.to_string())
            .role_arn(ROLE)
            .send()
            .await
            .expect("moto CreateStateMachine")
            .state_machine_arn()
            .to_owned()
    }
    async fn stop(&self, execution_arn: &str) {
        self.clients
            .sfn
            .stop_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .expect("moto StopExecution");
    }
}

// ---------------------------------------------------------------- the suite

fn input(target: &str) -> serde_json::Value {
    json!({"functionName": "orders-api", "alias": "live", "targetVersion": target})
}

mod suite {
    use super::*;

    pub async fn same_name_and_input_is_the_same_execution<W: ExecutionsWorld>(w: &W) {
        let sm = w.state_machine().await;
        let first = w
            .port()
            .start_execution(&sm, "codepipeline-job-1", &input("2"))
            .await
            .expect("start");
        let again = w
            .port()
            .start_execution(&sm, "codepipeline-job-1", &input("2"))
            .await
            .expect("start again");
        assert_eq!(first, again);
        assert!(first.ends_with(":codepipeline-job-1"), "{first}");
        let e = w.port().describe_execution(&first).await.expect("describe");
        assert_eq!(e.status, ExecutionStatus::Running);
        assert_eq!(e.input, Some(input("2")));
    }

    pub async fn same_name_and_input_after_it_ended_is_still_that_execution<W: ExecutionsWorld>(
        w: &W,
    ) {
        let sm = w.state_machine().await;
        let arn = w
            .port()
            .start_execution(&sm, "codepipeline-job-2", &input("2"))
            .await
            .expect("start");
        w.stop(&arn).await;
        let again = w
            .port()
            .start_execution(&sm, "codepipeline-job-2", &input("2"))
            .await
            .expect("a retried start finds the ended execution");
        assert_eq!(again, arn);
        let e = w.port().describe_execution(&arn).await.expect("describe");
        assert_eq!(e.status, ExecutionStatus::Aborted);
    }

    pub async fn same_name_with_other_input_is_refused<W: ExecutionsWorld>(w: &W) {
        let sm = w.state_machine().await;
        let arn = w
            .port()
            .start_execution(&sm, "codepipeline-job-3", &input("2"))
            .await
            .expect("start");
        let err = w
            .port()
            .start_execution(&sm, "codepipeline-job-3", &input("3"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "InvalidInput", "{err}");
        assert!(err.to_string().contains("ExecutionAlreadyExists"), "{err}");
        let e = w.port().describe_execution(&arn).await.expect("describe");
        assert_eq!(
            e.input,
            Some(input("2")),
            "the first execution is untouched"
        );
    }

    pub async fn names_step_functions_refuses_are_invalid_input<W: ExecutionsWorld>(w: &W) {
        let sm = w.state_machine().await;
        for name in ["has:colon", "has space", &"x".repeat(81)] {
            let err = w
                .port()
                .start_execution(&sm, name, &input("2"))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), "InvalidInput", "{name}: {err}");
        }
        let fine = "codepipeline-11111111-abcd-1111-abcd-111111abcdef_retry.1";
        w.port()
            .start_execution(&sm, fine, &input("2"))
            .await
            .expect("a job-id name is fine");
    }

    pub async fn missing_state_machine_and_execution_are_named<W: ExecutionsWorld>(w: &W) {
        let ghost_sm = format!(
            "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
            unique("ghost")
        );
        assert_not_found(
            w.port().start_execution(&ghost_sm, "x", &json!({})).await,
            &format!("state machine {ghost_sm}"),
        );
        let sm = w.state_machine().await;
        let ghost = format!(
            "{}:{}",
            sm.replacen(":stateMachine:", ":execution:", 1),
            unique("e")
        );
        assert_not_found(
            w.port().describe_execution(&ghost).await,
            &format!("execution {ghost}"),
        );
    }

    pub async fn list_is_newest_first_without_documents<W: ExecutionsWorld>(w: &W) {
        let sm = w.state_machine().await;
        let older = w
            .port()
            .start_execution(&sm, &unique("list-a"), &input("2"))
            .await
            .expect("start");
        w.stop(&older).await;
        let newer = w
            .port()
            .start_execution(&sm, &unique("list-b"), &input("3"))
            .await
            .expect("start");
        let listed = w.port().list_executions(&sm, 100).await.expect("list");
        let at = |arn: &str| listed.iter().position(|e| e.arn == arn);
        let (older_at, newer_at) = (at(&older).expect("listed"), at(&newer).expect("listed"));
        assert!(newer_at < older_at, "newest first: {listed:?}");
        assert_eq!(listed[older_at].status, ExecutionStatus::Aborted);
        assert_eq!(listed[newer_at].status, ExecutionStatus::Running);
        assert!(listed.iter().all(|e| e.input.is_none()));
        let one = w.port().list_executions(&sm, 1).await.expect("list");
        assert_eq!(one.len(), 1);
    }
}

/// Runs an Executions behaviour on the fake and on the adapter over moto.
macro_rules! on_fake_and_moto {
    ($behaviour:ident) => {
        mod $behaviour {
            use super::*;

            #[tokio::test]
            async fn fake() {
                let clock = Arc::new(ManualClock::at_epoch());
                suite::$behaviour(&FakeExecutionsWorld(FakeExecutions::new(clock))).await;
            }

            moto_test! {
                async fn moto() {
                    suite::$behaviour(&MotoExecutionsWorld::new().await).await;
                }
            }
        }
    };
}

on_fake_and_moto!(same_name_and_input_is_the_same_execution);
on_fake_and_moto!(same_name_and_input_after_it_ended_is_still_that_execution);
on_fake_and_moto!(same_name_with_other_input_is_refused);
on_fake_and_moto!(names_step_functions_refuses_are_invalid_input);
on_fake_and_moto!(missing_state_machine_and_execution_are_named);
on_fake_and_moto!(list_is_newest_first_without_documents);

moto_test! {
    /// What moto serves of an execution: its ARN, name and input, and a history oldest first.
    /// It never runs the definition (gap executions-never-run) and returns one page of history
    /// (gap execution-history-not-paginated): mocks::failed_execution_reports_error_and_cause
    /// and mocks::history_follows_every_page check those against Step Functions' answers.
    async fn start_describe_and_read_history_on_moto() {
        let w = MotoExecutionsWorld::new().await;
        let sm = w.state_machine().await;
        let arn = w
            .port
            .start_execution(&sm, "deploy-1", &input("2"))
            .await
            .expect("start");
        assert!(arn.ends_with(":deploy-1"), "{arn}");
        let e = w.port.describe_execution(&arn).await.expect("describe");
        assert_eq!(e.arn, arn);
        assert_eq!(e.name.as_deref(), Some("deploy-1"));
        assert_eq!(e.input, Some(input("2")));
        assert_eq!(e.status, ExecutionStatus::Running);
        let history = w.port.execution_history(&arn).await.expect("history");
        assert!(!history.is_empty());
        assert_eq!(history[0].kind, "ExecutionStarted");
        assert!(
            history.windows(2).all(|p| p[0].id < p[1].id),
            "oldest first"
        );
    }
}

moto_test! {
    /// An execution ARN under a state machine that does not exist is named, not a 500.
    async fn execution_of_a_missing_state_machine_is_named_on_moto() {
        let w = MotoExecutionsWorld::new().await;
        let ghost = format!(
            "arn:aws:states:us-east-1:{ACCOUNT}:execution:{}:{}",
            unique("nope"),
            unique("e")
        );
        assert_not_found(
            w.port.describe_execution(&ghost).await,
            &format!("execution {ghost}"),
        );
    }
}

// ---------------------------------------------------------------- aws-smithy-mocks

mod mocks {
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
    use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput;
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput;
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{
        ExecutionFailedEventDetails, HistoryEvent, HistoryEventType, StateEnteredEventDetails,
        TaskScheduledEventDetails,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock};

    use super::*;
    use crate::support::{ATTEMPTS, error_body, http_error, sfn_client, throttled};

    const AT: i64 = 1_767_225_600;

    fn client(mode: RuleMode, rules: &[&Rule]) -> StepFunctionsExecutions {
        StepFunctionsExecutions::new(sfn_client(mode, rules))
    }

    #[tokio::test]
    async fn failed_execution_reports_error_and_cause() {
        let describe = mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn("arn:x")
                .state_machine_arn("arn:sm")
                .status(aws_sdk_sfn::types::ExecutionStatus::Failed)
                .start_date(DateTime::from_secs(AT))
                .stop_date(DateTime::from_secs(AT + 60))
                .input("{\"alias\":\"live\"}")
                .error("AlarmTriggered")
                .cause("orders-api-errors is in ALARM")
                .build()
                .expect("complete output")
        });
        let e = client(RuleMode::Sequential, &[&describe])
            .describe_execution("arn:x")
            .await
            .expect("describe");
        assert_eq!(e.status, ExecutionStatus::Failed);
        assert_eq!(e.error.as_deref(), Some("AlarmTriggered"));
        assert_eq!(e.cause.as_deref(), Some("orders-api-errors is in ALARM"));
        assert_eq!(e.input, Some(json!({"alias": "live"})));
        assert_eq!(e.stopped.map(|t| t.timestamp()), Some(AT + 60));
    }

    #[tokio::test]
    async fn history_follows_every_page() {
        let event = |id: i64, kind: HistoryEventType| {
            let mut e = HistoryEvent::builder()
                .id(id)
                .r#type(kind.clone())
                .timestamp(DateTime::from_secs(AT + id));
            if kind == HistoryEventType::ExecutionFailed {
                e = e.execution_failed_event_details(
                    ExecutionFailedEventDetails::builder()
                        .error("AliasDrift")
                        .cause("moved")
                        .build(),
                );
            }
            e.build().expect("complete event")
        };
        let first = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|req| req.next_token().is_none())
            .then_output(move || {
                GetExecutionHistoryOutput::builder()
                    .events(event(1, HistoryEventType::ExecutionStarted))
                    .events(event(2, HistoryEventType::TaskStateEntered))
                    .next_token("t1")
                    .build()
                    .expect("output")
            });
        let second = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|req| req.next_token() == Some("t1"))
            .then_output(move || {
                GetExecutionHistoryOutput::builder()
                    .events(event(3, HistoryEventType::ExecutionFailed))
                    .build()
                    .expect("output")
            });
        let history = client(RuleMode::MatchAny, &[&first, &second])
            .execution_history("arn:x")
            .await
            .expect("history");
        assert_eq!(history.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(history[2].kind, "ExecutionFailed");
        assert_eq!(history[2].error.as_deref(), Some("AliasDrift"));
    }

    /// A follower's poll reads newest first and stops at the first page that reaches what it
    /// has seen: two calls here for a history of three pages, not the whole history.
    /// GetExecutionHistory `reverseOrder`, `maxResults` (at most 1000):
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html>
    #[tokio::test]
    async fn history_after_reads_newest_first_and_stops_at_what_was_seen() {
        let event = |id: i64| {
            HistoryEvent::builder()
                .id(id)
                .r#type(HistoryEventType::TaskStateEntered)
                .timestamp(DateTime::from_secs(AT + id))
                .build()
                .expect("complete event")
        };
        let page = move |ids: Vec<i64>, next: Option<&'static str>| {
            let mut out = GetExecutionHistoryOutput::builder();
            for id in ids {
                out = out.events(event(id));
            }
            out.set_next_token(next.map(str::to_owned))
                .build()
                .expect("output")
        };
        let checked =
            |req: &aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryInput| {
                req.reverse_order() == Some(true) && req.max_results() == Some(1000)
            };
        let first = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(move |req| checked(req) && req.next_token().is_none())
            .then_output(move || page(vec![6, 5], Some("t1")));
        let second = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(move |req| checked(req) && req.next_token() == Some("t1"))
            .then_output(move || page(vec![4, 3], Some("t2")));
        let third = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(move |req| checked(req) && req.next_token() == Some("t2"))
            .then_output(move || page(vec![2, 1], None));
        let port = client(RuleMode::MatchAny, &[&first, &second, &third]);
        let newer = port.history_after("arn:x", 3).await.expect("history");
        assert_eq!(newer.iter().map(|e| e.id).collect::<Vec<_>>(), [4, 5, 6]);
        assert_eq!(
            (first.num_calls(), second.num_calls(), third.num_calls()),
            (1, 1, 0)
        );
        let all = port.history_after("arn:x", 0).await.expect("history");
        assert_eq!(
            all.iter().map(|e| e.id).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6]
        );
    }

    /// The dashboard's list: pages followed until `max` executions are read, newest first as
    /// the API returns them; no more pages are read once `max` is reached.
    #[tokio::test]
    async fn list_executions_follows_pages_up_to_max() {
        use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
        use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus as S};
        let item = |name: &str, status: S, stopped: bool| {
            let mut i = ExecutionListItem::builder()
                .execution_arn(format!("arn:aws:states:us-east-1:1:execution:sm:{name}"))
                .state_machine_arn("arn:aws:states:us-east-1:1:stateMachine:sm")
                .name(name)
                .status(status)
                .start_date(DateTime::from_secs(AT));
            if stopped {
                i = i.stop_date(DateTime::from_secs(AT + 90));
            }
            i.build().expect("complete item")
        };
        let first = mock!(aws_sdk_sfn::Client::list_executions)
            .match_requests(|req| {
                req.next_token().is_none()
                    && req.max_results() == Some(3)
                    && req.state_machine_arn() == Some("arn:sm")
            })
            .then_output(move || {
                ListExecutionsOutput::builder()
                    .set_executions(Some(vec![
                        item("c", S::Running, false),
                        item("b", S::Failed, true),
                    ]))
                    .next_token("t1")
                    .build()
                    .expect("output")
            });
        let second = mock!(aws_sdk_sfn::Client::list_executions)
            .match_requests(|req| req.next_token() == Some("t1"))
            .then_output(move || {
                ListExecutionsOutput::builder()
                    .set_executions(Some(vec![
                        item("a", S::Succeeded, true),
                        item("z", S::Succeeded, true),
                    ]))
                    .next_token("t2")
                    .build()
                    .expect("output")
            });
        let port = client(RuleMode::MatchAny, &[&first, &second]);
        let listed = port.list_executions("arn:sm", 3).await.expect("list");
        let names: Vec<_> = listed.iter().filter_map(|e| e.name.as_deref()).collect();
        assert_eq!(names, ["c", "b", "a"]);
        assert_eq!(listed[0].status, ExecutionStatus::Running);
        assert_eq!(listed[1].status, ExecutionStatus::Failed);
        assert_eq!(listed[1].stopped.map(|t| t.timestamp()), Some(AT + 90));
        assert!(listed[0].arn.ends_with(":execution:sm:c"));
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn throttling_is_transient() {
        let start = throttled(mock!(aws_sdk_sfn::Client::start_execution));
        let err = client(RuleMode::Sequential, &[&start])
            .start_execution("arn:sm", "x", &json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
        assert_eq!(start.num_calls(), ATTEMPTS);
    }

    #[tokio::test]
    async fn already_exists_is_only_started_when_the_input_matches() {
        let already = || {
            let body = error_body("ExecutionAlreadyExists", "Execution Already Exists");
            http_error(mock!(aws_sdk_sfn::Client::start_execution), 400, body, 1)
        };
        let describe = |input: &'static str| {
            mock!(aws_sdk_sfn::Client::describe_execution).then_output(move || {
                DescribeExecutionOutput::builder()
                    .execution_arn("arn:aws:states:us-east-1:1:execution:sm:job-1")
                    .state_machine_arn("arn:aws:states:us-east-1:1:stateMachine:sm")
                    .status(aws_sdk_sfn::types::ExecutionStatus::Succeeded)
                    .start_date(DateTime::from_secs(AT))
                    .input(input)
                    .build()
                    .expect("complete output")
            })
        };
        let sm = "arn:aws:states:us-east-1:1:stateMachine:sm";
        let (start, same) = (already(), describe("{\"alias\":\"live\"}"));
        let arn = client(RuleMode::Sequential, &[&start, &same])
            .start_execution(sm, "job-1", &json!({"alias": "live"}))
            .await
            .expect("the ended execution with the same input");
        assert_eq!(arn, "arn:aws:states:us-east-1:1:execution:sm:job-1");

        let (start, other) = (already(), describe("{\"alias\":\"other\"}"));
        let err = client(RuleMode::Sequential, &[&start, &other])
            .start_execution(sm, "job-1", &json!({"alias": "live"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "InvalidInput", "{err}");
        assert!(err.to_string().contains("ExecutionAlreadyExists"), "{err}");

        let (start, unreadable) = (
            already(),
            throttled(mock!(aws_sdk_sfn::Client::describe_execution)),
        );
        let err = client(RuleMode::Sequential, &[&start, &unreadable])
            .start_execution(sm, "job-1", &json!({"alias": "live"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            "Transient",
            "unreadable is retried, not refused: {err}"
        );
    }

    // -- task tokens (`shifter approve|promote|abort`) and the history the CLI reads them from

    #[tokio::test]
    async fn task_success_and_failure_answer_the_token_verbatim() {
        use shifter::ports::{TaskCallbacks, TokenAnswer};
        let success = mock!(aws_sdk_sfn::Client::send_task_success)
            .match_requests(|req| {
                req.task_token() == Some("tok-1") && req.output() == Some(r#"{"action":"promote"}"#)
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        let failure = mock!(aws_sdk_sfn::Client::send_task_failure)
            .match_requests(|req| {
                req.task_token() == Some("tok-2")
                    && req.error() == Some("Aborted")
                    && req.cause() == Some("p99 looks wrong")
            })
            .then_output(|| SendTaskFailureOutput::builder().build());
        let executions = client(RuleMode::MatchAny, &[&success, &failure]);
        let sent = executions
            .send_task_success("tok-1", &json!({"action": "promote"}))
            .await
            .expect("success sent");
        assert_eq!(sent, TokenAnswer::Delivered);
        let sent = executions
            .send_task_failure("tok-2", "Aborted", "p99 looks wrong")
            .await
            .expect("failure sent");
        assert_eq!(sent, TokenAnswer::Delivered);
        assert_eq!((success.num_calls(), failure.num_calls()), (1, 1));
    }

    /// SendTaskFailure on a token that no longer waits answers `TaskTimedOut`, `InvalidToken`
    /// or `TaskDoesNotExist`
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html>):
    /// the watcher's task callbacks call that stale, not an error; throttling stays an error.
    #[tokio::test]
    async fn task_callbacks_call_a_token_that_no_longer_waits_stale() {
        use shifter::ports::{TaskCallbacks, TokenAnswer};
        for code in ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"] {
            let body = error_body(code, "gone");
            let gone = http_error(mock!(aws_sdk_sfn::Client::send_task_failure), 400, body, 1);
            let answer = TaskCallbacks::send_task_failure(
                &client(RuleMode::MatchAny, &[&gone]),
                "tok",
                "AlarmTriggered",
                "alarm errors",
            )
            .await
            .expect("stale is not an error");
            assert_eq!(answer, TokenAnswer::Stale, "{code}");
        }
        let ok = mock!(aws_sdk_sfn::Client::send_task_failure)
            .match_requests(|req| req.error() == Some("AlarmTriggered"))
            .then_output(|| SendTaskFailureOutput::builder().build());
        let answer = TaskCallbacks::send_task_failure(
            &client(RuleMode::MatchAny, &[&ok]),
            "tok",
            "AlarmTriggered",
            "alarm errors",
        )
        .await
        .unwrap();
        assert_eq!(answer, TokenAnswer::Delivered);
        let busy = throttled(mock!(aws_sdk_sfn::Client::send_task_failure));
        let err = TaskCallbacks::send_task_failure(
            &client(RuleMode::Sequential, &[&busy]),
            "tok",
            "AlarmTriggered",
            "alarm errors",
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "Transient", "{err}");
    }

    /// An approval sent to a token answered already is stale, as a failure is (the CLI names
    /// the token in its error).
    #[tokio::test]
    async fn an_answered_token_is_stale_for_a_success_too() {
        use shifter::ports::{TaskCallbacks, TokenAnswer};
        let body = error_body("TaskTimedOut", "Task Timed Out");
        let gone = http_error(mock!(aws_sdk_sfn::Client::send_task_success), 400, body, 1);
        let answer = client(RuleMode::MatchAny, &[&gone])
            .send_task_success("tok", &json!({"action": "approve"}))
            .await
            .expect("stale is not an error");
        assert_eq!(answer, TokenAnswer::Stale);
    }

    #[tokio::test]
    async fn history_carries_parameters_and_inputs() {
        let parameters = json!({"Entries": [{"DetailType": "Traffic Shifter Bake",
            "Detail": {"taskToken": "tok-9"}}]})
        .to_string();
        let p = parameters.clone();
        let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(move || {
            let entered = StateEnteredEventDetails::builder()
                .name("Bake")
                .input(r#"{"waitSeconds":30}"#)
                .build()
                .expect("details");
            let scheduled = TaskScheduledEventDetails::builder()
                .resource_type("events")
                .resource("putEvents.waitForTaskToken")
                .region("us-east-1")
                .parameters(p.clone())
                .build()
                .expect("details");
            let event = |id, kind| {
                HistoryEvent::builder()
                    .id(id)
                    .r#type(kind)
                    .timestamp(DateTime::from_secs(AT))
            };
            GetExecutionHistoryOutput::builder()
                .events(
                    event(1, HistoryEventType::TaskStateEntered)
                        .state_entered_event_details(entered)
                        .build()
                        .expect("event"),
                )
                .events(
                    event(2, HistoryEventType::TaskScheduled)
                        .task_scheduled_event_details(scheduled)
                        .build()
                        .expect("event"),
                )
                .build()
                .expect("output")
        });
        let events = client(RuleMode::MatchAny, &[&history])
            .execution_history("arn:x")
            .await
            .expect("history");
        assert_eq!(events[0].state.as_deref(), Some("Bake"));
        assert_eq!(events[0].input.as_deref(), Some(r#"{"waitSeconds":30}"#));
        assert_eq!(events[1].kind, "TaskScheduled");
        assert_eq!(events[1].parameters.as_deref(), Some(parameters.as_str()));
    }
}
