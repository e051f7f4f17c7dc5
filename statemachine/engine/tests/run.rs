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
async fn a_jsonata_definition_runs() {
    let outcome = run_to_completion(
        r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":{"n":"{% $states.input.n + 1 %}"},"End":true}}}"#,
        json!({"n": 1}),
        RunOptions::default(),
    )
    .await
    .expect("a valid JSONata definition");
    assert_eq!(outcome.status, ExecutionStatus::Succeeded);
    assert_eq!(outcome.output, Some(json!({"n": 2})));
}

#[tokio::test]
async fn a_jsonata_expression_that_does_not_parse_is_rejected_before_running() {
    let err = run_to_completion(
        r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input.( %}","End":true}}}"#,
        json!({}),
        RunOptions::default(),
    )
    .await
    .expect_err("the expression does not parse");
    assert!(matches!(err, RunError::Definition(_)), "{err:?}");
    assert!(err.to_string().contains("/States/P/Output"), "{err}");
}
