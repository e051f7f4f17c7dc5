//! The [`Transcriber`] port (speech to timed words, on the CPU) and its whisper.cpp adapter
//! [`WhisperTranscriber`].
//!
//! Whisper runs greedy decoding with token timestamps; tokens are joined into words (a token
//! starting with a space starts a word), and bracketed markers such as `[BLANK_AUDIO]` or
//! `(music)` are dropped.

use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;
use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters,
};

use crate::error::{EngineError, ModelError};
use crate::model::ModelFile;

/// A recognised word, seconds from the start of the audio.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedWord {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// The word with its punctuation, no surrounding spaces.
    pub text: String,
    /// Mean token probability, `0..=1`.
    pub confidence: f64,
}

/// Speech to timed words.
pub trait Transcriber: Send + Sync + std::fmt::Debug {
    /// Model name for [`meeting_domain::contracts::EngineInfo`].
    fn model_name(&self) -> String;

    /// Recognises 16 kHz mono audio, decoding as if `prompt` had just been said (the
    /// vocabulary and the previous window's words; empty for none). Blocking and CPU-bound: call
    /// from a blocking thread. Returns [`EngineError::Cancelled`] without work when `cancel` has
    /// fired; callers bound the cancellation latency by passing chunks.
    fn transcribe(
        &self,
        pcm: &[f32],
        language: &str,
        prompt: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<TimedWord>, EngineError>;
}

/// whisper.cpp through `whisper-rs`, CPU only.
pub struct WhisperTranscriber {
    ctx: Arc<WhisperContext>,
    /// One decode at a time per loaded model: decoding is CPU-bound and already uses every
    /// configured thread, and whisper.cpp states sharing a context are not run concurrently here.
    busy: Mutex<()>,
    model_name: String,
    threads: i32,
}

impl std::fmt::Debug for WhisperTranscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperTranscriber")
            .field("model_name", &self.model_name)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl WhisperTranscriber {
    /// Loads a ggml model; `threads` CPU threads decode (2 on the reference machine).
    pub fn load(model: &ModelFile, threads: usize) -> Result<Self, ModelError> {
        // Route whisper.cpp's logging away from stderr (no logging backend is enabled).
        whisper_rs::install_logging_hooks();
        let path = model
            .path
            .to_str()
            .ok_or_else(|| ModelError::invalid("the model path is not UTF-8"))?;
        let mut params = WhisperContextParameters::default();
        if let Some(model_preset) = dtw_preset(&model.name) {
            params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset { model_preset },
                ..DtwParameters::default()
            });
        }
        let ctx = WhisperContext::new_with_params(path, params)
            .map_err(|e| ModelError::Load(e.to_string()))?;
        Ok(Self {
            ctx: Arc::new(ctx),
            busy: Mutex::new(()),
            model_name: model.name.clone(),
            threads: i32::try_from(threads.max(1)).unwrap_or(1),
        })
    }
}

/// The alignment heads of the models we install, for word times by dynamic time warping of
/// the decoder's cross-attention (whisper.cpp's DTW timestamps). Whisper's own token times are
/// guesses between two timestamp tokens: in a window decoded as one segment they bunch the
/// first words into a fraction of a second and stretch the last ones (seen on the evaluation
/// set), which puts words in the wrong speaker's turn. A model of the user's own
/// (`WHISPER_MODEL_PATH`) keeps Whisper's token times.
fn dtw_preset(model_name: &str) -> Option<DtwModelPreset> {
    if model_name == crate::model::BUNDLED_MODEL_NAME {
        Some(DtwModelPreset::TinyEn)
    } else if model_name == crate::model::BASE_MODEL_NAME {
        Some(DtwModelPreset::Base)
    } else {
        None
    }
}

/// Whether a word opens a bracketed non-speech marker (`[BLANK_AUDIO]`, `(music)`, `[ Silence ]`).
fn opens_marker(word: &str) -> bool {
    word.starts_with('[') || word.starts_with('(') || word.starts_with('*')
}

fn closes_marker(word: &str) -> bool {
    let w = word.trim_end_matches(['.', ',', '!', '?']);
    w.ends_with(']') || w.ends_with(')') || (w.len() > 1 && w.ends_with('*'))
}

/// Longest a word is taken to last when its end is derived from the next word's start.
const MAX_WORD_SECONDS: f64 = 1.0;

/// DTW gives each token a point in time; a word then ends where the next one starts (at most
/// [`MAX_WORD_SECONDS`] later, so a word before a pause does not swallow the pause). Words that
/// already have a span keep it.
fn spread_point_times(words: &mut [TimedWord]) {
    for i in 0..words.len() {
        if words[i].end > words[i].start {
            continue;
        }
        let next = words.get(i + 1).map_or(words[i].start + 0.3, |w| w.start);
        words[i].end = next.clamp(words[i].start, words[i].start + MAX_WORD_SECONDS);
    }
}

