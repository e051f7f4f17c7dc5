//! One behaviour each of the paths that used to leave a recording waiting forever (issue 14):
//! an expected count without a manifest under S3's 403-for-absent-keys, a start that was
//! throttled after the transition was won, a count without `stoppedAt`, executions that ended
//! outside the Catch (and a stale run's event), a recording that never got an end signal, and a
//! rejected chunk reported as rejected rather than missing.

mod common;

use std::sync::Arc;

use common::{BUCKET, World, rref};
use meeting_domain::contracts::{ChunkStatus, EndSignal};
use meeting_domain::ports::{Catalog, CatalogPatch, ChunkTable, ExecutionStatus};
use meeting_domain::{RecordingStatus, UserId};
use recorder_lambdas::completion::{self, Completion};
use recorder_lambdas::execution_status::{StatusChangeDetail, StatusOutcome, handle_detail};
use recorder_lambdas::ingest::IngestOutcome;
use recorder_lambdas::{ExecutionSettled, Ports, sweeper};
use recorder_testkit::iam::{IamObjectStore, lambda_grants};

/// The world's ports with the object store seen through the chunk handler's IAM role.
fn with_lambda_role(world: &World) -> Ports {
    let mut ports = world.ports.clone();
    ports.objects = Arc::new(IamObjectStore::new(
        world.objects.clone(),
        BUCKET,
        lambda_grants("chunk-upload-handler"),
    ));
    ports
}

fn status_change(world: &World, name: &str, status: &str) -> StatusChangeDetail {
    let input = world
        .workflows
        .started()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, input)| serde_json::to_string(&input).unwrap());
    StatusChangeDetail {
        name: name.to_owned(),
        status: status.to_owned(),
        input,
        error: None,
        cause: None,
    }
}

/// Uploads and ingests chunks `0..n` of `u/r`, writes the count as the client does, and runs the
/// check the catalog stream runs: the recording is started.
async fn started_recording(world: &World, n: u32) -> String {
    for index in 0..n {
        let event = world.upload_chunk("u", "r", index, b"x").await;
        world.deliver(event).await.unwrap();
    }
    world.set_expected("u", "r", n).await;
    match completion::check(&world.ports, &rref("r")).await.unwrap() {
        Completion::Started { execution_name } => execution_name,
        other => panic!("not started: {other:?}"),
    }
}

#[tokio::test]
async fn a_client_count_without_a_manifest_completes_under_the_lambda_role_without_list_bucket() {
    // GIVEN the chunk handler's role from Terraform (GetObject, no ListBucket: an absent
    // manifest.json answers 403) and a client that writes expectedChunkCount instead of a manifest
    let world = World::new();
    let ports = with_lambda_role(&world);
    for index in 0..2 {
        let event = world.upload_chunk("u", "r", index, b"x").await;
        recorder_lambdas::ingest::handle_event(&ports, event)
            .await
            .unwrap();
    }
    world.set_expected("u", "r", 2).await;
    // WHEN the catalog stream's completion check runs
    let completion = completion::check(&ports, &rref("r")).await.unwrap();
    // THEN processing starts, with no manifest named for the media stage
    assert!(
        matches!(completion, Completion::Started { .. }),
        "{completion:?}"
    );
    let started = world.workflows.started();
    assert_eq!(started[0].1.manifest_key, None);
}

