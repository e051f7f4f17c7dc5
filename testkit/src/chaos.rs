//! A reusable chaos harness for chunk ingest and session completion, generic over the ports and
//! over the system under test ([`ChaosSystem`]: how events reach the handlers).
//!
//! It creates many random recordings, uploads their chunks (some twice: re-uploads), leaves some
//! chunks out, sometimes adds a chunk beyond the expected count or a wrong checksum in the
//! manifest, then delivers every event 1–3 times, shuffled, from concurrent tasks, with the end
//! signal (catalog write of `expectedChunkCount` or a manifest upload) arriving at a random moment.
//! A failed delivery is redelivered later, as EventBridge and the stream would. After a sweep past
//! the grace period it checks the invariants:
//!
//! * every complete recording was started exactly once, with `chunkCount = N`, and is `processing`;
//! * no incomplete recording was started; it is `incomplete_chunks` with the exact missing and
//!   failed indices;
//! * the chunk table holds exactly the distinct chunks, each at its newest upload.
//!
//! Seed and size come from `CHAOS_SEED`, `CHAOS_RECORDINGS`, `CHAOS_MAX_CHUNKS` and
//! `CHAOS_CONCURRENCY`; the seed is printed at the start and in every failure.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use meeting_domain::contracts::{ChunkManifest, EndSignal, ManifestChunk, ProcessingInput};
use meeting_domain::keys::{chunk_key, manifest_key};
use meeting_domain::ports::{Catalog, ChunkTable, Clock, ObjectStore};
use meeting_domain::{ChunkIndex, RecordingId, RecordingRef, RecordingStatus, UserId};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A clock standing at 2026-01-01T00:00:00Z.
    pub fn fixed() -> Self {
        Self::new(DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Size and randomness of one chaos run.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of recordings.
    pub recordings: usize,
    /// Largest chunk count of a recording.
    pub max_chunks: u32,
    /// Concurrent delivery tasks.
    pub concurrency: usize,
    /// Percent of recordings missing one or two chunks.
    pub missing_percent: u32,
    /// Percent of chunks uploaded a second time with other content.
    pub reupload_percent: u32,
    /// Percent of recordings whose end signal is a manifest (else a catalog write).
    pub manifest_percent: u32,
    /// Percent of manifest recordings with a wrong checksum for one chunk.
    pub corrupt_percent: u32,
    /// Percent of recordings with gaps that also get one chunk beyond the expected count.
    pub extra_percent: u32,
    /// Attempts per delivery before the run fails.
    pub max_attempts: u32,
}

impl ChaosConfig {
    /// Defaults with `recordings` recordings, overridden by `CHAOS_SEED`, `CHAOS_RECORDINGS`,
    /// `CHAOS_MAX_CHUNKS` and `CHAOS_CONCURRENCY`. Without `CHAOS_SEED` the seed is random.
    pub fn from_env(recordings: usize) -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let seed = var("CHAOS_SEED").unwrap_or_else(|| rand::rng().random());
        Self {
            seed,
            recordings: var("CHAOS_RECORDINGS").map_or(recordings, |v| v as usize),
            max_chunks: var("CHAOS_MAX_CHUNKS").map_or(12, |v| v.clamp(1, 1000) as u32),
            concurrency: var("CHAOS_CONCURRENCY").map_or(8, |v| v.clamp(1, 256) as usize),
            missing_percent: 20,
            reupload_percent: 10,
            manifest_percent: 50,
            corrupt_percent: 10,
            extra_percent: 30,
            max_attempts: 20,
        }
    }

    /// How to reproduce this run.
    pub fn reproduce(&self) -> String {
        format!(
            "CHAOS_SEED={} CHAOS_RECORDINGS={} CHAOS_MAX_CHUNKS={} CHAOS_CONCURRENCY={}",
            self.seed, self.recordings, self.max_chunks, self.concurrency
        )
    }
}

