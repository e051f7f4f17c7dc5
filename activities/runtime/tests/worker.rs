//! Behaviour of the worker runtime against the in-memory task source, on a paused tokio clock:
//! heartbeats, timeouts, shutdown and drain, panics, invalid output, the concurrency cap.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use activity_runtime::{
    Activity, Backoff, Failure, Registry, RuntimeError, TaskContext, TaskResult, Worker,
    WorkerConfig,
};
use async_trait::async_trait;
use meeting_domain::activity::{ActivityContract, ActivityErrorName};
use recorder_testkit::memory::task_source::{MemoryTaskSource, Operation, TaskLimits, TaskStatus};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:activity:test";
const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:test-echo";

// ------------------------------------------------------------------------------------------
// A test activity whose behaviour is chosen by its input.
// ------------------------------------------------------------------------------------------

struct EchoContract;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
enum Mode {
    Succeed,
    Fail,
    LongCause,
    Panic,
    BadOutput,
    IgnoreCancel,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EchoInput {
    recording_id: String,
    work_seconds: u64,
    mode: Mode,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EchoOutput {
    #[schemars(range(max = 100))]
    value: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EchoError {
    Broken,
    Cancelled,
}

impl ActivityErrorName for EchoError {
    const ALL: &'static [Self] = &[Self::Broken, Self::Cancelled];
    fn name(self) -> &'static str {
        match self {
            Self::Broken => "Echo.Broken",
            Self::Cancelled => "Echo.Cancelled",
        }
    }
    fn retryable(self) -> bool {
        false
    }
}

impl ActivityContract for EchoContract {
    const NAME: &'static str = "echo";
    const HEARTBEAT_SECONDS: u32 = 30;
    const TIMEOUT_SECONDS: u32 = 600;
    type Input = EchoInput;
    type Output = EchoOutput;
    type Error = EchoError;
}

/// What the activity saw, shared with the test.
#[derive(Debug, Default)]
struct Probe {
    started: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    saw_cancel: AtomicUsize,
}

struct Echo(Arc<Probe>);

struct InFlight<'a>(&'a Probe);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Activity for Echo {
    type Contract = EchoContract;

    async fn run(
        &self,
        input: EchoInput,
        ctx: &TaskContext,
    ) -> Result<EchoOutput, Failure<EchoError>> {
        let probe = &self.0;
        probe.started.fetch_add(1, Ordering::SeqCst);
        let now = probe.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        probe.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let _guard = InFlight(probe);
        let work = tokio::time::sleep(Duration::from_secs(input.work_seconds));
        if input.mode == Mode::IgnoreCancel {
            work.await;
        } else {
            tokio::select! {
                () = work => {}
                () = ctx.cancel.cancelled() => {
                    probe.saw_cancel.fetch_add(1, Ordering::SeqCst);
                    return Err(Failure::new(EchoError::Cancelled, "cancelled"));
                }
            }
        }
        match input.mode {
            Mode::Succeed | Mode::IgnoreCancel => Ok(EchoOutput { value: 7 }),
            Mode::Fail => Err(Failure::new(EchoError::Broken, "it broke")),
            Mode::LongCause => Err(Failure::new(EchoError::Broken, "é".repeat(40_000))),
            Mode::Panic => panic!("the echo activity panicked on purpose"),
            Mode::BadOutput => Ok(EchoOutput { value: 1000 }),
        }
    }
}

fn input(work_seconds: u64, mode: Mode) -> String {
    serde_json::json!({"recordingId": "rec-1", "workSeconds": work_seconds, "mode": mode})
        .to_string()
}

fn config(concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        worker_name: "test-worker".into(),
        concurrency,
        drain_deadline: Duration::from_secs(30),
        cancel_grace: Duration::from_secs(5),
        report_backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
        ..WorkerConfig::default()
    }
}

fn worker(source: &MemoryTaskSource, probe: &Arc<Probe>, config: WorkerConfig) -> Worker {
    let mut registry = Registry::new(PREFIX);
    registry
        .register(Echo(Arc::clone(probe)))
        .expect("register echo");
    Worker::new(Arc::new(source.clone()), registry, config).expect("worker")
}

fn failed_with(status: Option<TaskStatus>) -> (String, String) {
    match status {
        Some(TaskStatus::Failed { error, cause }) => (error, cause),
        other => panic!("expected a failed task, got {other:?}"),
    }
}

