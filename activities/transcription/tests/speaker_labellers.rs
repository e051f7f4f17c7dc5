//! The speaker-labeller port's contract, run against both adapters (the voice encoder and the
//! model-free spectral labeller) on espeak-ng speech rendered at test time; and what only the
//! voice encoder is expected to do: tell three voices apart without being told how many.

mod common;

use std::process::Command;

use transcription::audio::decode_to_pcm;
use transcription::speakers::{LabelledWindow, SpeakerLabeller, SpectralLabeller};
use transcription::vad::{SpeechRegion, detect_speech};
use transcription::voice_encoder::load_default_voice_encoder;
use transcription::voice_speakers::VoiceLabeller;

fn labellers() -> Vec<Box<dyn SpeakerLabeller>> {
    vec![
        Box::new(VoiceLabeller::new(
            load_default_voice_encoder()
                .expect("speaker model installed (scripts/setup.sh models)"),
        )),
        Box::new(SpectralLabeller),
    ]
}

/// Share of the labelled time inside scripted lines whose label agrees with the script under the
/// best one-to-one mapping of labels to voices (voices and labels are few: try every
/// permutation). The pauses inside a line are not speech and carry no label, so they do not
/// count either way.
fn agreement(windows: &[LabelledWindow], turns: &[(usize, f64, f64)], voices: usize) -> f64 {
    let labels = windows.iter().map(|w| w.speaker + 1).max().unwrap_or(0);
    let mut overlap = vec![vec![0f64; labels.max(1)]; voices];
    let mut total = 0.0;
    for &(voice, start, end) in turns {
        for w in windows {
            let shared = end.min(w.end) - start.max(w.start);
            if shared > 0.0 {
                overlap[voice][w.speaker] += shared;
                total += shared;
            }
        }
    }
    fn best(overlap: &[Vec<f64>], voice: usize, used: &mut Vec<bool>) -> f64 {
        if voice == overlap.len() {
            return 0.0;
        }
        let mut top = best(overlap, voice + 1, used); // this voice unmatched
        for label in 0..used.len() {
            if !used[label] {
                used[label] = true;
                top = top.max(overlap[voice][label] + best(overlap, voice + 1, used));
                used[label] = false;
            }
        }
        top
    }
    best(&overlap, 0, &mut vec![false; labels.max(1)]) / total
}

fn check_shape(name: &str, windows: &[LabelledWindow], regions: &[SpeechRegion]) {
    for pair in windows.windows(2) {
        assert!(
            pair[0].end <= pair[1].start + 1e-9,
            "{name}: windows overlap or are out of order: {pair:?}"
        );
    }
    for w in windows {
        assert!(w.start < w.end, "{name}: empty window {w:?}");
        assert!(
            regions
                .iter()
                .any(|r| w.start >= r.start - 1e-9 && w.end <= r.end + 1e-9),
            "{name}: window {w:?} outside the speech"
        );
    }
    let mut seen = 0;
    for w in windows {
        assert!(
            w.speaker <= seen,
            "{name}: speakers not numbered in order of appearance"
        );
        seen = seen.max(w.speaker + 1);
    }
}

#[tokio::test]
async fn every_labeller_tells_the_two_voices_apart_and_keeps_its_windows_inside_the_speech() {
    let meeting = common::meeting().await;
    let regions = detect_speech(&meeting.pcm);
    for labeller in labellers() {
        let name = labeller.name();
        let windows = labeller.label(&meeting.pcm, &regions, None);
        check_shape(name, &windows, &regions);
        let speakers = windows.iter().map(|w| w.speaker + 1).max();
        assert_eq!(speakers, Some(2), "{name}: {windows:?}");
        let agreement = agreement(&windows, &meeting.turns, 2);
        assert!(agreement >= 0.9, "{name}: agreement {agreement:.3}");
    }
}

#[tokio::test]
async fn every_labeller_keeps_to_a_maximum_of_one_speaker() {
    let meeting = common::meeting().await;
    let regions = detect_speech(&meeting.pcm);
    for labeller in labellers() {
        let windows = labeller.label(&meeting.pcm, &regions, Some(1));
        assert!(!windows.is_empty(), "{}", labeller.name());
        assert!(
            windows.iter().all(|w| w.speaker == 0),
            "{}: {windows:?}",
            labeller.name()
        );
    }
}

#[tokio::test]
async fn every_labeller_labels_nothing_without_speech() {
    for labeller in labellers() {
        assert!(labeller.label(&[0.0; 16_000], &[], None).is_empty());
        assert!(labeller.label(&[], &[], None).is_empty());
    }
}

/// Three voices, four lines each, in an order where every voice follows every other.
const THREE_VOICES: &[(usize, &str)] = &[
    (
        0,
        "Good morning. I want to go through the plan for the office move today.",
    ),
    (
        1,
        "Sounds good. The movers confirmed they can come on the second weekend.",
    ),
    (
        2,
        "I still need the floor plan before I can order the new desks.",
    ),
    (
        0,
        "Then let us get the floor plan done first, by the end of this week.",
    ),
    (
        2,
        "Fine. I will also ask facilities about the parking permits.",
    ),
    (
        1,
        "The internet provider needs three weeks notice for the new line.",
    ),
    (0, "Please call them tomorrow so we do not lose any time."),
    (
        1,
        "I will call them in the morning and send everyone the date.",
    ),
    (
        2,
        "One more thing: the kitchen in the new place has no dishwasher.",
    ),
    (
        1,
        "We can ask the landlord, the lease mentions kitchen appliances.",
    ),
    (
        2,
        "Good idea. I will write to the landlord this afternoon then.",
    ),
    (0, "Great, thank you both. That is everything for today."),
];

#[tokio::test]
async fn the_voice_encoder_finds_three_voices_without_being_told() {
    let voices = [
        ("en-us", "35", "165"),
        ("en-gb+f3", "68", "155"),
        ("en-us+m3", "50", "180"),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let mut pcm: Vec<f32> = vec![0.0; 8_000];
    let mut turns = Vec::new();
    for (i, (voice, text)) in THREE_VOICES.iter().enumerate() {
        let wav = dir.path().join(format!("line{i}.wav"));
        let (name, pitch, speed) = voices[*voice];
        let status = Command::new("espeak-ng")
            .args(["-v", name, "-p", pitch, "-s", speed, "-w"])
            .arg(&wav)
            .arg(text)
            .status()
            .expect("espeak-ng runs (scripts/setup.sh apt)");
        assert!(status.success());
        let samples = decode_to_pcm(&wav).await.expect("decode espeak output");
        let start = pcm.len() as f64 / 16_000.0;
        pcm.extend_from_slice(&samples);
        turns.push((*voice, start, pcm.len() as f64 / 16_000.0));
        pcm.extend(std::iter::repeat_n(0.0, 8_000));
    }
    let regions = detect_speech(&pcm);
    let labeller = VoiceLabeller::new(load_default_voice_encoder().expect("speaker model"));
    let windows = labeller.label(&pcm, &regions, None);
    check_shape(labeller.name(), &windows, &regions);
    assert_eq!(
        windows.iter().map(|w| w.speaker + 1).max(),
        Some(3),
        "{windows:?}"
    );
    let agreement = agreement(&windows, &turns, 3);
    assert!(agreement >= 0.9, "agreement {agreement:.3}");
}
