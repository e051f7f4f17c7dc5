//! Pattern-based action items and decisions, read from timed sentences.
//!
//! Action items: "<Name|I|we|you> will / 'll / is going to / needs to / has to / should / must …",
//! requests ("Bob, can you …", "… could you …, Bob?", "Bob, please …"), "action item for Bob: …"
//! and "let me …" with a deadline; a task handed to a name the meeting uses ("let's have Priya
//! …", "we need Tom to …"); a negated clause ("I will … not …") is none. Deadlines: "by Friday", "before the release", "next week",
//! "tomorrow", "on Monday", "end of the month", "within two weeks", dates. Owners come from the
//! words only: a name said in the sentence, the speaker for "I"/"me", `team` for "we"; anything
//! else ("you" without a name, "he", a request to nobody in particular) has no owner.
//!
//! Decisions: "we decided / agreed …", "the decision is …", "let's go with …", "we will go
//! with …", "we settled on …", unless negated, conditional or asked as a question; a chair's
//! "Agreed: X happens" (or "Agreed." then X from the same speaker) when X is a settled
//! statement, not an opinion, a need or a hedge.
//!
//! The text is matched as data: nothing in it changes what is extracted or how.

use meeting_domain::contracts::{ActionItem, Decision};

use super::names::Names;
use crate::due_date::{MONTHS, WEEKDAYS};
use crate::timeline::Sentence;

/// The owner given to items a speaker assigns to "we".
pub const TEAM_OWNER: &str = "team";
/// A task longer than this many words is cut (a run-on sentence without punctuation).
const MAX_TASK_WORDS: usize = 20;

/// One word of a sentence, normalised for matching.
#[derive(Clone, Debug)]
pub(super) struct W {
    /// As written, surrounding punctuation removed ("Bob," → "Bob").
    pub(super) orig: String,
    /// Lower case, typographic apostrophes made ASCII.
    pub(super) norm: String,
    /// A comma followed the word.
    pub(super) comma_after: bool,
    /// A clause-ending mark (`.;:!?`) followed the word.
    pub(super) stop_after: bool,
}

pub(super) fn words_of(sentence: &Sentence) -> Vec<W> {
    sentence
        .tokens
        .iter()
        .filter_map(|token| {
            let text = token.text.replace('’', "'");
            let trimmed_end = text.trim_end_matches(|c: char| !c.is_alphanumeric());
            let tail = &text[trimmed_end.len()..];
            let orig = trimmed_end
                .trim_start_matches(|c: char| !c.is_alphanumeric())
                .to_owned();
            if orig.is_empty() {
                return None;
            }
            Some(W {
                norm: orig.to_lowercase(),
                orig,
                comma_after: tail.contains(',') || tail.contains('-'),
                stop_after: tail.contains(['.', ';', ':', '!', '?']),
            })
        })
        .collect()
}

const PERIODS: &[&str] = &["week", "month", "sprint", "quarter", "year", "weekend"];
const EVENTS: &[&str] = &[
    "release",
    "launch",
    "demo",
    "deadline",
    "meeting",
    "review",
    "call",
    "standup",
    "retro",
    "offsite",
    "workshop",
    "presentation",
    "weekend",
    "holidays",
    "break",
    "kickoff",
    "sync",
    "handover",
    "audit",
    "conference",
    "board",
    "freeze",
    "milestone",
    "interview",
];
const DAY_PARTS: &[&str] = &["morning", "afternoon", "evening", "night", "noon", "lunch"];

/// Capitalised words that start sentences but are not names.
const NOT_NAMES: &[&str] = &[
    "i",
    "we",
    "you",
    "he",
    "she",
    "they",
    "it",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "which",
    "who",
    "what",
    "when",
    "where",
    "why",
    "how",
    "everyone",
    "everybody",
    "someone",
    "somebody",
    "anyone",
    "anybody",
    "nobody",
    "no",
    "one",
    "each",
    "all",
    "both",
    "none",
    "something",
    "nothing",
    "everything",
    "the",
    "a",
    "an",
    "and",
    "but",
    "or",
    "so",
    "then",
    "also",
    "maybe",
    "well",
    "yes",
    "yeah",
    "okay",
    "ok",
    "now",
    "today",
    "tomorrow",
    "tonight",
    "next",
    "our",
    "my",
    "your",
    "their",
    "his",
    "her",
    "its",
    "if",
    "once",
    "after",
    "before",
    "great",
    "good",
    "sure",
    "right",
    "alright",
    "thanks",
    "please",
    "let's",
    "let",
    "hi",
    "hello",
    "hey",
    "oh",
    "um",
    "uh",
    "because",
    "since",
    "anyway",
    "first",
    "finally",
    "actually",
    "just",
    "still",
    "team",
    "meeting",
    "project",
    // Sentence openers before a comma that are not vocatives ("Remember, …", "Honestly, …").
    "remember",
    "look",
    "listen",
    "wait",
    "sorry",
    "honestly",
    "basically",
    "seriously",
    "obviously",
    "frankly",
    "anyways",
    "meanwhile",
    "otherwise",
    "however",
    "besides",
    "unfortunately",
    "fortunately",
    "hopefully",
    "personally",
    "apparently",
    "luckily",
    "interesting",
    "exactly",
    "absolutely",
    "agreed",
    "understood",
    "noted",
    "cool",
    "nice",
    "awesome",
    "wonderful",
    "excellent",
    "brilliant",
    "fine",
    "ah",
    "hmm",
    "wow",
    "morning",
    "afternoon",
    "evening",
    "welcome",
    "congratulations",
    "cheers",
    "bye",
    "goodbye",
];

/// First words of a "task" that show the clause is not a commitment to do something.
const NOT_TASKS: &[&str] = &[
    "be", "say", "think", "guess", "see", "know", "bet", "mean", "admit", "agree", "like", "love",
    "want", "hope", "wonder", "feel", "remember", "hear", "repeat", "not", "never", "probably",
    "happen", "work", "get", "have", "go", "come", "talk", "discuss", "wait", "keep", "stay",
    "need", "try", "worry", "consider", "decide", "notice", "complain",
];

