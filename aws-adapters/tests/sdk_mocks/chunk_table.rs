//! `DynamoDbChunkTable` against mocked DynamoDB responses.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use meeting_domain::contracts::{ChunkRecord, ChunkStatus};
use meeting_domain::ports::{ChunkTable, RecordOutcome};
use meeting_domain::{ChunkIndex, PortError, RecordingId, RecordingRef, UserId};
use recorder_aws::DynamoDbChunkTable;

use crate::{Captured, three_attempts};

const THROTTLED_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"rate exceeded"}"#;

fn chunk(etag: &str, size: u64, sequencer: &str) -> ChunkRecord {
    ChunkRecord {
        recording_id: RecordingId::new("rec_1").unwrap(),
        chunk_index: ChunkIndex::new(2).unwrap(),
        user_id: UserId::new("user_1").unwrap(),
        uploaded_at: "2026-11-28T19:00:00.000Z".into(),
        s3_key: "users/user_1/chunks/rec_1/chunk_002.mp4".into(),
        file_size: size,
        etag: etag.into(),
        sequencer: sequencer.into(),
        sha256: None,
        status: ChunkStatus::Validated,
        reupload_count: 0,
        last_error: None,
        trace_header: None,
    }
}

fn recording() -> RecordingRef {
    RecordingRef::new(
        UserId::new("user_1").unwrap(),
        RecordingId::new("rec_1").unwrap(),
    )
}

