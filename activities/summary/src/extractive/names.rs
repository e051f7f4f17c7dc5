//! Who is who: the names people use for each other in the meeting, tied to the speaker labels
//! where the conversation makes it clear, and the person each turn answers.
//!
//! Evidence, read turn by turn (a turn is consecutive sentences of one label):
//! - a self-introduction ("this is James", "I'm Nina", "my name is …") names the speaker;
//! - an acknowledgement or greeting with a name at the start of a turn ("Sure, Omar", "Morning,
//!   Bob", "Good point, Laura", "Thanks, Alice" closing a turn) addresses the previous speaker;
//! - a name with a request ("Priya, can you own it?", "can you, Tom, …", "Lucas, please …")
//!   addresses whoever answers next; so does a greeting that opens the meeting;
//! - nobody addresses themselves: a label that says a name is not that name.
//!
//! A label gets a name only when the evidence agrees: two turns (or a self-introduction) for it,
//! none against, and none for any other name (offline clustering may merge two voices into one label; then it stays a label).
//! Everything else abstains. The names found are also offered to the user as suggestions for
//! `recorder speakers`.

use std::collections::{BTreeMap, BTreeSet};

use super::patterns::{W, looks_like_name, words_of};
use crate::timeline::Sentence;

/// Words that may precede a vocative name at the start of a turn: greetings, thanks and
/// acknowledgements ("Sure, Omar", "Good point, Laura").
const OPENERS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "morning",
    "afternoon",
    "evening",
    "good",
    "thanks",
    "thank",
    "you",
    "sure",
    "yes",
    "yeah",
    "ok",
    "okay",
    "right",
    "well",
    "great",
    "perfect",
    "fair",
    "enough",
    "nice",
    "work",
    "point",
    "welcome",
    "oh",
    "absolutely",
    "of",
    "course",
    "noted",
    "understood",
    "fine",
    "agreed",
    "sorry",
    "and",
    "so",
    "interesting",
    "idea",
    "exactly",
    "indeed",
];

/// Words that open an answer accepting a request ("Sure, I can do that").
const ACCEPTANCES: &[&str] = &[
    "sure",
    "yes",
    "yeah",
    "ok",
    "okay",
    "absolutely",
    "of",
    "noted",
    "understood",
    "will",
    "fine",
    "right",
    "i",
    "i'll",
    "no",
    "happy",
    "consider",
    "definitely",
    "certainly",
];

/// Words before a closing name that still make a short reply to the previous speaker ("That is
/// good to hear, David.").
const MAX_REPLY_WORDS: usize = 5;

/// Votes a label needs to be given a name for the whole meeting: two turns that agree, or a
/// self-introduction. One answer to "Tom, please …" names only that answer.
const MIN_VOTES: i32 = 2;

/// The name evidence of a meeting and the answers to requests.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Label → name, where the evidence agrees.
    pub of_label: BTreeMap<String, String>,
    /// Every name people used for each other, in order of first use.
    pub mentioned: Vec<String>,
    /// Sentence index → its turn.
    turn_of: Vec<usize>,
    turns: Vec<Turn>,
}

#[derive(Clone, Debug)]
struct Turn {
    label: String,
    /// The name the previous turn asked something of, when this turn answers it.
    answers_request_to: Option<String>,
    /// Whether the turn opens by accepting ("Sure", "Yes", "I can …").
    accepts: bool,
    /// Whether the turn opens with a greeting or thanks ("Hi James, no problem").
    greets: bool,
}

/// How a vocative relates to the turns around it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Addressed {
    Previous,
    Next,
    /// Said to someone, but whom the turns do not show; still not the speaker.
    Unclear,
}

