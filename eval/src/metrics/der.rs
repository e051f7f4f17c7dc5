//! Speaker error: the diarization error rate (DER) of the transcript's speaker-labelled segments
//! against the rendered speaker turns, and two easier-to-read companions: turn purity (how much
//! of each recognised segment belongs to one real speaker) and turn coverage (how much of each
//! real turn carries one recognised label: a label changing mid-sentence lowers it).
//!
//! Time is scored in frames of [`FRAME_SECONDS`]. Frames within [`COLLAR_SECONDS`] of a
//! reference turn's start or end are not scored (the usual forgiveness for boundaries nobody
//! can place exactly). Hypothesis labels map one-to-one onto reference speakers, choosing the
//! mapping with the most agreeing time by trying them all (the evaluation set has at most six
//! speakers, so this is cheap). Per scored frame with `R` reference and `H` hypothesis speakers
//! active and `C` of them agreeing under the mapping: missed speech `max(0, R − H)`, false alarm
//! `max(0, H − R)`, confusion `min(R, H) − C`; DER is their sum over the reference speech time
//! (ΣR), as NIST's md-eval computes it.

use std::collections::BTreeMap;

use serde::Serialize;

/// Scoring resolution, seconds.
pub const FRAME_SECONDS: f64 = 0.01;

/// Unscored time either side of each reference turn boundary, seconds (the NIST RT convention).
pub const COLLAR_SECONDS: f64 = 0.25;

/// A stretch of time attributed to one speaker.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Turn {
    /// Speaker name or label.
    pub speaker: String,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
}

impl Turn {
    /// A turn (test and fixture helper).
    pub fn new(speaker: &str, start: f64, end: f64) -> Self {
        Self {
            speaker: speaker.to_owned(),
            start,
            end,
        }
    }
}

/// Speaker error of one meeting (or the sum of several: the times add up).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeakerErrors {
    /// Scored reference speech, seconds (ΣR).
    pub scored_speech: f64,
    /// Reference speech with no hypothesis speaker, seconds.
    pub missed: f64,
    /// Hypothesis speech where nobody (or fewer people) spoke, seconds.
    pub false_alarm: f64,
    /// Speech attributed to the wrong speaker, seconds.
    pub confusion: f64,
    /// Σ over hypothesis segments of their frames' dominant reference speaker time.
    pub purity_numerator: f64,
    /// Σ over hypothesis segments of their frames with reference speech.
    pub purity_denominator: f64,
    /// Σ over reference turns of their frames' dominant hypothesis label time.
    pub coverage_numerator: f64,
    /// Σ over reference turns of their frames with hypothesis speech.
    pub coverage_denominator: f64,
}

impl SpeakerErrors {
    /// Adds another meeting.
    pub fn add(&mut self, other: Self) {
        self.scored_speech += other.scored_speech;
        self.missed += other.missed;
        self.false_alarm += other.false_alarm;
        self.confusion += other.confusion;
        self.purity_numerator += other.purity_numerator;
        self.purity_denominator += other.purity_denominator;
        self.coverage_numerator += other.coverage_numerator;
        self.coverage_denominator += other.coverage_denominator;
    }

    /// (missed + false alarm + confusion) / scored speech.
    pub fn der(&self) -> f64 {
        if self.scored_speech == 0.0 {
            0.0
        } else {
            (self.missed + self.false_alarm + self.confusion) / self.scored_speech
        }
    }

    /// Share of recognised segments' speech that belongs to their segment's main speaker.
    pub fn purity(&self) -> f64 {
        if self.purity_denominator == 0.0 {
            1.0
        } else {
            self.purity_numerator / self.purity_denominator
        }
    }

    /// Share of real turns' recognised speech that carries the turn's main label.
    pub fn coverage(&self) -> f64 {
        if self.coverage_denominator == 0.0 {
            1.0
        } else {
            self.coverage_numerator / self.coverage_denominator
        }
    }
}

fn frame_of(seconds: f64) -> usize {
    (seconds.max(0.0) / FRAME_SECONDS).round() as usize
}

/// Per speaker, which frames they are active in.
fn activity(turns: &[Turn], frames: usize) -> BTreeMap<String, Vec<bool>> {
    let mut out: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for turn in turns {
        let active = out
            .entry(turn.speaker.clone())
            .or_insert_with(|| vec![false; frames]);
        let from = frame_of(turn.start).min(frames);
        let to = frame_of(turn.end).min(frames).max(from);
        for flag in &mut active[from..to] {
            *flag = true;
        }
    }
    out
}

