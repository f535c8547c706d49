//! The ground of incremental reads (issue 13): read marks and the last full reconcile are recorded
//! only for reads whose records were all applied.

use crate::common::TestApp;
use crate::common::setup::{self, person};
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
    assert_eq!(
        m.len(),
        2 * (resources + 1),
        "every company × (resource and the HRIS): {m:?}"
    );
    assert!(
        m.iter()
            .any(|(c, r, w)| *c == app.company1 && r == "hris" && w.is_some()),
        "the HRIS mark holds the newest updated_at read: {m:?}"
    );
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

/// Calls that read one employee (`?employeeId=`), by route.
fn employee_reads(app: &TestApp) -> u64 {
    app.sandbox
        .stats()
        .calls_matching("GET /companies/{companyId}/employees/") // all listings
}

#[tokio::test]
async fn between_full_reconciles_a_cycle_reads_only_what_changed() {
    let mut app = TestApp::spawn().await;
    app.settings.sync.full_every = "24h".into();
    // More than one page per listing: a company on one page is always read whole.
    app.settings.nmbrs.page_size = 2;
    for i in 0..6 {
        app.insert(&person(
            &format!("h-{i}"),
            "1",
            100 + i,
            "P",
            &format!("Person{i}"),
        ))
        .await;
    }
    let first = app.cycle().await;
    assert_eq!(first.counts.created, 6, "{}", first.summary());
    // The second cycle is the first incremental one: it sees the creates again (within the
    // overlap) but knows them (they were read) — except those the first cycle wrote after its
    // read, which it reads whole once.
    app.cycle().await;
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    let resources = nmbrs_sync::fields::Resource::ALL.len() as u64;
    let errors = app.audit_rows("error").await;
    assert_eq!(r.counts.unchanged, 6, "{} {errors:?}", r.summary());
    let s = app.sandbox.stats();
    // Companies + one listing per resource per company (company 1's personal info: its six
    // entries, still within the overlap, on three pages of two) + the debtor lists (functions,
    // departments, managers on 2 + 2 + 1 pages); no employee read.
    assert_eq!(s.total, 1 + 2 * resources + 2 + 5, "{s:?}");
    assert_eq!(s.writes, 0);

    // Payroll changes one employee: only that one is read whole, and the change is pulled.
    let id = app
        .hris_value("h-2", "nmbrs_employee_id")
        .await
        .expect("linked");
    assert!(app.sandbox.edit_personal_info_as_new_entry(
        &id,
        "contactInfo.businessEmail",
        serde_json::json!("p2@payroll.example")
    ));
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.counts.pulled, 1, "{}", r.summary());
    assert_eq!(
        app.hris_value("h-2", "business_email").await.as_deref(),
        Some("p2@payroll.example")
    );
    let s = app.sandbox.stats();
    assert!(
        // The listings above, then the employee's histories: one call per resource, except
        // privateInfos (no employeeId filter: the company's three pages, cut down).
        s.total <= 1 + 2 * resources + 2 + 5 + (resources - 1) + 3,
        "listings plus one employee's histories: {s:?}"
    );
    let _ = employee_reads(&app);
}

