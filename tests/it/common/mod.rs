//! Test harness in the style of zero2prod's `spawn_app`: an in-process Nmbrs sandbox on an ephemeral
//! loopback port, a real HRIS SQLite file and a real state database in a temp dir. The pieces the
//! bench uses too live in `setup.rs`.

pub mod hris;
pub mod postgres;
pub mod setup;

use nmbrs_sandbox::SandboxOptions;
use nmbrs_sync::fields::{Field, FieldValues};
use nmbrs_sync::nmbrs::model::read_values;
use nmbrs_sync::state::audit::{ChainCheck, verify_chain};
use nmbrs_sync::sync::{CycleReport, Syncer};
use serde_json::{Value, json};
pub use setup::{Person, person};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

/// A [`setup::Fixture`] (its fields read as the app's own: `app.sandbox`, `app.settings`, …) with
/// the ids of companies "1" and "2" and the test helpers.
pub struct TestApp {
    fixture: setup::Fixture,
    pub company1: String,
    pub company2: String,
}

impl Deref for TestApp {
    type Target = setup::Fixture;
    fn deref(&self) -> &setup::Fixture {
        &self.fixture
    }
}

impl DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut setup::Fixture {
        &mut self.fixture
    }
}

/// Every test that used a sandbox ends with the contract check: no request the client sent and no
/// answer the sandbox gave may fall outside `docs/nmbrs-openapi.yaml`.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let violations = self.sandbox.contract_violations();
        assert!(
            violations.is_empty(),
            "contract violations (docs/nmbrs-openapi.yaml):\n{}",
            violations.join("\n")
        );
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(SandboxOptions::default()).await
    }

    pub async fn spawn_with(options: SandboxOptions) -> TestApp {
        Self::spawn_with_companies(options, 2).await
    }

    /// A sandbox with companies "1" to `companies` (at least 2: `company1` and `company2`).
    pub async fn spawn_with_companies(options: SandboxOptions, companies: usize) -> TestApp {
        let mut fixture = setup::Fixture::start(options, companies).await;
        // Keep fault tests fast.
        fixture.settings.retry.initial_interval_ms = 20;
        fixture.settings.retry.max_interval_secs = 1;
        fixture.settings.nmbrs.timeout_secs = 5;
        TestApp {
            company1: fixture.sandbox.company_id("1").expect("company 1"),
            company2: fixture.sandbox.company_id("2").expect("company 2"),
            fixture,
        }
    }

    pub async fn insert(&self, p: &Person) {
        setup::insert(&self.hris, p).await;
    }

    pub async fn exec(&self, sql: &'static str) {
        sqlx::query(sql)
            .execute(&self.hris)
            .await
            .expect("hris statement");
    }

    /// Sets HRIS columns of one row (`(column, value)`; `None` = NULL), as a writer that keeps
    /// `updated_at` does.
    pub async fn set(&self, hris_id: &str, values: &[(&str, Option<&str>)]) {
        self.set_stamped(hris_id, values, "datetime('now')").await;
    }

    /// [`Self::set`] with `updated_at` set to the SQL expression `stamp` (`"updated_at"`: a writer
    /// that leaves it alone).
    pub async fn set_stamped(&self, hris_id: &str, values: &[(&str, Option<&str>)], stamp: &str) {
        for (column, value) in values {
            let sql = format!(
                "UPDATE hris_employees SET {column} = ?, updated_at = {stamp} WHERE hris_id = ?"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(*value)
                .bind(hris_id)
                .execute(&self.hris)
                .await
                .expect("hris update");
        }
    }

    /// The key the binary hashed BSNs with in this app's state database (empty before its first
    /// run).
    pub async fn bsn_key(&self) -> Vec<u8> {
        sqlx::query_scalar("SELECT key FROM install_keys WHERE name = 'bsn'")
            .fetch_optional(&self.state().await)
            .await
            .expect("install key")
            .unwrap_or_default()
    }

    /// A connection pool on the state database (for assertions on links, runs and the audit log).
    pub async fn state(&self) -> sqlx::SqlitePool {
        nmbrs_sync::db::open_sqlite(&format!("sqlite:{}", self.state_db.display()), 1)
            .await
            .expect("state db")
    }

    /// One HRIS column of one row, as text.
    pub async fn hris_value(&self, hris_id: &str, column: &str) -> Option<String> {
        let sql = format!("SELECT CAST({column} AS TEXT) FROM hris_employees WHERE hris_id = ?");
        sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql))
            .bind(hris_id)
            .fetch_one(&self.hris)
            .await
            .expect("hris value")
    }

    pub async fn syncer(&self) -> Syncer {
        Syncer::new(self.settings.clone()).await.expect("syncer")
    }

    pub async fn cycle(&self) -> CycleReport {
        self.syncer()
            .await
            .run_cycle("test", false, &Default::default())
            .await
            .expect("cycle runs")
    }

    /// The sandbox's employees of a company, as JSON.
    pub fn employees(&self, company_id: &str) -> Vec<Value> {
        self.sandbox.employees(company_id)
    }

    /// Seeds an employee straight into the sandbox (as if created in the Nmbrs UI).
    pub fn seed(
        &self,
        company_id: &str,
        number: i64,
        first: &str,
        last: &str,
        birth: &str,
    ) -> String {
        let mut p = person("", "", number, first, last);
        p.birth_date = birth.into();
        let mut employee = p.employee_json();
        employee["basicInfo"]["initials"] = json!("X.");
        self.sandbox.seed_employee(company_id, employee)
    }

    /// `NMBRS_SYNC__…` variables configuring the binary for this app (no config file).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = setup::settings_env(&self.settings);
        env.push(("NMBRS_SYNC__RETRY__INITIAL_INTERVAL_MS".into(), "20".into()));
        env
    }

    /// The one way a test starts the binary: configured only through [`Self::env`] (nothing
    /// inherited from this process), run from the temp dir. [`Self::command`] and
    /// [`Self::child_command`] are this command in the two forms the tests use.
    pub fn std_command(&self) -> std::process::Command {
        setup::command(setup::BIN, self.dir.path(), &self.env())
    }

    /// [`Self::std_command`] to run to completion (`output`, `write_stdin`, `timeout`).
    pub fn command(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_command())
    }

    /// [`Self::std_command`] as a child the test can read from, write to, signal or kill; killed
    /// if the test drops it.
    pub fn child_command(&self) -> tokio::process::Command {
        child(self.std_command())
    }

    /// Runs the binary off the async runtime (the sandbox it talks to lives on this runtime):
    /// `env` adds (`Some`) or removes (`None`) variables. Returns (exit code, stdout, stderr).
    pub async fn run(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> (i32, String, String) {
        let mut cmd = self.command();
        cmd.args(args).timeout(std::time::Duration::from_secs(120));
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out = output(cmd).await;
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Audit rows of an action: (hris_id, fields, message, http_status).
    pub async fn audit_rows(
        &self,
        action: &str,
    ) -> Vec<(Option<String>, Option<String>, Option<String>, Option<i64>)> {
        let state = self.state().await;
        sqlx::query_as("SELECT hris_id, fields, message, http_status FROM audit_log WHERE action = ? ORDER BY id")
            .bind(action)
            .fetch_all(&state)
            .await
            .expect("audit rows")
    }
}

/// Runs `cmd` to completion off the async runtime (the sandbox it talks to lives on this runtime).
pub async fn output(mut cmd: assert_cmd::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("binary runs")
}

/// `cmd` as a child a test can read from, write to, signal or kill; killed if the test drops it.
pub fn child(cmd: std::process::Command) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    cmd
}

