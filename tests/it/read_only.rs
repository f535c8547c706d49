//! A read-only HRIS (`hris.write_back = false`, issue 14): a view or a replica. The HRIS file is
//! opened with `mode=ro`, so any write the sync attempted would fail the cycle; ids live in the
//! state database's links; Nmbrs-side changes are reported (audit `would_pull`, `status`), never
//! written, and never mistaken for an HRIS edit to push back.

use crate::common::{TestApp, person, pi_field};
use serde_json::json;

/// The binary's variables for a read-only HRIS opened read-only.
fn read_only_env(app: &TestApp) -> Vec<(String, String)> {
    let mut env = app.env();
    for (k, v) in &mut env {
        if k == "NMBRS_SYNC__HRIS__DATABASE_URL" {
            *v = format!("sqlite:{}?mode=ro", app.hris_db.display());
        }
    }
    env.push(("NMBRS_SYNC__HRIS__WRITE_BACK".into(), "false".into()));
    env
}

async fn run(app: &TestApp, env: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = assert_cmd::Command::from_std(crate::common::setup::command(
        crate::common::setup::BIN,
        app.dir.path(),
        env,
    ));
    cmd.args(args).timeout(std::time::Duration::from_secs(120));
    let out = crate::common::output(cmd).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn read_only_hris_is_never_written_and_pulls_are_reported() {
    let app = TestApp::spawn().await;
    app.insert(&person("h1", "1", 501, "Lisa", "Hanison")).await;
    // Only in Nmbrs: would be imported into a writable HRIS.
    app.seed(&app.company2, 777, "Noor", "Bakker", "1985-05-05");
    let env = read_only_env(&app);

    let (code, out, err) = run(&app, &env, &["sync", "--once"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let employees = app.employees(&app.company1);
    assert_eq!(employees.len(), 1, "created in Nmbrs");
    let employee_id = employees[0]["employeeId"].as_str().expect("id").to_owned();
    assert_eq!(
        app.hris_value("h1", "nmbrs_employee_id").await,
        None,
        "no id written back"
    );
    let linked: Option<String> =
        sqlx::query_scalar("SELECT employee_id FROM employee_links WHERE hris_id = 'h1'")
            .fetch_optional(&app.state().await)
            .await
            .expect("link");
    assert_eq!(
        linked.as_deref(),
        Some(employee_id.as_str()),
        "the id lives in the link"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM hris_employees")
        .fetch_one(&app.hris)
        .await
        .expect("count");
    assert_eq!(rows, 1, "no row imported");
    assert_eq!(app.audit_rows("would_import").await.len(), 1);

    // Payroll changes the last name in Nmbrs: reported, not pulled, and not reverted either.
    assert!(
        app.sandbox
            .edit_personal_info(&employee_id, "basicInfo.lastName", json!("Petterson"))
    );
    for round in 0..2 {
        let (code, out, err) = run(&app, &env, &["sync", "--once"]).await;
        assert_eq!(code, 0, "round {round}: {out}\n{err}");
        assert_eq!(
            app.hris_value("h1", "last_name").await.as_deref(),
            Some("Hanison")
        );
        let e = &app.employees(&app.company1)[0];
        assert_eq!(
            pi_field(e, "basicInfo", "lastName"),
            "Petterson",
            "round {round}: Nmbrs kept"
        );
    }
    let would = app.audit_rows("would_pull").await;
    assert_eq!(would.len(), 2, "reported each cycle: {would:?}");
    assert!(
        would[0]
            .1
            .as_deref()
            .is_some_and(|f| f.contains("Petterson")),
        "{would:?}"
    );
    assert!(app.audit_rows("pull").await.is_empty());
    // A dry run says the same.
    let (code, _, _) = run(&app, &env, &["sync", "--once", "--dry-run"]).await;
    assert_eq!(code, 0);
    assert_eq!(app.audit_rows("would_pull").await.len(), 3);
    assert!(app.audit_rows("pull").await.is_empty());

    let (code, out, _) = run(&app, &env, &["status"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("Not written to the read-only HRIS"), "{out}");
    assert!(out.contains("would_pull h1"), "{out}");

    // HRIS edits still reach Nmbrs.
    app.set("h1", &[("first_name", Some("Elisabeth"))]).await;
    let (code, _, _) = run(&app, &env, &["sync", "--once"]).await;
    assert_eq!(code, 0);
    let e = &app.employees(&app.company1)[0];
    assert_eq!(pi_field(e, "basicInfo", "firstName"), "Elisabeth");

    let (_, out, _) = run(&app, &env, &["doctor"]).await;
    assert!(
        out.contains("read-only (hris.write_back = false)")
            && out.contains("cannot write the table"),
        "{out}"
    );
    // A writable HRIS whose user cannot write is a failed check that says what to do.
    let mut rw_expected = env.clone();
    rw_expected.retain(|(k, _)| k != "NMBRS_SYNC__HRIS__WRITE_BACK");
    let (_, out, _) = run(&app, &rw_expected, &["doctor"]).await;
    assert!(
        out.contains("hris.write_back = false` for a read-only HRIS"),
        "{out}"
    );
    let (code, _, err) = run(&app, &env, &["import", "x.csv"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("read-only"), "{err}");
}
