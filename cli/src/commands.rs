//! The pipeline commands on the local backend (`process`, `serve`) and what the operator
//! commands of [`crate::operating`] share with them. Each builds the local backend it needs, does
//! its work and shuts it down.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use meeting_domain::contracts::CatalogRecord;
use meeting_domain::keys::parse_key;
use meeting_domain::ports::{Catalog, ObjectStore};
use meeting_domain::{RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_local::runtime::{
    BUCKET, EventCounts, LocalBackend, LocalConfig, Workers, open_catalog,
};
use sha2::{Digest, Sha256};

use crate::args::{PipelineArgs, ProcessArgs, ServeArgs, Stage};
use crate::error::CliError;
use crate::interrupt::{Signal, Signals};
use crate::lock::{DataDirLock, command_line};
use crate::operate::Liveness;
use crate::progress::{Progress, wait_for};
use crate::report::{collect, render};
use crate::upload::Uploads;

/// Options every command sees.
#[derive(Debug, Clone)]
pub struct Global {
    /// The data directory.
    pub data_dir: PathBuf,
    /// JSON on stdout.
    pub json: bool,
}

fn config(
    global: &Global,
    grace_seconds: u64,
    workers: Workers,
    recognizer: &crate::args::RecognizerArgs,
) -> LocalConfig {
    let grace = Duration::from_secs(grace_seconds);
    LocalConfig {
        data_dir: global.data_dir.clone(),
        grace,
        // Sweep several times per grace period so an incomplete recording is reported soon
        // after its grace ends; at most every 10 s.
        sweep_interval: (grace / 4).clamp(Duration::from_millis(250), Duration::from_secs(10)),
        workers,
        definition: None,
        model: recognizer.model,
        vocabulary: recognizer.vocabulary.clone().unwrap_or_default(),
        max_speakers: recognizer.speakers.map(usize::from),
    }
}

pub(crate) fn pipeline_config(global: &Global, pipeline: &PipelineArgs) -> LocalConfig {
    config(
        global,
        pipeline.grace_seconds,
        Workers::InProcess {
            whisper_threads: pipeline.threads,
        },
        &pipeline.recognizer,
    )
}

pub(crate) fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

/// The default recording id: the input's name and a hash of what identifies it, so the same
/// `recorder process INPUT` run again names the same recording and resumes or finishes it. A
/// folder is identified by its path (chunks may be added to it to fill a gap); a file by its path,
/// size and modification time (a file rewritten with another meeting is another recording).
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
    let path = std::fs::canonicalize(input).unwrap_or_else(|_| input.to_owned());
    let mut identity = Sha256::new();
    identity.update(path.as_os_str().as_encoded_bytes());
    if let Ok(meta) = std::fs::metadata(&path)
        && meta.is_file()
    {
        identity.update(meta.len().to_le_bytes());
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        identity.update(modified.to_le_bytes());
    }
    format!("{stem}-{}", hex::encode(&identity.finalize()[..4]))
}

/// What a command that runs the local backend holds while it runs: the data directory's lock,
/// the signal handlers, and the command that resumes its recording after an interrupt.
#[derive(Debug)]
pub(crate) struct Session {
    /// The data directory's lock.
    pub lock: DataDirLock,
    /// SIGINT/SIGTERM.
    pub signals: Signals,
    /// Printed after an interrupt.
    pub resume: String,
}

impl Session {
    /// Takes the lock of the data directory, with signal handlers already installed.
    pub fn start(global: &Global, signals: Signals, resume: String) -> Result<Self, CliError> {
        Ok(Self {
            lock: DataDirLock::acquire(&global.data_dir, &command_line())?,
            signals,
            resume,
        })
    }
}

