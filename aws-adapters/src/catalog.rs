//! [`Catalog`] on DynamoDB: one item per recording (see [`crate::schema`]).
//!
//! Every status change is an `UpdateItem` conditional on `#status = :from`, so of two racing
//! callers exactly one wins. The sparse sweeper-index attributes (`sweepShard`, `sweepAt`) are
//! written in the same update when the patch says when to look next.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use meeting_domain::contracts::{CatalogRecord, EndSignal, RecordingResults};
use meeting_domain::ports::{Catalog, CatalogPatch};
use meeting_domain::{PortError, RecordingId, RecordingRef, RecordingStatus, UserId};

use crate::error::{AdapterError, from_sdk, service};
use crate::item::{Item, get_n, get_s, n, n_list, opt_m, opt_n, opt_n_list, opt_s, s};
use crate::schema::{CATALOG_SWEEP_INDEX, CATALOG_USER_INDEX, catalog_attr as attr, results_attr};

/// Largest `Limit` we ask DynamoDB for in one page (a page also stops at 1 MB).
const MAX_QUERY_LIMIT: usize = 1000;

/// How often `ensure` retries when the item vanishes between a failed put and the read.
const MAX_ENSURE_ROUNDS: usize = 3;

/// The timestamp format stored in the catalog (fixed width, so string order is time order).
pub use meeting_domain::contracts::timestamp;

/// The recording catalog on DynamoDB.
#[derive(Clone, Debug)]
pub struct DynamoDbCatalog {
    client: Client,
    table: String,
}

impl DynamoDbCatalog {
    /// Uses `table` (created by Terraform, or by [`crate::schema::create_catalog_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get_item(&self, recording: &RecordingRef) -> Result<Option<Item>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::USER_ID, s(recording.user_id.as_str()))
            .key(attr::RECORDING_ID, s(recording.recording_id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| from_sdk(service::DYNAMODB, err))?;
        Ok(output.item)
    }

    /// Pages through a query of one of the catalog's indexes, decoding up to `limit` records.
    async fn query_index(
        &self,
        query: IndexQuery<'_>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let mut found = Vec::new();
        let mut start_key = None;
        while found.len() < limit {
            let page_limit = (limit - found.len()).min(MAX_QUERY_LIMIT);
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(query.index)
                .key_condition_expression(query.key_condition)
                .scan_index_forward(query.forward)
                .limit(i32::try_from(page_limit).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key.take());
            if let Some(filter) = query.filter {
                request = request.filter_expression(filter);
            }
            for (placeholder, name) in query.names {
                request = request.expression_attribute_names(*placeholder, *name);
            }
            for (placeholder, value) in query.values {
                request = request.expression_attribute_values(*placeholder, value.clone());
            }
            let page = request
                .send()
                .await
                .map_err(|err| from_sdk(service::DYNAMODB, err))?;
            for item in page.items() {
                found.push(decode(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => break,
            }
        }
        found.truncate(limit);
        Ok(found)
    }
}

/// One query of a catalog index.
struct IndexQuery<'a> {
    index: &'static str,
    key_condition: &'a str,
    filter: Option<&'a str>,
    forward: bool,
    names: &'a [(&'a str, &'a str)],
    values: &'a [(&'a str, AttributeValue)],
}

