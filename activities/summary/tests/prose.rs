//! The extractive engine's summary text on whole meetings: prose in whole sentences, told in
//! the third person of the speakers, in time order, with no word the meeting did not supply.

mod common;

use std::collections::HashSet;

use common::{lower, transcript_of};
use meeting_domain::contracts::{MeetingSummary, Transcript};
use summary::ExtractiveSummarizer;

fn summarize(transcript: &Transcript) -> MeetingSummary {
    ExtractiveSummarizer::new()
        .summarize_now(transcript)
        .expect("the extractive engine summarizes a transcript with words")
}

/// A sprint planning as a recogniser with a good diarizer would give it: Maria (spk_0), Tom
/// (spk_1) and Priya (spk_2), one segment per turn.
fn sprint_planning() -> Transcript {
    transcript_of(&[
        (
            "spk_0",
            0.5,
            5.0,
            "Okay, let's get started with sprint planning. Tom, Priya, thanks for joining.",
        ),
        (
            "spk_1",
            5.5,
            11.0,
            "Happy to. Before we start, I already merged the logging change yesterday, so that \
             ticket is done.",
        ),
        (
            "spk_2",
            11.5,
            18.0,
            "Nice work, Tom. The login bug is still open though. Users on the mobile app cannot \
             reset their password.",
        ),
        (
            "spk_0",
            18.5,
            22.0,
            "That sounds like the top priority. Priya, can you own it?",
        ),
        (
            "spk_2",
            22.5,
            25.0,
            "Yes. I will fix the login bug by Monday.",
        ),
        (
            "spk_0",
            25.5,
            31.0,
            "Perfect. Next topic is the database migration. We have been talking about it for \
             months.",
        ),
        (
            "spk_1",
            31.5,
            36.0,
            "The old schema is really slowing us down. Every new feature needs a workaround.",
        ),
        (
            "spk_0",
            36.5,
            41.0,
            "Can you, Tom, write the migration plan before the next sprint? Then we can \
             estimate it properly.",
        ),
        ("spk_1", 41.5, 43.0, "Sure, I can do that."),
        (
            "spk_2",
            43.5,
            48.0,
            "What about sprint length? The one week sprints feel rushed to me.",
        ),
        (
            "spk_1",
            48.5,
            52.0,
            "I agree. We spend half of every week in meetings.",
        ),
        (
            "spk_0",
            52.5,
            57.0,
            "Then let's go with two week sprints from now on. Everyone fine with that?",
        ),
        ("spk_2", 57.5, 58.5, "Fine with me."),
        ("spk_1", 59.0, 60.0, "Yes, fine."),
        (
            "spk_0",
            60.5,
            67.0,
            "Good. The search feature is too big for this sprint. Agreed: the search feature \
             moves to the next sprint.",
        ),
        (
            "spk_2",
            67.5,
            72.0,
            "Let's think about pairing on the harder tickets. It might help with the reviews.",
        ),
        (
            "spk_1",
            72.5,
            77.0,
            "Maybe. Speaking of reviews, there are six open pull requests for the payment \
             service.",
        ),
        (
            "spk_0",
            77.5,
            83.0,
            "Tom needs to review the pull requests for the payment service. They have been \
             waiting too long.",
        ),
        ("spk_1", 83.5, 86.0, "Understood, I will get to them."),
        (
            "spk_2",
            86.5,
            90.0,
            "Did we ever decide what to do with the old reporting API?",
        ),
        (
            "spk_0",
            90.5,
            96.0,
            "Not yet, we have not decided. We will talk to the data team first.",
        ),
        (
            "spk_0",
            96.5,
            100.0,
            "One more thing from me: I'll take care of the release notes tomorrow.",
        ),
        (
            "spk_1",
            100.5,
            106.0,
            "And Maria, please update the test data by the end of the week. The fixtures are \
             out of date.",
        ),
        (
            "spk_0",
            106.5,
            111.0,
            "Will do. Thanks, Priya. Thanks, Tom. See you at the stand-up.",
        ),
    ])
}

/// Words the prose may add: reporting frames, "the team", pronouns and agreement forms.
const CONNECTIVES: &[&str] = &[
    "said",
    "that",
    "added",
    "asked",
    "to",
    "suggested",
    "offered",
    "the",
    "team",
    "team's",
    "they",
    "them",
    "their",
    "theirs",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "does",
    "doesn't",
    "hasn't",
    "isn't",
    "wasn't",
    "would",
    "will",
    "by",
    "agenda",
    "covered",
    "goal",
    "of",
    "meeting",
];

