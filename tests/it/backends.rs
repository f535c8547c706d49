//! The integration tests that matter, on both HRIS backends (issue 14): SQLite and PostgreSQL (a
//! real server, `common/postgres.rs`; under `CI=true` a missing server fails them). Each scenario is
//! written once against `common::hris::Hris` and run as `<scenario>::sqlite` and
//! `<scenario>::postgres`. On PostgreSQL the table is `hr.employees` (schema-qualified) as `hris
//! init` makes it: DATE, INTEGER and NUMERIC columns the sync reads as text and writes back with casts.

use crate::common::hris::{Backend, Hris};
use crate::common::setup::synthetic_person;
use crate::common::{TestApp, nmbrs_values, person, pi_field};
use nmbrs_sync::fields::Field;
use serde_json::json;

/// `#[tokio::test]`s `sqlite` and `postgres` in a module named after the scenario.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(super::Backend::Postgres).await
            }
        }
    )*};
}

on_both_backends!(
    create_and_write_back,
    pull,
    guarded_write_loses_the_race,
    hostile_rows,
    init_import_and_sync,
    incremental_reads,
    link_many_and_write_back,
);

async fn sync_once(app: &TestApp) -> (i32, String, String) {
    app.run(&["sync", "--once"], &[]).await
}

/// The one employee of company 2.
fn only_employee(app: &TestApp) -> String {
    let employees = app.employees(&app.company2);
    assert_eq!(employees.len(), 1, "{employees:?}");
    employees[0]["employeeId"].as_str().expect("id").to_owned()
}

/// One row, `h1` of company 2, created in Nmbrs by a first cycle: the app, the HRIS and the
/// employee's id; `None` where the backend is not available.
async fn lisa_synced(backend: Backend) -> Option<(TestApp, Hris, String)> {
    let mut app = TestApp::spawn().await;
    let hris = Hris::on(backend, &mut app).await?;
    hris.insert_person(&person("h1", "2", 98072, "Lisa", "Hanison"))
        .await;
    assert_eq!(sync_once(&app).await.0, 0);
    let id = only_employee(&app);
    Some((app, hris, id))
}

/// A new row is created in Nmbrs with its date and numbers read right, its employeeId written back;
/// the next cycle finds nothing to do (a NUMERIC `32.00` is the `32` Nmbrs holds).
async fn create_and_write_back(backend: Backend) {
    let mut app = TestApp::spawn().await;
    let Some(hris) = Hris::on(backend, &mut app).await else {
        return;
    };
    hris.insert_person(&person("h1", "2", 98072, "Lisa", "Hanison"))
        .await;
    hris.set(
        "h1",
        &[
            ("contract_start_date", Some("2024-01-01")),
            ("hours_per_week", Some("32")),
        ],
    )
    .await;
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let id = only_employee(&app);
    assert_eq!(
        hris.value("h1", "nmbrs_employee_id").await.as_deref(),
        Some(id.as_str())
    );
    let n = nmbrs_values(&app, &id).expect("employee");
    assert_eq!(n.get(Field::BirthDate), Some("1990-02-01"));
    assert_eq!(n.get(Field::HoursPerWeek), Some("32"));
    assert_eq!(n.get(Field::ContractStartDate), Some("2024-01-01"));
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("(0 writes"), "a no-op cycle: {out}");
}

/// A change made in Nmbrs lands in the HRIS row (and `updated_at` is set).
async fn pull(backend: Backend) {
    let Some((app, hris, id)) = lisa_synced(backend).await else {
        return;
    };
    let stamped = hris.value("h1", "updated_at").await;
    assert!(
        app.sandbox
            .edit_personal_info(&id, "basicInfo.lastName", json!("Petterson"))
    );
    assert!(app.sandbox.edit_personal_info(
        &id,
        "contactInfo.privateEmail",
        json!("lisa@example.com")
    ));
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        hris.value("h1", "last_name").await.as_deref(),
        Some("Petterson")
    );
    assert_eq!(
        hris.value("h1", "private_email").await.as_deref(),
        Some("lisa@example.com")
    );
    assert_ne!(
        hris.value("h1", "updated_at").await,
        stamped,
        "updated_at set"
    );
    assert_eq!(app.audit_rows("pull").await.len(), 1);
}