impl Names {
    /// Reads the names in `sentences`.
    pub fn read(sentences: &[Sentence]) -> Self {
        let mut names = Self::default();
        // Per turn, its sentences' words and whether each was a question.
        let mut turn_sentences: Vec<Vec<(Vec<W>, bool)>> = Vec::new();
        for sentence in sentences {
            let words = words_of(sentence);
            let is_question = sentence
                .tokens
                .last()
                .is_some_and(|t| t.text.trim_end().ends_with('?'));
            let same = names
                .turns
                .last()
                .is_some_and(|t: &Turn| t.label == sentence.speaker);
            if !same {
                names.turns.push(Turn {
                    label: sentence.speaker.clone(),
                    answers_request_to: None,
                    accepts: accepts(&words),
                    greets: words.first().is_some_and(|w| {
                        matches!(
                            w.norm.as_str(),
                            "hi" | "hello"
                                | "hey"
                                | "morning"
                                | "afternoon"
                                | "evening"
                                | "thanks"
                                | "thank"
                        )
                    }),
                });
                turn_sentences.push(Vec::new());
            }
            names.turn_of.push(names.turns.len() - 1);
            if let Some(last) = turn_sentences.last_mut() {
                last.push((words, is_question));
            }
        }

        let mut votes: BTreeMap<(String, String), i32> = BTreeMap::new();
        let mut against: BTreeSet<(String, String)> = BTreeSet::new();
        let mut mentioned = Vec::new();
        let mut introduced: BTreeSet<(String, String)> = BTreeSet::new();
        // Pairs with evidence that does not hang on who happens to speak next: a reply to the
        // previous speaker, a self-introduction, or a request the next turn accepts.
        let mut solid: BTreeSet<(String, String)> = BTreeSet::new();
        for (t, sentences) in turn_sentences.iter().enumerate() {
            let label = names.turns[t].label.clone();
            let previous = t
                .checked_sub(1)
                .map(|p| names.turns[p].label.clone())
                .filter(|p| *p != label);
            let next = names
                .turns
                .get(t + 1)
                .map(|n| n.label.clone())
                .filter(|n| *n != label);
            for (s, (words, is_question)) in sentences.iter().enumerate() {
                let is_question = *is_question;
                if let Some(name) = self_introduction(words) {
                    *votes.entry((label.clone(), name.clone())).or_default() += 3;
                    remember(&mut mentioned, &name);
                    introduced.insert((label.clone(), name.clone()));
                    solid.insert((label.clone(), name.clone()));
                }
                let last_sentence = s + 1 == sentences.len();
                for (name, addressed) in
                    vocatives(words, is_question, t == 0 && s == 0, s == 0, last_sentence)
                {
                    remember(&mut mentioned, &name);
                    against.insert((label.clone(), name.clone()));
                    let target = match addressed {
                        Addressed::Previous => previous.clone(),
                        Addressed::Next => next.clone(),
                        Addressed::Unclear => None,
                    };
                    if let Some(target) = target {
                        let accepted = names
                            .turns
                            .get(t + 1)
                            .is_some_and(|answer| answer.accepts || answer.greets);
                        if addressed == Addressed::Previous || accepted {
                            solid.insert((target.clone(), name.clone()));
                        }
                        *votes.entry((target, name.clone())).or_default() += 1;
                    }
                    if addressed == Addressed::Next
                        && let Some(answer) = names.turns.get_mut(t + 1)
                        && answer.label != label
                        && (answer.accepts || is_question)
                    {
                        answer.answers_request_to = Some(name);
                    }
                }
            }
        }
        let mut labels: Vec<&str> = names.turns.iter().map(|t| t.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        // As many names used as voices heard: each label is one person, so one vote names it.
        let one_to_one = labels.len() >= 2 && labels.len() == mentioned.len();
        names.mentioned = mentioned;
        // Whoever introduced themselves ("this is James from Northwind") is that name even when
        // a later "Thank you, James" of the other side lands in their label (speech recognition
        // puts a turn's first words into the previous segment).
        against.retain(|pair| !introduced.contains(pair));
        names.of_label = agreed(&votes, &against, if one_to_one { 1 } else { MIN_VOTES });
        names.of_label = uncontested(names.of_label, &votes, &against, &solid);

        names
    }

    /// Who speaks in `turn`: the name it answers to, else its label's name, else its label.
    fn name_of(&self, turn: &Turn) -> String {
        turn.answers_request_to
            .clone()
            .or_else(|| self.of_label.get(&turn.label).cloned())
            .unwrap_or_else(|| turn.label.clone())
    }

    /// The speaker of sentence `index` by name when known, else by label.
    pub fn speaker(&self, index: usize) -> Option<String> {
        let turn = self.turns.get(*self.turn_of.get(index)?)?;
        Some(self.name_of(turn))
    }

    /// Who says sentence `index`, for the summary's prose: the name a turn answers to when it
    /// opens by accepting a request made to that name ("Priya, can you own it?" — "Yes, I will
    /// …"), else the label's name, else the label. Stricter than [`Names::speaker`], which also
    /// names a turn that merely follows a question: a sentence is only told of a person when
    /// the conversation shows it was theirs.
    pub fn attributed(&self, index: usize) -> Option<String> {
        let turn = self.turns.get(*self.turn_of.get(index)?)?;
        let accepted = turn.answers_request_to.clone().filter(|_| turn.accepts);
        Some(
            accepted
                .or_else(|| self.of_label.get(&turn.label).cloned())
                .unwrap_or_else(|| turn.label.clone()),
        )
    }

    /// Whether `word` is a name people used in the meeting or one a label was given.
    pub fn is_known(&self, word: &str) -> bool {
        self.mentioned.iter().any(|m| m == word) || self.of_label.values().any(|n| n == word)
    }

    /// Who answered a request made in sentence `index` to nobody by name ("Can you also ask
    /// the vendors?"): the next turn's speaker, when another label takes the floor accepting it.
    pub fn answerer(&self, index: usize) -> Option<String> {
        let t = *self.turn_of.get(index)?;
        let asker = self.turns.get(t)?;
        let next = self.turns.get(t + 1)?;
        if next.label == asker.label || !next.accepts {
            return None;
        }
        // Only a request in the turn's last sentences is answered by the next turn.
        let last_of_turn = self.turn_of.iter().rposition(|&x| x == t)?;
        if last_of_turn > index + 1 {
            return None;
        }
        Some(self.name_of(next))
    }

    /// The known name closest to `said` (a name misheard by one or two letters: "Maya" for
    /// "Maria"), or `said` itself when none is close.
    pub fn canonical(&self, said: &str) -> String {
        let known = self.of_label.values().chain(self.mentioned.iter());
        let lower = said.to_lowercase();
        let mut best: Option<(usize, &String)> = None;
        for name in known {
            let distance = edit_distance(&lower, &name.to_lowercase());
            if distance == 0 {
                return name.clone();
            }
            let allowed = if name.chars().count() >= 5 { 2 } else { 1 };
            if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, name));
            }
        }
        best.map_or_else(|| said.to_owned(), |(_, name)| name.clone())
    }
}

