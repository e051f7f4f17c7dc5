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
    /// Seconds after which a recording that never completed is retired with a final status.
    pub const GIVE_UP_AFTER_SECONDS: &str = "GIVE_UP_AFTER_SECONDS";
    /// Recordings one sweep examines at most.
    pub const SWEEP_LIMIT: &str = "SWEEP_LIMIT";
    /// Seconds after which a `processing` recording is reconciled with DescribeExecution.
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
        WHISPER_MODEL_PATH,
        WHISPER_THREADS,
        MEETING_RECORDER_CACHE,
        FFPROBE_PATH,
        OPENAI_BASE_URL,
        OPENAI_MODEL,
        OPENAI_API_KEY,
    ];
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
}
