//! Activities and their task queue: CreateActivity / GetActivityTask / SendTask* semantics.
//!
//! A Task state whose resource is an activity ARN [`ActivityQueue::schedule`]s a task and then
//! listens to its [`TaskSignal`]s (started, heartbeat, success, failure); the interpreter owns the
//! TimeoutSeconds / HeartbeatSeconds timers because only it knows when they began. Workers reach the
//! queue through the HTTP API or in-process through [`ActivityTaskSource`].
//!
//! Task tokens are 48 random bytes from a CSPRNG, hex encoded: unguessable. A token that is not in
//! that form is `InvalidToken`; a well-formed token we never issued is `TaskDoesNotExist`; a token
//! whose task already finished or timed out is `TaskTimedOut` (what AWS answers in both cases).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTask, ActivityTaskSource, TaskTokenError};
use rand::RngCore;
use tokio::sync::{Notify, mpsc};

use crate::clock::EngineClock;
use crate::error::ApiError;

/// How long GetActivityTask waits for a task (AWS: "up to 60 seconds").
pub const LONG_POLL: Duration = Duration::from_secs(60);
/// Random bytes in a task token.
const TOKEN_BYTES: usize = 48;
/// SendTaskFailure `error` maximum length (AWS API limit).
const MAX_ERROR_LEN: usize = 256;
/// SendTaskFailure `cause` maximum length (AWS API limit).
const MAX_CAUSE_LEN: usize = 32_768;
/// Maximum task output (AWS: 256 KiB payload quota).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// What DescribeActivity / ListActivities return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityInfo {
    /// The activity ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub creation_date: DateTime<Utc>,
}

/// Something that happened to a scheduled task, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskSignal {
    /// A worker received the task (GetActivityTask).
    Started {
        /// The `workerName` it polled with.
        worker_name: String,
    },
    /// SendTaskHeartbeat.
    Heartbeat,
    /// SendTaskSuccess with this output JSON.
    Succeeded {
        /// The output text.
        output: String,
    },
    /// SendTaskFailure.
    Failed {
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
}

/// Why a token can no longer be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedReason {
    /// The task finished (success or failure) or timed out: AWS answers `TaskTimedOut`.
    FinishedOrTimedOut,
    /// The execution was stopped or the state left: `TaskDoesNotExist`.
    Gone,
}

struct Activity {
    info: ActivityInfo,
    pending: VecDeque<String>,
    notify: Arc<Notify>,
}

struct TaskSlot {
    activity_arn: String,
    owner: String,
    input: String,
    signals: mpsc::UnboundedSender<TaskSignal>,
}

#[derive(Default)]
struct QueueState {
    activities: BTreeMap<String, Activity>,
    tasks: HashMap<String, TaskSlot>,
    closed: HashMap<String, ClosedReason>,
}

/// Activities, their pending tasks and the tokens in flight.
#[derive(Default)]
pub struct ActivityQueue {
    state: Mutex<QueueState>,
}

impl std::fmt::Debug for ActivityQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityQueue").finish_non_exhaustive()
    }
}

/// A task scheduled by a Task state. Dropping it (the state was left or the execution stopped)
/// makes its token `TaskDoesNotExist`.
#[derive(Debug)]
pub struct ScheduledTask {
    /// The task token.
    pub token: String,
    /// Signals from workers, in order.
    pub signals: mpsc::UnboundedReceiver<TaskSignal>,
    queue: Arc<ActivityQueue>,
}

impl ScheduledTask {
    /// Marks the token finished or timed out: later SendTask* calls get `TaskTimedOut`.
    pub fn close(&self) {
        self.queue
            .close_token(&self.token, ClosedReason::FinishedOrTimedOut);
    }
}

impl Drop for ScheduledTask {
    fn drop(&mut self) {
        self.queue.close_token(&self.token, ClosedReason::Gone);
    }
}

/// A fresh task token (hex, as long as AWS's).
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn activity_missing(arn: &str) -> ApiError {
    ApiError::new(
        "ActivityDoesNotExist",
        format!("Activity Does Not Exist: '{arn}'"),
    )
}

