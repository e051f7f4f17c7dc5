//! The offline engine on a two-voice espeak-ng meeting rendered at test time: word error rate,
//! keyword recall, speaker turns, and silence.

mod common;

use meeting_domain::contracts::Transcript;
use meeting_domain::ids::RecordingId;
use tokio_util::sync::CancellationToken;
use transcription::offline::{OfflineRequest, transcribe_pcm};
use transcription::recognizer::WhisperTranscriber;
use transcription::voice_encoder::load_default_voice_encoder;
use transcription::voice_speakers::VoiceLabeller;

fn request(speakers: Option<usize>) -> OfflineRequest {
    OfflineRequest {
        recording_id: RecordingId::new("rec_meeting").unwrap(),
        language: "en-US".to_owned(),
        speakers,
        glossary: String::new(),
    }
}

fn transcriber() -> &'static WhisperTranscriber {
    static T: std::sync::OnceLock<WhisperTranscriber> = std::sync::OnceLock::new();
    T.get_or_init(|| WhisperTranscriber::load(&common::model(), 2).expect("model loads"))
}

/// The neural labeller the engine uses in production (the test needs the installed model).
fn labeller() -> &'static VoiceLabeller {
    static L: std::sync::OnceLock<VoiceLabeller> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        VoiceLabeller::new(load_default_voice_encoder().expect("speaker model installed"))
    })
}

