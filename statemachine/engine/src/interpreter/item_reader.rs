//! A Map's `ItemReader`: the items come from an object (`arn:aws:states:::s3:getObject` with
//! `ReaderConfig.InputType` JSON, JSONL or CSV) or from a listing
//! (`arn:aws:states:::s3:listObjectsV2`), read through the engine's [`ObjectReader`], with AWS's
//! `MaxItems` rules and its `States.ItemReaderFailed` causes.
//!
//! [`ObjectReader`]: crate::resources::ObjectReader

use serde_json::{Map, Value, json};

use super::Runner;
use crate::error::StatesError;
use crate::resources::objects::ITEM_READER_FAILED;

/// AWS: MaxItems above 100,000,000 reads everything (it is the cap on items of a Map Run).
const MAX_ITEMS_CAP: i64 = 100_000_000;

fn failed(cause: impl Into<String>) -> StatesError {
    StatesError::new(ITEM_READER_FAILED, cause)
}

/// How many items to keep: `None` for all. AWS: 0 means no limit, a negative value fails.
pub fn item_limit(max_items: Option<i64>) -> Result<Option<usize>, StatesError> {
    match max_items {
        None | Some(0) => Ok(None),
        Some(n) if n < 0 => Err(failed("field MaxItems must be positive")),
        Some(n) if n > MAX_ITEMS_CAP => Ok(None),
        Some(n) => Ok(usize::try_from(n).ok()),
    }
}

/// The separator `CSVDelimiter` names (default `COMMA`).
fn delimiter(config: &Value) -> Result<char, StatesError> {
    match config.get("CSVDelimiter").and_then(Value::as_str) {
        None | Some("COMMA") => Ok(','),
        Some("PIPE") => Ok('|'),
        Some("SEMICOLON") => Ok(';'),
        Some("SPACE") => Ok(' '),
        Some("TAB") => Ok('\t'),
        Some(other) => Err(failed(format!("Unsupported CSVDelimiter: {other}"))),
    }
}

/// Splits CSV text into records (RFC 4180: quoted fields may hold the delimiter, newlines and
/// doubled quotes). Empty lines are not records.
pub fn csv_records(text: &str, separator: char) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut touched = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                other => field.push(other),
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                touched = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if touched || !field.is_empty() || !record.is_empty() {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                touched = false;
            }
            c if c == separator => {
                record.push(std::mem::take(&mut field));
                touched = true;
            }
            other => {
                field.push(other);
                touched = true;
            }
        }
    }
    if touched || !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// CSV rows as objects keyed by the headers (from the first row, or `CSVHeaders`); values stay
/// strings, extra fields beyond the headers are dropped, missing ones are empty.
fn csv_items(text: &str, config: &Value, limit: Option<usize>) -> Result<Vec<Value>, StatesError> {
    let mut records = csv_records(text, delimiter(config)?).into_iter();
    let headers: Vec<String> = match config.get("CSVHeaderLocation").and_then(Value::as_str) {
        Some("GIVEN") => config
            .get("CSVHeaders")
            .and_then(Value::as_array)
            .map(|h| {
                h.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        _ => records.next().unwrap_or_default(),
    };
    let mut seen = std::collections::HashSet::new();
    if !headers.iter().all(|h| seen.insert(h)) {
        return Err(failed("CSV headers cannot contain duplicates."));
    }
    Ok(records
        .take(limit.unwrap_or(usize::MAX))
        .map(|record| {
            let mut row = Map::new();
            for (index, header) in headers.iter().enumerate() {
                let value = record.get(index).cloned().unwrap_or_default();
                row.insert(header.clone(), Value::String(value));
            }
            Value::Object(row)
        })
        .collect())
}

fn text(bytes: Vec<u8>) -> Result<String, StatesError> {
    String::from_utf8(bytes).map_err(|_| failed("The object is not UTF-8 text."))
}

fn required<'a>(parameters: &'a Value, field: &str) -> Result<&'a str, StatesError> {
    parameters
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| failed(format!("The ItemReader needs a {field} parameter.")))
}

