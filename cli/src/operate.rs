//! What an operator does with a recording, the same on both backends: read its status (catalog,
//! chunks, the execution and where it failed), list a user's recordings, reprocess it as a new
//! run that may resume at a later stage with the stored outputs of the earlier ones, or redrive
//! its failed execution.
//!
//! Everything runs over the domain ports plus [`ExecutionControl`], which the local engine and
//! Step Functions implement.

use std::sync::Arc;

use async_trait::async_trait;
use meeting_domain::contracts::{
    CatalogRecord, ChunkStatus, MediaOutput, MeetingSummary, ProcessingInput, ResumePoint,
    ResumeStage, Transcript, TranscriptionProgress, output_files, processed_prefix,
};
use meeting_domain::ports::{Catalog, CatalogPatch, ChunkTable, ObjectStore, StartOutcome};
use meeting_domain::{PortError, RecordingRef, RecordingStatus, UserId};
use recorder_aws::executions::{ExecutionInfo, TrailEvent};
use serde::Serialize;

use crate::args::Stage;
use crate::error::CliError;

/// Error name stored when a reprocessing run could not be started.
pub const START_FAILED_ERROR: &str = "Reprocess.StartFailed";

/// Error recorded for a run whose local recorder stopped before it finished, when
/// `reprocess` replaces it.
pub const INTERRUPTED_ERROR: &str = "Recorder.Interrupted";

/// The state that records a caught failure in the catalog (see `statemachine::workflow`).
const RECORD_FAILURE_STATE: &str = "RecordFailure";

/// Bytes of a FLAC file up to the end of its STREAMINFO block: the `fLaC` marker (4), the block
/// header (4) and STREAMINFO itself (34).
const FLAC_STREAMINFO_END: u64 = 42;

/// Executions of the processing workflow: the local engine or Step Functions.
#[async_trait]
pub trait ExecutionControl: Send + Sync {
    /// `DescribeExecution` of `name`; `None` when it does not exist (or is not known here).
    async fn describe(&self, name: &str) -> Result<Option<ExecutionInfo>, CliError>;
    /// The history of `name` reduced to states entered and failures, oldest first.
    async fn trail(&self, name: &str) -> Result<Vec<TrailEvent>, CliError>;
    /// `StartExecution` of `name` with `input`.
    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, CliError>;
    /// `RedriveExecution` of `name`.
    async fn redrive(&self, name: &str) -> Result<(), CliError>;
    /// Stops the execution `name` if it runs (the local engine: the resumed execution of an
    /// interrupted run that `reprocess` replaces). Default: nothing to stop.
    async fn stop(&self, _name: &str) -> Result<(), CliError> {
        Ok(())
    }
    /// Why `describe` may know nothing (shown when it returns `None`).
    fn unknown_note(&self) -> &'static str {
        "no such execution"
    }
}

/// Executions on AWS Step Functions.
#[async_trait]
impl ExecutionControl for recorder_aws::SfnExecutions {
    async fn describe(&self, name: &str) -> Result<Option<ExecutionInfo>, CliError> {
        Ok(recorder_aws::SfnExecutions::describe(self, name).await?)
    }
    async fn trail(&self, name: &str) -> Result<Vec<TrailEvent>, CliError> {
        Ok(recorder_aws::SfnExecutions::trail(self, name).await?)
    }
    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, CliError> {
        Ok(recorder_aws::SfnExecutions::start(self, name, input).await?)
    }
    async fn redrive(&self, name: &str) -> Result<(), CliError> {
        recorder_aws::SfnExecutions::redrive(self, name).await?;
        Ok(())
    }
}

/// Executions of a running local engine.
#[derive(Clone, Debug)]
pub struct LocalExecutions {
    engine: asl_engine::Engine,
    state_machine_arn: String,
}

