//! Media generated at test time, as a recorder would produce it: speech rendered by `espeak-ng`
//! (byte-identical run to run, so transcripts are deterministic), cut into pieces, and each piece
//! encoded on its own into an MP4 with H.264 video (a tiny lavfi colour frame) and AAC audio. Also
//! the hostile fixtures the media stage must reject: corrupt bytes behind a valid `ftyp` box, a
//! zero-byte file, an HLS playlist renamed `.mp4`, audio in a codec other than AAC, and valid
//! AAC files whose header fields were patched to lie (a huge duration, a sample-table bomb).
//!
//! Everything is written into a directory the caller owns (usually a `tempfile::TempDir`). The
//! helpers are synchronous and panic with a message naming `scripts/setup.sh apt` when `ffmpeg`,
//! `ffprobe`, `espeak-ng` or `sox` is missing: tests that need them fail, never skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Sample rate of `espeak-ng`'s WAV output.
pub const ESPEAK_SAMPLE_RATE: u32 = 22_050;

/// Silence between two lines of a script, seconds.
const LINE_GAP_SECONDS: f64 = 0.35;

/// One line of a scripted meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// `espeak-ng` voice (`en-us`, `en-us+f3`).
    pub voice: &'static str,
    /// `espeak-ng` pitch, 0–99.
    pub pitch: u8,
    /// What is said.
    pub text: &'static str,
}

/// The first speaker of [`MEETING_SCRIPT`].
pub const SPEAKER_A: (&str, u8) = ("en-us", 35);
/// The second speaker of [`MEETING_SCRIPT`].
pub const SPEAKER_B: (&str, u8) = ("en-us+f3", 70);

/// A short two-voice meeting with decisions and action items (about 40 s of speech).
pub const MEETING_SCRIPT: &[Line] = &[
    Line {
        voice: SPEAKER_A.0,
        pitch: SPEAKER_A.1,
        text: "Good morning everyone. Let's review the budget for the next quarter.",
    },
    Line {
        voice: SPEAKER_B.0,
        pitch: SPEAKER_B.1,
        text: "Thanks. The marketing costs went up, but the travel costs went down.",
    },
    Line {
        voice: SPEAKER_A.0,
        pitch: SPEAKER_A.1,
        text: "Alice will send the budget by Friday.",
    },
    Line {
        voice: SPEAKER_B.0,
        pitch: SPEAKER_B.1,
        text: "We decided to ship the new release on Monday.",
    },
    Line {
        voice: SPEAKER_A.0,
        pitch: SPEAKER_A.1,
        text: "Bob needs to update the documentation before the release.",
    },
    Line {
        voice: SPEAKER_B.0,
        pitch: SPEAKER_B.1,
        text: "Great. That is everything for today. See you next week.",
    },
];

/// How one chunk's audio is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSpec {
    /// AAC sample rate, Hz.
    pub sample_rate: u32,
    /// Audio channels (1 or 2).
    pub channels: u8,
}

impl Default for ChunkSpec {
    fn default() -> Self {
        Self {
            sample_rate: 48_000,
            channels: 1,
        }
    }
}

fn missing_tool(tool: &str, error: &std::io::Error) -> ! {
    panic!(
        "`{tool}` could not be run ({error}); install the media tools with `scripts/setup.sh apt`"
    )
}

