//! Port traits: one small trait per capability. Domain code depends on these, never on an SDK
//! type. Every port has an in-memory fake, an AWS adapter and a local adapter, and one contract test
//! suite runs against all of them, so a fake can never promise what DynamoDB would not do.
//!
//! The semantics written on each method are the contract; adapters implement them exactly.

use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::contracts::EndSignal;
use crate::contracts::{CatalogRecord, ChunkRecord, ProcessingInput, RecordingResults};
use crate::error::{BoxError, PortError};
use crate::ids::{ChunkIndex, RecordingRef, UserId};
use crate::status::RecordingStatus;

/// Wall-clock time, injected so tests control it.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

// ---------------------------------------------------------------------------------------------
// Object store
// ---------------------------------------------------------------------------------------------

/// Metadata of a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes.
    pub etag: String,
    /// Lower-case hex SHA-256, when the object was stored with a SHA-256 checksum (S3:
    /// `x-amz-checksum-sha256`, returned by HeadObject with `ChecksumMode=ENABLED`).
    pub sha256: Option<String>,
}

/// Object storage (S3, a directory on disk, memory).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Metadata of `bucket/key`, or `None` when it does not exist.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError>;

    /// Bytes `start..start+len` (fewer when the object is shorter). `NotFound` when missing.
    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError>;

    /// The whole object, for small objects (manifests, JSON). `NotFound` when missing.
    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError>;

    /// Streams the object into `path` without holding it in memory; returns the bytes written.
    /// `NotFound` when missing. A partial file is removed on error.
    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError>;

    /// Streams the file at `path` into the object, replacing any previous version.
    async fn upload_from(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError>;

    /// Stores `body` as the object, replacing any previous version.
    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError>;

    /// Every object under `prefix`, in key order.
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError>;
}

// ---------------------------------------------------------------------------------------------
// Chunk table
// ---------------------------------------------------------------------------------------------

/// What recording a chunk did to the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// First time this index was seen: the item was created.
    Inserted,
    /// The same object (same ETag, size and sequencer) was already recorded: nothing changed.
    Duplicate,
    /// A different object for the same index with a newer sequencer replaced the item (a
    /// re-upload); the index still counts once.
    Replaced {
        /// ETag of the object that was replaced.
        previous_etag: String,
    },
    /// A different object for the same index, older than the recorded one: ignored.
    Stale,
}

/// The chunk tracking table (partition `recordingId`, sort `chunkIndex`; user index on
/// `userId`/`uploadedAt`).
#[async_trait]
pub trait ChunkTable: Send + Sync {
    /// Records a chunk with a conditional write so that the first writer wins and a redelivery is
    /// a no-op. The item takes the chunk's `status` and `lastError` (a rejected chunk is recorded
    /// as `failed` with its reason, so it is reported, not "missing"). For an existing index: same
    /// ETag+size → `Duplicate`; otherwise the item is replaced only if `chunk.sequencer` is newer
    /// than the stored one (S3 sequencers of the same key compare after right-padding the shorter
    /// with `0`) → `Replaced`, else `Stale`. Replacing brings the new upload's own verdict,
    /// increments `reuploadCount` and is itself conditional on the stored sequencer, so two racing
    /// re-uploads cannot both win.
    async fn record(&self, chunk: &ChunkRecord) -> Result<RecordOutcome, PortError>;

    /// Every chunk of a recording, ordered by index (strongly consistent read).
    async fn chunks(&self, recording: &RecordingRef) -> Result<Vec<ChunkRecord>, PortError>;

    /// Marks a chunk failed with a reason, if its ETag is still `etag` (a later re-upload is not
    /// marked by an old verdict). Returns whether the item was updated.
    async fn mark_failed(
        &self,
        recording: &RecordingRef,
        index: ChunkIndex,
        etag: &str,
        reason: &str,
    ) -> Result<bool, PortError>;

