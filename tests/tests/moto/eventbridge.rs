//! S3 → EventBridge → rule → SQS on moto, with the committed event patterns: an object uploaded
//! through the S3 adapter arrives in the queue of the rule whose pattern matches its key, the
//! Lambda library parses it (moto's `eTag` spelling included), and the chunk upload handler
//! records it in DynamoDB. This is the path infra wires, minus the Lambda service.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::types::{EventBridgeConfiguration, NotificationConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use bytes::Bytes;
use meeting_domain::keys::{chunk_key, manifest_key};
use meeting_domain::ports::{ChunkTable, ObjectStore};
use meeting_domain::{ChunkIndex, RecordingId, RecordingRef, UserId};
use recorder_aws::{
    DynamoDbCatalog, DynamoDbChunkTable, S3ObjectStore, create_catalog_table, create_chunk_table,
};
use recorder_lambdas::events::{S3Notification, parse_s3_notification_json};
use recorder_lambdas::{IngestConfig, Ports, RecordingMetrics};
use recorder_testkit::chaos::{ManualClock, mp4_bytes};
use recorder_testkit::memory::workflow_starter::MemoryWorkflowStarter;
use recorder_testkit::moto::{MotoServer, unique_name, workspace_root};

/// How long to wait for an event to reach the queue (moto delivers within the S3 request; the
/// margin is for a loaded CI machine).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

fn pattern(file: &str) -> String {
    let path = workspace_root().join(Path::new("asl/event-patterns").join(file));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A queue that a rule with `pattern` targets; returns the queue URL.
async fn queue_for_rule(
    sqs: &aws_sdk_sqs::Client,
    events: &aws_sdk_eventbridge::Client,
    pattern: &str,
) -> String {
    let queue = unique_name("events");
    let url = sqs
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create_queue: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })
        .queue_url
        .unwrap_or_else(|| panic!("create_queue returned no URL"));
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "get_queue_attributes: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_else(|| panic!("no QueueArn"));
    let rule = unique_name("rule");
    events
        .put_rule()
        .name(&rule)
        .event_pattern(pattern)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "put_rule: {}",
                aws_sdk_eventbridge::error::DisplayErrorContext(e)
            )
        });
    events
        .put_targets()
        .rule(&rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap_or_else(|e| panic!("target: {e}")),
        )
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "put_targets: {}",
                aws_sdk_eventbridge::error::DisplayErrorContext(e)
            )
        });
    url
}

/// Every message body of `bucket` that reaches `queue` until `expected` arrived (or the timeout),
/// then whatever else is already there.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    bucket: &str,
    expected: usize,
) -> Vec<String> {
    let mut bodies = Vec::new();
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    let mut quiet_polls = 0;
    while Instant::now() < deadline && (bodies.len() < expected || quiet_polls < 2) {
        let output = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "receive_message: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            });
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            quiet_polls += 1;
        }
        for message in messages {
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "delete_message: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        )
                    });
            }
            let body = message.body.unwrap_or_default();
            // The default bus is shared by every test of this binary: keep our bucket's events.
            if body.contains(&format!("\"{bucket}\"")) {
                bodies.push(body);
            }
        }
    }
    bodies
}

fn created_key(body: &str) -> (String, String) {
    match parse_s3_notification_json(body.as_bytes()) {
        Ok(S3Notification::Created(created)) => (created.detail.object.key.clone(), created.etag()),
        other => panic!("not an Object Created event: {other:?}\n{body}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_uploaded_to_s3_reaches_the_chunk_rule_queue_and_is_recorded_by_the_handler() {
    let moto = MotoServer::shared();
    let s3 = moto.s3_client().await;
    let sqs = moto.sqs_client().await;
    let events = moto.eventbridge_client().await;
    let dynamodb = moto.dynamodb_client().await;
    let bucket = moto.create_bucket(&s3, "eb-recordings").await;
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "notification config: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        });
    let chunk_queue = queue_for_rule(&sqs, &events, &pattern("chunk-object-created.json")).await;
    let manifest_queue =
        queue_for_rule(&sqs, &events, &pattern("manifest-object-created.json")).await;
    let store = Arc::new(S3ObjectStore::new(s3));
    let user = UserId::new("user_eb").unwrap();
    let recording = RecordingId::new(unique_name("rec")).unwrap();
    let chunk = chunk_key(&user, &recording, ChunkIndex::new(0).unwrap());
    let manifest = manifest_key(&user, &recording);

    let put = store
        .put_bytes(&bucket, &chunk, mp4_bytes(b"audio"), "video/mp4")
        .await
        .unwrap();
    store
        .put_bytes(
            &bucket,
            &manifest,
            Bytes::from_static(br#"{"expectedChunkCount":1}"#),
            "application/json",
        )
        .await
        .unwrap();
    store
        .put_bytes(
            &bucket,
            &format!("users/{user}/notes.txt"),
            Bytes::from_static(b"x"),
            "text/plain",
        )
        .await
        .unwrap();

    let chunk_events = receive(&sqs, &chunk_queue, &bucket, 1).await;
    let manifest_events = receive(&sqs, &manifest_queue, &bucket, 1).await;
    assert_eq!(
        chunk_events.len(),
        1,
        "exactly the chunk: {chunk_events:#?}"
    );
    assert_eq!(
        created_key(&chunk_events[0]),
        (chunk.clone(), put.etag.clone())
    );
    assert_eq!(
        manifest_events.len(),
        1,
        "exactly the manifest: {manifest_events:#?}"
    );
    assert_eq!(created_key(&manifest_events[0]).0, manifest);

    // The event as the queue delivered it drives the real handler over the AWS adapters.
    let chunk_table = unique_name("eb-chunks");
    let catalog_table = unique_name("eb-catalog");
    create_chunk_table(&dynamodb, &chunk_table).await.unwrap();
    create_catalog_table(&dynamodb, &catalog_table)
        .await
        .unwrap();
    let chunks = Arc::new(DynamoDbChunkTable::new(dynamodb.clone(), chunk_table));
    let ports = Ports {
        objects: store,
        chunks: chunks.clone(),
        catalog: Arc::new(DynamoDbCatalog::new(dynamodb, catalog_table)),
        workflows: Arc::new(MemoryWorkflowStarter::new()),
        clock: Arc::new(ManualClock::fixed()),
        metrics: Arc::new(RecordingMetrics::new()),
        config: IngestConfig::new(bucket.clone()),
    };
    let event = serde_json::from_str(&chunk_events[0]).unwrap();
    recorder_lambdas::ingest::handle_event(&ports, event)
        .await
        .unwrap_or_else(|e| panic!("handler: {e}"));
    let recorded = chunks
        .chunks(&RecordingRef::new(user.clone(), recording.clone()))
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].etag, put.etag);
    assert_eq!(recorded[0].s3_key, chunk);
}
