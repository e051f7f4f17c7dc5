//! The Session Completion Detector.
//!
//! Runs after every chunk, when the catalog stream reports a written `expectedChunkCount`, when a
//! manifest arrives and from the sweeper. It is safe to run any number of times concurrently:
//!
//! 1. Complete means the validated indices are exactly `0..N` (not a count). Failed chunks
//!    (checksum mismatch) and indices `≥ N` make the recording `incomplete_chunks` at once;
//!    missing indices do so only after the grace period since `stoppedAt`.
//! 2. The decision is a conditional catalog transition from the status just read. Whoever loses
//!    re-reads and decides again, so a stale "incomplete" verdict cannot stick once the chunk that
//!    fills the gap has been recorded (its own check runs after its write).
//! 3. Only the winner of `→ ready_for_processing` starts the execution, named after the recording
//!    with canonical input. A recording found in `ready_for_processing` is re-driven: the start is
//!    repeated (Step Functions treats same name + input as the same execution) and then moved to
//!    `processing`. So a failed start after a won transition propagates as an error, and the
//!    retried event finishes the job instead of getting stuck.

use std::collections::BTreeSet;

use meeting_domain::contracts::{
    CatalogRecord, ChunkManifest, ChunkRecord, ChunkStatus, ProcessingInput,
};
use meeting_domain::keys::manifest_key;
use meeting_domain::ports::{CatalogPatch, StartOutcome};
use meeting_domain::{PortError, RecordingId, RecordingStatus, UserId};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::Ports;
use crate::error::LambdaError;
use crate::invocation;
use crate::metrics::Metric;

/// Re-reads after a lost transition before giving up with a retryable error. Each lost race means
/// another writer made progress, so a handful is plenty.
const MAX_ATTEMPTS: u32 = 8;

/// Error name stored in the catalog for incomplete recordings.
pub const INCOMPLETE_ERROR: &str = "Chunks.Incomplete";

/// Bytes read per range request when a chunk must be hashed (bounded memory; 8 MiB is also S3's
/// recommended part size).
const HASH_RANGE_BYTES: u64 = 8 * 1024 * 1024;

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
pub fn processing_input(
    ports: &Ports,
    record: &CatalogRecord,
    chunk_count: u32,
) -> ProcessingInput {
    ProcessingInput::for_record(record, ports.config.bucket.clone(), chunk_count)
}

