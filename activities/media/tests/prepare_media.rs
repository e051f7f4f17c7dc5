//! The media activity with real FFmpeg on chunks generated at test time (espeak-ng speech, each
//! chunk encoded on its own as a recorder would), an in-memory object store, and hostile inputs.
//! Needs `ffmpeg`, `ffprobe`, `espeak-ng` and `sox` (`scripts/setup.sh apt`); fails without them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use activity_runtime::activity::{Activity, TaskContext};
use bytes::Bytes;
use media_activity::{MediaActivityError, MediaConfig, PrepareMediaActivity};
use meeting_domain::PortError;
use meeting_domain::activity::ActivityErrorName;
use meeting_domain::contracts::{MediaError, MediaOutput, PrepareMediaInput};
use meeting_domain::ids::{ChunkIndex, RecordingId, UserId};
use meeting_domain::keys::chunk_key;
use meeting_domain::ports::{ObjectMeta, ObjectStore};
use recorder_testkit::media::{self, ChunkSpec, MEETING_SCRIPT};
use recorder_testkit::memory::object_store::{InjectedError, MemoryObjectStore, StoreOp};
use tokio_util::sync::CancellationToken;

const BUCKET: &str = "media-bucket";
/// Chunk length of the generated recordings: short, so the ~30 s script gives many chunks.
const CHUNK_SECONDS: f64 = 4.0;

/// Chunks in the alignment recordings: enough that 12.7 ms of drift per chunk would add up to
/// more than 150 ms.
const ONSET_CHUNKS: usize = 12;

/// Generated once per test run, shared by the tests (generation takes a few seconds).
struct Fixtures {
    _dir: tempfile::TempDir,
    /// Same format throughout (48 kHz mono AAC).
    uniform: Vec<PathBuf>,
    /// Alternating 48 kHz mono, 44.1 kHz mono, 22.05 kHz stereo.
    mixed_rates: Vec<PathBuf>,
    /// Chunks of 0.99 s (a length whose AAC padding is 12.7 ms) each starting with a tone.
    onsets: Vec<PathBuf>,
    /// The same at alternating 48 kHz and 44.1 kHz.
    mixed_onsets: Vec<PathBuf>,
    corrupt: PathBuf,
    empty: PathBuf,
    playlist: PathBuf,
    video_only: PathBuf,
    /// H.264 + Opus in MP4.
    opus: PathBuf,
    /// H.264 + IMA ADPCM in QuickTime.
    adpcm: PathBuf,
    /// AAC whose headers declare 27 hours (stream) and 136 years (container).
    huge_duration: PathBuf,
    /// AAC whose sample tables claim 2^26 samples (1.6 GB of demuxer index).
    sample_table_bomb: PathBuf,
}

static FIXTURES: LazyLock<Fixtures> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir for fixtures");
    let uniform_dir = dir.path().join("uniform");
    let mixed_dir = dir.path().join("mixed");
    std::fs::create_dir_all(&uniform_dir).expect("mkdir");
    std::fs::create_dir_all(&mixed_dir).expect("mkdir");
    let onset_dir = dir.path().join("onsets");
    let mixed_onset_dir = dir.path().join("mixed_onsets");
    std::fs::create_dir_all(&onset_dir).expect("mkdir");
    std::fs::create_dir_all(&mixed_onset_dir).expect("mkdir");
    let onsets =
        media::make_onset_recording(&onset_dir, ONSET_CHUNKS, 0.99, &[ChunkSpec::default()]);
    let mixed_onsets = media::make_onset_recording(
        &mixed_onset_dir,
        ONSET_CHUNKS,
        0.99,
        &[
            ChunkSpec::default(),
            ChunkSpec {
                sample_rate: 44_100,
                channels: 1,
            },
        ],
    );
    let uniform = media::make_recording(&uniform_dir, MEETING_SCRIPT, CHUNK_SECONDS);
    let mixed_rates = media::make_recording_with(
        &mixed_dir,
        &MEETING_SCRIPT[..3],
        CHUNK_SECONDS,
        &[
            ChunkSpec {
                sample_rate: 48_000,
                channels: 1,
            },
            ChunkSpec {
                sample_rate: 44_100,
                channels: 1,
            },
            ChunkSpec {
                sample_rate: 22_050,
                channels: 2,
            },
        ],
    );
    Fixtures {
        corrupt: media::corrupt_chunk(dir.path(), "corrupt.mp4"),
        empty: media::zero_byte_chunk(dir.path(), "empty.mp4"),
        playlist: media::hls_playlist_chunk(dir.path(), "playlist.mp4"),
        video_only: media::video_only_chunk(dir.path(), "video_only.mp4"),
        opus: media::chunk_with_audio_codec(dir.path(), "opus.mp4", "libopus", "mp4"),
        adpcm: media::chunk_with_audio_codec(dir.path(), "adpcm.mp4", "adpcm_ima_qt", "mov"),
        huge_duration: media::huge_duration_chunk(dir.path(), "huge_duration.mp4"),
        sample_table_bomb: media::sample_table_bomb_chunk(dir.path(), "bomb.mp4"),
        uniform,
        mixed_rates,
        onsets,
        mixed_onsets,
        _dir: dir,
    }
});

