//! One execution: its identity, status, result and history, shared between the task that runs
//! it, the API (Describe/Stop/GetExecutionHistory) and callers waiting for the outcome.

use std::sync::{Arc, Mutex, MutexGuard};

use asl::StateMachine;
use chrono::{DateTime, Utc};
use meeting_domain::ExecutionStatusChange;
use meeting_domain::execution_status::ExecutionDataDetails;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::history::{EventType, History, HistoryEvent};
use crate::interpreter::ScopePoint;

/// AWS quota: an execution can be redriven at most 1,000 times.
pub const MAX_REDRIVES: u32 = 1000;
/// AWS: an execution is redrivable while its history has fewer than 24,999 events.
const MAX_REDRIVABLE_EVENTS: usize = 24_999;

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
    /// How many times it was redriven.
    pub redrive_count: u32,
    /// When it was last redriven.
    pub redrive_date: Option<DateTime<Utc>>,
    /// Where the last run stopped, for a redrive.
    resume: Option<Box<ScopePoint>>,
    /// The definition it runs (a redrive runs the same one, even after UpdateStateMachine).
    machine: Option<Arc<StateMachine>>,
    /// Whether the task of its last run is still there (a redrive waits for it to be gone).
    run_alive: bool,
}

impl ExecutionState {
    /// Why RedriveExecution would refuse this execution now (AWS's `redriveStatusReason`), or
    /// `None` when it is REDRIVABLE.
    pub fn not_redrivable(&self) -> Option<&'static str> {
        match self.status {
            ExecutionStatus::Running => Some("Execution is RUNNING and cannot be redriven"),
            ExecutionStatus::Succeeded => Some("Execution is SUCCEEDED and cannot be redriven"),
            _ if self.redrive_count >= MAX_REDRIVES => {
                Some("Execution has been redriven the maximum number of times (1000)")
            }
            _ if self.history.events().len() >= MAX_REDRIVABLE_EVENTS => {
                Some("Execution history event limit exceeded")
            }
            _ => None,
        }
    }
}

/// What a redrive continues from: the definition, where the last run stopped (`None`: from the
/// start) and the redrive's number.
#[derive(Debug)]
pub(crate) struct Redrive {
    pub machine: Arc<StateMachine>,
    pub resume: Option<Box<ScopePoint>>,
    pub count: u32,
    pub date: DateTime<Utc>,
    /// The id of the ExecutionRedriven event.
    pub event_id: u64,
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
    run_gone: Notify,
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
                redrive_count: 0,
                redrive_date: None,
                resume: None,
                machine: None,
                run_alive: false,
            }),
            done,
            run_gone: Notify::new(),
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

    /// Starts a run with `spawn` and remembers its definition. The run cannot close the
    /// execution before it is marked alive: a redrive always waits for it.
    pub(crate) fn started(
        &self,
        machine: Arc<StateMachine>,
        spawn: impl FnOnce() -> JoinHandle<()>,
    ) {
        let mut state = self.lock();
        state.machine = Some(machine);
        state.run_alive = true;
        // Detached: a kept handle would keep the finished task's memory.
        drop(spawn());
    }

    /// Remembers where the run stopped (called by the run's task once the run is gone).
    pub(crate) fn stopped_at(&self, point: Option<Box<ScopePoint>>) {
        let mut state = self.lock();
        state.resume = point;
        state.run_alive = false;
        drop(state);
        // A permit is kept if nobody waits yet: `last_run_gone` cannot miss it.
        self.run_gone.notify_one();
    }

    /// Waits until the task of the last run is gone (a closed run ends at once; a stopped one
    /// is dropped on its next poll), so where it stopped is known.
    pub(crate) async fn last_run_gone(&self) {
        loop {
            if !self.lock().run_alive {
                return;
            }
            self.run_gone.notified().await;
        }
    }

    /// The first half of RedriveExecution: when the execution is redrivable, turns it RUNNING
    /// again (clearing its stop date, output, error and cause), counts the redrive and records
    /// `ExecutionRedriven`. The last run must be gone ([`Self::last_run_gone`]) before the
    /// redrive continues ([`Self::reopen`]).
    pub(crate) fn begin_redrive(&self, now: DateTime<Utc>) -> Result<(), &'static str> {
        let mut state = self.lock();
        if let Some(reason) = state.not_redrivable() {
            return Err(reason);
        }
        state.status = ExecutionStatus::Running;
        state.stop_date = None;
        state.output = None;
        state.error = None;
        state.cause = None;
        state.redrive_count += 1;
        state.redrive_date = Some(now);
        let previous = state.history.last_id();
        let count = state.redrive_count;
        state.history.push(
            now,
            EventType::ExecutionRedriven,
            previous,
            Some(json!({"redriveCount": count})),
        );
        Ok(())
    }

    /// The second half of RedriveExecution, once the last run is gone: reopens the execution
    /// (its `done_receiver` waits again) and hands over what the new run continues from;
    /// `None` when it was closed again in between (stopped).
    pub(crate) fn reopen(&self) -> Option<Redrive> {
        let mut state = self.lock();
        if state.status != ExecutionStatus::Running {
            return None;
        }
        let machine = state.machine.clone()?;
        self.done.send_replace(false);
        Some(Redrive {
            machine,
            resume: state.resume.take(),
            count: state.redrive_count,
            date: state.redrive_date.unwrap_or(self.start_date),
            event_id: state.history.last_id(),
        })
    }

    /// `$$` without State / Map / Task for a redriven run: `RedriveCount` and `RedriveTime`.
    pub(crate) fn redrive_context(&self, count: u32, date: DateTime<Utc>) -> Arc<Value> {
        let mut context = (*self.base_context).clone();
        if let Some(Value::Object(execution)) = context.get_mut("Execution") {
            execution.insert("RedriveCount".into(), json!(count));
            execution.insert(
                "RedriveTime".into(),
                json!(date.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            );
        }
        Arc::new(context)
    }

    /// A receiver that turns `true` when the execution closes (and `false` again when it is
    /// redriven).
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
