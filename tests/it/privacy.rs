//! Payroll-grade privacy (issue 15; README "Personal data"): retention that keeps the audit chain
//! verifiable, subject access, erasure with a tombstone that later cycles respect, private files
//! and a sealed refresh token.

use crate::common::{TestApp, person};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;

/// Every value of every table of the state database, as text (blobs as hex), and the bytes of the
/// database, WAL and SHM files.
async fn everything_stored(app: &TestApp) -> String {
    let pool = app.state().await;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&pool)
            .await
            .expect("tables");
    let mut out = String::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(&table)
            .fetch_all(&pool)
            .await
            .expect("columns");
        for column in columns {
            let sql = format!("SELECT quote(\"{column}\") FROM \"{table}\"");
            let values: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .expect("values");
            out.push_str(&values.join("\n"));
            out.push('\n');
        }
    }
    pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", app.state_db.display())) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn link_status(
    app: &TestApp,
    hris_id: &str,
) -> Option<(String, Option<String>, Option<String>)> {
    sqlx::query_as("SELECT status, employee_id, snapshot FROM employee_links WHERE hris_id = ?")
        .bind(hris_id)
        .fetch_optional(&app.state().await)
        .await
        .expect("link")
}

/// Lisa (h-1) and Jan (h-2), both created in Nmbrs by one cycle; returns Lisa's employeeId.
async fn two_people(app: &TestApp) -> String {
    let mut lisa = person("h-1", "2", 98072, "Lisa", "Hanison");
    lisa.private_email = Some("lisa.private@example.com".into());
    lisa.birth_date = "1987-06-05".into();
    app.insert(&lisa).await;
    let mut jan = person("h-2", "2", 501, "Jan", "Jansen");
    jan.private_email = Some("jan.private@example.com".into());
    app.insert(&jan).await;
    app.set("h-1", &[("private_mobile_phone", Some("0698765432"))])
        .await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    app.hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("Lisa linked")
}

#[tokio::test]
async fn prune_erases_old_values_and_verify_still_proves_the_chain() {
    let app = TestApp::spawn().await;
    two_people(&app).await;
    app.set("h-1", &[("last_name", Some("Petterson"))]).await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");

    // Nothing is 400 days old yet: `audit prune` erases nothing and records nothing.
    let (code, out, _) = app.run(&["audit", "prune"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("erased the personal values of 0 audit rows"),
        "{out}"
    );
    assert!(app.audit_rows("prune").await.is_empty());

    // Retention as a cycle runs it, two years on: every row written so far is old.
    let state = nmbrs_sync::state::StateDb::open(&app.settings.state.database_url)
        .await
        .expect("state");
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(800);
    let erased = state.prune_audit(400, later, None).await.expect("prune");
    assert!(erased > 5, "creates, updates, reads: {erased}");
    drop(state);

    let (code, out, _) = app.run(&["audit", "--verify"], &[]).await;
    assert_eq!(
        code, 0,
        "the chain verifies after the values are gone: {out}"
    );
    assert!(
        out.contains("intact")
            && out.contains(&format!("{erased} rows with personal values erased")),
        "{out}"
    );
    let prune = app.audit_rows("prune").await;
    assert_eq!(prune.len(), 1, "the prune is recorded once");
    assert!(
        prune[0]
            .1
            .as_deref()
            .is_some_and(|f| f.contains(&format!("\"rows\":{erased}")))
    );
    // The audit log keeps no values but those of the prune row; a value that is no longer
    // current (the old last name) is gone from every table and file.
    let kept: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE (fields IS NOT NULL OR message IS NOT NULL) AND action <> 'prune'",
    )
    .fetch_one(&app.state().await)
    .await
    .expect("count");
    assert_eq!(kept, 0);
    let stored = everything_stored(&app).await;
    assert!(
        !stored.contains("Hanison"),
        "the old last name is still stored"
    );
    let (_, out, _) = app.run(&["audit", "--hris-id", "h-1"], &[]).await;
    assert!(
        out.contains("create") && out.contains("[values erased by row"),
        "{out}"
    );
    // The links keep what the sync needs to go on (the snapshot is the agreed state, not history).
    let (status, _, snapshot) = link_status(&app, "h-1").await.expect("link");
    assert_eq!(status, "linked");
    assert!(snapshot.is_some_and(|s| s.contains("Petterson")));
}

