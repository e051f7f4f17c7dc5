//! The command line: what a newcomer sees with `recorder --help`.

use std::path::{Path, PathBuf};

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand};
use meeting_domain::deployment::env;
use recorder_lambdas::config::MAX_DURATION_SECONDS;

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
        recorder reprocess sync-1 --from summary      only summarize again, reusing media and transcript\n  \
        recorder list --user local-user               a user's recordings, newest first\n  \
        recorder serve                                Step Functions API + watched folder data/inbox/\n  \
        recorder serve --no-workers & recorder worker the same, with the workers in their own process\n\n\
        Operating a deployment on AWS (--backend aws; names from --terraform-outputs FILE, the\n\
        flags or their environment variables, else the defaults of --prefix):\n  \
        terraform -chdir=infra/terraform output -json > outputs.json\n  \
        recorder --backend aws --terraform-outputs outputs.json status rec-1\n  \
        recorder --backend aws list --user u-1 --status processing_failed\n  \
        recorder --backend aws reprocess rec-1 --from summary   new run, stored media and transcript reused\n  \
        recorder --backend aws reprocess rec-1 --redrive        RedriveExecution of the failed execution\n  \
        recorder --backend aws dlq inspect                      what the dead-letter queues hold\n  \
        recorder --backend aws dlq replay --limit 50            through the ingest handler; delete when handled\n  \
        (runbook: cli/OPERATING.md)\n\n\
        One recorder per data directory: process, reprocess and serve lock it (DATA_DIR/recorder.lock);\n\
        status and list only read and work while serve runs. Ctrl-C (or SIGTERM) saves the recording;\n\
        run the same `recorder process …` again to resume it, or after adding a missing chunk or\n\
        replacing a rejected one: only new or changed chunks are uploaded.\n\n\
        Exit codes: 0 completed, 1 the recording did not complete (status, cause and what to do on\n\
        stderr) or dead letters still fail after `dlq replay`,\n\
        2 bad input or arguments, 3 a problem with this machine (tools, model, disk) or the data\n\
        directory is in use by another recorder, 130/143 interrupted by SIGINT/SIGTERM (saved)."
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

    /// Which backend the operator commands (status, list, reprocess, dlq) work on.
    #[command(flatten)]
    pub backend: BackendArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process a meeting: a media file (any format FFmpeg reads) or a folder of chunk_NNN.mp4
    /// files, end to end; prints the transcript and the summary. Run again with the same input
    /// and recording, it resumes an interrupted run, uploads the chunks the recording does not
    /// hold yet (or holds with other bytes), and prints the result of a finished one.
    Process(ProcessArgs),
    /// Show the status of one recording (catalog status, error and cause, the execution and its
    /// state, missing and failed chunks), or of all recordings (local backend).
    Status(StatusArgs),
    /// List the recordings of a user, newest first (the catalog's user index).
    List(ListArgs),
    /// Inspect or replay the dead-letter queues of a deployment (--backend aws).
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Process a completed, failed or interrupted recording again: a new run with its own execution
    /// (`{recording}-r{run}-{hash}`), from the first stage or, with `--from`, resuming at a later one
    /// with the outputs stored by earlier runs; or `--redrive` the failed execution (AWS).
    Reprocess(ReprocessArgs),
    /// Name the speakers of a processed recording ("Speaker 1=Alice"): the transcript, every
    /// export and the summary are written again with the names, without recognising the speech
    /// again. Without names, lists the speakers, their talk time and the names the conversation
    /// suggests.
    Speakers(SpeakersArgs),
    /// Run the local backend as a service: the Step Functions API for workers and a watched
    /// folder for uploads.
    Serve(ServeArgs),
    /// Run the activity workers (FFmpeg, Whisper, summary) in this process against a
    /// `recorder serve --no-workers` elsewhere on this machine: its Step Functions API and its
    /// data directory.
    Worker(WorkerArgs),
}

/// How the offline recogniser is set up (`process`, `serve`, `worker`).
#[derive(Debug, Args, Clone, Default)]
pub struct RecognizerArgs {
    /// The offline speech model: `tiny.en` (installed by setup) or `base` (multilingual, about
    /// 2× slower, lower word error; install it with `scripts/setup.sh models-base`). Default:
    /// WHISPER_MODEL_PATH when set, else tiny.en.
    #[arg(long, value_parser = offline_model)]
    pub model: Option<transcription::model::OfflineModel>,