/// The item DynamoDB would hold for `chunk` with `reupload_count`.
fn stored_item(
    chunk: &ChunkRecord,
    reupload_count: u32,
) -> std::collections::HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: u64| AttributeValue::N(v.to_string());
    [
        ("recordingKey", s(&chunk.recording().storage_key())),
        ("recordingId", s(chunk.recording_id.as_str())),
        ("chunkIndex", n(u64::from(chunk.chunk_index.get()))),
        ("userId", s(chunk.user_id.as_str())),
        ("uploadedAt", s(&chunk.uploaded_at)),
        ("s3Key", s(&chunk.s3_key)),
        ("fileSize", n(chunk.file_size)),
        ("etag", s(&chunk.etag)),
        ("sequencer", s(&chunk.sequencer)),
        ("status", s("validated")),
        ("reuploadCount", n(u64::from(reupload_count))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn condition_failed(
    item: Option<std::collections::HashMap<String, AttributeValue>>,
) -> PutItemError {
    PutItemError::ConditionalCheckFailedException(
        ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .set_item(item)
            .build(),
    )
}

#[tokio::test]
async fn given_a_new_chunk_when_recorded_then_one_conditional_put_inserts_it() {
    let captured = Captured::<PutItemInput>::new();
    let seen = captured.clone();
    let put = mock!(Client::put_item).then_compute_output(move |req| {
        seen.push(req);
        PutItemOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_dynamodb, [&put]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let outcome = table.record(&chunk("e1", 100, "0A")).await.unwrap();

    assert_eq!(outcome, RecordOutcome::Inserted);
    let requests = captured.all();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.table_name(), Some("chunks"));
    assert_eq!(
        request.condition_expression(),
        Some("attribute_not_exists(#rkey)")
    );
    assert_eq!(
        request
            .expression_attribute_names()
            .and_then(|names| names.get("#rkey"))
            .map(String::as_str),
        Some("recordingKey")
    );
    assert_eq!(
        request.return_values_on_condition_check_failure(),
        Some(&ReturnValuesOnConditionCheckFailure::AllOld)
    );
    assert_eq!(
        request.item(),
        Some(&stored_item(&chunk("e1", 100, "0A"), 0))
    );
}

#[tokio::test]
async fn given_the_same_object_stored_when_redelivered_then_duplicate_without_a_second_write() {
    let original = chunk("e1", 100, "0A");
    let stored = stored_item(&original, 0);
    let put = mock!(Client::put_item).then_error(move || condition_failed(Some(stored.clone())));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let outcome = table.record(&original).await.unwrap();

    assert_eq!(outcome, RecordOutcome::Duplicate);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn given_an_older_object_stored_when_a_newer_upload_arrives_then_it_replaces_conditionally_on_the_stored_sequencer()
 {
    let older = chunk("e1", 100, "0A");
    let newer = chunk("e2", 120, "0B");
    let stored = stored_item(&older, 1);
    let captured = Captured::<PutItemInput>::new();
    let seen = captured.clone();
    let insert = mock!(Client::put_item)
        .match_requests(|req| req.condition_expression() == Some("attribute_not_exists(#rkey)"))
        .then_error(move || condition_failed(Some(stored.clone())));
    let replace = mock!(Client::put_item)
        .match_requests(|req| req.condition_expression() != Some("attribute_not_exists(#rkey)"))
        .then_compute_output(move |req| {
            seen.push(req);
            PutItemOutput::builder().build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&insert, &replace]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let outcome = table.record(&newer).await.unwrap();

    assert_eq!(
        outcome,
        RecordOutcome::Replaced {
            previous_etag: "e1".into()
        }
    );
    let replaced = &captured.all()[0];
    assert_eq!(
        replaced.condition_expression(),
        Some("#seq = :storedSeq AND #etag = :storedEtag")
    );
    let values = replaced.expression_attribute_values().unwrap();
    assert_eq!(
        values.get(":storedSeq"),
        Some(&AttributeValue::S("0A".into()))
    );
    assert_eq!(
        values.get(":storedEtag"),
        Some(&AttributeValue::S("e1".into()))
    );
    assert_eq!(
        replaced.item(),
        Some(&stored_item(&newer, 2)),
        "reuploadCount 1 → 2"
    );
}

#[tokio::test]
async fn given_a_newer_object_stored_when_an_older_upload_arrives_then_stale_without_a_write() {
    let stored = stored_item(&chunk("e2", 120, "0B00"), 0);
    let put = mock!(Client::put_item).then_error(move || condition_failed(Some(stored.clone())));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    // "0A" pads to "0A00" < "0B00".
    let outcome = table.record(&chunk("e1", 100, "0A")).await.unwrap();

    assert_eq!(outcome, RecordOutcome::Stale);
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn given_a_racing_reupload_wins_when_our_replace_loses_then_we_decide_again_against_the_winner()
 {
    let first = stored_item(&chunk("e1", 100, "0A"), 0);
    let winner = stored_item(&chunk("e3", 130, "0C"), 1);
    let insert = mock!(Client::put_item)
        .match_requests(|req| req.condition_expression() == Some("attribute_not_exists(#rkey)"))
        .then_error(move || condition_failed(Some(first.clone())));
    let replace = mock!(Client::put_item)
        .match_requests(|req| req.condition_expression() != Some("attribute_not_exists(#rkey)"))
        .then_error(move || condition_failed(Some(winner.clone())));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&insert, &replace]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let outcome = table.record(&chunk("e2", 120, "0B")).await.unwrap();

    assert_eq!(outcome, RecordOutcome::Stale);
    assert_eq!(insert.num_calls(), 1);
    assert_eq!(replace.num_calls(), 1);
}

#[tokio::test]
async fn given_the_condition_fails_without_the_item_when_recording_then_a_consistent_read_decides()
{
    let stored = stored_item(&chunk("e1", 100, "0A"), 0);
    let put = mock!(Client::put_item).then_error(|| condition_failed(None));
    let get = mock!(Client::get_item)
        .match_requests(|req| req.consistent_read() == Some(true))
        .then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(stored.clone()))
                .build()
        });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &get]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let outcome = table.record(&chunk("e1", 100, "0A")).await.unwrap();

    assert_eq!(outcome, RecordOutcome::Duplicate);
    assert_eq!(get.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn given_throttling_that_persists_when_recording_then_the_sdk_retries_and_we_report_throttled()
 {
    let put = mock!(Client::put_item)
        .sequence()
        .http_status(400, Some(THROTTLED_BODY.into()))
        .times(3)
        .build();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put], |c| c
        .retry_config(three_attempts()));
    let table = DynamoDbChunkTable::new(client, "chunks");

    let result = table.record(&chunk("e1", 100, "0A")).await;

    assert!(
        matches!(
            result,
            Err(PortError::Throttled {
                service: "dynamodb",
                ..
            })
        ),
        "got {result:?}"
    );
    assert!(result.unwrap_err().is_retryable());
    assert_eq!(
        put.num_calls(),
        3,
        "every attempt of the retry config was used"
    );
}

#[tokio::test(start_paused = true)]
async fn given_throttling_that_passes_when_recording_then_the_retry_succeeds() {
    let put = mock!(Client::put_item)
        .sequence()
        .http_status(400, Some(THROTTLED_BODY.into()))
        .times(2)
        .output(|| PutItemOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put], |c| c
        .retry_config(three_attempts()));
    let table = DynamoDbChunkTable::new(client, "chunks");

    let outcome = table.record(&chunk("e1", 100, "0A")).await.unwrap();

    assert_eq!(outcome, RecordOutcome::Inserted);
    assert_eq!(put.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn given_access_denied_when_recording_then_it_is_not_retried() {
    let put = mock!(Client::put_item)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"no"}"#
                    .into(),
            ),
        )
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put], |c| c
        .retry_config(three_attempts()));
    let table = DynamoDbChunkTable::new(client, "chunks");

    let result = table.record(&chunk("e1", 100, "0A")).await;

    assert!(
        matches!(result, Err(PortError::AccessDenied { .. })),
        "got {result:?}"
    );
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn given_server_errors_when_recording_then_unavailable_after_the_retries() {
    let put = mock!(Client::put_item)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&put], |c| c
        .retry_config(three_attempts()));
    let table = DynamoDbChunkTable::new(client, "chunks");

    let result = table.record(&chunk("e1", 100, "0A")).await;

    assert!(
        matches!(result, Err(PortError::Unavailable { .. })),
        "got {result:?}"
    );
    assert_eq!(put.num_calls(), 3);
}

