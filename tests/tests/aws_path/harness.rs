//! One deployment of the AWS code path on emulators, wired as `infra/terraform` wires it:
//!
//! * moto (shared by the test binary): the recordings bucket with EventBridge notifications; the
//!   chunk and catalog tables (`recorder_aws::create_*_table`, the schema infra declares, with the
//!   catalog's NEW_AND_OLD_IMAGES stream); the chunk and manifest rules with infra's names and
//!   the committed patterns narrowed to the bucket (as `eventbridge.tf` does), each targeting an
//!   SQS queue that stands in for the Lambda target.
//! * the local engine's Step Functions API on 127.0.0.1: the activities of
//!   `asl/error-names.json` and the state machine of `asl/processing.asl.json` with infra's
//!   substitutions (`locals.tf`), its DynamoDB tasks writing the catalog table in moto.
//! * the [`pump`](crate::pump) running the Lambda handler code, and real worker processes.
//!
//! Names come from a unique deployment prefix (`names::*`, like Terraform's `name_prefix`), so
//! tests run in parallel on one moto. Everything is torn down on drop, also when a test panics:
//! workers are killed, the pump stops, and the rules, queues, tables, state machine and bucket
//! are deleted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use asl_engine::{Engine, EngineConfig, Resources, ServerHandle, start_server};
use aws_sdk_s3::types::{EventBridgeConfiguration, NotificationConfiguration};
use aws_sdk_sfn::types::{ExecutionListItem, HistoryEvent, HistoryEventType};
use aws_sdk_sqs::types::QueueAttributeName;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use meeting_domain::contracts::{CatalogRecord, ChunkManifest};
use meeting_domain::deployment::names;
use meeting_domain::keys::{chunk_key, manifest_key};
use meeting_domain::ports::Clock;
use meeting_domain::{ChunkIndex, RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_aws::{
    DynamoDbCatalog, DynamoDbChunkTable, S3ObjectStore, SfnWorkflowStarter, create_catalog_table,
    create_chunk_table,
};
use recorder_lambdas::{IngestConfig, Ports, RecordingMetrics};
use recorder_testkit::media::{Line, corrupt_chunk, make_recording};
use recorder_testkit::moto::{ACCOUNT_ID, MotoServer, REGION, unique_name, workspace_root};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::pump::{self, PumpLog, PumpSources};
use crate::table_adapter::SdkTableAdapter;
use crate::worker::{WorkerEnv, WorkerProcess};

/// `HeartbeatSeconds` of every activity state in the registered copy of the definition. The
/// committed definition says 60–120 s; a test that kills a worker would wait that long for the
/// heartbeat timeout, so the copy registered here is patched down (and workers heartbeat every
/// [`WORKER_HEARTBEAT_SECONDS`]). Nothing else in the definition is changed.
pub const TEST_HEARTBEAT_SECONDS: u64 = 5;
/// `WORKER_HEARTBEAT_SECONDS` of the workers: well inside [`TEST_HEARTBEAT_SECONDS`] even on a
/// loaded machine.
pub const WORKER_HEARTBEAT_SECONDS: u64 = 1;
/// SQS visibility timeout of the target queues: how soon a message whose handling failed is
/// delivered again (EventBridge retries a failed Lambda invocation within seconds to minutes).
const VISIBILITY_TIMEOUT_SECONDS: u32 = 5;
/// How long a scenario may wait for a recording to reach a status. Whisper tiny transcribes the
/// few seconds of speech in a couple of seconds; the margin is for a loaded 2-core machine and
/// for the retries (5 s backoff) of the interrupted-worker scenarios.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(150);
/// The user of every recording the scenarios make.
pub const USER: &str = "user_aws";
/// Poll period of the waits.
const POLL: Duration = Duration::from_millis(200);

/// The wall clock of the handlers plus an offset the test can advance (the grace period of the
/// missing-chunk scenario passes without sleeping).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: Mutex<chrono::Duration>,
}

