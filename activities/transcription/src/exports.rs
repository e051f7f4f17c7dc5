//! Renders a [`Transcript`] as SubRip (`.srt`), WebVTT (`.vtt`), Markdown and plain text, and
//! lists every output file with its key and content type.

use std::fmt::Write as _;

use meeting_domain::contracts::{Segment, Transcript, output_files, processed_prefix};
use meeting_domain::ids::{RecordingId, UserId};

/// Subtitle cues longer than this are split at word boundaries (readability guidelines keep a
/// cue under about 7 seconds).
const MAX_CUE_SECONDS: f64 = 7.0;

/// `HH:MM:SS{sep}mmm`.
fn timestamp(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000
    )
}

/// `[MM:SS]` or `[H:MM:SS]` for Markdown.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

fn label<'a>(transcript: &'a Transcript, speaker: &'a str) -> &'a str {
    transcript
        .speakers
        .iter()
        .find(|s| s.id == speaker)
        .map_or(speaker, |s| s.label.as_str())
}

/// One subtitle cue.
struct Cue<'a> {
    start: f64,
    end: f64,
    speaker: &'a str,
    text: String,
}

/// Splits long segments into cues of at most [`MAX_CUE_SECONDS`] using word timings.
fn cues<'a>(transcript: &'a Transcript) -> Vec<Cue<'a>> {
    let mut out = Vec::new();
    for segment in &transcript.segments {
        let speaker = label(transcript, &segment.speaker);
        if segment.words.is_empty() || segment.end - segment.start <= MAX_CUE_SECONDS {
            out.push(Cue {
                start: segment.start,
                end: segment.end,
                speaker,
                text: one_line(&segment.text),
            });
            continue;
        }
        let mut words: Vec<&str> = Vec::new();
        let mut start = segment.words[0].start;
        let mut end = start;
        for word in &segment.words {
            if !words.is_empty() && word.end - start > MAX_CUE_SECONDS {
                out.push(Cue {
                    start,
                    end,
                    speaker,
                    text: words.join(" "),
                });
                words.clear();
                start = word.start;
            }
            words.push(one_line_str(&word.text));
            end = word.end;
        }
        if !words.is_empty() {
            out.push(Cue {
                start,
                end,
                speaker,
                text: words.join(" "),
            });
        }
    }
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn one_line_str(text: &str) -> &str {
    text.trim()
}

/// SubRip subtitles, one cue per turn (long turns split), prefixed with the speaker.
pub fn to_srt(transcript: &Transcript) -> String {
    let mut out = String::new();
    for (i, cue) in cues(transcript).iter().enumerate() {
        let _ = write!(
            out,
            "{}\n{} --> {}\n{}: {}\n\n",
            i + 1,
            timestamp(cue.start, ','),
            timestamp(cue.end, ','),
            cue.speaker,
            cue.text
        );
    }
    out
}

/// WebVTT's cue text must not contain `-->`, and `<`/`&` start markup.
fn vtt_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// WebVTT subtitles with voice spans (`<v Speaker 1>`).
pub fn to_vtt(transcript: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for cue in cues(transcript) {
        let _ = write!(
            out,
            "{} --> {}\n<v {}>{}\n\n",
            timestamp(cue.start, '.'),
            timestamp(cue.end, '.'),
            vtt_escape(cue.speaker),
            vtt_escape(&cue.text)
        );
    }
    out
}

/// Markdown escaping for text that came from speech (it may contain `*`, `_`, `#`, `[`...).
fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '<' | '>' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown transcript: one paragraph per turn with speaker and time.
pub fn to_markdown(transcript: &Transcript) -> String {
    let mut out = format!(
        "# Transcript of {}\n\n",
        md_escape(transcript.recording_id.as_str())
    );
    let _ = writeln!(
        out,
        "- Duration: {}\n- Language: {}\n- Engine: {}{}\n- Speakers: {}{}\n",
        clock(transcript.duration_seconds),
        md_escape(&transcript.language),
        md_escape(&transcript.engine.name),
        transcript
            .engine
            .model
            .as_deref()
            .map(|m| format!(" ({})", md_escape(m)))
            .unwrap_or_default(),
        transcript.speakers.len(),
        if transcript.speakers_approximate {
            " (labels are approximate)"
        } else {
            ""
        },
    );
    if transcript.segments.is_empty() {
        out.push_str("_No speech was detected._\n");
    }
    for segment in &transcript.segments {
        let _ = write!(
            out,
            "**{}** [{}]: {}\n\n",
            md_escape(label(transcript, &segment.speaker)),
            clock(segment.start),
            md_escape(&one_line(&segment.text))
        );
    }
    out
}

/// Plain text: `Speaker 1 [00:12]: text`, one line per turn.
pub fn to_text(transcript: &Transcript) -> String {
    transcript
        .segments
        .iter()
        .map(|s: &Segment| {
            format!(
                "{} [{}]: {}\n",
                label(transcript, &s.speaker),
                clock(s.start),
                one_line(&s.text)
            )
        })
        .collect()
}

/// One file to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    /// Object key.
    pub key: String,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

/// `transcript.json` and every export, keyed under `users/{u}/processed/{r}/`.
pub fn output_files(
    user: &UserId,
    recording: &RecordingId,
    transcript: &Transcript,
) -> Result<Vec<OutputFile>, serde_json::Error> {
    let prefix = processed_prefix(user, recording);
    let file = |name: &str, content_type: &'static str, body: Vec<u8>| OutputFile {
        key: format!("{prefix}{name}"),
        content_type,
        body,
    };
    Ok(vec![
        file(
            output_files::TRANSCRIPT_SRT,
            "application/x-subrip; charset=utf-8",
            to_srt(transcript).into_bytes(),
        ),
        file(
            output_files::TRANSCRIPT_VTT,
            "text/vtt; charset=utf-8",
            to_vtt(transcript).into_bytes(),
        ),
        file(
            output_files::TRANSCRIPT_MD,
            "text/markdown; charset=utf-8",
            to_markdown(transcript).into_bytes(),
        ),
        file(
            output_files::TRANSCRIPT_TXT,
            "text/plain; charset=utf-8",
            to_text(transcript).into_bytes(),
        ),
        // Written last: its presence means every export is there too.
        file(
            output_files::TRANSCRIPT_JSON,
            "application/json",
            serde_json::to_vec_pretty(transcript)?,
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_the_format_separator() {
        assert_eq!(timestamp(3723.456, ','), "01:02:03,456");
        assert_eq!(timestamp(0.0, '.'), "00:00:00.000");
        assert_eq!(clock(75.9), "01:15");
        assert_eq!(clock(3675.0), "1:01:15");
    }
}