/// Decodes a catalog item.
pub(crate) fn decode_catalog(item: &Item) -> Result<CatalogRecord, AdapterError> {
    let invalid = |attribute: &'static str| {
        move |err: meeting_domain::DomainError| AdapterError::Invalid {
            attribute,
            reason: err.to_string(),
        }
    };
    // An item the client created (with `expectedChunkCount`, before the first chunk) has no
    // status yet: it is a recording in progress, not corrupt data.
    let status = match opt_s(item, attr::STATUS)? {
        None => RecordingStatus::Recording,
        Some(name) => RecordingStatus::parse(name).ok_or_else(|| AdapterError::Invalid {
            attribute: attr::STATUS,
            reason: format!("unknown recording status {name:?}"),
        })?,
    };
    let end_signal = match opt_s(item, attr::END_SIGNAL)? {
        None => None,
        Some(name) => Some(EndSignal::parse(name).ok_or_else(|| AdapterError::Invalid {
            attribute: attr::END_SIGNAL,
            reason: format!("unknown end signal {name:?}"),
        })?),
    };
    let results = match opt_m(item, attr::RESULTS)? {
        None => None,
        Some(map) => Some(RecordingResults {
            recording_key: get_s(map, results_attr::RECORDING_KEY)?.to_owned(),
            audio_key: get_s(map, results_attr::AUDIO_KEY)?.to_owned(),
            transcript_key: get_s(map, results_attr::TRANSCRIPT_KEY)?.to_owned(),
            summary_key: get_s(map, results_attr::SUMMARY_KEY)?.to_owned(),
            duration_seconds: get_n(map, results_attr::DURATION_SECONDS)?,
        }),
    };
    Ok(CatalogRecord {
        user_id: UserId::new(get_s(item, attr::USER_ID)?).map_err(invalid(attr::USER_ID))?,
        recording_id: RecordingId::new(get_s(item, attr::RECORDING_ID)?)
            .map_err(invalid(attr::RECORDING_ID))?,
        status,
        expected_chunk_count: opt_n(item, attr::EXPECTED_CHUNK_COUNT)?,
        stopped_at: opt_s(item, attr::STOPPED_AT)?.map(str::to_owned),
        end_signal,
        missing_chunks: opt_n_list(item, attr::MISSING_CHUNKS)?,
        failed_chunks: opt_n_list(item, attr::FAILED_CHUNKS)?,
        execution_name: opt_s(item, attr::EXECUTION_NAME)?.map(str::to_owned),
        run: opt_n(item, attr::RUN)?.unwrap_or(0),
        error: opt_s(item, attr::ERROR)?.map(str::to_owned),
        cause: opt_s(item, attr::CAUSE)?.map(str::to_owned),
        results,
        sweep_at: opt_s(item, attr::SWEEP_AT)?.map(str::to_owned),
        updated_at: opt_s(item, attr::UPDATED_AT)?
            .unwrap_or_default()
            .to_owned(),
    })
}

fn decode(item: &Item) -> Result<CatalogRecord, PortError> {
    decode_catalog(item).map_err(|err| err.into_port(service::DYNAMODB))
}

fn results_value(results: &RecordingResults) -> AttributeValue {
    AttributeValue::M(Item::from([
        (
            results_attr::RECORDING_KEY.to_owned(),
            s(&results.recording_key),
        ),
        (results_attr::AUDIO_KEY.to_owned(), s(&results.audio_key)),
        (
            results_attr::TRANSCRIPT_KEY.to_owned(),
            s(&results.transcript_key),
        ),
        (
            results_attr::SUMMARY_KEY.to_owned(),
            s(&results.summary_key),
        ),
        (
            results_attr::DURATION_SECONDS.to_owned(),
            n(results.duration_seconds),
        ),
    ]))
}

/// Collects the clauses of one `UpdateItem` expression.
#[derive(Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    names: Vec<(String, &'static str)>,
    values: Vec<(String, AttributeValue)>,
}

impl Update {
    fn name(&mut self, attribute: &'static str) -> String {
        let placeholder = format!("#{attribute}");
        if !self.names.iter().any(|(p, _)| *p == placeholder) {
            self.names.push((placeholder.clone(), attribute));
        }
        placeholder
    }

    fn set(&mut self, attribute: &'static str, value: AttributeValue) {
        let name = self.name(attribute);
        let placeholder = format!(":{attribute}");
        self.set.push(format!("{name} = {placeholder}"));
        self.values.push((placeholder, value));
    }

    fn remove(&mut self, attribute: &'static str) {
        let name = self.name(attribute);
        self.remove.push(name);
    }

    /// `SET` for a non-empty list, `REMOVE` for an empty one (the record omits empty lists).
    fn set_list(&mut self, attribute: &'static str, values: &[u32]) {
        if values.is_empty() {
            self.remove(attribute);
        } else {
            self.set(attribute, n_list(values));
        }
    }

    /// `SET` for `Some(value)`, `REMOVE` for `None`.
    fn set_or_remove(&mut self, attribute: &'static str, value: Option<&str>) {
        match value {
            Some(value) => self.set(attribute, s(value)),
            None => self.remove(attribute),
        }
    }

    /// The sweeper-index attributes: both set, or both removed.
    fn set_sweep(&mut self, sweep_at: Option<DateTime<Utc>>) {
        match sweep_at {
            Some(at) => {
                self.set(attr::SWEEP_SHARD, s(attr::SWEEP_SHARD_VALUE));
                self.set(attr::SWEEP_AT, s(timestamp(at)));
            }
            None => {
                self.remove(attr::SWEEP_SHARD);
                self.remove(attr::SWEEP_AT);
            }
        }
    }

