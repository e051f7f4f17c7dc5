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

pub mod output;

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::error::SdkError;
use aws_sdk_transcribe::operation::get_transcription_job::GetTranscriptionJobError;
use aws_sdk_transcribe::operation::start_transcription_job::StartTranscriptionJobError;
use aws_sdk_transcribe::types::{
    LanguageCode, Media, MediaFormat, Settings, TranscriptionJobStatus,
};
use meeting_domain::contracts::{
    CheckTranscriptionInput, StartTranscriptionInput, output_files, processed_prefix,
};
use meeting_domain::ports::ObjectStore;
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;
use crate::service::{DEFAULT_LANGUAGE, JobState, Started, TranscriptionService};

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
}

impl Default for TranscribeConfig {
    fn default() -> Self {
        Self {
            default_max_speakers: 10,
            output_kms_key: None,
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
        _cancel: &CancellationToken,
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