#[tokio::test]
async fn a_chunk_deleted_before_ingest_is_recorded_as_rejected_not_sent_to_the_dlq() {
    // GIVEN an event for a chunk that no longer exists, read through the Lambda role (403)
    let world = World::new();
    let ports = with_lambda_role(&world);
    let key = meeting_domain::keys::chunk_key(
        &common::uid("u"),
        &common::rid("r"),
        meeting_domain::ChunkIndex::new(0).unwrap(),
    );
    let event = common::event(&key, 40, "0123456789abcdef0123456789abcdef", "0A");
    // WHEN it is handled
    let outcome = recorder_lambdas::ingest::handle_event(&ports, event)
        .await
        .unwrap();
    // THEN it is acknowledged and the chunk is in the table as rejected, with the reason
    assert!(
        matches!(outcome, IngestOutcome::InvalidChunk { .. }),
        "{outcome:?}"
    );
    let chunks = world.chunks.chunks(&rref("r")).await.unwrap();
    assert_eq!(chunks[0].status, ChunkStatus::Failed);
    assert!(
        chunks[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("does not exist"),
        "{chunks:?}"
    );
}

#[tokio::test]
async fn an_empty_chunk_makes_the_recording_incomplete_naming_the_chunk_and_the_reason() {
    // GIVEN chunk 1 of 3 uploaded empty
    let world = World::new();
    for index in [0, 2] {
        let event = world.upload_chunk("u", "r", index, b"x").await;
        world.deliver(event).await.unwrap();
    }
    let key = meeting_domain::keys::chunk_key(
        &common::uid("u"),
        &common::rid("r"),
        meeting_domain::ChunkIndex::new(1).unwrap(),
    );
    let empty = world.upload(&key, bytes::Bytes::new()).await;
    world.deliver(empty).await.unwrap();
    // WHEN the end signal arrives
    world.set_expected("u", "r", 3).await;
    completion::check(&world.ports, &rref("r")).await.unwrap();
    // THEN it is incomplete at once (no grace wait), chunk 1 listed as rejected with why
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    assert_eq!(record.failed_chunks, vec![1]);
    assert!(record.missing_chunks.is_empty());
    let cause = record.cause.unwrap();
    assert!(
        cause.contains("chunk 1 rejected") && cause.contains("size out of bounds"),
        "{cause}"
    );
}

#[tokio::test]
async fn a_count_without_stopped_at_gets_one_so_missing_chunks_are_reported_after_the_grace() {
    // GIVEN a catalog item the client wrote itself: expectedChunkCount only (no stoppedAt)
    let world = World::new();
    let event = world.upload_chunk("u", "r", 0, b"x").await;
    world.deliver(event).await.unwrap();
    let mut record = world.status("r").await;
    record.expected_chunk_count = Some(2);
    world.catalog.put(record);
    // WHEN the stream's check runs, then the grace period passes and the sweeper runs
    completion::check(&world.ports, &rref("r")).await.unwrap();
    assert!(world.status("r").await.stopped_at.is_some());
    world.clock.advance(chrono::Duration::minutes(11));
    sweeper::sweep(&world.ports).await.unwrap();
    // THEN the gap is reported
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    assert_eq!(record.missing_chunks, vec![1]);
}

#[tokio::test]
async fn a_start_throttled_after_the_won_transition_is_redriven_by_the_sweeper() {
    // GIVEN a complete recording whose StartExecution is throttled past the SDK's retries
    let world = World::new();
    for index in 0..2 {
        let event = world.upload_chunk("u", "r", index, b"x").await;
        world.deliver(event).await.unwrap();
    }
    world.set_expected("u", "r", 2).await;
    world.workflows.fail_next(1);
    assert!(completion::check(&world.ports, &rref("r")).await.is_err());
    assert_eq!(
        world.status("r").await.status,
        RecordingStatus::ReadyForProcessing
    );
    // WHEN no event ever comes again, and the sweeper runs after its retry delay
    world.clock.advance(chrono::Duration::minutes(6));
    let report = sweeper::sweep(&world.ports).await.unwrap();
    // THEN the execution is started and the recording is processing
    assert_eq!(report.started, 1, "{report:?}");
    assert_eq!(world.workflows.started().len(), 1);
    assert_eq!(world.status("r").await.status, RecordingStatus::Processing);
}

#[tokio::test]
async fn a_timed_out_execution_is_recorded_as_failed_with_error_and_cause() {
    // GIVEN a processing recording whose execution ran past TimeoutSeconds (no Catch ran)
    let world = World::new();
    let name = started_recording(&world, 1).await;
    world
        .workflows
        .finish(&name, ExecutionStatus::TimedOut, None, None);
    // WHEN its status-change event arrives
    let outcome = handle_detail(&world.ports, &status_change(&world, &name, "TIMED_OUT"))
        .await
        .unwrap();
    // THEN the recording is processing_failed with Execution.TimedOut and a cause to act on
    assert_eq!(
        outcome,
        StatusOutcome::Settled(ExecutionSettled::RecordedFailure {
            error: "Execution.TimedOut".into()
        })
    );
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::ProcessingFailed);
    assert!(record.cause.unwrap().contains("recorder reprocess"));
    assert_eq!(record.sweep_at, None, "nobody needs to look again");
}

#[tokio::test]
async fn a_stale_runs_status_change_never_overwrites_a_newer_run() {
    // GIVEN run 0 aborted after an operator already started run 1
    let world = World::new();
    let run0 = started_recording(&world, 1).await;
    let recording = rref("r");
    let run1 = recording.execution_name(1);
    let patch = CatalogPatch {
        execution_name: Some(run1.clone()),
        run: Some(1),
        ..CatalogPatch::default()
    };
    assert!(
        world
            .catalog
            .transition(
                &recording,
                RecordingStatus::Processing,
                RecordingStatus::ProcessingFailed,
                CatalogPatch::default(),
                chrono::Utc::now()
            )
            .await
            .unwrap()
    );
    assert!(
        world
            .catalog
            .transition(
                &recording,
                RecordingStatus::ProcessingFailed,
                RecordingStatus::ReadyForProcessing,
                patch,
                chrono::Utc::now()
            )
            .await
            .unwrap()
    );
    // WHEN run 0's ABORTED event arrives late
    let outcome = handle_detail(&world.ports, &status_change(&world, &run0, "ABORTED"))
        .await
        .unwrap();
    // THEN run 1 keeps the recording
    assert_eq!(outcome, StatusOutcome::Settled(ExecutionSettled::StaleRun));
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::ReadyForProcessing);
    assert_eq!(record.execution_name.as_deref(), Some(run1.as_str()));
}

