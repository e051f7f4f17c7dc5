//! Shutdown on SIGTERM (ECS stopping the task) or SIGINT (Ctrl-C), as a future the worker awaits.

use tracing::{info, warn};

/// Completes when the process receives SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => info!(signal = "SIGTERM", "shutdown requested"),
                    result = tokio::signal::ctrl_c() => log_ctrl_c(result),
                }
                return;
            }
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGTERM; only SIGINT will stop the worker");
            }
        }
    }
    log_ctrl_c(tokio::signal::ctrl_c().await);
}

fn log_ctrl_c(result: std::io::Result<()>) {
    match result {
        Ok(()) => info!(signal = "SIGINT", "shutdown requested"),
        // Without a signal handler the worker could never drain; stop now, which drains.
        Err(e) => warn!(error = %e, "cannot listen for SIGINT; shutting down"),
    }
}