impl LocalExecutions {
    /// Executions of `state_machine_arn` on `engine`.
    pub fn new(engine: asl_engine::Engine, state_machine_arn: impl Into<String>) -> Self {
        Self {
            engine,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    fn arn(&self, name: &str) -> String {
        recorder_aws::executions::execution_arn(&self.state_machine_arn, name)
    }
}

fn engine_error(e: asl_engine::ApiError) -> CliError {
    CliError::Port(PortError::Rejected {
        service: "local step functions",
        source: Box::new(e),
    })
}

#[async_trait]
impl ExecutionControl for LocalExecutions {
    async fn describe(&self, name: &str) -> Result<Option<ExecutionInfo>, CliError> {
        let Ok(execution) = self.engine.describe_execution(&self.arn(name)) else {
            return Ok(None);
        };
        let state = execution.lock();
        Ok(Some(ExecutionInfo {
            arn: execution.arn.clone(),
            status: state.status.as_str().to_owned(),
            start_date: Some(execution.start_date),
            stop_date: state.stop_date,
            error: state.error.clone(),
            cause: state.cause.clone(),
            redrive_count: None,
            redrive_status: None,
        }))
    }

    async fn trail(&self, name: &str) -> Result<Vec<TrailEvent>, CliError> {
        let history = self.engine.history(&self.arn(name)).map_err(engine_error)?;
        Ok(history
            .iter()
            .map(|event| {
                let text = |field: &str| {
                    event
                        .details
                        .as_ref()
                        .and_then(|d| d.get(field))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                let kind = event.event_type.as_str().to_owned();
                TrailEvent {
                    state: if kind.ends_with("StateEntered") {
                        text("name")
                    } else {
                        None
                    },
                    error: text("error"),
                    cause: text("cause"),
                    kind,
                }
            })
            .collect())
    }

    async fn start(&self, name: &str, input: &ProcessingInput) -> Result<StartOutcome, CliError> {
        // The same starter the local backend's ingest uses: one canonical input, one mapping of
        // "already exists".
        let starter =
            asl_engine::LocalWorkflowStarter::new(self.engine.clone(), &self.state_machine_arn);
        Ok(meeting_domain::ports::WorkflowStarter::start(&starter, name, input).await?)
    }

    async fn redrive(&self, _name: &str) -> Result<(), CliError> {
        Err(redrive_unsupported())
    }

    async fn stop(&self, name: &str) -> Result<(), CliError> {
        let arn = self.arn(name);
        let running = self
            .engine
            .describe_execution(&arn)
            .is_ok_and(|e| e.lock().status == asl_engine::ExecutionStatus::Running);
        if running {
            self.engine
                .stop_execution(
                    &arn,
                    Some("Recorder.Replaced"),
                    Some("recorder reprocess started a new run of this recording"),
                )
                .map_err(engine_error)?;
        }
        Ok(())
    }

    fn unknown_note(&self) -> &'static str {
        "not in this process's engine"
    }
}

pub(crate) fn redrive_unsupported() -> CliError {
    CliError::Unsupported(
        "no local execution to redrive: local executions live only as long as the `recorder` \
         process that ran them (the engine redrives within one `recorder serve`); use `recorder \
         reprocess RECORDING --from media|transcription|summary` instead"
            .into(),
    )
}

/// Executions when no engine is running (local `status`): nothing is known about them.
#[derive(Clone, Copy, Debug, Default)]
pub struct DetachedExecutions;

#[async_trait]
impl ExecutionControl for DetachedExecutions {
    async fn describe(&self, _name: &str) -> Result<Option<ExecutionInfo>, CliError> {
        Ok(None)
    }
    async fn trail(&self, _name: &str) -> Result<Vec<TrailEvent>, CliError> {
        Ok(Vec::new())
    }
    async fn start(&self, _name: &str, _input: &ProcessingInput) -> Result<StartOutcome, CliError> {
        Err(CliError::Unsupported(
            "no local engine is running in this command".into(),
        ))
    }
    async fn redrive(&self, _name: &str) -> Result<(), CliError> {
        Err(redrive_unsupported())
    }
    fn unknown_note(&self) -> &'static str {
        "local executions are kept only while the `recorder` process that ran them runs; the \
         catalog status is authoritative"
    }
}

/// Whether an execution of a `processing` recording may be alive elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// It may (AWS, or no lock held): such a recording is refused.
    MayRun,
    /// It cannot (the local data directory's lock is held by the caller).
    NoneAlive,
}

/// The ports and executions an operator command works on.
#[derive(Clone)]
pub struct Operator {
    /// The catalog.
    pub catalog: Arc<dyn Catalog>,
    /// The chunk table.
    pub chunks: Arc<dyn ChunkTable>,
    /// The bucket.
    pub objects: Arc<dyn ObjectStore>,
    /// The bucket name.
    pub bucket: String,
    /// The executions.
    pub executions: Arc<dyn ExecutionControl>,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// The chunks of a recording as the chunk table has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkSummary {
    /// Indices recorded and validated.
    pub recorded: Vec<u32>,
    /// The expected count, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u32>,
    /// Indices in `0..expected` (or below the highest recorded index while the count is
    /// unknown) without a chunk.
    pub missing: Vec<u32>,
    /// Indices whose chunk arrived and was rejected (empty, not an MP4, undecodable, not the
    /// manifest's bytes), with the reason; JSON `rejected`.
    #[serde(rename = "rejected")]
    pub failed: Vec<FailedChunk>,
    /// Indices at or beyond the expected count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<u32>,
}

/// A chunk that failed validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedChunk {
    /// The index.
    pub index: u32,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where an execution failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailurePoint {
    /// The last state entered before the first failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The failure event (`ActivityFailed`, `TaskTimedOut`, `ExecutionAborted`, …).
    pub event: String,
    /// Its error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Whether the workflow caught it and recorded it in the catalog (RecordFailure ran).
    pub recorded_by_workflow: bool,
}

