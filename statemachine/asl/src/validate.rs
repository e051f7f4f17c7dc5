//! The validator: what AWS Step Functions would reject when a state machine is created,
//! reported as [`Diagnostic`]s with a JSON pointer into the definition.
//!
//! The checks run on the JSON form of the definition (the model re-emits losslessly, see
//! [`StateMachine::to_value`]) so that the raw numbers are visible (a fractional
//! `MaxAttempts` is an error even if it would round) and so that a document the model cannot
//! parse still gets graph and path diagnostics from [`validate_value`].
//!
//! Entry points: [`validate`] (a parsed [`StateMachine`]), [`validate_value`] (any JSON),
//! [`validate_text`] / [`validate_file`] (text: also reports keys repeated in one JSON object,
//! which parsing would silently drop, and turns a model parse error into a
//! [`DiagnosticCode::Structure`] diagnostic).
//!
//! Rules follow the Amazon States Language specification and the AWS Step Functions
//! developer guide; the limits cited next to each constant are AWS's. Every rule is written
//! to never reject a machine AWS accepts: when the documentation is ambiguous the validator
//! accepts (for example, an unreachable loop *inside* a machine that has a terminal state is
//! allowed, as AWS only reports `MISSING_END_STATE` when no terminal state exists at all).

mod checks;
mod duplicates;
mod graph;
mod jsonata;

use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::model::StateMachine;

/// AWS limit: "State names ... must be 80 characters or less" (ASL specification, States).
pub const MAX_STATE_NAME_CHARS: usize = 80;

/// AWS limit: a Map state's `Label` "can be up to 40 characters long" (Distributed Map
/// state fields).
pub const MAX_LABEL_CHARS: usize = 40;

/// A stable name for each rule. The kebab-case names ([`DiagnosticCode::as_str`]) are part of
/// the interface: tests and tools match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiagnosticCode {
    /// The document does not have the shape of a state machine (missing required field,
    /// unknown field, wrong JSON type, unknown state type or query language).
    Structure,
    /// Two states share a name anywhere in the machine (branches and processors included).
    DuplicateStateName,
    /// `StartAt`, `Next`, `Default` or a Catch `Next` names no state of its scope.
    MissingTransitionTarget,
    /// A transition names a state that exists, but in another scope (out of a Parallel
    /// branch or Map processor, or into one).
    TransitionOutOfScope,
    /// No transition leads to the state from `StartAt` (disconnected cycles included).
    UnreachableState,
    /// No terminal state (`Succeed`, `Fail`, `End: true`) can be reached from `StartAt`.
    MissingTerminalState,
    /// A state name is longer than [`MAX_STATE_NAME_CHARS`].
    StateNameTooLong,
    /// A state has both `End: true` and `Next`.
    EndWithNext,
    /// A state that must transition has neither `Next` nor `End: true`.
    MissingNextOrEnd,
    /// A Choice state has no `Choices`, or an empty array.
    ChoiceWithoutChoices,
    /// A Choice rule has no comparison operator, several, or mixes them with And/Or/Not.
    ChoiceRuleOperator,
    /// A JSONPath comparison rule has no `Variable`.
    ChoiceRuleMissingVariable,
    /// A top-level Choice rule has no `Next`.
    ChoiceRuleMissingNext,
    /// A nested Choice rule (inside And/Or/Not) has a `Next`.
    ChoiceRuleNestedNext,
    /// A comparison operand has the wrong type (e.g. a string for `NumericEquals`).
    ChoiceRuleOperand,
    /// A Wait state has none, or several, of Seconds/SecondsPath/Timestamp/TimestampPath.
    WaitDuration,
    /// A timestamp is not RFC 3339 (`2026-01-31T12:00:00Z`).
    InvalidTimestamp,
    /// `MaxAttempts` is not an integer in 0..=99999999.
    RetryMaxAttempts,
    /// `BackoffRate` is below 1.
    RetryBackoffRate,
    /// `IntervalSeconds` is not an integer in 1..=99999999.
    RetryIntervalSeconds,
    /// `MaxDelaySeconds` is not an integer in 1..=31622400.
    RetryMaxDelaySeconds,
    /// `States.ALL` shares an `ErrorEquals` with other error names.
    StatesAllNotAlone,
    /// A retrier or catcher with `States.ALL` is not the last one.
    StatesAllNotLast,
    /// A path (or a `.$` payload value) is not valid JSONPath.
    InvalidPath,
    /// A reference path selects possibly several nodes, or reads `$$`/a variable where it
    /// may not (`ResultPath`).
    InvalidReferencePath,
    /// An intrinsic function call is malformed, unknown, or has the wrong number of arguments.
    InvalidIntrinsic,
    /// A JSONPath-only field (InputPath, Parameters, ResultPath…) in a JSONata state.
    JsonpathFieldInJsonataState,
    /// A JSONata-only field (Arguments, Output, Condition, Items) in a JSONPath state, or a
    /// `{% %}` expression where JSONPath expects a number.
    JsonataFieldInJsonpathState,
    /// A JSONata Choice rule's `Condition` is not a `{% … %}` expression.
    InvalidJsonata,
    /// A state sets `QueryLanguage: JSONPath` in a machine whose top level is JSONata ("You
    /// cannot revert a top-level JSONata-based state machine to a mix of JSONata and JSONPath
    /// states", Step Functions developer guide, state machine structure).
    JsonpathStateInJsonataMachine,
    /// A field and its `…Path` form (or two aliases) are both present.
    ExclusiveFields,
    /// `TimeoutSeconds` / `HeartbeatSeconds` is not a positive integer ≤ 99999999.
    InvalidTimeout,
    /// `HeartbeatSeconds` is not below `TimeoutSeconds`.
    HeartbeatNotBelowTimeout,
    /// Another numeric field is out of its range or not an integer.
    InvalidNumber,
    /// A Task `Resource` (or ItemReader/ResultWriter `Resource`) is not an ARN.
    InvalidResource,
    /// An `Assign` key is not a valid variable name.
    InvalidVariableName,
    /// Two fields of one payload-template object have the same name once the `.$` suffix is
    /// stripped (`"a"` and `"a.$"`).
    DuplicatePayloadField,
    /// A state name contains control characters.
    InvalidStateName,
    /// A Map `Label` is longer than [`MAX_LABEL_CHARS`] or contains a forbidden character.
    InvalidLabel,
}

