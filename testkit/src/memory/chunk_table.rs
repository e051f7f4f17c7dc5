//! In-memory [`ChunkTable`]: a map per recording behind one mutex, with exactly the documented
//! conditional-write semantics (first writer wins, duplicates are no-ops, re-uploads replace only
//! with a newer sequencer).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use meeting_domain::contracts::{ChunkRecord, ChunkStatus};
use meeting_domain::ports::{ChunkTable, RecordOutcome};
use meeting_domain::{ChunkIndex, PortError, RecordingRef, UserId};

pub use meeting_domain::sequencer::compare_sequencers;

/// The in-memory chunk table.
#[derive(Debug, Default)]
pub struct MemoryChunkTable {
    items: Mutex<HashMap<RecordingRef, BTreeMap<ChunkIndex, ChunkRecord>>>,
}

impl MemoryChunkTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every item of every recording (for invariants in tests).
    pub fn all(&self) -> Vec<ChunkRecord> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.values().flat_map(|m| m.values().cloned()).collect()
    }
}

#[async_trait]
impl ChunkTable for MemoryChunkTable {
    async fn record(&self, chunk: &ChunkRecord) -> Result<RecordOutcome, PortError> {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let chunks = items.entry(chunk.recording()).or_default();
        let Some(stored) = chunks.get_mut(&chunk.chunk_index) else {
            let mut fresh = chunk.clone();
            fresh.reupload_count = 0;
            chunks.insert(chunk.chunk_index, fresh);
            return Ok(RecordOutcome::Inserted);
        };
        if stored.etag == chunk.etag && stored.file_size == chunk.file_size {
            return Ok(RecordOutcome::Duplicate);
        }
        if compare_sequencers(&chunk.sequencer, &stored.sequencer) != Ordering::Greater {
            return Ok(RecordOutcome::Stale);
        }
        let previous_etag = stored.etag.clone();
        let reupload_count = stored.reupload_count + 1;
        *stored = ChunkRecord {
            reupload_count,
            ..chunk.clone()
        };
        Ok(RecordOutcome::Replaced { previous_etag })
    }

    async fn chunks(&self, recording: &RecordingRef) -> Result<Vec<ChunkRecord>, PortError> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        Ok(items
            .get(recording)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn mark_failed(
        &self,
        recording: &RecordingRef,
        index: ChunkIndex,
        etag: &str,
        reason: &str,
    ) -> Result<bool, PortError> {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        match items.get_mut(recording).and_then(|m| m.get_mut(&index)) {
            Some(item) if item.etag == etag => {
                item.status = ChunkStatus::Failed;
                item.last_error = Some(reason.to_owned());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn chunks_of_user(
        &self,
        user: &UserId,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChunkRecord>, PortError> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<ChunkRecord> = items
            .values()
            .flat_map(|m| m.values())
            .filter(|c| &c.user_id == user && since.is_none_or(|s| c.uploaded_at.as_str() >= s))
            .cloned()
            .collect();
        found.sort_by(|a, b| b.uploaded_at.cmp(&a.uploaded_at));
        found.truncate(limit);
        Ok(found)
    }
}

#[cfg(test)]
mod contract {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_memory_chunk_table_passes_the_contract() {
        crate::contract::chunk_table::run_all(super::MemoryChunkTable::new).await;
    }
}