/// The one-to-one mapping of reference speakers (rows) to hypothesis labels (columns) with the
/// largest total agreement, by exhaustive search; `None` leaves a reference speaker unmapped.
pub fn best_mapping(agreement: &[Vec<usize>]) -> Vec<Option<usize>> {
    fn search(
        row: usize,
        agreement: &[Vec<usize>],
        used: &mut Vec<bool>,
        current: &mut Vec<Option<usize>>,
        best: &mut (usize, Vec<Option<usize>>),
        total: usize,
    ) {
        if row == agreement.len() {
            if total > best.0 || best.1.is_empty() {
                *best = (total, current.clone());
            }
            return;
        }
        current.push(None);
        search(row + 1, agreement, used, current, best, total);
        current.pop();
        for column in 0..used.len() {
            if !used[column] {
                used[column] = true;
                current.push(Some(column));
                search(
                    row + 1,
                    agreement,
                    used,
                    current,
                    best,
                    total + agreement[row][column],
                );
                current.pop();
                used[column] = false;
            }
        }
    }
    let columns = agreement.first().map_or(0, Vec::len);
    let mut best = (0, Vec::new());
    search(
        0,
        agreement,
        &mut vec![false; columns],
        &mut Vec::new(),
        &mut best,
        0,
    );
    if best.1.is_empty() {
        vec![None; agreement.len()]
    } else {
        best.1
    }
}

