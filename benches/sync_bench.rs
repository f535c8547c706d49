//! Sync benchmark: the real `nmbrs-sync sync --once` binary (a child process, so its peak RSS is
//! its own) against the in-process Nmbrs sandbox, next to the naive flow of the integration guide
//! (one GET per employee, PUT when changed, sequential; one POST per new employee).
//!
//! ```sh
//! cargo bench --bench sync_bench                                   # everything, full size
//! BENCH_SCENARIOS=noop,changed BENCH_EMPLOYEES=2000 cargo bench --bench sync_bench
//! ```
//!
//! Knobs (environment): `BENCH_SCENARIOS` (comma list of
//! `initial,noop,incremental-noop,changed,plan,big,huge-company`;
//! default all; `noop`, `incremental-noop` and `changed` need the state `initial` leaves and run it
//! first; `incremental-noop` runs after `noop`), `BENCH_EMPLOYEES`
//! (10000), `BENCH_COMPANIES` (20), `BENCH_LATENCY_MS` (20), `BENCH_RATE` (500 requests/s, the
//! sandbox limit and `nmbrs.max_requests_per_sec`), `BENCH_CLIENT_RATE` (`nmbrs.max_requests_per_sec`
//! alone, default `BENCH_RATE`), `BENCH_CONCURRENCY` (20), `BENCH_PAGE_SIZE`
//! (100), `BENCH_CHANGED_PCT` (1.0), `BENCH_NAIVE` (1; 0 skips the naive baseline),
//! `BENCH_PLAN_RECORDS` (100000), `BENCH_BIG_EMPLOYEES` (100000), `BENCH_BIG_COMPANIES` (100),
//! `BENCH_RESOURCES` (`all`: every resource's columns in the HRIS table, 8 listings per company and
//! the debtor's 3 reference lists per cycle; `personal`: personal info only, 1 listing per company),
//! `BENCH_BIN` (the nmbrs-sync binary; default the one cargo built for this bench).
//!
//! Internal roles (the bench re-executes itself): `BENCH_ROLE=wrap` runs the command in its
//! arguments and reports that one child's `ru_maxrss`; `BENCH_ROLE=plan` runs one planner variant
//! and reports its own time and peak RSS.

#[path = "support/naive.rs"]
mod naive;
/// The set-up the integration tests use too (sandbox, HRIS table and rows, the binary's variables).
#[path = "../tests/it/common/setup.rs"]
#[allow(dead_code)] // the bench uses part of it
mod setup;

use naive::Naive;
use nmbrs_sandbox::{ALL_SCOPES, CallStats, DEFAULT_SUBSCRIPTION_KEY, Sandbox, SandboxOptions};
use nmbrs_sync::fields::{Field, FieldValues};
use nmbrs_sync::plan::ConflictPolicy;
use nmbrs_sync::plan::{CompanyInput, NmbrsEmployee, Rules, plan_company};
use nmbrs_sync::record::{Base, Link, LinkStatus};
use nmbrs_sync::record::{HrisRecord, HrisRow};
use serde_json::json;
use setup::{company_of, hris_id, synthetic_person};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

const NAIVE_CLIENT: &str = "bench-naive";
const NAIVE_SECRET: &str = "bench-naive-secret";

fn knob<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Debug)]
struct Knobs {
    scenarios: Vec<String>,
    employees: usize,
    companies: usize,
    latency_ms: u64,
    rate: u32,
    /// `nmbrs.max_requests_per_sec` for nmbrs-sync; defaults to the sandbox limit.
    client_rate: u32,
    concurrency: usize,
    page_size: usize,
    changed_pct: f64,
    naive: bool,
    plan_records: usize,
    big_employees: usize,
    big_companies: usize,
    /// Every resource mapped (`BENCH_RESOURCES=all`), or personal info only.
    all_resources: bool,
}

impl Knobs {
    fn from_env() -> Knobs {
        let scenarios: String = knob(
            "BENCH_SCENARIOS",
            "initial,noop,incremental-noop,changed,plan,big,huge-company".into(),
        );
        Knobs {
            scenarios: scenarios
                .split(',')
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            employees: knob("BENCH_EMPLOYEES", 10_000),
            companies: knob("BENCH_COMPANIES", 20usize).max(1),
            latency_ms: knob("BENCH_LATENCY_MS", 20),
            rate: knob("BENCH_RATE", 500),
            client_rate: knob("BENCH_CLIENT_RATE", knob("BENCH_RATE", 500)),
            concurrency: knob("BENCH_CONCURRENCY", 20),
            page_size: knob("BENCH_PAGE_SIZE", 100usize).max(1),
            changed_pct: knob("BENCH_CHANGED_PCT", 1.0),
            naive: knob("BENCH_NAIVE", 1u8) != 0,
            plan_records: knob("BENCH_PLAN_RECORDS", 100_000),
            big_employees: knob("BENCH_BIG_EMPLOYEES", 100_000),
            big_companies: knob("BENCH_BIG_COMPANIES", 100usize).max(1),
            all_resources: knob("BENCH_RESOURCES", "all".to_owned()) != "personal",
        }
    }

    /// Listings read per company and cycle.
    fn resources(&self) -> u64 {
        if self.all_resources {
            nmbrs_sync::fields::Resource::ALL.len() as u64
        } else {
            1
        }
    }

    /// The debtor's reference-list pages read per cycle (3 short lists with every resource).
    fn debtor_pages(&self) -> u64 {
        if self.all_resources { 3 } else { 0 }
    }
    fn wants(&self, s: &str) -> bool {
        self.scenarios.iter().any(|x| x == s)
    }
}

// ------------------------------------------------------------------ synthetic people
// (`setup::synthetic_person`: person `i` of a data set spread over companies "1".."C")

