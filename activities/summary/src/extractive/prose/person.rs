//! First person to third person, by rules: "I will fix the login bug" said by Priya becomes
//! "Priya will fix the login bug"; "we decided …" becomes "the team decided …".
//!
//! - The first mention of the speaker ("I", "me", "my", "mine") becomes the speaker's name (or
//!   label), the first mention of the group ("we", "us", "our", "ours") becomes "the team";
//!   later mentions become "they"/"them"/"their"/"theirs" — unless the clause mentions both the
//!   speaker and the group, or already says "they", when the full noun is repeated so that no
//!   pronoun is ambiguous.
//! - The verb agrees with the new subject: "I am"/"I'm" → "is", "I have"/"I've" → "has", "I
//!   do"/"don't" → "does"/"doesn't", "I think" → "thinks" (known verbs only), "we are"/"we're"
//!   → "is", "we were" → "was"; "they" takes the plural ("I was" → "they were"). Modals and
//!   past forms need nothing; "I'd" is read as "would" only before "like", "love", "prefer",
//!   "rather", "say", "suggest", "recommend". A coordinated subject ("Tom and I are") keeps its
//!   plural verb.
//! - Anything else gives up (`None`): a verb form outside the lexicon, "you" in any form
//!   (whom it means is not in the words), reflexives ("myself", "ourselves"), "let's" inside a
//!   clause, a subject cut off by punctuation ("I, um, think").

use super::Word;
use super::verbs::{
    first_finite, is_adverb, is_base_verb, is_function_word, is_modal, is_past, is_plain_past,
    third_person,
};

/// Words a clause cannot be rewritten with.
const UNSAFE: &[&str] = &[
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "you're",
    "you've",
    "you'll",
    "you'd",
    "y'all",
    "myself",
    "ourselves",
    "let's",
];

/// Third-person plurals already in a clause: then "they" would be ambiguous.
const THEY: &[&str] = &[
    "they", "them", "their", "theirs", "they're", "they've", "they'll", "they'd",
];

/// Verbs after which "I'd" means "I would".
const WOULD_VERBS: &[&str] = &[
    "like",
    "love",
    "prefer",
    "rather",
    "say",
    "suggest",
    "recommend",
];

/// The speaker ("I") or the group ("we").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Person {
    Speaker,
    Team,
}

/// What a first-person word is in its clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// "I", "we", or a contraction carrying the auxiliary ("I'm" → "am").
    Subject(Option<&'static str>),
    /// "me", "us".
    Object,
    /// "my", "our".
    Possessive,
    /// "mine", "ours".
    Standalone,
}

fn first_person(norm: &str) -> Option<(Person, Role)> {
    let found = match norm {
        "i" => (Person::Speaker, Role::Subject(None)),
        "i'm" => (Person::Speaker, Role::Subject(Some("am"))),
        "i've" => (Person::Speaker, Role::Subject(Some("have"))),
        "i'll" => (Person::Speaker, Role::Subject(Some("will"))),
        "i'd" => (Person::Speaker, Role::Subject(Some("'d"))),
        "me" => (Person::Speaker, Role::Object),
        "my" => (Person::Speaker, Role::Possessive),
        "mine" => (Person::Speaker, Role::Standalone),
        "we" => (Person::Team, Role::Subject(None)),
        "we're" => (Person::Team, Role::Subject(Some("are"))),
        "we've" => (Person::Team, Role::Subject(Some("have"))),
        "we'll" => (Person::Team, Role::Subject(Some("will"))),
        "we'd" => (Person::Team, Role::Subject(Some("'d"))),
        "us" => (Person::Team, Role::Object),
        "our" => (Person::Team, Role::Possessive),
        "ours" => (Person::Team, Role::Standalone),
        _ => return None,
    };
    Some(found)
}

/// Who was already named by a frame around the clause ("Maria suggested that the team …"), so
/// that the clause's first mention may be a pronoun.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Mentioned {
    /// The speaker was named.
    pub(super) speaker: bool,
    /// "The team" was said.
    pub(super) team: bool,
}

