//! Contract suite of [`WorkflowStarter`]: Step Functions name idempotency. Same name and input
//! while open → `AlreadyRunning` with the same ARN; other input → `Conflict`; concurrent starts of
//! one name create one execution. (A closed execution is also a `Conflict`; closing one is
//! implementation-specific, so that case lives with each implementation.)

use std::sync::Arc;

use meeting_domain::contracts::{ProcessingInput, ProcessingOptions};
use meeting_domain::ports::{ExecutionStatus, StartOutcome, WorkflowStarter};
use meeting_domain::{PortError, RecordingId, RecordingRef, UserId};

use super::chunk_table::unique_id;

/// A canonical input for `recording`.
pub fn input(recording: &RecordingId, chunk_count: u32) -> ProcessingInput {
    ProcessingInput {
        user_id: contract_user(),
        recording_id: recording.clone(),
        bucket: "contract-bucket".into(),
        chunk_count,
        run: 0,
        options: ProcessingOptions::default(),
        resume: None,
        manifest_key: None,
    }
}

fn contract_user() -> UserId {
    UserId::new("contract-user").expect("valid id")
}

/// The execution name of run 0 of `recording` of the contract user.
pub fn name_of(recording: &RecordingId) -> String {
    RecordingRef::new(contract_user(), recording.clone()).execution_name(0)
}

fn arn(outcome: &StartOutcome) -> &str {
    match outcome {
        StartOutcome::Started { execution_arn }
        | StartOutcome::AlreadyRunning { execution_arn } => execution_arn,
    }
}

/// Runs every case.
pub async fn run_all<T: WorkflowStarter + 'static>(make: impl Fn() -> T) {
    a_repeated_start_with_the_same_input_is_already_running(&make()).await;
    the_same_name_with_other_input_is_a_conflict(&make()).await;
    racing_starts_create_one_execution(Arc::new(make())).await;
    a_started_execution_describes_as_running_and_an_unknown_one_as_absent(&make()).await;
}

/// DescribeExecution: a started execution is `Running`; a name never started is `None` (AWS:
/// `ExecutionDoesNotExist`), which the reconciler reads as "start it".
pub async fn a_started_execution_describes_as_running_and_an_unknown_one_as_absent(
    starter: &impl WorkflowStarter,
) {
    let rec = RecordingId::new(unique_id("wf")).expect("valid id");
    let name = name_of(&rec);
    assert_eq!(starter.describe(&name).await.expect("describe"), None);
    starter.start(&name, &input(&rec, 2)).await.expect("start");
    let state = starter
        .describe(&name)
        .await
        .expect("describe")
        .expect("the started execution exists");
    assert_eq!(state.status, ExecutionStatus::Running);
}

/// Same name + input → `AlreadyRunning`, same ARN.
pub async fn a_repeated_start_with_the_same_input_is_already_running(
    starter: &impl WorkflowStarter,
) {
    let rec = RecordingId::new(unique_id("wf")).expect("valid id");
    let name = name_of(&rec);
    let first = starter.start(&name, &input(&rec, 3)).await.expect("start");
    assert!(matches!(first, StartOutcome::Started { .. }), "{first:?}");
    let second = starter.start(&name, &input(&rec, 3)).await.expect("start");
    assert!(
        matches!(second, StartOutcome::AlreadyRunning { .. }),
        "{second:?}"
    );
    assert_eq!(arn(&first), arn(&second));
}

/// Same name, other input → `Conflict`.
pub async fn the_same_name_with_other_input_is_a_conflict(starter: &impl WorkflowStarter) {
    let rec = RecordingId::new(unique_id("wf")).expect("valid id");
    let name = name_of(&rec);
    starter.start(&name, &input(&rec, 3)).await.expect("start");
    let other = starter.start(&name, &input(&rec, 4)).await;
    assert!(
        matches!(other, Err(PortError::Conflict { .. })),
        "{other:?}"
    );
}

/// Concurrent starts of one name: exactly one `Started`.
pub async fn racing_starts_create_one_execution<T: WorkflowStarter + 'static>(starter: Arc<T>) {
    let rec = RecordingId::new(unique_id("wf")).expect("valid id");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (starter, rec) = (Arc::clone(&starter), rec.clone());
            tokio::spawn(async move { starter.start(&name_of(&rec), &input(&rec, 2)).await })
        })
        .collect();
    let mut started = 0;
    for t in tasks {
        if matches!(
            t.await.expect("task").expect("start"),
            StartOutcome::Started { .. }
        ) {
            started += 1;
        }
    }
    assert_eq!(started, 1);
}
