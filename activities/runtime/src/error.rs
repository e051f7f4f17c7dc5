//! Errors of the worker runtime: problems found while registering activities or configuring the
//! worker. Task failures are not errors of the runtime: they are reported to Step Functions.

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
}
