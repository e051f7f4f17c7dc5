//! The offline pipeline: voice-activity detection, Whisper, speaker clustering, and assembly of
//! our [`Transcript`] (speaker turns with word timings, labels marked approximate).

use meeting_domain::contracts::{EngineInfo, Segment, Speaker, Transcript, Word};
use meeting_domain::ids::RecordingId;
use tokio_util::sync::CancellationToken;

use crate::audio::SAMPLE_RATE;
use crate::error::EngineError;
use crate::recognizer::{TimedWord, Transcriber};
use crate::speakers::{label_speakers, speaker_of_span};
use crate::vad::{SpeechRegion, detect_speech};

/// Engine name written into offline transcripts.
pub const WHISPER_ENGINE: &str = "whisper.cpp";
/// Words whose middle lies further than this from any speech region are hallucinations on
/// silence or noise, and dropped. Whisper's token times are accurate to a few hundred ms.
const SPEECH_TOLERANCE_SECONDS: f64 = 0.5;
/// A pause this long ends a turn even when the same speaker goes on.
const TURN_BREAK_SECONDS: f64 = 2.0;
/// Whisper gets the audio in chunks of at most this length, cut in pauses between speech
/// regions: cancellation is checked between chunks (about 5 s of CPU each at a real-time factor
/// of 0.06), and long silences never reach Whisper.
const MAX_CHUNK_SECONDS: f64 = 90.0;
/// Longest sentence tail or head (in words) moved to the speaker whose sentence it belongs to.
const MAX_TAIL_WORDS: usize = 2;
/// Audio kept around each chunk so word edges are not clipped.
const CHUNK_PAD_SECONDS: f64 = 0.2;

/// Groups speech regions into chunks of at most [`MAX_CHUNK_SECONDS`] (a longer region is cut
/// hard).
pub fn chunks(regions: &[SpeechRegion]) -> Vec<SpeechRegion> {
    let mut out: Vec<SpeechRegion> = Vec::new();
    for region in regions {
        let mut start = region.start;
        while start < region.end {
            let end = region.end.min(start + MAX_CHUNK_SECONDS);
            match out.last_mut() {
                Some(last) if end - last.start <= MAX_CHUNK_SECONDS => last.end = end,
                _ => out.push(SpeechRegion { start, end }),
            }
            start = end;
        }
    }
    out
}

fn recognize_chunks(
    pcm: &[f32],
    regions: &[SpeechRegion],
    transcriber: &dyn Transcriber,
    language: &str,
    cancel: &CancellationToken,
) -> Result<Vec<TimedWord>, EngineError> {
    let rate = f64::from(SAMPLE_RATE);
    let mut words = Vec::new();
    for chunk in chunks(regions) {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let start = ((chunk.start - CHUNK_PAD_SECONDS).max(0.0) * rate) as usize;
        let end = (((chunk.end + CHUNK_PAD_SECONDS) * rate) as usize).min(pcm.len());
        let offset = start as f64 / rate;
        for mut word in transcriber.transcribe(&pcm[start..end], language, cancel)? {
            word.start += offset;
            word.end += offset;
            words.push(word);
        }
    }
    Ok(words)
}

/// What the offline pipeline needs to know about a recording.
#[derive(Clone, Debug)]
pub struct OfflineRequest {
    /// The recording.
    pub recording_id: RecordingId,
    /// Language code passed to Whisper (`en`) and written to the transcript (`en-US`).
    pub language: String,
    /// Number of speakers when the user knows it; `None` estimates it.
    pub speakers: Option<usize>,
}

fn whisper_language(code: &str) -> String {
    code.split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase()
}

fn near_speech(regions: &[SpeechRegion], t: f64) -> bool {
    regions
        .iter()
        .any(|r| t >= r.start - SPEECH_TOLERANCE_SECONDS && t <= r.end + SPEECH_TOLERANCE_SECONDS)
}

