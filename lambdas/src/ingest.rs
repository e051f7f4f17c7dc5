//! The Chunk Upload Handler: one S3 "Object Created" notification in, at most one chunk-table
//! write and one completion check out.
//!
//! Order of checks, cheapest and most hostile first: event shape → bucket → key grammar (a
//! malformed key is logged with its reason, counted and acknowledged without any port call) →
//! size bounds from the event → HeadObject (exists, size) → ranged read of the first bytes (MP4
//! `ftyp` box at offset 4) → conditional chunk-table write → catalog record → completion check.
//! Manifests go to [`handle_manifest`].
//!
//! A chunk that fails a check is not dropped: it is written to the chunk table as `failed` with
//! its reason, so the recording reports it as rejected (with the reason) instead of "missing",
//! and a later upload of the same key replaces it (newer sequencer). An object S3 will not show
//! us (404, or 403 for a role without `s3:ListBucket`, which is how S3 answers for an absent key)
//! is rejected the same way, never retried into the dead-letter queue.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use std::time::Instant;

use chrono::SecondsFormat;
use meeting_domain::contracts::{ChunkRecord, ChunkStatus, EndSignal};
use meeting_domain::keys::{ChunkKey, ManifestKey, RecordingKey, chunk_key, parse_event_key};
use meeting_domain::ports::RecordOutcome;
use meeting_domain::{PortError, RecordingRef};
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::Ports;
use crate::completion::{self, Completion, MAX_MANIFEST_BYTES};
use crate::config::IngestConfig;
use crate::error::LambdaError;
use crate::events::{ObjectCreated, S3Notification, parse_s3_notification};
use crate::metrics::Metric;

/// Bytes read to sniff the container: a 4-byte box size then the box type `ftyp`.
const SNIFF_BYTES: u64 = 8;

/// What handling one notification did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Not an object creation (e.g. "Object Tags Added"): acknowledged.
    IgnoredEvent,
    /// An object of another bucket: acknowledged.
    ForeignBucket,
    /// The key is outside the grammar: acknowledged, logged and counted.
    MalformedKey {
        /// Stable reason code.
        reason: &'static str,
    },
    /// The object is not an acceptable chunk (empty, too large, gone, not MP4): recorded as a
    /// failed chunk with the reason, and the completion check ran.
    InvalidChunk {
        /// Why.
        reason: &'static str,
        /// What the completion check found.
        completion: Completion,
    },
    /// A chunk was written (or found already written) and the completion check ran.
    Chunk {
        /// What the chunk table did.
        recorded: RecordOutcome,
        /// What the completion check found.
        completion: Completion,
    },
    /// A manifest was applied and the completion check ran.
    Manifest {
        /// What the completion check found.
        completion: Completion,
    },
}

/// Handles one EventBridge event from S3.
pub async fn handle_event(
    ports: &Ports,
    event: EventBridgeEvent<Value>,
) -> Result<IngestOutcome, LambdaError> {
    match parse_s3_notification(event)? {
        S3Notification::Ignored {
            source,
            detail_type,
        } => {
            debug!(%source, %detail_type, "ignoring event");
            Ok(IngestOutcome::IgnoredEvent)
        }
        S3Notification::Created(created) => handle_object_created(ports, &created).await,
    }
}

/// Handles one object creation.
pub async fn handle_object_created(
    ports: &Ports,
    created: &ObjectCreated,
) -> Result<IngestOutcome, LambdaError> {
    if created.detail.bucket.name != ports.config.bucket {
        warn!(bucket = %created.detail.bucket.name, "object of an unexpected bucket; ignoring");
        return Ok(IngestOutcome::ForeignBucket);
    }
    match parse_event_key(&created.detail.object.key) {
        Err(rejection) => {
            // The key is attacker-controlled: log its length, not its content.
            warn!(event = "key_rejected", reason = rejection.code(), detail = %rejection, key_len = created.detail.object.key.len(), "malformed object key; acknowledged");
            ports.metrics.count(Metric::MalformedKeys, 1);
            Ok(IngestOutcome::MalformedKey {
                reason: rejection.code(),
            })
        }
        Ok(RecordingKey::Chunk(key)) => handle_chunk(ports, created, &key).await,
        Ok(RecordingKey::Manifest(key)) => handle_manifest(ports, created, &key).await,
    }
}

/// Reason of a chunk that S3 will not show us.
const GONE: &str = "object does not exist or is not readable (S3 answered 404, or 403 as it does for an absent key)";