/// Stops the backend after a signal and says how to go on: the recording's status is in the
/// catalog, and the next `process`/`reprocess`/`serve` on the data directory re-drives a
/// `processing` one.
pub(crate) async fn interrupted(
    backend: Option<&LocalBackend>,
    recording: &RecordingRef,
    progress: &mut Progress,
    signal: Signal,
    session: Session,
) -> ExitCode {
    progress.finish(&format!("{signal} received: stopping"));
    let mut status = None;
    if let Some(backend) = backend {
        backend.shutdown().await;
        status = backend.catalog().get(recording).await.ok().flatten();
    }
    session.lock.release();
    match status {
        Some(record) => eprintln!(
            "interrupted by {signal}: recording {recording} is saved ({}); run the same command \
             again to resume it: {}",
            record.status, session.resume
        ),
        None => eprintln!(
            "interrupted by {signal} before recording {recording} was uploaded; run the same \
             command again to start it: {}",
            session.resume
        ),
    }
    ExitCode::from(signal.exit_code())
}

/// Waits for the recording (or a signal), prints its report, and turns a non-completed end into
/// an error. `folder`: the folder of chunks `process` was given, named in the advice.
pub(crate) async fn finish(
    global: &Global,
    backend: &LocalBackend,
    recording: &RecordingRef,
    run: u32,
    progress: &mut Progress,
    mut session: Session,
    folder: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let waited = tokio::select! {
        waited = wait_for(backend, recording, run, progress) => waited,
        signal = session.signals.received() => {
            return Ok(interrupted(Some(backend), recording, progress, signal, session).await);
        }
    };
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
    let chunks = crate::operating::local_operator(backend)
        .chunk_summary(recording, record.expected_chunk_count)
        .await;
    let report = collect(
        backend.objects().as_ref(),
        &global.data_dir,
        record.clone(),
        Some(progress.elapsed()),
        stages,
    )
    .await;
    backend.shutdown().await;
    session.lock.release();
    let mut report = report?;
    let chunks = chunks?;
    if record.status != RecordingStatus::Completed {
        report.rejected_chunks.clone_from(&chunks.failed);
        report.next_steps = crate::operate::next_steps(&record, &chunks, None, folder);
    }
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
    if !chunks.failed.is_empty() {
        let rejected: Vec<String> = chunks
            .failed
            .iter()
            .map(|c| {
                format!(
                    "chunk {} ({})",
                    c.index,
                    c.reason.as_deref().unwrap_or("no reason recorded")
                )
            })
            .collect();
        detail = format!("rejected {}; {detail}", rejected.join(", "));
    }
    if !record.missing_chunks.is_empty() {
        detail = format!("missing chunks {:?}; {detail}", record.missing_chunks);
    }
    if !report.next_steps.is_empty() {
        detail = format!("{detail}. Next: {}", report.next_steps.join("; "));
    }
    Err(CliError::RecordingFailed {
        recording: recording.to_string(),
        status: record.status.to_string(),
        // One line: a cause may quote a tool's multi-line message.
        detail: detail.lines().map(str::trim).collect::<Vec<_>>().join(" "),
    })
}

/// The command that resumes `recording`: this one, naming the recording when it did not.
fn resume_command(args: &ProcessArgs, recording: &RecordingRef) -> String {
    resume_command_of(command_line(), args, recording)
}

