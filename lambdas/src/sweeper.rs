//! The scheduled sweeper: the safety net that makes sure no recording waits forever.
//!
//! Every recording that someone must still look at carries `sweepAt` (the catalog's sparse
//! `sweep-due` index); every path that leaves a recording waiting writes when to look again:
//!
//! | status | put on the index by | what the sweep does when it is due |
//! |---|---|---|
//! | `recording`, no end signal | the first chunk (`ensure`) | retires it: `incomplete_chunks` / `Chunks.NoEndSignal` |
//! | `recording`, end known | the completion check (grace end) | completion check: start it, or `incomplete_chunks` |
//! | `incomplete_chunks` | the completion check (give-up time) | checks once more, then takes it off the index |
//! | `ready_for_processing` | the transition (5 minutes ahead) | re-drives the start (same name and input) |
//! | `processing` | the start (`PROCESSING_STALE_SECONDS` ahead) | DescribeExecution: still running → later; ended → records it; never started → starts it |
//! | `completed`, `processing_failed` | — | takes it off the index |
//!
//! One sweep reads at most `SWEEP_LIMIT` recordings, earliest first, and moves each one's
//! `sweepAt` forward or removes it, so work never piles up in memory and the next sweep continues
//! where this one stopped. A recording whose check fails is looked at again a few minutes later
//! (it cannot block the head of the index); the first error fails the invocation so the failure
//! is visible in the Lambda's error metric and alarm.

use std::time::Duration;

use chrono::{DateTime, Utc};
use meeting_domain::RecordingStatus;
use meeting_domain::contracts::CatalogRecord;
use meeting_domain::ports::{CatalogPatch, ExecutionStatus};
use tracing::{error, info, warn};

use crate::Ports;
use crate::completion::{self, Completion, ExecutionSettled, NO_END_SIGNAL_ERROR};
use crate::config::IngestConfig;
use crate::error::LambdaError;
use crate::metrics::Metric;

/// When a recording whose sweep failed is looked at again: 5 minutes, the sweeper's schedule.
pub const RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// How long a running execution is left alone after the reconciler saw it running: 1 hour.
pub const RUNNING_RECHECK: Duration = Duration::from_secs(3600);

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Recordings examined.
    pub examined: usize,
    /// Recordings now (or still) `incomplete_chunks`.
    pub incomplete: usize,
    /// Recordings whose execution this sweep started (or re-drove).
    pub started: usize,
    /// Recordings retired: never completed within the give-up age.
    pub retired: usize,
    /// Executions that ended without settling their recording, now recorded as failed.
    pub failures_recorded: usize,
    /// Recordings whose sweep failed (looked at again later; the first error is returned).
    pub failed: usize,
}

