//! Approximate speaker labels without a model: speech regions are cut into short windows, each
//! window is described by its mean MFCCs and median pitch, and k-means groups the windows. `k`
//! comes from the recording's options or is estimated by the silhouette score (at most
//! [`MAX_ESTIMATED_SPEAKERS`]). Labels are therefore marked approximate in the transcript.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::audio::SAMPLE_RATE;
use crate::vad::SpeechRegion;

/// Who spoke when: the port the offline pipeline labels its speech with. Adapters: the learned
/// voice embeddings of [`crate::voice_speakers::VoiceLabeller`] (the default) and the
/// model-free [`SpectralLabeller`] (MFCC and pitch), used when the speaker model is not
/// installed.
pub trait SpeakerLabeller: Send + Sync + std::fmt::Debug {
    /// Name written into logs and the benchmark.
    fn name(&self) -> &'static str;
    /// Labels `regions` of `pcm` (16 kHz mono); `max_speakers` is the user's hint.
    fn label(
        &self,
        pcm: &[f32],
        regions: &[SpeechRegion],
        max_speakers: Option<usize>,
    ) -> Vec<LabelledWindow>;
}

/// The model-free labeller: [`label_speakers`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SpectralLabeller;

impl SpeakerLabeller for SpectralLabeller {
    fn name(&self) -> &'static str {
        "mfcc-pitch-kmeans"
    }

    fn label(
        &self,
        pcm: &[f32],
        regions: &[SpeechRegion],
        max_speakers: Option<usize>,
    ) -> Vec<LabelledWindow> {
        label_speakers(pcm, regions, max_speakers)
    }
}

/// The most speakers the silhouette estimate proposes; more needs the user's `maxSpeakers`.
pub const MAX_ESTIMATED_SPEAKERS: usize = 4;
/// A second k is only accepted over one speaker when clusters are this well separated.
const MIN_SILHOUETTE: f64 = 0.3;
/// Windows are about one second: short enough to follow turns, long enough for stable means.
const WINDOW_SECONDS: f64 = 1.0;
/// 25 ms frames, 10 ms hop, 512-point FFT, 26 mel bands, 13 cepstra (c0 dropped): the classic
/// speech MFCC set-up.
const FRAME: usize = 400;
const HOP: usize = 160;
const N_FFT: usize = 512;
const N_BANDS: usize = 26;
const N_CEPSTRA: usize = 13;
/// Pitch search range: 60–400 Hz covers adult voices.
const MIN_F0: f64 = 60.0;
const MAX_F0: f64 = 400.0;

/// A labelled stretch of audio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelledWindow {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Speaker index, in order of first appearance (0 = "Speaker 1").
    pub speaker: usize,
}

/// Computes MFCC frames.
struct Mfcc {
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    bands: Vec<Vec<(usize, f32)>>,
}

impl Mfcc {
    fn new() -> Self {
        let fft = FftPlanner::new().plan_fft_forward(N_FFT);
        let window = (0..FRAME)
            .map(|i| {
                0.54 - 0.46 * (2.0 * std::f32::consts::PI * i as f32 / (FRAME - 1) as f32).cos()
            })
            .collect();
        let mel = |hz: f64| 2595.0 * (1.0 + hz / 700.0).log10();
        let hz = |mel: f64| 700.0 * (10f64.powf(mel / 2595.0) - 1.0);
        let top = mel(f64::from(SAMPLE_RATE) / 2.0);
        let edges: Vec<f64> = (0..N_BANDS + 2)
            .map(|i| hz(top * i as f64 / (N_BANDS + 1) as f64))
            .collect();
        let bin_hz = f64::from(SAMPLE_RATE) / N_FFT as f64;
        let bands = (0..N_BANDS)
            .map(|b| {
                (0..=N_FFT / 2)
                    .filter_map(|k| {
                        let f = k as f64 * bin_hz;
                        let (l, c, r) = (edges[b], edges[b + 1], edges[b + 2]);
                        let w = ((f - l) / (c - l)).min((r - f) / (r - c));
                        (w > 0.0).then_some((k, w as f32))
                    })
                    .collect()
            })
            .collect();
        Self { fft, window, bands }
    }

