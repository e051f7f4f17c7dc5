//! One evaluation run: render every meeting (cached), get its notes from the pipeline, score
//! them. A meeting the pipeline fails on is scored as empty notes and the run goes on; a
//! meeting that cannot be rendered stops the run (the set itself is broken).

use std::path::{Path, PathBuf};

use crate::error::EvalError;
use crate::meeting::Meeting;
use crate::metrics::items::MatchRules;
use crate::pipeline::{Notes, NotesPipeline};
use crate::render::{Rendered, render};
use crate::report::RunReport;
use crate::scoring::score_meeting;

/// Renders every meeting into `cache`, reporting progress to `progress`.
///
/// # Errors
/// The first rendering error.
pub fn render_all(
    meetings: &[(PathBuf, Meeting)],
    cache: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Rendered>, EvalError> {
    meetings
        .iter()
        .map(|(_, meeting)| {
            let rendered = render(meeting, cache)?;
            progress(&format!(
                "rendered {} ({:.0} s, {} lines): {}",
                meeting.id,
                rendered.duration_seconds,
                meeting.lines.len(),
                rendered.audio.display()
            ));
            Ok(rendered)
        })
        .collect()
}

/// Renders, processes and scores `meetings`; `text_threshold` is the task/decision overlap
/// needed for a match.
///
/// # Errors
/// A rendering error (processing errors are scored, not returned).
pub fn evaluate(
    meetings: &[(PathBuf, Meeting)],
    cache: &Path,
    pipeline: &dyn NotesPipeline,
    text_threshold: f64,
    progress: &mut dyn FnMut(&str),
) -> Result<RunReport, EvalError> {
    let rendered = render_all(meetings, cache, progress)?;
    let mut results: Vec<(Notes, Option<String>)> = Vec::with_capacity(meetings.len());
    for ((_, meeting), audio) in meetings.iter().zip(&rendered) {
        progress(&format!("processing {} …", meeting.id));
        let result = match pipeline.notes(meeting, &audio.audio) {
            Ok(notes) => {
                progress(&format!(
                    "processed {} in {:.1} s",
                    meeting.id, notes.wall_seconds
                ));
                (notes, None)
            }
            Err(e) => {
                progress(&format!("{}: {e}", meeting.id));
                (Notes::default(), Some(e.to_string()))
            }
        };
        results.push(result);
    }
    // dueDate is judged for every meeting once any summary of the run carries the field: the
    // schema has it, so an item without it says "no date".
    let rules = MatchRules {
        text_threshold,
        judge_due_date: results.iter().any(|(notes, _)| notes.has_due_dates),
    };
    let scores = meetings
        .iter()
        .zip(&rendered)
        .zip(results)
        .map(|(((_, meeting), audio), (notes, error))| {
            score_meeting(
                meeting,
                &audio.turns,
                audio.duration_seconds,
                &notes,
                error,
                rules,
            )
        })
        .collect();
    Ok(RunReport::new(scores, rules))
}
