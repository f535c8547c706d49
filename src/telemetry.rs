//! Telemetry set-up in one place: the tracing subscriber (logs on stderr) and the Prometheus metrics
//! recorder. Metric names (stable; units in the name):
//! `nmbrs_sync_runs_total{status}`, `nmbrs_sync_records_total{outcome}`,
//! `nmbrs_sync_api_calls_total{status}`, `nmbrs_sync_api_retries_total`,
//! `nmbrs_sync_ticks_skipped_total`, `nmbrs_sync_token_refreshes_total`,
//! `nmbrs_sync_last_success_timestamp_seconds`, `nmbrs_sync_cycle_duration_seconds`,
//! `nmbrs_sync_schedule_period_seconds`, `nmbrs_sync_records_quarantined`, `nmbrs_sync_conflicts_open`,
//! `nmbrs_sync_quota_exhausted_total`, `nmbrs_sync_token_refusals_total`,
//! `nmbrs_sync_token_refreshed_timestamp_seconds` — the ones `deploy/prometheus/alerts.yml` and
//! `deploy/grafana/nmbrs-sync.json` use (a test checks that each is served).
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

/// Counters served from the start (at 0), so alert rules and dashboards find them before the
/// first event: `(name, label)`.
const COUNTERS: [(&str, Option<(&str, &str)>); 8] = [
    ("nmbrs_sync_runs_total", Some(("status", "succeeded"))),
    ("nmbrs_sync_records_total", Some(("outcome", "unchanged"))),
    ("nmbrs_sync_api_calls_total", Some(("status", "200"))),
    ("nmbrs_sync_api_retries_total", None),
    ("nmbrs_sync_ticks_skipped_total", None),
    ("nmbrs_sync_token_refreshes_total", None),
    ("nmbrs_sync_quota_exhausted_total", None),
    ("nmbrs_sync_token_refusals_total", None),
];

/// Serves every metric from the start: counters at 0, `schedule_period` (seconds between ticks),
/// and the time of the last successful cycle and token refresh as the state database knows them
/// (`None`: this process's start, so "no success for 3 periods" counts from here).
pub fn register_daemon_metrics(
    schedule_period: std::time::Duration,
    last_success: Option<f64>,
    token_refreshed: Option<f64>,
) {
    for (name, label) in COUNTERS {
        match label {
            Some((k, v)) => metrics::counter!(name, k => v).increment(0),
            None => metrics::counter!(name).increment(0),
        }
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    metrics::gauge!("nmbrs_sync_schedule_period_seconds").set(schedule_period.as_secs_f64());
    metrics::gauge!("nmbrs_sync_last_success_timestamp_seconds").set(last_success.unwrap_or(now));
    metrics::gauge!("nmbrs_sync_token_refreshed_timestamp_seconds")
        .set(token_refreshed.unwrap_or(now));
    metrics::gauge!("nmbrs_sync_records_quarantined").set(0.0);
    metrics::gauge!("nmbrs_sync_conflicts_open").set(0.0);
}

/// The records waiting for a person after a cycle (`status`'s lists), as gauges.
pub fn record_waiting(quarantined: usize, conflicts: usize) {
    metrics::gauge!("nmbrs_sync_records_quarantined").set(quarantined as f64);
    metrics::gauge!("nmbrs_sync_conflicts_open").set(conflicts as f64);
}

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
