//! `recorder speakers`: naming the speakers of a processed recording. The stored transcript's
//! labels change ("Speaker 1" → "Alice") and everything derived from it is written again from
//! it, without rerunning speech recognition: every transcript export, `summary.json` (owners,
//! speakers, the summary text) and `summary.md`. Without renames it lists the speakers with
//! their talk time and the names the conversation suggests ("Thanks, Maria").
//!
//! Safe to repeat: a rename whose new name is already the label is done, so running the same
//! command after an interruption finishes the files it did not reach.

use std::collections::BTreeMap;

use meeting_domain::contracts::{MeetingSummary, Transcript, output_files, processed_prefix};
use meeting_domain::{PortError, RecordingRef, RecordingStatus};
use serde::Serialize;

use crate::error::CliError;
use crate::operate::Operator;

/// Longest speaker name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// One `"Speaker 1=Alice"` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeakerRename {
    /// A current label ("Speaker 1", or a name given earlier) or a speaker id (`spk_0`).
    pub from: String,
    /// The new label.
    pub to: String,
}

/// Parses `LABEL=NAME` (clap value parser).
pub fn parse_rename(raw: &str) -> Result<SpeakerRename, String> {
    let (from, to) = raw
        .split_once('=')
        .ok_or_else(|| format!("{raw:?} is not LABEL=NAME (for example \"Speaker 1=Alice\")"))?;
    let (from, to) = (from.trim(), to.trim());
    if from.is_empty() {
        return Err(format!("{raw:?} names no speaker before the `=`"));
    }
    check_name(to)?;
    Ok(SpeakerRename {
        from: from.to_owned(),
        to: to.to_owned(),
    })
}

/// A name must be visible text on one line: 1–64 characters, no control characters, no
/// Markdown or HTML markup characters (it is written into Markdown and subtitles).
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the new name is empty".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "{name:?} is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_control() || matches!(c, '<' | '>' | '*' | '_' | '`' | '[' | ']' | '#' | '|' | '=')
    }) {
        return Err(format!(
            "{name:?} contains {c:?}; use letters, digits, spaces and . , ' -"
        ));
    }
    Ok(())
}

/// A speaker as `recorder speakers` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeakerView {
    /// Stable id (`spk_0`).
    pub id: String,
    /// Current label.
    pub label: String,
    /// Seconds of speech.
    pub speaking_seconds: f64,
    /// The name the conversation suggests, if it is clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested: Option<String>,
}

/// The result of `recorder speakers`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeakersView {
    /// The speakers after any renames.
    pub speakers: Vec<SpeakerView>,
    /// Every name people used for each other in the meeting.
    pub mentioned: Vec<String>,
    /// `(old label, new label)` applied by this command.
    pub renamed: Vec<(String, String)>,
    /// Keys written.
    pub written: Vec<String>,
}