fn user() -> UserId {
    UserId::new("user_1").expect("valid")
}

fn recording() -> RecordingId {
    RecordingId::new("rec_1").expect("valid")
}

fn input(chunk_count: u32) -> PrepareMediaInput {
    PrepareMediaInput {
        user_id: user(),
        recording_id: recording(),
        bucket: BUCKET.to_owned(),
        chunk_count,
        manifest_key: None,
    }
}

async fn put_chunk(store: &MemoryObjectStore, index: u32, file: &Path) {
    let key = chunk_key(
        &user(),
        &recording(),
        ChunkIndex::new(index).expect("index"),
    );
    let body = std::fs::read(file).expect("read fixture");
    store
        .put_bytes(BUCKET, &key, Bytes::from(body), "video/mp4")
        .await
        .expect("put chunk");
}

async fn store_with(chunks: &[&Path]) -> Arc<MemoryObjectStore> {
    let store = Arc::new(MemoryObjectStore::new());
    for (index, chunk) in chunks.iter().enumerate() {
        put_chunk(&store, u32::try_from(index).expect("small"), chunk).await;
    }
    store
}

/// A config whose temp dirs go into `work`, so tests can check they are removed.
fn config_in(work: &Path) -> MediaConfig {
    MediaConfig {
        work_dir: Some(work.to_path_buf()),
        ..MediaConfig::default()
    }
}

fn activity(store: Arc<MemoryObjectStore>, work: &Path) -> PrepareMediaActivity {
    PrepareMediaActivity::new(store, config_in(work))
}