#[tokio::test]
async fn running_and_succeeded_events_settle_nothing() {
    let world = World::new();
    let name = started_recording(&world, 1).await;
    for status in ["RUNNING", "SUCCEEDED"] {
        let outcome = handle_detail(&world.ports, &status_change(&world, &name, status))
            .await
            .unwrap();
        assert_eq!(outcome, StatusOutcome::Ignored);
    }
    assert_eq!(world.status("r").await.status, RecordingStatus::Processing);
}

#[tokio::test]
async fn a_lost_status_event_is_caught_by_the_reconciler_after_the_stale_age() {
    // GIVEN an execution aborted whose status-change event never arrived
    let world = World::new();
    let name = started_recording(&world, 1).await;
    world.workflows.finish(
        &name,
        ExecutionStatus::Aborted,
        None,
        Some("stopped by hand"),
    );
    // WHEN the sweeper runs before, then after the processing-stale age
    world.clock.advance(chrono::Duration::hours(1));
    sweeper::sweep(&world.ports).await.unwrap();
    assert_eq!(world.status("r").await.status, RecordingStatus::Processing);
    world.clock.advance(chrono::Duration::hours(9));
    let report = sweeper::sweep(&world.ports).await.unwrap();
    // THEN DescribeExecution tells it, and the failure is recorded
    assert_eq!(report.failures_recorded, 1, "{report:?}");
    let record = world.status("r").await;
    assert_eq!(record.error.as_deref(), Some("Execution.Aborted"));
    assert!(record.cause.unwrap().contains("stopped by hand"));
}

#[tokio::test]
async fn a_recording_that_never_gets_an_end_signal_is_retired_with_a_reason() {
    // GIVEN chunks but neither expectedChunkCount nor a manifest
    let world = World::new();
    let event = world.upload_chunk("u", "r", 0, b"x").await;
    world.deliver(event).await.unwrap();
    // WHEN the give-up age passes
    world.clock.advance(chrono::Duration::days(6));
    sweeper::sweep(&world.ports).await.unwrap();
    assert_eq!(world.status("r").await.status, RecordingStatus::Recording);
    world.clock.advance(chrono::Duration::days(2));
    let report = sweeper::sweep(&world.ports).await.unwrap();
    // THEN it is incomplete with Chunks.NoEndSignal, off the sweeper's index
    assert_eq!(report.retired, 1);
    let record = world.status("r").await;
    assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    assert_eq!(
        record.error.as_deref(),
        Some(completion::NO_END_SIGNAL_ERROR)
    );
    assert!(record.cause.unwrap().contains("manifest.json"));
    assert_eq!(record.sweep_at, None);
    // AND a late end signal still finishes it
    world
        .catalog
        .set_expected_count(&rref("r"), 1, EndSignal::Client, chrono::Utc::now())
        .await
        .unwrap();
    let completion = completion::check(&world.ports, &rref("r")).await.unwrap();
    assert!(
        matches!(completion, Completion::Started { .. }),
        "{completion:?}"
    );
}

#[tokio::test]
async fn one_sweep_reads_at_most_its_limit_and_the_next_one_continues() {
    // GIVEN more recordings without an end signal than one sweep examines
    let mut world = World::new();
    world.ports.config.sweep_limit = 3;
    for n in 0..7 {
        let user = format!("u{n}");
        let event = world.upload_chunk(&user, "r", 0, b"x").await;
        world.deliver(event).await.unwrap();
    }
    world.clock.advance(chrono::Duration::days(8));
    // WHEN the sweeper runs three times
    let reports = [
        sweeper::sweep(&world.ports).await.unwrap(),
        sweeper::sweep(&world.ports).await.unwrap(),
        sweeper::sweep(&world.ports).await.unwrap(),
    ];
    // THEN each examines at most 3 and together they retire all 7
    let examined: Vec<usize> = reports.iter().map(|r| r.examined).collect();
    assert_eq!(examined, vec![3, 3, 1]);
    for n in 0..7 {
        let user = UserId::new(format!("u{n}")).unwrap();
        let record = world
            .catalog
            .get(&meeting_domain::RecordingRef::new(user, common::rid("r")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    }
}
