//! Speaker embeddings from a pretrained neural speaker encoder, run in-process.
//!
//! The model is Resemblyzer's GE2E speaker encoder (Apache-2.0; the `Resemblyzer==0.1.4` wheel on
//! PyPI ships its weights): 40 mel bands every 10 ms → a 3-layer LSTM of 256 units → a 256-wide
//! projection with ReLU, L2-normalised. A window of [`WINDOW_FRAMES`] frames (1.6 s) gives one
//! embedding; windows of one voice point the same way, so the cosine of two embeddings says how
//! alike two voices are. `scripts/setup-models.sh` converts the checkpoint with
//! `scripts/convert-voice-encoder.py` (standard library only, no torch) into
//! [`VOICE_ENCODER_FILE`] in the model cache and verifies it by SHA-256, as for Whisper.
//!
//! The front end reproduces the model's training features (librosa's `melspectrogram`: 400-point
//! Hann-windowed STFT centred with reflection padding, power spectrum, 40 Slaney mel filters with
//! Slaney area normalisation, no logarithm) and Resemblyzer's loudness normalisation (quiet audio
//! raised to -30 dBFS, loud audio left alone). The LSTM runs windows in batches, so each step is a
//! matrix product (ndarray, whose `matrixmultiply` kernels use the CPU's vector units).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::audio::SAMPLE_RATE;
use crate::error::ModelError;
use crate::model::{default_cache_dir, expected_checksum, sha256_file};

/// File name of the converted speaker encoder in the model cache.
pub const VOICE_ENCODER_FILE: &str = "voice-encoder-resemblyzer.bin";
/// The command, run in the checkout, that installs it.
pub const VOICE_ENCODER_SETUP: &str = "scripts/setup.sh models";
/// Width of an embedding.
pub const EMBEDDING_DIM: usize = 256;
/// Frames per embedded window: 1.6 s, the partial-utterance length the model was trained on.
pub const WINDOW_FRAMES: usize = 160;
/// Mel frames per second (10 ms hop).
pub const FRAMES_PER_SECOND: f64 = 100.0;

const MAGIC: &[u8; 8] = b"MRVOICE1";
const HIDDEN: usize = 256;
const GATES: usize = 4 * HIDDEN;
const LAYERS: usize = 3;
const N_MELS: usize = 40;
const N_FFT: usize = 400;
const HOP: usize = 160;
/// Resemblyzer raises quieter recordings to this loudness (never lowers louder ones).
const TARGET_DBFS: f64 = -30.0;
/// Windows run through the LSTM together: large enough for efficient matrix products, small
/// enough that the gate buffer (BATCH × 160 × 1024 floats, 20 MiB) stays modest.
const BATCH: usize = 32;

struct Layer {
    /// Input weights, transposed: input width × 1024.
    w_ih_t: Array2<f32>,
    /// Recurrent weights, transposed: 256 × 1024.
    w_hh_t: Array2<f32>,
    /// Both biases summed.
    bias: Array1<f32>,
}

/// The loaded speaker encoder (immutable, shared between threads).
pub struct VoiceEncoder {
    layers: Vec<Layer>,
    /// Projection, transposed: 256 × 256.
    projection_t: Array2<f32>,
    projection_bias: Array1<f32>,
    mel: MelFrontend,
}

impl std::fmt::Debug for VoiceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceEncoder").finish_non_exhaustive()
    }
}

