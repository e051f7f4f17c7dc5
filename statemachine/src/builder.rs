//! A typed builder for state machines that makes invalid machines hard to write.
//!
//! - A transition is [`Transition::Next`] or [`Transition::End`], never both.
//! - Activity tasks are added through an [`ActivityHandle`] typed by the activity's
//!   [`ActivityContract`]: the task's `HeartbeatSeconds`/`TimeoutSeconds` come from the contract, the
//!   builder records the activity's input/output JSON Schemas for the data-flow check, and the
//!   activity's closed error set becomes the set of names its Retry/Catch may use.
//! - Retry numbers are typed ([`Retry`]): interval and max delay are at least 1 second, the backoff
//!   rate at least 1.0.
//! - [`WorkflowBuilder::build`] runs the ASL validator, the error-name check and the data-flow check
//!   and refuses to produce a machine that fails any of them.

use std::collections::{BTreeSet, HashMap};
use std::marker::PhantomData;
use std::num::NonZeroU32;

use asl::model::{
    Catcher, ChoiceRule, ChoiceState, FailState, JitterStrategy, NumberOrExpr, PassState, Retrier,
    State, StateMachine, SucceedState, TaskState, WaitState,
};
use indexmap::IndexMap;
use meeting_domain::activity::ActivityContract;
use serde_json::{Number, Value};

use crate::dataflow::{self, TaskSchemas};
use crate::diagnostics::{Finding, escape_segment};
use crate::error::Error;

/// Error names the service raises for every Task, Parallel and Map state (the specification's
/// predefined errors), plus `States.HeartbeatTimeout` for tasks with `HeartbeatSeconds`.
const PREDEFINED_TASK_ERRORS: &[&str] = &[
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.IntrinsicFailure",
    "States.DataLimitExceeded",
];

/// Errors of the DynamoDB service integration that are worth naming in a Retry: throttling and
/// server-side failures (`DynamoDB.<ExceptionName>`, as Step Functions names them).
pub const DYNAMODB_TRANSIENT_ERRORS: &[&str] = &[
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
];

/// Every error name the DynamoDB integration of this crate may be asked to handle.
const DYNAMODB_ERRORS: &[&str] = &[
    "DynamoDB.ConditionalCheckFailedException",
    "DynamoDB.ResourceNotFoundException",
    "DynamoDB.ValidationException",
    "DynamoDB.AmazonDynamoDBException",
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
];

/// A typed reference to a Step Functions activity.
#[derive(Debug)]
pub struct ActivityHandle<A: ActivityContract> {
    arn: String,
    _contract: PhantomData<fn() -> A>,
}

impl<A: ActivityContract> Clone for ActivityHandle<A> {
    fn clone(&self) -> Self {
        Self {
            arn: self.arn.clone(),
            _contract: PhantomData,
        }
    }
}

impl<A: ActivityContract> ActivityHandle<A> {
    /// The activity `{arn_prefix}{A::NAME}` (the prefix ends with `activity:{deployment}-`).
    pub fn new(arn_prefix: &str) -> Self {
        Self {
            arn: format!("{arn_prefix}{}", A::NAME),
            _contract: PhantomData,
        }
    }

    /// The activity ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
}

/// Where a state goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Continue with the named state.
    Next(String),
    /// Stop here successfully.
    End,
}

impl Transition {
    /// `Next: name`.
    pub fn next(name: impl Into<String>) -> Self {
        Self::Next(name.into())
    }

    fn split(self) -> (Option<String>, Option<bool>) {
        match self {
            Self::Next(name) => (Some(name), None),
            Self::End => (None, Some(true)),
        }
    }
}

/// Where a state's result goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ResultPath {
    /// Replace the input with the result (`$`, the default).
    #[default]
    Replace,
    /// Insert at a reference path.
    At(String),
    /// Discard the result and pass the input through (`null`).
    Discard,
}

impl ResultPath {
    /// Insert at `path`.
    pub fn at(path: impl Into<String>) -> Self {
        Self::At(path.into())
    }

    fn emit(&self) -> Option<Option<String>> {
        match self {
            Self::Replace => None,
            Self::At(path) => Some(Some(path.clone())),
            Self::Discard => Some(None),
        }
    }
}

/// A backoff multiplier, at least 1.0 (the specification's lower bound).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackoffRate(f64);

