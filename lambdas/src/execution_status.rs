//! The execution status handler: Step Functions "Execution Status Change" events (EventBridge,
//! source `aws.states`) for runs that ended FAILED, TIMED_OUT or ABORTED.
//!
//! A top-level `TimeoutSeconds` and `StopExecution` end an execution without running any Catch,
//! and a failure outside the states' Catch (e.g. in RecordFailure itself) ends it without a
//! catalog write: only an outside observer can tell the user. This handler is that observer; the
//! sweeper's reconciler (DescribeExecution) is its safety net for events that are late or lost.
//! Only the recording's current run is recorded: a stale run never overwrites a newer one.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use meeting_domain::contracts::ProcessingInput;
use meeting_domain::ports::{ExecutionState, ExecutionStatus};
use meeting_domain::{RecordingId, RecordingRef, UserId};
use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, warn};

use crate::Ports;
use crate::completion::{self, ExecutionSettled};
use crate::error::LambdaError;

/// The event source of Step Functions.
pub const SOURCE: &str = "aws.states";

/// The detail type of execution status changes.
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// The fields of the event's `detail` this handler reads (AWS documents more).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChangeDetail {
    /// The execution's name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, ….
    pub status: String,
    /// The execution input, as a JSON string.
    #[serde(default)]
    pub input: Option<String>,
    /// Error name, when it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Cause, when it failed.
    #[serde(default)]
    pub cause: Option<String>,
}

/// What handling one status change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusOutcome {
    /// Not an execution status change, or a status that settles nothing (RUNNING, SUCCEEDED).
    Ignored,
    /// The input does not name a recording (not one of our executions): logged, acknowledged.
    Unattributable {
        /// Why.
        reason: String,
    },
    /// The recording's catalog was settled (or found settled).
    Settled(ExecutionSettled),
}

/// Handles one EventBridge event.
pub async fn handle_event(
    ports: &Ports,
    event: EventBridgeEvent<Value>,
) -> Result<StatusOutcome, LambdaError> {
    if event.source != SOURCE || event.detail_type != DETAIL_TYPE {
        debug!(source = ?event.source, detail_type = %event.detail_type, "not an execution status change; ignoring");
        return Ok(StatusOutcome::Ignored);
    }
    let detail: StatusChangeDetail =
        serde_json::from_value(event.detail).map_err(|e| LambdaError::InvalidEvent {
            kind: "execution status change",
            detail: e.to_string(),
        })?;
    handle_detail(ports, &detail).await
}

/// Handles the detail of one status change.
pub async fn handle_detail(
    ports: &Ports,
    detail: &StatusChangeDetail,
) -> Result<StatusOutcome, LambdaError> {
    let Some(
        status @ (ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted),
    ) = ExecutionStatus::parse(&detail.status)
    else {
        return Ok(StatusOutcome::Ignored);
    };
    let recording = match recording_of(detail) {
        Ok(recording) => recording,
        Err(reason) => {
            warn!(event = "execution_unattributable", execution_name = %detail.name, %reason, "status change of an execution that names no recording; acknowledged");
            return Ok(StatusOutcome::Unattributable { reason });
        }
    };
    let state = ExecutionState {
        status,
        error: detail.error.clone(),
        cause: detail.cause.clone(),
    };
    let settled = completion::record_execution_end(ports, &recording, &detail.name, &state).await?;
    Ok(StatusOutcome::Settled(settled))
}

/// The recording an execution works on, from its input (`userId`, `recordingId`).
fn recording_of(detail: &StatusChangeDetail) -> Result<RecordingRef, String> {
    let input = detail
        .input
        .as_deref()
        .ok_or_else(|| "the event carries no execution input".to_owned())?;
    if let Ok(full) = serde_json::from_str::<ProcessingInput>(input) {
        return Ok(RecordingRef::new(full.user_id, full.recording_id));
    }
    // An input from an older or newer workflow version: the two ids are enough.
    let value: Value =
        serde_json::from_str(input).map_err(|e| format!("the input is not JSON: {e}"))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the input has no string {name}"))
    };
    let user = UserId::new(field("userId")?).map_err(|e| e.to_string())?;
    let id = RecordingId::new(field("recordingId")?).map_err(|e| e.to_string())?;
    Ok(RecordingRef::new(user, id))
}