async fn handle_chunk(
    ports: &Ports,
    created: &ObjectCreated,
    key: &ChunkKey,
) -> Result<IngestOutcome, LambdaError> {
    let started = Instant::now();
    let max = ports.config.max_chunk_bytes;
    let size_ok = |size: u64| size > 0 && size <= max;
    let s3_key = chunk_key(&key.user, &key.recording, key.index);
    let now = ports.clock.now();
    let uploaded_at = created
        .time
        .unwrap_or(now)
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut record = ChunkRecord {
        recording_id: key.recording.clone(),
        chunk_index: key.index,
        user_id: key.user.clone(),
        uploaded_at,
        s3_key: s3_key.clone(),
        file_size: created.detail.object.size.unwrap_or(0),
        etag: created.etag(),
        sequencer: created.sequencer(),
        sha256: None,
        status: ChunkStatus::Validated,
        reupload_count: 0,
        last_error: None,
        trace_header: crate::invocation::current_trace_header().map(|h| h.to_string()),
    };
    let verdict = validate_chunk(ports, created, &s3_key, size_ok, &mut record).await?;
    if let Err(reason) = verdict {
        record.status = ChunkStatus::Failed;
        record.last_error = Some(reason.to_owned());
        warn!(event = "chunk_rejected", user_id = %key.user, recording_id = %key.recording, chunk_index = %key.index, reason, "invalid chunk; recorded as rejected");
        ports.metrics.count(Metric::InvalidChunks, 1);
    }
    let recorded = ports.chunks.record(&record).await?;
    let metric = match &recorded {
        RecordOutcome::Inserted => Metric::ChunksRecorded,
        RecordOutcome::Duplicate => Metric::DuplicateChunks,
        RecordOutcome::Replaced { .. } => Metric::ReuploadedChunks,
        RecordOutcome::Stale => Metric::StaleChunks,
    };
    ports.metrics.count(metric, 1);
    // Upload-to-record latency: from S3's event time (the object's creation) to this write; the
    // handler's own time is `duration_ms`.
    let ingest_latency_ms = created
        .time
        .map(|t| (ports.clock.now() - t).num_milliseconds().max(0));
    info!(
        event = "chunk_recorded",
        user_id = %key.user,
        recording_id = %key.recording,
        chunk_index = %key.index,
        outcome = ?recorded,
        status = ?record.status,
        file_size = record.file_size,
        ingest_latency_ms,
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "chunk recorded"
    );
    let recording = RecordingRef::new(key.user.clone(), key.recording.clone());
    ports
        .catalog
        .ensure(
            &recording,
            now,
            IngestConfig::after(now, ports.config.give_up_after),
        )
        .await?;
    // Also after a duplicate: a redelivery is how a failed start after a won transition is retried.
    let completion = completion::check(ports, &recording).await?;
    Ok(match verdict {
        Ok(()) => IngestOutcome::Chunk {
            recorded,
            completion,
        },
        Err(reason) => IngestOutcome::InvalidChunk { reason, completion },
    })
}

/// Checks the object behind a chunk event: size, existence, MP4 signature. Fills in what
/// HeadObject tells (ETag, size, stored SHA-256) and returns the reason when the chunk is not
/// acceptable. Only a retryable failure of S3 is an error.
async fn validate_chunk(
    ports: &Ports,
    created: &ObjectCreated,
    s3_key: &str,
    size_ok: impl Fn(u64) -> bool,
    record: &mut ChunkRecord,
) -> Result<Result<(), &'static str>, LambdaError> {
    if created.detail.object.size.is_some_and(|s| !size_ok(s)) {
        return Ok(Err(
            "size out of bounds (empty, or larger than MAX_CHUNK_BYTES)",
        ));
    }
    let bucket = &ports.config.bucket;
    let meta = match ports.objects.head(bucket, s3_key).await {
        Ok(Some(meta)) => meta,
        Ok(None) | Err(PortError::NotFound { .. } | PortError::AccessDenied { .. }) => {
            return Ok(Err(GONE));
        }
        Err(e) => return Err(e.into()),
    };
    if record.etag.is_empty() {
        record.etag.clone_from(&meta.etag);
    }
    // The event describes one version; HeadObject the current one. Use its size and checksum
    // only when it is still that version.
    let same_version = meta.etag == record.etag;
    let size = created.detail.object.size.unwrap_or(meta.size);
    record.file_size = size;
    if same_version {
        record.sha256.clone_from(&meta.sha256);
    }
    if !size_ok(size) || (same_version && !size_ok(meta.size)) {
        return Ok(Err(
            "size out of bounds (empty, or larger than MAX_CHUNK_BYTES)",
        ));
    }
    let head = match ports
        .objects
        .get_range(bucket, s3_key, 0, SNIFF_BYTES)
        .await
    {
        Ok(bytes) => bytes,
        Err(PortError::NotFound { .. } | PortError::AccessDenied { .. }) => return Ok(Err(GONE)),
        Err(e) => return Err(e.into()),
    };
    if head.len() < 8 || &head[4..8] != b"ftyp" {
        return Ok(Err("not an MP4 (no ftyp box at offset 4)"));
    }
    Ok(Ok(()))
}

/// Applies a manifest (the end marker): stores its expected count, then checks completion.
pub async fn handle_manifest(
    ports: &Ports,
    created: &ObjectCreated,
    key: &ManifestKey,
) -> Result<IngestOutcome, LambdaError> {
    let s3_key = meeting_domain::keys::manifest_key(&key.user, &key.recording);
    if created
        .detail
        .object
        .size
        .is_some_and(|s| s > MAX_MANIFEST_BYTES)
    {
        return Err(LambdaError::InvalidManifest {
            key: s3_key,
            detail: format!("larger than {MAX_MANIFEST_BYTES} bytes"),
        });
    }
    let recording = RecordingRef::new(key.user.clone(), key.recording.clone());
    let Some(manifest) = completion::load_manifest(ports, &recording).await? else {
        // Deleted after upload (or not readable): without a count there is nothing to apply.
        // The recording is not lost: the sweeper retires it with `Chunks.NoEndSignal` unless
        // another end signal arrives.
        warn!(user_id = %key.user, recording_id = %key.recording, "manifest announced but gone; acknowledged");
        return Ok(IngestOutcome::IgnoredEvent);
    };
    let count = manifest.expected_chunk_count;
    match ports
        .catalog
        .set_expected_count(&recording, count, EndSignal::Manifest, ports.clock.now())
        .await
    {
        Ok(_) => {}
        Err(PortError::Conflict { what }) => {
            return Err(LambdaError::ExpectedCountConflict {
                recording,
                detail: what,
            });
        }
        Err(e) => return Err(e.into()),
    }
    info!(user_id = %key.user, recording_id = %key.recording, expected_chunk_count = count, "manifest applied");
    let completion = completion::check(ports, &recording).await?;
    Ok(IngestOutcome::Manifest { completion })
}
