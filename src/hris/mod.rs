//! The HRIS table: reading rows (per company, streamed) and writing back what came from Nmbrs
//! (`nmbrs_employee_id`, pulled fields, imported employees). docs/SPEC.md, "The HRIS table".
//!
//! Table and column names come from validated settings (plain identifiers only, see
//! [`crate::config::is_identifier`]), so splicing them into SQL is safe; every value is a bind parameter.
//! The database is SQLite or PostgreSQL (`sql.rs`); the SQL below is written per dialect where they
//! differ (placeholders, storage classes, the write lock, the row id), and nothing outside this
//! module knows which one it is.
//!
//! Long because every SQL statement against the HRIS table lives here, next to the column mapping.

pub(crate) mod changed;
pub mod csv_import;
pub mod schema;
mod sql;
pub mod validate;

use crate::config::ColumnMap;
use crate::fields::{Field, FieldValues};
use crate::record::HrisRow;
use schema::Dialect;
use sql::{Bind, Ph, Pool, Tx};
use validate::{RawRow, RawValue, SqlType};

/// An HRIS database failure; messages name the database, table or column and what to do.
#[derive(Debug, thiserror::Error)]
pub enum HrisError {
    #[error(
        "HRIS database `{url}` could not be opened: {source}; check `hris.database_url`, or create the table with `nmbrs-sync hris init` (README, \"The HRIS table\")"
    )]
    Open { url: String, source: sqlx::Error },
    #[error(
        "HRIS table `{table}` was not found in `{url}`; check `hris.table`, or create it with `nmbrs-sync hris init` (README, \"The HRIS table\")"
    )]
    NoTable { url: String, table: String },
    #[error(
        "HRIS column `{column}` (configured by `{key}`) is not in table `{table}`; fix `{key}` or set it to \"\" to leave the field out"
    )]
    NoColumn {
        table: String,
        column: String,
        key: String,
    },
    /// Another process held a lock on the HRIS database for longer than `hris.busy_timeout_secs`.
    #[error(
        "HRIS database `{url}` was busy — locked by another writer — and stayed so for the {waited_secs} s this run waited (`hris.busy_timeout_secs`); the next run tries again"
    )]
    Busy { url: String, waited_secs: u64 },
    #[error(
        "`hris.database_url` `{url}` names no supported database; use sqlite:PATH or postgres://USER@HOST/DB"
    )]
    Scheme { url: String },
    #[error("HRIS query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A write was asked of a read-only HRIS (`hris.write_back = false`); a bug if the sync asks.
    #[error(
        "the HRIS is read-only for nmbrs-sync (`hris.write_back = false`): not writing row {hris_id}"
    )]
    ReadOnly { hris_id: String },
}

/// Whether the database answered "locked": SQLite's SQLITE_BUSY (and its extended codes), or
/// PostgreSQL's `lock_not_available` (55P03, `lock_timeout` ran out).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.code().is_some_and(|c| {
                c == "5" || c == "55P03" || c.parse::<u32>().is_ok_and(|n| n & 0xff == 5)
            }) || d.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Handle to the HRIS database (SQLite or PostgreSQL, [`schema::Dialect`]); callers never see which.
#[derive(Clone, Debug)]
pub struct HrisDb {
    pool: Pool,
    dialect: Dialect,
    table: String,
    columns: ColumnMap,
    select: String,
    url: String,
    busy_timeout: std::time::Duration,
    /// `hris.write_back`: `false` refuses every write ([`HrisError::ReadOnly`]).
    write_back: bool,
    /// PostgreSQL: each column's type (lower-cased name → `format_type`), to cast text binds to.
    types: std::collections::HashMap<String, String>,
    /// `hris.incremental`: incremental cycles read only rows whose `updated_at` moved.
    incremental: bool,
}

/// One HRIS row as an incremental cycle first sees it (issue 13): enough to decide whether to read
/// it whole. Values are the columns' text; `None` where empty or unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RowKey {
    /// `hris_id`, verbatim as the key is matched.
    pub hris_id: Option<String>,
    /// `nmbrs_employee_id`.
    pub employee_id: Option<String>,
    /// `updated_at` in UTC, `YYYY-MM-DDTHH:MM:SS.sssZ` (so text order is time order).
    pub updated: Option<String>,
}

/// `employeeId` write-backs per statement: 3 binds each, far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters; small enough that a statement's own journal (the pages
/// its rows touch, kept to undo it alone) stays a few hundred KB.
const WRITE_BACK_CHUNK: usize = 128;

fn q(ident: &str) -> String {
    schema::quote(ident)
}

/// [`HrisError::Busy`] when the database answered "locked", else [`HrisError::Open`].
fn busy_or(url: &str, busy_timeout: std::time::Duration, source: sqlx::Error) -> HrisError {
    if is_busy(&source) {
        HrisError::Busy {
            url: url.into(),
            waited_secs: busy_timeout.as_secs(),
        }
    } else {
        HrisError::Open {
            url: url.into(),
            source,
        }
    }
}

/// The dialect of `url`, or [`HrisError::Scheme`].
fn dialect_of(url: &str) -> Result<Dialect, HrisError> {
    Dialect::of_url(url).ok_or_else(|| HrisError::Scheme { url: url.into() })
}

/// What an import did (or, in a dry run, would do) with one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportResult {
    Inserted,
    /// The columns written (the table's names).
    Updated(Vec<String>),
    Unchanged,
    /// A new `hris_id` whose row would lack these required fields (the file has no such column or
    /// an empty cell): not inserted.
    Incomplete(Vec<Field>),
}

/// What `hris init` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitOutcome {
    /// The table did not exist and was created.
    Created,
    /// The table existed and matches the contract; nothing was changed.
    Matches,
    /// The table existed and differs (one sentence per difference); nothing was changed.
    Differs(Vec<String>),
}

