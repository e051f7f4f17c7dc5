//! Names shared between the code and its deployment: the environment variables each binary reads
//! and the resource names derived from a deployment prefix. Terraform (`infra/terraform`) sets
//! exactly these variables; a test compares the two so a rename on one side cannot go unnoticed.

/// Environment variables read by the Lambdas and the worker.
pub mod env {
    /// Name of the S3 bucket holding chunks and outputs.
    pub const RECORDINGS_BUCKET: &str = "RECORDINGS_BUCKET";
    /// Name of the DynamoDB chunk tracking table.
    pub const CHUNK_TABLE: &str = "CHUNK_TABLE";
    /// Name of the DynamoDB recording catalog table.
    pub const CATALOG_TABLE: &str = "CATALOG_TABLE";
    /// ARN of the processing state machine.
    pub const STATE_MACHINE_ARN: &str = "STATE_MACHINE_ARN";
    /// Largest accepted chunk, bytes.
    pub const MAX_CHUNK_BYTES: &str = "MAX_CHUNK_BYTES";
    /// Seconds after the end of a recording before missing chunks are reported.
    pub const COMPLETION_GRACE_SECONDS: &str = "COMPLETION_GRACE_SECONDS";
    /// CloudWatch metric namespace for embedded-metric-format metrics.
    pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
    /// Sweeper: seconds after which a recording that never completed (chunks still missing, never
    /// started) is retired with a final status instead of being re-checked forever
    /// (default [`DEFAULT_GIVE_UP_AFTER_SECONDS`]).
    pub const GIVE_UP_AFTER_SECONDS: &str = "GIVE_UP_AFTER_SECONDS";
    /// Sweeper: recordings examined per sweep, oldest due first (default [`DEFAULT_SWEEP_LIMIT`]).
    pub const SWEEP_LIMIT: &str = "SWEEP_LIMIT";
    /// Sweeper: seconds after which a `processing` recording is reconciled with
    /// `DescribeExecution` (default [`DEFAULT_PROCESSING_STALE_SECONDS`]).
    pub const PROCESSING_STALE_SECONDS: &str = "PROCESSING_STALE_SECONDS";
    /// Prefix of the activity ARNs (`arn:aws:states:{region}:{account}:activity:{prefix}`); the
    /// worker appends each activity's name.
    pub const ACTIVITY_ARN_PREFIX: &str = "ACTIVITY_ARN_PREFIX";
    /// Comma-separated activity names this worker serves (default: all).
    pub const WORKER_ACTIVITIES: &str = "WORKER_ACTIVITIES";
    /// Concurrent tasks per activity in one worker.
    pub const WORKER_CONCURRENCY: &str = "WORKER_CONCURRENCY";
    /// Seconds the worker waits for running tasks after SIGTERM.
    pub const WORKER_DRAIN_SECONDS: &str = "WORKER_DRAIN_SECONDS";
    /// Optional: seconds between a running task's heartbeats (default: a third of the
    /// activity's `HeartbeatSeconds`).
    pub const WORKER_HEARTBEAT_SECONDS: &str = "WORKER_HEARTBEAT_SECONDS";
    /// Optional: a directory where the worker spools each task result before reporting it, so
    /// that a restarted worker still reports it (default: unset, no spool; it only helps on
    /// storage that outlives the worker process).
    pub const WORKER_SPOOL_DIR: &str = "WORKER_SPOOL_DIR";
    /// `aws` or `whisper`.
    pub const TRANSCRIBER: &str = "TRANSCRIBER";
    /// `bedrock`, `extractive` or `openai`.
    pub const SUMMARIZER: &str = "SUMMARIZER";
    /// Bedrock model id for summaries.
    pub const BEDROCK_MODEL_ID: &str = "BEDROCK_MODEL_ID";
    /// Default maximum number of speaker labels for Transcribe (2–30).
    pub const MAX_SPEAKERS: &str = "MAX_SPEAKERS";
    /// KMS key Transcribe encrypts its output with, when the bucket requires one.
    pub const TRANSCRIBE_OUTPUT_KMS_KEY: &str = "TRANSCRIBE_OUTPUT_KMS_KEY";
    /// Optional: a ggml Whisper model file to use instead of the converted tiny.en.
    pub const WHISPER_MODEL_PATH: &str = "WHISPER_MODEL_PATH";
    /// Optional: CPU threads per Whisper transcription (default 2).
    pub const WHISPER_THREADS: &str = "WHISPER_THREADS";
    /// Optional: cache folder of the verified model files (default `.cache` in the workspace).
    pub const MEETING_RECORDER_CACHE: &str = "MEETING_RECORDER_CACHE";
    /// Optional: the ffprobe the media activity runs on chunks (default: the minimal build
    /// `scripts/setup-ffprobe.sh` puts in the cache, else `ffprobe` on the `PATH`).
    pub const FFPROBE_PATH: &str = "FFPROBE_PATH";
    /// Optional: the address-space limit, in MiB, of every `ffmpeg`/`ffprobe` process the media
    /// activity starts (default 1024, accepted 512–65536).
    pub const MEDIA_TOOL_MEMORY_MIB: &str = "MEDIA_TOOL_MEMORY_MIB";
    /// Optional: the user vocabulary inline, one term per line (Terraform's
    /// `transcribe_vocabulary`): Whisper's prompt offline, a custom vocabulary on Transcribe.
    pub const VOCABULARY: &str = "VOCABULARY";
    /// Optional: the same as a file path (`recorder --vocabulary`'s format); not with
    /// [`VOCABULARY`].
    pub const VOCABULARY_FILE: &str = "VOCABULARY_FILE";
    /// With `SUMMARIZER=openai`: base URL of an OpenAI-compatible server (`http://host/v1`).
    pub const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
    /// With `SUMMARIZER=openai`: the model name the server expects.
    pub const OPENAI_MODEL: &str = "OPENAI_MODEL";
    /// With `SUMMARIZER=openai`: a bearer token, when the server wants one.
    pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";

