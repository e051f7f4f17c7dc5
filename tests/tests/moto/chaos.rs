//! The chaos harness of `recorder-testkit` against the real AWS adapters on moto: the chunk
//! table and the catalog on DynamoDB, the chunks in S3, the Lambda library's handlers driven with
//! the harness's EventBridge and stream events. Only the workflow starter is the in-memory fake
//! (moto cannot run our workflow's activities; the SFN adapter has its own tests). Smaller than
//! the in-memory run: every delivery is several HTTP round trips to moto.
//!
//! Reproduce a failure with the printed `CHAOS_SEED=… CHAOS_RECORDINGS=…`.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use meeting_domain::contracts::ProcessingInput;
use recorder_aws::{
    DynamoDbCatalog, DynamoDbChunkTable, S3ObjectStore, create_catalog_table, create_chunk_table,
};
use recorder_lambdas::{IngestConfig, Ports, RecordingMetrics};
use recorder_testkit::chaos::{self, ChaosConfig, ChaosPorts, ChaosSystem, ManualClock};
use recorder_testkit::memory::workflow_starter::MemoryWorkflowStarter;
use recorder_testkit::moto::{MotoServer, unique_name};
use serde_json::Value;

/// Recordings in the default run (override with `CHAOS_RECORDINGS`).
const RECORDINGS: usize = 40;

/// The Lambda library wired to the AWS adapters on moto.
struct MotoSystem {
    ports: Ports,
    chaos_ports: ChaosPorts,
    clock: Arc<ManualClock>,
    workflows: Arc<MemoryWorkflowStarter>,
}

impl MotoSystem {
    async fn start() -> Self {
        let moto = MotoServer::shared();
        let dynamodb = moto.dynamodb_client().await;
        let s3 = moto.s3_client().await;
        let chunk_table = unique_name("chaos-chunks");
        let catalog_table = unique_name("chaos-catalog");
        create_chunk_table(&dynamodb, &chunk_table)
            .await
            .unwrap_or_else(|e| panic!("creating {chunk_table} on moto: {e}"));
        create_catalog_table(&dynamodb, &catalog_table)
            .await
            .unwrap_or_else(|e| panic!("creating {catalog_table} on moto: {e}"));
        let bucket = moto.create_bucket(&s3, "chaos-recordings").await;

        let objects = Arc::new(S3ObjectStore::new(s3));
        let chunks = Arc::new(DynamoDbChunkTable::new(dynamodb.clone(), chunk_table));
        let catalog = Arc::new(DynamoDbCatalog::new(dynamodb, catalog_table));
        let workflows = Arc::new(MemoryWorkflowStarter::new());
        let clock = Arc::new(ManualClock::fixed());
        let mut config = IngestConfig::new(bucket.clone());
        config.max_chunk_bytes = 1024 * 1024;
        config.grace = std::time::Duration::from_secs(600);
        let ports = Ports {
            objects: objects.clone(),
            chunks: chunks.clone(),
            catalog: catalog.clone(),
            workflows: workflows.clone(),
            clock: clock.clone(),
            metrics: Arc::new(RecordingMetrics::new()),
            config,
        };
        let chaos_ports = ChaosPorts {
            objects,
            chunks,
            catalog,
            clock: clock.clone(),
            bucket,
        };
        Self {
            ports,
            chaos_ports,
            clock,
            workflows,
        }
    }
}

#[async_trait]
impl ChaosSystem for MotoSystem {
    async fn deliver_s3_event(&self, event: Value) -> Result<(), String> {
        let event = serde_json::from_value(event).map_err(|e| e.to_string())?;
        recorder_lambdas::ingest::handle_event(&self.ports, event)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn deliver_catalog_stream(&self, event: Value) -> Result<(), String> {
        let event: StreamEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
        let response = recorder_lambdas::stream::handle_batch(&self.ports, &event).await;
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
        let grace =
            chrono::Duration::from_std(self.ports.config.grace).map_err(|e| e.to_string())?;
        self.clock.advance(grace + chrono::Duration::seconds(1));
        recorder_lambdas::sweeper::sweep(&self.ports)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn started_executions(&self) -> Result<Vec<(String, ProcessingInput)>, String> {
        Ok(self.workflows.started())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_on_dynamodb_and_s3_starts_every_complete_recording_once_and_no_incomplete_one() {
    let config = ChaosConfig::from_env(RECORDINGS);
    let system = Arc::new(MotoSystem::start().await);
    let ports = system.chaos_ports.clone();

    let report = chaos::run(&config, &ports, system.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    eprintln!("{report:?}");
    assert!(
        report.complete > 0 && report.incomplete > 0,
        "the run must exercise both outcomes: {report:?} ({})",
        config.reproduce()
    );
    assert_eq!(
        system.workflows.started().len(),
        report.complete + report.left_to_media
    );
}
