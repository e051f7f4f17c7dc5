//! The API actions: request JSON in, response JSON out, with AWS's member names and error codes.

use serde_json::{Map, Value, json};

use crate::activity::LONG_POLL;
use crate::clock::epoch_seconds;
use crate::engine::{Engine, MachineRecord};
use crate::error::ApiError;
use crate::execution::Execution;

/// Default page size of List* actions (AWS: 100 when maxResults is absent or 0).
const DEFAULT_PAGE: usize = 100;
/// AWS limit: maxResults is at most 1000.
const MAX_PAGE: u64 = 1000;
/// AWS limit: a nextToken is at most 1024 characters.
const MAX_TOKEN_LEN: usize = 1024;

/// A member of the wrong JSON type: AWS's JSON protocol refuses it before validation.
pub(super) fn wrong_type(field: &str, expected: &str) -> ApiError {
    ApiError::new(
        "SerializationException",
        format!("the value of '{field}' must be {expected}"),
    )
}

pub(super) fn required<'a>(request: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    optional(request, field)?.ok_or_else(|| ApiError::validation(format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")))
}

pub(super) fn optional<'a>(request: &'a Value, field: &str) -> Result<Option<&'a str>, ApiError> {
    match request.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(wrong_type(field, "a string")),
    }
}

pub(super) fn optional_bool(request: &Value, field: &str) -> Result<Option<bool>, ApiError> {
    match request.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(wrong_type(field, "a boolean")),
    }
}

/// `maxResults`: an integer from 0 to 1000, 0 or absent meaning the default.
fn page_size(request: &Value) -> Result<usize, ApiError> {
    max_results(request, DEFAULT_PAGE as u64, MAX_PAGE)
}

/// `maxResults`: an integer from 0 to `max`; 0 or absent mean `default`.
pub(super) fn max_results(request: &Value, default: u64, max: u64) -> Result<usize, ApiError> {
    let n = match request.get("maxResults") {
        None | Some(Value::Null) => return Ok(default as usize),
        Some(Value::Number(n)) => n,
        Some(_) => return Err(wrong_type("maxResults", "an integer")),
    };
    let out_of_range = |constraint: &str| {
        ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value {constraint}"
        ))
    };
    let too_large = format!("less than or equal to {max}");
    match (n.as_u64(), n.as_i64()) {
        (Some(0), _) => Ok(default as usize),
        (Some(size), _) if size <= max => {
            usize::try_from(size).map_err(|_| out_of_range(&too_large))
        }
        (Some(_), _) => Err(out_of_range(&too_large)),
        (None, Some(_)) => Err(out_of_range("greater than or equal to 0")),
        (None, None) => Err(wrong_type("maxResults", "an integer")),
    }
}

/// `nextToken`: the offset of the next page, as this engine issued it (decimal, no sign or
/// leading zeros), not beyond the end of the list.
fn page_start(request: &Value, len: usize) -> Result<usize, ApiError> {
    let Some(token) = optional(request, "nextToken")? else {
        return Ok(0);
    };
    if token.chars().count() > MAX_TOKEN_LEN {
        return Err(ApiError::validation(
            "1 validation error detected: Value at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 1024",
        ));
    }
    let invalid = || ApiError::new("InvalidToken", format!("Invalid Token: '{token}'"));
    let canonical = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    if !canonical {
        return Err(invalid());
    }
    let start: usize = token.parse().map_err(|_| invalid())?;
    if start > len {
        return Err(invalid());
    }
    Ok(start)
}

/// Applies maxResults / nextToken to a list (the token is the next offset).
fn page<T: Clone>(request: &Value, items: &[T]) -> Result<(Vec<T>, Option<String>), ApiError> {
    let size = page_size(request)?;
    let start = page_start(request, items.len())?;
    let end = start.saturating_add(size).min(items.len());
    let slice = items.get(start..end).map(<[T]>::to_vec).unwrap_or_default();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((slice, next))
}

fn with_next(mut body: Map<String, Value>, next: Option<String>) -> Value {
    if let Some(token) = next {
        body.insert("nextToken".into(), json!(token));
    }
    Value::Object(body)
}

fn machine_summary(m: &MachineRecord) -> Value {
    json!({"stateMachineArn": m.arn, "name": m.name, "type": m.machine_type, "creationDate": epoch_seconds(m.creation_date)})
}

