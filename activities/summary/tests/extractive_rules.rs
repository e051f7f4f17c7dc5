//! The extractive engine's rules for commitments, deadlines, verdicts and names, each on
//! sentences of its own (none from the evaluation set) with a look-alike that must not produce
//! anything.

mod common;

use common::{lower, transcript_of};
use meeting_domain::contracts::{ActionItem, MeetingSummary};
use summary::ExtractiveSummarizer;

fn summarize(lines: &[(&str, f64, f64, &str)]) -> MeetingSummary {
    ExtractiveSummarizer::new()
        .summarize_now(&transcript_of(lines))
        .expect("the extractive engine summarizes a transcript with words")
}

/// One speaker saying each text in turn, a second apart.
fn monologue(texts: &[&str]) -> MeetingSummary {
    let lines: Vec<(&str, f64, f64, &str)> = texts
        .iter()
        .enumerate()
        .map(|(k, text)| ("spk_0", k as f64 * 5.0, k as f64 * 5.0 + 4.0, *text))
        .collect();
    summarize(&lines)
}

fn item_with<'a>(summary: &'a MeetingSummary, task_words: &str) -> Option<&'a ActionItem> {
    summary
        .action_items
        .iter()
        .find(|i| lower(&i.task).contains(task_words))
}

fn decisions(summary: &MeetingSummary) -> Vec<String> {
    summary
        .decisions
        .iter()
        .map(|d| d.decision.clone())
        .collect()
}

#[test]
fn given_a_subject_pronoun_after_a_comma_then_a_new_clause_ends_the_task() {
    let summary = monologue(&["I will book the flights, I'm off next week anyway."]);
    let flights = item_with(&summary, "book the flights").expect("an item");
    assert_eq!(flights.task, "book the flights");
    assert_eq!(
        flights.due, None,
        "the next week is the speaker's, not a deadline"
    );
    // "tidy up, I'm sure" leaves one content word: chatter, no item.
    let summary = monologue(&["I will tidy up, I'm sure."]);
    assert!(
        summary.action_items.is_empty(),
        "{:?}",
        summary.action_items
    );
}

#[test]
fn given_so_before_a_subject_then_the_purpose_clause_is_not_part_of_the_task() {
    let summary =
        monologue(&["I'll set up a call with the supplier on Tuesday so everyone can join."]);
    let call = item_with(&summary, "call with the supplier").expect("an item");
    assert_eq!(call.task, "set up a call with the supplier");
    assert_eq!(call.due.as_deref(), Some("on Tuesday"));
    // "so" before an adjective is no clause.
    let summary = monologue(&["I'll make the slides so much shorter."]);
    let slides = item_with(&summary, "slides").expect("an item");
    assert_eq!(slides.task, "make the slides so much shorter");
}

#[test]
fn given_a_negated_commitment_then_no_item_but_a_positive_one_stays() {
    let summary = monologue(&["I will sadly not renew the printer licence."]);
    assert!(
        summary.action_items.is_empty(),
        "{:?}",
        summary.action_items
    );
    let summary = monologue(&["I will gladly renew the printer licence by Monday."]);
    let licence = item_with(&summary, "printer licence").expect("an item");
    assert_eq!(licence.due.as_deref(), Some("by Monday"));
}

#[test]
fn given_an_unknown_capitalised_subject_that_has_to_act_then_only_a_deadline_makes_an_item() {
    // A group nobody in the meeting is called, told what it has to do: a constraint.
    let summary = monologue(&["Procurement still has to approve the new laptop order."]);
    assert!(
        summary.action_items.is_empty(),
        "{:?}",
        summary.action_items
    );
    // With a deadline it is an assignment.
    let summary = monologue(&["Procurement has to approve the new laptop order by Friday."]);
    assert!(item_with(&summary, "laptop order").is_some());
    // "will" still commits a name nobody used ("Priya will redo the benchmark").
    let summary = monologue(&["Priya will redo the storage benchmark."]);
    let benchmark = item_with(&summary, "benchmark").expect("an item");
    assert_eq!(benchmark.owner.as_deref(), Some("Priya"));
    // Noticing is nothing to do.
    let summary = monologue(&["Shoppers will notice the slower checkout page."]);
    assert!(
        summary.action_items.is_empty(),
        "{:?}",
        summary.action_items
    );
}

