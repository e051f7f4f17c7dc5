//! In-memory [`Catalog`]: one map behind a mutex, so every conditional write of the real catalog
//! (create-if-absent, first expected count wins, status transitions) is atomic here too.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use meeting_domain::contracts::{CatalogRecord, timestamp};
use meeting_domain::ports::{Catalog, CatalogPatch};
use meeting_domain::{PortError, RecordingId, RecordingStatus, UserId};

/// The in-memory catalog.
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    records: Mutex<HashMap<RecordingId, CatalogRecord>>,
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces a record as is (test setup).
    pub fn put(&self, record: CatalogRecord) {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.recording_id.clone(), record);
    }
}

#[async_trait]
impl Catalog for MemoryCatalog {
    async fn get(&self, recording: &RecordingId) -> Result<Option<CatalogRecord>, PortError> {
        Ok(self
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(recording)
            .cloned())
    }

    async fn ensure(
        &self,
        user: &UserId,
        recording: &RecordingId,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        Ok(records
            .entry(recording.clone())
            .or_insert_with(|| CatalogRecord::new_recording(user, recording, now))
            .clone())
    }

    async fn set_expected_count(
        &self,
        user: &UserId,
        recording: &RecordingId,
        count: u32,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let record = records
            .entry(recording.clone())
            .or_insert_with(|| CatalogRecord::new_recording(user, recording, now));
        match record.expected_chunk_count {
            Some(stored) if stored == count => Ok(record.clone()),
            Some(stored) => Err(PortError::Conflict {
                what: format!("recording {recording} already expects {stored} chunks, not {count}"),
            }),
            None => {
                record.expected_chunk_count = Some(count);
                record.stopped_at = Some(timestamp(now));
                record.updated_at = timestamp(now);
                Ok(record.clone())
            }
        }
    }

    async fn transition(
        &self,
        recording: &RecordingId,
        from: RecordingStatus,
        to: RecordingStatus,
        patch: CatalogPatch,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        from.check_move(to).map_err(|e| PortError::Rejected {
            service: "memory-catalog",
            source: Box::new(e),
        })?;
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let Some(record) = records.get_mut(recording) else {
            return Ok(false);
        };
        if record.status != from {
            return Ok(false);
        }
        record.status = to;
        patch.apply_to(record);
        record.updated_at = timestamp(now);
        Ok(true)
    }

    async fn awaiting_completion(
        &self,
        stopped_before: DateTime<Utc>,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<CatalogRecord> = records
            .values()
            .filter(|r| r.status.awaits_completion() && r.expected_chunk_count.is_some())
            .filter(|r| {
                r.stopped_at
                    .as_deref()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .is_some_and(|t| t.with_timezone(&Utc) <= stopped_before)
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| a.recording_id.cmp(&b.recording_id));
        Ok(found)
    }

    async fn recordings_of_user(
        &self,
        user: &UserId,
        status: Option<RecordingStatus>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<CatalogRecord> = records
            .values()
            .filter(|r| &r.user_id == user && status.is_none_or(|s| r.status == s))
            .cloned()
            .collect();
        found.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        found.truncate(limit);
        Ok(found)
    }
}

#[cfg(test)]
mod contract {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_memory_catalog_passes_the_contract() {
        crate::contract::catalog::run_all(super::MemoryCatalog::new).await;
    }
}