/// Resolves once every task of the source is closed.
async fn all_closed(source: MemoryTaskSource) {
    loop {
        if source.statuses().iter().all(|(_, s)| s.is_closed()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// ------------------------------------------------------------------------------------------
// Results
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_a_task_when_the_activity_succeeds_then_its_output_is_sent_with_send_task_success() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(1, Mode::Succeed));

    let report = worker.run_one("echo").await.expect("run").expect("a task");

    assert_eq!(report.result, TaskResult::Succeeded);
    assert_eq!(
        source.status(&token),
        Some(TaskStatus::Succeeded {
            output: r#"{"value":7}"#.into()
        })
    );
    assert_eq!(source.worker_name(&token).as_deref(), Some("test-worker"));
    assert!(!token.contains(&report.task_id));
}

#[tokio::test(start_paused = true)]
async fn given_an_activity_failure_when_reported_then_the_error_name_comes_from_its_closed_set() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(1, Mode::Fail));

    worker.run_one("echo").await.expect("run");

    assert_eq!(
        failed_with(source.status(&token)),
        ("Echo.Broken".to_owned(), "it broke".to_owned())
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_cause_above_the_api_limit_when_reported_then_it_is_truncated_and_accepted() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(1, Mode::LongCause));

    worker.run_one("echo").await.expect("run");

    // The fake rejects a cause above 32,768 characters like the API does.
    let (error, cause) = failed_with(source.status(&token));
    assert_eq!(error, "Echo.Broken");
    assert!(cause.chars().count() <= 32_768);
    assert!(cause.chars().count() > 32_000);
    assert!(cause.ends_with('…'));
}

#[tokio::test(start_paused = true)]
async fn given_output_that_breaks_the_output_schema_when_reported_then_the_task_fails_as_invalid_output()
 {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(1, Mode::BadOutput));

    worker.run_one("echo").await.expect("run");

    let (error, cause) = failed_with(source.status(&token));
    assert_eq!(error, "Worker.InvalidOutput");
    assert!(cause.contains("/value"), "{cause}");
}

#[tokio::test(start_paused = true)]
async fn given_input_that_does_not_parse_when_run_then_the_task_fails_as_invalid_input_without_running()
 {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, r#"{"recordingId":"r","workSeconds":"soon"}"#);

    worker.run_one("echo").await.expect("run");

    assert_eq!(failed_with(source.status(&token)).0, "Worker.InvalidInput");
    assert_eq!(probe.started.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn given_a_panicking_activity_when_run_then_the_task_fails_as_panicked_and_the_worker_lives_on()
 {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let panicking = source.enqueue(ARN, &input(1, Mode::Panic));
    let healthy = source.enqueue(ARN, &input(1, Mode::Succeed));

    let summary = worker.run_until(all_closed(source.clone())).await;

    let (error, cause) = failed_with(source.status(&panicking));
    assert_eq!(error, "Worker.Panicked");
    assert!(cause.contains("panicked on purpose"), "{cause}");
    assert!(matches!(
        source.status(&healthy),
        Some(TaskStatus::Succeeded { .. })
    ));
    assert_eq!(
        (summary.received, summary.failed, summary.succeeded),
        (2, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn given_transient_report_errors_when_reporting_then_the_result_is_retried_until_accepted() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(1, Mode::Succeed));
    source.fail_next(Operation::Report, 3);

    let report = worker.run_one("echo").await.expect("run").expect("task");

    assert_eq!(report.result, TaskResult::Succeeded);
    assert!(matches!(
        source.status(&token),
        Some(TaskStatus::Succeeded { .. })
    ));
}

// ------------------------------------------------------------------------------------------
// Heartbeats and timeouts
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_heartbeat_seconds_30_when_a_task_runs_35_s_then_it_heartbeats_every_10_s() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(35, Mode::Succeed));

    worker.run_one("echo").await.expect("run");

    let started = source.started_at(&token).expect("started");
    let offsets: Vec<u64> = source
        .heartbeats(&token)
        .iter()
        .map(|t| (*t - started).as_secs())
        .collect();
    assert_eq!(offsets, vec![10, 20, 30]);
}

#[tokio::test(start_paused = true)]
async fn given_a_heartbeat_override_when_a_task_runs_then_the_override_sets_the_cadence() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let config = WorkerConfig {
        heartbeat_interval: Some(Duration::from_secs(4)),
        ..config(1)
    };
    let worker = worker(&source, &probe, config);
    let token = source.enqueue(ARN, &input(13, Mode::Succeed));

    worker.run_one("echo").await.expect("run");

    let started = source.started_at(&token).expect("started");
    let offsets: Vec<u64> = source
        .heartbeats(&token)
        .iter()
        .map(|t| (*t - started).as_secs())
        .collect();
    assert_eq!(offsets, vec![4, 8, 12]);
}

