//! Type-erased registration of many typed activities in one worker.
//!
//! Each [`Activity`] is wrapped with its contract's metadata and a compiled validator of its output
//! schema, so the worker can parse inputs, check outputs and name errors without knowing the types.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use meeting_domain::activity::{ActivityContract, ActivityErrorName, WorkerError};
use meeting_domain::deployment::names;

use crate::activity::{Activity, InputOf, TaskContext};
use crate::error::RuntimeError;
use crate::limits::MAX_OUTPUT_BYTES;

/// What one run of an activity produced, ready to be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Output JSON that matched the output schema.
    Succeeded(String),
    /// An error name from the activity's or the worker's closed set, and a cause.
    Failed {
        /// The error name.
        error: &'static str,
        /// What happened (not yet truncated).
        cause: String,
    },
}

impl Outcome {
    /// A failure raised by the worker itself.
    pub fn worker_failure(error: WorkerError, cause: impl Into<String>) -> Self {
        Self::Failed {
            error: error.name(),
            cause: cause.into(),
        }
    }
}

/// One activity with its types erased.
#[async_trait]
pub(crate) trait ErasedActivity: Send + Sync {
    /// Parses the input, runs the activity and checks its output.
    async fn execute(&self, input: &str, ctx: &TaskContext) -> Outcome;
}

/// A typed activity and the compiled schema of its output.
struct Typed<A: Activity> {
    activity: A,
    output_schema: jsonschema::Validator,
}

#[async_trait]
impl<A: Activity> ErasedActivity for Typed<A> {
    async fn execute(&self, input: &str, ctx: &TaskContext) -> Outcome {
        let name = A::Contract::NAME;
        let input: InputOf<A> = match serde_json::from_str(input) {
            Ok(input) => input,
            Err(e) => {
                return Outcome::worker_failure(
                    WorkerError::InvalidInput,
                    format!("the task input does not match the input of activity {name}: {e}"),
                );
            }
        };
        match self.activity.run(input, ctx).await {
            Ok(output) => self.check_output(&output),
            Err(failure) => Outcome::Failed {
                error: failure.error.name(),
                cause: failure.cause,
            },
        }
    }
}

impl<A: Activity> Typed<A> {
    fn check_output(&self, output: &crate::activity::OutputOf<A>) -> Outcome {
        let name = A::Contract::NAME;
        let value = match serde_json::to_value(output) {
            Ok(value) => value,
            Err(e) => {
                return Outcome::worker_failure(
                    WorkerError::InvalidOutput,
                    format!("the output of activity {name} cannot be serialized: {e}"),
                );
            }
        };
        let problems: Vec<String> = self
            .output_schema
            .iter_errors(&value)
            .take(5)
            .map(|e| format!("{} at '{}'", e, e.instance_path()))
            .collect();
        if !problems.is_empty() {
            return Outcome::worker_failure(
                WorkerError::InvalidOutput,
                format!(
                    "the output of activity {name} does not match its schema: {}",
                    problems.join("; ")
                ),
            );
        }
        let json = value.to_string();
        if json.len() > MAX_OUTPUT_BYTES {
            return Outcome::worker_failure(
                WorkerError::InvalidOutput,
                format!(
                    "the output of activity {name} is {} bytes, above the Step Functions limit of {MAX_OUTPUT_BYTES}; return S3 keys instead of data",
                    json.len()
                ),
            );
        }
        Outcome::Succeeded(json)
    }
}

/// A registered activity: its contract's metadata and its erased code.
#[derive(Clone)]
pub struct RegisteredActivity {
    /// The contract name.
    pub name: &'static str,
    /// The Step Functions activity ARN it polls.
    pub arn: String,
    /// The contract's `HeartbeatSeconds`.
    pub heartbeat_seconds: u32,
    /// The contract's `TimeoutSeconds`.
    pub timeout_seconds: u32,
    pub(crate) handler: Arc<dyn ErasedActivity>,
}

impl std::fmt::Debug for RegisteredActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredActivity")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("heartbeat_seconds", &self.heartbeat_seconds)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish_non_exhaustive()
    }
}

/// The activities one worker serves.
#[derive(Debug)]
pub struct Registry {
    arn_prefix: String,
    selected: Option<BTreeSet<String>>,
    activities: Vec<RegisteredActivity>,
    skipped: Vec<&'static str>,
}

impl Registry {
    /// An empty registry. Activity ARNs are `{arn_prefix}-{NAME}` (see
    /// [`meeting_domain::deployment::names::activity`]).
    pub fn new(arn_prefix: impl Into<String>) -> Self {
        Self {
            arn_prefix: arn_prefix.into(),
            selected: None,
            activities: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Serve only these activity names (`WORKER_ACTIVITIES`); others are skipped at registration.
    #[must_use]
    pub fn only<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.selected = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Registers an activity (skipped when it is not among the selected names).
    ///
    /// # Errors
    /// [`RuntimeError::DuplicateActivity`] when the name is already registered,
    /// [`RuntimeError::OutputSchema`] when the output schema does not compile.
    pub fn register<A: Activity>(&mut self, activity: A) -> Result<&mut Self, RuntimeError> {
        let name = A::Contract::NAME;
        if let Some(selected) = &self.selected
            && !selected.contains(name)
        {
            self.skipped.push(name);
            return Ok(self);
        }
        if self.activities.iter().any(|a| a.name == name) {
            return Err(RuntimeError::DuplicateActivity { name });
        }
        let schema = schemars::schema_for!(crate::activity::OutputOf<A>);
        let output_schema = jsonschema::validator_for(schema.as_value()).map_err(|e| {
            RuntimeError::OutputSchema {
                name,
                detail: e.to_string(),
            }
        })?;
        self.activities.push(RegisteredActivity {
            name,
            arn: names::activity(&self.arn_prefix, name),
            heartbeat_seconds: A::Contract::HEARTBEAT_SECONDS,
            timeout_seconds: A::Contract::TIMEOUT_SECONDS,
            handler: Arc::new(Typed {
                activity,
                output_schema,
            }),
        });
        Ok(self)
    }

    /// Names of the registered activities, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.activities.iter().map(|a| a.name).collect()
    }

    /// The registered activities, after checking that every selected name was registered and that
    /// there is at least one.
    pub(crate) fn into_activities(self) -> Result<Vec<RegisteredActivity>, RuntimeError> {
        if let Some(selected) = &self.selected {
            let registered = self.names();
            if let Some(unknown) = selected.iter().find(|s| !registered.contains(&s.as_str())) {
                return Err(RuntimeError::UnknownActivity {
                    name: unknown.clone(),
                    registered: registered
                        .iter()
                        .chain(self.skipped.iter())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(","),
                });
            }
        }
        if self.activities.is_empty() {
            return Err(RuntimeError::NoActivities);
        }
        Ok(self.activities)
    }
}
