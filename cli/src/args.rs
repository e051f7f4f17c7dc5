//! The command line: what a newcomer sees with `recorder --help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Process meeting recordings on this machine: no cloud account, no network.
///
/// `recorder process meeting.mp4` cuts the file into 10-second chunks as the desktop client
/// does, uploads them to a local bucket (in random order, some twice, as S3 events would arrive),
/// then runs the same backend as on AWS: chunk tracking, completion detection, the generated
/// Step Functions workflow on a local engine, FFmpeg, Whisper (offline) and an extractive
/// summarizer. It prints where the results are, the transcript and the summary.
///
/// Everything is kept in the data directory (default ./data): objects under objects/, the
/// catalog in recorder.db.
#[derive(Debug, Parser)]
#[command(
    name = "recorder",
    version,
    propagate_version = true,
    after_help = "Examples:\n  \
        recorder process meeting.mp4                  cut, upload, process; print transcript and summary\n  \
        recorder process chunks/ --recording sync-1   a folder of chunk_000.mp4, chunk_001.mp4, …\n  \
        recorder --json process meeting.mp4           the same as one JSON document on stdout\n  \
        recorder status                               every recording and its status\n  \
        recorder status sync-1                        one recording: missing chunks, error, cause, results\n  \
        recorder reprocess sync-1                     run the workflow again (run 1, 2, …)\n  \
        recorder serve                                Step Functions API + watched folder data/inbox/\n  \
        recorder serve --no-workers & recorder worker the same, with the workers in their own process\n\n\
        Exit codes: 0 completed, 1 the recording did not complete (status and cause on stderr),\n\
        2 bad input or arguments, 3 a problem with this machine (tools, model, disk)."
)]
pub struct Cli {
    /// Where recordings, results and the catalog are kept.
    #[arg(long, global = true, default_value = "data", env = "RECORDER_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// More log output on stderr (-v warnings and info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process a meeting: a media file (any format FFmpeg reads) or a folder of chunk_NNN.mp4
    /// files, end to end; prints the transcript and the summary.
    Process(ProcessArgs),
    /// Show the status of one recording, or of all recordings.
    Status(StatusArgs),
    /// Process a completed or failed recording again (a new run with its own execution).
    Reprocess(ReprocessArgs),
    /// Run the local backend as a service: the Step Functions API for workers and a watched
    /// folder for uploads.
    Serve(ServeArgs),
    /// Run the activity workers (FFmpeg, Whisper, summary) in this process against a
    /// `recorder serve --no-workers` elsewhere on this machine: its Step Functions API and its
    /// data directory.
    Worker(WorkerArgs),
}

/// Options shared by the commands that run the pipeline.
#[derive(Debug, Args, Clone)]
pub struct PipelineArgs {
    /// Seconds to wait for missing chunks after the manifest arrives before the recording is
    /// marked incomplete_chunks (the cloud default is 900).
    #[arg(long, default_value_t = 5)]
    pub grace_seconds: u64,

    /// CPU threads for Whisper.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// `recorder process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// A media file (mp4, m4a, wav, mp3, …) or a folder of chunk_NNN.mp4 files (with an optional
    /// manifest.json).
    pub input: PathBuf,

    /// The user the recording belongs to.
    #[arg(long, default_value = "local-user")]
    pub user: String,

    /// The recording id (letters, digits, `_`, `-`); default: derived from the file name and
    /// the time.
    #[arg(long)]
    pub recording: Option<String>,

    /// Chunk length in seconds when cutting a media file.
    #[arg(long, default_value_t = 10.0)]
    pub chunk_seconds: f64,

    /// Pipeline options.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `recorder status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The recording; all recordings when omitted.
    pub recording: Option<String>,
}

/// `recorder reprocess`.
#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// The recording to process again.
    pub recording: String,

    /// Pipeline options.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `recorder serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the Step Functions API (JSON 1.0 protocol; point workers at it with
    /// AWS_ENDPOINT_URL=http://ADDRESS).
    #[arg(long, default_value = "127.0.0.1:8083")]
    pub listen: std::net::SocketAddr,

    /// Folder watched for uploads: put files at
    /// FOLDER/users/{user}/chunks/{recording}/chunk_NNN.mp4 and …/manifest.json.
    /// Default: DATA_DIR/inbox.
    #[arg(long)]
    pub watch: Option<PathBuf>,

    /// Do not run activity workers in this process (run them elsewhere against --listen).
    #[arg(long)]
    pub no_workers: bool,

    /// Seconds to wait for missing chunks after the end of a recording is known.
    #[arg(long, default_value_t = 900)]
    pub grace_seconds: u64,

    /// CPU threads for Whisper.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,

    /// Run this workflow definition (Amazon States Language JSON) instead of the generated
    /// asl/processing.asl.json, e.g. one with shorter heartbeat timeouts.
    #[arg(long)]
    pub definition: Option<PathBuf>,
}

/// `recorder worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The Step Functions API of `recorder serve` (the address it prints).
    #[arg(long, default_value = "http://127.0.0.1:8083")]
    pub endpoint: String,

    /// CPU threads for Whisper.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,

    /// Seconds between heartbeats of a running task; default: a third of each activity's
    /// HeartbeatSeconds in the workflow.
    #[arg(long)]
    pub heartbeat_seconds: Option<u64>,

    /// Seconds running tasks may finish after Ctrl-C/SIGTERM; then they are failed as
    /// Worker.Interrupted, which the workflow retries.
    #[arg(long, default_value_t = 30)]
    pub drain_seconds: u64,

    /// Name shown in the execution history for the tasks this worker runs.
    #[arg(long, default_value = "recorder-worker")]
    pub name: String,
}