#[tokio::test(start_paused = true)]
async fn given_transient_heartbeat_errors_when_a_task_runs_then_heartbeats_resume_at_the_next_tick()
{
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(45, Mode::Succeed));
    source.fail_next(Operation::Heartbeat, 2);

    let report = worker.run_one("echo").await.expect("run").expect("task");

    let started = source.started_at(&token).expect("started");
    let offsets: Vec<u64> = source
        .heartbeats(&token)
        .iter()
        .map(|t| (*t - started).as_secs())
        .collect();
    assert_eq!(offsets, vec![30, 40]);
    assert_eq!(report.result, TaskResult::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn given_a_task_that_timed_out_when_the_next_heartbeat_says_so_then_the_work_is_cancelled_and_heartbeats_stop()
 {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    // The task state's timeout (25 s) ends the task while the activity needs 300 s.
    let token = source.enqueue_with_limits(
        ARN,
        &input(300, Mode::Succeed),
        TaskLimits {
            heartbeat: Some(Duration::from_secs(30)),
            timeout: Some(Duration::from_secs(25)),
        },
    );
    let begin = Instant::now();

    let report = worker.run_one("echo").await.expect("run").expect("task");

    assert!(
        matches!(report.result, TaskResult::Abandoned { .. }),
        "{report:?}"
    );
    assert_eq!(probe.saw_cancel.load(Ordering::SeqCst), 1);
    assert_eq!(source.status(&token), Some(TaskStatus::TimedOut));
    // Heartbeats at 10 and 20 s were accepted; the one at 30 s found the task gone, and the work
    // stopped then instead of running its 300 s.
    assert_eq!(source.heartbeats(&token).len(), 2);
    assert_eq!((Instant::now() - begin).as_secs(), 30);
}

#[tokio::test(start_paused = true)]
async fn given_a_stopped_execution_when_the_worker_heartbeats_then_the_work_is_cancelled() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    let token = source.enqueue(ARN, &input(300, Mode::Succeed));
    let stopper = {
        let source = source.clone();
        let token = token.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(15)).await;
            source.stop(&token);
        }
    };

    let (report, ()) = tokio::join!(worker.run_one("echo"), stopper);

    let report = report.expect("run").expect("task");
    assert_eq!(
        report.result,
        TaskResult::Abandoned {
            reason: "the task does not exist".into()
        }
    );
    assert_eq!(probe.saw_cancel.load(Ordering::SeqCst), 1);
    assert_eq!(source.status(&token), Some(TaskStatus::Stopped));
}

// ------------------------------------------------------------------------------------------
// Concurrency and polling
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_concurrency_3_when_12_tasks_arrive_then_at_most_3_run_at_once_and_all_succeed() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(3));
    let tokens: Vec<String> = (0..12)
        .map(|_| source.enqueue(ARN, &input(10, Mode::Succeed)))
        .collect();

    let summary = worker.run_until(all_closed(source.clone())).await;

    assert_eq!(probe.max_in_flight.load(Ordering::SeqCst), 3);
    assert_eq!(summary.succeeded, 12);
    for token in &tokens {
        assert!(matches!(
            source.status(token),
            Some(TaskStatus::Succeeded { .. })
        ));
    }
    assert!(source.max_open_polls() <= 3);
}

