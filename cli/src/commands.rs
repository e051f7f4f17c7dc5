//! The pipeline commands on the local backend (`process`, `serve`) and what the operator
//! commands of [`crate::operating`] share with them. Each builds the local backend it needs, does
//! its work and shuts it down.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use meeting_domain::keys::parse_key;
use meeting_domain::ports::{Catalog, ObjectStore};
use meeting_domain::{RecordingId, RecordingStatus, UserId};
use recorder_local::runtime::{BUCKET, LocalBackend, LocalConfig, Workers};

use crate::args::{PipelineArgs, ProcessArgs, ServeArgs};
use crate::error::CliError;
use crate::progress::{Progress, wait_for};
use crate::report::{collect, render};

/// Options every command sees.
#[derive(Debug, Clone)]
pub struct Global {
    /// The data directory.
    pub data_dir: PathBuf,
    /// JSON on stdout.
    pub json: bool,
}

fn config(global: &Global, grace_seconds: u64, workers: Workers) -> LocalConfig {
    let grace = Duration::from_secs(grace_seconds);
    LocalConfig {
        data_dir: global.data_dir.clone(),
        grace,
        // Sweep several times per grace period so an incomplete recording is reported soon
        // after its grace ends; at most every 10 s.
        sweep_interval: (grace / 4).clamp(Duration::from_millis(250), Duration::from_secs(10)),
        workers,
        definition: None,
    }
}

pub(crate) fn pipeline_config(global: &Global, pipeline: &PipelineArgs) -> LocalConfig {
    config(
        global,
        pipeline.grace_seconds,
        Workers::InProcess {
            whisper_threads: pipeline.threads.max(1),
        },
    )
}

pub(crate) fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

fn default_recording_id(input: &Path) -> String {
    let stem: String = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let stem = if stem.is_empty() {
        "recording".into()
    } else {
        stem
    };
    format!(
        "{stem}-{}-{:04x}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        rand::random::<u16>()
    )
}

/// Waits for the recording, prints its report, and turns a non-completed end into an error.
pub(crate) async fn finish(
    global: &Global,
    backend: &LocalBackend,
    recording: &RecordingId,
    run: u32,
    progress: &mut Progress,
) -> Result<ExitCode, CliError> {
    let waited = wait_for(backend, recording, run, progress).await;
    let record = match waited {
        Ok(record) => record,
        Err(e) => {
            progress.finish("stopped");
            backend.shutdown().await;
            return Err(e);
        }
    };
    progress.finish(&format!("{}", record.status));
    let stages = record
        .execution_name
        .as_deref()
        .and_then(|name| backend.engine().history(&backend.execution_arn(name)).ok())
        .map(|history| crate::report::stage_times(&history))
        .unwrap_or_default();
    let report = collect(
        backend.objects().as_ref(),
        &global.data_dir,
        record.clone(),
        Some(progress.elapsed()),
        stages,
    )
    .await;
    backend.shutdown().await;
    let report = report?;
    if global.json {
        print_json(&report);
    } else {
        print!("{}", render(&report));
    }
    if record.status == RecordingStatus::Completed {
        return Ok(ExitCode::SUCCESS);
    }
    let mut detail = format!(
        "{}: {}",
        record.error.as_deref().unwrap_or("unknown error"),
        record.cause.as_deref().unwrap_or("no cause recorded")
    );
    if !record.missing_chunks.is_empty() {
        detail = format!("missing chunks {:?}; {detail}", record.missing_chunks);
    }
    Err(CliError::RecordingFailed {
        recording: recording.to_string(),
        status: record.status.to_string(),
        detail,
    })
}

