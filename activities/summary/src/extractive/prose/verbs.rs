//! Verbs without a parser: whether a sentence has a finite verb (a whole sentence, "The launch
//! date moved.", against a verbless fragment, "The login bug, the launch date and hiring."), and
//! the verb forms the person rewrite needs ("think" → "thinks").
//!
//! [`has_finite_verb`] reads a word as a finite verb when one of these holds:
//! 1. **Closed lexicon.** It is a finite auxiliary, modal or copula ("is", "was", "will", "can",
//!    "don't", "let's") or a contraction carrying one ("I'm", "we'll", "they've", "it's"). Guards:
//!    after "to" it is an infinitive; after a determiner it is a noun ("the will", "a can");
//!    "May" capitalised inside a sentence is the month; "have"/"do" opening a sentence are
//!    imperatives.
//! 2. **Pronoun subject + verb.** It follows "I", "we", "they", "he" or "she" (adverbs may stand
//!    between) and is no function word: "we decided", "I already merged". After "you" or "it",
//!    which may also be objects, only when the pronoun opens a clause and the word is a known
//!    verb form: "it works", but not "see it soon".
//! 3. **Morphology after a subject.** It is the third-person form of a known verb ("needs",
//!    "fixes"), a past form ("-ed", or an irregular past such as "went", "said"), or, after a
//!    plural noun, a plain form of a verb that is rarely a noun ("the numbers need"), and the
//!    word before it (adverbs skipped) can end a subject: a name, a noun, "this", "who",
//!    "everyone". Guards: a determiner or preposition before it makes it a modifier ("the
//!    updated quotes"); "-eed" words are pasts only from a verb in "-e" ("agreed", not "need"),
//!    and a few adjectives ending in "-ed" ("hundred", "naked") are none; a "-s" form must be
//!    followed by more of the sentence (not "and", not the end), since "the release notes" and
//!    "pull requests" are nouns as often as verbs; a verb form is no plural subject ("Sounds
//!    like a plan").
//!
//! Everything is a lookup in the lists below, so the answer is deterministic and explainable;
//! it errs towards "no verb" for short clauses of nouns, which is the side a summary can afford.

use super::Word;

/// Finite auxiliaries, modals and copulas: a sentence with one of them (unguarded) has a verb.
const FINITE_AUXILIARIES: &[&str] = &[
    "am", "is", "are", "was", "were", "isn't", "aren't", "wasn't", "weren't", "has", "had",
    "hasn't", "haven't", "hadn't", "does", "did", "doesn't", "don't", "didn't", "ain't", "let's",
];

/// Modal verbs: finite, and unchanged by the person of the subject.
const MODALS: &[&str] = &[
    "can",
    "could",
    "will",
    "would",
    "shall",
    "should",
    "may",
    "might",
    "must",
    "won't",
    "wouldn't",
    "can't",
    "cannot",
    "couldn't",
    "shan't",
    "shouldn't",
    "mustn't",
    "mightn't",
];

