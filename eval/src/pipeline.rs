//! The meeting-notes pipeline as the evaluation sees it: audio in, notes out. The port is
//! [`NotesPipeline`]; [`RecorderCli`] runs the real offline pipeline exactly as a user does
//! (`recorder --json --data-dir DIR process meeting.m4a`) and reads `transcript.json` and
//! `summary.json` from where its JSON report says they are; [`SavedNotes`] rereads the notes of
//! an earlier run, to rescore without processing again.
//!
//! The result files are read loosely (unknown fields ignored), so the evaluation keeps working
//! while the summary schema grows: a `dueDate` on action items is picked up when present.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use crate::error::EvalError;
use crate::meeting::Meeting;
use crate::metrics::der::Turn;
use crate::metrics::items::{PredictedActionItem, PredictedDecision};

/// The notes of one meeting.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Notes {
    /// Everything recognised, in order.
    pub transcript_text: String,
    /// Recognised segments with their speaker labels.
    pub segments: Vec<Turn>,
    /// What each recognised segment says (for `--misses`).
    pub lines: Vec<HeardLine>,
    /// The names the summarizer read from the conversation, label → name, and every name it
    /// heard used (for `--misses`; only when summarized again).
    pub names: Option<NameReading>,
    /// The summary prose.
    pub summary: String,
    /// Action items.
    pub action_items: Vec<PredictedActionItem>,
    /// Decisions.
    pub decisions: Vec<PredictedDecision>,
    /// Whether the summary's action items carry a `dueDate` field at all.
    pub has_due_dates: bool,
    /// Wall time of the processing, seconds (as the recorder reported it, when reread).
    pub wall_seconds: f64,
}

/// One recognised segment: who (label or name), when, and what.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeardLine {
    /// Speaker name or label.
    pub speaker: String,
    /// Start, seconds.
    pub start: f64,
    /// The words.
    pub text: String,
}

/// The names the offline summarizer read from a transcript.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NameReading {
    /// Speaker label → name.
    pub by_label: Vec<(String, String)>,
    /// Every name used to address or introduce someone.
    pub mentioned: Vec<String>,
}

/// Audio in, notes out.
pub trait NotesPipeline {
    /// The notes of `meeting`, rendered as `audio`.
    ///
    /// # Errors
    /// An [`EvalError`] when no notes could be made; the evaluation goes on with the next
    /// meeting and scores this one as empty.
    fn notes(&self, meeting: &Meeting, audio: &Path) -> Result<Notes, EvalError>;
}

/// The `recorder` binary, one fresh data directory per meeting under `work_dir/ID/data`.
#[derive(Debug, Clone)]
pub struct RecorderCli {
    /// The binary.
    pub binary: PathBuf,
    /// Where each meeting's data directory and report go.
    pub work_dir: PathBuf,
    /// Whisper threads (`--threads`).
    pub threads: usize,
    /// More arguments for `recorder process` (e.g. a future `--model` or `--vocabulary`).
    pub extra_args: Vec<String>,
}

/// Where [`RecorderCli`] keeps the JSON report of `meeting`.
pub fn report_path(work_dir: &Path, meeting_id: &str) -> PathBuf {
    work_dir.join(meeting_id).join("report.json")
}

