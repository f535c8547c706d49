//! CI-sized variant of `benches/sync_bench.rs`: 200 employees over 4 companies, sandbox latency 0,
//! `nmbrs.page_size = 25`. Asserts call counts (never times) for an initial load, a no-op cycle and
//! a cycle with 4 records changed on each side, and compares the no-op with the naive flow of the
//! integration guide (one GET per employee).

#[path = "../../benches/support/naive.rs"]
mod naive;

use crate::common::TestApp;
use crate::common::setup::{hris_id, insert_people, linked_rows};
use nmbrs_sandbox::{ALL_SCOPES, CallStats, DEFAULT_SUBSCRIPTION_KEY, SandboxOptions};
use nmbrs_sync::sync::RunStatus;
use serde_json::json;

const COMPANIES: usize = 4;
const EMPLOYEES: usize = 200;
const PAGE: usize = 25;
const CHANGED: usize = 4;

fn writes(s: &CallStats) -> u64 {
    s.calls_matching("POST ") + s.calls_matching("PUT ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_call_counts() {
    let mut app = TestApp::spawn_with_companies(SandboxOptions::default(), COMPANIES).await;
    // The flow the naive one is compared with: personal info only (all resources: below).
    app.personal_info_only();
    // The full read's call counts (every cycle a full reconcile); incremental ones: below.
    app.settings.sync.full_every = "0s".into();
    app.settings.nmbrs.page_size = PAGE as u32;
    app.settings.nmbrs.max_requests_per_sec = 5000;
    app.settings.nmbrs.max_concurrency = 8;
    // The bench's data set (`setup::synthetic_person`), CI-sized.
    insert_people(&app.hris, EMPLOYEES, COMPANIES).await;
    let per_company = EMPLOYEES / COMPANIES;
    let listing_pages = (COMPANIES * per_company.div_ceil(PAGE)) as u64;

    // Initial load: companies page + one (empty) listing page per company + one POST per employee.
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    let s = app.sandbox.stats();
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.created, EMPLOYEES as u64, "{}", r.summary());
    assert_eq!(
        s.calls_matching("GET /companies"),
        1 + COMPANIES as u64,
        "{s:?}"
    );
    assert_eq!(s.calls_matching("POST "), EMPLOYEES as u64, "{s:?}");
    assert_eq!(s.calls_matching("PUT "), 0, "no partner fields set: {s:?}");
    assert_eq!(s.total, 1 + COMPANIES as u64 + EMPLOYEES as u64, "{s:?}");
    assert_eq!(s.throttled, 0);
    assert_eq!(
        r.api_calls, s.total,
        "client and sandbox agree on the count"
    );

    // No-op: exactly 1 + Σ ⌈n_c / 25⌉ calls, no writes.
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    let s = app.sandbox.stats();
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    let noop = 1 + listing_pages;
    assert_eq!(s.total, noop, "{s:?}");
    assert_eq!(writes(&s), 0, "{s:?}");
    assert_eq!(s.writes, 0);
    assert_eq!(r.write_calls, 0);

    // The naive flow over the same state: one GET per employee, nothing to PUT.
    let rows = linked_rows(&app.hris).await;
    assert_eq!(rows.len(), EMPLOYEES);
    let naive_refresh = app
        .sandbox
        .add_client("bench-naive", "bench-naive-secret", &ALL_SCOPES);
    let mut naive = naive::Naive::connect(
        &app.running.base_url(),
        &app.running.token_url(),
        "bench-naive",
        "bench-naive-secret",
        &naive_refresh,
        DEFAULT_SUBSCRIPTION_KEY,
    )
    .await
    .expect("naive token");
    app.sandbox.reset_stats();
    let pass = naive.sync_all(&rows).await.expect("naive pass");
    let naive_stats = app.sandbox.stats();
    assert_eq!(pass.puts, 0, "both sides agree after the no-op");
    assert_eq!(naive_stats.total, EMPLOYEES as u64, "{naive_stats:?}");
    assert!(
        naive_stats.total >= 10 * noop,
        "naive {} calls vs no-op {noop}: expected ≥ 10×",
        naive_stats.total
    );
    eprintln!(
        "bench_smoke: no-op {noop} calls; naive {} calls ({:.1}×)",
        naive_stats.total,
        naive_stats.total as f64 / noop as f64
    );

    // 4 records changed on each side: no-op reads + GET + PUT per HRIS change; pulls cost no call.
    let step = EMPLOYEES / CHANGED;
    for j in 0..CHANGED {
        let i = j * step;
        sqlx::query("UPDATE hris_employees SET last_name = ?, updated_at = datetime('now') WHERE hris_id = ?")
            .bind(format!("Last{i}H"))
            .bind(hris_id(i))
            .execute(&app.hris)
            .await
            .expect("hris edit");
        let i = j * step + step / 2;
        let employee_id = &rows[i].0;
        assert!(app.sandbox.edit_personal_info(
            employee_id,
            "basicInfo.lastName",
            json!(format!("Last{i}N"))
        ));
    }
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    let s = app.sandbox.stats();
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(r.counts.updated, CHANGED as u64, "{}", r.summary());
    assert_eq!(r.counts.pulled, CHANGED as u64, "{}", r.summary());
    // One history read of each changed employee (`?employeeId=`) right before its PUT.
    assert_eq!(s.calls_matching("GET "), noop + CHANGED as u64, "{s:?}");
    assert_eq!(s.calls_matching("PUT "), CHANGED as u64, "{s:?}");
    assert_eq!(s.calls_matching("POST "), 0, "{s:?}");
    assert_eq!(s.total, noop + 2 * CHANGED as u64, "{s:?}");
    for j in 0..CHANGED {
        let i = j * step + step / 2;
        assert_eq!(
            app.hris_value(&hris_id(i), "last_name").await.as_deref(),
            Some(format!("Last{i}N").as_str())
        );
        let i = j * step;
        let e = app.sandbox.employee(&rows[i].0).expect("employee");
        assert_eq!(
            crate::common::pi_field(&e, "basicInfo", "lastName"),
            json!(format!("Last{i}H"))
        );
    }

    // And back to a no-op.
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    assert_eq!(app.sandbox.stats().total, noop);
}

