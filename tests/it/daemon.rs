//! The daemon (`nmbrs-sync run`) as a real process: schedule without overlap, graceful SIGTERM,
//! the state-database lock, `/metrics` and `/healthz`, and `doctor`.

use crate::common::{TestApp, person};
use nmbrs_sandbox::SandboxOptions;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Child;

fn daemon(app: &TestApp, extra: &[(&str, &str)]) -> Child {
    let mut cmd = app.child_command();
    cmd.arg("run")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NMBRS_SYNC__SYNC__SCHEDULE", "* * * * * *")
        .envs(extra.iter().copied());
    cmd.spawn().expect("daemon starts")
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
}

async fn wait_exit(mut child: Child, within: Duration) -> (i32, String) {
    let status = tokio::time::timeout(within, child.wait())
        .await
        .expect("daemon exits in time")
        .expect("wait");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr).await;
    }
    (status.code().unwrap_or(-1), stderr)
}

/// (id, status, started_at, finished_at) of every run.
async fn runs(app: &TestApp) -> Vec<(i64, String, String, Option<String>)> {
    let state = app.state().await;
    sqlx::query_as("SELECT id, status, started_at, finished_at FROM sync_runs ORDER BY id")
        .fetch_all(&state)
        .await
        .unwrap_or_default()
}

async fn wait_for<F: AsyncFnMut() -> bool>(within: Duration, mut f: F) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_cycles_never_overlap_even_when_slower_than_the_period() {
    // Every call takes 400 ms: a cycle (token, companies, two listings) outlasts the 1 s period.
    let app = TestApp::spawn_with(SandboxOptions {
        latency: Duration::from_millis(400),
        ..Default::default()
    })
    .await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    let child = daemon(&app, &[]);
    assert!(
        wait_for(Duration::from_secs(30), async || runs(&app)
            .await
            .iter()
            .filter(|r| r.3.is_some())
            .count()
            >= 3)
        .await,
        "three cycles ran"
    );
    sigterm(&child);
    let (code, stderr) = wait_exit(child, Duration::from_secs(40)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("tick skipped"),
        "overlapping ticks are skipped and logged: {stderr}"
    );
    let runs = runs(&app).await;
    for pair in runs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let a_end = a.3.clone().expect("finished");
        assert!(
            a_end <= b.2,
            "run {} ended {a_end} after run {} started {}",
            a.0,
            b.0,
            b.2
        );
    }
    assert_eq!(app.sandbox.employee_count(), 1, "created once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_cycle_interrupts_cleanly_and_the_next_start_finishes_without_duplicates() {
    let app = TestApp::spawn_with(SandboxOptions {
        latency: Duration::from_millis(60),
        ..Default::default()
    })
    .await;
    for i in 0..40 {
        app.insert(&person(
            &format!("h-{i}"),
            "2",
            1000 + i,
            "P",
            &format!("Person{i}"),
        ))
        .await;
    }
    let child = daemon(
        &app,
        &[
            ("NMBRS_SYNC__NMBRS__MAX_CONCURRENCY", "1"),
            ("NMBRS_SYNC__SYNC__SCHEDULE", "0 0 0 1 1 *"),
        ],
    );
    assert!(
        wait_for(Duration::from_secs(30), async || app
            .sandbox
            .employee_count()
            >= 3)
        .await,
        "the cycle got going"
    );
    sigterm(&child);
    let (code, stderr) = wait_exit(child, Duration::from_secs(40)).await;
    assert_eq!(code, 0, "{stderr}");
    let created = app.sandbox.employee_count();
    assert!(created < 40, "stopped early ({created} created)");
    let last = runs(&app).await.pop().expect("a run");
    assert_eq!(last.1, "interrupted");

    let (code, stdout, stderr) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        app.sandbox.employee_count(),
        40,
        "every record there, none twice"
    );
    let mut numbers: Vec<i64> = app
        .employees(&app.company2)
        .iter()
        .filter_map(|e| e["personalInfo"]["basicInfo"]["employeeNumber"].as_i64())
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 40, "no duplicate employee numbers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_the_same_state_database_refuses_to_start() {
    let app = TestApp::spawn().await;
    let first = daemon(&app, &[("NMBRS_SYNC__SYNC__SCHEDULE", "0 0 0 1 1 *")]);
    let lock = app.state_db.with_extension("db.lock");
    assert!(
        wait_for(Duration::from_secs(20), async || std::fs::read_to_string(
            &lock
        )
        .is_ok_and(|s| !s.trim().is_empty()))
        .await
    );
    let second = daemon(&app, &[]);
    let (code, stderr) = wait_exit(second, Duration::from_secs(20)).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("already running") && stderr.contains("state.db"),
        "{stderr}"
    );
    let (code, _, stderr) = app.run(&["sync", "--once"], &[]).await;
    assert_eq!(code, 2, "sync --once also respects the lock: {stderr}");
    sigterm(&first);
    assert_eq!(wait_exit(first, Duration::from_secs(40)).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schedule_is_exit_2_naming_the_key() {
    let app = TestApp::spawn().await;
    let child = daemon(&app, &[("NMBRS_SYNC__SYNC__SCHEDULE", "every tuesday")]);
    let (code, stderr) = wait_exit(child, Duration::from_secs(20)).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("sync.schedule"), "{stderr}");
}

