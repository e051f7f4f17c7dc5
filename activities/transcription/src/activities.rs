//! The StartTranscription and CheckTranscription activities on the worker runtime.
//!
//! Start derives the job name from the recording and run and starts (or resumes) the job; the
//! offline engine transcribes right there and the transcript and its exports are stored before
//! Start returns. Check maps the job state for the workflow's Wait/Choice loop and, when the job
//! completed, stores `transcript.json` and the exports (Transcribe) and reports the key and
//! speaker count.

use std::sync::Arc;

use activity_runtime::activity::{Activity, ErrorOf, Failure, InputOf, OutputOf, TaskContext};
use async_trait::async_trait;
use bytes::Bytes;
use meeting_domain::contracts::{
    CheckTranscription, JobStatus, StartTranscription, Transcript, TranscriptionJob,
    TranscriptionStatus,
};
use meeting_domain::ids::{RecordingId, UserId};
use meeting_domain::ports::ObjectStore;

use crate::error::EngineError;
use crate::exports::output_files;
use crate::service::{JobState, Started, TranscriptionService, job_name, transcript_key};

fn failure(err: &EngineError) -> Failure<meeting_domain::contracts::TranscriptionError> {
    // The cause chain, not just the top message: operators see why.
    let mut cause = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    Failure::new(err.name(), cause)
}

/// Stores `transcript.json` and its exports; returns the key of `transcript.json`.
pub async fn store_transcript(
    store: &dyn ObjectStore,
    bucket: &str,
    user: &UserId,
    recording: &RecordingId,
    transcript: &Transcript,
) -> Result<String, EngineError> {
    let mut keys = store_transcript_files(store, bucket, user, recording, transcript).await?;
    Ok(keys.pop().unwrap_or_default())
}

/// Stores every export, then `transcript.json` (written last: its presence means every export
/// is there too); returns the keys in the order written.
pub async fn store_transcript_files(
    store: &dyn ObjectStore,
    bucket: &str,
    user: &UserId,
    recording: &RecordingId,
    transcript: &Transcript,
) -> Result<Vec<String>, EngineError> {
    let files = output_files(user, recording, transcript)
        .map_err(|e| EngineError::InvalidOutput(format!("serializing the transcript: {e}")))?;
    let mut keys = Vec::with_capacity(files.len());
    for file in files {
        store
            .put_bytes(bucket, &file.key, Bytes::from(file.body), file.content_type)
            .await?;
        keys.push(file.key);
    }
    Ok(keys)
}

/// The StartTranscription activity.
#[derive(Clone)]
pub struct StartTranscriptionActivity {
    service: Arc<dyn TranscriptionService>,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for StartTranscriptionActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartTranscriptionActivity")
            .field("engine", &self.service.engine())
            .finish_non_exhaustive()
    }
}

impl StartTranscriptionActivity {
    /// The activity over an engine and the store the outputs go to.
    pub fn new(service: Arc<dyn TranscriptionService>, store: Arc<dyn ObjectStore>) -> Self {
        Self { service, store }
    }
}

#[async_trait]
impl Activity for StartTranscriptionActivity {
    type Contract = StartTranscription;

    async fn run(
        &self,
        input: InputOf<Self>,
        ctx: &TaskContext,
    ) -> Result<OutputOf<Self>, Failure<ErrorOf<Self>>> {
        let name = job_name(&input.user_id, &input.recording_id, input.run);
        let started = self
            .service
            .start(&name, &input, &ctx.cancel)
            .await
            .map_err(|e| failure(&e))?;
        if let Started::Transcribed(transcript) = started {
            store_transcript(
                self.store.as_ref(),
                &input.bucket,
                &input.user_id,
                &input.recording_id,
                &transcript,
            )
            .await
            .map_err(|e| failure(&e))?;
        }
        Ok(TranscriptionJob {
            job_name: name,
            engine: self.service.engine().to_owned(),
        })
    }
}

/// The CheckTranscription activity.
#[derive(Clone)]
pub struct CheckTranscriptionActivity {
    service: Arc<dyn TranscriptionService>,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for CheckTranscriptionActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckTranscriptionActivity")
            .field("engine", &self.service.engine())
            .finish_non_exhaustive()
    }
}

impl CheckTranscriptionActivity {
    /// The activity over an engine and the store the outputs go to.
    pub fn new(service: Arc<dyn TranscriptionService>, store: Arc<dyn ObjectStore>) -> Self {
        Self { service, store }
    }
}

fn status(status: JobStatus) -> TranscriptionStatus {
    TranscriptionStatus {
        status,
        failure_reason: None,
        transcript_key: None,
        speaker_count: None,
    }
}

#[async_trait]
impl Activity for CheckTranscriptionActivity {
    type Contract = CheckTranscription;

    async fn run(
        &self,
        input: InputOf<Self>,
        _ctx: &TaskContext,
    ) -> Result<OutputOf<Self>, Failure<ErrorOf<Self>>> {
        let state = self.service.check(&input).await.map_err(|e| failure(&e))?;
        let (key, transcript) = match state {
            JobState::Queued => return Ok(status(JobStatus::Queued)),
            JobState::InProgress => return Ok(status(JobStatus::InProgress)),
            JobState::Failed(reason) => {
                return Ok(TranscriptionStatus {
                    failure_reason: Some(reason),
                    ..status(JobStatus::Failed)
                });
            }
            JobState::Stored(transcript) => (transcript_key(&input), transcript),
            JobState::Converted(transcript) => {
                let key = store_transcript(
                    self.store.as_ref(),
                    &input.bucket,
                    &input.user_id,
                    &input.recording_id,
                    &transcript,
                )
                .await
                .map_err(|e| failure(&e))?;
                (key, transcript)
            }
        };
        Ok(TranscriptionStatus {
            transcript_key: Some(key),
            speaker_count: Some(u32::try_from(transcript.speakers.len()).unwrap_or(u32::MAX)),
            ..status(JobStatus::Completed)
        })
    }
}
