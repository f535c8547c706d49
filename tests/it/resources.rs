//! The resources beyond personal info (issue: hire date, job, department, manager, contract,
//! address, BSN), end to end against the sandbox: a payroll-ready create, changes on each side,
//! conflicts, unknown reference values, a termination, a re-hire, and the BSN kept out of every
//! log, output and database.

use crate::common::setup::person;
use crate::common::{TestApp, output};
use nmbrs_sync::sync::RunStatus;
use serde_json::{Value, json};

const BSN: &str = "123456782";

/// The newest entry of one resource of one employee, as the sandbox holds it.
fn newest(app: &TestApp, employee_id: &str, resource: &str) -> Value {
    let mut h = app.sandbox.history(employee_id, resource);
    h.sort_by(|a, b| {
        let key = |v: &Value| {
            v.get("createdAt")
                .or_else(|| v.get("creationDate"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        key(a).cmp(&key(b))
    });
    h.pop().unwrap_or(Value::Null)
}

/// Whether a date-time written by the sandbox names `day` (as midnight, or Dutch midnight in UTC).
fn names_day(v: &Value, day: &str) -> bool {
    v.as_str().is_some_and(|s| s.starts_with(day))
        || v.as_str().is_some_and(|s| {
            let t = time::Date::parse(
                day,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .ok()
            .and_then(|d| d.previous_day());
            t.is_some_and(|p| s.starts_with(&format!("{p}T2")))
        })
}

/// Lisa, hired with every resource filled in (HRIS formatting as people type it).
async fn lisa_hired(app: &TestApp) -> String {
    app.insert(&person("h-1", "1", 501, "Lisa", "Hanison"))
        .await;
    app.set(
        "h-1",
        &[
            ("in_service_date", Some("2026-11-01")),
            ("job_title", Some("payroll  specialist")),
            ("department", Some("Finance")),
            ("manager", Some("mila.deboer@example.nl")),
            ("contract_start_date", Some("2026-11-01")),
            ("hours_per_week", Some("32")),
            ("street", Some("Naritaweg")),
            ("house_number", Some("70")),
            ("postal_code", Some("1043 BZ")),
            ("city", Some("Amsterdam")),
            ("country_code_iso", Some("NL")),
            ("bsn", Some(BSN)),
        ],
    )
    .await;
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.created, 1, "{}", r.summary());
    app.hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked")
}

#[tokio::test]
async fn a_new_hire_is_created_payroll_ready_and_then_left_alone() {
    let app = TestApp::spawn().await;
    let id = lisa_hired(&app).await;
    assert!(names_day(
        &newest(&app, &id, "employments")["startDate"],
        "2026-11-01"
    ));
    assert_eq!(
        newest(&app, &id, "functions")["description"],
        "Payroll Specialist"
    );
    assert_eq!(newest(&app, &id, "departments")["description"], "Finance");
    assert_eq!(newest(&app, &id, "managers")["lastName"], "de Boer");
    let contract = newest(&app, &id, "contracts");
    assert_eq!(contract["hoursPerWeek"], json!(32.0));
    assert_eq!(contract["indefinite"], json!(true));
    assert!(names_day(&contract["startDate"], "2026-11-01"));
    let address = newest(&app, &id, "addresses");
    assert_eq!(address["type"], "homeAddress");
    assert_eq!(address["street"], "Naritaweg");
    assert_eq!(address["countryISOCode"], "NL");
    assert_eq!(newest(&app, &id, "privateInfos")["BSN"], BSN);

    // Both sides agree: the next cycles read and write nothing more, and the HRIS keeps its
    // own spelling of the job title, manager and postal code.
    for round in 0..2 {
        app.sandbox.reset_stats();
        let r = app.cycle().await;
        let s = app.sandbox.stats();
        assert_eq!(s.writes, 0, "round {round}: {} {s:?}", r.summary());
        assert_eq!(r.counts.unchanged, 1, "round {round}: {}", r.summary());
    }
    assert_eq!(
        app.hris_value("h-1", "job_title").await.as_deref(),
        Some("payroll  specialist")
    );
    assert_eq!(
        app.hris_value("h-1", "manager").await.as_deref(),
        Some("mila.deboer@example.nl")
    );
    assert_eq!(
        app.hris_value("h-1", "postal_code").await.as_deref(),
        Some("1043 BZ")
    );
}

#[tokio::test]
async fn each_side_s_changes_reach_the_other_resource_by_resource() {
    let app = TestApp::spawn().await;
    let id = lisa_hired(&app).await;
    let debtor = app.sandbox.default_debtor_id().expect("debtor");

    // HRIS side: a new job, more hours, a move.
    app.set(
        "h-1",
        &[
            ("job_title", Some("Sales Lead")),
            ("hours_per_week", Some("36.5")),
            ("street", Some("Kalverstraat")),
            ("house_number", Some("43")),
            ("house_number_addition", Some("C")),
        ],
    )
    .await;
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    let s = app.sandbox.stats();
    assert_eq!(
        s.calls_matching("PUT /employees/{employeeId}/function"),
        1,
        "{s:?}"
    );
    assert_eq!(
        s.calls_matching("PUT /employees/{employeeId}/contract"),
        1,
        "{s:?}"
    );
    assert_eq!(
        s.calls_matching("POST /employees/{employeeId}/address"),
        1,
        "{s:?}"
    );
    assert_eq!(
        s.calls_matching("PUT /employees/{employeeId}/personalInfo"),
        0,
        "{s:?}"
    );
    assert_eq!(newest(&app, &id, "functions")["description"], "Sales Lead");
    assert_eq!(newest(&app, &id, "contracts")["hoursPerWeek"], json!(36.5));
    let address = newest(&app, &id, "addresses");
    assert_eq!(address["street"], "Kalverstraat");
    assert_eq!(address["houseNumberAddition"], "C");
    assert_eq!(
        address["city"], "Amsterdam",
        "the unchanged parts are sent too"
    );
    // A newer address of another type: its members are not the home address's.
    app.sandbox
        .append_entry(
            &id,
            "addresses",
            json!({"type": "postAddress", "isDefault": false, "street": "Postbus", "houseNumber": "1",
                   "houseNumberAddition": null, "postalCode": "2500AA", "city": "Den Haag",
                   "stateProvince": "Zuid-Holland", "countryISOCode": "NL"}),
        )
        .expect("post address");
    app.set("h-1", &[("house_number", Some("45"))]).await;
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    let home: Vec<Value> = app
        .sandbox
        .history(&id, "addresses")
        .into_iter()
        .filter(|a| a["type"] == "homeAddress" && a["houseNumber"] == "45")
        .collect();
    assert_eq!(home.len(), 1, "one new home entry");
    assert_eq!(home[0]["street"], "Kalverstraat");
    assert_ne!(
        home[0]["stateProvince"], "Zuid-Holland",
        "nothing carried over from the post address"
    );

    // Nmbrs side: another department, fewer hours, an end of service.
    let sales = app
        .sandbox
        .debtor_object_id(&debtor, "departments", "Sales")
        .expect("Sales");
    app.sandbox
        .append_entry(&id, "departments", json!({"departmentId": sales}))
        .expect("department assigned");
    assert!(
        app.sandbox
            .edit_entry(&id, "contracts", 0, "hoursPerWeek", json!(24))
    );
    assert!(app.sandbox.edit_entry(
        &id,
        "employments",
        0,
        "endDate",
        json!("2027-01-31T00:00:00Z")
    ));
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.pulled, 1, "{}", r.summary());
    assert_eq!(app.sandbox.stats().writes, 0);
    assert_eq!(
        app.hris_value("h-1", "department").await.as_deref(),
        Some("Sales")
    );
    assert_eq!(
        app.hris_value("h-1", "hours_per_week").await.as_deref(),
        Some("24.0")
    );
    assert_eq!(
        app.hris_value("h-1", "end_of_service_date")
            .await
            .as_deref(),
        Some("2027-01-31")
    );
    // And then nothing.
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.counts.unchanged, 1, "{}", r.summary());
    assert_eq!(app.sandbox.stats().writes, 0);
}

#[tokio::test]
async fn a_job_changed_on_both_sides_is_settled_by_the_policy_and_audited() {
    let app = TestApp::spawn().await;
    let id = lisa_hired(&app).await;
    let debtor = app.sandbox.default_debtor_id().expect("debtor");
    let lead = app
        .sandbox
        .debtor_object_id(&debtor, "functions", "Sales Lead")
        .expect("function");
    app.sandbox
        .append_entry(&id, "functions", json!({"functionId": lead}))
        .expect("function assigned");
    app.set("h-1", &[("job_title", Some("Software Engineer"))])
        .await;
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "hris_wins: {}", r.summary());
    assert_eq!(
        newest(&app, &id, "functions")["description"],
        "Software Engineer"
    );
    let conflicts = app.audit_rows("conflict").await;
    assert!(
        conflicts
            .iter()
            .any(|r| r.1.as_deref().unwrap_or("").contains("job_title")),
        "{conflicts:?}"
    );
}

