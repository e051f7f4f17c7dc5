//! The extractive summary as prose: the chosen sentences of the transcript retold in the third
//! person and attributed to their speakers, in time order, one paragraph per topic.
//!
//! A sentence is summary material only when it is a whole statement: not cut off, not a
//! question (a request to someone by name is retold: "Tom, can you write the plan?" → "Maria
//! asked Tom to write the plan."), not a greeting, thanks or backchannel, not mostly fillers,
//! with a finite verb ([`verbs`]) and not opening with a pronoun whose antecedent the summary
//! lacks ("It might help."). Leading discourse markers ("Yes,", "So", "Okay,") and vocatives
//! ("Tom, Priya,") are dropped first.
//!
//! It is then told of its speaker (the name the conversation gives the label, else the label):
//! - with first-person words, rewritten in the third person ([`person`]): "Priya will fix the
//!   login bug by Monday.", "The team decided to launch on November 10.";
//! - without them, in a reporting frame that needs no other change: "Priya said that the login
//!   bug is still open." ("added that" for the same speaker's next sentence in a paragraph);
//! - "Let's …" → "Maria suggested that the team …", "Let me …" → "Omar offered to …".
//!
//! A sentence that cannot be told safely (say, it speaks to "you") is left out, and the ranking
//! takes the next candidate. The words are the transcript's, the speaker's name or label, and
//! a few fixed connectives ("said that", "asked … to", "the team"): nothing is invented. A
//! sentence giving the meeting's agenda or goal ("The agenda is …", "the goal today is to …")
//! opens the summary. A new paragraph (line) starts where the talk around one chosen sentence
//! and around the next share little vocabulary (TF-IDF), or where they lie far apart in time.

mod person;
mod verbs;

use std::collections::HashSet;

use super::names::Names;
use super::patterns::{Extracted, MISHEARD_BY, W, looks_like_name};
use super::ranking::{self, Tfidf};
use crate::due_date::{MONTHS, WEEKDAYS};
use crate::timeline::{MAX_SENTENCE_WORDS, Sentence};
use person::Mentioned;

/// Consecutive chosen sentences whose surroundings are less similar than this (TF-IDF cosine,
/// see [`Tfidf::boundary_similarity`]) are on different topics: a new paragraph starts. On the
/// evaluation meetings the scores of consecutive chosen sentences fall in 0–0.035 (apart) or
/// 0.04–0.45 (together).
const TOPIC_SIMILARITY: f64 = 0.04;
/// Sentences on either side of a chosen sentence that make up its surroundings.
const TOPIC_RADIUS: usize = 2;
/// Chosen sentences further apart than this, seconds, start a new paragraph.
const TOPIC_GAP_SECONDS: f64 = 120.0;
/// A clause shorter than this many words, once markers are dropped, is no summary material.
const MIN_CLAUSE_WORDS: usize = 3;
/// A sentence more than this share of whose words are fillers is no summary material.
const MAX_FILLER_SHARE: f64 = 0.5;

/// Discourse markers dropped from the start of a sentence when a new clause follows them
/// ("So we decided …") or they end with a pause ("Well, …").
const MARKERS: &[&str] = &[
    "yes", "yeah", "yep", "so", "and", "but", "okay", "ok", "well", "right", "alright", "oh", "um",
    "uh", "also", "anyway", "now", "then", "hmm", "plus",
];
/// Words dropped from the start of a sentence only when a pause (punctuation) follows them
/// ("Great, we decided …", but not "Great work was done").
const MARKERS_BEFORE_PAUSE: &[&str] = &[
    "great",
    "good",
    "perfect",
    "fine",
    "sure",
    "nice",
    "cool",
    "exactly",
    "absolutely",
    "agreed",
    "understood",
    "noted",
    "true",
    "totally",
    "indeed",
    "definitely",
    "sorry",
    "look",
    "listen",
    "honestly",
    "actually",
    "basically",
    "thanks",
    "excellent",
    "awesome",
    "wonderful",
    "interesting",
    "correct",
];
/// Two-word markers dropped when a pause follows them ("Of course, …", "Happy to, …").
const TWO_WORD_MARKERS: &[[&str; 2]] = &[
    ["of", "course"],
    ["no", "problem"],
    ["fair", "enough"],
    ["sounds", "good"],
    ["got", "it"],
    ["makes", "sense"],
    ["happy", "to"],
    ["will", "do"],
    ["me", "too"],
    ["good", "point"],
    ["great", "point"],
    ["thank", "you"],
    ["all", "right"],
    ["you", "know"],
    ["good", "morning"],
    ["good", "afternoon"],
    ["good", "evening"],
    ["i", "remember"],
    ["i", "see"],
    ["i", "know"],
    ["i", "guess"],
    ["i", "mean"],
    ["pretty", "good"],
    ["not", "bad"],
    ["all", "good"],
];
/// Greetings dropped with the names or audience after them ("Hello everyone, …").
const GREETINGS: &[&str] = &["hello", "hi", "hey", "morning", "afternoon", "evening"];
/// Words addressing the room ("everyone,").
const AUDIENCE: &[&str] = &[
    "everyone",
    "everybody",
    "all",
    "team",
    "folks",
    "guys",
    "there",
    "both",
];
/// First words of greetings, thanks and goodbyes: such a sentence is no summary material.
const CLOSINGS: &[&str] = &[
    "thanks",
    "thank",
    "bye",
    "goodbye",
    "welcome",
    "cheers",
    "congratulations",
    "congrats",
    "hello",
    "hi",
    "hey",
];
/// Two-word openings of greetings and goodbyes.
const CLOSING_PAIRS: &[[&str; 2]] = &[
    ["see", "you"],
    ["talk", "soon"],
    ["nice", "to"],
    ["good", "morning"],
    ["good", "afternoon"],
    ["good", "evening"],
    ["good", "night"],
    ["good", "luck"],
    ["have", "a"],
];
/// Fillers: a sentence made mostly of them says nothing.
const FILLERS: &[&str] = &[
    "um",
    "uh",
    "erm",
    "hmm",
    "like",
    "yeah",
    "yes",
    "okay",
    "ok",
    "so",
    "well",
    "right",
    "basically",
    "actually",
    "literally",
    "just",
    "know",
    "mean",
    "kind",
    "sort",
    "really",
    "oh",
];
/// Openings whose antecedent a summary does not carry ("It might help.", "They said no.").
const ANAPHORA: &[&str] = &[
    "it", "it's", "they", "they're", "they've", "they'll", "they'd", "he", "he's", "she", "she's",
    "them", "which", "that's",
];
/// Demonstratives that are anaphoric when a verb follows ("That sounds good.") but not as
/// determiners ("This sprint went well.").
const DEMONSTRATIVES: &[&str] = &["that", "this", "these", "those"];
/// Modals that open a request ("can you …").
const REQUEST_MODALS: &[&str] = &["can", "could", "would", "will"];

