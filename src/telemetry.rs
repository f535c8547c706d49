//! Telemetry set-up in one place: the tracing subscriber (logs on stderr) and the Prometheus metrics
//! recorder. Metric names (stable; units in the name):
//! `nmbrs_sync_runs_total{status}`, `nmbrs_sync_records_total{outcome}`,
//! `nmbrs_sync_api_calls_total{status}`, `nmbrs_sync_api_retries_total`,
//! `nmbrs_sync_ticks_skipped_total`, `nmbrs_sync_token_refreshes_total`,
//! `nmbrs_sync_last_success_timestamp_seconds`, `nmbrs_sync_cycle_duration_seconds`.
//! Logs carry ids and field names only at info/warn; values go to the audit log and debug level.

use crate::config::LogFormat;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Installs the tracing subscriber: `log.level` (or `RUST_LOG`) and `log.format`, on stderr.
/// Colour only when stderr is a terminal and `NO_COLOR` is unset (files, journald and
/// `docker logs` get plain text). A second call is a no-op.
pub fn init_logging(level: &str, format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The Prometheus recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct RecorderError(String);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once) and returns its handle.
///
/// Errors: [`RecorderError`] when another recorder was installed first.
pub fn recorder() -> Result<PrometheusHandle, RecorderError> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("nmbrs_sync_cycle_duration_seconds".into()),
            &[0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0],
        )
        .map_err(|e| RecorderError(e.to_string()))?
        .install_recorder()
        .map_err(|e| RecorderError(e.to_string()))?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}
