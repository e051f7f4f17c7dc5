//! The JSON contracts exchanged between the Lambdas, Step Functions, the activity workers and the
//! files a recording produces. Each type derives serde and schemars; `cargo run -p statemachine`
//! writes their JSON Schemas to `asl/schemas/`, the data-flow check of the workflow reads them, and
//! the tests validate example payloads against them.
//!
//! Payloads that travel through Step Functions carry S3 keys and small metadata only: the
//! service limits a state's input/output to 256 KiB.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::activity::{ActivityContract, ActivityErrorName};
use crate::ids::{ChunkIndex, RecordingId, RecordingRef, UserId};
use crate::status::RecordingStatus;

// ---------------------------------------------------------------------------------------------
// Execution input
// ---------------------------------------------------------------------------------------------

/// The input of one processing execution. Canonical (no timestamps), so that a retried
/// `StartExecution` with the same name sends byte-identical input and Step Functions treats it as
/// the same execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessingInput {
    /// Owner of the recording.
    pub user_id: UserId,
    /// The recording.
    pub recording_id: RecordingId,
    /// Bucket holding the chunks and receiving the outputs.
    pub bucket: String,
    /// Number of chunks; the chunks are exactly indices `0..chunkCount`.
    #[schemars(range(min = 1, max = 100_000))]
    pub chunk_count: u32,
    /// 0 for the first run; reprocessing runs count up and get their own execution name.
    pub run: u32,
    /// Options for the transcription stage.
    pub options: ProcessingOptions,
    /// Where a reprocessing run starts, with the stored outputs of the stages it skips; absent
    /// for a full run (and then not serialized, so a first run's input is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumePoint>,
    /// Key of the recording's `manifest.json` when its end signal was a manifest (the media
    /// stage then verifies every chunk's SHA-256 the manifest lists); `null` otherwise. Always
    /// serialized, so the input of a start is the same bytes on every retry.
    #[serde(default)]
    pub manifest_key: Option<String>,
}

impl ProcessingInput {
    /// The canonical input of a full run of `record` (its current `run`, default options, no
    /// resume point) over `chunk_count` chunks in `bucket`. No timestamps: a retried start with
    /// the same record is byte-equal.
    pub fn for_record(record: &CatalogRecord, bucket: impl Into<String>, chunk_count: u32) -> Self {
        Self {
            user_id: record.user_id.clone(),
            recording_id: record.recording_id.clone(),
            bucket: bucket.into(),
            chunk_count,
            run: record.run,
            options: ProcessingOptions::default(),
            resume: None,
            manifest_key: None,
        }
    }
}

/// The stage a reprocessing run resumes at (a full run starts at the media stage and needs no
/// [`ResumePoint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResumeStage {
    /// Transcribe again from the stored speech audio, then summarize.
    Transcription,
    /// Summarize again from the stored transcript.
    Summary,
}

impl ResumeStage {
    /// The name used in the execution input and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transcription => "transcription",
            Self::Summary => "summary",
        }
    }
}

/// Where a reprocessing run resumes, with the stored outputs the later stages read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumePoint {
    /// The first stage that runs.
    pub from: ResumeStage,
    /// The stored output of the media stage (keys of `recording.mp4` and the speech audio).
    pub media: MediaOutput,
    /// Key of the stored `transcript.json`; required when resuming at the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_key: Option<String>,
}

/// Per-recording options carried from the catalog into the workflow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessingOptions {
    /// Maximum number of distinct speakers to label (Transcribe allows 2–30). `None` lets the
    /// transcriber decide (offline: estimated; Transcribe: the configured default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 30))]
    pub max_speakers: Option<u8>,
    /// BCP-47 language code of the meeting, default `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Output layout
// ---------------------------------------------------------------------------------------------

/// Where the outputs of a recording go: `users/{userId}/processed/{recordingId}/…`.
pub fn processed_prefix(user: &UserId, recording: &RecordingId) -> String {
    format!("users/{user}/processed/{recording}/")
}