/// The values of synthetic person `i` (whatever its company).
fn person_values(i: usize) -> FieldValues {
    synthetic_person(i, 1).values()
}

fn per_company(n: usize, companies: usize) -> Vec<usize> {
    (1..=companies)
        .map(|c| (0..n).filter(|i| company_of(*i, companies) == c).count())
        .collect()
}

fn pages(n: usize, page: usize) -> u64 {
    n.div_ceil(page).max(1) as u64
}

// ------------------------------------------------------------------ environment

/// The shared [`setup::Fixture`] (its fields read as the env's own: `env.sandbox`, `env.hris`, …),
/// the naive flow's client and the variables `sync --once` runs with.
struct Env {
    fixture: setup::Fixture,
    naive_refresh: std::sync::Mutex<String>,
    settings_env: Vec<(String, String)>,
}

impl std::ops::Deref for Env {
    type Target = setup::Fixture;
    fn deref(&self) -> &setup::Fixture {
        &self.fixture
    }
}

/// The naive flow's own client in `sandbox`; returns its refresh token.
fn add_naive_client(sandbox: &Sandbox) -> String {
    sandbox.add_client(NAIVE_CLIENT, NAIVE_SECRET, &ALL_SCOPES)
}

impl Env {
    async fn new(
        options: SandboxOptions,
        companies: usize,
        rate: u32,
        concurrency: usize,
        page_size: usize,
        all_resources: bool,
    ) -> Env {
        let fixture = setup::Fixture::start(options, companies).await;
        if !all_resources {
            // A personal-info-only HRIS: the other resources' optional columns do not exist.
            for f in Field::ALL {
                if f.resource() != nmbrs_sync::fields::Resource::PersonalInfo {
                    let sql = format!("ALTER TABLE hris_employees DROP COLUMN {}", f.name());
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&fixture.hris)
                        .await
                        .expect("drop column");
                }
            }
        }
        let naive_refresh = add_naive_client(&fixture.sandbox);
        let mut settings_env = setup::settings_env(&fixture.settings);
        settings_env.extend(
            [
                ("MAX_REQUESTS_PER_SEC", rate.to_string()),
                ("MAX_CONCURRENCY", concurrency.to_string()),
                ("PAGE_SIZE", page_size.to_string()),
                ("TIMEOUT_SECS", "30".to_owned()),
            ]
            .map(|(key, value)| (format!("NMBRS_SYNC__NMBRS__{key}"), value)),
        );
        // Every cycle a full reconcile unless a scenario says otherwise (`sync_once_incremental`).
        settings_env.push(("NMBRS_SYNC__SYNC__FULL_EVERY".into(), "0s".into()));
        Env {
            fixture,
            naive_refresh: std::sync::Mutex::new(naive_refresh),
            settings_env,
        }
    }

    async fn naive(&self) -> Naive {
        let refresh = self.naive_refresh.lock().unwrap().clone();
        let naive = Naive::connect(
            &self.running.base_url(),
            &self.running.token_url(),
            NAIVE_CLIENT,
            NAIVE_SECRET,
            &refresh,
            DEFAULT_SUBSCRIPTION_KEY,
        )
        .await
        .expect("naive token");
        *self.naive_refresh.lock().unwrap() = naive.next_refresh_token.clone();
        naive
    }

    /// Runs `nmbrs-sync sync --once` as a grandchild under a wrapper that reports its peak RSS.
    async fn sync_once(&self) -> ChildRun {
        run_binary(&self.settings_env, self.dir.path()).await
    }

    /// A quiet day for both sides: every Nmbrs stamp moved back 23 h, and the HRIS rows last
    /// edited a minute apart, the newest as long ago.
    async fn quiet_day(&self) {
        let day = Duration::from_secs(23 * 3600);
        self.sandbox.age(day);
        setup::age_hris(&self.hris, day, Duration::from_secs(60)).await;
    }

    /// `sync --once` reading incrementally between full reconciles (`sync.full_every = 24h`).
    async fn sync_once_incremental(&self) -> ChildRun {
        let mut env = self.settings_env.clone();
        env.push(("NMBRS_SYNC__SYNC__FULL_EVERY".into(), "24h".into()));
        run_binary(&env, self.dir.path()).await
    }
}

// ------------------------------------------------------------------ child processes

#[derive(Debug)]
struct ChildRun {
    wall: Duration,
    /// User + system CPU time of nmbrs-sync.
    cpu: Duration,
    max_rss_kb: u64,
    exit: i32,
    summary: String,
}

fn binary() -> PathBuf {
    std::env::var_os("BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(setup::BIN))
}

async fn run_binary(env: &[(String, String)], dir: &Path) -> ChildRun {
    let env = env.to_vec();
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("nmbrs-sync.log"))
            .expect("log file");
        let exe = std::env::current_exe().expect("current exe");
        let out = setup::command(exe, &dir, &env)
            .env("BENCH_ROLE", "wrap")
            .arg(binary())
            .args(["sync", "--once"])
            .stdout(Stdio::piped())
            .stderr(log)
            .output()
            .expect("wrapper runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |key: &str| -> Option<u64> {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
        };
        ChildRun {
            wall: Duration::from_micros(field("BENCH_WALL_US=").unwrap_or(0)),
            cpu: Duration::from_micros(field("BENCH_CPU_US=").unwrap_or(0)),
            max_rss_kb: field("BENCH_MAX_RSS_KB=").unwrap_or(0),
            exit: field("BENCH_EXIT=").map(|v| v as i32).unwrap_or(-1),
            summary: stdout
                .lines()
                .find(|l| l.starts_with("run "))
                .unwrap_or("")
                .to_owned(),
        }
    })
    .await
    .expect("join")
}

