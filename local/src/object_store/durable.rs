//! The file-system steps of a crash-safe write: files staged under names no other writer uses and
//! held by an OS lock while their writer lives, folder fsyncs that make a rename durable, and
//! per-key locks that order the commits of writers in every process sharing the data directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};

/// How many lock files the keys are spread over: enough that unrelated keys rarely wait for each
/// other (a lock is held only for the few renames and fsyncs of a commit), few enough that the
/// folder stays small.
const KEY_LOCK_STRIPES: u8 = 64;

/// Staged files created by this process, for unique names.
static STAGED: AtomicU64 = AtomicU64::new(0);

/// A file being written in a staging folder under a name unique to its writer (process id, the
/// process's start of the name space, a counter; `create_new`, so a leftover of a dead process
/// with the same id is never reused), exclusively locked for as long as it is open, so a sweep
/// can tell it from the leftover of a dead writer. Removed when dropped unless it was renamed
/// into place (or abandoned by a simulated crash).
#[derive(Debug)]
pub(super) struct StagedFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl StagedFile {
    /// Creates and locks a new file in `dir` (created if needed).
    pub(super) fn create(dir: &Path) -> io::Result<Self> {
        create_dirs_durably(dir)?;
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        loop {
            let name = format!(
                "{}-{epoch:x}-{}.tmp",
                std::process::id(),
                STAGED.fetch_add(1, Ordering::Relaxed)
            );
            let path = dir.join(name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    let staged = Self {
                        path,
                        file,
                        keep: false,
                    };
                    staged.file.lock()?;
                    return Ok(staged);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The file's name in its staging folder.
    pub(super) fn name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }

    /// The open file.
    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// Renames the file onto `target`, replacing what is there. Not yet durable: fsync the
    /// target's folder ([`sync_parent`]).
    pub(super) fn rename_to(mut self, target: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.keep = true;
        Ok(())
    }

    /// Leaves the file where it is, as a writer killed now would.
    #[cfg(test)]
    pub(super) fn abandon(mut self) {
        self.keep = true;
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The exclusive lock of one key (of the stripe it falls in), held until dropped. An OS lock
/// (`flock`): it orders the writers of every process and is released when its holder dies.
#[derive(Debug)]
pub(super) struct KeyLock {
    _file: File,
}

impl KeyLock {
    /// Waits for and takes the lock of `bucket/key`; the lock files live in `dir`.
    pub(super) fn exclusive(dir: &Path, bucket: &str, key: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut hash = Sha256::new();
        hash.update(bucket.as_bytes());
        hash.update([0]);
        hash.update(key.as_bytes());
        let stripe = hash.finalize()[0] % KEY_LOCK_STRIPES;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(format!("{stripe:02x}.lock")))?;
        file.lock()?;
        Ok(Self { _file: file })
    }
}

/// The folder holding `path` (`.` for a bare relative name).
pub(super) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes the entries of `dir` (a file created, renamed in or removed) durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    // `std` cannot open a folder on Windows: there a rename is as durable as NTFS makes it.
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Makes the entry of `path` in its folder durable.
pub(super) fn sync_parent(path: &Path) -> io::Result<()> {
    sync_dir(parent_of(path))
}

/// `create_dir_all`, fsyncing the parent of every folder it creates, so a file renamed into the
/// new folder cannot outlive the folder's own entry after a power cut.
pub(super) fn create_dirs_durably(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs_durably(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => sync_parent(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the files of the staging folder `dir` that no live writer holds (their lock is free)
/// and that nobody modified for `grace` (which covers the instant between a writer creating its
/// file and locking it); returns how many it removed.
pub(super) fn sweep_staging(dir: &Path, grace: Duration) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .unwrap_or_default();
        if !meta.is_file() || age < grace {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        match file.try_lock() {
            Ok(()) => {
                if std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
            Err(TryLockError::WouldBlock | TryLockError::Error(_)) => {}
        }
    }
    Ok(removed)
}
