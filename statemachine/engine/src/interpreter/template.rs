//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`): fields whose name ends in
//! `.$` take the value of a path or of an intrinsic function call; every other field is copied.
//! Also the evaluation of the 18 intrinsic functions over the `asl` crate's call AST.

use asl::intrinsics::{
    Argument, IntrinsicCall, IntrinsicFunction, PayloadValue, TemplatePiece, parse_payload_value,
};
use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Number, Value, json};

use super::paths::{PathFailure, Roots, select};
use crate::error::StatesError;

/// AWS limit for `States.ArrayRange`: "The array can contain up to 1000 elements".
const MAX_RANGE_ITEMS: usize = 1000;
/// AWS limit for `States.Base64Encode` / `Base64Decode` / `Hash` input: 10,000 characters.
const MAX_ENCODE_CHARS: usize = 10_000;

pub(crate) fn path_failure(failure: PathFailure) -> StatesError {
    match failure {
        PathFailure::Variable(name) => {
            StatesError::runtime(format!("the variable ${name} is not defined"))
        }
        PathFailure::BadRegex(e) => {
            StatesError::runtime(format!("invalid regular expression in a path filter: {e}"))
        }
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// How `States.Format` prints an argument: AWS (a Java service) prints a string as is and an
/// object or array the way Java's `Map` / `List` `toString` do, keys and strings unquoted:
/// `{"Arg1": 1, "Arg2": []}` becomes `{Arg1=1, Arg2=[]}` (LocalStack parity snapshot
/// `test_format_2`, recorded against AWS).
fn format_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_text(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                format_text(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&compact(other)),
    }
}

/// Java's `Math.round`: the nearest integer, halves rounded up (towards positive infinity),
/// so `-0.5` is `0` and `2.5` is `3`.
fn java_round(f: f64) -> f64 {
    (f + 0.5).floor()
}

/// Applies a payload template to the roots.
pub fn apply_template(template: &Value, roots: Roots<'_>) -> Result<Value, StatesError> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, value) in fields {
                if let Some(name) = key.strip_suffix(".$") {
                    let Value::String(expr) = value else {
                        return Err(StatesError::runtime(format!(
                            "the value of the field '{key}' must be a path or an intrinsic function"
                        )));
                    };
                    out.insert(name.to_owned(), evaluate_expression(key, expr, roots)?);
                } else {
                    out.insert(key.clone(), apply_template(value, roots)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| apply_template(item, roots))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Evaluates the value of a `.$` field (`field` names it in error messages).
pub fn evaluate_expression(
    field: &str,
    expr: &str,
    roots: Roots<'_>,
) -> Result<Value, StatesError> {
    let parsed = parse_payload_value(expr).map_err(|e| {
        StatesError::runtime(format!("the value of the field '{field}' is invalid: {e}"))
    })?;
    match parsed {
        // AWS prints the state's input here even for a context path (LocalStack parity snapshot
        // test_invalid_jsonpath[INVALID_JSONPATH_IN_STRING_EXPR_CONTEXTPATH]).
        PayloadValue::Path(path) => select(&path, roots).map_err(path_failure)?.ok_or_else(|| {
            StatesError::runtime(format!(
                "The JSONPath '{expr}' specified for the field '{field}' could not be found in the input '{}'",
                compact(roots.input)
            ))
        }),
        PayloadValue::Intrinsic(call) => evaluate_call(&call, roots),
    }
}

/// AWS reports intrinsic-function failures as `States.Runtime` (its error-handling guide lists
/// `States.IntrinsicFailure` as reserved for future use), so they are neither retried nor caught.
fn failure(function: IntrinsicFunction, message: impl std::fmt::Display) -> StatesError {
    StatesError::runtime(format!("Invalid arguments in {function}: {message}"))
}

/// A `States.MathAdd` operand: "If you specify a non-integer value for one or both the
/// arguments, Step Functions will round it off to the nearest integer" (AWS developer guide),
/// with Java's half-up rounding (`1.5` → 2, `-1.5` → -1, `-0.5` → 0; LocalStack parity snapshot
/// `test_math_add`, recorded against AWS).
fn rounded_integer(function: IntrinsicFunction, value: &Value) -> Result<i64, StatesError> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .map(java_round)
                    .filter(|f| f.is_finite() && (i64::MIN as f64..=i64::MAX as f64).contains(f))
                    .map(|f| f as i64)
            })
            .ok_or_else(|| failure(function, format!("{n} is out of range"))),
        other => Err(failure(function, format!("{other} is not a number"))),
    }
}