/// One word of a sentence as the rewrite sees it: the word and the punctuation around it
/// (quotation marks removed, apostrophes made ASCII).
#[derive(Clone, Debug, PartialEq)]
struct Word {
    /// Punctuation before the word ("(").
    lead: String,
    /// The word ("Bob", "I'll", "15th").
    core: String,
    /// The word in lower case.
    norm: String,
    /// Punctuation after the word (",", ".", "?").
    tail: String,
}

impl Word {
    /// A word of a token, `None` when the token has no letter or digit.
    fn parse(token: &str) -> Option<Self> {
        let text: String = token
            .replace(['’', '‘'], "'")
            .chars()
            .filter(|c| !matches!(c, '"' | '“' | '”' | '„' | '«' | '»'))
            .collect();
        let start = text.find(|c: char| c.is_alphanumeric())?;
        let end = text
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_alphanumeric())
            .map(|(i, c)| i + c.len_utf8())?;
        let core = text[start..end].to_owned();
        Some(Self {
            lead: text[..start].replace('\'', ""),
            norm: core.to_lowercase(),
            core,
            tail: text[end..].to_owned(),
        })
    }

    fn has_comma(&self) -> bool {
        self.tail.contains([',', '-', '–', '—'])
    }

    /// The word as the pattern engine reads it, for its name test.
    fn as_pattern_word(&self) -> W {
        W {
            orig: self.core.clone(),
            norm: self.norm.clone(),
            comma_after: self.has_comma(),
            stop_after: self.tail.contains(['.', ';', ':', '!', '?']),
        }
    }
}

/// The words of a sentence.
fn words_of(sentence: &Sentence) -> Vec<Word> {
    sentence
        .tokens
        .iter()
        .filter_map(|t| Word::parse(&t.text))
        .collect()
}

/// The words of a text (for tests and the lexicon checks).
#[cfg(test)]
fn words_of_text(text: &str) -> Vec<Word> {
    text.split_whitespace().filter_map(Word::parse).collect()
}

/// Words joined with their punctuation.
fn render_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| format!("{}{}{}", w.lead, w.core, w.tail))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text with its first letter in upper case.
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The words as a clause ending in a full stop (the sentence's own final punctuation, a
/// question mark or a trailing comma, is replaced).
fn clause(words: &[Word]) -> String {
    let mut words = words.to_vec();
    if let Some(last) = words.last_mut() {
        let kept = last
            .tail
            .trim_end_matches(['.', '!', '?', ',', ';', ':', '-', '–', '—', '…'])
            .to_owned();
        last.tail = format!("{kept}.");
    }
    render_words(&words)
}

/// A sentence retold for the summary.
#[derive(Clone, Debug, PartialEq)]
enum Told {
    /// A finished sentence ("Priya will fix the login bug by Monday.").
    Plain(String),
    /// A clause for a reporting frame: "{speaker} said that {clause}".
    Said { speaker: String, clause: String },
}

/// Retells the sentences of one meeting.
struct Teller<'a> {
    sentences: &'a [Sentence],
    names: &'a Names,
    /// Words written with a capital inside a sentence somewhere in the meeting: proper nouns,
    /// kept capitalised when they open a reported clause.
    proper: HashSet<String>,
    /// Words written in lower case somewhere in the meeting: common words.
    lower: HashSet<String>,
    /// Owners of action items (names the pattern engine read from the words).
    owners: &'a [String],
}

impl<'a> Teller<'a> {
    fn new(sentences: &'a [Sentence], names: &'a Names, owners: &'a [String]) -> Self {
        let starts_upper = |w: &Word| w.core.chars().next().is_some_and(char::is_uppercase);
        let proper = sentences
            .iter()
            .flat_map(|s| words_of(s).into_iter().skip(1))
            .filter(|w| starts_upper(w) && w.norm != "i")
            .map(|w| w.norm)
            .collect();
        let lower = sentences
            .iter()
            .flat_map(words_of)
            .filter(|w| !starts_upper(w))
            .map(|w| w.norm)
            .collect();
        Self {
            sentences,
            names,
            proper,
            lower,
            owners,
        }
    }

    /// Sentence `index` retold, or `None` when it is no summary material or cannot be told
    /// safely.
    fn retell(&self, index: usize) -> Option<Told> {
        let sentence = self.sentences.get(index)?;
        if cut_off(sentence) {
            return None;
        }
        let original = words_of(sentence);
        if mostly_fillers(&original) {
            return None;
        }
        let speaker = self.names.attributed(index)?;
        let words = strip_markers(repair_misheard_by(original), self);
        if let Some(asked) = self.request(&words, &speaker, index) {
            return Some(Told::Plain(asked));
        }
        if is_question(sentence, &words) {
            return None;
        }
        let words = drop_trailing_closing(strip_colon_prefix(self.strip_vocatives(words)));
        if let Some(told) = proposal(&words, &speaker) {
            return Some(Told::Plain(told));
        }
        if !is_whole_clause(&words) {
            return None;
        }
        if opens_with_anaphora(&words) || is_imperative(&words) {
            return None;
        }
        let rewritten = person::to_third_person(&words, &speaker, Mentioned::default())?;
        if person::mentions_speaker(&words) || person::team_is_subject(&words) {
            // "Priya will fix …", "The team decided …": the subject says whose it is.
            Some(Told::Plain(capitalise(&clause(&rewritten))))
        } else {
            Some(Told::Said {
                speaker,
                clause: clause(&self.lower_first(rewritten)),
            })
        }
    }

