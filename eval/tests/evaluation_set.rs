//! The evaluation set itself, checked without rendering anything: every meeting file loads and
//! is consistent, and the set as a whole covers what issues 16 and 20 ask for (enough meetings,
//! two to six voices, noise and overlaps, durations from about one to ten minutes, due dates that mean
//! what their phrase says).

use chrono::{Datelike, Weekday};
use meeting_eval::meeting::{Meeting, load_all};

fn set() -> Vec<Meeting> {
    let pattern = concat!(env!("CARGO_MANIFEST_DIR"), "/meetings/*.json");
    load_all(pattern)
        .expect("every meeting file loads and passes its checks")
        .into_iter()
        .map(|(_, meeting)| meeting)
        .collect()
}

/// Minutes the meeting lasts, estimated from words per minute of each voice and the pauses
/// (rendering measures the real length; this bound needs no audio).
fn estimated_minutes(meeting: &Meeting) -> f64 {
    meeting
        .lines
        .iter()
        .map(|line| {
            let speed = meeting.voice(&line.speaker).map_or(160, |v| v.speed);
            line.text.split_whitespace().count() as f64 / f64::from(speed) + 0.45 / 60.0
        })
        .sum()
}

#[test]
fn the_set_has_at_least_twelve_meetings_with_two_to_six_voices() {
    let meetings = set();
    assert!(meetings.len() >= 12, "{} meetings", meetings.len());
    for voices in 2..=6 {
        assert!(
            meetings.iter().any(|m| m.voices.len() == voices),
            "no meeting with {voices} voices"
        );
    }
}

#[test]
fn within_a_meeting_every_voice_has_its_own_pitch_and_speed() {
    for meeting in set() {
        let mut pitches: Vec<u8> = meeting.voices.iter().map(|v| v.pitch).collect();
        let mut speeds: Vec<u16> = meeting.voices.iter().map(|v| v.speed).collect();
        pitches.sort_unstable();
        pitches.dedup();
        speeds.sort_unstable();
        speeds.dedup();
        assert_eq!(
            pitches.len(),
            meeting.voices.len(),
            "{}: pitches",
            meeting.id
        );
        assert_eq!(speeds.len(), meeting.voices.len(), "{}: speeds", meeting.id);
    }
}

#[test]
fn some_meetings_have_background_noise_and_some_have_overlapping_turns() {
    let meetings = set();
    let noisy = meetings.iter().filter(|m| m.noise.is_some()).count();
    let overlapping = meetings
        .iter()
        .filter(|m| m.lines.iter().any(|l| l.overlap > 0.0))
        .count();
    assert!(noisy >= 3, "{noisy} noisy meetings");
    assert!(overlapping >= 3, "{overlapping} meetings with overlaps");
    assert!(noisy < meetings.len(), "some meetings should be quiet");
}

#[test]
fn durations_spread_from_about_one_to_ten_minutes_and_stay_under_forty_in_total() {
    let minutes: Vec<f64> = set().iter().map(estimated_minutes).collect();
    let shortest = minutes.iter().copied().fold(f64::MAX, f64::min);
    let longest = minutes.iter().copied().fold(0.0, f64::max);
    let total: f64 = minutes.iter().sum();
    assert!(shortest < 1.5, "shortest {shortest:.1} min");
    assert!((6.0..=10.0).contains(&longest), "longest {longest:.1} min");
    assert!(total < 40.0, "{total:.1} min in total");
}

#[test]
fn the_truth_has_decisions_tentative_statements_and_every_kind_of_due() {
    let meetings = set();
    let items: Vec<_> = meetings
        .iter()
        .flat_map(|m| &m.truth.action_items)
        .collect();
    assert!(meetings.iter().all(|m| !m.truth.decisions.is_empty()));
    assert!(meetings.iter().all(|m| !m.truth.tentative.is_empty()));
    assert!(items.iter().any(|i| i.due.is_none()), "an item without due");
    assert!(
        items
            .iter()
            .any(|i| i.due.is_some() && i.due_date.is_none()),
        "an item whose due cannot be a date"
    );
    assert!(items.iter().filter(|i| i.due_date.is_some()).count() >= 20);
}

#[test]
fn a_due_phrase_naming_a_weekday_resolves_to_that_weekday_within_the_next_seven_days() {
    let weekdays = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
    ];
    let mut checked = 0;
    for meeting in set() {
        for item in &meeting.truth.action_items {
            let (Some(due), Some(date)) = (&item.due, item.due_date) else {
                continue;
            };
            let due = due.to_lowercase();
            if let Some((_, weekday)) = weekdays.iter().find(|(name, _)| due.ends_with(name)) {
                let days = (date - meeting.date).num_days();
                assert_eq!(date.weekday(), *weekday, "{}: {due}", meeting.id);
                assert!(
                    (1..=7).contains(&days),
                    "{}: {due} is {days} days on",
                    meeting.id
                );
                checked += 1;
            }
            if due == "tomorrow" {
                assert_eq!((date - meeting.date).num_days(), 1, "{}", meeting.id);
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked} weekday/tomorrow items checked");
}