impl Mentioned {
    fn take(&mut self, person: Person) -> bool {
        let flag = match person {
            Person::Speaker => &mut self.speaker,
            Person::Team => &mut self.team,
        };
        std::mem::replace(flag, true)
    }
}

/// Grammatical number of the new subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Number {
    Singular,
    Plural,
}

/// Whether a clause has a first-person word (then it needs [`to_third_person`]).
pub(super) fn has_first_person(words: &[Word]) -> bool {
    words.iter().any(|w| first_person(&w.norm).is_some())
}

/// Whether a clause mentions the speaker ("I", "me", "my", "mine").
pub(super) fn mentions_speaker(words: &[Word]) -> bool {
    words
        .iter()
        .any(|w| matches!(first_person(&w.norm), Some((Person::Speaker, _))))
}

/// Whether "we" is the subject of the main clause: of its first finite verb, after an opening
/// adverbial or subordinate clause up to the first comma ("About the date, we decided …", "If
/// the forecast looks weak, we will …").
pub(super) fn team_is_subject(words: &[Word]) -> bool {
    const SUBORDINATORS: &[&str] = &[
        "if", "when", "once", "since", "because", "although", "after", "before", "while", "as",
        "unless", "until",
    ];
    let lead_in = words
        .iter()
        .position(|w| w.tail.contains(','))
        .filter(|&k| {
            k < 8
                && (SUBORDINATORS.contains(&words[0].norm.as_str())
                    || first_finite(&words[..=k]).is_none())
        });
    let main = lead_in.map_or(words, |k| &words[k + 1..]);
    let Some(verb) = first_finite(main) else {
        return false;
    };
    let team_subject = |w: &Word| {
        matches!(
            first_person(&w.norm),
            Some((Person::Team, Role::Subject(_)))
        )
    };
    team_subject(&main[verb])
        || (0..verb)
            .rev()
            .find(|&k| !is_adverb(&main[k].norm))
            .is_some_and(|k| team_subject(&main[k]))
}

/// Whether a clause has a word no rewrite can handle ("you", "myself").
pub(super) fn has_unsafe_pronoun(words: &[Word]) -> bool {
    words.iter().any(|w| UNSAFE.contains(&w.norm.as_str()))
}

/// The clause in the third person, told of `speaker`, or `None` when that cannot be done
/// safely. A clause without first-person words comes back unchanged.
pub(super) fn to_third_person(
    words: &[Word],
    speaker: &str,
    mut mentioned: Mentioned,
) -> Option<Vec<Word>> {
    if has_unsafe_pronoun(words) {
        return None;
    }
    let people: Vec<Person> = words
        .iter()
        .filter_map(|w| first_person(&w.norm).map(|(p, _)| p))
        .collect();
    let both = people.contains(&Person::Speaker) && people.contains(&Person::Team);
    let has_they = words.iter().any(|w| THEY.contains(&w.norm.as_str()));
    let pronoun_allowed = !both && !has_they;

    let mut out = words.to_vec();
    for at in 0..words.len() {
        let Some((person, role)) = first_person(&words[at].norm) else {
            continue;
        };
        let named_before = mentioned.take(person);
        let pronoun = named_before && pronoun_allowed;
        let noun = match person {
            Person::Speaker => speaker.to_owned(),
            Person::Team => "the team".to_owned(),
        };
        match role {
            Role::Object => out[at].core = if pronoun { "them".to_owned() } else { noun },
            Role::Possessive => {
                out[at].core = if pronoun {
                    "their".to_owned()
                } else {
                    format!("{noun}'s")
                }
            }
            Role::Standalone => {
                out[at].core = if pronoun {
                    "theirs".to_owned()
                } else {
                    format!("{noun}'s")
                }
            }
            Role::Subject(contracted) => {
                let subject = if pronoun { "they".to_owned() } else { noun };
                let number = if pronoun || coordinated(words, at) || subjunctive(words, at) {
                    Number::Plural
                } else {
                    Number::Singular
                };
                subject_with_verb(words, &mut out, at, (person, number), subject, contracted)?;
            }
        }
    }
    Some(out)
}