#[test]
fn given_an_event_that_names_a_period_then_the_whole_event_is_the_deadline() {
    let summary = monologue(&["I will repaint the lobby before the spring weekend fair."]);
    let lobby = item_with(&summary, "lobby").expect("an item");
    assert_eq!(lobby.task, "repaint the lobby");
    assert_eq!(lobby.due.as_deref(), Some("before the spring weekend fair"));
    // A period alone stays a period.
    let summary = monologue(&["I will repaint the lobby before the next weekend, promise."]);
    let lobby = item_with(&summary, "lobby").expect("an item");
    assert_eq!(lobby.due.as_deref(), Some("before the next weekend"));
}

#[test]
fn given_by_and_sprint_misheard_then_the_deadline_is_read_as_said() {
    let summary = monologue(&["I will send the invoice like Friday."]);
    let invoice = item_with(&summary, "invoice").expect("an item");
    assert_eq!(
        (invoice.task.as_str(), invoice.due.as_deref()),
        ("send the invoice", Some("by Friday"))
    );
    let summary = monologue(&["I will format the invoice like Friday's invoice."]);
    let invoice = item_with(&summary, "format the invoice").expect("an item");
    assert_eq!(invoice.due, None, "{invoice:?}");

    let summary = monologue(&["I will refactor the parser before the next print."]);
    let parser = item_with(&summary, "parser").expect("an item");
    assert_eq!(parser.due.as_deref(), Some("before the next sprint"));
    // Printing is a task, not a sprint.
    let summary = monologue(&["I will print the handouts before the next meeting."]);
    let handouts = item_with(&summary, "handouts").expect("an item");
    assert_eq!(handouts.task, "print the handouts");
    assert_eq!(handouts.due.as_deref(), Some("before the next meeting"));
}

#[test]
fn given_get_with_a_deadline_then_it_is_a_task_and_without_one_it_is_not() {
    let summary = monologue(&["Omar will get two estimates from the printers by Thursday."]);
    let estimates = item_with(&summary, "estimates").expect("an item");
    assert_eq!(
        (
            estimates.owner.as_deref(),
            estimates.task.as_str(),
            estimates.due.as_deref()
        ),
        (
            Some("Omar"),
            "get two estimates from the printers",
            Some("by Thursday")
        )
    );
    let summary = monologue(&["Omar will get two estimates from the printers."]);
    assert!(
        summary.action_items.is_empty(),
        "{:?}",
        summary.action_items
    );
}

#[test]
fn given_agreed_as_a_verdict_then_the_clause_after_it_is_a_decision() {
    let summary = monologue(&[
        "The hotel is too expensive.",
        "Agreed: the offsite moves to June.",
    ]);
    assert_eq!(decisions(&summary), ["The offsite moves to June"]);
    // Said alone, the verdict is the same speaker's next sentence; speech recognition writes
    // a lone "Agreed." as "And read.".
    let summary = monologue(&["Agreed.", "We cap the hotel cost at two hundred euros."]);
    assert_eq!(
        decisions(&summary),
        ["We cap the hotel cost at two hundred euros"]
    );
    let summary = monologue(&["And read.", "The kickoff moves to Tuesday."]);
    assert_eq!(decisions(&summary), ["The kickoff moves to Tuesday"]);
}

#[test]
fn given_agreed_as_a_reply_then_no_decision() {
    // An opinion or a description after it.
    let summary = monologue(&["Agreed.", "The staging tests are flaky."]);
    assert!(summary.decisions.is_empty(), "{:?}", summary.decisions);
    let summary = monologue(&["Agreed, I was going to say that."]);
    assert!(summary.decisions.is_empty(), "{:?}", summary.decisions);
    let summary = monologue(&["Agreed.", "Maybe we cap the hotel cost."]);
    assert!(summary.decisions.is_empty(), "{:?}", summary.decisions);
    let summary = monologue(&["Agreed.", "We need to cap the hotel cost."]);
    assert!(summary.decisions.is_empty(), "{:?}", summary.decisions);
    // Someone else speaks after "Agreed.".
    let summary = summarize(&[
        ("spk_0", 0.0, 1.0, "Agreed."),
        (
            "spk_1",
            1.5,
            4.0,
            "We cap the hotel cost at two hundred euros.",
        ),
    ]);
    assert!(summary.decisions.is_empty(), "{:?}", summary.decisions);
    // A commitment after it stays an action item.
    let summary = monologue(&["Agreed.", "Omar will call the hotel by Friday."]);
    assert!(summary.decisions.is_empty(), "{:?}", summary.decisions);
    assert!(item_with(&summary, "call the hotel").is_some());
}

