//! `ValidateStateMachineDefinition`: the `asl` validator's diagnostics in AWS's response shape
//! (`{"result": "OK"|"FAIL", "diagnostics": [{"severity", "code", "message", "location"}],
//! "truncated"}`), with our diagnostic codes mapped onto AWS's (`SCHEMA_VALIDATION_FAILED`,
//! `MISSING_TRANSITION_TARGET`, ...); our message and JSON pointer are kept. An invalid
//! definition is a `FAIL` result, not an API error, as on AWS.

use asl::validate::{Diagnostic, DiagnosticCode, validate_text};
use serde_json::{Value, json};

use super::actions::{optional, required};
use crate::error::ApiError;

/// AWS limit: `definition` is 1 to 1048576 characters long (ValidateStateMachineDefinition
/// request, length constraints).
const MAX_DEFINITION_CHARS: usize = 1_048_576;
/// AWS limit: `maxResults` is at most 100, and 100 is also the default (0 or absent).
const MAX_DIAGNOSTICS: u64 = 100;

/// The AWS diagnostic code of one of ours. AWS documents `SCHEMA_VALIDATION_FAILED` for any
/// schema error, and codes of their own for the graph rules, resources and names.
pub(crate) fn aws_code(code: DiagnosticCode) -> &'static str {
    match code {
        DiagnosticCode::DuplicateStateName => "DUPLICATE_STATE_NAME",
        DiagnosticCode::MissingTransitionTarget | DiagnosticCode::TransitionOutOfScope => {
            "MISSING_TRANSITION_TARGET"
        }
        DiagnosticCode::UnreachableState => "UNREACHABLE_STATE",
        DiagnosticCode::MissingTerminalState => "MISSING_END_STATE",
        DiagnosticCode::StateNameTooLong | DiagnosticCode::InvalidStateName => "INVALID_STATE_NAME",
        DiagnosticCode::InvalidResource => "INVALID_RESOURCE",
        DiagnosticCode::InvalidLabel => "INVALID_LABEL_NAME",
        _ => "SCHEMA_VALIDATION_FAILED",
    }
}

fn error(code: &str, message: impl Into<String>, location: Option<String>) -> Value {
    let mut diagnostic = json!({"severity": "ERROR", "code": code, "message": message.into()});
    if let (Some(location), Value::Object(map)) = (location, &mut diagnostic) {
        map.insert("location".into(), json!(location));
    }
    diagnostic
}

fn from_diagnostic(d: &Diagnostic) -> Value {
    let location = if d.pointer.is_empty() {
        "/".to_owned()
    } else {
        d.pointer.clone()
    };
    error(aws_code(d.code), &d.message, Some(location))
}

/// Task resources an EXPRESS machine cannot use: AWS refuses `.sync` and `.waitForTaskToken`
/// integrations there ("Express state machine does not support '.waitForTaskToken' service
/// integration", recorded from AWS).
fn express_diagnostics(states: &Value, at: &str, found: &mut Vec<Value>) {
    let Some(states) = states.as_object() else {
        return;
    };
    for (name, state) in states {
        let here = asl::validate::pointer_push(at, name);
        if let Some(resource) = state.get("Resource").and_then(Value::as_str) {
            let pattern = [".waitForTaskToken", ".sync:2", ".sync"]
                .into_iter()
                .find(|suffix| resource.ends_with(suffix));
            if let Some(pattern) = pattern {
                found.push(error(
                    "SCHEMA_VALIDATION_FAILED",
                    format!(
                        "Express state machine does not support '{pattern}' service integration "
                    ),
                    Some(format!("{here}/Resource")),
                ));
            }
        }
        if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
            for (index, branch) in branches.iter().enumerate() {
                let branch_at = format!("{here}/Branches/{index}/States");
                express_diagnostics(&branch["States"], &branch_at, found);
            }
        }
        for processor in ["ItemProcessor", "Iterator"] {
            if let Some(nested) = state.get(processor) {
                let nested_at = format!("{here}/{processor}/States");
                express_diagnostics(&nested["States"], &nested_at, found);
            }
        }
    }
}