/// Rewrites the subject at `at` and makes its verb agree.
fn subject_with_verb(
    words: &[Word],
    out: &mut [Word],
    at: usize,
    (person, number): (Person, Number),
    subject: String,
    contracted: Option<&'static str>,
) -> Option<()> {
    if let Some(auxiliary) = contracted {
        let next = words.get(at + 1).map(|w| w.norm.as_str());
        let verb = agree(auxiliary, person, number, next)?;
        out[at].core = format!("{subject} {verb}");
        return Some(());
    }
    if !words[at].tail.is_empty() {
        return None;
    }
    let verb_at = (at + 1..words.len()).find(|&k| !is_adverb(&words[k].norm))?;
    if (at + 1..verb_at).any(|k| !words[k].tail.is_empty()) {
        return None;
    }
    let next = words.get(verb_at + 1).map(|w| w.norm.as_str());
    let verb = agree(&words[verb_at].norm, person, number, next)?;
    out[at].core = subject;
    if verb != words[verb_at].norm {
        out[verb_at].core = verb;
    }
    Some(())
}

/// "Tom and I": a subject joined to a noun before it, whose verb stays plural.
fn coordinated(words: &[Word], at: usize) -> bool {
    at >= 2
        && matches!(words[at - 1].norm.as_str(), "and" | "or")
        && words[at - 2].tail.is_empty()
        && !is_function_word(&words[at - 2].norm)
}

/// Verbs whose complement clause takes the plain verb ("I suggest we leave it").
const MANDATIVE: &[&str] = &[
    "suggest",
    "suggests",
    "suggested",
    "propose",
    "proposes",
    "proposed",
    "recommend",
    "recommends",
    "recommended",
    "insist",
    "insists",
    "insisted",
];

/// "… suggest (that) we leave it": the subject of a mandative clause keeps the plain verb
/// ("the team leave it").
fn subjunctive(words: &[Word], at: usize) -> bool {
    let before = |k: usize| at.checked_sub(k).map(|i| words[i].norm.as_str());
    before(1).is_some_and(|w| MANDATIVE.contains(&w))
        || (before(1) == Some("that") && before(2).is_some_and(|w| MANDATIVE.contains(&w)))
}

