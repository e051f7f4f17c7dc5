//! Helpers shared by the summary crate's tests: transcripts built from lines, the committed
//! Whisper-style fixture, and the schema check every stored summary must pass.

#![allow(dead_code)]

use meeting_domain::RecordingId;
use meeting_domain::contracts::{EngineInfo, MeetingSummary, Segment, Speaker, Transcript};

/// The recording id used by the fixtures.
pub const RECORDING: &str = "rec-planning-1";

/// A two-voice scripted planning meeting as Whisper would produce it: a sentence split over two
/// segments, two sentences in one segment, a `[BLANK_AUDIO]` marker, a run-on segment without
/// punctuation or capitals, word timings on some segments only.
pub fn whisper_meeting() -> Transcript {
    serde_json::from_str(include_str!("../fixtures/whisper_meeting.json"))
        .expect("the committed fixture matches the transcript contract")
}

/// A transcript from `(speaker id, start, end, text)` lines; speakers `spk_0`, `spk_1`, … are
/// labelled `Speaker 1`, `Speaker 2`, ….
pub fn transcript_of(lines: &[(&str, f64, f64, &str)]) -> Transcript {
    let mut speakers: Vec<Speaker> = Vec::new();
    for (id, ..) in lines {
        if !speakers.iter().any(|s| s.id == *id) {
            let number = id.trim_start_matches("spk_").parse::<u32>().unwrap_or(0) + 1;
            speakers.push(Speaker {
                id: (*id).to_owned(),
                label: format!("Speaker {number}"),
            });
        }
    }
    Transcript {
        recording_id: RecordingId::new(RECORDING).expect("valid id"),
        language: "en-US".to_owned(),
        duration_seconds: lines.iter().map(|l| l.2).fold(0.0, f64::max) + 0.5,
        engine: EngineInfo {
            name: "whisper.cpp".to_owned(),
            model: Some("tiny.en".to_owned()),
        },
        speakers_approximate: true,
        speakers,
        segments: lines
            .iter()
            .map(|(speaker, start, end, text)| Segment {
                speaker: (*speaker).to_owned(),
                start: *start,
                end: *end,
                text: (*text).to_owned(),
                words: Vec::new(),
            })
            .collect(),
    }
}

/// Asserts that a summary matches the `summary.json` schema.
pub fn assert_schema_valid(summary: &MeetingSummary) {
    if let Err(errors) = summary::schema::check_meeting_summary(summary) {
        panic!("summary does not match the schema: {errors:?}");
    }
}

/// Lower case, for comparisons.
pub fn lower(text: &str) -> String {
    text.to_lowercase()
}
