//! `nmbrs-sync demo`: the seed scenarios on the built-in sandbox, with no credentials and no network.
//!
//! Cycle 1 creates the new hire Lisa "Elisabeth" Hanison (employee number 98072, Company 2,
//! applicant) and her colleagues and imports an employee only Nmbrs has; cycle 2 sends her new last
//! name Petterson and partner Rick Petterson (GET → modify → PUT); cycle 3 brings a change made in
//! Nmbrs back into the HRIS; cycle 4 is a no-op with zero write calls.

use crate::config::Settings;
use crate::hris::DEFAULT_TABLE_DDL;
use crate::shutdown::CancellationToken;
use crate::state::audit::{AuditFilter, query};
use crate::sync::{CycleReport, Syncer};
use nmbrs_sandbox::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_KEY, Sandbox, SandboxOptions,
    seed_default,
};
use secrecy::SecretString;
use serde_json::json;
use std::path::{Path, PathBuf};

/// A person in the demo HRIS.
struct DemoPerson {
    hris_id: &'static str,
    company_number: &'static str,
    employee_number: i64,
    first_name: &'static str,
    first_name_in_full: &'static str,
    last_name: &'static str,
    employee_type: &'static str,
    birth_date: &'static str,
    /// Hire date; "" = none (sent only in the create).
    in_service_date: &'static str,
    gender: &'static str,
    business_email: &'static str,
}

const PEOPLE: [DemoPerson; 3] = [
    DemoPerson {
        hris_id: "hris-1001",
        company_number: "2",
        employee_number: 98072,
        first_name: "Lisa",
        first_name_in_full: "Elisabeth",
        last_name: "Hanison",
        employee_type: "applicant",
        birth_date: "1990-02-01",
        in_service_date: "2026-12-01",
        gender: "female",
        business_email: "lisa.hanison@company2.example",
    },
    DemoPerson {
        hris_id: "hris-1002",
        company_number: "2",
        employee_number: 98073,
        first_name: "Jan",
        first_name_in_full: "Johannes",
        last_name: "de Vries",
        employee_type: "payroll",
        birth_date: "1984-07-12",
        in_service_date: "",
        gender: "male",
        business_email: "jan.devries@company2.example",
    },
    DemoPerson {
        hris_id: "hris-1003",
        company_number: "1",
        employee_number: 501,
        first_name: "Aïcha",
        first_name_in_full: "Aïcha",
        last_name: "El Amrani",
        employee_type: "payroll",
        birth_date: "1996-11-30",
        in_service_date: "",
        gender: "female",
        business_email: "aicha.elamrani@company1.example",
    },
];

/// Runs the demo; returns the exit code.
pub async fn run() -> u8 {
    crate::telemetry::init_logging("warn", crate::config::LogFormat::Text);
    match demo().await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("nmbrs-sync demo: {e:#}");
            1
        }
    }
}

