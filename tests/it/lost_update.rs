//! No lost update across crashes (issue: a write's new base is known before the write). Each test
//! lands a write, kills the process before its new base is stored (`NMBRS_SYNC_FAILPOINT`), lets a
//! person edit one side, and checks that the next cycle keeps that edit instead of reverting it.

use crate::common::{TestApp, person};
use nmbrs_sync::fields::Field;
use nmbrs_sync::nmbrs::model::read_values;
use nmbrs_sync::sync::RunStatus;
use serde_json::json;

fn nmbrs_email(app: &TestApp, employee_id: &str, f: Field) -> Option<String> {
    let e = app.sandbox.employee(employee_id).expect("employee");
    read_values(&e["personalInfo"], &[f])
        .expect("readable")
        .get(f)
        .map(str::to_owned)
}

/// Carla Jansen, linked, business e-mail v1 on both sides.
async fn carla() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let mut p = person("h-501", "1", 501, "Carla", "Jansen");
    p.birth_date = "1975-05-05".into();
    app.insert(&p).await;
    app.exec("UPDATE hris_employees SET business_email = 'v1@carla.example'")
        .await;
    assert_eq!(app.cycle().await.status, RunStatus::Succeeded);
    let id = app
        .hris_value("h-501", "nmbrs_employee_id")
        .await
        .expect("linked");
    (app, id)
}

async fn crash_at(app: &TestApp, failpoint: &str) {
    let (code, stdout, stderr) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC_FAILPOINT", Some(failpoint))],
        )
        .await;
    assert_ne!(code, 0, "the failpoint aborts: {stdout}{stderr}");
    assert!(stderr.contains("aborting"), "{stderr}");
}

#[tokio::test]
async fn a_put_that_landed_before_a_crash_never_reverts_payroll_s_later_edit() {
    for failpoint in ["after_put:1", "before_commit:1"] {
        let (app, id) = carla().await;
        app.exec("UPDATE hris_employees SET business_email = 'v2@carla.example'")
            .await;
        crash_at(&app, failpoint).await;
        assert_eq!(
            nmbrs_email(&app, &id, Field::BusinessEmail).as_deref(),
            Some("v2@carla.example"),
            "{failpoint}: the PUT landed"
        );
        // Payroll edits the e-mail in Nmbrs.
        assert!(app.sandbox.edit_personal_info(
            &id,
            "contactInfo.businessEmail",
            json!("v3@carla.example")
        ));
        app.sandbox.reset_stats();
        let r = app.cycle().await;
        assert_eq!(
            r.status,
            RunStatus::Succeeded,
            "{failpoint}: {}",
            r.summary()
        );
        assert_eq!(
            app.sandbox.stats().calls_matching("PUT "),
            0,
            "{failpoint}: v2 is never PUT back over v3"
        );
        assert_eq!(
            nmbrs_email(&app, &id, Field::BusinessEmail).as_deref(),
            Some("v3@carla.example")
        );
        assert_eq!(
            app.hris_value("h-501", "business_email").await.as_deref(),
            Some("v3@carla.example"),
            "{failpoint}: payroll's edit reaches the HRIS"
        );
        assert_eq!(app.cycle().await.write_calls, 0, "{failpoint}: settled");
    }
}

#[tokio::test]
async fn a_pull_that_landed_before_a_crash_never_reverts_the_hris_s_later_edit() {
    let (mut app, id) = carla().await;
    // With `nmbrs_wins`, mistaking the HRIS edit for a conflict would revert it.
    app.settings.sync.conflict_policy = nmbrs_sync::plan::ConflictPolicy::NmbrsWins;
    assert!(app.sandbox.edit_personal_info(
        &id,
        "contactInfo.businessEmail",
        json!("v2@carla.example")
    ));
    crash_at(&app, "after_pull:1").await;
    assert_eq!(
        app.hris_value("h-501", "business_email").await.as_deref(),
        Some("v2@carla.example"),
        "the pull landed"
    );
    // HR edits the row.
    app.exec("UPDATE hris_employees SET business_email = 'v3@carla.example'")
        .await;
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(
        app.hris_value("h-501", "business_email").await.as_deref(),
        Some("v3@carla.example"),
        "the HRIS edit is kept"
    );
    assert_eq!(
        nmbrs_email(&app, &id, Field::BusinessEmail).as_deref(),
        Some("v3@carla.example"),
        "and sent to Nmbrs"
    );
}