fn full_text(t: &Transcript) -> String {
    t.segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Turn purity: words whose middle lies in a scripted turn, counted per (voice, speaker); the
/// better of the two voice→speaker mappings over all counted words. Also returns the counts.
fn turn_purity(meeting: &common::Meeting, transcript: &Transcript) -> (f64, [[usize; 2]; 2]) {
    let mut counts = [[0usize; 2]; 2];
    for segment in &transcript.segments {
        let speaker = transcript
            .speakers
            .iter()
            .position(|s| s.id == segment.speaker)
            .unwrap();
        for word in &segment.words {
            let mid = (word.start + word.end) / 2.0;
            let turn = meeting
                .turns
                .iter()
                .find(|(_, a, b)| mid >= a - 0.3 && mid <= b + 0.3);
            if let (Some((voice, _, _)), true) = (turn, speaker < 2) {
                counts[*voice][speaker] += 1;
            }
        }
    }
    let total: usize = counts.iter().flatten().sum();
    let straight = counts[0][0] + counts[1][1];
    (straight as f64 / total.max(1) as f64, counts)
}

/// One transcription of the meeting serves the three quality checks (Whisper is the slow part).
#[tokio::test]
async fn given_the_scripted_two_voice_meeting_when_transcribed_then_wer_keywords_and_speaker_turns_meet_the_thresholds()
 {
    let meeting = common::meeting().await;
    let t = transcriber();
    let transcript = tokio::task::spawn_blocking(move || {
        transcribe_pcm(
            &meeting.pcm,
            t,
            labeller(),
            &request(None),
            &CancellationToken::new(),
            &|_| {},
        )
    })
    .await
    .unwrap()
    .expect("transcription succeeds");
    let text = full_text(&transcript);

    // Word error rate.
    let wer = common::wer(&meeting.reference_text(), &text);
    println!("WER {wer:.3}: {text}");
    assert!(wer <= 0.20, "WER {wer:.3} > 0.20; transcript: {text}");

    // Keyword recall.
    let lower = text.to_lowercase();
    let keywords = [
        "alice",
        "budget",
        "friday",
        "decided",
        "ship",
        "monday",
        "checklist",
        "release",
        "demo",
    ];
    let found: Vec<&str> = keywords
        .iter()
        .copied()
        .filter(|k| lower.contains(k))
        .collect();
    let recall = found.len() as f64 / keywords.len() as f64;
    assert!(
        recall >= 0.85,
        "keyword recall {recall:.2} (found {found:?}) in: {text}"
    );

    // Two speakers, labelled in order of appearance, with >= 90 % turn purity.
    assert!(transcript.speakers_approximate);
    assert_eq!(
        transcript.speakers.len(),
        2,
        "speakers: {:?}",
        transcript.speakers
    );
    assert_eq!(transcript.speakers[0].label, "Speaker 1");
    assert_eq!(transcript.segments[0].speaker, transcript.speakers[0].id);
    let (purity, counts) = turn_purity(meeting, &transcript);
    println!("turn purity {purity:.3} {counts:?}");
    assert!(
        counts.iter().flatten().sum::<usize>() > 40,
        "too few words aligned to turns: {counts:?}"
    );
    assert!(purity >= 0.9, "turn purity {purity:.3}, counts {counts:?}");
}

#[tokio::test]
async fn given_ten_seconds_of_silence_when_transcribed_then_the_transcript_is_empty() {
    let silence = vec![0.0f32; 16_000 * 10];
    let t = transcriber();
    let transcript = tokio::task::spawn_blocking(move || {
        transcribe_pcm(
            &silence,
            t,
            labeller(),
            &request(None),
            &CancellationToken::new(),
            &|_| {},
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert!(transcript.segments.is_empty(), "{:?}", transcript.segments);
    assert!(transcript.speakers.is_empty());
    assert!((transcript.duration_seconds - 10.0).abs() < 1e-6);
}

#[tokio::test]
async fn given_a_known_speaker_count_when_transcribed_then_exactly_that_many_speakers_are_labelled()
{
    let meeting = common::meeting().await;
    let t = transcriber();
    let pcm = meeting.pcm[..(meeting.turns[1].2 * 16_000.0) as usize].to_vec();
    let transcript = tokio::task::spawn_blocking(move || {
        transcribe_pcm(
            &pcm,
            t,
            labeller(),
            &request(Some(2)),
            &CancellationToken::new(),
            &|_| {},
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(transcript.speakers.len(), 2);
}

#[tokio::test]
async fn given_a_cancelled_task_when_transcribing_then_it_stops_with_cancelled() {
    let meeting = common::meeting().await;
    let t = transcriber();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let pcm = meeting.pcm.clone();
    let result = tokio::task::spawn_blocking(move || {
        transcribe_pcm(&pcm, t, labeller(), &request(None), &cancel, &|_| {})
    })
    .await
    .unwrap();
    assert!(
        matches!(result, Err(transcription::error::EngineError::Cancelled)),
        "{result:?}"
    );
}

#[tokio::test]
async fn given_flac_audio_in_the_store_when_start_and_check_run_offline_then_transcript_and_exports_are_stored()
 {
    use activity_runtime::activity::{Activity, TaskContext};
    use meeting_domain::contracts::{CheckTranscriptionInput, JobStatus, StartTranscriptionInput};
    use meeting_domain::ids::UserId;
    use meeting_domain::ports::ObjectStore;
    use std::sync::Arc;
    use transcription::activities::{CheckTranscriptionActivity, StartTranscriptionActivity};
    use transcription::service::OfflineService;

    // GIVEN the first two turns as 16-bit FLAC at the key PrepareMedia writes.
    let meeting = common::meeting().await;
    let dir = tempfile::tempdir().unwrap();
    let flac = dir.path().join("audio.flac");
    common::write_flac(
        &meeting.pcm[..(meeting.turns[1].2 * 16_000.0) as usize + 8_000],
        &flac,
    );
    let store = Arc::new(common::store::MemoryStore::default());
    let audio_key = "users/user_1/processed/rec_meeting/audio.flac";
    store
        .upload_from("bucket", audio_key, &flac, "audio/flac")
        .await
        .unwrap();
    let model = common::model();
    let transcriber = Arc::new(WhisperTranscriber::load(&model, 2).unwrap());
    let service = Arc::new(OfflineService::new(store.clone(), transcriber));
    let ctx = TaskContext {
        cancel: CancellationToken::new(),
        task_id: "t".to_owned(),
    };

    // WHEN StartTranscription runs
    let start = StartTranscriptionActivity::new(service.clone(), store.clone());
    let input = StartTranscriptionInput {
        user_id: UserId::new("user_1").unwrap(),
        recording_id: RecordingId::new("rec_meeting").unwrap(),
        bucket: "bucket".to_owned(),
        audio_key: audio_key.to_owned(),
        duration_seconds: 10.0,
        audio_bytes: 1,
        run: 0,
        options: Default::default(),
    };
    let job = start.run(input, &ctx).await.unwrap();
    let recording = meeting_domain::RecordingRef::new(
        UserId::new("user_1").unwrap(),
        RecordingId::new("rec_meeting").unwrap(),
    );
    assert_eq!(job.job_name, recording.transcription_job_name(0));
    assert_eq!(job.engine, "whisper");

    // THEN the transcript and every export are stored, and Check reports them.
    let prefix = "users/user_1/processed/rec_meeting/";
    for name in [
        "transcript.json",
        "transcript.srt",
        "transcript.vtt",
        "transcript.md",
        "transcript.txt",
    ] {
        assert!(
            store.object("bucket", &format!("{prefix}{name}")).is_some(),
            "{name} missing: {:?}",
            store.keys()
        );
    }
    let check = CheckTranscriptionActivity::new(service, store.clone());
    let status = check
        .run(
            CheckTranscriptionInput {
                user_id: UserId::new("user_1").unwrap(),
                recording_id: RecordingId::new("rec_meeting").unwrap(),
                bucket: "bucket".to_owned(),
                job_name: job.job_name,
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(status.status, JobStatus::Completed);
    let key = status.transcript_key.unwrap();
    let stored: Transcript =
        serde_json::from_slice(&store.object("bucket", &key).unwrap()).unwrap();
    assert_eq!(status.speaker_count, Some(stored.speakers.len() as u32));
    assert!(
        full_text(&stored).to_lowercase().contains("budget"),
        "{}",
        full_text(&stored)
    );
    let srt = String::from_utf8(
        store
            .object("bucket", &format!("{prefix}transcript.srt"))
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(srt.starts_with("1\n00:00:0"), "{srt}");
}
