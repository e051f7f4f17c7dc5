//! Every `WorkflowStarter` adapter passes the same contract: the local engine's in-process
//! starter, and the Step Functions adapter (aws-sdk-sfn) against the engine's HTTP API.

use std::time::Duration;

use asl_engine::{Engine, EngineConfig, LocalWorkflowStarter, start_server};
use recorder_aws::SfnWorkflowStarter;
use recorder_testkit::contract::workflow_starter as contract;

/// Executions stay open for an hour, so repeated starts meet a running execution.
const DEFINITION: &str =
    r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#;

fn engine_with_machine() -> (Engine, String) {
    let engine = Engine::new(EngineConfig::default());
    let machine = engine
        .create_state_machine(
            "processing",
            DEFINITION,
            "arn:aws:iam::123456789012:role/test",
            None,
        )
        .expect("machine created");
    (engine, machine.arn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_local_engine_starter_passes_the_workflow_starter_contract() {
    let (engine, arn) = engine_with_machine();
    contract::run_all(move || LocalWorkflowStarter::new(engine.clone(), arn.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_step_functions_adapter_passes_the_contract_through_the_api() {
    let (engine, arn) = engine_with_machine();
    let (addr, server) = start_server(engine, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("http://{addr}"))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    // AWS answers a repeated identical start with the original ARN and start date; the adapter
    // tells "already running" from the start date, so here (one clock) no tolerance is needed.
    let starter = SfnWorkflowStarter::new(aws_sdk_sfn::Client::new(&config), arn)
        .with_skew_tolerance(Duration::ZERO);
    contract::a_repeated_start_with_the_same_input_is_already_running(&starter).await;
    contract::the_same_name_with_other_input_is_a_conflict(&starter).await;
    // Concurrent identical starts cannot be told apart through the AWS API (each racer gets the
    // same ARN and start date); the adapter's callers treat both outcomes alike, so the racing
    // case of the contract applies to the in-process starters only.
    server.shutdown().await;
}
