//! Result delivery, on a paused tokio clock: heartbeats keep a finished task alive while its report
//! is retried, report errors are classified (a refused report is never turned into a failure of
//! the work), and results are spooled so that a restarted worker still reports them. What is
//! logged meanwhile is checked in `worker_logs.rs`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use activity_runtime::{
    Activity, Backoff, Failure, FsResultSpool, MemoryResultSpool, Registry, ReplaySummary,
    ResultSpool, SpooledReport, TaskContext, TaskResult, Worker, WorkerConfig,
};
use async_trait::async_trait;
use meeting_domain::activity::{ActivityContract, ActivityErrorName};
use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTask, ActivityTaskSource, TaskTokenError};
use recorder_testkit::chaos::ManualClock;
use recorder_testkit::memory::task_source::{MemoryTaskSource, TaskLimits, TaskStatus};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:activity:test";
const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:test-deliver";

// ------------------------------------------------------------------------------------------
// A test activity: works for `workSeconds`, then returns `value` (or `size` bytes of text).
// ------------------------------------------------------------------------------------------

struct DeliverContract;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeliverInput {
    work_seconds: u64,
    #[serde(default)]
    output_bytes: usize,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeliverOutput {
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeliverError {
    Broken,
}

impl ActivityErrorName for DeliverError {
    const ALL: &'static [Self] = &[Self::Broken];
    fn name(self) -> &'static str {
        "Deliver.Broken"
    }
    fn retryable(self) -> bool {
        false
    }
}

impl ActivityContract for DeliverContract {
    const NAME: &'static str = "deliver";
    const HEARTBEAT_SECONDS: u32 = 30;
    const TIMEOUT_SECONDS: u32 = 3600;
    type Input = DeliverInput;
    type Output = DeliverOutput;
    type Error = DeliverError;
}

struct Deliver;

#[async_trait]
impl Activity for Deliver {
    type Contract = DeliverContract;

    async fn run(
        &self,
        input: DeliverInput,
        _ctx: &TaskContext,
    ) -> Result<DeliverOutput, Failure<DeliverError>> {
        tokio::time::sleep(Duration::from_secs(input.work_seconds)).await;
        Ok(DeliverOutput {
            text: "x".repeat(input.output_bytes.max(2)),
        })
    }
}

fn input(work_seconds: u64) -> String {
    serde_json::json!({"workSeconds": work_seconds}).to_string()
}

const OUTPUT: &str = r#"{"text":"xx"}"#;

/// Limits of the task state: `HeartbeatSeconds` 30, `TimeoutSeconds` 3600.
fn limits() -> TaskLimits {
    TaskLimits {
        heartbeat: Some(Duration::from_secs(30)),
        timeout: Some(Duration::from_secs(3600)),
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        worker_name: "test-worker".into(),
        report_backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
        ..WorkerConfig::default()
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new(PREFIX);
    registry.register(Deliver).expect("register deliver");
    registry
}

// ------------------------------------------------------------------------------------------
// A task source double: the in-memory source with scripted report errors and counted reports.
// ------------------------------------------------------------------------------------------

/// An error a report call can be made to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Injected {
    /// `ThrottlingException`: retryable.
    Throttled,
    /// `AccessDeniedException`: not retryable, and says nothing about the work.
    AccessDenied,
    /// Any other non-retryable refusal.
    Rejected,
    /// SendTaskSuccess `InvalidOutput`: the output itself is refused.
    InvalidOutput,
}

impl Injected {
    fn error(self) -> TaskTokenError {
        let source = format!("injected {self:?}").into();
        TaskTokenError::Port(match self {
            Self::InvalidOutput => return TaskTokenError::InvalidOutput { source },
            Self::Throttled => PortError::Throttled {
                service: "scripted",
                source,
            },
            Self::AccessDenied => PortError::AccessDenied {
                service: "scripted",
                source,
            },
            Self::Rejected => PortError::Rejected {
                service: "scripted",
                source,
            },
        })
    }
}

#[derive(Debug, Default)]
struct Script {
    /// Errors returned by the next report calls (SendTaskSuccess and SendTaskFailure), in order.
    next: VecDeque<Injected>,
    /// Returned by every report call once `next` is empty.
    always: Option<Injected>,
    polls: usize,
    /// Polls started before the first SendTaskSuccess.
    polls_before_first_report: Option<usize>,
    succeed_calls: usize,
    successes_accepted: usize,
    failures_sent: Vec<String>,
    /// What the spool held for the token at each SendTaskSuccess.
    spooled_at_report: Vec<Option<SpooledReport>>,
}

/// The in-memory task source, with scripted report errors.
#[derive(Clone, Debug)]
struct Scripted {
    inner: MemoryTaskSource,
    script: Arc<Mutex<Script>>,
    /// A spool to look into at each SendTaskSuccess.
    watched: Option<MemoryResultSpool>,
}

impl Scripted {
    fn new(inner: &MemoryTaskSource) -> Self {
        Self {
            inner: inner.clone(),
            script: Arc::default(),
            watched: None,
        }
    }