#[tokio::test(start_paused = true)]
async fn given_every_slot_busy_when_tasks_wait_then_no_poll_is_open_beyond_the_free_slots() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(2));
    for _ in 0..2 {
        source.enqueue(ARN, &input(100, Mode::Succeed));
    }
    let observe = {
        let source = source.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(50)).await;
            assert_eq!(
                source.open_polls(),
                0,
                "a poll is open while every slot is busy"
            );
            assert_eq!(source.polls_started(), 2);
        }
    };

    let summary = worker.run_until(observe).await;

    // Shutdown came at 50 s; the 100 s tasks were interrupted at the 30 s drain deadline.
    assert_eq!((summary.received, summary.interrupted), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn given_failing_polls_when_the_worker_retries_then_it_backs_off_instead_of_spinning() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(1));
    source.fail_next(Operation::Poll, 1000);
    let sleep_20s = tokio::time::sleep(Duration::from_secs(20));

    worker.run_until(sleep_20s).await;

    // Delays of at least 0.5, 1, 2, 4, 8 s: at most 6 polls fit in 20 s.
    let polls = source.polls_started();
    assert!((3..=6).contains(&polls), "{polls} polls in 20 s");
}

// ------------------------------------------------------------------------------------------
// Shutdown
// ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn given_open_polls_when_shutdown_is_requested_then_tasks_they_return_still_run_and_no_new_poll_starts()
 {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(2));
    let shutdown = tokio::time::sleep(Duration::from_secs(5));
    let late_tasks = {
        let source = source.clone();
        async move {
            // After shutdown, while the two polls opened at t=0 are still open (60 s long poll).
            tokio::time::sleep(Duration::from_secs(10)).await;
            (0..3)
                .map(|_| source.enqueue(ARN, &input(20, Mode::Succeed)))
                .collect::<Vec<_>>()
        }
    };

    let (summary, tokens) = tokio::join!(worker.run_until(shutdown), late_tasks);

    assert_eq!(
        source.polls_started(),
        2,
        "no poll may start after shutdown"
    );
    assert_eq!(summary.received, 2);
    assert_eq!(summary.succeeded, 2);
    let statuses: Vec<TaskStatus> = tokens.iter().filter_map(|t| source.status(t)).collect();
    let succeeded = statuses
        .iter()
        .filter(|s| matches!(s, TaskStatus::Succeeded { .. }))
        .count();
    // Two were taken by the open polls and completed; the third was never taken, so it is still
    // queued for another worker: nothing lost.
    assert_eq!(succeeded, 2);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == TaskStatus::Queued)
            .count(),
        1
    );
    assert_eq!(source.open_polls(), 0);
}

