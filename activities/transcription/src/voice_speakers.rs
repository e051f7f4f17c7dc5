//! Speaker labels from learned voice embeddings: who spoke when, and how many people spoke.
//!
//! 1. Speech regions (from [`crate::vad`]) are covered by 1.6 s windows every [`HOP_FRAMES`]
//!    frames (more widely spaced in very long recordings, so at most [`MAX_WINDOWS`] windows);
//!    a region shorter than a window gets one window centred on it. Each window is embedded by
//!    the [`VoiceEncoder`] and labels the stretch around its centre; its median pitch is kept.
//! 2. Two windows are as alike as the cosine of their embeddings, less
//!    [`PITCH_PENALTY_PER_SEMITONE`] per semitone between their pitches. Agglomerative
//!    clustering with average linkage (nearest-neighbour chain, O(n²) time and memory) builds
//!    the whole dendrogram once.
//! 3. A cluster is a speaker when it holds [`MIN_SPEAKER_SECONDS`] of speech (in a short
//!    recording 10 % of it, at least 1.5 s); smaller ones are parts of voices, coughs or two
//!    voices at once. For each number of speakers `k` the dendrogram has a coarsest cut with `k`
//!    speakers; its next merge joins two of them. The number of speakers is the largest `k`
//!    whose next merge joins clusters less alike than [`SAME_VOICE_SIMILARITY`] (two different
//!    voices), at most [`MAX_SPEAKERS`] or the user's maximum (`maxSpeakers`, `--speakers N`).
//! 4. Every window then goes to the speaker it is most alike on average (the small clusters
//!    join theirs), twice, so a window merged early into the wrong branch finds its voice.
//!
//! Overlapping speech goes to the voice that dominates the window. Sentence-level decisions
//! (one speaker per sentence) are made later, on the words, in [`crate::offline`]. The
//! constants were chosen on the evaluation set with `eval-speakers --sweep`.

use std::sync::Arc;

use crate::audio::SAMPLE_RATE;
use crate::speakers::{
    LabelledWindow, SpeakerLabeller, SpectralLabeller, labelled_windows, median_f0,
};
use crate::vad::SpeechRegion;
use crate::voice_encoder::{
    EMBEDDING_DIM, FRAMES_PER_SECOND, VoiceEncoder, WINDOW_FRAMES, load_default_voice_encoder,
};

/// Window spacing, frames (0.5 s): a turn change is placed to within a quarter second.
pub const HOP_FRAMES: usize = 50;
/// Most windows embedded per recording (memory of the similarity matrix: 4 bytes × n²).
pub const MAX_WINDOWS: usize = 4000;
/// Two speakers are one voice when their windows are this alike on average.
pub const SAME_VOICE_SIMILARITY: f32 = 0.7;
/// Similarity taken off per semitone between two windows' median pitches.
pub const PITCH_PENALTY_PER_SEMITONE: f32 = 0.03;
/// A cluster with less speech than this is not a speaker of its own.
pub const MIN_SPEAKER_SECONDS: f64 = 4.0;
/// In a short recording a speaker needs only this share of the speech (at least
/// [`MIN_SHORT_SPEAKER_SECONDS`]): two people exchanging a sentence each are two speakers.
const MIN_SPEAKER_SHARE: f64 = 0.1;
const MIN_SHORT_SPEAKER_SECONDS: f64 = 1.5;

/// Speech a cluster needs to be a speaker in a recording with `total` seconds of speech.
fn min_speaker_seconds(total: f64) -> f64 {
    MIN_SPEAKER_SECONDS.min((MIN_SPEAKER_SHARE * total).max(MIN_SHORT_SPEAKER_SECONDS))
}
/// Most speakers found without a hint.
pub const MAX_SPEAKERS: usize = 8;

type Embedding = [f32; EMBEDDING_DIM];

/// A window to embed: its first frame and length in frames, and the stretch of time (seconds)
/// it labels.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Window {
    start_frame: usize,
    frames: usize,
    from: f64,
    to: f64,
}