/// Transcribes 16 kHz mono audio into a transcript with approximate speaker labels. Blocking.
pub fn transcribe_pcm(
    pcm: &[f32],
    transcriber: &dyn Transcriber,
    request: &OfflineRequest,
    cancel: &CancellationToken,
) -> Result<Transcript, EngineError> {
    let duration_seconds = pcm.len() as f64 / f64::from(SAMPLE_RATE);
    let regions = detect_speech(pcm);
    let words: Vec<TimedWord> = if regions.is_empty() {
        Vec::new()
    } else {
        recognize_chunks(
            pcm,
            &regions,
            transcriber,
            &whisper_language(&request.language),
            cancel,
        )?
        .into_iter()
        .filter(|w| near_speech(&regions, (w.start + w.end) / 2.0))
        .collect()
    };
    if cancel.is_cancelled() {
        return Err(EngineError::Cancelled);
    }
    let windows = if words.is_empty() {
        Vec::new()
    } else {
        label_speakers(pcm, &regions, request.speakers)
    };

    // Group words into turns; renumber speakers in order of first appearance among the words.
    let mut order: Vec<usize> = Vec::new();
    let mut segments: Vec<Segment> = Vec::new();
    let mut current: Option<(usize, Vec<TimedWord>)> = None;
    let flush = |turn: Option<(usize, Vec<TimedWord>)>, segments: &mut Vec<Segment>| {
        if let Some((speaker, words)) = turn
            && let (Some(first), Some(last)) = (words.first(), words.last())
        {
            segments.push(Segment {
                speaker: format!("spk_{speaker}"),
                start: first.start,
                end: last.end,
                text: words
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                words: words
                    .iter()
                    .map(|w| Word {
                        start: w.start,
                        end: w.end,
                        text: w.text.clone(),
                        confidence: w.confidence,
                    })
                    .collect(),
            });
        }
    };
    let mut clusters: Vec<usize> = words
        .iter()
        .map(|w| speaker_of_span(&windows, w.start, w.end).unwrap_or(0))
        .collect();
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    reattach_sentence_tails(&mut clusters, &texts);
    for (word, cluster) in words.into_iter().zip(clusters) {
        let speaker = order.iter().position(|c| *c == cluster).unwrap_or_else(|| {
            order.push(cluster);
            order.len() - 1
        });
        match &mut current {
            Some((s, turn))
                if *s == speaker
                    && turn
                        .last()
                        .is_some_and(|l| word.start - l.end < TURN_BREAK_SECONDS) =>
            {
                turn.push(word);
            }
            _ => {
                flush(current.take(), &mut segments);
                current = Some((speaker, vec![word]));
            }
        }
    }
    flush(current, &mut segments);

    Ok(Transcript {
        recording_id: request.recording_id.clone(),
        language: request.language.clone(),
        duration_seconds,
        engine: EngineInfo {
            name: WHISPER_ENGINE.to_owned(),
            model: Some(transcriber.model_name()),
        },
        speakers_approximate: true,
        speakers: (0..order.len())
            .map(|i| Speaker {
                id: format!("spk_{i}"),
                label: format!("Speaker {}", i + 1),
            })
            .collect(),
        segments,
    })
}

