//! Converts Amazon Transcribe's batch output JSON (`results.items`, `results.speaker_labels`)
//! into our [`Transcript`].
//!
//! Items are words (`pronunciation`) and punctuation (`punctuation`, no times, attached to the
//! previous word). Each word's speaker is its own `speaker_label` when present (current output),
//! else the speaker segment whose items list the same start time, else the segment covering it
//! (older output). Then [`crate::turns`], as for the offline engine: a sentence keeps one
//! speaker, consecutive words of one speaker form a turn until a long pause. Times arrive as
//! decimal strings.

use meeting_domain::contracts::{EngineInfo, Speaker, Transcript, Word};
use meeting_domain::ids::RecordingId;
use serde::Deserialize;

use crate::error::EngineError;
use crate::turns::{group_turns, in_order_of_appearance, one_speaker_per_sentence};

/// Engine name written into transcripts from Transcribe.
pub const TRANSCRIBE_ENGINE: &str = "aws-transcribe";

#[derive(Debug, Deserialize)]
struct Output {
    results: Results,
}

#[derive(Debug, Deserialize)]
struct Results {
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default)]
    speaker_labels: Option<SpeakerLabels>,
}

#[derive(Debug, Deserialize)]
struct Item {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
    #[serde(default)]
    alternatives: Vec<Alternative>,
    #[serde(default)]
    speaker_label: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Alternative {
    content: String,
    #[serde(default)]
    confidence: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SpeakerLabels {
    #[serde(default)]
    segments: Vec<SpeakerSegment>,
}

#[derive(Debug, Deserialize)]
struct SpeakerSegment {
    start_time: String,
    end_time: String,
    speaker_label: String,
    #[serde(default)]
    items: Vec<SpeakerItem>,
}

#[derive(Debug, Deserialize)]
struct SpeakerItem {
    start_time: String,
    speaker_label: String,
}

fn seconds(value: &str, what: &str) -> Result<f64, EngineError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| EngineError::InvalidOutput(format!("{what} {value:?} is not a time")))
}

/// Converts Transcribe's output JSON into our transcript.
pub fn convert(
    raw: &[u8],
    recording: &RecordingId,
    language: &str,
) -> Result<Transcript, EngineError> {
    let output: Output = serde_json::from_slice(raw)
        .map_err(|e| EngineError::InvalidOutput(format!("transcribe-output.json: {e}")))?;
    let segments_in = output
        .results
        .speaker_labels
        .map(|l| l.segments)
        .unwrap_or_default();
    let mut by_start: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut spans: Vec<(f64, f64, &str)> = Vec::new();
    for seg in &segments_in {
        for item in &seg.items {
            by_start.insert(item.start_time.as_str(), item.speaker_label.as_str());
        }
        spans.push((
            seconds(&seg.start_time, "speaker segment start")?,
            seconds(&seg.end_time, "speaker segment end")?,
            seg.speaker_label.as_str(),
        ));
    }

    let mut words: Vec<(String, Word)> = Vec::new();
    for item in &output.results.items {
        let Some(best) = item.alternatives.first() else {
            continue;
        };
        match item.kind.as_str() {
            "pronunciation" => {
                let (Some(start), Some(end)) = (&item.start_time, &item.end_time) else {
                    return Err(EngineError::InvalidOutput(
                        "a pronunciation item has no times".to_owned(),
                    ));
                };
                let (start_s, end_s) = (seconds(start, "item start")?, seconds(end, "item end")?);
                let speaker = item
                    .speaker_label
                    .as_deref()
                    .or_else(|| by_start.get(start.as_str()).copied())
                    .or_else(|| {
                        let mid = (start_s + end_s) / 2.0;
                        spans
                            .iter()
                            .find(|(a, b, _)| mid >= *a && mid <= *b)
                            .map(|(_, _, s)| *s)
                    })
                    .unwrap_or("spk_0")
                    .to_owned();
                let confidence = best
                    .confidence
                    .as_deref()
                    .and_then(|c| c.parse::<f64>().ok())
                    .unwrap_or(0.0)
                    .clamp(0.0, 1.0);
                words.push((
                    speaker,
                    Word {
                        start: start_s,
                        end: end_s.max(start_s),
                        text: best.content.clone(),
                        confidence,
                    },
                ));
            }
            "punctuation" => {
                if let Some((_, last)) = words.last_mut() {
                    last.text.push_str(&best.content);
                }
            }
            _ => {}
        }
    }

    // Transcribe's labels in order of first appearance, then the post-processing the offline
    // engine applies too (one speaker per sentence, turns broken at long pauses).
    let mut labels: Vec<String> = Vec::new();
    let mut clusters: Vec<usize> = Vec::with_capacity(words.len());
    let mut plain: Vec<Word> = Vec::with_capacity(words.len());
    for (label, word) in words {
        let index = labels.iter().position(|l| *l == label).unwrap_or_else(|| {
            labels.push(label);
            labels.len() - 1
        });
        clusters.push(index);
        plain.push(word);
    }
    one_speaker_per_sentence(&mut clusters, &plain);
    let (speakers_of_words, order) = in_order_of_appearance(&clusters);
    let segments = group_turns(plain, &speakers_of_words, |i| labels[order[i]].clone());
    let speakers: Vec<Speaker> = order
        .iter()
        .enumerate()
        .map(|(n, label)| Speaker {
            id: labels[*label].clone(),
            label: format!("Speaker {}", n + 1),
        })
        .collect();
    let duration_seconds = segments
        .iter()
        .map(|s| s.end)
        .chain(spans.iter().map(|(_, end, _)| *end))
        .fold(0.0, f64::max);
    Ok(Transcript {
        recording_id: recording.clone(),
        language: language.to_owned(),
        duration_seconds,
        engine: EngineInfo {
            name: TRANSCRIBE_ENGINE.to_owned(),
            model: None,
        },
        speakers_approximate: false,
        speakers,
        segments,
    })
}
