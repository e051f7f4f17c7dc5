//! `recorder dlq` against moto (SQS, S3, DynamoDB): dead letters in both body formats go through
//! the ingest handler with the AWS ports; a duplicate does not count twice; a poison message stays
//! in the queue and is reported every time. Needs moto (`scripts/setup.sh python`).

use std::collections::BTreeSet;

use meeting_domain::{RecordingId, RecordingRef, UserId};
use recorder_aws::SqsDeadLetterQueue;
use recorder_cli::aws::{AwsBackend, AwsNames};
use recorder_cli::dlq::{self, Verdict};
use recorder_testkit::chaos::{mp4_bytes, object_created_event};
use recorder_testkit::moto::{MotoServer, unique_name};
use serde_json::{Value, json};

struct Deployment {
    aws: AwsBackend,
    bucket: String,
    queue: SqsDeadLetterQueue,
}

async fn deployment() -> Deployment {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let bucket = moto.create_bucket(&moto.s3_client().await, "dlq").await;
    let dynamodb = moto.dynamodb_client().await;
    let catalog_table = unique_name("catalog");
    let chunk_table = unique_name("chunks");
    recorder_aws::create_catalog_table(&dynamodb, &catalog_table)
        .await
        .expect("catalog table");
    recorder_aws::create_chunk_table(&dynamodb, &chunk_table)
        .await
        .expect("chunk table");
    let sqs = moto.sqs_client().await;
    let url = sqs
        .create_queue()
        .queue_name(unique_name("events-dlq"))
        .send()
        .await
        .expect("queue")
        .queue_url()
        .expect("queue url")
        .to_owned();
    let names = AwsNames {
        prefix: "mr".into(),
        bucket: Some(bucket.clone()),
        catalog_table,
        chunk_table,
        // Never called: no recording here completes.
        state_machine_arn: Some(
            "arn:aws:states:us-east-1:123456789012:stateMachine:mr-processing".into(),
        ),
        events_dlq_url: Some(url.clone()),
        lambda_dlq_url: None,
    };
    Deployment {
        aws: AwsBackend::with_sdk(names, sdk),
        bucket,
        queue: SqsDeadLetterQueue::new(sqs, url),
    }
}

/// Uploads chunk `index` of `rec-1` and returns its "Object Created" event.
async fn uploaded_chunk(d: &Deployment, index: u32) -> Value {
    let key = format!("users/u-1/chunks/rec-1/chunk_{index:03}.mp4");
    let meta = d
        .aws
        .objects()
        .put_bytes(&d.bucket, &key, mp4_bytes(b"payload"), "video/mp4")
        .await
        .expect("put chunk");
    object_created_event(
        &d.bucket,
        &key,
        meta.size,
        &meta.etag,
        &format!("0A{index:014}"),
        chrono::Utc::now(),
    )
}

/// A Lambda on-failure destination record around `event`.
fn invocation_record(event: &Value) -> Value {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-28T00:00:00.000Z",
        "requestContext": {
            "requestId": "req-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:mr-chunk-upload-handler:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Recorder.Retryable", "errorMessage": "dynamodb is unavailable; retry later"}
    })
}

/// An "Object Created" event without the object: the handler rejects it every time.
fn poison_event(bucket: &str) -> Value {
    json!({
        "version": "0", "id": "poison-1", "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": "2026-11-28T00:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {"bucket": {"name": bucket}}
    })
}

async fn send(d: &Deployment, body: &Value) -> String {
    let sqs = MotoServer::shared().sqs_client().await;
    sqs.send_message()
        .queue_url(d.queue.url())
        .message_body(body.to_string())
        .send()
        .await
        .expect("send")
        .message_id()
        .expect("message id")
        .to_owned()
}

async fn ids_in_queue(d: &Deployment) -> BTreeSet<String> {
    let letters = d.queue.receive(10, 0, 0).await.expect("receive");
    letters.into_iter().map(|l| l.message_id).collect()
}

#[tokio::test]
async fn replay_records_each_chunk_once_keeps_the_poison_message_and_reports_all_of_it() {
    // GIVEN chunk 0 in the EventBridge format, the same event again inside a Lambda invocation
    // record (a duplicate), chunk 1 in the invocation format, and a poison message.
    let d = deployment().await;
    let chunk0 = uploaded_chunk(&d, 0).await;
    let chunk1 = uploaded_chunk(&d, 1).await;
    send(&d, &chunk0).await;
    send(&d, &invocation_record(&chunk0)).await;
    send(&d, &invocation_record(&chunk1)).await;
    let poison = send(&d, &poison_event(&d.bucket)).await;
    let ports = d.aws.ports().await.expect("ports");

    // WHEN the queue is replayed
    let report = dlq::replay(&d.queue, &ports, 100).await.expect("replay");

    // THEN two chunks were recorded, the duplicate was skipped, the poison message still fails
    assert_eq!(
        (report.replayed, report.skipped, report.still_failing),
        (2, 1, 1),
        "{report:#?}"
    );
    let formats: BTreeSet<&str> = report.messages.iter().map(|m| m.format.as_str()).collect();
    assert_eq!(
        formats,
        BTreeSet::from(["event", "lambda-invocation-record"])
    );
    let poisoned = report
        .messages
        .iter()
        .find(|m| m.message_id == poison)
        .expect("poison reported");
    assert!(
        matches!(&poisoned.verdict, Some(Verdict::StillFailing(e)) if e.contains("malformed")),
        "{poisoned:?}"
    );
    // AND the chunk table holds each chunk once
    let recording = RecordingRef::new(
        UserId::new("u-1").unwrap(),
        RecordingId::new("rec-1").unwrap(),
    );
    let chunks = d.aws.chunks().chunks(&recording).await.expect("chunks");
    let indices: Vec<u32> = chunks.iter().map(|c| c.chunk_index.get()).collect();
    assert_eq!(indices, [0, 1]);
    // AND only the poison message is left, visible again at once
    assert_eq!(ids_in_queue(&d).await, BTreeSet::from([poison.clone()]));

    // WHEN the queue is replayed again (nothing was fixed)
    let again = dlq::replay(&d.queue, &ports, 100).await.expect("replay");

    // THEN the poison message is reported again and stays
    assert_eq!(
        (again.replayed, again.skipped, again.still_failing),
        (0, 0, 1),
        "{again:#?}"
    );
    assert_eq!(ids_in_queue(&d).await, BTreeSet::from([poison]));
}

