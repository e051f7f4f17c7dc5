//! The `recorder` command-line tool over the local backend ([`recorder_local::runtime`]), and the
//! operator commands over either backend (`--backend local|aws`).
//!
//! - [`args`]: the command line;
//! - [`chunker`]: a media file cut into chunks as the desktop client does, or a folder of chunks;
//! - [`upload`]: chunks in random order with duplicates, then the manifest;
//! - [`progress`]: waiting for the final status with a progress display;
//! - [`report`]: result paths, transcript and summary as text or JSON;
//! - [`commands`]: `process`, `serve`, each holding the data directory's [`lock`] and stopping
//!   cleanly on the signals of [`interrupt`]; [`api_access`]: who may use the API `serve`
//!   exposes;
//! - [`operating`]: `status`, `list`, `reprocess`, `dlq` on the chosen backend, over
//!   [`operate`] (status, resume points, reprocess and redrive), [`dlq`] (dead-letter replay)
//!   and [`aws`] (the deployment's names and clients);
//! - [`worker`]: `worker`, the activity workers in their own process.

pub mod api_access;
pub mod args;
pub mod aws;
pub mod chunker;
pub mod commands;
pub mod dlq;
pub mod error;
pub mod interrupt;
pub mod lock;
pub mod operate;
pub mod operating;
pub mod progress;
pub mod report;
pub mod speakers;
pub mod upload;
pub mod worker;

use std::process::ExitCode;

pub use error::CliError;

/// Logs on stderr: errors by default (a failed recording is reported once, by the command), more
/// with `-v` (warnings and progress of each step), `-vv` or `RUST_LOG`.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Runs a parsed command line.
///
/// # Errors
/// A [`CliError`] whose message is the one line printed to the user.
pub async fn run(cli: args::Cli) -> Result<ExitCode, CliError> {
    let backend = cli.backend;
    let global = commands::Global {
        data_dir: cli.data_dir,
        json: cli.json,
    };
    match cli.command {
        args::Command::Process(a) => commands::process(&global, a).await,
        args::Command::Status(a) => operating::status(&global, &backend, a).await,
        args::Command::List(a) => operating::list(&global, &backend, a).await,
        args::Command::Reprocess(a) => operating::reprocess(&global, &backend, a).await,
        args::Command::Speakers(a) => operating::speakers(&global, &backend, a).await,
        args::Command::Dlq(c) => operating::dlq(&global, &backend, c).await,
        args::Command::Serve(a) => commands::serve(&global, a).await,
        args::Command::Worker(a) => worker::run(&global, a).await,
    }
}
