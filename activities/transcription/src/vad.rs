//! Energy-based voice-activity detection.
//!
//! Whisper invents words on silence ("You", "Thank you."), so speech regions decide whether
//! Whisper runs at all and which of its words are kept; they are also the units the speaker
//! clustering labels.

use crate::audio::SAMPLE_RATE;

/// 25 ms analysis window, the usual speech frame.
const FRAME: usize = 400;
/// 10 ms hop.
const HOP: usize = 160;
/// Frames quieter than this are never speech (digital silence, faint hiss): -50 dBFS.
const ABSOLUTE_FLOOR_DB: f32 = -50.0;
/// Speech is this much louder than the noise floor (the 10th percentile of frame energies).
const ABOVE_NOISE_DB: f32 = 12.0;
/// Pauses shorter than this inside speech are bridged (stops, breaths between words).
const BRIDGE_SECONDS: f64 = 0.3;
/// Bursts shorter than this are not speech (clicks, door slams).
const MIN_SPEECH_SECONDS: f64 = 0.2;

/// A stretch of speech, seconds from the start of the audio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpeechRegion {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
}

impl SpeechRegion {
    /// Length, seconds.
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

fn frame_db(frame: &[f32]) -> f32 {
    let energy = frame.iter().map(|s| s * s).sum::<f32>() / frame.len().max(1) as f32;
    10.0 * (energy + 1e-12).log10()
}

/// Speech regions of 16 kHz mono audio, in time order.
pub fn detect_speech(pcm: &[f32]) -> Vec<SpeechRegion> {
    if pcm.len() < FRAME {
        return Vec::new();
    }
    let levels: Vec<f32> = (0..=(pcm.len() - FRAME) / HOP)
        .map(|i| frame_db(&pcm[i * HOP..i * HOP + FRAME]))
        .collect();
    let mut sorted = levels.clone();
    sorted.sort_by(f32::total_cmp);
    let noise_floor = sorted[sorted.len() / 10];
    let threshold = (noise_floor + ABOVE_NOISE_DB).max(ABSOLUTE_FLOOR_DB);

    let hop_seconds = HOP as f64 / f64::from(SAMPLE_RATE);
    let frame_seconds = FRAME as f64 / f64::from(SAMPLE_RATE);
    let mut regions: Vec<SpeechRegion> = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        if *level < threshold {
            continue;
        }
        let start = i as f64 * hop_seconds;
        let end = start + frame_seconds;
        match regions.last_mut() {
            Some(last) if start - last.end <= BRIDGE_SECONDS => last.end = end,
            _ => regions.push(SpeechRegion { start, end }),
        }
    }
    regions.retain(|r| r.duration() >= MIN_SPEECH_SECONDS);
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f64, amplitude: f32) -> Vec<f32> {
        (0..(seconds * 16_000.0) as usize)
            .map(|i| amplitude * (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn silence_has_no_speech() {
        assert!(detect_speech(&vec![0.0; 16_000 * 10]).is_empty());
        assert!(detect_speech(&tone(10.0, 0.000_5)).is_empty());
    }

    #[test]
    fn a_loud_burst_between_silences_is_one_region() {
        let mut pcm = vec![0.0; 16_000];
        pcm.extend(tone(2.0, 0.3));
        pcm.extend(vec![0.0; 16_000]);
        let regions = detect_speech(&pcm);
        assert_eq!(regions.len(), 1);
        assert!((regions[0].start - 1.0).abs() < 0.05, "{regions:?}");
        assert!((regions[0].end - 3.0).abs() < 0.05, "{regions:?}");
    }

    #[test]
    fn short_pauses_are_bridged_and_long_ones_split() {
        let mut pcm = tone(1.0, 0.3);
        pcm.extend(vec![0.0; 1_600]); // 100 ms
        pcm.extend(tone(1.0, 0.3));
        pcm.extend(vec![0.0; 16_000]); // 1 s
        pcm.extend(tone(1.0, 0.3));
        assert_eq!(detect_speech(&pcm).len(), 2);
    }
}
