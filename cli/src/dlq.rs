//! `recorder dlq inspect|replay`: the dead-letter queues of a deployment.
//!
//! Three message bodies arrive there:
//! - the EventBridge target DLQ and a Lambda's own dead-letter queue hold the event itself;
//! - a Lambda on-failure destination holds an invocation record whose `requestPayload` is the
//!   event;
//! - a stream mapping's on-failure destination holds `DDBStreamBatchInfo` (a pointer into the
//!   catalog stream, not an event): reported, never replayed.
//!
//! Replay pushes each event through `ingest::handle_event` with the deployment's ports, the same
//! path as the Chunk Upload Handler, which is idempotent: an already recorded chunk is a no-op.
//! A message is deleted only after it was handled; one that still fails is left in the queue
//! (made visible again at the end of the run) and reported.

use std::collections::HashSet;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use meeting_domain::ports::RecordOutcome;
use recorder_aws::{DeadLetter, SqsDeadLetterQueue};
use recorder_lambdas::Ports;
use recorder_lambdas::ingest::{self, IngestOutcome};
use serde::Serialize;
use serde_json::Value;

use crate::error::CliError;

/// Seconds a received message stays hidden while this run handles it: long enough for a batch of
/// ten events (each a few DynamoDB and S3 calls), short enough that a crashed run's messages come
/// back soon. (SQS allows 0 to 43,200.)
const REPLAY_VISIBILITY_SECONDS: i32 = 120;

/// Seconds messages stay hidden while `inspect` lists them; released at the end.
const INSPECT_VISIBILITY_SECONDS: i32 = 30;

/// Long-poll wait when the queue looks empty (SQS allows 0 to 20 s): short polling samples only
/// some servers and can answer empty while messages exist.
const WAIT_SECONDS: i32 = 1;

/// What a dead-letter body holds.
#[derive(Clone, Debug, PartialEq)]
pub enum DeadLetterBody {
    /// The event itself (EventBridge target DLQ, Lambda dead-letter queue).
    Event(Box<EventBridgeEvent<Value>>),
    /// A Lambda on-failure destination record.
    Invocation {
        /// The event the function was invoked with.
        event: Box<EventBridgeEvent<Value>>,
        /// The function.
        function: Option<String>,
        /// Why it gave up (`RetriesExhausted`, `EventAgeExceeded`).
        condition: Option<String>,
        /// The function's error type and message.
        error: Option<String>,
    },
    /// A stream batch that failed (`DDBStreamBatchInfo`).
    StreamBatch {
        /// The stream.
        stream: String,
        /// Sequence numbers of the batch.
        sequence: String,
    },
}

impl DeadLetterBody {
    /// The format name shown to operators.
    pub fn format(&self) -> &'static str {
        match self {
            Self::Event(_) => "event",
            Self::Invocation { .. } => "lambda-invocation-record",
            Self::StreamBatch { .. } => "stream-batch",
        }
    }

    /// The event to replay, if the body holds one.
    pub fn event(&self) -> Option<&EventBridgeEvent<Value>> {
        match self {
            Self::Event(event) | Self::Invocation { event, .. } => Some(event),
            Self::StreamBatch { .. } => None,
        }
    }
}

