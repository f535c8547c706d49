//! Set-up shared by the integration tests (`tests/it/common`) and the benchmark
//! (`benches/sync_bench.rs`, which includes this file with `#[path]`): a seeded sandbox, the HRIS
//! table and its rows, the settings and `NMBRS_SYNC__*` variables that point the sync at them, and
//! the one builder for running the `nmbrs-sync` binary with exactly those variables.
//!
//! Self-contained on purpose (it names no item of either side), so both can compile it. The tests
//! use all of it; the bench, which uses part, allows dead code on its `mod setup`.

use nmbrs_sandbox::{
    ALL_SCOPES, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_KEY, RunningSandbox,
    Sandbox, SandboxOptions,
};
use nmbrs_sync::commands::demo::sandbox_settings;
use nmbrs_sync::config::Settings;
use nmbrs_sync::fields::{Field, FieldValues};
use nmbrs_sync::hris::DEFAULT_TABLE_DDL;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sqlx::{SqliteExecutor, SqlitePool};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The binary cargo built for this test or bench target.
pub const BIN: &str = env!("CARGO_BIN_EXE_nmbrs-sync");

/// A sandbox with companies "1" to `companies` ("Company 1", …), the default subscription key and
/// the default client; returns it with that client's refresh token.
pub fn sandbox(options: SandboxOptions, companies: usize) -> (Sandbox, String) {
    let sandbox = Sandbox::new(options);
    for c in 1..=companies {
        sandbox.add_company(&c.to_string(), &format!("Company {c}"));
    }
    if let Some(debtor) = sandbox.default_debtor_id() {
        nmbrs_sandbox::seed_org(&sandbox, &debtor);
    }
    sandbox.add_subscription_key(DEFAULT_SUBSCRIPTION_KEY);
    let refresh_token = sandbox.add_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &ALL_SCOPES);
    (sandbox, refresh_token)
}

/// A running [`sandbox`], an HRIS database with the default table and a state database path, both
/// in a fresh temp dir, and the settings of the default client for all of them.
pub struct Fixture {
    pub sandbox: Sandbox,
    pub running: RunningSandbox,
    pub dir: tempfile::TempDir,
    pub hris_db: PathBuf,
    pub state_db: PathBuf,
    pub hris: SqlitePool,
    pub settings: Settings,
}

impl Fixture {
    /// Leaves every field outside personal info unmapped (`hris.columns.<field> = ""`): the
    /// personal-info-only setup, which reads one listing per company.
    pub fn personal_info_only(&mut self) {
        for f in nmbrs_sync::fields::Field::ALL {
            if f.resource() != nmbrs_sync::fields::Resource::PersonalInfo {
                self.settings
                    .hris
                    .columns
                    .insert(f.name().to_owned(), String::new());
            }
        }
    }