impl ActivityQueue {
    /// An empty queue.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A poisoned lock only means another thread panicked mid-update of plain maps; the data
        // is still consistent enough for a local engine.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// CreateActivity: idempotent for an existing name.
    pub fn create(&self, arn: String, name: String, now: DateTime<Utc>) -> ActivityInfo {
        let mut state = self.lock();
        state
            .activities
            .entry(arn.clone())
            .or_insert_with(|| Activity {
                info: ActivityInfo {
                    arn,
                    name,
                    creation_date: now,
                },
                pending: VecDeque::new(),
                notify: Arc::new(Notify::new()),
            })
            .info
            .clone()
    }

    /// DescribeActivity.
    pub fn describe(&self, arn: &str) -> Result<ActivityInfo, ApiError> {
        self.lock()
            .activities
            .get(arn)
            .map(|a| a.info.clone())
            .ok_or_else(|| activity_missing(arn))
    }

    /// Whether the activity exists.
    pub fn exists(&self, arn: &str) -> bool {
        self.lock().activities.contains_key(arn)
    }

    /// ListActivities, ordered by ARN.
    pub fn list(&self) -> Vec<ActivityInfo> {
        self.lock()
            .activities
            .values()
            .map(|a| a.info.clone())
            .collect()
    }

    /// DeleteActivity (no error when absent, as AWS).
    pub fn delete(&self, arn: &str) {
        self.lock().activities.remove(arn);
    }

    /// Queues a task for `activity_arn` on behalf of `owner` (an execution ARN). `None` when
    /// the activity does not exist.
    pub fn schedule(
        self: &Arc<Self>,
        activity_arn: &str,
        input: String,
        owner: &str,
    ) -> Option<ScheduledTask> {
        let token = new_token();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        let activity = state.activities.get_mut(activity_arn)?;
        activity.pending.push_back(token.clone());
        activity.notify.notify_one();
        state.tasks.insert(
            token.clone(),
            TaskSlot {
                activity_arn: activity_arn.to_owned(),
                owner: owner.to_owned(),
                input,
                signals: tx,
            },
        );
        Some(ScheduledTask {
            token,
            signals: rx,
            queue: Arc::clone(self),
        })
    }

    /// Opens a token for a callback integration (`.waitForTaskToken`) of `owner`: no activity
    /// queue, only the SendTask* calls of whoever the integration handed the token to.
    pub fn open_callback(self: &Arc<Self>, owner: &str) -> ScheduledTask {
        let token = new_token();
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().tasks.insert(
            token.clone(),
            TaskSlot {
                activity_arn: String::new(),
                owner: owner.to_owned(),
                input: String::new(),
                signals: tx,
            },
        );
        ScheduledTask {
            token,
            signals: rx,
            queue: Arc::clone(self),
        }
    }

    /// Makes every open token of `owner` `TaskDoesNotExist` (StopExecution).
    pub fn close_owner(&self, owner: &str) {
        let tokens: Vec<String> = self
            .lock()
            .tasks
            .iter()
            .filter(|(_, slot)| slot.owner == owner)
            .map(|(token, _)| token.clone())
            .collect();
        for token in tokens {
            self.close_token(&token, ClosedReason::Gone);
        }
    }

    fn close_token(&self, token: &str, reason: ClosedReason) {
        let mut state = self.lock();
        if let Some(slot) = state.tasks.remove(token) {
            if let Some(activity) = state.activities.get_mut(&slot.activity_arn) {
                activity.pending.retain(|t| t != token);
            }
            state.closed.insert(token.to_owned(), reason);
        }
    }