/// Runs the completion check of one recording.
pub async fn check(ports: &Ports, recording: &RecordingId) -> Result<Completion, LambdaError> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(record) = ports.catalog.get(recording).await? else {
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
        let chunks = ports.chunks.chunks(recording).await?;
        let mut assessment = assess(expected, &chunks);
        if assessment.is_complete() {
            assessment.failed = verify_checksums(ports, &record, &chunks).await?;
        }
        if assessment.is_complete() {
            let name = recording.execution_name(record.run);
            let patch = CatalogPatch {
                missing_chunks: Some(Vec::new()),
                failed_chunks: Some(Vec::new()),
                execution_name: Some(name),
                run: Some(record.run),
                error: Some(None),
                cause: Some(None),
                results: None,
            };
            let now = ports.clock.now();
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
                    recording_id = %recording,
                    expected_chunk_count = expected,
                    recorded_chunks = chunks.len(),
                    "recording complete; won the start"
                );
                let mut ready = record;
                ready.status = RecordingStatus::ReadyForProcessing;
                ready.execution_name = Some(recording.execution_name(ready.run));
                return start_processing(ports, &ready, &chunks).await;
            }
            continue;
        }
        let problem = !assessment.failed.is_empty() || !assessment.extra.is_empty();
        if !problem && !grace_passed(ports, &record) {
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
        let cause = format!(
            "missing chunks {missing:?}; failed or unexpected chunks {failed:?} (expected 0..{expected})"
        );
        let patch = CatalogPatch {
            missing_chunks: Some(missing.clone()),
            failed_chunks: Some(failed.clone()),
            error: Some(Some(INCOMPLETE_ERROR.to_owned())),
            cause: Some(Some(cause)),
            ..CatalogPatch::default()
        };
        let now = ports.clock.now();
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
                recording_id = %recording,
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

fn grace_passed(ports: &Ports, record: &CatalogRecord) -> bool {
    let Some(stopped) = record
        .stopped_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    else {
        return false;
    };
    let grace = chrono::Duration::from_std(ports.config.grace).unwrap_or(chrono::Duration::MAX);
    ports.clock.now() >= stopped.to_utc() + grace
}

/// Starts (or re-drives) the execution of a `ready_for_processing` recording, then moves it to
/// `processing`.
/// Starts (again) the execution of a recording whose start was already won: one the catalog
/// shows `ready_for_processing`, or `processing` when its execution was lost (the local engine
/// keeps executions in memory). Same name, same canonical input, the first chunk's trace.
///
/// # Errors
/// A [`LambdaError`] when the chunks cannot be read or the start fails.
pub async fn start_recorded(
    ports: &Ports,
    record: &CatalogRecord,
) -> Result<Completion, LambdaError> {
    let chunks = ports.chunks.chunks(&record.recording_id).await?;
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
    let recording = &record.recording_id;
    let Some(expected) = record.expected_chunk_count else {
        return Err(PortError::Corrupt {
            service: "catalog",
            detail: format!(
                "recording {recording} is ready_for_processing without expectedChunkCount"
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
            info!(event = "processing_started", recording_id = %recording, execution_name = %name, %execution_arn, trace_id, "processing started");
        }
        Ok(StartOutcome::AlreadyRunning { execution_arn }) => {
            info!(event = "processing_already_running", recording_id = %recording, execution_name = %name, %execution_arn, trace_id, "processing was already running");
        }
        Err(PortError::Conflict { what }) => {
            // The name exists with other input or is closed: it was started before and can never
            // be started a second time. The workflow owns the status from here.
            warn!(recording_id = %recording, execution_name = %name, %what, "execution already exists");
            return Ok(Completion::AlreadyStarted);
        }
        Err(e) => return Err(e.into()),
    }
    let patch = CatalogPatch {
        execution_name: Some(name.clone()),
        ..CatalogPatch::default()
    };
    ports
        .catalog
        .transition(
            recording,
            RecordingStatus::ReadyForProcessing,
            RecordingStatus::Processing,
            patch,
            ports.clock.now(),
        )
        .await?;
    Ok(Completion::Started {
        execution_name: name,
    })
}

/// Reads the manifest of a recording, `None` when there is none.
pub async fn load_manifest(
    ports: &Ports,
    user: &UserId,
    recording: &RecordingId,
) -> Result<Option<ChunkManifest>, LambdaError> {
    let key = manifest_key(user, recording);
    let body = match ports.objects.get_bytes(&ports.config.bucket, &key).await {
        Ok(body) => body,
        Err(PortError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
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

/// Compares the manifest's SHA-256 of each chunk with the object's (from HeadObject's checksum,
/// or hashed in bounded ranges when the upload carried none). Mismatching chunks are marked
/// failed (only if still the same object) and returned.
async fn verify_checksums(
    ports: &Ports,
    record: &CatalogRecord,
    chunks: &[ChunkRecord],
) -> Result<Vec<u32>, LambdaError> {
    let Some(manifest) = load_manifest(ports, &record.user_id, &record.recording_id).await? else {
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
        let actual = match &chunk.sha256 {
            Some(sha) => sha.clone(),
            None => hash_object(ports, &chunk.s3_key).await?,
        };
        if !actual.eq_ignore_ascii_case(expected) {
            let reason = format!("sha256 mismatch: manifest {expected}, object {actual}");
            ports
                .chunks
                .mark_failed(
                    &record.recording_id,
                    chunk.chunk_index,
                    &chunk.etag,
                    &reason,
                )
                .await?;
            warn!(event = "chunk_rejected", recording_id = %record.recording_id, chunk_index = %chunk.chunk_index, reason = "sha256 mismatch", "chunk checksum mismatch");
            failed.push(chunk.chunk_index.get());
        }
    }
    Ok(failed)
}

async fn hash_object(ports: &Ports, key: &str) -> Result<String, LambdaError> {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    loop {
        let part = ports
            .objects
            .get_range(&ports.config.bucket, key, offset, HASH_RANGE_BYTES)
            .await?;
        hasher.update(&part);
        offset += part.len() as u64;
        if (part.len() as u64) < HASH_RANGE_BYTES {
            break;
        }
    }
    Ok(hex::encode(hasher.finalize()))
}