/// Names of the files written under [`processed_prefix`].
pub mod output_files {
    /// Stream-copied join of all chunks.
    pub const RECORDING: &str = "recording.mp4";
    /// 16 kHz mono audio for speech recognition.
    pub const AUDIO: &str = "audio.flac";
    /// Raw output of Amazon Transcribe (written by Transcribe itself to our bucket).
    pub const TRANSCRIBE_RAW: &str = "transcribe-output.json";
    /// Our [`super::Transcript`].
    pub const TRANSCRIPT_JSON: &str = "transcript.json";
    /// SubRip subtitles.
    pub const TRANSCRIPT_SRT: &str = "transcript.srt";
    /// WebVTT subtitles.
    pub const TRANSCRIPT_VTT: &str = "transcript.vtt";
    /// Markdown transcript.
    pub const TRANSCRIPT_MD: &str = "transcript.md";
    /// Plain-text transcript.
    pub const TRANSCRIPT_TXT: &str = "transcript.txt";
    /// Our [`super::MeetingSummary`].
    pub const SUMMARY_JSON: &str = "summary.json";
    /// Markdown summary.
    pub const SUMMARY_MD: &str = "summary.md";
    /// [`super::TranscriptionProgress`] of the offline engine, rewritten after each window.
    pub const TRANSCRIPTION_PROGRESS: &str = "transcription-progress.json";
}

// ---------------------------------------------------------------------------------------------
// Activity: PrepareMedia
// ---------------------------------------------------------------------------------------------

/// Joins the chunks into one MP4 and extracts the speech-recognition audio.
#[derive(Debug)]
pub struct PrepareMedia;

/// Input of [`PrepareMedia`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrepareMediaInput {
    /// Owner of the recording.
    pub user_id: UserId,
    /// The recording.
    pub recording_id: RecordingId,
    /// Bucket with the chunks.
    pub bucket: String,
    /// Chunks are `0..chunkCount`.
    #[schemars(range(min = 1, max = 100_000))]
    pub chunk_count: u32,
    /// Key of the recording's `manifest.json`, when there is one: every chunk it lists with a
    /// `sha256` is verified while it is downloaded (`Media.ChecksumMismatch` names the chunk).
    /// `null`: nothing to verify, and no manifest is read.
    #[serde(default)]
    pub manifest_key: Option<String>,
}

/// Where one chunk lies on the joined timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkOffset {
    /// The chunk.
    pub index: ChunkIndex,
    /// Start on the joined timeline, seconds.
    pub start_seconds: f64,
    /// Audio duration of the chunk, seconds.
    pub duration_seconds: f64,
}

/// Output of [`PrepareMedia`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaOutput {
    /// Key of the joined `recording.mp4`.
    pub recording_key: String,
    /// Key of the 16 kHz mono speech audio.
    pub audio_key: String,
    /// Duration of the speech audio, seconds.
    pub duration_seconds: f64,
    /// Size of the speech audio, bytes.
    pub audio_bytes: u64,
    /// Per-chunk offsets on the joined timeline.
    pub chunk_offsets: Vec<ChunkOffset>,
    /// When the recording started (RFC 3339), from the first chunk's container `creation_time`;
    /// `null` when the client wrote none. Always serialized (later states read it by path);
    /// missing in an older stored output, it reads as `null`.
    #[schemars(required, schema_with = "nullable_time")]
    pub recorded_at: Option<String>,
}

/// A time that is always present and may be `null` (schemars drops `null` from a required
/// `Option`).
fn nullable_time(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": ["string", "null"],
        "format": "date-time",
    })
}

/// Errors of [`PrepareMedia`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MediaError {
    /// A chunk listed by the workflow is not in the bucket. The cause names the index.
    ChunkMissing,
    /// A chunk is empty, corrupt, not MP4, or hostile (a playlist, an unexpected demuxer). The
    /// cause names the index.
    ChunkInvalid,
    /// The recording has no audio stream.
    NoAudio,
    /// FFmpeg failed on input it accepted while probing, or is not installed.
    ToolFailed,
    /// Object storage failed transiently.
    StorageUnavailable,
    /// Object storage refused the request (access denied, invalid request): a deployment
    /// problem that retrying cannot fix.
    StorageRejected,
    /// A chunk's bytes do not have the SHA-256 its manifest lists. The cause names the index,
    /// the key and both digests; the chunk must be uploaded again.
    ChecksumMismatch,
    /// The manifest named by the input is missing, too large or not a manifest.
    ManifestInvalid,
}

