//! The offline pipeline: voice-activity detection, Whisper, speaker clustering, and assembly of
//! our [`Transcript`] (speaker turns with word timings, labels marked approximate).

use meeting_domain::contracts::{EngineInfo, Speaker, Transcript, Word};
use meeting_domain::ids::RecordingId;
use tokio_util::sync::CancellationToken;

use crate::audio::SAMPLE_RATE;
use crate::error::EngineError;
use crate::recognizer::{TimedWord, Transcriber};
use crate::speakers::{SpeakerLabeller, speaker_of_span};
use crate::turns::{group_turns, in_order_of_appearance, one_speaker_per_sentence};
use crate::vad::{SpeechRegion, detect_speech};

/// Engine name written into offline transcripts.
pub const WHISPER_ENGINE: &str = "whisper.cpp";
/// Words whose middle lies further than this from any speech region are hallucinations on
/// silence or noise, and dropped. Whisper's token times are accurate to a few hundred ms.
const SPEECH_TOLERANCE_SECONDS: f64 = 0.5;
/// Whisper gets the audio in windows of at most this length, cut in pauses between speech
/// regions: one Whisper window (30 s, padding included) each, so every window is decoded with
/// its own prompt (the vocabulary and the previous window's words); cancellation is checked and
/// progress reported between windows; long silences never reach Whisper.
const MAX_CHUNK_SECONDS: f64 = 29.0;
/// Audio kept around each chunk so word edges are not clipped.
const CHUNK_PAD_SECONDS: f64 = 0.2;
/// Words of the previous window carried into the next window's prompt (about 60 tokens, well
/// inside the half of Whisper's 448-token text context a prompt may use, after the glossary).
const PROMPT_CONTEXT_WORDS: usize = 40;

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

/// How far the recogniser is through a recording: reported after each window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Seconds of speech recognised so far.
    pub done_seconds: f64,
    /// Seconds of speech in the recording (what Whisper gets; silence is skipped).
    pub total_seconds: f64,
    /// Wall time spent recognising so far, seconds.
    pub elapsed_seconds: f64,
}

impl Progress {
    /// Percent done, 0–100.
    pub fn percent(&self) -> f64 {
        if self.total_seconds > 0.0 {
            (100.0 * self.done_seconds / self.total_seconds).clamp(0.0, 100.0)
        } else {
            100.0
        }
    }

    /// Seconds left at the pace so far; `None` before the first window is done.
    pub fn eta_seconds(&self) -> Option<f64> {
        (self.done_seconds > 0.0 && self.elapsed_seconds > 0.0).then(|| {
            (self.total_seconds - self.done_seconds).max(0.0) * self.elapsed_seconds
                / self.done_seconds
        })
    }
}

/// The prompt of one window: the glossary, then the last [`PROMPT_CONTEXT_WORDS`] words
/// recognised before it.
pub fn window_prompt(glossary: &str, previous: &[TimedWord]) -> String {
    let tail = previous
        .iter()
        .skip(previous.len().saturating_sub(PROMPT_CONTEXT_WORDS))
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    match (glossary.is_empty(), tail.is_empty()) {
        (true, _) => tail,
        (false, true) => glossary.to_owned(),
        (false, false) => format!("{glossary} {tail}"),
    }
}

