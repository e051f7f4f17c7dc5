//! Errors of the engine: the Step Functions API errors (AWS error codes, returned over HTTP as
//! `{"__type", "message"}`) and the runtime errors of a state (`{"Error", "Cause"}`) that Retry
//! and Catch match.

/// A Step Functions API error, named exactly as AWS names it so SDK clients match it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The AWS error code (`ExecutionAlreadyExists`, `InvalidToken`, ...).
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A request that does not match the action's input shape.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }
}

/// A runtime error of a state: what `ErrorEquals` matches and what a Catch puts in
/// `{"Error", "Cause"}`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{error}: {cause}")]
pub struct StatesError {
    /// The error name (`States.Timeout`, a worker's own name, ...).
    pub error: String,
    /// The cause.
    pub cause: String,
}

impl StatesError {
    /// An error named `error` with `cause`.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// `States.Runtime`: never retried, never caught.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    /// The `{"Error", "Cause"}` object a Catch passes on.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}

/// The predefined error names of the Amazon States Language.
pub mod names {
    /// Matches any error name (except `States.Runtime`... see the interpreter's matcher).
    pub const ALL: &str = "States.ALL";
    /// A task ran longer than TimeoutSeconds, or the execution timed out.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A task sent no heartbeat for HeartbeatSeconds.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// A task failed; matches every error except `States.Timeout`.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// Missing permissions (not produced locally).
    pub const PERMISSIONS: &str = "States.Permissions";
    /// A ResultPath cannot be applied.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A Parameters / ResultSelector / ItemSelector template cannot be applied.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// Reserved by AWS; a Choice that matches nothing fails with [`RUNTIME`].
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// Reserved by AWS; a failing intrinsic function fails with [`RUNTIME`].
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A payload exceeded the 256 KiB limit.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// A Map state's failures exceeded its tolerated threshold.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// An ItemReader failed (distributed Map).
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    /// A branch of a Parallel or an iteration of a Map failed with a non-catchable runtime error.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// A JSONata expression failed, returned nothing, or returned a value of the wrong type.
    pub const QUERY_EVALUATION: &str = "States.QueryEvaluationError";
    /// An execution-level runtime error (bad path, bad input type...): never retried nor caught.
    pub const RUNTIME: &str = "States.Runtime";
}

/// Why a definition cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The document is not a valid ASL state machine.
    #[error("invalid definition: {0}")]
    Parse(String),
    /// The definition uses something this engine does not execute.
    #[error("unsupported definition: {0}")]
    Unsupported(String),
}
