//! `nmbrs-sync run`: cycles on `sync.schedule` until SIGTERM/SIGINT (docs/SPEC.md, "Command line").
//!
//! * Never two cycles at once: a tick that arrives while a cycle runs is skipped and logged (and a
//!   lock file beside the state database keeps a second process — daemon or `sync --once` — out).
//! * Shutdown: stop taking ticks, let the records in flight finish within `GRACE`, mark the run
//!   `interrupted`, exit 0.

use crate::config::Settings;
use crate::metrics_http::Health;
use crate::shutdown::CancellationToken;
use crate::state::lock::{LockError, StateLock};
use crate::sync::Syncer;
use chrono::Utc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
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
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("the scheduler failed: {0}")]
    Scheduler(String),
    #[error(transparent)]
    Listen(#[from] crate::metrics_http::ListenError),
    #[error(transparent)]
    Cycle(#[from] crate::sync::CycleError),
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

/// Runs the daemon until `shutdown` resolves. Returns the exit code.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> Result<u8, DaemonError> {
    let cron = parse_schedule(&settings.sync.schedule)?;
    let _lock = StateLock::acquire(&settings.state.database_url)?;
    let health = Arc::new(Health::new(schedule_period(&cron), GRACE));
    if let Some(listen) = settings.metrics.listen.clone() {
        crate::metrics_http::serve(&listen, health.clone()).await?;
    }
    let run_at_start = settings.sync.run_at_start;
    let schedule = settings.sync.schedule.clone();
    let timezone = settings.timezone();
    let syncer = Syncer::new(settings).await?;
    let (last_success, token_expires) = syncer
        .state
        .last_success_and_token()
        .await
        .unwrap_or_default();
    // An access token lives about an hour and was issued with the refresh token (docs/nmbrs-api.md).
    let token_refreshed = token_expires.map(|t| t - 3600.0);
    crate::telemetry::register_daemon_metrics(
        schedule_period(&cron),
        last_success,
        token_refreshed,
    );
    // Held while a cycle runs: a tick that cannot take it is skipped.
    let cycle_lock = Arc::new(Mutex::new(()));

    let start_cycle = {
        let (syncer, shutdown, cycle_lock, health) = (
            syncer.clone(),
            shutdown.clone(),
            cycle_lock.clone(),
            health.clone(),
        );
        move |trigger: &'static str| {
            let (syncer, shutdown, cycle_lock, health) = (
                syncer.clone(),
                shutdown.clone(),
                cycle_lock.clone(),
                health.clone(),
            );
            async move {
                if shutdown.is_cancelled() {
                    return;
                }
                let Ok(_guard) = cycle_lock.try_lock() else {
                    tracing::warn!("tick skipped: the previous cycle is still running");
                    metrics::counter!("nmbrs_sync_ticks_skipped_total").increment(1);
                    return;
                };
                match syncer.run_cycle(trigger, false, &shutdown).await {
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
    let job =
        tokio_cron_scheduler::Job::new_async_tz(schedule.as_str(), timezone, move |_id, _sched| {
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

    shutdown.cancelled().await;
    tracing::warn!("shutdown requested: no new cycles; finishing the records in flight");
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

    /// Ticks of `schedule` in Europe/Amsterdam from local `from` (inclusive) for `hours` hours.
    fn ticks(schedule: &str, from: (i32, u32, u32), hours: i64) -> Vec<String> {
        use chrono::TimeZone;
        let tz = chrono_tz::Europe::Amsterdam;
        let cron = parse_schedule(schedule).expect("schedule");
        let start = tz
            .with_ymd_and_hms(from.0, from.1, from.2, 0, 0, 0)
            .single()
            .expect("start");
        let end = start + chrono::Duration::hours(hours);
        let mut t = start - chrono::Duration::seconds(1);
        let mut out = Vec::new();
        while let Ok(next) = cron.find_next_occurrence(&t, false) {
            if next >= end {
                break;
            }
            out.push(next.to_rfc3339());
            t = next;
        }
        out
    }

    #[test]
    fn daylight_saving_changes_neither_lose_nor_double_a_tick() {
        // Spring forward (29 March 2026, 02:00 → 03:00): a daily 02:30 still runs once that day.
        let spring = ticks("0 30 2 * * *", (2026, 3, 28), 72);
        assert_eq!(spring.len(), 3, "{spring:?}");
        // Fall back (25 October 2026, 03:00 → 02:00): 02:30 happens twice, the job runs once.
        let autumn = ticks("0 30 2 * * *", (2026, 10, 24), 72);
        assert_eq!(autumn.len(), 3, "{autumn:?}");
        // Hourly, on the wall clock: every local hour of the short day ticks (23), and on the long
        // day each wall-clock hour ticks once (24) — the repeated 02:00 is not run twice.
        let short_day = ticks("0 0 * * * *", (2026, 3, 29), 23);
        assert_eq!(short_day.len(), 23, "{short_day:?}");
        let long_day = ticks("0 0 * * * *", (2026, 10, 25), 25);
        let hours: std::collections::BTreeSet<&str> = long_day.iter().map(|t| &t[11..13]).collect();
        assert_eq!((long_day.len(), hours.len()), (24, 24), "{long_day:?}");
    }
}