#[tokio::test(start_paused = true)]
async fn given_running_tasks_when_the_drain_deadline_passes_then_they_are_cancelled_and_failed_as_interrupted()
 {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let worker = worker(&source, &probe, config(3));
    let cooperative = source.enqueue(ARN, &input(600, Mode::Succeed));
    let stubborn = source.enqueue(ARN, &input(600, Mode::IgnoreCancel));
    let quick = source.enqueue(ARN, &input(10, Mode::Succeed));
    let begin = Instant::now();

    let summary = worker
        .run_until(tokio::time::sleep(Duration::from_secs(5)))
        .await;

    // Shutdown at 5 s + drain 30 s + the stubborn task's 5 s grace.
    assert_eq!((Instant::now() - begin).as_secs(), 40);
    assert!(matches!(
        source.status(&quick),
        Some(TaskStatus::Succeeded { .. })
    ));
    for token in [&cooperative, &stubborn] {
        let (error, _cause) = failed_with(source.status(token));
        assert_eq!(error, "Worker.Interrupted");
    }
    assert_eq!(probe.saw_cancel.load(Ordering::SeqCst), 1);
    assert_eq!(
        (summary.received, summary.succeeded, summary.interrupted),
        (3, 1, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_task_arriving_after_the_drain_deadline_when_its_poll_returns_then_it_is_failed_as_interrupted_not_lost()
 {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let config = WorkerConfig {
        drain_deadline: Duration::from_secs(10),
        ..config(1)
    };
    let worker = worker(&source, &probe, config);
    let late = {
        let source = source.clone();
        async move {
            // Shutdown at 1 s, deadline at 11 s, the poll opened at 0 s is open until 60 s.
            tokio::time::sleep(Duration::from_secs(30)).await;
            source.enqueue(ARN, &input(5, Mode::Succeed))
        }
    };

    let (summary, token) = tokio::join!(
        worker.run_until(tokio::time::sleep(Duration::from_secs(1))),
        late
    );

    assert_eq!(failed_with(source.status(&token)).0, "Worker.Interrupted");
    assert_eq!(probe.started.load(Ordering::SeqCst), 0);
    assert_eq!(summary.interrupted, 1);
}

// ------------------------------------------------------------------------------------------
// Registration
// ------------------------------------------------------------------------------------------

#[test]
fn given_a_selection_naming_an_unregistered_activity_when_the_worker_is_built_then_it_is_refused() {
    let mut registry = Registry::new(PREFIX).only(["echo", "transcribe"]);
    registry
        .register(Echo(Arc::default()))
        .expect("register echo");
    let result = Worker::new(
        Arc::new(MemoryTaskSource::new()),
        registry,
        WorkerConfig::default(),
    );
    assert!(
        matches!(result, Err(RuntimeError::UnknownActivity { ref name, .. }) if name == "transcribe"),
        "{result:?}"
    );
}

#[test]
fn given_an_activity_registered_twice_when_registering_then_it_is_refused() {
    let mut registry = Registry::new(PREFIX);
    registry.register(Echo(Arc::default())).expect("first");
    assert!(matches!(
        registry.register(Echo(Arc::default())),
        Err(RuntimeError::DuplicateActivity { name: "echo" })
    ));
}

#[test]
fn given_a_selection_without_an_activity_when_registering_then_it_is_skipped_and_the_worker_has_nothing_to_do()
 {
    let mut registry = Registry::new(PREFIX).only(Vec::<String>::new());
    registry.register(Echo(Arc::default())).expect("skipped");
    assert!(registry.names().is_empty());
    let result = Worker::new(
        Arc::new(MemoryTaskSource::new()),
        registry,
        WorkerConfig::default(),
    );
    assert!(matches!(result, Err(RuntimeError::NoActivities)));
}

#[test]
fn given_an_activity_when_registered_then_its_arn_is_the_prefix_and_its_name() {
    let mut registry = Registry::new(PREFIX);
    registry.register(Echo(Arc::default())).expect("register");
    let worker = Worker::new(
        Arc::new(MemoryTaskSource::new()),
        registry,
        WorkerConfig::default(),
    )
    .expect("worker");
    let arns: Vec<&str> = worker.activities().map(|a| a.arn.as_str()).collect();
    assert_eq!(arns, vec![ARN]);
}

// ------------------------------------------------------------------------------------------
// Several activities in one worker
// ------------------------------------------------------------------------------------------

struct ShoutContract;

impl ActivityContract for ShoutContract {
    const NAME: &'static str = "shout";
    const HEARTBEAT_SECONDS: u32 = 60;
    const TIMEOUT_SECONDS: u32 = 600;
    type Input = EchoInput;
    type Output = EchoOutput;
    type Error = EchoError;
}

struct Shout;

#[async_trait]
impl Activity for Shout {
    type Contract = ShoutContract;

    async fn run(
        &self,
        input: EchoInput,
        _ctx: &TaskContext,
    ) -> Result<EchoOutput, Failure<EchoError>> {
        tokio::time::sleep(Duration::from_secs(input.work_seconds)).await;
        Ok(EchoOutput { value: 99 })
    }
}

#[tokio::test(start_paused = true)]
async fn given_two_registered_activities_when_tasks_of_both_arrive_then_each_runs_its_own_code() {
    let source = MemoryTaskSource::new();
    let probe = Arc::new(Probe::default());
    let mut registry = Registry::new(PREFIX);
    registry
        .register(Echo(Arc::clone(&probe)))
        .expect("echo")
        .register(Shout)
        .expect("shout");
    let worker = Worker::new(Arc::new(source.clone()), registry, config(2)).expect("worker");
    let echo = source.enqueue(ARN, &input(3, Mode::Succeed));
    let shout = source.enqueue(
        "arn:aws:states:us-east-1:123456789012:activity:test-shout",
        &input(3, Mode::Succeed),
    );

    let summary = worker.run_until(all_closed(source.clone())).await;

    assert_eq!(
        source.status(&echo),
        Some(TaskStatus::Succeeded {
            output: r#"{"value":7}"#.into()
        })
    );
    assert_eq!(
        source.status(&shout),
        Some(TaskStatus::Succeeded {
            output: r#"{"value":99}"#.into()
        })
    );
    assert_eq!(summary.succeeded, 2);
}
