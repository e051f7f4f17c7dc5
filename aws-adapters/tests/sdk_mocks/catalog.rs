//! `DynamoDbCatalog` against mocked DynamoDB responses.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::{
    UpdateItemError, UpdateItemInput, UpdateItemOutput,
};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::{TimeZone, Utc};
use meeting_domain::ports::{Catalog, CatalogPatch};
use meeting_domain::{PortError, RecordingId, RecordingStatus, UserId};
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

fn ids() -> (UserId, RecordingId) {
    (
        UserId::new("user_1").unwrap(),
        RecordingId::new("rec_1").unwrap(),
    )
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
            &ids().1,
            RecordingStatus::Recording,
            RecordingStatus::ReadyForProcessing,
            CatalogPatch {
                execution_name: Some("rec_1".into()),
                missing_chunks: Some(vec![]),
                error: Some(None),
                ..CatalogPatch::default()
            },
            now,
        )
        .await
        .unwrap();

    assert!(won);
    let request = &captured.all()[0];
    assert_eq!(request.condition_expression(), Some("#status = :from"));
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
             REMOVE #awaitingCompletion, #missingChunks, #error"
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
            &ids().1,
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
            &ids().1,
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
    let (user, recording) = ids();

    let record = catalog
        .set_expected_count(&user, &recording, 3, Utc::now())
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
    let (user, recording) = ids();

    let result = catalog
        .set_expected_count(&user, &recording, 4, Utc::now())
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
    let (user, recording) = ids();

    let record = catalog
        .set_expected_count(&user, &recording, 5, Utc::now())
        .await
        .unwrap();

    assert_eq!(record.expected_chunk_count, Some(5));
    let request = &captured.all()[0];
    assert_eq!(
        request.condition_expression(),
        Some(
            "attribute_not_exists(#count) AND (attribute_not_exists(#status) OR #status = :recording)"
        )
    );
    assert_eq!(
        request
            .expression_attribute_values()
            .and_then(|v| v.get(":count")),
        Some(&AttributeValue::N("5".into()))
    );
}
