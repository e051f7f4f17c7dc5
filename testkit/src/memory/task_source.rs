//! An in-memory [`ActivityTaskSource`]: per-activity task queues, long polls that wait on tokio
//! time (so a paused clock drives them), heartbeat and task timeouts measured on tokio time, the
//! Step Functions API limits on reports, and recorded outcomes, heartbeats and polls for tests.
//!
//! Semantics follow Step Functions: a poll takes the oldest queued task of its activity or waits
//! up to the poll wait (60 s by default) and returns nothing; a heartbeat resets only the heartbeat
//! clock, the task timeout is a hard cap; a call on a closed (completed or timed-out) task is
//! `TaskTimedOut`, on a stopped execution's task `TaskDoesNotExist`, on an unknown token
//! `InvalidToken`; an output that is not JSON or above 256 KiB is `InvalidOutput`. Transient
//! failures can be injected per operation.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTask, ActivityTaskSource, TaskTokenError};
use tokio::sync::Notify;
use tokio::time::Instant;

/// GetActivityTask holds a poll open for up to 60 s before answering with no task.
pub const DEFAULT_POLL_WAIT: Duration = Duration::from_secs(60);

/// `SendTaskFailure.error` maximum length (Step Functions API Reference).
pub const MAX_ERROR_CHARS: usize = 256;
/// `SendTaskFailure.cause` maximum length (Step Functions API Reference).
pub const MAX_CAUSE_CHARS: usize = 32_768;
/// `SendTaskSuccess.output` maximum length: 256 KiB (Step Functions quotas).
pub const MAX_OUTPUT_BYTES: usize = 262_144;

/// Time limits of one task, as the task state's `HeartbeatSeconds` / `TimeoutSeconds`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskLimits {
    /// Longest silence between heartbeats (counted from the start, then from each heartbeat).
    pub heartbeat: Option<Duration>,
    /// Hard cap on the task from the moment a worker took it.
    pub timeout: Option<Duration>,
}

/// Where a task stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting in its activity's queue.
    Queued,
    /// Handed to a worker.
    Running,
    /// Completed with SendTaskSuccess.
    Succeeded {
        /// The output JSON as sent.
        output: String,
    },
    /// Completed with SendTaskFailure.
    Failed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// The heartbeat or task timeout passed.
    TimedOut,
    /// The execution was stopped.
    Stopped,
}

impl TaskStatus {
    /// Whether the task is closed (no call on its token can succeed any more).
    pub fn is_closed(&self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// One task and what happened to it.
#[derive(Clone, Debug)]
struct TaskState {
    input: String,
    limits: TaskLimits,
    status: TaskStatus,
    started: Option<Instant>,
    last_heartbeat: Option<Instant>,
    heartbeats: Vec<Instant>,
    worker_name: Option<String>,
}

impl TaskState {
    /// Applies the timeouts that passed by `now`.
    fn refresh(&mut self, now: Instant) {
        if self.status != TaskStatus::Running {
            return;
        }
        let Some(started) = self.started else {
            return;
        };
        let since_beat = now - self.last_heartbeat.unwrap_or(started);
        let heartbeat_missed = self
            .limits
            .heartbeat
            .is_some_and(|limit| since_beat > limit);
        let over_time = self
            .limits
            .timeout
            .is_some_and(|limit| now - started > limit);
        if heartbeat_missed || over_time {
            self.status = TaskStatus::TimedOut;
        }
    }
}

/// Which operation an injected failure applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// GetActivityTask.
    Poll,
    /// SendTaskHeartbeat.
    Heartbeat,
    /// SendTaskSuccess and SendTaskFailure.
    Report,
}

#[derive(Debug, Default)]
struct State {
    queues: HashMap<String, VecDeque<String>>,
    tasks: HashMap<String, TaskState>,
    order: Vec<String>,
    next_token: u64,
    open_polls: usize,
    max_open_polls: usize,
    polls_started: usize,
    injected: HashMap<Operation, usize>,
}

/// The in-memory task source. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct MemoryTaskSource {
    state: Arc<Mutex<State>>,
    enqueued: Arc<Notify>,
    poll_wait: Duration,
}

impl Default for MemoryTaskSource {
    fn default() -> Self {
        Self::new()
    }
}

/// Decrements the open poll count however the poll ends (returned or dropped).
struct OpenPoll<'a>(&'a MemoryTaskSource);

impl Drop for OpenPoll<'_> {
    fn drop(&mut self) {
        self.0.lock().open_polls -= 1;
    }
}

impl MemoryTaskSource {
    /// A source whose empty polls wait [`DEFAULT_POLL_WAIT`], like Step Functions.
    pub fn new() -> Self {
        Self::with_poll_wait(DEFAULT_POLL_WAIT)
    }