/// Recognises the body formats.
pub fn parse_body(body: &str) -> Result<DeadLetterBody, String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let event = |v: Value| {
        serde_json::from_value::<EventBridgeEvent<Value>>(v)
            .map(Box::new)
            .map_err(|e| format!("not an EventBridge event: {e}"))
    };
    if let Some(payload) = value.get("requestPayload") {
        let text = |path: &[&str]| {
            path.iter()
                .try_fold(&value, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let error = match (
            text(&["responsePayload", "errorType"]),
            text(&["responsePayload", "errorMessage"]),
        ) {
            (None, None) => text(&["responseContext", "functionError"]),
            (kind, message) => Some(format!(
                "{}: {}",
                kind.unwrap_or_default(),
                message.unwrap_or_default()
            )),
        };
        return Ok(DeadLetterBody::Invocation {
            event: event(payload.clone())?,
            function: text(&["requestContext", "functionArn"]),
            condition: text(&["requestContext", "condition"]),
            error,
        });
    }
    if let Some(batch) = value.get("DDBStreamBatchInfo") {
        let text = |k: &str| {
            batch
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        return Ok(DeadLetterBody::StreamBatch {
            stream: text("streamArn"),
            sequence: format!(
                "{}..{}",
                text("startSequenceNumber"),
                text("endSequenceNumber")
            ),
        });
    }
    Ok(DeadLetterBody::Event(event(value)?))
}

/// What happened to one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "detail")]
pub enum Verdict {
    /// Handled now: a chunk or manifest was recorded. Deleted.
    Replayed(String),
    /// The chunk was recorded before (a duplicate or stale delivery): nothing changed. Deleted.
    AlreadyRecorded(String),
    /// The handler acknowledges it without recording anything (not an object creation, a
    /// foreign bucket, a malformed key, an invalid chunk), exactly as the Lambda would. Deleted.
    Acknowledged(String),
    /// The handler still fails on it. Left in the queue.
    StillFailing(String),
    /// Not an event this command can replay (unreadable, a stream batch). Left in the queue.
    NotReplayable(String),
}

impl Verdict {
    /// Whether the message is deleted.
    pub fn deletes(&self) -> bool {
        matches!(
            self,
            Self::Replayed(_) | Self::AlreadyRecorded(_) | Self::Acknowledged(_)
        )
    }
}

/// One message as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LetterReport {
    /// SQS message id.
    pub message_id: String,
    /// Body format.
    pub format: String,
    /// Bucket and key of the S3 event, or what the body is.
    pub subject: String,
    /// How often SQS delivered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive_count: Option<u32>,
    /// Error recorded with the message (EventBridge `ERROR_CODE`/`ERROR_MESSAGE`, the Lambda's
    /// error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_error: Option<String>,
    /// Replay only: what happened.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// One queue's report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueReport {
    /// The queue URL.
    pub queue: String,
    /// Messages handled and deleted.
    pub replayed: usize,
    /// Messages deleted without a change (already recorded, or acknowledged by the handler).
    pub skipped: usize,
    /// Messages left in the queue because they still fail or cannot be replayed.
    pub still_failing: usize,
    /// Every message seen.
    pub messages: Vec<LetterReport>,
}

fn subject(body: &Result<DeadLetterBody, String>) -> String {
    match body {
        Err(e) => format!("unreadable body: {e}"),
        Ok(DeadLetterBody::StreamBatch { stream, sequence }) => {
            format!("stream batch {sequence} of {stream}")
        }
        Ok(body) => {
            let event = body.event().map(|e| {
                let bucket = e.detail.pointer("/bucket/name").and_then(Value::as_str);
                let key = e.detail.pointer("/object/key").and_then(Value::as_str);
                match (bucket, key) {
                    (Some(bucket), Some(key)) => format!("s3://{bucket}/{key}"),
                    _ => format!("{} / {}", e.source, e.detail_type),
                }
            });
            event.unwrap_or_default()
        }
    }
}

fn original_error(letter: &DeadLetter, body: &Result<DeadLetterBody, String>) -> Option<String> {
    if let Ok(DeadLetterBody::Invocation {
        error: Some(error), ..
    }) = body
    {
        return Some(error.clone());
    }
    let attribute = |names: [&str; 2]| names.iter().find_map(|n| letter.attributes.get(*n));
    match (
        attribute(["ERROR_CODE", "ErrorCode"]),
        attribute(["ERROR_MESSAGE", "ErrorMessage"]),
    ) {
        (None, None) => None,
        (code, message) => Some(format!(
            "{}: {}",
            code.map_or("", String::as_str),
            message.map_or("", String::as_str)
        )),
    }
}

fn report_of(letter: &DeadLetter, body: &Result<DeadLetterBody, String>) -> LetterReport {
    LetterReport {
        message_id: letter.message_id.clone(),
        format: body
            .as_ref()
            .map_or("unreadable", DeadLetterBody::format)
            .to_owned(),
        subject: subject(body),
        receive_count: letter.receive_count,
        original_error: original_error(letter, body),
        verdict: None,
    }
}

/// Pushes one body through the ingest handler.
pub async fn replay_body(ports: &Ports, body: &Result<DeadLetterBody, String>) -> Verdict {
    let event = match body {
        Err(e) => return Verdict::NotReplayable(e.clone()),
        Ok(body) => match body.event() {
            Some(event) => event.clone(),
            None => {
                return Verdict::NotReplayable(
                    "a failed catalog stream batch points into the stream, it holds no event; \
                     the sweeper re-checks waiting recordings, or run `recorder status` on them"
                        .into(),
                );
            }
        },
    };
    if event.source == "aws.events" && event.detail_type == "Scheduled Event" {
        // A failed invocation of the scheduled sweeper: every sweep re-checks all waiting
        // recordings, so the next one does this one's work.
        return Verdict::Acknowledged("a scheduled sweep; the next sweep repeats it".into());
    }
    if event.source == recorder_lambdas::execution_status::SOURCE {
        // A status change the execution-status handler could not record: record it now.
        return match recorder_lambdas::execution_status::handle_event(ports, event).await {
            Ok(outcome) => Verdict::Replayed(format!("execution status change; {outcome:?}")),
            Err(e) => Verdict::StillFailing(e.to_string()),
        };
    }
    match ingest::handle_event(ports, event).await {
        Ok(IngestOutcome::Chunk {
            recorded: RecordOutcome::Duplicate | RecordOutcome::Stale,
            completion,
        }) => Verdict::AlreadyRecorded(format!("chunk already recorded; {completion:?}")),
        Ok(IngestOutcome::Chunk {
            recorded,
            completion,
        }) => Verdict::Replayed(format!("chunk {recorded:?}; {completion:?}")),
        Ok(IngestOutcome::Manifest { completion }) => {
            Verdict::Replayed(format!("manifest applied; {completion:?}"))
        }
        Ok(IngestOutcome::IgnoredEvent) => {
            Verdict::Acknowledged("not an S3 object creation".into())
        }
        Ok(IngestOutcome::ForeignBucket) => {
            Verdict::Acknowledged("an object of another bucket".into())
        }
        Ok(IngestOutcome::MalformedKey { reason }) => {
            Verdict::Acknowledged(format!("malformed key ({reason})"))
        }
        Ok(IngestOutcome::InvalidChunk { reason, completion }) => Verdict::Replayed(format!(
            "chunk recorded as rejected ({reason}); {completion:?}"
        )),
        Err(e) => Verdict::StillFailing(e.to_string()),
    }
}

/// Receives up to `limit` messages once each (a message seen again in this run ends it).
async fn receive_all(
    queue: &SqsDeadLetterQueue,
    limit: usize,
    visibility: i32,
    mut each: impl AsyncFnMut(&DeadLetter),
) -> Result<Vec<DeadLetter>, CliError> {
    let mut seen = HashSet::new();
    let mut taken = Vec::new();
    while taken.len() < limit {
        let want =
            i32::try_from(limit - taken.len()).unwrap_or(recorder_aws::dead_letters::MAX_BATCH);
        let batch = queue.receive(want, visibility, WAIT_SECONDS).await?;
        if batch.is_empty() {
            break;
        }
        let mut fresh = false;
        for letter in batch {
            if !seen.insert(letter.message_id.clone()) {
                continue;
            }
            fresh = true;
            each(&letter).await;
            taken.push(letter);
        }
        if !fresh {
            break;
        }
    }
    Ok(taken)
}

/// Lists up to `limit` messages and makes them visible again.
pub async fn inspect(queue: &SqsDeadLetterQueue, limit: usize) -> Result<QueueReport, CliError> {
    let mut report = QueueReport {
        queue: queue.url().to_owned(),
        ..QueueReport::default()
    };
    let taken = receive_all(queue, limit, INSPECT_VISIBILITY_SECONDS, async |letter| {
        report
            .messages
            .push(report_of(letter, &parse_body(&letter.body)));
    })
    .await?;
    for letter in &taken {
        queue.release(letter).await?;
    }
    Ok(report)
}

/// Replays up to `limit` messages through the ingest handler.
pub async fn replay(
    queue: &SqsDeadLetterQueue,
    ports: &Ports,
    limit: usize,
) -> Result<QueueReport, CliError> {
    let mut report = QueueReport {
        queue: queue.url().to_owned(),
        ..QueueReport::default()
    };
    let mut kept = Vec::new();
    let mut first_error = None;
    let taken = receive_all(queue, limit, REPLAY_VISIBILITY_SECONDS, async |letter| {
        let body = parse_body(&letter.body);
        let verdict = replay_body(ports, &body).await;
        let mut line = report_of(letter, &body);
        if verdict.deletes() {
            match queue.delete(letter).await {
                Ok(()) => {
                    if matches!(verdict, Verdict::Replayed(_)) {
                        report.replayed += 1;
                    } else {
                        report.skipped += 1;
                    }
                }
                Err(e) => {
                    // Handled but not deleted: it comes back and replays as a no-op.
                    first_error.get_or_insert(e);
                }
            }
        } else {
            report.still_failing += 1;
            kept.push(letter.message_id.clone());
        }
        line.verdict = Some(verdict);
        report.messages.push(line);
    })
    .await?;
    for letter in taken.iter().filter(|l| kept.contains(&l.message_id)) {
        queue.release(letter).await?;
    }
    if let Some(e) = first_error {
        return Err(e.into());
    }
    Ok(report)
}

/// The text of a report.
pub fn render(report: &QueueReport, replay: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "queue {}", report.queue);
    if report.messages.is_empty() {
        out.push_str("  (empty)\n");
    }
    for m in &report.messages {
        let _ = write!(out, "  {} [{}] {}", m.message_id, m.format, m.subject);
        if let Some(count) = m.receive_count {
            let _ = write!(out, " (received {count}x)");
        }
        out.push('\n');
        if let Some(error) = &m.original_error {
            let _ = writeln!(out, "      failed with: {error}");
        }
        if let Some(verdict) = &m.verdict {
            let (what, detail) = match verdict {
                Verdict::Replayed(d) => ("replayed, deleted", d),
                Verdict::AlreadyRecorded(d) => ("skipped (already recorded), deleted", d),
                Verdict::Acknowledged(d) => ("skipped (acknowledged by the handler), deleted", d),
                Verdict::StillFailing(d) => ("still failing, kept", d),
                Verdict::NotReplayable(d) => ("not replayable, kept", d),
            };
            let _ = writeln!(out, "      {what}: {detail}");
        }
    }
    if replay {
        let _ = writeln!(
            out,
            "  replayed {}, skipped {}, still failing {}",
            report.replayed, report.skipped, report.still_failing
        );
    } else {
        let _ = writeln!(out, "  {} message(s)", report.messages.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"version":"0","id":"e-1","detail-type":"Object Created","source":"aws.s3","account":"123456789012","time":"2026-11-12T00:00:00Z","region":"us-east-1","resources":[],"detail":{"bucket":{"name":"b"},"object":{"key":"users/u/chunks/r/chunk_000.mp4","size":10,"etag":"x","sequencer":"01"}}}"#;

    #[test]
    fn an_eventbridge_dead_letter_is_the_event_itself() {
        let body = parse_body(EVENT).unwrap();
        assert_eq!(body.format(), "event");
        assert_eq!(subject(&Ok(body)), "s3://b/users/u/chunks/r/chunk_000.mp4");
    }

    #[test]
    fn a_lambda_on_failure_record_carries_the_event_as_request_payload() {
        let record = format!(
            r#"{{"version":"1.0","timestamp":"2026-11-12T00:01:00.000Z","requestContext":{{"requestId":"r","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:mr-chunk:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3}},"requestPayload":{EVENT},"responseContext":{{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"}},"responsePayload":{{"errorType":"Recorder.Retryable","errorMessage":"dynamodb is unavailable"}}}}"#
        );
        let body = parse_body(&record).unwrap();
        let DeadLetterBody::Invocation {
            event,
            condition,
            error,
            ..
        } = &body
        else {
            panic!("{body:?}");
        };
        assert_eq!(event.id.as_deref(), Some("e-1"));
        assert_eq!(condition.as_deref(), Some("RetriesExhausted"));
        assert_eq!(
            error.as_deref(),
            Some("Recorder.Retryable: dynamodb is unavailable")
        );
    }

    #[test]
    fn a_stream_batch_record_is_recognised_and_not_replayable() {
        let body = parse_body(
            r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},"version":"1.0","DDBStreamBatchInfo":{"shardId":"s","startSequenceNumber":"1","endSequenceNumber":"9","batchSize":3,"streamArn":"arn:stream"}}"#,
        )
        .unwrap();
        assert_eq!(body.format(), "stream-batch");
        assert!(body.event().is_none());
    }

    #[test]
    fn a_body_that_is_neither_is_unreadable() {
        assert!(parse_body("hello").is_err());
        assert!(parse_body(r#"{"foo": 1}"#).is_err());
    }
}