impl BackoffRate {
    /// `rate` if it is finite and at least 1.0.
    pub fn new(rate: f64) -> Option<Self> {
        (rate.is_finite() && rate >= 1.0).then_some(Self(rate))
    }

    /// Doubling.
    pub const DOUBLE: Self = Self(2.0);
}

/// A typed retrier.
#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    errors: Vec<String>,
    interval: NonZeroU32,
    max_attempts: u32,
    backoff: BackoffRate,
    max_delay: Option<NonZeroU32>,
    full_jitter: bool,
}

impl Retry {
    /// Retries the named errors with the specification's defaults (1 s, 3 attempts, ×2).
    pub fn on<S: AsRef<str>>(errors: impl IntoIterator<Item = S>) -> Self {
        Self {
            errors: errors.into_iter().map(|e| e.as_ref().to_owned()).collect(),
            interval: NonZeroU32::MIN,
            max_attempts: 3,
            backoff: BackoffRate::DOUBLE,
            max_delay: None,
            full_jitter: false,
        }
    }

    /// First interval.
    pub fn interval(mut self, seconds: NonZeroU32) -> Self {
        self.interval = seconds;
        self
    }

    /// Maximum retries.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Backoff multiplier.
    pub fn backoff(mut self, rate: BackoffRate) -> Self {
        self.backoff = rate;
        self
    }

    /// Cap on one interval.
    pub fn max_delay(mut self, seconds: NonZeroU32) -> Self {
        self.max_delay = Some(seconds);
        self
    }

    /// Full jitter: spreads retries of many executions hitting the same throttled service.
    pub fn full_jitter(mut self) -> Self {
        self.full_jitter = true;
        self
    }

    fn emit(&self) -> Retrier {
        Retrier {
            error_equals: self.errors.clone(),
            interval_seconds: Some(Number::from(self.interval.get())),
            max_attempts: Some(Number::from(self.max_attempts)),
            backoff_rate: Number::from_f64(self.backoff.0),
            max_delay_seconds: self.max_delay.map(|d| Number::from(d.get())),
            jitter_strategy: self.full_jitter.then_some(JitterStrategy::Full),
            comment: None,
        }
    }
}

/// A typed catcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catch {
    errors: Vec<String>,
    next: String,
    result_path: ResultPath,
}

impl Catch {
    /// Catches the named errors and goes to `next`, with the error object at `result_path`.
    pub fn on<S: AsRef<str>>(
        errors: impl IntoIterator<Item = S>,
        next: impl Into<String>,
        result_path: ResultPath,
    ) -> Self {
        Self {
            errors: errors.into_iter().map(|e| e.as_ref().to_owned()).collect(),
            next: next.into(),
            result_path,
        }
    }

    fn emit(&self) -> Catcher {
        Catcher {
            error_equals: self.errors.clone(),
            next: self.next.clone(),
            result_path: self.result_path.emit(),
            assign: None,
            output: None,
            comment: None,
        }
    }
}

/// Data-flow fields and error handling of a Task state.
#[derive(Clone, Debug, Default)]
pub struct TaskOptions {
    /// Human-readable description.
    pub comment: Option<String>,
    /// Payload template of the task input.
    pub parameters: Option<Value>,
    /// Payload template applied to the result.
    pub result_selector: Option<Value>,
    /// Where the result goes.
    pub result_path: ResultPath,
    /// Retry policy, in order.
    pub retry: Vec<Retry>,
    /// Error handlers, in order.
    pub catch: Vec<Catch>,
}

/// Data-flow fields of a Pass state.
#[derive(Clone, Debug, Default)]
pub struct PassOptions {
    /// Human-readable description.
    pub comment: Option<String>,
    /// Payload template of the effective input.
    pub parameters: Option<Value>,
    /// Fixed result.
    pub result: Option<Value>,
    /// Where the result goes.
    pub result_path: ResultPath,
}

/// How long a Wait state waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// A fixed number of seconds.
    Seconds(u32),
    /// Seconds read from the input (reference path).
    SecondsPath(String),
    /// Until a fixed RFC 3339 time.
    Timestamp(String),
    /// Until a time read from the input (reference path).
    TimestampPath(String),
}