/// Runs a tool and panics with its stderr when it fails.
fn run(tool: &str, args: &[String]) -> Output {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| missing_tool(tool, &e));
    assert!(
        output.status.success(),
        "`{tool} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn s(value: &(impl ToString + ?Sized)) -> String {
    value.to_string()
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Renders `text` with `espeak-ng` into `dir/{name}.wav` (22.05 kHz mono, 16-bit).
pub fn render_speech(dir: &Path, name: &str, text: &str, voice: &str, pitch: u8) -> PathBuf {
    let out = dir.join(format!("{name}.wav"));
    run(
        "espeak-ng",
        &[
            s(&"-v"),
            s(&voice),
            s(&"-p"),
            s(&pitch),
            s(&"-w"),
            path_arg(&out),
            s(&text),
        ],
    );
    out
}

/// Renders every line of `script` and joins them with short pauses into `dir/script.wav`.
pub fn render_script(dir: &Path, script: &[Line]) -> PathBuf {
    assert!(!script.is_empty(), "a script needs at least one line");
    let gap = dir.join("gap.wav");
    run(
        "sox",
        &[
            s(&"-n"),
            s(&"-r"),
            s(&ESPEAK_SAMPLE_RATE),
            s(&"-c"),
            s(&1),
            s(&"-b"),
            s(&16),
            path_arg(&gap),
            s(&"trim"),
            s(&0),
            s(&LINE_GAP_SECONDS),
        ],
    );
    let mut parts = Vec::new();
    for (i, line) in script.iter().enumerate() {
        if i > 0 {
            parts.push(path_arg(&gap));
        }
        let wav = render_speech(
            dir,
            &format!("line_{i:03}"),
            line.text,
            line.voice,
            line.pitch,
        );
        parts.push(path_arg(&wav));
    }
    let out = dir.join("script.wav");
    parts.push(path_arg(&out));
    run("sox", &parts);
    out
}

/// Duration of the first audio stream of `path`, seconds (ffprobe).
pub fn audio_duration(path: &Path) -> f64 {
    let output = run(
        "ffprobe",
        &[
            s(&"-v"),
            s(&"error"),
            s(&"-select_streams"),
            s(&"a:0"),
            s(&"-show_entries"),
            s(&"stream=duration"),
            s(&"-of"),
            s(&"default=noprint_wrappers=1:nokey=1"),
            path_arg(path),
        ],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("ffprobe printed no audio duration for {path:?} ({e}): {text}"))
}

/// Sample rate and channel count of the first audio stream of `path` (ffprobe).
pub fn audio_format(path: &Path) -> (u32, u8) {
    let output = run(
        "ffprobe",
        &[
            s(&"-v"),
            s(&"error"),
            s(&"-select_streams"),
            s(&"a:0"),
            s(&"-show_entries"),
            s(&"stream=sample_rate,channels"),
            s(&"-of"),
            s(&"default=noprint_wrappers=1:nokey=1"),
            path_arg(path),
        ],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace();
    let rate = fields.next().and_then(|v| v.parse().ok());
    let channels = fields.next().and_then(|v| v.parse().ok());
    match (rate, channels) {
        (Some(rate), Some(channels)) => (rate, channels),
        _ => panic!("ffprobe printed no audio format for {path:?}: {text}"),
    }
}

/// Common encoder flags: small H.264 video and AAC audio, bit-exact and single-threaded so the
/// same input gives the same bytes.
fn encode_args(spec: ChunkSpec, seconds: f64, out: &Path) -> Vec<String> {
    vec![
        s(&"-map"),
        s(&"0:v"),
        s(&"-map"),
        s(&"1:a"),
        s(&"-c:v"),
        s(&"libx264"),
        s(&"-preset"),
        s(&"ultrafast"),
        s(&"-pix_fmt"),
        s(&"yuv420p"),
        s(&"-threads"),
        s(&1),
        s(&"-c:a"),
        s(&"aac"),
        s(&"-b:a"),
        s(&"48k"),
        s(&"-ar"),
        s(&spec.sample_rate),
        s(&"-ac"),
        s(&spec.channels),
        s(&"-t"),
        format!("{seconds:.3}"),
        s(&"-fflags"),
        s(&"+bitexact"),
        s(&"-flags:v"),
        s(&"+bitexact"),
        s(&"-flags:a"),
        s(&"+bitexact"),
        s(&"-f"),
        s(&"mp4"),
        path_arg(out),
    ]
}

/// The lavfi input of a tiny video: a 64×64 colour frame at 5 fps for `seconds`.
fn video_input(seconds: f64) -> Vec<String> {
    vec![
        s(&"-f"),
        s(&"lavfi"),
        s(&"-i"),
        format!("color=c=0x204060:s=64x64:r=5:d={seconds:.3}"),
    ]
}

/// Encodes `seconds` of `audio` starting at `start` into the MP4 `out`, on its own, as a recorder
/// writes one chunk: H.264 + AAC, moov at the end.
pub fn encode_chunk(audio: &Path, start: f64, seconds: f64, spec: ChunkSpec, out: &Path) {
    let mut args = vec![s(&"-nostdin"), s(&"-v"), s(&"error"), s(&"-y")];
    args.extend(video_input(seconds));
    args.extend([
        s(&"-ss"),
        format!("{start:.3}"),
        s(&"-t"),
        format!("{seconds:.3}"),
        s(&"-i"),
        path_arg(audio),
    ]);
    args.extend(encode_args(spec, seconds, out));
    run("ffmpeg", &args);
}

/// Renders `script` and cuts it into chunks of `chunk_seconds` (the last one shorter), each encoded
/// with the next spec of `specs` (cycling), named `chunk_000.mp4`, `chunk_001.mp4`, … in `dir`.
pub fn make_recording_with(
    dir: &Path,
    script: &[Line],
    chunk_seconds: f64,
    specs: &[ChunkSpec],
) -> Vec<PathBuf> {
    assert!(chunk_seconds > 0.0, "chunk_seconds must be positive");
    assert!(!specs.is_empty(), "at least one chunk spec is needed");
    let speech = render_script(dir, script);
    let total = audio_duration(&speech);
    let mut chunks = Vec::new();
    let mut start = 0.0;
    let mut index = 0;
    // Ignore a tail shorter than 0.2 s: a recorder does not upload a chunk of nothing.
    while total - start > 0.2 {
        let seconds = chunk_seconds.min(total - start);
        let out = dir.join(format!("chunk_{index:03}.mp4"));
        encode_chunk(&speech, start, seconds, specs[index % specs.len()], &out);
        chunks.push(out);
        start += seconds;
        index += 1;
    }
    chunks
}

/// [`make_recording_with`] with 48 kHz mono AAC for every chunk.
pub fn make_recording(dir: &Path, script: &[Line], chunk_seconds: f64) -> Vec<PathBuf> {
    make_recording_with(dir, script, chunk_seconds, &[ChunkSpec::default()])
}

/// `count` chunks of `chunk_seconds` of synthetic audio (a tone over pink noise, different per
/// chunk) instead of speech: fast to generate for long recordings (benchmarks).
pub fn make_tone_recording(
    dir: &Path,
    count: usize,
    chunk_seconds: f64,
    spec: ChunkSpec,
) -> Vec<PathBuf> {
    (0..count)
        .map(|index| {
            let out = dir.join(format!("chunk_{index:03}.mp4"));
            let frequency = 220 + (index % 40) * 10;
            let mut args = vec![s(&"-nostdin"), s(&"-v"), s(&"error"), s(&"-y")];
            args.extend(video_input(chunk_seconds));
            args.extend([
                s(&"-f"),
                s(&"lavfi"),
                s(&"-i"),
                format!(
                    "sine=f={frequency}:r={}:d={chunk_seconds:.3},volume=0.3[s];\
                     anoisesrc=c=pink:r={}:a=0.05:d={chunk_seconds:.3}:seed={index}[n];\
                     [s][n]amix=inputs=2",
                    spec.sample_rate, spec.sample_rate
                ),
            ]);
            args.extend(encode_args(spec, chunk_seconds, &out));
            run("ffmpeg", &args);
            out
        })
        .collect()
}

/// `count` chunks of `chunk_seconds`, each starting with a 0.25 s 1 kHz tone followed by silence,
/// encoded with the specs of `specs` in turn: every chunk's start is audible, so
/// [`tone_onsets`] of the joined audio shows where each chunk landed.
pub fn make_onset_recording(
    dir: &Path,
    count: usize,
    chunk_seconds: f64,
    specs: &[ChunkSpec],
) -> Vec<PathBuf> {
    assert!(!specs.is_empty(), "at least one chunk spec is needed");
    assert!(
        chunk_seconds > 0.5,
        "chunks must be longer than the tone and a pause"
    );
    (0..count)
        .map(|index| {
            let spec = specs[index % specs.len()];
            let out = dir.join(format!("chunk_{index:03}.mp4"));
            let mut args = vec![s(&"-nostdin"), s(&"-v"), s(&"error"), s(&"-y")];
            args.extend(video_input(chunk_seconds));
            args.extend([
                s(&"-f"),
                s(&"lavfi"),
                s(&"-i"),
                format!(
                    "sine=f=1000:r={}:d=0.25,apad=whole_dur={chunk_seconds:.3}",
                    spec.sample_rate
                ),
            ]);
            args.extend(encode_args(spec, chunk_seconds, &out));
            run("ffmpeg", &args);
            out
        })
        .collect()
}

/// Times (seconds) at which a tone starts after at least 0.2 s of silence, plus 0 when the
/// audio starts with sound: FFmpeg's `silencedetect` at -30 dB.
pub fn tone_onsets(audio: &Path) -> Vec<f64> {
    let output = run(
        "ffmpeg",
        &[
            s(&"-nostdin"),
            s(&"-hide_banner"),
            s(&"-i"),
            path_arg(audio),
            s(&"-af"),
            s(&"silencedetect=noise=-30dB:d=0.2"),
            s(&"-f"),
            s(&"null"),
            s(&"-"),
        ],
    );
    let log = String::from_utf8_lossy(&output.stderr);
    let mut onsets = Vec::new();
    let mut starts_silent = false;
    for line in log.lines() {
        if let Some(rest) = line.split("silence_start: ").nth(1)
            && rest.trim().parse::<f64>().is_ok_and(|t| t < 0.01)
        {
            starts_silent = true;
        }
        if let Some(rest) = line.split("silence_end: ").nth(1)
            && let Some(t) = rest.split_whitespace().next().and_then(|v| v.parse().ok())
        {
            onsets.push(t);
        }
    }
    // A stream that ends in silence gets a closing `silence_end` at its very end: not an onset.
    let end = audio_duration(audio);
    onsets.retain(|t| end - t > 0.01);
    if !starts_silent {
        onsets.insert(0, 0.0);
    }
    onsets
}

/// Bytes that start with a valid `ftyp` box (so a magic-byte check passes) followed by garbage:
/// only a real parse can reject it.
pub fn corrupt_chunk(dir: &Path, name: &str) -> PathBuf {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&24u32.to_be_bytes());
    bytes.extend_from_slice(b"ftypisom");
    bytes.extend_from_slice(&0x200u32.to_be_bytes());
    bytes.extend_from_slice(b"isomiso2");
    // Deterministic garbage (a linear congruential sequence).
    let mut x: u32 = 0x1234_5678;
    for _ in 0..4096 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push(x.to_be_bytes()[0]);
    }
    write(dir, name, &bytes)
}