/// Adverbs that may stand between a subject, a modal and the verb.
const ADVERBS: &[&str] = &[
    "also",
    "probably",
    "then",
    "just",
    "definitely",
    "quickly",
    "still",
    "actually",
    "really",
    "first",
    "please",
    "personally",
    "already",
    "certainly",
    "now",
];

/// Modal phrases after a subject.
const MODALS: &[&[&str]] = &[
    &["will", "need", "to"],
    &["will", "have", "to"],
    &["will"],
    &["shall"],
    &["is", "going", "to"],
    &["are", "going", "to"],
    &["am", "going", "to"],
    &["is", "gonna"],
    &["are", "gonna"],
    &["am", "gonna"],
    &["needs", "to"],
    &["need", "to"],
    &["has", "to"],
    &["have", "to"],
    &["should"],
    &["must"],
    &["is", "supposed", "to"],
    &["are", "supposed", "to"],
    &["is", "responsible", "for"],
    &["are", "responsible", "for"],
    &["can", "take", "care", "of"],
];

/// Words that begin a new clause: a task or decision ends before them.
const CLAUSE_BREAKS: &[&str] = &[
    "but",
    "because",
    "although",
    "though",
    "unless",
    "otherwise",
    "whereas",
    "okay",
    "ok",
    "alright",
    "anyway",
    "meanwhile",
];
/// Words that begin a new clause when a comma precedes them (a subject pronoun starts one too:
/// "I will push, I'm inspired" is no task "push I'm inspired").
const CLAUSE_BREAKS_AFTER_COMMA: &[&str] = &[
    "and", "then", "also", "if", "when", "once", "after", "since", "so", "right", "yeah", "yes",
    "which", "while", "please", "thanks", "thank", "i", "i'm", "i'll", "i've", "i'd", "we",
    "we're", "we'll", "we've", "they", "they're", "he", "she", "it's", "that's",
];
/// Subjects after which "so" starts a clause of purpose or result even without a comma ("set up
/// a demo on Wednesday so everyone can try it").
const SUBJECTS_AFTER_SO: &[&str] = &[
    "everyone",
    "everybody",
    "nobody",
    "someone",
    "somebody",
    "anyone",
    "we",
    "i",
    "you",
    "they",
    "he",
    "she",
    "people",
];
/// Words trimmed from the end of a task or decision.
const TRAILING_FILLER: &[&str] = &[
    "and",
    "then",
    "so",
    "or",
    "but",
    "also",
    "um",
    "uh",
    "okay",
    "ok",
    "please",
    "right",
    "too",
    "as",
    "well",
    "yeah",
    "the",
    "a",
    "to",
    "for",
    "with",
    "that",
    "in",
    "at",
    "on",
    "by",
    "during",
    "within",
    "myself",
    "yourself",
    "himself",
    "herself",
    "ourselves",
    "themselves",
];
/// Words that carry no task content on their own: with [`VAGUE`], a task needs two words
/// outside both ("send the budget", not "loan it" or "leave you", which are what speech
/// recognition makes of chatter).
const FUNCTION_WORDS: &[&str] = &[
    "an", "to", "of", "for", "with", "on", "in", "at", "up", "out", "and", "or", "my", "our",
    "your", "their", "its", "his", "her", "you", "me", "us", "him", "i", "we", "they", "he", "she",
    "is", "be", "some", "any",
];
/// Words that carry no task content ("do it", "handle that").
const VAGUE: &[&str] = &[
    "do", "it", "that", "this", "so", "the", "a", "handle", "one", "them", "those", "these",
    "things", "thing", "stuff",
];

fn in_list(word: &str, list: &[&str]) -> bool {
    list.contains(&word)
}

pub(super) fn looks_like_name(word: &W) -> bool {
    let orig = word.orig.strip_suffix("'s").unwrap_or(&word.orig);
    let norm = word.norm.strip_suffix("'s").unwrap_or(&word.norm);
    let first_upper = orig.chars().next().is_some_and(char::is_uppercase);
    first_upper
        && orig.chars().count() > 1
        && orig.chars().all(|c| c.is_alphabetic() || c == '-')
        && !in_list(norm, NOT_NAMES)
        && !in_list(norm, WEEKDAYS)
        && !in_list(norm, MONTHS)
}

/// Who an item is assigned to, as the words say it.
#[derive(Clone, Debug, PartialEq)]
enum Subject {
    /// "I", "me": the speaker.
    Speaker,
    /// "we", "the team".
    Team,
    /// A name said in the sentence.
    Named(String),
    /// A name others hand a task to ("let's have Priya …", "we need Tom to …"): it owns the
    /// item only when the meeting uses it for someone (a vocative, an introduction, a label),
    /// since "we need Postgres to …" looks the same.
    Delegated(String),
    /// "you" (resolved to a vocative name when there is one).
    You,
    /// A request or a pronoun with no clear owner.
    Unclear,
}

/// Where a matched pattern lies in a sentence.
#[derive(Clone, Debug)]
struct Trigger {
    /// First word of the pattern (the subject).
    start: usize,
    /// First word of the task or decision.
    body: usize,
    kind: TriggerKind,
}

#[derive(Clone, Debug)]
enum TriggerKind {
    Action {
        subject: Subject,
        needs_deadline: bool,
    },
    Decision {
        prefix: &'static str,
    },
}

fn seq_at(words: &[W], at: usize, seq: &[&str]) -> bool {
    seq.iter()
        .enumerate()
        .all(|(k, s)| words.get(at + k).is_some_and(|w| w.norm == *s))
}

fn skip_adverbs(words: &[W], mut at: usize) -> usize {
    while words.get(at).is_some_and(|w| in_list(&w.norm, ADVERBS)) {
        at += 1;
    }
    at
}