/// `line` (the command as run) with the recording's id added when the id was derived: the user
/// is already in `line` (`--user`, or the default), and `--recording` takes the id alone.
fn resume_command_of(line: String, args: &ProcessArgs, recording: &RecordingRef) -> String {
    if args.recording.is_some() {
        line
    } else {
        format!("{line} --recording {}", recording.recording_id)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use meeting_domain::{RecordingId, RecordingRef, UserId};

    use super::resume_command_of;
    use crate::args::{Cli, Command};

    #[test]
    fn given_a_derived_recording_id_when_interrupted_then_the_printed_command_runs_as_printed() {
        let line = "recorder --data-dir d process long.m4a --user team-a";
        let cli = Cli::try_parse_from(line.split_whitespace()).expect("the command as run");
        let Command::Process(args) = cli.command else {
            panic!("not process")
        };
        let recording = RecordingRef::new(
            UserId::new("team-a").expect("user"),
            RecordingId::new("long-b7d142de").expect("id"),
        );
        let resume = resume_command_of(line.to_owned(), &args, &recording);
        let again = Cli::try_parse_from(resume.split_whitespace())
            .unwrap_or_else(|e| panic!("{resume}: {e}"));
        let Command::Process(again) = again.command else {
            panic!("not process")
        };
        assert_eq!(again.recording.as_deref(), Some("long-b7d142de"));
        assert_eq!(again.user, "team-a");
    }
}

/// Waits until the event loop has taken the `written` objects' events and handled every event it
/// matched, so the catalog shows what they changed.
async fn settle(backend: &LocalBackend, before: &EventCounts, written: usize) {
    let written = u64::try_from(written).unwrap_or(u64::MAX);
    loop {
        let now = backend.events();
        if now.received >= before.received.saturating_add(written)
            && now.handled + now.failed >= now.matched
        {
            return;
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// How often [`settle`] looks at the event counters.
const SETTLE_POLL: Duration = Duration::from_millis(50);

/// `recorder process`.
///
/// Run again on an existing recording (same `--recording`, or the same input with the default
/// id), it goes on from the catalog's status instead of refusing: `recording` or
/// `incomplete_chunks` get the chunks they do not hold yet (or hold with other bytes) and the
/// manifest if it changed; `processing` was interrupted and is re-driven by the backend's start;
/// `processing_failed` gets a new run when a chunk changed (else it is reported as it is, like
/// `completed`).
pub async fn process(global: &Global, args: ProcessArgs) -> Result<ExitCode, CliError> {
    let signals = Signals::install();
    let user = UserId::new(&args.user).map_err(|e| CliError::Usage(format!("--user: {e}")))?;
    // Bad input is reported as one line, before any progress output.
    crate::chunker::inspect(&args.input).await?;
    let recording_id = RecordingId::new(
        args.recording
            .clone()
            .unwrap_or_else(|| default_recording_id(&args.input)),
    )
    .map_err(|e| CliError::Usage(format!("--recording: {e}")))?;
    let recording = RecordingRef::new(user.clone(), recording_id);
    let mut session = Session::start(global, signals, resume_command(&args, &recording))?;
    let folder = args.input.is_dir().then_some(args.input.as_path());
    let mut progress = Progress::new(!global.json);

    let existing = {
        let (catalog, _) = open_catalog(&global.data_dir)?;
        catalog.get(&recording).await?
    };
    let status = existing.as_ref().map(|r| r.status);
    let mut run = existing.as_ref().map_or(0, |r| r.run);
    // A failed recording takes chunks too: when one changed (the chunk its cause names was
    // replaced), the recording is processed again in a new run.
    let wants_chunks = matches!(
        status,
        None | Some(
            RecordingStatus::Recording
                | RecordingStatus::IncompleteChunks
                | RecordingStatus::ProcessingFailed
        )
    );
    let chunks = if wants_chunks {
        progress.show(if folder.is_some() {
            "reading the folder of chunks"
        } else {
            "cutting the input into chunks"
        });
        tokio::select! {
            chunks = crate::chunker::chunks_of(&args.input, args.chunk_seconds, args.recorded_at) => Some(chunks?),
            signal = session.signals.received() => {
                return Ok(interrupted(None, &recording, &mut progress, signal, session).await);
            }
        }
    } else {
        None
    };
    if chunks.as_ref().is_some_and(|c| c.video_dropped) {
        progress.show(&format!(
            "note: {} has video; the recorder keeps its audio only (recording.mp4 will have no \
             picture)",
            args.input.display()
        ));
    }

    if let Some(note) = speaker_model_note() {
        progress.show(&note);
    }
    let backend = LocalBackend::start(pipeline_config(global, &args.pipeline)).await?;
    match (&chunks, status) {
        (Some(chunks), _) => {
            let which = if status.is_some() {
                progress.show("uploading the chunks the recording does not hold yet");
                Uploads::Changed
            } else {
                progress.show(&format!("uploading {} chunks", chunks.files.len()));
                Uploads::All
            };
            let before = backend.events();
            let uploaded = tokio::select! {
                uploaded = crate::upload::upload_chunks(
                    backend.objects().as_ref(), BUCKET, &user, &recording.recording_id, chunks, which,
                ) => uploaded,
                signal = session.signals.received() => {
                    return Ok(interrupted(Some(&backend), &recording, &mut progress, signal, session).await);
                }
            };
            let uploaded = match uploaded {
                Ok(uploaded) => uploaded,
                Err(e) => {
                    backend.shutdown().await;
                    return Err(e);
                }
            };
            if which == Uploads::Changed {
                // The recording already had a status (incomplete_chunks, say): let ingest record
                // what was just uploaded before that status is taken as the answer.
                tracing::info!(
                    uploaded = uploaded.chunks,
                    unchanged = uploaded.unchanged,
                    manifest = uploaded.manifest_written,
                    "uploaded what the recording did not hold"
                );
                tokio::select! {
                    () = settle(&backend, &before, uploaded.objects_written()) => {}
                    signal = session.signals.received() => {
                        return Ok(interrupted(Some(&backend), &recording, &mut progress, signal, session).await);
                    }
                }
                if status == Some(RecordingStatus::ProcessingFailed) && uploaded.chunks > 0 {
                    progress.show("chunks changed: processing the recording again");
                    let started = crate::operating::local_operator(&backend)
                        .reprocess_run(&recording, Stage::Media, Liveness::NoneAlive)
                        .await;
                    match started {
                        Ok((new_run, _)) => run = new_run,
                        Err(e) => {
                            backend.shutdown().await;
                            return Err(e);
                        }
                    }
                }
            }
        }
        (None, Some(RecordingStatus::Processing | RecordingStatus::ReadyForProcessing)) => {
            progress.show("resuming the interrupted run");
        }
        (None, _) => {}
    }
    finish(
        global,
        &backend,
        &recording,
        run,
        &mut progress,
        session,
        folder,
    )
    .await
}

/// `recorder serve`.
/// What to tell the user when the speaker model is missing or does not verify: speaker labels
/// then come from the weaker MFCC clustering (the pipeline logs it too, but only with `-v`).
pub(crate) fn speaker_model_note() -> Option<String> {
    let cache = transcription::model::default_cache_dir();
    transcription::voice_encoder::locate_voice_encoder(&cache)
        .err()
        .map(|e| {
            format!(
                "note: {e}; speaker labels fall back to MFCC clustering, which tells fewer \
                 voices apart"
            )
        })
}

pub async fn serve(global: &Global, args: ServeArgs) -> Result<ExitCode, CliError> {
    let api_options = crate::api_access::server_options(&args)?;
    let signals = Signals::install();
    let workers = if args.no_workers {
        Workers::None
    } else {
        Workers::InProcess {
            whisper_threads: args.threads,
        }
    };
    let mut local = config(global, args.grace_seconds, workers, &args.recognizer);
    if let Some(path) = &args.definition {
        local.definition = Some(
            std::fs::read_to_string(path).map_err(|source| CliError::Io {
                path: path.clone(),
                source,
            })?,
        );
    }
    let mut session = Session::start(global, signals, command_line())?;
    if !args.no_workers
        && let Some(note) = speaker_model_note()
    {
        eprintln!("{note}");
    }
    let backend = LocalBackend::start(local).await?;
    let secret_required = api_options.shared_secret.is_some();
    let started =
        asl_engine::start_server_with(backend.engine().clone(), args.listen, api_options).await;
    let (addr, server) = match started {
        Ok(bound) => bound,
        Err(source) => {
            backend.shutdown().await;
            return Err(CliError::Usage(format!(
                "cannot listen on {}: {source} (another `recorder serve`? pick a free address \
                 with --listen)",
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
    if secret_required {
        eprintln!(
            "API requests must carry the {} header (RECORDER_API_SECRET)",
            asl_engine::api::SECRET_HEADER
        );
    }
    eprintln!(
        "watching {} for users/{{user}}/chunks/{{recording}}/chunk_NNN.mp4 and manifest.json",
        watch.display()
    );
    eprintln!("state machine: {}", backend.state_machine_arn());
    eprintln!("Ctrl-C to stop");
    let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut candidates: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    let mut outcomes = Outcomes::default();
    // What is already final when serve starts is not news.
    outcomes.report(&backend, false).await;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let signal = loop {
        tokio::select! {
            _ = tick.tick() => {}
            signal = session.signals.received() => break signal,
        }
        if let Err(e) = scan(&backend, &watch, &mut seen, &mut candidates).await {
            eprintln!("error: watching {}: {e}", watch.display());
        }
        outcomes.report(&backend, true).await;
    };
    eprintln!("{signal} received: stopping (running tasks are failed as interrupted)");
    server.shutdown().await;
    backend.shutdown().await;
    session.lock.release();
    eprintln!(
        "stopped; recordings still processing are saved and resume when `recorder serve` or \
         `recorder process` runs again on {}",
        global.data_dir.display()
    );
    Ok(ExitCode::from(signal.exit_code()))
}

/// The final statuses `serve` has reported, so each recording's outcome is logged once per
/// change: completed, or incomplete/failed with what is wrong and what to do.
#[derive(Debug, Default)]
struct Outcomes {
    reported: HashMap<String, String>,
}

impl Outcomes {
    /// Logs the recordings whose final status changed since the last call (`print = false`:
    /// only remembers them).
    async fn report(&mut self, backend: &LocalBackend, print: bool) {
        for status in [
            RecordingStatus::Completed,
            RecordingStatus::IncompleteChunks,
            RecordingStatus::ProcessingFailed,
        ] {
            let records = match backend.catalog().with_status(status).await {
                Ok(records) => records,
                Err(e) => {
                    eprintln!("error: reading the catalog: {e}");
                    continue;
                }
            };
            for record in records {
                let key = format!("{}/{}", record.user_id, record.recording_id);
                let stamp = format!("{} {} {}", record.status, record.run, record.updated_at);
                if self.reported.get(&key) == Some(&stamp) {
                    continue;
                }
                self.reported.insert(key, stamp);
                if print {
                    eprintln!("{}", outcome_line(backend, &record).await);
                }
            }
        }
    }
}

/// One line for a recording that reached a final status: its status, missing and rejected
/// chunks (with the reason), error and cause, and what to do next.
async fn outcome_line(backend: &LocalBackend, record: &CatalogRecord) -> String {
    let mut line = format!(
        "recording {} (user {}) {}",
        record.recording_id, record.user_id, record.status
    );
    if record.status == RecordingStatus::Completed {
        if let Some(results) = &record.results {
            let path = crate::report::object_path(backend.data_dir(), &results.summary_key);
            line.push_str(&format!(": summary {}", path.display()));
        }
        return line;
    }
    let chunks = crate::operating::local_operator(backend)
        .chunk_summary(&record.recording(), record.expected_chunk_count)
        .await
        .unwrap_or_default();
    if !chunks.missing.is_empty() {
        line.push_str(&format!(
            "; missing chunks {}",
            crate::operating::ranges(&chunks.missing)
        ));
    }
    for rejected in &chunks.failed {
        line.push_str(&format!(
            "; rejected chunk {}: {}",
            rejected.index,
            rejected.reason.as_deref().unwrap_or("no reason recorded")
        ));
    }
    if let Some(error) = &record.error {
        line.push_str(&format!(
            "; {error}: {}",
            record.cause.as_deref().unwrap_or("no cause recorded")
        ));
    }
    let steps = crate::operate::next_steps(record, &chunks, None, None);
    if !steps.is_empty() {
        line.push_str(&format!(". Next: {}", steps.join("; ")));
    }
    line
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
