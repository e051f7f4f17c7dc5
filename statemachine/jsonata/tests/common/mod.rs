//! Helpers shared by the integration tests.

#![allow(dead_code)]
// `jsonata::Error` is fixed by the API contract.
#![allow(clippy::result_large_err)]

use jsonata::{Environment, Error, Expression};
use serde_json::Value;

pub fn eval_with(
    expr: &str,
    input: Option<&Value>,
    env: &Environment,
) -> Result<Option<Value>, Error> {
    Expression::parse(expr)?.evaluate(input, env)
}

pub fn eval(expr: &str, input: &Value) -> Option<Value> {
    eval_with(expr, Some(input), &Environment::new())
        .unwrap_or_else(|e| panic!("{expr}: {} {}", e.code, e.message))
}

pub fn eval0(expr: &str) -> Option<Value> {
    eval_with(expr, None, &Environment::new())
        .unwrap_or_else(|e| panic!("{expr}: {} {}", e.code, e.message))
}

pub fn err(expr: &str, input: Option<&Value>) -> Error {
    match eval_with(expr, input, &Environment::new()) {
        Ok(v) => panic!("{expr}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

pub fn code(expr: &str) -> String {
    err(expr, None).code
}
