//! Business metrics behind a small port: CloudWatch embedded metric format (EMF) on stdout in the
//! Lambdas (CloudWatch Logs extracts them, no PutMetricData call on the hot path), a recording
//! fake in tests.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use chrono::Utc;

/// The counters this crate emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// A chunk was recorded for the first time.
    ChunksRecorded,
    /// A redelivered event for an already recorded chunk.
    DuplicateChunks,
    /// A different object replaced a recorded chunk (newer sequencer).
    ReuploadedChunks,
    /// An older object arrived after a newer one of the same chunk and was ignored.
    StaleChunks,
    /// An object key outside the grammar (acknowledged and ignored).
    MalformedKeys,
    /// A chunk that is empty, too large, gone, or not MP4.
    InvalidChunks,
    /// A processing execution was started.
    SessionsStarted,
    /// A recording became `incomplete_chunks`.
    SessionsWithMissingChunks,
    /// An execution ended outside the workflow's own failure handling (timed out, aborted, or
    /// failed before RecordFailure) and its failure was written to the catalog.
    ExecutionFailuresRecorded,
    /// A recording that never completed was retired by the sweeper.
    RecordingsRetired,
}

impl Metric {
    /// The CloudWatch metric name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChunksRecorded => "ChunksRecorded",
            Self::DuplicateChunks => "DuplicateChunks",
            Self::ReuploadedChunks => "ReuploadedChunks",
            Self::StaleChunks => "StaleChunks",
            Self::MalformedKeys => "MalformedKeys",
            Self::InvalidChunks => "InvalidChunks",
            Self::SessionsStarted => "SessionsStarted",
            Self::SessionsWithMissingChunks => "SessionsWithMissingChunks",
            Self::ExecutionFailuresRecorded => "ExecutionFailuresRecorded",
            Self::RecordingsRetired => "RecordingsRetired",
        }
    }
}

/// Where metrics go.
pub trait Metrics: Send + Sync {
    /// Adds `value` to a counter.
    fn count(&self, metric: Metric, value: u64);
}

/// Writes one EMF JSON line per count to stdout.
#[derive(Debug, Clone)]
pub struct EmfMetrics {
    namespace: String,
    function: String,
}

impl EmfMetrics {
    /// Metrics in `namespace`, with a `Function` dimension.
    pub fn new(namespace: impl Into<String>, function: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            function: function.into(),
        }
    }

    /// The EMF document of one count.
    pub fn document(&self, metric: Metric, value: u64, timestamp_ms: i64) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Function"]],
                    "Metrics": [{"Name": metric.name(), "Unit": "Count"}],
                }],
            },
            "Function": self.function,
        });
        doc[metric.name()] = serde_json::json!(value);
        doc
    }
}

impl Metrics for EmfMetrics {
    fn count(&self, metric: Metric, value: u64) {
        let line = self.document(metric, value, Utc::now().timestamp_millis());
        // A metric that cannot be written must not fail the event: the work is done.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// Records counts in memory (tests, benchmarks).
#[derive(Debug, Default)]
pub struct RecordingMetrics {
    counts: Mutex<BTreeMap<Metric, u64>>,
}

impl RecordingMetrics {
    /// No counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The total of a counter.
    pub fn get(&self, metric: Metric) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&metric)
            .copied()
            .unwrap_or(0)
    }
}

impl Metrics for RecordingMetrics {
    fn count(&self, metric: Metric, value: u64) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(metric)
            .or_default() += value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_document_declares_the_metric_and_carries_its_value() {
        let emf = EmfMetrics::new("NS", "chunk-upload-handler");
        let doc = emf.document(Metric::MalformedKeys, 2, 1_700_000_000_000);
        assert_eq!(doc["MalformedKeys"], 2);
        assert_eq!(doc["Function"], "chunk-upload-handler");
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "NS");
        assert_eq!(declared["Metrics"][0]["Name"], "MalformedKeys");
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
    }

    #[test]
    fn the_recording_fake_sums_counts() {
        let metrics = RecordingMetrics::new();
        metrics.count(Metric::ChunksRecorded, 1);
        metrics.count(Metric::ChunksRecorded, 2);
        assert_eq!(metrics.get(Metric::ChunksRecorded), 3);
        assert_eq!(metrics.get(Metric::DuplicateChunks), 0);
    }
}