/// Every diagnostic of `definition` for a machine of `machine_type`, most important first.
pub(crate) fn diagnostics(definition: &str, machine_type: &str) -> Vec<Value> {
    let value: Value = match serde_json::from_str(definition) {
        Ok(value) => value,
        Err(_) if definition.trim().is_empty() => {
            return vec![error(
                "SCHEMA_VALIDATION_FAILED",
                "Definition must be a valid JSON object",
                None,
            )];
        }
        Err(e) => {
            return vec![error(
                "INVALID_JSON_DESCRIPTION",
                e.to_string(),
                Some(format!("[line: {}, column: {}]", e.line(), e.column())),
            )];
        }
    };
    if !value.is_object() {
        return vec![error(
            "SCHEMA_VALIDATION_FAILED",
            "Definition must be a valid JSON object",
            None,
        )];
    }
    let mut found: Vec<Value> = match validate_text(definition, "definition") {
        Ok(diagnostics) => diagnostics.iter().map(from_diagnostic).collect(),
        Err(e) => vec![error("INVALID_JSON_DESCRIPTION", e.to_string(), None)],
    };
    if machine_type == "EXPRESS" {
        express_diagnostics(&value["States"], "/States", &mut found);
    }
    found
}

/// `maxResults`: 0 to 100, 0 or absent meaning 100.
fn max_results(request: &Value) -> Result<usize, ApiError> {
    super::actions::max_results(request, MAX_DIAGNOSTICS, MAX_DIAGNOSTICS)
}

