//! `nmbrs-sync run`: cycles on `sync.schedule` until SIGTERM/SIGINT (docs/SPEC.md, "Command line").
//!
//! * Never two cycles at once: a tick that arrives while a cycle runs is skipped and logged (and a
//!   lock file beside the state database keeps a second process — daemon or `sync --once` — out).
//! * Shutdown: stop taking ticks, let the records in flight finish within `GRACE`, mark the run
//!   `interrupted`, exit 0.

use crate::config::Settings;
use crate::sync::Syncer;
use chrono::Utc;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a shutdown waits for the cycle in flight before exiting anyway, seconds.
pub const GRACE: Duration = Duration::from_secs(30);

/// Why the daemon could not start (exit code 2). Messages name the key or file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(
        "configuration key `sync.schedule`: `{schedule}` is not a cron expression with a seconds field (e.g. \"0 */15 * * * *\"): {reason}"
    )]
    Schedule { schedule: String, reason: String },
    #[error(
        "another nmbrs-sync is already running on the state database `{db}` (lock file `{lock}` is held{holder}); stop it first or point `state.database_url` elsewhere"
    )]
    Locked {
        db: String,
        lock: String,
        holder: String,
    },
    #[error("cannot create the lock file `{lock}`: {source}")]
    LockFile {
        lock: String,
        source: std::io::Error,
    },
    #[error("the scheduler failed: {0}")]
    Scheduler(String),
}

/// Parses a cron expression with seconds (the same dialect tokio-cron-scheduler uses).
pub fn parse_schedule(schedule: &str) -> Result<croner::Cron, DaemonError> {
    crate::config::parse_cron(schedule).map_err(|e| DaemonError::Schedule {
        schedule: schedule.to_owned(),
        reason: e.to_string(),
    })
}

/// The interval between the next two ticks (the health check's unit), at least one second.
pub fn schedule_period(cron: &croner::Cron) -> Duration {
    let now = Utc::now();
    let next = cron.find_next_occurrence(&now, false).ok();
    let after = next.and_then(|n| cron.find_next_occurrence(&n, false).ok());
    match (next, after) {
        (Some(a), Some(b)) => (b - a)
            .to_std()
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_secs(1)),
        _ => Duration::from_secs(60),
    }
}

/// An exclusive lock on `<state database>.lock`, held for the life of the value (the OS releases
/// it if the process dies, so a crash never leaves a stale lock).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// The state database's file path from its URL, `None` for in-memory databases.
fn state_db_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

impl StateLock {
    /// Takes the lock or fails with [`DaemonError::Locked`] naming the holder's pid.
    pub fn acquire(state_url: &str) -> Result<Option<StateLock>, DaemonError> {
        let Some(db) = state_db_path(state_url) else {
            return Ok(None);
        };
        let lock = PathBuf::from(format!("{}.lock", db.display()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(|source| DaemonError::LockFile {
                lock: lock.display().to_string(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::{Seek, Write};
                let mut f = &file;
                let _ = f.set_len(0);
                let _ = f.seek(std::io::SeekFrom::Start(0));
                let _ = writeln!(f, "{}", std::process::id());
                Ok(Some(StateLock { _file: file }))
            }
            Err(_) => {
                let holder = std::fs::read_to_string(&lock)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty());
                Err(DaemonError::Locked {
                    db: db.display().to_string(),
                    lock: lock.display().to_string(),
                    holder: holder.map(|p| format!(" by pid {p}")).unwrap_or_default(),
                })
            }
        }
    }
}

/// Liveness facts for `/healthz`.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    period: Duration,
    scheduler_alive: AtomicBool,
    last_cycle_end: std::sync::Mutex<Option<Instant>>,
}

/// Cycles older than this many schedule periods make `/healthz` fail.
pub const HEALTHY_PERIODS: u32 = 3;

impl Health {
    /// Health for a schedule with `period` between ticks.
    pub fn new(period: Duration) -> Health {
        Health {
            started: Instant::now(),
            period,
            scheduler_alive: AtomicBool::new(false),
            last_cycle_end: std::sync::Mutex::new(None),
        }
    }

    /// Ok while the scheduler runs and the last cycle (or the start) is not older than
    /// [`HEALTHY_PERIODS`] periods. Returns the reason when not.
    pub fn check(&self) -> Result<(), String> {
        if !self.scheduler_alive.load(Ordering::SeqCst) {
            return Err("scheduler not running".into());
        }
        let last = self
            .last_cycle_end
            .lock()
            .ok()
            .and_then(|l| *l)
            .unwrap_or(self.started);
        let limit = self.period * HEALTHY_PERIODS + GRACE;
        if last.elapsed() > limit {
            return Err(format!(
                "no cycle finished in the last {} s ({HEALTHY_PERIODS} schedule periods)",
                limit.as_secs()
            ));
        }
        Ok(())
    }

