//! Benchmark of the media stage: a generated recording of `BENCH_MINUTES` (default 60) one-minute
//! chunks (tone + pink noise, H.264 + AAC 48 kHz mono, each encoded on its own) joined by the
//! activity over a directory-backed object store, against a bare FFmpeg decode of the same audio
//! through the concat demuxer to 16 kHz mono WAV.
//!
//! Reports: wall time of the activity and of the bare decode (ratio), FFmpeg's peak RSS (GNU
//! `time` wrappers around `ffmpeg`/`ffprobe`), the worker's own peak RSS (`VmHWM`), and the share
//! of the wall time spent outside the join FFmpeg (downloads, probes, uploads).
//!
//!     BENCH_MINUTES=60 cargo bench -p media-activity --bench prepare_media
//!
//! Fixtures are cached in `target/tmp/media-bench/`. Needs ffmpeg and GNU time
//! (`scripts/setup.sh apt`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use media_activity::{MediaConfig, PrepareMediaActivity};
use meeting_domain::PortError;
use meeting_domain::contracts::PrepareMediaInput;
use meeting_domain::ids::{RecordingId, UserId};
use meeting_domain::ports::{ObjectMeta, ObjectStore};
use recorder_testkit::media::{ChunkSpec, make_tone_recording};
use tokio_util::sync::CancellationToken;

const BUCKET: &str = "bench";
const CHUNK_SECONDS: f64 = 60.0;

/// An object store over a directory (`root/bucket/key`): streams files like the S3 adapter
/// streams bodies, so the worker's RSS is not inflated by a store holding media in memory.
#[derive(Debug)]
struct DirStore {
    root: PathBuf,
}

impl DirStore {
    fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }
}

fn io(error: std::io::Error) -> PortError {
    if error.kind() == std::io::ErrorKind::NotFound {
        PortError::NotFound {
            what: error.to_string(),
        }
    } else {
        PortError::Unavailable {
            service: "bench dir store",
            source: Box::new(error),
        }
    }
}

fn meta(key: &str, size: u64) -> ObjectMeta {
    ObjectMeta {
        key: key.to_owned(),
        size,
        etag: format!("{size:x}"),
        sha256: None,
    }
}

#[async_trait]
impl ObjectStore for DirStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        match tokio::fs::metadata(self.path(bucket, key)).await {
            Ok(m) => Ok(Some(meta(key, m.len()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
    async fn get_range(&self, b: &str, k: &str, start: u64, len: u64) -> Result<Bytes, PortError> {
        let all = self.get_bytes(b, k).await?;
        let from = usize::try_from(start).unwrap_or(usize::MAX).min(all.len());
        let to = usize::try_from(start + len)
            .unwrap_or(usize::MAX)
            .min(all.len());
        Ok(all.slice(from..to))
    }
    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        Ok(Bytes::from(
            tokio::fs::read(self.path(bucket, key)).await.map_err(io)?,
        ))
    }
    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        tokio::fs::copy(self.path(bucket, key), path)
            .await
            .map_err(io)
    }
    async fn upload_from(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        _content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let target = self.path(bucket, key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let size = tokio::fs::copy(path, target).await.map_err(io)?;
        Ok(meta(key, size))
    }
    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        _content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        let target = self.path(bucket, key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        tokio::fs::write(target, &body).await.map_err(io)?;
        Ok(meta(key, body.len() as u64))
    }
    async fn list(&self, _bucket: &str, _prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        Ok(Vec::new())
    }
}

/// Peak resident set of this process, KiB (`VmHWM`).
fn own_peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Writes a wrapper that runs `tool` under GNU time, appending "tool elapsed maxrss_kib".
fn time_wrapper(dir: &Path, tool: &str, program: &Path, log: &Path) -> PathBuf {
    let path = dir.join(tool);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec /usr/bin/time -a -o '{}' -f '{tool} %e %M' '{}' \"$@\"\n",
            log.display(),
            program.display()
        ),
    )
    .expect("write wrapper");
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&path)
        .status()
        .expect("chmod");
    assert!(status.success());
    path
}

struct ToolStats {
    count: usize,
    max_elapsed: f64,
    sum_elapsed: f64,
    max_rss_kib: u64,
}

fn stats(log: &str, tool: &str) -> ToolStats {
    let mut out = ToolStats {
        count: 0,
        max_elapsed: 0.0,
        sum_elapsed: 0.0,
        max_rss_kib: 0,
    };
    for line in log.lines() {
        let mut fields = line.split_whitespace();
        if fields.next() != Some(tool) {
            continue;
        }
        let elapsed: f64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let rss: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        out.count += 1;
        out.sum_elapsed += elapsed;
        out.max_elapsed = out.max_elapsed.max(elapsed);
        out.max_rss_kib = out.max_rss_kib.max(rss);
    }
    out
}

fn fixtures(root: &Path, minutes: usize) -> Vec<PathBuf> {
    let dir = root.join(format!("tone-{minutes}x60s"));
    let done = dir.join(".complete");
    if done.exists() {
        return (0..minutes)
            .map(|i| dir.join(format!("chunk_{i:03}.mp4")))
            .collect();
    }
    std::fs::create_dir_all(&dir).expect("fixture dir");
    eprintln!("generating {minutes} one-minute chunks in {dir:?} (cached afterwards)…");
    let chunks = make_tone_recording(&dir, minutes, CHUNK_SECONDS, ChunkSpec::default());
    std::fs::write(&done, b"").expect("marker");
    chunks
}