/// The missed-change test (issue 13): edits on both sides between incremental cycles and during
/// their reads; after every round both sides agree, and a final full reconcile finds nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_cycles_miss_nothing_a_full_reconcile_would_find() {
    let mut app = TestApp::spawn().await;
    app.settings.sync.full_every = "24h".into();
    // More than one page per listing: a company on one page is always read whole.
    app.settings.nmbrs.page_size = 2;
    for i in 0..8 {
        let company = if i % 2 == 0 { "1" } else { "2" };
        app.insert(&person(
            &format!("h-{i}"),
            company,
            200 + i,
            "Q",
            &format!("Person{i}"),
        ))
        .await;
        app.set(
            &format!("h-{i}"),
            &[
                ("job_title", Some("Sales Lead")),
                ("contract_start_date", Some("2026-01-01")),
                ("hours_per_week", Some("32")),
            ],
        )
        .await;
    }
    app.cycle().await;
    app.cycle().await;
    let debtor = app.sandbox.default_debtor_id().expect("debtor");
    let engineer = app
        .sandbox
        .debtor_object_id(&debtor, "functions", "Software Engineer")
        .expect("function");
    for round in 0..6u32 {
        let pick = |k: u32| format!("h-{}", (round * 3 + k) % 8);
        // HRIS side.
        app.set(
            &pick(0),
            &[("business_email", Some(&format!("r{round}@hris.example")))],
        )
        .await;
        app.set(
            &pick(1),
            &[("hours_per_week", Some(&format!("{}", 20 + round)))],
        )
        .await;
        // Nmbrs side, as new entries (what createdFrom can see).
        let e2 = app
            .hris_value(&pick(2), "nmbrs_employee_id")
            .await
            .expect("linked");
        assert!(app.sandbox.edit_personal_info_as_new_entry(
            &e2,
            "contactInfo.privateMobilePhone",
            serde_json::json!(format!("+31 6 {:08}", round))
        ));
        // During the read: a job changes in Nmbrs right before one of the listings is read.
        let e3 = app
            .hris_value(&pick(3), "nmbrs_employee_id")
            .await
            .expect("linked");
        let function = engineer.clone();
        app.sandbox.before_call(
            "GET /companies/{companyId}/employees/personalinfo",
            1,
            move |s| {
                s.append_entry(
                    &e3,
                    "functions",
                    serde_json::json!({"functionId": function}),
                );
            },
        );
        app.cycle().await;
        // A change made during a read may be seen only by the next cycle.
        app.cycle().await;
        crate::common::check_invariants(&app, &format!("incremental round {round}")).await;
    }
    // The full reconcile finds nothing the incremental cycles missed.
    app.settings.sync.full_every = "0s".into();
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(
        (r.counts.updated, r.counts.pulled, r.counts.unchanged),
        (0, 0, 8),
        "{}",
        r.summary()
    );
    assert_eq!(app.sandbox.stats().writes, 0);
}

/// `n` rows `h-0`… of company 1, created and linked by two cycles, with a daily full reconcile and
/// two-record pages (so that company 1 is read incrementally in between).
async fn linked_app(n: i64) -> TestApp {
    let mut app = TestApp::spawn().await;
    app.settings.sync.full_every = "24h".into();
    app.settings.nmbrs.page_size = 2;
    for i in 0..n {
        app.insert(&person(
            &format!("h-{i}"),
            "1",
            300 + i,
            "R",
            &format!("Person{i}"),
        ))
        .await;
    }
    app.cycle().await;
    app.cycle().await;
    app
}

#[tokio::test]
async fn after_a_quiet_day_an_incremental_no_op_reads_one_empty_page_per_listing() {
    let app = linked_app(7).await;
    // A full read now costs ⌈7/2⌉ pages per resource for company 1; the day passes quietly.
    app.sandbox
        .age(std::time::Duration::from_secs(86_400 - 3_600));
    app.sandbox.reset_stats();
    let r = app.cycle().await;
    assert_eq!(r.counts.unchanged, 7, "{}", r.summary());
    let s = app.sandbox.stats();
    let resources = nmbrs_sync::fields::Resource::ALL.len() as u64;
    // Companies + one (empty) page per listing per company + the debtor lists (2 + 2 + 1 pages).
    assert_eq!(s.total, 1 + 2 * resources + 5, "{s:?}");
    assert_eq!(s.writes, 0);
    // And payroll's next edit is still seen.
    let id = app
        .hris_value("h-4", "nmbrs_employee_id")
        .await
        .expect("linked");
    assert!(app.sandbox.edit_personal_info_as_new_entry(
        &id,
        "basicInfo.firstName",
        serde_json::json!("Renée")
    ));
    let r = app.cycle().await;
    assert_eq!(r.counts.pulled, 1, "{}", r.summary());
    assert_eq!(
        app.hris_value("h-4", "first_name").await.as_deref(),
        Some("Renée")
    );
}

