//! The X-Ray trace header reaches StartExecution (`traceHeader`), so the execution and its
//! workers join the trace of the recording's first chunk (or, for chunks recorded without one,
//! of the invocation that completed it); the execution input stays the canonical, trace-free one.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::World;
use meeting_domain::PortError;
use meeting_domain::contracts::ProcessingInput;
use meeting_domain::ports::{StartOutcome, WorkflowStarter};
use recorder_lambdas::invocation::run_traced;
use recorder_testkit::memory::workflow_starter::MemoryWorkflowStarter;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// Delegates to the in-memory starter and records the trace header of every traced start.
struct TraceRecorder {
    inner: Arc<MemoryWorkflowStarter>,
    headers: Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl WorkflowStarter for TraceRecorder {
    async fn describe(
        &self,
        name: &str,
    ) -> Result<Option<meeting_domain::ports::ExecutionState>, PortError> {
        self.inner.describe(name).await
    }

    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, PortError> {
        self.start_traced(name, input, None).await
    }

    async fn start_traced(
        &self,
        name: &str,
        input: &ProcessingInput,
        trace_header: Option<&str>,
    ) -> Result<StartOutcome, PortError> {
        self.headers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(trace_header.map(str::to_owned));
        self.inner.start(name, input).await
    }
}

fn recording_world() -> (World, Arc<TraceRecorder>) {
    let mut world = World::new();
    let recorder = Arc::new(TraceRecorder {
        inner: world.workflows.clone(),
        headers: Mutex::new(Vec::new()),
    });
    world.ports.workflows = recorder.clone();
    (world, recorder)
}

async fn complete_recording(world: &World) {
    world.set_expected("u", "rec_1", 2).await;
    for i in 0..2 {
        let e = world.upload_chunk("u", "rec_1", i, b"chunk").await;
        world.deliver(e).await.unwrap();
    }
}

#[tokio::test]
async fn given_a_traced_invocation_when_its_chunk_completes_the_recording_then_the_start_carries_its_trace()
 {
    // GIVEN the last chunk handled inside a traced invocation
    let (world, recorder) = recording_world();
    run_traced("req-1", Some(HEADER), complete_recording(&world)).await;

    // THEN the one start got the invocation's header, and the input is the canonical one
    let headers = recorder.headers.lock().unwrap().clone();
    assert_eq!(headers, [Some(HEADER.to_owned())]);
    let started = world.workflows.started();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].1.recording_id.as_str(), "rec_1");
}

#[tokio::test]
async fn given_an_untraced_caller_when_the_recording_completes_then_the_start_has_no_trace() {
    // GIVEN the local runtime / CLI path: no invocation context
    let (world, recorder) = recording_world();
    complete_recording(&world).await;

    // THEN the start is made without a header
    assert_eq!(recorder.headers.lock().unwrap().clone(), [None]);
    assert_eq!(world.workflows.started().len(), 1);
}

#[tokio::test]
async fn a_redelivery_from_another_trace_restarts_with_the_same_input() {
    // GIVEN a start that failed after the transition was won, in trace A
    let (world, recorder) = recording_world();
    world.workflows.fail_next(1);
    world.set_expected("u", "rec_1", 1).await;
    let event = world.upload_chunk("u", "rec_1", 0, b"chunk").await;
    let first = run_traced("req-a", Some(HEADER), world.deliver(event.clone())).await;
    assert!(first.is_err());

    // WHEN EventBridge redelivers it in another invocation (trace B)
    let other = "Root=1-5759e988-000000000000000000000002;Parent=0000000000000002;Sampled=1";
    run_traced("req-b", Some(other), world.deliver(event))
        .await
        .unwrap();

    // THEN the retry still carries the first chunk's trace A and starts the execution once
    let headers = recorder.headers.lock().unwrap().clone();
    assert_eq!(headers, [Some(HEADER.to_owned()), Some(HEADER.to_owned())]);
    assert_eq!(world.workflows.started().len(), 1);
}

#[tokio::test]
async fn given_chunks_recorded_in_several_traces_when_the_recording_completes_then_the_start_joins_the_first_chunks_trace()
 {
    // GIVEN chunk 0 recorded in trace A
    let (world, recorder) = recording_world();
    world.set_expected("u", "rec_1", 2).await;
    let first = world.upload_chunk("u", "rec_1", 0, b"chunk").await;
    run_traced("req-a", Some(HEADER), world.deliver(first))
        .await
        .unwrap();

    // WHEN chunk 1 completes the recording in trace B
    let other = "Root=1-5759e988-000000000000000000000002;Parent=0000000000000002;Sampled=1";
    let last = world.upload_chunk("u", "rec_1", 1, b"chunk").await;
    run_traced("req-b", Some(other), world.deliver(last))
        .await
        .unwrap();

    // THEN the execution starts in trace A: the recording is one trace from its first chunk
    assert_eq!(
        recorder.headers.lock().unwrap().clone(),
        [Some(HEADER.to_owned())]
    );
}
