//! The scenarios of the AWS code path. Each deploys its own harness (unique names on the shared
//! moto, its own engine and worker), uploads as the desktop client does, and waits with a
//! deadline for the catalog to tell the outcome; a timeout panics with the catalog record, the
//! execution histories, the pump's log and the worker's log.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use bytes::Bytes;
use meeting_domain::contracts::{CatalogRecord, EndSignal, RecordingResults};
use meeting_domain::{RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_lambdas::sweeper::sweep;

use crate::harness::{Harness, HarnessOptions, corrupt_chunk_bytes, speech_chunks};

/// Words of the speech; Whisper must hear some of them.
const SPOKEN_WORDS: [&str; 6] = [
    "morning", "budget", "report", "friday", "invoices", "release",
];

/// The text of an object.
async fn object_text(harness: &Harness, key: &str) -> String {
    let object = harness
        .s3
        .get_object()
        .bucket(&harness.bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "get_object {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        });
    let bytes = object
        .body
        .collect()
        .await
        .unwrap_or_else(|e| panic!("reading {key}: {e}"))
        .into_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// THEN-part shared by the completing scenarios: one succeeded execution, the catalog
/// `completed` with result keys whose objects hold a transcript of the speech and a summary.
async fn assert_completed_with_results(harness: &mut Harness, recording: &RecordingId) {
    let record = harness
        .wait_for_status(recording, RecordingStatus::Completed)
        .await;
    let execution = harness.only_finished_execution(recording).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{}",
        harness.story(recording).await
    );
    let results: RecordingResults = record
        .results
        .clone()
        .unwrap_or_else(|| panic!("completed without results: {record:#?}"));
    assert!(
        results.duration_seconds > 1.0,
        "duration of the joined recording: {results:?}"
    );
    let transcript = object_text(harness, &results.transcript_key)
        .await
        .to_lowercase();
    assert!(
        SPOKEN_WORDS.iter().any(|w| transcript.contains(w)),
        "the transcript does not contain any of {SPOKEN_WORDS:?}: {transcript}"
    );
    let summary = object_text(harness, &results.summary_key).await;
    let summary: serde_json::Value = serde_json::from_str(&summary)
        .unwrap_or_else(|e| panic!("the summary is not JSON ({e}): {summary}"));
    assert!(
        summary.as_object().is_some_and(|o| !o.is_empty()),
        "empty summary: {summary}"
    );
    for key in [&results.recording_key, &results.audio_key] {
        harness
            .s3
            .head_object()
            .bucket(&harness.bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "result object {key} is missing: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
    }
}

fn events_of(history: &[HistoryEvent], kind: HistoryEventType) -> usize {
    history.iter().filter(|e| e.r#type == kind).count()
}

/// Uploads every speech chunk in `order` (indices may repeat: the same bytes again).
async fn upload_in_order(harness: &Harness, user: &UserId, recording: &RecordingId, order: &[u32]) {
    let chunks = speech_chunks();
    for &index in order {
        harness
            .upload_chunk(user, recording, index, chunks[index as usize].clone())
            .await;
    }
}

fn count(chunks: &[Bytes]) -> u32 {
    u32::try_from(chunks.len()).unwrap_or(u32::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_recording_uploaded_out_of_order_with_duplicates_is_processed_exactly_once() {
    // GIVEN the deployment, every event delivered twice, and a worker
    let mut harness = Harness::start(HarnessOptions {
        deliver_twice: true,
        ..HarnessOptions::default()
    })
    .await;
    harness.start_worker();
    let (user, recording) = harness.new_recording();
    let n = count(speech_chunks());

    // WHEN the chunks arrive last first, some twice, then the manifest, then a chunk again
    let mut order: Vec<u32> = (0..n).rev().collect();
    order.insert(1, n - 1);
    order.push(0);
    upload_in_order(&harness, &user, &recording, &order).await;
    harness.upload_manifest(&user, &recording, n).await;
    upload_in_order(&harness, &user, &recording, &[1]).await;

    // THEN exactly one execution ran and the results are stored
    assert_completed_with_results(&mut harness, &recording).await;
    let record = harness
        .catalog(&recording)
        .await
        .unwrap_or_else(|| panic!("no catalog record"));
    assert_eq!(record.expected_chunk_count, Some(n));
    assert!(record.missing_chunks.is_empty() && record.failed_chunks.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_every_event_in_reverse_order_after_completion_starts_nothing_new() {
    // GIVEN a recording processed to completion
    let mut harness = Harness::start(HarnessOptions::default()).await;
    harness.start_worker();
    let (user, recording) = harness.new_recording();
    let n = count(speech_chunks());
    let all: Vec<u32> = (0..n).collect();
    upload_in_order(&harness, &user, &recording, &all).await;
    harness.upload_manifest(&user, &recording, n).await;
    assert_completed_with_results(&mut harness, &recording).await;

    // WHEN every event it produced is delivered again, newest first
    let delivered = harness.pump_log.delivered_messages();
    let ours: Vec<&(String, String)> = delivered
        .iter()
        .filter(|(_, body)| body.contains(recording.as_str()))
        .collect();
    assert!(
        ours.len() > usize::try_from(n).unwrap_or(usize::MAX),
        "expected the chunk and manifest events of {recording}: {ours:#?}"
    );
    for (queue, body) in ours.iter().rev() {
        harness.redeliver(queue, body).await;
    }
    let deadline = tokio::time::Instant::now() + crate::harness::STATUS_TIMEOUT;
    while harness
        .pump_log
        .delivered_messages()
        .iter()
        .filter(|(_, body)| body.contains(recording.as_str()))
        .count()
        < 2 * ours.len()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replayed events were not all handled\n{}",
            harness.story(&recording).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // THEN nothing changes: still one execution, still completed
    harness.only_execution(&recording).await;
    assert_eq!(
        harness.catalog(&recording).await.map(|r| r.status),
        Some(RecordingStatus::Completed),
        "{}",
        harness.story(&recording).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_count_written_to_the_catalog_alone_completes_the_recording_through_its_stream()
{
    // GIVEN every chunk recorded, and no manifest
    let mut harness = Harness::start(HarnessOptions::default()).await;
    harness.start_worker();
    let (user, recording) = harness.new_recording();
    let n = count(speech_chunks());
    let all: Vec<u32> = (0..n).collect();
    upload_in_order(&harness, &user, &recording, &all).await;
    harness.wait_for_chunks(&recording, all.len()).await;
    assert_eq!(
        harness.catalog(&recording).await.map(|r| r.status),
        Some(RecordingStatus::Recording)
    );

    // WHEN the client's catalog write sets expectedChunkCount (no S3 event follows)
    let now = harness.ports.clock.now();
    harness
        .ports
        .catalog
        .set_expected_count(
            &RecordingRef::new(user.clone(), recording.clone()),
            n,
            EndSignal::Client,
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("set_expected_count: {e}"));

    // THEN the stream record alone starts the processing
    assert_completed_with_results(&mut harness, &recording).await;
    assert!(
        harness
            .pump_log
            .about(recording.as_str())
            .iter()
            .any(|e| e.starts_with("stream batch") && e.ends_with(": 0 failures")),
        "{}",
        harness.story(&recording).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expected_count_written_before_between_or_after_the_chunks_completes_each_recording() {
    // GIVEN the deployment and a worker
    let mut harness = Harness::start(HarnessOptions::default()).await;
    harness.start_worker();
    let n = count(speech_chunks());
    let all: Vec<u32> = (0..n).collect();
    let (user, before) = harness.new_recording();
    let (_, between) = harness.new_recording();
    let (_, after) = harness.new_recording();

    // WHEN the manifest comes first, in the middle, and last
    harness.upload_manifest(&user, &before, n).await;
    upload_in_order(&harness, &user, &before, &all).await;

    upload_in_order(&harness, &user, &between, &all[..1]).await;
    harness.upload_manifest(&user, &between, n).await;
    upload_in_order(&harness, &user, &between, &all[1..]).await;

    upload_in_order(&harness, &user, &after, &all).await;
    harness.upload_manifest(&user, &after, n).await;

    // THEN each recording is processed once
    for recording in [&before, &between, &after] {
        assert_completed_with_results(&mut harness, recording).await;
    }
}

/// Uploads every chunk but 1 and the manifest, lets the grace period pass and sweeps: the
/// recording is `incomplete_chunks` (asserted along the way, with a sweep inside the grace period
/// that changes nothing).
async fn sweep_a_recording_missing_chunk_1(
    harness: &mut Harness,
    user: &UserId,
    recording: &RecordingId,
    grace: Duration,
) -> CatalogRecord {
    let n = count(speech_chunks());
    let without_one: Vec<u32> = (0..n).filter(|&i| i != 1).collect();
    upload_in_order(harness, user, recording, &without_one).await;
    harness.upload_manifest(user, recording, n).await;
    // The handler that stores the count plans the sweep at the end of the grace period in a
    // second write; proceeding before it lands would advance the clock under a sweep still
    // planned for the give-up age (a race that failed CI once).
    let record = harness
        .wait_for(recording, "the sweep planned at the grace end", |r| {
            r.expected_chunk_count == Some(n) && sweep_planned_at_grace_end(r, grace)
        })
        .await;
    assert_eq!(record.status, RecordingStatus::Recording, "{record:#?}");
    harness.wait_for_chunks(recording, without_one.len()).await;

    // Within the grace period a sweep leaves it waiting.
    let early = sweep(&harness.ports)
        .await
        .unwrap_or_else(|e| panic!("sweep: {e}"));
    assert_eq!(early.incomplete, 0, "{early:?}");
    assert_eq!(
        harness.catalog(recording).await.map(|r| r.status),
        Some(RecordingStatus::Recording)
    );

    // Once the grace period has passed, the sweep reports it.
    harness.clock.advance(grace + Duration::from_secs(1));
    let report = sweep(&harness.ports)
        .await
        .unwrap_or_else(|e| panic!("sweep: {e}"));
    assert_eq!(report.incomplete, 1, "{report:?}");
    harness
        .wait_for_status(recording, RecordingStatus::IncompleteChunks)
        .await
}

/// Whether the record's sweep is planned for `stoppedAt + grace`.
fn sweep_planned_at_grace_end(record: &CatalogRecord, grace: Duration) -> bool {
    let parse = |t: Option<&str>| t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    match (
        parse(record.stopped_at.as_deref()),
        parse(record.sweep_at.as_deref()),
    ) {
        (Some(stopped), Some(at)) => at.signed_duration_since(stopped).to_std().ok() == Some(grace),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_chunk_makes_the_recording_incomplete_after_the_grace_period() {
    // GIVEN the deployment with a one-minute grace period
    let grace = Duration::from_secs(60);
    let mut harness = Harness::start(HarnessOptions {
        grace,
        ..HarnessOptions::default()
    })
    .await;
    let (user, recording) = harness.new_recording();

    // WHEN chunk 1 never arrives, and the sweeper runs after the grace period
    let record = sweep_a_recording_missing_chunk_1(&mut harness, &user, &recording, grace).await;

    // THEN the catalog names the missing index and nothing is processed
    assert_eq!(record.missing_chunks, vec![1], "{record:#?}");
    let named = format!("missing chunks 1 of 0..{}", count(speech_chunks()));
    assert!(
        record.cause.as_deref().is_some_and(|c| c.contains(&named)),
        "{record:#?}"
    );
    assert!(
        harness.executions(&recording).await.is_empty(),
        "an incomplete recording must not be processed\n{}",
        harness.story(&recording).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_chunk_filling_the_gap_resumes_an_incomplete_recording() {
    // GIVEN a recording marked incomplete because chunk 1 is missing, and a worker
    let grace = Duration::from_secs(60);
    let mut harness = Harness::start(HarnessOptions {
        grace,
        ..HarnessOptions::default()
    })
    .await;
    harness.start_worker();
    let (user, recording) = harness.new_recording();
    sweep_a_recording_missing_chunk_1(&mut harness, &user, &recording, grace).await;

    // WHEN chunk 1 finally arrives
    upload_in_order(&harness, &user, &recording, &[1]).await;

    // THEN the recording is processed once after all
    assert_completed_with_results(&mut harness, &recording).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_chunk_fails_processing_with_its_index_in_the_cause() {
    // GIVEN the deployment and a worker
    let mut harness = Harness::start(HarnessOptions::default()).await;
    harness.start_worker();
    let (user, recording) = harness.new_recording();
    let chunks = speech_chunks();
    let n = count(chunks);

    // WHEN chunk 1 has a valid `ftyp` box but garbage behind it
    for index in 0..n {
        let body = if index == 1 {
            corrupt_chunk_bytes()
        } else {
            chunks[index as usize].clone()
        };
        harness.upload_chunk(&user, &recording, index, body).await;
    }
    harness.upload_manifest(&user, &recording, n).await;

    // THEN the workflow records the failure in the catalog, naming the chunk
    let record = harness
        .wait_for_status(&recording, RecordingStatus::ProcessingFailed)
        .await;
    assert_eq!(
        record.error.as_deref(),
        Some("Media.ChunkInvalid"),
        "{record:#?}"
    );
    assert!(
        record
            .cause
            .as_deref()
            .is_some_and(|c| c.contains("chunk 1")),
        "{record:#?}"
    );
    let execution = harness.only_finished_execution(&recording).await;
    assert_eq!(execution.status, ExecutionStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_with_sigterm_mid_task_loses_no_task() {
    // GIVEN a worker that gets no drain time, so SIGTERM interrupts its running task
    let mut harness = Harness::start(HarnessOptions {
        drain_seconds: 0,
        ..HarnessOptions::default()
    })
    .await;
    let first = harness.start_worker();
    let (user, recording) = harness.new_recording();
    let n = count(speech_chunks());
    let all: Vec<u32> = (0..n).collect();
    upload_in_order(&harness, &user, &recording, &all).await;
    harness.upload_manifest(&user, &recording, n).await;

    // WHEN it is stopped with SIGTERM while transcribing, and a replacement starts at once (as
    // ECS starts a new task; the old worker keeps its open long poll until it returns)
    let execution = harness
        .wait_for_running_task(&recording, "StartTranscription")
        .await;
    let events_before_signal = harness.history(&execution).await.len();
    harness.worker(first).signal("TERM");
    harness.start_worker();

    // THEN the interrupted task was reported (finished or failed as retryable), never timed out,
    // the execution completes, and the stopped worker exits cleanly
    assert_completed_with_results(&mut harness, &recording).await;
    let history = harness.history(&execution).await;
    let story = harness.story(&recording).await;
    assert_eq!(
        events_of(&history, HistoryEventType::ActivityTimedOut),
        0,
        "a task was lost\n{story}"
    );
    let outcome = outcome_of_task_running_at(&history, events_before_signal);
    assert!(
        matches!(&outcome, Some((HistoryEventType::ActivitySucceeded, _)))
            || matches!(
                &outcome,
                Some((HistoryEventType::ActivityFailed, Some(error))) if error == "Worker.Interrupted"
            ),
        "the task running at SIGTERM ended with {outcome:?}\n{story}"
    );
    let code = harness.worker(first).wait_for_exit();
    assert_eq!(
        code,
        0,
        "the stopped worker should drain and exit cleanly:\n{}",
        harness.worker(first).log_tail()
    );
}

/// How the task running when the history had `events` events ended: the event type and, for a
/// failure or timeout, the error.
fn outcome_of_task_running_at(
    history: &[HistoryEvent],
    events: usize,
) -> Option<(HistoryEventType, Option<String>)> {
    let started = history[..events.min(history.len())]
        .iter()
        .rposition(|e| e.r#type == HistoryEventType::ActivityStarted)?;
    history[started + 1..].iter().find_map(|e| match &e.r#type {
        HistoryEventType::ActivitySucceeded => Some((e.r#type.clone(), None)),
        HistoryEventType::ActivityFailed => Some((
            e.r#type.clone(),
            e.activity_failed_event_details
                .as_ref()
                .and_then(|d| d.error.clone()),
        )),
        HistoryEventType::ActivityTimedOut => Some((
            e.r#type.clone(),
            e.activity_timed_out_event_details
                .as_ref()
                .and_then(|d| d.error.clone()),
        )),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_task_times_out_and_the_retry_completes_the_recording() {
    // GIVEN the deployment and a worker
    let mut harness = Harness::start(HarnessOptions::default()).await;
    let first = harness.start_worker();
    let (user, recording) = harness.new_recording();
    let n = count(speech_chunks());
    let all: Vec<u32> = (0..n).collect();
    upload_in_order(&harness, &user, &recording, &all).await;
    harness.upload_manifest(&user, &recording, n).await;

    // WHEN it is killed with SIGKILL while transcribing, and a new worker starts
    let execution = harness
        .wait_for_running_task(&recording, "StartTranscription")
        .await;
    harness.worker(first).signal("KILL");
    let code = harness.worker(first).wait_for_exit();
    assert_eq!(code, 128 + 9, "killed by SIGKILL");
    harness.start_worker();

    // THEN the task times out on its heartbeat, is retried, and the recording completes
    assert_completed_with_results(&mut harness, &recording).await;
    let history = harness.history(&execution).await;
    let story = harness.story(&recording).await;
    let heartbeat_timeouts = history
        .iter()
        .filter(|e| {
            e.activity_timed_out_event_details
                .as_ref()
                .is_some_and(|d| d.error.as_deref() == Some("States.HeartbeatTimeout"))
        })
        .count();
    assert_eq!(heartbeat_timeouts, 1, "{story}");
    assert!(
        events_of(&history, HistoryEventType::ActivitySucceeded) >= 4,
        "{story}"
    );
}