/// The last HRIS read's audit message for company 1 (`N of M HRIS rows …` or `M HRIS rows`).
async fn hris_read(app: &TestApp) -> String {
    sqlx::query_scalar(
        "SELECT message FROM audit_log WHERE action = 'read' AND company_id = ? AND message LIKE '%HRIS rows%' ORDER BY id DESC LIMIT 1",
    )
    .bind(&app.company1)
    .fetch_one(&app.state().await)
    .await
    .expect("an HRIS read is audited")
}

const DAYS_30: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// Six linked rows of company 1 whose last edits lie months apart, so that only the newest is
/// within the overlap of the HRIS mark (as in an HRIS with a history).
async fn linked_rows_with_a_history() -> TestApp {
    let app = linked_app(6).await;
    // h-0 last edited 30 days ago, h-1 30 days before, …
    setup::age_hris(&app.hris, DAYS_30, DAYS_30).await;
    // Takes the new (older) watermark.
    app.cycle().await;
    app
}

#[tokio::test]
async fn an_incremental_cycle_reads_the_hris_rows_that_moved_and_those_with_pending_work() {
    let app = linked_rows_with_a_history().await;
    let r = app.cycle().await;
    assert_eq!(r.counts.unchanged, 6, "{}", r.summary());
    assert!(
        hris_read(&app).await.starts_with("1 of 6 HRIS rows"),
        "only the row within the overlap: {}",
        hris_read(&app).await
    );

    // An edit moves its row's updated_at: read and pushed; the others are not read.
    app.set("h-2", &[("business_email", Some("s2@hris.example"))])
        .await;
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    assert!(
        hris_read(&app).await.starts_with("2 of 6 HRIS rows"),
        "{}",
        hris_read(&app).await
    );

    // Pending work: a job the payroll does not know yet is left out of the merge; the row is
    // read again every cycle, even once its updated_at is long past, until the job exists.
    app.set("h-1", &[("job_title", Some("Payroll Wizard"))])
        .await;
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 0, "{}", r.summary());
    sqlx::query(
        "UPDATE hris_employees SET updated_at = '2026-01-01T08:00:00Z' WHERE hris_id = 'h-1'",
    )
    .execute(&app.hris)
    .await
    .expect("stamp");
    app.cycle().await;
    let debtor = app.sandbox.default_debtor_id().expect("debtor");
    app.sandbox.add_function(&debtor, 977, "Payroll Wizard");
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "h-1's job, now known: {}", r.summary());
    let id = app
        .hris_value("h-1", "nmbrs_employee_id")
        .await
        .expect("linked");
    let wizard = app
        .sandbox
        .debtor_object_id(&debtor, "functions", "Payroll Wizard")
        .expect("function");
    assert!(
        app.sandbox
            .history(&id, "functions")
            .iter()
            .any(|e| e["functionId"].as_str() == Some(wizard.as_str())),
        "the job reached payroll"
    );
}

#[tokio::test]
async fn hris_edits_stamped_at_the_watermark_or_by_a_skewed_clock_are_not_missed() {
    let app = linked_rows_with_a_history().await;
    let watermark: String = sqlx::query_scalar(
        "SELECT watermark FROM read_marks WHERE company_id = ? AND resource = 'hris'",
    )
    .bind(&app.company1)
    .fetch_one(&app.state().await)
    .await
    .expect("HRIS mark");
    // Exactly at the watermark; two minutes before it (a writer whose clock lags); two minutes
    // ahead of this machine's clock.
    let edits = [
        ("h-1", format!("'{watermark}'")),
        (
            "h-3",
            format!("strftime('%Y-%m-%dT%H:%M:%SZ', '{watermark}', '-2 minutes')"),
        ),
        (
            "h-4",
            "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+2 minutes')".to_owned(),
        ),
    ];
    for (round, (hris_id, stamp)) in edits.iter().enumerate() {
        let email = format!("r{round}@hris.example");
        app.set_stamped(hris_id, &[("business_email", Some(&email))], stamp)
            .await;
        let r = app.cycle().await;
        assert_eq!(r.counts.updated, 1, "{hris_id}: {}", r.summary());
    }
    // And with a writer that leaves updated_at alone, the next full reconcile pushes the edit.
    app.set_stamped(
        "h-5",
        &[("business_email", Some("late@hris.example"))],
        "updated_at",
    )
    .await;
    let r = app.cycle().await;
    assert_eq!(
        r.counts.updated,
        0,
        "not seen before the full reconcile: {}",
        r.summary()
    );
    let mut app = app;
    app.settings.sync.full_every = "0s".into();
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    assert_eq!(hris_read(&app).await, "6 HRIS rows");
}

