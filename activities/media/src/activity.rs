//! The `PrepareMedia` activity: download the chunks `0..chunkCount` from the object store into a
//! private temp dir (verifying the SHA-256 of every chunk the task's manifest lists while it
//! downloads), reject anything that is not a plain MP4 with audio, join them with one FFmpeg
//! decode (stream-copied `recording.mp4` + 16 kHz mono audio decoded straight from the concat
//! demuxer, its per-chunk encoder padding removed on the way to FLAC), upload both and return
//! their keys, the duration and every chunk's offset.
//!
//! Media only ever streams between the store and files; the temp dir is removed on every path
//! (success, typed failure, cancellation, panic), and a cancelled task kills its FFmpeg.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use activity_runtime::activity::{Activity, ErrorOf, Failure, InputOf, OutputOf, TaskContext};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use meeting_domain::contracts::{
    ChunkOffset, MediaOutput, PrepareMedia, PrepareMediaInput, output_files,
};
use meeting_domain::ids::ChunkIndex;
use meeting_domain::keys::{chunk_key, processed_key};
use meeting_domain::ports::ObjectStore;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::error::{ConfigError, MediaActivityError, ProbeError, ToolError};
use crate::join::{
    self, ASR_SAMPLE_RATE, audio_probe_args, concat_list, conform_args, flac_args, join_args,
};
use crate::limits::{MEMORY_LIMIT_VAR, MemoryLimit, cpu_budget};
use crate::manifest;
use crate::probe::{AudioStream, check_magic, codec_refused, parse_probe, probe_args};
use crate::process::{ToolCommand, run_piped, run_tool};
use crate::trim::{BYTES_PER_SAMPLE, ChunkSpan, PaddingCutter, padding_ranges};

/// Tunables of the media stage.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The `ffmpeg` program.
    pub ffmpeg: PathBuf,
    /// The `ffprobe` program.
    pub ffprobe: PathBuf,
    /// Where the per-task temp dirs are created (`None`: the system temp dir). On Fargate this is
    /// the task's ephemeral storage (20 GiB by default, up to 200 GiB).
    pub work_dir: Option<PathBuf>,
    /// Limit on one ffprobe of one chunk; a chunk that takes longer is treated as hostile.
    pub probe_timeout: Duration,
    /// Limit on the join (and each re-encode). Below the activity's 3600 s `TimeoutSeconds`.
    pub join_timeout: Duration,
    /// Largest accepted chunk, bytes. Checked with HEAD before downloading.
    pub max_chunk_bytes: u64,
    /// Chunks downloaded and probed at the same time.
    pub chunk_concurrency: usize,
    /// Address-space limit of every `ffmpeg`/`ffprobe` process (`MEDIA_TOOL_MEMORY_MIB`).
    /// Their CPU time is limited too, in proportion to the audio each one processes
    /// ([`crate::limits::cpu_budget`]).
    pub memory_limit: MemoryLimit,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: crate::probe::default_ffprobe(),
            work_dir: None,
            probe_timeout: Duration::from_secs(30),
            // 50 minutes: leaves 10 of the task's 60-minute TimeoutSeconds for downloads/uploads.
            join_timeout: Duration::from_secs(50 * 60),
            // 1 GiB: a one-minute chunk of 1080p H.264 is ~100 MB; ten times that is not a chunk.
            max_chunk_bytes: 1024 * 1024 * 1024,
            chunk_concurrency: 4,
            memory_limit: MemoryLimit::default(),
        }
    }
}

impl MediaConfig {
    /// The defaults, with the settings the deployment may change read from the process
    /// environment: `MEDIA_TOOL_MEMORY_MIB` (and `FFPROBE_PATH`, see
    /// [`crate::probe::default_ffprobe`]).
    ///
    /// # Errors
    /// [`ConfigError::InvalidVar`] when a variable is set to a value out of its range.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] with the variables read through `lookup` (tests pass a map).
    ///
    /// # Errors
    /// [`ConfigError::InvalidVar`] when a variable is set to a value out of its range.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let memory_limit = match lookup(MEMORY_LIMIT_VAR).filter(|v| !v.trim().is_empty()) {
            None => MemoryLimit::default(),
            Some(value) => MemoryLimit::parse(&value)?,
        };
        Ok(Self {
            memory_limit,
            ..Self::default()
        })
    }

    /// `ffmpeg`/`ffprobe` with this configuration's memory limit and a CPU-time limit for
    /// `audio_seconds` of audio within `timeout`.
    fn tool(
        &self,
        program: &Path,
        args: Vec<std::ffi::OsString>,
        timeout: Duration,
        audio_seconds: f64,
    ) -> ToolCommand {
        ToolCommand::new(program, args, timeout)
            .with_memory_limit(self.memory_limit)
            .with_cpu_seconds(cpu_budget(audio_seconds, timeout))
    }
}

