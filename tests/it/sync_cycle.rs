//! One sync cycle against the in-repo sandbox and real SQLite files (issue: first working slice).

use crate::common::{TestApp, person, pi_field};
use nmbrs_sandbox::{Fault, SandboxOptions};
use nmbrs_sync::plan::ConflictPolicy;
use nmbrs_sync::sync::RunStatus;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn binary_first_run_creates_and_writes_the_id_back() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.insert(&person("h-2", "1", 501, "Aïcha 🌷", "El Amrani"))
        .await;

    let (code, stdout, stderr) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("created 2"), "{stdout}");

    let company2 = app.employees(&app.company2);
    assert_eq!(company2.len(), 1);
    let lisa = &company2[0];
    assert_eq!(pi_field(lisa, "basicInfo", "lastName"), "Hanison");
    assert_eq!(pi_field(lisa, "basicInfo", "employeeNumber"), 98072);
    let id = lisa["employeeId"].as_str().expect("employeeId");
    assert_eq!(
        app.hris_value("h-1", "nmbrs_employee_id").await.as_deref(),
        Some(id)
    );
    let company1 = app.employees(&app.company1);
    assert_eq!(
        pi_field(&company1[0], "basicInfo", "firstName"),
        "Aïcha 🌷",
        "Unicode round-trips"
    );

    // A second run: nothing new, no duplicate.
    assert_eq!(app.run(&["sync", "--once"], &[]).await.0, 0);
    assert_eq!(app.sandbox.employee_count(), 2);
    assert_eq!(
        app.audit_rows("create_intent").await.len(),
        2,
        "one intent per create, recorded before the POST"
    );
}

#[tokio::test]
async fn update_changes_only_mapped_fields_and_preserves_the_rest() {
    let mut app = TestApp::spawn().await;
    // Counts the full read's listing calls.
    app.settings.sync.full_every = "0s".into();
    // An employee already in Nmbrs with data the HRIS does not map (initials, an extra contact field).
    let id = app.sandbox.seed_employee(
        &app.company2,
        json!({
            "basicInfo": {"employeeNumber": 98072, "firstName": "Lisa", "lastName": "Hanison", "employeeType": "applicant", "initials": "E."},
            "birthInfo": {"birthDate": "1990-02-01", "gender": "female"},
            "contactInfo": {"privateEmail": "lisa@example.com", "businessPhone": "+31 20 000"},
            "partnerInfo": {"partnerName": null, "maritalStatus": null},
            "period": {"year": 2024, "period": 1}
        }),
    );
    let mut p = person("h-1", "2", 98072, "Lisa", "Hanison");
    p.private_email = Some("lisa@example.com".into());
    app.insert(&p).await;
    let r = app.cycle().await;
    assert_eq!(
        r.counts.linked,
        1,
        "matched by employee number: {}",
        r.summary()
    );
    assert_eq!(app.sandbox.employee_count(), 1, "no duplicate created");

    app.exec("UPDATE hris_employees SET last_name = 'Petterson', partner_name = 'Rick Petterson' WHERE hris_id = 'h-1'").await;
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    let stats = app.sandbox.stats();
    assert_eq!(
        stats
            .by_route
            .get("PUT /employees/{employeeId}/personalInfo"),
        Some(&1)
    );
    assert_eq!(
        stats
            .by_route
            .get("GET /companies/{companyId}/employees/personalinfo"),
        Some(&3),
        "the two company listings, and the employee's history read right before the PUT"
    );

    let e = app.sandbox.employee(&id).expect("employee");
    assert_eq!(pi_field(&e, "basicInfo", "lastName"), "Petterson");
    assert_eq!(pi_field(&e, "partnerInfo", "partnerName"), "Rick Petterson");
    assert_eq!(
        pi_field(&e, "basicInfo", "initials"),
        "E.",
        "unmapped field kept"
    );
    assert_eq!(
        pi_field(&e, "contactInfo", "businessPhone"),
        "+31 20 000",
        "unmapped field kept"
    );
    assert_eq!(
        pi_field(&e, "birthInfo", "gender"),
        "female",
        "field the HRIS leaves empty is not blanked"
    );
    let updates = app.audit_rows("update").await;
    let fields = updates.last().and_then(|r| r.1.clone()).expect("fields");
    assert!(
        fields.contains("\"last_name\":[\"Hanison\",\"Petterson\"]"),
        "{fields}"
    );
}