/// How events reach the system under test.
#[async_trait]
pub trait ChaosSystem: Send + Sync {
    /// Delivers one EventBridge event from S3 to the chunk upload handler; `Err` means the
    /// handler failed and the event will be redelivered.
    async fn deliver_s3_event(&self, event: Value) -> Result<(), String>;
    /// Delivers one catalog DynamoDB stream event (one record); `Err` (or a reported batch item
    /// failure) means it will be redelivered.
    async fn deliver_catalog_stream(&self, event: Value) -> Result<(), String>;
    /// Moves time past the grace period and runs the sweeper.
    async fn sweep_after_grace(&self) -> Result<(), String>;
    /// Executions actually created (not idempotent replays), with their input.
    async fn started_executions(&self) -> Result<Vec<(String, ProcessingInput)>, String>;
}

/// The ports the harness uses directly: to upload objects, to write the expected count as the
/// client's catalog service would, and to check the invariants.
#[derive(Clone)]
pub struct ChaosPorts {
    /// The object store the handlers read.
    pub objects: Arc<dyn ObjectStore>,
    /// The chunk table the handlers write.
    pub chunks: Arc<dyn ChunkTable>,
    /// The catalog the handlers write.
    pub catalog: Arc<dyn Catalog>,
    /// The clock the handlers use (the expected count's `stoppedAt` is taken from it).
    pub clock: Arc<dyn Clock>,
    /// The recordings bucket.
    pub bucket: String,
}

impl std::fmt::Debug for ChaosPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaosPorts")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// Counts of what one run exercised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChaosReport {
    /// Recordings that must start.
    pub complete: usize,
    /// Recordings that must not start.
    pub incomplete: usize,
    /// Of those, recordings with a mismatching manifest checksum that started anyway (the
    /// recorded event was an older version's, without a stored checksum): the media stage
    /// verifies and fails them.
    pub left_to_media: usize,
    /// Events delivered (including duplicates and redeliveries).
    pub deliveries: usize,
    /// Deliveries that failed and were redelivered.
    pub redeliveries: usize,
}

#[derive(Debug)]
struct Plan {
    recording: RecordingRef,
    expected: u32,
    /// Final etag per uploaded index.
    uploaded: BTreeMap<u32, String>,
    missing: Vec<u32>,
    failed: Vec<u32>,
    /// The only defect is a manifest checksum that does not match the chunk. The ingest compares
    /// it with the checksum S3 stored for the version it recorded; when the event it recorded
    /// was an older version's (no checksum of the current bytes), the recording starts and the
    /// media stage, which hashes what it downloads, fails it naming the chunk. Either outcome is
    /// visible; both are accepted.
    checksum_only: bool,
}

impl Plan {
    fn complete(&self) -> bool {
        self.missing.is_empty() && self.failed.is_empty()
    }
}

#[derive(Debug, Clone)]
enum Delivery {
    S3(Value),
    CatalogWrite {
        user: UserId,
        recording: RecordingId,
        count: u32,
        copies: u32,
    },
    Stream(Value),
}

/// The bytes of a chunk: an MP4 `ftyp` box followed by `payload`.
pub fn mp4_bytes(payload: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(24 + payload.len());
    body.extend_from_slice(&24u32.to_be_bytes());
    body.extend_from_slice(b"ftypisom");
    body.extend_from_slice(&[0, 0, 2, 0]);
    body.extend_from_slice(b"isomiso2");
    body.extend_from_slice(payload);
    Bytes::from(body)
}

/// An S3 "Object Created" EventBridge event as AWS sends it.
pub fn object_created_event(
    bucket: &str,
    key: &str,
    size: u64,
    etag: &str,
    sequencer: &str,
    time: DateTime<Utc>,
) -> Value {
    json!({
        "version": "0",
        "id": format!("chaos-{sequencer}"),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": sequencer},
            "request-id": "CHAOS",
            "requester": "123456789012",
            "source-ip-address": "10.0.0.1",
            "reason": "PutObject",
        },
    })
}

