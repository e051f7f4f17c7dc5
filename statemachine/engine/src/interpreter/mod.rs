//! The interpreter: runs a typed [`asl::StateMachine`] (JSONPath mode) for one execution,
//! appending AWS-shaped history events as it goes.
//!
//! Data flow per state follows the specification: InputPath → Parameters → (task) →
//! ResultSelector → ResultPath (applied to the *raw* input) → OutputPath, with `null` InputPath /
//! OutputPath meaning `{}` and a `null` ResultPath discarding the result. Retry and Catch use
//! the predefined error semantics in [`error_matches`].

pub mod paths;
pub mod template;

mod choice;

use std::sync::Arc;
use std::time::Duration;

use asl::model::{
    Branch, Catcher, JitterStrategy, MapState, NumberOrExpr, ParallelState, QueryLanguage, Retrier,
    State, StateMachine, TaskState,
};
use asl::path::{parse_path, parse_reference_path, parse_result_path};
use futures::StreamExt;
use futures::future::BoxFuture;
use indexmap::IndexMap;
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::activity::{ActivityQueue, MAX_PAYLOAD_BYTES, TaskSignal};
use crate::clock::{EngineClock, deadline_after, saturating_secs_f64};
use crate::error::{DefinitionError, StatesError, names};
use crate::execution::Execution;
use crate::history::{EventType, not_truncated};
use crate::resources::{ResourceKind, Resources, unsupported};
use paths::{ContextObject, Roots, select, set_at};
use template::{apply_template, path_failure};

/// AWS default task timeout for activities when `TimeoutSeconds` is absent (99999999 s).
const DEFAULT_TASK_TIMEOUT_SECS: u64 = 99_999_999;
/// AWS Retry defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0.
const DEFAULT_INTERVAL_SECS: f64 = 1.0;
const DEFAULT_MAX_ATTEMPTS: u64 = 3;
const DEFAULT_BACKOFF_RATE: f64 = 2.0;

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Rejects what the interpreter does not run, before any execution starts.
pub fn check_supported(machine: &StateMachine) -> Result<(), DefinitionError> {
    if machine.query_language == Some(QueryLanguage::JsonAta) {
        return Err(DefinitionError::Unsupported(
            "JSONata is not supported by the local engine; use QueryLanguage JSONPath".into(),
        ));
    }
    check_scope(&machine.states, &machine.start_at, "States")
}

fn check_scope(
    states: &IndexMap<String, State>,
    start_at: &str,
    at: &str,
) -> Result<(), DefinitionError> {
    if !states.contains_key(start_at) {
        return Err(DefinitionError::Parse(format!(
            "StartAt '{start_at}' of {at} does not name a state"
        )));
    }
    for (name, state) in states {
        let here = format!("{at}.{name}");
        if state.query_language() == Some(QueryLanguage::JsonAta) {
            return Err(DefinitionError::Unsupported(format!(
                "{here}: JSONata is not supported by the local engine; use QueryLanguage JSONPath"
            )));
        }
        for target in state.transitions() {
            if !states.contains_key(target) {
                return Err(DefinitionError::Parse(format!(
                    "{here}: transition to '{target}' which is not a state of this scope"
                )));
            }
        }
        if !state.is_terminal() && state.next().is_none() && !matches!(state, State::Choice(_)) {
            return Err(DefinitionError::Parse(format!(
                "{here}: a non-terminal state needs Next or End"
            )));
        }
        if let State::Map(map) = state
            && (map.item_reader.is_some()
                || map.result_writer.is_some()
                || map.item_batcher.is_some())
        {
            return Err(DefinitionError::Unsupported(format!(
                "{here}: distributed Map ItemReader / ItemBatcher / ResultWriter are not supported by the local engine"
            )));
        }
        if let State::Map(map) = state
            && map.item_processor.is_none()
            && map.iterator.is_none()
        {
            return Err(DefinitionError::Parse(format!(
                "{here}: a Map needs an ItemProcessor"
            )));
        }
        for (suffix, start, nested) in state.nested_scopes() {
            check_scope(nested, start, &format!("{here}{suffix}"))?;
        }
    }
    Ok(())
}

/// Whether a Retrier/Catcher `ErrorEquals` list matches `error`.
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    if error == names::RUNTIME {
        return false;
    }
    error_equals.iter().any(|name| match name.as_str() {
        names::ALL => error != names::DATA_LIMIT_EXCEEDED,
        names::TASK_FAILED => {
            error != names::TIMEOUT
                && error != names::HEARTBEAT_TIMEOUT
                && error != names::DATA_LIMIT_EXCEEDED
        }
        names::TIMEOUT => error == names::TIMEOUT || error == names::HEARTBEAT_TIMEOUT,
        other => other == error,
    })
}

