//! Chunk ingest and session completion over ports, and the thin Lambda binaries.
//!
//! * [`ingest`]: the Chunk Upload Handler (S3 "Object Created" → chunk table → completion check),
//!   also routing manifests (the end marker) to the completion detector.
//! * [`completion`]: the Session Completion Detector: complete means the validated indices are
//!   exactly `0..N`; exactly one caller wins the catalog transition and starts the workflow.
//! * [`stream`]: the catalog DynamoDB stream handler (partial batch failures).
//! * [`sweeper`]: the scheduled sweep that leaves no recording waiting forever.
//! * [`execution_status`]: Step Functions status changes of runs that ended without settling
//!   their recording (timed out, aborted, failed outside the Catch).
//! * [`logging`] and [`invocation`]: the JSON log format, and the request id and X-Ray trace
//!   header each invocation's logs and StartExecution call carry.
//!
//! Everything runs over the port traits of `meeting_domain::ports`, bundled in [`Ports`].

use std::fmt;
use std::sync::Arc;

use meeting_domain::ports::{Catalog, ChunkTable, Clock, ObjectStore, WorkflowStarter};

pub mod completion;
pub mod config;
pub mod error;
pub mod events;
pub mod execution_status;
pub mod ingest;
pub mod invocation;
pub mod logging;
pub mod metrics;
#[cfg(feature = "lambda-bins")]
pub mod runtime;
pub mod stream;
pub mod sweeper;

pub use completion::ExecutionSettled;
pub use config::IngestConfig;
pub use error::LambdaError;
pub use metrics::{EmfMetrics, Metric, Metrics, RecordingMetrics};

/// The ports and settings every handler works with; built once per cold start and shared.
#[derive(Clone)]
pub struct Ports {
    /// The recordings bucket.
    pub objects: Arc<dyn ObjectStore>,
    /// The chunk tracking table.
    pub chunks: Arc<dyn ChunkTable>,
    /// The recording catalog.
    pub catalog: Arc<dyn Catalog>,
    /// Starts processing executions.
    pub workflows: Arc<dyn WorkflowStarter>,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Business metrics.
    pub metrics: Arc<dyn Metrics>,
    /// Settings.
    pub config: IngestConfig,
}

impl fmt::Debug for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ports")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
