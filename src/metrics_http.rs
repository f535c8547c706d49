//! The optional HTTP listener (`metrics.listen`): `/metrics` in Prometheus text format (rendered by
//! `metrics-exporter-prometheus`) and `/healthz` from the daemon's [`Health`].
//!
//! Metrics recorded by the code (names are stable; units in the name):
//! `nmbrs_sync_runs_total{status}`, `nmbrs_sync_records_total{outcome}`,
//! `nmbrs_sync_api_calls_total{status}`, `nmbrs_sync_api_retries_total`,
//! `nmbrs_sync_ticks_skipped_total`, `nmbrs_sync_token_refreshes_total`,
//! `nmbrs_sync_last_success_timestamp_seconds`, `nmbrs_sync_cycle_duration_seconds`.

use crate::daemon::Health;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once) and returns its handle.
///
/// Errors: another recorder was installed first.
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("nmbrs_sync_cycle_duration_seconds".into()),
            &[0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0],
        )?
        .install_recorder()?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

#[derive(Clone)]
struct AppState {
    prometheus: PrometheusHandle,
    health: Arc<Health>,
}

/// Binds `listen` (e.g. `127.0.0.1:9464`) and serves `/metrics` and `/healthz` in the background.
///
/// Errors: the address cannot be bound (message names `metrics.listen`), or the recorder cannot be installed.
pub async fn serve(listen: &str, health: Arc<Health>) -> anyhow::Result<std::net::SocketAddr> {
    let prometheus = recorder()?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!("configuration key `metrics.listen`: cannot listen on `{listen}`: {e}")
    })?;
    let addr = listener.local_addr()?;
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
