//! The Chunk Upload Handler: validation, first-writer-wins recording, duplicates and re-uploads,
//! and the no-call guarantee for malformed keys.

mod common;

use std::sync::Arc;

use common::{BUCKET, CallCounter, World, event, fixture, rref};
use meeting_domain::ports::{ChunkTable, RecordOutcome};
use recorder_lambdas::Metric;
use recorder_lambdas::ingest::{self, IngestOutcome};

#[tokio::test]
async fn a_malformed_key_is_acknowledged_counted_and_touches_no_port() {
    // GIVEN ports that count every call
    let counter = Arc::new(CallCounter::default());
    let ports = counter.ports();
    let metrics = Arc::new(recorder_lambdas::RecordingMetrics::new());
    let ports = recorder_lambdas::Ports {
        metrics: metrics.clone(),
        ..ports
    };
    let hostile = [
        "users/u/chunks/../chunk_000.mp4",
        "users/u/chunks/r/chunk_1.mp4",
        "users/u/chunks/r/chunk_0001.mp4",
        "users/u/chunks/r/chunk_100000.mp4",
        "users/u/chunks/r/chunk_000.mov",
        "users//chunks/r/chunk_000.mp4",
        "users/u%2F..%2F/chunks/r/chunk_000.mp4",
        "users/u/chunks/r%zz/chunk_000.mp4",
        "other/u/chunks/r/chunk_000.mp4",
    ];
    for key in hostile {
        // WHEN the event for it is handled
        let outcome = ingest::handle_event(&ports, event(key, 10, "e", "01"))
            .await
            .unwrap();
        // THEN it is acknowledged as malformed
        assert!(
            matches!(outcome, IngestOutcome::MalformedKey { .. }),
            "{key}: {outcome:?}"
        );
    }
    // AND no port was called, and each was counted
    assert_eq!(counter.count(), 0);
    assert_eq!(metrics.get(Metric::MalformedKeys), hostile.len() as u64);
}

#[tokio::test]
async fn object_tags_added_and_foreign_buckets_are_ignored_without_port_calls() {
    let counter = Arc::new(CallCounter::default());
    let ports = counter.ports();
    let tags = serde_json::from_slice(&fixture("moto_object_tags_added.json")).unwrap();
    assert_eq!(
        ingest::handle_event(&ports, tags).await.unwrap(),
        IngestOutcome::IgnoredEvent
    );
    let mut foreign = event("users/u/chunks/r/chunk_000.mp4", 10, "e", "01");
    foreign.detail["bucket"]["name"] = "someone-else".into();
    assert_eq!(
        ingest::handle_event(&ports, foreign).await.unwrap(),
        IngestOutcome::ForeignBucket
    );
    assert_eq!(counter.count(), 0);
}

#[tokio::test]
async fn empty_oversized_missing_and_non_mp4_chunks_are_recorded_as_rejected_with_their_reason() {
    let world = World::new();
    let empty = event("users/u/chunks/r/chunk_000.mp4", 0, "e", "01");
    let huge = event(
        "users/u/chunks/r/chunk_001.mp4",
        10 * 1024 * 1024,
        "e",
        "02",
    );
    let gone = event("users/u/chunks/r/chunk_002.mp4", 100, "e", "03");
    let text = world
        .upload(
            "users/u/chunks/r/chunk_003.mp4",
            bytes::Bytes::from_static(b"#EXTM3U\n#EXT-X-VERSION:3\n"),
        )
        .await;
    for e in [empty, huge, gone, text] {
        let outcome = world.deliver(e).await.unwrap();
        assert!(
            matches!(outcome, IngestOutcome::InvalidChunk { .. }),
            "{outcome:?}"
        );
    }
    // Recorded as rejected with the reason, so the recording reports them instead of "missing".
    let chunks = world.chunks.chunks(&rref("r")).await.unwrap();
    assert_eq!(chunks.len(), 4);
    for chunk in &chunks {
        assert_eq!(chunk.status, meeting_domain::contracts::ChunkStatus::Failed);
        assert!(chunk.last_error.is_some(), "{chunk:?}");
    }
    assert_eq!(world.metrics.get(Metric::InvalidChunks), 4);
}

