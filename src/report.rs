//! What `nmbrs-sync status` shows: recent runs, records that need a person, the token's expiry.
//! Read-only queries over the state database.

use crate::record::LinkStatus;
use crate::state::{StateDb, StateError};
use serde::Serialize;
use sqlx::Row;
use std::fmt::Write;

/// One row of `sync_runs`.
#[derive(Clone, Debug, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub trigger: String,
    pub dry_run: bool,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    /// JSON counters.
    pub counts: Option<serde_json::Value>,
    pub api_calls: Option<i64>,
    /// Seconds.
    pub duration_secs: Option<f64>,
    pub error: Option<String>,
}

/// A record that needs attention.
#[derive(Clone, Debug, Serialize)]
pub struct RecordRow {
    pub hris_id: String,
    pub employee_id: Option<String>,
    pub status: String,
    pub failures: u32,
    pub last_error: Option<String>,
}

/// A change a read-only HRIS (`hris.write_back = false`) did not take, from the last cycle.
#[derive(Clone, Debug, Serialize)]
pub struct WouldRow {
    pub hris_id: Option<String>,
    pub employee_id: Option<String>,
    /// `would_pull` (changed in Nmbrs) or `would_import` (only in Nmbrs).
    pub action: String,
    /// JSON `{field: [HRIS value, Nmbrs value]}` (a BSN masked).
    pub fields: Option<String>,
}

/// The whole `status` answer.
#[derive(Clone, Debug, Serialize)]
pub struct StatusReport {
    pub runs: Vec<RunRow>,
    pub conflicts: Vec<RecordRow>,
    pub quarantined: Vec<RecordRow>,
    pub failing: Vec<RecordRow>,
    pub pending_creates: Vec<RecordRow>,
    /// Tombstones of records erased at the person's request (`nmbrs-sync forget`).
    pub forgotten: Vec<RecordRow>,
    pub linked_records: i64,
    /// When the last full reconcile finished (every company read whole and applied), RFC 3339 UTC.
    pub last_full_reconcile: Option<String>,
    /// UTC expiry of the last access token issued (RFC 3339), if any.
    pub access_token_expires_at: Option<String>,
    pub granted_scopes: Option<String>,
    /// What the last finished cycle would have written to a read-only HRIS.
    pub would_change: Vec<WouldRow>,
}

/// Reads the status report.
pub async fn status(state: &StateDb) -> Result<StatusReport, StateError> {
    let rows = sqlx::query(
        "SELECT id, trigger, dry_run, started_at, finished_at, status, counts, api_calls, error,
                (julianday(finished_at) - julianday(started_at)) * 86400.0 AS duration
         FROM sync_runs ORDER BY id DESC LIMIT 10",
    )
    .fetch_all(state.pool())
    .await?;
    let mut runs = Vec::new();
    for r in rows {
        let counts: Option<String> = r.try_get("counts")?;
        runs.push(RunRow {
            id: r.try_get("id")?,
            trigger: r.try_get("trigger")?,
            dry_run: r.try_get("dry_run")?,
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            status: r.try_get("status")?,
            counts: counts.and_then(|c| serde_json::from_str(&c).ok()),
            api_calls: r.try_get("api_calls")?,
            duration_secs: r.try_get("duration")?,
            error: r.try_get("error")?,
        });
    }
    let records = |statuses: &'static [LinkStatus]| async move {
        state.links_with_status(statuses).await.map(|links| {
            links
                .into_iter()
                .map(|l| RecordRow {
                    hris_id: l.hris_id,
                    employee_id: l.employee_id,
                    status: l.status.to_string(),
                    failures: l.failures,
                    last_error: l.last_error,
                })
                .collect::<Vec<_>>()
        })
    };
    let token = sqlx::query("SELECT access_expires_at, scopes FROM oauth_state WHERE id = 1")
        .fetch_optional(state.pool())
        .await?;
    let (access_token_expires_at, granted_scopes) = match token {
        Some(r) => (r.try_get("access_expires_at")?, r.try_get("scopes")?),
        None => (None, None),
    };
    Ok(StatusReport {
        runs,
        conflicts: records(&[LinkStatus::Conflict]).await?,
        quarantined: records(&[LinkStatus::Quarantined]).await?,
        failing: records(&[LinkStatus::Failed]).await?,
        pending_creates: records(&[LinkStatus::PendingCreate]).await?,
        forgotten: records(&[LinkStatus::Forgotten]).await?,
        linked_records: sqlx::query_scalar(
            "SELECT count(*) FROM employee_links WHERE employee_id IS NOT NULL AND status <> 'forgotten'",
        )
        .fetch_one(state.pool())
        .await?,
        last_full_reconcile: state
            .last_full_reconcile()
            .await?
            .map(crate::db::format_time),
        access_token_expires_at,
        granted_scopes,
        would_change: sqlx::query_as::<_, (Option<String>, Option<String>, String, Option<String>)>(
            "SELECT hris_id, employee_id, action, fields FROM audit_log
             WHERE action IN ('would_pull', 'would_import')
               AND run_id = (SELECT max(id) FROM sync_runs WHERE dry_run = 0 AND finished_at IS NOT NULL)
             ORDER BY id",
        )
        .fetch_all(state.pool())
        .await?
        .into_iter()
        .map(|(hris_id, employee_id, action, fields)| WouldRow {
            hris_id,
            employee_id,
            action,
            fields,
        })
        .collect(),
    })
}