/// A catalog stream event of one record: `expectedChunkCount` written on a recording.
pub fn expected_count_stream_event(
    user: &UserId,
    recording: &RecordingId,
    count: u32,
    sequence: u64,
) -> Value {
    json!({"Records": [{
        "eventID": format!("chaos-{sequence}"),
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/catalog/stream/2026-01-01T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_767_225_600.0,
            "Keys": {"userId": {"S": user.as_str()}, "recordingId": {"S": recording.as_str()}},
            "NewImage": {
                "recordingId": {"S": recording.as_str()},
                "userId": {"S": user.as_str()},
                "status": {"S": "recording"},
                "expectedChunkCount": {"N": count.to_string()},
            },
            "OldImage": {
                "recordingId": {"S": recording.as_str()},
                "userId": {"S": user.as_str()},
                "status": {"S": "recording"},
            },
            "SequenceNumber": format!("{sequence:021}"),
            "SizeBytes": 120,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }]})
}

fn err(config: &ChaosConfig, what: impl std::fmt::Display) -> String {
    format!("chaos invariant violated ({}): {what}", config.reproduce())
}

/// Runs one chaos round and checks the invariants.
pub async fn run(
    config: &ChaosConfig,
    ports: &ChaosPorts,
    system: Arc<dyn ChaosSystem>,
) -> Result<ChaosReport, String> {
    eprintln!("chaos run: {}", config.reproduce());
    let mut rng = StdRng::seed_from_u64(config.seed);
    // Unique per run so suites can share a persistent table (moto) without collisions.
    let run_tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    let time = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let mut plans = Vec::with_capacity(config.recordings);
    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut sequencer: u64 = 0x0100_0000_0000_0000;
    let copies = |rng: &mut StdRng| rng.random_range(1..=3u32);
    for r in 0..config.recordings {
        let user = UserId::new(format!("chaos_u{}", r % 7)).map_err(|e| err(config, e))?;
        let recording = RecordingId::new(format!("chaos-{}-{run_tag}-{r}", config.seed))
            .map_err(|e| err(config, e))?;
        let expected = rng.random_range(1..=config.max_chunks);
        let mut present: BTreeSet<u32> = (0..expected).collect();
        let mut missing = Vec::new();
        if rng.random_range(0..100) < config.missing_percent {
            for _ in 0..rng.random_range(1..=2) {
                let i = rng.random_range(0..expected);
                if present.remove(&i) {
                    missing.push(i);
                }
            }
        }
        missing.sort_unstable();
        let mut failed = Vec::new();
        let mut checksum_only = false;
        // A chunk beyond the count only makes the outcome deterministic on a recording that can
        // never complete: on a complete one it may arrive after the start and is then moot.
        if !missing.is_empty() && rng.random_range(0..100) < config.extra_percent {
            present.insert(expected);
            failed.push(expected);
        }
        let mut uploaded = BTreeMap::new();
        let mut shas = BTreeMap::new();
        for &index in &present {
            let key = chunk_key(
                &user,
                &recording,
                ChunkIndex::new(index).map_err(|e| err(config, e))?,
            );
            let versions = if rng.random_range(0..100) < config.reupload_percent {
                2
            } else {
                1
            };
            for _ in 0..versions {
                let payload: Vec<u8> = (0..rng.random_range(16..256))
                    .map(|_| rng.random())
                    .collect();
                let body = mp4_bytes(&payload);
                let size = body.len() as u64;
                let meta = ports
                    .objects
                    .put_bytes(&ports.bucket, &key, body, "video/mp4")
                    .await
                    .map_err(|e| err(config, format!("upload failed: {e}")))?;
                sequencer += 1 + rng.random_range(0..1000);
                let event = object_created_event(
                    &ports.bucket,
                    &key,
                    size,
                    &meta.etag,
                    &format!("{sequencer:016X}"),
                    time,
                );
                for _ in 0..copies(&mut rng) {
                    deliveries.push(Delivery::S3(event.clone()));
                }
                uploaded.insert(index, meta.etag.clone());
                shas.insert(index, meta.sha256.clone());
            }
        }
        if rng.random_range(0..100) < config.manifest_percent {
            let mut chunks: Vec<ManifestChunk> = Vec::new();
            for (&index, sha) in &shas {
                if index >= expected {
                    continue;
                }
                chunks.push(ManifestChunk {
                    index: ChunkIndex::new(index).map_err(|e| err(config, e))?,
                    sha256: sha.clone(),
                    duration_seconds: Some(10.0),
                });
            }
            // A checksum is only verified once every index is present (a recording with gaps is
            // already incomplete for that reason).
            if missing.is_empty()
                && failed.is_empty()
                && rng.random_range(0..100) < config.corrupt_percent
                && let Some(victim) = chunks.iter_mut().find(|c| c.sha256.is_some())
            {
                victim.sha256 = Some("0".repeat(64));
                failed.push(victim.index.get());
                failed.sort_unstable();
                checksum_only = true;
            }
            let manifest = ChunkManifest {
                expected_chunk_count: expected,
                chunks,
            };
            let body = serde_json::to_vec(&manifest).map_err(|e| err(config, e))?;
            let size = body.len() as u64;
            let key = manifest_key(&user, &recording);
            let meta = ports
                .objects
                .put_bytes(&ports.bucket, &key, Bytes::from(body), "application/json")
                .await
                .map_err(|e| err(config, format!("manifest upload failed: {e}")))?;
            sequencer += 1;
            let event = object_created_event(
                &ports.bucket,
                &key,
                size,
                &meta.etag,
                &format!("{sequencer:016X}"),
                time,
            );
            for _ in 0..copies(&mut rng) {
                deliveries.push(Delivery::S3(event.clone()));
            }
        } else {
            deliveries.push(Delivery::CatalogWrite {
                user: user.clone(),
                recording: recording.clone(),
                count: expected,
                copies: copies(&mut rng),
            });
        }
        plans.push(Plan {
            recording: RecordingRef::new(user.clone(), recording),
            expected,
            uploaded,
            missing,
            failed,
            checksum_only,
        });
    }
    deliveries.shuffle(&mut rng);

    let queue: Arc<Mutex<VecDeque<(Delivery, u32)>>> =
        Arc::new(Mutex::new(deliveries.into_iter().map(|d| (d, 0)).collect()));
    let stats = Arc::new(Mutex::new((0usize, 0usize)));
    let mut tasks = Vec::new();
    for worker in 0..config.concurrency {
        let queue = Arc::clone(&queue);
        let stats = Arc::clone(&stats);
        let system = Arc::clone(&system);
        let ports = ports.clone();
        let config = config.clone();
        let mut stream_sequence = worker as u64 * 1_000_000_000;
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                let Some((delivery, attempts)) = next else {
                    return Ok::<(), String>(());
                };
                let result = match &delivery {
                    Delivery::S3(event) => system.deliver_s3_event(event.clone()).await,
                    Delivery::Stream(event) => system.deliver_catalog_stream(event.clone()).await,
                    Delivery::CatalogWrite {
                        user,
                        recording,
                        count,
                        copies,
                    } => {
                        let written = ports
                            .catalog
                            .set_expected_count(
                                &RecordingRef::new(user.clone(), recording.clone()),
                                *count,
                                EndSignal::Client,
                                ports.clock.now(),
                            )
                            .await
                            .map_err(|e| e.to_string());
                        if written.is_ok() {
                            // The stream record appears after the write, then is delivered
                            // 1–3 times at later random moments.
                            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                            for _ in 0..*copies {
                                stream_sequence += 1;
                                let event = expected_count_stream_event(
                                    user,
                                    recording,
                                    *count,
                                    stream_sequence,
                                );
                                let at =
                                    q.len() / 2 + (stream_sequence as usize % (q.len() / 2 + 1));
                                let at = at.min(q.len());
                                q.insert(at, (Delivery::Stream(event), 0));
                            }
                        }
                        written.map(|_| ())
                    }
                };
                let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                s.0 += 1;
                if let Err(e) = result {
                    s.1 += 1;
                    if attempts + 1 >= config.max_attempts {
                        return Err(err(
                            &config,
                            format!("delivery failed {} times: {e}", attempts + 1),
                        ));
                    }
                    queue
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_back((delivery, attempts + 1));
                }
            }
        }));
    }
    for task in futures::future::join_all(tasks).await {
        task.map_err(|e| err(config, format!("delivery task panicked: {e}")))??;
    }
    system
        .sweep_after_grace()
        .await
        .map_err(|e| err(config, format!("sweep failed: {e}")))?;

    let left_to_media = check_invariants(config, ports, system.as_ref(), &plans).await?;
    let (deliveries, redeliveries) = *stats.lock().unwrap_or_else(|e| e.into_inner());
    Ok(ChaosReport {
        left_to_media,
        complete: plans.iter().filter(|p| p.complete()).count(),
        incomplete: plans.iter().filter(|p| !p.complete()).count(),
        deliveries,
        redeliveries,
    })
}

