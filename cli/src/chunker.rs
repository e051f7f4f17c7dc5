//! Turning the user's input into chunks as the desktop client uploads them: a media file is cut
//! into pieces of about ten seconds, each encoded on its own as an MP4 with AAC audio; a folder
//! of `chunk_NNN.mp4` files is taken as it is (with its `manifest.json`, when it has one).

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use tokio::process::Command;

use crate::error::CliError;

/// A tail shorter than this is not uploaded: a recorder does not write a chunk of nothing.
const MIN_TAIL_SECONDS: f64 = 0.2;

/// Chunks encoded at the same time (the reference machine has 2 cores).
const ENCODE_CONCURRENCY: usize = 2;

/// The chunks of one recording, on disk.
#[derive(Debug)]
pub struct Chunks {
    /// `(index, file)`, ordered by index.
    pub files: Vec<(u32, PathBuf)>,
    /// A manifest supplied with a folder, uploaded as is.
    pub manifest: Option<Vec<u8>>,
    /// Duration of the input, seconds, when it was a media file.
    pub duration_seconds: Option<f64>,
    /// The input had a video track, which the cut chunks do not keep.
    pub video_dropped: bool,
    /// Holds the encoded chunks of a media file until they are uploaded.
    pub(crate) _work: Option<tempfile::TempDir>,
}

fn tool_missing(tool: &str, e: &std::io::Error) -> CliError {
    CliError::Tool(format!(
        "cannot run {tool} ({e}); install it with `scripts/setup.sh apt`"
    ))
}

/// What the cutter needs to know about a media file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MediaInfo {
    /// Duration, seconds.
    pub duration: f64,
    /// When it was recorded, from its tags ([`meeting_domain::recorded_at`]).
    pub created_at: Option<DateTime<FixedOffset>>,
    /// It has a video track (cover art does not count).
    pub has_video: bool,
}

/// Duration and creation time of the audio of `path`, or why it is not usable media.
pub async fn probe_audio(path: &Path) -> Result<MediaInfo, CliError> {
    let entries = format!(
        "stream=codec_type:stream_disposition=attached_pic:format=duration:{}",
        meeting_domain::recorded_at::ffprobe_entries()
    );
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", &entries, "-of", "json"])
        .arg(path)
        .output()
        .await
        .map_err(|e| tool_missing("ffprobe", &e))?;
    let not_media = |detail: String| CliError::NotMedia {
        path: path.to_owned(),
        detail,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr.lines().last().unwrap_or("ffprobe failed").trim();
        return Err(not_media(line.to_owned()));
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| not_media(format!("unreadable ffprobe output: {e}")))?;
    let has_audio = json["streams"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s["codec_type"] == "audio"));
    if !has_audio {
        return Err(not_media("no audio stream".to_owned()));
    }
    let duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| not_media("unknown or zero duration".to_owned()))?;
    let tags = &json["format"]["tags"];
    let created_at = meeting_domain::recorded_at::from_tags(|name| tags[name].as_str());
    let has_video = json["streams"].as_array().is_some_and(|s| {
        s.iter()
            .any(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
    });
    Ok(MediaInfo {
        duration,
        created_at,
        has_video,
    })
}

