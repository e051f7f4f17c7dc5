//! Validating one chunk before FFmpeg is allowed to join it: a magic-byte check (an MP4 starts
//! with a box whose type, at offset 4, is `ftyp`), then `ffprobe` with the MP4 demuxer forced and
//! format, protocol and codec whitelists, so a playlist or any other container renamed `.mp4` is
//! never opened by the demuxer its content would select (FFmpeg sniffs content, not extensions),
//! and no audio decoder but AAC's ever sees a chunk's bytes.
//!
//! The probe also reads what the join needs: the audio stream's codec and format, and the numbers
//! that give the chunk's exact length once decoded through the concat demuxer
//! ([`AudioStream::decoded_seconds`]). Every number comes from the chunk's own headers, so each is
//! range-checked before anything is computed from it ([`parse_probe`]) and the arithmetic on
//! them is checked: a chunk declaring a 27-hour duration or a 16 MHz sample rate is refused with
//! the value named; packet numbers that overflow or describe more padding than a codec adds are
//! not trusted ([`AudioStream::decoded_seconds`]). Nothing overflows, panics or sizes an
//! allocation from a header.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::error::ProbeError;

/// The MP4/QuickTime demuxer's name in FFmpeg: the only format a chunk may be opened with.
pub const MP4_DEMUXER: &str = "mov,mp4,m4a,3gp,3g2,mj2";

/// Only the local file protocol: no `http`, `tcp`, `hls`, `crypto`, `data`, `concat`, … so a
/// hostile reference inside a file can never reach the network or another file.
pub const PROTOCOL_WHITELIST: &str = "file";

/// The one audio codec a chunk may carry: what the desktop client records (AAC-LC in MP4) and
/// what the join decodes. ffprobe's `codec_name` for it.
pub const AUDIO_CODEC: &str = "aac";

/// The decoders FFmpeg may open on chunk input (`-codec_whitelist`): AAC's only. Video is only
/// ever stream-copied, so no video decoder is needed, and none is allowed where FFmpeg would
/// otherwise decode a few frames to fill in stream parameters (`avformat_find_stream_info`).
pub const CHUNK_DECODERS: &str = "aac";

/// Longest duration a chunk may declare, seconds (a day). The desktop client uploads chunks of
/// minutes; a whole meeting handed over as one file (`recorder process meeting.mp4`) lasts hours.
/// The concat demuxer places each chunk after the previous one's container duration, and the
/// offsets add up the audio durations, so neither may be absurd.
pub const MAX_CHUNK_SECONDS: f64 = 24.0 * 60.0 * 60.0;

/// AAC's sampling frequencies (ISO/IEC 14496-3, table 1.18) run from 7,350 to 96,000 Hz.
pub const SAMPLE_RATES_HZ: std::ops::RangeInclusive<u64> = 7_350..=96_000;

/// Channels a chunk may have: AAC's largest standard channel configuration is 7.1 (8 channels);
/// a meeting is mono or stereo.
pub const CHANNELS: std::ops::RangeInclusive<u32> = 1..=8;

/// How many codec frames of end padding the join may trim from one chunk. An AAC encoder pads
/// the last frame (less than one frame: 1024 samples); two leave room for encoders that flush
/// one more. More means the packet numbers do not describe the decode (an edit list that cuts
/// the end, or a hostile header), and the presented duration is used instead.
const MAX_PADDING_FRAMES: i64 = 2;

/// The box type every MP4 starts with.
const FTYP: &[u8; 4] = b"ftyp";

/// Where `scripts/setup-ffprobe.sh` installs the minimal ffprobe, under the cache directory.
pub const MINIMAL_FFPROBE: &str = "tools/ffprobe";

/// The ffprobe to run on chunks: `FFPROBE_PATH` when set; else the minimal build in the cache
/// (`$MEETING_RECORDER_CACHE/tools/ffprobe`, default this workspace's `.cache/`), which starts
/// in ≈ 6 ms and can parse only MP4 and FLAC; else `ffprobe` on the `PATH` (Debian's loads 215
/// shared libraries: ≈ 63 ms per start). The arguments and whitelists are the same for all.
pub fn default_ffprobe() -> PathBuf {
    let workspace_cache: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache")
        .components()
        .collect();
    locate_ffprobe(|name| std::env::var(name).ok(), &workspace_cache)
}