impl DiagnosticCode {
    /// Every code.
    pub const ALL: [Self; 39] = [
        Self::Structure,
        Self::DuplicateStateName,
        Self::MissingTransitionTarget,
        Self::TransitionOutOfScope,
        Self::UnreachableState,
        Self::MissingTerminalState,
        Self::StateNameTooLong,
        Self::EndWithNext,
        Self::MissingNextOrEnd,
        Self::ChoiceWithoutChoices,
        Self::ChoiceRuleOperator,
        Self::ChoiceRuleMissingVariable,
        Self::ChoiceRuleMissingNext,
        Self::ChoiceRuleNestedNext,
        Self::ChoiceRuleOperand,
        Self::WaitDuration,
        Self::InvalidTimestamp,
        Self::RetryMaxAttempts,
        Self::RetryBackoffRate,
        Self::RetryIntervalSeconds,
        Self::RetryMaxDelaySeconds,
        Self::StatesAllNotAlone,
        Self::StatesAllNotLast,
        Self::InvalidPath,
        Self::InvalidReferencePath,
        Self::InvalidIntrinsic,
        Self::JsonpathFieldInJsonataState,
        Self::JsonataFieldInJsonpathState,
        Self::InvalidJsonata,
        Self::JsonpathStateInJsonataMachine,
        Self::ExclusiveFields,
        Self::InvalidTimeout,
        Self::HeartbeatNotBelowTimeout,
        Self::InvalidNumber,
        Self::InvalidResource,
        Self::InvalidVariableName,
        Self::DuplicatePayloadField,
        Self::InvalidStateName,
        Self::InvalidLabel,
    ];

