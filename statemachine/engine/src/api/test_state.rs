//! `TestState`: runs one state (given alone, or named in a whole state machine with
//! `stateName`) on its input and reports its output, error, next state and status, with the
//! data-flow steps at `inspectionLevel` DEBUG/TRACE, as AWS's TestState API does.
//!
//! The state runs unchanged on a throw-away engine on virtual time: a synthetic machine holds
//! the state under test and one terminal `Succeed` placeholder per transition (one per distinct
//! `Next`/`Default`/Choice target, one per Catch). The placeholder the run ends in gives
//! `nextState` (and `CAUGHT_ERROR` with its `catchIndex` for a Catch placeholder); the history
//! gives the input, the task's parameters and result. A `mock` replaces the task's resource
//! through [`crate::mocks`]; a Map or Parallel with a mock runs as a Task with the same data
//! flow whose mocked result is the Map's or Parallel's result. Every task gets one attempt: a
//! Retry that matches its error with attempts left ends the test as `RETRIABLE`, without
//! waiting. Workflow variables given in `variables` are assigned by a Pass placed before the
//! state.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::actions::{optional, optional_bool, required, wrong_type};
use crate::engine::{Engine, EngineConfig};
use crate::error::{ApiError, names};
use crate::execution::{Execution, ExecutionStatus};
use crate::history::{EventType, HistoryEvent};
use crate::interpreter::error_matches;
use crate::interpreter::paths::{ContextObject, Roots, select, set_at};
use crate::interpreter::template::apply_template;
use crate::mocks::{ATTEMPT_LIMIT_CAUSE, MockOutcome, MockedResponse, TestCaseMocks};
use crate::resources::ResourceKind;

/// The state name AWS gives a state whose definition is tested alone.
const SINGLE_STATE_NAME: &str = "StateName";
/// The Pass that assigns the request's `variables` before the state runs.
const VARIABLES_STATE: &str = "TestState.Variables";
/// Placeholders for the state's transitions: `<prefix><index>`.
const NEXT_PREFIX: &str = "TestState.Next.";
const CATCH_PREFIX: &str = "TestState.Catch.";
/// The resource of a mocked Map or Parallel run as a Task (never invoked: it is mocked).
const MOCKED_BLOCK_RESOURCE: &str = "arn:aws:states:::lambda:invoke";
/// The role of the throw-away machine when the request names none.
const DEFAULT_ROLE: &str = "arn:aws:iam::123456789012:role/TestState";
/// AWS limit: a state input is at most 256 KiB (262144 bytes).
const MAX_INPUT_BYTES: usize = 262_144;

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::validation(message)
}

fn invalid_definition(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        "InvalidDefinition",
        format!("Invalid State Machine Definition: '{message}'"),
    )
}

fn enum_member<'a>(
    request: &'a Value,
    field: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match optional(request, field)? {
        Some(value) if !allowed.contains(&value) => Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The `mock` member.
fn parse_mock(request: &Value) -> Result<Option<MockOutcome>, ApiError> {
    let mock = match request.get("mock") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(mock)) => mock,
        Some(_) => return Err(wrong_type("mock", "an object")),
    };
    let mock_value = Value::Object(mock.clone());
    enum_member(
        &mock_value,
        "fieldValidationMode",
        &["STRICT", "PRESENT", "NONE"],
    )?;
    let result = optional(&mock_value, "result")?;
    let error_output = match mock.get("errorOutput") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(value),
        Some(_) => return Err(wrong_type("errorOutput", "an object")),
    };
    match (result, error_output) {
        (Some(_), Some(_)) => Err(validation(
            "A test mock should have only one of the following fields: [result, errorOutput].",
        )),
        (Some(text), None) => serde_json::from_str(text)
            .map(|value| Some(MockOutcome::Return(value)))
            .map_err(|_| validation("Mocked result must be valid JSON")),
        (None, Some(error_output)) => Ok(Some(MockOutcome::Throw(crate::error::StatesError::new(
            optional(error_output, "error")?.unwrap_or(""),
            optional(error_output, "cause")?.unwrap_or(""),
        )))),
        (None, None) => Err(validation(
            "A test mock should have one of the following fields: [result, errorOutput].",
        )),
    }
}