/// `hris init`: creates the mapped table (and nothing else: not the SQLite file's directory, not a
/// PostgreSQL schema) unless it exists; an existing table is only compared with the contract, never
/// altered ([`schema::differences`]).
///
/// Errors: [`HrisError`] when the database cannot be opened or the DDL fails.
pub async fn init_table(
    url: &str,
    table: &str,
    columns: &ColumnMap,
    busy_timeout: std::time::Duration,
) -> Result<InitOutcome, HrisError> {
    let dialect = dialect_of(url)?;
    let cols = schema::columns(columns);
    let pool = Pool::connect(dialect, url, busy_timeout, true)
        .await
        .map_err(|e| busy_or(url, busy_timeout, e))?;
    let existing = pool.table_columns(table).await?;
    if !existing.is_empty() {
        let d = schema::differences(dialect, &existing, &cols);
        return Ok(if d.is_empty() {
            InitOutcome::Matches
        } else {
            InitOutcome::Differs(d)
        });
    }
    pool.execute(schema::ddl(dialect, table, &cols), &[])
        .await?;
    Ok(InitOutcome::Created)
}

/// SQLite `typeof()` names for a PostgreSQL column type, so both dialects feed the validator the
/// same storage classes: integers, other numbers (`real`), `bytea` (`blob`), everything else text.
fn pg_storage_class(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or("").trim();
    match base {
        "integer" | "bigint" | "smallint" => "integer",
        "numeric" | "real" | "double precision" => "real",
        "bytea" => "blob",
        _ => "text",
    }
}

impl HrisDb {
    /// Opens the HRIS database and checks that the table (or view) and every mapped column exist.
    /// A SQLite file is not created and its journal mode is left as the HRIS owner set it.
    ///
    /// Errors: [`HrisError`] naming the missing table or column and its config key.
    ///
    /// `busy_timeout`: how long a statement waits for another process's lock (`hris.busy_timeout_secs`);
    /// then [`HrisError::Busy`].
    pub async fn open(
        url: &str,
        table: &str,
        mut columns: ColumnMap,
        busy_timeout: std::time::Duration,
    ) -> Result<HrisDb, HrisError> {
        let dialect = dialect_of(url)?;
        let busy = |source: sqlx::Error| busy_or(url, busy_timeout, source);
        let pool = Pool::connect(dialect, url, busy_timeout, false)
            .await
            .map_err(busy)?;
        let existing = pool.table_columns(table).await.map_err(busy)?;
        if existing.is_empty() {
            return Err(HrisError::NoTable {
                url: url.into(),
                table: table.into(),
            });
        }
        let present: Vec<&str> = existing.iter().map(|c| c.name.as_str()).collect();
        let mut expected: Vec<(String, &str)> = vec![
            ("hris.columns.hris_id".into(), columns.hris_id.as_str()),
            (
                "hris.columns.company_number".into(),
                columns.company_number.as_str(),
            ),
            (
                "hris.columns.nmbrs_employee_id".into(),
                columns.nmbrs_employee_id.as_str(),
            ),
        ];
        if let Some(c) = &columns.updated_at {
            expected.push(("hris.columns.updated_at".into(), c));
        }
        // A column added in a later release, mapped by default only: absent means not synced.
        for f in Field::ALL {
            if columns.optional[f.index()]
                && let Some(c) = &columns.fields[f.index()]
                && !present.iter().any(|p| p.eq_ignore_ascii_case(c))
            {
                tracing::info!(
                    column = c.as_str(),
                    "optional HRIS column absent; field not synced"
                );
                columns.fields[f.index()] = None;
            }
        }
        for f in Field::ALL {
            if let Some(c) = &columns.fields[f.index()] {
                expected.push((format!("hris.columns.{f}"), c));
            }
        }
        for (key, column) in expected {
            if !present.iter().any(|p| p.eq_ignore_ascii_case(column)) {
                return Err(HrisError::NoColumn {
                    table: table.into(),
                    column: column.into(),
                    key,
                });
            }
        }
        let types = match dialect {
            Dialect::Sqlite => Default::default(),
            Dialect::Postgres => existing
                .iter()
                .map(|c| (c.name.to_ascii_lowercase(), c.declared.clone()))
                .collect(),
        };
        let mut db = HrisDb {
            pool,
            dialect,
            table: table.to_owned(),
            columns,
            select: String::new(),
            url: url.to_owned(),
            busy_timeout,
            write_back: true,
            types,
            incremental: true,
        };
        db.select = db.select_sql();
        Ok(db)
    }

    /// `SELECT <row id>, <key>, <its storage class>, <company>, <class>, <employeeId>, then each
    /// mapped field and its class FROM table`: every value as text, as [`Self::read`] expects.
    fn select_sql(&self) -> String {
        let c = &self.columns;
        let mut cols = vec![
            match self.dialect {
                Dialect::Sqlite => "CAST(rowid AS TEXT)".to_owned(),
                // Names rows whose key is unusable; the order is the key's.
                Dialect::Postgres => format!(
                    "CAST(row_number() OVER (ORDER BY CAST({} AS TEXT)) AS TEXT)",
                    q(&c.hris_id)
                ),
            },
            self.as_text(&c.hris_id),
            self.storage_class(&c.hris_id),
            self.as_text(&c.company_number),
            self.storage_class(&c.company_number),
            self.as_text(&c.nmbrs_employee_id),
        ];
        for col in c.fields.iter().flatten() {
            cols.push(self.as_text(col));
            cols.push(self.storage_class(col));
        }
        format!("SELECT {} FROM {}", cols.join(", "), q(&self.table))
    }