/// A downloaded and validated chunk.
#[derive(Debug)]
struct LocalChunk {
    index: u32,
    path: PathBuf,
    audio: AudioStream,
    /// The container's `creation_time`, when plausible.
    created_at: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// The `PrepareMedia` activity over an object store.
#[derive(Clone)]
pub struct PrepareMediaActivity {
    store: Arc<dyn ObjectStore>,
    config: MediaConfig,
}

impl std::fmt::Debug for PrepareMediaActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrepareMediaActivity")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Runs `future` unless `cancel` fires first.
async fn or_cancelled<T>(
    cancel: &CancellationToken,
    future: impl Future<Output = Result<T, MediaActivityError>>,
) -> Result<T, MediaActivityError> {
    tokio::select! {
        result = future => result,
        () = cancel.cancelled() => Err(MediaActivityError::Cancelled),
    }
}

/// A tool failure during `step`; cancellation stays cancellation.
fn tool_error(step: impl Into<String>, source: ToolError) -> MediaActivityError {
    match source {
        ToolError::Cancelled { .. } => MediaActivityError::Cancelled,
        source => MediaActivityError::Tool {
            step: step.into(),
            source,
        },
    }
}

impl PrepareMediaActivity {
    /// The activity with the given store and configuration.
    pub fn new(store: Arc<dyn ObjectStore>, config: MediaConfig) -> Self {
        info!(
            ffprobe = %config.ffprobe.display(),
            ffmpeg = %config.ffmpeg.display(),
            "media activity ready"
        );
        Self { store, config }
    }

    /// Runs one task; the typed error keeps the detail the [`Failure`] flattens.
    pub async fn prepare(
        &self,
        input: &PrepareMediaInput,
        cancel: &CancellationToken,
    ) -> Result<MediaOutput, MediaActivityError> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("prepare-media-");
        let work = match &self.config.work_dir {
            Some(dir) => builder.tempdir_in(dir),
            None => builder.tempdir(),
        }
        .map_err(|source| MediaActivityError::Io {
            action: "creating the work directory".to_owned(),
            source,
        })?;
        // `work` is dropped (and the directory removed) when this function returns or its
        // future is dropped, whatever the path.
        let result = self.prepare_in(input, work.path(), cancel).await;
        if let Err(error) = &result {
            warn!(
                recording_id = %input.recording_id,
                error = error.error_name_str(),
                cause = %error,
                "prepare media failed"
            );
        }
        result
    }