#[tokio::test]
async fn an_event_replayed_after_the_chunk_was_recorded_is_skipped_not_counted() {
    // GIVEN a chunk that the handler already recorded (the Lambda succeeded on a later retry)
    let d = deployment().await;
    let chunk = uploaded_chunk(&d, 0).await;
    let ports = d.aws.ports().await.expect("ports");
    let event = serde_json::from_value(chunk.clone()).expect("event");
    recorder_lambdas::ingest::handle_event(&ports, event)
        .await
        .expect("first delivery");
    send(&d, &chunk).await;

    // WHEN its dead letter is replayed
    let report = dlq::replay(&d.queue, &ports, 100).await.expect("replay");

    // THEN it is skipped as already recorded and deleted
    assert_eq!(
        (report.replayed, report.skipped, report.still_failing),
        (0, 1, 0)
    );
    assert!(matches!(
        report.messages[0].verdict,
        Some(Verdict::AlreadyRecorded(_))
    ));
    assert!(ids_in_queue(&d).await.is_empty());
}

#[tokio::test]
async fn inspect_lists_messages_without_removing_them() {
    // GIVEN a message in each format
    let d = deployment().await;
    let chunk = uploaded_chunk(&d, 0).await;
    let a = send(&d, &chunk).await;
    let b = send(&d, &invocation_record(&chunk)).await;

    // WHEN the queue is inspected
    let report = dlq::inspect(&d.queue, 100).await.expect("inspect");

    // THEN both are listed with what they are about and why they failed
    assert_eq!(report.messages.len(), 2, "{report:#?}");
    let key = format!("s3://{}/users/u-1/chunks/rec-1/chunk_000.mp4", d.bucket);
    assert!(report.messages.iter().all(|m| m.subject == key));
    assert!(report.messages.iter().any(|m| {
        m.original_error.as_deref()
            == Some("Recorder.Retryable: dynamodb is unavailable; retry later")
    }));
    // AND both are still in the queue, visible, and nothing was recorded
    assert_eq!(ids_in_queue(&d).await, BTreeSet::from([a, b]));
    let recording = RecordingRef::new(
        UserId::new("u-1").unwrap(),
        RecordingId::new("rec-1").unwrap(),
    );
    assert!(
        d.aws
            .chunks()
            .chunks(&recording)
            .await
            .expect("chunks")
            .is_empty()
    );
}

/// Runs the `recorder` binary against moto with the names in a Terraform outputs file.
fn recorder_on_moto(outputs: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_recorder"))
        .args(["--backend", "aws", "--json", "--terraform-outputs"])
        .arg(outputs)
        .args(["--endpoint-url", MotoServer::shared().endpoint()])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", recorder_testkit::moto::REGION)
        .env_remove("AWS_PROFILE")
        .env_remove("RECORDER_BACKEND")
        .output()
        .expect("run recorder")
}

#[tokio::test]
async fn the_recorder_command_replays_a_queue_named_in_the_terraform_outputs() {
    // GIVEN a deployment described by `terraform output -json`, a chunk event and a poison
    // message in its EventBridge dead-letter queue
    let d = deployment().await;
    let names = d.aws.names().clone();
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs.json");
    let output = |v: &str| json!({"sensitive": false, "type": "string", "value": v});
    std::fs::write(
        &outputs,
        json!({
            "recordings_bucket": output(&d.bucket),
            "catalog_table": output(&names.catalog_table),
            "chunk_table": output(&names.chunk_table),
            "state_machine_arn": output(names.state_machine_arn.as_deref().unwrap()),
            "events_dlq_url": output(d.queue.url()),
        })
        .to_string(),
    )
    .unwrap();
    send(&d, &uploaded_chunk(&d, 0).await).await;
    send(&d, &poison_event(&d.bucket)).await;

    // WHEN `recorder dlq replay --queue events` runs
    let run = recorder_on_moto(&outputs, &["dlq", "replay", "--queue", "events"]);

    // THEN it reports one replayed and one still failing, and exits 1 for the one left
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 dead-letter message(s) still fail"),
        "{stderr}"
    );
    let reports: Value = serde_json::from_slice(&run.stdout).expect("JSON report");
    assert_eq!(reports[0]["replayed"], 1, "{reports}");
    assert_eq!(reports[0]["stillFailing"], 1, "{reports}");

    // AND `recorder status` shows the recorded chunk
    let status = recorder_on_moto(&outputs, &["status", "rec-1", "--user", "u-1"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let view: Value = serde_json::from_slice(&status.stdout).expect("JSON status");
    assert_eq!(view["status"], "recording", "{view}");
    assert_eq!(view["chunks"]["recorded"], json!([0]), "{view}");
}