#[tokio::test]
async fn forget_erases_keeps_the_chain_and_no_later_cycle_brings_the_person_back() {
    let app = TestApp::spawn().await;
    let lisa = two_people(&app).await;
    let employees_before = app.employees(&app.company2).len();
    let jan_rows_before = app.audit_rows("create").await.len();

    let (code, out, err) = app.run(&["forget", "h-1"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("h-1 forgotten") && out.contains("nmbrs-sync release h-1"),
        "{out}"
    );
    let (code, out, _) = app.run(&["audit", "--verify"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
    let (status, employee, snapshot) = link_status(&app, "h-1").await.expect("tombstone");
    assert_eq!(
        (status.as_str(), employee.as_deref(), snapshot),
        ("forgotten", Some(lisa.as_str()), None)
    );
    let stored = everything_stored(&app).await;
    for value in [
        "Hanison",
        "lisa.private@example.com",
        "1987-06-05",
        "98765432",
    ] {
        assert!(!stored.contains(value), "{value} still stored after forget");
    }
    assert!(stored.contains("Jansen"), "Jan is not forgotten");
    assert_eq!(
        app.audit_rows("create").await.len(),
        jan_rows_before,
        "rows stay, values go"
    );
    let (_, out, _) = app.run(&["status"], &[]).await;
    assert!(
        out.contains("Forgotten, not synced") && out.contains("  h-1 (employee"),
        "{out}"
    );
    let forget = app.audit_rows("forget").await;
    assert_eq!(forget.len(), 1);
    assert_eq!(forget[0].0.as_deref(), Some("h-1"));

    // Both sides change the person; a cycle neither updates, pulls nor records their values.
    app.set("h-1", &[("first_name", Some("Elisabeth"))]).await;
    assert!(app.sandbox.edit_personal_info(
        &lisa,
        "contactInfo.businessEmail",
        json!("lisa.work@example.com")
    ));
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("updated 0") && out.contains("pulled 0"),
        "{out}"
    );
    assert_eq!(
        app.hris_value("h-1", "business_email").await,
        None,
        "no pull"
    );
    assert_eq!(
        app.employees(&app.company2).len(),
        employees_before,
        "no create"
    );
    let stored = everything_stored(&app).await;
    assert!(!stored.contains("Elisabeth") && !stored.contains("lisa.work@example.com"));

    // The customer deletes the row: the employee is not imported back.
    app.exec("DELETE FROM hris_employees WHERE hris_id = 'h-1'")
        .await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("imported 0"), "{out}");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hris_employees")
        .fetch_one(&app.hris)
        .await
        .expect("count");
    assert_eq!(rows, 1, "only Jan's row: Lisa's employee is not imported");

    // The same person typed in again under a new id: not linked, not created, the row fails
    // naming the tombstone.
    let mut again = person("h-9", "2", 98072, "Lisa", "Hanison");
    again.birth_date = "1987-06-05".into();
    app.insert(&again).await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert_eq!(
        app.employees(&app.company2).len(),
        employees_before,
        "no second employee"
    );
    let errors = app.audit_rows("error").await;
    assert!(
        errors.iter().any(|(h, _, m, _)| h.as_deref() == Some("h-9")
            && m.as_deref()
                .is_some_and(|m| m.contains("nmbrs-sync release h-1"))),
        "{errors:?}"
    );
    let (code, out, _) = app.run(&["audit", "--verify"], &[]).await;
    assert_eq!(code, 0, "{out}");

    // `release` lifts the tombstone: the returning person is matched to their employee.
    let (code, out, _) = app.run(&["release", "h-1"], &[]).await;
    assert_eq!(code, 0, "{out}");
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        app.hris_value("h-9", "nmbrs_employee_id").await.as_deref(),
        Some(lisa.as_str())
    );
    assert_eq!(app.employees(&app.company2).len(), employees_before);
}

#[tokio::test]
async fn a_subject_export_holds_that_person_and_nobody_else() {
    let app = TestApp::spawn().await;
    let lisa = two_people(&app).await;
    let jan = app
        .hris_value("h-2", "nmbrs_employee_id")
        .await
        .expect("Jan");
    app.set("h-1", &[("last_name", Some("Petterson"))]).await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");

    for subject in ["h-1", lisa.as_str()] {
        let file = app.dir.path().join(format!("export-{subject}.json"));
        let (code, out, err) = app
            .run(
                &[
                    "audit",
                    "--subject",
                    subject,
                    "--export",
                    file.to_str().expect("path"),
                ],
                &[],
            )
            .await;
        assert_eq!(code, 0, "{out}\n{err}");
        assert_eq!(mode(&file), 0o600, "the export holds personal data");
        let text = std::fs::read_to_string(&file).expect("export");
        let export: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(export["link"]["hris_id"], "h-1", "{subject}");
        assert_eq!(export["link"]["employee_id"], lisa.as_str());
        assert_eq!(export["link"]["snapshot"]["last_name"], "Petterson");
        let rows = export["audit_rows"].as_array().expect("rows");
        assert!(rows.iter().any(|r| r["action"] == "create_intent"));
        assert!(rows.iter().any(|r| {
            r["action"] == "update"
                && r["fields"]
                    .as_str()
                    .is_some_and(|f| f.contains("Petterson"))
        }));
        assert!(
            rows.iter()
                .all(|r| r["hris_id"] == "h-1" || r["employee_id"] == lisa.as_str())
        );
        for other in ["h-2", jan.as_str(), "Jansen", "jan.private@example.com"] {
            assert!(!text.contains(other), "{other} in the export of {subject}");
        }
        assert!(text.contains("lisa.private@example.com") && text.contains("1987-06-05"));
        // An existing file is not overwritten.
        let (code, _, err) = app
            .run(
                &[
                    "audit",
                    "--subject",
                    subject,
                    "--export",
                    file.to_str().expect("path"),
                ],
                &[],
            )
            .await;
        assert_eq!(code, 2, "{err}");
    }
    let (code, out, _) = app
        .run(&["audit", "--subject", "nobody", "--export", "x.json"], &[])
        .await;
    assert_eq!(code, 1, "{out}");
    assert!(!app.dir.path().join("x.json").exists());
}

