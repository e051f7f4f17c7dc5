//! The worker: for each registered activity, N pollers that take a work slot before they poll,
//! run each task with heartbeats, report its result, and shut down without losing a task.
//!
//! Shutdown follows the Step Functions advice for activities: a poll aborted mid-flight can lose a
//! task "on the wire" (the service hands it out, the worker never sees it, the task waits for its
//! timeout). So on shutdown the worker stops *starting* polls, lets open polls return, runs what
//! they return, and only after a drain deadline cancels what still runs and fails it with the
//! retryable `Worker.Interrupted`, so another worker picks it up at once.
//!
//! Delivery of a result: it is written to the [`ResultSpool`] (when the worker has one) before the
//! first report attempt, and heartbeats go on while the report is retried. A report that is
//! accepted, or whose token is gone, removes it from the spool; one the worker gives up on stays
//! there, and the next start reports it before polling for new tasks. Only Step Functions
//! refusing the output itself (`InvalidOutput`) turns a success into a `Worker.InvalidOutput`
//! failure; any other refusal (access denied, KMS, unknown) says nothing about the work and is
//! never reported as its failure.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meeting_domain::activity::{ActivityErrorName, WorkerError};
use meeting_domain::ports::{ActivityTask, ActivityTaskSource, Clock, SystemClock, TaskTokenError};
use tokio::sync::Semaphore;
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::activity::TaskContext;
use crate::backoff::Backoff;
use crate::error::RuntimeError;
use crate::heartbeat::Heartbeats;
use crate::identity;
use crate::limits::{MAX_CAUSE_CHARS, MAX_ERROR_CHARS, truncate_chars};
use crate::registry::{Outcome, RegisteredActivity, Registry};
use crate::spool::{ResultSpool, SpooledReport, SpooledResult};

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
    /// Backoff between attempts to report a result that failed transiently (heartbeats go on
    /// meanwhile).
    pub report_backoff: Backoff,
    /// Attempts to report one result before giving up; the result then stays in the spool for the
    /// next start (without a spool, Step Functions times the task out).
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
    /// The result could not be reported: the attempts ran out, or Step Functions refused the report
    /// for a reason that says nothing about the work (access denied, KMS, unknown). It stays in
    /// the spool, when the worker has one, and is reported at the next start; otherwise Step
    /// Functions times the task out.
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
    /// What became of the results an earlier run left in the spool.
    pub replayed: ReplaySummary,
}

/// What became of the spooled results reported when the worker started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Accepted by Step Functions.
    pub delivered: usize,
    /// Dropped: the token was gone, or the task was past its deadline.
    pub dropped: usize,
    /// Still not reported; they stay in the spool.
    pub kept: usize,
}

impl ReplaySummary {
    fn record(&mut self, delivery: &Delivery) {
        match delivery {
            Delivery::Accepted(_) => self.delivered += 1,
            Delivery::Gone(_) => self.dropped += 1,
            Delivery::Kept(_) => self.kept += 1,
        }
    }
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
    reporter: Reporter,
    activities: Vec<Arc<RegisteredActivity>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.reporter.config)
            .field("activities", &self.activities)
            .field("spool", &self.reporter.spool.is_some())
            .finish_non_exhaustive()
    }
}

/// What reporting results needs, shared by running tasks and the replay of spooled results.
#[derive(Clone)]
struct Reporter {
    source: Arc<dyn ActivityTaskSource>,
    config: WorkerConfig,
    spool: Option<Arc<dyn ResultSpool>>,
    clock: Arc<dyn Clock>,
}

