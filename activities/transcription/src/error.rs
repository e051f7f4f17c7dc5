//! Errors of the transcription crate. Each maps onto one name of the closed
//! [`TranscriptionError`] set the workflow's Retry/Catch rules know.

use std::path::PathBuf;

use meeting_domain::contracts::TranscriptionError;
use meeting_domain::error::PortError;

/// Why the offline model could not be found, converted or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No model file at the expected place.
    #[error(
        "the Whisper model is missing at {path}; run `{setup}` or set WHISPER_MODEL_PATH to a ggml file"
    )]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
        /// The command that installs it.
        setup: &'static str,
    },
    /// The file exists but its SHA-256 is not the recorded one.
    #[error(
        "the model file {path} has SHA-256 {actual}, expected {expected}; delete it and run `{setup}`"
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The command that installs it.
        setup: &'static str,
        /// Recorded checksum.
        expected: String,
        /// Checksum of the file.
        actual: String,
    },
    /// No speaker model (voice encoder) file at the expected place.
    #[error("the speaker model is missing at {path}; run `{setup}`")]
    SpeakerModelMissing {
        /// Where it was looked for.
        path: PathBuf,
        /// The command that installs it.
        setup: &'static str,
    },
    /// The source model or the ggml file does not have the expected layout.
    #[error("invalid model: {0}")]
    Invalid(String),
    /// Reading or writing a model file failed.
    #[error("model file I/O failed")]
    Io(#[source] std::io::Error),
    /// whisper.cpp refused the model.
    #[error("whisper.cpp could not load the model: {0}")]
    Load(String),
}

impl ModelError {
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::Invalid(detail.into())
    }

    pub(crate) fn io(source: std::io::Error) -> Self {
        Self::Io(source)
    }
}

/// Why decoding the audio failed.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// ffmpeg is not installed.
    #[error("ffmpeg is not installed; run `scripts/setup.sh apt`")]
    FfmpegMissing(#[source] std::io::Error),
    /// ffmpeg rejected the input.
    #[error("ffmpeg could not decode the audio: {stderr}")]
    Decode {
        /// The tail of ffmpeg's error output.
        stderr: String,
    },
}

/// A failure of a transcription engine (offline or Amazon Transcribe).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The audio is outside the engine's limits.
    #[error("the audio is outside the engine's limits: {0}")]
    MediaOutOfLimits(String),
    /// The job failed; the engine's reason is attached.
    #[error("the transcription job failed: {0}")]
    JobFailed(String),
    /// The service throttled us or was unavailable; retry later.
    #[error("the transcription service is unavailable; retry later")]
    ServiceUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The service rejected the request for a reason retrying cannot fix.
    #[error("the transcription service rejected the request: {0}")]
    Rejected(String),
    /// Object storage failed.
    #[error("object storage failed")]
    Storage(#[from] PortError),
    /// The engine's output could not be read or converted.
    #[error("the engine output is invalid: {0}")]
    InvalidOutput(String),
    /// The offline model is unusable.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The audio could not be decoded.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The task was cancelled while transcribing.
    #[error("transcription was cancelled")]
    Cancelled,
    /// Local I/O (temporary files) failed.
    #[error("local file I/O failed")]
    Io(#[from] std::io::Error),
}

impl EngineError {
    /// The workflow error name this failure is reported as.
    pub fn name(&self) -> TranscriptionError {
        match self {
            Self::MediaOutOfLimits(_) => TranscriptionError::MediaOutOfLimits,
            Self::JobFailed(_) | Self::Rejected(_) | Self::Model(_) | Self::Audio(_) => {
                TranscriptionError::JobFailed
            }
            // A cancelled task is gone; the runtime discards the result, and a retry is harmless.
            Self::ServiceUnavailable(_) | Self::Cancelled => TranscriptionError::ServiceUnavailable,
            Self::Storage(e) if e.is_retryable() => TranscriptionError::StorageUnavailable,
            // A missing or forbidden object does not come back by retrying.
            Self::Storage(_) => TranscriptionError::JobFailed,
            Self::Io(_) => TranscriptionError::StorageUnavailable,
            Self::InvalidOutput(_) => TranscriptionError::InvalidEngineOutput,
        }
    }
}
