//! The in-memory task source of the testkit: its own timeout semantics, and the contract suite
//! every ActivityTaskSource implementation passes (run here, where a paused tokio clock is
//! available).

use std::time::Duration;

use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTaskSource, TaskTokenError};
use recorder_testkit::contract::task_source as contract;
use recorder_testkit::memory::task_source::{
    MAX_CAUSE_CHARS, MemoryTaskSource, MemoryTaskSourceHarness, Operation, TaskLimits, TaskStatus,
};

fn harness() -> MemoryTaskSourceHarness {
    MemoryTaskSourceHarness {
        source: MemoryTaskSource::with_poll_wait(Duration::from_secs(1)),
    }
}

#[tokio::test(start_paused = true)]
async fn the_memory_task_source_passes_the_contract_suite() {
    contract::run_all(&harness()).await;
}

const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:test";

#[tokio::test(start_paused = true)]
async fn given_a_heartbeat_timeout_when_the_worker_is_silent_then_the_task_times_out() {
    let source = MemoryTaskSource::new();
    let token = source.enqueue_with_limits(
        ARN,
        "{}",
        TaskLimits {
            heartbeat: Some(Duration::from_secs(30)),
            timeout: None,
        },
    );
    let task = source.poll(ARN, "w").await.expect("poll").expect("task");
    tokio::time::advance(Duration::from_secs(20)).await;
    source
        .heartbeat(&task.token)
        .await
        .expect("heartbeat in time");
    tokio::time::advance(Duration::from_secs(29)).await;
    assert_eq!(source.status(&token), Some(TaskStatus::Running));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(source.status(&token), Some(TaskStatus::TimedOut));
    let late = source.heartbeat(&task.token).await;
    assert!(matches!(late, Err(TaskTokenError::TimedOut)), "{late:?}");
}

#[tokio::test(start_paused = true)]
async fn given_a_task_timeout_when_heartbeats_continue_then_the_hard_cap_still_applies() {
    let source = MemoryTaskSource::new();
    let token = source.enqueue_with_limits(
        ARN,
        "{}",
        TaskLimits {
            heartbeat: Some(Duration::from_secs(10)),
            timeout: Some(Duration::from_secs(25)),
        },
    );
    source.poll(ARN, "w").await.expect("poll").expect("task");
    for _ in 0..2 {
        tokio::time::advance(Duration::from_secs(9)).await;
        source.heartbeat(&token).await.expect("heartbeat in time");
    }
    tokio::time::advance(Duration::from_secs(9)).await;
    assert!(matches!(
        source.heartbeat(&token).await,
        Err(TaskTokenError::TimedOut)
    ));
}

#[tokio::test(start_paused = true)]
async fn given_a_stopped_execution_when_the_worker_reports_then_the_task_does_not_exist() {
    let source = MemoryTaskSource::new();
    let token = source.enqueue(ARN, "{}");
    source.poll(ARN, "w").await.expect("poll").expect("task");
    source.stop(&token);
    assert!(matches!(
        source.succeed(&token, "{}").await,
        Err(TaskTokenError::TaskDoesNotExist)
    ));
}

#[tokio::test(start_paused = true)]
async fn given_an_open_poll_when_a_task_is_enqueued_then_the_poll_returns_it() {
    let source = MemoryTaskSource::new();
    let poller = tokio::spawn({
        let source = source.clone();
        async move { source.poll(ARN, "w").await }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(source.open_polls(), 1);
    let token = source.enqueue(ARN, r#"{"a":1}"#);
    let task = poller.await.expect("join").expect("poll").expect("task");
    assert_eq!(task.token, token);
    assert_eq!(source.open_polls(), 0);
}

#[tokio::test(start_paused = true)]
async fn given_injected_failures_when_called_then_they_fail_once_each_and_are_retryable() {
    let source = MemoryTaskSource::new();
    source.fail_next(Operation::Poll, 1);
    let failed = source.poll(ARN, "w").await;
    assert!(
        matches!(failed, Err(ref e) if e.is_retryable()),
        "{failed:?}"
    );
    source.enqueue(ARN, "{}");
    assert!(source.poll(ARN, "w").await.expect("poll").is_some());
}

#[tokio::test(start_paused = true)]
async fn given_a_cause_over_the_api_limit_when_failing_then_the_fake_rejects_it_like_the_api() {
    let source = MemoryTaskSource::new();
    let token = source.enqueue(ARN, "{}");
    source.poll(ARN, "w").await.expect("poll").expect("task");
    let result = source
        .fail(&token, "E", &"x".repeat(MAX_CAUSE_CHARS + 1))
        .await;
    assert!(matches!(
        result,
        Err(TaskTokenError::Port(PortError::Rejected { .. }))
    ));
    assert_eq!(source.status(&token), Some(TaskStatus::Running));
}
