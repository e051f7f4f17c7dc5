//! The API actions: request JSON in, response JSON out, with AWS's member names and error codes.

use serde_json::{Map, Value, json};

use crate::activity::LONG_POLL;
use crate::clock::epoch_seconds;
use crate::engine::{Engine, MachineRecord};
use crate::error::ApiError;
use crate::execution::Execution;

/// Default and maximum page size of List* actions (AWS: maxResults up to 1000, default 100).
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

fn required<'a>(request: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    request
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation(format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")))
}

fn optional<'a>(request: &'a Value, field: &str) -> Option<&'a str> {
    request.get(field).and_then(Value::as_str)
}

/// Applies maxResults / nextToken to a list (the token is the next offset).
fn page<T: Clone>(request: &Value, items: &[T]) -> Result<(Vec<T>, Option<String>), ApiError> {
    let size = request
        .get("maxResults")
        .and_then(Value::as_u64)
        .map_or(
            DEFAULT_PAGE,
            |n| if n == 0 { DEFAULT_PAGE } else { n as usize },
        )
        .min(MAX_PAGE);
    let start = match optional(request, "nextToken") {
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiError::new("InvalidToken", "Invalid nextToken"))?,
        None => 0,
    };
    let end = (start + size).min(items.len());
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
    });
    if let (Some(stop), Value::Object(map)) = (state.stop_date, &mut body) {
        map.insert("stopDate".into(), epoch_seconds(stop));
    }
    body
}

/// Runs one action. Unknown actions are `UnknownOperationException`.
pub async fn dispatch(engine: &Engine, action: &str, request: &Value) -> Result<Value, ApiError> {
    match action {
        "CreateStateMachine" => {
            let m = engine.create_state_machine(
                required(request, "name")?,
                required(request, "definition")?,
                required(request, "roleArn")?,
                optional(request, "type"),
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
                optional(request, "definition"),
                optional(request, "roleArn"),
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
                optional(request, "name"),
                optional(request, "input"),
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
                map.insert("redriveCount".into(), json!(0));
                map.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
            }
            Ok(body)
        }
        "ListExecutions" => {
            let filter = optional(request, "statusFilter");
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
            let all: Vec<Value> = engine
                .list_executions(required(request, "stateMachineArn")?, filter)?
                .iter()
                .map(|e| execution_summary(e))
                .collect();
            let (items, next) = page(request, &all)?;
            let mut body = Map::new();
            body.insert("executions".into(), Value::Array(items));
            Ok(with_next(body, next))
        }
        "GetExecutionHistory" => {
            let include = request
                .get("includeExecutionData")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let mut events: Vec<Value> = engine
                .history(required(request, "executionArn")?)?
                .iter()
                .map(|e| e.to_json(include))
                .collect();
            if request.get("reverseOrder").and_then(Value::as_bool) == Some(true) {
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
                optional(request, "error"),
                optional(request, "cause"),
            )?;
            Ok(json!({"stopDate": epoch_seconds(date)}))
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
            let worker = optional(request, "workerName").unwrap_or("");
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
                optional(request, "error").unwrap_or(""),
                optional(request, "cause").unwrap_or(""),
            )?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            engine
                .activities()
                .send_heartbeat(required(request, "taskToken")?)?;
            Ok(json!({}))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("the local engine does not implement AWSStepFunctions.{other}"),
        )),
    }
}