/// Finds the first failure in a trail and the state it happened in.
pub fn failure_point(trail: &[TrailEvent]) -> Option<FailurePoint> {
    let mut state = None;
    let mut found: Option<FailurePoint> = None;
    for event in trail {
        if let Some(entered) = &event.state {
            if entered == RECORD_FAILURE_STATE
                && let Some(found) = found.as_mut()
            {
                found.recorded_by_workflow = true;
            }
            state = Some(entered.clone());
            continue;
        }
        let failure = event.kind.ends_with("Failed")
            || event.kind.ends_with("TimedOut")
            || event.kind == "ExecutionAborted";
        if failure && found.is_none() {
            found = Some(FailurePoint {
                state: state.clone(),
                event: event.kind.clone(),
                error: event.error.clone(),
                cause: event.cause.clone(),
                recorded_by_workflow: false,
            });
        }
    }
    found
}

/// Everything `status RECORDING` shows.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// The catalog record.
    #[serde(flatten)]
    pub record: CatalogRecord,
    /// The chunk table's view.
    pub chunks: ChunkSummary,
    /// The current execution, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionInfo>,
    /// Why the execution is not shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_note: Option<String>,
    /// Where the current execution failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailurePoint>,
    /// How far the offline transcription of the current run is (none on Amazon Transcribe,
    /// which reports no progress, and none once the recording left `processing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcription: Option<TranscriptionProgress>,
    /// What the operator can do next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
}

/// The offline transcription progress of run `run` of `recording`, when the StartTranscription
/// activity has written one for that run (an older run's file is ignored; an unreadable one is
/// the same as none: progress is informative only).
pub async fn transcription_progress(
    objects: &dyn ObjectStore,
    bucket: &str,
    recording: &RecordingRef,
    run: u32,
) -> Option<TranscriptionProgress> {
    let key = transcription::service::progress_key(&recording.user_id, &recording.recording_id);
    let bytes = objects.get_bytes(bucket, &key).await.ok()?;
    let progress: TranscriptionProgress = serde_json::from_slice(&bytes).ok()?;
    (progress.job_name == recording.transcription_job_name(run)).then_some(progress)
}

/// One line for people: `42% of 6 min 12 s of speech, about 1 min 5 s left`.
pub fn describe_progress(progress: &TranscriptionProgress) -> String {
    let left = progress.eta_seconds.map_or_else(String::new, |eta| {
        format!(", about {} left", minutes_and_seconds(eta))
    });
    format!(
        "{:.0}% of {} of speech{left}",
        progress.percent.floor(),
        minutes_and_seconds(progress.speech_seconds)
    )
}

