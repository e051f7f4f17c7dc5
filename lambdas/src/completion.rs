//! The Session Completion Detector, and what settles a recording whose execution ended.
//!
//! Runs after every chunk, when the catalog stream reports a written `expectedChunkCount`, when a
//! manifest arrives and from the sweeper. It is safe to run any number of times concurrently:
//!
//! 1. Complete means the validated indices are exactly `0..N` (not a count). Rejected chunks
//!    (empty, not an MP4, gone, checksum mismatch) and indices `≥ N` make the recording
//!    `incomplete_chunks` at once; missing indices do so only after the grace period since
//!    `stoppedAt`. A client that writes only `expectedChunkCount` gets its `stoppedAt` here.
//! 2. The decision is a conditional catalog transition from the status just read. Whoever loses
//!    re-reads and decides again, so a stale "incomplete" verdict cannot stick once the chunk that
//!    fills the gap has been recorded (its own check runs after its write).
//! 3. Only the winner of `→ ready_for_processing` starts the execution, named after the user,
//!    recording and run, with canonical input. The transition also puts the recording on the
//!    sweeper's index a few minutes ahead, so a start that is throttled, or a Lambda that dies
//!    between the transition and the start, is re-driven by the sweeper (and by any redelivered
//!    event): Step Functions treats the same name and input as the same execution.
//! 4. Nothing here reads a whole chunk: a manifest SHA-256 is compared with the checksum S3 stored
//!    at upload (HeadObject), and chunks without one are verified by the media stage while it
//!    streams them (the execution input names the manifest).
//!
//! Every `sweepAt` written here is when somebody must look again; see [`crate::sweeper`].

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meeting_domain::contracts::{
    CatalogRecord, ChunkManifest, ChunkRecord, ChunkStatus, EndSignal, ProcessingInput,
};
use meeting_domain::keys::manifest_key;
use meeting_domain::ports::{CatalogPatch, ExecutionState, ExecutionStatus, StartOutcome};
use meeting_domain::{PortError, RecordingRef, RecordingStatus};
use tracing::{info, warn};

use crate::Ports;
use crate::config::IngestConfig;
use crate::error::LambdaError;
use crate::invocation;
use crate::metrics::Metric;

/// Re-reads after a lost transition before giving up with a retryable error. Each lost race means
/// another writer made progress, so a handful is plenty.
const MAX_ATTEMPTS: u32 = 8;

/// Error name stored in the catalog for incomplete recordings.
pub const INCOMPLETE_ERROR: &str = "Chunks.Incomplete";

/// Error name of a recording retired without any end signal.
pub const NO_END_SIGNAL_ERROR: &str = "Chunks.NoEndSignal";

/// Largest manifest read, the contract's limit (shared with the media activity). Applied to every
/// read (a ranged GET of one byte more), so a huge object is never held in memory.
pub use meeting_domain::contracts::MAX_MANIFEST_BYTES;

/// When the sweeper re-drives a `ready_for_processing` recording whose start did not happen:
/// 5 minutes, the sweeper's schedule, well past the Lambda's own retries of the event.
pub const START_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// What a completion check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// No catalog record yet.
    UnknownRecording,
    /// The end of the recording is not known yet.
    AwaitingEndSignal,
    /// The end is known; these indices are missing and the grace period has not passed.
    AwaitingChunks {
        /// Missing indices.
        missing: Vec<u32>,
    },
    /// The recording is `incomplete_chunks`.
    Incomplete {
        /// Missing indices.
        missing: Vec<u32>,
        /// Failed indices and indices beyond the expected count.
        failed: Vec<u32>,
    },
    /// This call started (or confirmed) the execution.
    Started {
        /// The execution name.
        execution_name: String,
    },
    /// Processing was already started (or finished) by someone else.
    AlreadyStarted,
}

/// Which indices of `0..expected` are missing, failed or extra.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// Indices in `0..expected` without a chunk.
    pub missing: Vec<u32>,
    /// Indices in `0..expected` whose chunk failed validation.
    pub failed: Vec<u32>,
    /// Indices `≥ expected`.
    pub extra: Vec<u32>,
}

