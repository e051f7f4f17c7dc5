//! Parses every JSONata expression (`{% … %}`) of the states that use JSONata, as Step
//! Functions does when a state machine is created, and reports each syntax error with the JSON
//! pointer of the field and the position inside the expression.

use serde_json::{Map, Value};

use super::{Diagnostic, DiagnosticCode, pointer_push};

/// Fields whose strings are never expressions.
const NOT_EXPRESSIONS: &[&str] = &[
    "Type",
    "Comment",
    "Next",
    "Default",
    "End",
    "StartAt",
    "Resource",
    "QueryLanguage",
    "States",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ErrorEquals",
];

/// The expression inside `{% … %}` (no trimming outside the braces, as the service).
fn expression(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

/// Diagnostics for every JSONata expression of `definition` that does not parse.
pub(super) fn check(definition: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let jsonata_machine =
        definition.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata");
    scope_states(definition, "", jsonata_machine, &mut out);
    out
}

fn scope_states(scope: &Value, pointer: &str, jsonata_machine: bool, out: &mut Vec<Diagnostic>) {
    let Some(Value::Object(states)) = scope.get("States") else {
        return;
    };
    for (name, state) in states {
        let state_pointer = pointer_push(&pointer_push(pointer, "States"), name);
        let Value::Object(fields) = state else {
            continue;
        };
        let jsonata = match fields.get("QueryLanguage").and_then(Value::as_str) {
            Some(language) => language == "JSONata",
            None => jsonata_machine,
        };
        if jsonata {
            fields_of(fields, &state_pointer, out);
        }
        for nested in ["ItemProcessor", "Iterator"] {
            if let Some(processor) = fields.get(nested) {
                scope_states(
                    processor,
                    &pointer_push(&state_pointer, nested),
                    jsonata_machine,
                    out,
                );
            }
        }
        if let Some(Value::Array(branches)) = fields.get("Branches") {
            for (index, branch) in branches.iter().enumerate() {
                let branch_pointer = pointer_push(
                    &pointer_push(&state_pointer, "Branches"),
                    &index.to_string(),
                );
                scope_states(branch, &branch_pointer, jsonata_machine, out);
            }
        }
    }
}

fn fields_of(fields: &Map<String, Value>, pointer: &str, out: &mut Vec<Diagnostic>) {
    for (key, value) in fields {
        if NOT_EXPRESSIONS.contains(&key.as_str()) {
            continue;
        }
        values(value, &pointer_push(pointer, key), out);
    }
}

fn values(value: &Value, pointer: &str, out: &mut Vec<Diagnostic>) {
    match value {
        Value::String(text) => {
            if let Some(source) = expression(text)
                && let Err(error) = jsonata::Expression::parse(source)
            {
                let at = error
                    .position
                    .map(|p| format!(" at character {p}"))
                    .unwrap_or_default();
                out.push(Diagnostic {
                    code: DiagnosticCode::InvalidJsonata,
                    pointer: pointer.to_owned(),
                    message: format!(
                        "the JSONata expression '{}' does not parse{at}: {}: {}",
                        source.trim(),
                        error.code,
                        error.message
                    ),
                });
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                values(item, &pointer_push(pointer, &index.to_string()), out);
            }
        }
        Value::Object(map) => {
            // Retry and Catch entries, Choice rules, ItemReader/ItemBatcher configurations:
            // their own fields again, skipping the non-expression ones.
            fields_of(map, pointer, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_a_jsonata_state_with_a_broken_expression_when_checked_then_its_pointer_is_reported() {
        let definition = json!({
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": {"a": "{% $states.input.( %}", "ok": "{% 1 + 2 %}"}, "End": true}}
        });
        let diagnostics = check(&definition);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(diagnostics[0].pointer, "/States/P/Output/a");
        assert_eq!(diagnostics[0].code, DiagnosticCode::InvalidJsonata);
    }

    #[test]
    fn given_choice_conditions_in_a_map_when_checked_then_nested_states_are_parsed_too() {
        let definition = json!({
            "StartAt": "M",
            "States": {"M": {"Type": "Map", "QueryLanguage": "JSONata", "End": true,
                "ItemProcessor": {"StartAt": "C", "States": {"C": {"Type": "Choice", "QueryLanguage": "JSONata",
                    "Choices": [{"Condition": "{% $states.input > %}", "Next": "D"}], "Default": "D"},
                    "D": {"Type": "Succeed"}}}}}
        });
        let diagnostics = check(&definition);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(
            diagnostics[0].pointer,
            "/States/M/ItemProcessor/States/C/Choices/0/Condition"
        );
    }

    #[test]
    fn given_a_jsonpath_state_when_checked_then_percent_braces_are_not_parsed() {
        let definition = json!({
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Result": {"a": "{% ( %}"}, "End": true}}
        });
        assert!(check(&definition).is_empty());
    }
}
