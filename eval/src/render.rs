//! Renders a scripted meeting to the `.m4a` a user would hand to `recorder process`, and
//! measures its speaker turns: the ground truth of who spoke when.
//!
//! Each line is spoken by `espeak-ng` with its speaker's voice, pitch and speed (the same tool
//! as `recorder_testkit::media::render_speech`, which has no speed setting and no timings, so
//! it is not reused). The samples are placed on one timeline here, in Rust: each line starts a
//! short pause after the previous line's last audible sample, or `overlap` seconds before it, and
//! overlapping lines are summed. A turn runs from a line's first to its last audible sample,
//! so the turns are exact. Background noise comes from `sox synth` (repeatable with `-R`) and is
//! added under the speech; FFmpeg encodes AAC at 48 kHz with the meeting date as the file's
//! `creation_time` (and modification time), as a recorder app would write it.
//!
//! A rendered meeting is kept in `CACHE/ID/` (`meeting.m4a`, `turns.json`) and reused while
//! the voices, lines and noise stay the same ([`crate::meeting::Meeting::render_fingerprint`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::meeting::Meeting;
use crate::metrics::der::Turn;

/// Bumped when the rendering changes, so cached audio is rendered again.
pub const RENDERER_VERSION: u32 = 1;

/// Sample rate of `espeak-ng`'s WAV output and of the mix, Hz.
pub const SAMPLE_RATE: u32 = 22_050;

/// Silence before the first line, seconds.
const LEAD_SECONDS: f64 = 0.5;

/// Pause between a line's last audible sample and the next line's first, seconds: a brisk but
/// natural turn-taking gap.
const GAP_SECONDS: f64 = 0.45;

/// Silence after the last line, seconds.
const TAIL_SECONDS: f64 = 0.8;

/// A sample at or above this magnitude (of 32,767) is audible: about −50 dBFS, far below
/// speech and above `espeak-ng`'s digital silence.
const AUDIBLE: i32 = 100;

/// A rendered meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendered {
    /// The audio to process.
    pub audio: PathBuf,
    /// Length of the audio, seconds.
    pub duration_seconds: f64,
    /// Who spoke when, one turn per line, in line order.
    pub turns: Vec<Turn>,
    /// The [`Meeting::render_fingerprint`] it was rendered from.
    pub fingerprint: String,
}