    fn expression(&self) -> String {
        let mut expression = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            expression.push_str(" REMOVE ");
            expression.push_str(&self.remove.join(", "));
        }
        expression
    }
}

impl DynamoDbCatalog {
    /// Gives a record the client created (no status) the fields of a new recording, keeping what
    /// the client wrote. Conditional on the status still being absent.
    async fn adopt(
        &self,
        recording: &RecordingRef,
        now: DateTime<Utc>,
        sweep_at: DateTime<Utc>,
    ) -> Result<Option<CatalogRecord>, PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::USER_ID, s(recording.user_id.as_str()))
            .key(attr::RECORDING_ID, s(recording.recording_id.as_str()))
            .update_expression(
                "SET #status = :recording, #updated = :now, #run = if_not_exists(#run, :zero), \
                 #shard = if_not_exists(#shard, :shard), #sweepAt = if_not_exists(#sweepAt, :sweepAt)",
            )
            .condition_expression("attribute_exists(#rid) AND attribute_not_exists(#status)")
            .expression_attribute_names("#rid", attr::RECORDING_ID)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#updated", attr::UPDATED_AT)
            .expression_attribute_names("#run", attr::RUN)
            .expression_attribute_names("#shard", attr::SWEEP_SHARD)
            .expression_attribute_names("#sweepAt", attr::SWEEP_AT)
            .expression_attribute_values(":recording", s(RecordingStatus::Recording.as_str()))
            .expression_attribute_values(":now", s(timestamp(now)))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":shard", s(attr::SWEEP_SHARD_VALUE))
            .expression_attribute_values(":sweepAt", s(timestamp(sweep_at)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => output.attributes.as_ref().map(decode).transpose(),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(None),
                _ => Err(from_sdk(service::DYNAMODB, err)),
            },
        }
    }
}

#[async_trait]
impl Catalog for DynamoDbCatalog {
    async fn get(&self, recording: &RecordingRef) -> Result<Option<CatalogRecord>, PortError> {
        self.get_item(recording)
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn ensure(
        &self,
        recording: &RecordingRef,
        now: DateTime<Utc>,
        sweep_at: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let mut fresh = CatalogRecord::new_recording(recording, now);
        fresh.sweep_at = Some(timestamp(sweep_at));
        let item = Item::from([
            (attr::USER_ID.to_owned(), s(recording.user_id.as_str())),
            (
                attr::RECORDING_ID.to_owned(),
                s(recording.recording_id.as_str()),
            ),
            (
                attr::STATUS.to_owned(),
                s(RecordingStatus::Recording.as_str()),
            ),
            (attr::RUN.to_owned(), n(0)),
            (attr::UPDATED_AT.to_owned(), s(&fresh.updated_at)),
            (attr::SWEEP_SHARD.to_owned(), s(attr::SWEEP_SHARD_VALUE)),
            (attr::SWEEP_AT.to_owned(), s(timestamp(sweep_at))),
        ]);
        for _ in 0..MAX_ENSURE_ROUNDS {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(#rid)")
                .expression_attribute_names("#rid", attr::RECORDING_ID)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let stored = match result {
                Ok(_) => return Ok(fresh),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                        failed.item().cloned()
                    }
                    _ => return Err(from_sdk(service::DYNAMODB, err)),
                },
            };
            let stored = match stored {
                Some(item) => Some(item),
                None => self.get_item(recording).await?,
            };
            let Some(item) = stored else { continue };
            if item.contains_key(attr::STATUS) {
                return decode(&item);
            }
            if let Some(adopted) = self.adopt(recording, now, sweep_at).await? {
                return Ok(adopted);
            }
        }
        Err(PortError::Conflict {
            what: format!("recording {recording} was created and deleted concurrently"),
        })
    }

