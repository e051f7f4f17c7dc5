//! One meeting's notes scored against its ground truth, and the scores of a whole run added up
//! (micro-averaged: every word, second and item of the set weighs the same).

use serde::Serialize;

use crate::meeting::Meeting;
use crate::metrics::Counts;
use crate::metrics::der::{SpeakerErrors, Turn, speaker_errors};
use crate::metrics::items::{
    FieldAccuracy, ItemScore, MatchRules, PredictedActionItem, PredictedDecision,
    score_action_items, score_decisions,
};
use crate::metrics::wer::{WordErrors, word_errors};
use crate::pipeline::{HeardLine, NameReading, Notes};

/// The scores of one meeting.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingScore {
    /// The meeting id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Speakers.
    pub voices: usize,
    /// Audio length, seconds.
    pub audio_seconds: f64,
    /// Wall time of the pipeline, seconds.
    pub wall_seconds: f64,
    /// Why the pipeline made no notes (scored as empty notes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Word errors.
    pub words: WordErrors,
    /// Speaker errors.
    pub speakers: SpeakerErrors,
    /// Distinct speaker labels in the transcript.
    pub speaker_labels: usize,
    /// Decisions.
    pub decisions: ItemScore,
    /// Action items.
    pub action_items: ItemScore,
    /// Action items paired on the task alone: which fields are right.
    pub action_item_fields: FieldAccuracy,
    /// What the pipeline said, for reading the misses.
    pub predicted_action_items: Vec<PredictedActionItem>,
    /// What the pipeline said, for reading the misses.
    pub predicted_decisions: Vec<PredictedDecision>,
    /// The recognised segments (for `--misses`; not in the JSON report).
    #[serde(skip)]
    pub heard: Vec<HeardLine>,
    /// The names the summarizer read (label → name, and every name used), when known.
    #[serde(skip)]
    pub names: Option<NameReading>,
}

/// Scores `notes` (or their absence, `error`) for `meeting`, whose rendered turns are `turns`.
pub fn score_meeting(
    meeting: &Meeting,
    turns: &[Turn],
    audio_seconds: f64,
    notes: &Notes,
    error: Option<String>,
    rules: MatchRules,
) -> MeetingScore {
    let words = word_errors(&meeting.reference_text(), &notes.transcript_text);
    let speakers = speaker_errors(turns, &notes.segments);
    let mut labels: Vec<&str> = notes.segments.iter().map(|s| s.speaker.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    let decisions = score_decisions(
        &notes.decisions,
        &meeting.truth.decisions,
        &meeting.truth.tentative,
        rules,
    );
    let (action_items, action_item_fields) = score_action_items(
        &notes.action_items,
        &meeting.truth.action_items,
        &meeting.truth.tentative,
        rules,
    );
    MeetingScore {
        id: meeting.id.clone(),
        title: meeting.title.clone(),
        voices: meeting.voices.len(),
        audio_seconds,
        wall_seconds: notes.wall_seconds,
        error,
        words,
        speakers,
        speaker_labels: labels.len(),
        decisions,
        action_items,
        action_item_fields,
        predicted_action_items: notes.action_items.clone(),
        predicted_decisions: notes.decisions.clone(),
        heard: notes.lines.clone(),
        names: notes.names.clone(),
    }
}

/// The scores of a run, added up.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Meetings scored.
    pub meetings: usize,
    /// Meetings the pipeline made no notes for.
    pub failed: usize,
    /// Audio, seconds.
    pub audio_seconds: f64,
    /// Wall time of the pipeline, seconds.
    pub wall_seconds: f64,
    /// Word errors.
    pub words: WordErrors,
    /// Speaker errors.
    pub speakers: SpeakerErrors,
    /// Decisions.
    pub decisions: Counts,
    /// Unmatched decisions resembling a real one.
    pub garbled_decisions: usize,
    /// Invented decisions.
    pub invented_decisions: usize,
    /// Decisions that were tentative statements.
    pub tentative_as_decisions: usize,
    /// Action items.
    pub action_items: Counts,
    /// Unmatched action items resembling a real one.
    pub garbled_action_items: usize,
    /// Invented action items.
    pub invented_action_items: usize,
    /// Action items that were tentative statements.
    pub tentative_as_action_items: usize,
    /// Field accuracy of action items paired on the task.
    pub action_item_fields: FieldAccuracy,
    /// Whether `dueDate` was judged (the run's summaries carry it).
    pub due_dates_judged: bool,
}

