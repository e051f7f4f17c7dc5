//! The Amazon Transcribe adapter and the two activities over it, with aws-smithy-mocks: request
//! shape, job-name idempotency, conflict, throttling, limits, status mapping with the failure
//! reason, and conversion of the committed multi-speaker output fixture.

mod common;

use std::sync::Arc;

use activity_runtime::activity::{Activity, TaskContext};
use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::config::retry::RetryConfig;
use aws_sdk_transcribe::operation::get_transcription_job::{
    GetTranscriptionJobError, GetTranscriptionJobOutput,
};
use aws_sdk_transcribe::operation::start_transcription_job::{
    StartTranscriptionJobError, StartTranscriptionJobOutput,
};
use aws_sdk_transcribe::types::error::{
    ConflictException, LimitExceededException, NotFoundException,
};
use aws_sdk_transcribe::types::{
    LanguageCode, MediaFormat, TranscriptionJob as SdkJob, TranscriptionJobStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use bytes::Bytes;
use common::store::MemoryStore;
use meeting_domain::activity::ActivityErrorName;
use meeting_domain::contracts::{
    CheckTranscriptionInput, JobStatus, ProcessingOptions, StartTranscriptionInput, Transcript,
    TranscriptionError,
};
use meeting_domain::ids::{RecordingId, RecordingRef, UserId};
use meeting_domain::ports::ObjectStore;
use tokio_util::sync::CancellationToken;
use transcription::activities::{CheckTranscriptionActivity, StartTranscriptionActivity};
use transcription::aws::{AwsTranscribeService, TranscribeConfig};
use transcription::service::TranscriptionService;

const BUCKET: &str = "recordings";
const FIXTURE: &[u8] = include_bytes!("fixtures/transcribe-output.json");

/// The job name of run `run` of `user_1/rec_1` (scoped by user; see `RecordingRef`).
fn job_name_of(run: u32) -> String {
    RecordingRef::new(
        UserId::new("user_1").unwrap(),
        RecordingId::new("rec_1").unwrap(),
    )
    .transcription_job_name(run)
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_transcribe, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn start_input(options: ProcessingOptions) -> StartTranscriptionInput {
    StartTranscriptionInput {
        user_id: UserId::new("user_1").unwrap(),
        recording_id: RecordingId::new("rec_1").unwrap(),
        bucket: BUCKET.to_owned(),
        audio_key: "users/user_1/processed/rec_1/audio.flac".to_owned(),
        duration_seconds: 61.5,
        audio_bytes: 1_200_000,
        run: 0,
        options,
    }
}

fn check_input() -> CheckTranscriptionInput {
    CheckTranscriptionInput {
        user_id: UserId::new("user_1").unwrap(),
        recording_id: RecordingId::new("rec_1").unwrap(),
        bucket: BUCKET.to_owned(),
        job_name: job_name_of(0),
    }
}

fn ctx() -> TaskContext {
    TaskContext {
        cancel: CancellationToken::new(),
        task_id: "test".to_owned(),
    }
}

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/test";

fn service(client: Client, store: Arc<MemoryStore>) -> Arc<AwsTranscribeService> {
    Arc::new(AwsTranscribeService::new(
        client,
        store,
        TranscribeConfig {
            default_max_speakers: 5,
            output_kms_key: Some(KMS_KEY.to_owned()),
        },
    ))
}

fn job_with(status: TranscriptionJobStatus, reason: Option<&str>) -> GetTranscriptionJobOutput {
    let mut job = SdkJob::builder()
        .transcription_job_name(job_name_of(0))
        .transcription_job_status(status)
        .language_code(LanguageCode::EnUs)
        // A service-owned URI that must never be read.
        .transcript(
            aws_sdk_transcribe::types::Transcript::builder()
                .transcript_file_uri(
                    "https://s3.us-east-1.amazonaws.com/aws-transcribe-owned/x.json",
                )
                .build(),
        );
    if let Some(reason) = reason {
        job = job.failure_reason(reason);
    }
    GetTranscriptionJobOutput::builder()
        .transcription_job(job.build())
        .build()
}

#[tokio::test]
async fn given_a_recording_when_starting_then_the_job_has_speaker_labels_and_writes_to_our_bucket()
{
    let rule = mock!(Client::start_transcription_job)
        .match_requests(|r| {
            let settings = r.settings().expect("settings");
            r.transcription_job_name() == Some(job_name_of(0).as_str())
                && r.output_bucket_name() == Some(BUCKET)
                && r.output_key() == Some("users/user_1/processed/rec_1/transcribe-output.json")
                && r.output_encryption_kms_key_id() == Some(KMS_KEY)
                && r.media().and_then(|m| m.media_file_uri())
                    == Some("s3://recordings/users/user_1/processed/rec_1/audio.flac")
                && r.media_format() == Some(&MediaFormat::Flac)
                && r.language_code() == Some(&LanguageCode::EnUs)
                && settings.show_speaker_labels() == Some(true)
                && settings.max_speaker_labels() == Some(3)
        })
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let store = Arc::new(MemoryStore::default());
    let activity = StartTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let options = ProcessingOptions {
        max_speakers: Some(3),
        language_code: None,
    };
    let job = activity.run(start_input(options), &ctx()).await.unwrap();
    assert_eq!(job.job_name, job_name_of(0));
    assert_eq!(job.engine, "aws-transcribe");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_no_speaker_option_when_starting_then_the_configured_default_is_sent() {
    let rule = mock!(Client::start_transcription_job)
        .match_requests(|r| r.settings().and_then(|s| s.max_speaker_labels()) == Some(5))
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let svc = service(client(&[&rule]), Arc::new(MemoryStore::default()));
    svc.start(
        &job_name_of(0),
        &start_input(ProcessingOptions::default()),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_a_restarted_activity_when_the_job_exists_then_conflict_resumes_the_same_job() {
    let rule = mock!(Client::start_transcription_job)
        .match_requests(|r| r.transcription_job_name() == Some(job_name_of(0).as_str()))
        .then_error(|| {
            StartTranscriptionJobError::ConflictException(
                ConflictException::builder()
                    .message("The requested job name already exists")
                    .build(),
            )
        });
    let store = Arc::new(MemoryStore::default());
    let activity = StartTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let job = activity
        .run(start_input(ProcessingOptions::default()), &ctx())
        .await
        .unwrap();
    assert_eq!(job.job_name, job_name_of(0));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_a_reprocessing_run_when_starting_then_the_job_name_carries_the_run() {
    let rule = mock!(Client::start_transcription_job)
        .match_requests(|r| r.transcription_job_name() == Some(job_name_of(2).as_str()))
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let store = Arc::new(MemoryStore::default());
    let activity = StartTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let input = StartTranscriptionInput {
        run: 2,
        ..start_input(ProcessingOptions::default())
    };
    assert_eq!(
        activity.run(input, &ctx()).await.unwrap().job_name,
        job_name_of(2)
    );
}

#[tokio::test]
async fn given_throttling_when_starting_then_the_failure_is_retryable() {
    let rule = mock!(Client::start_transcription_job).then_error(|| {
        StartTranscriptionJobError::LimitExceededException(
            LimitExceededException::builder().build(),
        )
    });
    let store = Arc::new(MemoryStore::default());
    let activity = StartTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let failure = activity
        .run(start_input(ProcessingOptions::default()), &ctx())
        .await
        .unwrap_err();
    assert_eq!(failure.error, TranscriptionError::ServiceUnavailable);
    assert!(failure.error.retryable());
}

#[tokio::test]
async fn given_audio_beyond_four_hours_or_two_gigabytes_or_under_half_a_second_then_media_out_of_limits_without_a_call()
 {
    let rule = mock!(Client::start_transcription_job)
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let store = Arc::new(MemoryStore::default());
    let activity = StartTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let cases = [(4.0 * 3600.0, 1_000), (60.0, 2_000_000_000), (0.4, 1_000)];
    for (duration_seconds, audio_bytes) in cases {
        let input = StartTranscriptionInput {
            duration_seconds,
            audio_bytes,
            ..start_input(ProcessingOptions::default())
        };
        let failure = activity.run(input, &ctx()).await.unwrap_err();
        assert_eq!(
            failure.error,
            TranscriptionError::MediaOutOfLimits,
            "{failure}"
        );
        assert_eq!(failure.error.name(), "Transcription.MediaOutOfLimits");
        assert!(!failure.error.retryable());
    }
    assert_eq!(
        rule.num_calls(),
        0,
        "no Transcribe call for out-of-limit media"
    );
}

#[tokio::test]
async fn given_queued_and_running_jobs_when_checking_then_the_status_is_mapped() {
    let queued = mock!(Client::get_transcription_job)
        .then_output(|| job_with(TranscriptionJobStatus::Queued, None));
    let running = mock!(Client::get_transcription_job)
        .then_output(|| job_with(TranscriptionJobStatus::InProgress, None));
    let store = Arc::new(MemoryStore::default());
    let activity = CheckTranscriptionActivity::new(
        service(client(&[&queued, &running]), store.clone()),
        store,
    );
    let first = activity.run(check_input(), &ctx()).await.unwrap();
    assert_eq!(first.status, JobStatus::Queued);
    assert_eq!(first.transcript_key, None);
    let second = activity.run(check_input(), &ctx()).await.unwrap();
    assert_eq!(second.status, JobStatus::InProgress);
}

#[tokio::test]
async fn given_a_failed_job_when_checking_then_failed_carries_the_reason() {
    let rule = mock!(Client::get_transcription_job).then_output(|| {
        job_with(
            TranscriptionJobStatus::Failed,
            Some("The media format provided does not match the detected media format."),
        )
    });
    let store = Arc::new(MemoryStore::default());
    let activity = CheckTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let status = activity.run(check_input(), &ctx()).await.unwrap();
    assert_eq!(status.status, JobStatus::Failed);
    assert!(status.failure_reason.unwrap().contains("media format"));
    let json = serde_json::to_value(JobStatus::Failed).unwrap();
    assert_eq!(json, "FAILED");
}

#[tokio::test]
async fn given_an_unknown_job_when_checking_then_it_is_failed_not_retried_forever() {
    let rule = mock!(Client::get_transcription_job).then_error(|| {
        GetTranscriptionJobError::NotFoundException(NotFoundException::builder().build())
    });
    let store = Arc::new(MemoryStore::default());
    let activity = CheckTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let status = activity.run(check_input(), &ctx()).await.unwrap();
    assert_eq!(status.status, JobStatus::Failed);
}

#[tokio::test]
async fn given_a_completed_job_when_checking_then_our_output_key_is_converted_and_exports_are_stored()
 {
    let rule = mock!(Client::get_transcription_job)
        .then_output(|| job_with(TranscriptionJobStatus::Completed, None));
    let store = Arc::new(MemoryStore::default());
    store
        .put_bytes(
            BUCKET,
            "users/user_1/processed/rec_1/transcribe-output.json",
            Bytes::from_static(FIXTURE),
            "application/json",
        )
        .await
        .unwrap();
    let activity =
        CheckTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store.clone());
    let status = activity.run(check_input(), &ctx()).await.unwrap();
    assert_eq!(status.status, JobStatus::Completed);
    assert_eq!(status.speaker_count, Some(3));
    let key = status.transcript_key.unwrap();
    assert_eq!(key, "users/user_1/processed/rec_1/transcript.json");
    let transcript: Transcript =
        serde_json::from_slice(&store.object(BUCKET, &key).unwrap()).unwrap();
    assert!(!transcript.speakers_approximate);
    assert_eq!(transcript.engine.name, "aws-transcribe");
    for export in [
        "transcript.srt",
        "transcript.vtt",
        "transcript.md",
        "transcript.txt",
    ] {
        let body = store.object(BUCKET, &format!("users/user_1/processed/rec_1/{export}"));
        assert!(body.is_some_and(|b| !b.is_empty()), "{export} missing");
    }
}

#[tokio::test]
async fn given_a_completed_job_whose_output_is_missing_when_checking_then_the_failure_is_not_retried()
 {
    let rule = mock!(Client::get_transcription_job)
        .then_output(|| job_with(TranscriptionJobStatus::Completed, None));
    let store = Arc::new(MemoryStore::default());
    let activity = CheckTranscriptionActivity::new(service(client(&[&rule]), store.clone()), store);
    let failure = activity.run(check_input(), &ctx()).await.unwrap_err();
    assert!(!failure.error.retryable(), "{failure}");
}
