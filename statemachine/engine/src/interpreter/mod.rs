//! The interpreter: runs a typed [`asl::StateMachine`] (JSONPath mode) for one execution,
//! appending AWS-shaped history events as it goes.
//!
//! Data flow per state follows the specification: InputPath → Parameters → (task) →
//! ResultSelector → ResultPath (applied to the *raw* input) → OutputPath, with `null` InputPath /
//! OutputPath meaning `{}` and a `null` ResultPath discarding the result. Retry and Catch use
//! the predefined error semantics in [`error_matches`].

pub mod jsonata;
pub mod paths;
pub mod template;

mod callback;
mod choice;
mod item_reader;
mod jsonata_states;
mod redrive;

use redrive::{InFlight, Nested, Progress};
pub(crate) use redrive::{Points, ScopePoint, Sink};

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

use crate::activity::{ActivityQueue, MAX_PAYLOAD_BYTES};
use crate::clock::{EngineClock, deadline_after, saturating_secs_f64};
use crate::error::{DefinitionError, StatesError, names};
use crate::execution::Execution;
use crate::history::{EventType, not_truncated};
use crate::resources::{ResourceKind, Resources, unsupported};
use callback::SignalEvents;
use paths::{ContextObject, Roots, no_result_reason, select, set_at};
use template::{apply_template, path_failure};

/// AWS default task timeout for activities when `TimeoutSeconds` is absent (99999999 s).
const DEFAULT_TASK_TIMEOUT_SECS: u64 = 99_999_999;
/// AWS Retry defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0.
const DEFAULT_INTERVAL_SECS: f64 = 1.0;
const DEFAULT_MAX_ATTEMPTS: u64 = 3;
const DEFAULT_BACKOFF_RATE: f64 = 2.0;