/// How a Fail state names its error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailWith {
    /// Fixed error and cause.
    Fixed {
        /// Error name.
        error: String,
        /// Cause.
        cause: String,
    },
    /// Error and cause read from the input (paths).
    Paths {
        /// Path of the error name.
        error_path: String,
        /// Path of the cause.
        cause_path: String,
    },
}

/// A workflow under construction.
#[derive(Debug, Default)]
pub struct WorkflowBuilder {
    comment: Option<String>,
    timeout_seconds: Option<u32>,
    states: IndexMap<String, State>,
    raisable: HashMap<String, BTreeSet<String>>,
    task_schemas: HashMap<String, TaskSchemas>,
}

/// A built, checked workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The definition.
    pub machine: StateMachine,
    /// JSON Schemas of each activity task's input and output, by state name.
    pub task_schemas: HashMap<String, TaskSchemas>,
}

impl WorkflowBuilder {
    /// A new, empty workflow.
    pub fn new(comment: impl Into<String>) -> Self {
        Self {
            comment: Some(comment.into()),
            ..Self::default()
        }
    }

    /// Caps the whole execution.
    pub fn timeout_seconds(mut self, seconds: u32) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Adds a Task state that runs the activity `A`.
    pub fn activity<A: ActivityContract>(
        &mut self,
        name: &str,
        handle: &ActivityHandle<A>,
        options: TaskOptions,
        transition: Transition,
    ) -> &mut Self {
        let mut raisable: BTreeSet<String> =
            A::error_names().into_iter().map(str::to_owned).collect();
        raisable.insert("States.HeartbeatTimeout".to_owned());
        self.raisable.insert(name.to_owned(), raisable);
        self.task_schemas.insert(
            name.to_owned(),
            TaskSchemas {
                input: serde_json::to_value(schemars::schema_for!(A::Input)).unwrap_or_default(),
                output: serde_json::to_value(schemars::schema_for!(A::Output)).unwrap_or_default(),
            },
        );
        let state = Self::task_state(
            handle.arn().to_owned(),
            options,
            transition,
            Some(A::HEARTBEAT_SECONDS),
            Some(A::TIMEOUT_SECONDS),
        );
        self.states.insert(name.to_owned(), state);
        self
    }

    /// Adds a Task state calling DynamoDB `UpdateItem` through the optimized service integration.
    pub fn dynamodb_update_item(
        &mut self,
        name: &str,
        options: TaskOptions,
        transition: Transition,
    ) -> &mut Self {
        self.raisable.insert(
            name.to_owned(),
            DYNAMODB_ERRORS.iter().map(|e| (*e).to_owned()).collect(),
        );
        let state = Self::task_state(
            "arn:aws:states:::dynamodb:updateItem".to_owned(),
            options,
            transition,
            None,
            None,
        );
        self.states.insert(name.to_owned(), state);
        self
    }

    fn task_state(
        resource: String,
        options: TaskOptions,
        transition: Transition,
        heartbeat: Option<u32>,
        timeout: Option<u32>,
    ) -> State {
        let (next, end) = transition.split();
        State::Task(TaskState {
            comment: options.comment,
            resource,
            next,
            end,
            parameters: options.parameters,
            result_selector: options.result_selector,
            result_path: options.result_path.emit(),
            retry: (!options.retry.is_empty())
                .then(|| options.retry.iter().map(Retry::emit).collect()),
            catch: (!options.catch.is_empty())
                .then(|| options.catch.iter().map(Catch::emit).collect()),
            timeout_seconds: timeout.map(|t| NumberOrExpr::Number(Number::from(t))),
            heartbeat_seconds: heartbeat.map(|h| NumberOrExpr::Number(Number::from(h))),
            ..TaskState::default()
        })
    }

    /// Adds a Pass state.
    pub fn pass(&mut self, name: &str, options: PassOptions, transition: Transition) -> &mut Self {
        let (next, end) = transition.split();
        self.states.insert(
            name.to_owned(),
            State::Pass(PassState {
                comment: options.comment,
                next,
                end,
                parameters: options.parameters,
                result: options.result,
                result_path: options.result_path.emit(),
                ..PassState::default()
            }),
        );
        self
    }

    /// Adds a Choice state; every rule must carry `Next`.
    pub fn choice(
        &mut self,
        name: &str,
        rules: Vec<ChoiceRule>,
        default: Option<&str>,
    ) -> &mut Self {
        self.states.insert(
            name.to_owned(),
            State::Choice(ChoiceState {
                choices: rules,
                default: default.map(str::to_owned),
                ..ChoiceState::default()
            }),
        );
        self
    }