/// Adds up the scores of a run.
pub fn totals(scores: &[MeetingScore], due_dates_judged: bool) -> Totals {
    let mut t = Totals {
        due_dates_judged,
        ..Totals::default()
    };
    for s in scores {
        t.meetings += 1;
        t.failed += usize::from(s.error.is_some());
        t.audio_seconds += s.audio_seconds;
        t.wall_seconds += s.wall_seconds;
        t.words.add(s.words);
        t.speakers.add(s.speakers);
        t.decisions.add(s.decisions.counts);
        t.garbled_decisions += s.decisions.garbled;
        t.invented_decisions += s.decisions.invented;
        t.tentative_as_decisions += s.decisions.from_tentative;
        t.action_items.add(s.action_items.counts);
        t.garbled_action_items += s.action_items.garbled;
        t.invented_action_items += s.action_items.invented;
        t.tentative_as_action_items += s.action_items.from_tentative;
        t.action_item_fields.add(s.action_item_fields);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::{Line, Truth, TruthActionItem, TruthDecision, TruthStatement, Voice};

    fn meeting() -> Meeting {
        let voice = |name: &str, pitch| Voice {
            name: name.to_owned(),
            voice: "en-us".to_owned(),
            pitch,
            speed: 160,
        };
        let line = |speaker: &str, text: &str| Line {
            speaker: speaker.to_owned(),
            text: text.to_owned(),
            overlap: 0.0,
        };
        Meeting {
            id: "tiny".to_owned(),
            title: "tiny".to_owned(),
            date: "2026-03-10".parse().expect("date"),
            voices: vec![voice("Alice", 30), voice("Bob", 70)],
            noise: None,
            lines: vec![
                line("Bob", "Alice, can you send the budget by Friday?"),
                line(
                    "Alice",
                    "Sure. We decided to ship on Monday. Maybe we could hire an intern.",
                ),
            ],
            truth: Truth {
                decisions: vec![TruthDecision {
                    text: "ship on Monday".to_owned(),
                    speaker: "Alice".to_owned(),
                }],
                action_items: vec![TruthActionItem {
                    owner: "Alice".to_owned(),
                    task: "send the budget".to_owned(),
                    due: Some("by Friday".to_owned()),
                    due_date: "2026-03-13".parse().ok(),
                    speaker: "Bob".to_owned(),
                }],
                tentative: vec![TruthStatement {
                    text: "hire an intern".to_owned(),
                    speaker: "Alice".to_owned(),
                }],
            },
        }
    }

    #[test]
    fn given_notes_equal_to_the_truth_then_every_score_is_perfect() {
        let meeting = meeting();
        meeting.check().expect("a consistent meeting");
        let turns = [Turn::new("Bob", 0.5, 3.0), Turn::new("Alice", 3.5, 8.0)];
        let notes = Notes {
            transcript_text: meeting.reference_text(),
            segments: vec![Turn::new("spk_0", 0.5, 3.0), Turn::new("spk_1", 3.5, 8.0)],
            lines: Vec::new(),
            names: None,
            summary: String::new(),
            action_items: vec![PredictedActionItem {
                task: "Send the budget".to_owned(),
                owner: Some("Alice".to_owned()),
                due: Some("Friday".to_owned()),
                due_date: "2026-03-13".parse().ok(),
                source_time: 0.5,
            }],
            decisions: vec![PredictedDecision {
                decision: "We decided to ship on Monday.".to_owned(),
                source_time: 3.5,
            }],
            has_due_dates: true,
            wall_seconds: 1.0,
        };
        let rules = MatchRules {
            judge_due_date: true,
            ..MatchRules::default()
        };
        let score = score_meeting(&meeting, &turns, 8.8, &notes, None, rules);
        assert_eq!(score.words.rate(), 0.0);
        assert_eq!(score.speakers.der(), 0.0);
        assert_eq!(score.decisions.counts.f1(), 1.0);
        assert_eq!(score.action_items.counts.f1(), 1.0);
        assert_eq!(score.action_items.invented + score.decisions.invented, 0);
    }

    #[test]
    fn given_no_notes_then_everything_is_missed_and_nothing_invented() {
        let meeting = meeting();
        let turns = [Turn::new("Bob", 0.5, 3.0), Turn::new("Alice", 3.5, 8.0)];
        let score = score_meeting(
            &meeting,
            &turns,
            8.8,
            &Notes::default(),
            Some("failed".to_owned()),
            MatchRules::default(),
        );
        assert_eq!(score.words.rate(), 1.0);
        assert_eq!(score.speakers.der(), 1.0);
        assert_eq!(score.action_items.counts.recall(), 0.0);
        let totals = totals(&[score], false);
        assert_eq!((totals.meetings, totals.failed), (1, 1));
        assert_eq!(totals.action_items.f1(), 0.0);
    }
}
