//! Amazon Transcribe adapter of [`TranscriptionService`].
//!
//! - `StartTranscriptionJob` with speaker labels, writing its output to **our** bucket at
//!   `users/{u}/processed/{r}/transcribe-output.json`; the transcript URI the service returns is
//!   never read (it can point at a service-owned bucket, and moto points it at real AWS).
//! - The job name comes from the recording and run ([`job_name`](crate::service::job_name)), so a
//!   restarted activity resumes the same job: `ConflictException` means "already started".
//! - Limits: Transcribe accepts media shorter than 4 hours and smaller than 2 GB, and needs at
//!   least 500 ms of audio. Out-of-limit audio fails with `Transcription.MediaOutOfLimits` before
//!   any call; it is **not split**: Transcribe labels speakers per job, so `spk_0` of one part is
//!   unrelated to `spk_0` of the next and a split meeting would get inconsistent speakers. Users
//!   with longer meetings use the offline engine, which has no length limit.
//! - A configured [`Vocabulary`] becomes a custom vocabulary in table format, named by its
//!   content ([`Vocabulary::transcribe_name`]) so every worker agrees on it without coordination:
//!   the table is written next to the recording's outputs (`transcribe-vocabulary.txt`, where
//!   the worker may write and Transcribe reads with its rights), created once
//!   (`ConflictException` = another worker created it), waited for until `READY` (a `FAILED`
//!   vocabulary is a rejected job with Transcribe's reason; one still pending after
//!   [`TranscribeConfig::vocabulary_wait`] is retryable), and named in every job's settings.

pub mod output;

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::error::SdkError;
use aws_sdk_transcribe::operation::create_vocabulary::CreateVocabularyError;
use aws_sdk_transcribe::operation::get_transcription_job::GetTranscriptionJobError;
use aws_sdk_transcribe::operation::get_vocabulary::GetVocabularyError;
use aws_sdk_transcribe::operation::start_transcription_job::StartTranscriptionJobError;
use aws_sdk_transcribe::types::{
    LanguageCode, Media, MediaFormat, Settings, TranscriptionJobStatus, VocabularyState,
};
use meeting_domain::contracts::{
    CheckTranscriptionInput, StartTranscriptionInput, output_files, processed_prefix,
};
use meeting_domain::ports::ObjectStore;
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;
use crate::service::{DEFAULT_LANGUAGE, JobState, Started, TranscriptionService};
use crate::vocabulary::Vocabulary;

/// The file name of the custom-vocabulary table written next to a recording's outputs when the
/// recording creates the vocabulary.
pub const VOCABULARY_TABLE: &str = "transcribe-vocabulary.txt";

/// Transcribe's maximum media duration: "less than 4 hours" (StartTranscriptionJob limits).
pub const MAX_DURATION_SECONDS: f64 = 4.0 * 3600.0;
/// Transcribe's maximum media size: "less than 2 GB".
pub const MAX_MEDIA_BYTES: u64 = 2_000_000_000;
/// Transcribe needs at least 500 ms of audio.
pub const MIN_DURATION_SECONDS: f64 = 0.5;
/// `Settings.MaxSpeakerLabels` accepts 2–30.
pub const SPEAKER_LABELS_RANGE: std::ops::RangeInclusive<u8> = 2..=30;

/// Configuration of the Transcribe adapter.
#[derive(Clone, Debug)]
pub struct TranscribeConfig {
    /// `MaxSpeakerLabels` when the recording's options do not set it (clamped to 2–30).
    pub default_max_speakers: u8,
    /// KMS key Transcribe encrypts its output object with (`OutputEncryptionKMSKeyId`); `None`
    /// leaves it to the bucket's default encryption.
    pub output_kms_key: Option<String>,
    /// The user vocabulary; empty for none.
    pub vocabulary: Vocabulary,
    /// How often a pending custom vocabulary is looked at.
    pub vocabulary_poll: std::time::Duration,
    /// How long a job waits for its custom vocabulary to become ready before the start is
    /// retried later (Transcribe usually needs a few minutes for a new one).
    pub vocabulary_wait: std::time::Duration,
}

