//! One cycle at a time per state database, across processes: an exclusive lock on
//! `<state database>.lock`, whether the holder is a daemon, `sync --once` or `authorize`.

use std::fs::File;
use std::path::PathBuf;

/// Why the lock could not be taken. Messages name the files and what to do.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another nmbrs-sync is already running on the state database `{db}` (lock file `{lock}` is held{holder}); stop it first or point `state.database_url` elsewhere"
    )]
    Held {
        db: String,
        lock: String,
        holder: String,
    },
    #[error("cannot create the lock file `{lock}`: {source}")]
    File {
        lock: String,
        source: std::io::Error,
    },
}

/// An exclusive lock on `<state database>.lock`, held for the life of the value (the OS releases
/// it if the process dies, so a crash never leaves a stale lock).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// The state database's file path from its URL, `None` for in-memory databases.
pub(crate) fn state_db_path(url: &str) -> Option<PathBuf> {
    crate::db::sqlite_path(url)
}

impl StateLock {
    /// Takes the lock or fails with [`LockError::Held`] naming the holder's pid.
    pub fn acquire(state_url: &str) -> Result<Option<StateLock>, LockError> {
        let Some(db) = state_db_path(state_url) else {
            return Ok(None);
        };
        let lock = PathBuf::from(format!("{}.lock", db.display()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(|source| LockError::File {
                lock: lock.display().to_string(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::{Seek, Write};
                let mut f = &file;
                let _ = f.set_len(0);
                let _ = f.seek(std::io::SeekFrom::Start(0));
                let _ = writeln!(f, "{}", std::process::id());
                Ok(Some(StateLock { _file: file }))
            }
            Err(_) => {
                let holder = std::fs::read_to_string(&lock)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty());
                Err(LockError::Held {
                    db: db.display().to_string(),
                    lock: lock.display().to_string(),
                    holder: holder.map(|p| format!(" by pid {p}")).unwrap_or_default(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_paths_from_urls() {
        assert_eq!(
            state_db_path("sqlite:/var/lib/x/state.db"),
            Some(PathBuf::from("/var/lib/x/state.db"))
        );
        assert_eq!(
            state_db_path("sqlite://state.db?mode=rwc"),
            Some(PathBuf::from("state.db"))
        );
        assert_eq!(state_db_path("sqlite::memory:"), None);
    }

    #[test]
    fn second_lock_on_the_same_database_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let first = StateLock::acquire(&url).expect("first lock");
        let err = StateLock::acquire(&url).expect_err("second refused");
        assert!(
            err.to_string().contains("already running")
                && err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        assert!(
            StateLock::acquire(&url).is_ok(),
            "released when the holder goes away"
        );
    }
}
