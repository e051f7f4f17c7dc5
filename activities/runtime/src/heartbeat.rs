//! The heartbeats of one task, from the moment the worker has the task until its result is
//! accepted, its token is gone or the worker gives up reporting it.
//!
//! They outlive the work on purpose: reporting a result retries with backoff, and retries that
//! outlast the task state's `HeartbeatSeconds` without a heartbeat would have Step Functions time
//! out a task whose work succeeded. A heartbeat that finds the token gone (`TaskTimedOut`,
//! `InvalidToken`, `TaskDoesNotExist`) stops the heartbeats and is remembered: the running work is
//! cancelled, a retrying report stops.
//!
//! Heartbeats are driven by the task's own future (no background task): they stop when it ends or
//! is dropped, and they log inside its span.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use meeting_domain::error::PortError;
use meeting_domain::ports::{ActivityTaskSource, TaskTokenError};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tracing::{debug, warn};

/// The heartbeat schedule of one task.
pub(crate) struct Heartbeats {
    source: Arc<dyn ActivityTaskSource>,
    token: String,
    period: Duration,
    /// `None` when heartbeats are off (no `HeartbeatSeconds`) or the token is gone.
    ticker: Option<Interval>,
    gone: Option<TaskTokenError>,
}

impl Heartbeats {
    /// A heartbeat every `period`, the first one a period from now. A zero period means none
    /// (an activity without `HeartbeatSeconds`).
    pub(crate) fn start(
        source: Arc<dyn ActivityTaskSource>,
        token: String,
        period: Duration,
    ) -> Self {
        let ticker = (!period.is_zero()).then(|| {
            let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticker
        });
        Self {
            source,
            token,
            period,
            ticker,
            gone: None,
        }
    }

    /// Resolves when the next heartbeat is due; never when heartbeats are off or the token is
    /// gone.
    pub(crate) async fn due(&mut self) {
        match &mut self.ticker {
            Some(ticker) => {
                ticker.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    /// Sends one heartbeat. Returns `true` when it found the token gone; heartbeats stop then.
    pub(crate) async fn beat(&mut self) -> bool {
        // A heartbeat that hangs must not delay the next one (nor keep the caller from seeing
        // its work end): past one period it counts as a transient failure.
        let sent = tokio::time::timeout(self.period, self.source.heartbeat(&self.token))
            .await
            .unwrap_or_else(|_elapsed| {
                Err(TaskTokenError::Port(PortError::Unavailable {
                    service: "activity task source",
                    source: "the heartbeat did not answer within one heartbeat period".into(),
                }))
            });
        match sent {
            Ok(()) => {
                debug!("heartbeat sent");
                false
            }
            Err(e) if e.task_is_gone() => {
                debug!(reason = %e, "a heartbeat found the task gone; heartbeats stop");
                self.ticker = None;
                self.gone = Some(e);
                true
            }
            Err(e) => {
                warn!(error = %e, "heartbeat failed; retrying at the next tick");
                false
            }
        }
    }

    /// Why the token is gone, when a heartbeat found it so.
    pub(crate) fn gone_error(&self) -> Option<TaskTokenError> {
        match self.gone.as_ref()? {
            TaskTokenError::TimedOut => Some(TaskTokenError::TimedOut),
            TaskTokenError::InvalidToken => Some(TaskTokenError::InvalidToken),
            TaskTokenError::TaskDoesNotExist => Some(TaskTokenError::TaskDoesNotExist),
            // Only "gone" errors are stored.
            TaskTokenError::InvalidOutput { .. } | TaskTokenError::Port(_) => None,
        }
    }

    /// Runs `work` to its end, heartbeating meanwhile. A heartbeat that finds the token gone does
    /// not cut `work` short (a report in flight may still have been accepted).
    pub(crate) async fn alongside<F: Future>(&mut self, work: F) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                output = &mut work => return output,
                () = self.due() => {
                    self.beat().await;
                }
            }
        }
    }

    /// Waits `delay`, heartbeating meanwhile; returns early when a heartbeat finds the token gone.
    pub(crate) async fn sleep(&mut self, delay: Duration) {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                () = &mut sleep => return,
                () = self.due() => {
                    if self.beat().await {
                        return;
                    }
                }
            }
        }
    }
}

impl std::fmt::Debug for Heartbeats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heartbeats")
            .field("period", &self.period)
            .field("on", &self.ticker.is_some())
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}
