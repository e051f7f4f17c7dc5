//! JSONata query language in states: which strings are expressions (`{% … %}`), what they see
//! (`$states.input`, `$states.result`, `$states.errorOutput`, `$states.context`, the workflow
//! variables, and the functions Step Functions adds to JSONata), and the
//! `States.QueryEvaluationError` causes AWS reports when an expression fails, returns nothing, or
//! returns the wrong type.

// The added functions have the jsonata crate's `NativeFunction` signature, whose error type is
// the crate's (large) `Error`; they run once per call of a Step Functions expression.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::paths::ContextObject;
use crate::error::{StatesError, names};

/// AWS caps `$range` (like `States.ArrayRange`) at 1,000 elements.
const MAX_RANGE_ITEMS: usize = 1000;

/// The text of a JSONata expression string: `{%` at the very start and `%}` at the very end,
/// with nothing trimmed outside them (the service does not trim either).
pub fn expression_text(text: &str) -> Option<&str> {
    text.strip_prefix("{%")
        .and_then(|rest| rest.strip_suffix("%}"))
        .map(str::trim)
}

/// What the expressions of one state see.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The state's name (in the causes).
    pub state: &'a str,
    /// The id of its `…StateEntered` event (in the causes).
    pub entered_id: u64,
    /// The `previousEventId` AWS gives an `EvaluationFailed` event of this state: the entered
    /// event's own predecessor (a Wait state's: the entered event).
    pub evaluation_prev: u64,
    /// `$states.input`: the state's input.
    pub input: &'a Value,
    /// `$states.context` and the workflow variables.
    pub context: &'a ContextObject,
    /// `$states.result`, after a Task, Parallel or Map ran.
    pub result: Option<&'a Value>,
    /// `$states.errorOutput`, in a Catch.
    pub error_output: Option<&'a Value>,
    /// `$now()` / `$millis()`: the engine clock, so virtual time stays virtual.
    pub now_millis: i64,
}

impl Scope<'_> {
    /// The same scope with `$states.result` set.
    pub fn with_result<'b>(&'b self, result: &'b Value) -> Scope<'b> {
        Scope {
            result: Some(result),
            ..*self
        }
    }

    /// The same scope with `$states.errorOutput` set.
    pub fn with_error_output<'b>(&'b self, error_output: &'b Value) -> Scope<'b> {
        Scope {
            error_output: Some(error_output),
            ..*self
        }
    }

    fn states_variable(&self) -> Value {
        let mut states = Map::new();
        states.insert("input".into(), self.input.clone());
        states.insert("context".into(), self.context.whole().clone());
        if let Some(result) = self.result {
            states.insert("result".into(), result.clone());
        }
        if let Some(error_output) = self.error_output {
            states.insert("errorOutput".into(), error_output.clone());
        }
        Value::Object(states)
    }

    fn environment(&self) -> jsonata::Environment {
        let mut env = base_environment().clone();
        for (name, value) in self.context.variables.iter() {
            env.bind(name, value.clone());
        }
        env.bind("states", self.states_variable());
        env.set_now(self.now_millis);
        env
    }

    /// A `States.QueryEvaluationError` raised by the field at `location`, with AWS's decorated
    /// cause.
    fn failure(&self, location: &str, cause: String) -> QueryFailure {
        QueryFailure {
            error: StatesError::new(
                names::QUERY_EVALUATION,
                format!(
                    "An error occurred while executing the state '{}' (entered at the event id #{}). {cause}",
                    self.state, self.entered_id
                ),
            ),
            location: location.to_owned(),
        }
    }
}

/// A failed evaluation: the error (cause already decorated) and the field it happened in, for
/// the `EvaluationFailed` history event.
#[derive(Debug)]
pub struct QueryFailure {
    /// `States.QueryEvaluationError` (or `States.Runtime` for a wrong value where AWS says so).
    pub error: StatesError,
    /// `Output`, `Arguments/FunctionName`, `Items`, …
    pub location: String,
}

/// Evaluates the expressions of one field. The environment (the `$states` object, the
/// variables, the functions) is built once per field, and only if the field holds an expression.
struct FieldEvaluation<'s, 'a> {
    scope: &'s Scope<'a>,
    env: std::cell::OnceCell<jsonata::Environment>,
}

impl<'s, 'a> FieldEvaluation<'s, 'a> {
    fn new(scope: &'s Scope<'a>) -> Self {
        Self {
            scope,
            env: std::cell::OnceCell::new(),
        }
    }

