//! One instance per data directory: the commands that run the local backend (`process`,
//! `reprocess`, `serve`) hold an exclusive lock on `DATA_DIR/recorder.lock` while they run.
//!
//! Two backends on one data directory would both run the sweeper, both re-drive the recordings
//! they find `processing` after a restart, and both hand the same recording to workers: double
//! processing. The lock is an OS file lock (`flock`), so it is released when its holder exits
//! however it exits (a SIGKILL included) and a stale file never blocks anyone; the pid and
//! command written into the file only name the holder for the message.
//!
//! `status` and `list` only read the catalog and take no lock, so they work while `serve` runs;
//! `recorder worker` shares the data directory of the `serve` it polls and takes none either.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "recorder.lock";

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock of `data_dir` (created if needed) for the command `command`.
    ///
    /// # Errors
    /// [`CliError::Locked`] when another process holds it, naming that process;
    /// [`CliError::Io`] when the directory or file cannot be created.
    pub fn acquire(data_dir: &Path, command: &str) -> Result<Self, CliError> {
        std::fs::create_dir_all(data_dir).map_err(|source| CliError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(LOCK_FILE);
        let io = |source| CliError::Io {
            path: path.clone(),
            source,
        };
        // Not truncated on open: the holder's line must survive a failed attempt.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(CliError::Locked {
                    data_dir: data_dir.to_owned(),
                    holder: describe_holder(&holder),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "pid {} {command}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock now (dropping it does the same).
    pub fn release(self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// `pid 1234 (recorder serve …)` from the line the holder wrote.
fn describe_holder(line: &str) -> String {
    let line = line.trim();
    let Some(rest) = line.strip_prefix("pid ") else {
        return "another recorder process (it did not write its pid yet)".to_owned();
    };
    match rest.split_once(' ') {
        Some((pid, command)) => format!("pid {pid}: {command}"),
        None => format!("pid {rest}"),
    }
}

/// The command line of this process, for the lock file and the resume hint.
pub fn command_line() -> String {
    std::env::args()
        .map(|arg| {
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'') {
                format!("'{}'", arg.replace('\'', r"'\''"))
            } else {
                arg
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_held_lock_when_another_takes_it_then_it_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path(), "recorder serve").unwrap();

        let refused = DataDirLock::acquire(dir.path(), "recorder process x").unwrap_err();

        let message = refused.to_string();
        assert_eq!(refused.exit_code(), 3);
        assert!(
            message.contains(&format!("pid {}: recorder serve", std::process::id())),
            "{message}"
        );
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        held.release();
        DataDirLock::acquire(dir.path(), "recorder process x").expect("free after release");
    }
}