/// Removes bracketed markers from a word sequence.
pub fn drop_markers(words: Vec<TimedWord>) -> Vec<TimedWord> {
    let mut out = Vec::with_capacity(words.len());
    let mut in_marker = false;
    for word in words {
        if !in_marker && opens_marker(&word.text) {
            in_marker = !closes_marker(&word.text);
            continue;
        }
        if in_marker {
            in_marker = !closes_marker(&word.text);
            continue;
        }
        out.push(word);
    }
    out
}

impl Transcriber for WhisperTranscriber {
    fn model_name(&self) -> String {
        self.model_name.clone()
    }

    fn transcribe(
        &self,
        pcm: &[f32],
        language: &str,
        prompt: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<TimedWord>, EngineError> {
        let _busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let mut state = self
            .ctx
            .create_state()
            .map_err(|e| ModelError::Load(e.to_string()))?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.threads);
        params.set_language(Some(language));
        params.set_translate(false);
        params.set_token_timestamps(true);
        params.set_suppress_blank(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        if !prompt.is_empty() {
            params.set_initial_prompt(prompt);
        }
        // No abort callback: whisper-rs 0.16's `set_abort_callback_safe` hands whisper.cpp a
        // pointer to a boxed trait object but its trampoline reads it as the closure type, so the
        // callback runs on garbage (observed: a deadlock inside `CancellationToken`). The offline
        // pipeline cuts the audio into chunks at pauses and checks cancellation between them.

        let result = state.full(params, pcm);
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        result.map_err(|e| EngineError::JobFailed(format!("whisper.cpp failed: {e}")))?;

        let eot = self.ctx.token_eot();
        let mut words: Vec<TimedWord> = Vec::new();
        let mut probabilities: Vec<f64> = Vec::new();
        let finish = |words: &mut Vec<TimedWord>, probabilities: &mut Vec<f64>| {
            if let Some(last) = words.last_mut()
                && !probabilities.is_empty()
            {
                last.confidence = probabilities.iter().sum::<f64>() / probabilities.len() as f64;
            }
            probabilities.clear();
        };
        for segment in state.as_iter() {
            for t in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(t) else {
                    continue;
                };
                let data = token.token_data();
                if data.id >= eot {
                    continue; // special and timestamp tokens
                }
                let Ok(piece) = token.to_str_lossy() else {
                    continue;
                };
                let piece = piece.into_owned();
                // DTW time (when the model has alignment heads): the moment the token is said.
                let (start, end) = if data.t_dtw >= 0 {
                    let at = data.t_dtw as f64 / 100.0;
                    (at, at)
                } else {
                    (data.t0 as f64 / 100.0, data.t1 as f64 / 100.0)
                };
                let starts_word = piece.starts_with(' ') || words.is_empty();
                if starts_word || t == 0 {
                    finish(&mut words, &mut probabilities);
                    let text = piece.trim().to_owned();
                    if text.is_empty() {
                        continue;
                    }
                    words.push(TimedWord {
                        start,
                        end: end.max(start),
                        text,
                        confidence: 0.0,
                    });
                } else if let Some(last) = words.last_mut() {
                    last.text.push_str(&piece);
                    last.end = end.max(last.end);
                }
                probabilities.push(f64::from(data.p).clamp(0.0, 1.0));
            }
        }
        finish(&mut words, &mut probabilities);
        spread_point_times(&mut words);
        Ok(drop_markers(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str) -> TimedWord {
        TimedWord {
            start: 0.0,
            end: 0.1,
            text: text.to_owned(),
            confidence: 0.9,
        }
    }

    #[test]
    fn point_times_become_spans_up_to_the_next_word() {
        let at = |text: &str, t: f64| TimedWord {
            start: t,
            end: t,
            text: text.to_owned(),
            confidence: 0.9,
        };
        let mut words = vec![at("we", 1.0), at("ship", 1.3), at("today.", 4.0)];
        words.push(TimedWord {
            end: 4.9,
            ..at("Okay.", 4.6)
        });
        spread_point_times(&mut words);
        let spans: Vec<(f64, f64)> = words.iter().map(|w| (w.start, w.end)).collect();
        // Up to the next word, at most a second; a word with a span keeps it.
        assert_eq!(spans, vec![(1.0, 1.3), (1.3, 2.3), (4.0, 4.6), (4.6, 4.9)]);
    }

    #[test]
    fn markers_are_dropped_and_speech_kept() {
        let words = vec![
            w("[BLANK_AUDIO]"),
            w("Hello"),
            w("[_"),
            w("Silence"),
            w("]"),
            w("world."),
            w("(music)"),
        ];
        let kept: Vec<String> = drop_markers(words).into_iter().map(|w| w.text).collect();
        assert_eq!(kept, vec!["Hello", "world."]);
    }
}