/// An empty file.
pub fn zero_byte_chunk(dir: &Path, name: &str) -> PathBuf {
    write(dir, name, &[])
}

/// An HLS playlist named like a chunk. FFmpeg sniffs content, not extensions: without a forced
/// demuxer and whitelists it opens this with the HLS demuxer and fetches the listed URLs (here a
/// local file and an HTTP address, the classic SSRF / file-disclosure trick).
pub fn hls_playlist_chunk(dir: &Path, name: &str) -> PathBuf {
    let playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n\
                    #EXTINF:10.0,\nfile:///etc/passwd\n#EXTINF:10.0,\n\
                    http://169.254.169.254/latest/meta-data/iam/\n#EXT-X-ENDLIST\n";
    write(dir, name, playlist.as_bytes())
}

/// An MP4 with video only (no audio stream), 1 s.
pub fn video_only_chunk(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![s(&"-nostdin"), s(&"-v"), s(&"error"), s(&"-y")];
    args.extend(video_input(1.0));
    args.extend([
        s(&"-c:v"),
        s(&"libx264"),
        s(&"-preset"),
        s(&"ultrafast"),
        s(&"-pix_fmt"),
        s(&"yuv420p"),
        s(&"-f"),
        s(&"mp4"),
        path_arg(&out),
    ]);
    run("ffmpeg", &args);
    out
}