fn assert_empty_dir(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .expect("read work dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}

/// Downloads `key` from the store into `dir`.
async fn download(store: &MemoryObjectStore, key: &str, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    store
        .download_to(BUCKET, key, &path)
        .await
        .expect("download output");
    path
}

fn refs(paths: &[PathBuf]) -> Vec<&Path> {
    paths.iter().map(PathBuf::as_path).collect()
}

fn assert_offsets_are_contiguous(output: &MediaOutput, chunks: usize) {
    assert_eq!(output.chunk_offsets.len(), chunks);
    let mut expected_start = 0.0;
    for (i, offset) in output.chunk_offsets.iter().enumerate() {
        assert_eq!(offset.index.get(), u32::try_from(i).expect("small"));
        assert!(offset.duration_seconds > 0.0, "chunk {i} has no duration");
        assert!(
            (offset.start_seconds - expected_start).abs() < 1e-9,
            "chunk {i} starts at {} instead of {expected_start}",
            offset.start_seconds
        );
        expected_start += offset.duration_seconds;
    }
}

async fn expect_failure(chunks: &[&Path], count: u32) -> (MediaActivityError, tempfile::TempDir) {
    let store = store_with(chunks).await;
    let work = tempfile::tempdir().expect("work dir");
    let error = activity(store, work.path())
        .prepare(&input(count), &CancellationToken::new())
        .await
        .expect_err("the task must fail");
    (error, work)
}

#[tokio::test]
async fn a_multi_chunk_recording_joins_into_16khz_mono_audio_as_long_as_its_chunks() {
    // GIVEN a speech recording cut into several chunks, each encoded on its own
    let fixtures = &*FIXTURES;
    let chunks = &fixtures.uniform;
    assert!(chunks.len() >= 6, "the script should give many chunks");
    let store = store_with(&refs(chunks)).await;
    let work = tempfile::tempdir().expect("work dir");

    // WHEN the media stage runs
    let output = activity(Arc::clone(&store), work.path())
        .prepare(
            &input(u32::try_from(chunks.len()).expect("small")),
            &CancellationToken::new(),
        )
        .await
        .expect("the recording joins");

    // THEN both outputs are stored under the processed prefix
    assert_eq!(
        output.recording_key,
        "users/user_1/processed/rec_1/recording.mp4"
    );
    assert_eq!(output.audio_key, "users/user_1/processed/rec_1/audio.flac");
    let out_dir = tempfile::tempdir().expect("out dir");
    let audio = download(&store, &output.audio_key, out_dir.path(), "audio.flac").await;
    let recording = download(
        &store,
        &output.recording_key,
        out_dir.path(),
        "recording.mp4",
    )
    .await;
    assert_eq!(media::audio_format(&audio), (16_000, 1));
    assert_eq!(
        output.audio_bytes,
        std::fs::metadata(&audio).expect("meta").len()
    );
    // AND the joined audio lasts as long as the chunks' audio together, within 50 ms
    let sum: f64 = chunks.iter().map(|c| media::audio_duration(c)).sum();
    assert!(
        (output.duration_seconds - sum).abs() < 0.050,
        "joined {} s vs chunks {sum} s",
        output.duration_seconds
    );
    assert!((media::audio_duration(&audio) - output.duration_seconds).abs() < 0.001);
    // AND the archive MP4 carries the same audio length (stream copy)
    assert!((media::audio_duration(&recording) - sum).abs() < 0.050);
    // AND the offsets tile the joined audio exactly, chunk after chunk
    assert_offsets_are_contiguous(&output, chunks.len());
    let last = output.chunk_offsets.last().expect("offsets");
    let end = last.start_seconds + last.duration_seconds;
    assert!(
        (end - output.duration_seconds).abs() < 0.002,
        "offsets end at {end} s, audio at {} s",
        output.duration_seconds
    );
    // AND nothing is left in the work dir
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn chunks_with_different_sample_rates_still_join_to_16khz_mono() {
    // GIVEN chunks at 48 kHz mono, 44.1 kHz mono and 22.05 kHz stereo
    let chunks = &FIXTURES.mixed_rates;
    let formats: Vec<_> = chunks.iter().map(|c| media::audio_format(c)).collect();
    assert!(formats.contains(&(44_100, 1)) && formats.contains(&(22_050, 2)));
    let store = store_with(&refs(chunks)).await;
    let work = tempfile::tempdir().expect("work dir");

    // WHEN the media stage runs
    let output = activity(Arc::clone(&store), work.path())
        .prepare(
            &input(u32::try_from(chunks.len()).expect("small")),
            &CancellationToken::new(),
        )
        .await
        .expect("mixed formats join");

    // THEN the audio is 16 kHz mono and as long as the chunks together
    let out_dir = tempfile::tempdir().expect("out dir");
    let audio = download(&store, &output.audio_key, out_dir.path(), "audio.flac").await;
    assert_eq!(media::audio_format(&audio), (16_000, 1));
    let sum: f64 = chunks.iter().map(|c| media::audio_duration(c)).sum();
    assert!(
        (output.duration_seconds - sum).abs() < 0.050,
        "joined {} s vs chunks {sum} s",
        output.duration_seconds
    );
    // AND the archive MP4 has one consistent audio track of the same length
    let recording = download(&store, &output.recording_key, out_dir.path(), "rec.mp4").await;
    assert_eq!(media::audio_format(&recording), (48_000, 1));
    assert!((media::audio_duration(&recording) - sum).abs() < 0.050);
    assert_offsets_are_contiguous(&output, chunks.len());
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn a_corrupt_chunk_is_rejected_with_its_index() {
    // GIVEN a recording whose chunk 2 has a valid ftyp box followed by garbage
    let f = &*FIXTURES;
    let chunks = [&*f.uniform[0], &*f.uniform[1], &*f.corrupt, &*f.uniform[3]];
    // WHEN the media stage runs
    let (error, work) = expect_failure(&chunks, 4).await;
    // THEN it fails as ChunkInvalid naming chunk 2, non-retryable
    assert_eq!(error.error_name(), MediaError::ChunkInvalid);
    assert!(!error.error_name().retryable());
    assert!(
        error.to_string().starts_with("chunk 2 is invalid"),
        "{error}"
    );
    assert!(error.to_string().contains("ffprobe rejected it"), "{error}");
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn a_zero_byte_chunk_is_rejected_with_its_index() {
    let f = &*FIXTURES;
    let (error, work) = expect_failure(&[&f.uniform[0], &f.empty], 2).await;
    assert_eq!(error.error_name(), MediaError::ChunkInvalid);
    assert_eq!(
        error.to_string(),
        "chunk 1 is invalid: the chunk is empty (0 bytes)"
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn an_hls_playlist_renamed_mp4_is_rejected_before_ffmpeg_opens_it() {
    // GIVEN chunk 1 is an HLS playlist pointing at a local file and a metadata URL
    let f = &*FIXTURES;
    let (error, work) = expect_failure(&[&f.uniform[0], &f.playlist, &f.uniform[2]], 3).await;
    // THEN the magic-byte check refuses it, naming chunk 1
    assert_eq!(error.error_name(), MediaError::ChunkInvalid);
    let cause = error.to_string();
    assert!(
        cause.starts_with("chunk 1 is invalid: no `ftyp` box"),
        "{cause}"
    );
    assert!(cause.contains("#EXTM3U"), "{cause}");
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn ffprobe_with_the_forced_demuxer_refuses_a_playlist_even_without_the_magic_check() {
    // GIVEN the playlist fixture handed straight to the probe command line, for the ffprobe the
    // activity runs (the minimal build when set up) and the system one
    let mut programs = vec![
        media_activity::probe::default_ffprobe(),
        PathBuf::from("ffprobe"),
    ];
    programs.dedup();
    for program in programs {
        let args = media_activity::probe::probe_args(&FIXTURES.playlist);
        // WHEN ffprobe runs with the forced MP4 demuxer and whitelists
        let result = media_activity::process::run_tool(
            &media_activity::process::ToolCommand::new(&program, args, Duration::from_secs(30)),
            &CancellationToken::new(),
        )
        .await;
        // THEN it fails to parse instead of opening the HLS demuxer
        match result {
            Err(media_activity::ToolError::Failed { stderr, .. }) => {
                assert!(
                    !stderr.to_lowercase().contains("hls"),
                    "{}: {stderr}",
                    program.display()
                );
            }
            other => panic!(
                "{} must refuse the playlist, got {other:?}",
                program.display()
            ),
        }
    }
}

#[tokio::test]
async fn a_chunk_without_audio_is_reported_as_no_audio() {
    let f = &*FIXTURES;
    let (error, work) = expect_failure(&[&f.uniform[0], &f.video_only], 2).await;
    assert_eq!(error.error_name(), MediaError::NoAudio);
    assert_eq!(error.to_string(), "chunk 1 has no audio stream");
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn a_missing_chunk_is_reported_with_its_index_and_key() {
    // GIVEN chunks 0, 1 and 3 of a four-chunk recording
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0], &f.uniform[1]]).await;
    put_chunk(&store, 3, &f.uniform[3]).await;
    let work = tempfile::tempdir().expect("work dir");
    // WHEN the media stage runs for four chunks
    let error = activity(store, work.path())
        .prepare(&input(4), &CancellationToken::new())
        .await
        .expect_err("chunk 2 is missing");
    // THEN it fails as ChunkMissing naming chunk 2
    assert_eq!(error.error_name(), MediaError::ChunkMissing);
    assert_eq!(
        error.to_string(),
        "chunk 2 is missing: no object at users/user_1/chunks/rec_1/chunk_002.mp4"
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn a_transient_storage_error_is_retryable_storage_unavailable() {
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0]]).await;
    store.fail_next(StoreOp::Download, InjectedError::Unavailable);
    let work = tempfile::tempdir().expect("work dir");
    let error = activity(store, work.path())
        .prepare(&input(1), &CancellationToken::new())
        .await
        .expect_err("download fails");
    let failure = error.into_failure();
    assert_eq!(failure.error, MediaError::StorageUnavailable);
    assert_eq!(failure.error.name(), "Storage.Unavailable");
    assert!(failure.error.retryable());
    assert!(
        failure.cause.contains("downloading chunk 0"),
        "{}",
        failure.cause
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn a_denied_upload_is_not_retried() {
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0]]).await;
    store.fail_next(StoreOp::Put, InjectedError::AccessDenied);
    let work = tempfile::tempdir().expect("work dir");
    let error = activity(store, work.path())
        .prepare(&input(1), &CancellationToken::new())
        .await
        .expect_err("upload fails");
    assert_eq!(error.error_name(), MediaError::StorageRejected);
    assert!(error.to_string().contains("uploading"), "{error}");
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn a_missing_ffprobe_fails_with_the_setup_command() {
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0]]).await;
    let work = tempfile::tempdir().expect("work dir");
    let config = MediaConfig {
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        ..config_in(work.path())
    };
    let error = PrepareMediaActivity::new(store, config)
        .prepare(&input(1), &CancellationToken::new())
        .await
        .expect_err("no ffprobe");
    assert_eq!(error.error_name(), MediaError::ToolFailed);
    assert!(
        error.to_string().contains("scripts/setup.sh apt"),
        "{error}"
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn cancelling_the_task_kills_ffmpeg_and_removes_the_temp_files() {
    // GIVEN an "ffmpeg" that records its pid and then hangs
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0], &f.uniform[1]]).await;
    let work = tempfile::tempdir().expect("work dir");
    let scripts = tempfile::tempdir().expect("script dir");
    let pid_file = scripts.path().join("pid");
    let fake = scripts.path().join("ffmpeg");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 300\n",
            pid_file.display()
        ),
    )
    .expect("write fake ffmpeg");
    std::process::Command::new("chmod")
        .args(["+x", &fake.to_string_lossy()])
        .status()
        .expect("chmod");
    let config = MediaConfig {
        ffmpeg: fake,
        ..config_in(work.path())
    };
    let activity = PrepareMediaActivity::new(store, config);
    let ctx = TaskContext {
        cancel: CancellationToken::new(),
        task_id: "test-task".to_owned(),
    };
    let cancel = ctx.cancel.clone();
    let watcher = tokio::spawn(async move {
        // Wait (without a deadline: the test harness has one) until the join is running.
        while !pid_file.exists()
            || std::fs::read_to_string(&pid_file)
                .unwrap_or_default()
                .trim()
                .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = std::fs::read_to_string(&pid_file)
            .expect("pid")
            .trim()
            .to_owned();
        cancel.cancel();
        pid
    });

    // WHEN the task is cancelled while "ffmpeg" runs
    let result = activity.run(input(2), &ctx).await;
    let pid = watcher.await.expect("watcher");

    // THEN the task fails, the process is gone and the temp dir is removed
    let failure = result.expect_err("cancelled");
    assert_eq!(failure.cause, "the task was cancelled");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "ffmpeg (pid {pid}) is still running"
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn the_activity_trait_reports_the_contract_error_name_and_index() {
    // GIVEN a recording with a corrupt chunk 1, run through the Activity trait
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0], &f.corrupt]).await;
    let work = tempfile::tempdir().expect("work dir");
    let ctx = TaskContext {
        cancel: CancellationToken::new(),
        task_id: "t".to_owned(),
    };
    // WHEN it runs
    let failure = activity(store, work.path())
        .run(input(2), &ctx)
        .await
        .expect_err("corrupt");
    // THEN the failure carries the wire name and the index
    assert_eq!(failure.error.name(), "Media.ChunkInvalid");
    assert!(
        failure.cause.starts_with("chunk 1 is invalid"),
        "{}",
        failure.cause
    );
}

