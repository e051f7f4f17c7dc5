//! The public API: environments, native functions, result conversion.

// `jsonata::Error` is fixed by the API contract.
#![allow(clippy::result_large_err)]

mod common;
use common::*;
use jsonata::{Environment, Error, Expression, NativeFunction};
use serde_json::json;
use std::sync::Arc;

#[test]
fn given_bindings_when_evaluating_then_variables_resolve() {
    let mut env = Environment::new();
    env.bind("states", json!({"input": {"a": {"b": 7}}}));
    assert_eq!(
        eval_with("$states.input.a.b", None, &env).unwrap(),
        Some(json!(7))
    );
}

#[test]
fn given_a_registered_function_when_called_then_it_receives_json_arguments() {
    let mut env = Environment::new();
    let f: NativeFunction = Arc::new(|args| {
        let n = args
            .first()
            .cloned()
            .flatten()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        Ok(Some(json!(n * 2.0)))
    });
    env.register_function("double", f);
    assert_eq!(
        eval_with("$double(21)", None, &env).unwrap(),
        Some(json!(42))
    );
    assert_eq!(
        eval_with("$map([1,2], $double)", None, &env).unwrap(),
        Some(json!([2, 4]))
    );
}

#[test]
fn given_a_native_function_that_fails_when_called_then_its_error_is_returned() {
    let mut env = Environment::new();
    env.register_function(
        "fail",
        Arc::new(|_| Err(Error::new("X0001", "custom failure"))),
    );
    let e = eval_with("$fail()", None, &env).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("X0001", "custom failure")
    );
}

#[test]
fn given_a_registered_function_named_like_a_builtin_when_called_then_it_overrides() {
    let mut env = Environment::new();
    env.register_function("uppercase", Arc::new(|_| Ok(Some(json!("overridden")))));
    assert_eq!(
        eval_with("$uppercase('x')", None, &env).unwrap(),
        Some(json!("overridden"))
    );
}

#[test]
fn given_undefined_input_when_evaluating_then_paths_are_undefined() {
    assert_eq!(eval_with("a.b", None, &Environment::new()).unwrap(), None);
    assert_eq!(eval_with("$", None, &Environment::new()).unwrap(), None);
}

#[test]
fn given_an_expression_when_shared_across_threads_then_it_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expression>();
    assert_send_sync::<Environment>();
    let expr = Arc::new(Expression::parse("$ * 2").unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let expr = expr.clone();
            std::thread::spawn(move || expr.evaluate(Some(&json!(i)), &Environment::new()).unwrap())
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results,
        vec![
            Some(json!(0)),
            Some(json!(2)),
            Some(json!(4)),
            Some(json!(6))
        ]
    );
}

#[test]
fn given_large_and_fractional_numbers_when_returned_then_integers_stay_integers() {
    assert_eq!(
        serde_json::to_string(&eval0("9007199254740992").unwrap()).unwrap(),
        "9007199254740992"
    );
    assert_eq!(
        serde_json::to_string(&eval0("1e300").unwrap()).unwrap(),
        "1e+300"
    );
    assert_eq!(
        serde_json::to_string(&eval0("0.5").unwrap()).unwrap(),
        "0.5"
    );
}

#[test]
fn given_an_error_when_displayed_then_the_message_has_no_code() {
    let e = Expression::parse("$")
        .unwrap()
        .evaluate(None, &Environment::new())
        .map(|_| ());
    assert!(e.is_ok());
    let e = err("'a' + 1", None);
    assert_eq!(
        e.to_string(),
        "The left side of the \"+\" operator must evaluate to a number"
    );
    assert_eq!(e.token.as_deref(), Some("+"));
    assert!(e.position.is_some());
    assert!(format!("{:?}", Environment::new()).contains("Environment"));
}
