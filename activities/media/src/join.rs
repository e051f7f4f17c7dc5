//! The FFmpeg command lines of the join: the concat list, the single invocation that writes the
//! stream-copied `recording.mp4` and decodes the ASR audio straight from the concat demuxer (an
//! intermediate MP4 loses each chunk's AAC priming trim and drifts about 27 ms per chunk, see
//! `shared/notes/offline-speech.md`), and the re-encode that makes a chunk with a different audio
//! format joinable.
//!
//! Every FFmpeg that reads chunk input runs with the same whitelists as the probe: formats (MP4,
//! plus `concat` for the join's list), protocol `file`, and decoders `aac`
//! ([`CHUNK_DECODERS`]); video is stream-copied and never decoded. Unqualified, the codec whitelist
//! reaches both the demuxer's stream-parameter probing and the decoders FFmpeg opens.

use std::ffi::OsString;
use std::path::Path;

use crate::probe::{AudioStream, CHUNK_DECODERS, MP4_DEMUXER, PROTOCOL_WHITELIST};

/// Sample rate of the speech-recognition audio: what Whisper and Transcribe work at.
pub const ASR_SAMPLE_RATE: u32 = 16_000;

/// Formats the join may open: the concat list itself and MP4 chunks (the concat demuxer hands
/// its whitelists to the chunks it opens).
fn join_format_whitelist() -> String {
    format!("concat,{MP4_DEMUXER}")
}

fn file_url(path: &Path) -> OsString {
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    url
}

fn args(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

/// The concat demuxer's list: one `file 'file:/abs/path'` line per chunk, in order, with single
/// quotes escaped the way the concat syntax wants (`'\''`).
pub fn concat_list(chunks: &[impl AsRef<Path>]) -> String {
    let mut list = String::from("ffconcat version 1.0\n");
    for chunk in chunks {
        let url = format!("file:{}", chunk.as_ref().display());
        list.push_str("file '");
        list.push_str(&url.replace('\'', r"'\''"));
        list.push_str("'\n");
    }
    list
}

/// The decoding FFmpeg: the concat demuxer reads every chunk once; output 1 is the
/// stream-copied MP4, output 2 the 16 kHz mono 16-bit PCM on stdout (see [`crate::trim`] for why
/// it goes through us before becoming FLAC).
pub fn join_args(list: &Path, recording: &Path) -> Vec<OsString> {
    let mut out = args(&[
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-v",
        "error",
        "-y",
        "-format_whitelist",
        &join_format_whitelist(),
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-codec_whitelist",
        CHUNK_DECODERS,
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
    ]);
    out.push(file_url(list));
    out.extend(args(&[
        "-map", "0:v:0?", "-map", "0:a:0", "-c", "copy", "-f", "mp4",
    ]));
    out.push(file_url(recording));
    out.extend(args(&[
        "-map",
        "0:a:0",
        "-vn",
        "-ac",
        "1",
        "-ar",
        &ASR_SAMPLE_RATE.to_string(),
        "-c:a",
        "pcm_s16le",
        // FFmpeg flushes a non-seekable output after every packet by default: 682-byte writes,
        // ~170,000 per hour of audio, each waking the reader. Buffered, it is ~3,500 32 KiB writes.
        "-flush_packets",
        "0",
        "-f",
        "s16le",
        "pipe:1",
    ]));
    out
}

/// The encoding FFmpeg: 16 kHz mono `s16le` PCM on stdin to 16-bit FLAC (without
/// `-sample_fmt s16` FFmpeg writes 24-bit FLAC, no smaller than WAV).
pub fn flac_args(audio: &Path) -> Vec<OsString> {
    let rate = ASR_SAMPLE_RATE.to_string();
    let mut out = args(&[
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-v",
        "error",
        "-y",
        "-protocol_whitelist",
        "pipe",
        "-codec_whitelist",
        "pcm_s16le",
        "-f",
        "s16le",
        "-ar",
        &rate,
        "-ac",
        "1",
        "-i",
        "pipe:0",
        "-c:a",
        "flac",
        "-sample_fmt",
        "s16",
        "-f",
        "flac",
    ]);
    out.push(file_url(audio));
    out
}

/// Re-encodes the audio of `input` to AAC-LC at `target`'s rate and channels, copying the video,
/// so a chunk recorded with another audio format can be stream-copied and decoded with the rest.
/// The audio is trimmed back to `audio_seconds` after resampling (the resampler's flush would add
/// a few milliseconds and shift every later chunk).
pub fn conform_args(
    input: &Path,
    output: &Path,
    target: &AudioStream,
    audio_seconds: f64,
) -> Vec<OsString> {
    let mut out = args(&[
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-v",
        "error",
        "-y",
        "-f",
        "mov",
        "-format_whitelist",
        MP4_DEMUXER,
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-codec_whitelist",
        CHUNK_DECODERS,
        "-i",
    ]);
    out.push(file_url(input));
    out.extend(args(&[
        "-map",
        "0:v:0?",
        "-map",
        "0:a:0",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        &target.channels.to_string(),
        "-af",
        &format!(
            "aresample={},atrim=duration={audio_seconds:.6}",
            target.sample_rate
        ),
        "-f",
        "mp4",
    ]));
    out.push(file_url(output));
    out
}

/// Arguments of the ffprobe call that measures the joined audio: exact sample count and rate.
pub fn audio_probe_args(audio: &Path) -> Vec<OsString> {
    let mut out = args(&[
        "-v",
        "error",
        "-hide_banner",
        "-f",
        "flac",
        "-format_whitelist",
        "flac",
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-codec_whitelist",
        "flac",
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=sample_rate,channels,duration_ts,duration",
        "-of",
        "json",
    ]);
    out.push(file_url(audio));
    out
}

/// The joined audio as measured by ffprobe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JoinedAudio {
    /// Duration, seconds.
    pub duration_seconds: f64,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u32,
}

