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
