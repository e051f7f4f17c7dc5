//! The chunk table and the catalog on SQLite, with the semantics of the DynamoDB adapters
//! (proven by the same contract suites). Each record is stored whole as JSON next to the columns
//! that are queried; every conditional write is one `IMMEDIATE` transaction, so concurrent callers
//! in one process (and several processes on one data directory) see the same winner rules as
//! DynamoDB's condition expressions.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use meeting_domain::contracts::{CatalogRecord, ChunkRecord, ChunkStatus};
use meeting_domain::ports::{Catalog, CatalogPatch, ChunkTable, RecordOutcome};
use meeting_domain::sequencer::compare_sequencers;
use meeting_domain::{ChunkIndex, PortError, RecordingId, RecordingStatus, UserId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::LocalError;

const SERVICE: &str = "local database";

/// How long a writer waits for another process's transaction before reporting "busy"
/// (retryable), in milliseconds.
const BUSY_TIMEOUT_MS: u64 = 5_000;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS chunks (
    recording_id TEXT NOT NULL,
    chunk_index  INTEGER NOT NULL,
    user_id      TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL,
    record       TEXT NOT NULL,
    PRIMARY KEY (recording_id, chunk_index)
);
CREATE INDEX IF NOT EXISTS chunks_by_user ON chunks (user_id, uploaded_at);
CREATE TABLE IF NOT EXISTS catalog (
    recording_id TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    record       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS catalog_by_user ON catalog (user_id, updated_at);
CREATE INDEX IF NOT EXISTS catalog_by_status ON catalog (status);
";

/// One SQLite database holding both tables.
#[derive(Debug, Clone)]
pub struct Database {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
}

fn db_error(e: rusqlite::Error) -> PortError {
    match &e {
        rusqlite::Error::SqliteFailure(code, _)
            if matches!(
                code.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            PortError::Throttled {
                service: SERVICE,
                source: Box::new(e),
            }
        }
        _ => PortError::Unavailable {
            service: SERVICE,
            source: Box::new(e),
        },
    }
}

fn corrupt(detail: impl std::fmt::Display) -> PortError {
    PortError::Corrupt {
        service: SERVICE,
        detail: detail.to_string(),
    }
}

fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Database {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, LocalError> {
        let fail = |source| LocalError::Database {
            path: path.to_owned(),
            source,
        };
        let connection = Connection::open(path).map_err(fail)?;
        connection
            .busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            path: path.to_owned(),
        })
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> Result<Self, LocalError> {
        let path = PathBuf::from(":memory:");
        let connection = Connection::open_in_memory().map_err(|source| LocalError::Database {
            path: path.clone(),
            source,
        })?;
        connection
            .execute_batch(SCHEMA)
            .map_err(|source| LocalError::Database {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the connection on the blocking pool.
    async fn with<T, F>(&self, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, PortError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let mut guard = connection.lock().unwrap_or_else(|e| e.into_inner());
            work(&mut guard)
        })
        .await
        .map_err(|e| PortError::Unavailable {
            service: SERVICE,
            source: Box::new(e),
        })?
    }
}

fn chunk_from_json(text: &str) -> Result<ChunkRecord, PortError> {
    serde_json::from_str(text).map_err(corrupt)
}

fn catalog_from_json(text: &str) -> Result<CatalogRecord, PortError> {
    serde_json::from_str(text).map_err(corrupt)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, PortError> {
    serde_json::to_string(value).map_err(corrupt)
}

/// The SQLite chunk table.
#[derive(Debug, Clone)]
pub struct SqliteChunkTable {
    db: Database,
}

impl SqliteChunkTable {
    /// The chunk table of `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ChunkTable for SqliteChunkTable {
    async fn record(&self, chunk: &ChunkRecord) -> Result<RecordOutcome, PortError> {
        let chunk = chunk.clone();
        self.db
            .with(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_error)?;
                let stored: Option<String> = tx
                    .query_row(
                        "SELECT record FROM chunks WHERE recording_id = ?1 AND chunk_index = ?2",
                        params![chunk.recording_id.as_str(), chunk.chunk_index.get()],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db_error)?;
                let (outcome, record) = match stored {
                    None => (
                        RecordOutcome::Inserted,
                        ChunkRecord {
                            status: ChunkStatus::Validated,
                            reupload_count: 0,
                            last_error: None,
                            ..chunk
                        },
                    ),
                    Some(text) => {
                        let stored = chunk_from_json(&text)?;
                        if stored.etag == chunk.etag && stored.file_size == chunk.file_size {
                            return Ok(RecordOutcome::Duplicate);
                        }
                        if compare_sequencers(&chunk.sequencer, &stored.sequencer)
                            != std::cmp::Ordering::Greater
                        {
                            return Ok(RecordOutcome::Stale);
                        }
                        (
                            RecordOutcome::Replaced {
                                previous_etag: stored.etag.clone(),
                            },
                            ChunkRecord {
                                status: ChunkStatus::Validated,
                                reupload_count: stored.reupload_count + 1,
                                last_error: None,
                                ..chunk
                            },
                        )
                    }
                };
                tx.execute(
                    "INSERT OR REPLACE INTO chunks (recording_id, chunk_index, user_id, uploaded_at, record)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        record.recording_id.as_str(),
                        record.chunk_index.get(),
                        record.user_id.as_str(),
                        record.uploaded_at,
                        to_json(&record)?
                    ],
                )
                .map_err(db_error)?;
                tx.commit().map_err(db_error)?;
                Ok(outcome)
            })
            .await
    }

    async fn chunks(&self, recording: &RecordingId) -> Result<Vec<ChunkRecord>, PortError> {
        let recording = recording.clone();
        self.db
            .with(move |conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT record FROM chunks WHERE recording_id = ?1 ORDER BY chunk_index",
                    )
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(params![recording.as_str()], |row| row.get::<_, String>(0))
                    .map_err(db_error)?;
                rows.map(|r| r.map_err(db_error).and_then(|t| chunk_from_json(&t)))
                    .collect()
            })
            .await
    }

    async fn mark_failed(
        &self,
        recording: &RecordingId,
        index: ChunkIndex,
        etag: &str,
        reason: &str,
    ) -> Result<bool, PortError> {
        let (recording, etag, reason) = (recording.clone(), etag.to_owned(), reason.to_owned());
        self.db
            .with(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_error)?;
                let stored: Option<String> = tx
                    .query_row(
                        "SELECT record FROM chunks WHERE recording_id = ?1 AND chunk_index = ?2",
                        params![recording.as_str(), index.get()],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db_error)?;
                let Some(text) = stored else {
                    return Ok(false);
                };
                let mut record = chunk_from_json(&text)?;
                if record.etag != etag {
                    return Ok(false);
                }
                record.status = ChunkStatus::Failed;
                record.last_error = Some(reason);
                tx.execute(
                    "UPDATE chunks SET record = ?3 WHERE recording_id = ?1 AND chunk_index = ?2",
                    params![recording.as_str(), index.get(), to_json(&record)?],
                )
                .map_err(db_error)?;
                tx.commit().map_err(db_error)?;
                Ok(true)
            })
            .await
    }

    async fn chunks_of_user(
        &self,
        user: &UserId,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChunkRecord>, PortError> {
        let (user, since) = (user.clone(), since.unwrap_or("").to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .with(move |conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT record FROM chunks WHERE user_id = ?1 AND uploaded_at >= ?2
                         ORDER BY uploaded_at DESC LIMIT ?3",
                    )
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(params![user.as_str(), since, limit], |row| {
                        row.get::<_, String>(0)
                    })
                    .map_err(db_error)?;
                rows.map(|r| r.map_err(db_error).and_then(|t| chunk_from_json(&t)))
                    .collect()
            })
            .await
    }
}

