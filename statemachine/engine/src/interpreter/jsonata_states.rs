//! States in JSONata mode (`"QueryLanguage": "JSONata"` on the machine or the state): no paths;
//! `Arguments` builds a Task's or Parallel's input, `Items` and `ItemSelector` a Map's, `Output`
//! the state output (default: the result, or the input for states without one), `Assign` the
//! variables, `Condition` a Choice rule; `{% … %}` expressions read `$states.input`,
//! `$states.result`, `$states.errorOutput`, `$states.context` and the variables. Assign and
//! Output are evaluated together, both against the variables as they were on entry.

use std::time::Duration;

use asl::model::{Catcher, MapState, State};
use serde_json::{Map, Value, json};

use super::callback::with_task_token;
use super::jsonata::{
    QueryFailure, Scope, evaluate_assign, evaluate_number, evaluate_template, evaluate_text,
    evaluate_typed,
};
use super::paths::ContextObject;
use super::redrive::Nested;
use super::{
    Frame, MapLimits, Runner, StateEntry, StateOutcome, Step, batches, check_tolerance, compact,
    exited_details, exited_type, max_concurrency, no_choice_matched, parse_timestamp,
};
use crate::clock::deadline_after;
use crate::error::{StatesError, names};
use crate::history::EventType;

/// A state's `Assign` and `Output` fields, whatever its type.
fn assign_and_output(state: &State) -> (Option<&Value>, Option<&Value>) {
    match state {
        State::Pass(s) => (s.assign.as_ref(), s.output.as_ref()),
        State::Task(s) => (s.assign.as_ref(), s.output.as_ref()),
        State::Choice(s) => (s.assign.as_ref(), s.output.as_ref()),
        State::Wait(s) => (s.assign.as_ref(), s.output.as_ref()),
        State::Succeed(s) => (None, s.output.as_ref()),
        State::Fail(_) => (None, None),
        State::Parallel(s) => (s.assign.as_ref(), s.output.as_ref()),
        State::Map(s) => (s.assign.as_ref(), s.output.as_ref()),
    }
}

/// Converts a non-negative whole number of seconds (AWS: `Seconds`, `TimeoutSeconds`, … are
/// integers ≥ 0).
fn whole_seconds(value: f64) -> Option<u64> {
    (value >= 0.0 && value.fract() == 0.0 && value < 1.0e15).then_some(value as u64)
}

