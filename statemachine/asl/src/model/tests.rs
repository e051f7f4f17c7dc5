//! Round-trip and strictness tests of the document model.

use super::*;
use serde_json::json;

fn round_trip(value: serde_json::Value) {
    let machine = StateMachine::from_value(value.clone()).expect("parses");
    assert_eq!(machine.to_value(), value, "re-emitted document differs");
}

#[test]
fn a_document_using_every_state_type_round_trips_without_loss() {
    round_trip(json!({
        "Comment": "all types",
        "StartAt": "P",
        "TimeoutSeconds": 300,
        "Version": "1.0",
        "States": {
            "P": {"Type": "Pass", "Result": {"a": 1.5}, "ResultPath": "$.r", "Next": "T"},
            "T": {
                "Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:x",
                "InputPath": null, "Parameters": {"k.$": "States.Format('{}', $.a)"},
                "ResultSelector": {"v.$": "$.v"}, "ResultPath": null, "OutputPath": "$",
                "TimeoutSeconds": 60, "HeartbeatSeconds": 10,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 2,
                           "BackoffRate": 2.0, "MaxDelaySeconds": 5, "JitterStrategy": "FULL"}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "F"}],
                "Next": "C"
            },
            "C": {"Type": "Choice", "Choices": [
                    {"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.m", "Next": "W"},
                    {"And": [{"Variable": "$.s", "StringMatches": "a*"}, {"Not": {"Variable": "$.b", "IsNull": true}}], "Next": "W"},
                    {"Or": [{"Variable": "$.t", "TimestampLessThan": "2026-01-01T00:00:00Z"}], "Next": "M"}
                 ], "Default": "S"},
            "W": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ToleratedFailurePercentage": 10,
                  "ItemSelector": {"i.$": "$$.Map.Item.Value"},
                  "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "X",
                                     "States": {"X": {"Type": "Pass", "End": true}}},
                  "Next": "Par"},
            "Par": {"Type": "Parallel", "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}],
                    "Next": "S"},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "ErrorPath": "$.err.Error", "CausePath": "$.err.Cause"}
        }
    }));
}

#[test]
fn jsonata_fields_round_trip() {
    round_trip(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                  "Output": "{% $states.result.Payload %}",
                  "Assign": {"x": null, "y": [1, null]},
                  "TimeoutSeconds": "{% $timeout %}",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Output": {"e": "{% $states.errorOutput %}"}, "Next": "C"}],
                  "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% $x = 1 %}", "Next": "W", "Assign": {"z": 1}}], "Default": "W"},
            "W": {"Type": "Wait", "Seconds": "{% 1 + 1 %}", "Next": "M"},
            "M": {"Type": "Map", "Items": "{% [1,2,3] %}", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                  "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}, "Arguments": {"Bucket": "b", "Key": "k"}},
                  "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"a": 1}},
                  "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Arguments": {"Bucket": "b", "Prefix": "p"}},
                  "Label": "L", "ToleratedFailureCount": 1,
                  "End": true}
        }
    }));
}

#[test]
fn unknown_fields_are_rejected_everywhere() {
    let bad_top = json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": 1});
    let bad_state = json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "A"}}});
    let bad_rule = json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [
        {"Variable": "$.a", "StringEqualz": "x", "Next": "A"}]}}});
    let bad_retry = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true,
        "Retry": [{"ErrorEquals": ["x"], "Foo": 1}]}}});
    let bad_type = json!({"StartAt": "A", "States": {"A": {"Type": "Sleep"}}});
    for doc in [bad_top, bad_state, bad_rule, bad_retry, bad_type] {
        assert!(
            StateMachine::from_value(doc.clone()).is_err(),
            "accepted {doc}"
        );
    }
}

#[test]
fn numbers_keep_their_written_form() {
    let doc = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true,
        "Retry": [{"ErrorEquals": ["x"], "MaxAttempts": 1.5, "BackoffRate": 2}]}}});
    let machine = StateMachine::from_value(doc).unwrap();
    let State::Task(task) = &machine.states["T"] else {
        panic!("task expected")
    };
    let retrier = &task.retry.as_ref().unwrap()[0];
    assert!(retrier.max_attempts.as_ref().unwrap().is_f64());
    assert!(retrier.backoff_rate.as_ref().unwrap().is_u64());
}

#[test]
fn null_and_absent_paths_are_distinguished() {
    let machine = StateMachine::from_value(json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "ResultPath": null, "Next": "Q"},
        "Q": {"Type": "Pass", "End": true}}}))
    .unwrap();
    let State::Pass(p) = &machine.states["P"] else {
        panic!()
    };
    let State::Pass(q) = &machine.states["Q"] else {
        panic!()
    };
    assert_eq!(p.result_path, Some(None));
    assert_eq!(q.result_path, None);
}

#[test]
fn invalid_but_representable_shapes_parse_for_the_validator() {
    let machine = StateMachine::from_value(json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": true, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "P"}]}}})).unwrap();
    assert_eq!(machine.states["P"].next(), Some("C"));
    let State::Choice(c) = &machine.states["C"] else {
        panic!()
    };
    assert_eq!(c.choices[0].comparisons.len(), 2);
}

#[test]
fn explicit_nulls_are_kept_where_meaningful_and_rejected_where_not() {
    round_trip(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": null, "Assign": {"a": null}, "End": true}}}),
    );
    for doc in [
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Comment": null, "End": true}}}),
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": null}}}),
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "r", "End": true, "TimeoutSeconds": null}}}),
    ] {
        assert!(
            StateMachine::from_value(doc.clone()).is_err(),
            "accepted {doc}"
        );
    }
}