/// A `stateExitedEventDetails` object: AWS adds the variables the state assigned, each as JSON
/// text, when there are any.
fn exited_details(name: &str, output: String, assigned: &Map<String, Value>) -> Value {
    let mut details = json!({"name": name, "output": output, "outputDetails": not_truncated()});
    if !assigned.is_empty()
        && let Value::Object(fields) = &mut details
    {
        let variables: Map<String, Value> = assigned
            .iter()
            .map(|(key, value)| (key.clone(), Value::String(compact(value))))
            .collect();
        fields.insert("assignedVariables".into(), Value::Object(variables));
        fields.insert("assignedVariablesDetails".into(), not_truncated());
    }
    details
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Rejects what the interpreter does not run, before any execution starts.
pub fn check_supported(machine: &StateMachine) -> Result<(), DefinitionError> {
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
            && map.result_writer.is_some()
        {
            return Err(DefinitionError::Unsupported(format!(
                "{here}: a distributed Map's ResultWriter (results written to S3) is not supported by the local engine"
            )));
        }
        if let State::Map(map) = state
            && map.processor().is_none()
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
        // AWS's guide says States.ALL does not catch States.DataLimitExceeded, but AWS catches
        // a task whose result is too large with States.ALL (recorded by LocalStack's parity
        // tests); the state-output overflow is raised after Catch and stays uncatchable.
        names::ALL => true,
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
    match apply_with(template, value, ctx)? {
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

/// What a scope passes to its states: the workflow variables visible in it, and the machine's
/// query language (a state's own `QueryLanguage` overrides it).
#[derive(Clone, Debug, Default)]
struct Frame {
    variables: Arc<Map<String, Value>>,
    jsonata: bool,
}

impl Frame {
    fn is_jsonata(&self, state: &State) -> bool {
        match state.query_language() {
            Some(language) => language == QueryLanguage::JsonAta,
            None => self.jsonata,
        }
    }
}

/// Where a state's run began: its name, the id of its entered event and that event's
/// predecessor (both appear in AWS's causes and `EvaluationFailed` events).
#[derive(Clone, Copy, Debug)]
struct StateEntry<'a> {
    name: &'a str,
    entered_id: u64,
    entered_prev: u64,
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
    /// The mocked task results of this execution (`statemachine run --mocks`, TestState).
    pub mocks: Option<Arc<crate::mocks::MockSession>>,
    /// `$$` without State / Map / Task for this run (a redrive has its own `RedriveCount` and
    /// `RedriveTime`).
    pub base_context: Arc<Value>,
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

/// Applies a payload template (`Parameters`, `ResultSelector`, `ItemSelector`, …) to `input`.
fn apply_with(template: &Value, input: &Value, ctx: &ContextObject) -> Result<Value, StatesError> {
    apply_template(
        template,
        Roots {
            input,
            context: ctx,
        },
    )
}

/// The value `parsed` (written `text`) selects, or AWS's "Invalid path" cause saying why there is
/// none.
fn selected(
    parsed: &asl::path::JsonPath,
    text: &str,
    roots: Roots<'_>,
) -> Result<Value, StatesError> {
    select(parsed, roots).map_err(path_failure)?.ok_or_else(|| {
        StatesError::runtime(format!(
            "Invalid path '{text}' : {}",
            no_result_reason(parsed, roots)
        ))
    })
}

/// AWS's cause for a Wait of 2^31 s or more.
const WAIT_TOO_LONG: &str = "Wait state delay is too long.";

/// AWS's cause when no Choice rule matched and there is no `Default` (a `States.Runtime`).
fn no_choice_matched(name: &str) -> String {
    format!("No Choice Rules matched and no Default specified in state '{name}'")
}

/// A Wait's `SecondsPath` value as AWS checks it.
fn wait_seconds(value: Option<&Value>, path: &str) -> Result<u64, StatesError> {
    let Some(value) = value else {
        return Err(StatesError::runtime(format!(
            "The SecondsPath parameter does not reference an input value: {path}"
        )));
    };
    let shown = match value {
        Value::String(text) => text.clone(),
        other => compact(other),
    };
    let number = match value {
        // AWS parses a Java long: larger numbers, fractions and other types are refused.
        Value::Number(n) => n.as_i64(),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    let Some(number) = number else {
        return Err(StatesError::runtime(format!(
            "The SecondsPath parameter cannot be parsed as a long value: {path} == {shown}"
        )));
    };
    if number < 0 {
        return Err(StatesError::runtime(format!(
            "The SecondsPath parameter references a negative value: {path} == {shown}"
        )));
    }
    if number > asl::timestamp::MAX_WAIT_DELAY_SECONDS {
        return Err(StatesError::runtime(WAIT_TOO_LONG));
    }
    Ok(u64::try_from(number).unwrap_or(0))
}

fn literal_seconds(value: Option<&NumberOrExpr>) -> Option<u64> {
    value
        .and_then(NumberOrExpr::as_number)
        .and_then(|n| n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)))
}

/// Parses a timestamp as Step Functions accepts it: an ISO-8601 extended offset date-time
/// (`2016-03-14T01:59:00Z`, `…T01:59:00.123+01:00`). RFC 3339 also allows a space or a lower-case
/// `t`/`z`, which AWS rejects.
pub(crate) fn parse_timestamp(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if !asl::timestamp::is_offset_date_time(text) {
        return None;
    }
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
        retry_count: Option<u64>,
        frame: &Frame,
    ) -> ContextObject {
        // AWS: `$$.State` is {Name, EnteredTime}, plus RetryCount in states that retry (Task,
        // Parallel, Map).
        let mut state = json!({"Name": name, "EnteredTime": entered});
        if let (Some(count), Value::Object(fields)) = (retry_count, &mut state) {
            fields.insert("RetryCount".into(), json!(count));
        }
        ContextObject::new(Arc::clone(&self.base_context), Some(state), None, None)
            .with_variables(Arc::clone(&frame.variables))
    }

    /// Runs the whole machine, from its start or, for a redrive, from `resume`. When the run
    /// fails or is abandoned, `sink` receives where it stopped.
    pub async fn run_machine(
        &self,
        machine: &StateMachine,
        input: Value,
        prev: u64,
        sink: Sink<'_>,
        resume: Option<Box<ScopePoint>>,
    ) -> Result<Value, StatesError> {
        let mut prev = prev;
        self.run_scope(
            &machine.states,
            &machine.start_at,
            input,
            Frame {
                variables: Arc::default(),
                jsonata: machine.query_language == Some(QueryLanguage::JsonAta),
            },
            &mut prev,
            (sink, resume),
        )
        .await
    }

    /// Runs a scope (the machine, a Map iteration, a Parallel branch) from `start_at`, or from
    /// the point a redrive resumes; `sink` receives where it stops if it fails or is abandoned.
    fn run_scope<'a>(
        &'a self,
        states: &'a IndexMap<String, State>,
        start_at: &'a str,
        input: Value,
        frame: Frame,
        prev: &'a mut u64,
        (sink, resume): (Sink<'a>, Option<Box<ScopePoint>>),
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut current = start_at;
            let mut input = input;
            let mut frame = frame;
            let mut children = None;
            if let Some(point) = resume.map(|point| *point) {
                current = states
                    .get_key_value(point.state.as_str())
                    .map(|(k, _)| k.as_str())
                    .ok_or_else(|| {
                        StatesError::runtime(format!(
                            "the state '{}' to redrive from does not exist",
                            point.state
                        ))
                    })?;
                input = point.input;
                frame.variables = point.variables;
                children = point.children;
            }
            loop {
                let state = states.get(current).ok_or_else(|| {
                    StatesError::runtime(format!("the state '{current}' does not exist"))
                })?;
                let (step, assigned) = {
                    // Keeps the input (and the variables) until the state returns: when it
                    // fails, they are where a redrive continues.
                    let mut flight = InFlight::new(sink, current, input, &frame.variables);
                    let nested = Nested {
                        record: &flight.children,
                        resume: children.take(),
                    };
                    let outcome = self
                        .run_state(current, state, &flight.input, &frame, prev, nested)
                        .await;
                    if outcome.is_ok() {
                        flight.landed();
                    }
                    outcome?
                };
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
                selected(
                    &parsed,
                    text,
                    Roots {
                        input: value,
                        context: ctx,
                    },
                )
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
            Some(t) => apply_with(t, &result, ctx)?,
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
        selected(
            &parsed,
            text,
            Roots {
                input,
                context: ctx,
            },
        )
    }

    /// A reference path's value, `None` when it selects nothing.
    fn reference_value(
        &self,
        field: &str,
        text: &str,
        input: &Value,
        ctx: &ContextObject,
    ) -> Result<Option<Value>, StatesError> {
        let parsed = parse_reference_path(text)
            .map_err(|e| StatesError::runtime(format!("invalid {field} '{text}': {e}")))?;
        select(
            &parsed,
            Roots {
                input,
                context: ctx,
            },
        )
        .map_err(path_failure)
    }

    /// The instant a Wait until `when` ends; AWS refuses a delay of 2^31 s or more.
    fn wait_until(
        &self,
        when: chrono::DateTime<chrono::Utc>,
    ) -> Result<tokio::time::Instant, StatesError> {
        if (when - self.clock.now()).num_seconds() > asl::timestamp::MAX_WAIT_DELAY_SECONDS {
            return Err(StatesError::runtime(WAIT_TOO_LONG));
        }
        Ok(self.clock.instant_at(when))
    }

    /// A Choice's exit: it records `ChoiceStateExited` and goes to `target` (no payload limit
    /// check: a Choice passes on what it was given).
    fn leave_choice(
        &self,
        name: &str,
        target: String,
        output: Value,
        assigned: Map<String, Value>,
        prev: &mut u64,
    ) -> StateOutcome {
        self.record(
            EventType::ChoiceStateExited,
            prev,
            Some(exited_details(name, compact(&output), &assigned)),
        );
        (Step::Next(target, output), assigned)
    }

    fn exit(
        &self,
        state: &State,
        name: &str,
        output: Value,
        assigned: &Map<String, Value>,
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
            Some(exited_details(name, text, assigned)),
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
        raw: &Value,
        frame: &Frame,
        prev: &mut u64,
        nested: Nested<'_>,
    ) -> Result<StateOutcome, StatesError> {
        let entered_prev = *prev;
        self.record(
            entered_type(state),
            prev,
            Some(json!({"name": name, "input": compact(raw), "inputDetails": not_truncated()})),
        );
        let entered_id = *prev;
        let entered = self
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let ctx = self.context(name, &entered, None, frame);
        if frame.is_jsonata(state) {
            let entry = StateEntry {
                name,
                entered_id,
                entered_prev,
            };
            return self
                .run_state_jsonata(entry, state, raw, frame, &ctx, prev, nested)
                .await;
        }
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
                    .apply_input_path(&pass.input_path, raw, &ctx)
                    .map_err(wrap)?;
                let effective = match &pass.parameters {
                    Some(t) => apply_with(t, &effective, &ctx).map_err(wrap)?,
                    None => effective,
                };
                let result = pass.result.clone().unwrap_or(effective);
                let assigned = assign(pass.assign.as_ref(), &result, &ctx).map_err(wrap)?;
                let output =
                    Self::apply_result_path(&pass.result_path, raw, result).map_err(wrap)?;
                let output = self
                    .filter_path("OutputPath", &pass.output_path, &output, &ctx)
                    .map_err(wrap)?;
                Ok((self.exit(state, name, output, &assigned, prev)?, assigned))
            }
            State::Choice(choice_state) => {
                let effective = self
                    .apply_input_path(&choice_state.input_path, raw, &ctx)
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
                    return Err(wrap(StatesError::runtime(no_choice_matched(name))));
                };
                let output = self
                    .filter_path("OutputPath", &choice_state.output_path, &effective, &ctx)
                    .map_err(wrap)?;
                Ok(self.leave_choice(name, target, output, assigned, prev))
            }
            State::Wait(wait) => {
                let effective = self
                    .apply_input_path(&wait.input_path, raw, &ctx)
                    .map_err(wrap)?;
                let until = if let Some(seconds) = &wait.seconds {
                    let secs = literal_seconds(Some(seconds)).ok_or_else(|| {
                        StatesError::runtime("Seconds must be a non-negative integer")
                    })?;
                    deadline_after(Duration::from_secs(secs))
                } else if let Some(path) = &wait.seconds_path {
                    let value = self
                        .reference_value("SecondsPath", path, &effective, &ctx)
                        .map_err(wrap)?;
                    let secs = wait_seconds(value.as_ref(), path).map_err(wrap)?;
                    deadline_after(Duration::from_secs(secs))
                } else {
                    let text = match (&wait.timestamp, &wait.timestamp_path) {
                        (Some(ts), _) => ts.clone(),
                        (None, Some(path)) => {
                            let value = self
                                .reference_value("TimestampPath", path, &effective, &ctx)
                                .map_err(wrap)?;
                            let text = match &value {
                                Some(Value::String(text)) => text.clone(),
                                Some(other) => compact(other),
                                None => String::new(),
                            };
                            if value.is_none() || parse_timestamp(&text).is_none() {
                                return Err(wrap(StatesError::runtime(format!(
                                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {path} == {text}"
                                ))));
                            }
                            text
                        }
                        (None, None) => {
                            return Err(StatesError::runtime(
                                "a Wait state needs Seconds, SecondsPath, Timestamp or TimestampPath",
                            ));
                        }
                    };
                    let when = parse_timestamp(&text).ok_or_else(|| {
                        wrap(StatesError::runtime(format!(
                            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"
                        )))
                    })?;
                    self.wait_until(when).map_err(wrap)?
                };
                tokio::time::sleep_until(until).await;
                let assigned = assign(wait.assign.as_ref(), &effective, &ctx).map_err(wrap)?;
                let output = self
                    .filter_path("OutputPath", &wait.output_path, &effective, &ctx)
                    .map_err(wrap)?;
                Ok((self.exit(state, name, output, &assigned, prev)?, assigned))
            }
            State::Succeed(succeed) => {
                let effective = self
                    .apply_input_path(&succeed.input_path, raw, &ctx)
                    .map_err(wrap)?;
                let output = self
                    .filter_path("OutputPath", &succeed.output_path, &effective, &ctx)
                    .map_err(wrap)?;
                Ok((
                    self.exit(state, name, output, &Map::new(), prev)?,
                    Map::new(),
                ))
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
                            input: raw,
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
            State::Task(_) | State::Parallel(_) | State::Map(_) => {
                let entry = StateEntry {
                    name,
                    entered_id,
                    entered_prev,
                };
                self.run_with_retry(entry, state, raw, frame, prev, nested)
                    .await
                    .map_err(wrap)
            }
        }
    }

    /// Runs a Task, Parallel or Map with its Retry and Catch, in either query language. A
    /// redrive's `nested.resume` goes to the first attempt only: a retry runs everything again.
    async fn run_with_retry(
        &self,
        entry: StateEntry<'_>,
        state: &State,
        raw: &Value,
        frame: &Frame,
        prev: &mut u64,
        nested: Nested<'_>,
    ) -> Result<StateOutcome, StatesError> {
        let Nested { record, mut resume } = nested;
        let name = entry.name;
        let jsonata = frame.is_jsonata(state);
        let retriers = state.retry().unwrap_or(&[]);
        let catchers: &[Catcher] = state.catch().unwrap_or(&[]);
        let mut counts = vec![0u64; retriers.len()];
        let mut retry_count = 0u64;
        let entered = self
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        loop {
            if retry_count > 0 {
                // What an earlier attempt's children left is not this attempt's.
                redrive::take(record);
            }
            let nested = Nested {
                record,
                resume: resume.take(),
            };
            let ctx = self.context(name, &entered, Some(retry_count), frame);
            let result = match state {
                _ if jsonata => self
                    .attempt_jsonata(entry, state, raw, &ctx, frame.jsonata, prev, nested)
                    .await
                    .map(|result| (result, Value::Null)),
                State::Task(task) => self.attempt_task(name, task, raw, &ctx, prev).await,
                State::Parallel(parallel) => {
                    self.attempt_parallel(parallel, raw, &ctx, frame.jsonata, prev, nested)
                        .await
                }
                State::Map(map) => {
                    self.attempt_map(name, map, raw, &ctx, (frame.jsonata, nested), prev)
                        .await
                }
                _ => Err(StatesError::runtime("not a task-like state")),
            };
            let error = match result {
                Ok((result, _)) if jsonata => {
                    return self.finish_jsonata(entry, state, raw, &ctx, &result, prev);
                }
                Ok((selected, output)) => {
                    let state_assign = match state {
                        State::Task(s) => s.assign.as_ref(),
                        State::Parallel(s) => s.assign.as_ref(),
                        State::Map(s) => s.assign.as_ref(),
                        _ => None,
                    };
                    let assigned = assign(state_assign, &selected, &ctx)?;
                    return Ok((self.exit(state, name, output, &assigned, prev)?, assigned));
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
                if jsonata {
                    return self.catch_jsonata(entry, state, catcher, raw, &ctx, &error, prev);
                }
                let assigned = assign(catcher.assign.as_ref(), &error.to_value(), &ctx)?;
                let output = Self::apply_result_path(&catcher.result_path, raw, error.to_value())?;
                self.record(
                    exited_type(state),
                    prev,
                    Some(exited_details(name, compact(&output), &assigned)),
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
        // A callback integration's parameters read the token as `$$.Task.Token`.
        let (token, callback) = self.task_token(name, &task.resource);
        let token_ctx = token.map(|token| callback::with_task_token(ctx, &token));
        let input = match &task.parameters {
            Some(t) => apply_with(t, &effective, token_ctx.as_ref().unwrap_or(ctx))?,
            None => effective,
        };
        let result = self
            .run_task(
                name,
                &task.resource,
                input,
                (timeout, heartbeat),
                callback,
                prev,
            )
            .await?;
        let result = match &task.result_selector {
            Some(t) => apply_with(t, &result, ctx)?,
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

    /// Runs a Task's resource with its input, through `callback`'s token when the state waits
    /// for one (`.waitForTaskToken`); returns the raw result.
    pub(super) async fn run_task(
        &self,
        name: &str,
        resource: &str,
        input: Value,
        (timeout, heartbeat): (Option<u64>, Option<u64>),
        callback: Option<crate::activity::ScheduledTask>,
        prev: &mut u64,
    ) -> Result<Value, StatesError> {
        match callback {
            Some(token) => {
                self.run_callback(resource, input, token, timeout, heartbeat, prev)
                    .await
            }
            None => {
                self.run_resource(name, resource, input, timeout, heartbeat, prev)
                    .await
            }
        }
    }

    /// Runs a Task's resource (activity or service integration) with its input; returns the raw
    /// result.
    async fn run_resource(
        &self,
        name: &str,
        resource: &str,
        input: Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        prev: &mut u64,
    ) -> Result<Value, StatesError> {
        if let Some(outcome) = self.mocks.as_ref().and_then(|m| m.next(name)) {
            let kind = self.resources.classify(resource);
            let task = crate::mocks::MockedTask {
                kind: &kind,
                resource,
                region: &self.region,
                input: &input,
                timeout,
                heartbeat,
            };
            for (event_type, details) in crate::mocks::mocked_events(task, &outcome) {
                self.record(event_type, prev, Some(details));
            }
            return outcome.into_result();
        }
        match self.resources.classify(resource) {
            ResourceKind::Activity => {
                self.run_activity(resource, &input, timeout, heartbeat, prev)
                    .await
            }
            ResourceKind::Unsupported => {
                let error = unsupported(resource);
                self.record(
                    EventType::TaskFailed,
                    prev,
                    Some(json!({"resourceType": "unknown", "resource": resource, "error": error.error, "cause": error.cause})),
                );
                Err(error)
            }
            kind => {
                self.run_service_task(name, kind, resource, input, timeout, prev)
                    .await
            }
        }
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
        let Some(task) = self
            .activities
            .schedule(resource, text.clone(), &self.exec.arn)
        else {
            let error = StatesError::runtime(format!("The activity {resource} does not exist."));
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
        self.wait_for_signals(
            task,
            timeout,
            heartbeat,
            &SignalEvents::ACTIVITY,
            None,
            prev,
        )
        .await
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
            _ => callback::resource_names(resource),
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
            Ok(Ok(output)) if compact(&output).len() > MAX_PAYLOAD_BYTES => {
                let error = StatesError::new(
                    names::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The state/task '{resource_type}' returned a result with a size exceeding the maximum number of bytes service limit."
                    ),
                );
                self.record(
                    EventType::TaskFailed,
                    prev,
                    Some(json!({"resourceType": resource_type, "resource": short, "error": error.error, "cause": error.cause})),
                );
                Err(error)
            }
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
        parallel: &ParallelState,
        raw: &Value,
        ctx: &ContextObject,
        default_jsonata: bool,
        prev: &mut u64,
        nested: Nested<'_>,
    ) -> Result<(Value, Value), StatesError> {
        let effective = self.apply_input_path(&parallel.input_path, raw, ctx)?;
        let input = match &parallel.parameters {
            Some(t) => apply_with(t, &effective, ctx)?,
            None => effective,
        };
        let result = self
            .run_branches(
                parallel,
                input,
                (&ctx.variables, default_jsonata),
                prev,
                nested,
            )
            .await?;
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

    /// Runs every branch of a Parallel on `input` (for a redrive, only the branches that did not
    /// succeed, each from where it stopped); the array of their outputs.
    async fn run_branches(
        &self,
        parallel: &ParallelState,
        input: Value,
        (variables, default_jsonata): (&Arc<Map<String, Value>>, bool),
        prev: &mut u64,
        nested: Nested<'_>,
    ) -> Result<Value, StatesError> {
        self.record(EventType::ParallelStateStarted, prev, None);
        let start = *prev;
        let (progress, mut plan) =
            Progress::start(nested.record, parallel.branches.len(), nested.resume);
        let branches = parallel
            .branches
            .iter()
            .enumerate()
            .filter_map(|(index, branch)| match plan.as_mut() {
                None => Some((index, branch, None)),
                Some(plan) => plan
                    .get_mut(index)
                    .and_then(Option::take)
                    .map(|point| (index, branch, point)),
            })
            .map(|(index, branch, point): (usize, &Branch, _)| {
                let input = input.clone();
                let progress = &progress;
                async move {
                    let mut branch_prev = start;
                    let output = self
                        .run_scope(
                            &branch.states,
                            &branch.start_at,
                            input,
                            Frame {
                                variables: Arc::clone(variables),
                                jsonata: default_jsonata,
                            },
                            &mut branch_prev,
                            (Sink::new(&progress.stopped, index), point),
                        )
                        .await?;
                    progress.set_output(index, output);
                    Ok::<(), StatesError>(())
                }
            });
        // On the first failure the other branches are dropped (aborted); `progress` then
        // records what the branches left for a redrive.
        match futures::future::try_join_all(branches).await {
            Ok(_) => {
                self.record(EventType::ParallelStateSucceeded, prev, None);
                Ok(Value::Array(progress.finish()))
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
        (default_jsonata, nested): (bool, Nested<'_>),
        prev: &mut u64,
    ) -> Result<(Value, Value), StatesError> {
        let effective = self.apply_input_path(&map.input_path, raw, ctx)?;
        let items = match (&map.item_reader, &map.items_path) {
            (Some(reader), _) => {
                let parameters = match &reader.parameters {
                    Some(t) => apply_with(t, &effective, ctx)?,
                    None => json!({}),
                };
                let config = reader.reader_config.as_ref();
                let max_items = match config
                    .and_then(|c| c.get("MaxItemsPath"))
                    .and_then(Value::as_str)
                {
                    Some(path) => {
                        let value = self.reference("MaxItemsPath", path, &effective, ctx)?;
                        let n = path_number(&value, PathNumber::Integer).ok_or_else(|| {
                            not_a_valid("MaxItemsPath", &value, path, PathNumber::Integer)
                        })?;
                        Some(n as i64)
                    }
                    None => config
                        .and_then(|c| c.get("MaxItems"))
                        .and_then(Value::as_i64),
                };
                Value::Array(
                    self.read_items(&reader.resource, config, &parameters, max_items)
                        .await?,
                )
            }
            (None, Some(path)) => self.reference("ItemsPath", path, &effective, ctx)?,
            (None, None) => effective.clone(),
        };
        let Value::Array(items) = items else {
            return Err(StatesError::runtime(format!(
                "Item selector returned a non-array value for the Map state '{name}': {}",
                compact(&items)
            )));
        };
        // AWS reads a number or a numeric string from a *Path (an Assign'ed "1" works).
        let number = |value: &Option<NumberOrExpr>,
                      path: &Option<String>,
                      field: &str,
                      kind: PathNumber|
         -> Result<Option<f64>, StatesError> {
            if let Some(v) = value {
                return Ok(v.as_number().map(number_f64));
            }
            let Some(p) = path else {
                return Ok(None);
            };
            let v = self.reference(field, p, &effective, ctx)?;
            path_number(&v, kind)
                .map(Some)
                .ok_or_else(|| not_a_valid(field, &v, p, kind))
        };
        let concurrency = number(
            &map.max_concurrency,
            &map.max_concurrency_path,
            "MaxConcurrencyPath",
            PathNumber::Integer,
        )?
        .map_or(Ok(0), max_concurrency)
        .map_err(StatesError::runtime)?;
        let tolerated_count = number(
            &map.tolerated_failure_count,
            &map.tolerated_failure_count_path,
            "ToleratedFailureCountPath",
            PathNumber::Integer,
        )?;
        let tolerated_percentage = number(
            &map.tolerated_failure_percentage,
            &map.tolerated_failure_percentage_path,
            "ToleratedFailurePercentagePath",
            PathNumber::Float,
        )?;
        check_tolerance(tolerated_count, tolerated_percentage).map_err(StatesError::runtime)?;
        let selector = map.item_selector.as_ref().or(map.parameters.as_ref());
        let total = items.len();
        let mut inputs = Vec::with_capacity(total);
        for (index, item) in items.into_iter().enumerate() {
            let input = match selector {
                Some(t) => {
                    let item_ctx = ctx.with_map(json!({"Item": {"Index": index, "Value": item}}));
                    apply_with(t, &effective, &item_ctx)?
                }
                None => item,
            };
            inputs.push(input);
        }
        if let Some(batcher) = &map.item_batcher {
            let limit = |value: &Option<NumberOrExpr>, path: &Option<String>, field: &str| {
                number(value, path, field, PathNumber::Integer)
            };
            let max_items = limit(
                &batcher.max_items_per_batch,
                &batcher.max_items_per_batch_path,
                "MaxItemsPerBatchPath",
            )?;
            let max_bytes = limit(
                &batcher.max_input_bytes_per_batch,
                &batcher.max_input_bytes_per_batch_path,
                "MaxInputBytesPerBatchPath",
            )?;
            let batch_input = match &batcher.batch_input {
                Some(t) => Some(apply_with(t, &effective, ctx)?),
                None => None,
            };
            inputs = batches(inputs, max_items, max_bytes, batch_input.as_ref());
        }
        let Some(processor) = map.processor() else {
            return Err(StatesError::runtime("a Map needs an ItemProcessor"));
        };
        let (states, start_at) = (&processor.states, processor.start_at.as_str());
        let result = self
            .run_iterations(
                name,
                (states, start_at),
                inputs,
                MapLimits {
                    concurrency,
                    tolerated_count,
                    tolerated_percentage,
                },
                (&ctx.variables, default_jsonata),
                prev,
                nested,
            )
            .await?;
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

    /// Runs a Map's iterations over `inputs` (at most `limits.concurrency` at once, 0 = all;
    /// for a redrive, only the iterations that did not succeed, each from where it stopped);
    /// the array of their outputs, or the failure that ends the Map.
    #[allow(clippy::too_many_arguments)]
    async fn run_iterations(
        &self,
        name: &str,
        (states, start_at): (&IndexMap<String, State>, &str),
        inputs: Vec<Value>,
        limits: MapLimits,
        (variables, default_jsonata): (&Arc<Map<String, Value>>, bool),
        prev: &mut u64,
        nested: Nested<'_>,
    ) -> Result<Value, StatesError> {
        let MapLimits {
            concurrency,
            tolerated_count,
            tolerated_percentage,
        } = limits;
        let total = inputs.len();
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
        // Declared before the iterations, which write into it: dropped after them, so a failed
        // or abandoned Map records what every iteration left.
        let (progress, mut plan) = Progress::start(nested.record, total, nested.resume);
        let stopped = &progress.stopped;
        let jobs = inputs
            .into_iter()
            .enumerate()
            .filter_map(move |(index, input)| match plan.as_mut() {
                None => Some((index, input, None)),
                Some(plan) => plan
                    .get_mut(index)
                    .and_then(Option::take)
                    .map(|point| (index, input, point)),
            });
        {
            let iterations = futures::stream::iter(jobs.map(|(index, input, point)| async move {
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
                            variables: Arc::clone(variables),
                            jsonata: default_jsonata,
                        },
                        &mut iteration_prev,
                        (Sink::new(stopped, index), point),
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
            }))
            .buffer_unordered(limit);
            futures::pin_mut!(iterations);
            let mut failed = 0usize;
            let tolerant = tolerated_count.is_some() || tolerated_percentage.is_some();
            while let Some((index, result)) = iterations.next().await {
                match result {
                    Ok(output) => progress.set_output(index, output),
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
                        progress.set_output(index, e.to_value());
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
        }
        self.record(EventType::MapStateSucceeded, prev, None);
        Ok(Value::Array(progress.finish()))
    }
}

/// How many iterations of a Map run at once (0: all) and how many may fail.
#[derive(Clone, Copy, Debug)]
struct MapLimits {
    concurrency: usize,
    tolerated_count: Option<f64>,
    tolerated_percentage: Option<f64>,
}

/// The kind of number a Map `*Path` must reference.
#[derive(Clone, Copy, Debug)]
enum PathNumber {
    Integer,
    Float,
}

impl PathNumber {
    fn name(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Float => "float",
        }
    }
}

/// A number, or a string holding one (AWS parses strings), of the kind required.
fn path_number(value: &Value, kind: PathNumber) -> Option<f64> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => match kind {
            PathNumber::Integer => text.trim().parse::<i64>().ok().map(|n| n as f64),
            PathNumber::Float => text.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        },
        _ => None,
    }?;
    match kind {
        PathNumber::Integer => (number.fract() == 0.0).then_some(number),
        PathNumber::Float => Some(number),
    }
}

/// A distributed Map's `ItemBatcher`: the items in batches of at most `max_items` items and
/// `max_bytes` bytes of JSON (AWS: 256 KiB when unset), each iteration's input
/// `{"BatchInput": …, "Items": […]}`.
fn batches(
    items: Vec<Value>,
    max_items: Option<f64>,
    max_bytes: Option<f64>,
    batch_input: Option<&Value>,
) -> Vec<Value> {
    let max_items = max_items
        .filter(|n| *n >= 1.0)
        .map_or(usize::MAX, |n| n as usize);
    let max_bytes = max_bytes
        .filter(|n| *n >= 1.0)
        .map_or(MAX_PAYLOAD_BYTES, |n| n as usize);
    let wrap = |batch: Vec<Value>| {
        let mut input = Map::new();
        if let Some(shared) = batch_input {
            input.insert("BatchInput".into(), shared.clone());
        }
        input.insert("Items".into(), Value::Array(batch));
        Value::Object(input)
    };
    let mut out = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = compact(&item).len();
        if !batch.is_empty() && (batch.len() >= max_items || bytes + size > max_bytes) {
            out.push(wrap(std::mem::take(&mut batch)));
            bytes = 0;
        }
        bytes += size;
        batch.push(item);
    }
    if !batch.is_empty() {
        out.push(wrap(batch));
    }
    out
}

/// AWS's cause for a `*Path` that references something other than the number it needs.
fn not_a_valid(field: &str, value: &Value, path: &str, kind: PathNumber) -> StatesError {
    let shown = match value {
        Value::String(text) => text.clone(),
        other => compact(other),
    };
    StatesError::runtime(format!(
        "The {field} field refers to value \"{shown}\" which is not a valid {}: {path}",
        kind.name()
    ))
}

/// AWS's range checks of a Map's failure tolerance.
fn check_tolerance(count: Option<f64>, percentage: Option<f64>) -> Result<(), String> {
    if count.is_some_and(|c| c < 0.0) {
        return Err("ToleratedFailureCount cannot be negative.".into());
    }
    if percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        return Err("ToleratedFailurePercentage must be between 0 and 100.".into());
    }
    Ok(())
}

/// A Map's MaxConcurrency as a count (0: no limit). AWS lets a negative value stall the Map
/// forever; here it fails the state with a reason instead.
fn max_concurrency(value: f64) -> Result<usize, String> {
    if value < 0.0 || value.fract() != 0.0 {
        return Err(format!(
            "MaxConcurrency must be a non-negative integer, but was {value}."
        ));
    }
    Ok(usize::try_from(value as u64).unwrap_or(usize::MAX))
}

/// The result-handling fields shared by Parallel and Map states.
struct ResultFields<'a> {
    result_selector: Option<&'a Value>,
    has_assign: bool,
    result_path: &'a Option<Option<String>>,
    output_path: &'a Option<Option<String>>,
}