/// Finds `name` among `states` or in their branches and processors.
fn find_state<'a>(states: &'a Value, name: &str) -> Option<&'a Value> {
    let states = states.as_object()?;
    if let Some(found) = states.get(name) {
        return Some(found);
    }
    states.values().find_map(|state| {
        let branches = state
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let processors = ["ItemProcessor", "Iterator"]
            .into_iter()
            .filter_map(|key| state.get(key));
        branches
            .chain(processors)
            .find_map(|scope| find_state(&scope["States"], name))
    })
}

/// The state under test: its name and definition (with the machine's query language when it
/// has none of its own).
fn state_under_test(
    definition: &str,
    state_name: Option<&str>,
) -> Result<(String, Map<String, Value>), ApiError> {
    let value: Value = serde_json::from_str(definition)
        .map_err(|e| invalid_definition(format!("INVALID_JSON_DESCRIPTION: {e}")))?;
    let Some(name) = state_name else {
        let Value::Object(state) = value else {
            return Err(invalid_definition(
                "SCHEMA_VALIDATION_FAILED: a state definition must be a JSON object",
            ));
        };
        if !state.contains_key("Type") && state.contains_key("States") {
            return Err(validation(
                "stateName is required when the definition is a whole state machine",
            ));
        }
        return Ok((SINGLE_STATE_NAME.to_owned(), state));
    };
    let diagnostics = asl::validate::validate_text(definition, "definition")
        .map_err(|e| invalid_definition(e.to_string()))?;
    if let Some(d) = diagnostics.first() {
        return Err(invalid_definition(format!(
            "{}: {} at {}",
            super::validate::aws_code(d.code),
            d.message,
            if d.pointer.is_empty() {
                "/"
            } else {
                &d.pointer
            }
        )));
    }
    let Some(Value::Object(state)) = find_state(&value["States"], name) else {
        return Err(validation(format!(
            "State '{name}' does not exist in the state machine definition"
        )));
    };
    let mut state = state.clone();
    if let Some(language) = value.get("QueryLanguage")
        && !state.contains_key("QueryLanguage")
    {
        state.insert("QueryLanguage".into(), language.clone());
    }
    Ok((name.to_owned(), state))
}

/// The fields a Map or Parallel keeps when it runs as a mocked Task.
const BLOCK_AS_TASK_FIELDS: &[&str] = &[
    "Comment",
    "QueryLanguage",
    "InputPath",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Output",
    "Assign",
    "Retry",
    "Catch",
    "Next",
    "End",
];

/// A mocked Map or Parallel as a Task with the same data flow.
fn block_as_task(state: &Map<String, Value>, is_parallel: bool) -> Map<String, Value> {
    let mut task = Map::new();
    task.insert("Type".into(), json!("Task"));
    task.insert("Resource".into(), json!(MOCKED_BLOCK_RESOURCE));
    for (key, value) in state {
        let kept = BLOCK_AS_TASK_FIELDS.contains(&key.as_str())
            || (is_parallel && (key == "Parameters" || key == "Arguments"));
        if kept {
            task.insert(key.clone(), value.clone());
        }
    }
    task
}

/// Where the synthetic machine's placeholders lead back to.
#[derive(Debug, Default)]
struct Placeholders {
    /// Placeholder name → the original target.
    next: BTreeMap<String, String>,
    /// Placeholder name → catcher index.
    catch: BTreeMap<String, usize>,
}

