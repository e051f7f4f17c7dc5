//! The transcript as timed sentences and timed lines: what the engines read.
//!
//! Whisper output may lack punctuation, split a sentence over two segments or put two sentences
//! in one, and put the first word of a turn into the previous speaker's segment. Segments are
//! therefore read as one stream of tokens that carry times (from word timings when present, else
//! interpolated inside the segment); sentences end at sentence punctuation, at a pause, or after a
//! bounded run of words, and belong to the speaker who said most of their words.

use std::collections::HashMap;

use meeting_domain::contracts::{Segment, Transcript};

/// A pause between two segments long enough to end a sentence, seconds.
const SENTENCE_PAUSE_SECONDS: f64 = 1.5;
/// Longest trailing fragment carried over a change of speaker (see [`sentences`]).
const MAX_CARRIED_WORDS: usize = 2;
/// A sentence without punctuation is cut after this many words (run-on Whisper output).
pub const MAX_SENTENCE_WORDS: usize = 45;

/// One word of the transcript with its time.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// The word as written (punctuation attached).
    pub text: String,
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
}

/// A sentence said by one speaker.
#[derive(Clone, Debug, PartialEq)]
pub struct Sentence {
    /// The speaker's display label.
    pub speaker: String,
    /// Start of the first word, seconds.
    pub start: f64,
    /// End of the last word, seconds.
    pub end: f64,
    /// The words.
    pub tokens: Vec<Token>,
}

impl Sentence {
    /// The sentence as text.
    pub fn text(&self) -> String {
        self.tokens
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Speaker id → display label.
pub fn speaker_labels(transcript: &Transcript) -> HashMap<&str, &str> {
    transcript
        .speakers
        .iter()
        .map(|s| (s.id.as_str(), s.label.as_str()))
        .collect()
}

/// Whether a token is a recogniser marker rather than speech (`[BLANK_AUDIO]`, `(music)`).
fn opens_marker(token: &str) -> Option<char> {
    match token.chars().next() {
        Some('[') => Some(']'),
        Some('(') => Some(')'),
        Some('*') if token.len() > 1 => Some('*'),
        _ => None,
    }
}

/// The spoken words of a segment (markers removed), each with a time.
pub fn segment_tokens(segment: &Segment) -> Vec<Token> {
    let raw: Vec<&str> = segment.text.split_whitespace().collect();
    let mut kept: Vec<(usize, &str)> = Vec::new();
    let mut closing: Option<char> = None;
    for (index, token) in raw.iter().enumerate() {
        if let Some(close) = closing {
            if token.ends_with(close) {
                closing = None;
            }
            continue;
        }
        if let Some(close) = opens_marker(token) {
            if !(token.len() > 1 && token.ends_with(close)) {
                closing = Some(close);
            }
            continue;
        }
        if token.chars().any(char::is_alphanumeric) {
            kept.push((index, token));
        }
    }
    let (start, end) = if segment.end >= segment.start {
        (segment.start, segment.end)
    } else {
        (segment.start, segment.start)
    };
    let words = &segment.words;
    let aligned = words.len() == raw.len();
    let total_chars: usize = raw.iter().map(|t| t.len() + 1).sum::<usize>().max(1);
    let mut offsets = Vec::with_capacity(raw.len());
    let mut acc = 0usize;
    for token in &raw {
        offsets.push(acc);
        acc += token.len() + 1;
    }
    kept.into_iter()
        .map(|(index, token)| {
            let (t_start, t_end) = if aligned {
                (words[index].start, words[index].end)
            } else if !words.is_empty() {
                // Different tokenisation: take the word at the same relative position.
                let w = (index * words.len() / raw.len().max(1)).min(words.len() - 1);
                (words[w].start, words[w].end)
            } else {
                let span = end - start;
                let from = start + span * offsets[index] as f64 / total_chars as f64;
                let to = start + span * (offsets[index] + token.len()) as f64 / total_chars as f64;
                (from, to)
            };
            Token {
                text: token.to_owned(),
                start: t_start,
                end: t_end.max(t_start),
            }
        })
        .collect()
}

const ABBREVIATIONS: &[&str] = &[
    "mr.", "mrs.", "ms.", "dr.", "prof.", "e.g.", "i.e.", "etc.", "vs.", "approx.", "st.",
];

fn ends_sentence(token: &str) -> bool {
    let trimmed = token.trim_end_matches(['"', '\'', ')', '”', '’']);
    let lower = trimmed.to_lowercase();
    (trimmed.ends_with('.') || trimmed.ends_with('?') || trimmed.ends_with('!'))
        && !ABBREVIATIONS.contains(&lower.as_str())
}

/// The sentences of a transcript in time order.
///
/// Speech recognisers often put the first word of a turn at the end of the previous speaker's
/// segment, after its last full stop ("…went down. Alice | will send the budget by Friday."). Such
/// a trailing fragment (at most [`MAX_CARRIED_WORDS`] words that began after a sentence end
/// inside the segment) goes on into the next segment; any other open sentence ends at a change of
/// speaker, as it does at a pause. Each sentence belongs to the speaker who said most of its words.
pub fn sentences(transcript: &Transcript) -> Vec<Sentence> {
    let labels = speaker_labels(transcript);
    let mut segments: Vec<&Segment> = transcript.segments.iter().collect();
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));