#[tokio::test]
async fn nmbrs_side_change_is_written_back_to_the_hris() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.cycle().await;
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    assert!(app.sandbox.edit_personal_info(
        &id,
        "contactInfo.businessEmail",
        json!("lisa@company2.example")
    ));
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.counts.pulled, 1, "{}", r.summary());
    assert_eq!(
        app.sandbox.stats().writes,
        0,
        "a pull writes nothing to Nmbrs"
    );
    assert_eq!(
        app.hris_value("h-1", "business_email").await.as_deref(),
        Some("lisa@company2.example")
    );
    assert!(app.hris_value("h-1", "updated_at").await.is_some());
}

async fn both_sides_changed(
    policy: ConflictPolicy,
) -> (TestApp, String, nmbrs_sync::sync::CycleReport) {
    let mut app = TestApp::spawn().await;
    app.settings.sync.conflict_policy = policy;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.cycle().await;
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    app.exec("UPDATE hris_employees SET last_name = 'Petterson' WHERE hris_id = 'h-1'")
        .await;
    app.sandbox
        .edit_personal_info(&id, "basicInfo.lastName", json!("Jansen"));
    let r = app.cycle().await;
    (app, id, r)
}

#[tokio::test]
async fn conflict_policy_hris_wins_is_applied_and_audited() {
    let (app, id, r) = both_sides_changed(ConflictPolicy::HrisWins).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(
        pi_field(
            &app.sandbox.employee(&id).expect("e"),
            "basicInfo",
            "lastName"
        ),
        "Petterson"
    );
    let conflicts = app.audit_rows("conflict").await;
    assert_eq!(conflicts.len(), 1);
    let fields = conflicts[0].1.clone().unwrap_or_default();
    assert!(
        fields.contains("Hanison") && fields.contains("Petterson") && fields.contains("Jansen"),
        "{fields}"
    );
    assert!(
        conflicts[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains("HRIS value kept")
    );
}

#[tokio::test]
async fn conflict_policy_nmbrs_wins_is_applied_and_audited() {
    let (app, _id, _r) = both_sides_changed(ConflictPolicy::NmbrsWins).await;
    assert_eq!(
        app.hris_value("h-1", "last_name").await.as_deref(),
        Some("Jansen")
    );
    let conflicts = app.audit_rows("conflict").await;
    assert!(
        conflicts[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains("Nmbrs value kept")
    );
}

#[tokio::test]
async fn conflict_policy_manual_parks_the_field_and_reports_it() {
    let (app, id, r) = both_sides_changed(ConflictPolicy::Manual).await;
    assert_eq!(r.counts.conflicts, 1, "{}", r.summary());
    assert_eq!(
        app.hris_value("h-1", "last_name").await.as_deref(),
        Some("Petterson"),
        "HRIS untouched"
    );
    assert_eq!(
        pi_field(
            &app.sandbox.employee(&id).expect("e"),
            "basicInfo",
            "lastName"
        ),
        "Jansen",
        "Nmbrs untouched"
    );
    // Still parked next cycle, and not re-audited.
    let r2 = app.cycle().await;
    assert_eq!(r2.counts.conflicts, 1);
    assert_eq!(app.audit_rows("conflict").await.len(), 1);
    // A person makes both sides agree: resolved.
    app.exec("UPDATE hris_employees SET last_name = 'Jansen' WHERE hris_id = 'h-1'")
        .await;
    let r3 = app.cycle().await;
    assert_eq!(r3.counts.conflicts, 0, "{}", r3.summary());
    let (code, stdout, _) = app.run(&["status"], &[]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Open conflicts (conflict_policy = manual): 0"),
        "{stdout}"
    );
}

#[tokio::test]
async fn noop_cycle_makes_no_write_call_and_only_list_reads() {
    let mut app = TestApp::spawn().await;
    // The full read's calls (tests/it/incremental.rs: the incremental ones).
    app.settings.sync.full_every = "0s".into();
    app.settings.nmbrs.page_size = 2;
    for i in 0..5 {
        app.insert(&person(
            &format!("h-{i}"),
            "2",
            1000 + i,
            "P",
            &format!("Person{i}"),
        ))
        .await;
    }
    app.insert(&person("h-c1", "1", 1, "Q", "Other")).await;
    let first = app.cycle().await;
    assert_eq!(first.counts.created, 6, "{}", first.summary());
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    let stats = app.sandbox.stats();
    assert_eq!(stats.writes, 0);
    assert_eq!(r.write_calls, 0);
    assert_eq!(r.counts.unchanged, 6);
    // 1 companies page + per resource ⌈5/2⌉ + ⌈1/2⌉ pages + the debtor's reference lists, read
    // once for both companies (3 functions, 3 departments, 2 managers: 2 + 2 + 1 pages);
    // never one GET per employee.
    let resources = nmbrs_sync::fields::Resource::ALL.len() as u64;
    assert_eq!(
        stats.total,
        1 + resources * (3 + 1) + 5,
        "{:?}",
        stats.by_route
    );
    assert_eq!(stats.by_route.get("GET /employees/{employeeId}"), None);
}

#[tokio::test]
async fn throttled_call_waits_retry_after_then_succeeds() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.sandbox.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        2,
    );
    let started = std::time::Instant::now();
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.created, 1);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );
    assert_eq!(r.retries, 2);
    assert_eq!(app.sandbox.employee_count(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.sandbox.inject(Fault::Status(503), 2);
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.retries, 2);
    assert_eq!(app.sandbox.employee_count(), 1);
}

