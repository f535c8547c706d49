//! A throw-away PostgreSQL server for the tests that run on both HRIS backends.
//!
//! One server per test process, started on first use from the PostgreSQL binaries on the machine
//! (`/usr/lib/postgresql/<version>/bin`; `.ci/run` installs Debian's `postgresql` when they are
//! missing): `initdb` into a fresh directory under /tmp, trust authentication, listening on
//! 127.0.0.1 only on a free port, with durability off (fsync) since nothing in it outlives the
//! tests. As root (CI) it runs as the `postgres` user (or `nobody`): initdb refuses root. The server
//! is this process's child with a parent-death signal, so it stops when the test process ends;
//! the next run removes data directories whose process is gone. Each test gets its own database,
//! so tests run in parallel.
//!
//! `NMBRS_SYNC_TEST_PG_URL` (an admin URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`)
//! uses an existing server instead. Without binaries and without that variable the PostgreSQL
//! tests print `SKIPPED` locally and FAIL under `CI=true`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();

const DIR_PREFIX: &str = "nmbrs-sync-test-pg-";

/// The admin URL of the test server (`postgres://postgres@127.0.0.1:PORT/postgres`), starting it
/// on first use; `Err` says why there is none.
pub fn admin_url() -> Result<String, String> {
    SERVER.get_or_init(start).clone()
}

/// A fresh, empty database on the test server: its URL. `None` (after printing why) when there is
/// no server and this is not CI; under `CI=true` a missing server fails the test.
pub async fn fresh_database() -> Option<String> {
    let admin = match admin_url() {
        Ok(u) => u,
        Err(why) if std::env::var("CI").as_deref() != Ok("true") => {
            println!("SKIPPED (PostgreSQL): {why}");
            return None;
        }
        Err(why) => panic!("PostgreSQL is required in CI: {why}"),
    };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let mut url = reqwest::Url::parse(&admin).expect("admin url");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

fn start() -> Result<String, String> {
    if let Ok(url) = std::env::var("NMBRS_SYNC_TEST_PG_URL")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    let bin = find_bin().ok_or_else(|| {
        "no PostgreSQL binaries (initdb, postgres) under /usr/lib/postgresql/*/bin and no NMBRS_SYNC_TEST_PG_URL; install Debian's `postgresql` (`.ci/run` does)".to_owned()
    })?;
    remove_stale_dirs();
    let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let user = run_as();
    if let Some((uid, gid)) = user {
        nix::unistd::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let out = as_user(Command::new(bin.join("initdb")), user)
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let mut cmd = as_user(Command::new(bin.join("postgres")), user);
    cmd.arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    // The parent-death signal goes when the *thread* that spawned the child ends: spawn from a
    // thread that lives as long as the process.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = cmd.spawn();
        let ok = child.is_ok();
        let _ = tx.send(child.map(|_| ()).map_err(|e| format!("postgres: {e}")));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv().map_err(|e| e.to_string())??;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"));
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(format!("the test PostgreSQL server did not start:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with initdb and postgres.
fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// As root: the unprivileged user to run the server as (`postgres`, else `nobody`).
fn run_as() -> Option<(nix::unistd::Uid, nix::unistd::Gid)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    ["postgres", "nobody"].into_iter().find_map(|name| {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| (u.uid, u.gid))
    })
}

/// `cmd` run as `user` (dropping root), killed (SIGINT: fast shutdown) when its parent goes.
fn as_user(mut cmd: Command, user: Option<(nix::unistd::Uid, nix::unistd::Gid)>) -> Command {
    // SAFETY: between fork and exec only async-signal-safe system calls are made.
    unsafe {
        cmd.pre_exec(move || {
            if let Some((uid, gid)) = user {
                nix::unistd::setgroups(&[]).map_err(std::io::Error::from)?;
                nix::unistd::setgid(gid).map_err(std::io::Error::from)?;
                nix::unistd::setuid(uid).map_err(std::io::Error::from)?;
            }
            // After setuid, which clears the parent-death signal.
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGINT)
                .map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    cmd.env_remove("PGDATA").env("LC_ALL", "C");
    cmd
}

/// Data directories of test processes that are gone (their server went with them).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