/// A 1 s chunk with H.264 video and audio encoded by FFmpeg's `audio_encoder` (`libopus`,
/// `adpcm_ima_qt`, …), muxed as `format` (`mp4`, `mov`): a valid file whose audio the join must
/// not decode.
pub fn chunk_with_audio_codec(
    dir: &Path,
    name: &str,
    audio_encoder: &str,
    format: &str,
) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![s(&"-nostdin"), s(&"-v"), s(&"error"), s(&"-y")];
    args.extend(video_input(1.0));
    args.extend([
        s(&"-f"),
        s(&"lavfi"),
        s(&"-i"),
        s(&"sine=frequency=440:sample_rate=48000:duration=1"),
        s(&"-c:v"),
        s(&"libx264"),
        s(&"-preset"),
        s(&"ultrafast"),
        s(&"-pix_fmt"),
        s(&"yuv420p"),
        s(&"-c:a"),
        s(&audio_encoder),
        s(&"-ac"),
        s(&"1"),
        s(&"-shortest"),
        s(&"-f"),
        s(&format),
        path_arg(&out),
    ]);
    run("ffmpeg", &args);
    out
}

/// A 2 s AAC `.m4a` (48 kHz mono, audio only) as FFmpeg writes it: version-0 `mvhd`, `tkhd`,
/// `elst` and `mdhd` boxes, one sample-to-chunk entry, a table of sample sizes.
fn aac_audio_file(dir: &Path, name: &str) -> Vec<u8> {
    let out = dir.join(name);
    run(
        "ffmpeg",
        &[
            s(&"-nostdin"),
            s(&"-v"),
            s(&"error"),
            s(&"-y"),
            s(&"-f"),
            s(&"lavfi"),
            s(&"-i"),
            s(&"sine=frequency=440:sample_rate=48000:duration=2"),
            s(&"-c:a"),
            s(&"aac"),
            s(&"-ac"),
            s(&"1"),
            s(&"-f"),
            s(&"mp4"),
            path_arg(&out),
        ],
    );
    std::fs::read(&out).unwrap_or_else(|e| panic!("reading {out:?}: {e}"))
}

