//! Execution history: the events GetExecutionHistory returns, with AWS's event type names,
//! ids, `previousEventId` and `*EventDetails` objects.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::clock::epoch_seconds;

/// The history event types this engine emits (AWS `HistoryEventType` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionAborted,
    ExecutionTimedOut,
    ExecutionRedriven,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateExited,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateEntered,
    MapStateExited,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    ActivityScheduled,
    ActivityScheduleFailed,
    ActivityStarted,
    ActivitySucceeded,
    ActivityFailed,
    ActivityTimedOut,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    EvaluationFailed,
    TaskSubmitted,
}

impl EventType {
    /// The AWS name (`"TaskStateEntered"`).
    pub fn as_str(self) -> &'static str {
        use EventType::*;
        match self {
            ExecutionStarted => "ExecutionStarted",
            ExecutionSucceeded => "ExecutionSucceeded",
            ExecutionFailed => "ExecutionFailed",
            ExecutionAborted => "ExecutionAborted",
            ExecutionTimedOut => "ExecutionTimedOut",
            ExecutionRedriven => "ExecutionRedriven",
            PassStateEntered => "PassStateEntered",
            PassStateExited => "PassStateExited",
            TaskStateEntered => "TaskStateEntered",
            TaskStateExited => "TaskStateExited",
            ChoiceStateEntered => "ChoiceStateEntered",
            ChoiceStateExited => "ChoiceStateExited",
            WaitStateEntered => "WaitStateEntered",
            WaitStateExited => "WaitStateExited",
            SucceedStateEntered => "SucceedStateEntered",
            SucceedStateExited => "SucceedStateExited",
            FailStateEntered => "FailStateEntered",
            ParallelStateEntered => "ParallelStateEntered",
            ParallelStateExited => "ParallelStateExited",
            ParallelStateStarted => "ParallelStateStarted",
            ParallelStateSucceeded => "ParallelStateSucceeded",
            ParallelStateFailed => "ParallelStateFailed",
            ParallelStateAborted => "ParallelStateAborted",
            MapStateEntered => "MapStateEntered",
            MapStateExited => "MapStateExited",
            MapStateStarted => "MapStateStarted",
            MapStateSucceeded => "MapStateSucceeded",
            MapStateFailed => "MapStateFailed",
            MapStateAborted => "MapStateAborted",
            MapIterationStarted => "MapIterationStarted",
            MapIterationSucceeded => "MapIterationSucceeded",
            MapIterationFailed => "MapIterationFailed",
            MapIterationAborted => "MapIterationAborted",
            ActivityScheduled => "ActivityScheduled",
            ActivityScheduleFailed => "ActivityScheduleFailed",
            ActivityStarted => "ActivityStarted",
            ActivitySucceeded => "ActivitySucceeded",
            ActivityFailed => "ActivityFailed",
            ActivityTimedOut => "ActivityTimedOut",
            TaskScheduled => "TaskScheduled",
            TaskStarted => "TaskStarted",
            TaskSucceeded => "TaskSucceeded",
            TaskFailed => "TaskFailed",
            TaskTimedOut => "TaskTimedOut",
            EvaluationFailed => "EvaluationFailed",
            TaskSubmitted => "TaskSubmitted",
        }
    }

    /// The member of `HistoryEvent` that carries this type's details.
    pub fn details_key(self) -> String {
        let name = self.as_str();
        if name.ends_with("StateEntered") {
            return "stateEnteredEventDetails".to_owned();
        }
        if name.ends_with("StateExited") {
            return "stateExitedEventDetails".to_owned();
        }
        format!("{}EventDetails", lower_first(name))
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// One history event.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEvent {
    /// 1-based id, in order of occurrence.
    pub id: u64,
    /// The event this one follows from (0 for the first).
    pub previous_event_id: u64,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Its type.
    pub event_type: EventType,
    /// Its details object (without the wrapping key), if the type has details.
    pub details: Option<Value>,
}

impl HistoryEvent {
    /// The event as the API returns it. `include_data` false drops inputs and outputs, as
    /// `includeExecutionData: false` does.
    pub fn to_json(&self, include_data: bool) -> Value {
        let mut object = Map::new();
        object.insert("timestamp".into(), epoch_seconds(self.timestamp));
        object.insert("type".into(), json!(self.event_type.as_str()));
        object.insert("id".into(), json!(self.id));
        object.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some(details) = &self.details {
            let mut details = details.clone();
            if !include_data && let Value::Object(map) = &mut details {
                for field in ["input", "output", "parameters"] {
                    map.remove(field);
                }
            }
            object.insert(self.event_type.details_key(), details);
        }
        Value::Object(object)
    }
}

/// The history of one execution, appended to by the interpreter.
#[derive(Clone, Debug, Default)]
pub struct History {
    events: Vec<HistoryEvent>,
}

impl History {
    /// Appends an event following `previous` and returns its id.
    pub fn push(
        &mut self,
        timestamp: DateTime<Utc>,
        event_type: EventType,
        previous: u64,
        details: Option<Value>,
    ) -> u64 {
        let id = self.events.len() as u64 + 1;
        self.events.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp,
            event_type,
            details,
        });
        id
    }

    /// Every event, oldest first.
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// The id of the newest event (0 when empty).
    pub fn last_id(&self) -> u64 {
        self.events.len() as u64
    }
}

/// `{"truncated": false}`, the `inputDetails` / `outputDetails` of events carrying data.
pub fn not_truncated() -> Value {
    json!({"truncated": false})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entered_and_exited_events_use_the_shared_state_details_key() {
        assert_eq!(
            EventType::TaskStateEntered.details_key(),
            "stateEnteredEventDetails"
        );
        assert_eq!(
            EventType::MapStateExited.details_key(),
            "stateExitedEventDetails"
        );
    }

    #[test]
    fn other_events_use_their_own_lower_camel_details_key() {
        assert_eq!(
            EventType::ActivityScheduled.details_key(),
            "activityScheduledEventDetails"
        );
        assert_eq!(
            EventType::MapIterationStarted.details_key(),
            "mapIterationStartedEventDetails"
        );
        assert_eq!(
            EventType::ExecutionStarted.details_key(),
            "executionStartedEventDetails"
        );
    }

    #[test]
    fn events_are_numbered_from_one_and_chain_to_their_predecessor() {
        let mut history = History::default();
        let now = Utc::now();
        let first = history.push(now, EventType::ExecutionStarted, 0, None);
        let second = history.push(now, EventType::PassStateEntered, first, None);
        assert_eq!((first, second), (1, 2));
        let json = history.events()[1].to_json(true);
        assert_eq!(json["previousEventId"], 1);
        assert_eq!(json["type"], "PassStateEntered");
    }
}
