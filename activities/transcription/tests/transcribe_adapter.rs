//! The Amazon Transcribe adapter and the two activities over it, with aws-smithy-mocks: request
//! shape, job-name idempotency, conflict, throttling, limits, status mapping with the failure
//! reason, and conversion of the committed multi-speaker output fixture.

mod common;

use std::sync::Arc;

use activity_runtime::activity::{Activity, TaskContext};
use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::config::retry::RetryConfig;
use aws_sdk_transcribe::operation::create_vocabulary::{
    CreateVocabularyError, CreateVocabularyOutput,
};
use aws_sdk_transcribe::operation::get_transcription_job::{
    GetTranscriptionJobError, GetTranscriptionJobOutput,
};
use aws_sdk_transcribe::operation::get_vocabulary::{GetVocabularyError, GetVocabularyOutput};
use aws_sdk_transcribe::operation::start_transcription_job::{
    StartTranscriptionJobError, StartTranscriptionJobOutput,
};
use aws_sdk_transcribe::types::error::{
    ConflictException, LimitExceededException, NotFoundException,
};
use aws_sdk_transcribe::types::{
    LanguageCode, MediaFormat, TranscriptionJob as SdkJob, TranscriptionJobStatus, VocabularyState,
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
use transcription::vocabulary::Vocabulary;

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
            ..TranscribeConfig::default()
        },
    ))
}

const VOCABULARY: &str = "Priya\nDynamoDB = Dynamo-D.B.\n";

/// The adapter with [`VOCABULARY`], looking at a pending vocabulary every millisecond and
/// giving up after `wait`.
fn service_with_vocabulary(
    client: Client,
    store: Arc<MemoryStore>,
    wait: std::time::Duration,
) -> AwsTranscribeService {
    AwsTranscribeService::new(
        client,
        store,
        TranscribeConfig {
            vocabulary: Vocabulary::parse(VOCABULARY).unwrap(),
            vocabulary_poll: std::time::Duration::from_millis(1),
            vocabulary_wait: wait,
            ..TranscribeConfig::default()
        },
    )
}

/// Starts run 0 of the test recording with default options.
async fn start_with_defaults(
    service: &AwsTranscribeService,
) -> Result<transcription::service::Started, transcription::error::EngineError> {
    service
        .start(
            &job_name_of(0),
            &start_input(ProcessingOptions::default()),
            &CancellationToken::new(),
        )
        .await
}

fn vocabulary_in(state: VocabularyState, reason: Option<&str>) -> GetVocabularyOutput {
    GetVocabularyOutput::builder()
        .vocabulary_name(
            Vocabulary::parse(VOCABULARY)
                .unwrap()
                .transcribe_name("en-US"),
        )
        .vocabulary_state(state)
        .set_failure_reason(reason.map(str::to_owned))
        .build()
}

#[tokio::test]
async fn given_a_vocabulary_when_starting_then_it_is_created_from_our_table_waited_for_and_used() {
    let name = Vocabulary::parse(VOCABULARY)
        .unwrap()
        .transcribe_name("en-US");
    let absent = mock!(Client::get_vocabulary)
        .then_error(|| GetVocabularyError::NotFoundException(NotFoundException::builder().build()));
    let table_key = "users/user_1/processed/rec_1/transcribe-vocabulary.txt";
    let expected_uri = format!("s3://{BUCKET}/{table_key}");
    let create = mock!(Client::create_vocabulary)
        .match_requests({
            let (name, uri) = (name.clone(), expected_uri.clone());
            move |r| {
                r.vocabulary_name() == Some(name.as_str())
                    && r.vocabulary_file_uri() == Some(uri.as_str())
                    && r.language_code() == Some(&LanguageCode::EnUs)
                    && r.phrases().is_empty()
            }
        })
        .then_output(|| CreateVocabularyOutput::builder().build());
    let pending = mock!(Client::get_vocabulary)
        .sequence()
        .output(|| vocabulary_in(VocabularyState::Pending, None))
        .times(3)
        .output(|| vocabulary_in(VocabularyState::Ready, None))
        .build();
    let start = mock!(Client::start_transcription_job)
        .match_requests({
            let name = name.clone();
            move |r| r.settings().and_then(|s| s.vocabulary_name()) == Some(name.as_str())
        })
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let store = Arc::new(MemoryStore::default());
    let service = service_with_vocabulary(
        client(&[&absent, &create, &pending, &start]),
        store.clone(),
        std::time::Duration::from_secs(60),
    );
    let started = start_with_defaults(&service)
        .await
        .expect("the job starts with the vocabulary");
    assert_eq!(started, transcription::service::Started::Submitted);
    assert_eq!(
        start.num_calls(),
        1,
        "the job was started once, with the vocabulary"
    );
    assert_eq!(pending.num_calls(), 4, "three pending looks, then ready");
    let table = store
        .get_bytes(BUCKET, table_key)
        .await
        .expect("the table is in our bucket");
    assert_eq!(
        String::from_utf8(table.to_vec()).unwrap(),
        "Phrase\tIPA\tSoundsLike\tDisplayAs\nPriya\t\t\tPriya\nDynamo-D.B.\t\t\tDynamoDB\n"
    );
}

