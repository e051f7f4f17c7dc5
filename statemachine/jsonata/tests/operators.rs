//! Operators, control flow, functions as values, regexes, transforms and error codes.

mod common;
use common::*;
use serde_json::json;

#[test]
fn given_arithmetic_when_evaluated_then_integral_results_are_json_integers() {
    assert_eq!(eval0("1 + 2"), Some(json!(3)));
    assert_eq!(eval0("7 / 2"), Some(json!(3.5)));
    assert_eq!(eval0("7 % 3"), Some(json!(1)));
    assert_eq!(eval0("-(2 * 3)"), Some(json!(-6)));
    assert_eq!(
        serde_json::to_string(&eval0("2.0 * 3").unwrap()).unwrap(),
        "6"
    );
}

#[test]
fn given_non_numeric_operands_when_doing_arithmetic_then_type_errors_are_raised() {
    assert_eq!(code("'a' + 1"), "T2001");
    assert_eq!(code("1 + 'a'"), "T2002");
    assert_eq!(code("-'a'"), "D1002");
    assert_eq!(code("1/(10e300 * 10e100)"), "D1001");
}

#[test]
fn given_a_non_finite_result_when_evaluated_then_d1001_is_returned() {
    assert_eq!(code("1/0"), "D1001");
}

#[test]
fn given_comparisons_when_evaluated_then_types_must_match() {
    assert_eq!(eval0("1 < 2"), Some(json!(true)));
    assert_eq!(eval0("'a' < 'b'"), Some(json!(true)));
    assert_eq!(code("1 < 'a'"), "T2009");
    assert_eq!(code("true < 1"), "T2010");
    assert_eq!(eval0("[1,2] = [1,2]"), Some(json!(true)));
    assert_eq!(eval0("nothing = 1"), Some(json!(false)));
}

#[test]
fn given_boolean_operators_when_evaluated_then_they_short_circuit_and_use_effective_booleans() {
    assert_eq!(eval0("true and false"), Some(json!(false)));
    assert_eq!(eval0("false or 'x'"), Some(json!(true)));
    assert_eq!(
        eval0("false and $error('not evaluated')"),
        Some(json!(false))
    );
    assert_eq!(eval0("3 in [1,2,3]"), Some(json!(true)));
}

#[test]
fn given_string_concatenation_when_evaluated_then_values_are_stringified() {
    assert_eq!(eval0("'a' & 1 & true & null"), Some(json!("a1truenull")));
    assert_eq!(eval0("'x' & (0.1 + 0.2)"), Some(json!("x0.3")));
}

#[test]
fn given_ranges_when_evaluated_then_integer_sequences_are_built() {
    assert_eq!(eval0("[1..4]"), Some(json!([1, 2, 3, 4])));
    assert_eq!(eval0("[3..1]"), Some(json!([])));
    assert_eq!(code("[1.5..3]"), "T2003");
    assert_eq!(code("[1..10000001]"), "D2014");
}

#[test]
fn given_conditionals_and_defaults_when_evaluated_then_the_right_branch_is_taken() {
    assert_eq!(eval0("1 > 2 ? 'yes' : 'no'"), Some(json!("no")));
    assert_eq!(eval0("1 > 2 ? 'yes'"), None);
    assert_eq!(
        eval("a ?: 'default'", &json!({"a": 0})),
        Some(json!("default"))
    );
    assert_eq!(eval("a ?? 'default'", &json!({"a": 0})), Some(json!(0)));
    assert_eq!(
        eval("b ?? 'default'", &json!({"a": 0})),
        Some(json!("default"))
    );
}

#[test]
fn given_blocks_and_bindings_when_evaluated_then_variables_are_scoped() {
    assert_eq!(eval0("($x := 2; $y := $x * 3; $y)"), Some(json!(6)));
    assert_eq!(eval0("($x := 1; ($x := 2); $x)"), Some(json!(1)));
}

#[test]
fn given_lambdas_and_closures_when_invoked_then_they_capture_their_scope() {
    assert_eq!(
        eval0("($add := function($a){ function($b){ $a + $b } }; $add(2)(3))"),
        Some(json!(5))
    );
    assert_eq!(eval0("λ($x){ $x * $x }(4)"), Some(json!(16)));
}

#[test]
fn given_partial_application_and_chains_when_invoked_then_arguments_are_filled() {
    assert_eq!(
        eval0("($first := $substring(?, 0, 3); $first('abcdef'))"),
        Some(json!("abc"))
    );
    assert_eq!(eval0("'hello' ~> $uppercase()"), Some(json!("HELLO")));
    assert_eq!(
        eval0("($f := $uppercase ~> $substring(?, 1); $f('abc'))"),
        Some(json!("BC"))
    );
}