#[tokio::test]
async fn an_unknown_job_title_rejects_that_field_only_and_names_the_closest() {
    let app = TestApp::spawn().await;
    let id = lisa_hired(&app).await;
    app.set(
        "h-1",
        &[
            ("job_title", Some("Payrol Specialist")),
            ("hours_per_week", Some("20")),
        ],
    )
    .await;
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Partial, "{}", r.summary());
    assert_eq!(r.counts.rejected, 1, "{}", r.summary());
    let s = app.sandbox.stats();
    assert_eq!(
        s.calls_matching("PUT /employees/{employeeId}/function"),
        0,
        "{s:?}"
    );
    assert_eq!(
        newest(&app, &id, "contracts")["hoursPerWeek"],
        json!(20.0),
        "the other fields still sync"
    );
    let rejects = app.audit_rows("reject").await;
    assert!(
        rejects.iter().any(|r| r
            .2
            .as_deref()
            .is_some_and(|m| m.contains("Payrol Specialist")
                && m.contains("closest: Payroll Specialist")
                && m.contains("cannot create"))),
        "{rejects:?}"
    );
    // Fixed in the HRIS (by code this time): agreed, nothing to write.
    app.set("h-1", &[("job_title", Some("1"))]).await;
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(app.sandbox.stats().writes, 0);
}

