//! AWS X-Ray plumbing shared by the Lambdas and the activity workers, so one recording can be
//! followed in one trace from its first chunk to its summary:
//!
//! * [`trace_header`]: the `X-Amzn-Trace-Id` header (`Root=…;Parent=…;Sampled=…`): parsing,
//!   formatting, new segment ids.
//! * [`daemon`]: segment documents and the UDP client of the X-Ray daemon (off unless
//!   `AWS_XRAY_DAEMON_ADDRESS` is set).
//! * [`layer`]: a `tracing` layer that turns the worker's `activity_task` spans into segments of the
//!   trace of the recording's execution, looked up through a [`layer::TraceLookup`].
//! * `sfn` (feature `sfn`): the lookup on Step Functions (the execution's `traceHeader`), because
//!   Step Functions does not hand the trace to activity tasks.

pub mod daemon;
pub mod error;
pub mod layer;
#[cfg(feature = "sfn")]
pub mod sfn;
pub mod trace_header;

pub use daemon::{DaemonClient, Segment};
pub use error::ObservabilityError;
pub use layer::{SegmentExporter, TraceLookup, XrayLayer};
pub use trace_header::TraceHeader;
