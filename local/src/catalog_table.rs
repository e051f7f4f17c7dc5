//! The catalog as a DynamoDB table for the local engine's service integration
//! (`arn:aws:states:::dynamodb:getItem|putItem|updateItem`), so the workflow's RecordResults and
//! RecordFailure states write the SQLite catalog exactly as they write DynamoDB on AWS.
//!
//! Each request is applied with the engine's own DynamoDB expression logic: the stored
//! [`CatalogRecord`] is converted to its item form (attribute names as in the DynamoDB schema:
//! `recordingId`, `userId`, `status`, `results` M{…}, `error`, `cause`, `updatedAt`, …), loaded
//! into a single-item [`MemoryTables`], the request runs there (ConditionExpression included), and
//! the resulting item is converted back and stored with a compare-and-swap on the record that was
//! read. A concurrent writer in between makes the swap fail and the request is applied again to
//! the new record, so updates never interleave and a condition is always judged on the record
//! that gets replaced.

use asl_engine::StatesError;
use asl_engine::resources::dynamodb::{
    CONDITIONAL_CHECK_FAILED, DYNAMODB_EXCEPTION, MemoryTables, RESOURCE_NOT_FOUND, TableAdapter,
};
use async_trait::async_trait;
use meeting_domain::contracts::CatalogRecord;
use meeting_domain::ports::Catalog;
use meeting_domain::{PortError, RecordingId, RecordingRef, UserId};
use serde_json::{Map, Number, Value, json};

use crate::sqlite::SqliteCatalog;

/// The key attributes of the catalog: partition `userId`, sort `recordingId`.
const KEYS: [&str; 2] = ["userId", "recordingId"];

/// Compare-and-swap attempts before giving up; each failed swap means another writer made
/// progress on the same recording, which happens a handful of times at most.
const MAX_ATTEMPTS: u32 = 16;

/// Step Functions' name for a transient DynamoDB failure; the workflow's Retry rules cover it.
const INTERNAL_ERROR: &str = "DynamoDB.InternalServerErrorException";

/// The SQLite catalog behind the name the workflow uses for the catalog table.
#[derive(Debug, Clone)]
pub struct CatalogTableAdapter {
    table_name: String,
    catalog: SqliteCatalog,
}

impl CatalogTableAdapter {
    /// `catalog` served as the DynamoDB table `table_name`.
    pub fn new(table_name: impl Into<String>, catalog: SqliteCatalog) -> Self {
        Self {
            table_name: table_name.into(),
            catalog,
        }
    }

    fn check_table(&self, request: &Value) -> Result<(), StatesError> {
        let name = request
            .get("TableName")
            .and_then(Value::as_str)
            .ok_or_else(|| StatesError::new(DYNAMODB_EXCEPTION, "TableName is required"))?;
        if name == self.table_name {
            Ok(())
        } else {
            Err(StatesError::new(
                RESOURCE_NOT_FOUND,
                format!("Requested resource not found: Table: {name} not found"),
            ))
        }
    }

    /// A one-item table holding `record` (or nothing).
    async fn scratch(&self, record: Option<&CatalogRecord>) -> Result<MemoryTables, StatesError> {
        let tables = MemoryTables::new();
        tables.create_table(&self.table_name, &KEYS);
        if let Some(record) = record {
            let put = json!({"TableName": self.table_name, "Item": to_item(record)?});
            tables.put_item(&put).await?;
        }
        Ok(tables)
    }

