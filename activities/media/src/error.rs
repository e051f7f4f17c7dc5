//! Errors of the media activity: what went wrong with a tool process ([`ToolError`]) and with a
//! task ([`MediaActivityError`]), and how each maps onto the closed error set of the
//! `PrepareMedia` contract ([`MediaError`]) that the workflow's Retry/Catch rules match.

use std::time::Duration;

use activity_runtime::Failure;
use meeting_domain::PortError;
use meeting_domain::contracts::MediaError;

use crate::limits::MEMORY_LIMIT_VAR;

/// The media activity's configuration cannot be used; the worker must not start with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable has a value the activity cannot use.
    #[error("{var}={value:?} is invalid: {reason}")]
    InvalidVar {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong, with the accepted range.
        reason: String,
    },
}

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
    /// An allocation failed under the program's address-space limit (`RLIMIT_AS`): FFmpeg said
    /// "Cannot allocate memory" (or the like) and gave up.
    #[error(
        "`{tool}` ran out of its memory limit of {limit_mib} MiB ({MEMORY_LIMIT_VAR} sets it): \
         {stderr}"
    )]
    OutOfMemory {
        /// The program.
        tool: String,
        /// The limit, MiB.
        limit_mib: u64,
        /// The end of its stderr.
        stderr: String,
    },
    /// The program could not even be loaded within its address-space limit (the dynamic loader
    /// failed to map its shared libraries): the limit is misconfigured, not the input.
    #[error(
        "`{tool}` cannot start within its memory limit of {limit_mib} MiB; raise \
         {MEMORY_LIMIT_VAR}: {stderr}"
    )]
    LimitTooLowToStart {
        /// The program.
        tool: String,
        /// The limit, MiB.
        limit_mib: u64,
        /// The loader's message.
        stderr: String,
    },
    /// The program was killed by a signal this worker did not send: SIGKILL from the kernel when
    /// it used up its CPU time limit (`RLIMIT_CPU`) or the machine ran out of memory, or a crash.
    #[error(
        "`{tool}` was killed by signal {signal}{}{}",
        signal_hint(*signal, *cpu_limit_seconds),
        if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
    )]
    Killed {
        /// The program.
        tool: String,
        /// The signal number.
        signal: i32,
        /// Its CPU time limit, seconds, when it had one.
        cpu_limit_seconds: Option<u64>,
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

/// What a signal that killed a tool most likely means.
fn signal_hint(signal: i32, cpu_limit_seconds: Option<u64>) -> String {
    // Linux signal numbers (x86-64 and aarch64 agree on these).
    const SIGABRT: i32 = 6;
    const SIGBUS: i32 = 7;
    const SIGKILL: i32 = 9;
    const SIGSEGV: i32 = 11;
    const SIGXCPU: i32 = 24;
    match (signal, cpu_limit_seconds) {
        (SIGKILL | SIGXCPU, Some(limit)) => format!(
            " (it used up its CPU time limit of {limit} s, or the kernel ran out of memory)"
        ),
        (SIGKILL, None) => " (SIGKILL: the kernel ran out of memory)".to_owned(),
        (SIGSEGV | SIGBUS | SIGABRT, _) => {
            " (it crashed: a malformed input, or an allocation refused under its memory limit)"
                .to_owned()
        }
        _ => String::new(),
    }
}

/// Why ffprobe's description of a chunk disqualifies it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    /// The audio is not AAC.
    #[error("its audio codec is {codec}, not AAC")]
    UnsupportedCodec {
        /// The codec ffprobe named.
        codec: String,
    },
    /// Anything else: not MP4, a declared value out of range, an unreadable stream.
    #[error("{0}")]
    Invalid(String),
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
    /// A chunk's audio is not in the one codec the join decodes (AAC): FFmpeg is never asked to
    /// decode it.
    #[error(
        "chunk {index} is invalid: its audio codec is {codec}, and only AAC (in MP4) is accepted; \
         record or export it with AAC audio"
    )]
    UnsupportedCodec {
        /// The chunk index.
        index: u32,
        /// The codec (or decoder) FFmpeg named.
        codec: String,
    },
    /// Probing a chunk hit a resource limit of ffprobe (memory or CPU time): a chunk that costs
    /// that much to read is treated as hostile.
    #[error("chunk {index} is invalid: {source} while probing it")]
    ChunkOverLimit {
        /// The chunk index.
        index: u32,
        /// The limit that was hit.
        #[source]
        source: ToolError,
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
            Self::ChunkInvalid { .. }
            | Self::UnsupportedCodec { .. }
            | Self::ChunkOverLimit { .. } => MediaError::ChunkInvalid,
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