/// Rewrites every transition of `state` to a placeholder.
fn redirect(state: &mut Map<String, Value>) -> Placeholders {
    let mut placeholders = Placeholders::default();
    let mut by_target: BTreeMap<String, String> = BTreeMap::new();
    let mut placeholder_for = |target: &Value| -> Option<Value> {
        let target = target.as_str()?;
        let count = by_target.len();
        let name = by_target
            .entry(target.to_owned())
            .or_insert_with(|| format!("{NEXT_PREFIX}{count}"))
            .clone();
        Some(json!(name))
    };
    if let Some(next) = state.get("Next").and_then(&mut placeholder_for) {
        state.insert("Next".into(), next);
    }
    if let Some(default) = state.get("Default").and_then(&mut placeholder_for) {
        state.insert("Default".into(), default);
    }
    if let Some(Value::Array(rules)) = state.get_mut("Choices") {
        for rule in rules.iter_mut() {
            if let Some(next) = rule.get("Next").and_then(&mut placeholder_for) {
                rule["Next"] = next;
            }
        }
    }
    if let Some(Value::Array(catchers)) = state.get_mut("Catch") {
        for (index, catcher) in catchers.iter_mut().enumerate() {
            if catcher.get("Next").is_some() {
                let name = format!("{CATCH_PREFIX}{index}");
                catcher["Next"] = json!(name);
                placeholders.catch.insert(name, index);
            }
        }
    }
    placeholders.next = by_target.into_iter().map(|(t, p)| (p, t)).collect();
    placeholders
}

/// The synthetic machine and its execution input.
fn synthetic_machine(
    name: &str,
    state: Map<String, Value>,
    placeholders: &Placeholders,
    variables: &Map<String, Value>,
    input: Value,
) -> (Value, Value) {
    let mut states = Map::new();
    let mut start = name.to_owned();
    let mut input = input;
    if !variables.is_empty() {
        let assign: Map<String, Value> = variables
            .keys()
            .map(|k| (format!("{k}.$"), json!(format!("$.variables.{k}"))))
            .collect();
        states.insert(
            VARIABLES_STATE.into(),
            json!({"Type": "Pass", "QueryLanguage": "JSONPath", "Assign": assign, "OutputPath": "$.input", "Next": name}),
        );
        start = VARIABLES_STATE.to_owned();
        input = json!({"variables": variables, "input": input});
    }
    states.insert(name.to_owned(), Value::Object(state));
    for placeholder in placeholders.next.keys().chain(placeholders.catch.keys()) {
        states.insert(placeholder.clone(), json!({"Type": "Succeed"}));
    }
    (json!({"StartAt": start, "States": states}), input)
}

/// What the run of the synthetic machine left.
struct Run {
    status: ExecutionStatus,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    history: Vec<HistoryEvent>,
    base_context: Arc<Value>,
}

/// Runs the synthetic machine on its own thread with a paused tokio clock (virtual time).
async fn run_synthetic(
    config: EngineConfig,
    mocks: TestCaseMocks,
    definition: String,
    role: String,
    input: String,
) -> Result<Run, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("asl-engine-test-state".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .map_err(|e| ApiError::new("InternalFailure", e.to_string()))
                .and_then(|rt| {
                    rt.block_on(async move {
                        let engine = Engine::with_mocks(config, mocks);
                        let machine = engine
                            .create_state_machine("TestState", &definition, &role, Some("EXPRESS"))
                            .map_err(|e| ApiError::new("InvalidDefinition", e.message))?;
                        let execution: Arc<Execution> =
                            engine.start_execution(&machine.arn, None, Some(&input))?;
                        let outcome = execution.wait().await;
                        Ok::<Run, ApiError>(Run {
                            status: outcome.status,
                            output: outcome.output,
                            error: outcome.error,
                            cause: outcome.cause,
                            history: execution.history(),
                            base_context: execution.base_context(),
                        })
                    })
                });
            let _ = tx.send(result);
        })
        .map_err(|e| ApiError::new("InternalFailure", e.to_string()))?;
    rx.await.map_err(|_| {
        ApiError::new(
            "InternalFailure",
            "the TestState thread ended without a result",
        )
    })?
}

fn event_text(event: &HistoryEvent, field: &str) -> Option<String> {
    event
        .details
        .as_ref()?
        .get(field)?
        .as_str()
        .map(str::to_owned)
}

fn event_json(event: &HistoryEvent, field: &str) -> Option<Value> {
    serde_json::from_str(&event_text(event, field)?).ok()
}

fn is_entered(event: &HistoryEvent) -> bool {
    event.event_type.as_str().ends_with("StateEntered")
}