/// Encodes `seconds` of the audio of `input` from `start` into the MP4 `out` (AAC, 48 kHz mono),
/// stamped with the time it was recorded, as a recorder stamps each chunk (FFmpeg does not copy
/// `creation_time` on its own).
async fn encode_chunk(
    input: &Path,
    start: f64,
    seconds: f64,
    recorded: Option<DateTime<FixedOffset>>,
    out: &Path,
) -> Result<(), CliError> {
    let stamp = recorded
        .and_then(|t| {
            let offset = chrono::Duration::milliseconds((start * 1000.0).round() as i64);
            t.checked_add_signed(offset)
        })
        .map(|t| {
            // `creation_time` is UTC in MP4; `date` (©day) keeps the offset, so the local day
            // of a meeting near midnight survives.
            [
                format!(
                    "creation_time={}",
                    t.to_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                ),
                format!(
                    "date={}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ]
        });
    let output = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-ss",
            &format!("{start:.3}"),
            "-t",
        ])
        .arg(format!("{seconds:.3}"))
        .arg("-i")
        .arg(input)
        .args([
            "-map", "0:a:0", "-vn", "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-ac", "1", "-f",
            "mp4",
        ])
        .args(
            stamp
                .iter()
                .flatten()
                .flat_map(|stamp| ["-metadata", stamp.as_str()]),
        )
        .arg(out)
        .output()
        .await
        .map_err(|e| tool_missing("ffmpeg", &e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(CliError::NotMedia {
            path: input.to_owned(),
            detail: format!(
                "ffmpeg could not encode {seconds:.1} s from {start:.1} s: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

/// Cuts a media file into chunks of `chunk_seconds`, stamped from `recorded_at` (else the file's
/// own creation time).
pub async fn cut_media(
    input: &Path,
    chunk_seconds: f64,
    recorded_at: Option<DateTime<FixedOffset>>,
) -> Result<Chunks, CliError> {
    let range = crate::args::CHUNK_SECONDS;
    if !range.contains(&chunk_seconds) {
        return Err(CliError::Usage(format!(
            "--chunk-seconds must be between {} and {}",
            range.start(),
            range.end()
        )));
    }
    let info = probe_audio(input).await?;
    let duration = info.duration;
    let recorded = recorded_at.or(info.created_at);
    let work = tempfile::tempdir().map_err(|source| CliError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut spans = Vec::new();
    let mut start = 0.0;
    while duration - start > MIN_TAIL_SECONDS || spans.is_empty() {
        let seconds = chunk_seconds.min(duration - start);
        spans.push((start, seconds));
        start += seconds;
    }
    let mut files = Vec::with_capacity(spans.len());
    for batch in spans
        .iter()
        .enumerate()
        .collect::<Vec<_>>()
        .chunks(ENCODE_CONCURRENCY)
    {
        let jobs = batch.iter().map(|(index, (start, seconds))| {
            let out = work.path().join(format!("chunk_{index:03}.mp4"));
            async move {
                encode_chunk(input, *start, *seconds, recorded, &out).await?;
                Ok::<_, CliError>((u32::try_from(*index).unwrap_or(u32::MAX), out))
            }
        });
        for result in futures::future::join_all(jobs).await {
            files.push(result?);
        }
    }
    Ok(Chunks {
        files,
        manifest: None,
        duration_seconds: Some(duration),
        video_dropped: info.has_video,
        _work: Some(work),
    })
}

/// The index of a `chunk_NNN.mp4` file name.
pub fn chunk_index(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("chunk_")?.strip_suffix(".mp4")?;
    if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads a folder of chunks (and its `manifest.json`, if any).
pub fn read_folder(folder: &Path) -> Result<Chunks, CliError> {
    let io = |source| CliError::Io {
        path: folder.to_owned(),
        source,
    };
    let mut files = Vec::new();
    let mut manifest = None;
    let mut others = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "manifest.json" {
            manifest = Some(std::fs::read(entry.path()).map_err(|source| CliError::Io {
                path: entry.path(),
                source,
            })?);
        } else if let Some(index) = chunk_index(&name) {
            files.push((index, entry.path()));
        } else {
            others.push(name);
        }
    }
    if files.is_empty() {
        others.sort();
        return Err(CliError::NoChunks {
            path: folder.to_owned(),
            found: found_instead(&others, manifest.is_some()),
        });
    }
    files.sort();
    Ok(Chunks {
        files,
        manifest,
        duration_seconds: None,
        video_dropped: false,
        _work: None,
    })
}

/// ` (it is empty)`, ` (it holds 3 other files: a.txt, b.wav, c.mp4)`.
fn found_instead(others: &[String], manifest: bool) -> String {
    /// Names shown before `…`.
    const SHOWN: usize = 5;
    if others.is_empty() {
        return if manifest {
            " (only a manifest.json)".to_owned()
        } else {
            " (it is empty)".to_owned()
        };
    }
    let mut names = others
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if others.len() > SHOWN {
        names.push_str(", …");
    }
    let noun = if others.len() == 1 { "file" } else { "files" };
    format!(" (it holds {} other {noun}: {names})", others.len())
}

/// Checks that the input exists and, for a file, that it is media with audio.
pub async fn inspect(input: &Path) -> Result<(), CliError> {
    if !input.exists() {
        return Err(CliError::NoInput(input.to_owned()));
    }
    if input.is_dir() {
        read_folder(input).map(|_| ())
    } else {
        probe_audio(input).await.map(|_| ())
    }
}

/// Chunks of the input: a folder as it is, a media file cut.
pub async fn chunks_of(
    input: &Path,
    chunk_seconds: f64,
    recorded_at: Option<DateTime<FixedOffset>>,
) -> Result<Chunks, CliError> {
    if !input.exists() {
        return Err(CliError::NoInput(input.to_owned()));
    }
    if input.is_dir() {
        if recorded_at.is_some() {
            return Err(CliError::Usage(
                "--recorded-at applies to a media file; the chunks of a folder are uploaded as \
                 they are, and their first chunk's creation_time says when the meeting started"
                    .to_owned(),
            ));
        }
        read_folder(input)
    } else {
        cut_media(input, chunk_seconds, recorded_at).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names_need_three_or_more_digits() {
        assert_eq!(chunk_index("chunk_007.mp4"), Some(7));
        assert_eq!(chunk_index("chunk_1234.mp4"), Some(1234));
        assert_eq!(chunk_index("chunk_7.mp4"), None);
        assert_eq!(chunk_index("chunk_00a.mp4"), None);
        assert_eq!(chunk_index("manifest.json"), None);
    }

    fn ffmpeg(args: &[&str]) {
        let status = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y"])
            .args(args)
            .status()
            .expect("ffmpeg runs (scripts/setup.sh apt)");
        assert!(status.success(), "ffmpeg {args:?}");
    }

    #[tokio::test]
    async fn a_cut_file_stamps_each_chunk_with_when_it_was_recorded_and_reports_dropped_video() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("meeting.mp4");
        let input_arg = input.to_string_lossy().into_owned();
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=64x64:d=3",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=3",
            "-shortest",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-metadata",
            "creation_time=2026-03-10T10:00:00Z",
            &input_arg,
        ]);
        let chunks = cut_media(&input, 2.0, None).await.expect("cut");
        assert!(chunks.video_dropped);
        let mut stamps = Vec::new();
        for (_, file) in &chunks.files {
            let info = probe_audio(file).await.expect("a chunk is media");
            assert!(!info.has_video, "{file:?}");
            stamps.push(info.created_at.map(|t| t.to_rfc3339()));
        }
        // Chunk k is stamped at the file's creation time plus its start.
        assert_eq!(
            stamps,
            vec![
                Some("2026-03-10T10:00:00+00:00".to_owned()),
                Some("2026-03-10T10:00:02+00:00".to_owned())
            ]
        );
        // `--recorded-at` wins over the file's own time, and its offset is kept (`date` tag).
        let given = DateTime::parse_from_rfc3339("2026-05-01T00:30:00+02:00").unwrap();
        let chunks = cut_media(&input, 2.0, Some(given)).await.expect("cut");
        let first = probe_audio(&chunks.files[0].1).await.expect("media");
        assert_eq!(
            first.created_at.map(|t| t.to_rfc3339()),
            Some("2026-05-01T00:30:00+02:00".to_owned())
        );
    }
}
