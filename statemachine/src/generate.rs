//! Generates everything under `asl/` from code, and checks the committed files are current.
//!
//! - `processing.asl.json`: the processing workflow for the default [`Deployment`];
//! - `substitutions.json`: the deployment-specific strings of the definition, which Terraform and
//!   the local runtime replace with their own;
//! - `schemas/*.schema.json`: JSON Schemas of every contract type;
//! - `event-patterns/*.json`: the EventBridge patterns of the chunk and manifest rules (used by
//!   Terraform and by the local event bus) and of the execution status rule (Terraform);
//! - `error-names.json`: every activity's closed error set with its retry policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use meeting_domain::activity::{ActivityContract, ActivityErrorName, WorkerError};
use meeting_domain::contracts::{
    CatalogRecord, CheckTranscription, CheckTranscriptionInput, ChunkManifest, ChunkRecord,
    MediaOutput, MeetingSummary, PrepareMedia, PrepareMediaInput, ProcessingInput,
    StartTranscription, StartTranscriptionInput, Summarize, SummarizeInput, SummaryOutput,
    Transcript, TranscriptionJob, TranscriptionStatus,
};
use meeting_domain::status::RecordingStatus;
use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::error::Error;
use crate::workflow::{Deployment, processing_workflow};

/// The generated files, by path relative to `asl/`.
pub type Files = BTreeMap<PathBuf, String>;

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn schema<T: JsonSchema>() -> String {
    pretty(&serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default())
}

/// The EventBridge pattern that selects chunk uploads. The seed listed `prefix` and `suffix` as
/// two alternatives of one matcher, which matches every key under `users/`; a wildcard matches
/// only `users/*/chunks/*/chunk_*.mp4`. The handler re-checks the full grammar.
pub fn chunk_event_pattern() -> Value {
    json!({
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"object": {"key": [{"wildcard": "users/*/chunks/*/chunk_*.mp4"}]}}
    })
}

/// The EventBridge pattern that selects manifest (end marker) uploads.
pub fn manifest_event_pattern() -> Value {
    json!({
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"object": {"key": [{"wildcard": "users/*/chunks/*/manifest.json"}]}}
    })
}

/// The execution statuses that end a run without the workflow recording it: `TimeoutSeconds`
/// (TIMED_OUT), `StopExecution` (ABORTED) and failures outside the Catch (FAILED) run no state
/// that could write the catalog. RUNNING and SUCCEEDED are not selected (the handler would only
/// acknowledge them).
pub const TERMINAL_FAILURE_STATUSES: [&str; 3] = ["FAILED", "TIMED_OUT", "ABORTED"];

/// The EventBridge pattern that selects Step Functions executions ending in a failure status.
/// Terraform narrows it to the processing state machine's ARN (`detail.stateMachineArn`), as the
/// S3 patterns are narrowed to the bucket.
pub fn execution_status_event_pattern() -> Value {
    json!({
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": TERMINAL_FAILURE_STATUSES}
    })
}

fn error_set<A: ActivityContract>() -> Value {
    let errors: Vec<Value> = <A::Error as ActivityErrorName>::ALL
        .iter()
        .map(|e| json!({"name": e.name(), "retryable": e.retryable()}))
        .chain(
            WorkerError::ALL
                .iter()
                .map(|e| json!({"name": e.name(), "retryable": e.retryable()})),
        )
        .collect();
    json!({
        "activity": A::NAME,
        "heartbeatSeconds": A::HEARTBEAT_SECONDS,
        "timeoutSeconds": A::TIMEOUT_SECONDS,
        "errors": errors,
    })
}

/// Builds every file of `asl/`.
pub fn generate() -> Result<Files, Error> {
    let deployment = Deployment::default();
    let workflow = processing_workflow(&deployment)?;
    let mut files = Files::new();
    files.insert(
        "processing.asl.json".into(),
        workflow.machine.to_json_pretty(),
    );
    files.insert(
        "substitutions.json".into(),
        pretty(&deployment.substitutions()),
    );
    files.insert(
        "event-patterns/chunk-object-created.json".into(),
        pretty(&chunk_event_pattern()),
    );
    files.insert(
        "event-patterns/manifest-object-created.json".into(),
        pretty(&manifest_event_pattern()),
    );
    files.insert(
        "event-patterns/execution-status-change.json".into(),
        pretty(&execution_status_event_pattern()),
    );
    files.insert(
        "error-names.json".into(),
        pretty(&json!([
            error_set::<PrepareMedia>(),
            error_set::<StartTranscription>(),
            error_set::<CheckTranscription>(),
            error_set::<Summarize>(),
        ])),
    );
    let schemas: [(&str, String); 15] = [
        ("processing-input", schema::<ProcessingInput>()),
        ("prepare-media-input", schema::<PrepareMediaInput>()),
        ("prepare-media-output", schema::<MediaOutput>()),
        (
            "start-transcription-input",
            schema::<StartTranscriptionInput>(),
        ),
        ("start-transcription-output", schema::<TranscriptionJob>()),
        (
            "check-transcription-input",
            schema::<CheckTranscriptionInput>(),
        ),
        (
            "check-transcription-output",
            schema::<TranscriptionStatus>(),
        ),
        ("summarize-input", schema::<SummarizeInput>()),
        ("summarize-output", schema::<SummaryOutput>()),
        ("transcript", schema::<Transcript>()),
        ("meeting-summary", schema::<MeetingSummary>()),
        ("chunk-manifest", schema::<ChunkManifest>()),
        ("catalog-record", schema::<CatalogRecord>()),
        ("chunk-record", schema::<ChunkRecord>()),
        ("recording-status", schema::<RecordingStatus>()),
    ];
    for (name, text) in schemas {
        files.insert(format!("schemas/{name}.schema.json").into(), text);
    }
    Ok(files)
}

/// The `asl/` folder of this workspace.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../asl")
}

/// Writes `files` under `dir`, removing generated-folder files that are no longer generated.
pub fn write(dir: &Path, files: &Files) -> Result<(), Error> {
    for stale in unexpected_files(dir, files)? {
        std::fs::remove_file(dir.join(&stale)).map_err(|source| Error::Io {
            path: dir.join(stale),
            source,
        })?;
    }
    for (relative, text) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| Error::Io { path, source })?;
    }
    Ok(())
}

fn unexpected_files(dir: &Path, files: &Files) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for sub in ["schemas", "event-patterns"] {
        let folder = dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io {
                path: folder.clone(),
                source,
            })?;
            let relative = Path::new(sub).join(entry.file_name());
            if !files.contains_key(&relative) {
                out.push(relative);
            }
        }
    }
    Ok(out)
}

/// Files under `dir` that differ from `files` (missing, different, or no longer generated).
pub fn stale(dir: &Path, files: &Files) -> Result<Vec<PathBuf>, Error> {
    let mut out = unexpected_files(dir, files)?;
    for (relative, text) in files {
        match std::fs::read_to_string(dir.join(relative)) {
            Ok(current) if &current == text => {}
            _ => out.push(relative.clone()),
        }
    }
    out.sort();
    Ok(out)
}