    /// Applies a write request (put or update) with compare-and-swap.
    async fn write(
        &self,
        request: &Value,
        id: &RecordingRef,
        put: bool,
    ) -> Result<Value, StatesError> {
        for _ in 0..MAX_ATTEMPTS {
            let before = self.catalog.get(id).await.map_err(port_error)?;
            let tables = self.scratch(before.as_ref()).await?;
            let response = if put {
                tables.put_item(request).await?
            } else {
                tables.update_item(request).await?
            };
            let items = tables.items(&self.table_name);
            let [item] = items.as_slice() else {
                return Err(StatesError::new(
                    DYNAMODB_EXCEPTION,
                    format!(
                        "the request left {} catalog items instead of one",
                        items.len()
                    ),
                ));
            };
            let after = from_item(item)?;
            if after.recording() != *id {
                return Err(StatesError::new(
                    DYNAMODB_EXCEPTION,
                    "the item's userId and recordingId do not match the key",
                ));
            }
            if before.as_ref() == Some(&after) {
                return Ok(response);
            }
            if self
                .catalog
                .replace_if_unchanged(before, after)
                .await
                .map_err(port_error)?
            {
                return Ok(response);
            }
        }
        Err(StatesError::new(
            INTERNAL_ERROR,
            format!("recording {id} kept changing while the request was applied; retry"),
        ))
    }
}

fn port_error(e: PortError) -> StatesError {
    let name = if e.is_retryable() {
        INTERNAL_ERROR
    } else {
        DYNAMODB_EXCEPTION
    };
    StatesError::new(name, e.to_string())
}

/// The recording named by a request's `Key` (or a put's `Item`).
fn recording_of(request: &Value, field: &str) -> Result<RecordingRef, StatesError> {
    let attribute = |name: &str| {
        request
            .get(field)
            .and_then(|k| k.get(name))
            .and_then(|v| v.get("S"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                StatesError::new(
                    DYNAMODB_EXCEPTION,
                    format!("{field}.{name} must be a string attribute"),
                )
            })
    };
    let invalid =
        |e: meeting_domain::DomainError| StatesError::new(DYNAMODB_EXCEPTION, e.to_string());
    Ok(RecordingRef::new(
        UserId::new(attribute(KEYS[0])?).map_err(invalid)?,
        RecordingId::new(attribute(KEYS[1])?).map_err(invalid)?,
    ))
}

/// DynamoDB attribute value of a JSON value.
fn to_attribute(value: &Value) -> Option<Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => json!({"BOOL": b}),
        Value::Number(n) => json!({"N": n.to_string()}),
        Value::String(s) => json!({"S": s}),
        Value::Array(items) => {
            json!({"L": items.iter().filter_map(to_attribute).collect::<Vec<_>>()})
        }
        Value::Object(map) => {
            let members: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| to_attribute(v).map(|a| (k.clone(), a)))
                .collect();
            json!({ "M": members })
        }
    })
}

/// JSON value of a DynamoDB attribute value.
fn from_attribute(attribute: &Value) -> Result<Value, StatesError> {
    let bad = || {
        StatesError::new(
            DYNAMODB_EXCEPTION,
            format!("unsupported attribute value {attribute}"),
        )
    };
    let Some((kind, inner)) = attribute.as_object().and_then(|m| m.iter().next()) else {
        return Err(bad());
    };
    Ok(match (kind.as_str(), inner) {
        ("S", Value::String(s)) => Value::String(s.clone()),
        ("BOOL", Value::Bool(b)) => Value::Bool(*b),
        ("NULL", _) => Value::Null,
        ("N", Value::String(n)) => Value::Number(parse_number(n).ok_or_else(bad)?),
        ("L", Value::Array(items)) => {
            Value::Array(items.iter().map(from_attribute).collect::<Result<_, _>>()?)
        }
        ("M", Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_attribute(v)?)))
                .collect::<Result<_, StatesError>>()?,
        ),
        _ => return Err(bad()),
    })
}