#[test]
fn given_a_self_introduction_and_a_stray_thanks_in_the_same_label_then_the_introduction_wins() {
    let summary = summarize(&[
        ("spk_0", 0.0, 4.0, "Hi Lea, this is Marco from Acme."),
        ("spk_1", 4.5, 7.0, "Hi Marco, good to hear from you."),
        (
            "spk_0",
            7.5,
            11.0,
            "I will send the revised quote by Monday.",
        ),
        ("spk_1", 11.5, 13.0, "Sounds good."),
        // Lea's "Thank you, Marco." heard inside Marco's turn.
        ("spk_0", 13.5, 16.0, "Thank you, Marco. Talk soon."),
    ]);
    let quote = item_with(&summary, "revised quote").expect("an item");
    assert_eq!(quote.owner.as_deref(), Some("Marco"), "{quote:?}");
}

#[test]
fn given_one_reply_by_name_and_nothing_against_then_the_label_is_named() {
    let summary = summarize(&[
        ("spk_0", 0.0, 3.0, "The roadmap slide is out of date."),
        ("spk_1", 3.5, 6.0, "Sure, Ines, I noticed that too."),
        (
            "spk_0",
            6.5,
            10.0,
            "I will update the roadmap slide by Friday.",
        ),
        ("spk_2", 10.5, 13.0, "Good."),
    ]);
    let slide = item_with(&summary, "roadmap slide").expect("an item");
    assert_eq!(slide.owner.as_deref(), Some("Ines"), "{slide:?}");
}

#[test]
fn given_one_request_by_name_that_nobody_accepts_then_the_next_label_stays_a_label() {
    // Diarization may give the accepting answer to the asker's label; the turn after it is
    // someone else's.
    let summary = summarize(&[
        (
            "spk_0",
            0.0,
            4.0,
            "Ines, please check the roadmap slide. Yes, I can do that.",
        ),
        ("spk_1", 4.5, 7.0, "That makes sense to me."),
        ("spk_1", 7.5, 11.0, "I will book the meeting room tomorrow."),
        ("spk_0", 11.5, 13.0, "Great."),
    ]);
    let room = item_with(&summary, "meeting room").expect("an item");
    assert_eq!(room.owner.as_deref(), Some("Speaker 2"), "{room:?}");
}

#[test]
fn given_a_task_handed_to_a_named_colleague_then_they_own_it() {
    let summary = summarize(&[
        ("spk_0", 0.0, 3.0, "Good morning, Priya."),
        ("spk_1", 3.5, 5.0, "Morning, all."),
        (
            "spk_0",
            5.5,
            9.0,
            "Let's have Priya draft the release FAQ by Friday.",
        ),
        (
            "spk_0",
            9.5,
            13.0,
            "We need Priya to call the printing company.",
        ),
    ]);
    let faq = item_with(&summary, "release faq").expect("an item");
    assert_eq!(
        (faq.owner.as_deref(), faq.task.as_str(), faq.due.as_deref()),
        (Some("Priya"), "draft the release FAQ", Some("by Friday"))
    );
    let call = item_with(&summary, "printing company").expect("an item");
    assert_eq!(call.owner.as_deref(), Some("Priya"), "{call:?}");
}

#[test]
fn given_a_product_or_a_look_handed_over_then_no_item() {
    let summary = monologue(&[
        "We need Postgres to handle the extra load.",
        "Let's have a look at the error logs.",
        "I want Grafana to show the queue length.",
    ]);
    assert!(
        summary.action_items.is_empty(),
        "{:?}",
        summary.action_items
    );
}