    async fn prepare_in(
        &self,
        input: &PrepareMediaInput,
        work: &Path,
        cancel: &CancellationToken,
    ) -> Result<MediaOutput, MediaActivityError> {
        let chunks = self.fetch_and_validate(input, work, cancel).await?;
        let chunks = self.conform(chunks, work, cancel).await?;

        let list = work.join("chunks.ffconcat");
        tokio::fs::write(
            &list,
            concat_list(&chunks.iter().map(|c| &c.path).collect::<Vec<_>>()),
        )
        .await
        .map_err(|source| MediaActivityError::Io {
            action: "writing the concat list".to_owned(),
            source,
        })?;
        let recording = work.join(output_files::RECORDING);
        let audio = work.join(output_files::AUDIO);
        let spans: Vec<ChunkSpan> = chunks
            .iter()
            .map(|c| ChunkSpan {
                presented_seconds: c.audio.duration_seconds,
                decoded_seconds: c.audio.decoded_seconds(),
            })
            .collect();
        let mut cutter = PaddingCutter::new(&padding_ranges(&spans, ASR_SAMPLE_RATE));
        // Each span is at most a day (the probe checks), so the sum is a finite number of seconds.
        let audio_seconds: f64 = spans.iter().map(|s| s.decoded_seconds).sum();
        let config = &self.config;
        let joined = run_piped(
            &config.tool(
                &config.ffmpeg,
                join_args(&list, &recording),
                config.join_timeout,
                audio_seconds,
            ),
            &config.tool(
                &config.ffmpeg,
                flac_args(&audio),
                config.join_timeout,
                audio_seconds,
            ),
            |input, output| cutter.filter(input, output),
            cancel,
        )
        .await;
        let (joined, _) = joined.map_err(|e| {
            let decoded = cutter.position_bytes() as f64
                / (BYTES_PER_SAMPLE as f64 * f64::from(ASR_SAMPLE_RATE));
            tool_error(
                format!(
                    "joining the chunks (decoding chunk {}, {decoded:.1} s into the audio)",
                    chunk_at(&chunks, &spans, decoded)
                ),
                e,
            )
        })?;
        let measured = run_tool(
            &config.tool(
                &config.ffprobe,
                audio_probe_args(&audio),
                config.probe_timeout,
                0.0,
            ),
            cancel,
        )
        .await
        .map_err(|e| tool_error("measuring the joined audio", e))?;
        let joined_audio = join::parse_audio_probe(&measured.stdout).map_err(|detail| {
            MediaActivityError::UnexpectedOutput {
                step: "the join".to_owned(),
                detail,
            }
        })?;
        if joined_audio.sample_rate != ASR_SAMPLE_RATE || joined_audio.channels != 1 {
            return Err(MediaActivityError::UnexpectedOutput {
                step: "the join".to_owned(),
                detail: format!(
                    "audio is {} Hz × {} channels, not {ASR_SAMPLE_RATE} Hz mono",
                    joined_audio.sample_rate, joined_audio.channels
                ),
            });
        }

        let chunk_offsets = offsets(&chunks);
        // The first chunk's creation time is when the meeting started (spoken due dates such as
        // "by Friday" are resolved against its day).
        let recorded_at = chunks
            .first()
            .and_then(|c| c.created_at)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let expected: f64 = chunk_offsets.iter().map(|c| c.duration_seconds).sum();
        let residual = joined_audio.duration_seconds - expected;
        info!(
            recording_id = %input.recording_id,
            chunks = chunks.len(),
            duration_seconds = joined_audio.duration_seconds,
            offset_residual_ms = residual * 1000.0,
            ffmpeg_ms = joined.elapsed.as_millis(),
            "joined the chunks"
        );
        // With the padding removed the audio is the chunks' audio back to back; a residual means
        // a codec whose decoding the probe numbers do not describe, and later offsets are off by
        // up to that much.
        if residual.abs() > 0.05 {
            warn!(
                recording_id = %input.recording_id,
                offset_residual_ms = residual * 1000.0,
                "chunk offsets do not add up to the joined audio"
            );
        }

        let audio_bytes = tokio::fs::metadata(&audio)
            .await
            .map_err(|source| MediaActivityError::Io {
                action: "reading the size of the joined audio".to_owned(),
                source,
            })?
            .len();
        let recording_key =
            processed_key(&input.user_id, &input.recording_id, output_files::RECORDING);
        let audio_key = processed_key(&input.user_id, &input.recording_id, output_files::AUDIO);
        self.upload(input, &recording, &recording_key, "video/mp4", cancel)
            .await?;
        self.upload(input, &audio, &audio_key, "audio/flac", cancel)
            .await?;
        Ok(MediaOutput {
            recording_key,
            audio_key,
            duration_seconds: joined_audio.duration_seconds,
            audio_bytes,
            chunk_offsets,
            recorded_at,
        })
    }

    /// Downloads and validates every chunk, a few at a time, in index order; the first failure
    /// in index order is returned.
    async fn fetch_and_validate(
        &self,
        input: &PrepareMediaInput,
        work: &Path,
        cancel: &CancellationToken,
    ) -> Result<Vec<LocalChunk>, MediaActivityError> {
        let digests = or_cancelled(
            cancel,
            manifest::expected_digests(self.store.as_ref(), input),
        )
        .await?;
        if input.manifest_key.is_some() {
            info!(
                recording_id = %input.recording_id,
                chunks_with_sha256 = digests.len(),
                "verifying chunk checksums from the manifest"
            );
        }
        let digests = &digests;
        futures::stream::iter(0..input.chunk_count)
            .map(|index| {
                or_cancelled(
                    cancel,
                    self.fetch_chunk(input, index, digests.get(&index), work, cancel),
                )
            })
            .buffered(self.config.chunk_concurrency.max(1))
            .try_collect()
            .await
    }