    async fn set_expected_count(
        &self,
        recording: &RecordingRef,
        count: u32,
        signal: EndSignal,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let now = timestamp(now);
        // One upsert: creates the record in `recording` when it is missing, stores the count only
        // if none (or the same) is stored, keeps the first `stoppedAt`, and lets a manifest
        // replace a client end signal but not the reverse.
        let signal_clause = match signal {
            EndSignal::Manifest => "#signal = :signal",
            EndSignal::Client => "#signal = if_not_exists(#signal, :signal)",
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::USER_ID, s(recording.user_id.as_str()))
            .key(attr::RECORDING_ID, s(recording.recording_id.as_str()))
            .update_expression(format!(
                "SET #count = :count, #stopped = if_not_exists(#stopped, :now), #updated = :now, \
                 #status = if_not_exists(#status, :recording), #run = if_not_exists(#run, :zero), \
                 {signal_clause}"
            ))
            .condition_expression("attribute_not_exists(#count) OR #count = :count")
            .expression_attribute_names("#count", attr::EXPECTED_CHUNK_COUNT)
            .expression_attribute_names("#stopped", attr::STOPPED_AT)
            .expression_attribute_names("#updated", attr::UPDATED_AT)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#run", attr::RUN)
            .expression_attribute_names("#signal", attr::END_SIGNAL)
            .expression_attribute_values(":count", n(count))
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":recording", s(RecordingStatus::Recording.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":signal", s(signal.as_str()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let stored = match result {
            Ok(output) => {
                let item = output.attributes.ok_or_else(|| {
                    AdapterError::MissingResponseField {
                        field: "Attributes",
                    }
                    .into_port(service::DYNAMODB)
                })?;
                return decode(&item);
            }
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    failed.item().cloned()
                }
                _ => return Err(from_sdk(service::DYNAMODB, err)),
            },
        };
        let stored = match stored {
            Some(item) => decode(&item)?,
            None => self
                .get(recording)
                .await?
                .ok_or_else(|| PortError::NotFound {
                    what: format!("catalog record of {recording}"),
                })?,
        };
        match stored.expected_chunk_count {
            Some(stored_count) if stored_count == count => Ok(stored),
            Some(stored_count) => Err(PortError::Conflict {
                what: format!(
                    "recording {recording} already expects {stored_count} chunks, not {count}"
                ),
            }),
            None => Err(PortError::Conflict {
                what: format!("recording {recording} changed while its count was written"),
            }),
        }
    }