    fn frame(&self, samples: &[f32]) -> [f32; N_CEPSTRA] {
        let mut buf: Vec<Complex<f32>> = samples
            .iter()
            .zip(&self.window)
            .map(|(s, w)| Complex::new(s * w, 0.0))
            .collect();
        buf.resize(N_FFT, Complex::new(0.0, 0.0));
        self.fft.process(&mut buf);
        let log_bands: Vec<f32> = self
            .bands
            .iter()
            .map(|band| {
                let e: f32 = band.iter().map(|(k, w)| buf[*k].norm_sqr() * w).sum();
                (e + 1e-10).ln()
            })
            .collect();
        let mut out = [0f32; N_CEPSTRA];
        for (n, c) in out.iter_mut().enumerate() {
            *c = log_bands
                .iter()
                .enumerate()
                .map(|(b, e)| {
                    e * (std::f32::consts::PI * n as f32 * (b as f32 + 0.5) / N_BANDS as f32).cos()
                })
                .sum();
        }
        out
    }
}

/// Median fundamental frequency of voiced frames in `samples` (autocorrelation), if any.
pub(crate) fn median_f0(samples: &[f32]) -> Option<f64> {
    let sr = f64::from(SAMPLE_RATE);
    let (min_lag, max_lag) = ((sr / MAX_F0) as usize, (sr / MIN_F0) as usize);
    let frame = 640; // 40 ms: two periods of the lowest pitch searched
    let mut pitches = Vec::new();
    let mut i = 0;
    while i + frame + max_lag <= samples.len() {
        let x = &samples[i..i + frame + max_lag];
        let energy: f32 = x[..frame].iter().map(|s| s * s).sum();
        if energy > 1e-4 {
            let r: Vec<f32> = (min_lag..=max_lag)
                .map(|lag| (0..frame).map(|j| x[j] * x[j + lag]).sum())
                .collect();
            let peak = r.iter().copied().fold(0f32, f32::max);
            // The shortest lag near the peak: multiples of the period correlate almost as well.
            let best = (1..r.len().saturating_sub(1))
                .find(|&i| r[i] >= 0.9 * peak && r[i] >= r[i - 1] && r[i] >= r[i + 1])
                .map_or((0, 0.0), |i| (min_lag + i, r[i]));
            // Voiced when the best lag explains at least half the frame's energy.
            if best.0 > 0 && best.1 > 0.5 * energy {
                pitches.push(sr / best.0 as f64);
            }
        }
        // Every other frame: the median needs a sample of frames, not all of them.
        i += 2 * frame;
    }
    if pitches.is_empty() {
        return None;
    }
    pitches.sort_by(f64::total_cmp);
    Some(pitches[pitches.len() / 2])
}

/// Cuts regions into windows of about [`WINDOW_SECONDS`].
fn windows(regions: &[SpeechRegion]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for r in regions {
        let n = ((r.duration() / WINDOW_SECONDS).round() as usize).max(1);
        let step = r.duration() / n as f64;
        for i in 0..n {
            out.push((r.start + i as f64 * step, r.start + (i + 1) as f64 * step));
        }
    }
    out
}

fn features(pcm: &[f32], spans: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let mfcc = Mfcc::new();
    let sr = f64::from(SAMPLE_RATE);
    let mut rows: Vec<Vec<f64>> = spans
        .iter()
        .map(|(start, end)| {
            let a = ((start * sr) as usize).min(pcm.len());
            let b = ((end * sr) as usize).min(pcm.len());
            let samples = &pcm[a..b];
            let mut sum = [0f64; N_CEPSTRA];
            let mut n = 0usize;
            let mut i = 0;
            while i + FRAME <= samples.len() {
                let c = mfcc.frame(&samples[i..i + FRAME]);
                for (s, v) in sum.iter_mut().zip(c) {
                    *s += f64::from(v);
                }
                n += 1;
                i += HOP;
            }
            let mut row: Vec<f64> = sum[1..].iter().map(|s| s / n.max(1) as f64).collect();
            row.push(median_f0(samples).map_or(f64::NAN, f64::ln));
            row
        })
        .collect();
    // Windows without a voiced frame take the mean pitch of the others.
    let pitched: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.last().copied())
        .filter(|v| v.is_finite())
        .collect();
    let mean_pitch = if pitched.is_empty() {
        0.0
    } else {
        pitched.iter().sum::<f64>() / pitched.len() as f64
    };
    for row in &mut rows {
        if let Some(last) = row.last_mut()
            && !last.is_finite()
        {
            *last = mean_pitch;
        }
    }
    standardize(&mut rows);
    // Pitch separates voices the cepstra may blur; give it the weight of a few cepstra.
    for row in &mut rows {
        if let Some(last) = row.last_mut() {
            *last *= 3.0;
        }
    }
    rows
}

