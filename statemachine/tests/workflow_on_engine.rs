//! The generated processing workflow run on the local engine, on a paused clock, with scripted
//! in-process workers and the in-memory catalog table: where every path ends and what the
//! catalog says afterwards.

use std::sync::Arc;

use asl_engine::{Engine, EngineConfig, ExecutionStatus, MemoryTables, Resources};
use meeting_domain::contracts::workflow_errors;
use meeting_domain::ports::ActivityTaskSource;
use serde_json::{Value, json};
use statemachine::workflow::{Deployment, MAX_TRANSCRIPTION_CHECKS, processing_workflow};

const ROLE: &str = "arn:aws:iam::123456789012:role/processing";
const EXECUTION: &str = "rec-1-run-0";

/// How the scripted transcription behaves.
#[derive(Clone, Copy)]
enum Transcription {
    /// Completes on the first check.
    Completes,
    /// Stays IN_PROGRESS forever.
    NeverFinishes,
}

struct Harness {
    engine: Engine,
    tables: Arc<MemoryTables>,
    machine_arn: String,
    table: String,
    checks: Arc<std::sync::atomic::AtomicU32>,
}

fn harness() -> Harness {
    let deployment = Deployment::default();
    let tables = Arc::new(MemoryTables::new());
    let table = deployment.catalog_table();
    tables.create_table(&table, &["userId", "recordingId"]);
    let engine = Engine::new(EngineConfig {
        resources: Resources {
            tables: Arc::clone(&tables) as Arc<dyn asl_engine::TableAdapter>,
            ..Resources::default()
        },
        ..EngineConfig::default()
    });
    let workflow = processing_workflow(&deployment).expect("the workflow builds");
    let definition = serde_json::to_string(&workflow.machine).expect("serializable");
    let machine = engine
        .create_state_machine("processing", &definition, ROLE, None)
        .expect("the engine accepts the generated workflow");
    for activity in [
        "prepare-media",
        "start-transcription",
        "check-transcription",
        "summarize",
    ] {
        engine
            .create_activity(&format!("{}-{activity}", deployment.prefix))
            .expect("activity");
    }
    Harness {
        engine,
        tables,
        machine_arn: machine.arn,
        table,
        checks: Arc::new(std::sync::atomic::AtomicU32::new(0)),
    }
}

fn activity_arn(name: &str) -> String {
    format!("{}{name}", Deployment::default().activity_arn_prefix())
}

impl Harness {
    /// A catalog item for the recording, owned by `execution_name`'s run.
    async fn seed_catalog(&self, status: &str, execution_name: &str) {
        use asl_engine::TableAdapter;
        let item = json!({
            "TableName": self.table,
            "Item": {
                "userId": {"S": "user-1"},
                "recordingId": {"S": "rec-1"},
                "status": {"S": status},
                "executionName": {"S": execution_name},
                "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
            }
        });
        self.tables.put_item(&item).await.expect("seeded");
    }

    fn catalog_item(&self) -> Value {
        let items = self.tables.items(&self.table);
        assert_eq!(items.len(), 1, "one catalog item: {items:#?}");
        items[0].clone()
    }

    /// Workers answering every activity as scripted, until the test ends.
    fn spawn_workers(&self, transcription: Transcription) {
        let source = Arc::new(self.engine.activity_source());
        for (name, answer) in [
            (
                "prepare-media",
                json!({
                    "recordingKey": "users/user-1/processed/rec-1/recording.mp4",
                    "audioKey": "users/user-1/processed/rec-1/audio.flac",
                    "durationSeconds": 12.5,
                    "audioBytes": 1000,
                    "chunkOffsets": [],
                    "recordedAt": "2026-03-10T10:00:00+01:00",
                }),
            ),
            (
                "start-transcription",
                json!({"jobName": "job-1", "engine": "scripted"}),
            ),
            (
                "summarize",
                json!({
                    "summaryKey": "users/user-1/processed/rec-1/summary.json",
                    "summaryMarkdownKey": "users/user-1/processed/rec-1/summary.md",
                    "actionItemCount": 0,
                    "decisionCount": 0,
                }),
            ),
        ] {
            let source = Arc::clone(&source);
            let arn = activity_arn(name);
            tokio::spawn(async move {
                loop {
                    if let Ok(Some(task)) = source.poll(&arn, "scripted").await {
                        let _ = source.succeed(&task.token, &answer.to_string()).await;
                    }
                }
            });
        }
        let checks = Arc::clone(&self.checks);
        let arn = activity_arn("check-transcription");
        tokio::spawn(async move {
            loop {
                if let Ok(Some(task)) = source.poll(&arn, "scripted").await {
                    checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let answer = match transcription {
                        Transcription::Completes => json!({
                            "status": "COMPLETED",
                            "transcriptKey": "users/user-1/processed/rec-1/transcript.json",
                            "speakerCount": 1,
                        }),
                        Transcription::NeverFinishes => json!({"status": "IN_PROGRESS"}),
                    };
                    let _ = source.succeed(&task.token, &answer.to_string()).await;
                }
            }
        });
    }

