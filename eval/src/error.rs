//! The one error type of the evaluation crate. Messages are lower-case and say what to do.

use std::path::PathBuf;

/// What can go wrong while loading, rendering, processing or scoring the evaluation set.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not the JSON expected.
    #[error("{path}: not the JSON expected: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A meeting file is inconsistent.
    #[error("{path}: not a usable meeting: {problem}")]
    InvalidMeeting {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problem: String,
    },
    /// `--meetings` is not a glob pattern.
    #[error("--meetings {pattern:?} is not a glob pattern: {source}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// Why.
        #[source]
        source: glob::PatternError,
    },
    /// `--meetings` matched no file.
    #[error("no meeting file matches {pattern:?}; the set is in eval/meetings/*.json")]
    NoMeetings {
        /// The pattern.
        pattern: String,
    },
    /// A tool could not be started.
    #[error(
        "`{tool}` could not be run ({source}); install the media tools with `scripts/setup.sh apt`"
    )]
    ToolMissing {
        /// The tool.
        tool: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A tool ran and failed.
    #[error("`{tool}` failed: {detail}")]
    ToolFailed {
        /// The tool.
        tool: String,
        /// Its complaint.
        detail: String,
    },
    /// The `recorder` binary is not there.
    #[error(
        "the recorder binary {path} does not exist; build it with `cargo build -p recorder-cli` or pass --recorder PATH"
    )]
    RecorderMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// `recorder process` did not produce notes for a meeting.
    #[error("recorder process failed on {meeting} (exit {code:?}): {detail}")]
    RecorderFailed {
        /// The meeting id.
        meeting: String,
        /// Its exit code.
        code: Option<i32>,
        /// Its stderr (last lines) or what was missing from its report.
        detail: String,
    },

    /// `--resummarize`: the offline summarizer refused a saved transcript.
    #[error("summarizing the saved transcript of {meeting} failed: {detail}")]
    Resummarize {
        /// The meeting id.
        meeting: String,
        /// The summarizer's error.
        detail: String,
    },
}