/// `BENCH_ROLE=wrap`: run argv[1..] (its stdout passed through), then print wall time, exit code
/// and `getrusage(RUSAGE_CHILDREN).ru_maxrss` — this wrapper has exactly one child, so it is that
/// child's peak RSS. (Linux folds the pre-exec image's peak into ru_maxrss; the pre-exec image of
/// the grandchild is this small wrapper, not the bench process holding the sandbox, so the figure
/// is nmbrs-sync's own; the wrapper's own RSS is a few MB at most.)
fn wrap_main() -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let status = Command::new(&args[0])
        .args(&args[1..])
        .status()
        .expect("spawn child");
    let wall = started.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    println!("BENCH_WALL_US={}", wall.as_micros());
    println!("BENCH_MAX_RSS_KB={}", usage.max_rss());
    let cpu = |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64;
    println!(
        "BENCH_CPU_US={}",
        cpu(usage.user_time()) + cpu(usage.system_time())
    );
    println!("BENCH_EXIT={}", status.code().unwrap_or(-1));
    std::process::exit(0)
}

fn self_rss_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

// ------------------------------------------------------------------ planning only

/// Inputs of one company for the planner: `n` records starting at person `first`.
/// `mode`: "unchanged" (linked, snapshot = both sides), "changed" (as unchanged, `pct` % edited in
/// the HRIS and another `pct` % in Nmbrs), "link" (unlinked rows, each matching one employee).
struct PlanCompany {
    company_id: String,
    number: String,
    hris: Vec<HrisRow>,
    links: Vec<Link>,
    nmbrs: Vec<NmbrsEmployee>,
}

fn plan_company_input(c: usize, first: usize, n: usize, mode: &str, pct: f64) -> PlanCompany {
    let company_id = format!("company-{c}");
    let step = if pct > 0.0 {
        ((100.0 / pct).round() as usize).max(1)
    } else {
        usize::MAX
    };
    let mut hris = Vec::with_capacity(n);
    let mut links = Vec::with_capacity(n);
    let mut nmbrs = Vec::with_capacity(n);
    for i in first..first + n {
        let v = person_values(i);
        let employee_id = format!("emp-{i:07}-0000-0000-0000-000000000000");
        let mut hv = v.clone();
        let mut nv = v.clone();
        if mode == "changed" && i % step == 0 {
            hv.set(Field::LastName, Some(&format!("Last{i}H")));
        }
        if mode == "changed" && i % step == step / 2 {
            nv.set(Field::LastName, Some(&format!("Last{i}N")));
        }
        let linked = mode != "link";
        hris.push(Ok(HrisRecord {
            rowid: i as i64 + 1,
            hris_id: hris_id(i),
            company_number: c.to_string(),
            nmbrs_employee_id: linked.then(|| employee_id.clone()),
            values: hv,
            unresolved: Vec::new(),
        }));
        if linked {
            let mut l = Link::new(&hris_id(i), &company_id, LinkStatus::Linked);
            l.employee_id = Some(employee_id.clone());
            l.personal_info_id = Some(format!("pi-{i}"));
            l.base = Base::of(&v);
            links.push(l);
        }
        nmbrs.push(NmbrsEmployee {
            employee_id,
            personal_info_id: Some(format!("pi-{i}")),
            values: nv,
            ..NmbrsEmployee::default()
        });
    }
    PlanCompany {
        company_id,
        number: c.to_string(),
        hris,
        links,
        nmbrs,
    }
}

/// `BENCH_ROLE=plan`: `BENCH_PLAN_VARIANT=mode:companies:per_company`. Builds each company's input,
/// plans it (timed), drops it — the shape of a sync cycle — and prints time and memory.
fn plan_main() -> ! {
    let variant: String = knob("BENCH_PLAN_VARIANT", "unchanged:1:100000".to_string());
    let pct: f64 = knob("BENCH_CHANGED_PCT", 1.0);
    let parts: Vec<&str> = variant.split(':').collect();
    let (mode, companies, per): (&str, usize, usize) = (
        parts[0],
        parts[1].parse().unwrap(),
        parts[2].parse().unwrap(),
    );
    let rules = Rules::all_fields(ConflictPolicy::HrisWins);
    let now = time::OffsetDateTime::now_utc();
    let mut planned = Duration::ZERO;
    let mut decisions = 0usize;
    let mut counts = [0usize; 3]; // unchanged/no-op updates, updates with changes, other
    let mut rss_inputs = 0;
    for c in 1..=companies {
        let input = plan_company_input(c, (c - 1) * per, per, mode, pct);
        rss_inputs = rss_inputs.max(self_rss_kb("VmRSS:"));
        let ci = CompanyInput {
            company_id: &input.company_id,
            company_number: &input.number,
            hris: &input.hris,
            links: &input.links,
            foreign_links: &[],
            nmbrs: &input.nmbrs,
            now,
            intent_grace: time::Duration::seconds(60),
        };
        let t = Instant::now();
        let d = plan_company(&ci, &rules);
        planned += t.elapsed();
        decisions += d.len();
        for x in &d {
            match x {
                nmbrs_sync::plan::Decision::Unchanged { .. } => counts[0] += 1,
                nmbrs_sync::plan::Decision::Update(u) if u.is_noop() => counts[0] += 1,
                nmbrs_sync::plan::Decision::Update(_) => counts[1] += 1,
                _ => counts[2] += 1,
            }
        }
    }
    // VmHWM, not getrusage(RUSAGE_SELF): Linux carries the pre-exec image's peak (here the bench
    // parent, which holds the sandbox) over into ru_maxrss; VmHWM belongs to this image only.
    let hwm = self_rss_kb("VmHWM:");
    println!("BENCH_PLAN_US={}", planned.as_micros());
    println!("BENCH_PLAN_DECISIONS={decisions}");
    println!(
        "BENCH_PLAN_KINDS=noop {} / update {} / other {}",
        counts[0], counts[1], counts[2]
    );
    println!("BENCH_PLAN_RSS_INPUTS_KB={rss_inputs}");
    println!("BENCH_PLAN_MAX_RSS_KB={hwm}");
    std::process::exit(0)
}

