//! Liveness: no recording is ever stuck.
//!
//! Many random recordings under random fault schedules, on virtual time (an injected clock
//! advanced in 5-minute ticks; no sleeps). What the system is made of here:
//!
//! - the Lambda library (ingest, catalog stream, execution status handler, sweeper) over the
//!   in-memory fakes, with the object store behind the IAM-faithful double holding the grants
//!   Terraform gives the Lambda roles (an absent key is 403, as S3 answers without ListBucket);
//! - a crash injector between the handlers and the tables: an invocation can die before any of
//!   its writes (the error makes EventBridge / the stream deliver the event again later);
//! - StartExecution throttled for a while; events delivered 1–3 times, in any order;
//! - a simulated Step Functions that ends each execution as the real one may: succeeded
//!   (RecordResults), failed through the Catch (RecordFailure), or timed out / aborted / failed
//!   outside the Catch, whose status-change event arrives once, twice or never.
//!
//! Invariant, for every seed: within a bounded simulated time every recording is in a terminal
//! status — completed, `incomplete_chunks` with error and cause, or `processing_failed` with
//! error and cause — no recording is started twice, and no chunk event is lost (every chunk is in
//! the chunk table, validated or rejected with its reason). The run prints its counts and the
//! seed (`LIVENESS_SEED=… LIVENESS_RECORDINGS=…` reproduces one).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use meeting_domain::contracts::{
    CatalogRecord, ChunkManifest, ChunkRecord, ChunkStatus, EndSignal, RecordingResults,
};
use meeting_domain::keys::{chunk_key, manifest_key};
use meeting_domain::ports::{
    Catalog, CatalogPatch, ChunkTable, Clock, ExecutionState, ExecutionStatus, ObjectStore,
    RecordOutcome, StartOutcome, WorkflowStarter,
};
use meeting_domain::{ChunkIndex, PortError, RecordingRef, RecordingStatus, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use recorder_lambdas::execution_status::{self, StatusChangeDetail};
use recorder_lambdas::{IngestConfig, Ports, RecordingMetrics, ingest, sweeper};
use recorder_testkit::chaos::{ManualClock, mp4_bytes, object_created_event};
use recorder_testkit::iam::{IamObjectStore, lambda_grants};
use recorder_testkit::memory::catalog::MemoryCatalog;
use recorder_testkit::memory::chunk_table::MemoryChunkTable;
use recorder_testkit::memory::object_store::MemoryObjectStore;
use recorder_testkit::memory::workflow_starter::MemoryWorkflowStarter;
use serde_json::Value;

const BUCKET: &str = "liveness-bucket";

/// One tick of virtual time: the sweeper's schedule.
const TICK_MINUTES: i64 = 5;

// ---- fault injection ----------------------------------------------------------------------

/// Kills the current invocation after a number of table / Step Functions calls: the call fails
/// as a Lambda that timed out or ran out of memory would, and nothing after it happens.
#[derive(Debug, Default)]
struct Crash {
    /// Calls left before the crash; negative: no crash armed.
    left: AtomicI64,
}

impl Crash {
    fn arm(&self, calls: i64) {
        self.left.store(calls, Ordering::SeqCst);
    }

    fn disarm(&self) {
        self.left.store(-1, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), PortError> {
        let before = self.left.fetch_sub(1, Ordering::SeqCst);
        if before == 0 {
            self.left.store(-1, Ordering::SeqCst);
            return Err(PortError::Unavailable {
                service: "crash",
                source: "the invocation died here".into(),
            });
        }
        if before < 0 {
            self.left.store(-1, Ordering::SeqCst);
        }
        Ok(())
    }
}

struct CrashingCatalog(Arc<MemoryCatalog>, Arc<Crash>);
struct CrashingChunks(Arc<MemoryChunkTable>, Arc<Crash>);
struct FlakyStarter {
    inner: Arc<MemoryWorkflowStarter>,
    crash: Arc<Crash>,
    /// StartExecution answers ThrottlingException until this time.
    throttled_until: std::sync::Mutex<DateTime<Utc>>,
    clock: Arc<ManualClock>,
}

#[async_trait]
impl Catalog for CrashingCatalog {
    async fn get(&self, r: &RecordingRef) -> Result<Option<CatalogRecord>, PortError> {
        self.1.check()?;
        self.0.get(r).await
    }
    async fn ensure(
        &self,
        r: &RecordingRef,
        now: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        self.1.check()?;
        self.0.ensure(r, now, at).await
    }
    async fn set_expected_count(
        &self,
        r: &RecordingRef,
        count: u32,
        signal: EndSignal,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        self.1.check()?;
        self.0.set_expected_count(r, count, signal, now).await
    }
    async fn transition(
        &self,
        r: &RecordingRef,
        from: RecordingStatus,
        to: RecordingStatus,
        patch: CatalogPatch,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        self.1.check()?;
        self.0.transition(r, from, to, patch, now).await
    }
    async fn set_sweep_at(
        &self,
        r: &RecordingRef,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), PortError> {
        self.1.check()?;
        self.0.set_sweep_at(r, at).await
    }
    async fn due_for_sweep(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        self.1.check()?;
        self.0.due_for_sweep(now, limit).await
    }
    async fn recordings_of_user(
        &self,
        user: &UserId,
        status: Option<RecordingStatus>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        self.0.recordings_of_user(user, status, limit).await
    }
}

#[async_trait]
impl ChunkTable for CrashingChunks {
    async fn record(&self, c: &ChunkRecord) -> Result<RecordOutcome, PortError> {
        self.1.check()?;
        self.0.record(c).await
    }
    async fn chunks(&self, r: &RecordingRef) -> Result<Vec<ChunkRecord>, PortError> {
        self.1.check()?;
        self.0.chunks(r).await
    }
    async fn mark_failed(
        &self,
        r: &RecordingRef,
        i: ChunkIndex,
        etag: &str,
        reason: &str,
    ) -> Result<bool, PortError> {
        self.1.check()?;
        self.0.mark_failed(r, i, etag, reason).await
    }
    async fn chunks_of_user(
        &self,
        user: &UserId,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChunkRecord>, PortError> {
        self.0.chunks_of_user(user, since, limit).await
    }
}

#[async_trait]
impl WorkflowStarter for FlakyStarter {
    async fn describe(&self, name: &str) -> Result<Option<ExecutionState>, PortError> {
        self.crash.check()?;
        self.inner.describe(name).await
    }
    async fn start(
        &self,
        name: &str,
        input: &meeting_domain::contracts::ProcessingInput,
    ) -> Result<StartOutcome, PortError> {
        self.crash.check()?;
        let until = *self
            .throttled_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if self.clock.now() < until {
            return Err(PortError::Throttled {
                service: "states",
                source: "ThrottlingException (after the SDK's own retries)".into(),
            });
        }
        self.inner.start(name, input).await
    }
}

// ---- the scenario -------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Event {
    S3(Value),
    /// The client's own write of `expectedChunkCount` (option A), then its stream record.
    ClientCount(RecordingRef, u32),
    Stream(RecordingRef),
    Status(StatusChangeDetail),
}

/// How the simulated Step Functions ends an execution.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Succeeded,
    CaughtFailure,
    TimedOut,
    Aborted,
    UncaughtFailure,
}

struct Sim {
    rng: StdRng,
    clock: Arc<ManualClock>,
    crash: Arc<Crash>,
    catalog: Arc<MemoryCatalog>,
    chunks: Arc<MemoryChunkTable>,
    objects: Arc<MemoryObjectStore>,
    workflows: Arc<MemoryWorkflowStarter>,
    starter: Arc<FlakyStarter>,
    ports: Ports,
    /// Events waiting for delivery, with the tick they are due.
    queue: VecDeque<(i64, Event)>,
    /// Chunk keys whose event was delivered successfully at least once.
    chunk_events: BTreeMap<String, RecordingRef>,
    finished: BTreeMap<String, Ending>,
    counts: BTreeMap<&'static str, usize>,
    sequencer: u64,
}

impl Sim {
    fn new(seed: u64) -> Self {
        let clock = Arc::new(ManualClock::fixed());
        let crash = Arc::new(Crash::default());
        crash.disarm();
        let catalog = Arc::new(MemoryCatalog::new());
        let chunks = Arc::new(MemoryChunkTable::new());
        let objects = Arc::new(MemoryObjectStore::new());
        let workflows = Arc::new(MemoryWorkflowStarter::new());
        let starter = Arc::new(FlakyStarter {
            inner: workflows.clone(),
            crash: crash.clone(),
            throttled_until: std::sync::Mutex::new(clock.now()),
            clock: clock.clone(),
        });
        let mut config = IngestConfig::new(BUCKET);
        config.grace = std::time::Duration::from_secs(15 * 60);
        config.give_up_after = std::time::Duration::from_secs(2 * 24 * 3600);
        config.processing_stale = std::time::Duration::from_secs(9 * 3600);
        config.sweep_limit = 50;
        let ports = Ports {
            objects: Arc::new(IamObjectStore::new(
                objects.clone(),
                BUCKET,
                lambda_grants("chunk-upload-handler"),
            )),
            chunks: Arc::new(CrashingChunks(chunks.clone(), crash.clone())),
            catalog: Arc::new(CrashingCatalog(catalog.clone(), crash.clone())),
            workflows: starter.clone(),
            clock: clock.clone(),
            metrics: Arc::new(RecordingMetrics::new()),
            config,
        };
        Self {
            rng: StdRng::seed_from_u64(seed),
            clock,
            crash,
            catalog,
            chunks,
            objects,
            workflows,
            starter,
            ports,
            queue: VecDeque::new(),
            chunk_events: BTreeMap::new(),
            finished: BTreeMap::new(),
            counts: BTreeMap::new(),
            sequencer: 0x10_0000,
        }
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    /// Queues `event` 1–3 times at random later ticks (at least once, in any order).
    fn deliver_later(&mut self, tick: i64, event: Event) {
        let copies = self.rng.random_range(1..=3);
        for _ in 0..copies {
            let due = tick + self.rng.random_range(0..6);
            self.queue.push_back((due, event.clone()));
        }
    }

    async fn put(&mut self, key: &str, body: Bytes) -> Value {
        let size = body.len() as u64;
        let meta = self
            .objects
            .put_bytes(BUCKET, key, body, "video/mp4")
            .await
            .expect("upload");
        self.sequencer += 1;
        object_created_event(
            BUCKET,
            key,
            size,
            &meta.etag,
            &format!("{:016X}", self.sequencer),
            self.clock.now(),
        )
    }

    /// Uploads one random recording and queues its events.
    async fn plan(&mut self, n: usize, tick: i64) {
        let user = UserId::new(format!("user{}", n % 5)).expect("id");
        // Ids repeat across users on purpose: recordings are scoped by user.
        let id = meeting_domain::RecordingId::new(format!("rec{}", n / 5)).expect("id");
        let recording = RecordingRef::new(user.clone(), id.clone());
        let expected = self.rng.random_range(1..=6u32);
        for index in 0..expected {
            let key = chunk_key(&user, &id, ChunkIndex::new(index).expect("index"));
            // Chunk 0 always reaches S3, so every recording is known to the backend.
            let roll = if index == 0 {
                50
            } else {
                self.rng.random_range(0..100)
            };
            if roll < 6 {
                self.count("chunks never uploaded");
                continue;
            }
            let event = if roll < 10 {
                self.count("chunks rejected (empty)");
                self.put(&key, Bytes::new()).await
            } else if roll < 13 {
                // The event of an object deleted before the handler read it (403 without
                // ListBucket).
                self.count("chunks gone before ingest");
                self.sequencer += 1;
                object_created_event(
                    BUCKET,
                    &key,
                    64,
                    "0123456789abcdef0123456789abcdef",
                    &format!("{:016X}", self.sequencer),
                    self.clock.now(),
                )
            } else {
                self.put(&key, mp4_bytes(format!("{recording}:{index}").as_bytes()))
                    .await
            };
            self.deliver_later(tick, Event::S3(event));
        }
        match self.rng.random_range(0..10) {
            0 => self.count("recordings without an end signal"),
            1..=5 => {
                let manifest = ChunkManifest {
                    expected_chunk_count: expected,
                    chunks: Vec::new(),
                };
                let key = manifest_key(&user, &id);
                let body = Bytes::from(serde_json::to_vec(&manifest).expect("json"));
                let event = self.put(&key, body).await;
                self.deliver_later(tick + 1, Event::S3(event));
            }
            _ => self.deliver_later(tick + 1, Event::ClientCount(recording, expected)),
        }
    }

    /// Delivers one event; a failure (injected crash, throttling) redelivers it later.
    async fn deliver(&mut self, tick: i64, event: Event) {
        // One invocation in five dies somewhere between its writes.
        if self.rng.random_range(0..5) == 0 {
            let at = self.rng.random_range(0..8);
            self.crash.arm(at);
        }
        let result = match &event {
            Event::S3(value) => {
                let parsed = serde_json::from_value(value.clone()).expect("event");
                ingest::handle_event(&self.ports, parsed).await.map(|_| ())
            }
            Event::ClientCount(recording, count) => {
                // The client's write goes straight to DynamoDB (no Lambda), then the stream.
                self.catalog
                    .set_expected_count(recording, *count, EndSignal::Client, self.clock.now())
                    .await
                    .map_err(Into::into)
                    .map(|_| {
                        self.queue
                            .push_back((tick + 1, Event::Stream(recording.clone())));
                    })
            }
            Event::Stream(recording) => recorder_lambdas::completion::check(&self.ports, recording)
                .await
                .map(|_| ()),
            Event::Status(detail) => execution_status::handle_detail(&self.ports, detail)
                .await
                .map(|_| ()),
        };
        self.crash.disarm();
        match result {
            Ok(()) => {
                if let Event::S3(value) = &event
                    && let Some(key) = value["detail"]["object"]["key"].as_str()
                    && key.ends_with(".mp4")
                {
                    let parts: Vec<&str> = key.split('/').collect();
                    let recording = RecordingRef::new(
                        UserId::new(parts[1]).expect("id"),
                        meeting_domain::RecordingId::new(parts[3]).expect("id"),
                    );
                    self.chunk_events.insert(key.to_owned(), recording);
                }
            }
            Err(e) => {
                assert!(
                    e.is_retryable(),
                    "a non-retryable error would send the event to the DLQ: {e} ({event:?})"
                );
                self.count("redeliveries");
                let due = tick + self.rng.random_range(1..4);
                self.queue.push_back((due, event));
            }
        }
    }

    /// Ends running executions at random, as Step Functions would.
    async fn run_executions(&mut self, tick: i64) {
        for name in self.workflows.running() {
            if self.rng.random_range(0..4) != 0 {
                continue;
            }
            let input = self
                .workflows
                .started()
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, input)| input)
                .expect("started input");
            let recording = RecordingRef::new(input.user_id.clone(), input.recording_id.clone());
            let ending = match self.rng.random_range(0..10) {
                0..=4 => Ending::Succeeded,
                5 | 6 => Ending::CaughtFailure,
                7 => Ending::TimedOut,
                8 => Ending::Aborted,
                _ => Ending::UncaughtFailure,
            };
            self.finished.insert(name.clone(), ending);
            let now = self.clock.now();
            let current = |record: &Option<CatalogRecord>| {
                record.as_ref().is_some_and(|r| {
                    r.execution_name.as_deref() == Some(name.as_str())
                        && matches!(
                            r.status,
                            RecordingStatus::ReadyForProcessing | RecordingStatus::Processing
                        )
                })
            };
            let record = self.catalog.get(&recording).await.expect("get");
            match ending {
                Ending::Succeeded | Ending::CaughtFailure => {
                    // RecordResults / RecordFailure: conditional on the current run.
                    if current(&record) {
                        let from = record.as_ref().map(|r| r.status).expect("record");
                        let (to, patch) = if matches!(ending, Ending::Succeeded) {
                            (
                                RecordingStatus::Completed,
                                CatalogPatch {
                                    results: Some(RecordingResults {
                                        recording_key: "r".into(),
                                        audio_key: "a".into(),
                                        transcript_key: "t".into(),
                                        summary_key: "s".into(),
                                        duration_seconds: 1.0,
                                    }),
                                    error: Some(None),
                                    cause: Some(None),
                                    ..CatalogPatch::default()
                                },
                            )
                        } else {
                            (
                                RecordingStatus::ProcessingFailed,
                                CatalogPatch {
                                    error: Some(Some("States.HeartbeatTimeout".into())),
                                    cause: Some(Some(
                                        "the worker was killed; retries spent".into(),
                                    )),
                                    ..CatalogPatch::default()
                                },
                            )
                        };
                        // RecordResults writes `completed` from `ready_for_processing` too (the
                        // Lambda died before marking the start); the catalog port only moves
                        // through `processing`, with the same end state.
                        let mut from = from;
                        if from == RecordingStatus::ReadyForProcessing
                            && to == RecordingStatus::Completed
                        {
                            self.catalog
                                .transition(
                                    &recording,
                                    from,
                                    RecordingStatus::Processing,
                                    CatalogPatch::default(),
                                    now,
                                )
                                .await
                                .expect("workflow write");
                            from = RecordingStatus::Processing;
                        }
                        self.catalog
                            .transition(&recording, from, to, patch, now)
                            .await
                            .expect("workflow write");
                    }
                    let status = if matches!(ending, Ending::Succeeded) {
                        ExecutionStatus::Succeeded
                    } else {
                        ExecutionStatus::Failed
                    };
                    self.workflows.finish(&name, status, None, None);
                }
                Ending::TimedOut | Ending::Aborted | Ending::UncaughtFailure => {
                    let (status, error) = match ending {
                        Ending::TimedOut => (ExecutionStatus::TimedOut, None),
                        Ending::Aborted => (ExecutionStatus::Aborted, None),
                        _ => (ExecutionStatus::Failed, Some("States.Runtime")),
                    };
                    self.workflows
                        .finish(&name, status, error, Some("ended outside the Catch"));
                    // The status-change event: once, twice, or lost (best effort).
                    let detail = StatusChangeDetail {
                        name: name.clone(),
                        status: status.as_str().to_owned(),
                        input: Some(serde_json::to_string(&input).expect("json")),
                        error: error.map(str::to_owned),
                        cause: Some("ended outside the Catch".into()),
                    };
                    match self.rng.random_range(0..3) {
                        0 => self.count("status events lost"),
                        _ => self.deliver_later(tick, Event::Status(detail)),
                    }
                }
            }
        }
    }

    async fn tick(&mut self, tick: i64) {
        let mut due = Vec::new();
        let mut later = VecDeque::new();
        while let Some((at, event)) = self.queue.pop_front() {
            if at <= tick {
                due.push(event);
            } else {
                later.push_back((at, event));
            }
        }
        self.queue = later;
        for event in due {
            self.deliver(tick, event).await;
        }
        self.run_executions(tick).await;
        if self.rng.random_range(0..5) == 0 {
            self.crash.arm(self.rng.random_range(0..30));
        }
        if sweeper::sweep(&self.ports).await.is_err() {
            self.count("sweeps that failed (retried next tick)");
        }
        self.crash.disarm();
        self.clock.advance(Duration::minutes(TICK_MINUTES));
    }
}

