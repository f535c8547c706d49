//! Crash harness (issue 4): `sync --once` as a child process, killed at many points — named crash
//! points (`NMBRS_SYNC_FAILPOINT`, an abort as abrupt as SIGKILL) and SIGKILL at random moments —
//! then restarted until the cycle completes. Between a kill and the restart a person edits one side
//! (HRIS or payroll), and some answers are lost after the server applied the write (stalls past the
//! client's timeout). After every round: no duplicate employee, every change present on both sides,
//! snapshots equal to both sides, audit chain intact, and every edit made on either side is the
//! final value on both sides unless a later edit superseded it (no lost update).
//!
//! Pages hold two records, so companies span many pages and cycles between full reconciles read
//! them incrementally (issue 13; a company that fits on one page is always read whole); every
//! fourth round is all full reconciles. Each round's creates go to one company, so the other is
//! read incrementally even in the round's first cycles. Random SIGKILLs run on two clocks: from
//! the token save (mostly during the reads) and from the run's first company read (the apply
//! phase). The harness counts the kills that hit a run after it had read a company incrementally
//! and fails if there are too few.

use crate::common::{TestApp, person};
use nmbrs_sandbox::{FaultOptions, SandboxOptions};
use nmbrs_sync::fields::Field;
use serde_json::json;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Every named crash point in the code (src/failpoint.rs).
const POINTS: [&str; 11] = [
    "after_write_intent",
    "after_import_intent",
    "after_link",
    "after_write_back",
    "after_get",
    "after_put",
    "after_pull",
    "after_import_insert",
    "before_commit",
    "after_post",
    "after_intent",
];

/// Small deterministic PRNG (xorshift): reproducible trials without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

enum Trial {
    Failpoint(&'static str, u64),
    /// SIGKILL this long after the rotated refresh token is saved (mostly while listings are read).
    KillAfter(Duration),
    /// SIGKILL this long after the run recorded its first company's listings (planned, applying):
    /// with many-page listings the token clock above rarely reaches the apply phase.
    KillAfterRead(Duration),
}

/// How the cycles of a round read Nmbrs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reads {
    /// A full reconcile once a day (the default): after the first cycle, a company with more links
    /// than a page holds is read from its read marks.
    Incremental,
    /// Every cycle a full reconcile (`sync.full_every = 0s`).
    Full,
}

/// The settings of every cycle the harness runs: 1 s timeouts (a stalled answer is lost), pages of
/// two records (see the module doc), and the demo's pacing: the sandbox is local, and at the
/// default 10 requests/s a cycle over two-record pages spent most of a minute waiting for its
/// pacer (a trial's duration was its call count / 10).
fn cycle_env(reads: Reads) -> [(&'static str, &'static str); 4] {
    [
        ("NMBRS_SYNC__NMBRS__TIMEOUT_SECS", "1"),
        ("NMBRS_SYNC__NMBRS__PAGE_SIZE", "2"),
        ("NMBRS_SYNC__NMBRS__MAX_REQUESTS_PER_SEC", "200"),
        (
            "NMBRS_SYNC__SYNC__FULL_EVERY",
            match reads {
                Reads::Incremental => "24h",
                Reads::Full => "0s",
            },
        ),
    ]
}

/// The state database once a run has created its tables (`None` before: the first trial may be
/// killed before its migrations).
async fn migrated_state(app: &TestApp) -> Option<sqlx::SqlitePool> {
    if !app.state_db.exists() {
        return None;
    }
    let state = app.state().await;
    let has_runs: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'sync_runs'")
            .fetch_one(&state)
            .await
            .expect("schema");
    has_runs.then_some(state)
}

/// The newest run recorded in the state database (0: none yet).
async fn last_run(app: &TestApp) -> i64 {
    let Some(state) = migrated_state(app).await else {
        return 0;
    };
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM sync_runs")
        .fetch_one(&state)
        .await
        .expect("runs")
}