/// The HRIS row changes while the cycle writes to Nmbrs (another writer, during the PUT): the pull
/// planned from the old row does not land; the concurrent edit survives and wins next cycle.
async fn guarded_write_loses_the_race(backend: Backend) {
    let Some((app, hris, id)) = lisa_synced(backend).await else {
        return;
    };
    // An HRIS edit to push and a Nmbrs edit to pull, in one record.
    hris.set("h1", &[("first_name", Some("Elisabeth"))]).await;
    assert!(
        app.sandbox
            .edit_personal_info(&id, "basicInfo.lastName", json!("Petterson"))
    );
    let other_writer = hris.clone();
    app.sandbox
        .before_call("PUT /employees/{employeeId}/personalInfo", 1, move |_| {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current()
                    .block_on(other_writer.set("h1", &[("last_name", Some("Jansen"))]))
            })
        });
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        hris.value("h1", "last_name").await.as_deref(),
        Some("Jansen"),
        "not overwritten"
    );
    let e = &app.employees(&app.company2)[0];
    assert_eq!(
        pi_field(e, "basicInfo", "firstName"),
        "Elisabeth",
        "the push landed"
    );
    let skips = app.audit_rows("skip").await;
    assert!(
        skips
            .iter()
            .any(|(_, _, m, _)| m.as_deref().is_some_and(|m| m.contains("HRIS row changed"))),
        "{skips:?}"
    );
    // Next cycle: changed on both sides since the base; hris_wins carries Jansen to Nmbrs.
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let e = &app.employees(&app.company2)[0];
    assert_eq!(pi_field(e, "basicInfo", "lastName"), "Jansen");
    assert_eq!(
        hris.value("h1", "last_name").await.as_deref(),
        Some("Jansen")
    );
}

