//! The status change of a Step Functions execution, as AWS publishes it to EventBridge (source
//! `aws.states`, detail-type `Step Functions Execution Status Change`) and as the local engine
//! reports it ([`ExecutionStatusChange`] is the event's `detail`).
//!
//! Someone outside the workflow must record an execution that ends without running its own
//! Catch: a top-level `TimeoutSeconds` (TIMED_OUT) or a `StopExecution` (ABORTED) ends it with no
//! state of ours running. The status-change handler reads these events, on AWS from EventBridge
//! and locally from the engine, and writes the failure into the catalog for the current run.
//!
//! Field names and types follow the AWS event: dates are epoch **milliseconds** (numbers),
//! `input` and `output` are JSON **text**, and absent values are `null`. EventBridge drops the
//! input or output above its 256 KB event limit and says so in `inputDetails` / `outputDetails`.
//! Fields AWS may add later are ignored.

use serde::{Deserialize, Serialize};

/// `source` of the EventBridge events.
pub const EVENT_SOURCE: &str = "aws.states";

/// `detail-type` of the EventBridge events.
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// The status of an execution, spelled as the API and the events spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Started and not yet closed.
    Running,
    /// Reached a Succeed state (or the end).
    Succeeded,
    /// Reached a Fail state, or an error nobody caught.
    Failed,
    /// The state machine's `TimeoutSeconds` passed: no Catch ran.
    TimedOut,
    /// `StopExecution`: no Catch ran.
    Aborted,
}

impl ExecutionStatus {
    /// `"RUNNING"`, `"SUCCEEDED"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
        }
    }

    /// Parses a Step Functions status name (`PENDING_REDRIVE`, a failed run waiting for an
    /// operator's redrive, counts as failed).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "RUNNING" => Self::Running,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" | "PENDING_REDRIVE" => Self::Failed,
            "TIMED_OUT" => Self::TimedOut,
            "ABORTED" => Self::Aborted,
            _ => return None,
        })
    }

    /// Whether the execution is closed.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Running)
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether EventBridge included the input or output (`false` when it was dropped for size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionDataDetails {
    /// `true` when the data is in the event.
    pub included: bool,
}

/// The `detail` of a "Step Functions Execution Status Change" event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    /// ARN of the execution.
    pub execution_arn: String,
    /// ARN of its state machine.
    pub state_machine_arn: String,
    /// The execution's name (ours encode the recording and the run).
    pub name: String,
    /// The new status.
    pub status: ExecutionStatus,
    /// When the execution started, epoch milliseconds.
    pub start_date: i64,
    /// When it closed, epoch milliseconds; `null` while running.
    #[serde(default)]
    pub stop_date: Option<i64>,
    /// The execution input as JSON text; `null` when EventBridge dropped it.
    #[serde(default)]
    pub input: Option<String>,
    /// Whether the input is included.
    #[serde(default)]
    pub input_details: Option<ExecutionDataDetails>,
    /// The output as JSON text (succeeded executions only).
    #[serde(default)]
    pub output: Option<String>,
    /// Whether the output is included.
    #[serde(default)]
    pub output_details: Option<ExecutionDataDetails>,
    /// The error name of a failed execution (often `null` for TIMED_OUT and ABORTED).
    #[serde(default)]
    pub error: Option<String>,
    /// The cause of a failed execution.
    #[serde(default)]
    pub cause: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_running_event_has_no_stop_date_and_is_not_terminal() {
        let detail = json!({
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
            "name": "e",
            "status": "RUNNING",
            "startDate": 1_551_225_271_984_i64,
            "stopDate": null,
            "input": "{}",
            "output": null
        });
        let change: ExecutionStatusChange = serde_json::from_value(detail).unwrap();
        assert_eq!(change.status, ExecutionStatus::Running);
        assert!(!change.status.is_terminal());
        assert_eq!(change.stop_date, None);
        assert_eq!(change.error, None);
    }

    #[test]
    fn every_status_is_spelled_as_aws_spells_it() {
        for status in [
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                Value::String(status.as_str().to_owned())
            );
        }
    }
}
