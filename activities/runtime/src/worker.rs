//! The worker: for each registered activity, N pollers that take a work slot before they poll,
//! run each task with heartbeats, report its result, and shut down without losing a task.
//!
//! Shutdown follows the Step Functions advice for activities: a poll aborted mid-flight can lose a
//! task "on the wire" (the service hands it out, the worker never sees it, the task waits for its
//! timeout). So on shutdown the worker stops *starting* polls, lets open polls return, runs what
//! they return, and only after a drain deadline cancels what still runs and fails it with the
//! retryable `Worker.Interrupted`, so another worker picks it up at once.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meeting_domain::activity::{ActivityErrorName, WorkerError};
use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTask, ActivityTaskSource, TaskTokenError};
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::activity::TaskContext;
use crate::backoff::Backoff;
use crate::error::RuntimeError;
use crate::identity;
use crate::limits::{MAX_CAUSE_CHARS, MAX_ERROR_CHARS, truncate_chars};
use crate::registry::{Outcome, RegisteredActivity, Registry};

/// How the worker behaves.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// `workerName` sent with GetActivityTask; shows in the execution history (ActivityStarted).
    pub worker_name: String,
    /// Tasks of one activity running at once in this worker (work slots).
    pub concurrency: usize,
    /// Open polls per activity; `None` means one per work slot.
    pub pollers: Option<usize>,
    /// After shutdown is requested, how long running tasks may continue before they are cancelled
    /// and failed with `Worker.Interrupted`.
    pub drain_deadline: Duration,
    /// After a task is cancelled, how long its activity may take to return before it is aborted.
    pub cancel_grace: Duration,
    /// Heartbeat period; `None` means a third of the contract's `HeartbeatSeconds`.
    pub heartbeat_interval: Option<Duration>,
    /// Backoff after a failed poll.
    pub poll_backoff: Backoff,
    /// Backoff between attempts to report a result that failed transiently.
    pub report_backoff: Backoff,
    /// Attempts to report one result before giving up (Step Functions then times the task out).
    pub report_attempts: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            worker_name: "activity-worker".to_owned(),
            concurrency: 1,
            pollers: None,
            // GetActivityTask long-polls up to 60 s, so a poll open at SIGTERM may return a task up
            // to 60 s later; 90 s leaves it 30 s to run, and stays under the 120 s maximum ECS
            // stopTimeout on Fargate.
            drain_deadline: Duration::from_secs(90),
            cancel_grace: Duration::from_secs(5),
            heartbeat_interval: None,
            poll_backoff: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(30),
            },
            report_backoff: Backoff {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(10),
            },
            report_attempts: 8,
        }
    }
}

/// What became of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskResult {
    /// SendTaskSuccess was accepted.
    Succeeded,
    /// SendTaskFailure was accepted with this error name.
    Failed {
        /// The error name sent.
        error: &'static str,
    },
    /// The task was gone (timed out, stopped, invalid token): its work was cancelled and nothing
    /// could be reported.
    Abandoned {
        /// Why the token is no longer usable.
        reason: String,
    },
    /// The result could not be reported after every attempt; Step Functions will time the task out.
    Unreported {
        /// The last error.
        reason: String,
    },
}

/// The report of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskReport {
    /// The activity's contract name.
    pub activity: &'static str,
    /// Hash of the task token.
    pub task_id: String,
    /// What became of it.
    pub result: TaskResult,
}

/// Counts over a worker's life, returned when it stops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Tasks received from polls.
    pub received: usize,
    /// Tasks completed with SendTaskSuccess.
    pub succeeded: usize,
    /// Tasks completed with SendTaskFailure (any error name, `Worker.Interrupted` included).
    pub failed: usize,
    /// Of `failed`, those failed with `Worker.Interrupted` at shutdown.
    pub interrupted: usize,
    /// Tasks whose token was gone.
    pub abandoned: usize,
    /// Tasks whose result could not be reported.
    pub unreported: usize,
}

