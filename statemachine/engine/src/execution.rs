//! One execution: its identity, status, result and history, shared between the task that runs
//! it, the API (Describe/Stop/GetExecutionHistory) and callers waiting for the outcome.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use meeting_domain::ExecutionStatusChange;
use meeting_domain::execution_status::ExecutionDataDetails;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::history::{EventType, History, HistoryEvent};

/// Execution status, as the API spells it: the domain's type, shared with the status-change
/// events and DescribeExecution.
pub use meeting_domain::ExecutionStatus;

/// How an execution ended: what the CLI prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutionOutcome {
    /// Final status.
    pub status: ExecutionStatus,
    /// Output JSON (succeeded only).
    pub output: Option<Value>,
    /// Error name (failed, timed out, aborted).
    pub error: Option<String>,
    /// Cause.
    pub cause: Option<String>,
}

/// Mutable part of an execution.
#[derive(Debug)]
pub struct ExecutionState {
    /// Current status.
    pub status: ExecutionStatus,
    /// When it stopped.
    pub stop_date: Option<DateTime<Utc>>,
    /// Output text (succeeded).
    pub output: Option<String>,
    /// Error name.
    pub error: Option<String>,
    /// Cause.
    pub cause: Option<String>,
    /// History.
    pub history: History,
}

/// An execution.
#[derive(Debug)]
pub struct Execution {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The state machine's ARN.
    pub machine_arn: String,
    /// The state machine's name.
    pub machine_name: String,
    /// Input text.
    pub input: String,
    /// Role ARN of the state machine.
    pub role_arn: String,
    /// Start time.
    pub start_date: DateTime<Utc>,
    state: Mutex<ExecutionState>,
    done: watch::Sender<bool>,
    base_context: Arc<Value>,
}

impl Execution {
    /// A new running execution.
    pub fn new(
        arn: String,
        name: String,
        machine_arn: String,
        machine_name: String,
        input: String,
        role_arn: String,
        start_date: DateTime<Utc>,
    ) -> Arc<Self> {
        let input_value: Value = serde_json::from_str(&input).unwrap_or(Value::Null);
        let base_context = json!({
            "Execution": {
                "Id": arn,
                "Input": input_value,
                "Name": name,
                "RoleArn": role_arn,
                "StartTime": start_date.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": machine_arn, "Name": machine_name},
        });
        let (done, _) = watch::channel(false);
        Arc::new(Self {
            arn,
            name,
            machine_arn,
            machine_name,
            input,
            role_arn,
            start_date,
            state: Mutex::new(ExecutionState {
                status: ExecutionStatus::Running,
                stop_date: None,
                output: None,
                error: None,
                cause: None,
                history: History::default(),
            }),
            done,
            base_context: Arc::new(base_context),
        })
    }

    /// Locks the mutable part.
    pub fn lock(&self) -> MutexGuard<'_, ExecutionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `$$` without State / Map / Task.
    pub fn base_context(&self) -> Arc<Value> {
        Arc::clone(&self.base_context)
    }

    /// Appends a history event and returns its id.
    pub fn record(
        &self,
        now: DateTime<Utc>,
        event_type: EventType,
        previous: u64,
        details: Option<Value>,
    ) -> u64 {
        self.lock().history.push(now, event_type, previous, details)
    }

    /// A copy of the history.
    pub fn history(&self) -> Vec<HistoryEvent> {
        self.lock().history.events().to_vec()
    }

    /// Closes the execution if it is still running; returns whether this call closed it.
    pub fn finish(
        &self,
        now: DateTime<Utc>,
        status: ExecutionStatus,
        output: Option<String>,
        error: Option<String>,
        cause: Option<String>,
    ) -> bool {
        // AWS omits an empty error or cause (a Fail state without Cause, a bare SendTaskFailure).
        let error = error.filter(|e| !e.is_empty());
        let cause = cause.filter(|c| !c.is_empty());
        let mut state = self.lock();
        if state.status != ExecutionStatus::Running {
            return false;
        }
        let previous = state.history.last_id();
        let (event_type, details) = match status {
            ExecutionStatus::Succeeded => (
                EventType::ExecutionSucceeded,
                json!({"output": output.clone().unwrap_or_default(), "outputDetails": {"truncated": false}}),
            ),
            ExecutionStatus::Failed => (EventType::ExecutionFailed, error_details(&error, &cause)),
            ExecutionStatus::TimedOut => {
                (EventType::ExecutionTimedOut, error_details(&error, &cause))
            }
            ExecutionStatus::Aborted => {
                (EventType::ExecutionAborted, error_details(&error, &cause))
            }
            ExecutionStatus::Running => return false,
        };
        state.history.push(now, event_type, previous, Some(details));
        state.status = status;
        state.stop_date = Some(now);
        state.output = output;
        state.error = error;
        state.cause = cause;
        drop(state);
        self.done.send_replace(true);
        true
    }

    /// A receiver that turns `true` when the execution closes.
    pub fn done_receiver(&self) -> watch::Receiver<bool> {
        self.done.subscribe()
    }

    /// Waits until the execution is closed and returns its outcome.
    pub async fn wait(&self) -> ExecutionOutcome {
        let mut rx = self.done.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|done| *done).await;
        self.outcome()
    }

    /// The execution as an EventBridge "Step Functions Execution Status Change" `detail`: dates
    /// in epoch milliseconds, input and output as JSON text.
    pub fn status_change(&self) -> ExecutionStatusChange {
        let state = self.lock();
        let included = Some(ExecutionDataDetails { included: true });
        ExecutionStatusChange {
            execution_arn: self.arn.clone(),
            state_machine_arn: self.machine_arn.clone(),
            name: self.name.clone(),
            status: state.status,
            start_date: self.start_date.timestamp_millis(),
            stop_date: state.stop_date.map(|d| d.timestamp_millis()),
            input: Some(self.input.clone()),
            input_details: included,
            output: state.output.clone(),
            output_details: state.output.as_ref().and(included),
            error: state.error.clone(),
            cause: state.cause.clone(),
        }
    }

    /// The current outcome (status RUNNING while running).
    pub fn outcome(&self) -> ExecutionOutcome {
        let state = self.lock();
        ExecutionOutcome {
            status: state.status,
            output: state
                .output
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok()),
            error: state.error.clone(),
            cause: state.cause.clone(),
        }
    }
}

fn error_details(error: &Option<String>, cause: &Option<String>) -> Value {
    let mut details = serde_json::Map::new();
    if let Some(e) = error {
        details.insert("error".into(), json!(e));
    }
    if let Some(c) = cause {
        details.insert("cause".into(), json!(c));
    }
    Value::Object(details)
}