    /// Chunks of a user uploaded at or after `since` (RFC 3339), newest first, at most `limit`.
    async fn chunks_of_user(
        &self,
        user: &UserId,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChunkRecord>, PortError>;
}

// ---------------------------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------------------------

/// Fields written together with a status transition. `None` leaves a field unchanged; the
/// list fields replace the stored lists when `Some`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogPatch {
    /// Missing indices.
    pub missing_chunks: Option<Vec<u32>>,
    /// Failed indices.
    pub failed_chunks: Option<Vec<u32>>,
    /// Execution started for this recording.
    pub execution_name: Option<String>,
    /// Processing run.
    pub run: Option<u32>,
    /// Error name (`Some(None)` clears it).
    pub error: Option<Option<String>>,
    /// Cause (`Some(None)` clears it).
    pub cause: Option<Option<String>>,
    /// Results.
    pub results: Option<RecordingResults>,
    /// When the sweeper looks at the recording next (`Some(None)` takes it off the sweeper's
    /// index).
    pub sweep_at: Option<Option<DateTime<Utc>>>,
}

impl CatalogPatch {
    /// Applies the patch to a record (the fields that are `Some`).
    pub fn apply_to(self, record: &mut CatalogRecord) {
        let Self {
            missing_chunks,
            failed_chunks,
            execution_name,
            run,
            error,
            cause,
            results,
            sweep_at,
        } = self;
        if let Some(v) = missing_chunks {
            record.missing_chunks = v;
        }
        if let Some(v) = failed_chunks {
            record.failed_chunks = v;
        }
        if let Some(v) = execution_name {
            record.execution_name = Some(v);
        }
        if let Some(v) = run {
            record.run = v;
        }
        if let Some(v) = error {
            record.error = v;
        }
        if let Some(v) = cause {
            record.cause = v;
        }
        if let Some(v) = results {
            record.results = Some(v);
        }
        if let Some(v) = sweep_at {
            record.sweep_at = v.map(crate::contracts::timestamp);
        }
    }
}

/// The recording catalog (partition `userId`, sort `recordingId`; index on `userId`/`updatedAt`;
/// sparse index `sweep-due` on `sweepAt`, holding only the recordings someone must still look at).
#[async_trait]
pub trait Catalog: Send + Sync {
    /// The record of a recording (strongly consistent read).
    async fn get(&self, recording: &RecordingRef) -> Result<Option<CatalogRecord>, PortError>;

