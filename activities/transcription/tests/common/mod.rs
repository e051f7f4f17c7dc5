//! Shared fixtures of the transcription tests: a two-voice espeak-ng meeting rendered at test
//! time (deterministic), WER, and the model lookup that fails with the set-up command.

#![allow(dead_code)]

pub mod store;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use transcription::audio::decode_to_pcm;
use transcription::model::{ModelFile, locate_model_from_env};

/// One line of the scripted meeting.
pub struct Line {
    /// 0 = voice A (`en-us`, pitch 35), 1 = voice B (`en-us+f3`, pitch 70).
    pub voice: usize,
    pub text: &'static str,
}

pub const SCRIPT: &[Line] = &[
    Line {
        voice: 0,
        text: "Good morning everyone. Let's review the budget for the new product launch.",
    },
    Line {
        voice: 1,
        text: "Thanks. The marketing costs are higher than we planned last month.",
    },
    Line {
        voice: 0,
        text: "Alice will send the budget by Friday.",
    },
    Line {
        voice: 1,
        text: "Bob is going to update the launch checklist before the release.",
    },
    Line {
        voice: 0,
        text: "After a short discussion, we decided to ship on Monday.",
    },
    Line {
        voice: 1,
        text: "Great. I will schedule the customer demo for next week.",
    },
    Line {
        voice: 0,
        text: "Thank you all. The meeting is over.",
    },
];

/// Pause between turns.
const GAP_SECONDS: f64 = 0.7;

/// The rendered meeting: 16 kHz mono samples and each line's span in seconds.
pub struct Meeting {
    pub pcm: Vec<f32>,
    pub turns: Vec<(usize, f64, f64)>,
}

impl Meeting {
    pub fn reference_text(&self) -> String {
        SCRIPT.iter().map(|l| l.text).collect::<Vec<_>>().join(" ")
    }
}

fn require_tool(tool: &str, version_flag: &str) {
    let ok = Command::new(tool)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "{tool} is not installed; run `scripts/setup.sh apt`");
}

/// Renders the meeting once per test binary.
pub async fn meeting() -> &'static Meeting {
    static MEETING: OnceLock<Meeting> = OnceLock::new();
    if let Some(m) = MEETING.get() {
        return m;
    }
    require_tool("espeak-ng", "--version");
    require_tool("ffmpeg", "-version");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut pcm: Vec<f32> = vec![0.0; 8_000];
    let mut turns = Vec::new();
    for (i, line) in SCRIPT.iter().enumerate() {
        let wav = dir.path().join(format!("line{i}.wav"));
        let (voice, pitch) = if line.voice == 0 {
            ("en-us", "35")
        } else {
            ("en-us+f3", "70")
        };
        let status = Command::new("espeak-ng")
            .args(["-v", voice, "-p", pitch, "-s", "160", "-w"])
            .arg(&wav)
            .arg(line.text)
            .status()
            .expect("espeak-ng runs");
        assert!(status.success(), "espeak-ng failed");
        let samples = decode_to_pcm(&wav).await.expect("decode espeak output");
        let start = pcm.len() as f64 / 16_000.0;
        pcm.extend_from_slice(&samples);
        turns.push((line.voice, start, pcm.len() as f64 / 16_000.0));
        pcm.extend(std::iter::repeat_n(0.0, (GAP_SECONDS * 16_000.0) as usize));
    }
    let _ = MEETING.set(Meeting { pcm, turns });
    MEETING.get().expect("set above")
}

/// Writes 16 kHz mono samples as a 16-bit FLAC (as PrepareMedia produces).
pub fn write_flac(pcm: &[f32], path: &Path) {
    let raw = path.with_extension("raw");
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&raw, bytes).expect("write raw");
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "f32le",
            "-ar",
            "16000",
            "-ac",
            "1",
            "-i",
        ])
        .arg(&raw)
        .args(["-sample_fmt", "s16"])
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg could not write FLAC");
}

/// The cached model, or a failure naming the set-up command.
pub fn model() -> ModelFile {
    match locate_model_from_env() {
        Ok(m) => m,
        Err(e) => panic!("{e} (the offline model is built by `scripts/setup.sh models`)"),
    }
}

fn normalize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate: word-level Levenshtein distance (substitutions + deletions + insertions)
/// between normalised texts, divided by the number of reference words.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (normalize(reference), normalize(hypothesis));
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut row = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let cost = usize::from(rw != hw);
            row[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[test]
fn wer_counts_substitutions_insertions_and_deletions() {
    assert_eq!(wer("the cat sat", "the cat sat"), 0.0);
    assert_eq!(wer("the cat sat", "The cat, sat."), 0.0);
    assert!((wer("the cat sat", "the dog sat") - 1.0 / 3.0).abs() < 1e-9);
    assert!((wer("the cat sat", "the cat sat down") - 1.0 / 3.0).abs() < 1e-9);
    assert!((wer("the cat sat", "cat sat") - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(wer("a b", ""), 1.0);
}
