//! `employee_links`: which HRIS row is which Nmbrs employee, the base snapshot of the last successful
//! sync, create intents, and failure / quarantine bookkeeping (docs/SPEC.md rules 1, 2, 3, 5).

use super::{StateError, StateTx, utc_now};
use sqlx::Row;
use std::fmt;

/// Where a record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    /// A create intent is recorded; the POST may or may not have reached Nmbrs.
    PendingCreate,
    Linked,
    /// A field is parked under `conflict_policy = manual`.
    Conflict,
    /// The last cycle failed for this record (see `failures`, `last_error`).
    Failed,
    /// Failed `sync.quarantine_after` cycles in a row: skipped until released or the HRIS row changes.
    Quarantined,
    VanishedHris,
    VanishedNmbrs,
}

impl LinkStatus {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::PendingCreate => "pending_create",
            LinkStatus::Linked => "linked",
            LinkStatus::Conflict => "conflict",
            LinkStatus::Failed => "failed",
            LinkStatus::Quarantined => "quarantined",
            LinkStatus::VanishedHris => "vanished_hris",
            LinkStatus::VanishedNmbrs => "vanished_nmbrs",
        }
    }

    fn parse(s: &str) -> Option<LinkStatus> {
        Some(match s {
            "pending_create" => LinkStatus::PendingCreate,
            "linked" => LinkStatus::Linked,
            "conflict" => LinkStatus::Conflict,
            "failed" => LinkStatus::Failed,
            "quarantined" => LinkStatus::Quarantined,
            "vanished_hris" => LinkStatus::VanishedHris,
            "vanished_nmbrs" => LinkStatus::VanishedNmbrs,
            _ => return None,
        })
    }
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `employee_links` row.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub hris_id: String,
    pub company_id: String,
    /// Nmbrs `employeeId`; `None` until the employee exists (or while a create intent is pending).
    pub employee_id: Option<String>,
    pub personal_info_id: Option<String>,
    /// Base snapshot JSON (see [`crate::fields::FieldValues::to_json`]).
    pub snapshot: Option<String>,
    pub snapshot_hash: Option<String>,
    /// Values posted by a create whose outcome is not yet confirmed.
    pub create_intent: Option<String>,
    pub intent_at: Option<String>,
    pub status: LinkStatus,
    pub failures: u32,
    pub last_error: Option<String>,
    pub quarantined_hash: Option<String>,
    /// HRIS values of create-only fields already reported as not updatable through the API,
    /// JSON `{field: value}` ([`crate::fields::Lifecycle::CreateOnly`]).
    pub held: Option<String>,
}

impl Link {
    /// A fresh link for `hris_id` in company `company_id`.
    pub fn new(hris_id: &str, company_id: &str, status: LinkStatus) -> Link {
        Link {
            hris_id: hris_id.to_owned(),
            company_id: company_id.to_owned(),
            employee_id: None,
            personal_info_id: None,
            snapshot: None,
            snapshot_hash: None,
            create_intent: None,
            intent_at: None,
            status,
            failures: 0,
            last_error: None,
            quarantined_hash: None,
            held: None,
        }
    }
}

fn link_from(r: &sqlx::sqlite::SqliteRow) -> Result<Link, StateError> {
    let status: String = r.try_get("status")?;
    let failures: i64 = r.try_get("failures")?;
    Ok(Link {
        hris_id: r.try_get("hris_id")?,
        company_id: r.try_get("company_id")?,
        employee_id: r.try_get("employee_id")?,
        personal_info_id: r.try_get("personal_info_id")?,
        snapshot: r.try_get("snapshot")?,
        snapshot_hash: r.try_get("snapshot_hash")?,
        create_intent: r.try_get("create_intent")?,
        intent_at: r.try_get("intent_at")?,
        status: LinkStatus::parse(&status).ok_or_else(|| StateError::Corrupt {
            what: "employee_links.status".into(),
            message: format!("unknown status `{status}`"),
        })?,
        failures: failures.clamp(0, u32::MAX as i64) as u32,
        last_error: r.try_get("last_error")?,
        quarantined_hash: r.try_get("quarantined_hash")?,
        held: r.try_get("held")?,
    })
}

