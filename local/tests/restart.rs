//! The local engine keeps executions in memory: a restart of the backend must pick up the
//! recordings the catalog shows as in flight, not leave them `processing` forever.

use std::time::Duration;

use chrono::Utc;
use meeting_domain::contracts::CatalogRecord;
use meeting_domain::ports::Catalog;
use meeting_domain::status::RecordingStatus;
use meeting_domain::{RecordingId, RecordingRef, UserId};
use recorder_local::runtime::{LocalBackend, LocalConfig, Workers};

fn record(id: &str, status: RecordingStatus) -> CatalogRecord {
    let user = UserId::new("restart-user").expect("user id");
    let recording = RecordingId::new(id).expect("recording id");
    let recording = RecordingRef::new(user, recording);
    let mut record = CatalogRecord::new_recording(&recording, Utc::now());
    record.status = status;
    record.expected_chunk_count = Some(3);
    record.stopped_at = Some(meeting_domain::contracts::timestamp(Utc::now()));
    record.execution_name = Some(recording.execution_name(0));
    record
}

fn config(data: &std::path::Path) -> LocalConfig {
    let mut config = LocalConfig::new(data);
    config.workers = Workers::None;
    config.sweep_interval = Duration::from_secs(3600);
    config
}

#[tokio::test]
async fn given_recordings_in_flight_when_the_backend_restarts_then_each_gets_its_execution_again() {
    // GIVEN a data directory whose catalog has recordings processing, ready and completed
    let data = tempfile::tempdir().expect("temp dir");
    let first = LocalBackend::start(config(data.path()))
        .await
        .expect("start");
    let in_flight = [
        record("was-processing", RecordingStatus::Processing),
        record("was-ready", RecordingStatus::ReadyForProcessing),
    ];
    let done = record("was-completed", RecordingStatus::Completed);
    for r in in_flight.iter().chain([&done]) {
        first
            .catalog()
            .replace(r.clone())
            .await
            .expect("seed the catalog");
    }
    first.shutdown().await;

    // WHEN the backend starts again on it
    let second = LocalBackend::start(config(data.path()))
        .await
        .expect("restart");

    // THEN the in-flight recordings run again under their execution names, and are processing
    for r in &in_flight {
        let name = r.execution_name.as_deref().expect("execution name");
        let execution = second
            .engine()
            .describe_execution(&second.execution_arn(name));
        assert!(execution.is_ok(), "{name} was not restarted");
        let now = second
            .catalog()
            .get(&r.recording())
            .await
            .expect("catalog")
            .expect("record");
        assert_eq!(
            now.status,
            RecordingStatus::Processing,
            "{}",
            r.recording_id
        );
    }
    // AND a completed recording is left alone
    let name = done.execution_name.as_deref().expect("execution name");
    assert!(
        second
            .engine()
            .describe_execution(&second.execution_arn(name))
            .is_err(),
        "a completed recording was started again"
    );
    second.shutdown().await;
}
