//! A service task whose result exceeds the 256 KiB payload quota fails with
//! `States.DataLimitExceeded`, which a `States.ALL` catcher catches (as AWS recorded it).

use std::collections::HashMap;
use std::sync::Arc;

use asl_engine::{Engine, EngineConfig, ExecutionStatus, Resources, StatesError, TaskHandler};
use async_trait::async_trait;
use serde_json::{Value, json};

/// A function that answers with 300,000 bytes.
struct Verbose;

#[async_trait]
impl TaskHandler for Verbose {
    async fn invoke(&self, _resource: &str, _input: Value) -> Result<Value, StatesError> {
        Ok(json!({"text": "x".repeat(300_000)}))
    }
}

#[tokio::test]
async fn given_a_task_result_over_the_quota_when_caught_by_states_all_then_the_fallback_runs() {
    let resource = "arn:aws:states:::lambda:invoke";
    let mut handlers: HashMap<String, Arc<dyn TaskHandler>> = HashMap::new();
    handlers.insert(resource.into(), Arc::new(Verbose));
    let engine = Engine::new(EngineConfig {
        resources: Resources {
            handlers,
            ..Resources::default()
        },
        ..EngineConfig::default()
    });
    let definition = json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": resource,
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}], "End": true},
        "Fallback": {"Type": "Pass", "End": true}}});
    let machine = engine
        .create_state_machine(
            "big",
            &definition.to_string(),
            "arn:aws:iam::123456789012:role/r",
            None,
        )
        .expect("valid");
    let execution = engine
        .start_execution(&machine.arn, None, Some("{}"))
        .expect("started");
    let outcome = engine.wait(&execution.arn).await.expect("finishes");
    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"Error": "States.DataLimitExceeded",
            "Cause": "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."}))
    );
}
