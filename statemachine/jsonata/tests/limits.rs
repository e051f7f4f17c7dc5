//! Runaway evaluations stop with U1001 within a tokio-sized (2 MiB) native stack.

// `jsonata::Error` is fixed by the API contract.
#![allow(clippy::result_large_err)]

mod common;
use common::*;
use jsonata::{Environment, Expression, Limits};
use serde_json::json;

/// Runs `f` on a thread with a 2 MiB stack (the tokio worker default).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn given_a_deeply_nested_expression_when_evaluated_on_a_2mib_stack_then_u1001_is_returned() {
    let result = on_small_stack(|| {
        let depth = 900;
        let src = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        let expr = Expression::parse(&src).expect("parses");
        expr.evaluate(None, &Environment::new())
    });
    assert_eq!(result.unwrap_err().code, "U1001");
}

#[test]
fn given_an_absurdly_nested_expression_when_parsed_on_a_2mib_stack_then_u1001_is_returned() {
    let result = on_small_stack(|| {
        let src = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        Expression::parse(&src).map(|_| ())
    });
    assert_eq!(result.unwrap_err().code, "U1001");
    let result = on_small_stack(|| {
        let src = format!("1{}", " + 1".repeat(100_000));
        Expression::parse(&src).map(|_| ())
    });
    assert_eq!(result.unwrap_err().code, "U1001");
}

#[test]
fn given_non_terminating_recursion_when_evaluated_on_a_2mib_stack_then_u1001_is_returned() {
    let result = on_small_stack(|| {
        let expr = Expression::parse("($f := function($n){ $n + $f($n + 1) }; $f(0))").unwrap();
        expr.evaluate(None, &Environment::new())
    });
    assert_eq!(result.unwrap_err().code, "U1001");
}

#[test]
fn given_a_raised_depth_limit_when_recursing_on_a_2mib_stack_then_the_stack_guard_still_stops_it() {
    let result = on_small_stack(|| {
        let mut env = Environment::new();
        env.set_limits(Limits {
            max_depth: 1_000_000,
            max_steps: 100_000_000,
        });
        let expr = Expression::parse("($f := function($n){ [$f($n + 1)] }; $f(0))").unwrap();
        expr.evaluate(None, &env)
    });
    assert_eq!(result.unwrap_err().code, "U1001");
}

#[test]
fn given_an_infinite_tail_recursive_loop_when_evaluated_then_the_step_limit_stops_it() {
    let mut env = Environment::new();
    env.set_limits(Limits {
        max_depth: 500,
        max_steps: 200_000,
    });
    let e = eval_with("($f := function($n){ $f($n + 1) }; $f(0))", None, &env).unwrap_err();
    assert_eq!(e.code, "U1001");
}

#[test]
fn given_default_limits_when_looping_forever_then_u1001_is_returned() {
    let e = eval_with(
        "($f := function($n){ $f($n + 1) }; $f(0))",
        None,
        &Environment::new(),
    )
    .unwrap_err();
    assert_eq!(e.code, "U1001");
}

#[test]
fn given_huge_ranges_when_evaluated_then_allocation_is_bounded() {
    assert_eq!(code("[1..10000001]"), "D2014");
    // ten ranges of ten million items would need gigabytes: the step budget stops it first
    let src = format!("[{}]", ["1..9999999"; 10].join(", "));
    assert_eq!(code(&src), "U1001");
    assert_eq!(code("$pad('', 2000000000)"), "U1001");
    assert_eq!(
        code("$reduce([1..64], function($a, $v){ $a & $a }, 'xx')"),
        "U1001"
    );
}

#[test]
fn given_a_deeply_nested_constructed_value_when_returned_then_u1001_is_returned_without_overflow() {
    let result = on_small_stack(|| {
        eval_with(
            "$reduce([1..50000], function($acc, $v){ {'x': $acc} }, {})",
            None,
            &Environment::new(),
        )
    });
    assert_eq!(result.unwrap_err().code, "U1001");
}

#[test]
fn given_a_recursive_closure_when_evaluated_many_times_then_results_are_stable() {
    // closures bound in their own scope form reference cycles; evaluate() breaks them
    let expr =
        Expression::parse("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(50))").unwrap();
    for _ in 0..1000 {
        assert_eq!(
            expr.evaluate(None, &Environment::new()).unwrap(),
            Some(json!(50))
        );
    }
}