/// [`default_ffprobe`] with the environment read through `lookup`.
pub fn locate_ffprobe(lookup: impl Fn(&str) -> Option<String>, workspace_cache: &Path) -> PathBuf {
    use meeting_domain::deployment::env;
    let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    if let Some(path) = var(env::FFPROBE_PATH) {
        return PathBuf::from(path);
    }
    let cache =
        var(env::MEETING_RECORDER_CACHE).map_or_else(|| workspace_cache.to_owned(), PathBuf::from);
    let minimal = cache.join(MINIMAL_FFPROBE);
    if minimal.is_file() {
        std::fs::canonicalize(&minimal).unwrap_or(minimal)
    } else {
        PathBuf::from("ffprobe")
    }
}

/// Checks the first bytes of `path`: not empty, and an `ftyp` box at offset 4.
pub async fn check_magic(path: &Path) -> Result<(), String> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| format!("cannot open the downloaded chunk: {e}"))?;
    let mut head = [0u8; 12];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .await
            .map_err(|e| format!("cannot read the downloaded chunk: {e}"))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    if filled == 0 {
        return Err("the chunk is empty (0 bytes)".to_owned());
    }
    if filled < 8 || &head[4..8] != FTYP {
        let shown: String = head[..filled]
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() {
                    char::from(*b).to_string()
                } else {
                    format!("\\x{b:02x}")
                }
            })
            .collect();
        return Err(format!(
            "no `ftyp` box at offset 4: not an MP4 file (starts with \"{shown}\")"
        ));
    }
    let box_size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    // Size 1 means a 64-bit size follows; otherwise a box is at least its 8-byte header.
    if box_size != 1 && box_size < 8 {
        return Err(format!(
            "the `ftyp` box has an impossible size of {box_size}"
        ));
    }
    Ok(())
}

/// Arguments of the `ffprobe` call for one chunk: MP4 demuxer forced, whitelists, one audio
/// stream, its first packet, JSON out.
///
/// The codec whitelist is given for audio streams only (`-codec_whitelist:a`): ffprobe 5.1 opens
/// a decoder for every stream and exits when one refuses to open, so an unqualified whitelist
/// would fail every chunk with video on Debian's ffprobe. The minimal ffprobe
/// (`scripts/setup-ffprobe.sh`) has no decoder but AAC and FLAC at all. A non-AAC audio stream
/// makes Debian's ffprobe fail with "Codec (…) not on whitelist" ([`codec_refused`]); the minimal
/// build reports its `codec_name` instead ([`parse_probe`]); both end as the same error.
pub fn probe_args(path: &Path) -> Vec<OsString> {
    let mut input = OsString::from("file:");
    input.push(path.as_os_str());
    let entries = format!(
        "stream=codec_name,profile,sample_rate,channels,time_base,duration_ts,duration,nb_frames:\
         format=format_name,duration:{}:packet=pts,duration",
        meeting_domain::recorded_at::ffprobe_entries()
    );
    [
        "-v",
        "error",
        "-hide_banner",
        "-f",
        "mov",
        "-format_whitelist",
        MP4_DEMUXER,
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-codec_whitelist:a",
        CHUNK_DECODERS,
        "-select_streams",
        "a:0",
        "-show_entries",
        &entries,
        "-read_intervals",
        "%+#1",
        "-of",
        "json",
    ]
    .into_iter()
    .map(OsString::from)
    .chain(std::iter::once(input))
    .collect()
}

/// The audio stream of a chunk, as far as the join needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioStream {
    /// Codec (`aac`).
    pub codec: String,
    /// Codec profile (`LC`), when reported.
    pub profile: Option<String>,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u32,
    /// Time base as (numerator, denominator).
    pub time_base: (i64, i64),
    /// Presented duration in time-base units (after the edit list), when known.
    pub duration_ts: Option<i64>,
    /// Presented duration, seconds.
    pub duration_seconds: f64,
    /// Number of packets (frames).
    pub packets: Option<i64>,
    /// Timestamp of the first packet (negative: encoder priming trimmed by the edit list).
    pub first_pts: Option<i64>,
    /// Duration of the first packet, time-base units (the codec's frame size).
    pub frame_duration: Option<i64>,
}