/// Runs the stage on `chunks` and checks that every chunk's tone starts in the joined audio
/// where its offset says, within `tolerance` seconds.
async fn assert_chunks_land_on_their_offsets(chunks: &[PathBuf], tolerance: f64) {
    let store = store_with(&refs(chunks)).await;
    let work = tempfile::tempdir().expect("work dir");
    let output = activity(Arc::clone(&store), work.path())
        .prepare(
            &input(u32::try_from(chunks.len()).expect("small")),
            &CancellationToken::new(),
        )
        .await
        .expect("the recording joins");
    let out_dir = tempfile::tempdir().expect("out dir");
    let audio = download(&store, &output.audio_key, out_dir.path(), "audio.flac").await;
    let onsets = media::tone_onsets(&audio);
    assert_eq!(onsets.len(), chunks.len(), "one tone per chunk: {onsets:?}");
    for (offset, onset) in output.chunk_offsets.iter().zip(&onsets) {
        assert!(
            (offset.start_seconds - onset).abs() < tolerance,
            "chunk {} starts at {onset} s in the audio but its offset says {} s",
            offset.index,
            offset.start_seconds
        );
    }
    let sum: f64 = chunks.iter().map(|c| media::audio_duration(c)).sum();
    assert!(
        (output.duration_seconds - sum).abs() < 0.005,
        "joined {} s vs chunks {sum} s",
        output.duration_seconds
    );
}