    async fn fetch_chunk(
        &self,
        input: &PrepareMediaInput,
        index: u32,
        expected_sha256: Option<&String>,
        work: &Path,
        cancel: &CancellationToken,
    ) -> Result<LocalChunk, MediaActivityError> {
        let chunk_index = ChunkIndex::new(index).map_err(|e| MediaActivityError::ChunkInvalid {
            index,
            reason: e.to_string(),
        })?;
        let key = chunk_key(&input.user_id, &input.recording_id, chunk_index);
        let storage = |action: &str, source| MediaActivityError::Storage {
            action: format!("{action} chunk {index}"),
            source,
        };
        let missing = || MediaActivityError::ChunkMissing {
            index,
            key: key.clone(),
        };
        let invalid = |reason: String| MediaActivityError::ChunkInvalid { index, reason };

        let meta = self
            .store
            .head(&input.bucket, &key)
            .await
            .map_err(|e| storage("looking up", e))?
            .ok_or_else(missing)?;
        if meta.size == 0 {
            return Err(invalid("the chunk is empty (0 bytes)".to_owned()));
        }
        if meta.size > self.config.max_chunk_bytes {
            return Err(invalid(format!(
                "the chunk is {} bytes, above the limit of {}",
                meta.size, self.config.max_chunk_bytes
            )));
        }
        let path = work.join(format!("chunk_{index:05}.mp4"));
        match expected_sha256 {
            // Hashed piece by piece as it is written: one read of the object, bounded memory.
            Some(expected) => match manifest::download_verified(
                self.store.as_ref(),
                &input.bucket,
                &key,
                meta.size,
                &path,
                expected,
                index,
            )
            .await
            {
                Ok(()) => {}
                Err(MediaActivityError::Storage {
                    source: meeting_domain::PortError::NotFound { .. },
                    ..
                }) => return Err(missing()),
                Err(e) => return Err(e),
            },
            None => match self.store.download_to(&input.bucket, &key, &path).await {
                Ok(_) => {}
                Err(meeting_domain::PortError::NotFound { .. }) => return Err(missing()),
                Err(e) => return Err(storage("downloading", e)),
            },
        }
        check_magic(&path).await.map_err(invalid)?;
        let probed = run_tool(
            &self.config.tool(
                &self.config.ffprobe,
                probe_args(&path),
                self.config.probe_timeout,
                // Probing reads the headers and one packet: its cost does not grow with the audio.
                0.0,
            ),
            cancel,
        )
        .await
        .map_err(|e| match e {
            ToolError::Failed { stderr, .. } => match codec_refused(&stderr) {
                Some(codec) => MediaActivityError::UnsupportedCodec { index, codec },
                None => invalid(format!("ffprobe rejected it: {stderr}")),
            },
            ToolError::TimedOut { limit, .. } => {
                invalid(format!("ffprobe did not finish within {limit:?}"))
            }
            ToolError::OutputTooLarge { .. } => invalid(e.to_string()),
            ToolError::OutOfMemory { .. } | ToolError::Killed { .. } => {
                MediaActivityError::ChunkOverLimit { index, source: e }
            }
            other => tool_error(format!("probing chunk {index}"), other),
        })?;
        let probe = parse_probe(&probed.stdout).map_err(|e| match e {
            ProbeError::UnsupportedCodec { codec } => {
                MediaActivityError::UnsupportedCodec { index, codec }
            }
            ProbeError::Invalid(reason) => invalid(reason),
        })?;
        let audio = probe.audio.ok_or(MediaActivityError::NoAudio { index })?;
        Ok(LocalChunk {
            index,
            path,
            audio,
            created_at: probe.created_at,
        })
    }

