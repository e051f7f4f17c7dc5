//! [`ChunkTable`] on DynamoDB: one item per chunk (see [`crate::schema`]).
//!
//! Recording a chunk is a conditional put (`attribute_not_exists`) so the first writer wins. When
//! the item already exists, DynamoDB returns it with the failed condition
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`; a strongly consistent read is the fallback)
//! and the adapter decides: same ETag and size → `Duplicate`; a newer sequencer → a put
//! conditional on the stored sequencer and ETag (so of two racing re-uploads only one wins, and
//! the loser re-reads and decides again) → `Replaced`; otherwise `Stale`.

use std::cmp::Ordering;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use meeting_domain::contracts::{ChunkRecord, ChunkStatus};
use meeting_domain::ports::{ChunkTable, RecordOutcome};
use meeting_domain::{ChunkIndex, PortError, RecordingId, RecordingRef, UserId};

use crate::error::{AdapterError, from_sdk, service};
use crate::item::{Item, get_n, get_s, n, opt_s, s};
use crate::schema::{CHUNK_USER_INDEX, chunk_attr as attr};

/// How often `record` re-reads and re-decides after losing a replacement race. Each lost round
/// means another writer changed the item, which can only happen a few times per chunk (one per
/// distinct re-upload), so reaching this bound means something is writing in a loop.
const MAX_RECORD_ROUNDS: usize = 8;

/// Largest page a DynamoDB Query returns is 1 MB; `Limit` is an `i32`.
const MAX_QUERY_LIMIT: usize = 1000;

pub use meeting_domain::sequencer::compare_sequencers;

/// The chunk table on DynamoDB.
#[derive(Clone, Debug)]
pub struct DynamoDbChunkTable {
    client: Client,
    table: String,
}

impl DynamoDbChunkTable {
    /// Uses `table` (created by Terraform, or by [`crate::schema::create_chunk_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Puts `item` if `condition` holds. `Ok(None)` when written; `Ok(Some(stored))` when the
    /// condition failed, with the stored item if DynamoDB returned one.
    async fn conditional_put(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<Option<Option<Item>>, PortError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (placeholder, name) in names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            request = request.expression_attribute_values(*placeholder, value.clone());
        }
        match request.send().await {
            Ok(_) => Ok(None),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(Some(failed.item().cloned()))
                }
                _ => Err(from_sdk(service::DYNAMODB, err)),
            },
        }
    }

    async fn get_item(
        &self,
        recording: &RecordingRef,
        index: ChunkIndex,
    ) -> Result<Option<Item>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::RECORDING_KEY, s(recording.storage_key()))
            .key(attr::CHUNK_INDEX, n(index))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| from_sdk(service::DYNAMODB, err))?;
        Ok(output.item)
    }
}

/// The item of `chunk` as first recorded or as a replacement, with the chunk's own verdict.
fn chunk_item(chunk: &ChunkRecord, reupload_count: u32) -> Item {
    let mut item = Item::from([
        (
            attr::RECORDING_KEY.to_owned(),
            s(chunk.recording().storage_key()),
        ),
        (
            attr::RECORDING_ID.to_owned(),
            s(chunk.recording_id.as_str()),
        ),
        (attr::CHUNK_INDEX.to_owned(), n(chunk.chunk_index)),
        (attr::USER_ID.to_owned(), s(chunk.user_id.as_str())),
        (attr::UPLOADED_AT.to_owned(), s(&chunk.uploaded_at)),
        (attr::S3_KEY.to_owned(), s(&chunk.s3_key)),
        (attr::FILE_SIZE.to_owned(), n(chunk.file_size)),
        (attr::ETAG.to_owned(), s(&chunk.etag)),
        (attr::SEQUENCER.to_owned(), s(&chunk.sequencer)),
        (attr::STATUS.to_owned(), s(status_name(chunk.status))),
        (attr::REUPLOAD_COUNT.to_owned(), n(reupload_count)),
    ]);
    if let Some(reason) = &chunk.last_error {
        item.insert(attr::LAST_ERROR.to_owned(), s(reason));
    }
    if let Some(sha256) = &chunk.sha256 {
        item.insert(attr::SHA256.to_owned(), s(sha256));
    }
    if let Some(trace) = &chunk.trace_header {
        item.insert(attr::TRACE_HEADER.to_owned(), s(trace));
    }
    item
}