impl StatusReport {
    /// Human-readable text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Last runs:");
        if self.runs.is_empty() {
            let _ = writeln!(out, "  (none yet)");
        }
        for r in &self.runs {
            let c = |k: &str| {
                r.counts
                    .as_ref()
                    .and_then(|c| c.get(k))
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0)
            };
            let _ = writeln!(
                out,
                "  #{:<4} {:<24} {:<9} {:<11}{} {:>6.1} s  records {} created {} updated {} pulled {} conflicts {} rejected {} failed {} quarantined {} pending {}  calls {}{}",
                r.id,
                r.started_at,
                r.trigger,
                r.status,
                if r.dry_run { " (dry run)" } else { "" },
                r.duration_secs.unwrap_or(0.0),
                c("records"),
                c("created"),
                c("updated"),
                c("pulled"),
                c("conflicts"),
                c("rejected"),
                c("failed"),
                c("quarantined"),
                c("pending"),
                r.api_calls.unwrap_or(0),
                r.error
                    .as_deref()
                    .map(|e| format!("\n         error: {e}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "Linked records: {}", self.linked_records);
        let _ = writeln!(
            out,
            "Last full reconcile: {}",
            self.last_full_reconcile.as_deref().unwrap_or("none yet")
        );
        for (title, rows) in [
            ("Open conflicts (conflict_policy = manual)", &self.conflicts),
            (
                "Quarantined (release with `nmbrs-sync release HRIS_ID`)",
                &self.quarantined,
            ),
            ("Failing", &self.failing),
            ("Create intents awaiting lookup", &self.pending_creates),
            (
                "Forgotten, not synced (`nmbrs-sync release HRIS_ID` lifts the erasure tombstone)",
                &self.forgotten,
            ),
        ] {
            let _ = writeln!(out, "{title}: {}", rows.len());
            for r in rows {
                let _ = writeln!(
                    out,
                    "  {} (employee {}) failures {}: {}",
                    r.hris_id,
                    r.employee_id.as_deref().unwrap_or("-"),
                    r.failures,
                    r.last_error.as_deref().unwrap_or("")
                );
            }
        }
        if !self.would_change.is_empty() {
            let _ = writeln!(
                out,
                "Not written to the read-only HRIS (hris.write_back = false), last cycle: {}",
                self.would_change.len()
            );
            for w in &self.would_change {
                let _ = writeln!(
                    out,
                    "  {} {} (employee {}): {}",
                    w.action,
                    w.hris_id.as_deref().unwrap_or("-"),
                    w.employee_id.as_deref().unwrap_or("-"),
                    w.fields.as_deref().unwrap_or("")
                );
            }
        }
        let _ = writeln!(
            out,
            "Access token: {}",
            match &self.access_token_expires_at {
                Some(t) => format!(
                    "expires {t} (scopes: {})",
                    self.granted_scopes.as_deref().unwrap_or("not stated")
                ),
                None => "none issued yet".into(),
            }
        );
        out
    }
}
