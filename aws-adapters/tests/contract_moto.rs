//! The port contract suites of `recorder-testkit` run against the DynamoDB and S3 adapters on a
//! pinned moto server (one per test binary, started on first use; `scripts/setup.sh python`
//! installs it), plus the adapter behaviour that only a real service shows: S3 checksums and
//! multipart, DynamoDB indexes and the table schemas, Step Functions name idempotency.

use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use meeting_domain::contracts::{ProcessingInput, ProcessingOptions};
use meeting_domain::ports::{Catalog, ChunkTable, ObjectStore, StartOutcome, WorkflowStarter};
use meeting_domain::{PortError, RecordingId, RecordingRef, UserId};
use recorder_aws::{
    DynamoDbCatalog, DynamoDbChunkTable, S3ObjectStore, SfnWorkflowStarter, create_catalog_table,
    create_chunk_table,
};
use recorder_testkit::contract;
use recorder_testkit::moto::{MotoServer, unique_name};
use sha2::{Digest, Sha256};

async fn chunk_table() -> DynamoDbChunkTable {
    let moto = MotoServer::shared();
    let client = moto.dynamodb_client().await;
    let name = unique_name("chunks");
    create_chunk_table(&client, &name)
        .await
        .unwrap_or_else(|err| panic!("creating the chunk table on moto: {err}"));
    DynamoDbChunkTable::new(client, name)
}

async fn catalog() -> DynamoDbCatalog {
    let moto = MotoServer::shared();
    let client = moto.dynamodb_client().await;
    let name = unique_name("catalog");
    create_catalog_table(&client, &name)
        .await
        .unwrap_or_else(|err| panic!("creating the catalog table on moto: {err}"));
    DynamoDbCatalog::new(client, name)
}