/// Common verbs in their plain form, the lexicon for third-person forms and agreement.
const BASE_VERBS: &[&str] = &[
    "accept",
    "add",
    "adjust",
    "agree",
    "aim",
    "allow",
    "announce",
    "answer",
    "apply",
    "approve",
    "argue",
    "arrange",
    "ask",
    "assign",
    "assume",
    "attend",
    "avoid",
    "become",
    "begin",
    "believe",
    "book",
    "break",
    "bring",
    "build",
    "buy",
    "call",
    "cancel",
    "care",
    "catch",
    "change",
    "charge",
    "check",
    "choose",
    "clarify",
    "clean",
    "close",
    "collect",
    "come",
    "commit",
    "compare",
    "complain",
    "complete",
    "confirm",
    "consider",
    "contact",
    "continue",
    "cost",
    "cover",
    "create",
    "cut",
    "deal",
    "decide",
    "deliver",
    "depend",
    "deploy",
    "describe",
    "design",
    "disagree",
    "discuss",
    "do",
    "double",
    "doubt",
    "draft",
    "drive",
    "drop",
    "email",
    "enable",
    "end",
    "estimate",
    "expect",
    "explain",
    "extend",
    "feel",
    "figure",
    "file",
    "fill",
    "find",
    "finish",
    "fit",
    "fix",
    "focus",
    "follow",
    "forget",
    "freeze",
    "get",
    "give",
    "go",
    "grow",
    "guess",
    "handle",
    "happen",
    "hate",
    "have",
    "hear",
    "help",
    "hire",
    "hold",
    "hope",
    "host",
    "improve",
    "include",
    "increase",
    "inform",
    "insist",
    "introduce",
    "invite",
    "involve",
    "join",
    "keep",
    "know",
    "land",
    "last",
    "launch",
    "lead",
    "learn",
    "leave",
    "let",
    "like",
    "limit",
    "list",
    "listen",
    "live",
    "lock",
    "look",
    "lose",
    "love",
    "maintain",
    "make",
    "manage",
    "matter",
    "mean",
    "measure",
    "meet",
    "mention",
    "merge",
    "migrate",
    "mind",
    "miss",
    "monitor",
    "move",
    "need",
    "notice",
    "notify",
    "offer",
    "open",
    "order",
    "organise",
    "organize",
    "own",
    "pair",
    "pass",
    "pay",
    "pick",
    "plan",
    "play",
    "post",
    "postpone",
    "prefer",
    "prepare",
    "present",
    "prioritise",
    "prioritize",
    "promise",
    "propose",
    "provide",
    "publish",
    "pull",
    "push",
    "put",
    "question",
    "quit",
    "raise",
    "reach",
    "read",
    "realise",
    "realize",
    "receive",
    "recommend",
    "record",
    "reduce",
    "refund",
    "reject",
    "release",
    "rely",
    "remember",
    "remind",
    "remove",
    "renew",
    "repeat",
    "replace",
    "reply",
    "report",
    "request",
    "require",
    "reschedule",
    "reset",
    "resolve",
    "respond",
    "restart",
    "return",
    "review",
    "rewrite",
    "run",
    "save",
    "say",
    "schedule",
    "see",
    "seem",
    "sell",
    "send",
    "set",
    "settle",
    "share",
    "ship",
    "show",
    "sign",
    "sit",
    "skip",
    "solve",
    "sort",
    "sound",
    "speak",
    "spend",
    "split",
    "start",
    "stay",
    "stick",
    "stop",
    "struggle",
    "submit",
    "suggest",
    "support",
    "suppose",
    "switch",
    "take",
    "talk",
    "teach",
    "tell",
    "tend",
    "test",
    "thank",
    "think",
    "track",
    "train",
    "translate",
    "try",
    "turn",
    "understand",
    "update",
    "upgrade",
    "use",
    "validate",
    "verify",
    "visit",
    "volunteer",
    "wait",
    "want",
    "watch",
    "win",
    "wish",
    "wonder",
    "work",
    "worry",
    "write",
];

/// Plain verb forms that are rarely nouns: after a plural noun they are the verb ("the numbers
/// need another look"), where "the sales plan" is a noun phrase.
const PLAIN_VERBS_AFTER_PLURAL: &[&str] = &[
    "agree",
    "ask",
    "become",
    "believe",
    "buy",
    "come",
    "depend",
    "disagree",
    "expect",
    "feel",
    "find",
    "get",
    "give",
    "go",
    "hate",
    "hope",
    "keep",
    "know",
    "like",
    "love",
    "make",
    "need",
    "pay",
    "prefer",
    "remember",
    "say",
    "see",
    "seem",
    "spend",
    "stay",
    "struggle",
    "take",
    "tend",
    "think",
    "understand",
    "use",
    "want",
];

