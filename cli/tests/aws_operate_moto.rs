//! The operator commands on the AWS backend against moto (S3, DynamoDB, Step Functions):
//! `status` reads the catalog, the chunk table and DescribeExecution; `reprocess --from summary`
//! starts a new execution with a run suffix whose input carries the stored outputs; `list` uses
//! the catalog's user index. Needs moto (`scripts/setup.sh python`).

use std::sync::Arc;

use bytes::Bytes;
use meeting_domain::contracts::{EndSignal, ProcessingInput, ProcessingOptions, RecordingResults};
use meeting_domain::ports::CatalogPatch;
use meeting_domain::{RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_aws::{SfnExecutions, SfnWorkflowStarter};
use recorder_cli::args::Stage;
use recorder_cli::aws::{AwsBackend, AwsNames};
use recorder_cli::error::CliError;
use recorder_cli::operate::Operator;
use recorder_testkit::moto::{MotoServer, unique_name, workspace_root};
use serde_json::Value;

struct Deployment {
    aws: AwsBackend,
    operator: Operator,
    sfn: aws_sdk_sfn::Client,
    bucket: String,
    state_machine: String,
}

async fn deployment() -> Deployment {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let bucket = moto.create_bucket(&moto.s3_client().await, "ops").await;
    let dynamodb = moto.dynamodb_client().await;
    let catalog_table = unique_name("catalog");
    let chunk_table = unique_name("chunks");
    recorder_aws::create_catalog_table(&dynamodb, &catalog_table)
        .await
        .expect("catalog table");
    recorder_aws::create_chunk_table(&dynamodb, &chunk_table)
        .await
        .expect("chunk table");
    let sfn = moto.sfn_client().await;
    let definition = std::fs::read_to_string(workspace_root().join("asl/processing.asl.json"))
        .expect("generated workflow");
    let state_machine = sfn
        .create_state_machine()
        .name(unique_name("processing"))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/processing")
        .send()
        .await
        .expect("state machine")
        .state_machine_arn()
        .to_owned();
    let names = AwsNames {
        prefix: "mr".into(),
        bucket: Some(bucket.clone()),
        catalog_table,
        chunk_table,
        state_machine_arn: Some(state_machine.clone()),
        events_dlq_url: None,
        lambda_dlq_url: None,
    };
    let aws = AwsBackend::with_sdk(names, sdk);
    let operator = Operator {
        catalog: aws.catalog(),
        chunks: aws.chunks(),
        objects: aws.objects(),
        bucket: bucket.clone(),
        executions: Arc::new(aws.executions().await.expect("executions")),
    };
    Deployment {
        aws,
        operator,
        sfn,
        bucket,
        state_machine,
    }
}

/// A FLAC STREAMINFO header of 3 s at 16 kHz mono.
fn flac_of_three_seconds() -> Bytes {
    let mut head = b"fLaC".to_vec();
    head.extend([0x80, 0, 0, 34]);
    head.extend([0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    let packed: u64 = (16_000 << 44) | (15 << 36) | 48_000;
    head.extend(packed.to_be_bytes());
    head.extend([0; 16]);
    head.extend([0xff; 64]);
    Bytes::from(head)
}

/// A recording of user `u-1` that completed run 0 (execution `id`, running on moto), with its
/// outputs stored.
async fn completed_recording(d: &Deployment, id: &str) -> RecordingRef {
    let recording = RecordingRef::new(UserId::new("u-1").unwrap(), RecordingId::new(id).unwrap());
    let catalog = d.aws.catalog();
    let now = chrono::Utc::now();
    catalog
        .set_expected_count(&recording, 2, EndSignal::Client, now)
        .await
        .expect("expected count");
    let prefix = format!("users/u-1/processed/{id}/");
    let objects = d.aws.objects();
    for (name, body) in [
        ("recording.mp4", Bytes::from_static(b"....ftypisom")),
        ("audio.flac", flac_of_three_seconds()),
        ("transcript.json", Bytes::from_static(b"{}")),
    ] {
        objects
            .put_bytes(
                &d.bucket,
                &format!("{prefix}{name}"),
                body,
                "application/octet-stream",
            )
            .await
            .expect("output");
    }
    let input = ProcessingInput {
        user_id: recording.user_id.clone(),
        recording_id: recording.recording_id.clone(),
        bucket: d.bucket.clone(),
        chunk_count: 2,
        run: 0,
        options: ProcessingOptions::default(),
        resume: None,
        manifest_key: None,
    };
    meeting_domain::ports::WorkflowStarter::start(
        &SfnWorkflowStarter::new(d.sfn.clone(), &d.state_machine),
        id,
        &input,
    )
    .await
    .expect("run 0");
    for (from, to, patch) in [
        (
            RecordingStatus::Recording,
            RecordingStatus::ReadyForProcessing,
            CatalogPatch {
                execution_name: Some(id.to_owned()),
                ..CatalogPatch::default()
            },
        ),
        (
            RecordingStatus::ReadyForProcessing,
            RecordingStatus::Processing,
            CatalogPatch::default(),
        ),
        (
            RecordingStatus::Processing,
            RecordingStatus::Completed,
            CatalogPatch {
                results: Some(RecordingResults {
                    recording_key: format!("{prefix}recording.mp4"),
                    audio_key: format!("{prefix}audio.flac"),
                    transcript_key: format!("{prefix}transcript.json"),
                    summary_key: format!("{prefix}summary.json"),
                    duration_seconds: 3.0,
                }),
                ..CatalogPatch::default()
            },
        ),
    ] {
        assert!(
            catalog
                .transition(&recording, from, to, patch, now)
                .await
                .expect("transition")
        );
    }
    recording
}

#[tokio::test]
async fn status_shows_the_catalog_the_chunks_and_the_execution_from_step_functions() {
    // GIVEN a completed recording whose chunks were never recorded individually
    let d = deployment().await;
    let recording = completed_recording(&d, "rec-status").await;

    // WHEN its status is read
    let view = d.operator.status(&recording).await.expect("status");

    // THEN it names the execution by ARN with the state Step Functions reports
    let execution = view.execution.expect("execution described");
    assert_eq!(
        execution.arn,
        SfnExecutions::new(d.sfn.clone(), &d.state_machine).arn("rec-status")
    );
    assert_eq!(execution.status, "RUNNING");
    assert_eq!(view.record.status, RecordingStatus::Completed);
    assert_eq!(view.chunks.missing, [0, 1]);
    assert!(
        view.next_steps
            .iter()
            .any(|s| s.contains("reprocess rec-status --from summary"))
    );
}

#[tokio::test]
async fn reprocess_from_the_summary_starts_a_suffixed_execution_with_the_stored_outputs() {
    // GIVEN a completed recording
    let d = deployment().await;
    let recording = completed_recording(&d, "rec-again").await;

    // WHEN it is reprocessed from the summary
    let (run, arn) = d
        .operator
        .reprocess(&recording, Stage::Summary)
        .await
        .expect("reprocess");

    // THEN run 1 runs as its own execution, never the original name
    assert_eq!(run, 1);
    let run_one = recording.execution_name(1);
    assert!(arn.ends_with(&format!(":{run_one}")), "{arn}");
    let record = d
        .aws
        .catalog()
        .get(&recording)
        .await
        .unwrap()
        .expect("record");
    assert_eq!(record.status, RecordingStatus::Processing);
    assert_eq!(record.run, 1);
    assert_eq!(record.execution_name.as_deref(), Some(run_one.as_str()));
    // AND its input resumes at the summary with the stored media and transcript
    let described = d
        .sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    let input: Value = serde_json::from_str(described.input().expect("input")).unwrap();
    assert_eq!(input["run"], 1);
    assert_eq!(input["bucket"], d.bucket.as_str());
    assert_eq!(input["resume"]["from"], "summary");
    assert_eq!(
        input["resume"]["transcriptKey"],
        "users/u-1/processed/rec-again/transcript.json"
    );
    assert_eq!(
        input["resume"]["media"]["audioKey"],
        "users/u-1/processed/rec-again/audio.flac"
    );
    assert_eq!(input["resume"]["media"]["durationSeconds"], 3.0);
    assert_eq!(
        input["resume"]["media"]["audioBytes"],
        flac_of_three_seconds().len()
    );

    // AND a second reprocess while it runs is refused
    let again = d.operator.reprocess(&recording, Stage::Summary).await;
    assert!(
        matches!(again, Err(CliError::NotReprocessable { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn list_reads_a_users_recordings_from_the_user_index_with_an_optional_status() {
    // GIVEN two recordings of user u-1, one completed
    let d = deployment().await;
    completed_recording(&d, "rec-list-a").await;
    let user = UserId::new("u-1").unwrap();
    let now = chrono::Utc::now();
    d.aws
        .catalog()
        .ensure(
            &RecordingRef::new(user.clone(), RecordingId::new("rec-list-b").unwrap()),
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .expect("second recording");

    // WHEN they are listed, all and only the completed ones
    let all = d.operator.list(&user, None, 10).await.expect("list");
    let completed = d
        .operator
        .list(&user, Some(RecordingStatus::Completed), 10)
        .await
        .expect("list completed");

    // THEN the index answers both
    let ids = |records: &[meeting_domain::contracts::CatalogRecord]| {
        let mut ids: Vec<String> = records.iter().map(|r| r.recording_id.to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&all), ["rec-list-a", "rec-list-b"]);
    assert_eq!(ids(&completed), ["rec-list-a"]);
}