impl WorkerSummary {
    fn record(&mut self, report: &TaskReport) {
        self.received += 1;
        match &report.result {
            TaskResult::Succeeded => self.succeeded += 1,
            TaskResult::Failed { error } => {
                self.failed += 1;
                if *error == WorkerError::Interrupted.name() {
                    self.interrupted += 1;
                }
            }
            TaskResult::Abandoned { .. } => self.abandoned += 1,
            TaskResult::Unreported { .. } => self.unreported += 1,
        }
    }
}

/// A worker serving a set of registered activities from one task source.
pub struct Worker {
    source: Arc<dyn ActivityTaskSource>,
    config: WorkerConfig,
    activities: Vec<Arc<RegisteredActivity>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .field("activities", &self.activities)
            .finish_non_exhaustive()
    }
}

/// State shared by the pollers and tasks of one `run_until`.
struct Shared {
    source: Arc<dyn ActivityTaskSource>,
    config: WorkerConfig,
    stop_polling: CancellationToken,
    interrupt: CancellationToken,
    tracker: TaskTracker,
    summary: Mutex<WorkerSummary>,
}

impl Shared {
    fn record(&self, report: &TaskReport) {
        if let Ok(mut summary) = self.summary.lock() {
            summary.record(report);
        }
    }
}

impl Worker {
    /// A worker for the activities of `registry`.
    ///
    /// # Errors
    /// [`RuntimeError::NoActivities`] / [`RuntimeError::UnknownActivity`] from the registry, and
    /// [`RuntimeError::Config`] for a zero concurrency, poller count or heartbeat interval.
    pub fn new(
        source: Arc<dyn ActivityTaskSource>,
        registry: Registry,
        config: WorkerConfig,
    ) -> Result<Self, RuntimeError> {
        if config.concurrency == 0 {
            return Err(RuntimeError::Config(
                "concurrency must be at least 1".into(),
            ));
        }
        if config.pollers == Some(0) {
            return Err(RuntimeError::Config(
                "pollers must be at least 1 per activity".into(),
            ));
        }
        if config.heartbeat_interval == Some(Duration::ZERO) {
            return Err(RuntimeError::Config(
                "the heartbeat interval must be above zero".into(),
            ));
        }
        let activities = registry
            .into_activities()?
            .into_iter()
            .map(Arc::new)
            .collect();
        Ok(Self {
            source,
            config,
            activities,
        })
    }

    /// The registered activities.
    pub fn activities(&self) -> impl Iterator<Item = &RegisteredActivity> {
        self.activities.iter().map(AsRef::as_ref)
    }

    /// Polls and runs tasks until `shutdown` completes, then drains: no new polls, open polls may
    /// return and their tasks run; after the drain deadline running tasks are cancelled and failed
    /// with `Worker.Interrupted`. Returns once every received task is reported.
    pub async fn run_until<F>(&self, shutdown: F) -> WorkerSummary
    where
        F: Future<Output = ()>,
    {
        let shared = Arc::new(Shared {
            source: Arc::clone(&self.source),
            config: self.config.clone(),
            stop_polling: CancellationToken::new(),
            interrupt: CancellationToken::new(),
            tracker: TaskTracker::new(),
            summary: Mutex::new(WorkerSummary::default()),
        });
        let pollers_per_activity = self.config.pollers.unwrap_or(self.config.concurrency);
        let mut pollers = JoinSet::new();
        for activity in &self.activities {
            let slots = Arc::new(Semaphore::new(self.config.concurrency));
            for _ in 0..pollers_per_activity {
                pollers.spawn(poll_loop(
                    Arc::clone(&shared),
                    Arc::clone(activity),
                    Arc::clone(&slots),
                ));
            }
        }
        info!(
            activities = ?self.activities.iter().map(|a| a.name).collect::<Vec<_>>(),
            concurrency = self.config.concurrency,
            pollers = pollers_per_activity,
            worker = %self.config.worker_name,
            "worker started"
        );

        shutdown.await;
        info!(
            drain_deadline_s = self.config.drain_deadline.as_secs_f64(),
            "shutdown requested: no new polls; open polls may still return tasks"
        );
        shared.stop_polling.cancel();

        let drained = async {
            while let Some(joined) = pollers.join_next().await {
                if let Err(e) = joined {
                    error!(error = %e, "a poller ended abnormally");
                }
            }
            shared.tracker.close();
            shared.tracker.wait().await;
        };
        tokio::pin!(drained);
        if tokio::time::timeout(self.config.drain_deadline, &mut drained)
            .await
            .is_err()
        {
            warn!(
                running = shared.tracker.len(),
                "drain deadline passed: cancelling running tasks and failing them as Worker.Interrupted"
            );
            shared.interrupt.cancel();
            drained.await;
        }
        let summary = shared.summary.lock().map(|s| s.clone()).unwrap_or_default();
        info!(?summary, "worker stopped");
        summary
    }

