//! The commands. Each builds the local backend it needs, does its work and shuts it down.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use meeting_domain::contracts::CatalogRecord;
use meeting_domain::keys::parse_key;
use meeting_domain::ports::{Catalog, CatalogPatch, ChunkTable, ObjectStore};
use meeting_domain::{RecordingId, RecordingStatus, UserId};
use recorder_local::runtime::{BUCKET, LocalBackend, LocalConfig, Workers, open_catalog};

use crate::args::{PipelineArgs, ProcessArgs, ReprocessArgs, ServeArgs, StatusArgs};
use crate::error::CliError;
use crate::progress::{Progress, wait_for};
use crate::report::{collect, render, render_line};

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

fn pipeline_config(global: &Global, pipeline: &PipelineArgs) -> LocalConfig {
    config(
        global,
        pipeline.grace_seconds,
        Workers::InProcess {
            whisper_threads: pipeline.threads.max(1),
        },
    )
}

fn print_json(value: &impl serde::Serialize) {
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
async fn finish(
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

/// `recorder reprocess`.
pub async fn reprocess(global: &Global, args: ReprocessArgs) -> Result<ExitCode, CliError> {
    let recording =
        RecordingId::new(&args.recording).map_err(|e| CliError::Usage(e.to_string()))?;
    let backend = LocalBackend::start(pipeline_config(global, &args.pipeline)).await?;
    let result = start_again(&backend, &recording).await;
    let run = match result {
        Ok(run) => run,
        Err(e) => {
            backend.shutdown().await;
            return Err(e);
        }
    };
    let mut progress = Progress::new(!global.json);
    finish(global, &backend, &recording, run, &mut progress).await
}

/// Moves a finished recording back to `ready_for_processing` with the next run and starts it.
async fn start_again(backend: &LocalBackend, recording: &RecordingId) -> Result<u32, CliError> {
    let record = backend
        .catalog()
        .get(recording)
        .await?
        .ok_or_else(|| CliError::UnknownRecording(recording.to_string()))?;
    if !matches!(
        record.status,
        RecordingStatus::Completed | RecordingStatus::ProcessingFailed
    ) {
        return Err(CliError::NotReprocessable {
            recording: recording.to_string(),
            status: record.status.to_string(),
        });
    }
    let run = record.run + 1;
    let patch = CatalogPatch {
        execution_name: Some(recording.execution_name(run)),
        run: Some(run),
        error: Some(None),
        cause: Some(None),
        ..CatalogPatch::default()
    };
    let won = backend
        .catalog()
        .transition(
            recording,
            record.status,
            RecordingStatus::ReadyForProcessing,
            patch,
            chrono::Utc::now(),
        )
        .await?;
    if !won {
        return Err(CliError::NotReprocessable {
            recording: recording.to_string(),
            status: "changing (another process moved it)".into(),
        });
    }
    recorder_lambdas::completion::check(backend.ports(), recording).await?;
    Ok(run)
}

/// The status of one recording, as printed by `status ID`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordingStatusView {
    #[serde(flatten)]
    record: CatalogRecord,
    chunks_recorded: usize,
    chunks_missing_now: Vec<u32>,
    execution: String,
}

/// `recorder status`.
pub async fn status(global: &Global, args: StatusArgs) -> Result<ExitCode, CliError> {
    let (catalog, chunks) = open_catalog(&global.data_dir)?;
    let Some(id) = args.recording else {
        let mut all = Vec::new();
        for status in RecordingStatus::ALL {
            all.extend(catalog.with_status(status).await?);
        }
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        if global.json {
            print_json(&all);
        } else if all.is_empty() {
            println!(
                "no recordings in {} (try `recorder process FILE`)",
                global.data_dir.display()
            );
        } else {
            for record in &all {
                println!("{}", render_line(record));
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let recording = RecordingId::new(&id).map_err(|e| CliError::Usage(e.to_string()))?;
    let record = catalog
        .get(&recording)
        .await?
        .ok_or_else(|| CliError::UnknownRecording(id.clone()))?;
    let recorded = chunks.chunks(&recording).await?;
    let missing_now = record
        .expected_chunk_count
        .map(|n| recorder_lambdas::completion::assess(n, &recorded).missing)
        .unwrap_or_default();
    let execution = match (&record.execution_name, record.status) {
        (None, _) => "not started".to_owned(),
        (Some(name), RecordingStatus::Completed) => format!("{name}: succeeded"),
        (Some(name), RecordingStatus::ProcessingFailed) => format!("{name}: failed"),
        (Some(name), _) => format!(
            "{name}: running, or interrupted if no `recorder` process is working on it (then `recorder reprocess` after it fails)"
        ),
    };
    let view = RecordingStatusView {
        record,
        chunks_recorded: recorded.len(),
        chunks_missing_now: missing_now,
        execution,
    };
    if global.json {
        print_json(&view);
        return Ok(ExitCode::SUCCESS);
    }
    let r = &view.record;
    println!("recording   {} (user {})", r.recording_id, r.user_id);
    println!("status      {}", r.status);
    println!(
        "chunks      {} recorded, expected {}",
        view.chunks_recorded,
        r.expected_chunk_count
            .map_or_else(|| "unknown (no manifest yet)".to_owned(), |n| n.to_string())
    );
    if !r.missing_chunks.is_empty() {
        println!("missing     {:?}", r.missing_chunks);
    } else if !view.chunks_missing_now.is_empty() {
        println!("missing now {:?}", view.chunks_missing_now);
    }
    if !r.failed_chunks.is_empty() {
        println!("failed      {:?}", r.failed_chunks);
    }
    println!("run         {}", r.run);
    println!("execution   {}", view.execution);
    if let Some(error) = &r.error {
        println!("error       {error}");
    }
    if let Some(cause) = &r.cause {
        println!("cause       {cause}");
    }
    if let Some(results) = &r.results {
        let path = |key: &str| crate::report::object_path(&global.data_dir, key);
        println!("transcript  {}", path(&results.transcript_key).display());
        println!("summary     {}", path(&results.summary_key).display());
        println!("recording   {}", path(&results.recording_key).display());
    }
    println!("updated     {}", r.updated_at);
    Ok(ExitCode::SUCCESS)
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