#[tokio::test]
async fn given_a_later_reupload_when_an_old_verdict_marks_the_chunk_failed_then_nothing_changes() {
    let update = mock!(Client::update_item)
        .match_requests(|req| {
            req.condition_expression() == Some("#etag = :etag")
                && req
                    .expression_attribute_values()
                    .and_then(|v| v.get(":etag"))
                    == Some(&AttributeValue::S("old".into()))
        })
        .then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let marked = table
        .mark_failed(
            &recording(),
            ChunkIndex::new(2).unwrap(),
            "old",
            "sha256 mismatch",
        )
        .await
        .unwrap();

    assert!(!marked);
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn given_the_current_etag_when_marking_failed_then_status_and_reason_are_set() {
    let update = mock!(Client::update_item)
        .match_requests(|req| {
            req.update_expression() == Some("SET #status = :failed, #lastError = :reason")
                && req.key().and_then(|k| k.get("recordingKey"))
                    == Some(&AttributeValue::S("user_1/rec_1".into()))
                && req
                    .expression_attribute_values()
                    .and_then(|v| v.get(":failed"))
                    == Some(&AttributeValue::S("failed".into()))
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let marked = table
        .mark_failed(
            &recording(),
            ChunkIndex::new(2).unwrap(),
            "e1",
            "sha256 mismatch",
        )
        .await
        .unwrap();

    assert!(marked);
}

#[tokio::test]
async fn given_an_item_of_another_shape_when_reading_chunks_then_corrupt_not_a_panic() {
    let query = mock!(Client::query).then_output(|| {
        aws_sdk_dynamodb::operation::query::QueryOutput::builder()
            .items(
                [
                    ("recordingId".to_owned(), AttributeValue::S("rec_1".into())),
                    ("chunkIndex".to_owned(), AttributeValue::S("two".into())),
                ]
                .into(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, [&query]);
    let table = DynamoDbChunkTable::new(client, "chunks");

    let result = table.chunks(&recording()).await;

    assert!(
        matches!(result, Err(PortError::Corrupt { .. })),
        "got {result:?}"
    );
}
