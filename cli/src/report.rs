//! What the commands print: the result files, the speaker-labelled transcript and the summary
//! (text), or one JSON document (`--json`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meeting_domain::contracts::{CatalogRecord, MeetingSummary, Transcript, processed_prefix};
use meeting_domain::ports::ObjectStore;
use recorder_local::runtime::BUCKET;
use serde::Serialize;

use crate::error::CliError;

/// Everything known about a finished recording.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingReport {
    /// The catalog record.
    pub record: CatalogRecord,
    /// Files written under the processed prefix, as paths on disk.
    pub files: Vec<PathBuf>,
    /// The transcript, when completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Transcript>,
    /// The summary, when completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<MeetingSummary>,
    /// Wall time of the command, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<f64>,
    /// Time spent in each workflow state of this run, from the execution history.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageTime>,
    /// Chunks that arrived and were rejected, with the reason (not the same as missing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected_chunks: Vec<crate::operate::FailedChunk>,
    /// What the user can do next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
}

/// Time spent in one workflow state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageTime {
    /// The state name.
    pub state: String,
    /// Seconds from entering it to entering the next (or the end of the execution).
    pub seconds: f64,
}

/// Per-state durations of an execution's history.
pub fn stage_times(history: &[asl_engine::history::HistoryEvent]) -> Vec<StageTime> {
    let mut out: Vec<StageTime> = Vec::new();
    let mut open: Option<(String, chrono::DateTime<chrono::Utc>)> = None;
    for event in history {
        let name = event.event_type.as_str();
        let closes = name.ends_with("StateEntered") || name.starts_with("Execution");
        if !closes {
            continue;
        }
        if let Some((state, since)) = open.take() {
            let seconds = (event.timestamp - since).num_milliseconds() as f64 / 1000.0;
            out.push(StageTime { state, seconds });
        }
        if name.ends_with("StateEntered")
            && let Some(state) = event
                .details
                .as_ref()
                .and_then(|d| d.get("name"))
                .and_then(|n| n.as_str())
        {
            open = Some((state.to_owned(), event.timestamp));
        }
    }
    out
}

/// Where the object `key` lies in the data directory.
pub fn object_path(data_dir: &Path, key: &str) -> PathBuf {
    data_dir.join("objects").join(BUCKET).join(key)
}

async fn read_json<T: serde::de::DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<T, CliError> {
    let bytes = store.get_bytes(BUCKET, key).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        CliError::Port(meeting_domain::PortError::Corrupt {
            service: "local object store",
            detail: format!("{key}: {e}"),
        })
    })
}

/// Collects the report of `record`.
pub async fn collect(
    store: &dyn ObjectStore,
    data_dir: &Path,
    record: CatalogRecord,
    elapsed_seconds: Option<f64>,
    stages: Vec<StageTime>,
) -> Result<RecordingReport, CliError> {
    let prefix = processed_prefix(&record.user_id, &record.recording_id);
    let files = store
        .list(BUCKET, &prefix)
        .await?
        .into_iter()
        .map(|m| object_path(data_dir, &m.key))
        .collect();
    let (transcript, summary) = match &record.results {
        Some(results) => (
            Some(read_json(store, &results.transcript_key).await?),
            Some(read_json(store, &results.summary_key).await?),
        ),
        None => (None, None),
    };
    Ok(RecordingReport {
        record,
        files,
        transcript,
        summary,
        elapsed_seconds,
        stages,
        rejected_chunks: Vec::new(),
        next_steps: Vec::new(),
    })
}

fn clock(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    format!("{:02}:{:02}", total / 60, total % 60)
}

/// The human-readable report.
pub fn render(report: &RecordingReport) -> String {
    let mut out = String::new();
    let r = &report.record;
    let _ = write!(
        out,
        "Recording {} (user {}): {}",
        r.recording_id, r.user_id, r.status
    );
    if let Some(elapsed) = report.elapsed_seconds {
        let _ = write!(out, " in {elapsed:.1} s");
    }
    out.push('\n');
    if !report.stages.is_empty() {
        let parts: Vec<String> = report
            .stages
            .iter()
            .map(|s| format!("{} {:.1} s", s.state, s.seconds))
            .collect();
        let _ = writeln!(out, "  workflow: {}", parts.join(", "));
    }
    if let Some(error) = &r.error {
        let _ = writeln!(out, "  error: {error}");
    }
    if let Some(cause) = &r.cause {
        let _ = writeln!(out, "  cause: {cause}");
    }
    if !r.missing_chunks.is_empty() {
        let _ = writeln!(
            out,
            "  missing chunks (never received): {}",
            crate::operating::ranges(&r.missing_chunks)
        );
    }
    for chunk in &report.rejected_chunks {
        let _ = writeln!(
            out,
            "  rejected chunk {}: {}",
            chunk.index,
            chunk.reason.as_deref().unwrap_or("no reason recorded")
        );
    }
    for step in &report.next_steps {
        let _ = writeln!(out, "  next: {step}");
    }
    if !report.files.is_empty() {
        out.push_str("\nResults:\n");
        for file in &report.files {
            let _ = writeln!(out, "  {}", file.display());
        }
    }
    if let Some(t) = &report.transcript {
        let label = |id: &str| {
            t.speakers
                .iter()
                .find(|s| s.id == id)
                .map_or_else(|| id.to_owned(), |s| s.label.clone())
        };
        let _ = writeln!(
            out,
            "\nTranscript ({:.0} s, {} speaker{}{}, {}):",
            t.duration_seconds,
            t.speakers.len(),
            if t.speakers.len() == 1 { "" } else { "s" },
            if t.speakers_approximate {
                ", labels approximate"
            } else {
                ""
            },
            t.engine.name
        );
        for segment in &t.segments {
            let _ = writeln!(
                out,
                "  [{}] {}: {}",
                clock(segment.start),
                label(&segment.speaker),
                segment.text.trim()
            );
        }
    }
    if let Some(s) = &report.summary {
        let _ = writeln!(out, "\nSummary ({:?}, {}):", s.kind, s.engine.name);
        for line in s.summary.trim().lines() {
            let _ = writeln!(out, "  {}", line.trim());
        }
        out.push_str("\nAction items:\n");
        if s.action_items.is_empty() {
            out.push_str("  (none found)\n");
        }
        for item in &s.action_items {
            let owner = item.owner.as_deref().unwrap_or("unassigned");
            let due = item
                .due_label()
                .map(|d| format!(" — due {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  - [{}] {owner}: {}{due}",
                clock(item.source_time),
                item.task
            );
        }
        out.push_str("\nDecisions:\n");
        if s.decisions.is_empty() {
            out.push_str("  (none found)\n");
        }
        for decision in &s.decisions {
            let _ = writeln!(
                out,
                "  - [{}] {}",
                clock(decision.source_time),
                decision.decision
            );
        }
    }
    out
}

/// One line per recording for `status` without an id.
pub fn render_line(record: &CatalogRecord) -> String {
    let mut line = format!(
        "{:<40} {:<12} {:<22} run {} updated {}",
        record.recording_id.as_str(),
        record.user_id.as_str(),
        record.status.as_str(),
        record.run,
        record.updated_at
    );
    if let Some(error) = &record.error {
        let _ = write!(line, "  {error}");
    }
    line
}
