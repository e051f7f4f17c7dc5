//! Transcribe's committed multi-speaker output → our transcript, and the exports of a
//! transcript: schema-valid JSON, SRT, WebVTT, Markdown, text.

use meeting_domain::contracts::Transcript;
use meeting_domain::ids::{RecordingId, UserId};
use transcription::aws::output::convert;
use transcription::exports::{output_files, to_markdown, to_srt, to_text, to_vtt};

const FIXTURE: &[u8] = include_bytes!("fixtures/transcribe-output.json");

fn fixture_transcript() -> Transcript {
    convert(FIXTURE, &RecordingId::new("rec_fixture").unwrap(), "en-US").unwrap()
}

fn assert_schema_valid(transcript: &Transcript) {
    let schema = serde_json::to_value(schemars::schema_for!(Transcript)).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance = serde_json::to_value(transcript).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}");
}

#[test]
fn given_the_transcribe_fixture_when_converted_then_turns_speakers_and_words_match() {
    let t = fixture_transcript();
    let labels: Vec<(&str, &str)> = t
        .speakers
        .iter()
        .map(|s| (s.id.as_str(), s.label.as_str()))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("spk_0", "Speaker 1"),
            ("spk_1", "Speaker 2"),
            ("spk_2", "Speaker 3")
        ]
    );
    let turns: Vec<(&str, &str)> = t
        .segments
        .iter()
        .map(|s| (s.speaker.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(
        turns,
        vec![
            ("spk_0", "Good morning everyone. Let's review the budget."),
            ("spk_1", "Thanks. Alice will send the budget by Friday."),
            ("spk_0", "Great, we decided to ship on Monday."),
            ("spk_2", "I will book the demo room, OK?"),
            ("spk_1", "Sounds good."),
        ]
    );
    let first = &t.segments[0];
    assert_eq!(first.words.len(), 7);
    assert_eq!(first.words[0].text, "Good");
    assert!((first.start - 0.5).abs() < 1e-9);
    assert!(
        first
            .words
            .iter()
            .all(|w| w.end >= w.start && (0.0..=1.0).contains(&w.confidence))
    );
    assert!(t.segments.windows(2).all(|p| p[0].end <= p[1].start));
    assert!(!t.speakers_approximate);
    assert!((t.duration_seconds - t.segments.last().unwrap().end).abs() < 1e-9);
    assert_schema_valid(&t);
}

#[test]
fn given_older_output_without_item_speaker_labels_when_converted_then_speaker_segments_decide() {
    let mut raw: serde_json::Value = serde_json::from_slice(FIXTURE).unwrap();
    for item in raw["results"]["items"].as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("speaker_label");
    }
    let older = convert(
        &serde_json::to_vec(&raw).unwrap(),
        &RecordingId::new("rec_fixture").unwrap(),
        "en-US",
    )
    .unwrap();
    assert_eq!(older, fixture_transcript());
}

#[test]
fn given_output_that_is_not_transcribe_json_when_converted_then_invalid_engine_output() {
    let err = convert(
        b"{\"results\": 3}",
        &RecordingId::new("r").unwrap(),
        "en-US",
    )
    .unwrap_err();
    assert_eq!(
        err.name(),
        meeting_domain::contracts::TranscriptionError::InvalidEngineOutput
    );
}

#[test]
fn given_a_transcript_when_exported_then_srt_cues_are_numbered_with_comma_milliseconds() {
    let srt = to_srt(&fixture_transcript());
    assert!(
        srt.starts_with("1\n00:00:00,500 --> 00:00:03,240\nSpeaker 1: Good morning everyone."),
        "{srt}"
    );
    assert_eq!(srt.matches(" --> ").count(), 5);
    assert!(srt.contains("\n5\n"));
}

#[test]
fn given_a_transcript_when_exported_then_webvtt_has_a_header_and_voice_spans() {
    let vtt = to_vtt(&fixture_transcript());
    assert!(vtt.starts_with("WEBVTT\n\n00:00:00.500 --> "), "{vtt}");
    assert!(vtt.contains("<v Speaker 3>I will book the demo room, OK?"));
}

#[test]
fn given_hostile_text_when_exported_then_vtt_and_markdown_escape_it() {
    let mut t = fixture_transcript();
    t.segments[0].text = "<b>--> # [link](x) *bold*".to_owned();
    t.segments[0].words.clear();
    let vtt = to_vtt(&t);
    assert!(vtt.contains("&lt;b&gt;--&gt;"), "{vtt}");
    let md = to_markdown(&t);
    assert!(md.contains("\\[link\\](x) \\*bold\\*"), "{md}");
    assert!(md.contains("\\<b\\>"), "{md}");
}