impl Assessment {
    /// Whether exactly `0..expected` are present and validated.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.failed.is_empty() && self.extra.is_empty()
    }

    /// Failed and extra indices, as the catalog lists them.
    pub fn failed_and_extra(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self.failed.iter().chain(&self.extra).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Compares recorded chunks with the expected count.
pub fn assess(expected: u32, chunks: &[ChunkRecord]) -> Assessment {
    let mut present = BTreeSet::new();
    let mut assessment = Assessment::default();
    for chunk in chunks {
        let index = chunk.chunk_index.get();
        if index >= expected {
            assessment.extra.push(index);
        } else if chunk.status == ChunkStatus::Failed {
            assessment.failed.push(index);
        } else {
            present.insert(index);
        }
    }
    let failed: BTreeSet<u32> = assessment.failed.iter().copied().collect();
    assessment.missing = (0..expected)
        .filter(|i| !present.contains(i) && !failed.contains(i))
        .collect();
    assessment.failed.sort_unstable();
    assessment.extra.sort_unstable();
    assessment
}

/// The canonical execution input of a recording (no timestamps: a retried start is byte-equal).
/// It names the manifest when the end signal was one, so the media stage verifies its checksums.
pub fn processing_input(
    ports: &Ports,
    record: &CatalogRecord,
    chunk_count: u32,
) -> ProcessingInput {
    let mut input = ProcessingInput::for_record(record, ports.config.bucket.clone(), chunk_count);
    input.manifest_key = manifest_of(record);
    input
}

/// The manifest key of a recording whose end signal was a manifest.
pub fn manifest_of(record: &CatalogRecord) -> Option<String> {
    (record.end_signal == Some(EndSignal::Manifest))
        .then(|| manifest_key(&record.user_id, &record.recording_id))
}

/// Runs the completion check of one recording.
pub async fn check(ports: &Ports, recording: &RecordingRef) -> Result<Completion, LambdaError> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(mut record) = ports.catalog.get(recording).await? else {
            return Ok(Completion::UnknownRecording);
        };
        match record.status {
            RecordingStatus::ReadyForProcessing => return start_recorded(ports, &record).await,
            RecordingStatus::Processing
            | RecordingStatus::Completed
            | RecordingStatus::ProcessingFailed => return Ok(Completion::AlreadyStarted),
            RecordingStatus::Recording | RecordingStatus::IncompleteChunks => {}
        }
        let Some(expected) = record.expected_chunk_count else {
            return Ok(Completion::AwaitingEndSignal);
        };
        if record.stopped_at.is_none() {
            // The client wrote `expectedChunkCount` itself (option A): the grace period runs
            // from the first check that sees it.
            record = ports
                .catalog
                .set_expected_count(recording, expected, EndSignal::Client, ports.clock.now())
                .await
                .map_err(|e| match e {
                    PortError::Conflict { what } => LambdaError::ExpectedCountConflict {
                        recording: recording.clone(),
                        detail: what,
                    },
                    other => other.into(),
                })?;
        }
        let chunks = ports.chunks.chunks(recording).await?;
        let mut assessment = assess(expected, &chunks);
        let mut mismatches = Vec::new();
        if assessment.is_complete() {
            mismatches = verify_stored_checksums(ports, &record, &chunks).await?;
            assessment.failed = mismatches.iter().map(|(index, _)| *index).collect();
        }
        let now = ports.clock.now();
        if assessment.is_complete() {
            let name = recording.execution_name(record.run);
            let patch = CatalogPatch {
                missing_chunks: Some(Vec::new()),
                failed_chunks: Some(Vec::new()),
                execution_name: Some(name.clone()),
                run: Some(record.run),
                error: Some(None),
                cause: Some(None),
                sweep_at: Some(Some(IngestConfig::after(now, START_RETRY_AFTER))),
                results: None,
            };
            if ports
                .catalog
                .transition(
                    recording,
                    record.status,
                    RecordingStatus::ReadyForProcessing,
                    patch,
                    now,
                )
                .await?
            {
                info!(
                    event = "recording_complete",
                    user_id = %recording.user_id,
                    recording_id = %recording.recording_id,
                    expected_chunk_count = expected,
                    recorded_chunks = chunks.len(),
                    "recording complete; won the start"
                );
                let mut ready = record;
                ready.status = RecordingStatus::ReadyForProcessing;
                ready.execution_name = Some(name);
                return start_processing(ports, &ready, &chunks).await;
            }
            continue;
        }
        let problem = !assessment.failed.is_empty() || !assessment.extra.is_empty();
        let grace_end = grace_end(&ports.config, &record);
        if !problem && grace_end.is_none_or(|end| now < end) {
            // Come back when the grace period ends, unless that is already planned.
            if let Some(end) = grace_end
                && record.sweep_at.as_deref()
                    != Some(meeting_domain::contracts::timestamp(end).as_str())
            {
                ports.catalog.set_sweep_at(recording, Some(end)).await?;
            }
            return Ok(Completion::AwaitingChunks {
                missing: assessment.missing,
            });
        }
        let failed = assessment.failed_and_extra();
        let missing = assessment.missing;
        if record.status == RecordingStatus::IncompleteChunks
            && record.missing_chunks == missing
            && record.failed_chunks == failed
        {
            return Ok(Completion::Incomplete { missing, failed });
        }
        let cause = incomplete_cause(expected, &missing, &failed, &chunks, &mismatches);
        let patch = CatalogPatch {
            missing_chunks: Some(missing.clone()),
            failed_chunks: Some(failed.clone()),
            error: Some(Some(INCOMPLETE_ERROR.to_owned())),
            cause: Some(Some(cause)),
            // One more look when the recording is retired; a chunk that fills the gap runs its
            // own check before then.
            sweep_at: Some(Some(give_up_at(&ports.config, &record, now))),
            ..CatalogPatch::default()
        };
        if ports
            .catalog
            .transition(
                recording,
                record.status,
                RecordingStatus::IncompleteChunks,
                patch,
                now,
            )
            .await?
        {
            if record.status == RecordingStatus::Recording {
                ports.metrics.count(Metric::SessionsWithMissingChunks, 1);
            }
            warn!(
                event = "recording_incomplete",
                user_id = %recording.user_id,
                recording_id = %recording.recording_id,
                expected_chunk_count = expected,
                recorded_chunks = chunks.len(),
                missing_count = missing.len(),
                failed_count = failed.len(),
                ?missing,
                ?failed,
                "recording has incomplete chunks"
            );
            return Ok(Completion::Incomplete { missing, failed });
        }
    }
    Err(LambdaError::Contention {
        recording: recording.clone(),
        attempts: MAX_ATTEMPTS,
    })
}

