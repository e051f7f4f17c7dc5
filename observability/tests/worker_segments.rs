//! The X-Ray layer on the real activity runtime: a task run by `Worker::run_one` from the
//! in-memory task source becomes one segment, sent over UDP to a local "daemon", in the trace
//! of its recording, with the activity, task id and result.

use std::sync::Arc;

use activity_runtime::{Activity, Failure, Registry, TaskContext, Worker, WorkerConfig};
use async_trait::async_trait;
use meeting_domain::activity::{ActivityContract, ActivityErrorName};
use recorder_observability::layer::FinishedSpan;
use recorder_observability::{
    DaemonClient, ObservabilityError, SegmentExporter, TraceHeader, TraceLookup, XrayLayer,
};
use recorder_testkit::memory::task_source::MemoryTaskSource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::UdpSocket;
use tracing_subscriber::layer::SubscriberExt;

const PREFIX: &str = "arn:aws:states:us-east-1:123456789012:activity:test";
const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:test-probe";
const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

struct ProbeContract;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProbeInput {
    recording_id: String,
    fail: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct ProbeOutput {
    ok: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProbeError {
    Broken,
}

impl ActivityErrorName for ProbeError {
    const ALL: &'static [Self] = &[Self::Broken];
    fn name(self) -> &'static str {
        "Probe.Broken"
    }
    fn retryable(self) -> bool {
        false
    }
}

impl ActivityContract for ProbeContract {
    const NAME: &'static str = "probe";
    const HEARTBEAT_SECONDS: u32 = 30;
    const TIMEOUT_SECONDS: u32 = 600;
    type Input = ProbeInput;
    type Output = ProbeOutput;
    type Error = ProbeError;
}

struct Probe;

#[async_trait]
impl Activity for Probe {
    type Contract = ProbeContract;

    async fn run(
        &self,
        input: ProbeInput,
        _ctx: &TaskContext,
    ) -> Result<ProbeOutput, Failure<ProbeError>> {
        if input.fail {
            Err(Failure::new(ProbeError::Broken, "asked to fail"))
        } else {
            Ok(ProbeOutput { ok: true })
        }
    }
}

/// Knows the trace of `rec_traced` only.
struct OneTrace;

#[async_trait]
impl TraceLookup for OneTrace {
    async fn trace_header(
        &self,
        recording_id: &str,
    ) -> Result<Option<TraceHeader>, ObservabilityError> {
        if recording_id == "rec_traced" {
            TraceHeader::parse(HEADER).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Runs one task of `input` under a subscriber with the layer; returns the closed task spans.
async fn run_task(input: &str) -> Vec<FinishedSpan> {
    let (layer, mut finished) = XrayLayer::new("activity_task");
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let source = Arc::new(MemoryTaskSource::new());
    source.enqueue(ARN, input);
    let mut registry = Registry::new(PREFIX);
    registry.register(Probe).unwrap();
    let worker = Worker::new(source, registry, WorkerConfig::default()).unwrap();
    worker.run_one("probe").await.unwrap().unwrap();
    let mut spans = Vec::new();
    while let Ok(span) = finished.try_recv() {
        spans.push(span);
    }
    spans
}

async fn export(span: &FinishedSpan) -> Option<Value> {
    let daemon = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client = DaemonClient::connect(daemon.local_addr().unwrap())
        .await
        .unwrap();
    let exporter = SegmentExporter::new(Arc::new(OneTrace), client, "meeting-recorder-worker");
    exporter.export(span).await.unwrap()?;
    let mut buf = vec![0u8; 65_536];
    let (len, _) = daemon.recv_from(&mut buf).await.unwrap();
    let text = String::from_utf8(buf[..len].to_vec()).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    assert_eq!(header, r#"{"format":"json","version":1}"#);
    Some(serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn given_a_task_of_a_traced_recording_when_it_succeeds_then_one_segment_joins_the_trace() {
    let spans = run_task(r#"{"recordingId":"rec_traced","fail":false}"#).await;
    assert_eq!(spans.len(), 1, "{spans:?}");

    let segment = export(&spans[0]).await.expect("a segment");

    assert_eq!(segment["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
    assert_eq!(segment["parent_id"], "53995c3f42cd8ad8");
    assert_eq!(segment["name"], "meeting-recorder-worker");
    assert_eq!(segment["origin"], "AWS::ECS::Container");
    assert_eq!(segment["annotations"]["activity"], "probe");
    assert_eq!(segment["annotations"]["recording_id"], "rec_traced");
    assert_eq!(
        segment["annotations"]["task_id"].as_str().map(str::len),
        Some(16)
    );
    assert_eq!(segment["metadata"]["result"], "Succeeded");
    assert!(segment.get("error").is_none());
    assert!(segment["end_time"].as_f64() >= segment["start_time"].as_f64());
}

#[tokio::test]
async fn given_a_task_that_fails_when_exported_then_its_segment_is_an_error() {
    let spans = run_task(r#"{"recordingId":"rec_traced","fail":true}"#).await;
    let segment = export(&spans[0]).await.expect("a segment");
    assert_eq!(segment["error"], true);
    assert!(
        segment["metadata"]["result"]
            .as_str()
            .unwrap()
            .starts_with("Failed")
    );
}

#[tokio::test]
async fn given_a_recording_without_a_traced_execution_then_nothing_is_sent() {
    let spans = run_task(r#"{"recordingId":"rec_untraced","fail":false}"#).await;
    assert_eq!(spans.len(), 1);
    assert_eq!(export(&spans[0]).await, None);
}