/// Rows no validator should let through are rejected one by one, naming the column; valid rows
/// with SQL meta-characters, emoji and right-to-left text are created as they are.
async fn hostile_rows(backend: Backend) {
    let mut app = TestApp::spawn().await;
    let Some(hris) = Hris::on(backend, &mut app).await else {
        return;
    };
    let long = "x".repeat(10_000);
    let row = |id: &'static str, number: &'static str, first: &'static str, last: &str| {
        vec![
            ("hris_id", Some(id.to_owned())),
            ("company_number", Some("2".to_owned())),
            ("employee_number", Some(number.to_owned())),
            ("first_name", Some(first.to_owned())),
            ("last_name", Some(last.to_owned())),
            ("birth_date", Some("1990-02-01".to_owned())),
            ("employee_type", Some("payroll".to_owned())),
        ]
    };
    let mut rows = vec![
        (row("ok-1", "1", "Anna", "de Vries"), None),
        (
            row("ok-sql", "2", "Bobby", "Tables'); DROP TABLE employees;--"),
            None,
        ),
        (row("ok-rtl", "3", "محمد", "🚀 Öztürk"), None),
        (
            row("bad-bell", "4", "Be\u{7}ll", "Smit"),
            Some("first_name"),
        ),
        (
            row("bad-blank", "5", "Kees", "   \u{200b} "),
            Some("last_name"),
        ),
        (row("bad-long", "6", "Lang", &long), Some("last_name")),
        (
            row("bad-bidi", "7", "Eve\u{202e}", "Visser"),
            Some("first_name"),
        ),
    ];
    let mut email = row("bad-email", "8", "Mail", "Bakker");
    email.push(("private_email", Some("not-an-email".into())));
    rows.push((email, Some("private_email")));
    let mut future = row("bad-future", "9", "Toekomst", "Jong");
    future[5].1 = Some("2999-01-01".into());
    rows.push((future, Some("birth_date")));
    let mut nameless = row("bad-number", "10", "Geen", "Nummer");
    nameless[2].1 = None;
    rows.push((nameless, Some("employee_number")));
    let mut elsewhere = row("bad-company", "11", "Ver", "Weg");
    elsewhere[1].1 = Some("999".into());
    rows.push((elsewhere, Some("company_number")));
    for (r, _) in &rows {
        let r: Vec<(&str, Option<&str>)> = r.iter().map(|(c, v)| (*c, v.as_deref())).collect();
        hris.insert(&r).await;
    }
    let (code, out, err) = sync_once(&app).await;
    assert_ne!(code, 2, "{out}\n{err}");
    let mut created: Vec<String> = app
        .employees(&app.company2)
        .iter()
        .map(|e| {
            pi_field(e, "basicInfo", "lastName")
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    created.sort();
    assert_eq!(
        created,
        ["Tables'); DROP TABLE employees;--", "de Vries", "🚀 Öztürk"]
    );
    let rejects = app.audit_rows("reject").await;
    for (r, field) in &rows {
        let id = r[0].1.as_deref().unwrap_or_default();
        let found = rejects.iter().find(|(h, ..)| h.as_deref() == Some(id));
        match field {
            None => assert!(found.is_none(), "{id} rejected: {found:?}"),
            Some(f) => {
                let fields = found
                    .and_then(|(_, fields, ..)| fields.clone())
                    .unwrap_or_else(|| panic!("{id} not rejected: {rejects:?}"));
                assert!(fields.contains(&format!("\"{f}\"")), "{id}: {fields}");
            }
        }
    }
    assert_eq!(hris.count().await, rows.len() as i64, "the table is intact");
    assert!(!err.contains(&long), "a hostile value is not echoed whole");
}

/// `hris init` on an existing table that matches, a CSV import (all or nothing, then the valid
/// rows), and the next cycle creates them and writes their ids back.
async fn init_import_and_sync(backend: Backend) {
    let mut app = TestApp::spawn().await;
    let Some(hris) = Hris::on(backend, &mut app).await else {
        return;
    };
    let (code, out, err) = app.run(&["hris", "init"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("already exists") && out.contains("matches"),
        "{out}"
    );
    std::fs::write(
        app.dir.path().join("staff.csv"),
        "hris_id;company_number;employee_number;first_name;last_name;birth_date;hours_per_week;contract_start_date;employee_type\n\
         E-1;2;1001;Anna;de Vries;14-03-1985;36,5;01-01-2024;payroll\n\
         E-2;2;1002;Bram;Bakker;31-02-1990;;;payroll\n",
    )
    .expect("csv");
    let (code, out, _) = app.run(&["import", "staff.csv"], &[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 3: rejected: column `birth_date`"),
        "{out}"
    );
    assert_eq!(hris.count().await, 0, "nothing half-imported");
    let (code, out, err) = app
        .run(&["import", "staff.csv", "--skip-invalid"], &[])
        .await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("line 2: E-1: inserted"), "{out}");
    assert_eq!(
        hris.value("E-1", "birth_date").await.as_deref(),
        Some("1985-03-14")
    );
    let (code, out, _) = app
        .run(&["import", "staff.csv", "--skip-invalid"], &[])
        .await;
    assert_eq!(code, 1);
    assert!(out.contains("line 2: E-1: unchanged"), "{out}");
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let id = only_employee(&app);
    assert_eq!(
        hris.value("E-1", "nmbrs_employee_id").await.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        nmbrs_values(&app, &id)
            .expect("employee")
            .get(Field::HoursPerWeek),
        Some("36.5")
    );
}

/// Between full reconciles a cycle reads only the rows whose `updated_at` moved (issue 13): on
/// PostgreSQL a TIMESTAMPTZ compared in UTC, on SQLite RFC 3339 text.
async fn incremental_reads(backend: Backend) {
    let mut app = TestApp::spawn().await;
    let Some(hris) = Hris::on(backend, &mut app).await else {
        return;
    };
    // More links than a page holds: the company is read incrementally.
    for (i, id) in ["h1", "h2", "h3"].into_iter().enumerate() {
        hris.insert_person(&person(id, "2", 98070 + i as i64, "Lisa", "Hanison"))
            .await;
    }
    assert_eq!(incremental_sync_once(&app).await.0, 0);
    assert_eq!(incremental_sync_once(&app).await.0, 0);
    // Last edited months apart, in three time zones' notation.
    hris.set("h1", &[("updated_at", Some("2026-01-01T08:00:00Z"))])
        .await;
    hris.set("h2", &[("updated_at", Some("2026-02-01T09:00:00+01:00"))])
        .await;
    hris.set("h3", &[("updated_at", Some("2026-03-01T08:00:00Z"))])
        .await;
    assert_eq!(incremental_sync_once(&app).await.0, 0);
    let read = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT message FROM audit_log WHERE action = 'read' AND company_id = ? AND message LIKE '%HRIS rows%' ORDER BY id DESC LIMIT 1",
        )
        .bind(&app.company2)
        .fetch_one(&app.state().await)
        .await
        .expect("an HRIS read is audited")
    };
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    hris.set(
        "h1",
        &[
            ("first_name", Some("Elisabeth")),
            ("updated_at", Some(&now)),
        ],
    )
    .await;
    let (code, out, err) = incremental_sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("updated 1"), "{out}");
    // h1 moved; h3 is within the overlap before the last mark (March 1st).
    assert!(
        read().await.starts_with("2 of 3 HRIS rows"),
        "{}",
        read().await
    );
    let (code, out, err) = incremental_sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("(0 writes"), "{out}");
    assert!(
        read().await.starts_with("1 of 3 HRIS rows"),
        "{}",
        read().await
    );
}