impl ActivityErrorName for MediaError {
    const ALL: &'static [Self] = &[
        Self::ChunkMissing,
        Self::ChunkInvalid,
        Self::NoAudio,
        Self::ToolFailed,
        Self::StorageUnavailable,
        Self::StorageRejected,
        Self::ChecksumMismatch,
        Self::ManifestInvalid,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::ChecksumMismatch => "Media.ChecksumMismatch",
            Self::ManifestInvalid => "Media.ManifestInvalid",
            Self::ChunkMissing => "Media.ChunkMissing",
            Self::ChunkInvalid => "Media.ChunkInvalid",
            Self::NoAudio => "Media.NoAudio",
            Self::ToolFailed => "Media.ToolFailed",
            Self::StorageUnavailable => "Storage.Unavailable",
            Self::StorageRejected => "Storage.Rejected",
        }
    }
    fn retryable(self) -> bool {
        matches!(self, Self::StorageUnavailable)
    }
}

impl ActivityContract for PrepareMedia {
    const NAME: &'static str = "prepare-media";
    /// FFmpeg reports progress continuously; a worker silent for 2 minutes is dead.
    const HEARTBEAT_SECONDS: u32 = 120;
    /// One hour: a 4-hour recording joins and decodes in well under a minute per hour.
    const TIMEOUT_SECONDS: u32 = 3600;
    type Input = PrepareMediaInput;
    type Output = MediaOutput;
    type Error = MediaError;
}

// ---------------------------------------------------------------------------------------------
// Activity: StartTranscription
// ---------------------------------------------------------------------------------------------

/// Starts (or resumes) the transcription job of a recording.
#[derive(Debug)]
pub struct StartTranscription;

/// Input of [`StartTranscription`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartTranscriptionInput {
    /// Owner of the recording.
    pub user_id: UserId,
    /// The recording.
    pub recording_id: RecordingId,
    /// Bucket with the audio; outputs go to the same bucket.
    pub bucket: String,
    /// Key of the speech audio.
    pub audio_key: String,
    /// Duration of the audio, seconds (checked against the transcriber's limits).
    pub duration_seconds: f64,
    /// Size of the audio, bytes (checked against the transcriber's limits).
    pub audio_bytes: u64,
    /// 0 for the first run (job names carry the run).
    #[serde(default)]
    pub run: u32,
    /// Options from the execution input.
    #[serde(default)]
    pub options: ProcessingOptions,
}

/// Output of [`StartTranscription`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TranscriptionJob {
    /// Deterministic job name derived from the recording and run.
    pub job_name: String,
    /// Which engine runs the job (`aws-transcribe`, `whisper`).
    pub engine: String,
}

/// How far an offline transcription is, written by the StartTranscription activity after each
/// Whisper window (`processed/…/transcription-progress.json`) for `recorder status` and the
/// progress line of `recorder process`. Amazon Transcribe reports no progress, so AWS jobs have
/// none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TranscriptionProgress {
    /// The job this is the progress of (the run is part of the name, so an old run's progress
    /// is never read as the current one's).
    pub job_name: String,
    /// Percent of the speech recognised, 0–100.
    pub percent: f64,
    /// Seconds of speech in the recording (silence is skipped).
    pub speech_seconds: f64,
    /// Seconds of speech recognised so far.
    pub done_seconds: f64,
    /// Wall time spent recognising so far, seconds.
    pub elapsed_seconds: f64,
    /// Seconds left at the pace so far; absent before the first window is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<f64>,
    /// When this was written (RFC 3339, UTC): a recorder interrupted mid-transcription leaves
    /// its last progress behind, and `status` says how old it is.
    pub updated_at: String,
}

/// Errors of [`StartTranscription`] and [`CheckTranscription`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TranscriptionError {
    /// The audio is beyond the engine's limits (Transcribe: 4 h, 2 GB) or shorter than its
    /// minimum (Transcribe: 500 ms).
    MediaOutOfLimits,
    /// The transcription job failed; the cause carries the engine's failure reason.
    JobFailed,
    /// The service throttled us or was unavailable.
    ServiceUnavailable,
    /// Object storage failed transiently.
    StorageUnavailable,
    /// The engine's output could not be read or converted.
    InvalidEngineOutput,
}