fn remember(mentioned: &mut Vec<String>, name: &str) {
    if !mentioned.iter().any(|m| m == name) {
        mentioned.push(name.to_owned());
    }
}

/// "this is James", "I'm Nina", "my name is Omar", "it's Emma here".
fn self_introduction(words: &[W]) -> Option<String> {
    let norms: Vec<&str> = words.iter().map(|w| w.norm.as_str()).collect();
    for at in 0..words.len() {
        let after = match norms[at..] {
            ["this", "is", ..] if at == 0 || words[at - 1].stop_after || at <= 2 => at + 2,
            ["i'm", ..] => at + 1,
            ["my", "name", "is", ..] => at + 3,
            _ => continue,
        };
        let name = words.get(after)?;
        let ends = name.comma_after || name.stop_after || after + 1 == words.len();
        let followed_by_from = norms.get(after + 1) == Some(&"from");
        if looks_like_name(name) && (ends || followed_by_from) {
            return Some(name.orig.clone());
        }
    }
    None
}

/// The names a sentence addresses people by, and whom each addresses.
fn vocatives(
    words: &[W],
    is_question: bool,
    opens_meeting: bool,
    opens_turn: bool,
    closes_turn: bool,
) -> Vec<(String, Addressed)> {
    let mut found = Vec::new();
    if words.is_empty() {
        return found;
    }
    let is_vocative = |at: usize| {
        let word = &words[at];
        looks_like_name(word)
            && !word.norm.ends_with("'s")
            && (word.comma_after || word.stop_after || at + 1 == words.len())
    };
    let request_follows = |at: usize| {
        let next: Vec<&str> = words[at..]
            .iter()
            .take(3)
            .map(|w| w.norm.as_str())
            .collect();
        matches!(
            next.as_slice(),
            ["please", ..] | ["can" | "could" | "would" | "will", "you", ..]
        )
    };
    // At the start: "[opener…] Name[, Name2]," — openers make it an answer to the previous
    // speaker (or, opening the meeting, a greeting to the next one).
    let mut at = 0;
    while at < words.len() && at < 4 && OPENERS.contains(&words[at].norm.as_str()) {
        at += 1;
    }
    let had_opener = at > 0;
    let mut names_at_start = Vec::new();
    while at < words.len() && is_vocative(at) {
        names_at_start.push(words[at].orig.clone());
        if words[at].stop_after {
            at += 1;
            break;
        }
        at += 1;
        if words.get(at).is_some_and(|w| w.norm == "and") {
            at += 1;
        }
    }
    if !names_at_start.is_empty() {
        let thanked = words
            .first()
            .is_some_and(|w| w.norm == "thanks" || w.norm == "thank");
        let alone = names_at_start.len() == 1 && had_opener;
        // "Leo, what do you need for the press?": a question to a name is answered by them.
        let asks = is_question && !had_opener && names_at_start.len() == 1;
        let addressed = if request_follows(at) || opens_meeting || asks {
            Addressed::Next
        } else if alone && (opens_turn || (thanked && closes_turn && at == words.len())) {
            // "Sure, Omar, …" opening a turn; "… Thanks, Alice." closing one.
            Addressed::Previous
        } else {
            Addressed::Unclear
        };
        for name in names_at_start {
            found.push((name, addressed));
        }
    }
    // Inside: "can you, Tom, write …", "…, Tom, please …", and closing "… thanks, Alice." /
    // "…, Bob?".
    for k in at.max(1)..words.len() {
        // "thanks Alice" without a comma is as much a vocative as "thanks, Alice" (speech
        // recognition punctuates either way).
        let thanks = words[k - 1].norm == "thanks"
            || (k >= 2 && words[k - 2].norm == "thank" && words[k - 1].norm == "you");
        if !is_vocative(k) || !(words[k - 1].comma_after || words[k - 1].stop_after || thanks) {
            continue;
        }
        let asked_before = words[k - 1].norm == "you"
            && words[k.saturating_sub(3)..k - 1]
                .iter()
                .any(|w| matches!(w.norm.as_str(), "can" | "could" | "would" | "will"));
        let addressed = if request_follows(k + 1) || asked_before {
            Addressed::Next
        } else if k + 1 == words.len() && closes_turn {
            // "…, Bob?" asks the next speaker; "Thanks, Alice.", "Good point, David.", "Of
            // course, Oscar." answer the previous one; a longer statement ending in a name
            // ("Next topic is the budget, David.") could hand over or reply: no vote.
            let short_reply = k <= MAX_REPLY_WORDS
                && !words[..k]
                    .iter()
                    .any(|w| matches!(w.norm.as_str(), "you" | "please"));
            if thanks || (short_reply && !is_question) {
                Addressed::Previous
            } else if is_question {
                Addressed::Next
            } else {
                Addressed::Unclear
            }
        } else {
            Addressed::Unclear
        };
        found.push((words[k].orig.clone(), addressed));
    }
    found
}