    fn watching(inner: &MemoryTaskSource, spool: &MemoryResultSpool) -> Self {
        Self {
            watched: Some(spool.clone()),
            ..Self::new(inner)
        }
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().expect("script lock")
    }

    fn injected(&self) -> Option<TaskTokenError> {
        let mut script = self.script();
        script
            .next
            .pop_front()
            .or(script.always)
            .map(Injected::error)
    }
}

#[async_trait]
impl ActivityTaskSource for Scripted {
    async fn poll(
        &self,
        activity_arn: &str,
        worker_name: &str,
    ) -> Result<Option<ActivityTask>, PortError> {
        self.script().polls += 1;
        self.inner.poll(activity_arn, worker_name).await
    }

    async fn heartbeat(&self, token: &str) -> Result<(), TaskTokenError> {
        self.inner.heartbeat(token).await
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<(), TaskTokenError> {
        let spooled = match &self.watched {
            Some(spool) => Some(
                spool
                    .pending()
                    .await
                    .expect("list")
                    .into_iter()
                    .find(|r| r.token == token)
                    .map(|r| r.report),
            ),
            None => None,
        };
        {
            let mut script = self.script();
            script.succeed_calls += 1;
            script.polls_before_first_report =
                script.polls_before_first_report.or(Some(script.polls));
            if let Some(spooled) = spooled {
                script.spooled_at_report.push(spooled);
            }
        }
        if let Some(e) = self.injected() {
            return Err(e);
        }
        let result = self.inner.succeed(token, output).await;
        if result.is_ok() {
            self.script().successes_accepted += 1;
        }
        result
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskTokenError> {
        self.script().failures_sent.push(error.to_owned());
        if let Some(e) = self.injected() {
            return Err(e);
        }
        self.inner.fail(token, error, cause).await
    }
}

// ------------------------------------------------------------------------------------------
// Heartbeats while the report is retried
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_a_report_retried_past_the_heartbeat_timeout_when_it_is_finally_accepted_then_heartbeats_kept_the_task_alive()
 {
    let memory = MemoryTaskSource::new();
    let source = Scripted::new(&memory);
    let config = WorkerConfig {
        // Six refusals: backoff of at least 2 + 4 + 8 + 8 + 8 + 8 = 38 s, longer than the task
        // state's 30 s HeartbeatSeconds.
        report_backoff: Backoff {
            initial: Duration::from_secs(4),
            max: Duration::from_secs(16),
        },
        report_attempts: 10,
        ..config()
    };
    let worker = Worker::new(Arc::new(source.clone()), registry(), config).expect("worker");
    let token = memory.enqueue_with_limits(ARN, &input(5), limits());
    source.script().next.extend([Injected::Throttled; 6]);

    let report = worker
        .run_one("deliver")
        .await
        .expect("run")
        .expect("a task");

    assert_eq!(report.result, TaskResult::Succeeded);
    assert_eq!(
        memory.status(&token),
        Some(TaskStatus::Succeeded {
            output: OUTPUT.into()
        })
    );
    let finished = memory.started_at(&token).expect("started") + Duration::from_secs(5);
    let while_reporting = memory
        .heartbeats(&token)
        .iter()
        .filter(|t| **t > finished)
        .count();
    assert!(
        while_reporting >= 3,
        "only {while_reporting} heartbeats while the report was retried"
    );
    let script = source.script();
    assert_eq!((script.succeed_calls, script.successes_accepted), (7, 1));
    assert!(
        script.failures_sent.is_empty(),
        "{:?}",
        script.failures_sent
    );
}

// ------------------------------------------------------------------------------------------
// Report errors that say nothing about the work
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_a_non_retryable_refusal_of_a_success_when_reporting_then_no_invalid_output_failure_is_sent_and_the_result_stays_spooled()
 {
    for refusal in [Injected::AccessDenied, Injected::Rejected] {
        let memory = MemoryTaskSource::new();
        let source = Scripted::new(&memory);
        let spool = MemoryResultSpool::new();
        let worker = Worker::new(Arc::new(source.clone()), registry(), config())
            .expect("worker")
            .with_spool(Arc::new(spool.clone()));
        let token = memory.enqueue_with_limits(ARN, &input(1), limits());
        source.script().always = Some(refusal);

        let report = worker
            .run_one("deliver")
            .await
            .expect("run")
            .expect("a task");

        assert!(
            matches!(report.result, TaskResult::Unreported { .. }),
            "{refusal:?}: {report:?}"
        );
        let (failures_sent, succeed_calls) = {
            let script = source.script();
            (script.failures_sent.clone(), script.succeed_calls)
        };
        assert!(
            failures_sent.is_empty(),
            "{refusal:?}: the work was failed as {failures_sent:?}"
        );
        assert_eq!(succeed_calls, 1, "{refusal:?}: a refusal is not retried");
        assert_eq!(memory.status(&token), Some(TaskStatus::Running));
        let spooled = spool.pending().await.expect("list");
        assert_eq!(spooled.len(), 1, "{refusal:?}");
        assert_eq!(spooled[0].token, token);
        assert_eq!(spooled[0].activity, "deliver");
        assert_eq!(
            spooled[0].report,
            SpooledReport::Success {
                output: OUTPUT.into()
            }
        );
    }
}

// ------------------------------------------------------------------------------------------
// The spool
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_a_finished_task_when_its_result_is_first_reported_then_it_is_already_spooled_and_is_removed_once_accepted()
 {
    let memory = MemoryTaskSource::new();
    let spool = MemoryResultSpool::new();
    let source = Scripted::watching(&memory, &spool);
    let worker = Worker::new(Arc::new(source.clone()), registry(), config())
        .expect("worker")
        .with_spool(Arc::new(spool.clone()));
    memory.enqueue_with_limits(ARN, &input(1), limits());
    source.script().next.push_back(Injected::Throttled);

    let report = worker
        .run_one("deliver")
        .await
        .expect("run")
        .expect("a task");

    assert_eq!(report.result, TaskResult::Succeeded);
    let success = Some(SpooledReport::Success {
        output: OUTPUT.into(),
    });
    assert_eq!(
        source.script().spooled_at_report,
        vec![success.clone(), success]
    );
    assert!(spool.pending().await.expect("list").is_empty());
}

/// A spool directory that outlives the workers of one test.
fn spool_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn fs_spool(dir: &tempfile::TempDir) -> Arc<FsResultSpool> {
    Arc::new(FsResultSpool::open(dir.path()).expect("open the spool"))
}

/// Resolves once the task of `token` is closed.
async fn closed(memory: MemoryTaskSource, token: String) {
    while !memory.status(&token).is_some_and(|s| s.is_closed()) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn given_a_worker_that_gave_up_reporting_when_a_new_worker_starts_on_the_same_spool_then_it_delivers_the_result_before_polling()
 {
    let dir = spool_dir();
    let memory = MemoryTaskSource::new();
    let token = memory.enqueue_with_limits(ARN, &input(1), limits());
    let failing = Scripted::new(&memory);
    failing.script().always = Some(Injected::Throttled);
    let first = Worker::new(
        Arc::new(failing.clone()),
        registry(),
        WorkerConfig {
            report_attempts: 3,
            ..config()
        },
    )
    .expect("worker")
    .with_spool(fs_spool(&dir));
    let report = first
        .run_one("deliver")
        .await
        .expect("run")
        .expect("a task");
    assert!(
        matches!(report.result, TaskResult::Unreported { .. }),
        "{report:?}"
    );
    assert_eq!(memory.status(&token), Some(TaskStatus::Running));

    let working = Scripted::new(&memory);
    let second = Worker::new(Arc::new(working.clone()), registry(), config())
        .expect("worker")
        .with_spool(fs_spool(&dir));
    let summary = second
        .run_until(closed(memory.clone(), token.clone()))
        .await;

    assert_eq!(
        memory.status(&token),
        Some(TaskStatus::Succeeded {
            output: OUTPUT.into()
        })
    );
    assert_eq!(
        summary.replayed,
        ReplaySummary {
            delivered: 1,
            dropped: 0,
            kept: 0
        }
    );
    assert!(fs_spool(&dir).pending().await.expect("list").is_empty());
    let script = working.script();
    assert_eq!((script.succeed_calls, script.successes_accepted), (1, 1));
    assert_eq!(script.polls_before_first_report, Some(0));
}

#[tokio::test(start_paused = true)]
async fn given_a_worker_dropped_while_retrying_a_report_when_a_new_worker_starts_on_the_same_spool_then_the_result_is_delivered()
 {
    let dir = spool_dir();
    let memory = MemoryTaskSource::new();
    let token = memory.enqueue_with_limits(ARN, &input(1), limits());
    let failing = Scripted::new(&memory);
    failing.script().always = Some(Injected::Throttled);
    let first = Worker::new(
        Arc::new(failing.clone()),
        registry(),
        WorkerConfig {
            report_attempts: 1000,
            ..config()
        },
    )
    .expect("worker")
    .with_spool(fs_spool(&dir));

    // The process dies (its future is dropped) in the middle of the report's retries.
    let crashed = tokio::time::timeout(Duration::from_secs(20), first.run_one("deliver")).await;
    assert!(crashed.is_err(), "the report should still be retrying");
    drop(first);
    assert!(failing.script().succeed_calls > 1);
    assert_eq!(memory.status(&token), Some(TaskStatus::Running));

    let second = Worker::new(Arc::new(memory.clone()), registry(), config())
        .expect("worker")
        .with_spool(fs_spool(&dir));
    let replayed = second.replay_spooled().await;

    assert_eq!(replayed.delivered, 1, "{replayed:?}");
    assert_eq!(
        memory.status(&token),
        Some(TaskStatus::Succeeded {
            output: OUTPUT.into()
        })
    );
    assert!(fs_spool(&dir).pending().await.expect("list").is_empty());
}

#[tokio::test(start_paused = true)]
async fn given_a_spooled_result_whose_task_timed_out_when_a_new_worker_starts_then_it_is_dropped_and_not_retried()
 {
    let dir = spool_dir();
    let memory = MemoryTaskSource::new();
    let token = memory.enqueue_with_limits(ARN, &input(1), limits());
    let refusing = Scripted::new(&memory);
    refusing.script().always = Some(Injected::AccessDenied);
    let first = Worker::new(Arc::new(refusing), registry(), config())
        .expect("worker")
        .with_spool(fs_spool(&dir));
    first
        .run_one("deliver")
        .await
        .expect("run")
        .expect("a task");
    // Nobody heartbeats any more: past the 30 s HeartbeatSeconds the task times out.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(memory.status(&token), Some(TaskStatus::TimedOut));

    let working = Scripted::new(&memory);
    let second = Worker::new(Arc::new(working.clone()), registry(), config())
        .expect("worker")
        .with_spool(fs_spool(&dir));
    let replayed = second.replay_spooled().await;

    assert_eq!(
        replayed,
        ReplaySummary {
            delivered: 0,
            dropped: 1,
            kept: 0
        }
    );
    assert_eq!(
        working.script().succeed_calls,
        1,
        "a gone token is not retried"
    );
    assert!(fs_spool(&dir).pending().await.expect("list").is_empty());
}

#[tokio::test(start_paused = true)]
async fn given_a_spooled_result_past_its_task_deadline_when_a_new_worker_starts_then_it_is_dropped_without_a_call()
 {
    let clock = Arc::new(ManualClock::fixed());
    let spool = MemoryResultSpool::new();
    let memory = MemoryTaskSource::new();
    memory.enqueue(ARN, &input(1));
    let refusing = Scripted::new(&memory);
    refusing.script().always = Some(Injected::AccessDenied);
    let first = Worker::new(Arc::new(refusing), registry(), config())
        .expect("worker")
        .with_spool(Arc::new(spool.clone()))
        .with_clock(clock.clone());
    first
        .run_one("deliver")
        .await
        .expect("run")
        .expect("a task");
    let spooled = spool.pending().await.expect("list");
    assert_eq!(
        spooled[0].expires_at,
        Some(clock_now(&clock) + chrono::Duration::seconds(3600))
    );
    // The contract's TimeoutSeconds is 3600.
    clock.advance(chrono::Duration::seconds(3601));

    let working = Scripted::new(&memory);
    let second = Worker::new(Arc::new(working.clone()), registry(), config())
        .expect("worker")
        .with_spool(Arc::new(spool.clone()))
        .with_clock(clock);
    let replayed = second.replay_spooled().await;

    assert_eq!(replayed.dropped, 1, "{replayed:?}");
    assert_eq!(working.script().succeed_calls, 0);
    assert!(spool.pending().await.expect("list").is_empty());
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<chrono::Utc> {
    use meeting_domain::ports::Clock;
    clock.now()
}

// ------------------------------------------------------------------------------------------
// Outputs that are genuinely invalid
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_an_output_above_the_payload_quota_when_the_activity_returns_it_then_the_task_fails_as_invalid_output()
 {
    let memory = MemoryTaskSource::new();
    let source = Scripted::new(&memory);
    let worker = Worker::new(Arc::new(source.clone()), registry(), config()).expect("worker");
    let token = memory.enqueue_with_limits(
        ARN,
        &serde_json::json!({"workSeconds": 1, "outputBytes": 300_000}).to_string(),
        limits(),
    );

    let report = worker
        .run_one("deliver")
        .await
        .expect("run")
        .expect("a task");

    assert_eq!(
        report.result,
        TaskResult::Failed {
            error: "Worker.InvalidOutput"
        }
    );
    match memory.status(&token) {
        Some(TaskStatus::Failed { error, cause }) => {
            assert_eq!(error, "Worker.InvalidOutput");
            assert!(cause.contains("262144"), "{cause}");
        }
        other => panic!("expected a failed task, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn given_step_functions_refusing_the_output_as_invalid_when_reporting_then_the_task_fails_as_invalid_output()
 {
    let memory = MemoryTaskSource::new();
    let source = Scripted::new(&memory);
    let spool = MemoryResultSpool::new();
    let worker = Worker::new(Arc::new(source.clone()), registry(), config())
        .expect("worker")
        .with_spool(Arc::new(spool.clone()));
    let token = memory.enqueue_with_limits(ARN, &input(1), limits());
    source.script().next.push_back(Injected::InvalidOutput);

    let report = worker
        .run_one("deliver")
        .await
        .expect("run")
        .expect("a task");

    assert_eq!(
        report.result,
        TaskResult::Failed {
            error: "Worker.InvalidOutput"
        }
    );
    assert_eq!(source.script().failures_sent, vec!["Worker.InvalidOutput"]);
    match memory.status(&token) {
        Some(TaskStatus::Failed { error, cause }) => {
            assert_eq!(error, "Worker.InvalidOutput");
            assert!(cause.contains("injected InvalidOutput"), "{cause}");
        }
        other => panic!("expected a failed task, got {other:?}"),
    }
    assert!(spool.pending().await.expect("list").is_empty());
}
