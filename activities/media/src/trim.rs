//! Removing each chunk's encoder padding from the joined speech audio.
//!
//! FFmpeg decoding through the concat demuxer skips a chunk's AAC priming (the edit list) but
//! decodes its last frame whole, so every chunk contributes up to one frame (1024 samples, 21 ms
//! at 48 kHz) of padding past its real end, and later chunks drift: 60 one-minute chunks come out
//! about 0.6 s too long (`shared/notes/offline-speech.md`). FFmpeg 5.1 has no sample-accurate end
//! trim in the concat demuxer, so the join streams 16-bit PCM out of FFmpeg, this module drops the
//! padding at positions computed from each chunk's probe, and a second FFmpeg encodes the FLAC.
//! The result is as long as the chunks' audio together, and every chunk starts where its offset
//! says, however many chunks there are.

/// Bytes per sample of the PCM between the two FFmpeg processes (`s16le`, mono).
pub const BYTES_PER_SAMPLE: u64 = 2;

/// One chunk's audio as the concat demuxer decodes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkSpan {
    /// The chunk's real audio duration (its presented duration), seconds.
    pub presented_seconds: f64,
    /// What the decoder outputs for it (presented + end padding), seconds.
    pub decoded_seconds: f64,
}

/// Converts a time on the decoded timeline to a sample index of the PCM stream. Every boundary
/// is rounded from the exact cumulative time, so rounding errors never accumulate.
fn sample_at(seconds: f64, rate: u32) -> u64 {
    // Times are non-negative sums of durations; the cast saturates on anything pathological.
    (seconds * f64::from(rate)).round() as u64
}

/// The half-open sample ranges `[from, to)` of the decoded PCM at `rate` that are padding.
pub fn padding_ranges(spans: &[ChunkSpan], rate: u32) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let mut decoded_start = 0.0;
    for span in spans {
        let real_end = decoded_start + span.presented_seconds;
        let decoded_end = decoded_start + span.decoded_seconds.max(span.presented_seconds);
        let (from, to) = (sample_at(real_end, rate), sample_at(decoded_end, rate));
        if to > from {
            ranges.push((from, to));
        }
        decoded_start = decoded_end;
    }
    ranges
}

/// A streaming filter over `s16le` mono PCM that drops the given sample ranges. Reads may split
/// samples anywhere; positions are tracked in bytes.
#[derive(Debug, Clone)]
pub struct PaddingCutter {
    /// Byte ranges to drop, sorted and disjoint.
    cuts: Vec<(u64, u64)>,
    next: usize,
    position: u64,
    dropped: u64,
}

impl PaddingCutter {
    /// A cutter for sorted, disjoint sample ranges.
    pub fn new(sample_ranges: &[(u64, u64)]) -> Self {
        Self {
            cuts: sample_ranges
                .iter()
                .map(|(a, b)| {
                    (
                        a.saturating_mul(BYTES_PER_SAMPLE),
                        b.saturating_mul(BYTES_PER_SAMPLE),
                    )
                })
                .collect(),
            next: 0,
            position: 0,
            dropped: 0,
        }
    }

    /// Appends to `out` the bytes of `input` (the next bytes of the stream) that are kept.
    pub fn filter(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let start = self.position;
        let end = start.saturating_add(input.len() as u64);
        let mut cursor = start;
        while cursor < end {
            // Skip cuts that lie entirely behind the cursor.
            while self.next < self.cuts.len() && self.cuts[self.next].1 <= cursor {
                self.next += 1;
            }
            let (keep_to, cut_to) = match self.cuts.get(self.next) {
                Some(&(from, to)) if from <= cursor => (cursor, to.min(end)),
                Some(&(from, to)) => (from.min(end), to.min(end)),
                None => (end, end),
            };
            let offset = |at: u64| usize::try_from(at - start).unwrap_or(input.len());
            out.extend_from_slice(&input[offset(cursor)..offset(keep_to)]);
            self.dropped += cut_to.saturating_sub(keep_to);
            cursor = cut_to.max(keep_to);
        }
        self.position = end;
    }

    /// Bytes of the stream seen so far (kept and dropped): where the decoder has got to.
    pub fn position_bytes(&self) -> u64 {
        self.position
    }

    /// Bytes dropped so far.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_ranges_follow_the_decoded_timeline() {
        // Two 2 s chunks at 48 kHz that decode 256 samples (5.33 ms) long each.
        let span = ChunkSpan {
            presented_seconds: 2.0,
            decoded_seconds: 96_256.0 / 48_000.0,
        };
        let ranges = padding_ranges(&[span, span], 16_000);
        // 2 s → sample 32,000; the padding is 85.33 samples at 16 kHz.
        assert_eq!(ranges, vec![(32_000, 32_085), (64_085, 64_171)]);
    }

    #[test]
    fn chunks_without_padding_give_no_ranges() {
        let span = ChunkSpan {
            presented_seconds: 1.5,
            decoded_seconds: 1.5,
        };
        assert!(padding_ranges(&[span, span], 16_000).is_empty());
    }

    #[test]
    fn the_cutter_drops_exactly_the_ranges_whatever_the_read_sizes() {
        // GIVEN 100 samples numbered 0..100 and cuts of samples 10..20 and 50..51
        let samples: Vec<u8> = (0u16..100).flat_map(u16::to_le_bytes).collect();
        let expected: Vec<u8> = (0u16..100)
            .filter(|s| !(10..20).contains(s) && *s != 50)
            .flat_map(u16::to_le_bytes)
            .collect();
        for read_size in [1, 3, 7, 64, 200] {
            // WHEN the stream arrives in reads of read_size bytes (splitting samples)
            let mut cutter = PaddingCutter::new(&[(10, 20), (50, 51)]);
            let mut out = Vec::new();
            for piece in samples.chunks(read_size) {
                cutter.filter(piece, &mut out);
            }
            // THEN exactly those samples are gone
            assert_eq!(out, expected, "read size {read_size}");
            assert_eq!(cutter.dropped_bytes(), 22);
        }
    }
}