/// The form of `verb` for the new subject, or `None` when no form can be chosen safely.
fn agree(verb: &str, person: Person, number: Number, next: Option<&str>) -> Option<String> {
    if verb == "'d" {
        return next
            .filter(|n| WOULD_VERBS.contains(n))
            .map(|_| "would".to_owned());
    }
    if is_modal(verb) || matches!(verb, "will" | "did" | "didn't" | "had" | "hadn't") {
        return Some(verb.to_owned());
    }
    let same = |v: &str| Some(v.to_owned());
    match (person, number, verb) {
        (Person::Speaker, _, "am") => same(if number == Number::Plural {
            "are"
        } else {
            "is"
        }),
        (Person::Speaker, Number::Plural, "was") => same("were"),
        (Person::Speaker, Number::Plural, "wasn't") => same("weren't"),
        (Person::Speaker, Number::Singular, "was" | "wasn't") => same(verb),
        (Person::Team, Number::Singular, "are") => same("is"),
        (Person::Team, Number::Singular, "aren't") => same("isn't"),
        (Person::Team, Number::Singular, "were") => same("was"),
        (Person::Team, Number::Singular, "weren't") => same("wasn't"),
        (_, Number::Plural, "are" | "aren't" | "were" | "weren't") => same(verb),
        (_, Number::Singular, "have") => same("has"),
        (_, Number::Singular, "haven't") => same("hasn't"),
        (_, Number::Singular, "do") => same("does"),
        (_, Number::Singular, "don't") => same("doesn't"),
        (_, Number::Plural, "have" | "haven't" | "do" | "don't") => same(verb),
        _ if is_past(verb) => same(verb),
        // "I put": present or past, so no singular form can be chosen.
        (_, Number::Singular, _) if is_plain_past(verb) => None,
        (_, Number::Singular, _) => third_person(verb),
        (_, Number::Plural, _) => is_base_verb(verb).then(|| verb.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extractive::prose::{capitalise, render_words, words_of_text};

    fn third(text: &str, speaker: &str) -> Option<String> {
        to_third_person(&words_of_text(text), speaker, Mentioned::default())
            .map(|w| capitalise(&render_words(&w)))
    }

    #[track_caller]
    fn check(said: &str, told: &str) {
        assert_eq!(third(said, "Priya").as_deref(), Some(told), "{said}");
    }

    #[test]
    fn i_and_its_contractions_become_the_speaker() {
        check(
            "I will fix the login bug by Monday.",
            "Priya will fix the login bug by Monday.",
        );
        check("I'll send the budget.", "Priya will send the budget.");
        check(
            "I'm going to draft the release.",
            "Priya is going to draft the release.",
        );
        check("I am on call this week.", "Priya is on call this week.");
        check("I can do the review.", "Priya can do the review.");
        check("I have the numbers.", "Priya has the numbers.");
        check("I've seen the numbers.", "Priya has seen the numbers.");
        check("I was on call.", "Priya was on call.");
        check(
            "I'd like a second review.",
            "Priya would like a second review.",
        );
    }

    #[test]
    fn present_verbs_agree_with_the_new_subject() {
        check(
            "I think support matters more.",
            "Priya thinks support matters more.",
        );
        check("I agree with Tom.", "Priya agrees with Tom.");
        check(
            "I need a week for the press.",
            "Priya needs a week for the press.",
        );
        check(
            "I also need a week for the press.",
            "Priya also needs a week for the press.",
        );
        check("I don't know the price.", "Priya doesn't know the price.");
        check(
            "I already merged the login change.",
            "Priya already merged the login change.",
        );
    }

    #[test]
    fn me_and_my_become_the_speaker_then_pronouns() {
        check(
            "My manager wants to see it in writing.",
            "Priya's manager wants to see it in writing.",
        );
        check(
            "The sprints feel rushed to me.",
            "The sprints feel rushed to Priya.",
        );
        check(
            "I spoke to my lead about it.",
            "Priya spoke to their lead about it.",
        );
        check("I think I was on call.", "Priya thinks they were on call.");
    }

    #[test]
    fn we_becomes_the_team() {
        check(
            "We decided to launch on November 10.",
            "The team decided to launch on November 10.",
        );
        check(
            "We are roughly on budget.",
            "The team is roughly on budget.",
        );
        check("We're behind on hiring.", "The team is behind on hiring.");
        check("We need a bigger room.", "The team needs a bigger room.");
        check(
            "We have not decided, we will talk to the data team first.",
            "The team has not decided, they will talk to the data team first.",
        );
        check(
            "I think we should wait.",
            "Priya thinks the team should wait.",
        );
        check("Tom and I are on call.", "Tom and Priya are on call.");
        check(
            "I suggest we leave it for the next meeting.",
            "Priya suggests the team leave it for the next meeting.",
        );
    }

    #[test]
    fn unsafe_clauses_are_not_rewritten() {
        for said in [
            "You should fix the login bug.",
            "I will do it myself.",
            "I gorble the numbers.",
            "I'd already left.",
            "I, um, think so.",
            "I put the file there.",
        ] {
            assert_eq!(third(said, "Priya"), None, "{said}");
        }
    }

    #[test]
    fn a_clause_without_first_person_is_unchanged() {
        let said = "The login bug is still open.";
        assert_eq!(third(said, "Priya").as_deref(), Some(said));
        assert!(!has_first_person(&words_of_text(said)));
    }
}