    let mut out = Vec::new();
    // The open sentence and the speaker label of each of its words.
    let mut current: Option<(Sentence, Vec<String>)> = None;
    let mut previous: Option<(&str, f64)> = None;
    // Whether the open sentence began after a sentence end inside its first segment.
    let mut began_mid_segment = false;
    for segment in segments {
        let label = labels
            .get(segment.speaker.as_str())
            .copied()
            .unwrap_or(segment.speaker.as_str());
        let (paused, new_speaker) = match previous {
            Some((speaker, end)) => (
                segment.start - end > SENTENCE_PAUSE_SECONDS,
                speaker != segment.speaker,
            ),
            None => (false, false),
        };
        let fragment = current
            .as_ref()
            .is_some_and(|(s, _)| began_mid_segment && s.tokens.len() <= MAX_CARRIED_WORDS);
        if (paused || (new_speaker && !fragment))
            && let Some(done) = current.take()
        {
            out.push(attribute(done));
        }
        previous = Some((segment.speaker.as_str(), segment.end));
        let mut first_in_segment = true;
        for token in segment_tokens(segment) {
            if current.is_none() {
                began_mid_segment = !first_in_segment;
            }
            first_in_segment = false;
            let (sentence, speakers) = current.get_or_insert_with(|| {
                (
                    Sentence {
                        speaker: label.to_owned(),
                        start: token.start,
                        end: token.end,
                        tokens: Vec::new(),
                    },
                    Vec::new(),
                )
            });
            sentence.end = token.end;
            let stop = ends_sentence(&token.text);
            sentence.tokens.push(token);
            speakers.push(label.to_owned());
            if (stop || sentence.tokens.len() >= MAX_SENTENCE_WORDS)
                && let Some(done) = current.take()
            {
                out.push(attribute(done));
            }
        }
    }
    if let Some(done) = current.take() {
        out.push(attribute(done));
    }
    out
}

/// Gives a sentence to the speaker who said most of its words (the earliest on a tie).
fn attribute((mut sentence, speakers): (Sentence, Vec<String>)) -> Sentence {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for speaker in &speakers {
        match counts.iter_mut().find(|(s, _)| *s == speaker.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((speaker.as_str(), 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    if let Some((speaker, _)) = counts.iter().find(|(_, n)| *n == best) {
        sentence.speaker = (*speaker).to_owned();
    }
    sentence
}

/// Number of spoken words in the transcript (markers excluded).
pub fn word_count(transcript: &Transcript) -> usize {
    transcript
        .segments
        .iter()
        .map(|s| segment_tokens(s).len())
        .sum()
}

/// Neutralises text that could pose as a delimiter of the transcript block in a prompt.
fn neutralise(text: &str) -> String {
    text.replace('<', "‹").replace('>', "›")
}

/// One segment as a prompt line: `[12.3s–15.0s] Speaker 1: text`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedLine {
    /// Start of the segment, seconds.
    pub start: f64,
    /// End of the segment, seconds.
    pub end: f64,
    /// The rendered line.
    pub line: String,
}

/// The transcript as prompt lines, markers removed and delimiter characters neutralised.
pub fn timed_lines(transcript: &Transcript) -> Vec<TimedLine> {
    let labels = speaker_labels(transcript);
    let mut segments: Vec<&Segment> = transcript.segments.iter().collect();
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    segments
        .into_iter()
        .filter_map(|segment| {
            let words: Vec<String> = segment_tokens(segment)
                .into_iter()
                .map(|t| t.text)
                .collect();
            if words.is_empty() {
                return None;
            }
            let label = labels
                .get(segment.speaker.as_str())
                .copied()
                .unwrap_or(segment.speaker.as_str());
            Some(TimedLine {
                start: segment.start,
                end: segment.end,
                line: format!(
                    "[{:.1}s-{:.1}s] {}: {}",
                    segment.start,
                    segment.end,
                    neutralise(label),
                    neutralise(&words.join(" "))
                ),
            })
        })
        .collect()
}

/// Labels of the speakers who said something, in order of first appearance.
pub fn active_speakers(transcript: &Transcript) -> Vec<String> {
    let labels = speaker_labels(transcript);
    let mut segments: Vec<&Segment> = transcript.segments.iter().collect();
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<String> = Vec::new();
    for segment in segments {
        if segment_tokens(segment).is_empty() {
            continue;
        }
        let label = labels
            .get(segment.speaker.as_str())
            .copied()
            .unwrap_or(segment.speaker.as_str());
        if !out.iter().any(|l| l == label) {
            out.push(label.to_owned());
        }
    }
    out
}