impl AudioStream {
    /// Whether two chunks' audio can be stream-copied into one track and decoded by one decoder.
    pub fn joinable_with(&self, other: &Self) -> bool {
        self.codec == other.codec
            && self.profile == other.profile
            && self.sample_rate == other.sample_rate
            && self.channels == other.channels
    }

    /// How long this chunk's audio lasts when decoded through the concat demuxer.
    ///
    /// The edit list trims the encoder's priming at the start (the decoder skips it) but FFmpeg's
    /// concat path decodes the last frame whole, so a chunk decodes to `packets × frame size −
    /// priming` samples, slightly more than its presented duration (for AAC up to one 1024-sample
    /// frame, 5.3 ms for 2 s at 48 kHz). Offsets built from these lengths stay aligned with the
    /// joined audio however many chunks there are. Falls back to the presented duration when
    /// ffprobe did not report the packet numbers, when they overflow, or when they describe more
    /// than [`MAX_PADDING_FRAMES`] frames of padding (then they do not describe this decode, and
    /// trimming by them would cut real audio).
    pub fn decoded_seconds(&self) -> f64 {
        self.padded_seconds().unwrap_or(self.duration_seconds)
    }

    /// [`Self::decoded_seconds`] from the packet numbers, when they are usable.
    fn padded_seconds(&self) -> Option<f64> {
        let (num, den) = self.time_base;
        let (packets, frame, first) = (self.packets?, self.frame_duration?, self.first_pts?);
        if packets <= 0 || frame <= 0 || num <= 0 || den <= 0 {
            return None;
        }
        let priming = first.checked_neg()?.max(0);
        let decoded = packets.checked_mul(frame)?.checked_sub(priming)?;
        let presented = self.duration_ts.unwrap_or(0);
        let units = decoded.max(presented);
        let seconds_per_unit = num as f64 / den as f64;
        let seconds = units as f64 * seconds_per_unit;
        let most_padding = (MAX_PADDING_FRAMES as f64) * (frame as f64) * seconds_per_unit;
        (seconds.is_finite() && seconds - self.duration_seconds <= most_padding).then_some(seconds)
    }
}

/// What ffprobe told us about a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkProbe {
    /// Container duration, seconds (the span the concat demuxer gives the chunk).
    pub format_duration: Option<f64>,
    /// When the container says it was recorded ([`meeting_domain::recorded_at`]), if plausible.
    pub created_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The first audio stream, if any.
    pub audio: Option<AudioStream>,
}

#[derive(Deserialize)]
struct ProbeJson {
    #[serde(default)]
    streams: Vec<StreamJson>,
    #[serde(default)]
    packets: Vec<PacketJson>,
    format: Option<FormatJson>,
}

#[derive(Deserialize)]
struct StreamJson {
    codec_name: Option<String>,
    profile: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    time_base: Option<String>,
    duration_ts: Option<i64>,
    duration: Option<String>,
    nb_frames: Option<String>,
}

#[derive(Deserialize)]
struct PacketJson {
    pts: Option<i64>,
    duration: Option<i64>,
}

#[derive(Deserialize)]
struct FormatJson {
    format_name: Option<String>,
    duration: Option<String>,
    /// Only the tags of [`meeting_domain::recorded_at::TAGS`] are asked for.
    #[serde(default)]
    tags: Option<std::collections::BTreeMap<String, String>>,
}

fn parse_time_base(text: &str) -> Option<(i64, i64)> {
    let (num, den) = text.split_once('/')?;
    Some((num.parse().ok()?, den.parse().ok()?))
}

/// The codec an FFmpeg with a codec whitelist refused to open, from its stderr
/// ("[opus @ 0x…] Codec (opus) not on whitelist 'aac'", libavcodec's wording since 2015).
pub fn codec_refused(stderr: &str) -> Option<String> {
    let after = stderr.split("Codec (").nth(1)?;
    let (codec, rest) = after.split_once(')')?;
    (rest.starts_with(" not on whitelist") && !codec.is_empty()).then(|| codec.to_owned())
}

