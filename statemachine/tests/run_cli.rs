//! `statemachine run --definition FILE --input FILE [--virtual-time] [--mocks FILE --test-case
//! NAME [--state-machine NAME]]` prints exactly one JSON object with status, output, error and
//! cause.

use std::process::Command;

use serde_json::{Value, json};

fn run(definition: &Value, input: &Value, virtual_time: bool) -> (Value, i32) {
    let dir = tempfile_dir();
    let def_path = dir.join("definition.json");
    let input_path = dir.join("input.json");
    std::fs::write(&def_path, definition.to_string()).unwrap();
    std::fs::write(&input_path, input.to_string()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_statemachine"));
    command
        .args(["run", "--definition"])
        .arg(&def_path)
        .arg("--input")
        .arg(&input_path);
    if virtual_time {
        command.arg("--virtual-time");
    }
    let output = command.output().expect("the binary runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "exactly one line: {stdout}");
    (
        serde_json::from_str(&stdout).expect("one JSON object"),
        output.status.code().unwrap_or(-1),
    )
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "statemachine-run-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn a_successful_run_prints_its_output_and_exits_zero() {
    let definition = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 86400, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, 2)"}, "End": true}}});
    let (result, code) = run(&definition, &json!({"a": 40}), true);
    assert_eq!(
        result,
        json!({"status": "SUCCEEDED", "output": {"sum": 42}, "error": null, "cause": null})
    );
    assert_eq!(code, 0);
}

#[test]
fn a_failed_run_prints_error_and_cause_and_exits_one() {
    let definition = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Custom.Bad", "Cause": "why"}}});
    let (result, code) = run(&definition, &json!({}), false);
    assert_eq!(
        result,
        json!({"status": "FAILED", "output": null, "error": "Custom.Bad", "cause": "why"})
    );
    assert_eq!(code, 1);
}

#[test]
fn an_invalid_definition_is_reported_as_one_json_object_with_exit_two() {
    let (result, code) = run(
        &json!({"StartAt": "Missing", "States": {}}),
        &json!({}),
        false,
    );
    assert_eq!(result["status"], "INVALID");
    assert_eq!(result["error"], "InvalidDefinition");
    assert_eq!(code, 2);
}

fn run_with_mocks(definition: &Value, mocks: &Value, extra: &[&str]) -> (Value, i32) {
    let dir = tempfile_dir();
    let def_path = dir.join("definition.json");
    let input_path = dir.join("input.json");
    let mocks_path = dir.join("mocks.json");
    std::fs::write(&def_path, definition.to_string()).unwrap();
    std::fs::write(&input_path, "{}").unwrap();
    std::fs::write(&mocks_path, mocks.to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_statemachine"))
        .args(["run", "--virtual-time", "--definition"])
        .arg(&def_path)
        .arg("--input")
        .arg(&input_path)
        .arg("--mocks")
        .arg(&mocks_path)
        .args(extra)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "exactly one line: {stdout}");
    (
        serde_json::from_str(&stdout).expect("one JSON object"),
        output.status.code().unwrap_or(-1),
    )
}

fn mocked_machine() -> Value {
    json!({"StartAt": "Invoke", "States": {
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f"}, "ResultSelector": {"body.$": "$.Payload.body"},
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 2}],
            "Next": "Work"},
        "Work": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:media",
            "ResultPath": "$.work", "End": true}}})
}

fn mock_file() -> Value {
    json!({
        "StateMachines": {"Pipeline": {"TestCases": {
            "RetryThenSucceed": {"Invoke": "ThrottledOnce", "Work": "MediaDone"}}}},
        "MockedResponses": {
            "ThrottledOnce": {
                "0": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
                "1": {"Return": {"Payload": {"body": "hello"}}}},
            "MediaDone": {"0": {"Return": {"seconds": 12}}}}
    })
}

#[test]
fn given_a_mock_file_and_test_case_when_run_then_the_mocked_task_and_activity_results_are_used() {
    let (result, code) = run_with_mocks(
        &mocked_machine(),
        &mock_file(),
        &["--test-case", "RetryThenSucceed"],
    );

    assert_eq!(
        result,
        json!({"status": "SUCCEEDED", "output": {"body": "hello", "work": {"seconds": 12}}, "error": null, "cause": null})
    );
    assert_eq!(code, 0);
}

#[test]
fn given_an_unknown_test_case_when_run_then_it_is_reported_as_invalid_with_exit_two() {
    let (result, code) = run_with_mocks(
        &mocked_machine(),
        &mock_file(),
        &["--test-case", "Missing", "--state-machine", "Pipeline"],
    );

    assert_eq!(result["status"], "INVALID");
    assert_eq!(result["error"], "InvalidMockConfiguration");
    assert!(
        result["cause"]
            .as_str()
            .unwrap()
            .contains("RetryThenSucceed"),
        "{result}"
    );
    assert_eq!(code, 2);
}

#[test]
fn given_a_malformed_mock_file_when_run_then_the_offending_key_is_named() {
    let mut mocks = mock_file();
    mocks["MockedResponses"]["MediaDone"]["0"] = json!({"Retrun": {}});

    let (result, code) = run_with_mocks(
        &mocked_machine(),
        &mocks,
        &["--test-case", "RetryThenSucceed"],
    );

    assert_eq!(result["error"], "InvalidMockConfiguration");
    assert!(
        result["cause"]
            .as_str()
            .unwrap()
            .contains("/MockedResponses/MediaDone/0/Retrun"),
        "{result}"
    );
    assert_eq!(code, 2);
}

#[test]
fn given_an_objects_folder_when_a_map_reads_a_csv_then_its_rows_are_the_items() {
    let dir = tempfile_dir();
    let objects = dir.join("objects");
    std::fs::create_dir_all(objects.join("reports")).unwrap();
    std::fs::write(objects.join("reports/q1.csv"), "region,total\neu,3\nus,5\n").unwrap();
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket": "reports", "Key": "q1.csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let def_path = dir.join("definition.json");
    let input_path = dir.join("input.json");
    std::fs::write(&def_path, definition.to_string()).unwrap();
    std::fs::write(&input_path, "{}").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_statemachine"))
        .args(["run", "--definition"])
        .arg(&def_path)
        .arg("--input")
        .arg(&input_path)
        .arg("--objects")
        .arg(&objects)
        .output()
        .expect("the binary runs");
    let outcome: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(outcome["status"], "SUCCEEDED", "{outcome}");
    assert_eq!(
        outcome["output"],
        json!([{"region": "eu", "total": "3"}, {"region": "us", "total": "5"}])
    );
}
