//! The daemon's own SQLite database: record links with base snapshots, runs, the audit log and the
//! newest OAuth refresh token (docs/SPEC.md, "The state / audit database").
//!
//! Every write goes through a [`StateTx`] (`BEGIN IMMEDIATE`), so a record's new link/snapshot and the
//! audit rows that explain it commit together or not at all: a crash leaves either the old state or
//! the new one, never a snapshot without its audit trail.

pub mod audit;
pub mod links;

pub mod lock;
pub mod marks;
pub mod privacy;
pub mod sealing;

use secrecy::SecretString;
use sqlx::sqlite::SqlitePool;
use sqlx::{Sqlite, Transaction};
use std::sync::Arc;

use crate::db::{open_private_sqlite, utc_now};
use sealing::{SealKey, is_sealed};

pub use audit::{AuditEntry, AuditRow, Direction};

use crate::nmbrs::auth::{RefreshTokenStore, StoreError, StoredRefreshToken};
use futures::future::BoxFuture;

/// A state database failure. The message names the database file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "state database `{url}` could not be opened: {source}; check `state.database_url` and that its directory is writable"
    )]
    Open { url: String, source: sqlx::Error },
    #[error("state database `{url}` could not be migrated: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("state database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("state database holds unreadable data in {what}: {message}")]
    Corrupt { what: String, message: String },
    #[error(
        "a secret stored sealed in the state database (refresh token, BSN key) cannot be used: {0}"
    )]
    Sealed(#[from] sealing::UnsealError),
    #[error("could not seal the refresh token: {0}")]
    Seal(String),
}

/// The column the refresh token is sealed for (associated data of [`SealKey::seal`]).
const TOKEN_COLUMN: &str = "oauth_state.refresh_token";

/// The row the BSN key is sealed for.
const BSN_KEY_COLUMN: &str = "install_keys.bsn";

/// Handle to the state database (cheap to clone).
#[derive(Clone, Debug)]
pub struct StateDb {
    pool: SqlitePool,
    /// Serialises writers inside this process, so the audit hash chain is extended one row at a time
    /// and tasks queue here instead of spinning on SQLite's busy handler.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    url: String,
    /// `state.key_file`'s key: the refresh token is stored sealed with it.
    seal: Option<SealKey>,
}

