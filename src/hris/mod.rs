//! The HRIS table: reading rows (per company, streamed) and writing back what came from Nmbrs
//! (`nmbrs_employee_id`, pulled fields, imported employees). docs/SPEC.md, "The HRIS table".
//!
//! Table and column names come from validated settings (plain identifiers only, see
//! [`crate::config::is_identifier`]), so splicing them into SQL is safe; every value is a bind parameter.
//!
//! Long because every SQL statement against the HRIS table lives here, next to the column mapping.

pub mod csv_import;
pub mod schema;
pub mod validate;

use crate::config::ColumnMap;
use crate::fields::{Field, FieldValues};
use crate::record::HrisRow;
use futures::TryStreamExt;
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Row};
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
    #[error("HRIS query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A write was asked of a read-only HRIS (`hris.write_back = false`); a bug if the sync asks.
    #[error(
        "the HRIS is read-only for nmbrs-sync (`hris.write_back = false`): not writing row {hris_id}"
    )]
    ReadOnly { hris_id: String },
}

/// Whether SQLite answered "database is locked" (SQLITE_BUSY and its extended codes).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.code()
                .is_some_and(|c| c == "5" || c.parse::<u32>().is_ok_and(|n| n & 0xff == 5))
                || d.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Handle to the HRIS database.
#[derive(Clone, Debug)]
pub struct HrisDb {
    pool: SqlitePool,
    table: String,
    columns: ColumnMap,
    select: String,
    url: String,
    busy_timeout: std::time::Duration,
    /// `hris.write_back`: `false` refuses every write ([`HrisError::ReadOnly`]).
    write_back: bool,
}

fn q(ident: &str) -> String {
    format!("\"{ident}\"")
}

/// `CAST` to text, but a BLOB reads as NULL (its `typeof` reports it): BLOB bytes need not be UTF-8.
fn as_text(col: &str) -> String {
    format!(
        "CASE typeof({c}) WHEN 'blob' THEN NULL ELSE CAST({c} AS TEXT) END",
        c = q(col)
    )
}

/// [`HrisError::Busy`] when SQLite answered "locked", else [`HrisError::Open`].
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

/// Opens a SQLite HRIS database. `create`: make the file if it is missing (`hris init` only; the
/// sync never creates an HRIS). The file's journal mode is left as the HRIS owner set it.
async fn connect_sqlite(
    url: &str,
    busy_timeout: std::time::Duration,
    create: bool,
) -> Result<SqlitePool, HrisError> {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let open_err = |source| busy_or(url, busy_timeout, source);
    let options = SqliteConnectOptions::from_str(url)
        .map_err(open_err)?
        .create_if_missing(create)
        // Per connection only; the file's journal mode stays as the HRIS owner set it. A write
        // lost to a power cut (not a process crash) is redone by the next cycle's merge.
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(busy_timeout);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .map_err(open_err)
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

/// `hris init`: creates the mapped table (and nothing else) unless it exists; an existing table is
/// only compared with the contract, never altered ([`schema::differences`]).
///
/// Errors: [`HrisError`] when the database cannot be opened or the DDL fails.
pub async fn init_table(
    url: &str,
    table: &str,
    columns: &ColumnMap,
    busy_timeout: std::time::Duration,
) -> Result<InitOutcome, HrisError> {
    let cols = schema::columns(columns);
    let pool = connect_sqlite(url, busy_timeout, true).await?;
    let existing = sqlite_columns(&pool, table).await?;
    if !existing.is_empty() {
        let d = schema::differences(schema::Dialect::Sqlite, &existing, &cols);
        return Ok(if d.is_empty() {
            InitOutcome::Matches
        } else {
            InitOutcome::Differs(d)
        });
    }
    let ddl = schema::ddl(schema::Dialect::Sqlite, table, &cols);
    sqlx::query(AssertSqlSafe(ddl)).execute(&pool).await?;
    Ok(InitOutcome::Created)
}

/// The columns of a SQLite table (none: no such table).
async fn sqlite_columns(
    pool: &SqlitePool,
    table: &str,
) -> Result<Vec<schema::ExistingColumn>, HrisError> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT name, type, pk FROM pragma_table_info(?)")
            .bind(table)
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(name, declared, pk)| schema::ExistingColumn {
            name,
            declared,
            primary_key: pk > 0,
        })
        .collect())
}

