//! `recorder worker`: the activity workers in their own process, against the Step Functions API
//! of a `recorder serve --no-workers` on this machine and its data directory.
//!
//! This is the local shape of the Fargate deployment: the engine hands out activity tasks over
//! HTTP, the worker heartbeats while it runs them, and a worker that dies mid-task is noticed by
//! its missing heartbeats and the task retried on another worker. Ctrl-C or SIGTERM stops polling
//! and lets running tasks finish within `--drain-seconds`.

use std::process::ExitCode;
use std::time::Duration;

use recorder_local::runtime::{RemoteWorkerConfig, remote_worker};

use crate::args::WorkerArgs;
use crate::commands::Global;
use crate::error::CliError;

/// Asks the API once before loading the model: a server that refuses this worker (a missing or
/// wrong `RECORDER_API_SECRET`, a `Host` it does not accept) would otherwise only show up as
/// polls failing in the log. A server that is not up yet is not an error: the worker waits for
/// it as it polls.
async fn refuse_if_denied(endpoint: &str, secret: Option<&str>) -> Result<(), CliError> {
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    let probe = recorder_local::runtime::sfn_client(endpoint, secret)
        .list_activities()
        .max_results(1)
        .send()
        .await;
    let Err(error) = probe else { return Ok(()) };
    match error.as_service_error() {
        Some(refusal) if refusal.code() == Some("AccessDeniedException") => {
            Err(CliError::Usage(format!(
                "the Step Functions API at {} refused this worker: {}. If `recorder serve` runs \
                 with RECORDER_API_SECRET, give the worker the same RECORDER_API_SECRET (or \
                 --api-secret)",
                endpoint,
                refusal.message().unwrap_or("access denied")
            )))
        }
        _ => Ok(()),
    }
}

/// `recorder worker`.
///
/// # Errors
/// [`CliError::Usage`] for an endpoint that is not `http(s)://` or a server that refuses this
/// worker (the argument parser already refused out-of-range numbers), and [`CliError::Local`]
/// when the Whisper model cannot be loaded.
pub async fn run(global: &Global, args: WorkerArgs) -> Result<ExitCode, CliError> {
    if !(args.endpoint.starts_with("http://") || args.endpoint.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "--endpoint {} is not a URL; give the address `recorder serve` prints, e.g. http://127.0.0.1:8083",
            args.endpoint
        )));
    }
    let api_secret = args
        .api_secret
        .clone()
        .map(crate::api_access::ApiSecret::into_inner);
    refuse_if_denied(&args.endpoint, api_secret.as_deref()).await?;
    if let Some(note) = crate::commands::speaker_model_note() {
        eprintln!("{note}");
    }
    let config = RemoteWorkerConfig {
        data_dir: global.data_dir.clone(),
        endpoint: args.endpoint.clone(),
        whisper_threads: args.threads,
        model: args.recognizer.model,
        vocabulary: args.recognizer.vocabulary.clone().unwrap_or_default(),
        max_speakers: args.recognizer.speakers.map(usize::from),
        heartbeat_interval: args.heartbeat_seconds.map(Duration::from_secs),
        drain: Duration::from_secs(args.drain_seconds),
        worker_name: args.name.clone(),
        api_secret,
    };
    let worker = remote_worker(&config)?;
    eprintln!(
        "worker {} polling {} (data directory {}); Ctrl-C to stop",
        args.name,
        args.endpoint,
        global.data_dir.display()
    );
    let summary = worker
        .run_until(activity_runtime::signals::shutdown_signal())
        .await;
    eprintln!("worker stopped: {summary:?}");
    Ok(ExitCode::SUCCESS)
}
