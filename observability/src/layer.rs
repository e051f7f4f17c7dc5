//! Turns the worker's task spans into X-Ray segments of the recording's trace.
//!
//! Step Functions passes no trace context to activity tasks, so the worker cannot know the trace
//! when a task starts. [`XrayLayer`] watches spans of one name (the runtime's `activity_task`
//! span, whose fields are `activity`, `task_id` and `recording_id`), timing each from creation
//! to close and noting failures; closed spans go over a bounded channel (never blocking the
//! worker) to a [`SegmentExporter`], which asks a [`TraceLookup`] for the trace header of the
//! recording's execution and sends a segment, child of that header's parent, to the daemon.
//!
//! Failure marks: an ERROR event inside the span sets `fault`; the runtime's `task reported`
//! event carries `succeeded` (a bool) and `result` (`Succeeded`, `Failed { .. }`, …): a task that
//! did not succeed sets `error`, and the result text goes to the segment metadata.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::daemon::{DaemonClient, Segment};
use crate::error::ObservabilityError;
use crate::trace_header::{TraceHeader, new_segment_id};

/// Closed spans waiting for export. A full queue drops spans (tracing is best effort; the work
/// must never wait for it). 1024 covers far more tasks than a worker runs at once.
const QUEUE_CAPACITY: usize = 1024;

/// The span field naming the recording whose trace a span joins.
pub const RECORDING_FIELD: &str = "recording_id";

/// The event field holding a task's result, as text.
const RESULT_FIELD: &str = "result";

/// The event field telling whether the task succeeded.
const SUCCEEDED_FIELD: &str = "succeeded";

/// Finds the trace a recording's work belongs to.
#[async_trait]
pub trait TraceLookup: Send + Sync {
    /// The trace header of the recording's running execution, `None` when there is none.
    async fn trace_header(
        &self,
        recording_id: &str,
    ) -> Result<Option<TraceHeader>, ObservabilityError>;
}

/// A watched span after it closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedSpan {
    /// The span's fields, as text.
    pub fields: BTreeMap<String, String>,
    /// When the span was created.
    pub start: SystemTime,
    /// When it closed.
    pub end: SystemTime,
    /// An ERROR event happened inside it.
    pub fault: bool,
    /// The `result` field of an event inside it, if any.
    pub result: Option<String>,
    /// The `succeeded` field of an event inside it, if any.
    pub succeeded: Option<bool>,
}

#[derive(Default)]
struct FieldText(BTreeMap<String, String>);

