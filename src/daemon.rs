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
    let syncer = Syncer::new(settings).await?;
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
}