/// The cause stored with `incomplete_chunks`: which chunks are missing, which were rejected and
/// why, and what the client can do.
fn incomplete_cause(
    expected: u32,
    missing: &[u32],
    failed: &[u32],
    chunks: &[ChunkRecord],
    mismatches: &[(u32, String)],
) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "missing chunks {} of 0..{expected}: upload them to resume",
            index_list(missing)
        ));
    }
    let rejected: Vec<String> = chunks
        .iter()
        .filter(|c| c.status == ChunkStatus::Failed && c.chunk_index.get() < expected)
        .map(|c| {
            format!(
                "chunk {} rejected: {}",
                c.chunk_index,
                c.last_error.as_deref().unwrap_or("failed validation")
            )
        })
        .chain(
            mismatches
                .iter()
                .map(|(index, reason)| format!("chunk {index} rejected: {reason}")),
        )
        .collect();
    if !rejected.is_empty() {
        parts.push(format!(
            "{}: record or export that chunk again and upload it under the same key",
            rejected.join("; ")
        ));
    }
    let extra: Vec<u32> = failed.iter().copied().filter(|i| *i >= expected).collect();
    if !extra.is_empty() {
        parts.push(format!(
            "chunks {} lie beyond expectedChunkCount {expected}: the end signal or the upload is wrong",
            index_list(&extra)
        ));
    }
    parts.join("; ")
}

/// `[1, 2, 5]` as `1, 2, 5`, the first 20 and a count of the rest (the cause stays readable and
/// far below DynamoDB's 400 KB item limit for a 100,000-chunk recording).
pub fn index_list(indices: &[u32]) -> String {
    const SHOWN: usize = 20;
    let mut text: Vec<String> = indices.iter().take(SHOWN).map(u32::to_string).collect();
    if indices.len() > SHOWN {
        text.push(format!("and {} more", indices.len() - SHOWN));
    }
    text.join(", ")
}

/// When the grace period after the end of the recording ends (`None` while the end is unknown).
fn grace_end(config: &IngestConfig, record: &CatalogRecord) -> Option<DateTime<Utc>> {
    let stopped = parse_time(record.stopped_at.as_deref()?)?;
    Some(IngestConfig::after(stopped, config.grace))
}

/// When a recording that does not complete is retired: `give_up_after` past its end (or `now`
/// when its end is unknown).
pub fn give_up_at(
    config: &IngestConfig,
    record: &CatalogRecord,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let from = record
        .stopped_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(now);
    IngestConfig::after(from, config.give_up_after)
}

fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value).ok().map(|t| t.to_utc())
}

/// Starts (again) the execution of a recording whose start was already won: one the catalog
/// shows `ready_for_processing`, or `processing` when its execution was lost (the local engine
/// keeps executions in memory; the reconciler finds none). Same name, same canonical input, the
/// first chunk's trace.
///
/// # Errors
/// A [`LambdaError`] when the chunks cannot be read or the start fails.
pub async fn start_recorded(
    ports: &Ports,
    record: &CatalogRecord,
) -> Result<Completion, LambdaError> {
    let chunks = ports.chunks.chunks(&record.recording()).await?;
    start_processing(ports, record, &chunks).await
}

/// The trace header recorded with the recording's earliest uploaded chunk, if any.
fn first_chunk_trace(chunks: &[ChunkRecord]) -> Option<recorder_observability::TraceHeader> {
    chunks
        .iter()
        .filter(|c| c.trace_header.is_some())
        .min_by(|a, b| a.uploaded_at.cmp(&b.uploaded_at))
        .and_then(|c| c.trace_header.as_deref())
        .and_then(|raw| recorder_observability::TraceHeader::parse(raw).ok())
}

async fn start_processing(
    ports: &Ports,
    record: &CatalogRecord,
    chunks: &[ChunkRecord],
) -> Result<Completion, LambdaError> {
    let recording = record.recording();
    let Some(expected) = record.expected_chunk_count else {
        return Err(PortError::Corrupt {
            service: "catalog",
            detail: format!(
                "recording {recording} is {} without expectedChunkCount",
                record.status
            ),
        }
        .into());
    };
    let name = record
        .execution_name
        .clone()
        .unwrap_or_else(|| recording.execution_name(record.run));
    let input = processing_input(ports, record, expected);
    // The trace goes with the start (not in the input: a retried start from another invocation
    // must stay byte-equal), so the execution and its workers join it: the trace of the
    // recording's first chunk when it was recorded under one, else this invocation's.
    let trace = first_chunk_trace(chunks).or_else(invocation::current_trace_header);
    let trace_header = trace.as_ref().map(ToString::to_string);
    let trace_id = trace.as_ref().map(|h| h.root.as_str());
    match ports
        .workflows
        .start_traced(&name, &input, trace_header.as_deref())
        .await
    {
        Ok(StartOutcome::Started { execution_arn }) => {
            ports.metrics.count(Metric::SessionsStarted, 1);
            info!(event = "processing_started", user_id = %recording.user_id, recording_id = %recording.recording_id, execution_name = %name, %execution_arn, trace_id, "processing started");
        }
        Ok(StartOutcome::AlreadyRunning { execution_arn }) => {
            info!(event = "processing_already_running", user_id = %recording.user_id, recording_id = %recording.recording_id, execution_name = %name, %execution_arn, trace_id, "processing was already running");
        }
        Err(PortError::Conflict { what }) => {
            // The name exists with other input or is closed: this run was started before (by an
            // invocation that died before recording it). Settle the catalog from what the
            // execution says instead of waiting for it.
            warn!(user_id = %recording.user_id, recording_id = %recording.recording_id, execution_name = %name, %what, "execution already exists; reconciling");
            return reconcile_started(ports, record, &name).await;
        }
        Err(e) => return Err(e.into()),
    }
    mark_processing(ports, record, &name).await?;
    Ok(Completion::Started {
        execution_name: name,
    })
}

/// `ready_for_processing → processing` once the execution runs, putting the recording on the
/// sweeper's index `processing_stale` ahead (the reconciler's look if no status change arrives).
async fn mark_processing(
    ports: &Ports,
    record: &CatalogRecord,
    name: &str,
) -> Result<(), LambdaError> {
    let now = ports.clock.now();
    let patch = CatalogPatch {
        execution_name: Some(name.to_owned()),
        sweep_at: Some(Some(IngestConfig::after(
            now,
            ports.config.processing_stale,
        ))),
        ..CatalogPatch::default()
    };
    ports
        .catalog
        .transition(
            &record.recording(),
            RecordingStatus::ReadyForProcessing,
            RecordingStatus::Processing,
            patch,
            now,
        )
        .await?;
    Ok(())
}