fn number_f64(n: &serde_json::Number) -> f64 {
    n.as_f64().unwrap_or(0.0)
}

/// The wait before retry number `attempt` (0-based) of a retrier, in seconds.
pub fn retry_delay_secs(retrier: &Retrier, attempt: u64) -> f64 {
    let interval = retrier
        .interval_seconds
        .as_ref()
        .map_or(DEFAULT_INTERVAL_SECS, number_f64);
    let rate = retrier
        .backoff_rate
        .as_ref()
        .map_or(DEFAULT_BACKOFF_RATE, number_f64);
    let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
    let mut delay = interval * rate.powi(exponent);
    if let Some(max) = &retrier.max_delay_seconds {
        delay = delay.min(number_f64(max));
    }
    if retrier.jitter_strategy == Some(JitterStrategy::Full) && delay > 0.0 {
        delay = rand::rng().random_range(0.0..=delay);
    }
    delay
}

/// Evaluates an `Assign` object: `.$` fields read `value` (`$`), the context and the variables
/// as they were when the state was entered; every assignment of a state happens at once.
fn assign(
    template: Option<&Value>,
    value: &Value,
    ctx: &ContextObject,
) -> Result<Map<String, Value>, StatesError> {
    let Some(template) = template else {
        return Ok(Map::new());
    };
    match apply_template(
        template,
        Roots {
            input: value,
            context: ctx,
        },
    )? {
        Value::Object(assigned) => Ok(assigned),
        other => Err(StatesError::runtime(format!(
            "Assign must be an object, found {other}"
        ))),
    }
}

enum Step {
    Next(String, Value),
    End(Value),
}

/// What a scope passes to its states: the workflow variables visible in it.
#[derive(Clone, Debug, Default)]
struct Frame {
    variables: Arc<Map<String, Value>>,
}

/// The outcome of one state: where to go, and the variables its `Assign` set.
type StateOutcome = (Step, Map<String, Value>);

/// Runs one execution.
pub(crate) struct Runner {
    pub exec: Arc<Execution>,
    pub activities: Arc<ActivityQueue>,
    pub resources: Resources,
    pub clock: EngineClock,
    pub region: String,
}

fn entered_type(state: &State) -> EventType {
    match state {
        State::Pass(_) => EventType::PassStateEntered,
        State::Task(_) => EventType::TaskStateEntered,
        State::Choice(_) => EventType::ChoiceStateEntered,
        State::Wait(_) => EventType::WaitStateEntered,
        State::Succeed(_) => EventType::SucceedStateEntered,
        State::Fail(_) => EventType::FailStateEntered,
        State::Parallel(_) => EventType::ParallelStateEntered,
        State::Map(_) => EventType::MapStateEntered,
    }
}

fn exited_type(state: &State) -> EventType {
    match state {
        State::Pass(_) => EventType::PassStateExited,
        State::Task(_) => EventType::TaskStateExited,
        State::Choice(_) => EventType::ChoiceStateExited,
        State::Wait(_) => EventType::WaitStateExited,
        State::Succeed(_) | State::Fail(_) => EventType::SucceedStateExited,
        State::Parallel(_) => EventType::ParallelStateExited,
        State::Map(_) => EventType::MapStateExited,
    }
}

fn positive_seconds(value: &Value, field: &str) -> Result<u64, StatesError> {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        })
        .ok_or_else(|| {
            StatesError::runtime(format!(
                "the value of {field} must be a non-negative integer, got {value}"
            ))
        })
}

fn literal_seconds(value: Option<&NumberOrExpr>) -> Option<u64> {
    value
        .and_then(NumberOrExpr::as_number)
        .and_then(|n| n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)))
}