#[tokio::test]
async fn rejected_record_fails_clearly_and_the_rest_syncs() {
    let app = TestApp::spawn().await;
    // Passes the HRIS checks but the API's stricter e-mail rule answers 400.
    let mut bad = person("h-bad", "2", 7, "Bad", "Email");
    bad.private_email = Some("bad@example.c0m".into());
    app.insert(&bad).await;
    app.insert(&person("h-good", "2", 8, "Good", "Person"))
        .await;
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("created 1") && stdout.contains("failed 1"),
        "{stdout}"
    );
    assert_eq!(app.sandbox.employee_count(), 1);
    let errors = app.audit_rows("error").await;
    let (hris_id, _, message, status) = errors.last().cloned().expect("error row");
    assert_eq!(hris_id.as_deref(), Some("h-bad"));
    assert_eq!(status, Some(400));
    let message = message.unwrap_or_default();
    assert!(
        message.contains("contactInfo/privateEmail"),
        "names the invalid-params: {message}"
    );
    assert_eq!(
        app.sandbox.stats().rejected_writes,
        1,
        "a 400 is not retried"
    );
}

#[tokio::test]
async fn refused_subscription_key_exits_2_naming_the_credential() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    let (code, _, stderr) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC__NMBRS__SUBSCRIPTION_KEY", Some("wrong-key"))],
        )
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nmbrs.subscription_key"), "{stderr}");
    assert!(
        !stderr.contains("wrong-key"),
        "the key itself is never printed"
    );
    assert_eq!(app.sandbox.employee_count(), 0);

    let (code, _, stderr) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC__NMBRS__SUBSCRIPTION_KEY", None)],
        )
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nmbrs.subscription_key"), "{stderr}");
}