    /// The stable kebab-case name, e.g. `missing-transition-target`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Structure => "structure",
            Self::DuplicateStateName => "duplicate-state-name",
            Self::MissingTransitionTarget => "missing-transition-target",
            Self::TransitionOutOfScope => "transition-out-of-scope",
            Self::UnreachableState => "unreachable-state",
            Self::MissingTerminalState => "missing-terminal-state",
            Self::StateNameTooLong => "state-name-too-long",
            Self::EndWithNext => "end-with-next",
            Self::MissingNextOrEnd => "missing-next-or-end",
            Self::ChoiceWithoutChoices => "choice-without-choices",
            Self::ChoiceRuleOperator => "choice-rule-operator",
            Self::ChoiceRuleMissingVariable => "choice-rule-missing-variable",
            Self::ChoiceRuleMissingNext => "choice-rule-missing-next",
            Self::ChoiceRuleNestedNext => "choice-rule-nested-next",
            Self::ChoiceRuleOperand => "choice-rule-operand",
            Self::WaitDuration => "wait-duration",
            Self::InvalidTimestamp => "invalid-timestamp",
            Self::RetryMaxAttempts => "retry-max-attempts",
            Self::RetryBackoffRate => "retry-backoff-rate",
            Self::RetryIntervalSeconds => "retry-interval-seconds",
            Self::RetryMaxDelaySeconds => "retry-max-delay-seconds",
            Self::StatesAllNotAlone => "states-all-not-alone",
            Self::StatesAllNotLast => "states-all-not-last",
            Self::InvalidPath => "invalid-path",
            Self::InvalidReferencePath => "invalid-reference-path",
            Self::InvalidIntrinsic => "invalid-intrinsic",
            Self::JsonpathFieldInJsonataState => "jsonpath-field-in-jsonata-state",
            Self::JsonataFieldInJsonpathState => "jsonata-field-in-jsonpath-state",
            Self::InvalidJsonata => "invalid-jsonata",
            Self::JsonpathStateInJsonataMachine => "jsonpath-state-in-jsonata-machine",
            Self::ExclusiveFields => "exclusive-fields",
            Self::InvalidTimeout => "invalid-timeout",
            Self::HeartbeatNotBelowTimeout => "heartbeat-not-below-timeout",
            Self::InvalidNumber => "invalid-number",
            Self::InvalidResource => "invalid-resource",
            Self::InvalidVariableName => "invalid-variable-name",
            Self::DuplicatePayloadField => "duplicate-payload-field",
            Self::InvalidStateName => "invalid-state-name",
            Self::InvalidLabel => "invalid-label",
        }
    }

    /// Looks a code up by its kebab-case name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// `true` for rules about the *shape* of the document (which fields exist, their JSON
    /// types). A strict parser may reject such a document outright instead of letting the
    /// validator point at the field; both are correct verdicts.
    #[must_use]
    pub fn is_structural(self) -> bool {
        matches!(
            self,
            Self::Structure
                | Self::EndWithNext
                | Self::MissingNextOrEnd
                | Self::ChoiceWithoutChoices
                | Self::ChoiceRuleOperator
                | Self::ChoiceRuleMissingVariable
                | Self::ChoiceRuleMissingNext
                | Self::ChoiceRuleNestedNext
                | Self::ChoiceRuleOperand
                | Self::WaitDuration
                | Self::ExclusiveFields
                | Self::JsonpathFieldInJsonataState
                | Self::JsonataFieldInJsonpathState
        )
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Which rule is broken.
    pub code: DiagnosticCode,
    /// RFC 6901 JSON pointer to the offending value, e.g. `/States/Foo/Retry/0/BackoffRate`
    /// (empty for the whole document).
    pub pointer: String,
    /// A plain-language explanation.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {} ({})", self.message, self.code)
    }
}

