//! `run_to_completion`: what the `statemachine run` command calls.

use asl_engine::{ExecutionStatus, RunError, RunOptions, run_to_completion};
use serde_json::json;

const WAIT_A_DAY: &str = r#"{"StartAt":"W","States":{
  "W":{"Type":"Wait","Seconds":86400,"Next":"P"},
  "P":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)"},"End":true}}}"#;

#[tokio::test]
async fn a_day_long_wait_completes_on_virtual_time() {
    let outcome = run_to_completion(
        WAIT_A_DAY,
        json!({"n": 1}),
        RunOptions {
            virtual_time: true,
            ..RunOptions::default()
        },
    )
    .await
    .expect("valid definition");
    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(outcome.output, Some(json!({"n": 2})));
    assert_eq!(
        serde_json::to_value(&outcome).expect("serializable"),
        json!({"status": "SUCCEEDED", "output": {"n": 2}, "error": null, "cause": null})
    );
}

#[tokio::test]
async fn a_failing_execution_reports_its_error_and_cause() {
    let outcome = run_to_completion(
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"because"}}}"#,
        json!({}),
        RunOptions::default(),
    )
    .await
    .expect("valid definition");
    assert_eq!(outcome.status, ExecutionStatus::Failed);
    assert_eq!(outcome.error.as_deref(), Some("Boom"));
    assert_eq!(outcome.cause.as_deref(), Some("because"));
}

#[tokio::test]
async fn a_jsonata_definition_is_rejected_before_running() {
    let err = run_to_completion(
        r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        json!({}),
        RunOptions::default(),
    )
    .await
    .expect_err("JSONata is not supported");
    assert!(matches!(err, RunError::Definition(_)), "{err:?}");
    assert!(err.to_string().contains("JSONata"), "{err}");
}