    /// "Tom, can you write the plan?", "Can you, Tom, write …", "Could you review it, Bob?",
    /// "Maria, please update …" → "{speaker} asked Tom to write the plan." Without a name, the
    /// person who took the floor accepting the request is the one asked, if there is one.
    fn request(&self, words: &[Word], speaker: &str, index: usize) -> Option<String> {
        // "Tom, can you …"; unpunctuated, "Julia please …", "Sam could you …".
        let asks_next = |k: usize| {
            words.get(k).is_some_and(|w| {
                w.norm == "please"
                    || (REQUEST_MODALS.contains(&w.norm.as_str())
                        && words.get(k + 1).is_some_and(|y| y.norm == "you"))
            })
        };
        let (mut at, mut addressee) = match self.name_at(words, 0) {
            Some(name) if words[0].has_comma() || asks_next(1) => (1, Some(name)),
            _ => (0, None),
        };
        let opener = words.get(at)?.norm.as_str();
        if REQUEST_MODALS.contains(&opener) && words.get(at + 1)?.norm == "you" {
            at += 2;
            if words[at - 1].has_comma() {
                // "can you, Tom, write …"
                let name = self.name_at(words, at).filter(|_| words[at].has_comma())?;
                if addressee.replace(name).is_some() {
                    return None;
                }
                at += 1;
            }
        } else if opener == "please" && addressee.is_some() {
            at += 1;
        } else {
            return None;
        }
        while words
            .get(at)
            .is_some_and(|w| w.norm == "please" || verbs::is_adverb(&w.norm))
        {
            at += 1;
        }
        let mut end = words.len();
        if end >= at + 3 && words[end - 2].has_comma() {
            // "… could you review it, Bob?"
            if let Some(name) = self.name_at(words, end - 1) {
                if addressee.as_ref().is_some_and(|a| *a != name) {
                    return None;
                }
                addressee = Some(name);
                end -= 1;
            }
        }
        let end = first_clause_end(words, at, end);
        let addressee = addressee
            .map(|a| self.names.canonical(&a))
            .or_else(|| self.names.answerer(index))?;
        let body = words.get(at..end)?;
        let verb = body.first()?;
        if body.len() < 2
            || verbs::is_function_word(&verb.norm)
            || verbs::is_modal(&verb.norm)
            || !verb.core.chars().all(char::is_alphabetic)
            || dangling_end(body)
        {
            return None;
        }
        let told = person::to_third_person(body, speaker, Mentioned::default())?;
        Some(format!("{speaker} asked {addressee} to {}", clause(&told)))
    }

    /// The name a word is, when it looks like one (capitalised, not a common word) or is a
    /// name used in the meeting.
    fn name_at(&self, words: &[Word], at: usize) -> Option<String> {
        let word = words.get(at)?;
        let capitalised = word.core.chars().next().is_some_and(char::is_uppercase);
        let known = self.names.is_known(&word.core);
        (capitalised && (known || looks_like_name(&word.as_pattern_word())))
            .then(|| word.core.clone())
    }

    /// Drops vocatives at the start ("Tom, Priya, …", "Everyone, …") and at the end ("…, Tom.").
    fn strip_vocatives(&self, mut words: Vec<Word>) -> Vec<Word> {
        loop {
            let Some(first) = words.first() else {
                return words;
            };
            let addressing =
                self.name_at(&words, 0).is_some() || AUDIENCE.contains(&first.norm.as_str());
            if addressing && first.has_comma() {
                words.remove(0);
            } else if self.name_at(&words, 0).is_some()
                && words.get(1).is_some_and(|w| w.norm == "and")
                && self.name_at(&words, 2).is_some()
                && words[2].has_comma()
            {
                words.drain(..3);
            } else {
                break;
            }
        }
        let n = words.len();
        if n >= 2
            && words[n - 2].has_comma()
            && self.name_at(&words, n - 1).is_some()
            && let Some(last) = words.pop()
            && let Some(before) = words.last_mut()
        {
            before.tail = last.tail;
        }
        words
    }

    /// The clause with its first word in lower case, unless it is a proper noun: a name used
    /// in the meeting or owning an action item, a word written with a capital inside a
    /// sentence, an acronym, a day or month, or a capitalised word never written in lower case
    /// that a verb follows ("Alice will …"; but "users on the app …", "the login bug …").
    fn lower_first(&self, mut words: Vec<Word>) -> Vec<Word> {
        let proper = match words.first() {
            Some(first) => {
                let subject_like = looks_like_name(&first.as_pattern_word())
                    && !self.lower.contains(&first.norm)
                    && words.get(1).is_some_and(|w| {
                        verbs::is_finite_form(&w.norm) || verbs::is_adverb(&w.norm)
                    });
                self.names.is_known(&first.core)
                    || self.owners.contains(&first.core)
                    || self.proper.contains(&first.norm)
                    || first.core.chars().skip(1).any(char::is_uppercase)
                    || WEEKDAYS.contains(&first.norm.as_str())
                    || MONTHS.contains(&first.norm.as_str())
                    || subject_like
            }
            None => true,
        };
        if !proper && let Some(first) = words.first_mut() {
            let mut chars = first.core.chars();
            if let Some(c) = chars.next() {
                first.core = c.to_lowercase().chain(chars).collect();
            }
        }
        words
    }

