//! What `dlq replay` does with bodies that are not chunk events, over in-memory ports: none of
//! them reaches a port, and only work that is repeated anyway is deleted.

use std::sync::Arc;

use recorder_cli::dlq::{Verdict, parse_body, replay_body};
use recorder_lambdas::{IngestConfig, Ports, RecordingMetrics};
use recorder_testkit::memory::catalog::MemoryCatalog;
use recorder_testkit::memory::chunk_table::MemoryChunkTable;
use recorder_testkit::memory::object_store::MemoryObjectStore;
use recorder_testkit::memory::workflow_starter::MemoryWorkflowStarter;

fn ports() -> (Ports, Arc<MemoryChunkTable>) {
    let chunks = Arc::new(MemoryChunkTable::new());
    let ports = Ports {
        objects: Arc::new(MemoryObjectStore::new()),
        chunks: Arc::clone(&chunks) as _,
        catalog: Arc::new(MemoryCatalog::new()),
        workflows: Arc::new(MemoryWorkflowStarter::new()),
        clock: Arc::new(meeting_domain::ports::SystemClock),
        metrics: Arc::new(RecordingMetrics::new()),
        config: IngestConfig::new("b"),
    };
    (ports, chunks)
}

#[tokio::test]
async fn a_failed_scheduled_sweep_is_acknowledged_because_the_next_sweep_repeats_it() {
    // GIVEN the sweeper's scheduled event from the Lambda dead-letter queue
    let (ports, chunks) = ports();
    let body = parse_body(
        r#"{"version":"0","id":"s-1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-28T00:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/mr-sweeper"],"detail":{}}"#,
    );

    // WHEN it is replayed
    let verdict = replay_body(&ports, &body).await;

    // THEN it is acknowledged (deleted) without touching the chunk table
    assert!(
        matches!(&verdict, Verdict::Acknowledged(d) if d.contains("sweep")),
        "{verdict:?}"
    );
    assert!(verdict.deletes());
    assert!(chunks.all().is_empty());
}

#[tokio::test]
async fn stream_batches_and_unreadable_bodies_are_kept_as_not_replayable() {
    // GIVEN a failed stream batch record and a body that is no event
    let (ports, _) = ports();
    let batch = parse_body(
        r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},"version":"1.0","DDBStreamBatchInfo":{"shardId":"s","startSequenceNumber":"1","endSequenceNumber":"9","batchSize":3,"streamArn":"arn:stream"}}"#,
    );
    let garbage = parse_body("not json");

    // WHEN they are replayed
    let verdicts = [
        replay_body(&ports, &batch).await,
        replay_body(&ports, &garbage).await,
    ];

    // THEN both stay in the queue
    for verdict in verdicts {
        assert!(matches!(verdict, Verdict::NotReplayable(_)), "{verdict:?}");
        assert!(!verdict.deletes());
    }
}
