//! `DynamoDbCatalog` against mocked DynamoDB responses.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::update_item::{
    UpdateItemError, UpdateItemInput, UpdateItemOutput,
};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::{TimeZone, Utc};
use meeting_domain::contracts::EndSignal;
use meeting_domain::ports::{Catalog, CatalogPatch};
use meeting_domain::{PortError, RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_aws::DynamoDbCatalog;

use crate::Captured;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn record_item(status: &str, expected: Option<u32>) -> HashMap<String, AttributeValue> {
    let mut item: HashMap<String, AttributeValue> = [
        ("recordingId", s("rec_1")),
        ("userId", s("user_1")),
        ("status", s(status)),
        ("run", AttributeValue::N("0".into())),
        ("updatedAt", s("2026-11-28T19:00:00.000Z")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(expected) = expected {
        item.insert(
            "expectedChunkCount".into(),
            AttributeValue::N(expected.to_string()),
        );
        item.insert("stoppedAt".into(), s("2026-11-28T19:00:00.000Z"));
    }
    item
}

fn update_condition_failed(item: Option<HashMap<String, AttributeValue>>) -> UpdateItemError {
    UpdateItemError::ConditionalCheckFailedException(
        ConditionalCheckFailedException::builder()
            .set_item(item)
            .build(),
    )
}

fn recording() -> RecordingRef {
    RecordingRef::new(
        UserId::new("user_1").unwrap(),
        RecordingId::new("rec_1").unwrap(),
    )
}

fn key_of(request: &UpdateItemInput) -> Option<(&AttributeValue, &AttributeValue)> {
    let key = request.key()?;
    Some((key.get("userId")?, key.get("recordingId")?))
}

#[tokio::test]
async fn given_a_winning_transition_then_the_update_is_conditional_on_the_from_status() {
    let captured = Captured::<UpdateItemInput>::new();
    let seen = captured.clone();
    let update = mock!(Client::update_item).then_compute_output(move |req| {
        seen.push(req);
        UpdateItemOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 19, 30, 0).unwrap();

    let won = catalog
        .transition(
            &recording(),
            RecordingStatus::Recording,
            RecordingStatus::ReadyForProcessing,
            CatalogPatch {
                execution_name: Some("rec_1".into()),
                missing_chunks: Some(vec![]),
                error: Some(None),
                sweep_at: Some(None),
                ..CatalogPatch::default()
            },
            now,
        )
        .await
        .unwrap();

    assert!(won);
    let request = &captured.all()[0];
    assert_eq!(key_of(request), Some((&s("user_1"), &s("rec_1"))));
    // From `recording`, an item the client created (no status yet) counts as `recording` too.
    assert_eq!(
        request.condition_expression(),
        Some(
            "attribute_exists(#recordingId) AND (#status = :from OR attribute_not_exists(#status))"
        )
    );
    let values = request.expression_attribute_values().unwrap();
    assert_eq!(values.get(":from"), Some(&s("recording")));
    assert_eq!(values.get(":status"), Some(&s("ready_for_processing")));
    assert_eq!(
        values.get(":updatedAt"),
        Some(&s("2026-11-28T19:30:00.000Z"))
    );
    assert_eq!(values.get(":executionName"), Some(&s("rec_1")));
    assert_eq!(
        request.update_expression(),
        Some(
            "SET #status = :status, #updatedAt = :updatedAt, #executionName = :executionName \
             REMOVE #sweepShard, #sweepAt, #missingChunks, #error"
        )
    );
}

#[tokio::test]
async fn given_someone_else_won_when_transitioning_then_false() {
    let update = mock!(Client::update_item).then_error(|| update_condition_failed(None));
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");

    let won = catalog
        .transition(
            &recording(),
            RecordingStatus::Recording,
            RecordingStatus::ReadyForProcessing,
            CatalogPatch::default(),
            Utc::now(),
        )
        .await
        .unwrap();

    assert!(!won);
}

#[tokio::test]
async fn given_an_illegal_transition_then_it_is_rejected_without_any_call() {
    let update = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");

    let result = catalog
        .transition(
            &recording(),
            RecordingStatus::Completed,
            RecordingStatus::IncompleteChunks,
            CatalogPatch::default(),
            Utc::now(),
        )
        .await;

    assert!(
        matches!(result, Err(PortError::Rejected { .. })),
        "got {result:?}"
    );
    assert_eq!(update.num_calls(), 0);
}

#[tokio::test]
async fn given_the_same_count_already_stored_when_set_again_then_it_is_idempotent() {
    let update = mock!(Client::update_item)
        .then_error(|| update_condition_failed(Some(record_item("recording", Some(3)))));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");
    let recording = recording();

    let record = catalog
        .set_expected_count(&recording, 3, EndSignal::Client, Utc::now())
        .await
        .unwrap();

    assert_eq!(record.expected_chunk_count, Some(3));
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn given_another_count_already_stored_when_set_then_conflict() {
    let update = mock!(Client::update_item)
        .then_error(|| update_condition_failed(Some(record_item("recording", Some(3)))));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");
    let recording = recording();

    let result = catalog
        .set_expected_count(&recording, 4, EndSignal::Client, Utc::now())
        .await;

    assert!(
        matches!(result, Err(PortError::Conflict { .. })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn given_no_count_yet_when_set_then_one_upsert_stores_it_only_if_absent() {
    let captured = Captured::<UpdateItemInput>::new();
    let seen = captured.clone();
    let update = mock!(Client::update_item).then_compute_output(move |req| {
        seen.push(req);
        UpdateItemOutput::builder()
            .set_attributes(Some(record_item("recording", Some(5))))
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");
    let recording = recording();

    let record = catalog
        .set_expected_count(&recording, 5, EndSignal::Client, Utc::now())
        .await
        .unwrap();

    assert_eq!(record.expected_chunk_count, Some(5));
    let request = &captured.all()[0];
    assert_eq!(key_of(request), Some((&s("user_1"), &s("rec_1"))));
    // The same count again is idempotent; another one fails the condition (a conflict).
    assert_eq!(
        request.condition_expression(),
        Some("attribute_not_exists(#count) OR #count = :count")
    );
    // The first stop time is kept; a client end signal never replaces a manifest one.
    assert_eq!(
        request.update_expression(),
        Some(
            "SET #count = :count, #stopped = if_not_exists(#stopped, :now), #updated = :now, \
             #status = if_not_exists(#status, :recording), #run = if_not_exists(#run, :zero), \
             #signal = if_not_exists(#signal, :signal)"
        )
    );
    assert_eq!(
        request
            .expression_attribute_values()
            .and_then(|v| v.get(":signal")),
        Some(&s("client"))
    );
    assert_eq!(
        request
            .expression_attribute_values()
            .and_then(|v| v.get(":count")),
        Some(&AttributeValue::N("5".into()))
    );
}

#[tokio::test]
async fn given_a_manifest_end_signal_when_setting_the_count_then_it_replaces_a_client_one() {
    let captured = Captured::<UpdateItemInput>::new();
    let seen = captured.clone();
    let update = mock!(Client::update_item).then_compute_output(move |req| {
        seen.push(req);
        UpdateItemOutput::builder()
            .set_attributes(Some(record_item("recording", Some(5))))
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");

    catalog
        .set_expected_count(&recording(), 5, EndSignal::Manifest, Utc::now())
        .await
        .unwrap();

    let request = &captured.all()[0];
    assert!(
        request
            .update_expression()
            .is_some_and(|e| e.ends_with(", #signal = :signal")),
        "got {:?}",
        request.update_expression()
    );
    assert_eq!(
        request
            .expression_attribute_values()
            .and_then(|v| v.get(":signal")),
        Some(&s("manifest"))
    );
}

#[tokio::test]
async fn given_a_sweep_time_when_set_then_both_index_attributes_are_written_on_an_existing_item() {
    let captured = Captured::<UpdateItemInput>::new();
    let seen = captured.clone();
    let update = mock!(Client::update_item).then_compute_output(move |req| {
        seen.push(req);
        UpdateItemOutput::builder().build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");
    let at = Utc.with_ymd_and_hms(2026, 11, 28, 19, 45, 0).unwrap();

    catalog.set_sweep_at(&recording(), Some(at)).await.unwrap();
    catalog.set_sweep_at(&recording(), None).await.unwrap();

    let requests = captured.all();
    assert_eq!(key_of(&requests[0]), Some((&s("user_1"), &s("rec_1"))));
    assert_eq!(
        requests[0].update_expression(),
        Some("SET #sweepShard = :sweepShard, #sweepAt = :sweepAt")
    );
    let values = requests[0].expression_attribute_values().unwrap();
    assert_eq!(values.get(":sweepShard"), Some(&s("due")));
    assert_eq!(values.get(":sweepAt"), Some(&s("2026-11-28T19:45:00.000Z")));
    assert_eq!(
        requests[1].update_expression(),
        Some("REMOVE #sweepShard, #sweepAt")
    );
    for request in &requests {
        assert_eq!(
            request.condition_expression(),
            Some("attribute_exists(#recordingId)")
        );
    }
}

#[tokio::test]
async fn given_a_vanished_recording_when_setting_the_sweep_time_then_nothing_happens() {
    let update = mock!(Client::update_item).then_error(|| update_condition_failed(None));
    let client = mock_client!(aws_sdk_dynamodb, [&update]);
    let catalog = DynamoDbCatalog::new(client, "catalog");

    catalog
        .set_sweep_at(&recording(), Some(Utc::now()))
        .await
        .unwrap();

    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn given_due_recordings_when_sweeping_then_one_bounded_query_of_the_sweep_index_oldest_first()
{
    let captured = Captured::<QueryInput>::new();
    let seen = captured.clone();
    let query = mock!(Client::query).then_compute_output(move |req| {
        seen.push(req);
        QueryOutput::builder()
            .items(record_item("recording", Some(3)))
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, [&query]);
    let catalog = DynamoDbCatalog::new(client, "catalog");
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 19, 30, 0).unwrap();

    let due = catalog.due_for_sweep(now, 25).await.unwrap();

    assert_eq!(due.len(), 1);
    let requests = captured.all();
    assert_eq!(
        requests.len(),
        1,
        "no further page without LastEvaluatedKey"
    );
    let request = &requests[0];
    assert_eq!(request.index_name(), Some("sweep-due"));
    assert_eq!(
        request.key_condition_expression(),
        Some("#shard = :due AND #at <= :now")
    );
    assert_eq!(request.scan_index_forward(), Some(true));
    assert_eq!(request.limit(), Some(25));
    let names = request.expression_attribute_names().unwrap();
    assert_eq!(names.get("#shard").map(String::as_str), Some("sweepShard"));
    assert_eq!(names.get("#at").map(String::as_str), Some("sweepAt"));
    let values = request.expression_attribute_values().unwrap();
    assert_eq!(values.get(":due"), Some(&s("due")));
    assert_eq!(values.get(":now"), Some(&s("2026-11-28T19:30:00.000Z")));
}