    pub async fn start(options: SandboxOptions, companies: usize) -> Fixture {
        let (sandbox, refresh_token) = sandbox(options, companies);
        let running = sandbox.start(0).await.expect("sandbox starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let hris_db = dir.path().join("hris.db");
        let state_db = dir.path().join("state.db");
        let hris = nmbrs_sync::db::open_sqlite(&format!("sqlite:{}", hris_db.display()), 2)
            .await
            .expect("hris db");
        sqlx::query(DEFAULT_TABLE_DDL)
            .execute(&hris)
            .await
            .expect("hris table");
        let settings = sandbox_settings(
            &running.base_url(),
            &running.token_url(),
            &refresh_token,
            &hris_db,
            &state_db,
        )
        .expect("settings");
        Fixture {
            sandbox,
            running,
            dir,
            hris_db,
            state_db,
            hris,
            settings,
        }
    }
}

/// The `NMBRS_SYNC__…` variables that point the binary at the endpoints, credentials and databases
/// of `settings` (no config file), at log level `info`. Callers add their own tuning.
pub fn settings_env(settings: &Settings) -> Vec<(String, String)> {
    let secret = |v: &Option<SecretString>| {
        v.as_ref()
            .map(|x| x.expose_secret().to_owned())
            .unwrap_or_default()
    };
    let n = &settings.nmbrs;
    [
        ("NMBRS__BASE_URL", n.base_url.clone()),
        ("NMBRS__TOKEN_URL", n.token_url.clone()),
        ("NMBRS__CLIENT_ID", n.client_id.clone()),
        ("NMBRS__CLIENT_SECRET", secret(&n.client_secret)),
        ("NMBRS__SUBSCRIPTION_KEY", secret(&n.subscription_key)),
        ("NMBRS__REFRESH_TOKEN", secret(&n.refresh_token)),
        ("HRIS__DATABASE_URL", settings.hris.database_url.clone()),
        ("HRIS__TABLE", settings.hris.table.clone()),
        ("STATE__DATABASE_URL", settings.state.database_url.clone()),
        ("LOG__LEVEL", "info".into()),
    ]
    .into_iter()
    .map(|(key, value)| (format!("NMBRS_SYNC__{key}"), value))
    .collect()
}

/// The one builder for running the binary (or, in the bench, the wrapper that runs it): `program`
/// in `dir`, configured by `env` alone — every `NMBRS_SYNC…` variable of this process (a
/// developer's shell, a stray `NMBRS_SYNC_FAILPOINT`) is removed first. Callers turn it into an
/// `assert_cmd::Command` or a `tokio::process::Command` as they need.
pub fn command(
    program: impl AsRef<OsStr>,
    dir: &Path,
    env: &[(String, String)],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NMBRS_SYNC") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// A person for the HRIS table: defaults are valid; tests override what they need.
#[derive(Clone, Debug)]
pub struct Person {
    pub hris_id: String,
    pub company_number: String,
    pub employee_number: i64,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: String,
    pub private_email: Option<String>,
    /// One of the description's `EmployeeType` values (Nmbrs requires one to create).
    pub employee_type: String,
}

pub fn person(hris_id: &str, company: &str, number: i64, first: &str, last: &str) -> Person {
    Person {
        hris_id: hris_id.into(),
        company_number: company.into(),
        employee_number: number,
        first_name: first.into(),
        last_name: last.into(),
        birth_date: "1990-02-01".into(),
        private_email: None,
        employee_type: "payroll".into(),
    }
}

impl Person {
    /// The mapped values this person has in the HRIS.
    pub fn values(&self) -> FieldValues {
        let mut v = FieldValues::default();
        v.set(
            Field::EmployeeNumber,
            Some(&self.employee_number.to_string()),
        );
        v.set(Field::FirstName, Some(&self.first_name));
        v.set(Field::LastName, Some(&self.last_name));
        v.set(Field::EmployeeType, Some(&self.employee_type));
        v.set(Field::BirthDate, Some(&self.birth_date));
        v.set(Field::PrivateEmail, self.private_email.as_deref());
        v
    }

    /// This person as an employee seeded straight into the sandbox (as if made in the Nmbrs UI).
    pub fn employee_json(&self) -> Value {
        let contact = match &self.private_email {
            Some(email) => json!({"privateEmail": email}),
            None => json!({}),
        };
        json!({
            "basicInfo": {"employeeNumber": self.employee_number, "firstName": self.first_name,
                          "lastName": self.last_name, "employeeType": self.employee_type},
            "birthInfo": {"birthDate": self.birth_date},
            "contactInfo": contact,
            "period": {"year": 2024, "period": 1}
        })
    }
}

/// Adds `p` to the HRIS table (`db`: the pool, or a transaction for many rows).
pub async fn insert<'e>(db: impl SqliteExecutor<'e>, p: &Person) {
    sqlx::query(
        "INSERT INTO hris_employees (hris_id, company_number, employee_number, first_name, last_name, birth_date, private_email, employee_type, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, datetime('now'))",
    )
    .bind(&p.hris_id)
    .bind(&p.company_number)
    .bind(p.employee_number)
    .bind(&p.first_name)
    .bind(&p.last_name)
    .bind(&p.birth_date)
    .bind(&p.private_email)
    .bind(&p.employee_type)
    .execute(db)
    .await
    .expect("insert person");
}

/// A quiet stretch for the HRIS side (the sandbox's `age`): each row's `updated_at` moved `by`
/// into the past and `apart` more per row (by rowid), as in an HRIS whose rows were last edited at
/// different times. Bulk-loaded rows share one stamp, so all of them would lie within the HRIS
/// mark's overlap; real edits are spread out.
pub async fn age_hris(db: &sqlx::SqlitePool, by: std::time::Duration, apart: std::time::Duration) {
    sqlx::query(
        "UPDATE hris_employees SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || (? + ? * (rowid - 1)) || ' seconds')",
    )
    .bind(by.as_secs() as i64)
    .bind(apart.as_secs() as i64)
    .execute(db)
    .await
    .expect("age the HRIS");
}

// ------------------------------------------------------------------ synthetic data sets

/// The company ("1" to `companies`) of person `i` of a synthetic data set.
pub fn company_of(i: usize, companies: usize) -> usize {
    i % companies + 1
}

/// The `hris_id` of person `i` of a synthetic data set.
pub fn hris_id(i: usize) -> String {
    format!("h{i:07}")
}

/// Person `i` of a data set spread over `companies` companies: number `i + 1`, a distinct name,
/// birth date and private e-mail.
pub fn synthetic_person(i: usize, companies: usize) -> Person {
    let birth = time::Date::from_calendar_date(1960, time::Month::January, 1).expect("a date")
        + time::Duration::days((i % 14_000) as i64);
    let mut p = person(
        &hris_id(i),
        &company_of(i, companies).to_string(),
        i as i64 + 1,
        &format!("First{i}"),
        &format!("Last{i}"),
    );
    p.birth_date = birth.to_string();
    p.private_email = Some(format!("p{i}@example.com"));
    p
}

/// Inserts synthetic persons `0..n` into the HRIS table, in one transaction.
pub async fn insert_people(hris: &SqlitePool, n: usize, companies: usize) {
    let mut tx = hris.begin().await.expect("tx");
    for i in 0..n {
        insert(&mut *tx, &synthetic_person(i, companies)).await;
    }
    tx.commit().await.expect("commit");
}

/// (employeeId, values) of every linked HRIS row, in `hris_id` order, with the fields a [`Person`]
/// carries: the input of the naive flow (`benches/support/naive.rs`).
pub async fn linked_rows(hris: &SqlitePool) -> Vec<(String, FieldValues)> {
    type Row = (
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT nmbrs_employee_id, employee_number, first_name, last_name, employee_type, birth_date, private_email
         FROM hris_employees ORDER BY hris_id",
    )
    .fetch_all(hris)
    .await
    .expect("hris rows");
    rows.into_iter()
        .filter_map(|(employee_id, number, first, last, typ, birth, email)| {
            let p = Person {
                hris_id: String::new(),
                company_number: String::new(),
                employee_number: number,
                first_name: first.unwrap_or_default(),
                last_name: last.unwrap_or_default(),
                birth_date: birth.unwrap_or_default(),
                private_email: email,
                employee_type: typ.unwrap_or_default(),
            };
            Some((employee_id?, p.values()))
        })
        .collect()
}