fn standardize(rows: &mut [Vec<f64>]) {
    let Some(dims) = rows.first().map(Vec::len) else {
        return;
    };
    let n = rows.len() as f64;
    for d in 0..dims {
        let mean = rows.iter().map(|r| r[d]).sum::<f64>() / n;
        let var = rows.iter().map(|r| (r[d] - mean).powi(2)).sum::<f64>() / n;
        let std = var.sqrt().max(1e-9);
        for r in rows.iter_mut() {
            r[d] = (r[d] - mean) / std;
        }
    }
}

fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// Deterministic k-means: farthest-point initialisation from the first point, then Lloyd
/// iterations. Returns one cluster index per row.
pub fn kmeans(rows: &[Vec<f64>], k: usize) -> Vec<usize> {
    if rows.is_empty() || k <= 1 {
        return vec![0; rows.len()];
    }
    let k = k.min(rows.len());
    let mut centroids = vec![rows[0].clone()];
    while centroids.len() < k {
        let far = rows
            .iter()
            .max_by(|a, b| {
                let da = centroids
                    .iter()
                    .map(|c| distance2(a, c))
                    .fold(f64::MAX, f64::min);
                let db = centroids
                    .iter()
                    .map(|c| distance2(b, c))
                    .fold(f64::MAX, f64::min);
                da.total_cmp(&db)
            })
            .cloned()
            .unwrap_or_default();
        centroids.push(far);
    }
    let mut labels = vec![0; rows.len()];
    for _ in 0..100 {
        let mut changed = false;
        for (row, label) in rows.iter().zip(labels.iter_mut()) {
            let best = (0..k)
                .min_by(|a, b| {
                    distance2(row, &centroids[*a]).total_cmp(&distance2(row, &centroids[*b]))
                })
                .unwrap_or(0);
            if best != *label {
                *label = best;
                changed = true;
            }
        }
        for (c, centroid) in centroids.iter_mut().enumerate() {
            let members: Vec<&Vec<f64>> = rows
                .iter()
                .zip(&labels)
                .filter(|(_, l)| **l == c)
                .map(|(r, _)| r)
                .collect();
            if members.is_empty() {
                continue;
            }
            for (d, v) in centroid.iter_mut().enumerate() {
                *v = members.iter().map(|m| m[d]).sum::<f64>() / members.len() as f64;
            }
        }
        if !changed {
            break;
        }
    }
    labels
}

