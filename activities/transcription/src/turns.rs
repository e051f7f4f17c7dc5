//! Words with speakers into turns: the post-processing both engines share (Whisper with the
//! offline speaker labels, Amazon Transcribe with its own), so a transcript reads the same
//! whichever made it: a sentence never changes speaker, and a speaker's words form one turn
//! until another speaker talks or a pause of [`TURN_BREAK_SECONDS`].

use meeting_domain::contracts::{Segment, Word};

/// A pause this long ends a turn even when the same speaker goes on.
pub const TURN_BREAK_SECONDS: f64 = 2.0;
/// A pause this long between two words ends a sentence even without punctuation (for the rule
/// that a sentence has one speaker).
pub const SENTENCE_PAUSE_SECONDS: f64 = 0.8;
/// Longest run of words inside a sentence that is taken for a labelling slip and given to the
/// speaker of the words around it.
pub const MAX_STRAY_WORDS: usize = 3;

/// Renumbers speaker indices in order of first appearance: the new index of each word's
/// speaker, and for each new index the old one.
pub fn in_order_of_appearance(speakers: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = Vec::new();
    let renumbered = speakers
        .iter()
        .map(|s| {
            order.iter().position(|o| o == s).unwrap_or_else(|| {
                order.push(*s);
                order.len() - 1
            })
        })
        .collect();
    (renumbered, order)
}

/// Turns of consecutive words of one speaker (`speakers[i]` is word `i`'s; `id` names a
/// speaker in the segment), broken at pauses of [`TURN_BREAK_SECONDS`].
pub fn group_turns(
    words: Vec<Word>,
    speakers: &[usize],
    id: impl Fn(usize) -> String,
) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut current: Option<usize> = None;
    for (word, speaker) in words.into_iter().zip(speakers.iter().copied()) {
        match segments.last_mut() {
            Some(segment)
                if current == Some(speaker) && word.start - segment.end < TURN_BREAK_SECONDS =>
            {
                segment.end = segment.end.max(word.end);
                segment.text.push(' ');
                segment.text.push_str(&word.text);
                segment.words.push(word);
            }
            _ => {
                current = Some(speaker);
                segments.push(Segment {
                    speaker: id(speaker),
                    start: word.start,
                    end: word.end,
                    text: word.text.clone(),
                    words: vec![word],
                });
            }
        }
    }
    segments
}

/// Word times are loose at turn boundaries (Whisper's more than Transcribe's) and speaker
/// labels come from audio windows, not words, so the first or last words of a sentence can land in the other speaker's speech
/// ("…for the back end" / "role. I will send…"), or a few words in the middle flip to another
/// label. A sentence does not change speaker: inside a sentence (it ends at `.`, `?` or `!`, or
/// at a pause of [`SENTENCE_PAUSE_SECONDS`]), a run of at most [`MAX_STRAY_WORDS`] words with
/// another label joins the longer neighbouring run (shortest runs first). What remains are runs
/// of several words each: two people's turns Whisper did not punctuate apart, which stay apart
/// (the sentence really ended where the voice changed).
pub fn one_speaker_per_sentence(clusters: &mut [usize], words: &[Word]) {
    let n = clusters.len().min(words.len());
    let mut start = 0;
    while start < n {
        let mut end = start;
        while end + 1 < n
            && !words[end].text.trim_end().ends_with(['.', '?', '!'])
            && words[end + 1].start - words[end].end < SENTENCE_PAUSE_SECONDS
        {
            end += 1;
        }
        absorb_stray_runs(&mut clusters[start..=end], &words[start..=end]);
        start = end + 1;
    }
}

/// The runs of one sentence: `(cluster, first word, words)`.
fn runs_of(clusters: &[usize]) -> Vec<(usize, usize, usize)> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (i, &c) in clusters.iter().enumerate() {
        match runs.last_mut() {
            Some((cluster, _, len)) if *cluster == c => *len += 1,
            _ => runs.push((c, i, 1)),
        }
    }
    runs
}

