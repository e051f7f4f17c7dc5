//! Cost of our code per chunk event with in-memory adapters: key parsing, validation (head +
//! ranged read), the chunk-table write, the catalog record and the completion check.
//!
//! `cargo bench -p recorder-lambdas --bench chunk_events` (target: ≥ 50,000 events/s on one core;
//! the runtime is single-threaded).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::DateTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use meeting_domain::keys::chunk_key;
use meeting_domain::{ChunkIndex, RecordingId, UserId};
use recorder_lambdas::ingest::handle_event;
use recorder_lambdas::{IngestConfig, Ports, RecordingMetrics};
use recorder_testkit::chaos::{ManualClock, mp4_bytes, object_created_event};
use recorder_testkit::memory::catalog::MemoryCatalog;
use recorder_testkit::memory::chunk_table::MemoryChunkTable;
use recorder_testkit::memory::object_store::MemoryObjectStore;
use recorder_testkit::memory::workflow_starter::MemoryWorkflowStarter;
use serde_json::Value;

const BUCKET: &str = "bench-bucket";
/// Chunks per recording in the benchmark.
const CHUNKS: u32 = 10;

fn ports() -> Ports {
    Ports {
        objects: Arc::new(MemoryObjectStore::new()),
        chunks: Arc::new(MemoryChunkTable::new()),
        catalog: Arc::new(MemoryCatalog::new()),
        workflows: Arc::new(MemoryWorkflowStarter::new()),
        clock: Arc::new(ManualClock::fixed()),
        metrics: Arc::new(RecordingMetrics::new()),
        config: IngestConfig::new(BUCKET),
    }
}

/// Uploads `n` chunks (10 per recording) and returns their events.
async fn prepare(ports: &Ports, n: u64, round: u64) -> Vec<EventBridgeEvent<Value>> {
    let user = UserId::new("bench_user").unwrap();
    let time = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    let mut events = Vec::with_capacity(n as usize);
    for i in 0..n {
        let recording = RecordingId::new(format!("rec-{round}-{}", i / u64::from(CHUNKS))).unwrap();
        let index = ChunkIndex::new((i % u64::from(CHUNKS)) as u32).unwrap();
        let key = chunk_key(&user, &recording, index);
        let meta = ports
            .objects
            .put_bytes(BUCKET, &key, mp4_bytes(&[7; 64]), "video/mp4")
            .await
            .unwrap();
        let event = object_created_event(BUCKET, &key, 88, &meta.etag, &format!("{i:016X}"), time);
        events.push(serde_json::from_value(event).unwrap());
    }
    events
}

fn chunk_events(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("chunk_events");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    let mut round = 0;
    group.bench_function("new_chunk", |b| {
        b.iter_custom(|iters| {
            round += 1;
            let ports = ports();
            let events = runtime.block_on(prepare(&ports, iters, round));
            let start = Instant::now();
            runtime.block_on(async {
                for event in events {
                    black_box(handle_event(&ports, event).await.unwrap());
                }
            });
            start.elapsed()
        });
    });
    group.bench_function("redelivered_chunk", |b| {
        let ports = ports();
        let events = runtime.block_on(prepare(&ports, 1, 0));
        runtime
            .block_on(handle_event(&ports, events[0].clone()))
            .unwrap();
        b.iter(|| {
            runtime
                .block_on(handle_event(&ports, events[0].clone()))
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, chunk_events);
criterion_main!(benches);