fn bare_decode(list: &Path, out: &Path, timed: Option<&Path>) -> Duration {
    let started = Instant::now();
    let mut command = match timed {
        Some(log) => {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-a", "-o"])
                .arg(log)
                .args(["-f", "bare %e %M", "ffmpeg"]);
            c
        }
        None => Command::new("ffmpeg"),
    };
    let status = command
        .args([
            "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i",
        ])
        .arg(list)
        .args(["-vn", "-ac", "1", "-ar", "16000", "-f", "wav"])
        .arg(out)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh apt)");
    assert!(status.success(), "bare decode failed");
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let minutes: usize = std::env::var("BENCH_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("media-bench");
    let chunks = fixtures(&root, minutes);

    // The store: chunks hard-linked into bucket layout.
    let store_root = root.join(format!("store-{minutes}"));
    let _ = std::fs::remove_dir_all(&store_root);
    let chunk_dir = store_root.join(BUCKET).join("users/bench/chunks/rec/");
    std::fs::create_dir_all(&chunk_dir).expect("store dir");
    for (i, chunk) in chunks.iter().enumerate() {
        std::fs::hard_link(chunk, chunk_dir.join(format!("chunk_{i:03}.mp4")))
            .or_else(|_| {
                std::fs::copy(chunk, chunk_dir.join(format!("chunk_{i:03}.mp4"))).map(|_| ())
            })
            .expect("link chunk");
    }
    let store = Arc::new(DirStore { root: store_root });
    let input = PrepareMediaInput {
        user_id: UserId::new("bench").expect("id"),
        recording_id: RecordingId::new("rec").expect("id"),
        bucket: BUCKET.to_owned(),
        chunk_count: u32::try_from(minutes).expect("minutes"),
        manifest_key: None,
    };
    let work = root.join("work");
    std::fs::create_dir_all(&work).expect("work dir");

    // Baseline: bare decode of the same audio through the concat demuxer.
    let list = root.join(format!("bare-{minutes}.txt"));
    let body: String = chunks
        .iter()
        .map(|c| format!("file '{}'\n", c.display()))
        .collect();
    std::fs::write(&list, body).expect("list");
    let wav = work.join("bare.wav");
    bare_decode(&list, &wav, None); // warm the page cache
    let bare = bare_decode(&list, &wav, None);
    let _ = std::fs::remove_file(&wav);

    // The activity, plain (for wall time).
    let plain = PrepareMediaActivity::new(
        store.clone(),
        MediaConfig {
            work_dir: Some(work.clone()),
            ..MediaConfig::default()
        },
    );
    let started = Instant::now();
    let output = plain
        .prepare(&input, &CancellationToken::new())
        .await
        .expect("the media stage succeeds");
    let wall = started.elapsed();
    let worker_rss = own_peak_rss_kib();

    // The activity again under GNU time wrappers (for FFmpeg's RSS and time split).
    let defaults = MediaConfig::default();
    let wrappers = tempfile::tempdir().expect("wrapper dir");
    let log = wrappers.path().join("time.log");
    let timed = PrepareMediaActivity::new(
        store,
        MediaConfig {
            work_dir: Some(work.clone()),
            ffmpeg: time_wrapper(wrappers.path(), "ffmpeg", &defaults.ffmpeg, &log),
            ffprobe: time_wrapper(wrappers.path(), "ffprobe", &defaults.ffprobe, &log),
            ..MediaConfig::default()
        },
    );
    let started = Instant::now();
    timed
        .prepare(&input, &CancellationToken::new())
        .await
        .expect("the media stage succeeds (timed)");
    let timed_wall = started.elapsed().as_secs_f64();
    bare_decode(&list, &wav, Some(&log));
    let _ = std::fs::remove_file(&wav);
    let log_text = std::fs::read_to_string(&log).expect("time log");
    let ffmpeg = stats(&log_text, "ffmpeg");
    let ffprobe = stats(&log_text, "ffprobe");
    let bare_stats = stats(&log_text, "bare");
    // The two FFmpeg processes of the join run side by side (a pipe): the join lasts the longer.
    let outside = (timed_wall - ffmpeg.max_elapsed).max(0.0);

    let last = output.chunk_offsets.last().expect("offsets");
    println!("ffprobe: {}", defaults.ffprobe.display());
    println!(
        "media stage, {minutes} one-minute chunks ({:.2} s of audio)",
        output.duration_seconds
    );
    println!(
        "  activity wall time            {:>8.2} s",
        wall.as_secs_f64()
    );
    println!(
        "  bare ffmpeg decode (WAV)      {:>8.2} s",
        bare.as_secs_f64()
    );
    println!(
        "  ratio activity / bare         {:>8.2}",
        wall.as_secs_f64() / bare.as_secs_f64()
    );
    println!(
        "  join ffmpeg peak RSS          {:>8.1} MiB ({} run(s), {:.2} s)",
        ffmpeg.max_rss_kib as f64 / 1024.0,
        ffmpeg.count,
        ffmpeg.max_elapsed
    );
    println!(
        "  bare ffmpeg peak RSS          {:>8.1} MiB",
        bare_stats.max_rss_kib as f64 / 1024.0
    );
    println!(
        "  ffprobe runs / max RSS        {:>8} / {:.1} MiB (sum {:.2} s, 4 concurrent)",
        ffprobe.count,
        ffprobe.max_rss_kib as f64 / 1024.0,
        ffprobe.sum_elapsed
    );
    println!(
        "  worker (this process) VmHWM   {:>8.1} MiB",
        worker_rss as f64 / 1024.0
    );
    println!(
        "  timed run wall / outside join {:>8.2} s / {:.2} s ({:.0} %)",
        timed_wall,
        outside,
        100.0 * outside / timed_wall
    );
    println!(
        "  audio {:.1} MiB; offsets end {:.3} s vs audio {:.3} s",
        output.audio_bytes as f64 / 1048576.0,
        last.start_seconds + last.duration_seconds,
        output.duration_seconds
    );
}