impl Runner {
    fn scope<'a>(
        &self,
        entry: StateEntry<'a>,
        input: &'a Value,
        ctx: &'a ContextObject,
        is_wait: bool,
    ) -> Scope<'a> {
        Scope {
            state: entry.name,
            entered_id: entry.entered_id,
            evaluation_prev: if is_wait {
                entry.entered_id
            } else {
                entry.entered_prev
            },
            input,
            context: ctx,
            result: None,
            error_output: None,
            now_millis: self.clock.now().timestamp_millis(),
        }
    }

    /// Records the `EvaluationFailed` event AWS writes for a failed expression and returns the
    /// error the state fails with.
    fn evaluation_failed(
        &self,
        scope: &Scope<'_>,
        failure: QueryFailure,
        prev: &mut u64,
    ) -> StatesError {
        let QueryFailure { error, location } = failure;
        if error.error == names::QUERY_EVALUATION {
            let mut previous = scope.evaluation_prev;
            self.record(
                EventType::EvaluationFailed,
                &mut previous,
                Some(json!({
                    "error": error.error,
                    "cause": error.cause,
                    "location": location,
                    "state": scope.state,
                })),
            );
            *prev = previous;
        }
        error
    }

    /// `States.Runtime` with AWS's decoration of the state.
    fn runtime_in(entry: StateEntry<'_>, cause: impl std::fmt::Display) -> StatesError {
        StatesError::runtime(format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {cause}",
            entry.name, entry.entered_id
        ))
    }

    /// Output and Assign of a state that has no result (Pass, Wait, Succeed, a Choice's
    /// branch): `Output` defaults to the input.
    fn output_and_assign(
        &self,
        scope: &Scope<'_>,
        assign: Option<&Value>,
        output: Option<&Value>,
        prev: &mut u64,
    ) -> Result<(Value, Map<String, Value>), StatesError> {
        let assigned =
            evaluate_assign(assign, scope).map_err(|f| self.evaluation_failed(scope, f, prev))?;
        let output = match output {
            Some(template) => evaluate_template(template, "Output", scope)
                .map_err(|f| self.evaluation_failed(scope, f, prev))?,
            None => scope.result.unwrap_or(scope.input).clone(),
        };
        Ok((output, assigned))
    }

    /// Runs a state of any type in JSONata mode.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_state_jsonata(
        &self,
        entry: StateEntry<'_>,
        state: &State,
        raw: &Value,
        frame: &Frame,
        ctx: &ContextObject,
        prev: &mut u64,
        nested: Nested<'_>,
    ) -> Result<StateOutcome, StatesError> {
        let name = entry.name;
        match state {
            State::Pass(pass) => {
                let scope = self.scope(entry, raw, ctx, false);
                let (output, assigned) = self.output_and_assign(
                    &scope,
                    pass.assign.as_ref(),
                    pass.output.as_ref(),
                    prev,
                )?;
                Ok((self.exit(state, name, output, &assigned, prev)?, assigned))
            }
            State::Succeed(succeed) => {
                let scope = self.scope(entry, raw, ctx, false);
                let (output, _) =
                    self.output_and_assign(&scope, None, succeed.output.as_ref(), prev)?;
                Ok((
                    self.exit(state, name, output, &Map::new(), prev)?,
                    Map::new(),
                ))
            }
            State::Fail(fail) => {
                let scope = self.scope(entry, raw, ctx, false);
                let mut text = |field: &Option<String>, location: &str| match field {
                    Some(value) => evaluate_text(value, location, &scope)
                        .map_err(|f| self.evaluation_failed(&scope, f, prev)),
                    None => Ok(String::new()),
                };
                let error = text(&fail.error, "Error")?;
                let cause = text(&fail.cause, "Cause")?;
                Err(StatesError::new(error, cause))
            }
            State::Choice(choice) => {
                let scope = self.scope(entry, raw, ctx, false);
                let mut chosen = None;
                for rule in &choice.choices {
                    let Some(condition) = &rule.condition else {
                        continue;
                    };
                    let holds = evaluate_typed(condition, "Condition", "boolean", &scope)
                        .map_err(|f| self.evaluation_failed(&scope, f, prev))?;
                    if holds == Value::Bool(true) {
                        chosen = Some(rule);
                        break;
                    }
                }
                let (target, assign, output) = match chosen {
                    Some(rule) => (
                        rule.next.clone(),
                        rule.assign.as_ref(),
                        rule.output.as_ref(),
                    ),
                    None => (
                        choice.default.clone(),
                        choice.assign.as_ref(),
                        choice.output.as_ref(),
                    ),
                };
                let Some(target) = target else {
                    return Err(Self::runtime_in(entry, no_choice_matched(name)));
                };
                let (output, assigned) = self.output_and_assign(&scope, assign, output, prev)?;
                Ok(self.leave_choice(name, target, output, assigned, prev))
            }
            State::Wait(wait) => {
                let scope = self.scope(entry, raw, ctx, true);
                let until = if let Some(seconds) = &wait.seconds {
                    let value = evaluate_number(seconds, "Seconds", &scope)
                        .map_err(|f| self.evaluation_failed(&scope, f, prev))?;
                    let seconds = whole_seconds(value).ok_or_else(|| {
                        Self::runtime_in(
                            entry,
                            format!(
                                "The Seconds field must be a non-negative integer, but was {value}"
                            ),
                        )
                    })?;
                    deadline_after(Duration::from_secs(seconds))
                } else if let Some(timestamp) = &wait.timestamp {
                    let text = evaluate_text(timestamp, "Timestamp", &scope)
                        .map_err(|f| self.evaluation_failed(&scope, f, prev))?;
                    let Some(when) = parse_timestamp(&text) else {
                        let failure = QueryFailure {
                            error: StatesError::new(
                                names::QUERY_EVALUATION,
                                format!(
                                    "An error occurred while executing the state '{name}' (entered at the event id #{}). The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}",
                                    entry.entered_id
                                ),
                            ),
                            location: "Timestamp".into(),
                        };
                        return Err(self.evaluation_failed(&scope, failure, prev));
                    };
                    self.wait_until(when)
                        .map_err(|e| Self::runtime_in(entry, e.cause))?
                } else {
                    return Err(Self::runtime_in(
                        entry,
                        "a JSONata Wait state needs Seconds or Timestamp",
                    ));
                };
                tokio::time::sleep_until(until).await;
                let (output, assigned) = self.output_and_assign(
                    &scope,
                    wait.assign.as_ref(),
                    wait.output.as_ref(),
                    prev,
                )?;
                Ok((self.exit(state, name, output, &assigned, prev)?, assigned))
            }
            State::Task(_) | State::Parallel(_) | State::Map(_) => {
                self.run_with_retry(entry, state, raw, frame, prev, nested)
                    .await
            }
        }
    }

    /// One attempt of a Task, Parallel or Map in JSONata mode; the raw result (`$states.result`).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn attempt_jsonata(
        &self,
        entry: StateEntry<'_>,
        state: &State,
        raw: &Value,
        ctx: &ContextObject,
        default_jsonata: bool,
        prev: &mut u64,
        nested: Nested<'_>,
    ) -> Result<Value, StatesError> {
        let scope = self.scope(entry, raw, ctx, false);
        let arguments = |template: Option<&Value>, prev: &mut u64| match template {
            Some(template) => evaluate_template(template, "Arguments", &scope)
                .map_err(|f| self.evaluation_failed(&scope, f, prev)),
            None => Ok(raw.clone()),
        };
        match state {
            State::Task(task) => {
                // A callback integration's arguments read the token as
                // `$states.context.Task.Token`.
                let (token, callback) = self.task_token(entry.name, &task.resource);
                let token_ctx = token.map(|token| with_task_token(ctx, &token));
                let token_scope = token_ctx.as_ref().map(|context| Scope { context, ..scope });
                let scope = token_scope.unwrap_or(scope);
                let input = match task.arguments.as_ref() {
                    Some(template) => evaluate_template(template, "Arguments", &scope)
                        .map_err(|f| self.evaluation_failed(&scope, f, prev))?,
                    None => raw.clone(),
                };
                let mut seconds = |field: &Option<asl::model::NumberOrExpr>, location: &str| {
                    field
                        .as_ref()
                        .map(|value| {
                            let number = evaluate_number(value, location, &scope)
                                .map_err(|f| self.evaluation_failed(&scope, f, prev))?;
                            whole_seconds(number).filter(|s| *s > 0).ok_or_else(|| {
                                Self::runtime_in(
                                    entry,
                                    format!("The {location} field must be a positive integer, but was {number}"),
                                )
                            })
                        })
                        .transpose()
                };
                let timeout = seconds(&task.timeout_seconds, "TimeoutSeconds")?;
                let heartbeat = seconds(&task.heartbeat_seconds, "HeartbeatSeconds")?;
                self.run_task(
                    entry.name,
                    &task.resource,
                    input,
                    (timeout, heartbeat),
                    callback,
                    prev,
                )
                .await
            }
            State::Parallel(parallel) => {
                let input = arguments(parallel.arguments.as_ref(), prev)?;
                self.run_branches(
                    parallel,
                    input,
                    (&ctx.variables, default_jsonata),
                    prev,
                    nested,
                )
                .await
            }
            State::Map(map) => {
                let (inputs, limits) = self.map_inputs(entry, map, &scope, ctx, prev).await?;
                let Some(processor) = map.processor() else {
                    return Err(Self::runtime_in(entry, "a Map needs an ItemProcessor"));
                };
                self.run_iterations(
                    entry.name,
                    (&processor.states, processor.start_at.as_str()),
                    inputs,
                    limits,
                    (&ctx.variables, default_jsonata),
                    prev,
                    nested,
                )
                .await
            }
            _ => Err(Self::runtime_in(entry, "not a Task, Parallel or Map state")),
        }
    }

    /// A JSONata Map's items (`Items`, default: the input, which must then be an array), each
    /// through `ItemSelector`, and its concurrency and failure tolerance.
    async fn map_inputs(
        &self,
        entry: StateEntry<'_>,
        map: &MapState,
        scope: &Scope<'_>,
        ctx: &ContextObject,
        prev: &mut u64,
    ) -> Result<(Vec<Value>, MapLimits), StatesError> {
        let items = match (&map.item_reader, &map.items) {
            (Some(reader), _) => {
                let parameters = match &reader.arguments {
                    Some(template) => evaluate_template(template, "ItemReader/Arguments", scope)
                        .map_err(|f| self.evaluation_failed(scope, f, prev))?,
                    None => json!({}),
                };
                let config = reader.reader_config.as_ref();
                let max_items = match config.and_then(|c| c.get("MaxItems")) {
                    Some(field) => Some(
                        evaluate_typed(field, "ItemReader/ReaderConfig/MaxItems", "number", scope)
                            .map_err(|f| self.evaluation_failed(scope, f, prev))?
                            .as_f64()
                            .unwrap_or(0.0) as i64,
                    ),
                    None => None,
                };
                Value::Array(
                    self.read_items(&reader.resource, config, &parameters, max_items)
                        .await?,
                )
            }
            (None, Some(items)) => evaluate_typed(items, "Items", "array", scope)
                .map_err(|f| self.evaluation_failed(scope, f, prev))?,
            (None, None) => scope.input.clone(),
        };
        let Value::Array(items) = items else {
            let failure = QueryFailure {
                error: StatesError::new(
                    names::QUERY_EVALUATION,
                    format!(
                        "An error occurred while executing the state '{}' (entered at the event id #{}). Map state input must be an array but was: {}",
                        entry.name,
                        entry.entered_id,
                        compact(&items)
                    ),
                ),
                location: "Items".into(),
            };
            return Err(self.evaluation_failed(scope, failure, prev));
        };
        let mut number = |field: &Option<asl::model::NumberOrExpr>, location: &str| {
            field
                .as_ref()
                .map(|value| {
                    evaluate_number(value, location, scope)
                        .map_err(|f| self.evaluation_failed(scope, f, prev))
                })
                .transpose()
        };
        let concurrency = number(&map.max_concurrency, "MaxConcurrency")?;
        let (max_items, max_bytes) = match &map.item_batcher {
            Some(batcher) => (
                number(&batcher.max_items_per_batch, "ItemBatcher/MaxItemsPerBatch")?,
                number(
                    &batcher.max_input_bytes_per_batch,
                    "ItemBatcher/MaxInputBytesPerBatch",
                )?,
            ),
            None => (None, None),
        };
        let tolerated_count = number(&map.tolerated_failure_count, "ToleratedFailureCount")?;
        let tolerated_percentage = number(
            &map.tolerated_failure_percentage,
            "ToleratedFailurePercentage",
        )?;
        let concurrency = concurrency
            .map_or(Ok(0), max_concurrency)
            .map_err(|cause| Self::runtime_in(entry, cause))?;
        check_tolerance(tolerated_count, tolerated_percentage)
            .map_err(|cause| Self::runtime_in(entry, cause))?;
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let input = match &map.item_selector {
                Some(selector) => {
                    let item_ctx = ctx.with_map(json!({"Item": {"Index": index, "Value": item}}));
                    let item_scope = Scope {
                        context: &item_ctx,
                        ..*scope
                    };
                    evaluate_template(selector, "ItemSelector", &item_scope)
                        .map_err(|f| self.evaluation_failed(&item_scope, f, prev))?
                }
                None => item,
            };
            inputs.push(input);
        }
        if let Some(batcher) = &map.item_batcher {
            let batch_input = match &batcher.batch_input {
                Some(template) => Some(
                    evaluate_template(template, "ItemBatcher/BatchInput", scope)
                        .map_err(|f| self.evaluation_failed(scope, f, prev))?,
                ),
                None => None,
            };
            inputs = batches(inputs, max_items, max_bytes, batch_input.as_ref());
        }
        Ok((
            inputs,
            MapLimits {
                concurrency,
                tolerated_count,
                tolerated_percentage,
            },
        ))
    }

    /// After a successful attempt: `Output` (default `$states.result`) and `Assign`, both with
    /// `$states.result`.
    pub(super) fn finish_jsonata(
        &self,
        entry: StateEntry<'_>,
        state: &State,
        raw: &Value,
        ctx: &ContextObject,
        result: &Value,
        prev: &mut u64,
    ) -> Result<StateOutcome, StatesError> {
        let base = self.scope(entry, raw, ctx, false);
        let scope = base.with_result(result);
        let (assign, output) = assign_and_output(state);
        let (output, assigned) = self.output_and_assign(&scope, assign, output, prev)?;
        Ok((
            self.exit(state, entry.name, output, &assigned, prev)?,
            assigned,
        ))
    }

    /// A caught error: the catcher's `Output` (default `$states.errorOutput`) and `Assign`, both
    /// with `$states.errorOutput`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn catch_jsonata(
        &self,
        entry: StateEntry<'_>,
        state: &State,
        catcher: &Catcher,
        raw: &Value,
        ctx: &ContextObject,
        error: &StatesError,
        prev: &mut u64,
    ) -> Result<StateOutcome, StatesError> {
        let error_output = error.to_value();
        let base = self.scope(entry, raw, ctx, false);
        let scope = base.with_error_output(&error_output);
        let assigned = evaluate_assign(catcher.assign.as_ref(), &scope)
            .map_err(|f| self.evaluation_failed(&scope, f, prev))?;
        let output = match &catcher.output {
            Some(template) => evaluate_template(template, "Output", &scope)
                .map_err(|f| self.evaluation_failed(&scope, f, prev))?,
            None => error_output.clone(),
        };
        self.record(
            exited_type(state),
            prev,
            Some(exited_details(entry.name, compact(&output), &assigned)),
        );
        Ok((Step::Next(catcher.next.clone(), output), assigned))
    }
}