/// The lower-case words of a text, punctuation and possessive "'s" removed.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            lower(w)
                .replace('’', "'")
                .trim_matches(|c: char| !c.is_alphanumeric())
                .trim_end_matches("'s")
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Asserts that every word of the summary text was said in the meeting, is a speaker label, a
/// connective, or the third-person form of a word said ("thinks" for "think").
fn assert_nothing_invented(summary: &MeetingSummary, transcript: &Transcript) {
    let mut said: HashSet<String> = transcript
        .segments
        .iter()
        .flat_map(|s| words(&s.text))
        .collect();
    said.extend(transcript.speakers.iter().flat_map(|s| words(&s.label)));
    said.extend(CONNECTIVES.iter().map(|w| (*w).to_owned()));
    for word in words(&summary.summary) {
        let stems = [
            word.strip_suffix('s'),
            word.strip_suffix("es"),
            word.strip_suffix("ies").map(|s| format!("{s}y")).as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|stem| said.contains(stem));
        assert!(
            said.contains(&word) || stems,
            "{word:?} was not said in the meeting:\n{}",
            summary.summary
        );
    }
}

#[test]
fn given_a_sprint_planning_when_summarized_then_the_summary_is_attributed_prose_in_time_order() {
    let transcript = sprint_planning();
    let summary = summarize(&transcript);
    let text = &summary.summary;

    // Prose: a few paragraphs of whole sentences, no quoted lines, no questions, no greetings.
    let paragraphs: Vec<&str> = text.lines().collect();
    assert!((1..=4).contains(&paragraphs.len()), "{text}");
    for paragraph in &paragraphs {
        assert!(paragraph.ends_with('.'), "{paragraph}");
        assert!(!paragraph.contains(": "), "no quoted lines: {paragraph}");
    }
    assert!(!text.contains('?'), "{text}");
    for left_out in ["thanks", "see you", "it might", "that sounds", "what about"] {
        assert!(!lower(text).contains(left_out), "{left_out:?} in {text}");
    }
    // Told in the third person: Priya accepted the request made to her by name.
    assert!(
        text.contains("Priya will fix the login bug by Monday."),
        "{text}"
    );
    // Three voices and three names used: one greeting or request each names them.
    assert!(
        text.contains("Maria asked Tom to write the migration plan before the next sprint."),
        "{text}"
    );
    assert!(
        !lower(text).contains(" i ") && !text.starts_with("I "),
        "{text}"
    );
    assert!(!lower(text).contains(" we "), "{text}");
    // In the order the topics came up.
    let login = text
        .find("login bug")
        .expect("the login bug is in the summary");
    let migration = text.find("migration plan").expect("the migration is in it");
    assert!(login < migration, "{text}");
    assert_nothing_invented(&summary, &transcript);
}

#[test]
fn given_the_same_meeting_without_names_when_summarized_then_speakers_are_told_by_label() {
    // Nobody is named: the labels tell who said what.
    let transcript = transcript_of(&[
        (
            "spk_0",
            0.0,
            6.0,
            "The login bug is still open and users on the mobile app cannot reset passwords.",
        ),
        (
            "spk_1",
            6.5,
            10.0,
            "Yes, I will fix the login bug in the mobile app by Monday.",
        ),
        (
            "spk_0",
            10.5,
            15.0,
            "So we decided to ship the mobile app release after the login bug fix.",
        ),
    ]);
    let summary = summarize(&transcript);
    let text = &summary.summary;
    assert!(
        text.contains("Speaker 1 said that the login bug is still open"),
        "{text}"
    );
    assert!(
        text.contains("Speaker 2 will fix the login bug in the mobile app by Monday."),
        "{text}"
    );
    assert!(
        text.contains("The team decided to ship the mobile app release after the login bug fix."),
        "{text}"
    );
    assert_nothing_invented(&summary, &transcript);
}

#[test]
fn given_only_questions_and_greetings_when_summarized_then_the_summary_is_still_not_empty() {
    let transcript = transcript_of(&[
        ("spk_0", 0.0, 3.0, "Good morning, everyone!"),
        (
            "spk_1",
            3.5,
            8.0,
            "Did the marketing budget numbers arrive from finance yesterday?",
        ),
        ("spk_0", 8.5, 10.0, "Thanks, Tom."),
    ]);
    let summary = summarize(&transcript);
    assert_eq!(
        summary.summary,
        "Speaker 2: Did the marketing budget numbers arrive from finance yesterday?"
    );
}