/// `name{labels} value` lines → value of the first line starting with `prefix`.
/// The sum of every sample of a metric (all label sets), if it has any.
fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(None, |sum, v| Some(sum.unwrap_or(0.0) + v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_are_served_and_move() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = daemon(
        &app,
        &[
            ("NMBRS_SYNC__METRICS__LISTEN", &listen),
            ("NMBRS_SYNC__SYNC__SCHEDULE", "*/2 * * * * *"),
        ],
    );
    let http = reqwest::Client::new();
    let scrape = async || {
        http.get(format!("http://{listen}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    };
    let mut first = None;
    assert!(
        wait_for(Duration::from_secs(20), async || {
            first = scrape()
                .await
                .and_then(|t| metric(&t, "nmbrs_sync_runs_total"));
            first.is_some_and(|v| v >= 1.0)
        })
        .await,
        "runs counter appears"
    );
    let first = first.unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(20), async || scrape()
            .await
            .and_then(|t| metric(&t, "nmbrs_sync_runs_total"))
            .is_some_and(|v| v > first))
        .await,
        "runs counter moves"
    );
    let text = scrape().await.expect("scrape");
    assert!(
        metric(&text, "nmbrs_sync_api_calls_total").is_some_and(|v| v >= 3.0),
        "{text}"
    );
    assert!(
        metric(&text, "nmbrs_sync_last_success_timestamp_seconds").is_some_and(|v| v > 1.7e9),
        "{text}"
    );
    assert!(
        text.contains("nmbrs_sync_records_total{outcome=\"created\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("nmbrs_sync_cycle_duration_seconds_bucket"),
        "{text}"
    );
    let health = http
        .get(format!("http://{listen}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    sigterm(&child);
    assert_eq!(wait_exit(child, Duration::from_secs(40)).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_a_missing_scope_and_passes_when_all_is_well() {
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    let (code, stdout, stderr) = app.run(&["doctor"], &[]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("company 2") && !stdout.contains("FAIL"),
        "{stdout}"
    );

    app.sandbox
        .revoke_scope(nmbrs_sandbox::DEFAULT_CLIENT_ID, "employee.info");
    let (code, stdout, _) = app.run(&["doctor"], &[]).await;
    assert_eq!(code, 1, "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("scope employee.info "))
        .unwrap_or_default();
    assert!(
        line.contains("FAIL") && line.contains("creating employees"),
        "{stdout}"
    );

    app.exec("INSERT INTO hris_employees (hris_id, company_number, employee_number, last_name, birth_date) VALUES ('x', '42', 1, 'X', '1990-01-01')").await;
    let (_, stdout, _) = app.run(&["doctor", "--json"], &[]).await;
    let checks: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let company = checks
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "company 42"))
        .cloned()
        .expect("company 42 checked");
    assert_eq!(company["ok"], false);
}

/// Every metric `deploy/prometheus/alerts.yml` and `deploy/grafana/nmbrs-sync.json` name is served
/// by the daemon's `/metrics` (histograms by their `_bucket` series) after its first cycle: a
/// renamed or missing metric would leave an alert that can never fire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_rules_and_dashboard_name_only_served_metrics() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = std::collections::BTreeSet::new();
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/nmbrs-sync.json",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect("deploy file");
        let mut rest = text.as_str();
        while let Some(i) = rest.find("nmbrs_sync_") {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            named.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    for must in [
        "nmbrs_sync_last_success_timestamp_seconds",
        "nmbrs_sync_records_quarantined",
        "nmbrs_sync_conflicts_open",
        "nmbrs_sync_quota_exhausted_total",
        "nmbrs_sync_token_refusals_total",
        "nmbrs_sync_token_refreshed_timestamp_seconds",
    ] {
        assert!(
            named.contains(must),
            "the rules or the dashboard use {must}"
        );
    }
    let app = TestApp::spawn().await;
    app.insert(&person("h-1", "2", 98072, "Lisa", "Hanison"))
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let _child = daemon(
        &app,
        &[
            ("NMBRS_SYNC__METRICS__LISTEN", &listen),
            ("NMBRS_SYNC__SYNC__SCHEDULE", "0 0 * * * *"),
        ],
    );
    let http = reqwest::Client::new();
    let scrape = async || {
        http.get(format!("http://{listen}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    };
    let mut text = String::new();
    assert!(
        wait_for(Duration::from_secs(30), async || {
            text = scrape().await.unwrap_or_default();
            metric(&text, "nmbrs_sync_runs_total{status=\"succeeded\"}").is_some_and(|v| v >= 1.0)
        })
        .await,
        "the first cycle finishes: {text}"
    );
    let served: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !served.contains(n.as_str()))
        .collect();
    assert!(missing.is_empty(), "not served: {missing:?}\n{text}");
    assert_eq!(
        metric(&text, "nmbrs_sync_schedule_period_seconds"),
        Some(3600.0)
    );
}
