//! Waiting for a task token: the signals of an activity worker (GetActivityTask, then
//! SendTaskSuccess/Failure/Heartbeat) and the callback pattern of service integrations
//! (`….waitForTaskToken`: the integration is called with `$$.Task.Token` in its parameters, the
//! state then waits until someone calls SendTaskSuccess or SendTaskFailure with that token).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::paths::ContextObject;
use super::{DEFAULT_TASK_TIMEOUT_SECS, Runner, compact};
use crate::activity::{ScheduledTask, TaskSignal};
use crate::clock::deadline_after;
use crate::error::{StatesError, names};
use crate::history::{EventType, not_truncated};
use crate::resources::{ResourceKind, unsupported};

/// The suffix of a service integration that waits for a task token (AWS: "Wait for a
/// Callback with Task Token").
pub const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";

/// The history events a token's outcome is recorded as.
#[derive(Debug)]
pub struct SignalEvents {
    started: Option<EventType>,
    succeeded: EventType,
    failed: EventType,
    timed_out: EventType,
}

impl SignalEvents {
    /// An activity task: `ActivityStarted` when a worker takes it, then `Activity*`.
    pub const ACTIVITY: Self = Self {
        started: Some(EventType::ActivityStarted),
        succeeded: EventType::ActivitySucceeded,
        failed: EventType::ActivityFailed,
        timed_out: EventType::ActivityTimedOut,
    };

    /// A callback integration: `Task*` events carrying the resource.
    const CALLBACK: Self = Self {
        started: None,
        succeeded: EventType::TaskSucceeded,
        failed: EventType::TaskFailed,
        timed_out: EventType::TaskTimedOut,
    };
}

/// A `.waitForTaskToken` resource split into the integration it calls.
pub fn callback_base(resource: &str) -> Option<&str> {
    resource.strip_suffix(WAIT_FOR_TASK_TOKEN)
}

/// The `resourceType` and `resource` AWS writes in `Task*` events: for an integration
/// `arn:aws:states:::lambda:invoke.waitForTaskToken` they are `lambda` and
/// `invoke.waitForTaskToken`; any other ARN keeps its service and the whole ARN.
pub fn resource_names(resource: &str) -> (String, String) {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", service, action] if !service.is_empty() => {
            ((*service).to_owned(), (*action).to_owned())
        }
        [_, _, service, ..] => ((*service).to_owned(), resource.to_owned()),
        _ => ("custom".to_owned(), resource.to_owned()),
    }
}

/// The context with `$$.Task.Token` set.
pub fn with_task_token(ctx: &ContextObject, token: &str) -> ContextObject {
    ContextObject::new(
        Arc::clone(&ctx.base),
        ctx.state.clone(),
        ctx.map.clone(),
        Some(json!({"Token": token})),
    )
    .with_variables(Arc::clone(&ctx.variables))
}

/// Adds the resource fields AWS puts in every `Task*` event.
fn with_resource(mut details: Value, resource: Option<(&str, &str)>) -> Value {
    if let (Some((resource_type, resource)), Value::Object(map)) = (resource, &mut details) {
        map.insert("resourceType".into(), json!(resource_type));
        map.insert("resource".into(), json!(resource));
    }
    details
}

impl Runner {
    /// The token a Task state's parameters read as `$$.Task.Token` (callback and `.sync`
    /// integrations; AWS recorded a `.sync` task passing it on), and the open callback slot when
    /// the state waits for it: a `.waitForTaskToken` resource that is not mocked (a mocked state
    /// calls nothing, so nobody could answer).
    pub(super) fn task_token(
        &self,
        name: &str,
        resource: &str,
    ) -> (Option<String>, Option<ScheduledTask>) {
        let mocked = self.mocks.as_ref().is_some_and(|m| m.is_mocked(name));
        if callback_base(resource).is_some() && !mocked {
            let task = self.activities.open_callback(&self.exec.arn);
            return (Some(task.token.clone()), Some(task));
        }
        let waits = callback_base(resource).is_some() || resource.contains(".sync");
        (waits.then(crate::activity::new_token), None)
    }