impl Default for TranscribeConfig {
    fn default() -> Self {
        Self {
            default_max_speakers: 10,
            output_kms_key: None,
            vocabulary: Vocabulary::default(),
            vocabulary_poll: std::time::Duration::from_secs(10),
            vocabulary_wait: std::time::Duration::from_secs(600),
        }
    }
}

/// Amazon Transcribe batch jobs, reading their output from our object store.
#[derive(Clone)]
pub struct AwsTranscribeService {
    client: Client,
    store: Arc<dyn ObjectStore>,
    config: TranscribeConfig,
}

impl std::fmt::Debug for AwsTranscribeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsTranscribeService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AwsTranscribeService {
    /// An adapter over a Transcribe client built once per process.
    pub fn new(client: Client, store: Arc<dyn ObjectStore>, config: TranscribeConfig) -> Self {
        Self {
            client,
            store,
            config,
        }
    }
}

/// What `GetVocabulary` said.
enum VocabularyLook {
    Absent,
    Ready,
    Pending,
    Failed(String),
}

impl AwsTranscribeService {
    async fn look_up_vocabulary(&self, name: &str) -> Result<VocabularyLook, EngineError> {
        match self
            .client
            .get_vocabulary()
            .vocabulary_name(name)
            .send()
            .await
        {
            Ok(output) => Ok(match output.vocabulary_state() {
                Some(VocabularyState::Ready) => VocabularyLook::Ready,
                Some(VocabularyState::Failed) => VocabularyLook::Failed(
                    output
                        .failure_reason()
                        .unwrap_or("Amazon Transcribe gave no reason")
                        .to_owned(),
                ),
                _ => VocabularyLook::Pending,
            }),
            Err(SdkError::ServiceError(e)) => match e.err() {
                GetVocabularyError::NotFoundException(_) => Ok(VocabularyLook::Absent),
                // Emulators answer an unknown name with BadRequest "couldn't be found".
                GetVocabularyError::BadRequestException(b)
                    if b.message().is_some_and(|m| m.contains("couldn't be found")) =>
                {
                    Ok(VocabularyLook::Absent)
                }
                GetVocabularyError::BadRequestException(b) => Err(EngineError::Rejected(format!(
                    "GetVocabulary {name}: {}",
                    b.message().unwrap_or("bad request")
                ))),
                _ => Err(transient(SdkError::ServiceError(e))),
            },
            Err(other) => Err(transient(other)),
        }
    }

    async fn create_vocabulary(
        &self,
        name: &str,
        language: &str,
        input: &StartTranscriptionInput,
    ) -> Result<(), EngineError> {
        let bucket = &input.bucket;
        let key = format!(
            "{}{VOCABULARY_TABLE}",
            processed_prefix(&input.user_id, &input.recording_id)
        );
        self.store
            .put_bytes(
                bucket,
                &key,
                self.config
                    .vocabulary
                    .transcribe_table()
                    .into_bytes()
                    .into(),
                "text/plain; charset=utf-8",
            )
            .await?;
        let result = self
            .client
            .create_vocabulary()
            .vocabulary_name(name)
            .language_code(LanguageCode::from(language))
            .vocabulary_file_uri(format!("s3://{bucket}/{key}"))
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(vocabulary = name, "custom vocabulary created");
                Ok(())
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                CreateVocabularyError::ConflictException(_) => Ok(()),
                CreateVocabularyError::LimitExceededException(_) => {
                    Err(EngineError::Rejected(format!(
                        "Amazon Transcribe refused to create the custom vocabulary {name}: the account's vocabulary limit is reached (100 per Region); delete unused meeting-recorder-* vocabularies"
                    )))
                }
                CreateVocabularyError::BadRequestException(b) => {
                    Err(EngineError::Rejected(format!(
                        "Amazon Transcribe refused the custom vocabulary {name}: {}",
                        b.message().unwrap_or("bad request")
                    )))
                }
                _ => Err(transient(SdkError::ServiceError(e))),
            },
            Err(other) => Err(transient(other)),
        }
    }

    /// The name of the ready custom vocabulary for `language`, created first when needed.
    async fn ready_vocabulary(
        &self,
        language: &str,
        input: &StartTranscriptionInput,
        cancel: &CancellationToken,
    ) -> Result<String, EngineError> {
        let name = self.config.vocabulary.transcribe_name(language);
        let deadline = tokio::time::Instant::now() + self.config.vocabulary_wait;
        let mut created = false;
        loop {
            match self.look_up_vocabulary(&name).await? {
                VocabularyLook::Ready => return Ok(name),
                VocabularyLook::Failed(reason) => {
                    return Err(EngineError::Rejected(format!(
                        "the custom vocabulary {name} failed in Amazon Transcribe: {reason}; fix the vocabulary list (a changed list gets a new vocabulary)"
                    )));
                }
                VocabularyLook::Absent if !created => {
                    self.create_vocabulary(&name, language, input).await?;
                    created = true;
                    continue;
                }
                VocabularyLook::Absent | VocabularyLook::Pending => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(EngineError::ServiceUnavailable(
                    format!(
                        "the custom vocabulary {name} is not ready after {} s; the start is retried",
                        self.config.vocabulary_wait.as_secs()
                    )
                    .into(),
                ));
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.vocabulary_poll) => {}
                () = cancel.cancelled() => return Err(EngineError::Cancelled),
            }
        }
    }
}