fn enum_member<'a>(
    request: &'a Value,
    field: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match optional(request, field)? {
        Some(value) if !allowed.contains(&value) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

/// The `ValidateStateMachineDefinition` action.
pub(crate) fn validate_state_machine_definition(request: &Value) -> Result<Value, ApiError> {
    let definition = required(request, "definition")?;
    let length = definition.chars().count();
    if length == 0 || length > MAX_DEFINITION_CHARS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length between 1 and {MAX_DEFINITION_CHARS}"
        )));
    }
    let machine_type =
        enum_member(request, "type", &["STANDARD", "EXPRESS"])?.unwrap_or("STANDARD");
    // Every diagnostic this validator reports is an ERROR, which both severities return.
    enum_member(request, "severity", &["ERROR", "WARNING"])?;
    let limit = max_results(request)?;
    let mut found = diagnostics(definition, machine_type);
    let result = if found.is_empty() { "OK" } else { "FAIL" };
    let truncated = found.len() > limit;
    found.truncate(limit);
    Ok(json!({"result": result, "diagnostics": found, "truncated": truncated}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(request: Value) -> Value {
        validate_state_machine_definition(&request).expect("a response, not an error")
    }

    fn codes(response: &Value) -> Vec<&str> {
        response["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| d["code"].as_str().expect("code"))
            .collect()
    }

    const VALID: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;

    #[test]
    fn given_a_valid_definition_when_validated_then_the_result_is_ok_without_diagnostics() {
        assert_eq!(
            validate(json!({"definition": VALID})),
            json!({"result": "OK", "diagnostics": [], "truncated": false})
        );
    }

    #[test]
    fn given_text_that_is_not_json_when_validated_then_it_is_an_invalid_json_description() {
        let response = validate(json!({"definition": "not a definition"}));

        assert_eq!(response["result"], "FAIL");
        assert_eq!(codes(&response), ["INVALID_JSON_DESCRIPTION"]);
        assert!(response["diagnostics"][0]["location"].is_string());
    }

    #[test]
    fn given_blank_text_or_a_non_object_when_validated_then_it_must_be_a_json_object() {
        for definition in [" ", "[]", "5"] {
            let response = validate(json!({"definition": definition}));
            assert_eq!(
                response["diagnostics"],
                json!([{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                        "message": "Definition must be a valid JSON object"}]),
                "{definition:?}"
            );
        }
    }

    #[test]
    fn given_graph_errors_when_validated_then_aws_codes_and_our_pointers_are_reported() {
        let definition = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "Ghost"},
            "B": {"Type": "Pass", "End": true}}});

        let response = validate(json!({"definition": definition.to_string()}));

        assert_eq!(response["result"], "FAIL");
        let diagnostics = response["diagnostics"].as_array().expect("diagnostics");
        assert!(
            diagnostics
                .iter()
                .any(|d| d["code"] == "MISSING_TRANSITION_TARGET"
                    && d["location"] == "/States/A/Next")
        );
        assert!(
            diagnostics
                .iter()
                .any(|d| d["code"] == "UNREACHABLE_STATE" && d["location"] == "/States/B")
        );
        assert!(diagnostics.iter().all(|d| d["severity"] == "ERROR"));
    }

    #[test]
    fn given_an_empty_object_when_validated_then_it_fails_schema_validation_at_the_root() {
        let response = validate(json!({"definition": "{}"}));

        assert_eq!(response["result"], "FAIL");
        assert!(codes(&response).contains(&"SCHEMA_VALIDATION_FAILED"));
        assert!(
            response["diagnostics"]
                .as_array()
                .expect("diagnostics")
                .iter()
                .any(|d| d["location"] == "/")
        );
    }

    #[test]
    fn given_a_callback_task_when_validated_as_express_then_only_express_refuses_it() {
        let definition = json!({"StartAt": "Send", "States": {"Send": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}})
        .to_string();

        let standard = validate(json!({"definition": definition, "type": "STANDARD"}));
        let express = validate(json!({"definition": definition, "type": "EXPRESS"}));

        assert_eq!(standard["result"], "OK");
        assert_eq!(
            express["diagnostics"],
            json!([{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                    "message": "Express state machine does not support '.waitForTaskToken' service integration ",
                    "location": "/States/Send/Resource"}])
        );
    }

    #[test]
    fn given_more_diagnostics_than_max_results_when_validated_then_the_list_is_truncated() {
        let definition = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "X"}, "B": {"Type": "Pass", "Next": "Y"},
            "C": {"Type": "Pass", "Next": "Z"}}})
        .to_string();

        let response = validate(json!({"definition": definition, "maxResults": 1}));

        assert_eq!(response["diagnostics"].as_array().map(Vec::len), Some(1));
        assert_eq!(response["truncated"], true);
        assert_eq!(response["result"], "FAIL");
    }

    #[test]
    fn given_bad_members_when_validated_then_they_are_validation_errors() {
        for request in [
            json!({}),
            json!({"definition": ""}),
            json!({"definition": VALID, "type": "FAST"}),
            json!({"definition": VALID, "severity": "INFO"}),
            json!({"definition": VALID, "maxResults": 101}),
            json!({"definition": VALID, "maxResults": -1}),
        ] {
            let error = validate_state_machine_definition(&request).expect_err("refused");
            assert_eq!(error.code, "ValidationException", "{request}");
        }
        let error =
            validate_state_machine_definition(&json!({"definition": VALID, "maxResults": "5"}))
                .expect_err("refused");
        assert_eq!(error.code, "SerializationException");
    }

    #[test]
    fn given_each_of_our_codes_when_mapped_then_it_is_one_aws_documents() {
        const AWS: [&str; 7] = [
            "SCHEMA_VALIDATION_FAILED",
            "DUPLICATE_STATE_NAME",
            "MISSING_TRANSITION_TARGET",
            "UNREACHABLE_STATE",
            "MISSING_END_STATE",
            "INVALID_STATE_NAME",
            "INVALID_RESOURCE",
        ];
        for code in DiagnosticCode::ALL {
            let mapped = aws_code(code);
            assert!(
                AWS.contains(&mapped) || mapped == "INVALID_LABEL_NAME",
                "{code} → {mapped}"
            );
        }
    }
}
