//! Rendering a tiny meeting with the real tools (`espeak-ng`, `sox`, `ffmpeg`; missing tools
//! fail the test, as in `recorder_testkit::media`): the turns are measured, an overlap makes
//! two turns share time, the audio has the meeting date, and a second render reuses the cache.

use meeting_eval::meeting::Meeting;
use meeting_eval::render::render;

const TINY: &str = r#"{
  "id": "tiny",
  "title": "two lines, the second one interrupting",
  "date": "2026-03-10",
  "voices": [
    {"name": "Alice", "voice": "en-us+f2", "pitch": 60, "speed": 170},
    {"name": "Bob", "voice": "en-gb", "pitch": 35, "speed": 150}
  ],
  "noise": {"kind": "pinknoise", "amplitude": 0.02},
  "lines": [
    {"speaker": "Alice", "text": "Bob, please send the budget by Friday."},
    {"speaker": "Bob", "text": "Sure, I will.", "overlap": 0.5}
  ],
  "truth": {"decisions": [], "actionItems": [], "tentative": []}
}"#;

#[test]
fn given_an_overlapping_line_when_rendered_then_its_turn_starts_before_the_previous_ends() {
    let meeting: Meeting = serde_json::from_str(TINY).expect("meeting JSON");
    meeting.check().expect("consistent");
    let cache = tempfile::tempdir().expect("tempdir");

    let rendered = render(&meeting, cache.path()).expect("rendered");

    assert_eq!(rendered.turns.len(), 2);
    let (alice, bob) = (&rendered.turns[0], &rendered.turns[1]);
    assert_eq!(
        (alice.speaker.as_str(), bob.speaker.as_str()),
        ("Alice", "Bob")
    );
    assert!(alice.end - alice.start > 1.0, "{alice:?}");
    assert!(
        (alice.end - bob.start - 0.5).abs() < 0.01,
        "{alice:?} {bob:?}"
    );
    assert!(rendered.duration_seconds > bob.end, "{rendered:?}");
    assert!(rendered.audio.is_file());
    let modified = std::fs::metadata(&rendered.audio)
        .and_then(|m| m.modified())
        .expect("mtime");
    let date: chrono::DateTime<chrono::Utc> = modified.into();
    assert_eq!(date.date_naive(), meeting.date);

    let again = render(&meeting, cache.path()).expect("cached");
    assert_eq!(again, rendered);
}