/// Why a file could not be validated at all.
#[derive(Debug, thiserror::Error)]
pub enum ValidateFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path} is not JSON: {source}")]
    NotJson {
        /// The file.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// Validates a parsed state machine. An empty result means AWS would accept it.
#[must_use]
pub fn validate(machine: &StateMachine) -> Vec<Diagnostic> {
    validate_value(&machine.to_value())
}

/// Validates a definition given as JSON, whether or not the model can parse it.
#[must_use]
pub fn validate_value(definition: &Value) -> Vec<Diagnostic> {
    let mut checker = checks::Checker::default();
    checker.machine(definition);
    let mut diagnostics = checker.into_diagnostics();
    diagnostics.extend(jsonata::check(definition));
    diagnostics.sort_by(|a, b| (&a.pointer, a.code).cmp(&(&b.pointer, b.code)));
    diagnostics.dedup();
    diagnostics
}

/// Validates definition text: JSON that the model cannot parse gets a
/// [`DiagnosticCode::Structure`] diagnostic (plus whatever [`validate_value`] finds), and
/// keys repeated in one JSON object (which a parsed [`StateMachine`] can no longer show) are
/// reported too: [`DiagnosticCode::DuplicateStateName`] inside `States`, else
/// [`DiagnosticCode::Structure`].
///
/// # Errors
/// [`ValidateFileError::NotJson`] when the text is not JSON (`path` names it in the error).
pub fn validate_text(text: &str, path: &str) -> Result<Vec<Diagnostic>, ValidateFileError> {
    let value: Value = serde_json::from_str(text).map_err(|source| ValidateFileError::NotJson {
        path: path.to_owned(),
        source,
    })?;
    let mut diagnostics = match StateMachine::from_value(value.clone()) {
        Ok(machine) => validate(&machine),
        Err(err) => {
            let mut diagnostics = vec![Diagnostic {
                code: DiagnosticCode::Structure,
                pointer: String::new(),
                message: err.to_string(),
            }];
            diagnostics.extend(validate_value(&value));
            diagnostics
        }
    };
    for pointer in duplicates::duplicate_keys(text) {
        let in_states = pointer
            .rsplit_once('/')
            .is_some_and(|(parent, _)| parent.ends_with("/States") || parent == "/States");
        let (code, message) = if in_states {
            (
                DiagnosticCode::DuplicateStateName,
                "this state name is defined twice in the same States object",
            )
        } else {
            (
                DiagnosticCode::Structure,
                "this key appears twice in the same JSON object",
            )
        };
        diagnostics.push(Diagnostic {
            code,
            pointer,
            message: message.to_owned(),
        });
    }
    Ok(diagnostics)
}

/// Reads and validates an ASL file; used by `statemachine validate FILE` (exit 0 when the
/// result is empty, 1 when not, 2 on `Err`).
///
/// # Errors
/// [`ValidateFileError`] when the file cannot be read or is not JSON.
pub fn validate_file(path: &Path) -> Result<Vec<Diagnostic>, ValidateFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ValidateFileError::Read {
        path: shown.clone(),
        source,
    })?;
    validate_text(&text, &shown)
}

/// Appends one RFC 6901 reference token to a pointer (`~` → `~0`, `/` → `~1`).
#[must_use]
pub fn pointer_push(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
        diagnostics.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn given_every_code_when_named_then_the_name_maps_back_to_it() {
        for code in DiagnosticCode::ALL {
            assert_eq!(DiagnosticCode::from_name(code.as_str()), Some(code));
        }
    }

    #[test]
    fn given_a_state_name_with_slash_and_tilde_when_pointed_at_then_it_is_escaped() {
        assert_eq!(pointer_push("/States", "a/b~c"), "/States/a~1b~0c");
    }

    #[test]
    fn given_text_that_is_not_json_when_validated_then_it_is_an_error_not_a_verdict() {
        let err = validate_text("{ nope", "x.json").expect_err("not JSON");
        assert!(matches!(err, ValidateFileError::NotJson { .. }));
    }

    #[test]
    fn given_a_missing_file_when_validated_then_it_is_a_read_error() {
        let err = validate_file(Path::new("/nonexistent/definitely/missing.asl.json"))
            .expect_err("missing file");
        assert!(matches!(err, ValidateFileError::Read { .. }));
    }

    #[test]
    fn given_json_the_model_rejects_when_validated_then_structure_and_graph_are_both_reported() {
        let text = json!({
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "Ghost", "Bogus": 1}}
        })
        .to_string();
        let diagnostics = validate_text(&text, "x.json").expect("JSON");
        let found = codes(&diagnostics);
        assert!(found.contains(&"structure"), "{found:?}");
        assert!(found.contains(&"missing-transition-target"), "{found:?}");
    }

    #[test]
    fn given_a_valid_machine_with_variables_and_nulls_when_validated_then_nothing_is_reported() {
        let text = json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"x": null, "xs": [null, 1]}, "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"x.$": "$x", "n": null}, "End": true}
            }
        })
        .to_string();
        assert_eq!(validate_text(&text, "x.json").expect("JSON"), vec![]);
    }

    #[test]
    fn given_a_diagnostic_when_displayed_then_pointer_message_and_code_are_shown() {
        let d = Diagnostic {
            code: DiagnosticCode::RetryBackoffRate,
            pointer: "/States/T/Retry/0/BackoffRate".to_owned(),
            message: "BackoffRate is 0.5".to_owned(),
        };
        assert_eq!(
            d.to_string(),
            "/States/T/Retry/0/BackoffRate: BackoffRate is 0.5 (retry-backoff-rate)"
        );
    }
}
