//! What the state database holds about one person, for the person's rights (issue 15; README
//! "Personal data"): retention ([`StateDb::prune_audit`]), subject access
//! ([`StateDb::subject_export`]) and erasure ([`StateDb::forget`]).
//!
//! Erasure keeps the audit chain provable (the rows stay, their values and salts go, a `forget` row
//! records it) and leaves a tombstone link (status `forgotten`) so no later cycle re-creates,
//! re-links or re-imports the person silently; only `nmbrs-sync release` lifts it.

use super::audit::{AuditRow, SYSTEM_ACTIONS, prune, rows_of_subject};
use super::{AuditEntry, StateDb, StateError};
use crate::db::{format_time, utc_now};
use crate::record::{Link, LinkStatus};
use serde::Serialize;
use sqlx::Row;

/// What `forget` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForgetReport {
    /// Audit rows whose values were erased now.
    pub audit_rows: u64,
    /// Whether the record had a link (its snapshot, intents and errors were erased).
    pub had_link: bool,
    /// The Nmbrs employee the tombstone keeps out of matching and imports.
    pub employee_id: Option<String>,
}

/// Everything the state database holds about one person ([`StateDb::subject_export`]).
#[derive(Clone, Debug, Serialize)]
pub struct SubjectExport {
    pub subject: String,
    pub exported_at: String,
    pub state_database: String,
    /// The `employee_links` row (snapshot and intents parsed), if any.
    pub link: Option<serde_json::Value>,
    /// The person's audit rows, oldest first; erased values are absent (`redacted_by` says which
    /// `prune`/`forget` row erased them).
    pub audit_rows: Vec<AuditRow>,
    pub notes: Vec<&'static str>,
}

/// Columns of a link, as stored, for an export.
const LINK_COLUMNS: [&str; 15] = [
    "hris_id",
    "company_id",
    "employee_id",
    "personal_info_id",
    "status",
    "snapshot",
    "snapshot_hash",
    "create_intent",
    "intent_at",
    "write_intent",
    "held",
    "failures",
    "last_error",
    "quarantined_hash",
    "updated_at",
];

impl StateDb {
    /// Erases the values of audit rows older than `retention_days` (0: none) at `now`; see
    /// [`prune`]. Returns how many rows it erased.
    pub async fn prune_audit(
        &self,
        retention_days: u32,
        now: time::OffsetDateTime,
        run_id: Option<i64>,
    ) -> Result<u64, StateError> {
        if retention_days == 0 {
            return Ok(0);
        }
        let before = format_time(now - time::Duration::days(i64::from(retention_days)));
        prune(self, run_id, &before).await
    }