    /// GetActivityTask: waits up to `max_wait` for a task; `None` when none came.
    pub async fn poll(
        &self,
        activity_arn: &str,
        worker_name: &str,
        max_wait: Duration,
    ) -> Result<Option<(String, String)>, ApiError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let notify = {
                let mut state = self.lock();
                let state = &mut *state;
                let activity = state
                    .activities
                    .get_mut(activity_arn)
                    .ok_or_else(|| activity_missing(activity_arn))?;
                while let Some(token) = activity.pending.pop_front() {
                    if let Some(slot) = state.tasks.get(&token) {
                        // The receiver may be gone if the state was left; then skip the task.
                        if slot
                            .signals
                            .send(TaskSignal::Started {
                                worker_name: worker_name.to_owned(),
                            })
                            .is_ok()
                        {
                            return Ok(Some((token, slot.input.clone())));
                        }
                    }
                }
                Arc::clone(&activity.notify)
            };
            tokio::select! {
                () = notify.notified() => {}
                () = tokio::time::sleep_until(deadline) => return Ok(None),
            }
        }
    }

    fn signal(&self, token: &str, signal: TaskSignal) -> Result<(), ApiError> {
        if !well_formed(token) {
            return Err(ApiError::new(
                "InvalidToken",
                "Invalid Token: the task token is malformed",
            ));
        }
        let mut state = self.lock();
        let finishing = !matches!(signal, TaskSignal::Heartbeat);
        let Some(slot) = state.tasks.get(token) else {
            return Err(match state.closed.get(token) {
                Some(ClosedReason::FinishedOrTimedOut) => ApiError::new(
                    "TaskTimedOut",
                    "Task Timed Out: 'Provided task does not exist anymore'",
                ),
                Some(ClosedReason::Gone) | None => {
                    ApiError::new("TaskDoesNotExist", "Task does not exist")
                }
            });
        };
        if slot.signals.send(signal).is_err() {
            state.tasks.remove(token);
            state.closed.insert(token.to_owned(), ClosedReason::Gone);
            return Err(ApiError::new("TaskDoesNotExist", "Task does not exist"));
        }
        if finishing {
            state.tasks.remove(token);
            state
                .closed
                .insert(token.to_owned(), ClosedReason::FinishedOrTimedOut);
        }
        Ok(())
    }

    /// SendTaskSuccess.
    pub fn send_success(&self, token: &str, output: &str) -> Result<(), ApiError> {
        if output.len() > MAX_PAYLOAD_BYTES {
            return Err(ApiError::new(
                "InvalidOutput",
                "the output exceeds the 262144-byte payload quota",
            ));
        }
        if serde_json::from_str::<serde_json::Value>(output).is_err() {
            return Err(ApiError::new(
                "InvalidOutput",
                "Invalid Output: the output is not JSON",
            ));
        }
        self.signal(
            token,
            TaskSignal::Succeeded {
                output: output.to_owned(),
            },
        )
    }

    /// SendTaskFailure.
    pub fn send_failure(&self, token: &str, error: &str, cause: &str) -> Result<(), ApiError> {
        if error.chars().count() > MAX_ERROR_LEN || cause.chars().count() > MAX_CAUSE_LEN {
            return Err(ApiError::validation(
                "error is limited to 256 characters and cause to 32768",
            ));
        }
        self.signal(
            token,
            TaskSignal::Failed {
                error: error.to_owned(),
                cause: cause.to_owned(),
            },
        )
    }

    /// SendTaskHeartbeat.
    pub fn send_heartbeat(&self, token: &str) -> Result<(), ApiError> {
        self.signal(token, TaskSignal::Heartbeat)
    }
}

/// An in-process [`ActivityTaskSource`] over a queue, for workers running inside the engine's
/// process.
#[derive(Clone, Debug)]
pub struct InProcessActivities {
    queue: Arc<ActivityQueue>,
    clock: EngineClock,
}

impl InProcessActivities {
    /// A source over `queue`.
    pub fn new(queue: Arc<ActivityQueue>, clock: EngineClock) -> Self {
        Self { queue, clock }
    }

    /// The clock of the engine the source belongs to.
    pub fn clock(&self) -> EngineClock {
        self.clock
    }
}

fn token_error(error: ApiError) -> TaskTokenError {
    match error.code {
        "TaskTimedOut" => TaskTokenError::TimedOut,
        "InvalidToken" => TaskTokenError::InvalidToken,
        "TaskDoesNotExist" => TaskTokenError::TaskDoesNotExist,
        "InvalidOutput" => TaskTokenError::InvalidOutput {
            source: Box::new(error),
        },
        _ => TaskTokenError::Port(PortError::Rejected {
            service: "local step functions",
            source: Box::new(error),
        }),
    }
}

