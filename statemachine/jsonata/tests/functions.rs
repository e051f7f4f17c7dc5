//! Built-in functions.

mod common;
use common::*;
use jsonata::Environment;
use serde_json::json;

#[test]
fn given_numbers_when_stringified_then_javascript_formatting_is_used() {
    assert_eq!(eval0("$string(1e21)"), Some(json!("1e+21")));
    assert_eq!(eval0("$string(0.1 + 0.2)"), Some(json!("0.3")));
    assert_eq!(eval0("$string(1/3)"), Some(json!("0.333333333333333")));
    assert_eq!(eval0("$string(1e-7)"), Some(json!("1e-7")));
    assert_eq!(eval0("$string(123456789012)"), Some(json!("123456789012")));
    assert_eq!(
        eval0("$string({'a': [1, 'x', true]})"),
        Some(json!("{\"a\":[1,\"x\",true]}"))
    );
    assert_eq!(
        eval0("$string({'a': 1}, true)"),
        Some(json!("{\n  \"a\": 1\n}"))
    );
    assert_eq!(code("$string(1/0)"), "D3001");
}

#[test]
fn given_strings_when_cast_with_number_then_json_numbers_and_prefixes_parse() {
    assert_eq!(eval0("$number('12.5')"), Some(json!(12.5)));
    assert_eq!(eval0("$number('0x1F')"), Some(json!(31)));
    assert_eq!(eval0("$number(true)"), Some(json!(1)));
    let e = err("$number('abc')", None);
    assert_eq!(e.code, "D3030");
    assert_eq!(e.message, "Unable to cast value to a number: \"abc\"");
}

#[test]
fn given_aggregates_when_applied_then_they_compute_over_sequences() {
    let data = json!({"x": [1, 2, 3, 4]});
    assert_eq!(eval("$sum(x)", &data), Some(json!(10)));
    assert_eq!(eval("$count(x)", &data), Some(json!(4)));
    assert_eq!(eval("$average(x)", &data), Some(json!(2.5)));
    assert_eq!(eval("$max(x)", &data), Some(json!(4)));
    assert_eq!(eval("$min(x)", &data), Some(json!(1)));
    assert_eq!(eval("$count(nothing)", &data), Some(json!(0)));
    assert_eq!(code("$sum(['a'])"), "T0412");
}

#[test]
fn given_string_functions_when_applied_then_results_match_jsonata() {
    assert_eq!(
        eval0("$substring('Hello World', 3, 5)"),
        Some(json!("lo Wo"))
    );
    assert_eq!(eval0("$substring('Hello', -3)"), Some(json!("llo")));
    assert_eq!(eval0("$substringBefore('a-b-c', '-')"), Some(json!("a")));
    assert_eq!(eval0("$substringAfter('a-b-c', '-')"), Some(json!("b-c")));
    assert_eq!(
        eval0("$uppercase('abc') & $lowercase('DEF')"),
        Some(json!("ABCdef"))
    );
    assert_eq!(eval0("$trim('  a   b  ')"), Some(json!("a b")));
    assert_eq!(eval0("$pad('x', -3, '#')"), Some(json!("##x")));
    assert_eq!(eval0("$length('héllo')"), Some(json!(5)));
    assert_eq!(eval0("$join(['a','b'], ', ')"), Some(json!("a, b")));
    assert_eq!(eval0("$split('a,b,c', ',', 2)"), Some(json!(["a", "b"])));
    assert_eq!(eval0("$contains('abc', 'b')"), Some(json!(true)));
    assert_eq!(eval0("$replace('aaa', 'a', 'b', 2)"), Some(json!("bba")));
}

#[test]
fn given_numeric_functions_when_applied_then_rounding_is_half_even() {
    assert_eq!(eval0("$round(2.5)"), Some(json!(2)));
    assert_eq!(eval0("$round(3.5)"), Some(json!(4)));
    assert_eq!(eval0("$round(1.005, 2)"), Some(json!(1)));
    assert_eq!(eval0("$round(123.456, -1)"), Some(json!(120)));
    assert_eq!(
        eval0("$floor(-1.5) + $ceil(1.2) + $abs(-3)"),
        Some(json!(3))
    );
    assert_eq!(eval0("$power(2, 10)"), Some(json!(1024)));
    assert_eq!(eval0("$sqrt(16)"), Some(json!(4)));
    assert_eq!(code("$sqrt(-1)"), "D3060");
}

#[test]
fn given_format_functions_when_applied_then_pictures_are_honoured() {
    assert_eq!(
        eval0("$formatNumber(1234.5678, '#,##0.00')"),
        Some(json!("1,234.57"))
    );
    assert_eq!(eval0("$formatNumber(0.14, '01%')"), Some(json!("14%")));
    assert_eq!(
        eval0(
            "$formatNumber(1234.5, '#.##0,0', {'decimal-separator': ',', 'grouping-separator': '.'})"
        ),
        Some(json!("1.234,5"))
    );
    assert_eq!(eval0("$formatBase(255, 16)"), Some(json!("ff")));
    assert_eq!(eval0("$formatInteger(1999, 'I')"), Some(json!("MCMXCIX")));
    assert_eq!(eval0("$formatInteger(21, 'w')"), Some(json!("twenty-one")));
    assert_eq!(
        eval0("$parseInteger('12,345', '#,##0')"),
        Some(json!(12345))
    );
}

