//! The scheduled sweeper: recordings stopped longer ago than the grace period and still waiting
//! for chunks get their completion check, which marks them `incomplete_chunks` (or starts them,
//! when the last chunk's own check was lost).

use tracing::error;

use crate::Ports;
use crate::completion::{self, Completion};
use crate::error::LambdaError;

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Recordings examined.
    pub examined: usize,
    /// Recordings now (or still) `incomplete_chunks`.
    pub incomplete: usize,
    /// Recordings started by this sweep.
    pub started: usize,
    /// Recordings whose check failed (the first error is returned).
    pub failed: usize,
}

/// Runs one sweep. Every due recording is checked even when one fails; the first error is
/// returned afterwards so the scheduled invocation is reported as failed.
pub async fn sweep(ports: &Ports) -> Result<SweepReport, LambdaError> {
    let grace = chrono::Duration::from_std(ports.config.grace).unwrap_or(chrono::Duration::MAX);
    let cutoff = ports.clock.now() - grace;
    let due = ports.catalog.awaiting_completion(cutoff).await?;
    let mut report = SweepReport {
        examined: due.len(),
        ..SweepReport::default()
    };
    let mut first_error = None;
    for record in due {
        match completion::check(ports, &record.recording_id).await {
            Ok(Completion::Incomplete { .. }) => report.incomplete += 1,
            Ok(Completion::Started { .. }) => report.started += 1,
            Ok(_) => {}
            Err(e) => {
                error!(recording_id = %record.recording_id, error = %e, "sweep check failed");
                report.failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}
