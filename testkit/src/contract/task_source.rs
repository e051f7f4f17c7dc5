//! The contract suite of [`ActivityTaskSource`]: what every implementation (the in-memory fake,
//! the local Step Functions engine, Step Functions itself) must do, written against a small
//! harness trait so it does not depend on how tasks are scheduled or observed.
//!
//! Each case uses its own activity (named after the case), so cases do not see each other's tasks.
//! Two cases poll an activity with no task and therefore wait for one long-poll period: harnesses
//! should configure a short poll wait or run on a paused tokio clock.

use async_trait::async_trait;
use meeting_domain::ports::{ActivityTaskSource, TaskTokenError};

/// `SendTaskFailure.error` maximum length (Step Functions API Reference).
const MAX_ERROR_CHARS: usize = 256;
/// `SendTaskFailure.cause` maximum length (Step Functions API Reference).
const MAX_CAUSE_CHARS: usize = 32_768;
/// `SendTaskSuccess.output` maximum length: 262,144 bytes (Step Functions API Reference).
const MAX_OUTPUT_BYTES: usize = 262_144;

/// What the suite can observe of a task, however the implementation stores it.
#[derive(Clone, Debug, PartialEq)]
pub enum ObservedOutcome {
    /// Not closed yet (queued or running).
    Open,
    /// Completed with this output.
    Succeeded {
        /// The output, parsed.
        output: serde_json::Value,
    },
    /// Completed with this failure.
    Failed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// Anything else (timed out, stopped), described.
    Other(String),
}

/// How the suite drives one implementation.
#[async_trait]
pub trait TaskSourceHarness: Send + Sync {
    /// The implementation under test.
    fn source(&self) -> &dyn ActivityTaskSource;

    /// The ARN of an activity named `name` that the implementation serves (created if needed).
    async fn activity_arn(&self, name: &str) -> String;

    /// Schedules a task of `activity_arn` with `input` (without heartbeat or task timeouts), and
    /// returns a handle to observe it (a token, an execution ARN: the harness decides).
    async fn enqueue(&self, activity_arn: &str, input: &str) -> String;

    /// What became of the task behind `handle`.
    async fn outcome(&self, handle: &str) -> ObservedOutcome;
}

/// Runs every case.
pub async fn run_all<H: TaskSourceHarness>(harness: &H) {
    poll_hands_out_the_enqueued_input(harness).await;
    each_task_is_handed_out_once(harness).await;
    succeed_records_the_output(harness).await;
    fail_records_the_error_and_cause(harness).await;
    fail_accepts_error_and_cause_at_the_api_limits(harness).await;
    an_output_above_the_payload_quota_is_invalid_output(harness).await;
    heartbeat_on_a_running_task_is_accepted(harness).await;
    a_closed_task_rejects_every_further_call(harness).await;
    an_unknown_token_is_invalid(harness).await;
    a_poll_of_another_activity_gets_nothing(harness).await;
}

async fn poll_one<H: TaskSourceHarness>(
    harness: &H,
    arn: &str,
) -> meeting_domain::ports::ActivityTask {
    harness
        .source()
        .poll(arn, "contract-worker")
        .await
        .expect("poll must succeed")
        .expect("an enqueued task must be handed out")
}

/// GIVEN a queued task WHEN a worker polls its activity THEN it gets the task's exact input and a
/// token, and the task is open.
pub async fn poll_hands_out_the_enqueued_input<H: TaskSourceHarness>(harness: &H) {
    let arn = harness.activity_arn("contract-poll").await;
    let input = r#"{"recordingId":"r-1","n":1}"#;
    let handle = harness.enqueue(&arn, input).await;
    let task = poll_one(harness, &arn).await;
    assert!(!task.token.is_empty(), "a task token must not be empty");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&task.input).expect("input is JSON"),
        serde_json::from_str::<serde_json::Value>(input).expect("input is JSON"),
    );
    assert_eq!(harness.outcome(&handle).await, ObservedOutcome::Open);
}