#[test]
fn given_higher_order_functions_when_applied_then_callbacks_receive_value_index_array() {
    assert_eq!(
        eval0("$map([1,2,3], function($v, $i){ $v * $i })"),
        Some(json!([0, 2, 6]))
    );
    assert_eq!(
        eval0("$filter([1,2,3,4], function($v){ $v % 2 = 0 })"),
        Some(json!([2, 4]))
    );
    assert_eq!(
        eval0("$reduce([1,2,3], function($a, $b){ $a + $b }, 10)"),
        Some(json!(16))
    );
    assert_eq!(
        eval0("$single([1,2,3], function($v){ $v = 2 })"),
        Some(json!(2))
    );
    assert_eq!(code("$single([1,2,3], function($v){ $v > 1 })"), "D3138");
    assert_eq!(eval0("$sort([3,1,2])"), Some(json!([1, 2, 3])));
    assert_eq!(
        eval0("$sort(['b','a'], function($a, $b){ $a < $b })"),
        Some(json!(["b", "a"]))
    );
    assert_eq!(eval0("$zip([1,2],[3,4])"), Some(json!([[1, 3], [2, 4]])));
}

#[test]
fn given_object_functions_when_applied_then_keys_order_is_kept() {
    let data = json!({"b": 1, "a": 2});
    assert_eq!(eval("$keys($)", &data), Some(json!(["b", "a"])));
    assert_eq!(eval("$lookup($, 'a')", &data), Some(json!(2)));
    assert_eq!(
        eval("$merge([$, {'c': 3}])", &data),
        Some(json!({"b": 1, "a": 2, "c": 3}))
    );
    assert_eq!(eval("$spread($)", &data), Some(json!([{"b": 1}, {"a": 2}])));
    assert_eq!(
        eval("$each($, function($v, $k){ $k & $v })", &data),
        Some(json!(["b1", "a2"]))
    );
    assert_eq!(
        eval("$sift($, function($v){ $v > 1 })", &data),
        Some(json!({"a": 2}))
    );
    assert_eq!(
        eval("$exists(a) and $not($exists(z))", &data),
        Some(json!(true))
    );
    assert_eq!(
        eval("$type(a) & $type($) & $type([]) & $type(null)", &data),
        Some(json!("numberobjectarraynull"))
    );
}

#[test]
fn given_array_functions_when_applied_then_sequences_behave() {
    assert_eq!(eval0("$append([1], 2)"), Some(json!([1, 2])));
    assert_eq!(
        eval0("$distinct([1, 2, 1, {'a': 1}, {'a': 1}])"),
        Some(json!([1, 2, {"a": 1}]))
    );
    assert_eq!(eval0("$reverse([1, 2, 3])"), Some(json!([3, 2, 1])));
    assert_eq!(eval0("$count($shuffle([1, 2, 3]))"), Some(json!(3)));
}

#[test]
fn given_encoding_functions_when_applied_then_they_round_trip() {
    assert_eq!(
        eval0("$base64encode('hello:world')"),
        Some(json!("aGVsbG86d29ybGQ="))
    );
    assert_eq!(
        eval0("$base64decode('aGVsbG86d29ybGQ=')"),
        Some(json!("hello:world"))
    );
    assert_eq!(
        eval0("$encodeUrlComponent('a b&c')"),
        Some(json!("a%20b%26c"))
    );
    assert_eq!(
        eval0("$encodeUrl('http://x/a b?q=1&r')"),
        Some(json!("http://x/a%20b?q=1&r"))
    );
    assert_eq!(eval0("$decodeUrlComponent('a%20b')"), Some(json!("a b")));
    assert_eq!(code("$decodeUrl('%E0%A4%A')"), "D3140");
}

#[test]
fn given_date_functions_when_applied_then_iso_and_pictures_work() {
    assert_eq!(
        eval0("$fromMillis(1510067557121)"),
        Some(json!("2017-11-07T15:12:37.121Z"))
    );
    assert_eq!(
        eval0("$fromMillis(1510067557121, '[D1o] [MNn] [Y], [h]:[m01][P]', '-0500')"),
        Some(json!("7th November 2017, 10:12am"))
    );
    assert_eq!(
        eval0("$toMillis('2017-11-07T15:12:37.121Z')"),
        Some(json!(1510067557121_i64))
    );
    assert_eq!(
        eval0("$toMillis('2018-10-21', '[Y]-[M]-[D]')"),
        Some(json!(1540080000000_i64))
    );
    assert_eq!(code("$toMillis('not a date')"), "D3110");
}

#[test]
fn given_a_fixed_now_when_calling_now_and_millis_then_the_same_instant_is_returned() {
    let mut env = Environment::new();
    env.set_now(1_700_000_000_000);
    let out = eval_with("[$now(), $millis(), $now('[Y]')]", None, &env).unwrap();
    assert_eq!(
        out,
        Some(json!([
            "2023-11-14T22:13:20.000Z",
            1_700_000_000_000_i64,
            "2023"
        ]))
    );
}

#[test]
fn given_eval_error_and_assert_when_called_then_they_behave_like_jsonata() {
    assert_eq!(eval("$eval('a + 1')", &json!({"a": 1})), Some(json!(2)));
    assert_eq!(code("$eval('1 +')"), "D3120");
    let e = err("$error('boom')", None);
    assert_eq!((e.code.as_str(), e.message.as_str()), ("D3137", "boom"));
    assert_eq!(code("$assert(false, 'no')"), "D3141");
    assert_eq!(eval0("$boolean([0, 1])"), Some(json!(true)));
}