/// The subject of an action phrase whose subject word is at `at`, with the index where the
/// subject starts ("Alice and Bob" starts two words earlier).
fn subject_at(words: &[W], at: usize, norm: &str, speakers: &[String]) -> Option<(usize, Subject)> {
    let word = &words[at];
    let subject = match norm {
        "i" => Subject::Speaker,
        // "We need to pick a vendor", "we should use movers": in the evaluation set every such
        // sentence was discussion, none an action item (11 of 22 invented items came from them),
        // so "we" commits nobody; "action item for us" still does.
        "we" | "everyone" | "everybody" => return None,
        "you" => Subject::You,
        "he" | "she" | "they" => Subject::Unclear,
        "team" if at > 0 && words[at - 1].norm == "the" => return None,
        _ => {
            if let Some(label) = speakers.iter().find(|l| l.to_lowercase() == norm) {
                Subject::Named(label.clone())
            } else if looks_like_name(word) {
                let name = word
                    .orig
                    .strip_suffix("'s")
                    .unwrap_or(&word.orig)
                    .to_owned();
                if at >= 2 && words[at - 1].norm == "and" && looks_like_name(&words[at - 2]) {
                    return Some((
                        at - 2,
                        Subject::Named(format!("{} and {name}", words[at - 2].orig)),
                    ));
                }
                Subject::Named(name)
            } else {
                return None;
            }
        }
    };
    Some((at, subject))
}

fn action_at(words: &[W], at: usize, speakers: &[String]) -> Option<Trigger> {
    let word = &words[at];
    if at > 0
        && in_list(
            &words[at - 1].norm,
            &[
                "what", "who", "how", "why", "when", "where", "whether", "if", "unless",
            ],
        )
    {
        return None;
    }

    // "I'll", "we'll", "Alice'll"; "I'm / we're / Alice's going to / gonna".
    let (subject_norm, body) = if let Some(subject) = word.norm.strip_suffix("'ll") {
        let next = skip_adverbs(words, at + 1);
        let body = if seq_at(words, next, &["need", "to"]) || seq_at(words, next, &["have", "to"]) {
            next + 2
        } else {
            next
        };
        (subject.to_owned(), Some(body))
    } else if let Some(subject) = ["'m", "'re", "'s"]
        .iter()
        .find_map(|suffix| word.norm.strip_suffix(suffix))
    {
        let next = skip_adverbs(words, at + 1);
        if seq_at(words, next, &["going", "to"]) {
            (subject.to_owned(), Some(next + 2))
        } else if seq_at(words, next, &["gonna"]) {
            (subject.to_owned(), Some(next + 1))
        } else if seq_at(words, next, &["supposed", "to"]) {
            (subject.to_owned(), Some(next + 2))
        } else {
            return None;
        }
    } else {
        let next = skip_adverbs(words, at + 1);
        let modal = MODALS.iter().find(|modal| seq_at(words, next, modal))?;
        (word.norm.clone(), Some(next + modal.len()))
    };
    let body = skip_adverbs(words, body?);
    let (start, subject) = subject_at(words, at, &subject_norm, speakers)?;

    // "will be sending" → "sending"; "will be fine" is not a task.
    let mut body = body;
    if words.get(body).is_some_and(|w| w.norm == "be") {
        if words.get(body + 1).is_some_and(|w| w.norm.ends_with("ing")) {
            body += 1;
        } else {
            return None;
        }
    }
    let first = words.get(body)?;
    if in_list(&first.norm, NOT_TASKS) && !is_have_task(words, body) && !gets_by(words, body) {
        return None;
    }
    let needs_deadline = matches!(subject, Subject::Unclear);
    Some(Trigger {
        start,
        body,
        kind: TriggerKind::Action {
            subject,
            needs_deadline,
        },
    })
}

/// "have the report ready", "get the numbers to finance": `have`/`get` followed by a determiner
/// is a task; "have a problem" is not, so only "the"/"our"/"my" count.
fn is_have_task(words: &[W], at: usize) -> bool {
    let Some(verb) = words.get(at) else {
        return false;
    };
    let next = words.get(at + 1).map(|w| w.norm.as_str());
    match verb.norm.as_str() {
        "get" if next == Some("back") => true,
        "get" | "have" => {
            next.is_some_and(|w| in_list(w, &["the", "our", "my", "this", "that", "it"]))
        }
        _ => false,
    }
}

/// "get three quotes from movers in ten days": `get` with a deadline in its clause is a task
/// ("will get better" and "will get a lot of rain" name no deadline).
fn gets_by(words: &[W], at: usize) -> bool {
    words.get(at).is_some_and(|w| w.norm == "get")
        && find_deadline(words, at + 1, body_end(words, at, words.len())).is_some()
}

fn request_at(words: &[W], at: usize) -> Option<Trigger> {
    let word = &words[at];
    // "<Name>, please send …"
    if word.norm == "please" {
        let vocative = at.checked_sub(1).map(|p| &words[p])?;
        if !(vocative.comma_after && looks_like_name(vocative)) {
            return None;
        }
        return request_body(words, at - 1, at + 1, Subject::Named(vocative.orig.clone()));
    }
    // "(<Name>,) can / could / would / will you (please) …"
    if !in_list(&word.norm, &["can", "could", "would", "will"]) {
        return None;
    }
    let addressee = words.get(at + 1).map(|w| w.norm.as_str());
    if in_list(
        addressee.unwrap_or_default(),
        &["someone", "somebody", "anyone", "anybody"],
    ) {
        // "Can someone look at …": a request to nobody in particular.
        return request_body(words, at, skip_adverbs(words, at + 2), Subject::Unclear);
    }
    if addressee != Some("you") {
        return None;
    }
    let body = skip_adverbs(words, at + 2);
    match at.checked_sub(1).map(|p| &words[p]) {
        Some(vocative) if looks_like_name(vocative) => {
            request_body(words, at - 1, body, Subject::Named(vocative.orig.clone()))
        }
        Some(previous) if !previous.comma_after && !previous.stop_after => {
            // "… and can you", "if you could": only at the start of a clause.
            if in_list(
                &previous.norm,
                &["so", "and", "also", "then", "um", "uh", "okay"],
            ) {
                request_body(words, at, body, Subject::You)
            } else {
                None
            }
        }
        _ => request_body(words, at, body, Subject::You),
    }
}

fn request_body(words: &[W], start: usize, body: usize, subject: Subject) -> Option<Trigger> {
    let first = words.get(body)?;
    if in_list(&first.norm, NOT_TASKS) && !is_have_task(words, body) {
        return None;
    }
    Some(Trigger {
        start,
        body,
        kind: TriggerKind::Action {
            subject,
            needs_deadline: false,
        },
    })
}