#[test]
fn given_signatures_when_arguments_mismatch_then_t0410_is_raised() {
    assert_eq!(
        eval0("function($a, $b)<nn:n>{ $a + $b }(1, 2)"),
        Some(json!(3))
    );
    let e = err("function($a)<n:n>{ $a }('x')", None);
    assert_eq!(e.code, "T0410");
    let e = err("$substring('abc', 'x')", None);
    assert_eq!(e.code, "T0410");
    assert_eq!(
        e.message,
        "Argument 2 of function \"substring\" does not match function signature"
    );
}

#[test]
fn given_tail_recursion_when_deep_then_it_runs_in_constant_stack() {
    let expr =
        "($loop := function($n, $acc){ $n = 0 ? $acc : $loop($n - 1, $acc + 1) }; $loop(20000, 0))";
    assert_eq!(eval0(expr), Some(json!(20000)));
}

#[test]
fn given_regex_literals_when_matching_then_js_semantics_apply() {
    assert_eq!(eval0("$contains('Hello', /^h/i)"), Some(json!(true)));
    assert_eq!(eval0("$replace('a1b22', /\\d+/, '#')"), Some(json!("a#b#")));
    assert_eq!(
        eval0("$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1')"),
        Some(json!("Smith, John"))
    );
    assert_eq!(
        eval0("$split('a1b2c', /[0-9]/)"),
        Some(json!(["a", "b", "c"]))
    );
    assert_eq!(
        eval0("$match('ab12', /([a-z])(\\d)?/)"),
        Some(
            json!([{"match": "a", "index": 0, "groups": ["a", null]}, {"match": "b1", "index": 1, "groups": ["b", "1"]}])
        )
    );
    assert_eq!(code("$match('aaa', /x*/)"), "D1004");
}

#[test]
fn given_unsupported_regex_features_when_parsing_then_a_clear_error_is_returned() {
    let e = jsonata::Expression::parse("$match('a', /(?=a)/)").unwrap_err();
    assert_eq!(e.code, "S0303");
    assert!(e.message.contains("lookaround"), "{}", e.message);
}

#[test]
fn given_a_transform_when_applied_then_a_modified_copy_is_returned() {
    let data = json!({"a": {"b": 1, "c": 2}, "d": [{"b": 3}]});
    assert_eq!(
        eval("$ ~> |**[$exists(b)]|{'b': b * 10}, ['c']|", &data),
        Some(json!({"a": {"b": 10}, "d": [{"b": 30}]}))
    );
    assert_eq!(eval("a", &data), Some(json!({"b": 1, "c": 2})));
    assert_eq!(code("{} ~> |$|5|"), "T2011");
}

#[test]
fn given_string_escapes_and_comments_when_parsing_then_they_are_handled() {
    assert_eq!(
        eval0("/* comment */ \"a\\tb\\u00e9\""),
        Some(json!("a\tbé"))
    );
    assert_eq!(eval0("'\\ud83d\\ude00'"), Some(json!("😀")));
}

#[test]
fn given_syntax_errors_when_parsing_then_codes_and_positions_are_reported() {
    let e = jsonata::Expression::parse("(1 + 2").unwrap_err();
    assert_eq!(e.code, "S0203");
    let e = jsonata::Expression::parse("'abc").unwrap_err();
    assert_eq!(e.code, "S0101");
    let e = jsonata::Expression::parse("1 + ]").unwrap_err();
    assert_eq!(e.code, "S0211");
    assert_eq!(e.position, Some(5));
    assert_eq!(
        jsonata::Expression::parse("a := 1").unwrap_err().code,
        "S0212"
    );
    assert_eq!(
        jsonata::Expression::parse("/* open").unwrap_err().code,
        "S0106"
    );
    assert_eq!(jsonata::Expression::parse("%.a").unwrap_err().code, "S0217");
}

#[test]
fn given_invoking_a_non_function_when_evaluated_then_t1006_or_t1005_is_raised() {
    assert_eq!(code("($x := 1; $x())"), "T1006");
    assert_eq!(code("string(1)"), "T1005");
}

#[test]
fn given_object_constructor_keys_when_not_strings_then_t1003_is_raised() {
    assert_eq!(code("{1: 2}"), "T1003");
    assert_eq!(eval0("{'a': 1, 'b': undefined}"), Some(json!({"a": 1})));
}