impl ActivityErrorName for TranscriptionError {
    const ALL: &'static [Self] = &[
        Self::MediaOutOfLimits,
        Self::JobFailed,
        Self::ServiceUnavailable,
        Self::StorageUnavailable,
        Self::InvalidEngineOutput,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::MediaOutOfLimits => "Transcription.MediaOutOfLimits",
            Self::JobFailed => "Transcription.JobFailed",
            Self::ServiceUnavailable => "Transcription.ServiceUnavailable",
            Self::StorageUnavailable => "Storage.Unavailable",
            Self::InvalidEngineOutput => "Transcription.InvalidEngineOutput",
        }
    }
    fn retryable(self) -> bool {
        matches!(self, Self::ServiceUnavailable | Self::StorageUnavailable)
    }
}

/// Error names the workflow itself raises (Pass and Fail states, not an activity): each ends
/// the recording `processing_failed` with this name and a cause saying what to do.
pub mod workflow_errors {
    /// The transcription job was still running after the poll budget (Transcribe's 4-hour job
    /// limit at 30 s per check). `recorder reprocess --from transcription` starts a new job.
    pub const TRANSCRIPTION_TIMED_OUT: &str = "Transcription.TimedOut";
    /// The transcription engine reported the job FAILED; the cause carries its reason.
    pub const TRANSCRIPTION_JOB_FAILED: &str = "Transcription.JobFailed";
    /// A completed job named no transcript.
    pub const TRANSCRIPTION_INVALID_ENGINE_OUTPUT: &str = "Transcription.InvalidEngineOutput";
    /// The catalog no longer names this execution as the recording's current run (a newer run
    /// started, or the recording left `ready_for_processing`/`processing`): the execution ends
    /// without writing anything, so a stale run never overwrites a newer one.
    pub const CATALOG_NOT_CURRENT_RUN: &str = "Catalog.NotCurrentRun";
}

impl ActivityContract for StartTranscription {
    const NAME: &'static str = "start-transcription";
    /// The offline engine transcribes inside this task and heartbeats while it does.
    const HEARTBEAT_SECONDS: u32 = 120;
    /// Offline transcription of 4 h at a real-time factor of 0.1 is 24 minutes; allow 2 h.
    const TIMEOUT_SECONDS: u32 = 7200;
    type Input = StartTranscriptionInput;
    type Output = TranscriptionJob;
    type Error = TranscriptionError;
}

// ---------------------------------------------------------------------------------------------
// Activity: CheckTranscription
// ---------------------------------------------------------------------------------------------

/// Checks a transcription job; when it completed, converts the engine output into our
/// [`Transcript`] and its exports.
#[derive(Debug)]
pub struct CheckTranscription;

/// Input of [`CheckTranscription`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckTranscriptionInput {
    /// Owner of the recording.
    pub user_id: UserId,
    /// The recording.
    pub recording_id: RecordingId,
    /// Bucket receiving the transcript.
    pub bucket: String,
    /// The job started by [`StartTranscription`].
    pub job_name: String,
}

/// State of a transcription job, as the workflow's Choice sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Waiting for capacity.
    Queued,
    /// Running.
    InProgress,
    /// Done; the transcript is stored.
    Completed,
    /// Failed; `failureReason` says why.
    Failed,
}

/// Output of [`CheckTranscription`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TranscriptionStatus {
    /// Job state.
    pub status: JobStatus,
    /// The engine's failure reason when `status` is `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Key of `transcript.json` when `status` is `COMPLETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_key: Option<String>,
    /// Number of distinct speakers when `status` is `COMPLETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_count: Option<u32>,
}

impl ActivityContract for CheckTranscription {
    const NAME: &'static str = "check-transcription";
    /// A status check plus a conversion of at most a few MB of JSON.
    const HEARTBEAT_SECONDS: u32 = 60;
    /// Ten minutes covers converting and uploading the exports of a 4-hour transcript.
    const TIMEOUT_SECONDS: u32 = 600;
    type Input = CheckTranscriptionInput;
    type Output = TranscriptionStatus;
    type Error = TranscriptionError;
}

// ---------------------------------------------------------------------------------------------
// Activity: Summarize
// ---------------------------------------------------------------------------------------------

