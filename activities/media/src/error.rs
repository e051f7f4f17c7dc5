//! Errors of the media activity: what went wrong with a tool process ([`ToolError`]) and with a
//! task ([`MediaActivityError`]), and how each maps onto the closed error set of the
//! `PrepareMedia` contract ([`MediaError`]) that the workflow's Retry/Catch rules match.

use std::time::Duration;

use activity_runtime::Failure;
use meeting_domain::PortError;
use meeting_domain::contracts::MediaError;

/// A failure to run `ffmpeg` or `ffprobe`.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The program is not installed or not on `PATH`.
    #[error(
        "`{tool}` is not installed or not on PATH ({source}); install it with `scripts/setup.sh apt`"
    )]
    Missing {
        /// The program.
        tool: String,
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// The program exists but could not be started.
    #[error("could not start `{tool}`: {source}")]
    Spawn {
        /// The program.
        tool: String,
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// The program ran longer than its limit and was killed.
    #[error("`{tool}` ran longer than {limit:?} and was killed")]
    TimedOut {
        /// The program.
        tool: String,
        /// The time limit.
        limit: Duration,
    },
    /// The task was cancelled; the program was killed.
    #[error("`{tool}` was killed because the task was cancelled")]
    Cancelled {
        /// The program.
        tool: String,
    },
    /// The program exited unsuccessfully.
    #[error("`{tool}` exited with {status}: {stderr}")]
    Failed {
        /// The program.
        tool: String,
        /// Exit status.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// The program wrote more to stdout than we accept (a hostile input making ffprobe chatty).
    #[error("`{tool}` wrote more than {limit} bytes to stdout")]
    OutputTooLarge {
        /// The program.
        tool: String,
        /// The limit.
        limit: usize,
    },
    /// Reading the program's output or waiting for it failed.
    #[error("reading the output of `{tool}` failed: {source}")]
    Io {
        /// The program.
        tool: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a `PrepareMedia` task failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaActivityError {
    /// A chunk the workflow listed is not in the bucket.
    #[error("chunk {index} is missing: no object at {key}")]
    ChunkMissing {
        /// The chunk index.
        index: u32,
        /// The key looked up.
        key: String,
    },
    /// A chunk is empty, too large, not MP4, corrupt or hostile.
    #[error("chunk {index} is invalid: {reason}")]
    ChunkInvalid {
        /// The chunk index.
        index: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// A chunk has no audio stream.
    #[error("chunk {index} has no audio stream")]
    NoAudio {
        /// The chunk index.
        index: u32,
    },
    /// A chunk's bytes do not have the SHA-256 its manifest lists.
    #[error(
        "chunk {index} ({key}) does not match the manifest: its SHA-256 is {actual}, the manifest \
         lists {expected}; upload chunk {index} again, then run `recorder reprocess`"
    )]
    ChecksumMismatch {
        /// The chunk index.
        index: u32,
        /// The chunk's key.
        key: String,
        /// The digest the manifest lists.
        expected: String,
        /// The digest of the bytes downloaded.
        actual: String,
    },
    /// The manifest the task names cannot be used.
    #[error(
        "the manifest {key} cannot be used: {reason}; upload the recording's manifest.json \
         again, then run `recorder reprocess`"
    )]
    ManifestInvalid {
        /// The manifest key from the task input.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `ffmpeg`/`ffprobe` failed on input it had accepted, or is not installed.
    #[error("{step} failed: {source}")]
    Tool {
        /// What we were doing.
        step: String,
        /// The tool failure.
        #[source]
        source: ToolError,
    },
    /// The tool succeeded but its output is not what we expect.
    #[error("{step} produced unexpected output: {detail}")]
    UnexpectedOutput {
        /// What we were doing.
        step: String,
        /// What was wrong.
        detail: String,
    },
    /// Object storage failed.
    #[error("object storage failed while {action}: {source}")]
    Storage {
        /// What we were doing ("downloading chunk 3").
        action: String,
        /// The port error.
        #[source]
        source: PortError,
    },
    /// A local file operation in the work directory failed.
    #[error("local file operation failed while {action}: {source}")]
    Io {
        /// What we were doing.
        action: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The task was cancelled (timed out, stopped, worker draining); work stopped and temp files
    /// were removed.
    #[error("the task was cancelled")]
    Cancelled,
}

impl MediaActivityError {
    /// The name from the contract's closed set that the workflow sees.
    ///
    /// Storage errors that are not retryable (access denied, rejected) are `Storage.Rejected`,
    /// so the workflow does not retry a misconfiguration.
    pub fn error_name(&self) -> MediaError {
        match self {
            Self::ChunkMissing { .. } => MediaError::ChunkMissing,
            Self::ChunkInvalid { .. } => MediaError::ChunkInvalid,
            Self::NoAudio { .. } => MediaError::NoAudio,
            Self::ChecksumMismatch { .. } => MediaError::ChecksumMismatch,
            Self::ManifestInvalid { .. } => MediaError::ManifestInvalid,
            Self::Storage { source, .. } if source.is_retryable() => MediaError::StorageUnavailable,
            Self::Storage { .. } => MediaError::StorageRejected,
            Self::Tool { .. }
            | Self::UnexpectedOutput { .. }
            | Self::Io { .. }
            | Self::Cancelled => MediaError::ToolFailed,
        }
    }

    /// The typed failure sent with `SendTaskFailure`: the error name and this error's message,
    /// which names the chunk index where there is one.
    pub fn into_failure(self) -> Failure<MediaError> {
        Failure::new(self.error_name(), self.to_string())
    }
}