/// Whisper's word times are loose at turn boundaries, so the first or last word or two of a
/// sentence can land in the other speaker's speech: "…for the back end" / "role. I will send…",
/// or "…by Friday. We" / "decided to ship…". A sentence does not change speakers:
/// - a turn that starts with at most [`MAX_TAIL_WORDS`] words ending a sentence, after a turn that
///   stopped mid-sentence, gives them back to the previous speaker;
/// - a turn that ends with at most [`MAX_TAIL_WORDS`] words after its last full stop, before a
///   turn that continues in lower case, gives them to the next speaker.
fn reattach_sentence_tails(clusters: &mut [usize], texts: &[&str]) {
    let ends_sentence = |text: &str| text.trim_end().ends_with(['.', '?', '!']);
    for i in 1..clusters.len().min(texts.len()) {
        let (before, here) = (clusters[i - 1], clusters[i]);
        if before == here || ends_sentence(texts[i - 1]) {
            continue;
        }
        let tail_end = (i..texts.len().min(i + MAX_TAIL_WORDS))
            .take_while(|&j| clusters[j] == here)
            .find(|&j| ends_sentence(texts[j]));
        if let Some(last) = tail_end {
            clusters[i..=last].fill(before);
        }
    }
    let continues = |text: &str| text.chars().next().is_some_and(char::is_lowercase);
    for i in 1..clusters.len().min(texts.len()) {
        let (before, here) = (clusters[i - 1], clusters[i]);
        if before == here || !continues(texts[i]) {
            continue;
        }
        let head_start = (i.saturating_sub(MAX_TAIL_WORDS + 1)..i)
            .rev()
            .take_while(|&j| clusters[j] == before)
            .find(|&j| ends_sentence(texts[j]))
            .map(|full_stop| full_stop + 1);
        if let Some(first) = head_start.filter(|&first| first < i) {
            clusters[first..i].fill(here);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: f64, end: f64) -> SpeechRegion {
        SpeechRegion { start, end }
    }

    #[test]
    fn regions_are_grouped_into_chunks_cut_at_pauses() {
        let got = chunks(&[r(0.0, 40.0), r(41.0, 80.0), r(85.0, 120.0)]);
        assert_eq!(got, vec![r(0.0, 80.0), r(85.0, 120.0)]);
    }

    #[test]
    fn a_sentence_tail_stamped_in_the_next_turn_goes_back_to_its_speaker() {
        let texts = [
            "for",
            "the",
            "back",
            "end",
            "role.",
            "I",
            "will",
            "send",
            "it",
            "tomorrow.",
        ];
        let mut clusters = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        reattach_sentence_tails(&mut clusters, &texts);
        assert_eq!(clusters, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn a_sentence_head_stamped_in_the_previous_turn_goes_to_its_speaker() {
        let texts = [
            "the", "budget", "by", "Friday.", "We", "decided", "to", "ship.",
        ];
        let mut clusters = [0, 0, 0, 0, 0, 1, 1, 1];
        reattach_sentence_tails(&mut clusters, &texts);
        assert_eq!(clusters, [0, 0, 0, 0, 1, 1, 1, 1]);
        // A next turn in upper case starts its own sentence: nothing moves.
        let texts = ["by", "Friday.", "Thanks", "Alice.", "Sure."];
        let mut clusters = [0, 0, 0, 0, 1];
        reattach_sentence_tails(&mut clusters, &texts);
        assert_eq!(clusters, [0, 0, 0, 0, 1]);
    }

    #[test]
    fn a_turn_after_a_finished_sentence_or_a_long_tail_is_left_alone() {
        // The previous turn ended its sentence: the next speaker's short reply stays theirs.
        let texts = ["We", "ship", "Monday.", "Sounds", "good.", "Thanks"];
        let mut clusters = [0, 0, 0, 1, 1, 1];
        reattach_sentence_tails(&mut clusters, &texts);
        assert_eq!(clusters, [0, 0, 0, 1, 1, 1]);
        // Three words before the full stop are a sentence of their own, not a tail.
        let texts = ["and", "then", "we", "start", "right", "away."];
        let mut clusters = [0, 0, 1, 1, 1, 1];
        reattach_sentence_tails(&mut clusters, &texts);
        assert_eq!(clusters, [0, 0, 1, 1, 1, 1]);
    }

    #[test]
    fn a_region_longer_than_a_chunk_is_cut() {
        let got = chunks(&[r(10.0, 200.0)]);
        assert_eq!(got, vec![r(10.0, 100.0), r(100.0, 190.0), r(190.0, 200.0)]);
    }
}