/// Parses an RFC 3339 timestamp as Step Functions accepts it.
pub(crate) fn parse_timestamp(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

impl Runner {
    fn record(&self, event_type: EventType, prev: &mut u64, details: Option<Value>) {
        *prev = self
            .exec
            .record(self.clock.now(), event_type, *prev, details);
    }

    fn context(
        &self,
        name: &str,
        entered: &str,
        retry_count: u64,
        frame: &Frame,
        token: Option<&str>,
    ) -> ContextObject {
        ContextObject::new(
            self.exec.base_context(),
            Some(json!({"EnteredTime": entered, "Name": name, "RetryCount": retry_count})),
            None,
            token.map(|token| json!({"Token": token})),
        )
        .with_variables(Arc::clone(&frame.variables))
    }

    /// Runs the whole machine.
    pub async fn run_machine(
        &self,
        machine: &StateMachine,
        input: Value,
        prev: u64,
    ) -> Result<Value, StatesError> {
        let mut prev = prev;
        self.run_scope(
            &machine.states,
            &machine.start_at,
            input,
            Frame::default(),
            &mut prev,
        )
        .await
    }

    fn run_scope<'a>(
        &'a self,
        states: &'a IndexMap<String, State>,
        start_at: &'a str,
        input: Value,
        frame: Frame,
        prev: &'a mut u64,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut current = start_at;
            let mut input = input;
            let mut frame = frame;
            loop {
                let state = states.get(current).ok_or_else(|| {
                    StatesError::runtime(format!("the state '{current}' does not exist"))
                })?;
                let (step, assigned) = self.run_state(current, state, input, &frame, prev).await?;
                if !assigned.is_empty() {
                    Arc::make_mut(&mut frame.variables).extend(assigned);
                }
                match step {
                    Step::End(output) => return Ok(output),
                    Step::Next(next, output) => {
                        current = states
                            .get_key_value(next.as_str())
                            .map(|(k, _)| k.as_str())
                            .ok_or_else(|| {
                                StatesError::runtime(format!("the state '{next}' does not exist"))
                            })?;
                        input = output;
                    }
                }
            }
        })
    }

    fn apply_input_path(
        &self,
        path: &Option<Option<String>>,
        raw: &Value,
        ctx: &ContextObject,
    ) -> Result<Value, StatesError> {
        self.filter_path("InputPath", path, raw, ctx)
    }

    fn filter_path(
        &self,
        field: &str,
        path: &Option<Option<String>>,
        value: &Value,
        ctx: &ContextObject,
    ) -> Result<Value, StatesError> {
        match path {
            None => Ok(value.clone()),
            Some(None) => Ok(json!({})),
            Some(Some(text)) => {
                let parsed = parse_path(text)
                    .map_err(|e| StatesError::runtime(format!("invalid {field} '{text}': {e}")))?;
                select(
                    &parsed,
                    Roots {
                        input: value,
                        context: ctx,
                    },
                )
                .map_err(path_failure)?
                .ok_or_else(|| {
                    StatesError::runtime(format!(
                        "Invalid path '{text}' : No results for path: {text}"
                    ))
                })
            }
        }
    }

    /// Applies a Parallel's or Map's ResultSelector, ResultPath and OutputPath to its result
    /// array; returns the selected result (what Assign reads, cloned only when there is an
    /// Assign) and the state output.
    fn finish_result(
        &self,
        fields: ResultFields<'_>,
        raw: &Value,
        result: Value,
        ctx: &ContextObject,
    ) -> Result<(Value, Value), StatesError> {
        let result = match fields.result_selector {
            Some(t) => apply_template(
                t,
                Roots {
                    input: &result,
                    context: ctx,
                },
            )?,
            None => result,
        };
        let selected = if fields.has_assign {
            result.clone()
        } else {
            Value::Null
        };
        let output = Self::apply_result_path(fields.result_path, raw, result)?;
        let output = self.filter_path("OutputPath", fields.output_path, &output, ctx)?;
        Ok((selected, output))
    }

    fn apply_result_path(
        path: &Option<Option<String>>,
        raw: &Value,
        result: Value,
    ) -> Result<Value, StatesError> {
        match path {
            None => Ok(result),
            Some(None) => Ok(raw.clone()),
            Some(Some(text)) => {
                let parsed = parse_result_path(text).map_err(|e| {
                    StatesError::runtime(format!("invalid ResultPath '{text}': {e}"))
                })?;
                set_at(raw.clone(), &parsed, result).map_err(|e| {
                    StatesError::new(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!(
                            "Unable to apply ResultPath \"{text}\" to input \"{}\": {}",
                            compact(raw),
                            e.0
                        ),
                    )
                })
            }
        }
    }

    fn reference(
        &self,
        field: &str,
        text: &str,
        input: &Value,
        ctx: &ContextObject,
    ) -> Result<Value, StatesError> {
        let parsed = parse_reference_path(text)
            .map_err(|e| StatesError::runtime(format!("invalid {field} '{text}': {e}")))?;
        select(
            &parsed,
            Roots {
                input,
                context: ctx,
            },
        )
        .map_err(path_failure)?
        .ok_or_else(|| {
            StatesError::runtime(format!(
                "Invalid path '{text}' : No results for path: {text}"
            ))
        })
    }

    fn exit(
        &self,
        state: &State,
        name: &str,
        output: Value,
        prev: &mut u64,
    ) -> Result<Step, StatesError> {
        let text = compact(&output);
        if text.len() > MAX_PAYLOAD_BYTES {
            return Err(StatesError::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
                ),
            ));
        }
        self.record(
            exited_type(state),
            prev,
            Some(json!({"name": name, "output": text, "outputDetails": not_truncated()})),
        );
        let next = state.next().map(str::to_owned);
        Ok(match next {
            Some(next) => Step::Next(next, output),
            None => Step::End(output),
        })
    }

    async fn run_state(
        &self,
        name: &str,
        state: &State,
        raw: Value,
        frame: &Frame,
        prev: &mut u64,
    ) -> Result<StateOutcome, StatesError> {
        self.record(
            entered_type(state),
            prev,
            Some(json!({"name": name, "input": compact(&raw), "inputDetails": not_truncated()})),
        );
        let entered_id = *prev;
        let entered = self
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let ctx = self.context(name, &entered, 0, frame, None);
        let wrap = |e: StatesError| {
            if e.error == names::RUNTIME && !e.cause.starts_with("An error occurred") {
                StatesError::runtime(format!(
                    "An error occurred while executing the state '{name}' (entered at the event id #{entered_id}). {}",
                    e.cause
                ))
            } else {
                e
            }
        };
        match state {
            State::Pass(pass) => {
                let effective = self
                    .apply_input_path(&pass.input_path, &raw, &ctx)
                    .map_err(wrap)?;
                let effective = match &pass.parameters {
                    Some(t) => apply_template(
                        t,
                        Roots {
                            input: &effective,
                            context: &ctx,
                        },
                    )
                    .map_err(wrap)?,
                    None => effective,
                };
                let result = pass.result.clone().unwrap_or(effective);
                let assigned = assign(pass.assign.as_ref(), &result, &ctx).map_err(wrap)?;
                let output =
                    Self::apply_result_path(&pass.result_path, &raw, result).map_err(wrap)?;
                let output = self
                    .filter_path("OutputPath", &pass.output_path, &output, &ctx)
                    .map_err(wrap)?;
                Ok((self.exit(state, name, output, prev)?, assigned))
            }
            State::Choice(choice_state) => {
                let effective = self
                    .apply_input_path(&choice_state.input_path, &raw, &ctx)
                    .map_err(wrap)?;
                let mut target = None;
                let mut assigned = Map::new();
                for rule in &choice_state.choices {
                    if choice::rule_matches(rule, &effective, &ctx).map_err(wrap)? {
                        target = rule.next.clone();
                        assigned = assign(rule.assign.as_ref(), &effective, &ctx).map_err(wrap)?;
                        break;
                    }
                }
                if target.is_none() {
                    assigned =
                        assign(choice_state.assign.as_ref(), &effective, &ctx).map_err(wrap)?;
                }
                // AWS reports this as States.Runtime (States.NoChoiceMatched is reserved for
                // future use in its error-handling guide): never retried, never caught.
                let Some(target) = target.or_else(|| choice_state.default.clone()) else {
                    return Err(wrap(StatesError::runtime(format!(
                        "No Choice Rules matched and no Default specified in state '{name}'"
                    ))));
                };
                let output = self
                    .filter_path("OutputPath", &choice_state.output_path, &effective, &ctx)
                    .map_err(wrap)?;
                self.record(
                    EventType::ChoiceStateExited,
                    prev,
                    Some(json!({"name": name, "output": compact(&output), "outputDetails": not_truncated()})),
                );
                Ok((Step::Next(target, output), assigned))
            }
            State::Wait(wait) => {
                let effective = self
                    .apply_input_path(&wait.input_path, &raw, &ctx)
                    .map_err(wrap)?;
                let until = if let Some(seconds) = &wait.seconds {
                    let secs = literal_seconds(Some(seconds)).ok_or_else(|| {
                        StatesError::runtime("Seconds must be a non-negative integer")
                    })?;
                    deadline_after(Duration::from_secs(secs))
                } else if let Some(path) = &wait.seconds_path {
                    let value = self
                        .reference("SecondsPath", path, &effective, &ctx)
                        .map_err(wrap)?;
                    deadline_after(Duration::from_secs(
                        positive_seconds(&value, "SecondsPath").map_err(wrap)?,
                    ))
                } else {
                    let text = match (&wait.timestamp, &wait.timestamp_path) {
                        (Some(ts), _) => ts.clone(),
                        (None, Some(path)) => {
                            let value = self
                                .reference("TimestampPath", path, &effective, &ctx)
                                .map_err(wrap)?;
                            value.as_str().map(str::to_owned).ok_or_else(|| {
                                wrap(StatesError::runtime(format!(
                                    "the TimestampPath '{path}' value is not a string"
                                )))
                            })?
                        }
                        (None, None) => {
                            return Err(StatesError::runtime(
                                "a Wait state needs Seconds, SecondsPath, Timestamp or TimestampPath",
                            ));
                        }
                    };
                    let when = parse_timestamp(&text).ok_or_else(|| {
                        wrap(StatesError::runtime(format!(
                            "'{text}' is not an RFC 3339 timestamp"
                        )))
                    })?;
                    self.clock.instant_at(when)
                };
                tokio::time::sleep_until(until).await;
                let assigned = assign(wait.assign.as_ref(), &effective, &ctx).map_err(wrap)?;
                let output = self
                    .filter_path("OutputPath", &wait.output_path, &effective, &ctx)
                    .map_err(wrap)?;
                Ok((self.exit(state, name, output, prev)?, assigned))
            }
            State::Succeed(succeed) => {
                let effective = self
                    .apply_input_path(&succeed.input_path, &raw, &ctx)
                    .map_err(wrap)?;
                let output = self
                    .filter_path("OutputPath", &succeed.output_path, &effective, &ctx)
                    .map_err(wrap)?;
                Ok((self.exit(state, name, output, prev)?, Map::new()))
            }
            State::Fail(fail) => {
                let field = |value: &Option<String>,
                             path: &Option<String>,
                             label: &str|
                 -> Result<String, StatesError> {
                    if let Some(v) = value {
                        return Ok(v.clone());
                    }
                    let Some(path) = path else {
                        return Ok(String::new());
                    };
                    let v = template::evaluate_expression(
                        label,
                        path,
                        Roots {
                            input: &raw,
                            context: &ctx,
                        },
                    )?;
                    match v {
                        Value::String(s) => Ok(s),
                        other => Err(StatesError::runtime(format!(
                            "the {label} value {other} is not a string"
                        ))),
                    }
                };
                let error = field(&fail.error, &fail.error_path, "ErrorPath").map_err(wrap)?;
                let cause = field(&fail.cause, &fail.cause_path, "CausePath").map_err(wrap)?;
                Err(StatesError::new(error, cause))
            }
            State::Task(_) | State::Parallel(_) | State::Map(_) => self
                .run_with_retry(name, state, &raw, frame, prev)
                .await
                .map_err(wrap),
        }
    }

    async fn run_with_retry(
        &self,
        name: &str,
        state: &State,
        raw: &Value,
        frame: &Frame,
        prev: &mut u64,
    ) -> Result<StateOutcome, StatesError> {
        let retriers = state.retry().unwrap_or(&[]);
        let catchers: &[Catcher] = state.catch().unwrap_or(&[]);
        let mut counts = vec![0u64; retriers.len()];
        let mut retry_count = 0u64;
        let entered = self
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        loop {
            let ctx = self.context(name, &entered, retry_count, frame, None);
            let result = match state {
                State::Task(task) => self.attempt_task(name, task, raw, &ctx, prev).await,
                State::Parallel(parallel) => {
                    self.attempt_parallel(name, parallel, raw, &ctx, prev).await
                }
                State::Map(map) => self.attempt_map(name, map, raw, &ctx, prev).await,
                _ => Err(StatesError::runtime("not a task-like state")),
            };
            let error = match result {
                Ok((selected, output)) => {
                    let state_assign = match state {
                        State::Task(s) => s.assign.as_ref(),
                        State::Parallel(s) => s.assign.as_ref(),
                        State::Map(s) => s.assign.as_ref(),
                        _ => None,
                    };
                    let assigned = assign(state_assign, &selected, &ctx)?;
                    return Ok((self.exit(state, name, output, prev)?, assigned));
                }
                Err(e) => e,
            };
            if error.error == names::RUNTIME {
                return Err(error);
            }
            if let Some(index) = retriers
                .iter()
                .position(|r| error_matches(&r.error_equals, &error.error))
            {
                let retrier = &retriers[index];
                let max = retrier
                    .max_attempts
                    .as_ref()
                    .map_or(DEFAULT_MAX_ATTEMPTS, |n| n.as_u64().unwrap_or(0));
                if counts[index] < max {
                    let delay = retry_delay_secs(retrier, counts[index]);
                    counts[index] += 1;
                    retry_count += 1;
                    tokio::time::sleep(saturating_secs_f64(delay)).await;
                    continue;
                }
            }
            if let Some(catcher) = catchers
                .iter()
                .find(|c| error_matches(&c.error_equals, &error.error))
            {
                let assigned = assign(catcher.assign.as_ref(), &error.to_value(), &ctx)?;
                let output = Self::apply_result_path(&catcher.result_path, raw, error.to_value())?;
                self.record(
                    exited_type(state),
                    prev,
                    Some(json!({"name": name, "output": compact(&output), "outputDetails": not_truncated()})),
                );
                return Ok((Step::Next(catcher.next.clone(), output), assigned));
            }
            return Err(error);
        }
    }

    async fn attempt_task(
        &self,
        name: &str,
        task: &TaskState,
        raw: &Value,
        ctx: &ContextObject,
        prev: &mut u64,
    ) -> Result<(Value, Value), StatesError> {
        let effective = self.apply_input_path(&task.input_path, raw, ctx)?;
        let timeout = match (&task.timeout_seconds, &task.timeout_seconds_path) {
            (Some(t), _) => literal_seconds(Some(t)),
            (None, Some(path)) => Some(positive_seconds(
                &self.reference("TimeoutSecondsPath", path, &effective, ctx)?,
                "TimeoutSecondsPath",
            )?),
            (None, None) => None,
        };
        let heartbeat = match (&task.heartbeat_seconds, &task.heartbeat_seconds_path) {
            (Some(t), _) => literal_seconds(Some(t)),
            (None, Some(path)) => Some(positive_seconds(
                &self.reference("HeartbeatSecondsPath", path, &effective, ctx)?,
                "HeartbeatSecondsPath",
            )?),
            (None, None) => None,
        };
        let input = match &task.parameters {
            Some(t) => apply_template(
                t,
                Roots {
                    input: &effective,
                    context: ctx,
                },
            )?,
            None => effective,
        };
        let resource = task.resource.as_str();
        let result = match self.resources.classify(resource) {
            ResourceKind::Activity => {
                self.run_activity(resource, &input, timeout, heartbeat, prev)
                    .await?
            }
            ResourceKind::Unsupported => {
                let error = unsupported(resource);
                self.record(
                    EventType::TaskFailed,
                    prev,
                    Some(json!({"resourceType": "unknown", "resource": resource, "error": error.error, "cause": error.cause})),
                );
                return Err(error);
            }
            kind => {
                self.run_service_task(name, kind, resource, input, timeout, prev)
                    .await?
            }
        };
        let result = match &task.result_selector {
            Some(t) => apply_template(
                t,
                Roots {
                    input: &result,
                    context: ctx,
                },
            )?,
            None => result,
        };
        // Assign reads the selected result; clone it only when there is an Assign.
        let selected = if task.assign.is_some() {
            result.clone()
        } else {
            Value::Null
        };
        let output = Self::apply_result_path(&task.result_path, raw, result)?;
        let output = self.filter_path("OutputPath", &task.output_path, &output, ctx)?;
        Ok((selected, output))
    }

    async fn run_activity(
        &self,
        resource: &str,
        input: &Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        prev: &mut u64,
    ) -> Result<Value, StatesError> {
        let text = compact(input);
        let Some(mut task) = self
            .activities
            .schedule(resource, text.clone(), &self.exec.arn)
        else {
            let error = StatesError::new(
                "States.Runtime",
                format!("Activity Does Not Exist: '{resource}'"),
            );
            self.record(
                EventType::ActivityScheduleFailed,
                prev,
                Some(json!({"error": "ActivityDoesNotExist", "cause": error.cause})),
            );
            return Err(error);
        };
        let timeout = timeout.unwrap_or(DEFAULT_TASK_TIMEOUT_SECS);
        let mut details = json!({"resource": resource, "input": text, "inputDetails": not_truncated(), "timeoutInSeconds": timeout});
        if let (Some(h), Value::Object(map)) = (heartbeat, &mut details) {
            map.insert("heartbeatInSeconds".into(), json!(h));
        }
        self.record(EventType::ActivityScheduled, prev, Some(details));
        let hard = deadline_after(Duration::from_secs(timeout));
        let mut heartbeat_deadline: Option<tokio::time::Instant> = None;
        loop {
            let beat = heartbeat_deadline;
            let heartbeat_expired = async move {
                match beat {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                signal = task.signals.recv() => match signal {
                    Some(TaskSignal::Started { worker_name }) => {
                        self.record(EventType::ActivityStarted, prev, Some(json!({"workerName": worker_name})));
                        heartbeat_deadline = heartbeat.map(|h| deadline_after(Duration::from_secs(h)));
                    }
                    Some(TaskSignal::Heartbeat) => {
                        heartbeat_deadline = heartbeat.map(|h| deadline_after(Duration::from_secs(h)));
                    }
                    Some(TaskSignal::Succeeded { output }) => {
                        self.record(EventType::ActivitySucceeded, prev, Some(json!({"output": output, "outputDetails": not_truncated()})));
                        return serde_json::from_str(&output).map_err(|e| StatesError::runtime(format!("the activity output is not JSON: {e}")));
                    }
                    Some(TaskSignal::Failed { error, cause }) => {
                        self.record(EventType::ActivityFailed, prev, Some(json!({"error": error, "cause": cause})));
                        return Err(StatesError::new(error, cause));
                    }
                    None => return Err(StatesError::runtime("the activity task was lost")),
                },
                () = tokio::time::sleep_until(hard) => {
                    task.close();
                    self.record(EventType::ActivityTimedOut, prev, Some(json!({"error": names::TIMEOUT, "cause": ""})));
                    return Err(StatesError::new(names::TIMEOUT, ""));
                }
                () = heartbeat_expired => {
                    task.close();
                    self.record(EventType::ActivityTimedOut, prev, Some(json!({"error": names::HEARTBEAT_TIMEOUT, "cause": ""})));
                    return Err(StatesError::new(names::HEARTBEAT_TIMEOUT, ""));
                }
            }
        }
    }

    async fn run_service_task(
        &self,
        _name: &str,
        kind: ResourceKind,
        resource: &str,
        input: Value,
        timeout: Option<u64>,
        prev: &mut u64,
    ) -> Result<Value, StatesError> {
        let (resource_type, short) = match &kind {
            ResourceKind::DynamoDb(action) => ("dynamodb".to_owned(), action.as_str().to_owned()),
            _ => {
                let service = resource.split(':').nth(2).unwrap_or("custom").to_owned();
                (service, resource.to_owned())
            }
        };
        let mut details = json!({"resourceType": resource_type, "resource": short, "region": self.region, "parameters": compact(&input)});
        if let (Some(t), Value::Object(map)) = (timeout, &mut details) {
            map.insert("timeoutInSeconds".into(), json!(t));
        }
        self.record(EventType::TaskScheduled, prev, Some(details));
        self.record(
            EventType::TaskStarted,
            prev,
            Some(json!({"resourceType": resource_type, "resource": short})),
        );
        let call = async {
            match &kind {
                ResourceKind::DynamoDb(action) => self.resources.dynamodb(*action, &input).await,
                _ => match self.resources.handlers.get(resource) {
                    Some(handler) => handler.invoke(resource, input.clone()).await,
                    None => Err(unsupported(resource)),
                },
            }
        };
        let limit = Duration::from_secs(timeout.unwrap_or(DEFAULT_TASK_TIMEOUT_SECS));
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(output)) => {
                self.record(
                    EventType::TaskSucceeded,
                    prev,
                    Some(json!({"resourceType": resource_type, "resource": short, "output": compact(&output), "outputDetails": not_truncated()})),
                );
                Ok(output)
            }
            Ok(Err(e)) => {
                self.record(
                    EventType::TaskFailed,
                    prev,
                    Some(json!({"resourceType": resource_type, "resource": short, "error": e.error, "cause": e.cause})),
                );
                Err(e)
            }
            Err(_) => {
                self.record(
                    EventType::TaskTimedOut,
                    prev,
                    Some(json!({"resourceType": resource_type, "resource": short, "error": names::TIMEOUT, "cause": ""})),
                );
                Err(StatesError::new(names::TIMEOUT, ""))
            }
        }
    }

    async fn attempt_parallel(
        &self,
        _name: &str,
        parallel: &ParallelState,
        raw: &Value,
        ctx: &ContextObject,
        prev: &mut u64,
    ) -> Result<(Value, Value), StatesError> {
        let effective = self.apply_input_path(&parallel.input_path, raw, ctx)?;
        let input = match &parallel.parameters {
            Some(t) => apply_template(
                t,
                Roots {
                    input: &effective,
                    context: ctx,
                },
            )?,
            None => effective,
        };
        self.record(EventType::ParallelStateStarted, prev, None);
        let start = *prev;
        let branches = parallel.branches.iter().map(|branch: &Branch| {
            let input = input.clone();
            async move {
                let mut branch_prev = start;
                self.run_scope(
                    &branch.states,
                    &branch.start_at,
                    input,
                    Frame {
                        variables: Arc::clone(&ctx.variables),
                    },
                    &mut branch_prev,
                )
                .await
            }
        });
        match futures::future::try_join_all(branches).await {
            Ok(results) => {
                self.record(EventType::ParallelStateSucceeded, prev, None);
                let result = Value::Array(results);
                self.finish_result(
                    ResultFields {
                        result_selector: parallel.result_selector.as_ref(),
                        has_assign: parallel.assign.is_some(),
                        result_path: &parallel.result_path,
                        output_path: &parallel.output_path,
                    },
                    raw,
                    result,
                    ctx,
                )
            }
            Err(e) => {
                self.record(
                    EventType::ParallelStateFailed,
                    prev,
                    Some(json!({"error": e.error, "cause": e.cause})),
                );
                Err(e)
            }
        }
    }

    async fn attempt_map(
        &self,
        name: &str,
        map: &MapState,
        raw: &Value,
        ctx: &ContextObject,
        prev: &mut u64,
    ) -> Result<(Value, Value), StatesError> {
        let effective = self.apply_input_path(&map.input_path, raw, ctx)?;
        let items = match &map.items_path {
            Some(path) => self.reference("ItemsPath", path, &effective, ctx)?,
            None => effective.clone(),
        };
        let Value::Array(items) = items else {
            return Err(StatesError::runtime(format!(
                "Item selector returned a non-array value for the Map state '{name}': {}",
                compact(&items)
            )));
        };
        let (states, start_at) = match (&map.item_processor, &map.iterator) {
            (Some(p), _) => (&p.states, p.start_at.as_str()),
            (None, Some(it)) => (&it.states, it.start_at.as_str()),
            (None, None) => return Err(StatesError::runtime("a Map needs an ItemProcessor")),
        };
        let number = |value: &Option<NumberOrExpr>,
                      path: &Option<String>,
                      field: &str|
         -> Result<Option<f64>, StatesError> {
            if let Some(v) = value {
                return Ok(v.as_number().map(number_f64));
            }
            match path {
                Some(p) => {
                    let v = self.reference(field, p, &effective, ctx)?;
                    v.as_f64()
                        .map(Some)
                        .ok_or_else(|| StatesError::runtime(format!("{field} must be a number")))
                }
                None => Ok(None),
            }
        };
        let concurrency = number(
            &map.max_concurrency,
            &map.max_concurrency_path,
            "MaxConcurrencyPath",
        )?
        .map_or(0, |n| n as usize);
        let tolerated_count = number(
            &map.tolerated_failure_count,
            &map.tolerated_failure_count_path,
            "ToleratedFailureCountPath",
        )?;
        let tolerated_percentage = number(
            &map.tolerated_failure_percentage,
            &map.tolerated_failure_percentage_path,
            "ToleratedFailurePercentagePath",
        )?;
        let selector = map.item_selector.as_ref().or(map.parameters.as_ref());
        let total = items.len();
        let mut inputs = Vec::with_capacity(total);
        for (index, item) in items.into_iter().enumerate() {
            let input = match selector {
                Some(t) => {
                    let item_ctx = ctx.with_map(json!({"Item": {"Index": index, "Value": item}}));
                    apply_template(
                        t,
                        Roots {
                            input: &effective,
                            context: &item_ctx,
                        },
                    )?
                }
                None => item,
            };
            inputs.push(input);
        }
        self.record(
            EventType::MapStateStarted,
            prev,
            Some(json!({"length": total})),
        );
        let start = *prev;
        let limit = if concurrency == 0 {
            total.max(1)
        } else {
            concurrency
        };
        let iterations = futures::stream::iter(inputs.into_iter().enumerate().map(
            |(index, input)| async move {
                let mut iteration_prev = start;
                self.record(
                    EventType::MapIterationStarted,
                    &mut iteration_prev,
                    Some(json!({"name": name, "index": index})),
                );
                let result = self
                    .run_scope(
                        states,
                        start_at,
                        input,
                        Frame {
                            variables: Arc::clone(&ctx.variables),
                        },
                        &mut iteration_prev,
                    )
                    .await;
                match &result {
                    Ok(_) => self.record(
                        EventType::MapIterationSucceeded,
                        &mut iteration_prev,
                        Some(json!({"name": name, "index": index})),
                    ),
                    Err(_) => self.record(
                        EventType::MapIterationFailed,
                        &mut iteration_prev,
                        Some(json!({"name": name, "index": index})),
                    ),
                }
                (index, result)
            },
        ))
        .buffer_unordered(limit);
        futures::pin_mut!(iterations);
        let mut results: Vec<Value> = vec![Value::Null; total];
        let mut failed = 0usize;
        let tolerant = tolerated_count.is_some() || tolerated_percentage.is_some();
        while let Some((index, result)) = iterations.next().await {
            match result {
                Ok(output) => results[index] = output,
                Err(e) => {
                    if e.error == names::RUNTIME || !tolerant {
                        self.record(
                            EventType::MapStateFailed,
                            prev,
                            Some(json!({"error": e.error, "cause": e.cause})),
                        );
                        return Err(e);
                    }
                    failed += 1;
                    results[index] = e.to_value();
                    let over_count = tolerated_count.is_some_and(|c| failed as f64 > c);
                    let over_percentage = tolerated_percentage
                        .is_some_and(|p| (failed as f64) * 100.0 / (total as f64) > p);
                    // AWS: the Map fails when either threshold is exceeded.
                    let exceeded = over_count || over_percentage;
                    if exceeded {
                        let error = StatesError::new(
                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            format!(
                                "The specified tolerated failure threshold was exceeded by the Map state '{name}'"
                            ),
                        );
                        self.record(
                            EventType::MapStateFailed,
                            prev,
                            Some(json!({"error": error.error, "cause": error.cause})),
                        );
                        return Err(error);
                    }
                }
            }
        }
        self.record(EventType::MapStateSucceeded, prev, None);
        let result = Value::Array(results);
        self.finish_result(
            ResultFields {
                result_selector: map.result_selector.as_ref(),
                has_assign: map.assign.is_some(),
                result_path: &map.result_path,
                output_path: &map.output_path,
            },
            raw,
            result,
            ctx,
        )
    }
}

/// The result-handling fields shared by Parallel and Map states.
struct ResultFields<'a> {
    result_selector: Option<&'a Value>,
    has_assign: bool,
    result_path: &'a Option<Option<String>>,
    output_path: &'a Option<Option<String>>,
}
