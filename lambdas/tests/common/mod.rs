//! Shared test support: the library wired to the in-memory fakes, event builders, a port
//! implementation that only counts calls, and the chaos system over the fakes.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use meeting_domain::contracts::{CatalogRecord, ChunkRecord, EndSignal, ProcessingInput};
use meeting_domain::keys::chunk_key;
use meeting_domain::ports::{
    Catalog, CatalogPatch, ChunkTable, ExecutionState, ObjectMeta, ObjectStore, RecordOutcome,
    StartOutcome, WorkflowStarter,
};
use meeting_domain::{ChunkIndex, PortError, RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_lambdas::ingest::{self, IngestOutcome};
use recorder_lambdas::{IngestConfig, LambdaError, Ports, RecordingMetrics};
use recorder_testkit::chaos::{self, ChaosPorts, ChaosSystem, ManualClock};
use recorder_testkit::memory::catalog::MemoryCatalog;
use recorder_testkit::memory::chunk_table::MemoryChunkTable;
use recorder_testkit::memory::object_store::MemoryObjectStore;
use recorder_testkit::memory::workflow_starter::MemoryWorkflowStarter;
use serde_json::Value;

pub const BUCKET: &str = "recordings-bucket";

/// The library over in-memory fakes, with handles on each fake.
pub struct World {
    pub ports: Ports,
    pub objects: Arc<MemoryObjectStore>,
    pub chunks: Arc<MemoryChunkTable>,
    pub catalog: Arc<MemoryCatalog>,
    pub workflows: Arc<MemoryWorkflowStarter>,
    pub clock: Arc<ManualClock>,
    pub metrics: Arc<RecordingMetrics>,
    sequencer: AtomicUsize,
}

impl World {
    pub fn new() -> Self {
        let objects = Arc::new(MemoryObjectStore::new());
        let chunks = Arc::new(MemoryChunkTable::new());
        let catalog = Arc::new(MemoryCatalog::new());
        let workflows = Arc::new(MemoryWorkflowStarter::new());
        let clock = Arc::new(ManualClock::fixed());
        let metrics = Arc::new(RecordingMetrics::new());
        let mut config = IngestConfig::new(BUCKET);
        config.max_chunk_bytes = 1024 * 1024;
        config.grace = std::time::Duration::from_secs(600);
        let ports = Ports {
            objects: objects.clone(),
            chunks: chunks.clone(),
            catalog: catalog.clone(),
            workflows: workflows.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            config,
        };
        Self {
            ports,
            objects,
            chunks,
            catalog,
            workflows,
            clock,
            metrics,
            sequencer: AtomicUsize::new(0x1000),
        }
    }

    pub fn next_sequencer(&self) -> String {
        format!("{:016X}", self.sequencer.fetch_add(1, Ordering::SeqCst))
    }

    /// Uploads an MP4 chunk and returns the event S3 would send for it.
    pub async fn upload_chunk(
        &self,
        user: &str,
        recording: &str,
        index: u32,
        payload: &[u8],
    ) -> EventBridgeEvent<Value> {
        let key = chunk_key(&uid(user), &rid(recording), ChunkIndex::new(index).unwrap());
        self.upload(&key, chaos::mp4_bytes(payload)).await
    }

    /// Uploads any object and returns the event S3 would send for it.
    pub async fn upload(&self, key: &str, body: Bytes) -> EventBridgeEvent<Value> {
        let size = body.len() as u64;
        let meta = self
            .objects
            .put_bytes(BUCKET, key, body, "video/mp4")
            .await
            .unwrap();
        event(key, size, &meta.etag, &self.next_sequencer())
    }

    pub async fn deliver(
        &self,
        event: EventBridgeEvent<Value>,
    ) -> Result<IngestOutcome, LambdaError> {
        ingest::handle_event(&self.ports, event).await
    }

    /// The catalog record of `recording` of user `u` (the user most tests upload as).
    pub async fn status(&self, recording: &str) -> CatalogRecord {
        self.catalog
            .get(&rref(recording))
            .await
            .unwrap()
            .expect("catalog record")
    }

    pub async fn set_expected(&self, user: &str, recording: &str, count: u32) {
        self.catalog
            .set_expected_count(
                &RecordingRef::new(uid(user), rid(recording)),
                count,
                EndSignal::Client,
                self.clock.now_utc(),
            )
            .await
            .unwrap();
    }
}

trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        meeting_domain::ports::Clock::now(self)
    }
}

pub fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

pub fn rid(s: &str) -> RecordingId {
    RecordingId::new(s).unwrap()
}

/// Recording `s` of user `u`.
pub fn rref(s: &str) -> RecordingRef {
    RecordingRef::new(uid("u"), rid(s))
}

/// An S3 "Object Created" EventBridge event.
pub fn event(key: &str, size: u64, etag: &str, sequencer: &str) -> EventBridgeEvent<Value> {
    let time = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    serde_json::from_value(chaos::object_created_event(
        BUCKET, key, size, etag, sequencer, time,
    ))
    .unwrap()
}