impl NotesPipeline for RecorderCli {
    fn notes(&self, meeting: &Meeting, audio: &Path) -> Result<Notes, EvalError> {
        if !self.binary.is_file() {
            return Err(EvalError::RecorderMissing {
                path: self.binary.clone(),
            });
        }
        let dir = self.work_dir.join(&meeting.id);
        let data_dir = dir.join("data");
        if data_dir.exists() {
            std::fs::remove_dir_all(&data_dir).map_err(|source| EvalError::Io {
                path: data_dir.clone(),
                source,
            })?;
        }
        std::fs::create_dir_all(&dir).map_err(|source| EvalError::Io {
            path: dir.clone(),
            source,
        })?;
        let started = Instant::now();
        let output = Command::new(&self.binary)
            .arg("--json")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("process")
            .arg(audio)
            .args(["--recording", &format!("eval-{}", meeting.id)])
            .args(["--threads", &self.threads.to_string()])
            .args(&self.extra_args)
            .output()
            .map_err(|source| EvalError::ToolMissing {
                tool: self.binary.display().to_string(),
                source,
            })?;
        let wall_seconds = started.elapsed().as_secs_f64();
        let report = report_path(&self.work_dir, &meeting.id);
        std::fs::write(&report, &output.stdout).map_err(|source| EvalError::Io {
            path: report.clone(),
            source,
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            return Err(EvalError::RecorderFailed {
                meeting: meeting.id.clone(),
                code: output.status.code(),
                detail: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
            });
        }
        let mut notes = notes_from_report(&meeting.id, &report)?;
        notes.wall_seconds = wall_seconds;
        Ok(notes)
    }
}

/// The notes of an earlier [`RecorderCli`] run, reread from its saved report.
#[derive(Debug, Clone)]
pub struct SavedNotes {
    /// The `work_dir` of that run.
    pub work_dir: PathBuf,
}

impl NotesPipeline for SavedNotes {
    fn notes(&self, meeting: &Meeting, _audio: &Path) -> Result<Notes, EvalError> {
        notes_from_report(&meeting.id, &report_path(&self.work_dir, &meeting.id))
    }
}

/// The transcripts of an earlier [`RecorderCli`] run, summarized again by this build's offline
/// summarizer with the same recording start as before: the transcript-side scores stay those of
/// that run, the notes are new. For work on the summary rules (seconds instead of minutes).
#[derive(Debug, Clone)]
pub struct Resummarized {
    /// The `work_dir` of that run.
    pub work_dir: PathBuf,
}

impl NotesPipeline for Resummarized {
    fn notes(&self, meeting: &Meeting, _audio: &Path) -> Result<Notes, EvalError> {
        let report = report_path(&self.work_dir, &meeting.id);
        let saved = notes_from_report(&meeting.id, &report)?;
        let parsed: Report = read_json(&report)?;
        let transcript_path = result_file(&meeting.id, &report, &parsed, "transcript.json")?;
        let summary_path = result_file(&meeting.id, &report, &parsed, "summary.json")?;
        let transcript: meeting_domain::contracts::Transcript = read_json(&transcript_path)?;
        let before: Value = read_json(&summary_path)?;
        let failed = |detail: String| EvalError::Resummarize {
            meeting: meeting.id.clone(),
            detail,
        };
        let mut summary = summary::ExtractiveSummarizer::new()
            .summarize_now(&transcript)
            .map_err(|e| failed(e.to_string()))?;
        summary::activity::date_action_items(
            &mut summary,
            before.get("recordedAt").and_then(Value::as_str),
        );
        let after = serde_json::to_value(&summary).map_err(|e| failed(e.to_string()))?;
        Ok(Notes {
            transcript_text: saved.transcript_text,
            segments: saved.segments,
            lines: saved.lines,
            names: {
                let names = summary::extractive::name_suggestions(&transcript);
                Some(NameReading {
                    by_label: names.by_label,
                    mentioned: names.mentioned,
                })
            },
            wall_seconds: saved.wall_seconds,
            ..notes_from_summary(&after)
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    #[serde(default)]
    files: Vec<PathBuf>,
    #[serde(default)]
    elapsed_seconds: f64,
}

#[derive(Debug, Deserialize)]
struct TranscriptFile {
    #[serde(default)]
    segments: Vec<SegmentFile>,
}

#[derive(Debug, Deserialize)]
struct SegmentFile {
    speaker: String,
    start: f64,
    end: f64,
    #[serde(default)]
    text: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EvalError> {
    let bytes = std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| EvalError::Json {
        path: path.to_owned(),
        source,
    })
}

fn text_field(item: &Value, key: &str) -> Option<String> {
    item.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The notes in the summary JSON `summary` (a `MeetingSummary`, read loosely); the transcript
/// fields stay empty.
pub fn notes_from_summary(summary: &Value) -> Notes {
    let empty = Vec::new();
    let items = summary
        .get("actionItems")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let has_due_dates = items.iter().any(|item| item.get("dueDate").is_some());
    let action_items = items
        .iter()
        .map(|item| PredictedActionItem {
            task: text_field(item, "task").unwrap_or_default(),
            owner: text_field(item, "owner"),
            due: text_field(item, "due"),
            due_date: text_field(item, "dueDate")
                .and_then(|d| d.get(..10).and_then(|day| day.parse::<NaiveDate>().ok())),
            source_time: item
                .get("sourceTime")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
        })
        .collect();
    let decisions = summary
        .get("decisions")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|d| PredictedDecision {
            decision: text_field(d, "decision").unwrap_or_default(),
            source_time: d.get("sourceTime").and_then(Value::as_f64).unwrap_or(0.0),
        })
        .collect();
    Notes {
        summary: text_field(summary, "summary").unwrap_or_default(),
        action_items,
        decisions,
        has_due_dates,
        ..Notes::default()
    }
}

/// The file called `name` among those a report lists.
fn result_file(
    meeting_id: &str,
    report: &Path,
    parsed: &Report,
    name: &str,
) -> Result<PathBuf, EvalError> {
    parsed
        .files
        .iter()
        .find(|f| f.file_name().is_some_and(|n| n == name))
        .cloned()
        .ok_or_else(|| EvalError::RecorderFailed {
            meeting: meeting_id.to_owned(),
            code: Some(0),
            detail: format!("its report {} lists no {name}", report.display()),
        })
}

/// Reads the notes a `recorder --json process` report points at.
///
/// # Errors
/// [`EvalError::RecorderFailed`] when the report names no `transcript.json` or `summary.json`,
/// and the errors of reading them.
pub fn notes_from_report(meeting_id: &str, report: &Path) -> Result<Notes, EvalError> {
    let parsed: Report = read_json(report)?;
    let transcript: TranscriptFile = read_json(&result_file(
        meeting_id,
        report,
        &parsed,
        "transcript.json",
    )?)?;
    let summary: Value = read_json(&result_file(meeting_id, report, &parsed, "summary.json")?)?;
    Ok(Notes {
        transcript_text: transcript
            .segments
            .iter()
            .map(|s| s.text.trim())
            .collect::<Vec<_>>()
            .join(" "),
        lines: transcript
            .segments
            .iter()
            .map(|s| HeardLine {
                speaker: s.speaker.clone(),
                start: s.start,
                text: s.text.trim().to_owned(),
            })
            .collect(),
        segments: transcript
            .segments
            .into_iter()
            .map(|s| Turn {
                speaker: s.speaker,
                start: s.start,
                end: s.end,
            })
            .collect(),
        wall_seconds: parsed.elapsed_seconds,
        ..notes_from_summary(&summary)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_summary_with_and_without_due_dates_then_they_are_read_loosely() {
        let summary = serde_json::json!({
            "summary": "We met.",
            "actionItems": [
                {"task": "send the budget", "owner": "Alice", "due": "Friday", "dueDate": "2026-03-13", "sourceTime": 3.5},
                {"task": "book the venue", "sourceTime": 9.0, "somethingNew": true}
            ],
            "decisions": [{"decision": "Ship on Monday.", "sourceTime": 5.0}],
            "speakers": []
        });
        let notes = notes_from_summary(&summary);
        assert_eq!(notes.summary, "We met.");
        assert!(notes.has_due_dates);
        assert_eq!(notes.action_items[0].due_date, "2026-03-13".parse().ok());
        assert_eq!(notes.action_items[1].owner, None);
        assert_eq!(notes.action_items[1].due_date, None);
        assert_eq!(notes.decisions[0].decision, "Ship on Monday.");

        let without = serde_json::json!({"summary": "x", "actionItems": [{"task": "t", "sourceTime": 0.0}], "decisions": []});
        assert!(!notes_from_summary(&without).has_due_dates);
    }
}
