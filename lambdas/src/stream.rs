//! The catalog stream handler: a write of `expectedChunkCount` (by the client's catalog service)
//! triggers the completion check of that recording. Failures are reported per record
//! (`ReportBatchItemFailures`): the first failed record's sequence number is returned and the
//! remaining records are left for the retry, which keeps the shard's order.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use meeting_domain::{RecordingId, RecordingRef, UserId};
use tracing::{error, warn};

use crate::Ports;
use crate::completion;
use crate::events::expected_count_written;

/// Handles one batch of catalog stream records.
pub async fn handle_batch(ports: &Ports, event: &Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        let Some(written) = expected_count_written(record) else {
            continue;
        };
        let recording = match (
            UserId::new(written.user_id.as_str()),
            RecordingId::new(written.recording_id.as_str()),
        ) {
            (Ok(user), Ok(id)) => RecordingRef::new(user, id),
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "catalog item with an invalid user or recording id; skipped");
                continue;
            }
        };
        if let Err(e) = completion::check(ports, &recording).await {
            error!(user_id = %recording.user_id, recording_id = %recording.recording_id, error = %e, retryable = e.is_retryable(), "completion check failed");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}
