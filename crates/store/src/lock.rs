//! The claim one `continuo serve` lays on a SQLite database: an exclusive advisory lock
//! (`flock`) on `<database>.lock` beside the file, held for as long as the process
//! lives. Two servers on one file would each decide and send pages from the same
//! outbox, and each take the other's work for its own.
//!
//! Why a lock on a file of its own, held by the OS: the kernel drops it when the
//! process ends however it ends (`kill -9`, a crash), so there is never a stale lock to
//! clean up; and the database file itself is left to SQLite's own locking, which the
//! commands that work straight on the database (`continuo user add`, say) still share
//! with a running server. PostgreSQL is not claimed here: several servers on one
//! PostgreSQL database are the cluster's question.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Why a database could not be claimed. Every variant names the lock file.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock: another Continuo serves this database.
    #[error("another Continuo serves {} already (it holds {})", database.display(), lock.display())]
    Held {
        /// The SQLite database file.
        database: PathBuf,
        /// The lock file beside it.
        lock: PathBuf,
    },
    /// The lock file could not be created, opened or locked.
    #[error("cannot lock {}: {source}", lock.display())]
    Io {
        /// The lock file.
        lock: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// A claim on a SQLite database; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct ServeLock {
    /// Kept open: closing the file releases the lock.
    _file: File,
    lock: PathBuf,
}

impl ServeLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.lock
    }
}

/// Claims the SQLite database named by `url` for this process. `Ok(None)` for what is
/// not a SQLite file (PostgreSQL, an in-memory database, a URL [`crate::Store::open`]
/// will refuse with its own error). The lock file's folder is created `0700` when
/// missing, as the database's is, and the file `0600`.
pub fn claim(url: &str) -> Result<Option<ServeLock>, LockError> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let Ok(options) = sqlx::sqlite::SqliteConnectOptions::from_str(url) else {
        return Ok(None);
    };
    // Named in full in a refusal: a relative path says little to whoever reads it.
    let database = std::path::absolute(options.get_filename())
        .unwrap_or_else(|_| options.get_filename().to_path_buf());
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    let io = |source| LockError::Io {
        lock: lock.clone(),
        source,
    };
    let file = open_private(&lock).map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(ServeLock { _file: file, lock })),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held { database, lock }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<File> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}