fn tool(name: &str, args: &[&str]) -> Result<(), EvalError> {
    let output =
        Command::new(name)
            .args(args)
            .output()
            .map_err(|source| EvalError::ToolMissing {
                tool: name.to_owned(),
                source,
            })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(EvalError::ToolFailed {
            tool: name.to_owned(),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> EvalError + '_ {
    move |source| EvalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The 16-bit mono samples of a WAV file (the `data` chunk; a size field left unset by a
/// streaming writer is tolerated).
pub fn read_wav(path: &Path) -> Result<Vec<i16>, EvalError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let bad = |what: &str| EvalError::ToolFailed {
        tool: "espeak-ng".to_owned(),
        detail: format!("{}: {what}", path.display()),
    };
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a WAV file"));
    }
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
            as usize;
        let body = at + 8;
        if id == b"fmt " {
            if body + 16 > bytes.len() {
                return Err(bad("a truncated fmt chunk"));
            }
            let channels = u16::from_le_bytes([bytes[body + 2], bytes[body + 3]]);
            let bits = u16::from_le_bytes([bytes[body + 14], bytes[body + 15]]);
            let rate = u32::from_le_bytes([
                bytes[body + 4],
                bytes[body + 5],
                bytes[body + 6],
                bytes[body + 7],
            ]);
            if channels != 1 || bits != 16 || rate != SAMPLE_RATE {
                return Err(bad("not 16-bit mono at 22.05 kHz"));
            }
        }
        if id == b"data" {
            let end = body.saturating_add(size).min(bytes.len());
            return Ok(bytes[body..end]
                .chunks_exact(2)
                .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                .collect());
        }
        at = body.saturating_add(size + (size & 1));
    }
    Err(bad("no data chunk"))
}

/// Writes 16-bit mono samples at [`SAMPLE_RATE`] as a WAV file.
pub fn write_wav(path: &Path, samples: &[i16]) -> Result<(), EvalError> {
    let data = u32::try_from(samples.len() * 2).map_err(|_| EvalError::ToolFailed {
        tool: "wav writer".to_owned(),
        detail: "the meeting is longer than a WAV file can hold".to_owned(),
    })?;
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    bytes.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    for sample in samples {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    std::fs::write(path, bytes).map_err(io_error(path))
}

/// First and one-past-last audible sample, if any.
pub fn audible_span(samples: &[i16]) -> Option<(usize, usize)> {
    let loud = |s: &i16| i32::from(*s).abs() >= AUDIBLE;
    let first = samples.iter().position(loud)?;
    let last = samples.iter().rposition(loud)?;
    Some((first, last + 1))
}

/// Where each line's file starts on the timeline (in samples), given each line's audible span
/// within its file and each line's overlap with the speech before it. Pure, so the timing rules
/// are unit-tested without audio.
pub fn place_lines(spans: &[(usize, usize)], overlaps: &[f64]) -> Vec<usize> {
    let rate = f64::from(SAMPLE_RATE);
    let mut offsets = Vec::with_capacity(spans.len());
    let mut previous_end: Option<usize> = None;
    for (i, &(first, _)) in spans.iter().enumerate() {
        let speech_start = match previous_end {
            None => (LEAD_SECONDS * rate) as usize,
            Some(end) => {
                let overlap = overlaps.get(i).copied().unwrap_or(0.0);
                if overlap > 0.0 {
                    end.saturating_sub((overlap * rate) as usize)
                } else {
                    end + (GAP_SECONDS * rate) as usize
                }
            }
        };
        let offset = speech_start.saturating_sub(first);
        offsets.push(offset);
        let end = offset + spans[i].1;
        previous_end = Some(previous_end.map_or(end, |e| e.max(end)));
    }
    offsets
}

/// Renders `meeting` into `cache/ID/` unless an up-to-date rendering is there.
///
/// # Errors
/// [`EvalError::ToolMissing`]/[`EvalError::ToolFailed`] when `espeak-ng`, `sox` or `ffmpeg`
/// cannot do their part, [`EvalError::Io`] for the files.
pub fn render(meeting: &Meeting, cache: &Path) -> Result<Rendered, EvalError> {
    let dir = cache.join(&meeting.id);
    let record = dir.join("turns.json");
    let fingerprint = meeting.render_fingerprint();
    if let Ok(bytes) = std::fs::read(&record)
        && let Ok(rendered) = serde_json::from_slice::<Rendered>(&bytes)
        && rendered.fingerprint == fingerprint
        && rendered.audio.is_file()
    {
        return Ok(rendered);
    }
    std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let work = dir.join("lines");
    std::fs::create_dir_all(&work).map_err(io_error(&work))?;

    let mut clips = Vec::with_capacity(meeting.lines.len());
    for (i, line) in meeting.lines.iter().enumerate() {
        let voice = meeting
            .voice(&line.speaker)
            .ok_or_else(|| EvalError::InvalidMeeting {
                path: PathBuf::from(&meeting.id),
                problem: format!("line {i}: unknown speaker {}", line.speaker),
            })?;
        let wav = work.join(format!("line_{i:03}.wav"));
        let wav_arg = wav.to_string_lossy().into_owned();
        tool(
            "espeak-ng",
            &[
                "-v",
                &voice.voice,
                "-p",
                &voice.pitch.to_string(),
                "-s",
                &voice.speed.to_string(),
                "-w",
                &wav_arg,
                &line.text,
            ],
        )?;
        let samples = read_wav(&wav)?;
        let span = audible_span(&samples).ok_or_else(|| EvalError::ToolFailed {
            tool: "espeak-ng".to_owned(),
            detail: format!("line {i} of {} rendered as silence", meeting.id),
        })?;
        clips.push((samples, span));
    }
    let spans: Vec<(usize, usize)> = clips.iter().map(|(_, span)| *span).collect();
    let overlaps: Vec<f64> = meeting.lines.iter().map(|l| l.overlap).collect();
    let offsets = place_lines(&spans, &overlaps);

    let rate = f64::from(SAMPLE_RATE);
    let speech_end = offsets
        .iter()
        .zip(&spans)
        .map(|(offset, (_, end))| offset + end)
        .max()
        .unwrap_or(0);
    let total = speech_end + (TAIL_SECONDS * rate) as usize;
    let mut mix = vec![0f32; total];
    let mut turns = Vec::with_capacity(clips.len());
    for ((line, (samples, (first, end))), offset) in meeting.lines.iter().zip(&clips).zip(&offsets)
    {
        for (k, sample) in samples.iter().enumerate() {
            if let Some(slot) = mix.get_mut(offset + k) {
                *slot += f32::from(*sample);
            }
        }
        turns.push(Turn {
            speaker: line.speaker.clone(),
            start: (offset + first) as f64 / rate,
            end: (offset + end) as f64 / rate,
        });
    }
    let duration_seconds = total as f64 / rate;

    if let Some(noise) = &meeting.noise {
        let noise_wav = work.join("noise.wav");
        let noise_arg = noise_wav.to_string_lossy().into_owned();
        tool(
            "sox",
            &[
                "-R",
                "-n",
                "-r",
                &SAMPLE_RATE.to_string(),
                "-c",
                "1",
                "-b",
                "16",
                &noise_arg,
                "synth",
                &format!("{duration_seconds:.3}"),
                noise.kind.sox_name(),
                "vol",
                &format!("{:.4}", noise.amplitude),
            ],
        )?;
        for (slot, sample) in mix.iter_mut().zip(read_wav(&noise_wav)?) {
            *slot += f32::from(sample);
        }
    }
    let samples: Vec<i16> = mix
        .iter()
        .map(|v| v.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16)
        .collect();
    let mix_wav = work.join("mix.wav");
    write_wav(&mix_wav, &samples)?;

    let audio = dir.join("meeting.m4a");
    let created = format!("{}T10:00:00Z", meeting.date);
    tool(
        "ffmpeg",
        &[
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            &mix_wav.to_string_lossy(),
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-ar",
            "48000",
            "-ac",
            "1",
            "-metadata",
            &format!("creation_time={created}"),
            &audio.to_string_lossy(),
        ],
    )?;
    if let Ok(start) = chrono::DateTime::parse_from_rfc3339(&created) {
        let ended = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs_f64(start.timestamp() as f64 + duration_seconds);
        let file = std::fs::File::options()
            .write(true)
            .open(&audio)
            .map_err(io_error(&audio))?;
        file.set_modified(ended).map_err(io_error(&audio))?;
    }
    std::fs::remove_dir_all(&work).map_err(io_error(&work))?;

    let rendered = Rendered {
        audio,
        duration_seconds,
        turns,
        fingerprint,
    };
    let json = serde_json::to_vec_pretty(&rendered).map_err(|source| EvalError::Json {
        path: record.clone(),
        source,
    })?;
    std::fs::write(&record, json).map_err(io_error(&record))?;
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: usize = SAMPLE_RATE as usize;

    #[test]
    fn given_lines_without_overlap_then_each_starts_a_gap_after_the_last_audible_sample() {
        // Two one-second clips whose speech is samples 1000..(RATE − 1000).
        let spans = [(1000, RATE - 1000), (1000, RATE - 1000)];
        let offsets = place_lines(&spans, &[0.0, 0.0]);
        let lead = (LEAD_SECONDS * SAMPLE_RATE as f64) as usize;
        assert_eq!(offsets[0] + 1000, lead);
        let first_end = offsets[0] + RATE - 1000;
        let gap = (GAP_SECONDS * SAMPLE_RATE as f64) as usize;
        assert_eq!(offsets[1] + 1000, first_end + gap);
    }

    #[test]
    fn given_an_overlap_then_the_line_starts_that_long_before_the_previous_speech_ends() {
        let spans = [(0, 2 * RATE), (500, RATE)];
        let offsets = place_lines(&spans, &[0.0, 0.5]);
        let first_end = offsets[0] + 2 * RATE;
        assert_eq!(offsets[1] + 500, first_end - RATE / 2);
    }

    #[test]
    fn given_samples_when_written_and_read_back_then_they_are_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.wav");
        let samples = vec![0, 5, -3000, 32_767, -32_768, 0];
        write_wav(&path, &samples).expect("write");
        assert_eq!(read_wav(&path).expect("read"), samples);
        assert_eq!(audible_span(&samples), Some((2, 5)));
        assert_eq!(audible_span(&[0, 3, -2]), None);
    }
}