    async fn transition(
        &self,
        recording: &RecordingRef,
        from: RecordingStatus,
        to: RecordingStatus,
        patch: CatalogPatch,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        from.check_move(to).map_err(|err| PortError::Rejected {
            service: service::DYNAMODB,
            source: Box::new(err),
        })?;
        let mut update = Update::default();
        update.set(attr::STATUS, s(to.as_str()));
        update.set(attr::UPDATED_AT, s(timestamp(now)));
        if let Some(sweep_at) = patch.sweep_at {
            update.set_sweep(sweep_at);
        }
        if let Some(missing) = &patch.missing_chunks {
            update.set_list(attr::MISSING_CHUNKS, missing);
        }
        if let Some(failed) = &patch.failed_chunks {
            update.set_list(attr::FAILED_CHUNKS, failed);
        }
        if let Some(execution_name) = &patch.execution_name {
            update.set(attr::EXECUTION_NAME, s(execution_name));
        }
        if let Some(run) = patch.run {
            update.set(attr::RUN, n(run));
        }
        if let Some(error) = &patch.error {
            update.set_or_remove(attr::ERROR, error.as_deref());
        }
        if let Some(cause) = &patch.cause {
            update.set_or_remove(attr::CAUSE, cause.as_deref());
        }
        if let Some(results) = &patch.results {
            update.set(attr::RESULTS, results_value(results));
        }
        let status = update.name(attr::STATUS);
        // A stored item without status is a `recording` (created by the client).
        let condition = if from == RecordingStatus::Recording {
            format!(
                "attribute_exists({rid}) AND ({status} = :from OR attribute_not_exists({status}))",
                rid = update.name(attr::RECORDING_ID)
            )
        } else {
            format!("{status} = :from")
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::USER_ID, s(recording.user_id.as_str()))
            .key(attr::RECORDING_ID, s(recording.recording_id.as_str()))
            .update_expression(update.expression())
            .condition_expression(condition)
            .expression_attribute_values(":from", s(from.as_str()));
        for (placeholder, name) in update.names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in update.values {
            request = request.expression_attribute_values(placeholder, value);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(from_sdk(service::DYNAMODB, err)),
            },
        }
    }

    async fn set_sweep_at(
        &self,
        recording: &RecordingRef,
        sweep_at: Option<DateTime<Utc>>,
    ) -> Result<(), PortError> {
        let mut update = Update::default();
        update.set_sweep(sweep_at);
        let rid = update.name(attr::RECORDING_ID);
        let expression = match sweep_at {
            Some(_) => update.expression(),
            None => format!("REMOVE {}", update.remove.join(", ")),
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::USER_ID, s(recording.user_id.as_str()))
            .key(attr::RECORDING_ID, s(recording.recording_id.as_str()))
            .update_expression(expression)
            .condition_expression(format!("attribute_exists({rid})"));
        for (placeholder, name) in update.names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in update.values {
            request = request.expression_attribute_values(placeholder, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(from_sdk(service::DYNAMODB, err)),
            },
        }
    }

    async fn due_for_sweep(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        self.query_index(
            IndexQuery {
                index: CATALOG_SWEEP_INDEX,
                key_condition: "#shard = :due AND #at <= :now",
                filter: None,
                forward: true,
                names: &[("#shard", attr::SWEEP_SHARD), ("#at", attr::SWEEP_AT)],
                values: &[
                    (":due", s(attr::SWEEP_SHARD_VALUE)),
                    (":now", s(timestamp(now))),
                ],
            },
            limit,
        )
        .await
    }

    async fn recordings_of_user(
        &self,
        user: &UserId,
        status: Option<RecordingStatus>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let uid = [("#uid", attr::USER_ID)];
        let uid_and_status = [("#uid", attr::USER_ID), ("#status", attr::STATUS)];
        let query = match status {
            None => IndexQuery {
                index: CATALOG_USER_INDEX,
                key_condition: "#uid = :uid",
                filter: None,
                forward: false,
                names: &uid,
                values: &[(":uid", s(user.as_str()))],
            },
            Some(status) => IndexQuery {
                index: CATALOG_USER_INDEX,
                key_condition: "#uid = :uid",
                filter: Some("#status = :status"),
                forward: false,
                names: &uid_and_status,
                values: &[(":uid", s(user.as_str())), (":status", s(status.as_str()))],
            },
        };
        self.query_index(query, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width_utc_with_milliseconds() {
        let time = DateTime::parse_from_rfc3339("2026-11-28T19:00:05+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(time), "2026-11-28T17:00:05.000Z");
    }

    #[test]
    fn a_full_record_round_trips_through_its_item() {
        let mut item = Item::from([
            (attr::RECORDING_ID.to_owned(), s("rec_1")),
            (attr::USER_ID.to_owned(), s("user_1")),
            (attr::STATUS.to_owned(), s("completed")),
            (attr::EXPECTED_CHUNK_COUNT.to_owned(), n(3)),
            (attr::STOPPED_AT.to_owned(), s("2026-11-28T17:00:05.000Z")),
            (attr::FAILED_CHUNKS.to_owned(), n_list(&[2])),
            (attr::RUN.to_owned(), n(1)),
            (attr::UPDATED_AT.to_owned(), s("2026-11-28T17:10:00.000Z")),
        ]);
        let results = RecordingResults {
            recording_key: "a".into(),
            audio_key: "b".into(),
            transcript_key: "c".into(),
            summary_key: "d".into(),
            duration_seconds: 12.5,
        };
        item.insert(attr::RESULTS.to_owned(), results_value(&results));
        let record = decode_catalog(&item).unwrap();
        assert_eq!(record.status, RecordingStatus::Completed);
        assert_eq!(record.expected_chunk_count, Some(3));
        assert_eq!(record.failed_chunks, vec![2]);
        assert_eq!(record.results, Some(results));
        assert_eq!(record.run, 1);
    }

    #[test]
    fn an_item_the_client_created_is_a_recording_not_corrupt_data() {
        let item = Item::from([
            (attr::RECORDING_ID.to_owned(), s("rec_1")),
            (attr::USER_ID.to_owned(), s("user_1")),
            (attr::EXPECTED_CHUNK_COUNT.to_owned(), n(4)),
        ]);
        let record = decode_catalog(&item).unwrap();
        assert_eq!(record.status, RecordingStatus::Recording);
        assert_eq!(record.expected_chunk_count, Some(4));
        assert_eq!(record.stopped_at, None);
    }

    #[test]
    fn an_unknown_status_is_corrupt_data() {
        let item = Item::from([
            (attr::RECORDING_ID.to_owned(), s("rec_1")),
            (attr::USER_ID.to_owned(), s("user_1")),
            (attr::STATUS.to_owned(), s("exploded")),
            (attr::UPDATED_AT.to_owned(), s("x")),
        ]);
        assert!(matches!(
            decode_catalog(&item),
            Err(AdapterError::Invalid {
                attribute: "status",
                ..
            })
        ));
    }
}