/// The SQLite catalog.
#[derive(Debug, Clone)]
pub struct SqliteCatalog {
    db: Database,
}

impl SqliteCatalog {
    /// The catalog of `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn fresh(user: &UserId, recording: &RecordingId, now: DateTime<Utc>) -> CatalogRecord {
    CatalogRecord {
        user_id: user.clone(),
        recording_id: recording.clone(),
        status: RecordingStatus::Recording,
        expected_chunk_count: None,
        stopped_at: None,
        missing_chunks: Vec::new(),
        failed_chunks: Vec::new(),
        execution_name: None,
        run: 0,
        error: None,
        cause: None,
        results: None,
        updated_at: timestamp(now),
    }
}

fn load(
    tx: &rusqlite::Transaction<'_>,
    recording: &RecordingId,
) -> Result<Option<CatalogRecord>, PortError> {
    tx.query_row(
        "SELECT record FROM catalog WHERE recording_id = ?1",
        params![recording.as_str()],
        |row| row.get::<_, String>(0),
    )
    .optional()
    .map_err(db_error)?
    .map(|t| catalog_from_json(&t))
    .transpose()
}

fn save(tx: &rusqlite::Transaction<'_>, record: &CatalogRecord) -> Result<(), PortError> {
    tx.execute(
        "INSERT OR REPLACE INTO catalog (recording_id, user_id, status, updated_at, record)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            record.recording_id.as_str(),
            record.user_id.as_str(),
            record.status.as_str(),
            record.updated_at,
            to_json(record)?
        ],
    )
    .map_err(db_error)?;
    Ok(())
}