impl Visit for FieldText {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// The layer; build it with [`XrayLayer::new`] and hand the receiver to [`SegmentExporter::run`].
#[derive(Debug)]
pub struct XrayLayer {
    span_name: &'static str,
    queue: mpsc::Sender<FinishedSpan>,
}

impl XrayLayer {
    /// Watches spans named `span_name`.
    pub fn new(span_name: &'static str) -> (Self, mpsc::Receiver<FinishedSpan>) {
        let (queue, finished) = mpsc::channel(QUEUE_CAPACITY);
        (Self { span_name, queue }, finished)
    }
}

impl<S> Layer<S> for XrayLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != self.span_name {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FieldText::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(FinishedSpan {
            fields: fields.0,
            start: SystemTime::now(),
            end: SystemTime::now(),
            fault: false,
            result: None,
            succeeded: None,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(data) = span.extensions_mut().get_mut::<FinishedSpan>() {
            let mut fields = FieldText::default();
            values.record(&mut fields);
            data.fields.extend(fields.0);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            let mut extensions = span.extensions_mut();
            let Some(data) = extensions.get_mut::<FinishedSpan>() else {
                continue;
            };
            if *event.metadata().level() == Level::ERROR {
                data.fault = true;
            }
            let mut fields = FieldText::default();
            event.record(&mut fields);
            if let Some(result) = fields.0.remove(RESULT_FIELD) {
                data.result = Some(result);
            }
            if let Some(succeeded) = fields.0.remove(SUCCEEDED_FIELD) {
                data.succeeded = Some(succeeded == "true");
            }
            return;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut data) = span.extensions_mut().remove::<FinishedSpan>() else {
            return;
        };
        data.end = SystemTime::now();
        // Full or closed queue: the segment is dropped, the task is not delayed.
        let _ = self.queue.try_send(data);
    }
}

/// Looks up traces and sends segments.
pub struct SegmentExporter {
    lookup: Arc<dyn TraceLookup>,
    daemon: DaemonClient,
    service: String,
}

impl fmt::Debug for SegmentExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentExporter")
            .field("daemon", &self.daemon)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl SegmentExporter {
    /// Segments named `service` (the trace map's node), sent to `daemon`.
    pub fn new(
        lookup: Arc<dyn TraceLookup>,
        daemon: DaemonClient,
        service: impl Into<String>,
    ) -> Self {
        Self {
            lookup,
            daemon,
            service: service.into(),
        }
    }

    /// The segment of one finished span in the trace `header`.
    pub fn segment(&self, span: &FinishedSpan, header: &TraceHeader) -> Segment {
        let mut segment = Segment::new(
            &self.service,
            new_segment_id(),
            header.root.clone(),
            span.start,
            span.end,
        );
        segment.parent_id.clone_from(&header.parent);
        segment.origin = Some("AWS::ECS::Container".to_owned());
        segment.fault = span.fault;
        segment.error = span.succeeded == Some(false);
        for (key, value) in &span.fields {
            segment
                .annotations
                .insert(key.clone(), Value::from(value.as_str()));
        }
        if let Some(result) = &span.result {
            segment
                .metadata
                .insert(RESULT_FIELD.to_owned(), Value::from(result.as_str()));
        }
        segment
    }

    /// Exports one span: `Ok(None)` when it names no recording, the recording has no traced
    /// execution, or the trace is not sampled.
    ///
    /// # Errors
    /// [`ObservabilityError`] from the lookup or the daemon.
    pub async fn export(&self, span: &FinishedSpan) -> Result<Option<Segment>, ObservabilityError> {
        let Some(recording) = span.fields.get(RECORDING_FIELD) else {
            return Ok(None);
        };
        let Some(header) = self.lookup.trace_header(recording).await? else {
            return Ok(None);
        };
        if !header.is_sampled() {
            return Ok(None);
        }
        let segment = self.segment(span, &header);
        self.daemon.send(&segment).await?;
        tracing::info!(
            recording_id = %recording,
            trace_id = %segment.trace_id,
            segment_id = %segment.id,
            "x-ray segment sent"
        );
        Ok(Some(segment))
    }

    /// Exports spans until every [`XrayLayer`] sender is gone. Failures are logged and skipped.
    pub async fn run(self, mut finished: mpsc::Receiver<FinishedSpan>) {
        while let Some(span) = finished.recv().await {
            if let Err(e) = self.export(&span).await {
                tracing::warn!(
                    recording_id = span.fields.get(RECORDING_FIELD).map(String::as_str),
                    error = %e,
                    "x-ray segment not sent"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::net::UdpSocket;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    /// Answers a fixed header for one recording and records the questions.
    struct FixedLookup {
        recording: &'static str,
        header: &'static str,
        asked: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl TraceLookup for FixedLookup {
        async fn trace_header(
            &self,
            recording_id: &str,
        ) -> Result<Option<TraceHeader>, ObservabilityError> {
            self.asked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(recording_id.to_owned());
            if recording_id == self.recording {
                TraceHeader::parse(self.header).map(Some)
            } else {
                Ok(None)
            }
        }
    }

    fn lookup(header: &'static str) -> Arc<FixedLookup> {
        Arc::new(FixedLookup {
            recording: "rec_1",
            header,
            asked: Mutex::new(Vec::new()),
        })
    }

    /// Runs `work` under a subscriber with the layer and returns what it queued.
    fn spans_of(work: impl FnOnce()) -> Vec<FinishedSpan> {
        let (layer, mut finished) = XrayLayer::new("activity_task");
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, work);
        let mut spans = Vec::new();
        while let Ok(span) = finished.try_recv() {
            spans.push(span);
        }
        spans
    }

    #[test]
    fn given_a_task_span_when_it_closes_then_its_fields_result_and_failure_are_queued() {
        let spans = spans_of(|| {
            let span = tracing::info_span!(
                "activity_task",
                activity = "PrepareMedia",
                task_id = "abc",
                recording_id = tracing::field::Empty
            );
            span.record("recording_id", "rec_1");
            let _entered = span.enter();
            let inner = tracing::info_span!("ffmpeg");
            let _inner = inner.enter();
            tracing::error!("ffmpeg crashed");
            tracing::info!(result = ?"Failed", succeeded = false, "task reported");
        });
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.fields["activity"], "PrepareMedia");
        assert_eq!(span.fields["recording_id"], "rec_1");
        assert!(span.fault);
        assert_eq!(span.result.as_deref(), Some("\"Failed\""));
        assert_eq!(span.succeeded, Some(false));
        assert!(span.end >= span.start);
    }

    #[test]
    fn given_other_spans_when_they_close_then_nothing_is_queued() {
        let spans = spans_of(|| {
            let span = tracing::info_span!("poll", recording_id = "rec_1");
            let _entered = span.enter();
            tracing::error!("poll failed");
        });
        assert!(spans.is_empty());
    }

    fn finished(recording: &str) -> FinishedSpan {
        let start = SystemTime::now();
        FinishedSpan {
            fields: BTreeMap::from([
                ("activity".to_owned(), "Summarize".to_owned()),
                (RECORDING_FIELD.to_owned(), recording.to_owned()),
            ]),
            start,
            end: start,
            fault: false,
            result: Some("Succeeded".to_owned()),
            succeeded: Some(true),
        }
    }

    async fn daemon() -> (UdpSocket, DaemonClient) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let client = DaemonClient::connect(socket.local_addr().unwrap())
            .await
            .unwrap();
        (socket, client)
    }

    #[tokio::test]
    async fn given_a_sampled_execution_trace_when_a_span_is_exported_then_the_daemon_gets_a_child_segment()
     {
        let (socket, client) = daemon().await;
        let lookup = lookup(HEADER);
        let exporter = SegmentExporter::new(lookup.clone(), client, "meeting-recorder-worker");

        let sent = exporter.export(&finished("rec_1")).await.unwrap().unwrap();

        let mut buf = vec![0u8; 65_536];
        let (len, _) = socket.recv_from(&mut buf).await.unwrap();
        let text = std::str::from_utf8(&buf[..len]).unwrap();
        let body: Value = serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
        assert_eq!(body["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(body["parent_id"], "53995c3f42cd8ad8");
        assert_eq!(body["id"], sent.id.as_str());
        assert_eq!(body["name"], "meeting-recorder-worker");
        assert_eq!(body["annotations"]["recording_id"], "rec_1");
        assert_eq!(body["annotations"]["activity"], "Summarize");
        assert!(body.get("error").is_none());
        assert_eq!(
            *lookup.asked.lock().unwrap_or_else(|e| e.into_inner()),
            ["rec_1"]
        );
    }

    #[tokio::test]
    async fn given_no_trace_or_an_unsampled_one_when_exported_then_nothing_is_sent() {
        let (_socket, client) = daemon().await;
        let exporter = SegmentExporter::new(lookup(HEADER), client, "w");
        assert_eq!(exporter.export(&finished("rec_other")).await.unwrap(), None);
        let mut anonymous = finished("rec_1");
        anonymous.fields.remove(RECORDING_FIELD);
        assert_eq!(exporter.export(&anonymous).await.unwrap(), None);

        let (_socket, client) = daemon().await;
        let unsampled = SegmentExporter::new(
            lookup("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"),
            client,
            "w",
        );
        assert_eq!(unsampled.export(&finished("rec_1")).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_failed_task_result_marks_the_segment_as_an_error() {
        let (_socket, client) = daemon().await;
        let exporter = SegmentExporter::new(lookup(HEADER), client, "w");
        let mut span = finished("rec_1");
        span.result = Some("Failed { error: \"Media.InvalidChunk\" }".to_owned());
        span.succeeded = Some(false);
        let header = TraceHeader::parse(HEADER).unwrap();
        let segment = exporter.segment(&span, &header);
        assert!(segment.error);
        assert!(!segment.fault);
        assert_eq!(
            segment.metadata["result"],
            "Failed { error: \"Media.InvalidChunk\" }"
        );
    }
}