    /// Variables a deployment may leave unset (each has a default or only applies to an
    /// engine the deployment does not use).
    pub const OPTIONAL: &[&str] = &[
        WORKER_ACTIVITIES,
        WORKER_HEARTBEAT_SECONDS,
        WORKER_SPOOL_DIR,
        WHISPER_MODEL_PATH,
        WHISPER_THREADS,
        MEETING_RECORDER_CACHE,
        FFPROBE_PATH,
        MEDIA_TOOL_MEMORY_MIB,
        VOCABULARY,
        VOCABULARY_FILE,
        OPENAI_BASE_URL,
        OPENAI_MODEL,
        OPENAI_API_KEY,
    ];

    /// Default of [`GIVE_UP_AFTER_SECONDS`]: 7 days. A client that has not delivered its chunks
    /// within a week will not; the recording ends with a final status the user can act on.
    pub const DEFAULT_GIVE_UP_AFTER_SECONDS: u64 = 7 * 24 * 60 * 60;
    /// Default of [`SWEEP_LIMIT`]: a few DynamoDB / S3 / Step Functions calls per recording, 500
    /// of them fit the sweeper's 300 s Lambda timeout with room to spare (Lambda allows at most
    /// 900 s); the rest wait for the next sweep, five minutes later.
    pub const DEFAULT_SWEEP_LIMIT: u64 = 500;
    /// Default of [`PROCESSING_STALE_SECONDS`]: the workflow's 8 h `TimeoutSeconds` plus 1 h, so
    /// a run is reconciled only after Step Functions itself must have ended it (Standard
    /// workflows may run up to one year; our definition bounds them to 8 h).
    pub const DEFAULT_PROCESSING_STALE_SECONDS: u64 = 8 * 60 * 60 + 60 * 60;
    /// Largest [`WHISPER_THREADS`] (and `--threads`): more threads than this is a typo, not a
    /// machine whisper.cpp scales to.
    pub const MAX_WHISPER_THREADS: usize = 64;
    /// Largest [`WORKER_DRAIN_SECONDS`]: one hour. Fargate stops a task at most 120 s after
    /// SIGTERM; a longer drain only makes sense on a machine of one's own.
    pub const MAX_DRAIN_SECONDS: u64 = 60 * 60;
    /// Largest [`WORKER_HEARTBEAT_SECONDS`]: one day (an activity's `HeartbeatSeconds` must be
    /// longer than the heartbeat period for the heartbeats to keep it alive).
    pub const MAX_HEARTBEAT_SECONDS: u64 = 24 * 60 * 60;
    /// Largest [`MAX_CHUNK_BYTES`]: S3's largest object, 5 TiB.
    pub const MAX_MAX_CHUNK_BYTES: u64 = 5 * 1024 * 1024 * 1024 * 1024;
}

/// Default deployment prefix (`var.name_prefix` in Terraform).
pub const DEFAULT_PREFIX: &str = "meeting-recorder";

/// Resource names derived from a deployment prefix.
pub mod names {
    /// The chunk tracking table.
    pub fn chunk_table(prefix: &str) -> String {
        format!("{prefix}-chunks")
    }
    /// The recording catalog table.
    pub fn catalog_table(prefix: &str) -> String {
        format!("{prefix}-catalog")
    }
    /// The processing state machine.
    pub fn state_machine(prefix: &str) -> String {
        format!("{prefix}-processing")
    }
    /// A Step Functions activity, by the activity's contract name.
    pub fn activity(prefix: &str, activity: &str) -> String {
        format!("{prefix}-{activity}")
    }
    /// The EventBridge rule for chunk objects.
    pub fn chunk_rule(prefix: &str) -> String {
        format!("{prefix}-chunk-created")
    }
    /// The EventBridge rule for manifests.
    pub fn manifest_rule(prefix: &str) -> String {
        format!("{prefix}-manifest-created")
    }
    /// The EventBridge rule for failed, timed-out and aborted processing executions.
    pub fn execution_status_rule(prefix: &str) -> String {
        format!("{prefix}-execution-status-changed")
    }
    /// A Lambda function, by its binary name (`chunk-upload-handler`, `catalog-stream-handler`,
    /// `sweeper`, `execution-status-handler`).
    pub fn lambda_function(prefix: &str, function: &str) -> String {
        format!("{prefix}-{function}")
    }
    /// The binary names of the Lambda functions (one `bootstrap` each, one Terraform function).
    pub const LAMBDA_FUNCTIONS: [&str; 4] = [
        "chunk-upload-handler",
        "catalog-stream-handler",
        "sweeper",
        "execution-status-handler",
    ];
}