/// GIVEN two queued tasks WHEN a worker polls twice THEN it gets both, with distinct tokens.
pub async fn each_task_is_handed_out_once<H: TaskSourceHarness>(harness: &H) {
    let arn = harness.activity_arn("contract-once").await;
    harness.enqueue(&arn, r#"{"n":1}"#).await;
    harness.enqueue(&arn, r#"{"n":2}"#).await;
    let first = poll_one(harness, &arn).await;
    let second = poll_one(harness, &arn).await;
    assert_ne!(first.token, second.token, "each task has its own token");
    let mut inputs: Vec<serde_json::Value> = [first.input, second.input]
        .iter()
        .map(|i| serde_json::from_str(i).expect("input is JSON"))
        .collect();
    inputs.sort_by_key(|v| v["n"].as_i64());
    assert_eq!(
        inputs,
        vec![serde_json::json!({"n":1}), serde_json::json!({"n":2})]
    );
}

/// GIVEN a running task WHEN the worker succeeds it THEN the output is recorded.
pub async fn succeed_records_the_output<H: TaskSourceHarness>(harness: &H) {
    let arn = harness.activity_arn("contract-succeed").await;
    let handle = harness.enqueue(&arn, "{}").await;
    let task = poll_one(harness, &arn).await;
    harness
        .source()
        .succeed(&task.token, r#"{"audioKey":"a.flac"}"#)
        .await
        .expect("succeed must be accepted");
    assert_eq!(
        harness.outcome(&handle).await,
        ObservedOutcome::Succeeded {
            output: serde_json::json!({"audioKey":"a.flac"})
        }
    );
}

/// GIVEN a running task WHEN the worker fails it THEN the error and cause are recorded.
pub async fn fail_records_the_error_and_cause<H: TaskSourceHarness>(harness: &H) {
    let arn = harness.activity_arn("contract-fail").await;
    let handle = harness.enqueue(&arn, "{}").await;
    let task = poll_one(harness, &arn).await;
    harness
        .source()
        .fail(&task.token, "Media.ChunkInvalid", "chunk 3 is not MP4")
        .await
        .expect("fail must be accepted");
    assert_eq!(
        harness.outcome(&handle).await,
        ObservedOutcome::Failed {
            error: "Media.ChunkInvalid".into(),
            cause: "chunk 3 is not MP4".into()
        }
    );
}

/// GIVEN a running task WHEN the worker fails it with an error of 256 and a cause of 32,768
/// characters (the API maxima) THEN both are accepted whole.
pub async fn fail_accepts_error_and_cause_at_the_api_limits<H: TaskSourceHarness>(harness: &H) {
    let arn = harness.activity_arn("contract-limits").await;
    let handle = harness.enqueue(&arn, "{}").await;
    let task = poll_one(harness, &arn).await;
    let error = "E".repeat(MAX_ERROR_CHARS);
    let cause = "c".repeat(MAX_CAUSE_CHARS);
    harness
        .source()
        .fail(&task.token, &error, &cause)
        .await
        .expect("an error and cause at the API limits must be accepted");
    assert_eq!(
        harness.outcome(&handle).await,
        ObservedOutcome::Failed { error, cause }
    );
}

/// GIVEN a running task WHEN the worker succeeds it with an output above the 256 KiB payload
/// quota THEN the output is refused as `InvalidOutput` (the token is not gone) and the task stays
/// open, so the worker can still fail it.
pub async fn an_output_above_the_payload_quota_is_invalid_output<H: TaskSourceHarness>(
    harness: &H,
) {
    let arn = harness.activity_arn("contract-output-quota").await;
    let handle = harness.enqueue(&arn, "{}").await;
    let task = poll_one(harness, &arn).await;
    let output = serde_json::json!({ "text": "x".repeat(MAX_OUTPUT_BYTES) }).to_string();
    let result = harness.source().succeed(&task.token, &output).await;
    assert!(
        matches!(&result, Err(e @ TaskTokenError::InvalidOutput { .. }) if !e.task_is_gone()),
        "an output of {} bytes: {result:?}",
        output.len()
    );
    assert_eq!(harness.outcome(&handle).await, ObservedOutcome::Open);
    harness
        .source()
        .fail(&task.token, "Worker.InvalidOutput", "too large")
        .await
        .expect("the task can still be failed");
}

/// GIVEN a running task WHEN the worker heartbeats THEN the heartbeat is accepted and the task
/// stays open.
pub async fn heartbeat_on_a_running_task_is_accepted<H: TaskSourceHarness>(harness: &H) {
    let arn = harness.activity_arn("contract-heartbeat").await;
    let handle = harness.enqueue(&arn, "{}").await;
    let task = poll_one(harness, &arn).await;
    harness
        .source()
        .heartbeat(&task.token)
        .await
        .expect("a heartbeat on a running task must be accepted");
    assert_eq!(harness.outcome(&handle).await, ObservedOutcome::Open);
}

/// GIVEN a completed task WHEN the worker heartbeats, succeeds or fails it again THEN every call
/// says the task is gone, and the first result stands.
pub async fn a_closed_task_rejects_every_further_call<H: TaskSourceHarness>(harness: &H) {
    let arn = harness.activity_arn("contract-closed").await;
    let handle = harness.enqueue(&arn, "{}").await;
    let task = poll_one(harness, &arn).await;
    let source = harness.source();
    source
        .succeed(&task.token, r#"{"first":true}"#)
        .await
        .expect("succeed");
    let heartbeat = source.heartbeat(&task.token).await;
    assert!(
        matches!(&heartbeat, Err(e) if e.task_is_gone()),
        "heartbeat on a closed task: {heartbeat:?}"
    );
    let again = source.succeed(&task.token, r#"{"first":false}"#).await;
    assert!(
        matches!(&again, Err(e) if e.task_is_gone()),
        "second succeed: {again:?}"
    );
    let fail = source.fail(&task.token, "E", "late").await;
    assert!(
        matches!(&fail, Err(e) if e.task_is_gone()),
        "fail after succeed: {fail:?}"
    );
    assert_eq!(
        harness.outcome(&handle).await,
        ObservedOutcome::Succeeded {
            output: serde_json::json!({"first": true})
        }
    );
}

/// GIVEN a token the implementation never issued WHEN a worker heartbeats it THEN it is
/// `InvalidToken`.
pub async fn an_unknown_token_is_invalid<H: TaskSourceHarness>(harness: &H) {
    let result = harness.source().heartbeat("not-a-task-token").await;
    assert!(
        matches!(result, Err(TaskTokenError::InvalidToken)),
        "unknown token: {result:?}"
    );
}

/// GIVEN a task of activity A WHEN a worker polls activity B THEN the poll ends without a task,
/// and a poll of A still gets it.
pub async fn a_poll_of_another_activity_gets_nothing<H: TaskSourceHarness>(harness: &H) {
    let a = harness.activity_arn("contract-route-a").await;
    let b = harness.activity_arn("contract-route-b").await;
    harness.enqueue(&a, r#"{"for":"a"}"#).await;
    let polled = harness
        .source()
        .poll(&b, "contract-worker")
        .await
        .expect("poll must succeed");
    assert!(polled.is_none(), "activity B got A's task: {polled:?}");
    let task = poll_one(harness, &a).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&task.input).expect("JSON"),
        serde_json::json!({"for":"a"})
    );
}
