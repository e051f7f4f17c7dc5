//! The Step Functions adapter of [`ActivityTaskSource`]: GetActivityTask, SendTaskHeartbeat,
//! SendTaskSuccess and SendTaskFailure with aws-sdk-sfn.
//!
//! GetActivityTask is a long poll: the service holds the request for up to 60 s before it answers
//! with an empty task. The Rust SDK sets no read timeout by default, so a silently dropped
//! connection would hang a poller forever; this adapter sets a read and attempt timeout above 65 s
//! on every poll (long enough never to cut a healthy poll) and short timeouts on the report calls.
//! Service errors are matched by type or error code, never by message. What each error of
//! SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat becomes (Step Functions API Reference,
//! "Errors" of each action and "Common Errors"):
//!
//! | service error | port error | the worker then |
//! |---|---|---|
//! | `TaskTimedOut`, `InvalidToken`, `TaskDoesNotExist` | the token is gone | stops: nothing can be reported |
//! | `InvalidOutput` (SendTaskSuccess), `ValidationException` (SendTaskSuccess) | [`TaskTokenError::InvalidOutput`] | fails the task as `Worker.InvalidOutput` |
//! | `ThrottlingException`, `KmsThrottlingException`, HTTP 429, 5xx, timeouts, dropped connections | retryable [`PortError`] | retries with backoff, heartbeating |
//! | `AccessDeniedException`, `KmsAccessDeniedException`, credential errors | [`PortError::AccessDenied`] | keeps the result spooled; never fails the work |
//! | `KmsInvalidStateException`, anything else | [`PortError::Rejected`] | keeps the result spooled; never fails the work |
//!
//! A `ValidationException` on SendTaskSuccess can only be about the output: the request has two
//! members, and the other one, the token, is the one GetActivityTask handed out.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::get_activity_task::GetActivityTaskError;
use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureError;
use aws_sdk_sfn::operation::send_task_heartbeat::SendTaskHeartbeatError;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
use aws_smithy_types::timeout::TimeoutConfig;
use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTask, ActivityTaskSource, TaskTokenError};

use crate::limits::truncate_chars;

/// Service name in errors and logs.
const SERVICE: &str = "Step Functions";

/// GetActivityTask "holds on to the request" for up to 60 s; a read timeout of 70 s (the notes ask
/// for ≥ 65 s) never cuts a healthy long poll but ends a dead connection.
pub const POLL_READ_TIMEOUT: Duration = Duration::from_secs(70);

/// Bound on one GetActivityTask attempt, above the read timeout so that the read timeout fires
/// first on a stalled connection.
pub const POLL_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(75);

