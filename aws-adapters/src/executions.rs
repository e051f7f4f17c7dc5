//! Step Functions executions as an operator sees them: one execution described by name, the
//! trail of its history (states entered, failures), a start with a [`ProcessingInput`] (a
//! reprocessing run that may resume at a later stage) and `RedriveExecution`.
//!
//! Kept apart from [`crate::SfnWorkflowStarter`], which the Lambdas use: these calls are made by
//! the `recorder` command, with the operator's credentials.

use std::fmt;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::redrive_execution::RedriveExecutionError;
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use chrono::{DateTime, Utc};
use meeting_domain::PortError;
use meeting_domain::contracts::ProcessingInput;
use meeting_domain::ports::StartOutcome;

use crate::error::{from_sdk, service};

/// Most history events read for one trail: `GetExecutionHistory` returns at most 1,000 per page;
/// the newest page holds the failure and the states that led to it.
const MAX_TRAIL_EVENTS: i32 = 1000;

/// What `DescribeExecution` says about one execution.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInfo {
    /// The execution ARN.
    pub arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` or `PENDING_REDRIVE`.
    pub status: String,
    /// When it started.
    pub start_date: Option<DateTime<Utc>>,
    /// When it stopped, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<DateTime<Utc>>,
    /// The error it failed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause it failed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// How often it was redriven.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_count: Option<i32>,
    /// `REDRIVABLE`, `NOT_REDRIVABLE`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_status: Option<String>,
}

/// One history event reduced to what an operator reads: its type, the state it entered, and
/// the error and cause of a failure.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailEvent {
    /// The history event type (`TaskStateEntered`, `ActivityFailed`, `ExecutionFailed`, …).
    pub kind: String,
    /// The state entered, for `…StateEntered` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The error of a failure event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause of a failure event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Executions of one state machine.
#[derive(Clone)]
pub struct SfnExecutions {
    client: Client,
    state_machine_arn: String,
}

impl fmt::Debug for SfnExecutions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SfnExecutions")
            .field("state_machine_arn", &self.state_machine_arn)
            .finish_non_exhaustive()
    }
}

fn to_chrono(date: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(date.secs(), date.subsec_nanos())
}

/// The ARN of execution `name` of `state_machine_arn`
/// (`arn:…:stateMachine:{machine}` → `arn:…:execution:{machine}:{name}`).
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

fn trail_event(event: &HistoryEvent) -> TrailEvent {
    let kind = event.r#type().as_str().to_owned();
    let state = event
        .state_entered_event_details()
        .map(|d| d.name().to_owned());
    let failure: Option<(Option<&str>, Option<&str>)> = match event.r#type() {
        HistoryEventType::ActivityFailed => event
            .activity_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        HistoryEventType::ActivityTimedOut => event
            .activity_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
        HistoryEventType::TaskFailed => event
            .task_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        HistoryEventType::TaskTimedOut => event
            .task_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
        HistoryEventType::ExecutionFailed => event
            .execution_failed_event_details()
            .map(|d| (d.error(), d.cause())),
        HistoryEventType::ExecutionTimedOut => event
            .execution_timed_out_event_details()
            .map(|d| (d.error(), d.cause())),
        HistoryEventType::ExecutionAborted => event
            .execution_aborted_event_details()
            .map(|d| (d.error(), d.cause())),
        _ => None,
    };
    let (error, cause) = failure.unwrap_or((None, None));
    TrailEvent {
        kind,
        state,
        error: error.map(str::to_owned),
        cause: cause.map(str::to_owned),
    }
}

impl SfnExecutions {
    /// Executions of `state_machine_arn`.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The state machine.
    pub fn state_machine_arn(&self) -> &str {
        &self.state_machine_arn
    }

    /// The ARN of execution `name`.
    pub fn arn(&self, name: &str) -> String {
        execution_arn(&self.state_machine_arn, name)
    }

    /// `DescribeExecution` of execution `name`; `None` when it does not exist.
    pub async fn describe(&self, name: &str) -> Result<Option<ExecutionInfo>, PortError> {
        let arn = self.arn(name);
        let output = match self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => {
                return match err.as_service_error() {
                    Some(DescribeExecutionError::ExecutionDoesNotExist(_)) => Ok(None),
                    _ => Err(from_sdk(service::SFN, err)),
                };
            }
        };
        Ok(Some(ExecutionInfo {
            arn,
            status: output.status().as_str().to_owned(),
            start_date: to_chrono(output.start_date()),
            stop_date: output.stop_date().and_then(to_chrono),
            error: output.error().map(str::to_owned),
            cause: output.cause().map(str::to_owned),
            redrive_count: output.redrive_count(),
            redrive_status: output.redrive_status().map(|s| s.as_str().to_owned()),
        }))
    }

    /// The newest events of execution `name`'s history (up to 1,000), oldest first.
    pub async fn trail(&self, name: &str) -> Result<Vec<TrailEvent>, PortError> {
        let output = self
            .client
            .get_execution_history()
            .execution_arn(self.arn(name))
            .reverse_order(true)
            .max_results(MAX_TRAIL_EVENTS)
            .include_execution_data(false)
            .send()
            .await
            .map_err(|err| from_sdk(service::SFN, err))?;
        let mut events: Vec<TrailEvent> = output.events().iter().map(trail_event).collect();
        events.reverse();
        Ok(events)
    }

    /// Starts execution `name` with `input` (its canonical JSON). Same name and input while open
    /// → `AlreadyRunning`; other input or a closed execution → `Conflict`.
    pub async fn start(
        &self,
        name: &str,
        input: &ProcessingInput,
    ) -> Result<StartOutcome, PortError> {
        let body = crate::workflow_starter::canonical_input(input)?;
        crate::workflow_starter::start_body(
            &self.client,
            &self.state_machine_arn,
            name,
            body,
            None,
            crate::workflow_starter::SkewCheck::default(),
        )
        .await
    }

    /// `RedriveExecution` of execution `name`: a failed, aborted or timed-out execution of the
    /// last 14 days continues from its unsuccessful step. `Conflict` when the service says it is
    /// not redrivable (the reason is in the message), `NotFound` when it does not exist.
    pub async fn redrive(&self, name: &str) -> Result<DateTime<Utc>, PortError> {
        let arn = self.arn(name);
        match self
            .client
            .redrive_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(output) => Ok(to_chrono(output.redrive_date()).unwrap_or_else(Utc::now)),
            Err(err) => match err.as_service_error() {
                Some(RedriveExecutionError::ExecutionNotRedrivable(e)) => {
                    Err(PortError::Conflict {
                        what: format!(
                            "execution {name} is not redrivable: {}",
                            e.message().unwrap_or("no reason given")
                        ),
                    })
                }
                Some(RedriveExecutionError::ExecutionDoesNotExist(_)) => Err(PortError::NotFound {
                    what: format!("execution {arn}"),
                }),
                _ => Err(from_sdk(service::SFN, err)),
            },
        }
    }
}

/// The ARN of the state machine named `name` (`ListStateMachines`), `None` when there is none.
pub async fn find_state_machine(client: &Client, name: &str) -> Result<Option<String>, PortError> {
    let mut pages = client.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| from_sdk(service::SFN, err))?;
        if let Some(found) = page.state_machines().iter().find(|m| m.name() == name) {
            return Ok(Some(found.state_machine_arn().to_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_execution_arn_is_derived_from_the_state_machine_arn() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:eu-west-1:111122223333:stateMachine:mr-processing",
                "rec-1--r2"
            ),
            "arn:aws:states:eu-west-1:111122223333:execution:mr-processing:rec-1--r2"
        );
    }
}