fn parse_number(text: &str) -> Option<Number> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        return Some(n.into());
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(n.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

/// The DynamoDB item form of a catalog record.
pub fn to_item(record: &CatalogRecord) -> Result<Value, StatesError> {
    let value = serde_json::to_value(record)
        .map_err(|e| StatesError::new(DYNAMODB_EXCEPTION, e.to_string()))?;
    to_attribute(&value)
        .and_then(|a| a.get("M").cloned())
        .ok_or_else(|| StatesError::new(DYNAMODB_EXCEPTION, "a catalog record is not a map"))
}

/// The catalog record of a DynamoDB item.
pub fn from_item(item: &Value) -> Result<CatalogRecord, StatesError> {
    let value = from_attribute(&json!({ "M": item }))?;
    serde_json::from_value(value).map_err(|e| {
        StatesError::new(
            DYNAMODB_EXCEPTION,
            format!("the item is not a valid catalog record: {e}"),
        )
    })
}

#[async_trait]
impl TableAdapter for CatalogTableAdapter {
    async fn get_item(&self, request: &Value) -> Result<Value, StatesError> {
        self.check_table(request)?;
        let id = recording_of(request, "Key")?;
        let record = self.catalog.get(&id).await.map_err(port_error)?;
        self.scratch(record.as_ref()).await?.get_item(request).await
    }

    async fn put_item(&self, request: &Value) -> Result<Value, StatesError> {
        self.check_table(request)?;
        let id = recording_of(request, "Item")?;
        self.write(request, &id, true).await
    }

    async fn update_item(&self, request: &Value) -> Result<Value, StatesError> {
        self.check_table(request)?;
        let id = recording_of(request, "Key")?;
        self.write(request, &id, false).await
    }
}

/// Whether a Task error is a failed DynamoDB condition.
pub fn is_condition_failure(error: &StatesError) -> bool {
    error.error == CONDITIONAL_CHECK_FAILED
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use meeting_domain::RecordingStatus;
    use meeting_domain::contracts::{EndSignal, RecordingResults};
    use meeting_domain::ports::CatalogPatch;

    use super::*;
    use crate::sqlite::Database;

    const TABLE: &str = "meeting-recorder-catalog";

    async fn catalog_with(
        status: RecordingStatus,
    ) -> (CatalogTableAdapter, SqliteCatalog, RecordingRef) {
        let catalog = SqliteCatalog::new(Database::in_memory().unwrap());
        let id = RecordingRef::new(UserId::new("u1").unwrap(), RecordingId::new("r1").unwrap());
        catalog
            .set_expected_count(&id, 3, EndSignal::Client, Utc::now())
            .await
            .unwrap();
        let path = [
            RecordingStatus::ReadyForProcessing,
            RecordingStatus::Processing,
            RecordingStatus::Completed,
        ];
        let mut current = RecordingStatus::Recording;
        for next in path {
            if current == status {
                break;
            }
            assert!(
                catalog
                    .transition(&id, current, next, CatalogPatch::default(), Utc::now())
                    .await
                    .unwrap()
            );
            current = next;
        }
        (
            CatalogTableAdapter::new(TABLE, catalog.clone()),
            catalog,
            id,
        )
    }

    fn record_results_request() -> Value {
        json!({
            "TableName": TABLE,
            "Key": {"userId": {"S": "u1"}, "recordingId": {"S": "r1"}},
            "UpdateExpression": "SET #status = :completed, #results = :results, #updatedAt = :now REMOVE #error, #cause",
            "ConditionExpression": "#status IN (:ready, :processing)",
            "ExpressionAttributeNames": {"#status": "status", "#results": "results", "#updatedAt": "updatedAt", "#error": "error", "#cause": "cause"},
            "ExpressionAttributeValues": {
                ":completed": {"S": "completed"},
                ":ready": {"S": "ready_for_processing"},
                ":processing": {"S": "processing"},
                ":now": {"S": "2026-01-01T00:00:00Z"},
                ":results": {"M": {
                    "recordingKey": {"S": "a/recording.mp4"},
                    "audioKey": {"S": "a/audio.flac"},
                    "transcriptKey": {"S": "a/transcript.json"},
                    "summaryKey": {"S": "a/summary.json"},
                    "durationSeconds": {"N": "69.5"}
                }}
            }
        })
    }

    #[tokio::test]
    async fn given_a_processing_recording_when_results_are_recorded_then_the_catalog_is_completed()
    {
        let (adapter, catalog, id) = catalog_with(RecordingStatus::Processing).await;
        adapter
            .update_item(&record_results_request())
            .await
            .unwrap();
        let record = catalog.get(&id).await.unwrap().unwrap();
        assert_eq!(record.status, RecordingStatus::Completed);
        assert_eq!(record.updated_at, "2026-01-01T00:00:00Z");
        assert_eq!(
            record.expected_chunk_count,
            Some(3),
            "other attributes are kept"
        );
        assert_eq!(
            record.results,
            Some(RecordingResults {
                recording_key: "a/recording.mp4".into(),
                audio_key: "a/audio.flac".into(),
                transcript_key: "a/transcript.json".into(),
                summary_key: "a/summary.json".into(),
                duration_seconds: 69.5,
            })
        );
    }

    #[tokio::test]
    async fn given_a_completed_recording_when_results_are_recorded_again_then_the_condition_fails_and_nothing_changes()
     {
        let (adapter, catalog, id) = catalog_with(RecordingStatus::Completed).await;
        let before = catalog.get(&id).await.unwrap();
        let error = adapter
            .update_item(&record_results_request())
            .await
            .unwrap_err();
        assert!(is_condition_failure(&error), "{error:?}");
        assert_eq!(catalog.get(&id).await.unwrap(), before);
    }

    #[tokio::test]
    async fn given_the_same_recording_id_of_another_user_when_results_are_recorded_then_only_that_users_item_changes()
     {
        let (adapter, catalog, id) = catalog_with(RecordingStatus::Processing).await;
        let mut request = record_results_request();
        request["Key"]["userId"] = json!({"S": "u2"});
        let error = adapter.update_item(&request).await.unwrap_err();
        assert!(is_condition_failure(&error), "{error:?}");
        assert_eq!(
            catalog.get(&id).await.unwrap().map(|r| r.status),
            Some(RecordingStatus::Processing)
        );
    }

    #[tokio::test]
    async fn given_another_table_name_when_updated_then_the_table_is_not_found() {
        let (adapter, _, _) = catalog_with(RecordingStatus::Processing).await;
        let mut request = record_results_request();
        request["TableName"] = json!("other");
        let error = adapter.update_item(&request).await.unwrap_err();
        assert_eq!(error.error, RESOURCE_NOT_FOUND);
    }

    #[tokio::test]
    async fn given_a_record_changed_since_it_was_read_when_swapped_then_nothing_is_written() {
        let (_, catalog, id) = catalog_with(RecordingStatus::Processing).await;
        let read = catalog.get(&id).await.unwrap().unwrap();
        let mut concurrent = read.clone();
        concurrent.cause = Some("written in between".into());
        assert!(
            catalog
                .replace_if_unchanged(Some(read.clone()), concurrent.clone())
                .await
                .unwrap()
        );
        let mut stale = read.clone();
        stale.status = RecordingStatus::Completed;

        let written = catalog
            .replace_if_unchanged(Some(read), stale)
            .await
            .unwrap();

        assert!(!written);
        assert_eq!(catalog.get(&id).await.unwrap(), Some(concurrent));
    }

    #[tokio::test]
    async fn records_survive_the_round_trip_through_the_item_form() {
        let (_, catalog, id) = catalog_with(RecordingStatus::Processing).await;
        let mut record = catalog.get(&id).await.unwrap().unwrap();
        record.missing_chunks = vec![2, 5];
        record.cause = Some("why".into());
        let item = to_item(&record).unwrap();
        assert_eq!(
            item["missingChunks"],
            json!({"L": [{"N": "2"}, {"N": "5"}]})
        );
        assert_eq!(from_item(&item).unwrap(), record);
    }
}
