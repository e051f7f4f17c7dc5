//! The Session Completion Detector and the sweeper: exactly-once start, exact index sets, gaps,
//! grace period, checksums, and recovery from a failed start after a won transition.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::{World, rid, rref, stream_event, uid};
use meeting_domain::contracts::{ChunkManifest, ManifestChunk};
use meeting_domain::keys::manifest_key;
use meeting_domain::ports::ChunkTable;
use meeting_domain::{ChunkIndex, RecordingStatus};
use recorder_lambdas::completion::{self, Completion};
use recorder_lambdas::ingest::IngestOutcome;
use recorder_lambdas::{LambdaError, Metric, stream, sweeper};
use recorder_testkit::chaos::expected_count_stream_event;

async fn upload_all(
    world: &World,
    recording: &str,
    indices: &[u32],
) -> Vec<aws_lambda_events::event::eventbridge::EventBridgeEvent<serde_json::Value>> {
    let mut events = Vec::new();
    for &i in indices {
        events.push(
            world
                .upload_chunk("u", recording, i, format!("chunk {i}").as_bytes())
                .await,
        );
    }
    events
}

async fn manifest(
    world: &World,
    recording: &str,
    manifest: &ChunkManifest,
) -> aws_lambda_events::event::eventbridge::EventBridgeEvent<serde_json::Value> {
    let key = manifest_key(&uid("u"), &rid(recording));
    world
        .upload(&key, Bytes::from(serde_json::to_vec(manifest).unwrap()))
        .await
}

fn count_only(n: u32) -> ChunkManifest {
    ChunkManifest {
        expected_chunk_count: n,
        chunks: Vec::new(),
    }
}

#[tokio::test]
async fn a_complete_recording_starts_once_with_the_canonical_input() {
    // GIVEN three chunks and a manifest announcing three
    let world = World::new();
    for e in upload_all(&world, "r", &[0, 1, 2]).await {
        world.deliver(e).await.unwrap();
    }
    let m = manifest(&world, "r", &count_only(3)).await;
    // WHEN the manifest arrives (twice)
    let outcome = world.deliver(m.clone()).await.unwrap();
    world.deliver(m).await.unwrap();
    // THEN exactly one execution named after the recording started with chunkCount 3
    assert_eq!(
        outcome,
        IngestOutcome::Manifest {
            completion: Completion::Started {
                execution_name: rref("r").execution_name(0)
            }
        }
    );
    let started = world.workflows.started();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].0, rref("r").execution_name(0));
    assert_eq!(started[0].1.chunk_count, 3);
    assert_eq!(started[0].1.bucket, common::BUCKET);
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::Processing);
    assert_eq!(record.execution_name, Some(rref("r").execution_name(0)));
    assert_eq!(world.metrics.get(Metric::SessionsStarted), 1);
}

#[tokio::test]
async fn the_right_count_with_the_wrong_indices_never_starts() {
    // GIVEN chunks 0, 1 and 3 while 3 chunks are expected: the count matches, the set does not
    let world = World::new();
    world.set_expected("u", "r", 3).await;
    for e in upload_all(&world, "r", &[0, 1, 3]).await {
        world.deliver(e).await.unwrap();
    }
    // THEN the recording is incomplete at once: 2 missing, 3 beyond the count
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    assert_eq!(record.missing_chunks, vec![2]);
    assert_eq!(record.failed_chunks, vec![3]);
    assert!(world.workflows.started().is_empty());
    assert_eq!(world.metrics.get(Metric::SessionsWithMissingChunks), 1);
}

#[tokio::test]
async fn missing_chunks_wait_for_the_grace_period_then_the_sweeper_marks_them() {
    // GIVEN chunk 1 of 3 missing and the end known
    let world = World::new();
    for e in upload_all(&world, "r", &[0, 2]).await {
        world.deliver(e).await.unwrap();
    }
    world.set_expected("u", "r", 3).await;
    // WHEN the sweeper runs before the grace period ends
    world.clock.advance(chrono::Duration::seconds(599));
    let early = sweeper::sweep(&world.ports).await.unwrap();
    // THEN nothing is due yet
    assert_eq!(early.examined, 0);
    assert_eq!(
        completion::check(&world.ports, &rref("r")).await.unwrap(),
        Completion::AwaitingChunks { missing: vec![1] }
    );
    // WHEN it runs after the grace period
    world.clock.advance(chrono::Duration::seconds(2));
    let report = sweeper::sweep(&world.ports).await.unwrap();
    // THEN the recording is incomplete with the missing list, counted once, not started
    assert_eq!(report.incomplete, 1);
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    assert_eq!(record.missing_chunks, vec![1]);
    assert_eq!(record.error.as_deref(), Some(completion::INCOMPLETE_ERROR));
    assert_eq!(world.metrics.get(Metric::SessionsWithMissingChunks), 1);
    sweeper::sweep(&world.ports).await.unwrap();
    assert_eq!(world.metrics.get(Metric::SessionsWithMissingChunks), 1);
    assert!(world.workflows.started().is_empty());
}