fn seed() -> u64 {
    std::env::var("LIVENESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

fn recordings() -> usize {
    std::env::var("LIVENESS_RECORDINGS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150)
}

#[tokio::test(flavor = "current_thread")]
async fn every_recording_ends_in_a_terminal_status_under_random_faults() {
    let seed = seed();
    let total = recordings();
    let reproduce = format!("LIVENESS_SEED={seed} LIVENESS_RECORDINGS={total}");
    let mut sim = Sim::new(seed);
    // Uploads spread over the first hours; StartExecution throttled for a random hour of it.
    let throttle_from = sim.rng.random_range(0..12);
    let horizon_ticks = (2 * 24 * 60 + 24 * 60 + 11 * 60) / TICK_MINUTES; // give-up + 1 day + stale margin
    let mut planned = 0;
    for tick in 0..horizon_ticks {
        if tick == throttle_from {
            *sim.starter
                .throttled_until
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = sim.clock.now() + Duration::hours(1);
        }
        while planned < total && planned < (tick as usize + 1) * 4 {
            sim.plan(planned, tick).await;
            planned += 1;
        }
        sim.tick(tick).await;
    }

    // Every recording is in a terminal status, with error and cause unless it completed.
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut records = Vec::new();
    for n in 0..5 {
        let user = UserId::new(format!("user{n}")).expect("id");
        records.extend(
            sim.catalog
                .recordings_of_user(&user, None, usize::MAX)
                .await
                .expect("list"),
        );
    }
    assert_eq!(
        records.len(),
        total,
        "every recording has a catalog record ({reproduce})"
    );
    for record in &records {
        *by_status.entry(record.status.to_string()).or_default() += 1;
        match record.status {
            RecordingStatus::Completed => {}
            RecordingStatus::IncompleteChunks | RecordingStatus::ProcessingFailed => {
                assert!(
                    record.error.is_some() && record.cause.is_some(),
                    "{} ended {} without error and cause ({reproduce})",
                    record.recording(),
                    record.status
                );
            }
            other => panic!(
                "{} is still {other} after {} simulated hours: stuck ({reproduce}): {record:?}",
                record.recording(),
                horizon_ticks * TICK_MINUTES / 60
            ),
        }
    }
    // None started twice: one execution per recording at most (every run here is run 0).
    let mut starts: BTreeMap<String, usize> = BTreeMap::new();
    for (name, _) in sim.workflows.started() {
        *starts.entry(name).or_default() += 1;
    }
    assert!(
        starts.values().all(|n| *n == 1),
        "an execution name was started twice ({reproduce})"
    );
    // A completed recording really had chunks 0..N-1, all validated.
    for record in records
        .iter()
        .filter(|r| r.status == RecordingStatus::Completed)
    {
        let chunks = sim
            .chunks
            .chunks(&record.recording())
            .await
            .expect("chunks");
        let expected = record.expected_chunk_count.expect("count");
        assert!(
            chunks.len() == expected as usize
                && chunks.iter().all(|c| c.status == ChunkStatus::Validated),
            "{} completed without its chunks ({reproduce})",
            record.recording()
        );
    }
    // No chunk lost: every chunk event that was handled is in the table, validated or rejected
    // with its reason.
    for (key, recording) in &sim.chunk_events {
        let chunks = sim.chunks.chunks(recording).await.expect("chunks");
        let found = chunks.iter().find(|c| c.s3_key == *key);
        let chunk = found.unwrap_or_else(|| panic!("chunk {key} lost ({reproduce})"));
        assert!(
            chunk.status == ChunkStatus::Validated || chunk.last_error.is_some(),
            "rejected chunk {key} without a reason ({reproduce})"
        );
    }
    assert!(
        sim.queue.is_empty(),
        "events still undelivered ({reproduce})"
    );
    let endings: BTreeMap<String, usize> =
        sim.finished
            .values()
            .fold(BTreeMap::new(), |mut acc, ending| {
                *acc.entry(format!("{ending:?}")).or_default() += 1;
                acc
            });
    println!("liveness ({reproduce}): recordings by final status {by_status:?}");
    println!("  executions {} by ending {endings:?}", starts.len());
    println!("  faults {:?}", sim.counts);
    // The run exercised the paths it claims to (a fault schedule that never fired would prove
    // nothing).
    assert!(
        by_status.contains_key("completed"),
        "{by_status:?} ({reproduce})"
    );
    assert!(
        by_status.contains_key("incomplete_chunks"),
        "{by_status:?} ({reproduce})"
    );
    assert!(
        by_status.contains_key("processing_failed"),
        "{by_status:?} ({reproduce})"
    );
    assert!(
        sim.counts.get("redeliveries").copied().unwrap_or(0) > 0,
        "{reproduce}"
    );
}
