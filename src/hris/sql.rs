//! The two databases an HRIS may live in, behind one small surface: a pool enum (SQLite or
//! PostgreSQL), its transactions, and bind values. `hris/mod.rs` writes the SQL per dialect and
//! never touches a driver type; the rest of the sync never learns which database it is.
//!
//! Every column is read as text (the SQL casts it), so a row is a list of optional strings whatever
//! the database: the validator canonicalises text, not driver types. Queries are built at run time
//! (no `query!` macros): the build never needs a database.

use super::schema::{Dialect, ExistingColumn, quote};
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, Row};

/// A bind value. PostgreSQL gets values as text and casts them in the SQL to the column's type.
#[derive(Clone, Debug)]
pub(crate) enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
    Real(f64),
}

/// One row, every column as text; `Err(())` for a value that is not valid UTF-8 (SQLite only).
pub(crate) type TextRow = Vec<Result<Option<String>, ()>>;

/// Placeholders in order: `?` (SQLite) or `$1`, `$2`, … (PostgreSQL).
pub(crate) struct Ph {
    dialect: Dialect,
    n: usize,
}

impl Ph {
    pub(crate) fn new(dialect: Dialect) -> Ph {
        Ph { dialect, n: 0 }
    }

    pub(crate) fn next(&mut self) -> String {
        self.n += 1;
        match self.dialect {
            Dialect::Sqlite => "?".into(),
            Dialect::Postgres => format!("${}", self.n),
        }
    }
}

/// A connection pool to the HRIS database.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A transaction on the HRIS database.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b {
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Int(v) => q.bind(*v),
                Bind::Real(v) => q.bind(*v),
            };
        }
        q
    }};
}

fn text_row<R: Row>(r: &R) -> TextRow
where
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    (0..r.len())
        .map(|i| r.try_get::<Option<String>, _>(i).map_err(|_| ()))
        .collect()
}