    /// One expression string at `location`; `Ok(None)` when it returned nothing (callers decide
    /// whether that is an error).
    fn expression(&self, text: &str, location: &str) -> Result<Option<Value>, QueryFailure> {
        let scope = self.scope;
        let threw = |e: jsonata::Error| {
            scope.failure(
                location,
                format!(
                    "The JSONata expression '{text}' specified for the field '{location}' threw an error during evaluation. {}: {}",
                    e.code, e.message
                ),
            )
        };
        let env = self.env.get_or_init(|| scope.environment());
        let evaluated = jsonata::Expression::parse(text)
            .and_then(|expression| expression.evaluate_result(Some(scope.input), env))
            .map_err(threw)?;
        match evaluated {
            jsonata::Evaluation::Undefined => Ok(None),
            jsonata::Evaluation::Json(value) => Ok(Some(value)),
            jsonata::Evaluation::Function => Err(scope.failure(
                location,
                format!(
                    "The JSONata expression '{text}' specified for the field '{location}' returned an unsupported result type."
                ),
            )),
        }
    }

    /// An expression that must return a value.
    fn required(&self, text: &str, location: &str) -> Result<Value, QueryFailure> {
        self.expression(text, location)?.ok_or_else(|| {
            self.scope.failure(
                location,
                format!(
                    "The JSONata expression '{text}' specified for the field '{location}' returned nothing (undefined)."
                ),
            )
        })
    }