    /// A column's value as text. SQLite: `CAST` to text, but a BLOB reads as NULL (its `typeof`
    /// reports it): BLOB bytes need not be UTF-8. PostgreSQL: `CAST(… AS TEXT)`, which writes a
    /// DATE as `YYYY-MM-DD` (the session's DateStyle is ISO) and a NUMERIC as its digits.
    fn as_text(&self, col: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(
                "CASE typeof({c}) WHEN 'blob' THEN NULL ELSE CAST({c} AS TEXT) END",
                c = q(col)
            ),
            Dialect::Postgres => format!("CAST({} AS TEXT)", q(col)),
        }
    }

    /// A value's storage class as SQLite's `typeof()` names it; PostgreSQL: from the column's type.
    fn storage_class(&self, col: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("typeof({})", q(col)),
            Dialect::Postgres => format!(
                "CASE WHEN {} IS NULL THEN 'null' ELSE '{}' END",
                q(col),
                pg_storage_class(self.pg_type(col))
            ),
        }
    }

    fn pg_type(&self, col: &str) -> &str {
        self.types
            .get(&col.to_ascii_lowercase())
            .map_or("text", String::as_str)
    }

    /// The placeholder for a value written to `col`: `?`; PostgreSQL: `CAST($n AS <column type>)`
    /// (values are bound as text, and text casts to DATE, NUMERIC, INTEGER, TIMESTAMPTZ, enums…).
    fn value_ph(&self, ph: &mut Ph, col: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => ph.next(),
            Dialect::Postgres => format!("CAST({} AS {})", ph.next(), self.pg_type(col)),
        }
    }

    /// The bind of a field value: SQLite with the column's natural type (employee numbers as
    /// integers, hours as reals); PostgreSQL as text ([`Self::value_ph`] casts it).
    fn value_bind(&self, f: Option<Field>, value: Option<&str>) -> Bind {
        if self.dialect == Dialect::Postgres {
            return Bind::Text(value.map(str::to_owned));
        }
        match (f, value) {
            (Some(Field::EmployeeNumber), Some(v)) => match v.parse::<i64>() {
                Ok(n) => Bind::Int(Some(n)),
                Err(_) => Bind::Text(Some(v.to_owned())),
            },
            (Some(Field::HoursPerWeek), Some(v)) => match v.parse::<f64>() {
                Ok(h) => Bind::Real(h),
                Err(_) => Bind::Text(Some(v.to_owned())),
            },
            (_, v) => Bind::Text(v.map(str::to_owned)),
        }
    }

    /// `WHERE` condition for the row whose key reads as `hris_id`, and its binds. SQLite:
    /// `"hris_id" IN (?, ?)`: a key stored as an INTEGER in a column without type affinity is not
    /// equal to its text, so the integer is offered too ("42", not "042" or "+42"; an index on the
    /// column still serves both). PostgreSQL compares the key's text.
    fn key_match(&self, ph: &mut Ph, hris_id: &str) -> (String, Vec<Bind>) {
        match self.dialect {
            Dialect::Sqlite => {
                let as_int = hris_id
                    .parse::<i64>()
                    .ok()
                    .filter(|n| n.to_string() == hris_id);
                (
                    format!(
                        "{} IN ({}, {})",
                        q(&self.columns.hris_id),
                        ph.next(),
                        ph.next()
                    ),
                    vec![Bind::Text(Some(hris_id.to_owned())), Bind::Int(as_int)],
                )
            }
            Dialect::Postgres => (
                format!("CAST({} AS TEXT) = {}", q(&self.columns.hris_id), ph.next()),
                vec![Bind::Text(Some(hris_id.to_owned()))],
            ),
        }
    }

    /// The same handle, read-only when `read_only` (`hris.write_back = false`): every write method
    /// then refuses with [`HrisError::ReadOnly`], so no path of the sync can write the HRIS.
    pub fn read_only(mut self, read_only: bool) -> HrisDb {
        self.write_back = !read_only;
        self
    }

    /// The same handle; `false` (`hris.incremental = false`) makes every cycle read every row.
    pub fn incremental(mut self, incremental: bool) -> HrisDb {
        self.incremental = incremental;
        self
    }

    /// Whether the sync may write the HRIS (`hris.write_back`).
    pub fn writes(&self) -> bool {
        self.write_back
    }

    fn refuse_if_read_only(&self, hris_id: &str) -> Result<(), HrisError> {
        if self.write_back {
            Ok(())
        } else {
            Err(HrisError::ReadOnly {
                hris_id: hris_id.to_owned(),
            })
        }
    }

    /// Whether the database user may write the table: an UPDATE that matches no row, rolled back
    /// (SQLite opened read-only, a PostgreSQL user without UPDATE or a view that cannot be updated
    /// all refuse it). `Err` carries the database's answer.
    pub async fn probe_write(&self) -> Result<(), String> {
        let sql = format!(
            "UPDATE {} SET {c} = {c} WHERE 1 = 0",
            q(&self.table),
            c = q(&self.columns.hris_id)
        );
        let mut tx = self.pool.begin(false).await.map_err(|e| e.to_string())?;
        let result = tx.execute(sql, &[]).await;
        let _ = tx.rollback().await;
        result.map(|_| ()).map_err(|e| e.to_string())
    }

    /// A query failure, named [`HrisError::Busy`] when another process held the lock too long.
    fn failed(&self, e: sqlx::Error) -> HrisError {
        if is_busy(&e) {
            HrisError::Busy {
                url: self.url.clone(),
                waited_secs: self.busy_timeout.as_secs(),
            }
        } else {
            HrisError::Query(e)
        }
    }

    /// The synced fields (those mapped to a column), in index order.
    pub fn synced_fields(&self) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|f| self.columns.fields[f.index()].is_some())
            .collect()
    }

    /// Distinct company numbers in the table (trimmed; NULL/empty left out).
    pub async fn company_numbers(&self) -> Result<Vec<String>, HrisError> {
        let c = self.as_text(&self.columns.company_number);
        let not_blob = match self.dialect {
            Dialect::Sqlite => {
                format!("typeof({}) <> 'blob' AND ", q(&self.columns.company_number))
            }
            Dialect::Postgres => String::new(),
        };
        let sql = format!(
            "SELECT DISTINCT TRIM({c}) FROM {t} WHERE {not_blob}TRIM({c}) <> ''",
            t = q(&self.table)
        );
        let mut out = Vec::new();
        self.pool
            .for_each(sql, &[], |r| {
                if let Some(Ok(Some(n))) = r.into_iter().next() {
                    out.push(n);
                }
            })
            .await
            .map_err(|e| self.failed(e))?;
        Ok(out)
    }

    /// The order rows are read in: SQLite's rowid (insertion order), PostgreSQL's key.
    fn order_by(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => "rowid".into(),
            Dialect::Postgres => format!("CAST({} AS TEXT)", q(&self.columns.hris_id)),
        }
    }

    /// Rows of one company number, validated one by one as they stream in.
    pub async fn rows_for_company(
        &self,
        company_number: &str,
        today: time::Date,
    ) -> Result<Vec<HrisRow>, HrisError> {
        let mut ph = Ph::new(self.dialect);
        let sql = format!(
            "{} WHERE TRIM({}) = {} ORDER BY {}",
            self.select,
            self.as_text(&self.columns.company_number),
            ph.next(),
            self.order_by()
        );
        self.read(
            sql,
            vec![Bind::Text(Some(company_number.to_owned()))],
            today,
        )
        .await
    }

    /// Rows whose company number is missing or not one of `known` (each is rejected by the caller).
    pub async fn rows_outside(
        &self,
        known: &[String],
        today: time::Date,
    ) -> Result<Vec<HrisRow>, HrisError> {
        let list = serde_json::to_string(known).unwrap_or_else(|_| "[]".into());
        let mut ph = Ph::new(self.dialect);
        let values = match self.dialect {
            Dialect::Sqlite => format!("SELECT value FROM json_each({})", ph.next()),
            Dialect::Postgres => format!(
                "SELECT json_array_elements_text(CAST({} AS json))",
                ph.next()
            ),
        };
        let sql = format!(
            "{} WHERE {c} IS NULL OR TRIM({c}) NOT IN ({values}) ORDER BY {}",
            self.select,
            self.order_by(),
            c = self.as_text(&self.columns.company_number)
        );
        self.read(sql, vec![Bind::Text(Some(list))], today).await
    }

    /// `updated_at` as `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC), or NULL where it is empty, unreadable or
    /// of a type that holds no point in time (PostgreSQL text): such a row always counts as moved.
    fn stamp_sql(&self, col: &str) -> String {
        const PG_FORMAT: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";
        match self.dialect {
            // SQLite's date functions read ISO 8601 text with an offset, and Julian day numbers.
            Dialect::Sqlite => format!(
                "CASE typeof({c}) WHEN 'blob' THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', {c}) END",
                c = q(col)
            ),
            Dialect::Postgres => {
                let t = self.pg_type(col).to_ascii_lowercase();
                if t.starts_with("timestamp") && t.contains("with time zone") {
                    format!("to_char({} AT TIME ZONE 'UTC', {PG_FORMAT})", q(col))
                } else if t.starts_with("timestamp") || t == "date" {
                    format!("to_char({}, {PG_FORMAT})", q(col))
                } else {
                    "CAST(NULL AS TEXT)".into()
                }
            }
        }
    }

    /// Every row's key, `nmbrs_employee_id` and `updated_at` (see [`RowKey`]) by company number
    /// (trimmed): three columns instead of every field, in one pass over the table for the whole
    /// cycle, for incremental cycles to choose which rows to read whole. `None` when the table has
    /// no `updated_at` or `hris.incremental` is off.
    ///
    /// Errors: the database's.
    pub(crate) async fn row_keys(
        &self,
    ) -> Result<Option<std::collections::HashMap<String, Vec<RowKey>>>, HrisError> {
        let Some(updated_at) = self
            .columns
            .updated_at
            .as_deref()
            .filter(|_| self.incremental)
        else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT TRIM({}), {}, {}, {} FROM {}",
            self.as_text(&self.columns.company_number),
            self.as_text(&self.columns.hris_id),
            self.as_text(&self.columns.nmbrs_employee_id),
            self.stamp_sql(updated_at),
            q(&self.table),
        );
        let mut out: std::collections::HashMap<String, Vec<RowKey>> = Default::default();
        self.pool
            .for_each(sql, &[], |r| {
                let text = |i: usize| r.get(i).cloned().unwrap_or(Ok(None)).ok().flatten();
                // A row without a company number is rejected by `rows_outside`.
                let Some(company) = text(0) else { return };
                out.entry(company).or_default().push(RowKey {
                    hris_id: text(1),
                    employee_id: text(2),
                    updated: text(3),
                });
            })
            .await
            .map_err(|e| self.failed(e))?;
        Ok(Some(out))
    }

    /// The rows of one company number whose key is one of `hris_ids`, and, with `keyless`, those
    /// whose key is missing or unreadable (each is a rejection to report); validated as
    /// [`Self::rows_for_company`] validates them.
    ///
    /// Errors: the database's.
    pub(crate) async fn rows_with_keys(
        &self,
        company_number: &str,
        hris_ids: &[String],
        keyless: bool,
        today: time::Date,
    ) -> Result<Vec<HrisRow>, HrisError> {
        if hris_ids.is_empty() && !keyless {
            return Ok(Vec::new());
        }
        let mut ph = Ph::new(self.dialect);
        let company = ph.next();
        let list = ph.next();
        let values = match self.dialect {
            Dialect::Sqlite => format!("SELECT value FROM json_each({list})"),
            Dialect::Postgres => format!("SELECT json_array_elements_text(CAST({list} AS json))"),
        };
        let key = self.as_text(&self.columns.hris_id);
        let keyless = if keyless {
            format!(" OR {key} IS NULL")
        } else {
            String::new()
        };
        let sql = format!(
            "{} WHERE TRIM({}) = {company} AND ({key} IN ({values}){keyless}) ORDER BY {}",
            self.select,
            self.as_text(&self.columns.company_number),
            self.order_by()
        );
        let ids = serde_json::to_string(hris_ids).unwrap_or_else(|_| "[]".into());
        let binds = vec![
            Bind::Text(Some(company_number.to_owned())),
            Bind::Text(Some(ids)),
        ];
        self.read(sql, binds, today).await
    }

    async fn read(
        &self,
        sql: String,
        binds: Vec<Bind>,
        today: time::Date,
    ) -> Result<Vec<HrisRow>, HrisError> {
        let fields = self.synced_fields();
        let mut out = Vec::new();
        self.pool
            .for_each(sql, &binds, |r| {
                let text = |i: usize| r.get(i).cloned().unwrap_or(Ok(None));
                let raw = |i: usize| {
                    let sql_type = SqlType::parse(&text(i + 1).ok().flatten().unwrap_or_default());
                    match text(i) {
                        Ok(text) => RawValue { text, sql_type },
                        // SQLite text need not be UTF-8: say so instead of reading it as empty.
                        Err(()) => RawValue {
                            text: None,
                            sql_type: SqlType::InvalidUtf8,
                        },
                    }
                };
                let mut values: Vec<Option<RawValue>> = vec![None; Field::ALL.len()];
                for (k, f) in fields.iter().enumerate() {
                    values[f.index()] = Some(raw(6 + 2 * k));
                }
                let row = RawRow {
                    rowid: text(0)
                        .ok()
                        .flatten()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    hris_id: raw(1),
                    company_number: raw(3),
                    nmbrs_employee_id: text(5).ok().flatten(),
                    values,
                };
                out.push(validate::validate(&row, &fields, today));
            })
            .await
            .map_err(|e| self.failed(e))?;
        Ok(out)
    }

    /// Writes the Nmbrs `employeeId` into the row's `nmbrs_employee_id` column.
    pub async fn set_employee_id(&self, hris_id: &str, employee_id: &str) -> Result<(), HrisError> {
        self.set_employee_ids(&[(hris_id, employee_id)]).await
    }

    /// Writes many `(hris_id, employeeId)` pairs in one transaction, one `UPDATE … FROM (VALUES …)`
    /// per [`WRITE_BACK_CHUNK`] pairs: a first cycle that links 100,000 existing employees costs a
    /// statement and a commit per batch, not a statement per row (issue 13). Keys match as
    /// [`Self::key_match`] matches one.
    pub async fn set_employee_ids(&self, pairs: &[(&str, &str)]) -> Result<(), HrisError> {
        let Some((first, _)) = pairs.first() else {
            return Ok(());
        };
        self.refuse_if_read_only(first)?;
        let mut tx = self.pool.begin(true).await.map_err(|e| self.failed(e))?;
        for chunk in pairs.chunks(WRITE_BACK_CHUNK) {
            let (sql, binds) = self.write_back_sql(chunk);
            let written = if chunk.len() == 1 {
                tx.execute(sql, &binds).await
            } else {
                tx.execute_once(sql, &binds).await
            };
            written.map_err(|e| self.failed(e))?;
        }
        tx.commit().await.map_err(|e| self.failed(e))?;
        Ok(())
    }

    /// The statement of [`Self::set_employee_ids`] for `pairs`, and its binds. SQLite offers each
    /// key as text and, when it reads as one, as an integer (`v.k_int`; see [`Self::key_match`]);
    /// PostgreSQL compares the key's text and casts the id to the column's type.
    fn write_back_sql(&self, pairs: &[(&str, &str)]) -> (String, Vec<Bind>) {
        let mut ph = Ph::new(self.dialect);
        let mut binds = Vec::with_capacity(3 * pairs.len());
        let col = q(&self.columns.nmbrs_employee_id);
        let key = q(&self.columns.hris_id);
        let table = q(&self.table);
        let rows: Vec<String> = pairs
            .iter()
            .map(|(hris_id, employee_id)| match self.dialect {
                Dialect::Sqlite => {
                    let as_int = hris_id
                        .parse::<i64>()
                        .ok()
                        .filter(|n| n.to_string() == *hris_id);
                    binds.push(Bind::Text(Some((*hris_id).to_owned())));
                    binds.push(Bind::Int(as_int));
                    binds.push(Bind::Text(Some((*employee_id).to_owned())));
                    format!("({}, {}, {})", ph.next(), ph.next(), ph.next())
                }
                Dialect::Postgres => {
                    binds.push(Bind::Text(Some((*hris_id).to_owned())));
                    binds.push(Bind::Text(Some((*employee_id).to_owned())));
                    format!("({}, {})", ph.next(), ph.next())
                }
            })
            .collect();
        let values = rows.join(", ");
        let sql = match self.dialect {
            Dialect::Sqlite => format!(
                "WITH v(k, k_int, eid) AS (VALUES {values})
                 UPDATE {table} AS t SET {col} = v.eid FROM v WHERE t.{key} IN (v.k, v.k_int)"
            ),
            Dialect::Postgres => format!(
                "UPDATE {table} AS t SET {col} = CAST(v.eid AS {}) FROM (VALUES {values}) AS v(k, eid)
                 WHERE CAST(t.{key} AS TEXT) = v.k",
                self.pg_type(&self.columns.nmbrs_employee_id)
            ),
        };
        (sql, binds)
    }

    /// Writes Nmbrs-side changes into a row, only if each changed field still holds the value the
    /// plan read (`before`): a row edited during the cycle is left alone and re-planned next cycle.
    /// A value is read as validation reads it (trimmed, numbers and codes canonical); `holds(field,
    /// now, before)` says whether it is still the planned one (the caller knows that a reference
    /// code or e-mail address names the same object as the planned name). Returns whether the row
    /// was written.
    pub async fn pull(
        &self,
        hris_id: &str,
        changes: &[(Field, Option<&str>, Option<&str>)],
        holds: impl Fn(Field, Option<&str>, Option<&str>) -> bool,
    ) -> Result<bool, HrisError> {
        self.refuse_if_read_only(hris_id)?;
        let changes: Vec<(&str, Field, Option<&str>, Option<&str>)> = changes
            .iter()
            .filter_map(|(f, before, after)| {
                self.columns.fields[f.index()]
                    .as_deref()
                    .map(|c| (c, *f, *before, *after))
            })
            .collect();
        if changes.is_empty() {
            return Ok(true);
        }
        // Compare in Rust, inside one write transaction (the row locked until it commits): the same
        // normalisation as the read (Unicode trim, empty = none), which SQL's TRIM cannot reproduce.
        let mut tx = self.pool.begin(true).await.map_err(|e| self.failed(e))?;
        let mut ph = Ph::new(self.dialect);
        let (key, key_binds) = self.key_match(&mut ph, hris_id);
        let select = format!(
            "SELECT {} FROM {} WHERE {key}{}",
            changes
                .iter()
                .map(|(c, ..)| self.as_text(c))
                .collect::<Vec<_>>()
                .join(", "),
            q(&self.table),
            self.lock_row()
        );
        let row = tx
            .fetch_optional(select, &key_binds)
            .await
            .map_err(|e| self.failed(e))?;
        let Some(row) = row else { return Ok(false) };
        for (i, (_, f, before, _)) in changes.iter().enumerate() {
            let raw: Option<String> = row.get(i).cloned().and_then(Result::ok).flatten();
            let mut now = FieldValues::default();
            now.set(*f, raw.as_deref());
            let now = now.get(*f).map(|v| validate::canonical(*f, v.to_owned()));
            if !holds(*f, now.as_deref(), *before) {
                return Ok(false);
            }
        }
        let mut ph = Ph::new(self.dialect);
        let mut sets = Vec::new();
        let mut binds = Vec::new();
        for (c, f, _, after) in &changes {
            sets.push(format!("{} = {}", q(c), self.value_ph(&mut ph, c)));
            binds.push(self.value_bind(Some(*f), *after));
        }
        if let Some(u) = &self.columns.updated_at {
            sets.push(format!("{} = {}", q(u), self.value_ph(&mut ph, u)));
            binds.push(Bind::Text(Some(crate::db::utc_now())));
        }
        let (key, key_binds) = self.key_match(&mut ph, hris_id);
        binds.extend(key_binds);
        let sql = format!(
            "UPDATE {} SET {} WHERE {key}",
            q(&self.table),
            sets.join(", ")
        );
        let written = tx.execute(sql, &binds).await.map_err(|e| self.failed(e))? == 1;
        tx.commit().await.map_err(|e| self.failed(e))?;
        Ok(written)
    }

    /// PostgreSQL: ` FOR UPDATE` (a read that is followed by a guarded write keeps the row until
    /// the write commits); SQLite's `BEGIN IMMEDIATE` already holds the database.
    fn lock_row(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Inserts a row for an employee that exists only in Nmbrs (`sync.import_from_nmbrs`).
    /// Idempotent: an existing `hris_id` is left as it is. Returns whether a row was inserted.
    pub async fn insert(
        &self,
        hris_id: &str,
        company_number: &str,
        employee_id: &str,
        values: &FieldValues,
    ) -> Result<bool, HrisError> {
        self.refuse_if_read_only(hris_id)?;
        let mut row: Vec<(&str, Bind)> = vec![
            (&self.columns.hris_id, Bind::Text(Some(hris_id.to_owned()))),
            (
                &self.columns.company_number,
                Bind::Text(Some(company_number.to_owned())),
            ),
            (
                &self.columns.nmbrs_employee_id,
                Bind::Text(Some(employee_id.to_owned())),
            ),
        ];
        for f in self.synced_fields() {
            if let Some(c) = &self.columns.fields[f.index()] {
                row.push((c, self.value_bind(Some(f), values.get(f))));
            }
        }
        if let Some(u) = &self.columns.updated_at {
            row.push((u, Bind::Text(Some(crate::db::utc_now()))));
        }
        let (sql, binds) = self.insert_sql(row, " ON CONFLICT DO NOTHING");
        Ok(self
            .pool
            .execute(sql, &binds)
            .await
            .map_err(|e| self.failed(e))?
            == 1)
    }

    /// `INSERT INTO table (cols) VALUES (placeholders)<tail>` and its binds.
    fn insert_sql(&self, row: Vec<(&str, Bind)>, tail: &str) -> (String, Vec<Bind>) {
        let mut ph = Ph::new(self.dialect);
        let names: Vec<String> = row.iter().map(|(c, _)| q(c)).collect();
        let marks: Vec<String> = row.iter().map(|(c, _)| self.value_ph(&mut ph, c)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}){tail}",
            q(&self.table),
            names.join(", "),
            marks.join(", ")
        );
        (sql, row.into_iter().map(|(_, b)| b).collect())
    }

    /// Upserts CSV rows keyed by `hris_id`, in one transaction (`nmbrs-sync import`): a new key is
    /// inserted, an existing row gets the file's columns that differ (compared as the sync compares
    /// values), and columns the file lacks are left alone. `commit` sees every row's result and
    /// says whether to keep them: `false` (a dry run, or a file with rejected rows) rolls the whole
    /// transaction back. `updated_at` is set on every written row, so the next cycle sees the change.
    /// Returns the results and whether they were committed.
    ///
    /// Errors: [`HrisError`] when the database fails; nothing is written then.
    pub async fn import_rows(
        &self,
        rows: &[csv_import::ImportRow],
        commit: impl FnOnce(&[ImportResult]) -> bool,
    ) -> Result<(Vec<ImportResult>, bool), HrisError> {
        self.refuse_if_read_only("(import)")?;
        let mut tx = self.pool.begin(true).await.map_err(|e| self.failed(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let result = self.import_row(&mut tx, row).await;
            match result {
                Ok(r) => out.push(r),
                Err(e) => {
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            }
        }
        let write = commit(&out);
        if write {
            tx.commit().await.map_err(|e| self.failed(e))?;
        } else {
            tx.rollback().await.map_err(|e| self.failed(e))?;
        }
        Ok((out, write))
    }

    async fn import_row(
        &self,
        tx: &mut Tx,
        row: &csv_import::ImportRow,
    ) -> Result<ImportResult, HrisError> {
        let cols: Vec<(Field, &str, Option<&str>)> = row
            .values
            .iter()
            .filter_map(|(f, v)| {
                self.columns.fields[f.index()]
                    .as_deref()
                    .map(|c| (*f, c, v.as_deref()))
            })
            .collect();
        let mut select = vec![self.as_text(&self.columns.company_number)];
        select.extend(cols.iter().map(|(_, c, _)| self.as_text(c)));
        let mut ph = Ph::new(self.dialect);
        let (key, key_binds) = self.key_match(&mut ph, &row.hris_id);
        let sql = format!(
            "SELECT {} FROM {} WHERE {key}{}",
            select.join(", "),
            q(&self.table),
            self.lock_row()
        );
        let existing = tx
            .fetch_optional(sql, &key_binds)
            .await
            .map_err(|e| self.failed(e))?;
        let Some(existing) = existing else {
            let missing: Vec<Field> = [Field::EmployeeNumber, Field::LastName, Field::BirthDate]
                .into_iter()
                .filter(|f| !cols.iter().any(|(g, _, v)| g == f && v.is_some()))
                .collect();
            if !missing.is_empty() {
                return Ok(ImportResult::Incomplete(missing));
            }
            let mut values: Vec<(&str, Bind)> = vec![
                (&self.columns.hris_id, Bind::Text(Some(row.hris_id.clone()))),
                (
                    &self.columns.company_number,
                    Bind::Text(Some(row.company_number.clone())),
                ),
            ];
            for (f, c, v) in &cols {
                values.push((c, self.value_bind(Some(*f), *v)));
            }
            if let Some(u) = &self.columns.updated_at {
                values.push((u, Bind::Text(Some(crate::db::utc_now()))));
            }
            let (sql, binds) = self.insert_sql(values, "");
            tx.execute(sql, &binds).await.map_err(|e| self.failed(e))?;
            return Ok(ImportResult::Inserted);
        };
        let cell = |i: usize| existing.get(i).cloned().and_then(Result::ok).flatten();
        let mut changed: Vec<(&str, Option<Field>, Option<&str>)> = Vec::new();
        if crate::fields::normalize(cell(0).as_deref()).as_deref()
            != Some(row.company_number.as_str())
        {
            changed.push((
                &self.columns.company_number,
                None,
                Some(&row.company_number),
            ));
        }
        for (i, (f, c, v)) in cols.iter().enumerate() {
            let now = crate::fields::normalize(cell(i + 1).as_deref())
                .map(|n| validate::canonical(*f, n));
            if !f.same(now.as_deref(), *v) {
                changed.push((c, Some(*f), *v));
            }
        }
        if changed.is_empty() {
            return Ok(ImportResult::Unchanged);
        }
        let mut ph = Ph::new(self.dialect);
        let mut sets = Vec::new();
        let mut binds = Vec::new();
        for (c, f, v) in &changed {
            sets.push(format!("{} = {}", q(c), self.value_ph(&mut ph, c)));
            binds.push(self.value_bind(*f, *v));
        }
        if let Some(u) = &self.columns.updated_at {
            sets.push(format!("{} = {}", q(u), self.value_ph(&mut ph, u)));
            binds.push(Bind::Text(Some(crate::db::utc_now())));
        }
        let (key, key_binds) = self.key_match(&mut ph, &row.hris_id);
        binds.extend(key_binds);
        let sql = format!(
            "UPDATE {} SET {} WHERE {key}",
            q(&self.table),
            sets.join(", ")
        );
        tx.execute(sql, &binds).await.map_err(|e| self.failed(e))?;
        Ok(ImportResult::Updated(
            changed.iter().map(|(c, ..)| (*c).to_owned()).collect(),
        ))
    }

    /// The column map in force (optional columns the table lacks are unmapped).
    pub fn columns(&self) -> &ColumnMap {
        &self.columns
    }
}

/// DDL of an HRIS table with the default column names (docs/SPEC.md), for the demo, tests and benchmarks.
pub const DEFAULT_TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS hris_employees (
    hris_id TEXT PRIMARY KEY,
    company_number TEXT,
    employee_number INTEGER,
    first_name TEXT,
    first_name_in_full TEXT,
    last_name TEXT,
    employee_type TEXT,
    birth_date TEXT,
    birth_country_code_iso TEXT,
    nationality_code_iso TEXT,
    gender TEXT,
    private_email TEXT,
    business_email TEXT,
    business_mobile_phone TEXT,
    private_mobile_phone TEXT,
    partner_name TEXT,
    marital_status TEXT,
    in_service_date TEXT,
    end_of_service_date TEXT,
    end_of_contract_reason TEXT,
    contract_start_date TEXT,
    contract_end_date TEXT,
    hours_per_week REAL,
    job_title TEXT,
    department TEXT,
    manager TEXT,
    street TEXT,
    house_number TEXT,
    house_number_addition TEXT,
    postal_code TEXT,
    city TEXT,
    country_code_iso TEXT,
    bsn TEXT,
    updated_at TEXT,
    nmbrs_employee_id TEXT
)";

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::AssertSqlSafe;

    /// The default HRIS table without declared types (a table we did not create): a key inserted
    /// as a number stays an INTEGER. Returns its URL and a pool on it.
    async fn untyped_table(dir: &std::path::Path) -> (String, sqlx::SqlitePool) {
        let url = format!("sqlite:{}", dir.join("hris.db").display());
        let pool = crate::db::open_sqlite(&url, 1).await.expect("db");
        let ddl = DEFAULT_TABLE_DDL
            .replace(" TEXT PRIMARY KEY", " PRIMARY KEY")
            .replace(" TEXT", "")
            .replace(" INTEGER", "");
        sqlx::query(AssertSqlSafe(ddl))
            .execute(&pool)
            .await
            .expect("ddl");
        (url, pool)
    }

    /// The HRIS at `url` with the built-in column map.
    async fn open_default(url: &str) -> HrisDb {
        let columns = crate::config::Settings::built_in()
            .expect("settings")
            .columns()
            .expect("columns");
        HrisDb::open(
            url,
            "hris_employees",
            columns,
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("open")
    }

    /// A table we did not create: no declared types, an INTEGER key, text that is not UTF-8.
    #[tokio::test]
    async fn untyped_table_integer_keys_are_written_and_bad_utf8_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, pool) = untyped_table(dir.path()).await;
        sqlx::query(
            "INSERT INTO hris_employees (hris_id, company_number, employee_number, first_name, last_name, birth_date)
             VALUES (42, '2', 1, 'Lisa', 'Hanison', '1990-02-01'),
                    ('h-2', '2', 2, CAST(x'c328' AS TEXT), 'Jansen', '1990-02-01')",
        )
        .execute(&pool)
        .await
        .expect("insert");
        let db = open_default(&url).await;
        let rows = db
            .rows_for_company("2", time::macros::date!(2026 - 01 - 01))
            .await
            .expect("rows");
        let rec = rows[0].as_ref().expect("row 42 valid");
        assert_eq!(rec.hris_id, "42");
        let rej = rows[1].as_ref().expect_err("not UTF-8");
        assert_eq!(rej.problems[0].field, "first_name");
        assert!(rej.message().contains("UTF-8"), "{}", rej.message());

        db.set_employee_id("42", "emp-1").await.expect("write back");
        assert!(
            db.pull(
                "42",
                &[(Field::LastName, Some("Hanison"), Some("Petterson"))],
                |_, now, before| now == before
            )
            .await
            .expect("pull")
        );
        let (id, last): (Option<String>, String) = sqlx::query_as(
            "SELECT nmbrs_employee_id, last_name FROM hris_employees WHERE hris_id = 42",
        )
        .fetch_one(&pool)
        .await
        .expect("row");
        assert_eq!((id.as_deref(), last.as_str()), (Some("emp-1"), "Petterson"));
        // "042" is not the key 42.
        db.set_employee_id("042", "emp-x").await.expect("no-op");
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM hris_employees WHERE nmbrs_employee_id = 'emp-x'",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(n, 0);
    }

    /// Write-backs of many rows (more than one statement's worth): each row gets its own id,
    /// whether its key is stored as text or as an integer; a key that only looks like one ("042")
    /// and a key of no row change nothing.
    #[tokio::test]
    async fn many_write_backs_reach_their_own_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, pool) = untyped_table(dir.path()).await;
        let n = 2 * WRITE_BACK_CHUNK + 5;
        for i in 0..n {
            let q = if i % 2 == 0 {
                sqlx::query("INSERT INTO hris_employees (hris_id, company_number) VALUES (?, '2')")
                    .bind(i as i64)
            } else {
                sqlx::query("INSERT INTO hris_employees (hris_id, company_number) VALUES (?, '2')")
                    .bind(format!("h{i}"))
            };
            q.execute(&pool).await.expect("row");
        }
        let db = open_default(&url).await;
        let keys: Vec<String> = (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    i.to_string()
                } else {
                    format!("h{i}")
                }
            })
            .chain(["042".to_owned(), "nobody".to_owned()])
            .collect();
        let ids: Vec<String> = keys.iter().map(|k| format!("emp-{k}")).collect();
        let pairs: Vec<(&str, &str)> = keys
            .iter()
            .zip(&ids)
            .map(|(k, e)| (k.as_str(), e.as_str()))
            .collect();
        db.set_employee_ids(&pairs).await.expect("write back");
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT CAST(hris_id AS TEXT), nmbrs_employee_id FROM hris_employees")
                .fetch_all(&pool)
                .await
                .expect("rows");
        assert_eq!(rows.len(), n);
        for (key, id) in rows {
            assert_eq!(id, Some(format!("emp-{key}")), "row {key}");
        }
    }
}