#[tokio::test]
async fn every_chunk_starts_in_the_joined_audio_exactly_at_its_offset() {
    // GIVEN 12 chunks of 0.99 s, each beginning with a tone; decoding each adds 12.7 ms of
    // AAC padding, so without trimming chunk 11 would land 140 ms late
    // WHEN joined, THEN each tone starts within 3 ms of its chunk's offset
    assert_chunks_land_on_their_offsets(&FIXTURES.onsets, 0.003).await;
}

#[tokio::test]
async fn chunks_re_encoded_for_a_different_sample_rate_stay_aligned() {
    // GIVEN the same at alternating 48 kHz and 44.1 kHz (every other chunk is re-encoded)
    // WHEN joined, THEN each tone still starts within 3 ms of its chunk's offset
    assert_chunks_land_on_their_offsets(&FIXTURES.mixed_onsets, 0.003).await;
}

// ---------------------------------------------------------------------------------------------
// Chunk checksums from the manifest
// ---------------------------------------------------------------------------------------------

fn sha256_of(file: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(file).expect("read fixture")))
}

/// Stores `manifest.json` listing `digests` (index, sha256) and returns the input naming it.
async fn with_manifest(
    store: &MemoryObjectStore,
    count: u32,
    digests: &[(u32, String)],
) -> PrepareMediaInput {
    let key = meeting_domain::keys::manifest_key(&user(), &recording());
    let chunks: Vec<serde_json::Value> = digests
        .iter()
        .map(|(index, sha256)| serde_json::json!({"index": index, "sha256": sha256}))
        .collect();
    let body = serde_json::json!({"expectedChunkCount": count, "chunks": chunks});
    store
        .put_bytes(
            BUCKET,
            &key,
            Bytes::from(body.to_string()),
            "application/json",
        )
        .await
        .expect("put manifest");
    PrepareMediaInput {
        manifest_key: Some(key),
        ..input(count)
    }
}

#[tokio::test]
async fn given_a_chunk_replaced_after_the_manifest_when_prepared_then_checksum_mismatch_names_it() {
    // GIVEN a manifest with the digests of three chunks, and chunk 1 replaced by other bytes
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0], &f.uniform[2], &f.uniform[2]]).await;
    let digests: Vec<(u32, String)> = (0..3u32)
        .map(|i| (i, sha256_of(&f.uniform[i as usize])))
        .collect();
    let input = with_manifest(&store, 3, &digests).await;
    let work = tempfile::tempdir().expect("work dir");

    // WHEN the media stage runs
    let error = activity(store, work.path())
        .prepare(&input, &CancellationToken::new())
        .await
        .expect_err("chunk 1 does not match");

    // THEN it fails, not retried, naming chunk 1, its key, both digests and what to do
    assert_eq!(error.error_name(), MediaError::ChecksumMismatch);
    let failure = error.into_failure();
    assert_eq!(failure.error.name(), "Media.ChecksumMismatch");
    assert!(!failure.error.retryable());
    let cause = failure.cause;
    for needle in [
        "chunk 1 ",
        "users/user_1/chunks/rec_1/chunk_001.mp4",
        digests[1].1.as_str(),
        sha256_of(&f.uniform[2]).as_str(),
        "upload chunk 1 again, then run `recorder reprocess`",
    ] {
        assert!(cause.contains(needle), "{needle:?} not in {cause}");
    }
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn given_a_manifest_whose_digests_match_when_prepared_then_the_recording_joins() {
    let f = &*FIXTURES;
    let chunks = [&f.uniform[0], &f.uniform[1]];
    let store = store_with(&[chunks[0], chunks[1]]).await;
    // Upper-case hex is the same digest.
    let digests = vec![
        (0, sha256_of(chunks[0]).to_ascii_uppercase()),
        (1, sha256_of(chunks[1])),
    ];
    let input = with_manifest(&store, 2, &digests).await;
    let work = tempfile::tempdir().expect("work dir");

    let output = activity(store, work.path())
        .prepare(&input, &CancellationToken::new())
        .await
        .expect("the chunks match their manifest");

    assert_offsets_are_contiguous(&output, 2);
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn given_no_manifest_key_when_prepared_then_no_manifest_is_read() {
    // GIVEN a manifest that would fail every chunk, and a store that fails the next read
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0]]).await;
    with_manifest(&store, 1, &[(0, "0".repeat(64))]).await;
    store.fail_next(StoreOp::Get, InjectedError::AccessDenied);
    let work = tempfile::tempdir().expect("work dir");

    // WHEN the task names no manifest
    let output = activity(store, work.path())
        .prepare(&input(1), &CancellationToken::new())
        .await;

    // THEN neither the manifest nor any range of a chunk was read
    assert!(output.is_ok(), "{output:?}");
}

