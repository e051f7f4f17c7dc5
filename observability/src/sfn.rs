//! [`TraceLookup`] on Step Functions: the recording's running execution (ListExecutions of the
//! processing state machine, status RUNNING, matched by execution name) and its `traceHeader`
//! (DescribeExecution) — the header the Chunk Upload Handler passed to StartExecution.
//!
//! Execution names are `RecordingRef::execution_name(run)`: `{id, at most 40 characters}-r{run}-
//! {24 hex digits of SHA-256 over user, recording and run}`. The lookup knows only the recording
//! id (the span field), so a name matches when its readable part is that id (truncated the same
//! way) and its suffix has exactly that shape. Two users' recordings with the same id running at
//! the same moment cannot be told apart here; the cost is a segment in the other run's trace,
//! never a wrong catalog write.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
use meeting_domain::RecordingId;

use crate::error::ObservabilityError;
use crate::layer::TraceLookup;
use crate::trace_header::TraceHeader;

/// ListExecutions page size: 1000 is the API's maximum `maxResults`; pages are followed.
const PAGE_SIZE: i32 = 1000;

/// Whether execution `name` has the shape of one of `recording`'s runs
/// ([`RecordingId::run_named_by`]).
pub fn is_execution_of(name: &str, recording: &RecordingId) -> bool {
    recording.run_named_by(name).is_some()
}

/// The newest of `items` that is a run of `recording`.
pub fn newest_run<'a>(
    items: impl IntoIterator<Item = &'a ExecutionListItem>,
    recording: &RecordingId,
) -> Option<&'a ExecutionListItem> {
    items
        .into_iter()
        .filter(|item| is_execution_of(item.name(), recording))
        .max_by_key(|item| {
            let start = item.start_date();
            (start.secs(), start.subsec_nanos())
        })
}

/// Looks traces up on one state machine.
#[derive(Clone, Debug)]
pub struct SfnTraceLookup {
    client: Client,
    state_machine_arn: String,
}

impl SfnTraceLookup {
    /// Looks up executions of `state_machine_arn`.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

fn lookup_error(e: impl std::error::Error + Send + Sync + 'static) -> ObservabilityError {
    ObservabilityError::Lookup(Box::new(e))
}

#[async_trait::async_trait]
impl TraceLookup for SfnTraceLookup {
    async fn trace_header(
        &self,
        recording_id: &str,
    ) -> Result<Option<TraceHeader>, ObservabilityError> {
        let Ok(recording) = RecordingId::new(recording_id) else {
            return Ok(None);
        };
        let mut running = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_executions()
                .state_machine_arn(&self.state_machine_arn)
                .status_filter(ExecutionStatus::Running)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await
                .map_err(lookup_error)?;
            running.extend(
                page.executions()
                    .iter()
                    .filter(|item| is_execution_of(item.name(), &recording))
                    .cloned(),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let Some(execution) = newest_run(&running, &recording) else {
            return Ok(None);
        };
        let described = self
            .client
            .describe_execution()
            .execution_arn(execution.execution_arn())
            .send()
            .await
            .map_err(lookup_error)?;
        described
            .trace_header()
            .filter(|h| !h.is_empty())
            .map(TraceHeader::parse)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, started_ms: i64) -> ExecutionListItem {
        ExecutionListItem::builder()
            .execution_arn(format!("arn:aws:states:us-east-1:1:execution:m:{name}"))
            .state_machine_arn("arn:aws:states:us-east-1:1:stateMachine:m")
            .name(name)
            .status(ExecutionStatus::Running)
            .start_date(aws_sdk_sfn::primitives::DateTime::from_millis(started_ms))
            .build()
            .unwrap()
    }

    #[test]
    fn execution_names_match_only_their_recordings_runs() {
        let user = meeting_domain::UserId::new("u").unwrap();
        let rec = RecordingId::new("rec_1").unwrap();
        let named = |id: &RecordingId, run| {
            meeting_domain::RecordingRef::new(user.clone(), id.clone()).execution_name(run)
        };
        assert!(is_execution_of(&named(&rec, 0), &rec));
        assert!(is_execution_of(&named(&rec, 2), &rec));
        let rec10 = RecordingId::new("rec_10").unwrap();
        assert!(!is_execution_of(&named(&rec10, 0), &rec));
        assert!(!is_execution_of("rec_1-r", &rec));
        assert!(!is_execution_of("rec_1-rx-0123456789abcdef01234567", &rec));
        let long = RecordingId::new("a".repeat(100)).unwrap();
        assert!(is_execution_of(&named(&long, 0), &long));
        assert!(is_execution_of(&named(&long, 3), &long));
        assert!(!is_execution_of(&named(&long, 3), &rec));
    }

    #[test]
    fn the_newest_running_run_of_the_recording_is_chosen() {
        let user = meeting_domain::UserId::new("u").unwrap();
        let rec = RecordingId::new("rec_1").unwrap();
        let name = |id: &str, run| {
            meeting_domain::RecordingRef::new(user.clone(), RecordingId::new(id).unwrap())
                .execution_name(run)
        };
        let items = [
            item(&name("rec_1", 0), 1_000),
            item(&name("rec_1", 1), 3_000),
            item(&name("rec_2", 0), 9_000),
        ];
        assert_eq!(newest_run(&items, &rec).unwrap().name(), name("rec_1", 1));
        assert!(newest_run(&items[2..], &rec).is_none());
    }
}
