//! The Summarize activity: reads `transcript.json`, asks the configured [`Summarizer`], checks
//! the result against the `summary.json` schema and writes `summary.md` and `summary.json` under
//! the recording's processed prefix. A failure is reported as a typed error and never stored as
//! a summary; a transcript without speech gets the no-speech summary (silence is not a failure).

use std::sync::Arc;

use activity_runtime::activity::{Activity, ErrorOf, Failure, InputOf, OutputOf, TaskContext};
use async_trait::async_trait;
use bytes::Bytes;
use meeting_domain::contracts::{
    MeetingSummary, Summarize, SummarizeInput, SummaryError, SummaryOutput, Transcript,
    output_files, processed_prefix,
};
use meeting_domain::ports::ObjectStore;
use meeting_domain::{RecordingId, UserId};

use crate::error::SummarizeError;
use crate::port::Summarizer;
use crate::{markdown, no_speech, schema, timeline};

/// `transcript.json` larger than this is refused (a 4-hour meeting with word timings is about
/// 10 MB).
const MAX_TRANSCRIPT_BYTES: usize = 64 * 1024 * 1024;

/// The Summarize activity over an object store and a summarizer.
#[derive(Clone)]
pub struct SummarizeActivity {
    store: Arc<dyn ObjectStore>,
    summarizer: Arc<dyn Summarizer>,
}

impl std::fmt::Debug for SummarizeActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummarizeActivity")
            .field("engine", &self.summarizer.engine())
            .finish_non_exhaustive()
    }
}

fn failure(error: &SummarizeError) -> Failure<SummaryError> {
    Failure::new(error.kind(), error.to_string())
}