async fn check_invariants(
    config: &ChaosConfig,
    ports: &ChaosPorts,
    system: &dyn ChaosSystem,
    plans: &[Plan],
) -> Result<usize, String> {
    let mut left_to_media = 0;
    let started = system
        .started_executions()
        .await
        .map_err(|e| err(config, e))?;
    let mut starts: BTreeMap<String, Vec<&ProcessingInput>> = BTreeMap::new();
    for (name, input) in &started {
        starts.entry(name.clone()).or_default().push(input);
    }
    for plan in plans {
        let name = plan.recording.execution_name(0);
        let record = ports
            .catalog
            .get(&plan.recording)
            .await
            .map_err(|e| err(config, e))?
            .ok_or_else(|| err(config, format!("{} has no catalog record", plan.recording)))?;
        let these = starts.remove(&name).unwrap_or_default();
        if plan.complete() {
            if these.len() != 1 {
                return Err(err(
                    config,
                    format!("complete {} started {} times", plan.recording, these.len()),
                ));
            }
            if these[0].chunk_count != plan.expected
                || these[0].recording_id != plan.recording.recording_id
                || these[0].user_id != plan.recording.user_id
            {
                return Err(err(
                    config,
                    format!("{} started with input {:?}", plan.recording, these[0]),
                ));
            }
            if record.status != RecordingStatus::Processing {
                return Err(err(
                    config,
                    format!("complete {} ended as {}", plan.recording, record.status),
                ));
            }
        } else if plan.checksum_only && these.len() == 1 {
            left_to_media += 1;
            // Started: the media stage must be told to verify the manifest's checksums.
            if these[0].manifest_key.is_none() {
                return Err(err(
                    config,
                    format!(
                        "{} with a mismatching manifest checksum started without the manifest key",
                        plan.recording
                    ),
                ));
            }
        } else {
            if !these.is_empty() {
                return Err(err(
                    config,
                    format!(
                        "incomplete {} was started (expected missing {:?} failed {:?}; catalog {} missing {:?} failed {:?})",
                        plan.recording,
                        plan.missing,
                        plan.failed,
                        record.status,
                        record.missing_chunks,
                        record.failed_chunks
                    ),
                ));
            }
            if record.status != RecordingStatus::IncompleteChunks
                || record.missing_chunks != plan.missing
                || record.failed_chunks != plan.failed
            {
                return Err(err(
                    config,
                    format!(
                        "incomplete {} ended as {} missing {:?} failed {:?}; expected missing {:?} failed {:?}",
                        plan.recording,
                        record.status,
                        record.missing_chunks,
                        record.failed_chunks,
                        plan.missing,
                        plan.failed
                    ),
                ));
            }
        }
        let chunks = ports
            .chunks
            .chunks(&plan.recording)
            .await
            .map_err(|e| err(config, e))?;
        let stored: BTreeMap<u32, String> = chunks
            .iter()
            .map(|c| (c.chunk_index.get(), c.etag.clone()))
            .collect();
        if chunks.len() != stored.len() || stored != plan.uploaded {
            return Err(err(
                config,
                format!(
                    "chunk table of {} is {stored:?}, expected the newest uploads {:?}",
                    plan.recording, plan.uploaded
                ),
            ));
        }
    }
    if let Some((name, _)) = starts
        .into_iter()
        .find(|(name, _)| name.starts_with(&format!("chaos-{}-", config.seed)))
    {
        return Err(err(config, format!("unexpected execution {name}")));
    }
    Ok(left_to_media)
}