/// Lists the speakers of `recording`, or renames them and writes every derived file again.
pub async fn speakers(
    operator: &Operator,
    recording: &RecordingRef,
    renames: &[SpeakerRename],
) -> Result<SpeakersView, CliError> {
    let record = operator
        .catalog
        .get(recording)
        .await?
        .ok_or_else(|| CliError::UnknownRecording(recording.recording_id.to_string()))?;
    if !renames.is_empty() && record.status == RecordingStatus::Processing {
        return Err(CliError::Usage(format!(
            "recording {} is still processing; name its speakers once it has completed (its \
             summary would be written over)",
            recording.recording_id
        )));
    }
    let prefix = processed_prefix(&recording.user_id, &recording.recording_id);
    let transcript_key = format!("{prefix}{}", output_files::TRANSCRIPT_JSON);
    let bytes = match operator
        .objects
        .get_bytes(&operator.bucket, &transcript_key)
        .await
    {
        Ok(bytes) => bytes,
        Err(PortError::NotFound { .. }) => {
            return Err(CliError::Usage(format!(
                "recording {} has no transcript yet ({transcript_key}); it is {}",
                recording.recording_id,
                record.status.as_str()
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut transcript: Transcript = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Usage(format!("{transcript_key} is not a transcript: {e}")))?;
    let renamed = apply(&mut transcript, renames)?;
    let mut written = Vec::new();
    if !renames.is_empty() {
        written = write_all(operator, recording, &transcript, &renamed).await?;
    }
    let suggestions = summary::extractive::name_suggestions(&transcript);
    let suggested: BTreeMap<&str, &str> = suggestions
        .by_label
        .iter()
        .map(|(label, name)| (label.as_str(), name.as_str()))
        .collect();
    let speakers = transcript
        .speakers
        .iter()
        .map(|s| SpeakerView {
            id: s.id.clone(),
            label: s.label.clone(),
            speaking_seconds: transcript
                .segments
                .iter()
                .filter(|seg| seg.speaker == s.id)
                .map(|seg| (seg.end - seg.start).max(0.0))
                .sum(),
            suggested: suggested
                .get(s.label.as_str())
                .filter(|name| **name != s.label)
                .map(|name| (*name).to_owned()),
        })
        .collect();
    Ok(SpeakersView {
        speakers,
        mentioned: suggestions.mentioned,
        renamed: renamed.into_iter().collect(),
        written,
    })
}

/// Applies `renames` to the transcript's labels; returns old label → new label of the ones
/// that changed. A rename already applied (its new name is the label) is skipped.
fn apply(
    transcript: &mut Transcript,
    renames: &[SpeakerRename],
) -> Result<BTreeMap<String, String>, CliError> {
    let mut changed = BTreeMap::new();
    for rename in renames {
        let found = transcript
            .speakers
            .iter()
            .position(|s| s.id == rename.from || s.label.eq_ignore_ascii_case(&rename.from));
        match found {
            Some(i) => {
                let speaker = &mut transcript.speakers[i];
                if speaker.label != rename.to {
                    changed.insert(speaker.label.clone(), rename.to.clone());
                    speaker.label.clone_from(&rename.to);
                }
            }
            None if transcript.speakers.iter().any(|s| s.label == rename.to) => {}
            None => {
                let known: Vec<String> = transcript
                    .speakers
                    .iter()
                    .map(|s| format!("{:?} ({})", s.label, s.id))
                    .collect();
                return Err(CliError::Usage(format!(
                    "no speaker {:?} in this recording; its speakers are {}",
                    rename.from,
                    known.join(", ")
                )));
            }
        }
    }
    Ok(changed)
}

/// Writes the transcript's exports, the transcript, `summary.md` and `summary.json`, in that
/// order (each JSON file last of its group, as the pipeline writes them).
async fn write_all(
    operator: &Operator,
    recording: &RecordingRef,
    transcript: &Transcript,
    renamed: &BTreeMap<String, String>,
) -> Result<Vec<String>, CliError> {
    let mut written = transcription::activities::store_transcript_files(
        operator.objects.as_ref(),
        &operator.bucket,
        &recording.user_id,
        &recording.recording_id,
        transcript,
    )
    .await
    .map_err(|e| match e {
        transcription::error::EngineError::Storage(e) => CliError::Port(e),
        other => CliError::Usage(format!("the renamed transcript cannot be written: {other}")),
    })?;
    let prefix = processed_prefix(&recording.user_id, &recording.recording_id);
    let summary_key = format!("{prefix}{}", output_files::SUMMARY_JSON);
    let mut summary: MeetingSummary = match operator
        .objects
        .get_bytes(&operator.bucket, &summary_key)
        .await
    {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| CliError::Usage(format!("{summary_key} is not a summary: {e}")))?,
        // Not summarized yet (failed before the summary): the transcript is all there is.
        Err(PortError::NotFound { .. }) => return Ok(written),
        Err(e) => return Err(e.into()),
    };
    rename_in_summary(&mut summary, transcript, renamed);
    let (summary_key, markdown_key) = summary::activity::store_summary(
        operator.objects.as_ref(),
        &operator.bucket,
        &recording.user_id,
        &recording.recording_id,
        &summary,
    )
    .await
    .map_err(|e| match e {
        summary::SummarizeError::Storage(e) => CliError::Port(e),
        other => CliError::Usage(format!("the renamed summary cannot be written: {other}")),
    })?;
    written.extend([markdown_key, summary_key]);
    Ok(written)
}

/// Renames speakers in a summary: its speaker list (from the transcript), owners equal to an
/// old label, and whole-word mentions of an old label in the summary text ("Speaker 1: …").
pub fn rename_in_summary(
    summary: &mut MeetingSummary,
    transcript: &Transcript,
    renamed: &BTreeMap<String, String>,
) {
    let order: Vec<&String> = transcript.speakers.iter().map(|s| &s.label).collect();
    for label in &mut summary.speakers {
        if let Some(name) = renamed.get(label.as_str()) {
            label.clone_from(name);
        }
    }
    summary
        .speakers
        .sort_by_key(|l| order.iter().position(|o| *o == l));
    summary.speakers.dedup();
    for item in &mut summary.action_items {
        if let Some(name) = item.owner.as_ref().and_then(|o| renamed.get(o.as_str())) {
            item.owner = Some(name.clone());
        }
    }
    summary.summary = replace_labels(&summary.summary, renamed);
}

/// Replaces whole-word occurrences of each old label ("Speaker 1" but not "Speaker 12").
fn replace_labels(text: &str, renamed: &BTreeMap<String, String>) -> String {
    // Longest labels first, so "Speaker 12" is not read as "Speaker 1" + "2".
    let mut labels: Vec<(&String, &String)> = renamed.iter().collect();
    labels.sort_by_key(|(old, _)| std::cmp::Reverse(old.len()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        let at_word_start = out.chars().last().is_none_or(|c| !c.is_alphanumeric());
        if at_word_start {
            for (old, new) in &labels {
                if let Some(after) = rest.strip_prefix(old.as_str())
                    && after.chars().next().is_none_or(|c| !c.is_alphanumeric())
                {
                    out.push_str(new);
                    rest = after;
                    continue 'outer;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_parse_as_label_equals_name() {
        assert_eq!(
            parse_rename(" Speaker 1 = Alice Smith "),
            Ok(SpeakerRename {
                from: "Speaker 1".to_owned(),
                to: "Alice Smith".to_owned()
            })
        );
        assert!(parse_rename("Speaker 1").is_err());
        assert!(parse_rename("=Alice").is_err());
        assert!(parse_rename("Speaker 1=").is_err());
        assert!(parse_rename("Speaker 1=<script>").is_err());
        assert!(parse_rename("Speaker 1=**bold**").is_err());
        assert!(parse_rename("Speaker 1=a\nb").is_err());
        assert!(parse_rename(&format!("Speaker 1={}", "x".repeat(65))).is_err());
        assert!(parse_rename("Speaker 1=José O'Neil-Ng").is_ok());
    }

    #[test]
    fn labels_are_replaced_as_whole_words_longest_first() {
        let renamed = BTreeMap::from([
            ("Speaker 1".to_owned(), "Alice".to_owned()),
            ("Speaker 12".to_owned(), "Bob".to_owned()),
        ]);
        assert_eq!(
            replace_labels(
                "Speaker 1: hi.\nSpeaker 12: yes, Speaker 1. XSpeaker 1 Speaker 10",
                &renamed
            ),
            "Alice: hi.\nBob: yes, Alice. XSpeaker 1 Speaker 10"
        );
    }
}