    /// Polls `activity` once and, if a task came, runs and reports it. For tests and one-shot
    /// tools. `Ok(None)` when the poll ended without a task.
    ///
    /// # Errors
    /// [`RuntimeError::UnknownActivity`] for a name that is not registered,
    /// [`RuntimeError::Poll`] when the poll failed.
    pub async fn run_one(&self, activity: &str) -> Result<Option<TaskReport>, RuntimeError> {
        let Some(registered) = self.activities.iter().find(|a| a.name == activity) else {
            return Err(RuntimeError::UnknownActivity {
                name: activity.to_owned(),
                registered: self
                    .activities
                    .iter()
                    .map(|a| a.name)
                    .collect::<Vec<_>>()
                    .join(","),
            });
        };
        let polled = self
            .source
            .poll(&registered.arn, &self.config.worker_name)
            .await
            .map_err(RuntimeError::Poll)?;
        let Some(task) = polled else {
            return Ok(None);
        };
        let report = run_task(
            Arc::clone(&self.source),
            &self.config,
            Arc::clone(registered),
            task,
            CancellationToken::new(),
        )
        .await;
        Ok(Some(report))
    }
}

/// One poller: take a slot, poll, hand the task to a tracked task holding the slot, repeat.
async fn poll_loop(shared: Arc<Shared>, activity: Arc<RegisteredActivity>, slots: Arc<Semaphore>) {
    let mut backoff = shared.config.poll_backoff.start();
    loop {
        let permit = tokio::select! {
            biased;
            () = shared.stop_polling.cancelled() => return,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => return,
            },
        };
        if shared.stop_polling.is_cancelled() {
            return;
        }
        // Not raced against shutdown: an open poll is allowed to return, or its task is lost.
        match shared
            .source
            .poll(&activity.arn, &shared.config.worker_name)
            .await
        {
            Ok(Some(task)) => {
                backoff.reset();
                let for_task = Arc::clone(&shared);
                let activity = Arc::clone(&activity);
                shared.tracker.spawn(async move {
                    let report = run_task(
                        Arc::clone(&for_task.source),
                        &for_task.config,
                        activity,
                        task,
                        for_task.interrupt.clone(),
                    )
                    .await;
                    drop(permit);
                    for_task.record(&report);
                });
            }
            Ok(None) => {
                backoff.reset();
                drop(permit);
            }
            Err(e) => {
                drop(permit);
                let delay = backoff.next_delay();
                warn!(
                    activity = activity.name,
                    error = %e,
                    retryable = e.is_retryable(),
                    attempt = backoff.attempts(),
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "polling failed; backing off"
                );
                tokio::select! {
                    biased;
                    () = shared.stop_polling.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Runs one task: heartbeats while the activity runs, cancels it when the task is gone or the
/// worker is interrupted, and reports the result.
async fn run_task(
    source: Arc<dyn ActivityTaskSource>,
    config: &WorkerConfig,
    activity: Arc<RegisteredActivity>,
    task: ActivityTask,
    interrupt: CancellationToken,
) -> TaskReport {
    let task_id = identity::task_id(&task.token);
    let span = info_span!(
        "activity_task",
        activity = activity.name,
        task_id = %task_id,
        recording_id = tracing::field::Empty,
    );
    if let Some(recording) = identity::recording_id(&task.input) {
        span.record("recording_id", recording.as_str());
    }
    let result = execute_and_report(source, config, &activity, task, &task_id, interrupt)
        .instrument(span)
        .await;
    TaskReport {
        activity: activity.name,
        task_id,
        result,
    }
}

async fn execute_and_report(
    source: Arc<dyn ActivityTaskSource>,
    config: &WorkerConfig,
    activity: &RegisteredActivity,
    task: ActivityTask,
    task_id: &str,
    interrupt: CancellationToken,
) -> TaskResult {
    let ActivityTask { token, input } = task;
    if interrupt.is_cancelled() {
        info!("task received after the drain deadline; failing it as interrupted");
        let outcome = Outcome::worker_failure(
            WorkerError::Interrupted,
            "the worker was shutting down and its drain deadline had passed when the task arrived",
        );
        return report(source.as_ref(), config, &token, outcome).await;
    }
    info!("task started");
    let cancel = interrupt.child_token();
    let ctx = TaskContext {
        cancel: cancel.clone(),
        task_id: task_id.to_owned(),
    };
    let handler = Arc::clone(&activity.handler);
    let mut work = tokio::spawn(
        async move { handler.execute(&input, &ctx).await }.instrument(tracing::Span::current()),
    );

    let period = config
        .heartbeat_interval
        .unwrap_or_else(|| Duration::from_secs(u64::from(activity.heartbeat_seconds)) / 3);
    let heartbeats_enabled = !period.is_zero();
    // A zero period would panic in `interval_at`; the branch is disabled then anyway.
    let mut ticker = tokio::time::interval_at(
        Instant::now() + period,
        period.max(Duration::from_millis(1)),
    );
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let mut gone: Option<TaskTokenError> = None;
    let joined: Option<Result<Outcome, JoinError>> = loop {
        tokio::select! {
            biased;
            joined = &mut work => break Some(joined),
            () = cancel.cancelled() => {
                match tokio::time::timeout(config.cancel_grace, &mut work).await {
                    Ok(joined) => break Some(joined),
                    Err(_elapsed) => {
                        warn!(grace_s = config.cancel_grace.as_secs_f64(), "the activity ignored cancellation; aborting it");
                        work.abort();
                        break None;
                    }
                }
            }
            _ = ticker.tick(), if heartbeats_enabled && gone.is_none() => {
                // A heartbeat that hangs must not stall the loop past the next tick (nor keep it
                // from seeing the work finish): it counts as a transient failure.
                let sent = tokio::time::timeout(period, source.heartbeat(&token))
                    .await
                    .unwrap_or_else(|_elapsed| {
                        Err(TaskTokenError::Port(PortError::Unavailable {
                            service: "activity task source",
                            source: "the heartbeat did not answer within one heartbeat period".into(),
                        }))
                    });
                match sent {
                    Ok(()) => debug!("heartbeat sent"),
                    Err(e) if e.task_is_gone() => {
                        warn!(reason = %e, "the task is gone; stopping heartbeats and cancelling the work");
                        gone = Some(e);
                        cancel.cancel();
                    }
                    Err(e) => warn!(error = %e, "heartbeat failed; retrying at the next tick"),
                }
            }
        }
    };

    // The activity may notice the cancellation and return before this loop sees it: whatever
    // failure it returned after an interrupt is reported as the retryable interruption.
    let cancelled_by_interrupt = interrupt.is_cancelled();
    if let Some(reason) = gone {
        warn!(%reason, "the task's result is dropped: Step Functions no longer accepts it");
        return TaskResult::Abandoned {
            reason: reason.to_string(),
        };
    }
    let outcome = match joined {
        None => Outcome::worker_failure(
            WorkerError::Interrupted,
            format!(
                "the worker shut down and the task did not stop within {} s of being cancelled",
                config.cancel_grace.as_secs()
            ),
        ),
        Some(Ok(Outcome::Failed { error, cause })) if cancelled_by_interrupt => {
            Outcome::worker_failure(
                WorkerError::Interrupted,
                format!(
                    "the worker shut down before the task finished (the activity then reported {error}: {cause})"
                ),
            )
        }
        Some(Ok(outcome)) => outcome,
        Some(Err(e)) if e.is_panic() => {
            let message = panic_message(e.into_panic().as_ref());
            error!(panic = %message, "the activity panicked");
            Outcome::worker_failure(
                WorkerError::Panicked,
                format!("activity {} panicked: {message}", activity.name),
            )
        }
        Some(Err(_cancelled)) => Outcome::worker_failure(
            WorkerError::Interrupted,
            "the task's work was aborted before it finished",
        ),
    };
    report(source.as_ref(), config, &token, outcome).await
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

/// Reports an outcome, retrying transient errors so a result is not lost. When Step Functions
/// refuses the output itself (`InvalidOutput`), the task is failed with `Worker.InvalidOutput`
/// instead of being left to time out. Any other refusal (access denied, KMS, unknown) says
/// nothing about the work and is never reported as its failure.
async fn report(
    source: &dyn ActivityTaskSource,
    config: &WorkerConfig,
    token: &str,
    outcome: Outcome,
) -> TaskResult {
    let mut outcome = outcome;
    loop {
        let result = match &outcome {
            Outcome::Succeeded(output) => {
                match send_with_retries(config, || source.succeed(token, output)).await {
                    Err(TaskTokenError::InvalidOutput { source: refusal }) => {
                        warn!(error = %refusal, "Step Functions refused the task output; failing the task as Worker.InvalidOutput instead");
                        outcome = Outcome::worker_failure(
                            WorkerError::InvalidOutput,
                            format!("Step Functions refused the task output: {refusal}"),
                        );
                        continue;
                    }
                    other => other.map(|()| TaskResult::Succeeded),
                }
            }
            Outcome::Failed { error, cause } => {
                let sent_error = truncate_chars(error, MAX_ERROR_CHARS);
                let sent_cause = truncate_chars(cause, MAX_CAUSE_CHARS);
                debug!(%cause, "task cause");
                send_with_retries(config, || source.fail(token, &sent_error, &sent_cause))
                    .await
                    .map(|()| TaskResult::Failed { error })
            }
        };
        return match result {
            Ok(result) => {
                let succeeded = matches!(result, TaskResult::Succeeded);
                info!(?result, succeeded, "task reported");
                result
            }
            Err(e) if e.task_is_gone() => {
                warn!(reason = %e, "the task was gone when its result was reported");
                TaskResult::Abandoned {
                    reason: e.to_string(),
                }
            }
            Err(e) => {
                error!(error = %e, "the task's result could not be reported; this is not a failure of the work, and it is not reported as one: Step Functions will time the task out");
                TaskResult::Unreported {
                    reason: e.to_string(),
                }
            }
        };
    }
}

/// Calls `send` until it succeeds, fails for good, or the attempts run out.
async fn send_with_retries<F, Fut>(config: &WorkerConfig, mut send: F) -> Result<(), TaskTokenError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), TaskTokenError>>,
{
    let mut backoff = config.report_backoff.start();
    loop {
        match send().await {
            Err(TaskTokenError::Port(e))
                if e.is_retryable() && backoff.attempts() + 1 < config.report_attempts =>
            {
                let delay = backoff.next_delay();
                warn!(error = %e, attempt = backoff.attempts(), "reporting the result failed; retrying");
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
}
