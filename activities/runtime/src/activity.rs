//! The trait an activity implements, and the failure it returns.

use async_trait::async_trait;
use meeting_domain::activity::{ActivityContract, ActivityErrorName};
use tokio_util::sync::CancellationToken;

/// Input type of an activity.
pub type InputOf<A> = <<A as Activity>::Contract as ActivityContract>::Input;
/// Output type of an activity.
pub type OutputOf<A> = <<A as Activity>::Contract as ActivityContract>::Output;
/// Error set of an activity.
pub type ErrorOf<A> = <<A as Activity>::Contract as ActivityContract>::Error;

/// A typed failure: an error name from the activity's closed set and a human-readable cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<E: ActivityErrorName> {
    /// The error name sent to Step Functions.
    pub error: E,
    /// What happened, for the operator (truncated by the runtime to the API limit).
    pub cause: String,
}

impl<E: ActivityErrorName> Failure<E> {
    /// A failure with a cause.
    pub fn new(error: E, cause: impl Into<String>) -> Self {
        Self {
            error,
            cause: cause.into(),
        }
    }
}

impl<E: ActivityErrorName> std::fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error.name(), self.cause)
    }
}

/// What a running task can see of its surroundings.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// Cancelled when the task is gone (timed out, stopped) or the drain deadline passed; long
    /// work must stop promptly and clean up.
    pub cancel: CancellationToken,
    /// A short, non-secret id of the task for logs (a hash of the task token).
    pub task_id: String,
}

/// The code behind one activity.
#[async_trait]
pub trait Activity: Send + Sync + 'static {
    /// The contract: name, time limits, input, output, error set.
    type Contract: ActivityContract;

    /// Runs one task.
    async fn run(
        &self,
        input: InputOf<Self>,
        ctx: &TaskContext,
    ) -> Result<OutputOf<Self>, Failure<ErrorOf<Self>>>;
}