impl SqliteCatalog {
    /// Reads, changes and writes one record in one immediate transaction.
    async fn update<T, F>(&self, recording: &RecordingId, change: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(Option<CatalogRecord>) -> Result<(T, Option<CatalogRecord>), PortError>
            + Send
            + 'static,
    {
        let recording = recording.clone();
        self.db
            .with(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_error)?;
                let (out, write) = change(load(&tx, &recording)?)?;
                if let Some(record) = write {
                    save(&tx, &record)?;
                }
                tx.commit().map_err(db_error)?;
                Ok(out)
            })
            .await
    }

    /// Replaces a whole record (used by the local engine's DynamoDB integration, which applies
    /// `UpdateItem` expressions to the item form of the record).
    pub async fn replace(&self, record: CatalogRecord) -> Result<(), PortError> {
        let recording = record.recording_id.clone();
        self.update(&recording, move |_| Ok(((), Some(record))))
            .await
    }

    /// Replaces the record with `new` only if the stored record still equals `expected` (`None`:
    /// no record stored), in one immediate transaction: a compare-and-swap for read-modify-write
    /// callers such as the engine's DynamoDB integration. Returns whether it was written.
    pub async fn replace_if_unchanged(
        &self,
        expected: Option<CatalogRecord>,
        new: CatalogRecord,
    ) -> Result<bool, PortError> {
        let recording = new.recording_id.clone();
        self.update(&recording, move |stored| {
            if stored == expected {
                Ok((true, Some(new)))
            } else {
                Ok((false, None))
            }
        })
        .await
    }

    /// Lists records with a given status (oldest change first).
    pub async fn with_status(
        &self,
        status: RecordingStatus,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        self.db
            .with(move |conn| {
                let mut stmt = conn
                    .prepare("SELECT record FROM catalog WHERE status = ?1 ORDER BY updated_at")
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(params![status.as_str()], |row| row.get::<_, String>(0))
                    .map_err(db_error)?;
                rows.map(|r| r.map_err(db_error).and_then(|t| catalog_from_json(&t)))
                    .collect()
            })
            .await
    }
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn get(&self, recording: &RecordingId) -> Result<Option<CatalogRecord>, PortError> {
        self.update(recording, |stored| Ok((stored, None))).await
    }

    async fn ensure(
        &self,
        user: &UserId,
        recording: &RecordingId,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let (user, id) = (user.clone(), recording.clone());
        self.update(recording, move |stored| match stored {
            Some(record) => Ok((record, None)),
            None => {
                let record = fresh(&user, &id, now);
                Ok((record.clone(), Some(record)))
            }
        })
        .await
    }

    async fn set_expected_count(
        &self,
        user: &UserId,
        recording: &RecordingId,
        count: u32,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let (user, id) = (user.clone(), recording.clone());
        self.update(recording, move |stored| {
            let mut record = stored.unwrap_or_else(|| fresh(&user, &id, now));
            match record.expected_chunk_count {
                Some(existing) if existing == count => Ok((record, None)),
                Some(existing) => Err(PortError::Conflict {
                    what: format!("recording {id} already expects {existing} chunks, not {count}"),
                }),
                None => {
                    record.expected_chunk_count = Some(count);
                    record.stopped_at = Some(timestamp(now));
                    record.updated_at = timestamp(now);
                    Ok((record.clone(), Some(record)))
                }
            }
        })
        .await
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
            service: SERVICE,
            source: Box::new(e),
        })?;
        self.update(recording, move |stored| {
            let Some(mut record) = stored.filter(|r| r.status == from) else {
                return Ok((false, None));
            };
            record.status = to;
            if let Some(v) = patch.missing_chunks {
                record.missing_chunks = v;
            }
            if let Some(v) = patch.failed_chunks {
                record.failed_chunks = v;
            }
            if let Some(v) = patch.execution_name {
                record.execution_name = Some(v);
            }
            if let Some(v) = patch.run {
                record.run = v;
            }
            if let Some(v) = patch.error {
                record.error = v;
            }
            if let Some(v) = patch.cause {
                record.cause = v;
            }
            if let Some(v) = patch.results {
                record.results = Some(v);
            }
            record.updated_at = timestamp(now);
            Ok((true, Some(record)))
        })
        .await
    }

    async fn awaiting_completion(
        &self,
        stopped_before: DateTime<Utc>,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let mut found = Vec::new();
        for status in [
            RecordingStatus::Recording,
            RecordingStatus::IncompleteChunks,
        ] {
            found.extend(self.with_status(status).await?.into_iter().filter(|r| {
                r.expected_chunk_count.is_some()
                    && r.stopped_at
                        .as_deref()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .is_some_and(|t| t.with_timezone(&Utc) <= stopped_before)
            }));
        }
        found.sort_by(|a, b| a.recording_id.cmp(&b.recording_id));
        Ok(found)
    }

    async fn recordings_of_user(
        &self,
        user: &UserId,
        status: Option<RecordingStatus>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let user = user.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .with(move |conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT record FROM catalog WHERE user_id = ?1 AND (?2 IS NULL OR status = ?2)
                         ORDER BY updated_at DESC LIMIT ?3",
                    )
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(params![user.as_str(), status.map(RecordingStatus::as_str), limit], |row| {
                        row.get::<_, String>(0)
                    })
                    .map_err(db_error)?;
                rows.map(|r| r.map_err(db_error).and_then(|t| catalog_from_json(&t)))
                    .collect()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> Database {
        Database::in_memory().expect("in-memory database")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_sqlite_chunk_table_passes_the_chunk_table_contract() {
        let db = database();
        recorder_testkit::contract::chunk_table::run_all(move || SqliteChunkTable::new(db.clone()))
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_sqlite_catalog_passes_the_catalog_contract() {
        let db = database();
        recorder_testkit::contract::catalog::run_all(move || SqliteCatalog::new(db.clone())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_database_file_keeps_records_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recorder.sqlite");
        let user = UserId::new("u").unwrap();
        let recording = RecordingId::new("r").unwrap();
        SqliteCatalog::new(Database::open(&path).unwrap())
            .set_expected_count(&user, &recording, 3, Utc::now())
            .await
            .unwrap();
        let reopened = SqliteCatalog::new(Database::open(&path).unwrap());
        let record = reopened.get(&recording).await.unwrap().expect("persisted");
        assert_eq!(record.expected_chunk_count, Some(3));
    }
}