fn status_name(status: ChunkStatus) -> &'static str {
    match status {
        ChunkStatus::Validated => "validated",
        ChunkStatus::Failed => "failed",
    }
}

/// Decodes a chunk item.
pub(crate) fn decode_chunk(item: &Item) -> Result<ChunkRecord, AdapterError> {
    let invalid = |attribute: &'static str| {
        move |err: meeting_domain::DomainError| AdapterError::Invalid {
            attribute,
            reason: err.to_string(),
        }
    };
    let status = match get_s(item, attr::STATUS)? {
        "validated" => ChunkStatus::Validated,
        "failed" => ChunkStatus::Failed,
        other => {
            return Err(AdapterError::Invalid {
                attribute: attr::STATUS,
                reason: format!("unknown chunk status {other:?}"),
            });
        }
    };
    Ok(ChunkRecord {
        recording_id: RecordingId::new(get_s(item, attr::RECORDING_ID)?)
            .map_err(invalid(attr::RECORDING_ID))?,
        chunk_index: ChunkIndex::new(get_n(item, attr::CHUNK_INDEX)?)
            .map_err(invalid(attr::CHUNK_INDEX))?,
        user_id: UserId::new(get_s(item, attr::USER_ID)?).map_err(invalid(attr::USER_ID))?,
        uploaded_at: get_s(item, attr::UPLOADED_AT)?.to_owned(),
        s3_key: get_s(item, attr::S3_KEY)?.to_owned(),
        file_size: get_n(item, attr::FILE_SIZE)?,
        etag: get_s(item, attr::ETAG)?.to_owned(),
        sequencer: get_s(item, attr::SEQUENCER)?.to_owned(),
        sha256: opt_s(item, attr::SHA256)?.map(str::to_owned),
        status,
        reupload_count: get_n(item, attr::REUPLOAD_COUNT)?,
        last_error: opt_s(item, attr::LAST_ERROR)?.map(str::to_owned),
        trace_header: opt_s(item, attr::TRACE_HEADER)?.map(str::to_owned),
    })
}

fn decode(item: &Item) -> Result<ChunkRecord, PortError> {
    decode_chunk(item).map_err(|err| err.into_port(service::DYNAMODB))
}

#[async_trait]
impl ChunkTable for DynamoDbChunkTable {
    async fn record(&self, chunk: &ChunkRecord) -> Result<RecordOutcome, PortError> {
        // The stored item, when a previous round already knows it.
        let mut known: Option<ChunkRecord> = None;
        for _ in 0..MAX_RECORD_ROUNDS {
            let stored = match known.take() {
                Some(stored) => stored,
                None => {
                    let inserted = self
                        .conditional_put(
                            chunk_item(chunk, 0),
                            "attribute_not_exists(#rkey)",
                            &[("#rkey", attr::RECORDING_KEY)],
                            &[],
                        )
                        .await?;
                    match inserted {
                        None => return Ok(RecordOutcome::Inserted),
                        Some(Some(item)) => decode(&item)?,
                        // The item was not returned with the failed condition: read it.
                        Some(None) => {
                            match self.get_item(&chunk.recording(), chunk.chunk_index).await? {
                                Some(item) => decode(&item)?,
                                // Deleted in between: try the insert again.
                                None => continue,
                            }
                        }
                    }
                }
            };
            if stored.etag == chunk.etag && stored.file_size == chunk.file_size {
                return Ok(RecordOutcome::Duplicate);
            }
            if compare_sequencers(&chunk.sequencer, &stored.sequencer) != Ordering::Greater {
                return Ok(RecordOutcome::Stale);
            }
            let replaced = self
                .conditional_put(
                    chunk_item(chunk, stored.reupload_count.saturating_add(1)),
                    "#seq = :storedSeq AND #etag = :storedEtag",
                    &[("#seq", attr::SEQUENCER), ("#etag", attr::ETAG)],
                    &[
                        (":storedSeq", s(&stored.sequencer)),
                        (":storedEtag", s(&stored.etag)),
                    ],
                )
                .await?;
            match replaced {
                None => {
                    return Ok(RecordOutcome::Replaced {
                        previous_etag: stored.etag,
                    });
                }
                // Another re-upload won the race: decide again against what it stored.
                Some(Some(item)) => known = Some(decode(&item)?),
                Some(None) => known = None,
            }
        }
        Err(PortError::Conflict {
            what: format!(
                "chunk {} of recording {} kept changing while it was recorded",
                chunk.chunk_index, chunk.recording_id
            ),
        })
    }