/// Reads and checks a transcript: it must parse as the contract and belong to the recording. A
/// transcript without words is valid (the recording was silent).
pub fn parse_transcript(
    bytes: &[u8],
    input: &SummarizeInput,
) -> Result<Transcript, SummarizeError> {
    if bytes.len() > MAX_TRANSCRIPT_BYTES {
        return Err(SummarizeError::InvalidTranscript {
            reason: format!(
                "{} bytes is over the {MAX_TRANSCRIPT_BYTES}-byte limit",
                bytes.len()
            ),
        });
    }
    let transcript: Transcript =
        serde_json::from_slice(bytes).map_err(|e| SummarizeError::InvalidTranscript {
            // Position only: serde's message can quote the transcript's text.
            reason: format!(
                "does not match the transcript schema ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        })?;
    if transcript.recording_id != input.recording_id {
        return Err(SummarizeError::InvalidTranscript {
            reason: "belongs to another recording".to_owned(),
        });
    }
    if !transcript.duration_seconds.is_finite() || transcript.duration_seconds < 0.0 {
        return Err(SummarizeError::InvalidTranscript {
            reason: "the duration is not a non-negative number".to_owned(),
        });
    }
    if transcript
        .segments
        .iter()
        .any(|s| !s.start.is_finite() || !s.end.is_finite() || s.start < 0.0 || s.end < s.start)
    {
        return Err(SummarizeError::InvalidTranscript {
            reason: "a segment has invalid times".to_owned(),
        });
    }
    Ok(transcript)
}

/// Records when the meeting started and resolves every action item's spoken `due` against its
/// day ([`crate::due_date`]); an engine's own `dueDate` is replaced, so every engine's dates
/// follow the same rules. An unreadable start leaves every date absent.
pub fn date_action_items(summary: &mut MeetingSummary, recorded_at: Option<&str>) {
    let started = recorded_at.and_then(meeting_domain::recorded_at::parse);
    summary.recorded_at = started.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    // The day as the participants said it: the recording's own offset, not UTC.
    let day = started.map(|t| t.date_naive());
    for item in &mut summary.action_items {
        item.due_date = match (item.due.as_deref(), day) {
            (Some(due), Some(day)) => crate::due_date::resolve(due, day),
            _ => None,
        };
    }
}

/// Checks `summary` against the `summary.json` schema and writes `summary.md`, then
/// `summary.json` (so `summary.json` appears only when both are written) under the recording's
/// processed prefix; returns their keys `(summary.json, summary.md)`. A summary that breaks the
/// schema is never stored.
pub async fn store_summary(
    store: &dyn ObjectStore,
    bucket: &str,
    user: &UserId,
    recording: &RecordingId,
    summary: &MeetingSummary,
) -> Result<(String, String), SummarizeError> {
    let invalid = |errors: String| SummarizeError::InvalidModelOutput {
        attempts: 1,
        errors,
    };
    let json = schema::check_meeting_summary(summary).map_err(|e| invalid(e.join("; ")))?;
    let json = serde_json::to_vec_pretty(&json).map_err(|e| invalid(e.to_string()))?;
    let prefix = processed_prefix(user, recording);
    let summary_key = format!("{prefix}{}", output_files::SUMMARY_JSON);
    let markdown_key = format!("{prefix}{}", output_files::SUMMARY_MD);
    store
        .put_bytes(
            bucket,
            &markdown_key,
            Bytes::from(markdown::render(summary)),
            "text/markdown; charset=utf-8",
        )
        .await
        .map_err(SummarizeError::Storage)?;
    store
        .put_bytes(bucket, &summary_key, Bytes::from(json), "application/json")
        .await
        .map_err(SummarizeError::Storage)?;
    Ok((summary_key, markdown_key))
}

impl SummarizeActivity {
    /// The activity.
    pub fn new(store: Arc<dyn ObjectStore>, summarizer: Arc<dyn Summarizer>) -> Self {
        Self { store, summarizer }
    }

    async fn summarize(
        &self,
        input: &SummarizeInput,
        ctx: &TaskContext,
    ) -> Result<SummaryOutput, SummarizeError> {
        let bytes = self
            .store
            .get_bytes(&input.bucket, &input.transcript_key)
            .await
            .map_err(SummarizeError::Storage)?;
        let transcript = parse_transcript(&bytes, input)?;

        let mut summary = if timeline::word_count(&transcript) == 0 {
            // Silence: a normal outcome with its own summary; no engine is asked.
            no_speech::summary(&transcript, self.summarizer.engine())
        } else {
            tokio::select! {
                result = self.summarizer.summarize(&transcript) => result?,
                () = ctx.cancel.cancelled() => return Err(SummarizeError::Cancelled),
            }
        };
        date_action_items(&mut summary, input.recorded_at.as_deref());
        let (summary_key, markdown_key) = store_summary(
            self.store.as_ref(),
            &input.bucket,
            &input.user_id,
            &input.recording_id,
            &summary,
        )
        .await?;
        tracing::info!(
            recording_id = %input.recording_id,
            task_id = %ctx.task_id,
            engine = %summary.engine.name,
            action_items = summary.action_items.len(),
            decisions = summary.decisions.len(),
            "summary written"
        );
        Ok(SummaryOutput {
            summary_key,
            summary_markdown_key: markdown_key,
            action_item_count: u32::try_from(summary.action_items.len()).unwrap_or(u32::MAX),
            decision_count: u32::try_from(summary.decisions.len()).unwrap_or(u32::MAX),
        })
    }
}

#[async_trait]
impl Activity for SummarizeActivity {
    type Contract = Summarize;

    async fn run(
        &self,
        input: InputOf<Self>,
        ctx: &TaskContext,
    ) -> Result<OutputOf<Self>, Failure<ErrorOf<Self>>> {
        self.summarize(&input, ctx).await.map_err(|error| {
            tracing::warn!(
                recording_id = %input.recording_id,
                task_id = %ctx.task_id,
                error = %error,
                "summarize failed"
            );
            failure(&error)
        })
    }
}

#[cfg(test)]
mod tests {
    use meeting_domain::contracts::{ActionItem, EngineInfo, SummaryKind};

    use super::*;

    fn summary_with(due: &[Option<&str>]) -> MeetingSummary {
        MeetingSummary {
            summary: "s".to_owned(),
            action_items: due
                .iter()
                .map(|due| ActionItem {
                    task: "do it".to_owned(),
                    owner: None,
                    due: due.map(str::to_owned),
                    // A model's own guess is replaced.
                    due_date: "1999-01-01".parse().ok(),
                    source_time: 0.0,
                })
                .collect(),
            decisions: Vec::new(),
            speakers: Vec::new(),
            language: "en-US".to_owned(),
            kind: SummaryKind::Generated,
            engine: EngineInfo {
                name: "test".to_owned(),
                model: None,
            },
            recorded_at: None,
        }
    }

    fn dates(summary: &MeetingSummary) -> Vec<Option<String>> {
        summary
            .action_items
            .iter()
            .map(|i| i.due_date.map(|d| d.to_string()))
            .collect()
    }

    #[test]
    fn due_dates_count_from_the_local_day_the_recording_started() {
        // 00:30 on Saturday 14 March in UTC+1 is still Friday the 13th in UTC.
        let mut summary = summary_with(&[Some("tomorrow"), Some("next week"), None]);
        date_action_items(&mut summary, Some("2026-03-14T00:30:00+01:00"));
        assert_eq!(
            dates(&summary),
            vec![Some("2026-03-15".to_owned()), None, None]
        );
        assert_eq!(
            summary.recorded_at.as_deref(),
            Some("2026-03-14T00:30:00+01:00")
        );
    }

    #[test]
    fn without_a_readable_start_there_are_no_due_dates() {
        for start in [None, Some("yesterday"), Some("")] {
            let mut summary = summary_with(&[Some("tomorrow")]);
            date_action_items(&mut summary, start);
            assert_eq!(dates(&summary), vec![None], "{start:?}");
            assert_eq!(summary.recorded_at, None);
        }
    }
}