    async fn run(&self) -> asl_engine::ExecutionOutcome {
        let input = json!({
            "userId": "user-1",
            "recordingId": "rec-1",
            "bucket": "recordings",
            "chunkCount": 2,
            "run": 0,
            "options": {},
            "manifestKey": null,
        });
        let execution = self
            .engine
            .start_execution(&self.machine_arn, Some(EXECUTION), Some(&input.to_string()))
            .expect("started");
        execution.wait().await
    }
}

#[tokio::test(start_paused = true)]
async fn given_a_transcription_that_never_completes_when_processed_then_the_recording_fails_with_transcription_timed_out()
 {
    let h = harness();
    h.seed_catalog("processing", EXECUTION).await;
    h.spawn_workers(Transcription::NeverFinishes);
    let started = tokio::time::Instant::now();

    let outcome = h.run().await;

    assert_eq!(outcome.status, ExecutionStatus::Failed, "{outcome:?}");
    assert_eq!(
        outcome.error.as_deref(),
        Some(workflow_errors::TRANSCRIPTION_TIMED_OUT)
    );
    let item = h.catalog_item();
    assert_eq!(item["status"], json!({"S": "processing_failed"}), "{item}");
    assert_eq!(
        item["error"],
        json!({"S": workflow_errors::TRANSCRIPTION_TIMED_OUT})
    );
    let cause = item["cause"]["S"].as_str().unwrap_or_default().to_owned();
    assert!(
        cause.contains("4 hours") && cause.contains("recorder reprocess --from transcription"),
        "{cause}"
    );
    // One check before the first wait, then one per wait.
    assert_eq!(
        h.checks.load(std::sync::atomic::Ordering::SeqCst),
        MAX_TRANSCRIPTION_CHECKS + 1
    );
    let waited = started.elapsed().as_secs();
    assert!(
        (4 * 3600..8 * 3600).contains(&waited),
        "ended after {waited} s of virtual time, before the 8 h execution timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn given_the_current_run_when_it_completes_then_the_item_of_user_and_recording_is_completed()
{
    let h = harness();
    h.seed_catalog("processing", EXECUTION).await;
    h.spawn_workers(Transcription::Completes);

    let outcome = h.run().await;

    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
    let item = h.catalog_item();
    assert_eq!(item["status"], json!({"S": "completed"}), "{item}");
    assert_eq!(
        item["results"]["M"]["summaryKey"],
        json!({"S": "users/user-1/processed/rec-1/summary.json"})
    );
}

#[tokio::test(start_paused = true)]
async fn given_a_newer_run_in_the_catalog_when_a_stale_run_completes_then_it_fails_without_writing()
{
    let h = harness();
    h.seed_catalog("processing", "rec-1-run-1").await;
    h.spawn_workers(Transcription::Completes);

    let outcome = h.run().await;

    assert_eq!(outcome.status, ExecutionStatus::Failed, "{outcome:?}");
    assert_eq!(
        outcome.error.as_deref(),
        Some(workflow_errors::CATALOG_NOT_CURRENT_RUN)
    );
    let item = h.catalog_item();
    assert_eq!(item["status"], json!({"S": "processing"}), "{item}");
    assert_eq!(item["executionName"], json!({"S": "rec-1-run-1"}));
}

#[tokio::test(start_paused = true)]
async fn given_a_newer_run_in_the_catalog_when_a_stale_run_fails_then_the_failure_is_not_written() {
    let h = harness();
    h.seed_catalog("processing", "rec-1-run-1").await;
    h.spawn_workers(Transcription::NeverFinishes);

    let outcome = h.run().await;

    assert_eq!(outcome.status, ExecutionStatus::Failed, "{outcome:?}");
    assert_eq!(
        outcome.error.as_deref(),
        Some(workflow_errors::CATALOG_NOT_CURRENT_RUN)
    );
    let item = h.catalog_item();
    assert_eq!(item["status"], json!({"S": "processing"}), "{item}");
    assert!(item.get("error").is_none(), "{item}");
}