fn minutes_and_seconds(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    match (total / 60, total % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

impl Operator {
    async fn record(&self, recording: &RecordingRef) -> Result<CatalogRecord, CliError> {
        self.catalog
            .get(recording)
            .await?
            .ok_or_else(|| CliError::UnknownRecording(recording.to_string()))
    }

    /// The chunk table's view of a recording.
    pub async fn chunk_summary(
        &self,
        recording: &RecordingRef,
        expected: Option<u32>,
    ) -> Result<ChunkSummary, CliError> {
        let records = self.chunks.chunks(recording).await?;
        let mut summary = ChunkSummary {
            expected,
            ..ChunkSummary::default()
        };
        for chunk in &records {
            let index = chunk.chunk_index.get();
            if expected.is_some_and(|n| index >= n) {
                summary.extra.push(index);
            } else if chunk.status == ChunkStatus::Failed {
                summary.failed.push(FailedChunk {
                    index,
                    reason: chunk.last_error.clone(),
                });
            } else {
                summary.recorded.push(index);
            }
        }
        let bound = expected.unwrap_or_else(|| {
            records
                .iter()
                .map(|c| c.chunk_index.get() + 1)
                .max()
                .unwrap_or(0)
        });
        summary.missing = (0..bound)
            .filter(|i| {
                !summary.recorded.contains(i) && !summary.failed.iter().any(|f| f.index == *i)
            })
            .collect();
        Ok(summary)
    }

    /// The status of one recording.
    pub async fn status(&self, recording: &RecordingRef) -> Result<StatusView, CliError> {
        let record = self.record(recording).await?;
        let chunks = self
            .chunk_summary(recording, record.expected_chunk_count)
            .await?;
        let (mut execution, mut execution_note, mut failure) = (None, None, None);
        if let Some(name) = &record.execution_name {
            execution = self.executions.describe(name).await?;
            if execution.is_none() {
                execution_note = Some(format!(
                    "execution {name}: {}",
                    self.executions.unknown_note()
                ));
            }
            if execution
                .as_ref()
                .is_some_and(|e| !matches!(e.status.as_str(), "RUNNING" | "SUCCEEDED"))
            {
                failure = failure_point(&self.executions.trail(name).await?);
            }
        } else {
            execution_note = Some("no execution started yet".into());
        }
        let next_steps = next_steps(&record, &chunks, failure.as_ref(), None);
        let transcription = if record.status == RecordingStatus::Processing {
            transcription_progress(self.objects.as_ref(), &self.bucket, recording, record.run).await
        } else {
            None
        };
        Ok(StatusView {
            record,
            chunks,
            execution,
            execution_note,
            failure,
            transcription,
            next_steps,
        })
    }

    /// The recordings of a user, newest first.
    pub async fn list(
        &self,
        user: &UserId,
        status: Option<RecordingStatus>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, CliError> {
        Ok(self.catalog.recordings_of_user(user, status, limit).await?)
    }

    /// When the recording started, as the stored `summary.json` of an earlier run says (the
    /// media stage's probe of the first chunk is not stored elsewhere). Best effort: without it
    /// the new summary has no due dates, which is what the earlier one had.
    async fn stored_recorded_at(&self, summary_key: &str) -> Option<String> {
        let bytes = self
            .objects
            .get_bytes(&self.bucket, summary_key)
            .await
            .ok()?;
        serde_json::from_slice::<MeetingSummary>(&bytes)
            .ok()?
            .recorded_at
    }

    /// The stored outputs a run starting at `stage` reuses; `None` for a full run.
    pub async fn resume_point(
        &self,
        record: &CatalogRecord,
        stage: Stage,
    ) -> Result<Option<ResumePoint>, CliError> {
        let from = match stage {
            Stage::Media => return Ok(None),
            Stage::Transcription => ResumeStage::Transcription,
            Stage::Summary => ResumeStage::Summary,
        };
        let not_resumable = |detail: String| CliError::NotResumable {
            recording: record.recording_id.to_string(),
            stage: from.as_str().to_owned(),
            detail,
        };
        let prefix = processed_prefix(&record.user_id, &record.recording_id);
        let key = |name: &str| format!("{prefix}{name}");
        let (recording_key, audio_key) = (key(output_files::RECORDING), key(output_files::AUDIO));
        let mut sizes = Vec::new();
        for wanted in [&recording_key, &audio_key] {
            match self.objects.head(&self.bucket, wanted).await? {
                Some(meta) => sizes.push(meta.size),
                None => {
                    return Err(not_resumable(format!(
                        "the media stage's output {wanted} is not stored; reprocess --from media"
                    )));
                }
            }
        }
        let audio_bytes = sizes[1];
        let transcript_key = key(output_files::TRANSCRIPT_JSON);
        let transcript_stored = self.objects.head(&self.bucket, &transcript_key).await?;
        if from == ResumeStage::Summary && transcript_stored.is_none() {
            return Err(not_resumable(format!(
                "the transcription stage's output {transcript_key} is not stored; reprocess \
                 --from transcription"
            )));
        }
        let duration_seconds = match self.stored_duration(record, &audio_key).await? {
            Some(seconds) => seconds,
            None if transcript_stored.is_some() => {
                let bytes = self
                    .objects
                    .get_bytes(&self.bucket, &transcript_key)
                    .await?;
                serde_json::from_slice::<Transcript>(&bytes)
                    .map_err(|e| not_resumable(format!("{transcript_key}: {e}")))?
                    .duration_seconds
            }
            None => {
                return Err(not_resumable(format!(
                    "the duration of {audio_key} is unknown (no STREAMINFO sample count); \
                     reprocess --from media"
                )));
            }
        };
        let recorded_at = self
            .stored_recorded_at(&key(output_files::SUMMARY_JSON))
            .await;
        Ok(Some(ResumePoint {
            from,
            media: MediaOutput {
                recording_key,
                audio_key,
                duration_seconds,
                audio_bytes,
                // Per-chunk offsets are not stored; no later stage reads them.
                chunk_offsets: Vec::new(),
                recorded_at,
            },
            transcript_key: (from == ResumeStage::Summary).then_some(transcript_key),
        }))
    }

    /// The speech audio's duration: from the catalog results of a completed run, else from the
    /// FLAC STREAMINFO block (sample rate and total samples).
    async fn stored_duration(
        &self,
        record: &CatalogRecord,
        audio_key: &str,
    ) -> Result<Option<f64>, CliError> {
        if let Some(results) = &record.results
            && results.audio_key == audio_key
            && results.duration_seconds > 0.0
        {
            return Ok(Some(results.duration_seconds));
        }
        let head = self
            .objects
            .get_range(&self.bucket, audio_key, 0, FLAC_STREAMINFO_END)
            .await?;
        Ok(flac_duration(&head))
    }

    /// Starts a new run of `recording` at `stage`: claims the recording in the catalog
    /// (`completed`/`processing_failed` → `ready_for_processing` with the next run and its
    /// execution name), starts the execution and moves it to `processing`. Returns the run and
    /// the execution ARN.
    pub async fn reprocess(
        &self,
        recording: &RecordingRef,
        stage: Stage,
    ) -> Result<(u32, String), CliError> {
        self.reprocess_run(recording, stage, Liveness::MayRun).await
    }

    /// [`Operator::reprocess`]; with [`Liveness::NoneAlive`] a `processing` or
    /// `ready_for_processing` recording is taken too: the caller knows no execution of it can be
    /// alive (locally: it holds the data directory's lock, so the run was interrupted), and the
    /// execution this process may have resumed for it is stopped first.
    pub async fn reprocess_run(
        &self,
        recording: &RecordingRef,
        stage: Stage,
        liveness: Liveness,
    ) -> Result<(u32, String), CliError> {
        let mut record = self.record(recording).await?;
        if liveness == Liveness::NoneAlive
            && matches!(
                record.status,
                RecordingStatus::Processing | RecordingStatus::ReadyForProcessing
            )
        {
            record = self.retire_interrupted(record).await?;
        }
        if !matches!(
            record.status,
            RecordingStatus::Completed | RecordingStatus::ProcessingFailed
        ) {
            return Err(CliError::NotReprocessable {
                recording: recording.to_string(),
                status: record.status.to_string(),
            });
        }
        let Some(chunk_count) = record.expected_chunk_count else {
            return Err(CliError::NotReprocessable {
                recording: recording.to_string(),
                status: format!("{} without an expected chunk count", record.status),
            });
        };
        let resume = self.resume_point(&record, stage).await?;
        let run = record.run + 1;
        let name = recording.execution_name(run);
        let input = ProcessingInput {
            run,
            resume,
            manifest_key: recorder_lambdas::completion::manifest_of(&record),
            ..ProcessingInput::for_record(&record, self.bucket.clone(), chunk_count)
        };
        let patch = CatalogPatch {
            execution_name: Some(name.clone()),
            run: Some(run),
            error: Some(None),
            cause: Some(None),
            sweep_at: Some(Some(sweep_after(
                recorder_lambdas::completion::START_RETRY_AFTER,
            ))),
            ..CatalogPatch::default()
        };
        let won = self
            .catalog
            .transition(
                recording,
                record.status,
                RecordingStatus::ReadyForProcessing,
                patch,
                chrono::Utc::now(),
            )
            .await?;
        if !won {
            return Err(CliError::NotReprocessable {
                recording: recording.to_string(),
                status: "changing (another process moved it)".into(),
            });
        }
        let arn = match self.executions.start(&name, &input).await {
            Ok(StartOutcome::Started { execution_arn })
            | Ok(StartOutcome::AlreadyRunning { execution_arn }) => execution_arn,
            Err(e) => {
                self.mark_start_failed(recording, &e).await;
                return Err(e);
            }
        };
        self.mark_processing(recording).await?;
        Ok((run, arn))
    }

    /// A run whose recorder stopped before it finished (no execution of it can be alive) is
    /// recorded as failed with [`INTERRUPTED_ERROR`], so a new run can claim it like any failed
    /// one: the catalog never moves `processing` back to `ready_for_processing`. The execution
    /// this process resumed for it at start-up is stopped first. Returns the record as it is
    /// now (completed, if the resumed execution finished first).
    async fn retire_interrupted(&self, record: CatalogRecord) -> Result<CatalogRecord, CliError> {
        let recording = &record.recording();
        if let Some(name) = &record.execution_name {
            self.executions.stop(name).await?;
        }
        let patch = CatalogPatch {
            error: Some(Some(INTERRUPTED_ERROR.to_owned())),
            cause: Some(Some(format!(
                "run {} did not finish: the recorder running it was stopped (Ctrl-C, SIGTERM or \
                 a crash); replaced by `recorder reprocess`",
                record.run
            ))),
            sweep_at: Some(None),
            ..CatalogPatch::default()
        };
        self.catalog
            .transition(
                recording,
                record.status,
                RecordingStatus::ProcessingFailed,
                patch,
                chrono::Utc::now(),
            )
            .await?;
        self.record(recording).await
    }

    /// The claimed recording runs: `ready_for_processing` → `processing`, with the sweeper's
    /// reconciler due after the workflow's time limit.
    async fn mark_processing(&self, recording: &RecordingRef) -> Result<(), CliError> {
        self.catalog
            .transition(
                recording,
                RecordingStatus::ReadyForProcessing,
                RecordingStatus::Processing,
                CatalogPatch {
                    sweep_at: Some(Some(sweep_after(
                        recorder_lambdas::config::DEFAULT_PROCESSING_STALE,
                    ))),
                    ..CatalogPatch::default()
                },
                chrono::Utc::now(),
            )
            .await?;
        Ok(())
    }

    /// Makes a failed start visible instead of leaving the recording `ready_for_processing`.
    async fn mark_start_failed(&self, recording: &RecordingRef, error: &CliError) {
        let patch = CatalogPatch {
            error: Some(Some(START_FAILED_ERROR.to_owned())),
            cause: Some(Some(error.to_string())),
            sweep_at: Some(None),
            ..CatalogPatch::default()
        };
        if let Err(e) = self
            .catalog
            .transition(
                recording,
                RecordingStatus::ReadyForProcessing,
                RecordingStatus::ProcessingFailed,
                patch,
                chrono::Utc::now(),
            )
            .await
        {
            tracing::error!(recording_id = %recording, error = %e, "could not record the failed start");
        }
    }

    /// Redrives the failed execution of the current run. Refused when the workflow caught the
    /// failure and recorded it (a redrive would only repeat the final Fail state): use a new run
    /// with `--from` then.
    pub async fn redrive(&self, recording: &RecordingRef) -> Result<String, CliError> {
        let record = self.record(recording).await?;
        let Some(name) = record.execution_name.clone() else {
            return Err(CliError::NotReprocessable {
                recording: recording.to_string(),
                status: format!("{} without an execution", record.status),
            });
        };
        let Some(execution) = self.executions.describe(&name).await? else {
            // Nothing to redrive: let the backend say why (the local engine refuses every
            // redrive with its own explanation).
            self.executions.redrive(&name).await?;
            return Err(CliError::Usage(format!("execution {name} does not exist")));
        };
        if !matches!(
            execution.status.as_str(),
            "FAILED" | "TIMED_OUT" | "ABORTED"
        ) {
            return Err(CliError::NotReprocessable {
                recording: recording.to_string(),
                status: format!(
                    "{} with execution {name} {}",
                    record.status, execution.status
                ),
            });
        }
        let failure = failure_point(&self.executions.trail(&name).await?);
        if failure.as_ref().is_some_and(|f| f.recorded_by_workflow) {
            return Err(CliError::Unsupported(format!(
                "execution {name} failed in {} and the workflow recorded it (RecordFailure): a \
                 redrive would only repeat its final Fail state; start a new run with `recorder \
                 reprocess {recording} --from media|transcription|summary`",
                failure
                    .and_then(|f| f.state)
                    .unwrap_or_else(|| "an unknown state".into())
            )));
        }
        let claimed = match record.status {
            // The workflow never reached RecordFailure: the catalog still says processing.
            RecordingStatus::Processing => false,
            RecordingStatus::ProcessingFailed => {
                let patch = CatalogPatch {
                    error: Some(None),
                    cause: Some(None),
                    sweep_at: Some(Some(sweep_after(
                        recorder_lambdas::completion::START_RETRY_AFTER,
                    ))),
                    ..CatalogPatch::default()
                };
                if !self
                    .catalog
                    .transition(
                        recording,
                        RecordingStatus::ProcessingFailed,
                        RecordingStatus::ReadyForProcessing,
                        patch,
                        chrono::Utc::now(),
                    )
                    .await?
                {
                    return Err(CliError::NotReprocessable {
                        recording: recording.to_string(),
                        status: "changing (another process moved it)".into(),
                    });
                }
                true
            }
            status => {
                return Err(CliError::NotReprocessable {
                    recording: recording.to_string(),
                    status: status.to_string(),
                });
            }
        };
        if let Err(e) = self.executions.redrive(&name).await {
            if claimed {
                self.mark_start_failed(recording, &e).await;
            }
            return Err(e);
        }
        if claimed {
            self.mark_processing(recording).await?;
        }
        Ok(execution.arn)
    }
}

/// The duration of a FLAC stream from its STREAMINFO block: total samples / sample rate.
/// `None` when `head` is not FLAC or the encoder left the sample count at 0 (unknown).
pub fn flac_duration(head: &[u8]) -> Option<f64> {
    if head.len() < FLAC_STREAMINFO_END as usize || &head[..4] != b"fLaC" || head[4] & 0x7f != 0 {
        return None;
    }
    // STREAMINFO starts at byte 8: min/max block size (2+2), min/max frame size (3+3), then
    // 20 bits sample rate, 3 bits channels-1, 5 bits bits-per-sample-1, 36 bits total samples.
    let info = &head[8..];
    let packed = u64::from_be_bytes([
        info[10], info[11], info[12], info[13], info[14], info[15], info[16], info[17],
    ]);
    let sample_rate = packed >> 44;
    let total_samples = packed & 0x0000_000F_FFFF_FFFF;
    (sample_rate > 0 && total_samples > 0).then(|| total_samples as f64 / sample_rate as f64)
}

/// What to do about the missing and rejected chunks of a recording: a missing chunk never
/// arrived and can be added; a rejected one arrived and was refused (empty, not an MP4,
/// undecodable, not matching the manifest), so uploading the same bytes again cannot help.
pub fn chunk_steps(
    record: &CatalogRecord,
    chunks: &ChunkSummary,
    folder: Option<&std::path::Path>,
) -> Vec<String> {
    let id = &record.recording_id;
    let mut steps = Vec::new();
    let names = |indices: &mut dyn Iterator<Item = u32>| {
        indices
            .map(|i| format!("chunk_{i:03}.mp4"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !chunks.failed.is_empty() {
        steps.push(format!(
            "fix or re-record the rejected {} (see the reasons above); uploading the same bytes \
             again is rejected again",
            names(&mut chunks.failed.iter().map(|f| f.index))
        ));
    }
    if !chunks.missing.is_empty() {
        steps.push(format!(
            "add the missing {} (never received)",
            names(&mut chunks.missing.iter().copied())
        ));
    }
    if steps.is_empty() {
        return steps;
    }
    let expected = record.expected_chunk_count.unwrap_or_default();
    let all_recorded = match expected {
        0 | 1 => "chunk 0 is recorded".to_owned(),
        n => format!("all {n} chunks (0 to {}) are recorded", n - 1),
    };
    steps.push(match folder {
        Some(folder) => format!(
            "then run the same command again (`recorder process {} --recording {id}`): only new \
             or changed chunks are uploaded, and processing starts once {all_recorded}",
            folder.display()
        ),
        None => format!(
            "then run `recorder process FOLDER --recording {id}` again with the chunks in FOLDER \
             (only new or changed chunks are uploaded), or copy them to users/{}/chunks/{id}/ in \
             the folder `recorder serve` watches; processing starts once {all_recorded}",
            record.user_id
        ),
    });
    steps
}

/// Suggestions for a recording in its current state.
///
/// `folder`: the folder of chunks `process` was given, to name it in the advice.
pub fn next_steps(
    record: &CatalogRecord,
    chunks: &ChunkSummary,
    failure: Option<&FailurePoint>,
    folder: Option<&std::path::Path>,
) -> Vec<String> {
    let id = &record.recording_id;
    let mut steps = Vec::new();
    match record.status {
        RecordingStatus::IncompleteChunks | RecordingStatus::Recording => {
            steps.extend(chunk_steps(record, chunks, folder));
        }
        RecordingStatus::Processing | RecordingStatus::ReadyForProcessing => {
            steps.push(format!(
                "if no recorder is running it any more (interrupted): run the same `recorder \
                 process` command again to resume it, or `recorder reprocess {id}`"
            ));
        }
        RecordingStatus::ProcessingFailed => {
            // The failed state when the history is known, else the family of the error name
            // the workflow recorded (the local engine keeps no history across processes).
            let stage = match (
                failure.and_then(|f| f.state.as_deref()),
                record.error.as_deref(),
            ) {
                (Some("Summarize"), _) => "summary",
                (
                    Some(
                        "StartTranscription"
                        | "CheckTranscription"
                        | "TranscriptionStatus"
                        | "WaitForTranscription"
                        | "TranscriptionFailed"
                        | "TranscriptMissing",
                    ),
                    _,
                ) => "transcription",
                (None, Some(error)) if error.starts_with("Summary.") => "summary",
                (None, Some(error)) if error.starts_with("Transcription.") => "transcription",
                _ => "media",
            };
            if record
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("Media.Chunk"))
            {
                let how = folder.map_or_else(
                    || format!("run `recorder process FOLDER --recording {id}` again"),
                    |f| {
                        format!(
                            "run the same command again (`recorder process {} --recording {id}`)",
                            f.display()
                        )
                    },
                );
                steps.push(format!(
                    "replace the chunk the cause names (fix or re-record it) and {how}: changed \
                     chunks are uploaded and the recording is processed again"
                ));
            } else {
                steps.push(format!(
                    "after fixing the cause: recorder reprocess {id} --from {stage}"
                ));
            }
        }
        RecordingStatus::Completed => {
            steps.push(format!(
                "recorder reprocess {id} --from summary   (summarize again, e.g. with another model)"
            ));
        }
    }
    steps
}

/// When the sweeper should look at a recording an operator just moved: `after` from now.
fn sweep_after(after: std::time::Duration) -> chrono::DateTime<chrono::Utc> {
    recorder_lambdas::IngestConfig::after(chrono::Utc::now(), after)
}

#[cfg(test)]
mod tests {

    #[test]
    fn progress_reads_as_percent_of_speech_and_time_left() {
        let mut progress = TranscriptionProgress {
            job_name: "j".into(),
            percent: 41.96,
            speech_seconds: 372.4,
            done_seconds: 156.0,
            elapsed_seconds: 40.0,
            eta_seconds: Some(65.2),
            updated_at: "2026-03-10T10:05:00Z".into(),
        };
        assert_eq!(
            describe_progress(&progress),
            "41% of 6 min 12 s of speech, about 1 min 5 s left"
        );
        progress.eta_seconds = None;
        progress.speech_seconds = 120.0;
        assert_eq!(describe_progress(&progress), "41% of 2 min of speech");
        progress.speech_seconds = 9.6;
        assert_eq!(describe_progress(&progress), "41% of 10 s of speech");
    }
    use super::*;

    #[test]
    fn given_a_rejected_and_a_missing_chunk_then_the_advice_is_to_fix_the_rejected_one_and_add_the_missing_one()
     {
        let recording = RecordingRef::new(
            UserId::new("u").unwrap(),
            meeting_domain::RecordingId::new("r").unwrap(),
        );
        let mut record = CatalogRecord::new_recording(&recording, chrono::Utc::now());
        record.status = RecordingStatus::IncompleteChunks;
        record.expected_chunk_count = Some(4);
        let chunks = ChunkSummary {
            recorded: vec![0, 3],
            expected: Some(4),
            missing: vec![2],
            failed: vec![FailedChunk {
                index: 1,
                reason: Some("empty file".into()),
            }],
            extra: Vec::new(),
        };

        let steps = next_steps(
            &record,
            &chunks,
            None,
            Some(std::path::Path::new("meeting")),
        );

        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(steps[0].starts_with("fix or re-record the rejected chunk_001.mp4"));
        assert!(!steps[0].contains("chunk_002"), "{steps:?}");
        assert!(steps[1].starts_with("add the missing chunk_002.mp4"));
        assert!(
            steps[2].contains("`recorder process meeting --recording r`"),
            "{steps:?}"
        );
        let json = serde_json::to_value(&chunks).unwrap();
        assert_eq!(json["rejected"][0]["reason"], "empty file");
    }

    fn event(kind: &str, state: Option<&str>, error: Option<&str>) -> TrailEvent {
        TrailEvent {
            kind: kind.into(),
            state: state.map(str::to_owned),
            error: error.map(str::to_owned),
            cause: error.map(|e| format!("cause of {e}")),
        }
    }

    #[test]
    fn the_failure_point_is_the_state_of_the_first_failure_and_says_whether_it_was_recorded() {
        let trail = [
            event("ChoiceStateEntered", Some("ResumeFrom"), None),
            event("TaskStateEntered", Some("PrepareMedia"), None),
            event("TaskStateEntered", Some("StartTranscription"), None),
            event("ActivityFailed", None, Some("Transcription.JobFailed")),
            event("TaskStateEntered", Some("RecordFailure"), None),
            event("FailStateEntered", Some("Failed"), None),
            event("ExecutionFailed", None, Some("Transcription.JobFailed")),
        ];
        let failure = failure_point(&trail).expect("a failure");
        assert_eq!(failure.state.as_deref(), Some("StartTranscription"));
        assert_eq!(failure.event, "ActivityFailed");
        assert_eq!(failure.error.as_deref(), Some("Transcription.JobFailed"));
        assert!(failure.recorded_by_workflow);
    }

    #[test]
    fn an_aborted_execution_is_a_failure_the_workflow_did_not_record() {
        let trail = [
            event("TaskStateEntered", Some("Summarize"), None),
            event("ExecutionAborted", None, None),
        ];
        let failure = failure_point(&trail).expect("a failure");
        assert_eq!(failure.state.as_deref(), Some("Summarize"));
        assert!(!failure.recorded_by_workflow);
        assert_eq!(
            failure_point(&[event("ExecutionSucceeded", None, None)]),
            None
        );
    }

    #[test]
    fn the_flac_duration_is_read_from_streaminfo() {
        // 16 kHz, mono, 16 bit, 48,000 samples = 3 s.
        let mut head = b"fLaC".to_vec();
        head.extend([0x80, 0, 0, 34]);
        head.extend([0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        // Sample rate, then channels-1 = 0 (mono), bits-1 = 15, total samples.
        let packed: u64 = (16_000 << 44) | (15 << 36) | 48_000;
        head.extend(packed.to_be_bytes());
        head.extend([0; 16]);
        assert_eq!(flac_duration(&head), Some(3.0));
        assert_eq!(flac_duration(b"RIFF...."), None);
        let mut unknown = head.clone();
        unknown[21..26].fill(0);
        unknown[21] = head[21] & 0xf0;
        assert_eq!(flac_duration(&unknown), None);
    }
}