/// Summarizes a transcript into summary, action items and decisions.
#[derive(Debug)]
pub struct Summarize;

/// Input of [`Summarize`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummarizeInput {
    /// Owner of the recording.
    pub user_id: UserId,
    /// The recording.
    pub recording_id: RecordingId,
    /// Bucket with the transcript; the summary goes next to it.
    pub bucket: String,
    /// Key of `transcript.json`.
    pub transcript_key: String,
    /// When the recording started (RFC 3339; [`MediaOutput::recorded_at`]): spoken due dates
    /// ("by Friday") are resolved against its day. Absent or `null`: no due dates.
    #[serde(default)]
    pub recorded_at: Option<String>,
}

/// Output of [`Summarize`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummaryOutput {
    /// Key of `summary.json`.
    pub summary_key: String,
    /// Key of `summary.md`.
    pub summary_markdown_key: String,
    /// Number of action items found.
    pub action_item_count: u32,
    /// Number of decisions found.
    pub decision_count: u32,
}

/// Errors of [`Summarize`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SummaryError {
    /// The model's output did not match the summary schema, also after the repair attempt.
    InvalidModelOutput,
    /// The model service throttled us or was unavailable.
    ServiceUnavailable,
    /// The transcript object is missing or does not match its schema.
    InvalidTranscript,
    /// Object storage failed transiently.
    StorageUnavailable,
    /// The model service refused the request (unknown model id, access denied, invalid request):
    /// a configuration problem that retrying cannot fix.
    ModelRejected,
    /// Object storage refused the request (access denied): not retryable.
    StorageRejected,
}

impl ActivityErrorName for SummaryError {
    const ALL: &'static [Self] = &[
        Self::InvalidModelOutput,
        Self::ServiceUnavailable,
        Self::InvalidTranscript,
        Self::StorageUnavailable,
        Self::ModelRejected,
        Self::StorageRejected,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::InvalidModelOutput => "Summary.InvalidModelOutput",
            Self::ServiceUnavailable => "Summary.ServiceUnavailable",
            Self::InvalidTranscript => "Summary.InvalidTranscript",
            Self::StorageUnavailable => "Storage.Unavailable",
            Self::ModelRejected => "Summary.ModelRejected",
            Self::StorageRejected => "Storage.Rejected",
        }
    }
    fn retryable(self) -> bool {
        matches!(self, Self::ServiceUnavailable | Self::StorageUnavailable)
    }
}

impl ActivityContract for Summarize {
    const NAME: &'static str = "summarize";
    /// Model calls can take a minute each; map-reduce makes several.
    const HEARTBEAT_SECONDS: u32 = 120;
    /// Thirty minutes covers a map-reduce over a 4-hour transcript with throttling backoff.
    const TIMEOUT_SECONDS: u32 = 1800;
    type Input = SummarizeInput;
    type Output = SummaryOutput;
    type Error = SummaryError;
}

// ---------------------------------------------------------------------------------------------
// Transcript
// ---------------------------------------------------------------------------------------------

/// A transcript with speaker labels (`transcript.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Transcript {
    /// The recording.
    pub recording_id: RecordingId,
    /// BCP-47 language code.
    pub language: String,
    /// Duration of the audio, seconds.
    pub duration_seconds: f64,
    /// Which engine produced it.
    pub engine: EngineInfo,
    /// Whether speaker labels are an estimate (offline clustering) rather than the service's
    /// diarization.
    pub speakers_approximate: bool,
    /// The speakers, in order of first appearance.
    pub speakers: Vec<Speaker>,
    /// Speaker turns in time order.
    pub segments: Vec<Segment>,
}

/// The engine that produced a transcript or summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngineInfo {
    /// Engine name (`aws-transcribe`, `whisper.cpp`, `bedrock`, `extractive`).
    pub name: String,
    /// Model name or version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A speaker of the meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Speaker {
    /// Stable id used by segments (`spk_0`, …).
    pub id: String,
    /// Display label (`Speaker 1`, or a name set by the user).
    pub label: String,
}

/// One speaker turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Segment {
    /// Id of the [`Speaker`].
    pub speaker: String,
    /// Start, seconds from the beginning of the recording.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// The words of the turn as text.
    pub text: String,
    /// Word timings.
    #[serde(default)]
    pub words: Vec<Word>,
}

