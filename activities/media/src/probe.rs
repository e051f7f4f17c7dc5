//! Validating one chunk before FFmpeg is allowed to join it: a magic-byte check (an MP4 starts
//! with a box whose type, at offset 4, is `ftyp`), then `ffprobe` with the MP4 demuxer forced and
//! format and protocol whitelists, so a playlist or any other container renamed `.mp4` is never
//! opened by the demuxer its content would select (FFmpeg sniffs content, not extensions).
//!
//! The probe also reads what the join needs: the audio stream's codec and format, and the numbers
//! that give the chunk's exact length once decoded through the concat demuxer
//! ([`AudioStream::decoded_seconds`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokio::io::AsyncReadExt;

/// The MP4/QuickTime demuxer's name in FFmpeg: the only format a chunk may be opened with.
pub const MP4_DEMUXER: &str = "mov,mp4,m4a,3gp,3g2,mj2";

/// Only the local file protocol: no `http`, `tcp`, `hls`, `crypto`, `data`, `concat`, … so a
/// hostile reference inside a file can never reach the network or another file.
pub const PROTOCOL_WHITELIST: &str = "file";

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
pub fn probe_args(path: &Path) -> Vec<OsString> {
    let mut input = OsString::from("file:");
    input.push(path.as_os_str());
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
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=codec_name,profile,sample_rate,channels,time_base,duration_ts,duration,nb_frames:\
         format=format_name,duration:packet=pts,duration",
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
    /// joined audio however many chunks there are; falls back to the presented duration when
    /// ffprobe did not report the packet numbers.
    pub fn decoded_seconds(&self) -> f64 {
        let (num, den) = self.time_base;
        match (self.packets, self.frame_duration, self.first_pts) {
            (Some(packets), Some(frame), Some(first)) if packets > 0 && frame > 0 && den > 0 => {
                let priming = (-first).max(0);
                let decoded = packets * frame - priming;
                let presented = self.duration_ts.unwrap_or(0);
                let units = decoded.max(presented);
                units as f64 * num as f64 / den as f64
            }
            _ => self.duration_seconds,
        }
    }
}

/// What ffprobe told us about a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkProbe {
    /// Container duration, seconds (the span the concat demuxer gives the chunk).
    pub format_duration: Option<f64>,
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
}

fn parse_time_base(text: &str) -> Option<(i64, i64)> {
    let (num, den) = text.split_once('/')?;
    Some((num.parse().ok()?, den.parse().ok()?))
}

/// Parses ffprobe's JSON for one chunk.
pub fn parse_probe(json: &[u8]) -> Result<ChunkProbe, String> {
    let parsed: ProbeJson = serde_json::from_slice(json)
        .map_err(|e| format!("ffprobe printed unreadable JSON: {e}"))?;
    let format = parsed
        .format
        .ok_or_else(|| "ffprobe reported no container format".to_owned())?;
    if format.format_name.as_deref() != Some(MP4_DEMUXER) {
        return Err(format!(
            "opened as {:?}, not as MP4",
            format.format_name.unwrap_or_default()
        ));
    }
    let format_duration = format.duration.and_then(|d| d.parse().ok());
    let first_packet = parsed.packets.first();
    let audio = match parsed.streams.into_iter().next() {
        None => None,
        Some(stream) => {
            let sample_rate = stream
                .sample_rate
                .as_deref()
                .and_then(|r| r.parse().ok())
                .filter(|r| *r > 0)
                .ok_or_else(|| "the audio stream has no sample rate".to_owned())?;
            let time_base = stream
                .time_base
                .as_deref()
                .and_then(parse_time_base)
                .filter(|(n, d)| *n > 0 && *d > 0)
                .ok_or_else(|| "the audio stream has no valid time base".to_owned())?;
            let duration_seconds = stream
                .duration
                .as_deref()
                .and_then(|d| d.parse::<f64>().ok())
                .filter(|d| d.is_finite() && *d > 0.0)
                .ok_or_else(|| "the audio stream has no duration".to_owned())?;
            Some(AudioStream {
                codec: stream.codec_name.unwrap_or_default(),
                profile: stream.profile,
                sample_rate,
                channels: stream.channels.unwrap_or(0),
                time_base,
                duration_ts: stream.duration_ts,
                duration_seconds,
                packets: stream.nb_frames.and_then(|n| n.parse().ok()),
                first_pts: first_packet.and_then(|p| p.pts),
                frame_duration: first_packet.and_then(|p| p.duration),
            })
        }
    };
    Ok(ChunkProbe {
        format_duration,
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
    fn without_packet_numbers_the_presented_duration_is_used() {
        let json = AAC_CHUNK.replace(r#""nb_frames": "95""#, r#""nb_frames": null"#);
        let audio = parse_probe(json.as_bytes())
            .expect("parses")
            .audio
            .expect("audio");
        assert!((audio.decoded_seconds() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_chunk_without_streams_has_no_audio() {
        let json = r#"{"streams": [], "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2"}}"#;
        assert_eq!(parse_probe(json.as_bytes()).expect("parses").audio, None);
    }

    #[test]
    fn another_demuxer_is_rejected() {
        let json = r#"{"streams": [], "format": {"format_name": "hls"}}"#;
        assert!(parse_probe(json.as_bytes()).is_err());
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