async fn object_store() -> (S3ObjectStore, String) {
    let moto = MotoServer::shared();
    let client = moto.s3_client().await;
    let bucket = moto.create_bucket(&client, "recordings").await;
    (S3ObjectStore::new(client), bucket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_chunk_table_passes_the_chunk_table_contract() {
    let table = chunk_table().await;
    contract::chunk_table::run_all(|| table.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_catalog_passes_the_catalog_contract() {
    let catalog = catalog().await;
    contract::catalog::run_all(|| catalog.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_object_store_passes_the_object_store_contract() {
    let (store, bucket) = object_store().await;
    contract::object_store::run_all(&store, &bucket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_object_store_passes_the_object_store_contract_with_multipart_uploads() {
    let (store, bucket) = object_store().await;
    // Every file above 5 MiB goes multipart in 5 MiB parts: the contract's 6 MiB file has two.
    let store = store.with_multipart(
        recorder_aws::object_store::MIN_PART_SIZE,
        recorder_aws::object_store::MIN_PART_SIZE,
    );
    contract::object_store::run_all(&store, &bucket).await;
}

#[tokio::test]
async fn given_bytes_put_through_the_adapter_when_heading_then_s3_reports_their_sha256() {
    let (store, bucket) = object_store().await;
    let body = Bytes::from_static(b"\0\0\0\x18ftypisom not really a movie");

    let put = store
        .put_bytes(
            &bucket,
            "users/u/chunks/r/chunk_000.mp4",
            body.clone(),
            "video/mp4",
        )
        .await
        .unwrap();
    let head = store
        .head(&bucket, "users/u/chunks/r/chunk_000.mp4")
        .await
        .unwrap()
        .unwrap();

    let expected = hex::encode(Sha256::digest(&body));
    assert_eq!(head.sha256.as_deref(), Some(expected.as_str()));
    assert_eq!(put.sha256.as_deref(), Some(expected.as_str()));
}

#[tokio::test]
async fn given_a_file_uploaded_in_one_put_when_heading_then_s3_reports_its_sha256() {
    let (store, bucket) = object_store().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audio.flac");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &body).unwrap();

    store
        .upload_from(
            &bucket,
            "users/u/processed/r/audio.flac",
            &path,
            "audio/flac",
        )
        .await
        .unwrap();
    let head = store
        .head(&bucket, "users/u/processed/r/audio.flac")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(head.size, body.len() as u64);
    assert_eq!(
        head.sha256.as_deref(),
        Some(hex::encode(Sha256::digest(&body)).as_str())
    );
}

#[tokio::test]
async fn given_a_file_above_the_threshold_when_uploading_then_it_goes_multipart_without_a_sha256() {
    let (store, bucket) = object_store().await;
    let part = recorder_aws::object_store::MIN_PART_SIZE;
    let store = store.with_multipart(part, part);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recording.mp4");
    let size = usize::try_from(2 * part + 123).unwrap();
    let body: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &body).unwrap();

    let meta = store
        .upload_from(
            &bucket,
            "users/u/processed/r/recording.mp4",
            &path,
            "video/mp4",
        )
        .await
        .unwrap();
    let head = store
        .head(&bucket, "users/u/processed/r/recording.mp4")
        .await
        .unwrap()
        .unwrap();

    assert!(
        head.etag.ends_with("-3"),
        "three parts, got ETag {}",
        head.etag
    );
    assert_eq!(meta.etag, head.etag);
    assert_eq!(
        (meta.size, head.size),
        (body.len() as u64, body.len() as u64)
    );
    assert_eq!(head.sha256, None);
    let back = dir.path().join("back.mp4");
    assert_eq!(
        store
            .download_to(&bucket, "users/u/processed/r/recording.mp4", &back)
            .await
            .unwrap(),
        body.len() as u64
    );
    assert!(std::fs::read(&back).unwrap() == body);
}

#[tokio::test]
async fn given_a_bucket_that_does_not_exist_when_putting_then_rejected_not_retryable() {
    let moto = MotoServer::shared();
    let store = S3ObjectStore::new(moto.s3_client().await);

    let result = store
        .put_bytes(
            &unique_name("absent"),
            "k",
            Bytes::from_static(b"x"),
            "text/plain",
        )
        .await;

    assert!(
        matches!(result, Err(PortError::Rejected { .. })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn given_chunks_of_many_users_when_listing_one_user_then_only_theirs_newest_first() {
    let table = chunk_table().await;
    let user = UserId::new("user_a").unwrap();
    let other = UserId::new("user_b").unwrap();
    for (i, owner) in [(0, &user), (1, &other), (2, &user), (3, &user)] {
        let rec = RecordingId::new(format!("rec_{i}")).unwrap();
        let chunk = contract::chunk_table::chunk(&rec, owner, i, &format!("e{i}"), "0A");
        assert_eq!(
            table.record(&chunk).await.unwrap(),
            meeting_domain::ports::RecordOutcome::Inserted
        );
    }

    let since = table
        .chunks_of_user(&user, Some("2026-01-01T00:00:02.000Z"), 10)
        .await
        .unwrap();

    let indices: Vec<u32> = since.iter().map(|c| c.chunk_index.get()).collect();
    assert_eq!(indices, vec![3, 2]);
}

#[tokio::test]
async fn given_many_recordings_when_sweeping_then_only_the_due_ones_earliest_first() {
    let catalog = catalog().await;
    let users = [
        UserId::new("user_sweep_a").unwrap(),
        UserId::new("user_sweep_b").unwrap(),
    ];
    let created = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    // Sweep times out of insertion order and spread over two users (two catalog partitions): the
    // sparse index orders them.
    for i in 0..25 {
        let rec = RecordingId::new(format!("rec_{i:02}")).unwrap();
        let recording = RecordingRef::new(users[i % 2].clone(), rec);
        let offset = i64::try_from((i * 7) % 25).unwrap();
        catalog
            .ensure(
                &recording,
                created,
                created + chrono::Duration::seconds(offset),
            )
            .await
            .unwrap();
    }
    // A recording taken off the index is never due.
    let off = RecordingRef::new(users[0].clone(), RecordingId::new("rec_00").unwrap());
    catalog.set_sweep_at(&off, None).await.unwrap();

    let now = created + chrono::Duration::seconds(19);
    let due = catalog.due_for_sweep(now, 100).await.unwrap();
    let first = catalog.due_for_sweep(now, 7).await.unwrap();

    assert_eq!(due.len(), 19, "sweepAt 0..=19 s, less the one taken off");
    assert!(
        due.windows(2).all(|w| w[0].sweep_at < w[1].sweep_at),
        "earliest first: {:?}",
        due.iter().map(|r| &r.sweep_at).collect::<Vec<_>>()
    );
    assert!(due.iter().all(|r| r.recording() != off));
    assert_eq!(first, due[..7].to_vec(), "bounded: the earliest `limit`");
}

#[tokio::test]
async fn step_functions_on_moto_honours_name_idempotency() {
    let moto = MotoServer::shared();
    let client = moto.sfn_client().await;
    let machine = client
        .create_state_machine()
        .name(unique_name("processing"))
        .definition(
            r#"{"StartAt":"Wait","States":{"Wait":{"Type":"Wait","Seconds":600,"End":true}}}"#,
        )
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .unwrap_or_else(|err| panic!("{}", aws_sdk_sfn::error::DisplayErrorContext(err)));
    // Same host, same clock: no skew to tolerate beyond moto's millisecond timestamps.
    let starter = SfnWorkflowStarter::new(client, machine.state_machine_arn())
        .with_skew_tolerance(Duration::from_millis(2));
    let rec = RecordingRef::new(
        UserId::new("user_1").unwrap(),
        RecordingId::new(unique_name("rec")).unwrap(),
    );
    let input = ProcessingInput {
        user_id: rec.user_id.clone(),
        recording_id: rec.recording_id.clone(),
        bucket: "recordings".into(),
        chunk_count: 3,
        run: 0,
        options: ProcessingOptions::default(),
        resume: None,
        manifest_key: None,
    };

    let first = starter.start(&rec.execution_name(0), &input).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let replay = starter.start(&rec.execution_name(0), &input).await.unwrap();
    let other = starter
        .start(
            &rec.execution_name(0),
            &ProcessingInput {
                chunk_count: 4,
                ..input.clone()
            },
        )
        .await;

    let StartOutcome::Started { execution_arn } = first else {
        panic!("first start: {first:?}");
    };
    assert_eq!(replay, StartOutcome::AlreadyRunning { execution_arn });
    assert!(
        matches!(other, Err(PortError::Conflict { .. })),
        "got {other:?}"
    );
}
