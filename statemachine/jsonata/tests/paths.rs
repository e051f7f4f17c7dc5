//! Path navigation, predicates, sequences, wildcards, parent and positional bindings, sorting, grouping.

mod common;
use common::*;
use serde_json::json;

fn orders() -> serde_json::Value {
    json!({
        "Account": {
            "Name": "Firefly",
            "Order": [
                {"OrderID": "order1", "Product": [
                    {"Name": "Hat", "ID": 1, "Price": 34.45, "Quantity": 2},
                    {"Name": "Cloak", "ID": 2, "Price": 107.99, "Quantity": 1}
                ]},
                {"OrderID": "order2", "Product": [
                    {"Name": "Hat", "ID": 1, "Price": 34.45, "Quantity": 4}
                ]}
            ]
        }
    })
}

#[test]
fn given_nested_object_when_navigating_a_path_then_the_field_is_returned() {
    assert_eq!(eval("Account.Name", &orders()), Some(json!("Firefly")));
}

#[test]
fn given_arrays_along_a_path_when_navigating_then_results_are_flattened_into_one_sequence() {
    assert_eq!(
        eval("Account.Order.Product.Name", &orders()),
        Some(json!(["Hat", "Cloak", "Hat"]))
    );
}

#[test]
fn given_a_missing_field_when_navigating_then_the_result_is_undefined() {
    assert_eq!(eval("Account.Nope.Name", &orders()), None);
}

#[test]
fn given_a_singleton_sequence_when_evaluated_then_it_is_unwrapped_unless_brackets_keep_it() {
    let data = json!({"a": [{"b": 1}]});
    assert_eq!(eval("a.b", &data), Some(json!(1)));
    assert_eq!(eval("a.b[]", &data), Some(json!([1])));
}

#[test]
fn given_numeric_predicates_when_indexing_then_positive_and_negative_indexes_select_items() {
    let data = json!({"x": [10, 20, 30]});
    assert_eq!(eval("x[0]", &data), Some(json!(10)));
    assert_eq!(eval("x[-1]", &data), Some(json!(30)));
    assert_eq!(eval("x[[0, 2]]", &data), Some(json!([10, 30])));
    assert_eq!(eval("x[5]", &data), None);
}

#[test]
fn given_boolean_predicates_when_filtering_then_matching_items_are_kept() {
    assert_eq!(
        eval("Account.Order.Product[Price > 50].Name", &orders()),
        Some(json!("Cloak"))
    );
    assert_eq!(
        eval("Account.Order[0].Product[1].ID", &orders()),
        Some(json!(2))
    );
}

#[test]
fn given_wildcards_when_evaluated_then_values_of_all_fields_are_returned() {
    let data = json!({"a": 1, "b": {"c": 2}, "d": [3, 4]});
    assert_eq!(eval("*", &data), Some(json!([1, {"c": 2}, 3, 4])));
    assert_eq!(eval("**.c", &data), Some(json!(2)));
}

#[test]
fn given_an_input_array_when_using_dollar_then_the_whole_array_is_the_context() {
    let data = json!([1, 2, 3]);
    assert_eq!(eval("$", &data), Some(json!([1, 2, 3])));
    assert_eq!(eval("$[1]", &data), Some(json!(2)));
    assert_eq!(eval("$sum($)", &data), Some(json!(6)));
}

#[test]
fn given_order_by_when_sorting_then_terms_and_directions_apply() {
    assert_eq!(
        eval(
            "Account.Order.Product^(>Price, Quantity).Quantity",
            &orders()
        ),
        Some(json!([1, 2, 4]))
    );
}

#[test]
fn given_group_by_object_constructor_when_evaluated_then_values_are_grouped_by_key() {
    assert_eq!(
        eval("Account.Order.Product{Name: $sum(Quantity)}", &orders()),
        Some(json!({"Hat": 6, "Cloak": 1}))
    );
}

#[test]
fn given_parent_operator_when_navigating_then_the_enclosing_object_is_reachable() {
    assert_eq!(
        eval(
            "Account.Order.Product.{ 'order': %.OrderID, 'name': Name }[0]",
            &orders()
        ),
        Some(json!({"order": "order1", "name": "Hat"}))
    );
}

#[test]
fn given_focus_and_index_bindings_when_joining_then_tuples_carry_the_variables() {
    assert_eq!(
        eval("Account.Order#$i.Product.{ 'i': $i, 'n': Name }", &orders()),
        Some(json!([{"i": 0, "n": "Hat"}, {"i": 0, "n": "Cloak"}, {"i": 1, "n": "Hat"}]))
    );
    let data =
        json!({"a": [{"id": 1}, {"id": 2}], "b": [{"ref": 2, "v": "x"}, {"ref": 1, "v": "y"}]});
    assert_eq!(
        eval(
            "a@$a.b@$b[$b.ref = $a.id].{ 'id': $a.id, 'v': $b.v }",
            &data
        ),
        Some(json!([
            {"id": 1, "v": "y"}, {"id": 2, "v": "x"}
        ]))
    );
}

#[test]
fn given_backtick_names_when_navigating_then_unusual_field_names_work() {
    let data = json!({"a b": {"c-d": 5}});
    assert_eq!(eval("`a b`.`c-d`", &data), Some(json!(5)));
}

#[test]
fn given_array_constructors_in_paths_when_evaluated_then_nested_arrays_are_kept() {
    let data = json!({"x": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]});
    assert_eq!(eval("x.[a, b]", &data), Some(json!([[1, 2], [3, 4]])));
    assert_eq!(eval("[x.a]", &data), Some(json!([1, 3])));
}
