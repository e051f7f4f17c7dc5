//! The summary of a recording in which nobody spoke. Silence is a normal outcome, not a failure:
//! the recording completes with an empty transcript and this summary, schema-valid, with no
//! action items and no decisions. Every summarizer and the activity return it for a transcript
//! without words, so no model is ever asked to summarize nothing.

use meeting_domain::contracts::{EngineInfo, MeetingSummary, SummaryKind, Transcript};

/// The summary text (and the Summary section of `summary.md`) of a recording without speech.
pub const NO_SPEECH_SUMMARY: &str = "No speech was found in this recording.";

/// The summary of `transcript`, which has no words, as recorded by `engine`.
pub fn summary(transcript: &Transcript, engine: EngineInfo) -> MeetingSummary {
    MeetingSummary {
        summary: NO_SPEECH_SUMMARY.to_owned(),
        action_items: Vec::new(),
        decisions: Vec::new(),
        speakers: Vec::new(),
        language: transcript.language.clone(),
        // Nothing was written by a model.
        kind: SummaryKind::Extracted,
        engine,
        recorded_at: None,
    }
}
