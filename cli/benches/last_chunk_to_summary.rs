//! Benchmark: time from the last chunk uploaded to the summary written, on the local backend with
//! its in-process workers (the `recorder process` path), and the share of it spent outside
//! transcription (target ≤ 10 %).
//!
//! Two meetings: the two-voice espeak-ng sample (≈ 22 s) and a generated 30-minute meeting (the
//! sample's speech looped, re-encoded as one file). Each is cut into 10-second chunks as the
//! desktop client does, uploaded in random order with duplicates, then the manifest; the clock
//! starts when the manifest upload returns and stops at the modification time of `summary.json`.
//! Transcription is the time the execution spent in `StartTranscription` and
//! `CheckTranscription` (Whisper runs inside the first).
//!
//! `cargo bench -p recorder-cli --bench last_chunk_to_summary`
//! (`BENCH_MINUTES=5` for a shorter long meeting; `BENCH_THREADS` for Whisper threads, default 2).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use meeting_domain::ports::Catalog;
use meeting_domain::status::RecordingStatus;
use meeting_domain::{RecordingId, RecordingRef, UserId};
use recorder_cli::report::{object_path, stage_times};
use recorder_local::runtime::{BUCKET, LocalBackend, LocalConfig, Workers};
use recorder_testkit::media::{MEETING_SCRIPT, render_script};

/// Chunk length the desktop client uses.
const CHUNK_SECONDS: f64 = 10.0;

/// States in which the transcription runs.
const TRANSCRIPTION_STATES: [&str; 2] = ["StartTranscription", "CheckTranscription"];

struct Measured {
    audio_seconds: f64,
    chunks: usize,
    latency: f64,
    transcription: f64,
    stages: Vec<(String, f64)>,
}

fn encode_meeting(speech: &Path, seconds: f64, out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i"])
        .arg(speech)
        .args(["-t", &format!("{seconds:.3}"), "-ac", "1", "-ar", "48000"])
        .args(["-c:a", "aac", "-b:a", "64k"])
        .arg(out)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh apt)");
    assert!(
        status.success(),
        "ffmpeg could not encode {}",
        out.display()
    );
}

async fn measure(input: &Path, threads: usize, name: &str) -> Measured {
    let data = tempfile::tempdir().expect("data dir");
    let mut config = LocalConfig::new(data.path());
    config.grace = Duration::from_secs(30);
    config.workers = Workers::InProcess {
        whisper_threads: threads,
    };
    let chunks = recorder_cli::chunker::chunks_of(input, CHUNK_SECONDS, None)
        .await
        .expect("the input is cut into chunks");
    let audio_seconds = chunks.duration_seconds.unwrap_or_default();
    let backend = LocalBackend::start(config)
        .await
        .expect("the local backend starts (scripts/setup.sh models)");
    let recording = RecordingRef::new(
        UserId::new("bench").expect("user"),
        RecordingId::new(name).expect("recording"),
    );
    recorder_cli::upload::upload(
        backend.objects().as_ref(),
        BUCKET,
        &recording.user_id,
        &recording.recording_id,
        &chunks,
    )
    .await
    .expect("upload");
    let uploaded = SystemTime::now();

    let deadline = Instant::now() + Duration::from_secs(3 * 3600);
    let record = loop {
        let record = backend.catalog().get(&recording).await.expect("catalog");
        if let Some(record) = record
            && matches!(
                record.status,
                RecordingStatus::Completed
                    | RecordingStatus::IncompleteChunks
                    | RecordingStatus::ProcessingFailed
            )
        {
            break record;
        }
        assert!(Instant::now() < deadline, "{name} did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        record.status,
        RecordingStatus::Completed,
        "{name}: {:?} {:?}",
        record.error,
        record.cause
    );
    let results = record
        .results
        .as_ref()
        .expect("results of a completed recording");
    let summary = object_path(data.path(), &results.summary_key);
    let written = std::fs::metadata(&summary)
        .and_then(|m| m.modified())
        .expect("summary.json exists");
    let latency = written
        .duration_since(uploaded)
        .expect("the summary is written after the upload")
        .as_secs_f64();
    let execution = record.execution_name.as_deref().expect("execution name");
    let history = backend
        .engine()
        .history(&backend.execution_arn(execution))
        .expect("history");
    let stages: Vec<(String, f64)> = stage_times(&history)
        .into_iter()
        .map(|s| (s.state, s.seconds))
        .collect();
    let transcription = stages
        .iter()
        .filter(|(state, _)| TRANSCRIPTION_STATES.contains(&state.as_str()))
        .map(|(_, seconds)| seconds)
        .sum();
    backend.shutdown().await;
    Measured {
        audio_seconds,
        chunks: chunks.files.len(),
        latency,
        transcription,
        stages,
    }
}

fn print(title: &str, m: &Measured) {
    let outside = m.latency - m.transcription;
    println!("{title}");
    println!("  audio {:.1} s in {} chunks", m.audio_seconds, m.chunks);
    println!(
        "  last chunk uploaded → summary written   {:8.2} s",
        m.latency
    );
    println!(
        "  in transcription                        {:8.2} s",
        m.transcription
    );
    println!(
        "  outside transcription                   {:8.2} s ({:.1} %, target ≤ 10 %)",
        outside,
        100.0 * outside / m.latency
    );
    let stages: Vec<String> = m
        .stages
        .iter()
        .map(|(state, seconds)| format!("{state} {seconds:.2}"))
        .collect();
    println!("  stages: {}", stages.join(", "));
}

#[tokio::main]
async fn main() {
    let minutes: f64 = std::env::var("BENCH_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30.0);
    let threads: usize = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let work = tempfile::tempdir().expect("work dir");
    let speech = render_script(work.path(), MEETING_SCRIPT);
    let sample = work.path().join("sample.m4a");
    encode_meeting(
        &speech,
        recorder_testkit::media::audio_duration(&speech),
        &sample,
    );
    let long = work.path().join("long.m4a");
    encode_meeting(&speech, minutes * 60.0, &long);

    let measured = measure(&sample, threads, "bench-sample").await;
    print("two-voice sample", &measured);
    let measured = measure(&long, threads, "bench-long").await;
    print(&format!("generated {minutes} min meeting"), &measured);
}