#[tokio::test]
async fn given_a_manifest_key_without_an_object_when_prepared_then_manifest_invalid_is_not_retried()
{
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0]]).await;
    let input = PrepareMediaInput {
        manifest_key: Some(meeting_domain::keys::manifest_key(&user(), &recording())),
        ..input(1)
    };
    let work = tempfile::tempdir().expect("work dir");

    let error = activity(store, work.path())
        .prepare(&input, &CancellationToken::new())
        .await
        .expect_err("no manifest");

    assert_eq!(error.error_name(), MediaError::ManifestInvalid);
    assert!(!error.error_name().retryable());
    let cause = error.to_string();
    assert!(
        cause.contains("users/user_1/chunks/rec_1/manifest.json") && cause.contains("no object"),
        "{cause}"
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn given_the_manifest_key_of_another_recording_when_prepared_then_it_is_not_read() {
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0]]).await;
    store.fail_next(StoreOp::Get, InjectedError::AccessDenied);
    let input = PrepareMediaInput {
        manifest_key: Some("users/someone_else/chunks/rec_1/manifest.json".to_owned()),
        ..input(1)
    };
    let work = tempfile::tempdir().expect("work dir");

    let error = activity(store, work.path())
        .prepare(&input, &CancellationToken::new())
        .await
        .expect_err("not this recording's manifest");

    assert_eq!(error.error_name(), MediaError::ManifestInvalid);
    assert!(
        error.to_string().contains("not this recording's manifest"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile media: codecs, declared numbers, resource limits, oversized manifests
// ---------------------------------------------------------------------------------------------

/// The ffprobe builds a chunk can meet: the one the activity runs (the minimal build when
/// `scripts/setup.sh ffprobe` made it) and Debian's.
fn ffprobe_builds() -> Vec<PathBuf> {
    let mut programs = vec![
        media_activity::probe::default_ffprobe(),
        PathBuf::from("ffprobe"),
    ];
    programs.dedup();
    programs
}

#[tokio::test]
async fn a_chunk_with_audio_other_than_aac_is_refused_naming_the_chunk_and_the_codec() {
    let f = &*FIXTURES;
    for program in ffprobe_builds() {
        for (chunk, codec) in [(&f.opus, "opus"), (&f.adpcm, "adpcm_ima_qt")] {
            // GIVEN a recording whose chunk 1 has valid audio in a codec other than AAC
            let store = store_with(&[&f.uniform[0], chunk, &f.uniform[2]]).await;
            let work = tempfile::tempdir().expect("work dir");
            let config = MediaConfig {
                ffprobe: program.clone(),
                ..config_in(work.path())
            };
            // WHEN the media stage runs
            let error = PrepareMediaActivity::new(store, config)
                .prepare(&input(3), &CancellationToken::new())
                .await
                .expect_err("the codec is refused, not decoded or re-encoded");
            // THEN it is refused as an unsupported codec, naming chunk 1 and the codec
            let context = format!("{} on {codec}", program.display());
            match &error {
                MediaActivityError::UnsupportedCodec {
                    index: 1,
                    codec: named,
                } => {
                    assert_eq!(named, codec, "{context}");
                }
                other => panic!("{context}: expected UnsupportedCodec, got {other:?}"),
            }
            assert_eq!(error.error_name(), MediaError::ChunkInvalid, "{context}");
            assert!(
                error.to_string().starts_with(&format!(
                    "chunk 1 is invalid: its audio codec is {codec}, and only AAC (in MP4) is \
                     accepted"
                )),
                "{context}: {error}"
            );
            assert_empty_dir(work.path());
        }
    }
}

#[tokio::test]
async fn a_chunk_declaring_a_huge_duration_is_refused_with_the_value_it_declares() {
    // GIVEN a valid AAC chunk 1 whose MP4 headers were patched to declare 136 years
    let f = &*FIXTURES;
    let chunks = [&*f.uniform[0], &*f.huge_duration, &*f.uniform[2]];
    // WHEN the media stage runs
    let (error, work) = expect_failure(&chunks, 3).await;
    // THEN chunk 1 is refused with the declared duration and the limit, before any offset or
    // trim position is computed from it
    assert_eq!(error.error_name(), MediaError::ChunkInvalid);
    let cause = error.to_string();
    assert!(
        cause.starts_with(
            "chunk 1 is invalid: the container declares a duration of 4294967295.000000 s; a \
             chunk may last at most 86400 s"
        ),
        "{cause}"
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn a_sample_table_memory_bomb_is_refused_within_the_memory_limit() {
    // GIVEN an 18 KB chunk whose sample tables make FFmpeg's demuxer want a 1.6 GB index
    let f = &*FIXTURES;
    // WHEN the media stage runs with the default memory limit (1 GiB per FFmpeg process)
    let (error, work) = expect_failure(&[&f.uniform[0], &f.sample_table_bomb], 2).await;
    // THEN the index allocation is refused inside ffprobe, which then has no packet to show,
    // and the chunk is refused by index
    assert_eq!(error.error_name(), MediaError::ChunkInvalid);
    let cause = error.to_string();
    assert!(
        cause.starts_with("chunk 1 is invalid: ffprobe read no audio packet from it"),
        "{cause}"
    );
    assert_empty_dir(work.path());
}

#[tokio::test]
async fn every_ffmpeg_and_ffprobe_runs_under_the_configured_memory_limit_and_a_cpu_limit() {
    // GIVEN wrappers around ffmpeg and ffprobe that log the limits they were started with
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0], &f.uniform[1]]).await;
    let work = tempfile::tempdir().expect("work dir");
    let scripts = tempfile::tempdir().expect("script dir");
    let log = scripts.path().join("limits.log");
    let wrapper = |name: &str, real: &Path| {
        let path = scripts.path().join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{name} $(ulimit -v) $(ulimit -t)\" >> '{}'\nexec '{}' \"$@\"\n",
                log.display(),
                real.display()
            ),
        )
        .expect("write wrapper");
        std::process::Command::new("chmod")
            .args(["+x", &path.to_string_lossy()])
            .status()
            .expect("chmod");
        path
    };
    let ffprobe = which(&media_activity::probe::default_ffprobe());
    let config = MediaConfig {
        ffmpeg: wrapper("ffmpeg", &which(Path::new("ffmpeg"))),
        ffprobe: wrapper("ffprobe", &ffprobe),
        ..MediaConfig::from_lookup(|name| {
            (name == "MEDIA_TOOL_MEMORY_MIB").then(|| "768".to_owned())
        })
        .expect("768 MiB is in range")
    };
    let config = MediaConfig {
        work_dir: Some(work.path().to_path_buf()),
        ..config
    };

    // WHEN a recording is prepared
    PrepareMediaActivity::new(store, config)
        .prepare(&input(2), &CancellationToken::new())
        .await
        .expect("the recording joins under its limits");

    // THEN every process ran with 768 MiB of address space (786,432 KiB) and a CPU limit:
    // the probes their 30 s wall-clock limit, the join a share of the audio it decodes
    let lines = std::fs::read_to_string(&log).expect("the wrappers ran");
    let lines: Vec<Vec<&str>> = lines.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(
        lines.iter().filter(|l| l[0] == "ffprobe").count(),
        3,
        "two chunks and the joined audio: {lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l[0] == "ffmpeg").count(),
        2,
        "{lines:?}"
    );
    for line in &lines {
        assert_eq!(line[1], "786432", "{line:?}");
        let cpu: u64 = line[2].parse().unwrap_or_else(|_| panic!("{line:?}"));
        if line[0] == "ffprobe" {
            assert_eq!(cpu, 30, "{line:?}");
        } else {
            assert!((30..=40).contains(&cpu), "{line:?}");
        }
    }
}

