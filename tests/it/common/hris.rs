//! The HRIS side of a test, on either backend: SQLite (the fixture's file) or PostgreSQL (a fresh
//! database on the test server, [`super::postgres`], with the table in schema `hr` as `hris init`
//! makes it: DATE, INTEGER and NUMERIC columns, a schema-qualified name). Tests written against
//! [`Hris`] run on both (`tests/it/backends.rs`).

use super::TestApp;
use super::setup::Person;
use nmbrs_sync::fields::Field;
use nmbrs_sync::hris::schema::{Dialect, Kind};

/// Which database holds the HRIS table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
enum Conn {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The HRIS table of a test, written and read with the backend's own SQL.
#[derive(Clone)]
pub struct Hris {
    pub backend: Backend,
    conn: Conn,
    table: String,
}

/// The PostgreSQL table of the backend tests: schema-qualified on purpose.
pub const PG_TABLE: &str = "hr.employees";

impl Hris {
    /// Points `app` at an HRIS on `backend`: the fixture's SQLite file as it is, or a fresh
    /// PostgreSQL database whose table `hris init`'s code made. `None`: PostgreSQL unavailable
    /// outside CI (the reason was printed).
    pub async fn on(backend: Backend, app: &mut TestApp) -> Option<Hris> {
        match backend {
            Backend::Sqlite => Some(Hris {
                backend,
                conn: Conn::Sqlite(app.hris.clone()),
                table: "\"hris_employees\"".into(),
            }),
            Backend::Postgres => {
                let url = super::postgres::fresh_database().await?;
                let pool = sqlx::PgPool::connect(&url).await.expect("connect");
                sqlx::query("CREATE SCHEMA hr")
                    .execute(&pool)
                    .await
                    .expect("schema");
                let columns = app.settings.columns().expect("columns");
                let made = nmbrs_sync::hris::init_table(
                    &url,
                    PG_TABLE,
                    &columns,
                    std::time::Duration::from_secs(5),
                )
                .await
                .expect("hris init on PostgreSQL");
                assert_eq!(made, nmbrs_sync::hris::InitOutcome::Created);
                app.settings.hris.database_url = url;
                app.settings.hris.table = PG_TABLE.into();
                Some(Hris {
                    backend,
                    conn: Conn::Postgres(pool),
                    table: "\"hr\".\"employees\"".into(),
                })
            }
        }
    }

    /// The placeholder for a value of `column`: SQLite `?`; PostgreSQL `CAST($n AS <its type>)`.
    fn mark(&self, n: usize, column: &str) -> String {
        match self.backend {
            Backend::Sqlite => "?".into(),
            Backend::Postgres => {
                let kind = match column {
                    "updated_at" => Kind::Timestamp,
                    c => Field::from_name(c).map_or(Kind::Text, Kind::of),
                };
                format!("CAST(${n} AS {})", kind.sql_type(Dialect::Postgres))
            }
        }
    }

    async fn execute(&self, sql: String, values: &[Option<&str>]) -> Result<u64, sqlx::Error> {
        match &self.conn {
            Conn::Sqlite(p) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for v in values {
                    q = q.bind(v.map(str::to_owned));
                }
                Ok(q.execute(p).await?.rows_affected())
            }
            Conn::Postgres(p) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for v in values {
                    q = q.bind(v.map(str::to_owned));
                }
                Ok(q.execute(p).await?.rows_affected())
            }
        }
    }

    /// Inserts a row of `(column, text value)`; PostgreSQL casts each to the column's type.
    pub async fn try_insert(&self, row: &[(&str, Option<&str>)]) -> Result<u64, sqlx::Error> {
        let names: Vec<String> = row.iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let marks: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, (c, _))| self.mark(i + 1, c))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table,
            names.join(", "),
            marks.join(", ")
        );
        let values: Vec<Option<&str>> = row.iter().map(|(_, v)| *v).collect();
        self.execute(sql, &values).await
    }

    pub async fn insert(&self, row: &[(&str, Option<&str>)]) {
        self.try_insert(row).await.expect("insert HRIS row");
    }

    /// Inserts a [`Person`].
    pub async fn insert_person(&self, p: &Person) {
        let number = p.employee_number.to_string();
        self.insert(&[
            ("hris_id", Some(&p.hris_id)),
            ("company_number", Some(&p.company_number)),
            ("employee_number", Some(&number)),
            ("first_name", Some(&p.first_name)),
            ("last_name", Some(&p.last_name)),
            ("birth_date", Some(&p.birth_date)),
            ("private_email", p.private_email.as_deref()),
            ("employee_type", Some(&p.employee_type)),
        ])
        .await;
    }

    /// Sets columns of the row `hris_id`.
    pub async fn set(&self, hris_id: &str, values: &[(&str, Option<&str>)]) {
        let sets: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("\"{c}\" = {}", self.mark(i + 1, c)))
            .collect();
        let key = match self.backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${}", values.len() + 1),
        };
        let sql = format!(
            "UPDATE {} SET {} WHERE hris_id = {key}",
            self.table,
            sets.join(", ")
        );
        let mut binds: Vec<Option<&str>> = values.iter().map(|(_, v)| *v).collect();
        binds.push(Some(hris_id));
        assert_eq!(self.execute(sql, &binds).await.expect("update"), 1);
    }

    /// A column of the row `hris_id`, as text (`None`: NULL or no such row).
    pub async fn value(&self, hris_id: &str, column: &str) -> Option<String> {
        let sql = |mark: &str| {
            format!(
                "SELECT CAST(\"{column}\" AS TEXT) FROM {} WHERE hris_id = {mark}",
                self.table
            )
        };
        match &self.conn {
            Conn::Sqlite(p) => {
                sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql("?")))
                    .bind(hris_id)
                    .fetch_optional(p)
                    .await
                    .expect("select")
                    .flatten()
            }
            Conn::Postgres(p) => {
                sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql("$1")))
                    .bind(hris_id)
                    .fetch_optional(p)
                    .await
                    .expect("select")
                    .flatten()
            }
        }
    }

    /// Number of rows in the table.
    pub async fn count(&self) -> i64 {
        let sql = format!("SELECT count(*) FROM {}", self.table);
        match &self.conn {
            Conn::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(p)
                .await
                .expect("count"),
            Conn::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(p)
                .await
                .expect("count"),
        }
    }
}