    /// Erases what this database holds about HRIS record `hris_id`: the values of its audit rows
    /// (and of rows naming its Nmbrs employee), its snapshot, intents, held values and last error;
    /// records a `forget` audit row; leaves a tombstone link so the record is not synced again
    /// until `release`. Forgetting a record twice erases whatever was recorded since.
    pub async fn forget(&self, hris_id: &str) -> Result<ForgetReport, StateError> {
        let mut tx = self.begin().await?;
        let link = tx.get_link(hris_id).await?;
        let employee_id = link.as_ref().and_then(|l| l.employee_id.clone());
        let system = SYSTEM_ACTIONS.map(|a| format!("'{a}'")).join(", ");
        let due: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM audit_values v JOIN audit_chain c ON c.id = v.audit_id
             WHERE v.salt IS NOT NULL AND c.action NOT IN ({system})
               AND (c.hris_id = ?1 OR (?2 IS NOT NULL AND c.employee_id = ?2))"
        )))
        .bind(hris_id)
        .bind(&employee_id)
        .fetch_one(tx.conn())
        .await?;
        let company_id = link
            .as_ref()
            .map(|l| l.company_id.clone())
            .unwrap_or_default();
        let by = tx
            .audit(
                &AuditEntry::new(None, "forget")
                    .hris(Some(hris_id))
                    .employee(employee_id.as_deref())
                    .company(Some(&company_id).filter(|c| !c.is_empty()).map(String::as_str))
                    .fields(serde_json::json!({ "rows": due, "link": link.is_some() }).to_string())
                    .message(format!(
                        "erased at the person's request: the values of {due} audit rows{}; not synced again until `nmbrs-sync release {hris_id}`",
                        if link.is_some() { " and the record's snapshot" } else { "" }
                    )),
            )
            .await?;
        let n = tx
            .redact(
                by,
                by,
                "hris_id = ? OR (? IS NOT NULL AND employee_id = ?)",
                &[
                    Some(hris_id),
                    employee_id.as_deref(),
                    employee_id.as_deref(),
                ],
            )
            .await?;
        let mut tombstone = Link::new(hris_id, &company_id, LinkStatus::Forgotten);
        tombstone.employee_id = employee_id.clone();
        tombstone.personal_info_id = link.as_ref().and_then(|l| l.personal_info_id.clone());
        tx.put_link(&tombstone).await?;
        tx.commit().await?;
        self.checkpoint().await;
        Ok(ForgetReport {
            audit_rows: n,
            had_link: link.is_some(),
            employee_id,
        })
    }

    /// Everything this database holds about one person, found by HRIS `hris_id` or Nmbrs
    /// `employeeId`: the link with its snapshot and intents, and the audit rows of that record and
    /// that employee with their values. `None` when it holds nothing about `subject`.
    pub async fn subject_export(&self, subject: &str) -> Result<Option<SubjectExport>, StateError> {
        let columns = LINK_COLUMNS.join(", ");
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {columns} FROM employee_links WHERE hris_id = ?1
             UNION ALL SELECT {columns} FROM employee_links WHERE employee_id = ?1 AND hris_id <> ?1
             LIMIT 1"
        )))
        .bind(subject)
        .fetch_optional(self.pool())
        .await?;
        let link = row.as_ref().map(link_json).transpose()?;
        let (hris_id, employee_id) = match &link {
            Some(l) => (
                l["hris_id"].as_str().unwrap_or(subject).to_owned(),
                l["employee_id"].as_str().map(str::to_owned),
            ),
            // No link: rows that name the subject either way.
            None => (subject.to_owned(), Some(subject.to_owned())),
        };
        let audit_rows = rows_of_subject(self.pool(), &hris_id, employee_id.as_deref()).await?;
        if link.is_none() && audit_rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(SubjectExport {
            subject: subject.to_owned(),
            exported_at: utc_now(),
            state_database: self.url().to_owned(),
            link,
            audit_rows,
            notes: vec![
                "This is what nmbrs-sync's state database holds about the person: the link between their HRIS row and Nmbrs employee with the values both sides last agreed on (snapshot), and the audit log of every decision and call about them.",
                "The HRIS table and Nmbrs payroll hold the person's current data themselves; ask those systems for it.",
                "A BSN is never stored in clear: snapshots and intents hold a keyed hash (bsn-hmac:...), audit rows a masked form (*****1234).",
                "Audit rows older than audit.retention_days, or erased on request, keep no values: redacted_at and redacted_by name the prune or forget row that erased them.",
            ],
        }))
    }
}

/// A link row as JSON, JSON columns parsed (kept as text when unreadable).
fn link_json(r: &sqlx::sqlite::SqliteRow) -> Result<serde_json::Value, StateError> {
    let mut out = serde_json::Map::new();
    for name in LINK_COLUMNS.iter() {
        let value = if *name == "failures" {
            serde_json::Value::from(r.try_get::<i64, _>(*name)?)
        } else {
            match r.try_get::<Option<String>, _>(*name)? {
                None => serde_json::Value::Null,
                Some(text)
                    if matches!(
                        *name,
                        "snapshot" | "create_intent" | "write_intent" | "held"
                    ) =>
                {
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
                }
                Some(text) => serde_json::Value::String(text),
            }
        };
        out.insert((*name).to_owned(), value);
    }
    Ok(serde_json::Value::Object(out))
}