fn absorb_stray_runs(clusters: &mut [usize], words: &[Word]) {
    let seconds = |first: usize, len: usize| -> f64 {
        words[first..first + len]
            .iter()
            .map(|w| (w.end - w.start).max(0.01))
            .sum()
    };
    loop {
        let runs = runs_of(clusters);
        if runs.len() < 2 {
            return;
        }
        // The shortest stray run (earliest on a tie).
        let Some((index, &(_, first, len))) = runs
            .iter()
            .enumerate()
            .filter(|(_, run)| run.2 <= MAX_STRAY_WORDS)
            .min_by_key(|(i, run)| (run.2, *i))
        else {
            return;
        };
        let before = index.checked_sub(1).map(|i| runs[i]);
        let after = runs.get(index + 1).copied();
        let target = match (before, after) {
            (Some(b), Some(a)) => {
                if seconds(a.1, a.2) > seconds(b.1, b.2) {
                    a.0
                } else {
                    b.0
                }
            }
            (Some(b), None) => b.0,
            (None, Some(a)) => a.0,
            (None, None) => return,
        };
        clusters[first..first + len].fill(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words one after another, 0.3 s each with 0.1 s gaps; `|` in a text marks a 1 s pause
    /// before the word (a `||` a 3 s pause).
    fn timed(texts: &[&str]) -> Vec<Word> {
        let mut t = 0.0;
        let mut words = Vec::new();
        for text in texts {
            let mut text: &str = text;
            while let Some(rest) = text.strip_prefix('|') {
                t += if rest.starts_with('|') { 2.0 } else { 1.0 };
                text = rest;
            }
            words.push(Word {
                start: t,
                end: t + 0.3,
                text: text.to_owned(),
                confidence: 0.9,
            });
            t += 0.4;
        }
        words
    }

    #[test]
    fn a_sentence_tail_stamped_in_the_next_turn_goes_back_to_its_speaker() {
        let words = timed(&[
            "for",
            "the",
            "back",
            "end",
            "role.",
            "I",
            "will",
            "send",
            "it",
            "tomorrow.",
        ]);
        let mut clusters = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        one_speaker_per_sentence(&mut clusters, &words);
        assert_eq!(clusters, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn a_sentence_head_stamped_in_the_previous_turn_goes_to_its_speaker() {
        let words = timed(&[
            "the", "budget", "by", "Friday.", "We", "decided", "to", "ship.",
        ]);
        let mut clusters = [0, 0, 0, 0, 0, 1, 1, 1];
        one_speaker_per_sentence(&mut clusters, &words);
        assert_eq!(clusters, [0, 0, 0, 0, 1, 1, 1, 1]);
    }

    #[test]
    fn stray_words_join_their_sentence_and_pauses_or_long_runs_keep_speakers_apart() {
        // Split in the middle: the speaker of most of the sentence takes all of it.
        let words = timed(&["and", "then", "we", "start", "right", "away."]);
        let mut clusters = [0, 0, 1, 1, 1, 1];
        one_speaker_per_sentence(&mut clusters, &words);
        assert_eq!(clusters, [1, 1, 1, 1, 1, 1]);
        // A finished sentence and a reply: nothing moves.
        let words = timed(&["We", "ship", "Monday.", "Sounds", "good.", "Thanks"]);
        let mut clusters = [0, 0, 0, 1, 1, 1];
        one_speaker_per_sentence(&mut clusters, &words);
        assert_eq!(clusters, [0, 0, 0, 1, 1, 1]);
        // No punctuation and no pause, but two long runs: two people, left apart.
        let words = timed(&[
            "so", "we", "ship", "it", "on", "monday", "that", "works", "for", "the", "whole",
            "team",
        ]);
        let mut clusters = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        one_speaker_per_sentence(&mut clusters, &words);
        assert_eq!(clusters, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
        // A one-word flip in the middle of a sentence is a slip.
        let words = timed(&["we", "will", "ship", "the", "release", "on", "Monday."]);
        let mut clusters = [0, 0, 0, 1, 0, 0, 0];
        one_speaker_per_sentence(&mut clusters, &words);
        assert_eq!(clusters, [0; 7]);
        // No punctuation, but a pause between two people's words: they stay apart.
        let words = timed(&["ok", "so", "we", "ship", "|sounds", "good"]);
        let mut clusters = [0, 0, 0, 0, 1, 1];
        one_speaker_per_sentence(&mut clusters, &words);
        assert_eq!(clusters, [0, 0, 0, 0, 1, 1]);
    }

    #[test]
    fn turns_change_with_the_speaker_and_after_a_long_pause() {
        let words = timed(&["We", "ship.", "Good.", "||Next", "topic."]);
        let segments = group_turns(words, &[0, 0, 1, 1, 1], |i| format!("spk_{i}"));
        let got: Vec<(&str, &str)> = segments
            .iter()
            .map(|s| (s.speaker.as_str(), s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("spk_0", "We ship."),
                ("spk_1", "Good."),
                ("spk_1", "Next topic.")
            ]
        );
        assert_eq!(segments[0].words.len(), 2);
        assert!((segments[0].end - 0.7).abs() < 1e-9);
    }

    #[test]
    fn speakers_are_renumbered_in_order_of_appearance() {
        assert_eq!(
            in_order_of_appearance(&[2, 2, 0, 2, 1]),
            (vec![0, 0, 1, 0, 2], vec![2, 0, 1])
        );
    }
}