#[tokio::test]
async fn given_a_vocabulary_another_worker_created_when_starting_then_conflict_waits_for_it() {
    let absent = mock!(Client::get_vocabulary)
        .then_error(|| GetVocabularyError::NotFoundException(NotFoundException::builder().build()));
    let conflict = mock!(Client::create_vocabulary).then_error(|| {
        CreateVocabularyError::ConflictException(ConflictException::builder().build())
    });
    let ready =
        mock!(Client::get_vocabulary).then_output(|| vocabulary_in(VocabularyState::Ready, None));
    let start = mock!(Client::start_transcription_job)
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let store = Arc::new(MemoryStore::default());
    let service = service_with_vocabulary(
        client(&[&absent, &conflict, &ready, &start]),
        store,
        std::time::Duration::from_secs(60),
    );
    start_with_defaults(&service)
        .await
        .expect("the other worker's vocabulary is used");
    assert_eq!((ready.num_calls(), start.num_calls()), (1, 1));
}

#[tokio::test]
async fn given_a_failed_vocabulary_then_the_start_fails_with_transcribes_reason_and_no_job() {
    let failed = mock!(Client::get_vocabulary).then_output(|| {
        vocabulary_in(
            VocabularyState::Failed,
            Some("The vocabulary contains invalid characters"),
        )
    });
    let start = mock!(Client::start_transcription_job)
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let service = service_with_vocabulary(
        client(&[&failed, &start]),
        Arc::new(MemoryStore::default()),
        std::time::Duration::from_secs(60),
    );
    let error = start_with_defaults(&service)
        .await
        .expect_err("a failed vocabulary fails the start");
    assert_eq!(error.name(), TranscriptionError::JobFailed);
    assert!(error.to_string().contains("invalid characters"), "{error}");
    assert_eq!(start.num_calls(), 0);
}

#[tokio::test]
async fn given_a_vocabulary_still_pending_after_the_wait_then_the_start_is_retryable_and_no_job_starts()
 {
    let pending = mock!(Client::get_vocabulary)
        .sequence()
        .output(|| vocabulary_in(VocabularyState::Pending, None))
        .repeatedly()
        .build();
    let start = mock!(Client::start_transcription_job)
        .then_output(|| StartTranscriptionJobOutput::builder().build());
    let service = service_with_vocabulary(
        client(&[&pending, &start]),
        Arc::new(MemoryStore::default()),
        std::time::Duration::from_millis(20),
    );
    let error = start_with_defaults(&service)
        .await
        .expect_err("still pending");
    assert_eq!(error.name(), TranscriptionError::ServiceUnavailable);
    assert!(pending.num_calls() >= 2);
    assert_eq!(start.num_calls(), 0);
}

#[tokio::test]
async fn given_the_accounts_vocabulary_limit_then_the_start_fails_saying_what_to_delete() {
    let absent = mock!(Client::get_vocabulary)
        .then_error(|| GetVocabularyError::NotFoundException(NotFoundException::builder().build()));
    let limit = mock!(Client::create_vocabulary).then_error(|| {
        CreateVocabularyError::LimitExceededException(LimitExceededException::builder().build())
    });
    let service = service_with_vocabulary(
        client(&[&absent, &limit]),
        Arc::new(MemoryStore::default()),
        std::time::Duration::from_secs(60),
    );
    let error = start_with_defaults(&service).await.expect_err("limit");
    assert_eq!(error.name(), TranscriptionError::JobFailed);
    assert!(
        error
            .to_string()
            .contains("delete unused meeting-recorder-*"),
        "{error}"
    );
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
