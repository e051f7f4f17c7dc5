//! Errors of the AWS adapters, and the one place where SDK errors become [`PortError`]s.
//!
//! Classification looks at what the SDK already parsed: the kind of [`SdkError`] (timeout,
//! dispatch failure, unparseable response, service error), the modeled error code and the HTTP
//! status. Messages are never parsed, and the SDK error is kept whole as the `source` so logs show
//! the request id and the service's own words. Operation-specific outcomes that are not failures
//! (`ConditionalCheckFailedException`, `ExecutionAlreadyExists`, S3 `NotFound`/`NoSuchKey`) are
//! matched on their typed variants by the adapters before falling back to [`from_sdk`].

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use meeting_domain::PortError;

/// Service names used in [`PortError`] variants (for logs and metrics).
pub(crate) mod service {
    /// Amazon S3.
    pub(crate) const S3: &str = "s3";
    /// Amazon DynamoDB.
    pub(crate) const DYNAMODB: &str = "dynamodb";
    /// AWS Step Functions.
    pub(crate) const SFN: &str = "stepfunctions";
    /// Amazon SQS.
    pub(crate) const SQS: &str = "sqs";
}

/// Failures found by the adapters themselves (not reported by a service): stored data that does
/// not match the schema this crate writes, and transfers that ended early.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// A required attribute is absent.
    #[error("attribute `{attribute}` is missing")]
    Missing {
        /// Attribute name.
        attribute: &'static str,
    },
    /// An attribute has another DynamoDB type than the one we write.
    #[error("attribute `{attribute}` is not of type {expected}")]
    WrongType {
        /// Attribute name.
        attribute: &'static str,
        /// The type we write (`S`, `N`, `L`, `M`).
        expected: &'static str,
    },
    /// An attribute has the right type but a value we never write.
    #[error("attribute `{attribute}` has an invalid value: {reason}")]
    Invalid {
        /// Attribute name.
        attribute: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A response field the adapter needs is absent.
    #[error("the response has no `{field}`")]
    MissingResponseField {
        /// Field name.
        field: &'static str,
    },
    /// A download ended before the announced length.
    #[error("the download ended after {received} of {expected} bytes")]
    Truncated {
        /// `Content-Length` of the response.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
}

impl AdapterError {
    /// The port error for data of `service` that breaks our schema (`Truncated` is transient).
    pub(crate) fn into_port(self, service: &'static str) -> PortError {
        match self {
            Self::Truncated { .. } => PortError::Unavailable {
                service,
                source: Box::new(self),
            },
            _ => PortError::Corrupt {
                service,
                detail: self.to_string(),
            },
        }
    }
}

/// Error codes that mean "slow down", across the services used here. The SDK's standard retry
/// strategy already retries these; when they reach us the retry budget is spent.
const THROTTLING_CODES: &[&str] = &[
    // DynamoDB
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    // S3
    "SlowDown",
    "Throttling",
    "RequestThrottled",
    "TooManyRequestsException",
    // Step Functions: too many open executions for the account; retry once some finish.
    "ExecutionLimitExceeded",
    // KMS behind an encrypted state machine.
    "KmsThrottlingException",
];

/// Error codes that mean the caller's identity or policy is wrong.
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "KMSAccessDeniedException",
];

/// Error codes of transient server-side failures that may come with a 4xx status.
const TRANSIENT_CODES: &[&str] = &[
    "InternalServerError",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
];

/// Classifies a failed SDK call of `service` as a [`PortError`], keeping the SDK error as the
/// source. Only call this for errors that are failures: outcomes such as a lost conditional write
/// are matched by the adapter first.
pub(crate) fn from_sdk<E>(service: &'static str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let class = classify(&err);
    let source = Box::new(err);
    match class {
        Class::Throttled => PortError::Throttled { service, source },
        Class::Unavailable => PortError::Unavailable { service, source },
        Class::AccessDenied => PortError::AccessDenied { service, source },
        Class::Rejected => PortError::Rejected { service, source },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Throttled,
    Unavailable,
    AccessDenied,
    Rejected,
}

fn classify<E>(err: &SdkError<E, HttpResponse>) -> Class
where
    E: ProvideErrorMetadata,
{
    match err {
        // Nothing was sent: a bug or a misconfiguration (missing region, credentials provider).
        SdkError::ConstructionFailure(_) => Class::Rejected,
        // The request may or may not have arrived; the operations behind the ports are all
        // idempotent or conditional, so repeating them is safe.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Class::Unavailable
        }
        SdkError::ServiceError(service_err) => {
            let status = service_err.raw().status().as_u16();
            classify_service(service_err.err().code(), status)
        }
        // `SdkError` is non-exhaustive: treat future kinds as transient rather than fatal.
        _ => Class::Unavailable,
    }
}

fn classify_service(code: Option<&str>, status: u16) -> Class {
    if let Some(code) = code {
        if THROTTLING_CODES.contains(&code) {
            return Class::Throttled;
        }
        if ACCESS_DENIED_CODES.contains(&code) {
            return Class::AccessDenied;
        }
        if TRANSIENT_CODES.contains(&code) {
            return Class::Unavailable;
        }
    }
    match status {
        429 => Class::Throttled,
        // HEAD responses (S3 HeadObject) carry no body, hence no code: the status is all we have.
        401 | 403 => Class::AccessDenied,
        500..=599 => Class::Unavailable,
        _ => Class::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_win_over_the_status() {
        assert_eq!(
            classify_service(Some("ProvisionedThroughputExceededException"), 400),
            Class::Throttled
        );
        assert_eq!(classify_service(Some("SlowDown"), 503), Class::Throttled);
    }

    #[test]
    fn a_bodyless_403_is_access_denied_and_a_bodyless_500_is_unavailable() {
        assert_eq!(classify_service(None, 403), Class::AccessDenied);
        assert_eq!(classify_service(None, 500), Class::Unavailable);
        assert_eq!(classify_service(None, 429), Class::Throttled);
    }

    #[test]
    fn validation_errors_are_rejected() {
        assert_eq!(
            classify_service(Some("ValidationException"), 400),
            Class::Rejected
        );
    }
}
