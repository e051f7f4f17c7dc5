//! The transcription-job port the activities drive: start (or resume) a job, then check it until
//! it completes. Amazon Transcribe runs jobs remotely ([`crate::aws::AwsTranscribeService`]); the
//! offline engine ([`OfflineService`]) transcribes inside `start`.

use std::sync::Arc;

use async_trait::async_trait;
use meeting_domain::contracts::{
    CheckTranscriptionInput, StartTranscriptionInput, Transcript, TranscriptionProgress,
    output_files, processed_prefix,
};
use meeting_domain::ids::{RecordingId, RecordingRef, UserId};
use meeting_domain::ports::ObjectStore;
use tokio_util::sync::CancellationToken;

use crate::audio::decode_to_pcm;
use crate::error::EngineError;
use crate::offline::{OfflineRequest, Progress, transcribe_pcm};
use crate::recognizer::Transcriber;
use crate::speakers::{SpeakerLabeller, SpectralLabeller};
use crate::vocabulary::Vocabulary;

/// Default language when the recording's options name none.
pub const DEFAULT_LANGUAGE: &str = "en-US";

/// The deterministic job name of a recording's run ([`RecordingRef::transcription_job_name`]:
/// scoped by user, recording and run, at most 88 characters of `[A-Za-z0-9_-]`, well inside
/// Transcribe's 200-character `TranscriptionJobName` pattern `^[0-9a-zA-Z._-]+`). A restarted
/// activity derives the same name and so resumes the same job.
pub fn job_name(user: &UserId, recording: &RecordingId, run: u32) -> String {
    RecordingRef::new(user.clone(), recording.clone()).transcription_job_name(run)
}

/// What `start` did.
#[derive(Clone, Debug, PartialEq)]
pub enum Started {
    /// The job runs elsewhere (or was already running): check it later.
    Submitted,
    /// The engine transcribed synchronously; the activity stores this transcript now.
    Transcribed(Transcript),
}

/// A job's state as seen by `check`.
#[derive(Clone, Debug, PartialEq)]
pub enum JobState {
    /// Waiting for capacity.
    Queued,
    /// Running.
    InProgress,
    /// Failed with the engine's reason.
    Failed(String),
    /// Done, with a transcript the activity must store.
    Converted(Transcript),
    /// Done, and `transcript.json` is already stored (offline engine); this is it.
    Stored(Transcript),
}

/// A transcription engine as a job: started once, checked until done.
#[async_trait]
pub trait TranscriptionService: Send + Sync {
    /// Engine name reported in [`meeting_domain::contracts::TranscriptionJob::engine`].
    fn engine(&self) -> &'static str;

    /// Starts the job `job_name`, or resumes it when it already exists. Long offline work stops
    /// when `cancel` fires.
    async fn start(
        &self,
        job_name: &str,
        input: &StartTranscriptionInput,
        cancel: &CancellationToken,
    ) -> Result<Started, EngineError>;

    /// The state of the job `input.job_name`.
    async fn check(&self, input: &CheckTranscriptionInput) -> Result<JobState, EngineError>;
}

/// Key of `transcript.json` for a recording.
pub fn transcript_key(input: &CheckTranscriptionInput) -> String {
    format!(
        "{}{}",
        processed_prefix(&input.user_id, &input.recording_id),
        output_files::TRANSCRIPT_JSON
    )
}

/// Key of the offline engine's [`TranscriptionProgress`] for a recording.
pub fn progress_key(user: &UserId, recording: &RecordingId) -> String {
    format!(
        "{}{}",
        processed_prefix(user, recording),
        output_files::TRANSCRIPTION_PROGRESS
    )
}

/// The offline engine: downloads the speech audio, runs VAD + Whisper + speaker clustering on
/// the CPU inside `start`, writing its [`TranscriptionProgress`] after each window.
#[derive(Clone)]
pub struct OfflineService {
    store: Arc<dyn ObjectStore>,
    transcriber: Arc<dyn Transcriber>,
    labeller: Arc<dyn SpeakerLabeller>,
    vocabulary: Vocabulary,
    max_speakers: Option<usize>,
}

impl std::fmt::Debug for OfflineService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineService")
            .field("transcriber", &self.transcriber)
            .field("labeller", &self.labeller.name())
            .finish_non_exhaustive()
    }
}

impl OfflineService {
    /// An offline engine reading audio from `store`, labelling speakers with the model-free
    /// [`SpectralLabeller`] until [`Self::with_speaker_labeller`] gives it another.
    pub fn new(store: Arc<dyn ObjectStore>, transcriber: Arc<dyn Transcriber>) -> Self {
        Self {
            store,
            transcriber,
            labeller: Arc::new(SpectralLabeller),
            vocabulary: Vocabulary::default(),
            max_speakers: None,
        }
    }

