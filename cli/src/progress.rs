//! Waiting for a recording to reach a final status, with a progress display on stderr: the
//! workflow stage the execution is in and the time spent (one updating line on a terminal, one
//! line per stage otherwise).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use asl_engine::ExecutionStatus;
use meeting_domain::contracts::CatalogRecord;
use meeting_domain::ports::Catalog;
use meeting_domain::{RecordingRef, RecordingStatus};
use recorder_local::runtime::LocalBackend;

use crate::error::CliError;

/// How often the catalog and the execution are looked at.
const POLL: Duration = Duration::from_millis(200);

/// What a user should read for a workflow state.
fn describe(state: &str) -> &str {
    match state {
        "PrepareMedia" => "joining chunks and extracting audio (FFmpeg)",
        "StartTranscription" => "transcribing with Whisper (offline)",
        "CheckTranscription" | "TranscriptionStatus" => "collecting the transcript",
        "WaitForTranscription" => "waiting for the transcriber",
        "Summarize" => "summarizing",
        "RecordResults" => "recording the results",
        "RecordFailure" | "TranscriptionFailed" | "TranscriptMissing" => "recording the failure",
        other => other,
    }
}

/// The progress line.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    terminal: bool,
    started: Instant,
    stage: String,
}

impl Progress {
    /// A display on stderr; `enabled = false` prints nothing.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
            stage: String::new(),
        }
    }

    /// Seconds since the display started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Shows `stage` (a new line when it changed, an updated timer on a terminal).
    pub fn show(&mut self, stage: &str) {
        if !self.enabled {
            return;
        }
        let elapsed = self.elapsed();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K  [{elapsed:6.1}s] {stage} …");
            let _ = err.flush();
        } else if stage != self.stage {
            let _ = writeln!(err, "  [{elapsed:6.1}s] {stage}");
        }
        self.stage = stage.to_owned();
    }

    /// Ends the display.
    pub fn finish(&mut self, line: &str) {
        if !self.enabled {
            return;
        }
        let elapsed = self.elapsed();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "  [{elapsed:6.1}s] {line}");
    }
}

fn terminal(status: RecordingStatus) -> bool {
    matches!(
        status,
        RecordingStatus::Completed
            | RecordingStatus::ProcessingFailed
            | RecordingStatus::IncompleteChunks
    )
}

/// Waits until `recording` of run `run` is completed, failed or incomplete, and returns its
/// record. Fails when an upload event could not be handled or the execution ended without
/// updating the catalog.
pub async fn wait_for(
    backend: &LocalBackend,
    recording: &RecordingRef,
    run: u32,
    progress: &mut Progress,
) -> Result<CatalogRecord, CliError> {
    let failed_before = backend.events().failed;
    // Progress written before this wait began belongs to an interrupted attempt (its percent and
    // time left are stale until this attempt's first report); reports carry whole seconds.
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    loop {
        let record = backend.catalog().get(recording).await?;
        if let Some(record) = &record
            && record.run == run
            && terminal(record.status)
        {
            return Ok(record.clone());
        }
        let events = backend.events();
        if events.failed > failed_before {
            return Err(CliError::RecordingFailed {
                recording: recording.to_string(),
                status: "could not be ingested".into(),
                detail: events.last_error.unwrap_or_default(),
            });
        }
        let stage = match &record {
            None => "waiting for the first chunk".to_owned(),
            Some(r) => match (r.status, &r.execution_name) {
                (RecordingStatus::Processing | RecordingStatus::ReadyForProcessing, Some(name)) => {
                    let stage = execution_stage(backend, recording, name).await?;
                    with_transcription_progress(backend, recording, r.run, stage, since).await
                }
                (RecordingStatus::Recording, _) if r.expected_chunk_count.is_some() => {
                    "waiting for missing chunks (grace period)".to_owned()
                }
                (status, _) => format!("{status}"),
            },
        };
        progress.show(&stage);
        tokio::time::sleep(POLL).await;
    }
}

/// `stage`, followed by the offline transcription's progress while it transcribes.
async fn with_transcription_progress(
    backend: &LocalBackend,
    recording: &RecordingRef,
    run: u32,
    stage: String,
    since: chrono::DateTime<chrono::Utc>,
) -> String {
    if stage != describe("StartTranscription") {
        return stage;
    }
    let objects: &dyn meeting_domain::ports::ObjectStore = backend.objects().as_ref();
    match crate::operate::transcription_progress(
        objects,
        recorder_local::runtime::BUCKET,
        recording,
        run,
    )
    .await
    {
        Some(progress)
            if chrono::DateTime::parse_from_rfc3339(&progress.updated_at)
                .is_ok_and(|at| at >= since) =>
        {
            format!("{stage}: {}", crate::operate::describe_progress(&progress))
        }
        _ => stage,
    }
}

/// The stage of the running execution; an error when it closed without a catalog update.
async fn execution_stage(
    backend: &LocalBackend,
    recording: &RecordingRef,
    name: &str,
) -> Result<String, CliError> {
    let Ok(execution) = backend
        .engine()
        .describe_execution(&backend.execution_arn(name))
    else {
        return Ok("starting the workflow".to_owned());
    };
    let (status, error, cause) = {
        let state = execution.lock();
        (state.status, state.error.clone(), state.cause.clone())
    };
    if status != ExecutionStatus::Running {
        // Give the catalog write of the last state a moment to be visible, then decide.
        tokio::time::sleep(POLL).await;
        let record = backend.catalog().get(recording).await?;
        if record.as_ref().is_some_and(|r| terminal(r.status)) {
            return Ok("finished".to_owned());
        }
        return Err(CliError::RecordingFailed {
            recording: recording.to_string(),
            status: format!("execution {}", status.as_str()),
            detail: format!(
                "{}: {} (the catalog was not updated)",
                error.unwrap_or_default(),
                cause.unwrap_or_default()
            ),
        });
    }
    let entered = execution
        .history()
        .iter()
        .rev()
        .find(|e| e.event_type.as_str().ends_with("StateEntered"))
        .and_then(|e| e.details.as_ref()?.get("name")?.as_str().map(str::to_owned));
    Ok(entered.map_or_else(
        || "starting the workflow".to_owned(),
        |s| describe(&s).to_owned(),
    ))
}