/// Runs one sweep.
pub async fn sweep(ports: &Ports) -> Result<SweepReport, LambdaError> {
    let now = ports.clock.now();
    let due = ports
        .catalog
        .due_for_sweep(now, ports.config.sweep_limit)
        .await?;
    let mut report = SweepReport {
        examined: due.len(),
        ..SweepReport::default()
    };
    let mut first_error = None;
    for record in due {
        let recording = record.recording();
        match sweep_one(ports, &record, now, &mut report).await {
            Ok(()) => {}
            Err(e) => {
                error!(user_id = %recording.user_id, recording_id = %recording.recording_id, error = %e, retryable = e.is_retryable(), "sweep of a recording failed; looking again later");
                report.failed += 1;
                // Best effort: a recording whose sweep failed must not stay at the head of the
                // index. If this write fails too, the next sweep simply finds it again.
                let _ = ports
                    .catalog
                    .set_sweep_at(&recording, Some(IngestConfig::after(now, RETRY_AFTER)))
                    .await;
                first_error.get_or_insert(e);
            }
        }
    }
    info!(
        event = "sweep_done",
        examined = report.examined,
        started = report.started,
        incomplete = report.incomplete,
        retired = report.retired,
        failures_recorded = report.failures_recorded,
        failed = report.failed,
        "sweep done"
    );
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

async fn sweep_one(
    ports: &Ports,
    record: &CatalogRecord,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), LambdaError> {
    let recording = record.recording();
    match record.status {
        RecordingStatus::Recording if record.expected_chunk_count.is_none() => {
            retire_without_end_signal(ports, record, now).await?;
            report.retired += 1;
        }
        RecordingStatus::IncompleteChunks
            if now >= completion::give_up_at(&ports.config, record, now)
                || record.expected_chunk_count.is_none() =>
        {
            // Re-check once (a lost chunk event may have filled the gap), then stop watching.
            match completion::check(ports, &recording).await? {
                Completion::Started { .. } => report.started += 1,
                _ => {
                    ports.catalog.set_sweep_at(&recording, None).await?;
                    ports.metrics.count(Metric::RecordingsRetired, 1);
                    info!(event = "recording_retired", user_id = %recording.user_id, recording_id = %recording.recording_id, status = %record.status, "incomplete recording no longer watched; a late chunk still completes it");
                    report.retired += 1;
                }
            }
        }
        RecordingStatus::Recording
        | RecordingStatus::IncompleteChunks
        | RecordingStatus::ReadyForProcessing => {
            match completion::check(ports, &recording).await? {
                Completion::Started { .. } => report.started += 1,
                Completion::Incomplete { .. } => report.incomplete += 1,
                _ => {}
            }
        }
        RecordingStatus::Processing => {
            reconcile_processing(ports, record, now, report).await?;
        }
        RecordingStatus::Completed | RecordingStatus::ProcessingFailed => {
            ports.catalog.set_sweep_at(&recording, None).await?;
        }
    }
    // Whatever happened, this recording must not come back before its next planned look.
    if let Some(after) = ports.catalog.get(&recording).await?
        && after
            .sweep_at
            .as_deref()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .is_some_and(|at| at.to_utc() <= now)
    {
        ports
            .catalog
            .set_sweep_at(&recording, Some(IngestConfig::after(now, RETRY_AFTER)))
            .await?;
    }
    Ok(())
}

/// A recording whose client never said it stopped, `give_up_after` after its first chunk.
async fn retire_without_end_signal(
    ports: &Ports,
    record: &CatalogRecord,
    now: DateTime<Utc>,
) -> Result<(), LambdaError> {
    let recording = record.recording();
    let chunks = ports.chunks.chunks(&recording).await?;
    let days = ports.config.give_up_after.as_secs() / 86_400;
    let age = if days >= 1 {
        format!("{days} days")
    } else {
        format!("{} seconds", ports.config.give_up_after.as_secs())
    };
    let cause = format!(
        "no end signal within {age} of the first chunk ({} chunks recorded, highest index {}): the client never wrote expectedChunkCount nor uploaded manifest.json; write one of them to process the recording",
        chunks.len(),
        chunks
            .iter()
            .map(|c| c.chunk_index.get().to_string())
            .next_back()
            .unwrap_or_else(|| "none".to_owned())
    );
    let patch = CatalogPatch {
        error: Some(Some(NO_END_SIGNAL_ERROR.to_owned())),
        cause: Some(Some(cause)),
        sweep_at: Some(None),
        ..CatalogPatch::default()
    };
    if ports
        .catalog
        .transition(
            &recording,
            RecordingStatus::Recording,
            RecordingStatus::IncompleteChunks,
            patch,
            now,
        )
        .await?
    {
        ports.metrics.count(Metric::RecordingsRetired, 1);
        warn!(event = "recording_retired", user_id = %recording.user_id, recording_id = %recording.recording_id, error = NO_END_SIGNAL_ERROR, "recording retired without an end signal");
    }
    Ok(())
}

/// A `processing` recording whose status-change event has not settled it: ask Step Functions.
async fn reconcile_processing(
    ports: &Ports,
    record: &CatalogRecord,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), LambdaError> {
    let recording = record.recording();
    let name = record
        .execution_name
        .clone()
        .unwrap_or_else(|| recording.execution_name(record.run));
    match ports.workflows.describe(&name).await? {
        None => {
            // Never started, or lost with the local engine's memory: start it (same name and
            // input; a start that races a real one is the same execution).
            warn!(user_id = %recording.user_id, recording_id = %recording.recording_id, execution_name = %name, "processing recording without an execution; starting it");
            completion::start_recorded(ports, record).await?;
            ports
                .catalog
                .set_sweep_at(
                    &recording,
                    Some(IngestConfig::after(now, ports.config.processing_stale)),
                )
                .await?;
            report.started += 1;
        }
        Some(state) if state.status == ExecutionStatus::Running => {
            ports
                .catalog
                .set_sweep_at(&recording, Some(IngestConfig::after(now, RUNNING_RECHECK)))
                .await?;
        }
        Some(state) => {
            match completion::record_execution_end(ports, &recording, &name, &state).await? {
                ExecutionSettled::RecordedFailure { .. } => report.failures_recorded += 1,
                ExecutionSettled::Succeeded => {
                    // RecordResults ran inside the execution; a recording still `processing`
                    // here means its write was lost. Say so rather than wait.
                    let inconsistent = meeting_domain::ports::ExecutionState {
                        status: ExecutionStatus::Failed,
                        error: Some("Execution.ResultsNotRecorded".to_owned()),
                        cause: Some(format!(
                            "execution {name} succeeded but the catalog was not updated; run `recorder reprocess --from summary` to write the results again"
                        )),
                    };
                    if let ExecutionSettled::RecordedFailure { .. } =
                        completion::record_execution_end(ports, &recording, &name, &inconsistent)
                            .await?
                    {
                        report.failures_recorded += 1;
                    }
                }
                _ => {}
            }
            ports.catalog.set_sweep_at(&recording, None).await?;
        }
    }
    Ok(())
}
