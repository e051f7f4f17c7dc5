//! Mocked task results (AWS Step Functions Local's mock configuration format) on the engine:
//! what each mocked invocation returns or throws, how retries consume invocations, and the
//! history events a mocked task records (the same as a real one).

use asl_engine::history::{EventType, HistoryEvent};
use std::sync::Arc;

use asl_engine::{
    Engine, EngineConfig, ExecutionStatus, MemoryTables, MockConfig, Resources, TestCaseMocks,
};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/local";
const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:media";

fn mocks(config: &Value, case: &str) -> TestCaseMocks {
    MockConfig::from_value(config)
        .expect("valid mock configuration")
        .test_case(None, case)
        .expect("known test case")
}

/// Runs `definition` on `input` with `mocks`, on virtual time; the outcome and the history.
async fn run(
    definition: &Value,
    input: Value,
    mocks: TestCaseMocks,
) -> (asl_engine::ExecutionOutcome, Vec<HistoryEvent>) {
    run_on(EngineConfig::default(), definition, input, mocks).await
}

async fn run_on(
    config: EngineConfig,
    definition: &Value,
    input: Value,
    mocks: TestCaseMocks,
) -> (asl_engine::ExecutionOutcome, Vec<HistoryEvent>) {
    let engine = Engine::with_mocks(config, mocks);
    let machine = engine
        .create_state_machine("mocked", &definition.to_string(), ROLE, None)
        .expect("valid definition");
    let execution = engine
        .start_execution(&machine.arn, None, Some(&input.to_string()))
        .expect("started");
    let outcome = execution.wait().await;
    (outcome, execution.history())
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(|e| e.event_type).collect()
}

fn details(history: &[HistoryEvent], event_type: EventType) -> Vec<Value> {
    history
        .iter()
        .filter(|e| e.event_type == event_type)
        .filter_map(|e| e.details.clone())
        .collect()
}

fn lambda_with_retry() -> Value {
    json!({"StartAt": "Invoke", "States": {
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException"],
                       "IntervalSeconds": 30, "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
            "OutputPath": "$.Payload", "End": true},
        "Recover": {"Type": "Pass", "End": true}}})
}

/// The example of AWS's "Configuration file for mocked service integrations" page.
fn aws_example() -> Value {
    json!({
        "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
            "HappyPath": {"Invoke": "MockedLambdaSuccess"},
            "RetryPath": {"Invoke": "MockedLambdaRetry"},
            "NotReady": {"Invoke": "LambdaMockedResourceNotReady"}}}},
        "MockedResponses": {
            "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"body": "Hello from Lambda!"}}}},
            "LambdaMockedResourceNotReady": {"0-3": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}},
            "MockedLambdaRetry": {
                "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
                "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
                "3": {"Return": {"StatusCode": 200, "Payload": {"body": "Hello from Lambda!"}}}}}
    })
}

#[tokio::test(start_paused = true)]
async fn given_a_mocked_success_when_run_then_the_task_records_scheduled_started_succeeded() {
    let (outcome, history) = run(
        &lambda_with_retry(),
        json!({"id": 1}),
        mocks(&aws_example(), "HappyPath"),
    )
    .await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(outcome.output, Some(json!({"body": "Hello from Lambda!"})));
    assert_eq!(
        types(&history)[1..],
        [
            EventType::TaskStateEntered,
            EventType::TaskScheduled,
            EventType::TaskStarted,
            EventType::TaskSucceeded,
            EventType::TaskStateExited,
            EventType::ExecutionSucceeded,
        ]
    );
    let scheduled = &details(&history, EventType::TaskScheduled)[0];
    assert_eq!(scheduled["resourceType"], "lambda");
    assert_eq!(scheduled["resource"], "invoke");
    assert_eq!(
        scheduled["parameters"],
        r#"{"FunctionName":"f","Payload":{"id":1}}"#
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_retry_path_when_run_then_each_retry_consumes_the_next_invocation() {
    let (outcome, history) = run(
        &lambda_with_retry(),
        json!({}),
        mocks(&aws_example(), "RetryPath"),
    )
    .await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(outcome.output, Some(json!({"body": "Hello from Lambda!"})));
    let failures: Vec<Value> = details(&history, EventType::TaskFailed)
        .iter()
        .map(|d| d["error"].clone())
        .collect();
    assert_eq!(
        failures,
        [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException"
        ]
    );
    assert_eq!(details(&history, EventType::TaskScheduled).len(), 4);
    assert_eq!(details(&history, EventType::TaskSucceeded).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn given_a_mocked_error_that_outlasts_the_retries_when_run_then_the_catch_receives_it() {
    let (outcome, history) = run(
        &lambda_with_retry(),
        json!({"id": 1}),
        mocks(&aws_example(), "NotReady"),
    )
    .await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"id": 1, "error": {
            "Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}))
    );
    assert_eq!(details(&history, EventType::TaskFailed).len(), 4);
}

#[tokio::test(start_paused = true)]
async fn given_more_invocations_than_mocked_when_run_then_the_execution_fails_naming_the_response()
{
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"Short": {"Invoke": "Once"}}}},
        "MockedResponses": {"Once": {"0": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "t"}}}}
    });

    let (outcome, _) = run(&lambda_with_retry(), json!({}), mocks(&config, "Short")).await;

    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    let cause = outcome.cause.unwrap_or_default();
    assert!(
        cause.contains("'Once'") && cause.contains("'Invoke'"),
        "{cause}"
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_mocked_activity_when_run_then_no_worker_is_needed_and_activity_events_are_recorded()
 {
    let definition = json!({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": ACTIVITY, "TimeoutSeconds": 60, "HeartbeatSeconds": 10,
                 "ResultPath": "$.media", "End": true}}});
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"Done": {"Work": "MediaDone"}}}},
        "MockedResponses": {"MediaDone": {"0": {"Return": {"seconds": 12}}}}
    });

    let (outcome, history) = run(&definition, json!({"id": "r1"}), mocks(&config, "Done")).await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"id": "r1", "media": {"seconds": 12}}))
    );
    assert_eq!(
        types(&history)[1..],
        [
            EventType::TaskStateEntered,
            EventType::ActivityScheduled,
            EventType::ActivityStarted,
            EventType::ActivitySucceeded,
            EventType::TaskStateExited,
            EventType::ExecutionSucceeded,
        ]
    );
    let scheduled = &details(&history, EventType::ActivityScheduled)[0];
    assert_eq!(scheduled["resource"], ACTIVITY);
    assert_eq!(scheduled["input"], r#"{"id":"r1"}"#);
    assert_eq!(scheduled["timeoutInSeconds"], 60);
    assert_eq!(scheduled["heartbeatInSeconds"], 10);
}