#[tokio::test]
async fn with_hris_incremental_off_every_row_is_read_every_cycle() {
    let mut app = linked_rows_with_a_history().await;
    app.settings.hris.incremental = false;
    app.set_stamped(
        "h-5",
        &[("business_email", Some("now@hris.example"))],
        "updated_at",
    )
    .await;
    let r = app.cycle().await;
    assert_eq!(r.counts.updated, 1, "{}", r.summary());
    assert_eq!(hris_read(&app).await, "6 HRIS rows");
}

/// A new function entry for `hris_id`'s employee, stamped `offset` from the functions listing's
/// read mark (Nmbrs's own wall-clock text), as a server whose clock is off would stamp it; `None`:
/// stamped now.
async fn new_function_stamped(
    app: &TestApp,
    hris_id: &str,
    function: &str,
    offset: Option<time::Duration>,
) {
    let id = app
        .hris_value(hris_id, "nmbrs_employee_id")
        .await
        .expect("linked");
    app.sandbox
        .append_entry(
            &id,
            "functions",
            serde_json::json!({"functionId": function}),
        )
        .expect("entry");
    let Some(offset) = offset else { return };
    let watermark: String = sqlx::query_scalar(
        "SELECT watermark FROM read_marks WHERE company_id = ? AND resource = 'function'",
    )
    .bind(&app.company1)
    .fetch_one(&app.state().await)
    .await
    .expect("functions mark");
    let wall = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let at = time::PrimitiveDateTime::parse(watermark.trim_end_matches('Z'), wall)
        .unwrap_or_else(|e| panic!("mark {watermark}: {e}"))
        + offset;
    assert!(app.sandbox.edit_entry(
        &id,
        "functions",
        0,
        "createdAt",
        serde_json::json!(at.format(wall).expect("format"))
    ));
}

#[tokio::test]
async fn nmbrs_entries_stamped_at_the_watermark_or_by_a_skewed_clock_are_not_missed() {
    let mut app = linked_app(6).await;
    let debtor = app.sandbox.default_debtor_id().expect("debtor");
    let function = |name| {
        app.sandbox
            .debtor_object_id(&debtor, "functions", name)
            .expect("function")
    };
    let (engineer, lead) = (function("Software Engineer"), function("Sales Lead"));
    new_function_stamped(&app, "h-5", &engineer, None).await;
    assert_eq!(app.cycle().await.counts.pulled, 1);
    // Exactly at the mark, two minutes before it, two minutes after it.
    for (round, seconds) in [0i64, -120, 120].into_iter().enumerate() {
        let hris_id = format!("h-{round}");
        new_function_stamped(
            &app,
            &hris_id,
            &lead,
            Some(time::Duration::seconds(seconds)),
        )
        .await;
        let r = app.cycle().await;
        assert_eq!(r.counts.pulled, 1, "{seconds} s: {}", r.summary());
        assert_eq!(
            app.hris_value(&hris_id, "job_title").await.as_deref(),
            Some("Sales Lead")
        );
    }
    // A back-dated entry older than the overlap is what only a full reconcile sees.
    new_function_stamped(&app, "h-4", &lead, Some(time::Duration::hours(-4))).await;
    assert_eq!(app.cycle().await.counts.pulled, 0);
    app.settings.sync.full_every = "0s".into();
    assert_eq!(app.cycle().await.counts.pulled, 1);
    assert_eq!(
        app.hris_value("h-4", "job_title").await.as_deref(),
        Some("Sales Lead")
    );
}