/// State shared by the pollers and tasks of one `run_until`.
struct Shared {
    reporter: Reporter,
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
            reporter: Reporter {
                source,
                config,
                spool: None,
                clock: Arc::new(SystemClock),
            },
            activities,
        })
    }

    /// Spools every result in `spool` before reporting it, and reports what an earlier run left
    /// there when [`run_until`](Self::run_until) starts. Without a spool a result that cannot be
    /// reported is lost with the process.
    #[must_use]
    pub fn with_spool(mut self, spool: Arc<dyn ResultSpool>) -> Self {
        self.reporter.spool = Some(spool);
        self
    }

    /// The wall clock that dates spooled results and their deadlines (the system clock unless a
    /// test sets another).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.reporter.clock = clock;
        self
    }

    /// The registered activities.
    pub fn activities(&self) -> impl Iterator<Item = &RegisteredActivity> {
        self.activities.iter().map(AsRef::as_ref)
    }

    /// Reports the results an earlier run left in the spool (see [`replay_spooled`]), then polls
    /// and runs tasks until `shutdown` completes, then drains: no new polls, open polls may return
    /// and their tasks run; after the drain deadline running tasks are cancelled and failed with
    /// `Worker.Interrupted`. Returns once every received task is reported.
    ///
    /// [`replay_spooled`]: Self::replay_spooled
    pub async fn run_until<F>(&self, shutdown: F) -> WorkerSummary
    where
        F: Future<Output = ()>,
    {
        tokio::pin!(shutdown);
        let replay = self.replay_spooled();
        tokio::pin!(replay);
        let (replayed, stopped) = tokio::select! {
            biased;
            replayed = &mut replay => (replayed, false),
            () = &mut shutdown => {
                info!("shutdown requested while spooled results are reported; finishing them, then stopping without polling");
                (replay.await, true)
            }
        };
        if stopped {
            let summary = WorkerSummary {
                replayed,
                ..WorkerSummary::default()
            };
            info!(?summary, "worker stopped");
            return summary;
        }
        let config = &self.reporter.config;
        let shared = Arc::new(Shared {
            reporter: self.reporter.clone(),
            stop_polling: CancellationToken::new(),
            interrupt: CancellationToken::new(),
            tracker: TaskTracker::new(),
            summary: Mutex::new(WorkerSummary {
                replayed,
                ..WorkerSummary::default()
            }),
        });
        let pollers_per_activity = config.pollers.unwrap_or(config.concurrency);
        let mut pollers = JoinSet::new();
        for activity in &self.activities {
            let slots = Arc::new(Semaphore::new(config.concurrency));
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
            concurrency = config.concurrency,
            pollers = pollers_per_activity,
            worker = %config.worker_name,
            "worker started"
        );

        shutdown.await;
        info!(
            drain_deadline_s = config.drain_deadline.as_secs_f64(),
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
        if tokio::time::timeout(config.drain_deadline, &mut drained)
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
            .reporter
            .source
            .poll(&registered.arn, &self.reporter.config.worker_name)
            .await
            .map_err(RuntimeError::Poll)?;
        let Some(task) = polled else {
            return Ok(None);
        };
        let report = self
            .reporter
            .run_task(Arc::clone(registered), task, CancellationToken::new())
            .await;
        Ok(Some(report))
    }

    /// Reports every result an earlier run left in the spool, each with heartbeats and retries
    /// like a fresh result: an accepted report or a gone token removes it, a result past its
    /// task's deadline is dropped without a call, one that still cannot be reported stays.
    /// [`run_until`](Self::run_until) calls this before it polls; nothing happens without a
    /// spool.
    pub async fn replay_spooled(&self) -> ReplaySummary {
        let mut summary = ReplaySummary::default();
        let Some(spool) = &self.reporter.spool else {
            return summary;
        };
        let results = match spool.pending().await {
            Ok(results) => results,
            Err(e) => {
                error!(error = %error_chain(&e), "cannot read the result spool; results an earlier run left there are not reported");
                return summary;
            }
        };
        if results.is_empty() {
            return summary;
        }
        info!(
            results = results.len(),
            "reporting the results an earlier run left in the spool before polling for new tasks"
        );
        let mut replays = JoinSet::new();
        for result in results {
            let span = info_span!(
                "spooled_result",
                activity = %result.activity,
                task_id = %result.task_id(),
            );
            let reporter = self.reporter.clone();
            replays.spawn(async move { reporter.replay(result).await }.instrument(span));
        }
        while let Some(joined) = replays.join_next().await {
            match joined {
                Ok(delivery) => summary.record(&delivery),
                Err(e) => {
                    error!(error = %e, "reporting a spooled result ended abnormally; it stays in the spool");
                    summary.kept += 1;
                }
            }
        }
        info!(?summary, "spooled results reported");
        summary
    }
}

