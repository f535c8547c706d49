//! The ground of incremental reads (issue 13): read marks and the last full reconcile are recorded
//! only for reads whose records were all applied.

use crate::common::TestApp;
use crate::common::setup::person;
use nmbrs_sandbox::Fault;

async fn marks(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT company_id, resource, watermark FROM read_marks ORDER BY company_id, resource",
    )
    .fetch_all(&app.state().await)
    .await
    .expect("marks")
}

async fn last_full(app: &TestApp) -> Option<String> {
    sqlx::query_scalar("SELECT value FROM sync_meta WHERE key = 'last_full_reconcile'")
        .fetch_optional(&app.state().await)
        .await
        .expect("meta")
}

#[tokio::test]
async fn a_complete_cycle_records_each_listing_s_newest_entry_and_a_full_reconcile() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "1", 101, "Lisa", "Hanison"))
        .await;
    app.set("h-1", &[("job_title", Some("Sales Lead"))]).await;

    // A dry run applies nothing: no marks.
    let (code, out, err) = app.run(&["sync", "--once", "--dry-run"], &[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(marks(&app).await.is_empty());
    assert_eq!(last_full(&app).await, None);

    app.cycle().await;
    let m = marks(&app).await;
    let resources = nmbrs_sync::fields::Resource::ALL.len();
    assert_eq!(m.len(), 2 * resources, "every company × resource: {m:?}");
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    // The marks are those of the read (before this cycle's own writes): company 1's listings were
    // empty then; the next cycle reads the created entries.
    app.cycle().await;
    let m = marks(&app).await;
    let newest_function = app
        .sandbox
        .history(&id, "functions")
        .iter()
        .filter_map(|e| e["createdAt"].as_str().map(str::to_owned))
        .max();
    assert!(
        m.iter()
            .any(|(c, r, w)| *c == app.company1 && r == "function" && *w == newest_function),
        "{m:?}"
    );
    assert!(last_full(&app).await.is_some());
}

#[tokio::test]
async fn a_company_whose_listing_failed_gets_no_mark_and_no_full_reconcile_is_recorded() {
    let mut app = TestApp::spawn().await;
    app.settings.retry.max_attempts = 1;
    app.insert(&person("h-1", "1", 101, "Lisa", "Hanison"))
        .await;
    app.sandbox
        .before_call("GET /companies/{companyId}/employees/contracts", 1, |s| {
            s.inject(Fault::Status(503), 1)
        });
    let r = app.cycle().await;
    assert!(r.counts.failed > 0, "{}", r.summary());
    assert_eq!(
        last_full(&app).await,
        None,
        "one company was not read whole"
    );
    let m = marks(&app).await;
    let failed_company: Vec<_> = m.iter().filter(|(c, ..)| c == &app.company1).collect();
    let other: Vec<_> = m.iter().filter(|(c, ..)| c == &app.company2).collect();
    assert!(
        failed_company.is_empty() != other.is_empty(),
        "exactly one company lost its contracts read: {m:?}"
    );
    app.cycle().await;
    assert!(last_full(&app).await.is_some());
}
