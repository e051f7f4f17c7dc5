//! The file-system adapter of [`ResultSpool`]: one JSON file per task in a directory of its own.
//!
//! A result is written atomically — a uniquely named temporary file in the same directory,
//! written and fsynced, renamed over the final name, then the directory fsynced — so a crash
//! leaves either the old file, the new one or a stray temporary file, never half a result.
//! Temporary files left by a crash are removed when the spool is opened. A file that does not
//! parse is skipped with a warning and left in place for an operator to inspect.
//!
//! File names are the SHA-256 of the task token (the token is a credential and can be 2,048
//! characters); the directory is created `0700` and files `0600`. One directory per worker
//! process: two workers sharing one would both report the same results (harmless — the second
//! report finds the task closed — but pointless).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{debug, warn};

use crate::error::RuntimeError;
use crate::spool::{ResultSpool, SpooledResult, oldest_first};

/// Version of the file format, stored in every file.
const FORMAT_VERSION: u32 = 1;

/// Extension of a result file.
const RESULT_EXTENSION: &str = "json";

/// Extension of a temporary file (always also starting with a dot).
const TEMP_EXTENSION: &str = "tmp";

/// What one file holds.
#[derive(Serialize, Deserialize)]
struct StoredResult {
    version: u32,
    result: SpooledResult,
}

/// A [`ResultSpool`] in a directory.
#[derive(Clone, Debug)]
pub struct FsResultSpool {
    dir: PathBuf,
}

impl FsResultSpool {
    /// Opens the spool in `dir`, creating the directory (mode `0700`) when it does not exist and
    /// removing temporary files an interrupted write left behind.
    ///
    /// # Errors
    /// [`RuntimeError::Spool`] when the directory cannot be created or read.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, RuntimeError> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        let entries = fs::read_dir(&dir).map_err(|source| RuntimeError::Spool {
            action: "read",
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if is_temporary(&path) {
                match fs::remove_file(&path) {
                    Ok(()) => {
                        debug!(path = %path.display(), "removed a temporary spool file left by an interrupted write");
                    }
                    Err(e) => {
                        warn!(path = %path.display(), error = %e, "cannot remove a temporary spool file");
                    }
                }
            }
        }
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `token`'s result.
    fn path_of(&self, token: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(token.as_bytes()));
        self.dir.join(format!("{name}.{RESULT_EXTENSION}"))
    }

    fn write(&self, result: &SpooledResult) -> Result<(), RuntimeError> {
        let bytes = serde_json::to_vec(&StoredResult {
            version: FORMAT_VERSION,
            result: result.clone(),
        })
        .map_err(RuntimeError::SpoolEncode)?;
        let path = self.path_of(&result.token);
        let temp = self.dir.join(format!(
            ".{}.{:016x}.{TEMP_EXTENSION}",
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("result"),
            rand::random::<u64>()
        ));
        let io = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| RuntimeError::Spool {
                action,
                path,
                source,
            }
        };
        let written = (|| {
            let mut file = create_private_file(&temp).map_err(io("create", &temp))?;
            file.write_all(&bytes).map_err(io("write", &temp))?;
            file.sync_all().map_err(io("sync", &temp))?;
            fs::rename(&temp, &path).map_err(io("rename into", &path))
        })();
        if written.is_err() {
            // Best effort: a leftover is removed at the next open anyway.
            let _ = fs::remove_file(&temp);
        }
        written?;
        sync_dir(&self.dir)
    }

    fn delete(&self, token: &str) -> Result<(), RuntimeError> {
        let path = self.path_of(token);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(source) => Err(RuntimeError::Spool {
                action: "remove",
                path,
                source,
            }),
        }
    }

    fn read_all(&self) -> Result<Vec<SpooledResult>, RuntimeError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| RuntimeError::Spool {
            action: "read",
            path: self.dir.clone(),
            source,
        })?;
        let mut results = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| RuntimeError::Spool {
                    action: "read",
                    path: self.dir.clone(),
                    source,
                })?
                .path();
            if is_temporary(&path)
                || path.extension().and_then(|e| e.to_str()) != Some(RESULT_EXTENSION)
            {
                continue;
            }
            let text = match fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "cannot read a spooled result; skipping it");
                    continue;
                }
            };
            match serde_json::from_str::<StoredResult>(&text) {
                Ok(stored) if stored.version == FORMAT_VERSION => results.push(stored.result),
                Ok(stored) => warn!(
                    path = %path.display(),
                    version = stored.version,
                    "a spooled result has an unknown format version; skipping it"
                ),
                Err(e) => warn!(
                    path = %path.display(),
                    error = %e,
                    "a spooled result does not parse; skipping it (left in place for inspection)"
                ),
            }
        }
        oldest_first(&mut results);
        Ok(results)
    }
}

#[async_trait]
impl ResultSpool for FsResultSpool {
    async fn put(&self, result: &SpooledResult) -> Result<(), RuntimeError> {
        let spool = self.clone();
        let result = result.clone();
        blocking(&self.dir, move || spool.write(&result)).await
    }

    async fn remove(&self, token: &str) -> Result<(), RuntimeError> {
        let spool = self.clone();
        let token = token.to_owned();
        blocking(&self.dir, move || spool.delete(&token)).await
    }

    async fn pending(&self) -> Result<Vec<SpooledResult>, RuntimeError> {
        let spool = self.clone();
        blocking(&self.dir, move || spool.read_all()).await
    }
}

/// Runs file-system work on `dir` off the async threads (fsync can take milliseconds).
async fn blocking<T: Send + 'static>(
    dir: &Path,
    work: impl FnOnce() -> Result<T, RuntimeError> + Send + 'static,
) -> Result<T, RuntimeError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(RuntimeError::Spool {
            action: "finish an operation on",
            path: dir.to_owned(),
            source: std::io::Error::other(e),
        })
    })
}

/// Whether `path` is a temporary file of an unfinished write.
fn is_temporary(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') && path.extension().and_then(|e| e.to_str()) == Some(TEMP_EXTENSION)
}

fn create_private_dir(dir: &Path) -> Result<(), RuntimeError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| RuntimeError::Spool {
        action: "create",
        path: dir.to_owned(),
        source,
    })
}

fn create_private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), RuntimeError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| RuntimeError::Spool {
                action: "sync",
                path: dir.to_owned(),
                source,
            })
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened for syncing here; the rename is as durable as the OS
        // makes it.
        let _ = dir;
        Ok(())
    }
}
