//! Committed fixtures of real event shapes (AWS and moto variants) parse, round-trip, and are
//! classified correctly.

mod common;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use common::fixture;
use recorder_lambdas::events::{
    S3EventDetail, S3Notification, expected_count_written, parse_s3_notification_json,
};
use serde_json::Value;

fn created(name: &str) -> recorder_lambdas::events::ObjectCreated {
    match parse_s3_notification_json(&fixture(name)).unwrap() {
        S3Notification::Created(created) => *created,
        other => panic!("{name} parsed as {other:?}"),
    }
}

#[test]
fn every_s3_fixture_round_trips_through_the_typed_detail() {
    for name in [
        "aws_object_created_put.json",
        "aws_object_created_multipart_encoded.json",
        "moto_object_created.json",
        "moto_object_tags_added.json",
        "minimal_object_created.json",
    ] {
        let event: EventBridgeEvent<Value> = serde_json::from_slice(&fixture(name)).unwrap();
        let detail: S3EventDetail = serde_json::from_value(event.detail.clone()).unwrap();
        let again: S3EventDetail =
            serde_json::from_value(serde_json::to_value(&detail).unwrap()).unwrap();
        assert_eq!(detail, again, "{name}");
        let reparsed: EventBridgeEvent<Value> =
            serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
        assert_eq!(event, reparsed, "{name}");
    }
}

#[test]
fn the_aws_etag_field_and_moto_etag_field_both_fill_the_etag() {
    assert_eq!(
        created("aws_object_created_put.json").etag(),
        "b1946ac92492d2347c6235b4d2611184"
    );
    assert_eq!(
        created("moto_object_created.json").etag(),
        "0b9a5f4c1e2d3c4b5a69788796a5b4c3"
    );
}

#[test]
fn a_missing_sequencer_falls_back_to_the_event_time_and_still_orders() {
    let minimal = created("minimal_object_created.json");
    assert!(minimal.detail.object.sequencer.is_none());
    assert!(minimal.detail.reason.is_none());
    let fallback = minimal.sequencer();
    assert_eq!(fallback.len(), 16);
    let mut later = minimal;
    later.time = later.time.map(|t| t + chrono::Duration::seconds(1));
    assert!(later.sequencer() > fallback);
}

#[test]
fn object_tags_added_is_classified_as_ignored() {
    let parsed = parse_s3_notification_json(&fixture("moto_object_tags_added.json")).unwrap();
    assert!(
        matches!(parsed, S3Notification::Ignored { ref detail_type, .. } if detail_type == "Object Tags Added")
    );
}

#[test]
fn an_object_created_event_without_an_object_is_an_invalid_event() {
    let raw =
        br#"{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"}}}"#;
    let error = parse_s3_notification_json(raw).unwrap_err();
    assert!(!error.is_retryable());
}

#[test]
fn the_catalog_stream_fixture_round_trips_and_only_the_count_write_triggers() {
    let event: StreamEvent =
        serde_json::from_slice(&fixture("catalog_stream_expected_count.json")).unwrap();
    let again: StreamEvent = serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
    assert_eq!(event, again);
    let triggers: Vec<_> = event
        .records
        .iter()
        .filter_map(expected_count_written)
        .collect();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0].recording_id, "rec_456");
    assert_eq!(triggers[0].expected_chunk_count, 3);
}