/// A fresh directory for the demo's databases; kept after the demo so they can be inspected.
fn work_dir() -> std::io::Result<PathBuf> {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let dir = std::env::temp_dir().join(format!("nmbrs-sync-demo-{stamp}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Settings pointing at a sandbox and two SQLite files; used by the demo, tests and benchmarks.
pub fn sandbox_settings(
    base_url: &str,
    token_url: &str,
    refresh_token: &str,
    hris_db: &Path,
    state_db: &Path,
) -> anyhow::Result<Settings> {
    let mut s = Settings::built_in()?;
    s.nmbrs.base_url = base_url.to_owned();
    s.nmbrs.token_url = token_url.to_owned();
    s.nmbrs.client_id = DEFAULT_CLIENT_ID.to_owned();
    s.nmbrs.client_secret = Some(SecretString::from(DEFAULT_CLIENT_SECRET));
    s.nmbrs.subscription_key = Some(SecretString::from(DEFAULT_SUBSCRIPTION_KEY));
    s.nmbrs.refresh_token = Some(SecretString::from(refresh_token.to_owned()));
    s.nmbrs.max_requests_per_sec = 200;
    s.hris.database_url = format!("sqlite:{}", hris_db.display());
    s.state.database_url = format!("sqlite:{}", state_db.display());
    Ok(s)
}

async fn demo() -> anyhow::Result<()> {
    let dir = work_dir()?;
    let sandbox = Sandbox::new(SandboxOptions::default());
    let refresh_token = seed_default(&sandbox);
    let company2 = sandbox
        .company_id("2")
        .ok_or_else(|| anyhow::anyhow!("sandbox has no company 2"))?;
    // Someone already on the Nmbrs payroll whom the HRIS does not know yet: imported.
    sandbox.seed_employee(
        &company2,
        json!({
            "basicInfo": {"employeeNumber": 97001, "firstName": "Rosa", "firstNameInFull": "Rosalind", "lastName": "Bakker", "employeeType": "payroll"},
            "birthInfo": {"birthDate": "1979-03-14", "birthCountryCodeISO": "NL", "nationalityCodeISO": "NL", "gender": "female"},
            "contactInfo": {"businessEmail": "rosa.bakker@company2.example"},
            "period": {"year": 2024, "period": 1}
        }),
    );
    let running = sandbox.start(0).await?;
    let hris_db = dir.join("hris.db");
    let state_db = dir.join("state.db");
    let hris_url = format!("sqlite:{}", hris_db.display());
    let hris = crate::db::open_sqlite(&format!("{hris_url}?mode=rwc"), 1).await?;
    sqlx::query(DEFAULT_TABLE_DDL).execute(&hris).await?;
    for p in PEOPLE {
        sqlx::query(
            "INSERT INTO hris_employees (hris_id, company_number, employee_number, first_name, first_name_in_full, last_name, employee_type,
               birth_date, in_service_date, birth_country_code_iso, nationality_code_iso, gender, business_email, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), 'NL', 'NL', ?, ?, datetime('now'))",
        )
        .bind(p.hris_id)
        .bind(p.company_number)
        .bind(p.employee_number)
        .bind(p.first_name)
        .bind(p.first_name_in_full)
        .bind(p.last_name)
        .bind(p.employee_type)
        .bind(p.birth_date)
        .bind(p.in_service_date)
        .bind(p.gender)
        .bind(p.business_email)
        .execute(&hris)
        .await?;
    }
    // Lisa is hired payroll-ready: job, department, manager, contract and home address.
    sqlx::query(
        "UPDATE hris_employees SET job_title = 'Payroll Specialist', department = 'Finance',
           manager = 'Mila de Boer', contract_start_date = '2026-12-01', hours_per_week = 32,
           street = 'Naritaweg', house_number = '70', postal_code = '1043 BZ', city = 'Amsterdam',
           country_code_iso = 'NL' WHERE hris_id = 'hris-1001'",
    )
    .execute(&hris)
    .await?;

    let settings = sandbox_settings(
        &running.base_url(),
        &running.token_url(),
        &refresh_token,
        &hris_db,
        &state_db,
    )?;
    let syncer = Syncer::new(settings).await?;
    println!("nmbrs-sync demo");
    println!(
        "  Nmbrs sandbox: {}  (in memory, loopback only)",
        running.base_url()
    );
    println!("  HRIS database: {}", hris_db.display());
    println!("  state + audit database: {}", state_db.display());

    let cycle = |title: &'static str| {
        let syncer = syncer.clone();
        let sandbox = sandbox.clone();
        async move {
            println!("\n== {title}");
            let before = sandbox.stats();
            let report = syncer
                .run_cycle("demo", false, &CancellationToken::new())
                .await?;
            let after = sandbox.stats();
            print_run(&syncer, &report).await?;
            println!(
                "   sandbox saw {} API calls, {} of them writes",
                after.total - before.total,
                after.writes - before.writes
            );
            anyhow::Ok(report)
        }
    };

    cycle("Cycle 1: first sync — new hires created in Nmbrs (intent → POST → id written back; Lisa's job, department, manager, contract and address right after), Nmbrs-only employee imported").await?;

    sqlx::query("UPDATE hris_employees SET last_name = 'Petterson', partner_name = 'Rick Petterson', marital_status = 'married', updated_at = datetime('now') WHERE hris_id = 'hris-1001'")
        .execute(&hris)
        .await?;
    cycle("Cycle 2: Lisa's last name changes to Petterson and partner Rick Petterson is added in the HRIS — GET → modify → PUT").await?;

    let lisa_id: String = sqlx::query_scalar(
        "SELECT nmbrs_employee_id FROM hris_employees WHERE hris_id = 'hris-1001'",
    )
    .fetch_one(&hris)
    .await?;
    // Saved as a new history entry, as an edit in Nmbrs is: what an incremental read sees.
    sandbox.edit_personal_info_as_new_entry(
        &lisa_id,
        "contactInfo.privateMobilePhone",
        json!("+31 6 1234 5678"),
    );
    sandbox.edit_personal_info(&lisa_id, "basicInfo.employeeType", json!("payroll"));
    cycle("Cycle 3: payroll edits Lisa in Nmbrs (mobile number, applicant → payroll) — the change flows back to the HRIS").await?;
    let (last, phone, kind): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT last_name, private_mobile_phone, employee_type FROM hris_employees WHERE hris_id = 'hris-1001'").fetch_one(&hris).await?;
    println!(
        "   HRIS row hris-1001 now: last_name={last}, private_mobile_phone={}, employee_type={}",
        phone.unwrap_or_default(),
        kind.unwrap_or_default()
    );

    sqlx::query("UPDATE hris_employees SET end_of_service_date = '2027-06-30', end_of_contract_reason = '1', updated_at = datetime('now') WHERE hris_id = 'hris-1001'")
        .execute(&hris)
        .await?;
    cycle("Cycle 4: Lisa resigns — her end of service (and reason) is set on her employment in Nmbrs, an update, never a delete").await?;

    let report: CycleReport = cycle("Cycle 5: nothing changed — an incremental read (each listing from where the last read left off; Lisa, written last cycle, read whole once to confirm), zero writes").await?;
    println!(
        "\nThe no-op cycle made {} API calls and {} writes.",
        report.api_calls, report.write_calls
    );
    println!("Inspect what happened:");
    println!(
        "  sqlite3 {} \"SELECT id, run_id, action, hris_id, fields FROM audit_log WHERE action <> 'read'\"",
        state_db.display()
    );
    println!(
        "  NMBRS_SYNC__STATE__DATABASE_URL=sqlite:{} nmbrs-sync audit",
        state_db.display()
    );
    running.shutdown().await;
    Ok(())
}