    /// The opening sentence naming the meeting's agenda or goal, said early in the meeting
    /// ("The agenda is …", "the goal today is to …"), and its index.
    fn opener(&self) -> Option<(usize, String)> {
        let early = (self.sentences.len() / 4).max(4);
        (0..self.sentences.len().min(early)).find_map(|index| {
            let sentence = &self.sentences[index];
            let words = self.strip_vocatives(strip_markers(words_of(sentence), self));
            agenda(&words).map(|text| (index, text))
        })
    }
}

/// "The agenda (today) is/includes/covers X" → "The agenda covered X."; "The goal (today / of
/// this meeting) is to X" → "The goal of the meeting was to X." X must need no pronoun change.
fn agenda(words: &[Word]) -> Option<String> {
    if words.first()?.norm != "the" {
        return None;
    }
    let noun = words.get(1)?.norm.as_str();
    let is_agenda = noun == "agenda";
    if !(is_agenda || matches!(noun, "goal" | "purpose" | "aim")) {
        return None;
    }
    let mut at = 2;
    const QUALIFIERS: &[&[&str]] = &[
        &["for", "today"],
        &["today"],
        &["for", "this", "meeting"],
        &["of", "this", "meeting"],
        &["of", "the", "meeting"],
        &["of", "today's", "meeting"],
        &["for", "this", "call"],
        &["of", "this", "call"],
    ];
    if let Some(q) = QUALIFIERS.iter().find(|q| {
        q.iter()
            .enumerate()
            .all(|(k, s)| words.get(at + k).is_some_and(|w| w.norm == *s))
    }) {
        at += q.len();
    }
    let verb = words.get(at)?.norm.as_str();
    let rest = if is_agenda && matches!(verb, "is" | "includes" | "covers") {
        words.get(at + 1..)?
    } else if !is_agenda && verb == "is" && words.get(at + 1)?.norm == "to" {
        words.get(at + 2..)?
    } else {
        return None;
    };
    if rest.len() < 2 || person::has_first_person(rest) || person::has_unsafe_pronoun(rest) {
        return None;
    }
    Some(if is_agenda {
        format!("The agenda covered {}", clause(rest))
    } else {
        format!("The {noun} of the meeting was to {}", clause(rest))
    })
}

/// "Let's X" → "{speaker} suggested that the team X."; "Let me X" → "{speaker} offered to X."
fn proposal(words: &[Word], speaker: &str) -> Option<String> {
    let first = words.first()?.norm.as_str();
    let second = words.get(1).map(|w| w.norm.as_str());
    let (body_at, frame, mentioned) = match (first, second) {
        ("let's", _) => (
            1,
            format!("{speaker} suggested that the team"),
            Mentioned {
                team: true,
                ..Mentioned::default()
            },
        ),
        ("let", Some("us")) => (
            2,
            format!("{speaker} suggested that the team"),
            Mentioned {
                team: true,
                ..Mentioned::default()
            },
        ),
        ("let", Some("me")) => (
            2,
            format!("{speaker} offered to"),
            Mentioned {
                speaker: true,
                ..Mentioned::default()
            },
        ),
        _ => return None,
    };
    let end = first_clause_end(words, body_at, words.len());
    let body = words.get(body_at..end)?;
    let verb = body.first()?;
    if body.len() < 2
        || verbs::is_function_word(&verb.norm)
        || verbs::is_modal(&verb.norm)
        || dangling_end(body)
    {
        return None;
    }
    let told = person::to_third_person(body, speaker, mentioned)?;
    Some(format!("{frame} {}", clause(&told)))
}

/// Where the clause starting at `from` ends: before a comma that opens another clause with a
/// verb of its own ("write the plan, the restart step was misleading").
fn first_clause_end(words: &[Word], from: usize, end: usize) -> usize {
    (from..end.saturating_sub(1))
        .find(|&k| words[k].has_comma() && verbs::has_finite_verb(&words[k + 1..end]))
        .map_or(end, |k| k + 1)
}

/// A sentence cut short: by the recogniser's word limit without a full stop, or trailing off
/// ("we will lose the...").
fn cut_off(sentence: &Sentence) -> bool {
    let Some(last) = sentence.tokens.last() else {
        return true;
    };
    let text = last.text.trim_end_matches(['"', '\'', '”', '’', ')']);
    let stopped = text.ends_with(['.', '!', '?']);
    (sentence.tokens.len() >= MAX_SENTENCE_WORDS && !stopped)
        || text.ends_with("..")
        || text.ends_with(['…', '-', '–', '—'])
}

fn mostly_fillers(words: &[Word]) -> bool {
    let fillers = words
        .iter()
        .filter(|w| FILLERS.contains(&w.norm.as_str()))
        .count();
    words.is_empty() || fillers as f64 > MAX_FILLER_SHARE * words.len() as f64
}

/// "I Friday", "my Monday" at the end of a clause: "by" as the recogniser often hears it (the
/// pattern engine reads the deadline the same way).
fn repair_misheard_by(mut words: Vec<Word>) -> Vec<Word> {
    for at in 1..words.len().saturating_sub(1) {
        let day = &words[at + 1];
        let closes = at + 2 == words.len() || !day.tail.is_empty();
        if MISHEARD_BY.contains(&words[at].norm.as_str())
            && WEEKDAYS.contains(&day.norm.as_str())
            && closes
            && words[at].tail.is_empty()
        {
            words[at].core = "by".to_owned();
            words[at].norm = "by".to_owned();
        }
    }
    words
}

/// Drops discourse markers and greetings from the start of a sentence.
fn strip_markers(mut words: Vec<Word>, teller: &Teller<'_>) -> Vec<Word> {
    loop {
        let drop = marker_len(&words, teller);
        if drop == 0 {
            return words;
        }
        words.drain(..drop);
    }
}