fn is_failure(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::TaskFailed
            | EventType::TaskTimedOut
            | EventType::ActivityFailed
            | EventType::ActivityTimedOut
            | EventType::ActivityScheduleFailed
    )
}

/// The value of an optional path field: absent → `value`, `null` → `{}`.
fn apply_path(field: Option<&Value>, value: &Value, ctx: &ContextObject) -> Option<Value> {
    match field {
        None => Some(value.clone()),
        Some(Value::Null) => Some(json!({})),
        Some(Value::String(text)) => {
            let path = asl::path::parse_path(text).ok()?;
            select(
                &path,
                Roots {
                    input: value,
                    context: ctx,
                },
            )
            .ok()?
        }
        Some(_) => None,
    }
}

fn apply_result_path(field: Option<&Value>, raw: &Value, result: Value) -> Option<Value> {
    match field {
        None => Some(result),
        Some(Value::Null) => Some(raw.clone()),
        Some(Value::String(text)) => {
            let path = asl::path::parse_result_path(text).ok()?;
            set_at(raw.clone(), &path, result).ok()
        }
        Some(_) => None,
    }
}

fn template(field: Option<&Value>, value: Value, ctx: &ContextObject) -> Option<Value> {
    match field {
        None => Some(value),
        Some(t) => apply_template(
            t,
            Roots {
                input: &value,
                context: ctx,
            },
        )
        .ok(),
    }
}

/// The data-flow steps of a JSONPath state, recomputed from its input and (for a task) its
/// parameters and raw result as the history recorded them, as far as they go.
fn jsonpath_steps(
    state: &Map<String, Value>,
    input: &Value,
    task: &TaskData,
    ctx: &ContextObject,
    steps: &mut Map<String, Value>,
) -> Option<Value> {
    let kind = state.get("Type").and_then(Value::as_str).unwrap_or("");
    let after_input_path = apply_path(state.get("InputPath"), input, ctx)?;
    steps.insert("afterInputPath".into(), json!(compact(&after_input_path)));
    let selected = match kind {
        "Pass" => {
            let after_parameters = template(state.get("Parameters"), after_input_path, ctx)?;
            steps.insert("afterParameters".into(), json!(compact(&after_parameters)));
            match state.get("Result") {
                Some(result) => {
                    steps.insert("result".into(), json!(compact(result)));
                    result.clone()
                }
                None => after_parameters,
            }
        }
        "Task" => {
            if let Some(parameters) = &task.parameters {
                steps.insert("afterParameters".into(), json!(parameters));
            }
            let result = task.result.clone()?;
            steps.insert("result".into(), json!(compact(&result)));
            template(state.get("ResultSelector"), result, ctx)?
        }
        "Choice" | "Wait" => return Some(after_input_path),
        _ => return None,
    };
    steps.insert("afterResultSelector".into(), json!(compact(&selected)));
    let after_result_path = apply_result_path(state.get("ResultPath"), input, selected.clone())?;
    steps.insert("afterResultPath".into(), json!(compact(&after_result_path)));
    Some(selected)
}

/// What the history says of the task's one attempt.
#[derive(Debug, Default)]
struct TaskData {
    /// The effective parameters (the resource's input), as text.
    parameters: Option<String>,
    /// The raw result.
    result: Option<Value>,
    /// The first failure: error and cause.
    failure: Option<(String, String)>,
    /// How many times the resource was scheduled.
    attempts: usize,
}

fn task_data(history: &[HistoryEvent]) -> TaskData {
    let mut data = TaskData::default();
    for event in history {
        match event.event_type {
            EventType::TaskScheduled => {
                data.attempts += 1;
                if data.parameters.is_none() {
                    data.parameters = event_text(event, "parameters");
                }
            }
            EventType::ActivityScheduled => {
                data.attempts += 1;
                if data.parameters.is_none() {
                    data.parameters = event_text(event, "input");
                }
            }
            EventType::TaskSucceeded | EventType::ActivitySucceeded if data.result.is_none() => {
                data.result = event_json(event, "output");
            }
            t if is_failure(t) && data.failure.is_none() => {
                data.failure = Some((
                    event_text(event, "error").unwrap_or_default(),
                    event_text(event, "cause").unwrap_or_default(),
                ));
            }
            _ => {}
        }
    }
    data
}