fn recognize_chunks(
    pcm: &[f32],
    regions: &[SpeechRegion],
    transcriber: &dyn Transcriber,
    request: &OfflineRequest,
    cancel: &CancellationToken,
    progress: &dyn Fn(Progress),
) -> Result<Vec<TimedWord>, EngineError> {
    let rate = f64::from(SAMPLE_RATE);
    let language = whisper_language(&request.language);
    let windows = chunks(regions);
    let total_seconds: f64 = windows.iter().map(SpeechRegion::duration).sum();
    let started = std::time::Instant::now();
    let mut done_seconds = 0.0;
    // A first report at 0 %: a resumed run would otherwise show the interrupted run's last
    // report (its percent and time left) until its own first window is done.
    progress(Progress {
        done_seconds,
        total_seconds,
        elapsed_seconds: 0.0,
    });
    let mut words: Vec<TimedWord> = Vec::new();
    for chunk in windows {
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let start = ((chunk.start - CHUNK_PAD_SECONDS).max(0.0) * rate) as usize;
        let end = (((chunk.end + CHUNK_PAD_SECONDS) * rate) as usize).min(pcm.len());
        let offset = start as f64 / rate;
        let prompt = window_prompt(&request.glossary, &words);
        for mut word in transcriber.transcribe(&pcm[start..end], &language, &prompt, cancel)? {
            word.start += offset;
            word.end += offset;
            words.push(word);
        }
        done_seconds += chunk.duration();
        progress(Progress {
            done_seconds,
            total_seconds,
            elapsed_seconds: started.elapsed().as_secs_f64(),
        });
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
    /// The vocabulary's glossary sentence opening every window's prompt
    /// ([`crate::vocabulary::Vocabulary::whisper_prompt`]); empty for none.
    pub glossary: String,
}

fn whisper_language(code: &str) -> String {
    code.split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase()
}

/// Longest a word is stretched to reach the end of its speech region.
const MAX_WORD_STRETCH_SECONDS: f64 = 1.5;

/// Word times from alignment mark when a word is said; the last word before a pause then ends
/// too early and the turn looks shorter than the speech. The last word of each speech region
/// ends where the region does (at most [`MAX_WORD_STRETCH_SECONDS`] after it starts).
fn extend_to_speech_ends(words: &mut [TimedWord], regions: &[SpeechRegion]) {
    let region_of = |t: f64| regions.iter().position(|r| t >= r.start && t <= r.end);
    for i in 0..words.len() {
        let Some(region) = region_of(words[i].start) else {
            continue;
        };
        let last_in_region = words
            .get(i + 1)
            .is_none_or(|next| region_of(next.start) != Some(region));
        if last_in_region {
            let reach = regions[region]
                .end
                .min(words[i].start + MAX_WORD_STRETCH_SECONDS);
            words[i].end = words[i].end.max(reach);
        }
    }
}

fn near_speech(regions: &[SpeechRegion], t: f64) -> bool {
    regions
        .iter()
        .any(|r| t >= r.start - SPEECH_TOLERANCE_SECONDS && t <= r.end + SPEECH_TOLERANCE_SECONDS)
}

/// Transcribes 16 kHz mono audio into a transcript with speaker labels from `labeller`, calling
/// `progress` after each window. Blocking.
pub fn transcribe_pcm(
    pcm: &[f32],
    transcriber: &dyn Transcriber,
    labeller: &dyn SpeakerLabeller,
    request: &OfflineRequest,
    cancel: &CancellationToken,
    progress: &dyn Fn(Progress),
) -> Result<Transcript, EngineError> {
    let duration_seconds = pcm.len() as f64 / f64::from(SAMPLE_RATE);
    let regions = detect_speech(pcm);
    let mut words: Vec<TimedWord> = if regions.is_empty() {
        Vec::new()
    } else {
        recognize_chunks(pcm, &regions, transcriber, request, cancel, progress)?
            .into_iter()
            .filter(|w| near_speech(&regions, (w.start + w.end) / 2.0))
            .collect()
    };
    if cancel.is_cancelled() {
        return Err(EngineError::Cancelled);
    }
    extend_to_speech_ends(&mut words, &regions);
    let windows = if words.is_empty() {
        Vec::new()
    } else {
        labeller.label(pcm, &regions, request.speakers)
    };

    let mut clusters: Vec<usize> = words
        .iter()
        .map(|w| speaker_of_span(&windows, w.start, w.end).unwrap_or(0))
        .collect();
    let words: Vec<Word> = words
        .into_iter()
        .map(|w| Word {
            start: w.start,
            end: w.end,
            text: w.text,
            confidence: w.confidence,
        })
        .collect();
    one_speaker_per_sentence(&mut clusters, &words);
    let (speakers, order) = in_order_of_appearance(&clusters);
    let segments = group_turns(words, &speakers, |i| format!("spk_{i}"));

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

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: f64, end: f64) -> SpeechRegion {
        SpeechRegion { start, end }
    }

    #[test]
    fn regions_are_grouped_into_chunks_cut_at_pauses() {
        let got = chunks(&[r(0.0, 10.0), r(11.0, 25.0), r(26.0, 40.0), r(41.0, 50.0)]);
        assert_eq!(got, vec![r(0.0, 25.0), r(26.0, 50.0)]);
    }

    /// Words one after another, 0.3 s each with 0.1 s gaps; `|` in a text marks a 1 s pause
    /// before the word.
    fn timed(texts: &[&str]) -> Vec<TimedWord> {
        let mut t = 0.0;
        let mut words = Vec::new();
        for text in texts {
            let text = match text.strip_prefix('|') {
                Some(rest) => {
                    t += 1.0;
                    rest
                }
                None => text,
            };
            words.push(TimedWord {
                start: t,
                end: t + 0.3,
                text: text.to_owned(),
                confidence: 0.9,
            });
            t += 0.4;
        }
        words
    }

    #[test]
    fn the_last_word_of_a_speech_region_ends_with_it() {
        let mut words = timed(&["we", "ship", "|today."]);
        // Words at 0.0, 0.4 and 1.8 s; speech until 1.2 s and from 1.7 to 2.5 s.
        extend_to_speech_ends(&mut words, &[r(0.0, 1.2), r(1.7, 2.5)]);
        let ends: Vec<f64> = words
            .iter()
            .map(|w| (w.end * 10.0).round() / 10.0)
            .collect();
        assert_eq!(ends, vec![0.3, 1.2, 2.5]);
    }

    #[test]
    fn a_window_prompt_is_the_glossary_then_the_previous_words() {
        let words = timed(&["we", "ship", "on", "Monday."]);
        assert_eq!(
            window_prompt("Glossary: Priya.", &words),
            "Glossary: Priya. we ship on Monday."
        );
        assert_eq!(window_prompt("", &words), "we ship on Monday.");
        assert_eq!(window_prompt("Glossary: Priya.", &[]), "Glossary: Priya.");
        let many: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let prompt = window_prompt("", &timed(&many));
        assert!(
            prompt.starts_with("w60 ") && prompt.ends_with(" w99"),
            "{prompt}"
        );
    }

    #[test]
    fn progress_gives_percent_and_time_left_at_the_pace_so_far() {
        let p = Progress {
            done_seconds: 30.0,
            total_seconds: 120.0,
            elapsed_seconds: 6.0,
        };
        assert!((p.percent() - 25.0).abs() < 1e-9);
        assert_eq!(p.eta_seconds(), Some(18.0));
        let start = Progress {
            done_seconds: 0.0,
            ..p
        };
        assert_eq!(start.eta_seconds(), None);
    }

    /// A recogniser that hears nothing (only the progress reports matter here).
    #[derive(Debug)]
    struct HearsNothing;

    impl Transcriber for HearsNothing {
        fn model_name(&self) -> String {
            "none".into()
        }

        fn transcribe(
            &self,
            _pcm: &[f32],
            _language: &str,
            _prompt: &str,
            _cancel: &CancellationToken,
        ) -> Result<Vec<TimedWord>, EngineError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn given_a_run_when_recognition_starts_then_a_zero_percent_report_comes_before_any_window() {
        let pcm = vec![0.0_f32; SAMPLE_RATE as usize * 75];
        let request = OfflineRequest {
            recording_id: RecordingId::new("rec_progress").expect("valid id"),
            language: "en".into(),
            speakers: None,
            glossary: String::new(),
        };
        let reports = std::cell::RefCell::new(Vec::new());
        recognize_chunks(
            &pcm,
            &[r(10.0, 70.0)],
            &HearsNothing,
            &request,
            &CancellationToken::new(),
            &|p| reports.borrow_mut().push(p),
        )
        .expect("recognised");
        let reports = reports.into_inner();
        assert_eq!(
            reports.len(),
            4,
            "a report before the three windows and one after each"
        );
        assert_eq!(reports[0].done_seconds, 0.0);
        assert!((reports[0].total_seconds - 60.0).abs() < 1e-9);
        assert_eq!(reports[0].eta_seconds(), None);
        assert!((reports[3].percent() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_region_longer_than_a_chunk_is_cut() {
        let got = chunks(&[r(10.0, 70.0)]);
        assert_eq!(got, vec![r(10.0, 39.0), r(39.0, 68.0), r(68.0, 70.0)]);
    }
}
