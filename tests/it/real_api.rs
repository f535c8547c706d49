//! The sync against the vendor's contract (issue: speak the real Nmbrs API): history reads and the entry
//! in force, nested read shapes, calendar dates, 201 creates, create-only `employeeType`, the error shape
//! with 42908/42909, and tokens that span several debtors. Every test also checks (in `TestApp`'s drop)
//! that the sandbox saw no request and sent no answer outside `docs/nmbrs-openapi.yaml`.

use crate::common::{TestApp, person};
use nmbrs_sandbox::{DateStyle, Fault, SandboxOptions};
use nmbrs_sync::fields::Field;
use nmbrs_sync::nmbrs::model::read_values;
use nmbrs_sync::sync::RunStatus;
use serde_json::{Value, json};

/// The mapped values Nmbrs holds for an employee, through the client's own read mapping.
fn nmbrs_value(app: &TestApp, employee_id: &str, f: Field) -> Option<String> {
    let e = app.sandbox.employee(employee_id).expect("employee exists");
    read_values(&e["personalInfo"], &[f])
        .expect("readable")
        .get(f)
        .map(str::to_owned)
}

async fn employee_id(app: &TestApp, hris_id: &str) -> String {
    app.hris_value(hris_id, "nmbrs_employee_id")
        .await
        .expect("employeeId written back")
}

#[tokio::test]
async fn a_create_sends_the_create_shape_with_the_hire_date_and_gets_201() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.exec("UPDATE hris_employees SET in_service_date = '2026-12-01', partner_name = 'Rick Petterson', marital_status = 'married', birth_country_code_iso = 'NL' WHERE hris_id = 'h-1'")
        .await;
    let report = app.cycle().await;
    assert_eq!(report.status, RunStatus::Succeeded, "{}", report.summary());
    assert_eq!(report.counts.created, 1);
    let stats = app.sandbox.stats();
    assert_eq!(stats.by_status.get(&201), Some(&1), "{stats:?}");
    assert_eq!(
        report.write_calls, 1,
        "partner fields travel in the create body: no follow-up PUT"
    );
    let id = employee_id(&app, "h-1").await;
    let e = app.sandbox.employee(&id).expect("employee");
    assert_eq!(
        e["personalInfo"]["birthInfo"]["birthCountry"]["codeISO"], "NL",
        "read shape nests the country"
    );
    assert_eq!(
        nmbrs_value(&app, &id, Field::MaritalStatus).as_deref(),
        Some("married")
    );
    assert_eq!(
        nmbrs_value(&app, &id, Field::BirthDate).as_deref(),
        Some("1990-02-01")
    );
    let creates = app.audit_rows("create").await;
    assert!(
        creates[0]
            .1
            .as_deref()
            .is_some_and(|f| f.contains("in_service_date") && f.contains("2026-12-01")),
        "{creates:?}"
    );
    // Nothing left to do.
    let again = app.cycle().await;
    assert_eq!((again.write_calls, again.counts.unchanged), (0, 1));
}

#[tokio::test]
async fn birth_dates_never_move_a_day_in_either_date_style() {
    for style in [DateStyle::DutchMidnightUtc, DateStyle::DutchOffset] {
        let app = TestApp::spawn_with(SandboxOptions {
            date_style: style,
            ..SandboxOptions::default()
        })
        .await;
        let dates = [
            "1980-02-27",
            "1990-07-01",
            "2024-03-31",
            "2024-10-27",
            "1955-01-01",
        ];
        for (i, d) in dates.iter().enumerate() {
            let mut p = person(&format!("h-{i}"), "2", 100 + i as i64, "Ann", "Smit");
            p.birth_date = (*d).into();
            app.insert(&p).await;
        }
        assert_eq!(app.cycle().await.status, RunStatus::Succeeded);
        // A PUT carries the birth date back (GET → modify → PUT): it must come back unchanged.
        app.exec("UPDATE hris_employees SET first_name = 'Anna'")
            .await;
        let r = app.cycle().await;
        assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
        assert_eq!(r.counts.updated, dates.len() as u64, "{style:?}");
        for (i, d) in dates.iter().enumerate() {
            let id = employee_id(&app, &format!("h-{i}")).await;
            assert_eq!(
                nmbrs_value(&app, &id, Field::BirthDate).as_deref(),
                Some(*d),
                "{style:?}"
            );
            assert_eq!(
                app.hris_value(&format!("h-{i}"), "birth_date")
                    .await
                    .as_deref(),
                Some(*d)
            );
        }
        let quiet = app.cycle().await;
        assert_eq!(quiet.write_calls, 0, "{style:?}: {}", quiet.summary());
    }
}