/// Byte offset of the payload (after the 8-byte header) of the box at `path` (`moov`, `trak`,
/// `mdia`, …), first match at each level. Panics when the file has no such box.
fn box_payload(bytes: &[u8], path: &[&[u8; 4]]) -> usize {
    let (mut start, mut end) = (0, bytes.len());
    let mut payload = 0;
    for wanted in path {
        let mut at = start;
        loop {
            assert!(at + 8 <= end, "no {path:?} box");
            let size = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
            let size = usize::try_from(size).expect("fits");
            assert!(
                size >= 8 && at + size <= end,
                "a box of size {size} at {at}"
            );
            if &bytes[at + 4..at + 8] == *wanted {
                payload = at + 8;
                (start, end) = (payload, at + size);
                break;
            }
            at += size;
        }
    }
    payload
}

/// Overwrites the big-endian `u32` at `offset` bytes into the payload of the box at `path`.
fn patch_u32(bytes: &mut [u8], path: &[&[u8; 4]], offset: usize, value: u32) {
    let at = box_payload(bytes, path) + offset;
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

const TRAK: [&[u8; 4]; 2] = [b"moov", b"trak"];
const MDIA: [&[u8; 4]; 3] = [b"moov", b"trak", b"mdia"];
const STBL: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];

/// A valid 2 s AAC file whose headers declare an absurd duration: the media time scale (`mdhd`)
/// is 1 tick per second, so each 1024-sample packet "lasts" 1024 s (the audio stream declares
/// 97,024 s, 27 hours), and every duration field (`mvhd`, `tkhd`, `elst`, `mdhd`) is
/// 0xFFFFFFFF (the container declares 136 years with the movie time scale also set to 1). The
/// audio itself is untouched and decodes to 2 s.
///
/// Made by encoding a real file with FFmpeg and patching the version-0 box fields in place:
/// `mvhd` time scale at payload offset 12 and duration at 16, `tkhd` duration at 20, `elst`'s
/// first segment duration at 8, `mdhd` time scale at 12 and duration at 16.
pub fn huge_duration_chunk(dir: &Path, name: &str) -> PathBuf {
    let mut bytes = aac_audio_file(dir, &format!("{name}.source.m4a"));
    let mvhd = [b"moov", b"mvhd"];
    let tkhd = [TRAK[0], TRAK[1], b"tkhd"];
    let elst = [TRAK[0], TRAK[1], b"edts", b"elst"];
    let mdhd = [MDIA[0], MDIA[1], MDIA[2], b"mdhd"];
    patch_u32(&mut bytes, &mvhd, 12, 1);
    patch_u32(&mut bytes, &mvhd, 16, u32::MAX);
    patch_u32(&mut bytes, &tkhd, 20, u32::MAX);
    patch_u32(&mut bytes, &elst, 8, u32::MAX);
    patch_u32(&mut bytes, &mdhd, 12, 1);
    patch_u32(&mut bytes, &mdhd, 16, u32::MAX);
    write(dir, name, &bytes)
}