/// Key Transcribe writes its raw output to.
pub fn raw_output_key(
    input_user: &meeting_domain::ids::UserId,
    recording: &meeting_domain::ids::RecordingId,
) -> String {
    format!(
        "{}{}",
        processed_prefix(input_user, recording),
        output_files::TRANSCRIBE_RAW
    )
}

/// Checks Transcribe's documented media limits.
pub fn check_limits(duration_seconds: f64, bytes: u64) -> Result<(), EngineError> {
    if duration_seconds.is_nan() || duration_seconds < MIN_DURATION_SECONDS {
        return Err(EngineError::MediaOutOfLimits(format!(
            "the audio lasts {duration_seconds:.3} s; Amazon Transcribe needs at least {MIN_DURATION_SECONDS} s"
        )));
    }
    if duration_seconds >= MAX_DURATION_SECONDS {
        return Err(EngineError::MediaOutOfLimits(format!(
            "the audio lasts {duration_seconds:.0} s; Amazon Transcribe accepts less than 4 hours ({MAX_DURATION_SECONDS} s). Use the offline engine for longer meetings"
        )));
    }
    if bytes >= MAX_MEDIA_BYTES {
        return Err(EngineError::MediaOutOfLimits(format!(
            "the audio has {bytes} bytes; Amazon Transcribe accepts less than 2 GB"
        )));
    }
    Ok(())
}

fn media_format(key: &str) -> Result<MediaFormat, EngineError> {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("flac") => Ok(MediaFormat::Flac),
        Some("wav") => Ok(MediaFormat::Wav),
        Some("mp3") => Ok(MediaFormat::Mp3),
        Some("mp4") => Ok(MediaFormat::Mp4),
        Some("m4a") => Ok(MediaFormat::M4A),
        Some("ogg") => Ok(MediaFormat::Ogg),
        Some("webm") => Ok(MediaFormat::Webm),
        _ => Err(EngineError::Rejected(format!(
            "{key} has no media extension Amazon Transcribe accepts"
        ))),
    }
}

fn transient<E, R>(err: SdkError<E, R>) -> EngineError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    EngineError::ServiceUnavailable(Box::new(err))
}