#[tokio::test]
async fn a_redelivered_event_is_a_duplicate_and_counts_once() {
    // GIVEN one uploaded chunk
    let world = World::new();
    let e = world.upload_chunk("u", "r", 0, b"a").await;
    // WHEN its event is delivered three times
    let first = world.deliver(e.clone()).await.unwrap();
    let second = world.deliver(e.clone()).await.unwrap();
    world.deliver(e).await.unwrap();
    // THEN it was inserted once and then recognised as a duplicate
    assert!(matches!(
        first,
        IngestOutcome::Chunk {
            recorded: RecordOutcome::Inserted,
            ..
        }
    ));
    assert!(matches!(
        second,
        IngestOutcome::Chunk {
            recorded: RecordOutcome::Duplicate,
            ..
        }
    ));
    assert_eq!(world.chunks.chunks(&rref("r")).await.unwrap().len(), 1);
    assert_eq!(world.metrics.get(Metric::ChunksRecorded), 1);
    assert_eq!(world.metrics.get(Metric::DuplicateChunks), 2);
    // AND the catalog knows the recording
    assert_eq!(
        world.status("r").await.status,
        meeting_domain::RecordingStatus::Recording
    );
}

#[tokio::test]
async fn a_reupload_replaces_the_chunk_once_and_a_late_older_event_is_stale() {
    let world = World::new();
    let old = world.upload_chunk("u", "r", 0, b"first").await;
    let new = world.upload_chunk("u", "r", 0, b"second").await;
    let new_etag = new.detail["object"]["etag"].as_str().unwrap().to_owned();
    // The newer upload's event arrives first, then the older one; then the newer again.
    world.deliver(old.clone()).await.unwrap();
    let replaced = world.deliver(new.clone()).await.unwrap();
    let stale = world.deliver(old).await.unwrap();
    assert!(matches!(
        replaced,
        IngestOutcome::Chunk {
            recorded: RecordOutcome::Replaced { .. },
            ..
        }
    ));
    assert!(matches!(
        stale,
        IngestOutcome::Chunk {
            recorded: RecordOutcome::Stale,
            ..
        }
    ));
    let chunks = world.chunks.chunks(&rref("r")).await.unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].etag, new_etag);
    assert_eq!(chunks[0].reupload_count, 1);
    assert_eq!(world.metrics.get(Metric::ReuploadedChunks), 1);
}

#[tokio::test]
async fn a_moto_shaped_event_with_an_etag_field_named_etag_is_ingested() {
    let world = World::new();
    let uploaded = world.upload_chunk("user_123", "rec_456", 0, b"m").await;
    let mut moto: serde_json::Value =
        serde_json::from_slice(&fixture("moto_object_created.json")).unwrap();
    moto["detail"]["bucket"]["name"] = BUCKET.into();
    moto["detail"]["object"]["eTag"] = uploaded.detail["object"]["etag"].clone();
    moto["detail"]["object"]["size"] = uploaded.detail["object"]["size"].clone();
    let outcome = world
        .deliver(serde_json::from_value(moto).unwrap())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            IngestOutcome::Chunk {
                recorded: RecordOutcome::Inserted,
                ..
            }
        ),
        "{outcome:?}"
    );
    let chunks = world
        .chunks
        .chunks(&meeting_domain::RecordingRef::new(
            common::uid("user_123"),
            common::rid("rec_456"),
        ))
        .await
        .unwrap();
    assert_eq!(
        chunks[0].etag,
        uploaded.detail["object"]["etag"].as_str().unwrap()
    );
    assert!(
        chunks[0].sha256.is_some(),
        "checksum taken from HeadObject of the same version"
    );
}

#[tokio::test]
async fn a_transient_storage_failure_is_returned_as_retryable() {
    use recorder_testkit::memory::object_store::{InjectedError, StoreOp};
    let world = World::new();
    let e = world.upload_chunk("u", "r", 0, b"a").await;
    world
        .objects
        .fail_next(StoreOp::Head, InjectedError::Throttled);
    let error = world.deliver(e.clone()).await.unwrap_err();
    assert!(error.is_retryable());
    assert!(world.chunks.chunks(&rref("r")).await.unwrap().is_empty());
    assert!(world.deliver(e).await.is_ok());
}
