//! The operator commands against the local backend: `status` of failed, completed and incomplete
//! recordings, and `reprocess --from media|transcription|summary` on the local engine, which
//! must resume at that stage with the outputs stored by earlier runs. A scripted transcriber
//! stands in for Whisper (the stages around it are the real ones: FFmpeg, the extractive
//! summarizer, the generated workflow). Needs ffmpeg (`scripts/setup.sh`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use meeting_domain::contracts::CatalogRecord;
use meeting_domain::{RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_cli::args::{Cli, Stage};
use recorder_cli::error::CliError;
use recorder_cli::operate::Operator;
use recorder_cli::operating::{local_operator, render_status};
use recorder_cli::progress::{Progress, wait_for};
use recorder_local::runtime::{BUCKET, LocalBackend, LocalConfig, Workers};
use recorder_testkit::media::{ChunkSpec, MEETING_SCRIPT, make_recording, make_tone_recording};
use tokio_util::sync::CancellationToken;
use transcription::error::EngineError;
use transcription::recognizer::{TimedWord, Transcriber};

const SPEAK: u8 = 0;
const FAIL: u8 = 1;

/// Words for any audio, or a failed job, as the test decides; counts its calls.
#[derive(Debug, Default)]
struct ScriptedTranscriber {
    mode: AtomicU8,
    calls: AtomicUsize,
    /// The prompt of every call.
    prompts: std::sync::Mutex<Vec<String>>,
}

impl Transcriber for ScriptedTranscriber {
    fn model_name(&self) -> String {
        "scripted".into()
    }

    fn transcribe(
        &self,
        _pcm: &[f32],
        _language: &str,
        prompt: &str,
        _cancel: &CancellationToken,
    ) -> Result<Vec<TimedWord>, EngineError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.prompts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(prompt.to_owned());
        if self.mode.load(Ordering::SeqCst) == FAIL {
            return Err(EngineError::JobFailed("scripted failure".into()));
        }
        let text =
            "We decided to ship the release on Friday. Alice will write the report by Monday.";
        Ok(text
            .split_whitespace()
            .enumerate()
            .map(|(i, word)| TimedWord {
                start: 0.1 + i as f64 * 0.25,
                end: 0.3 + i as f64 * 0.25,
                text: word.into(),
                confidence: 0.9,
            })
            .collect())
    }
}

async fn backend(data: &Path, transcriber: Arc<ScriptedTranscriber>) -> LocalBackend {
    backend_with(
        data,
        transcriber,
        transcription::vocabulary::Vocabulary::default(),
    )
    .await
}

async fn backend_with(
    data: &Path,
    transcriber: Arc<ScriptedTranscriber>,
    vocabulary: transcription::vocabulary::Vocabulary,
) -> LocalBackend {
    let mut config = LocalConfig::new(data);
    config.vocabulary = vocabulary;
    config.grace = Duration::from_secs(1);
    config.sweep_interval = Duration::from_millis(250);
    config.workers = Workers::InProcess { whisper_threads: 1 };
    LocalBackend::start_with(config, Some(transcriber as Arc<dyn Transcriber>))
        .await
        .expect("local backend")
}

/// Recording `id` of the test's user.
fn recording_ref(id: &str) -> RecordingRef {
    RecordingRef::new(UserId::new("u-1").unwrap(), RecordingId::new(id).unwrap())
}

/// Uploads the chunk files (and manifest) of `folder` as recording `id` and waits for run 0.
async fn record(backend: &LocalBackend, folder: &Path, id: &str) -> CatalogRecord {
    let recording = recording_ref(id);
    let chunks = recorder_cli::chunker::chunks_of(folder, 10.0, None)
        .await
        .expect("chunks");
    recorder_cli::upload::upload(
        backend.objects().as_ref(),
        BUCKET,
        &recording.user_id,
        &recording.recording_id,
        &chunks,
    )
    .await
    .expect("upload");
    wait(backend, &recording, 0).await
}

async fn wait(backend: &LocalBackend, recording: &RecordingRef, run: u32) -> CatalogRecord {
    tokio::time::timeout(
        Duration::from_secs(120),
        wait_for(backend, recording, run, &mut Progress::new(false)),
    )
    .await
    .expect("the run finishes within 2 minutes")
    .expect("wait")
}

/// The states the execution of `run` entered.
async fn states_of(operator: &Operator, recording: &RecordingRef, run: u32) -> Vec<String> {
    operator
        .executions
        .trail(&recording.execution_name(run))
        .await
        .expect("trail")
        .into_iter()
        .filter_map(|e| e.state)
        .collect()
}