/// Parses [`audio_probe_args`]' output.
pub fn parse_audio_probe(json: &[u8]) -> Result<JoinedAudio, String> {
    #[derive(serde::Deserialize)]
    struct Out {
        #[serde(default)]
        streams: Vec<Stream>,
    }
    #[derive(serde::Deserialize)]
    struct Stream {
        sample_rate: Option<String>,
        channels: Option<u32>,
        duration_ts: Option<i64>,
        duration: Option<String>,
    }
    let out: Out = serde_json::from_slice(json)
        .map_err(|e| format!("ffprobe printed unreadable JSON: {e}"))?;
    let stream = out
        .streams
        .into_iter()
        .next()
        .ok_or_else(|| "the joined audio has no audio stream".to_owned())?;
    let sample_rate: u32 = stream
        .sample_rate
        .and_then(|r| r.parse().ok())
        .filter(|r| *r > 0)
        .ok_or_else(|| "the joined audio has no sample rate".to_owned())?;
    // FLAC's STREAMINFO holds the exact sample count; the time base is 1/sample_rate.
    let duration_seconds = match stream.duration_ts {
        Some(samples) if samples >= 0 => samples as f64 / f64::from(sample_rate),
        _ => stream
            .duration
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| "the joined audio has no duration".to_owned())?,
    };
    Ok(JoinedAudio {
        duration_seconds,
        sample_rate,
        channels: stream.channels.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_concat_list_uses_file_urls_in_order_and_escapes_quotes() {
        let list = concat_list(&["/tmp/a/chunk_000.mp4", "/tmp/it's/chunk_001.mp4"]);
        assert_eq!(
            list,
            "ffconcat version 1.0\nfile 'file:/tmp/a/chunk_000.mp4'\n\
             file 'file:/tmp/it'\\''s/chunk_001.mp4'\n"
        );
    }

    #[test]
    fn the_join_whitelists_formats_and_the_file_protocol_only() {
        let args: Vec<String> = join_args(Path::new("/w/list.txt"), Path::new("/w/recording.mp4"))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let after = |flag: &str| {
            let i = args.iter().position(|a| a == flag).expect(flag);
            args[i + 1].clone()
        };
        assert_eq!(after("-protocol_whitelist"), "file");
        assert_eq!(after("-format_whitelist"), "concat,mov,mp4,m4a,3gp,3g2,mj2");
        assert_eq!(after("-codec_whitelist"), "aac");
        assert_eq!(after("-f"), "concat");
        assert_eq!(after("-ar"), "16000");
        assert!(args.contains(&"file:/w/recording.mp4".to_owned()));
        assert_eq!(args.last().map(String::as_str), Some("pipe:1"));
    }

    /// The value after `flag` in `args`.
    fn value_after(args: &[OsString], flag: &str) -> Option<String> {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).map(|v| v.to_string_lossy().into_owned())
    }

    #[test]
    fn every_command_reading_chunk_input_whitelists_formats_the_file_protocol_and_aac() {
        let target = AudioStream {
            codec: "aac".to_owned(),
            profile: Some("LC".to_owned()),
            sample_rate: 48_000,
            channels: 1,
            time_base: (1, 48_000),
            duration_ts: Some(96_000),
            duration_seconds: 2.0,
            packets: Some(95),
            first_pts: Some(-1024),
            frame_duration: Some(1024),
        };
        let (input, output) = (Path::new("/w/in.mp4"), Path::new("/w/out.mp4"));
        for (name, args, formats, codec_flag) in [
            (
                "join",
                join_args(Path::new("/w/list"), output),
                "concat,mov,mp4,m4a,3gp,3g2,mj2",
                "-codec_whitelist",
            ),
            (
                "conform",
                conform_args(input, output, &target, 2.0),
                MP4_DEMUXER,
                "-codec_whitelist",
            ),
            (
                "probe",
                crate::probe::probe_args(input),
                MP4_DEMUXER,
                "-codec_whitelist:a",
            ),
        ] {
            assert_eq!(
                value_after(&args, "-format_whitelist").as_deref(),
                Some(formats),
                "{name}"
            );
            assert_eq!(
                value_after(&args, "-protocol_whitelist").as_deref(),
                Some("file"),
                "{name}"
            );
            assert_eq!(
                value_after(&args, codec_flag).as_deref(),
                Some("aac"),
                "{name}"
            );
            // Input options come before the input they apply to.
            let flag = args.iter().position(|a| a == codec_flag).expect("flag");
            let first_input = args
                .iter()
                .position(|a| a.to_string_lossy().starts_with("file:"))
                .expect("input");
            assert!(
                flag < first_input,
                "{name}: the whitelist follows the input"
            );
        }
        // Our own intermediate files get the same treatment: PCM in, FLAC measured.
        let flac = flac_args(output);
        assert_eq!(
            value_after(&flac, "-codec_whitelist").as_deref(),
            Some("pcm_s16le")
        );
        assert_eq!(
            value_after(&flac, "-protocol_whitelist").as_deref(),
            Some("pipe")
        );
        let measure = audio_probe_args(output);
        assert_eq!(
            value_after(&measure, "-codec_whitelist").as_deref(),
            Some("flac")
        );
        assert_eq!(
            value_after(&measure, "-format_whitelist").as_deref(),
            Some("flac")
        );
    }

    #[test]
    fn the_joined_audio_duration_comes_from_the_sample_count() {
        let json = br#"{"streams": [{"sample_rate": "16000", "channels": 1,
                        "duration_ts": 128341, "duration": "8.021313"}]}"#;
        let audio = parse_audio_probe(json).expect("parses");
        assert!((audio.duration_seconds - 128_341.0 / 16_000.0).abs() < 1e-12);
        assert_eq!((audio.sample_rate, audio.channels), (16_000, 1));
    }
}