#[tokio::test]
async fn a_join_that_runs_out_of_memory_names_the_limit_and_the_chunk_it_was_decoding() {
    // GIVEN an "ffmpeg" whose join decodes 6 s of PCM (into chunk 1 of 4 s chunks) and then
    // fails an allocation the way FFmpeg reports ENOMEM; the FLAC encoder is the real one
    let f = &*FIXTURES;
    let store = store_with(&[&f.uniform[0], &f.uniform[1], &f.uniform[2]]).await;
    let work = tempfile::tempdir().expect("work dir");
    let scripts = tempfile::tempdir().expect("script dir");
    let fake = scripts.path().join("ffmpeg");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh
case \"$*\" in *concat*)
  head -c 192000 /dev/zero
  echo 'Error while \
             decoding stream #0:0: Cannot allocate memory' >&2
  exit 1;;
esac
exec '{}' \"$@\"\n",
            which(Path::new("ffmpeg")).display()
        ),
    )
    .expect("write fake ffmpeg");
    std::process::Command::new("chmod")
        .args(["+x", &fake.to_string_lossy()])
        .status()
        .expect("chmod");
    let config = MediaConfig {
        ffmpeg: fake.clone(),
        ..config_in(work.path())
    };

    // WHEN the media stage runs
    let error = PrepareMediaActivity::new(store, config)
        .prepare(&input(3), &CancellationToken::new())
        .await
        .expect_err("the join runs out of memory");

    // THEN the failure is the tool's, typed as out of memory, naming the limit and the chunk
    assert_eq!(error.error_name(), MediaError::ToolFailed);
    assert!(
        matches!(
            &error,
            MediaActivityError::Tool {
                source: media_activity::ToolError::OutOfMemory {
                    limit_mib: 1024,
                    ..
                },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "joining the chunks (decoding chunk 1, 6.0 s into the audio) failed: `{}` ran out of \
             its memory limit of 1024 MiB (MEDIA_TOOL_MEMORY_MIB sets it): Error while decoding \
             stream #0:0: Cannot allocate memory",
            fake.display()
        )
    );
    assert_empty_dir(work.path());
}