/// A start found the execution name taken: ask Step Functions how that execution stands.
async fn reconcile_started(
    ports: &Ports,
    record: &CatalogRecord,
    name: &str,
) -> Result<Completion, LambdaError> {
    match ports.workflows.describe(name).await? {
        Some(state) if state.status == ExecutionStatus::Running => {
            mark_processing(ports, record, name).await?;
            Ok(Completion::Started {
                execution_name: name.to_owned(),
            })
        }
        Some(state) => {
            record_execution_end(ports, &record.recording(), name, &state).await?;
            Ok(Completion::AlreadyStarted)
        }
        None => {
            // Step Functions said the name exists, then that it does not: never wait on that.
            let state = ExecutionState {
                status: ExecutionStatus::Failed,
                error: Some("Execution.NameConflict".to_owned()),
                cause: Some(format!(
                    "Step Functions refused to start execution {name} (name taken) but cannot describe it; run `recorder reprocess` to start a new run"
                )),
            };
            record_execution_end(ports, &record.recording(), name, &state).await?;
            Ok(Completion::AlreadyStarted)
        }
    }
}

/// What [`record_execution_end`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecutionSettled {
    /// The failure was written: the recording is `processing_failed` with this error.
    RecordedFailure {
        /// The error name stored.
        error: String,
    },
    /// The recording is already settled (completed, failed, or moved on).
    AlreadySettled {
        /// Its status.
        status: RecordingStatus,
    },
    /// The execution is not the recording's current run (a stale run, or another recording's).
    StaleRun,
    /// The execution succeeded; its own RecordResults settles the recording.
    Succeeded,
    /// The execution still runs.
    StillRunning,
    /// No catalog record.
    UnknownRecording,
}

/// The error name and cause stored for an execution that ended without settling the catalog.
pub fn execution_failure(name: &str, state: &ExecutionState) -> (String, String) {
    match state.status {
        ExecutionStatus::TimedOut => (
            "Execution.TimedOut".to_owned(),
            format!(
                "execution {name} ran past the workflow's time limit (TimeoutSeconds) and was stopped by Step Functions{}; run `recorder reprocess` to try again",
                state.cause.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
            ),
        ),
        ExecutionStatus::Aborted => (
            "Execution.Aborted".to_owned(),
            format!(
                "execution {name} was stopped (StopExecution){}; run `recorder reprocess` to process the recording again",
                state.cause.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
            ),
        ),
        ExecutionStatus::Failed | ExecutionStatus::Running | ExecutionStatus::Succeeded => (
            state
                .error
                .clone()
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "Execution.Failed".to_owned()),
            state.cause.clone().filter(|c| !c.is_empty()).unwrap_or_else(|| {
                format!("execution {name} failed outside the workflow's error handling; run `recorder reprocess` to try again")
            }),
        ),
    }
}

/// Settles the catalog for execution `name` of `recording`, which ended as `state` (from the
/// Step Functions status-change event or DescribeExecution): a run that is the recording's
/// current one and left it `ready_for_processing`/`processing` is recorded as
/// `processing_failed` with error and cause. A stale run never overwrites a newer one.
pub async fn record_execution_end(
    ports: &Ports,
    recording: &RecordingRef,
    name: &str,
    state: &ExecutionState,
) -> Result<ExecutionSettled, LambdaError> {
    match state.status {
        ExecutionStatus::Running => return Ok(ExecutionSettled::StillRunning),
        ExecutionStatus::Succeeded => return Ok(ExecutionSettled::Succeeded),
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {}
    }
    for _ in 0..MAX_ATTEMPTS {
        let Some(record) = ports.catalog.get(recording).await? else {
            return Ok(ExecutionSettled::UnknownRecording);
        };
        let current = record
            .execution_name
            .clone()
            .unwrap_or_else(|| recording.execution_name(record.run));
        if current != name {
            return Ok(ExecutionSettled::StaleRun);
        }
        if !matches!(
            record.status,
            RecordingStatus::ReadyForProcessing | RecordingStatus::Processing
        ) {
            return Ok(ExecutionSettled::AlreadySettled {
                status: record.status,
            });
        }
        let (error, cause) = execution_failure(name, state);
        let patch = CatalogPatch {
            error: Some(Some(error.clone())),
            cause: Some(Some(cause)),
            sweep_at: Some(None),
            ..CatalogPatch::default()
        };
        if ports
            .catalog
            .transition(
                recording,
                record.status,
                RecordingStatus::ProcessingFailed,
                patch,
                ports.clock.now(),
            )
            .await?
        {
            ports.metrics.count(Metric::ExecutionFailuresRecorded, 1);
            warn!(
                event = "execution_failure_recorded",
                user_id = %recording.user_id,
                recording_id = %recording.recording_id,
                execution_name = %name,
                status = state.status.as_str(),
                error = %error,
                "execution ended without settling the recording; failure recorded"
            );
            return Ok(ExecutionSettled::RecordedFailure { error });
        }
    }
    Err(LambdaError::Contention {
        recording: recording.clone(),
        attempts: MAX_ATTEMPTS,
    })
}

