//! Errors of the domain crate: invalid values (ids, keys, contracts) and the error every port
//! returns, classified as retryable or not so callers never have to parse a message.

use std::error::Error as StdError;

/// A boxed source error from an adapter (an SDK error, an I/O error, a SQLite error).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A value that breaks a domain rule.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// An id with a forbidden length or character.
    #[error("invalid {kind}: {reason}")]
    InvalidId {
        /// Which id ("user id", "recording id").
        kind: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A chunk index above [`crate::ids::MAX_CHUNK_INDEX`].
    #[error(
        "chunk index {value} is above the maximum of {}",
        crate::ids::MAX_CHUNK_INDEX
    )]
    ChunkIndexOverflow {
        /// The rejected value.
        value: u64,
    },
    /// A status transition that the recording status machine does not allow.
    #[error("a recording cannot move from {from} to {to}")]
    IllegalTransition {
        /// Current status.
        from: crate::status::RecordingStatus,
        /// Requested status.
        to: crate::status::RecordingStatus,
    },
}

/// The error of every port operation. Adapters map their service errors onto these variants by
/// matching the service's error codes, never by parsing messages.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The service asked us to slow down (DynamoDB `ProvisionedThroughputExceededException`,
    /// S3 `SlowDown`, Step Functions `ThrottlingException`, SQLite busy). Retry with backoff.
    #[error("{service} throttled the request; retry with backoff")]
    Throttled {
        /// Service name, for logs.
        service: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A transient failure (timeout, connection reset, 5xx). Retry with backoff.
    #[error("{service} is unavailable; retry later")]
    Unavailable {
        /// Service name, for logs.
        service: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The object, item or execution does not exist.
    #[error("{what} does not exist")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// Access was denied: a deployment or IAM problem, not retryable.
    #[error("{service} denied access; check the IAM policy / configuration")]
    AccessDenied {
        /// Service name, for logs.
        service: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The service returned data we cannot interpret (an item written by someone else, a
    /// corrupt record). Not retryable.
    #[error("{service} returned data that does not match our schema: {detail}")]
    Corrupt {
        /// Service name, for logs.
        service: &'static str,
        /// What did not match.
        detail: String,
    },
    /// A conditional write lost, or a name is taken with different content (DynamoDB
    /// `ConditionalCheckFailedException`, Step Functions `ExecutionAlreadyExists`). Not retryable:
    /// the caller decides what losing means.
    #[error("conflict: {what}")]
    Conflict {
        /// What conflicted.
        what: String,
    },
    /// Any other non-retryable failure (validation errors from the service, misconfiguration).
    #[error("{service} rejected the request")]
    Rejected {
        /// Service name, for logs.
        service: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl PortError {
    /// Whether repeating the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }
}