/// Label → name where the votes agree, one name per label and one label per name: the pairs
/// are taken strongest first, and a pair is taken when it has at least `min_votes`, the label
/// never used the name for somebody else, and it has more votes than every pair still open that
/// shares its label or its name (a rival already settled elsewhere no longer counts: once three
/// turns have named Speaker 2 David, a stray "David" heard for Speaker 3 does not stop Speaker 3
/// being the Carlos two turns named). A tie abstains.
fn agreed(
    votes: &BTreeMap<(String, String), i32>,
    against: &BTreeSet<(String, String)>,
    min_votes: i32,
) -> BTreeMap<String, String> {
    let mut pairs: Vec<(&String, &String, i32)> = votes
        .iter()
        .filter(|((l, n), s)| **s > 0 && !against.contains(&((*l).clone(), (*n).clone())))
        .map(|((l, n), s)| (l, n, *s))
        .collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.2));
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (i, &(label, name, score)) in pairs.iter().enumerate() {
        let settled = |l: &String, n: &String| out.contains_key(l) || out.values().any(|v| v == n);
        if score < min_votes || settled(label, name) {
            continue;
        }
        let rival = pairs
            .iter()
            .enumerate()
            .filter(|(j, (l, n, _))| *j != i && (*l == label || *n == name) && !settled(l, n))
            .map(|(_, (_, _, s))| *s)
            .max()
            .unwrap_or(0);
        if score > rival {
            out.insert(label.clone(), name.clone());
        }
    }
    out
}