    async fn chunks(&self, recording: &RecordingRef) -> Result<Vec<ChunkRecord>, PortError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#rkey = :rkey")
            .expression_attribute_names("#rkey", attr::RECORDING_KEY)
            .expression_attribute_values(":rkey", s(recording.storage_key()))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut chunks = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| from_sdk(service::DYNAMODB, err))?;
            for item in page.items() {
                chunks.push(decode(item)?);
            }
        }
        Ok(chunks)
    }

    async fn mark_failed(
        &self,
        recording: &RecordingRef,
        index: ChunkIndex,
        etag: &str,
        reason: &str,
    ) -> Result<bool, PortError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::RECORDING_KEY, s(recording.storage_key()))
            .key(attr::CHUNK_INDEX, n(index))
            .update_expression("SET #status = :failed, #lastError = :reason")
            .condition_expression("#etag = :etag")
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#lastError", attr::LAST_ERROR)
            .expression_attribute_names("#etag", attr::ETAG)
            .expression_attribute_values(":failed", s(status_name(ChunkStatus::Failed)))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":etag", s(etag))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                // Missing item, or a later re-upload with another ETag: not ours to mark.
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(from_sdk(service::DYNAMODB, err)),
            },
        }
    }

    async fn chunks_of_user(
        &self,
        user: &UserId,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChunkRecord>, PortError> {
        let mut found = Vec::new();
        let mut start_key = None;
        while found.len() < limit {
            let page_limit = (limit - found.len()).min(MAX_QUERY_LIMIT);
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(CHUNK_USER_INDEX)
                .expression_attribute_names("#uid", attr::USER_ID)
                .expression_attribute_values(":uid", s(user.as_str()))
                .scan_index_forward(false)
                .limit(i32::try_from(page_limit).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key.take());
            request = match since {
                Some(since) => request
                    .key_condition_expression("#uid = :uid AND #up >= :since")
                    .expression_attribute_names("#up", attr::UPLOADED_AT)
                    .expression_attribute_values(":since", s(since)),
                None => request.key_condition_expression("#uid = :uid"),
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_chunk_round_trips_through_its_item() {
        let chunk = ChunkRecord {
            recording_id: RecordingId::new("rec_1").unwrap(),
            chunk_index: ChunkIndex::new(7).unwrap(),
            user_id: UserId::new("user_1").unwrap(),
            uploaded_at: "2026-11-28T19:00:00.000Z".into(),
            s3_key: "users/user_1/chunks/rec_1/chunk_007.mp4".into(),
            file_size: 1234,
            etag: "abc".into(),
            sequencer: "0A1B".into(),
            sha256: Some("00".repeat(32)),
            status: ChunkStatus::Validated,
            reupload_count: 2,
            last_error: None,
            trace_header: Some("Root=1-6a5b0000-0123456789abcdef01234567;Sampled=1".into()),
        };
        assert_eq!(decode_chunk(&chunk_item(&chunk, 2)), Ok(chunk));
    }
}