/// One recognised word.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Word {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// The word (punctuation attached).
    pub text: String,
    /// Recogniser confidence in `0..=1`.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

/// How a summary was made: an extractive engine selects sentences of the transcript, a
/// generative one writes new text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SummaryKind {
    /// Sentences and items taken from the transcript by rules.
    Extracted,
    /// Written by a language model.
    Generated,
}

/// The summary of a meeting (`summary.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeetingSummary {
    /// A few sentences on what the meeting was about.
    #[schemars(length(min = 1))]
    pub summary: String,
    /// Things someone is to do.
    pub action_items: Vec<ActionItem>,
    /// Things that were decided.
    pub decisions: Vec<Decision>,
    /// Speaker labels that took part.
    pub speakers: Vec<String>,
    /// BCP-47 language code of the meeting.
    pub language: String,
    /// Extracted or generated.
    pub kind: SummaryKind,
    /// The engine that made it.
    pub engine: EngineInfo,
    /// When the recording started (RFC 3339), the day due dates were resolved against; absent
    /// when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
}

/// An action item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionItem {
    /// What is to be done.
    #[schemars(length(min = 1))]
    pub task: String,
    /// Who does it, when said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it is due, as said in the meeting ("by Friday", "before the next sprint").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// The due date (ISO 8601 `YYYY-MM-DD`), resolved from `due` against the day the recording
    /// started; absent when `due` names no date ("before the next sprint") or the start is
    /// unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<chrono::NaiveDate>,
    /// Where in the transcript it was said, seconds.
    #[schemars(range(min = 0.0))]
    pub source_time: f64,
}

impl ActionItem {
    /// The due phrase with its date, as shown to people: `by Friday (Fri 2026-03-13)`, `before
    /// the next sprint`, or only the date when no phrase was kept.
    pub fn due_label(&self) -> Option<String> {
        let date = self.due_date.map(|d| d.format("%a %Y-%m-%d").to_string());
        match (self.due.as_deref().map(str::trim), date) {
            (Some(due), Some(date)) if !due.is_empty() => Some(format!("{due} ({date})")),
            (Some(due), None) if !due.is_empty() => Some(due.to_owned()),
            (_, date) => date,
        }
    }
}

/// A decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decision {
    /// What was decided.
    #[schemars(length(min = 1))]
    pub decision: String,
    /// Where in the transcript it was said, seconds.
    #[schemars(range(min = 0.0))]
    pub source_time: f64,
}

// ---------------------------------------------------------------------------------------------
// Manifest (end marker)
// ---------------------------------------------------------------------------------------------

/// Largest manifest anyone reads (the ingest Lambda and the media stage): 100,000 chunk entries
/// of ~120 bytes fit well within 16 MiB.
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// `users/{userId}/chunks/{recordingId}/manifest.json`, uploaded by the client when it stops
/// recording (the seed's "end marker", option B).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkManifest {
    /// Number of chunks; complete means exactly indices `0..expectedChunkCount` are recorded.
    #[schemars(range(min = 1, max = 100_000))]
    pub expected_chunk_count: u32,
    /// Optional per-chunk details.
    #[serde(default)]
    pub chunks: Vec<ManifestChunk>,
}

/// One chunk in a [`ChunkManifest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestChunk {
    /// The chunk.
    pub index: ChunkIndex,
    /// Lower-case hex SHA-256 of the chunk's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// Duration, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Catalog and chunk records
// ---------------------------------------------------------------------------------------------

/// The processing results stored in the catalog when a recording completes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordingResults {
    /// Key of `recording.mp4`.
    pub recording_key: String,
    /// Key of the speech audio.
    pub audio_key: String,
    /// Key of `transcript.json`.
    pub transcript_key: String,
    /// Key of `summary.json`.
    pub summary_key: String,
    /// Duration, seconds.
    pub duration_seconds: f64,
}