pub fn stream_event(value: Value) -> StreamEvent {
    serde_json::from_value(value).unwrap()
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Implements every port by counting the call and failing: proves that no port was touched.
#[derive(Debug, Default)]
pub struct CallCounter {
    pub calls: AtomicUsize,
}

impl CallCounter {
    fn hit<T>(&self) -> Result<T, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(PortError::Unavailable {
            service: "call-counter",
            source: "no call expected".into(),
        })
    }

    pub fn count(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Ports that all count into `self`.
    pub fn ports(self: &Arc<Self>) -> Ports {
        Ports {
            objects: self.clone(),
            chunks: self.clone(),
            catalog: self.clone(),
            workflows: self.clone(),
            clock: Arc::new(ManualClock::fixed()),
            metrics: Arc::new(RecordingMetrics::new()),
            config: IngestConfig::new(BUCKET),
        }
    }
}

#[async_trait]
impl ObjectStore for CallCounter {
    async fn head(&self, _: &str, _: &str) -> Result<Option<ObjectMeta>, PortError> {
        self.hit()
    }
    async fn get_range(&self, _: &str, _: &str, _: u64, _: u64) -> Result<Bytes, PortError> {
        self.hit()
    }
    async fn get_bytes(&self, _: &str, _: &str) -> Result<Bytes, PortError> {
        self.hit()
    }
    async fn download_to(&self, _: &str, _: &str, _: &Path) -> Result<u64, PortError> {
        self.hit()
    }
    async fn upload_from(
        &self,
        _: &str,
        _: &str,
        _: &Path,
        _: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.hit()
    }
    async fn put_bytes(
        &self,
        _: &str,
        _: &str,
        _: Bytes,
        _: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.hit()
    }
    async fn list(&self, _: &str, _: &str) -> Result<Vec<ObjectMeta>, PortError> {
        self.hit()
    }
}

#[async_trait]
impl ChunkTable for CallCounter {
    async fn record(&self, _: &ChunkRecord) -> Result<RecordOutcome, PortError> {
        self.hit()
    }
    async fn chunks(&self, _: &RecordingRef) -> Result<Vec<ChunkRecord>, PortError> {
        self.hit()
    }
    async fn mark_failed(
        &self,
        _: &RecordingRef,
        _: ChunkIndex,
        _: &str,
        _: &str,
    ) -> Result<bool, PortError> {
        self.hit()
    }
    async fn chunks_of_user(
        &self,
        _: &UserId,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<ChunkRecord>, PortError> {
        self.hit()
    }
}

#[async_trait]
impl Catalog for CallCounter {
    async fn get(&self, _: &RecordingRef) -> Result<Option<CatalogRecord>, PortError> {
        self.hit()
    }
    async fn ensure(
        &self,
        _: &RecordingRef,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        self.hit()
    }
    async fn set_expected_count(
        &self,
        _: &RecordingRef,
        _: u32,
        _: EndSignal,
        _: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        self.hit()
    }
    async fn transition(
        &self,
        _: &RecordingRef,
        _: RecordingStatus,
        _: RecordingStatus,
        _: CatalogPatch,
        _: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        self.hit()
    }
    async fn set_sweep_at(
        &self,
        _: &RecordingRef,
        _: Option<DateTime<Utc>>,
    ) -> Result<(), PortError> {
        self.hit()
    }
    async fn due_for_sweep(
        &self,
        _: DateTime<Utc>,
        _: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        self.hit()
    }
    async fn recordings_of_user(
        &self,
        _: &UserId,
        _: Option<RecordingStatus>,
        _: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        self.hit()
    }
}

#[async_trait]
impl WorkflowStarter for CallCounter {
    async fn describe(&self, _: &str) -> Result<Option<ExecutionState>, PortError> {
        self.hit()
    }
    async fn start(&self, _: &str, _: &ProcessingInput) -> Result<StartOutcome, PortError> {
        self.hit()
    }
}

/// The chaos system over the fakes: events go straight into the library's handlers.
pub struct FakeSystem {
    pub world: World,
    /// Sabotage for the harness's own test: start every recording awaiting completion when
    /// sweeping, as a count-based or careless detector would.
    pub start_everything_on_sweep: bool,
}

impl FakeSystem {
    pub fn chaos_ports(&self) -> ChaosPorts {
        ChaosPorts {
            objects: self.world.objects.clone(),
            chunks: self.world.chunks.clone(),
            catalog: self.world.catalog.clone(),
            clock: self.world.clock.clone(),
            bucket: BUCKET.to_owned(),
        }
    }
}

#[async_trait]
impl ChaosSystem for FakeSystem {
    async fn deliver_s3_event(&self, event: Value) -> Result<(), String> {
        let event = serde_json::from_value(event).map_err(|e| e.to_string())?;
        ingest::handle_event(&self.world.ports, event)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn deliver_catalog_stream(&self, event: Value) -> Result<(), String> {
        let event: StreamEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
        let response = recorder_lambdas::stream::handle_batch(&self.world.ports, &event).await;
        if response.batch_item_failures.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} batch item failures",
                response.batch_item_failures.len()
            ))
        }
    }

    async fn sweep_after_grace(&self) -> Result<(), String> {
        let grace = chrono::Duration::from_std(self.world.ports.config.grace).unwrap();
        self.world
            .clock
            .advance(grace + chrono::Duration::seconds(1));
        if self.start_everything_on_sweep {
            let now = self.world.clock.now_utc();
            let due = self
                .world
                .catalog
                .due_for_sweep(now, usize::MAX)
                .await
                .unwrap();
            for record in due.into_iter().filter(|r| r.status.awaits_completion()) {
                let input =
                    recorder_lambdas::completion::processing_input(&self.world.ports, &record, 1);
                let name = record.recording().execution_name(0);
                let _ = self.world.workflows.start(&name, &input).await;
            }
        }
        recorder_lambdas::sweeper::sweep(&self.world.ports)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn started_executions(&self) -> Result<Vec<(String, ProcessingInput)>, String> {
        Ok(self.world.workflows.started())
    }
}
