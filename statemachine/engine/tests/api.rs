//! The Step Functions API over HTTP, driven by real `aws-sdk-sfn` clients pointed at the local
//! server (endpoint URL, dummy credentials), as the worker binary and moto-style tests do.

use std::net::SocketAddr;

use asl_engine::{Engine, EngineConfig, ExecutionStatus, start_server};
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus as SdkStatus, HistoryEventType};

const ROLE: &str = "arn:aws:iam::123456789012:role/local";

/// Sends TestState to the configured endpoint itself: the SDK prefixes its host with `sync-`
/// (the operation's endpoint host prefix, as for StartSyncExecution), which names no local
/// host. Other SDKs have a switch for this (boto3 `inject_host_prefix=False`, the Go SDK's
/// `DisableHTTPS`-style endpoint options); the Rust SDK needs an interceptor.
#[derive(Debug)]
struct NoHostPrefix;

impl aws_sdk_sfn::config::Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_sfn::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let uri = context.request().uri().replace("://sync-", "://");
        context.request_mut().set_uri(uri)?;
        Ok(())
    }
}

async fn setup() -> (Engine, Client, asl_engine::ServerHandle) {
    let engine = Engine::new(EngineConfig::default());
    let (addr, handle) = start_server(engine.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("server starts");
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(format!("http://{addr}"))
        .interceptor(NoHostPrefix)
        .build();
    (engine, Client::from_conf(config), handle)
}

fn activity_machine(activity_arn: &str, heartbeat: Option<u32>) -> String {
    let heartbeat = heartbeat.map_or(String::new(), |h| format!(r#","HeartbeatSeconds":{h}"#));
    format!(
        r#"{{"StartAt":"Work","States":{{"Work":{{"Type":"Task","Resource":"{activity_arn}"{heartbeat},"End":true}}}}}}"#
    )
}

async fn machine_and_activity(
    client: &Client,
    name: &str,
    heartbeat: Option<u32>,
) -> (String, String) {
    let activity = client
        .create_activity()
        .name(format!("{name}-activity"))
        .send()
        .await
        .expect("create activity");
    let arn = activity.activity_arn().to_owned();
    let machine = client
        .create_state_machine()
        .name(name)
        .definition(activity_machine(&arn, heartbeat))
        .role_arn(ROLE)
        .send()
        .await
        .expect("create state machine");
    (machine.state_machine_arn().to_owned(), arn)
}

#[tokio::test]
async fn a_worker_completes_an_activity_task_through_the_sdk() {
    let (engine, client, server) = setup().await;
    let (machine, activity) = machine_and_activity(&client, "complete", None).await;
    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .name("run-1")
        .input(r#"{"recordingId":"r1"}"#)
        .send()
        .await
        .expect("start");

    let task = client
        .get_activity_task()
        .activity_arn(&activity)
        .worker_name("worker-a")
        .send()
        .await
        .expect("poll");
    assert_eq!(task.input(), Some(r#"{"recordingId":"r1"}"#));
    let token = task.task_token().expect("a task").to_owned();
    client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .expect("heartbeat");
    client
        .send_task_success()
        .task_token(&token)
        .output(r#"{"ok":true}"#)
        .send()
        .await
        .expect("success");

    let outcome = engine
        .wait(started.execution_arn())
        .await
        .expect("known execution");
    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    let described = client
        .describe_execution()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .expect("describe");
    assert_eq!(described.status(), &SdkStatus::Succeeded);
    assert_eq!(described.output(), Some(r#"{"ok":true}"#));

    let history = client
        .get_execution_history()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .expect("history");
    let types: Vec<HistoryEventType> = history
        .events()
        .iter()
        .map(|e| e.r#type().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            HistoryEventType::ExecutionStarted,
            HistoryEventType::TaskStateEntered,
            HistoryEventType::ActivityScheduled,
            HistoryEventType::ActivityStarted,
            HistoryEventType::ActivitySucceeded,
            HistoryEventType::TaskStateExited,
            HistoryEventType::ExecutionSucceeded,
        ]
    );
    let started_event = history.events()[3]
        .activity_started_event_details()
        .expect("details");
    assert_eq!(started_event.worker_name(), Some("worker-a"));

    let again = client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .expect_err("a finished token");
    assert!(again.into_service_error().is_task_timed_out());
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_task_fails_the_execution_with_the_workers_error() {
    let (engine, client, server) = setup().await;
    let (machine, activity) = machine_and_activity(&client, "failing", None).await;
    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start");
    let task = client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .expect("poll");
    client
        .send_task_failure()
        .task_token(task.task_token().expect("a task"))
        .error("Media.Corrupt")
        .cause("chunk 3 is not an MP4")
        .send()
        .await
        .expect("failure");
    engine.wait(started.execution_arn()).await.expect("known");
    let described = client
        .describe_execution()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .expect("describe");
    assert_eq!(described.status(), &SdkStatus::Failed);
    assert_eq!(described.error(), Some("Media.Corrupt"));
    assert_eq!(described.cause(), Some("chunk 3 is not an MP4"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_task_without_heartbeats_times_out_and_its_token_answers_task_timed_out() {
    let (engine, client, server) = setup().await;
    let (machine, activity) = machine_and_activity(&client, "silent", Some(1)).await;
    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start");
    let task = client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .expect("poll");
    let outcome = engine.wait(started.execution_arn()).await.expect("known");
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.error.as_deref(), Some("States.HeartbeatTimeout"));
    let err = client
        .send_task_heartbeat()
        .task_token(task.task_token().expect("a task"))
        .send()
        .await
        .expect_err("timed out");
    assert!(err.into_service_error().is_task_timed_out());
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_tokens_are_invalid() {
    let (_engine, client, server) = setup().await;
    let err = client
        .send_task_success()
        .task_token("not-a-token")
        .output("{}")
        .send()
        .await
        .expect_err("invalid");
    assert!(err.into_service_error().is_invalid_token());
    server.shutdown().await;
}

#[tokio::test]
async fn stopping_an_execution_aborts_it_and_its_open_task() {
    let (engine, client, server) = setup().await;
    let (machine, activity) = machine_and_activity(&client, "stopped", None).await;
    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start");
    let task = client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .expect("poll");
    client
        .stop_execution()
        .execution_arn(started.execution_arn())
        .error("Operator")
        .cause("cancelled")
        .send()
        .await
        .expect("stop");
    let outcome = engine.wait(started.execution_arn()).await.expect("known");
    assert_eq!(outcome.status, ExecutionStatus::Aborted);
    let err = client
        .send_task_success()
        .task_token(task.task_token().expect("a task"))
        .output("{}")
        .send()
        .await
        .expect_err("the execution was stopped");
    assert!(err.into_service_error().is_task_does_not_exist());
    let listed = client
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(SdkStatus::Aborted)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.executions().len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn start_execution_is_idempotent_only_for_the_same_name_and_input_while_open() {
    let (engine, client, server) = setup().await;
    let (machine, activity) = machine_and_activity(&client, "idempotent", None).await;
    let start = |input: &'static str| {
        client
            .start_execution()
            .state_machine_arn(&machine)
            .name("recording-1")
            .input(input)
            .send()
    };
    let first = start(r#"{"a":1}"#).await.expect("first");
    let second = start(r#"{"a":1}"#)
        .await
        .expect("same name and input while open");
    assert_eq!(first.execution_arn(), second.execution_arn());
    let other = start(r#"{"a":2}"#).await.expect_err("different input");
    assert!(other.into_service_error().is_execution_already_exists());

    let task = client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .expect("poll");
    client
        .send_task_success()
        .task_token(task.task_token().expect("a task"))
        .output("{}")
        .send()
        .await
        .expect("success");
    engine.wait(first.execution_arn()).await.expect("known");
    let closed = start(r#"{"a":1}"#).await.expect_err("closed execution");
    assert!(closed.into_service_error().is_execution_already_exists());
    server.shutdown().await;
}

#[tokio::test]
async fn state_machines_and_activities_can_be_described_listed_updated_and_deleted() {
    let (_engine, client, server) = setup().await;
    let (machine, activity) = machine_and_activity(&client, "crud", None).await;
    let described = client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.name(), "crud");
    client
        .update_state_machine()
        .state_machine_arn(&machine)
        .definition(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)
        .send()
        .await
        .expect("update");
    let updated = client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("describe");
    assert!(updated.definition().contains("Pass"));
    let machines = client.list_state_machines().send().await.expect("list");
    assert_eq!(machines.state_machines().len(), 1);
    let activities = client.list_activities().send().await.expect("list");
    assert_eq!(activities.activities().len(), 1);
    let activity_desc = client
        .describe_activity()
        .activity_arn(&activity)
        .send()
        .await
        .expect("describe activity");
    assert_eq!(activity_desc.name(), "crud-activity");

    client
        .delete_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("delete");
    let missing = client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect_err("deleted");
    assert!(
        missing
            .into_service_error()
            .is_state_machine_does_not_exist()
    );
    client
        .delete_activity()
        .activity_arn(&activity)
        .send()
        .await
        .expect("delete activity");
    let missing = client
        .describe_activity()
        .activity_arn(&activity)
        .send()
        .await
        .expect_err("deleted");
    assert!(missing.into_service_error().is_activity_does_not_exist());
    server.shutdown().await;
}

#[tokio::test]
async fn an_invalid_definition_is_refused_with_invalid_definition() {
    let (_engine, client, server) = setup().await;
    let err = client
        .create_state_machine()
        .name("bad")
        .definition(r#"{"StartAt":"Missing","States":{"P":{"Type":"Pass","End":true}}}"#)
        .role_arn(ROLE)
        .send()
        .await
        .expect_err("invalid");
    assert!(err.into_service_error().is_invalid_definition());
    let err = client
        .create_state_machine()
        .name("jsonata")
        .definition(r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input.( %}","End":true}}}"#)
        .role_arn(ROLE)
        .send()
        .await
        .expect_err("a JSONata expression that does not parse");
    let err = err.into_service_error();
    assert!(err.is_invalid_definition());
    assert!(err.to_string().contains("JSONata expression"), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn given_definitions_when_validated_through_the_sdk_then_ok_and_fail_results_parse() {
    use aws_sdk_sfn::types::{
        StateMachineType, ValidateStateMachineDefinitionResultCode as ResultCode,
        ValidateStateMachineDefinitionSeverity as Severity,
    };
    let (_engine, client, server) = setup().await;

    let valid = client
        .validate_state_machine_definition()
        .definition(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)
        .r#type(StateMachineType::Standard)
        .send()
        .await
        .expect("validated");
    let invalid = client
        .validate_state_machine_definition()
        .definition(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"Ghost"}}}"#)
        .severity(Severity::Warning)
        .max_results(10)
        .send()
        .await
        .expect("validated");
    let not_json = client
        .validate_state_machine_definition()
        .definition("not a definition")
        .send()
        .await
        .expect("validated");

    assert_eq!(valid.result(), &ResultCode::Ok);
    assert!(valid.diagnostics().is_empty());
    assert_eq!(valid.truncated(), Some(false));
    assert_eq!(invalid.result(), &ResultCode::Fail);
    let missing = invalid
        .diagnostics()
        .iter()
        .find(|d| d.code() == "MISSING_TRANSITION_TARGET")
        .expect("the missing target is reported");
    assert_eq!(missing.severity(), &Severity::Error);
    assert_eq!(missing.location(), Some("/States/P/Next"));
    assert!(!missing.message().is_empty());
    assert_eq!(not_json.diagnostics()[0].code(), "INVALID_JSON_DESCRIPTION");
    server.shutdown().await;
}

#[tokio::test]
async fn given_a_pass_state_when_tested_through_the_sdk_then_output_next_state_and_inspection_parse()
 {
    use aws_sdk_sfn::types::{InspectionLevel, TestExecutionStatus};
    let (_engine, client, server) = setup().await;

    let tested = client
        .test_state()
        .definition(
            r#"{"Type":"Pass","InputPath":"$.in","Parameters":{"v.$":"$.x"},"ResultPath":"$.out","Next":"After"}"#,
        )
        .input(r#"{"in":{"x":1}}"#)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .expect("tested");

    assert_eq!(tested.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(tested.next_state(), Some("After"));
    assert_eq!(tested.output(), Some(r#"{"in":{"x":1},"out":{"v":1}}"#));
    let inspection = tested.inspection_data().expect("inspection data at DEBUG");
    assert_eq!(inspection.input(), Some(r#"{"in":{"x":1}}"#));
    assert_eq!(inspection.after_input_path(), Some(r#"{"x":1}"#));
    assert_eq!(inspection.after_parameters(), Some(r#"{"v":1}"#));
    assert_eq!(
        inspection.after_result_path(),
        Some(r#"{"in":{"x":1},"out":{"v":1}}"#)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn given_a_mocked_task_error_when_tested_through_the_sdk_then_caught_and_retriable_parse() {
    use aws_sdk_sfn::types::{MockErrorOutput, MockInput, TestExecutionStatus};
    let (_engine, client, server) = setup().await;
    let task = |retry: &str| {
        format!(
            r#"{{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{{"FunctionName":"f"}},
               "Retry":[{retry}],
               "Catch":[{{"ErrorEquals":["Other"],"Next":"Other"}},{{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Handle"}}],
               "End":true}}"#
        )
    };
    let mock = MockInput::builder()
        .error_output(
            MockErrorOutput::builder()
                .error("Lambda.Throttled")
                .cause("slow down")
                .build(),
        )
        .build();

    let caught = client
        .test_state()
        .definition(task(r#"{"ErrorEquals":["Nope"]}"#))
        .role_arn(ROLE)
        .input(r#"{"id":1}"#)
        .mock(mock.clone())
        .send()
        .await
        .expect("tested");
    let retriable = client
        .test_state()
        .definition(task(
            r#"{"ErrorEquals":["Lambda.Throttled"],"IntervalSeconds":3600}"#,
        ))
        .role_arn(ROLE)
        .mock(mock)
        .inspection_level(aws_sdk_sfn::types::InspectionLevel::Debug)
        .send()
        .await
        .expect("tested");

    assert_eq!(caught.status(), Some(&TestExecutionStatus::CaughtError));
    assert_eq!(caught.next_state(), Some("Handle"));
    assert_eq!(caught.error(), Some("Lambda.Throttled"));
    assert_eq!(
        caught.output(),
        Some(r#"{"id":1,"error":{"Error":"Lambda.Throttled","Cause":"slow down"}}"#)
    );
    assert_eq!(retriable.status(), Some(&TestExecutionStatus::Retriable));
    assert_eq!(retriable.cause(), Some("slow down"));
    assert_eq!(retriable.output(), None);
    let details = retriable
        .inspection_data()
        .and_then(|i| i.error_details())
        .expect("error details");
    assert_eq!(details.retry_index(), Some(0));
    assert_eq!(details.retry_backoff_interval_seconds(), Some(3600));
    server.shutdown().await;
}

#[tokio::test]
async fn given_an_unmocked_service_task_when_tested_then_it_is_a_validation_error() {
    let (_engine, client, server) = setup().await;

    let error = client
        .test_state()
        .definition(r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}"#)
        .role_arn(ROLE)
        .send()
        .await
        .expect_err("refused");

    let service = error.into_service_error();
    assert!(service.is_validation_exception(), "{service:?}");
    assert!(
        service.to_string().contains("give a mock")
            || format!("{service:?}").contains("give a mock"),
        "{service:?}"
    );
    server.shutdown().await;
}