#[tokio::test]
async fn refused_client_secret_exits_2_naming_the_credential() {
    let app = TestApp::spawn().await;
    let (code, _, stderr) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC__NMBRS__CLIENT_SECRET", Some("nope"))],
        )
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nmbrs.client_secret"), "{stderr}");
}

#[tokio::test]
async fn dry_run_changes_nothing_on_either_side() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.cycle().await;
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    app.insert(&person("h-2", "2", 98073, "Jan", "Jansen"))
        .await;
    app.exec("UPDATE hris_employees SET last_name = 'Petterson' WHERE hris_id = 'h-1'")
        .await;
    app.sandbox.edit_personal_info(
        &id,
        "contactInfo.businessEmail",
        json!("lisa@company2.example"),
    );
    app.seed(&app.company1, 77, "Only", "InNmbrs", "1970-01-01");
    let count_rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM hris_employees")
            .fetch_one(&app.hris)
            .await
            .expect("count")
    };
    let rows_before = count_rows().await;
    app.sandbox.reset_stats();

    let (code, stdout, stderr) = app.run(&["sync", "--once", "--dry-run"], &[]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("dry run, nothing written")
            && stdout.contains("would create 1")
            && stdout.contains("would update 1")
            && stdout.contains("would pull 1")
            && stdout.contains("would import 1")
            && !stdout.contains("created 1"),
        "the plan is reported as what it would do: {stdout}"
    );
    assert_eq!(app.sandbox.stats().writes, 0);
    assert_eq!(app.sandbox.employee_count(), 2);
    assert_eq!(
        pi_field(
            &app.sandbox.employee(&id).expect("e"),
            "basicInfo",
            "lastName"
        ),
        "Hanison"
    );
    assert_eq!(app.hris_value("h-1", "business_email").await, None);
    assert_eq!(app.hris_value("h-2", "nmbrs_employee_id").await, None);
    assert_eq!(count_rows().await, rows_before);

    // The real cycle afterwards does all of it.
    let r = app.cycle().await;
    assert_eq!(
        (
            r.counts.created,
            r.counts.updated,
            r.counts.pulled,
            r.counts.imported
        ),
        (1, 1, 1, 1),
        "{}",
        r.summary()
    );
}

#[tokio::test]
async fn bad_rows_are_rejected_per_row_and_the_rest_syncs() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-good", "2", 1, "Good", "Person"))
        .await;
    app.insert(&person("h-unknown-co", "99", 2, "No", "Company"))
        .await;
    let mut date = person("h-date", "2", 3, "Bad", "Date");
    date.birth_date = "1990-02-30".into();
    app.insert(&date).await;
    app.insert(&person("h-noname", "2", 4, "No", "  ")).await;
    let mut email = person("h-email", "2", 5, "Bad", "Mail");
    email.private_email = Some("not-an-email".into());
    app.insert(&email).await;

    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Partial);
    assert_eq!(
        (r.counts.created, r.counts.rejected),
        (1, 4),
        "{}",
        r.summary()
    );
    let rejects = app.audit_rows("reject").await;
    let find = |id: &str| {
        rejects
            .iter()
            .find(|r| r.0.as_deref() == Some(id))
            .and_then(|r| r.2.clone())
            .unwrap_or_default()
    };
    assert!(
        find("h-unknown-co").contains("company_number"),
        "{}",
        find("h-unknown-co")
    );
    assert!(find("h-date").contains("birth_date"), "{}", find("h-date"));
    assert!(
        find("h-noname").contains("last_name"),
        "{}",
        find("h-noname")
    );
    assert!(
        find("h-email").contains("private_email"),
        "{}",
        find("h-email")
    );
    assert!(find("h-email").contains("hris_id=h-email"));
    assert_eq!(app.sandbox.employee_count(), 1);
}

