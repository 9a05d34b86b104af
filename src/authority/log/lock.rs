//! The lock files next to a log: the writer lock (one server per log) and the append lock
//! (around each append and a whole prune).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::LogError;

/// A file next to the log: `<log><suffix>`.
pub(super) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The lock held around each append and for a whole prune.
pub fn append_lock_path(path: &Path) -> PathBuf {
    sidecar(path, ".lock")
}

/// The lock a server holds for its life: one writer per log.
pub fn writer_lock_path(path: &Path) -> PathBuf {
    sidecar(path, ".writer.lock")
}

pub(super) fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Take the append/prune lock, waiting for it. Released when the returned file is dropped.
pub fn append_lock(path: &Path) -> Result<File, LogError> {
    let lock = append_lock_path(path);
    let f = open_lock_file(&lock).map_err(|e| LogError::io(&lock, e))?;
    match f.try_lock() {
        Ok(()) => return Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {
            tracing::info!(lock = %lock.display(), "waiting for the disclosure log lock (a prune is running?)");
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(LogError::Lock {
                path: lock,
                source: e,
            })
        }
    }
    f.lock().map_err(|e| LogError::Lock {
        path: lock.clone(),
        source: e,
    })?;
    Ok(f)
}