impl OffsetClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Settings of one harness.
#[derive(Clone, Debug)]
pub struct HarnessOptions {
    /// The completion grace period (`COMPLETION_GRACE_SECONDS`).
    pub grace: Duration,
    /// Hand every event to the handler twice.
    pub deliver_twice: bool,
    /// `WORKER_DRAIN_SECONDS` of the workers.
    pub drain_seconds: u64,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        Self {
            grace: recorder_lambdas::config::DEFAULT_GRACE,
            deliver_twice: false,
            drain_seconds: 30,
        }
    }
}

/// The speech chunks every scenario uploads (rendered once per test process).
pub fn speech_chunks() -> &'static [Bytes] {
    static CHUNKS: OnceLock<Vec<Bytes>> = OnceLock::new();
    CHUNKS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let script = [
            Line {
                voice: "en-us",
                pitch: 35,
                text: "Good morning. We agreed to ship the budget report on Friday.",
            },
            Line {
                voice: "en-us+f3",
                pitch: 70,
                text: "Alice will review the invoices before the release.",
            },
        ];
        let chunks = make_recording(dir.path(), &script, 2.5);
        assert!(
            chunks.len() >= 3,
            "the speech should make at least three chunks"
        );
        chunks
            .iter()
            .map(|path| {
                Bytes::from(
                    std::fs::read(path)
                        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
                )
            })
            .collect()
    })
}

/// A chunk whose `ftyp` box passes the upload handler's sniffing but whose body is garbage.
pub fn corrupt_chunk_bytes() -> Bytes {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = corrupt_chunk(dir.path(), "corrupt.mp4");
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("reading corrupt chunk: {e}")))
}

/// A running deployment; torn down on drop.
pub struct Harness {
    /// The deployment prefix.
    pub prefix: String,
    /// The shared moto server.
    pub moto: &'static MotoServer,
    /// S3 on moto.
    pub s3: aws_sdk_s3::Client,
    /// SQS on moto.
    pub sqs: aws_sdk_sqs::Client,
    /// Step Functions on the engine.
    pub sfn: aws_sdk_sfn::Client,
    /// The recordings bucket.
    pub bucket: String,
    /// The catalog table.
    pub catalog_table: String,
    /// The chunk table.
    pub chunk_table: String,
    /// The processing state machine.
    pub state_machine_arn: String,
    /// The handlers' ports (the same the pump uses).
    pub ports: Ports,
    /// The handlers' clock.
    pub clock: Arc<OffsetClock>,
    /// What the pump did.
    pub pump_log: PumpLog,
    worker_env: WorkerEnv,
    workers: Vec<WorkerProcess>,
    rules: Vec<String>,
    queues: Vec<String>,
    stop: CancellationToken,
    pump: Option<JoinHandle<()>>,
    server: Option<ServerHandle>,
    _engine: Engine,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn fail<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// `asl/{file}` as text.
fn asl_file(file: &str) -> String {
    let path = workspace_root().join("asl").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A committed event pattern narrowed to `bucket`, as `eventbridge.tf` merges it.
fn rule_pattern(file: &str, bucket: &str) -> String {
    let mut pattern: Value = serde_json::from_str(&asl_file(&format!("event-patterns/{file}")))
        .unwrap_or_else(|e| panic!("pattern {file}: {e}"));
    let detail = pattern
        .get_mut("detail")
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("pattern {file} has no detail"));
    detail.insert("bucket".into(), serde_json::json!({ "name": [bucket] }));
    pattern.to_string()
}

/// The definition as Terraform deploys it for `prefix` (`locals.tf`: the activity ARN prefix and
/// the JSON-encoded catalog table name replaced), then with every `HeartbeatSeconds` lowered to
/// [`TEST_HEARTBEAT_SECONDS`] (see there).
fn deployed_definition(activity_arn_prefix: &str, catalog_table: &str) -> String {
    let substitutions: Value = serde_json::from_str(&asl_file("substitutions.json"))
        .unwrap_or_else(|e| panic!("substitutions.json: {e}"));
    let field = |name: &str| {
        substitutions[name]
            .as_str()
            .unwrap_or_else(|| panic!("substitutions.json has no {name}"))
            .to_owned()
    };
    let definition = asl_file("processing.asl.json")
        .replace(&field("activityArnPrefix"), activity_arn_prefix)
        .replace(
            &Value::from(field("catalogTable")).to_string(),
            &Value::from(catalog_table).to_string(),
        );
    let mut parsed: Value =
        serde_json::from_str(&definition).unwrap_or_else(|e| panic!("definition: {e}"));
    let states = parsed["States"]
        .as_object_mut()
        .unwrap_or_else(|| panic!("the definition has no States"));
    for state in states.values_mut() {
        if let Some(heartbeat) = state.get_mut("HeartbeatSeconds") {
            *heartbeat = Value::from(TEST_HEARTBEAT_SECONDS);
        }
    }
    parsed.to_string()
}

/// The activity names of `asl/error-names.json` (infra's `activity_names`).
fn activity_names() -> Vec<String> {
    let contracts: Value = serde_json::from_str(&asl_file("error-names.json"))
        .unwrap_or_else(|e| panic!("error-names.json: {e}"));
    contracts
        .as_array()
        .unwrap_or_else(|| panic!("error-names.json is not a list"))
        .iter()
        .filter_map(|c| c["activity"].as_str().map(str::to_owned))
        .collect()
}

impl Harness {
    /// Deploys everything and starts the pump (no worker yet: see [`Harness::start_worker`]).
    pub async fn start(options: HarnessOptions) -> Self {
        let moto = MotoServer::shared();
        let prefix = unique_name("mr");
        let sdk = moto.sdk_config().await;
        let s3 = moto.s3_client().await;
        let sqs = moto.sqs_client().await;
        let events = moto.eventbridge_client().await;
        let dynamodb = moto.dynamodb_client().await;
        let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);

