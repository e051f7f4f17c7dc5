//! `bench-transcribe AUDIO [THREADS]`: transcribes a file offline (VAD + Whisper + speakers) and
//! prints the real-time factor and the peak resident memory. Build with `--release`.

use std::time::Instant;

use anyhow::Context;
use meeting_domain::ids::RecordingId;
use tokio_util::sync::CancellationToken;
use transcription::audio::{SAMPLE_RATE, decode_to_pcm};
use transcription::model::locate_model_from_env;
use transcription::offline::{OfflineRequest, transcribe_pcm};
use transcription::recognizer::WhisperTranscriber;
use transcription::voice_speakers::default_speaker_labeller;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let audio = args
        .next()
        .context("usage: bench-transcribe AUDIO [THREADS]")?;
    let threads: usize = args
        .next()
        .map_or(Ok(2), |t| t.parse())
        .context("THREADS")?;
    let model = locate_model_from_env()?;
    let transcriber = WhisperTranscriber::load(&model, threads)?;
    let started = Instant::now();
    let pcm = decode_to_pcm(std::path::Path::new(&audio)).await?;
    let decoded = started.elapsed();
    let request = OfflineRequest {
        recording_id: RecordingId::new("bench")?,
        language: "en-US".to_owned(),
        speakers: None,
        glossary: String::new(),
    };
    let labeller = default_speaker_labeller();
    let transcript = transcribe_pcm(
        &pcm,
        &transcriber,
        labeller.as_ref(),
        &request,
        &CancellationToken::new(),
        &|_| {},
    )?;
    let total = started.elapsed();
    let seconds = pcm.len() as f64 / f64::from(SAMPLE_RATE);
    let peak_rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
        })
        .unwrap_or(0);
    println!("speaker labels: {}", labeller.name());
    println!(
        "audio {seconds:.1} s, threads {threads}, decode {:.2} s, total {:.2} s, real-time factor {:.3}, peak RSS {} MiB, {} segments, {} speakers",
        decoded.as_secs_f64(),
        total.as_secs_f64(),
        total.as_secs_f64() / seconds,
        peak_rss_kib / 1024,
        transcript.segments.len(),
        transcript.speakers.len()
    );
    Ok(())
}