/// The catalog item of one recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogRecord {
    /// Owner.
    pub user_id: UserId,
    /// The recording.
    pub recording_id: RecordingId,
    /// Current status.
    pub status: RecordingStatus,
    /// Written by the client (or taken from the manifest) when recording stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_chunk_count: Option<u32>,
    /// When the end of the recording became known (RFC 3339); the grace period runs from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// How the end became known: a manifest (whose checksums the media stage verifies) or an
    /// `expectedChunkCount` the client wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_signal: Option<EndSignal>,
    /// Indices missing when the status is `incomplete_chunks`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_chunks: Vec<u32>,
    /// Indices that failed validation (checksum mismatch) or lie beyond the expected count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_chunks: Vec<u32>,
    /// Name of the current processing execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_name: Option<String>,
    /// Processing run (0 first, then one per reprocess).
    #[serde(default)]
    pub run: u32,
    /// Error name when failed or incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Human-readable cause when failed or incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Results when completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<RecordingResults>,
    /// When the sweeper looks at this recording next (RFC 3339); absent once nobody needs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_at: Option<String>,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// How the end of a recording became known (seed options A and B).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndSignal {
    /// The client wrote `expectedChunkCount` to the catalog item (option A).
    Client,
    /// The client uploaded `manifest.json` (option B).
    Manifest,
}

impl EndSignal {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Manifest => "manifest",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client" => Some(Self::Client),
            "manifest" => Some(Self::Manifest),
            _ => None,
        }
    }
}

impl CatalogRecord {
    /// The record of a recording seen for the first time: status `recording`, nothing known yet.
    pub fn new_recording(recording: &RecordingRef, now: DateTime<Utc>) -> Self {
        Self {
            user_id: recording.user_id.clone(),
            recording_id: recording.recording_id.clone(),
            status: RecordingStatus::Recording,
            expected_chunk_count: None,
            stopped_at: None,
            end_signal: None,
            missing_chunks: Vec::new(),
            failed_chunks: Vec::new(),
            execution_name: None,
            run: 0,
            error: None,
            cause: None,
            results: None,
            sweep_at: None,
            updated_at: timestamp(now),
        }
    }

    /// The recording this record describes.
    pub fn recording(&self) -> RecordingRef {
        RecordingRef::new(self.user_id.clone(), self.recording_id.clone())
    }
}

/// How every stored time is written: RFC 3339 UTC with milliseconds and `Z`. Fixed width, so
/// the strings sort as the times they name (the catalog and chunk indexes rely on it).
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Validation state of one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChunkStatus {
    /// Recorded and checked (exists, size, MP4 signature).
    Validated,
    /// Rejected (empty, too large, not an MP4, gone, or a checksum that does not match the
    /// manifest); `lastError` says why.
    Failed,
}

/// The chunk-table item of one chunk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChunkRecord {
    /// The recording (partition key).
    pub recording_id: RecordingId,
    /// The index (sort key).
    pub chunk_index: ChunkIndex,
    /// Owner (GSI partition key).
    pub user_id: UserId,
    /// When the object was created (RFC 3339; GSI sort key).
    pub uploaded_at: String,
    /// The object key.
    pub s3_key: String,
    /// Object size, bytes.
    pub file_size: u64,
    /// Object ETag without quotes.
    pub etag: String,
    /// S3 event sequencer of the object version recorded; orders uploads of the same key.
    pub sequencer: String,
    /// SHA-256 (hex) when known from the upload checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Validation state.
    pub status: ChunkStatus,
    /// How many times a different object replaced this chunk (re-uploads).
    #[serde(default)]
    pub reupload_count: u32,
    /// Why the chunk failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// X-Ray trace header of the invocation that recorded the chunk. The execution joins the
    /// trace of the recording's first chunk, so the recording is one trace from that chunk on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
}

impl ChunkRecord {
    /// The recording this chunk belongs to.
    pub fn recording(&self) -> RecordingRef {
        RecordingRef::new(self.user_id.clone(), self.recording_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::WorkerError;

    #[test]
    fn error_names_are_unique_per_activity_and_include_the_worker_set() {
        let names = PrepareMedia::error_names();
        let mut dedup = names.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), names.len());
        assert!(names.contains(&"Media.ChunkInvalid"));
        assert!(names.contains(&WorkerError::Panicked.name()));
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        let retryable = Summarize::retryable_error_names();
        assert!(retryable.contains(&"Summary.ServiceUnavailable"));
        assert!(!retryable.contains(&"Summary.InvalidModelOutput"));
        assert!(!retryable.contains(&"Worker.InvalidInput"));
    }

