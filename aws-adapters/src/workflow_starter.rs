//! [`WorkflowStarter`] on AWS Step Functions (`StartExecution`).
//!
//! The execution name is the idempotency key and the input is the canonical JSON of
//! [`ProcessingInput`] (serde field order, no timestamps), so a retried start sends byte-identical
//! input. Step Functions then answers:
//! - same name and input while the execution is open → success with the existing ARN;
//! - other input, or a closed execution of that name → `ExecutionAlreadyExists` → `Conflict`.
//!
//! Telling a fresh start from an idempotent replay: both are HTTP 200 with an ARN and the
//! execution's `startDate`. A replay's `startDate` is the original start, so it lies before this
//! call was sent; a new execution starts after it. The adapter reads the clock just before
//! sending and reports `AlreadyRunning` when `startDate` is older than that by more than a
//! tolerance covering clock skew between this host and the service (default 1 s; NTP-synced
//! hosts are far closer). A replay within the tolerance of the original start is reported as
//! `Started`; callers treat both outcomes as success, so the distinction only feeds logs and
//! metrics.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use chrono::{DateTime, TimeDelta, Utc};
use meeting_domain::PortError;
use meeting_domain::contracts::ProcessingInput;
use meeting_domain::ports::{
    Clock, ExecutionState, ExecutionStatus, StartOutcome, SystemClock, WorkflowStarter,
};

use crate::error::{AdapterError, from_sdk, service};

/// Default clock-skew tolerance between this host and Step Functions.
const DEFAULT_SKEW_TOLERANCE: Duration = Duration::from_secs(1);

/// The canonical execution input: the JSON of `input` with fields in declaration order and
/// absent options omitted. Equal inputs give equal bytes.
pub fn canonical_input(input: &ProcessingInput) -> Result<String, PortError> {
    serde_json::to_string(input).map_err(|err| PortError::Rejected {
        service: service::SFN,
        source: Box::new(err),
    })
}

/// Starts executions of one state machine.
#[derive(Clone)]
pub struct SfnWorkflowStarter {
    client: Client,
    state_machine_arn: String,
    clock: Arc<dyn Clock>,
    skew_tolerance: Duration,
}

impl fmt::Debug for SfnWorkflowStarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SfnWorkflowStarter")
            .field("state_machine_arn", &self.state_machine_arn)
            .field("skew_tolerance", &self.skew_tolerance)
            .finish_non_exhaustive()
    }
}

impl SfnWorkflowStarter {
    /// Starts executions of `state_machine_arn`.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
            clock: Arc::new(SystemClock),
            skew_tolerance: DEFAULT_SKEW_TOLERANCE,
        }
    }

    /// Uses `clock` to time the start (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How much older than the send time a `startDate` must be to count as a replay.
    #[must_use]
    pub fn with_skew_tolerance(mut self, tolerance: Duration) -> Self {
        self.skew_tolerance = tolerance;
        self
    }
}

fn to_chrono(date: &aws_smithy_types::DateTime) -> Result<DateTime<Utc>, PortError> {
    DateTime::from_timestamp(date.secs(), date.subsec_nanos()).ok_or_else(|| {
        AdapterError::MissingResponseField { field: "startDate" }.into_port(service::SFN)
    })
}

/// How a start tells a fresh execution from an idempotent replay (see the module docs).
#[derive(Clone)]
pub(crate) struct SkewCheck {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tolerance: Duration,
}

impl Default for SkewCheck {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            tolerance: DEFAULT_SKEW_TOLERANCE,
        }
    }
}

/// `StartExecution` of `name` with the canonical JSON `body` (and the caller's X-Ray
/// `trace_header`, which is not part of the input), shared by [`SfnWorkflowStarter`] and
/// [`crate::executions::SfnExecutions`].
pub(crate) async fn start_body(
    client: &Client,
    state_machine_arn: &str,
    name: &str,
    body: String,
    trace_header: Option<&str>,
    skew: SkewCheck,
) -> Result<StartOutcome, PortError> {
    let sent_at = skew.clock.now();
    let result = client
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(body)
        .set_trace_header(trace_header.map(str::to_owned))
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(err) => {
            return match err.as_service_error() {
                Some(StartExecutionError::ExecutionAlreadyExists(_)) => Err(PortError::Conflict {
                    what: format!("execution {name} already exists with other input or has closed"),
                }),
                _ => Err(from_sdk(service::SFN, err)),
            };
        }
    };
    let execution_arn = output.execution_arn().to_owned();
    let started = to_chrono(output.start_date())?;
    let tolerance = TimeDelta::from_std(skew.tolerance).unwrap_or(TimeDelta::MAX);
    if started < sent_at - tolerance {
        tracing::info!(execution = name, %execution_arn, "execution was already running");
        Ok(StartOutcome::AlreadyRunning { execution_arn })
    } else {
        tracing::info!(execution = name, %execution_arn, "execution started");
        Ok(StartOutcome::Started { execution_arn })
    }
}

#[async_trait]
impl WorkflowStarter for SfnWorkflowStarter {
    async fn describe(&self, name: &str) -> Result<Option<ExecutionState>, PortError> {
        let executions =
            crate::executions::SfnExecutions::new(self.client.clone(), &self.state_machine_arn);
        let Some(info) = executions.describe(name).await? else {
            return Ok(None);
        };
        let status = ExecutionStatus::parse(&info.status).ok_or_else(|| PortError::Corrupt {
            service: service::SFN,
            detail: format!("execution {name} has unknown status {:?}", info.status),
        })?;
        Ok(Some(ExecutionState {
            status,
            error: info.error,
            cause: info.cause,
        }))
    }

    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, PortError> {
        self.start_traced(name, input, None).await
    }

    async fn start_traced(
        &self,
        name: &str,
        input: &ProcessingInput,
        trace_header: Option<&str>,
    ) -> Result<StartOutcome, PortError> {
        let body = canonical_input(input)?;
        let skew = SkewCheck {
            clock: Arc::clone(&self.clock),
            tolerance: self.skew_tolerance,
        };
        start_body(
            &self.client,
            &self.state_machine_arn,
            name,
            body,
            trace_header,
            skew,
        )
        .await
    }
}