impl StateDb {
    /// Opens (creating if missing) and migrates the state database at `url` (`sqlite:path`): its
    /// files private to this user (0600, a directory it creates 0700; [`crate::db::make_private`]),
    /// an audit log of an older format re-anchored once ([`audit::reanchor_legacy`]).
    ///
    /// Errors: [`StateError::Open`] / [`StateError::Migrate`] naming the database.
    pub async fn open(url: &str) -> Result<StateDb, StateError> {
        let pool = open_private_sqlite(url, 4)
            .await
            .map_err(|source| StateError::Open {
                url: url.into(),
                source,
            })?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| StateError::Migrate {
                url: url.into(),
                source,
            })?;
        let db = StateDb {
            pool,
            write_lock: Arc::default(),
            url: url.to_owned(),
            seal: None,
        };
        audit::reanchor_legacy(&db).await?;
        Ok(db)
    }

    /// Seals the stored refresh token with `key` from now on (`state.key_file`); a token stored in
    /// clear before the key was configured is sealed at once.
    ///
    /// Errors: the database's, or no randomness for the nonce.
    pub async fn with_seal_key(mut self, key: Option<SealKey>) -> Result<StateDb, StateError> {
        self.seal = key;
        let clear: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM oauth_state WHERE id = 1 AND refresh_token NOT LIKE 'sealed:%')",
        )
        .fetch_one(&self.pool)
        .await?;
        if let Some(key) = self.seal.as_ref().filter(|_| clear) {
            let mut tx = self.begin().await?;
            let stored: Option<String> =
                sqlx::query_scalar("SELECT refresh_token FROM oauth_state WHERE id = 1")
                    .fetch_optional(tx.conn())
                    .await?;
            if let Some(token) = stored.filter(|t| !is_sealed(t)) {
                let sealed = key.seal(&token, TOKEN_COLUMN).map_err(StateError::Seal)?;
                sqlx::query("UPDATE oauth_state SET refresh_token = ? WHERE id = 1")
                    .bind(sealed)
                    .execute(tx.conn())
                    .await?;
                tracing::info!("the stored refresh token is now sealed with state.key_file");
            }
            tx.commit().await?;
            self.checkpoint().await;
        }
        Ok(self)
    }

    /// Whether the refresh token is stored sealed (`state.key_file` set).
    pub fn seals_tokens(&self) -> bool {
        self.seal.is_some()
    }

    /// Moves the WAL into the database and truncates it (best effort), so values just erased or
    /// sealed do not linger in the `-wal` file.
    pub async fn checkpoint(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed; it happens at the next one");
        }
    }

    /// The key BSNs are hashed with ([`crate::fields::bsn_hash`]): made once (256 random bits) and
    /// kept in this database, so hashes stay comparable across processes and restarts. With
    /// `state.key_file` it is stored sealed (a key stored in clear before is sealed at once, its
    /// value unchanged), so a copy of the database alone cannot test BSN candidates against the
    /// hashes in its snapshots.
    ///
    /// Errors: the database's, no randomness from the operating system, or a sealed key without
    /// (or with another) `state.key_file`.
    pub async fn bsn_key(&self) -> Result<Vec<u8>, StateError> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| StateError::Corrupt {
            what: "install_keys".into(),
            message: format!("no randomness for the BSN key: {e}"),
        })?;
        let sealed = |key: &SealKey, raw: &[u8]| {
            key.seal(&hex::encode(raw), BSN_KEY_COLUMN)
                .map(String::into_bytes)
                .map_err(StateError::Seal)
        };
        let fresh_stored = match &self.seal {
            Some(key) => sealed(key, &fresh)?,
            None => fresh.to_vec(),
        };
        // Whoever inserts first wins; everyone reads the same key back.
        sqlx::query("INSERT OR IGNORE INTO install_keys (name, key) VALUES ('bsn', ?)")
            .bind(fresh_stored)
            .execute(&self.pool)
            .await?;
        let stored =
            sqlx::query_scalar::<_, Vec<u8>>("SELECT key FROM install_keys WHERE name = 'bsn'")
                .fetch_one(&self.pool)
                .await?;
        let is_sealed_key = stored.starts_with(sealing::SEALED_PREFIX.as_bytes());
        match (&self.seal, is_sealed_key) {
            (Some(key), true) => {
                let text = String::from_utf8_lossy(&stored);
                let opened = key.open(&text, BSN_KEY_COLUMN)?;
                hex::decode(opened).map_err(|_| sealing::UnsealError::WrongKey.into())
            }
            (None, true) => Err(sealing::UnsealError::NoKey.into()),
            (Some(key), false) => {
                sqlx::query("UPDATE install_keys SET key = ? WHERE name = 'bsn'")
                    .bind(sealed(key, &stored)?)
                    .execute(&self.pool)
                    .await?;
                self.checkpoint().await;
                Ok(stored)
            }
            (None, false) => Ok(stored),
        }
    }

    /// The `state.database_url` this was opened from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection pool, for read-only queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`, process-wide writer lock held until commit).
    pub async fn begin(&self) -> Result<StateTx, StateError> {
        let guard = self.write_lock.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(StateTx {
            tx,
            _guard: guard,
            head: None,
        })
    }

    /// Appends audit rows in their own transaction.
    pub async fn audit(&self, entries: &[AuditEntry]) -> Result<(), StateError> {
        let mut tx = self.begin().await?;
        tx.audit_many(entries).await?;
        tx.commit().await
    }

    /// Records the start of a run; returns its id.
    pub async fn start_run(&self, trigger: &str, dry_run: bool) -> Result<i64, StateError> {
        let mut tx = self.begin().await?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO sync_runs (trigger, dry_run, started_at, status) VALUES (?, ?, ?, 'running') RETURNING id",
        )
        .bind(trigger)
        .bind(dry_run)
        .bind(utc_now())
        .fetch_one(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// When the last cycle that synced (succeeded or partial, not a dry run) finished, and when the
    /// stored access token expires (each refresh rotates the refresh token), as Unix seconds: what
    /// the daemon's metrics start from.
    pub async fn last_success_and_token(&self) -> Result<(Option<f64>, Option<f64>), StateError> {
        let finished: Option<String> = sqlx::query_scalar(
            "SELECT max(finished_at) FROM sync_runs WHERE status IN ('succeeded', 'partial') AND dry_run = 0",
        )
        .fetch_one(&self.pool)
        .await?;
        let expires: Option<Option<String>> =
            sqlx::query_scalar("SELECT access_expires_at FROM oauth_state WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        let secs = |t: Option<String>| {
            t.as_deref()
                .and_then(crate::db::parse_time)
                .map(|t| t.unix_timestamp() as f64)
        };
        Ok((secs(finished), secs(expires.flatten())))
    }

    /// Records the end of a run: `status` is succeeded | partial | failed | interrupted;
    /// `counts` is a JSON object of counters.
    pub async fn finish_run(
        &self,
        run_id: i64,
        status: &str,
        counts: &str,
        api_calls: u64,
        error: Option<&str>,
    ) -> Result<(), StateError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE sync_runs SET finished_at = ?, status = ?, counts = ?, api_calls = ?, error = ? WHERE id = ?")
            .bind(utc_now())
            .bind(status)
            .bind(counts)
            .bind(api_calls as i64)
            .bind(error)
            .bind(run_id)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await
    }

    /// Runs left `running` by a process that died: marked `interrupted` at the next start.
    pub async fn close_abandoned_runs(&self) -> Result<u64, StateError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE sync_runs SET status = 'interrupted', finished_at = ?, error = 'process ended during the run' WHERE status = 'running'",
        )
        .bind(utc_now())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// The persisted refresh token and the chain it belongs to, if any. Which token is presented
    /// next, this one or a configured `nmbrs.refresh_token`, is decided by
    /// `nmbrs::auth::choose_refresh_token`.
    pub async fn stored_refresh_token(&self) -> Result<Option<StoredRefreshToken>, StateError> {
        let row = sqlx::query_as::<_, (String, String)>(
            "SELECT refresh_token, seed_fingerprint FROM oauth_state WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some((token, chain)) = row else {
            return Ok(None);
        };
        let token = match (&self.seal, is_sealed(&token)) {
            (Some(key), true) => key.open(&token, TOKEN_COLUMN)?,
            (None, true) => return Err(sealing::UnsealError::NoKey.into()),
            (_, false) => token,
        };
        Ok(Some(StoredRefreshToken {
            refresh_token: SecretString::from(token),
            chain,
        }))
    }

    /// Persists a newly rotated refresh token (before it is ever used), with the access token's expiry
    /// and granted scopes (never the access token itself). `chain` is what started the chain: the
    /// [`crate::nmbrs::auth::fingerprint`] of a configured `nmbrs.refresh_token`, or
    /// [`crate::nmbrs::auth::AUTHORIZED_CHAIN`] for one obtained by `nmbrs-sync authorize`; it is kept in the
    /// `seed_fingerprint` column. The token manager and `authorize` both store through here.
    pub async fn save_refresh_token(
        &self,
        refresh_token: &str,
        chain: &str,
        access_expires_at: Option<&str>,
        scopes: Option<&str>,
    ) -> Result<(), StateError> {
        let sealed = match &self.seal {
            Some(key) => Some(
                key.seal(refresh_token, TOKEN_COLUMN)
                    .map_err(StateError::Seal)?,
            ),
            None => None,
        };
        let refresh_token = sealed.as_deref().unwrap_or(refresh_token);
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO oauth_state (id, refresh_token, seed_fingerprint, access_expires_at, scopes, updated_at)
             VALUES (1, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET refresh_token = excluded.refresh_token,
               seed_fingerprint = excluded.seed_fingerprint, access_expires_at = excluded.access_expires_at,
               scopes = excluded.scopes, updated_at = excluded.updated_at",
        )
        .bind(refresh_token)
        .bind(chain)
        .bind(access_expires_at)
        .bind(scopes)
        .bind(utc_now())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await
    }
}

