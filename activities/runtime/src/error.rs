//! Errors of the worker runtime: problems found while registering activities or configuring the
//! worker, and failures of the result spool. Task failures are not errors of the runtime: they are
//! reported to Step Functions.

use std::path::PathBuf;

use meeting_domain::error::PortError;

/// What can go wrong while setting up or driving the worker.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The same activity was registered twice.
    #[error("activity `{name}` is registered twice; register each activity once")]
    DuplicateActivity {
        /// The activity's contract name.
        name: &'static str,
    },
    /// The JSON Schema generated for an activity's output does not compile.
    #[error(
        "the output schema of activity `{name}` does not compile ({detail}); fix its schemars attributes"
    )]
    OutputSchema {
        /// The activity's contract name.
        name: &'static str,
        /// The validator's complaint.
        detail: String,
    },
    /// A selected activity name is not registered in this worker.
    #[error(
        "activity `{name}` is not registered in this worker; check WORKER_ACTIVITIES (registered: {registered})"
    )]
    UnknownActivity {
        /// The requested name.
        name: String,
        /// The names that are registered, comma-separated.
        registered: String,
    },
    /// The worker would serve no activity.
    #[error("no activity is registered; register at least one activity or widen WORKER_ACTIVITIES")]
    NoActivities,
    /// A configuration value is out of range.
    #[error("invalid worker configuration: {0}")]
    Config(String),
    /// Polling failed (only surfaced by [`crate::Worker::run_one`]; the long-running loop backs off
    /// and retries instead).
    #[error("polling for an activity task failed")]
    Poll(#[source] PortError),
    /// The result spool's directory or one of its files could not be read or written.
    #[error(
        "the result spool could not {action} {}; check that the directory (WORKER_SPOOL_DIR) exists, is writable by the worker and has free space",
        path.display()
    )]
    Spool {
        /// What was being done ("create", "write", "read", "remove", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A task result could not be encoded for the spool.
    #[error("a task result could not be encoded for the result spool")]
    SpoolEncode(#[source] serde_json::Error),
}
