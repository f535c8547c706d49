//! Opening SQLite databases and the time format of their columns — shared by the state database
//! (`crate::state`), the HRIS reader (`crate::hris`) and the demo.

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How long a writer waits for SQLite's lock before failing, seconds.
const BUSY_TIMEOUT_SECS: u64 = 30;

/// WAL pages after which a commit to the state database checkpoints (SQLite's default: 1000),
/// and (× 4 KiB pages) the size the WAL file is cut back to after one. A batch of 500 first links
/// dirties ~2000 pages of the audit and link indexes (keys in no insertion order), so at the
/// default every commit copied its pages into the database and synced it twice; at 10,000 a page
/// rewritten by several batches is copied once (a replay of the 100k link cycle's state writes
/// with Python's sqlite3: 16.8 s → 8.4–10.5 s; issue 13). Durability
/// is unchanged: a committed transaction is in the WAL before COMMIT returns and survives a
/// process crash; `synchronous=NORMAL` already let a power cut lose what was not checkpointed.
const STATE_WAL_PAGES: u32 = 10_000;

/// UTC now as RFC 3339 with milliseconds, the time format of every table.
pub fn utc_now() -> String {
    format_time(OffsetDateTime::now_utc())
}

/// Formats a UTC time as stored in the state database.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses a time written by [`format_time`].
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Opens a SQLite database with WAL, a busy timeout and `synchronous=NORMAL` (durable across a
/// process crash, which is what the crash tests exercise).
pub async fn open_sqlite(url: &str, max_connections: u32) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
}

/// The file path of a `sqlite:` URL, `None` for in-memory databases.
pub(crate) fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:" && !url.contains("mode=memory"))
        .then(|| std::path::PathBuf::from(path))
}

/// The SQLite files of a database: the file itself and its `-wal`, `-shm` and `-journal`.
pub(crate) fn sqlite_files(db: &std::path::Path) -> [std::path::PathBuf; 4] {
    let with = |suffix: &str| std::path::PathBuf::from(format!("{}{suffix}", db.display()));
    [
        db.to_path_buf(),
        with("-wal"),
        with("-shm"),
        with("-journal"),
    ]
}

/// Makes a database that holds personal data and secrets private to this user before SQLite
/// opens it: a missing directory is created 0700, a missing database file is created 0600, and
/// an existing file, WAL, SHM or journal readable by group or others is narrowed to 0600.
/// SQLite creates `-wal`, `-shm` and `-journal` with the database file's permissions (its unix
/// VFS copies them), so a 0600 database never gets wider companions; narrowing the process umask
/// instead would race with every other file this multi-threaded process creates.
/// Returns the files it narrowed, with their old modes (for a warning).
///
/// Errors: the directory or file cannot be created, or a mode cannot be changed (not the owner).
pub(crate) fn make_private(db: &std::path::Path) -> std::io::Result<Vec<(String, u32)>> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(db)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let mut narrowed = Vec::new();
    for file in sqlite_files(db) {
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))?;
            narrowed.push((file.display().to_string(), mode));
        }
    }
    Ok(narrowed)
}

/// [`open_sqlite`] for a private database (the state database): files made private first
/// ([`make_private`]) and `secure_delete` on, so erased values are overwritten with zeros in the
/// file instead of lingering in free pages; temporary data in memory (`temp_store`).
pub async fn open_private_sqlite(
    url: &str,
    max_connections: u32,
) -> Result<SqlitePool, sqlx::Error> {
    if let Some(path) = sqlite_path(url) {
        match make_private(&path) {
            Ok(narrowed) => {
                for (file, mode) in narrowed {
                    tracing::warn!(
                        file,
                        mode = format!("{mode:o}"),
                        "state database file was readable by others; narrowed to owner only"
                    );
                }
            }
            Err(e) => return Err(sqlx::Error::Io(e)),
        }
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))
        .foreign_keys(true)
        .pragma("secure_delete", "on")
        // Statement journals (a multi-row write of a batch needs one) in memory, not temp files.
        .pragma("temp_store", "memory")
        // See STATE_WAL_PAGES.
        .pragma("wal_autocheckpoint", STATE_WAL_PAGES.to_string())
        .pragma("journal_size_limit", (STATE_WAL_PAGES * 4096).to_string());
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
}