/// All resources mapped: a no-op cycle reads each resource's listing page by page (plus the
/// debtor's three reference lists), never an employee at a time, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_smoke_all_resources_noop() {
    use nmbrs_sync::fields::Resource;
    let mut app = TestApp::spawn_with_companies(SandboxOptions::default(), COMPANIES).await;
    // The full read's call counts (every cycle a full reconcile).
    app.settings.sync.full_every = "0s".into();
    app.settings.nmbrs.page_size = PAGE as u32;
    app.settings.nmbrs.max_requests_per_sec = 5000;
    app.settings.nmbrs.max_concurrency = 8;
    insert_people(&app.hris, EMPLOYEES, COMPANIES).await;
    let first = app.cycle().await;
    assert_eq!(first.status, RunStatus::Succeeded, "{}", first.summary());
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    let s = app.sandbox.stats();
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.summary());
    let resources = Resource::ALL.len() as u64;
    let pages = (COMPANIES * (EMPLOYEES / COMPANIES).div_ceil(PAGE)) as u64;
    let noop = 1 + resources * pages + 3;
    assert_eq!(s.total, noop, "{s:?}");
    assert_eq!(writes(&s), 0, "{s:?}");
    // The naive flow reads every resource of every employee one at a time.
    let naive = EMPLOYEES as u64 * resources;
    eprintln!(
        "bench_smoke (all {resources} resources): no-op {noop} calls; naive per-employee {naive} calls ({:.1}×)",
        naive as f64 / noop as f64
    );
}