    /// Every `{% … %}` string inside `template` replaced by its value.
    fn template(&self, template: &Value, location: &str) -> Result<Value, QueryFailure> {
        match template {
            Value::String(text) => match expression_text(text) {
                Some(expression) => self.required(expression, location),
                None => Ok(template.clone()),
            },
            Value::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (key, value) in fields {
                    let value = self.template(value, &format!("{location}/{key}"))?;
                    out.insert(key.clone(), value);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| self.template(item, &format!("{location}/{index}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }
}

/// Evaluates a field that may hold JSONata expressions anywhere inside it (`Arguments`,
/// `Output`, `Assign`, `ItemSelector`): every `{% … %}` string is replaced by its value; other
/// values are literal.
pub fn evaluate_template(
    template: &Value,
    location: &str,
    scope: &Scope<'_>,
) -> Result<Value, QueryFailure> {
    FieldEvaluation::new(scope).template(template, location)
}

/// The JSON type name AWS prints in its "unexpected result type" causes.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A field whose value must have one JSON type (`Items`: array, `Condition`: boolean, …).
pub fn evaluate_typed(
    field: &Value,
    location: &str,
    expected: &'static str,
    scope: &Scope<'_>,
) -> Result<Value, QueryFailure> {
    let evaluation = FieldEvaluation::new(scope);
    let (value, text) = match field {
        Value::String(text) => match expression_text(text) {
            Some(expression) => (evaluation.required(expression, location)?, expression),
            None => (field.clone(), text.as_str()),
        },
        other => (evaluation.template(other, location)?, ""),
    };
    if type_name(&value) == expected {
        return Ok(value);
    }
    Err(scope.failure(
        location,
        format!(
            "The JSONata expression '{text}' specified for the field '{location}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
            type_name(&value),
            serde_json::to_string(&value).unwrap_or_default()
        ),
    ))
}

/// A number field that may be a JSONata expression (`Seconds`, `TimeoutSeconds`,
/// `MaxConcurrency`, `ToleratedFailureCount`, …).
pub fn evaluate_number(
    field: &asl::model::NumberOrExpr,
    location: &str,
    scope: &Scope<'_>,
) -> Result<f64, QueryFailure> {
    match field {
        asl::model::NumberOrExpr::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        asl::model::NumberOrExpr::Expr(text) => {
            let value = evaluate_typed(&Value::String(text.clone()), location, "number", scope)?;
            Ok(value.as_f64().unwrap_or(0.0))
        }
    }
}

/// A string field that may be a JSONata expression (`Timestamp`, Fail `Error` and `Cause`).
pub fn evaluate_text(
    text: &str,
    location: &str,
    scope: &Scope<'_>,
) -> Result<String, QueryFailure> {
    match expression_text(text) {
        Some(_) => {
            let value = evaluate_typed(&Value::String(text.to_owned()), location, "string", scope)?;
            Ok(value.as_str().unwrap_or_default().to_owned())
        }
        None => Ok(text.to_owned()),
    }
}

/// An `Assign` field: an object whose members become workflow variables.
pub fn evaluate_assign(
    assign: Option<&Value>,
    scope: &Scope<'_>,
) -> Result<Map<String, Value>, QueryFailure> {
    let Some(assign) = assign else {
        return Ok(Map::new());
    };
    match evaluate_template(assign, "Assign", scope)? {
        Value::Object(assigned) => Ok(assigned),
        other => Err(scope.failure(
            "Assign",
            format!(
                "The value of the field 'Assign' must be an object, but was '{}'.",
                type_name(&other)
            ),
        )),
    }
}

/// The functions Step Functions adds to JSONata, registered once.
fn base_environment() -> &'static jsonata::Environment {
    static BASE: OnceLock<jsonata::Environment> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut env = jsonata::Environment::new();
        let functions: HashMap<&str, jsonata::NativeFunction> = HashMap::from([
            ("partition", Arc::new(partition) as jsonata::NativeFunction),
            ("range", Arc::new(range) as jsonata::NativeFunction),
            ("hash", Arc::new(hash) as jsonata::NativeFunction),
            ("random", Arc::new(random) as jsonata::NativeFunction),
            ("uuid", Arc::new(uuid) as jsonata::NativeFunction),
            ("parse", Arc::new(parse) as jsonata::NativeFunction),
        ]);
        for (name, function) in functions {
            env.register_function(name, function);
        }
        env
    })
}

fn argument(args: &[Option<Value>], index: usize) -> Option<&Value> {
    args.get(index).and_then(Option::as_ref)
}

fn integer_argument(
    args: &[Option<Value>],
    index: usize,
    function: &str,
) -> Result<i64, jsonata::Error> {
    argument(args, index)
        .and_then(Value::as_f64)
        .filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15)
        .map(|n| n as i64)
        .ok_or_else(|| {
            jsonata::Error::new(
                "T0410",
                format!(
                    "Argument {} of function \"{function}\" does not match function signature",
                    index + 1
                ),
            )
        })
}

/// `$partition(array, size)`: the array cut into chunks of `size`.
fn partition(args: &[Option<Value>]) -> Result<Option<Value>, jsonata::Error> {
    let items = match argument(args, 0) {
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => return Ok(None),
    };
    let size = integer_argument(args, 1, "partition")?;
    if size <= 0 {
        return Err(jsonata::Error::new(
            "D3141",
            "The chunk size of $partition must be a positive integer",
        ));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Some(Value::Array(
        items
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    )))
}

/// `$range(first, last, step)`: `first`, `first + step`, … up to and including `last`.
fn range(args: &[Option<Value>]) -> Result<Option<Value>, jsonata::Error> {
    let first = integer_argument(args, 0, "range")?;
    let last = integer_argument(args, 1, "range")?;
    let step = integer_argument(args, 2, "range")?;
    if step == 0 {
        return Err(jsonata::Error::new(
            "D3141",
            "The step of $range must not be zero",
        ));
    }
    let mut values = Vec::new();
    let mut current = first;
    while (step > 0 && current <= last) || (step < 0 && current >= last) {
        if values.len() == MAX_RANGE_ITEMS {
            return Err(jsonata::Error::new(
                "D3141",
                format!("The $range result exceeds the maximum of {MAX_RANGE_ITEMS} items"),
            ));
        }
        values.push(json!(current));
        current = current.saturating_add(step);
    }
    // AWS's `$range` is a JSONata sequence: one element comes back as the value itself
    // (recorded: `$range(1, 9, 9)` is `1`).
    if values.len() == 1 {
        return Ok(values.pop());
    }
    Ok(Some(Value::Array(values)))
}

fn hex_digest<D: Digest>(data: &[u8]) -> String {
    hex::encode(D::digest(data))
}

/// `$hash(value, algorithm)`: MD5, SHA-1, SHA-256, SHA-384 or SHA-512 as lower-case hex.
fn hash(args: &[Option<Value>]) -> Result<Option<Value>, jsonata::Error> {
    let data = match argument(args, 0) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => serde_json::to_string(other).unwrap_or_default(),
        None => return Ok(None),
    };
    let algorithm = argument(args, 1)
        .and_then(Value::as_str)
        .unwrap_or("SHA-256");
    let digest = match algorithm {
        "MD5" => {
            use md5::Digest as _;
            hex::encode(md5::Md5::digest(data.as_bytes()))
        }
        "SHA-1" => hex_digest::<Sha1>(data.as_bytes()),
        "SHA-256" => hex_digest::<Sha256>(data.as_bytes()),
        "SHA-384" => hex_digest::<Sha384>(data.as_bytes()),
        "SHA-512" => hex_digest::<Sha512>(data.as_bytes()),
        other => {
            return Err(jsonata::Error::new(
                "D3141",
                format!(
                    "The hash algorithm '{other}' is not supported: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
                ),
            ));
        }
    };
    Ok(Some(Value::String(digest)))
}

/// `$random([seed])`: a number in [0, 1); the same seed gives the same number.
fn random(args: &[Option<Value>]) -> Result<Option<Value>, jsonata::Error> {
    let value: f64 = match argument(args, 0) {
        Some(seed) => {
            let seed = seed.as_f64().ok_or_else(|| {
                jsonata::Error::new(
                    "T0410",
                    "Argument 1 of function \"random\" does not match function signature",
                )
            })?;
            rand::rngs::StdRng::seed_from_u64(seed.to_bits()).random()
        }
        None => rand::rng().random(),
    };
    Ok(Some(json!(value)))
}