/// Mean silhouette score of a clustering (−1..1, higher is better separated).
pub fn silhouette(rows: &[Vec<f64>], labels: &[usize], k: usize) -> f64 {
    let n = rows.len();
    if n < 2 || k < 2 {
        return 0.0;
    }
    let mut total = 0.0;
    for i in 0..n {
        let mut sums = vec![0.0; k];
        let mut counts = vec![0usize; k];
        for j in 0..n {
            if i != j {
                sums[labels[j]] += distance2(&rows[i], &rows[j]).sqrt();
                counts[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if counts[own] == 0 {
            continue; // a singleton scores 0
        }
        let a = sums[own] / counts[own] as f64;
        let b = (0..k)
            .filter(|c| *c != own && counts[*c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::MAX, f64::min);
        if b == f64::MAX {
            continue;
        }
        total += (b - a) / a.max(b);
    }
    total / n as f64
}

/// Labels the speech regions of `pcm` with speakers. `speakers` fixes k; `None` estimates it.
pub fn label_speakers(
    pcm: &[f32],
    regions: &[SpeechRegion],
    speakers: Option<usize>,
) -> Vec<LabelledWindow> {
    let spans = windows(regions);
    if spans.is_empty() {
        return Vec::new();
    }
    let rows = features(pcm, &spans);
    let labels = match speakers {
        Some(k) => kmeans(&rows, k.max(1)),
        None => {
            let mut best = (vec![0; rows.len()], MIN_SILHOUETTE);
            for k in 2..=MAX_ESTIMATED_SPEAKERS.min(rows.len().saturating_sub(1)) {
                let labels = kmeans(&rows, k);
                let score = silhouette(&rows, &labels, k);
                if score > best.1 {
                    best = (labels, score);
                }
            }
            best.0
        }
    };
    labelled_windows(&spans, &labels)
}

/// Windows `(start, end)` with one cluster id each, speakers renumbered in order of first
/// appearance.
pub fn labelled_windows(spans: &[(f64, f64)], clusters: &[usize]) -> Vec<LabelledWindow> {
    let (speakers, _) = crate::turns::in_order_of_appearance(clusters);
    spans
        .iter()
        .zip(speakers)
        .map(|(&(start, end), speaker)| LabelledWindow {
            start,
            end,
            speaker,
        })
        .collect()
}

/// The speaker of a word spanning `start..end`: the one whose speech windows overlap the span
/// most; the span's midpoint decides when it overlaps no window. Whisper often stretches the first
/// word of a turn back over the preceding silence (its start touches the previous word's end), so
/// the midpoint alone can land in the gap or in the previous speaker's window; the overlap with
/// actual speech cannot.
pub fn speaker_of_span(windows: &[LabelledWindow], start: f64, end: f64) -> Option<usize> {
    let mut overlap: Vec<f64> = Vec::new();
    for window in windows {
        let shared = end.min(window.end) - start.max(window.start);
        if shared > 0.0 {
            if overlap.len() <= window.speaker {
                overlap.resize(window.speaker + 1, 0.0);
            }
            overlap[window.speaker] += shared;
        }
    }
    overlap
        .iter()
        .enumerate()
        .filter(|(_, o)| **o > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(speaker, _)| speaker)
        .or_else(|| speaker_at(windows, (start + end) / 2.0))
}

/// The speaker of time `t`: the window containing it, else the nearest one.
pub fn speaker_at(windows: &[LabelledWindow], t: f64) -> Option<usize> {
    windows
        .iter()
        .min_by(|a, b| {
            let da = if t < a.start {
                a.start - t
            } else {
                (t - a.end).max(0.0)
            };
            let db = if t < b.start {
                b.start - t
            } else {
                (t - b.end).max(0.0)
            };
            da.total_cmp(&db)
        })
        .map(|w| w.speaker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_separates_two_obvious_groups_and_silhouette_prefers_them() {
        let rows: Vec<Vec<f64>> = (0..10)
            .map(|i| {
                if i % 2 == 0 {
                    vec![0.0 + i as f64 * 0.01, 0.0]
                } else {
                    vec![5.0, 5.0 + i as f64 * 0.01]
                }
            })
            .collect();
        let labels = kmeans(&rows, 2);
        for (i, l) in labels.iter().enumerate() {
            assert_eq!(*l, labels[i % 2]);
        }
        assert_ne!(labels[0], labels[1]);
        assert!(silhouette(&rows, &labels, 2) > 0.9);
    }

    #[test]
    fn pitch_of_a_pure_tone_is_found() {
        let pcm: Vec<f32> = (0..16_000)
            .map(|i| 0.3 * (i as f32 * 2.0 * std::f32::consts::PI * 150.0 / 16_000.0).sin())
            .collect();
        let f0 = median_f0(&pcm).unwrap();
        assert!((f0 - 150.0).abs() < 5.0, "{f0}");
    }

    #[test]
    fn a_word_stretched_back_over_a_pause_belongs_to_the_speaker_who_says_it() {
        // Speaker 0 talks until 2.0 s, a pause, speaker 1 from 2.6 s. Whisper gives speaker 1's
        // first word the span 2.0..2.9: its midpoint (2.45) is nearer speaker 0's window.
        let w = [
            LabelledWindow {
                start: 0.0,
                end: 2.0,
                speaker: 0,
            },
            LabelledWindow {
                start: 2.6,
                end: 4.0,
                speaker: 1,
            },
        ];
        assert_eq!(
            speaker_at(&w, 2.25),
            Some(0),
            "the midpoint rule picks the wrong speaker"
        );
        assert_eq!(speaker_of_span(&w, 2.0, 2.9), Some(1));
        assert_eq!(speaker_of_span(&w, 1.5, 1.9), Some(0));
        assert_eq!(
            speaker_of_span(&w, 4.2, 4.5),
            Some(1),
            "no overlap: nearest to the midpoint"
        );
    }

    #[test]
    fn the_speaker_of_a_time_between_windows_is_the_nearest_one() {
        let w = [
            LabelledWindow {
                start: 0.0,
                end: 1.0,
                speaker: 0,
            },
            LabelledWindow {
                start: 3.0,
                end: 4.0,
                speaker: 1,
            },
        ];
        assert_eq!(speaker_at(&w, 0.5), Some(0));
        assert_eq!(speaker_at(&w, 2.9), Some(1));
        assert_eq!(speaker_at(&w, 1.2), Some(0));
    }
}