struct PlanRun {
    variant: String,
    time: Duration,
    decisions: String,
    kinds: String,
    rss_inputs_kb: u64,
    max_rss_kb: u64,
}

fn run_plan_child(variant: &str, pct: f64) -> PlanRun {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .env("BENCH_ROLE", "plan")
        .env("BENCH_PLAN_VARIANT", variant)
        .env("BENCH_CHANGED_PCT", pct.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("plan child");
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    let get = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    PlanRun {
        variant: variant.to_owned(),
        time: Duration::from_micros(get("BENCH_PLAN_US=").parse().unwrap_or(0)),
        decisions: get("BENCH_PLAN_DECISIONS="),
        kinds: get("BENCH_PLAN_KINDS="),
        rss_inputs_kb: get("BENCH_PLAN_RSS_INPUTS_KB=").parse().unwrap_or(0),
        max_rss_kb: get("BENCH_PLAN_MAX_RSS_KB=").parse().unwrap_or(0),
    }
}

// ------------------------------------------------------------------ reporting

struct Row {
    scenario: String,
    flow: &'static str,
    calls: u64,
    reads: u64,
    writes: u64,
    throttled: u64,
    wall: Duration,
    rate: Option<u32>,
    rss_kb: Option<u64>,
    /// CPU seconds of the nmbrs-sync process (child rows only).
    cpu: Option<Duration>,
    note: String,
}

impl Row {
    fn from_stats(
        scenario: &str,
        flow: &'static str,
        s: &CallStats,
        wall: Duration,
        rate: Option<u32>,
        rss_kb: Option<u64>,
        note: String,
    ) -> Row {
        Row {
            scenario: scenario.into(),
            flow,
            calls: s.total,
            reads: s.calls_matching("GET "),
            writes: s.calls_matching("POST ") + s.calls_matching("PUT "),
            throttled: s.throttled,
            wall,
            rate,
            rss_kb,
            cpu: None,
            note,
        }
    }

    /// The row of one `sync --once` run of nmbrs-sync: its calls, wall time, peak RSS and CPU.
    fn of_run(
        scenario: &str,
        s: &CallStats,
        run: &ChildRun,
        rate: Option<u32>,
        note: String,
    ) -> Row {
        Row {
            cpu: Some(run.cpu),
            ..Row::from_stats(
                scenario,
                "nmbrs-sync",
                s,
                run.wall,
                rate,
                Some(run.max_rss_kb),
                note,
            )
        }
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| {:<24} | {:<10} | {:>9} | {:>7} | {:>7} | {:>5} | {:>9} | {:>8} | {:>9} | {:>9} | {:>7} | notes",
        "scenario",
        "flow",
        "API calls",
        "GETs",
        "writes",
        "429s",
        "wall s",
        "calls/s",
        "% of rate",
        "peak RSS",
        "CPU s"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|---",
        "-".repeat(26),
        "-".repeat(12),
        "-".repeat(11),
        "-".repeat(9),
        "-".repeat(9),
        "-".repeat(7),
        "-".repeat(11),
        "-".repeat(10),
        "-".repeat(11),
        "-".repeat(11),
        "-".repeat(9)
    );
    for r in rows {
        let secs = r.wall.as_secs_f64();
        let cps = if secs > 0.0 {
            r.calls as f64 / secs
        } else {
            0.0
        };
        println!(
            "| {:<24} | {:<10} | {:>9} | {:>7} | {:>7} | {:>5} | {:>9.2} | {:>8.1} | {:>9} | {:>9} | {:>7} | {}",
            r.scenario,
            r.flow,
            r.calls,
            r.reads,
            r.writes,
            r.throttled,
            secs,
            cps,
            r.rate
                .map(|rate| format!("{:.1} %", 100.0 * cps / rate as f64))
                .unwrap_or_else(|| "-".into()),
            r.rss_kb
                .map(|kb| format!("{:.1} MB", kb as f64 / 1024.0))
                .unwrap_or_else(|| "-".into()),
            r.cpu
                .map(|c| format!("{:.2}", c.as_secs_f64()))
                .unwrap_or_else(|| "-".into()),
            r.note
        );
    }
}

fn ratio_line(rows: &[Row], scenario: &str) -> Option<String> {
    let ours = rows
        .iter()
        .find(|r| r.scenario == scenario && r.flow == "nmbrs-sync")?;
    let naive = rows
        .iter()
        .find(|r| r.scenario == scenario && r.flow == "naive")?;
    Some(format!(
        "{scenario}: naive/nmbrs-sync = {:.1}× calls, {:.1}× wall time",
        naive.calls as f64 / ours.calls.max(1) as f64,
        naive.wall.as_secs_f64() / ours.wall.as_secs_f64().max(1e-9)
    ))
}

fn check(checks: &mut Vec<String>, ok: bool, what: String) {
    checks.push(format!("[{}] {what}", if ok { "PASS" } else { "FAIL" }));
}

fn progress(msg: &str) {
    eprintln!("[sync_bench] {msg}");
}

// ------------------------------------------------------------------ scenarios

async fn network_scenarios(k: &Knobs, rows: &mut Vec<Row>, checks: &mut Vec<String>) {
    let options = SandboxOptions {
        latency: Duration::from_millis(k.latency_ms),
        rate_limit_per_sec: Some(k.rate),
        max_page_size: 100,
        ..SandboxOptions::default()
    };
    let n = k.employees;
    let sizes = per_company(n, k.companies);
    let company_pages = pages(k.companies, k.page_size.min(100));
    let listing_pages: u64 = sizes.iter().map(|&s| pages(s, k.page_size.min(100))).sum();
    let env = Env::new(
        options.clone(),
        k.companies,
        k.client_rate,
        k.concurrency,
        k.page_size,
        k.all_resources,
    )
    .await;
    setup::insert_people(&env.hris, n, k.companies).await;
    let label = |s: &str| format!("{s} ({}k/{}c)", n as f64 / 1000.0, k.companies);

    // ---- initial load
    progress(&format!(
        "initial load: {n} employees, {} companies",
        k.companies
    ));
    env.sandbox.reset_stats();
    let run = env.sync_once().await;
    let s = env.sandbox.stats();
    progress(&format!("  {} (exit {})", run.summary, run.exit));
    let (r, debtor) = (k.resources(), k.debtor_pages());
    let expected = company_pages + r * k.companies as u64 + debtor + n as u64;
    rows.push(Row::of_run(
        &label("initial load"),
        &s,
        &run,
        Some(k.rate),
        format!("exit {}; expected calls {expected}", run.exit),
    ));
    let cps = s.total as f64 / run.wall.as_secs_f64();
    check(
        checks,
        cps >= 0.95 * k.rate as f64,
        format!(
            "initial load throughput {:.1} calls/s = {:.1} % of the {} /s limit (target ≥ 95 %)",
            cps,
            100.0 * cps / k.rate as f64,
            k.rate
        ),
    );
    check(
        checks,
        (s.throttled as f64) <= 0.01 * s.total as f64,
        format!(
            "initial load 429s: {} of {} calls = {:.2} % (target ≤ 1 %)",
            s.throttled,
            s.total,
            100.0 * s.throttled as f64 / s.total.max(1) as f64
        ),
    );
    check(
        checks,
        s.total == expected && s.calls_matching("POST ") == n as u64,
        format!(
            "initial load calls {} = companies pages {company_pages} + {r} listings × {} companies + debtor lists {debtor} + POSTs {} (expected {expected})",
            s.total,
            k.companies,
            s.calls_matching("POST ")
        ),
    );

    if k.naive {
        progress(&format!(
            "naive initial load: {n} sequential POSTs on a fresh sandbox"
        ));
        let (fresh, _) = setup::sandbox(options.clone(), k.companies);
        let naive_refresh = add_naive_client(&fresh);
        let fresh_running = fresh.start(0).await.expect("sandbox");
        let mut naive = Naive::connect(
            &fresh_running.base_url(),
            &fresh_running.token_url(),
            NAIVE_CLIENT,
            NAIVE_SECRET,
            &naive_refresh,
            DEFAULT_SUBSCRIPTION_KEY,
        )
        .await
        .expect("naive token");
        let ids: Vec<String> = (1..=k.companies)
            .map(|c| fresh.company_id(&c.to_string()).expect("company"))
            .collect();
        fresh.reset_stats();
        let t = Instant::now();
        for i in 0..n {
            naive
                .create(&ids[company_of(i, k.companies) - 1], &person_values(i))
                .await
                .expect("naive create");
        }
        let wall = t.elapsed();
        let s = fresh.stats();
        rows.push(Row::from_stats(
            &label("initial load"),
            "naive",
            &s,
            wall,
            Some(k.rate),
            None,
            "one POST per employee, sequential".into(),
        ));
        fresh_running.shutdown().await;
    }

    if !k.wants("noop") && !k.wants("changed") && !k.wants("incremental-noop") {
        env.fixture.running.shutdown().await;
        return;
    }
    // ---- no-op
    progress("no-op cycle");
    env.sandbox.reset_stats();
    let run = env.sync_once().await;
    let s = env.sandbox.stats();
    progress(&format!("  {} (exit {})", run.summary, run.exit));
    let noop_expected = company_pages + r * listing_pages + debtor;
    rows.push(Row::of_run(
        &label("no-op"),
        &s,
        &run,
        Some(k.rate),
        format!("exit {}; expected calls {noop_expected}", run.exit),
    ));
    check(
        checks,
        s.total <= noop_expected + 2 && s.writes == 0 && s.calls_matching("P") == 0,
        format!(
            "no-op calls {} ≤ companies pages {company_pages} + {r} resources × listing pages {listing_pages} + debtor lists {debtor} + const; writes {}",
            s.total,
            s.calls_matching("POST ") + s.calls_matching("PUT ")
        ),
    );
    let noop_calls = s.total;
    if k.wants("incremental-noop") {
        // A quiet day later (every stamp moved back 23 h), between full reconciles: each listing is
        // read from its read mark and is empty.
        env.quiet_day().await;
        progress("incremental no-op cycle (a quiet day later)");
        env.sandbox.reset_stats();
        let run = env.sync_once_incremental().await;
        let s = env.sandbox.stats();
        progress(&format!("  {} (exit {})", run.summary, run.exit));
        let expected = company_pages + r * k.companies as u64 + debtor;
        rows.push(Row::of_run(
            &label("incremental no-op"),
            &s,
            &run,
            Some(k.rate),
            format!("exit {}; expected calls {expected}", run.exit),
        ));
        check(
            checks,
            s.total == expected && s.writes == 0,
            format!(
                "incremental no-op calls {} = companies pages {company_pages} + {r} listings × {} companies (one empty page each) + debtor lists {debtor} (expected {expected}); full no-op {noop_calls} = {:.1}× ; writes {}",
                s.total,
                k.companies,
                noop_calls as f64 / s.total.max(1) as f64,
                s.writes
            ),
        );
    }
    if k.naive {
        progress(&format!("naive no-op: {n} sequential GETs"));
        let data = setup::linked_rows(&env.hris).await;
        let mut naive = env.naive().await;
        env.sandbox.reset_stats();
        let t = Instant::now();
        let pass = naive.sync_all(&data).await.expect("naive pass");
        let wall = t.elapsed();
        let s = env.sandbox.stats();
        rows.push(Row::from_stats(
            &label("no-op"),
            "naive",
            &s,
            wall,
            Some(k.rate),
            None,
            format!("{} GETs, {} PUTs", pass.gets, pass.puts),
        ));
        // The naive flow reads personal info only (one GET per employee); reading every mapped
        // resource of every employee one at a time would take one GET per employee and resource.
        let naive_all = s.total * r;
        check(
            checks,
            naive_all >= 50 * noop_calls,
            format!(
                "no-op: naive per-employee flow {naive_all} calls ({} measured GETs × {r} resources) vs nmbrs-sync {noop_calls} = {:.1}× (target ≥ 50×)",
                s.total,
                naive_all as f64 / noop_calls.max(1) as f64
            ),
        );
    }

    if !k.wants("changed") {
        env.fixture.running.shutdown().await;
        return;
    }
    // ---- 1 % changed on each side
    let changed = ((n as f64 * k.changed_pct / 100.0).ceil() as usize).clamp(1, n / 2);
    let step = n / changed;
    let data = setup::linked_rows(&env.hris).await;
    let hris_edits: Vec<usize> = (0..changed).map(|j| j * step).collect();
    let nmbrs_edits: Vec<usize> = (0..changed).map(|j| j * step + step / 2).collect();
    let edit_round = |round: &'static str| {
        let hris_edits = hris_edits.clone();
        let nmbrs_edits = nmbrs_edits.clone();
        let data = &data;
        let env = &env;
        async move {
            for &i in &hris_edits {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE hris_employees SET last_name = 'Last{i}H{round}', updated_at = datetime('now') WHERE hris_id = ?"
                )))
                .bind(hris_id(i))
                .execute(&env.hris)
                .await
                .expect("hris edit");
            }
            for &i in &nmbrs_edits {
                assert!(env.sandbox.edit_personal_info(
                    &data[i].0,
                    "basicInfo.lastName",
                    json!(format!("Last{i}N{round}"))
                ));
            }
        }
    };
    progress(&format!(
        "{changed} HRIS rows and {changed} Nmbrs employees edited; nmbrs-sync cycle"
    ));
    edit_round("").await;
    env.sandbox.reset_stats();
    let run = env.sync_once().await;
    let s = env.sandbox.stats();
    progress(&format!("  {} (exit {})", run.summary, run.exit));
    let pulled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM hris_employees WHERE last_name LIKE 'Last%N'")
            .fetch_one(&env.hris)
            .await
            .expect("count");
    let pct_label = format!("{} % changed", k.changed_pct);
    let expected = noop_expected + 2 * changed as u64;
    rows.push(Row::of_run(
        &label(&pct_label),
        &s,
        &run,
        Some(k.rate),
        format!(
            "exit {}; expected calls {expected}; {pulled} pulls into the HRIS (no API call)",
            run.exit
        ),
    ));
    check(
        checks,
        s.total == expected
            && s.calls_matching("PUT ") == changed as u64
            // One history read per changed employee (`personalinfo?employeeId=`) right before its PUT.
            && s.calls_matching("GET ") == noop_expected + changed as u64
            && pulled == changed as i64,
        format!(
            "{pct_label}: calls {} = no-op reads {noop_expected} + 2 × {changed} HRIS-changed (GET {} + PUT {}); {pulled}/{changed} Nmbrs changes pulled with no call",
            s.total,
            s.calls_matching("GET ") - noop_expected,
            s.calls_matching("PUT ")
        ),
    );
    let ours_calls = s.total;
    if k.naive {
        progress("second round of edits on the same records; naive pass");
        edit_round("2").await;
        let data = setup::linked_rows(&env.hris).await;
        let mut naive = env.naive().await;
        env.sandbox.reset_stats();
        let t = Instant::now();
        let pass = naive.sync_all(&data).await.expect("naive pass");
        let wall = t.elapsed();
        let s = env.sandbox.stats();
        rows.push(Row::from_stats(
            &label(&pct_label),
            "naive",
            &s,
            wall,
            Some(k.rate),
            None,
            format!(
                "{} GETs, {} PUTs (it overwrites the {changed} Nmbrs-side edits: no snapshot)",
                pass.gets, pass.puts
            ),
        ));
        progress(&format!(
            "  naive {} calls vs nmbrs-sync {ours_calls}",
            s.total
        ));
    }
    env.fixture.running.shutdown().await;
}