/// Irregular past forms.
const IRREGULAR_PASTS: &[&str] = &[
    "ate",
    "became",
    "began",
    "bought",
    "broke",
    "brought",
    "built",
    "came",
    "caught",
    "chose",
    "dealt",
    "did",
    "drank",
    "drove",
    "fell",
    "felt",
    "flew",
    "fought",
    "forgot",
    "found",
    "gave",
    "got",
    "grew",
    "had",
    "heard",
    "held",
    "hid",
    "hung",
    "kept",
    "knew",
    "led",
    "left",
    "lent",
    "lost",
    "made",
    "meant",
    "met",
    "paid",
    "ran",
    "rode",
    "rose",
    "said",
    "sat",
    "saw",
    "sent",
    "shook",
    "slept",
    "sold",
    "sought",
    "spent",
    "spoke",
    "stood",
    "stole",
    "struck",
    "stuck",
    "swam",
    "taught",
    "thought",
    "threw",
    "told",
    "took",
    "understood",
    "was",
    "went",
    "were",
    "woke",
    "won",
    "wore",
    "wrote",
];

/// Verbs whose past is their plain form: a past for the finite-verb test, but no agreement
/// can be chosen for them ("I put" is either "puts" or "put").
const PLAIN_PASTS: &[&str] = &[
    "bet", "cost", "cut", "fit", "hit", "hurt", "let", "put", "quit", "read", "set", "shut",
    "split", "spread",
];

/// Words ending in "-ed" that are no past forms.
const NOT_PASTS: &[&str] = &[
    "hundred", "indeed", "naked", "wicked", "sacred", "kindred", "rugged", "ragged", "beloved",
    "crooked", "embed",
];

/// Determiners: a word after one is a noun or an adjective, not a verb.
pub(super) const DETERMINERS: &[&str] = &[
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "their", "his", "her",
    "its", "every", "each", "some", "any", "no", "another", "such",
];

const PREPOSITIONS: &[&str] = &[
    "about", "above", "across", "after", "against", "along", "among", "around", "as", "at",
    "before", "behind", "below", "between", "by", "during", "except", "for", "from", "in",
    "inside", "into", "near", "of", "off", "on", "onto", "out", "over", "per", "since", "than",
    "through", "to", "toward", "towards", "under", "until", "up", "upon", "via", "with", "within",
    "without",
];

/// Words that open a clause: a pronoun after one of them is a subject.
pub(super) const CONJUNCTIONS: &[&str] = &[
    "and", "or", "but", "nor", "so", "yet", "because", "if", "when", "while", "although", "though",
    "unless", "whether", "once", "where", "that", "then", "since", "until",
];

/// Pronouns in object or reflexive form, and other words that are never verbs.
const NEVER_VERBS: &[&str] = &[
    "me",
    "you",
    "him",
    "her",
    "us",
    "them",
    "it",
    "myself",
    "yourself",
    "himself",
    "herself",
    "itself",
    "ourselves",
    "themselves",
    "mine",
    "yours",
    "ours",
    "theirs",
    "i",
    "we",
    "they",
    "he",
    "she",
    "not",
    "yes",
    "yeah",
    "okay",
    "ok",
    "um",
    "uh",
    "very",
    "too",
    "quite",
    "all",
    "both",
    "more",
    "most",
    "less",
    "many",
    "much",
    "few",
    "several",
    "there",
    "here",
];

/// Adverbs that may stand between a subject and its verb ("I also think", "we already merged").
pub(super) const ADVERBS: &[&str] = &[
    "also",
    "just",
    "really",
    "already",
    "still",
    "actually",
    "probably",
    "definitely",
    "never",
    "always",
    "only",
    "even",
    "then",
    "now",
    "personally",
    "certainly",
    "quickly",
    "finally",
    "usually",
    "often",
    "sometimes",
    "totally",
    "basically",
    "mostly",
    "honestly",
    "clearly",
    "obviously",
    "simply",
    "mainly",
    "generally",
    "absolutely",
    "currently",
    "immediately",
    "first",
    "originally",
    "eventually",
    "initially",
    "fully",
    "strongly",
    "completely",
];

/// Subject pronouns that are never objects.
const SUBJECT_PRONOUNS: &[&str] = &["i", "we", "they", "he", "she"];

/// Words that can end a subject before a third-person or past verb.
const SUBJECT_ENDS: &[&str] = &[
    "this",
    "that",
    "who",
    "which",
    "what",
    "everyone",
    "everybody",
    "nobody",
    "someone",
    "somebody",
    "something",
    "nothing",
    "everything",
    "anyone",
    "anybody",
    "anything",
    "it",
    "he",
    "she",
    "one",
];

