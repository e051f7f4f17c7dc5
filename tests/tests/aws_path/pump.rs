//! Drives the Lambda handler code as AWS drives it, in this process:
//!
//! * the EventBridge rules' SQS targets → [`recorder_lambdas::ingest::handle_event`] (the Chunk
//!   Upload Handler). A message is deleted only after the handler succeeded; a failed one comes
//!   back after the queue's visibility timeout, as EventBridge retries a failed invocation. The
//!   messages of one receive are handled concurrently, as concurrent Lambda invocations are, and
//!   optionally each one twice (EventBridge delivers at least once).
//! * the catalog table's DynamoDB stream (GetShardIterator/GetRecords on moto) →
//!   [`recorder_lambdas::stream::handle_batch`], with `ReportBatchItemFailures` semantics: the
//!   batch is re-read from the first failed record.
//!
//! Everything the pump did is logged in [`PumpLog`] for the panic messages of the scenarios.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use futures::future::join_all;
use recorder_lambdas::Ports;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::table_adapter::from_stream_item;

/// Pause between rounds when nothing arrived.
const IDLE_PAUSE: Duration = Duration::from_millis(150);
/// Messages per ReceiveMessage (the SQS maximum is 10).
const RECEIVE_BATCH: i32 = 10;
/// Records per GetRecords (Lambda's default batch size for DynamoDB streams is 100).
const STREAM_BATCH: i32 = 100;

/// What the pump did, in order.
#[derive(Clone, Debug, Default)]
pub struct PumpLog {
    entries: Arc<Mutex<Vec<String>>>,
    /// Every message handled successfully: its queue and body, for replays.
    delivered: Arc<Mutex<Vec<(String, String)>>>,
}

impl PumpLog {
    fn push(&self, entry: String) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
    }

    fn delivered(&self, queue: &str, body: &str) {
        self.delivered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((queue.to_owned(), body.to_owned()));
    }

    /// The queue and body of every message handled successfully so far, in handling order.
    pub fn delivered_messages(&self) -> Vec<(String, String)> {
        self.delivered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every entry so far.
    pub fn entries(&self) -> Vec<String> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Entries that mention `needle` (a recording id).
    pub fn about(&self, needle: &str) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|e| e.contains(needle))
            .collect()
    }
}

/// Where the pump reads from.
#[derive(Clone, Debug)]
pub struct PumpSources {
    /// SQS client (moto).
    pub sqs: aws_sdk_sqs::Client,
    /// The rules' target queues.
    pub queues: Vec<String>,
    /// DynamoDB Streams client (moto).
    pub streams: aws_sdk_dynamodbstreams::Client,
    /// The catalog table's stream.
    pub stream_arn: String,
    /// Hand every event to the handler twice (at-least-once delivery).
    pub deliver_twice: bool,
}

/// Runs until `stop` is cancelled.
pub async fn run(ports: Ports, sources: PumpSources, log: PumpLog, stop: CancellationToken) {
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    while !stop.is_cancelled() {
        let mut busy = false;
        for queue in &sources.queues {
            busy |= pump_queue(&ports, &sources, queue, &log).await;
        }
        busy |= pump_stream(&ports, &sources, &mut iterators, &log).await;
        if !busy {
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(IDLE_PAUSE) => {}
            }
        }
    }
}