/// `recorder process`.
pub async fn process(global: &Global, args: ProcessArgs) -> Result<ExitCode, CliError> {
    let user = UserId::new(&args.user).map_err(|e| CliError::Usage(format!("--user: {e}")))?;
    let recording = RecordingId::new(
        args.recording
            .clone()
            .unwrap_or_else(|| default_recording_id(&args.input)),
    )
    .map_err(|e| CliError::Usage(format!("--recording: {e}")))?;
    // Bad input is reported as one line, before any progress output.
    crate::chunker::inspect(&args.input).await?;
    let mut progress = Progress::new(!global.json);
    progress.show("cutting the input into chunks");
    let chunks = crate::chunker::chunks_of(&args.input, args.chunk_seconds).await?;

    let backend = LocalBackend::start(pipeline_config(global, &args.pipeline)).await?;
    if backend.catalog().get(&recording).await?.is_some() {
        backend.shutdown().await;
        return Err(CliError::RecordingExists(recording.to_string()));
    }
    progress.show(&format!("uploading {} chunks", chunks.files.len()));
    let uploaded = crate::upload::upload(
        backend.objects().as_ref(),
        BUCKET,
        &user,
        &recording,
        &chunks,
    )
    .await;
    if let Err(e) = uploaded {
        backend.shutdown().await;
        return Err(e);
    }
    finish(global, &backend, &recording, 0, &mut progress).await
}

/// `recorder serve`.
pub async fn serve(global: &Global, args: ServeArgs) -> Result<ExitCode, CliError> {
    let workers = if args.no_workers {
        Workers::None
    } else {
        Workers::InProcess {
            whisper_threads: args.threads.max(1),
        }
    };
    let mut local = config(global, args.grace_seconds, workers);
    if let Some(path) = &args.definition {
        local.definition = Some(
            std::fs::read_to_string(path).map_err(|source| CliError::Io {
                path: path.clone(),
                source,
            })?,
        );
    }
    let backend = LocalBackend::start(local).await?;
    let (addr, server) = match asl_engine::start_server(backend.engine().clone(), args.listen).await
    {
        Ok(bound) => bound,
        Err(source) => {
            backend.shutdown().await;
            return Err(CliError::Usage(format!(
                "cannot listen on {}: {source}",
                args.listen
            )));
        }
    };
    let watch = args
        .watch
        .clone()
        .unwrap_or_else(|| global.data_dir.join("inbox"));
    std::fs::create_dir_all(&watch).map_err(|source| CliError::Io {
        path: watch.clone(),
        source,
    })?;
    eprintln!("Step Functions API: http://{addr} (AWS_ENDPOINT_URL for workers)");
    eprintln!(
        "watching {} for users/{{user}}/chunks/{{recording}}/chunk_NNN.mp4 and manifest.json",
        watch.display()
    );
    eprintln!("state machine: {}", backend.state_machine_arn());
    eprintln!("Ctrl-C to stop");
    let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut candidates: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        if let Err(e) = scan(&backend, &watch, &mut seen, &mut candidates).await {
            eprintln!("error: watching {}: {e}", watch.display());
        }
    }
    eprintln!("stopping");
    server.shutdown().await;
    backend.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// One pass over the watched folder: a file is uploaded once its size and modification time
/// stayed the same for one pass (so half-copied files are not taken), and again when it changes.
async fn scan(
    backend: &LocalBackend,
    root: &Path,
    seen: &mut HashMap<PathBuf, (u64, SystemTime)>,
    candidates: &mut HashMap<PathBuf, (u64, SystemTime)>,
) -> Result<(), CliError> {
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| CliError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let stamp = (
                meta.len(),
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            );
            if seen.get(&path) == Some(&stamp) {
                continue;
            }
            if candidates.insert(path.clone(), stamp) != Some(stamp) {
                continue;
            }
            let Some(key) = path
                .strip_prefix(root)
                .ok()
                .and_then(|p| p.to_str())
                .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"))
            else {
                continue;
            };
            if let Err(rejection) = parse_key(&key) {
                eprintln!("ignoring {key}: {rejection}");
                seen.insert(path, stamp);
                continue;
            }
            let content_type = if key.ends_with(".json") {
                "application/json"
            } else {
                "video/mp4"
            };
            backend
                .objects()
                .upload_from(BUCKET, &key, &path, content_type)
                .await?;
            eprintln!("uploaded {key}");
            seen.insert(path, stamp);
        }
    }
    Ok(())
}