#[tokio::test]
async fn an_entry_for_a_future_period_is_not_in_force_and_the_audit_says_so() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.cycle().await;
    let id = employee_id(&app, "h-1").await;
    // Payroll prepares next year's name change ahead of time.
    app.sandbox
        .add_personal_info_entry(
            &id,
            json!({"basicInfo": {"employeeNumber": 98072, "firstName": "Lisa", "lastName": "Petterson", "employeeType": "payroll"},
                   "birthInfo": {"birthDate": "1990-02-01"}, "period": {"year": 2099, "period": 1}}),
        )
        .expect("entry added");
    app.exec("UPDATE hris_employees SET first_name = 'Elisabeth' WHERE hris_id = 'h-1'")
        .await;
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(
        app.hris_value("h-1", "last_name").await.as_deref(),
        Some("Hanison"),
        "the future entry is not in force: nothing pulled from it"
    );
    assert_eq!(
        nmbrs_value(&app, &id, Field::FirstName).as_deref(),
        Some("Elisabeth")
    );
    let updates = app.audit_rows("update").await;
    assert!(
        updates
            .iter()
            .any(|u| u.2.as_deref().is_some_and(|m| m.contains("2099-01"))),
        "{updates:?}"
    );
}

#[tokio::test]
async fn a_key_missing_from_the_answer_fails_the_record_and_blanks_nothing() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.exec(
        "UPDATE hris_employees SET birth_country_code_iso = 'NL', nationality_code_iso = 'NL'",
    )
    .await;
    app.cycle().await;
    let id = employee_id(&app, "h-1").await;
    assert!(app.sandbox.remove_key(&id, "birthInfo.birthCountry"));
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Partial, "{}", r.summary());
    assert_eq!(r.write_calls, 0);
    assert_eq!(
        app.hris_value("h-1", "birth_country_code_iso")
            .await
            .as_deref(),
        Some("NL"),
        "unknown is not empty: nothing pulled"
    );
    let errors = app.audit_rows("error").await;
    assert!(
        errors.iter().any(|e| e
            .2
            .as_deref()
            .is_some_and(|m| m.contains("birthInfo.birthCountry.codeISO"))),
        "the message names the path: {errors:?}"
    );
}

#[tokio::test]
async fn an_employee_type_change_in_the_hris_is_reported_once_and_never_sent() {
    let app = TestApp::spawn().await;
    let mut p = person("h-1", "2", 98072, "Lisa", "Hanison");
    p.employee_type = "applicant".into();
    app.insert(&p).await;
    app.cycle().await;
    let id = employee_id(&app, "h-1").await;
    app.exec("UPDATE hris_employees SET employee_type = 'payroll' WHERE hris_id = 'h-1'")
        .await;
    for _ in 0..3 {
        let r = app.cycle().await;
        assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
        assert_eq!(r.write_calls, 0, "{}", r.summary());
    }
    assert_eq!(
        nmbrs_value(&app, &id, Field::EmployeeType).as_deref(),
        Some("applicant")
    );
    assert_eq!(
        app.hris_value("h-1", "employee_type").await.as_deref(),
        Some("payroll"),
        "the HRIS keeps its value"
    );
    let skips: Vec<_> = app
        .audit_rows("skip")
        .await
        .into_iter()
        .filter(|s| s.1.as_deref().is_some_and(|f| f.contains("employee_type")))
        .collect();
    assert_eq!(skips.len(), 1, "reported once: {skips:?}");
    // A change made in Nmbrs still flows back.
    assert!(
        app.sandbox
            .edit_personal_info(&id, "basicInfo.employeeType", json!("formerPayroll"))
    );
    app.cycle().await;
    assert_eq!(
        app.hris_value("h-1", "employee_type").await.as_deref(),
        Some("formerPayroll")
    );
}