/// One ReceiveMessage on `queue`; whether anything arrived.
async fn pump_queue(ports: &Ports, sources: &PumpSources, queue: &str, log: &PumpLog) -> bool {
    let received = match sources
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(RECEIVE_BATCH)
        .send()
        .await
    {
        Ok(output) => output.messages.unwrap_or_default(),
        Err(e) => {
            log.push(format!(
                "receive_message failed: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            ));
            return false;
        }
    };
    if received.is_empty() {
        return false;
    }
    let handled = received.iter().map(|message| async move {
        let body = message.body().unwrap_or_default();
        let deliveries = if sources.deliver_twice { 2 } else { 1 };
        let mut ok = true;
        for delivery in 0..deliveries {
            let event: EventBridgeEvent<Value> = match serde_json::from_str(body) {
                Ok(event) => event,
                Err(e) => {
                    log.push(format!("unparsable event ({e}): {body}"));
                    ok = false;
                    break;
                }
            };
            let key = event
                .detail
                .pointer("/object/key")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            match recorder_lambdas::ingest::handle_event(ports, event).await {
                Ok(outcome) => log.push(format!("event {key} (delivery {delivery}): {outcome:?}")),
                Err(e) => {
                    log.push(format!("event {key} (delivery {delivery}) FAILED: {e}"));
                    ok = false;
                }
            }
        }
        if ok {
            log.delivered(queue, body);
        }
        (message.receipt_handle().map(str::to_owned), ok)
    });
    for (handle, ok) in join_all(handled).await {
        // Delete only after success: a failed message is redelivered after the visibility
        // timeout, which is how EventBridge's retry of a failed invocation looks here.
        if let (Some(handle), true) = (handle, ok)
            && let Err(e) = sources
                .sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(handle)
                .send()
                .await
        {
            log.push(format!(
                "delete_message failed: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            ));
        }
    }
    true
}

/// One GetRecords per shard; whether any record arrived.
async fn pump_stream(
    ports: &Ports,
    sources: &PumpSources,
    iterators: &mut HashMap<String, Option<String>>,
    log: &PumpLog,
) -> bool {
    let description = match sources
        .streams
        .describe_stream()
        .stream_arn(&sources.stream_arn)
        .send()
        .await
    {
        Ok(output) => output.stream_description,
        Err(e) => {
            log.push(format!(
                "describe_stream failed: {}",
                aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
            ));
            return false;
        }
    };
    let shards: Vec<String> = description
        .and_then(|d| d.shards)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.shard_id)
        .collect();
    let mut busy = false;
    for shard in shards {
        let iterator = match iterators.get(&shard) {
            Some(Some(iterator)) => iterator.clone(),
            // A closed shard: nothing more to read.
            Some(None) => continue,
            None => {
                match shard_iterator(sources, &shard, ShardIteratorType::TrimHorizon, None).await {
                    Ok(iterator) => iterator,
                    Err(e) => {
                        log.push(e);
                        continue;
                    }
                }
            }
        };
        let output = match sources
            .streams
            .get_records()
            .shard_iterator(&iterator)
            .limit(STREAM_BATCH)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) => {
                log.push(format!(
                    "get_records failed: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                ));
                iterators.remove(&shard);
                continue;
            }
        };
        let records = output.records.unwrap_or_default();
        let mut next = output.next_shard_iterator;
        if !records.is_empty() {
            busy = true;
            let event = lambda_event(&sources.stream_arn, &records);
            let ids: Vec<String> = event["Records"]
                .as_array()
                .map(|records| {
                    records
                        .iter()
                        .filter_map(|r| r.pointer("/dynamodb/Keys/recordingId/S"))
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            match serde_json::from_value(event) {
                Ok(event) => {
                    let response = recorder_lambdas::stream::handle_batch(ports, &event).await;
                    log.push(format!(
                        "stream batch of {} records ({ids:?}): {} failures",
                        records.len(),
                        response.batch_item_failures.len()
                    ));
                    // ReportBatchItemFailures: retry from the first failed record.
                    if let Some(failed) = response
                        .batch_item_failures
                        .first()
                        .and_then(|f| f.item_identifier.clone())
                    {
                        match shard_iterator(
                            sources,
                            &shard,
                            ShardIteratorType::AtSequenceNumber,
                            Some(failed),
                        )
                        .await
                        {
                            Ok(iterator) => next = Some(iterator),
                            Err(e) => log.push(e),
                        }
                    }
                }
                Err(e) => log.push(format!(
                    "stream records do not parse as a Lambda event: {e}"
                )),
            }
        }
        iterators.insert(shard, next);
    }
    busy
}

async fn shard_iterator(
    sources: &PumpSources,
    shard: &str,
    kind: ShardIteratorType,
    sequence: Option<String>,
) -> Result<String, String> {
    sources
        .streams
        .get_shard_iterator()
        .stream_arn(&sources.stream_arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_sequence_number(sequence)
        .send()
        .await
        .map_err(|e| {
            format!(
                "get_shard_iterator failed: {}",
                aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
            )
        })?
        .shard_iterator
        .ok_or_else(|| "get_shard_iterator returned no iterator".to_owned())
}

/// Stream records as the event Lambda's DynamoDB event source mapping delivers.
fn lambda_event(stream_arn: &str, records: &[aws_sdk_dynamodbstreams::types::Record]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|record| {
            let change = record.dynamodb();
            let image = |item: Option<&HashMap<_, _>>| item.map(from_stream_item);
            json!({
                "eventID": record.event_id(),
                "eventName": record.event_name().map(|n| n.as_str().to_owned()),
                "eventVersion": record.event_version(),
                "eventSource": record.event_source(),
                "awsRegion": record.aws_region().unwrap_or(recorder_testkit::moto::REGION),
                "eventSourceARN": stream_arn,
                "dynamodb": {
                    "ApproximateCreationDateTime": change
                        .and_then(|c| c.approximate_creation_date_time())
                        .map_or(0.0, |t| t.as_secs_f64()),
                    "Keys": image(change.and_then(|c| c.keys.as_ref())),
                    "NewImage": image(change.and_then(|c| c.new_image.as_ref())),
                    "OldImage": image(change.and_then(|c| c.old_image.as_ref())),
                    "SequenceNumber": change.and_then(|c| c.sequence_number()),
                    "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or(0),
                    "StreamViewType": change
                        .and_then(|c| c.stream_view_type())
                        .map(|v| v.as_str().to_owned()),
                }
            })
        })
        .collect();
    json!({ "Records": records })
}