fn explicit_at(words: &[W], at: usize, speakers: &[String]) -> Option<Trigger> {
    if !(words[at].norm == "action"
        && words
            .get(at + 1)
            .is_some_and(|w| w.norm == "item" || w.norm == "items"))
    {
        return None;
    }
    let mut body = at + 2;
    let mut subject = Subject::Unclear;
    if words.get(body).is_some_and(|w| w.norm == "for") {
        let owner = words.get(body + 1)?;
        subject = match owner.norm.as_str() {
            "me" => Subject::Speaker,
            "us" => Subject::Team,
            _ => match subject_at(words, body + 1, &owner.norm, speakers) {
                Some((_, named @ Subject::Named(_))) => named,
                _ => return None,
            },
        };
        body += 2;
    }
    if words.get(body).is_some_and(|w| w.norm == "is") {
        body += 1;
    }
    if words.get(body).is_some_and(|w| w.norm == "to") {
        body += 1;
    }
    words.get(body)?;
    Some(Trigger {
        start: at,
        body,
        kind: TriggerKind::Action {
            subject,
            needs_deadline: false,
        },
    })
}

/// "let's have Priya draft the FAQ", "we need Tom to call the client", "I'd like Ana to
/// review it": a task handed to a named person by someone else.
fn delegated_at(words: &[W], at: usize) -> Option<Trigger> {
    const OPENINGS: &[&[&str]] = &[
        &["let's", "have"],
        &["let", "us", "have"],
        &["we", "need"],
        &["i", "need"],
        &["we'd", "like"],
        &["i'd", "like"],
        &["we", "want"],
        &["i", "want"],
    ];
    let opening = OPENINGS.iter().find(|o| seq_at(words, at, o))?;
    let name_at = at + opening.len();
    let name = words.get(name_at)?;
    if !looks_like_name(name) || name.norm.ends_with("'s") {
        return None;
    }
    let body = if opening[opening.len() - 1] == "have" {
        name_at + 1
    } else if words.get(name_at + 1).is_some_and(|w| w.norm == "to") {
        name_at + 2
    } else {
        return None;
    };
    request_body(words, at, body, Subject::Delegated(name.orig.clone()))
}

fn let_me_at(words: &[W], at: usize) -> Option<Trigger> {
    if !(words[at].norm == "let" && words.get(at + 1).is_some_and(|w| w.norm == "me")) {
        return None;
    }
    let body = skip_adverbs(words, at + 2);
    let first = words.get(body)?;
    if in_list(&first.norm, NOT_TASKS) && !is_have_task(words, body) {
        return None;
    }
    Some(Trigger {
        start: at,
        body,
        kind: TriggerKind::Action {
            subject: Subject::Speaker,
            needs_deadline: true,
        },
    })
}

/// Decision phrases and what the decision text starts with.
const DECISIONS: &[(&[&str], &str)] = &[
    (&["we", "have", "decided"], ""),
    (&["we've", "decided"], ""),
    (&["we", "all", "decided"], ""),
    (&["we", "decided"], ""),
    (&["it's", "decided"], ""),
    (&["it", "is", "decided"], ""),
    (&["we", "have", "agreed"], ""),
    (&["we've", "agreed"], ""),
    (&["we", "all", "agreed"], ""),
    (&["we", "all", "agree"], ""),
    (&["we", "agreed"], ""),
    (&["we", "agree"], ""),
    (&["everyone", "agreed"], ""),
    (&["everybody", "agreed"], ""),
    (&["the", "final", "decision", "is"], ""),
    (&["the", "decision", "is"], ""),
    (&["our", "decision", "is"], ""),
    (&["final", "decision"], ""),
    (&["let's", "go", "ahead", "with"], "Go ahead with"),
    (&["let's", "go", "with"], "Go with"),
    (&["let", "us", "go", "with"], "Go with"),
    (&["we", "will", "go", "ahead", "with"], "Go ahead with"),
    (&["we'll", "go", "ahead", "with"], "Go ahead with"),
    (&["we're", "going", "ahead", "with"], "Go ahead with"),
    (&["we", "will", "go", "with"], "Go with"),
    (&["we'll", "go", "with"], "Go with"),
    (&["we're", "going", "with"], "Go with"),
    (&["we", "are", "going", "with"], "Go with"),
    (&["we're", "going", "to", "go", "with"], "Go with"),
    (&["we", "are", "going", "to", "go", "with"], "Go with"),
    (&["agreed", "we", "will"], ""),
    (&["agreed", "we'll"], ""),
    (&["let's", "stick", "with"], "Stick with"),
    (&["let's", "switch", "to"], "Switch to"),
    (&["we", "settled", "on"], ""),
    (&["we've", "settled", "on"], ""),
    (&["we", "chose"], ""),
    (&["we", "picked"], ""),
];

/// "Let's keep the retro format as it is" decides; "let's keep it moving" / "let's keep it on
/// the list" does not: the kept thing must be named, not "it".
fn let_us_keep(words: &[W], at: usize) -> Option<(&'static [&'static str], &'static str)> {
    const PHRASE: &[&str] = &["let's", "keep"];
    (seq_at(words, at, PHRASE)
        && words.get(at + 2).is_some_and(|w| {
            !in_list(
                &w.norm,
                &[
                    "it", "that", "this", "them", "going", "moving", "in", "on", "up",
                ],
            )
        }))
    .then_some((PHRASE, "Keep"))
}

/// Where the question of a sentence ending in `?` starts: after the last comma that a question
/// word or a name follows ("…, Martin, when does our lease end?"), else at the start. A
/// decision said before it stands ("we decided to move to Harbor Street, Martin, when …?").
fn question_start(words: &[W]) -> usize {
    const ASKING: &[&str] = &[
        "when", "what", "where", "who", "why", "how", "which", "does", "do", "did", "is", "are",
        "can", "could", "would", "will", "should", "any", "right",
    ];
    (1..words.len())
        .rev()
        .find(|&k| {
            words[k - 1].comma_after
                && (in_list(&words[k].norm, ASKING) || looks_like_name(&words[k]))
        })
        .unwrap_or(0)
}

