//! The typed contract of a Step Functions activity, shared by the worker that implements it and
//! the workflow builder that schedules it.
//!
//! An activity names itself, its input and output types (serde + schemars), its time limits and the
//! closed set of error names it may raise. The workflow generator derives the Retry/Catch rules and
//! the activity's JSON Schemas from this trait, and the worker runtime checks every output and error
//! against it, so the two can never disagree.

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

/// A closed set of error names an activity may send with `SendTaskFailure`.
pub trait ActivityErrorName: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every member of the set.
    const ALL: &'static [Self];

    /// The exact error name sent to Step Functions (matched by `ErrorEquals`).
    fn name(self) -> &'static str;

    /// Whether the workflow should retry the task when it fails with this error.
    fn retryable(self) -> bool;

    /// Finds a member by its wire name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.name() == name)
    }
}

/// Errors the worker runtime itself raises for any activity, on top of the activity's own set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WorkerError {
    /// The task input does not match the activity's input schema. Never retried.
    InvalidInput,
    /// The activity produced output that does not match its output schema. Never retried.
    InvalidOutput,
    /// The activity panicked. Retried once by the workflow: a panic is a bug, but the task may
    /// have hit a transient condition.
    Panicked,
    /// The worker was shutting down and its drain deadline passed before the task finished.
    /// Retried: another worker will pick the task up.
    Interrupted,
}

impl ActivityErrorName for WorkerError {
    const ALL: &'static [Self] = &[
        Self::InvalidInput,
        Self::InvalidOutput,
        Self::Panicked,
        Self::Interrupted,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::InvalidInput => "Worker.InvalidInput",
            Self::InvalidOutput => "Worker.InvalidOutput",
            Self::Panicked => "Worker.Panicked",
            Self::Interrupted => "Worker.Interrupted",
        }
    }

    fn retryable(self) -> bool {
        matches!(self, Self::Panicked | Self::Interrupted)
    }
}

/// The contract of one activity.
pub trait ActivityContract: Send + Sync + 'static {
    /// The activity's name: the Step Functions activity is `{prefix}-{NAME}` and the state name in
    /// the workflow is derived from it.
    const NAME: &'static str;

    /// The `HeartbeatSeconds` of the task state. Workers heartbeat every third of it.
    const HEARTBEAT_SECONDS: u32;

    /// The `TimeoutSeconds` of the task state: a hard cap on one attempt.
    const TIMEOUT_SECONDS: u32;

    /// Task input, as the workflow sends it.
    type Input: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;

    /// Task output, as the workflow receives it.
    type Output: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;

    /// The activity's own closed error set.
    type Error: ActivityErrorName;

    /// Every error name this activity's task can fail with: its own plus the worker's.
    fn error_names() -> Vec<&'static str> {
        Self::Error::ALL
            .iter()
            .map(|e| e.name())
            .chain(WorkerError::ALL.iter().map(|e| e.name()))
            .collect()
    }

    /// The retryable subset of [`Self::error_names`].
    fn retryable_error_names() -> Vec<&'static str> {
        Self::Error::ALL
            .iter()
            .filter(|e| e.retryable())
            .map(|e| e.name())
            .chain(
                WorkerError::ALL
                    .iter()
                    .filter(|e| e.retryable())
                    .map(|e| e.name()),
            )
            .collect()
    }
}