#[test]
fn given_a_transcript_when_exported_then_markdown_and_text_list_every_turn_with_speaker_and_time() {
    let t = fixture_transcript();
    let md = to_markdown(&t);
    assert!(md.starts_with("# Transcript of rec\\_fixture\n"), "{md}");
    assert!(
        md.contains("**Speaker 2** [00:04]: Thanks. Alice will send the budget by Friday."),
        "{md}"
    );
    let text = to_text(&t);
    assert_eq!(text.lines().count(), 5);
    assert!(
        text.starts_with("Speaker 1 [00:00]: Good morning everyone."),
        "{text}"
    );
}

#[test]
fn given_a_transcript_when_listing_outputs_then_keys_sit_under_the_processed_prefix_and_json_is_last()
 {
    let t = fixture_transcript();
    let files = output_files(
        &UserId::new("u1").unwrap(),
        &RecordingId::new("rec_fixture").unwrap(),
        &t,
    )
    .unwrap();
    let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "users/u1/processed/rec_fixture/transcript.srt",
            "users/u1/processed/rec_fixture/transcript.vtt",
            "users/u1/processed/rec_fixture/transcript.md",
            "users/u1/processed/rec_fixture/transcript.txt",
            "users/u1/processed/rec_fixture/transcript.json",
        ]
    );
    let json: Transcript = serde_json::from_slice(&files[4].body).unwrap();
    assert_eq!(json, t);
    assert_schema_valid(&json);
}

#[test]
fn given_transcribe_output_of_a_silent_recording_when_converted_then_the_transcript_is_empty() {
    // What Transcribe writes for media without speech: one empty transcript, no items, and
    // speaker labels without segments.
    let silent = serde_json::json!({
        "jobName": "job",
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "transcripts": [{"transcript": ""}],
            "speaker_labels": {"speakers": 0, "segments": []},
            "items": []
        }
    });

    let transcript = convert(
        &serde_json::to_vec(&silent).unwrap(),
        &RecordingId::new("rec_quiet").unwrap(),
        "en-US",
    )
    .expect("silence converts: it is not an engine error");

    assert!(transcript.segments.is_empty() && transcript.speakers.is_empty());
    assert_schema_valid(&transcript);
}

/// Transcribe output items: each `(speaker, start, end, text)` a word, a trailing `.`/`,` on a
/// text becomes a punctuation item.
fn transcribe_items(words: &[(&str, f64, f64, &str)]) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    for (speaker, start, end, text) in words {
        let (word, mark) = match text.strip_suffix(['.', ',', '?']) {
            Some(word) => (word, Some(&text[word.len()..])),
            None => (*text, None),
        };
        items.push(serde_json::json!({
            "type": "pronunciation",
            "start_time": format!("{start:.2}"),
            "end_time": format!("{end:.2}"),
            "speaker_label": speaker,
            "alternatives": [{"content": word, "confidence": "0.99"}],
        }));
        if let Some(mark) = mark {
            items.push(serde_json::json!({
                "type": "punctuation",
                "speaker_label": speaker,
                "alternatives": [{"content": mark, "confidence": "0.0"}],
            }));
        }
    }
    items
}

#[test]
fn transcribe_output_gets_the_same_sentence_and_turn_rules_as_the_offline_engine() {
    // Transcribe stamps the reply's first word with the previous speaker ("Good,"), and the
    // second speaker goes on after a 3 s pause.
    let words = [
        ("spk_1", 0.0, 0.3, "We"),
        ("spk_1", 0.4, 0.7, "ship"),
        ("spk_1", 0.8, 1.1, "Monday."),
        ("spk_1", 1.5, 1.8, "Good,"),
        ("spk_0", 1.9, 2.2, "I"),
        ("spk_0", 2.3, 2.6, "will"),
        ("spk_0", 2.7, 3.0, "tell"),
        ("spk_0", 3.1, 3.4, "them."),
        ("spk_0", 6.5, 6.8, "Next"),
        ("spk_0", 6.9, 7.2, "topic."),
    ];
    let output = serde_json::json!({
        "jobName": "job",
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "transcripts": [{"transcript": ""}],
            "items": transcribe_items(&words),
        }
    });
    let transcript = convert(
        &serde_json::to_vec(&output).unwrap(),
        &RecordingId::new("rec_rules").unwrap(),
        "en-US",
    )
    .unwrap();
    let turns: Vec<(&str, &str)> = transcript
        .segments
        .iter()
        .map(|s| (s.speaker.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(
        turns,
        vec![
            ("spk_1", "We ship Monday."),
            ("spk_0", "Good, I will tell them."),
            ("spk_0", "Next topic."),
        ]
    );
    // Transcribe's own ids stay; labels follow the order of appearance.
    let speakers: Vec<(&str, &str)> = transcript
        .speakers
        .iter()
        .map(|s| (s.id.as_str(), s.label.as_str()))
        .collect();
    assert_eq!(
        speakers,
        vec![("spk_1", "Speaker 1"), ("spk_0", "Speaker 2")]
    );
    assert_schema_valid(&transcript);
}