#[tokio::test]
async fn a_write_that_never_landed_is_sent_again_not_reverted() {
    let (app, id) = carla().await;
    app.exec("UPDATE hris_employees SET business_email = 'v2@carla.example'")
        .await;
    // Dies after recording the intent, before the GET and the PUT.
    crash_at(&app, "after_write_intent:1").await;
    assert_eq!(
        nmbrs_email(&app, &id, Field::BusinessEmail).as_deref(),
        Some("v1@carla.example")
    );
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    assert_eq!(
        nmbrs_email(&app, &id, Field::BusinessEmail).as_deref(),
        Some("v2@carla.example")
    );
    assert_eq!(
        app.hris_value("h-501", "business_email").await.as_deref(),
        Some("v2@carla.example"),
        "the HRIS edit is not reverted"
    );
}

#[tokio::test]
async fn an_import_cut_short_by_a_crash_never_pushes_its_stale_copy() {
    let app = TestApp::spawn().await;
    let id = app.sandbox.seed_employee(
        &app.company1,
        json!({
            "basicInfo": {"employeeNumber": 501, "firstName": "Carla", "lastName": "Jansen", "employeeType": "payroll"},
            "birthInfo": {"birthDate": "1975-05-05"},
            "contactInfo": {"privateEmail": "carla@old.example"},
        }),
    );
    crash_at(&app, "after_import_insert:1").await;
    assert!(app.sandbox.edit_personal_info(
        &id,
        "contactInfo.privateEmail",
        json!("carla@new.example")
    ));
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(
        app.sandbox.stats().calls_matching("PUT "),
        0,
        "{}",
        r.summary()
    );
    assert_eq!(
        nmbrs_email(&app, &id, Field::PrivateEmail).as_deref(),
        Some("carla@new.example")
    );
    let hris_id = format!("nmbrs-{id}");
    assert_eq!(
        app.hris_value(&hris_id, "private_email").await.as_deref(),
        Some("carla@new.example"),
        "payroll's edit reaches the imported row"
    );
    // And an import cut short before its row landed is imported again, once.
    let app = TestApp::spawn().await;
    app.sandbox.seed_employee(
        &app.company1,
        json!({"basicInfo": {"employeeNumber": 7, "lastName": "Smit", "employeeType": "payroll"},
               "birthInfo": {"birthDate": "1980-01-01"}}),
    );
    crash_at(&app, "after_import_intent:1").await;
    let r = app.cycle().await;
    assert_eq!(r.counts.imported, 1, "{}", r.summary());
    assert_eq!(app.cycle().await.counts.imported, 0);
}

#[tokio::test]
async fn a_put_whose_answer_was_lost_never_reverts_payroll_s_later_edit() {
    use nmbrs_sandbox::Fault;
    use std::time::Duration;
    let (app, id) = carla().await;
    app.exec("UPDATE hris_employees SET business_email = 'v2@carla.example'")
        .await;
    // The PUT is applied, its answer held back past the timeout.
    app.sandbox
        .before_call("PUT /employees/{employeeId}/personalInfo", 1, |s| {
            s.inject(Fault::Stall(Duration::from_millis(2_500)), 1)
        });
    let env = [
        ("NMBRS_SYNC__SYNC__IMPORT_FROM_NMBRS", Some("false")),
        ("NMBRS_SYNC__NMBRS__TIMEOUT_SECS", Some("1")),
        ("NMBRS_SYNC__RETRY__MAX_ATTEMPTS", Some("1")),
    ];
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &env).await;
    assert_eq!(code, 1, "the record fails: {stdout}{stderr}");
    assert_eq!(
        nmbrs_email(&app, &id, Field::BusinessEmail).as_deref(),
        Some("v2@carla.example"),
        "the server applied the PUT"
    );
    assert!(app.sandbox.edit_personal_info(
        &id,
        "contactInfo.businessEmail",
        json!("v3@carla.example")
    ));
    app.sandbox.reset_stats();
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &env[..1]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(app.sandbox.stats().calls_matching("PUT "), 0, "{stdout}");
    assert_eq!(
        app.hris_value("h-501", "business_email").await.as_deref(),
        Some("v3@carla.example"),
        "payroll's edit is kept and reaches the HRIS"
    );
}
