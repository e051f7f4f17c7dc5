//! In-memory [`Catalog`]: one map behind a mutex, so every conditional write of the real catalog
//! (create-if-absent, first expected count wins, status transitions) is atomic here too.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use meeting_domain::contracts::{CatalogRecord, EndSignal, timestamp};
use meeting_domain::ports::{Catalog, CatalogPatch};
use meeting_domain::{PortError, RecordingRef, RecordingStatus, UserId};

/// The in-memory catalog.
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    records: Mutex<HashMap<RecordingRef, CatalogRecord>>,
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
            .insert(record.recording(), record);
    }
}

#[async_trait]
impl Catalog for MemoryCatalog {
    async fn get(&self, recording: &RecordingRef) -> Result<Option<CatalogRecord>, PortError> {
        Ok(self
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(recording)
            .cloned())
    }

    async fn ensure(
        &self,
        recording: &RecordingRef,
        now: DateTime<Utc>,
        sweep_at: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        Ok(records
            .entry(recording.clone())
            .or_insert_with(|| {
                let mut record = CatalogRecord::new_recording(recording, now);
                record.sweep_at = Some(timestamp(sweep_at));
                record
            })
            .clone())
    }

    async fn set_expected_count(
        &self,
        recording: &RecordingRef,
        count: u32,
        signal: EndSignal,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let record = records
            .entry(recording.clone())
            .or_insert_with(|| CatalogRecord::new_recording(recording, now));
        if let Some(stored) = record
            .expected_chunk_count
            .filter(|stored| *stored != count)
        {
            return Err(PortError::Conflict {
                what: format!("recording {recording} already expects {stored} chunks, not {count}"),
            });
        }
        record.expected_chunk_count = Some(count);
        if record.stopped_at.is_none() {
            record.stopped_at = Some(timestamp(now));
        }
        if signal == EndSignal::Manifest || record.end_signal.is_none() {
            record.end_signal = Some(signal);
        }
        record.updated_at = timestamp(now);
        Ok(record.clone())
    }

    async fn transition(
        &self,
        recording: &RecordingRef,
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

    async fn set_sweep_at(
        &self,
        recording: &RecordingRef,
        sweep_at: Option<DateTime<Utc>>,
    ) -> Result<(), PortError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = records.get_mut(recording) {
            record.sweep_at = sweep_at.map(timestamp);
        }
        Ok(())
    }

    async fn due_for_sweep(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let now = timestamp(now);
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<CatalogRecord> = records
            .values()
            .filter(|r| r.sweep_at.as_deref().is_some_and(|at| at <= now.as_str()))
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            (a.sweep_at.as_deref(), a.recording()).cmp(&(b.sweep_at.as_deref(), b.recording()))
        });
        found.truncate(limit);
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