fn frame_of(seconds: f64) -> usize {
    (seconds * FRAMES_PER_SECOND).round().max(0.0) as usize
}

/// Windows covering `regions`, at most [`MAX_WINDOWS`] of them.
fn windows(regions: &[SpeechRegion]) -> Vec<Window> {
    let speech_frames: usize = regions
        .iter()
        .map(|r| frame_of(r.end).saturating_sub(frame_of(r.start)))
        .sum();
    let hop = HOP_FRAMES.max(speech_frames.div_ceil(MAX_WINDOWS));
    let mut out = Vec::new();
    for region in regions {
        let (first, last) = (frame_of(region.start), frame_of(region.end));
        if last.saturating_sub(first) <= WINDOW_FRAMES {
            // The region alone, repeated to the window's length by the encoder.
            out.push(Window {
                start_frame: first,
                frames: (last - first).max(1),
                from: region.start,
                to: region.end,
            });
            continue;
        }
        // Starts from `first` to `last - WINDOW_FRAMES`, the last one flush with the end.
        let mut starts: Vec<usize> = (first..=last - WINDOW_FRAMES).step_by(hop).collect();
        if starts.last() != Some(&(last - WINDOW_FRAMES)) {
            starts.push(last - WINDOW_FRAMES);
        }
        let centres: Vec<f64> = starts
            .iter()
            .map(|s| (s + WINDOW_FRAMES / 2) as f64 / FRAMES_PER_SECOND)
            .collect();
        for (i, start) in starts.iter().enumerate() {
            let from = if i == 0 {
                region.start
            } else {
                (centres[i - 1] + centres[i]) / 2.0
            };
            let to = if i + 1 == starts.len() {
                region.end
            } else {
                (centres[i] + centres[i + 1]) / 2.0
            };
            out.push(Window {
                start_frame: *start,
                frames: WINDOW_FRAMES,
                from,
                to,
            });
        }
    }
    out
}

fn dot(a: &Embedding, b: &Embedding) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// One merge of the dendrogram: the clusters in slots `a` and `b` (the result keeps slot `a`)
/// at average similarity `similarity`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Merge {
    pub a: usize,
    pub b: usize,
    pub similarity: f32,
}

/// What is clustered: one embedding per window, with its window's median pitch (natural log of
/// Hz; `None` when unvoiced) and the seconds it labels.
#[derive(Clone, Copy, Debug)]
pub struct VoiceSample<'a> {
    pub embedding: &'a Embedding,
    pub log_pitch: Option<f32>,
    pub seconds: f64,
}

/// How alike two windows' voices are: the cosine of their embeddings, less
/// [`PITCH_PENALTY_PER_SEMITONE`] per semitone between their median pitches (the encoder is
/// trained to ignore much of a voice's pitch; between people pitch differs more than within
/// one person's sentences).
fn similarity(a: &VoiceSample<'_>, b: &VoiceSample<'_>, pitch_penalty: f32) -> f32 {
    let cosine = dot(a.embedding, b.embedding);
    match (a.log_pitch, b.log_pitch) {
        (Some(x), Some(y)) => cosine - pitch_penalty * (x - y).abs() * SEMITONES_PER_LOG_UNIT,
        _ => cosine,
    }
}

/// 12 / ln 2: semitones per unit of natural-log frequency.
const SEMITONES_PER_LOG_UNIT: f32 = 17.312_34;

/// The pairwise similarity matrix, row-major.
fn similarities(samples: &[VoiceSample<'_>], pitch_penalty: f32) -> Vec<f32> {
    let n = samples.len();
    let mut sim = vec![1f32; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let s = similarity(&samples[i], &samples[j], pitch_penalty);
            sim[i * n + j] = s;
            sim[j * n + i] = s;
        }
    }
    sim
}