/// The speaker error of `hypothesis` against `reference`.
pub fn speaker_errors(reference: &[Turn], hypothesis: &[Turn]) -> SpeakerErrors {
    let end = reference
        .iter()
        .chain(hypothesis)
        .map(|t| t.end)
        .fold(0.0_f64, f64::max);
    let frames = frame_of(end) + 1;
    let mut scored = vec![true; frames];
    let collar = frame_of(COLLAR_SECONDS);
    for turn in reference {
        for boundary in [frame_of(turn.start), frame_of(turn.end)] {
            let from = boundary.saturating_sub(collar);
            let to = (boundary + collar).min(frames);
            for flag in &mut scored[from.min(to)..to] {
                *flag = false;
            }
        }
    }
    let reference_activity = activity(reference, frames);
    let hypothesis_activity = activity(hypothesis, frames);
    let reference_speakers: Vec<&Vec<bool>> = reference_activity.values().collect();
    let hypothesis_labels: Vec<&Vec<bool>> = hypothesis_activity.values().collect();
    let agreement: Vec<Vec<usize>> = reference_speakers
        .iter()
        .map(|r| {
            hypothesis_labels
                .iter()
                .map(|h| (0..frames).filter(|&f| scored[f] && r[f] && h[f]).count())
                .collect()
        })
        .collect();
    let mapping = best_mapping(&agreement);

    let mut errors = SpeakerErrors::default();
    for frame in (0..frames).filter(|&f| scored[f]) {
        let r = reference_speakers.iter().filter(|a| a[frame]).count();
        let h = hypothesis_labels.iter().filter(|a| a[frame]).count();
        let correct = mapping
            .iter()
            .enumerate()
            .filter(|(row, column)| {
                reference_speakers[*row][frame]
                    && column.is_some_and(|c| hypothesis_labels[c][frame])
            })
            .count();
        errors.scored_speech += r as f64;
        errors.missed += r.saturating_sub(h) as f64;
        errors.false_alarm += h.saturating_sub(r) as f64;
        errors.confusion += (r.min(h) - correct) as f64;
    }

    // Purity: each hypothesis segment against the reference speakers; coverage: each
    // reference turn against the hypothesis labels. Unscored by the collar: all frames count.
    let dominant = |turn: &Turn, others: &[&Vec<bool>]| -> (f64, f64) {
        let span = frame_of(turn.start).min(frames)..frame_of(turn.end).min(frames);
        let with_any = span
            .clone()
            .filter(|&f| others.iter().any(|a| a[f]))
            .count();
        let best = others
            .iter()
            .map(|a| span.clone().filter(|&f| a[f]).count())
            .max()
            .unwrap_or(0);
        (best as f64, with_any as f64)
    };
    for segment in hypothesis {
        let (best, any) = dominant(segment, &reference_speakers);
        errors.purity_numerator += best;
        errors.purity_denominator += any;
    }
    for turn in reference {
        let (best, any) = dominant(turn, &hypothesis_labels);
        errors.coverage_numerator += best;
        errors.coverage_denominator += any;
    }

    for value in [
        &mut errors.scored_speech,
        &mut errors.missed,
        &mut errors.false_alarm,
        &mut errors.confusion,
        &mut errors.purity_numerator,
        &mut errors.purity_denominator,
        &mut errors.coverage_numerator,
        &mut errors.coverage_denominator,
    ] {
        *value *= FRAME_SECONDS;
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn given_the_same_turns_under_other_labels_then_der_is_zero() {
        let reference = [Turn::new("Alice", 0.0, 5.0), Turn::new("Bob", 5.5, 10.0)];
        let hypothesis = [Turn::new("spk_1", 0.0, 5.0), Turn::new("spk_0", 5.5, 10.0)];
        let errors = speaker_errors(&reference, &hypothesis);
        assert!(close(errors.der(), 0.0), "{errors:?}");
        assert!(close(errors.purity(), 1.0) && close(errors.coverage(), 1.0));
    }

    #[test]
    fn given_a_label_that_changes_mid_turn_then_the_wrong_part_is_confusion() {
        // Alice speaks 0–10 s; the hypothesis gives 0–6 to A and 6–10 to B, and B is also
        // Bob's label for 10–20. Scored Alice: 0.25–9.75 (collars at 0 and 10), 9.5 s; Bob:
        // 10.25–19.75, 9.5 s. Mapping Alice→A, Bob→B. Confused: Alice's 6.0–9.75 = 3.75 s.
        let reference = [Turn::new("Alice", 0.0, 10.0), Turn::new("Bob", 10.0, 20.0)];
        let hypothesis = [
            Turn::new("A", 0.0, 6.0),
            Turn::new("B", 6.0, 10.0),
            Turn::new("B", 10.0, 20.0),
        ];
        let errors = speaker_errors(&reference, &hypothesis);
        assert!(close(errors.scored_speech, 19.0), "{errors:?}");
        assert!(close(errors.confusion, 3.75), "{errors:?}");
        assert!(close(errors.missed + errors.false_alarm, 0.0), "{errors:?}");
        assert!(close(errors.der(), 3.75 / 19.0));
        // Coverage: Alice's turn is 6 s A + 4 s B → 6 of 10; Bob's 10 of 10 → 16/20.
        assert!(close(errors.coverage(), 0.8), "{}", errors.coverage());
    }

    #[test]
    fn given_missing_and_extra_speech_then_they_are_missed_and_false_alarm() {
        // Reference: Alice 0–4. Hypothesis: X 0–2 and X 6–8. Collar removes 0–0.25 and
        // 3.75–4.25. Scored Alice 0.25–3.75 = 3.5 s; X covers 0.25–2 (1.75 s correct), misses
        // 2–3.75 (1.75 s); X at 6–8 is a 2 s false alarm.
        let reference = [Turn::new("Alice", 0.0, 4.0)];
        let hypothesis = [Turn::new("X", 0.0, 2.0), Turn::new("X", 6.0, 8.0)];
        let errors = speaker_errors(&reference, &hypothesis);
        assert!(close(errors.missed, 1.75), "{errors:?}");
        assert!(close(errors.false_alarm, 2.0), "{errors:?}");
        assert!(close(errors.confusion, 0.0), "{errors:?}");
        assert!(close(errors.der(), 3.75 / 3.5));
    }

    #[test]
    fn given_overlapping_speakers_and_one_label_then_the_second_speaker_is_missed() {
        // Alice 0–10, Bob 5–10 (overlap); the hypothesis hears only Alice. The collars cut
        // 0–0.25, 4.75–5.25 and 9.75–10.25 for everyone. Scored: Alice 0.25–4.75 and
        // 5.25–9.75 (9 s), Bob 5.25–9.75 (4.5 s); Bob's 4.5 s are missed.
        let reference = [Turn::new("Alice", 0.0, 10.0), Turn::new("Bob", 5.0, 10.0)];
        let hypothesis = [Turn::new("A", 0.0, 10.0)];
        let errors = speaker_errors(&reference, &hypothesis);
        assert!(close(errors.scored_speech, 13.5), "{errors:?}");
        assert!(close(errors.missed, 4.5), "{errors:?}");
        assert!(close(errors.confusion, 0.0), "{errors:?}");
    }

    #[test]
    fn given_an_agreement_matrix_then_the_best_one_to_one_mapping_is_chosen() {
        // Greedy would give row 0 column 0 (5) and row 1 column 1 (1) = 6; best is 4 + 4 = 8.
        let agreement = vec![vec![5, 4], vec![4, 1]];
        assert_eq!(best_mapping(&agreement), [Some(1), Some(0)]);
        // More rows than columns: one row stays unmapped.
        let agreement = vec![vec![3], vec![7]];
        assert_eq!(best_mapping(&agreement), [None, Some(0)]);
    }
}