/// The absolute path of `program` (as the wrapper must exec it).
fn which(program: &Path) -> PathBuf {
    if program.is_absolute() {
        return program.to_path_buf();
    }
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {}", program.display())])
        .output()
        .expect("sh");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn a_memory_limit_out_of_range_is_refused_at_configuration_naming_the_variable() {
    let config = |value: &str| {
        let value = value.to_owned();
        MediaConfig::from_lookup(move |name| {
            (name == "MEDIA_TOOL_MEMORY_MIB").then(|| value.clone())
        })
    };
    assert_eq!(config("2048").expect("in range").memory_limit.mib(), 2048);
    assert_eq!(
        MediaConfig::from_lookup(|_| None)
            .expect("unset")
            .memory_limit
            .mib(),
        1024
    );
    let error = config("64").expect_err("below the minimum");
    assert_eq!(
        error.to_string(),
        "MEDIA_TOOL_MEMORY_MIB=\"64\" is invalid: expected whole MiB from 512 to 65536 (default \
         1024): Debian's FFmpeg needs ~300 MiB just to start"
    );
}

/// An object store that counts the bytes it hands out, over the in-memory store.
#[derive(Debug)]
struct CountingStore {
    inner: MemoryObjectStore,
    served: AtomicU64,
}

impl CountingStore {
    fn count(&self, bytes: u64) {
        self.served.fetch_add(bytes, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ObjectStore for CountingStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        self.inner.head(bucket, key).await
    }

    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError> {
        let bytes = self.inner.get_range(bucket, key, start, len).await?;
        self.count(bytes.len() as u64);
        Ok(bytes)
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        let bytes = self.inner.get_bytes(bucket, key).await?;
        self.count(bytes.len() as u64);
        Ok(bytes)
    }

    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        let written = self.inner.download_to(bucket, key, path).await?;
        self.count(written);
        Ok(written)
    }

    async fn upload_from(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.inner
            .upload_from(bucket, key, path, content_type)
            .await
    }

    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.inner.put_bytes(bucket, key, body, content_type).await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        self.inner.list(bucket, prefix).await
    }
}

#[tokio::test]
async fn given_a_100_mb_manifest_when_prepared_then_it_is_refused_having_read_only_the_limit() {
    // GIVEN a 100 MB manifest (valid JSON up to where a reader would stop) and a store that
    // counts every byte it serves
    use meeting_domain::contracts::MAX_MANIFEST_BYTES;
    let store = Arc::new(CountingStore {
        inner: MemoryObjectStore::new(),
        served: AtomicU64::new(0),
    });
    let key = meeting_domain::keys::manifest_key(&user(), &recording());
    let mut body = br#"{"expectedChunkCount": 1, "chunks": ["#.to_vec();
    let entry = format!(r#"{{"index": 0, "sha256": "{}"}},"#, "a".repeat(64));
    while body.len() < 100_000_000 {
        body.extend_from_slice(entry.as_bytes());
    }
    store
        .put_bytes(BUCKET, &key, Bytes::from(body), "application/json")
        .await
        .expect("put manifest");
    let input = PrepareMediaInput {
        manifest_key: Some(key),
        ..input(1)
    };
    let work = tempfile::tempdir().expect("work dir");

    // WHEN the media stage runs
    let error = PrepareMediaActivity::new(
        Arc::clone(&store) as Arc<dyn ObjectStore>,
        config_in(work.path()),
    )
    .prepare(&input, &CancellationToken::new())
    .await
    .expect_err("the manifest is too large");

    // THEN it is refused with the size limit, not retried, and at most the limit plus one byte
    // was ever read from the store
    assert_eq!(error.error_name(), MediaError::ManifestInvalid);
    assert!(!error.error_name().retryable());
    assert!(
        error
            .to_string()
            .contains("it is larger than the 16777216-byte limit"),
        "{error}"
    );
    let served = store.served.load(Ordering::SeqCst);
    assert!(
        served <= MAX_MANIFEST_BYTES + 1,
        "{served} bytes were read for a manifest limited to {MAX_MANIFEST_BYTES}"
    );
    assert_empty_dir(work.path());
}
