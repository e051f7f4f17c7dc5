//! The `WorkflowStarter` port on the local engine: the same idempotency as Step Functions.

use asl_engine::{Engine, EngineConfig, LocalWorkflowStarter};
use meeting_domain::PortError;
use meeting_domain::contracts::{ProcessingInput, ProcessingOptions};
use meeting_domain::ports::{StartOutcome, WorkflowStarter};
use meeting_domain::{RecordingId, UserId};

fn input(run: u32) -> ProcessingInput {
    ProcessingInput {
        user_id: UserId::new("user-1").expect("valid user id"),
        recording_id: RecordingId::new("rec-1").expect("valid recording id"),
        bucket: "recordings".into(),
        chunk_count: 3,
        run,
        options: ProcessingOptions::default(),
        resume: None,
        manifest_key: None,
    }
}

fn starter() -> LocalWorkflowStarter {
    let engine = Engine::new(EngineConfig::default());
    // A long Wait keeps the execution open for the duration of the test.
    let machine = engine
        .create_state_machine(
            "processing",
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
            "arn:aws:iam::123456789012:role/r",
            None,
        )
        .expect("valid definition");
    LocalWorkflowStarter::new(engine, machine.arn)
}

#[tokio::test]
async fn a_repeated_start_with_the_same_input_reports_the_running_execution() {
    let starter = starter();
    let first = starter
        .start("rec-1-run-0", &input(0))
        .await
        .expect("first start");
    let second = starter
        .start("rec-1-run-0", &input(0))
        .await
        .expect("replayed start");
    let StartOutcome::Started { execution_arn } = first else {
        panic!("the first start must start an execution, got {first:?}");
    };
    assert_eq!(second, StartOutcome::AlreadyRunning { execution_arn });
}

#[tokio::test]
async fn the_same_name_with_other_input_is_a_conflict() {
    let starter = starter();
    starter
        .start("rec-1", &input(0))
        .await
        .expect("first start");
    let err = starter
        .start("rec-1", &input(1))
        .await
        .expect_err("other input");
    assert!(matches!(err, PortError::Conflict { .. }), "{err:?}");
}