    /// A word list (one term per line: names, product words, acronyms; `#` comments) that
    /// Whisper is prompted with in every window, so they are spelled right. `DynamoDB =
    /// Dynamo-D.B.` also says how a term is pronounced, for Amazon Transcribe custom
    /// vocabularies (the same file works there).
    #[arg(long, value_name = "FILE", value_parser = vocabulary_file)]
    pub vocabulary: Option<transcription::vocabulary::Vocabulary>,

    /// At most this many speakers (1 to 8) when you know there were no more; without it the
    /// number of speakers is estimated from the voices (up to 8).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=8))]
    pub speakers: Option<u8>,
}

/// Options shared by the commands that run the pipeline.
#[derive(Debug, Args, Clone)]
pub struct PipelineArgs {
    /// Seconds to wait for missing chunks after the manifest arrives before the recording is
    /// marked incomplete_chunks (the cloud default is 900).
    #[arg(long, default_value_t = 5, value_parser = grace_seconds())]
    pub grace_seconds: u64,

    /// CPU threads for Whisper (1 to 64).
    #[arg(long, default_value_t = 2, value_parser = whisper_threads())]
    pub threads: usize,

    #[command(flatten)]
    pub recognizer: RecognizerArgs,
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

    /// The recording id (letters, digits, `_`, `-`); default: the input's name and a hash of its
    /// path (and, for a file, its size and modification time), so running the same command
    /// again finds the same recording.
    #[arg(long)]
    pub recording: Option<String>,

    /// Chunk length in seconds when cutting a media file.
    #[arg(long, default_value_t = 10.0, value_parser = chunk_seconds)]
    pub chunk_seconds: f64,

    /// When the meeting started, for a media file that does not say (its `creation_time` tag):
    /// `2026-03-10T10:00:00+01:00` or `2026-03-10`. Spoken due dates ("by Friday") are resolved
    /// against its day; without either, action items keep the phrase and get no date.
    #[arg(long, value_parser = recorded_at)]
    pub recorded_at: Option<chrono::DateTime<chrono::FixedOffset>>,

    /// Pipeline options.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `recorder status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The recording; all recordings when omitted.
    pub recording: Option<String>,

    /// The user the recording belongs to (recording ids are unique per user only).
    #[arg(long, default_value = "local-user")]
    pub user: String,
}

/// `recorder speakers`.
#[derive(Debug, Args)]
pub struct SpeakersArgs {
    /// The recording.
    pub recording: String,

    /// Renames, each `LABEL=NAME`: a current label (`"Speaker 1"`) or speaker id (`spk_0`), then
    /// the name (1–64 characters, no markup).
    #[arg(value_parser = crate::speakers::parse_rename)]
    pub renames: Vec<crate::speakers::SpeakerRename>,

    /// The user the recording belongs to (recording ids are unique per user only).
    #[arg(long, default_value = "local-user")]
    pub user: String,
}