    /// Waits for the outcome of `task` under its timeout and heartbeat, recording it with
    /// `events` (and `resource` = (resourceType, resource) for `Task*` events).
    pub(super) async fn wait_for_signals(
        &self,
        mut task: ScheduledTask,
        timeout: u64,
        heartbeat: Option<u64>,
        events: &SignalEvents,
        resource: Option<(&str, &str)>,
        prev: &mut u64,
    ) -> Result<Value, StatesError> {
        let hard = deadline_after(Duration::from_secs(timeout));
        // A callback is running as soon as it is submitted; an activity once a worker took it.
        let mut heartbeat_deadline = match events.started {
            Some(_) => None,
            None => heartbeat.map(|h| deadline_after(Duration::from_secs(h))),
        };
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
                        if let Some(started) = events.started {
                            self.record(started, prev, Some(json!({"workerName": worker_name})));
                        }
                        heartbeat_deadline = heartbeat.map(|h| deadline_after(Duration::from_secs(h)));
                    }
                    Some(TaskSignal::Heartbeat) => {
                        heartbeat_deadline = heartbeat.map(|h| deadline_after(Duration::from_secs(h)));
                    }
                    Some(TaskSignal::Succeeded { output }) => {
                        self.record(events.succeeded, prev, Some(with_resource(json!({"output": output, "outputDetails": not_truncated()}), resource)));
                        return serde_json::from_str(&output).map_err(|e| StatesError::runtime(format!("the task output is not JSON: {e}")));
                    }
                    Some(TaskSignal::Failed { error, cause }) => {
                        self.record(events.failed, prev, Some(with_resource(json!({"error": error, "cause": cause}), resource)));
                        return Err(StatesError::new(error, cause));
                    }
                    None => return Err(StatesError::runtime("the task token was lost")),
                },
                () = tokio::time::sleep_until(hard) => {
                    task.close();
                    self.record(events.timed_out, prev, Some(with_resource(json!({"error": names::TIMEOUT, "cause": ""}), resource)));
                    return Err(StatesError::new(names::TIMEOUT, ""));
                }
                () = heartbeat_expired => {
                    task.close();
                    self.record(events.timed_out, prev, Some(with_resource(json!({"error": names::HEARTBEAT_TIMEOUT, "cause": ""}), resource)));
                    return Err(StatesError::new(names::HEARTBEAT_TIMEOUT, ""));
                }
            }
        }
    }

    /// Runs a `.waitForTaskToken` integration: calls `base` with `input` (which carries the
    /// token where the definition put `$$.Task.Token`), records `TaskSubmitted` with its
    /// response, then waits for SendTaskSuccess / SendTaskFailure on `task`'s token.
    pub(super) async fn run_callback(
        &self,
        resource: &str,
        input: Value,
        task: ScheduledTask,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        prev: &mut u64,
    ) -> Result<Value, StatesError> {
        let base = callback_base(resource).unwrap_or(resource);
        let (service, short) = resource_names(resource);
        let mut details = json!({"resourceType": service, "resource": short, "region": self.region, "parameters": compact(&input)});
        if let (Some(t), Value::Object(map)) = (timeout, &mut details) {
            map.insert("timeoutInSeconds".into(), json!(t));
        }
        if let (Some(h), Value::Object(map)) = (heartbeat, &mut details) {
            map.insert("heartbeatInSeconds".into(), json!(h));
        }
        self.record(EventType::TaskScheduled, prev, Some(details));
        self.record(
            EventType::TaskStarted,
            prev,
            Some(json!({"resourceType": service, "resource": short})),
        );
        let submitted = match self.resources.classify(base) {
            ResourceKind::DynamoDb(action) => self.resources.dynamodb(action, &input).await,
            ResourceKind::Custom => match self.resources.handlers.get(base) {
                Some(handler) => handler.invoke(base, input).await,
                None => Err(unsupported(resource)),
            },
            ResourceKind::Activity | ResourceKind::Unsupported => Err(unsupported(resource)),
        };
        let response = match submitted {
            Ok(response) => response,
            Err(e) => {
                self.record(
                    EventType::TaskFailed,
                    prev,
                    Some(json!({"resourceType": service, "resource": short, "error": e.error, "cause": e.cause})),
                );
                return Err(e);
            }
        };
        self.record(
            EventType::TaskSubmitted,
            prev,
            Some(json!({"resourceType": service, "resource": short, "output": compact(&response), "outputDetails": not_truncated()})),
        );
        self.wait_for_signals(
            task,
            timeout.unwrap_or(DEFAULT_TASK_TIMEOUT_SECS),
            heartbeat,
            &SignalEvents::CALLBACK,
            Some((&service, &short)),
            prev,
        )
        .await
    }
}