/// Finds the converted speaker encoder in `cache_dir` and verifies its SHA-256.
pub fn locate_voice_encoder(cache_dir: &Path) -> Result<PathBuf, ModelError> {
    let path = cache_dir.join(VOICE_ENCODER_FILE);
    if !path.is_file() {
        return Err(ModelError::SpeakerModelMissing {
            path,
            setup: VOICE_ENCODER_SETUP,
        });
    }
    let expected = expected_checksum(VOICE_ENCODER_FILE).ok_or_else(|| {
        ModelError::invalid(format!(
            "scripts/model-checksums.txt has no checksum for {VOICE_ENCODER_FILE}"
        ))
    })?;
    let actual = sha256_file(&path)?;
    if actual != expected {
        return Err(ModelError::ChecksumMismatch {
            path,
            setup: VOICE_ENCODER_SETUP,
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(path)
}

/// Loads the verified speaker encoder from the default model cache.
pub fn load_default_voice_encoder() -> Result<Arc<VoiceEncoder>, ModelError> {
    let path = locate_voice_encoder(&default_cache_dir())?;
    VoiceEncoder::load(&path).map(Arc::new)
}

/// Reads the converted file's tensors in order, checking names and shapes.
struct TensorReader {
    bytes: Vec<u8>,
    at: usize,
}

impl TensorReader {
    fn u32(&mut self) -> Result<usize, ModelError> {
        let end = self.at + 4;
        let raw = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| ModelError::invalid("the speaker model file is truncated"))?;
        self.at = end;
        Ok(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize)
    }

    fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let len = self.u32()?;
        let found = self
            .bytes
            .get(self.at..self.at + len)
            .map(String::from_utf8_lossy)
            .ok_or_else(|| ModelError::invalid("the speaker model file is truncated"))?;
        if found != name {
            return Err(ModelError::invalid(format!(
                "speaker model: expected tensor {name}, found {found}"
            )));
        }
        self.at += len;
        let rank = self.u32()?;
        let dims = (0..rank)
            .map(|_| self.u32())
            .collect::<Result<Vec<_>, _>>()?;
        if dims != shape {
            return Err(ModelError::invalid(format!(
                "speaker model: {name} has shape {dims:?}, expected {shape:?}"
            )));
        }
        let count: usize = shape.iter().product();
        let raw = self
            .bytes
            .get(self.at..self.at + 4 * count)
            .ok_or_else(|| ModelError::invalid("the speaker model file is truncated"))?;
        self.at += 4 * count;
        Ok(raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// A row-major `rows × cols` matrix from `values`, transposed.
fn transposed(values: Vec<f32>, rows: usize, cols: usize) -> Result<Array2<f32>, ModelError> {
    Array2::from_shape_vec((rows, cols), values)
        .map(|m| m.reversed_axes().as_standard_layout().into_owned())
        .map_err(|e| ModelError::invalid(format!("speaker model: {e}")))
}

impl VoiceEncoder {
    /// Loads a converted speaker encoder (see the module documentation for the format).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(ModelError::io)?;
        Self::from_bytes(bytes)
    }

    fn from_bytes(bytes: Vec<u8>) -> Result<Self, ModelError> {
        if bytes.get(..8) != Some(MAGIC.as_slice()) {
            return Err(ModelError::invalid(
                "not a converted speaker model (bad magic)",
            ));
        }
        let mut reader = TensorReader { bytes, at: 8 };
        if reader.u32()? != 4 * LAYERS + 2 {
            return Err(ModelError::invalid(
                "speaker model: unexpected tensor count",
            ));
        }
        let mut layers = Vec::with_capacity(LAYERS);
        for layer in 0..LAYERS {
            let input = if layer == 0 { N_MELS } else { HIDDEN };
            let w_ih = reader.tensor(&format!("lstm.weight_ih_l{layer}"), &[GATES, input])?;
            let w_hh = reader.tensor(&format!("lstm.weight_hh_l{layer}"), &[GATES, HIDDEN])?;
            let b_ih = reader.tensor(&format!("lstm.bias_ih_l{layer}"), &[GATES])?;
            let b_hh = reader.tensor(&format!("lstm.bias_hh_l{layer}"), &[GATES])?;
            layers.push(Layer {
                w_ih_t: transposed(w_ih, GATES, input)?,
                w_hh_t: transposed(w_hh, GATES, HIDDEN)?,
                bias: b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect(),
            });
        }
        let projection = reader.tensor("linear.weight", &[EMBEDDING_DIM, HIDDEN])?;
        let projection_bias = reader.tensor("linear.bias", &[EMBEDDING_DIM])?;
        if reader.at != reader.bytes.len() {
            return Err(ModelError::invalid(
                "speaker model: trailing bytes after the last tensor",
            ));
        }
        Ok(Self {
            layers,
            projection_t: transposed(projection, EMBEDDING_DIM, HIDDEN)?,
            projection_bias: Array1::from(projection_bias),
            mel: MelFrontend::new(),
        })
    }

    /// The model's input features of a whole recording: one row of 40 mel powers per 10 ms
    /// (frame `i` centred on sample `160 i`), after loudness normalisation measured over
    /// `speech` (sample ranges; the whole recording when empty).
    pub fn features(&self, pcm: &[f32], speech: &[(usize, usize)]) -> Array2<f32> {
        let gain = loudness_gain(pcm, speech);
        let mut mel = self.mel.spectrogram(pcm, gain * gain);
        subtract_noise_floor(&mut mel, speech);
        mel
    }

    /// One L2-normalised embedding per window `(start, length)`: the `length` frames of
    /// `features` from `start`, repeated to fill [`WINDOW_FRAMES`] when shorter (a short
    /// utterance is embedded as itself said again, not as speech followed by silence, which
    /// the encoder takes for another voice); frames past the end count as silence.
    pub fn embed(
        &self,
        features: &Array2<f32>,
        windows: &[(usize, usize)],
    ) -> Vec<[f32; EMBEDDING_DIM]> {
        windows
            .chunks(BATCH)
            .flat_map(|batch| self.embed_batch(features, batch))
            .collect()
    }

    fn embed_batch(
        &self,
        features: &Array2<f32>,
        windows: &[(usize, usize)],
    ) -> Vec<[f32; EMBEDDING_DIM]> {
        let batch = windows.len();
        let frames = features.nrows();
        // Time-major input: row t * batch + b is window b's frame t.
        let mut input = Array2::<f32>::zeros((WINDOW_FRAMES * batch, N_MELS));
        for (b, &(start, length)) in windows.iter().enumerate() {
            let length = length.clamp(1, WINDOW_FRAMES);
            for t in 0..WINDOW_FRAMES {
                let frame = start + t % length;
                if frame < frames {
                    input.row_mut(t * batch + b).assign(&features.row(frame));
                }
            }
        }
        let mut hidden = Array2::<f32>::zeros((batch, HIDDEN));
        for layer in &self.layers {
            input = run_layer(layer, input.view(), batch, &mut hidden);
        }
        let mut embedded = Array2::<f32>::zeros((batch, EMBEDDING_DIM));
        general_mat_mul(1.0, &hidden, &self.projection_t, 0.0, &mut embedded);
        embedded
            .axis_iter(Axis(0))
            .map(|row| {
                let mut out = [0f32; EMBEDDING_DIM];
                for ((o, v), b) in out.iter_mut().zip(row).zip(&self.projection_bias) {
                    *o = (v + b).max(0.0);
                }
                normalise(&mut out);
                out
            })
            .collect()
    }
}

/// One LSTM layer over a time-major batch; returns its output sequence and leaves the last
/// hidden state in `hidden`.
fn run_layer(
    layer: &Layer,
    input: ArrayView2<'_, f32>,
    batch: usize,
    hidden: &mut Array2<f32>,
) -> Array2<f32> {
    // Input contributions of every step at once, biases included.
    let mut gates = Array2::<f32>::zeros((input.nrows(), GATES));
    gates += &layer.bias;
    general_mat_mul(1.0, &input, &layer.w_ih_t, 1.0, &mut gates);
    let mut output = Array2::<f32>::zeros((input.nrows(), HIDDEN));
    hidden.fill(0.0);
    let mut cell = Array2::<f32>::zeros((batch, HIDDEN));
    for t in 0..WINDOW_FRAMES {
        let rows = t * batch..(t + 1) * batch;
        let mut step = gates.slice_mut(s![rows.clone(), ..]);
        general_mat_mul(1.0, &*hidden, &layer.w_hh_t, 1.0, &mut step);
        for b in 0..batch {
            let g = step.row(b);
            let g = g.as_slice().unwrap_or(&[]);
            let (mut c, mut h) = (cell.row_mut(b), hidden.row_mut(b));
            // PyTorch's gate order: input, forget, cell, output.
            for j in 0..HIDDEN.min(g.len()) {
                let i = sigmoid(g[j]);
                let f = sigmoid(g[HIDDEN + j]);
                let candidate = g[2 * HIDDEN + j].tanh();
                let o = sigmoid(g[3 * HIDDEN + j]);
                c[j] = f * c[j] + i * candidate;
                h[j] = o * c[j].tanh();
            }
        }
        output.slice_mut(s![rows, ..]).assign(&*hidden);
    }
    output
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Share of frames taken for the background when the pauses are too few to measure it.
const NOISE_FLOOR_QUANTILE: f64 = 0.1;
/// Pauses (frames outside speech) needed to measure the background from them: half a second.
const MIN_PAUSE_FRAMES: usize = 50;
/// The background is removed this many times over (spectral subtraction's usual
/// over-subtraction: noise power varies from frame to frame around its mean).
const OVER_SUBTRACTION: f32 = 1.0;
/// What is left of a frame at least: a share of its own power (no holes of zero power).
const SPECTRAL_FLOOR: f32 = 0.02;

/// Spectral subtraction of the steady background: each band's mean power in the pauses (frames
/// outside `speech`, sample ranges) — or its quietest tenth when there are too few pauses — is
/// removed from every frame. The model was trained on clean read speech; fan hum, air
/// conditioning and line noise otherwise fill its bands and make the voices in a room alike.
fn subtract_noise_floor(mel: &mut Array2<f32>, speech: &[(usize, usize)]) {
    let frames = mel.nrows();
    if frames == 0 {
        return;
    }
    let mut in_speech = vec![speech.is_empty(); frames];
    for &(a, b) in speech {
        let (first, last) = (a / HOP, (b / HOP + 1).min(frames));
        for flag in in_speech.iter_mut().take(last).skip(first.min(last)) {
            *flag = true;
        }
    }
    let pauses = in_speech.iter().filter(|s| !**s).count();
    for mut band in mel.axis_iter_mut(Axis(1)) {
        let floor = if pauses >= MIN_PAUSE_FRAMES {
            band.iter()
                .zip(&in_speech)
                .filter(|(_, s)| !**s)
                .map(|(v, _)| f64::from(*v))
                .sum::<f64>() as f32
                / pauses as f32
        } else {
            let mut sorted: Vec<f32> = band.iter().copied().collect();
            let at = ((sorted.len() - 1) as f64 * NOISE_FLOOR_QUANTILE) as usize;
            *sorted.select_nth_unstable_by(at, f32::total_cmp).1
        };
        band.mapv_inplace(|v| (v - OVER_SUBTRACTION * floor).max(SPECTRAL_FLOOR * v));
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Resemblyzer's `normalize_volume(wav, -30, increase_only=True)`, as an amplitude factor, with
/// the loudness measured over the speech.
fn loudness_gain(pcm: &[f32], speech: &[(usize, usize)]) -> f32 {
    let whole = [(0, pcm.len())];
    let spans = if speech.is_empty() {
        &whole[..]
    } else {
        speech
    };
    let (mut sum, mut n) = (0f64, 0usize);
    for &(a, b) in spans {
        for x in &pcm[a.min(pcm.len())..b.min(pcm.len())] {
            sum += f64::from(*x) * f64::from(*x);
        }
        n += b.min(pcm.len()).saturating_sub(a.min(pcm.len()));
    }
    if n == 0 || sum <= 0.0 {
        return 1.0;
    }
    let dbfs = 10.0 * (sum / n as f64).log10();
    let change = TARGET_DBFS - dbfs;
    if change <= 0.0 {
        1.0
    } else {
        10f64.powf(change / 20.0) as f32
    }
}

/// librosa's `melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40)`.
struct MelFrontend {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// Per mel band: (first FFT bin, weights).
    filters: Vec<(usize, Vec<f32>)>,
}

fn hz_to_mel(hz: f64) -> f64 {
    // Slaney's scale: linear below 1 kHz, logarithmic above.
    let (f_sp, min_log_hz, min_log_mel) = (200.0 / 3.0, 1000.0, 15.0);
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let (f_sp, min_log_hz, min_log_mel) = (200.0 / 3.0, 1000.0, 15.0);
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// librosa's `filters.mel(sr, n_fft, n_mels)` (Slaney scale and area normalisation).
fn mel_filters(sample_rate: f64, n_fft: usize, n_mels: usize) -> Vec<Vec<f32>> {
    let bins = n_fft / 2 + 1;
    let fft_hz: Vec<f64> = (0..bins)
        .map(|k| k as f64 * sample_rate / n_fft as f64)
        .collect();
    let top = hz_to_mel(sample_rate / 2.0);
    let mel_hz: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(top * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|m| {
            let (lo, mid, hi) = (mel_hz[m], mel_hz[m + 1], mel_hz[m + 2]);
            let enorm = 2.0 / (hi - lo);
            fft_hz
                .iter()
                .map(|&f| {
                    let lower = (f - lo) / (mid - lo);
                    let upper = (hi - f) / (hi - mid);
                    (lower.min(upper).max(0.0) * enorm) as f32
                })
                .collect()
        })
        .collect()
}

impl MelFrontend {
    fn new() -> Self {
        let fft = FftPlanner::new().plan_fft_forward(N_FFT);
        // Periodic Hann, as scipy's get_window('hann', n, fftbins=True).
        let window = (0..N_FFT)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / N_FFT as f32).cos())
            .collect();
        let filters = mel_filters(f64::from(SAMPLE_RATE), N_FFT, N_MELS)
            .into_iter()
            .map(|weights| {
                let first = weights.iter().position(|w| *w > 0.0).unwrap_or(0);
                let last = weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
                (first, weights[first..=last.max(first)].to_vec())
            })
            .collect();
        Self {
            fft,
            window,
            filters,
        }
    }

    /// Power mel spectrogram, frames × 40, of `pcm` scaled in power by `power_gain`.
    fn spectrogram(&self, pcm: &[f32], power_gain: f32) -> Array2<f32> {
        let frames = pcm.len() / HOP + 1;
        let mut out = Array2::<f32>::zeros((frames, N_MELS));
        let mut buf = vec![Complex::new(0f32, 0f32); N_FFT];
        let mut scratch = vec![Complex::new(0f32, 0f32); self.fft.get_inplace_scratch_len()];
        let half = N_FFT as isize / 2;
        for (i, mut row) in out.axis_iter_mut(Axis(0)).enumerate() {
            let centre = (i * HOP) as isize;
            for (j, (slot, w)) in buf.iter_mut().zip(&self.window).enumerate() {
                let sample = reflect(pcm, centre - half + j as isize);
                *slot = Complex::new(sample * w, 0.0);
            }
            self.fft.process_with_scratch(&mut buf, &mut scratch);
            for (value, (first, weights)) in row.iter_mut().zip(&self.filters) {
                *value = weights
                    .iter()
                    .zip(&buf[*first..])
                    .map(|(w, c)| w * c.norm_sqr())
                    .sum::<f32>()
                    * power_gain;
            }
        }
        out
    }
}

/// `pcm[index]` with numpy's "reflect" padding at both ends (zero for empty input).
fn reflect(pcm: &[f32], index: isize) -> f32 {
    let n = pcm.len() as isize;
    if n == 0 {
        return 0.0;
    }
    if n == 1 {
        return pcm[0];
    }
    let period = 2 * (n - 1);
    let mut i = index.rem_euclid(period);
    if i >= n {
        i = period - i;
    }
    pcm[i as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_mel_scale_round_trips_and_matches_librosa_points() {
        // librosa.hz_to_mel(1000) == 15, hz_to_mel(8000) == 15 + ln(8)/(ln(6.4)/27) ≈ 45.245.
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(8000.0) - 45.245_640_471_924_965).abs() < 1e-9);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        for hz in [0.0, 100.0, 999.0, 1000.0, 3000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6, "{hz}");
        }
    }

    #[test]
    fn mel_filters_are_slaney_normalised_triangles() {
        let filters = mel_filters(16_000.0, 400, 40);
        assert_eq!(filters.len(), 40);
        assert!(filters.iter().all(|f| f.len() == 201));
        // Area normalisation: each triangle's weights times the bin width sum to about 1 Hz⁻¹·Hz.
        for (m, f) in filters.iter().enumerate().skip(3) {
            let area: f32 = f.iter().sum::<f32>() * 40.0;
            assert!((area - 1.0).abs() < 0.15, "band {m}: {area}");
        }
        // Centres rise with the band index.
        let peaks: Vec<usize> = filters
            .iter()
            .map(|f| {
                f.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(k, _)| k)
            })
            .collect();
        assert!(peaks.windows(2).all(|w| w[0] <= w[1]), "{peaks:?}");
    }

    #[test]
    fn reflection_padding_mirrors_without_repeating_the_edge() {
        let pcm = [1.0, 2.0, 3.0, 4.0];
        let got: Vec<f32> = (-3..7).map(|i| reflect(&pcm, i)).collect();
        assert_eq!(got, vec![4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]);
    }

    #[test]
    fn quiet_audio_is_raised_to_minus_30_dbfs_and_loud_audio_left_alone() {
        let quiet = vec![0.001f32; 16_000]; // -60 dBFS
        let gain = loudness_gain(&quiet, &[]);
        assert!((20.0 * gain.log10() - 30.0).abs() < 1e-3, "{gain}");
        let loud = vec![0.5f32; 16_000];
        assert_eq!(loudness_gain(&loud, &[]), 1.0);
        assert_eq!(loudness_gain(&[], &[]), 1.0);
    }

    #[test]
    fn a_sine_lands_in_the_mel_band_of_its_frequency() {
        let frontend = MelFrontend::new();
        let pcm: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let mel = frontend.spectrogram(&pcm, 1.0);
        assert_eq!(mel.nrows(), 16_000 / 160 + 1);
        let row = mel.row(50);
        let loudest = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(m, _)| m)
            .unwrap();
        // 1 kHz is mel 15 of 45.2 over 41 steps: band 12 or 13 peaks.
        assert!((12..=13).contains(&loudest), "{loudest}");
    }

    #[test]
    fn a_file_that_is_not_a_converted_model_is_refused() {
        let err = VoiceEncoder::from_bytes(b"GGML....".to_vec()).unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
        let err = VoiceEncoder::from_bytes(b"MRVOICE1\x0e\0\0\0\x05\0".to_vec()).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