#[async_trait]
impl TranscriptionService for AwsTranscribeService {
    fn engine(&self) -> &'static str {
        "aws-transcribe"
    }

    async fn start(
        &self,
        job_name: &str,
        input: &StartTranscriptionInput,
        cancel: &CancellationToken,
    ) -> Result<Started, EngineError> {
        check_limits(input.duration_seconds, input.audio_bytes)?;
        let format = media_format(&input.audio_key)?;
        let language = input
            .options
            .language_code
            .as_deref()
            .unwrap_or(DEFAULT_LANGUAGE);
        let max_speakers = input
            .options
            .max_speakers
            .unwrap_or(self.config.default_max_speakers)
            .clamp(*SPEAKER_LABELS_RANGE.start(), *SPEAKER_LABELS_RANGE.end());
        let vocabulary = if self.config.vocabulary.is_empty() {
            None
        } else {
            Some(self.ready_vocabulary(language, input, cancel).await?)
        };
        let result = self
            .client
            .start_transcription_job()
            .transcription_job_name(job_name)
            .language_code(LanguageCode::from(language))
            .media_format(format)
            .media(
                Media::builder()
                    .media_file_uri(format!("s3://{}/{}", input.bucket, input.audio_key))
                    .build(),
            )
            .output_bucket_name(&input.bucket)
            .output_key(raw_output_key(&input.user_id, &input.recording_id))
            .set_output_encryption_kms_key_id(self.config.output_kms_key.clone())
            .settings(
                Settings::builder()
                    .show_speaker_labels(true)
                    .max_speaker_labels(i32::from(max_speakers))
                    .set_vocabulary_name(vocabulary)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(recording_id = %input.recording_id, job_name, "transcription job started");
                Ok(Started::Submitted)
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                StartTranscriptionJobError::ConflictException(_) => {
                    tracing::info!(recording_id = %input.recording_id, job_name, "transcription job already started; resuming");
                    Ok(Started::Submitted)
                }
                StartTranscriptionJobError::LimitExceededException(_)
                | StartTranscriptionJobError::InternalFailureException(_) => {
                    Err(transient(SdkError::ServiceError(e)))
                }
                StartTranscriptionJobError::BadRequestException(b) => Err(EngineError::Rejected(
                    b.message().unwrap_or("bad request").to_owned(),
                )),
                other => match aws_sdk_transcribe::error::ProvideErrorMetadata::code(other) {
                    Some("ThrottlingException" | "ServiceUnavailableException") => {
                        Err(transient(SdkError::ServiceError(e)))
                    }
                    code => Err(EngineError::Rejected(format!(
                        "StartTranscriptionJob failed with {}",
                        code.unwrap_or("an unknown error")
                    ))),
                },
            },
            Err(other) => Err(transient(other)),
        }
    }

    async fn check(&self, input: &CheckTranscriptionInput) -> Result<JobState, EngineError> {
        let result = self
            .client
            .get_transcription_job()
            .transcription_job_name(&input.job_name)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) => {
                return match e.err() {
                    GetTranscriptionJobError::NotFoundException(_) => Ok(JobState::Failed(
                        format!("transcription job {} does not exist", input.job_name),
                    )),
                    GetTranscriptionJobError::BadRequestException(b) => Err(EngineError::Rejected(
                        b.message().unwrap_or("bad request").to_owned(),
                    )),
                    _ => Err(transient(SdkError::ServiceError(e))),
                };
            }
            Err(other) => return Err(transient(other)),
        };
        let job = output.transcription_job().ok_or_else(|| {
            EngineError::InvalidOutput("GetTranscriptionJob returned no job".to_owned())
        })?;
        match job.transcription_job_status() {
            Some(TranscriptionJobStatus::Queued) => Ok(JobState::Queued),
            Some(TranscriptionJobStatus::InProgress) => Ok(JobState::InProgress),
            Some(TranscriptionJobStatus::Failed) => Ok(JobState::Failed(
                job.failure_reason()
                    .unwrap_or("Amazon Transcribe gave no failure reason")
                    .to_owned(),
            )),
            Some(TranscriptionJobStatus::Completed) => {
                let key = raw_output_key(&input.user_id, &input.recording_id);
                let raw = self.store.get_bytes(&input.bucket, &key).await?;
                let language = job
                    .language_code()
                    .map_or(DEFAULT_LANGUAGE, LanguageCode::as_str);
                let transcript = output::convert(&raw, &input.recording_id, language)?;
                Ok(JobState::Converted(transcript))
            }
            other => Err(EngineError::InvalidOutput(format!(
                "unknown transcription job status {other:?}"
            ))),
        }
    }
}
