//! Errors that stop the worker before it serves anything: bad configuration or a registration
//! problem. Once running, the worker does not fail: task failures are reported to Step Functions.

use activity_runtime::RuntimeError;

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A required environment variable is not set.
    #[error("{var} is not set; the task definition must set it (see infra)")]
    MissingVar {
        /// The variable.
        var: &'static str,
    },
    /// An environment variable has a value the worker cannot use.
    #[error("{var}={value:?} is invalid: {reason}")]
    InvalidVar {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A transcription or summary engine could not be built (missing model, bad settings).
    #[error("cannot start the engine: {0}")]
    Engine(String),
    /// Registering the activities or building the worker failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