    /// A source whose empty polls wait `poll_wait`.
    pub fn with_poll_wait(poll_wait: Duration) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            enqueued: Arc::new(Notify::new()),
            poll_wait,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a failing test; keep the data.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a task without time limits; returns its token.
    pub fn enqueue(&self, activity_arn: &str, input: &str) -> String {
        self.enqueue_with_limits(activity_arn, input, TaskLimits::default())
    }

    /// Queues a task with time limits; returns its token.
    pub fn enqueue_with_limits(
        &self,
        activity_arn: &str,
        input: &str,
        limits: TaskLimits,
    ) -> String {
        let token = {
            let mut state = self.lock();
            state.next_token += 1;
            let token = format!("memory-token-{:06}", state.next_token);
            state.tasks.insert(
                token.clone(),
                TaskState {
                    input: input.to_owned(),
                    limits,
                    status: TaskStatus::Queued,
                    started: None,
                    last_heartbeat: None,
                    heartbeats: Vec::new(),
                    worker_name: None,
                },
            );
            state
                .queues
                .entry(activity_arn.to_owned())
                .or_default()
                .push_back(token.clone());
            state.order.push(token.clone());
            token
        };
        self.enqueued.notify_waiters();
        token
    }

    /// The task's status now (timeouts applied).
    pub fn status(&self, token: &str) -> Option<TaskStatus> {
        let mut state = self.lock();
        let task = state.tasks.get_mut(token)?;
        task.refresh(Instant::now());
        Some(task.status.clone())
    }

    /// Every task's token and status, in enqueue order.
    pub fn statuses(&self) -> Vec<(String, TaskStatus)> {
        let now = Instant::now();
        let mut state = self.lock();
        let order = state.order.clone();
        order
            .into_iter()
            .filter_map(|token| {
                let task = state.tasks.get_mut(&token)?;
                task.refresh(now);
                Some((token, task.status.clone()))
            })
            .collect()
    }

    /// When each accepted heartbeat of the task arrived (tokio time).
    pub fn heartbeats(&self, token: &str) -> Vec<Instant> {
        self.lock()
            .tasks
            .get(token)
            .map(|t| t.heartbeats.clone())
            .unwrap_or_default()
    }

    /// The `workerName` of the poll that took the task.
    pub fn worker_name(&self, token: &str) -> Option<String> {
        self.lock().tasks.get(token)?.worker_name.clone()
    }

    /// When a worker took the task (tokio time).
    pub fn started_at(&self, token: &str) -> Option<Instant> {
        self.lock().tasks.get(token)?.started
    }

    /// Polls open right now.
    pub fn open_polls(&self) -> usize {
        self.lock().open_polls
    }

    /// Most polls ever open at once.
    pub fn max_open_polls(&self) -> usize {
        self.lock().max_open_polls
    }

    /// Polls started so far (including failed ones).
    pub fn polls_started(&self) -> usize {
        self.lock().polls_started
    }

    /// Stops the task's execution: later calls on its token get `TaskDoesNotExist`.
    pub fn stop(&self, token: &str) {
        if let Some(task) = self.lock().tasks.get_mut(token)
            && !task.status.is_closed()
        {
            task.status = TaskStatus::Stopped;
        }
    }

    /// Makes the next `count` calls of `operation` fail with a retryable `Unavailable` error.
    pub fn fail_next(&self, operation: Operation, count: usize) {
        *self.lock().injected.entry(operation).or_default() += count;
    }

    fn injected_failure(&self, operation: Operation) -> Option<PortError> {
        let mut state = self.lock();
        let remaining = state.injected.get_mut(&operation)?;
        if *remaining == 0 {
            return None;
        }
        *remaining -= 1;
        Some(PortError::Unavailable {
            service: "memory task source",
            source: format!("injected {operation:?} failure").into(),
        })
    }

    /// Takes the oldest queued task of the activity, marking it running.
    fn take(&self, activity_arn: &str, worker_name: &str) -> Option<ActivityTask> {
        let mut state = self.lock();
        let token = state.queues.get_mut(activity_arn)?.pop_front()?;
        let task = state.tasks.get_mut(&token)?;
        task.status = TaskStatus::Running;
        task.started = Some(Instant::now());
        task.worker_name = Some(worker_name.to_owned());
        Some(ActivityTask {
            token,
            input: task.input.clone(),
        })
    }