/// One poller: take a slot, poll, hand the task to a tracked task holding the slot, repeat.
async fn poll_loop(shared: Arc<Shared>, activity: Arc<RegisteredActivity>, slots: Arc<Semaphore>) {
    let mut backoff = shared.reporter.config.poll_backoff.start();
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
            .reporter
            .source
            .poll(&activity.arn, &shared.reporter.config.worker_name)
            .await
        {
            Ok(Some(task)) => {
                backoff.reset();
                let for_task = Arc::clone(&shared);
                let activity = Arc::clone(&activity);
                shared.tracker.spawn(async move {
                    let report = for_task
                        .reporter
                        .run_task(activity, task, for_task.interrupt.clone())
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

/// How the delivery of one result ended.
#[derive(Debug)]
enum Delivery {
    /// Step Functions accepted this report (a refused success becomes a failure first).
    Accepted(SpooledReport),
    /// Nothing can be reported any more: the token is gone or the task is past its deadline.
    Gone(String),
    /// The worker gave up; the result stays in the spool, when there is one.
    Kept(String),
}

impl Reporter {
    /// Runs one task: heartbeats while the activity runs and while its result is reported,
    /// cancels it when the task is gone or the worker is interrupted, and reports the result.
    async fn run_task(
        &self,
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
        let result = self
            .execute_and_report(&activity, task, &task_id, interrupt)
            .instrument(span)
            .await;
        TaskReport {
            activity: activity.name,
            task_id,
            result,
        }
    }

    /// The heartbeat period for an activity with `heartbeat_seconds`.
    fn heartbeat_period(&self, heartbeat_seconds: u32) -> Duration {
        self.config
            .heartbeat_interval
            .unwrap_or_else(|| Duration::from_secs(u64::from(heartbeat_seconds)) / 3)
    }

    async fn execute_and_report(
        &self,
        activity: &RegisteredActivity,
        task: ActivityTask,
        task_id: &str,
        interrupt: CancellationToken,
    ) -> TaskResult {
        let ActivityTask { token, input } = task;
        let received_at = self.clock.now();
        let mut heartbeats = Heartbeats::start(
            Arc::clone(&self.source),
            token.clone(),
            self.heartbeat_period(activity.heartbeat_seconds),
        );
        if interrupt.is_cancelled() {
            info!("task received after the drain deadline; failing it as interrupted");
            let outcome = Outcome::worker_failure(
                WorkerError::Interrupted,
                "the worker was shutting down and its drain deadline had passed when the task arrived",
            );
            return self
                .report(activity, token, received_at, outcome, &mut heartbeats)
                .await;
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

        let joined: Option<Result<Outcome, JoinError>> = loop {
            tokio::select! {
                biased;
                joined = &mut work => break Some(joined),
                () = cancel.cancelled() => {
                    match tokio::time::timeout(self.config.cancel_grace, &mut work).await {
                        Ok(joined) => break Some(joined),
                        Err(_elapsed) => {
                            warn!(grace_s = self.config.cancel_grace.as_secs_f64(), "the activity ignored cancellation; aborting it");
                            work.abort();
                            break None;
                        }
                    }
                }
                () = heartbeats.due() => {
                    if heartbeats.beat().await {
                        if let Some(reason) = heartbeats.gone_error() {
                            warn!(%reason, "the task is gone; stopping heartbeats and cancelling the work");
                        }
                        cancel.cancel();
                    }
                }
            }
        };

        // The activity may notice the cancellation and return before this loop sees it: whatever
        // failure it returned after an interrupt is reported as the retryable interruption.
        let cancelled_by_interrupt = interrupt.is_cancelled();
        if let Some(reason) = heartbeats.gone_error() {
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
                    self.config.cancel_grace.as_secs()
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
        self.report(activity, token, received_at, outcome, &mut heartbeats)
            .await
    }

    /// Spools the outcome of a task, delivers it and says what became of it.
    async fn report(
        &self,
        activity: &RegisteredActivity,
        token: String,
        received_at: chrono::DateTime<chrono::Utc>,
        outcome: Outcome,
        heartbeats: &mut Heartbeats,
    ) -> TaskResult {
        // The error name sent if the report is accepted as a failure: the outcome's own, or the
        // one a refused output is failed with.
        let failed_as = match &outcome {
            Outcome::Failed { error, .. } => *error,
            Outcome::Succeeded(_) => WorkerError::InvalidOutput.name(),
        };
        let report = match outcome {
            Outcome::Succeeded(output) => SpooledReport::Success { output },
            Outcome::Failed { error, cause } => {
                debug!(%cause, "task cause");
                failure(error, &cause)
            }
        };
        let expires_at = (activity.timeout_seconds > 0)
            .then(|| received_at + chrono::Duration::seconds(i64::from(activity.timeout_seconds)));
        let spooled = SpooledResult {
            token,
            activity: activity.name.to_owned(),
            report,
            spooled_at: self.clock.now(),
            expires_at,
            heartbeat_seconds: activity.heartbeat_seconds,
        };
        heartbeats.alongside(self.keep(&spooled)).await;
        let result = match self.deliver(spooled, heartbeats).await {
            Delivery::Accepted(SpooledReport::Success { .. }) => TaskResult::Succeeded,
            Delivery::Accepted(SpooledReport::Failure { .. }) => {
                TaskResult::Failed { error: failed_as }
            }
            Delivery::Gone(reason) => TaskResult::Abandoned { reason },
            Delivery::Kept(reason) => TaskResult::Unreported { reason },
        };
        if matches!(result, TaskResult::Succeeded | TaskResult::Failed { .. }) {
            let succeeded = matches!(result, TaskResult::Succeeded);
            info!(?result, succeeded, "task reported");
        }
        result
    }

    /// Reports a result an earlier run spooled, unless its task is past its deadline.
    async fn replay(&self, result: SpooledResult) -> Delivery {
        let now = self.clock.now();
        if result.is_expired(now) {
            warn!(
                spooled_at = %result.spooled_at,
                expires_at = ?result.expires_at,
                "the spooled result's task is past its TimeoutSeconds deadline, so its token cannot be valid; dropping the result without reporting it"
            );
            self.forget(&result.token).await;
            return Delivery::Gone("the task is past its deadline".to_owned());
        }
        info!(spooled_at = %result.spooled_at, "reporting a spooled result");
        let mut heartbeats = Heartbeats::start(
            Arc::clone(&self.source),
            result.token.clone(),
            self.heartbeat_period(result.heartbeat_seconds),
        );
        self.deliver(result, &mut heartbeats).await
    }

    /// Reports `result` until it is accepted, the token is gone or the worker gives up, updating
    /// the spool and heartbeating meanwhile.
    async fn deliver(&self, mut result: SpooledResult, heartbeats: &mut Heartbeats) -> Delivery {
        loop {
            let sent = match &result.report {
                SpooledReport::Success { output } => {
                    self.send_with_retries(&result, heartbeats, || {
                        self.source.succeed(&result.token, output)
                    })
                    .await
                }
                SpooledReport::Failure { error, cause } => {
                    self.send_with_retries(&result, heartbeats, || {
                        self.source.fail(&result.token, error, cause)
                    })
                    .await
                }
            };
            let refused = match sent {
                Ok(()) => {
                    self.forget(&result.token).await;
                    return Delivery::Accepted(result.report);
                }
                Err(e) => e,
            };
            if refused.task_is_gone() {
                warn!(reason = %refused, "the task was gone when its result was reported; the result is dropped");
                self.forget(&result.token).await;
                return Delivery::Gone(refused.to_string());
            }
            if let TaskTokenError::InvalidOutput { .. } = &refused
                && matches!(result.report, SpooledReport::Success { .. })
            {
                let detail = error_chain(&refused);
                warn!(error = %detail, "Step Functions refused the task output; failing the task as Worker.InvalidOutput instead");
                result.report = failure(
                    WorkerError::InvalidOutput.name(),
                    &format!("Step Functions refused the task output: {detail}"),
                );
                // The refused success must not be replayed after a restart: spool the failure.
                heartbeats.alongside(self.keep(&result)).await;
                continue;
            }
            if result.is_expired(self.clock.now()) {
                warn!(error = %error_chain(&refused), "the result could not be reported before the task's TimeoutSeconds deadline; dropping it");
                self.forget(&result.token).await;
                return Delivery::Gone("the task is past its deadline".to_owned());
            }
            let retryable = matches!(&refused, TaskTokenError::Port(e) if e.is_retryable());
            let reason = error_chain(&refused);
            error!(
                error = %reason,
                retryable,
                spooled = self.spool.is_some(),
                "the task's result could not be reported; this is not a failure of the work, and it is not reported as one: the result stays in the spool and is reported again when the worker restarts (without a spool, Step Functions times the task out)"
            );
            return Delivery::Kept(reason);
        }
    }

    /// Calls `send` until it succeeds, fails for good, the attempts run out, the task's deadline
    /// passes or a heartbeat finds the token gone.
    async fn send_with_retries<F, Fut>(
        &self,
        result: &SpooledResult,
        heartbeats: &mut Heartbeats,
        mut send: F,
    ) -> Result<(), TaskTokenError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), TaskTokenError>>,
    {
        let mut backoff = self.config.report_backoff.start();
        loop {
            if let Some(gone) = heartbeats.gone_error() {
                return Err(gone);
            }
            match heartbeats.alongside(send()).await {
                Err(TaskTokenError::Port(e))
                    if e.is_retryable()
                        && backoff.attempts() + 1 < self.config.report_attempts
                        && !result.is_expired(self.clock.now()) =>
                {
                    let delay = backoff.next_delay();
                    warn!(
                        error = %error_chain(&e),
                        attempt = backoff.attempts(),
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "reporting the result failed; retrying while heartbeats keep the task alive"
                    );
                    heartbeats.sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    /// Writes `result` to the spool. A result that cannot be spooled is still reported, only
    /// without the safety net of a restart.
    async fn keep(&self, result: &SpooledResult) {
        if let Some(spool) = &self.spool
            && let Err(e) = spool.put(result).await
        {
            error!(error = %error_chain(&e), "the result could not be spooled; reporting it anyway, but a restart would lose it");
        }
    }

    /// Removes the result of `token` from the spool.
    async fn forget(&self, token: &str) {
        if let Some(spool) = &self.spool
            && let Err(e) = spool.remove(token).await
        {
            // It is harmless: a replay of a reported result finds the task closed and drops it.
            warn!(error = %error_chain(&e), "a reported result could not be removed from the spool");
        }
    }
}

/// A failure report, cut to the SendTaskFailure limits.
fn failure(error: &str, cause: &str) -> SpooledReport {
    SpooledReport::Failure {
        error: truncate_chars(error, MAX_ERROR_CHARS),
        cause: truncate_chars(cause, MAX_CAUSE_CHARS),
    }
}

/// An error and its sources, `: `-separated, for logs and causes.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
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