#[tokio::test]
async fn a_termination_is_an_update_and_can_be_taken_back() {
    let app = TestApp::spawn().await;
    let id = lisa_hired(&app).await;
    app.set(
        "h-1",
        &[
            ("end_of_service_date", Some("2026-12-31")),
            ("end_of_contract_reason", Some("1")),
        ],
    )
    .await;
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    let employment = newest(&app, &id, "employments");
    assert!(
        names_day(&employment["endDate"], "2026-12-31"),
        "{employment}"
    );
    assert_eq!(employment["endContractReason"]["code"], json!(1));
    assert_eq!(
        app.sandbox.employee_count(),
        1,
        "never a delete, never a new employee"
    );

    app.set(
        "h-1",
        &[
            ("end_of_service_date", None),
            ("end_of_contract_reason", None),
        ],
    )
    .await;
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    assert_eq!(
        app.sandbox.stats().calls_matching(
            "DELETE /employees/{employeeId}/employments/{employmentId}/endOfServiceDate"
        ),
        1
    );
    assert_eq!(newest(&app, &id, "employments")["endDate"], Value::Null);
}

#[tokio::test]
async fn a_rehire_is_read_as_the_employment_in_force() {
    let app = TestApp::spawn().await;
    let id = app.seed(&app.company1, 77, "Daan", "de Groot", "1985-04-12");
    for (start, end) in [
        ("2015-03-01T00:00:00Z", json!("2019-12-31T00:00:00Z")),
        ("2026-02-01T00:00:00Z", Value::Null),
    ] {
        app.sandbox
            .append_entry(
                &id,
                "employments",
                json!({"startDate": start, "endDate": end}),
            )
            .expect("employment");
    }
    let mut daan = person("h-7", "1", 77, "Daan", "de Groot");
    daan.birth_date = "1985-04-12".into();
    app.insert(&daan).await;
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(
        app.hris_value("h-7", "in_service_date").await.as_deref(),
        Some("2026-02-01"),
        "the second employment is in force"
    );
    assert_eq!(app.hris_value("h-7", "end_of_service_date").await, None);
}

/// Every place a BSN could leak: stdout and stderr of every command at trace level, the state
/// database with its WAL, the audit output. Only the masked form may appear.
#[tokio::test]
async fn a_bsn_is_never_logged_printed_or_stored_in_clear() {
    let app = TestApp::spawn().await;
    let other_bsn = "111222333";
    let invalid_bsn = "123456789";
    app.insert(&person("h-1", "1", 501, "Lisa", "Hanison"))
        .await;
    app.set("h-1", &[("bsn", Some(BSN))]).await;
    app.insert(&person("h-2", "1", 502, "Mo", "Bakker")).await;
    app.set("h-2", &[("bsn", Some(invalid_bsn))]).await;
    let trace = [("NMBRS_SYNC__LOG__LEVEL", Some("trace"))];
    let mut seen = String::new();
    let (_, out, err) = app.run(&["sync", "--once"], &trace).await;
    seen.push_str(&out);
    seen.push_str(&err);
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    assert_eq!(newest(&app, &id, "privateInfos")["BSN"], BSN, "{seen}");
    // Nmbrs changes it; the pull carries it to the HRIS.
    app.sandbox
        .append_entry(&id, "privateInfos", json!({"BSN": other_bsn}))
        .expect("bsn");
    let (_, out, err) = app.run(&["sync", "--once"], &trace).await;
    seen.push_str(&out);
    seen.push_str(&err);
    assert_eq!(
        app.hris_value("h-1", "bsn").await.as_deref(),
        Some(other_bsn),
        "{seen}"
    );
    for args in [&["audit"][..], &["audit", "--verify"][..], &["status"][..]] {
        let o = output({
            let mut c = app.command();
            c.args(args).env("NMBRS_SYNC__LOG__LEVEL", "trace");
            c
        })
        .await;
        seen.push_str(&String::from_utf8_lossy(&o.stdout));
        seen.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    assert!(
        seen.contains("*****6782"),
        "the masked form is shown: {seen}"
    );
    for bsn in [BSN, other_bsn, invalid_bsn] {
        assert!(!seen.contains(bsn), "{bsn} printed:\n{seen}");
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", app.state_db.display());
            if let Ok(bytes) = std::fs::read(&path) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains(bsn), "{bsn} stored in {path}");
            }
        }
    }
}