#[tokio::test]
async fn the_state_database_is_private_from_the_first_start() {
    let app = TestApp::spawn().await;
    // A fresh start in a directory that does not exist yet.
    let dir = app.dir.path().join("var").join("nmbrs-sync");
    let url = format!("sqlite:{}", dir.join("state.db").display());
    let state = nmbrs_sync::state::StateDb::open(&url).await.expect("open");
    state
        .audit(&[nmbrs_sync::state::AuditEntry::new(None, "read").message("x")])
        .await
        .expect("write");
    assert_eq!(mode(&dir), 0o700, "directory created owner-only");
    for suffix in ["", "-wal", "-shm"] {
        let f = std::path::PathBuf::from(format!("{}{suffix}", dir.join("state.db").display()));
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    drop(state);

    // A database made readable by others: doctor warns, and opening narrows it.
    two_people(&app).await;
    std::fs::set_permissions(&app.state_db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (_, out, err) = app.run(&["doctor"], &[]).await;
    assert!(
        out.contains("WARN") && out.contains("state files") && out.contains("mode 644"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("token at rest") && out.contains("stored in clear"),
        "{out}"
    );
    assert_eq!(mode(&app.state_db), 0o600);
    let (_, out, _) = app.run(&["doctor"], &[]).await;
    assert!(out.contains("readable by their owner only"), "{out}");
}

#[tokio::test]
async fn the_refresh_token_is_sealed_with_the_key_file() {
    let app = TestApp::spawn().await;
    // A first run without a key stores the token and the BSN key in clear (an existing
    // installation); Lisa's BSN is in her snapshot as a hash under that key.
    two_people(&app).await;
    app.set("h-1", &[("bsn", Some("123456782"))]).await;
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(app.bsn_key().await.len(), 32);
    let stored = || async {
        sqlx::query_scalar::<_, String>("SELECT refresh_token FROM oauth_state")
            .fetch_one(&app.state().await)
            .await
            .expect("token")
    };
    let newest = app
        .sandbox
        .issued_refresh_tokens()
        .last()
        .cloned()
        .expect("token");
    assert_eq!(stored().await, newest);

    let key = app.dir.path().join("state_key");
    std::fs::write(
        &key,
        "bm1icnMtc3luYy10ZXN0LWtleS1vZi1hdC1sZWFzdC0zMi1ieXRlcw==\n",
    )
    .expect("key");
    let key_env = key.to_str().expect("path");
    let with_key = [("NMBRS_SYNC__STATE__KEY_FILE", Some(key_env))];
    let (code, out, err) = app.run(&["sync", "--once"], &with_key).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("updated 0") && out.contains("unchanged 2"),
        "the BSN key is the same key, sealed: the stored hash still matches: {out}"
    );
    assert!(
        app.bsn_key().await.starts_with(b"sealed:v1:"),
        "the BSN key is sealed too"
    );
    let newest = app
        .sandbox
        .issued_refresh_tokens()
        .last()
        .cloned()
        .expect("token");
    let sealed = stored().await;
    assert!(
        sealed.starts_with("sealed:v1:") && !sealed.contains(&newest),
        "{sealed}"
    );
    // The sealed token is read back: the next cycle refreshes with it.
    let (code, out, err) = app.run(&["sync", "--once"], &with_key).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, out, _) = app.run(&["doctor"], &with_key).await;
    assert!(
        out.contains("token at rest") && out.contains("sealed"),
        "{out}"
    );
    // Without the key the sealed token cannot be used, and the message says what to do.
    let (code, out, err) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        format!("{out}{err}").contains("state.key_file"),
        "{out}\n{err}"
    );
    // A key file too short is refused naming the key.
    std::fs::write(&key, "short").expect("key");
    let (code, out, err) = app.run(&["sync", "--once"], &with_key).await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("state.key_file") && err.contains("at least 32"),
        "{err}"
    );
}