/// Bound on one SendTask* attempt: these calls answer in milliseconds; a stalled one is retried
/// rather than blocking the heartbeat loop.
pub const REPORT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound on one SendTask* call with the SDK's own retries.
pub const REPORT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The common error code of a request member that breaks its constraints (for SendTaskSuccess:
/// an output above "Maximum length of 262144").
const VALIDATION_EXCEPTION: &str = "ValidationException";

/// GetActivityTask `workerName`: "Length Constraints: Minimum length of 1. Maximum length of 80."
pub const MAX_WORKER_NAME_CHARS: usize = 80;

/// An [`ActivityTaskSource`] backed by AWS Step Functions (or anything speaking its API, such as
/// the local engine through `AWS_ENDPOINT_URL`).
#[derive(Clone, Debug)]
pub struct SfnTaskSource {
    client: Client,
}

impl SfnTaskSource {
    /// Wraps a client built once per process.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The timeouts applied to every GetActivityTask call.
    pub fn poll_timeouts() -> TimeoutConfig {
        TimeoutConfig::builder()
            .read_timeout(POLL_READ_TIMEOUT)
            .operation_attempt_timeout(POLL_ATTEMPT_TIMEOUT)
            .build()
    }

    /// The timeouts applied to every SendTaskHeartbeat / SendTaskSuccess / SendTaskFailure call.
    pub fn report_timeouts() -> TimeoutConfig {
        TimeoutConfig::builder()
            .operation_attempt_timeout(REPORT_ATTEMPT_TIMEOUT)
            .operation_timeout(REPORT_OPERATION_TIMEOUT)
            .build()
    }

    fn report_override() -> aws_sdk_sfn::config::Builder {
        aws_sdk_sfn::config::Builder::default().timeout_config(Self::report_timeouts())
    }
}

#[async_trait]
impl ActivityTaskSource for SfnTaskSource {
    async fn poll(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, PortError> {
        let output = self
            .client
            .get_activity_task()
            .activity_arn(activity_arn)
            .worker_name(truncate_chars(worker_name, MAX_WORKER_NAME_CHARS))
            .customize()
            .config_override(
                aws_sdk_sfn::config::Builder::default()
                    .timeout_config(Self::poll_timeouts())
                    // One attempt per poll: the worker backs off and polls again itself, and an
                    // SDK retry would open a new poll after shutdown has stopped polling.
                    .retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| poll_error(activity_arn, e))?;
        match output.task_token() {
            Some(token) if !token.is_empty() => Ok(Some(ActivityTask {
                token: token.to_owned(),
                // Step Functions always sends the input; should it not, `null` fails the task
                // visibly as `Worker.InvalidInput` instead of dropping it.
                input: output.input().unwrap_or("null").to_owned(),
            })),
            _ => Ok(None),
        }
    }

    async fn heartbeat(&self, token: &str) -> Result<(), TaskTokenError> {
        self.client
            .send_task_heartbeat()
            .task_token(token)
            .customize()
            .config_override(Self::report_override())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(SendTaskHeartbeatError::TaskTimedOut(_)) => TaskTokenError::TimedOut,
                Some(SendTaskHeartbeatError::InvalidToken(_)) => TaskTokenError::InvalidToken,
                Some(SendTaskHeartbeatError::TaskDoesNotExist(_)) => {
                    TaskTokenError::TaskDoesNotExist
                }
                _ => TaskTokenError::Port(port_error(e)),
            })
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<(), TaskTokenError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output)
            .customize()
            .config_override(Self::report_override())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(SendTaskSuccessError::TaskTimedOut(_)) => TaskTokenError::TimedOut,
                Some(SendTaskSuccessError::InvalidToken(_)) => TaskTokenError::InvalidToken,
                Some(SendTaskSuccessError::TaskDoesNotExist(_)) => TaskTokenError::TaskDoesNotExist,
                Some(SendTaskSuccessError::InvalidOutput(_)) => TaskTokenError::InvalidOutput {
                    source: Box::new(e),
                },
                _ if e.code() == Some(VALIDATION_EXCEPTION) => TaskTokenError::InvalidOutput {
                    source: Box::new(e),
                },
                Some(SendTaskSuccessError::KmsThrottlingException(_)) => {
                    TaskTokenError::Port(kms_error(KmsError::Throttling, e))
                }
                Some(SendTaskSuccessError::KmsAccessDeniedException(_)) => {
                    TaskTokenError::Port(kms_error(KmsError::AccessDenied, e))
                }
                Some(SendTaskSuccessError::KmsInvalidStateException(_)) => {
                    TaskTokenError::Port(kms_error(KmsError::InvalidState, e))
                }
                _ => TaskTokenError::Port(port_error(e)),
            })
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskTokenError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .customize()
            .config_override(Self::report_override())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(SendTaskFailureError::TaskTimedOut(_)) => TaskTokenError::TimedOut,
                Some(SendTaskFailureError::InvalidToken(_)) => TaskTokenError::InvalidToken,
                Some(SendTaskFailureError::TaskDoesNotExist(_)) => TaskTokenError::TaskDoesNotExist,
                Some(SendTaskFailureError::KmsThrottlingException(_)) => {
                    TaskTokenError::Port(kms_error(KmsError::Throttling, e))
                }
                Some(SendTaskFailureError::KmsAccessDeniedException(_)) => {
                    TaskTokenError::Port(kms_error(KmsError::AccessDenied, e))
                }
                Some(SendTaskFailureError::KmsInvalidStateException(_)) => {
                    TaskTokenError::Port(kms_error(KmsError::InvalidState, e))
                }
                _ => TaskTokenError::Port(port_error(e)),
            })
    }
}