/// Prints a run's decisions (reads and intents left out) and its summary.
async fn print_run(syncer: &Syncer, report: &CycleReport) -> anyhow::Result<()> {
    let rows = query(
        syncer.state.pool(),
        &AuditFilter {
            run_id: Some(report.run_id),
            ..Default::default()
        },
    )
    .await?;
    for r in rows
        .iter()
        .filter(|r| !matches!(r.action.as_str(), "read" | "create_intent"))
    {
        let fields = r.fields.as_deref().map(compact_fields).unwrap_or_default();
        let http = r
            .http_method
            .as_deref()
            .map(|m| {
                format!(
                    " [{m} {}]",
                    r.http_status.map(|s| s.to_string()).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        println!(
            "   {:<10} {:<16} {:<38}{http} {fields}{}",
            r.action,
            r.hris_id.as_deref().unwrap_or(""),
            r.employee_id.as_deref().unwrap_or(""),
            r.message
                .as_deref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default()
        );
    }
    println!("   {}", report.summary());
    Ok(())
}

/// `{"f": [a, b]}` → `f: a → b`.
fn compact_fields(json: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_owned();
    };
    map.iter()
        .map(|(k, v)| match v.as_array().map(Vec::as_slice) {
            Some([a, b]) => format!("{k}: {} → {}", show(a), show(b)),
            _ => format!("{k}: {v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "∅".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
