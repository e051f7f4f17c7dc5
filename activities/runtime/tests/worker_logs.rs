//! What the worker's logs carry, on a paused tokio clock.
//!
//! In a test binary of their own on purpose: `tracing` caches each log callsite's interest
//! process-wide, and a callsite first hit by a test thread *without* a subscriber while another
//! test installs its thread-local one can be cached as "never" — the event then silently vanishes
//! from the other test's logs. Here every test installs its subscriber before anything logs, so
//! no callsite is ever registered without one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use activity_runtime::{
    Activity, Failure, MemoryResultSpool, Registry, ReplaySummary, ResultSpool, SpooledReport,
    SpooledResult, TaskContext, Worker, WorkerConfig,
};
use async_trait::async_trait;
use meeting_domain::activity::{ActivityContract, ActivityErrorName};
use meeting_domain::ports::ActivityTaskSource;
use recorder_testkit::memory::task_source::{MemoryTaskSource, TaskLimits, TaskStatus};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:activity:test";
const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:test-echo";

struct EchoContract;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EchoInput {
    recording_id: String,
    work_seconds: u64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct EchoOutput {
    value: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EchoError {
    Broken,
}

impl ActivityErrorName for EchoError {
    const ALL: &'static [Self] = &[Self::Broken];
    fn name(self) -> &'static str {
        "Echo.Broken"
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

/// Works for `workSeconds`, then fails.
struct Echo;

#[async_trait]
impl Activity for Echo {
    type Contract = EchoContract;

    async fn run(
        &self,
        input: EchoInput,
        _ctx: &TaskContext,
    ) -> Result<EchoOutput, Failure<EchoError>> {
        tokio::time::sleep(Duration::from_secs(input.work_seconds)).await;
        Err(Failure::new(EchoError::Broken, "it broke"))
    }
}

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut sink) = self.0.lock() {
            sink.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs a JSON subscriber writing here for the current thread, DEBUG and above.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_current_span(true)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8")
    }
}

fn worker(source: &MemoryTaskSource) -> Worker {
    let mut registry = Registry::new(PREFIX);
    registry.register(Echo).expect("register echo");
    Worker::new(
        Arc::new(source.clone()),
        registry,
        WorkerConfig {
            worker_name: "test-worker".into(),
            ..WorkerConfig::default()
        },
    )
    .expect("worker")
}

#[tokio::test(start_paused = true)]
async fn given_a_task_when_it_runs_then_logs_carry_activity_task_id_and_recording_id_but_never_the_token()
 {
    let captured = Captured::default();
    let _guard = captured.install();
    let source = MemoryTaskSource::new();
    let worker = worker(&source);
    let token = source.enqueue(
        ARN,
        &serde_json::json!({"recordingId": "rec-1", "workSeconds": 25}).to_string(),
    );

    let report = worker.run_one("echo").await.expect("run").expect("task");

    let logs = captured.text();
    assert!(logs.contains("task started"), "{logs}");
    assert!(logs.contains("heartbeat sent"), "{logs}");
    assert!(logs.contains(r#""activity":"echo""#), "{logs}");
    assert!(
        logs.contains(&format!(r#""task_id":"{}""#, report.task_id)),
        "{logs}"
    );
    assert!(logs.contains(r#""recording_id":"rec-1""#), "{logs}");
    assert!(
        !logs.contains(&token),
        "the task token leaked into the logs"
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_spooled_result_whose_task_timed_out_when_replayed_then_the_drop_is_logged_without_the_token()
 {
    let captured = Captured::default();
    let _guard = captured.install();
    let source = MemoryTaskSource::new();
    let token = source.enqueue_with_limits(
        ARN,
        &serde_json::json!({"recordingId": "rec-1", "workSeconds": 1}).to_string(),
        TaskLimits {
            heartbeat: Some(Duration::from_secs(30)),
            timeout: None,
        },
    );
    source
        .poll(ARN, "an-earlier-worker")
        .await
        .expect("poll")
        .expect("the task");
    // The worker that took it died; past HeartbeatSeconds the task times out.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(source.status(&token), Some(TaskStatus::TimedOut));
    let spool = MemoryResultSpool::new();
    spool
        .put(&SpooledResult {
            token: token.clone(),
            activity: "echo".into(),
            report: SpooledReport::Success {
                output: r#"{"value":1}"#.into(),
            },
            spooled_at: chrono::Utc::now(),
            expires_at: None,
            heartbeat_seconds: 30,
        })
        .await
        .expect("spool");

    let replayed = worker(&source)
        .with_spool(Arc::new(spool.clone()))
        .replay_spooled()
        .await;

    assert_eq!(
        replayed,
        ReplaySummary {
            dropped: 1,
            ..ReplaySummary::default()
        }
    );
    let logs = captured.text();
    assert!(
        logs.contains("the task was gone when its result was reported; the result is dropped"),
        "{logs}"
    );
    assert!(logs.contains(r#""reason":"the task timed out""#), "{logs}");
    assert!(logs.contains(r#""activity":"echo""#), "{logs}");
    assert!(
        !logs.contains(&token),
        "the task token leaked into the logs"
    );
}