/// GetActivityTask errors: a missing activity is `NotFound`; too many open polls is throttling.
fn poll_error<R>(activity_arn: &str, e: SdkError<GetActivityTaskError, R>) -> PortError
where
    R: std::fmt::Debug + Send + Sync + 'static,
    SdkError<GetActivityTaskError, R>: HttpStatus,
{
    match e.as_service_error() {
        Some(GetActivityTaskError::ActivityDoesNotExist(_)) => PortError::NotFound {
            what: format!("activity {activity_arn}"),
        },
        Some(GetActivityTaskError::ActivityWorkerLimitExceeded(_)) => PortError::Throttled {
            service: SERVICE,
            source: Box::new(e),
        },
        _ => port_error(e),
    }
}

/// The KMS errors of SendTaskSuccess / SendTaskFailure (executions encrypted with a customer
/// managed key): Step Functions calls KMS on the worker's behalf.
enum KmsError {
    /// `KmsThrottlingException`: KMS throttled; retry with backoff.
    Throttling,
    /// `KmsAccessDeniedException`: the key policy or the caller lacks permissions.
    AccessDenied,
    /// `KmsInvalidStateException`: the key is disabled or pending deletion.
    InvalidState,
}

fn kms_error(kind: KmsError, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    let source = Box::new(e);
    match kind {
        KmsError::Throttling => PortError::Throttled {
            service: SERVICE,
            source,
        },
        KmsError::AccessDenied => PortError::AccessDenied {
            service: SERVICE,
            source,
        },
        KmsError::InvalidState => PortError::Rejected {
            service: SERVICE,
            source,
        },
    }
}

/// The HTTP status of a raw response, when there was one.
trait HttpStatus {
    fn http_status(&self) -> Option<u16>;
}

impl<E> HttpStatus for SdkError<E, aws_sdk_sfn::config::http::HttpResponse> {
    fn http_status(&self) -> Option<u16> {
        self.raw_response().map(|r| r.status().as_u16())
    }
}

/// Classifies any other SDK error by its kind, error code and HTTP status.
fn port_error<E, R>(e: SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
    SdkError<E, R>: HttpStatus,
{
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return PortError::Unavailable {
                service: SERVICE,
                source: Box::new(e),
            };
        }
        SdkError::ConstructionFailure(_) => {
            return PortError::Rejected {
                service: SERVICE,
                source: Box::new(e),
            };
        }
        _ => {}
    }
    let code = e.code().unwrap_or_default().to_owned();
    let status = e.http_status().unwrap_or_default();
    match code.as_str() {
        "ThrottlingException" | "KmsThrottlingException" | "TooManyRequestsException" => {
            PortError::Throttled {
                service: SERVICE,
                source: Box::new(e),
            }
        }
        "AccessDeniedException"
        | "KmsAccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException" => PortError::AccessDenied {
            service: SERVICE,
            source: Box::new(e),
        },
        "ServiceUnavailable" | "InternalFailure" | "InternalServerError" => {
            PortError::Unavailable {
                service: SERVICE,
                source: Box::new(e),
            }
        }
        _ if status == 429 => PortError::Throttled {
            service: SERVICE,
            source: Box::new(e),
        },
        _ if status >= 500 => PortError::Unavailable {
            service: SERVICE,
            source: Box::new(e),
        },
        _ => PortError::Rejected {
            service: SERVICE,
            source: Box::new(e),
        },
    }
}
