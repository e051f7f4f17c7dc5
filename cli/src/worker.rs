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

/// `recorder worker`.
///
/// # Errors
/// [`CliError::Usage`] for a zero heartbeat or an endpoint that is not `http(s)://`, and
/// [`CliError::Local`] when the Whisper model cannot be loaded.
pub async fn run(global: &Global, args: WorkerArgs) -> Result<ExitCode, CliError> {
    if !(args.endpoint.starts_with("http://") || args.endpoint.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "--endpoint {} is not a URL; give the address `recorder serve` prints, e.g. http://127.0.0.1:8083",
            args.endpoint
        )));
    }
    if args.heartbeat_seconds == Some(0) {
        return Err(CliError::Usage(
            "--heartbeat-seconds must be at least 1".to_owned(),
        ));
    }
    let config = RemoteWorkerConfig {
        data_dir: global.data_dir.clone(),
        endpoint: args.endpoint.clone(),
        whisper_threads: args.threads.max(1),
        heartbeat_interval: args.heartbeat_seconds.map(Duration::from_secs),
        drain: Duration::from_secs(args.drain_seconds),
        worker_name: args.name.clone(),
        api_secret: args
            .api_secret
            .clone()
            .map(crate::api_access::ApiSecret::into_inner),
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