/// `sync --once` with a daily full reconcile and two-record pages (an incremental cycle).
async fn incremental_sync_once(app: &TestApp) -> (i32, String, String) {
    app.run(
        &["sync", "--once"],
        &[
            ("NMBRS_SYNC__SYNC__FULL_EVERY", Some("24h")),
            ("NMBRS_SYNC__NMBRS__PAGE_SIZE", Some("2")),
        ],
    )
    .await
}

/// A first cycle that finds 600 existing Nmbrs employees for 600 HRIS rows (two batches of link
/// bookkeeping, each one multi-row write-back and one state transaction): every row gets its own
/// employee's id, every record its `link` and `write_back` audit rows naming that employee, the
/// chain verifies, no API write; the next cycle finds nothing to do.
async fn link_many_and_write_back(backend: Backend) {
    const N: usize = 600;
    let mut app = TestApp::spawn().await;
    let Some(hris) = Hris::on(backend, &mut app).await else {
        return;
    };
    let mut expected = std::collections::HashMap::new();
    for i in 0..N {
        let p = synthetic_person(i, 1);
        let id = app.sandbox.seed_employee(&app.company1, p.employee_json());
        hris.insert_person(&p).await;
        expected.insert(p.hris_id.clone(), id);
    }
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("linked {N}")), "{out}");
    assert!(
        out.contains("(0 writes"),
        "linking writes nothing to Nmbrs: {out}"
    );
    for (hris_id, employee_id) in &expected {
        assert_eq!(
            hris.value(hris_id, "nmbrs_employee_id").await.as_deref(),
            Some(employee_id.as_str()),
            "row {hris_id}"
        );
    }
    let state = app.state().await;
    for action in ["link", "write_back"] {
        let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT hris_id, employee_id FROM audit_log WHERE action = ? ORDER BY id",
        )
        .bind(action)
        .fetch_all(&state)
        .await
        .expect("audit rows");
        assert_eq!(rows.len(), N, "{action} rows");
        for (hris_id, employee_id) in rows {
            let hris_id = hris_id.expect("hris_id");
            assert_eq!(
                employee_id.as_ref(),
                expected.get(&hris_id),
                "{action} of {hris_id}"
            );
        }
    }
    let links: Vec<(String, Option<String>, String)> =
        sqlx::query_as("SELECT hris_id, employee_id, status FROM employee_links")
            .fetch_all(&state)
            .await
            .expect("links");
    assert_eq!(links.len(), N);
    for (hris_id, employee_id, status) in links {
        assert_eq!(status, "linked", "{hris_id}");
        assert_eq!(
            employee_id.as_ref(),
            expected.get(&hris_id),
            "link of {hris_id}"
        );
    }
    let (code, out, err) = app.run(&["audit", "--verify"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("audit log intact"), "{out}");
    let (code, out, err) = sync_once(&app).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("unchanged {N}")),
        "a no-op cycle: {out}"
    );
    assert!(out.contains("(0 writes"), "{out}");
}
