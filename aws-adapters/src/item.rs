//! Reading and writing DynamoDB attribute values with typed errors: every item this crate reads
//! was written by this crate (or by the workflow's `updateItem` integration with the same names),
//! so an attribute of the wrong type is corrupt data, reported as [`AdapterError`], never a panic.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::AdapterError;

/// One DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(crate) fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A list of numbers.
pub(crate) fn n_list(values: &[u32]) -> AttributeValue {
    AttributeValue::L(values.iter().map(n).collect())
}

/// A required string attribute.
pub(crate) fn get_s<'a>(item: &'a Item, attribute: &'static str) -> Result<&'a str, AdapterError> {
    opt_s(item, attribute)?.ok_or(AdapterError::Missing { attribute })
}

/// An optional string attribute.
pub(crate) fn opt_s<'a>(
    item: &'a Item,
    attribute: &'static str,
) -> Result<Option<&'a str>, AdapterError> {
    match item.get(attribute) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value)),
        Some(_) => Err(AdapterError::WrongType {
            attribute,
            expected: "S",
        }),
    }
}

/// A required number attribute.
pub(crate) fn get_n<T: FromStr>(item: &Item, attribute: &'static str) -> Result<T, AdapterError> {
    opt_n(item, attribute)?.ok_or(AdapterError::Missing { attribute })
}

/// An optional number attribute.
pub(crate) fn opt_n<T: FromStr>(
    item: &Item,
    attribute: &'static str,
) -> Result<Option<T>, AdapterError> {
    match item.get(attribute) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(value)) => parse_n(value, attribute).map(Some),
        Some(_) => Err(AdapterError::WrongType {
            attribute,
            expected: "N",
        }),
    }
}

/// An optional list of numbers (absent = empty).
pub(crate) fn opt_n_list(item: &Item, attribute: &'static str) -> Result<Vec<u32>, AdapterError> {
    match item.get(attribute) {
        None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::N(number) => parse_n(number, attribute),
                _ => Err(AdapterError::WrongType {
                    attribute,
                    expected: "L of N",
                }),
            })
            .collect(),
        // A number set is accepted too (an operator fixing an item by hand might write one).
        Some(AttributeValue::Ns(values)) => {
            let mut parsed = values
                .iter()
                .map(|number| parse_n(number, attribute))
                .collect::<Result<Vec<u32>, _>>()?;
            parsed.sort_unstable();
            Ok(parsed)
        }
        Some(_) => Err(AdapterError::WrongType {
            attribute,
            expected: "L",
        }),
    }
}

/// An optional map attribute.
pub(crate) fn opt_m<'a>(
    item: &'a Item,
    attribute: &'static str,
) -> Result<Option<&'a Item>, AdapterError> {
    match item.get(attribute) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::M(map)) => Ok(Some(map)),
        Some(_) => Err(AdapterError::WrongType {
            attribute,
            expected: "M",
        }),
    }
}

fn parse_n<T: FromStr>(value: &str, attribute: &'static str) -> Result<T, AdapterError> {
    value.parse().map_err(|_| AdapterError::Invalid {
        attribute,
        reason: format!("{value:?} is not a number of the expected range"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_stored_as_a_string_is_a_schema_error_not_a_panic() {
        let item: Item = [("fileSize".to_owned(), s("12"))].into();
        assert_eq!(
            get_n::<u64>(&item, "fileSize"),
            Err(AdapterError::WrongType {
                attribute: "fileSize",
                expected: "N"
            })
        );
    }

    #[test]
    fn number_lists_round_trip_and_absent_lists_are_empty() {
        let item: Item = [("missingChunks".to_owned(), n_list(&[3, 1, 7]))].into();
        assert_eq!(opt_n_list(&item, "missingChunks"), Ok(vec![3, 1, 7]));
        assert_eq!(opt_n_list(&item, "failedChunks"), Ok(vec![]));
    }
}