#[tokio::test]
async fn quota_exceeded_stops_the_cycle_at_once_with_exit_2() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.insert(&person(&format!("h-{i}"), "2", 100 + i, "A", "B"))
            .await;
    }
    app.sandbox.inject(Fault::QuotaExceeded, 1);
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("quota"),
        "says the quota is used up: {stdout}{stderr}"
    );
    let stats = app.sandbox.stats();
    assert_eq!(
        stats.by_status.get(&429),
        Some(&1),
        "never retried: {stats:?}"
    );
    assert_eq!(stats.writes, 0);
}

#[tokio::test]
async fn too_many_calls_waits_for_retry_after_given_as_an_http_date() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.sandbox.inject(
        Fault::TooManyRequestsAt {
            retry_after_secs: 1,
        },
        2,
    );
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.created, 1);
    assert_eq!(app.sandbox.stats().throttled, 2);
    assert!(r.retries >= 2);
}

#[tokio::test]
async fn a_token_spanning_several_debtors_reads_companies_per_debtor() {
    let app = TestApp::spawn().await;
    let debtor = app.sandbox.add_debtor("2210", "Other administration");
    let other = app
        .sandbox
        .add_company_for_debtor(&debtor, "77", "Company 77");
    app.sandbox.set_multi_debtor_forbidden(true);
    app.insert(&person("h-1", "77", 7701, "Sem", "de Boer"))
        .await;
    app.insert(&person("h-2", "2", 98072, "Lisa", "Hanison"))
        .await;
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.created, 2);
    assert_eq!(app.employees(&other).len(), 1);

    // Restricted to the other debtor: company 2 is out of sight, its row is rejected by name.
    let mut app = app;
    app.settings.nmbrs.debtor_id = Some(debtor.clone());
    app.exec("UPDATE hris_employees SET first_name = 'Semmy' WHERE hris_id = 'h-1'")
        .await;
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    assert_eq!(r.counts.rejected, 1, "{}", r.summary());
    let stats = app.sandbox.stats();
    assert!(
        stats.calls_matching("GET /debtors/{debtorId}/companies") >= 2,
        "{stats:?}"
    );
}

#[tokio::test]
async fn the_personal_info_put_never_carries_employee_type_or_read_only_members() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.cycle().await;
    app.exec("UPDATE hris_employees SET last_name = 'Petterson'")
        .await;
    let r = app.cycle().await;
    // The sandbox validates every request against the description (additionalProperties: false on
    // basicInfo, readOnly members): a PUT with employeeType or personalInfoId would be a 400.
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.updated, 1);
    assert_eq!(app.sandbox.stats().rejected_writes, 0);
    let id = employee_id(&app, "h-1").await;
    let history: Vec<Value> = app.sandbox.personal_info_history(&id);
    assert!(!history.is_empty());
}

#[tokio::test]
async fn a_listing_that_changes_while_it_is_read_is_read_again() {
    let mut app = TestApp::spawn().await;
    app.settings.nmbrs.page_size = 2;
    for i in 0..5 {
        let id = app.seed(
            &app.company2,
            300 + i,
            "Ann",
            &format!("Smit{i}"),
            "1980-01-01",
        );
        let mut p = person(&format!("h-{i}"), "2", 300 + i, "Ann", &format!("Smit{i}"));
        p.birth_date = "1980-01-01".into();
        app.insert(&p).await;
        let _ = id;
    }
    // Company 1's listing is the 1st personal-info read, company 2's pages the 2nd to 4th: an
    // employee added in Nmbrs between company 2's first and second page moves `totalRecords`.
    let company2 = app.company2.clone();
    app.sandbox.before_call(
        "GET /companies/{companyId}/employees/personalinfo",
        3,
        move |sb| {
            sb.seed_employee(
                &company2,
                json!({"basicInfo": {"employeeNumber": 399, "lastName": "Late", "employeeType": "payroll"},
                       "birthInfo": {"birthDate": "1990-01-01"}}),
            );
        },
    );
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.linked, 5, "{}", r.summary());
    assert_eq!(
        r.counts.created, 0,
        "nothing created from the changing listing"
    );
    assert_eq!(app.sandbox.employee_count(), 6, "no second employee");
    let reads = app
        .sandbox
        .stats()
        .calls_matching("GET /companies/{companyId}/employees/personalinfo");
    // 1 (company 1) + 2 pages before the change is seen + 3 pages of the re-read.
    assert!(
        reads >= 6,
        "the changed listing was read again: {reads} reads"
    );
}