/// How many words at the start are a marker or a greeting (0 when none).
fn marker_len(words: &[Word], teller: &Teller<'_>) -> usize {
    let Some(first) = words.first() else {
        return 0;
    };
    let norm = first.norm.as_str();
    let paused = !first.tail.is_empty();
    if MARKERS.contains(&norm) && (paused || opens_clause(words, 1, teller)) {
        return 1;
    }
    if MARKERS_BEFORE_PAUSE.contains(&norm) && paused {
        return 1;
    }
    if let Some(second) = words.get(1)
        && TWO_WORD_MARKERS.contains(&[norm, second.norm.as_str()])
        && !second.tail.is_empty()
    {
        return 2;
    }
    if GREETINGS.contains(&norm) {
        if paused {
            return 1;
        }
        // "Hello everyone, …", "Hi Nina, …": through the first pause, if only names or the
        // audience stand before it.
        for k in 1..words.len().min(4) {
            let addressing =
                teller.name_at(words, k).is_some() || AUDIENCE.contains(&words[k].norm.as_str());
            if !addressing {
                return 0;
            }
            if !words[k].tail.is_empty() {
                return k + 1;
            }
        }
    }
    0
}

/// Whether a clause opens at `at`: a subject pronoun, an article, "let's", a name or another
/// marker.
fn opens_clause(words: &[Word], at: usize, teller: &Teller<'_>) -> bool {
    let Some(word) = words.get(at) else {
        return false;
    };
    const OPENINGS: &[&str] = &[
        "i", "i'm", "i'll", "i've", "i'd", "we", "we're", "we'll", "we've", "we'd", "they", "he",
        "she", "it", "it's", "there", "there's", "the", "a", "an", "this", "that", "let's", "let",
        "our", "my", "every", "everyone", "nobody",
    ];
    const PREPOSITIONS: &[&str] = &[
        "in", "on", "at", "for", "with", "about", "after", "before", "during", "from", "by", "if",
        "when", "once",
    ];
    OPENINGS.contains(&word.norm.as_str())
        || MARKERS.contains(&word.norm.as_str())
        || PREPOSITIONS.contains(&word.norm.as_str())
        || verbs::is_adverb(&word.norm)
        || marker_len(&words[at..], teller) > 0
        || teller.name_at(words, at).is_some()
}

/// A question: a question mark, or (without punctuation) an opening "what do …", "is the …".
fn is_question(sentence: &Sentence, words: &[Word]) -> bool {
    let asked = sentence.tokens.last().is_some_and(|t| {
        t.text
            .trim_end_matches(['"', '\'', '”', '’', ')'])
            .ends_with('?')
    });
    if asked {
        return true;
    }
    const WH: &[&str] = &["what", "why", "how", "who", "where", "which", "when"];
    const INVERTED: &[&str] = &[
        "do", "does", "did", "is", "are", "was", "were", "can", "could", "would", "will", "should",
        "shall", "have", "has",
    ];
    let first = words.first().map(|w| w.norm.as_str());
    let second = words.get(1).map(|w| w.norm.as_str());
    match (first, second) {
        (Some(f), Some(s)) if WH.contains(&f) => {
            INVERTED.contains(&s) || s == "about" || s.ends_with("'s")
        }
        (Some(f), Some(s)) if INVERTED.contains(&f) => {
            matches!(
                s,
                "you" | "we" | "i" | "they" | "it" | "he" | "she" | "there" | "the"
            )
        }
        _ => false,
    }
}

/// Drops a verbless lead-in before a colon ("One more thing from me: I'll …").
fn strip_colon_prefix(mut words: Vec<Word>) -> Vec<Word> {
    let colon = (0..words.len().saturating_sub(1)).find(|&k| words[k].tail.contains(':'));
    if let Some(k) = colon
        && !verbs::has_finite_verb(&words[..=k])
    {
        words.drain(..=k);
    }
    words
}

/// A greeting, thanks or goodbye ("Thanks for joining.", "See you at the stand-up.").
fn is_closing(words: &[Word]) -> bool {
    let first = words.first().map_or("", |w| w.norm.as_str());
    let second = words.get(1).map_or("", |w| w.norm.as_str());
    CLOSINGS.contains(&first) || CLOSING_PAIRS.contains(&[first, second])
}

/// Cuts a closing off the end of a clause ("…, thanks Kevin, Laura.").
fn drop_trailing_closing(mut words: Vec<Word>) -> Vec<Word> {
    let cut = (0..words.len().saturating_sub(1))
        .find(|&k| words[k].has_comma() && is_closing(&words[k + 1..]));
    if let Some(k) = cut {
        words.truncate(k + 1);
    }
    words
}

/// Whether a clause (markers and vocatives dropped) is a whole statement: long enough, no
/// greeting, a finite verb, no verbless lead-in, not trailing off in a function word.
fn is_whole_clause(words: &[Word]) -> bool {
    words.len() >= MIN_CLAUSE_WORDS
        && !is_closing(words)
        && !opens_dependent(words)
        && verbs::has_finite_verb(words)
        && !fragment_lead_in(words)
        && !dangling_end(words)
}

/// A clause that still opens with a conjunction, a wh-word or a verb without a subject once
/// markers are dropped ("and was the strongest …", "What an …", "Sounds like a plan."): it
/// leans on what was said before it.
fn opens_dependent(words: &[Word]) -> bool {
    const DEPENDENT: &[&str] = &[
        "and", "but", "or", "nor", "so", "yet", "because", "although", "though", "whereas",
        "which", "who", "whose", "whom", "what", "why", "how", "where", "whether",
    ];
    words.first().is_some_and(|w| {
        DEPENDENT.contains(&w.norm.as_str()) || verbs::is_third_person_verb(&w.norm)
    })
}