impl HrisDb {
    /// Opens the HRIS database and checks that the table and every mapped column exist.
    /// The file is not created and its journal mode is left as the HRIS owner set it.
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
        let pool = connect_sqlite(url, busy_timeout, false).await?;
        let busy = |source: sqlx::Error| busy_or(url, busy_timeout, source);
        let present: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(table)
            .fetch_all(&pool)
            .await
            .map_err(busy)?;
        if present.is_empty() {
            return Err(HrisError::NoTable {
                url: url.into(),
                table: table.into(),
            });
        }
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
        let mut select = format!(
            "SELECT rowid, {}, typeof({}), {}, typeof({}), {}",
            as_text(&columns.hris_id),
            q(&columns.hris_id),
            as_text(&columns.company_number),
            q(&columns.company_number),
            as_text(&columns.nmbrs_employee_id),
        );
        for c in columns.fields.iter().flatten() {
            select.push_str(&format!(", {}, typeof({})", as_text(c), q(c)));
        }
        select.push_str(&format!(" FROM {}", q(table)));
        Ok(HrisDb {
            pool,
            table: table.to_owned(),
            columns,
            select,
            url: url.to_owned(),
            busy_timeout,
            write_back: true,
        })
    }

    /// The same handle, read-only when `read_only` (`hris.write_back = false`): every write method
    /// then refuses with [`HrisError::ReadOnly`], so no path of the sync can write the HRIS.
    pub fn read_only(mut self, read_only: bool) -> HrisDb {
        self.write_back = !read_only;
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
        let mut tx = self.pool.begin().await.map_err(|e| e.to_string())?;
        let result = sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await;
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
        let sql = format!(
            "SELECT DISTINCT TRIM({c}) FROM {t} WHERE typeof({col}) <> 'blob' AND TRIM({c}) <> ''",
            c = as_text(&self.columns.company_number),
            col = q(&self.columns.company_number),
            t = q(&self.table)
        );
        Ok(sqlx::query_scalar::<_, Option<String>>(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Rows of one company number, validated one by one as they stream in.
    pub async fn rows_for_company(
        &self,
        company_number: &str,
        today: time::Date,
    ) -> Result<Vec<HrisRow>, HrisError> {
        let sql = format!(
            "{} WHERE TRIM({}) = ? ORDER BY rowid",
            self.select,
            as_text(&self.columns.company_number)
        );
        self.read(sql, Some(company_number), today).await
    }

    /// Rows whose company number is missing or not one of `known` (each is rejected by the caller).
    pub async fn rows_outside(
        &self,
        known: &[String],
        today: time::Date,
    ) -> Result<Vec<HrisRow>, HrisError> {
        let list = serde_json::to_string(known).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "{} WHERE {c} IS NULL OR TRIM({c}) NOT IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            self.select,
            c = as_text(&self.columns.company_number)
        );
        self.read(sql, Some(&list), today).await
    }

    async fn read(
        &self,
        sql: String,
        bind: Option<&str>,
        today: time::Date,
    ) -> Result<Vec<HrisRow>, HrisError> {
        let fields = self.synced_fields();
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(b) = bind {
            query = query.bind(b.to_owned());
        }
        let mut stream = query.fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(r) = stream.try_next().await.map_err(|e| self.failed(e))? {
            let raw = |i: usize| {
                let sql_type = SqlType::parse(&r.try_get::<String, _>(i + 1).unwrap_or_default());
                match r.try_get::<Option<String>, _>(i) {
                    Ok(text) => RawValue { text, sql_type },
                    // SQLite text need not be UTF-8: say so instead of reading it as empty.
                    Err(_) => RawValue {
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
                rowid: r.try_get(0)?,
                hris_id: raw(1),
                company_number: raw(3),
                nmbrs_employee_id: r.try_get::<Option<String>, _>(5).ok().flatten(),
                values,
            };
            out.push(validate::validate(&row, &fields, today));
        }
        Ok(out)
    }

    /// Writes the Nmbrs `employeeId` into the row's `nmbrs_employee_id` column.
    pub async fn set_employee_id(&self, hris_id: &str, employee_id: &str) -> Result<(), HrisError> {
        self.refuse_if_read_only(hris_id)?;
        let sql = format!(
            "UPDATE {} SET {} = ? WHERE {}",
            q(&self.table),
            q(&self.columns.nmbrs_employee_id),
            self.key_match()
        );
        let query = sqlx::query(AssertSqlSafe(sql)).bind(employee_id);
        bind_key(query, hris_id).execute(&self.pool).await?;
        Ok(())
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
        // Compare in Rust, inside one write transaction: the same normalisation as the read
        // (Unicode trim, empty = none), which SQL's TRIM cannot reproduce.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let select = format!(
            "SELECT {} FROM {} WHERE {}",
            changes
                .iter()
                .map(|(c, ..)| as_text(c))
                .collect::<Vec<_>>()
                .join(", "),
            q(&self.table),
            self.key_match()
        );
        let row = bind_key(sqlx::query(AssertSqlSafe(select)), hris_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(false) };
        for (i, (_, f, before, _)) in changes.iter().enumerate() {
            let raw: Option<String> = row.try_get(i).ok().flatten();
            let mut now = FieldValues::default();
            now.set(*f, raw.as_deref());
            let now = now.get(*f).map(|v| validate::canonical(*f, v.to_owned()));
            if !holds(*f, now.as_deref(), *before) {
                return Ok(false);
            }
        }
        let mut sets: Vec<String> = changes
            .iter()
            .map(|(c, ..)| format!("{} = ?", q(c)))
            .collect();
        if let Some(u) = &self.columns.updated_at {
            sets.push(format!("{} = ?", q(u)));
        }
        let sql = format!(
            "UPDATE {} SET {} WHERE {}",
            q(&self.table),
            sets.join(", "),
            self.key_match()
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (_, f, _, after) in &changes {
            query = bind_value(query, *f, *after);
        }
        if self.columns.updated_at.is_some() {
            query = query.bind(crate::db::utc_now());
        }
        let written = bind_key(query, hris_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(written)
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
        let mut cols = vec![
            q(&self.columns.hris_id),
            q(&self.columns.company_number),
            q(&self.columns.nmbrs_employee_id),
        ];
        let fields = self.synced_fields();
        for f in &fields {
            if let Some(c) = &self.columns.fields[f.index()] {
                cols.push(q(c));
            }
        }
        if let Some(u) = &self.columns.updated_at {
            cols.push(q(u));
        }
        let marks = vec!["?"; cols.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            q(&self.table),
            cols.join(", "),
            marks
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(hris_id)
            .bind(company_number)
            .bind(employee_id);
        for f in &fields {
            query = bind_value(query, *f, values.get(*f));
        }
        if self.columns.updated_at.is_some() {
            query = query.bind(crate::db::utc_now());
        }
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.failed(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let cols: Vec<(Field, &str, Option<&str>)> = row
                .values
                .iter()
                .filter_map(|(f, v)| {
                    self.columns.fields[f.index()]
                        .as_deref()
                        .map(|c| (*f, c, v.as_deref()))
                })
                .collect();
            let mut select = vec![as_text(&self.columns.company_number)];
            select.extend(cols.iter().map(|(_, c, _)| as_text(c)));
            let sql = format!(
                "SELECT {} FROM {} WHERE {}",
                select.join(", "),
                q(&self.table),
                self.key_match()
            );
            let existing = bind_key(sqlx::query(AssertSqlSafe(sql)), &row.hris_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.failed(e))?;
            let Some(existing) = existing else {
                let missing: Vec<Field> =
                    [Field::EmployeeNumber, Field::LastName, Field::BirthDate]
                        .into_iter()
                        .filter(|f| !cols.iter().any(|(g, _, v)| g == f && v.is_some()))
                        .collect();
                if !missing.is_empty() {
                    out.push(ImportResult::Incomplete(missing));
                    continue;
                }
                let mut names = vec![q(&self.columns.hris_id), q(&self.columns.company_number)];
                names.extend(cols.iter().map(|(_, c, _)| q(c)));
                if let Some(u) = &self.columns.updated_at {
                    names.push(q(u));
                }
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    q(&self.table),
                    names.join(", "),
                    vec!["?"; names.len()].join(", ")
                );
                let mut query = sqlx::query(AssertSqlSafe(sql))
                    .bind(row.hris_id.clone())
                    .bind(row.company_number.clone());
                for (f, _, v) in &cols {
                    query = bind_value(query, *f, *v);
                }
                if self.columns.updated_at.is_some() {
                    query = query.bind(crate::db::utc_now());
                }
                query.execute(&mut *tx).await.map_err(|e| self.failed(e))?;
                out.push(ImportResult::Inserted);
                continue;
            };
            let mut changed: Vec<(&str, Option<Field>, Option<&str>)> = Vec::new();
            let company: Option<String> = existing.try_get(0).ok().flatten();
            if crate::fields::normalize(company.as_deref()).as_deref()
                != Some(row.company_number.as_str())
            {
                changed.push((
                    &self.columns.company_number,
                    None,
                    Some(&row.company_number),
                ));
            }
            for (i, (f, c, v)) in cols.iter().enumerate() {
                let now: Option<String> = existing.try_get(i + 1).ok().flatten();
                let now =
                    crate::fields::normalize(now.as_deref()).map(|n| validate::canonical(*f, n));
                if !f.same(now.as_deref(), *v) {
                    changed.push((c, Some(*f), *v));
                }
            }
            if changed.is_empty() {
                out.push(ImportResult::Unchanged);
                continue;
            }
            let mut sets: Vec<String> = changed
                .iter()
                .map(|(c, ..)| format!("{} = ?", q(c)))
                .collect();
            if let Some(u) = &self.columns.updated_at {
                sets.push(format!("{} = ?", q(u)));
            }
            let sql = format!(
                "UPDATE {} SET {} WHERE {}",
                q(&self.table),
                sets.join(", "),
                self.key_match()
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (_, f, v) in &changed {
                query = match f {
                    Some(f) => bind_value(query, *f, *v),
                    None => query.bind(v.map(str::to_owned)),
                };
            }
            if self.columns.updated_at.is_some() {
                query = query.bind(crate::db::utc_now());
            }
            bind_key(query, &row.hris_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.failed(e))?;
            out.push(ImportResult::Updated(
                changed.iter().map(|(c, ..)| (*c).to_owned()).collect(),
            ));
        }
        let write = commit(&out);
        if write {
            tx.commit().await.map_err(|e| self.failed(e))?;
        } else {
            tx.rollback().await.map_err(|e| self.failed(e))?;
        }
        Ok((out, write))
    }

    /// `"hris_id" IN (?, ?)`: the row whose key reads as the given text, bound by [`bind_key`]. A
    /// key stored as an INTEGER in a column without type affinity is not equal to its text, so the
    /// integer is offered too (an index on the column still serves both).
    fn key_match(&self) -> String {
        format!("{} IN (?, ?)", q(&self.columns.hris_id))
    }

    /// The column map in force (optional columns the table lacks are unmapped).
    pub fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    /// The pool, for tests and `doctor`.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Binds the two parameters of [`HrisDb::key_match`]: the key as text, and as an integer when it is
/// the canonical text of one ("42", not "042" or "+42").
fn bind_key<'q>(query: Query<'q>, hris_id: &str) -> Query<'q> {
    let as_int = hris_id
        .parse::<i64>()
        .ok()
        .filter(|n| n.to_string() == hris_id);
    query.bind(hris_id.to_owned()).bind(as_int)
}

/// Binds a field value with the column's natural type: employee numbers as integers, hours as reals.
fn bind_value<'q>(query: Query<'q>, f: Field, value: Option<&str>) -> Query<'q> {
    match (f, value) {
        (Field::EmployeeNumber, Some(v)) => match v.parse::<i64>() {
            Ok(n) => query.bind(n),
            Err(_) => query.bind(v.to_owned()),
        },
        (Field::HoursPerWeek, Some(v)) => match v.parse::<f64>() {
            Ok(h) => query.bind(h),
            Err(_) => query.bind(v.to_owned()),
        },
        (_, v) => query.bind(v.map(str::to_owned)),
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

    /// A table we did not create: no declared types, an INTEGER key, text that is not UTF-8.
    #[tokio::test]
    async fn untyped_table_integer_keys_are_written_and_bad_utf8_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("hris.db").display());
        let pool = crate::db::open_sqlite(&url, 1).await.expect("db");
        let ddl = DEFAULT_TABLE_DDL
            .replace(" TEXT PRIMARY KEY", " PRIMARY KEY")
            .replace(" TEXT", "")
            .replace(" INTEGER", "");
        sqlx::query(AssertSqlSafe(ddl))
            .execute(&pool)
            .await
            .expect("ddl");
        sqlx::query(
            "INSERT INTO hris_employees (hris_id, company_number, employee_number, first_name, last_name, birth_date)
             VALUES (42, '2', 1, 'Lisa', 'Hanison', '1990-02-01'),
                    ('h-2', '2', 2, CAST(x'c328' AS TEXT), 'Jansen', '1990-02-01')",
        )
        .execute(&pool)
        .await
        .expect("insert");
        let columns = crate::config::Settings::built_in()
            .expect("settings")
            .columns()
            .expect("columns");
        let db = HrisDb::open(
            &url,
            "hris_employees",
            columns,
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("open");
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
}