/// `recorder reprocess`.
#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// The recording to process again.
    pub recording: String,

    /// The user the recording belongs to (recording ids are unique per user only).
    #[arg(long, default_value = "local-user")]
    pub user: String,

    /// The first stage of the new run; the outputs of earlier stages stored by a previous run
    /// are reused (media: recording.mp4 and the speech audio; transcription: transcript.json).
    #[arg(long, value_enum, default_value_t = Stage::Media, conflicts_with = "redrive")]
    pub from: Stage,

    /// Instead of a new run, redrive the failed execution of the current run (Step Functions
    /// RedriveExecution: it continues from the unsuccessful step). AWS only.
    #[arg(long)]
    pub redrive: bool,

    /// AWS: wait until the new run finishes (polling the catalog) and exit 1 if it fails.
    #[arg(long)]
    pub wait: bool,

    /// Pipeline options.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `recorder serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the Step Functions API (JSON 1.0 protocol; point workers at it with
    /// AWS_ENDPOINT_URL=http://ADDRESS). An address other than loopback needs
    /// RECORDER_API_SECRET (or --api-insecure-no-secret).
    #[arg(long, default_value = "127.0.0.1:8083")]
    pub listen: std::net::SocketAddr,

    /// A shared secret every API request must carry in the `x-recorder-api-secret` header.
    /// Optional on loopback, required on any other --listen address. Prefer the environment
    /// variable: a flag's value shows in `ps`.
    #[arg(long, env = "RECORDER_API_SECRET", hide_env_values = true)]
    pub api_secret: Option<crate::api_access::ApiSecret>,

    /// More host names clients may use to reach the API (the Host header), besides localhost
    /// and the --listen address, e.g. the machine's LAN name; comma-separated in the variable.
    #[arg(long = "api-host", env = "RECORDER_API_HOSTS", value_delimiter = ',')]
    pub api_hosts: Vec<String>,

    /// Serve the API on a non-loopback --listen address without a secret: anyone who reaches
    /// the address can start executions and complete or fail tasks.
    #[arg(long, env = "RECORDER_API_INSECURE_NO_SECRET")]
    pub api_insecure_no_secret: bool,

    /// Folder watched for uploads: put files at
    /// FOLDER/users/{user}/chunks/{recording}/chunk_NNN.mp4 and …/manifest.json.
    /// Default: DATA_DIR/inbox.
    #[arg(long)]
    pub watch: Option<PathBuf>,

    /// Do not run activity workers in this process (run them elsewhere against --listen).
    #[arg(long)]
    pub no_workers: bool,

    /// Seconds to wait for missing chunks after the end of a recording is known.
    #[arg(long, default_value_t = 900, value_parser = grace_seconds())]
    pub grace_seconds: u64,

    /// CPU threads for Whisper (1 to 64).
    #[arg(long, default_value_t = 2, value_parser = whisper_threads())]
    pub threads: usize,

    #[command(flatten)]
    pub recognizer: RecognizerArgs,

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

    /// CPU threads for Whisper (1 to 64).
    #[arg(long, default_value_t = 2, value_parser = whisper_threads())]
    pub threads: usize,

    #[command(flatten)]
    pub recognizer: RecognizerArgs,

    /// Seconds between heartbeats of a running task; default: a third of each activity's
    /// HeartbeatSeconds in the workflow.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=env::MAX_HEARTBEAT_SECONDS))]
    pub heartbeat_seconds: Option<u64>,

    /// Seconds running tasks may finish after Ctrl-C/SIGTERM; then they are failed as
    /// Worker.Interrupted, which the workflow retries.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=env::MAX_DRAIN_SECONDS))]
    pub drain_seconds: u64,

    /// Name shown in the execution history for the tasks this worker runs.
    #[arg(long, default_value = "recorder-worker")]
    pub name: String,

    /// The shared secret of a `serve` started with RECORDER_API_SECRET: sent with every call in
    /// the x-recorder-api-secret header.
    #[arg(long, env = "RECORDER_API_SECRET", hide_env_values = true)]
    pub api_secret: Option<crate::api_access::ApiSecret>,
}