/// `big` (`BENCH_BIG_EMPLOYEES` over `BENCH_BIG_COMPANIES`) and `huge-company` (the same employees
/// in one company): the link cycle, a full no-op, an incremental no-op a quiet day later and an
/// incremental cycle with `BENCH_CHANGED_PCT` of the records changed on each side (Nmbrs edits
/// saved as new entries, what `createdFrom` sees).
async fn big_scenario(k: &Knobs, companies: usize, rows: &mut Vec<Row>, checks: &mut Vec<String>) {
    let n = k.big_employees;
    let page = k.page_size.min(100);
    let options = SandboxOptions {
        latency: Duration::ZERO,
        rate_limit_per_sec: None,
        max_page_size: 100,
        ..SandboxOptions::default()
    };
    let env = Env::new(
        options,
        companies,
        5000,
        k.concurrency,
        k.page_size,
        k.all_resources,
    )
    .await;
    progress(&format!(
        "big: seeding {n} matching employees in the sandbox and the HRIS ({companies} companies)"
    ));
    let t = Instant::now();
    let ids: Vec<String> = (1..=companies)
        .map(|c| env.sandbox.company_id(&c.to_string()).expect("company"))
        .collect();
    for i in 0..n {
        env.sandbox.seed_employee(
            &ids[company_of(i, companies) - 1],
            synthetic_person(i, companies).employee_json(),
        );
    }
    setup::insert_people(&env.hris, n, companies).await;
    progress(&format!("  seeded in {:.1} s", t.elapsed().as_secs_f64()));
    let label = format!("big {}k/{companies}c", n / 1000);
    let listing_pages: u64 = per_company(n, companies)
        .iter()
        .map(|&s| pages(s, page))
        .sum();
    let noop_expected = pages(companies, page) + k.resources() * listing_pages + k.debtor_pages();
    let rss_check = |checks: &mut Vec<String>, what: &str, run: &ChildRun| {
        check(
            checks,
            run.max_rss_kb < 64 * 1024,
            format!(
                "{label} {what} peak RSS {:.1} MB (target < 64 MB)",
                run.max_rss_kb as f64 / 1024.0
            ),
        );
    };
    let cpu_check = |checks: &mut Vec<String>, what: &str, run: &ChildRun, target: f64| {
        check(
            checks,
            run.cpu.as_secs_f64() <= target,
            format!(
                "{label} {what}: {:.2} CPU s (target ≤ {target} CPU s at 100k)",
                run.cpu.as_secs_f64()
            ),
        );
    };

    progress("big: first cycle (links every record, no API writes)");
    env.sandbox.reset_stats();
    let run = env.sync_once().await;
    let s = env.sandbox.stats();
    progress(&format!("  {} (exit {})", run.summary, run.exit));
    rows.push(Row::of_run(
        &format!("{label} link cycle"),
        &s,
        &run,
        None,
        format!("exit {}; latency 0, no rate limit", run.exit),
    ));
    check(
        checks,
        s.total == noop_expected && s.writes == 0,
        format!(
            "{label} link cycle: {} calls (expected {noop_expected}), {} writes",
            s.total, s.writes
        ),
    );
    check(
        checks,
        run.wall.as_secs_f64() <= 6.0,
        format!(
            "{label} link cycle: {:.1} s wall (target ≤ 6 s at 100k)",
            run.wall.as_secs_f64()
        ),
    );
    rss_check(checks, "link cycle", &run);

    progress("big: no-op cycle (full read)");
    env.sandbox.reset_stats();
    let run = env.sync_once().await;
    let s = env.sandbox.stats();
    progress(&format!("  {} (exit {})", run.summary, run.exit));
    rows.push(Row::of_run(
        &format!("{label} no-op"),
        &s,
        &run,
        None,
        format!("exit {}; expected calls {noop_expected}", run.exit),
    ));
    check(
        checks,
        s.total == noop_expected && s.writes == 0,
        format!(
            "{label} no-op: {} calls (expected {noop_expected}), {} writes",
            s.total, s.writes
        ),
    );
    rss_check(checks, "no-op", &run);
    let full_calls = s.total;
    let full_cpu = run.cpu;

    // A quiet day later, between full reconciles: one empty page per listing.
    env.quiet_day().await;
    progress("big: incremental no-op cycle (a quiet day later)");
    env.sandbox.reset_stats();
    let run = env.sync_once_incremental().await;
    let s = env.sandbox.stats();
    progress(&format!("  {} (exit {})", run.summary, run.exit));
    let expected = pages(companies, page) + k.resources() * companies as u64 + k.debtor_pages();
    rows.push(Row::of_run(
        &format!("{label} incremental no-op"),
        &s,
        &run,
        None,
        format!(
            "exit {}; full no-op = {:.1}× calls, {:.1}× CPU",
            run.exit,
            full_calls as f64 / s.total.max(1) as f64,
            full_cpu.as_secs_f64() / run.cpu.as_secs_f64().max(1e-3)
        ),
    ));
    check(
        checks,
        s.total == expected && s.writes == 0,
        format!(
            "{label} incremental no-op: {} calls (expected {expected} = companies pages + {} listings × {companies} companies + debtor lists), {} writes",
            s.total,
            k.resources(),
            s.writes
        ),
    );
    cpu_check(checks, "incremental no-op", &run, 1.5);
    rss_check(checks, "incremental no-op", &run);

    // BENCH_CHANGED_PCT of the records changed on each side, then an incremental cycle.
    let changed = ((n as f64 * k.changed_pct / 100.0).ceil() as usize).clamp(1, n / 2);
    let step = n / changed;
    let data = setup::linked_rows(&env.hris).await;
    for j in 0..changed {
        let i = j * step;
        sqlx::query(
            "UPDATE hris_employees SET last_name = ?, updated_at = datetime('now') WHERE hris_id = ?",
        )
        .bind(format!("Last{i}H"))
        .bind(hris_id(i))
        .execute(&env.hris)
        .await
        .expect("hris edit");
        let e = j * step + step / 2;
        assert!(env.sandbox.edit_personal_info_as_new_entry(
            &data[e].0,
            "basicInfo.lastName",
            json!(format!("Last{e}N"))
        ));
    }
    progress(&format!(
        "big: {changed} HRIS rows and {changed} Nmbrs employees edited; incremental cycle"
    ));
    env.sandbox.reset_stats();
    let run = env.sync_once_incremental().await;
    let s = env.sandbox.stats();
    progress(&format!("  {} (exit {})", run.summary, run.exit));
    let pulled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM hris_employees WHERE last_name LIKE 'Last%N'")
            .fetch_one(&env.hris)
            .await
            .expect("count");
    let pct = format!("{} % changed", k.changed_pct);
    rows.push(Row::of_run(
        &format!("{label} incremental {pct}"),
        &s,
        &run,
        None,
        format!(
            "exit {}; {} PUTs, {pulled} pulls; full no-op = {:.1}× calls",
            run.exit,
            s.calls_matching("PUT "),
            full_calls as f64 / s.total.max(1) as f64
        ),
    ));
    // Never more than a full cycle (the full read plus a GET and a PUT per HRIS-side change) and the
    // incremental probe (one page per listing) that found the changes.
    let bound = full_calls + 2 * changed as u64 + expected;
    check(
        checks,
        run.exit == 0
            && s.calls_matching("PUT ") == changed as u64
            && pulled == changed as i64
            && s.total <= bound,
        format!(
            "{label} incremental {pct}: {} PUTs and {pulled} pulls for {changed} + {changed} edits, {} calls (≤ {bound}: full no-op {full_calls} + 2 × {changed} + the probe {expected})",
            s.calls_matching("PUT "),
            s.total
        ),
    );
    rss_check(checks, &format!("incremental {pct}"), &run);
    env.fixture.running.shutdown().await;
}

