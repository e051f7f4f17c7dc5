//! The per-state and per-field rules. [`Checker`] walks the JSON form of a definition scope
//! by scope, state by state, and collects [`Diagnostic`]s; [`super::graph`] checks each
//! scope's transitions.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Number, Value};

use super::{
    Diagnostic, DiagnosticCode, MAX_LABEL_CHARS, MAX_STATE_NAME_CHARS, graph, pointer_push,
};
use crate::intrinsics::{parse_intrinsic, parse_payload_value};
use crate::model::{ComparisonOperator, OperandKind};
use crate::path::{PathError, parse_path, parse_reference_path, parse_result_path};

/// AWS limit: TimeoutSeconds, HeartbeatSeconds, IntervalSeconds, MaxAttempts and Wait
/// Seconds accept at most 99999999 (Step Functions developer guide, Task and Retry fields).
const MAX_SECONDS: f64 = 99_999_999.0;
/// AWS limit: "MaxDelaySeconds ... must be less than 31622401" (one year plus a day).
const MAX_DELAY_SECONDS: f64 = 31_622_400.0;
/// AWS limit: a batch of items is at most 256 KiB (`MaxInputBytesPerBatch`).
const MAX_INPUT_BYTES_PER_BATCH: f64 = 262_144.0;
/// AWS limit: a Distributed Map reads at most 100,000,000 items (`ReaderConfig.MaxItems`).
const MAX_ITEMS: f64 = 100_000_000.0;

/// Fields that exist only in JSONPath mode.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "MaxItemsPath",
    "MaxItemsPerBatchPath",
    "MaxInputBytesPerBatchPath",
];

/// Fields that exist only in JSONata mode.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

/// A field and its mutually exclusive alternative.
const EXCLUSIVE: &[(&str, &str)] = &[
    ("TimeoutSeconds", "TimeoutSecondsPath"),
    ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("Error", "ErrorPath"),
    ("Cause", "CausePath"),
    ("MaxConcurrency", "MaxConcurrencyPath"),
    ("ToleratedFailureCount", "ToleratedFailureCountPath"),
    (
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
    ),
    ("MaxItems", "MaxItemsPath"),
    ("MaxItemsPerBatch", "MaxItemsPerBatchPath"),
    ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"),
    ("Parameters", "ItemSelector"),
    ("ItemProcessor", "Iterator"),
];

/// RFC 3339 with the ASL restrictions: uppercase `T`, and `Z` or a numeric offset.
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$",
    )
    .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// An ARN (`arn:partition:service:region:account:resource`), as Task `Resource` requires.
/// Only the shape is checked, as AWS and asl-validator do: the service and region are any
/// text without `:` (placeholders such as `REGION` or `us_east_1` included) and the account
/// is any run of digits, possibly empty (`111111111111`, `000`, or none for
/// `arn:aws:states:::lambda:invoke`). asl-validator 4 `formats.ts`:
/// `^arn:(aws|aws-cn|aws-us-gov):[^:\n]+:[^:\n]*:\d*:…$`.
static ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws[a-z-]*:[^:\s]+:[^:\s]*:\d*:\S+$")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// A workflow variable name: a letter or `_`, then letters, digits or `_`.
static VARIABLE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\p{L}_][\p{L}\p{N}_]*$").unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// The query language in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ql {
    JsonPath,
    Jsonata,
}

/// `true` for a JSONata expression string `{% … %}`. Like the service, no trimming: a
/// string with a space before `{%` is a plain string constant.
fn is_jsonata(s: &str) -> bool {
    s.starts_with("{%") && s.ends_with("%}") && s.len() >= 4
}