        // Step Functions: the engine, its DynamoDB tasks on moto.
        let engine = Engine::new(EngineConfig {
            region: REGION.to_owned(),
            account: ACCOUNT_ID.to_owned(),
            resources: Resources {
                tables: Arc::new(SdkTableAdapter::new(dynamodb.clone())),
                handlers: HashMap::new(),
                // The workflow has no Map ItemReader.
                objects: None,
            },
        });
        let (address, server) = start_server(engine.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("starting the engine's API: {e}"));
        let sfn_endpoint = format!("http://{address}");
        let sfn = aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(&sdk)
                .endpoint_url(&sfn_endpoint)
                .build(),
        );

        let bucket = format!("{prefix}-recordings");
        let chunk_table = names::chunk_table(&prefix);
        let catalog_table = names::catalog_table(&prefix);
        let activity_arn_base = format!("arn:aws:states:{REGION}:{ACCOUNT_ID}:activity:{prefix}");
        let mut harness_rules = Vec::new();
        let mut harness_queues = Vec::new();
        let setup: Result<String, String> = async {
            s3.create_bucket()
                .bucket(&bucket)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "create_bucket: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    )
                })?;
            s3.put_bucket_notification_configuration()
                .bucket(&bucket)
                .notification_configuration(
                    NotificationConfiguration::builder()
                        .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "bucket notifications: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    )
                })?;
            create_chunk_table(&dynamodb, &chunk_table)
                .await
                .map_err(fail("create_chunk_table"))?;
            create_catalog_table(&dynamodb, &catalog_table)
                .await
                .map_err(fail("create_catalog_table"))?;
            for (rule, pattern, queue) in [
                (
                    names::chunk_rule(&prefix),
                    "chunk-object-created.json",
                    format!("{prefix}-chunk-events"),
                ),
                (
                    names::manifest_rule(&prefix),
                    "manifest-object-created.json",
                    format!("{prefix}-manifest-events"),
                ),
            ] {
                let url = sqs
                    .create_queue()
                    .queue_name(&queue)
                    .attributes(
                        QueueAttributeName::VisibilityTimeout,
                        VISIBILITY_TIMEOUT_SECONDS.to_string(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "create_queue: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        )
                    })?
                    .queue_url
                    .ok_or("create_queue returned no URL")?;
                harness_queues.push(url.clone());
                let arn = sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::QueueArn)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "get_queue_attributes: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        )
                    })?
                    .attributes
                    .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                    .ok_or("no QueueArn")?;
                events
                    .put_rule()
                    .name(&rule)
                    .event_pattern(rule_pattern(pattern, &bucket))
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "put_rule: {}",
                            aws_sdk_eventbridge::error::DisplayErrorContext(e)
                        )
                    })?;
                harness_rules.push(rule.clone());
                events
                    .put_targets()
                    .rule(&rule)
                    .targets(
                        aws_sdk_eventbridge::types::Target::builder()
                            .id("chunk-upload-handler")
                            .arn(arn)
                            .build()
                            .map_err(fail("target"))?,
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "put_targets: {}",
                            aws_sdk_eventbridge::error::DisplayErrorContext(e)
                        )
                    })?;
            }
            for activity in activity_names() {
                sfn.create_activity()
                    .name(names::activity(&prefix, &activity))
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "create_activity: {}",
                            aws_sdk_sfn::error::DisplayErrorContext(e)
                        )
                    })?;
            }
            let machine = sfn
                .create_state_machine()
                .name(names::state_machine(&prefix))
                .definition(deployed_definition(
                    &format!("{activity_arn_base}-"),
                    &catalog_table,
                ))
                .role_arn(format!("arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-states"))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "create_state_machine: {}",
                        aws_sdk_sfn::error::DisplayErrorContext(e)
                    )
                })?;
            Ok(machine.state_machine_arn)
        }
        .await;

        let clock = Arc::new(OffsetClock::default());
        let mut config = IngestConfig::new(bucket.clone());
        config.grace = options.grace;
        let ports = Ports {
            objects: Arc::new(S3ObjectStore::new(s3.clone())),
            chunks: Arc::new(DynamoDbChunkTable::new(
                dynamodb.clone(),
                chunk_table.clone(),
            )),
            catalog: Arc::new(DynamoDbCatalog::new(
                dynamodb.clone(),
                catalog_table.clone(),
            )),
            workflows: Arc::new(SfnWorkflowStarter::new(
                sfn.clone(),
                setup.clone().unwrap_or_default(),
            )),
            clock: clock.clone(),
            metrics: Arc::new(RecordingMetrics::new()),
            config,
        };
        let stop = CancellationToken::new();
        let mut harness = Self {
            prefix,
            moto,
            s3,
            sqs: sqs.clone(),
            sfn,
            bucket,
            catalog_table,
            chunk_table,
            state_machine_arn: setup.clone().unwrap_or_default(),
            ports,
            clock,
            pump_log: PumpLog::default(),
            worker_env: WorkerEnv {
                moto_endpoint: moto.endpoint().to_owned(),
                sfn_endpoint,
                activity_arn_prefix: activity_arn_base,
                drain_seconds: options.drain_seconds,
                heartbeat_seconds: WORKER_HEARTBEAT_SECONDS,
            },
            workers: Vec::new(),
            rules: harness_rules,
            queues: harness_queues,
            stop,
            pump: None,
            server: Some(server),
            _engine: engine,
        };
        // On a setup failure the harness is dropped here, deleting what was created.
        if let Err(reason) = setup {
            panic!("deploying the harness on moto and the engine failed: {reason}");
        }
        let stream_arn = dynamodb
            .describe_table()
            .table_name(&harness.catalog_table)
            .send()
            .await
            .ok()
            .and_then(|t| t.table.and_then(|t| t.latest_stream_arn))
            .unwrap_or_else(|| panic!("the catalog table has no stream"));
        let sources = PumpSources {
            sqs: harness.sqs.clone(),
            queues: harness.queues.clone(),
            streams,
            stream_arn,
            deliver_twice: options.deliver_twice,
        };
        harness.pump = Some(tokio::spawn(pump::run(
            harness.ports.clone(),
            sources,
            harness.pump_log.clone(),
            harness.stop.clone(),
        )));
        harness
    }

    /// Starts a worker process; returns its position in [`Harness::worker`].
    pub fn start_worker(&mut self) -> usize {
        let name = format!("{}-worker-{}", self.prefix, self.workers.len());
        self.workers
            .push(WorkerProcess::start(&name, &self.worker_env));
        self.workers.len() - 1
    }

    /// A started worker.
    pub fn worker(&mut self, index: usize) -> &mut WorkerProcess {
        &mut self.workers[index]
    }

    /// The user of every recording of the scenarios.
    fn user() -> UserId {
        UserId::new(USER).unwrap_or_else(|e| panic!("user id: {e}"))
    }

    /// A fresh recording of user [`USER`].
    pub fn new_recording(&self) -> (UserId, RecordingId) {
        let recording =
            RecordingId::new(unique_name("rec")).unwrap_or_else(|e| panic!("recording id: {e}"));
        (Self::user(), recording)
    }

    /// The catalog and chunk-table address of `recording` (of user [`USER`]).
    pub fn recording_ref(recording: &RecordingId) -> RecordingRef {
        RecordingRef::new(Self::user(), recording.clone())
    }

    /// Uploads chunk `index` as the desktop client does (PutObject).
    pub async fn upload_chunk(
        &self,
        user: &UserId,
        recording: &RecordingId,
        index: u32,
        body: Bytes,
    ) {
        let index = ChunkIndex::new(index).unwrap_or_else(|e| panic!("chunk index: {e}"));
        self.put(&chunk_key(user, recording, index), body, "video/mp4")
            .await;
    }

    /// Uploads the manifest (the end marker) with `expected` chunks.
    pub async fn upload_manifest(&self, user: &UserId, recording: &RecordingId, expected: u32) {
        let manifest = ChunkManifest {
            expected_chunk_count: expected,
            chunks: Vec::new(),
        };
        let body = serde_json::to_vec(&manifest).unwrap_or_else(|e| panic!("manifest: {e}"));
        self.put(
            &manifest_key(user, recording),
            Bytes::from(body),
            "application/json",
        )
        .await;
    }

    async fn put(&self, key: &str, body: Bytes, content_type: &str) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "put_object {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
    }

    /// Sends `body` to `queue` again, as EventBridge redelivers an event.
    pub async fn redeliver(&self, queue: &str, body: &str) {
        self.sqs
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "send_message: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            });
    }

    /// The catalog record.
    pub async fn catalog(&self, recording: &RecordingId) -> Option<CatalogRecord> {
        self.ports
            .catalog
            .get(&Self::recording_ref(recording))
            .await
            .unwrap_or_else(|e| panic!("reading the catalog: {e}"))
    }

    /// Waits until `done` holds for the catalog record of `recording`; panics with the whole
    /// story (catalog, executions and their histories, pump log, worker logs) otherwise.
    pub async fn wait_for(
        &mut self,
        recording: &RecordingId,
        what: &str,
        done: impl Fn(&CatalogRecord) -> bool,
    ) -> CatalogRecord {
        let deadline = Instant::now() + STATUS_TIMEOUT;
        loop {
            if let Some(record) = self.catalog(recording).await
                && done(&record)
            {
                return record;
            }
            if Instant::now() > deadline {
                let story = self.story(recording).await;
                panic!("{recording} did not reach {what} within {STATUS_TIMEOUT:?}\n{story}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the chunk table holds `count` chunks of `recording`.
    pub async fn wait_for_chunks(&self, recording: &RecordingId, count: usize) {
        let deadline = Instant::now() + STATUS_TIMEOUT;
        loop {
            let recorded = self
                .ports
                .chunks
                .chunks(&Self::recording_ref(recording))
                .await
                .unwrap_or_else(|e| panic!("reading the chunk table: {e}"))
                .len();
            if recorded >= count {
                return;
            }
            if Instant::now() > deadline {
                let story = self.story(recording).await;
                panic!("only {recorded} of {count} chunks of {recording} were recorded\n{story}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for `status`.
    pub async fn wait_for_status(
        &mut self,
        recording: &RecordingId,
        status: RecordingStatus,
    ) -> CatalogRecord {
        self.wait_for(recording, &format!("status {status:?}"), |r| {
            r.status == status
        })
        .await
    }

    /// The executions of the state machine named after `recording` (any run).
    pub async fn executions(&self, recording: &RecordingId) -> Vec<ExecutionListItem> {
        let recording = Self::recording_ref(recording);
        self.sfn
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "list_executions: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            })
            .executions
            .into_iter()
            .filter(|e| recording.run_of_execution(&e.name).is_some())
            .collect()
    }

    /// The history of an execution.
    pub async fn history(&self, execution_arn: &str) -> Vec<HistoryEvent> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(execution_arn)
                .set_next_token(token)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "get_execution_history: {}",
                        aws_sdk_sfn::error::DisplayErrorContext(e)
                    )
                });
            events.extend(page.events);
            token = page.next_token;
            if token.is_none() {
                return events;
            }
        }
    }

    /// The only execution of `recording`; panics with the story when there is not exactly one.
    pub async fn only_execution(&self, recording: &RecordingId) -> ExecutionListItem {
        let executions = self.executions(recording).await;
        if executions.len() != 1 {
            let story = self.story(recording).await;
            panic!(
                "expected exactly one execution of {recording}, found {}\n{story}",
                executions.len()
            );
        }
        executions
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no execution"))
    }

    /// The recording's only execution once it has closed. The catalog says `completed` as soon
    /// as the RecordResults task wrote it, a moment before the execution's own Succeed state and
    /// `ExecutionSucceeded` (on AWS too), so a reader of both must wait for the second.
    pub async fn only_finished_execution(&self, recording: &RecordingId) -> ExecutionListItem {
        let deadline = Instant::now() + STATUS_TIMEOUT;
        loop {
            let execution = self.only_execution(recording).await;
            if execution.status != aws_sdk_sfn::types::ExecutionStatus::Running
                || Instant::now() > deadline
            {
                return execution;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until an activity task of `recording`'s execution is running (started by a worker
    /// and not finished) in state `state`; returns the execution ARN.
    pub async fn wait_for_running_task(&mut self, recording: &RecordingId, state: &str) -> String {
        let deadline = Instant::now() + STATUS_TIMEOUT;
        loop {
            for execution in self.executions(recording).await {
                let history = self.history(&execution.execution_arn).await;
                if running_state(&history).as_deref() == Some(state) {
                    return execution.execution_arn;
                }
                if execution.status != aws_sdk_sfn::types::ExecutionStatus::Running {
                    let story = self.story(recording).await;
                    panic!(
                        "the execution of {recording} ended before a {state} task could be seen \
                         running (polled every 50 ms)\n{story}"
                    );
                }
            }
            if Instant::now() > deadline {
                let story = self.story(recording).await;
                panic!("no {state} task of {recording} ran within {STATUS_TIMEOUT:?}\n{story}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything known about `recording`, for panic messages.
    pub async fn story(&self, recording: &RecordingId) -> String {
        let mut story = format!("catalog: {:#?}\n", self.catalog(recording).await);
        for execution in self.executions(recording).await {
            story.push_str(&format!(
                "execution {} {:?}\n",
                execution.name, execution.status
            ));
            for event in self.history(&execution.execution_arn).await {
                story.push_str(&format!("  {}\n", describe(&event)));
            }
        }
        story.push_str("pump:\n");
        for entry in self.pump_log.about(recording.as_str()) {
            story.push_str(&format!("  {entry}\n"));
        }
        for entry in self
            .pump_log
            .entries()
            .into_iter()
            .filter(|e| e.contains("failed") || e.contains("FAILED"))
        {
            story.push_str(&format!("  {entry}\n"));
        }
        for worker in &self.workers {
            story.push_str(&format!(
                "worker {} log (tail):\n{}\n",
                worker.name(),
                worker.log_tail()
            ));
        }
        story
    }
}

/// The state whose activity task is running: its last activity event is ActivityStarted.
pub fn running_state(history: &[HistoryEvent]) -> Option<String> {
    let mut state = None;
    let mut running = false;
    for event in history {
        match event.r#type {
            HistoryEventType::TaskStateEntered => {
                state = event
                    .state_entered_event_details
                    .as_ref()
                    .map(|d| d.name.clone());
                running = false;
            }
            HistoryEventType::ActivityStarted => running = true,
            HistoryEventType::ActivitySucceeded
            | HistoryEventType::ActivityFailed
            | HistoryEventType::ActivityTimedOut
            | HistoryEventType::ActivityScheduled => running = false,
            _ => {}
        }
    }
    state.filter(|_| running)
}

/// One line per history event: type, state, worker, error.
pub fn describe(event: &HistoryEvent) -> String {
    let mut line = format!("{:>3} {:?}", event.id, event.r#type);
    if let Some(d) = &event.state_entered_event_details {
        line.push_str(&format!(" {}", d.name));
    }
    if let Some(d) = &event.activity_started_event_details {
        line.push_str(&format!(" by {}", d.worker_name.as_deref().unwrap_or("?")));
    }
    if let Some(d) = &event.activity_failed_event_details {
        line.push_str(&format!(
            " {} {}",
            d.error.as_deref().unwrap_or(""),
            d.cause.as_deref().unwrap_or("")
        ));
    }
    if let Some(d) = &event.activity_timed_out_event_details {
        line.push_str(&format!(" {}", d.error.as_deref().unwrap_or("")));
    }
    if let Some(d) = &event.execution_failed_event_details {
        line.push_str(&format!(
            " {} {}",
            d.error.as_deref().unwrap_or(""),
            d.cause.as_deref().unwrap_or("")
        ));
    }
    line
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Workers first (the watchdogs kill them), then the pump and the engine's API.
        self.workers.clear();
        self.stop.cancel();
        if let Some(pump) = self.pump.take() {
            pump.abort();
        }
        if let (Some(server), Ok(runtime)) =
            (self.server.take(), tokio::runtime::Handle::try_current())
        {
            // The accept loop ends with the test's runtime at the latest; ask it to stop now.
            drop(runtime.spawn(server.shutdown()));
        }
        // Delete what was deployed on the shared moto, on a runtime of its own (Drop cannot
        // await, and this may run while a panic unwinds through the test's runtime).
        let moto = self.moto;
        let (bucket, rules, queues) = (
            self.bucket.clone(),
            std::mem::take(&mut self.rules),
            std::mem::take(&mut self.queues),
        );
        let tables = [self.chunk_table.clone(), self.catalog_table.clone()];
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let events = moto.eventbridge_client().await;
                for rule in &rules {
                    let _ = events
                        .remove_targets()
                        .rule(rule)
                        .ids("chunk-upload-handler")
                        .send()
                        .await;
                    let _ = events.delete_rule().name(rule).send().await;
                }
                let sqs = moto.sqs_client().await;
                for queue in &queues {
                    let _ = sqs.delete_queue().queue_url(queue).send().await;
                }
                let dynamodb = moto.dynamodb_client().await;
                for table in &tables {
                    let _ = dynamodb.delete_table().table_name(table).send().await;
                }
                let s3 = moto.s3_client().await;
                if let Ok(listing) = s3.list_objects_v2().bucket(&bucket).send().await {
                    for object in listing.contents() {
                        if let Some(key) = object.key() {
                            let _ = s3.delete_object().bucket(&bucket).key(key).send().await;
                        }
                    }
                }
                let _ = s3.delete_bucket().bucket(&bucket).send().await;
            });
        });
        let _ = cleanup.join();
    }
}