    /// Creates the record with status `recording` and `sweepAt = sweep_at` if it does not exist
    /// (conditional put). A record that exists without a status (the client created the item,
    /// e.g. with `expectedChunkCount`, before the first chunk arrived) is adopted: it gets status
    /// `recording` and, if it has none, `sweepAt`. Returns the stored record.
    async fn ensure(
        &self,
        recording: &RecordingRef,
        now: DateTime<Utc>,
        sweep_at: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError>;

    /// Stores the expected chunk count, `stoppedAt` (only if absent) and the end signal
    /// (`manifest` replaces `client`, never the reverse), creating the record if needed (with
    /// status `recording`). Idempotent for the same count; a different count than the one stored is
    /// a `Conflict` (the first end signal wins, a contradicting one is reported, never silently
    /// applied).
    async fn set_expected_count(
        &self,
        recording: &RecordingRef,
        count: u32,
        signal: EndSignal,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError>;

    /// Moves the recording from `from` to `to` and applies `patch`, conditionally on the stored
    /// status being `from`. Returns `true` for the one caller that wins, `false` when the status
    /// was not `from` (someone else won, or it moved on). Illegal transitions are rejected before
    /// any write.
    async fn transition(
        &self,
        recording: &RecordingRef,
        from: RecordingStatus,
        to: RecordingStatus,
        patch: CatalogPatch,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Sets (`Some`) or clears (`None`) when the sweeper looks at the recording next, whatever its
    /// status. Nothing happens to a recording that does not exist.
    async fn set_sweep_at(
        &self,
        recording: &RecordingRef,
        sweep_at: Option<DateTime<Utc>>,
    ) -> Result<(), PortError>;

    /// Recordings whose `sweepAt` is at or before `now`, earliest first, at most `limit`: the
    /// sweeper's work for one run. Bounded by design: each examined recording is rescheduled or
    /// taken off the index, so the next run continues where this one stopped.
    async fn due_for_sweep(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError>;

    /// Recordings of a user, newest first, optionally only those with `status`.
    async fn recordings_of_user(
        &self,
        user: &UserId,
        status: Option<RecordingStatus>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError>;
}

// ---------------------------------------------------------------------------------------------
// Workflow starter
// ---------------------------------------------------------------------------------------------

/// Result of starting a processing execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new execution was started.
    Started {
        /// Its ARN.
        execution_arn: String,
    },
    /// An open execution with this name and the same input already existed (a retried start);
    /// Step Functions returned its ARN.
    AlreadyRunning {
        /// Its ARN.
        execution_arn: String,
    },
}

pub use crate::execution_status::ExecutionStatus;

/// What DescribeExecution says of one execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionState {
    /// Its status.
    pub status: ExecutionStatus,
    /// Error name, when it failed.
    pub error: Option<String>,
    /// Cause, when it failed.
    pub cause: Option<String>,
}

/// Starts processing executions (Step Functions, the local engine).
#[async_trait]
pub trait WorkflowStarter: Send + Sync {
    /// The state of execution `name`, `None` when no execution has that name (DescribeExecution
    /// `ExecutionDoesNotExist`). The sweeper's reconciler uses it for recordings whose status
    /// change event never arrived.
    async fn describe(&self, name: &str) -> Result<Option<ExecutionState>, PortError>;

    /// Starts the execution `name` with `input` serialized canonically. Same name and input while
    /// open → `AlreadyRunning`; same name with other input, or a closed execution → `Conflict`.
    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, PortError>;

    /// [`start`](Self::start), joining the caller's X-Ray trace: `trace_header` is the caller's
    /// `Root=…;Parent=…;Sampled=…`. It is not part of the input, so a retried start from another
    /// invocation (another trace) is still the same execution. Starters without tracing ignore it.
    async fn start_traced(
        &self,
        name: &str,
        input: &ProcessingInput,
        trace_header: Option<&str>,
    ) -> Result<StartOutcome, PortError> {
        let _ = trace_header;
        self.start(name, input).await
    }
}

// ---------------------------------------------------------------------------------------------
// Activity task source
// ---------------------------------------------------------------------------------------------

/// A task handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityTask {
    /// The task token (opaque; never log it whole).
    pub token: String,
    /// The task input JSON.
    pub input: String,
}

/// Why a token can no longer be used.
#[derive(Debug, thiserror::Error)]
pub enum TaskTokenError {
    /// The task timed out (`TaskTimedOut`): stop working on it.
    #[error("the task timed out")]
    TimedOut,
    /// The token is malformed or unknown (`InvalidToken`).
    #[error("the task token is invalid")]
    InvalidToken,
    /// The task no longer exists (`TaskDoesNotExist`), e.g. the execution was stopped.
    #[error("the task does not exist")]
    TaskDoesNotExist,
    /// SendTaskSuccess refused the output itself (`InvalidOutput`: not JSON, or above the 256 KiB
    /// payload quota). The token is still valid, but this output can never be delivered: the
    /// task has to be failed instead.
    #[error("the task output was refused as invalid")]
    InvalidOutput {
        /// The service's error.
        #[source]
        source: BoxError,
    },
    /// The call itself failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

impl TaskTokenError {
    /// Whether the task is gone for good (stop heartbeating and cancel the work).
    pub fn task_is_gone(&self) -> bool {
        matches!(
            self,
            Self::TimedOut | Self::InvalidToken | Self::TaskDoesNotExist
        )
    }
}

/// Where activity workers get tasks (Step Functions GetActivityTask, the local engine).
#[async_trait]
pub trait ActivityTaskSource: Send + Sync {
    /// Long-polls for a task of `activity_arn` (Step Functions waits up to 60 s). `None` when the
    /// poll ended without a task.
    async fn poll(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, PortError>;

    /// Reports that the task is still being worked on.
    async fn heartbeat(&self, token: &str) -> Result<(), TaskTokenError>;

    /// Completes the task with `output` JSON.
    async fn succeed(&self, token: &str, output: &str) -> Result<(), TaskTokenError>;

    /// Fails the task with an error name and cause.
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskTokenError>;
}