fn execution_summary(e: &Execution) -> Value {
    let state = e.lock();
    let mut body = json!({
        "executionArn": e.arn, "stateMachineArn": e.machine_arn, "name": e.name,
        "status": state.status.as_str(), "startDate": epoch_seconds(e.start_date),
        "redriveCount": state.redrive_count,
    });
    if let Value::Object(map) = &mut body {
        if let Some(stop) = state.stop_date {
            map.insert("stopDate".into(), epoch_seconds(stop));
        }
        if let Some(date) = state.redrive_date {
            map.insert("redriveDate".into(), epoch_seconds(date));
        }
    }
    body
}

/// ListExecutions' `redriveFilter`: `REDRIVEN` or `NOT_REDRIVEN` (`None`: both).
fn redrive_filter(request: &Value) -> Result<Option<bool>, ApiError> {
    match optional(request, "redriveFilter")? {
        None => Ok(None),
        Some("REDRIVEN") => Ok(Some(true)),
        Some("NOT_REDRIVEN") => Ok(Some(false)),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'redriveFilter' failed to satisfy constraint: Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]"
        ))),
    }
}

/// Runs one action. Unknown actions are `UnknownOperationException`.
pub async fn dispatch(engine: &Engine, action: &str, request: &Value) -> Result<Value, ApiError> {
    match action {
        "CreateStateMachine" => {
            let m = engine.create_state_machine(
                required(request, "name")?,
                required(request, "definition")?,
                required(request, "roleArn")?,
                optional(request, "type")?,
            )?;
            Ok(json!({"stateMachineArn": m.arn, "creationDate": epoch_seconds(m.creation_date)}))
        }
        "DescribeStateMachine" => {
            let m = engine.describe_state_machine(required(request, "stateMachineArn")?)?;
            Ok(json!({
                "stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE", "definition": m.definition,
                "roleArn": m.role_arn, "type": m.machine_type, "creationDate": epoch_seconds(m.creation_date),
                "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
                "tracingConfiguration": {"enabled": false},
            }))
        }
        "UpdateStateMachine" => {
            let date = engine.update_state_machine(
                required(request, "stateMachineArn")?,
                optional(request, "definition")?,
                optional(request, "roleArn")?,
            )?;
            Ok(json!({"updateDate": epoch_seconds(date)}))
        }
        "ListStateMachines" => {
            let all: Vec<Value> = engine
                .list_state_machines()
                .iter()
                .map(machine_summary)
                .collect();
            let (items, next) = page(request, &all)?;
            let mut body = Map::new();
            body.insert("stateMachines".into(), Value::Array(items));
            Ok(with_next(body, next))
        }
        "DeleteStateMachine" => {
            engine.delete_state_machine(required(request, "stateMachineArn")?);
            Ok(json!({}))
        }
        "StartExecution" => {
            let e = engine.start_execution(
                required(request, "stateMachineArn")?,
                optional(request, "name")?,
                optional(request, "input")?,
            )?;
            Ok(json!({"executionArn": e.arn, "startDate": epoch_seconds(e.start_date)}))
        }
        "DescribeExecution" => {
            let e = engine.describe_execution(required(request, "executionArn")?)?;
            let mut body = execution_summary(&e);
            let state = e.lock();
            if let Value::Object(map) = &mut body {
                map.insert("input".into(), json!(e.input));
                map.insert("inputDetails".into(), json!({"included": true}));
                if let Some(output) = &state.output {
                    map.insert("output".into(), json!(output));
                    map.insert("outputDetails".into(), json!({"included": true}));
                }
                if let Some(error) = &state.error {
                    map.insert("error".into(), json!(error));
                }
                if let Some(cause) = &state.cause {
                    map.insert("cause".into(), json!(cause));
                }
                match state.not_redrivable() {
                    Some(reason) => {
                        map.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
                        map.insert("redriveStatusReason".into(), json!(reason));
                    }
                    None => {
                        map.insert("redriveStatus".into(), json!("REDRIVABLE"));
                    }
                }
            }
            Ok(body)
        }
        "ListExecutions" => {
            let filter = optional(request, "statusFilter")?;
            if let Some(f) = filter
                && ![
                    "RUNNING",
                    "SUCCEEDED",
                    "FAILED",
                    "TIMED_OUT",
                    "ABORTED",
                    "PENDING_REDRIVE",
                ]
                .contains(&f)
            {
                return Err(ApiError::validation(format!("invalid statusFilter '{f}'")));
            }
            let redriven = redrive_filter(request)?;
            let all: Vec<Value> = engine
                .list_executions(required(request, "stateMachineArn")?, filter)?
                .iter()
                .filter(|e| redriven.is_none_or(|r| (e.lock().redrive_count > 0) == r))
                .map(|e| execution_summary(e))
                .collect();
            let (items, next) = page(request, &all)?;
            let mut body = Map::new();
            body.insert("executions".into(), Value::Array(items));
            Ok(with_next(body, next))
        }
        "GetExecutionHistory" => {
            let include = optional_bool(request, "includeExecutionData")?.unwrap_or(true);
            let reverse = optional_bool(request, "reverseOrder")?.unwrap_or(false);
            let mut events: Vec<Value> = engine
                .history(required(request, "executionArn")?)?
                .iter()
                .map(|e| e.to_json(include))
                .collect();
            if reverse {
                events.reverse();
            }
            let (items, next) = page(request, &events)?;
            let mut body = Map::new();
            body.insert("events".into(), Value::Array(items));
            Ok(with_next(body, next))
        }
        "StopExecution" => {
            let date = engine.stop_execution(
                required(request, "executionArn")?,
                optional(request, "error")?,
                optional(request, "cause")?,
            )?;
            Ok(json!({"stopDate": epoch_seconds(date)}))
        }
        "RedriveExecution" => {
            // `clientToken` (1-64 characters) is accepted; a repeated call finds the execution
            // RUNNING and is refused, where AWS answers the last 10 tokens idempotently.
            let token = optional(request, "clientToken")?;
            if token.is_some_and(|t| !(1..=64).contains(&t.chars().count())) {
                return Err(ApiError::validation(
                    "1 validation error detected: Value at 'clientToken' failed to satisfy constraint: Member must have length between 1 and 64",
                ));
            }
            let date = engine
                .redrive_execution(required(request, "executionArn")?)
                .await?;
            Ok(json!({"redriveDate": epoch_seconds(date)}))
        }
        "CreateActivity" => {
            let a = engine.create_activity(required(request, "name")?)?;
            Ok(json!({"activityArn": a.arn, "creationDate": epoch_seconds(a.creation_date)}))
        }
        "DescribeActivity" => {
            let a = engine
                .activities()
                .describe(required(request, "activityArn")?)?;
            Ok(
                json!({"activityArn": a.arn, "name": a.name, "creationDate": epoch_seconds(a.creation_date)}),
            )
        }
        "ListActivities" => {
            let all: Vec<Value> = engine
                .activities()
                .list()
                .iter()
                .map(|a| json!({"activityArn": a.arn, "name": a.name, "creationDate": epoch_seconds(a.creation_date)}))
                .collect();
            let (items, next) = page(request, &all)?;
            let mut body = Map::new();
            body.insert("activities".into(), Value::Array(items));
            Ok(with_next(body, next))
        }
        "DeleteActivity" => {
            engine
                .activities()
                .delete(required(request, "activityArn")?);
            Ok(json!({}))
        }
        "GetActivityTask" => {
            let arn = required(request, "activityArn")?;
            let worker = optional(request, "workerName")?.unwrap_or("");
            match engine.activities().poll(arn, worker, LONG_POLL).await? {
                Some((token, input)) => Ok(json!({"taskToken": token, "input": input})),
                None => Ok(json!({})),
            }
        }
        "SendTaskSuccess" => {
            engine.activities().send_success(
                required(request, "taskToken")?,
                required(request, "output")?,
            )?;
            Ok(json!({}))
        }
        "SendTaskFailure" => {
            engine.activities().send_failure(
                required(request, "taskToken")?,
                optional(request, "error")?.unwrap_or(""),
                optional(request, "cause")?.unwrap_or(""),
            )?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            engine
                .activities()
                .send_heartbeat(required(request, "taskToken")?)?;
            Ok(json!({}))
        }
        "ValidateStateMachineDefinition" => {
            super::validate::validate_state_machine_definition(request)
        }
        "TestState" => super::test_state::test_state(engine, request).await,
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("the local engine does not implement AWSStepFunctions.{other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;

    fn items(n: usize) -> Vec<usize> {
        (0..n).collect()
    }

    fn code(result: Result<(Vec<usize>, Option<String>), ApiError>) -> &'static str {
        result.expect_err("the request is refused").code
    }

    #[test]
    fn pages_follow_each_other_to_the_end_of_the_list() {
        let all = items(250);
        let (first, next) = page(&json!({}), &all).expect("first page");
        assert_eq!((first.len(), next.as_deref()), (100, Some("100")));
        let (second, next) = page(&json!({"nextToken": "100"}), &all).expect("second page");
        assert_eq!((second[0], next.as_deref()), (100, Some("200")));
        let (last, next) = page(&json!({"nextToken": "200"}), &all).expect("last page");
        assert_eq!((last.len(), next), (50, None));
    }

    #[test]
    fn a_token_at_the_end_of_a_list_that_shrank_gives_an_empty_page() {
        let (page_items, next) = page(&json!({"nextToken": "3"}), &items(3)).expect("page");
        assert!(page_items.is_empty());
        assert_eq!(next, None);
    }

    #[test]
    fn an_overflowing_next_token_is_an_invalid_token() {
        let request = json!({"nextToken": "18446744073709551615", "maxResults": 1000});
        let error = page(&request, &items(3)).expect_err("refused");
        assert_eq!(error.code, "InvalidToken");
        assert_eq!(error.message, "Invalid Token: '18446744073709551615'");
    }

    #[test]
    fn a_token_beyond_the_list_or_malformed_is_an_invalid_token() {
        for token in [
            "4",
            "99999999999999999999999",
            "abc",
            "-1",
            "+1",
            "01",
            "",
            "1.5",
            " 1",
        ] {
            assert_eq!(
                code(page(&json!({"nextToken": token}), &items(3))),
                "InvalidToken",
                "{token:?}"
            );
        }
    }

    #[test]
    fn a_token_longer_than_1024_characters_is_a_validation_error() {
        let token = "1".repeat(1025);
        assert_eq!(
            code(page(&json!({"nextToken": token}), &items(3))),
            "ValidationException"
        );
    }

    #[test]
    fn max_results_outside_0_to_1000_is_a_validation_error() {
        for n in [json!(-1), json!(1001), json!(u64::MAX), json!(i64::MIN)] {
            assert_eq!(
                code(page(&json!({"maxResults": n}), &items(3))),
                "ValidationException",
                "{n}"
            );
        }
    }

    #[test]
    fn max_results_that_is_not_an_integer_is_a_serialization_error() {
        for n in [
            json!("5"),
            json!(2.5),
            json!(1e300),
            json!(true),
            json!([5]),
        ] {
            assert_eq!(
                code(page(&json!({"maxResults": n}), &items(3))),
                "SerializationException",
                "{n}"
            );
        }
    }

    #[test]
    fn max_results_of_0_or_absent_is_the_default_page_and_1000_the_largest() {
        let all = items(1500);
        for request in [
            json!({}),
            json!({"maxResults": 0}),
            json!({"maxResults": null}),
        ] {
            assert_eq!(
                page(&request, &all).expect("page").0.len(),
                100,
                "{request}"
            );
        }
        let (largest, _) = page(&json!({"maxResults": 1000}), &all).expect("page");
        assert_eq!(largest.len(), 1000);
    }

    #[tokio::test]
    async fn members_of_the_wrong_type_are_serialization_errors() {
        let engine = Engine::new(EngineConfig::default());
        for (action, request) in [
            ("ListExecutions", json!({"stateMachineArn": 5})),
            (
                "StartExecution",
                json!({"stateMachineArn": "a", "input": {"x": 1}}),
            ),
            (
                "GetExecutionHistory",
                json!({"executionArn": "a", "reverseOrder": "yes"}),
            ),
            ("SendTaskFailure", json!({"taskToken": "t", "error": ["e"]})),
        ] {
            let error = dispatch(&engine, action, &request)
                .await
                .expect_err("refused");
            assert_eq!(error.code, "SerializationException", "{action} {request}");
        }
    }
}