#[tokio::test(start_paused = true)]
async fn given_a_mocked_activity_failure_when_run_then_the_execution_fails_with_it() {
    let definition = json!({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": ACTIVITY, "End": true}}});
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"Broken": {"Work": "Corrupt"}}}},
        "MockedResponses": {"Corrupt": {"0": {"Throw": {"Error": "Media.Corrupt", "Cause": "bad header"}}}}
    });

    let (outcome, history) = run(&definition, json!({}), mocks(&config, "Broken")).await;

    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.error.as_deref(), Some("Media.Corrupt"));
    assert_eq!(outcome.cause.as_deref(), Some("bad header"));
    assert_eq!(
        details(&history, EventType::ActivityFailed),
        [json!({"error": "Media.Corrupt", "cause": "bad header"})]
    );
}

#[tokio::test(start_paused = true)]
async fn given_two_executions_when_run_then_each_counts_its_invocations_from_zero() {
    let engine = Engine::with_mocks(EngineConfig::default(), mocks(&aws_example(), "RetryPath"));
    let machine = engine
        .create_state_machine("mocked", &lambda_with_retry().to_string(), ROLE, None)
        .expect("valid definition");

    for name in ["first", "second"] {
        let execution = engine
            .start_execution(&machine.arn, Some(name), Some("{}"))
            .expect("started");
        let outcome = execution.wait().await;
        assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{name}");
        assert_eq!(
            details(&execution.history(), EventType::TaskScheduled).len(),
            4,
            "{name}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn given_a_mocked_state_in_a_sequential_map_when_run_then_iterations_consume_invocations_in_order()
 {
    let definition = json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
            "ItemProcessor": {"StartAt": "Invoke", "States": {
                "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"FunctionName": "f"}, "End": true}}}}}});
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"Counted": {"Invoke": "Counter"}}}},
        "MockedResponses": {"Counter": {
            "0": {"Return": "zero"}, "1-2": {"Return": "one or two"}}}
    });

    let (outcome, _) = run(&definition, json!([1, 2, 3]), mocks(&config, "Counted")).await;

    assert_eq!(
        outcome.output,
        Some(json!(["zero", "one or two", "one or two"]))
    );
}

#[tokio::test(start_paused = true)]
async fn given_states_the_test_case_does_not_mock_when_run_then_they_run_as_usual() {
    let definition = json!({"StartAt": "Invoke", "States": {
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "f"}, "Next": "Save"},
        "Save": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                 "Parameters": {"TableName": "t", "Item": {"id": {"S": "1"}}}, "End": true}}});
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"Hybrid": {"Invoke": "Ok"}}}},
        "MockedResponses": {"Ok": {"0": {"Return": {"Payload": 1}}}}
    });

    let tables = MemoryTables::new();
    tables.create_table("t", &["id"]);
    let engine_config = EngineConfig {
        resources: Resources {
            tables: Arc::new(tables),
            ..Resources::default()
        },
        ..EngineConfig::default()
    };

    let (outcome, history) = run_on(
        engine_config,
        &definition,
        json!({}),
        mocks(&config, "Hybrid"),
    )
    .await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    let succeeded = details(&history, EventType::TaskSucceeded);
    assert_eq!(succeeded.len(), 2);
    assert_eq!(succeeded[1]["resourceType"], "dynamodb");
}