fn plan_scenarios(k: &Knobs, plan_rows: &mut Vec<PlanRun>, checks: &mut Vec<String>) {
    let n = k.plan_records;
    let per_1000 = n.div_ceil(1000);
    let link_big = (n / 10).max(1);
    let variants = [
        format!("unchanged:1:{n}"),
        format!("changed:1:{n}"),
        format!("unchanged:{per_1000}:1000"),
        format!("changed:{per_1000}:1000"),
        format!("link:{per_1000}:1000"),
        format!("link:1:{link_big}"),
    ];
    for v in &variants {
        progress(&format!("planning only: {v}"));
        let r = run_plan_child(v, k.changed_pct);
        progress(&format!(
            "  {:.3} s, peak RSS {:.1} MB",
            r.time.as_secs_f64(),
            r.max_rss_kb as f64 / 1024.0
        ));
        if v.starts_with("unchanged:1:") || v.starts_with("changed:1:") {
            check(
                checks,
                r.time < Duration::from_secs(1),
                format!("planning {v}: {:.3} s (target < 1 s)", r.time.as_secs_f64()),
            );
        }
        plan_rows.push(r);
    }
}

fn print_plan_table(rows: &[PlanRun]) {
    println!();
    println!(
        "| {:<22} | {:>10} | {:>9} | {:>16} | {:>14} | decision kinds",
        "planning only (mode:companies:per company)",
        "plan time",
        "decisions",
        "RSS after inputs",
        "peak RSS"
    );
    println!(
        "|{}|{}|{}|{}|{}|---",
        "-".repeat(44),
        "-".repeat(12),
        "-".repeat(11),
        "-".repeat(18),
        "-".repeat(16)
    );
    for r in rows {
        println!(
            "| {:<42} | {:>8.3} s | {:>9} | {:>13.1} MB | {:>11.1} MB | {}",
            r.variant,
            r.time.as_secs_f64(),
            r.decisions,
            r.rss_inputs_kb as f64 / 1024.0,
            r.max_rss_kb as f64 / 1024.0,
            r.kinds
        );
    }
}

