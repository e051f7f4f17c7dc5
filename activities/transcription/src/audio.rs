//! Decoding speech audio (FLAC, WAV, anything FFmpeg reads) into 16 kHz mono `f32` samples, the
//! input Whisper and the speaker clustering work on.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crate::error::AudioError;

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// Decodes `path` to 16 kHz mono `f32` PCM through `ffmpeg`.
pub async fn decode_to_pcm(path: &Path) -> Result<Vec<f32>, AudioError> {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-vn",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-f",
            "f32le",
            "-acodec",
            "pcm_f32le",
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(AudioError::FfmpegMissing)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(500)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(AudioError::Decode { stderr: tail });
    }
    Ok(output
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}