/// Where operator commands find the recordings: this machine or a deployment on AWS.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Backend of status, list, reprocess and dlq")]
pub struct BackendArgs {
    /// `local` (the data directory) or `aws` (a deployment: DynamoDB, S3, Step Functions, SQS).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = BackendKind::Local,
        env = "RECORDER_BACKEND"
    )]
    pub backend: BackendKind,

    /// The JSON of `terraform output -json` for the deployment: bucket, tables, state machine
    /// and dead-letter queues are read from it (flags and their variables take precedence).
    #[arg(long, global = true, env = "RECORDER_TERRAFORM_OUTPUTS")]
    pub terraform_outputs: Option<PathBuf>,

    /// AWS region (default: the SDK's: AWS_REGION, the profile).
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,

    /// AWS profile of the shared config/credentials files.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// Endpoint of an emulator (moto) instead of AWS.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// The deployment's name prefix (Terraform `name_prefix`); names not given otherwise
    /// derive from it (`{prefix}-catalog`, `{prefix}-chunks`, `{prefix}-processing`, …).
    #[arg(long, global = true, env = "RECORDER_PREFIX", default_value = meeting_domain::deployment::DEFAULT_PREFIX)]
    pub prefix: String,

    /// The recordings bucket.
    #[arg(long, global = true, env = "RECORDINGS_BUCKET")]
    pub bucket: Option<String>,

    /// The catalog table (default `{prefix}-catalog`).
    #[arg(long, global = true, env = "CATALOG_TABLE")]
    pub catalog_table: Option<String>,

    /// The chunk table (default `{prefix}-chunks`).
    #[arg(long, global = true, env = "CHUNK_TABLE")]
    pub chunk_table: Option<String>,

    /// The processing state machine (default: the one named `{prefix}-processing`).
    #[arg(long, global = true, env = "STATE_MACHINE_ARN")]
    pub state_machine_arn: Option<String>,

    /// The EventBridge dead-letter queue (default: the queue named `{prefix}-events-dlq`).
    #[arg(long, global = true, env = "RECORDER_EVENTS_DLQ_URL")]
    pub events_dlq_url: Option<String>,

    /// The Lambda dead-letter queue (default: the queue named `{prefix}-lambda-dlq`).
    #[arg(long, global = true, env = "RECORDER_LAMBDA_DLQ_URL")]
    pub lambda_dlq_url: Option<String>,
}

/// The backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BackendKind {
    /// The data directory on this machine.
    #[default]
    Local,
    /// A deployment on AWS.
    Aws,
}

/// The stage a reprocessing run starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// Everything again: join the chunks, transcribe, summarize.
    Media,
    /// Transcribe the stored speech audio again, then summarize.
    Transcription,
    /// Summarize the stored transcript again.
    Summary,
}

/// `recorder list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The user.
    #[arg(long)]
    pub user: String,

    /// Only recordings with this status (recording, incomplete_chunks, ready_for_processing,
    /// processing, completed, processing_failed).
    #[arg(long)]
    pub status: Option<String>,

    /// At most this many recordings.
    #[arg(long, default_value_t = 100, value_parser = list_limit())]
    pub limit: usize,
}

/// `recorder dlq`.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Show the messages of the dead-letter queues without removing them.
    Inspect(DlqArgs),
    /// Push each message's event through the ingest handler (idempotent: an already recorded
    /// chunk is a no-op); delete a message only after it was handled. Messages that still fail
    /// stay in the queue.
    Replay(DlqArgs),
}

/// Options of `recorder dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    /// Which queue: `events` (EventBridge target DLQ), `lambda` (Lambda DLQ and on-failure
    /// destination), `all`, or a queue URL.
    #[arg(long, default_value = "all")]
    pub queue: String,

    /// At most this many messages per queue.
    #[arg(long, default_value_t = 100, value_parser = list_limit())]
    pub limit: usize,
}

/// `--grace-seconds`: 0 to [`MAX_DURATION_SECONDS`] (ten years; timestamps overflow far beyond).
fn grace_seconds() -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::new().range(0..=MAX_DURATION_SECONDS)
}

/// `--vocabulary`: a readable word list that follows the rules of
/// [`transcription::vocabulary`].
fn vocabulary_file(raw: &str) -> Result<transcription::vocabulary::Vocabulary, String> {
    let vocabulary =
        transcription::vocabulary::Vocabulary::read(Path::new(raw)).map_err(|e| e.to_string())?;
    if vocabulary.is_empty() {
        return Err(format!(
            "{raw} holds no terms (one per line; # starts a comment)"
        ));
    }
    Ok(vocabulary)
}

/// `--model`: a model name [`transcription::model::OfflineModel`] knows.
fn offline_model(raw: &str) -> Result<transcription::model::OfflineModel, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not an offline model; choose tiny.en or base"))
}

/// `--threads`: 1 to [`env::MAX_WHISPER_THREADS`].
fn whisper_threads() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..=env::MAX_WHISPER_THREADS as u64)
}

/// `--limit`: 1 to 10,000 recordings or messages.
fn list_limit() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..=10_000)
}