    fn cycle_finished(&self) {
        if let Ok(mut l) = self.last_cycle_end.lock() {
            *l = Some(Instant::now());
        }
    }
}

/// Runs the daemon until `shutdown` resolves. Returns the exit code.
pub async fn run(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<u8, anyhow::Error> {
    let cron = parse_schedule(&settings.sync.schedule)?;
    let _lock = StateLock::acquire(&settings.state.database_url)?;
    let health = Arc::new(Health::new(schedule_period(&cron)));
    if let Some(listen) = settings.metrics.listen.clone() {
        crate::metrics_http::serve(&listen, health.clone()).await?;
    }
    let run_at_start = settings.sync.run_at_start;
    let schedule = settings.sync.schedule.clone();
    let syncer = Syncer::new(settings).await?;
    let stop = Arc::new(AtomicBool::new(false));
    // Held while a cycle runs: a tick that cannot take it is skipped.
    let cycle_lock = Arc::new(Mutex::new(()));

    let start_cycle = {
        let (syncer, stop, cycle_lock, health) = (
            syncer.clone(),
            stop.clone(),
            cycle_lock.clone(),
            health.clone(),
        );
        move |trigger: &'static str| {
            let (syncer, stop, cycle_lock, health) = (
                syncer.clone(),
                stop.clone(),
                cycle_lock.clone(),
                health.clone(),
            );
            async move {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(_guard) = cycle_lock.try_lock() else {
                    tracing::warn!("tick skipped: the previous cycle is still running");
                    metrics::counter!("nmbrs_sync_ticks_skipped_total").increment(1);
                    return;
                };
                match syncer.run_cycle(trigger, false, stop.clone()).await {
                    Ok(report) => {
                        println!("{}", report.summary());
                    }
                    Err(e) => tracing::error!(error = %e, "cycle could not be recorded"),
                }
                health.cycle_finished();
            }
        }
    };

    let mut scheduler = tokio_cron_scheduler::JobScheduler::new()
        .await
        .map_err(|e| DaemonError::Scheduler(e.to_string()))?;
    let tick = start_cycle.clone();
    let job = tokio_cron_scheduler::Job::new_async(schedule.as_str(), move |_id, _sched| {
        let tick = tick.clone();
        Box::pin(async move { tick("schedule").await })
    })
    .map_err(|e| DaemonError::Schedule {
        schedule: schedule.clone(),
        reason: e.to_string(),
    })?;
    scheduler
        .add(job)
        .await
        .map_err(|e| DaemonError::Scheduler(e.to_string()))?;
    scheduler
        .start()
        .await
        .map_err(|e| DaemonError::Scheduler(e.to_string()))?;
    health.scheduler_alive.store(true, Ordering::SeqCst);
    tracing::info!(schedule = schedule.as_str(), "daemon started");
    if run_at_start {
        tokio::spawn(start_cycle("start"));
    }

    shutdown.await;
    tracing::warn!("shutdown requested: no new cycles; finishing the records in flight");
    stop.store(true, Ordering::SeqCst);
    health.scheduler_alive.store(false, Ordering::SeqCst);
    let _ = scheduler.shutdown().await;
    // Wait for the cycle in flight (it stops taking new records and marks its run interrupted).
    match tokio::time::timeout(GRACE, cycle_lock.lock()).await {
        Ok(_) => tracing::info!("stopped cleanly"),
        Err(_) => tracing::error!(
            grace_secs = GRACE.as_secs(),
            "cycle still running after the grace period; exiting (the run is marked interrupted at the next start)"
        ),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_errors_name_the_key() {
        let err = parse_schedule("every tuesday").expect_err("invalid");
        assert!(err.to_string().contains("sync.schedule"), "{err}");
        assert!(parse_schedule("0 */15 * * * *").is_ok());
        assert_eq!(
            schedule_period(&parse_schedule("*/5 * * * * *").expect("ok")),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn state_paths_from_urls() {
        assert_eq!(
            state_db_path("sqlite:/var/lib/x/state.db"),
            Some(PathBuf::from("/var/lib/x/state.db"))
        );
        assert_eq!(
            state_db_path("sqlite://state.db?mode=rwc"),
            Some(PathBuf::from("state.db"))
        );
        assert_eq!(state_db_path("sqlite::memory:"), None);
    }

    #[test]
    fn second_lock_on_the_same_database_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("s.db").display());
        let first = StateLock::acquire(&url).expect("first lock");
        let err = StateLock::acquire(&url).expect_err("second refused");
        assert!(
            err.to_string().contains("already running")
                && err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        assert!(
            StateLock::acquire(&url).is_ok(),
            "released when the holder goes away"
        );
    }

    #[test]
    fn health_needs_a_running_scheduler() {
        let h = Health::new(Duration::from_secs(1));
        assert!(h.check().is_err());
        h.scheduler_alive.store(true, Ordering::SeqCst);
        assert!(h.check().is_ok());
    }
}