/// Samples [`sample_table_bomb_chunk`] declares: 2^26, whose index entries (24 bytes each in
/// FFmpeg's `AVIndexEntry`) take 1.6 GB.
pub const SAMPLE_TABLE_BOMB_SAMPLES: u32 = 1 << 26;

/// A memory bomb for FFmpeg's MP4 demuxer: a valid 2 s AAC file (≈ 18 KB) whose sample tables
/// claim [`SAMPLE_TABLE_BOMB_SAMPLES`] samples of one byte each, all in one chunk. `stsz` with a
/// constant sample size needs no per-sample table, so the claim costs the file nothing, but the
/// demuxer builds an index entry for every sample: Debian's ffprobe grows to 1.6 GB of resident
/// memory probing it.
///
/// Made by patching the version-0 boxes of a real file: `stsz` sample size (payload offset 4) to
/// 1 and sample count (8) to 2^26, and the first `stsc` entry's samples per chunk (12) to 2^26.
pub fn sample_table_bomb_chunk(dir: &Path, name: &str) -> PathBuf {
    let mut bytes = aac_audio_file(dir, &format!("{name}.source.m4a"));
    let stsz = [STBL[0], STBL[1], STBL[2], STBL[3], STBL[4], b"stsz"];
    let stsc = [STBL[0], STBL[1], STBL[2], STBL[3], STBL[4], b"stsc"];
    patch_u32(&mut bytes, &stsz, 4, 1);
    patch_u32(&mut bytes, &stsz, 8, SAMPLE_TABLE_BOMB_SAMPLES);
    patch_u32(&mut bytes, &stsc, 12, SAMPLE_TABLE_BOMB_SAMPLES);
    write(dir, name, &bytes)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let out = dir.join(name);
    std::fs::write(&out, bytes).unwrap_or_else(|e| panic!("writing {out:?}: {e}"));
    out
}