/// `$uuid()`: a version 4 UUID.
fn uuid(_args: &[Option<Value>]) -> Result<Option<Value>, jsonata::Error> {
    let mut bytes: [u8; 16] = rand::rng().random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    Ok(Some(Value::String(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))))
}

/// `$parse(text)`: the JSON value a string holds.
fn parse(args: &[Option<Value>]) -> Result<Option<Value>, jsonata::Error> {
    match argument(args, 0) {
        Some(Value::String(text)) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| jsonata::Error::new("D3140", format!("Unable to parse JSON: {e}"))),
        Some(other) => Ok(Some(other.clone())),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_over<'a>(input: &'a Value, context: &'a ContextObject) -> Scope<'a> {
        Scope {
            state: "S",
            entered_id: 2,
            evaluation_prev: 0,
            input,
            context,
            result: None,
            error_output: None,
            now_millis: 0,
        }
    }

    #[test]
    fn given_strings_when_checked_then_only_whole_percent_braces_are_expressions() {
        assert_eq!(expression_text("{% 1 + 2 %}"), Some("1 + 2"));
        assert_eq!(expression_text(" {% 1 %}"), None);
        assert_eq!(expression_text("{% 1 %} "), None);
        assert_eq!(expression_text("plain"), None);
    }

    #[test]
    fn given_an_output_template_when_evaluated_then_expressions_read_states_input() {
        let input = json!({"a": 2});
        let context = ContextObject::from_value(json!({"Execution": {"Id": "x"}}));
        let scope = scope_over(&input, &context);
        let out = evaluate_template(
            &json!({"sum": "{% $states.input.a + 1 %}", "id": "{% $states.context.Execution.Id %}", "lit": "text", "n": [1, "{% 'x' %}"]}),
            "Output",
            &scope,
        )
        .expect("evaluates");
        assert_eq!(
            out,
            json!({"sum": 3, "id": "x", "lit": "text", "n": [1, "x"]})
        );
    }

    #[test]
    fn given_an_undefined_field_when_evaluated_then_the_cause_names_the_field_path() {
        let input = json!({});
        let context = ContextObject::default();
        let scope = scope_over(&input, &context);
        let failure =
            evaluate_template(&json!({"result": "{% $doesNotExist %}"}), "Output", &scope)
                .expect_err("undefined");
        assert_eq!(failure.error.error, "States.QueryEvaluationError");
        assert_eq!(
            failure.error.cause,
            "An error occurred while executing the state 'S' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
        );
        assert_eq!(failure.location, "Output/result");
    }

    #[test]
    fn given_items_of_the_wrong_type_when_evaluated_then_aws_wording() {
        let input = json!({});
        let context = ContextObject::default();
        let scope = scope_over(&input, &context);
        let failure = evaluate_typed(&json!("{% {'foo': 'bar'} %}"), "Items", "array", &scope)
            .expect_err("object is not an array");
        assert!(failure.error.cause.ends_with(
            "The JSONata expression '{'foo': 'bar'}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"
        ));
    }

    #[test]
    fn given_the_aws_functions_when_called_then_they_compute() {
        let input = json!({});
        let context = ContextObject::default();
        let scope = scope_over(&input, &context);
        let evaluation = FieldEvaluation::new(&scope);
        let eval = |text: &str| evaluation.required(text, "Output").expect(text);
        assert_eq!(eval("$partition([1,2,3], 2)"), json!([[1, 2], [3]]));
        assert_eq!(eval("$range(0, 10, 5)"), json!([0, 5, 10]));
        assert_eq!(eval("$range(3, 1, -1)"), json!([3, 2, 1]));
        assert_eq!(eval("$range(1, 9, 9)"), json!(1));
        assert_eq!(
            eval("$hash('abc', 'SHA-256')"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            eval("$hash('abc', 'MD5')"),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(eval("$random(7) = $random(7)"), json!(true));
        assert_eq!(eval("$parse('{\"a\": [1]}')"), json!({"a": [1]}));
        let id = eval("$uuid()");
        let id = id.as_str().expect("a string");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn given_variables_when_evaluated_then_they_are_visible_by_name() {
        let input = json!({});
        let mut variables = Map::new();
        variables.insert("total".into(), json!(41));
        let context = ContextObject::default().with_variables(Arc::new(variables));
        let scope = scope_over(&input, &context);
        assert_eq!(
            FieldEvaluation::new(&scope)
                .required("$total + 1", "Output")
                .expect("evaluates"),
            json!(42)
        );
    }
}