/// "Nice idea, but …", "Busy but good, …": a short verbless chunk before the first comma that
/// is no adverbial ("Last quarter, …", "For the landing page, …", "Speaking of reviews, …").
fn fragment_lead_in(words: &[Word]) -> bool {
    const LEAD_INS: &[&str] = &[
        "last",
        "next",
        "yesterday",
        "today",
        "tomorrow",
        "tonight",
        "later",
        "earlier",
        "second",
        "third",
        "otherwise",
        "meanwhile",
        "however",
        "instead",
        "overall",
        "unfortunately",
        "luckily",
        "apparently",
        "again",
        "anyway",
        "technically",
        "frankly",
        "maybe",
        "perhaps",
    ];
    let Some(k) = words.iter().position(Word::has_comma) else {
        return false;
    };
    if k >= 4 || k + 1 >= words.len() || verbs::has_finite_verb(&words[..=k]) {
        return false;
    }
    let first = words[0].norm.as_str();
    let adverbial = verbs::is_function_word(first)
        || verbs::is_adverb(first)
        || LEAD_INS.contains(&first)
        || first.ends_with("ly")
        || first.ends_with("ing")
        || first.chars().any(|c| c.is_ascii_digit())
        || WEEKDAYS.contains(&first)
        || MONTHS.contains(&first);
    !adverbial
}

/// A clause ending in an article, a preposition or a conjunction ("… on the mountain of."):
/// cut off mid-phrase.
fn dangling_end(words: &[Word]) -> bool {
    const DANGLING: &[&str] = &[
        "of", "to", "for", "with", "from", "at", "by", "about", "into", "than", "as", "and", "or",
        "but", "because", "if", "the", "a", "an", "my", "our", "your", "their", "his", "her",
        "its", "every", "each",
    ];
    words
        .last()
        .is_some_and(|w| DANGLING.contains(&w.norm.as_str()))
}

fn opens_with_anaphora(words: &[Word]) -> bool {
    let first = words.first().map_or("", |w| w.norm.as_str());
    if ANAPHORA.contains(&first) {
        return true;
    }
    DEMONSTRATIVES.contains(&first)
        && words
            .get(1)
            .is_some_and(|w| verbs::is_finite_form(&w.norm) || w.norm.contains('\''))
}

/// "Make sure …", "Send me …": an order to someone unnamed, which cannot be attributed.
fn is_imperative(words: &[Word]) -> bool {
    let Some(first) = words.first() else {
        return false;
    };
    if first.norm == "please" {
        return true;
    }
    let second = words.get(1).map_or("", |w| w.norm.as_str());
    verbs::is_base_verb(&first.norm)
        && (verbs::is_function_word(second)
            || verbs::is_adverb(second)
            || matches!(second, "sure" | "up" | "out"))
}

/// The summary text of a meeting: the agenda opener if any, then up to `wanted` sentences chosen
/// by the ranking among those that can be told, in time order, one paragraph (line) per
/// topic. Never empty for a meeting with sentences: when none can be told, the best-ranked
/// sentence is given as "{label}: {sentence}".
pub(super) fn summary_text(
    sentences: &[Sentence],
    names: &Names,
    items: &Extracted,
    wanted: usize,
) -> String {
    let with_items = items.sentences_with_items.as_slice();
    let owners: Vec<String> = items
        .action_items
        .iter()
        .filter_map(|i| i.owner.clone())
        .collect();
    let tfidf = Tfidf::new(sentences);
    let teller = Teller::new(sentences, names, &owners);
    let opener = teller.opener();
    let told: Vec<Option<Told>> = (0..sentences.len())
        .map(|i| {
            if opener.as_ref().is_some_and(|(o, _)| *o == i) {
                None
            } else {
                teller.retell(i)
            }
        })
        .collect();
    let chosen = ranking::rank(&tfidf, with_items, wanted, |i| told[i].is_some());
    if chosen.is_empty() {
        return fallback(sentences, &tfidf, with_items, &told, opener);
    }
    let opener = opener.map(|(_, text)| text);
    paragraphs(sentences, &tfidf, &chosen, &told, opener)
}

/// The best sentence when none can be told: retold if it can be, else quoted with its label.
fn fallback(
    sentences: &[Sentence],
    tfidf: &Tfidf,
    with_items: &[usize],
    told: &[Option<Told>],
    opener: Option<(usize, String)>,
) -> String {
    if let Some((_, text)) = opener {
        return text;
    }
    let best = ranking::rank(tfidf, with_items, 1, |_| true)
        .first()
        .copied()
        .or_else(|| ranking::longest(sentences));
    let Some(index) = best else {
        return String::new();
    };
    match told.get(index).cloned().flatten() {
        Some(Told::Plain(text)) => text,
        Some(Told::Said { speaker, clause }) => format!("{speaker} said that {clause}"),
        None => format!("{}: {}", sentences[index].speaker, sentences[index].text()),
    }
}