/// `true` when the JSON number has no fractional part (`2` and `2.0` are integers).
fn is_integral(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// The walker; holds the diagnostics found so far.
#[derive(Debug, Default)]
pub(super) struct Checker {
    out: Vec<Diagnostic>,
    /// `true` when the machine's top-level QueryLanguage is JSONata.
    jsonata_machine: bool,
    /// Every state name in the machine (all scopes), for cross-scope transitions.
    names: HashSet<String>,
    /// Where each name was first defined, for duplicates.
    first_definition: HashMap<String, String>,
}

impl Checker {
    pub(super) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.out
    }

    fn push(&mut self, code: DiagnosticCode, pointer: String, message: impl Into<String>) {
        self.out.push(Diagnostic {
            code,
            pointer,
            message: message.into(),
        });
    }

    /// Entry point: the whole definition.
    pub(super) fn machine(&mut self, doc: &Value) {
        let Some(obj) = doc.as_object() else {
            self.push(
                DiagnosticCode::Structure,
                String::new(),
                "a state machine must be a JSON object",
            );
            return;
        };
        self.collect_names(doc, "");
        let ql = self.query_language(obj, "", Ql::JsonPath);
        self.jsonata_machine = ql == Ql::Jsonata;
        self.number(
            obj,
            "",
            "TimeoutSeconds",
            ql,
            DiagnosticCode::InvalidTimeout,
            (1.0, MAX_SECONDS),
            true,
        );
        self.scope(doc, "", ql);
    }

    fn collect_names(&mut self, scope: &Value, ptr: &str) {
        let Some(states) = scope.get("States").and_then(Value::as_object) else {
            return;
        };
        let states_ptr = pointer_push(ptr, "States");
        for (name, state) in states {
            let state_ptr = pointer_push(&states_ptr, name);
            if let Some(first) = self.first_definition.get(name) {
                let message = format!(
                    "state name \"{name}\" is already used at {first}: names must be unique in the whole machine"
                );
                self.push(
                    DiagnosticCode::DuplicateStateName,
                    state_ptr.clone(),
                    message,
                );
            } else {
                self.first_definition
                    .insert(name.clone(), state_ptr.clone());
                self.names.insert(name.clone());
            }
            for (child, child_ptr) in nested_scopes(state, &state_ptr) {
                self.collect_names(child, &child_ptr);
            }
        }
    }

    fn query_language(&mut self, obj: &Map<String, Value>, ptr: &str, inherited: Ql) -> Ql {
        match obj.get("QueryLanguage") {
            None => inherited,
            Some(Value::String(s)) if s == "JSONPath" => Ql::JsonPath,
            Some(Value::String(s)) if s == "JSONata" => Ql::Jsonata,
            Some(other) => {
                self.push(
                    DiagnosticCode::Structure,
                    pointer_push(ptr, "QueryLanguage"),
                    format!("QueryLanguage must be \"JSONPath\" or \"JSONata\", not {other}"),
                );
                inherited
            }
        }
    }

    /// A machine, Parallel branch or Map processor.
    fn scope(&mut self, scope: &Value, ptr: &str, ql: Ql) {
        let Some(obj) = scope.as_object() else {
            self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "must be an object with StartAt and States",
            );
            return;
        };
        let start_at = match obj.get("StartAt") {
            Some(Value::String(s)) => Some(s.as_str()),
            None => {
                self.push(
                    DiagnosticCode::Structure,
                    ptr.to_owned(),
                    "StartAt is required",
                );
                None
            }
            Some(_) => {
                self.push(
                    DiagnosticCode::Structure,
                    pointer_push(ptr, "StartAt"),
                    "StartAt must be a string",
                );
                None
            }
        };
        let states = match obj.get("States") {
            Some(Value::Object(states)) => states,
            None => {
                self.push(
                    DiagnosticCode::Structure,
                    ptr.to_owned(),
                    "States is required",
                );
                return;
            }
            Some(_) => {
                self.push(
                    DiagnosticCode::Structure,
                    pointer_push(ptr, "States"),
                    "States must be an object",
                );
                return;
            }
        };
        let states_ptr = pointer_push(ptr, "States");
        if states.is_empty() {
            self.push(
                DiagnosticCode::Structure,
                states_ptr.clone(),
                "States must contain at least one state",
            );
        }
        for (name, state) in states {
            self.state(name, state, &pointer_push(&states_ptr, name), ql);
        }
        graph::check_scope(ptr, start_at, states, &self.names, &mut self.out);
    }

    fn state(&mut self, name: &str, state: &Value, ptr: &str, inherited: Ql) {
        let length = name.chars().count();
        if length > MAX_STATE_NAME_CHARS {
            self.push(
                DiagnosticCode::StateNameTooLong,
                ptr.to_owned(),
                format!(
                    "state name has {length} characters; AWS allows at most {MAX_STATE_NAME_CHARS}"
                ),
            );
        }
        if name.chars().any(char::is_control) {
            self.push(
                DiagnosticCode::InvalidStateName,
                ptr.to_owned(),
                "state names cannot contain control characters",
            );
        }
        let Some(obj) = state.as_object() else {
            self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "a state must be a JSON object",
            );
            return;
        };
        let ql = self.query_language(obj, ptr, inherited);
        if self.jsonata_machine && ql == Ql::JsonPath {
            self.push(
                DiagnosticCode::JsonpathStateInJsonataMachine,
                pointer_push(ptr, "QueryLanguage"),
                "a state machine whose top-level QueryLanguage is JSONata cannot contain JSONPath states",
            );
        }
        let Some(kind) = obj.get("Type").and_then(Value::as_str) else {
            self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "Type is required and must be a string",
            );
            return;
        };
        self.mode_fields(obj, ptr, ql);
        self.exclusive(obj, ptr);
        match kind {
            "Pass" => {
                self.transition(obj, ptr);
                self.io_paths(obj, ptr, ql);
                self.payload_field(obj, ptr, "Parameters", ql);
            }
            "Task" => self.task(obj, ptr, ql),
            "Choice" => {
                self.no_transition(obj, ptr, kind);
                self.io_paths(obj, ptr, ql);
                self.choices(obj, ptr, ql);
            }
            "Wait" => {
                self.transition(obj, ptr);
                self.io_paths(obj, ptr, ql);
                self.wait(obj, ptr, ql);
            }
            "Succeed" => {
                self.no_transition(obj, ptr, kind);
                self.io_paths(obj, ptr, ql);
            }
            "Fail" => {
                self.no_transition(obj, ptr, kind);
                self.fail(obj, ptr, ql);
            }
            "Parallel" => {
                self.transition(obj, ptr);
                self.io_paths(obj, ptr, ql);
                self.payload_field(obj, ptr, "Parameters", ql);
                self.payload_field(obj, ptr, "ResultSelector", ql);
                self.retry(obj, ptr);
                self.catch(obj, ptr, ql);
                self.branches(obj, ptr, ql);
            }
            "Map" => self.map(obj, ptr, ql),
            other => {
                self.push(
                    DiagnosticCode::Structure,
                    pointer_push(ptr, "Type"),
                    format!("unknown state type \"{other}\""),
                );
                return;
            }
        }
        self.assign(obj, ptr, ql);
    }

    /// JSONPath-only fields in a JSONata state and the reverse.
    fn mode_fields(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        let (forbidden, code, mode) = match ql {
            Ql::Jsonata => (
                JSONPATH_ONLY,
                DiagnosticCode::JsonpathFieldInJsonataState,
                "JSONata",
            ),
            Ql::JsonPath => (
                JSONATA_ONLY,
                DiagnosticCode::JsonataFieldInJsonpathState,
                "JSONPath",
            ),
        };
        for field in forbidden {
            if obj.contains_key(*field) {
                self.push(
                    code,
                    pointer_push(ptr, field),
                    format!("{field} is not available when the query language is {mode}"),
                );
            }
        }
    }

    fn exclusive(&mut self, obj: &Map<String, Value>, ptr: &str) {
        for (a, b) in EXCLUSIVE {
            if obj.contains_key(*a) && obj.contains_key(*b) {
                self.push(
                    DiagnosticCode::ExclusiveFields,
                    pointer_push(ptr, b),
                    format!("{a} and {b} cannot both be set"),
                );
            }
        }
    }

    fn transition(&mut self, obj: &Map<String, Value>, ptr: &str) {
        let next = obj.get("Next");
        let end = obj.get("End");
        if let Some(next) = next
            && !next.is_string()
        {
            self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "Next"),
                "Next must be a state name",
            );
            return;
        }
        if let Some(end) = end
            && !end.is_boolean()
        {
            self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "End"),
                "End must be a boolean",
            );
            return;
        }
        let ends = end == Some(&Value::Bool(true));
        match (next.is_some(), ends) {
            (true, true) => self.push(
                DiagnosticCode::EndWithNext,
                pointer_push(ptr, "End"),
                "a state cannot have both End: true and Next",
            ),
            (false, false) => self.push(
                DiagnosticCode::MissingNextOrEnd,
                ptr.to_owned(),
                "the state needs Next or End: true",
            ),
            _ => {}
        }
    }

    fn no_transition(&mut self, obj: &Map<String, Value>, ptr: &str, kind: &str) {
        for field in ["Next", "End"] {
            if obj.contains_key(field) {
                let message = if kind == "Choice" {
                    format!(
                        "a Choice state cannot have {field}; transitions are in Choices and Default"
                    )
                } else {
                    format!("a {kind} state ends the execution and cannot have {field}")
                };
                self.push(DiagnosticCode::Structure, pointer_push(ptr, field), message);
            }
        }
    }

    /// InputPath, OutputPath (paths) and ResultPath (reference path into the input).
    fn io_paths(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        if ql != Ql::JsonPath {
            return;
        }
        for field in ["InputPath", "OutputPath"] {
            match obj.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => {
                    if let Err(e) = parse_path(s) {
                        self.push(
                            DiagnosticCode::InvalidPath,
                            pointer_push(ptr, field),
                            e.to_string(),
                        );
                    }
                }
                Some(_) => self.push(
                    DiagnosticCode::Structure,
                    pointer_push(ptr, field),
                    format!("{field} must be a path string or null"),
                ),
            }
        }
        self.result_path(obj, ptr);
    }

    fn result_path(&mut self, obj: &Map<String, Value>, ptr: &str) {
        match obj.get("ResultPath") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                if let Err(e) = parse_result_path(s) {
                    self.path_error(&e, pointer_push(ptr, "ResultPath"));
                }
            }
            Some(_) => self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "ResultPath"),
                "ResultPath must be a reference path string or null",
            ),
        }
    }

    fn path_error(&mut self, err: &PathError, pointer: String) {
        let code = match err {
            PathError::Syntax(_) => DiagnosticCode::InvalidPath,
            _ => DiagnosticCode::InvalidReferencePath,
        };
        self.push(code, pointer, err.to_string());
    }

    /// A field holding a reference path (JSONPath mode only; nothing to check otherwise).
    fn reference_path_field(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        field: &str,
        ql: Ql,
        allow_intrinsic: bool,
    ) {
        if ql != Ql::JsonPath {
            return;
        }
        let pointer = pointer_push(ptr, field);
        match obj.get(field) {
            None => {}
            Some(Value::String(s)) => {
                if allow_intrinsic && !s.trim_start().starts_with('$') {
                    if let Err(e) = parse_intrinsic(s) {
                        self.push(DiagnosticCode::InvalidIntrinsic, pointer, e.to_string());
                    }
                } else if let Err(e) = parse_reference_path(s) {
                    self.path_error(&e, pointer);
                }
            }
            Some(_) => self.push(
                DiagnosticCode::Structure,
                pointer,
                format!("{field} must be a reference path string"),
            ),
        }
    }

    /// A numeric field; in JSONata mode it may also be a `{% %}` expression.
    #[allow(clippy::too_many_arguments)]
    fn number(
        &mut self,
        obj: &Map<String, Value>,
        ptr: &str,
        field: &str,
        ql: Ql,
        code: DiagnosticCode,
        (min, max): (f64, f64),
        integer: bool,
    ) -> Option<f64> {
        let pointer = pointer_push(ptr, field);
        match obj.get(field)? {
            Value::Number(n) => {
                let value = n.as_f64()?;
                if integer && !is_integral(n) {
                    self.push(
                        code,
                        pointer,
                        format!("{field} must be an integer, not {n}"),
                    );
                } else if value < min || value > max {
                    self.push(
                        code,
                        pointer,
                        format!("{field} is {n}; allowed range is {min}..={max}"),
                    );
                }
                Some(value)
            }
            Value::String(s) if is_jsonata(s) => {
                if ql == Ql::JsonPath {
                    self.push(
                        DiagnosticCode::JsonataFieldInJsonpathState,
                        pointer,
                        format!(
                            "{field} is a JSONata expression but the query language is JSONPath"
                        ),
                    );
                }
                None
            }
            other => {
                self.push(
                    code,
                    pointer,
                    format!("{field} must be a number, not {other}"),
                );
                None
            }
        }
    }

    /// Walks a JSONPath payload template: every `.$` key holds a path or an intrinsic call.
    fn payload_field(&mut self, obj: &Map<String, Value>, ptr: &str, field: &str, ql: Ql) {
        if ql != Ql::JsonPath {
            return;
        }
        if let Some(value) = obj.get(field) {
            self.payload(value, &pointer_push(ptr, field));
        }
    }

    fn payload(&mut self, value: &Value, ptr: &str) {
        match value {
            Value::Object(map) => {
                self.duplicate_fields(map, ptr);
                for (key, child) in map {
                    let pointer = pointer_push(ptr, key);
                    if key.ends_with(".$") {
                        match child {
                            Value::String(s) => self.payload_value(s, pointer),
                            _ => self.push(
                                DiagnosticCode::InvalidPath,
                                pointer,
                                format!("\"{key}\" ends with .$ so its value must be a path or an intrinsic function string"),
                            ),
                        }
                    } else {
                        self.payload(child, &pointer);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.payload(item, &pointer_push(ptr, &i.to_string()));
                }
            }
            _ => {}
        }
    }

    /// "A JSON object MUST NOT have duplicate field names after fields ending with the
    /// characters `.$` are renamed to strip the `.$` suffix" (ASL specification).
    fn duplicate_fields(&mut self, map: &Map<String, Value>, ptr: &str) {
        let mut seen = HashSet::new();
        for key in map.keys() {
            let stripped = key.strip_suffix(".$").unwrap_or(key);
            if !seen.insert(stripped) {
                self.push(
                    DiagnosticCode::DuplicatePayloadField,
                    pointer_push(ptr, key),
                    format!("\"{key}\" becomes \"{stripped}\", which another field of this object already is"),
                );
            }
        }
    }

    fn payload_value(&mut self, text: &str, pointer: String) {
        if let Err(e) = parse_payload_value(text) {
            let code = if text.trim_start().starts_with('$') {
                DiagnosticCode::InvalidPath
            } else {
                DiagnosticCode::InvalidIntrinsic
            };
            self.push(code, pointer, e.to_string());
        }
    }

    fn assign(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        let Some(assign) = obj.get("Assign") else {
            return;
        };
        let assign_ptr = pointer_push(ptr, "Assign");
        let Some(map) = assign.as_object() else {
            self.push(
                DiagnosticCode::Structure,
                assign_ptr,
                "Assign must be an object of variable names",
            );
            return;
        };
        if ql == Ql::JsonPath {
            self.duplicate_fields(map, &assign_ptr);
        }
        for (key, value) in map {
            let pointer = pointer_push(&assign_ptr, key);
            let (name, dynamic) = match (ql, key.strip_suffix(".$")) {
                (Ql::JsonPath, Some(name)) => (name, true),
                _ => (key.as_str(), false),
            };
            if !VARIABLE_NAME.is_match(name) {
                self.push(
                    DiagnosticCode::InvalidVariableName,
                    pointer.clone(),
                    format!("\"{name}\" is not a variable name (a letter or _, then letters, digits or _)"),
                );
            }
            match (ql, dynamic, value) {
                (Ql::JsonPath, true, Value::String(s)) => self.payload_value(s, pointer),
                (Ql::JsonPath, true, _) => self.push(
                    DiagnosticCode::InvalidPath,
                    pointer,
                    format!("\"{key}\" ends with .$ so its value must be a path or an intrinsic function string"),
                ),
                (Ql::JsonPath, false, v) => self.payload(v, &pointer),
                // JSONata values are any JSON; strings that are not `{% … %}` are constants.
                (Ql::Jsonata, _, _) => {}
            }
        }
    }

    fn task(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        self.transition(obj, ptr);
        self.io_paths(obj, ptr, ql);
        for field in ["Parameters", "ResultSelector", "Credentials"] {
            self.payload_field(obj, ptr, field, ql);
        }
        self.resource(obj, ptr, true);
        let range = (1.0, MAX_SECONDS);
        let timeout = self.number(
            obj,
            ptr,
            "TimeoutSeconds",
            ql,
            DiagnosticCode::InvalidTimeout,
            range,
            true,
        );
        let heartbeat = self.number(
            obj,
            ptr,
            "HeartbeatSeconds",
            ql,
            DiagnosticCode::InvalidTimeout,
            range,
            true,
        );
        if let (Some(timeout), Some(heartbeat)) = (timeout, heartbeat)
            && heartbeat >= timeout
        {
            self.push(
                DiagnosticCode::HeartbeatNotBelowTimeout,
                pointer_push(ptr, "HeartbeatSeconds"),
                format!(
                    "HeartbeatSeconds ({heartbeat}) must be lower than TimeoutSeconds ({timeout})"
                ),
            );
        }
        for field in ["TimeoutSecondsPath", "HeartbeatSecondsPath"] {
            self.reference_path_field(obj, ptr, field, ql, false);
        }
        self.retry(obj, ptr);
        self.catch(obj, ptr, ql);
    }

    fn resource(&mut self, obj: &Map<String, Value>, ptr: &str, required: bool) {
        match obj.get("Resource") {
            None if required => self.push(DiagnosticCode::Structure, ptr.to_owned(), "Resource is required"),
            None => {}
            Some(Value::String(s)) if ARN.is_match(s) => {}
            Some(other) => self.push(
                DiagnosticCode::InvalidResource,
                pointer_push(ptr, "Resource"),
                format!("Resource must be an ARN (arn:partition:service:region:account:resource), not {other}"),
            ),
        }
    }

    fn wait(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
            .into_iter()
            .filter(|f| obj.contains_key(*f))
            .collect();
        if present.len() != 1 {
            let message = if present.is_empty() {
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath; it has none".to_owned()
            } else {
                format!(
                    "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath; it has {}",
                    present.join(", ")
                )
            };
            self.push(DiagnosticCode::WaitDuration, ptr.to_owned(), message);
        }
        self.number(
            obj,
            ptr,
            "Seconds",
            ql,
            DiagnosticCode::InvalidNumber,
            (0.0, MAX_SECONDS),
            true,
        );
        if let Some(value) = obj.get("Timestamp") {
            self.timestamp(value, pointer_push(ptr, "Timestamp"), ql);
        }
        self.reference_path_field(obj, ptr, "SecondsPath", ql, false);
        self.reference_path_field(obj, ptr, "TimestampPath", ql, false);
    }

    fn timestamp(&mut self, value: &Value, pointer: String, ql: Ql) {
        match value {
            Value::String(s) if TIMESTAMP.is_match(s) => {}
            Value::String(s) if is_jsonata(s) && ql == Ql::Jsonata => {}
            other => self.push(
                DiagnosticCode::InvalidTimestamp,
                pointer,
                format!("{other} is not an RFC 3339 timestamp such as 2026-01-31T12:00:00Z"),
            ),
        }
    }

    fn fail(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        for field in ["Error", "Cause"] {
            match obj.get(field) {
                None | Some(Value::String(_)) => {}
                Some(_) => self.push(
                    DiagnosticCode::Structure,
                    pointer_push(ptr, field),
                    format!("{field} must be a string"),
                ),
            }
        }
        self.reference_path_field(obj, ptr, "ErrorPath", ql, true);
        self.reference_path_field(obj, ptr, "CausePath", ql, true);
    }

    fn choices(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        match obj.get("Default") {
            None | Some(Value::String(_)) => {}
            Some(_) => self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "Default"),
                "Default must be a state name",
            ),
        }
        match obj.get("Choices") {
            None => self.push(
                DiagnosticCode::ChoiceWithoutChoices,
                pointer_push(ptr, "Choices"),
                "a Choice state needs a non-empty Choices array",
            ),
            Some(Value::Array(rules)) if rules.is_empty() => self.push(
                DiagnosticCode::ChoiceWithoutChoices,
                pointer_push(ptr, "Choices"),
                "a Choice state needs at least one Choice rule",
            ),
            Some(Value::Array(rules)) => {
                let choices_ptr = pointer_push(ptr, "Choices");
                for (i, rule) in rules.iter().enumerate() {
                    self.rule(rule, &pointer_push(&choices_ptr, &i.to_string()), ql, true);
                }
            }
            Some(_) => self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "Choices"),
                "Choices must be an array of rules",
            ),
        }
    }

    fn rule(&mut self, rule: &Value, ptr: &str, ql: Ql, top: bool) {
        let Some(obj) = rule.as_object() else {
            self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "a Choice rule must be an object",
            );
            return;
        };
        match (top, obj.get("Next")) {
            (true, None) => self.push(
                DiagnosticCode::ChoiceRuleMissingNext,
                ptr.to_owned(),
                "a top-level Choice rule needs Next",
            ),
            (true, Some(Value::String(_))) | (false, None) => {}
            (true, Some(_)) => self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "Next"),
                "Next must be a state name",
            ),
            (false, Some(_)) => self.push(
                DiagnosticCode::ChoiceRuleNestedNext,
                pointer_push(ptr, "Next"),
                "only top-level Choice rules have Next; rules inside And, Or and Not cannot",
            ),
        }
        if !top {
            for field in ["Assign", "Output"] {
                if obj.contains_key(field) {
                    self.push(
                        DiagnosticCode::Structure,
                        pointer_push(ptr, field),
                        format!("{field} is only allowed on top-level Choice rules"),
                    );
                }
            }
        }
        let operators: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| ComparisonOperator::from_name(k).is_some())
            .collect();
        let combinators: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| matches!(*k, "And" | "Or" | "Not"))
            .collect();
        if ql == Ql::Jsonata {
            if top {
                self.assign(obj, ptr, ql);
                match obj.get("Condition") {
                    Some(Value::String(s)) if is_jsonata(s) => {}
                    Some(Value::Bool(_)) => {}
                    Some(_) => self.push(
                        DiagnosticCode::InvalidJsonata,
                        pointer_push(ptr, "Condition"),
                        "Condition must be a JSONata expression \"{% … %}\"",
                    ),
                    None => self.push(
                        DiagnosticCode::Structure,
                        ptr.to_owned(),
                        "a JSONata Choice rule needs Condition",
                    ),
                }
            }
            let mut jsonpath_fields = operators.clone();
            jsonpath_fields.extend(&combinators);
            if obj.contains_key("Variable") {
                jsonpath_fields.push("Variable");
            }
            for field in jsonpath_fields {
                self.push(
                    DiagnosticCode::JsonpathFieldInJsonataState,
                    pointer_push(ptr, field),
                    format!("{field} is a JSONPath Choice rule field; JSONata rules use Condition"),
                );
            }
            return;
        }
        if top {
            self.assign(obj, ptr, ql);
        }
        for field in ["Condition", "Output"] {
            if obj.contains_key(field) {
                self.push(
                    DiagnosticCode::JsonataFieldInJsonpathState,
                    pointer_push(ptr, field),
                    format!("{field} is only available when the query language is JSONata"),
                );
            }
        }
        match (operators.as_slice(), combinators.as_slice()) {
            ([], []) => self.push(
                DiagnosticCode::ChoiceRuleOperator,
                ptr.to_owned(),
                "the Choice rule has no comparison operator and no And/Or/Not",
            ),
            ([operator], []) => self.comparison(obj, ptr, operator),
            ([], [combinator]) => {
                if obj.contains_key("Variable") {
                    self.push(
                        DiagnosticCode::ChoiceRuleOperator,
                        pointer_push(ptr, "Variable"),
                        format!("a {combinator} rule cannot also have Variable"),
                    );
                }
                self.combinator(obj, ptr, combinator, ql);
            }
            _ => {
                let mut all = operators.clone();
                all.extend(&combinators);
                self.push(
                    DiagnosticCode::ChoiceRuleOperator,
                    ptr.to_owned(),
                    format!(
                        "a Choice rule has exactly one operator; this one has {}",
                        all.join(", ")
                    ),
                );
            }
        }
    }

    fn combinator(&mut self, obj: &Map<String, Value>, ptr: &str, combinator: &str, ql: Ql) {
        let pointer = pointer_push(ptr, combinator);
        match (combinator, obj.get(combinator)) {
            ("Not", Some(inner @ Value::Object(_))) => self.rule(inner, &pointer, ql, false),
            ("Not", _) => self.push(
                DiagnosticCode::Structure,
                pointer,
                "Not must hold one Choice rule object",
            ),
            (_, Some(Value::Array(rules))) if !rules.is_empty() => {
                for (i, rule) in rules.iter().enumerate() {
                    self.rule(rule, &pointer_push(&pointer, &i.to_string()), ql, false);
                }
            }
            _ => self.push(
                DiagnosticCode::Structure,
                pointer,
                format!("{combinator} must hold a non-empty array of Choice rules"),
            ),
        }
    }

    fn comparison(&mut self, obj: &Map<String, Value>, ptr: &str, operator: &str) {
        match obj.get("Variable") {
            None => self.push(
                DiagnosticCode::ChoiceRuleMissingVariable,
                ptr.to_owned(),
                format!("a {operator} rule needs Variable, the path of the value to compare"),
            ),
            Some(Value::String(s)) => {
                if let Err(e) = parse_path(s) {
                    self.push(
                        DiagnosticCode::InvalidPath,
                        pointer_push(ptr, "Variable"),
                        e.to_string(),
                    );
                }
            }
            Some(_) => self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "Variable"),
                "Variable must be a path string",
            ),
        }
        let Some(op) = ComparisonOperator::from_name(operator) else {
            return;
        };
        let pointer = pointer_push(ptr, operator);
        let Some(operand) = obj.get(operator) else {
            return;
        };
        let wrong = |expected: &str| format!("{operator} takes {expected}, not {operand}");
        match (op.operand_kind(), operand) {
            (OperandKind::String, Value::String(_))
            | (OperandKind::Number, Value::Number(_))
            | (OperandKind::Boolean, Value::Bool(_)) => {}
            (OperandKind::Timestamp, Value::String(s)) => {
                if !TIMESTAMP.is_match(s) {
                    self.push(
                        DiagnosticCode::InvalidTimestamp,
                        pointer,
                        format!(
                            "\"{s}\" is not an RFC 3339 timestamp such as 2026-01-31T12:00:00Z"
                        ),
                    );
                }
            }
            (OperandKind::Path, Value::String(s)) => {
                if let Err(e) = parse_reference_path(s) {
                    self.path_error(&e, pointer);
                }
            }
            (OperandKind::String, _) => self.push(
                DiagnosticCode::ChoiceRuleOperand,
                pointer,
                wrong("a string"),
            ),
            (OperandKind::Number, _) => self.push(
                DiagnosticCode::ChoiceRuleOperand,
                pointer,
                wrong("a number"),
            ),
            (OperandKind::Boolean, _) => self.push(
                DiagnosticCode::ChoiceRuleOperand,
                pointer,
                wrong("a boolean"),
            ),
            (OperandKind::Timestamp, _) => self.push(
                DiagnosticCode::ChoiceRuleOperand,
                pointer,
                wrong("a timestamp string"),
            ),
            (OperandKind::Path, _) => self.push(
                DiagnosticCode::ChoiceRuleOperand,
                pointer,
                wrong("a reference path string"),
            ),
        }
    }

    fn retry(&mut self, obj: &Map<String, Value>, ptr: &str) {
        let retry_ptr = pointer_push(ptr, "Retry");
        let retriers = match obj.get("Retry") {
            None => return,
            Some(Value::Array(retriers)) => retriers,
            Some(_) => {
                self.push(
                    DiagnosticCode::Structure,
                    retry_ptr,
                    "Retry must be an array of retriers",
                );
                return;
            }
        };
        for (i, retrier) in retriers.iter().enumerate() {
            let p = pointer_push(&retry_ptr, &i.to_string());
            let Some(r) = retrier.as_object() else {
                self.push(DiagnosticCode::Structure, p, "a retrier must be an object");
                continue;
            };
            self.error_equals(r, &p);
            let ql = Ql::JsonPath; // Retrier numbers are literals in both query languages.
            self.number(
                r,
                &p,
                "IntervalSeconds",
                ql,
                DiagnosticCode::RetryIntervalSeconds,
                (1.0, MAX_SECONDS),
                true,
            );
            self.number(
                r,
                &p,
                "MaxAttempts",
                ql,
                DiagnosticCode::RetryMaxAttempts,
                (0.0, MAX_SECONDS),
                true,
            );
            self.number(
                r,
                &p,
                "BackoffRate",
                ql,
                DiagnosticCode::RetryBackoffRate,
                (1.0, f64::MAX),
                false,
            );
            self.number(
                r,
                &p,
                "MaxDelaySeconds",
                ql,
                DiagnosticCode::RetryMaxDelaySeconds,
                (1.0, MAX_DELAY_SECONDS),
                true,
            );
            match r.get("JitterStrategy") {
                None => {}
                Some(Value::String(s)) if s == "FULL" || s == "NONE" => {}
                Some(other) => self.push(
                    DiagnosticCode::Structure,
                    pointer_push(&p, "JitterStrategy"),
                    format!("JitterStrategy must be \"FULL\" or \"NONE\", not {other}"),
                ),
            }
        }
        self.states_all(retriers, &retry_ptr, "retrier");
    }

    fn catch(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        let catch_ptr = pointer_push(ptr, "Catch");
        let catchers = match obj.get("Catch") {
            None => return,
            Some(Value::Array(catchers)) => catchers,
            Some(_) => {
                self.push(
                    DiagnosticCode::Structure,
                    catch_ptr,
                    "Catch must be an array of catchers",
                );
                return;
            }
        };
        for (i, catcher) in catchers.iter().enumerate() {
            let p = pointer_push(&catch_ptr, &i.to_string());
            let Some(c) = catcher.as_object() else {
                self.push(DiagnosticCode::Structure, p, "a catcher must be an object");
                continue;
            };
            self.error_equals(c, &p);
            match c.get("Next") {
                Some(Value::String(_)) => {}
                None => self.push(DiagnosticCode::Structure, p.clone(), "a catcher needs Next"),
                Some(_) => self.push(
                    DiagnosticCode::Structure,
                    pointer_push(&p, "Next"),
                    "Next must be a state name",
                ),
            }
            match ql {
                Ql::JsonPath => {
                    self.result_path(c, &p);
                    if c.contains_key("Output") {
                        self.push(
                            DiagnosticCode::JsonataFieldInJsonpathState,
                            pointer_push(&p, "Output"),
                            "Output is only available when the query language is JSONata",
                        );
                    }
                }
                Ql::Jsonata => {
                    if c.contains_key("ResultPath") {
                        self.push(
                            DiagnosticCode::JsonpathFieldInJsonataState,
                            pointer_push(&p, "ResultPath"),
                            "ResultPath is not available when the query language is JSONata",
                        );
                    }
                }
            }
            self.assign(c, &p, ql);
        }
        self.states_all(catchers, &catch_ptr, "catcher");
    }

    fn error_equals(&mut self, obj: &Map<String, Value>, ptr: &str) {
        match obj.get("ErrorEquals") {
            Some(Value::Array(names))
                if !names.is_empty() && names.iter().all(Value::is_string) => {}
            None => self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "ErrorEquals is required",
            ),
            Some(_) => self.push(
                DiagnosticCode::Structure,
                pointer_push(ptr, "ErrorEquals"),
                "ErrorEquals must be a non-empty array of error names",
            ),
        }
    }

    /// `States.ALL` must be alone in its `ErrorEquals` and in the last retrier / catcher.
    fn states_all(&mut self, items: &[Value], list_ptr: &str, what: &str) {
        for (i, item) in items.iter().enumerate() {
            let Some(Value::Array(names)) = item.get("ErrorEquals") else {
                continue;
            };
            if !names.iter().any(|n| n == "States.ALL") {
                continue;
            }
            let p = pointer_push(list_ptr, &i.to_string());
            if names.len() > 1 {
                self.push(
                    DiagnosticCode::StatesAllNotAlone,
                    pointer_push(&p, "ErrorEquals"),
                    "States.ALL must appear alone in ErrorEquals",
                );
            }
            if i + 1 != items.len() {
                self.push(
                    DiagnosticCode::StatesAllNotLast,
                    p,
                    format!("the {what} matching States.ALL must be the last one"),
                );
            }
        }
    }

    fn branches(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        let branches_ptr = pointer_push(ptr, "Branches");
        match obj.get("Branches") {
            Some(Value::Array(branches)) if !branches.is_empty() => {
                for (i, branch) in branches.iter().enumerate() {
                    self.scope(branch, &pointer_push(&branches_ptr, &i.to_string()), ql);
                }
            }
            None => self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "a Parallel state needs Branches",
            ),
            Some(_) => self.push(
                DiagnosticCode::Structure,
                branches_ptr,
                "Branches must be a non-empty array of state machines",
            ),
        }
    }

    fn map(&mut self, obj: &Map<String, Value>, ptr: &str, ql: Ql) {
        self.transition(obj, ptr);
        self.io_paths(obj, ptr, ql);
        for field in ["Parameters", "ItemSelector", "ResultSelector"] {
            self.payload_field(obj, ptr, field, ql);
        }
        self.reference_path_field(obj, ptr, "ItemsPath", ql, false);
        if let Some(items) = obj.get("Items") {
            let ok = match items {
                Value::Array(_) => true,
                Value::String(s) => is_jsonata(s),
                _ => false,
            };
            if !ok {
                self.push(
                    DiagnosticCode::Structure,
                    pointer_push(ptr, "Items"),
                    "Items must be an array or a JSONata expression",
                );
            }
        }
        self.number(
            obj,
            ptr,
            "MaxConcurrency",
            ql,
            DiagnosticCode::InvalidNumber,
            (0.0, f64::MAX),
            true,
        );
        self.number(
            obj,
            ptr,
            "ToleratedFailureCount",
            ql,
            DiagnosticCode::InvalidNumber,
            (0.0, f64::MAX),
            true,
        );
        self.number(
            obj,
            ptr,
            "ToleratedFailurePercentage",
            ql,
            DiagnosticCode::InvalidNumber,
            (0.0, 100.0),
            false,
        );
        for field in [
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
        ] {
            self.reference_path_field(obj, ptr, field, ql, false);
        }
        self.retry(obj, ptr);
        self.catch(obj, ptr, ql);
        // The legacy `Iterator` takes a ProcessorConfig too (AWS runs it INLINE or DISTRIBUTED).
        for field in ["ItemProcessor", "Iterator"] {
            if let Some(config) = obj.get(field).and_then(|p| p.get("ProcessorConfig"))
                && config.get("Mode").and_then(Value::as_str) == Some("DISTRIBUTED")
                && config.get("ExecutionType").is_none()
            {
                self.push(
                    DiagnosticCode::Structure,
                    pointer_push(&pointer_push(ptr, field), "ProcessorConfig"),
                    "a DISTRIBUTED processor needs ExecutionType (STANDARD or EXPRESS)",
                );
            }
        }
        match obj.get("Label") {
            None => {}
            Some(Value::String(label)) => self.label(label, pointer_push(ptr, "Label")),
            Some(_) => self.push(
                DiagnosticCode::InvalidLabel,
                pointer_push(ptr, "Label"),
                "Label must be a string",
            ),
        }
        match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(processor), None) => {
                self.scope(processor, &pointer_push(ptr, "ItemProcessor"), ql);
            }
            (None, Some(iterator)) => self.scope(iterator, &pointer_push(ptr, "Iterator"), ql),
            (None, None) => self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "a Map state needs ItemProcessor",
            ),
            (Some(_), Some(_)) => {} // reported by `exclusive`
        }
        if let Some(reader) = obj.get("ItemReader") {
            self.map_part(reader, &pointer_push(ptr, "ItemReader"), ql, true);
            if let Some(config) = reader.get("ReaderConfig").and_then(Value::as_object) {
                let config_ptr = pointer_push(&pointer_push(ptr, "ItemReader"), "ReaderConfig");
                self.mode_fields(config, &config_ptr, ql);
                self.exclusive(config, &config_ptr);
                self.number(
                    config,
                    &config_ptr,
                    "MaxItems",
                    ql,
                    DiagnosticCode::InvalidNumber,
                    // AWS accepts 0 (read everything; recorded by LocalStack's parity tests).
                    (0.0, MAX_ITEMS),
                    true,
                );
                self.reference_path_field(config, &config_ptr, "MaxItemsPath", ql, false);
            }
        }
        if let Some(writer) = obj.get("ResultWriter") {
            self.map_part(writer, &pointer_push(ptr, "ResultWriter"), ql, false);
        }
        if let Some(batcher) = obj.get("ItemBatcher") {
            let batcher_ptr = pointer_push(ptr, "ItemBatcher");
            match batcher.as_object() {
                Some(b) => {
                    self.mode_fields(b, &batcher_ptr, ql);
                    self.exclusive(b, &batcher_ptr);
                    self.number(
                        b,
                        &batcher_ptr,
                        "MaxItemsPerBatch",
                        ql,
                        DiagnosticCode::InvalidNumber,
                        (1.0, f64::MAX),
                        true,
                    );
                    self.number(
                        b,
                        &batcher_ptr,
                        "MaxInputBytesPerBatch",
                        ql,
                        DiagnosticCode::InvalidNumber,
                        (1.0, MAX_INPUT_BYTES_PER_BATCH),
                        true,
                    );
                    for field in ["MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"] {
                        self.reference_path_field(b, &batcher_ptr, field, ql, false);
                    }
                    self.payload_field(b, &batcher_ptr, "BatchInput", ql);
                }
                None => self.push(
                    DiagnosticCode::Structure,
                    batcher_ptr,
                    "ItemBatcher must be an object",
                ),
            }
        }
    }

    /// A Map Run label: at most 40 characters, none of the characters AWS forbids in
    /// names (whitespace, brackets, wildcards, `"#%\\^|~`$&,;:/` and control characters).
    fn label(&mut self, label: &str, pointer: String) {
        let length = label.chars().count();
        if length > MAX_LABEL_CHARS {
            self.push(
                DiagnosticCode::InvalidLabel,
                pointer,
                format!("Label has {length} characters; AWS allows at most {MAX_LABEL_CHARS}"),
            );
        } else if let Some(c) = label.chars().find(|c| {
            c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c)
        }) {
            self.push(
                DiagnosticCode::InvalidLabel,
                pointer,
                format!("Label cannot contain {c:?}"),
            );
        }
    }

    /// ItemReader / ResultWriter: a Resource plus Parameters (JSONPath) or Arguments (JSONata).
    fn map_part(&mut self, part: &Value, ptr: &str, ql: Ql, reader: bool) {
        let Some(obj) = part.as_object() else {
            self.push(
                DiagnosticCode::Structure,
                ptr.to_owned(),
                "must be an object",
            );
            return;
        };
        self.mode_fields(obj, ptr, ql);
        // A ResultWriter may carry only WriterConfig (no Resource) since 2025.
        self.resource(obj, ptr, reader);
        self.payload_field(obj, ptr, "Parameters", ql);
    }
}

/// The scopes nested in a state: Parallel branches and the Map processor.
fn nested_scopes<'a>(state: &'a Value, state_ptr: &str) -> Vec<(&'a Value, String)> {
    let mut out = Vec::new();
    if let Some(Value::Array(branches)) = state.get("Branches") {
        let branches_ptr = pointer_push(state_ptr, "Branches");
        for (i, branch) in branches.iter().enumerate() {
            out.push((branch, pointer_push(&branches_ptr, &i.to_string())));
        }
    }
    for field in ["ItemProcessor", "Iterator"] {
        if let Some(processor) = state.get(field) {
            out.push((processor, pointer_push(state_ptr, field)));
        }
    }
    out
}