    /// The same engine, finding at most `max_speakers` speakers in recordings whose options do
    /// not say (`recorder --speakers N`); `None` estimates the number freely.
    #[must_use]
    pub fn with_max_speakers(mut self, max_speakers: Option<usize>) -> Self {
        self.max_speakers = max_speakers;
        self
    }

    /// The same engine, labelling speakers with `labeller` (in production
    /// [`crate::voice_speakers::default_speaker_labeller`]).
    #[must_use]
    pub fn with_speaker_labeller(mut self, labeller: Arc<dyn SpeakerLabeller>) -> Self {
        self.labeller = labeller;
        self
    }

    /// The same engine, prompting Whisper with `vocabulary` in every window.
    #[must_use]
    pub fn with_vocabulary(mut self, vocabulary: Vocabulary) -> Self {
        self.vocabulary = vocabulary;
        self
    }
}

/// Writes each progress report of a running transcription to the store until `reports` closes.
/// Best effort: a failed write is logged and the next report tries again; progress never fails
/// a transcription.
async fn publish_progress(
    store: Arc<dyn ObjectStore>,
    bucket: String,
    key: String,
    job_name: String,
    mut reports: tokio::sync::watch::Receiver<Option<Progress>>,
) {
    while reports.changed().await.is_ok() {
        let Some(progress) = *reports.borrow_and_update() else {
            continue;
        };
        let body = TranscriptionProgress {
            job_name: job_name.clone(),
            percent: (progress.percent() * 10.0).round() / 10.0,
            speech_seconds: progress.total_seconds,
            done_seconds: progress.done_seconds,
            elapsed_seconds: progress.elapsed_seconds,
            eta_seconds: progress.eta_seconds(),
            updated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let bytes = match serde_json::to_vec(&body) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(%error, "transcription progress not serialisable");
                continue;
            }
        };
        if let Err(error) = store
            .put_bytes(&bucket, &key, bytes.into(), "application/json")
            .await
        {
            tracing::warn!(%error, key, "transcription progress not written");
        }
    }
}

#[async_trait]
impl TranscriptionService for OfflineService {
    fn engine(&self) -> &'static str {
        "whisper"
    }

    async fn start(
        &self,
        job_name: &str,
        input: &StartTranscriptionInput,
        cancel: &CancellationToken,
    ) -> Result<Started, EngineError> {
        tracing::info!(recording_id = %input.recording_id, job_name, "offline transcription started");
        let dir = tempfile::tempdir()?;
        let extension = input.audio_key.rsplit_once('.').map_or("audio", |(_, e)| e);
        let path = dir.path().join(format!("audio.{extension}"));
        self.store
            .download_to(&input.bucket, &input.audio_key, &path)
            .await?;
        let pcm = tokio::select! {
            pcm = decode_to_pcm(&path) => pcm?,
            () = cancel.cancelled() => return Err(EngineError::Cancelled),
        };
        let request = OfflineRequest {
            recording_id: input.recording_id.clone(),
            language: input
                .options
                .language_code
                .clone()
                .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned()),
            speakers: input
                .options
                .max_speakers
                .map(usize::from)
                .or(self.max_speakers),
            glossary: self.vocabulary.whisper_prompt(),
        };
        let (report, reports) = tokio::sync::watch::channel(None);
        let publisher = tokio::spawn(publish_progress(
            Arc::clone(&self.store),
            input.bucket.clone(),
            progress_key(&input.user_id, &input.recording_id),
            job_name.to_owned(),
            reports,
        ));
        let transcriber = Arc::clone(&self.transcriber);
        let labeller = Arc::clone(&self.labeller);
        let cancel = cancel.clone();
        let transcribed = tokio::task::spawn_blocking(move || {
            transcribe_pcm(
                &pcm,
                transcriber.as_ref(),
                labeller.as_ref(),
                &request,
                &cancel,
                &|p| {
                    report.send_replace(Some(p));
                },
            )
        })
        .await;
        // The sender is gone with the blocking closure: the publisher writes the last report
        // and stops.
        if let Err(error) = publisher.await {
            tracing::warn!(%error, "transcription progress publisher failed");
        }
        let transcript = transcribed.map_err(|e| {
            EngineError::JobFailed(format!("the transcription thread failed: {e}"))
        })??;
        tracing::info!(
            recording_id = %input.recording_id,
            segments = transcript.segments.len(),
            speakers = transcript.speakers.len(),
            "offline transcription finished"
        );
        Ok(Started::Transcribed(transcript))
    }

    async fn check(&self, input: &CheckTranscriptionInput) -> Result<JobState, EngineError> {
        let key = transcript_key(input);
        let bytes = match self.store.get_bytes(&input.bucket, &key).await {
            Ok(bytes) => bytes,
            Err(meeting_domain::error::PortError::NotFound { .. }) => {
                return Ok(JobState::Failed(format!(
                    "the offline transcript {key} is missing; StartTranscription did not finish"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let transcript: Transcript = serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::InvalidOutput(format!("{key}: {e}")))?;
        Ok(JobState::Stored(transcript))
    }
}
