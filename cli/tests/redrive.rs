//! `reprocess --redrive` and failed starts, decided over the ports with in-memory fakes and
//! scripted executions (moto does not implement RedriveExecution; the local engine does, but a
//! `recorder` process keeps its executions only while it runs).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use meeting_domain::contracts::{CatalogRecord, ProcessingInput};
use meeting_domain::ports::StartOutcome;
use meeting_domain::{PortError, RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_aws::executions::{ExecutionInfo, TrailEvent};
use recorder_cli::args::Stage;
use recorder_cli::error::CliError;
use recorder_cli::operate::{ExecutionControl, Operator, START_FAILED_ERROR};
use recorder_testkit::memory::catalog::MemoryCatalog;
use recorder_testkit::memory::chunk_table::MemoryChunkTable;
use recorder_testkit::memory::object_store::MemoryObjectStore;

/// One execution with a scripted status and history; records redrives and starts.
#[derive(Debug)]
struct ScriptedExecutions {
    status: &'static str,
    trail: Vec<TrailEvent>,
    refuse: bool,
    redrives: Mutex<Vec<String>>,
}

impl ScriptedExecutions {
    fn new(status: &'static str, trail: Vec<TrailEvent>) -> Self {
        Self {
            status,
            trail,
            refuse: false,
            redrives: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl ExecutionControl for ScriptedExecutions {
    async fn describe(&self, name: &str) -> Result<Option<ExecutionInfo>, CliError> {
        Ok(Some(ExecutionInfo {
            arn: format!("arn:aws:states:us-east-1:123456789012:execution:sm:{name}"),
            status: self.status.into(),
            start_date: None,
            stop_date: None,
            error: None,
            cause: None,
            redrive_count: None,
            redrive_status: None,
        }))
    }
    async fn trail(&self, _name: &str) -> Result<Vec<TrailEvent>, CliError> {
        Ok(self.trail.clone())
    }
    async fn start(&self, name: &str, _input: &ProcessingInput) -> Result<StartOutcome, CliError> {
        Err(CliError::Port(PortError::Conflict {
            what: format!("execution {name} exists"),
        }))
    }
    async fn redrive(&self, name: &str) -> Result<(), CliError> {
        self.redrives.lock().unwrap().push(name.to_owned());
        if self.refuse {
            return Err(CliError::Port(PortError::Conflict {
                what: format!("execution {name} is not redrivable: too old"),
            }));
        }
        Ok(())
    }
}

fn entered(state: &str) -> TrailEvent {
    TrailEvent {
        kind: "TaskStateEntered".into(),
        state: Some(state.into()),
        error: None,
        cause: None,
    }
}

fn event(kind: &str) -> TrailEvent {
    TrailEvent {
        kind: kind.into(),
        state: None,
        error: Some("Summary.ServiceUnavailable".into()),
        cause: Some("throttled".into()),
    }
}

fn operator(status: RecordingStatus, executions: Arc<ScriptedExecutions>) -> Operator {
    let catalog = MemoryCatalog::new();
    let mut record = CatalogRecord::new_recording(&rec(), chrono::Utc::now());
    record.status = status;
    record.expected_chunk_count = Some(2);
    record.execution_name = Some("rec-1".into());
    record.error = (status == RecordingStatus::ProcessingFailed)
        .then(|| "Summary.ServiceUnavailable".to_owned());
    catalog.put(record);
    Operator {
        catalog: Arc::new(catalog),
        chunks: Arc::new(MemoryChunkTable::new()),
        objects: Arc::new(MemoryObjectStore::new()),
        bucket: "b".into(),
        executions,
    }
}

async fn record(operator: &Operator) -> CatalogRecord {
    operator.catalog.get(&rec()).await.unwrap().unwrap()
}

fn rec() -> RecordingRef {
    RecordingRef::new(
        UserId::new("u-1").unwrap(),
        RecordingId::new("rec-1").unwrap(),
    )
}

#[tokio::test]
async fn a_failure_the_workflow_caught_and_recorded_is_not_redriven() {
    // GIVEN an execution that failed in Summarize and went through RecordFailure
    let trail = vec![
        entered("Summarize"),
        event("ActivityFailed"),
        entered("RecordFailure"),
        event("ExecutionFailed"),
    ];
    let executions = Arc::new(ScriptedExecutions::new("FAILED", trail));
    let operator = operator(RecordingStatus::ProcessingFailed, Arc::clone(&executions));

    // WHEN a redrive is asked for
    let result = operator.redrive(&rec()).await;

    // THEN it is refused naming the state and `--from`, nothing is redriven or changed
    match result {
        Err(CliError::Unsupported(message)) => {
            assert!(message.contains("Summarize"), "{message}");
            assert!(message.contains("--from"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(executions.redrives.lock().unwrap().is_empty());
    assert_eq!(
        record(&operator).await.status,
        RecordingStatus::ProcessingFailed
    );
}

#[tokio::test]
async fn an_aborted_execution_is_redriven_and_the_recording_stays_processing() {
    // GIVEN an execution an operator stopped while summarizing (the catalog still says
    // processing: RecordFailure never ran)
    let trail = vec![entered("Summarize"), event("ExecutionAborted")];
    let executions = Arc::new(ScriptedExecutions::new("ABORTED", trail));
    let operator = operator(RecordingStatus::Processing, Arc::clone(&executions));

    // WHEN it is redriven
    let arn = operator.redrive(&rec()).await.expect("redrive");

    // THEN the same execution continues
    assert!(arn.ends_with(":rec-1"), "{arn}");
    assert_eq!(*executions.redrives.lock().unwrap(), ["rec-1"]);
    assert_eq!(record(&operator).await.status, RecordingStatus::Processing);
}

#[tokio::test]
async fn an_uncaught_failure_is_redriven_and_the_recording_moves_back_to_processing() {
    // GIVEN a failed execution the workflow did not record, and a failed catalog status
    let trail = vec![entered("ReuseTranscript"), event("ExecutionFailed")];
    let executions = Arc::new(ScriptedExecutions::new("FAILED", trail));
    let operator = operator(RecordingStatus::ProcessingFailed, Arc::clone(&executions));

    // WHEN it is redriven
    operator.redrive(&rec()).await.expect("redrive");

    // THEN the recording is processing again, its old error cleared
    let stored = record(&operator).await;
    assert_eq!(stored.status, RecordingStatus::Processing);
    assert_eq!(stored.error, None);
    assert_eq!(stored.run, 0);
}

#[tokio::test]
async fn a_redrive_the_service_refuses_leaves_the_recording_failed_with_the_reason() {
    // GIVEN an uncaught failure that Step Functions will not redrive
    let trail = vec![entered("Summarize"), event("ExecutionTimedOut")];
    let mut scripted = ScriptedExecutions::new("TIMED_OUT", trail);
    scripted.refuse = true;
    let executions = Arc::new(scripted);
    let operator = operator(RecordingStatus::ProcessingFailed, Arc::clone(&executions));

    // WHEN it is redriven
    let result = operator.redrive(&rec()).await;

    // THEN the error is returned and recorded; the recording is failed, not stuck ready
    assert!(matches!(
        result,
        Err(CliError::Port(PortError::Conflict { .. }))
    ));
    let stored = record(&operator).await;
    assert_eq!(stored.status, RecordingStatus::ProcessingFailed);
    assert_eq!(stored.error.as_deref(), Some(START_FAILED_ERROR));
    assert!(stored.cause.unwrap_or_default().contains("too old"));
}

#[tokio::test]
async fn a_running_execution_is_neither_redriven_nor_reprocessed() {
    // GIVEN a recording whose execution is running
    let executions = Arc::new(ScriptedExecutions::new("RUNNING", Vec::new()));
    let operator = operator(RecordingStatus::Processing, Arc::clone(&executions));

    // WHEN a redrive or a new run is asked for
    let redrive = operator.redrive(&rec()).await;
    let again = operator.reprocess(&rec(), Stage::Media).await;

    // THEN both are refused
    assert!(
        matches!(redrive, Err(CliError::NotReprocessable { .. })),
        "{redrive:?}"
    );
    assert!(
        matches!(again, Err(CliError::NotReprocessable { .. })),
        "{again:?}"
    );
    assert!(executions.redrives.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_new_run_that_cannot_start_is_recorded_as_failed_with_its_own_run() {
    // GIVEN a failed recording and a Step Functions that refuses the start
    let executions = Arc::new(ScriptedExecutions::new("FAILED", Vec::new()));
    let operator = operator(RecordingStatus::ProcessingFailed, executions);

    // WHEN it is reprocessed
    let result = operator.reprocess(&rec(), Stage::Media).await;

    // THEN the error is returned and the recording shows it, with the run that failed to start
    assert!(result.is_err());
    let stored = record(&operator).await;
    assert_eq!(stored.status, RecordingStatus::ProcessingFailed);
    assert_eq!(stored.error.as_deref(), Some(START_FAILED_ERROR));
    assert_eq!(stored.run, 1);
    let run_one = rec().execution_name(1);
    assert_eq!(stored.execution_name.as_deref(), Some(run_one.as_str()));
}
