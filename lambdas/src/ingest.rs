//! The Chunk Upload Handler: one S3 "Object Created" notification in, at most one chunk-table
//! write and one completion check out.
//!
//! Order of checks, cheapest and most hostile first: event shape → bucket → key grammar (a
//! malformed key is logged with its reason, counted and acknowledged without any port call) →
//! size bounds from the event → HeadObject (exists, size) → ranged read of the first bytes (MP4
//! `ftyp` box at offset 4) → conditional chunk-table write → catalog record → completion check.
//! Manifests go to [`handle_manifest`].

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use std::time::Instant;

use chrono::SecondsFormat;
use meeting_domain::PortError;
use meeting_domain::contracts::{ChunkRecord, ChunkStatus};
use meeting_domain::keys::{ChunkKey, ManifestKey, RecordingKey, chunk_key, parse_event_key};
use meeting_domain::ports::RecordOutcome;
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::Ports;
use crate::completion::{self, Completion};
use crate::error::LambdaError;
use crate::events::{ObjectCreated, S3Notification, parse_s3_notification};
use crate::metrics::Metric;

/// Bytes read to sniff the container: a 4-byte box size then the box type `ftyp`.
const SNIFF_BYTES: u64 = 8;

/// Largest manifest read: 100,000 chunk entries of ~120 bytes fit well within 16 MiB.
const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

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
    /// The object is not an acceptable chunk (empty, too large, gone, not MP4): acknowledged.
    InvalidChunk {
        /// Why.
        reason: &'static str,
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

fn invalid(ports: &Ports, key: &ChunkKey, reason: &'static str) -> IngestOutcome {
    warn!(event = "chunk_rejected", recording_id = %key.recording, chunk_index = %key.index, reason, "invalid chunk; acknowledged");
    ports.metrics.count(Metric::InvalidChunks, 1);
    IngestOutcome::InvalidChunk { reason }
}

async fn handle_chunk(
    ports: &Ports,
    created: &ObjectCreated,
    key: &ChunkKey,
) -> Result<IngestOutcome, LambdaError> {
    let started = Instant::now();
    let max = ports.config.max_chunk_bytes;
    let size_ok = |size: u64| size > 0 && size <= max;
    if created.detail.object.size.is_some_and(|s| !size_ok(s)) {
        return Ok(invalid(ports, key, "size out of bounds"));
    }
    let s3_key = chunk_key(&key.user, &key.recording, key.index);
    let bucket = &ports.config.bucket;
    let Some(meta) = ports.objects.head(bucket, &s3_key).await? else {
        return Ok(invalid(ports, key, "object does not exist"));
    };
    let etag = created.etag();
    let etag = if etag.is_empty() {
        meta.etag.clone()
    } else {
        etag
    };
    // The event describes one version; HeadObject the current one. Use its size and checksum
    // only when it is still that version.
    let same_version = meta.etag == etag;
    let size = created.detail.object.size.unwrap_or(meta.size);
    if !size_ok(size) || (same_version && !size_ok(meta.size)) {
        return Ok(invalid(ports, key, "size out of bounds"));
    }
    let head = match ports
        .objects
        .get_range(bucket, &s3_key, 0, SNIFF_BYTES)
        .await
    {
        Ok(bytes) => bytes,
        Err(PortError::NotFound { .. }) => return Ok(invalid(ports, key, "object does not exist")),
        Err(e) => return Err(e.into()),
    };
    if head.len() < 8 || &head[4..8] != b"ftyp" {
        return Ok(invalid(ports, key, "not an MP4 (no ftyp box at offset 4)"));
    }
    let now = ports.clock.now();
    let uploaded_at = created
        .time
        .unwrap_or(now)
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let record = ChunkRecord {
        recording_id: key.recording.clone(),
        chunk_index: key.index,
        user_id: key.user.clone(),
        uploaded_at,
        s3_key,
        file_size: size,
        etag,
        sequencer: created.sequencer(),
        sha256: if same_version {
            meta.sha256.clone()
        } else {
            None
        },
        status: ChunkStatus::Validated,
        reupload_count: 0,
        last_error: None,
        trace_header: crate::invocation::current_trace_header().map(|h| h.to_string()),
    };
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
        recording_id = %key.recording,
        chunk_index = %key.index,
        outcome = ?recorded,
        file_size = size,
        ingest_latency_ms,
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "chunk recorded"
    );
    ports.catalog.ensure(&key.user, &key.recording, now).await?;
    // Also after a duplicate: a redelivery is how a failed start after a won transition is retried.
    let completion = completion::check(ports, &key.recording).await?;
    Ok(IngestOutcome::Chunk {
        recorded,
        completion,
    })
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
    let Some(manifest) = completion::load_manifest(ports, &key.user, &key.recording).await? else {
        warn!(recording_id = %key.recording, "manifest announced but gone; acknowledged");
        return Ok(IngestOutcome::IgnoredEvent);
    };
    let count = manifest.expected_chunk_count;
    match ports
        .catalog
        .set_expected_count(&key.user, &key.recording, count, ports.clock.now())
        .await
    {
        Ok(_) => {}
        Err(PortError::Conflict { what }) => {
            return Err(LambdaError::ExpectedCountConflict {
                recording: key.recording.clone(),
                detail: what,
            });
        }
        Err(e) => return Err(e.into()),
    }
    info!(recording_id = %key.recording, expected_chunk_count = count, "manifest applied");
    let completion = completion::check(ports, &key.recording).await?;
    Ok(IngestOutcome::Manifest { completion })
}