/// A fresh, unguessable value (the sandbox's defaults are well-known strings).
pub fn random(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A string field of an employee's personal info, e.g. `("basicInfo", "lastName")`.
pub fn pi_field(employee: &Value, section: &str, key: &str) -> Value {
    employee["personalInfo"][section][key].clone()
}

/// HRIS values of every row (all fields), keyed by hris_id, with the stored employeeId.
pub async fn hris_rows(app: &TestApp) -> HashMap<String, (Option<String>, FieldValues)> {
    let cols = Field::ALL
        .iter()
        .map(|f| format!("CAST({} AS TEXT)", f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT hris_id, nmbrs_employee_id, {cols} FROM hris_employees");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&app.hris)
        .await
        .expect("rows");
    rows.iter()
        .map(|r| {
            use sqlx::Row;
            let mut v = FieldValues::default();
            for (i, f) in Field::ALL.iter().enumerate() {
                v.set(*f, r.get::<Option<String>, _>(i + 2).as_deref());
            }
            (r.get::<String, _>(0), (r.get::<Option<String>, _>(1), v))
        })
        .collect()
}

/// What Nmbrs holds for one employee, every resource read the way the sync reads it (the entry in
/// force this month); `None` when the sandbox has no such employee.
pub fn nmbrs_values(app: &TestApp, employee_id: &str) -> Option<FieldValues> {
    use nmbrs_sync::fields::Resource;
    use nmbrs_sync::nmbrs::model::resources::{ReadAt, read_resource};
    let e = app.sandbox.employee(employee_id)?;
    let mut values = read_values(&e["personalInfo"], &Field::ALL).expect("readable personal info");
    let now = time::OffsetDateTime::now_utc();
    let month = now.month();
    let at = ReadAt {
        period: nmbrs_sync::nmbrs::Period {
            year: now.year(),
            period: u8::from(month),
        },
        as_of: time::Date::from_calendar_date(now.year(), month, month.length(now.year()))
            .expect("month end")
            .to_string(),
    };
    for r in Resource::ALL.into_iter().skip(1) {
        let h = app.sandbox.history(employee_id, r.history_key());
        let read = read_resource(r, &h, &at, &Field::ALL).expect("readable resource");
        for f in r.fields() {
            values.set(f, read.values.get(f));
        }
    }
    Some(values)
}

/// Whether two sets of values are the same values field by field ([`Field::same`]: e-mail case,
/// phone format, reference names), hours compared as numbers, a BSN and its stored hash compared
/// under `bsn_key` (the state database's key, [`TestApp::bsn_key`]).
pub fn agree(a: &FieldValues, b: &FieldValues, bsn_key: &[u8]) -> bool {
    Field::ALL.into_iter().all(|f| {
        let (x, y) = (a.get(f), b.get(f));
        match f {
            Field::HoursPerWeek => {
                x.and_then(|v| v.parse::<f64>().ok()) == y.and_then(|v| v.parse::<f64>().ok())
            }
            Field::Bsn => {
                let h = |v: Option<&str>| v.map(|v| nmbrs_sync::fields::bsn_hash_with(bsn_key, v));
                h(x) == h(y)
            }
            _ => f.same(x, y),
        }
    })
}

/// The end state every convergence must reach: one employee per HRIS row (no duplicate employee
/// number in a company), both sides equal, snapshots equal to both, ids written back, audit intact.
pub async fn check_invariants(app: &TestApp, round: &str) {
    // No duplicate employee: employee numbers are unique per company and every HRIS row has exactly one employee.
    let hris = hris_rows(app).await;
    let mut employees: HashMap<String, FieldValues> = HashMap::new();
    for company in [&app.company1, &app.company2] {
        let mut numbers = HashMap::new();
        for e in app.employees(company) {
            let id = e["employeeId"].as_str().expect("id").to_owned();
            let values = nmbrs_values(app, &id).expect("employee");
            let n = values.get(Field::EmployeeNumber).unwrap_or("").to_owned();
            assert!(
                numbers.insert(n.clone(), id.clone()).is_none(),
                "{round}: duplicate employee number {n} in company {company}"
            );
            employees.insert(id, values);
        }
    }
    assert_eq!(
        employees.len(),
        hris.len(),
        "{round}: one employee per HRIS row, no more, no fewer"
    );
    let state = app.state().await;
    let key = app.bsn_key().await;
    let links: Vec<(String, Option<String>, Option<String>, String)> =
        sqlx::query_as("SELECT hris_id, employee_id, snapshot, status FROM employee_links")
            .fetch_all(&state)
            .await
            .expect("links");
    assert_eq!(links.len(), hris.len(), "{round}: every row linked");
    for (hris_id, employee_id, snapshot, status) in links {
        assert_eq!(status, "linked", "{round}: {hris_id}");
        let employee_id = employee_id.expect("linked");
        let (stored_id, h) = &hris[&hris_id];
        assert_eq!(
            stored_id.as_deref(),
            Some(employee_id.as_str()),
            "{round}: id written back for {hris_id}"
        );
        let n = &employees[&employee_id];
        assert!(
            agree(h, n, &key),
            "{round}: HRIS and Nmbrs agree for {hris_id}: {h:?} vs {n:?}"
        );
        let base = FieldValues::from_json(&snapshot.expect("snapshot")).expect("snapshot json");
        assert!(
            agree(&base, h, &key),
            "{round}: snapshot equals both sides for {hris_id}: {base:?} vs {h:?}"
        );
    }
    assert!(
        matches!(
            verify_chain(&state).await.expect("verify"),
            ChainCheck::Intact { .. }
        ),
        "{round}: audit chain intact"
    );
}