fn integer(function: IntrinsicFunction, value: &Value) -> Result<i64, StatesError> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| failure(function, format!("{n} is not an integer"))),
        other => Err(failure(function, format!("{other} is not an integer"))),
    }
}

fn string(function: IntrinsicFunction, value: &Value) -> Result<String, StatesError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(failure(function, format!("{other} is not a string"))),
    }
}

fn array(function: IntrinsicFunction, value: &Value) -> Result<Vec<Value>, StatesError> {
    match value {
        Value::Array(items) => Ok(items.clone()),
        other => Err(failure(function, format!("{other} is not an array"))),
    }
}

fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A new random execution name (a UUID, as AWS generates).
pub fn new_uuid() -> String {
    uuid_v4()
}

fn number_value(n: i64) -> Value {
    Value::Number(Number::from(n))
}

/// Evaluates an intrinsic function call.
pub fn evaluate_call(call: &IntrinsicCall, roots: Roots<'_>) -> Result<Value, StatesError> {
    use IntrinsicFunction as F;
    let f = call.function;
    let mut args = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        args.push(match arg {
            Argument::String(s) => Value::String(s.clone()),
            Argument::Number(n) => Value::Number(n.clone()),
            Argument::Boolean(b) => Value::Bool(*b),
            Argument::Null => Value::Null,
            // Only the first argument of States.Format is a template; it is read below.
            Argument::FormatTemplate(_) => Value::Null,
            Argument::Path(path) => select(path, roots).map_err(path_failure)?.ok_or_else(|| {
                StatesError::runtime(format!(
                    "The JSONPath '{path}' specified as an argument of {f} could not be found in the input '{}'",
                    compact(roots.input)
                ))
            })?,
            Argument::Call(inner) => evaluate_call(inner, roots)?,
        });
    }
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        F::Format => {
            // A literal template was split at its unescaped `{}` by the parser (`\{\}` stays
            // text); a template read from a path is split at every `{}`.
            let pieces = match call.args.first() {
                Some(Argument::FormatTemplate(pieces)) => pieces.clone(),
                _ => {
                    let template = string(f, &arg(0))?;
                    let mut pieces = Vec::new();
                    for (i, text) in template.split("{}").enumerate() {
                        if i > 0 {
                            pieces.push(TemplatePiece::Placeholder);
                        }
                        pieces.push(TemplatePiece::Text(text.to_owned()));
                    }
                    pieces
                }
            };
            let values = &args[1.min(args.len())..];
            let mut out = String::new();
            let mut used = 0;
            for piece in &pieces {
                match piece {
                    TemplatePiece::Text(text) => out.push_str(text),
                    TemplatePiece::Placeholder => {
                        let value = values.get(used).ok_or_else(|| {
                            failure(f, "the template has more placeholders than arguments")
                        })?;
                        format_text(value, &mut out);
                        used += 1;
                    }
                }
            }
            if used != values.len() {
                return Err(failure(
                    f,
                    "the template has fewer placeholders than arguments",
                ));
            }
            Value::String(out)
        }
        F::StringToJson => {
            let text = string(f, &arg(0))?;
            // AWS returns null for an empty or blank string (LocalStack parity snapshot
            // test_string_to_json, recorded against AWS: "" and " " give null).
            if text.trim().is_empty() {
                Value::Null
            } else if text.trim() == "-0" {
                // JSON's integer `-0` is the integer 0 for AWS (test_string_to_json: "-0" → 0),
                // not the float -0.0 serde_json reads.
                number_value(0)
            } else {
                serde_json::from_str(&text)
                    .map_err(|e| failure(f, format!("the string is not JSON: {e}")))?
            }
        }
        F::JsonToString => Value::String(compact(&arg(0))),
        F::Array => Value::Array(args),
        F::ArrayPartition => {
            let items = array(f, &arg(0))?;
            let size = integer(f, &arg(1))?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| failure(f, "the chunk size must be a positive integer"))?;
            Value::Array(
                items
                    .chunks(size)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            )
        }
        F::ArrayContains => {
            let items = array(f, &arg(0))?;
            Value::Bool(items.contains(&arg(1)))
        }
        F::ArrayRange => {
            let (start, end, step) = (
                integer(f, &arg(0))?,
                integer(f, &arg(1))?,
                integer(f, &arg(2))?,
            );
            if step == 0 {
                return Err(failure(f, "the step must not be 0"));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                out.push(number_value(i));
                if out.len() > MAX_RANGE_ITEMS {
                    return Err(failure(f, "the range has more than 1000 elements"));
                }
                // Past i64::MAX (or MIN) the range has no further element.
                let Some(next) = i.checked_add(step) else {
                    break;
                };
                i = next;
            }
            Value::Array(out)
        }
        F::ArrayGetItem => {
            let items = array(f, &arg(0))?;
            let index = integer(f, &arg(1))?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| failure(f, format!("index {index} is out of bounds")))?
        }
        F::ArrayLength => number_value(array(f, &arg(0))?.len() as i64),
        F::ArrayUnique => {
            let mut out: Vec<Value> = Vec::new();
            for item in array(f, &arg(0))? {
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            Value::Array(out)
        }
        F::Base64Encode => {
            let text = string(f, &arg(0))?;
            if text.chars().count() > MAX_ENCODE_CHARS {
                return Err(failure(f, "the input exceeds 10000 characters"));
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
        }
        F::Base64Decode => {
            let text = string(f, &arg(0))?;
            if text.chars().count() > MAX_ENCODE_CHARS {
                return Err(failure(f, "the input exceeds 10000 characters"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|e| failure(f, format!("not base64: {e}")))?;
            Value::String(
                String::from_utf8(bytes)
                    .map_err(|_| failure(f, "the decoded data is not UTF-8"))?,
            )
        }
        F::Hash => {
            let data = match arg(0) {
                Value::String(s) => s,
                other => compact(&other),
            };
            if data.chars().count() > MAX_ENCODE_CHARS {
                return Err(failure(f, "the input exceeds 10000 characters"));
            }
            let algorithm = string(f, &arg(1))?;
            let digest = match algorithm.as_str() {
                "MD5" => {
                    use md5::Digest as _;
                    hex::encode(md5::Md5::digest(data.as_bytes()))
                }
                "SHA-1" => {
                    use sha1::Digest as _;
                    hex::encode(sha1::Sha1::digest(data.as_bytes()))
                }
                "SHA-256" => {
                    use sha2::Digest as _;
                    hex::encode(sha2::Sha256::digest(data.as_bytes()))
                }
                "SHA-384" => {
                    use sha2::Digest as _;
                    hex::encode(sha2::Sha384::digest(data.as_bytes()))
                }
                "SHA-512" => {
                    use sha2::Digest as _;
                    hex::encode(sha2::Sha512::digest(data.as_bytes()))
                }
                other => {
                    return Err(failure(
                        f,
                        format!(
                            "unknown algorithm {other} (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
                        ),
                    ));
                }
            };
            Value::String(digest)
        }
        F::JsonMerge => {
            let (Value::Object(mut left), Value::Object(right)) = (arg(0), arg(1)) else {
                return Err(failure(f, "both arguments must be objects"));
            };
            if arg(2) != Value::Bool(false) {
                return Err(failure(f, "only a shallow merge (false) is supported"));
            }
            for (k, v) in right {
                left.insert(k, v);
            }
            Value::Object(left)
        }
        F::MathRandom => {
            let (start, end) = (integer(f, &arg(0))?, integer(f, &arg(1))?);
            if end <= start {
                return Err(failure(f, "the end must be greater than the start"));
            }
            let n = if args.len() > 2 {
                let seed = integer(f, &arg(2))?;
                rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..end)
            } else {
                rand::rng().random_range(start..end)
            };
            number_value(n)
        }
        F::MathAdd => {
            let (a, b) = (rounded_integer(f, &arg(0))?, rounded_integer(f, &arg(1))?);
            number_value(a.checked_add(b).ok_or_else(|| failure(f, "overflow"))?)
        }
        F::StringSplit => {
            let text = string(f, &arg(0))?;
            let separators = string(f, &arg(1))?;
            Value::Array(
                text.split(|c| separators.contains(c))
                    .filter(|s| !s.is_empty())
                    .map(|s| json!(s))
                    .collect(),
            )
        }
        F::Uuid => Value::String(uuid_v4()),
    })
}