#[tokio::test]
async fn pull_lands_when_the_hris_value_carries_unicode_padding() {
    let app = TestApp::spawn().await;
    // A no-break space around the name: read as "Lisa", so the pull guard must see "Lisa" too.
    app.insert(&person("h-1", "2", 98072, "Lisa\u{a0}", "Hanison"))
        .await;
    app.cycle().await;
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    app.sandbox
        .edit_personal_info(&id, "basicInfo.firstName", json!("Elisabeth"));
    let r = app.cycle().await;
    assert_eq!(r.counts.pulled, 1, "{}", r.summary());
    assert_eq!(
        app.hris_value("h-1", "first_name").await.as_deref(),
        Some("Elisabeth")
    );
}

#[tokio::test]
async fn values_nmbrs_stores_in_another_format_cost_no_write_and_no_rewrite() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98073, "Daan", "de Groot"))
        .await;
    app.exec(
        "UPDATE hris_employees SET business_email = 'Daan.deGroot@Example.NL', \
         private_mobile_phone = '06 2345 6789' WHERE hris_id = 'h-1'",
    )
    .await;
    app.cycle().await;
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    // Nmbrs keeps them lower-cased and in E.164.
    app.sandbox.edit_personal_info(
        &id,
        "contactInfo.businessEmail",
        json!("daan.degroot@example.nl"),
    );
    app.sandbox
        .edit_personal_info(&id, "contactInfo.privateMobilePhone", json!("+31623456789"));
    for round in 0..2 {
        app.sandbox.reset_stats();
        let r = app.cycle().await;
        assert_eq!(
            app.sandbox.stats().writes,
            0,
            "round {round}: {}",
            r.summary()
        );
        assert_eq!(r.counts.pulled, 0, "round {round}: {}", r.summary());
    }
    assert_eq!(
        app.hris_value("h-1", "private_mobile_phone")
            .await
            .as_deref(),
        Some("06 2345 6789"),
        "the HRIS keeps its own formatting"
    );
    assert_eq!(
        app.hris_value("h-1", "business_email").await.as_deref(),
        Some("Daan.deGroot@Example.NL")
    );
}