/// The chosen sentences told, a new paragraph at each change of topic.
fn paragraphs(
    sentences: &[Sentence],
    tfidf: &Tfidf,
    chosen: &[usize],
    told: &[Option<Told>],
    opener: Option<String>,
) -> String {
    let mut paragraphs: Vec<Vec<String>> = Vec::new();
    if let Some(text) = opener {
        paragraphs.push(vec![text]);
    }
    let mut previous: Option<usize> = None;
    let mut last_said_by: Option<String> = None;
    for &index in chosen {
        let Some(Some(told)) = told.get(index) else {
            continue;
        };
        let shift = previous.is_some_and(|p| topic_shift(sentences, tfidf, p, index));
        if shift || paragraphs.is_empty() {
            paragraphs.push(Vec::new());
            last_said_by = None;
        }
        let text = match told {
            Told::Plain(text) => {
                last_said_by = None;
                text.clone()
            }
            Told::Said { speaker, clause } => {
                let verb = if last_said_by.as_ref() == Some(speaker) {
                    "added"
                } else {
                    "said"
                };
                last_said_by = Some(speaker.clone());
                format!("{speaker} {verb} that {clause}")
            }
        };
        if let Some(paragraph) = paragraphs.last_mut()
            && !paragraph.contains(&text)
        {
            paragraph.push(text);
        }
        previous = Some(index);
    }
    paragraphs
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| p.join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether chosen sentence `b` is on another topic than the chosen sentence `a` before it.
fn topic_shift(sentences: &[Sentence], tfidf: &Tfidf, a: usize, b: usize) -> bool {
    let gap = match (sentences.get(a), sentences.get(b)) {
        (Some(x), Some(y)) => y.start - x.end,
        _ => 0.0,
    };
    gap > TOPIC_GAP_SECONDS || tfidf.boundary_similarity(a, b, TOPIC_RADIUS) < TOPIC_SIMILARITY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Token;

    /// One sentence per line, 5 s apart unless `gap` says otherwise.
    fn sentences_at(lines: &[(&str, &str)], gap: f64) -> Vec<Sentence> {
        lines
            .iter()
            .enumerate()
            .map(|(i, (speaker, text))| {
                let start = i as f64 * gap;
                Sentence {
                    speaker: (*speaker).to_owned(),
                    start,
                    end: start + 4.0,
                    tokens: text
                        .split_whitespace()
                        .map(|t| Token {
                            text: t.to_owned(),
                            start,
                            end: start + 4.0,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    fn sentences(lines: &[(&str, &str)]) -> Vec<Sentence> {
        sentences_at(lines, 5.0)
    }

    fn text_of(told: Told) -> String {
        match told {
            Told::Plain(text) => text,
            Told::Said { speaker, clause } => format!("{speaker} said that {clause}"),
        }
    }

    /// Every sentence of a meeting retold (None where it is left out).
    fn retold(lines: &[(&str, &str)]) -> Vec<Option<String>> {
        let sentences = sentences(lines);
        let names = Names::read(&sentences);
        let teller = Teller::new(&sentences, &names, &[]);
        (0..sentences.len())
            .map(|i| teller.retell(i).map(text_of))
            .collect()
    }

    /// One sentence retold, said by "Speaker 1" after a neutral opening line.
    fn one(text: &str) -> Option<String> {
        retold(&[("Speaker 2", "The numbers are in."), ("Speaker 1", text)])
            .pop()
            .flatten()
    }

    fn summary_of(lines: &[(&str, &str)], gap: f64, wanted: usize) -> String {
        let sentences = sentences_at(lines, gap);
        let names = Names::read(&sentences);
        summary_text(&sentences, &names, &Extracted::default(), wanted)
    }

    #[test]
    fn fragments_questions_greetings_and_fillers_are_left_out() {
        for said in [
            "The login bug, the launch date and hiring.",
            "A press release and a few customer quotes.",
            "Did we ever decide what to do with the reporting API?",
            "What about the sprint length?",
            "Okay.",
            "Thanks, Tom.",
            "Thanks for joining, everyone.",
            "Good morning, everyone!",
            "See you at the stand-up.",
            "Um, yeah, so, like, okay, I mean, right.",
            "Let's go with the senior band, and we will lose the...",
            "It might help with the reviews.",
            "That sounds like the top priority.",
            "Nice idea, but I think the budget is tight.",
            "Make sure the release notes are ready.",
            "Sounds like a plan.",
            "Sure, Grace, and was the strongest backend candidate this year.",
            "What an out-min on the term is.",
            "Tom, please tell both vendors on the mountain of.",
        ] {
            assert_eq!(one(said), None, "{said}");
        }
    }

    #[test]
    fn leading_markers_and_vocatives_are_dropped() {
        let cases = [
            (
                "Yes, I will fix the login bug by Monday.",
                "Speaker 1 will fix the login bug by Monday.",
            ),
            (
                "So we decided to keep the travel budget.",
                "The team decided to keep the travel budget.",
            ),
            (
                "And I'll take care of the release notes tomorrow.",
                "Speaker 1 will take care of the release notes tomorrow.",
            ),
            (
                "Okay, Paul, Hannah, we need to pick the storage vendor today.",
                "The team needs to pick the storage vendor today.",
            ),
            (
                "Well, the old schema is really slowing the team down.",
                "Speaker 1 said that the old schema is really slowing the team down.",
            ),
            (
                "Great, we decided to ship on Monday.",
                "The team decided to ship on Monday.",
            ),
        ];
        for (said, told) in cases {
            assert_eq!(one(said).as_deref(), Some(told), "{said}");
        }
    }

    #[test]
    fn sentences_without_first_person_are_reported_and_need_no_other_change() {
        assert_eq!(
            one("The login bug is still open.").as_deref(),
            Some("Speaker 1 said that the login bug is still open.")
        );
        // A name keeps its capital; a capital only at the start of the sentence does not.
        assert_eq!(
            one("Tom needs to review the pull requests.").as_deref(),
            Some("Speaker 1 said that Tom needs to review the pull requests.")
        );
        assert_eq!(
            one("Users on the mobile app cannot reset their password.").as_deref(),
            Some("Speaker 1 said that users on the mobile app cannot reset their password.")
        );
        // "we" the subject of the main clause after a lead-in: the team's statement.
        assert_eq!(
            one("Yes, if the forecast looks weak, we will cut the marketing budget.").as_deref(),
            Some("If the forecast looks weak, the team will cut the marketing budget.")
        );
        // "we" only in a subordinate clause: the speaker is still named.
        assert_eq!(
            one("Premium customers keep asking how fast we answer.").as_deref(),
            Some("Speaker 1 said that premium customers keep asking how fast the team answers.")
        );
    }

    #[test]
    fn sentences_about_you_are_left_out_unless_they_are_requests() {
        assert_eq!(one("You should fix the login bug before Monday."), None);
        let cases = [
            (
                "Tom, can you write the migration plan before the next sprint?",
                "Speaker 1 asked Tom to write the migration plan before the next sprint.",
            ),
            (
                "Can you, Tom, write the migration plan before the next sprint?",
                "Speaker 1 asked Tom to write the migration plan before the next sprint.",
            ),
            (
                "Could you also send me the pricing sheet, Nina?",
                "Speaker 1 asked Nina to send Speaker 1 the pricing sheet.",
            ),
            (
                "And Maria, please update the test data by the end of the week.",
                "Speaker 1 asked Maria to update the test data by the end of the week.",
            ),
        ];
        for (said, told) in cases {
            assert_eq!(one(said).as_deref(), Some(told), "{said}");
        }
        // Unpunctuated: the name before "please" or "could you" still addresses.
        assert_eq!(
            one("Julia please answer the open refund tickets by the end of the day").as_deref(),
            Some("Speaker 1 asked Julia to answer the open refund tickets by the end of the day.")
        );
        // A request to nobody by name, and nobody took it: left out.
        assert_eq!(one("Can you write the migration plan?"), None);
    }

    #[test]
    fn proposals_are_told_as_suggestions_and_offers() {
        assert_eq!(
            one("Then let's go with two week sprints from now on.").as_deref(),
            Some("Speaker 1 suggested that the team go with two week sprints from now on.")
        );
        assert_eq!(
            one("Let me start with the timeline of the outage.").as_deref(),
            Some("Speaker 1 offered to start with the timeline of the outage.")
        );
    }

    #[test]
    fn speakers_are_told_by_name_when_the_conversation_gives_one_else_by_label() {
        // Speaker 2 accepts a request made to Priya: that answer is Priya's.
        let named = retold(&[
            ("Speaker 1", "Priya, can you own the login bug?"),
            ("Speaker 2", "Yes, I will fix the login bug by Monday."),
        ]);
        assert_eq!(
            named[1].as_deref(),
            Some("Priya will fix the login bug by Monday.")
        );
        assert_eq!(
            named[0].as_deref(),
            Some("Speaker 1 asked Priya to own the login bug.")
        );
        // Greeted by name twice, Speaker 2 is Alice for the whole meeting.
        let label_named = retold(&[
            ("Speaker 1", "Good morning, Alice."),
            ("Speaker 2", "Morning, Bob. The marketing costs went up."),
            ("Speaker 1", "Good, thanks Alice."),
            ("Speaker 2", "I think the travel costs went down."),
        ]);
        assert_eq!(
            label_named[3].as_deref(),
            Some("Alice thinks the travel costs went down.")
        );
        // No evidence: the label.
        let unnamed = retold(&[
            ("Speaker 1", "The login bug is open."),
            ("Speaker 2", "I will fix the login bug by Monday."),
        ]);
        assert_eq!(
            unnamed[1].as_deref(),
            Some("Speaker 2 will fix the login bug by Monday.")
        );
    }

    #[test]
    fn an_early_agenda_or_goal_opens_the_summary() {
        let lines = [
            (
                "Speaker 1",
                "Hello everyone, the goal today is to lock the launch plan.",
            ),
            (
                "Speaker 2",
                "We decided to launch on November 10 after the press tour.",
            ),
            (
                "Speaker 1",
                "Chloe will finish the landing page by October 30.",
            ),
            ("Speaker 2", "The press release goes out on the launch day."),
        ];
        let summary = summary_of(&lines, 5.0, 3);
        assert!(
            summary.starts_with("The goal of the meeting was to lock the launch plan. "),
            "{summary}"
        );
        let agenda = sentences(&[(
            "Speaker 1",
            "The agenda is: results from last quarter, the roadmap, and hiring.",
        )]);
        let names = Names::read(&agenda);
        assert_eq!(
            Teller::new(&agenda, &names, &[]).opener(),
            Some((
                0,
                "The agenda covered results from last quarter, the roadmap, and hiring.".to_owned()
            ))
        );
    }

    #[test]
    fn a_change_of_topic_starts_a_new_paragraph() {
        let budget = [
            (
                "Speaker 1",
                "The marketing budget is over by ten percent this quarter.",
            ),
            (
                "Speaker 2",
                "I will cut the marketing budget for events by Friday.",
            ),
            (
                "Speaker 1",
                "The travel budget stays at the current level this quarter.",
            ),
        ];
        let hiring = [
            (
                "Speaker 2",
                "The backend candidate did well in the design interview.",
            ),
            (
                "Speaker 1",
                "I will call the candidate references tomorrow morning.",
            ),
            (
                "Speaker 2",
                "The candidate starts in October if the offer is accepted.",
            ),
        ];
        let both: Vec<(&str, &str)> = budget.iter().chain(hiring.iter()).copied().collect();
        let summary = summary_of(&both, 5.0, 6);
        let paragraphs: Vec<&str> = summary.lines().collect();
        assert_eq!(paragraphs.len(), 2, "{summary}");
        assert!(paragraphs[0].contains("marketing budget"), "{summary}");
        assert!(paragraphs[1].contains("candidate"), "{summary}");
        assert!(!paragraphs[1].contains("budget"), "{summary}");

        // One topic: one paragraph, the speaker's next report "added".
        let one_topic = summary_of(&budget, 5.0, 3);
        assert_eq!(one_topic.lines().count(), 1, "{one_topic}");
        assert!(
            one_topic.contains("Speaker 1 said that the marketing budget"),
            "{one_topic}"
        );
        // The same sentences far apart in time: separate paragraphs.
        let apart = summary_of(&budget, 200.0, 3);
        assert_eq!(apart.lines().count(), 3, "{apart}");
    }

    #[test]
    fn when_nothing_can_be_told_the_best_sentence_is_given_with_its_label() {
        let lines = [
            (
                "Speaker 1",
                "Did the marketing budget numbers arrive from finance yet?",
            ),
            ("Speaker 2", "Thanks, Tom."),
        ];
        assert_eq!(
            summary_of(&lines, 5.0, 3),
            "Speaker 1: Did the marketing budget numbers arrive from finance yet?"
        );
        // Only short sentences: the longest.
        let short = [("Speaker 1", "Okay."), ("Speaker 2", "Sure, fine.")];
        assert_eq!(summary_of(&short, 5.0, 3), "Speaker 2: Sure, fine.");
    }

    #[test]
    fn misheard_by_before_a_closing_weekday_reads_as_by() {
        assert_eq!(
            one("This time I will send the budget to finance I Friday.").as_deref(),
            Some("This time Speaker 1 will send the budget to finance by Friday.")
        );
    }
}