/// `--recorded-at`: a time as [`meeting_domain::recorded_at::parse`] reads it, or a date (its
/// midnight, UTC), in [`meeting_domain::recorded_at::PLAUSIBLE_YEARS`].
fn recorded_at(raw: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    use meeting_domain::recorded_at::{PLAUSIBLE_YEARS, is_plausible, parse_any_year};
    let raw = raw.trim();
    let time = parse_any_year(raw)
        .or_else(|| {
            let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
            Some(day.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
        })
        .ok_or_else(|| {
            format!("{raw:?} is neither a time like 2026-03-10T10:00:00+01:00 nor a date like 2026-03-10")
        })?;
    if is_plausible(&time) {
        Ok(time)
    } else {
        Err(format!(
            "{raw} is outside the years {} to {}",
            PLAUSIBLE_YEARS.start(),
            PLAUSIBLE_YEARS.end()
        ))
    }
}

/// The chunk lengths `--chunk-seconds` accepts: the client's chunks are seconds to minutes long.
pub const CHUNK_SECONDS: std::ops::RangeInclusive<f64> = 1.0..=600.0;

/// `--chunk-seconds`: a finite number of seconds in [`CHUNK_SECONDS`].
fn chunk_seconds(raw: &str) -> Result<f64, String> {
    let value: f64 = raw
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("{raw:?} is not a number of seconds"))?;
    if CHUNK_SECONDS.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{raw} is outside {}..={} seconds",
            CHUNK_SECONDS.start(),
            CHUNK_SECONDS.end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use clap::error::ErrorKind;

    use super::Cli;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("recorder").chain(args.iter().copied()))
    }

    #[test]
    fn the_offline_model_and_the_recording_date_are_checked_when_parsed() {
        let cli = parse(&[
            "process",
            "m.mp4",
            "--model",
            "base",
            "--recorded-at",
            "2026-03-10",
        ])
        .expect("parses");
        let super::Command::Process(args) = cli.command else {
            panic!("process");
        };
        assert_eq!(
            args.pipeline.recognizer.model,
            Some(transcription::model::OfflineModel::Base)
        );
        assert_eq!(
            args.recorded_at.map(|t| t.to_rfc3339()),
            Some("2026-03-10T00:00:00+00:00".to_owned())
        );
        for bad in [
            ["--model", "large-v3"],
            ["--recorded-at", "next tuesday"],
            ["--recorded-at", "1066-10-14"],
        ] {
            let err = parse(&["process", "m.mp4", bad[0], bad[1]]).expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{bad:?}: {err}");
        }
    }

    #[test]
    fn given_out_of_range_numbers_when_parsed_then_each_is_refused_with_its_range() {
        let cases: &[&[&str]] = &[
            &[
                "process",
                "m.mp4",
                "--grace-seconds",
                "18446744073709551615",
            ],
            &["process", "m.mp4", "--grace-seconds=-1"],
            &["process", "m.mp4", "--threads", "0"],
            &["process", "m.mp4", "--threads", "65"],
            &["process", "m.mp4", "--chunk-seconds", "NaN"],
            &["process", "m.mp4", "--chunk-seconds", "inf"],
            &["process", "m.mp4", "--chunk-seconds", "0.5"],
            &["process", "m.mp4", "--chunk-seconds", "1e300"],
            &["serve", "--grace-seconds", "999999999999"],
            &["serve", "--threads", "100000"],
            &["reprocess", "r", "--threads", "0"],
            &["worker", "--heartbeat-seconds", "0"],
            &["worker", "--heartbeat-seconds", "18446744073709551615"],
            &["worker", "--drain-seconds", "18446744073709551615"],
            &["list", "--user", "u", "--limit", "0"],
        ];
        for args in cases {
            let error = parse(args).expect_err(&args.join(" "));
            assert_eq!(
                error.kind(),
                ErrorKind::ValueValidation,
                "{args:?}: {error}"
            );
        }
    }

    #[test]
    fn given_numbers_in_range_when_parsed_then_they_are_accepted() {
        let cases: &[&[&str]] = &[
            &[
                "process",
                "m.mp4",
                "--grace-seconds",
                "0",
                "--threads",
                "64",
                "--chunk-seconds",
                "2.5",
            ],
            &["serve", "--grace-seconds", "315360000"],
            &["worker", "--heartbeat-seconds", "5", "--drain-seconds", "0"],
            &["list", "--user", "u", "--limit", "10000"],
        ];
        for args in cases {
            parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
    }
}
