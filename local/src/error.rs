//! Errors of the local runtime.

use std::path::PathBuf;

/// What can go wrong in the local runtime's own code (port operations return
/// [`meeting_domain::PortError`]).
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A file or folder of the data directory could not be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An EventBridge pattern is malformed.
    #[error("invalid event pattern {reason}")]
    InvalidPattern {
        /// What is wrong.
        reason: String,
    },
    /// The SQLite database could not be opened or migrated.
    #[error("the local database {path} cannot be used: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The local Step Functions engine refused the workflow or an activity.
    #[error("the local engine refused {what}: {detail}")]
    Engine {
        /// What was being created.
        what: String,
        /// The engine's message.
        detail: String,
    },
    /// The offline speech model could not be found or loaded.
    #[error("{0}")]
    Model(String),
    /// The in-process activity workers could not be set up.
    #[error("the activity workers cannot start: {0}")]
    Workers(String),
}