    /// Adds a Wait state.
    pub fn wait(&mut self, name: &str, wait: WaitFor, transition: Transition) -> &mut Self {
        let (next, end) = transition.split();
        let mut state = WaitState {
            next,
            end,
            ..WaitState::default()
        };
        match wait {
            WaitFor::Seconds(s) => state.seconds = Some(NumberOrExpr::Number(Number::from(s))),
            WaitFor::SecondsPath(p) => state.seconds_path = Some(p),
            WaitFor::Timestamp(t) => state.timestamp = Some(t),
            WaitFor::TimestampPath(p) => state.timestamp_path = Some(p),
        }
        self.states.insert(name.to_owned(), State::Wait(state));
        self
    }

    /// Adds a Succeed state.
    pub fn succeed(&mut self, name: &str) -> &mut Self {
        self.states
            .insert(name.to_owned(), State::Succeed(SucceedState::default()));
        self
    }

    /// Adds a Fail state.
    pub fn fail(&mut self, name: &str, with: FailWith) -> &mut Self {
        let state = match with {
            FailWith::Fixed { error, cause } => FailState {
                error: Some(error),
                cause: Some(cause),
                ..FailState::default()
            },
            FailWith::Paths {
                error_path,
                cause_path,
            } => FailState {
                error_path: Some(error_path),
                cause_path: Some(cause_path),
                ..FailState::default()
            },
        };
        self.states.insert(name.to_owned(), State::Fail(state));
        self
    }

    /// Builds the machine starting at `start_at` and checks it: ASL validation, error names and
    /// data flow from `input_schema` (the JSON Schema of the execution input).
    pub fn build(self, start_at: &str, input_schema: &Value) -> Result<Workflow, Error> {
        let machine = StateMachine {
            comment: self.comment,
            start_at: start_at.to_owned(),
            states: self.states,
            version: None,
            timeout_seconds: self.timeout_seconds.map(Number::from),
            query_language: None,
        };
        let mut findings: Vec<Finding> = asl::validate::validate(&machine)
            .into_iter()
            .map(|d| Finding::new("asl", d.pointer.clone(), d.to_string()))
            .collect();
        findings.extend(check_error_names(&machine, &self.raisable));
        if findings.is_empty() {
            findings.extend(dataflow::check(&machine, input_schema, &self.task_schemas));
        }
        if findings.is_empty() {
            Ok(Workflow {
                machine,
                task_schemas: self.task_schemas,
            })
        } else {
            Err(Error::Invalid(findings))
        }
    }
}

/// Every Retry/Catch error name must be one the state can raise: a predefined `States.*` error
/// that applies to it, or a member of its activity's / integration's closed set.
pub fn check_error_names(
    machine: &StateMachine,
    raisable: &HashMap<String, BTreeSet<String>>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (name, state) in &machine.states {
        let mut allowed: BTreeSet<&str> = PREDEFINED_TASK_ERRORS.iter().copied().collect();
        if let Some(own) = raisable.get(name) {
            allowed.extend(own.iter().map(String::as_str));
        }
        if let State::Task(task) = state
            && task.heartbeat_seconds.is_none()
            && task.heartbeat_seconds_path.is_none()
        {
            allowed.remove("States.HeartbeatTimeout");
        }
        let base = format!("/States/{}", escape_segment(name));
        let lists = state
            .retry()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("{base}/Retry/{i}"), &r.error_equals))
            .chain(
                state
                    .catch()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("{base}/Catch/{i}"), &c.error_equals)),
            );
        for (pointer, errors) in lists {
            for (j, error) in errors.iter().enumerate() {
                if error == "States.Runtime" {
                    findings.push(Finding::new(
                        "error-never-handled",
                        format!("{pointer}/ErrorEquals/{j}"),
                        "States.Runtime is never retried or caught; naming it has no effect",
                    ));
                } else if !allowed.contains(error.as_str()) {
                    findings.push(Finding::new(
                        "error-not-raisable",
                        format!("{pointer}/ErrorEquals/{j}"),
                        format!(
                            "state {name:?} cannot raise {error:?}; it raises only: {}",
                            allowed.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
    }
    findings
}