#[tokio::test]
async fn audit_command_filters_and_verifies_the_chain() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    app.insert(&person("h-2", "1", 501, "Jan", "Jansen")).await;
    app.cycle().await;
    let (code, stdout, _) = app
        .run(&["audit", "--action", "create", "--json"], &[])
        .await;
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["action"] == "create" && r["http_status"] == 201)
    );
    let (_, stdout, _) = app.run(&["audit", "--hris-id", "h-1"], &[]).await;
    assert!(
        stdout.contains("create_intent") && !stdout.contains("h-2"),
        "{stdout}"
    );

    let (code, stdout, _) = app.run(&["audit", "--verify"], &[]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("intact"));
    // Someone with write access drops the trigger and rewrites history.
    let state = app.state().await;
    let refused = sqlx::query("UPDATE audit_log SET message = 'nothing happened'")
        .execute(&state)
        .await;
    assert!(refused.is_err(), "UPDATE refused by the trigger");
    // The values beside the chain (where erasure happens) changed by hand: shown.
    sqlx::query(
        "UPDATE audit_values SET fields = '{}' WHERE audit_id =
           (SELECT id FROM audit_chain WHERE action = 'create' AND hris_id = 'h-1')",
    )
    .execute(&state)
    .await
    .expect("tamper values");
    let (code, stdout, _) = app.run(&["audit", "--verify"], &[]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("TAMPERED") && stdout.contains("do not match their digest"),
        "{stdout}"
    );
    sqlx::query("DROP TRIGGER audit_chain_no_update")
        .execute(&state)
        .await
        .expect("drop trigger");
    sqlx::query(
        "UPDATE audit_chain SET action = 'skip' WHERE action = 'create' AND hris_id = 'h-1'",
    )
    .execute(&state)
    .await
    .expect("tamper");
    let (code, stdout, _) = app.run(&["audit", "--verify"], &[]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("TAMPERED") && stdout.contains("content does not match"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_refresh_tokens_survive_expiry_mid_cycle_and_restarts() {
    // Access tokens live 600 ms; with 100 ms per call the cycle outlives several of them.
    let app = TestApp::spawn_with(SandboxOptions {
        access_token_ttl: Duration::from_millis(600),
        latency: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    for i in 0..8 {
        app.insert(&person(
            &format!("h-{i}"),
            "2",
            100 + i,
            "P",
            &format!("Person{i}"),
        ))
        .await;
    }
    let (code, stdout, stderr) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC__NMBRS__MAX_CONCURRENCY", Some("2"))],
        )
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("created 8"), "{stdout}");
    let token_calls = app.sandbox.stats().token_calls;
    assert!(
        token_calls >= 2,
        "the access token was refreshed mid-cycle ({token_calls} token calls)"
    );
    // A new process: the configured refresh token was spent long ago; the persisted one carries on.
    for _ in 0..2 {
        let (code, stdout, stderr) = app.run(&["sync", "--once"], &[]).await;
        assert_eq!(code, 0, "{stdout}{stderr}");
    }
    assert_eq!(app.sandbox.employee_count(), 8);
}

#[tokio::test]
async fn status_uses_the_summary_s_words_for_rejected_rows() {
    let app = TestApp::spawn().await;
    let mut bad = person("h-bad", "2", 9, "Bad", "Date");
    bad.birth_date = "1990-02-30".into();
    app.insert(&bad).await;
    let (code, stdout, _) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 1);
    assert!(stdout.contains("rejected 1, failed 0"), "{stdout}");
    let (code, stdout, _) = app.run(&["status"], &[]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("rejected 1 failed 0"),
        "a rejected row is 'rejected' in status too: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_a_state_database_share_one_token_chain() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    assert_eq!(app.run(&["sync", "--once"], &[]).await.0, 0);
    // Four processes start at once, each without an access token: each must redeem the stored
    // refresh token, and only one may redeem any one of them.
    let runs = futures::future::join_all((0..4).map(|_| app.run(&["doctor"], &[]))).await;
    for (code, stdout, stderr) in &runs {
        assert_eq!(*code, 0, "{stdout}{stderr}");
        assert!(
            !stdout.contains("invalid_grant") && !stderr.contains("invalid_grant"),
            "{stdout}{stderr}"
        );
    }
    // The chain is intact: a sync after them still authenticates.
    let (code, stdout, stderr) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_hris_is_reported_as_busy_and_the_run_is_recorded() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    // An HRIS in rollback-journal mode, with another process's writer holding an exclusive lock
    // (the harness's own connections are closed first: only one connection may switch the mode).
    app.hris.close().await;
    let url = format!("sqlite:{}", app.hris_db.display());
    let holder = nmbrs_sync::db::open_sqlite(&url, 1)
        .await
        .expect("second connection");
    let mut writer = holder.acquire().await.expect("connection");
    sqlx::query("PRAGMA journal_mode=DELETE")
        .execute(&mut *writer)
        .await
        .expect("journal mode");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *writer)
        .await
        .expect("exclusive lock");
    let (code, stdout, stderr) = app
        .run(
            &["sync", "--once"],
            &[("NMBRS_SYNC__HRIS__BUSY_TIMEOUT_SECS", Some("1"))],
        )
        .await;
    sqlx::query("ROLLBACK")
        .execute(&mut *writer)
        .await
        .expect("release");
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("busy")
            && stderr.contains("locked by another writer")
            && stderr.contains("1 s"),
        "says the database was busy and how long it waited: {stderr}"
    );
    assert!(!stderr.contains("check `hris.database_url`"), "{stderr}");
    let state = app.state().await;
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, error FROM sync_runs ORDER BY id DESC LIMIT 1")
            .fetch_one(&state)
            .await
            .expect("a run row");
    assert_eq!(status, "failed");
    assert!(error.is_some_and(|e| e.contains("busy")));
    // Once the lock is gone, the next run syncs.
    assert_eq!(app.run(&["sync", "--once"], &[]).await.0, 0);
}