/// The Assign a JSONPath state applied on the way it left, evaluated; `None` when unknown.
fn assigned(
    state: &Map<String, Value>,
    selected: Option<&Value>,
    next_state: Option<&str>,
    catch_index: Option<usize>,
    error_output: Option<&Value>,
    ctx: &ContextObject,
) -> Option<Map<String, Value>> {
    let (assign, value) = match catch_index {
        Some(index) => (state.get("Catch")?.get(index)?.get("Assign"), error_output?),
        None => {
            let rule_assign = next_state.and_then(|next| {
                state
                    .get("Choices")?
                    .as_array()?
                    .iter()
                    .find(|rule| rule.get("Next").and_then(Value::as_str) == Some(next))
                    .and_then(|rule| rule.get("Assign"))
            });
            (rule_assign.or_else(|| state.get("Assign")), selected?)
        }
    };
    match template(assign, value.clone(), ctx)? {
        Value::Object(map) if assign.is_some() => Some(map),
        _ => Some(Map::new()),
    }
}

/// The `TestState` action.
pub(crate) async fn test_state(engine: &Engine, request: &Value) -> Result<Value, ApiError> {
    let definition = required(request, "definition")?;
    let role = optional(request, "roleArn")?;
    let state_name = optional(request, "stateName")?;
    let level =
        enum_member(request, "inspectionLevel", &["INFO", "DEBUG", "TRACE"])?.unwrap_or("INFO");
    let reveal_secrets = optional_bool(request, "revealSecrets")?.unwrap_or(false);
    let mock = parse_mock(request)?;
    if optional(request, "context")?.is_some() {
        return Err(validation(
            "the local engine does not support 'context' in TestState (the context object is the one of a fresh execution)",
        ));
    }
    if request
        .get("stateConfiguration")
        .is_some_and(|c| !c.is_null())
    {
        return Err(validation(
            "the local engine does not support 'stateConfiguration' in TestState",
        ));
    }
    if mock.is_some() && reveal_secrets {
        return Err(validation(
            "TestState does not support RevealSecrets when a mock is specified.",
        ));
    }
    let input_text = optional(request, "input")?.unwrap_or("{}");
    if input_text.len() > MAX_INPUT_BYTES {
        return Err(ApiError::new(
            "InvalidExecutionInput",
            "the input exceeds the 262144-byte quota",
        ));
    }
    let input: Value = serde_json::from_str(input_text).map_err(|e| {
        ApiError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{e}'"),
        )
    })?;
    let variables = match optional(request, "variables")? {
        None => Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(variables)) => variables,
            _ => return Err(validation("variables must be a JSON object")),
        },
    };
    if let Some(bad) = variables.keys().find(|k| {
        let mut chars = k.chars();
        !chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) {
        return Err(validation(format!("'{bad}' is not a valid variable name")));
    }

    let (name, mut state) = state_under_test(definition, state_name)?;
    let kind = state
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    match (kind.as_str(), &mock) {
        ("Pass" | "Fail" | "Succeed" | "Wait" | "Choice", Some(_)) => {
            return Err(validation(format!(
                "State type '{kind}' is not supported when a mock is specified"
            )));
        }
        ("Map" | "Parallel", None) => {
            return Err(ApiError::new(
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ));
        }
        _ => {}
    }
    if let Some(MockOutcome::Return(result)) = &mock {
        match kind.as_str() {
            "Map" | "Parallel" if !result.is_array() => {
                return Err(validation("Mocked result must be an array."));
            }
            "Parallel" => {
                let branches = state
                    .get("Branches")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if result.as_array().map_or(0, Vec::len) != branches {
                    return Err(validation(
                        "Mocked result must contain the same number of items as number of Parallel branches.",
                    ));
                }
            }
            _ => {}
        }
    }
    if kind == "Task" && mock.is_none() {
        if role.is_none() {
            return Err(validation(
                "RoleArn must be specified when testing a Task state",
            ));
        }
        let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
        match engine.config().resources.classify(resource) {
            ResourceKind::Unsupported => {
                return Err(validation(format!(
                    "the local engine cannot run the task resource '{resource}': give a mock (it runs arn:aws:states:::dynamodb:getItem/putItem/updateItem and registered handlers)"
                )));
            }
            ResourceKind::Activity => {
                return Err(validation(
                    "TestState does not support Activity tasks without a mock",
                ));
            }
            _ => {}
        }
    }
    if kind == "Map" || kind == "Parallel" {
        state = block_as_task(&state, kind == "Parallel");
    }
    let jsonata = state.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata");
    let original = state.clone();
    let placeholders = redirect(&mut state);
    let (machine, run_input) =
        synthetic_machine(&name, state, &placeholders, &variables, input.clone());

    let mut states = BTreeMap::new();
    if let Some(outcome) = mock {
        states.insert(
            name.clone(),
            Arc::new(MockedResponse::repeated("mock", 0, outcome)),
        );
    }
    let mocks = TestCaseMocks::new(states).with_attempt_limit(1);
    let config = EngineConfig {
        region: engine.config().region.clone(),
        account: engine.config().account.clone(),
        resources: engine.config().resources.clone(),
    };
    let run = run_synthetic(
        config,
        mocks,
        machine.to_string(),
        role.unwrap_or(DEFAULT_ROLE).to_owned(),
        run_input.to_string(),
    )
    .await?;

    let task = task_data(&run.history);
    let entered: Vec<&HistoryEvent> = run.history.iter().filter(|e| is_entered(e)).collect();
    let ended_in = entered
        .last()
        .and_then(|e| event_text(e, "name"))
        .filter(|n| n != &name);
    let state_input = entered
        .iter()
        .find(|e| event_text(e, "name").as_deref() == Some(name.as_str()))
        .and_then(|e| event_json(e, "input"))
        .unwrap_or_else(|| input.clone());

    let mut response = Map::new();
    let mut error_details = Map::new();
    let mut next_state = None;
    let mut catch_index = None;
    let runtime_stop = run.error.as_deref() == Some(names::RUNTIME)
        && run
            .cause
            .as_deref()
            .is_some_and(|c| c.contains(ATTEMPT_LIMIT_CAUSE));
    let status = match run.status {
        ExecutionStatus::Succeeded => {
            if let Some(output) = &run.output {
                response.insert("output".into(), json!(compact(output)));
            }
            match ended_in.as_deref() {
                Some(placeholder) if placeholders.catch.contains_key(placeholder) => {
                    let index = placeholders.catch[placeholder];
                    catch_index = Some(index);
                    error_details.insert("catchIndex".into(), json!(index));
                    if let Some((error, cause)) = &task.failure {
                        response.insert("error".into(), json!(error));
                        response.insert("cause".into(), json!(cause));
                    }
                    if let Some(target) = original
                        .get("Catch")
                        .and_then(|c| c.get(index))
                        .and_then(|c| c.get("Next"))
                    {
                        next_state = target.as_str().map(str::to_owned);
                    }
                    "CAUGHT_ERROR"
                }
                Some(placeholder) => {
                    next_state = placeholders.next.get(placeholder).cloned();
                    "SUCCEEDED"
                }
                None => "SUCCEEDED",
            }
        }
        _ if task.attempts >= 2 || runtime_stop => {
            let (error, cause) = task.failure.clone().unwrap_or_default();
            let retriers = original
                .get("Retry")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some((index, retrier)) = retriers.iter().enumerate().find(|(_, r)| {
                let equals: Vec<String> = r
                    .get("ErrorEquals")
                    .and_then(Value::as_array)
                    .map(|names| {
                        names
                            .iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                error_matches(&equals, &error)
            }) {
                error_details.insert("retryIndex".into(), json!(index));
                // AWS Retry default: IntervalSeconds 1.
                let interval = retrier
                    .get("IntervalSeconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                error_details.insert("retryBackoffIntervalSeconds".into(), json!(interval));
            }
            response.insert("error".into(), json!(error));
            response.insert("cause".into(), json!(cause));
            "RETRIABLE"
        }
        _ => {
            if let Some(error) = &run.error {
                response.insert("error".into(), json!(error));
            }
            if let Some(cause) = &run.cause {
                response.insert("cause".into(), json!(cause));
            }
            "FAILED"
        }
    };
    if let Some(next) = &next_state {
        response.insert("nextState".into(), json!(next));
    }
    response.insert("status".into(), json!(status));

    if level != "INFO" {
        let mut inspection = Map::new();
        inspection.insert("input".into(), json!(compact(&state_input)));
        let variables_before = Arc::new(variables.clone());
        let ctx = ContextObject::new(
            Arc::clone(&run.base_context),
            Some(json!({"Name": name, "RetryCount": 0})),
            None,
            None,
        )
        .with_variables(Arc::clone(&variables_before));
        let mut after = (*variables_before).clone();
        if jsonata {
            if let Some(parameters) = &task.parameters {
                inspection.insert("afterArguments".into(), json!(parameters));
            }
            if let Some(result) = &task.result {
                inspection.insert("result".into(), json!(compact(result)));
            }
        } else {
            let selected = jsonpath_steps(&original, &state_input, &task, &ctx, &mut inspection);
            let error_output = task
                .failure
                .as_ref()
                .map(|(error, cause)| json!({"Error": error, "Cause": cause}));
            if status != "FAILED"
                && status != "RETRIABLE"
                && let Some(assigned) = assigned(
                    &original,
                    selected.as_ref(),
                    next_state.as_deref(),
                    catch_index,
                    error_output.as_ref(),
                    &ctx,
                )
            {
                after.extend(assigned);
            }
        }
        if !after.is_empty() {
            inspection.insert("variables".into(), json!(compact(&Value::Object(after))));
        }
        if !error_details.is_empty() {
            inspection.insert("errorDetails".into(), Value::Object(error_details));
        }
        response.insert("inspectionData".into(), Value::Object(inspection));
    }
    Ok(Value::Object(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn test(request: Value) -> Result<Value, ApiError> {
        let engine = Engine::new(EngineConfig::default());
        test_state(&engine, &request).await
    }

    async fn tested(request: Value) -> Value {
        test(request).await.expect("a response, not an error")
    }

    fn parsed(text: &Value) -> Value {
        serde_json::from_str(text.as_str().expect("a JSON string")).expect("JSON")
    }

    #[tokio::test]
    async fn given_a_choice_when_tested_then_the_matching_rule_target_is_the_next_state() {
        let definition = json!({"Type": "Choice", "Default": "Other", "Choices": [
            {"Variable": "$.value", "NumericGreaterThanEquals": 20, "Next": "ValueInTwenties"}]});

        let response = tested(json!({"definition": definition.to_string(),
            "input": r#"{"value": 22}"#, "inspectionLevel": "DEBUG"}))
        .await;

        assert_eq!(response["status"], "SUCCEEDED");
        assert_eq!(response["nextState"], "ValueInTwenties");
        assert_eq!(parsed(&response["output"]), json!({"value": 22}));
        assert_eq!(
            parsed(&response["inspectionData"]["afterInputPath"]),
            json!({"value": 22})
        );
    }

    #[tokio::test]
    async fn given_a_fail_state_when_tested_then_it_failed_with_its_error_and_cause() {
        let response = tested(json!({"definition":
            r#"{"Type": "Fail", "Error": "SomeFailure", "Cause": "why"}"#}))
        .await;

        assert_eq!(
            response,
            json!({"status": "FAILED", "error": "SomeFailure", "cause": "why"})
        );
    }

    #[tokio::test]
    async fn given_a_state_of_a_machine_when_tested_by_name_then_only_that_state_runs() {
        let machine = json!({"StartAt": "First", "States": {
            "First": {"Type": "Pass", "Result": 1, "Next": "Second"},
            "Second": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": true}}});

        let response = tested(
            json!({"definition": machine.to_string(), "stateName": "Second",
            "input": r#"{"n": 21}"#}),
        )
        .await;

        assert_eq!(response["status"], "SUCCEEDED");
        assert_eq!(response.get("nextState"), None);
        assert_eq!(parsed(&response["output"]), json!({"doubled": 42}));
    }

    #[tokio::test]
    async fn given_variables_and_an_assign_when_tested_then_the_variables_after_the_state_are_reported()
     {
        let definition = json!({"Type": "Pass", "Parameters": {"seen.$": "$known"},
            "Assign": {"added.$": "$.seen"}, "End": true});

        let response = tested(json!({"definition": definition.to_string(),
            "variables": r#"{"known": "k"}"#, "inspectionLevel": "DEBUG"}))
        .await;

        assert_eq!(parsed(&response["output"]), json!({"seen": "k"}));
        assert_eq!(
            parsed(&response["inspectionData"]["variables"]),
            json!({"known": "k", "added": "k"})
        );
    }

    #[tokio::test]
    async fn given_a_mocked_parallel_when_tested_then_the_mock_is_its_result() {
        let definition = json!({"Type": "Parallel", "ResultPath": "$.parallelResult", "End": true,
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]});

        let response = tested(json!({"definition": definition.to_string(),
            "input": r#"{"data": 1}"#,
            "mock": {"result": r#"[{"branch1": "result"}, {"branch2": "result"}]"#}}))
        .await;

        assert_eq!(response["status"], "SUCCEEDED");
        assert_eq!(
            parsed(&response["output"]),
            json!({"data": 1, "parallelResult": [{"branch1": "result"}, {"branch2": "result"}]})
        );
    }

    #[tokio::test]
    async fn given_requests_aws_refuses_when_tested_then_the_same_errors_are_returned() {
        let parallel = json!({"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]})
        .to_string();
        let pass = r#"{"Type": "Pass", "End": true}"#;
        for (request, code, message) in [
            (
                json!({"definition": pass, "mock": {"result": "1"}}),
                "ValidationException",
                "State type 'Pass' is not supported when a mock is specified",
            ),
            (
                json!({"definition": parallel}),
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ),
            (
                json!({"definition": parallel, "mock": {"result": "[1, 2]"}}),
                "ValidationException",
                "Mocked result must contain the same number of items as number of Parallel branches.",
            ),
            (
                json!({"definition": parallel, "mock": {"result": "{}"}}),
                "ValidationException",
                "Mocked result must be an array.",
            ),
            (
                json!({"definition": parallel, "mock": {"result": "nope"}}),
                "ValidationException",
                "Mocked result must be valid JSON",
            ),
            (
                json!({"definition": parallel,
                       "mock": {"result": "[1]", "errorOutput": {"error": "E"}}}),
                "ValidationException",
                "A test mock should have only one of the following fields: [result, errorOutput].",
            ),
            (
                json!({"definition": parallel, "mock": {"result": "[1]"}, "revealSecrets": true}),
                "ValidationException",
                "TestState does not support RevealSecrets when a mock is specified.",
            ),
            (
                json!({"definition":
                    r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}"#}),
                "ValidationException",
                "RoleArn must be specified when testing a Task state",
            ),
        ] {
            let error = test(request.clone()).await.expect_err("refused");
            assert_eq!(
                (error.code, error.message.as_str()),
                (code, message),
                "{request}"
            );
        }
    }

    #[test]
    fn given_a_state_with_transitions_when_redirected_then_each_target_gets_one_placeholder() {
        let mut state = json!({"Type": "Choice", "Default": "B", "Choices": [
            {"Variable": "$.x", "IsPresent": true, "Next": "A"},
            {"Variable": "$.y", "IsPresent": true, "Next": "B"}]})
        .as_object()
        .cloned()
        .expect("object");

        let placeholders = redirect(&mut state);

        assert_eq!(placeholders.next.len(), 2);
        let default = state["Default"].as_str().expect("redirected");
        assert_eq!(placeholders.next[default], "B");
        assert_eq!(state["Choices"][1]["Next"], state["Default"]);
    }
}