fn in_list(word: &str, list: &[&str]) -> bool {
    list.contains(&word)
}

/// Whether `word` is a modal verb ("will", "can't").
pub(super) fn is_modal(word: &str) -> bool {
    in_list(word, MODALS)
}

/// Whether `word` is a function word: a determiner, preposition, conjunction, pronoun or
/// particle — never the verb of a clause.
pub(super) fn is_function_word(word: &str) -> bool {
    in_list(word, DETERMINERS)
        || in_list(word, PREPOSITIONS)
        || in_list(word, CONJUNCTIONS)
        || in_list(word, NEVER_VERBS)
}

/// Whether `word` is an adverb that may stand between a subject and its verb.
pub(super) fn is_adverb(word: &str) -> bool {
    in_list(word, ADVERBS)
}

/// Whether `word` is the plain form of a verb in the lexicon.
pub(super) fn is_base_verb(word: &str) -> bool {
    in_list(word, BASE_VERBS)
}

/// Whether `word` is a past form whose person needs no agreement ("decided", "went"). Plain
/// pasts ("put", "set") are not: they read as present forms too.
pub(super) fn is_past(word: &str) -> bool {
    in_list(word, IRREGULAR_PASTS) || is_regular_past(word)
}

/// Whether `word` on its own is a finite form: an auxiliary, a modal, a third-person or a
/// past form ("is", "will", "sounds", "went").
pub(super) fn is_finite_form(word: &str) -> bool {
    in_list(word, FINITE_AUXILIARIES) || is_modal(word) || is_third_person(word) || is_past(word)
}

/// Whether `word` is a verb whose past is its plain form ("put", "set").
pub(super) fn is_plain_past(word: &str) -> bool {
    in_list(word, PLAIN_PASTS)
}

/// "-ed" forms, guarded: at least five letters, not in [`NOT_PASTS`], and "-eed" only from a
/// verb ending in "e" ("agreed", but not "need", "proceed").
fn is_regular_past(word: &str) -> bool {
    let from_e_verb = || is_base_verb(&word[..word.len() - 1]);
    word.len() >= 5
        && word.ends_with("ed")
        && (!word.ends_with("eed") || from_e_verb())
        && word.chars().all(|c| c.is_ascii_alphabetic())
        && !in_list(word, NOT_PASTS)
}

/// The third-person singular present of a verb in the lexicon: "think" → "thinks", "fix" →
/// "fixes", "try" → "tries", "have" → "has". `None` for words outside the lexicon.
pub(super) fn third_person(base: &str) -> Option<String> {
    if !is_base_verb(base) {
        return None;
    }
    Some(conjugate(base))
}

fn conjugate(base: &str) -> String {
    match base {
        "have" => return "has".to_owned(),
        "be" => return "is".to_owned(),
        _ => {}
    }
    let sibilant = ["s", "sh", "ch", "x", "z", "o"]
        .iter()
        .any(|end| base.ends_with(end));
    if sibilant {
        return format!("{base}es");
    }
    let mut chars = base.chars().rev();
    if chars.next() == Some('y') && chars.next().is_some_and(|c| !"aeiou".contains(c)) {
        return format!("{}ies", &base[..base.len() - 1]);
    }
    format!("{base}s")
}

/// Whether `word` is the third-person form of a verb in the lexicon ("needs", "goes").
pub(super) fn is_third_person_verb(word: &str) -> bool {
    is_third_person(word)
}

fn is_third_person(word: &str) -> bool {
    word.ends_with('s') && BASE_VERBS.iter().any(|base| conjugate(base) == word)
}

/// Whether `word` is a form of a known verb: plain, third person or past.
fn is_verb_form(word: &str) -> bool {
    is_base_verb(word) || is_third_person(word) || is_past(word) || in_list(word, PLAIN_PASTS)
}