    #[test]
    fn a_processing_input_with_resume_round_trips_flat() {
        let json = r#"{"userId":"u","recordingId":"r","bucket":"b","chunkCount":3,"run":2,"options":{},"resume":{"from":"summary","media":{"recordingKey":"k1","audioKey":"k2","durationSeconds":1.5,"audioBytes":10,"chunkOffsets":[],"recordedAt":"2026-03-10T10:00:00Z"},"transcriptKey":"k3"},"manifestKey":null}"#;
        let input: ProcessingInput = serde_json::from_str(json).unwrap();
        let resume = input.resume.as_ref().unwrap();
        assert_eq!(resume.from, ResumeStage::Summary);
        assert_eq!(resume.transcript_key.as_deref(), Some("k3"));
        assert_eq!(input.run, 2);
        assert_eq!(serde_json::to_string(&input).unwrap(), json);
    }

    #[test]
    fn a_resume_point_stored_before_recorded_at_existed_reads_as_unknown_and_writes_null() {
        // Later states read `$.media.recordedAt` by path: it must always be written.
        let old = r#"{"recordingKey":"k1","audioKey":"k2","durationSeconds":1.5,"audioBytes":10,"chunkOffsets":[]}"#;
        let media: MediaOutput = serde_json::from_str(old).unwrap();
        assert_eq!(media.recorded_at, None);
        let written = serde_json::to_value(&media).unwrap();
        assert_eq!(written["recordedAt"], serde_json::Value::Null);
    }

    #[test]
    fn the_due_label_shows_the_phrase_and_the_day() {
        let mut item = ActionItem {
            task: "send the budget".to_owned(),
            owner: None,
            due: Some("by Friday".to_owned()),
            due_date: "2026-03-13".parse().ok(),
            source_time: 0.0,
        };
        assert_eq!(
            item.due_label().as_deref(),
            Some("by Friday (Fri 2026-03-13)")
        );
        item.due_date = None;
        assert_eq!(item.due_label().as_deref(), Some("by Friday"));
        item.due = None;
        assert_eq!(item.due_label(), None);
    }

    #[test]
    fn given_an_input_without_manifest_key_when_read_then_it_is_none_and_written_as_null() {
        let json =
            r#"{"userId":"u","recordingId":"r","bucket":"b","chunkCount":3,"run":0,"options":{}}"#;
        let input: ProcessingInput = serde_json::from_str(json).unwrap();
        assert_eq!(input.manifest_key, None);
        let written = serde_json::to_value(&input).unwrap();
        assert_eq!(written["manifestKey"], serde_json::Value::Null);
    }

    #[test]
    fn given_a_prepare_media_input_with_a_manifest_key_then_it_round_trips() {
        let json = r#"{"userId":"u","recordingId":"r","bucket":"b","chunkCount":2,"manifestKey":"users/u/chunks/r/manifest.json"}"#;
        let input: PrepareMediaInput = serde_json::from_str(json).unwrap();
        assert_eq!(
            input.manifest_key.as_deref(),
            Some("users/u/chunks/r/manifest.json")
        );
        assert_eq!(serde_json::to_string(&input).unwrap(), json);
    }

    #[test]
    fn checksum_mismatch_and_an_invalid_manifest_are_media_errors_nobody_retries() {
        let names = PrepareMedia::error_names();
        assert!(names.contains(&"Media.ChecksumMismatch"));
        assert!(names.contains(&"Media.ManifestInvalid"));
        let retryable = PrepareMedia::retryable_error_names();
        assert!(!retryable.contains(&"Media.ChecksumMismatch"));
        assert!(!retryable.contains(&"Media.ManifestInvalid"));
    }

    #[test]
    fn silence_is_not_a_summary_error() {
        assert!(!Summarize::error_names().contains(&"Summary.EmptyTranscript"));
    }

    #[test]
    fn processing_input_rejects_unknown_fields() {
        let json = r#"{"userId":"u","recordingId":"r","bucket":"b","chunkCount":3,"extra":1}"#;
        assert!(serde_json::from_str::<ProcessingInput>(json).is_err());
    }
}
