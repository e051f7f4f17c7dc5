//! The one error type of the Lambda library, classified as retryable (return the error so
//! EventBridge / the stream retries the event) or permanent (the event can never succeed; it goes
//! to the dead-letter queue after the platform's retries).

use meeting_domain::{PortError, RecordingRef};

/// Everything that can go wrong while handling an event.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// A port (S3, DynamoDB, Step Functions) failed.
    #[error(transparent)]
    Port(#[from] PortError),
    /// The event does not have the shape we subscribe to.
    #[error("the {kind} event is malformed: {detail}; check the EventBridge rule / stream mapping")]
    InvalidEvent {
        /// Which event source.
        kind: &'static str,
        /// What did not parse.
        detail: String,
    },
    /// The manifest does not match the `ChunkManifest` schema.
    #[error("manifest {key} is invalid: {detail}; the client must upload a valid ChunkManifest")]
    InvalidManifest {
        /// The manifest key.
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// A second end signal contradicts the expected chunk count already stored.
    #[error("recording {recording} received a contradicting expected chunk count: {detail}")]
    ExpectedCountConflict {
        /// The recording.
        recording: RecordingRef,
        /// The conflict reported by the catalog.
        detail: String,
    },
    /// The recording's status kept changing under us while deciding its completion.
    #[error(
        "recording {recording} changed status {attempts} times while deciding completion; retry"
    )]
    Contention {
        /// The recording.
        recording: RecordingRef,
        /// How many times we re-read it.
        attempts: u32,
    },
    /// A required setting is missing or invalid.
    #[error("configuration: {0}; set it in the Lambda environment")]
    Config(String),
}

impl LambdaError {
    /// Whether handling the same event again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Port(e) => e.is_retryable(),
            Self::Contention { .. } => true,
            Self::InvalidEvent { .. }
            | Self::InvalidManifest { .. }
            | Self::ExpectedCountConflict { .. }
            | Self::Config(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retryable_and_a_bad_manifest_is_not() {
        let throttled = LambdaError::Port(PortError::Throttled {
            service: "dynamodb",
            source: "slow down".into(),
        });
        assert!(throttled.is_retryable());
        let manifest = LambdaError::InvalidManifest {
            key: "k".into(),
            detail: "d".into(),
        };
        assert!(!manifest.is_retryable());
    }
}
