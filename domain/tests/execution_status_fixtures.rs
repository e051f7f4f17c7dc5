//! Real "Step Functions Execution Status Change" events (AWS's documented examples) read into
//! [`ExecutionStatusChange`] and written back.

use meeting_domain::execution_status::{DETAIL_TYPE, EVENT_SOURCE, ExecutionDataDetails};
use meeting_domain::{ExecutionStatus, ExecutionStatusChange};
use serde_json::Value;

fn event(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

#[test]
fn given_aws_timed_out_event_when_read_and_written_then_the_detail_is_unchanged() {
    let event = event("step_functions_execution_status_change_timed_out.json");
    assert_eq!(event["source"], EVENT_SOURCE);
    assert_eq!(event["detail-type"], DETAIL_TYPE);

    let change: ExecutionStatusChange =
        serde_json::from_value(event["detail"].clone()).expect("the detail parses");

    assert_eq!(change.status, ExecutionStatus::TimedOut);
    assert_eq!(change.name, "execution-name");
    assert_eq!(change.start_date, 1_551_224_926_156);
    assert_eq!(change.stop_date, Some(1_551_224_927_157));
    assert_eq!(change.input.as_deref(), Some("{}"));
    assert_eq!(
        change.input_details,
        Some(ExecutionDataDetails { included: true })
    );
    assert_eq!(
        (change.error.as_deref(), change.cause.as_deref()),
        (None, None)
    );
    assert_eq!(serde_json::to_value(&change).unwrap(), event["detail"]);
}

#[test]
fn given_aws_failed_event_when_read_then_error_and_cause_are_kept_and_it_round_trips() {
    let event = event("step_functions_execution_status_change_failed.json");

    let change: ExecutionStatusChange =
        serde_json::from_value(event["detail"].clone()).expect("the detail parses");

    assert_eq!(change.status, ExecutionStatus::Failed);
    assert_eq!(change.error.as_deref(), Some("States.Runtime"));
    assert!(
        change
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("'Choose'")
    );
    assert_eq!(change.output, None);
    let again: ExecutionStatusChange =
        serde_json::from_value(serde_json::to_value(&change).unwrap()).unwrap();
    assert_eq!(again, change);
}

#[test]
fn given_a_field_aws_added_later_when_read_then_it_is_ignored() {
    let mut detail =
        event("step_functions_execution_status_change_timed_out.json")["detail"].clone();
    detail["redriveCount"] = Value::from(0);
    let change: ExecutionStatusChange = serde_json::from_value(detail).expect("still parses");
    assert_eq!(change.status, ExecutionStatus::TimedOut);
}