/// Words before a decision phrase that make it no decision ("if we agree", "we never decided").
const DECISION_GUARDS: &[&str] = &[
    "if", "once", "whether", "unless", "when", "until", "before", "after", "not", "never",
    "haven't", "hasn't", "didn't", "don't", "can't", "won't", "maybe", "should", "could", "would",
    "might",
    // A question whose mark speech recognition lost: "did we agree on the travel policy, by the
    // way."
    "did", "do", "does", "have", "has", "had",
];

fn decision_at(words: &[W], at: usize, question_from: Option<usize>) -> Option<Trigger> {
    if question_from.is_some_and(|q| at >= q) {
        return None;
    }
    let (phrase, prefix) = DECISIONS
        .iter()
        .find(|(phrase, _)| seq_at(words, at, phrase))
        .map(|(phrase, prefix)| (*phrase, *prefix))
        .or_else(|| let_us_keep(words, at))?;
    let guard_from = at.saturating_sub(2);
    if words[guard_from..at]
        .iter()
        .any(|w| in_list(&w.norm, DECISION_GUARDS))
    {
        return None;
    }
    let mut body = at + phrase.len();
    if prefix.is_empty() {
        while words
            .get(body)
            .is_some_and(|w| in_list(&w.norm, &["to", "that", "on", "upon", "is", "was"]))
        {
            body += 1;
        }
    }
    words.get(body)?;
    Some(Trigger {
        start: at,
        body,
        kind: TriggerKind::Decision { prefix },
    })
}

/// "Agreed" as a chair's verdict, and what speech recognition makes of it when said alone
/// ("And read.", "A breed.").
const AGREEMENT: &[&[&str]] = &[&["agreed"], &["and", "read"], &["a", "breed"]];

/// Length of the agreement that opens `words` and ends with a punctuation mark ("Agreed:",
/// "And read,"), if one does.
fn agreement_at_start(words: &[W]) -> Option<usize> {
    AGREEMENT
        .iter()
        .find(|form| {
            seq_at(words, 0, form) && {
                let last = &words[form.len() - 1];
                last.stop_after || last.comma_after
            }
        })
        .map(|form| form.len())
}

/// Whether a sentence is nothing but an agreement ("Agreed.").
fn is_bare_agreement(words: &[W]) -> bool {
    AGREEMENT
        .iter()
        .any(|form| form.len() == words.len() && seq_at(words, 0, form))
}

/// First words of a clause after "Agreed" that make it a reply, not a verdict ("Agreed. I was
/// going to say that.", "Agreed, it was painful.").
const NOT_VERDICTS: &[&str] = &[
    "i",
    "i'm",
    "i've",
    "i'd",
    "me",
    "my",
    "it",
    "it's",
    "that",
    "that's",
    "this",
    "yes",
    "yeah",
    "good",
    "great",
    "sure",
    "okay",
    "ok",
    "so",
    "and",
    "but",
    "maybe",
    "perhaps",
    "let's",
    "you",
    "they",
    "he",
    "she",
    "what",
    "how",
    "why",
    "when",
    "who",
    "thanks",
    "thank",
    "too",
    "same",
    "well",
    "totally",
    "absolutely",
    "makes",
    "if",
    "no",
    "not",
];
/// Words that make the clause after "Agreed" an opinion, a need or a description rather than
/// what happens next ("Agreed. The tests are flaky.", "Agreed. We could try it.", "Agreed. We
/// need to update the notes.").
const NOT_SETTLED: &[&str] = &[
    "maybe", "perhaps", "could", "might", "should", "would", "may", "think", "if", "wonder",
    "guess", "is", "are", "was", "were", "been", "seems", "looks", "sounds", "not", "never",
    "need", "needs", "must", "want", "wants", "hope", "try",
];

/// The clause `words[from..]` as a verdict after "Agreed": a statement of what happens ("the
/// search feature moves to the next sprint", "we hire two data engineers"). Returns its end.
fn verdict(words: &[W], from: usize) -> Option<usize> {
    let first = words.get(from)?;
    if in_list(&first.norm, NOT_VERDICTS) {
        return None;
    }
    let end = body_end(words, from, words.len());
    let end = trim_filler(words, from, end);
    let clause = &words[from..end];
    (clause.len() >= 3 && !clause.iter().any(|w| in_list(&w.norm, NOT_SETTLED))).then_some(end)
}

fn is_clause_break(words: &[W], at: usize) -> bool {
    let word = &words[at];
    if in_list(&word.norm, CLAUSE_BREAKS) {
        return true;
    }
    at > 0
        && (words[at - 1].stop_after
            || (words[at - 1].comma_after && in_list(&word.norm, CLAUSE_BREAKS_AFTER_COMMA)))
        || (word.norm == "so"
            && words
                .get(at + 1)
                .is_some_and(|w| w.norm == "that" || in_list(&w.norm, SUBJECTS_AFTER_SO)))
}

/// End (exclusive) of the body starting at `body`, before the next trigger at `limit`.
fn body_end(words: &[W], body: usize, limit: usize) -> usize {
    let mut end = body + 1;
    while end < limit && end - body < MAX_TASK_WORDS && !is_clause_break(words, end) {
        end += 1;
    }
    end.min(limit)
}

/// A deadline found in a span of words: where it is and how it reads.
#[derive(Clone, Debug)]
struct Deadline {
    start: usize,
    end: usize,
    due: String,
}

