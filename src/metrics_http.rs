//! The optional HTTP listener (`metrics.listen`): `/metrics` in Prometheus text format (rendered by
//! `metrics-exporter-prometheus`) and `/healthz` from the daemon's [`Health`].
//!
//! The metric names are listed in [`crate::telemetry`].

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("configuration key `metrics.listen`: cannot listen on `{listen}`: {source}")]
    Bind {
        listen: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Recorder(#[from] crate::telemetry::RecorderError),
}

#[derive(Clone)]
struct AppState {
    prometheus: PrometheusHandle,
    health: Arc<Health>,
}

/// Binds `listen` (e.g. `127.0.0.1:9464`) and serves `/metrics` and `/healthz` in the background.
///
/// Errors: [`ListenError`]: the address cannot be bound (naming `metrics.listen`), or the recorder
/// cannot be installed.
pub async fn serve(listen: &str, health: Arc<Health>) -> Result<std::net::SocketAddr, ListenError> {
    let prometheus = crate::telemetry::recorder()?;
    let bind_error = |source| ListenError::Bind {
        listen: listen.to_owned(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let app = Router::new()
        .route(
            "/metrics",
            get(|State(s): State<AppState>| async move { s.prometheus.render() }),
        )
        .route(
            "/healthz",
            get(|State(s): State<AppState>| async move {
                match s.health.check() {
                    Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
                    Err(reason) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("unhealthy: {reason}\n"),
                    ),
                }
            }),
        )
        .with_state(AppState { prometheus, health });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    tracing::info!(%addr, "metrics and health listener started");
    Ok(addr)
}

/// Liveness facts for `/healthz`.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    period: Duration,
    /// Allowance for a cycle in flight, on top of the periods.
    grace: Duration,
    /// Set while the scheduler runs.
    pub scheduler_alive: AtomicBool,
    last_cycle_end: std::sync::Mutex<Option<Instant>>,
}

/// Cycles older than this many schedule periods make `/healthz` fail.
pub const HEALTHY_PERIODS: u32 = 3;

impl Health {
    /// Health for a schedule with `period` between ticks, allowing `grace` for a cycle in flight.
    pub fn new(period: Duration, grace: Duration) -> Health {
        Health {
            started: Instant::now(),
            period,
            grace,
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
        let limit = self.period * HEALTHY_PERIODS + self.grace;
        if last.elapsed() > limit {
            return Err(format!(
                "no cycle finished in the last {} s ({HEALTHY_PERIODS} schedule periods)",
                limit.as_secs()
            ));
        }
        Ok(())
    }

    /// Records that a cycle ended (successfully or not).
    pub fn cycle_finished(&self) {
        if let Ok(mut l) = self.last_cycle_end.lock() {
            *l = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_needs_a_running_scheduler() {
        let h = Health::new(Duration::from_secs(1), Duration::from_secs(30));
        assert!(h.check().is_err());
        h.scheduler_alive.store(true, Ordering::SeqCst);
        assert!(h.check().is_ok());
    }
}