/// Reads the manifest of a recording: `None` when it is absent, or unreadable as an absent key is
/// to a role without `s3:ListBucket` (S3 answers 403 AccessDenied, not 404).
pub async fn load_manifest(
    ports: &Ports,
    recording: &RecordingRef,
) -> Result<Option<ChunkManifest>, LambdaError> {
    let key = manifest_key(&recording.user_id, &recording.recording_id);
    let body = match ports
        .objects
        .get_range(&ports.config.bucket, &key, 0, MAX_MANIFEST_BYTES + 1)
        .await
    {
        Ok(body) => body,
        Err(PortError::NotFound { .. } | PortError::AccessDenied { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if body.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(LambdaError::InvalidManifest {
            key,
            detail: format!("larger than {MAX_MANIFEST_BYTES} bytes"),
        });
    }
    parse_manifest(&key, &body).map(Some)
}

/// Parses and validates a manifest body.
pub fn parse_manifest(key: &str, body: &[u8]) -> Result<ChunkManifest, LambdaError> {
    let invalid = |detail: String| LambdaError::InvalidManifest {
        key: key.to_owned(),
        detail,
    };
    let manifest: ChunkManifest =
        serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    let max = meeting_domain::ids::MAX_CHUNK_INDEX + 1;
    if manifest.expected_chunk_count == 0 || manifest.expected_chunk_count > max {
        return Err(invalid(format!(
            "expectedChunkCount {} is outside 1..={max}",
            manifest.expected_chunk_count
        )));
    }
    for chunk in &manifest.chunks {
        if chunk.index.get() >= manifest.expected_chunk_count {
            return Err(invalid(format!(
                "chunk {} is beyond expectedChunkCount",
                chunk.index
            )));
        }
        if let Some(sha) = &chunk.sha256
            && (sha.len() != 64 || !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            return Err(invalid(format!(
                "chunk {} sha256 is not 64 lower-case hex digits",
                chunk.index
            )));
        }
    }
    Ok(manifest)
}

/// Compares the manifest's SHA-256 of each chunk with the checksum S3 stored at upload (read by
/// HeadObject when the chunk was recorded). Chunks without a stored checksum are left to the
/// media stage, which hashes them while it streams them; nothing here reads a chunk. Returns the
/// mismatching indices with the reason. A mismatch is a relation between the current manifest and
/// the current chunk, not a property of the chunk: it is judged afresh on every check, so a
/// corrected chunk or a corrected manifest, in whichever order they arrive, completes the
/// recording.
async fn verify_stored_checksums(
    ports: &Ports,
    record: &CatalogRecord,
    chunks: &[ChunkRecord],
) -> Result<Vec<(u32, String)>, LambdaError> {
    if record.end_signal != Some(EndSignal::Manifest) || chunks.iter().all(|c| c.sha256.is_none()) {
        return Ok(Vec::new());
    }
    let recording = record.recording();
    let Some(manifest) = load_manifest(ports, &recording).await? else {
        warn!(user_id = %recording.user_id, recording_id = %recording.recording_id, "the manifest that ended the recording is gone; the media stage reports it");
        return Ok(Vec::new());
    };
    let mut failed = Vec::new();
    for entry in &manifest.chunks {
        let Some(expected) = &entry.sha256 else {
            continue;
        };
        let Some(chunk) = chunks.iter().find(|c| c.chunk_index == entry.index) else {
            continue;
        };
        let Some(actual) = &chunk.sha256 else {
            continue;
        };
        if !actual.eq_ignore_ascii_case(expected) {
            warn!(event = "chunk_rejected", user_id = %recording.user_id, recording_id = %recording.recording_id, chunk_index = %chunk.chunk_index, reason = "sha256 mismatch", "chunk checksum does not match the manifest");
            failed.push((
                chunk.chunk_index.get(),
                format!("sha256 mismatch: manifest {expected}, object {actual}"),
            ));
        }
    }
    Ok(failed)
}