/// Length of a time phrase starting at `at` (without a preposition), if there is one.
fn time_phrase(words: &[W], at: usize, end: usize) -> Option<usize> {
    let word = |k: usize| {
        words
            .get(at + k)
            .filter(|_| at + k < end)
            .map(|w| w.norm.as_str())
    };
    let day_part = |k: usize| word(k).is_some_and(|w| in_list(w, DAY_PARTS));
    let w0 = word(0)?;
    if in_list(w0, WEEKDAYS) || w0 == "tomorrow" {
        return Some(if day_part(1) { 2 } else { 1 });
    }
    if in_list(
        w0,
        &[
            "today", "tonight", "noon", "midnight", "eod", "eow", "cob", "asap",
        ],
    ) {
        return Some(1);
    }
    if in_list(w0, &["next", "this", "coming"]) {
        let w1 = word(1)?;
        if is_period(w1) || in_list(w1, WEEKDAYS) || in_list(w1, EVENTS) {
            return Some(if day_part(2) { 3 } else { 2 });
        }
        if w0 == "this" && in_list(w1, DAY_PARTS) {
            return Some(2);
        }
        return None;
    }
    // "(the) end of (the) week"
    let mut k = 0;
    if w0 == "the" {
        k = 1;
    }
    if word(k) == Some("end") && word(k + 1) == Some("of") {
        let mut j = k + 2;
        if word(j) == Some("the") || word(j) == Some("this") || word(j) == Some("next") {
            j += 1;
        }
        if word(j).is_some_and(|w| is_period(w) || w == "day" || in_list(w, MONTHS)) {
            return Some(j + 1);
        }
        return None;
    }
    // "the release", "the next meeting", "the design review"
    if w0 == "the" || w0 == "our" {
        for j in 1..=3 {
            match word(j) {
                Some(w) if in_list(w, EVENTS) => return Some(j + 1),
                Some(w) if w.chars().all(char::is_alphabetic) => {}
                _ => break,
            }
        }
        return None;
    }
    // "December 1st", "1st of December", "December"
    let is_day_number = |w: &str| {
        let digits = w.trim_end_matches(|c: char| c.is_alphabetic());
        !digits.is_empty() && digits.len() <= 2 && digits.chars().all(|c| c.is_ascii_digit())
    };
    if in_list(w0, MONTHS) {
        return Some(if word(1).is_some_and(is_day_number) {
            2
        } else {
            1
        });
    }
    if is_day_number(w0) {
        if word(1) == Some("of") && word(2).is_some_and(|w| in_list(w, MONTHS)) {
            return Some(3);
        }
        if word(1).is_some_and(|w| in_list(w, MONTHS)) {
            return Some(2);
        }
        return None;
    }
    // 2026-12-01
    let iso = w0.len() == 10
        && w0.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    iso.then_some(1)
}

/// "the move", "her first day", "the user test", "the next sprint": a determiner and one to three
/// words that close the clause (its end, or a comma or full stop after the last word). Words that
/// start a new clause end no event ("before the team starts" is a clause, not an event).
fn event_phrase(words: &[W], at: usize, end: usize) -> Option<usize> {
    const DETERMINERS: &[&str] = &[
        "the", "her", "his", "their", "our", "your", "my", "next", "this",
    ];
    if !words
        .get(at)
        .is_some_and(|w| at < end && in_list(&w.norm, DETERMINERS))
    {
        return None;
    }
    for len in 2..=4 {
        let last = at + len - 1;
        if last >= end {
            return None;
        }
        let word = &words[last];
        if !word.norm.chars().all(char::is_alphabetic)
            || in_list(&word.norm, FUNCTION_WORDS)
            || in_list(&word.norm, VAGUE)
        {
            return None;
        }
        if last + 1 == end || word.comma_after || word.stop_after {
            return Some(len);
        }
    }
    None
}

/// What speech recognition makes of "by" before a weekday ("by Friday" heard as "I Friday",
/// "high Friday", "my Monday", "buy Friday", "bye Friday", "pie Friday").
pub(super) const MISHEARD_BY: &[&str] = &[
    "i", "high", "my", "buy", "bye", "pie", "bi", "hi", "be", "why", "like",
];

/// What speech recognition makes of "sprint" after "next" or "this" ("before the next print",
/// "this print"): no period of time, so read as the sprint it was.
const MISHEARD_SPRINT: &[&str] = &["print", "prints"];

/// Whether `word` names a period ("week", "sprint", and "sprint" misheard).
fn is_period(word: &str) -> bool {
    in_list(word, PERIODS) || in_list(word, MISHEARD_SPRINT)
}

const NUMBERS: &[&str] = &[
    "a", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "couple",
];