impl super::StateDb {
    /// Every link of a company (`company_id` = Nmbrs `companyId`).
    pub async fn links_for_company(&self, company_id: &str) -> Result<Vec<Link>, StateError> {
        let rows = sqlx::query("SELECT * FROM employee_links WHERE company_id = ?")
            .bind(company_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(link_from).collect()
    }

    /// Whether a company has any link (cheaper than loading them).
    pub async fn has_links(&self, company_id: &str) -> Result<bool, StateError> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT EXISTS (SELECT 1 FROM employee_links WHERE company_id = ?)",
        )
        .bind(company_id)
        .fetch_one(self.pool())
        .await?
            != 0)
    }

    /// The link of one HRIS record.
    pub async fn link(&self, hris_id: &str) -> Result<Option<Link>, StateError> {
        let row = sqlx::query("SELECT * FROM employee_links WHERE hris_id = ?")
            .bind(hris_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(link_from).transpose()
    }

    /// Links with one of the given statuses (for `status` and reports).
    pub async fn links_with_status(
        &self,
        statuses: &[LinkStatus],
    ) -> Result<Vec<Link>, StateError> {
        let list = serde_json::to_string(&statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query("SELECT * FROM employee_links WHERE status IN (SELECT value FROM json_each(?)) ORDER BY hris_id")
            .bind(list)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(link_from).collect()
    }
}

impl StateTx {
    /// Inserts or replaces a link (keyed by `hris_id`).
    pub async fn put_link(&mut self, l: &Link) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO employee_links (hris_id, company_id, employee_id, personal_info_id, snapshot, snapshot_hash,
               create_intent, intent_at, status, failures, last_error, quarantined_hash, held, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (hris_id) DO UPDATE SET company_id = excluded.company_id, employee_id = excluded.employee_id,
               personal_info_id = excluded.personal_info_id, snapshot = excluded.snapshot,
               snapshot_hash = excluded.snapshot_hash, create_intent = excluded.create_intent,
               intent_at = excluded.intent_at, status = excluded.status, failures = excluded.failures,
               last_error = excluded.last_error, quarantined_hash = excluded.quarantined_hash,
               held = excluded.held, updated_at = excluded.updated_at",
        )
        .bind(&l.hris_id)
        .bind(&l.company_id)
        .bind(&l.employee_id)
        .bind(&l.personal_info_id)
        .bind(&l.snapshot)
        .bind(&l.snapshot_hash)
        .bind(&l.create_intent)
        .bind(&l.intent_at)
        .bind(l.status.as_str())
        .bind(l.failures as i64)
        .bind(&l.last_error)
        .bind(&l.quarantined_hash)
        .bind(&l.held)
        .bind(utc_now())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Reads a link inside this transaction (sees this transaction's own writes).
    pub async fn get_link(&mut self, hris_id: &str) -> Result<Option<Link>, StateError> {
        let row = sqlx::query("SELECT * FROM employee_links WHERE hris_id = ?")
            .bind(hris_id)
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(link_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDb;

    #[tokio::test]
    async fn links_round_trip_and_employee_id_is_unique() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = StateDb::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
            .await
            .expect("open");
        let mut l = Link::new("h1", "c1", LinkStatus::Linked);
        l.employee_id = Some("e1".into());
        l.failures = 3;
        l.held = Some(r#"{"employee_type":"payroll"}"#.into());
        let mut tx = db.begin().await.expect("begin");
        tx.put_link(&l).await.expect("put");
        tx.commit().await.expect("commit");
        assert_eq!(db.link("h1").await.expect("get"), Some(l.clone()));
        assert_eq!(db.links_for_company("c1").await.expect("list").len(), 1);
        assert_eq!(
            db.links_with_status(&[LinkStatus::Linked])
                .await
                .expect("list")
                .len(),
            1
        );

        // Two HRIS rows can never point at one employee.
        let mut other = Link::new("h2", "c1", LinkStatus::Linked);
        other.employee_id = Some("e1".into());
        let mut tx = db.begin().await.expect("begin");
        assert!(tx.put_link(&other).await.is_err());
    }
}
