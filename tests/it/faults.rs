//! Fault storms and quarantine (issue 4): 5xx, 429 bursts, stalls past the client timeout and
//! dropped connections; the sync converges to the clean end state within its retry budget, and a
//! record that keeps failing is quarantined, reported and released.

use crate::common::{TestApp, check_invariants, person};
use nmbrs_sandbox::{Fault, FaultOptions, SandboxOptions};
use nmbrs_sync::sync::RunStatus;
use serde_json::json;
use std::time::Duration;

const MAX_ATTEMPTS: u32 = 4;

/// (attempts, http_method, http_path, http_status) of audited calls.
async fn calls(app: &TestApp) -> Vec<(i64, String, String, Option<i64>)> {
    let state = app.state().await;
    sqlx::query_as("SELECT attempts, http_method, http_path, http_status FROM audit_log WHERE attempts IS NOT NULL")
        .fetch_all(&state)
        .await
        .expect("calls")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_storm_converges_to_the_clean_end_state_within_the_retry_budget() {
    let mut app = TestApp::spawn_with(SandboxOptions {
        rate_limit_per_sec: Some(20),
        ..Default::default()
    })
    .await;
    app.settings.nmbrs.timeout_secs = 1;
    app.settings.nmbrs.max_requests_per_sec = 200; // faster than the server allows: 429 bursts
    app.settings.nmbrs.max_concurrency = 6;
    app.settings.nmbrs.page_size = 5;
    app.settings.retry.max_attempts = MAX_ATTEMPTS;
    app.settings.retry.max_elapsed_secs = 10;
    app.settings.sync.quarantine_after = 100;
    for i in 0..24 {
        let company = if i % 3 == 0 { "1" } else { "2" };
        app.insert(&person(
            &format!("h-{i}"),
            company,
            100 + i,
            "Storm",
            &format!("Person{i}"),
        ))
        .await;
    }
    // Some are hired payroll-ready: their creates are followed by one write per resource, each
    // under the storm too.
    for i in (0..24).step_by(4) {
        app.set(
            &format!("h-{i}"),
            &[
                ("in_service_date", Some("2026-01-01")),
                ("job_title", Some("Sales Lead")),
                ("department", Some("Sales")),
                ("manager", Some("Sem Jansen")),
                ("contract_start_date", Some("2026-01-01")),
                ("hours_per_week", Some("24")),
                ("street", Some("Naritaweg")),
                ("city", Some("Amsterdam")),
                ("country_code_iso", Some("NL")),
            ],
        )
        .await;
    }
    // One row the API refuses (400): never retried within a call.
    let mut bad = person("h-bad", "2", 999, "Bad", "Mail");
    bad.private_email = Some("bad@example.c0m".into());
    app.insert(&bad).await;

    app.sandbox.set_faults(FaultOptions {
        error_rate: 0.3,
        stall_rate: 0.05,
        stall: Duration::from_millis(1500),
        drop_rate: 0.05,
    });
    let syncer = app.syncer().await;
    let mut cycles = 0;
    let mut edited = false;
    loop {
        cycles += 1;
        assert!(cycles <= 40, "no convergence after {cycles} cycles");
        if cycles % 4 == 1 {
            app.sandbox.inject(
                Fault::TooManyRequests {
                    retry_after_secs: 1,
                },
                3,
            );
        }
        let r = syncer
            .run_cycle("test", false, &Default::default())
            .await
            .expect("cycle runs");
        if r.status == RunStatus::Failed {
            // Only a listing that stays unavailable through its whole retry budget may stop a cycle.
            assert!(
                r.error.as_deref().unwrap_or("").contains("gave up after"),
                "{}",
                r.summary()
            );
        }
        // Converged: every good record agrees on both sides (the bad row fails every cycle it is tried).
        let clean = r.counts.unchanged == 24;
        if clean && !edited {
            // Second phase: changes on both sides, still under the storm.
            app.exec("UPDATE hris_employees SET first_name_in_full = 'Stormy' WHERE hris_id IN ('h-1', 'h-2', 'h-3')").await;
            for id in ["h-4", "h-5"] {
                let emp = app
                    .hris_value(id, "nmbrs_employee_id")
                    .await
                    .expect("linked");
                app.sandbox.edit_personal_info(
                    &emp,
                    "contactInfo.businessEmail",
                    json!(format!("{id}@storm.example")),
                );
            }
            edited = true;
        } else if clean {
            break;
        }
    }
    app.sandbox.set_faults(FaultOptions::default());
    let stats = app.sandbox.stats();
    println!(
        "fault storm: {cycles} cycles; sandbox saw {} calls, {} injected faults (5xx/stall/drop), {} answered 429, {} rejected writes",
        stats.total, stats.faults, stats.throttled, stats.rejected_writes
    );
    assert!(
        stats.faults >= 10 && stats.throttled >= 3,
        "the storm happened: {stats:?}"
    );

    // The bad row aside, the end state equals a clean run's.
    app.exec("DELETE FROM hris_employees WHERE hris_id = 'h-bad'")
        .await;
    let state = app.state().await;
    sqlx::query("DELETE FROM employee_links WHERE hris_id = 'h-bad'")
        .execute(&state)
        .await
        .expect("forget bad row");
    check_invariants(&app, "after the storm").await;
    assert_eq!(
        app.hris_value("h-4", "business_email").await.as_deref(),
        Some("h-4@storm.example")
    );

    // Retries are visible in the audit log and never exceed the per-call budget; the 400 is never retried.
    let calls = calls(&app).await;
    assert!(calls.iter().any(|c| c.0 > 1), "retries are audited");
    for (attempts, method, path, _) in &calls {
        // A listing's audited call sums its pages (each page has the per-call budget).
        let paged =
            method == "GET" && (path.starts_with("/companies") || path.starts_with("/debtors"));
        if !paged {
            assert!(
                *attempts as u32 <= MAX_ATTEMPTS,
                "{method} {path} took {attempts} attempts"
            );
        }
    }
    // Every 400 the client received ended its call: as many as audited calls that ended with one.
    let ended_400 = calls.iter().filter(|c| c.3 == Some(400)).count() as u64;
    assert!(ended_400 >= 1);
    assert_eq!(
        syncer
            .client
            .counters()
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        ended_400,
        "a 400 is never retried"
    );
}

#[tokio::test]
async fn failing_record_is_quarantined_reported_and_released() {
    let mut app = TestApp::spawn().await;
    app.settings.sync.quarantine_after = 3;
    let mut bad = person("h-bad", "2", 7, "Bad", "Mail");
    bad.private_email = Some("bad@example.c0m".into());
    app.insert(&bad).await;
    app.insert(&person("h-good", "2", 8, "Good", "Person"))
        .await;

    for cycle in 1..=3 {
        let r = app.cycle().await;
        assert_eq!(
            r.status,
            RunStatus::Partial,
            "cycle {cycle}: {}",
            r.summary()
        );
    }
    assert_eq!(app.sandbox.stats().rejected_writes, 3);
    assert_eq!(app.audit_rows("quarantine").await.len(), 1);

    // Quarantined: skipped with an audit row, no call, listed by `status`.
    let r = app.cycle().await;
    assert_eq!(r.counts.skipped, 1, "{}", r.summary());
    assert_eq!(app.sandbox.stats().rejected_writes, 3, "not tried again");
    let skips = app.audit_rows("skip").await;
    assert!(
        skips.iter().any(|s| s.0.as_deref() == Some("h-bad")
            && s.2.as_deref().unwrap_or("").contains("quarantined"))
    );
    let (code, stdout, _) = app.run(&["status"], &[]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Quarantined (release with `nmbrs-sync release HRIS_ID`): 1")
            && stdout.contains("h-bad"),
        "{stdout}"
    );

    // Released by an operator: tried again (and quarantined again after 3 more failures).
    let (code, stdout, _) = app.run(&["release", "h-bad"], &[]).await;
    assert_eq!(code, 0, "{stdout}");
    app.cycle().await;
    assert_eq!(
        app.sandbox.stats().rejected_writes,
        4,
        "released record is tried again"
    );

    // Fixing the HRIS row releases it too, and it syncs.
    for _ in 0..2 {
        app.cycle().await;
    }
    assert!(matches!(app.cycle().await.counts.skipped, 1));
    app.exec("UPDATE hris_employees SET private_email = 'bad@example.com' WHERE hris_id = 'h-bad'")
        .await;
    let r = app.cycle().await;
    assert_eq!(
        (r.status, r.counts.created),
        (RunStatus::Succeeded, 1),
        "{}",
        r.summary()
    );
    assert_eq!(app.sandbox.employee_count(), 2);
}