fn main() {
    match std::env::var("BENCH_ROLE").as_deref() {
        Ok("wrap") => wrap_main(),
        Ok("plan") => plan_main(),
        _ => {}
    }
    let k = Knobs::from_env();
    progress(&format!("{k:?}"));
    progress(&format!("nmbrs-sync binary: {}", binary().display()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    let mut plan_rows = Vec::new();
    let mut checks = Vec::new();
    let started = Instant::now();
    rt.block_on(async {
        if k.wants("initial")
            || k.wants("noop")
            || k.wants("incremental-noop")
            || k.wants("changed")
        {
            network_scenarios(&k, &mut rows, &mut checks).await;
        }
        if k.wants("big") {
            big_scenario(&k, k.big_companies, &mut rows, &mut checks).await;
        }
        if k.wants("huge-company") {
            big_scenario(&k, 1, &mut rows, &mut checks).await;
        }
    });
    if k.wants("plan") {
        plan_scenarios(&k, &mut plan_rows, &mut checks);
    }
    println!(
        "\n== nmbrs-sync benchmark: sandbox latency {} ms, rate limit {} /s, nmbrs.max_requests_per_sec {}, nmbrs.max_concurrency {}, nmbrs.page_size {} (sandbox max 100); big: latency 0, no limit, max_requests_per_sec 5000 ==",
        k.latency_ms, k.rate, k.client_rate, k.concurrency, k.page_size
    );
    if !rows.is_empty() {
        print_table(&rows);
        println!();
        for s in [
            "initial load",
            "no-op",
            &format!("{} % changed", k.changed_pct),
        ] {
            let name = format!("{s} ({}k/{}c)", k.employees as f64 / 1000.0, k.companies);
            if let Some(l) = ratio_line(&rows, &name) {
                println!("{l}");
            }
        }
    }
    if !plan_rows.is_empty() {
        print_plan_table(&plan_rows);
    }
    println!();
    for c in &checks {
        println!("{c}");
    }
    println!(
        "\n(peak RSS of nmbrs-sync rows: the `sync --once` child process alone, getrusage(RUSAGE_CHILDREN) of a one-child wrapper; total bench time {:.0} s)",
        started.elapsed().as_secs_f64()
    );
}