impl Runner {
    /// Reads a Map's items for `resource` with its evaluated `parameters` (or `Arguments`).
    pub(super) async fn read_items(
        &self,
        resource: &str,
        config: Option<&Value>,
        parameters: &Value,
        max_items: Option<i64>,
    ) -> Result<Vec<Value>, StatesError> {
        let limit = item_limit(max_items)?;
        let empty = json!({});
        let config = config.unwrap_or(&empty);
        let Some(objects) = &self.resources.objects else {
            return Err(failed(
                "This engine has no object store: ItemReader cannot read S3 objects here.",
            ));
        };
        let bucket = required(parameters, "Bucket")?;
        match resource.rsplit(':').next().unwrap_or_default() {
            "listObjectsV2" => {
                let prefix = parameters
                    .get("Prefix")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let listed = objects.list_objects(bucket, prefix).await?;
                Ok(listed
                    .into_iter()
                    .take(limit.unwrap_or(usize::MAX))
                    .map(|o| {
                        json!({
                            "Etag": o.etag,
                            "LastModified": o.last_modified.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            "Key": o.key,
                            "Size": o.size,
                            "StorageClass": "STANDARD",
                        })
                    })
                    .collect())
            }
            "getObject" => {
                let key = required(parameters, "Key")?;
                let body = text(objects.get_object(bucket, key).await?)?;
                match config.get("InputType").and_then(Value::as_str) {
                    Some("CSV") => csv_items(&body, config, limit),
                    Some("JSONL") => body
                        .lines()
                        .filter(|line| !line.trim().is_empty())
                        .take(limit.unwrap_or(usize::MAX))
                        .map(|line| {
                            serde_json::from_str(line)
                                .map_err(|e| failed(format!("The JSONL line is not JSON: {e}")))
                        })
                        .collect(),
                    Some("JSON") | None => {
                        let value: Value = serde_json::from_str(&body)
                            .map_err(|e| failed(format!("The object is not JSON: {e}")))?;
                        let Value::Array(items) = value else {
                            return Err(failed("Attempting to map over non-iterable node."));
                        };
                        Ok(items
                            .into_iter()
                            .take(limit.unwrap_or(usize::MAX))
                            .collect())
                    }
                    Some(other) => Err(failed(format!(
                        "InputType {other} is not supported by the local engine (JSON, JSONL and CSV are)."
                    ))),
                }
            }
            other => Err(failed(format!(
                "The ItemReader resource {other} is not supported: use s3:getObject or s3:listObjectsV2."
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_csv_with_quotes_when_split_then_fields_keep_separators_and_quotes() {
        let records = csv_records("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n\n,\n", ',');
        assert_eq!(
            records,
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["x,1".to_owned(), "say \"hi\"".to_owned()],
                vec![String::new(), String::new()],
            ]
        );
    }

    #[test]
    fn given_given_headers_when_rows_are_longer_then_extra_fields_are_dropped() {
        let config = json!({"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["H1"]});
        let items = csv_items("Value1,Value2\nValue4,Value5\n", &config, None).expect("read");
        assert_eq!(
            items,
            vec![json!({"H1": "Value1"}), json!({"H1": "Value4"})]
        );
    }

    #[test]
    fn given_duplicate_headers_when_read_then_aws_cause() {
        let config = json!({"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["H", "H"]});
        let err = csv_items("1,2\n", &config, None).expect_err("duplicates");
        assert_eq!(err.error, "States.ItemReaderFailed");
        assert_eq!(err.cause, "CSV headers cannot contain duplicates.");
    }

    #[test]
    fn given_max_items_when_limited_then_aws_rules() {
        assert_eq!(item_limit(Some(0)).expect("all"), None);
        assert_eq!(item_limit(Some(2)).expect("two"), Some(2));
        assert_eq!(item_limit(Some(100_000_001)).expect("all"), None);
        assert_eq!(
            item_limit(Some(-1)).expect_err("negative").cause,
            "field MaxItems must be positive"
        );
    }
}