    /// Runs `f` on the running task of `token`, after applying timeouts; the Step Functions error
    /// for a token that is unknown or closed.
    fn with_running<T>(
        &self,
        token: &str,
        f: impl FnOnce(&mut TaskState, Instant) -> Result<T, TaskTokenError>,
    ) -> Result<T, TaskTokenError> {
        let now = Instant::now();
        let mut state = self.lock();
        let Some(task) = state.tasks.get_mut(token) else {
            return Err(TaskTokenError::InvalidToken);
        };
        task.refresh(now);
        match task.status {
            TaskStatus::Running => f(task, now),
            // A worker cannot know the token of a task it has not been given.
            TaskStatus::Queued => Err(TaskTokenError::InvalidToken),
            TaskStatus::Stopped => Err(TaskTokenError::TaskDoesNotExist),
            _ => Err(TaskTokenError::TimedOut),
        }
    }
}

/// SendTaskSuccess `InvalidOutput`.
fn invalid_output(detail: String) -> TaskTokenError {
    TaskTokenError::InvalidOutput {
        source: detail.into(),
    }
}

fn rejected(detail: String) -> TaskTokenError {
    TaskTokenError::Port(PortError::Rejected {
        service: "memory task source",
        source: detail.into(),
    })
}

#[async_trait]
impl ActivityTaskSource for MemoryTaskSource {
    async fn poll(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, PortError> {
        {
            let mut state = self.lock();
            state.polls_started += 1;
        }
        if let Some(e) = self.injected_failure(Operation::Poll) {
            return Err(e);
        }
        {
            let mut state = self.lock();
            state.open_polls += 1;
            state.max_open_polls = state.max_open_polls.max(state.open_polls);
        }
        let _open = OpenPoll(self);
        let deadline = Instant::now() + self.poll_wait;
        loop {
            let notified = self.enqueued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(task) = self.take(activity_arn, worker_name) {
                return Ok(Some(task));
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => return Ok(None),
            }
        }
    }

    async fn heartbeat(&self, token: &str) -> Result<(), TaskTokenError> {
        if let Some(e) = self.injected_failure(Operation::Heartbeat) {
            return Err(e.into());
        }
        self.with_running(token, |task, now| {
            task.last_heartbeat = Some(now);
            task.heartbeats.push(now);
            Ok(())
        })
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<(), TaskTokenError> {
        if let Some(e) = self.injected_failure(Operation::Report) {
            return Err(e.into());
        }
        if output.len() > MAX_OUTPUT_BYTES {
            return Err(invalid_output(format!(
                "output of {} bytes is above {MAX_OUTPUT_BYTES}",
                output.len()
            )));
        }
        if let Err(e) = serde_json::from_str::<serde_json::Value>(output) {
            return Err(invalid_output(format!("output is not JSON: {e}")));
        }
        self.with_running(token, |task, _| {
            task.status = TaskStatus::Succeeded {
                output: output.to_owned(),
            };
            Ok(())
        })
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskTokenError> {
        if let Some(e) = self.injected_failure(Operation::Report) {
            return Err(e.into());
        }
        if error.chars().count() > MAX_ERROR_CHARS {
            return Err(rejected(format!(
                "error is above {MAX_ERROR_CHARS} characters"
            )));
        }
        if cause.chars().count() > MAX_CAUSE_CHARS {
            return Err(rejected(format!(
                "cause is above {MAX_CAUSE_CHARS} characters"
            )));
        }
        self.with_running(token, |task, _| {
            task.status = TaskStatus::Failed {
                error: error.to_owned(),
                cause: cause.to_owned(),
            };
            Ok(())
        })
    }
}

/// Runs the implementation-agnostic contract suite against the fake.
#[derive(Debug)]
pub struct MemoryTaskSourceHarness {
    /// The fake under test.
    pub source: MemoryTaskSource,
}

#[async_trait]
impl crate::contract::task_source::TaskSourceHarness for MemoryTaskSourceHarness {
    fn source(&self) -> &dyn ActivityTaskSource {
        &self.source
    }

    async fn activity_arn(&self, name: &str) -> String {
        format!("arn:aws:states:us-east-1:123456789012:activity:{name}")
    }

    async fn enqueue(&self, activity_arn: &str, input: &str) -> String {
        self.source.enqueue(activity_arn, input)
    }

    async fn outcome(&self, handle: &str) -> crate::contract::task_source::ObservedOutcome {
        use crate::contract::task_source::ObservedOutcome;
        match self.source.status(handle) {
            Some(TaskStatus::Succeeded { output }) => ObservedOutcome::Succeeded {
                output: serde_json::from_str(&output).unwrap_or(serde_json::Value::Null),
            },
            Some(TaskStatus::Failed { error, cause }) => ObservedOutcome::Failed { error, cause },
            Some(TaskStatus::Queued | TaskStatus::Running) => ObservedOutcome::Open,
            other => ObservedOutcome::Other(format!("{other:?}")),
        }
    }
}
