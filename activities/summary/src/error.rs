//! The one error type of the summary crate, and its mapping onto the closed set of error names the
//! Summarize activity may send to Step Functions ([`SummaryError`]).

use meeting_domain::PortError;
use meeting_domain::contracts::SummaryError;
use meeting_domain::error::BoxError;

/// Everything that can go wrong while summarizing a transcript.
#[derive(Debug, thiserror::Error)]
pub enum SummarizeError {
    /// The transcript object is missing or does not match the transcript contract.
    #[error("the transcript is invalid: {reason}")]
    InvalidTranscript {
        /// What is wrong with it (never its text).
        reason: String,
    },

    /// The model answered, twice, with something that is not a valid summary. The errors name
    /// schema locations only, never the model's text.
    #[error(
        "the model's output did not match the summary schema after {attempts} attempts: {errors}"
    )]
    InvalidModelOutput {
        /// How many answers were rejected.
        attempts: u32,
        /// The validation errors of the last answer.
        errors: String,
    },

    /// The model service throttled us, was not ready or failed on its side: retry later.
    #[error("{service} is throttling or unavailable; retry later")]
    ServiceUnavailable {
        /// Which service.
        service: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The model service refused the request (access denied, unknown model, invalid request):
    /// a configuration problem that retrying does not fix.
    #[error("{service} rejected the request; check the model id, region and permissions")]
    ServiceRejected {
        /// Which service.
        service: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The summarizer was configured with values it cannot work with.
    #[error("invalid summarizer configuration: {0}")]
    Config(String),

    /// Reading the transcript or writing the summary failed.
    #[error("object storage failed")]
    Storage(#[source] PortError),

    /// The task was cancelled (timed out or stopped) while the summary was being made.
    #[error("the task was cancelled")]
    Cancelled,
}

impl SummarizeError {
    /// The error name the Summarize activity reports for this error.
    ///
    /// A rejected request (wrong model id, missing IAM permission, bad configuration) is
    /// `Summary.ModelRejected`, which the workflow does not retry.
    pub fn kind(&self) -> SummaryError {
        match self {
            Self::InvalidTranscript { .. } => SummaryError::InvalidTranscript,
            Self::InvalidModelOutput { .. } => SummaryError::InvalidModelOutput,
            Self::ServiceUnavailable { .. } | Self::Cancelled => SummaryError::ServiceUnavailable,
            Self::ServiceRejected { .. } | Self::Config(_) => SummaryError::ModelRejected,
            Self::Storage(PortError::NotFound { .. }) => SummaryError::InvalidTranscript,
            Self::Storage(e) if e.is_retryable() => SummaryError::StorageUnavailable,
            Self::Storage(_) => SummaryError::StorageRejected,
        }
    }

    /// Whether trying the same call again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::ServiceUnavailable { .. })
            || matches!(self, Self::Storage(e) if e.is_retryable())
    }
}
