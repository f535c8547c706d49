//! Test harness in the style of zero2prod's `spawn_app`: an in-process Nmbrs sandbox on an ephemeral
//! loopback port, a real HRIS SQLite file and a real state database in a temp dir.
#![allow(dead_code)]

use nmbrs_sandbox::{RunningSandbox, Sandbox, SandboxOptions, seed_default};
use nmbrs_sync::commands::demo::sandbox_settings;
use nmbrs_sync::config::Settings;
use nmbrs_sync::fields::{Field, FieldValues};
use nmbrs_sync::hris::DEFAULT_TABLE_DDL;
use nmbrs_sync::nmbrs::model::read_values;
use nmbrs_sync::state::audit::{ChainCheck, verify_chain};
use nmbrs_sync::sync::{CycleReport, Syncer};
use serde_json::{Value, json};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::path::PathBuf;

pub struct TestApp {
    pub sandbox: Sandbox,
    pub running: RunningSandbox,
    pub dir: tempfile::TempDir,
    pub hris_db: PathBuf,
    pub state_db: PathBuf,
    pub hris: SqlitePool,
    pub settings: Settings,
    pub company1: String,
    pub company2: String,
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

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(SandboxOptions::default()).await
    }

    pub async fn spawn_with(options: SandboxOptions) -> TestApp {
        let sandbox = Sandbox::new(options);
        let refresh_token = seed_default(&sandbox);
        let company1 = sandbox.company_id("1").expect("company 1");
        let company2 = sandbox.company_id("2").expect("company 2");
        let running = sandbox.start(0).await.expect("sandbox starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let hris_db = dir.path().join("hris.db");
        let state_db = dir.path().join("state.db");
        let hris = nmbrs_sync::state::open_sqlite(&format!("sqlite:{}", hris_db.display()), 2)
            .await
            .expect("hris db");
        sqlx::query(DEFAULT_TABLE_DDL)
            .execute(&hris)
            .await
            .expect("hris table");
        let mut settings = sandbox_settings(
            &running.base_url(),
            &running.token_url(),
            &refresh_token,
            &hris_db,
            &state_db,
        )
        .expect("settings");
        // Keep fault tests fast.
        settings.retry.initial_interval_ms = 20;
        settings.retry.max_interval_secs = 1;
        settings.nmbrs.timeout_secs = 5;
        TestApp {
            sandbox,
            running,
            dir,
            hris_db,
            state_db,
            hris,
            settings,
            company1,
            company2,
        }
    }

    pub async fn insert(&self, p: &Person) {
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
        .execute(&self.hris)
        .await
        .expect("insert person");
    }

    pub async fn exec(&self, sql: &'static str) {
        sqlx::query(sql)
            .execute(&self.hris)
            .await
            .expect("hris statement");
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
        self.sandbox.seed_employee(
            company_id,
            json!({
                "basicInfo": {"employeeNumber": number, "firstName": first, "lastName": last, "employeeType": "payroll", "initials": "X."},
                "birthInfo": {"birthDate": birth},
                "contactInfo": {},
                "period": {"year": 2024, "period": 1}
            }),
        )
    }

    /// `NMBRS_SYNC__…` variables configuring the binary for this app (no config file).
    pub fn env(&self) -> Vec<(String, String)> {
        let s = &self.settings;
        let secret = |v: &Option<secrecy::SecretString>| {
            v.as_ref()
                .map(|x| secrecy::ExposeSecret::expose_secret(x).to_owned())
                .unwrap_or_default()
        };
        vec![
            (
                "NMBRS_SYNC__NMBRS__BASE_URL".into(),
                s.nmbrs.base_url.clone(),
            ),
            (
                "NMBRS_SYNC__NMBRS__TOKEN_URL".into(),
                s.nmbrs.token_url.clone(),
            ),
            (
                "NMBRS_SYNC__NMBRS__CLIENT_ID".into(),
                s.nmbrs.client_id.clone(),
            ),
            (
                "NMBRS_SYNC__NMBRS__CLIENT_SECRET".into(),
                secret(&s.nmbrs.client_secret),
            ),
            (
                "NMBRS_SYNC__NMBRS__SUBSCRIPTION_KEY".into(),
                secret(&s.nmbrs.subscription_key),
            ),
            (
                "NMBRS_SYNC__NMBRS__REFRESH_TOKEN".into(),
                secret(&s.nmbrs.refresh_token),
            ),
            (
                "NMBRS_SYNC__HRIS__DATABASE_URL".into(),
                s.hris.database_url.clone(),
            ),
            (
                "NMBRS_SYNC__STATE__DATABASE_URL".into(),
                s.state.database_url.clone(),
            ),
            ("NMBRS_SYNC__RETRY__INITIAL_INTERVAL_MS".into(), "20".into()),
            ("NMBRS_SYNC__LOG__LEVEL".into(), "info".into()),
        ]
    }

    /// The binary, configured only through environment variables, run from the temp dir.
    pub fn command(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("nmbrs-sync").expect("binary built");
        cmd.current_dir(self.dir.path());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("NMBRS_SYNC__")) {
            cmd.env_remove(k);
        }
        cmd.envs(self.env());
        cmd
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
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("binary runs");
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
        let state =
            nmbrs_sync::state::open_sqlite(&format!("sqlite:{}", self.state_db.display()), 1)
                .await
                .expect("state db");
        sqlx::query_as("SELECT hris_id, fields, message, http_status FROM audit_log WHERE action = ? ORDER BY id")
            .bind(action)
            .fetch_all(&state)
            .await
            .expect("audit rows")
    }
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
            let values =
                read_values(&e["personalInfo"], &Field::ALL).expect("readable personal info");
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
    let state = nmbrs_sync::state::open_sqlite(&format!("sqlite:{}", app.state_db.display()), 1)
        .await
        .expect("state");
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
        assert_eq!(h, n, "{round}: HRIS and Nmbrs agree for {hris_id}");
        let base = FieldValues::from_json(&snapshot.expect("snapshot")).expect("snapshot json");
        assert_eq!(
            &base, h,
            "{round}: snapshot equals both sides for {hris_id}"
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