    /// When the chunks' audio formats differ (a microphone switched mid-meeting), re-encodes the
    /// odd ones to the first chunk's rate and channels as AAC-LC, so one decoder and one MP4 track
    /// can take them all. Uniform recordings (the normal case) pass through untouched.
    async fn conform(
        &self,
        chunks: Vec<LocalChunk>,
        work: &Path,
        cancel: &CancellationToken,
    ) -> Result<Vec<LocalChunk>, MediaActivityError> {
        let Some(first) = chunks.first().map(|c| c.audio.clone()) else {
            return Ok(chunks);
        };
        if chunks.iter().all(|c| c.audio.joinable_with(&first)) {
            return Ok(chunks);
        }
        let is_target = |a: &AudioStream| {
            a.codec == "aac"
                && a.profile.as_deref() == Some("LC")
                && a.sample_rate == first.sample_rate
                && a.channels == first.channels
        };
        let mut conformed = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            if is_target(&chunk.audio) {
                conformed.push(chunk);
                continue;
            }
            let index = chunk.index;
            info!(
                chunk_index = index,
                from_rate = chunk.audio.sample_rate,
                to_rate = first.sample_rate,
                "re-encoding the audio of a chunk with a different format"
            );
            let output = work.join(format!("conformed_{index:05}.mp4"));
            let config = &self.config;
            run_tool(
                &config.tool(
                    &config.ffmpeg,
                    conform_args(&chunk.path, &output, &first, chunk.audio.duration_seconds),
                    config.join_timeout,
                    chunk.audio.duration_seconds,
                ),
                cancel,
            )
            .await
            .map_err(|e| tool_error(format!("re-encoding chunk {index}"), e))?;
            let probed = run_tool(
                &config.tool(
                    &config.ffprobe,
                    probe_args(&output),
                    config.probe_timeout,
                    0.0,
                ),
                cancel,
            )
            .await
            .map_err(|e| tool_error(format!("probing re-encoded chunk {index}"), e))?;
            let probe =
                parse_probe(&probed.stdout).map_err(|e| MediaActivityError::UnexpectedOutput {
                    step: format!("re-encoding chunk {index}"),
                    detail: e.to_string(),
                })?;
            let audio =
                probe
                    .audio
                    .clone()
                    .ok_or_else(|| MediaActivityError::UnexpectedOutput {
                        step: format!("re-encoding chunk {index}"),
                        detail: "the result has no audio".to_owned(),
                    })?;
            // The original is no longer needed; keep the disk footprint at one copy per chunk.
            let _ = tokio::fs::remove_file(&chunk.path).await;
            conformed.push(LocalChunk {
                index,
                path: output,
                audio,
                created_at: chunk.created_at,
            });
        }
        Ok(conformed)
    }

    async fn upload(
        &self,
        input: &PrepareMediaInput,
        path: &Path,
        key: &str,
        content_type: &str,
        cancel: &CancellationToken,
    ) -> Result<(), MediaActivityError> {
        or_cancelled(cancel, async {
            self.store
                .upload_from(&input.bucket, key, path, content_type)
                .await
                .map(|_| ())
                .map_err(|source| MediaActivityError::Storage {
                    action: format!("uploading {key}"),
                    source,
                })
        })
        .await
    }
}

/// The index of the chunk being decoded `decoded` seconds into the join's PCM (padding included,
/// as the decoder emits it); the last chunk past the end.
fn chunk_at(chunks: &[LocalChunk], spans: &[ChunkSpan], decoded: f64) -> u32 {
    let mut end = 0.0;
    for (chunk, span) in chunks.iter().zip(spans) {
        end += span.decoded_seconds.max(span.presented_seconds);
        if decoded < end {
            return chunk.index;
        }
    }
    chunks.last().map_or(0, |c| c.index)
}

/// Each chunk's place on the joined audio timeline (padding removed): its real audio duration,
/// starting where the previous chunk ends.
fn offsets(chunks: &[LocalChunk]) -> Vec<ChunkOffset> {
    let mut start = 0.0;
    chunks
        .iter()
        .filter_map(|chunk| {
            let duration = chunk.audio.duration_seconds;
            let offset = ChunkOffset {
                index: ChunkIndex::new(chunk.index).ok()?,
                start_seconds: start,
                duration_seconds: duration,
            };
            start += duration;
            Some(offset)
        })
        .collect()
}

impl MediaActivityError {
    fn error_name_str(&self) -> &'static str {
        use meeting_domain::activity::ActivityErrorName;
        self.error_name().name()
    }
}

#[async_trait]
impl Activity for PrepareMediaActivity {
    type Contract = PrepareMedia;

    async fn run(
        &self,
        input: InputOf<Self>,
        ctx: &TaskContext,
    ) -> Result<OutputOf<Self>, Failure<ErrorOf<Self>>> {
        self.prepare(&input, &ctx.cancel)
            .await
            .map_err(MediaActivityError::into_failure)
    }
}