#[async_trait]
impl ActivityTaskSource for InProcessActivities {
    async fn poll(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, PortError> {
        match self.queue.poll(activity_arn, worker_name, LONG_POLL).await {
            Ok(task) => Ok(task.map(|(token, input)| ActivityTask { token, input })),
            Err(_) => Err(PortError::NotFound {
                what: format!("activity {activity_arn}"),
            }),
        }
    }

    async fn heartbeat(&self, token: &str) -> Result<(), TaskTokenError> {
        self.queue.send_heartbeat(token).map_err(token_error)
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<(), TaskTokenError> {
        self.queue.send_success(token, output).map_err(token_error)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskTokenError> {
        self.queue
            .send_failure(token, error, cause)
            .map_err(token_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:work";

    fn queue_with_activity() -> Arc<ActivityQueue> {
        let queue = ActivityQueue::new();
        queue.create(ARN.into(), "work".into(), Utc::now());
        queue
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_poll_returns_nothing_after_the_long_poll_window() {
        let queue = queue_with_activity();
        let started = tokio::time::Instant::now();
        let task = queue.poll(ARN, "w", LONG_POLL).await.expect("poll");
        assert!(task.is_none());
        assert_eq!(started.elapsed(), LONG_POLL);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_poll_receives_a_task_scheduled_later() {
        let queue = queue_with_activity();
        let poller = {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move { queue.poll(ARN, "w", LONG_POLL).await })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut scheduled = queue
            .schedule(ARN, "{\"a\":1}".into(), "exec")
            .expect("activity exists");
        let (token, input) = poller.await.expect("join").expect("poll").expect("a task");
        assert_eq!(token, scheduled.token);
        assert_eq!(input, "{\"a\":1}");
        assert_eq!(
            scheduled.signals.recv().await,
            Some(TaskSignal::Started {
                worker_name: "w".into()
            })
        );
    }

    #[tokio::test]
    async fn a_finished_token_answers_task_timed_out_and_a_dropped_one_task_does_not_exist() {
        let queue = queue_with_activity();
        let finished = queue
            .schedule(ARN, "{}".into(), "exec")
            .expect("activity exists");
        queue
            .send_success(&finished.token, "{}")
            .expect("first success");
        let again = queue
            .send_success(&finished.token, "{}")
            .expect_err("second");
        assert_eq!(again.code, "TaskTimedOut");

        let dropped = queue
            .schedule(ARN, "{}".into(), "exec")
            .expect("activity exists");
        let token = dropped.token.clone();
        drop(dropped);
        assert_eq!(
            queue.send_heartbeat(&token).expect_err("gone").code,
            "TaskDoesNotExist"
        );
    }

    #[tokio::test]
    async fn a_malformed_token_is_invalid_and_an_unknown_one_does_not_exist() {
        let queue = queue_with_activity();
        assert_eq!(
            queue.send_heartbeat("nope").expect_err("bad").code,
            "InvalidToken"
        );
        assert_eq!(
            queue
                .send_heartbeat(&new_token())
                .expect_err("unknown")
                .code,
            "TaskDoesNotExist"
        );
    }

    #[tokio::test]
    async fn heartbeats_and_failures_reach_the_waiting_state_in_order() {
        let queue = queue_with_activity();
        let mut task = queue
            .schedule(ARN, "{}".into(), "exec")
            .expect("activity exists");
        queue.send_heartbeat(&task.token).expect("heartbeat");
        queue
            .send_failure(&task.token, "Boom", "it broke")
            .expect("failure");
        assert_eq!(task.signals.recv().await, Some(TaskSignal::Heartbeat));
        assert_eq!(
            task.signals.recv().await,
            Some(TaskSignal::Failed {
                error: "Boom".into(),
                cause: "it broke".into()
            })
        );
    }
}