/// Whether a run after `after` read a company incrementally: the cycle writes a listing's audit row
/// "… created since <mark>" once that company's plan is incremental (src/sync.rs).
async fn read_incrementally(app: &TestApp, after: i64) -> bool {
    let Some(state) = migrated_state(app).await else {
        return false;
    };
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE run_id > ? AND action = 'read' AND message LIKE '%created since%'",
    )
    .bind(after)
    .fetch_one(&state)
    .await
    .expect("audit");
    n > 0
}

/// Runs one `sync --once`. Returns `None` if it finished, else (killed by the failpoint or
/// SIGKILL) whether the killed run had read a company incrementally.
async fn trial(app: &TestApp, t: &Trial, reads: Reads) -> Option<bool> {
    let mut cmd = app.child_command();
    cmd.args(["sync", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .envs(cycle_env(reads))
        .env("NMBRS_SYNC__NMBRS__MAX_CONCURRENCY", "3");
    if let Trial::Failpoint(name, n) = t {
        cmd.env(nmbrs_sync::failpoint::ENV, format!("{name}:{n}"));
    }
    let token_saved = || async {
        let state = nmbrs_sync::db::open_sqlite(&format!("sqlite:{}", app.state_db.display()), 1)
            .await
            .ok()?;
        sqlx::query_scalar::<_, String>("SELECT updated_at || refresh_token FROM oauth_state")
            .fetch_optional(&state)
            .await
            .ok()
            .flatten()
    };
    let before = token_saved().await;
    let run_before = last_run(app).await;
    let state = migrated_state(app).await;
    let company_read = || async {
        let state = state.as_ref()?;
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM audit_log WHERE run_id > ? AND action = 'read' AND company_id IS NOT NULL LIMIT 1",
        )
        .bind(run_before)
        .fetch_optional(state)
        .await
        .ok()
        .flatten()
    };
    let mut child = cmd.spawn().expect("spawn");
    let status = match t {
        Trial::Failpoint(..) => tokio::time::timeout(Duration::from_secs(60), child.wait())
            .await
            .expect("finishes")
            .expect("wait"),
        Trial::KillAfter(d) | Trial::KillAfterRead(d) => {
            // The clock starts once the rotated refresh token is saved: a kill between Nmbrs issuing
            // it and the save loses the chain, a limit of single-use refresh tokens (see README).
            let deadline = Instant::now() + Duration::from_secs(10);
            while token_saved().await == before
                && Instant::now() < deadline
                && child.try_wait().ok().flatten().is_none()
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            if let Trial::KillAfterRead(_) = t {
                let deadline = Instant::now() + Duration::from_secs(30);
                while state.is_some()
                    && company_read().await.is_none()
                    && Instant::now() < deadline
                    && child.try_wait().ok().flatten().is_none()
                {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            match tokio::time::timeout(*d, child.wait()).await {
                Ok(s) => s.expect("wait"),
                Err(_) => {
                    child.start_kill().expect("SIGKILL");
                    child.wait().await.expect("wait")
                }
            }
        }
    };
    if let (Trial::Failpoint(p, n), Some(code)) = (t, status.code()) {
        eprintln!(
            "note: crash point {p}:{n} not reached (no such step left this round), exit {code}"
        );
    }
    if status.code().is_some() {
        return None;
    }
    let incremental = read_incrementally(app, run_before).await;
    assert!(
        !(incremental && reads == Reads::Full),
        "a cycle with sync.full_every = 0s read incrementally"
    );
    Some(incremental)
}

/// Runs clean cycles until one finishes with nothing left to do.
async fn converge(app: &TestApp, reads: Reads) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let env = cycle_env(reads).map(|(k, v)| (k, Some(v)));
    loop {
        let (code, stdout, stderr) = app.run(&["sync", "--once"], &env).await;
        let quiet = code == 0
            && stdout.contains("created 0, linked 0, updated 0, pulled 0, imported 0")
            && stdout.contains("skipped 0, pending 0")
            && stdout.contains("(0 writes");
        if quiet {
            return;
        }
        assert!(code == 0 || code == 1, "{stdout}{stderr}");
        if Instant::now() >= deadline {
            let last: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT action, hris_id, message FROM audit_log WHERE action IN ('skip', 'error', 'fail', 'reject') ORDER BY id DESC LIMIT 5",
            )
            .fetch_all(&app.state().await)
            .await
            .unwrap_or_default();
            panic!("did not converge: {stdout}{stderr}\nlast skips/errors: {last:#?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The fields edited between kills, with their HRIS columns: personal info and the contract.
const EDITED: [(Field, &str); 3] = [
    (Field::BusinessEmail, "business_email"),
    (Field::PrivateMobilePhone, "private_mobile_phone"),
    (Field::HoursPerWeek, "hours_per_week"),
];

/// A valid BSN (eleven-test) made from `n`.
fn bsn(n: u64) -> String {
    (n * 10..)
        .find_map(|base| {
            let digits = format!("{:08}", base % 100_000_000);
            let sum: u64 = digits
                .bytes()
                .zip((2..=9).rev())
                .map(|(d, w)| u64::from(d - b'0') * w)
                .sum();
            let check = sum % 11;
            (check < 10).then(|| format!("{digits}{check}"))
        })
        .unwrap_or_default()
}

/// An HRIS value as the sync compares it: hours as a number (a REAL column reads `32.0`).
fn canonical(field: Field, v: Option<String>) -> Option<String> {
    match field {
        Field::HoursPerWeek => v
            .and_then(|h| h.parse::<f64>().ok())
            .map(nmbrs_sync::nmbrs::model::history::canonical_decimal),
        _ => v,
    }
}

/// The last edit made to each (hris_id, field): after convergence both sides must hold it.
type Expected = HashMap<(String, Field), String>;

/// A person edits one field of one linked record on one side, between a kill and the restart —
/// only where neither side has a change pending for that field (both show the same value), so the
/// edit is the latest word and must survive whatever the interrupted cycle left behind.
/// Returns whether the edit was a payroll correction in place (a contract's hours: same entry,
/// same `createdAt`), which only a full reconcile sees.
async fn edit_between_kills(app: &TestApp, rng: &mut Rng, n: u64, expected: &mut Expected) -> bool {
    let rows = crate::common::hris_rows(app).await;
    let mut linked: Vec<(String, String)> = rows
        .iter()
        .filter_map(|(h, (e, _))| e.clone().map(|e| (h.clone(), e)))
        .collect();
    if linked.is_empty() {
        return false;
    }
    linked.sort();
    let (mut hris_id, mut employee_id) = linked[rng.below(linked.len() as u64) as usize].clone();
    let (mut field, mut column) = EDITED[rng.below(EDITED.len() as u64) as usize];
    // People edit what is being synced: prefer a field an interrupted update was writing.
    let state = app.state().await;
    let pending: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT hris_id, employee_id, write_intent FROM employee_links WHERE write_intent IS NOT NULL AND employee_id IS NOT NULL",
    )
    .fetch_all(&state)
    .await
    .expect("links");
    let written: Vec<(String, String, Field, &str)> = pending
        .iter()
        .flat_map(|(h, e, intent)| {
            EDITED
                .iter()
                .filter(|(f, _)| intent.contains(&format!("\"{}\"", f.name())))
                .map(|(f, c)| (h.clone(), e.clone(), *f, *c))
                .collect::<Vec<_>>()
        })
        .collect();
    if !written.is_empty() {
        let pick = &written[rng.below(written.len() as u64) as usize];
        (hris_id, employee_id, field, column) = pick.clone();
    }
    let Some(nmbrs) = crate::common::nmbrs_values(app, &employee_id) else {
        return false;
    };
    let nmbrs = nmbrs.get(field).map(str::to_owned);
    if canonical(field, app.hris_value(&hris_id, column).await) != nmbrs {
        return false; // a change is pending on one side: an edit now would be a real conflict
    }
    if field == Field::HoursPerWeek && nmbrs.is_none() {
        return false; // no contract to change
    }
    let value = match field {
        Field::BusinessEmail => format!("edit{n}@between-kills.example"),
        Field::HoursPerWeek => format!("{}", n % 40 + 1),
        _ => format!("+31 6 {:08}", n),
    };
    let mut correction = false;
    if rng.below(2) == 0 {
        let sql = format!("UPDATE hris_employees SET {column} = ? WHERE hris_id = ?");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&value)
            .bind(&hris_id)
            .execute(&app.hris)
            .await
            .expect("hris edit");
    } else if field == Field::HoursPerWeek {
        let hours: f64 = value.parse().expect("hours");
        assert!(
            app.sandbox
                .edit_entry(&employee_id, "contracts", 0, "hoursPerWeek", json!(hours))
        );
        correction = true;
    } else {
        // A new entry (what a PUT or a dated change in Nmbrs makes): an incremental read sees it.
        let path = match field {
            Field::BusinessEmail => "contactInfo.businessEmail",
            _ => "contactInfo.privateMobilePhone",
        };
        assert!(
            app.sandbox
                .edit_personal_info_as_new_entry(&employee_id, path, json!(value))
        );
    }
    expected.insert((hris_id, field), value);
    correction
}

/// Every recorded edit is the value on both sides.
async fn check_no_lost_edit(app: &TestApp, expected: &Expected, round: &str) {
    let rows = crate::common::hris_rows(app).await;
    for ((hris_id, field), value) in expected {
        let (employee_id, hris) = &rows[hris_id];
        let employee_id = employee_id.as_deref().expect("linked");
        let nmbrs = crate::common::nmbrs_values(app, employee_id).expect("employee");
        assert_eq!(
            (
                canonical(*field, hris.get(*field).map(str::to_owned)),
                nmbrs.get(*field)
            ),
            (Some(value.clone()), Some(value.as_str())),
            "{round}: the edit of {field} on {hris_id} was lost"
        );
    }
}

/// Adds one round of work on both sides: creates (some with partner info) in one company, HRIS
/// edits, Nmbrs edits, an import.
async fn add_work(app: &TestApp, round: usize, rng: &mut Rng, expected: &mut Expected) {
    // A row to create or match makes its company read whole: the other one is read incrementally.
    let company = if round.is_multiple_of(2) { "2" } else { "1" };
    for k in 0..4 {
        let n = (round * 10 + k) as i64;
        app.insert(&person(
            &format!("r{round}-{k}"),
            company,
            10_000 + n,
            "New",
            &format!("Hire{n}"),
        ))
        .await;
        if k < 2 {
            sqlx::query("UPDATE hris_employees SET partner_name = ?, marital_status = 'married' WHERE hris_id = ?")
                .bind(format!("Partner {n}"))
                .bind(format!("r{round}-{k}"))
                .execute(&app.hris)
                .await
                .expect("partner");
        }
        if k % 2 == 0 {
            // Hired payroll-ready: the create is followed by one write per resource.
            sqlx::query(
                "UPDATE hris_employees SET in_service_date = '2026-01-01', job_title = 'Sales Lead',
                   department = 'Sales', manager = 'Sem Jansen', contract_start_date = '2026-01-01',
                   hours_per_week = 32, street = 'Naritaweg', house_number = ?, city = 'Amsterdam',
                   country_code_iso = 'NL', bsn = ? WHERE hris_id = ?",
            )
            .bind(n.to_string())
            .bind(bsn(n as u64 + 1))
            .bind(format!("r{round}-{k}"))
            .execute(&app.hris)
            .await
            .expect("resources");
        }
    }
    let existing = crate::common::hris_rows(app).await;
    let mut linked: Vec<(String, String)> = existing
        .iter()
        .filter_map(|(h, (e, _))| e.clone().map(|e| (h.clone(), e)))
        .collect();
    linked.sort();
    // Everything is agreed at this point (the last round converged): these edits are the latest.
    for _ in 0..2.min(linked.len()) {
        let (h, _) = &linked[rng.below(linked.len() as u64) as usize];
        let email = format!("r{round}@example.com");
        sqlx::query("UPDATE hris_employees SET first_name_in_full = ?, business_email = ? WHERE hris_id = ?")
            .bind(format!("Full Name {round}"))
            .bind(&email)
            .bind(h)
            .execute(&app.hris)
            .await
            .expect("edit");
        expected.insert((h.clone(), Field::BusinessEmail), email);
    }
    for _ in 0..2.min(linked.len()) {
        let (h, e) = &linked[rng.below(linked.len() as u64) as usize];
        let phone = format!("+31 6 {round:04} {:04}", rng.below(10_000));
        app.sandbox.edit_personal_info_as_new_entry(
            e,
            "contactInfo.privateMobilePhone",
            json!(phone),
        );
        expected.insert((h.clone(), Field::PrivateMobilePhone), phone);
    }
    app.seed(
        &app.company1,
        50_000 + round as i64,
        "Only",
        &format!("InNmbrs{round}"),
        "1980-05-05",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_anywhere_nothing_is_lost_or_duplicated() {
    let app = TestApp::spawn_with(SandboxOptions {
        latency: Duration::from_millis(4),
        ..Default::default()
    })
    .await;
    let mut rng = Rng(0x5eed_cafe_f00d);
    let started = Instant::now();
    let (mut kills, mut by_point, mut random_kills) = (0u32, HashMap::<&str, u32>::new(), 0u32);
    // Kills that hit a run after it had read a company incrementally, and the named points among them.
    let (mut incremental_kills, mut incremental_points) = (0u32, HashMap::<&str, u32>::new());
    let mut round = 0;
    let mut expected = Expected::new();
    let mut edits = 0u64;
    // Some answers are held back past the client's 1 s timeout after the server applied the write.
    let lost_answers = FaultOptions {
        stall_rate: 0.03,
        stall: Duration::from_millis(1_200),
        ..FaultOptions::default()
    };
    while kills < 100 || round < 2 * POINTS.len() {
        assert!(round < 80, "too many rounds for {kills} kills");
        add_work(&app, round, &mut rng, &mut expected).await;
        let reads = if round % 4 == 3 {
            Reads::Full
        } else {
            Reads::Incremental
        };
        // A correction in place is only seen by a full reconcile: the round then converges on one.
        let mut corrections = false;
        app.sandbox.set_faults(lost_answers.clone());
        // Each round: one crash point (its 1st, 2nd or 3rd hit), then random SIGKILLs; a person edits
        // one side after each kill.
        let point = POINTS[round % POINTS.len()];
        let t = Trial::Failpoint(point, 1 + ((round / POINTS.len()) % 3) as u64);
        if let Some(incremental) = trial(&app, &t, reads).await {
            kills += 1;
            *by_point.entry(point).or_default() += 1;
            if incremental {
                incremental_kills += 1;
                *incremental_points.entry(point).or_default() += 1;
            }
            edits += 1;
            corrections |= edit_between_kills(&app, &mut rng, edits, &mut expected).await;
        }
        for i in 0..2 {
            let d = Duration::from_millis(rng.below(150));
            let t = if i == 0 {
                Trial::KillAfter(d)
            } else {
                Trial::KillAfterRead(d)
            };
            if let Some(incremental) = trial(&app, &t, reads).await {
                kills += 1;
                random_kills += 1;
                incremental_kills += u32::from(incremental);
                edits += 1;
                corrections |= edit_between_kills(&app, &mut rng, edits, &mut expected).await;
            }
        }
        app.sandbox.set_faults(FaultOptions::default());
        converge(&app, if corrections { Reads::Full } else { reads }).await;
        let label = format!("round {round}");
        crate::common::check_invariants(&app, &label).await;
        check_no_lost_edit(&app, &expected, &label).await;
        round += 1;
    }
    println!(
        "crash harness: {kills} kills over {round} rounds in {:.1} s; named points {by_point:?}; random SIGKILLs {random_kills}; {incremental_kills} kills in runs that read incrementally, named points among them {incremental_points:?}; {} edits between kills checked, 0 lost; employees {}",
        started.elapsed().as_secs_f64(),
        expected.len(),
        app.sandbox.employee_count()
    );
    // The extension must not silently degrade to full reads (a page size every company fits on,
    // a plan that always falls back to reading whole).
    assert!(
        incremental_kills >= 10 && incremental_points.len() >= 5,
        "too few kills in runs that read incrementally: {incremental_kills}, at {incremental_points:?}"
    );
    for p in POINTS {
        assert!(
            by_point.get(p).copied().unwrap_or(0) > 0,
            "crash point {p} was never reached"
        );
    }
}
