//! The result spool: where the worker keeps a task's result from the moment its work ends until
//! Step Functions has accepted the report (or said the token is gone), so that a worker that
//! restarts — a crash, a SIGKILL during a long retry, a redeployment on the same volume — still
//! reports the results whose token is valid instead of letting their tasks time out.
//!
//! [`ResultSpool`] is the port; [`MemoryResultSpool`] its in-memory fake (no durability, for tests
//! and for workers that have no storage to spare) and [`crate::fs_spool::FsResultSpool`] the
//! file-system adapter. Both pass the same contract suite (`tests/spool.rs`).
//!
//! A spooled result holds the task token, a bearer credential for the task: the spool must be as
//! private as the worker's own credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;
use crate::identity;

/// What is reported for a task: its output, or an error name and cause (already cut to the API
/// limits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SpooledReport {
    /// SendTaskSuccess with this output JSON.
    Success {
        /// The output JSON.
        output: String,
    },
    /// SendTaskFailure with this error name and cause.
    Failure {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
}

/// One task result waiting to be reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpooledResult {
    /// The task token (a credential: never log it).
    pub token: String,
    /// The activity's contract name.
    pub activity: String,
    /// What to report.
    pub report: SpooledReport,
    /// When the result was spooled (wall clock).
    pub spooled_at: DateTime<Utc>,
    /// When the task's `TimeoutSeconds` ends at the latest (counted from when the worker received
    /// the task, so never earlier than the real deadline); after it the token cannot be valid.
    /// `None` when the activity has no timeout.
    pub expires_at: Option<DateTime<Utc>>,
    /// The activity's `HeartbeatSeconds`, so a replay heartbeats at the right cadence even when the
    /// restarted worker no longer serves the activity.
    pub heartbeat_seconds: u32,
}

impl SpooledResult {
    /// The non-secret id of the task, for logs.
    pub fn task_id(&self) -> String {
        identity::task_id(&self.token)
    }

    /// Whether the task's deadline has passed at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|deadline| now >= deadline)
    }
}

/// Where results wait until Step Functions has accepted them.
#[async_trait]
pub trait ResultSpool: Send + Sync {
    /// Stores `result`, replacing any result spooled for the same token. When it returns `Ok`,
    /// the result survives a crash of the worker.
    async fn put(&self, result: &SpooledResult) -> Result<(), RuntimeError>;

    /// Forgets the result spooled for `token`; forgetting a token that has none is not an error.
    async fn remove(&self, token: &str) -> Result<(), RuntimeError>;

    /// Every spooled result, oldest first.
    async fn pending(&self) -> Result<Vec<SpooledResult>, RuntimeError>;
}

/// Sorts results oldest first, then by token so the order is total.
pub(crate) fn oldest_first(results: &mut [SpooledResult]) {
    results.sort_by(|a, b| {
        a.spooled_at
            .cmp(&b.spooled_at)
            .then_with(|| a.token.cmp(&b.token))
    });
}

/// An in-memory [`ResultSpool`]. Cheap to clone; clones share their results, so a clone handed to
/// a second worker plays the part of the same directory after a restart.
#[derive(Clone, Debug, Default)]
pub struct MemoryResultSpool {
    results: Arc<Mutex<HashMap<String, SpooledResult>>>,
}

impl MemoryResultSpool {
    /// An empty spool.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, SpooledResult>> {
        // A panic while holding the lock only happens in a failing test; keep the data.
        self.results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ResultSpool for MemoryResultSpool {
    async fn put(&self, result: &SpooledResult) -> Result<(), RuntimeError> {
        self.lock().insert(result.token.clone(), result.clone());
        Ok(())
    }

    async fn remove(&self, token: &str) -> Result<(), RuntimeError> {
        self.lock().remove(token);
        Ok(())
    }

    async fn pending(&self) -> Result<Vec<SpooledResult>, RuntimeError> {
        let mut results: Vec<SpooledResult> = self.lock().values().cloned().collect();
        oldest_first(&mut results);
        Ok(results)
    }
}
