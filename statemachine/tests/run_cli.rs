//! `statemachine run --definition FILE --input FILE [--virtual-time]` prints exactly one JSON
//! object with status, output, error and cause.

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