/// Every field beyond personal info, changed alone in the HRIS, reaches Nmbrs (read back the way
/// the sync reads it); then changed alone in Nmbrs, it reaches the HRIS.
#[tokio::test]
async fn every_new_field_changed_on_either_side_reaches_the_other() {
    use nmbrs_sync::fields::Field;
    let app = TestApp::spawn().await;
    let id = lisa_hired(&app).await;
    let debtor = app.sandbox.default_debtor_id().expect("debtor");
    let hris_side: [(Field, &str); 13] = [
        (Field::EndOfServiceDate, "2027-03-31"),
        (Field::EndOfContractReason, "2"),
        (Field::ContractEndDate, "2027-10-31"),
        (Field::HoursPerWeek, "38"),
        (Field::JobTitle, "Software Engineer"),
        (Field::Department, "Engineering"),
        (Field::Manager, "Sem Jansen"),
        (Field::Street, "Damrak"),
        (Field::HouseNumber, "1"),
        (Field::HouseNumberAddition, "A"),
        (Field::PostalCode, "1012LG"),
        (Field::City, "Amstelveen"),
        (Field::Bsn, "111222333"),
    ];
    for (field, value) in hris_side {
        app.set("h-1", &[(field.name(), Some(value))]).await;
        let r = app.cycle().await;
        assert_eq!(r.counts.updated, 1, "{field}: {}", r.summary());
        let nmbrs = crate::common::nmbrs_values(&app, &id).expect("employee");
        assert_eq!(nmbrs.get(field), Some(value), "{field} reached Nmbrs");
    }
    // Nmbrs side: one edit per resource, as payroll would make it.
    let reopen = app.sandbox.edit_entry(
        &id,
        "employments",
        0,
        "endDate",
        json!("2027-04-30T00:00:00Z"),
    );
    assert!(reopen);
    assert!(
        app.sandbox
            .edit_entry(&id, "contracts", 0, "hoursPerWeek", json!(16))
    );
    let fid = app
        .sandbox
        .debtor_object_id(&debtor, "functions", "Payroll Specialist")
        .expect("function");
    app.sandbox
        .append_entry(&id, "functions", json!({"functionId": fid}))
        .expect("function");
    let mid = app
        .sandbox
        .debtor_object_id(&debtor, "managers", "Mila de Boer")
        .expect("manager");
    app.sandbox
        .append_entry(&id, "managers", json!({"managerId": mid}))
        .expect("manager");
    app.sandbox
        .append_entry(
            &id,
            "addresses",
            json!({"type": "homeAddress", "isDefault": true, "street": "Spui", "houseNumber": "5",
                   "houseNumberAddition": null, "postalCode": "1012WX", "city": "Amsterdam",
                   "stateProvince": null, "countryISOCode": "NL"}),
        )
        .expect("address");
    app.sandbox
        .append_entry(&id, "privateInfos", json!({"BSN": BSN}))
        .expect("bsn");
    let r = app.cycle().await;
    assert_eq!(r.counts.pulled, 1, "{}", r.summary());
    assert_eq!(app.sandbox.stats().rejected_writes, 0);
    for (column, value) in [
        ("end_of_service_date", "2027-04-30"),
        ("hours_per_week", "16.0"),
        ("job_title", "Payroll Specialist"),
        ("manager", "Mila de Boer"),
        ("street", "Spui"),
        ("house_number", "5"),
        ("postal_code", "1012WX"),
        ("city", "Amsterdam"),
        ("bsn", BSN),
    ] {
        assert_eq!(
            app.hris_value("h-1", column).await.as_deref(),
            Some(value),
            "{column} reached the HRIS"
        );
    }
    assert_eq!(app.hris_value("h-1", "house_number_addition").await, None);
    let r = app.cycle().await;
    assert_eq!(r.counts.unchanged, 1, "{}", r.summary());
}