fn text_of(operator: &Operator, view: &recorder_cli::operate::StatusView) -> String {
    let bucket = operator.bucket.clone();
    render_status(view, &move |key: &str| format!("{bucket}/{key}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprocessing_resumes_at_each_stage_and_reuses_what_earlier_runs_stored() {
    let dir = tempfile::tempdir().unwrap();
    let chunks = dir.path().join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    // Speech: the offline service only hands voiced audio to the transcriber.
    let files = make_recording(&chunks, &MEETING_SCRIPT[..2], 3.0);
    let transcriber = Arc::new(ScriptedTranscriber::default());
    transcriber.mode.store(FAIL, Ordering::SeqCst);
    let backend = backend(&dir.path().join("data"), Arc::clone(&transcriber)).await;
    let operator = local_operator(&backend);
    let recording = recording_ref("rec-resume");

    // GIVEN a recording whose transcription failed
    let failed = record(&backend, &chunks, "rec-resume").await;
    assert_eq!(failed.status, RecordingStatus::ProcessingFailed);

    // THEN its status names the failed state, the error and the stage to resume at
    let view = operator.status(&recording).await.expect("status");
    let failure = view.failure.clone().expect("failure point");
    assert_eq!(failure.state.as_deref(), Some("StartTranscription"));
    assert!(failure.recorded_by_workflow);
    assert_eq!(
        view.record.error.as_deref(),
        Some("Transcription.JobFailed")
    );
    assert_eq!(
        view.chunks.recorded,
        (0..files.len() as u32).collect::<Vec<_>>()
    );
    assert!(view.chunks.missing.is_empty());
    let text = text_of(&operator, &view);
    assert!(text.contains("status      processing_failed"), "{text}");
    assert!(text.contains("failed in   StartTranscription"), "{text}");
    assert!(
        text.contains("recorder reprocess rec-resume --from transcription"),
        "{text}"
    );

    // WHEN it is reprocessed from the summary, THEN that is refused: no transcript is stored
    let refused = operator.reprocess(&recording, Stage::Summary).await;
    assert!(
        matches!(&refused, Err(CliError::NotResumable { detail, .. }) if detail.contains("transcript.json")),
        "{refused:?}"
    );

    // WHEN the transcriber works again and the recording is reprocessed from the transcription
    transcriber.mode.store(SPEAK, Ordering::SeqCst);
    let calls = transcriber.calls.load(Ordering::SeqCst);
    let (run, _) = operator
        .reprocess(&recording, Stage::Transcription)
        .await
        .expect("reprocess from transcription");
    let done = wait(&backend, &recording, run).await;

    // THEN run 1 completed without joining the chunks again, transcribing once
    assert_eq!((run, done.status), (1, RecordingStatus::Completed));
    let states = states_of(&operator, &recording, 1).await;
    assert!(
        states.contains(&"ReuseMediaForTranscription".to_owned()),
        "{states:?}"
    );
    assert!(!states.contains(&"PrepareMedia".to_owned()), "{states:?}");
    assert!(transcriber.calls.load(Ordering::SeqCst) > calls);
    let duration = done.results.as_ref().expect("results").duration_seconds;
    assert!(duration > 1.0, "duration {duration}");

    // WHEN it is reprocessed from the summary
    let calls = transcriber.calls.load(Ordering::SeqCst);
    let (run, _) = operator
        .reprocess(&recording, Stage::Summary)
        .await
        .expect("reprocess from summary");
    let done = wait(&backend, &recording, run).await;

    // THEN run 2 only summarized: no media stage, no transcription
    assert_eq!((run, done.status), (2, RecordingStatus::Completed));
    let states = states_of(&operator, &recording, 2).await;
    assert_eq!(
        states.first().map(String::as_str),
        Some("ResumeFrom"),
        "{states:?}"
    );
    assert!(states.contains(&"ReuseTranscript".to_owned()), "{states:?}");
    assert!(states.contains(&"Summarize".to_owned()), "{states:?}");
    assert!(!states.contains(&"PrepareMedia".to_owned()), "{states:?}");
    assert!(
        !states.contains(&"StartTranscription".to_owned()),
        "{states:?}"
    );
    assert_eq!(transcriber.calls.load(Ordering::SeqCst), calls);

    // WHEN it is reprocessed from the media stage
    let (run, _) = operator
        .reprocess(&recording, Stage::Media)
        .await
        .expect("reprocess from media");
    let done = wait(&backend, &recording, run).await;

    // THEN run 3 ran every stage, and measured the duration the resumed run read from the audio
    assert_eq!((run, done.status), (3, RecordingStatus::Completed));
    let states = states_of(&operator, &recording, 3).await;
    assert!(states.contains(&"PrepareMedia".to_owned()), "{states:?}");
    let full = done.results.as_ref().expect("results").duration_seconds;
    assert!((full - duration).abs() < 0.01, "{full} vs {duration}");

    // AND the status of the completed recording shows the current run and its results
    let view = operator.status(&recording).await.expect("status");
    let text = text_of(&operator, &view);
    assert!(text.contains("status      completed"), "{text}");
    assert!(text.contains("run         3"), "{text}");
    assert!(
        text.contains(
            "transcript  local-recordings/users/u-1/processed/rec-resume/transcript.json"
        ),
        "{text}"
    );
    assert!(view.failure.is_none());
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["status"], "completed");
    assert_eq!(json["execution"]["status"], "SUCCEEDED");
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_of_an_incomplete_recording_lists_the_missing_chunks() {
    // GIVEN chunks 0 and 2 of 3 and a manifest, and a grace period that passes
    let dir = tempfile::tempdir().unwrap();
    let chunks = dir.path().join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    make_tone_recording(&chunks, 3, 1.0, ChunkSpec::default());
    std::fs::remove_file(chunks.join("chunk_001.mp4")).unwrap();
    std::fs::write(chunks.join("manifest.json"), r#"{"expectedChunkCount": 3}"#).unwrap();
    let transcriber = Arc::new(ScriptedTranscriber::default());
    let backend = backend(&dir.path().join("data"), transcriber).await;
    let operator = local_operator(&backend);

    // WHEN the recording has been marked incomplete
    let record = record(&backend, &chunks, "rec-gap").await;
    assert_eq!(record.status, RecordingStatus::IncompleteChunks);
    let view = operator
        .status(&recording_ref("rec-gap"))
        .await
        .expect("status");

    // THEN the status lists recorded and missing indices and what to do
    assert_eq!(view.chunks.recorded, [0, 2]);
    assert_eq!(view.chunks.missing, [1]);
    assert_eq!(view.chunks.expected, Some(3));
    assert!(view.execution.is_none());
    let text = text_of(&operator, &view);
    assert!(text.contains("status      incomplete_chunks"), "{text}");
    assert!(text.contains("missing     1\n"), "{text}");
    assert!(text.contains("recorded    0, 2\n"), "{text}");
    assert!(text.contains("error       Chunks.Incomplete"), "{text}");
    assert!(
        text.contains("next        add the missing chunk_001.mp4 (never received)"),
        "{text}"
    );
    // AND it cannot be reprocessed: it never ran
    let refused = operator
        .reprocess(&view.record.recording(), Stage::Media)
        .await;
    assert!(
        matches!(refused, Err(CliError::NotReprocessable { .. })),
        "{refused:?}"
    );
    backend.shutdown().await;
}

#[tokio::test]
async fn redrive_on_the_local_backend_is_refused_with_the_alternative() {
    // GIVEN an empty data directory
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    // WHEN a redrive is asked for locally
    let cli = <Cli as clap::Parser>::parse_from([
        "recorder",
        "--data-dir",
        data,
        "reprocess",
        "rec-1",
        "--redrive",
    ]);
    let result = recorder_cli::run(cli).await;

    // THEN it is refused as unsupported, naming `--from`
    match result {
        Err(e @ CliError::Unsupported(_)) => {
            assert!(e.to_string().contains("--from"), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

/// The text of a stored object.
async fn stored_text(operator: &Operator, key: &str) -> String {
    let bytes = operator
        .objects
        .get_bytes(&operator.bucket, key)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_speakers_rewrites_the_transcript_exports_and_summary_without_transcribing_again() {
    let dir = tempfile::tempdir().unwrap();
    let chunks = dir.path().join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    make_recording(&chunks, &MEETING_SCRIPT[..2], 3.0);
    let transcriber = Arc::new(ScriptedTranscriber::default());
    let backend = backend(&dir.path().join("data"), Arc::clone(&transcriber)).await;
    let operator = local_operator(&backend);
    let recording = recording_ref("rec-names");
    // GIVEN a completed recording with one speaker label
    let done = record(&backend, &chunks, "rec-names").await;
    assert_eq!(done.status, RecordingStatus::Completed, "{done:?}");
    let calls = transcriber.calls.load(Ordering::SeqCst);
    let prefix = "users/u-1/processed/rec-names/";
    let rename = |raw: &str| recorder_cli::speakers::parse_rename(raw).expect("rename");

    // WHEN its speaker is named
    let view =
        recorder_cli::speakers::speakers(&operator, &recording, &[rename("Speaker 1=Dana Smith")])
            .await
            .expect("renamed");

    // THEN every file that shows speakers says the name, and nothing was transcribed again
    assert_eq!(
        view.renamed,
        vec![("Speaker 1".to_owned(), "Dana Smith".to_owned())]
    );
    assert_eq!(view.speakers[0].label, "Dana Smith");
    for file in [
        "transcript.srt",
        "transcript.vtt",
        "transcript.md",
        "transcript.txt",
        "transcript.json",
        "summary.md",
        "summary.json",
    ] {
        let text = stored_text(&operator, &format!("{prefix}{file}")).await;
        assert!(text.contains("Dana Smith"), "{file}:\n{text}");
        assert!(!text.contains("Speaker 1"), "{file}:\n{text}");
    }
    assert_eq!(transcriber.calls.load(Ordering::SeqCst), calls);
    // The summary is still a valid summary, and the owner said in the words is unchanged.
    let summary: meeting_domain::contracts::MeetingSummary =
        serde_json::from_str(&stored_text(&operator, &format!("{prefix}summary.json")).await)
            .expect("summary contract");
    assert_eq!(summary.speakers, vec!["Dana Smith".to_owned()]);
    assert!(
        summary
            .action_items
            .iter()
            .any(|i| i.owner.as_deref() == Some("Alice")),
        "{summary:?}"
    );

    // WHEN the same command runs again (say, after an interruption), THEN it changes nothing
    let again =
        recorder_cli::speakers::speakers(&operator, &recording, &[rename("Speaker 1=Dana Smith")])
            .await
            .expect("repeated");
    assert!(again.renamed.is_empty(), "{again:?}");

    // WHEN a speaker the recording does not have is named, THEN that is refused with its speakers
    let unknown = recorder_cli::speakers::speakers(&operator, &recording, &[rename("Speaker 7=X")])
        .await
        .expect_err("unknown speaker");
    assert!(
        unknown.to_string().contains("\"Dana Smith\" (spk_0)"),
        "{unknown}"
    );
    assert_eq!(unknown.exit_code(), 2);
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vocabulary_reaches_whisper_and_progress_is_recorded_per_run_and_shown_while_processing()
 {
    let dir = tempfile::tempdir().unwrap();
    let chunks = dir.path().join("chunks");
    std::fs::create_dir_all(&chunks).unwrap();
    make_recording(&chunks, &MEETING_SCRIPT[..2], 3.0);
    let transcriber = Arc::new(ScriptedTranscriber::default());
    let vocabulary = transcription::vocabulary::Vocabulary::parse("Dana\nDynamoDB\n").unwrap();
    let backend = backend_with(
        &dir.path().join("data"),
        Arc::clone(&transcriber),
        vocabulary,
    )
    .await;
    let operator = local_operator(&backend);
    let recording = recording_ref("rec-progress");

    // GIVEN a recording processed with a vocabulary
    let done = record(&backend, &chunks, "rec-progress").await;
    assert_eq!(done.status, RecordingStatus::Completed, "{done:?}");

    // THEN every Whisper window was prompted with it
    let prompts = transcriber.prompts.lock().unwrap().clone();
    assert!(!prompts.is_empty());
    assert!(
        prompts
            .iter()
            .all(|p| p.starts_with("Glossary: Dana, DynamoDB.")),
        "{prompts:?}"
    );
    // AND the progress of run 0 was recorded to the end, for run 0 only
    let progress = recorder_cli::operate::transcription_progress(
        operator.objects.as_ref(),
        BUCKET,
        &recording,
        0,
    )
    .await
    .expect("progress of run 0");
    assert!((progress.percent - 100.0).abs() < 1e-9, "{progress:?}");
    assert!(progress.speech_seconds > 0.0);
    assert!(
        recorder_cli::operate::transcription_progress(
            operator.objects.as_ref(),
            BUCKET,
            &recording,
            1
        )
        .await
        .is_none(),
        "an older run's progress is not the current run's"
    );
    // AND a completed recording's status shows no transcription progress
    let view = operator.status(&recording).await.expect("status");
    assert!(view.transcription.is_none());
    assert!(!text_of(&operator, &view).contains("transcribing"));

    // WHEN a run is transcribing (its progress half way, the catalog says processing)
    let half = meeting_domain::contracts::TranscriptionProgress {
        job_name: recording.transcription_job_name(0),
        percent: 50.0,
        speech_seconds: 372.0,
        done_seconds: 186.0,
        elapsed_seconds: 30.0,
        eta_seconds: Some(30.0),
        updated_at: "2026-03-10T10:05:00Z".to_owned(),
    };
    operator
        .objects
        .put_bytes(
            BUCKET,
            "users/u-1/processed/rec-progress/transcription-progress.json",
            serde_json::to_vec(&half).unwrap().into(),
            "application/json",
        )
        .await
        .unwrap();
    let mut processing = view.clone();
    processing.record.status = RecordingStatus::Processing;
    processing.transcription = recorder_cli::operate::transcription_progress(
        operator.objects.as_ref(),
        BUCKET,
        &recording,
        0,
    )
    .await;
    assert_eq!(processing.transcription.as_ref(), Some(&half));
    // THEN the status says how far it is and how long is left
    let text = text_of(&operator, &processing);
    assert!(
        text.contains(
            "transcribing 50% of 6 min 12 s of speech, about 30 s left (as of 2026-03-10T10:05:00Z)"
        ),
        "{text}"
    );
}