#[tokio::test]
async fn a_late_chunk_that_fills_the_gap_resumes_processing() {
    // GIVEN a recording marked incomplete because chunk 1 was missing
    let world = World::new();
    for e in upload_all(&world, "r", &[0, 2]).await {
        world.deliver(e).await.unwrap();
    }
    world.set_expected("u", "r", 3).await;
    // (the catalog stream runs the check after the client's write)
    completion::check(&world.ports, &rref("r")).await.unwrap();
    world.clock.advance(chrono::Duration::hours(1));
    sweeper::sweep(&world.ports).await.unwrap();
    assert_eq!(
        world.status("r").await.status,
        RecordingStatus::IncompleteChunks
    );
    // WHEN chunk 1 finally arrives
    let late = world.upload_chunk("u", "r", 1, b"late").await;
    world.deliver(late).await.unwrap();
    // THEN processing starts and the lists are cleared
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::Processing);
    assert!(record.missing_chunks.is_empty());
    assert_eq!(world.workflows.started().len(), 1);
}

#[tokio::test]
async fn a_failed_start_after_winning_is_returned_and_the_retry_starts_it() {
    // GIVEN a complete recording whose first StartExecution fails
    let world = World::new();
    world.set_expected("u", "r", 1).await;
    let e = world.upload_chunk("u", "r", 0, b"only").await;
    world.workflows.fail_next(1);
    // WHEN the chunk event is handled
    let error = world.deliver(e.clone()).await.unwrap_err();
    // THEN the error propagates as retryable and the transition stays won
    assert!(error.is_retryable(), "{error}");
    assert_eq!(
        world.status("r").await.status,
        RecordingStatus::ReadyForProcessing
    );
    assert!(world.workflows.started().is_empty());
    // WHEN the platform redelivers the event
    let outcome = world.deliver(e).await.unwrap();
    // THEN the same execution is started and the recording moves on
    assert!(
        matches!(
            outcome,
            IngestOutcome::Chunk {
                completion: Completion::Started { .. },
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(world.workflows.started().len(), 1);
    assert_eq!(world.status("r").await.status, RecordingStatus::Processing);
}

#[tokio::test]
async fn a_retried_start_of_a_running_execution_is_a_success() {
    let world = World::new();
    world.set_expected("u", "r", 1).await;
    world
        .deliver(world.upload_chunk("u", "r", 0, b"x").await)
        .await
        .unwrap();
    // Pretend the status write after the start was lost: back to ready_for_processing.
    let mut record = world.status("r").await;
    record.status = RecordingStatus::ReadyForProcessing;
    world.catalog.put(record);
    let again = completion::check(&world.ports, &rref("r")).await.unwrap();
    assert_eq!(
        again,
        Completion::Started {
            execution_name: rref("r").execution_name(0)
        }
    );
    assert_eq!(
        world.workflows.started().len(),
        1,
        "AlreadyRunning, not a second execution"
    );
    assert_eq!(world.workflows.calls(), 2);
}

#[tokio::test]
async fn racing_last_chunks_start_the_recording_exactly_once() {
    for round in 0..50 {
        // GIVEN the end is known and all chunks but the last two are recorded
        let world = Arc::new(World::new());
        let recording = format!("race{round}");
        world.set_expected("u", &recording, 4).await;
        let events = upload_all(&world, &recording, &[0, 1, 2, 3]).await;
        for e in &events[..2] {
            world.deliver(e.clone()).await.unwrap();
        }
        // WHEN the last two chunks (and a duplicate) are handled concurrently
        let mut tasks = Vec::new();
        for e in [events[2].clone(), events[3].clone(), events[3].clone()] {
            let world = world.clone();
            tasks.push(tokio::spawn(async move { world.deliver(e).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // THEN exactly one execution exists
        assert_eq!(world.workflows.started().len(), 1, "round {round}");
        assert_eq!(
            world.status(&recording).await.status,
            RecordingStatus::Processing
        );
    }
}

#[tokio::test]
async fn a_checksum_mismatch_fails_the_chunk_and_a_correct_reupload_resumes() {
    // GIVEN two chunks and a manifest whose checksum of chunk 1 is wrong
    let world = World::new();
    for e in upload_all(&world, "r", &[0, 1]).await {
        world.deliver(e).await.unwrap();
    }
    let chunks = world.chunks.chunks(&rref("r")).await.unwrap();
    let wrong = ChunkManifest {
        expected_chunk_count: 2,
        chunks: vec![
            ManifestChunk {
                index: ChunkIndex::new(0).unwrap(),
                sha256: chunks[0].sha256.clone(),
                duration_seconds: None,
            },
            ManifestChunk {
                index: ChunkIndex::new(1).unwrap(),
                sha256: Some("ab".repeat(32)),
                duration_seconds: None,
            },
        ],
    };
    // WHEN the manifest arrives
    world
        .deliver(manifest(&world, "r", &wrong).await)
        .await
        .unwrap();
    // THEN the catalog names chunk 1 and why, nothing starts; the chunk itself stays valid (the
    // mismatch is judged against the current manifest on every check)
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    assert_eq!(record.failed_chunks, vec![1]);
    assert!(record.missing_chunks.is_empty());
    assert!(
        record
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("chunk 1 rejected: sha256 mismatch"),
        "{record:?}"
    );
    assert!(world.workflows.started().is_empty());
}

#[tokio::test]
async fn a_correct_reupload_after_a_checksum_failure_resumes_processing() {
    // GIVEN a manifest naming the SHA-256 of the intended content of chunk 0, but a corrupt
    // upload arrived first
    let world = World::new();
    let intended = recorder_testkit::chaos::mp4_bytes(b"intended");
    let sha = sha256_hex(&intended);
    let corrupt = world.upload_chunk("u", "r", 0, b"corrupt").await;
    world.deliver(corrupt).await.unwrap();
    let m = ChunkManifest {
        expected_chunk_count: 1,
        chunks: vec![ManifestChunk {
            index: ChunkIndex::new(0).unwrap(),
            sha256: Some(sha),
            duration_seconds: None,
        }],
    };
    world
        .deliver(manifest(&world, "r", &m).await)
        .await
        .unwrap();
    assert_eq!(world.status("r").await.failed_chunks, vec![0]);
    // WHEN the intended content is re-uploaded
    let key = meeting_domain::keys::chunk_key(&uid("u"), &rid("r"), ChunkIndex::new(0).unwrap());
    world
        .deliver(world.upload(&key, intended).await)
        .await
        .unwrap();
    // THEN the recording starts
    assert_eq!(world.status("r").await.status, RecordingStatus::Processing);
    assert_eq!(world.workflows.started().len(), 1);
}

fn sha256_hex(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body))
}

#[tokio::test]
async fn a_contradicting_manifest_is_a_permanent_error_and_changes_nothing() {
    let world = World::new();
    world.set_expected("u", "r", 3).await;
    let error = world
        .deliver(manifest(&world, "r", &count_only(4)).await)
        .await
        .unwrap_err();
    assert!(matches!(error, LambdaError::ExpectedCountConflict { .. }));
    assert!(!error.is_retryable());
    assert_eq!(world.status("r").await.expected_chunk_count, Some(3));
}

#[tokio::test]
async fn an_invalid_manifest_is_a_permanent_error() {
    let world = World::new();
    let key = manifest_key(&uid("u"), &rid("r"));
    for body in [
        &b"{\"expectedChunkCount\":0}"[..],
        b"not json",
        b"{\"expectedChunkCount\":2,\"chunks\":[{\"index\":5}]}",
    ] {
        let e = world.upload(&key, Bytes::copy_from_slice(body)).await;
        let error = world.deliver(e).await.unwrap_err();
        assert!(
            matches!(error, LambdaError::InvalidManifest { .. }),
            "{error}"
        );
    }
}

#[tokio::test]
async fn the_catalog_stream_write_of_the_count_completes_the_recording() {
    // GIVEN all chunks recorded before the end is known
    let world = World::new();
    for e in upload_all(&world, "r", &[0, 1]).await {
        world.deliver(e).await.unwrap();
    }
    world.set_expected("u", "r", 2).await;
    // WHEN the catalog stream reports the write
    let event = stream_event(expected_count_stream_event(&uid("u"), &rid("r"), 2, 7));
    let response = stream::handle_batch(&world.ports, &event).await;
    // THEN the batch succeeds and processing started
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(world.status("r").await.status, RecordingStatus::Processing);
}

#[tokio::test]
async fn a_failing_stream_record_is_reported_by_its_sequence_number() {
    let world = World::new();
    world
        .deliver(world.upload_chunk("u", "r", 0, b"x").await)
        .await
        .unwrap();
    world.set_expected("u", "r", 1).await;
    world.workflows.fail_next(1);
    let event = stream_event(expected_count_stream_event(&uid("u"), &rid("r"), 1, 42));
    let response = stream::handle_batch(&world.ports, &event).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("000000000000000000042")
    );
    // The retried batch finishes the job.
    assert!(
        stream::handle_batch(&world.ports, &event)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(world.workflows.started().len(), 1);
}

#[tokio::test]
async fn a_recording_without_an_end_signal_keeps_waiting() {
    let world = World::new();
    let outcome = world
        .deliver(world.upload_chunk("u", "r", 0, b"x").await)
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        IngestOutcome::Chunk {
            completion: Completion::AwaitingEndSignal,
            ..
        }
    ));
    world.clock.advance(chrono::Duration::days(2));
    assert_eq!(sweeper::sweep(&world.ports).await.unwrap().examined, 0);
    assert_eq!(world.status("r").await.status, RecordingStatus::Recording);
}
