//! The chunk table and the catalog on SQLite, with the semantics of the DynamoDB adapters
//! (proven by the same contract suites). Each record is stored whole as JSON next to the columns
//! that are queried; every conditional write is one `IMMEDIATE` transaction, so concurrent callers
//! in one process (and several processes on one data directory) see the same winner rules as
//! DynamoDB's condition expressions.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use meeting_domain::contracts::{CatalogRecord, ChunkRecord, ChunkStatus, EndSignal};
use meeting_domain::ports::{Catalog, CatalogPatch, ChunkTable, RecordOutcome};
use meeting_domain::sequencer::compare_sequencers;
use meeting_domain::{ChunkIndex, PortError, RecordingRef, RecordingStatus, UserId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::LocalError;

const SERVICE: &str = "local database";

/// How long a writer waits for another process's transaction before reporting "busy"
/// (retryable), in milliseconds.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// Recording ids are unique per user only, so both tables are keyed by user and recording.
/// `sweep_at` mirrors the catalog's sparse `sweep-due` index.
const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS chunk_items (
    user_id      TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    chunk_index  INTEGER NOT NULL,
    uploaded_at  TEXT NOT NULL,
    record       TEXT NOT NULL,
    PRIMARY KEY (user_id, recording_id, chunk_index)
);
CREATE INDEX IF NOT EXISTS chunk_items_by_user ON chunk_items (user_id, uploaded_at);
CREATE TABLE IF NOT EXISTS recordings (
    user_id      TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    status       TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    sweep_at     TEXT,
    record       TEXT NOT NULL,
    PRIMARY KEY (user_id, recording_id)
);
CREATE INDEX IF NOT EXISTS recordings_by_user ON recordings (user_id, updated_at);
CREATE INDEX IF NOT EXISTS recordings_by_status ON recordings (status);
CREATE INDEX IF NOT EXISTS recordings_due ON recordings (sweep_at) WHERE sweep_at IS NOT NULL;
";

/// Data directories written before recordings were scoped by user keep their rows: they move
/// into the scoped tables (the JSON record carries the user), and the old tables are dropped.
const MIGRATE_UNSCOPED: &str = "
INSERT OR IGNORE INTO chunk_items (user_id, recording_id, chunk_index, uploaded_at, record)
    SELECT user_id, recording_id, chunk_index, uploaded_at, record FROM chunks;
INSERT OR IGNORE INTO recordings (user_id, recording_id, status, updated_at, sweep_at, record)
    SELECT user_id, recording_id, status, updated_at, NULL, record FROM catalog;
DROP TABLE chunks;
DROP TABLE catalog;
";

fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let old: i64 = connection.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('chunks', 'catalog')",
        [],
        |row| row.get(0),
    )?;
    if old == 2 {
        connection.execute_batch(&format!("BEGIN IMMEDIATE; {MIGRATE_UNSCOPED} COMMIT;"))?;
    }
    Ok(())
}

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
        migrate(&connection).map_err(fail)?;
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
                        "SELECT record FROM chunk_items
                         WHERE user_id = ?1 AND recording_id = ?2 AND chunk_index = ?3",
                        params![
                            chunk.user_id.as_str(),
                            chunk.recording_id.as_str(),
                            chunk.chunk_index.get()
                        ],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db_error)?;
                let (outcome, record) = match stored {
                    None => (
                        RecordOutcome::Inserted,
                        ChunkRecord {
                            reupload_count: 0,
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
                                reupload_count: stored.reupload_count + 1,
                                ..chunk
                            },
                        )
                    }
                };
                tx.execute(
                    "INSERT OR REPLACE INTO chunk_items
                         (recording_id, chunk_index, user_id, uploaded_at, record)
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

    async fn chunks(&self, recording: &RecordingRef) -> Result<Vec<ChunkRecord>, PortError> {
        let recording = recording.clone();
        self.db
            .with(move |conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT record FROM chunk_items WHERE user_id = ?1 AND recording_id = ?2
                         ORDER BY chunk_index",
                    )
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(
                        params![recording.user_id.as_str(), recording.recording_id.as_str()],
                        |row| row.get::<_, String>(0),
                    )
                    .map_err(db_error)?;
                rows.map(|r| r.map_err(db_error).and_then(|t| chunk_from_json(&t)))
                    .collect()
            })
            .await
    }

    async fn mark_failed(
        &self,
        recording: &RecordingRef,
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
                        "SELECT record FROM chunk_items
                         WHERE user_id = ?1 AND recording_id = ?2 AND chunk_index = ?3",
                        params![
                            recording.user_id.as_str(),
                            recording.recording_id.as_str(),
                            index.get()
                        ],
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
                    "UPDATE chunk_items SET record = ?4
                     WHERE user_id = ?1 AND recording_id = ?2 AND chunk_index = ?3",
                    params![
                        recording.user_id.as_str(),
                        recording.recording_id.as_str(),
                        index.get(),
                        to_json(&record)?
                    ],
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
                        "SELECT record FROM chunk_items WHERE user_id = ?1 AND uploaded_at >= ?2
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

fn load(
    tx: &rusqlite::Transaction<'_>,
    recording: &RecordingRef,
) -> Result<Option<CatalogRecord>, PortError> {
    tx.query_row(
        "SELECT record FROM recordings WHERE user_id = ?1 AND recording_id = ?2",
        params![recording.user_id.as_str(), recording.recording_id.as_str()],
        |row| row.get::<_, String>(0),
    )
    .optional()
    .map_err(db_error)?
    .map(|t| catalog_from_json(&t))
    .transpose()
}

fn save(tx: &rusqlite::Transaction<'_>, record: &CatalogRecord) -> Result<(), PortError> {
    tx.execute(
        "INSERT OR REPLACE INTO recordings
             (user_id, recording_id, status, updated_at, sweep_at, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            record.user_id.as_str(),
            record.recording_id.as_str(),
            record.status.as_str(),
            record.updated_at,
            record.sweep_at,
            to_json(record)?
        ],
    )
    .map_err(db_error)?;
    Ok(())
}

impl SqliteCatalog {
    /// Reads, changes and writes one record in one immediate transaction.
    async fn update<T, F>(&self, recording: &RecordingRef, change: F) -> Result<T, PortError>
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
        let recording = record.recording();
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
        let recording = new.recording();
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
                    .prepare("SELECT record FROM recordings WHERE status = ?1 ORDER BY updated_at")
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
    async fn get(&self, recording: &RecordingRef) -> Result<Option<CatalogRecord>, PortError> {
        self.update(recording, |stored| Ok((stored, None))).await
    }

    async fn ensure(
        &self,
        recording: &RecordingRef,
        now: DateTime<Utc>,
        sweep_at: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let id = recording.clone();
        self.update(recording, move |stored| match stored {
            Some(record) => Ok((record, None)),
            None => {
                let mut record = CatalogRecord::new_recording(&id, now);
                record.sweep_at = Some(timestamp(sweep_at));
                Ok((record.clone(), Some(record)))
            }
        })
        .await
    }

    async fn set_expected_count(
        &self,
        recording: &RecordingRef,
        count: u32,
        signal: EndSignal,
        now: DateTime<Utc>,
    ) -> Result<CatalogRecord, PortError> {
        let id = recording.clone();
        self.update(recording, move |stored| {
            let mut record = stored.unwrap_or_else(|| CatalogRecord::new_recording(&id, now));
            if let Some(existing) = record.expected_chunk_count.filter(|e| *e != count) {
                return Err(PortError::Conflict {
                    what: format!("recording {id} already expects {existing} chunks, not {count}"),
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
            Ok((record.clone(), Some(record)))
        })
        .await
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
            service: SERVICE,
            source: Box::new(e),
        })?;
        self.update(recording, move |stored| {
            let Some(mut record) = stored.filter(|r| r.status == from) else {
                return Ok((false, None));
            };
            record.status = to;
            patch.apply_to(&mut record);
            record.updated_at = timestamp(now);
            Ok((true, Some(record)))
        })
        .await
    }

    async fn set_sweep_at(
        &self,
        recording: &RecordingRef,
        sweep_at: Option<DateTime<Utc>>,
    ) -> Result<(), PortError> {
        self.update(recording, move |stored| {
            let Some(mut record) = stored else {
                return Ok(((), None));
            };
            record.sweep_at = sweep_at.map(timestamp);
            Ok(((), Some(record)))
        })
        .await
    }

    async fn due_for_sweep(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<CatalogRecord>, PortError> {
        let now = timestamp(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .with(move |conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT record FROM recordings WHERE sweep_at IS NOT NULL AND sweep_at <= ?1
                         ORDER BY sweep_at, user_id, recording_id LIMIT ?2",
                    )
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(params![now, limit], |row| row.get::<_, String>(0))
                    .map_err(db_error)?;
                rows.map(|r| r.map_err(db_error).and_then(|t| catalog_from_json(&t)))
                    .collect()
            })
            .await
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
                        "SELECT record FROM recordings WHERE user_id = ?1 AND (?2 IS NULL OR status = ?2)
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
        let recording = RecordingRef::new(
            UserId::new("u").unwrap(),
            meeting_domain::RecordingId::new("r").unwrap(),
        );
        SqliteCatalog::new(Database::open(&path).unwrap())
            .set_expected_count(&recording, 3, EndSignal::Client, Utc::now())
            .await
            .unwrap();
        let reopened = SqliteCatalog::new(Database::open(&path).unwrap());
        let record = reopened.get(&recording).await.unwrap().expect("persisted");
        assert_eq!(record.expected_chunk_count, Some(3));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_data_directory_from_before_user_scoping_keeps_its_recordings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recorder.sqlite");
        let record = CatalogRecord::new_recording(
            &RecordingRef::new(
                UserId::new("local").unwrap(),
                meeting_domain::RecordingId::new("old").unwrap(),
            ),
            Utc::now(),
        );
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE chunks (recording_id TEXT NOT NULL, chunk_index INTEGER NOT NULL,
                     user_id TEXT NOT NULL, uploaded_at TEXT NOT NULL, record TEXT NOT NULL,
                     PRIMARY KEY (recording_id, chunk_index));
                 CREATE TABLE catalog (recording_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
                     status TEXT NOT NULL, updated_at TEXT NOT NULL, record TEXT NOT NULL);",
            )
            .unwrap();
            old.execute(
                "INSERT INTO catalog VALUES ('old', 'local', 'recording', ?1, ?2)",
                params![record.updated_at, serde_json::to_string(&record).unwrap()],
            )
            .unwrap();
        }
        let catalog = SqliteCatalog::new(Database::open(&path).unwrap());
        assert_eq!(
            catalog.get(&record.recording()).await.unwrap(),
            Some(record)
        );
    }
}