/// A declared duration, seconds: finite, not negative, at most [`MAX_CHUNK_SECONDS`].
fn checked_duration(what: &str, text: &str) -> Result<f64, ProbeError> {
    let seconds = text
        .parse::<f64>()
        .map_err(|_| ProbeError::Invalid(format!("{what} has no valid duration ({text:?})")))?;
    if seconds.is_finite() && (0.0..=MAX_CHUNK_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(ProbeError::Invalid(format!(
            "{what} declares a duration of {text} s; a chunk may last at most \
             {MAX_CHUNK_SECONDS} s"
        )))
    }
}

/// Parses ffprobe's JSON for one chunk and checks every declared number the join uses.
///
/// # Errors
/// [`ProbeError::UnsupportedCodec`] for audio that is not AAC; [`ProbeError::Invalid`] when the
/// container is not MP4, the audio stream has no readable packet, or a sample rate, channel
/// count, time base or duration is missing or out of range (each named with its value).
pub fn parse_probe(json: &[u8]) -> Result<ChunkProbe, ProbeError> {
    let invalid = ProbeError::Invalid;
    let parsed: ProbeJson = serde_json::from_slice(json)
        .map_err(|e| invalid(format!("ffprobe printed unreadable JSON: {e}")))?;
    let format = parsed
        .format
        .ok_or_else(|| invalid("ffprobe reported no container format".to_owned()))?;
    if format.format_name.as_deref() != Some(MP4_DEMUXER) {
        return Err(invalid(format!(
            "opened as {:?}, not as MP4",
            format.format_name.unwrap_or_default()
        )));
    }
    // ffprobe prints "N/A" for an unknown duration: that stays unknown, anything else is checked.
    let format_duration = match format.duration.as_deref() {
        None | Some("N/A") => None,
        Some(text) => Some(checked_duration("the container", text)?),
    };
    let first_packet = parsed.packets.first();
    let audio = match parsed.streams.into_iter().next() {
        None => None,
        Some(stream) => {
            let codec = stream.codec_name.unwrap_or_else(|| "unknown".to_owned());
            if codec != AUDIO_CODEC {
                return Err(ProbeError::UnsupportedCodec { codec });
            }
            let rate_text = stream.sample_rate.unwrap_or_default();
            let sample_rate = rate_text
                .parse::<u64>()
                .ok()
                .filter(|rate| SAMPLE_RATES_HZ.contains(rate))
                .and_then(|rate| u32::try_from(rate).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "the audio stream declares a sample rate of {rate_text:?} Hz; AAC allows \
                         {} to {} Hz",
                        SAMPLE_RATES_HZ.start(),
                        SAMPLE_RATES_HZ.end()
                    ))
                })?;
            let channels = stream
                .channels
                .filter(|c| CHANNELS.contains(c))
                .ok_or_else(|| {
                    invalid(format!(
                        "the audio stream declares {} channels; a chunk may have {} to {}",
                        stream
                            .channels
                            .map_or_else(|| "no".to_owned(), |c| c.to_string()),
                        CHANNELS.start(),
                        CHANNELS.end()
                    ))
                })?;
            let time_base = stream
                .time_base
                .as_deref()
                .and_then(parse_time_base)
                .filter(|(n, d)| *n > 0 && *d > 0)
                .ok_or_else(|| invalid("the audio stream has no valid time base".to_owned()))?;
            let duration_seconds = stream
                .duration
                .as_deref()
                .map(|text| checked_duration("the audio stream", text))
                .transpose()?
                .filter(|d| *d > 0.0)
                .ok_or_else(|| invalid("the audio stream has no duration".to_owned()))?;
            let first_packet = first_packet.ok_or_else(|| {
                invalid(
                    "ffprobe read no audio packet from it: its sample tables are corrupt or \
                     larger than its memory limit allows"
                        .to_owned(),
                )
            })?;
            Some(AudioStream {
                codec,
                profile: stream.profile,
                sample_rate,
                channels,
                time_base,
                duration_ts: stream.duration_ts,
                duration_seconds,
                packets: stream.nb_frames.and_then(|n| n.parse().ok()),
                first_pts: first_packet.pts,
                frame_duration: first_packet.duration,
            })
        }
    };
    let created_at = format.tags.as_ref().and_then(|tags| {
        meeting_domain::recorded_at::from_tags(|name| tags.get(name).map(String::as_str))
    });
    Ok(ChunkProbe {
        format_duration,
        created_at,
        audio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAC_CHUNK: &str = r#"{
        "packets": [{"pts": -1024, "duration": 1024}],
        "streams": [{"codec_name": "aac", "profile": "LC", "sample_rate": "48000",
                     "channels": 1, "time_base": "1/48000", "duration_ts": 96000,
                     "duration": "2.000000", "nb_frames": "95"}],
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "2.000000"}
    }"#;

    #[test]
    fn an_aac_chunk_decodes_to_whole_frames_minus_the_priming() {
        let probe = parse_probe(AAC_CHUNK.as_bytes()).expect("parses");
        let audio = probe.audio.expect("audio");
        // 95 frames × 1024 − 1024 priming = 96,256 samples at 48 kHz.
        assert!((audio.decoded_seconds() - 96_256.0 / 48_000.0).abs() < 1e-9);
        assert_eq!(probe.format_duration, Some(2.0));
    }

    #[test]
    fn the_creation_time_tag_is_when_the_recording_started_if_plausible() {
        let tagged = |tag: &str| {
            let json = AAC_CHUNK.replace(
                r#""duration": "2.000000"}"#,
                &format!(r#""duration": "2.000000", "tags": {{"creation_time": "{tag}"}}}}"#),
            );
            parse_probe(json.as_bytes()).expect("parses").created_at
        };
        assert_eq!(
            tagged("2026-03-10T10:00:00.000000Z").map(|t| t.to_rfc3339()),
            Some("2026-03-10T10:00:00+00:00".to_owned())
        );
        // The offset-keeping `date` tag wins over UTC `creation_time`.
        let json = AAC_CHUNK.replace(
            r#""duration": "2.000000"}"#,
            r#""duration": "2.000000", "tags": {"creation_time": "2026-03-09T23:30:00.000000Z", "date": "2026-03-10T00:30:00+01:00"}}"#,
        );
        assert_eq!(
            parse_probe(json.as_bytes())
                .expect("parses")
                .created_at
                .map(|t| t.to_rfc3339()),
            Some("2026-03-10T00:30:00+01:00".to_owned())
        );
        // A zeroed MP4 header (1904 or 1970), nonsense, or no tag at all: unknown, not an error.
        assert_eq!(tagged("1904-01-01T00:00:00.000000Z"), None);
        assert_eq!(tagged("1970-01-01T00:00:00.000000Z"), None);
        assert_eq!(tagged("9999-12-31T23:59:59Z"), None);
        assert_eq!(tagged("yesterday"), None);
        assert_eq!(
            parse_probe(AAC_CHUNK.as_bytes())
                .expect("parses")
                .created_at,
            None
        );
    }

    #[test]
    fn without_packet_numbers_the_presented_duration_is_used() {
        let json = AAC_CHUNK.replace(r#""nb_frames": "95""#, r#""nb_frames": null"#);
        let audio = parse_probe(json.as_bytes())
            .expect("parses")
            .audio
            .expect("audio");
        assert!((audio.decoded_seconds() - 2.0).abs() < 1e-9);
    }

    /// [`AAC_CHUNK`] with `from` replaced by `to` (which must occur).
    fn chunk_with(from: &str, to: &str) -> String {
        assert!(AAC_CHUNK.contains(from), "{from} is not in the fixture");
        AAC_CHUNK.replace(from, to)
    }

    fn rejection(json: &str) -> String {
        match parse_probe(json.as_bytes()) {
            Err(ProbeError::Invalid(reason)) => reason,
            other => panic!("expected an invalid chunk, got {other:?}"),
        }
    }

    #[test]
    fn a_huge_sample_rate_is_refused_with_its_value_and_the_aac_range() {
        // 2^24 − 1: the largest rate an AAC AudioSpecificConfig can spell out explicitly.
        let reason = rejection(&chunk_with(r#""48000""#, r#""16777215""#));
        assert_eq!(
            reason,
            "the audio stream declares a sample rate of \"16777215\" Hz; AAC allows 7350 to \
             96000 Hz"
        );
        // Beyond any integer type: still a refusal, not a parse panic or a wrap.
        let reason = rejection(&chunk_with(r#""48000""#, r#""99999999999999999999999""#));
        assert!(reason.contains("99999999999999999999999"), "{reason}");
    }

    #[test]
    fn a_channel_count_of_zero_or_beyond_eight_is_refused() {
        for channels in ["0", "64", "4294967295"] {
            let reason = rejection(&chunk_with(
                r#""channels": 1"#,
                &format!(r#""channels": {channels}"#),
            ));
            assert_eq!(
                reason,
                format!("the audio stream declares {channels} channels; a chunk may have 1 to 8")
            );
        }
    }

    #[test]
    fn a_huge_declared_duration_is_refused_for_the_stream_and_for_the_container() {
        // The audio stream of an MP4 whose mdhd time scale was patched to 1: 97,024 "seconds".
        let stream = chunk_with(
            r#""duration": "2.000000", "nb"#,
            r#""duration": "97024.000000", "nb"#,
        );
        assert_eq!(
            rejection(&stream),
            "the audio stream declares a duration of 97024.000000 s; a chunk may last at most \
             86400 s"
        );
        // A container whose mvhd duration is 0xFFFFFFFF at 1 kHz.
        let container = chunk_with(
            r#""duration": "2.000000"}"#,
            r#""duration": "4294967.295000"}"#,
        );
        assert!(
            rejection(&container)
                .starts_with("the container declares a duration of 4294967.295000 s"),
            "{}",
            rejection(&container)
        );
        // Not a number FFmpeg would print for a real file, but parseable by Rust: refused too.
        let infinite = chunk_with(r#""duration": "2.000000"}"#, r#""duration": "inf"}"#);
        assert!(rejection(&infinite).contains("declares a duration of inf s"));
    }

    #[test]
    fn packet_numbers_that_overflow_fall_back_to_the_presented_duration_without_panicking() {
        // GIVEN 2^63 − 1 packets of 1024 samples (the product does not fit in 64 bits)
        let json = chunk_with(
            r#""nb_frames": "95""#,
            r#""nb_frames": "9223372036854775807""#,
        );
        let audio = parse_probe(json.as_bytes())
            .expect("the declared numbers are in range")
            .audio
            .expect("audio");
        // WHEN its decoded length is computed, THEN it is the presented 2 s
        assert!((audio.decoded_seconds() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn packet_numbers_describing_more_than_two_frames_of_padding_are_not_trusted() {
        // GIVEN 4 billion packets (22 hours at 48 kHz) in a 2 s chunk: trimming by them would cut
        // every later chunk out of the joined audio
        let json = chunk_with(r#""nb_frames": "95""#, r#""nb_frames": "4000000000""#);
        let audio = parse_probe(json.as_bytes())
            .expect("parses")
            .audio
            .expect("audio");
        assert!((audio.decoded_seconds() - 2.0).abs() < 1e-9);
        // AND a time base of whole seconds (mdhd time scale 1): 1024 "seconds" per packet
        let coarse = chunk_with(
            r#""time_base": "1/48000", "duration_ts": 96000"#,
            r#""time_base": "1/1", "duration_ts": 2"#,
        );
        let audio = parse_probe(coarse.as_bytes())
            .expect("parses")
            .audio
            .expect("audio");
        assert!((audio.decoded_seconds() - 2.0).abs() < 1e-9);
        // AND two frames of padding are still trimmed (an encoder that flushes one more)
        let two = chunk_with(r#""nb_frames": "95""#, r#""nb_frames": "96""#);
        let audio = parse_probe(two.as_bytes())
            .expect("parses")
            .audio
            .expect("audio");
        assert!((audio.decoded_seconds() - 97_280.0 / 48_000.0).abs() < 1e-9);
    }

    #[test]
    fn audio_that_is_not_aac_is_an_unsupported_codec() {
        let json = chunk_with(
            r#""codec_name": "aac", "profile": "LC""#,
            r#""codec_name": "opus""#,
        );
        assert_eq!(
            parse_probe(json.as_bytes()),
            Err(ProbeError::UnsupportedCodec {
                codec: "opus".to_owned()
            })
        );
    }

    #[test]
    fn an_audio_stream_without_a_readable_packet_is_refused() {
        let json = chunk_with(
            r#""packets": [{"pts": -1024, "duration": 1024}]"#,
            r#""packets": []"#,
        );
        assert!(rejection(&json).starts_with("ffprobe read no audio packet from it"));
    }

    #[test]
    fn the_codec_a_whitelist_refused_is_read_from_ffmpeg_stderr() {
        let stderr = "[opus @ 0x55b2be50b0c0] Codec (opus) not on whitelist 'aac'\n\
                      [opus @ 0x55b2be50b0c0] Codec (opus) not on whitelist 'aac'";
        assert_eq!(codec_refused(stderr).as_deref(), Some("opus"));
        assert_eq!(
            codec_refused("Codec (adpcm_ima_qt) not on whitelist 'aac'").as_deref(),
            Some("adpcm_ima_qt")
        );
        assert_eq!(codec_refused("moov atom not found"), None);
        assert_eq!(codec_refused("Codec (x) is fine"), None);
    }

    #[test]
    fn a_chunk_without_streams_has_no_audio() {
        let json = r#"{"streams": [], "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2"}}"#;
        assert_eq!(parse_probe(json.as_bytes()).expect("parses").audio, None);
    }

    #[test]
    fn another_demuxer_is_rejected() {
        let json = r#"{"streams": [], "format": {"format_name": "hls"}}"#;
        assert!(matches!(
            parse_probe(json.as_bytes()),
            Err(ProbeError::Invalid(_))
        ));
    }

    #[test]
    fn different_sample_rates_are_not_joinable() {
        let a = parse_probe(AAC_CHUNK.as_bytes())
            .expect("parses")
            .audio
            .expect("audio");
        let mut b = a.clone();
        b.sample_rate = 44_100;
        assert!(a.joinable_with(&a.clone()));
        assert!(!a.joinable_with(&b));
    }

    #[tokio::test]
    async fn magic_bytes_reject_empty_files_and_playlists_and_accept_ftyp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.mp4");
        std::fs::write(&empty, b"").expect("write");
        let playlist = dir.path().join("list.mp4");
        std::fs::write(&playlist, b"#EXTM3U\n#EXTINF:10,\nhttp://x/a.ts\n").expect("write");
        let mp4 = dir.path().join("ok.mp4");
        std::fs::write(&mp4, b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00").expect("write");
        assert!(
            check_magic(&empty)
                .await
                .expect_err("empty")
                .contains("empty")
        );
        assert!(
            check_magic(&playlist)
                .await
                .expect_err("hls")
                .contains("#EXTM3U")
        );
        assert!(check_magic(&mp4).await.is_ok());
    }

    /// Which ffprobe runs.
    mod locate {
        use std::collections::HashMap;

        use super::*;

        fn locate(vars: &[(&str, &str)], cache: &Path) -> PathBuf {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            locate_ffprobe(|name| vars.get(name).cloned(), cache)
        }

        fn cache_with_minimal_build() -> tempfile::TempDir {
            let cache = tempfile::tempdir().expect("temp dir");
            let path = cache.path().join(MINIMAL_FFPROBE);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("tools dir");
            std::fs::write(&path, b"#!/bin/sh\n").expect("stand-in binary");
            cache
        }

        #[test]
        fn given_ffprobe_path_when_located_then_it_wins_over_the_cache() {
            let cache = cache_with_minimal_build();
            assert_eq!(
                locate(&[("FFPROBE_PATH", "/opt/ffprobe")], cache.path()),
                PathBuf::from("/opt/ffprobe")
            );
        }

        #[test]
        fn given_the_minimal_build_in_the_cache_when_located_then_it_is_used() {
            let cache = cache_with_minimal_build();
            assert_eq!(
                locate(&[], cache.path()),
                cache.path().join(MINIMAL_FFPROBE)
            );
            let other = tempfile::tempdir().expect("temp dir");
            assert_eq!(
                locate(
                    &[("MEETING_RECORDER_CACHE", &cache.path().to_string_lossy())],
                    other.path()
                ),
                cache.path().join(MINIMAL_FFPROBE)
            );
        }

        #[test]
        fn given_no_minimal_build_when_located_then_the_path_ffprobe_is_used() {
            let empty = tempfile::tempdir().expect("temp dir");
            assert_eq!(locate(&[], empty.path()), PathBuf::from("ffprobe"));
        }
    }
}
