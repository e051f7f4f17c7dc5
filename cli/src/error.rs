//! Errors of the command-line tool: each is one line a user can act on.

use std::path::PathBuf;

/// What can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input does not exist.
    #[error(
        "{0}: no such file or folder; give a media file (mp4, m4a, wav, …) or a folder of chunk_NNN.mp4 files"
    )]
    NoInput(PathBuf),
    /// The input is not media FFmpeg can read, or has no audio.
    #[error("{path}: not a media file with an audio track ({detail})")]
    NotMedia {
        /// The input.
        path: PathBuf,
        /// What ffprobe said.
        detail: String,
    },
    /// A folder without chunks.
    #[error(
        "{path}: no chunk files in this folder{found}; a folder must hold chunk_000.mp4, chunk_001.mp4, … (three or more digits), as the desktop client writes them; to process one media file, give its path instead"
    )]
    NoChunks {
        /// The folder.
        path: PathBuf,
        /// What the folder holds instead, e.g. ` (it holds 2 other files: a.txt, b.wav)`.
        found: String,
    },
    /// Another `recorder` runs the backend on this data directory.
    #[error(
        "the data directory {} is in use by another recorder ({holder}); wait for it to finish or stop it (Ctrl-C), or use another --data-dir. `recorder status` works while it runs",
        data_dir.display()
    )]
    Locked {
        /// The data directory.
        data_dir: PathBuf,
        /// Who holds the lock: pid and command.
        holder: String,
    },
    /// FFmpeg or ffprobe is not installed or failed.
    #[error("{0}")]
    Tool(String),
    /// A bad argument value.
    #[error("{0}")]
    Usage(String),
    /// The recording is not in the catalog.
    #[error(
        "recording {0} is not in the catalog (see `recorder status` locally, `recorder list --user ID` on AWS)"
    )]
    UnknownRecording(String),
    /// The recording exists already.
    #[error(
        "recording {0} already exists; pick another --recording or run `recorder reprocess {0}`"
    )]
    RecordingExists(String),
    /// The recording cannot be reprocessed from its status.
    #[error(
        "recording {recording} is {status}; only completed or processing_failed recordings can be reprocessed"
    )]
    NotReprocessable {
        /// The recording.
        recording: String,
        /// Its status.
        status: String,
    },
    /// The recording did not complete.
    #[error("recording {recording} {status}: {detail}")]
    RecordingFailed {
        /// The recording.
        recording: String,
        /// Its final status.
        status: String,
        /// Error and cause.
        detail: String,
    },
    /// The operation is not available on this backend.
    #[error("{0}")]
    Unsupported(String),
    /// The stored outputs a resumed run needs are missing.
    #[error("recording {recording} cannot resume at the {stage} stage: {detail}")]
    NotResumable {
        /// The recording.
        recording: String,
        /// The requested stage.
        stage: String,
        /// What is missing.
        detail: String,
    },
    /// Dead letters that could not be handled remain in their queue.
    #[error(
        "{count} dead-letter message(s) still fail and stay in the queue; fix the cause and replay again"
    )]
    DeadLettersRemain {
        /// How many.
        count: usize,
    },
    /// The local backend failed.
    #[error(transparent)]
    Local(#[from] recorder_local::LocalError),
    /// A storage or catalog operation failed.
    #[error(transparent)]
    Port(#[from] meeting_domain::PortError),
    /// The ingest/completion logic failed.
    #[error(transparent)]
    Ingest(#[from] recorder_lambdas::LambdaError),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code: 1 for a recording that did not complete, 2 for bad input or
    /// usage, 3 for environment problems (tools, model, storage) and a data directory another
    /// `recorder` holds. (130 and 143, interrupted by SIGINT/SIGTERM, are not errors: see
    /// [`crate::interrupt`].)
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::RecordingFailed { .. } | Self::DeadLettersRemain { .. } => 1,
            Self::NoInput(_)
            | Self::NotMedia { .. }
            | Self::NoChunks { .. }
            | Self::Usage(_)
            | Self::UnknownRecording(_)
            | Self::RecordingExists(_)
            | Self::NotReprocessable { .. }
            | Self::Unsupported(_)
            | Self::NotResumable { .. } => 2,
            Self::Tool(_)
            | Self::Locked { .. }
            | Self::Local(_)
            | Self::Port(_)
            | Self::Ingest(_)
            | Self::Io { .. } => 3,
        }
    }
}