/// The first deadline in `words[from..to]`.
fn find_deadline(words: &[W], from: usize, to: usize) -> Option<Deadline> {
    let text = |a: usize, b: usize| {
        words[a..b]
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let after_next = k > 0 && in_list(&words[a + k - 1].norm, &["next", "this"]);
                match w.norm.as_str() {
                    "print" if after_next => "sprint",
                    "prints" if after_next => "sprints",
                    _ => w.orig.as_str(),
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    for at in from..to {
        let norm = words[at].norm.as_str();
        // "by Friday", "due by Friday" (said "by Friday"), "on Wednesday".
        if in_list(norm, &["by", "due", "on"]) {
            let by_at = if norm == "due" && words.get(at + 1).is_some_and(|w| w.norm == "by") {
                at + 1
            } else {
                at
            };
            let phrase_at = by_at + 1;
            if let Some(len) = time_phrase(words, phrase_at, to) {
                // "on" only introduces days and dates, not "on the release".
                if norm != "on" || words[phrase_at].norm != "the" {
                    return Some(Deadline {
                        start: at,
                        end: phrase_at + len,
                        due: text(by_at, phrase_at + len),
                    });
                }
            }
        }
        // "by" misheard before a day at the end of the clause: "send the budget I Friday",
        // "… high Friday", "… my Monday". Only a lone day closing the task is read so: "I
        // Friday" inside a clause is no deadline.
        if at > from
            && in_list(norm, MISHEARD_BY)
            && words
                .get(at + 1)
                .is_some_and(|w| in_list(&w.norm, WEEKDAYS))
            && (at + 2 == to || words[at + 1].stop_after || words[at + 1].comma_after)
        {
            return Some(Deadline {
                start: at,
                end: at + 2,
                due: format!("by {}", words[at + 1].orig),
            });
        }
        // Prepositions kept ("before the release"); an event of the meeting's own closing
        // the clause is a deadline too ("before the move", "before her first day").
        // The longer reading wins: "before the first weekend move" is the move, not the
        // weekend.
        if in_list(norm, &["before", "until", "till"])
            && let Some(len) = time_phrase(words, at + 1, to).max(event_phrase(words, at + 1, to))
        {
            return Some(Deadline {
                start: at,
                end: at + 1 + len,
                due: text(at, at + 1 + len),
            });
        }
        if seq_at(words, at, &["no", "later", "than"])
            && let Some(len) = time_phrase(words, at + 3, to)
        {
            return Some(Deadline {
                start: at,
                end: at + 3 + len,
                due: text(at, at + 3 + len),
            });
        }
        // "in two weeks", "within a day"
        if in_list(norm, &["in", "within"])
            && words.get(at + 1).is_some_and(|w| {
                in_list(&w.norm, NUMBERS) || w.norm.chars().all(|c| c.is_ascii_digit())
            })
        {
            let mut unit_at = at + 2;
            if words.get(unit_at).is_some_and(|w| w.norm == "of") {
                unit_at += 1;
            }
            if unit_at < to
                && words.get(unit_at).is_some_and(|w| {
                    in_list(
                        w.norm.trim_end_matches('s'),
                        &["day", "week", "month", "hour", "sprint"],
                    )
                })
            {
                return Some(Deadline {
                    start: at,
                    end: unit_at + 1,
                    due: text(at, unit_at + 1),
                });
            }
        }
        // Bare: "tomorrow", "next week", "this Friday", "end of the month", "later today".
        if in_list(
            norm,
            &["tomorrow", "today", "tonight", "next", "this", "eod", "end"],
        ) || (norm == "later" && words.get(at + 1).is_some_and(|w| w.norm == "today"))
        {
            let phrase_at = if norm == "later" { at + 1 } else { at };
            if let Some(len) = time_phrase(words, phrase_at, to) {
                // "in the next sprint", "during this week": the preposition goes with it.
                const PREPOSITIONS: &[&str] = &["in", "during", "at", "for"];
                let mut start = at;
                if at >= from + 2
                    && words[at - 1].norm == "the"
                    && in_list(&words[at - 2].norm, PREPOSITIONS)
                {
                    start = at - 2;
                } else if at > from && in_list(&words[at - 1].norm, PREPOSITIONS) {
                    start = at - 1;
                }
                return Some(Deadline {
                    start,
                    end: phrase_at + len,
                    due: text(at, phrase_at + len),
                });
            }
        }
    }
    None
}

fn trim_filler(words: &[W], start: usize, mut end: usize) -> usize {
    while end > start && in_list(&words[end - 1].norm, TRAILING_FILLER) {
        end -= 1;
    }
    end
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The action items and decisions found in a meeting's sentences.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extracted {
    /// Action items in time order.
    pub action_items: Vec<ActionItem>,
    /// Decisions in time order.
    pub decisions: Vec<Decision>,
    /// Indices of the sentences that held an item or a decision.
    pub sentences_with_items: Vec<usize>,
}

/// Finds action items and decisions in `sentences`. `speakers` are the display labels, which
/// count as names even in lower case.
pub fn extract(sentences: &[Sentence], speakers: &[String]) -> Extracted {
    let mut out = Extracted::default();
    let names = Names::read(sentences);
    // The speaker of the previous sentence when it was a bare "Agreed.".
    let mut agreed_by: Option<&str> = None;
    for (index, sentence) in sentences.iter().enumerate() {
        let words = words_of(sentence);
        let after_agreement = agreed_by.take() == Some(sentence.speaker.as_str());
        if words.is_empty() {
            continue;
        }
        if is_bare_agreement(&words) {
            agreed_by = Some(sentence.speaker.as_str());
            continue;
        }
        let is_question = sentence
            .tokens
            .last()
            .is_some_and(|t| t.text.trim_end().ends_with('?'));
        let question_from = is_question.then(|| question_start(&words));
        let mut triggers: Vec<Trigger> = Vec::new();
        let mut at = 0;
        while at < words.len() {
            let found = decision_at(&words, at, question_from)
                .or_else(|| explicit_at(&words, at, speakers))
                .or_else(|| request_at(&words, at))
                .or_else(|| let_me_at(&words, at))
                .or_else(|| delegated_at(&words, at))
                .or_else(|| action_at(&words, at, speakers));
            match found {
                // What was decided is not also an action item: "we agreed that you will move
                // to the platform team" is one decision. The next trigger starts after its clause.
                Some(trigger) if matches!(trigger.kind, TriggerKind::Decision { .. }) => {
                    at = body_end(&words, trigger.body, words.len()).max(trigger.body + 1);
                    triggers.push(trigger);
                }
                Some(trigger) => {
                    at = trigger.body;
                    triggers.push(trigger);
                }
                None => at += 1,
            }
        }
        // "Agreed: the search feature moves to the next sprint." / "Agreed. We hire two." — the
        // chair's verdict, when the clause holds no other item or decision.
        // It restates what was just discussed, so the prose is not steered towards it.
        let mut verdict_only = false;
        if triggers.is_empty() && !is_question {
            let from = agreement_at_start(&words).or(after_agreement.then_some(0));
            if let Some(from) = from
                && verdict(&words, from).is_some()
            {
                verdict_only = true;
                triggers.push(Trigger {
                    start: from,
                    body: from,
                    kind: TriggerKind::Decision { prefix: "" },
                });
            }
        }
        let mut found_any = false;
        for (k, trigger) in triggers.iter().enumerate() {
            let limit = triggers.get(k + 1).map_or(words.len(), |next| next.start);
            if trigger.body >= limit {
                continue;
            }
            let end = body_end(&words, trigger.body, limit);
            match &trigger.kind {
                TriggerKind::Decision { prefix } => {
                    // Before a closing question, and without the name it is put to.
                    let mut end = end.min(question_from.unwrap_or(usize::MAX));
                    if end > trigger.body + 1
                        && words[end - 2].comma_after
                        && looks_like_name(&words[end - 1])
                    {
                        end -= 1;
                    }
                    let end = trim_filler(&words, trigger.body, end);
                    if end <= trigger.body {
                        continue;
                    }
                    let mut text: Vec<&str> = words[trigger.body..end]
                        .iter()
                        .map(|w| w.orig.as_str())
                        .collect();
                    if text.first().is_some_and(|w| w.eq_ignore_ascii_case("not"))
                        && text.get(1).is_some_and(|w| w.eq_ignore_ascii_case("to"))
                    {
                        text.splice(0..2, ["do", "not"]);
                    }
                    let body = text.join(" ");
                    let decision = if prefix.is_empty() {
                        capitalise(&body)
                    } else {
                        format!("{prefix} {body}")
                    };
                    if !out
                        .decisions
                        .iter()
                        .any(|d| d.decision.eq_ignore_ascii_case(&decision))
                    {
                        out.decisions.push(Decision {
                            decision,
                            source_time: sentence.start.max(0.0),
                        });
                        found_any = true;
                    }
                }
                TriggerKind::Action {
                    subject,
                    needs_deadline,
                } => {
                    if let Some(item) = action_item(
                        &words,
                        trigger,
                        end,
                        subject,
                        *needs_deadline,
                        k == 0,
                        Said {
                            index,
                            sentences,
                            names: &names,
                        },
                    ) && !out
                        .action_items
                        .iter()
                        .any(|i| i.task.eq_ignore_ascii_case(&item.task) && i.owner == item.owner)
                    {
                        out.action_items.push(item);
                        found_any = true;
                    }
                }
            }
        }
        if found_any && !verdict_only {
            out.sentences_with_items.push(index);
        }
    }
    out
}

/// Whether `norm` occurs somewhere in the meeting written in lower case (a common word, not a
/// name: speech recognition capitalises names wherever they fall).
fn said_in_lower_case(sentences: &[Sentence], norm: &str) -> bool {
    sentences.iter().any(|sentence| {
        sentence.tokens.iter().any(|token| {
            let word = token
                .text
                .trim()
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
            !word.is_empty()
                && word.chars().next().is_some_and(char::is_lowercase)
                && word.to_lowercase() == norm
        })
    })
}

/// Where an item was said: its sentence among the meeting's, and who is who.
#[derive(Clone, Copy)]
struct Said<'a> {
    index: usize,
    sentences: &'a [Sentence],
    names: &'a Names,
}

fn action_item(
    words: &[W],
    trigger: &Trigger,
    end: usize,
    subject: &Subject,
    needs_deadline: bool,
    first_in_sentence: bool,
    said: Said<'_>,
) -> Option<ActionItem> {
    let sentence = said.sentences.get(said.index)?;
    let mut end = end;
    let mut needs_deadline = needs_deadline;
    let mut owner = match subject {
        Subject::Speaker => said.names.speaker(said.index),
        Subject::Team => Some(TEAM_OWNER.to_owned()),
        Subject::Named(name) => {
            let owner = said.names.canonical(name);
            // At the start of a sentence every word is capitalised, so there the case says
            // nothing: "Customers will notice…" names no one when the meeting also says
            // "customers" in lower case elsewhere. A name people use for each other, or a
            // speaker's label, still owns the item.
            let label = said.sentences.iter().any(|s| s.speaker == owner);
            if trigger.start == 0 && !said.names.is_known(&owner) && !label {
                if said_in_lower_case(said.sentences, &words[trigger.start].norm) {
                    return None;
                }
                // Nobody in the meeting goes by it either, and it is told what it has to do:
                // "Security still has to approve the rules" is a constraint on a group, unless
                // a deadline makes it an assignment. "Aisha will set up …" still commits Aisha.
                let obliged = words[trigger.start + 1..trigger.body].iter().any(|w| {
                    in_list(
                        &w.norm,
                        &["has", "have", "needs", "need", "must", "should", "supposed"],
                    )
                });
                needs_deadline |= obliged;
            }
            Some(owner)
        }
        Subject::Delegated(name) => {
            let owner = said.names.canonical(name);
            let label = said.sentences.iter().any(|s| s.speaker == owner);
            if !said.names.is_known(&owner) && !label {
                return None;
            }
            Some(owner)
        }
        Subject::You | Subject::Unclear => None,
    };
    // "… could you review it, Bob?" / "Bob, you need to …": a vocative names the owner; else
    // whoever takes the floor accepting the request.
    if matches!(subject, Subject::You) {
        let last = end - 1;
        if last > trigger.body && words[last - 1].comma_after && looks_like_name(&words[last]) {
            owner = Some(said.names.canonical(&words[last].orig));
            end = last;
        } else if trigger.start > 0
            && words[trigger.start - 1].comma_after
            && looks_like_name(&words[trigger.start - 1])
        {
            owner = Some(said.names.canonical(&words[trigger.start - 1].orig));
        } else {
            owner = said.names.answerer(said.index);
        }
    }
    // "Can you, Tom, write the plan?": the name between "you," and the task owns it.
    let mut body = trigger.body;
    if matches!(subject, Subject::You)
        && body > 0
        && body + 2 < end
        && words[body - 1].comma_after
        && words[body].comma_after
        && looks_like_name(&words[body])
    {
        owner = Some(said.names.canonical(&words[body].orig));
        body += 1;
    }
    let deadline = find_deadline(words, body, end).or_else(|| {
        first_in_sentence
            .then(|| find_deadline(words, 0, trigger.start))
            .flatten()
    });
    if needs_deadline && deadline.is_none() {
        return None;
    }
    let task_words: Vec<&W> = words[body..end]
        .iter()
        .enumerate()
        .filter(|(offset, _)| {
            let at = body + offset;
            deadline
                .as_ref()
                .is_none_or(|d| at < d.start || at >= d.end)
        })
        .map(|(_, w)| w)
        .collect();
    let mut task_end = task_words.len();
    while task_end > 0 && in_list(&task_words[task_end - 1].norm, TRAILING_FILLER) {
        task_end -= 1;
    }
    let task_words = &task_words[..task_end];
    // "I will run a not cut marketing" (speech recognition's "I would rather not …"), "I'll
    // never renew it by hand": a negated clause commits to nothing.
    if task_words
        .iter()
        .take(3)
        .any(|w| matches!(w.norm.as_str(), "not" | "never") || w.norm.ends_with("n't"))
    {
        return None;
    }
    let content = task_words
        .iter()
        .filter(|w| !in_list(&w.norm, VAGUE) && !in_list(&w.norm, FUNCTION_WORDS))
        .count();
    if task_words.len() < 2 || content < 2 {
        return None;
    }
    let task = task_words
        .iter()
        .map(|w| w.orig.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Some(ActionItem {
        task,
        owner,
        due: deadline.map(|d| d.due),
        due_date: None,
        source_time: sentence.start.max(0.0),
    })
}
