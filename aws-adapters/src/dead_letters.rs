//! The dead-letter queues (SQS) as the `recorder dlq` commands use them: receive a batch of
//! messages while hiding them from other readers, delete one after it was handled, make the
//! others visible again at once.
//!
//! SQS delivers at least once: a message may be received again after its visibility timeout, so
//! whatever handles a message must be idempotent (the ingest handler is).

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use meeting_domain::PortError;

use crate::error::{AdapterError, from_sdk, service};

/// `ReceiveMessage` returns at most 10 messages per call (the SQS maximum).
pub const MAX_BATCH: i32 = 10;

/// One message of a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The SQS message id (stable across receives).
    pub message_id: String,
    /// The handle of this receive (needed to delete or release it).
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// How often the message was received, including this time.
    pub receive_count: Option<u32>,
    /// String message attributes (EventBridge sets `ERROR_CODE`, `ERROR_MESSAGE`, `RULE_ARN`,
    /// `TARGET_ARN`; a Lambda dead-letter queue sets `RequestID`, `ErrorCode`, `ErrorMessage`).
    pub attributes: BTreeMap<String, String>,
}

/// One SQS queue.
#[derive(Clone)]
pub struct SqsDeadLetterQueue {
    client: Client,
    url: String,
}

impl fmt::Debug for SqsDeadLetterQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqsDeadLetterQueue")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SqsDeadLetterQueue {
    /// The queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue named `name` (`GetQueueUrl`); `NotFound` when there is none.
    pub async fn by_name(client: Client, name: &str) -> Result<Self, PortError> {
        let output = client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(e) if e.is_queue_does_not_exist() => PortError::NotFound {
                    what: format!("queue {name}"),
                },
                _ => from_sdk(service::SQS, err),
            })?;
        let url = output.queue_url().ok_or_else(|| {
            AdapterError::MissingResponseField { field: "QueueUrl" }.into_port(service::SQS)
        })?;
        Ok(Self::new(client, url))
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `ApproximateNumberOfMessages` (visible messages; SQS counts are eventually consistent).
    pub async fn approximate_count(&self) -> Result<Option<u64>, PortError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|err| from_sdk(service::SQS, err))?;
        Ok(output
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|v| v.parse().ok()))
    }

    /// Receives up to `max` (at most [`MAX_BATCH`]) messages and hides them from other readers
    /// for `visibility_seconds`; waits up to `wait_seconds` when the queue is empty.
    pub async fn receive(
        &self,
        max: i32,
        visibility_seconds: i32,
        wait_seconds: i32,
    ) -> Result<Vec<DeadLetter>, PortError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH))
            .visibility_timeout(visibility_seconds)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|err| from_sdk(service::SQS, err))?;
        let mut letters = Vec::new();
        for message in output.messages() {
            let (Some(id), Some(handle)) = (message.message_id(), message.receipt_handle()) else {
                return Err(AdapterError::MissingResponseField {
                    field: "MessageId/ReceiptHandle",
                }
                .into_port(service::SQS));
            };
            let attributes = message
                .message_attributes()
                .map(|attrs| {
                    attrs
                        .iter()
                        .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            letters.push(DeadLetter {
                message_id: id.to_owned(),
                receipt_handle: handle.to_owned(),
                body: message.body().unwrap_or_default().to_owned(),
                receive_count: message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok()),
                attributes,
            });
        }
        Ok(letters)
    }

    /// Deletes a received message.
    pub async fn delete(&self, letter: &DeadLetter) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&letter.receipt_handle)
            .send()
            .await
            .map_err(|err| from_sdk(service::SQS, err))?;
        Ok(())
    }

    /// Makes a received message visible again at once (visibility timeout 0).
    pub async fn release(&self, letter: &DeadLetter) -> Result<(), PortError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&letter.receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|err| from_sdk(service::SQS, err))?;
        Ok(())
    }
}