/// A write transaction on the state database; see [`StateDb::begin`].
pub struct StateTx {
    tx: Transaction<'static, Sqlite>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
    /// The audit chain's newest row once this transaction has read or extended it.
    head: Option<audit::ChainHead>,
}

impl StateTx {
    /// Commits everything written through this transaction.
    pub async fn commit(self) -> Result<(), StateError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// The underlying connection, for statements of the submodules.
    pub(crate) fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}

/// The state database keeps the newest refresh token for the token manager (`oauth_state`).
impl RefreshTokenStore for StateDb {
    fn load(&self) -> BoxFuture<'_, Result<Option<StoredRefreshToken>, StoreError>> {
        Box::pin(async move {
            self.stored_refresh_token()
                .await
                .map_err(|e| StoreError(e.to_string()))
        })
    }

    fn save<'a>(
        &'a self,
        refresh_token: &'a str,
        chain: &'a str,
        access_expires_at: Option<&'a str>,
        scopes: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.save_refresh_token(refresh_token, chain, access_expires_at, scopes)
                .await
                .map_err(|e| StoreError(e.to_string()))
        })
    }

    fn location(&self) -> String {
        self.url().to_owned()
    }

    /// An exclusive lock on `<state database>.token.lock` (waits for the holder; the OS releases
    /// it if the holder dies). In-memory databases are one process: no file, no lock.
    fn lock(&self) -> BoxFuture<'_, Result<Box<dyn std::any::Any + Send>, StoreError>> {
        let path = lock::state_db_path(self.url())
            .map(|db| std::path::PathBuf::from(format!("{}.token.lock", db.display())));
        Box::pin(async move {
            let Some(path) = path else {
                return Ok(Box::new(()) as Box<dyn std::any::Any + Send>);
            };
            let file = tokio::task::spawn_blocking(move || {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                    .map_err(|e| StoreError(format!("cannot open `{}`: {e}", path.display())))?;
                file.lock()
                    .map_err(|e| StoreError(format!("cannot lock `{}`: {e}", path.display())))?;
                Ok::<_, StoreError>(file)
            })
            .await
            .map_err(|e| StoreError(e.to_string()))??;
            Ok(Box::new(file) as Box<dyn std::any::Any + Send>)
        })
    }
}