impl Pool {
    /// Connects. `create`: make a missing SQLite file (`hris init` only; the sync never creates an
    /// HRIS). SQLite's journal mode is left as the HRIS owner set it; PostgreSQL sessions use ISO
    /// dates (a DATE column reads as `YYYY-MM-DD` whatever the server's default).
    pub(crate) async fn connect(
        dialect: Dialect,
        url: &str,
        busy_timeout: std::time::Duration,
        create: bool,
    ) -> Result<Pool, sqlx::Error> {
        use std::str::FromStr;
        match dialect {
            Dialect::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                    .create_if_missing(create)
                    // Per connection only. A write lost to a power cut (not a process crash) is
                    // redone by the next cycle's merge.
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    // A multi-row write-back's statement journal in memory, not a temp file.
                    .pragma("temp_store", "memory")
                    .busy_timeout(busy_timeout);
                Ok(Pool::Sqlite(
                    sqlx::sqlite::SqlitePoolOptions::new()
                        .max_connections(2)
                        .connect_with(options)
                        .await?,
                ))
            }
            Dialect::Postgres => {
                let lock_ms = busy_timeout.as_millis().to_string();
                let options = sqlx::postgres::PgConnectOptions::from_str(url)?
                    .options([("DateStyle", "ISO"), ("lock_timeout", lock_ms.as_str())]);
                Ok(Pool::Postgres(
                    sqlx::postgres::PgPoolOptions::new()
                        .max_connections(2)
                        .acquire_timeout(busy_timeout.max(std::time::Duration::from_secs(5)))
                        .connect_with(options)
                        .await?,
                ))
            }
        }
    }

    /// The columns of `table` (none: no such table or view). PostgreSQL: `table` may be
    /// schema-qualified (`hr.employees`) and is found through the search path otherwise; a
    /// column's type is `format_type` (`character varying(80)`, `numeric(5,2)`, `date`, …).
    pub(crate) async fn table_columns(
        &self,
        table: &str,
    ) -> Result<Vec<ExistingColumn>, sqlx::Error> {
        let rows: Vec<(String, String, bool)> = match self {
            Pool::Sqlite(p) => sqlx::query_as::<_, (String, String, i64)>(
                "SELECT name, type, pk FROM pragma_table_info(?)",
            )
            .bind(table)
            .fetch_all(p)
            .await?
            .into_iter()
            .map(|(n, t, pk)| (n, t, pk > 0))
            .collect(),
            Pool::Postgres(p) => {
                sqlx::query_as(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
                            COALESCE((SELECT true FROM pg_index i
                                      WHERE i.indrelid = a.attrelid AND i.indisprimary
                                        AND a.attnum = ANY(i.indkey)), false)
                     FROM pg_attribute a
                     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
                     ORDER BY a.attnum",
                )
                .bind(quote(table))
                .fetch_all(p)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(name, declared, primary_key)| ExistingColumn {
                name,
                declared,
                primary_key,
            })
            .collect())
    }

    /// Runs `sql` and hands each row to `each` as it streams in.
    pub(crate) async fn for_each(
        &self,
        sql: String,
        binds: &[Bind],
        mut each: impl FnMut(TextRow),
    ) -> Result<(), sqlx::Error> {
        match self {
            Pool::Sqlite(p) => {
                let query = bind_all!(sqlx::query(AssertSqlSafe(sql)), binds);
                let mut stream = query.fetch(p);
                while let Some(r) = stream.try_next().await? {
                    each(text_row(&r));
                }
            }
            Pool::Postgres(p) => {
                let query = bind_all!(sqlx::query(AssertSqlSafe(sql)), binds);
                let mut stream = query.fetch(p);
                while let Some(r) = stream.try_next().await? {
                    each(text_row(&r));
                }
            }
        }
        Ok(())
    }

    /// Runs a statement; the rows it changed.
    pub(crate) async fn execute(&self, sql: String, binds: &[Bind]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => bind_all!(sqlx::query(AssertSqlSafe(sql)), binds)
                .execute(p)
                .await?
                .rows_affected(),
            Pool::Postgres(p) => bind_all!(sqlx::query(AssertSqlSafe(sql)), binds)
                .execute(p)
                .await?
                .rows_affected(),
        })
    }

    /// Starts a transaction; `write`: one that will write (SQLite takes the write lock at once,
    /// `BEGIN IMMEDIATE`, so a read-then-write cannot be overtaken; PostgreSQL locks the rows it
    /// reads with `FOR UPDATE` instead, see [`Tx::fetch_optional`]).
    pub(crate) async fn begin(&self, write: bool) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) if write => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }
}

impl Tx {
    /// The first row of `sql`, every column as text.
    pub(crate) async fn fetch_optional(
        &mut self,
        sql: String,
        binds: &[Bind],
    ) -> Result<Option<TextRow>, sqlx::Error> {
        Ok(match self {
            Tx::Sqlite(tx) => bind_all!(sqlx::query(AssertSqlSafe(sql)), binds)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| text_row(&r)),
            Tx::Postgres(tx) => bind_all!(sqlx::query(AssertSqlSafe(sql)), binds)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| text_row(&r)),
        })
    }

    /// Runs a statement in the transaction; the rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: String,
        binds: &[Bind],
    ) -> Result<u64, sqlx::Error> {
        self.run(sql, binds, true).await
    }

    /// [`Self::execute`] for a statement used once (a batch's, as long as its rows): not kept in
    /// the connection's statement cache.
    pub(crate) async fn execute_once(
        &mut self,
        sql: String,
        binds: &[Bind],
    ) -> Result<u64, sqlx::Error> {
        self.run(sql, binds, false).await
    }

    /// Runs a statement, kept in the statement cache when `persistent`; the rows it changed.
    async fn run(
        &mut self,
        sql: String,
        binds: &[Bind],
        persistent: bool,
    ) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Tx::Sqlite(tx) => bind_all!(sqlx::query(AssertSqlSafe(sql)), binds)
                .persistent(persistent)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => bind_all!(sqlx::query(AssertSqlSafe(sql)), binds)
                .persistent(persistent)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}