/// Average-linkage agglomerative clustering of `n` items with similarity matrix `sim`
/// (row-major, modified in place), by the nearest-neighbour chain: the `n - 1` merges, most
/// similar first.
pub fn average_linkage(mut sim: Vec<f32>, n: usize) -> Vec<Merge> {
    let mut size = vec![1usize; n];
    let mut active = vec![true; n];
    let mut remaining = n;
    let mut chain: Vec<usize> = Vec::new();
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    while remaining > 1 {
        if chain.is_empty()
            && let Some(first) = active.iter().position(|a| *a)
        {
            chain.push(first);
        }
        let Some(&a) = chain.last() else { break };
        let previous = chain.len().checked_sub(2).map(|i| chain[i]);
        // The most similar active cluster; the previous link wins ties, so the chain ends.
        let mut best = previous;
        let mut best_sim = previous.map_or(f32::NEG_INFINITY, |p| sim[a * n + p]);
        for x in (0..n).filter(|x| active[*x] && *x != a) {
            if sim[a * n + x] > best_sim {
                best = Some(x);
                best_sim = sim[a * n + x];
            }
        }
        let Some(b) = best else { break };
        if Some(b) != previous {
            chain.push(b);
            continue;
        }
        chain.truncate(chain.len() - 2);
        let (na, nb) = (size[a] as f32, size[b] as f32);
        for x in (0..n).filter(|x| active[*x] && *x != a && *x != b) {
            let s = (na * sim[a * n + x] + nb * sim[b * n + x]) / (na + nb);
            sim[a * n + x] = s;
            sim[x * n + a] = s;
        }
        active[b] = false;
        size[a] += size[b];
        remaining -= 1;
        merges.push(Merge {
            a,
            b,
            similarity: best_sim,
        });
    }
    merges.sort_by(|x, y| y.similarity.total_cmp(&x.similarity));
    merges
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Cluster of each item after applying `merges[..count]`, as dense ids.
fn cut(n: usize, merges: &[Merge], count: usize) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..n).collect();
    for m in &merges[..count.min(merges.len())] {
        let (ra, rb) = (find(&mut parent, m.a), find(&mut parent, m.b));
        parent[rb] = ra;
    }
    let mut ids: Vec<Option<usize>> = vec![None; n];
    let mut next = 0;
    (0..n)
        .map(|i| {
            let root = find(&mut parent, i);
            *ids[root].get_or_insert_with(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// How the dendrogram is cut (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClusterParams {
    /// Two speakers are one when their windows are this alike on average.
    pub same_voice: f32,
    /// Similarity taken off per semitone of median-pitch difference.
    pub pitch_penalty: f32,
}

impl Default for ClusterParams {
    fn default() -> Self {
        Self {
            same_voice: SAME_VOICE_SIMILARITY,
            pitch_penalty: PITCH_PENALTY_PER_SEMITONE,
        }
    }
}

/// For each number of speakers `k` (index `k`), how many merges give the coarsest partition
/// with exactly `k` clusters of at least [`MIN_SPEAKER_SECONDS`]: the step just before two
/// speakers would merge.
fn cuts_by_speakers(samples: &[VoiceSample<'_>], merges: &[Merge]) -> Vec<Option<usize>> {
    let n = samples.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    let least = min_speaker_seconds(seconds.iter().sum());
    let big = |s: f64| usize::from(s >= least);
    let mut count: usize = seconds.iter().map(|s| big(*s)).sum();
    let mut cuts: Vec<Option<usize>> = vec![None; n + 1];
    cuts[count] = Some(0);
    for (step, m) in merges.iter().enumerate() {
        let (ra, rb) = (find(&mut parent, m.a), find(&mut parent, m.b));
        parent[rb] = ra;
        count = count + big(seconds[ra] + seconds[rb]) - big(seconds[ra]) - big(seconds[rb]);
        seconds[ra] += seconds[rb];
        cuts[count] = Some(step + 1);
    }
    cuts
}

/// The partition after `applied` merges with its small clusters given to the speaker they are
/// most alike on average: one speaker index per sample, and the number of speakers.
fn speakers_of_cut(
    samples: &[VoiceSample<'_>],
    sim: &[f32],
    merges: &[Merge],
    applied: usize,
) -> (Vec<usize>, usize) {
    let n = samples.len();
    let labels = cut(n, merges, applied);
    let clusters = labels.iter().max().map_or(0, |m| m + 1);
    let mut seconds = vec![0f64; clusters];
    for (l, s) in labels.iter().zip(samples) {
        seconds[*l] += s.seconds;
    }
    let least = min_speaker_seconds(seconds.iter().sum());
    let mut speakers: Vec<usize> = (0..clusters).filter(|c| seconds[*c] >= least).collect();
    if speakers.is_empty() {
        // Nobody spoke long enough to tell: the largest cluster is the one speaker.
        speakers = (0..clusters)
            .max_by(|a, b| seconds[*a].total_cmp(&seconds[*b]))
            .into_iter()
            .collect();
    }
    let assigned: Vec<usize> = labels
        .iter()
        .map(|l| speakers.iter().position(|s| s == l).unwrap_or(usize::MAX))
        .collect();
    (reassign(sim, n, &assigned, speakers.len()), speakers.len())
}

/// Each sample's speaker: the one whose samples (`assigned`, `usize::MAX` for none yet) it is
/// most alike on average.
fn reassign(sim: &[f32], n: usize, assigned: &[usize], speakers: usize) -> Vec<usize> {
    (0..n)
        .map(|i| {
            let mut sums = vec![(0f32, 0usize); speakers];
            for (j, a) in assigned.iter().enumerate() {
                if *a < speakers && j != i {
                    sums[*a].0 += sim[i * n + j];
                    sums[*a].1 += 1;
                }
            }
            sums.iter()
                .enumerate()
                .filter(|(_, (_, count))| *count > 0)
                .max_by(|x, y| (x.1.0 / x.1.1 as f32).total_cmp(&(y.1.0 / y.1.1 as f32)))
                .map_or(0, |(k, _)| k)
        })
        .collect()
}

/// How many speakers the dendrogram shows: the most `k` for which the coarsest partition into
/// `k` clusters with at least [`MIN_SPEAKER_SECONDS`] each ends with a merge of two of them below
/// `same_voice` (two different voices joined). Small clusters growing or joining on the way are
/// parts of voices and do not count.
fn speaker_count(cuts: &[Option<usize>], merges: &[Merge], same_voice: f32, limit: usize) -> usize {
    (2..=limit)
        .rev()
        .find(|k| {
            cuts.get(*k)
                .copied()
                .flatten()
                .and_then(|step| merges.get(step))
                .is_some_and(|m| m.similarity < same_voice)
        })
        .unwrap_or(1)
}

/// Speaker of each sample when there are `speakers` speakers (at most; fewer when the
/// recording has fewer clusters with enough speech).
pub fn cluster_voices_into(
    samples: &[VoiceSample<'_>],
    speakers: usize,
    params: ClusterParams,
) -> Vec<usize> {
    if samples.is_empty() {
        return Vec::new();
    }
    let (sim, merges) = dendrogram(samples, params);
    let cuts = cuts_by_speakers(samples, &merges);
    partition(samples, &sim, &merges, &cuts, speakers)
}

/// The similarity matrix of `samples` and its average-linkage merges.
fn dendrogram(samples: &[VoiceSample<'_>], params: ClusterParams) -> (Vec<f32>, Vec<Merge>) {
    let sim = similarities(samples, params.pitch_penalty);
    let merges = average_linkage(sim.clone(), samples.len());
    (sim, merges)
}

fn partition(
    samples: &[VoiceSample<'_>],
    sim: &[f32],
    merges: &[Merge],
    cuts: &[Option<usize>],
    speakers: usize,
) -> Vec<usize> {
    let n = samples.len();
    // The coarsest cut with `speakers` speakers, else with the most speakers below that.
    let applied = (1..=speakers.max(1))
        .rev()
        .find_map(|k| cuts.get(k).copied().flatten())
        .unwrap_or(merges.len());
    let (labels, k) = speakers_of_cut(samples, sim, merges, applied);
    // One more pass against these memberships.
    reassign(sim, n, &labels, k)
}

/// Speaker of each sample: the dendrogram cut as the module documentation describes.
pub fn cluster_voices(
    samples: &[VoiceSample<'_>],
    max_speakers: Option<usize>,
    params: ClusterParams,
) -> Vec<usize> {
    if samples.is_empty() {
        return Vec::new();
    }
    let (sim, merges) = dendrogram(samples, params);
    let limit = max_speakers.unwrap_or(MAX_SPEAKERS).clamp(1, MAX_SPEAKERS);
    let cuts = cuts_by_speakers(samples, &merges);
    let speakers = speaker_count(&cuts, &merges, params.same_voice, limit);
    partition(samples, &sim, &merges, &cuts, speakers)
}

/// The embedded windows of a recording: what each labels (start and end, seconds), its
/// embedding and its median pitch.
#[derive(Clone, Debug, Default)]
pub struct EmbeddedSpeech {
    /// (start, end) of the time each window labels, seconds, in time order.
    pub spans: Vec<(f64, f64)>,
    /// One embedding per span.
    pub embeddings: Vec<Embedding>,
    /// Natural log of each window's median pitch in Hz; `None` when unvoiced.
    pub log_pitches: Vec<Option<f32>>,
}

impl EmbeddedSpeech {
    /// What [`cluster_voices`] clusters.
    pub fn samples(&self) -> Vec<VoiceSample<'_>> {
        self.embeddings
            .iter()
            .zip(&self.log_pitches)
            .zip(&self.spans)
            .map(|((embedding, log_pitch), (from, to))| VoiceSample {
                embedding,
                log_pitch: *log_pitch,
                seconds: to - from,
            })
            .collect()
    }

    /// Labelled windows from one cluster id per span, speakers renumbered in order of first
    /// appearance.
    pub fn labelled(&self, clusters: &[usize]) -> Vec<LabelledWindow> {
        labelled_windows(&self.spans, clusters)
    }
}

/// Embeds the windows covering `regions` of `pcm` (16 kHz mono).
pub fn embed_speech(
    encoder: &VoiceEncoder,
    pcm: &[f32],
    regions: &[SpeechRegion],
) -> EmbeddedSpeech {
    let windows = windows(regions);
    if windows.is_empty() {
        return EmbeddedSpeech::default();
    }
    let rate = f64::from(SAMPLE_RATE);
    let speech: Vec<(usize, usize)> = regions
        .iter()
        .map(|r| ((r.start * rate) as usize, (r.end * rate) as usize))
        .collect();
    let features = encoder.features(pcm, &speech);
    let frames: Vec<(usize, usize)> = windows.iter().map(|w| (w.start_frame, w.frames)).collect();
    let samples_per_frame = (rate / FRAMES_PER_SECOND) as usize;
    let log_pitches = frames
        .iter()
        .map(|(start, length)| {
            let a = (start * samples_per_frame).min(pcm.len());
            let b = ((start + length) * samples_per_frame).min(pcm.len());
            median_f0(&pcm[a..b]).map(|hz| hz.ln() as f32)
        })
        .collect();
    EmbeddedSpeech {
        spans: windows.iter().map(|w| (w.from, w.to)).collect(),
        embeddings: encoder.embed(&features, &frames),
        log_pitches,
    }
}

/// Speaker labels of `pcm` (16 kHz mono) over `regions`, speakers numbered in order of first
/// appearance.
pub fn label_speakers_by_voice(
    encoder: &VoiceEncoder,
    pcm: &[f32],
    regions: &[SpeechRegion],
    max_speakers: Option<usize>,
) -> Vec<LabelledWindow> {
    let speech = embed_speech(encoder, pcm, regions);
    let clusters = cluster_voices(&speech.samples(), max_speakers, ClusterParams::default());
    speech.labelled(&clusters)
}

/// The neural labeller: [`label_speakers_by_voice`] with a loaded encoder.
#[derive(Clone, Debug)]
pub struct VoiceLabeller {
    encoder: Arc<VoiceEncoder>,
}

impl VoiceLabeller {
    /// A labeller embedding with `encoder`.
    pub fn new(encoder: Arc<VoiceEncoder>) -> Self {
        Self { encoder }
    }
}

impl SpeakerLabeller for VoiceLabeller {
    fn name(&self) -> &'static str {
        "voice-encoder-ahc"
    }

    fn label(
        &self,
        pcm: &[f32],
        regions: &[SpeechRegion],
        max_speakers: Option<usize>,
    ) -> Vec<LabelledWindow> {
        label_speakers_by_voice(&self.encoder, pcm, regions, max_speakers)
    }
}

/// The labeller the offline engine uses: the voice encoder from the model cache when it is
/// installed and verifies, else the model-free [`SpectralLabeller`] with a warning that says why
/// and how to install the model.
pub fn default_speaker_labeller() -> Arc<dyn SpeakerLabeller> {
    match load_default_voice_encoder() {
        Ok(encoder) => Arc::new(VoiceLabeller::new(encoder)),
        Err(error) => {
            tracing::warn!(
                %error,
                "speaker labels fall back to MFCC and pitch clustering (fewer speakers told apart)"
            );
            Arc::new(SpectralLabeller)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit vector leaning towards axis `voice`, jittered by `seed`.
    fn voice(voice: usize, seed: u64) -> Embedding {
        let mut e = [0f32; EMBEDDING_DIM];
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        for v in e.iter_mut() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *v = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.08;
        }
        e[voice] += 1.0;
        crate::voice_encoder::normalise(&mut e);
        e
    }

    /// Samples of the embeddings, each labelling `seconds`, without pitch.
    fn samples<'a>(embeddings: &'a [Embedding], seconds: &[f64]) -> Vec<VoiceSample<'a>> {
        embeddings
            .iter()
            .zip(seconds)
            .map(|(embedding, seconds)| VoiceSample {
                embedding,
                log_pitch: None,
                seconds: *seconds,
            })
            .collect()
    }

    fn cluster(embeddings: &[Embedding], seconds: &[f64], max: Option<usize>) -> Vec<usize> {
        cluster_voices(&samples(embeddings, seconds), max, ClusterParams::default())
    }

    #[test]
    fn windows_cover_each_region_without_gaps_or_overlaps() {
        let regions = [
            SpeechRegion {
                start: 0.5,
                end: 1.0,
            },
            SpeechRegion {
                start: 2.0,
                end: 7.3,
            },
        ];
        let w = windows(&regions);
        assert_eq!(w[0].from, 0.5);
        assert_eq!(w[0].to, 1.0);
        assert_eq!(
            (w[0].start_frame, w[0].frames),
            (50, 50),
            "the short region alone"
        );
        assert_eq!(w[1].from, 2.0);
        assert_eq!(w.last().map(|w| w.to), Some(7.3));
        for pair in w[1..].windows(2) {
            assert!((pair[0].to - pair[1].from).abs() < 1e-9, "{pair:?}");
            assert!(pair[1].start_frame > pair[0].start_frame);
        }
        assert_eq!(w.last().map(|w| w.start_frame), Some(730 - WINDOW_FRAMES));
    }

    #[test]
    fn long_recordings_get_at_most_the_window_budget() {
        let regions = [SpeechRegion {
            start: 0.0,
            end: 3.0 * 3600.0,
        }];
        let w = windows(&regions);
        assert!(w.len() <= MAX_WINDOWS + 1, "{}", w.len());
        assert!(w.len() > MAX_WINDOWS / 2);
    }

    #[test]
    fn average_linkage_merges_the_closest_first_and_returns_n_minus_one_merges() {
        let e: Vec<Embedding> = (0..6).map(|i| voice(i % 2, i as u64)).collect();
        let merges = average_linkage(similarities(&samples(&e, &[1.0; 6]), 0.0), 6);
        assert_eq!(merges.len(), 5);
        assert!(
            merges
                .windows(2)
                .all(|m| m[0].similarity >= m[1].similarity)
        );
        // The last merge joins the two voices; everything before it is within a voice.
        assert!(merges[4].similarity < 0.5, "{merges:?}");
        assert!(merges[3].similarity > 0.8, "{merges:?}");
        let labels = cut(6, &merges, 4);
        assert_eq!(labels, vec![0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn the_number_of_voices_is_found_without_a_hint() {
        for voices in 1..=6 {
            let e: Vec<Embedding> = (0..60).map(|i| voice(i % voices, i as u64)).collect();
            let labels = cluster(&e, &[1.0; 60], None);
            let found = labels.iter().max().map_or(0, |m| m + 1);
            assert_eq!(found, voices, "{labels:?}");
            for i in 0..60 {
                assert_eq!(labels[i], labels[i % voices], "window {i}");
            }
        }
    }

    #[test]
    fn a_maximum_merges_the_most_alike_voices() {
        let e: Vec<Embedding> = (0..40).map(|i| voice(i % 4, i as u64)).collect();
        let labels = cluster(&e, &[1.0; 40], Some(2));
        assert_eq!(labels.iter().max(), Some(&1));
    }

    #[test]
    fn a_cluster_with_too_little_speech_joins_its_nearest_speaker() {
        let mut e: Vec<Embedding> = (0..20).map(|i| voice(i % 2, i as u64)).collect();
        // Two windows of a third voice, leaning to voice 1: one second in all.
        let mut stray = voice(2, 99);
        stray[1] += 0.9;
        crate::voice_encoder::normalise(&mut stray);
        e.push(stray);
        e.push(stray);
        let mut durations = vec![1.0; 20];
        durations.extend([0.5, 0.5]);
        let labels = cluster(&e, &durations, None);
        assert_eq!(labels.iter().max(), Some(&1));
        assert_eq!(labels[20], labels[1]);
    }

    #[test]
    fn a_pitch_difference_separates_voices_the_embeddings_confuse() {
        // One embedding direction, two pitches an octave apart: one voice without the pitch
        // penalty, two with it.
        let e: Vec<Embedding> = (0..40).map(|i| voice(0, i as u64)).collect();
        let mut s = samples(&e, &[1.0; 40]);
        for (i, sample) in s.iter_mut().enumerate() {
            sample.log_pitch = Some(if i % 2 == 0 { 100f32 } else { 200f32 }.ln());
        }
        let without = ClusterParams {
            pitch_penalty: 0.0,
            ..ClusterParams::default()
        };
        assert_eq!(cluster_voices(&s, None, without).iter().max(), Some(&0));
        let labels = cluster_voices(&s, None, ClusterParams::default());
        assert_eq!(labels.iter().max(), Some(&1));
        assert!(labels.iter().step_by(2).all(|l| *l == labels[0]));
        assert!(labels.iter().skip(1).step_by(2).all(|l| *l == labels[1]));
    }

    #[test]
    fn an_exact_count_cuts_there() {
        let e: Vec<Embedding> = (0..30).map(|i| voice(i % 3, i as u64)).collect();
        let s = samples(&e, &[1.0; 30]);
        for k in 1..=3 {
            let labels = cluster_voices_into(&s, k, ClusterParams::default());
            assert_eq!(labels.iter().max().map(|m| m + 1), Some(k));
        }
    }

    #[test]
    fn no_windows_no_labels() {
        assert!(cluster(&[], &[], None).is_empty());
        assert!(windows(&[]).is_empty());
    }
}