/// Whether the clause has a finite verb (see the module documentation for the rules).
pub(super) fn has_finite_verb(words: &[Word]) -> bool {
    first_finite(words).is_some()
}

/// The index of the clause's first finite verb.
pub(super) fn first_finite(words: &[Word]) -> Option<usize> {
    (0..words.len()).find(|&at| is_finite_at(words, at))
}

fn is_finite_at(words: &[Word], at: usize) -> bool {
    let norm = words[at].norm.as_str();
    let before = at.checked_sub(1).map(|b| words[b].norm.as_str());
    if before == Some("to") {
        return false;
    }
    if let Some(finite) = closed_lexicon(words, at) {
        return finite;
    }
    if after_subject_pronoun(words, at) {
        return !is_function_word(norm) && !is_adverb(norm) && !norm.ends_with("ing");
    }
    if after_clause_opening(words, at, &["you", "it"]) && is_verb_form(norm) {
        return true;
    }
    morphology_after_subject(words, at)
}

/// Rule 1: `Some(answer)` when the word is in the closed lexicon, `None` otherwise.
fn closed_lexicon(words: &[Word], at: usize) -> Option<bool> {
    let word = &words[at];
    let norm = word.norm.as_str();
    let after_determiner = at > 0 && in_list(&words[at - 1].norm, DETERMINERS);
    if in_list(norm, FINITE_AUXILIARIES) {
        return Some(!after_determiner);
    }
    if is_modal(norm) {
        let month = norm == "may" && at > 0 && word.core.starts_with('M');
        return Some(!after_determiner && !month);
    }
    if norm == "have" || norm == "do" {
        return Some(at > 0 && !after_determiner);
    }
    if let Some((stem, suffix)) = norm.split_once('\'') {
        return Some(contraction_is_finite(words, at, stem, suffix));
    }
    None
}

/// "I'm", "we're", "they've", "we'll", "I'd" always; "X's" only for pronouns ("it's",
/// "there's") or before "going"/"been"/"not" ("Alice's going to"): else a possessive.
fn contraction_is_finite(words: &[Word], at: usize, stem: &str, suffix: &str) -> bool {
    const S_STEMS: &[&str] = &[
        "it",
        "that",
        "there",
        "here",
        "he",
        "she",
        "what",
        "who",
        "where",
        "how",
        "let",
        "everything",
        "nothing",
        "something",
        "everyone",
        "this",
    ];
    match suffix {
        "m" | "re" | "ve" | "ll" | "d" => true,
        "s" => {
            in_list(stem, S_STEMS)
                || words
                    .get(at + 1)
                    .is_some_and(|w| in_list(&w.norm, &["going", "gonna", "been", "not"]))
        }
        "t" => true,
        _ => false,
    }
}

/// The index of the word before `at`, adverbs skipped.
fn previous_non_adverb(words: &[Word], at: usize) -> Option<usize> {
    (0..at)
        .rev()
        .find(|&k| !is_adverb(&words[k].norm) && !in_list(&words[k].norm, &["all", "both"]))
}

/// Rule 2: a subject pronoun before the word, adverbs between.
fn after_subject_pronoun(words: &[Word], at: usize) -> bool {
    previous_non_adverb(words, at)
        .is_some_and(|k| in_list(&words[k].norm, SUBJECT_PRONOUNS) && words[k].tail.is_empty())
}

/// A pronoun of `pronouns` right before the word (adverbs between), opening a clause.
fn after_clause_opening(words: &[Word], at: usize, pronouns: &[&str]) -> bool {
    let Some(k) = previous_non_adverb(words, at) else {
        return false;
    };
    if !in_list(&words[k].norm, pronouns) || !words[k].tail.is_empty() {
        return false;
    }
    k == 0 || !words[k - 1].tail.is_empty() || in_list(&words[k - 1].norm, CONJUNCTIONS)
}