/// After the agreed pairs: a label still without a name takes the one name a single turn gave
/// it when nothing else points elsewhere (no other vote for the label, no vote for the name
/// anywhere else, the label never said the name itself) and that turn's evidence is
/// [solid](Names::read): "Sure, Omar, let me start" answering the only label voted for, or
/// "And Maria, please update the test data" accepted with "Will do". A request whose answer
/// nobody gives ("Lucas, please …" followed by someone else's "That makes sense") names nobody.
fn uncontested(
    mut named: BTreeMap<String, String>,
    votes: &BTreeMap<(String, String), i32>,
    against: &BTreeSet<(String, String)>,
    solid: &BTreeSet<(String, String)>,
) -> BTreeMap<String, String> {
    let open: Vec<(&String, &String)> = votes
        .iter()
        .filter(|((l, n), s)| **s > 0 && !named.contains_key(l) && !named.values().any(|v| v == n))
        .map(|((l, n), _)| (l, n))
        .collect();
    for &(label, name) in &open {
        let alone = open.iter().all(|&(l, n)| (l == label) == (n == name));
        let pair = (label.clone(), name.clone());
        if alone && solid.contains(&pair) && !against.contains(&pair) {
            named.insert(label.clone(), name.clone());
        }
    }
    named
}

/// Whether a turn opens by accepting ("Sure", "Yes", "I can …", and "Will do", which speech
/// recognition also writes "We'll do").
fn accepts(words: &[W]) -> bool {
    words
        .first()
        .is_some_and(|w| ACCEPTANCES.contains(&w.norm.as_str()))
        || (words.first().is_some_and(|w| w.norm == "we'll")
            && words.get(1).is_some_and(|w| w.norm == "do"))
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(entries: &[(&str, &str, i32)]) -> BTreeMap<(String, String), i32> {
        entries
            .iter()
            .map(|(l, n, s)| (((*l).to_owned(), (*n).to_owned()), *s))
            .collect()
    }

    #[test]
    fn the_strongest_pairs_are_settled_first_and_a_tie_abstains() {
        let none = BTreeSet::new();
        // Three turns say spk_1 is David; spk_2 has a stray "David" and two "Carlos".
        let got = agreed(
            &votes(&[
                ("spk_1", "David", 3),
                ("spk_2", "David", 2),
                ("spk_2", "Carlos", 2),
                ("spk_3", "Carlos", 1),
            ]),
            &none,
            MIN_VOTES,
        );
        assert_eq!(got.get("spk_1").map(String::as_str), Some("David"));
        assert_eq!(got.get("spk_2").map(String::as_str), Some("Carlos"));
        assert!(!got.contains_key("spk_3"));
        // Two against two: nobody is named.
        let got = agreed(
            &votes(&[("spk_0", "Carlos", 2), ("spk_0", "Anita", 2)]),
            &none,
            MIN_VOTES,
        );
        assert!(got.is_empty(), "{got:?}");
        // One vote is not enough (unless every label is one of as many names).
        assert!(agreed(&votes(&[("spk_0", "Carlos", 1)]), &none, MIN_VOTES).is_empty());
        assert_eq!(agreed(&votes(&[("spk_0", "Carlos", 1)]), &none, 1).len(), 1);
    }

    #[test]
    fn a_label_never_gets_a_name_it_used_for_somebody_else() {
        let against: BTreeSet<(String, String)> =
            [("spk_0".to_owned(), "Carlos".to_owned())].into();
        assert!(agreed(&votes(&[("spk_0", "Carlos", 5)]), &against, MIN_VOTES).is_empty());
    }
}