/// Rule 3: a third-person, past or (after a plural) plain verb form after a word that can end
/// a subject.
fn morphology_after_subject(words: &[Word], at: usize) -> bool {
    let norm = words[at].norm.as_str();
    let third = is_third_person(norm) && continues(words, at);
    let past = is_past(norm) || in_list(norm, PLAIN_PASTS);
    let plain = in_list(norm, PLAIN_VERBS_AFTER_PLURAL);
    if !(third || past || plain) {
        return false;
    }
    let Some(k) = previous_non_adverb(words, at) else {
        return false;
    };
    if !words[k].tail.is_empty() {
        return false;
    }
    let subject = words[k].norm.as_str();
    if in_list(subject, SUBJECT_ENDS) {
        return third || past;
    }
    if !ends_noun(words, k) {
        return false;
    }
    if past {
        true
    } else if third {
        // "the plan needs" but not "pull requests": a verb-like word before an "-s" form is
        // its subject only after a determiner.
        !is_base_verb(subject) || (k > 0 && in_list(&words[k - 1].norm, DETERMINERS))
    } else {
        // "the numbers need", but not "Sounds like a plan": a verb form is no plural subject
        // unless a determiner makes it a noun.
        let noun = !is_third_person(subject) || (k > 0 && in_list(&words[k - 1].norm, DETERMINERS));
        noun && subject.ends_with('s') && !subject.ends_with("ss")
    }
}

/// Whether the word at `k` can end a noun phrase: a name, a number or a content word, not a
/// function word and not a verb form of its own.
fn ends_noun(words: &[Word], k: usize) -> bool {
    let norm = words[k].norm.as_str();
    !is_function_word(norm)
        && !is_modal(norm)
        && !in_list(norm, FINITE_AUXILIARIES)
        && !is_past(norm)
        && !norm.ends_with("ly")
}

/// A "-s" verb is followed by more of its clause: not the end, not "and"/"or", no comma.
fn continues(words: &[Word], at: usize) -> bool {
    words[at].tail.is_empty()
        && words
            .get(at + 1)
            .is_some_and(|w| !in_list(&w.norm, &["and", "or"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extractive::prose::words_of_text;

    fn finite(text: &str) -> bool {
        has_finite_verb(&words_of_text(text))
    }

    #[test]
    fn verbless_fragments_have_no_finite_verb() {
        for fragment in [
            "The login bug, the launch date and hiring.",
            "A press release and a few customer quotes.",
            "First question, the date.",
            "The release notes and the test data.",
            "Two things.",
            "Time to have lunch.",
            "The updated quotes from the vendors.",
            "Six open pull requests.",
            "Next week, maybe in May.",
        ] {
            assert!(!finite(fragment), "{fragment}");
        }
    }

    #[test]
    fn whole_sentences_have_a_finite_verb() {
        for sentence in [
            // closed lexicon
            "The login bug is still open.",
            "Users on the mobile app cannot reset their password.",
            "Let's go with the blue design.",
            "It's a Tuesday.",
            "Alice's going to send it.",
            // pronoun + verb
            "I already merged the login change yesterday.",
            "We decided to launch on November 10.",
            "They include support.",
            "And it works on mobile.",
            // morphology after a subject
            "The marketing costs went up.",
            "Tom needs to review the pull requests.",
            "The new design tested really well with customers.",
            "Every feature needs a workaround.",
            "The numbers need another look.",
            "Engineering says the product is ready.",
        ] {
            assert!(finite(sentence), "{sentence}");
        }
    }

    #[test]
    fn third_person_follows_the_spelling_rules() {
        let cases = [
            ("think", "thinks"),
            ("fix", "fixes"),
            ("push", "pushes"),
            ("go", "goes"),
            ("try", "tries"),
            ("say", "says"),
            ("have", "has"),
            ("need", "needs"),
        ];
        for (base, third) in cases {
            assert_eq!(third_person(base).as_deref(), Some(third), "{base}");
        }
        assert_eq!(third_person("gorble"), None);
    }

    #[test]
    fn pasts_are_guarded() {
        assert!(is_past("decided") && is_past("went") && is_past("shipped"));
        assert!(is_past("agreed"), "-eed from a verb ending in e");
        assert!(!is_past("need") && !is_past("proceed") && !is_past("hundred"));
        assert!(!is_past("put"), "a plain past reads as present too");
    }
}
